"""CPU while the picture stands still: what the pipeline costs a PC when nothing changes; figures, no pass/fail.

    python -m bench.idle [--seconds 40] [--settle 12]

The shipped supervisord.conf with one 320x240 display showing an external source (as tests/harness.py's
pattern pipeline runs it), its virtual board connected. This process is that source: it shows one picture,
then keeps it on screen as every source does, resending it each `refresh_s` (1 s, the default), so a stage
that restarted gets it back. After `--settle` seconds (the idle sources' deferred start-up work, e.g. the
CPU-name lookup, is done by then) each program's time on a CPU (the scheduler's nanosecond counts, its
threads and children included) is read over `--seconds` and printed as a share of one core; the server
is gather, the color workers, encode_damage and serve_boards.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import psutil

from bench.pipeline import machine
from bench.startup import supervised_pids
from tests.harness import Pipeline, Ports, pattern_pipeline

DISPLAY = '[[displays]]\nname = "main"\nwidth = 320\nheight = 240\nsource = "pattern"\n'
SERVER = ("gather_frames", "correct_color", "encode_damage", "serve_boards")
REFRESH_S = 1.0  # common.config's default refresh_s
TARGET_PCT = 0.5  # issue 6: the server's share of a core while the picture is static


def run_seconds(pid: int) -> float:
    """Seconds on a CPU of a process, its threads and its children's, from the scheduler's nanosecond
    counts (/proc/PID/task/TID/schedstat): psutil's user + system time counts in 10 ms ticks."""
    process = psutil.Process(pid)
    total = 0
    for member in (process, *process.children(recursive=True)):
        for stat in Path(f"/proc/{member.pid}/task").glob("*/schedstat"):
            with contextlib.suppress(OSError):  # a thread that ended meanwhile
                total += int(stat.read_text().split()[0])
    return total / 1e9


def cpu_by_program(pipe: Pipeline) -> dict[str, float]:
    out = {"supervisord": run_seconds(pipe.process.pid)}  # its children below are counted apart
    out["supervisord"] -= sum(run_seconds(c.pid) for c in psutil.Process(pipe.process.pid).children())
    for name, pid in supervised_pids(pipe).items():
        with contextlib.suppress(psutil.Error):
            out[name] = run_seconds(pid)
    return out


def measure(seconds: float, settle: float) -> dict[str, float]:
    """% of one core per program over `seconds` of a static picture."""
    with tempfile.TemporaryDirectory() as folder, pattern_pipeline(Path(folder), Ports(), displays=DISPLAY) as run:
        pipe, _, source = run
        source.sender.refresh_s = REFRESH_S
        picture = np.full((240, 320, 3), 77, np.uint8)
        source.show(picture)
        time.sleep(settle)
        before, started = cpu_by_program(pipe), time.monotonic()
        while time.monotonic() - started < seconds:
            source.sender.send("main", picture)  # sent again only once refresh_s has passed
            time.sleep(0.05)
        after, elapsed = cpu_by_program(pipe), time.monotonic() - started
    return {name: (after[name] - before.get(name, 0.0)) / elapsed * 100 for name in after}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser("python -m bench.idle", description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=40.0, help="measuring window (default: %(default)s)")
    parser.add_argument("--settle", type=float, default=12.0, help="seconds before it (default: %(default)s)")
    args = parser.parse_args(argv)
    print(machine())
    shares = measure(args.seconds, args.settle)
    print(f"\n% of one core over {args.seconds:g} s, a static picture resent every {REFRESH_S:g} s:")
    for name, share in sorted(shares.items(), key=lambda item: -item[1]):
        print(f"  {name:20s} {share:6.2f}")
    server = sum(share for name, share in shares.items() if name.startswith(SERVER))
    verdict = "met" if server < TARGET_PCT else "not met"
    print(f"server ({', '.join(SERVER)}): {server:.2f} % (target < {TARGET_PCT} %: {verdict})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
