"""The Prometheus dashboard's panels: what each shows (from a preset or from config) and how its values read.

`read_options(source)` turns a `[sources.<name>]` table of kind "prometheus" into frozen options or raises
ConfigError("file: key: expected X, got Y"), so a mistake stops the stage at start (exit 2). Whether a query
is valid PromQL only Prometheus can tell; that shows on the panel at run time instead.

`format_value` scales a value into its unit's prefixes: 1536 bytes_per_s reads "1.5 KB/s", 0.0123 seconds
"12 ms". Byte units scale by 1024 (as system monitors show memory), everything else by 1000.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

from common.config import SOURCE_KEYS, Source, Table
from common.drawing import Rgb
from common.panel_colours import snap_colour
from common.prometheus_presets import PRESETS

SELECTOR_PLACEHOLDER = "$sel"  # in a query: replaced by the source's `selector` (label matchers, maybe empty)
OPTION_KEYS = {"url", "preset", "panels", "selector", "query_interval_s", "timeout_s", "history", "page_s"}
PANEL_KEYS = {"title", "query", "query2", "pair", "labels", "unit", "min", "max", "colour", "colour2"}
PAIRS = ("series", "total")  # query2 is a second series (read/write), or the whole the first is part of
MAX_TITLE = 40
MAX_LABEL = 6
COLOURS: dict[str, Rgb] = {
    name: snap_colour(rgb)
    for name, rgb in {
        "green": (60, 200, 90),
        "amber": (240, 190, 40),
        "orange": (255, 140, 40),
        "red": (240, 70, 60),
        "magenta": (220, 100, 220),
        "purple": (160, 120, 255),
        "blue": (90, 150, 255),
        "cyan": (90, 200, 255),
        "teal": (60, 200, 180),
        "yellow": (240, 230, 80),
        "grey": (160, 170, 185),
        "white": (255, 255, 255),
    }.items()
}
HEX_COLOUR = re.compile(r"#[0-9a-fA-F]{6}")


@dataclass(frozen=True, slots=True)
class Scale:
    suffix: str  # after the prefix: "B/s" makes "KB/s"
    base: int  # 1024, 1000, or 0: never scaled
    prefixes: tuple[str, ...]
    spaced: bool = True  # "1.5 KB/s" but "42%"


_SI = ("", "k", "M", "G", "T", "P")
_BINARY = ("", "K", "M", "G", "T", "P")
SCALES: dict[str, Scale] = {
    "bytes": Scale("B", 1024, _BINARY),
    "bytes_per_s": Scale("B/s", 1024, _BINARY),
    "bits_per_s": Scale("b/s", 1000, _SI),
    "percent": Scale("%", 0, ("",), spaced=False),
    "seconds": Scale("s", 0, ("",)),  # scaled by SECOND_STEPS instead
    "celsius": Scale("\u00b0C", 0, ("",), spaced=False),
    "watts": Scale("W", 1000, _SI),
    "hertz": Scale("Hz", 1000, _SI),
    "count": Scale("", 1000, _SI, spaced=False),
    "per_s": Scale("/s", 1000, _SI, spaced=False),
    "fps": Scale("fps", 0, ("",)),
}
UNITS = tuple(SCALES)
SECOND_STEPS = ((86400.0, "d"), (3600.0, "h"), (60.0, "min"), (1.0, "s"), (1e-3, "ms"), (1e-6, "\u00b5s"))


@dataclass(frozen=True, slots=True)
class Reading:
    """A value as the panel prints it: the number big, the unit small beside it."""

    number: str
    unit: str
    spaced: bool = True

    def __str__(self) -> str:
        return f"{self.number}{' ' if self.spaced and self.unit else ''}{self.unit}"


@dataclass(frozen=True, slots=True)
class PanelSpec:
    title: str
    queries: tuple[str, ...]  # one, or two (see pair)
    pair: str  # one of PAIRS; only meaningful with two queries
    labels: tuple[str, str]  # short names of the two series ("rd", "wr"); "" for none
    unit: str  # one of UNITS
    low: float | None  # sparkline range; None: from the data (0 and the largest value seen)
    high: float | None
    colours: tuple[Rgb, Rgb]  # first and second series
    where: str  # the config key it came from, for log lines: "sources.dash.panels[2]"


@dataclass(frozen=True, slots=True)
class DashboardOptions:
    url: str  # Prometheus base URL, without /api/v1
    panels: tuple[PanelSpec, ...]
    query_interval_s: float
    timeout_s: float
    history: int  # sparkline length in query rounds
    page_s: float  # when the panels do not fit the display, each page shows this long


def _number(value: float) -> str:
    """Two or three significant digits: "1.5", "15", "152"; whole numbers without a decimal point."""
    if value == int(value):
        return str(int(value))
    return f"{value:.1f}" if abs(value) < 9.95 else f"{value:.0f}"


def _factor(value: float, unit: str) -> tuple[float, str]:
    """(divisor, unit text) putting abs(value) in the unit's readable range: under 1000 where a prefix exists."""
    scale = SCALES[unit]
    if unit == "seconds":
        if value == 0:
            return 1.0, "s"
        return next(((step, name) for step, name in SECOND_STEPS if abs(value) >= step), SECOND_STEPS[-1])
    factor, index = 1.0, 0
    if scale.base:
        while abs(value) / factor >= 1000 and index + 1 < len(scale.prefixes):
            factor *= scale.base
            index += 1
    return factor, scale.prefixes[index] + scale.suffix


def format_value(value: float, unit: str) -> Reading:
    """`value` (in the unit's base: bytes, seconds, watts...) as the panel prints it."""
    if not math.isfinite(value):  # a query of two that had no answer
        return Reading("\u2013", SCALES[unit].suffix, SCALES[unit].spaced)
    factor, text = _factor(value, unit)
    return Reading(_number(value / factor), text, SCALES[unit].spaced)


def format_share(part: float, whole: float, unit: str) -> Reading:
    """ "5.1 / 15.6 GB": both numbers in the whole's prefix, so they compare at a glance."""
    factor, text = _factor(whole, unit) if math.isfinite(whole) else (1.0, SCALES[unit].suffix)
    numbers = (_number(v / factor) if math.isfinite(v) else "\u2013" for v in (part, whole))
    return Reading(" / ".join(numbers), text, SCALES[unit].spaced)


def _colour(t: Table, key: str, default: str) -> Rgb:
    expected = "a colour name (" + ", ".join(COLOURS) + ') or "#rrggbb"'
    value = t.get(key, str, expected, default)
    if value in COLOURS:
        return COLOURS[value]
    if not HEX_COLOUR.fullmatch(value):
        t.fail(key, expected, value)
    return snap_colour((int(value[1:3], 16), int(value[3:5], 16), int(value[5:7], 16)))


def _query(t: Table, key: str, selector: str, default: Any = ...) -> str | None:
    value = t.get(key, str, "a PromQL expression", default)
    if value is None:
        return None
    if not value.strip():
        t.fail(key, "a PromQL expression", value)
    if selector:
        return str(value).replace(SELECTOR_PLACEHOLDER, selector)
    # No selector: drop the placeholder with its comma or braces, so logs show the PromQL one would write.
    return str(value).replace("," + SELECTOR_PLACEHOLDER, "").replace("{" + SELECTOR_PLACEHOLDER + "}", "")


def read_panel(t: Table, selector: str) -> PanelSpec:
    """One panel table (from config or a preset), checked key by key."""
    t.check_keys(PANEL_KEYS)
    title = t.get("title", str, f"a title of 1-{MAX_TITLE} characters")
    if not 0 < len(title) <= MAX_TITLE:
        t.fail("title", f"a title of 1-{MAX_TITLE} characters", title)
    queries = tuple(q for q in (_query(t, "query", selector), _query(t, "query2", selector, None)) if q is not None)
    pair = t.choice("pair", PAIRS, "series")
    if "pair" in t.data and len(queries) == 1:
        t.fail("pair", "a query2 beside it", "no query2")
    labels = t.get("labels", list, f"two labels of at most {MAX_LABEL} characters", ["", ""])
    if len(labels) != 2 or not all(isinstance(s, str) and len(s) <= MAX_LABEL for s in labels):
        t.fail("labels", f"two labels of at most {MAX_LABEL} characters", labels)
    unit = t.choice("unit", UNITS, "count")
    low = t.number("min", -1e18, 1e18) if "min" in t.data else None
    high = t.number("max", -1e18, 1e18) if "max" in t.data else None
    if unit == "percent":
        low, high = (0.0 if low is None else low), (100.0 if high is None else high)
    if low is not None and high is not None and not low < high:
        t.fail("max", f"a number above min ({low})", high)
    return PanelSpec(
        title=title,
        queries=queries,
        pair=pair,
        labels=(labels[0], labels[1]),
        unit=unit,
        low=low,
        high=high,
        colours=(_colour(t, "colour", "cyan"), _colour(t, "colour2", "orange")),
        where=t.prefix,
    )


def read_options(source: Source) -> DashboardOptions:
    """The dashboard a [sources.<name>] table describes: a preset's panels, then its own [[...panels]]."""
    t = source.options
    t.check_keys(SOURCE_KEYS | OPTION_KEYS)
    url = t.get("url", str, 'an http(s) URL like "http://127.0.0.1:9090"', "http://127.0.0.1:9090")
    if not re.fullmatch(r"https?://[^\s/]+(/\S*)?", url):
        t.fail("url", 'an http(s) URL like "http://127.0.0.1:9090"', url)
    selector = t.get("selector", str, "label matchers like 'instance=\"pc:9100\"'", "")
    raw_panels = t.get("panels", list, "a list of [[panels]] tables", [])
    # Without panels of its own a dashboard shows the pipeline itself.
    preset = t.choice("preset", tuple(PRESETS)) if "preset" in t.data else (None if raw_panels else "tftstream")
    panels = [
        read_panel(Table(t.path, f"preset {preset!r} panels[{i}]", dict(entry)), selector)
        for i, entry in enumerate(PRESETS[preset] if preset else ())
    ]
    panels += [
        read_panel(Table(t.path, f"{t.prefix}.panels[{i}]", entry), selector) for i, entry in enumerate(raw_panels)
    ]
    interval = t.number("query_interval_s", 0.1, 3600, 5.0)
    return DashboardOptions(
        url=url.rstrip("/"),
        panels=tuple(panels),
        query_interval_s=interval,
        timeout_s=t.number("timeout_s", 0.1, 60, min(3.0, interval)),
        history=t.integer("history", 2, 1000, 60),
        page_s=t.number("page_s", 1, 3600, 8.0),
    )
