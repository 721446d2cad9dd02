"""What the screen and window capture sources share: options for placing the picture, the mss grabber,
and the error picture a display shows (with one log line) while capture is impossible.

Capture touches things outside our control (an X server that goes away, a monitor unplugged, a window
closed), so every failure becomes a `CaptureError` whose message the display shows until the cause goes
away; the stage never dies of it. Static mistakes in the config (a wrong type, an unknown fit) are
ConfigErrors instead: the stage exits 2 at start and supervisord shows it FATAL.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import math
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from PIL import Image, ImageDraw, ImageFont

from common.config import SOURCE_KEYS, Source, Table
from common.drawing import Rgb, body_font_size, fit_text, font, line_height
from common.fitting import ALIGNMENTS, FIT_MODES
from common.panel_colours import snap_colour

# RGB565-exact colours and unsmoothed text: the error picture passes the color stage unchanged, so it
# reaches the board pixel-exact (tests check that) and encodes as a few runs.
ERROR_BACKGROUND: Rgb = snap_colour((48, 0, 0))
ERROR_TEXT: Rgb = (255, 255, 255)
PLACEMENT_KEYS = {"fit", "align", "display"}
RETRY_S = 1.0  # while capture fails: soon enough for a person who just fixed it, rare enough to cost nothing


class CaptureError(Exception):
    """Capture is impossible right now; the message is shown on the display and logged once."""


@dataclass(frozen=True, slots=True)
class Rect:
    left: int
    top: int
    width: int
    height: int

    def intersection(self, other: Rect) -> Rect | None:
        left, top = max(self.left, other.left), max(self.top, other.top)
        right = min(self.left + self.width, other.left + other.width)
        bottom = min(self.top + self.height, other.top + other.height)
        return Rect(left, top, right - left, bottom - top) if right > left and bottom > top else None

    def as_monitor(self) -> dict[str, int]:
        return {"left": self.left, "top": self.top, "width": self.width, "height": self.height}


@dataclass(frozen=True, slots=True)
class Placement:
    fit: str  # common.fitting.FIT_MODES
    align: str  # common.fitting.ALIGNMENTS
    display: str | None  # X display name (":0"); None: $DISPLAY. Ignored off Linux.


def read_placement(table: Table) -> Placement:
    display = table.get("display", str, 'an X display name like ":0"', "")
    return Placement(
        fit=table.choice("fit", FIT_MODES, "fit"),
        align=table.choice("align", tuple(ALIGNMENTS), "center"),
        display=display or None,
    )


def check_option_keys(source: Source, own: set[str]) -> None:
    """A typo in an option name is a config error, not a silently ignored setting."""
    source.options.check_keys(SOURCE_KEYS | PLACEMENT_KEYS | own)


class Trouble:
    """The reason capture fails now: logged once when it starts or changes, and once when it ends.

    While it fails, `due()` allows a new attempt only every retry_s: a board waiting for a picture that
    cannot change would otherwise make the source reconnect or walk the window tree every tick.
    """

    def __init__(self, log: logging.Logger, retry_s: float = RETRY_S) -> None:
        self.log, self.retry_s = log, retry_s
        self.message: str | None = None
        self._tried = -math.inf

    def due(self) -> bool:
        now = time.monotonic()
        if self.message is not None and now - self._tried < self.retry_s:
            return False
        self._tried = now
        return True

    def report(self, message: str) -> None:
        if message != self.message:
            self.log.warning("%s", message)
            self.message = message

    def clear(self) -> None:
        if self.message is not None:
            self.log.info("capturing again (was: %s)", self.message)
            self.message = None


def wrap_text(text: str, f: ImageFont.FreeTypeFont, max_width: int) -> list[str]:
    """`text` in lines at most max_width wide: broken at spaces, and inside words too long for a line."""
    lines: list[str] = []
    line = ""
    for word in text.split():
        candidate = f"{line} {word}" if line else word
        if f.getlength(candidate) <= max_width:
            line = candidate
            continue
        if line:
            lines.append(line)
        while len(word) > 1 and f.getlength(word) > max_width:
            cut = next((n for n in range(len(word) - 1, 0, -1) if f.getlength(word[:n]) <= max_width), 1)
            lines.append(word[:cut])
            word = word[cut:]
        line = word
    return [*lines, line] if line else lines


@functools.lru_cache(maxsize=32)
def error_picture(width: int, height: int, message: str) -> Image.Image:
    """The message, wrapped and centred on a dark red picture. Cached (it is redrawn every tick): do not draw on it."""
    f = font(body_font_size(width, height) * 3 // 2)
    pad = max(2, width // 32)
    step = line_height(f)
    lines = wrap_text(message, f, width - 2 * pad)[: max(1, (height - 2 * pad) // step)]
    image = Image.new("RGB", (width, height), ERROR_BACKGROUND)
    draw = ImageDraw.Draw(image)
    draw.fontmode = "1"  # no antialiasing: only the two exact colours
    top = max(pad, (height - step * len(lines)) // 2)
    for i, line in enumerate(lines):
        draw.text(
            (width // 2, top + i * step), fit_text(line, f, width - 2 * pad), font=f, fill=ERROR_TEXT, anchor="ma"
        )
    return image


class ScreenGrabber:
    """mss, opened lazily in the process (and thread) that uses it: mss handles are not fork- or thread-safe.

    Any failure closes the handle, so the next grab reconnects and re-reads the monitors: that is how
    capture comes back after the X server restarts, a monitor is plugged in or the screen is resized.
    """

    def __init__(self, display: str | None, cursor: bool = False) -> None:
        self.display, self.cursor = display, cursor
        self._mss: Any = None

    def _open(self) -> Any:
        if self._mss is None:
            require_display(self.display, "screen capture")
            import mss  # here, not at import: a process that never captures never touches the X server

            kwargs: dict[str, Any] = {"display": self.display, "with_cursor": self.cursor} if is_x11() else {}
            factory = getattr(mss, "MSS", None) or mss.mss  # mss >= 10.2 deprecates mss.mss()
            self._mss = factory(**kwargs)
        return self._mss

    def monitors(self) -> list[Rect]:
        """Index 0: all monitors together; 1..: each monitor, as mss numbers them."""
        monitors = self._guard(lambda sct: sct.monitors)
        return [Rect(m["left"], m["top"], m["width"], m["height"]) for m in monitors]

    def grab(self, rect: Rect) -> Image.Image:
        shot = self._guard(lambda sct: sct.grab(rect.as_monitor()))
        return Image.frombytes("RGB", shot.size, shot.raw, "raw", "BGRX")

    def _guard(self, call: Callable[[Any], Any]) -> Any:
        try:
            return call(self._open())
        except CaptureError:
            raise
        # mss raises ScreenShotError, but also AssertionError and others once the server has gone away:
        # whatever it is, this tick has no picture and the next one starts from a fresh connection.
        except Exception as error:
            self.close()
            where = f"X display {self.display or '$DISPLAY'}: " if is_x11() else ""
            raise CaptureError(f"screen capture: {where}{error or type(error).__name__}") from None

    def close(self) -> None:
        if self._mss is not None:
            with contextlib.suppress(Exception):  # closing a handle to a dead server may fail too: gone anyway
                self._mss.close()
            self._mss = None


def require_display(display: str | None, what: str) -> None:
    """A clear message for a session without X (a service, SSH) instead of the library's "bad display name"."""
    if is_x11() and not (display or os.environ.get("DISPLAY")):
        raise CaptureError(f'{what}: no X display: set DISPLAY, or display = ":0" in the source\'s table')


def is_x11() -> bool:
    return sys.platform.startswith(("linux", "freebsd", "openbsd"))
