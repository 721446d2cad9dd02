"""Which source a display shows: the rule, its messages, and switching at run time end to end."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from common.control import (
    ATTACHED_TIMEOUT_S,
    Showing,
    SourceChoice,
    Switch,
    decode_showing,
    decode_switch,
    encode_showing,
    encode_switch,
    is_switch,
)
from common.source import AttachedSource
from tests.harness import REPO, BoardThread, Pipeline, Ports, Tap, board_options, wait_for, write_config

BUILTIN = frozenset({"cpu_monitor", "bios_screen"})


def test_a_display_shows_its_configured_source_by_default():
    assert SourceChoice("cpu_monitor", BUILTIN).active_at(0) == "cpu_monitor"


def test_a_builtin_source_sending_does_not_take_a_display():
    choice = SourceChoice("cpu_monitor", BUILTIN)
    choice.heard("bios_screen", now=1)
    assert choice.active_at(1) == "cpu_monitor"


def test_an_attached_source_takes_the_display_until_it_falls_silent():
    choice = SourceChoice("cpu_monitor", BUILTIN)
    choice.heard("clock", now=10)
    assert choice.active_at(10 + ATTACHED_TIMEOUT_S) == "clock"
    assert choice.active_at(10.01 + ATTACHED_TIMEOUT_S) == "cpu_monitor"


def test_the_newest_started_attached_source_wins_however_chatty_the_older_one():
    choice = SourceChoice("cpu_monitor", BUILTIN)
    choice.heard("clock", now=1)
    choice.heard("slides", now=2)
    choice.heard("clock", now=3)
    assert choice.active_at(3) == "slides"


def test_a_switch_overrides_everything_until_auto():
    choice = SourceChoice("cpu_monitor", BUILTIN)
    choice.heard("clock", now=1)
    choice.override = "bios_screen"
    assert choice.active_at(1) == "bios_screen"
    choice.override = None
    assert choice.active_at(1) == "clock"


def test_control_messages_round_trip_and_reject_garbage():
    showing = Showing("main", "clock", 2)
    assert decode_showing(encode_showing(showing)) == showing
    for switch in (Switch("main", "bios_screen"), Switch("main", None)):
        raw = encode_switch(switch)
        assert is_switch(raw) and decode_switch(raw) == switch
    for raw in (b'{"switch": 1}', b'{"switch": {"display": 3, "source": null}}', b'{"switch"'):
        with pytest.raises(ValueError, match="bad switch"):
            decode_switch(raw)


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory):
    directory = tmp_path_factory.mktemp("control")
    ports = Ports()
    config = write_config(directory, ports)
    pipe = Pipeline(directory)
    tap = Tap(ports.endpoints["tap"])
    board = BoardThread(board_options(ports))
    try:
        pipe.wait_running()
        wait_for(lambda: tap.latest_source("main") == "cpu_monitor", 20, "the CPU monitor on main")
        yield config, tap, board
    finally:
        board.close()
        tap.close()
        pipe.stop()


def showing_now(board: BoardThread, tap: Tap, source: str):
    """The board shows a frame that `source` drew, and it is exact."""

    def check() -> bool:
        if tap.latest_source("main") != source or board.framebuffer is None:
            return False
        keys = [k for k in list(tap.order) if k[0] == "main" and tap.sources[k] == source]
        return any(np.array_equal(board.framebuffer, tap.frames[k]) for k in keys[-3:])

    return check


def cli(config, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "cli.switch_source", "--config", str(config), *args],
        capture_output=True,
        text=True,
        timeout=30,
        cwd=REPO,
    )


def test_an_attached_source_takes_the_display_and_gives_it_back_when_it_stops(pipeline):
    config, tap, board = pipeline
    with AttachedSource("clock", config) as clock:
        clock.show("main", np.full((240, 320, 3), (255, 255, 0), np.uint8))  # RGB565-exact: no dither
        wait_for(showing_now(board, tap, "clock"), 10, "main showing the attached clock")
        assert np.all(board.framebuffer == board.framebuffer[0, 0])
    wait_for(showing_now(board, tap, "cpu_monitor"), ATTACHED_TIMEOUT_S + 10, "main back on the CPU monitor")


def test_the_cli_switches_a_display_and_back_without_restarting_anything(pipeline):
    config, tap, board = pipeline
    result = cli(config, "main", "bios_screen")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "main now shows bios_screen"
    wait_for(showing_now(board, tap, "bios_screen"), 10, "main showing the BIOS screen")
    listing = cli(config)
    assert "main: bios_screen" in listing.stdout
    assert cli(config, "main", "auto").returncode == 0
    wait_for(showing_now(board, tap, "cpu_monitor"), 10, "main back on the CPU monitor")


def test_the_cli_names_an_unknown_display(pipeline):
    config, _, _ = pipeline
    result = cli(config, "desk", "bios_screen")
    assert result.returncode == 2
    assert "no display 'desk'" in result.stderr
