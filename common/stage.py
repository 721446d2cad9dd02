"""What every stage process shares: arguments, config, logging, signals, metrics server, sockets.

A stage module defines its logic as plain functions and a `loop(ctx)`; `run_stage` does the rest,
so each stage's `main()` is one line and the process lifecycle is the same everywhere.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from common.config import Config, ConfigError, load

if TYPE_CHECKING:
    import zmq
    from prometheus_client import CollectorRegistry

# zmq and prometheus_client (~0.06 s of CPU to import) are imported where used: devices/
# virtual_displays shares this module's arguments and logging, not its sockets or metrics.

EXIT_CONFIG = 2  # supervisord: exitcodes=0 lets a config error go FATAL after startretries
RECONNECT_MS = 20  # a refused connect on loopback costs microseconds
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


@dataclass
class StageContext:
    name: str
    config: Config
    registry: CollectorRegistry
    zmq_context: zmq.Context
    worker: int
    stop: threading.Event
    log: logging.Logger
    args: argparse.Namespace
    stop_fd: int  # readable once SIGTERM or SIGINT came: a poll that watches it needs no timeout to stop

    def poller(self) -> zmq.Poller:
        """A poller that also returns when the stage is told to stop, so an idle stage sleeps in it
        without waking up to look (a wake-up of a Python stage costs ~0.1 ms of CPU)."""
        import zmq

        poller = zmq.Poller()
        poller.register(self.stop_fd, zmq.POLLIN)
        return poller

    def socket(self, kind: int, endpoint: str, *, bind: bool, hwm: int = 4) -> zmq.SyncSocket:
        """A socket that never blocks shutdown and queues at most `hwm` messages."""
        import zmq

        sock = self.zmq_context.socket(kind)
        sock.setsockopt(zmq.LINGER, 0)
        sock.setsockopt(zmq.SNDHWM, hwm)
        sock.setsockopt(zmq.RCVHWM, hwm)
        if bind:
            sock.bind(endpoint)
        else:
            # Queue only for peers that are really there, so a dead peer does not eat messages.
            sock.setsockopt(zmq.IMMEDIATE, 1)
            # At start most peers bind after we connect: retry every 20 ms, not libzmq's 100 ms.
            sock.setsockopt(zmq.RECONNECT_IVL, RECONNECT_MS)
            sock.connect(endpoint)
        return sock

    def wait_for_peer(self, sock: zmq.SyncSocket, peer: str, limit_s: float | None = None) -> bool:
        """Wait until `sock` can send: a peer is connected with room (IMMEDIATE counts only those).

        A stage that takes input before its output reaches anyone drops what it takes: at start, a
        stage waits for the next one before it connects or binds its input, so the first picture
        is not lost to a connection still being made. False when stopped or after `limit_s`."""
        import zmq

        deadline = None if limit_s is None else time.monotonic() + limit_s
        if sock.poll(0, zmq.POLLOUT):
            return True
        self.log.info("waiting for %s", peer)
        poller = self.poller()
        poller.register(sock, zmq.POLLOUT)
        while not self.stop.is_set() and (deadline is None or time.monotonic() < deadline):
            timeout = None if deadline is None else max(1, int((deadline - time.monotonic()) * 1000))
            if sock in dict(poller.poll(timeout)):
                return True
        return False


def stage_arguments(description: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--config", default="tftstream.toml", help="config file (default: %(default)s)")
    parser.add_argument("--worker", type=int, default=0, help="worker index; metrics port = base + index")
    return parser


def run_stage(
    name: str,
    loop: Callable[[StageContext], None],
    argv: list[str] | None,
    description: str,
    add_arguments: Callable[[argparse.ArgumentParser], None] | None = None,
    metrics_port: Callable[[Config, argparse.Namespace], int] | None = None,
) -> int:
    """Run `loop` as the stage `name`: config errors (at load or raised by loop) exit with code 2."""
    import zmq
    from prometheus_client import CollectorRegistry, ProcessCollector, start_http_server

    parser = stage_arguments(description)
    if add_arguments:
        add_arguments(parser)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format=LOG_FORMAT)
    log = logging.getLogger(name if not args.worker else f"{name}.{args.worker}")
    try:
        config = load(args.config)
    except ConfigError as error:
        log.error("bad config: %s", error)
        return EXIT_CONFIG
    try:
        port = metrics_port(config, args) if metrics_port else config.metrics_ports.get(name, 0)
    except ConfigError as error:
        log.error("bad config: %s", error)
        return EXIT_CONFIG
    registry = CollectorRegistry()
    ProcessCollector(registry=registry)  # process_cpu_seconds_total etc.: which stage is the bottleneck
    if port:
        start_http_server(port + args.worker, addr=config.metrics_host, registry=registry)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    stop_fd, signalled_fd = os.pipe()
    for fd in (stop_fd, signalled_fd):
        os.set_blocking(fd, False)
    signal.set_wakeup_fd(signalled_fd, warn_on_full_buffer=False)  # Python writes each signal there at once
    context = zmq.Context()
    ctx = StageContext(name, config, registry, context, args.worker, stop, log, args, stop_fd)
    log.info("started (metrics on %s:%s)", config.metrics_host, port + args.worker if port else "-")
    try:
        loop(ctx)
    except ConfigError as error:
        log.error("bad config: %s", error)
        return EXIT_CONFIG
    finally:
        context.destroy(linger=0)
    log.info("stopped")
    return 0
