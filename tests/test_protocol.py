"""Protocol v1 against the shared vectors: the same files the C++ core's tests read."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from common import protocol
from common.protocol import Ack, DeviceStats, Encoding, Hello, ProtocolError
from devices.reference_display import BoardStream

VECTORS = Path(__file__).parent / "vectors"
DEVICE = json.loads((VECTORS / "device_stream.json").read_text())
HELLOS = json.loads((VECTORS / "hello.json").read_text())
VALID = [v for v in DEVICE if "decoded" in v]


def board_for(vector: dict) -> BoardStream:
    encodings = protocol.mask_to_encodings(vector["encodings"])
    return BoardStream(vector["width"], vector["height"], encodings, vector["max_body"])


def rows(framebuffer: np.ndarray) -> list[str]:
    return [" ".join(f"{v:04x}" for v in row) for row in framebuffer.tolist()]


@pytest.mark.parametrize("vector", DEVICE, ids=lambda v: v["name"])
def test_reference_display_matches_every_device_vector(vector):
    board = board_for(vector)
    stream = bytes.fromhex(vector["hex"])
    if "error" in vector:
        with pytest.raises(ProtocolError) as caught:
            board.feed(stream)
        assert caught.value.code == vector["error"]
        return
    acks = board.feed(stream)
    assert rows(board.framebuffer) == vector["decoded"]["framebuffer"]
    assert acks == vector["decoded"]["acks"]
    assert board.rejected == vector["decoded"]["rejected"]
    assert not board.incomplete


OVERDRAWING = {"two_frames_overdraw", "lz4_small_rect", "jpeg_in_a_rect", "cached_across_frames"}


@pytest.mark.parametrize("vector", VALID, ids=lambda v: v["name"])
def test_every_truncation_of_a_valid_stream_is_incomplete_never_wrong(vector):
    stream = bytes.fromhex(vector["hex"])
    final = vector["decoded"]["framebuffer"]
    for cut in range(len(stream)):
        board = board_for(vector)
        board.feed(stream[:cut])
        written = board.framebuffer
        expected = np.array([[int(v, 16) for v in row.split()] for row in final], np.uint16)
        # Every pixel is either untouched or already the final value, except in streams that draw
        # a pixel twice (a second frame, a copy or recolouring of a picture drawn first, cells over the
        # pixels that put them in the cache, a RECT over it).
        if vector["name"] not in OVERDRAWING and not vector["name"].startswith(("copy_", "recolor_", "cells_")):
            assert np.all((written == 0) | (written == expected)), cut
        board.feed(stream[cut:])
        assert rows(board.framebuffer) == final


@pytest.mark.parametrize("vector", VALID, ids=lambda v: v["name"])
def test_byte_at_a_time_equals_all_at_once(vector):
    board = board_for(vector)
    acks = [seq for byte in bytes.fromhex(vector["hex"]) for seq in board.feed(bytes([byte]))]
    assert rows(board.framebuffer) == vector["decoded"]["framebuffer"]
    assert acks == vector["decoded"]["acks"]


@pytest.mark.parametrize("vector", HELLOS, ids=lambda v: v["name"])
def test_server_parses_every_hello_vector(vector):
    raw = bytes.fromhex(vector["hex"])
    kind, length = protocol.parse_board_header(raw[:3])
    assert kind == protocol.BoardMsg.HELLO and length == len(raw) - 3
    if "error" in vector:
        with pytest.raises(ProtocolError) as caught:
            protocol.parse_hello(raw[3:])
        assert caught.value.code == vector["error"]
        return
    d = vector["decoded"]
    hello = Hello(
        d["width"],
        d["height"],
        frozenset(Encoding[n] for n in d["encodings"]),
        d["max_body"],
        d["display"],
        d["firmware"],
        d["token"].encode(),
    )
    assert protocol.parse_hello(raw[3:]) == hello
    assert protocol.hello(hello) == raw


def test_board_header_rejects_unknown_type_and_oversized_body_before_reading_it():
    with pytest.raises(ProtocolError, match="unknown_type"):
        protocol.parse_board_header(b"GET")
    with pytest.raises(ProtocolError, match="oversized"):
        protocol.parse_board_header(bytes([protocol.BoardMsg.HELLO]) + (161).to_bytes(2, "little"))
    with pytest.raises(ProtocolError, match="oversized"):
        protocol.parse_board_header(bytes([protocol.BoardMsg.KEEPALIVE, 1, 0]))


def test_ack_round_trips_with_and_without_device_stats():
    for ack in (Ack(7), Ack(0xFFFFFFFF, DeviceStats(1200, 3400, 150000, -61))):
        raw = protocol.ack(ack)
        kind, length = protocol.parse_board_header(raw[:3])
        assert kind == protocol.BoardMsg.ACK and length == len(raw) - 3
        assert protocol.parse_ack(raw[3:]) == ack


def test_ack_of_wrong_length_is_bad_length():
    with pytest.raises(ProtocolError, match="bad_length"):
        protocol.parse_ack(b"\x01\x00\x00")


def test_reject_reason_is_truncated_to_fit_a_status_screen():
    raw = protocol.reject("x" * 500)
    assert raw[0] == protocol.ServerMsg.REJECT and int.from_bytes(raw[1:3], "little") == protocol.MAX_REJECT_REASON
