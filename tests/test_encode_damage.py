"""Damage (common/damage.py), packets (common/packets.py) and encode_damage on small hand-built pictures:
exact damage, merging, splitting, and the stage's bookkeeping."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from prometheus_client import CollectorRegistry

from common import protocol
from common.config import load
from common.damage import Update, find_damage, merge_boxes, plan_update, split_to_fit, union
from common.frames import FrameHeader, PixelFormat, encode_frame
from common.messages import Demand, PacketHeader, decode_packet, encode_demand
from common.motion import Box
from common.packets import packetize
from common.protocol import Accept, Encoding
from common.reorder import WINDOW_S
from common.rgb565 import expand_rgb565, pack_rgb565
from devices.reference_display import BoardStream
from stages.encode_damage import DamageEncoder, make_metrics

RAW_ONLY = frozenset({Encoding.RAW})
BOTH = protocol.ALL_ENCODINGS
WIDTH, HEIGHT = 40, 24  # not multiples of the 16-pixel tile


def apply_boxes(old: np.ndarray, new: np.ndarray, boxes: list[Box]) -> np.ndarray:
    out = old.copy()
    for b in boxes:
        out[b.y : b.y + b.h, b.x : b.x + b.w] = new[b.y : b.y + b.h, b.x : b.x + b.w]
    return out


def sparse_change(rng: np.random.Generator, old: np.ndarray) -> np.ndarray:
    """A copy of `old` with a few random pixels and sometimes a small block changed, often including the right
    and bottom edges."""
    new = old.copy()
    h, w = old.shape
    if rng.random() < 0.3:
        y, x = int(rng.integers(0, h)), int(rng.integers(0, w))
        new[y : y + int(rng.integers(1, 20)), x : x + int(rng.integers(1, 20))] ^= 0x0841
    ys = list(rng.integers(0, h, rng.integers(1, 6)))
    xs = list(rng.integers(0, w, len(ys)))
    if rng.random() < 0.5:
        ys.append(h - 1)
        xs.append(int(rng.integers(0, w)))
    if rng.random() < 0.5:
        ys.append(int(rng.integers(0, h)))
        xs.append(w - 1)
    for y, x in zip(ys, xs, strict=True):
        new[y, x] ^= int(rng.integers(1, 0x10000))
    return new


def noise(h: int, w: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 0x10000, (h, w), dtype=np.uint16)


# --- find_damage ---------------------------------------------------------------------------------

SHAPES = [(1, 1), (16, 16), (23, 37), (17, 50), (5, 70), (48, 33)]


@pytest.mark.parametrize(("h", "w"), SHAPES)
def test_boxes_of_new_pixels_turn_old_into_new_for_random_sparse_changes(h: int, w: int) -> None:
    for seed in range(150):
        rng = np.random.default_rng(seed)
        old = rng.integers(0, 4, (h, w)).astype(np.uint16)  # few values, so merging has something to merge
        new = sparse_change(rng, old)
        boxes = find_damage(old, new)
        assert all(b.w >= 1 and b.h >= 1 and b.x + b.w <= w and b.y + b.h <= h for b in boxes), (seed, boxes)
        np.testing.assert_array_equal(apply_boxes(old, new, boxes), new, err_msg=f"seed {seed}: {boxes}")


@pytest.mark.parametrize(("h", "w"), SHAPES)
def test_every_box_has_a_changed_pixel_on_each_of_its_four_borders(h: int, w: int) -> None:
    for seed in range(150):
        rng = np.random.default_rng(seed)
        old = noise(h, w, seed)
        new = sparse_change(rng, old)
        changed = old != new
        for b in find_damage(old, new):
            area = changed[b.y : b.y + b.h, b.x : b.x + b.w]
            assert area[0].any() and area[-1].any() and area[:, 0].any() and area[:, -1].any(), (seed, b)


def test_identical_pictures_have_no_damage() -> None:
    picture = noise(23, 37)
    assert find_damage(picture, picture.copy()) == []


@pytest.mark.parametrize(("y", "x"), [(0, 0), (22, 36), (16, 32), (15, 15), (22, 0), (0, 36)])
def test_one_changed_pixel_is_one_one_pixel_box(y: int, x: int) -> None:
    old = noise(23, 37)
    new = old.copy()
    new[y, x] ^= 1
    assert find_damage(old, new) == [Box(x, y, 1, 1)]


@pytest.mark.parametrize(("h", "w"), SHAPES)
def test_every_pixel_changed_is_one_box_of_the_whole_picture(h: int, w: int) -> None:
    old = noise(h, w)
    assert find_damage(old, ~old) == [Box(0, 0, w, h)]


# --- merge_boxes ---------------------------------------------------------------------------------


def test_adjacent_boxes_merge_when_their_union_encodes_smaller() -> None:
    flat = np.zeros((8, 16), np.uint16)  # one RUN either way, so the union saves a RECT header
    assert merge_boxes([Box(8, 2, 8, 3), Box(0, 2, 8, 3)], flat) == [Box(0, 2, 16, 3)]


def test_far_apart_boxes_stay_apart_when_the_union_would_cost_more() -> None:
    picture = noise(64, 64)
    corners = [Box(63, 63, 1, 1), Box(0, 0, 1, 1)]
    assert merge_boxes(corners, picture) == [Box(0, 0, 1, 1), Box(63, 63, 1, 1)]


# --- split_to_fit --------------------------------------------------------------------------------


@pytest.mark.parametrize("max_body", [64, 65, 100, 1000, 16384])
@pytest.mark.parametrize("h", [1, 3, 28, 61])
def test_blocks_cover_the_box_exactly_once_and_each_raw_block_fits_the_body(max_body: int, h: int) -> None:
    for w in range(1, 321):
        box = Box(5, 7, w, h)
        covered = np.zeros((7 + h, 5 + w), np.int32)
        for block in split_to_fit(box, max_body):
            assert block.w >= 1 and block.h >= 1, (w, block)
            assert protocol.RECT_HEADER.size + 2 * block.w * block.h <= max_body, (w, block)
            covered[block.y : block.y + block.h, block.x : block.x + block.w] += 1
        expected = np.zeros_like(covered)
        expected[7:, 5:] = 1
        np.testing.assert_array_equal(covered, expected, err_msg=f"{w}x{h}")


# --- packetize, read back by the reference board -------------------------------------------------


def board_showing(payload: bytes, w: int, h: int, encodings: frozenset[Encoding], max_body: int, big_endian: bool):
    board = BoardStream(w, h, encodings, max_body)
    accept = protocol.accept(Accept(big_endian, encodings, max_body, 1000, 4000))
    assert board.feed(accept + protocol.frame_begin(1) + payload + protocol.frame_end(1)) == [1]
    return board


def rect_headers(payload: bytes) -> list[tuple[int, int, int, int, int]]:
    """(x, y, w, h, encoding) of every RECT message in a packet payload."""
    found, offset = [], 0
    while offset < len(payload):
        kind, length = protocol.HEADER.unpack_from(payload, offset)
        assert kind == protocol.ServerMsg.RECT
        found.append(protocol.RECT_HEADER.unpack_from(payload, offset + protocol.HEADER.size))
        offset += protocol.HEADER.size + length
    return found


def flat_and_noisy(h: int, w: int) -> np.ndarray:
    """Left half one colour (RUNS wins), right half noise (RAW wins)."""
    picture = noise(h, w, 7)
    picture[:, : w // 2] = 0x07E0
    return picture


@pytest.mark.parametrize("encodings", [RAW_ONLY, BOTH], ids=["raw", "raw+runs"])
@pytest.mark.parametrize("big_endian", [True, False], ids=["big", "little"])
@pytest.mark.parametrize("max_body", [64, 16384])
def test_reference_board_shows_exactly_the_packetized_picture(
    encodings: frozenset[Encoding], big_endian: bool, max_body: int
) -> None:
    picture = flat_and_noisy(HEIGHT, WIDTH)
    demand = Demand("b", 0, "main", None, encodings, max_body)
    payload, count, *_ = packetize(picture, Update(None, [Box(0, 0, WIDTH, HEIGHT)]), demand, big_endian)
    board = board_showing(payload, WIDTH, HEIGHT, encodings, max_body, big_endian)
    np.testing.assert_array_equal(board.framebuffer, picture)
    assert len(rect_headers(payload)) == count
    assert {code for *_, code in rect_headers(payload)} <= {e.value for e in encodings}


def test_blocks_of_a_flat_area_go_as_runs_and_blocks_of_noise_as_raw() -> None:
    demand = Demand("b", 0, "main", None, BOTH, 64)
    half = WIDTH // 2
    flat, noisy = Box(0, 0, half, HEIGHT), Box(half, 0, WIDTH - half, HEIGHT)
    payload, *_ = packetize(flat_and_noisy(HEIGHT, WIDTH), Update(None, [flat, noisy]), demand, True)
    codes: dict[bool, set[int]] = {True: set(), False: set()}
    for x, _y, _w, _h, code in rect_headers(payload):
        codes[x < half].add(code)
    assert codes == {True: {Encoding.RUNS}, False: {Encoding.RAW}}


@pytest.mark.parametrize("encodings", [RAW_ONLY, BOTH], ids=["raw", "raw+runs"])
@pytest.mark.parametrize("big_endian", [True, False], ids=["big", "little"])
def test_reference_board_holding_the_old_picture_shows_the_new_after_its_damage(
    encodings: frozenset[Encoding], big_endian: bool
) -> None:
    demand = Demand("b", 0, "main", None, encodings, 64)
    for seed in range(40):
        old = flat_and_noisy(HEIGHT, WIDTH)
        new = sparse_change(np.random.default_rng(seed), old)
        full, *_ = packetize(old, Update(None, [Box(0, 0, WIDTH, HEIGHT)]), demand, big_endian)
        board = board_showing(full, WIDTH, HEIGHT, encodings, 64, big_endian)
        damage, *_ = packetize(new, Update(None, find_damage(old, new)), demand, big_endian)
        assert board.feed(protocol.frame_begin(2) + damage + protocol.frame_end(2)) == [2]
        np.testing.assert_array_equal(board.framebuffer, new, err_msg=f"seed {seed}")


# --- moves (COPY) ----------------------------------------------------------------------------------

NO_COPY = frozenset({Encoding.RAW, Encoding.RUNS})
SCREEN_W, SCREEN_H, LINE = 320, 240, 12


def text_lines(count: int, seed: int) -> np.ndarray:
    """Rows of glyph-like noise on black, LINE pixels apart, as a terminal shows text."""
    rng = np.random.default_rng(seed)
    lines = np.zeros((count * LINE, SCREEN_W), np.uint16)
    for row in range(count):
        glyphs = rng.integers(0, 2, (LINE - 2, SCREEN_W - 8 * int(rng.integers(0, 30))), dtype=np.uint16)
        lines[row * LINE : row * LINE + LINE - 2, : glyphs.shape[1]] = glyphs * 0xC618
    return lines


def dragged_window(seed: int, before: tuple[int, int], after: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """A 160x120 window of busy content over a smooth gradient, at `before` and then at `after`."""
    rng = np.random.default_rng(seed)
    background = np.arange(SCREEN_W, dtype=np.uint16)[None, :] // 10 * 0x0821 + np.zeros((SCREEN_H, 1), np.uint16)
    window = rng.integers(0, 4, (120, 160), dtype=np.uint16) * 0x2104 + 0x8410
    pictures = []
    for x, y in (before, after):
        picture = background.copy()
        picture[y : y + 120, x : x + 160] = window
        pictures.append(picture)
    return pictures[0], pictures[1]


def update_bytes(old: np.ndarray, new: np.ndarray, encodings: frozenset[Encoding]) -> tuple[int, np.ndarray]:
    """Wire bytes from old to new for a board offering `encodings`, and what that board then shows."""
    demand = Demand("b", 0, "main", None, encodings, 16384)
    full, *_ = packetize(old, Update(None, [Box(0, 0, *old.shape[::-1])]), demand, True)
    board = board_showing(full, old.shape[1], old.shape[0], encodings, 16384, True)
    update = plan_update(old, new, Encoding.COPY in encodings)
    payload, *_ = packetize(new, update, demand, True)
    assert board.feed(protocol.frame_begin(2) + payload + protocol.frame_end(2)) == [2]
    return len(payload), board.framebuffer


def test_a_scrolled_terminal_is_one_copy_and_the_new_line() -> None:
    old = text_lines(20, seed=1)
    new = np.concatenate([old[LINE:], text_lines(1, seed=2)])
    move = plan_update(old, new, can_copy=True).move
    assert move is not None and (move.source.x - move.x, move.source.y - move.y) == (0, LINE)
    copied, shown = update_bytes(old, new, protocol.ALL_ENCODINGS)
    np.testing.assert_array_equal(shown, new)
    pixels_only, shown = update_bytes(old, new, NO_COPY)
    np.testing.assert_array_equal(shown, new)
    assert copied * 8 < pixels_only


def test_a_dragged_window_is_copied_from_where_it_was() -> None:
    old, new = dragged_window(3, before=(40, 30), after=(46, 34))
    move = plan_update(old, new, can_copy=True).move
    assert move is not None and (move.source.x - move.x, move.source.y - move.y) == (-6, -4)
    destination = Box(move.x, move.y, move.source.w, move.source.h)
    assert union([destination, Box(46, 34, 160, 120)]) == destination  # the whole window moves
    copied, shown = update_bytes(old, new, protocol.ALL_ENCODINGS)
    np.testing.assert_array_equal(shown, new)
    pixels_only, shown = update_bytes(old, new, NO_COPY)
    np.testing.assert_array_equal(shown, new)
    assert copied * 8 < pixels_only


def test_a_board_that_cannot_copy_gets_no_copy() -> None:
    old, new = dragged_window(4, before=(10, 10), after=(0, 0))
    demand = Demand("b", 0, "main", None, NO_COPY, 16384)
    payload, *_ = packetize(new, plan_update(old, new, can_copy=False), demand, True)
    assert Encoding.COPY not in {code for *_, code in rect_headers(payload)}


def test_changes_without_motion_make_no_move() -> None:
    old = flat_and_noisy(SCREEN_H, SCREEN_W)
    for seed in range(20):
        assert plan_update(old, sparse_change(np.random.default_rng(seed), old), can_copy=True).move is None


@pytest.mark.parametrize("max_body", [64, 16384])
def test_any_motion_with_noise_ends_exact_on_a_board_that_copies(max_body: int) -> None:
    """Moves found in random content (right or wrong ones) never cost exactness."""
    for seed in range(30):
        rng = np.random.default_rng(seed)
        old = text_lines(20, seed)
        dy, dx = int(rng.integers(-40, 41)), int(rng.integers(-40, 41))
        new = np.roll(old, (dy, dx), axis=(0, 1))
        new = sparse_change(rng, new)
        demand = Demand("b", 0, "main", None, protocol.ALL_ENCODINGS, max_body)
        full, *_ = packetize(old, Update(None, [Box(0, 0, SCREEN_W, SCREEN_H)]), demand, False)
        board = board_showing(full, SCREEN_W, SCREEN_H, protocol.ALL_ENCODINGS, max_body, False)
        payload, *_ = packetize(new, plan_update(old, new, can_copy=True), demand, False)
        assert board.feed(protocol.frame_begin(2) + payload + protocol.frame_end(2)) == [2]
        np.testing.assert_array_equal(board.framebuffer, new, err_msg=f"seed {seed}, moved by {dy},{dx}")


# --- recolouring (RECOLOR) --------------------------------------------------------------------------

NO_RECOLOR = protocol.ALL_ENCODINGS - {Encoding.RECOLOR}


def dashboard(seed: int) -> np.ndarray:
    """A few flat colours in bars and blocks, as a dashboard is drawn, in RGB888."""
    rng = np.random.default_rng(seed)
    palette = rng.integers(0, 256, (6, 3))
    rows = rng.integers(0, 6, (SCREEN_H // 8, SCREEN_W // 4))
    return palette[np.repeat(np.repeat(rows, 8, axis=0), 4, axis=1)].astype(np.uint8)


def dimmed(rgb: np.ndarray, step: int) -> np.ndarray:
    return pack_rgb565((rgb.astype(np.uint16) * (64 - step) // 64).astype(np.uint8))


@pytest.mark.parametrize("big_endian", [True, False], ids=["big", "little"])
def test_a_dimmed_dashboard_goes_as_recolor_and_ends_exact(big_endian: bool) -> None:
    rgb = dashboard(5)
    demand = Demand("b", 0, "main", None, protocol.ALL_ENCODINGS, 4096)
    old = dimmed(rgb, 0)
    full, *_ = packetize(old, Update(None, [Box(0, 0, SCREEN_W, SCREEN_H)]), demand, big_endian)
    board = board_showing(full, SCREEN_W, SCREEN_H, protocol.ALL_ENCODINGS, 4096, big_endian)
    for step in range(1, 12):
        new = dimmed(rgb, step)
        update = plan_update(old, new, can_copy=True)
        payload, *_ = packetize(new, update, demand, big_endian)
        plain, *_ = packetize(new, update, Demand("b", 0, "main", None, NO_RECOLOR, 4096), big_endian)
        assert Encoding.RECOLOR in {code for *_, code in rect_headers(payload)}
        assert 3 * len(payload) < len(plain), step
        assert board.feed(protocol.frame_begin(step + 1) + payload + protocol.frame_end(step + 1)) == [step + 1]
        np.testing.assert_array_equal(board.framebuffer, new, err_msg=f"step {step}")
        old = new


def test_a_recolor_after_an_overlapping_box_maps_what_that_box_drew() -> None:
    """Damage boxes may overlap: the second box's table is built on what the first one drew. Here
    colour P turns Q and Q turns R; the first box draws Q where P was, so the second must patch
    those pixels (its table would take them on to R)."""
    P, Q, R = 0x1111, 0x2222, 0x3333
    old = np.full((SCREEN_H, SCREEN_W), P, np.uint16)
    old[:, SCREEN_W // 2 :] = Q
    new = np.where(old == P, Q, R).astype(np.uint16)
    demand = Demand("b", 0, "main", None, protocol.ALL_ENCODINGS, 4096)
    update = Update(None, [Box(8, 8, 4, 4), Box(0, 0, SCREEN_W, SCREEN_H)], old)
    payload, *_ = packetize(new, update, demand, True)
    assert [code for *_, code in rect_headers(payload)] == [Encoding.RUNS, Encoding.RECOLOR]
    full, *_ = packetize(old, Update(None, [Box(0, 0, SCREEN_W, SCREEN_H)]), demand, True)
    board = board_showing(full + payload, SCREEN_W, SCREEN_H, protocol.ALL_ENCODINGS, 4096, True)
    np.testing.assert_array_equal(board.framebuffer, new)


def test_a_board_without_recolor_or_that_shows_jpeg_gets_pixels() -> None:
    old, new = dimmed(dashboard(6), 0), dimmed(dashboard(6), 8)
    without = Demand("b", 0, "main", None, NO_RECOLOR, 4096)
    payload, *_ = packetize(new, plan_update(old, new, can_copy=True), without, True)
    assert Encoding.RECOLOR not in {code for *_, code in rect_headers(payload)}
    approximate = plan_update(old, new, can_copy=False, redraw=(Box(0, 0, 16, 16),))
    assert approximate.shown is None  # the board shows part of the picture only approximately
    with_recolor = Demand("b", 0, "main", None, protocol.ALL_ENCODINGS, 4096)
    payload, *_ = packetize(new, approximate, with_recolor, True)
    assert Encoding.RECOLOR not in {code for *_, code in rect_headers(payload)}


def test_random_changes_never_go_as_recolor_that_costs_more() -> None:
    for seed in range(20):
        old = flat_and_noisy(SCREEN_H, SCREEN_W)
        new = sparse_change(np.random.default_rng(seed), old)
        demand = Demand("b", 0, "main", None, protocol.ALL_ENCODINGS, 4096)
        update = plan_update(old, new, can_copy=True)
        recolored, *_ = packetize(new, update, demand, True)
        plain, *_ = packetize(new, update, Demand("b", 0, "main", None, NO_RECOLOR, 4096), True)
        assert len(recolored) <= len(plain)


# --- DamageEncoder -------------------------------------------------------------------------------


@pytest.fixture
def registry() -> CollectorRegistry:
    return CollectorRegistry()


@pytest.fixture
def encoder(tmp_path: Path, registry: CollectorRegistry) -> DamageEncoder:
    path = tmp_path / "t.toml"
    path.write_text(f'[[displays]]\nname = "main"\nwidth = {WIDTH}\nheight = {HEIGHT}\nsource = "cpu_monitor"\n')
    return DamageEncoder(load(path), make_metrics(registry))


def frame(
    pixels: np.ndarray,
    seq: int,
    epoch: int = 1,
    display: str = "main",
    source: str = "cpu_monitor",
    pixel_format: PixelFormat = PixelFormat.RGB565,
) -> list:
    h, w = pixels.shape[:2]
    return encode_frame(FrameHeader(display, source, epoch, seq, 1000 + seq, w, h, pixel_format), pixels)


def ask(
    board: str = "b1",
    have: tuple[int, int] | None = None,
    ticket: int = 1,
    gone: bool = False,
    encodings: frozenset[Encoding] = BOTH,
) -> bytes:
    return encode_demand(Demand(board, ticket, "main", have, encodings, 16384, gone))


def answer(packets: list[list[bytes]]) -> tuple[PacketHeader, bytes]:
    assert len(packets) == 1, packets
    return decode_packet(packets[0])


def dropped(registry: CollectorRegistry, reason: str) -> float | None:
    return registry.get_sample_value("tftstream_encode_damage_dropped_total", {"reason": reason})


def key(encoder: DamageEncoder, n: int) -> tuple[int, int]:
    """The key of the display's n-th frame: encode_damage numbers the frames it composes."""
    return (encoder.displays["main"].epoch, n)


def picture(value: int) -> np.ndarray:
    return np.full((HEIGHT, WIDTH), value, np.uint16)


def test_demand_without_a_frame_waits_and_the_first_frame_answers_it_in_full(encoder: DamageEncoder) -> None:
    assert encoder.on_demand(ask()) == []
    header, payload = answer(encoder.on_frame(frame(picture(0x1234), seq=1)))
    assert (header.board, header.key, header.seq) == ("b1", key(encoder, 1), 1)
    board = board_showing(payload, WIDTH, HEIGHT, BOTH, 16384, big_endian=True)
    np.testing.assert_array_equal(board.framebuffer, picture(0x1234))


def rects_sent(registry: CollectorRegistry, encoding: Encoding) -> float | None:
    return registry.get_sample_value("tftstream_encode_damage_rects_total", {"encoding": encoding.name})


def test_rects_sent_are_counted_by_encoding(encoder: DamageEncoder, registry: CollectorRegistry) -> None:
    assert [rects_sent(registry, e) for e in Encoding] == [0.0] * len(Encoding)  # every label from the start
    rng = np.random.default_rng(3)
    textured = rng.choice(np.array([0x1111, 0x2222, 0x3333], np.uint16), (HEIGHT, WIDTH))
    encoder.on_demand(ask())
    header, payload = answer(encoder.on_frame(frame(textured, seq=1)))
    (first,) = protocol.rect_encodings(payload)  # 40x24 pixels fit one RECT
    assert first != Encoding.RECOLOR and rects_sent(registry, first) == 1.0
    encoder.on_demand(ask(have=header.key, ticket=2))
    rethemed = np.choose(textured // 0x1111 - 1, [0x4444, 0x5555, 0x6666]).astype(np.uint16)
    _, payload = answer(encoder.on_frame(frame(rethemed, seq=2)))
    assert protocol.rect_encodings(payload) == [Encoding.RECOLOR]
    assert (rects_sent(registry, first), rects_sent(registry, Encoding.RECOLOR)) == (1.0, 1.0)


def test_a_display_without_read_back_never_gets_copy_or_recolor(tmp_path: Path, registry: CollectorRegistry) -> None:
    path = tmp_path / "t.toml"
    size = f"width = {SCREEN_W}\nheight = {SCREEN_H}"
    path.write_text(f'[[displays]]\nname = "main"\n{size}\nsource = "cpu_monitor"\nread_back = false\n')
    encoder = DamageEncoder(load(path), make_metrics(registry))
    old = text_lines(20, seed=1)
    scrolled = np.concatenate([old[LINE:], text_lines(1, seed=2)])
    rethemed = np.where(scrolled == 0, 0x0841, scrolled).astype(np.uint16)
    encoder.on_demand(ask())
    header, payload = answer(encoder.on_frame(frame(old, seq=1)))
    board = board_showing(payload, SCREEN_W, SCREEN_H, BOTH, 16384, big_endian=True)
    for seq, new in enumerate([scrolled, rethemed], start=2):
        encoder.on_demand(ask(have=header.key, ticket=seq))
        header, payload = answer(encoder.on_frame(frame(new, seq=seq)))
        assert not {Encoding.COPY, Encoding.RECOLOR} & set(protocol.rect_encodings(payload))
        assert board.feed(protocol.frame_begin(seq) + payload + protocol.frame_end(seq)) == [seq]
        np.testing.assert_array_equal(board.framebuffer, new)


def test_demand_having_nothing_gets_the_whole_newest_frame(encoder: DamageEncoder) -> None:
    first, second = noise(HEIGHT, WIDTH, 1), noise(HEIGHT, WIDTH, 2)
    encoder.on_frame(frame(first, seq=1))
    encoder.on_frame(frame(second, seq=2))
    header, payload = answer(encoder.on_demand(ask(have=None)))
    assert header.key == key(encoder, 2)
    np.testing.assert_array_equal(board_showing(payload, WIDTH, HEIGHT, BOTH, 16384, True).framebuffer, second)


def test_demand_having_the_previous_frame_gets_only_the_damage(encoder: DamageEncoder) -> None:
    old = noise(HEIGHT, WIDTH)
    new = old.copy()
    new[5:7, 30:33] ^= 0xFFFF
    encoder.on_frame(frame(old, seq=1))
    encoder.on_frame(frame(new, seq=2))
    header, payload = answer(encoder.on_demand(ask(have=key(encoder, 1))))
    assert header.key == key(encoder, 2)
    assert rect_headers(payload) == [(30, 5, 3, 2, Encoding.RAW)]


def test_demand_having_the_newest_waits_and_is_answered_by_the_next_frame(encoder: DamageEncoder) -> None:
    encoder.on_frame(frame(picture(1), seq=1))
    assert encoder.on_demand(ask(have=key(encoder, 1), ticket=7)) == []
    newer = picture(1)
    newer[HEIGHT - 1, WIDTH - 1] = 2
    header, payload = answer(encoder.on_frame(frame(newer, seq=2)))
    assert (header.board, header.ticket, header.key, header.rects) == ("b1", 7, key(encoder, 2), 1)
    assert rect_headers(payload) == [(WIDTH - 1, HEIGHT - 1, 1, 1, Encoding.RAW)]


def test_answer_echoes_the_ticket_of_the_demand_it_answers(encoder: DamageEncoder) -> None:
    encoder.on_frame(frame(picture(1), seq=1))
    assert answer(encoder.on_demand(ask(ticket=41)))[0].ticket == 41
    assert answer(encoder.on_demand(ask(ticket=42)))[0].ticket == 42


def test_every_waiting_board_is_answered_once_by_a_new_frame(encoder: DamageEncoder) -> None:
    encoder.on_frame(frame(picture(1), seq=1))
    encoder.on_demand(ask("b1", have=key(encoder, 1)))
    encoder.on_demand(ask("b2", have=key(encoder, 1)))
    boards = sorted(decode_packet(p)[0].board for p in encoder.on_frame(frame(picture(2), seq=2)))
    assert boards == ["b1", "b2"]
    assert encoder.on_frame(frame(picture(3), seq=3)) == []  # nobody asked again


def test_only_the_board_that_can_copy_gets_a_copy_and_both_end_exact(encoder: DamageEncoder) -> None:
    old = noise(HEIGHT, WIDTH, 5)
    new = np.roll(old, -3, axis=0)  # scrolled up by 3 rows; the new bottom rows are what wrapped around
    encoder.on_frame(frame(old, seq=1))
    boards = {}
    for board, encodings in (("copies", BOTH), ("draws", NO_COPY)):
        header, payload = answer(encoder.on_demand(ask(board, encodings=encodings)))
        boards[board] = board_showing(payload, WIDTH, HEIGHT, encodings, 16384, True)
        encoder.on_demand(ask(board, have=header.key, encodings=encodings))
    copies = {}
    for packet in encoder.on_frame(frame(new, seq=2)):
        header, payload = decode_packet(packet)
        assert boards[header.board].feed(protocol.frame_begin(2) + payload + protocol.frame_end(2)) == [2]
        copies[header.board] = [r for r in rect_headers(payload) if r[4] == Encoding.COPY]
    assert copies == {"copies": [(0, 0, WIDTH, HEIGHT - 3, Encoding.COPY)], "draws": []}
    for board in boards.values():
        np.testing.assert_array_equal(board.framebuffer, new)


def test_board_that_is_gone_is_forgotten(encoder: DamageEncoder) -> None:
    encoder.on_frame(frame(picture(1), seq=1))
    encoder.on_demand(ask(have=key(encoder, 1)))
    assert encoder.on_demand(ask(have=key(encoder, 1), gone=True)) == []
    assert encoder.on_frame(frame(picture(2), seq=2)) == []


def test_frame_older_than_the_newest_of_its_source_is_dropped_as_stale(
    encoder: DamageEncoder, registry: CollectorRegistry
) -> None:
    encoder.on_frame(frame(picture(2), seq=2))
    assert encoder.on_frame(frame(picture(1), seq=1)) == []
    assert encoder.composed == []
    assert dropped(registry, "stale") == 1
    assert answer(encoder.on_demand(ask()))[0].key == key(encoder, 1)  # the only frame it made


def test_refresh_of_the_newest_frame_is_a_repeat_that_answers_nobody(
    encoder: DamageEncoder, registry: CollectorRegistry
) -> None:
    encoder.on_frame(frame(picture(1), seq=1))
    encoder.on_demand(ask(have=key(encoder, 1)))
    assert encoder.on_frame(frame(picture(1), seq=1)) == []
    assert registry.get_sample_value("tftstream_encode_damage_repeats_total") == 1
    assert dropped(registry, "stale") == 0
    assert answer(encoder.on_frame(frame(picture(2), seq=2)))[0].key == key(encoder, 2)  # the board still waits


@pytest.mark.parametrize(
    ("reason", "parts"),
    [
        ("unknown_display", frame(picture(1), seq=1, display="nowhere")),
        ("wrong_size", frame(np.zeros((HEIGHT, WIDTH + 1), np.uint16), seq=1)),
        ("wrong_format", frame(np.zeros((HEIGHT, WIDTH, 3), np.uint8), seq=1, pixel_format=PixelFormat.RGB888)),
        ("inactive_source", frame(picture(1), seq=1, source="bios_screen")),
    ],
)
def test_frame_the_display_cannot_show_is_dropped_with_its_reason(
    encoder: DamageEncoder, registry: CollectorRegistry, reason: str, parts: list
) -> None:
    encoder.on_demand(ask())
    assert encoder.on_frame(parts) == []
    assert dropped(registry, reason) == 1
    assert registry.get_sample_value("tftstream_encode_damage_frames_in_total") == 0


def test_restarted_source_with_a_newer_epoch_and_seq_from_one_is_accepted(
    encoder: DamageEncoder, registry: CollectorRegistry
) -> None:
    encoder.on_frame(frame(picture(1), seq=900, epoch=100))
    encoder.on_demand(ask(have=key(encoder, 1)))
    header, payload = answer(encoder.on_frame(frame(picture(2), seq=1, epoch=200)))
    assert (header.key, header.seq) == (key(encoder, 2), 2)
    assert dropped(registry, "stale") == 0


# --- pictures put back in their source's order (common/reorder.py) -------------------------------


def held(registry: CollectorRegistry, outcome: str) -> float | None:
    return registry.get_sample_value("tftstream_encode_damage_held_frames_total", {"outcome": outcome})


def captured(frames: list) -> list[int]:
    """Which source picture each frame was made of (`frame` sets capture time 1000 + seq)."""
    return [f.header.captured_ns - 1000 for f in frames]


def test_a_frame_before_the_one_it_follows_waits_then_both_go_in_order_and_the_board_gets_the_newest(
    encoder: DamageEncoder, registry: CollectorRegistry
) -> None:
    encoder.on_frame(frame(picture(1), seq=1))
    encoder.on_demand(ask(have=key(encoder, 1)))
    assert encoder.on_frame(frame(picture(3), seq=3)) == []
    assert encoder.composed == [] and "b1" in encoder.displays["main"].waiting
    header, _ = answer(encoder.on_frame(frame(picture(2), seq=2)))
    assert captured(encoder.composed) == [2, 3]  # both for the tap, in order
    assert header.key == key(encoder, 3)
    np.testing.assert_array_equal(encoder.displays["main"].latest.pixels, picture(3))
    assert (held(registry, "reordered"), held(registry, "gave_up"), dropped(registry, "stale")) == (1, 0, 0)


def test_a_missing_frame_is_given_up_when_the_wait_ends_and_is_stale_if_it_comes_later(
    encoder: DamageEncoder, registry: CollectorRegistry
) -> None:
    now = 10.0
    encoder.clock = lambda: now
    encoder.on_frame(frame(picture(1), seq=1))
    encoder.on_demand(ask(have=key(encoder, 1)))
    assert encoder.on_frame(frame(picture(3), seq=3)) == []
    assert encoder.poll_ms() == math.ceil(WINDOW_S * 1000)  # the loop wakes up when the wait ends
    assert encoder.expire(now + WINDOW_S / 2) == []
    now += WINDOW_S
    header, _ = answer(encoder.expire(now))
    assert header.key == key(encoder, 2) and captured(encoder.composed) == [3]
    assert encoder.poll_ms() > math.ceil(WINDOW_S * 1000)  # nothing held: no early wake-up
    assert encoder.on_frame(frame(picture(2), seq=2)) == []
    assert (held(registry, "reordered"), held(registry, "gave_up"), dropped(registry, "stale")) == (0, 1, 1)


def test_a_restarted_source_releases_what_its_old_process_left_waiting_before_its_first_frame(
    encoder: DamageEncoder, registry: CollectorRegistry
) -> None:
    encoder.on_frame(frame(picture(1), seq=7, epoch=100))
    assert encoder.on_frame(frame(picture(2), seq=9, epoch=100)) == []
    encoder.on_frame(frame(picture(3), seq=1, epoch=200))
    assert captured(encoder.composed) == [9, 1]
    np.testing.assert_array_equal(encoder.displays["main"].latest.pixels, picture(3))
    assert encoder.on_frame(frame(picture(4), seq=8, epoch=100)) == []  # the old process's, late
    assert (held(registry, "gave_up"), dropped(registry, "stale")) == (1, 1)


def test_a_source_numbers_its_frames_over_all_its_displays_so_one_display_waits_for_the_others(
    tmp_path: Path, registry: CollectorRegistry
) -> None:
    path = tmp_path / "two.toml"
    display = '[[displays]]\nname = "{}"\nwidth = {}\nheight = {}\nsource = "cpu_monitor"\n'
    path.write_text(display.format("main", WIDTH, HEIGHT) + display.format("side", WIDTH, HEIGHT))
    encoder = DamageEncoder(load(path), make_metrics(registry))
    encoder.on_frame(frame(picture(1), seq=1, display="main"))
    assert encoder.on_frame(frame(picture(3), seq=3, display="main")) == []
    encoder.on_frame(frame(picture(2), seq=2, display="side"))
    assert [(f.header.display, f.header.captured_ns - 1000) for f in encoder.composed] == [("side", 2), ("main", 3)]
    assert held(registry, "reordered") == 1


@pytest.mark.parametrize(
    "raw",
    [
        b'{"board": 3',
        b'{"board": "b1", "ticket": Infinity, "display": "main", "have": null, "encodings": 3, "max_body": 64}',
        b"[" * 100_000,
    ],
    ids=["cut short", "Infinity ticket", "nested too deep"],
)
def test_malformed_demand_raises_value_error_naming_its_bytes(encoder: DamageEncoder, raw: bytes) -> None:
    """The loop counts a ValueError as bad_demand and carries on; any other exception would end the stage."""
    with pytest.raises(ValueError) as caught:
        encoder.on_demand(raw)
    assert repr(raw[:40])[:-1] in str(caught.value)


# --- lossy mode (JPEG while the picture changes, exact once it stands still) -----------------------

PHOTO_W, PHOTO_H = 96, 64


def photo(seed: int) -> np.ndarray:
    """Colour gradients with grain: what JPEG is for, and what no lossless encoding halves."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:PHOTO_H, 0:PHOTO_W]
    waves = [np.sin(x / (9 + c + seed) + c) * np.cos(y / (13 - c) - seed) for c in range(3)]
    rgb = np.stack([120 + 100 * wave + rng.integers(0, 18, x.shape) for wave in waves], axis=-1)
    return pack_rgb565(rgb.astype(np.uint8))


LOSSY_NOW = 100.0


@pytest.fixture
def lossy_encoder(tmp_path: Path, registry: CollectorRegistry) -> DamageEncoder:
    path = tmp_path / "t.toml"
    display = f'name = "main"\nwidth = {PHOTO_W}\nheight = {PHOTO_H}\nsource = "cpu_monitor"\nlossy_quality = 85\n'
    path.write_text("[[displays]]\n" + display)
    encoder = DamageEncoder(load(path), make_metrics(registry))
    encoder.clock = lambda: LOSSY_NOW  # stands still: a slow machine must not make a picture "stood still"
    return encoder


def lossy_board(encodings: frozenset[Encoding]) -> BoardStream:
    board = BoardStream(PHOTO_W, PHOTO_H, encodings, 16384)
    board.feed(protocol.accept(Accept(True, encodings, 16384, 1000, 4000)))
    return board


def show(board: BoardStream, packets: list[list[bytes]], seq: int) -> tuple[PacketHeader, set[int]]:
    """Feed the one packet to the board; its header and the encodings it used."""
    header, payload = answer(packets)
    assert board.feed(protocol.frame_begin(seq) + payload + protocol.frame_end(seq)) == [seq]
    return header, {code for *_, code in rect_headers(payload)}


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    error = np.mean((expand_rgb565(a).astype(np.float64) - expand_rgb565(b).astype(np.float64)) ** 2)
    return float("inf") if error == 0 else 10 * np.log10(255**2 / error)


def test_a_changing_photo_goes_as_jpeg_then_exactly_once_it_stands_still(lossy_encoder: DamageEncoder) -> None:
    board, picture, epoch = lossy_board(BOTH), photo(1), lossy_encoder.displays["main"].epoch
    lossy_encoder.on_demand(ask())
    header, codes = show(board, lossy_encoder.on_frame(frame(picture, 1)), 1)
    assert codes == {Encoding.JPEG} and header.key == (epoch, -1)  # approximately frame 1
    assert 30 < psnr(board.framebuffer, picture) < float("inf")
    assert lossy_encoder.on_demand(ask(have=header.key, ticket=2)) == []  # not yet: the picture may move on
    assert lossy_encoder.expire(LOSSY_NOW) == []
    header, codes = show(board, lossy_encoder.expire(LOSSY_NOW + 1), 2)  # it stood still
    assert Encoding.JPEG not in codes and header.key == key(lossy_encoder, 1)
    np.testing.assert_array_equal(board.framebuffer, picture)
    assert lossy_encoder.on_demand(ask(have=header.key, ticket=3)) == []  # exact: nothing more to send


def test_while_the_photo_keeps_changing_every_frame_is_jpeg_and_then_exact(lossy_encoder: DamageEncoder) -> None:
    board, epoch = lossy_board(BOTH), lossy_encoder.displays["main"].epoch
    lossy_encoder.on_demand(ask())
    for seq in range(1, 5):
        packets = lossy_encoder.on_frame(frame(photo(seq), seq))
        assert len(answer(packets)[1]) * 2 < 2 * PHOTO_W * PHOTO_H
        header, codes = show(board, packets, seq)
        assert codes == {Encoding.JPEG} and header.key == (epoch, -seq)
        lossy_encoder.on_demand(ask(have=header.key, ticket=seq + 1))
    show(board, lossy_encoder.expire(LOSSY_NOW + 1), 9)
    np.testing.assert_array_equal(board.framebuffer, photo(4))


def test_a_board_without_jpeg_gets_the_photo_exactly(lossy_encoder: DamageEncoder) -> None:
    lossless = frozenset({Encoding.RAW, Encoding.RUNS, Encoding.LZ4})
    board = lossy_board(lossless)
    lossy_encoder.on_frame(frame(photo(1), 1))
    header, codes = show(board, lossy_encoder.on_demand(ask(encodings=lossless)), 1)
    assert Encoding.JPEG not in codes and header.key == key(lossy_encoder, 1)
    np.testing.assert_array_equal(board.framebuffer, photo(1))


# --- the board's bitmap cache (KEEP, CACHED) --------------------------------------------------------

DIGITS = [noise(8, 6, seed) for seed in range(3)]  # three "glyphs" a clock shows in turn at one place


def showing_digit(n: int) -> np.ndarray:
    pixels = picture(0x0841)
    pixels[4:12, 10:16] = DIGITS[n]
    return pixels


def message_kinds(payload: bytes) -> list[str]:
    """Each message of a packet: "KEEP", or the RECT's encoding name."""
    kinds, offset = [], 0
    while offset < len(payload):
        kind, length = protocol.HEADER.unpack_from(payload, offset)
        body = payload[offset + protocol.HEADER.size : offset + protocol.HEADER.size + length]
        kinds.append("KEEP" if kind == protocol.ServerMsg.KEEP else Encoding(body[8]).name)
        offset += protocol.HEADER.size + length
    return kinds


def cache_board() -> BoardStream:
    board = BoardStream(WIDTH, HEIGHT, BOTH, 16384)
    board.feed(protocol.accept(Accept(True, BOTH, 16384, 1000, 4000)))
    return board


def test_a_digit_that_comes_back_is_kept_then_drawn_from_the_board_cache(encoder: DamageEncoder) -> None:
    board, have, kinds = cache_board(), None, []
    for seq in range(1, 11):
        encoder.on_frame(frame(showing_digit(seq % 3), seq=seq))
        header, payload = answer(encoder.on_demand(ask(have=have, ticket=seq)))
        assert board.feed(protocol.frame_begin(seq) + payload + protocol.frame_end(seq)) == [seq]
        np.testing.assert_array_equal(board.framebuffer, showing_digit(seq % 3))
        kinds.append(message_kinds(payload))
        have = header.key
    assert kinds[1] == ["RAW"]  # first sight of a digit: sent as it is
    assert kinds[4] == ["KEEP", "RAW"]  # seen before: kept too (seq 5 shows digit 2 again)
    assert kinds[7:] == [["CACHED"]] * 3  # from then on 14 bytes each
    assert len(payload) == protocol.HEADER.size + protocol.RECT_HEADER.size + protocol.CACHE_OFFSET.size


def test_an_answer_the_egress_dropped_never_counts_as_kept(encoder: DamageEncoder) -> None:
    """An answer that keeps a digit is dropped (its demand was replaced); the board gets another one
    instead, so a later answer must not draw that digit from the cache."""
    board, have = cache_board(), None
    for seq, digit in enumerate((0, 1, 0), start=1):
        encoder.on_frame(frame(showing_digit(digit), seq=seq))
        header, payload = answer(encoder.on_demand(ask(have=have, ticket=seq)))
        assert board.feed(protocol.frame_begin(seq) + payload + protocol.frame_end(seq)) == [seq]
        have = header.key
    encoder.on_frame(frame(showing_digit(1), seq=4))
    _, dropped_payload = answer(encoder.on_demand(ask(have=have, ticket=4)))
    assert message_kinds(dropped_payload) == ["KEEP", "RAW"]  # digit 1 seen before: kept; never delivered
    encoder.on_frame(frame(showing_digit(2), seq=5))
    header, payload = answer(encoder.on_demand(ask(have=have, ticket=5)))  # the replacing demand
    assert board.feed(protocol.frame_begin(5) + payload + protocol.frame_end(5)) == [5]
    encoder.on_frame(frame(showing_digit(1), seq=6))
    header, payload = answer(encoder.on_demand(ask(have=header.key, ticket=6)))
    assert message_kinds(payload) == ["KEEP", "RAW"]
    assert board.feed(protocol.frame_begin(6) + payload + protocol.frame_end(6)) == [6]
    np.testing.assert_array_equal(board.framebuffer, showing_digit(1))


def test_a_board_without_a_cache_gets_no_keep_and_a_gone_board_cache_is_forgotten(encoder: DamageEncoder) -> None:
    for seq in range(1, 8):
        encoder.on_frame(frame(showing_digit(seq % 2), seq=seq))
        for board, encodings in (("plain", BOTH - {Encoding.CACHED}), ("cached", BOTH)):
            have = key(encoder, seq - 1) if seq > 1 else None
            kinds = message_kinds(answer(encoder.on_demand(ask(board, have, seq, False, encodings)))[1])
            assert ("KEEP" in kinds or "CACHED" in kinds) == (board == "cached" and seq >= 4), (board, seq, kinds)
    assert "cached" in encoder.displays["main"].caches
    encoder.on_demand(ask("cached", key(encoder, 7), 8, gone=True))
    assert "cached" not in encoder.displays["main"].caches
