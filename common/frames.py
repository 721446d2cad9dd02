"""Inter-stage message schema v1: every picture travels as ZeroMQ multipart [header, pixels].

The header is a terse binary struct followed by the display and source names; the pixels are the
raw numpy buffer (sent with copy=False, never pickled). `decode_frame` validates everything a
stage relies on, so a malformed message is dropped at the boundary with a reason.
"""

from __future__ import annotations

import enum
import struct
from dataclasses import dataclass

import numpy as np

SCHEMA_VERSION = 1
_FIXED = struct.Struct("<BBQQQHH")
NAME_LIMIT = 64


class PixelFormat(enum.IntEnum):
    RGB888 = 1  # uint8 (h, w, 3): what sources produce
    RGB565 = 2  # uint16 (h, w): what the color stage produces, values (byte order applied on the wire)


_SHAPES = {PixelFormat.RGB888: (np.uint8, 3), PixelFormat.RGB565: (np.uint16, 0)}


class SchemaError(Exception):
    """A message between stages did not match the schema; `reason` is a bounded label value."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason


REASONS = ("bad_parts", "bad_header", "bad_version", "bad_format", "bad_size")


@dataclass(frozen=True, slots=True)
class FrameHeader:
    display: str
    source: str
    epoch: int  # start time (ns) of the source process: orders frames across source restarts
    seq: int  # per source process, +1 per distinct picture
    captured_ns: int  # time.time_ns() at capture, for end-to-end latency
    width: int
    height: int
    pixel_format: PixelFormat

    @property
    def order_key(self) -> tuple[int, int]:
        return (self.epoch, self.seq)


def encode_frame(header: FrameHeader, pixels: np.ndarray) -> list[bytes | memoryview]:
    dtype, channels = _SHAPES[header.pixel_format]
    expected = (header.height, header.width, channels) if channels else (header.height, header.width)
    if pixels.dtype != dtype or pixels.shape != expected:
        raise ValueError(f"pixels {pixels.dtype}{pixels.shape} do not match {header}")
    names = b"".join(_short(name) for name in (header.display, header.source))
    fixed = _FIXED.pack(
        SCHEMA_VERSION,
        header.pixel_format,
        header.epoch,
        header.seq,
        header.captured_ns,
        header.width,
        header.height,
    )
    return [fixed + names, np.ascontiguousarray(pixels).data.cast("B")]


def _short(name: str) -> bytes:
    raw = name.encode()
    if not 0 < len(raw) <= NAME_LIMIT:
        raise ValueError(f"name {name!r} must be 1..{NAME_LIMIT} bytes")
    return bytes([len(raw)]) + raw


def decode_frame(parts: list) -> tuple[FrameHeader, np.ndarray]:
    if len(parts) != 2:
        raise SchemaError("bad_parts", f"{len(parts)} parts, expected 2")
    head, payload = bytes(parts[0]), parts[1]
    if len(head) < _FIXED.size + 2:
        raise SchemaError("bad_header", f"header of {len(head)} bytes: {head[:32]!r}")
    version, fmt, epoch, seq, captured_ns, width, height = _FIXED.unpack_from(head)
    if version != SCHEMA_VERSION:
        raise SchemaError("bad_version", f"schema version {version}, expected {SCHEMA_VERSION}")
    try:
        pixel_format = PixelFormat(fmt)
    except ValueError:
        raise SchemaError("bad_format", f"pixel format {fmt}") from None
    display, source = _read_names(head[_FIXED.size :])
    header = FrameHeader(display, source, epoch, seq, captured_ns, width, height, pixel_format)
    dtype, channels = _SHAPES[pixel_format]
    shape = (height, width, channels) if channels else (height, width)
    buffer = memoryview(payload)
    if width == 0 or height == 0 or buffer.nbytes != int(np.prod(shape)) * np.dtype(dtype).itemsize:
        raise SchemaError("bad_size", f"{buffer.nbytes} payload bytes for {width}x{height} {pixel_format.name}")
    return header, np.frombuffer(buffer, dtype).reshape(shape)


def _read_names(rest: bytes) -> tuple[str, str]:
    names = []
    for _ in range(2):
        if not rest or rest[0] == 0 or len(rest) < 1 + rest[0]:
            raise SchemaError("bad_header", f"name field {rest[:32]!r}")
        try:
            names.append(rest[1 : 1 + rest[0]].decode())
        except UnicodeDecodeError:
            raise SchemaError("bad_header", f"name {rest[: 1 + rest[0]]!r} is not UTF-8") from None
        rest = rest[1 + rest[0] :]
    if rest:
        raise SchemaError("bad_header", f"{len(rest)} trailing header bytes")
    return names[0], names[1]
