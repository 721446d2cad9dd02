"""Fitting a picture to a display: exact letterbox bars, crop alignment, stretch, and the exact output size."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from common.fitting import ALIGNMENTS, FIT_MODES, fit_picture

RED, BLUE, GREY = (255, 0, 0), (0, 0, 255), (8, 8, 8)


def solid(width: int, height: int, colour=RED) -> Image.Image:
    return Image.new("RGB", (width, height), colour)


def columns(width: int, height: int) -> Image.Image:
    """Column x has the value 10 * x in every channel: a crop shows which columns it kept."""
    row = np.repeat((np.arange(width, dtype=np.uint8) * 10)[:, None], 3, axis=1)
    return Image.fromarray(np.repeat(row[None], height, axis=0))


def rows(width: int, height: int) -> Image.Image:
    return columns(height, width).transpose(Image.Transpose.TRANSPOSE)


def px(image: Image.Image) -> np.ndarray:
    return np.asarray(image)


def test_a_picture_of_the_display_size_passes_unchanged_in_every_mode():
    picture = columns(8, 4)
    for mode in FIT_MODES:
        assert np.array_equal(px(fit_picture(picture, 8, 4, mode)), px(picture))


def test_fit_letterboxes_a_wide_picture_with_bars_above_and_below():
    out = px(fit_picture(solid(4, 2), 8, 8, "fit", "center", GREY))
    assert np.all(out[0:2] == GREY) and np.all(out[6:8] == GREY)
    assert np.all(out[2:6] == RED)


def test_fit_puts_a_tall_picture_where_align_says():
    expected_columns = {"left": slice(0, 4), "center": slice(2, 6), "right": slice(4, 8)}
    for align, picture_columns in expected_columns.items():
        out = px(fit_picture(solid(2, 4, BLUE), 8, 8, "fit", align, GREY))
        mask = np.zeros((8, 8), bool)
        mask[:, picture_columns] = True
        assert np.all(out[mask] == BLUE) and np.all(out[~mask] == GREY), align


def test_fit_with_top_left_puts_the_bars_bottom_and_right_only():
    out = px(fit_picture(solid(4, 2), 8, 8, "fit", "top-left", GREY))
    assert np.all(out[0:4] == RED) and np.all(out[4:8] == GREY)


def test_fit_of_an_odd_slack_leaves_the_extra_pixel_after_the_picture():
    out = px(fit_picture(solid(4, 4), 7, 4, "fit", "center", GREY))
    assert np.all(out[:, 0] == GREY) and np.all(out[:, 1:5] == RED) and np.all(out[:, 5:7] == GREY)


@pytest.mark.parametrize(("align", "first_column"), [("left", 0), ("top-left", 0), ("center", 2), ("right", 4)])
def test_fill_crops_a_wide_picture_keeping_the_aligned_columns(align, first_column):
    out = px(fit_picture(columns(8, 4), 4, 4, "fill", align))
    assert np.array_equal(out, px(columns(8, 4))[:, first_column : first_column + 4])


@pytest.mark.parametrize(("align", "first_row"), [("top", 0), ("center", 2), ("bottom-right", 4)])
def test_fill_crops_a_tall_picture_keeping_the_aligned_rows(align, first_row):
    out = px(fit_picture(rows(4, 8), 4, 4, "fill", align))
    assert np.array_equal(out, px(rows(4, 8))[first_row : first_row + 4])


def test_fill_covers_the_display_when_scaling_too():
    out = px(fit_picture(solid(6, 2), 8, 8, "fill", "center"))
    assert np.all(out == RED)


def test_stretch_distorts_to_the_display_and_keeps_solid_areas_exact():
    out = px(fit_picture(solid(3, 7, BLUE), 9, 4, "stretch"))
    assert out.shape == (4, 9, 3) and np.all(out == BLUE)


@pytest.mark.parametrize("mode", FIT_MODES)
@pytest.mark.parametrize("source_size", [(1, 1), (1, 300), (300, 1), (641, 479)])
def test_the_output_is_always_rgb_at_exactly_the_display_size(mode, source_size):
    picture = Image.new("RGBA", source_size, (1, 2, 3, 4))
    for align in ALIGNMENTS:
        out = fit_picture(picture, 160, 128, mode, align)
        assert (out.size, out.mode) == ((160, 128), "RGB")


def test_an_unknown_mode_is_refused():
    with pytest.raises(ValueError, match="zoom"):
        fit_picture(solid(2, 2), 4, 4, "zoom")
