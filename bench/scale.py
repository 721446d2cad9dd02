"""Scale: frames per second of the color stage with 1 and with 2 workers on a CPU-bound workload, order kept.

    python -m bench.scale                      # 1, 2, 2, 1 workers, 2 s warm-up + 8 s each: ~55 s
    python -m bench.scale --rate 70 --transport ipc --feeder sender --repeat 1

The real stage processes, started as supervisord starts them (`python -m stages.gather_frames`,
`python -m stages.correct_color --worker N`, each in its own process group), on a throwaway config with
random loopback ports: one 320x240 display showing an external source. This process is that source and
encode_damage's stand-in, in one loop:

- the feeder pushes 1920x1080 RGB pictures (4 distinct noisy gradients, pre-generated) into gather_frames,
  keeping at most `--queue` pictures per worker in flight (sent, not yet out of the color stage): each
  worker always has its next picture queued, and gather never has to drop one, so the figure is the color
  stage's throughput, not the feeder's. `--rate` offers a fixed number per second instead, as a capturing
  source does. `shared` (the default) writes each picture into a ring in shared memory and sends a
  reference, as a source on this machine does (common/shared_frames.py); `direct` sends the pixels through
  the sockets, built with `encode_frame` (only the header changes), as a source on another machine does;
  `sender` goes through `FrameSender` (shared), as an SDK source does (it compares each picture with the
  previous one first);
- the sink binds `pipeline.frames` like encode_damage and takes corrected frames by encode_damage's rule
  (common/reorder.py, the same code): a frame that comes before an earlier one waits for it, up to
  WINDOW_S; `reord` counts those put back in order, `gave up` those that waited in vain. A frame that still
  comes after a newer one is dropped as stale; `shown/s` is what is left, in increasing seq by construction.

CPU is psutil's user + system time of each process (libzmq's I/O threads included; `loop` is the worker's
main thread alone) over the window; `others` is the machine's busy time minus ours. Every stage process is
stopped on any exit, Ctrl-C and SIGTERM included, and dies with this one. Prints tables; never fails.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import zmq

from bench.link import interrupt_on_signals
from bench.pipeline import machine
from bench.scale_figures import Result, Snapshot, color_alone_ms, summarise
from bench.scale_report import print_results, print_summary
from bench.scale_rig import (
    LOST_AFTER_S,
    PANEL,
    PICTURE,
    Driver,
    Feeder,
    bind_sink,
    make_pictures,
    row_ports,
    write_config,
)
from bench.stage_process import StageProcess, signals_deferred, wait_serving


def measure(workers: int, args: argparse.Namespace, pictures: list[np.ndarray], parent: Path) -> Result:
    directory = Path(tempfile.mkdtemp(prefix=f"{workers}-", dir=parent))  # config, logs, ipc sockets of this row
    ports = row_ports(args.transport, directory)
    config = write_config(directory, ports)
    stages: list[StageProcess] = []
    context = None
    feeder: Feeder | None = None
    try:
        for i in range(-1, workers):
            with signals_deferred():
                if i < 0:
                    stages.append(StageProcess("gather_frames", config, directory / "gather_frames.log"))
                else:
                    log = directory / f"correct_color_{i}.log"
                    stages.append(StageProcess("correct_color", config, log, "--worker", str(i)))
        gather, color = stages[0], stages[1:]
        context = zmq.Context()  # after the forks: preexec_fn and threads do not mix
        wait_serving(stages, [ports.gather_metrics, *(ports.color_metrics + i for i in range(workers))])
        feeder = Feeder(context, ports.sources, pictures, args.feeder)
        driver = Driver(feeder, bind_sink(context, ports.frames), args.queue * workers, args.rate)
        deadline = time.monotonic() + 20
        while not driver.seen and time.monotonic() < deadline:  # the workers connect once they have imported
            driver.run(time.monotonic() + 0.1)
        if not driver.seen:
            raise RuntimeError("no corrected frame 20 s after the stages served metrics")
        driver.run(time.monotonic() + args.warmup)
        first_seq = feeder.seq + 1
        before = Snapshot.take(gather, color, ports)
        driver.run(before.at + args.seconds)
        after = Snapshot.take(gather, color, ports)
        last_seq = feeder.seq
        driver.run(time.monotonic() + LOST_AFTER_S, feed=False)  # what is still in flight
        for stage in stages:
            stage.check_alive()
    finally:
        with signals_deferred():
            if feeder is not None:
                feeder.close()
            if context is not None:
                context.destroy(linger=0)
            for stage in stages:
                stage.stop()
    return summarise(workers, before, after, driver.seen, first_seq, last_seq)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser("python -m bench.scale", description=__doc__.splitlines()[0])
    parser.add_argument("--workers", default="1,2", help="worker counts to run (default: %(default)s)")
    parser.add_argument("--seconds", type=float, default=8.0, help="measuring window (default: %(default)s)")
    parser.add_argument("--warmup", type=float, default=2.0, help="before the window (default: %(default)s)")
    parser.add_argument("--queue", type=int, default=2, help="pictures in flight per worker (default: %(default)s)")
    parser.add_argument("--repeat", type=int, default=2, help="runs of each count (default: %(default)s)")
    parser.add_argument("--rate", type=float, default=0.0, help="pictures/s offered; 0: --queue (default: %(default)s)")
    parser.add_argument("--transport", choices=("tcp", "ipc"), default="tcp", help="endpoints (default: %(default)s)")
    parser.add_argument(
        "--feeder", choices=("shared", "direct", "sender"), default="shared", help="(default: %(default)s)"
    )
    args = parser.parse_args(argv)
    try:
        args.workers = [int(n) for n in args.workers.split(",") if n]
    except ValueError:
        parser.error(f"--workers: expected counts like 1,2, got {args.workers!r}")
    if (
        not args.workers
        or min(args.workers) < 1
        or args.seconds <= 0
        or args.warmup <= 0
        or args.queue < 1
        or args.rate < 0
    ):
        parser.error(
            "expected worker counts >= 1, --seconds and --warmup > 0, --queue >= 1, --rate >= 0, --repeat >= 1"
        )
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    interrupt_on_signals()
    cores = os.cpu_count() or 1
    print(machine())
    print(f"load average before: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    print(
        f"{PICTURE[0]}x{PICTURE[1]} pictures -> {PANEL[0]}x{PANEL[1]} display, feeder {args.feeder}, "
        + (f"{args.rate:g} pictures/s offered" if args.rate else f"{args.queue} in flight per worker")
        + f", {args.transport}, {args.warmup:g} s warm-up + {args.seconds:g} s measured per row"
    )
    pictures = make_pictures()
    alone = color_alone_ms(pictures)
    results = []
    try:
        with tempfile.TemporaryDirectory(prefix="tft-scale-") as directory:
            for repeat in range(args.repeat):  # alternating, so each count meets the same neighbours' load
                for workers in args.workers[:: -1 if repeat % 2 else 1]:
                    results.append(measure(workers, args, pictures, Path(directory)))
    except KeyboardInterrupt:
        print("interrupted: stopped every stage process", flush=True)
        return 130
    except RuntimeError as error:  # a stage died or never came up: its log says why
        print(f"failed, every stage process stopped: {error}", flush=True)
        return 1
    print_results(results, cores)
    print_summary(results, alone, cores)
    print(f"load average after: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
