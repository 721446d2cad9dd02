"""RGB565 values as numpy arrays: the 8-bit level of each code, packing by truncation, expansion by bit
replication. The levels and snapping a painter's colour to them are common/panel_colours.py's (no numpy).

A value is `r5 << 11 | g6 << 5 | b5` in a uint16; byte order belongs to the wire, not here.
Expansion copies a code's top bits into the low bits it lacks (r8 = r5 << 3 | r5 >> 2), so code 0
shows as 0 and the top code as 255: the expanded values are exactly the colours a panel can show.
"""

from __future__ import annotations

import numpy as np

from common import panel_colours
from common.panel_colours import snap_colour

__all__ = ["LEVELS5", "LEVELS6", "expand_rgb565", "levels", "pack_rgb565", "snap_colour"]


def levels(bits: int) -> np.ndarray:
    """The 8-bit value each of the 2**bits codes expands to, ascending (uint8, 2**bits long)."""
    return np.array(panel_colours.levels(bits), np.uint8)


LEVELS5 = levels(5)
LEVELS6 = levels(6)


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
