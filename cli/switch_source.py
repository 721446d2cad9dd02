"""Switch which source a display shows, at run time: `python -m cli.switch_source main bios_screen`.

`auto` hands the display back to the rule (the newest attached source, else the configured one);
with no arguments it lists what every display shows now. It talks to encode_damage over the
pipeline's own sockets and waits until encode_damage reports the change, so success is real.
"""

from __future__ import annotations

import argparse
import sys
import time

import zmq

from common.config import ConfigError, load
from common.control import TOPIC, Showing, Switch, decode_showing, encode_switch

WAIT_S = 5.0


def listen(context: zmq.Context, endpoint: str) -> zmq.Socket:
    sock = context.socket(zmq.SUB)
    sock.setsockopt(zmq.LINGER, 0)
    sock.setsockopt(zmq.SUBSCRIBE, TOPIC)
    sock.connect(endpoint)
    return sock


def next_showing(sock: zmq.Socket, deadline: float) -> Showing | None:
    while (left := deadline - time.monotonic()) > 0:
        if sock.poll(int(left * 1000) + 1):
            return decode_showing(sock.recv_multipart())
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="tftstream.toml")
    parser.add_argument("display", nargs="?", help="display name; omit to list")
    parser.add_argument("source", nargs="?", help="source name, or 'auto'")
    args = parser.parse_args(argv)
    try:
        config = load(args.config)
    except ConfigError as error:
        print(f"bad config: {error}", file=sys.stderr)
        return 2
    if args.display and config.display(args.display) is None:
        print(f"no display {args.display!r} in {config.path}", file=sys.stderr)
        return 2
    if args.display and not args.source:
        parser.error("give a source name (or 'auto') after the display")
    context = zmq.Context()
    try:
        return switch(context, config, args.display, args.source) if args.display else show_all(context, config)
    finally:
        context.destroy(linger=1000)


def show_all(context: zmq.Context, config) -> int:
    sock = listen(context, config.endpoints.control)
    deadline = time.monotonic() + WAIT_S
    seen: dict[str, Showing] = {}
    while len(seen) < len(config.displays) and (showing := next_showing(sock, deadline)):
        seen[showing.display] = showing
    if not seen:
        print("no answer from encode_damage: is the pipeline running?", file=sys.stderr)
        return 1
    for showing in seen.values():
        print(f"{showing.display}: {showing.source} ({showing.waiting} board(s) waiting)")
    return 0


def switch(context: zmq.Context, config, display: str, source: str) -> int:
    wanted = None if source == "auto" else source
    sock = listen(context, config.endpoints.control)
    push = context.socket(zmq.PUSH)
    push.connect(config.endpoints.demands)
    push.send(encode_switch(Switch(display, wanted)))
    deadline = time.monotonic() + WAIT_S
    while showing := next_showing(sock, deadline):
        if showing.display == display and (wanted is None or showing.source == wanted):
            print(f"{display} now shows {showing.source}")
            return 0
    print(f"encode_damage did not confirm the switch within {WAIT_S:.0f} s: is the pipeline running?", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
