"""The source side of the pipeline: push pictures for named displays, and run a painter as a stage.

`AttachedSource` is the SDK for a source of your own; `run_source` runs a built-in painter.

`FrameSender` is the whole SDK for a picture source (a built-in stage or your own script): give it
PIL images or uint8 RGB arrays for a display name; it numbers distinct pictures, skips unchanged
ones (a static picture costs nothing downstream), resends the current one every `refresh_s` so
restarted stages catch up, and never blocks: when the pipeline is busy the picture is dropped and
counted, and the next one goes instead.
"""

from __future__ import annotations

import argparse
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import zmq
from PIL import Image
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from common.config import Config, ConfigError, Display, Source, load
from common.control import TOPIC, Showing, decode_showing
from common.frame_header import FrameHeader, PixelFormat, frame_parts, shared_frame_parts
from common.shared_frames import SHARED_MIN_BYTES, PictureRing, room_for, same_machine
from common.stage import StageContext, run_stage

if TYPE_CHECKING:
    import numpy as np


class Painter(Protocol):
    def update(self) -> None: ...  # sample the world once per tick

    def draw(self, width: int, height: int) -> Image.Image: ...


class FrameSender:
    """Pushes a source's pictures into the pipeline: each new one at once, a standing one again every
    refresh_s. With `shared` (gather_frames is on this machine), big pictures go through the
    sender's ring in shared memory instead of the socket (common/shared_frames.py); `close` frees it."""

    def __init__(
        self,
        source: str,
        sock: zmq.SyncSocket,
        refresh_s: float = 1.0,
        registry: CollectorRegistry | None = None,
        shared: bool = False,
    ) -> None:
        self.source, self.sock, self.refresh_s, self.shared = source, sock, refresh_s, shared
        self.ring: PictureRing | None = None
        self.epoch = time.time_ns()
        self.seq = 0
        self.last: dict[str, tuple[bytes, FrameHeader, float]] = {}  # display -> RGB bytes, header, sent at
        registry = registry or CollectorRegistry()
        sent = Counter("tftstream_source_frames_sent_total", "Pictures pushed", ["source", "kind"], registry=registry)
        self.sent = {kind: sent.labels(source, kind) for kind in ("new", "refresh")}
        self.dropped = Counter(
            "tftstream_source_frames_dropped_total", "Pictures dropped: pipeline busy", ["source"], registry=registry
        ).labels(source)

    def send(self, display: str, picture: Image.Image | np.ndarray, captured_ns: int | None = None) -> bool:
        """Offer the display's current picture; True if it went into the pipeline."""
        width, height, rgb = rgb_bytes(picture)
        previous = self.last.get(display)
        now = time.monotonic()
        if previous is not None and previous[0] == rgb and (previous[1].width, previous[1].height) == (width, height):
            if now - previous[2] < self.refresh_s:
                return False
            header, kind = previous[1], "refresh"
        else:
            captured = captured_ns if captured_ns is not None else time.time_ns()
            header = FrameHeader(
                display, self.source, self.epoch, self.seq + 1, captured, width, height, PixelFormat.RGB888
            )
            kind = "new"
        if self.shared and not self.sock.poll(0, zmq.POLLOUT):  # no ring slot spent on a picture that cannot go
            self.dropped.inc()
            return False
        try:
            self.sock.send_multipart(self._parts(header, rgb), flags=zmq.NOBLOCK, copy=False)
        except zmq.Again:
            self.dropped.inc()
            return False
        self.seq = header.seq if kind == "new" else self.seq
        self.last[display] = (rgb, header, now)
        self.sent[kind].inc()
        return True

    def _parts(self, header: FrameHeader, rgb: bytes) -> list[bytes]:
        if not self.shared or len(rgb) < SHARED_MIN_BYTES:
            return frame_parts(header, rgb)
        if self.ring is None or self.ring.slot_bytes < len(rgb):
            self.close()
            if not room_for(len(rgb)):
                self.shared = False  # too little shared memory here: inline, as from another machine
                return frame_parts(header, rgb)
            self.ring = PictureRing(len(rgb), os.getpid())
        return shared_frame_parts(header, self.ring.put(rgb))

    def close(self) -> None:
        if self.ring is not None:
            self.ring.close()
            self.ring = None


def rgb_bytes(picture: Image.Image | np.ndarray) -> tuple[int, int, bytes]:
    """(width, height, RGB888 rows top to bottom) of a PIL image or a uint8 (height, width, 3) array.

    Bytes, not a numpy array: a painter that draws with Pillow never loads numpy (~0.05 s of CPU at
    start, when every stage starts on the same cores); a copy, so a caller may reuse its array."""
    if isinstance(picture, Image.Image):
        rgb = picture if picture.mode == "RGB" else picture.convert("RGB")
        return rgb.width, rgb.height, rgb.tobytes()
    import numpy as np  # whoever passes an array has loaded it already

    array = np.ascontiguousarray(picture, np.uint8)
    if array.ndim != 3 or array.shape[2] != 3:
        raise ValueError(f"expected an RGB picture of shape (height, width, 3), got {array.shape}")
    return array.shape[1], array.shape[0], array.tobytes()


def connect_sender(context: zmq.Context, endpoint: str, name: str, refresh_s: float = 1.0, hwm: int = 2) -> FrameSender:
    """A FrameSender on its own PUSH socket connected to gather_frames (a source outside supervisord)."""
    sock = context.socket(zmq.PUSH)
    sock.setsockopt(zmq.LINGER, 0)
    sock.setsockopt(zmq.SNDHWM, hwm)
    sock.connect(endpoint)
    return FrameSender(name, sock, refresh_s, shared=same_machine(endpoint))


class AttachedSource:
    """Your own picture source, attached to a running pipeline (see examples/):

        with AttachedSource("myclock") as source:
            source.show("main", image)  # a PIL image or uint8 RGB array, any size

    The display switches to it on the first picture and back to its configured source a few
    seconds after this object is closed (or the process dies). The current pictures are resent
    every refresh_s from a background thread, so a picture shown once stays attached.
    """

    def __init__(self, name: str, config: str | Path = "tftstream.toml", refresh_s: float = 1.0) -> None:
        endpoint = load(config).endpoints.sources
        self._context = zmq.Context()
        self._sender = connect_sender(self._context, endpoint, name, refresh_s)
        self._lock = threading.Lock()
        self._closed = threading.Event()
        self._pictures: dict[str, Image.Image | np.ndarray] = {}
        threading.Thread(target=self._refresh, args=(refresh_s,), daemon=True).start()

    def show(self, display: str, picture: Image.Image | np.ndarray) -> bool:
        """Offer a picture for the display; False when unchanged or the pipeline was busy."""
        with self._lock:
            self._pictures[display] = picture
            return self._sender.send(display, picture)

    def _refresh(self, refresh_s: float) -> None:
        while not self._closed.wait(refresh_s / 2):
            with self._lock:
                for display, picture in self._pictures.items():
                    self._sender.send(display, picture)

    def close(self) -> None:
        self._closed.set()
        with self._lock:
            self._context.destroy(linger=0)
            self._sender.close()

    def __enter__(self) -> AttachedSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Wanted:
    """Which displays want a picture from this source now, from encode_damage's control messages.

    Until the first message arrives (encode_damage starting), the displays configured to show the
    source want it, so a fresh pipeline shows pictures without waiting for the control channel.
    """

    def __init__(self, source: Source, displays: tuple[Display, ...]) -> None:
        self.source = source.name
        self.displays = {d.name: d for d in displays}
        self.waiting = {d.name: 1 for d in displays if d.source == source.name}

    def update(self, showing: Showing) -> None:
        if showing.display not in self.displays:
            return
        if showing.source == self.source:
            self.waiting[showing.display] = showing.waiting
        else:
            self.waiting.pop(showing.display, None)

    def now(self) -> list[Display]:
        return [self.displays[name] for name, waiting in self.waiting.items() if waiting]


def run_source(kind: str, make_painter: Callable[[Source], Painter], argv: list[str] | None) -> int:
    """Run a painter as a source process: `python -m stages.<module> --source NAME` (default: kind).

    It draws at most every interval_s, and only for displays that show it while a board waits for
    a newer frame: with nobody watching it costs nothing, and capture follows the boards' frame rate.
    """

    def add_arguments(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--source", default=kind, help="the [sources.NAME] table to run (default: %(default)s)")

    def source_of(config: Config, args: argparse.Namespace) -> Source:
        source = config.sources.get(args.source)
        if source is None or source.kind != kind:
            raise ConfigError(
                f"{config.path}: sources.{args.source}.kind: expected {kind!r}, got {source and source.kind!r}"
            )
        return source

    def loop(ctx: StageContext) -> None:
        source = source_of(ctx.config, ctx.args)
        painter = make_painter(source)
        endpoint = ctx.config.endpoints.sources
        sender = FrameSender(
            source.name,
            ctx.socket(zmq.PUSH, endpoint, bind=False, hwm=2),
            source.refresh_s,
            ctx.registry,
            shared=same_machine(endpoint),
        )
        control = ctx.socket(zmq.SUB, ctx.config.endpoints.control, bind=False, hwm=100)
        control.setsockopt(zmq.SUBSCRIBE, TOPIC)
        draw_seconds = Histogram(
            "tftstream_source_draw_seconds", "Time to sample and draw one tick", ["source"], registry=ctx.registry
        ).labels(source.name)
        wanted = Wanted(source, ctx.config.displays)
        waiting = Gauge(
            "tftstream_source_displays_waiting",
            "Displays showing this source while a board waits for a frame (0: it draws nothing)",
            ["source"],
            registry=ctx.registry,
        ).labels(source.name)
        next_tick = time.monotonic()
        # A display's first picture that the pipeline did not take (at start its connections are
        # still being made) goes as soon as the pipeline can take it, instead of at the next tick.
        first: dict[str, tuple[Image.Image, int]] = {}
        poller = ctx.poller()
        poller.register(control, zmq.POLLIN)
        try:
            while not ctx.stop.is_set():
                displays = wanted.now()
                waiting.set(len(displays))
                names = {display.name for display in displays}
                first = {name: offer for name, offer in first.items() if name in names and name not in sender.last}
                if first and sender.sock.poll(0, zmq.POLLOUT):
                    for name, (picture, captured) in first.items():
                        sender.send(name, picture, captured)
                if displays and time.monotonic() >= next_tick:
                    started = time.perf_counter()
                    painter.update()
                    for display in displays:
                        picture, captured = painter.draw(display.width, display.height), time.time_ns()
                        if not sender.send(display.name, picture, captured) and display.name not in sender.last:
                            first[display.name] = (picture, captured)
                    draw_seconds.observe(time.perf_counter() - started)
                    next_tick = max(next_tick + source.interval_s, time.monotonic())
                timeout = int(max(0.0, next_tick - time.monotonic()) * 1000) + 1 if displays else None
                poller.register(sender.sock, zmq.POLLOUT if first else 0)
                if control in dict(poller.poll(timeout)):
                    while control.poll(0):
                        try:
                            wanted.update(decode_showing(control.recv_multipart()))
                        except ValueError as error:
                            ctx.log.warning("ignored a control message: %s", error)
        finally:
            sender.close()  # its ring in shared memory

    return run_stage(
        f"source_{kind}",
        loop,
        argv,
        f"The {kind} picture source",
        add_arguments,
        lambda config, args: source_of(config, args).metrics_port,
    )
