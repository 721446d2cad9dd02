"""Inter-stage message schema v1, the header half: a terse binary struct, then the display and source names.

Every picture travels as ZeroMQ multipart [header, pixels], or between processes of one machine as
[header, "shared", reference] (common/shared_frames.py). This module needs no numpy, so a source
that draws with Pillow sends its pictures without loading it (~0.05 s of CPU at start, when every
stage starts on the same cores); common/frames.py adds the pixels as numpy arrays and re-exports
all of this.
"""

from __future__ import annotations

import enum
import struct
from dataclasses import dataclass

SCHEMA_VERSION = 1
_FIXED = struct.Struct("<BBQQQHH")
NAME_LIMIT = 64


class PixelFormat(enum.IntEnum):
    RGB888 = 1  # uint8 (h, w, 3): what sources produce
    RGB565 = 2  # uint16 (h, w): what the color stage produces, values (byte order applied on the wire)


BYTES_PER_PIXEL = {PixelFormat.RGB888: 3, PixelFormat.RGB565: 2}


class SchemaError(Exception):
    """A message between stages did not match the schema; `reason` is a bounded label value."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason


SHARED = b"shared"  # the middle part of a frame whose pixels are in shared memory
REASONS = ("bad_parts", "bad_header", "bad_version", "bad_format", "bad_size", "bad_shared", "torn")


@dataclass(frozen=True, slots=True)
class FrameHeader:
    display: str
    source: str
    epoch: int  # start time (ns) of the source process: orders frames across source restarts
    seq: int  # per source process, +1 per distinct picture (renumbered by gather_frames: +1 per one it passed on)
    captured_ns: int  # time.time_ns() at capture, for end-to-end latency
    width: int
    height: int
    pixel_format: PixelFormat

    @property
    def order_key(self) -> tuple[int, int]:
        return (self.epoch, self.seq)

    @property
    def payload_bytes(self) -> int:
        """The size of the pixels part: rows of `width` pixels, top to bottom, nothing between them."""
        return self.width * self.height * BYTES_PER_PIXEL[self.pixel_format]


def pack_header(header: FrameHeader) -> bytes:
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
    return fixed + names


def shared_frame_parts(header: FrameHeader, reference: bytes) -> list[bytes]:
    """The message for pixels in a slot of a source's ring in shared memory (common/shared_frames.py)."""
    return [pack_header(header), SHARED, reference]


def frame_parts(header: FrameHeader, pixels: bytes) -> list[bytes]:
    """The message for pixels already in the wire layout (e.g. a Pillow image's `tobytes()`)."""
    if len(pixels) != header.payload_bytes:
        raise ValueError(f"{len(pixels)} pixel bytes do not match {header}")
    return [pack_header(header), pixels]


def _short(name: str) -> bytes:
    raw = name.encode()
    if not 0 < len(raw) <= NAME_LIMIT:
        raise ValueError(f"name {name!r} must be 1..{NAME_LIMIT} bytes")
    return bytes([len(raw)]) + raw


def unpack_header(head: bytes) -> FrameHeader:
    """The header part of a message, every field checked (the pixels part is the caller's)."""
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
    return FrameHeader(display, source, epoch, seq, captured_ns, width, height, pixel_format)


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
