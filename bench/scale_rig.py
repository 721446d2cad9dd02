"""The parts bench.scale drives: a throwaway config for gather_frames and correct_color on random loopback
ports, the 1920x1080 pictures, a feeder standing in for an external source, and a driver that feeds and
drains in one loop as encode_damage's stand-in.
"""

from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import zmq

from common.frames import FrameHeader, PixelFormat, decode_frame, encode_frame, shared_frame_parts
from common.reorder import Fate, Released, Reorder
from common.shared_frames import PictureRing
from common.source import FrameSender
from tests.harness import free_port

PICTURE = (1920, 1080)  # what a source captures
PANEL = (320, 240)  # what the display shows
PICTURES = 4  # distinct pictures, cycled: every frame differs from the one before
LOST_AFTER_S = 1.0  # a picture not out of the color stage by then was dropped on the way


@dataclass(frozen=True)
class Ports:
    sources: str = field(default_factory=lambda: f"tcp://127.0.0.1:{free_port()}")
    workers: str = field(default_factory=lambda: f"tcp://127.0.0.1:{free_port()}")
    frames: str = field(default_factory=lambda: f"tcp://127.0.0.1:{free_port()}")
    gather_metrics: int = field(default_factory=free_port)
    color_metrics: int = field(default_factory=free_port)  # worker 1 serves on port + 1, free too


def row_ports(transport: str, directory: Path) -> Ports:
    """Free ports; with `ipc`, Unix domain sockets in `directory` instead of TCP loopback: what the hops cost."""
    ports = Ports()
    if transport == "ipc":
        sources, workers, frames = (f"ipc://{directory}/{n}" for n in ("s", "w", "f"))
        ports = Ports(sources, workers, frames, ports.gather_metrics, ports.color_metrics)
    return ports


def write_config(directory: Path, ports: Ports) -> Path:
    """Only what gather_frames and correct_color read: one display, its source, the endpoints, metrics."""
    path = directory / "tftstream.toml"
    path.write_text(f"""
[[displays]]
name = "main"
width = {PANEL[0]}
height = {PANEL[1]}
source = "feed"
profile = "panel"

[profiles.panel]  # as the shipped tftstream.toml
gamma = 1.0
dither = false
byte_order = "big"

[sources.feed]    # no kind: an external source (this process)

[pipeline]
sources = "{ports.sources}"
workers = "{ports.workers}"
frames = "{ports.frames}"

[metrics]
host = "127.0.0.1"
[metrics.ports]
gather_frames = {ports.gather_metrics}
correct_color = {ports.color_metrics}
""")
    return path


def make_pictures() -> list[np.ndarray]:
    """Distinct 1920x1080 pictures: a gradient under noise, so the resize has real work everywhere."""
    rng = np.random.default_rng(6)
    width, height = PICTURE
    ramp = (np.add.outer(np.arange(height) / height, np.arange(width) / width) * 63).astype(np.uint8)
    pictures = []
    for k in range(PICTURES):
        rgb = rng.integers(0, 128, (height, width, 3), dtype=np.uint8)
        rgb += np.roll(ramp, 97 * k, axis=1)[..., np.newaxis]
        pictures.append(rgb)
    return pictures


class Feeder:
    """Pushes numbered pictures into gather_frames; never blocks (IMMEDIATE, NOBLOCK)."""

    def __init__(self, context: zmq.Context, endpoint: str, pictures: list[np.ndarray], kind: str) -> None:
        self.sock = context.socket(zmq.PUSH)
        for option, value in ((zmq.LINGER, 0), (zmq.SNDHWM, 2), (zmq.IMMEDIATE, 1)):
            self.sock.setsockopt(option, value)
        self.sock.connect(endpoint)
        self.pictures, self.epoch, self.seq = pictures, time.time_ns(), 0
        self.sender = FrameSender("feed", self.sock, refresh_s=60.0, shared=True) if kind == "sender" else None
        self.ring = PictureRing(pictures[0].nbytes, os.getpid()) if kind == "shared" else None

    def send(self) -> int | None:
        """The seq of the picture that went, or None when the pipeline did not take it."""
        picture = self.pictures[(self.seq + 1) % len(self.pictures)]
        if self.sender is not None:
            sent = self.sender.send("main", picture)
            self.seq = self.sender.seq
            return self.seq if sent else None
        header = FrameHeader("main", "feed", self.epoch, self.seq + 1, time.time_ns(), *PICTURE, PixelFormat.RGB888)
        if self.ring is not None and not self.sock.poll(0, zmq.POLLOUT):
            return None  # no copy into the ring for a picture that would not go
        parts = shared_frame_parts(header, self.ring.put(picture.data)) if self.ring else encode_frame(header, picture)
        try:
            self.sock.send_multipart(parts, flags=zmq.NOBLOCK, copy=False)
        except zmq.Again:
            return None
        self.seq += 1
        return self.seq

    def close(self) -> None:
        for owner in (self.ring, self.sender):
            if owner is not None:
                owner.close()


def bind_sink(context: zmq.Context, endpoint: str) -> zmq.Socket:
    """Where the color stage sends corrected frames, bound as encode_damage binds it."""
    sink = context.socket(zmq.PULL)
    sink.setsockopt(zmq.LINGER, 0)
    sink.setsockopt(zmq.RCVHWM, 4)  # as encode_damage
    sink.bind(endpoint)
    return sink


class Driver:
    """Feeds and drains: with `rate` 0, keeps `window` pictures in flight; else offers `rate` pictures per second
    whatever happens to them, as a capturing source does (gather drops what the workers cannot take). Drains as
    encode_damage takes frames: in their source's order, a frame that comes early waiting for the earlier one."""

    def __init__(self, feeder: Feeder, sink: zmq.Socket, window: int, rate: float) -> None:
        self.feeder, self.sink, self.window, self.rate = feeder, sink, window, rate
        self.sent: dict[int, float] = {}  # seq -> when it went, until it comes out or is given up
        self.order: Reorder[int] = Reorder()  # of seqs
        self.seen: list[tuple[float, int, Fate]] = []  # (when released, seq, how) of every corrected frame
        self.next_at = time.monotonic()

    def run(self, until: float, feed: bool = True) -> None:
        while (now := time.monotonic()) < until:
            for seq in [s for s, at in self.sent.items() if now - at > LOST_AFTER_S]:
                del self.sent[seq]  # dropped on the way: its credit goes back
            timeout_ms = 20
            if feed and self.rate:
                if now >= self.next_at:
                    self.next_at = max(self.next_at + 1 / self.rate, now - 1 / self.rate)
                    self._send()
                timeout_ms = max(0, min(timeout_ms, int((self.next_at - now) * 1000)))
            elif feed:
                while len(self.sent) < self.window and self._send():
                    pass
            if (deadline := self.order.deadline()) is not None:
                timeout_ms = max(0, min(timeout_ms, math.ceil((deadline - now) * 1000)))
            if self.sink.poll(timeout_ms):
                while self.sink.poll(0):
                    self._receive(self.sink.recv_multipart(copy=False))
            self._release(self.order.expire(time.monotonic()))

    def _receive(self, parts: list) -> None:
        """A corrected frame, taken as encode_damage's loop takes it: held frames whose wait ended go first."""
        header, _ = decode_frame(parts)
        if (header.width, header.height, header.pixel_format) != (*PANEL, PixelFormat.RGB565):
            raise RuntimeError(f"the color stage sent {header}, expected {PANEL} RGB565")
        self.sent.pop(header.seq, None)
        now = time.monotonic()
        self._release(self.order.expire(now) + self.order.push(header.source, header.order_key, header.seq, now))

    def _release(self, released: list[Released[int]]) -> None:
        now = time.monotonic()
        self.seen += [(now, seq, fate) for seq, fate in released]

    def _send(self) -> bool:
        seq = self.feeder.send()
        if seq is not None:
            self.sent[seq] = time.monotonic()
        return seq is not None
