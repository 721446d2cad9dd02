"""A bad config names the file, the key and what was expected; the stage exits 2 and supervisord
shows it FATAL instead of restarting it forever."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from common.config import ConfigError, load
from tests.harness import REPO, Pipeline, Ports, wait_for, write_config

SHIPPED = REPO / "tftstream.toml"


def test_the_shipped_config_loads():
    config = load(SHIPPED)
    assert [d.name for d in config.displays] == ["main", "side", "square"]  # the firmware envs' names
    assert config.display("main").panel_size == (320, 240)
    assert config.egress.port == 7878 and config.egress.legacy is None


def with_changes(tmp_path: Path, old: str, new: str) -> Path:
    text = SHIPPED.read_text()
    assert old in text
    path = tmp_path / "tftstream.toml"
    path.write_text(text.replace(old, new, 1))
    return path


@pytest.mark.parametrize(
    "old, new, message",
    [
        ("width = 320", 'width = "wide"', "displays[0].width: expected an integer from 8 to 4096, got 'wide'"),
        ("height = 240", "height = 5", "displays[0].height: expected an integer from 8 to 4096, got 5"),
        ('source = "cpu_monitor"', 'source = "cpu"', "displays[0].source: expected one of"),
        ('name = "main"', 'name = "my display"', "displays[0].name: expected a unique name"),
        ("rotation = 0", "rotation = 45", "profiles.panel.rotation: expected 0, 90, 180 or 270, got 45"),
        ("gamma = 1.0", "gamma = true", "profiles.panel.gamma: expected a number from 0.1 to 5.0, got True"),
        ('byte_order = "big"', 'byte_order = "middle"', "profiles.panel.byte_order: expected one of 'big', 'little'"),
        ("white_balance = [1.0, 1.0, 1.0]", "white_balance = [1.0, 1.0]", "profiles.panel.white_balance: expected a"),
        ("port = 7878", "port = 78780", "egress.port: expected an integer from 0 to 65535, got 78780"),
        ("window = 2", "window = 0", "egress.window: expected an integer from 1 to 8, got 0"),
        ('sources = "tcp://127.0.0.1:5550"', 'sources = "127.0.0.1:5550"', "pipeline.sources: expected a ZeroMQ"),
        ("[preview]", "[previews]", "previews: expected one of"),
        ("dither = false", "dithering = false", "profiles.panel.dithering: expected one of"),
        ("port = 8070", "port = 8070\nport = 1", "not valid TOML"),
        ('profile = "panel"', 'profile = "panel"\nlossy_quality = 100', "displays[0].lossy_quality: expected an"),
        (
            'profile = "panel"',
            'profile = "panel"\nread_back = "no"',
            "displays[0].read_back: expected true or false, got 'no'",
        ),
    ],
)
def test_a_bad_value_names_file_key_and_expected_form(tmp_path, old, new, message):
    path = with_changes(tmp_path, old, new)
    with pytest.raises(ConfigError) as caught:
        load(path)
    assert str(caught.value).startswith(f"{path}: ")
    assert message in str(caught.value)


def test_a_missing_file_says_so(tmp_path):
    with pytest.raises(ConfigError, match="nowhere.toml: cannot read: No such file"):
        load(tmp_path / "nowhere.toml")


def test_no_displays_is_an_error(tmp_path):
    path = tmp_path / "tftstream.toml"
    path.write_text("[egress]\nport = 7000\n")
    with pytest.raises(ConfigError, match="displays: expected at least one"):
        load(path)


def test_a_stage_with_a_bad_config_exits_2_with_the_message(tmp_path):
    path = with_changes(tmp_path, "width = 320", "width = 0")
    result = subprocess.run(
        [sys.executable, "-m", "stages.encode_damage", "--config", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO,
    )
    assert result.returncode == 2
    assert f"{path}: displays[0].width: expected an integer from 8 to 4096, got 0" in result.stderr


def test_supervisord_leaves_stages_with_a_bad_config_stopped_instead_of_looping(tmp_path):
    ports = Ports()
    write_config(tmp_path, ports)
    config = tmp_path / "tftstream.toml"
    config.write_text(config.read_text().replace("height = 240", "height = -1"))
    pipeline = Pipeline(tmp_path)
    try:
        stopped = {"FATAL", "EXITED"}
        wait_for(lambda: set(pipeline.status().values()) <= stopped, 60, "every program stopped", interval=0.5)
        time.sleep(3)  # longer than supervisord's restart backoff: nothing comes back
        assert set(pipeline.status().values()) <= stopped
        log = pipeline.log("serve_boards")
        assert "displays[0].height: expected an integer from 8 to 4096, got -1" in log
    finally:
        pipeline.stop()
