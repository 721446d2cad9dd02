"""Cross-check the C++ core's parser against the Python reference board on many streams.

`python3 firmware/scripts/cross_check.py [--tool build/firmware/replay_stream] [--random 3000] [--seed 1]`

Streams: every shared vector with each byte flipped (three ways), and random sessions encoded by
common/encodings.py (random sizes, byte orders, RAW/RUNS/LZ4, keepalives), some of them cut or with
a byte changed (replay_stream gives the core a block buffer of max_body, so it offers LZ4). Rules,
from the documented difference between a streaming and a buffering parser:
- the reference fails with code E           -> the core fails with E;
- the reference ends on a message boundary  -> same framebuffer, ACKs and REJECT, no error;
- the reference is inside a message         -> same ACKs and REJECT; the core may already have
  failed (it judges a RECT from its header), and may have drawn part of that message.
In every case the core draws nothing outside the display. Exit 1 on any mismatch.
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from common import protocol  # noqa: E402
from common.encodings import encode_best, encode_lz4, encode_raw  # noqa: E402
from common.protocol import Encoding, ProtocolError  # noqa: E402
from devices.reference_display import BoardStream  # noqa: E402


def reference(width: int, height: int, max_body: int, mask: int, stream: bytes) -> dict:
    board = BoardStream(width, height, protocol.mask_to_encodings(mask), max_body)
    acks: list[int] = []
    error = "none"
    try:
        acks = board.feed(stream)
    except ProtocolError as e:
        error = e.code
        acks = list(board.completed)
    return {
        "error": error,
        "acks": board.completed if error == "none" else acks,
        "rejected": board.rejected,
        "incomplete": board.incomplete,
        "fb": board.framebuffer,
    }


def random_session(rng: random.Random) -> tuple[int, int, int, int, bytes]:
    width, height = rng.randint(1, 24), rng.randint(1, 16)
    max_body = rng.choice([64, 100, 256, 1000, 0xFFFF])
    mask = rng.choice([1, 3, 9, 11])
    big = rng.random() < 0.5
    chosen = protocol.mask_to_encodings(mask if rng.random() < 0.8 else rng.choice([1, 3, 9, 11]))
    accepted_body = min(max_body, rng.choice([max_body, 64]))
    out = protocol.accept(protocol.Accept(big, chosen, accepted_body, 1000, 4000))
    seq = rng.randrange(1 << 32)
    for _ in range(rng.randint(0, 4)):
        out += protocol.frame_begin(seq)
        for _ in range(rng.randint(0, 4)):
            if rng.random() < 0.2:
                out += protocol.keepalive_from_server()
            w, h = rng.randint(1, width), rng.randint(1, height)
            x, y = rng.randint(0, width - w), rng.randint(0, height - h)
            colours = rng.sample(range(65536), rng.randint(1, 3))
            pixels = np.array([[rng.choice(colours) for _ in range(w)] for _ in range(h)], np.uint16)
            # LZ4 only where the RAW bytes fit a body, as a server splits its blocks (the core checks
            # 9 + 2*w*h <= max_body from the header: oversized); sometimes LZ4 even when larger.
            allowed = chosen if 9 + 2 * w * h <= accepted_body else chosen - {Encoding.LZ4}
            encoding, payload = encode_best(pixels, big, allowed)
            if Encoding.LZ4 in allowed and rng.random() < 0.3:
                encoding, payload = Encoding.LZ4, encode_lz4(encode_raw(pixels, big))
            if 9 + len(payload) > 0xFFFF:
                continue
            out += protocol.rect(x, y, w, h, encoding, payload)
        out += protocol.frame_end(seq)
        seq = (seq + 1) & 0xFFFFFFFF
    if rng.random() < 0.05:
        out += protocol.reject("bye " + "x" * rng.randint(0, 5))
    damage = rng.random()
    if damage < 0.25 and out:
        out = out[: rng.randrange(len(out))]
    elif damage < 0.5 and out:
        i = rng.randrange(len(out))
        out = out[:i] + bytes([rng.randrange(256)]) + out[i + 1 :]
    return width, height, max_body, mask, out


def cases(seed: int, count: int):
    vectors = json.loads((ROOT / "tests" / "vectors" / "device_stream.json").read_text())
    for v in vectors:
        stream = bytes.fromhex(v["hex"])
        for i in range(len(stream)):
            for flip in (0xFF, 0x01, 0x80):
                bad = bytearray(stream)
                bad[i] ^= flip
                setup = (v["width"], v["height"], v["max_body"], v["encodings"])
                yield f"{v['name']}[{i}]^{flip:02x}", (*setup, bytes(bad))
    rng = random.Random(seed)
    for n in range(count):
        yield f"random#{n}", random_session(rng)


def compare(ref: dict, line: str) -> str | None:
    got = dict(field.split("=", 1) for field in line.split())
    if got["violations"] != "0":
        return "drew outside the display"
    acks = [int(a) for a in got["acks"].split(",")] if got["acks"] else []
    rejected = None if got["rejected"] == "-" else bytes.fromhex(got["rejected"]).decode("utf-8", "replace")
    if ref["error"] != "none":
        return None if got["error"] == ref["error"] else f"error {got['error']}, reference {ref['error']}"
    if ref["incomplete"]:
        if got["error"] == "none" and (acks != ref["acks"] or rejected != ref["rejected"]):
            return f"cut stream: acks/reject {acks} {rejected!r}, reference {ref['acks']} {ref['rejected']!r}"
        return None
    if got["error"] != "none":
        return f"error {got['error']} on a stream the reference applied"
    fb = np.frombuffer(bytes.fromhex(got["fb"]), ">u2").reshape(ref["fb"].shape)
    if acks != ref["acks"] or rejected != ref["rejected"] or not np.array_equal(fb, ref["fb"]):
        return f"different result: acks {acks} vs {ref['acks']}, reject {rejected!r} vs {ref['rejected']!r}"
    return None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tool", default=str(ROOT / "build" / "firmware" / "replay_stream"))
    parser.add_argument("--random", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    all_cases = list(cases(args.seed, args.random))
    lines = "".join(f"{w} {h} {m} {e} {s.hex() or '-'}\n" for _, (w, h, m, e, s) in all_cases)
    result = subprocess.run([args.tool], input=lines, capture_output=True, text=True, check=True)
    outputs = result.stdout.splitlines()
    assert len(outputs) == len(all_cases), "replay_stream answered a different number of lines"
    kinds = {"error": 0, "applied": 0, "cut": 0, "cut, core failed early": 0}
    failures = []
    for (name, (w, h, m, e, stream)), line in zip(all_cases, outputs, strict=True):
        ref = reference(w, h, m, e, stream)
        problem = compare(ref, line)
        if problem:
            failures.append(f"{name}: {problem} (stream {stream.hex()[:120]})")
        elif ref["error"] != "none":
            kinds["error"] += 1
        elif not ref["incomplete"]:
            kinds["applied"] += 1
        else:
            kinds["cut" if "error=none" in line else "cut, core failed early"] += 1
    print(f"cross-checked {len(all_cases)} streams: " + ", ".join(f"{v} {k}" for k, v in kinds.items()))
    for failure in failures[:20]:
        print("MISMATCH", failure)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
