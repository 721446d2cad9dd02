"""Real parts for end-to-end tests: a pipeline under supervisord on random loopback ports, a tap on
the frames encode_damage accepts, and reference boards running in threads.

Every wait has a deadline that fails the test instead of hanging; everything started is stopped.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import psutil
import zmq

from common.frames import decode_frame
from common.source import connect_sender
from devices.reference_display import BoardOptions, ReferenceBoard

REPO = Path(__file__).resolve().parent.parent
STAGES = ("gather_frames", "correct_color", "encode_damage", "serve_boards", "draw_cpu_monitor", "draw_bios_screen")


_HANDED_OUT: set[int] = set()


def free_port() -> int:
    """A loopback port that is free now, whose successor is free too (colour worker 1 serves its
    metrics on port + 1), and that this process has not handed out before: one config's ports
    never collide with each other."""
    while True:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if {port - 1, port, port + 1} & _HANDED_OUT:
            continue
        with socket.socket() as s, contextlib.suppress(OSError):
            s.bind(("127.0.0.1", port + 1))
            _HANDED_OUT.update((port, port + 1))
            return port


def wait_for(condition: Callable[[], object], timeout: float, what: str, interval: float = 0.05):
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)


def scrape(port: int) -> str:
    """The /metrics text a stage serves on this port."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        return response.read().decode()


def metric_value(text: str, name: str) -> float:
    """The first sample of `name` (or of the exact labelled series `name{...}`) in metrics text."""
    for line in text.splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{"):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"{name} not in metrics")


@dataclass
class Ports:
    board: int = field(default_factory=free_port)
    legacy: int = field(default_factory=free_port)
    metrics: dict[str, int] = field(default_factory=lambda: {s: free_port() for s in STAGES})
    endpoints: dict[str, str] = field(
        default_factory=lambda: {
            k: f"tcp://127.0.0.1:{free_port()}"
            for k in ("sources", "workers", "frames", "demands", "packets", "control", "tap")
        }
    )


DEFAULT_DISPLAYS = """
[[displays]]
name = "main"
width = 320
height = 240
source = "cpu_monitor"
profile = "panel"
"""


PATTERN_DISPLAY = DEFAULT_DISPLAYS.replace('source = "cpu_monitor"', 'source = "pattern"')  # a DrivenSource's


def write_config(directory: Path, ports: Ports, displays: str = DEFAULT_DISPLAYS, extra: str = "") -> Path:
    """A complete config like the shipped one, with this test's ports; `extra` adds TOML tables."""
    endpoints = "\n".join(f'{k} = "{v}"' for k, v in ports.endpoints.items())
    metric_ports = "\n".join(f"{k} = {v}" for k, v in ports.metrics.items())
    text = f"""{displays}
[profiles.panel]
gamma = 1.0
dither = true
byte_order = "big"

[sources.cpu_monitor]
interval_s = 0.1
[sources.bios_screen]
interval_s = 0.5
[sources.screen]
kind = "screen"
metrics_port = {free_port()}
[sources.window]
kind = "window"
title = "terminal"
metrics_port = {free_port()}
[sources.prometheus]
kind = "prometheus"
metrics_port = {free_port()}
{extra}
[pipeline]
{endpoints}

[metrics]
host = "127.0.0.1"
[metrics.ports]
{metric_ports}

[preview]
port = 0
"""
    if "[egress]" not in extra:
        text += f'\n[egress]\nhost = "127.0.0.1"\nport = {ports.board}\nadvertise = false\n'
    path = directory / "tftstream.toml"
    path.write_text(text)
    return path


def stop_process(process: subprocess.Popen, sig: int = signal.SIGTERM, timeout: float = 10) -> None:
    """Signal a process and wait for it; kill it if it does not go within `timeout`."""
    if process.poll() is None:
        process.send_signal(sig)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class Daemon:
    """A process on loopback whose output goes to `log`."""

    def __init__(self, argv: list, log: Path, env: dict[str, str] | None = None) -> None:
        with log.open("ab") as out:
            self.process = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env=env)
        self.log = log

    def http_ready(self, port: int, path: str) -> bool:
        """True once it answers `path` with 200; fails the test if it exited."""
        assert self.process.poll() is None, f"exited: {self.log.read_text()[-2000:]}"
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=1) as response:
                return response.status == 200
        except OSError:
            return False

    def stop(self, sig: int = signal.SIGTERM) -> None:
        stop_process(self.process, sig)


class Pipeline:
    """The shipped supervisord.conf, run with a test's config in a temporary directory."""

    def __init__(self, directory: Path, env: dict[str, str] | None = None) -> None:
        self.directory = directory
        (directory / "run").mkdir(exist_ok=True)
        shutil.copy(REPO / "supervisord.conf", directory / "supervisord.conf")
        env = {**os.environ, "PYTHONPATH": str(REPO), **(env or {})}
        self.process = subprocess.Popen(
            ["supervisord", "-c", str(directory / "supervisord.conf")],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
        )
        self.env = env

    def ctl(self, *args: str) -> str:
        result = subprocess.run(
            ["supervisorctl", "-c", str(self.directory / "supervisord.conf"), *args],
            capture_output=True,
            text=True,
            env=self.env,
            timeout=30,
        )
        return result.stdout

    def status(self) -> dict[str, str]:
        lines = [line.split() for line in self.ctl("status").splitlines() if line.strip()]
        return {parts[0].split(":")[-1]: parts[1] for parts in lines if len(parts) >= 2}

    def wait_running(self, timeout: float = 20.0) -> None:
        def all_running() -> bool:
            status = self.status()
            return bool(status) and all(state == "RUNNING" for state in status.values())

        wait_for(all_running, timeout, "every program RUNNING", interval=0.5)

    def pid(self, program: str) -> int:
        name = f"{program}:{program}_0" if program == "correct_color" else program
        return int(self.ctl("pid", name).strip())

    def kill(self, program: str) -> int:
        pid = self.pid(program)
        os.kill(pid, signal.SIGKILL)
        return pid

    def log(self, program: str) -> str:
        path = self.directory / "run" / f"{program}.log"
        return path.read_text() if path.exists() else ""

    def stop(self) -> None:
        if self.process.poll() is None:
            # supervisord stops its programs one by one; signalling them all at once is much faster,
            # and an exit on SIGTERM is an expected exit, so supervisord does not restart them.
            for child in psutil.Process(self.process.pid).children():
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(child.pid, signal.SIGTERM)
        stop_process(self.process, timeout=20)


class Tap:
    """Records every frame encode_damage accepts: (display, epoch, seq) -> RGB565 values."""

    def __init__(self, endpoint: str) -> None:
        self.frames: dict[tuple[str, int, int], np.ndarray] = {}
        self.order: list[tuple[str, int, int]] = []
        self.arrivals: dict[tuple[str, int, int], float] = {}  # key -> monotonic time it was accepted
        self.sources: dict[tuple[str, int, int], str] = {}  # key -> the source that drew it
        self.by_capture: dict[int, tuple[str, int, int]] = {}  # capture time of the newest picture -> key
        self._stop = threading.Event()
        self._context = zmq.Context()
        self._sock = self._context.socket(zmq.SUB)
        self._sock.setsockopt(zmq.LINGER, 0)
        self._sock.setsockopt(zmq.SUBSCRIBE, b"")
        self._sock.connect(endpoint)
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            if self._sock.poll(100):
                header, pixels = decode_frame(self._sock.recv_multipart())
                key = (header.display, header.epoch, header.seq)
                self.frames[key] = pixels.copy()
                self.arrivals[key] = time.monotonic()
                self.sources[key] = header.source
                self.by_capture[header.captured_ns] = key
                self.order.append(key)

    def by_seq(self, display: str, seq: int) -> list[np.ndarray]:
        return [pixels for (d, _, s), pixels in list(self.frames.items()) if d == display and s == seq]

    def latest_source(self, display: str) -> str | None:
        keys = [k for k in list(self.order) if k[0] == display]
        return self.sources[keys[-1]] if keys else None

    def latest(self, display: str) -> np.ndarray | None:
        keys = [k for k in list(self.order) if k[0] == display]
        return self.frames[keys[-1]] if keys else None

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._sock.close()
        self._context.term()


class BoardThread:
    """A reference board in its own thread; keeps a copy of the framebuffer at every frame end."""

    def __init__(self, options: BoardOptions, reconnect: bool = True) -> None:
        self.options = options
        self.reconnect = reconnect
        self.snapshots: list[tuple[int, float, np.ndarray]] = []  # (seq, monotonic time, framebuffer)
        self.endings: list[str] = []
        self.connections = 0
        self.framebuffer: np.ndarray | None = None
        self._loop = asyncio.new_event_loop()
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._loop.run_until_complete, args=(self._main(),), daemon=True)
        self._thread.start()

    def _on_frame_end(self, seq: int, framebuffer: np.ndarray) -> None:
        self.framebuffer = framebuffer.copy()
        self.snapshots.append((seq, time.monotonic(), self.framebuffer))

    async def _main(self) -> None:
        self._stop = asyncio.Event()
        while not self._stop.is_set():
            self.connections += 1
            try:
                self.endings.append(await ReferenceBoard(self.options, self._on_frame_end).run(self._stop))
            except OSError as error:
                self.endings.append(f"cannot connect: {error}")
            if not self.reconnect:
                return
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._stop.wait(), 0.2)

    def close(self) -> None:
        if self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(timeout=5)


def board_options(ports: Ports, display: str = "main", size: tuple[int, int] = (320, 240), **kw) -> BoardOptions:
    return BoardOptions("127.0.0.1", ports.board, display, size[0], size[1], **kw)


class DrivenSource:
    """A picture source the test drives, attached like any other: `show` pushes a picture and
    returns the RGB565 frame the color stage made of it, as encode_damage accepted it."""

    def __init__(self, endpoint: str, tap: Tap, name: str = "pattern", display: str = "main") -> None:
        self.tap, self.display = tap, display
        self._context = zmq.Context()
        self.sender = connect_sender(self._context, endpoint, name, refresh_s=0.5, hwm=4)

    def warm_up(self, shape: tuple[int, int, int] = (240, 320, 3)) -> None:
        """Distinct pictures until the tap, a late SUB joiner, has seen one."""
        values = iter(range(1_000_000))

        def tap_sees_a_frame() -> bool:
            self.sender.send(self.display, np.full(shape, next(values) % 256, np.uint8))
            return bool(self.tap.order)

        wait_for(tap_sees_a_frame, 20, "the tap receiving frames", interval=0.1)

    def show(self, rgb: np.ndarray) -> np.ndarray:
        """The frame the display got from this picture (told apart by its capture time)."""
        captured = time.time_ns()
        seq = self.sender.seq + 1
        wait_for(
            lambda: self.sender.send(self.display, rgb, captured_ns=captured) or self.sender.seq >= seq,
            10,
            "the pipeline taking it",
        )
        wait_for(lambda: captured in self.tap.by_capture, 10, f"the frame of picture {seq} at encode_damage")
        return self.tap.frames[self.tap.by_capture[captured]]

    def close(self) -> None:
        self._context.destroy(linger=0)
        self.sender.close()


@contextlib.contextmanager
def pattern_pipeline(
    directory: Path, ports: Ports, extra: str = "[sources.pattern]\n", displays: str = PATTERN_DISPLAY
):
    """The pipeline with "main" showing a DrivenSource: yields (pipeline, tap, source)."""
    write_config(directory, ports, displays, extra)
    pipe = Pipeline(directory)
    tap = Tap(ports.endpoints["tap"])
    source = DrivenSource(ports.endpoints["sources"], tap)
    try:
        pipe.wait_running()
        source.warm_up()
        yield pipe, tap, source
    finally:
        source.close()
        tap.close()
        pipe.stop()
