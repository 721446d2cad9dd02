"""FrameSender, the source SDK: unchanged pictures cost nothing, refreshes repeat the same frame,
a busy pipeline drops and counts instead of blocking. Over a real PUSH/PULL pair."""

from __future__ import annotations

import sys
import time

import numpy as np
import pytest
import zmq
from PIL import Image
from prometheus_client import CollectorRegistry

from common.control import Showing, encode_showing
from common.frames import PixelFormat, decode_frame
from common.source import FrameSender
from tests.harness import Daemon, Ports, metric_value, scrape, wait_for, write_config


@pytest.fixture
def context():
    context = zmq.Context()
    yield context
    context.destroy(linger=0)


def make_pair(context: zmq.Context, hwm: int) -> tuple[zmq.Socket, zmq.Socket]:
    pull = context.socket(zmq.PULL)
    pull.setsockopt(zmq.LINGER, 0)
    pull.setsockopt(zmq.RCVHWM, hwm)
    port = pull.bind_to_random_port("tcp://127.0.0.1")
    push = context.socket(zmq.PUSH)
    push.setsockopt(zmq.LINGER, 0)
    push.setsockopt(zmq.SNDHWM, hwm)
    push.connect(f"tcp://127.0.0.1:{port}")
    return push, pull


@pytest.fixture
def pair(context):
    return make_pair(context, 100)


def receive(pull: zmq.Socket, timeout_ms: int = 2000):
    assert pull.poll(timeout_ms), "nothing arrived"
    return decode_frame(pull.recv_multipart())


def nothing_arrives(pull: zmq.Socket) -> bool:
    return not pull.poll(200)


def test_a_picture_arrives_with_its_display_source_seq_and_geometry(pair):
    push, pull = pair
    sender = FrameSender("clock", push, registry=CollectorRegistry())
    picture = np.arange(4 * 6 * 3, dtype=np.uint8).reshape(4, 6, 3)
    assert sender.send("desk", picture, captured_ns=123)
    header, pixels = receive(pull)
    assert (header.display, header.source, header.seq, header.captured_ns) == ("desk", "clock", 1, 123)
    assert (header.width, header.height, header.pixel_format) == (6, 4, PixelFormat.RGB888)
    assert np.array_equal(pixels, picture)


def test_an_unchanged_picture_is_not_sent_again_until_the_refresh_is_due(pair):
    push, pull = pair
    registry = CollectorRegistry()
    sender = FrameSender("clock", push, refresh_s=0.3, registry=registry)
    picture = np.zeros((4, 4, 3), np.uint8)
    assert sender.send("desk", picture)
    first, _ = receive(pull)
    assert not sender.send("desk", picture.copy())
    assert nothing_arrives(pull)
    time.sleep(0.3)
    assert sender.send("desk", picture)
    refresh, _ = receive(pull)
    assert refresh == first  # same seq and capture time: downstream knows it already has it
    assert registry.get_sample_value("tftstream_source_frames_sent_total", {"source": "clock", "kind": "refresh"}) == 1


def test_a_changed_picture_gets_the_next_seq(pair):
    push, pull = pair
    sender = FrameSender("clock", push, registry=CollectorRegistry())
    seqs = []
    for value in (1, 2, 3):
        assert sender.send("desk", np.full((2, 2, 3), value, np.uint8))
        seqs.append(receive(pull)[0].seq)
    assert seqs == [1, 2, 3]


def test_a_pil_picture_arrives_as_its_rgb_pixels_and_the_same_bytes_in_another_shape_are_new(pair):
    push, pull = pair
    sender = FrameSender("clock", push, registry=CollectorRegistry())
    picture = np.arange(2 * 3 * 3, dtype=np.uint8).reshape(2, 3, 3)
    assert sender.send("desk", Image.fromarray(picture).convert("RGBA"))
    header, pixels = receive(pull)
    assert (header.width, header.height) == (3, 2)
    assert np.array_equal(pixels, picture)
    assert sender.send("desk", picture.reshape(3, 2, 3))
    assert receive(pull)[0].seq == 2


def test_an_array_changed_in_place_is_a_new_picture(pair):
    push, pull = pair
    sender = FrameSender("clock", push, registry=CollectorRegistry())
    picture = np.zeros((2, 2, 3), np.uint8)
    assert sender.send("desk", picture)
    picture[0, 0] = 255
    assert sender.send("desk", picture)
    assert receive(pull)[0].seq == 1
    header, pixels = receive(pull)
    assert header.seq == 2 and pixels[0, 0].tolist() == [255, 255, 255]


def test_a_busy_pipeline_drops_the_picture_and_counts_it_without_blocking(context):
    push, pull = make_pair(context, 1)
    registry = CollectorRegistry()
    sender = FrameSender("clock", push, registry=registry)
    results = [sender.send("desk", np.full((64, 64, 3), i, np.uint8)) for i in range(50)]
    assert not all(results)
    dropped = registry.get_sample_value("tftstream_source_frames_dropped_total", {"source": "clock"})
    assert dropped == results.count(False)
    seqs = []
    while pull.poll(200):
        seqs.append(decode_frame(pull.recv_multipart())[0].seq)
    assert seqs == list(range(1, len(seqs) + 1))  # a dropped picture does not use up a seq


def test_a_source_draws_only_while_a_board_waits_for_a_display_that_shows_it(tmp_path, context):
    """Nobody watching costs nothing: encode_damage's control messages start and stop the drawing.

    Once the source's waiting gauge reads 0 it has drawn its last picture; the test receives every
    picture the source counted as sent, then sees nothing more while the displays stay idle."""
    ports = Ports()
    config = write_config(tmp_path, ports)
    frames = context.socket(zmq.PULL)
    frames.bind(ports.endpoints["sources"])
    control = context.socket(zmq.PUB)
    control.bind(ports.endpoints["control"])
    source = Daemon([sys.executable, "-m", "stages.draw_cpu_monitor", "--config", str(config)], tmp_path / "log")
    metrics_port = ports.metrics["draw_cpu_monitor"]
    received = 0

    def receive(seconds: float) -> int:
        nonlocal received
        count, deadline = 0, time.monotonic() + seconds
        while frames.poll(max(1, int((deadline - time.monotonic()) * 1000))):
            frames.recv_multipart()
            count += 1
        received += count
        return count

    def settle(showing: Showing, waiting: int) -> None:
        """Tell the source until its gauge agrees, then take every picture it sent before."""

        def agreed() -> bool:
            control.send_multipart(encode_showing(showing))
            receive(0.05)
            return scrape_waiting() == waiting

        wait_for(agreed, 20, f"the source to see {showing}")
        sent = sum(scrape_sent(kind) for kind in ("new", "refresh"))
        wait_for(lambda: receive(0.05) >= 0 and received >= sent, 10, f"{sent} pictures")

    def scrape_waiting() -> float:
        return metric_value(scrape(metrics_port), 'tftstream_source_displays_waiting{source="cpu_monitor"}')

    def scrape_sent(kind: str) -> float:
        return metric_value(
            scrape(metrics_port), f'tftstream_source_frames_sent_total{{kind="{kind}",source="cpu_monitor"}}'
        )

    try:
        assert frames.poll(20_000), "no frame before any control message: the configured display wants it"
        settle(Showing("main", "cpu_monitor", 0), waiting=0)
        assert receive(1.5) == 0
        settle(Showing("main", "cpu_monitor", 1), waiting=1)
        assert receive(1.5) > 0
        settle(Showing("main", "bios_screen", 1), waiting=0)
        assert receive(1.5) == 0
    finally:
        source.stop()
