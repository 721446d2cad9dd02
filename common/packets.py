"""The RECT messages of an update: each block in the smallest encoding the board takes.

A COPY first when something moved, then every damage box split to the board's message body, each
block RAW, RUNS, LZ4 or RICE, whichever is smallest (common/encodings.py); or the whole box as one
RECOLOR of what the board shows there, where that is smaller (common/recolor.py: a dimmed or
re-themed area); with a JPEG quality, photo-like boxes as JPEG where that is less than half the
bytes. For a board with a bitmap cache, small blocks carry their digest, so `use_cache` can turn
blocks the board holds into CACHED RECTs; and on a picture of text on a grid (common/cells.py),
boxes are cut into its cells, so `use_cache` can draw them as CELLS of the glyphs the board holds.
"""

from __future__ import annotations

from collections.abc import Container
from dataclasses import dataclass
from functools import cached_property
from typing import NamedTuple

import numpy as np

from common import protocol
from common.bitmap_cache import KEEP_MAX_PIXELS, CacheState, digest
from common.cells import Grid, cell_digests, cell_pixels, cells_payload
from common.damage import Update, split_to_fit
from common.encodings import encode_best, encode_jpeg
from common.messages import Demand
from common.motion import Box
from common.recolor import encode_recolor

LOSSY_WORTH = 0.25  # JPEG is tried on a box whose lossless bytes exceed this share of RAW (photo-like)
LOSSY_MIN_PIXELS = 1024  # smaller boxes stay lossless: JPEG's tables alone are ~600 bytes
RECOLOR_MIN_BYTES = 96  # RECOLOR is tried on boxes that take more (a dimmed or re-themed area)
NEW_CELLS_SHARE = 0.5  # a box whose cells are more often new than not goes as blocks: not text after all
KEEPABLE = frozenset({protocol.Encoding.RAW, protocol.Encoding.RUNS, protocol.Encoding.LZ4})


class Block(NamedTuple):
    """One RECT message of a packet, and for a block a bitmap cache may keep, its pixels' digest."""

    message: bytes
    box: Box
    digest: bytes | None


@dataclass
class CellBox:
    """A box of whole cells of a text grid, which a board with a bitmap cache gets as one CELLS RECT
    of the cells it holds (KEEPing the others first), or else as the damage in it in blocks."""

    box: Box
    cells: np.ndarray  # (cells, cell_h, cell_w) pixels, row-major over the box
    digests: list[bytes]
    damage: Box  # what changed inside the box
    pixels: np.ndarray  # the whole picture
    demand: Demand
    big_endian: bool

    @cached_property
    def blocks(self) -> list[Block]:
        """The damage as lossless blocks: built only for a board that does not get the cells."""
        return box_blocks(self.pixels, self.damage, self.demand, self.big_endian, 0, None)[0]


class Packet(NamedTuple):
    payload: bytes  # RECT messages; with cell boxes, built per board by use_cache
    rects: int
    lossy: list[Box]  # boxes sent as JPEG: the board shows them only approximately
    blocks: tuple[Block | CellBox, ...] = ()  # the same messages, for a board with a bitmap cache (use_cache)

    def block_digests(self) -> list[bytes]:
        """Digests of the blocks a board's cache may keep (cells are kept as they are needed)."""
        return [b.digest for b in self.blocks if isinstance(b, Block) and b.digest]


def use_cache(packet: Packet, cache: CacheState, seen: Container[bytes]) -> tuple[Packet, CacheState]:
    """The packet for a board whose cache holds `cache`: blocks it holds become CACHED RECTs, blocks
    `seen` before are kept (they come back: a clock's digits; what never did is not worth a place),
    boxes of text cells go as CELLS where that is worth it; and what its cache holds after this packet."""
    if not packet.blocks:
        return packet, cache
    # Glyphs the packet's cells draw from are spared when anything else is kept: a scroll needs them all.
    glyphs = frozenset(d for part in packet.blocks if isinstance(part, CellBox) for d in part.digests)
    messages: list[bytes] = []
    for part in packet.blocks:
        if isinstance(part, CellBox):
            drawn, cache = cells_or_blocks(part, cache, seen, glyphs)
        else:
            drawn, cache = cached_block(part, cache, seen, glyphs)
        messages += drawn
    rects = sum(m[0] == protocol.ServerMsg.RECT for m in messages)
    return packet._replace(payload=b"".join(messages), rects=rects), cache


def cached_block(
    block: Block, cache: CacheState, seen: Container[bytes], spare: Container[bytes] = ()
) -> tuple[list[bytes], CacheState]:
    """A block as a CACHED RECT if the cache holds it, else its message, KEEPing it if `seen` before
    (where it overwrites none of the `spare` blocks, if it can)."""
    offset = cache.offset_of(block.digest) if block.digest else None
    if offset is not None:
        return [protocol.cached_rect(*block.box, offset)], cache
    if block.digest and block.digest in seen:
        offset, cache = cache.keep(block.digest, block.box.w * block.box.h, spare)
        return [protocol.keep(offset), block.message], cache
    return [block.message], cache


def cells_or_blocks(
    cell_box: CellBox, cache: CacheState, seen: Container[bytes], glyphs: Container[bytes]
) -> tuple[list[bytes], CacheState]:
    """The box as CELLS of what the cache holds, the missing cells KEEPed first, unless over
    NEW_CELLS_SHARE of its cells are new (not text after all): then the damage in it as blocks.
    Keeping spares the packet's `glyphs`."""
    cells = draw_cells(cell_box, cache, glyphs)
    if cells is not None:
        return cells
    blocks: list[bytes] = []
    for block in cell_box.blocks:
        drawn, cache = cached_block(block, cache, seen, glyphs)
        blocks += drawn
    return blocks, cache


def draw_cells(
    cell_box: CellBox, cache: CacheState, glyphs: Container[bytes] = ()
) -> tuple[list[bytes], CacheState] | None:
    """KEEP and draw each cell the cache lacks (sparing `glyphs`), then one CELLS RECT of the whole
    box; None if too many are new, or there is no room for them beside the cells the box needs."""
    box, cells, digests = cell_box.box, cell_box.cells, cell_box.digests
    count, cell_h, cell_w = cells.shape
    offsets = [cache.offset_of(d) for d in digests]
    missing = {digests[i]: i for i in reversed(range(count)) if offsets[i] is None}  # each at its first place
    if len(missing) > NEW_CELLS_SHARE * count:
        return None
    keepable = KEEPABLE & cell_box.demand.encodings
    columns = box.w // cell_w
    messages: list[bytes] = []
    for cell_digest, index in sorted(missing.items(), key=lambda item: item[1]):
        offset, cache = cache.keep(cell_digest, cell_w * cell_h, glyphs)
        x, y = box.x + index % columns * cell_w, box.y + index // columns * cell_h
        encoding, payload = encode_best(cells[index], cell_box.big_endian, keepable)
        messages += (protocol.keep(offset), protocol.rect(x, y, cell_w, cell_h, encoding, payload))
    if missing:
        offsets = [cache.offset_of(d) for d in digests]
    if None in offsets:
        return None
    payload = cells_payload(cell_w, cell_h, offsets)  # type: ignore[arg-type]  # no None, checked above
    return [*messages, protocol.rect(*box, protocol.Encoding.CELLS, payload)], cache


def packetize(
    pixels: np.ndarray, update: Update, demand: Demand, big_endian: bool, quality: int = 0, grid: Grid | None = None
) -> Packet:
    """RECT messages for the update (its move first), each box in its smallest encoding (box_blocks);
    for a board that takes CELLS, boxes on the text `grid` also cut into its cells (cell_boxes)."""
    blocks: list[Block | CellBox] = []
    lossy: list[Box] = []
    cacheable = protocol.Encoding.CACHED in demand.encodings
    if update.move is not None:
        source = update.move.source
        move = protocol.copy_rect(update.move.x, update.move.y, source.w, source.h, source.x, source.y)
        blocks.append(Block(move, Box(update.move.x, update.move.y, source.w, source.h), None))
    # What the board shows as each box comes: RECOLOR maps it, and boxes may overlap earlier ones.
    shown = None
    if update.shown is not None and protocol.Encoding.RECOLOR in demand.encodings:
        shown = update.shown.copy()
    cells = grid if cells_fit(grid, demand) else None
    for box in update.boxes:
        text, rest = cells.split(box) if cells is not None else (None, [box])
        if text is not None:
            blocks += cell_boxes(pixels, text, demand, big_endian, cells)  # type: ignore[arg-type]
            shown = None  # cells draw more than the box: the board's picture is known again only per board
        for part in rest:
            drawn, approximate = box_blocks(pixels, part, demand, big_endian, quality, shown)
            blocks += drawn
            if approximate:
                lossy.append(part)
                shown = None  # the board shows this part only approximately from now on
            elif shown is not None:
                area = np.s_[part.y : part.y + part.h, part.x : part.x + part.w]
                shown[area] = pixels[area]
    plain = [b.message for b in blocks if isinstance(b, Block)]  # use_cache builds those with cells
    return Packet(b"".join(plain), len(plain), lossy, tuple(blocks) if cacheable else ())


def cells_fit(grid: Grid | None, demand: Demand) -> bool:
    """Whether the board takes CELLS of this grid: with its cache, and a buffer a cell fits raw in (as
    it is KEEPed)."""
    takes = {protocol.Encoding.CELLS, protocol.Encoding.CACHED} <= demand.encodings
    return takes and grid is not None and protocol.RECT_HEADER.size + 2 * grid.w * grid.h <= demand.max_body


def cell_boxes(pixels: np.ndarray, box: Box, demand: Demand, big_endian: bool, grid: Grid) -> list[CellBox]:
    """The cells covering a damage box inside the grid, in parts of whole cells whose CELLS RECT fits
    the board's buffer (bands of cell rows, split across too on a small buffer), each with the damage
    in it (for a board that gets blocks instead)."""
    cover = grid.cover(box)
    most_cells = (demand.max_body - protocol.RECT_HEADER.size - protocol.CELL_SIZE.size) // protocol.CACHE_OFFSET.size
    part_w = min(cover.w // grid.w, most_cells) * grid.w
    part_h = most_cells // (part_w // grid.w) * grid.h
    parts = []
    for top in range(cover.y, cover.y + cover.h, part_h):
        for left in range(cover.x, cover.x + cover.w, part_w):
            part = Box(left, top, min(part_w, cover.x + cover.w - left), min(part_h, cover.y + cover.h - top))
            cells = cell_pixels(pixels, part, grid.w, grid.h)
            parts.append(CellBox(part, cells, cell_digests(cells), overlap(box, part), pixels, demand, big_endian))
    return parts


def overlap(a: Box, b: Box) -> Box:
    """Where two boxes that meet overlap."""
    x, y = max(a.x, b.x), max(a.y, b.y)
    return Box(x, y, min(a.x + a.w, b.x + b.w) - x, min(a.y + a.h, b.y + b.h) - y)


def box_blocks(
    pixels: np.ndarray, box: Box, demand: Demand, big_endian: bool, quality: int, shown: np.ndarray | None
) -> tuple[list[Block], bool]:
    """The box as blocks split to the board's buffer, each in the smallest lossless encoding it
    takes; or as one RECOLOR of what it `shown`s where that is smaller; or, with a JPEG `quality`,
    photo-like boxes as JPEG where that is less than half the bytes (then True: approximate)."""
    cacheable = protocol.Encoding.CACHED in demand.encodings
    lossless = []
    for block in split_to_fit(box, demand.max_body):
        region = pixels[block.y : block.y + block.h, block.x : block.x + block.w]
        message = protocol.rect(*block, *encode_best(region, big_endian, demand.encodings))
        small = cacheable and block.w * block.h <= KEEP_MAX_PIXELS
        lossless.append(Block(message, block, digest(region) if small else None))
    size = sum(len(b.message) for b in lossless)
    recolored = recolor_block(pixels, shown, box, demand.max_body, big_endian, size)
    if recolored is not None:
        return [recolored], False
    photo = box.w * box.h >= LOSSY_MIN_PIXELS and size > LOSSY_WORTH * 2 * box.w * box.h
    jpeg = jpeg_messages(pixels, box, quality, demand.max_body) if photo and quality else None
    if jpeg is not None and 2 * sum(map(len, jpeg)) < size:
        return [Block(message, box, None) for message in jpeg], True
    return lossless, False


def recolor_block(
    pixels: np.ndarray, shown: np.ndarray | None, box: Box, max_body: int, big_endian: bool, lossless: int
) -> Block | None:
    """A RECOLOR RECT of the box, if what the board shows is known (None: not exactly, or the board
    cannot RECOLOR) and it takes fewer than the `lossless` bytes and fits the board's buffer. Per
    damage box, not over all of them: the board reads back only what changed."""
    if shown is None or lossless <= RECOLOR_MIN_BYTES:
        return None
    area = np.s_[box.y : box.y + box.h, box.x : box.x + box.w]
    limit = min(lossless, max_body) - protocol.RECT_HEADER.size
    payload = encode_recolor(shown[area], pixels[area], big_endian, limit)
    return Block(protocol.rect(*box, protocol.Encoding.RECOLOR, payload), box, None) if payload else None


def jpeg_messages(pixels: np.ndarray, box: Box, quality: int, max_body: int) -> list[bytes] | None:
    """JPEG RECTs covering the box: the whole box, else bands of whole 16-row MCUs halved until each
    fits the board's buffer; None if a single band does not fit."""
    payload = encode_jpeg(pixels[box.y : box.y + box.h, box.x : box.x + box.w], quality)
    if protocol.RECT_HEADER.size + len(payload) <= max_body:
        return [protocol.rect(*box, protocol.Encoding.JPEG, payload)]
    if box.h <= 16:
        return None
    top = max(16, box.h // 32 * 16)
    upper = jpeg_messages(pixels, Box(box.x, box.y, box.w, top), quality, max_body)
    lower = jpeg_messages(pixels, Box(box.x, box.y + top, box.w, box.h - top), quality, max_body)
    return upper + lower if upper is not None and lower is not None else None
