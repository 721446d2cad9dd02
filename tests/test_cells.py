"""CELLS: the text grid found in a picture, cells drawn from the board's cache, exact pictures and exact errors."""

from __future__ import annotations

import random
import struct
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont
from prometheus_client import CollectorRegistry

from common import protocol
from common.bitmap_cache import EMPTY
from common.cells import Grid, cell_digests, cell_pixels, cells_payload, decode_cells, find_grid
from common.config import load
from common.damage import Update
from common.frames import FrameHeader, PixelFormat, encode_frame
from common.messages import Demand, decode_packet, encode_demand
from common.motion import Box
from common.packets import cells_fit, packetize, use_cache
from common.protocol import Accept, Encoding, ProtocolError
from common.rgb565 import pack_rgb565, snap_colour
from devices.reference_display import BoardStream
from stages.encode_damage import DamageEncoder, make_metrics

W, H, PITCH = 320, 240, 12
WORDS = ("worker", "queue", "request", "flush", "retry", "socket", "id=", "INFO", "WARN", "12:04:33.125")
COLOURS = tuple(snap_colour(c) for c in ((229, 229, 229), (0, 205, 205), (205, 205, 0)))  # dither leaves them
WITHOUT_CELLS = protocol.ALL_ENCODINGS - {Encoding.CELLS}


def log_lines(count: int, seed: int) -> list[tuple[str, tuple[int, int, int]]]:
    rng = random.Random(seed)
    return [(" ".join(rng.choice(WORDS) for _ in range(rng.randint(2, 8))), rng.choice(COLOURS)) for _ in range(count)]


def terminal_rgb(lines: list[tuple[str, tuple[int, int, int]]]) -> np.ndarray:
    """A terminal's last lines: Pillow's 6x11 bitmap font on a 6x12 grid, on black."""
    image = Image.new("RGB", (W, H))
    draw, font = ImageDraw.Draw(image), ImageFont.load_default_imagefont()
    for row, (text, colour) in enumerate(lines[-(H // PITCH) :]):
        draw.text((0, row * PITCH), text[: W // 6], fill=colour, font=font)
    return np.asarray(image)


def terminal(lines: list[tuple[str, tuple[int, int, int]]]) -> np.ndarray:
    return pack_rgb565(terminal_rgb(lines))


# --- the payload and the reference decoder --------------------------------------------------------


def test_cells_are_drawn_from_the_cache_in_row_major_order_of_the_grid() -> None:
    cache = np.arange(protocol.CACHE_PIXELS, dtype=np.uint16)
    payload = cells_payload(2, 1, [100, 7, 16382])
    assert payload == b"\x02\x01" + struct.pack("<3H", 100, 7, 16382)
    np.testing.assert_array_equal(decode_cells(payload, 6, 1, cache), [[100, 101, 7, 8, 16382, 16383]])
    two_by_two = decode_cells(cells_payload(1, 2, [0, 10]), 2, 2, cache)
    np.testing.assert_array_equal(two_by_two, [[0, 10], [1, 11]])


@pytest.mark.parametrize(
    ("payload", "w", "h", "code"),
    [
        (b"\x02", 2, 2, "cells_bad_grid"),
        (b"\x00\x01" + b"\x00\x00", 2, 1, "cells_bad_grid"),
        (b"\x03\x01" + b"\x00\x00", 4, 1, "cells_bad_grid"),
        (b"\x02\x02" + b"\x00\x00", 2, 3, "cells_bad_grid"),
        (b"\x02\x01" + b"\x00\x00", 4, 1, "cells_size_mismatch"),
        (b"\x02\x01" + b"\x00\x00" * 3, 4, 1, "cells_size_mismatch"),
        (b"\x02\x01" + struct.pack("<2H", 0, protocol.CACHE_PIXELS - 1), 4, 1, "cells_overflow"),
    ],
)
def test_a_bad_payload_names_what_is_wrong(payload: bytes, w: int, h: int, code: str) -> None:
    with pytest.raises(ProtocolError) as error:
        decode_cells(payload, w, h, np.zeros(protocol.CACHE_PIXELS, np.uint16))
    assert error.value.code == code


# --- the grid ---------------------------------------------------------------------------------------


def test_a_terminal_has_a_6x12_grid_from_the_corner() -> None:
    assert find_grid(terminal(log_lines(30, seed=1))) == Grid(6, 12, 0, 0, 53, 20)


def test_text_moved_off_the_corner_is_cut_at_its_gaps() -> None:
    shifted = np.zeros((H, W), np.uint16)
    shifted[5:, 3:] = terminal(log_lines(30, seed=2))[: H - 5, : W - 3]
    grid = find_grid(shifted)
    # Columns 5 of each glyph cell and rows 9-11, 0-1 of each line are the gaps: cut next to them.
    assert grid is not None and (grid.w, grid.h) == (6, 12)
    assert (grid.x0, grid.y0) == (3 + 5 - 6, 5 + 9 - 12)


@pytest.mark.parametrize("seed", range(3))
def test_noise_a_gradient_and_an_empty_picture_have_no_grid(seed: int) -> None:
    rng = np.random.default_rng(seed)
    assert find_grid(rng.integers(0, 1 << 16, (H, W), dtype=np.uint16)) is None
    assert find_grid(np.add.outer(np.arange(H), np.arange(W)).astype(np.uint16)) is None
    assert find_grid(np.zeros((H, W), np.uint16)) is None


def test_a_box_is_split_at_the_grid_edge_and_its_part_inside_covered_by_whole_cells() -> None:
    grid = Grid(6, 12, 2, 0, 10, 5)  # x 2..62, y 0..60
    assert grid.split(Box(9, 13, 4, 2)) == (Box(9, 13, 4, 2), [])
    assert grid.cover(Box(9, 13, 4, 2)) == Box(8, 12, 6, 12)
    assert grid.cover(Box(2, 0, 60, 60)) == Box(2, 0, 60, 60)
    inside, outside = grid.split(Box(0, 50, 70, 20))
    assert inside == Box(2, 50, 60, 10)
    assert outside == [Box(0, 60, 70, 10), Box(0, 50, 2, 10), Box(62, 50, 8, 10)]
    assert grid.split(Box(62, 0, 4, 4)) == (None, [Box(62, 0, 4, 4)])


def test_equal_cells_share_a_digest_and_any_difference_or_size_tells_them_apart() -> None:
    pixels = np.tile(np.arange(12, dtype=np.uint16).reshape(2, 6), (2, 2))  # four equal 6x2 cells
    cells = cell_pixels(pixels, Box(0, 0, 12, 4), 6, 2)
    assert cells.shape == (4, 2, 6) and len(set(cell_digests(cells))) == 1
    pixels[3, 11] ^= 1
    assert len(set(cell_digests(cell_pixels(pixels, Box(0, 0, 12, 4), 6, 2)))) == 2
    assert cell_digests(pixels[:2, :6].reshape(1, 2, 6)) != cell_digests(pixels[:2, :6].reshape(1, 3, 4))


# --- end to end through encode_damage, read by the reference board ----------------------------------


@pytest.fixture
def encoder(tmp_path: Path) -> DamageEncoder:
    path = tmp_path / "t.toml"
    path.write_text(f'[[displays]]\nname = "main"\nwidth = {W}\nheight = {H}\nsource = "cpu_monitor"\n')
    return DamageEncoder(load(path), make_metrics(CollectorRegistry()))


def scroll(encoder: DamageEncoder, offers: dict[str, frozenset[Encoding]], ticks: int) -> dict[str, list[bytes]]:
    """A log scrolling one line per tick to boards offering these encodings (a 4 KB body: 2042 cells
    a RECT); each board ends each tick exact. The payload each board got each tick."""
    boards = {name: BoardStream(W, H, encodings, 4096) for name, encodings in offers.items()}
    for name, board in boards.items():
        board.feed(protocol.accept(Accept(True, offers[name], 4096, 1000, 4000)))
    lines, sent = log_lines(20, seed=3), {name: [] for name in boards}
    have: dict[str, tuple[int, int] | None] = dict.fromkeys(boards)
    for seq in range(1, ticks + 1):
        lines += log_lines(1, seed=100 + seq)
        pixels = terminal(lines)
        header = FrameHeader("main", "cpu_monitor", 1, seq, 1000 + seq, W, H, PixelFormat.RGB565)
        encoder.on_frame(encode_frame(header, pixels))
        for name, board in boards.items():
            demand = Demand(name, seq, "main", have[name], offers[name], 4096)
            answer, payload = decode_packet(encoder.on_demand(encode_demand(demand))[0])
            assert board.feed(protocol.frame_begin(seq) + payload + protocol.frame_end(seq)) == [seq]
            np.testing.assert_array_equal(board.framebuffer, pixels)
            have[name], sent[name] = answer.key, [*sent[name], payload]
    return sent


def test_scrolled_text_is_drawn_from_glyph_cells_never_read_back(encoder: DamageEncoder) -> None:
    sent = [protocol.rect_encodings(p) for p in scroll(encoder, {"b": protocol.ALL_ENCODINGS}, ticks=8)["b"]]
    assert all(Encoding.CELLS in rects and not {Encoding.COPY, Encoding.RECOLOR} & set(rects) for rects in sent[1:])


def test_the_first_picture_already_goes_as_cells_inside_the_grid(encoder: DamageEncoder) -> None:
    first = protocol.rect_encodings(scroll(encoder, {"b": protocol.ALL_ENCODINGS}, ticks=1)["b"][0])
    assert Encoding.CELLS in first  # the two columns right of the grid's 53 cells go as pixels


def test_once_its_glyphs_are_kept_a_scroll_costs_two_bytes_a_cell(encoder: DamageEncoder) -> None:
    payloads = scroll(encoder, {"b": protocol.ALL_ENCODINGS}, ticks=12)["b"]
    assert encoder.displays["main"].grid == Grid(6, 12, 0, 0, 53, 20)
    known = [p for p in payloads[2:] if set(protocol.rect_encodings(p)) == {Encoding.CELLS}]  # no new glyph
    assert len(known) >= 6
    rect = protocol.HEADER.size + protocol.RECT_HEADER.size + protocol.CELL_SIZE.size
    assert all(len(p) <= 53 * 20 * protocol.CACHE_OFFSET.size + 4 * rect for p in known)


def test_beside_a_board_with_cells_one_without_gets_the_scroll_as_a_copy(encoder: DamageEncoder) -> None:
    sent = scroll(encoder, {"cells": protocol.ALL_ENCODINGS, "copy": WITHOUT_CELLS}, ticks=4)
    with_cells, without = ([protocol.rect_encodings(p) for p in sent[name]] for name in ("cells", "copy"))
    assert all(Encoding.CELLS in rects and Encoding.COPY not in rects for rects in with_cells[1:])
    assert all(Encoding.COPY in rects and Encoding.CELLS not in rects for rects in without[1:])


def test_a_box_of_mostly_new_cells_goes_as_its_blocks_and_ends_exact() -> None:
    rng = np.random.default_rng(4)
    old = np.zeros((48, 48), np.uint16)
    new = rng.integers(0, 1 << 16, (48, 48), dtype=np.uint16)  # not text: every cell is new
    demand = Demand("b", 1, "main", None, protocol.ALL_ENCODINGS, 4096)
    grid = Grid(6, 12, 0, 0, 8, 4)
    packet = packetize(new, Update(None, [Box(0, 0, 48, 48)]), demand, True, grid=grid)
    payload = use_cache(packet, EMPTY, set())[0].payload
    assert Encoding.CELLS not in protocol.rect_encodings(payload)
    board = BoardStream(48, 48, protocol.ALL_ENCODINGS, 4096)
    board.feed(protocol.accept(Accept(True, protocol.ALL_ENCODINGS, 4096, 1000, 4000)))
    board.framebuffer[:] = old
    assert board.feed(protocol.frame_begin(1) + payload + protocol.frame_end(1)) == [1]
    np.testing.assert_array_equal(board.framebuffer, new)


# 64 bytes hold 26 cells a RECT: each row of 30 cells in two parts.
@pytest.mark.parametrize(("max_body", "parts"), [(4096, 1), (64, 8)])
def test_cells_go_in_parts_that_fit_the_board_buffer(max_body: int, parts: int) -> None:
    rng = np.random.default_rng(6)
    glyphs = rng.integers(0, 1 << 16, (3, 4, 4), dtype=np.uint16)
    pixels = glyphs[rng.integers(0, 3, (4, 30))].transpose(0, 2, 1, 3).reshape(16, 120)  # 30x4 cells, 3 glyphs
    demand = Demand("b", 1, "main", None, protocol.ALL_ENCODINGS, max_body)
    board = BoardStream(120, 16, protocol.ALL_ENCODINGS, max_body)
    board.feed(protocol.accept(Accept(True, protocol.ALL_ENCODINGS, max_body, 1000, 4000)))
    packet = packetize(pixels, Update(None, [Box(0, 0, 120, 16)]), demand, True, grid=Grid(4, 4, 0, 0, 30, 4))
    payload = use_cache(packet, EMPTY, set())[0].payload
    assert protocol.rect_encodings(payload).count(Encoding.CELLS) == parts
    assert board.feed(protocol.frame_begin(1) + payload + protocol.frame_end(1)) == [1]
    np.testing.assert_array_equal(board.framebuffer, pixels)


def test_a_board_whose_buffer_a_cell_does_not_fit_gets_no_cells() -> None:
    grid = Grid(6, 12, 0, 0, 53, 20)
    assert cells_fit(grid, Demand("b", 1, "main", None, protocol.ALL_ENCODINGS, 9 + 144))
    assert not cells_fit(grid, Demand("b", 1, "main", None, protocol.ALL_ENCODINGS, 9 + 143))
    assert not cells_fit(grid, Demand("b", 1, "main", None, protocol.ALL_ENCODINGS - {Encoding.CACHED}, 4096))
