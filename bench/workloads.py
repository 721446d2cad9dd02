"""Reproducible picture sequences for `python -m bench`: painters (update + draw) built from fixed seeds.

Each workload is what a user of a small TFT sees: the built-in sources ticking, a screen fading out, a
terminal scrolling, a window dragged over a desktop, a photo slideshow and full-motion video. Same seed,
same pictures, on any machine. `motion()` tells what moved in the last tick (source box -> destination),
for measuring what a copy-rectangle encoding would save; a real server would have to detect it.
"""

from __future__ import annotations

import itertools
import math
import random
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import NamedTuple, Protocol, runtime_checkable

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from bench.pipeline import Ticker
from common.config import Source, Table
from common.drawing import font
from common.prometheus_panels import read_options
from common.prometheus_query import Answer
from docs.make_snapshots import NODE_ANSWERS
from stages.draw_bios_screen import BiosScreenPainter, Device
from stages.draw_cpu_monitor import CpuMonitorPainter, CpuSample
from stages.draw_prometheus import PrometheusPainter

SEED = 2024
CORES = 8
FADE_STEPS = 128
LINE_PX = 12  # terminal line pitch: the 6x11 built-in bitmap font plus one pixel
WINDOW_W, WINDOW_H, DRAG_PX = 160, 120, 6
PHOTO_EVERY = 5  # slideshow: ticks per photo


class Move(NamedTuple):
    """Pixels at (sx, sy, w, h) in the previous picture are at (dx, dy) in this one."""

    sx: int
    sy: int
    w: int
    h: int
    dx: int
    dy: int


@runtime_checkable
class Moving(Protocol):
    def motion(self) -> list[Move]: ...


def cpu_walk(seed: int, cores: int = CORES) -> Callable[[], CpuSample]:
    """A sampler whose per-core loads and frequency take seeded random steps."""
    rng = random.Random(seed)
    loads = [rng.uniform(0, 100) for _ in range(cores)]
    freq = [3000.0]

    def sample() -> CpuSample:
        loads[:] = [min(100.0, max(0.0, v + rng.gauss(0, 10))) for v in loads]
        freq[0] = min(4800.0, max(800.0, freq[0] + rng.gauss(0, 150)))
        return CpuSample(tuple(round(v, 1) for v in loads), sum(loads) / cores, round(freq[0], -1))

    return sample


def ticking_clock(start: datetime) -> Callable[[], datetime]:
    ticks = itertools.count()
    return lambda: start + timedelta(seconds=next(ticks))


def cpu_monitor() -> CpuMonitorPainter:
    return CpuMonitorPainter(sampler=cpu_walk(SEED), cpu_name="Bench CPU 9000")


def bios_screen() -> BiosScreenPainter:
    devices = (Device("Disk", "/dev/nvme0n1p2 ext4"), Device("NIC", "eth0"), Device("NIC", "wlan0"))
    clock = ticking_clock(datetime(2024, 1, 1, 23, 59, 30))
    return BiosScreenPainter(clock=clock, cpu_name="Bench CPU 9000", memory_bytes=16 << 30, devices=devices)


class Dashboard:
    """The Prometheus node_exporter preset answered by docs/make_snapshots.py's values, with an injected clock
    that moves 1 s per tick: one query round per tick, so values and sparklines move every tick."""

    def __init__(self) -> None:
        self.now = 0.0
        table = Table(Path("bench"), "sources.prometheus", {"preset": "node_exporter", "query_interval_s": 1.0})
        options = read_options(Source("prometheus", "prometheus", 1.0, 1.0, 0, table))
        self.painter = PrometheusPainter(options, fetch=self.fetch, clock=lambda: self.now, threaded=False)

    def fetch(self, expr: str) -> Answer:
        value = next((f(int(self.now)) for word, f in NODE_ANSWERS if word in expr), None)
        return Answer("empty") if value is None else Answer("value", value, 1)

    def update(self) -> None:
        self.now += 1.0
        self.painter.update()

    def draw(self, width: int, height: int) -> Image.Image:
        return self.painter.draw(width, height)


class Fade:
    """A dashboard dimming to black: the CPU monitor's picture (frozen after 30 ticks) times (128 - k) / 128,
    k = 0..128, so each channel drops by 1 or 2 of 255 per tick, like a display going to sleep."""

    def __init__(self) -> None:
        self.k = -1
        self.base: np.ndarray | None = None

    def update(self) -> None:
        self.k = min(self.k + 1, FADE_STEPS)

    def draw(self, width: int, height: int) -> np.ndarray:
        if self.base is None or self.base.shape[:2] != (height, width):
            painter = cpu_monitor()
            for _ in range(30):
                painter.update()
            self.base = np.asarray(painter.draw(width, height).convert("RGB"), np.uint16)
        return ((self.base * (FADE_STEPS - self.k) + FADE_STEPS // 2) // FADE_STEPS).astype(np.uint8)


LEVELS = ("INFO", "INFO", "INFO", "INFO", "DEBUG", "WARN", "ERROR")
COLOURS = {"INFO": (229, 229, 229), "DEBUG": (0, 205, 205), "WARN": (205, 205, 0), "ERROR": (205, 0, 0)}
WORDS = ("worker", "queue", "request", "cache", "flush", "retry", "socket", "shard", "index", "commit", "replica")


class Terminal:
    """A log tail in a terminal: xterm colours on black, Pillow's built-in 6x11 bitmap font on a 6x12 grid;
    each tick one seeded log line arrives at the bottom and every line moves up by LINE_PX."""

    def __init__(self) -> None:
        self.rng = random.Random(SEED)
        self.font = ImageFont.load_default_imagefont()
        self.lines: deque[tuple[str, tuple[int, int, int]]] = deque(maxlen=64)
        self.time = datetime(2024, 1, 1, 12, 0, 0)
        self.size = (0, 0)
        for _ in range(40):
            self._add()

    def _add(self) -> None:
        rng = self.rng
        self.time += timedelta(milliseconds=rng.randint(1, 900))
        level = rng.choice(LEVELS)
        words = " ".join(rng.choice(WORDS) for _ in range(rng.randint(2, 6)))
        stamp = f"{self.time:%H:%M:%S}.{self.time.microsecond // 1000:03d}"
        self.lines.append((f"{stamp} {level:<5} {words} id={rng.randint(0, 99999)}", COLOURS[level]))

    def update(self) -> None:
        self._add()

    def draw(self, width: int, height: int) -> Image.Image:
        self.size = (width, height)
        image = Image.new("RGB", (width, height))
        draw = ImageDraw.Draw(image)
        rows = height // LINE_PX
        for row, (text, colour) in enumerate(list(self.lines)[-rows:]):  # the bitmap font is 6 px per character
            draw.text((0, row * LINE_PX), text[: width // 6], fill=colour, font=self.font)
        return image

    def motion(self) -> list[Move]:
        width, height = self.size
        rows = height // LINE_PX
        return [Move(0, LINE_PX, width, (rows - 1) * LINE_PX, 0, 0)] if rows > 1 else []


def gradient(width: int, height: int, a: tuple[float, ...], b: tuple[float, ...], angle: float) -> np.ndarray:
    """float (h, w, 3) linear gradient from colour a to colour b along `angle` (radians)."""
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float64)
    t = xs * math.cos(angle) + ys * math.sin(angle)
    t = (t - t.min()) / max(1e-9, np.ptp(t))
    return np.asarray(a)[None, None, :] * (1 - t[..., None]) + np.asarray(b)[None, None, :] * t[..., None]


def value_noise(rng: np.random.Generator, width: int, height: int, cell: int) -> np.ndarray:
    """float (h, w) in -1..1: random values on a grid of `cell` px, bilinearly interpolated (smooth blobs)."""
    grid = rng.uniform(-1, 1, (height // cell + 2, width // cell + 2))
    image = Image.fromarray(grid.astype(np.float32), "F")
    big = image.resize(((width // cell + 1) * cell, (height // cell + 1) * cell), Image.Resampling.BILINEAR)
    return np.asarray(big)[:height, :width].astype(np.float64)


class Desktop:
    """A 160x120 window (title bar, antialiased text, buttons) dragged 6 px per tick, bouncing between the
    screen's sides, over a static wallpaper (a soft two-colour gradient with gentle blobs)."""

    def __init__(self) -> None:
        self.x, self.y, self.step = 0, 60, DRAG_PX
        self.last: tuple[int, int] | None = None
        self.wallpaper: np.ndarray | None = None
        self.window = self._window()

    @staticmethod
    def _window() -> np.ndarray:
        window = Image.new("RGB", (WINDOW_W, WINDOW_H), (240, 240, 240))
        draw = ImageDraw.Draw(window)
        draw.rectangle((0, 0, WINDOW_W - 1, 17), fill=(53, 132, 228))
        draw.text((6, 2), "notes.txt - Editor", fill=(255, 255, 255), font=font(12))
        for i, line in enumerate(("Groceries:", "- milk, eggs", "- coffee beans", "Call Sam at 5")):
            draw.text((6, 22 + 15 * i), line, fill=(30, 30, 30), font=font(11))
        draw.rectangle((0, 0, WINDOW_W - 1, WINDOW_H - 1), outline=(90, 90, 90))
        for i, label in enumerate(("OK", "Cancel")):
            box = (WINDOW_W - 104 + 52 * i, WINDOW_H - 24, WINDOW_W - 58 + 52 * i, WINDOW_H - 6)
            draw.rounded_rectangle(box, 4, fill=(225, 225, 225), outline=(150, 150, 150))
            draw.text((box[0] + 8, box[1] + 2), label, fill=(20, 20, 20), font=font(11))
        return np.asarray(window)

    def update(self) -> None:
        self.last = (self.x, self.y)
        if not 0 <= self.x + self.step <= 320 - WINDOW_W:
            self.step = -self.step
        self.x += self.step

    def draw(self, width: int, height: int) -> np.ndarray:
        if self.wallpaper is None or self.wallpaper.shape[:2] != (height, width):
            rng = np.random.default_rng(SEED)
            base = gradient(width, height, (30, 60, 110), (120, 70, 140), 0.6)
            blobs = value_noise(rng, width, height, 80) * 18 + value_noise(rng, width, height, 40) * 8
            self.wallpaper = np.clip(base + blobs[..., None], 0, 255).astype(np.uint8)
        picture = self.wallpaper.copy()
        picture[self.y : self.y + WINDOW_H, self.x : self.x + WINDOW_W] = self.window
        return picture

    def motion(self) -> list[Move]:
        return [Move(*self.last, WINDOW_W, WINDOW_H, self.x, self.y)] if self.last else []


def photo(seed: int, width: int, height: int) -> np.ndarray:
    """A photo-like picture: a sky-to-ground gradient, shapes and texture at scales from 64 px down to 2 px
    (value noise, smaller ones fainter) and sensor grain (Gaussian, sigma 5 of 255). Tuned so that zlib-6
    shrinks its RGB565 about as much as two real photos resized to 320x240 (1.3-1.8x): smooth noise alone is
    easier to compress than a photo."""
    rng = np.random.default_rng(seed)
    top, bottom = rng.uniform(40, 220, 3), rng.uniform(20, 200, 3)
    picture = gradient(width, height, tuple(top), tuple(bottom), math.pi / 2 + rng.uniform(-0.4, 0.4))
    for cell, amp in ((64, 45.0), (32, 30.0), (16, 20.0), (8, 16.0), (4, 14.0), (2, 10.0)):
        tint = rng.uniform(0.6, 1.0, 3)
        picture += value_noise(rng, width, height, cell)[..., None] * amp * tint
    picture += rng.normal(0, 5, picture.shape)
    return np.clip(picture, 0, 255).astype(np.uint8)


class Slideshow:
    """A new photo-like picture (photo(), seed per photo) every PHOTO_EVERY ticks; a hard cut, no transition."""

    def __init__(self) -> None:
        self.tick = -1
        self.cached: tuple[int, np.ndarray] | None = None

    def update(self) -> None:
        self.tick += 1

    def draw(self, width: int, height: int) -> np.ndarray:
        index = self.tick // PHOTO_EVERY
        if self.cached is None or self.cached[0] != index:
            self.cached = (index, photo(SEED + index, width, height))
        return self.cached[1]


class Video:
    """Full-motion content: one sine grating per channel, each rotating and drifting every tick, under soft
    shapes sliding across, plus fresh grain every tick (Gaussian, sigma 4 of 255): every pixel changes."""

    def __init__(self) -> None:
        self.tick = -1
        self.rng = np.random.default_rng(SEED)
        self.blobs: np.ndarray | None = None

    def update(self) -> None:
        self.tick += 1

    def draw(self, width: int, height: int) -> np.ndarray:
        t = self.tick
        if self.blobs is None or self.blobs.shape != (height, 2 * width):
            self.blobs = value_noise(np.random.default_rng(SEED), 2 * width, height, 48)
        ys, xs = np.mgrid[0:height, 0:width].astype(np.float64)
        picture = np.empty((height, width, 3))
        for c, (period, speed) in enumerate(((90.0, 0.05), (70.0, -0.04), (110.0, 0.03))):
            angle = c * 2.1 + speed * t
            u = (xs - width / 2) * math.cos(angle) + (ys - height / 2) * math.sin(angle)
            picture[..., c] = 128 + 90 * np.sin(2 * math.pi * u / period + 0.3 * t)
        shift = (4 * t) % width
        picture += 40 * self.blobs[:, shift : shift + width, None]
        picture += self.rng.normal(0, 4, picture.shape)
        return np.clip(picture, 0, 255).astype(np.uint8)


@dataclass(frozen=True)
class Workload:
    name: str
    frames: int  # default number of ticks
    make: Callable[[], Ticker]
    what: str


WORKLOADS = (
    Workload("cpu_monitor", 100, cpu_monitor, "CPU monitor, seeded random walk of 8 cores' loads"),
    Workload("bios_screen", 100, bios_screen, "BIOS screen, clock +1 s per tick"),
    Workload("prometheus", 100, Dashboard, "Prometheus node_exporter dashboard, new values each tick"),
    Workload("fade", FADE_STEPS + 1, Fade, "CPU monitor picture dimming to black over 128 steps"),
    Workload("terminal", 100, Terminal, "log tail scrolling one 12 px line per tick"),
    Workload("window_drag", 60, Desktop, "160x120 window dragged 6 px per tick over a wallpaper"),
    Workload("slideshow", 60, Slideshow, f"photo-like pictures, a new one every {PHOTO_EVERY} ticks"),
    Workload("video", 40, Video, "rotating gratings + sliding shapes + grain, every pixel changes"),
)
