"""Reorder with plain values (items named by their seq, a clock stepped by hand), then encode_damage
putting swapped frames back in order on real sockets."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import zmq

from common.frames import FrameHeader, PixelFormat, encode_frame
from common.reorder import Released, Reorder
from tests.harness import PATTERN_DISPLAY, Daemon, Ports, Tap, metric_value, scrape, wait_for, write_config

WINDOW = 0.03


def push(order: Reorder[str], seq: int, now: float = 0.0, epoch: int = 1, source: str = "cam") -> list[Released[str]]:
    return order.push(source, (epoch, seq), f"{source}{epoch}:{seq}", now)


def items(released: list[Released[str]]) -> list[str]:
    return [r.item for r in released]


def test_pictures_in_order_go_at_once() -> None:
    order: Reorder[str] = Reorder(WINDOW)
    assert [push(order, seq) for seq in (1, 2, 3)] == [[Released(f"cam1:{s}", "passed")] for s in (1, 2, 3)]
    assert order.deadline() is None


def test_the_first_picture_of_a_source_process_goes_at_once_whatever_its_seq() -> None:
    order: Reorder[str] = Reorder(WINDOW)
    assert items(push(order, 900)) == ["cam1:900"]
    assert items(push(order, 901)) == ["cam1:901"]


def test_a_swapped_pair_goes_in_order_once_the_earlier_one_comes() -> None:
    order: Reorder[str] = Reorder(WINDOW)
    push(order, 1)
    assert push(order, 3, now=0.001) == []
    assert order.deadline() == 0.001 + WINDOW
    assert push(order, 2, now=0.002) == [Released("cam1:2", "passed"), Released("cam1:3", "reordered")]
    assert order.deadline() is None


def test_pictures_held_behind_one_gap_all_go_in_order_when_it_closes() -> None:
    order: Reorder[str] = Reorder(WINDOW)
    push(order, 1)
    assert push(order, 4) == push(order, 3) == []
    assert items(push(order, 2)) == ["cam1:2", "cam1:3", "cam1:4"]


def test_a_gap_is_given_up_when_the_wait_ends_and_the_missing_picture_then_passes_to_the_caller() -> None:
    order: Reorder[str] = Reorder(WINDOW)
    push(order, 1)
    push(order, 3, now=1.0)
    assert order.expire(1.0 + WINDOW / 2) == []
    assert order.expire(1.0 + WINDOW) == [Released("cam1:3", "gave_up")]
    assert order.deadline() is None
    assert push(order, 2, now=1.1) == [Released("cam1:2", "passed")]  # older than the last: the caller drops it
    assert items(push(order, 4, now=1.1)) == ["cam1:4"]


def test_a_wait_that_ends_takes_the_pictures_before_it_along_in_order() -> None:
    order: Reorder[str] = Reorder(WINDOW)
    push(order, 1)
    push(order, 4, now=0.0)
    push(order, 3, now=0.01)  # waits for 2 until 0.04, but 4's wait ends first
    assert order.expire(WINDOW) == [Released("cam1:3", "gave_up"), Released("cam1:4", "gave_up")]


def test_a_second_gap_keeps_its_own_wait_after_the_first_is_given_up() -> None:
    order: Reorder[str] = Reorder(WINDOW)
    push(order, 1)
    push(order, 3, now=0.0)
    push(order, 5, now=0.02)
    assert items(order.expire(WINDOW)) == ["cam1:3"]
    assert order.deadline() == 0.02 + WINDOW
    assert items(push(order, 4, now=0.03)) == ["cam1:4", "cam1:5"]


def test_repeats_of_a_released_picture_pass_and_of_a_held_one_add_nothing() -> None:
    order: Reorder[str] = Reorder(WINDOW)
    push(order, 1)
    assert items(push(order, 1)) == ["cam1:1"]  # a refresh: the caller counts it as a repeat
    push(order, 3, now=0.0)
    assert push(order, 3, now=0.01) == []
    assert order.deadline() == WINDOW  # the first copy's wait
    assert items(push(order, 2)) == ["cam1:2", "cam1:3"]


def test_a_restarted_source_gives_up_what_its_old_process_left_waiting_then_starts_afresh() -> None:
    order: Reorder[str] = Reorder(WINDOW)
    push(order, 7, epoch=100)
    push(order, 9, epoch=100)
    assert push(order, 1, epoch=200) == [Released("cam100:9", "gave_up"), Released("cam200:1", "passed")]
    assert order.deadline() is None
    assert items(push(order, 8, epoch=100)) == ["cam100:8"]  # the old process's: older, the caller drops it
    assert items(push(order, 2, epoch=200)) == ["cam200:2"]


def test_a_gap_in_one_source_holds_no_other_source() -> None:
    order: Reorder[str] = Reorder(WINDOW)
    push(order, 1, source="cam")
    push(order, 1, source="clock")
    assert push(order, 3, source="cam") == []
    assert items(push(order, 2, source="clock")) == ["clock1:2"]
    assert items(order.expire(WINDOW)) == ["cam1:3"]


def test_the_stage_puts_swapped_frames_back_in_order_and_taps_each_once(tmp_path: Path) -> None:
    """Frames pushed as 3, 2, 5, 4, ...: the tap gets them in seq order; whichever of a pair came too
    late (its wait ended first on a busy machine) is counted stale instead, never tapped out of order."""
    ports = Ports()
    config = write_config(tmp_path, ports, PATTERN_DISPLAY, "[sources.pattern]\n")
    stage = Daemon([sys.executable, "-m", "stages.encode_damage", "--config", str(config)], tmp_path / "log")
    tap = Tap(ports.endpoints["tap"])
    context = zmq.Context()
    frames = context.socket(zmq.PUSH)
    frames.setsockopt(zmq.LINGER, 0)
    frames.connect(ports.endpoints["frames"])
    metrics = ports.metrics["encode_damage"]

    def send(seq: int) -> None:
        header = FrameHeader("main", "pattern", 1, seq, 1000 + seq, 320, 240, PixelFormat.RGB565)
        frames.send_multipart(encode_frame(header, np.full((240, 320), seq, np.uint16)))

    def tapped() -> list[int]:
        seq_of = {key: captured - 1000 for captured, key in list(tap.by_capture.items())}
        return [seq_of[key] for key in list(tap.order)]

    def count(name: str) -> float:
        return metric_value(scrape(metrics), f"tftstream_encode_damage_{name}")

    try:
        wait_for(lambda: stage.http_ready(metrics, "/metrics"), 20, "encode_damage serving metrics")
        warm = iter(range(1, 1000))
        wait_for(lambda: send(next(warm)) or tap.order, 20, "the tap, a late joiner, receiving frames", interval=0.1)
        first = next(warm)
        swapped = [seq for n in range(first, first + 20, 2) for seq in (n + 1, n)]
        for seq in swapped:
            send(seq)

        def accounted() -> bool:
            """Every swapped frame tapped or dropped as stale."""
            return len(set(swapped) & set(tapped())) + count('dropped_total{reason="stale"}') == len(swapped)

        wait_for(accounted, 10, "every frame tapped or counted stale")
        assert tapped() == sorted(set(tapped()))
        outcomes = [count(f'held_frames_total{{outcome="{outcome}"}}') for outcome in ("reordered", "gave_up")]
        assert sum(outcomes) == 10 and outcomes[0] >= 1
    finally:
        stage.stop()
        tap.close()
        context.destroy(linger=0)
