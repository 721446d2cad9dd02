"""RGB565 values: the 8-bit level of each code, packing by truncation, expansion by bit replication, and snapping
a painter's colour to the nearest one a panel shows exactly.

A value is `r5 << 11 | g6 << 5 | b5` in a uint16; byte order belongs to the wire, not here.
Expansion copies a code's top bits into the low bits it lacks (r8 = r5 << 3 | r5 >> 2), so code 0
shows as 0 and the top code as 255: the expanded values are exactly the colours a panel can show.
"""

from __future__ import annotations

import numpy as np


def levels(bits: int) -> np.ndarray:
    """The 8-bit value each of the 2**bits codes expands to, ascending (uint8, 2**bits long)."""
    codes = np.arange(1 << bits, dtype=np.uint16)
    return ((codes << (8 - bits)) | (codes >> (2 * bits - 8))).astype(np.uint8)


LEVELS5 = levels(5)
LEVELS6 = levels(6)
_RGB_LEVELS = (LEVELS5, LEVELS6, LEVELS5)


def snap_colour(rgb: tuple[int, int, int]) -> tuple[int, int, int]:
    """The colour nearest to 8-bit `rgb` that a panel shows exactly: each channel moved to its closest level
    (the lower one on a tie).

    Painters pass every flat colour through this: an exact level leaves the color stage unchanged at every dither
    position (with the identity tone curve), so a flat area stays one RGB565 value and encodes as a few RUNS
    instead of a 4x4 dither pattern that only RAW can carry.
    """
    if len(rgb) != 3 or not all(isinstance(v, int) and 0 <= v <= 255 for v in rgb):
        raise ValueError(f"expected three integers from 0 to 255, got {rgb!r}")
    r, g, b = (int(lv[np.argmin(np.abs(lv.astype(np.int16) - v))]) for lv, v in zip(_RGB_LEVELS, rgb, strict=True))
    return (r, g, b)


def pack_rgb565(rgb: np.ndarray) -> np.ndarray:
    """uint8 (..., 3) RGB888 to uint16 (...) RGB565 by truncation: exact for expanded levels, no correction."""
    r, g, b = (rgb[..., i].astype(np.uint16) for i in range(3))
    return ((r >> 3) << 11) | ((g >> 2) << 5) | (b >> 3)


def expand_rgb565(values: np.ndarray) -> np.ndarray:
    """uint16 (...) RGB565 values to uint8 (..., 3) RGB888 by bit replication (for PNGs of what a panel shows)."""
    values = np.asarray(values, dtype=np.uint16)
    out = np.empty((*values.shape, 3), dtype=np.uint8)
    out[..., 0] = LEVELS5[values >> 11]
    out[..., 1] = LEVELS6[(values >> 5) & 0x3F]
    out[..., 2] = LEVELS5[values & 0x1F]
    return out
