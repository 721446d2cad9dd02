"""Start-up order: each stage lets its input in only once its output reaches the next one, so the
first picture is not lost to a connection still being made; a source offers a first picture the
pipeline did not take again as soon as it can; boards start once the egress listens; the CPU name
is looked up after the start; a knock ends supervisord's first wait. Real sockets on random
loopback ports, stages as processes."""

from __future__ import annotations

import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
import zmq

from common import drawing
from common.drawing import CpuName
from common.frames import decode_frame
from common.knock import knock, make_knocker
from devices.virtual_displays import listening
from tests.harness import REPO, Daemon, Ports, metric_value, scrape, wait_for, write_config

HAS_PROC_NET = Path("/proc/net/tcp").exists()


@pytest.fixture
def context():
    context = zmq.Context()
    yield context
    context.destroy(linger=0)


def test_the_cpu_name_is_looked_up_only_after_the_start(monkeypatch):
    monkeypatch.setattr(drawing, "detect_cpu_name", lambda: "Looked Up")
    name = CpuName(lookup_after_s=0.3)
    assert name.value != "Looked Up"  # a quick guess while the pipeline starts
    wait_for(lambda: name.value == "Looked Up", 5, "the background lookup")
    assert CpuName("Known").value == "Known"


@pytest.mark.skipif(not HAS_PROC_NET, reason="needs Linux's /proc/net/tcp")
def test_listening_sees_a_real_listening_socket_and_not_a_closed_one():
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        port = server.getsockname()[1]
        assert listening(port) is False
        server.listen()
        assert listening(port) is True
    assert listening(port) is False


@pytest.mark.skipif(not (HAS_PROC_NET and socket.has_ipv6), reason="needs Linux and IPv6")
def test_listening_sees_an_ipv6_listener_too():
    with socket.socket(socket.AF_INET6) as server:
        try:
            server.bind(("::1", 0))
        except OSError:
            pytest.skip("no IPv6 loopback here")
        server.listen()
        assert listening(server.getsockname()[1]) is True


@pytest.mark.parametrize(
    ("module", "unneeded"),
    [
        ("stages.draw_cpu_monitor", ("numpy", "cpuinfo")),
        ("stages.draw_bios_screen", ("numpy", "cpuinfo")),
        ("devices.virtual_displays", ("numpy", "zmq", "prometheus_client", "psutil")),
    ],
)
def test_a_program_starting_with_the_pipeline_does_not_import_what_it_needs_only_later(module, unneeded):
    """A dozen programs start on the same cores at once: every import costs the first pixel."""
    code = f"import sys, {module}; print(*sorted({unneeded!r} & sys.modules.keys()))"
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO)
    assert loaded.stdout.split() == []


def stage(name: str, config: Path, log: Path, *args: str) -> Daemon:
    return Daemon([sys.executable, "-m", f"stages.{name}", "--config", str(config), *args], log)


def started(daemon: Daemon, port: int) -> bool:
    return daemon.http_ready(port, "/metrics")


def bound(endpoint: str) -> bool:
    return listening(int(endpoint.rsplit(":", 1)[1])) is True


def counted(port: int, sample: str) -> bool:
    """`sample` is at least 1; the metrics server answers before the stage's loop makes its metrics."""
    text = scrape(port)
    return sample in text and metric_value(text, sample) >= 1


@pytest.mark.skipif(not HAS_PROC_NET, reason="needs Linux's /proc/net/tcp")
def test_the_egress_lets_boards_in_once_encode_damage_takes_demands(tmp_path, context):
    ports = Ports()
    config = write_config(tmp_path, ports)
    egress = stage("serve_boards", config, tmp_path / "log")
    try:
        wait_for(lambda: started(egress, ports.metrics["serve_boards"]), 20, "serve_boards serving metrics")
        time.sleep(0.3)
        assert listening(ports.board) is False, "boards let in while nobody takes their demands"
        demands = context.socket(zmq.PULL)  # encode_damage's end
        demands.bind(ports.endpoints["demands"])
        wait_for(lambda: listening(ports.board), 5, "the egress listening")
    finally:
        egress.stop()
    assert "waiting for encode_damage" in egress.log.read_text()


@pytest.mark.skipif(not HAS_PROC_NET, reason="needs Linux's /proc/net/tcp")
def test_gather_frames_takes_pictures_only_once_a_color_worker_is_there(tmp_path, context):
    ports = Ports()
    config = write_config(tmp_path, ports)
    gather = stage("gather_frames", config, tmp_path / "log")
    try:
        wait_for(lambda: started(gather, ports.metrics["gather_frames"]), 20, "gather_frames serving metrics")
        time.sleep(0.3)
        assert not bound(ports.endpoints["sources"]), "pictures taken while no worker could get them"
        worker = context.socket(zmq.PULL)
        worker.connect(ports.endpoints["workers"])
        wait_for(lambda: bound(ports.endpoints["sources"]), 5, "gather_frames binding its source port")
    finally:
        gather.stop()


def test_a_color_worker_asks_for_pictures_only_once_encode_damage_is_there(tmp_path, context):
    ports = Ports()
    config = write_config(tmp_path, ports)
    workers = context.socket(zmq.PUSH)  # gather_frames' end: writable once a worker is connected
    workers.setsockopt(zmq.LINGER, 0)
    workers.bind(ports.endpoints["workers"])
    color = stage("correct_color", config, tmp_path / "log")
    try:
        wait_for(lambda: started(color, ports.metrics["correct_color"]), 20, "correct_color serving metrics")
        assert not workers.poll(300, zmq.POLLOUT), "a worker took pictures it could not pass on"
        frames = context.socket(zmq.PULL)  # encode_damage's end
        frames.bind(ports.endpoints["frames"])
        assert workers.poll(5000, zmq.POLLOUT), "the worker never connected to gather_frames"
    finally:
        color.stop()


def test_a_first_picture_the_pipeline_missed_goes_as_soon_as_it_can_not_at_the_next_tick(tmp_path, context):
    """The source ticks every 30 s here: its first picture arrives anyway once gather_frames binds."""
    ports = Ports()
    config = write_config(tmp_path, ports)
    text = config.read_text()
    config.write_text(text.replace("[sources.cpu_monitor]\ninterval_s = 0.1", "[sources.cpu_monitor]\ninterval_s = 30"))
    source = stage("draw_cpu_monitor", config, tmp_path / "log")
    metrics_port = ports.metrics["draw_cpu_monitor"]
    dropped = 'tftstream_source_frames_dropped_total{source="cpu_monitor"}'
    try:
        wait_for(lambda: started(source, metrics_port), 20, "the source serving metrics")
        wait_for(lambda: counted(metrics_port, dropped), 10, "the source's first try")
        frames = context.socket(zmq.PULL)  # gather_frames' end, bound only now
        frames.bind(ports.endpoints["sources"])
        assert frames.poll(5000), "the first picture waited for the next tick"
        header, _ = decode_frame(frames.recv_multipart())
        assert (header.display, header.seq) == ("main", 1)
    finally:
        source.stop()


def test_a_knock_connects_once_the_socket_listens_and_gives_up_after_its_timeout():
    with tempfile.TemporaryDirectory() as folder:  # short: unix socket paths have ~100 bytes
        path = Path(folder) / "s.sock"
        path.touch()  # a stale file of an earlier run refuses connections
        server = socket.socket(socket.AF_UNIX)

        def listen_late() -> None:
            time.sleep(0.2)
            path.unlink()
            server.bind(str(path))
            server.listen()

        late = threading.Thread(target=listen_late)
        late.start()
        try:
            assert knock(path, timeout_s=5)
            late.join()
            server.settimeout(1)
            connection, _ = server.accept()
            connection.close()
        finally:
            late.join()
            server.close()
        started = time.monotonic()
        assert not knock(Path(folder) / "missing.sock", timeout_s=0.1)
        assert time.monotonic() - started < 1


def test_supervisord_knocks_on_its_own_unix_socket_through_its_rpcinterface_factory():
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "s.sock"
        server = socket.socket(socket.AF_UNIX)
        server.bind(str(path))
        server.listen()
        servers = [{"family": socket.AF_INET, "host": "127.0.0.1", "port": 1}, {"family": socket.AF_UNIX, "file": path}]
        supervisord = SimpleNamespace(options=SimpleNamespace(server_configs=servers))  # what the factory reads
        try:
            make_knocker(supervisord)
            server.settimeout(5)
            connection, _ = server.accept()
            connection.close()
        finally:
            server.close()
