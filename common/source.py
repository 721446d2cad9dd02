"""The source side of the pipeline: push pictures for named displays, and run a painter as a stage.

`FrameSender` is the whole SDK for a picture source (a built-in stage or your own script): give it
PIL images or uint8 RGB arrays for a display name; it numbers distinct pictures, skips unchanged
ones (a static picture costs nothing downstream), resends the current one every `refresh_s` so
restarted stages catch up, and never blocks: when the pipeline is busy the picture is dropped and
counted, and the next one goes instead.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Protocol

import numpy as np
import zmq
from PIL import Image
from prometheus_client import CollectorRegistry, Counter, Histogram

from common.frames import FrameHeader, PixelFormat, encode_frame
from common.stage import StageContext, run_stage


class Painter(Protocol):
    def update(self) -> None: ...  # sample the world once per tick

    def draw(self, width: int, height: int) -> Image.Image: ...


class FrameSender:
    def __init__(
        self, source: str, sock: zmq.SyncSocket, refresh_s: float = 1.0, registry: CollectorRegistry | None = None
    ) -> None:
        self.source, self.sock, self.refresh_s = source, sock, refresh_s
        self.epoch = time.time_ns()
        self.seq = 0
        self.last: dict[str, tuple[np.ndarray, FrameHeader, float]] = {}  # display -> picture, header, sent at
        registry = registry or CollectorRegistry()
        prefix = f"tftstream_draw_{source}"
        self.sent = Counter(f"{prefix}_frames_sent_total", "Pictures pushed", ["kind"], registry=registry)
        self.dropped = Counter(f"{prefix}_frames_dropped_total", "Pictures dropped: pipeline busy", registry=registry)
        for kind in ("new", "refresh"):
            self.sent.labels(kind)

    def send(self, display: str, picture: Image.Image | np.ndarray, captured_ns: int | None = None) -> bool:
        """Offer the display's current picture; True if it went into the pipeline."""
        rgb = np.asarray(picture.convert("RGB") if isinstance(picture, Image.Image) else picture, np.uint8)
        previous = self.last.get(display)
        now = time.monotonic()
        if previous is not None and np.array_equal(previous[0], rgb):
            if now - previous[2] < self.refresh_s:
                return False
            header, kind = previous[1], "refresh"
        else:
            height, width = rgb.shape[:2]
            captured = captured_ns if captured_ns is not None else time.time_ns()
            header = FrameHeader(
                display, self.source, self.epoch, self.seq + 1, captured, width, height, PixelFormat.RGB888
            )
            kind = "new"
        try:
            self.sock.send_multipart(encode_frame(header, rgb), flags=zmq.NOBLOCK, copy=False)
        except zmq.Again:
            self.dropped.inc()
            return False
        self.seq = header.seq if kind == "new" else self.seq
        self.last[display] = (rgb, header, now)
        self.sent.labels(kind).inc()
        return True


def run_source(name: str, make_painter: Callable[[], Painter], argv: list[str] | None) -> int:
    """Run a painter as the stage `draw_<name>`, drawing for every display configured to show it."""

    def loop(ctx: StageContext) -> None:
        settings = ctx.config.sources[name]
        sock = ctx.socket(zmq.PUSH, ctx.config.endpoints.sources, bind=False, hwm=2)
        sender = FrameSender(name, sock, settings.refresh_s, ctx.registry)
        draw_seconds = Histogram(
            f"tftstream_draw_{name}_draw_seconds", "Time to sample and draw one tick", registry=ctx.registry
        )
        painter = make_painter()
        displays = ctx.config.displays_showing(name)
        if not displays:
            ctx.log.info("no display shows %s; idle", name)
        next_tick = time.monotonic()
        while not ctx.stop.is_set():
            started = time.perf_counter()
            if displays:
                painter.update()
                for display in displays:
                    sender.send(display.name, painter.draw(display.width, display.height))
            draw_seconds.observe(time.perf_counter() - started)
            next_tick += settings.interval_s
            ctx.stop.wait(max(0.0, next_tick - time.monotonic()))
            next_tick = max(next_tick, time.monotonic() - settings.interval_s)

    return run_stage(f"draw_{name}", loop, argv, f"Draw the {name} source")
