"""The built-in painters: picture size and mode, determinism, and that changes land where they should.

Set TFTSTREAM_PAINTER_PNGS=/some/dir to also write every painter at every size as PNGs to look at.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from types import ModuleType

import cpuinfo
import numpy as np
import pytest
from PIL import Image

from common import drawing
from common.config import ColorProfile, Display
from common.drawing import MIN_FONT_PX, Box, fit_text, font, tidy_cpu_name
from common.rgb565 import expand_rgb565, pack_rgb565
from stages import draw_bios_screen, draw_cpu_monitor
from stages.correct_color import ColorCorrector
from stages.draw_bios_screen import BiosScreenPainter, Device, bios_layout, clock_box
from stages.draw_cpu_monitor import BAR_TRACK, MIN_BAR_PX, CpuMonitorPainter, CpuSample, cpu_layout

SIZES = [(320, 240), (240, 240), (160, 128)]
IDLE = CpuSample((5.0, 10.0, 0.0, 20.0), 8.75, 2400.0)
BUSY = CpuSample((100.0, 0.0, 90.0, 55.0), 61.25, 3600.0)
DEVICES = (Device("Disk", "/dev/sda1 ext4"), Device("NIC", "eth0"))


def pixels(image: Image.Image) -> np.ndarray:
    return np.asarray(image)


def cpu_painter(*samples: CpuSample) -> CpuMonitorPainter:
    """A painter that has taken `samples` in order, one per update()."""
    feed: Iterator[CpuSample] = iter(samples)
    painter = CpuMonitorPainter(sampler=lambda: next(feed), cpu_name="Test CPU 9000", history=30)
    for _ in samples:
        painter.update()
    return painter


def bios_painter(*times: datetime) -> BiosScreenPainter:
    """A painter whose clock returns `times` in order, one per update(); updated once."""
    feed = iter(times)
    painter = BiosScreenPainter(
        clock=lambda: next(feed), cpu_name="Test CPU 9000", memory_bytes=8 << 30, devices=DEVICES
    )
    painter.update()
    return painter


@pytest.mark.parametrize("size", SIZES)
def test_cpu_picture_is_rgb_at_requested_size(size: tuple[int, int]) -> None:
    image = cpu_painter(IDLE, BUSY).draw(*size)
    assert (image.size, image.mode) == (size, "RGB")


@pytest.mark.parametrize("size", SIZES)
def test_bios_picture_is_rgb_at_requested_size(size: tuple[int, int]) -> None:
    image = bios_painter(datetime(2024, 5, 17, 13, 37, 42)).draw(*size)
    assert (image.size, image.mode) == (size, "RGB")


@pytest.mark.parametrize("size", SIZES)
def test_cpu_identical_samples_draw_identical_pictures(size: tuple[int, int]) -> None:
    first, second = cpu_painter(IDLE, BUSY), cpu_painter(IDLE, BUSY)
    assert np.array_equal(pixels(first.draw(*size)), pixels(second.draw(*size)))
    assert np.array_equal(pixels(first.draw(*size)), pixels(first.draw(*size)))


@pytest.mark.parametrize("size", SIZES)
def test_cpu_different_sample_changes_picture(size: tuple[int, int]) -> None:
    assert not np.array_equal(pixels(cpu_painter(IDLE).draw(*size)), pixels(cpu_painter(BUSY).draw(*size)))


@pytest.mark.parametrize("size", SIZES)
def test_cpu_full_core_bar_has_more_bar_colour_than_idle_core(size: tuple[int, int]) -> None:
    image = pixels(cpu_painter(BUSY).draw(*size))
    full, idle = cpu_layout(*size, len(BUSY.per_core)).bars[:2]

    def coloured(box: Box) -> int:
        area = image[box.top : box.bottom, box.left : box.right]
        return int(np.any(area != BAR_TRACK, axis=-1).sum())

    assert coloured(full) > coloured(idle)
    assert coloured(full) == full.width * full.height  # 100 % fills the whole bar


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("cores", [1, 2, 8, 64, 128])
def test_cpu_bars_stay_visible_and_apart_for_any_core_count(size: tuple[int, int], cores: int) -> None:
    lay = cpu_layout(*size, cores)
    assert len(lay.bars) == cores
    taken = np.zeros((size[1], size[0]), dtype=int)
    for box in lay.bars:
        assert box.width >= MIN_BAR_PX and box.height >= 4
        taken[box.top : box.bottom, box.left : box.right] += 1
    assert taken.max() == 1  # no two bars overlap
    assert all(lay.stats.bottom <= box.top and box.bottom <= lay.graph.top for box in lay.bars)


@pytest.mark.parametrize("size", SIZES)
def test_cpu_draws_before_first_sample_and_without_frequency(size: tuple[int, int]) -> None:
    assert cpu_painter().draw(*size).size == size
    assert cpu_painter(CpuSample((50.0,), 50.0, None)).draw(*size).size == size


def test_cpu_history_keeps_only_the_newest_samples() -> None:
    painter = cpu_painter(*[BUSY] * 40, *[IDLE] * 30)  # ring of 30: BUSY has scrolled out entirely
    assert np.array_equal(pixels(painter.draw(160, 128)), pixels(cpu_painter(*[IDLE] * 30).draw(160, 128)))


@pytest.mark.parametrize("broken", [lambda: None, lambda: (_ for _ in ()).throw(FileNotFoundError("no sysfs"))])
def test_frequency_is_none_where_the_platform_cannot_tell(monkeypatch: pytest.MonkeyPatch, broken) -> None:
    monkeypatch.setattr(draw_cpu_monitor.psutil, "cpu_freq", broken)
    assert draw_cpu_monitor.sample_psutil().freq_mhz is None


def test_default_sampler_reads_this_machine() -> None:
    painter = CpuMonitorPainter(cpu_name="skip the slow cpuinfo lookup")
    painter.update()
    assert painter.draw(160, 128).size == (160, 128)


@pytest.mark.parametrize("size", SIZES)
def test_bios_same_second_draws_identical_picture(size: tuple[int, int]) -> None:
    painter = bios_painter(datetime(2024, 5, 17, 13, 37, 42, 100), datetime(2024, 5, 17, 13, 37, 42, 900_000))
    before = pixels(painter.draw(*size))
    painter.update()
    assert np.array_equal(before, pixels(painter.draw(*size)))


TIMES = ["00:00:00", "11:11:11", "22:22:22", "23:33:33", "14:44:44", "15:55:55", "06:59:09", "17:07:57", "18:48:08"]


@pytest.mark.parametrize("size", SIZES)
def test_bios_clock_change_alters_only_the_clock_box(size: tuple[int, int]) -> None:
    base = pixels(bios_painter(datetime(2024, 5, 17, 19, 29, 39)).draw(*size))
    box = clock_box(*size)
    outside = np.ones(base.shape[:2], dtype=bool)
    outside[box.top : box.bottom, box.left : box.right] = False
    for text in TIMES:
        changed = pixels(bios_painter(datetime.strptime(text, "%H:%M:%S")).draw(*size))
        differs = np.any(changed != base, axis=-1)
        assert differs.any(), text
        assert not (differs & outside).any(), text


def test_bios_draws_before_first_update_and_survives_caller_edits() -> None:
    painter = BiosScreenPainter(clock=lambda: datetime(2024, 1, 1), cpu_name="x", memory_bytes=1 << 30, devices=())
    picture = painter.draw(160, 128)
    picture.paste((255, 0, 0), (0, 0, 160, 128))
    assert painter.draw(160, 128).getpixel((0, 0)) != (255, 0, 0)


def test_bios_defaults_read_this_machine() -> None:
    painter = BiosScreenPainter(cpu_name="skip the slow cpuinfo lookup")
    painter.update()
    assert painter.draw(320, 240).size == (320, 240)


@pytest.mark.parametrize("size", SIZES)
def test_text_is_never_smaller_than_the_legible_minimum(size: tuple[int, int]) -> None:
    assert bios_layout(*size).font.size >= MIN_FONT_PX
    assert cpu_layout(*size, 8).small.size >= MIN_FONT_PX


def test_fit_text_ellipsizes_to_width() -> None:
    f = font(12)
    assert fit_text("short", f, 200) == "short"
    fitted = fit_text("AMD Ryzen Threadripper PRO 5995WX 64-Cores", f, 80)
    assert fitted.endswith("\u2026") and f.getlength(fitted) <= 80


def test_cpu_name_loses_marketing_noise() -> None:
    assert tidy_cpu_name("Intel(R) Core(TM) i7-8700K CPU @ 3.70GHz") == "Intel Core i7-8700K"
    assert tidy_cpu_name("AMD Ryzen 7 5800X 8-Core Processor") == "AMD Ryzen 7 5800X 8-Core"


def test_cpu_name_falls_back_when_cpuinfo_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    def fail() -> dict[str, object]:
        raise RuntimeError("cpuinfo helper crashed")

    monkeypatch.setattr(cpuinfo, "get_cpu_info", fail)
    monkeypatch.setattr(drawing.platform, "processor", lambda: "x86_64 Family 6")
    assert drawing.detect_cpu_name() == "x86_64 Family 6"


def palette(module: ModuleType) -> dict[str, tuple[int, int, int]]:
    """Every module-level colour constant: each three-integer tuple."""
    return {
        name: value
        for name, value in vars(module).items()
        if isinstance(value, tuple) and len(value) == 3 and all(isinstance(v, int) for v in value)
    }


def shown_exactly(colour: tuple[int, int, int]) -> bool:
    return tuple(expand_rgb565(pack_rgb565(np.array(colour, np.uint8))).tolist()) == colour


@pytest.mark.parametrize("module", [draw_cpu_monitor, draw_bios_screen], ids=lambda m: m.__name__)
def test_every_palette_colour_is_one_the_panel_shows_exactly(module: ModuleType) -> None:
    colours = palette(module)
    assert "BACKGROUND" in colours and len(colours) >= 5
    assert {name: c for name, c in colours.items() if not shown_exactly(c)} == {}


def test_every_load_colour_is_one_the_panel_shows_exactly() -> None:
    assert all(shown_exactly(draw_cpu_monitor.load_colour(percent)) for percent in range(101))


def painted(source: str, size: tuple[int, int]) -> Image.Image:
    if source == "cpu_monitor":
        return cpu_painter(IDLE, BUSY, IDLE).draw(*size)
    return bios_painter(datetime(2024, 5, 17, 13, 37, 42)).draw(*size)


def through_color_stage(picture: np.ndarray) -> np.ndarray:
    """The RGB565 values the color stage makes of `picture` with dither on (painters' colours must
    survive it: a user may turn it on for a display that also shows photos)."""
    height, width = picture.shape[:2]
    profile = ColorProfile(dither=True)
    assert profile.gamma == 1.0
    return ColorCorrector(Display("panel", width, height, "cpu_monitor", profile)).correct(picture)


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize(("source", "module"), [("cpu_monitor", draw_cpu_monitor), ("bios_screen", draw_bios_screen)])
def test_background_leaves_the_dithering_color_stage_as_one_value(
    size: tuple[int, int], source: str, module: ModuleType
) -> None:
    picture = pixels(painted(source, size))
    background = np.all(picture == module.BACKGROUND, axis=-1)
    assert background.mean() > 0.3  # most of the picture, so the check means something
    values = through_color_stage(picture)[background]
    assert set(np.unique(values).tolist()) == {int(pack_rgb565(np.array(module.BACKGROUND, np.uint8)))}


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("source", ["cpu_monitor", "bios_screen"])
def test_each_palette_colour_in_a_picture_leaves_the_color_stage_as_one_value(
    size: tuple[int, int], source: str
) -> None:
    picture = pixels(painted(source, size))
    values = through_color_stage(picture)
    module = draw_cpu_monitor if source == "cpu_monitor" else draw_bios_screen
    for name, colour in palette(module).items():
        where = np.all(picture == colour, axis=-1)
        assert len(np.unique(values[where])) <= 1, name  # absent (0) or one value
