"""The inter-stage frame schema: round trips, one targeted corruption per SchemaError reason, every truncation."""

from __future__ import annotations

import struct

import numpy as np
import pytest

from common.frames import NAME_LIMIT, REASONS, FrameHeader, PixelFormat, SchemaError, decode_frame, encode_frame

FIXED = struct.Struct("<BBQQQHH")  # version, format, epoch, seq, captured_ns, width, height
RGB888 = FrameHeader(
    "main", "cpu_monitor", 1_700_000_000_000_000_000, 42, 1_700_000_000_123_456_789, 3, 2, PixelFormat.RGB888
)
RGB565 = FrameHeader("side.2", "bios_screen", 7, 2**64 - 1, 0, 3, 2, PixelFormat.RGB565)


def rgb888_pixels() -> np.ndarray:
    return np.arange(2 * 3 * 3, dtype=np.uint8).reshape(2, 3, 3)


def rgb565_pixels() -> np.ndarray:
    return np.array([[0x0000, 0xF800, 0x07E0], [0x001F, 0xFFFF, 0x1234]], np.uint16)


def valid_parts() -> tuple[bytes, bytes]:
    head, payload = encode_frame(RGB565, rgb565_pixels())
    return bytes(head), bytes(payload)


def reason_of(parts: list) -> str:
    with pytest.raises(SchemaError) as caught:
        decode_frame(parts)
    return caught.value.reason


def with_fixed(head: bytes, **fields: int) -> bytes:
    """The header with some fixed fields replaced."""
    names = ("version", "pixel_format", "epoch", "seq", "captured_ns", "width", "height")
    values = dict(zip(names, FIXED.unpack_from(head), strict=True)) | fields
    return FIXED.pack(*values.values()) + head[FIXED.size :]


@pytest.mark.parametrize(
    ("header", "pixels"), [(RGB888, rgb888_pixels()), (RGB565, rgb565_pixels())], ids=["rgb888", "rgb565"]
)
def test_decoding_an_encoded_frame_gives_back_header_and_pixels(header: FrameHeader, pixels: np.ndarray) -> None:
    parts = encode_frame(header, pixels)
    for received in (parts, [bytes(p) for p in parts]):  # as sent (copy=False) and as ZeroMQ delivers bytes
        decoded, values = decode_frame(received)
        assert decoded == header
        assert values.dtype == pixels.dtype
        np.testing.assert_array_equal(values, pixels)


def test_rgb888_header_has_the_documented_byte_layout() -> None:
    head, _ = encode_frame(RGB888, rgb888_pixels())
    fixed = FIXED.pack(1, 1, RGB888.epoch, 42, RGB888.captured_ns, 3, 2)
    assert bytes(head) == fixed + b"\x04main" + b"\x0bcpu_monitor"


def test_encoder_refuses_pixels_that_do_not_match_the_header() -> None:
    with pytest.raises(ValueError):
        encode_frame(RGB565, rgb565_pixels().astype(">u2"))
    with pytest.raises(ValueError):
        encode_frame(RGB565, rgb565_pixels()[:, :2])
    with pytest.raises(ValueError):
        encode_frame(RGB888, rgb565_pixels())


@pytest.mark.parametrize("name", ["", "x" * (NAME_LIMIT + 1), "\u00e9" * (NAME_LIMIT // 2 + 1)])
def test_encoder_refuses_names_outside_one_to_sixty_four_bytes(name: str) -> None:
    header = FrameHeader(name, "cpu_monitor", 1, 1, 1, 3, 2, PixelFormat.RGB565)
    with pytest.raises(ValueError):
        encode_frame(header, rgb565_pixels())


def test_names_of_exactly_sixty_four_utf8_bytes_round_trip() -> None:
    name = "\u00e9" * (NAME_LIMIT // 2)
    header = FrameHeader(name, name, 1, 1, 1, 3, 2, PixelFormat.RGB565)
    assert decode_frame(encode_frame(header, rgb565_pixels()))[0] == header


@pytest.mark.parametrize("count", [0, 1, 3])
def test_message_of_other_than_two_parts_is_bad_parts(count: int) -> None:
    head, payload = valid_parts()
    assert reason_of([head, payload, b""][:count]) == "bad_parts"


def test_other_schema_version_is_bad_version() -> None:
    head, payload = valid_parts()
    assert reason_of([with_fixed(head, version=2), payload]) == "bad_version"
    assert reason_of([with_fixed(head, version=0), payload]) == "bad_version"


@pytest.mark.parametrize("pixel_format", [0, 3, 255])
def test_unknown_pixel_format_is_bad_format(pixel_format: int) -> None:
    head, payload = valid_parts()
    assert reason_of([with_fixed(head, pixel_format=pixel_format), payload]) == "bad_format"


@pytest.mark.parametrize(
    ("fields", "payload_bytes"),
    [
        ({}, 11),  # one byte short of 3x2 RGB565
        ({}, 13),
        ({}, 0),
        ({"width": 0}, 0),
        ({"height": 0}, 0),
        ({"width": 6, "height": 1}, 11),
        ({"pixel_format": PixelFormat.RGB888}, 12),  # 3x2 RGB888 needs 18
    ],
)
def test_payload_not_matching_size_and_format_is_bad_size(fields: dict[str, int], payload_bytes: int) -> None:
    head, _ = valid_parts()
    assert reason_of([with_fixed(head, **fields), bytes(payload_bytes)]) == "bad_size"


def test_pixels_take_the_header_shape_when_another_shape_has_the_same_byte_count() -> None:
    head, payload = valid_parts()
    header, values = decode_frame([with_fixed(head, width=6, height=1), payload])
    assert (header.width, header.height, values.shape) == (6, 1, (1, 6))


@pytest.mark.parametrize(
    "names",
    [
        b"",  # no names at all
        b"\x04main",  # the source name is missing
        b"\x00\x0bbios_screen",  # empty display name
        b"\x04main\x00",  # empty source name
        b"\x05main\x0bbios_screen",  # display length runs into the source name
        b"\x04main\x0cbios_screen",  # source length runs past the end
        b"\x04main\x0bbios_screen!",  # trailing byte
        b"\x02\xff\xfe\x0bbios_screen",  # display name is not UTF-8
        b"\x04main\x02\xc3\x28",  # source name is not UTF-8 (invalid continuation byte)
        b"\x04main\x01\x80",  # a lone continuation byte
    ],
)
def test_corrupt_name_fields_are_bad_header(names: bytes) -> None:
    head, payload = valid_parts()
    assert reason_of([head[: FIXED.size] + names, payload]) == "bad_header"


@pytest.mark.parametrize("pixel_format", [PixelFormat.RGB888, PixelFormat.RGB565])
def test_every_truncation_of_a_valid_header_is_bad_header(pixel_format: PixelFormat) -> None:
    pixels = rgb888_pixels() if pixel_format == PixelFormat.RGB888 else rgb565_pixels()
    header = RGB888 if pixel_format == PixelFormat.RGB888 else RGB565
    head, payload = (bytes(p) for p in encode_frame(header, pixels))
    for length in range(len(head)):
        assert reason_of([head[:length], payload]) == "bad_header", length


def test_random_corruptions_raise_only_schema_errors() -> None:
    """A small fuzzer: flipped, inserted and deleted bytes either decode consistently or raise SchemaError."""
    rng = np.random.default_rng(2024)
    head, payload = valid_parts()
    for _ in range(3000):
        mutated, body = bytearray(head), bytearray(payload)
        for _ in range(int(rng.integers(1, 4))):
            target = mutated if rng.random() < 0.8 or not body else body
            at = int(rng.integers(0, len(target) + 1))
            action = rng.integers(0, 3)
            if action == 0 and at < len(target):
                target[at] = int(rng.integers(0, 256))
            elif action == 1:
                target.insert(at, int(rng.integers(0, 256)))
            elif at < len(target):
                del target[at]
        try:
            header, values = decode_frame([bytes(mutated), bytes(body)])
        except SchemaError as error:
            assert error.reason in REASONS
            continue
        channels = 3 if header.pixel_format == PixelFormat.RGB888 else 0
        assert values.shape == ((header.height, header.width, channels) if channels else (header.height, header.width))
