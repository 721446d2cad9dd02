"""Capture + fit time per frame for the screen and window sources, on an Xvfb this script starts.

    python -m bench.capture [--frames 200] [--size 320x240]

The screen is 640x480 with test pictures on it (tests/xscene.py). Each row times the painter's real
work per tick: `update()` (the grab; for the window source also finding the window and reading its
area) and `draw()` (fitting to the display). Wall-clock milliseconds, median and p95; no pass/fail.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from common.capture import Rect
from common.config import Source, Table
from common.source import Painter
from stages.capture_screen import ScreenPainter
from stages.capture_window import WindowPainter
from tests.xscene import Scene, Xvfb


def source(kind: str, **options: object) -> Source:
    return Source("bench", kind, 0.05, 1.0, 0, Table(Path("bench.toml"), "sources.bench", {"kind": kind, **options}))


def measure(painter: Painter, frames: int, size: tuple[int, int]) -> tuple[list[float], list[float]]:
    grab, fit = [], []
    for _ in range(frames):
        started = time.perf_counter()
        painter.update()
        grabbed = time.perf_counter()
        painter.draw(*size)
        grab.append((grabbed - started) * 1000)
        fit.append((time.perf_counter() - grabbed) * 1000)
    return grab, fit


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=200)
    parser.add_argument("--size", default="320x240")
    args = parser.parse_args()
    width, height = (int(v) for v in args.size.split("x"))
    size = (width, height)
    xserver = Xvfb()
    try:
        scene = Scene(xserver.name)
        scene.picture(Rect(0, 0, 640, 480))
        scene.picture(Rect(100, 80, 400, 300), "bench window")
        cases: dict[str, Painter] = {
            "screen 640x480, fit": ScreenPainter(source("screen", display=xserver.name, fit="fit")),
            "screen 640x480, fill": ScreenPainter(source("screen", display=xserver.name, fit="fill")),
            "screen 640x480, stretch": ScreenPainter(source("screen", display=xserver.name, fit="stretch")),
            f"screen box {size[0]}x{size[1]}, 1:1": ScreenPainter(
                source("screen", display=xserver.name, box=[0, 0, *size], fit="stretch")
            ),
            "screen 640x480 + cursor, fit": ScreenPainter(source("screen", display=xserver.name, cursor=True)),
            "window 400x300, fit": WindowPainter(source("window", display=xserver.name, title="bench window")),
        }
        print(f"{args.frames} frames to {size[0]}x{size[1]}, milliseconds per frame (median / p95)")
        print(f"{'case':34} {'update':>15} {'draw':>15} {'total':>15}")
        for name, painter in cases.items():
            grab, fit = measure(painter, args.frames, size)
            total = [g + f for g, f in zip(grab, fit, strict=True)]
            cells = [
                f"{statistics.median(v):6.2f} / {statistics.quantiles(v, n=20)[-1]:5.2f}" for v in (grab, fit, total)
            ]
            print(f"{name:34} {cells[0]:>15} {cells[1]:>15} {cells[2]:>15}")
        scene.close()
    finally:
        xserver.stop()


if __name__ == "__main__":
    main()
