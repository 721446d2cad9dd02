"""CPU monitor picture source: per-core load bars, a load-history graph, CPU name, frequency and load.

Consumes one CpuSample per tick (psutil by default, injectable for tests) and produces an RGB
picture of any requested size. Drawing is a few dozen rectangles and four text runs, well under a
millisecond; the first picture also loads the fonts and lays out the display (a few ms).
"""

from __future__ import annotations

import functools
import sys
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

import psutil
from PIL import Image, ImageDraw, ImageFont

from common.drawing import (
    Box,
    CpuName,
    Rgb,
    body_font_size,
    draw_text,
    em,
    font,
    largest_font,
    line_height,
    text_width,
)
from common.panel_colours import snap_colour
from common.source import run_source

# The palette, every colour snapped to one the panel shows exactly: a flat area then passes the color stage's
# dither unchanged and goes out as a few RUNS, not as a 4x4 pattern in RAW. No colour literals below this block.
BACKGROUND: Rgb = snap_colour((8, 10, 16))
NAME_COLOUR: Rgb = snap_colour((160, 170, 185))
FREQ_COLOUR: Rgb = snap_colour((110, 200, 255))
BAR_TRACK: Rgb = snap_colour((32, 38, 50))  # unfilled part of a core bar, so an idle core is still visible
GRAPH_FRAME: Rgb = snap_colour((48, 56, 72))
GRAPH_FILL: Rgb = snap_colour((20, 64, 92))
GRAPH_LINE: Rgb = snap_colour((90, 200, 255))
LOAD_LOW: Rgb = snap_colour((60, 200, 90))  # green
LOAD_MID: Rgb = snap_colour((240, 190, 40))  # amber
LOAD_HIGH: Rgb = snap_colour((240, 70, 60))  # red
MIN_BAR_PX = 3  # narrower bars cannot be told apart on a TFT; wrap into more rows instead
MIN_ROW_PX = 5
MAX_BAR_PX = 48  # a 2-core machine should show bars, not slabs


@dataclass(frozen=True, slots=True)
class CpuSample:
    per_core: tuple[float, ...]  # percent, 0..100, one per logical core
    total: float  # percent, 0..100
    freq_mhz: float | None  # None where the platform does not report it


@dataclass(frozen=True, slots=True)
class CpuLayout:
    name: Box  # CPU name line
    stats: Box  # big overall percent, frequency and core count
    bars: tuple[Box, ...]  # one per core, in core order
    graph: Box  # load history
    small: ImageFont.FreeTypeFont
    big: ImageFont.FreeTypeFont


def load_colour(percent: float) -> Rgb:
    """Green, amber, red: three steps read faster than a gradient at a glance across the room."""
    if percent < 50:
        return LOAD_LOW
    if percent < 80:
        return LOAD_MID
    return LOAD_HIGH


def _freq_mhz() -> float | None:
    try:
        freq = psutil.cpu_freq()
    except (OSError, NotImplementedError, RuntimeError):  # e.g. missing sysfs nodes, Apple silicon
        return None
    if freq is None or freq.current <= 0:
        return None
    return float(freq.current)


def sample_psutil() -> CpuSample:
    """Non-blocking: psutil compares with the previous call, so the tick period is the averaging window."""
    per_core = tuple(float(p) for p in psutil.cpu_percent(interval=None, percpu=True))
    # The mean of the per-core loads is what cpu_percent() would report, without a second baseline.
    total = sum(per_core) / len(per_core) if per_core else 0.0
    return CpuSample(per_core, total, _freq_mhz())


def format_freq(mhz: float | None) -> str:
    if mhz is None:
        return ""
    return f"{mhz / 1000:.2f} GHz" if mhz >= 1000 else f"{mhz:.0f} MHz"


def _bar_grid(area: Box, cores: int) -> tuple[Box, ...]:
    """Core bars side by side, wrapped into more rows when one row would make them too thin."""
    if cores == 0 or area.width <= 0 or area.height <= 0:
        return ()
    max_rows = max(1, area.height // MIN_ROW_PX)
    rows = 1
    while rows < max_rows and area.width // -(-cores // rows) < MIN_BAR_PX + 1:
        rows += 1
    cols = -(-cores // rows)
    gap = 1 if area.width // cols < 8 else 2
    grid_w = min(area.width, cols * (MAX_BAR_PX + gap))
    left = area.left + (area.width - grid_w) // 2
    # Column edges by rounding, so the leftover pixels spread over the bars instead of one margin.
    xs = [left + round(i * (grid_w + gap) / cols) for i in range(cols + 1)]
    ys = [area.top + round(j * (area.height + gap) / rows) for j in range(rows + 1)]
    boxes = [Box(xs[i % cols], ys[i // cols], xs[i % cols + 1] - gap, ys[i // cols + 1] - gap) for i in range(cores)]
    return tuple(boxes)


@functools.lru_cache(maxsize=16)
def cpu_layout(width: int, height: int, cores: int) -> CpuLayout:
    """Where everything goes: name line, stats row, bars and graph stacked, sized from the display."""
    pad = max(2, min(width, height) // 48)
    small = font(body_font_size(width, height))
    inner = width - 2 * pad
    name = Box(pad, pad, width - pad, pad + line_height(small))
    stats_h = max(2 * line_height(small), height // 5)
    stats = Box(pad, name.bottom, width - pad, name.bottom + stats_h)
    big = largest_font("100%", inner // 2, stats_h - 2 * pad)
    rest = height - pad - stats.bottom - pad
    bars_h = rest * 9 // 20
    bars = Box(pad, stats.bottom + pad, width - pad, stats.bottom + pad + bars_h)
    graph = Box(pad, bars.bottom + pad, width - pad, height - pad)
    return CpuLayout(name, stats, _bar_grid(bars, cores), graph, small, big)


def _draw_stats(draw: ImageDraw.ImageDraw, lay: CpuLayout, name: str, sample: CpuSample | None) -> None:
    draw_text(draw, (lay.name.left, lay.name.top), name, lay.small, NAME_COLOUR, lay.name.width)
    if sample is None:
        draw_text(draw, (lay.stats.left, lay.stats.top), "--%", lay.big, NAME_COLOUR)
        return
    percent = f"{sample.total:.0f}%"
    draw_text(draw, (lay.stats.left, lay.stats.top), percent, lay.big, load_colour(sample.total))
    # The right column gets whatever the big number leaves, so a long frequency never overlaps it.
    column = lay.stats.width - text_width(percent, lay.big) - em(lay.small)
    cores = f"{len(sample.per_core)} core" + ("s" if len(sample.per_core) != 1 else "")
    lines = [
        (text, colour) for text, colour in ((format_freq(sample.freq_mhz), FREQ_COLOUR), (cores, NAME_COLOUR)) if text
    ]
    for i, (text, colour) in enumerate(lines):
        y = lay.stats.top + i * line_height(lay.small)
        draw_text(draw, (lay.stats.right, y), text, lay.small, colour, column, "ra")


def _draw_bars(draw: ImageDraw.ImageDraw, boxes: tuple[Box, ...], per_core: tuple[float, ...]) -> None:
    for box, percent in zip(boxes, per_core, strict=True):
        draw.rectangle(box.inclusive, fill=BAR_TRACK)
        filled = round(box.height * min(max(percent, 0.0), 100.0) / 100)
        if filled > 0:
            draw.rectangle((box.left, box.bottom - filled, box.right - 1, box.bottom - 1), fill=load_colour(percent))


def _draw_graph(draw: ImageDraw.ImageDraw, box: Box, history: deque[float]) -> None:
    """Newest sample at the right edge; the full ring spans the width, so the time axis never rescales."""
    draw.rectangle(box.inclusive, outline=GRAPH_FRAME)
    mid = box.top + box.height // 2
    for x in range(box.left + 2, box.right - 2, 4):  # dotted 50 % line: a reference, not data
        draw.point((x, mid), fill=GRAPH_FRAME)
    if not history or history.maxlen is None or box.width < 3 or box.height < 3:
        return
    step = (box.width - 3) / max(1, history.maxlen - 1)
    top, bottom = box.top + 1, box.bottom - 2
    right = box.right - 2
    points = [
        (round(right - (len(history) - 1 - i) * step), round(bottom - (bottom - top) * min(max(v, 0.0), 100.0) / 100))
        for i, v in enumerate(history)
    ]
    if len(points) > 1:
        draw.polygon([*points, (points[-1][0], bottom), (points[0][0], bottom)], fill=GRAPH_FILL)
    draw.line(points, fill=GRAPH_LINE, width=1 if box.height < 80 else 2)


class CpuMonitorPainter:
    """Samples the CPU on update() and paints it on draw(); draw() is a pure function of the samples."""

    def __init__(
        self,
        sampler: Callable[[], CpuSample] | None = None,
        cpu_name: str | None = None,
        history: int = 120,
    ) -> None:
        if sampler is None:
            sample_psutil()  # psutil's first non-blocking call only sets the baseline and reads 0 %
            sampler = sample_psutil
        self._sampler = sampler
        self._name = CpuName(cpu_name)
        self._latest: CpuSample | None = None
        self._history: deque[float] = deque(maxlen=max(2, history))

    def update(self) -> None:
        self._latest = self._sampler()
        self._history.append(self._latest.total)

    def draw(self, width: int, height: int) -> Image.Image:
        cores = len(self._latest.per_core) if self._latest is not None else 0
        lay = cpu_layout(width, height, cores)
        image = Image.new("RGB", (width, height), BACKGROUND)
        draw = ImageDraw.Draw(image)
        _draw_stats(draw, lay, self._name.value, self._latest)
        if self._latest is not None:
            _draw_bars(draw, lay.bars, self._latest.per_core)
        _draw_graph(draw, lay.graph, self._history)
        return image


def main(argv: list[str] | None = None) -> int:
    return run_source("cpu_monitor", lambda _source: CpuMonitorPainter(), argv)


if __name__ == "__main__":
    sys.exit(main())
