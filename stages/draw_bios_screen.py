"""BIOS/POST-style picture source: vendor banner, CPU, memory, detected devices and a live clock.

Consumes the wall clock once per tick (injectable for tests) and produces an RGB picture of any
requested size. Everything but the clock is fixed at construction, so the static part is drawn once
per display size and each tick only copies it and draws eight characters; a tick within the same
second returns an identical picture, which lets downstream stages skip unchanged frames.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

import psutil
from PIL import Image, ImageDraw, ImageFont

from common.drawing import (
    MIN_FONT_PX,
    Box,
    CpuName,
    Rgb,
    draw_text,
    em,
    font,
    line_height,
    text_width,
)
from common.panel_colours import snap_colour
from common.source import run_source

# The palette (VGA's), every colour snapped to one the panel shows exactly: a flat area then passes the color
# stage's dither unchanged and goes out as a few RUNS, not as a 4x4 pattern in RAW. No colour literals elsewhere.
BACKGROUND: Rgb = snap_colour((0, 0, 0))
GREY: Rgb = snap_colour((170, 170, 170))  # VGA light grey: the colour of POST text
WHITE: Rgb = snap_colour((255, 255, 255))
YELLOW: Rgb = snap_colour((255, 255, 85))
CYAN: Rgb = snap_colour((85, 255, 255))
BANNER = "tftstream BIOS v1.0"
COPYRIGHT = "Copyright (C) tftstream project"
FOOTERS = ("Press DEL to enter SETUP", "DEL: SETUP")  # the longest one that fits beside the clock
CLOCK_SAMPLES = ("00:00:00", "--:--:--")  # tabular digits: every hh:mm:ss is as wide as these
MAX_DEVICES = 8


class Device(NamedTuple):
    kind: str  # label column: "Disk", "NIC", ...
    name: str


@dataclass(frozen=True, slots=True)
class BiosLayout:
    font: ImageFont.FreeTypeFont
    pad: int
    rows: tuple[int, ...]  # top y of every text row between banner and footer
    value_x: int  # where values start, right of the widest label
    logo: Box | None  # None when the display is too narrow to spare the room
    clock: Box  # every pixel a clock change can touch lies inside


def detect_devices() -> tuple[Device, ...]:
    """Disks and network interfaces, as a POST screen would list drives and cards."""
    devices: list[Device] = []
    try:
        partitions = psutil.disk_partitions(all=False)
    except OSError:
        partitions = []
    for part in partitions:
        if part.device and all(d.name.split()[0] != part.device for d in devices):
            devices.append(Device("Disk", f"{part.device} {part.fstype}".strip()))
    try:
        nics = sorted(psutil.net_if_addrs())
    except OSError:
        nics = []
    # Loopback is not a device anyone installed ("lo", "lo0", "Loopback Pseudo-Interface 1").
    devices += [Device("NIC", nic) for nic in nics if not nic.lower().startswith("lo")]
    return tuple(devices[:MAX_DEVICES])


@functools.lru_cache(maxsize=16)
def bios_layout(width: int, height: int) -> BiosLayout:
    """A text grid sized from the display: dense like a real POST screen, never below MIN_FONT_PX."""
    f = font(max(MIN_FONT_PX, min(height // 16, width // 20)))
    pad = max(2, min(width, height) // 40)
    step = line_height(f)
    footer_top = height - pad - step
    first = pad + 2 * step + step // 2  # below the two banner lines and a half-line gap
    rows = tuple(range(first, footer_top - step + 1, step))
    value_x = pad + max(text_width(label, f) for label in ("Memory", "Display", "Disk", "CPU")) + em(f)
    logo_side = 2 * step
    banner_w = max(text_width(BANNER, f), text_width(COPYRIGHT, f))
    logo: Box | None = Box(width - pad - logo_side, pad, width - pad, pad + logo_side)
    if width - 2 * pad - banner_w < logo_side + em(f):
        logo = None
    clock_w = max(text_width(s, f) for s in CLOCK_SAMPLES)
    # One pixel of margin each side: anti-aliased glyph edges may reach past their advance box.
    clock = Box(width - pad - clock_w - 1, footer_top, min(width, width - pad + 1), footer_top + step)
    return BiosLayout(f, pad, rows, value_x, logo, clock)


def clock_box(width: int, height: int) -> Box:
    """Where the clock is drawn: the only pixels that change from one second to the next."""
    return bios_layout(width, height).clock


def _draw_logo(draw: ImageDraw.ImageDraw, box: Box) -> None:
    """A chip with pins, standing in for the vendor logo in the top-right corner of POST screens."""
    pin = max(2, box.width // 8)
    body = Box(box.left + pin, box.top + pin, box.right - pin, box.bottom - pin)
    for i in range(1, 4):
        offset = body.width * i // 4
        draw.line((body.left + offset, box.top, body.left + offset, box.bottom - 1), fill=GREY)
        draw.line((box.left, body.top + offset, box.right - 1, body.top + offset), fill=GREY)
    draw.rectangle(body.inclusive, fill=BACKGROUND, outline=CYAN)
    inner = max(1, body.width // 4)
    draw.rectangle((body.left + inner, body.top + inner, body.right - 1 - inner, body.bottom - 1 - inner), fill=CYAN)


class BiosScreenPainter:
    """A POST screen whose only moving part is the clock; draw() is a pure function of the time shown."""

    def __init__(
        self,
        clock: Callable[[], datetime] | None = None,
        cpu_name: str | None = None,
        memory_bytes: int | None = None,
        devices: Sequence[Device] | None = None,
    ) -> None:
        self._clock = clock or datetime.now
        self._cpu_name = CpuName(cpu_name)
        self._memory_bytes = memory_bytes if memory_bytes is not None else psutil.virtual_memory().total
        self._devices = tuple(devices) if devices is not None else detect_devices()
        self._time_text = CLOCK_SAMPLES[1]  # until the first update()
        self._statics: dict[tuple[int, int, str], Image.Image] = {}
        self._frame: tuple[tuple[int, int, str], Image.Image] | None = None

    def update(self) -> None:
        self._time_text = self._clock().strftime("%H:%M:%S")

    def draw(self, width: int, height: int) -> Image.Image:
        key = (width, height, self._time_text)
        if self._frame is None or self._frame[0] != key:
            image = self._static(width, height).copy()
            lay = bios_layout(width, height)
            draw = ImageDraw.Draw(image)
            draw.text((lay.clock.right - 1, lay.clock.top), self._time_text, font=lay.font, fill=WHITE, anchor="ra")
            self._frame = (key, image)
        # A copy, so a caller that draws on the picture cannot corrupt the cached frame.
        return self._frame[1].copy()

    def _items(self, width: int, height: int) -> list[Device]:
        memory = f"{self._memory_bytes // 2**20}M OK"
        return [
            Device("CPU", self._cpu_name.value),
            Device("Memory", memory),
            Device("Display", f"{width}x{height} TFT"),
            *self._devices,
        ]

    def _static(self, width: int, height: int) -> Image.Image:
        """Everything but the clock, drawn once per display size (a process serves a few sizes at most)."""
        key = (width, height, self._cpu_name.value)  # the name may arrive after the first picture
        if key not in self._statics:
            self._statics[key] = self._draw_static(width, height)
        return self._statics[key]

    def _draw_static(self, width: int, height: int) -> Image.Image:
        lay = bios_layout(width, height)
        image = Image.new("RGB", (width, height), BACKGROUND)
        draw = ImageDraw.Draw(image)
        f, pad = lay.font, lay.pad
        banner_w = (lay.logo.left if lay.logo else width - pad) - pad
        draw_text(draw, (pad, pad), BANNER, f, YELLOW, banner_w)
        draw_text(draw, (pad, pad + line_height(f)), COPYRIGHT, f, GREY, banner_w)
        if lay.logo:
            _draw_logo(draw, lay.logo)
        for y, item in zip(lay.rows, self._items(width, height), strict=False):
            draw_text(draw, (pad, y), item.kind, f, GREY)
            draw_text(draw, (lay.value_x - em(f) // 2, y), ":", f, GREY, anchor="ma")
            draw_text(draw, (lay.value_x, y), item.name, f, WHITE, width - pad - lay.value_x)
        room = lay.clock.left - pad - em(f)
        footer = next((text for text in FOOTERS if text_width(text, f) <= room), "")
        draw_text(draw, (pad, lay.clock.top), footer, f, GREY)
        return image


def main(argv: list[str] | None = None) -> int:
    return run_source("bios_screen", lambda _source: BiosScreenPainter(), argv)


if __name__ == "__main__":
    sys.exit(main())
