"""Encode damage: turns the newest RGB565 picture of each display into wire packets per board.

Consumes corrected frames (PULL, bound at `pipeline.frames`, from any number of color workers) and
board demands from the egress (PULL, bound at `pipeline.demands`: "board B shows frame K of display
D, send me something newer"). Produces, per demand, the RECT messages that take that board from
the frame it has to the newest one (PUSH to `pipeline.packets`): for a board that can COPY, first
the box that moved (common/motion.py); then exact damage against that, merged when that saves
bytes, split to the board's buffer, each block RAW, RUNS or LZ4, whichever is smallest. On a
display with `lossy_quality`, photo-like boxes go as JPEG while the picture changes; the answer's
key is then (epoch, -n), "frame n, partly approximate", and once the picture has stood still the
board gets those boxes again losslessly. Workers may finish out of order: a picture that comes
before an earlier one of its source waits for it, a frame time at most (common/reorder.py); one
that comes later still, older than the newest, is dropped as stale. Everything is cached per
frame pair and board kind, so many boards on one display cost little more than one.
"""

from __future__ import annotations

import math
import sys
import time
from collections import OrderedDict
from collections.abc import Container
from dataclasses import dataclass, field, replace
from typing import NamedTuple

import numpy as np
import zmq
from prometheus_client import CollectorRegistry, Counter, Histogram

from common import protocol
from common.bitmap_cache import EMPTY, KEEP_MAX_PIXELS, CacheState, digest
from common.config import Config, Display
from common.control import (
    ATTACHED_TIMEOUT_S,
    Showing,
    SourceChoice,
    Switch,
    decode_switch,
    encode_showing,
    is_switch,
)
from common.encodings import encode_best, encode_jpeg
from common.frames import REASONS, FrameHeader, PixelFormat, SchemaError, decode_frame, encode_frame
from common.messages import Demand, PacketHeader, decode_demand, encode_packet
from common.motion import Box, Move, SearchBackoff, find_move
from common.reorder import Released, Reorder
from common.stage import StageContext, run_stage

TILE = 16
HISTORY = 8
PUBLISH_EVERY_S = 0.5
RECT_OVERHEAD = protocol.HEADER.size + protocol.RECT_HEADER.size
MAX_SPLIT = 8  # a sparse box is split into at most this many strips
LOSSY_WORTH = 0.25  # JPEG is tried on a box whose lossless bytes exceed this share of RAW (photo-like)
LOSSY_MIN_PIXELS = 1024  # smaller boxes stay lossless: JPEG's tables alone are ~600 bytes
REFRESH_AFTER_S = 0.25  # a frame sent partly as JPEG is redrawn exactly once it stood still this long
REFRESH_POLL_MS = 50
BLOCKS_SEEN = 4096  # digests of recent small blocks remembered: a block seen again is kept in a board's cache


class Update(NamedTuple):
    """What takes a board from one picture to another: an optional move, then the damage boxes."""

    move: Move | None
    boxes: list[Box]

    @property
    def raw_bytes(self) -> int:
        """RGB565 bytes of everything it changes, as if all were sent as pixels."""
        moved = [self.move.source] if self.move else []
        return sum(2 * b.w * b.h for b in [*moved, *self.boxes])


def plan_update(old: np.ndarray, new: np.ndarray, can_copy: bool, redraw: tuple[Box, ...] = ()) -> Update:
    """The damage from old to new, plus the `redraw` boxes; for a board that can COPY, first a move
    if it leaves less damage."""
    changed = old != new
    for box in redraw:
        changed[box.y : box.y + box.h, box.x : box.x + box.w] = True
    move = find_move(old, new, changed) if can_copy else None
    if move is not None:
        moved = move.apply(old)
        changed_after = moved != new
        if changed_after.sum() < changed.sum():
            return Update(move, _damage_boxes(changed_after, new))
    return Update(None, _damage_boxes(changed, new))


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


def _union(a: Box, b: Box) -> Box:
    x0, y0 = min(a.x, b.x), min(a.y, b.y)
    return Box(x0, y0, max(a.x + a.w, b.x + b.w) - x0, max(a.y + a.h, b.y + b.h) - y0)


def merge_boxes(boxes: list[Box], pixels: np.ndarray, reach: int = 8) -> list[Box]:
    """Merge neighbours (in reading order) whenever their union encodes to fewer bytes."""
    if len(boxes) < 2:
        return boxes
    area = boxes[0]
    for box in boxes[1:]:
        area = _union(area, box)
    cost_of = CostModel(pixels, area)
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
    """RECT messages for the update (its move first), each block in the smallest allowed lossless
    encoding; with a JPEG `quality`, photo-like boxes as JPEG where that is less than half the bytes."""
    blocks: list[Block] = []
    lossy: list[Box] = []
    cacheable = protocol.Encoding.CACHED in demand.encodings
    if update.move is not None:
        source = update.move.source
        move = protocol.copy_rect(update.move.x, update.move.y, source.w, source.h, source.x, source.y)
        blocks.append(Block(move, Box(update.move.x, update.move.y, source.w, source.h), None))
    for box in update.boxes:
        lossless = []
        for block in split_to_fit(box, demand.max_body):
            region = pixels[block.y : block.y + block.h, block.x : block.x + block.w]
            message = protocol.rect(*block, *encode_best(region, big_endian, demand.encodings))
            small = cacheable and block.w * block.h <= KEEP_MAX_PIXELS
            lossless.append(Block(message, block, digest(region) if small else None))
        size = sum(len(b.message) for b in lossless)
        photo = box.w * box.h >= LOSSY_MIN_PIXELS and size > LOSSY_WORTH * 2 * box.w * box.h
        jpeg = jpeg_messages(pixels, box, quality, demand.max_body) if photo and quality else None
        if jpeg is not None and 2 * sum(map(len, jpeg)) < size:
            blocks += [Block(message, box, None) for message in jpeg]
            lossy.append(box)
        else:
            blocks += lossless
    payload = b"".join(b.message for b in blocks)
    return Packet(payload, len(blocks), lossy, tuple(blocks) if cacheable else ())


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


@dataclass
class Picture:
    header: FrameHeader
    pixels: np.ndarray


@dataclass
class Layer:
    """A region's current picture, and when its source last sent (it lapses when the source stops)."""

    box: Box
    picture: Picture
    heard: float


@dataclass
class DisplayState:
    """One display: the pictures its sources sent, composed into numbered frames, and the boards
    waiting for a newer frame. Frame keys are (epoch of this process, counter), so boards that
    hold a frame from before a restart get a full picture."""

    display: Display
    choice: SourceChoice
    epoch: int = field(default_factory=time.time_ns)
    main: Picture | None = None  # newest picture of the source that has the whole display
    layers: dict[str, Layer] = field(default_factory=dict)  # region source -> its picture
    seen: dict[str, tuple[int, int]] = field(default_factory=dict)  # source -> newest order key
    history: OrderedDict[tuple[int, int], Picture] = field(default_factory=OrderedDict)
    waiting: dict[str, Demand] = field(default_factory=dict)  # board id -> its unanswered demand
    updates: dict[tuple, Update] = field(default_factory=dict)  # (from frame, can copy) -> update to latest
    packets: dict[tuple, Packet] = field(default_factory=dict)
    motion_search: SearchBackoff = field(default_factory=SearchBackoff)
    # (epoch, -counter) -> boxes of frame `counter` that went out as JPEG: what a board holding
    # that key shows only approximately, until a lossless refresh.
    lossy_sent: dict[tuple[int, int], list[Box]] = field(default_factory=dict)
    composed_at: float = 0.0
    # board id -> frame key -> what the board's bitmap cache holds once it shows that frame
    caches: dict[str, OrderedDict[tuple[int, int], CacheState]] = field(default_factory=dict)
    blocks_seen: OrderedDict[bytes, None] = field(default_factory=OrderedDict)  # digests of recent small blocks

    @property
    def latest(self) -> Picture | None:
        return next(reversed(self.history.values()), None)

    def region_box(self, source: str) -> Box | None:
        region = self.display.region(source)
        return Box(*self.display.panel_box(region)) if region else None

    def expire(self, now: float) -> bool:
        """Drop layers whose source fell silent; True if the picture changed."""
        lapsed = [source for source, layer in self.layers.items() if now - layer.heard > ATTACHED_TIMEOUT_S]
        for source in lapsed:
            del self.layers[source]
        return bool(lapsed) and self.compose(now)

    def compose(self, now: float) -> bool:
        """A new frame from the main picture with every live layer on top; False if nothing to show."""
        if self.main is None and not self.layers:
            return False
        width, height = self.display.panel_size
        base = self.main.pixels if self.main else np.zeros((height, width), np.uint16)
        pixels = base.copy() if self.layers else base
        for layer in self.layers.values():
            b = layer.box
            pixels[b.y : b.y + b.h, b.x : b.x + b.w] = layer.picture.pixels
        newest = max(
            [p.header for p in (self.main, *(la.picture for la in self.layers.values())) if p],
            key=lambda h: h.captured_ns,
        )
        seq = self.latest.header.seq + 1 if self.latest else 1
        header = replace(
            newest,
            source=self.main.header.source if self.main else newest.source,
            epoch=self.epoch,
            seq=seq,
            width=width,
            height=height,
        )
        self.history[header.order_key] = Picture(header, pixels)
        while len(self.history) > HISTORY:
            self.history.popitem(last=False)
        self.lossy_sent = {k: v for k, v in self.lossy_sent.items() if (k[0], -k[1]) in self.history}
        self.composed_at = now
        self.updates.clear()
        self.packets.clear()
        return True

    def board_has(self, key: tuple[int, int] | None) -> tuple[tuple[int, int] | None, list[Box]]:
        """The exact frame a board's key names (None: none still held) and the boxes it shows only
        approximately (sent as JPEG)."""
        exact, approximate = (key, []) if key not in self.lossy_sent else ((key[0], -key[1]), self.lossy_sent[key])
        return (exact, approximate) if exact in self.history else (None, [])

    def refresh_pending(self, demand: Demand, now: float) -> bool:
        """A board showing the newest frame partly as JPEG gets it exactly once the picture stood
        still for REFRESH_AFTER_S: while pictures keep coming, each is sent lossy instead."""
        exact, approximate = self.board_has(demand.have)
        latest = self.latest
        return (
            bool(approximate)
            and latest is not None
            and exact == latest.header.order_key
            and (now - self.composed_at < REFRESH_AFTER_S)
        )

    def answer(self, demand: Demand) -> tuple[Picture, Packet, int, tuple[int, int]]:
        """Packets from the board's frame to the newest, computed once per frame pair and board kind;
        with the raw RGB565 bytes of the damage they cover and the key the board will then hold."""
        latest = self.latest
        assert latest is not None
        have, approximate = self.board_has(demand.have)
        can_copy = protocol.Encoding.COPY in demand.encodings and not approximate
        if (demand.have, can_copy) not in self.updates:
            self.updates[(demand.have, can_copy)] = self._plan(have, approximate, can_copy)
        update = self.updates[(demand.have, can_copy)]
        key = (demand.have, demand.encodings, demand.max_body)
        fresh = key not in self.packets
        if fresh:
            refresh = have == latest.header.order_key  # a refresh is what makes the picture exact
            lossy = protocol.Encoding.JPEG in demand.encodings and not refresh
            quality = self.display.lossy_quality if lossy else 0
            self.packets[key] = packetize(latest.pixels, update, demand, self.display.profile.big_endian, quality)
        packet = self.packets[key]
        shows = latest.header.order_key
        if packet.lossy:
            shows = (shows[0], -shows[1])
            known = self.lossy_sent.setdefault(shows, [])
            known += [box for box in packet.lossy if box not in known]
        if protocol.Encoding.CACHED in demand.encodings:
            packet = self._use_cache(demand, packet, shows, fresh)
        return latest, packet, update.raw_bytes, shows

    def _use_cache(self, demand: Demand, packet: Packet, shows: tuple[int, int], fresh: bool) -> Packet:
        """The packet with the board's cache used, built on the cache the frame it has left behind
        (an answer the egress dropped never counts: the next demand names the frame the board has);
        a `fresh` packet's blocks then count as seen (once, however many boards get it)."""
        caches = self.caches.setdefault(demand.board, OrderedDict())
        before = caches.get(demand.have, EMPTY) if demand.have is not None else EMPTY
        packet, caches[shows] = use_cache(packet, before, self.blocks_seen)
        caches.move_to_end(shows)
        while len(caches) > HISTORY:
            caches.popitem(last=False)
        if not fresh:
            return packet
        for block in packet.blocks:
            if block.digest:
                self.blocks_seen[block.digest] = None
                self.blocks_seen.move_to_end(block.digest)
        while len(self.blocks_seen) > BLOCKS_SEEN:
            self.blocks_seen.popitem(last=False)
        return packet

    def _plan(self, have: tuple[int, int] | None, approximate: list[Box], can_copy: bool) -> Update:
        latest = self.latest
        assert latest is not None
        if have is None:
            return Update(None, [Box(0, 0, latest.pixels.shape[1], latest.pixels.shape[0])])
        old, redraw = self.history[have].pixels, tuple(approximate)
        if can_copy and self.motion_search.due():
            update = plan_update(old, latest.pixels, True, redraw)
            self.motion_search.found(update.move is not None)
            return update
        return plan_update(old, latest.pixels, False, redraw)


def make_metrics(registry: CollectorRegistry) -> dict:
    dropped = Counter("tftstream_encode_damage_dropped_total", "Messages not used", ["reason"], registry=registry)
    for reason in (*REASONS, "unknown_display", "wrong_size", "wrong_format", "inactive_source", "stale", "bad_demand"):
        dropped.labels(reason)
    held = Counter(
        "tftstream_encode_damage_held_frames_total",
        "Frames that came before an earlier one of their source and waited: until it came, or in vain",
        ["outcome"],
        registry=registry,
    )
    for outcome in ("reordered", "gave_up"):
        held.labels(outcome)
    return {
        "in": Counter("tftstream_encode_damage_frames_in_total", "Frames received", registry=registry),
        "repeats": Counter("tftstream_encode_damage_repeats_total", "Refreshes of a frame we had", registry=registry),
        "held": held,
        "dropped": dropped,
        "out": Counter("tftstream_encode_damage_packets_out_total", "Frame packets sent to boards", registry=registry),
        "lossy": Counter(
            "tftstream_encode_damage_lossy_packets_total",
            "Frame packets with JPEG areas (redrawn exactly once the picture stands still)",
            registry=registry,
        ),
        "skipped": Counter(
            "tftstream_encode_damage_frames_skipped_total",
            "Frames a board never got because a newer one was ready when it asked",
            registry=registry,
        ),
        "bytes": Histogram(
            "tftstream_encode_damage_frame_bytes",
            "Wire bytes per frame packet",
            buckets=(64, 256, 1024, 4096, 16384, 65536, 262144),
            registry=registry,
        ),
        "rects": Histogram(
            "tftstream_encode_damage_frame_rects",
            "RECT messages per packet",
            buckets=(1, 2, 4, 8, 16, 64, 256),
            registry=registry,
        ),
        "ratio": Histogram(
            "tftstream_encode_damage_encoding_ratio",
            "Raw RGB565 bytes of the damage divided by encoded bytes",
            buckets=(1, 1.5, 2, 4, 8, 16, 64),
            registry=registry,
        ),
        "seconds": Histogram(
            "tftstream_encode_damage_process_seconds",
            "Time to find and encode damage for one answer",
            buckets=(0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1),
            registry=registry,
        ),
    }


class DamageEncoder:
    """The stage's state and logic, driven by the loop (or by tests with plain values)."""

    def __init__(self, config: Config, metrics: dict) -> None:
        started_here = frozenset(name for name, source in config.sources.items() if source.kind != "external")
        self.displays = {d.name: DisplayState(d, SourceChoice(d.source, started_here)) for d in config.displays}
        self.metrics = metrics
        self.order: Reorder[tuple[FrameHeader, np.ndarray]] = Reorder()
        # The frames the last on_frame or expire call made of released pictures, oldest first: the tap's.
        self.composed: list[Picture] = []
        self.clock = time.monotonic  # when a picture arrived and a layer was last heard (the benchmark steps it)

    def showing(self) -> list[Showing]:
        return [Showing(name, s.choice.active, len(s.waiting)) for name, s in self.displays.items()]

    def on_frame(self, parts: list) -> list[list[bytes]]:
        """A corrected picture, put in its source's order: it goes on unless it waits for an earlier one,
        and it may release pictures that waited for it."""
        header, pixels = decode_frame(parts)
        return self._accept_all(self.order.push(header.source, header.order_key, (header, pixels), self.clock()))

    def _accept_all(self, released: list[Released[tuple[FrameHeader, np.ndarray]]]) -> list[list[bytes]]:
        """Each released picture in order, then the answers: a waiting board gets the newest frame they made."""
        self.composed = []
        changed: dict[str, DisplayState] = {}
        for (header, pixels), fate in released:
            if fate != "passed":
                self.metrics["held"].labels(fate).inc()
            state = self._accept(header, pixels)
            if state is not None:
                changed[state.display.name] = state
        return [packet for state in changed.values() for packet in self._answer_all(state)]

    def _accept(self, header: FrameHeader, pixels: np.ndarray) -> DisplayState | None:
        """The display's main picture or a region's; the display, if the picture made a new frame of it."""
        state = self.displays.get(header.display)
        box = state.region_box(header.source) if state else None
        if state is not None and box is None:
            state.choice.heard(header.source)
        reason = self._reject_reason(header, state, box)
        if reason:
            self.metrics["dropped"].labels(reason).inc()
            return None
        assert state is not None
        self.metrics["in"].inc()
        picture = Picture(header, pixels.copy())
        if box is not None:
            layer = state.layers.get(header.source)
            repeat = layer is not None and layer.picture.header.order_key == header.order_key
            state.layers[header.source] = Layer(box, layer.picture if repeat and layer else picture, self.clock())
        else:
            repeat = state.main is not None and state.main.header == header
            state.main = state.main if repeat else picture
        if repeat:
            self.metrics["repeats"].inc()
            return None
        state.seen[header.source] = header.order_key
        state.compose(self.clock())
        assert state.latest is not None  # composed of this picture at least
        self.composed.append(state.latest)
        return state

    def expire(self, now: float) -> list[list[bytes]]:
        """Pictures whose wait for an earlier one ended go on; regions whose source stopped give their
        place back to the main picture; boards showing a picture partly as JPEG get it exactly once it
        stood still."""
        out = self._accept_all(self.order.expire(now))
        out += [packet for state in self.displays.values() if state.expire(now) for packet in self._answer_all(state)]
        for state in self.displays.values():
            for board, demand in list(state.waiting.items()):
                if demand.have in state.lossy_sent and not state.refresh_pending(demand, now):
                    out += self._try_answer(state, board, now)
        return out

    def refreshes_pending(self) -> bool:
        return any(d.have in s.lossy_sent for s in self.displays.values() for d in s.waiting.values())

    def poll_ms(self) -> int:
        """How long the loop may wait for a message before `expire` has something to do (a held
        picture's wait ends, a lossy refresh may be due) or sources are told what is shown again."""
        timeout = REFRESH_POLL_MS if self.refreshes_pending() else int(PUBLISH_EVERY_S * 1000)
        deadline = self.order.deadline()
        return timeout if deadline is None else min(timeout, max(0, math.ceil((deadline - self.clock()) * 1000)))

    def _answer_all(self, state: DisplayState) -> list[list[bytes]]:
        return [packet for board in list(state.waiting) for packet in self._try_answer(state, board)]

    def _reject_reason(self, header: FrameHeader, state: DisplayState | None, box: Box | None) -> str | None:
        if state is None:
            return "unknown_display"
        if header.pixel_format != PixelFormat.RGB565:
            return "wrong_format"
        size = (box.w, box.h) if box else state.display.panel_size
        if (header.width, header.height) != size:
            return "wrong_size"
        if box is None and header.source != state.choice.active:
            return "inactive_source"
        seen = state.seen.get(header.source)
        if seen is not None and header.order_key < seen:
            return "stale"
        return None

    def on_switch(self, switch: Switch) -> None:
        state = self.displays.get(switch.display)
        if state is None:
            raise ValueError(f"switch for unknown display {switch.display!r}")
        state.choice.override = switch.source

    def on_demand(self, raw: bytes) -> list[list[bytes]]:
        if is_switch(raw):
            self.on_switch(decode_switch(raw))
            return []
        demand = decode_demand(raw)
        for other in self.displays.values():
            other.waiting.pop(demand.board, None)
            if demand.gone or other.display.name != demand.display:
                other.caches.pop(demand.board, None)
        state = self.displays.get(demand.display)
        if demand.gone or state is None:
            return []
        state.waiting[demand.board] = demand
        return self._try_answer(state, demand.board)

    def _try_answer(self, state: DisplayState, board: str, now: float | None = None) -> list[list[bytes]]:
        demand = state.waiting[board]
        latest = state.latest
        now = self.clock() if now is None else now
        if latest is None or latest.header.order_key == demand.have or state.refresh_pending(demand, now):
            return []
        del state.waiting[board]
        if demand.have is not None and demand.have in state.history:
            keys = list(state.history)
            self.metrics["skipped"].inc(len(keys) - 1 - keys.index(demand.have) - 1)
        started = time.perf_counter()
        picture, packet, raw_bytes, shows = state.answer(demand)
        self.metrics["seconds"].observe(time.perf_counter() - started)
        self.metrics["ratio"].observe(raw_bytes / max(1, len(packet.payload)))
        self.metrics["out"].inc()
        self.metrics["lossy"].inc(bool(packet.lossy))
        self.metrics["bytes"].observe(len(packet.payload))
        self.metrics["rects"].observe(packet.rects)
        h = picture.header
        header = PacketHeader(board, demand.ticket, h.display, shows, h.seq, h.captured_ns, packet.rects)
        return [encode_packet(header, packet.payload)]


def loop(ctx: StageContext) -> None:
    encoder = DamageEncoder(ctx.config, make_metrics(ctx.registry))
    frames = ctx.socket(zmq.PULL, ctx.config.endpoints.frames, bind=True, hwm=4)
    demands = ctx.socket(zmq.PULL, ctx.config.endpoints.demands, bind=True, hwm=1000)
    packets = ctx.socket(zmq.PUSH, ctx.config.endpoints.packets, bind=False, hwm=1000)
    tap = ctx.socket(zmq.PUB, ctx.config.endpoints.tap, bind=True, hwm=64) if ctx.config.endpoints.tap else None
    control = ctx.socket(zmq.PUB, ctx.config.endpoints.control, bind=True, hwm=100)
    poller = zmq.Poller()
    poller.register(frames, zmq.POLLIN)
    poller.register(demands, zmq.POLLIN)
    published: dict[str, tuple[str, bool]] = {}
    published_at = 0.0
    while not ctx.stop.is_set():
        published_at = publish_showing(control, encoder, published, published_at)
        out = encoder.expire(time.monotonic())
        publish_frames(tap, encoder.composed)
        ready = dict(poller.poll(encoder.poll_ms()))
        try:
            if demands in ready:
                out += encoder.on_demand(demands.recv())
            if frames in ready:
                out += encoder.on_frame(frames.recv_multipart(copy=False))
                publish_frames(tap, encoder.composed)
        except (SchemaError, ValueError) as error:
            reason = error.reason if isinstance(error, SchemaError) else "bad_demand"
            encoder.metrics["dropped"].labels(reason).inc()
            ctx.log.warning("dropped a malformed message: %s", error)
        for packet in out:
            try:
                packets.send_multipart(packet, flags=zmq.NOBLOCK)
            except zmq.Again:
                ctx.log.warning("egress is not taking packets; the board will ask again")


def publish_frames(tap: zmq.SyncSocket | None, frames: list[Picture]) -> None:
    """Each frame made, in order, to whoever watches the tap (bench.link, tests); PUB drops what a slow
    watcher does not take."""
    if tap is None:
        return
    for frame in frames:
        tap.send_multipart(encode_frame(frame.header, frame.pixels), flags=zmq.NOBLOCK, copy=False)


def publish_showing(control: zmq.SyncSocket, encoder: DamageEncoder, published: dict, published_at: float) -> float:
    """Tell sources what each display shows and whether a board waits: at once on a change, else
    every PUBLISH_EVERY_S (sources that start later, or missed a message, catch up)."""
    now = time.monotonic()
    periodic = now - published_at >= PUBLISH_EVERY_S
    for showing in encoder.showing():
        state = (showing.source, showing.waiting > 0)
        if periodic or published.get(showing.display) != state:
            control.send_multipart(encode_showing(showing), flags=zmq.NOBLOCK)
            published[showing.display] = state
    return now if periodic else published_at


def main(argv: list[str] | None = None) -> int:
    return run_stage("encode_damage", loop, argv, __doc__.splitlines()[0])


if __name__ == "__main__":
    sys.exit(main())
