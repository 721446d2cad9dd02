"""Pixel encodings of protocol v1 (RAW, RUNS): vectorised encoders and reference decoders.

Pixels are RGB565 values in a 2-D uint16 array; `big_endian` picks the byte order on the wire.
Decoders raise ProtocolError with the codes the C++ core uses.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from common.protocol import Encoding, ProtocolError

MAX_RUN = 256


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


def encode_best(pixels: np.ndarray, big_endian: bool, allowed: frozenset[Encoding]) -> tuple[Encoding, bytes]:
    """The smallest of the allowed encodings for this block of pixels (its runs are found once)."""
    best = Encoding.RAW, encode_raw(pixels, big_endian)
    if Encoding.RUNS in allowed:
        runs = find_runs(pixels)
        if runs.size < len(best[1]):
            best = Encoding.RUNS, encode_runs(pixels, big_endian, runs)
    return best


def decode(encoding: Encoding, payload: bytes, w: int, h: int, big_endian: bool) -> np.ndarray:
    if encoding == Encoding.RAW:
        if len(payload) != 2 * w * h:
            raise ProtocolError("raw_size_mismatch", f"RAW {w}x{h} needs {2 * w * h} bytes, got {len(payload)}")
        return np.frombuffer(payload, _dtype(big_endian)).astype(np.uint16).reshape(h, w)
    if encoding == Encoding.RUNS:
        return _decode_runs(payload, w, h, big_endian)
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
