"""CELLS (docs/protocol.md): a box drawn from cells the board keeps in its bitmap cache.

Text on a fixed grid (a terminal, a log tail, a BIOS screen) is a few dozen distinct glyph cells,
repeated. When it scrolls, COPY moves it for 13 bytes, but the board first reads every moved pixel
back from its panel, each as slow as three written ones: a full-screen scroll takes ~90 ms before a
pixel is written. Drawn as cells the board already holds, it costs 2 bytes a cell and no read. The
server finds the grid in the picture itself (find_grid: the period and phase of the gaps between
glyphs), cuts damage boxes into its cells and names each by a digest of its pixels, which the
server's copy of the board's cache (common/bitmap_cache.py) is keyed by.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from common import protocol
from common.motion import Box
from common.protocol import ProtocolError

CELL_WIDTHS = range(4, 17)  # glyph advances of the fonts a small display can show
CELL_HEIGHTS = range(6, 33)  # line pitches
GAP_SHARE = (
    0.3  # a grid's gap column (row) carries at most this share of an average column's ink (some glyphs touch it)
)
REPEAT_SHARE = 0.5  # at most this share of a grid's cells may be distinct: text repeats its glyphs
MIN_CELLS = 16
_HASH_WEIGHTS = np.random.default_rng(0x7E11).integers(1, 2**63, size=(2, 32 * 32), dtype=np.uint64) | np.uint64(1)


class Grid(NamedTuple):
    """Cells of `w x h` pixels whose corners lie at (x0 + i*w, y0 + j*h), over `cols x rows` cells."""

    w: int
    h: int
    x0: int
    y0: int
    cols: int
    rows: int

    @property
    def extent(self) -> Box:
        return Box(self.x0, self.y0, self.cols * self.w, self.rows * self.h)

    def split(self, box: Box) -> tuple[Box | None, list[Box]]:
        """The part of `box` inside the grid (None: none), and the strips of it outside."""
        grid = self.extent
        left, top = max(box.x, grid.x), max(box.y, grid.y)
        right, bottom = min(box.x + box.w, grid.x + grid.w), min(box.y + box.h, grid.y + grid.h)
        if left >= right or top >= bottom:
            return None, [box]
        strips = [
            Box(box.x, box.y, box.w, top - box.y),
            Box(box.x, bottom, box.w, box.y + box.h - bottom),
            Box(box.x, top, left - box.x, bottom - top),
            Box(right, top, box.x + box.w - right, bottom - top),
        ]
        return Box(left, top, right - left, bottom - top), [s for s in strips if s.w > 0 and s.h > 0]

    def cover(self, box: Box) -> Box:
        """The smallest box of whole cells that holds `box`, a box inside the grid."""
        left, top = (box.x - self.x0) // self.w, (box.y - self.y0) // self.h
        right = -(-(box.x + box.w - self.x0) // self.w)
        bottom = -(-(box.y + box.h - self.y0) // self.h)
        return Box(self.x0 + left * self.w, self.y0 + top * self.h, (right - left) * self.w, (bottom - top) * self.h)


def cells_payload(cell_w: int, cell_h: int, offsets: list[int]) -> bytes:
    """A CELLS payload: the cell size, then each cell's cache offset in row-major order of the grid."""
    return protocol.CELL_SIZE.pack(cell_w, cell_h) + np.asarray(offsets, "<u2").tobytes()


def decode_cells(payload: bytes, w: int, h: int, cache: np.ndarray) -> np.ndarray:
    """The w x h pixels a CELLS payload draws from `cache` (the reference board's decoder)."""
    if len(payload) < protocol.CELL_SIZE.size:
        raise ProtocolError("cells_bad_grid", f"CELLS payload of {len(payload)} bytes has no cell size")
    cell_w, cell_h = protocol.CELL_SIZE.unpack_from(payload)
    if cell_w == 0 or cell_h == 0 or w % cell_w or h % cell_h:
        raise ProtocolError("cells_bad_grid", f"{cell_w}x{cell_h} cells do not tile a {w}x{h} RECT")
    cols, rows = w // cell_w, h // cell_h
    expected = protocol.CELL_SIZE.size + protocol.CACHE_OFFSET.size * cols * rows
    if len(payload) != expected:
        raise ProtocolError(
            "cells_size_mismatch", f"CELLS of {cols}x{rows} cells needs {expected} bytes, got {len(payload)}"
        )
    offsets = np.frombuffer(payload, "<u2", offset=protocol.CELL_SIZE.size).astype(np.int64)
    if offsets.max() + cell_w * cell_h > protocol.CACHE_PIXELS:
        raise ProtocolError(
            "cells_overflow", f"a {cell_w}x{cell_h} cell at offset {offsets.max()} passes the cache's end"
        )
    cells = cache[offsets[:, None] + np.arange(cell_w * cell_h)]
    return cells.reshape(rows, cols, cell_h, cell_w).transpose(0, 2, 1, 3).reshape(h, w)


def cell_pixels(pixels: np.ndarray, box: Box, cell_w: int, cell_h: int) -> np.ndarray:
    """The box's cells, row-major, each as its `cell_h x cell_w` pixels: shape (cells, cell_h, cell_w)."""
    region = pixels[box.y : box.y + box.h, box.x : box.x + box.w]
    rows, cols = box.h // cell_h, box.w // cell_w
    return region.reshape(rows, cell_h, cols, cell_w).transpose(0, 2, 1, 3).reshape(-1, cell_h, cell_w)


def cell_digests(cells: np.ndarray) -> list[bytes]:
    """What identifies each cell's pixels and size: 16 bytes of two 64-bit random linear hashes (any
    two different cells collide with odds below 2^-96); vectorised, as a scroll has a thousand cells."""
    count, cell_h, cell_w = cells.shape
    flat = cells.reshape(count, -1).astype(np.uint64)
    weights = _HASH_WEIGHTS[:, : cell_w * cell_h]
    with np.errstate(over="ignore"):
        hashes = flat @ weights.T + _HASH_WEIGHTS[:, -1] * np.uint64(cell_w << 8 | cell_h)
    return np.ascontiguousarray(hashes).view("S16").ravel().tolist()  # fixed-length: NUL-stripping keeps them apart


def find_grid(pixels: np.ndarray, known: Grid | None = None) -> Grid | None:
    """The text grid of a picture: a cell width and line pitch at which one column (row) of every
    cell is nearly blank, where the cells then repeat; None for a picture that is not text on a grid.
    A `known` grid (from the frame before) whose gaps are still there is kept without recounting its cells."""
    background = np.bincount(pixels.ravel()).argmax()
    ink = pixels != background
    columns, rows = ink.sum(axis=0), ink.sum(axis=1)
    if not (_may_gap(columns) and _may_gap(rows)):
        return None  # ink nearly everywhere (a photo, video): no period can have a gap
    if known is not None:
        across = _gap_period(columns, range(known.w, known.w + 1))
        down = _gap_period(rows, range(known.h, known.h + 1))
        if (across, down) == ((known.w, known.x0), (known.h, known.y0)):
            return known
    across, down = _gap_period(columns, CELL_WIDTHS), _gap_period(rows, CELL_HEIGHTS)
    if across is None or down is None:
        return None
    (cell_w, x0), (cell_h, y0) = across, down
    height, width = pixels.shape
    grid = Grid(cell_w, cell_h, x0, y0, (width - x0) // cell_w, (height - y0) // cell_h)
    if grid.cols * grid.rows < MIN_CELLS:
        return None
    distinct = len(set(cell_digests(cell_pixels(pixels, grid.extent, cell_w, cell_h))))
    return grid if distinct <= REPEAT_SHARE * grid.cols * grid.rows else None


def _may_gap(ink: np.ndarray) -> bool:
    """Whether some period can have a gap phase: a phase sums `count` entries, so it carries at least
    count * min and the average phase at most count * max; below GAP_SHARE needs min <= GAP_SHARE * max."""
    return bool(ink.min() <= GAP_SHARE * ink.max())


def _gap_period(ink: np.ndarray, periods: range) -> tuple[int, int] | None:
    """The smallest period at which one phase of the ink profile is a gap, and where cells start: at
    the first clean cut, right before or after a gap (None: no period has a gap)."""
    for period in periods:
        count = len(ink) // period
        if count < 2:
            return None
        folded = ink[: count * period].reshape(count, period).sum(axis=0)
        if folded.mean() == 0:
            return None
        gaps = folded <= GAP_SHARE * folded.mean()
        if gaps.any() and not gaps.all():
            cuts = gaps | np.roll(gaps, 1)  # a cut right before a gap phase or right after it
            return period, int(np.argmax(cuts))
    return None
