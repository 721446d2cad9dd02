"""A delay line between two network interfaces: every Ethernet frame that arrives on one leaves on the
other `--delay-ms` later, in order. The kernel here has no netem; this adds the propagation delay of
a Wi-Fi hop that tbf (the rate) cannot.

    ip netns exec NS python -m bench.wire IF_A IF_B [--delay-ms 3]

It forwards whole frames (AF_PACKET), so TCP runs end to end between the hosts on either side: the
board's receive window, its ACKs and the server's congestion control all see the delayed link, as
they would through a TCP relay they would not. PACKET_VNET_HDR carries each frame's offload state
across (a checksum left to "hardware", a GSO super-frame), so the veth offloads can stay on.
Prints `ready` once both sockets are bound, and `wire: forwarded=.. dropped=..` when stopped.
Python's timing adds up to ~0.1-1 ms of jitter on a busy machine: fine for a 3 ms figure.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import select
import signal
import socket
import sys
import time

ETH_P_ALL = 0x0003
SOL_PACKET = 263
PACKET_VNET_HDR = 15
PACKET_IGNORE_OUTGOING = 23
PACKET_OUTGOING = 4  # pkttype of frames this host sent: our own forwards, seen again
MAX_FRAME = 10 + 65536  # virtio_net_hdr + the largest GSO frame


def open_port(interface: str) -> socket.socket:
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    sock.setsockopt(SOL_PACKET, PACKET_VNET_HDR, 1)
    with contextlib.suppress(OSError):  # older kernel: outgoing frames are filtered by pkttype below
        sock.setsockopt(SOL_PACKET, PACKET_IGNORE_OUTGOING, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
    sock.bind((interface, 0))
    sock.setblocking(False)
    return sock


def run(a: str, b: str, delay_s: float, stop: list[bool]) -> tuple[int, int]:
    ports = {open_port(a): None, open_port(b): None}
    first, second = list(ports)
    other = {first: second, second: first}
    queue: collections.deque[tuple[float, socket.socket, bytes]] = collections.deque()
    forwarded = dropped = 0
    print("ready", flush=True)
    while not stop[0]:
        timeout = max(0.0, queue[0][0] - time.monotonic()) if queue else 0.5
        readable, _, _ = select.select(list(ports), [], [], timeout)
        now = time.monotonic()
        for sock in readable:
            while True:
                try:
                    data, address = sock.recvfrom(MAX_FRAME)
                except BlockingIOError:
                    break
                if address[2] != PACKET_OUTGOING:
                    queue.append((now + delay_s, other[sock], data))
        now = time.monotonic()
        while queue and queue[0][0] <= now:
            _, out, data = queue.popleft()
            try:
                out.send(data)
                forwarded += 1
            except OSError:  # ENOBUFS and friends: a lost frame, as on the air; TCP resends it
                dropped += 1
    for sock in ports:
        sock.close()
    return forwarded, dropped


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser("python -m bench.wire", description=__doc__.splitlines()[0])
    parser.add_argument("a")
    parser.add_argument("b")
    parser.add_argument("--delay-ms", type=float, default=3.0)
    args = parser.parse_args(argv)
    stop = [False]

    def on_signal(*_: object) -> None:
        stop[0] = True

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    forwarded, dropped = run(args.a, args.b, args.delay_ms / 1000, stop)
    print(f"wire: forwarded={forwarded} dropped={dropped}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
