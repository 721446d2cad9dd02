"""Reference display: the board side of protocol v1 in Python, applied to a numpy framebuffer.

Consumes the egress's byte stream, produces ACKs and a framebuffer (saved as PNG). It is the
second, independent implementation of the device that tests cross-check the C++ core against;
`BoardStream` is the pure part, `run_board` the network loop, `main` the program.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from common import protocol
from common.cells import decode_cells
from common.encodings import decode
from common.protocol import Accept, Encoding, ProtocolError, ServerMsg
from common.recolor import decode_recolor
from common.rgb565 import expand_rgb565

log = logging.getLogger("reference_display")
ACCEPT_BODY = 10
DEFAULT_KEEPALIVE_MS, DEFAULT_TIMEOUT_MS = 1000, 4000


@dataclass
class BoardStream:
    """Applies server bytes, fed in arbitrary pieces, to a framebuffer; returns ACKs to send."""

    width: int
    height: int
    encodings: frozenset[Encoding] = protocol.ALL_ENCODINGS
    max_body: int = 0xFFFF
    framebuffer: np.ndarray = field(init=False)
    cache: np.ndarray = field(init=False)  # the bitmap cache KEEP fills and CACHED draws from
    keep_at: int | None = None  # a KEEP's offset, waiting for its RECT
    accepted: Accept | None = None
    rejected: str | None = None
    frame_seq: int | None = None  # inside FRAME_BEGIN .. FRAME_END
    completed: list[int] = field(default_factory=list)
    on_frame_end: Callable[[int, np.ndarray], None] | None = None  # (seq, framebuffer) as each frame ends
    _pending: bytearray = field(default_factory=bytearray)

    def __post_init__(self) -> None:
        self.framebuffer = np.zeros((self.height, self.width), np.uint16)
        self.cache = np.zeros(protocol.CACHE_PIXELS, np.uint16)

    @property
    def incomplete(self) -> bool:
        """True when the bytes so far end inside a message."""
        return bool(self._pending)

    def feed(self, data: bytes) -> list[int]:
        """Apply `data`; return the sequence numbers of frames that ended (to acknowledge)."""
        self._pending += data
        ended: list[int] = []
        while len(self._pending) >= protocol.HEADER.size and self.rejected is None:
            msg_type, length = protocol.HEADER.unpack_from(self._pending)
            kind = self._check_header(msg_type, length)
            if len(self._pending) < protocol.HEADER.size + length:
                break
            body = bytes(self._pending[protocol.HEADER.size : protocol.HEADER.size + length])
            del self._pending[: protocol.HEADER.size + length]
            seq = self._apply(kind, body)
            if seq is not None:
                ended.append(seq)
        return ended

    def _check_header(self, msg_type: int, length: int) -> ServerMsg:
        try:
            kind = ServerMsg(msg_type)
        except ValueError:
            raise ProtocolError("unknown_type", f"message type 0x{msg_type:02x}") from None
        if length > self.max_body:
            raise ProtocolError("oversized", f"{kind.name} body of {length} bytes, board buffers {self.max_body}")
        if self.accepted is None and kind not in (ServerMsg.ACCEPT, ServerMsg.REJECT):
            raise ProtocolError("expected_accept", f"{kind.name} before ACCEPT")
        return kind

    def _apply(self, kind: ServerMsg, body: bytes) -> int | None:
        if self.keep_at is not None and kind not in (ServerMsg.RECT, ServerMsg.REJECT):
            raise ProtocolError("keep_unused", f"{kind.name} after KEEP: a KEEP must be followed by its RECT")
        if kind == ServerMsg.ACCEPT:
            self._accept(body)
        elif kind == ServerMsg.REJECT:
            self.rejected = body.decode("utf-8", "replace")
        elif kind == ServerMsg.KEEPALIVE:
            _expect_length(kind, body, 0)
        elif kind == ServerMsg.FRAME_BEGIN:
            _expect_length(kind, body, 4)
            if self.frame_seq is not None:
                raise ProtocolError("frame_open", f"FRAME_BEGIN inside frame {self.frame_seq}")
            self.frame_seq = int.from_bytes(body, "little")
        elif kind == ServerMsg.RECT:
            self._rect(body)
        elif kind == ServerMsg.KEEP:
            self._keep(body)
        else:
            return self._frame_end(body)
        return None

    def _accept(self, body: bytes) -> None:
        if self.accepted is not None:
            raise ProtocolError("expected_accept", "second ACCEPT")
        _expect_length(ServerMsg.ACCEPT, body, ACCEPT_BODY)
        version, flags = body[0], body[1]
        mask, max_body, keepalive_ms, timeout_ms = np.frombuffer(body[2:], "<u2").tolist()
        if version != protocol.VERSION:
            raise ProtocolError("bad_version", f"server speaks protocol {version}")
        chosen = protocol.mask_to_encodings(mask)
        if mask & ~protocol.encodings_to_mask(self.encodings) or not mask & Encoding.RAW.bit:
            raise ProtocolError("bad_encodings", f"server chose encoding mask 0x{mask:04x}")
        if chosen != protocol.acceptable(chosen):
            raise ProtocolError("bad_encodings", f"server chose CELLS without CACHED (mask 0x{mask:04x})")
        if max_body > self.max_body:
            raise ProtocolError("bad_buffer", f"server chose {max_body} bytes, board buffers {self.max_body}")
        big_endian = bool(flags & protocol.FLAG_BIG_ENDIAN)
        self.accepted = Accept(big_endian, chosen, max_body, keepalive_ms, timeout_ms, version)

    def _keep(self, body: bytes) -> None:
        _expect_length(ServerMsg.KEEP, body, protocol.CACHE_OFFSET.size)
        if self.frame_seq is None:
            raise ProtocolError("not_in_frame", "KEEP outside a frame")
        assert self.accepted is not None
        if Encoding.CACHED not in self.accepted.encodings:
            raise ProtocolError("unknown_encoding", "KEEP without the CACHED encoding accepted")
        (self.keep_at,) = protocol.CACHE_OFFSET.unpack(body)

    def _rect(self, body: bytes) -> None:
        if self.frame_seq is None:
            raise ProtocolError("not_in_frame", "RECT outside a frame")
        if len(body) < protocol.RECT_HEADER.size:
            raise ProtocolError("bad_length", f"RECT body of {len(body)} bytes")
        x, y, w, h, code = protocol.RECT_HEADER.unpack_from(body)
        if w == 0 or h == 0:
            raise ProtocolError("rect_empty", f"RECT {w}x{h} at {x},{y}")
        if x + w > self.width or y + h > self.height:
            raise ProtocolError("rect_out_of_bounds", f"RECT {w}x{h} at {x},{y} on {self.width}x{self.height}")
        assert self.accepted is not None
        if code not in {e.value for e in self.accepted.encodings}:
            raise ProtocolError("unknown_encoding", f"encoding {code} not accepted")
        keep_at, self.keep_at = self.keep_at, None
        if keep_at is not None:
            if code not in (Encoding.RAW, Encoding.RUNS, Encoding.LZ4, Encoding.RICE):
                raise ProtocolError("keep_bad_encoding", f"KEEP before a {Encoding(code).name} RECT")
            _check_in_cache(keep_at, w, h)
        if code in (Encoding.LZ4, Encoding.RICE) and protocol.RECT_HEADER.size + 2 * w * h > self.max_body:
            raise ProtocolError(
                "oversized", f"{Encoding(code).name} RECT of {w}x{h} does not fit a {self.max_body}-byte buffer"
            )
        payload = body[protocol.RECT_HEADER.size :]
        if code == Encoding.COPY:
            self._copy(x, y, w, h, payload)
            return
        if code == Encoding.CACHED:
            self.framebuffer[y : y + h, x : x + w] = self._cached(w, h, payload)
            return
        if code == Encoding.CELLS:
            self.framebuffer[y : y + h, x : x + w] = decode_cells(payload, w, h, self.cache)
            return
        if code == Encoding.RECOLOR:
            box = self.framebuffer[y : y + h, x : x + w]
            box[:] = decode_recolor(payload, box, self.accepted.big_endian)
            return
        pixels = decode(Encoding(code), payload, w, h, self.accepted.big_endian)
        self.framebuffer[y : y + h, x : x + w] = pixels
        if keep_at is not None:
            self.cache[keep_at : keep_at + w * h] = pixels.reshape(-1)

    def _cached(self, w: int, h: int, payload: bytes) -> np.ndarray:
        if len(payload) != protocol.CACHE_OFFSET.size:
            raise ProtocolError(
                "cache_size_mismatch", f"CACHED needs {protocol.CACHE_OFFSET.size} bytes, got {len(payload)}"
            )
        (offset,) = protocol.CACHE_OFFSET.unpack(payload)
        _check_in_cache(offset, w, h)
        return self.cache[offset : offset + w * h].reshape(h, w)

    def _copy(self, x: int, y: int, w: int, h: int, payload: bytes) -> None:
        if len(payload) != protocol.COPY_SOURCE.size:
            raise ProtocolError(
                "copy_size_mismatch", f"COPY needs {protocol.COPY_SOURCE.size} bytes, got {len(payload)}"
            )
        src_x, src_y = protocol.COPY_SOURCE.unpack(payload)
        if src_x + w > self.width or src_y + h > self.height:
            raise ProtocolError(
                "copy_out_of_bounds", f"COPY from {w}x{h} at {src_x},{src_y} on {self.width}x{self.height}"
            )
        self.framebuffer[y : y + h, x : x + w] = self.framebuffer[src_y : src_y + h, src_x : src_x + w].copy()

    def _frame_end(self, body: bytes) -> int:
        _expect_length(ServerMsg.FRAME_END, body, 4)
        if self.frame_seq is None:
            raise ProtocolError("not_in_frame", "FRAME_END outside a frame")
        seq = int.from_bytes(body, "little")
        if seq != self.frame_seq:
            raise ProtocolError("seq_mismatch", f"FRAME_END {seq} closes FRAME_BEGIN {self.frame_seq}")
        self.frame_seq = None
        self.completed.append(seq)
        if self.on_frame_end is not None:
            self.on_frame_end(seq, self.framebuffer)
        return seq


def _check_in_cache(offset: int, w: int, h: int) -> None:
    if offset + w * h > protocol.CACHE_PIXELS:
        raise ProtocolError(
            "cache_out_of_bounds", f"{w}x{h} pixels at cache offset {offset}, the cache holds {protocol.CACHE_PIXELS}"
        )


def _expect_length(kind: ServerMsg, body: bytes, length: int) -> None:
    if len(body) != length:
        raise ProtocolError("bad_length", f"{kind.name} body of {len(body)} bytes, expected {length}")


def save_png(framebuffer: np.ndarray, path: Path) -> None:
    """Write atomically so a viewer never sees half a file."""
    partial = path.with_suffix(".partial.png")
    Image.fromarray(expand_rgb565(framebuffer), "RGB").save(partial)
    partial.replace(path)


@dataclass(frozen=True)
class BoardOptions:
    host: str
    port: int
    display: str
    width: int
    height: int
    token: str = ""
    max_body: int = 16384
    encodings: frozenset[Encoding] = protocol.ALL_ENCODINGS
    png: Path | None = None
    png_every_s: float = 0.5


class ReferenceBoard:
    """One connection's worth of board: hello, apply frames, ack, keep alive. Reusable by tests."""

    def __init__(self, options: BoardOptions, on_frame_end: Callable[[int, np.ndarray], None] | None = None) -> None:
        self.options = options
        self.stream = BoardStream(options.width, options.height, options.encodings, options.max_body)
        self.stream.on_frame_end = on_frame_end

    def hello(self) -> bytes:
        o = self.options
        return protocol.hello(
            protocol.Hello(o.width, o.height, o.encodings, o.max_body, o.display, "reference-1", o.token.encode())
        )

    async def run(self, stop: asyncio.Event | None = None) -> str:
        """Stream until the server closes, rejects, falls silent or breaks the protocol; say why it ended."""
        o = self.options
        reader, writer = await asyncio.open_connection(o.host, o.port)
        writer.write(self.hello())
        last_png = 0.0
        last_sent = last_heard = time.monotonic()
        try:
            while stop is None or not stop.is_set():
                keepalive_s, timeout_s = self.liveness()
                now = time.monotonic()
                if now - last_heard > timeout_s:
                    return f"server silent for {timeout_s:.1f} s"
                if now - last_sent >= keepalive_s:
                    writer.write(protocol.keepalive_from_board())
                    last_sent = now
                wait = min(last_sent + keepalive_s, last_heard + timeout_s) - now
                try:
                    data = await asyncio.wait_for(reader.read(65536), timeout=max(0.01, min(wait, 0.5)))
                except TimeoutError:
                    continue
                if not data:
                    return "closed by server"
                last_heard = time.monotonic()
                for seq in self.stream.feed(data):
                    writer.write(protocol.ack(protocol.Ack(seq)))
                    last_sent = last_heard
                if self.stream.rejected is not None:
                    return f"rejected: {self.stream.rejected}"
                if o.png and time.monotonic() - last_png > o.png_every_s:
                    save_png(self.stream.framebuffer, o.png)
                    last_png = time.monotonic()
            return "stopped"
        except ProtocolError as error:
            return f"protocol error: {error}"
        except ConnectionError as error:  # a server that died with our ACKs unread resets rather than closes
            return f"connection lost: {error}"
        finally:
            writer.close()
            if o.png:
                save_png(self.stream.framebuffer, o.png)

    def liveness(self) -> tuple[float, float]:
        """(keepalive, timeout) in seconds: what ACCEPT said, 0 meaning the defaults 1000 / 4000 ms."""
        accepted = self.stream.accepted
        keepalive_ms = accepted.keepalive_ms if accepted and accepted.keepalive_ms else DEFAULT_KEEPALIVE_MS
        timeout_ms = accepted.timeout_ms if accepted and accepted.timeout_ms else DEFAULT_TIMEOUT_MS
        return keepalive_ms / 1000, timeout_ms / 1000


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=7878)
    parser.add_argument("--display", default="main")
    parser.add_argument("--size", default="320x240", help="WIDTHxHEIGHT as the board draws")
    parser.add_argument("--token", default="")
    parser.add_argument("--png", type=Path, help="keep this PNG up to date with the screen")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    width, height = (int(v) for v in args.size.split("x"))
    options = BoardOptions(args.host, args.port, args.display, width, height, args.token, png=args.png)
    backoff = 0.2
    while True:
        try:
            reason = asyncio.run(ReferenceBoard(options).run())
            backoff = 0.2
        except OSError as error:
            reason = f"cannot connect: {error.strerror}"
            backoff = min(backoff * 2, 5.0)
        log.info("%s; reconnecting in %.1f s", reason, backoff)
        if reason.startswith("rejected"):
            return 1
        time.sleep(backoff)


if __name__ == "__main__":
    sys.exit(main())
