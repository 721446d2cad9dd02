"""Control messages between egress and encode_damage: round trips, and every malformed form is a ValueError."""

from __future__ import annotations

import json

import pytest

from common.messages import Demand, PacketHeader, decode_demand, decode_packet, encode_demand, encode_packet
from common.protocol import ALL_ENCODINGS, Encoding

RAW_ONLY = frozenset({Encoding.RAW})
GOOD = {"board": "b1", "ticket": 3, "display": "main", "have": [17, 4], "encodings": 3, "max_body": 64, "gone": False}
HEADER = PacketHeader("b1", 3, "main", (1_700_000_000_000_000_000, 99), 99, 1_700_000_000_123_456_789, 12)


def demand_bytes(**changes: object) -> bytes:
    fields = {**GOOD, **changes}
    return json.dumps({k: v for k, v in fields.items() if v is not ...}).encode()


@pytest.mark.parametrize(
    "demand",
    [
        Demand("b1", 0, "main", None, ALL_ENCODINGS, 16384),
        Demand("board-2", 2**40, "side.2", (1_700_000_000_000_000_000, 1), RAW_ONLY, 64),
        Demand("b1", 7, "main", (5, 6), ALL_ENCODINGS, 65535, gone=True),
    ],
)
def test_demand_round_trips(demand: Demand) -> None:
    assert decode_demand(encode_demand(demand)) == demand


def test_demand_carries_encodings_as_the_protocol_bit_mask() -> None:
    assert json.loads(encode_demand(Demand("b", 1, "m", None, RAW_ONLY, 64)))["encodings"] == 1


def test_demand_without_gone_is_not_gone() -> None:
    assert decode_demand(demand_bytes(gone=...)).gone is False


def test_demand_ignores_encoding_bits_it_does_not_know() -> None:
    assert decode_demand(demand_bytes(encodings=0xFF01)).encodings == RAW_ONLY


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"not json",
        b"\xff\xfe",
        b"[1, 2]",
        b'"board"',
        b"null",
        b"[" * 100_000,  # nesting deep enough to exhaust the parser's recursion
        demand_bytes(board=...),
        demand_bytes(ticket=...),
        demand_bytes(display=...),
        demand_bytes(have=...),
        demand_bytes(encodings=...),
        demand_bytes(max_body=...),
        demand_bytes(board=None),
        demand_bytes(board=5),
        demand_bytes(display=["main"]),
        demand_bytes(ticket="7"),
        demand_bytes(ticket=1.5),
        demand_bytes(ticket=True),
        demand_bytes(have=[]),
        demand_bytes(have=[1]),
        demand_bytes(have=[1, 2, 3]),
        demand_bytes(have="12"),
        demand_bytes(have=[1.5, 2]),
        demand_bytes(have={"0": 1, "1": 2}),
        demand_bytes(have=12),
        demand_bytes(encodings="3"),
        demand_bytes(encodings=2),  # RUNS without RAW
        demand_bytes(encodings=0),
        demand_bytes(max_body=63),
        demand_bytes(max_body=65536),  # larger than any protocol message body
        demand_bytes(max_body=None),
        demand_bytes(gone="false"),
        demand_bytes(gone=0),
        demand_bytes(ticket=float("inf")),  # json writes Infinity, which Python's json reads back
        demand_bytes(ticket=float("-inf")),
        demand_bytes(max_body=float("nan")),
        demand_bytes(have=[float("inf"), 1]),
    ],
)
def test_malformed_demand_is_a_value_error_showing_its_bytes(raw: bytes) -> None:
    with pytest.raises(ValueError) as caught:
        decode_demand(raw)
    assert repr(raw[:20])[:-1] in str(caught.value)


def test_long_malformed_demand_is_shown_truncated() -> None:
    raw = b'{"board": "' + b"x" * 1000
    with pytest.raises(ValueError) as caught:
        decode_demand(raw)
    assert repr(raw[:120]) in str(caught.value) and repr(raw[:121]) not in str(caught.value)


def test_packet_header_and_payload_round_trip() -> None:
    payload = b"\x21\x0a\x00" + bytes(10)
    assert decode_packet(encode_packet(HEADER, payload)) == (HEADER, payload)


def test_packet_key_comes_back_as_a_tuple() -> None:
    header, _ = decode_packet(encode_packet(HEADER, b""))
    assert isinstance(header.key, tuple) and header.key == HEADER.key


def packet_header(**changes: object) -> bytes:
    fields = {**json.loads(encode_packet(HEADER, b"")[0]), **changes}
    return json.dumps({k: v for k, v in fields.items() if v is not ...}).encode()


@pytest.mark.parametrize(
    "parts",
    [
        [],
        [packet_header()],
        [packet_header(), b"", b""],
        [b"not json", b""],
        [b"[1]", b""],
        [b"[" * 100_000, b""],
        [packet_header(rects=...), b""],
        [packet_header(extra=1), b""],
        [packet_header(key=5), b""],
        [packet_header(key="ab"), b""],
        [packet_header(key=[1]), b""],
        [packet_header(key=[1, 2, 3]), b""],
        [packet_header(seq=float("inf")), b""],
        [packet_header(rects="12"), b""],
        [packet_header(board=None), b""],
        [packet_header(ticket=True), b""],
    ],
)
def test_malformed_packet_is_a_value_error(parts: list[bytes]) -> None:
    with pytest.raises(ValueError):
        decode_packet(parts)
