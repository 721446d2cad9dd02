"""Cross-check the C++ core's parser against the Python reference board on many streams.

`python3 firmware/scripts/cross_check.py [--tool build/firmware/replay_stream] [--random 3000] [--seed 1]`

Streams: every shared vector with each byte flipped (three ways), and random sessions encoded by
common/encodings.py (random sizes, byte orders, RAW/RUNS/LZ4/RICE, keepalives, KEEP and CACHED),
RECOLOR (common/recolor.py, from a guess of what the panel shows), CELLS (common/cells.py, random
cell sizes and offsets) and JPEG, some of them cut or with a byte changed (replay_stream gives the
core a block buffer of max_body, a bitmap cache and a panel it reads back, so it offers LZ4, RICE,
JPEG, CACHED, CELLS, COPY and RECOLOR). The JPEGs are Pillow's,
4:4:4 or grey, which libjpeg (the reference's decoder) and the core decode to the same pixels;
the server's 4:2:0 differs slightly by design (libjpeg smooths chroma).
Rules, from the documented difference between a streaming and a buffering parser:
- the reference fails with code E           -> the core fails with E;
- the reference ends on a message boundary  -> same framebuffer, ACKs and REJECT, no error;
- the reference is inside a message         -> same ACKs and REJECT; the core may already have
  failed (it judges a RECT from its header), and may have drawn part of that message.
A byte changed inside a JPEG RECT loosens the first two, as libjpeg decodes what the core refuses
(it reads a marker inside the entropy data, an AC run past the block, a zero quantiser, a
non-sequential scan or SOF1 as warnings and decodes on) and checks the size only after every
header (the core stops at the first problem in stream order): both may fail with either jpeg_
code; the reference may apply what the core fails with jpeg_malformed; where both apply, pixels
may differ inside the JPEG RECTs (hostile coefficients: the core saturates, libjpeg wraps), not
elsewhere. Each loosened outcome is counted in the summary.
In every case the core draws nothing outside the display. Exit 1 on any mismatch.
"""

from __future__ import annotations

import argparse
import io
import json
import random
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

from common import protocol  # noqa: E402
from common.cells import cells_payload  # noqa: E402
from common.encodings import encode_best, encode_lz4, encode_raw, encode_rice  # noqa: E402
from common.protocol import Encoding, ProtocolError  # noqa: E402
from common.recolor import encode_recolor  # noqa: E402
from common.rgb565 import expand_rgb565  # noqa: E402
from devices.reference_display import BoardStream  # noqa: E402

JPEG_MASKS = [17, 19, 27]  # RAW (+ RUNS, + LZ4) + JPEG
RECOLOR_MASKS = [135, 171]  # RAW, RUNS + COPY or LZ4 and CACHED, + RECOLOR
CELLS_MASKS = [299, 427]  # RAW, RUNS, LZ4, CACHED, CELLS, and RECOLOR


class Case(NamedTuple):
    width: int
    height: int
    max_body: int
    mask: int
    stream: bytes
    jpeg_boxes: tuple[tuple[int, int, int, int], ...] = ()  # set when a byte changed inside a JPEG RECT


def messages(stream: bytes) -> Iterator[tuple[int, int, int, bytes]]:
    """(start, end, type, body) of each whole message, by the headers' lengths."""
    pos = 0
    while pos + 3 <= len(stream):
        end = pos + 3 + int.from_bytes(stream[pos + 1 : pos + 3], "little")
        yield pos, end, stream[pos], stream[pos + 3 : end]
        pos = end


def jpeg_rects(stream: bytes) -> list[tuple[int, int, tuple[int, int, int, int]]]:
    """(start, end, box) of the JPEG RECT messages of `stream`."""
    out = []
    for start, end, kind, body in messages(stream):
        if kind == protocol.ServerMsg.RECT and len(body) >= 9 and body[8] == Encoding.JPEG:
            out.append((start, end, protocol.RECT_HEADER.unpack_from(body)[:4]))
    return out


def changed_in_jpeg(original: bytes, changed: bytes, at: int) -> tuple[tuple[int, int, int, int], ...]:
    """The JPEG RECT boxes of both streams if byte `at` lies in a JPEG RECT of the original, else ()."""
    rects = jpeg_rects(original)
    if not any(start <= at < end for start, end, _ in rects):
        return ()
    return tuple({box for _, _, box in rects + jpeg_rects(changed)})


def jpeg_444_or_grey(pixels: np.ndarray, rng: random.Random) -> bytes:
    """A baseline JPEG without chroma subsampling, so libjpeg and the core agree pixel for pixel."""
    out = io.BytesIO()
    image = Image.fromarray(expand_rgb565(pixels), "RGB")
    if rng.random() < 0.3:
        image = image.convert("L")
    image.save(out, "JPEG", quality=rng.choice([50, 75, 95]), subsampling=0, optimize=rng.random() < 0.5)
    return out.getvalue()


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


def cache_offset(rng: random.Random, pixels: int) -> int:
    """Where a KEEP or CACHED points: where `pixels` fit, at the last place that fits, or anywhere."""
    last = protocol.CACHE_PIXELS - pixels
    return rng.choice([rng.randint(0, max(0, last)), max(0, last), rng.randrange(0x10000)])


def random_cells(rng: random.Random, w: int, h: int) -> bytes:
    """A CELLS payload: a cell size that tiles w x h (now and then one that does not), an offset per cell."""
    cell_w = rng.choice([d for d in range(1, w + 1) if w % d == 0]) if rng.random() < 0.9 else rng.randint(0, 3)
    cell_h = rng.choice([d for d in range(1, h + 1) if h % d == 0])
    cells = (w // cell_w) * (h // cell_h) if cell_w else 1
    return cells_payload(cell_w, cell_h, [cache_offset(rng, cell_w * cell_h) for _ in range(cells)])


def random_session(rng: random.Random) -> Case:
    width, height = rng.randint(1, 24), rng.randint(1, 16)
    max_body = rng.choice([64, 100, 256, 1000, 0xFFFF])
    masks = [1, 3, 9, 11, 35, 43, 67, 107, *JPEG_MASKS, *RECOLOR_MASKS, *CELLS_MASKS]
    mask = rng.choice(masks)
    big = rng.random() < 0.5
    chosen = protocol.mask_to_encodings(mask if rng.random() < 0.8 else rng.choice(masks))
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
            allowed = chosen if 9 + 2 * w * h <= accepted_body else chosen - {Encoding.LZ4, Encoding.RICE}
            encoding, payload = encode_best(pixels, big, allowed)
            if Encoding.LZ4 in allowed and rng.random() < 0.3:
                encoding, payload = Encoding.LZ4, encode_lz4(encode_raw(pixels, big))
            if Encoding.RICE in allowed and rng.random() < 0.4:
                encoding, payload = Encoding.RICE, encode_rice(pixels)
            if Encoding.JPEG in chosen and rng.random() < 0.5:
                jpeg = jpeg_444_or_grey(pixels, rng)
                if 9 + len(jpeg) <= accepted_body:  # a server sends JPEG only where it fits a body
                    encoding, payload = Encoding.JPEG, jpeg
            if Encoding.RECOLOR in chosen and rng.random() < 0.4:
                # Valid whatever the panel shows: a table and patches from a guess of what it shows.
                guess = np.array([[rng.choice(colours) for _ in range(w)] for _ in range(h)], np.uint16)
                recolor = encode_recolor(guess, pixels, big, accepted_body - 9 + 1)
                if recolor is not None:
                    encoding, payload = Encoding.RECOLOR, recolor
            if 9 + len(payload) > 0xFFFF:
                continue
            if Encoding.CACHED in chosen and rng.random() < 0.4:  # mostly inside the cache, sometimes past it
                out += protocol.keep(cache_offset(rng, w * h))
            if Encoding.CACHED in chosen and rng.random() < 0.3:
                encoding, payload = Encoding.CACHED, protocol.CACHE_OFFSET.pack(cache_offset(rng, w * h))
            if Encoding.CELLS in chosen and rng.random() < 0.3:
                encoding, payload = Encoding.CELLS, random_cells(rng, w, h)
            out += protocol.rect(x, y, w, h, encoding, payload)
        out += protocol.frame_end(seq)
        seq = (seq + 1) & 0xFFFFFFFF
    if rng.random() < 0.05:
        out += protocol.reject("bye " + "x" * rng.randint(0, 5))
    damage = rng.random()
    boxes: tuple[tuple[int, int, int, int], ...] = ()
    if damage < 0.25 and out:
        out = out[: rng.randrange(len(out))]
    elif damage < 0.5 and out:
        i = rng.randrange(len(out))
        changed = out[:i] + bytes([rng.randrange(256)]) + out[i + 1 :]
        boxes = changed_in_jpeg(out, changed, i)
        out = changed
    return Case(width, height, max_body, mask, out, boxes)


def cases(seed: int, count: int):
    vectors = json.loads((ROOT / "tests" / "vectors" / "device_stream.json").read_text())
    for v in vectors:
        stream = bytes.fromhex(v["hex"])
        for i in range(len(stream)):
            for flip in (0xFF, 0x01, 0x80):
                bad = bytearray(stream)
                bad[i] ^= flip
                setup = (v["width"], v["height"], v["max_body"], v["encodings"])
                yield f"{v['name']}[{i}]^{flip:02x}", Case(*setup, bytes(bad), changed_in_jpeg(stream, bytes(bad), i))
    rng = random.Random(seed)
    for n in range(count):
        yield f"random#{n}", random_session(rng)


def compare(ref: dict, line: str, case: Case) -> tuple[str | None, str]:
    """(the mismatch or None, how a loosened JPEG rule let it pass or "")."""
    got = dict(field.split("=", 1) for field in line.split())
    if got["violations"] != "0":
        return "drew outside the display", ""
    acks = [int(a) for a in got["acks"].split(",")] if got["acks"] else []
    rejected = None if got["rejected"] == "-" else bytes.fromhex(got["rejected"]).decode("utf-8", "replace")
    loose = bool(case.jpeg_boxes)
    if ref["error"] != "none":
        if got["error"] == ref["error"]:
            return None, ""
        if loose and got["error"].startswith("jpeg_") and ref["error"].startswith("jpeg_"):
            return None, "jpeg: other jpeg_ code"
        return f"error {got['error']} ({got['jpeg']}), reference {ref['error']}", ""
    if ref["incomplete"]:
        if got["error"] == "none" and (acks != ref["acks"] or rejected != ref["rejected"]):
            return f"cut stream: acks/reject {acks} {rejected!r}, reference {ref['acks']} {ref['rejected']!r}", ""
        return None, ""
    if got["error"] != "none":
        if loose and got["error"] == "jpeg_malformed":
            return None, "jpeg: core refuses what libjpeg decodes"
        return f"error {got['error']} ({got['jpeg']}) on a stream the reference applied", ""
    fb = np.frombuffer(bytes.fromhex(got["fb"]), ">u2").reshape(ref["fb"].shape)
    if acks != ref["acks"] or rejected != ref["rejected"]:
        return f"different result: acks {acks} vs {ref['acks']}, reject {rejected!r} vs {ref['rejected']!r}", ""
    if np.array_equal(fb, ref["fb"]):
        return None, ""
    outside = np.ones(fb.shape, bool)
    for x, y, w, h in case.jpeg_boxes:
        outside[y : y + h, x : x + w] = False
    if loose and np.array_equal(fb[outside], ref["fb"][outside]):
        return None, "jpeg: other pixels inside the RECT"
    return "different framebuffer", ""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tool", default=str(ROOT / "build" / "firmware" / "replay_stream"))
    parser.add_argument("--random", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    all_cases = list(cases(args.seed, args.random))
    lines = "".join(f"{c.width} {c.height} {c.max_body} {c.mask} {c.stream.hex() or '-'}\n" for _, c in all_cases)
    result = subprocess.run([args.tool], input=lines, capture_output=True, text=True, check=True)
    outputs = result.stdout.splitlines()
    assert len(outputs) == len(all_cases), "replay_stream answered a different number of lines"
    kinds = {"error": 0, "applied": 0, "cut": 0, "cut, core failed early": 0}
    loosened: dict[str, int] = {}
    jpeg_applied = 0
    failures = []
    for (name, case), line in zip(all_cases, outputs, strict=True):
        ref = reference(case.width, case.height, case.max_body, case.mask, case.stream)
        problem, rule = compare(ref, line, case)
        if problem:
            failures.append(f"{name}: {problem} (stream {case.stream.hex()[:120]})")
        elif rule:
            loosened[rule] = loosened.get(rule, 0) + 1
        elif ref["error"] != "none":
            kinds["error"] += 1
        elif not ref["incomplete"]:
            kinds["applied"] += 1
            jpeg_applied += bool(jpeg_rects(case.stream))
        else:
            kinds["cut" if "error=none" in line else "cut, core failed early"] += 1
    print(f"cross-checked {len(all_cases)} streams: " + ", ".join(f"{v} {k}" for k, v in kinds.items()))
    print(
        f"applied with a JPEG RECT, pixel for pixel: {jpeg_applied}; loosened (a byte changed in a JPEG RECT): "
        + (", ".join(f"{v} {k}" for k, v in loosened.items()) or "none")
    )
    for failure in failures[:20]:
        print("MISMATCH", failure)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
