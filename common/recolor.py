"""RECOLOR (docs/protocol.md): a box the board shows, its colours mapped through a table, a few pixels patched.

A dashboard that dims or changes its theme repaints nearly every pixel, but each old colour mostly
turns into one new colour: a table of those pairs plus the pixels it gets wrong costs a fraction of
sending the pixels. The board reads the box back from its panel, so the server must know exactly what
it shows there (never after a lossy JPEG).
"""

from __future__ import annotations

import struct

import numpy as np

from common.protocol import ProtocolError

COUNT = struct.Struct("<H")
MAX_SKIP_BYTES = 4
COLOURS = 1 << 16


def _dtype(big_endian: bool) -> np.dtype:
    return np.dtype(">u2" if big_endian else "<u2")


def recolor_table(shown: np.ndarray, pixels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The (from, to) pairs, `from` ascending: each colour of `shown` goes to the colour most of its
    changed pixels turn into, if more of them turn into it than stay as they were."""
    changed = shown != pixels
    if not changed.any():
        return np.empty(0, np.uint16), np.empty(0, np.uint16)
    pairs, counts = np.unique((shown[changed].astype(np.uint32) << 16) | pixels[changed], return_counts=True)
    old = pairs >> 16
    # Per old colour, its most frequent new colour: sort by colour, then by count, largest first.
    order = np.lexsort((-counts, old))
    old, pairs, counts = old[order], pairs[order], counts[order]
    first = np.flatnonzero(np.concatenate(([True], old[1:] != old[:-1])))
    old, new, turned = old[first], pairs[first] & 0xFFFF, counts[first]
    everywhere = np.bincount(shown.reshape(-1), minlength=COLOURS)[old]
    changed_of = np.bincount(shown[changed], minlength=COLOURS)[old]
    worth = turned > everywhere - changed_of  # more pixels turn into `new` than stay as they are
    return old[worth].astype(np.uint16), new[worth].astype(np.uint16)


def apply_table(shown: np.ndarray, old: np.ndarray, new: np.ndarray) -> np.ndarray:
    lookup = np.arange(COLOURS, dtype=np.uint16)
    lookup[old] = new
    return lookup[shown]


def encode_recolor(shown: np.ndarray, pixels: np.ndarray, big_endian: bool) -> bytes:
    """The RECOLOR payload that turns `shown` into `pixels` (same shape)."""
    old, new = recolor_table(shown, pixels)
    table = np.empty((old.size, 2), _dtype(big_endian))
    table[:, 0], table[:, 1] = old, new
    wrong = np.flatnonzero(apply_table(shown, old, new).reshape(-1) != pixels.reshape(-1))
    return COUNT.pack(old.size) + table.tobytes() + _patches(wrong, pixels.reshape(-1)[wrong], big_endian)


def _patches(positions: np.ndarray, values: np.ndarray, big_endian: bool) -> bytes:
    """`skip` as LEB128 then the pixel, per patch; skips are the gaps between patched positions."""
    if positions.size == 0:
        return b""
    skips = np.diff(positions, prepend=-1) - 1
    varint = 1 + (skips >= 1 << 7).astype(np.int64) + (skips >= 1 << 14) + (skips >= 1 << 21)
    ends = np.cumsum(varint + 2)
    starts = ends - varint - 2
    out = np.empty(int(ends[-1]), np.uint8)
    for k in range(MAX_SKIP_BYTES):
        has = varint > k
        more = (varint > k + 1)[has].astype(np.uint8) << 7
        out[starts[has] + k] = ((skips[has] >> (7 * k)) & 0x7F).astype(np.uint8) | more
    pixel_bytes = values.astype(_dtype(big_endian)).view(np.uint8).reshape(-1, 2)
    out[ends - 2], out[ends - 1] = pixel_bytes[:, 0], pixel_bytes[:, 1]
    return out.tobytes()


def decode_recolor(payload: bytes, shown: np.ndarray, big_endian: bool) -> np.ndarray:
    """The reference decoder: what the box shows after RECOLOR; checks all of the payload first."""
    old, new, patches = _parse(payload, shown.size, big_endian)
    out = apply_table(shown, old, new).reshape(-1)
    for position, value in patches:
        out[position] = value
    return out.reshape(shown.shape)


def _parse(payload: bytes, area: int, big_endian: bool) -> tuple[np.ndarray, np.ndarray, list[tuple[int, int]]]:
    if len(payload) < COUNT.size:
        raise ProtocolError("recolor_truncated", f"RECOLOR payload of {len(payload)} bytes, no count")
    (count,) = COUNT.unpack_from(payload)
    end = COUNT.size + 4 * count
    if len(payload) < end:
        raise ProtocolError("recolor_truncated", f"RECOLOR table of {count} pairs in {len(payload) - 2} bytes")
    table = np.frombuffer(payload, _dtype(big_endian), 2 * count, COUNT.size).reshape(count, 2).astype(np.uint16)
    old, new = table[:, 0], table[:, 1]
    unsorted = np.flatnonzero(old[1:] <= old[:-1])
    if unsorted.size:
        i = int(unsorted[0]) + 1
        raise ProtocolError("recolor_unsorted", f"RECOLOR pair {i} maps 0x{old[i]:04x}, after 0x{old[i - 1]:04x}")
    return old, new, _parse_patches(payload, end, area, big_endian)


def _parse_patches(payload: bytes, at: int, area: int, big_endian: bool) -> list[tuple[int, int]]:
    patches, position = [], -1
    pixel = struct.Struct(">H" if big_endian else "<H")
    while at < len(payload):
        skip, at = _varint(payload, at)
        position += skip + 1
        if position >= area:
            raise ProtocolError("recolor_overflow", f"RECOLOR patch at pixel {position} of a {area}-pixel box")
        if at + 2 > len(payload):
            raise ProtocolError("recolor_truncated", f"RECOLOR patch at pixel {position} without its pixel")
        patches.append((position, pixel.unpack_from(payload, at)[0]))
        at += 2
    return patches


def _varint(payload: bytes, at: int) -> tuple[int, int]:
    value = 0
    for k in range(MAX_SKIP_BYTES):
        if at + k >= len(payload):
            raise ProtocolError("recolor_truncated", f"RECOLOR skip cut at byte {at + k}")
        byte = payload[at + k]
        value |= (byte & 0x7F) << (7 * k)
        if byte < 0x80:
            return value, at + k + 1
    raise ProtocolError("recolor_overflow", f"RECOLOR skip at byte {at} longer than {MAX_SKIP_BYTES} bytes")
