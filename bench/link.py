"""End-to-end frame rate and latency through an emulated Wi-Fi link: figures to compare, no pass/fail.

    python -m bench.link [--seconds 10] [--rates 15,5] [--delay-ms 3] [--rx-buffer 5760]   (as root)

Builds three network namespaces of its own (bench/emulated_link.py): the pipeline runs in a server
namespace, a C++ virtual device modelling a 40 MHz SPI panel without DMA and lwIP's small window
(`--spi-mhz 40 --rx-buffer 5760`) in a board namespace, joined by veths with tbf at each rate and a
userspace delay line (bench/wire.py, `--delay-ms` each way). A source of this script pushes a
workload (bench/link_workloads.py) at 60 pictures/s; per case it measures over `--seconds` after a
warm-up: the device's frames per second and bytes per frame, latency from capture to the frame
drawn on the device (per frame: capture stamp -> the device's `frame:` line) and to its ACK at the
egress (the egress's histogram), and the frame rate the link and the panel allow for those bytes.
Then 16 devices on loopback, and the time from starting supervisord to a board's first frame.
Everything it creates (namespaces, veths, qdiscs, processes) is removed on exit, Ctrl-C included.
"""

from __future__ import annotations

import argparse
import os
import platform
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import numpy as np

from bench import link_report
from bench.emulated_link import SERVER_IP, EmulatedLink, Namespaces, goodput_bytes_per_s, rtt_ms, shape
from bench.link_rig import (
    BOARD_MAX_BODY,
    VIRTUAL_DEVICE,
    BenchPipeline,
    Device,
    FrameFeeder,
    LightTap,
    histogram_quantile,
    latency_buckets,
)
from bench.link_workloads import Workload, all_workloads
from devices.virtual_displays import listening
from tests.harness import DEFAULT_DISPLAYS, REPO, Ports, wait_for, write_config

LOSSY_QUALITY = 85
PATTERN_DISPLAY = '[[displays]]\nname = "main"\nwidth = 320\nheight = 240\nsource = "pattern"\nprofile = "shipped"\n'
# The shipped profile (tftstream.toml: no dither), not the tests' (which dither to exercise it).
SHIPPED_PROFILE = '[profiles.shipped]\ngamma = 1.0\ndither = false\nbyte_order = "big"\n'
SPI_MHZ = 40.0
READ_MHZ = 20.0  # the virtual device reads back at min(SPI_MHZ, 20 MHz), as TFT_eSPI's SPI_READ_FREQUENCY
WARM_UP_S = 3.0
MANY = 16


@dataclass(frozen=True, slots=True)
class LinkFigures:
    mbit: float
    rtt_ms: float
    raw_bytes_s: float  # a reader with the OS default window
    window_bytes_s: dict[int, float]  # receive buffer -> bytes/s, a reader with a board's window


@dataclass
class Case:
    label: str
    link: LinkFigures | None
    devices: int
    rx_buffer: int
    max_body: int
    fps: list[float] = field(default_factory=list)  # per device
    bytes_per_frame: float = 0.0
    bytes_p95: float = 0.0
    mbit_s: float = 0.0
    drawn_ms: list[float] = field(default_factory=list)  # capture -> frame drawn, per frame
    ack_ms: tuple[float | None, float | None] = (None, None)  # p50, p95 from the egress histogram
    panel_s: float | None = None  # mean SPI time of a frame's pixels, written and read back
    cpu_pct: float = 0.0  # pipeline processes, % of one core
    offered_fps: float = 0.0


@dataclass
class StartRun:
    spawned_s: float | None = None  # supervisord spawned its first program (its log)
    listen_s: float | None = None
    captured_s: float | None = None  # the first picture encode_damage got was captured (drawn)
    prompt_s: float | None = None  # a board that connects when the egress listens: first frame
    waiting_s: float | None = None  # a board retrying (with backoff) since supervisord started
    attempts: int = 0


def egress_toml(ports: Ports) -> str:
    return f'[egress]\nhost = "0.0.0.0"\nport = {ports.board}\nadvertise = false\n'


def characterise(names: Namespaces, mbit: float, rx_buffers: tuple[int, ...]) -> LinkFigures:
    shape(names, mbit)
    windows = {rx: goodput_bytes_per_s(names.board, 2.0, rx) for rx in rx_buffers}
    return LinkFigures(mbit, rtt_ms(names.board), goodput_bytes_per_s(names.board, 2.0), windows)


def measure_start(names: Namespaces, rx_buffer: int) -> StartRun:
    """supervisord (the shipped conf, the CPU monitor on "main") from cold; two boards on the link."""
    run = StartRun()
    with tempfile.TemporaryDirectory() as folder, ExitStack() as stack:
        ports = Ports()
        write_config(Path(folder), ports, DEFAULT_DISPLAYS, egress_toml(ports))
        started = time.time_ns()
        pipe = BenchPipeline(Path(folder), programs=None)
        stack.callback(pipe.stop)
        waiting = Device(SERVER_IP, ports.board, names.board, SPI_MHZ, rx_buffer)
        stack.callback(waiting.stop)
        tap = LightTap(ports.endpoints["tap"])
        stack.callback(tap.close)
        try:
            wait_for(lambda: listening(ports.board), 30, "the egress listening", interval=0.01)
            run.listen_s = (time.time_ns() - started) / 1e9
            prompt = Device(SERVER_IP, ports.board, names.board, SPI_MHZ, rx_buffer)
            stack.callback(prompt.stop)
            wait_for(lambda: prompt.frames and waiting.frames, 30, "both boards' first frame", interval=0.01)
            run.prompt_s = (prompt.frames[0].at_ns - started) / 1e9
            run.waiting_s = (waiting.frames[0].at_ns - started) / 1e9
            run.captured_s = (min(tap.captured.values()) - started) / 1e9 if tap.captured else None
        except AssertionError as error:
            print(f"  start: {error}", flush=True)
        run.attempts = sum(line.startswith("state: connecting") for _, line in waiting.lines)
        run.spawned_s = first_spawn(Path(folder) / "run" / "supervisord.log", started)
    return run


def first_spawn(log: Path, started_ns: int) -> float | None:
    """Seconds from `started_ns` to supervisord's first "spawned:" line (its log has millisecond stamps)."""
    for line in log.read_text().splitlines() if log.exists() else []:
        if "spawned:" in line:
            at = datetime.strptime(line[:23], "%Y-%m-%d %H:%M:%S,%f").timestamp()
            return at - started_ns / 1e9
    return None


@contextmanager
def pipeline_for_links(displays: str = PATTERN_DISPLAY) -> Iterator[tuple[BenchPipeline, Ports, FrameFeeder, LightTap]]:
    with tempfile.TemporaryDirectory() as folder, ExitStack() as stack:
        ports = Ports()
        write_config(Path(folder), ports, displays, "[sources.pattern]\n" + SHIPPED_PROFILE + egress_toml(ports))
        pipe = BenchPipeline(Path(folder))
        stack.callback(pipe.stop)
        tap = LightTap(ports.endpoints["tap"])
        stack.callback(tap.close)
        feeder = FrameFeeder(ports.endpoints["sources"])
        stack.callback(feeder.close)
        pipe.wait_running()
        yield pipe, ports, feeder, tap


def run_case(
    rig: tuple[BenchPipeline, Ports, FrameFeeder, LightTap],
    case: Case,
    workload: Workload,
    seconds: float,
    namespace: str | None,
    host: str,
) -> Case:
    pipe, ports, feeder, tap = rig
    feeder.play(workload)
    devices = [
        Device(host, ports.board, namespace, SPI_MHZ, case.rx_buffer, case.max_body) for _ in range(case.devices)
    ]
    try:
        wait_for(lambda: all(d.frames for d in devices), 30, f"{case.label}: every device's first frame")
        time.sleep(WARM_UP_S)
        before, cpu, offered = latency_buckets(ports.metrics["serve_boards"]), pipe.cpu_seconds(), feeder.offered
        t0 = time.time_ns()
        time.sleep(seconds)
        after, t1 = latency_buckets(ports.metrics["serve_boards"]), time.time_ns()
        elapsed = (t1 - t0) / 1e9
        case.cpu_pct = 100 * (pipe.cpu_seconds() - cpu) / elapsed
        case.offered_fps = (feeder.offered - offered) / elapsed
    finally:
        for device in devices:
            device.stop()
    p50, p95 = (histogram_quantile(q, before, after) for q in (0.5, 0.95))
    case.ack_ms = (p50 and p50 * 1000, p95 and p95 * 1000)
    window = [[f for f in d.frames if t0 <= f.at_ns < t1] for d in devices]
    case.fps = [len(frames) / elapsed for frames in window]
    every = [f for frames in window for f in frames]
    if every:
        case.bytes_per_frame = float(np.mean([f.bytes for f in every]))
        case.bytes_p95 = float(np.percentile([f.bytes for f in every], 95))
    case.mbit_s = sum(f.bytes for f in every) * 8 / elapsed / 1e6 / len(devices)
    case.drawn_ms = [(f.at_ns - tap.captured[f.seq]) / 1e6 for f in every if f.seq in tap.captured]
    if case.devices == 1:
        case.panel_s = panel_seconds(devices[0], t0, t1)
    return case


def panel_seconds(device: Device, t0: int, t1: int) -> float | None:
    """Mean SPI time per frame in the window of the pixels the device wrote and read back for it
    (its `frame:` lines count them): 16 bits at SPI_MHZ a pixel written, 24 at READ_MHZ one read."""
    frames = device.frames
    pairs = [(e, f) for e, f in zip(frames, frames[1:], strict=False) if t0 <= f.at_ns < t1]
    if not pairs:
        return None
    pushed = float(np.mean([f.pushed - e.pushed for e, f in pairs]))
    read = float(np.mean([f.read - e.read for e, f in pairs]))
    return pushed * 16 / (SPI_MHZ * 1e6) + read * 24 / (READ_MHZ * 1e6)


def inside(args: argparse.Namespace) -> int:
    """The measurements, run inside the server namespace."""
    names = Namespaces(args.server_ns, args.wire_ns, args.board_ns)
    print(machine(), flush=True)
    workloads = all_workloads()
    big = 16384
    links = [characterise(names, mbit, (args.rx_buffer, big)) for mbit in args.rates]
    starts = [measure_start(names, args.rx_buffer) for _ in range(args.start_runs)]
    cases: list[Case] = []
    with pipeline_for_links() as rig:
        for link in links:
            shape(names, link.mbit)
            for name, workload in workloads.items():
                case = Case(f"{link.mbit:g} Mbit/s  {name}", link, 1, args.rx_buffer, args.max_body)
                cases.append(run_case(rig, case, workload, args.seconds, names.board, SERVER_IP))
                print(f"  done: {case.label}", flush=True)
        shape(names, links[0].mbit)
        for name in ("terminal", "full-motion"):
            case = Case(f"{links[0].mbit:g} Mbit/s  {name}, 16 KB window", links[0], 1, big, args.max_body)
            cases.append(run_case(rig, case, workloads[name], args.seconds, names.board, SERVER_IP))
        case = Case(f"loopback  dashboard x{MANY}", None, MANY, args.rx_buffer, args.max_body)
        cases.append(run_case(rig, case, workloads["dashboard"], args.seconds, None, "127.0.0.1"))
    with pipeline_for_links(PATTERN_DISPLAY + "read_back = false\n") as rig:
        shape(names, links[0].mbit)
        for name in ("terminal", "fade"):
            case = Case(
                f"{links[0].mbit:g} Mbit/s  {name}, read_back = false", links[0], 1, args.rx_buffer, args.max_body
            )
            cases.append(run_case(rig, case, workloads[name], args.seconds, names.board, SERVER_IP))
    with pipeline_for_links(PATTERN_DISPLAY + f"lossy_quality = {LOSSY_QUALITY}\n") as rig:
        for link in links:
            shape(names, link.mbit)
            case = Case(
                f"{link.mbit:g} Mbit/s  full-motion, lossy {LOSSY_QUALITY}", link, 1, args.rx_buffer, args.max_body
            )
            cases.append(run_case(rig, case, workloads["full-motion"], args.seconds, names.board, SERVER_IP))
            print(f"  done: {case.label}", flush=True)
    link_report.print_all(links, cases, starts, args, SPI_MHZ)
    print(f"load average after: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    return 0


def machine() -> str:
    lines = Path("/proc/cpuinfo").read_text().splitlines()
    model = next((line.split(":", 1)[1].strip() for line in lines if "model name" in line), platform.machine())
    load = " ".join(f"{v:.2f}" for v in os.getloadavg())
    return (
        f"machine: {model}, {os.cpu_count()} logical cores, Linux {platform.release()}, "
        f"Python {platform.python_version()}, numpy {np.__version__}; load average before: {load}"
    )


def ensure_device() -> None:
    if VIRTUAL_DEVICE.exists():
        return
    build = REPO / "build" / "firmware"
    subprocess.run(["cmake", "-S", REPO / "firmware", "-B", build, "-DTFT_TESTS=ON"], check=True)
    subprocess.run(["cmake", "--build", build, "-j2", "--target", "virtual_device"], check=True)


def outside(args: argparse.Namespace, argv: list[str]) -> int:
    if os.geteuid() != 0:
        print("bench.link needs root (network namespaces, tc)", file=sys.stderr)
        return 2
    ensure_device()

    interrupt_on_signals()
    with EmulatedLink(args.delay_ms) as link:
        n = link.names
        command = ["ip", "netns", "exec", n.server, sys.executable, "-m", "bench.link", *argv]
        command += ["--inside", "--server-ns", n.server, "--wire-ns", n.wire, "--board-ns", n.board]
        # Its own session: Ctrl-C reaches only this process, which asks the measuring side to stop
        # its devices and pipeline in order; whatever is left then is killed with the namespaces.
        child = subprocess.Popen(command, cwd=REPO, start_new_session=True)
        try:
            code = child.wait()
        except KeyboardInterrupt:
            child.send_signal(signal.SIGTERM)
            try:
                child.wait(timeout=30)
            except subprocess.TimeoutExpired:
                child.kill()
            code = 130
    print(link.wire_report, flush=True)
    return code


def interrupt_on_signals() -> None:
    """SIGINT and SIGTERM raise KeyboardInterrupt, so every `finally` runs (also when started with
    SIGINT ignored, as a shell does for background jobs)."""

    def interrupt(*_: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, interrupt)
    signal.signal(signal.SIGTERM, interrupt)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser("python -m bench.link", description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="measuring window per case (default: %(default)s)")
    parser.add_argument("--rates", default="15,5", help="link rates in Mbit/s (default: %(default)s)")
    parser.add_argument("--delay-ms", type=float, default=3.0, help="one-way delay (default: %(default)s)")
    parser.add_argument("--rx-buffer", type=int, default=5760, help="device SO_RCVBUF (default: %(default)s)")
    parser.add_argument(
        "--max-body",
        type=int,
        default=BOARD_MAX_BODY,
        help="the largest message the device buffers (default: %(default)s)",
    )
    parser.add_argument("--start-runs", type=int, default=3, help="cold starts to time (default: %(default)s)")
    for hidden in ("--server-ns", "--wire-ns", "--board-ns"):
        parser.add_argument(hidden, help=argparse.SUPPRESS)
    parser.add_argument("--inside", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.rates = [float(r) for r in args.rates.split(",") if r]
    if not args.rates or args.seconds <= 0 or args.start_runs < 0:
        parser.error("expected at least one rate, --seconds > 0, --start-runs >= 0")
    return args


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    if args.inside:
        interrupt_on_signals()
        try:
            return inside(args)
        except KeyboardInterrupt:
            print("interrupted: stopped the devices and the pipeline", flush=True)
            return 130
    return outside(args, argv)


if __name__ == "__main__":
    sys.exit(main())
