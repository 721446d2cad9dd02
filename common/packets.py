"""The RECT messages of an update: each block in the smallest encoding the board takes.

A COPY first when something moved, then every damage box split to the board's message body, each
block RAW, RUNS, LZ4 or RICE, whichever is smallest (common/encodings.py); or the whole box as one
RECOLOR of what the board shows there, where that is smaller (common/recolor.py: a dimmed or
re-themed area); with a JPEG quality, photo-like boxes as JPEG where that is less than half the
bytes. For a board with a bitmap cache, small blocks carry their digest, so `use_cache` can turn
blocks the board holds into CACHED RECTs.
"""

from __future__ import annotations

from collections.abc import Container
from typing import NamedTuple

import numpy as np

from common import protocol
from common.bitmap_cache import KEEP_MAX_PIXELS, CacheState, digest
from common.damage import Update, split_to_fit
from common.encodings import encode_best, encode_jpeg
from common.messages import Demand
from common.motion import Box
from common.recolor import encode_recolor

LOSSY_WORTH = 0.25  # JPEG is tried on a box whose lossless bytes exceed this share of RAW (photo-like)
LOSSY_MIN_PIXELS = 1024  # smaller boxes stay lossless: JPEG's tables alone are ~600 bytes
RECOLOR_MIN_BYTES = 96  # RECOLOR is tried on boxes that take more (a dimmed or re-themed area)


class Block(NamedTuple):
    """One RECT message of a packet, and for a block a bitmap cache may keep, its pixels' digest."""

    message: bytes
    box: Box
    digest: bytes | None


class Packet(NamedTuple):
    payload: bytes  # RECT messages
    rects: int
    lossy: list[Box]  # boxes sent as JPEG: the board shows them only approximately
    blocks: tuple[Block, ...] = ()  # the same messages, for a board with a bitmap cache (use_cache)


def use_cache(packet: Packet, cache: CacheState, seen: Container[bytes]) -> tuple[Packet, CacheState]:
    """The packet for a board whose cache holds `cache`: blocks it holds become CACHED RECTs, blocks
    `seen` before are kept (they come back: a clock's digits; what never did is not worth a place);
    and what its cache holds after this packet."""
    if not packet.blocks:
        return packet, cache
    messages = []
    for block in packet.blocks:
        offset = cache.offset_of(block.digest) if block.digest else None
        if offset is not None:
            messages.append(protocol.cached_rect(*block.box, offset))
        elif block.digest and block.digest in seen:
            offset, cache = cache.keep(block.digest, block.box.w * block.box.h)
            messages += (protocol.keep(offset), block.message)
        else:
            messages.append(block.message)
    return packet._replace(payload=b"".join(messages)), cache


def packetize(pixels: np.ndarray, update: Update, demand: Demand, big_endian: bool, quality: int = 0) -> Packet:
    """RECT messages for the update (its move first), each box in its smallest encoding (box_blocks)."""
    blocks: list[Block] = []
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
    for box in update.boxes:
        drawn, approximate = box_blocks(pixels, box, demand, big_endian, quality, shown)
        blocks += drawn
        if approximate:
            lossy.append(box)
            shown = None  # the board shows this box only approximately from now on
        elif shown is not None:
            shown[box.y : box.y + box.h, box.x : box.x + box.w] = pixels[box.y : box.y + box.h, box.x : box.x + box.w]
    payload = b"".join(b.message for b in blocks)
    return Packet(payload, len(blocks), lossy, tuple(blocks) if cacheable else ())


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
