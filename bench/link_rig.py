"""The parts bench.link drives: the real pipeline under supervisord (tests/harness.py, with a chosen
subset of programs), a source pushing a workload at a steady rate, a tap that notes each frame's
capture time (and, while asked, its pixels), C++ virtual devices whose output lines are timestamped
as they arrive, and the egress's latency histogram.

All times are `time.time_ns()` of this machine: the source stamps capture with it, the device lines
are stamped with it on arrival (the device flushes every line), so the difference is end to end.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import threading
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import psutil
import zmq

from bench.link_workloads import Workload
from common.frames import decode_frame
from common.source import connect_sender
from tests.harness import REPO, Pipeline

VIRTUAL_DEVICE = REPO / "build" / "firmware" / "virtual_device"
PIPELINE_CORE = ("gather_frames", "correct_color", "encode_damage", "serve_boards")
# What the firmware announces (platformio.ini, TFTSTREAM_MAX_BODY): a whole RECT fits lwIP's 5.7 KB
# window, so the next one arrives while the panel draws this one.
BOARD_MAX_BODY = 4096


def supervisord_conf(programs: tuple[str, ...] | None) -> str:
    """The shipped supervisord.conf, keeping only `programs` (None: all of them)."""
    text = (REPO / "supervisord.conf").read_text()
    if programs is None:
        return text
    sections = re.split(r"(?m)^(?=\[)", text)
    kept = [s for s in sections if not s.startswith("[program:") or s[9 : s.index("]")] in programs]
    return "".join(kept)


class BenchPipeline(Pipeline):
    """tests.harness.Pipeline with a subset of the programs: the bench's own source and devices
    stand in for the painters and the virtual displays, so those do not compete for the CPU."""

    def __init__(self, directory: Path, programs: tuple[str, ...] | None = PIPELINE_CORE) -> None:
        self.directory = directory
        (directory / "run").mkdir(exist_ok=True)
        (directory / "supervisord.conf").write_text(supervisord_conf(programs))
        self.env = {**os.environ, "PYTHONPATH": str(REPO)}
        self.started_ns = time.time_ns()
        self.process = subprocess.Popen(
            ["supervisord", "-c", str(directory / "supervisord.conf")],
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
        )

    def cpu_seconds(self) -> float:
        """CPU time of every process under supervisord so far (user + system)."""
        total = 0.0
        with contextlib.suppress(psutil.Error):
            for child in psutil.Process(self.process.pid).children(recursive=True):
                with contextlib.suppress(psutil.Error):
                    times = child.cpu_times()
                    total += times.user + times.system
        return total


class FrameFeeder:
    """Pushes the current workload's pictures at `fps` from a thread, each stamped at its push, through
    FrameSender like any source (latest wins: when the pipeline is busy a picture is dropped)."""

    def __init__(self, endpoint: str, fps: float = 60.0, source: str = "pattern", display: str = "main") -> None:
        self.fps, self.display = fps, display
        self._context = zmq.Context()
        self.sender = connect_sender(self._context, endpoint, source, refresh_s=0.5, hwm=4)
        self.offered = self.taken = 0
        self._frames: tuple[np.ndarray, ...] = ()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def play(self, workload: Workload) -> None:
        self._frames = workload.frames

    def _run(self) -> None:
        period, index = 1.0 / self.fps, 0
        next_at = time.monotonic()
        while not self._stop.is_set():
            frames = self._frames
            if frames:
                picture = frames[index % len(frames)]
                index += 1
                self.offered += 1
                self.taken += bool(self.sender.send(self.display, picture, captured_ns=time.time_ns()))
            next_at += period
            delay = next_at - time.monotonic()
            if delay < -0.1:  # fell far behind (a stall): restart the schedule instead of bursting
                next_at, delay = time.monotonic(), 0.0
            self._stop.wait(max(0.0, delay))

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._context.destroy(linger=0)


class LightTap:
    """Every frame encode_damage accepts: seq -> capture time."""

    def __init__(self, endpoint: str) -> None:
        self.captured: dict[int, int] = {}
        self.first_ns = 0  # arrival of the first frame
        self._context = zmq.Context()
        self._sock = self._context.socket(zmq.SUB)
        self._sock.setsockopt(zmq.LINGER, 0)
        self._sock.setsockopt(zmq.RCVHWM, 1000)
        self._sock.setsockopt(zmq.SUBSCRIBE, b"")
        self._sock.connect(endpoint)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            if self._sock.poll(100):
                header, _ = decode_frame(self._sock.recv_multipart())
                self.first_ns = self.first_ns or time.time_ns()
                self.captured[header.seq] = header.captured_ns

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._context.destroy(linger=0)


@dataclass(frozen=True, slots=True)
class FrameLine:
    at_ns: int
    seq: int
    rects: int
    bytes: int
    pushed: int  # the panel's pixels written so far
    read: int  # and read back (COPY, RECOLOR)


FRAME_LINE = re.compile(r"frame: seq=(\d+) rects=(\d+) bytes=(\d+) pushed=(\d+) read=(\d+)")


class Device:
    """A C++ virtual device (optionally inside a network namespace); its lines, stamped on arrival."""

    def __init__(
        self,
        host: str,
        port: int,
        namespace: str | None = None,
        spi_mhz: float = 40,
        rx_buffer: int = 5760,
        max_body: int = BOARD_MAX_BODY,
        display: str = "main",
        size: str = "320x240",
    ) -> None:
        prefix = ["ip", "netns", "exec", namespace] if namespace else []  # ip netns exec execs: same pid
        command = [*prefix, str(VIRTUAL_DEVICE), "--host", host, "--port", str(port), "--display", display]
        command += [
            "--size",
            size,
            "--spi-mhz",
            str(spi_mhz),
            "--rx-buffer",
            str(rx_buffer),
            "--max-body",
            str(max_body),
        ]
        self.frames: list[FrameLine] = []
        self.lines: list[tuple[int, str]] = []  # every other line (state, drop, ...)
        self.started_ns = time.time_ns()
        self.process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, bufsize=1)
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            now = time.time_ns()
            match = FRAME_LINE.match(line)
            if match:
                self.frames.append(FrameLine(now, *(int(g) for g in match.groups())))
            elif not line.startswith("stats:"):
                self.lines.append((now, line.strip()))

    def first(self, prefix: str) -> int | None:
        """Arrival time of the first line starting with `prefix` ("frame:" for the first frame)."""
        if prefix == "frame:":
            return self.frames[0].at_ns if self.frames else None
        return next((at for at, line in list(self.lines) if line.startswith(prefix)), None)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._thread.join(timeout=5)


LATENCY = "tftstream_serve_boards_latency_seconds_bucket"


def latency_buckets(port: int) -> dict[float, float]:
    """The egress's cumulative latency histogram: upper bound -> count."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        text = response.read().decode()
    buckets = {}
    for match in re.finditer(rf'^{LATENCY}{{le="([^"]+)"}} (\S+)$', text, re.M):
        buckets[float(match.group(1))] = float(match.group(2))
    return buckets


def histogram_quantile(q: float, before: dict[float, float], after: dict[float, float]) -> float | None:
    """Prometheus' histogram_quantile over the observations between two scrapes (linear in a bucket)."""
    bounds = sorted(after)
    counts = [after[b] - before.get(b, 0.0) for b in bounds]
    total = counts[-1] if counts else 0
    if total <= 0:
        return None
    rank, lower, below = q * total, 0.0, 0.0
    for bound, count in zip(bounds, counts, strict=True):
        if count >= rank:
            if bound == float("inf"):
                return lower
            return lower + (bound - lower) * (rank - below) / max(count - below, 1e-9)
        lower, below = bound, count
    return lower
