"""gather_frames' renumbering with plain headers, then the stage itself on real sockets, dropping
pictures while its one worker reads nothing."""

from __future__ import annotations

import signal
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pytest
import zmq

from common.frames import FrameHeader, PixelFormat, decode_frame, encode_frame
from stages.gather_frames import PassedSeq
from tests.harness import PATTERN_DISPLAY, Daemon, Ports, metric_value, scrape, wait_for, write_config


def header(seq: int, epoch: int = 1, source: str = "cam") -> FrameHeader:
    return FrameHeader("main", source, epoch, seq, 0, 320, 240, PixelFormat.RGB888)


def test_numbers_pass_unchanged_while_nothing_is_dropped_and_a_resend_keeps_its_number() -> None:
    numbers = PassedSeq()
    assert [numbers.passed(header(seq)).seq for seq in (7, 8, 8, 9)] == [7, 8, 8, 9]


def test_a_picture_dropped_here_leaves_no_gap() -> None:
    numbers = PassedSeq()
    assert numbers.passed(header(1)).seq == 1
    numbers.dropped(header(2))
    numbers.dropped(header(3))
    assert [numbers.passed(header(seq)).seq for seq in (4, 5)] == [2, 3]


def test_a_resend_of_a_dropped_picture_takes_the_number_it_would_have_had() -> None:
    numbers = PassedSeq()
    numbers.passed(header(1))
    numbers.dropped(header(2))
    numbers.dropped(header(2))  # its resend dropped too: still one picture missing
    assert [numbers.passed(header(seq)).seq for seq in (2, 3)] == [2, 3]


def test_a_source_process_is_numbered_from_its_first_picture_and_sources_apart() -> None:
    numbers = PassedSeq()
    numbers.passed(header(1))
    numbers.dropped(header(2))
    assert numbers.passed(header(3)).seq == 2
    assert numbers.passed(header(40, source="other")).seq == 40
    assert numbers.passed(header(5, epoch=2)).seq == 5  # a restarted source: its own seq, nothing to make up
    assert numbers.passed(header(4, source="other", epoch=1)).seq == 4  # new to this stage: numbered as sent


class GatherRig(NamedTuple):
    stage: Daemon
    source: zmq.Socket  # a source's PUSH into gather
    worker: zmq.Socket  # a color worker's PULL, RCVHWM 1: it takes nothing until the test reads
    metrics: int


@pytest.fixture
def gather(tmp_path: Path) -> Iterator[GatherRig]:
    """gather_frames on its own, one worker connected first (so it goes straight into its loop)."""
    ports = Ports()
    config = write_config(tmp_path, ports, PATTERN_DISPLAY, "[sources.pattern]\n")
    context = zmq.Context()
    worker = context.socket(zmq.PULL)
    worker.setsockopt(zmq.RCVHWM, 1)
    worker.setsockopt(zmq.LINGER, 0)
    worker.connect(ports.endpoints["workers"])
    stage = Daemon([sys.executable, "-m", "stages.gather_frames", "--config", str(config)], tmp_path / "log")
    source = context.socket(zmq.PUSH)
    source.setsockopt(zmq.LINGER, 0)
    source.connect(ports.endpoints["sources"])
    metrics = ports.metrics["gather_frames"]
    try:
        wait_for(lambda: stage.http_ready(metrics, "/metrics"), 20, "gather_frames serving metrics")
        yield GatherRig(stage, source, worker, metrics)
    finally:
        stage.stop()
        context.destroy(linger=0)


def test_the_stage_drops_while_its_worker_is_busy_and_numbers_what_it_passes_on_without_gaps(
    gather: GatherRig,
) -> None:
    sent = 60

    def count(name: str) -> float:
        return metric_value(scrape(gather.metrics), f"tftstream_gather_frames_{name}")

    for seq in range(1, sent + 1):
        pixels = np.full((240, 320, 3), seq % 256, np.uint8)
        gather.source.send_multipart(encode_frame(header(seq, source="pattern"), pixels))
    wait_for(lambda: count("in_total") == sent, 20, "every picture received by gather")
    passed = []
    while gather.worker.poll(1000):
        got, pixels = decode_frame(gather.worker.recv_multipart())
        passed.append((got.seq, int(pixels[0, 0, 0])))
    dropped = count('dropped_total{reason="workers_busy"}')
    assert dropped > 0 and len(passed) + dropped == sent
    assert [seq for seq, _ in passed] == list(range(1, len(passed) + 1))
    assert [value for _, value in passed] == sorted(value for _, value in passed)  # the pictures, in order


def test_an_idle_stage_told_to_stop_leaves_its_poll_and_exits(gather: GatherRig) -> None:
    """Idle stages wait in a poll without a timeout (nothing wakes them to look for a stop); the
    signal's byte on ctx.stop_fd ends that wait."""
    gather.source.send_multipart(encode_frame(header(1, source="pattern"), np.zeros((240, 320, 3), np.uint8)))
    assert gather.worker.poll(10_000), "a picture through gather: it is in its loop"
    gather.worker.recv_multipart()
    gather.stage.process.send_signal(signal.SIGTERM)
    assert gather.stage.process.wait(timeout=5) == 0
    assert "stopped" in gather.stage.log.read_text()
