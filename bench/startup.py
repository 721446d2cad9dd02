"""Cold start on loopback: from starting supervisord to the first pixel on a virtual device; figures, no pass/fail.

    python -m bench.startup [--runs 3] [--timeout 30] [--keep-path] [--nice -10]

Runs the shipped supervisord.conf and tftstream.toml (every program, the three displays, mDNS
advertising and the live view as shipped) in a temporary directory, every port moved to a free
one, as tests/harness.py's Pipeline does, plus a `tap` endpoint. Programs find `python3` and
`supervisord` in this interpreter's bin directory first, as `./start` does with `.venv/bin`
(`--keep-path`: the PATH as it is, e.g. with pyenv's shims, each a bash script costing ~0.1 s).

Everything is read afterwards from what the run leaves, so nothing polls the stages while they
start: supervisord's log (its own start, each `spawned:`), each program's log (its first line:
imports, config and metrics server done; serve_boards' "serving boards": the egress listens, its
"connected as": a board said hello; virtual_displays' "first frame drawn": the C++ device parsed
the first frame's end, drew it and queued its ACK), and a SUB on the tap (the capture stamp of the
first picture encode_damage accepted, and its number: above 1, earlier pictures were lost on the
way). CPU seconds per program are read when the first pixel appears, and every picture counted as
dropped on the way so far. All times are this machine's wall clock (the logs have millisecond
stamps), in seconds after supervisord was started.

`--nice -10` (as root) runs it all at a higher priority, for figures on a machine that other work
shares: closer to having the CPU alone.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import psutil
import zmq

from common.config import Config, load
from common.frames import decode_frame
from tests.harness import REPO, Pipeline, free_port, scrape, wait_for

STAMP = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) (.*)$")
SPAWNED = re.compile(r"spawned: '([^']+)' with pid")
FIRST_FRAME = re.compile(r"virtual_displays: (\w+): first frame drawn")
CRITICAL = ("draw_cpu_monitor", "gather_frames", "correct_color_0", "encode_damage", "serve_boards", "virtual_displays")
OTHERS = ("correct_color_1", "draw_bios_screen", "capture_screen", "capture_window", "draw_prometheus")


def shipped_config(directory: Path) -> tuple[Path, str]:
    """tftstream.toml with every port moved to a free one and a tap added: (path, tap endpoint)."""
    tap = f"tcp://127.0.0.1:{free_port()}"
    section, lines = "", []
    for line in (REPO / "tftstream.toml").read_text().splitlines():
        header = re.match(r"^\[+([^\]]+)\]+", line)
        if header:
            section = header.group(1)
        elif section == "pipeline" or "tcp://" in line:
            line = re.sub(r"tcp://([\d.]+):\d+", lambda m: f"tcp://{m.group(1)}:{free_port()}", line)
        elif section == "metrics.ports" or re.match(r"^\s*(port|metrics_port)\s*=", line):
            line = re.sub(r"^(\s*\w+\s*=\s*)\d+", lambda m: f"{m.group(1)}{free_port()}", line)
        lines.append(line)
        if line.startswith("[pipeline]"):
            lines.append(f'tap = "{tap}"')
    path = directory / "tftstream.toml"
    path.write_text("\n".join(lines) + "\n")
    return path, tap


class FirstFrames:
    """A SUB on encode_damage's tap: per display, the first frame it accepted (arrival, source, seq, capture)."""

    def __init__(self, endpoint: str) -> None:
        self.first: dict[str, tuple[float, str, int, float]] = {}
        self._context = zmq.Context()
        self._sock = self._context.socket(zmq.SUB)
        self._sock.setsockopt(zmq.LINGER, 0)
        self._sock.setsockopt(zmq.SUBSCRIBE, b"")
        self._sock.setsockopt(zmq.RECONNECT_IVL, 5)  # joined before encode_damage binds: catch its first frame
        self._sock.connect(endpoint)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            if self._sock.poll(50):
                header, _ = decode_frame(self._sock.recv_multipart())
                now = time.time()
                if header.display not in self.first:
                    self.first[header.display] = (now, header.source, header.seq, header.captured_ns / 1e9)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._context.destroy(linger=0)


def stamped(path: Path) -> list[tuple[float, str]]:
    """(epoch seconds, rest of line) of each line that starts with a log time stamp."""
    out = []
    for line in path.read_text(errors="replace").splitlines() if path.exists() else []:
        match = STAMP.match(line)
        if match:
            out.append((datetime.strptime(match.group(1), "%Y-%m-%d %H:%M:%S,%f").timestamp(), match.group(2)))
    return out


def first(lines: list[tuple[float, str]], text: str = "") -> float | None:
    return next((at for at, line in lines if text in line), None)


@dataclass
class StartRun:
    events: dict[str, float | None] = field(default_factory=dict)  # label -> seconds after the start
    spawned: dict[str, float] = field(default_factory=dict)  # program -> seconds
    ready: dict[str, float | None] = field(default_factory=dict)  # program -> its first log line
    cpu: dict[str, float] = field(default_factory=dict)  # program -> CPU seconds at the first pixel
    first_seq: int | None = None  # the source's number of that picture: 1 = its very first
    losses: list[str] = field(default_factory=list)  # pictures dropped on the way, at the first pixel
    notes: list[str] = field(default_factory=list)


def program_cpu(pipe: Pipeline) -> dict[str, float]:
    """CPU seconds (user + system) of each program so far, its children (the C++ devices) included."""
    names = {int(pid): name for name, pid in supervised_pids(pipe).items()}
    out: dict[str, float] = {}
    try:
        supervisord = psutil.Process(pipe.process.pid)
        times = supervisord.cpu_times()
        out["supervisord"] = times.user + times.system
        children = supervisord.children()
    except psutil.Error:
        return out
    for child in children:
        try:
            total = sum(cpu_seconds(p) for p in [child, *child.children(recursive=True)])
        except psutil.Error:
            continue
        out[names.get(child.pid, str(child.pid))] = total
    return out


def cpu_seconds(process: psutil.Process) -> float:
    """Its own user + system time and its waited-for children's (e.g. cpuinfo's helper process)."""
    times = process.cpu_times()
    return times.user + times.system + times.children_user + times.children_system


def supervised_pids(pipe: Pipeline) -> dict[str, int]:
    """Program (process) name -> pid, from supervisord's `spawned:` lines."""
    pids = {}
    for _, line in stamped(pipe.directory / "run" / "supervisord.log"):
        match = re.search(r"spawned: '([^']+)' with pid (\d+)", line)
        if match:
            pids[match.group(1)] = int(match.group(2))
    return pids


def losses(config: Config) -> list[str]:
    """The pictures lost on the way so far: every non-zero `..._dropped_total` sample of the stages
    a picture of the CPU monitor crosses, and how many it sent."""
    ports = {name: config.metrics_ports.get(name, 0) for name in ("gather_frames", "encode_damage")}
    ports |= {f"correct_color_{i}": config.metrics_ports.get("correct_color", 0) + i for i in (0, 1)}
    source = config.sources.get("cpu_monitor")
    ports["draw_cpu_monitor"] = source.metrics_port if source else 0
    out = []
    for name, port in ports.items():
        try:
            text = scrape(port)
        except OSError as error:
            out.append(f"{name}: no metrics ({error})")
            continue
        for line in text.splitlines():
            if line.startswith("#") or not line.strip() or line.endswith(" 0.0"):
                continue
            if "_dropped_total" in line or "frames_sent_total" in line:
                out.append(f"{name}: {line}")
    return out


def measure(timeout: float, env: dict[str, str]) -> StartRun:
    run = StartRun()
    with tempfile.TemporaryDirectory() as folder:
        directory = Path(folder)
        config, tap_endpoint = shipped_config(directory)
        displays = re.findall(r'(?m)^name = "(\w+)"', config.read_text())
        tap = FirstFrames(tap_endpoint)
        started = time.time()
        pipe = Pipeline(directory, env)
        log_dir = directory / "run"
        cpu: dict[str, float] = {}
        try:

            def pixels() -> set[str]:
                return {
                    m.group(1)
                    for _, line in stamped(log_dir / "virtual_displays.log")
                    if (m := FIRST_FRAME.search(line))
                }

            def first_pixel() -> bool:
                nonlocal cpu
                if cpu or displays[0] in pixels():
                    cpu = cpu or program_cpu(pipe)
                    return True
                return False

            wait_for(first_pixel, timeout, f"a first frame on '{displays[0]}'", interval=0.02)
            run.losses = losses(load(config))

            wait_for(lambda: pixels() >= set(displays), timeout, "a first frame on every display", interval=0.05)
        except AssertionError as error:
            run.notes.append(str(error))
        finally:
            tap.close()
            pipe.stop()
        run.cpu = cpu
        read_logs(run, log_dir, displays, tap, started)
    return run


def read_logs(run: StartRun, log_dir: Path, displays: list[str], tap: FirstFrames, started: float) -> None:
    """Fill `run` from what the run left: supervisord's and each program's log, and the tap."""
    events = run.events
    supervisor = stamped(log_dir / "supervisord.log")
    events["supervisord logging (imports, config done)"] = first(supervisor)
    events["supervisord ready (pidfile, main loop)"] = first(supervisor, "supervisord started with pid")
    for at, line in supervisor:
        match = SPAWNED.search(line)
        if match:
            run.spawned.setdefault(match.group(1), at - started)
    for program in (*CRITICAL, *OTHERS):
        run.ready[program] = first(stamped(log_dir / f"{program}.log"))
    serve = stamped(log_dir / "serve_boards.log")
    devices = stamped(log_dir / "virtual_displays.log")
    main = displays[0]
    events["egress listening (serve_boards)"] = first(serve, "serving boards on")
    events[f"device '{main}' first connect attempt"] = first(devices, f"{main}: state: connecting")
    events[f"board '{main}' hello accepted"] = first(serve, f"connected as {main}@")
    if main in tap.first:
        arrived, _, run.first_seq, captured = tap.first[main]
        events[f"first picture for '{main}' at encode_damage: drawn"] = captured
        events["  ... and accepted by encode_damage"] = arrived
    for display in displays:
        events[f"first frame drawn on '{display}'"] = first(devices, f"{display}: first frame drawn")
    pixel = events[f"first frame drawn on '{main}'"] or float("inf")
    for program in (*CRITICAL, *OTHERS):
        warnings = [line for at, line in stamped(log_dir / f"{program}.log") if at <= pixel and "WARNING" in line]
        run.notes += [f"{program} before the first pixel: {line}" for line in warnings]
    failed = [line for _, line in devices if f"{main}: drop: reason=connect_failed" in line]
    run.notes.append(f"'{main}' connect failures before the egress listened: {len(failed)}")
    for label, when in events.items():
        events[label] = None if when is None else when - started
    run.ready = {p: None if when is None else when - started for p, when in run.ready.items()}


def series(values: list[float | None]) -> str:
    cells = [f"{v:6.2f}" if v is not None else "     -" for v in values]
    known = [v for v in values if v is not None]
    median = f"{statistics.median(known):6.2f}" if known else "     -"
    return "  ".join(cells) + f"  | {median}"


def report(runs: list[StartRun]) -> None:
    heads = "  ".join(f"run {i + 1:>2}" for i in range(len(runs)))
    print(f"\nseconds after supervisord was started     {heads}  | median")
    for label in runs[0].events:
        print(f"  {label:<48} {series([r.events.get(label) for r in runs])}")
    numbers = "  ".join(f"{r.first_seq or 0:>6}" for r in runs)
    print(f"  {'number of that first picture (1: its very first)':<48} {numbers}")
    print("\nper program: spawned by supervisord / first log line (imports, config, metrics server done)")
    for program in (*CRITICAL, *OTHERS):
        spawned = series([r.spawned.get(program) for r in runs])
        ready = series([r.ready.get(program) for r in runs])
        marker = "*" if program in CRITICAL else " "
        print(f" {marker}{program:<18} spawned {spawned}   ready {ready}")
    print("  (* on the path of the first pixel)")
    print("\nCPU seconds (user + system) by the first pixel, per program (virtual_displays with its devices)")
    names = ["supervisord", *CRITICAL, *OTHERS]
    for name in names:
        print(f"  {name:<20} {series([r.cpu.get(name) for r in runs])}")
    print(f"  {'all':<20} {series([sum(r.cpu.values()) if r.cpu else None for r in runs])}")
    for i, run in enumerate(runs):
        for loss in run.losses:
            print(f"run {i + 1}: at the first pixel, {loss}")
        for note in run.notes:
            print(f"run {i + 1}: {note}")


def environment(keep_path: bool) -> dict[str, str]:
    env = dict(os.environ)
    if not keep_path:
        env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    return env


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser("python -m bench.startup", description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="cold starts (default: %(default)s)")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds to wait for a first pixel")
    parser.add_argument("--keep-path", action="store_true", help="run python3 and supervisord as PATH finds them")
    parser.add_argument(
        "--nice",
        type=int,
        default=None,
        help="run at this nice value (e.g. -10 as root: a machine shared with other work)",
    )
    parser.add_argument("--pause", type=float, default=3.0, help="seconds between runs (default: %(default)s)")
    args = parser.parse_args(argv)
    env = environment(args.keep_path)
    if args.nice is not None:
        os.setpriority(os.PRIO_PROCESS, 0, args.nice)  # supervisord and every program inherit it
    supervisord = shutil.which("supervisord", path=env["PATH"])
    python = shutil.which("python3", path=env["PATH"])
    print(f"machine: {os.cpu_count()} logical cores; supervisord {supervisord}, python3 {python}")
    bytecode = os.environ.get("PYTHONDONTWRITEBYTECODE", "")
    print(f"nice {os.getpriority(os.PRIO_PROCESS, 0)}, PYTHONDONTWRITEBYTECODE={bytecode!r}")
    runs = []
    for i in range(args.runs):
        if i:
            time.sleep(args.pause)  # let the previous run's processes go
        load = " ".join(f"{v:.2f}" for v in os.getloadavg())
        print(f"run {i + 1}: load average before {load}", flush=True)
        runs.append(measure(args.timeout, env))
    report(runs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
