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
import sys
import time
from dataclasses import dataclass, field

import numpy as np
import zmq

from bench.baselines import Original
from bench.pipeline import Pipeline, machine
from bench.workloads import SEED, bios_screen, cpu_monitor
from common.config import BUILTIN_SOURCES
from common.source import Painter

STAGES = {
    "draw": "draw     painter.update + draw",
    "send": "send     FrameSender.send (to RGB, compare, encode_frame)",
    "gather": "gather   decode_frame",
    "correct": "correct  correct_frame + encode_frame",
    "damage": "damage   DamageEncoder.on_frame + on_demand",
    "egress": "egress   decode_packet + FRAME_BEGIN/END",
}


@dataclass
class Run:
    cpu_ms: list[dict[str, float]] = field(default_factory=list)  # per frame drawn: stage -> CPU ms
    wire: list[int] = field(default_factory=list)  # bytes per frame written to the board
    original: list[int] = field(default_factory=list)  # bytes the original design would write
    rects: list[int] = field(default_factory=list)
    unchanged: int = 0  # frames FrameSender skipped as identical to the previous one

    def stage_ms(self, stage: str) -> list[float]:
        return [frame[stage] for frame in self.cpu_ms if stage in frame]


def make_painter(source: str) -> Painter:
    return cpu_monitor() if source == "cpu_monitor" else bios_screen()


def run_source(source: str, frames: int, width: int, height: int) -> Run:
    pipeline, painter, original = Pipeline(source, width, height), make_painter(source), Original()
    run = Run()
    for _ in range(frames):
        step = pipeline.step(painter)
        run.cpu_ms.append(step.cpu_ms)
        if step.wire is None or step.rgb is None:
            run.unchanged += 1
            continue
        run.wire.append(len(step.wire))
        run.rects.append(step.rects)
        run.original.append(original.frame(step.rgb)[0])
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
        ("original (threshold, bbox, raw)", run.original),
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
