"""Prometheus dashboard picture source: a grid of panels, each a PromQL query (or two) with its value in
auto-scaled units and a sparkline of its history; presets for node_exporter, windows_exporter, NVIDIA GPU
exporters and tftstream itself (common/prometheus_presets.py).

Consumes Prometheus' HTTP API from a background thread on its own interval (common/prometheus_query.py),
started by the first update(), so a source that no display shows never asks; produces an RGB picture of
any requested size. update() only copies the panels' current states and draw() paints them: neither
waits on the network, so a slow or stopped Prometheus turns panels stale instead of stalling frames.
The bottleneck is drawing: a few rectangles, text runs and polylines per panel, about 5 ms at 320x240
(mostly FreeType), done only when a query round changed something; an unchanged dashboard is a cached
copy. Panels that do not fit the display take turns in pages, page_s each.
"""

from __future__ import annotations

import functools
import math
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

from PIL import Image, ImageDraw, ImageFont

from common.config import Source
from common.drawing import ELLIPSIS, MIN_FONT_PX, Box, Rgb, draw_text, em, fit_text, font, line_height, text_width
from common.panel_colours import snap_colour
from common.prometheus_panels import DashboardOptions, PanelSpec, Reading, format_share, format_value, read_options
from common.prometheus_query import Fetch, PanelState, Poller, query, short_reason
from common.source import run_source

# The palette, every colour snapped to one the panel shows exactly: a flat area then passes the color stage's
# dither unchanged and goes out as a few RUNS. Series colours come from config (prometheus_panels.COLOURS).
BACKGROUND: Rgb = snap_colour((8, 10, 16))
PANEL: Rgb = snap_colour((22, 26, 36))  # a cell: a shade lighter than the gaps between cells
TITLE: Rgb = snap_colour((160, 170, 185))
DIM: Rgb = snap_colour((110, 118, 132))  # units, series labels, "no data", a stale value
TRACK: Rgb = snap_colour((44, 50, 66))  # the unfilled part of a part-of-whole bar
STALE: Rgb = snap_colour((240, 190, 40))  # the stale marker: amber
ERROR: Rgb = snap_colour((250, 95, 85))
GAP_PX = 2
MIN_CELL_W = 72  # room for "rx 15.6 MB/s" at MIN_FONT_PX
MIN_CELL_H = 56  # room for a title, two lines of numbers and a sparkline at MIN_FONT_PX
TARGET_ASPECT = 2.0  # a cell about twice as wide as tall has room for a big number and a long sparkline
MESSAGES = {"waiting": ELLIPSIS, "no_data": "no data"}


@dataclass(frozen=True, slots=True)
class DashLayout:
    cells: tuple[Box, ...]  # one page's panels, row by row
    pad: int  # inside a cell
    small: ImageFont.FreeTypeFont  # titles, units, labels, messages
    value: ImageFont.FreeTypeFont  # the number of a one-value panel (stepped down when it is too wide)
    value_pair: ImageFont.FreeTypeFont  # each number of a two-series panel
    spark_h: int  # sparkline height at the bottom of each cell


def grid(width: int, height: int, panels: int) -> tuple[int, int]:
    """(columns, rows): every cell at least MIN_CELL_W x MIN_CELL_H, few empty cells, cells about 2:1."""
    max_cols = max(1, (width + GAP_PX) // (MIN_CELL_W + GAP_PX))
    max_rows = max(1, (height + GAP_PX) // (MIN_CELL_H + GAP_PX))
    shown = max(1, min(panels, max_cols * max_rows))

    def cost(cols: int, rows: int) -> float:
        aspect = (width / cols) / (height / rows)
        return (cols * rows - shown) + abs(math.log2(aspect / TARGET_ASPECT))

    fits = [(c, r) for c in range(1, max_cols + 1) for r in range(1, max_rows + 1) if c * r >= shown]
    return min(fits, key=lambda cr: cost(*cr))


def font_for_digits(ink_h: int, width: int) -> ImageFont.FreeTypeFont:
    """The largest font whose digits are at most ink_h px tall and "0.9" fits `width`; at least MIN_FONT_PX."""
    for size in range(2 * max(ink_h, MIN_FONT_PX), MIN_FONT_PX, -1):
        left, top, right, bottom = font(size).getbbox("0.9")
        if bottom - top <= ink_h and right - left <= width:
            return font(size)
    return font(MIN_FONT_PX)


@functools.lru_cache(maxsize=16)
def dash_layout(width: int, height: int, panels: int) -> DashLayout:
    """A page of `panels` panels (or as many as fit): cells in a grid, fonts sized from the cell."""
    cols, rows = grid(width, height, panels)
    xs = [round(i * (width + GAP_PX) / cols) for i in range(cols + 1)]
    ys = [round(j * (height + GAP_PX) / rows) for j in range(rows + 1)]
    cells = tuple(Box(xs[i], ys[j], xs[i + 1] - GAP_PX, ys[j + 1] - GAP_PX) for j in range(rows) for i in range(cols))
    cell_w, cell_h = min(c.width for c in cells), min(c.height for c in cells)
    pad = 2 if cell_h < 64 else 3
    small = font(max(MIN_FONT_PX, min(cell_h // 6, cell_w // 11, 15)))
    spark_h = max(6, (cell_h - 2 * pad) * 3 // 10)
    value_h = cell_h - 2 * pad - line_height(small) - spark_h - 1
    return DashLayout(
        cells=cells,
        pad=pad,
        small=small,
        value=font_for_digits(value_h - 2, cell_w - 2 * pad),
        value_pair=font_for_digits(value_h // 2 - 3, cell_w - 2 * pad),
        spark_h=spark_h,
    )


def page(width: int, height: int, panels: int, now: float, page_s: float) -> range:
    """Which panels show at `now`: all when they fit, else full pages in turn and the rest on the last."""
    per_page = len(dash_layout(width, height, panels).cells)
    pages = -(-panels // per_page)
    first = int(now // page_s) % pages * per_page
    return range(first, min(first + per_page, panels))


@functools.lru_cache(maxsize=64)
def fill_colour(colour: Rgb) -> Rgb:
    """The area under a sparkline: a third of the way from the cell's colour to the line's."""
    r, g, b = (round(p + (c - p) / 3) for c, p in zip(colour, PANEL, strict=True))
    return snap_colour((r, g, b))


def wrap(text: str, f: ImageFont.FreeTypeFont, width: int, lines: int) -> list[str]:
    """`text` broken at spaces into at most `lines` lines of at most `width` px; cut with an ellipsis."""
    out = [""]
    for word in text.split():
        candidate = f"{out[-1]} {word}".lstrip()
        if text_width(candidate, f) <= width or not out[-1]:
            out[-1] = candidate
        elif len(out) < lines:
            out.append(word)
        else:
            out[-1] += ELLIPSIS
            break
    return [fit_text(line, f, width) for line in out]


def draw_lines(draw: ImageDraw.ImageDraw, box: Box, text: str, f: ImageFont.FreeTypeFont, colour: Rgb) -> None:
    step = line_height(f)
    for i, line in enumerate(wrap(text, f, box.width, max(1, box.height // step))):
        draw.text((box.left, box.top + i * step), line, font=f, fill=colour)


def draw_reading(
    draw: ImageDraw.ImageDraw,
    box: Box,
    reading: Reading,
    big: ImageFont.FreeTypeFont,
    small: ImageFont.FreeTypeFont,
    colour: Rgb,
    label: str = "",
) -> None:
    """`label number unit` on one line, the digits centred in `box` in the largest font from `big` down
    that fits it (at the smallest, the number is ellipsized)."""
    gap = max(2, em(small) // 3)
    label_w = text_width(label, small) + gap if label else 0
    unit_gap = gap if reading.spaced else 1
    room = box.width - label_w - (text_width(reading.unit, small) + unit_gap if reading.unit else 0)
    f = small
    for size in range(em(big), em(small), -1):
        left, top, right, bottom = font(size).getbbox(reading.number, anchor="ls")
        if right - left <= room and bottom - top <= box.height:
            f = font(size)
            break
    number = fit_text(reading.number, f, max(1, room))
    _, ink_top, _, ink_bottom = f.getbbox("0", anchor="ls")  # the digits' ink around the baseline
    baseline = box.top + (box.height - ink_top - ink_bottom) // 2
    if label:
        draw.text((box.left, baseline), label, font=small, fill=DIM, anchor="ls")
    draw.text((box.left + label_w, baseline), number, font=f, fill=colour, anchor="ls")
    if reading.unit:
        x = box.left + label_w + text_width(number, f) + unit_gap
        draw.text((x, baseline), reading.unit, font=small, fill=DIM, anchor="ls")


def draw_sparkline(draw: ImageDraw.ImageDraw, box: Box, spec: PanelSpec, state: PanelState, length: int) -> None:
    """Newest round at the right edge and `length` rounds across, so the time axis never rescales; a round
    without a value is a gap. Two series share one range; a part-of-whole panel plots the part."""
    series = state.history[:1] if spec.pair == "total" else state.history
    seen = [v for history in series for v in history if v is not None]
    if not seen or box.width < 2 or box.height < 2:
        return
    low = spec.low if spec.low is not None else min(0.0, *seen)
    high = spec.high
    if high is None:
        whole = state.values[1] if spec.pair == "total" and len(spec.queries) > 1 else None
        high = whole if whole else max(seen) * 1.25  # headroom: a steady value is a line, not a full box
    high = max(high, low + 1e-9)
    step = (box.width - 1) / max(1, length - 1)
    bottom = box.bottom - 1

    def point(i: int, count: int, value: float) -> tuple[int, int]:
        share = (min(max(value, low), high) - low) / (high - low)
        return round(box.right - 1 - (count - 1 - i) * step), round(bottom - (box.height - 1) * share)

    for index, history in enumerate(series):
        runs: list[list[tuple[int, int]]] = [[]]
        for i, value in enumerate(history):
            if value is None:
                runs.append([])
            else:
                runs[-1].append(point(i, len(history), value))
        for run in filter(None, runs):
            if index == 0:
                draw.polygon([*run, (run[-1][0], bottom), (run[0][0], bottom)], fill=fill_colour(spec.colours[0]))
            draw.line(run, fill=spec.colours[index])


def _or_nan(value: float | None) -> float:
    return math.nan if value is None else value


def draw_values(draw: ImageDraw.ImageDraw, lay: DashLayout, box: Box, spec: PanelSpec, state: PanelState) -> None:
    """The numbers: one; part / whole over a bar; or two series, one per line."""
    colours = (DIM, DIM) if state.status == "stale" else spec.colours
    first = state.values[0]
    if len(spec.queries) == 1:
        draw_reading(draw, box, format_value(_or_nan(first), spec.unit), lay.value, lay.small, colours[0])
    elif spec.pair == "total":
        whole = state.values[1]
        bar_h = max(2, box.height // 8)
        bar = Box(box.left, box.bottom - bar_h, box.right, box.bottom)
        text = Box(box.left, box.top, box.right, bar.top - max(2, bar_h // 2))
        draw_reading(
            draw, text, format_share(_or_nan(first), _or_nan(whole), spec.unit), lay.value, lay.small, colours[0]
        )
        draw.rectangle(bar.inclusive, fill=TRACK)
        filled = round(bar.width * min(max(first / whole, 0.0), 1.0)) if first is not None and whole else 0
        if filled:
            draw.rectangle((bar.left, bar.top, bar.left + filled - 1, bar.bottom - 1), fill=colours[0])
    else:
        half = box.height // 2
        for i, value in enumerate(state.values):
            row = Box(box.left, box.top + i * half, box.right, box.top + (i + 1) * half)
            reading = format_value(_or_nan(value), spec.unit)
            draw_reading(draw, row, reading, lay.value_pair, lay.small, colours[i], spec.labels[i])


def draw_panel(
    draw: ImageDraw.ImageDraw, lay: DashLayout, cell: Box, spec: PanelSpec, state: PanelState, length: int
) -> None:
    """Title (and the stale marker) on top, the numbers or what is wrong, the sparkline at the bottom."""
    draw.rectangle(cell.inclusive, fill=PANEL)
    pad, f = lay.pad, lay.small
    inner = Box(cell.left + pad, cell.top + pad, cell.right - pad, cell.bottom - pad)
    marker_w = text_width("stale", f) + em(f) // 2 if state.status == "stale" else 0
    draw_text(draw, (inner.left, inner.top), spec.title, f, TITLE, inner.width - marker_w)
    if marker_w:
        draw_text(draw, (inner.right, inner.top), "stale", f, STALE, anchor="ra")
    body = Box(inner.left, inner.top + line_height(f), inner.right, inner.bottom)
    if state.status == "error":  # the message needs every line it can get
        draw_lines(draw, body, "error: " + short_reason(state.detail), f, ERROR)
        return
    spark = Box(body.left, body.bottom - lay.spark_h, body.right, body.bottom)
    draw_sparkline(draw, spark, spec, state, length)
    values = Box(body.left, body.top, body.right, spark.top - 1)
    if state.status in ("value", "stale"):
        draw_values(draw, lay, values, spec, state)
    else:
        draw_lines(draw, values, MESSAGES.get(state.status, f"{state.status}: {state.detail}"), f, DIM)


class PrometheusPainter:
    """Shows the poller's panel states; `states` (a PanelState per panel) is what the last update() saw.

    Tests and snapshots pass `fetch` (expr -> Answer) and `clock`, and threaded=False: each update() then
    runs a query round itself when one is due, so pictures depend on nothing but what they pass.
    """

    def __init__(
        self,
        source: Source | DashboardOptions,
        fetch: Fetch | None = None,
        clock: Callable[[], float] = time.monotonic,
        threaded: bool = True,
    ) -> None:
        self.options = read_options(source) if isinstance(source, Source) else source
        options = self.options
        fetch = fetch or functools.partial(query, options.url, timeout_s=options.timeout_s)
        where = f"Prometheus at {options.url}"
        self.poller = Poller(options.panels, fetch, options.query_interval_s, options.history, clock, where)
        self._clock, self._threaded = clock, threaded
        self._now = clock()
        self.states: tuple[PanelState, ...] = self.poller.states(self._now)
        self._drawn: dict[tuple[int, int], tuple[object, Image.Image]] = {}

    def update(self) -> None:
        self._now = self._clock()
        self.poller.wanted()
        if self._threaded:
            self.poller.start()  # the first update starts asking; later ones only look
        else:
            self.poller.poll_if_due(self._now)
        self.states = self.poller.states(self._now)

    def draw(self, width: int, height: int) -> Image.Image:
        shown = page(width, height, len(self.options.panels), self._now, self.options.page_s)
        key = (shown, self.states[shown.start : shown.stop])
        drawn = self._drawn.get((width, height))
        if drawn is None or drawn[0] != key:
            lay = dash_layout(width, height, len(shown))
            image = Image.new("RGB", (width, height), BACKGROUND)
            draw = ImageDraw.Draw(image)
            for cell, index in zip(lay.cells, shown, strict=False):
                draw_panel(draw, lay, cell, self.options.panels[index], self.states[index], self.options.history)
            self._drawn[width, height] = drawn = (key, image)
        return drawn[1].copy()  # a copy: a caller drawing on the picture cannot change the cached one

    def close(self) -> None:
        self.poller.close()


def main(argv: list[str] | None = None) -> int:
    return run_source("prometheus", lambda source: PrometheusPainter(source), argv)


if __name__ == "__main__":
    sys.exit(main())
