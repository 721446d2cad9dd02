"""Wire protocol v1 between the egress and a board (docs/protocol.md), defined once.

Builders turn values into bytes; parsers turn bytes into frozen values or raise ProtocolError
with a stable `code` (the same names as the C++ core's Error enum, pinned by tests/vectors).
"""

from __future__ import annotations

import enum
import re
import struct
from dataclasses import dataclass

VERSION = 1
MAGIC = b"TFTS"
HEADER = struct.Struct("<BH")
MAX_BODY = 0xFFFF


class BoardMsg(enum.IntEnum):
    HELLO = 0x01
    ACK = 0x02
    KEEPALIVE = 0x03


class ServerMsg(enum.IntEnum):
    ACCEPT = 0x10
    REJECT = 0x11
    FRAME_BEGIN = 0x20
    RECT = 0x21
    FRAME_END = 0x22
    KEEP = 0x23  # body: an offset into the board's bitmap cache; the next RECT's pixels are kept there too
    KEEPALIVE = 0x30


class Encoding(enum.IntEnum):
    RAW = 0
    RUNS = 1
    COPY = 2  # payload: the source box's corner; the board copies pixels it already shows
    LZ4 = 3  # payload: LZ4 block sequences that decode to the w*h pixels
    JPEG = 4  # payload: a baseline JPEG of the w*h pixels (lossy; the server refreshes losslessly)
    CACHED = 5  # payload: an offset into the board's bitmap cache, where a KEEP put these w*h pixels
    RICE = 6  # payload: each pixel predicted from its neighbours, the residuals Rice-coded (photos, lossless)
    RECOLOR = 7  # payload: a colour table and patches applied to the box as shown (common/recolor.py)
    CELLS = 8  # payload: a cell size and, per cell of the box, an offset into the bitmap cache (common/cells.py)

    @property
    def bit(self) -> int:
        return 1 << self.value


ALL_ENCODINGS = frozenset(Encoding)
FLAG_BIG_ENDIAN = 0x01
MIN_BOARD_BODY = 64
MAX_REJECT_REASON = 200
DISPLAY_NAME = re.compile(r"[A-Za-z0-9_.-]{1,32}")

_HELLO_FIXED = struct.Struct("<4sBHHHH")
_ACCEPT = struct.Struct("<BBHHHH")
_ACK_STATS = struct.Struct("<IIIb")
_SEQ = struct.Struct("<I")
RECT_HEADER = struct.Struct("<HHHHB")
COPY_SOURCE = struct.Struct("<HH")
CACHE_OFFSET = struct.Struct("<H")  # KEEP's body and a CACHED RECT's payload: a pixel offset into the cache
CACHE_PIXELS = 16384  # a board that offers CACHED keeps this many pixels (32 KB) for the server to use
CELL_SIZE = struct.Struct("<BB")  # a CELLS payload's cell width and height, then a CACHE_OFFSET per cell

# Largest body the server accepts for each board message: checked before the body is read.
BOARD_BODY_LIMITS = {BoardMsg.HELLO: 160, BoardMsg.ACK: _ACK_STATS.size + _SEQ.size, BoardMsg.KEEPALIVE: 0}


class ProtocolError(Exception):
    """A peer broke the protocol; `code` is a stable name, the message says what was seen."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(f"{code}: {detail}")
        self.code = code
        self.detail = detail


@dataclass(frozen=True, slots=True)
class Hello:
    width: int
    height: int
    encodings: frozenset[Encoding]
    max_body: int
    display: str
    firmware: str
    token: bytes
    version: int = VERSION


@dataclass(frozen=True, slots=True)
class Accept:
    big_endian: bool
    encodings: frozenset[Encoding]
    max_body: int
    keepalive_ms: int
    timeout_ms: int
    version: int = VERSION


@dataclass(frozen=True, slots=True)
class DeviceStats:
    decode_us: int
    draw_us: int
    free_heap: int
    rssi_dbm: int


@dataclass(frozen=True, slots=True)
class Ack:
    seq: int
    stats: DeviceStats | None = None


@dataclass(frozen=True, slots=True)
class Rect:
    x: int
    y: int
    w: int
    h: int
    encoding: Encoding
    payload: bytes


def acceptable(offered: frozenset[Encoding]) -> frozenset[Encoding]:
    """What a server may ACCEPT of a board's offer: any of it, but CELLS only with CACHED (its cells
    are the cache's pixels); a board refuses CELLS without CACHED (bad_encodings)."""
    return offered if Encoding.CACHED in offered else offered - {Encoding.CELLS}


def encodings_to_mask(encodings: frozenset[Encoding]) -> int:
    return sum(e.bit for e in encodings)


def mask_to_encodings(mask: int) -> frozenset[Encoding]:
    return frozenset(e for e in Encoding if mask & e.bit)


def message(msg_type: int, body: bytes = b"") -> bytes:
    if len(body) > MAX_BODY:
        raise ValueError(f"message body of {len(body)} bytes exceeds {MAX_BODY}")
    return HEADER.pack(msg_type, len(body)) + body


def _short_string(value: bytes) -> bytes:
    return bytes([len(value)]) + value


def hello(h: Hello) -> bytes:
    body = _HELLO_FIXED.pack(MAGIC, h.version, h.width, h.height, encodings_to_mask(h.encodings), h.max_body)
    body += _short_string(h.display.encode()) + _short_string(h.firmware.encode()) + _short_string(h.token)
    return message(BoardMsg.HELLO, body)


def accept(a: Accept) -> bytes:
    flags = FLAG_BIG_ENDIAN if a.big_endian else 0
    body = _ACCEPT.pack(a.version, flags, encodings_to_mask(a.encodings), a.max_body, a.keepalive_ms, a.timeout_ms)
    return message(ServerMsg.ACCEPT, body)


def reject(reason: str) -> bytes:
    encoded = reason.encode()[:MAX_REJECT_REASON] or b"rejected"
    return message(ServerMsg.REJECT, encoded)


def frame_begin(seq: int) -> bytes:
    return message(ServerMsg.FRAME_BEGIN, _SEQ.pack(seq & 0xFFFFFFFF))


def frame_end(seq: int) -> bytes:
    return message(ServerMsg.FRAME_END, _SEQ.pack(seq & 0xFFFFFFFF))


def rect(x: int, y: int, w: int, h: int, encoding: Encoding, payload: bytes) -> bytes:
    return message(ServerMsg.RECT, RECT_HEADER.pack(x, y, w, h, encoding) + payload)


def copy_rect(x: int, y: int, w: int, h: int, src_x: int, src_y: int) -> bytes:
    """COPY: the w x h box at (src_x, src_y) to (x, y), from what the board shows before it."""
    return rect(x, y, w, h, Encoding.COPY, COPY_SOURCE.pack(src_x, src_y))


def keep(offset: int) -> bytes:
    """KEEP: the next RECT's pixels also go to the board's cache at `offset` (pixels)."""
    return message(ServerMsg.KEEP, CACHE_OFFSET.pack(offset))


def cached_rect(x: int, y: int, w: int, h: int, offset: int) -> bytes:
    """CACHED: the w x h pixels kept at `offset` of the board's cache, drawn at (x, y)."""
    return rect(x, y, w, h, Encoding.CACHED, CACHE_OFFSET.pack(offset))


def rect_encodings(messages: bytes) -> list[Encoding]:
    """The encoding of each RECT among well-formed server messages (a packet this server built)."""
    found, at = [], 0
    while at < len(messages):
        kind, length = HEADER.unpack_from(messages, at)
        if kind == ServerMsg.RECT:
            found.append(Encoding(messages[at + HEADER.size + RECT_HEADER.size - 1]))
        at += HEADER.size + length
    return found


def ack(a: Ack) -> bytes:
    body = _SEQ.pack(a.seq)
    if a.stats is not None:
        s = a.stats
        body += _ACK_STATS.pack(s.decode_us, s.draw_us, s.free_heap, s.rssi_dbm)
    return message(BoardMsg.ACK, body)


def keepalive_from_board() -> bytes:
    return message(BoardMsg.KEEPALIVE)


def keepalive_from_server() -> bytes:
    return message(ServerMsg.KEEPALIVE)


# --- parsing what a board sends (server side) ---------------------------------------------------


def parse_board_header(header: bytes) -> tuple[BoardMsg, int]:
    """Check a board message header before its body is read."""
    msg_type, length = HEADER.unpack(header)
    try:
        kind = BoardMsg(msg_type)
    except ValueError:
        raise ProtocolError("unknown_type", f"message type 0x{msg_type:02x}, header {header!r}") from None
    if length > BOARD_BODY_LIMITS[kind]:
        raise ProtocolError("oversized", f"{kind.name} body of {length} bytes, limit {BOARD_BODY_LIMITS[kind]}")
    return kind, length


class _Cursor:
    """Explicit little-endian reads from a body; running short raises bad_length."""

    def __init__(self, data: bytes, what: str) -> None:
        self.data, self.pos, self.what = data, 0, what

    def take(self, n: int) -> bytes:
        if self.pos + n > len(self.data):
            raise ProtocolError("bad_length", f"{self.what} body of {len(self.data)} bytes ends early")
        chunk = self.data[self.pos : self.pos + n]
        self.pos += n
        return chunk

    def short_string(self) -> bytes:
        return self.take(self.take(1)[0])

    def finish(self) -> None:
        if self.pos != len(self.data):
            raise ProtocolError("bad_length", f"{self.what} has {len(self.data) - self.pos} trailing bytes")


def parse_hello(body: bytes) -> Hello:
    cursor = _Cursor(body, "HELLO")
    magic, version, width, height, mask, max_body = _HELLO_FIXED.unpack(cursor.take(_HELLO_FIXED.size))
    if magic != MAGIC:
        raise ProtocolError("bad_magic", f"expected {MAGIC!r}, got {magic!r}")
    if version != VERSION:
        raise ProtocolError("bad_version", f"board speaks protocol {version}, server speaks {VERSION}")
    display_raw, firmware_raw, token = cursor.short_string(), cursor.short_string(), cursor.short_string()
    cursor.finish()
    display = display_raw.decode("ascii", "replace")
    if not DISPLAY_NAME.fullmatch(display):
        raise ProtocolError("bad_name", f"display name {display_raw[:40]!r}")
    if len(firmware_raw) > 32 or not all(0x20 <= b < 0x7F for b in firmware_raw):
        raise ProtocolError("bad_name", f"firmware version {firmware_raw[:40]!r}")
    if len(token) > 64:
        raise ProtocolError("bad_length", f"token of {len(token)} bytes, limit 64")
    if not mask & Encoding.RAW.bit:
        raise ProtocolError("bad_encodings", f"encoding mask 0x{mask:04x} lacks RAW")
    if max_body < MIN_BOARD_BODY:
        raise ProtocolError("bad_buffer", f"board buffers {max_body} bytes, minimum {MIN_BOARD_BODY}")
    if not (1 <= width <= 4096 and 1 <= height <= 4096):
        raise ProtocolError("bad_size", f"display size {width}x{height}")
    return Hello(width, height, mask_to_encodings(mask), max_body, display, firmware_raw.decode(), token, version)


def parse_ack(body: bytes) -> Ack:
    if len(body) == _SEQ.size:
        return Ack(_SEQ.unpack(body)[0])
    if len(body) == _SEQ.size + _ACK_STATS.size:
        return Ack(_SEQ.unpack_from(body)[0], DeviceStats(*_ACK_STATS.unpack_from(body, _SEQ.size)))
    raise ProtocolError("bad_length", f"ACK body of {len(body)} bytes, expected 4 or 17")
