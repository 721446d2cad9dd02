"""Motion between two pictures: the box that moved when a terminal scrolled or a window was dragged.

A board that can read its panel back moves such a box with one COPY (13 bytes) instead of being
sent its pixels again. The search is cheap and approximate: a few distinctive row segments of the
new picture are looked up in the old one within `reach` pixels; the offset most of them agree on
is kept if moving by it fixes many changed pixels. Whatever it gets wrong costs bytes, never
correctness: the damage is then computed against the moved picture, so it stays exact.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

SEGMENT = 32  # pixels per anchor segment: long enough to be unique on typical UI content
MIN_TRANSITIONS = 6  # an anchor needs this many pixel changes along it (flat runs match anywhere)
ANCHORS = 12
MAX_MATCHES = 4  # an anchor found in more places than this is ambiguous
MIN_FIXED = 512  # pixels a move must fix to be worth a COPY message and the search


class Box(NamedTuple):
    x: int
    y: int
    w: int
    h: int


class Move(NamedTuple):
    """Copy `source` (a box of the old picture) to (x, y)."""

    source: Box
    x: int
    y: int

    def apply(self, pixels: np.ndarray) -> np.ndarray:
        """The picture after this move, as a board shows it after the COPY."""
        s = self.source
        moved = pixels.copy()
        moved[self.y : self.y + s.h, self.x : self.x + s.w] = pixels[s.y : s.y + s.h, s.x : s.x + s.w]
        return moved


class SearchBackoff:
    """When to search: every frame while moves are found; after misses, only every 2nd, 4th, then
    8th frame, so content that never moves (a dashboard) pays for few searches."""

    MAX_GAP = 8

    def __init__(self) -> None:
        self.gap, self.wait = 1, 0

    def due(self) -> bool:
        self.wait -= 1
        return self.wait < 0

    def found(self, moved: bool) -> None:
        self.gap = 1 if moved else min(2 * self.gap, self.MAX_GAP)
        self.wait = self.gap - 1


def find_move(old: np.ndarray, new: np.ndarray, changed: np.ndarray, reach: int = 48) -> Move | None:
    """The one move that fixes the most changed pixels, or None if no move fixes enough of them."""
    ys, xs = np.nonzero(changed.any(axis=1))[0], np.nonzero(changed.any(axis=0))[0]
    if ys.size == 0 or xs.size < SEGMENT:
        return None
    area = Box(int(xs[0]), int(ys[0]), int(xs[-1] - xs[0] + 1), int(ys[-1] - ys[0] + 1))
    anchors = _anchors(new, area)
    offsets = _vote(old, new, anchors, reach) if anchors else []
    for dy, dx in offsets[:2]:
        move = _move_for(old, new, changed, area, dy, dx)
        if move is not None:
            return move
    return None


def _anchors(new: np.ndarray, area: Box) -> list[tuple[int, int]]:
    """(y, x) of the most distinctive SEGMENT-long row pieces of the new picture inside `area`
    (pieces start every SEGMENT pixels on every other row: plenty of candidates, half the work)."""
    block = new[area.y : area.y + area.h : 2, area.x : area.x + area.w]
    starts = np.arange(0, area.w - SEGMENT + 1, SEGMENT)
    transitions = block[:, 1 : starts[-1] + SEGMENT] != block[:, : starts[-1] + SEGMENT - 1]
    scores = np.add.reduceat(transitions, starts, axis=1, dtype=np.int32)
    best = np.argpartition(scores, -ANCHORS, axis=None)[-ANCHORS:] if scores.size > ANCHORS else np.arange(scores.size)
    rows, cols = np.unravel_index(best, scores.shape)
    return [
        (area.y + 2 * int(r), area.x + int(starts[c]))
        for r, c in zip(rows, cols, strict=True)
        if scores[r, c] >= MIN_TRANSITIONS
    ]


def _vote(old: np.ndarray, new: np.ndarray, anchors: list[tuple[int, int]], reach: int) -> list[tuple[int, int]]:
    """Offsets (dy, dx) where the old picture held each anchor's pixels, most agreed first.

    Positions are found by a rolling hash of the segment, then checked pixel by pixel."""
    height, width = old.shape
    y_lo = max(0, min(y for y, _ in anchors) - reach)
    y_hi = min(height, max(y for y, _ in anchors) + reach + 1)
    x_lo = max(0, min(x for _, x in anchors) - reach)
    x_hi = min(width, max(x for _, x in anchors) + SEGMENT + reach)
    keys = _segment_keys(old[y_lo:y_hi, x_lo:x_hi])
    votes: dict[tuple[int, int], int] = {}
    for y, x in anchors:
        segment = new[y, x : x + SEGMENT]
        key = (segment.astype(np.uint64) * _SEGMENT_POWERS).sum(dtype=np.uint64)
        y0, y1 = max(y_lo, y - reach), min(y_hi, y + reach + 1)
        x0, x1 = max(x_lo, x - reach), min(x_hi - SEGMENT + 1, x + reach + 1)
        wy, wx = np.nonzero(keys[y0 - y_lo : y1 - y_lo, x0 - x_lo : x1 - x_lo] == key)
        if wy.size > MAX_MATCHES:
            continue  # a repeating pattern (dither, a texture) says nothing about where it moved
        for sy, sx in zip((wy + y0).tolist(), (wx + x0).tolist(), strict=True):
            if (sy, sx) != (y, x) and np.array_equal(old[sy, sx : sx + SEGMENT], segment):
                offset = (sy - y, sx - x)
                votes[offset] = votes.get(offset, 0) + 1
    return sorted(votes, key=lambda o: (-votes[o], abs(o[0]) + abs(o[1])))


_HASH_BASE = np.uint64(0x9E3779B97F4A7C15)  # odd, so it has an inverse modulo 2**64
_HASH_INVERSE = np.uint64(pow(int(_HASH_BASE), -1, 2**64))
_SEGMENT_POWERS = np.array([pow(int(_HASH_BASE), k, 2**64) for k in range(SEGMENT)], np.uint64)


class _Scratch:
    """Work arrays kept from one search to the next. The hashes of a whole picture take three ~0.5 MB
    arrays; allocated afresh each frame, the kernel's page faults on them cost more than the hashing."""

    def __init__(self) -> None:
        self.arrays: dict[str, np.ndarray] = {}

    def take(self, name: str, shape: tuple[int, int]) -> np.ndarray:
        """A uint64 array of `shape` (contents undefined), valid until `name` is taken again."""
        size = shape[0] * shape[1]
        flat = self.arrays.get(name)
        if flat is None or flat.size < size:
            flat = self.arrays[name] = np.empty(size, np.uint64)
        return flat[:size].reshape(shape)


_SCRATCH = _Scratch()


def _segment_keys(rows: np.ndarray) -> np.ndarray:
    """A 64-bit polynomial hash of every SEGMENT-long row piece (a rolling hash, so O(pixels)); the
    array is scratch, valid until the next call."""
    height, width = rows.shape
    powers, inverse = (np.cumprod(np.full(width, factor, np.uint64)) for factor in (_HASH_BASE, _HASH_INVERSE))
    prefix = _SCRATCH.take("prefix", (height, width + 1))
    prefix[:, 0] = 0
    products = _SCRATCH.take("products", (height, width))
    np.multiply(rows, powers, out=products)
    np.cumsum(products, axis=1, out=prefix[:, 1:])
    n = width - SEGMENT + 1
    keys = _SCRATCH.take("keys", (height, n))
    np.subtract(prefix[:, SEGMENT : SEGMENT + n], prefix[:, :n], out=keys)
    keys *= inverse[:n]
    return keys


def _move_for(old: np.ndarray, new: np.ndarray, changed: np.ndarray, area: Box, dy: int, dx: int) -> Move | None:
    """The box whose move by (dy, dx) fixes many changed pixels, trimmed where it would break more."""
    height, width = old.shape
    # Destinations inside `area` whose source (y + dy, x + dx) lies inside the picture.
    y0, y1 = max(area.y, -dy), min(area.y + area.h, height - dy)
    x0, x1 = max(area.x, -dx), min(area.x + area.w, width - dx)
    if y1 <= y0 or x1 <= x0:
        return None
    was_changed = changed[y0:y1, x0:x1]
    lands_right = new[y0:y1, x0:x1] == old[y0 + dy : y1 + dy, x0 + dx : x1 + dx]
    fixed = was_changed & lands_right
    if int(fixed.sum()) < MIN_FIXED:
        return None
    gain = fixed.astype(np.int32) - (~was_changed & ~lands_right)  # pixels fixed minus pixels broken
    top, left = 0, 0
    bottom, right = gain.shape
    for _ in range(2):  # trim edge rows, then columns, that do not gain; twice, as each changes the other
        rows = np.nonzero(gain[top:bottom, left:right].sum(axis=1) > 0)[0]
        if rows.size == 0:
            return None
        top, bottom = top + int(rows[0]), top + int(rows[-1]) + 1
        cols = np.nonzero(gain[top:bottom, left:right].sum(axis=0) > 0)[0]
        left, right = left + int(cols[0]), left + int(cols[-1]) + 1
    x, y = x0 + left, y0 + top
    return Move(Box(x + dx, y + dy, right - left, bottom - top), x, y)
