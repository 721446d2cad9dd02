"""Window capture source: follows one window by title or class through moves and resizes.

Consumes the window's current area on the screen (common/window_finding.py finds it; on X11 through
python-xlib, EWMH client list or window tree) and grabs that area with mss, the same fast path as the
screen source (XShmGetImage). Produces one RGB picture per display, fitted by `fit` / `align`.

Why the screen area and not the window's own pixels (XGetImage on the window, or Composite): without a
compositing manager X keeps no pixels for covered parts of a window, so the window's own image is no
better than the screen's where it is covered, and Composite redirection would change how every other
program on the desktop is drawn. So a covered part shows what covers it; a part off the screen shows
black. Like every source it ticks only while a board waits, at most every interval_s.

    [sources.term]
    kind = "window"
    interval_s = 0.1
    title = "htop"              # substring of the title, ignoring case; or:
    # title_regex = "^htop .*"  # re.search in the title; or:
    # class = "XTerm"           # either part of WM_CLASS, ignoring case (all given must match)
    fit = "fit"                 # fit (letterbox) | fill (crop) | stretch
    align = "center"
    display = ":0"              # X display; default: $DISPLAY

Platforms: Linux/X11 only (tested on Xvfb). On Windows and macOS the stage runs and the display shows
"window capture is not supported on <platform>"; see common/window_finding.py for the interface a
backend there implements. A missing window shows "window not found: <pattern>" (logged once) and is
picked up again when it returns.
"""

from __future__ import annotations

import logging
import re
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
    read_placement,
)
from common.config import Source
from common.fitting import fit_picture
from common.source import run_source
from common.window_finding import WindowFinder, WindowQuery, make_finder

KIND = "window"
OFF_SCREEN = (0, 0, 0)


@dataclass(frozen=True, slots=True)
class WindowOptions:
    query: WindowQuery
    placement: Placement


def read_options(source: Source) -> WindowOptions:
    """The source's options, or a ConfigError naming file, key and the expected form."""
    t = source.options
    check_option_keys(source, {"title", "title_regex", "class"})
    title = t.get("title", str, "a non-empty string", None)
    regex = t.get("title_regex", str, "a regular expression", None)
    wm_class = t.get("class", str, "a non-empty string", None)
    if title == "" or wm_class == "":
        t.fail("title" if title == "" else "class", "a non-empty string", "")
    if title is None and regex is None and wm_class is None:
        t.fail("title", "a window to follow: title, title_regex or class", "nothing")
    pattern = None
    try:
        pattern = re.compile(regex) if regex is not None else None
    except re.error as problem:
        t.fail("title_regex", f"a regular expression ({problem})", regex)
    return WindowOptions(WindowQuery(title, pattern, wm_class), read_placement(t))


class WindowPainter:
    """Finds the window and grabs its area on update(); draw() fits the grab, or shows why there is none."""

    def __init__(
        self,
        source: Source,
        finder: WindowFinder | None = None,
        grabber: ScreenGrabber | None = None,
        log: logging.Logger | None = None,
        retry_s: float = RETRY_S,
    ) -> None:
        self.options = read_options(source)
        display = self.options.placement.display
        self._finder = finder or make_finder(display)
        self._grabber = grabber or ScreenGrabber(display)
        self._trouble = Trouble(log or logging.getLogger(f"source_{KIND}"), retry_s)
        self._shot: Image.Image | None = None

    def update(self) -> None:
        if not self._trouble.due():
            return
        try:
            area = self._finder.locate(self.options.query)
            if area is None:
                raise CaptureError(f"window not found: {self.options.query.describe()}")
            self._shot = self._grab(area)
        except CaptureError as error:
            self._shot = None
            self._trouble.report(str(error))
        else:
            self._trouble.clear()

    def _grab(self, area: Rect) -> Image.Image:
        """The window's area as a picture of its size; the part beyond the screen edges is OFF_SCREEN."""
        visible = area.intersection(self._grabber.monitors()[0])
        if visible is None:
            raise CaptureError(f"window off screen: {self.options.query.describe()}")
        shot = self._grabber.grab(visible)
        if visible == area:
            return shot
        canvas = Image.new("RGB", (area.width, area.height), OFF_SCREEN)
        canvas.paste(shot, (visible.left - area.left, visible.top - area.top))
        return canvas

    def draw(self, width: int, height: int) -> Image.Image:
        if self._shot is None:
            return error_picture(width, height, self._trouble.message or "window capture: no picture yet")
        return fit_picture(self._shot, width, height, self.options.placement.fit, self.options.placement.align)

    def close(self) -> None:
        self._finder.close()
        self._grabber.close()


def main(argv: list[str] | None = None) -> int:
    return run_source(KIND, lambda source: WindowPainter(source), argv)


if __name__ == "__main__":
    sys.exit(main())
