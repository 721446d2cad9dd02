"""Virtual displays: one virtual board per configured display, and a live view of them.

Consumes the egress's board port exactly as real boards would (protocol v1) and produces
`run/<display>.png`, refreshed while frames arrive, plus a page at http://<metrics host>:<preview
port>/ that shows every display live. This is the "no hardware" display of the default pipeline.
Each board is the C++ virtual device (build/firmware/virtual_device: the board's own core) when it
is built, else the Python reference board.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import http.server
import logging
import sys
import threading
from pathlib import Path

from common.config import Config, ConfigError, load
from common.stage import EXIT_CONFIG, LOG_FORMAT, stage_arguments
from devices.reference_display import BoardOptions, ReferenceBoard

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


def board_options(config: Config, run_dir: Path) -> list[BoardOptions]:
    host = "127.0.0.1" if config.egress.host in ("0.0.0.0", "::", "") else config.egress.host
    return [
        BoardOptions(
            host, config.egress.port, d.name, *d.panel_size, config.egress.token, png=run_dir / f"{d.name}.png"
        )
        for d in config.displays
    ]


VIRTUAL_DEVICE = Path(__file__).resolve().parent.parent / "build" / "firmware" / "virtual_device"


def device_command(options: BoardOptions) -> list[str]:
    return [
        str(VIRTUAL_DEVICE),
        *("--host", options.host, "--port", str(options.port), "--display", options.display),
        *("--size", f"{options.width}x{options.height}", "--png", str(options.png), "--png-every-ms", "250"),
        *(("--token", options.token) if options.token else ()),
    ]


async def run_device(options: BoardOptions) -> None:
    """The C++ device reconnects by itself; restart it only if it exits (it logs why)."""
    while True:
        process = await asyncio.create_subprocess_exec(*device_command(options), stdout=asyncio.subprocess.PIPE)
        try:
            assert process.stdout is not None
            async for line in process.stdout:
                text = line.decode(errors="replace").rstrip()
                if not text.startswith(("frame:", "stats:")):
                    log.info("%s: %s", options.display, text)
            code = await process.wait()
        finally:
            if process.returncode is None:
                process.terminate()
                await process.wait()
        log.warning("%s: virtual device exited with code %d; restarting in 2 s", options.display, code)
        await asyncio.sleep(2)


async def keep_connected(options: BoardOptions) -> None:
    """Reconnect with capped exponential backoff, as a board does."""
    backoff = 0.1
    while True:
        try:
            reason = await ReferenceBoard(options).run()
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


async def run(config: Config) -> None:
    run_dir = config.path.parent / "run"
    run_dir.mkdir(exist_ok=True)
    if config.preview_port:
        serve_preview(config, run_dir)
    if VIRTUAL_DEVICE.exists():
        log.info("boards: the C++ virtual device %s", VIRTUAL_DEVICE)
        board = run_device
    else:
        log.info("boards: the Python reference board (build the C++ virtual device with ./start or ./check)")
        board = keep_connected
    await asyncio.gather(*(board(options) for options in board_options(config, run_dir)))


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
