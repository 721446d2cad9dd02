"""RECOLOR (docs/protocol.md): a box the board shows, its colours mapped through a table, a few pixels patched.

A dashboard that dims or changes its theme repaints nearly every pixel, but each old colour mostly
turns into one new colour: a table of those pairs plus the pixels it gets wrong costs a fraction of
sending the pixels. The board reads the box back from its panel, so the server must know exactly what
it shows there (never after a lossy JPEG).
"""

from __future__ import annotations

import struct
from typing import NamedTuple

import numpy as np

from common import protocol
from common.encodings import pixel_dtype
from common.protocol import ProtocolError

COUNT = struct.Struct("<H")
MAX_SKIP_BYTES = 4
SAMPLE_EVERY = 4  # a change is first judged on every 4th row
MAX_PAYLOAD = protocol.MAX_BODY - protocol.RECT_HEADER.size
COLOURS = 1 << 16


class Table(NamedTuple):
    old: np.ndarray  # `from` colours, ascending
    new: np.ndarray
    wrong: int  # pixels the table leaves or makes wrong: each a patch


def recolor_table(shown: np.ndarray, pixels: np.ndarray, limit: int = MAX_PAYLOAD) -> Table | None:
    """Each colour of `shown` goes to the colour most of its changed pixels turn into, if more of
    them turn into it than stay as they were; None as soon as the payload is sure (or, from a
    sample of the changes, likely) to reach `limit`: a dashboard's updates are rarely a recolouring."""
    if not _likely_fits(shown[::SAMPLE_EVERY], pixels[::SAMPLE_EVERY], limit / SAMPLE_EVERY):
        return None
    changed = shown != pixels
    if not changed.any():
        return Table(np.empty(0, np.uint16), np.empty(0, np.uint16), 0)
    top, turned, changed_of = _top_pairs(_keys(shown, pixels, changed))
    if COUNT.size + 3 * int(changed_of.sum() - turned.sum()) >= limit:  # patches even if every colour maps
        return None
    old, new = (top >> 16).astype(np.uint16), (top & 0xFFFF).astype(np.uint16)
    stay = np.bincount(shown.reshape(-1), minlength=COLOURS)[old] - changed_of
    worth = turned > stay  # more pixels turn into `new` than stay as they are
    wrong = int(changed_of.sum() - turned[worth].sum() + stay[worth].sum())
    return Table(old[worth], new[worth], wrong)


def _likely_fits(shown: np.ndarray, pixels: np.ndarray, limit: float) -> bool:
    """On a sample of rows: whether the patches would likely stay under the limit (with a margin of 2:
    the sample may be unlucky). Per old colour, as recolor_table decides: its changed pixels that miss
    its most frequent new colour, plus its unchanged ones if it is mapped; all its changed ones if not.
    (New digits on a dashboard: the background mostly stays, so what changed is all patches.) It sorts
    every sampled pixel's pair, as a sample is small; recolor_table sorts only the changed pixels and
    counts the rest, which is cheaper on a box where little changed."""
    changed = shown != pixels
    if changed.sum() < 64:
        return True
    pairs, counts = np.unique(((shown.astype(np.uint32) << 16) | pixels).reshape(-1), return_counts=True)
    firsts = np.flatnonzero(np.diff(pairs >> 16, prepend=-1))  # sorted by old colour first
    same = (pairs >> 16) == (pairs & 0xFFFF)
    stay = np.add.reduceat(np.where(same, counts, 0), firsts)
    turned = np.maximum.reduceat(np.where(same, 0, counts), firsts)
    changed_of = np.add.reduceat(counts, firsts) - stay
    wrong = np.where(turned > stay, changed_of - turned + stay, changed_of)
    return COUNT.size + 3 * int(wrong.sum()) < 2 * limit


def _keys(shown: np.ndarray, pixels: np.ndarray, changed: np.ndarray) -> np.ndarray:
    return (shown[changed].astype(np.uint32) << 16) | pixels[changed]


def _top_pairs(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For each old colour among the (old << 16 | new) keys, ascending: its most frequent key, how
    many pixels that is, and how many of the colour's pixels changed in all."""
    pairs, counts = np.unique(keys, return_counts=True)
    firsts = np.flatnonzero(np.diff(pairs >> 16, prepend=-1))  # pairs are sorted: by old colour first
    best = np.maximum.reduceat((counts.astype(np.int64) << 32) | pairs, firsts)  # largest (count, pair)
    return best & 0xFFFFFFFF, best >> 32, np.add.reduceat(counts, firsts)


def apply_table(shown: np.ndarray, old: np.ndarray, new: np.ndarray) -> np.ndarray:
    lookup = np.arange(COLOURS, dtype=np.uint16)
    lookup[old] = new
    return lookup[shown]


def encode_recolor(shown: np.ndarray, pixels: np.ndarray, big_endian: bool, limit: int = MAX_PAYLOAD) -> bytes | None:
    """The RECOLOR payload that turns `shown` into `pixels` (same shape); None if it would take
    `limit` bytes or more, found before the patches are built (each takes at least 3)."""
    table = recolor_table(shown, pixels, limit)
    if table is None or COUNT.size + 4 * table.old.size + 3 * table.wrong >= limit:
        return None
    old, new = table.old, table.new
    pairs = np.empty((old.size, 2), pixel_dtype(big_endian))
    pairs[:, 0], pairs[:, 1] = old, new
    patched = np.flatnonzero(apply_table(shown, old, new).reshape(-1) != pixels.reshape(-1))
    return COUNT.pack(old.size) + pairs.tobytes() + _patches(patched, pixels.reshape(-1)[patched], big_endian)


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
    pixel_bytes = values.astype(pixel_dtype(big_endian)).view(np.uint8).reshape(-1, 2)
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
    table = np.frombuffer(payload, pixel_dtype(big_endian), 2 * count, COUNT.size).reshape(count, 2).astype(np.uint16)
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
