"""A real X server for capture tests (Xvfb, started and stopped by the test) and known content on it.

Content is windows with solid backgrounds: the X server paints those itself on map, move and expose,
so what is on the screen is exactly known (`Scene.screen()`) without a client drawing loop. Every
colour is an RGB565 level (0 or 255 per channel), so it passes the color stage's dither unchanged.
"""

from __future__ import annotations

import contextlib
import os
import select
import subprocess
import time

import numpy as np
from Xlib import X, Xatom
from Xlib.display import Display
from Xlib.xobject.drawable import Window

from common.capture import Rect
from tests.harness import stop_process

SCREEN = (640, 480)
RED, GREEN, BLUE, WHITE, YELLOW = (255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 255), (255, 255, 0)
QUADRANTS = (RED, GREEN, BLUE, WHITE)  # top-left, top-right, bottom-left, bottom-right


class Xvfb:
    """An Xvfb on a free display number (or the given one), 640x480x24, black root, no TCP."""

    def __init__(self, display: str | None = None, timeout: float = 10.0) -> None:
        read_end, write_end = os.pipe()
        size = f"{SCREEN[0]}x{SCREEN[1]}x24"
        args = ["Xvfb", *([display] if display else []), "-displayfd", str(write_end), "-screen", "0", size]
        self.process = subprocess.Popen(
            [*args, "-nolisten", "tcp", "-br"],
            pass_fds=(write_end,),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        os.close(write_end)
        try:
            announced = _read_line(read_end, timeout)
        finally:
            os.close(read_end)
        number = announced.decode().strip()
        if not announced.endswith(b"\n") or not number.isdigit():
            self.stop()
            raise AssertionError(f"Xvfb did not announce a display within {timeout} s")
        self.name = f":{number}"

    def stop(self) -> None:
        stop_process(self.process)


def _read_line(fd: int, timeout: float) -> bytes:
    """Up to the newline: Xvfb writes the number and the newline apart, and dies if the pipe closes between."""
    deadline = time.monotonic() + timeout
    data = b""
    while not data.endswith(b"\n"):
        ready, _, _ = select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
        chunk = os.read(fd, 16) if ready else b""
        if not chunk:
            break
        data += chunk
    return data


def pixel(rgb: tuple[int, int, int]) -> int:
    return rgb[0] << 16 | rgb[1] << 8 | rgb[2]


def quadrants(width: int, height: int) -> np.ndarray:
    """What a picture window of this size shows: QUADRANTS split at (width // 2, height // 2)."""
    out = np.empty((height, width, 3), np.uint8)
    cx, cy = width // 2, height // 2
    out[:cy, :cx], out[:cy, cx:], out[cy:, :cx], out[cy:, cx:] = QUADRANTS
    return out


class Scene:
    """Picture windows on an X server, and the screen they make. Closing destroys them (the X client goes)."""

    def __init__(self, display_name: str) -> None:
        self.display = Display(display_name)
        self.root = self.display.screen().root
        self.pictures: dict[int, tuple[Window, Rect]] = {}  # window id -> window, area; in stacking order

    def picture(self, rect: Rect, title: str = "", wm_class: tuple[str, str] | None = None) -> Window:
        """A top-level window showing `quadrants`, mapped on top of the others."""
        window = self._window(self.root, Rect(rect.left, rect.top, rect.width, rect.height), YELLOW)
        for _ in QUADRANTS:
            self._window(window, Rect(0, 0, 1, 1), (0, 0, 0))
        if title:
            window.set_wm_name(title.encode("latin-1", "replace"))  # legacy WM_NAME is Latin-1
            utf8 = self.display.get_atom("UTF8_STRING")
            window.change_property(self.display.get_atom("_NET_WM_NAME"), utf8, 8, title.encode())
        if wm_class:
            window.set_wm_class(*wm_class)
        self.pictures[window.id] = (window, rect)
        self.place(window, rect)
        window.map()
        self.sync()
        return window

    def place(self, window: Window, rect: Rect) -> None:
        """Move and resize a picture window; its quadrants follow its new size."""
        window.configure(x=rect.left, y=rect.top, width=rect.width, height=rect.height)
        cx, cy = rect.width // 2, rect.height // 2
        w, h = rect.width, rect.height
        boxes = [(0, 0, cx, cy), (cx, 0, w - cx, cy), (0, cy, cx, h - cy), (cx, cy, w - cx, h - cy)]
        for child, colour, (x, y, bw, bh) in zip(window.query_tree().children, QUADRANTS, boxes, strict=True):
            child.change_attributes(background_pixel=pixel(colour))
            child.configure(x=x, y=y, width=max(1, bw), height=max(1, bh))
            child.map()
            child.clear_area()
        self.pictures[window.id] = (window, rect)
        self.sync()

    def remove(self, window: Window) -> None:
        window.destroy()
        del self.pictures[window.id]
        self.sync()

    def screen(self) -> np.ndarray:
        """The whole screen as the scene made it: black root, pictures in stacking order."""
        out = np.zeros((SCREEN[1], SCREEN[0], 3), np.uint8)
        for _, rect in self.pictures.values():
            visible = rect.intersection(Rect(0, 0, *SCREEN))
            if visible is not None:
                dx, dy = visible.left - rect.left, visible.top - rect.top
                out[visible.top : visible.top + visible.height, visible.left : visible.left + visible.width] = (
                    quadrants(rect.width, rect.height)[dy : dy + visible.height, dx : dx + visible.width]
                )
        return out

    def set_client_list(self, windows: list[Window] | None) -> None:
        """Play a window manager's part: publish (or withdraw) EWMH's _NET_CLIENT_LIST on the root."""
        atom = self.display.get_atom("_NET_CLIENT_LIST")
        if windows is None:
            self.root.delete_property(atom)
        else:
            self.root.change_property(atom, Xatom.WINDOW, 32, [w.id for w in windows])
        self.sync()

    def warp_pointer(self, x: int, y: int) -> None:
        self.root.warp_pointer(x, y)
        self.sync()

    def sync(self) -> None:
        self.display.sync()

    def close(self) -> None:
        with contextlib.suppress(Exception):  # the server may be gone already; its windows went with it
            self.set_client_list(None)
            self.display.close()

    def _window(self, parent: Window, rect: Rect, colour: tuple[int, int, int]) -> Window:
        return parent.create_window(
            rect.left,
            rect.top,
            rect.width,
            rect.height,
            0,
            self.display.screen().root_depth,
            X.InputOutput,
            X.CopyFromParent,
            background_pixel=pixel(colour),
        )
