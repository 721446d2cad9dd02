"""Have supervisord start its programs at once: connect to its control socket as soon as it listens.

supervisord 4.3 (the newest release) waits up to a second in its first poll of its sockets before it
first looks at its programs, so it starts nothing in its first second unless a connection ends that
wait (Supervisor/supervisor#1700 makes the first poll non-blocking; not released yet).
So supervisord.conf has supervisord knock on its own socket: its `[rpcinterface:knock]` factory,
`make_knocker`, runs inside supervisord as it opens its sockets, before its first poll, and knocks
from a thread; a bare `supervisord -c supervisord.conf` starts its programs at once.

A socket file left by an earlier run refuses the connection until supervisord replaces it, so
the knock keeps trying; it says nothing to supervisord, it only connects and hangs up.
"""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path
from typing import Any

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


class Knocker:
    """The `knock` namespace of supervisord's XML-RPC interface: it has no methods."""


def make_knocker(supervisord: Any) -> Knocker:
    """supervisord's rpcinterface factory for `[rpcinterface:knock]`: knocks on its unix_http_server
    socket (from its own parsed options) from a thread, once it listens."""
    for server in supervisord.options.server_configs:
        if server["family"] == socket.AF_UNIX:
            threading.Thread(target=knock, args=(Path(server["file"]),), name="knock", daemon=True).start()
    return Knocker()
