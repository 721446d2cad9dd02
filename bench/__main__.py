"""One benchmark command: CPU per stage, bytes on the wire against the original design and zlib, device decode
cost, for eight reproducible workloads. Prints tables; never passes or fails.

    python -m bench [--frames N] [--workloads fade,terminal] [--size 320x240] [--no-device]

Every workload is a fixed sequence of pictures from fixed seeds (bench/workloads.py). Each picture goes
through every stage's real code in this process (bench/pipeline.py, as bench.stages does), to one board with
a 16 KB buffer, RAW and RUNS, that always has the previous frame. The same pictures feed the original design's
model and the zlib baseline (bench/baselines.py) and candidate encodings (bench/ideas.py); the exact bytes
the egress would send are replayed through the board's core under callgrind (bench/device.py).
See bench/README.md for every column.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np

from bench import baselines, device, ideas
from bench.baselines import Original
from bench.pipeline import BOARD_MAX_BODY, Pipeline, Step, machine
from bench.workloads import WORKLOADS, Move, Moving, Workload
from common import protocol
from common.rgb565 import expand_rgb565
from devices.reference_display import BoardStream

SERVER_STAGES = ("gather", "correct", "damage", "egress")
LOSSY_QUALITY = 85


@dataclass
class Result:
    workload: Workload
    ticks: int
    first_bytes: int = 0
    cpu: dict[str, list[float]] = field(default_factory=dict)  # stage -> CPU ms per changed frame (2..N)
    ours: list[int] = field(default_factory=list)  # per changed frame 2..N, here and below
    original: list[int] = field(default_factory=list)
    exact: list[int] = field(default_factory=list)  # the original without its threshold
    zlib: list[int] = field(default_factory=list)
    ideas: dict[str, list[float]] = field(default_factory=dict)
    original_model: Original = field(default_factory=Original)
    blobs: list[bytes] = field(default_factory=list)  # every frame's zlib tiles, frame 1 included
    lossy: list[int] = field(default_factory=list)  # bytes per changed frame with lossy_quality LOSSY_QUALITY
    psnr: list[float] = field(default_factory=list)  # of what that board shows, against the exact picture
    refresh: int = 0  # bytes of the lossless redraw once the picture stands still
    refreshed_exact: bool = False
    decode: Future | None = None
    inflate: Future | None = None

    def add(self, key: str, value: float) -> None:
        self.cpu.setdefault(key, []).append(value)


def run_workload(workload: Workload, ticks: int, width: int, height: int, pool: ThreadPoolExecutor | None) -> Result:
    result = Result(workload, ticks)
    pipeline, dithered = Pipeline(workload.name, width, height), Pipeline(workload.name, width, height, dither=True)
    lossy = Pipeline(workload.name, width, height, lossy_quality=LOSSY_QUALITY)
    lossy_board = BoardStream(width, height, protocol.ALL_ENCODINGS, BOARD_MAX_BODY)
    lossy_board.feed(lossy.accept())
    painter = workload.make()
    stream = [pipeline.accept()]
    values: np.ndarray | None = None  # the previous picture, corrected; and below, with dither
    dithered_values: np.ndarray | None = None
    for _ in range(ticks):
        step = pipeline.step(painter)
        if step.wire is None or step.rgb is None or step.values is None:
            continue  # the source skipped an unchanged picture
        sent, exact, original_ms = result.original_model.frame(step.rgb)
        blob, zlib_ms = baselines.zlib_tiles(values, step.values)
        dithered_step = dithered.push(step.rgb)
        assert dithered_step.values is not None and dithered_step.wire is not None
        lossy_wire = lossy.push(step.rgb).wire or b""
        lossy_board.feed(lossy_wire)
        stream.append(step.wire)
        result.blobs.append(blob)
        if values is None or dithered_values is None:
            result.first_bytes = len(step.wire)
        else:
            for stage, ms in step.cpu_ms.items():
                result.add(stage, ms)
            result.add("server", sum(step.cpu_ms[s] for s in SERVER_STAGES))
            result.add("original", original_ms)
            result.add("zlib", zlib_ms)
            result.ours.append(len(step.wire))
            result.original.append(sent)
            result.exact.append(exact)
            result.zlib.append(len(blob))
            result.lossy.append(len(lossy_wire))
            result.psnr.append(psnr(lossy_board.framebuffer, step.values))
            moves = painter.motion() if isinstance(painter, Moving) else None
            add_ideas(result.ideas, (values, step), (dithered_values, dithered_step), moves, pipeline.big_endian)
        values, dithered_values = step.values, dithered_step.values
    refresh = lossy.refresh()
    lossy_board.feed(refresh)
    result.refresh = len(refresh)
    result.refreshed_exact = values is not None and np.array_equal(lossy_board.framebuffer, values)
    if pool is not None and values is not None:
        stream_bytes = b"".join(stream)
        result.decode = pool.submit(device.replay_cost, stream_bytes, width, height, BOARD_MAX_BODY, values)
        result.inflate = pool.submit(device.inflate_cost, result.blobs)
    return result


def add_ideas(
    into: dict[str, list[float]],
    default: tuple[np.ndarray, Step],
    dithered: tuple[np.ndarray, Step],
    moves: list[Move] | None,
    big_endian: bool,
) -> None:
    """Candidate encodings' bytes for one frame: (previous picture, this step) without dither and with."""
    (before, step), (dithered_before, dithered_step) = default, dithered
    assert step.values is not None and step.wire is not None and dithered_step.values is not None
    height, width = step.values.shape
    tiles = baselines.dirty_tiles(before, step.values)
    med_zlib, med_h0 = ideas.med_sizes(tiles)
    sizes = {
        "zlib/RECT": ideas.deflate_rects(step.wire, step.values, big_endian),
        "pal-tiles": ideas.palette_tiles_size(tiles, -(-width // baselines.TILE) * -(-height // baselines.TILE)),
        "MED+zlib": med_zlib,
        "H0(MED)": med_h0,
        "dither": len(dithered_step.wire or b""),
        "MED+zlib dither": ideas.med_sizes(baselines.dirty_tiles(dithered_before, dithered_step.values))[0],
    }
    if moves is not None:
        sizes["copy oracle"] = ideas.copy_then_damage(before, step.values, moves, big_endian)
        sizes["copy oracle dither"] = ideas.copy_then_damage(dithered_before, dithered_step.values, moves, big_endian)
    for name, size in sizes.items():
        into.setdefault(name, []).append(size)


def mean(values: list) -> float:
    return float(np.mean(values)) if values else float("nan")


def p95(values: list) -> float:
    return float(np.percentile(values, 95)) if values else float("nan")


def ratio(a: float, b: float) -> str:
    return f"{a / b:.1f}" if b > 0 else "-"


def print_cpu(results: list[Result]) -> None:
    print("\n== Server CPU, ms per changed frame (mean; p95 for the server sum), frames 2..N")
    print(f"{'workload':13}{'ticks':>6}{'chg':>5} |{'draw':>7}{'send':>7} |{'gather':>7}{'color':>7}{'damage':>8}"
          f"{'egress':>7}{'server':>8}{'p95':>7} |{'orig':>7}{'zlib6':>7}")  # fmt: skip
    for r in results:
        c = r.cpu
        line = f"{r.workload.name:13}{r.ticks:6d}{len(r.ours):5d} |{mean(c.get('draw', [])):7.2f}"
        line += f"{mean(c.get('send', [])):7.2f} |" + "".join(
            f"{mean(c.get(s, [])):{w}.2f}" for s, w in (("gather", 7), ("correct", 7), ("damage", 8), ("egress", 7))
        )
        line += f"{mean(c.get('server', [])):8.2f}{p95(c.get('server', [])):7.2f} |"
        print(line + f"{mean(c.get('original', [])):7.2f}{mean(c.get('zlib', [])):7.2f}")


def print_bytes(results: list[Result]) -> None:
    print("\n== Bytes on the wire per changed frame, frames 2..N (first frame: the full picture on connect)")
    print(f"{'workload':13}{'first':>7} |{'ours':>8}{'p95':>8} |{'original':>9}{'p95':>8}{'orig/ours':>10}"
          f"{'skipped':>8}{'stale px':>9}{'max err':>8} |{'exact orig':>11}{'/ours':>6} |"
          f"{'zlib6':>8}{'zlib/ours':>10}")  # fmt: skip
    for r in results:
        stale, error = r.original_model.stale()
        ours, orig, exact, zl = (mean(v) for v in (r.ours, r.original, r.exact, r.zlib))
        print(
            f"{r.workload.name:13}{r.first_bytes:7d} |{ours:8.0f}{p95(r.ours):8.0f} |{orig:9.0f}{p95(r.original):8.0f}"
            f"{ratio(orig, ours):>10}{r.original_model.skipped:8d}{stale:9d}{error:8d} |{exact:11.0f}"
            f"{ratio(exact, ours):>6} |{zl:8.0f}{ratio(zl, ours):>10}"
        )


def psnr(shown: np.ndarray, exact: np.ndarray) -> float:
    """dB of what a board shows against the exact picture, in RGB888 (inf: identical)."""
    error = np.mean((expand_rgb565(shown).astype(np.float64) - expand_rgb565(exact).astype(np.float64)) ** 2)
    return float("inf") if error == 0 else float(10 * np.log10(255**2 / error))


def print_lossy(results: list[Result]) -> None:
    print(f"\n== Lossy mode (lossy_quality = {LOSSY_QUALITY}): bytes per changed frame, frames 2..N, and PSNR of what")
    print("   the board shows while the picture changes; then the lossless redraw once it stands still")
    print(
        f"{'workload':13}{'lossy':>8}{'exact orig':>11}{'/lossy':>7}{'PSNR dB':>8}{'min':>6} |{'redraw':>8}{'exact':>6}"
    )
    for r in results:
        shown = [v for v in r.psnr if v != float("inf")]
        print(
            f"{r.workload.name:13}{mean(r.lossy):8.0f}{mean(r.exact):11.0f}{ratio(mean(r.exact), mean(r.lossy)):>7}"
            f"{(mean(shown) if shown else float('inf')):8.1f}{(min(shown) if shown else float('inf')):6.1f} |"
            f"{r.refresh:8d}{'yes' if r.refreshed_exact else 'NO':>6}"
        )


def print_device(results: list[Result]) -> None:
    print("\n== Device decode cost: host instructions (callgrind) per output pixel, whole stream incl. frame 1")
    print(f"{'workload':13}{'stream KB':>10}{'pixels':>11}{'core Ir/px':>11}{'+fb Ir/px':>10}{'exact':>6} |"
          f"{'zlib KB':>8}{'inflate Ir/px':>14}")  # fmt: skip
    for r in results:
        if r.decode is None or r.inflate is None:
            continue
        try:
            cost: device.DecodeCost = r.decode.result()
            inflate_ir, inflate_px = r.inflate.result()
        except (OSError, subprocess.SubprocessError, ValueError) as error:  # a figure missing, not a run lost
            print(f"{r.workload.name:13}failed: {error}")
            continue
        stream_kb = (r.first_bytes + sum(r.ours)) / 1024
        print(
            f"{r.workload.name:13}{stream_kb:10.0f}{cost.pixels:11d}{cost.core_per_pixel:11.2f}"
            f"{cost.total_per_pixel:10.2f}{'yes' if cost.exact else 'NO':>6} |"
            f"{sum(map(len, r.blobs)) / 1024:8.0f}{inflate_ir / max(1, inflate_px):14.2f}"
        )


IDEAS = (
    "zlib/RECT",
    "pal-tiles",
    "MED+zlib",
    "H0(MED)",
    "dither",
    "MED+zlib dither",
    "copy oracle",
    "copy oracle dither",
)


def print_ideas(results: list[Result]) -> None:
    print("\n== Candidate encodings, bytes per changed frame (mean, frames 2..N; '-': not applicable)")
    widths = [max(10, len(name) + 2) for name in IDEAS]
    print(
        f"{'workload':13}{'ours':>8}{'zlib6':>8} |" + "".join(f"{n:>{w}}" for n, w in zip(IDEAS, widths, strict=True))
    )
    for r in results:
        cells = "".join(
            f"{mean(r.ideas[n]):{w}.0f}" if r.ideas.get(n) else f"{'-':>{w}}"
            for n, w in zip(IDEAS, widths, strict=True)
        )
        print(f"{r.workload.name:13}{mean(r.ours):8.0f}{mean(r.zlib):8.0f} |{cells}")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    names = [w.name for w in WORKLOADS]
    parser = argparse.ArgumentParser("python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, help="ticks per workload (default: each workload's own, below)")
    parser.add_argument("--workloads", default=",".join(names), help="comma-separated (default: all)")
    parser.add_argument("--size", default="320x240", help="display WIDTHxHEIGHT (default: %(default)s)")
    parser.add_argument("--no-device", action="store_true", help="skip the callgrind decode counts")
    args = parser.parse_args(argv)
    try:
        args.width, args.height = (int(v) for v in args.size.lower().split("x"))
    except ValueError:
        parser.error(f"--size: expected WIDTHxHEIGHT like 320x240, got {args.size!r}")
    chosen = [s for s in args.workloads.split(",") if s]
    unknown = [s for s in chosen if s not in names]
    if unknown or not chosen or (args.frames is not None and args.frames < 2) or min(args.width, args.height) < 16:
        parser.error(f"expected workloads from {', '.join(names)}, frames >= 2 and sizes >= 16")
    args.workloads = [w for w in WORKLOADS if w.name in chosen]
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.monotonic()
    print(machine())
    print(
        f"{args.width}x{args.height}, one board: max_body {BOARD_MAX_BODY}, every encoding, "
        "default profile (dither off), always has the previous frame"
    )
    for w in args.workloads:
        print(f"  {w.name:13}{args.frames or w.frames:4d} ticks: {w.what}")
    why_not = None if args.no_device else device.missing()
    if why_not:
        print(f"device decode cost skipped: {why_not}")
    pool = ThreadPoolExecutor(max_workers=1) if not (args.no_device or why_not) else None
    results = [run_workload(w, args.frames or w.frames, args.width, args.height, pool) for w in args.workloads]
    print_cpu(results)
    print_bytes(results)
    print_ideas(results)
    print_lossy(results)
    if pool is not None:
        print_device(results)
        pool.shutdown()
    print(f"\n{time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
