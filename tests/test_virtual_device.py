"""The C++ virtual device (the board's own core, built for the host) end to end under supervisord:
its PNG equals the color stage's frame pixel for pixel, and equals the Python reference board's;
on a lossy display too, once the picture stands still."""

from __future__ import annotations

import signal
import subprocess

import numpy as np
import pytest
from PIL import Image

from common.rgb565 import expand_rgb565, snap_colour
from devices.virtual_displays import VIRTUAL_DEVICE
from tests.harness import (
    PATTERN_DISPLAY,
    REPO,
    BoardThread,
    Ports,
    board_options,
    metric_value,
    pattern_pipeline,
    scrape,
    wait_for,
)
from tests.test_cells import log_lines, terminal_rgb

RECOLOR_RECTS = 'tftstream_encode_damage_rects_total{encoding="RECOLOR"}'
CELLS_RECTS = 'tftstream_encode_damage_rects_total{encoding="CELLS"}'


@pytest.fixture(scope="module")
def device_binary():
    """Build the virtual device if ./check has not (keeps the configured options of build/firmware)."""
    build = REPO / "build" / "firmware"
    if not (build / "CMakeCache.txt").exists():
        subprocess.run(["cmake", "-S", REPO / "firmware", "-B", build], check=True, capture_output=True)
    subprocess.run(["cmake", "--build", build, "-j2", "--target", "virtual_device"], check=True, capture_output=True)
    return VIRTUAL_DEVICE


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory, device_binary):
    directory = tmp_path_factory.mktemp("device")
    ports = Ports()
    with pattern_pipeline(directory, ports) as (_, tap, source):
        yield directory, ports, tap, source


def png_equals(path, expected_rgb565: np.ndarray):
    def check() -> bool:
        try:
            return np.array_equal(np.asarray(Image.open(path).convert("RGB")), expand_rgb565(expected_rgb565))
        except (OSError, ValueError):
            return False

    return check


def pictures(seed: int, count: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    frames = []
    for i in range(count):  # photo-like noise under a moving flat block: both encodings get used
        rgb = rng.integers(0, 255, size=(240, 320, 3), dtype=np.uint8)
        rgb[40:200, 20 + 8 * i : 120 + 8 * i] = (255, 255, 255)
        frames.append(rgb)
    return frames


def test_the_supervised_virtual_device_png_equals_the_frame_and_the_reference_board(pipeline):
    directory, ports, tap, source = pipeline
    reference = BoardThread(board_options(ports))
    try:
        for rgb in pictures(1, 12):
            expected = source.show(rgb)
        wait_for(png_equals(directory / "run" / "main.png", expected), 20, "the C++ device's PNG exact")
        wait_for(
            lambda: reference.framebuffer is not None and np.array_equal(reference.framebuffer, expected),
            20,
            "the reference board exact",
        )
        assert "C++ virtual device" in (directory / "run" / "virtual_displays.log").read_text()
    finally:
        reference.close()


def test_a_rethemed_picture_goes_as_recolor_and_both_boards_end_exact(pipeline):
    """Each theme change recolours every pixel: RECOLOR tables, read back and mapped by the C++ core
    and the reference board (colours on RGB565 levels, which the tests' dithering leaves alone)."""
    directory, ports, tap, source = pipeline
    themes = [((20, 20, 32), (200, 200, 200), (90, 200, 110)), ((240, 240, 232), (32, 32, 40), (24, 120, 40))]
    palettes = [np.array([snap_colour(c) for c in theme], np.uint8) for theme in themes]
    layout = np.random.default_rng(5).integers(0, 3, (240, 320))
    recolored = metric_value(scrape(ports.metrics["encode_damage"]), RECOLOR_RECTS)
    reference = BoardThread(board_options(ports))
    try:
        for palette in palettes * 2:
            expected = source.show(palette[layout])
            wait_for(png_equals(directory / "run" / "main.png", expected), 20, "the C++ device's PNG exact")
            wait_for(lambda e=expected: np.array_equal(reference.framebuffer, e), 20, "the reference board exact")
        # The first theme reaches the reference board whole (it connects then); each change after it
        # reaches both boards as RECOLOR.
        assert metric_value(scrape(ports.metrics["encode_damage"]), RECOLOR_RECTS) - recolored >= 5
    finally:
        reference.close()


def test_a_big_capture_through_shared_memory_reaches_both_boards_exact(pipeline):
    """A 1280x960 picture (3.7 MB) from a source on this machine goes through its ring in shared memory;
    the color stage shrinks it where it lies, and both boards show the frame it made."""
    directory, ports, tap, source = pipeline
    reference = BoardThread(board_options(ports))
    try:
        for seed in (1, 2):
            rgb = np.random.default_rng(seed).integers(0, 255, size=(960, 1280, 3), dtype=np.uint8)
            expected = source.show(rgb)
            wait_for(png_equals(directory / "run" / "main.png", expected), 20, "the C++ device's PNG exact")
            wait_for(lambda e=expected: np.array_equal(reference.framebuffer, e), 20, "the reference board exact")
        assert source.sender.ring is not None  # the pictures went through it
    finally:
        reference.close()


def test_a_scrolling_log_goes_as_glyph_cells_and_both_boards_end_exact(pipeline):
    """Text on a grid, a line more each tick: the C++ core and the reference board draw the scrolled
    text from the glyph cells they keep (CELLS), and read nothing back."""
    directory, ports, tap, source = pipeline
    sent = metric_value(scrape(ports.metrics["encode_damage"]), CELLS_RECTS)
    reference = BoardThread(board_options(ports))
    lines = log_lines(20, seed=7)
    try:
        for tick in range(6):
            lines += log_lines(1, seed=50 + tick)
            expected = source.show(terminal_rgb(lines))
            wait_for(png_equals(directory / "run" / "main.png", expected), 20, "the C++ device's PNG exact")
            wait_for(lambda e=expected: np.array_equal(reference.framebuffer, e), 20, "the reference board exact")
        assert metric_value(scrape(ports.metrics["encode_damage"]), CELLS_RECTS) - sent >= 8
    finally:
        reference.close()


def test_a_device_modelling_a_40_mhz_panel_and_a_small_window_ends_exact(pipeline, device_binary, tmp_path):
    _, ports, tap, source = pipeline
    png = tmp_path / "slow.png"
    device = subprocess.Popen(
        [
            device_binary,
            "--port",
            str(ports.board),
            "--display",
            "main",
            "--size",
            "320x240",
            "--png",
            str(png),
            "--png-every-ms",
            "100",
            "--spi-mhz",
            "40",
            "--rx-buffer",
            "5760",
            "--max-body",
            "4096",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        for rgb in pictures(2, 8):
            expected = source.show(rgb)
        wait_for(png_equals(png, expected), 30, "the slow device's PNG exact")
        device.send_signal(signal.SIGTERM)
        output, _ = device.communicate(timeout=10)
        assert device.returncode == 0
        assert "state: streaming" in output
    finally:
        if device.poll() is None:
            device.kill()
            device.wait()


def test_a_rejected_device_shows_the_reason_and_exits_3(pipeline, device_binary):
    _, ports, _, _ = pipeline
    result = subprocess.run(
        [device_binary, "--port", str(ports.board), "--display", "desk", "--size", "320x240"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 3
    assert "rejected: unknown display 'desk'" in result.stdout


def photos(count: int) -> list[np.ndarray]:
    """Smooth colour waves with mild grain, drifting: what the lossy mode sends as JPEG."""
    y, x = np.mgrid[0:240, 0:320]
    rng = np.random.default_rng(5)
    frames = []
    for i in range(count):
        waves = [np.sin((x + 9 * i) / (23 + 7 * c)) * np.cos((y - 5 * i) / (31 - 5 * c)) for c in range(3)]
        rgb = np.stack([125 + 100 * w + rng.integers(0, 6, x.shape) for w in waves], axis=-1)
        frames.append(rgb.astype(np.uint8))
    return frames


def test_on_a_lossy_display_both_boards_end_exact_once_the_picture_stands_still(tmp_path, device_binary):
    ports = Ports()
    with pattern_pipeline(tmp_path, ports, displays=PATTERN_DISPLAY + "lossy_quality = 85\n") as (_, tap, source):
        reference = BoardThread(board_options(ports))
        try:
            for rgb in photos(6):
                expected = source.show(rgb)
            wait_for(png_equals(tmp_path / "run" / "main.png", expected), 20, "the C++ device's PNG exact")
            wait_for(
                lambda: reference.framebuffer is not None and np.array_equal(reference.framebuffer, expected),
                20,
                "the reference board exact",
            )
            lossy = metric_value(scrape(ports.metrics["encode_damage"]), "tftstream_encode_damage_lossy_packets_total")
            assert lossy > 0, "no frame went out as JPEG: the test shows nothing about the lossy mode"
        finally:
            reference.close()
