"""Screen and window capture against a real X server (Xvfb, started here) with known content on it.

The painters run their real backends (mss, python-xlib) and their pictures are compared exactly with
what the scene put on the screen, fitted by the same function; errors become pictures and one log line.
The pipeline end of it is in test_capture_pipeline.py.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from common.capture import ERROR_BACKGROUND, ERROR_TEXT, Rect, error_picture, wrap_text
from common.config import ConfigError, Source, Table
from common.drawing import font
from common.fitting import fit_picture
from common.window_finding import UnsupportedFinder, WindowQuery
from common.x11_windows import X11Windows
from stages.capture_screen import ScreenPainter
from stages.capture_window import WindowPainter
from tests.xscene import SCREEN, Scene, Xvfb, quadrants


def source(kind: str, **options) -> Source:
    table = Table(Path("test.toml"), "sources.desk", {"kind": kind, **options})
    return Source("desk", kind, 0.05, 1.0, 0, table)


def pixels(image: Image.Image) -> np.ndarray:
    return np.asarray(image)


def fitted(rgb: np.ndarray, size: tuple[int, int], fit: str, align: str = "center") -> np.ndarray:
    """What a painter must draw for this known content: the same fitting applied to the exact pixels."""
    return pixels(fit_picture(Image.fromarray(rgb), *size, fit, align))


def warnings_in(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]


@pytest.fixture(scope="module")
def xserver():
    server = Xvfb()
    yield server
    server.stop()


@pytest.fixture
def scene(xserver):
    scene = Scene(xserver.name)
    yield scene
    scene.close()


# Screen


def test_a_box_captured_one_to_one_is_exactly_what_is_on_the_screen(xserver, scene):
    scene.picture(Rect(40, 30, 320, 240))
    painter = ScreenPainter(source("screen", display=xserver.name, box=[40, 30, 320, 240], fit="stretch"))
    painter.update()
    assert np.array_equal(pixels(painter.draw(320, 240)), quadrants(320, 240))


@pytest.mark.parametrize(
    ("monitor", "fit", "align"),
    [(0, "fit", "center"), (1, "fill", "top-left"), (1, "fill", "right"), (1, "stretch", "center")],
)
def test_a_whole_monitor_is_fitted_to_a_display_of_another_shape(xserver, scene, monitor, fit, align):
    scene.picture(Rect(10, 20, 300, 200))
    scene.picture(Rect(400, 100, 200, 360))
    painter = ScreenPainter(source("screen", display=xserver.name, monitor=monitor, fit=fit, align=align))
    painter.update()
    assert np.array_equal(pixels(painter.draw(200, 200)), fitted(scene.screen(), (200, 200), fit, align))


def test_content_that_moves_is_followed_on_the_next_tick(xserver, scene):
    window = scene.picture(Rect(0, 0, 100, 80))
    painter = ScreenPainter(source("screen", display=xserver.name, fit="stretch"))
    painter.update()
    assert np.array_equal(pixels(painter.draw(*SCREEN)), scene.screen())
    scene.place(window, Rect(333, 222, 120, 90))
    painter.update()
    assert np.array_equal(pixels(painter.draw(*SCREEN)), scene.screen())


def test_the_cursor_is_drawn_at_the_pointer_only_when_asked(xserver, scene):
    scene.picture(Rect(0, 0, 640, 480))
    scene.warp_pointer(100, 100)
    shots = {}
    for cursor in (False, True):
        painter = ScreenPainter(source("screen", display=xserver.name, fit="stretch", cursor=cursor))
        painter.update()
        shots[cursor] = pixels(painter.draw(*SCREEN))
    assert np.array_equal(shots[False], scene.screen())
    changed = np.argwhere(np.any(shots[True] != scene.screen(), axis=-1))
    assert len(changed) > 20, "no cursor drawn"
    assert np.all(np.abs(changed - (100, 100)).max(axis=1) < 32), "cursor pixels away from the pointer"


def test_an_unknown_monitor_is_shown_on_the_display_and_logged_once(xserver, caplog):
    painter = ScreenPainter(source("screen", display=xserver.name, monitor=3), retry_s=0)
    for _ in range(3):
        painter.update()
    message = "screen capture: monitor 3 not found (1 monitor)"
    assert np.array_equal(pixels(painter.draw(160, 128)), pixels(error_picture(160, 128, message)))
    assert warnings_in(caplog) == [message]


def test_a_box_outside_the_monitor_is_shown_on_the_display(xserver):
    painter = ScreenPainter(source("screen", display=xserver.name, box=[600, 0, 100, 100]))
    painter.update()
    message = "screen capture: box [600, 0, 100, 100] is outside monitor 1 (640x480)"
    assert np.array_equal(pixels(painter.draw(160, 128)), pixels(error_picture(160, 128, message)))


@pytest.mark.parametrize("kind", ["screen", "window"])
def test_a_session_without_x_says_so_on_the_display(monkeypatch, kind):
    monkeypatch.delenv("DISPLAY", raising=False)
    painter = ScreenPainter(source("screen")) if kind == "screen" else WindowPainter(source("window", title="x"))
    painter.update()
    message = f'{kind} capture: no X display: set DISPLAY, or display = ":0" in the source\'s table'
    assert np.array_equal(pixels(painter.draw(160, 128)), pixels(error_picture(160, 128, message)))


def test_capture_comes_back_when_the_x_server_does(caplog):
    caplog.set_level(logging.INFO, logger="source_screen")
    first = Xvfb()
    name = first.name
    first.stop()
    painter = ScreenPainter(source("screen", display=name, fit="stretch"), retry_s=0)
    painter.update()
    painter.update()
    assert warnings_in(caplog)[0].startswith(f"screen capture: X display {name}: ")
    assert len(warnings_in(caplog)) == 1
    again = Xvfb(name)
    try:
        painter.update()
        assert np.array_equal(pixels(painter.draw(*SCREEN)), np.zeros((SCREEN[1], SCREEN[0], 3), np.uint8))
        assert "capturing again" in caplog.records[-1].getMessage()
    finally:
        painter.close()
        again.stop()


# Window


@pytest.mark.parametrize(
    "options",
    [{"title": "TERMINAL one"}, {"title": "✓"}, {"title_regex": r"^\S+ one"}, {"class": "xterm"}],
    ids=["title ignoring case", "utf-8 title", "regex", "class"],
)
def test_a_window_is_found_by_the_tree_walk_and_captured_exactly(xserver, scene, options):
    scene.picture(Rect(5, 5, 50, 50), "decoy", ("decoy", "Decoy"))
    scene.picture(Rect(200, 100, 200, 150), "terminal one ✓", ("xterm", "XTerm"))
    finder = X11Windows(xserver.name)
    painter = WindowPainter(source("window", display=xserver.name, fit="stretch", **options), finder=finder)
    painter.update()
    assert finder.listed_by == "tree"
    assert np.array_equal(pixels(painter.draw(200, 150)), quadrants(200, 150))


def test_a_window_is_followed_through_moves_and_resizes(xserver, scene):
    window = scene.picture(Rect(10, 10, 200, 150), "follow me")
    painter = WindowPainter(source("window", display=xserver.name, title="follow me", fit="fit"))
    for area in (Rect(10, 10, 200, 150), Rect(300, 250, 200, 150), Rect(50, 60, 321, 101)):
        scene.place(window, area)
        painter.update()
        expected = fitted(quadrants(area.width, area.height), (200, 150), "fit")
        assert np.array_equal(pixels(painter.draw(200, 150)), expected), area


def test_the_followed_window_keeps_the_display_when_another_one_matches(xserver, scene):
    scene.picture(Rect(0, 0, 100, 100), "editor A")
    painter = WindowPainter(source("window", display=xserver.name, title="editor", fit="stretch"))
    painter.update()
    scene.picture(Rect(200, 200, 60, 40), "editor B")  # on top, and smaller: a switch would show
    painter.update()
    assert np.array_equal(pixels(painter.draw(100, 100)), quadrants(100, 100))


def test_a_missing_window_is_shown_as_not_found_and_picked_up_when_it_returns(xserver, scene, caplog):
    painter = WindowPainter(source("window", display=xserver.name, title="comes and goes", fit="stretch"), retry_s=0)
    message = "window not found: title 'comes and goes'"
    for _ in range(3):
        painter.update()
    assert np.array_equal(pixels(painter.draw(120, 90)), pixels(error_picture(120, 90, message)))
    assert warnings_in(caplog) == [message]
    window = scene.picture(Rect(30, 40, 120, 90), "it comes and goes")
    painter.update()
    assert np.array_equal(pixels(painter.draw(120, 90)), quadrants(120, 90))
    scene.remove(window)
    painter.update()
    assert np.array_equal(pixels(painter.draw(120, 90)), pixels(error_picture(120, 90, message)))
    assert warnings_in(caplog) == [message, message]


def test_the_part_of_a_window_beyond_the_screen_edge_is_black(xserver, scene):
    scene.picture(Rect(540, 400, 200, 150), "half out")
    painter = WindowPainter(source("window", display=xserver.name, title="half out", fit="stretch"))
    painter.update()
    expected = quadrants(200, 150)
    expected[80:, :] = 0
    expected[:, 100:] = 0
    assert np.array_equal(pixels(painter.draw(200, 150)), expected)


def test_a_window_managers_client_list_is_used_when_there_is_one(xserver, scene):
    listed = scene.picture(Rect(0, 0, 80, 60), "app")
    scene.picture(Rect(300, 300, 40, 30), "app")  # topmost, but not a client the window manager lists
    scene.set_client_list([listed])
    finder = X11Windows(xserver.name)
    assert finder.locate(WindowQuery(title="app")) == Rect(0, 0, 80, 60)
    assert finder.listed_by == "_NET_CLIENT_LIST"


class CountingFinder:
    def __init__(self) -> None:
        self.calls = 0

    def locate(self, query: WindowQuery) -> Rect | None:
        self.calls += 1
        return None

    def close(self) -> None:
        pass


def test_while_capture_fails_it_is_retried_only_every_retry_s():
    finder = CountingFinder()
    painter = WindowPainter(source("window", title="x"), finder=finder, retry_s=60)
    for _ in range(5):
        painter.update()
    assert finder.calls == 1


def test_a_platform_without_a_backend_shows_why():
    reason = "window capture is not supported on win32"
    painter = WindowPainter(source("window", title="x"), finder=UnsupportedFinder(reason))
    painter.update()
    assert np.array_equal(pixels(painter.draw(160, 128)), pixels(error_picture(160, 128, reason)))


# Config mistakes and the error picture


@pytest.mark.parametrize(
    ("kind", "options", "error"),
    [
        ("screen", {"fit": "zoom"}, "sources.desk.fit: expected one of 'fit', 'fill', 'stretch', got 'zoom'"),
        ("screen", {"align": "middle"}, "sources.desk.align: expected one of 'center'"),
        ("screen", {"monitor": -1}, "sources.desk.monitor: expected an integer from 0 to 64, got -1"),
        ("screen", {"box": [0, 0, 0, 10]}, "sources.desk.box: expected [left, top, width, height]"),
        ("screen", {"box": "all"}, "sources.desk.box: expected [left, top, width, height]"),
        ("screen", {"cursor": "yes"}, "sources.desk.cursor: expected true or false, got 'yes'"),
        ("screen", {"moniter": 2}, "sources.desk.moniter: expected one of "),
        ("window", {}, "sources.desk.title: expected a window to follow: title, title_regex or class, got 'nothing'"),
        ("window", {"title_regex": "("}, "sources.desk.title_regex: expected a regular expression (missing )"),
        ("window", {"class": ""}, "sources.desk.class: expected a non-empty string, got ''"),
    ],
)
def test_a_malformed_option_is_a_config_error_naming_the_key(kind, options, error):
    painter = ScreenPainter if kind == "screen" else WindowPainter
    with pytest.raises(ConfigError) as raised:
        painter(source(kind, **options))
    assert error in str(raised.value)


def test_a_long_message_wraps_at_spaces_and_inside_overlong_words():
    f = font(15)
    message = "window not found: title_regex '^a-very-long-pattern-that-cannot-fit-on-one-line$'"
    lines = wrap_text(message, f, 120)
    assert len(lines) > 2 and all(f.getlength(line) <= 120 for line in lines)
    assert "".join(lines).replace(" ", "") == message.replace(" ", "")


def test_the_error_picture_shows_its_text_in_two_exact_colours():
    one, other = (pixels(error_picture(160, 128, f"window not found: title '{t}'")) for t in ("abc", "abd"))
    assert {tuple(c) for c in one.reshape(-1, 3)} == {ERROR_BACKGROUND, ERROR_TEXT}
    assert not np.array_equal(one, other)
