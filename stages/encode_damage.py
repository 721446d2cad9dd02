"""Encode damage: turns the newest RGB565 picture of each display into wire packets per board.

Consumes corrected frames (PULL, bound at `pipeline.frames`, from any number of color workers) and
board demands from the egress (PULL, bound at `pipeline.demands`: "board B shows frame K of display
D, send me something newer"). Produces, per demand, the RECT messages that take that board from
the frame it has to the newest one (PUSH to `pipeline.packets`): for a board that can COPY, first
the box that moved (common/motion.py); then exact damage against that, merged when that saves
bytes (common/damage.py), split to the board's buffer, each block in the smallest encoding the
board takes, small ones from its bitmap cache where it holds them, or a recoloured box as one
RECOLOR of what the board shows there (common/packets.py). COPY and RECOLOR make the board read
its panel back; a display with `read_back = false` never gets them. On text on a grid (common/cells.py),
a board with a bitmap cache gets what changed as CELLS of the glyphs it holds instead, moved text
included: it then reads nothing back. On a
display with `lossy_quality`, photo-like boxes go as JPEG while the picture changes; the answer's
key is then (epoch, -n), "frame n, partly approximate", and once the picture has stood still the
board gets those boxes again losslessly. Workers may finish out of order: a picture that comes
before an earlier one of its source waits for it, a frame time at most (common/reorder.py); one
that comes later still, older than the newest, is dropped as stale. Everything is cached per
frame pair and board kind, so many boards on one display cost little more than one.
"""

from __future__ import annotations

import collections
import math
import sys
import time
from collections import OrderedDict
from dataclasses import dataclass, field, replace

import numpy as np
import zmq
from prometheus_client import CollectorRegistry, Counter, Histogram

from common import protocol
from common.bitmap_cache import EMPTY, CacheState
from common.cells import Grid, find_grid
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
from common.damage import Update, plan_update
from common.frames import REASONS, FrameHeader, PixelFormat, SchemaError, decode_frame, encode_frame
from common.messages import Demand, PacketHeader, decode_demand, encode_packet
from common.motion import Box, SearchBackoff
from common.packets import Packet, packetize, use_cache
from common.reorder import Released, Reorder
from common.stage import StageContext, run_stage

HISTORY = 8
PUBLISH_EVERY_S = 1.0  # the periodic "what is shown" (changes go at once): each look wakes every source
REFRESH_AFTER_S = 0.25  # a frame sent partly as JPEG is redrawn exactly once it stood still this long
REFRESH_POLL_MS = 50
# Encodings a board applies by reading its panel back: a display with `read_back = false` never gets them.
READ_BACK = frozenset({protocol.Encoding.COPY, protocol.Encoding.RECOLOR})
GRID_LOOK_SHARE = 4  # a text grid is looked for again when the damage covers a quarter of the picture
BLOCKS_SEEN = 4096  # digests of recent small blocks remembered: a block seen again is kept in a board's cache


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
    grid: Grid | None = None  # the text grid last looked for (common/cells.py), for boards that take CELLS
    grid_of: tuple[int, int] | None = None  # the frame it was looked for in

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
        cells = protocol.Encoding.CELLS in demand.encodings
        if (demand.have, can_copy, cells) not in self.updates:
            self.updates[(demand.have, can_copy, cells)] = self._plan(have, approximate, can_copy, cells)
        update = self.updates[(demand.have, can_copy, cells)]
        key = (demand.have, demand.encodings, demand.max_body)
        fresh = key not in self.packets
        if fresh:
            refresh = have == latest.header.order_key  # a refresh is what makes the picture exact
            lossy = protocol.Encoding.JPEG in demand.encodings and not refresh
            quality = self.display.lossy_quality if lossy else 0
            big_endian, grid = self.display.profile.big_endian, self.grid if cells else None
            self.packets[key] = packetize(latest.pixels, update, demand, big_endian, quality, grid)
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
        for block_digest in packet.block_digests():
            self.blocks_seen[block_digest] = None
            self.blocks_seen.move_to_end(block_digest)
        while len(self.blocks_seen) > BLOCKS_SEEN:
            self.blocks_seen.popitem(last=False)
        return packet

    def _plan(self, have: tuple[int, int] | None, approximate: list[Box], can_copy: bool, cells: bool) -> Update:
        """The update from the board's frame to the newest. On text for a board that takes CELLS, no
        move is looked for: what moved is redrawn from glyph cells the board holds, read back never."""
        latest = self.latest
        assert latest is not None
        height, width = latest.pixels.shape
        if have is None:
            if cells:
                self._look_for_grid()
            return Update(None, [Box(0, 0, width, height)])
        old, redraw = self.history[have].pixels, tuple(approximate)
        if can_copy and not (cells and self.grid is not None) and self.motion_search.due():
            update = plan_update(old, latest.pixels, True, redraw)
            self.motion_search.found(update.move is not None)
        else:
            update = plan_update(old, latest.pixels, False, redraw)
        if cells and sum(b.w * b.h for b in update.boxes) * GRID_LOOK_SHARE >= width * height:
            self._look_for_grid()
        return update

    def _look_for_grid(self) -> None:
        """Find the newest frame's text grid, once per frame; it is kept for the frames that follow."""
        latest = self.latest
        assert latest is not None
        if self.grid_of != latest.header.order_key:
            self.grid, self.grid_of = find_grid(latest.pixels, self.grid), latest.header.order_key


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
    by_encoding = Counter(
        "tftstream_encode_damage_rects_total",
        "RECT messages sent to boards, by encoding",
        ["encoding"],
        registry=registry,
    )
    for encoding in protocol.Encoding:
        by_encoding.labels(encoding.name)
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
        "by_encoding": by_encoding,
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
        if not state.display.read_back:
            demand = replace(demand, encodings=demand.encodings - READ_BACK)
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
        for encoding, count in collections.Counter(protocol.rect_encodings(packet.payload)).items():
            self.metrics["by_encoding"].labels(encoding.name).inc(count)
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
    poller = ctx.poller()
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
