"""RECOLOR's encoder against its reference decoder: exact pictures, and the bytes it chooses."""

from __future__ import annotations

import struct

import numpy as np
import pytest

from common.protocol import ProtocolError
from common.recolor import decode_recolor, encode_recolor, recolor_table


@pytest.mark.parametrize("big_endian", [True, False])
@pytest.mark.parametrize("seed", range(6))
def test_any_change_round_trips_exactly(seed, big_endian):
    rng = np.random.default_rng(seed)
    shown = rng.choice(np.array([0, 0x1234, 0xF800, 0x07E0, 0xFFFF], np.uint16), (37, 53))
    pixels = shown.copy()
    pixels[shown == 0x1234] = 0x4321  # a colour that changes everywhere: the table
    scattered = rng.random(shown.shape) < 0.05 * seed  # and pixels that change on their own: patches
    pixels[scattered] = rng.integers(0, 1 << 16, int(scattered.sum()), dtype=np.uint16)
    payload = encode_recolor(shown, pixels, big_endian)
    assert payload is not None
    assert np.array_equal(decode_recolor(payload, shown, big_endian), pixels)


def test_a_colour_maps_where_most_of_its_pixels_go():
    shown = np.array([[1, 1, 1, 2, 2, 2, 3]], np.uint16)
    pixels = np.array([[9, 9, 8, 2, 2, 7, 3]], np.uint16)
    table = recolor_table(shown, pixels)
    assert table is not None
    assert (table.old.tolist(), table.new.tolist(), table.wrong) == ([1], [9], 2)  # 2 mostly stays, 3 stays
    # The table, then patches: position 2 (skip 2) to 8, position 5 (skip 2) to 7.
    pairs, patches = b"\x00\x01\x00\x09", b"\x02\x00\x08\x02\x00\x07"
    assert encode_recolor(shown, pixels, True) == struct.pack("<H", 1) + pairs + patches


def test_long_skips_take_several_bytes():
    shown = np.zeros((300, 300), np.uint16)
    pixels = shown.copy()
    pixels.reshape(-1)[[200, 200 + 20_001, 89_999]] = [5, 6, 7]
    payload = encode_recolor(shown, pixels, True)
    assert payload is not None
    # No table; skip 200 in 2 bytes, 20000 in 3, 69797 in 3.
    assert payload == (
        b"\x00\x00" + b"\xc8\x01\x00\x05" + b"\xa0\x9c\x01\x00\x06" + bytes([0xA5, 0xA1, 0x04]) + b"\x00\x07"
    )
    assert np.array_equal(decode_recolor(payload, shown, True), pixels)


def test_nothing_changed_is_two_bytes():
    shown = np.full((4, 4), 7, np.uint16)
    assert encode_recolor(shown, shown.copy(), False) == b"\x00\x00"


def test_a_payload_over_the_limit_is_not_built():
    shown = np.zeros((1, 8), np.uint16)
    pixels = np.arange(8, dtype=np.uint16).reshape(1, 8)  # 7 patches: 2 + 7 * 3 bytes
    assert encode_recolor(shown, pixels, True, limit=23) is None
    assert len(encode_recolor(shown, pixels, True, limit=24) or b"") == 23


def test_errors_say_where():
    shown = np.zeros((2, 2), np.uint16)
    with pytest.raises(ProtocolError, match=r"recolor_overflow: RECOLOR patch at pixel 4 of a 4-pixel box"):
        decode_recolor(b"\x00\x00\x04\x00\x01", shown, True)
    with pytest.raises(ProtocolError, match=r"recolor_unsorted: RECOLOR pair 1 maps 0x0001, after 0x0002"):
        decode_recolor(b"\x02\x00" + b"\x00\x02\x00\x00" + b"\x00\x01\x00\x00", shown, True)
