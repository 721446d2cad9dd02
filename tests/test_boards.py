"""Boards at the egress, end to end under supervisord, fed by a source the test controls.

Slow fades, a throttled board beside a fast one, the legacy protocol, and hostile peers: every
board that is served ends exact, every peer that misbehaves is rejected or dropped, alone.
"""

from __future__ import annotations

import socket
import struct
import threading
import time
from dataclasses import replace

import numpy as np
import pytest

from common import protocol
from tests.harness import (
    BoardThread,
    Ports,
    board_options,
    pattern_pipeline,
    wait_for,
)

TOKEN = "s3cret"


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory):
    directory = tmp_path_factory.mktemp("boards")
    ports = Ports()
    extra = f"""
[sources.pattern]
[egress]
host = "127.0.0.1"
port = {ports.board}
advertise = false
token = "{TOKEN}"
keepalive_ms = 500
timeout_ms = 2000
[egress.legacy]
port = {ports.legacy}
display = "main"
chunk_bytes = 8192
"""
    with pattern_pipeline(directory, ports, extra) as (pipe, tap, source):
        yield pipe, ports, tap, source


def good_board(ports: Ports, **kw) -> BoardThread:
    return BoardThread(board_options(ports, token=TOKEN, **kw))


def equal_to(board: BoardThread, expected: np.ndarray):
    return lambda: board.framebuffer is not None and np.array_equal(board.framebuffer, expected)


def test_a_slow_fade_leaves_no_stale_pixel(pipeline):
    _, ports, tap, source = pipeline
    board = good_board(ports)
    try:
        ramp = np.linspace(0, 1, 320, dtype=np.float64)[None, :, None]
        final = None
        for level in range(0, 48, 2):  # each step changes colours by less than one RGB565 level in most pixels
            rgb = np.broadcast_to((ramp * 40 + level) * np.array([1.0, 0.8, 0.6]), (240, 320, 3)).astype(np.uint8)
            final = source.show(np.ascontiguousarray(rgb))
            time.sleep(0.03)
        wait_for(equal_to(board, final), 10, "the board showing the last step of the fade")
        assert int((board.framebuffer != final).sum()) == 0
    finally:
        board.close()


class ThrottledRelay:
    """A TCP relay whose server-to-board direction is limited to `bytes_per_s` (a token bucket)."""

    def __init__(self, target_port: int, bytes_per_s: float) -> None:
        self.target_port, self.rate = target_port, bytes_per_s
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.stop = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        self.listener.settimeout(0.2)
        while not self.stop.is_set():
            try:
                board, _ = self.listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            server = socket.create_connection(("127.0.0.1", self.target_port))
            threading.Thread(target=self._pump, args=(board, server, None), daemon=True).start()
            threading.Thread(target=self._pump, args=(server, board, self.rate), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket, rate: float | None) -> None:
        src.settimeout(0.2)
        while not self.stop.is_set():
            try:
                data = src.recv(4096)
            except TimeoutError:
                continue
            except OSError:
                break
            if not data:
                break
            if rate:
                time.sleep(len(data) / rate)
            try:
                dst.sendall(data)
            except OSError:
                break
        for s in (src, dst):
            s.close()

    def close(self) -> None:
        self.stop.set()
        self.listener.close()


def test_a_throttled_board_does_not_slow_a_fast_one_and_both_end_exact(pipeline):
    _, ports, tap, source = pipeline
    relay = ThrottledRelay(ports.board, bytes_per_s=250_000)  # ~2 Mbit/s
    slow = BoardThread(replace(board_options(ports, token=TOKEN), port=relay.port))
    fast = good_board(ports)
    rng = np.random.default_rng(7)
    try:
        frames = 60
        shown = []
        background = rng.integers(0, 255, size=(1, 320, 3), dtype=np.uint8)
        for i in range(frames):  # a moving block of fresh noise: ~32 KB that no encoding shrinks, per frame
            rgb = np.zeros((240, 320, 3), np.uint8)
            rgb[:, :] = background
            x = (i * 4) % 192
            rgb[56:184, x : x + 128] = rng.integers(0, 255, size=(128, 128, 3), dtype=np.uint8)
            shown.append(source.show(rgb))
            time.sleep(0.02)
        final = shown[-1]
        wait_for(equal_to(fast, final), 10, "the fast board showing the final frame")
        wait_for(equal_to(slow, final), 20, "the slow board showing the final frame")
        fast_seqs = {seq for seq, _, _ in fast.snapshots}
        slow_seqs = {seq for seq, _, _ in slow.snapshots}
        # The fast board saw (nearly) every picture; the slow one skipped pictures instead of queueing.
        assert len(fast_seqs) >= 0.9 * frames, (len(fast_seqs), len(slow_seqs))
        assert len(slow_seqs) < len(fast_seqs), (len(fast_seqs), len(slow_seqs))
        for board in (fast, slow):
            seqs = [seq for seq, _, _ in board.snapshots]
            assert seqs == sorted(seqs)
        # Bounded latency: a frame the slow board shows is never older than a few of its frame times.
        produced = {seq: at for (display, _, seq), at in tap.arrivals.items() if display == "main"}
        worst = max(at - produced[seq] for seq, at, _ in slow.snapshots if seq in produced)
        assert worst < 3.0, worst
    finally:
        for board in (slow, fast):
            board.close()
        relay.close()


def test_a_board_running_the_original_sketch_gets_exact_pixels_on_the_legacy_port(pipeline):
    _, ports, tap, source = pipeline
    rng = np.random.default_rng(3)
    expected = source.show(rng.integers(0, 255, size=(240, 320, 3), dtype=np.uint8))
    framebuffer = np.zeros((240, 320), np.uint16)
    with socket.create_connection(("127.0.0.1", ports.legacy), timeout=10) as legacy:
        stream = legacy.makefile("rb")

        def apply_chunk() -> bool:
            # The original layout: x, y, w, h uint16 and data length uint32, big-endian; RGB565 big-endian.
            x, y, w, h, length = struct.unpack(">HHHHI", stream.read(12))
            assert length == 2 * w * h and length <= 8192 and x + w <= 320 and y + h <= 240
            framebuffer[y : y + h, x : x + w] = np.frombuffer(stream.read(length), ">u2").reshape(h, w)
            return np.array_equal(framebuffer, expected)

        wait_for(apply_chunk, 20, "the legacy board showing the frame", interval=0)


def read_until_closed(sock: socket.socket, limit_s: float = 10.0) -> bytes:
    sock.settimeout(limit_s)
    received = b""
    try:
        while chunk := sock.recv(65536):
            received += chunk
    except (TimeoutError, ConnectionResetError):
        pass
    return received


def message_types(stream: bytes) -> list[int]:
    types = []
    while len(stream) >= 3:
        kind, length = protocol.HEADER.unpack_from(stream)
        types.append(kind)
        stream = stream[3 + length :]
    return types


def hello_body(display="main", size=(320, 240), token=TOKEN, version=1, magic=b"TFTS", encodings=3) -> bytes:
    return (
        magic
        + struct.pack("<BHHHH", version, *size, encodings, 16384)
        + bytes([len(display)])
        + display.encode()
        + b"\x00"
        + bytes([len(token)])
        + token.encode()
    )


HOSTILE = {
    "http_request": (b"GET / HTTP/1.1\r\nHost: board\r\n\r\n", "not a tftstream v1 hello"),
    "random_bytes": (np.random.default_rng(5).integers(0, 256, 2000, dtype=np.uint8).tobytes(), ""),
    "bad_magic": (protocol.message(1, hello_body(magic=b"XXXX")), "not a tftstream v1 hello"),
    "wrong_version": (protocol.message(1, hello_body(version=2)), "protocol 2"),
    "bad_token": (protocol.message(1, hello_body(token="guess")), "wrong or missing token"),
    "no_token": (protocol.message(1, hello_body(token="")), "wrong or missing token"),
    "oversized_length": (struct.pack("<BH", 1, 5000) + bytes(5000), "oversized"),
    "unknown_display": (protocol.message(1, hello_body(display="desk")), "unknown display 'desk'"),
    "wrong_size": (protocol.message(1, hello_body(size=(240, 240))), "is 320x240, board is 240x240"),
    "truncated_hello": (protocol.message(1, hello_body())[:20], ""),
    "ack_before_hello": (protocol.ack(protocol.Ack(1)), "ACK before HELLO"),
}


@pytest.mark.parametrize("case", HOSTILE)
def test_a_hostile_peer_is_rejected_alone_and_never_gets_a_pixel(pipeline, case):
    _, ports, tap, source = pipeline
    board = good_board(ports)
    try:
        source.show(np.full((240, 320, 3), 40, np.uint8))
        wait_for(lambda: board.snapshots, 10, "the good board streaming")
        data, reason = HOSTILE[case]
        with socket.create_connection(("127.0.0.1", ports.board), timeout=10) as peer:
            peer.sendall(data)
            if case == "truncated_hello":
                peer.shutdown(socket.SHUT_WR)
            received = read_until_closed(peer)
        types = message_types(received)
        assert types[:1] in ([protocol.ServerMsg.REJECT], []), types
        assert protocol.ServerMsg.RECT not in types and protocol.ServerMsg.FRAME_BEGIN not in types
        assert reason.encode() in received
        before = len(board.snapshots)
        expected = source.show(np.full((240, 320, 3), 200, np.uint8))
        wait_for(equal_to(board, expected), 10, "the good board still being served")
        assert len(board.snapshots) > before
    finally:
        board.close()


def test_a_peer_that_never_reads_is_dropped_while_others_are_served(pipeline):
    _, ports, tap, source = pipeline
    board = good_board(ports)
    rng = np.random.default_rng(9)
    try:
        with socket.create_connection(("127.0.0.1", ports.board), timeout=10) as peer:
            peer.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            peer.sendall(protocol.message(1, hello_body()))
            for _ in range(10):  # frames the peer never reads nor acknowledges
                expected = source.show(rng.integers(0, 255, size=(240, 320, 3), dtype=np.uint8))
            wait_for(equal_to(board, expected), 10, "the good board keeping up meanwhile")
            time.sleep(3.0)  # longer than the egress timeout (2 s) for unacknowledged frames
            port = peer.getsockname()[1]
            received = read_until_closed(peer, limit_s=5)
        assert received[:1] == bytes([protocol.ServerMsg.ACCEPT])
        assert f"127.0.0.1:{port} (main@127.0.0.1) dropped:" in pipeline[0].log("serve_boards")
    finally:
        board.close()


@pytest.mark.parametrize(("offered", "accepted"), [(0x123, 0x123), (0x103, 0x003)])
def test_cells_are_accepted_only_with_the_cache_they_draw_from(pipeline, offered, accepted):
    _, ports, _, _ = pipeline
    with socket.create_connection(("127.0.0.1", ports.board), timeout=10) as peer:
        peer.sendall(protocol.message(1, hello_body(encodings=offered)))  # RAW, RUNS, CELLS, with or without CACHED
        reply = peer.recv(protocol.HEADER.size + 10, socket.MSG_WAITALL)
    assert reply[0] == protocol.ServerMsg.ACCEPT
    assert struct.unpack_from("<H", reply, protocol.HEADER.size + 2)[0] == accepted


@pytest.mark.parametrize(
    "after_hello, reason",
    [
        (b"\x7f\x00\x00", "protocol: unknown_type"),
        (struct.pack("<BH", 2, 300) + bytes(300), "protocol: oversized"),
        (protocol.message(2, b"\x01\x02\x03"), "protocol: bad_length"),
        (protocol.ack(protocol.Ack(123456)), "protocol: unexpected_ack"),
        (protocol.message(1, hello_body()), "protocol: unexpected_hello"),
        (struct.pack("<BH", 2, 4) + b"\x01", "closed"),  # a truncated ACK, then the board goes away
    ],
)
def test_a_board_that_breaks_the_protocol_mid_stream_is_dropped_with_the_reason(pipeline, after_hello, reason):
    _, ports, tap, source = pipeline
    with socket.create_connection(("127.0.0.1", ports.board), timeout=10) as peer:
        peer.sendall(protocol.message(1, hello_body()))
        assert peer.recv(3)[:1] == bytes([protocol.ServerMsg.ACCEPT])
        peer.sendall(after_hello)
        port = peer.getsockname()[1]
        if reason == "closed":
            peer.shutdown(socket.SHUT_WR)
        read_until_closed(peer)
    line = f"127.0.0.1:{port} (main@127.0.0.1) dropped: {reason}"
    wait_for(lambda: line in pipeline[0].log("serve_boards"), 5, line)


def test_many_boards_at_once_all_end_exact(pipeline):
    _, ports, tap, source = pipeline
    boards = [good_board(ports) for _ in range(8)]
    rng = np.random.default_rng(11)
    try:
        for _ in range(10):
            expected = source.show(rng.integers(0, 255, size=(240, 320, 3), dtype=np.uint8))
        for board in boards:
            wait_for(equal_to(board, expected), 20, "every board showing the last frame")
    finally:
        for board in boards:
            board.close()
