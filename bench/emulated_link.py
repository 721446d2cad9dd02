"""An emulated Wi-Fi hop between a server and a board: three network namespaces of this run, two veth
pairs, tbf for the rate and a userspace delay line (bench/wire.py) for the propagation delay.

    [server ns] tfts0 10.200.0.1 --veth-- tftw0 [wire ns: bench.wire, delay] tftw1 --veth-- 10.200.0.2 tftb0 [board ns]
                 tbf rate R (server -> board)                                     tbf rate R (board -> server)

Everything lives inside namespaces this process creates (names end in its pid), so no address,
route or qdisc of the machine's own namespace changes; deleting the namespaces removes the veths and
qdiscs with them. `EmulatedLink` is a context manager and cleans up on any exit; `kill_leftovers`
ends, by pid, any process still running inside them.

Also runnable as the board-side measuring sink (used by `goodput`):

    ip netns exec NS python -m bench.emulated_link sink --port P [--rcvbuf BYTES]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass

SERVER_IP, BOARD_IP = "10.200.0.1", "10.200.0.2"
SERVER_IF, BOARD_IF, WIRE_A, WIRE_B = "tfts0", "tftb0", "tftw0", "tftw1"
# Small burst: a Wi-Fi station sends every packet at the air rate; a big bucket would let a whole
# small frame pass at veth speed and flatter the link.
TBF = "burst 4kb latency 50ms"


@dataclass(frozen=True, slots=True)
class Namespaces:
    server: str
    wire: str
    board: str

    @classmethod
    def for_this_run(cls) -> Namespaces:
        pid = os.getpid()
        return cls(f"tft-server-{pid}", f"tft-wire-{pid}", f"tft-board-{pid}")

    def all(self) -> tuple[str, str, str]:
        return (self.server, self.wire, self.board)


def run(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(args, check=check, capture_output=True, text=True, timeout=30)


def in_ns(ns: str, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    return run("ip", "netns", "exec", ns, *args, check=check)


def shape(names: Namespaces, mbit: float) -> None:
    """Both directions at `mbit` (may be called from any namespace: it names them)."""
    for ns, interface in ((names.server, SERVER_IF), (names.board, BOARD_IF)):
        in_ns(ns, "tc", "qdisc", "replace", "dev", interface, "root", "tbf", "rate", f"{mbit}mbit", *TBF.split())


def existing_namespaces() -> set[str]:
    return {line.split()[0] for line in run("ip", "netns", "list").stdout.splitlines() if line.strip()}


def kill_leftovers(names: Namespaces) -> list[int]:
    """SIGKILL every process still inside our namespaces (all started by this run); their pids."""
    killed = []
    present = existing_namespaces()
    for ns in names.all():
        if ns not in present:
            continue
        for pid in run("ip", "netns", "pids", ns, check=False).stdout.split():
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(pid), signal.SIGKILL)
                killed.append(int(pid))
    return killed


class EmulatedLink:
    def __init__(self, delay_ms: float, names: Namespaces | None = None) -> None:
        self.delay_ms = delay_ms
        self.names = names or Namespaces.for_this_run()
        self.wire: subprocess.Popen | None = None
        self.wire_report = ""

    def __enter__(self) -> EmulatedLink:
        try:
            self._create()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _create(self) -> None:
        n = self.names
        for ns in n.all():
            run("ip", "netns", "add", ns)
            in_ns(ns, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1")
            in_ns(ns, "ip", "link", "set", "lo", "up")
        run("ip", "link", "add", SERVER_IF, "netns", n.server, "type", "veth", "peer", "name", WIRE_A, "netns", n.wire)
        run("ip", "link", "add", BOARD_IF, "netns", n.board, "type", "veth", "peer", "name", WIRE_B, "netns", n.wire)
        for ns, interface, address in ((n.server, SERVER_IF, SERVER_IP), (n.board, BOARD_IF, BOARD_IP)):
            in_ns(ns, "ip", "addr", "add", f"{address}/30", "dev", interface)
            in_ns(ns, "ip", "link", "set", interface, "up")
        for interface in (WIRE_A, WIRE_B):
            in_ns(n.wire, "ip", "link", "set", interface, "up")
        self.wire = subprocess.Popen(
            [
                "ip",
                "netns",
                "exec",
                n.wire,
                sys.executable,
                "-m",
                "bench.wire",
                WIRE_A,
                WIRE_B,
                "--delay-ms",
                str(self.delay_ms),
            ],
            stdout=subprocess.PIPE,
            text=True,
            start_new_session=True,  # Ctrl-C reaches the bench only; it takes the link down last
        )
        assert self.wire.stdout is not None
        if self.wire.stdout.readline().strip() != "ready":
            raise RuntimeError("bench.wire did not start (needs root and AF_PACKET)")

    def close(self) -> None:
        if self.wire is not None and self.wire.poll() is None:
            self.wire.terminate()
            try:
                self.wire_report = self.wire.communicate(timeout=5)[0].strip()
            except subprocess.TimeoutExpired:
                self.wire.kill()
                self.wire.wait()
        kill_leftovers(self.names)
        present = existing_namespaces()
        for ns in self.names.all():
            if ns in present:
                run("ip", "netns", "del", ns, check=False)


# --- measuring the link from the server namespace -------------------------------------------------


def _start_sink(board_ns: str, port: int, rcvbuf: int) -> subprocess.Popen:
    sink = subprocess.Popen(
        [
            "ip",
            "netns",
            "exec",
            board_ns,
            sys.executable,
            "-m",
            "bench.emulated_link",
            "sink",
            "--port",
            str(port),
            "--rcvbuf",
            str(rcvbuf),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert sink.stdout is not None
    if sink.stdout.readline().strip() != "listening":
        sink.kill()
        raise RuntimeError("the sink did not start")
    return sink


def rtt_ms(board_ns: str, port: int = 5999, count: int = 20) -> float:
    """Median TCP connect time to the board namespace (SYN out, SYN-ACK back: one round trip)."""
    sink = _start_sink(board_ns, port, 0)
    try:
        times = []
        for _ in range(count):
            with socket.socket() as s:
                started = time.perf_counter()
                s.connect((BOARD_IP, port))
                times.append((time.perf_counter() - started) * 1000)
            time.sleep(0.01)
        return statistics.median(times)
    finally:
        sink.terminate()
        sink.wait(timeout=5)


def goodput_bytes_per_s(board_ns: str, seconds: float, rcvbuf: int = 0, port: int = 5998) -> float:
    """Bytes per second a TCP stream delivers to a reader in the board namespace that reads at once,
    its receive buffer `rcvbuf` (0: the OS default; 5760: a board's lwIP window)."""
    sink = _start_sink(board_ns, port, rcvbuf)
    try:
        block = bytes(65536)
        with socket.create_connection((BOARD_IP, port), timeout=10) as s:
            deadline = time.monotonic() + seconds
            while time.monotonic() < deadline:
                s.sendall(block)
        assert sink.stdout is not None
        received, elapsed = sink.stdout.readline().split()
        return int(received) / float(elapsed)
    finally:
        sink.terminate()
        sink.wait(timeout=5)


def sink(port: int, rcvbuf: int) -> int:
    """Accept connections; after each one that carried data print `bytes seconds` (first to last byte)."""
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if rcvbuf:
        server.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)  # inherited: sets the window
    server.bind((BOARD_IP, port))
    server.listen(16)
    print("listening", flush=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    while True:
        conn, _ = server.accept()
        with conn:
            total, first, last = 0, 0.0, 0.0
            while chunk := conn.recv(65536):
                last = time.perf_counter()
                first = first or last
                total += len(chunk)
        if total:
            print(total, max(last - first, 1e-6), flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser("python -m bench.emulated_link", description=__doc__.splitlines()[0])
    parser.add_argument("mode", choices=["sink"])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--rcvbuf", type=int, default=0)
    args = parser.parse_args(argv)
    return sink(args.port, args.rcvbuf)


if __name__ == "__main__":
    sys.exit(main())
