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
  source does. `direct` builds each message with `encode_frame` (only the header changes); `sender` goes
  through `FrameSender`, as an SDK source does (it compares each picture with the previous one first);
- the sink binds `pipeline.frames` like encode_damage and counts corrected frames. encode_damage drops a
  frame older than the newest it has (workers may finish out of order); `stale` counts those, `shown/s`
  is what is left, and what is shown has increasing seq by construction.

CPU is psutil's user + system time of each process (libzmq's I/O threads included; `loop` is the worker's
main thread alone) over the window; `others` is the machine's busy time minus ours. Every stage process is
stopped on any exit, Ctrl-C and SIGTERM included, and dies with this one. Prints tables; never fails.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import psutil
import zmq

from bench.pipeline import machine
from common.config import ColorProfile, Display
from common.frames import FrameHeader, PixelFormat, decode_frame, encode_frame
from common.source import FrameSender
from stages.correct_color import correct_frame, make_correctors
from tests.harness import REPO, free_port, metric_value, scrape

PICTURE = (1920, 1080)  # what a source captures
PANEL = (320, 240)  # what the display shows
PICTURES = 4  # distinct pictures, cycled: every frame differs from the one before
LOST_AFTER_S = 1.0  # a picture not out of the color stage by then was dropped on the way
TARGET = 1.6
PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def free_pair() -> int:
    """A free loopback port whose successor is free too: color worker 1 serves metrics on port + 1."""
    while True:
        port = free_port()
        with socket.socket() as s, contextlib.suppress(OSError):
            s.bind(("127.0.0.1", port + 1))
            return port


@dataclass
class Ports:
    sources: str = field(default_factory=lambda: f"tcp://127.0.0.1:{free_port()}")
    workers: str = field(default_factory=lambda: f"tcp://127.0.0.1:{free_port()}")
    frames: str = field(default_factory=lambda: f"tcp://127.0.0.1:{free_port()}")
    gather_metrics: int = field(default_factory=free_port)
    color_metrics: int = field(default_factory=free_pair)


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


@contextlib.contextmanager
def signals_deferred() -> Iterator[None]:
    """SIGINT and SIGTERM wait until the block ends: a process is never started without being noted, nor
    left half-stopped."""
    blocked = {signal.SIGINT, signal.SIGTERM}
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, blocked)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def child_setup() -> None:
    """Run in the child before exec: take SIGINT and SIGTERM again (the blocked mask would outlive exec), and on
    Linux die when this process dies, even by SIGKILL."""
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT, signal.SIGTERM})
    if sys.platform == "linux":
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


class Stage:
    """One stage process in its own process group (as supervisord runs it), output to a log file."""

    def __init__(self, module: str, config: Path, log: Path, *args: str) -> None:
        self.name, self.log = module + "".join(f" {a}" for a in args), log
        with log.open("ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", f"stages.{module}", "--config", str(config), *args],
                cwd=REPO,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=child_setup,
            )
        self.ps = psutil.Process(self.process.pid)

    def cpu_s(self) -> float:
        times = self.ps.cpu_times()
        return times.user + times.system

    def loop_cpu_s(self) -> float:
        """The main thread's: the stage's loop, without libzmq's I/O thread (which receives the pictures)."""
        main = next(t for t in self.ps.threads() if t.id == self.process.pid)
        return main.user_time + main.system_time

    def check_alive(self) -> None:
        if self.process.poll() is not None:
            raise RuntimeError(f"{self.name} exited ({self.process.returncode}): {self.log.read_text()[-1500:]}")

    def stop(self) -> None:
        """SIGTERM to the group (the stage stops within its poll interval), SIGKILL if it is still there."""
        for sig, wait_s in ((signal.SIGTERM, 5.0), (signal.SIGKILL, 5.0)):
            if self.process.poll() is not None:
                break
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.process.pid, sig)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=wait_s)


def serving(port: int) -> bool:
    try:
        scrape(port)
    except OSError:
        return False
    return True


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


def color_alone_ms(pictures: list[np.ndarray], frames: int = 30) -> float:
    """CPU ms of `correct_frame` + `encode_frame` per picture in this process: the color stage's work, no sockets."""
    correctors = make_correctors((Display("main", *PANEL, "feed", ColorProfile()),))
    started = time.process_time()
    for seq in range(1, frames + 1):
        header = FrameHeader("main", "feed", 1, seq, 0, *PICTURE, PixelFormat.RGB888)
        encode_frame(*correct_frame(correctors, encode_frame(header, pictures[seq % len(pictures)])))
    return (time.process_time() - started) / frames * 1000


class Feeder:
    """Pushes numbered pictures into gather_frames; never blocks (IMMEDIATE, NOBLOCK)."""

    def __init__(self, context: zmq.Context, endpoint: str, pictures: list[np.ndarray], kind: str) -> None:
        self.sock = context.socket(zmq.PUSH)
        for option, value in ((zmq.LINGER, 0), (zmq.SNDHWM, 2), (zmq.IMMEDIATE, 1)):
            self.sock.setsockopt(option, value)
        self.sock.connect(endpoint)
        self.pictures, self.epoch, self.seq = pictures, time.time_ns(), 0
        self.sender = FrameSender("feed", self.sock, refresh_s=60.0) if kind == "sender" else None

    def send(self) -> int | None:
        """The seq of the picture that went, or None when the pipeline did not take it."""
        picture = self.pictures[(self.seq + 1) % len(self.pictures)]
        if self.sender is not None:
            sent = self.sender.send("main", picture)
            self.seq = self.sender.seq
            return self.seq if sent else None
        header = FrameHeader("main", "feed", self.epoch, self.seq + 1, time.time_ns(), *PICTURE, PixelFormat.RGB888)
        try:
            self.sock.send_multipart(encode_frame(header, picture), flags=zmq.NOBLOCK, copy=False)
        except zmq.Again:
            return None
        self.seq += 1
        return self.seq


@dataclass
class Result:
    workers: int
    seconds: float = 0.0
    arrived: int = 0  # corrected frames at the sink in the window
    stale: int = 0  # of those, older than the newest before them: encode_damage would drop them
    stale_swaps: int = 0  # of those, seq n arriving right after n + 1
    stale_lag_ms: list[float] = field(default_factory=list)  # how long after the newer frame each came
    lost: int = 0  # pictures sent in the window that never came out of the color stage
    per_worker: list[float] = field(default_factory=list)  # frames_out of each worker in the window
    gather_dropped: float = 0.0
    cpu: dict[str, float] = field(default_factory=dict)  # CPU seconds in the window: workers, gather, ours, others

    @property
    def frames_per_s(self) -> float:
        return self.arrived / self.seconds if self.seconds else 0.0

    @property
    def shown_per_s(self) -> float:
        return (self.arrived - self.stale) / self.seconds if self.seconds else 0.0

    def ms_per_frame(self, group: str) -> float:
        return self.cpu[group] / self.arrived * 1000 if self.arrived else float("nan")


class Snapshot:
    """CPU seconds of each group, and the metrics the stages serve, at one moment."""

    def __init__(self, gather: Stage, workers: list[Stage], ports: Ports) -> None:
        self.at = time.monotonic()
        self.cpu = {
            "workers": sum(w.cpu_s() for w in workers),
            "loops": sum(w.loop_cpu_s() for w in workers),
            "gather": gather.cpu_s(),
            "ours": sum(psutil.Process().cpu_times()[:2]),
        }
        machine_times = psutil.cpu_times()
        times = machine_times._asdict()
        self.irq = times.get("irq", 0.0) + times.get("softirq", 0.0)
        idle = ("idle", "iowait", "irq", "softirq", "guest", "guest_nice")  # guest time is in user time already
        self.busy = sum(v for k, v in times.items() if k not in idle)
        out = "tftstream_correct_color_frames_out_total"
        self.per_worker = [metric_value(scrape(ports.color_metrics + i), out) for i in range(len(workers))]
        busy = 'tftstream_gather_frames_dropped_total{reason="workers_busy"}'
        self.gather_dropped = metric_value(scrape(ports.gather_metrics), busy)


class Driver:
    """Feeds and drains: with `rate` 0, keeps `window` pictures in flight; else offers `rate` pictures per second
    whatever happens to them, as a capturing source does (gather drops what the workers cannot take)."""

    def __init__(self, feeder: Feeder, sink: zmq.Socket, window: int, rate: float) -> None:
        self.feeder, self.sink, self.window, self.rate = feeder, sink, window, rate
        self.sent: dict[int, float] = {}  # seq -> when it went, until it comes out or is given up
        self.seen: list[tuple[float, int]] = []  # (arrival time, seq) of every corrected frame
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
            if self.sink.poll(timeout_ms):
                while self.sink.poll(0):
                    header, _ = decode_frame(self.sink.recv_multipart(copy=False))
                    if (header.width, header.height, header.pixel_format) != (*PANEL, PixelFormat.RGB565):
                        raise RuntimeError(f"the color stage sent {header}, expected {PANEL} RGB565")
                    self.sent.pop(header.seq, None)
                    self.seen.append((time.monotonic(), header.seq))

    def _send(self) -> bool:
        seq = self.feeder.send()
        if seq is not None:
            self.sent[seq] = time.monotonic()
        return seq is not None


def measure(workers: int, args: argparse.Namespace, pictures: list[np.ndarray], parent: Path) -> Result:
    directory = Path(tempfile.mkdtemp(prefix=f"{workers}-", dir=parent))  # config, logs, ipc sockets of this row
    ports = Ports()
    if args.transport == "ipc":  # Unix domain sockets instead of TCP loopback: what the hops cost
        ports.sources, ports.workers, ports.frames = (f"ipc://{directory}/{n}" for n in ("s", "w", "f"))
    config = write_config(directory, ports)
    stages: list[Stage] = []
    context = None
    try:
        for i in range(-1, workers):
            with signals_deferred():
                if i < 0:
                    stages.append(Stage("gather_frames", config, directory / "gather_frames.log"))
                else:
                    log = directory / f"correct_color_{i}.log"
                    stages.append(Stage("correct_color", config, log, "--worker", str(i)))
        gather, color = stages[0], stages[1:]
        context = zmq.Context()  # after the forks: preexec_fn and threads do not mix
        deadline = time.monotonic() + 20
        for port in [ports.gather_metrics, *(ports.color_metrics + i for i in range(workers))]:
            while not serving(port):
                for stage in stages:
                    stage.check_alive()
                if time.monotonic() > deadline:
                    raise RuntimeError(f"no stage serves metrics on port {port} after 20 s")
                time.sleep(0.05)
        sink = context.socket(zmq.PULL)
        sink.setsockopt(zmq.LINGER, 0)
        sink.setsockopt(zmq.RCVHWM, 4)  # as encode_damage
        sink.bind(ports.frames)
        feeder = Feeder(context, ports.sources, pictures, args.feeder)
        driver = Driver(feeder, sink, args.queue * workers, args.rate)
        deadline = time.monotonic() + 20
        while not driver.seen and time.monotonic() < deadline:  # the workers connect once they have imported
            driver.run(time.monotonic() + 0.1)
        if not driver.seen:
            raise RuntimeError("no corrected frame 20 s after the stages served metrics")
        driver.run(time.monotonic() + args.warmup)
        first_seq = feeder.seq + 1
        before = Snapshot(gather, color, ports)
        driver.run(before.at + args.seconds)
        after = Snapshot(gather, color, ports)
        last_seq = feeder.seq
        driver.run(time.monotonic() + LOST_AFTER_S, feed=False)  # what is still in flight
        for stage in stages:
            stage.check_alive()
    finally:
        with signals_deferred():
            if context is not None:
                context.destroy(linger=0)
            for stage in stages:
                stage.stop()
    return summarise(workers, before, after, driver.seen, first_seq, last_seq)


def summarise(workers: int, before: Snapshot, after: Snapshot, seen: list, first: int, last: int) -> Result:
    result = Result(workers, seconds=after.at - before.at)
    newest, newest_at, previous = 0, 0.0, 0
    for at, seq in seen:
        if before.at <= at < after.at:
            result.arrived += 1
            if seq < newest:
                result.stale += 1
                result.stale_swaps += previous == seq + 1
                result.stale_lag_ms.append((at - newest_at) * 1000)
        if seq > newest:
            newest, newest_at = seq, at
        previous = seq
    arrived = {seq for _, seq in seen}
    result.lost = sum(seq not in arrived for seq in range(first, last + 1))
    result.per_worker = [a - b for a, b in zip(after.per_worker, before.per_worker, strict=True)]
    result.gather_dropped = after.gather_dropped - before.gather_dropped
    result.cpu = {group: after.cpu[group] - before.cpu[group] for group in before.cpu}
    ours = sum(result.cpu[g] for g in ("workers", "gather", "ours"))  # "loops" is part of "workers"
    result.cpu["others"] = max(0.0, after.busy - before.busy - ours)
    result.cpu["irq"] = after.irq - before.irq  # interrupts, loopback TCP among them: nobody's process time
    return result


GROUPS = {"workers": "workers", "gather": "gather", "ours": "feed+sink", "irq": "irq", "others": "others"}


def print_results(results: list[Result], cores: int) -> None:
    print(
        f"\n{'workers':>7}{'frames/s':>10}{'shown/s':>9}{'stale':>7}{'lost':>6}{'split %':>9}"
        f"  | CPU ms/frame{'workers':>8}{'loop':>6}{'gather':>7}{'feed+sink':>10}"
        f"  | % of {cores} cores" + "".join(f"{label:>{len(label) + 1}}" for label in GROUPS.values()) + "  idle"
    )
    for r in results:
        total = sum(r.per_worker) or 1.0
        split = "/".join(f"{100 * n / total:.0f}" for n in r.per_worker)
        per_frame = "".join(f"{r.ms_per_frame(g):{w}.1f}" for g, w in (("workers", 8), ("loops", 6), ("gather", 7)))
        shares = [100 * r.cpu[g] / (r.seconds * cores) for g in GROUPS]
        print(
            f"{r.workers:7d}{r.frames_per_s:10.1f}{r.shown_per_s:9.1f}{r.stale:7d}"
            f"{r.lost:6d}{split:>9}  | {'':12}{per_frame}{r.ms_per_frame('ours'):10.1f}  | {'':12}"
            + "".join(f"{s:{len(label) + 1}.0f}" for s, label in zip(shares, GROUPS.values(), strict=True))
            + f"{max(0.0, 100 - sum(shares)):6.0f}"
        )
    dropped = ", ".join(f"{r.gather_dropped:.0f}" for r in results)
    print(f"stale: came after a newer frame (encode_damage drops it); lost: never came out; gather dropped: {dropped}")


def print_summary(results: list[Result], alone_ms: float, cores: int) -> None:
    """Ratios from the fastest row of each worker count (the one others disturbed least), and why."""
    best: dict[int, Result] = {}
    for r in results:
        if r.arrived and (r.workers not in best or r.frames_per_s > best[r.workers].frames_per_s):
            best[r.workers] = r
    one, two = best.get(1), best.get(2)
    if one is None or two is None:
        return
    ratio = two.frames_per_s / one.frames_per_s
    shown = two.shown_per_s / max(1e-9, one.shown_per_s)
    verdict = "met" if min(ratio, shown) >= TARGET else "not met"
    print(
        f"\nfastest rows, 2 workers / 1: {ratio:.2f}x frames/s, {shown:.2f}x shown/s (target >= {TARGET}x: {verdict})"
    )
    if two.stale:
        lag = np.percentile(two.stale_lag_ms, (50, 95))
        print(
            f"2 workers: {100 * two.stale / two.arrived:.0f} % of corrected frames stale; {two.stale_swaps} of "
            f"{two.stale} are frame n right after n+1, late by {lag[0]:.1f} ms (p50), {lag[1]:.1f} ms (p95)"
        )
    ours = sum(two.ms_per_frame(g) for g in ("workers", "gather", "ours"))
    left = cores - (two.cpu["others"] + two.cpu["irq"]) / two.seconds
    bound = left * 1000 / ours
    print(
        f"2 workers: our processes {ours:.1f} ms CPU per frame, {left:.2f} cores left by others "
        f"-> at most {bound:.1f} frames/s = {bound / one.frames_per_s:.2f}x this 1-worker row"
    )
    loop = one.ms_per_frame("loops")
    one_ours = sum(one.ms_per_frame(g) for g in ("workers", "gather", "ours"))
    idle_one = min(1000 / loop, cores * 1000 / one_ours)
    idle_two = min(2000 / two.ms_per_frame("loops"), cores * 1000 / ours)
    print(
        f"on {cores} free cores, from these CPU figures: 1 worker <= {idle_one:.1f} frames/s (its loop), "
        f"2 workers <= {idle_two:.1f} (all our CPU) = {idle_two / idle_one:.2f}x"
    )
    print(f"color alone (correct_frame + encode_frame in this process, no sockets): {alone_ms:.1f} ms CPU per frame")


def interrupt_on_signals() -> None:
    """SIGINT and SIGTERM raise KeyboardInterrupt, so every `finally` stops the stages it started."""

    def interrupt(*_: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, interrupt)
    signal.signal(signal.SIGTERM, interrupt)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser("python -m bench.scale", description=__doc__.splitlines()[0])
    parser.add_argument("--workers", default="1,2", help="worker counts to run (default: %(default)s)")
    parser.add_argument("--seconds", type=float, default=8.0, help="measuring window (default: %(default)s)")
    parser.add_argument("--warmup", type=float, default=2.0, help="before the window (default: %(default)s)")
    parser.add_argument("--queue", type=int, default=2, help="pictures in flight per worker (default: %(default)s)")
    parser.add_argument("--repeat", type=int, default=2, help="runs of each count (default: %(default)s)")
    parser.add_argument("--rate", type=float, default=0.0, help="pictures/s offered; 0: --queue (default: %(default)s)")
    parser.add_argument("--transport", choices=("tcp", "ipc"), default="tcp", help="endpoints (default: %(default)s)")
    parser.add_argument("--feeder", choices=("direct", "sender"), default="direct", help="(default: %(default)s)")
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
