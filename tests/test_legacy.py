"""The original sketch's protocol: v1 RAW rectangles rewritten as 12-byte big-endian chunks."""

from __future__ import annotations

import struct

import numpy as np
import pytest

from common import protocol
from common.encodings import encode_raw
from common.protocol import Encoding
from stages.serve_boards import legacy_chunks


@pytest.mark.parametrize("big_endian", [True, False])
def test_rectangles_become_big_endian_chunks_whatever_the_display_byte_order(big_endian):
    block = np.array([[0x1234, 0xF800], [0x07E0, 0x001F]], np.uint16)
    payload = protocol.rect(5, 6, 2, 2, Encoding.RAW, encode_raw(block, big_endian)) + protocol.rect(
        0, 0, 1, 1, Encoding.RAW, encode_raw(np.array([[0xABCD]], np.uint16), big_endian)
    )
    expected = (
        struct.pack(">HHHHI", 5, 6, 2, 2, 8)
        + bytes.fromhex("1234 f800 07e0 001f")
        + struct.pack(">HHHHI", 0, 0, 1, 1, 2)
        + bytes.fromhex("abcd")
    )
    assert legacy_chunks(payload, big_endian) == expected
