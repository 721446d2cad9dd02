"""Inter-stage message schema v1: every picture travels as ZeroMQ multipart [header, pixels].

The header is a terse binary struct followed by the display and source names (common/frame_header.py,
re-exported here); the pixels are the raw numpy buffer (sent with copy=False, never pickled), or for a
big picture from a source on this machine [header, "shared", reference] to a slot of the source's ring
in shared memory (common/shared_frames.py). `open_frame` validates everything a stage relies on, so a
malformed message is dropped at the boundary with a reason.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from common.frame_header import (
    NAME_LIMIT,
    REASONS,
    SCHEMA_VERSION,
    SHARED,
    FrameHeader,
    PixelFormat,
    SchemaError,
    pack_header,
    shared_frame_parts,
    unpack_header,
)
from common.shared_frames import shared_pixels

__all__ = [
    "NAME_LIMIT",
    "REASONS",
    "SCHEMA_VERSION",
    "SHARED",
    "FrameHeader",
    "PixelFormat",
    "SchemaError",
    "decode_frame",
    "encode_frame",
    "shared_frame_parts",
    "open_frame",
]

_SHAPES = {PixelFormat.RGB888: (np.uint8, 3), PixelFormat.RGB565: (np.uint16, 0)}


def encode_frame(header: FrameHeader, pixels: np.ndarray) -> list[bytes | memoryview]:
    dtype, channels = _SHAPES[header.pixel_format]
    expected = (header.height, header.width, channels) if channels else (header.height, header.width)
    if pixels.dtype != dtype or pixels.shape != expected:
        raise ValueError(f"pixels {pixels.dtype}{pixels.shape} do not match {header}")
    return [pack_header(header), np.ascontiguousarray(pixels).data.cast("B")]


def decode_frame(parts: list) -> tuple[FrameHeader, np.ndarray]:
    header, pixels, _ = open_frame(parts)
    return header, pixels


def open_frame(parts: list) -> tuple[FrameHeader, np.ndarray, Callable[[], bool]]:
    """The header, the pixels where they lie, and whether they still are those pixels once used (a
    shared slot can be written again meanwhile; inline pixels always are)."""
    shared = len(parts) == 3 and bytes(parts[1]) == SHARED
    if len(parts) != 2 and not shared:
        raise SchemaError("bad_parts", f"{len(parts)} parts, expected 2 (or 3, shared)")
    header = unpack_header(bytes(parts[0]))
    dtype, channels = _SHAPES[header.pixel_format]
    shape = (header.height, header.width, channels) if channels else (header.height, header.width)
    if shared:
        buffer, intact = shared_pixels(bytes(parts[2]), header.payload_bytes)
    else:
        buffer, intact = memoryview(parts[1]), _always
    if header.width == 0 or header.height == 0 or buffer.nbytes != header.payload_bytes:
        raise SchemaError(
            "bad_size", f"{buffer.nbytes} payload bytes for {header.width}x{header.height} {header.pixel_format.name}"
        )
    return header, np.frombuffer(buffer, dtype).reshape(shape), intact


def _always() -> bool:
    return True
