"""Big pictures through shared memory: exact pixels, a slot written again told apart, exact errors,
no ring left behind in /dev/shm."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import zmq
from prometheus_client import CollectorRegistry

from common.frames import SHARED, FrameHeader, PixelFormat, SchemaError, open_frame, shared_frame_parts
from common.shared_frames import (
    REFERENCE,
    RING_SLOTS,
    SHARED_MIN_BYTES,
    PictureRing,
    room_for,
    same_machine,
    shared_pixels,
)
from common.source import FrameSender

SHM = Path("/dev/shm")


@pytest.fixture
def ring():
    ring = PictureRing(1000, os.getpid())
    yield ring
    ring.close()


def picture(seed: int, nbytes: int = 1000) -> bytes:
    return np.random.default_rng(seed).integers(0, 256, nbytes, dtype=np.uint8).tobytes()


def test_a_picture_reads_back_exactly_until_its_slot_is_written_again(ring: PictureRing) -> None:
    reference = ring.put(picture(1))
    pixels, intact = shared_pixels(reference, 1000)
    assert bytes(pixels) == picture(1) and intact()
    for seed in range(2, RING_SLOTS + 1):
        ring.put(picture(seed))
    assert intact()  # the other slots
    ring.put(picture(99))  # this slot again
    assert not intact()
    with pytest.raises(SchemaError) as error:
        shared_pixels(reference, 1000)
    assert error.value.reason == "torn"


def test_close_removes_the_ring_and_a_reference_to_it_is_refused() -> None:
    ring = PictureRing(1000, os.getpid())
    name = ring.memory.name
    reference = REFERENCE.pack(name.encode(), 0, 2)
    assert (SHM / name).exists()
    ring.close()
    assert not (SHM / name).exists()
    with pytest.raises(SchemaError) as error:
        shared_pixels(reference, 1000)
    assert (error.value.reason, "its source is gone" in str(error.value)) == ("bad_shared", True)


@pytest.mark.parametrize(
    ("reference", "nbytes", "says"),
    [
        (b"\x00" * 10, 1000, "a 10-byte reference"),
        (REFERENCE.pack(b"psm_0123", 0, 2), 1000, "is not a tftstream picture ring"),
        (REFERENCE.pack(b"../etc/passwd", 0, 2), 1000, "is not a tftstream picture ring"),
        (None, 10**9, "bytes at 0 of a"),
    ],
)
def test_a_bad_reference_says_what_is_wrong(ring: PictureRing, reference, nbytes: int, says: str) -> None:
    reference = reference or REFERENCE.pack(ring.memory.name.encode(), 0, 2)
    with pytest.raises(SchemaError) as error:
        shared_pixels(reference, nbytes)
    assert error.value.reason == "bad_shared" and says in str(error.value)


def test_a_shared_frame_opens_to_the_pixels_of_its_header(ring: PictureRing) -> None:
    rgb = np.arange(20 * 30 * 3, dtype=np.uint8).reshape(20, 30, 3)
    big = PictureRing(rgb.nbytes, os.getpid())
    try:
        header = FrameHeader("main", "screen", 1, 1, 5, 30, 20, PixelFormat.RGB888)
        parts = shared_frame_parts(header, big.put(rgb.tobytes()))
        assert parts[1] == SHARED
        opened, pixels, intact = open_frame(parts)
        assert opened == header and intact()
        np.testing.assert_array_equal(pixels, rgb)
        with pytest.raises(SchemaError) as error:
            open_frame([parts[0], b"other", parts[2]])
        assert error.value.reason == "bad_parts"
    finally:
        big.close()


@pytest.fixture
def sender_and_reader():
    """A FrameSender that shares memory, and the socket its messages arrive on; the sender is closed after."""
    context = zmq.Context()
    pull, push = context.socket(zmq.PULL), context.socket(zmq.PUSH)
    pull.bind("inproc://frames")
    push.connect("inproc://frames")
    sender = FrameSender("screen", push, registry=CollectorRegistry(), shared=True)
    yield sender, pull
    sender.close()
    context.destroy(linger=0)


def test_a_sender_on_this_machine_sends_big_pictures_through_its_ring_and_frees_it_on_close(
    sender_and_reader,
) -> None:
    sender, pull = sender_and_reader
    small = np.full((240, 320, 3), 7, np.uint8)
    big = np.random.default_rng(3).integers(0, 256, (720, 1280, 3), dtype=np.uint8)
    assert small.nbytes < SHARED_MIN_BYTES <= big.nbytes
    assert sender.send("main", small) and len(pull.recv_multipart()) == 2
    assert sender.send("main", big)
    parts = pull.recv_multipart()
    assert parts[1] == SHARED and len(parts[2]) == REFERENCE.size
    np.testing.assert_array_equal(open_frame(parts)[1], big)
    assert sender.ring is not None
    name = sender.ring.memory.name
    sender.close()
    assert not (SHM / name).exists()


def test_a_sender_sends_inline_where_shared_memory_lacks_room(sender_and_reader, monkeypatch) -> None:
    monkeypatch.setattr("common.source.room_for", lambda slot_bytes: False)
    sender, pull = sender_and_reader
    assert sender.send("main", np.zeros((720, 1280, 3), np.uint8))
    assert len(pull.recv_multipart()) == 2 and sender.ring is None
    assert room_for(1000) and not room_for(1 << 50)  # this machine's /dev/shm


def test_only_endpoints_on_this_machine_share_memory() -> None:
    assert same_machine("tcp://127.0.0.1:5550") and same_machine("ipc:///tmp/frames") and same_machine("inproc://x")
    assert not same_machine("tcp://192.168.1.20:5550") and not same_machine("tcp://pc.local:5550")
