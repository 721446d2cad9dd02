"""Write the LZ4 test blocks: `python3 firmware/scripts/make_lz4_blocks.py` (needs `lz4`, as the server).

test_lz4.cpp decodes blocks made by the real LZ4 library, as the server makes them (LZ4-HC level 9,
common/encodings.py LZ4_LEVEL) and in its other modes, and compares them with the RAW bytes they
came from. Each entry: a picture's RAW bytes (RGB565 big-endian, row-major) and its blocks by mode.
The pictures are drawn from fixed seeds, so running this again gives the same file.
"""

import json
from pathlib import Path

import lz4.block
import numpy as np

OUT = Path(__file__).resolve().parents[1] / "test" / "lz4" / "blocks.json"
MODES = {
    "hc9": {"mode": "high_compression", "compression": 9},  # what the server sends
    "hc12": {"mode": "high_compression", "compression": 12},
    "fast": {"mode": "default"},
}


def rgb565(r: int, g: int, b: int) -> int:
    return (r >> 3) << 11 | (g >> 2) << 5 | b >> 3


def dashboard(width: int, height: int) -> np.ndarray:
    """A dashboard's texture: grid, bars, glyph-like marks, a dithered gradient band."""
    rng = np.random.default_rng(7)
    px = np.full((height, width), rgb565(16, 20, 28), np.uint16)
    px[::12, :] = rgb565(40, 44, 52)  # grid
    px[:, ::16] = rgb565(40, 44, 52)
    colours = [rgb565(115, 191, 105), rgb565(242, 204, 12), rgb565(87, 148, 242), rgb565(224, 47, 68)]
    for i, x in enumerate(range(4, width - 6, 9)):  # bars
        top = int(rng.integers(8, height - 2))
        px[top : height - 2, x : x + 6] = colours[i % len(colours)]
    glyphs = rng.integers(0, 2, (16, 7, 5)).astype(bool)  # 16 glyphs of 5x7
    for x in range(2, width - 6, 6):  # a line of text
        px[1:8, x : x + 5][glyphs[int(rng.integers(0, 16))]] = rgb565(216, 217, 218)
    ramp = np.linspace(0, 255, width)  # a gradient with an ordered dither
    dither = np.array([[0, 2], [3, 1]]) * 2
    for y in range(height - 10, height):
        g = (ramp + dither[y % 2][np.arange(width) % 2]).clip(0, 255).astype(int)
        px[y] = [rgb565(int(v) // 2, int(v), 255 - int(v)) for v in g]
    return px


def entry(name: str, raw: bytes, width: int, height: int, modes: tuple[str, ...] = tuple(MODES)) -> dict:
    assert len(raw) == 2 * width * height
    blocks = {mode: lz4.block.compress(raw, store_size=False, **MODES[mode]).hex() for mode in modes}
    return {"name": name, "width": width, "height": height, "raw": raw.hex(), "blocks": blocks}


def main() -> None:
    # 160x51: 16,320 bytes, the largest RAW RECT a 16 KB max_body holds (9 + 16,320 <= 16,384).
    noise = np.random.default_rng(3).integers(0, 65536, (30, 48)).astype(">u2").tobytes()
    pictures = [
        entry("dashboard", dashboard(160, 51).astype(">u2").tobytes(), 160, 51),
        # Noise: literals only, a count longer than 270 (count bytes of 255); every mode writes the same.
        entry("noise", noise, 48, 30, ("hc9",)),
        # A 3-byte pattern: offsets and matches that do not fall on pixel boundaries.
        entry("odd_period", bytes([0x12, 0x34, 0x56]) * 600 + bytes([0x78, 0x9A]) * 450, 90, 15),
    ]
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(pictures, indent=1) + "\n")
    print(f"wrote {len(pictures)} pictures to {OUT}")


if __name__ == "__main__":
    main()
