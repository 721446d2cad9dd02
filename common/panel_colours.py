"""The colours an RGB565 panel shows exactly, as plain integers: each code's 8-bit level, and snapping
a painter's colour to the nearest of them.

No numpy here, so a painter snaps its palette at import without loading it (~0.05 s of CPU when
every stage starts on the same cores); common/rgb565.py builds its lookup arrays from `levels`.
Expansion copies a code's top bits into the low bits it lacks (r8 = r5 << 3 | r5 >> 2), so code 0
shows as 0 and the top code as 255.
"""

from __future__ import annotations


def levels(bits: int) -> tuple[int, ...]:
    """The 8-bit value each of the 2**bits codes expands to, ascending (2**bits values)."""
    return tuple((code << (8 - bits)) | (code >> (2 * bits - 8)) for code in range(1 << bits))


_RGB_LEVELS = (levels(5), levels(6), levels(5))


def snap_colour(rgb: tuple[int, int, int]) -> tuple[int, int, int]:
    """The colour nearest to 8-bit `rgb` that a panel shows exactly: each channel moved to its closest level
    (the lower one on a tie).

    Painters pass every flat colour through this: an exact level leaves the color stage unchanged at every dither
    position (with the identity tone curve), so a flat area stays one RGB565 value and encodes as a few RUNS
    instead of a 4x4 dither pattern that only RAW can carry.
    """
    if len(rgb) != 3 or not all(isinstance(v, int) and 0 <= v <= 255 for v in rgb):
        raise ValueError(f"expected three integers from 0 to 255, got {rgb!r}")
    r, g, b = (_nearest(lv, v) for lv, v in zip(_RGB_LEVELS, rgb, strict=True))
    return (r, g, b)


def _nearest(ascending: tuple[int, ...], value: int) -> int:
    return min(ascending, key=lambda level: abs(level - value))  # min keeps the first (lower) of a tie
