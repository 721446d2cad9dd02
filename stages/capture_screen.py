"""Screen region capture source: a monitor, or a box on it, scaled to each display that shows it.

Consumes the screen through mss (XShmGetImage on X11; GDI on Windows, CoreGraphics on macOS) and
produces one RGB picture per display, fitted by `fit` / `align` (common/fitting.py). It grabs once per
tick, and run_source ticks only while a board waits for a newer frame of a display showing it (at most
every interval_s), so the capture rate follows the boards' real frame rate. The bottleneck is the
resampling in draw(), per display: ~5 ms for 640x480 -> 320x240 (Lanczos), against ~1 ms for the grab
and ~0.1 ms for a box captured 1:1 (`python -m bench.capture`); `interval_s` caps the rate.

    [sources.desk]
    kind = "screen"
    interval_s = 0.05        # at most 20 grabs a second
    monitor = 1              # 1.. as mss numbers them; 0 = all monitors as one picture
    box = [0, 0, 800, 600]   # optional [left, top, width, height] relative to the monitor
    fit = "fill"             # fit (letterbox) | fill (crop) | stretch
    align = "top-left"       # center | top | bottom | left | right | top-left | ... (which part stays)
    cursor = true            # draw the mouse cursor: its real image, from X11's XFixes (Linux only)
    display = ":0"           # X display; default: $DISPLAY

An unknown monitor, a box outside it or an unreachable X server is shown on the display as an error
picture and logged once; the stage keeps running and captures again when the cause goes away.
"""

from __future__ import annotations

import logging
import sys
from dataclasses import dataclass

from PIL import Image

from common.capture import (
    RETRY_S,
    CaptureError,
    Placement,
    Rect,
    ScreenGrabber,
    Trouble,
    check_option_keys,
    error_picture,
    is_x11,
    read_placement,
)
from common.config import Source
from common.fitting import fit_picture
from common.source import run_source

KIND = "screen"
BOX_EXPECTED = "[left, top, width, height]: integers, left and top >= 0, width and height >= 1"


@dataclass(frozen=True, slots=True)
class ScreenOptions:
    monitor: int  # 0: all monitors together; 1..: one monitor, as mss numbers them
    box: Rect | None  # relative to the monitor; None: the whole monitor
    cursor: bool
    placement: Placement


def read_options(source: Source) -> ScreenOptions:
    """The source's options, or a ConfigError naming file, key and the expected form."""
    t = source.options
    check_option_keys(source, {"monitor", "box", "cursor"})
    box = None
    if "box" in t.data:
        raw = t.get("box", list, BOX_EXPECTED)
        valid = len(raw) == 4 and all(isinstance(v, int) and not isinstance(v, bool) for v in raw)
        if not valid or min(raw[:2]) < 0 or min(raw[2:]) < 1:
            t.fail("box", BOX_EXPECTED, raw)
        box = Rect(*raw)
    return ScreenOptions(
        monitor=t.integer("monitor", 0, 64, 1),
        box=box,
        cursor=t.get("cursor", bool, "true or false", False),
        placement=read_placement(t),
    )


def capture_area(monitors: list[Rect], monitor: int, box: Rect | None) -> Rect:
    """The screen rectangle to grab: the monitor, or the box on it; CaptureError when there is none."""
    count = len(monitors) - 1  # entry 0 is all monitors together
    if not 0 <= monitor <= count:
        raise CaptureError(f"screen capture: monitor {monitor} not found ({count} monitor{'' if count == 1 else 's'})")
    area = monitors[monitor]
    if box is None:
        return area
    if box.left + box.width > area.width or box.top + box.height > area.height:
        raise CaptureError(
            f"screen capture: box [{box.left}, {box.top}, {box.width}, {box.height}] is outside monitor {monitor}"
            f" ({area.width}x{area.height})"
        )
    return Rect(area.left + box.left, area.top + box.top, box.width, box.height)


class ScreenPainter:
    """Grabs the region on update(); draw() fits the grab to each display, or shows why there is none."""

    def __init__(
        self,
        source: Source,
        grabber: ScreenGrabber | None = None,
        log: logging.Logger | None = None,
        retry_s: float = RETRY_S,
    ) -> None:
        self.options = read_options(source)
        self._grabber = grabber or ScreenGrabber(self.options.placement.display, self.options.cursor)
        self._trouble = Trouble(log or logging.getLogger(f"source_{KIND}"), retry_s)
        self._shot: Image.Image | None = None
        if self.options.cursor and not is_x11():
            self._trouble.log.warning("cursor = true: the cursor is drawn on X11 only, not on %s", sys.platform)

    def update(self) -> None:
        if not self._trouble.due():
            return
        o = self.options
        try:
            self._shot = self._grabber.grab(capture_area(self._grabber.monitors(), o.monitor, o.box))
        except CaptureError as error:
            self._shot = None
            self._grabber.close()  # re-read the monitors next tick: the missing one may be plugged in by then
            self._trouble.report(str(error))
        else:
            self._trouble.clear()

    def draw(self, width: int, height: int) -> Image.Image:
        if self._shot is None:
            return error_picture(width, height, self._trouble.message or "screen capture: no picture yet")
        return fit_picture(self._shot, width, height, self.options.placement.fit, self.options.placement.align)

    def close(self) -> None:
        self._grabber.close()


def main(argv: list[str] | None = None) -> int:
    return run_source(KIND, lambda source: ScreenPainter(source), argv)


if __name__ == "__main__":
    sys.exit(main())
