from __future__ import annotations

import numpy as np
import pytest

from common.encodings import decode, encode_best, encode_raw, encode_rice, encode_runs, runs_size
from common.protocol import Encoding, ProtocolError
from common.rgb565 import pack_rgb565


def test_runs_of_a_flat_block_are_three_bytes_per_256_pixels():
    block = np.full((3, 200), 0xF800, np.uint16)
    encoded = encode_runs(block, big_endian=True)
    assert encoded == bytes([255, 0xF8, 0x00]) + bytes([255, 0xF8, 0x00]) + bytes([87, 0xF8, 0x00])
    assert runs_size(block) == len(encoded)


def test_runs_follow_row_major_order_across_rows():
    block = np.array([[1, 1, 2], [2, 2, 3]], np.uint16)
    assert encode_runs(block, big_endian=False) == bytes([1, 1, 0, 2, 2, 0, 0, 3, 0])


@pytest.mark.parametrize("big_endian", [True, False])
def test_raw_and_runs_decode_to_the_same_pixels(big_endian):
    rng = np.random.default_rng(1)
    block = rng.choice(np.array([0, 0xFFFF, 0x1234], np.uint16), size=(17, 33))
    for encoding, payload in (
        (Encoding.RAW, encode_raw(block, big_endian)),
        (Encoding.RUNS, encode_runs(block, big_endian)),
    ):
        assert np.array_equal(decode(encoding, payload, 33, 17, big_endian), block)


def test_raw_is_big_endian_when_asked():
    assert encode_raw(np.array([[0x1234]], np.uint16), big_endian=True) == b"\x12\x34"
    assert encode_raw(np.array([[0x1234]], np.uint16), big_endian=False) == b"\x34\x12"


def test_best_encoding_is_raw_for_noise_and_runs_for_flat_areas():
    noise = np.random.default_rng(0).integers(0, 0x10000, (8, 8), dtype=np.uint16)
    flat = np.zeros((8, 8), np.uint16)
    both = frozenset(Encoding)
    assert encode_best(noise, True, both)[0] == Encoding.RAW
    assert encode_best(flat, True, both) == (Encoding.RUNS, bytes([63, 0, 0]))
    assert encode_best(flat, True, frozenset({Encoding.RAW}))[0] == Encoding.RAW


def test_decoders_name_what_is_wrong():
    with pytest.raises(ProtocolError, match="raw_size_mismatch"):
        decode(Encoding.RAW, b"\x00" * 3, 1, 1, True)
    with pytest.raises(ProtocolError, match="runs_partial"):
        decode(Encoding.RUNS, b"\x00\x00", 1, 1, True)
    with pytest.raises(ProtocolError, match="runs_overflow"):
        decode(Encoding.RUNS, b"\x01\x00\x00", 1, 1, True)
    with pytest.raises(ProtocolError, match="runs_short"):
        decode(Encoding.RUNS, b"\x00\x00\x00", 2, 1, True)


# --- RICE ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("h", "w"), [(1, 1), (1, 33), (33, 1), (3, 4), (7, 31), (16, 50)])
def test_rice_gives_back_every_pixel_of_any_picture(h: int, w: int) -> None:
    rng = np.random.default_rng(h * 100 + w)
    for pixels in (
        rng.integers(0, 0x10000, (h, w), dtype=np.uint16),
        (rng.integers(0, 3, (h, w)) * 0x0841).astype(np.uint16),
        np.full((h, w), 0xFFFF, np.uint16),
    ):
        np.testing.assert_array_equal(decode(Encoding.RICE, encode_rice(pixels), w, h, True), pixels)


def test_rice_halves_a_photo_where_runs_and_lz4_find_nothing() -> None:
    from bench.workloads import photo  # the benchmark's photo-like picture: gradient, texture, grain

    pixels = pack_rgb565(photo(7, 96, 64))
    encoding, payload = encode_best(pixels, True, frozenset(Encoding))
    assert encoding == Encoding.RICE and len(payload) < pixels.nbytes / 2
    assert encode_best(pixels[:16, :16], True, frozenset(Encoding))[0] != Encoding.RICE  # too small to be worth it


def test_rice_decoder_names_what_is_wrong() -> None:
    good = encode_rice(np.array([[0xF800, 0x07E0]], np.uint16))
    with pytest.raises(ProtocolError, match="rice_truncated"):
        decode(Encoding.RICE, good[:-1], 2, 1, True)
    with pytest.raises(ProtocolError, match="rice_trailing"):
        decode(Encoding.RICE, good + b"\x00", 2, 1, True)
    with pytest.raises(ProtocolError, match="rice_overflow"):
        decode(Encoding.RICE, bytes(6), 1, 1, True)  # k 0 for R: 32 zero bits, R needs at most 31
    with pytest.raises(ProtocolError, match="rice_truncated"):
        decode(Encoding.RICE, b"", 1, 1, True)
