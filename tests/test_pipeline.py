"""End to end under the shipped supervisord.conf: the CPU monitor through every stage to a board.

Each acknowledged frame on the reference board must equal, pixel for pixel, the RGB565 frame the
color stage produced for the same sequence number (recorded by the tap on encode_damage).
"""

from __future__ import annotations

import time

import numpy as np
import pytest

from tests.harness import (
    BoardThread,
    Pipeline,
    Ports,
    Tap,
    board_options,
    metric_value,
    scrape,
    wait_for,
    write_config,
)


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory):
    directory = tmp_path_factory.mktemp("pipeline")
    ports = Ports()
    write_config(directory, ports)
    pipe = Pipeline(directory)
    tap = Tap(ports.endpoints["tap"])
    try:
        pipe.wait_running()
        yield pipe, ports, tap
    finally:
        tap.close()
        pipe.stop()


@pytest.fixture
def board(pipeline):
    _, ports, _ = pipeline
    b = BoardThread(board_options(ports))
    yield b
    b.close()


def matched_snapshots(board: BoardThread, tap: Tap) -> tuple[int, list[int]]:
    """(frames that equal the tap's frame of the same seq, seqs that equal none)."""
    matched, wrong = 0, []
    for seq, _, framebuffer in list(board.snapshots):
        candidates = tap.by_seq("main", seq)
        if not candidates:
            continue  # the tap subscribed after this frame passed
        if any(np.array_equal(framebuffer, c) for c in candidates):
            matched += 1
        else:
            wrong.append(seq)
    return matched, wrong


def test_board_is_pixel_exact_to_the_color_stage_frame_for_every_acknowledged_seq(pipeline, board):
    _, _, tap = pipeline
    wait_for(lambda: matched_snapshots(board, tap)[0] >= 25, 30, "25 frames checked on the board")
    matched, wrong = matched_snapshots(board, tap)
    assert wrong == []
    assert matched >= 25


def test_frames_reach_the_board_in_order_with_two_color_workers(pipeline, board):
    _, ports, tap = pipeline
    wait_for(lambda: len(board.snapshots) >= 20, 30, "20 frames on the board")
    seqs = [seq for seq, _, _ in board.snapshots]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    tapped = [seq for display, _, seq in tap.order if display == "main"]
    assert tapped == sorted(tapped)
    for worker in (0, 1):
        text = scrape(ports.metrics["correct_color"] + worker)
        assert metric_value(text, "tftstream_correct_color_frames_out_total") > 0, f"worker {worker} idle"


@pytest.mark.parametrize(
    "stage, metric",
    [
        ("gather_frames", "tftstream_gather_frames_in_total"),
        ("correct_color", "tftstream_correct_color_frames_in_total"),
        ("encode_damage", "tftstream_encode_damage_frames_in_total"),
        ("serve_boards", "tftstream_serve_boards_frames_sent_total"),
        ("draw_cpu_monitor", 'tftstream_source_frames_sent_total{kind="new",source="cpu_monitor"}'),
        ("draw_bios_screen", 'tftstream_source_draw_seconds_count{source="bios_screen"}'),
    ],
)
def test_every_stage_serves_its_own_metrics(pipeline, stage, metric):
    _, ports, _ = pipeline
    assert metric in scrape(ports.metrics[stage])


@pytest.mark.parametrize(
    "program", ["draw_cpu_monitor", "gather_frames", "correct_color", "encode_damage", "serve_boards"]
)
def test_a_killed_stage_restarts_and_the_board_is_exact_again_within_5_s(pipeline, board, program):
    pipe, _, tap = pipeline
    wait_for(lambda: matched_snapshots(board, tap)[0] >= 3, 30, "board streaming")
    old_pid = pipe.kill(program)
    killed_at = time.monotonic()
    wait_for(
        lambda: (
            pipe.status().get(f"{program}_0" if program == "correct_color" else program) == "RUNNING"
            and pipe.pid(program) != old_pid
        ),
        10,
        f"{program} restarted",
        interval=0.3,
    )

    def exact_after_kill() -> bool:
        recent = [(seq, fb) for seq, t, fb in list(board.snapshots) if t > killed_at + 0.5]
        return any(any(np.array_equal(fb, c) for c in tap.by_seq("main", seq)) for seq, fb in recent)

    wait_for(exact_after_kill, 5, f"an exact frame within 5 s of killing {program}")
    assert matched_snapshots(board, tap)[1] == []
    # No reconnect storm: the board lost its session only when the egress itself died, and once.
    dropped_sessions = [e for e in board.endings if not e.startswith("cannot connect")]
    assert len(dropped_sessions) == (1 if program == "serve_boards" else 0), board.endings
