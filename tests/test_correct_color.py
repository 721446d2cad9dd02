"""ColorCorrector and the RGB565 helpers, on small hand-built pictures with exact expected values."""

from __future__ import annotations

import os
from dataclasses import replace

import numpy as np
import pytest
from PIL import Image

from common.config import ColorProfile, Display
from common.frames import FrameHeader, PixelFormat, SchemaError, decode_frame, encode_frame, shared_frame_parts
from common.rgb565 import LEVELS5, LEVELS6, expand_rgb565, pack_rgb565, snap_colour
from common.shared_frames import RING_SLOTS, PictureRing
from stages.correct_color import ColorCorrector, NewestFrames, make_correctors


def corrector(width: int, height: int, **profile: object) -> ColorCorrector:
    return ColorCorrector(Display("panel", width, height, "cpu_monitor", ColorProfile(**profile)))  # type: ignore[arg-type]


def flat(height: int, width: int, rgb: tuple[int, int, int]) -> np.ndarray:
    return np.broadcast_to(np.array(rgb, dtype=np.uint8), (height, width, 3)).copy()


def every_level_at_every_position() -> np.ndarray:
    """4 rows x 256 columns: each 5-bit level spans 8 columns and each 6-bit level 4, so every level
    meets every position of the 4x4 dither matrix."""
    columns = np.arange(256)
    row = np.stack([LEVELS5[columns // 8], LEVELS6[columns // 4], LEVELS5[31 - columns // 8]], axis=-1)
    return np.broadcast_to(row, (4, 256, 3)).copy()


@pytest.mark.parametrize("dither", [False, True])
def test_identity_profile_keeps_every_representable_colour_exactly(dither: bool) -> None:
    picture = every_level_at_every_position()
    out = corrector(256, 4, dither=dither).correct(picture)
    assert out.dtype == np.uint16
    np.testing.assert_array_equal(out, pack_rgb565(picture))
    np.testing.assert_array_equal(expand_rgb565(out), picture)


def test_identity_profile_has_identity_curves() -> None:
    curves = corrector(8, 8).curves
    np.testing.assert_array_equal(curves, np.tile(np.arange(256.0), (3, 1)))


@pytest.mark.parametrize("gamma", [0.4, 2.2, 2.8, 5.0])
def test_gamma_curve_rises_strictly_and_keeps_black_and_white(gamma: float) -> None:
    curves = corrector(8, 8, gamma=gamma).curves
    assert np.all(np.diff(curves, axis=1) > 0)
    np.testing.assert_array_equal(curves[:, 0], [0, 0, 0])
    np.testing.assert_array_equal(curves[:, 255], [255, 255, 255])


def test_gamma_above_one_darkens_mid_tones_like_the_original_server() -> None:
    assert corrector(8, 8, gamma=2.0).curves[0, 128] == pytest.approx(255 * (128 / 255) ** 2)
    assert corrector(8, 8, gamma=0.5).curves[0, 128] > 128


def test_white_balance_scales_only_its_channel() -> None:
    c = corrector(8, 8, white_balance=(0.4, 1.0, 1.0), dither=False)
    np.testing.assert_allclose(c.curves[0], np.arange(256) * 0.4, rtol=0, atol=1e-9)
    np.testing.assert_array_equal(c.curves[1:], np.tile(np.arange(256.0), (2, 1)))
    out = c.correct(flat(8, 8, (255, 255, 255)))
    # red 255 * 0.4 = 102 is nearest level 99 (code 12); green and blue stay full.
    np.testing.assert_array_equal(out, np.full((8, 8), 12 << 11 | 63 << 5 | 31))


def test_white_balance_above_one_clips_at_full_scale() -> None:
    out = corrector(8, 8, white_balance=(2.0, 1.0, 1.0), dither=False).correct(flat(8, 8, (200, 0, 0)))
    np.testing.assert_array_equal(out, np.full((8, 8), 0xF800))


def test_bgr_puts_blue_in_the_high_bits_and_red_in_the_low_bits() -> None:
    colour = (int(LEVELS5[3]), int(LEVELS6[7]), int(LEVELS5[20]))
    assert corrector(8, 8).correct(flat(8, 8, colour))[0, 0] == 3 << 11 | 7 << 5 | 20
    assert corrector(8, 8, bgr=True).correct(flat(8, 8, colour))[0, 0] == 20 << 11 | 7 << 5 | 3
    assert corrector(8, 8, bgr=True).correct(flat(8, 8, (255, 0, 0)))[0, 0] == 0x001F


@pytest.mark.parametrize(
    ("rotation", "expected"),
    [
        (0, [[1, 2, 3], [4, 5, 6]]),
        (90, [[4, 1], [5, 2], [6, 3]]),
        (180, [[6, 5, 4], [3, 2, 1]]),
        (270, [[3, 6], [2, 5], [1, 4]]),
    ],
)
def test_rotation_turns_the_picture_clockwise_into_panel_shape(rotation: int, expected: list[list[int]]) -> None:
    picture = np.zeros((2, 3, 3), dtype=np.uint8)
    picture[..., 0] = LEVELS5[np.array([[1, 2, 3], [4, 5, 6]])]  # red codes 1..6 mark the pixels
    c = corrector(3, 2, rotation=rotation)
    out = c.correct(picture)
    panel_w, panel_h = c.display.panel_size
    assert out.shape == (panel_h, panel_w)
    np.testing.assert_array_equal(out, np.array(expected, dtype=np.uint16) << 11)


def test_dither_gives_identical_pixels_for_the_same_picture_every_frame() -> None:
    picture = np.random.default_rng(7).integers(0, 256, (24, 32, 3), dtype=np.uint8)
    c = corrector(32, 24, gamma=2.2, white_balance=(0.9, 1.0, 0.8), dither=True)
    first = c.correct(picture)
    np.testing.assert_array_equal(c.correct(picture.copy()), first)
    again = corrector(32, 24, gamma=2.2, white_balance=(0.9, 1.0, 0.8), dither=True)
    np.testing.assert_array_equal(again.correct(picture), first)


def test_flat_mid_grey_dithers_to_the_two_nearest_levels_with_mean_near_the_input() -> None:
    out = corrector(8, 8, dither=True).correct(flat(8, 8, (128, 128, 128)))
    codes = {"red": out >> 11, "green": (out >> 5) & 0x3F, "blue": out & 0x1F}
    assert set(np.unique(codes["red"])) == {15, 16}  # levels 123 and 132
    assert set(np.unique(codes["green"])) == {31, 32}  # levels 125 and 130
    assert set(np.unique(codes["blue"])) == {15, 16}
    shown = expand_rgb565(out).reshape(-1, 3).mean(axis=0)
    np.testing.assert_allclose(shown, [128, 128, 128], atol=0.2)


def test_dither_averages_every_input_value_within_a_fraction_of_a_level_over_a_tile() -> None:
    values = np.repeat(np.arange(256, dtype=np.uint8), 4)  # each value over 4 columns x 4 rows: one tile
    picture = np.broadcast_to(values[np.newaxis, :, np.newaxis], (4, 1024, 3)).copy()
    shown = expand_rgb565(corrector(1024, 4, dither=True).correct(picture)).astype(np.float64)
    tile_means = shown.reshape(4, 256, 4, 3).mean(axis=(0, 2))
    np.testing.assert_allclose(tile_means, np.repeat(np.arange(256.0)[:, np.newaxis], 3, axis=1), atol=0.3)


@pytest.mark.parametrize("gamma", [1.0, 2.2])
def test_black_is_zero_and_white_is_ffff_with_or_without_dither(gamma: float) -> None:
    for dither in (False, True):
        c = corrector(8, 8, gamma=gamma, dither=dither)
        assert np.all(c.correct(flat(8, 8, (0, 0, 0))) == 0)
        assert np.all(c.correct(flat(8, 8, (255, 255, 255))) == 0xFFFF)


def test_without_dither_each_value_rounds_to_the_nearest_level() -> None:
    ramp = np.broadcast_to(np.arange(256, dtype=np.uint8)[np.newaxis, :, np.newaxis], (1, 256, 3)).copy()
    shown = expand_rgb565(corrector(256, 1, dither=False).correct(ramp))[0].astype(np.int64)
    values = np.arange(256)
    for channel, levels in ((0, LEVELS5), (1, LEVELS6), (2, LEVELS5)):
        distance = np.abs(values[:, np.newaxis] - levels[np.newaxis, :].astype(np.int64))
        nearest = levels[np.argmin(distance, axis=1)]  # argmin takes the lower level on a tie
        np.testing.assert_array_equal(shown[:, channel], nearest)


@pytest.mark.parametrize(("height", "width"), [(50, 100), (5, 7), (24, 64)])
def test_picture_of_another_size_is_stretched_to_the_display_size(height: int, width: int) -> None:
    colour = (int(LEVELS5[9]), int(LEVELS6[40]), int(LEVELS5[30]))
    out = corrector(32, 24).correct(flat(height, width, colour))
    np.testing.assert_array_equal(out, np.full((24, 32), 9 << 11 | 40 << 5 | 30))


def test_picture_of_the_display_size_is_not_resampled(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("resized a picture that already had the display size")

    monkeypatch.setattr(Image.Image, "resize", refuse)
    assert corrector(32, 24).correct(flat(24, 32, (0, 0, 0))).shape == (24, 32)


@pytest.mark.parametrize(
    "picture",
    [np.zeros((24, 32, 3), np.uint16), np.zeros((24, 32), np.uint8), np.zeros((24, 32, 4), np.uint8)],
)
def test_correct_rejects_anything_but_uint8_rgb(picture: np.ndarray) -> None:
    with pytest.raises(ValueError, match="expected uint8"):
        corrector(32, 24).correct(picture)


def test_rotation_outside_quarter_turns_is_refused() -> None:
    with pytest.raises(ValueError, match="rotation"):
        corrector(8, 8, rotation=45)


def test_levels_replicate_the_top_bits_into_the_low_bits() -> None:
    assert [int(LEVELS5[i]) for i in (0, 1, 15, 16, 31)] == [0, 8, 123, 132, 255]
    assert [int(LEVELS6[i]) for i in (0, 1, 31, 32, 63)] == [0, 4, 125, 130, 255]


def test_expand_rgb565_inverts_packing_for_every_value() -> None:
    values = np.arange(1 << 16, dtype=np.uint16).reshape(256, 256)
    np.testing.assert_array_equal(pack_rgb565(expand_rgb565(values)), values)


def test_expand_rgb565_gives_full_scale_primaries() -> None:
    expanded = expand_rgb565(np.array([[0x0000, 0xFFFF, 0xF800, 0x07E0, 0x001F]], dtype=np.uint16))
    assert expanded.shape == (1, 5, 3)
    assert expanded[0].tolist() == [[0, 0, 0], [255, 255, 255], [255, 0, 0], [0, 255, 0], [0, 0, 255]]


def test_snap_moves_each_channel_to_its_nearest_level_lower_on_a_tie() -> None:
    values = np.arange(256)
    snapped = np.array([snap_colour((int(v), int(v), int(v))) for v in values])
    for channel, levels in ((0, LEVELS5), (1, LEVELS6), (2, LEVELS5)):
        distance = np.abs(values[:, np.newaxis] - levels[np.newaxis, :].astype(np.int64))
        np.testing.assert_array_equal(snapped[:, channel], levels[np.argmin(distance, axis=1)])
    assert snap_colour((12, 2, 12)) == (8, 0, 8)  # 12 is as far from 8 as from 16, 2 from 0 as from 4


def test_snapped_colour_packs_and_expands_to_itself() -> None:
    for colour in [(8, 10, 16), (170, 170, 170), (255, 255, 85), (1, 254, 127)]:
        snapped = snap_colour(colour)
        assert tuple(expand_rgb565(pack_rgb565(np.array(snapped, np.uint8))).tolist()) == snapped


@pytest.mark.parametrize("dither", [False, True])
def test_flat_snapped_colour_leaves_the_color_stage_as_one_value(dither: bool) -> None:
    colour = snap_colour((8, 10, 16))
    out = corrector(8, 8, dither=dither).correct(flat(8, 8, colour))
    np.testing.assert_array_equal(out, np.full((8, 8), pack_rgb565(np.array(colour, np.uint8))))


@pytest.mark.parametrize("colour", [(256, 0, 0), (-1, 0, 0), (0, 0), (0, 0, 0, 0), (1.5, 0, 0)])
def test_snap_refuses_anything_but_three_8_bit_integers(colour: tuple) -> None:
    with pytest.raises(ValueError, match="three integers"):
        snap_colour(colour)


def test_a_resent_picture_gets_its_frame_again_without_a_correction(monkeypatch: pytest.MonkeyPatch) -> None:
    display = Display("main", 32, 24, "pattern", ColorProfile())
    correctors = make_correctors((display,))
    newest = NewestFrames()
    first = FrameHeader("main", "pattern", 1, 7, 100, 32, 24, PixelFormat.RGB888)
    picture = encode_frame(first, flat(24, 32, (200, 100, 50)))
    frame = newest.frame(correctors, picture)
    monkeypatch.setattr(ColorCorrector, "correct", lambda *_: pytest.fail("corrected a resend"))
    assert newest.frame(correctors, picture) is frame  # the source resent it: the same header
    monkeypatch.undo()
    other = encode_frame(replace(first, seq=8), flat(24, 32, (0, 0, 0)))
    header, values = decode_frame(newest.frame(correctors, other))  # a new picture is corrected
    assert header.seq == 8 and (values == 0).all()


def test_a_shared_picture_written_again_while_it_was_corrected_is_dropped_as_torn(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    display = Display("main", 32, 24, "pattern", ColorProfile())
    correctors = make_correctors((display,))
    header = FrameHeader("main", "pattern", 1, 7, 100, 32, 24, PixelFormat.RGB888)
    rgb = flat(24, 32, (200, 100, 50))
    ring = PictureRing(rgb.nbytes, os.getpid())
    try:
        parts = shared_frame_parts(header, ring.put(rgb.tobytes()))
        _, values = decode_frame(NewestFrames().frame(correctors, parts))
        assert (values == values[0, 0]).all()  # read where it lies, corrected
        correct = ColorCorrector.correct

        def overwritten_meanwhile(self, picture):  # the source wraps around its ring during the correction
            for _ in range(RING_SLOTS):
                ring.put(rgb.tobytes())
            return correct(self, picture)

        monkeypatch.setattr(ColorCorrector, "correct", overwritten_meanwhile)
        with pytest.raises(SchemaError) as error:
            NewestFrames().frame(correctors, shared_frame_parts(header, ring.put(rgb.tobytes())))
        assert error.value.reason == "torn"
    finally:
        ring.close()
