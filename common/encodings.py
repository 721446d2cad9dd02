"""Pixel encodings of protocol v1 (RAW, RUNS, LZ4, JPEG, RICE): encoders and reference decoders.

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
RICE_GROUP = 32  # pixels per group: one Rice parameter per channel and group
RICE_CHANNELS = ((11, 5), (5, 6), (0, 5))  # (shift, bits) of R, G, B in RGB565
RICE_MAX_K = 7  # a parameter is 3 bits
RICE_WORTH = 0.5  # RICE is tried on a block whose best other encoding keeps over this share of RAW (photo-like)
RICE_MIN_PIXELS = 1024  # and on no smaller block: ~0.3 ms of numpy calls each, for a few bytes at best on dashboards


def pixel_dtype(big_endian: bool) -> np.dtype:
    """RGB565 pixels as the wire carries them in that byte order."""
    return np.dtype(">u2" if big_endian else "<u2")


def encode_raw(pixels: np.ndarray, big_endian: bool) -> bytes:
    return pixels.astype(pixel_dtype(big_endian), copy=False).tobytes()


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
    out[:, 1:] = flat[starts[run_of_piece]].astype(pixel_dtype(big_endian)).view(np.uint8).reshape(-1, 2)
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


# Per channel, shaped to broadcast over a (3, h, w) stack of R, G, B values.
_RICE_SHIFTS = np.array([shift for shift, _ in RICE_CHANNELS], np.uint16)[:, None, None]
_RICE_MASKS = np.array([(1 << bits) - 1 for _, bits in RICE_CHANNELS], np.int16)[:, None, None]
_RICE_KS = np.arange(RICE_MAX_K + 1, dtype=np.int16)[:, None, None, None]  # every parameter, over (groups, 3, 32)


def rice_prediction(channels: np.ndarray) -> np.ndarray:
    """Each value's prediction from its left (a), upper (b) and upper-right (d) neighbours inside the
    RECT: (2a + b + d + 2) >> 2; the top row from the left, the left column from above, the last
    column's missing d is b, the first pixel 0. (On grainy photos an average beats LOCO-I's median
    predictor by 10-15 %: the median picks one noisy neighbour.) `channels` is (3, h, w), int16."""
    c = channels
    p = np.zeros_like(c)
    p[:, 0, 1:] = c[:, 0, :-1]
    p[:, 1:, 0] = c[:, :-1, 0]
    if c.shape[2] > 1:
        up_right = np.concatenate((c[:, :-1, 2:], c[:, :-1, -1:]), axis=2)
        p[:, 1:, 1:] = (2 * c[:, 1:, :-1] + c[:, :-1, 1:] + up_right + 2) >> 2
    return p


def rice_residuals(pixels: np.ndarray) -> np.ndarray:
    """(w*h, 3) residuals of R, G, B in row-major order: value - prediction modulo the channel's range,
    as -2**(bits-1) .. 2**(bits-1) - 1, zigzagged (0, -1, 1, -2, ... -> 0, 1, 2, 3, ...). The three
    channels are worked on at once as a (3, h, w) stack of int16 (a value sum stays below 256)."""
    channels = ((pixels[np.newaxis] >> _RICE_SHIFTS) & _RICE_MASKS.astype(np.uint16)).astype(np.int16)
    r = (channels - rice_prediction(channels)) & _RICE_MASKS
    # r at or above half the range is the negative r - range: zigzagged to 2 * (range - r) - 1.
    zigzag = np.where(r > _RICE_MASKS >> 1, 2 * (_RICE_MASKS - r) + 1, 2 * r)
    return zigzag.reshape(3, -1).T.astype(np.int32, order="C")


def encode_rice(pixels: np.ndarray) -> bytes:
    """RICE: per group of RICE_GROUP pixels (row-major), a 9-bit header of the R, G, B parameters k (3 bits
    each, the cheapest per channel), then each pixel's R, G, B residual u as u >> k zeros, a one, and
    u's k low bits; MSB first, zero-padded to a byte. Vectorised: every field is placed at once."""
    n = pixels.size
    u = rice_residuals(pixels)
    groups = -(-n // RICE_GROUP)
    blocks = np.zeros((groups * RICE_GROUP, 3), np.int16)
    blocks[:n] = u
    blocks = np.ascontiguousarray(blocks.reshape(groups, RICE_GROUP, 3).transpose(0, 2, 1))  # sums run along rows
    count = np.minimum(RICE_GROUP, n - np.arange(groups) * RICE_GROUP)[:, None]  # padding adds 0 >> k
    cost = (blocks >> _RICE_KS).sum(axis=3, dtype=np.int32) + count * (1 + _RICE_KS[..., 0])  # (k, groups, 3)
    k = cost.argmin(axis=0).astype(np.int32)  # (groups, 3): the cheapest parameter
    code_k = np.repeat(k, RICE_GROUP, axis=0)[:n]  # (n, 3)
    lengths = (u >> code_k) + 1 + code_k
    lengths[::RICE_GROUP, 0] += 9  # each group's header comes before its first code
    ends = np.cumsum(lengths.reshape(-1), dtype=np.int64)  # where each code ends, in stream order
    header_ends = ends[:: 3 * RICE_GROUP] - lengths[::RICE_GROUP, 0] + 9
    total = int(ends[-1])
    words = np.zeros(-(-total // 32), np.float64)
    _place_fields(words, ends, (1 << code_k | u & ((1 << code_k) - 1)).reshape(-1))  # the one and the low bits
    _place_fields(words, header_ends, k[:, 0] << 6 | k[:, 1] << 3 | k[:, 2])
    return words.astype(">u4").tobytes()[: -(-total // 8)]


def _place_fields(words: np.ndarray, ends: np.ndarray, values: np.ndarray) -> None:
    """Add each value (at most 9 bits, the rest of its field is zeros) to the MSB-first 32-bit words so
    that its last bit is the stream's bit `end - 1`. Fields never share a bit, so adding is OR-ing, and
    bincount adds every field at once (float64 holds a word's 32 bits exactly)."""
    last = ends - 1
    word = last >> 5
    placed = values.astype(np.int64) << (31 - (last & 31))  # may spill up to 8 bits into the word before
    words += np.bincount(word, weights=placed & 0xFFFFFFFF, minlength=words.size)
    words[:-1] += np.bincount(word, weights=placed >> 32, minlength=words.size)[1:]


def encode_best(pixels: np.ndarray, big_endian: bool, allowed: frozenset[Encoding]) -> tuple[Encoding, bytes]:
    """The smallest of the allowed encodings for this block of pixels (its runs are found once)."""
    raw = encode_raw(pixels, big_endian)
    best = Encoding.RAW, raw
    runs = find_runs(pixels) if Encoding.RUNS in allowed else None
    if Encoding.LZ4 in allowed:
        packed = encode_lz4(raw)
        if len(packed) < len(raw):
            best = Encoding.LZ4, packed
    if runs is not None and runs.size < len(raw) and runs.size <= len(best[1]):  # built only where it wins
        best = Encoding.RUNS, encode_runs(pixels, big_endian, runs)
    if Encoding.RICE in allowed and pixels.size >= RICE_MIN_PIXELS and len(best[1]) > RICE_WORTH * len(raw):
        predicted = encode_rice(pixels)
        if len(predicted) < len(best[1]):
            best = Encoding.RICE, predicted
    return best


def decode(encoding: Encoding, payload: bytes, w: int, h: int, big_endian: bool) -> np.ndarray:
    if encoding == Encoding.RAW:
        if len(payload) != 2 * w * h:
            raise ProtocolError("raw_size_mismatch", f"RAW {w}x{h} needs {2 * w * h} bytes, got {len(payload)}")
        return np.frombuffer(payload, pixel_dtype(big_endian)).astype(np.uint16).reshape(h, w)
    if encoding == Encoding.RUNS:
        return _decode_runs(payload, w, h, big_endian)
    if encoding == Encoding.LZ4:
        raw = decode_lz4(payload, 2 * w * h)
        return np.frombuffer(raw, pixel_dtype(big_endian)).astype(np.uint16).reshape(h, w)
    if encoding == Encoding.JPEG:
        return decode_jpeg(payload, w, h)
    if encoding == Encoding.RICE:
        return decode_rice(payload, w, h)
    raise ValueError(f"{encoding.name} carries no pixels: the board has them already (devices/reference_display.py)")


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
    values = np.ascontiguousarray(runs[:, 1:]).view(pixel_dtype(big_endian)).reshape(-1)
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


def decode_rice(payload: bytes, w: int, h: int) -> np.ndarray:
    """The reference RICE decoder, checked in stream order: rice_overflow (a run of zeros longer than
    any residual of the channel has with that k), rice_truncated (the payload ends inside a header or
    a code), rice_trailing (bytes after the one holding the last code's last bit)."""
    residuals = _rice_codes(payload, w * h)
    out = np.zeros((h, w), np.uint16)
    for c, (shift, bits) in enumerate(RICE_CHANNELS):
        out |= (_unpredict(residuals[c], w, h, bits) << shift).astype(np.uint16)
    return out


def _rice_codes(payload: bytes, n: int) -> list[list[int]]:
    """The zigzagged residuals of R, G and B of n pixels."""
    bits = np.unpackbits(np.frombuffer(payload, np.uint8))
    total = bits.size
    next_one = np.full(total + 1, total, np.int64)  # the first 1 bit at or after each position
    next_one[np.flatnonzero(bits)] = np.flatnonzero(bits)
    next_one = np.minimum.accumulate(next_one[::-1])[::-1]
    window = np.zeros(total + 1, np.int64)  # the 9 bits from each position on, as a number
    padded = np.concatenate((bits, np.zeros(9, np.uint8)))
    for j in range(9):
        window = window << 1 | padded[j : j + total + 1]
    following, nine = next_one.tolist(), window.tolist()
    limits = [(1 << bits) - 1 for _, bits in RICE_CHANNELS]
    codes: list[list[int]] = [[0] * n for _ in RICE_CHANNELS]
    pos, ks = 0, [0, 0, 0]
    for i in range(n):
        if i % RICE_GROUP == 0:
            if pos + 9 > total:
                raise ProtocolError("rice_truncated", f"RICE payload of {len(payload)} bytes ends in a group header")
            ks = [nine[pos] >> 6, nine[pos] >> 3 & 7, nine[pos] & 7]
            pos += 9
        for c in range(3):
            k, end = ks[c], following[pos]
            if end - pos > limits[c] >> k:
                raise ProtocolError("rice_overflow", f"RICE code past the {limits[c] + 1} values of its channel")
            if end + 1 + k > total:
                raise ProtocolError("rice_truncated", f"RICE payload of {len(payload)} bytes ends inside a code")
            codes[c][i] = (end - pos) << k | (nine[end + 1] >> (9 - k) if k else 0)
            pos = end + 1 + k
    if -(-pos // 8) != len(payload):
        raise ProtocolError("rice_trailing", f"RICE codes end in byte {-(-pos // 8)} of {len(payload)}")
    return codes


def _unpredict(codes: list[int], w: int, h: int, bits: int) -> np.ndarray:
    """One channel's values from its zigzagged residuals, row by row (each prediction needs values
    decoded before it)."""
    mask, values = (1 << bits) - 1, [0] * (w * h)
    for i, u in enumerate(codes):
        y, x = divmod(i, w)
        if y == 0:
            p = values[i - 1] if x else 0
        elif x == 0:
            p = values[i - w]
        else:
            up = values[i - w]
            p = (2 * values[i - 1] + up + (values[i - w + 1] if x + 1 < w else up) + 2) >> 2
        values[i] = (p + ((u >> 1) ^ -(u & 1))) & mask
    return np.array(values, np.int64).reshape(h, w)
