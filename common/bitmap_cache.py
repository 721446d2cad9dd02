"""The server's copy of what a board keeps in its bitmap cache (the CACHED encoding and KEEP).

A board that offers CACHED keeps protocol.CACHE_PIXELS pixels for the server; the board has no policy
of its own. The server puts a block there with KEEP (a few bytes more than sending it) and later draws
the same pixels anywhere with a 14-byte CACHED RECT, the way remote-desktop protocols cache glyphs and
bitmaps: a clock's digits, a dashboard's repeated values and icons come back often.

The cache is a ring: each kept block takes the next free stretch, wrapping to 0, and whatever it
overlaps is forgotten. A `CacheState` is immutable, so the state after each frame can be kept under
the frame's key: a board's next demand names the frame it has, and the packet it then gets is built on
exactly the cache that frame left behind (an answer the egress dropped never counts).
"""

from __future__ import annotations

import hashlib
from collections.abc import Container
from typing import NamedTuple

import numpy as np

from common import protocol

KEEP_MAX_PIXELS = 1024  # larger blocks (2 KB+) rarely come back whole and would push the small ones out


def digest(pixels: np.ndarray) -> bytes:
    """What identifies a block's pixels: their size and 128 bits of BLAKE2b over them."""
    h, w = pixels.shape
    size = bytes([h & 255, h >> 8, w & 255, w >> 8])
    return hashlib.blake2b(np.ascontiguousarray(pixels).data, digest_size=16, salt=size).digest()


class Kept(NamedTuple):
    offset: int
    pixels: int
    digest: bytes


class CacheState:
    """Which blocks the board holds, where; `keep` returns a new state, this one stays as it was."""

    __slots__ = ("at", "kept", "next")

    def __init__(self, kept: tuple[Kept, ...] = (), at: dict[bytes, int] | None = None, next_free: int = 0) -> None:
        self.kept = kept  # oldest first
        self.at = {k.digest: k.offset for k in kept} if at is None else at
        self.next = next_free

    def offset_of(self, block_digest: bytes) -> int | None:
        return self.at.get(block_digest)

    def keep(self, block_digest: bytes, pixels: int, spare: Container[bytes] = ()) -> tuple[int, CacheState]:
        """Where a block of `pixels` goes, and the state with it there (and what it overwrote gone):
        the ring's next stretch that overwrites none of the `spare` blocks (what the packet being
        built still draws from), or if there is none, simply the next."""
        start = self._free_start(pixels, spare)
        end = start + pixels
        overwritten = [k for k in self.kept if k.offset < end and k.offset + k.pixels > start]
        kept, at = self.kept, dict(self.at)
        if overwritten:
            kept = tuple(k for k in kept if k not in overwritten)
            for k in overwritten:
                del at[k.digest]
        at[block_digest] = start
        return start, CacheState((*kept, Kept(start, pixels, block_digest)), at, end)

    def _free_start(self, pixels: int, spare: Container[bytes]) -> int:
        first = start = self.next if self.next + pixels <= protocol.CACHE_PIXELS else 0
        spared = [(k.offset, k.offset + k.pixels) for k in self.kept if k.digest in spare]
        wrapped = False
        while True:
            past = [end for begin, end in spared if begin < start + pixels and end > start]
            if not past:
                return start
            start = max(past)
            if start + pixels > protocol.CACHE_PIXELS:
                if wrapped:
                    return first
                start, wrapped = 0, True


EMPTY = CacheState()
