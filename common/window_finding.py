"""Which window to follow (`WindowQuery`), and the one interface every platform's window finder has.

A finder answers one question per tick: where on the screen is the window now (`locate`), or None when
no window matches. What exists:

- Linux/X11: `common/x11_windows.py` (python-xlib), tested on Xvfb.
- Windows, macOS: not implemented; `make_finder` returns a finder whose every answer is the error
  "window capture is not supported on <platform>", shown on the display. A backend there needs only
  `locate` (EnumWindows + GetWindowRect on Windows; CGWindowListCopyWindowInfo on macOS) and `close`.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from typing import Protocol

from common.capture import CaptureError, Rect


@dataclass(frozen=True, slots=True)
class WindowQuery:
    """Every criterion given must match; at least one is given (the config reader makes sure)."""

    title: str | None = None  # substring of the title, ignoring case
    title_regex: re.Pattern[str] | None = None  # re.search in the title
    wm_class: str | None = None  # either part of WM_CLASS (instance or class), ignoring case

    def matches(self, title: str, classes: tuple[str, ...]) -> bool:
        if self.title is not None and self.title.casefold() not in title.casefold():
            return False
        if self.title_regex is not None and not self.title_regex.search(title):
            return False
        return self.wm_class is None or self.wm_class.casefold() in (c.casefold() for c in classes)

    def describe(self) -> str:
        parts = [
            f"{key} {value!r}"
            for key, value in (
                ("title", self.title),
                ("title_regex", self.title_regex and self.title_regex.pattern),
                ("class", self.wm_class),
            )
            if value is not None
        ]
        return " and ".join(parts)


class WindowFinder(Protocol):
    def locate(self, query: WindowQuery) -> Rect | None:
        """The matching window's area on the screen now, None if there is none; CaptureError if it cannot tell."""
        ...

    def close(self) -> None: ...


class UnsupportedFinder:
    """Stands in where no backend exists: the reason is shown on the display instead of a crash."""

    def __init__(self, reason: str) -> None:
        self.reason = reason

    def locate(self, query: WindowQuery) -> Rect | None:
        raise CaptureError(self.reason)

    def close(self) -> None:
        pass


def make_finder(display: str | None) -> WindowFinder:
    if sys.platform.startswith(("linux", "freebsd", "openbsd")):
        try:
            from common.x11_windows import X11Windows
        except ImportError:
            return UnsupportedFinder("window capture needs python-xlib: pip install python-xlib")
        return X11Windows(display)
    return UnsupportedFinder(f"window capture is not supported on {sys.platform}")
