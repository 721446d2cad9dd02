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
    assert decode_demand(demand_bytes(encodings=0xFE01)).encodings == RAW_ONLY  # bits 9-15: none yet


MALFORMED_DEMANDS = {
    "empty": b"",
    "not json": b"not json",
    "not utf-8": b"\xff\xfe",
    "a list": b"[1, 2]",
    "a string": b'"board"',
    "null": b"null",
    "nested too deep to parse": b"[" * 100_000,
    "no board": demand_bytes(board=...),
    "no ticket": demand_bytes(ticket=...),
    "no display": demand_bytes(display=...),
    "no have": demand_bytes(have=...),
    "no encodings": demand_bytes(encodings=...),
    "no max_body": demand_bytes(max_body=...),
    "board null": demand_bytes(board=None),
    "board a number": demand_bytes(board=5),
    "display a list": demand_bytes(display=["main"]),
    "ticket a string": demand_bytes(ticket="7"),
    "ticket a fraction": demand_bytes(ticket=1.5),
    "ticket true": demand_bytes(ticket=True),
    "ticket Infinity": demand_bytes(ticket=float("inf")),  # json writes it, and Python's json reads it back
    "ticket -Infinity": demand_bytes(ticket=float("-inf")),
    "have empty": demand_bytes(have=[]),
    "have one number": demand_bytes(have=[1]),
    "have three numbers": demand_bytes(have=[1, 2, 3]),
    "have a string": demand_bytes(have="12"),
    "have a fraction": demand_bytes(have=[1.5, 2]),
    "have Infinity": demand_bytes(have=[float("inf"), 1]),
    "have an object": demand_bytes(have={"0": 1, "1": 2}),
    "have a number": demand_bytes(have=12),
    "encodings a string": demand_bytes(encodings="3"),
    "RUNS without RAW": demand_bytes(encodings=2),
    "no encoding": demand_bytes(encodings=0),
    "max_body below 64": demand_bytes(max_body=63),
    "max_body above any message body": demand_bytes(max_body=65536),
    "max_body null": demand_bytes(max_body=None),
    "max_body NaN": demand_bytes(max_body=float("nan")),
    "gone a string": demand_bytes(gone="false"),
    "gone a number": demand_bytes(gone=0),
}


@pytest.mark.parametrize("raw", MALFORMED_DEMANDS.values(), ids=MALFORMED_DEMANDS.keys())
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


MALFORMED_PACKETS = {
    "no parts": [],
    "header only": [packet_header()],
    "three parts": [packet_header(), b"", b""],
    "not json": [b"not json", b""],
    "a list": [b"[1]", b""],
    "nested too deep to parse": [b"[" * 100_000, b""],
    "no rects": [packet_header(rects=...), b""],
    "an unknown field": [packet_header(extra=1), b""],
    "key a number": [packet_header(key=5), b""],
    "key a string": [packet_header(key="ab"), b""],
    "key one number": [packet_header(key=[1]), b""],
    "key three numbers": [packet_header(key=[1, 2, 3]), b""],
    "seq Infinity": [packet_header(seq=float("inf")), b""],
    "rects a string": [packet_header(rects="12"), b""],
    "board null": [packet_header(board=None), b""],
    "ticket true": [packet_header(ticket=True), b""],
}


@pytest.mark.parametrize("parts", MALFORMED_PACKETS.values(), ids=MALFORMED_PACKETS.keys())
def test_malformed_packet_is_a_value_error(parts: list[bytes]) -> None:
    with pytest.raises(ValueError):
        decode_packet(parts)
