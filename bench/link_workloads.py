"""Reproducible picture sequences for the link bench, drawn once before the run and then played in a loop.

- `dashboard`: the CPU monitor painter fed a seeded random walk of 8 cores' loads and frequency,
  a new sample every picture: bars, the big percentage and the history graph move every frame.
- `terminal`: a log scrolling in a 11 px monospace terminal, antialiased text as a screen grab has
  it: 8 characters appear per picture, a finished line scrolls the screen one row (10 lines/s at
  60 pictures/s), so one picture in ~6 changes nearly every row and the rest change a few glyphs.
- `full_motion`: a moving colour gradient under fresh noise: every pixel changes every picture,
  the worst case (no damage to skip, nothing RUNS can shorten).
- `fade`: the CPU monitor's picture dimming to black over 128 pictures and brightening back (the
  `fade` of bench/workloads.py, there and back so the loop has no jump): every picture recolours
  most of the screen a little, which RECOLOR sends as a colour table (it reads the panel back).
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from bench.workloads import FADE_STEPS, Fade, cpu_monitor
from common.drawing import font
from common.rgb565 import snap_colour

WIDTH, HEIGHT = 320, 240
SEED = 2024


@dataclass(frozen=True, slots=True)
class Workload:
    name: str
    frames: tuple[np.ndarray, ...]  # uint8 RGB (HEIGHT, WIDTH, 3), distinct neighbours, played in a loop


def dashboard(count: int = 240) -> Workload:
    painter = cpu_monitor()
    frames = []
    for _ in range(count):
        painter.update()
        frames.append(np.asarray(painter.draw(WIDTH, HEIGHT).convert("RGB")))
    return Workload("dashboard", tuple(frames))


TERM_BACKGROUND = snap_colour((12, 12, 16))
TERM_TEXT = snap_colour((200, 200, 200))
TERM_TIME = snap_colour((110, 130, 160))
TERM_LEVELS = {
    "INFO": snap_colour((90, 200, 110)),
    "WARN": snap_colour((230, 190, 60)),
    "ERROR": snap_colour((240, 80, 70)),
    "DEBUG": snap_colour((120, 120, 130)),
}
WORDS = (
    *("connect", "frame", "board", "ack", "window", "demand", "encode", "damage", "rect", "runs", "raw", "flush"),
    *("queue", "retry", "socket", "worker", "gamma", "dither", "sample", "render", "cache", "miss", "hit"),
    *("latency", "timeout", "ok", "done", "start", "stop", "bytes", "pixels"),
)


def _log_lines(count: int, columns: int) -> list[list[tuple[str, tuple[int, int, int]]]]:
    """Seeded log lines as coloured segments, each at most `columns` characters."""
    rng = random.Random(SEED)
    lines = []
    for i in range(count):
        level = rng.choices(list(TERM_LEVELS), weights=(70, 15, 5, 10))[0]
        stamp = f"12:{(i // 600) % 60:02d}:{(i // 10) % 60:02d}.{(i * 97) % 1000:03d} "
        words = " ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 8)))
        text = f"{rng.choice(('egress', 'damage', 'color', 'gather'))}: {words}"
        room = columns - len(stamp) - len(level) - 1
        lines.append([(stamp, TERM_TIME), (level + " ", TERM_LEVELS[level]), (text[:room], TERM_TEXT)])
    return lines


def _mono_font(size: int) -> ImageFont.FreeTypeFont:
    try:
        return ImageFont.truetype("DejaVuSansMono.ttf", size)
    except OSError:  # not installed: the built-in font is proportional, good enough for a load figure
        return font(size)


def terminal(count: int = 360, chars_per_frame: int = 8) -> Workload:
    mono = _mono_font(11)
    advance = round(mono.getlength("M"))  # a terminal's cells are whole pixels: 6.625 px glyphs in 7 px cells
    row = 13
    rows, columns = HEIGHT // row, int(WIDTH // advance) - 1
    lines = _log_lines(count, columns)
    screen: list[list[tuple[str, tuple[int, int, int]]]] = lines[:rows]  # starts full: it scrolls at once
    next_line, typed = rows, 0
    frames = []
    for _ in range(count):
        current = lines[next_line % len(lines)]
        length = sum(len(text) for text, _ in current)
        typed = min(length, typed + chars_per_frame)
        if typed == chars_per_frame or typed == min(length, chars_per_frame):  # a new line: scroll one row
            screen = [*screen[1:], []]
        screen[-1] = _cut(current, typed)
        frames.append(_draw_terminal(screen, mono, advance, row))
        if typed == length:
            next_line, typed = next_line + 1, 0
    return Workload("terminal", tuple(frames))


def _cut(segments: list[tuple[str, tuple[int, int, int]]], chars: int) -> list[tuple[str, tuple[int, int, int]]]:
    out = []
    for text, colour in segments:
        if chars <= 0:
            break
        out.append((text[:chars], colour))
        chars -= len(text)
    return out


def _draw_terminal(screen, mono: ImageFont.FreeTypeFont, advance: int, row: int) -> np.ndarray:
    """Each glyph in its own cell, as terminal emulators draw: the same character looks the same anywhere."""
    image = Image.new("RGB", (WIDTH, HEIGHT), TERM_BACKGROUND)
    draw = ImageDraw.Draw(image)
    for y, segments in enumerate(screen):
        column = 0
        for text, colour in segments:
            for char in text:
                draw.text((2 + column * advance, 1 + y * row), char, font=mono, fill=colour)
                column += 1
        if y == len(screen) - 1:  # the cursor
            x = 2 + column * advance
            draw.rectangle((x, 1 + y * row, x + advance - 1, y * row + row - 1), fill=TERM_TEXT)
    return np.asarray(image)


def full_motion(count: int = 60) -> Workload:
    rng = np.random.default_rng(SEED)
    y, x = np.mgrid[0:HEIGHT, 0:WIDTH]
    frames = []
    for i in range(count):
        base = np.stack(((x + 4 * i) % 256, (y + 3 * i) % 256, ((x + y) // 2 + 5 * i) % 256), axis=-1)
        noise = rng.integers(-24, 25, size=base.shape)
        frames.append(np.clip(base + noise, 0, 255).astype(np.uint8))
    return Workload("full-motion", tuple(frames))


def fade() -> Workload:
    dimming = Fade()
    frames = []
    for _ in range(FADE_STEPS + 1):
        dimming.update()
        frames.append(dimming.draw(WIDTH, HEIGHT))
    return Workload("fade", (*frames, *frames[-2:0:-1]))


def all_workloads() -> dict[str, Workload]:
    return {w.name: w for w in (dashboard(), terminal(), full_motion(), fade())}
