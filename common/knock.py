"""Have supervisord start its programs at once: connect to its control socket as soon as it listens.

supervisord 4.3 (the newest release) waits up to a second in its first poll of its sockets before it
first looks at its programs, so it starts nothing in its first second unless a connection ends that
wait (Supervisor/supervisor#1700 makes the first poll non-blocking; not released yet). A launcher
runs this beside it, e.g.

    python3 -m common.knock run/supervisor.sock & exec supervisord -c supervisord.conf

A socket file left by an earlier run refuses the connection until supervisord replaces it, so
this keeps trying; it says nothing to supervisord, it only connects and hangs up.
"""

from __future__ import annotations

import argparse
import socket
import sys
import time
from pathlib import Path

INTERVAL_S = 0.005


def knock(path: Path, timeout_s: float = 10.0) -> bool:
    """True once a connection to the unix socket `path` succeeded; False after `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while True:
        with socket.socket(socket.AF_UNIX) as sock:
            try:
                sock.connect(str(path))
                return True
            except OSError:  # not there yet, or a stale file of an earlier run
                pass
        if time.monotonic() >= deadline:
            return False
        time.sleep(INTERVAL_S)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser("python -m common.knock", description=__doc__.splitlines()[0])
    parser.add_argument("socket", type=Path, help="supervisord's unix_http_server file")
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds to keep trying (default: %(default)s)")
    args = parser.parse_args(argv)
    return 0 if knock(args.socket, args.timeout) else 1


if __name__ == "__main__":
    sys.exit(main())
