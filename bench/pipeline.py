"""The pipeline's stages run in one process, in order, on one picture at a time: what the benchmarks time.

`Pipeline.step(painter)` draws a picture and takes it through every stage's real code with no sockets:
FrameSender.send into a stand-in socket, decode_frame (gather), correct_frame + encode_frame (color),
DamageEncoder.on_frame + the board's next on_demand (damage), decode_packet + FRAME_BEGIN/END (egress).
One board (16 KB buffer, RAW and RUNS) always holds the previous frame, so each answer is one frame's damage.
Each stage is timed with time.process_time(); ZeroMQ hops are left out (bench.stages measures them apart).
"""

from __future__ import annotations

import os
import platform
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import cpuinfo
import numpy as np
import PIL
import psutil
import zmq
from PIL import Image
from prometheus_client import CollectorRegistry

from common import protocol
from common.config import BUILTIN_SOURCES, Config, load
from common.frames import decode_frame, encode_frame
from common.messages import Demand, decode_packet, encode_demand
from common.source import FrameSender
from stages.correct_color import correct_frame, make_correctors
from stages.encode_damage import DamageEncoder, make_metrics

BOARD_MAX_BODY = 16384  # what the reference board offers in its HELLO
TICK_S = 1 / 30  # encoder clock per picture
STAGES = ("draw", "send", "gather", "correct", "damage", "egress")


class Ticker(Protocol):
    """A painter (common.source.Painter) or any picture sequence: update() ticks, draw() gives the picture."""

    def update(self) -> None: ...

    def draw(self, width: int, height: int) -> Image.Image | np.ndarray: ...


class Collect:
    """Stands in for the source's PUSH socket: keeps the last message instead of sending it."""

    parts: list | None = None

    def send_multipart(self, parts: list, flags: int = 0, copy: bool = True) -> None:
        self.parts = parts


@dataclass
class Step:
    """One tick: CPU ms per stage; for a picture the source sent, what the board was sent and why."""

    cpu_ms: dict[str, float] = field(default_factory=dict)
    wire: bytes | None = None  # FRAME_BEGIN + RECT messages + FRAME_END; None: the source skipped an unchanged picture
    rgb: np.ndarray | None = None  # the picture as drawn, uint8 (h, w, 3)
    values: np.ndarray | None = None  # the picture as corrected, uint16 (h, w) RGB565
    rects: int = 0

    @contextmanager
    def timed(self, stage: str) -> Iterator[None]:
        start = time.process_time()
        yield
        self.cpu_ms[stage] = (time.process_time() - start) * 1000


def bench_config(source: str, width: int, height: int, dither: bool = False, lossy_quality: int = 0) -> Config:
    """One display showing `source` with the default profile (dither off), or with dither, lossless or
    with a JPEG quality; defaults for the rest."""
    text = f'[[displays]]\nname = "{source}"\nwidth = {width}\nheight = {height}\nsource = "{source}"\n'
    text += f"lossy_quality = {lossy_quality}\n"
    if dither:
        text += 'profile = "dithered"\n\n[profiles.dithered]\ndither = true\n'
    if source not in BUILTIN_SOURCES:
        text += f'\n[sources.{source}]\nkind = "external"\n'
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder, "bench.toml")
        path.write_text(text)
        return load(path)


class Pipeline:
    """Source, gather, color, damage and egress for one display and the one board that shows it."""

    def __init__(self, source: str, width: int, height: int, dither: bool = False, lossy_quality: int = 0) -> None:
        self.source, self.width, self.height = source, width, height
        config = bench_config(source, width, height, dither, lossy_quality)
        self.big_endian = config.displays[0].profile.big_endian
        self.encoder = DamageEncoder(config, make_metrics(CollectorRegistry()))
        self.correctors = make_correctors(config.displays)
        self.sock = Collect()
        self.sender = FrameSender(source, self.sock, refresh_s=1e9, registry=CollectorRegistry())  # type: ignore[arg-type]
        self.ticket = 0
        self.now = 0.0  # the encoder's clock: a tick per picture, so a lossy frame is never "still" mid-run
        self.encoder.clock = lambda: self.now
        self.encoder.on_demand(self._demand(None))  # the board connects and waits for its first frame

    def _demand(self, have: tuple[int, int] | None) -> bytes:
        return encode_demand(Demand("bench", self.ticket, self.source, have, protocol.ALL_ENCODINGS, BOARD_MAX_BODY))

    def accept(self) -> bytes:
        """The ACCEPT the egress sends this board before its first frame."""
        return protocol.accept(protocol.Accept(self.big_endian, protocol.ALL_ENCODINGS, BOARD_MAX_BODY, 1000, 4000))

    def refresh(self) -> bytes:
        """The frame the board gets once the picture stood still (a lossless redraw of JPEG areas)."""
        self.now += 60
        packets = self.encoder.expire(self.now)
        if not packets:
            return b""
        answer, payload = decode_packet(packets[0])
        return protocol.frame_begin(answer.seq) + payload + protocol.frame_end(answer.seq)

    def step(self, painter: Ticker) -> Step:
        """One tick of the painter, drawn and taken through every stage."""
        step = Step()
        with step.timed("draw"):
            painter.update()
            image = painter.draw(self.width, self.height)
        return self.push(image, step)

    def push(self, image: Image.Image | np.ndarray, step: Step | None = None) -> Step:
        """A picture taken through every stage from the source's send on."""
        step = step or Step()
        self.sock.parts = None
        with step.timed("send"):
            sent = self.sender.send(self.source, image)
        if not sent or self.sock.parts is None:
            return step
        parts = self.sock.parts
        with step.timed("gather"):
            _, step.rgb = decode_frame(parts)
        with step.timed("correct"):
            header, step.values = correct_frame(self.correctors, parts)
            parts = encode_frame(header, step.values)
        with step.timed("damage"):
            self.now += TICK_S
            (packet,) = self.encoder.on_frame(parts)  # answers the waiting board
            have = decode_packet(packet)[0].key
            self.ticket += 1
            self.encoder.on_demand(self._demand(have))  # it asks again, having this frame
        with step.timed("egress"):
            answer, payload = decode_packet(packet)
            step.wire = protocol.frame_begin(answer.seq) + payload + protocol.frame_end(answer.seq)
        step.rects = answer.rects
        return step


def machine() -> str:
    try:
        brand = str(cpuinfo.get_cpu_info().get("brand_raw", ""))
    except Exception:  # cpuinfo fails in platform-specific ways; the name is only a label
        brand = ""
    return (
        f"{brand or platform.processor() or platform.machine()}, {os.cpu_count()} logical / "
        f"{psutil.cpu_count(logical=False)} physical cores, {platform.system()} {platform.machine()}\n"
        f"Python {platform.python_version()}, numpy {np.__version__}, Pillow {PIL.__version__}, "
        f"pyzmq {zmq.__version__}, libzmq {zmq.zmq_version()}"
    )
