"""A source of your own can get a region of a display instead of the whole display."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from prometheus_client import CollectorRegistry

from common.config import ConfigError, load
from common.control import ATTACHED_TIMEOUT_S
from common.frames import FrameHeader, PixelFormat, encode_frame
from common.source import AttachedSource
from stages.correct_color import ColorCorrector, make_correctors
from stages.encode_damage import DamageEncoder, make_metrics
from tests.harness import BoardThread, Pipeline, Ports, Tap, board_options, wait_for, write_config

REGION = """
[[displays]]
name = "main"
width = 64
height = 48
source = "cpu_monitor"
profile = "{profile}"
[[displays.regions]]
source = "clock"
box = [40, 2, 20, 10]
"""


def config_with(tmp_path: Path, rotation: int = 0, box: str = "[40, 2, 20, 10]"):
    path = tmp_path / "t.toml"
    text = REGION.format(profile="turned").replace("[40, 2, 20, 10]", box)
    path.write_text(text + f"[profiles.turned]\nrotation = {rotation}\n")
    return load(path)


@pytest.mark.parametrize("rotation", [0, 90, 180, 270])
def test_a_region_lands_where_the_rotated_picture_puts_it(tmp_path, rotation):
    display = config_with(tmp_path, rotation).displays[0]
    viewer = np.zeros((48, 64), np.uint8)
    viewer[2:12, 40:60] = 1
    panel = np.rot90(viewer, k=-rotation // 90)
    x, y, w, h = display.panel_box(display.regions[0])
    assert panel[y : y + h, x : x + w].all() and panel.sum() == w * h


@pytest.mark.parametrize("box", ["[50, 2, 20, 10]", "[0, 0, 0, 5]", "[1, 2, 3]", '["a", 0, 1, 1]'])
def test_a_region_outside_its_display_is_a_config_error(tmp_path, box):
    with pytest.raises(ConfigError, match=r"displays\[0\]\.regions\[0\]\.box: expected \[x, y, width, height\]"):
        config_with(tmp_path, box=box)


def test_the_color_stage_fits_a_region_source_to_the_region(tmp_path):
    correctors = make_correctors(config_with(tmp_path, rotation=90).displays)
    assert correctors[("main", "clock")].correct(np.zeros((7, 9, 3), np.uint8)).shape == (20, 10)
    assert isinstance(correctors[("main", None)], ColorCorrector)


def frame(source: str, pixels: np.ndarray, seq: int) -> list:
    h, w = pixels.shape
    return encode_frame(FrameHeader("main", source, 1, seq, seq, w, h, PixelFormat.RGB565), pixels)


def test_a_region_is_drawn_over_the_main_picture_and_lapses_when_its_source_stops(tmp_path):
    encoder = DamageEncoder(config_with(tmp_path), make_metrics(CollectorRegistry()))
    state = encoder.displays["main"]
    encoder.on_frame(frame("cpu_monitor", np.full((48, 64), 7, np.uint16), 1))
    encoder.on_frame(frame("clock", np.full((10, 20), 9, np.uint16), 1))
    expected = np.full((48, 64), 7, np.uint16)
    expected[2:12, 40:60] = 9
    np.testing.assert_array_equal(state.latest.pixels, expected)
    assert state.choice.active == "cpu_monitor"  # the region's source did not take the display
    encoder.expire(state.layers["clock"].heard + ATTACHED_TIMEOUT_S + 0.1)
    np.testing.assert_array_equal(state.latest.pixels, np.full((48, 64), 7, np.uint16))


def test_a_region_picture_waiting_for_an_earlier_one_does_not_hold_back_the_main_picture(tmp_path):
    encoder = DamageEncoder(config_with(tmp_path), make_metrics(CollectorRegistry()))
    state = encoder.displays["main"]
    encoder.on_frame(frame("cpu_monitor", np.full((48, 64), 7, np.uint16), 1))
    encoder.on_frame(frame("clock", np.full((10, 20), 9, np.uint16), 1))
    encoder.on_frame(frame("clock", np.full((10, 20), 5, np.uint16), 3))  # waits for the clock's picture 2
    encoder.on_frame(frame("cpu_monitor", np.full((48, 64), 8, np.uint16), 2))
    expected = np.full((48, 64), 8, np.uint16)
    expected[2:12, 40:60] = 9
    np.testing.assert_array_equal(state.latest.pixels, expected)
    encoder.on_frame(frame("clock", np.full((10, 20), 4, np.uint16), 2))
    assert [int(f.pixels[2, 40]) for f in encoder.composed] == [4, 5]  # the region's 2 then 3, on the new main
    expected[2:12, 40:60] = 5
    np.testing.assert_array_equal(state.latest.pixels, expected)


def test_an_attached_source_with_a_region_shows_there_end_to_end(tmp_path):
    ports = Ports()
    displays = """
[[displays]]
name = "main"
width = 320
height = 240
source = "cpu_monitor"
[[displays.regions]]
source = "clock"
box = [200, 0, 120, 40]
"""
    config = write_config(tmp_path, ports, displays, "[sources.clock]\n")
    pipe = Pipeline(tmp_path)
    tap = Tap(ports.endpoints["tap"])
    board = BoardThread(board_options(ports))
    try:
        pipe.wait_running()
        yellow = 0xFFE0  # (255, 255, 0) is exact in RGB565: no dither

        def region_is(value: int | None):
            def check() -> bool:
                fb = board.framebuffer
                if fb is None:
                    return False
                inside = bool((fb[0:40, 200:320] == yellow).all())
                return inside if value == yellow else not inside

            return check

        with AttachedSource("clock", config) as clock:
            clock.show("main", np.full((40, 120, 3), 255, np.uint8) * np.array([1, 1, 0], np.uint8))
            wait_for(region_is(yellow), 15, "the clock in its region")
            assert not (board.framebuffer[40:, :] == yellow).all()  # the CPU monitor is still there
        wait_for(region_is(None), ATTACHED_TIMEOUT_S + 10, "the region given back")
    finally:
        board.close()
        tap.close()
        pipe.stop()
