"""Pixel encodings of protocol v1 (RAW, RUNS, LZ4, JPEG): encoders and reference decoders.

Pixels are RGB565 values in a 2-D uint16 array; `big_endian` picks the byte order on the wire.
Decoders raise ProtocolError with the codes the C++ core uses.
"""

from __future__ import annotations

import io
from typing import NamedTuple

import lz4.block
import numpy as np
from PIL import Image

from common.protocol import Encoding, ProtocolError
from common.rgb565 import expand_rgb565, pack_rgb565

MAX_RUN = 256
LZ4_LEVEL = 9  # LZ4-HC level: within 1 % of the smallest (12) on dashboards at a tenth of its CPU time


def _dtype(big_endian: bool) -> np.dtype:
    return np.dtype(">u2" if big_endian else "<u2")


def encode_raw(pixels: np.ndarray, big_endian: bool) -> bytes:
    return pixels.astype(_dtype(big_endian), copy=False).tobytes()


class Runs(NamedTuple):
    flat: np.ndarray  # the pixels, row-major
    starts: np.ndarray  # index of each run's first pixel
    lengths: np.ndarray
    pieces: np.ndarray  # RUNS entries per run (a run longer than MAX_RUN takes several)

    @property
    def size(self) -> int:
        return int(self.pieces.sum()) * 3


def find_runs(pixels: np.ndarray) -> Runs:
    flat = np.ascontiguousarray(pixels).reshape(-1)
    starts = np.flatnonzero(np.concatenate(([True], flat[1:] != flat[:-1])))
    lengths = np.diff(np.append(starts, flat.size))
    return Runs(flat, starts, lengths, (lengths + MAX_RUN - 1) // MAX_RUN)


def encode_runs(pixels: np.ndarray, big_endian: bool, runs: Runs | None = None) -> bytes:
    """Runs of equal pixels in row-major order, each `(count-1) u8, pixel u16`, at most 256 long."""
    flat, starts, lengths, pieces = runs if runs is not None else find_runs(pixels)
    # A run longer than MAX_RUN becomes full pieces followed by the remainder.
    run_of_piece = np.repeat(np.arange(lengths.size), pieces)
    piece_index = np.arange(run_of_piece.size) - np.repeat(np.cumsum(pieces) - pieces, pieces)
    counts = np.minimum(lengths[run_of_piece] - piece_index * MAX_RUN, MAX_RUN)
    out = np.empty((run_of_piece.size, 3), np.uint8)
    out[:, 0] = counts - 1
    out[:, 1:] = flat[starts[run_of_piece]].astype(_dtype(big_endian)).view(np.uint8).reshape(-1, 2)
    return out.tobytes()


def runs_size(pixels: np.ndarray) -> int:
    """Bytes encode_runs would produce, without producing them."""
    return find_runs(pixels).size


def encode_lz4(raw: bytes) -> bytes:
    """LZ4 block sequences (no size header: the RECT's w*h gives it) of RAW-encoded pixels."""
    return lz4.block.compress(raw, mode="high_compression", compression=LZ4_LEVEL, store_size=False)


def encode_jpeg(pixels: np.ndarray, quality: int) -> bytes:
    """A baseline JPEG (4:2:0, optimised Huffman tables) of RGB565 pixels: the lossy encoding."""
    out = io.BytesIO()
    Image.fromarray(expand_rgb565(pixels), "RGB").save(out, "JPEG", quality=quality, subsampling=2, optimize=True)
    return out.getvalue()


def decode_jpeg(payload: bytes, w: int, h: int) -> np.ndarray:
    """The reference JPEG decoder (libjpeg through Pillow): baseline only, exactly w x h, RGB888 truncated
    to RGB565 as the board's decoder does. (libjpeg smooths subsampled chroma across blocks, the board
    repeats it: their pictures differ by ~40 dB for 4:2:0, and agree exactly for 4:4:4 and grey.)"""
    try:
        with Image.open(io.BytesIO(payload), formats=["JPEG"]) as image:
            if image.info.get("progressive") or image.info.get("progression"):
                raise ProtocolError("jpeg_malformed", "progressive JPEG; boards decode baseline only")
            if image.size != (w, h):
                raise ProtocolError("jpeg_size_mismatch", f"JPEG of {image.size[0]}x{image.size[1]} in a {w}x{h} rect")
            rgb = np.asarray(image.convert("RGB"))
    except (OSError, ValueError, SyntaxError) as error:  # what Pillow raises on a damaged file
        raise ProtocolError("jpeg_malformed", f"JPEG payload of {len(payload)} bytes: {error}") from None
    return pack_rgb565(rgb)


def encode_best(pixels: np.ndarray, big_endian: bool, allowed: frozenset[Encoding]) -> tuple[Encoding, bytes]:
    """The smallest of the allowed encodings for this block of pixels (its runs are found once)."""
    raw = encode_raw(pixels, big_endian)
    best = Encoding.RAW, raw
    if Encoding.RUNS in allowed:
        runs = find_runs(pixels)
        if runs.size < len(raw):
            best = Encoding.RUNS, encode_runs(pixels, big_endian, runs)
    if Encoding.LZ4 in allowed:
        packed = encode_lz4(raw)
        if len(packed) < len(best[1]):
            best = Encoding.LZ4, packed
    return best


def decode(encoding: Encoding, payload: bytes, w: int, h: int, big_endian: bool) -> np.ndarray:
    if encoding == Encoding.RAW:
        if len(payload) != 2 * w * h:
            raise ProtocolError("raw_size_mismatch", f"RAW {w}x{h} needs {2 * w * h} bytes, got {len(payload)}")
        return np.frombuffer(payload, _dtype(big_endian)).astype(np.uint16).reshape(h, w)
    if encoding == Encoding.RUNS:
        return _decode_runs(payload, w, h, big_endian)
    if encoding == Encoding.LZ4:
        raw = decode_lz4(payload, 2 * w * h)
        return np.frombuffer(raw, _dtype(big_endian)).astype(np.uint16).reshape(h, w)
    if encoding == Encoding.JPEG:
        return decode_jpeg(payload, w, h)
    raise ValueError(f"{encoding.name} carries no pixels: the board copies them (devices/reference_display.py)")


def _decode_runs(payload: bytes, w: int, h: int, big_endian: bool) -> np.ndarray:
    if len(payload) % 3:
        raise ProtocolError("runs_partial", f"RUNS payload of {len(payload)} bytes is not whole runs")
    runs = np.frombuffer(payload, np.uint8).reshape(-1, 3)
    counts = runs[:, 0].astype(np.int64) + 1
    covered = int(counts.sum())
    if covered > w * h:
        raise ProtocolError("runs_overflow", f"runs cover {covered} pixels, rect has {w * h}")
    if covered < w * h:
        raise ProtocolError("runs_short", f"runs cover {covered} pixels, rect has {w * h}")
    values = np.ascontiguousarray(runs[:, 1:]).view(_dtype(big_endian)).reshape(-1)
    return np.repeat(values, counts).astype(np.uint16).reshape(h, w)


def decode_lz4(payload: bytes, size: int) -> bytes:
    """The reference LZ4 decoder: the `size` bytes the sequences produce, checked in stream order.

    Each sequence: token (literal count << 4 | match count - 4, a nibble of 15 continues in bytes
    while they are 255), the literals, then, unless the payload ends there, a u16 LE offset back
    into what was produced and the match's extra count bytes. Errors, first found first:
    lz4_overflow (past `size`), lz4_bad_offset (0 or before the start), lz4_truncated (the payload
    ends inside a sequence), lz4_short (it ends before `size` bytes)."""
    out = bytearray()
    pos = 0

    def count(nibble: int) -> int:
        nonlocal pos
        total = nibble
        while nibble == 15:
            if pos >= len(payload):
                raise ProtocolError("lz4_truncated", f"LZ4 payload of {len(payload)} bytes ends inside a count")
            nibble = payload[pos]
            pos += 1
            total += nibble
            nibble = 15 if nibble == 255 else 0
        return total

    while pos < len(payload):
        token = payload[pos]
        pos += 1
        literals = count(token >> 4)
        if len(out) + literals > size:
            raise ProtocolError("lz4_overflow", f"LZ4 literals pass the {size} bytes of the rect")
        if pos + literals > len(payload):
            raise ProtocolError("lz4_truncated", f"LZ4 payload of {len(payload)} bytes ends inside literals")
        out += payload[pos : pos + literals]
        pos += literals
        if pos == len(payload):
            break
        if pos + 2 > len(payload):
            raise ProtocolError("lz4_truncated", f"LZ4 payload of {len(payload)} bytes ends inside an offset")
        offset = payload[pos] | payload[pos + 1] << 8
        pos += 2
        if offset == 0 or offset > len(out):
            raise ProtocolError("lz4_bad_offset", f"LZ4 offset {offset} with {len(out)} bytes produced")
        length = count(token & 15) + 4
        if len(out) + length > size:
            raise ProtocolError("lz4_overflow", f"LZ4 match passes the {size} bytes of the rect")
        start = len(out) - offset
        while length > 0:  # the source may overlap what this match writes: copy in offset-sized steps
            piece = out[start : start + min(length, offset)]
            out += piece
            start += len(piece)
            length -= len(piece)
    if len(out) != size:
        raise ProtocolError("lz4_short", f"LZ4 payload decodes to {len(out)} bytes, the rect has {size}")
    return bytes(out)
