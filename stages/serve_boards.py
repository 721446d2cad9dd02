"""Serve boards: the TCP egress, the only stage that talks to the network outside this machine.

Consumes frame packets from encode_damage (PULL, bound at `pipeline.packets`) and board
connections (TCP, `egress.port`, protocol v1 in docs/protocol.md; optionally the original 12-byte
header protocol on `egress.legacy.port`). Produces demands (PUSH to `pipeline.demands`): each board
pulls its next frame when it has fewer than `window` frames unacknowledged, so a slow board skips
pictures instead of queueing them and never slows another. Every byte from a board is checked;
a bad one closes that connection with a logged reason. The bottleneck is the boards' links.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import importlib
import itertools
import struct
import sys
import time
from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING

import zmq
import zmq.asyncio
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from common import protocol
from common.config import Config, Display
from common.messages import Demand, FrameKey, PacketHeader, decode_packet, encode_demand
from common.protocol import Encoding, Hello, ProtocolError
from common.stage import StageContext, run_stage

if TYPE_CHECKING:
    from zeroconf.asyncio import AsyncZeroconf

LEGACY_HEADER = struct.Struct(">HHHHI")
HELLO_TIMEOUT_S = 5.0
DEMAND_RETRY_S = 1.0  # re-ask encode_damage (it may have restarted and forgotten us)
ENCODER_WAIT_S = 5.0  # at start, for encode_damage to take demands before boards are let in
ADVERTISE_AFTER_S = 1.0  # after the egress listens: see advertise_safely
REJECT_REASONS = ("bad_hello", "bad_token", "unknown_display", "wrong_size", "server_full")
# (field of DeviceStats, metric suffix, help): what boards report in their acks, in base units
DEVICE_STATS = (
    ("decode_us", "decode_seconds", "Time the board spent decoding its last frame"),
    ("draw_us", "draw_seconds", "Time the board spent drawing its last frame"),
    ("free_heap", "free_heap_bytes", "Free heap on the board"),
    ("rssi_dbm", "rssi_dbm", "Wi-Fi signal strength at the board"),
)
DROP_REASONS = ("protocol", "timeout", "unacknowledged", "closed", "write_stalled")


def make_metrics(registry: CollectorRegistry) -> dict:
    def counter(name: str, doc: str, labels: tuple[str, ...] = ()) -> Counter:
        return Counter(f"tftstream_serve_boards_{name}", doc, labels, registry=registry)

    rejects = counter("rejects_total", "Hellos rejected", ("reason",))
    drops = counter("disconnects_total", "Connections closed", ("reason",))
    for reason in REJECT_REASONS:
        rejects.labels(reason)
    for reason in DROP_REASONS:
        drops.labels(reason)
    per_protocol = {
        "connections": counter("connections_total", "TCP connections accepted", ("protocol",)),
        "reconnects": counter("reconnects_total", "Boards accepted again under a name seen before", ("protocol",)),
        "boards": Gauge(
            "tftstream_serve_boards_boards_connected", "Boards streaming", ("protocol",), registry=registry
        ),
    }
    for metric in per_protocol.values():
        for name in ("v1", "legacy"):
            metric.labels(name)
    return {
        **per_protocol,
        "rejects": rejects,
        "drops": drops,
        "frames_sent": counter("frames_sent_total", "Frames written to boards"),
        "bytes_sent": counter("bytes_sent_total", "Bytes written to boards"),
        "acked": counter("frames_acked_total", "Frames acknowledged, per board", ("board",)),
        "latency": Histogram(
            "tftstream_serve_boards_latency_seconds",
            "Capture to board acknowledgement",
            buckets=(0.01, 0.02, 0.04, 0.06, 0.1, 0.2, 0.5, 1, 2, 5),
            registry=registry,
        ),
        **{
            stat: Gauge(f"tftstream_serve_boards_board_{name}", doc, ("board",), registry=registry)
            for stat, name, doc in DEVICE_STATS
        },
    }


@dataclass
class InFlight:
    seq: int
    key: FrameKey
    captured_ns: int
    sent: float


class Egress:
    """Board sessions, their demands, and routing of packets from encode_damage to them."""

    def __init__(self, config: Config, metrics: dict, demands: zmq.SyncSocket, log) -> None:
        self.config, self.metrics, self.demands, self.log = config, metrics, demands, log
        self.sessions: dict[str, BoardSession] = {}
        self.seen: set[str] = set()  # board labels accepted before, to count reconnects
        self.ids = (f"{time.time_ns():x}-{n}" for n in itertools.count())

    def deliver(self, parts: list[bytes]) -> None:
        try:
            header, payload = decode_packet(parts)
        except ValueError as error:
            self.log.warning("dropped a malformed packet: %s", error)
            return
        session = self.sessions.get(header.board)
        if session is not None:
            session.deliver(header, payload)

    def demand(self, demand: Demand) -> None:
        """Never blocks: when encode_damage is away the demand is dropped and asked again later."""
        try:
            self.demands.send(encode_demand(demand), flags=zmq.NOBLOCK)
        except zmq.Again:
            self.log.warning("encode_damage is not taking demands; asking again later")

    async def serve_v1(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.metrics["connections"].labels("v1").inc()
        peer = _peer(writer)
        try:
            hello = await asyncio.wait_for(read_hello(reader), HELLO_TIMEOUT_S)
        except (TimeoutError, ProtocolError, asyncio.IncompleteReadError, ConnectionError) as error:
            reason = str(error) if isinstance(error, ProtocolError) else f"no hello: {type(error).__name__}"
            await self._reject(writer, peer, "bad_hello", f"not a tftstream v1 hello ({reason})")
            return
        display, why = self.check_hello(hello)
        if display is None:
            await self._reject(writer, peer, why[0], why[1])
            return
        await BoardSession(self, display, hello, reader, writer, peer).run()

    def check_hello(self, hello: Hello) -> tuple[Display | None, tuple[str, str]]:
        token = self.config.egress.token.encode()
        if token and not hmac.compare_digest(hello.token, token):
            return None, ("bad_token", "wrong or missing token")
        display = self.config.display(hello.display)
        if display is None:
            return None, ("unknown_display", f"unknown display '{hello.display}'")
        if (hello.width, hello.height) != display.panel_size:
            w, h = display.panel_size
            return None, ("wrong_size", f"display '{display.name}' is {w}x{h}, board is {hello.width}x{hello.height}")
        if len(self.sessions) >= self.config.egress.max_boards:
            return None, ("server_full", f"server full ({self.config.egress.max_boards} boards)")
        return display, ("", "")

    async def _reject(self, writer: asyncio.StreamWriter, peer: str, reason: str, text: str) -> None:
        self.metrics["rejects"].labels(reason).inc()
        self.log.warning("rejected %s: %s", peer, text)
        try:
            writer.write(protocol.reject(text))
            await asyncio.wait_for(writer.drain(), 1.0)
        except (TimeoutError, ConnectionError):
            pass
        writer.close()


async def read_hello(reader: asyncio.StreamReader) -> Hello:
    kind, length = protocol.parse_board_header(await reader.readexactly(protocol.HEADER.size))
    if kind != protocol.BoardMsg.HELLO:
        raise ProtocolError("expected_hello", f"{kind.name} before HELLO")
    return protocol.parse_hello(await reader.readexactly(length))


def _peer(writer: asyncio.StreamWriter) -> str:
    address = writer.get_extra_info("peername")
    return f"{address[0]}:{address[1]}" if address else "?"


class BoardSession:
    """One accepted v1 board: pull frames while the window allows, read acks, keep alive."""

    protocol_name = "v1"

    def __init__(self, egress: Egress, display: Display, hello: Hello, reader, writer, peer: str) -> None:
        self.egress, self.display, self.reader, self.writer, self.peer = egress, display, reader, writer, peer
        cfg = egress.config.egress
        self.window, self.keepalive_s, self.timeout_s = cfg.window, cfg.keepalive_ms / 1000, cfg.timeout_ms / 1000
        self.encodings = protocol.acceptable(hello.encodings & protocol.ALL_ENCODINGS)
        self.max_body = hello.max_body
        self.id = next(egress.ids)
        self.label = f"{display.name}@{peer.rsplit(':', 1)[0]}"
        self.in_flight: deque[InFlight] = deque()
        self.shown: FrameKey | None = None  # newest frame written (TCP keeps order, so it will be shown)
        self.ticket = 0
        self.asked_at = 0.0
        self.last_write = self.last_heard = time.monotonic()
        self.closed = asyncio.Event()

    def keepalive_message(self) -> bytes:
        return protocol.keepalive_from_server()

    def accept_message(self) -> bytes:
        return protocol.accept(
            protocol.Accept(
                self.display.profile.big_endian,
                frozenset(self.encodings),
                self.max_body,
                int(self.keepalive_s * 1000),
                int(self.timeout_s * 1000),
            )
        )

    async def run(self) -> None:
        metrics = self.egress.metrics
        self.egress.sessions[self.id] = self
        metrics["boards"].labels(self.protocol_name).inc()
        if self.label in self.egress.seen:
            metrics["reconnects"].labels(self.protocol_name).inc()
        self.egress.seen.add(self.label)
        self.egress.log.info("%s connected as %s (%s)", self.peer, self.label, self.protocol_name)
        self.write(self.accept_message())
        reason, detail = "closed", "server stopping"
        self.ask()
        tasks = [asyncio.create_task(self.read_loop()), asyncio.create_task(self.tick_loop())]
        try:
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            reason, detail = next(iter(done)).result()
        except ConnectionError as error:
            detail = str(error)
        finally:
            for task in tasks:
                task.cancel()
            del self.egress.sessions[self.id]
            self.forget_device_stats()
            metrics["boards"].labels(self.protocol_name).dec()
            metrics["drops"].labels(reason).inc()
            self.egress.log.info("%s (%s) dropped: %s: %s", self.peer, self.label, reason, detail)
            self.writer.close()
            self.egress.demand(self.demand(gone=True))

    def forget_device_stats(self) -> None:
        """A departed board's last stats must not linger on dashboards (unless a twin is still on)."""
        if any(s.label == self.label for s in self.egress.sessions.values()):
            return
        for stat, _, _ in DEVICE_STATS:
            with contextlib.suppress(KeyError):
                self.egress.metrics[stat].remove(self.label)

    def demand(self, gone: bool = False) -> Demand:
        return Demand(self.id, self.ticket, self.display.name, self.shown, self.encodings, self.max_body, gone)

    def ask(self) -> None:
        """Ask for a frame newer than the one the board will show, if the window has room."""
        if len(self.in_flight) < self.window:
            self.ticket += 1
            self.asked_at = time.monotonic()
            self.egress.demand(self.demand())

    def write(self, data: bytes) -> None:
        self.writer.write(data)
        self.last_write = time.monotonic()

    def deliver(self, header: PacketHeader, payload: bytes) -> None:
        if header.ticket != self.ticket or len(self.in_flight) >= self.window:
            return  # answer to a demand we have replaced
        self.ticket += 1  # this demand is answered
        self.send_frame(header, payload)
        self.in_flight.append(InFlight(header.seq, header.key, header.captured_ns, time.monotonic()))
        self.shown = header.key
        self.ask()

    def frame_bytes(self, header: PacketHeader, payload: bytes) -> bytes:
        return protocol.frame_begin(header.seq) + payload + protocol.frame_end(header.seq)

    def send_frame(self, header: PacketHeader, payload: bytes) -> None:
        data = self.frame_bytes(header, payload)
        self.write(data)
        self.egress.metrics["frames_sent"].inc()
        self.egress.metrics["bytes_sent"].inc(len(data))

    async def read_loop(self) -> tuple[str, str]:
        try:
            while True:
                head = await asyncio.wait_for(self.reader.readexactly(protocol.HEADER.size), self.timeout_s)
                kind, length = protocol.parse_board_header(head)
                body = await asyncio.wait_for(self.reader.readexactly(length), self.timeout_s)
                self.last_heard = time.monotonic()
                if kind == protocol.BoardMsg.ACK:
                    await self.on_ack(protocol.parse_ack(body))
                elif kind == protocol.BoardMsg.HELLO:
                    raise ProtocolError("unexpected_hello", "second HELLO")
        except ProtocolError as error:
            return "protocol", str(error)
        except TimeoutError:
            return "timeout", f"silent for {self.timeout_s:.1f} s"
        except (asyncio.IncompleteReadError, ConnectionError) as error:
            return "closed", type(error).__name__

    async def on_ack(self, ack: protocol.Ack) -> None:
        if not any(f.seq == ack.seq for f in self.in_flight):
            raise ProtocolError("unexpected_ack", f"ACK {ack.seq} for no frame in flight")
        metrics = self.egress.metrics
        while self.in_flight:
            frame = self.in_flight.popleft()
            metrics["acked"].labels(self.label).inc()
            if frame.seq == ack.seq:
                metrics["latency"].observe(max(0, time.time_ns() - frame.captured_ns) / 1e9)
                break
        if ack.stats:
            for stat, name, _ in DEVICE_STATS:
                value = getattr(ack.stats, stat)
                metrics[stat].labels(self.label).set(value / 1e6 if name.endswith("_seconds") else value)
        self.ask()

    async def tick_loop(self) -> tuple[str, str]:
        while True:
            await asyncio.sleep(min(self.keepalive_s, DEMAND_RETRY_S) / 2)
            now = time.monotonic()
            if self.in_flight and now - self.in_flight[0].sent > self.timeout_s:
                return "unacknowledged", f"frame {self.in_flight[0].seq} unacknowledged for {self.timeout_s:.1f} s"
            if self.writer.transport.get_write_buffer_size() and now - self.last_write > self.timeout_s:
                return "write_stalled", "board stopped reading"
            if now - self.last_write > self.keepalive_s and (keepalive := self.keepalive_message()):
                self.write(keepalive)
            if len(self.in_flight) < self.window and now - self.asked_at > DEMAND_RETRY_S:
                self.egress.demand(self.demand())
                self.asked_at = now


class LegacySession(BoardSession):
    """A board running the original sketch: RAW only, 12-byte big-endian chunk headers, no acks.

    A frame counts as acknowledged once the socket has drained it, which keeps one frame in flight.
    """

    protocol_name = "legacy"

    def __init__(self, egress: Egress, display: Display, reader, writer, peer: str, chunk_bytes: int) -> None:
        width, height = display.panel_size
        hello = Hello(width, height, frozenset({Encoding.RAW}), chunk_bytes + protocol.RECT_HEADER.size, "", "", b"")
        super().__init__(egress, display, hello, reader, writer, peer)
        self.window = 1
        self.timeout_s = max(self.timeout_s, 10.0)

    def accept_message(self) -> bytes:
        return b""

    def keepalive_message(self) -> bytes:
        return b""  # the original sketch would take it for a chunk header

    def frame_bytes(self, header: PacketHeader, payload: bytes) -> bytes:
        return legacy_chunks(payload, self.display.profile.big_endian)

    def send_frame(self, header: PacketHeader, payload: bytes) -> None:
        super().send_frame(header, payload)
        asyncio.get_running_loop().create_task(self.drained(header.seq))

    async def drained(self, seq: int) -> None:
        try:
            await self.writer.drain()
        except ConnectionError:
            return
        await self.on_ack(protocol.Ack(seq))

    async def read_loop(self) -> tuple[str, str]:
        while await self.reader.read(4096):
            pass  # the original sketch sends nothing we need
        return "closed", "legacy board closed"


def legacy_chunks(payload: bytes, big_endian: bool) -> bytes:
    """Rewrite v1 RAW RECT messages as the original protocol's chunks (always big-endian pixels)."""
    out = bytearray()
    view = memoryview(payload)
    while view:
        _, length = protocol.HEADER.unpack_from(view)
        body = view[protocol.HEADER.size : protocol.HEADER.size + length]
        x, y, w, h, _ = protocol.RECT_HEADER.unpack_from(body)
        pixels = bytes(body[protocol.RECT_HEADER.size :])
        if not big_endian:
            pixels = swap_byte_pairs(pixels)
        out += LEGACY_HEADER.pack(x, y, w, h, len(pixels)) + pixels
        view = view[protocol.HEADER.size + length :]
    return bytes(out)


def swap_byte_pairs(data: bytes) -> bytes:
    """Little-endian RGB565 to big-endian (slices, not numpy: the egress starts faster without it)."""
    swapped = bytearray(len(data))
    swapped[0::2], swapped[1::2] = data[1::2], data[0::2]
    return bytes(swapped)


async def serve(ctx: StageContext) -> None:
    metrics = make_metrics(ctx.registry)
    context = zmq.asyncio.Context.shadow(ctx.zmq_context)
    demands = ctx.socket(zmq.PUSH, ctx.config.endpoints.demands, bind=False, hwm=1000)
    packets = context.socket(zmq.PULL)
    packets.setsockopt(zmq.LINGER, 0)
    packets.bind(ctx.config.endpoints.packets)
    egress = Egress(ctx.config, metrics, demands, ctx.log)
    cfg = ctx.config.egress
    # A board let in before encode_damage takes demands would wait DEMAND_RETRY_S for its first frame.
    if not ctx.wait_for_peer(demands, "encode_damage", ENCODER_WAIT_S) and not ctx.stop.is_set():
        ctx.log.warning("encode_damage takes no demands after %.0f s; serving boards anyway", ENCODER_WAIT_S)
    servers = [await asyncio.start_server(egress.serve_v1, cfg.host, cfg.port)]
    if cfg.legacy:
        servers.append(await asyncio.start_server(legacy_handler(egress, cfg.legacy), cfg.host, cfg.legacy.port))
    ctx.log.info(
        "serving boards on %s:%d%s", cfg.host, cfg.port, f", legacy on {cfg.legacy.port}" if cfg.legacy else ""
    )
    receive = asyncio.create_task(_receive_packets(packets, egress))
    # mDNS starts later and probes for about a second: the boards already here get frames meanwhile.
    advertising = asyncio.create_task(advertise_safely(ctx))
    await until_stopped(ctx, advertising)
    receive.cancel()
    for server in servers:
        server.close()
    for session in list(egress.sessions.values()):
        session.writer.close()  # each session then ends as "closed" and says goodbye to encode_damage
    if not advertising.done():
        advertising.cancel()  # still registering: no goodbye, so a browser keeps the record until its TTL
    elif (zeroconf := advertising.result()) is not None:  # raises what advertise_safely did not expect
        await zeroconf.async_close()
    await asyncio.sleep(0.2)


async def until_stopped(ctx: StageContext, advertising: asyncio.Task) -> None:
    """Until the stage is told to stop (its stop_fd turns readable: nothing wakes up to look), or
    advertising failed in a way advertise_safely did not expect."""
    stopped = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_reader(ctx.stop_fd, stopped.set)
    waiting = asyncio.create_task(stopped.wait())
    try:
        await asyncio.wait({waiting, advertising}, return_when=asyncio.FIRST_COMPLETED)
        if not advertising.done() or advertising.exception() is None:
            await waiting
    finally:
        waiting.cancel()
        loop.remove_reader(ctx.stop_fd)


async def advertise_safely(ctx: StageContext) -> AsyncZeroconf | None:
    """Boards can still use a configured host when mDNS cannot start, so that is a warning only."""
    if ctx.config.egress.advertise is None:
        return None
    # zeroconf takes ~0.1 s of CPU to import: only when advertising, and in a thread, so the event
    # loop serves the boards meanwhile; the imports below then find it loaded. Not at once: as the
    # egress starts listening the other stages are still starting and the first frames are on
    # their way, all on the same cores; a board that browses for us waits a second longer.
    await asyncio.sleep(ADVERTISE_AFTER_S)
    await asyncio.to_thread(importlib.import_module, "common.discovery")
    from zeroconf import NonUniqueNameException

    from common.discovery import SERVICE_TYPE, advertise

    try:
        zeroconf = await advertise(ctx.config)
    except (OSError, ValueError, NonUniqueNameException) as error:
        ctx.log.warning("not advertising over mDNS: %s", error)
        return None
    if zeroconf is not None:
        ctx.log.info("advertising %s over mDNS", SERVICE_TYPE)
    return zeroconf


def legacy_handler(egress: Egress, legacy):
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        egress.metrics["connections"].labels("legacy").inc()
        display = egress.config.display(legacy.display)
        assert display is not None
        await LegacySession(egress, display, reader, writer, _peer(writer), legacy.chunk_bytes).run()

    return handle


async def _receive_packets(packets: zmq.asyncio.Socket, egress: Egress) -> None:
    while True:
        egress.deliver(await packets.recv_multipart())


def loop(ctx: StageContext) -> None:
    asyncio.run(serve(ctx))


def main(argv: list[str] | None = None) -> int:
    return run_stage("serve_boards", loop, argv, __doc__.splitlines()[0])


if __name__ == "__main__":
    sys.exit(main())
