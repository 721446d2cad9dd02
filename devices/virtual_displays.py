"""Virtual displays: one virtual board per configured display, and a live view of them.

Consumes the egress's board port exactly as real boards would (protocol v1) and produces
`run/<display>.png`, refreshed while frames arrive, plus a page at http://<metrics host>:<preview
port>/ that shows every display live. This is the "no hardware" display of the default pipeline.
Each board is the C++ virtual device (build/firmware/virtual_device: the board's own core) when it
is built, else the Python reference board; they start once the egress listens, so that a pipeline
starting up does not send them into their reconnect backoff.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import http.server
import logging
import socket
import struct
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from common.config import Config, ConfigError, load
from common.stage import EXIT_CONFIG, LOG_FORMAT, stage_arguments

log = logging.getLogger("virtual_displays")

PAGE = """<!doctype html><meta charset="utf-8"><title>tftstream displays</title>
<style>body{{background:#222;color:#ccc;font:14px sans-serif}} figure{{display:inline-block;margin:12px}}
img{{image-rendering:pixelated;border:1px solid #555}}</style>
{figures}
<script>setInterval(()=>document.querySelectorAll('img').forEach(i=>{{
 const n=new Image(); n.onload=()=>{{i.src=n.src}}; n.src=i.dataset.src+'?'+Date.now()}}),250)</script>"""
FIGURE = (
    '<figure><img data-src="{name}.png" src="{name}.png" width="{w}" height="{h}">'
    "<figcaption>{name}</figcaption></figure>"
)


@dataclass(frozen=True, slots=True)
class VirtualBoard:
    """One configured display's board: where it connects, what it says it is, where its PNG goes."""

    host: str
    port: int
    display: str
    width: int
    height: int
    token: str
    png: Path


def virtual_boards(config: Config, run_dir: Path) -> list[VirtualBoard]:
    host = "127.0.0.1" if config.egress.host in ("0.0.0.0", "::", "") else config.egress.host
    return [
        VirtualBoard(host, config.egress.port, d.name, *d.panel_size, config.egress.token, run_dir / f"{d.name}.png")
        for d in config.displays
    ]


VIRTUAL_DEVICE = Path(__file__).resolve().parent.parent / "build" / "firmware" / "virtual_device"
EGRESS_POLL_S = 0.01  # a look costs ~0.05 ms (see `listening`)
EGRESS_WAIT_S = 30.0  # then start anyway: the boards retry by themselves


def device_command(board: VirtualBoard) -> list[str]:
    return [
        str(VIRTUAL_DEVICE),
        *("--host", board.host, "--port", str(board.port), "--display", board.display),
        *("--size", f"{board.width}x{board.height}", "--png", str(board.png), "--png-every-ms", "250"),
        *(("--token", board.token) if board.token else ()),
    ]


async def run_device(board: VirtualBoard) -> None:
    """The C++ device reconnects by itself; restart it only if it exits (it logs why)."""
    while True:
        process = await asyncio.create_subprocess_exec(*device_command(board), stdout=asyncio.subprocess.PIPE)
        try:
            assert process.stdout is not None
            connected = False  # streaming, and no frame drawn yet on this connection
            async for line in process.stdout:
                text = line.decode(errors="replace").rstrip()
                if text.startswith("frame:"):
                    if connected:
                        log.info("%s: first frame drawn (%s)", board.display, text.removeprefix("frame: "))
                    connected = False
                elif not text.startswith("stats:"):
                    log.info("%s: %s", board.display, text)
                    connected = text == "state: streaming"
            code = await process.wait()
        finally:
            if process.returncode is None:
                process.terminate()
                await process.wait()
        log.warning("%s: virtual device exited with code %d; restarting in 2 s", board.display, code)
        await asyncio.sleep(2)


async def keep_connected(board: VirtualBoard) -> None:
    """Reconnect with capped exponential backoff, as a board does."""
    # Imported here: numpy and the decoders take a tenth of a second of CPU that the C++ device's
    # path does not need while every stage is starting.
    from devices.reference_display import BoardOptions, ReferenceBoard

    options = BoardOptions(board.host, board.port, board.display, board.width, board.height, board.token, png=board.png)
    backoff = 0.1
    while True:
        drawn = False  # a frame on this connection

        def on_frame_end(seq: int, _framebuffer: object) -> None:
            nonlocal drawn
            if not drawn:
                log.info("%s: first frame drawn (seq=%d)", options.display, seq)
            drawn = True

        try:
            reason = await ReferenceBoard(options, on_frame_end).run()
            backoff = 0.1
        except OSError as error:
            reason = f"cannot connect: {error.strerror}"
            backoff = min(backoff * 2, 2.0)
        log.info("%s: %s; reconnecting in %.1f s", options.display, reason, backoff)
        await asyncio.sleep(backoff)


def serve_preview(config: Config, run_dir: Path) -> None:
    figures = "".join(FIGURE.format(name=d.name, w=2 * d.panel_size[0], h=2 * d.panel_size[1]) for d in config.displays)
    page = PAGE.format(figures=figures).encode()

    class Handler(http.server.SimpleHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path in ("/", "/index.html"):
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.end_headers()
                self.wfile.write(page)
            else:
                super().do_GET()

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(
        (config.metrics_host, config.preview_port), functools.partial(Handler, directory=str(run_dir))
    )
    threading.Thread(target=server.serve_forever, daemon=True).start()
    log.info("live view on http://%s:%d/", config.metrics_host, config.preview_port)


def listening(port: int) -> bool | None:
    """Whether a socket in this network namespace listens on TCP `port` (a probe connection would
    reach the egress as a board without a hello); None where the system does not tell.

    Linux: asked of the kernel's sock_diag (as `ss -lt` does), ~0.05 ms of CPU. Reading
    /proc/net/tcp walks every bucket of the connection table (ms per read on a machine with much
    memory) and psutil.net_connections() also maps each socket to its process (~10 ms): every
    EGRESS_POLL_S while a dozen programs start on the same cores, CPU the pipeline's start lacked."""
    try:
        ports = listening_ports(socket.AF_INET)
    except (OSError, AttributeError):  # no AF_NETLINK (macOS, BSD), or sock_diag not allowed here
        return _listening_psutil(port)
    with contextlib.suppress(OSError):  # a kernel without IPv6
        ports |= listening_ports(socket.AF_INET6)
    return port in ports


NETLINK_SOCK_DIAG = 4
SOCK_DIAG_BY_FAMILY = 20
NLM_F_REQUEST, NLM_F_DUMP = 0x1, 0x300
NLMSG_ERROR, NLMSG_DONE = 2, 3
TCP_LISTEN = 10
NLMSG_HEADER = struct.Struct("=IHHII")  # nlmsghdr: length, type, flags, seq, pid
INET_DIAG_REQ = struct.Struct("=BBBxI48x")  # inet_diag_req_v2: family, protocol, ext, states, any socket id
SPORT = struct.Struct(">H")  # inet_diag_msg's source port, after family, state, timer, retrans


def listening_ports(family: int) -> set[int]:
    """The local ports of every listening TCP socket of `family` (Linux, sock_diag netlink). Asking
    for listening sockets only, the kernel walks its listening table and not the connections."""
    with socket.socket(socket.AF_NETLINK, socket.SOCK_DGRAM, NETLINK_SOCK_DIAG) as sock:
        body = INET_DIAG_REQ.pack(family, socket.IPPROTO_TCP, 0, 1 << TCP_LISTEN)
        flags = NLM_F_REQUEST | NLM_F_DUMP
        sock.send(NLMSG_HEADER.pack(NLMSG_HEADER.size + len(body), SOCK_DIAG_BY_FAMILY, flags, 1, 0) + body)
        ports: set[int] = set()
        while data := sock.recv(65536):
            offset = 0
            while offset + NLMSG_HEADER.size <= len(data):
                length, kind, _, _, _ = NLMSG_HEADER.unpack_from(data, offset)
                if kind == NLMSG_DONE:
                    return ports
                if kind == NLMSG_ERROR or not NLMSG_HEADER.size + 6 <= length <= len(data) - offset:
                    raise OSError(f"sock_diag answered {data[offset : offset + 32]!r}")
                ports.add(SPORT.unpack_from(data, offset + NLMSG_HEADER.size + 4)[0])
                offset += (length + 3) & ~3  # messages are 4-byte aligned
        return ports


def _listening_psutil(port: int) -> bool | None:
    import psutil  # only where sock_diag is missing: slow (see `listening`), and may need root

    try:
        sockets = psutil.net_connections("tcp")
    except psutil.AccessDenied:
        return None
    return any(s.status == psutil.CONN_LISTEN and s.laddr and s.laddr.port == port for s in sockets)


async def egress_listening(port: int, limit_s: float = EGRESS_WAIT_S) -> None:
    """Return once the egress listens (at most `limit_s`; at once where that cannot be seen).

    Started together with the egress, a board would find nobody there and back off (0.2 s doubling
    to 5 s), so its first frame could wait seconds after the egress is up."""
    deadline = time.monotonic() + limit_s
    if listening(port) is False:
        log.info("waiting for the egress to listen on port %d", port)
        while listening(port) is False and time.monotonic() < deadline:
            await asyncio.sleep(EGRESS_POLL_S)


async def run(config: Config) -> None:
    run_dir = config.path.parent / "run"
    run_dir.mkdir(exist_ok=True)
    if config.preview_port:
        serve_preview(config, run_dir)
    if VIRTUAL_DEVICE.exists():
        log.info("boards: the C++ virtual device %s", VIRTUAL_DEVICE)
        run_board = run_device
    else:
        log.info("boards: the Python reference board (build the C++ virtual device with ./start or ./check)")
        run_board = keep_connected
    await egress_listening(config.egress.port)
    await asyncio.gather(*(run_board(board) for board in virtual_boards(config, run_dir)))


def main(argv: list[str] | None = None) -> int:
    args = stage_arguments(__doc__.splitlines()[0]).parse_args(argv)
    logging.basicConfig(level=logging.INFO, format=LOG_FORMAT)
    try:
        config = load(args.config)
    except ConfigError as error:
        log.error("bad config: %s", error)
        return EXIT_CONFIG
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run(config))
    return 0


if __name__ == "__main__":
    sys.exit(main())
