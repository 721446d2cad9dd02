"""Per-stage CPU time and wire bytes per frame for the built-in sources: figures to compare, no pass/fail.

Each source draws a reproducible sequence (the CPU monitor from a seeded random walk of per-core loads, the
BIOS screen from a clock that advances 1 s per frame). Every stage's real logic then runs on it in this
process, in pipeline order, timed with time.process_time(); one board (16 KB buffer, RAW and RUNS) always
holds the previous frame, so each answer is the damage of one frame. ZeroMQ is left out of the stage
figures and measured apart: a frame makes three large hops (source, gather, color worker, damage encoder).

    python -m bench.stages [--frames 200] [--size 320x240] [--sources cpu_monitor,bios_screen]
"""

from __future__ import annotations

import argparse
import itertools
import os
import platform
import random
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import cpuinfo
import numpy as np
import PIL
import psutil
import zmq
from prometheus_client import CollectorRegistry

from common import protocol
from common.config import BUILTIN_SOURCES, Config, load
from common.frames import decode_frame, encode_frame
from common.messages import Demand, decode_packet, encode_demand
from common.source import FrameSender, Painter
from stages.correct_color import correct_frame, make_correctors
from stages.draw_bios_screen import BiosScreenPainter, Device
from stages.draw_cpu_monitor import CpuMonitorPainter, CpuSample
from stages.encode_damage import DamageEncoder, make_metrics

SEED = 2024
CORES = 8
BOARD_MAX_BODY = 16384  # what the reference board offers in its HELLO
LEGACY_CHUNK, LEGACY_HEADER = 8192, 12  # the original design: 12-byte header per 8 KB chunk of raw RGB565
STAGES = {
    "draw": "draw     painter.update + draw",
    "send": "send     FrameSender.send (to RGB, compare, encode_frame)",
    "gather": "gather   decode_frame",
    "correct": "correct  correct_frame + encode_frame",
    "damage": "damage   DamageEncoder.on_frame + on_demand",
    "egress": "egress   decode_packet + FRAME_BEGIN/END",
}


class Collect:
    """Stands in for the source's PUSH socket: keeps the last message instead of sending it."""

    parts: list | None = None

    def send_multipart(self, parts: list, flags: int = 0, copy: bool = True) -> None:
        self.parts = parts


@dataclass
class Run:
    cpu_ms: list[dict[str, float]] = field(default_factory=list)  # per frame drawn: stage -> CPU ms
    wire: list[int] = field(default_factory=list)  # bytes per frame written to the board
    original: list[int] = field(default_factory=list)  # bytes the original design would write
    rects: list[int] = field(default_factory=list)
    unchanged: int = 0  # frames FrameSender skipped as identical to the previous one

    @contextmanager
    def timed(self, stage: str) -> Iterator[None]:
        start = time.process_time()
        yield
        self.cpu_ms[-1][stage] = (time.process_time() - start) * 1000

    def stage_ms(self, stage: str) -> list[float]:
        return [frame[stage] for frame in self.cpu_ms if stage in frame]


def cpu_walk(seed: int, cores: int = CORES) -> Callable[[], CpuSample]:
    """A sampler whose per-core loads and frequency take seeded random steps."""
    rng = random.Random(seed)
    loads = [rng.uniform(0, 100) for _ in range(cores)]
    freq = [3000.0]

    def sample() -> CpuSample:
        loads[:] = [min(100.0, max(0.0, v + rng.gauss(0, 10))) for v in loads]
        freq[0] = min(4800.0, max(800.0, freq[0] + rng.gauss(0, 150)))
        return CpuSample(tuple(round(v, 1) for v in loads), sum(loads) / cores, round(freq[0], -1))

    return sample


def ticking_clock(start: datetime) -> Callable[[], datetime]:
    ticks = itertools.count()
    return lambda: start + timedelta(seconds=next(ticks))


def make_painter(source: str) -> Painter:
    if source == "cpu_monitor":
        return CpuMonitorPainter(sampler=cpu_walk(SEED), cpu_name="Bench CPU 9000")
    devices = (Device("Disk", "/dev/nvme0n1p2 ext4"), Device("NIC", "eth0"), Device("NIC", "wlan0"))
    clock = ticking_clock(datetime(2024, 1, 1, 23, 59, 30))
    return BiosScreenPainter(clock=clock, cpu_name="Bench CPU 9000", memory_bytes=16 << 30, devices=devices)


def original_bytes(old: np.ndarray | None, new: np.ndarray) -> int:
    """One bounding rectangle of every changed pixel, raw RGB565, a 12-byte header per 8 KB chunk."""
    changed = np.ones(new.shape, bool) if old is None else old != new
    if not changed.any():
        return 0
    ys, xs = np.flatnonzero(changed.any(axis=1)), np.flatnonzero(changed.any(axis=0))
    raw = 2 * int(ys[-1] - ys[0] + 1) * int(xs[-1] - xs[0] + 1)
    return raw + LEGACY_HEADER * -(-raw // LEGACY_CHUNK)


def demand(source: str, have: tuple[int, int] | None, ticket: int) -> bytes:
    return encode_demand(Demand("bench", ticket, source, have, protocol.ALL_ENCODINGS, BOARD_MAX_BODY))


def bench_config(source: str, width: int, height: int) -> Config:
    """One display showing `source` with the default profile (dither, big-endian); defaults for the rest."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder, "bench.toml")
        path.write_text(f'[[displays]]\nname = "{source}"\nwidth = {width}\nheight = {height}\nsource = "{source}"\n')
        return load(path)


def run_source(source: str, frames: int, width: int, height: int) -> Run:
    config = bench_config(source, width, height)
    encoder = DamageEncoder(config, make_metrics(CollectorRegistry()))
    correctors = make_correctors(config.displays)
    painter, sock = make_painter(source), Collect()
    sender = FrameSender(source, sock, refresh_s=1e9, registry=CollectorRegistry())  # type: ignore[arg-type]
    encoder.on_demand(demand(source, None, 0))  # the board connects and waits for its first frame
    run, previous = Run(), None
    for ticket in range(1, frames + 1):
        run.cpu_ms.append({})
        with run.timed("draw"):
            painter.update()
            image = painter.draw(width, height)
        with run.timed("send"):
            sent = sender.send(source, image)
        if not sent or sock.parts is None:
            run.unchanged += 1
            continue
        parts = sock.parts
        with run.timed("gather"):
            decode_frame(parts)
        with run.timed("correct"):
            header, values = correct_frame(correctors, parts)
            parts = encode_frame(header, values)
        with run.timed("damage"):
            (packet,) = encoder.on_frame(parts)  # answers the waiting board
            have = decode_packet(packet)[0].key
            encoder.on_demand(demand(source, have, ticket))  # it asks again, having this frame
        with run.timed("egress"):
            answer, payload = decode_packet(packet)
            data = protocol.frame_begin(answer.seq) + payload + protocol.frame_end(answer.seq)
        run.wire.append(len(data))
        run.rects.append(answer.rects)
        run.original.append(original_bytes(previous, values))
        previous = values
    return run


def zmq_hop(nbytes: int, count: int) -> tuple[list[float], list[float]]:
    """CPU ms (whole process: both ends and libzmq's I/O thread) and wall ms per [header, buffer] PUSH->PULL."""
    context = zmq.Context()
    try:
        pull, push = context.socket(zmq.PULL), context.socket(zmq.PUSH)
        for sock in (pull, push):
            sock.setsockopt(zmq.LINGER, 0)
        pull.setsockopt(zmq.RCVTIMEO, 5000)  # fail instead of hanging
        push.connect(f"tcp://127.0.0.1:{pull.bind_to_random_port('tcp://127.0.0.1')}")
        header, buffer = bytes(40), np.random.default_rng(SEED).integers(0, 256, nbytes, np.uint8)
        cpu, wall = [], []
        for _ in range(count + 1):  # the first one also connects
            cpu_start, wall_start = time.process_time(), time.perf_counter()
            push.send_multipart([header, buffer.data], copy=False)
            parts = pull.recv_multipart(copy=False)
            assert len(parts[1].buffer) == nbytes
            cpu.append((time.process_time() - cpu_start) * 1000)
            wall.append((time.perf_counter() - wall_start) * 1000)
        return cpu[1:], wall[1:]
    finally:
        context.destroy(linger=0)


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


def ms(values: list[float]) -> str:
    if not values:
        return f"{'-':>8}{'-':>8}"
    return f"{np.mean(values):8.3f}{np.percentile(values, 95):8.3f}"


def print_cpu(run: Run) -> None:
    print(f"{'stage (CPU ms per frame)':58}{'mean':>8}{'p95':>8}{'first':>8}")
    for stage, label in STAGES.items():
        values = run.stage_ms(stage)
        print(f"{label:58}{ms(values[1:])}{values[0]:8.3f}")
    totals = [sum(frame.values()) for frame in run.cpu_ms]
    print(f"{'all stages (without ZeroMQ hops)':58}{ms(totals[1:])}{totals[0]:8.3f}")


def print_bytes(run: Run) -> None:
    print(f"\n{'bytes per frame':34}{'first':>10}{'mean':>10}{'p50':>10}{'p95':>10}")
    for label, values in (
        ("tftstream v1 (damage, RAW/RUNS)", run.wire),
        ("original (bounding box, raw)", run.original),
    ):
        rest = values[1:] or [0]
        stats = (np.mean(rest), np.percentile(rest, 50), np.percentile(rest, 95))
        print(f"{label:34}{values[0]:10d}" + "".join(f"{v:10.0f}" for v in stats))
    ratio_mean = np.mean(run.original[1:] or [0]) / max(1.0, float(np.mean(run.wire[1:] or [0])))
    print(f"{'ratio original / v1':34}{run.original[0] / run.wire[0]:10.1f}{ratio_mean:10.1f}")
    print(f"RECT messages per changed frame: mean {np.mean(run.rects[1:] or [0]):.1f}, max {max(run.rects[1:] or [0])}")


def print_hops(frames: int, width: int, height: int) -> None:
    print(f"\n== ZeroMQ hop, tcp loopback, PUSH/PULL [header, buffer] copy=False ({frames} messages)")
    print(f"{'message':58}{'CPU mean':>8}{'p95':>8}{'wall':>8}")
    for what, nbytes, hops in (("RGB888", 3 * width * height, 2), ("RGB565", 2 * width * height, 1)):
        cpu, wall = zmq_hop(nbytes, frames)
        label = f"{what} {nbytes / 1024:.0f} KB ({hops} per frame in the pipeline)"
        print(f"{label:58}{ms(cpu)}{np.mean(wall):8.3f}")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser("python -m bench.stages", description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=200, help="frames per source (default: %(default)s)")
    parser.add_argument("--size", default="320x240", help="display WIDTHxHEIGHT (default: %(default)s)")
    parser.add_argument("--sources", default=",".join(BUILTIN_SOURCES), help="comma-separated (default: %(default)s)")
    args = parser.parse_args(argv)
    try:
        args.width, args.height = (int(v) for v in args.size.lower().split("x"))
    except ValueError:
        parser.error(f"--size: expected WIDTHxHEIGHT like 320x240, got {args.size!r}")
    args.sources = [s for s in args.sources.split(",") if s]
    unknown = [s for s in args.sources if s not in BUILTIN_SOURCES]
    if unknown or not args.sources or args.frames < 2 or min(args.width, args.height) < 8:
        parser.error(f"expected sources from {', '.join(BUILTIN_SOURCES)}, frames >= 2 and sizes >= 8")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    print(machine())
    print(f"{args.frames} frames per source at {args.width}x{args.height}; mean/p95 over frames 2.., first: frame 1")
    for source in args.sources:
        run = run_source(source, args.frames, args.width, args.height)
        print(f"\n== {source}: {len(run.wire)} frames sent, {run.unchanged} unchanged (skipped by the source)")
        print_cpu(run)
        print_bytes(run)
    print_hops(args.frames, args.width, args.height)
    return 0


if __name__ == "__main__":
    sys.exit(main())
