"""Render every built-in source at every display size, as the panel shows it, into docs/snapshots/.

    python -m docs.make_snapshots      (or: python docs/make_snapshots.py)

Each painter gets fixed samples, a fixed clock and (the Prometheus dashboard) fixed answers, so the
pictures change only when drawing code does. Each picture goes through the real color stage with the
default profile (dither on) and back from RGB565 to RGB888: the PNG shows exactly the colours a panel
shows, dither patterns included. Files: docs/snapshots/<source>_<width>x<height>.png.
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

if __name__ == "__main__" and not __package__:  # run as a file: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

from common.config import ColorProfile, Display, Source, Table  # noqa: E402
from common.prometheus_panels import read_options  # noqa: E402
from common.prometheus_query import Answer  # noqa: E402
from common.rgb565 import expand_rgb565  # noqa: E402
from common.source import Painter  # noqa: E402
from stages.correct_color import ColorCorrector  # noqa: E402
from stages.draw_bios_screen import BiosScreenPainter, Device  # noqa: E402
from stages.draw_cpu_monitor import CpuMonitorPainter, CpuSample  # noqa: E402
from stages.draw_prometheus import PrometheusPainter  # noqa: E402

SIZES = ((320, 240), (240, 240), (160, 128))
OUT = Path(__file__).resolve().parent / "snapshots"
CPU_NAME = "AMD Ryzen 7 5800X 8-Core"
ROUNDS = 60  # samples of history behind each picture


def cpu_monitor() -> CpuMonitorPainter:
    """Eight cores under an uneven load that drifts, so the bars and the graph both have something to show."""
    tick = iter(range(ROUNDS))

    def sample() -> CpuSample:
        t = next(tick)
        cores = tuple(
            round(min(100.0, max(0.0, 45 + 40 * math.sin(t / 7 + core) + 10 * math.sin(t * core))), 1)
            for core in range(8)
        )
        return CpuSample(cores, sum(cores) / len(cores), 4650.0)

    painter = CpuMonitorPainter(sampler=sample, cpu_name=CPU_NAME, history=ROUNDS)
    for _ in range(ROUNDS):
        painter.update()
    return painter


def bios_screen() -> BiosScreenPainter:
    devices = (Device("Disk", "/dev/nvme0n1p2 ext4"), Device("Disk", "/dev/sda1 vfat"), Device("NIC", "eth0"))
    painter = BiosScreenPainter(
        clock=lambda: datetime(2024, 5, 17, 13, 37, 42), cpu_name=CPU_NAME, memory_bytes=32 << 30, devices=devices
    )
    painter.update()
    return painter


# The node_exporter preset's answers: each query matched by a word in it, each value a function of the round.
NODE_ANSWERS: tuple[tuple[str, Callable[[int], float]], ...] = (
    ('node_cpu_seconds_total{mode="idle"}[1m]', lambda t: 37 + 18 * math.sin(t / 6) + 6 * math.sin(t * 1.7)),
    ("MemTotal_bytes - ", lambda t: (5.3 + 0.4 * math.sin(t / 15)) * 2**30),
    ("MemTotal_bytes)", lambda t: 15.6 * 2**30),
    ("disk_read", lambda t: 1.5e6 * (0.2 + math.sin(t / 4) ** 2)),
    ("disk_written", lambda t: 12e6 * (1 + math.sin(t / 9)) / 2),
    ("receive", lambda t: 2.4e6 * (1.2 + math.sin(t / 5)) / 2.2),
    ("transmit", lambda t: 310e3 * (1.2 + math.cos(t / 5)) / 2.2),
    ("node_load1", lambda t: 1.2 + 0.5 * math.sin(t / 8)),
    ("count(", lambda t: 8),
    ("node_filesystem", lambda t: 63.2),
)


def prometheus() -> PrometheusPainter:
    """The node_exporter preset, answered by NODE_ANSWERS, one round per second for ROUNDS seconds."""
    clock = [0.0]

    def fetch(expr: str) -> Answer:
        value = next((f(int(clock[0])) for word, f in NODE_ANSWERS if word in expr), None)
        return Answer("empty") if value is None else Answer("value", value, 1)

    table = Table(Path("snapshot"), "sources.prometheus", {"preset": "node_exporter", "query_interval_s": 1.0})
    options = read_options(Source("prometheus", "prometheus", 1.0, 1.0, 0, table))
    painter = PrometheusPainter(options, fetch=fetch, clock=lambda: clock[0], threaded=False)
    for second in range(ROUNDS):
        clock[0] = float(second)
        painter.update()
    clock[0] = 8 * options.page_s  # the first page, where a small display shows the panels in turns
    painter.update()
    return painter


PAINTERS: dict[str, Callable[[], Painter]] = {
    "cpu_monitor": cpu_monitor,
    "bios_screen": bios_screen,
    "prometheus": prometheus,
}


def as_the_panel_shows(picture: Image.Image, source: str) -> Image.Image:
    """The picture after the color stage (default profile: dithered RGB565), expanded back to RGB888."""
    rgb = np.asarray(picture.convert("RGB"))
    height, width = rgb.shape[:2]
    corrector = ColorCorrector(Display("snapshot", width, height, source, ColorProfile()))
    return Image.fromarray(expand_rgb565(corrector.correct(rgb)), "RGB")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--out", type=Path, default=OUT, help="directory for the PNGs (default: %(default)s)")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    for source, make in PAINTERS.items():
        painter = make()
        for width, height in SIZES:
            path = args.out / f"{source}_{width}x{height}.png"
            as_the_panel_shows(painter.draw(width, height), source).save(path, optimize=True)
            print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
