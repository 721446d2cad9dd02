"""What the benchmarks compare tftstream with: the original design, and zlib of the dirty 16x16 tiles.

The original design (vpuhoff/Python-ESP32-TFT-Stream's server), modelled on the same pictures:
- it compares each picture with the previous one (RGB888, before any correction); a pixel counts as changed
  when |dR| + |dG| + |dB| > 10, and it remembers the new picture whether or not it sent anything, so a
  change of a few levels per frame is never sent and stays on the panel (the slow-fade problem);
- it sends one bounding rectangle of the changed pixels, cut into chunks of whole rows of at most 8 KB,
  each with a 12-byte big-endian header (x, y, w, h u16, length u32), raw RGB565 big-endian;
- per chunk it applies float gamma and white balance (its GAMMA 2.8, WB (0.85, 0.95, 0.75)) and packs RGB565.
Its CPU is modelled with numpy (the diff, then per chunk the float correction and packing); the original
packs pixels in a Python loop, which is far slower, so this is a generous model.
"""

from __future__ import annotations

import struct
import time
import zlib
from dataclasses import dataclass

import numpy as np

from common.rgb565 import pack_rgb565

CHUNK_BYTES, CHUNK_HEADER = 8192, struct.Struct(">HHHHI")
THRESHOLD = 10
GAMMA, WHITE_BALANCE = 2.8, np.array((0.85, 0.95, 0.75), np.float32)
TILE = 16
ZLIB_LEVEL = 6


def bounding_box(changed: np.ndarray) -> tuple[int, int, int, int] | None:
    ys, xs = np.flatnonzero(changed.any(axis=1)), np.flatnonzero(changed.any(axis=0))
    if ys.size == 0:
        return None
    return int(xs[0]), int(ys[0]), int(xs[-1] - xs[0] + 1), int(ys[-1] - ys[0] + 1)


def chunk_rows(width: int) -> int:
    return max(1, CHUNK_BYTES // (2 * width))


def chunked_size(w: int, h: int) -> int:
    """Bytes of a w x h rectangle sent the original way: whole rows per chunk, 12-byte header each."""
    return 2 * w * h + CHUNK_HEADER.size * -(-h // chunk_rows(w))


def original_chunks(rgb: np.ndarray, box: tuple[int, int, int, int]) -> bytes:
    """The original's bytes for one rectangle: float gamma + white balance per chunk, RGB565 big-endian."""
    x, y, w, h = box
    rows, out = chunk_rows(w), []
    for top in range(y, y + h, rows):
        part = rgb[top : min(top + rows, y + h), x : x + w].astype(np.float32) / 255.0
        corrected = np.clip(np.power(part, GAMMA) * WHITE_BALANCE * 255.0, 0, 255).astype(np.uint8)
        pixels = pack_rgb565(corrected).astype(">u2").tobytes()
        out += [CHUNK_HEADER.pack(x, top, w, len(pixels) // (2 * w), len(pixels)), pixels]
    return b"".join(out)


@dataclass
class Original:
    """The original design fed the same pictures; `shown` is its panel (RGB888 of the pixels it last sent)."""

    previous: np.ndarray | None = None
    shown: np.ndarray | None = None
    skipped: int = 0  # pictures that changed but of which it sent nothing

    def frame(self, rgb: np.ndarray) -> tuple[int, int, float]:
        """Bytes it sends for this picture, bytes it would send without its threshold (exact), CPU ms."""
        start = time.process_time()
        box: tuple[int, int, int, int] | None = (0, 0, rgb.shape[1], rgb.shape[0])
        if self.previous is not None:
            diff = np.abs(rgb.astype(np.int16) - self.previous.astype(np.int16)).sum(axis=2)
            box = bounding_box(diff > THRESHOLD)
        sent = len(original_chunks(rgb, box)) if box else 0
        cpu_ms = (time.process_time() - start) * 1000
        exact = box if self.previous is None else bounding_box((rgb != self.previous).any(axis=2))
        self.previous = rgb
        if box is None:
            self.skipped += 1
        else:
            x, y, w, h = box
            self.shown = rgb.copy() if self.shown is None else self.shown
            self.shown[y : y + h, x : x + w] = rgb[y : y + h, x : x + w]
        return sent, chunked_size(*exact[2:]) if exact else 0, cpu_ms

    def stale(self) -> tuple[int, int]:
        """Pixels whose RGB565 on its panel is not the last picture's, and the largest error (0..255) among them."""
        if self.shown is None or self.previous is None:
            return 0, 0
        wrong = pack_rgb565(self.shown) != pack_rgb565(self.previous)
        error = np.abs(self.shown.astype(np.int16) - self.previous.astype(np.int16)).max(axis=2)
        return int(wrong.sum()), int(error[wrong].max()) if wrong.any() else 0


def dirty_tiles(old: np.ndarray | None, new: np.ndarray) -> np.ndarray:
    """The 16x16 tiles (n, 16, 16) of `new` with any pixel unlike `old`, in reading order; edges padded with 0."""
    h, w = new.shape
    pad = ((0, -h % TILE), (0, -w % TILE))
    padded = np.pad(new, pad)
    tiles = padded.reshape(padded.shape[0] // TILE, TILE, padded.shape[1] // TILE, TILE).swapaxes(1, 2)
    if old is None:
        return tiles.reshape(-1, TILE, TILE)
    changed = np.pad(old != new, pad)
    dirty = changed.reshape(tiles.shape[0], TILE, tiles.shape[1], TILE).any(axis=(1, 3))
    return tiles[dirty]


def zlib_tiles(old: np.ndarray | None, new: np.ndarray) -> tuple[bytes, float]:
    """zlib level 6 of the RGB565 big-endian bytes of every dirty tile, concatenated; and its CPU ms."""
    start = time.process_time()
    blob = zlib.compress(dirty_tiles(old, new).astype(">u2").tobytes(), ZLIB_LEVEL)
    return blob, (time.process_time() - start) * 1000
