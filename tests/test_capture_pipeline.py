"""Screen and window capture end to end: Xvfb with known content -> capture stage -> pipeline under
supervisord -> reference boards, whose framebuffers must equal what is on the X screen, pixel for pixel.

supervisord.conf starts only the built-in sources, so this test starts the capture stages itself, as
supervisord would (`python -m stages.capture_screen --source NAME`, DISPLAY in the environment).
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from common.capture import Rect, error_picture
from common.rgb565 import pack_rgb565
from tests.harness import REPO, BoardThread, Pipeline, Ports, board_options, stop_process, wait_for, write_config
from tests.xscene import Scene, Xvfb, quadrants

BOX = Rect(40, 30, 320, 240)
TITLE = "tftstream e2e"
DISPLAYS = """
[[displays]]
name = "desk"
width = 320
height = 240
source = "desk"
profile = "panel"

[[displays]]
name = "win"
width = 200
height = 150
source = "term"
profile = "panel"

[[displays]]
name = "bad"
width = 160
height = 128
source = "nowhere"
profile = "panel"
"""
SOURCES = f"""
[sources.desk]
kind = "screen"
interval_s = 0.05
box = [{BOX.left}, {BOX.top}, {BOX.width}, {BOX.height}]
fit = "stretch"

[sources.term]
kind = "window"
interval_s = 0.05
title = "{TITLE}"
fit = "stretch"

[sources.nowhere]
kind = "screen"
interval_s = 0.2
monitor = 5
"""


class StageProcess:
    """A source stage started the way supervisord would, its output in a log file."""

    def __init__(self, module: str, config: Path, source: str, env: dict[str, str]) -> None:
        self.log_path = config.parent / "run" / f"{source}.log"
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", module, "--config", str(config), "--source", source],
                env=env,
                cwd=REPO,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def log(self) -> str:
        return self.log_path.read_text()

    def stop(self) -> None:
        stop_process(self.process)


@dataclass
class Rig:
    scene: Scene
    boards: dict[str, BoardThread]
    stages: dict[str, StageProcess]
    window: object  # the followed X window (python-xlib Window)


@pytest.fixture(scope="module")
def rig(tmp_path_factory):
    directory = tmp_path_factory.mktemp("capture")
    ports = Ports()
    config = write_config(directory, ports, DISPLAYS, SOURCES)
    xserver = Xvfb()
    env = {**os.environ, "PYTHONPATH": str(REPO), "DISPLAY": xserver.name}
    started: list[Pipeline | StageProcess | BoardThread] = []
    try:
        scene = Scene(xserver.name)
        scene.picture(BOX)
        scene.picture(Rect(60, 50, 40, 30))  # the part that moves
        window = scene.picture(Rect(420, 300, 200, 150), TITLE)
        pipeline = Pipeline(directory, env={"DISPLAY": xserver.name})
        started.append(pipeline)
        pipeline.wait_running()
        stages = {
            "desk": StageProcess("stages.capture_screen", config, "desk", env),
            "term": StageProcess("stages.capture_window", config, "term", env),
            "nowhere": StageProcess("stages.capture_screen", config, "nowhere", env),
        }
        started.extend(stages.values())
        sizes = {"desk": (320, 240), "win": (200, 150), "bad": (160, 128)}
        boards = {name: BoardThread(board_options(ports, name, size)) for name, size in sizes.items()}
        started.extend(boards.values())
        yield Rig(scene, boards, stages, window)
    finally:
        for part in reversed(started):  # boards, then stages, then the pipeline
            if isinstance(part, BoardThread):
                part.close()
            else:
                part.stop()
        xserver.stop()


def shows(board: BoardThread, rgb: np.ndarray):
    expected = pack_rgb565(rgb)
    return lambda: board.framebuffer is not None and np.array_equal(board.framebuffer, expected)


def warnings(stage: StageProcess, message: str) -> int:
    return sum(1 for line in stage.log().splitlines() if " WARNING " in line and message in line)


def box_of(screen: np.ndarray) -> np.ndarray:
    return screen[BOX.top : BOX.top + BOX.height, BOX.left : BOX.left + BOX.width]


def test_the_board_shows_the_screen_box_exactly_and_follows_content_that_moves(rig):
    board = rig.boards["desk"]
    wait_for(shows(board, box_of(rig.scene.screen())), 30, "the desk board showing the screen box")
    mover = next(w for w, rect in rig.scene.pictures.values() if rect == Rect(60, 50, 40, 30))
    rig.scene.place(mover, Rect(250, 180, 60, 50))
    wait_for(shows(board, box_of(rig.scene.screen())), 10, "the desk board showing the moved content")


def test_the_board_shows_the_window_exactly_wherever_it_moves(rig):
    board = rig.boards["win"]
    wait_for(shows(board, quadrants(200, 150)), 30, "the win board showing the window")
    rig.scene.place(rig.window, Rect(540, 400, 200, 150))  # partly off screen: the black part proves the move
    half = quadrants(200, 150)
    half[80:, :] = half[:, 100:] = 0
    wait_for(shows(board, half), 10, "the win board showing the window half off screen")
    rig.scene.place(rig.window, Rect(400, 20, 200, 150))
    wait_for(shows(board, quadrants(200, 150)), 10, "the win board showing the window moved back")


def test_a_closed_window_is_shown_as_not_found_and_picked_up_when_it_returns(rig):
    board, stage = rig.boards["win"], rig.stages["term"]
    rig.scene.remove(rig.window)
    message = f"window not found: title '{TITLE}'"
    wait_for(shows(board, np.asarray(error_picture(200, 150, message))), 10, "the win board showing not found")
    wait_for(lambda: message in stage.log(), 5, "the not-found line in the log")
    rig.window = rig.scene.picture(Rect(100, 300, 200, 150), TITLE)
    wait_for(shows(board, quadrants(200, 150)), 10, "the win board showing the window again")
    assert warnings(stage, message) == 1, stage.log()
    assert stage.process.poll() is None


def test_an_unknown_monitor_is_shown_on_the_board_and_logged_once(rig):
    board, stage = rig.boards["bad"], rig.stages["nowhere"]
    message = "screen capture: monitor 5 not found (1 monitor)"
    wait_for(shows(board, np.asarray(error_picture(160, 128, message))), 30, "the bad board showing the message")
    assert warnings(stage, message) == 1
    assert stage.process.poll() is None


def test_a_malformed_option_stops_the_stage_at_start_with_exit_code_2(tmp_path):
    config = write_config(tmp_path, Ports(), DISPLAYS, SOURCES.replace('fit = "stretch"', 'fit = "zoom"', 1))
    result = subprocess.run(
        [sys.executable, "-m", "stages.capture_screen", "--config", str(config), "--source", "desk"],
        env={**os.environ, "PYTHONPATH": str(REPO)},
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert f"{config}: sources.desk.fit: expected one of 'fit', 'fill', 'stretch', got 'zoom'" in result.stderr
