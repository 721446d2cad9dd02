"""Write the fuzzer's seed corpus from the shared vectors: `python3 firmware/scripts/seed_corpus.py`.

Each seed is fuzz_stream's 6-byte setup (the vectors' 4x3 display, their max_body, the vector's
encodings: CACHED, RUNS, COPY, LZ4, JPEG and RICE are bits 0, 1, 2, 4, 5 and 7 of the setup byte;
pieces of 7 bytes)
followed by a vector's stream, named after the vector. One more seed is a real 4:2:0 picture
(firmware/test/jpeg/q50_420_17x33.jpg: partial MCUs at its right and bottom edges) as a JPEG RECT
at (3, 5) of a 24x40 display, in pieces of 13 bytes.
"""

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT / "firmware" / "test" / "fuzz_corpus"
sys.path.insert(0, str(ROOT))

from common import protocol  # noqa: E402
from common.protocol import Encoding  # noqa: E402

# The fuzzer always offers RAW.
SETUP_BIT = {
    Encoding.CACHED: 0x01,
    Encoding.RUNS: 0x02,
    Encoding.COPY: 0x04,
    Encoding.LZ4: 0x10,
    Encoding.JPEG: 0x20,
    Encoding.RICE: 0x80,
}


def offer(mask: int) -> int:
    """fuzz_stream's setup bits for an encoding mask."""
    return sum(bit for encoding, bit in SETUP_BIT.items() if mask & encoding.bit)


def setup(width: int, height: int, max_body: int, mask: int, piece: int) -> bytes:
    return bytes([width - 1, height - 1, max_body & 0xFF, max_body >> 8, offer(mask), piece - 1])


def jpeg_seed() -> bytes:
    jpeg = (ROOT / "firmware" / "test" / "jpeg" / "q50_420_17x33.jpg").read_bytes()
    chosen = frozenset({Encoding.RAW, Encoding.RUNS, Encoding.JPEG})
    stream = (
        protocol.accept(protocol.Accept(True, chosen, 2048, 1000, 4000))
        + protocol.frame_begin(1)
        + protocol.rect(3, 5, 17, 33, Encoding.JPEG, jpeg)
        + protocol.frame_end(1)
    )
    return setup(24, 40, 2048, protocol.encodings_to_mask(chosen), 13) + stream


def main() -> None:
    CORPUS.mkdir(parents=True, exist_ok=True)
    vectors = json.loads((ROOT / "tests" / "vectors" / "device_stream.json").read_text())
    for v in vectors:
        seed = setup(v["width"], v["height"], v["max_body"], v["encodings"], 7) + bytes.fromhex(v["hex"])
        (CORPUS / f"vector_{v['name']}").write_bytes(seed)
    (CORPUS / "jpeg_420_17x33").write_bytes(jpeg_seed())
    print(f"wrote {len(vectors) + 1} seeds to {CORPUS}")


if __name__ == "__main__":
    main()
