"""Damage between two pictures: the boxes a board must be sent to go from the one to the other.

Found per 16x16 tile, tightened to the changed pixels, sparse L-shapes split into strips, then
neighbours merged wherever their union is estimated to encode smaller (CostModel). For a board that
can COPY, a move (common/motion.py) comes first when it leaves less damage. Exact: every changed
pixel is in a box. Used by encode_damage per frame pair and board kind; the benchmarks reuse it.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from common import protocol
from common.motion import Box, Move, find_move

TILE = 16
RECT_OVERHEAD = protocol.HEADER.size + protocol.RECT_HEADER.size
MAX_SPLIT = 8  # a sparse box is split into at most this many strips


class Update(NamedTuple):
    """What takes a board from one picture to another: an optional move, then the damage boxes;
    and what the board shows exactly before the boxes are drawn (None: not known everywhere)."""

    move: Move | None
    boxes: list[Box]
    shown: np.ndarray | None = None

    @property
    def raw_bytes(self) -> int:
        """RGB565 bytes of everything it changes, as if all were sent as pixels."""
        moved = [self.move.source] if self.move else []
        return sum(2 * b.w * b.h for b in [*moved, *self.boxes])


def plan_update(old: np.ndarray, new: np.ndarray, can_copy: bool, redraw: tuple[Box, ...] = ()) -> Update:
    """The damage from old to new, plus the `redraw` boxes (which the board shows only approximately);
    for a board that can COPY, first a move if it leaves less damage."""
    shown = None if redraw else old
    changed = old != new
    for box in redraw:
        changed[box.y : box.y + box.h, box.x : box.x + box.w] = True
    move = find_move(old, new, changed) if can_copy else None
    if move is not None:
        moved = move.apply(old)
        changed_after = moved != new
        if changed_after.sum() < changed.sum():
            return Update(move, _damage_boxes(changed_after, new), None if redraw else moved)
    return Update(None, _damage_boxes(changed, new), shown)


def find_damage(old: np.ndarray, new: np.ndarray) -> list[Box]:
    """Exact boxes covering every pixel that differs, found per 16x16 tile, then tightened."""
    return _damage_boxes(old != new, new)


def _damage_boxes(changed: np.ndarray, new: np.ndarray) -> list[Box]:
    tiles = _dirty_tiles(changed)
    if not tiles.any():
        return []
    boxes = [part for box in _tile_boxes(tiles, changed.shape) for part in _changed_parts(box, changed)]
    return merge_boxes(boxes, new)


def _dirty_tiles(changed: np.ndarray) -> np.ndarray:
    """Which 16x16 tiles hold a changed pixel: one reduction over the picture padded to whole tiles."""
    height, width = changed.shape
    rows, columns = -(-height // TILE), -(-width // TILE)
    padded = changed
    if (rows * TILE, columns * TILE) != changed.shape:
        padded = np.zeros((rows * TILE, columns * TILE), bool)
        padded[:height, :width] = changed
    return np.asarray(padded.reshape(rows, TILE, columns, TILE).any(axis=(1, 3)))


def _tile_boxes(tiles: np.ndarray, shape: tuple[int, int]) -> list[Box]:
    """Runs of dirty tiles per tile row, stacked downwards while the run stays the same (in plain
    Python: a picture has a few hundred tiles, too few to pay for numpy calls per row)."""
    open_boxes: dict[tuple[int, int], Box] = {}
    done: list[Box] = []
    height, width = shape
    for ty, row in enumerate(tiles.tolist()):
        spans = set(_true_runs(row))
        for span in list(open_boxes):
            if span not in spans:
                done.append(open_boxes.pop(span))
        y = ty * TILE
        h = min(TILE, height - y)
        for x0, x1 in spans:
            x, w = x0 * TILE, min(x1 * TILE, width) - x0 * TILE
            box = open_boxes.get((x0, x1))
            open_boxes[(x0, x1)] = Box(x, box.y, w, box.h + h) if box else Box(x, y, w, h)
    return done + list(open_boxes.values())


def _true_runs(flags: list[bool]) -> list[tuple[int, int]]:
    """(start, end) of each run of True, end exclusive."""
    runs, start = [], None
    for i, flag in enumerate([*flags, False]):
        if flag and start is None:
            start = i
        elif not flag and start is not None:
            runs.append((start, i))
            start = None
    return runs


def _changed_parts(box: Box, changed: np.ndarray) -> list[Box]:
    """The box tightened to its changed pixels; if they span less than half of that (an L-shaped
    strip a dragged window uncovers), one box per run of rows with the same changed span instead:
    merging rejoins what is cheaper together."""
    area = changed[box.y : box.y + box.h, box.x : box.x + box.w]
    rows = np.flatnonzero(area.any(axis=1))
    dirty = area[rows]
    ys, firsts = rows.tolist(), dirty.argmax(axis=1).tolist()
    lasts = (box.w - 1 - dirty[:, ::-1].argmax(axis=1)).tolist()
    x0, x1 = min(firsts), max(lasts)
    tight = Box(box.x + x0, box.y + ys[0], x1 - x0 + 1, ys[-1] - ys[0] + 1)
    if 2 * sum(last - first + 1 for first, last in zip(firsts, lasts, strict=True)) > tight.w * tight.h:
        return [tight]
    parts: list[Box] = []
    for y, first, last in zip(ys, firsts, lasts, strict=True):
        previous = parts[-1] if parts else None
        if previous and (previous.x, previous.w, previous.y + previous.h) == (
            box.x + first,
            last - first + 1,
            box.y + y,
        ):
            parts[-1] = previous._replace(h=previous.h + 1)
        else:
            parts.append(Box(box.x + first, box.y + y, last - first + 1, 1))
    # Ragged (text): merging many strips would cost more time than it saves bytes.
    return [tight] if len(parts) > MAX_SPLIT else parts


class CostModel:
    """Estimated wire bytes of a box in O(1): a summed-area table of "a run starts here" per row.

    It counts a run at the start of every row and ignores the 256-pixel run limit, so it slightly
    overestimates RUNS; good enough to decide merges, and far cheaper than encoding each union.
    Boxes are asked about as corners (x0, y0, x1, y1), end exclusive, in plain ints: merging asks
    about a hundred or more per frame, where Box objects and numpy scalars would cost more than the sums.
    """

    def __init__(self, pixels: np.ndarray, area: Box) -> None:
        """Only `area` (which every box asked about lies in) is tabulated."""
        self.x, self.y = area.x, area.y
        block = pixels[area.y : area.y + area.h, area.x : area.x + area.w]
        starts = np.ones(block.shape, np.int32)
        starts[:, 1:] = block[:, 1:] != block[:, :-1]
        table = np.zeros((area.h + 1, area.w + 1), np.int32)
        starts.cumsum(0, out=starts)
        starts.cumsum(1, out=table[1:, 1:])
        self.at = table.item

    def __call__(self, x0: int, y0: int, x1: int, y1: int) -> int:
        at, w, h = self.at, x1 - x0, y1 - y0
        x0, x1, y0, y1 = x0 - self.x, x1 - self.x, y0 - self.y, y1 - self.y
        left = at(y1, x0) - at(y0, x0)
        starts = at(y1, x1) - at(y0, x1) - left
        first_column = at(y1, x0 + 1) - at(y0, x0 + 1) - left  # each row's first pixel starts a run anyway
        return RECT_OVERHEAD + min(2 * w * h, 3 * (starts + h - first_column))


def union(boxes: list[Box]) -> Box:
    """The smallest box holding all of them."""
    x0, y0 = min(b.x for b in boxes), min(b.y for b in boxes)
    return Box(x0, y0, max(b.x + b.w for b in boxes) - x0, max(b.y + b.h for b in boxes) - y0)


def merge_boxes(boxes: list[Box], pixels: np.ndarray, reach: int = 8) -> list[Box]:
    """Merge neighbours (in reading order) whenever their union encodes to fewer bytes."""
    if len(boxes) < 2:
        return boxes
    cost_of = CostModel(pixels, union(boxes))
    merged: list[tuple[int, int, int, int, int]] = []  # corners and cost
    for box in sorted(boxes, key=lambda b: (b.y, b.x)):
        x0, y0, x1, y1 = box.x, box.y, box.x + box.w, box.y + box.h
        cost = cost_of(x0, y0, x1, y1)
        for i in range(len(merged) - 1, max(-1, len(merged) - 1 - reach), -1):
            ox0, oy0, ox1, oy1, other_cost = merged[i]
            ux0, uy0, ux1, uy1 = min(x0, ox0), min(y0, oy0), max(x1, ox1), max(y1, oy1)
            union_cost = cost_of(ux0, uy0, ux1, uy1)
            if union_cost <= cost + other_cost:
                del merged[i]
                x0, y0, x1, y1, cost = ux0, uy0, ux1, uy1, union_cost
        merged.append((x0, y0, x1, y1, cost))
    return [Box(x0, y0, x1 - x0, y1 - y0) for x0, y0, x1, y1, _ in merged]


def split_to_fit(box: Box, max_body: int) -> list[Box]:
    """Blocks whose RAW encoding fits a message body of max_body bytes (RUNS is used only if smaller)."""
    max_pixels = (max_body - protocol.RECT_HEADER.size) // 2
    width = min(box.w, max_pixels)
    rows = max(1, max_pixels // width)
    return [
        Box(x, y, min(width, box.x + box.w - x), min(rows, box.y + box.h - y))
        for y in range(box.y, box.y + box.h, rows)
        for x in range(box.x, box.x + box.w, width)
    ]
