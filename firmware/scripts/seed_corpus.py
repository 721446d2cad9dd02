"""Write the fuzzer's seed corpus from the shared vectors: `python3 firmware/scripts/seed_corpus.py`.

Each seed is fuzz_stream's 6-byte setup (the vectors' 4x3 display, their max_body, the vector's
encodings: CACHED, RUNS, COPY, LZ4, JPEG and RICE are bits 0, 1, 2, 4, 5 and 7 of the setup byte,
RECOLOR shares COPY's bit 2, CELLS CACHED's bit 0; pieces of 7 bytes)
followed by a vector's stream, named after the vector. One more seed is a real 4:2:0 picture
(firmware/test/jpeg/q50_420_17x33.jpg: partial MCUs at its right and bottom edges) as a JPEG RECT
at (3, 5) of a 24x40 display, in pieces of 13 bytes; another a RECOLOR RECT (a table, patches, a
2-byte skip) over a 29x21 box of a 32x24 display drawn with RUNS, in strips of 13 pixels; another
a CELLS RECT of 7x3 cells of 5x6 pixels (four KEEP'd glyphs and a cell at the cache's end) on a
40x24 display, in strips of 13 pixels (so chunks of a row end inside cells).
"""

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT / "firmware" / "test" / "fuzz_corpus"
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from common import protocol  # noqa: E402
from common.cells import cells_payload  # noqa: E402
from common.encodings import encode_raw, encode_runs  # noqa: E402
from common.protocol import Encoding  # noqa: E402
from common.recolor import encode_recolor  # noqa: E402

# The fuzzer always offers RAW; COPY and RECOLOR (both read the panel back) share a bit, CACHED and
# CELLS (both draw from the cache) another.
SETUP_BIT = {
    Encoding.CACHED: 0x01,
    Encoding.CELLS: 0x01,
    Encoding.RUNS: 0x02,
    Encoding.COPY: 0x04,
    Encoding.RECOLOR: 0x04,
    Encoding.LZ4: 0x10,
    Encoding.JPEG: 0x20,
    Encoding.RICE: 0x80,
}
COPY_PIECES = [0, 1, 2, 3, 5, 8, 13, 40]  # fuzz_stream's COPY (RECOLOR, CELLS) strip sizes, bits 5-7 of `pieces`


def offer(mask: int) -> int:
    """fuzz_stream's setup bits for an encoding mask."""
    bits = 0
    for encoding, bit in SETUP_BIT.items():
        if mask & encoding.bit:
            bits |= bit
    return bits


def setup(width: int, height: int, max_body: int, mask: int, piece: int, strip: int = 0) -> bytes:
    pieces = COPY_PIECES.index(strip) << 5 | (piece - 1)
    return bytes([width - 1, height - 1, max_body & 0xFF, max_body >> 8, offer(mask), pieces])


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


def recolor_seed() -> bytes:
    """Diagonal stripes of four colours drawn with RUNS, then a theme change of most of it: three
    colours in the table, one left, and patches at the box's first and last pixels, two adjacent
    ones and skips of 2 bytes."""
    chosen = frozenset({Encoding.RAW, Encoding.RUNS, Encoding.COPY, Encoding.RECOLOR})
    rows, cols = np.mgrid[0:24, 0:32]
    stripe = (rows + cols) // 5 % 4
    shown = np.array([0x0000, 0xFFFF, 0xF800, 0x001F], np.uint16)[stripe]
    themed = np.array([0x18E3, 0xE71C, 0x7800, 0x001F], np.uint16)[stripe]
    box = (slice(2, 23), slice(3, 32))  # 29x21: 609 pixels
    patched = themed[box].copy()
    patched.reshape(-1)[[0, 7, 8, 208, 608]] = 0x07E0
    stream = (
        protocol.accept(protocol.Accept(False, chosen, 2048, 1000, 4000))
        + protocol.frame_begin(1)
        + protocol.rect(0, 0, 32, 24, Encoding.RUNS, encode_runs(shown, False))
        + protocol.frame_end(1)
        + protocol.frame_begin(2)
        + protocol.rect(3, 2, 29, 21, Encoding.RECOLOR, encode_recolor(shown[box], patched, False))
        + protocol.frame_end(2)
    )
    return setup(32, 24, 2048, protocol.encodings_to_mask(chosen), 11, strip=13) + stream


def cells_seed() -> bytes:
    """Four 5x6 glyphs, each KEEP'd as its own RAW RECT along the top, then a 35x18 box of 7x3 cells
    drawn from them and from the cache's last 30 pixels, little-endian."""
    chosen = frozenset({Encoding.RAW, Encoding.RUNS, Encoding.CACHED, Encoding.CELLS})
    glyphs = np.random.default_rng(8).integers(0, 0x10000, size=(4, 6, 5), dtype=np.uint16)
    stream = protocol.accept(protocol.Accept(False, chosen, 2048, 1000, 4000)) + protocol.frame_begin(1)
    for i, glyph in enumerate(glyphs):
        stream += protocol.keep(30 * i) + protocol.rect(5 * i, 0, 5, 6, Encoding.RAW, encode_raw(glyph, False))
    offsets = [30 * (i * 3 % 4) for i in range(21)]
    offsets[11] = protocol.CACHE_PIXELS - 30
    stream += (
        protocol.frame_end(1)
        + protocol.frame_begin(2)
        + protocol.rect(0, 6, 35, 18, Encoding.CELLS, cells_payload(5, 6, offsets))
        + protocol.frame_end(2)
    )
    return setup(40, 24, 2048, protocol.encodings_to_mask(chosen), 11, strip=13) + stream


def main() -> None:
    CORPUS.mkdir(parents=True, exist_ok=True)
    vectors = json.loads((ROOT / "tests" / "vectors" / "device_stream.json").read_text())
    for v in vectors:
        seed = setup(v["width"], v["height"], v["max_body"], v["encodings"], 7) + bytes.fromhex(v["hex"])
        (CORPUS / f"vector_{v['name']}").write_bytes(seed)
    (CORPUS / "jpeg_420_17x33").write_bytes(jpeg_seed())
    (CORPUS / "recolor_29x21").write_bytes(recolor_seed())
    (CORPUS / "cells_7x3").write_bytes(cells_seed())
    print(f"wrote {len(vectors) + 3} seeds to {CORPUS}")


if __name__ == "__main__":
    main()
