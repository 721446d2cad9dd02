"""Bytes that candidate encodings would take on the same frames: sizes computed, nothing built or decoded.

- `pal-tiles`: each dirty 16x16 tile as one colour (2 bytes), a palette of 2/4/16 colours with 1/2/4-bit
  indices, or raw; one type byte per tile and a bitmap of dirty tiles per frame (Hextile/TRLE-like).
- `MED+zlib`, `H0(MED)`: each dirty tile predicted per channel with LOCO-I's median predictor (left, up,
  up-left inside the tile, so a board needs no framebuffer), residuals zlib-6'd; and the order-0 entropy of
  those residuals, what a simple adaptive entropy coder would approach.
- `zlib/RECT`: today's RECTs (same boxes, split to the 16 KB buffer), each block's RAW pixels zlib-6'd on its
  own: a DEFLATE encoding a board could inflate with the C3's ROM tinfl into one RECT-sized buffer.
- `copy oracle`: a COPY message per known motion, then RAW/RUNS on what still differs. The motion comes
  from the workload: the bound for the encoder's own motion search (which `ours` uses).
"""

from __future__ import annotations

import zlib

import numpy as np

from bench.pipeline import BOARD_MAX_BODY
from bench.workloads import Move
from common import protocol
from common.damage import Update, find_damage
from common.encodings import pixel_dtype
from common.messages import Demand
from common.packets import packetize

COPY_MESSAGE = protocol.HEADER.size + protocol.RECT_HEADER.size + protocol.COPY_SOURCE.size
FRAME_MESSAGES = 2 * (protocol.HEADER.size + 4)  # FRAME_BEGIN + FRAME_END
CHANNELS = ((11, 5), (5, 6), (0, 5))  # (shift, bits) of R, G, B in RGB565


def palette_tiles_size(tiles: np.ndarray, tiles_in_frame: int) -> int:
    if len(tiles) == 0:
        return 0
    flat = np.sort(tiles.reshape(len(tiles), -1), axis=1)
    colours = 1 + (np.diff(flat, axis=1) != 0).sum(axis=1)
    bits = np.select([colours <= 2, colours <= 4, colours <= 16], [1, 2, 4], 16)
    palette = np.where(bits < 16, 2 * colours + flat.shape[1] * bits // 8, 2 * flat.shape[1])
    size = 1 + np.where(colours == 1, 2, palette)
    return int(size.sum()) + -(-tiles_in_frame // 8)


def med_residuals(tiles: np.ndarray) -> list[np.ndarray]:
    """Per channel: (value - median predictor) mod 2**bits for every pixel of every tile (uint8)."""
    out = []
    for shift, bits in CHANNELS:
        x = ((tiles >> shift) & ((1 << bits) - 1)).astype(np.int16)
        a = np.pad(x, ((0, 0), (0, 0), (1, 0)))[:, :, :-1]  # left
        b = np.pad(x, ((0, 0), (1, 0), (0, 0)))[:, :-1, :]  # up
        c = np.pad(x, ((0, 0), (1, 0), (1, 0)))[:, :-1, :-1]  # up-left
        low, high = np.minimum(a, b), np.maximum(a, b)
        predicted = np.where(c >= high, low, np.where(c <= low, high, a + b - c))
        out.append(((x - predicted) & ((1 << bits) - 1)).astype(np.uint8))
    return out


def med_sizes(tiles: np.ndarray) -> tuple[int, int]:
    """zlib-6 of the MED residuals, and their order-0 entropy, in bytes."""
    if len(tiles) == 0:
        return 0, 0
    residuals = med_residuals(tiles)
    packed = len(zlib.compress(b"".join(r.tobytes() for r in residuals), 6))
    bits = 0.0
    for r in residuals:
        counts = np.bincount(r.ravel())
        p = counts[counts > 0] / r.size
        bits += float(-(p * np.log2(p)).sum()) * r.size
    return packed, int(bits / 8)


def deflate_rects(wire: bytes, pixels: np.ndarray, big_endian: bool) -> int:
    """Wire bytes of the same frame with each RECT's block as zlib-6 of its RAW pixels."""
    total, pos = FRAME_MESSAGES, 0
    while pos < len(wire):
        kind, length = protocol.HEADER.unpack_from(wire, pos)
        if kind == protocol.ServerMsg.RECT:
            x, y, w, h, _ = protocol.RECT_HEADER.unpack_from(wire, pos + protocol.HEADER.size)
            block = pixels[y : y + h, x : x + w].astype(pixel_dtype(big_endian)).tobytes()
            total += protocol.HEADER.size + protocol.RECT_HEADER.size + len(zlib.compress(block, 6))
        pos += protocol.HEADER.size + length
    return total


def copy_then_damage(old: np.ndarray, new: np.ndarray, moves: list[Move], big_endian: bool) -> int:
    """Wire bytes of a frame that first copies each moved box, then sends what still differs (RAW/RUNS)."""
    moved = old.copy()
    for m in moves:
        moved[m.dy : m.dy + m.h, m.dx : m.dx + m.w] = old[m.sy : m.sy + m.h, m.sx : m.sx + m.w]
    demand = Demand("bench", 0, "ideas", None, protocol.ALL_ENCODINGS, BOARD_MAX_BODY)
    packet = packetize(new, Update(None, find_damage(moved, new)), demand, big_endian)
    return FRAME_MESSAGES + COPY_MESSAGE * len(moves) + len(packet.payload)
