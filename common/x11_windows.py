"""Finding and following one X11 window with python-xlib: EWMH's client list when a window manager
keeps one, else a walk of the window tree (an X server without a window manager, like Xvfb in tests).

Once found, the same window is followed while it stays mapped and matching, so a second window with
a matching title does not steal the display; its area is read every tick (geometry, and its origin
translated to root coordinates), so moves and resizes are followed. Among several matches the topmost
wins. An unmapped (minimized) window counts as not found.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from Xlib import X, error
from Xlib.display import Display
from Xlib.xobject.drawable import Window

from common.capture import CaptureError, Rect, require_display
from common.window_finding import WindowQuery

# Window lists kept by EWMH window managers, preferred first: stacking order lets the topmost match win.
CLIENT_LISTS = ("_NET_CLIENT_LIST_STACKING", "_NET_CLIENT_LIST")


class X11Windows:
    def __init__(self, display_name: str | None) -> None:
        self.display_name = display_name
        self.listed_by: str = ""  # how the last search listed windows: a CLIENT_LISTS name or "tree"
        self._display: Display | None = None
        self._window: Window | None = None

    def locate(self, query: WindowQuery) -> Rect | None:
        try:
            display = self._connect()
            for _ in range(2):  # the followed window may vanish between two requests: search again, once
                if self._window is None or not self._matches(display, self._window, query):
                    self._window = self._search(display, query)
                if self._window is None:
                    return None
                try:
                    return self._area(display, self._window)
                except error.XError:
                    self._window = None
            return None
        except (error.DisplayError, error.ConnectionClosedError, OSError) as failure:
            self.close()
            raise CaptureError(f"window capture: X display {self.display_name or '$DISPLAY'}: {failure}") from None

    def close(self) -> None:
        if self._display is not None:
            with contextlib.suppress(error.ConnectionClosedError, OSError):  # already gone: nothing to release
                self._display.close()
        self._display, self._window = None, None

    def _connect(self) -> Display:
        if self._display is None:
            require_display(self.display_name, "window capture")
            self._display = Display(self.display_name)
        return self._display

    def _matches(self, display: Display, window: Window, query: WindowQuery) -> bool:
        """Viewable and matching now (a title can change); False for a window that no longer exists."""
        try:
            if window.get_attributes().map_state != X.IsViewable:
                return False
            return query.matches(_title(display, window), window.get_wm_class() or ())
        except error.XError:
            return False

    def _search(self, display: Display, query: WindowQuery) -> Window | None:
        return next((w for w in self._topmost_first(display) if self._matches(display, w, query)), None)

    def _topmost_first(self, display: Display) -> Iterator[Window]:
        root = display.screen().root
        for name in CLIENT_LISTS:
            listed = root.get_full_property(display.get_atom(name), X.AnyPropertyType)
            if listed is not None and listed.format == 32:
                self.listed_by = name
                return (display.create_resource_object("window", wid) for wid in reversed(listed.value))
        self.listed_by = "tree"
        return _tree(root)

    def _area(self, display: Display, window: Window) -> Rect:
        geometry = window.get_geometry()
        origin = display.screen().root.translate_coords(window, 0, 0)
        return Rect(origin.x, origin.y, geometry.width, geometry.height)


def _title(display: Display, window: Window) -> str:
    """_NET_WM_NAME (UTF-8, what modern toolkits set) if present, else the legacy WM_NAME."""
    name = window.get_full_text_property(display.get_atom("_NET_WM_NAME"), display.get_atom("UTF8_STRING"))
    if not isinstance(name, str):
        name = window.get_wm_name()
    return name if isinstance(name, str) else ""


def _tree(window: Window) -> Iterator[Window]:
    """Viewable descendants, topmost first: query_tree lists children bottom to top, and a child covers its parent."""
    try:
        children = window.query_tree().children
    except error.XError:  # destroyed while we walk
        return
    for child in reversed(children):
        try:
            viewable = child.get_attributes().map_state == X.IsViewable
        except error.XError:
            continue
        if viewable:
            yield from _tree(child)
            yield child
