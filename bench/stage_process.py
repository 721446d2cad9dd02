"""A stage process run as supervisord runs it, without supervisord: `python -m stages.<module>` in its own
process group, output to a log file, stopped on any exit of the bench and dying with it.

What a bench needs of it: its CPU time (all threads, or the main thread alone), whether it still runs,
whether it serves its metrics, and a stop that leaves nothing behind.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import psutil

from tests.harness import REPO, scrape

PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


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


class StageProcess:
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
    """Whether a metrics server answers on this loopback port (a stage serves once imports and config are done)."""
    try:
        scrape(port)
    except OSError:
        return False
    return True


def wait_serving(stages: Sequence[StageProcess], ports: Sequence[int], timeout_s: float = 20.0) -> None:
    """Return once every port serves metrics; RuntimeError if a stage exits first or `timeout_s` passes."""
    deadline = time.monotonic() + timeout_s
    for port in ports:
        while not serving(port):
            for stage in stages:
                stage.check_alive()
            if time.monotonic() > deadline:
                raise RuntimeError(f"no stage serves metrics on port {port} after {timeout_s:g} s")
            time.sleep(0.05)
