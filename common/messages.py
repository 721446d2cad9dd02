"""Control messages between the egress and encode_damage: demands up, frame packets down.

JSON for these small control messages (they are few and carry no pixels); the packet payload
that follows a PacketHeader is the ready-to-write RECT messages of protocol v1.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any

from common.protocol import MAX_BODY, MIN_BOARD_BODY, Encoding, encodings_to_mask, mask_to_encodings

FrameKey = tuple[int, int]  # (source epoch, seq): orders frames of one source across restarts


@dataclass(frozen=True, slots=True)
class Demand:
    """Board `board` shows frame `have` of `display` (None: nothing yet) and wants a newer one."""

    board: str
    ticket: int  # echoed in the answer, so the egress can ignore answers to demands it replaced
    display: str
    have: FrameKey | None
    encodings: frozenset[Encoding]
    max_body: int
    gone: bool = False  # the board disconnected: forget its demand


@dataclass(frozen=True, slots=True)
class PacketHeader:
    board: str
    ticket: int
    display: str
    key: FrameKey
    seq: int
    captured_ns: int
    rects: int


def encode_demand(demand: Demand) -> bytes:
    fields = asdict(demand)
    fields["encodings"] = encodings_to_mask(demand.encodings)
    return json.dumps(fields).encode()


def decode_demand(raw: bytes) -> Demand:
    """Raises ValueError (with the offending bytes) on anything but a well-formed demand."""
    try:
        f = json.loads(raw)
        have = f["have"]
        demand = Demand(
            board=_field(f, "board", str),
            ticket=_field(f, "ticket", int),
            display=_field(f, "display", str),
            have=None if have is None else _frame_key(have),
            encodings=mask_to_encodings(_field(f, "encodings", int)),
            max_body=_field(f, "max_body", int),
            gone=_field(f, "gone", bool, False),
        )
    except (ValueError, KeyError, TypeError, RecursionError) as error:  # RecursionError: absurdly deep nesting
        raise ValueError(f"bad demand {raw[:120]!r}: {error}") from None
    if not MIN_BOARD_BODY <= demand.max_body <= MAX_BODY or Encoding.RAW not in demand.encodings:
        raise ValueError(f"bad demand {raw[:120]!r}: needs max_body {MIN_BOARD_BODY}..{MAX_BODY} and RAW")
    return demand


def _field(fields: dict[str, Any], key: str, kind: type, default: Any = ...) -> Any:
    """fields[key], of exactly type `kind`: no conversions, so "false" is not False, 1.5 or Infinity not an int."""
    value = fields[key] if default is ... else fields.get(key, default)
    if type(value) is not kind:
        raise TypeError(f"{key}: expected {kind.__name__}, got {value!r}")
    return value


def _frame_key(value: Any) -> FrameKey:
    if type(value) is not list or len(value) != 2 or any(type(v) is not int for v in value):
        raise TypeError(f"expected [epoch, seq], got {value!r}")
    return (value[0], value[1])


def encode_packet(header: PacketHeader, payload: bytes) -> list[bytes]:
    return [json.dumps(asdict(header)).encode(), payload]


_PACKET_FIELDS = {"board": str, "ticket": int, "display": str, "seq": int, "captured_ns": int, "rects": int}


def decode_packet(parts: list[bytes]) -> tuple[PacketHeader, bytes]:
    if len(parts) != 2:
        raise ValueError(f"packet of {len(parts)} parts")
    try:
        f = json.loads(parts[0])
        if not isinstance(f, dict) or set(f) != {"key", *_PACKET_FIELDS}:
            raise TypeError(f"expected the fields key, {', '.join(_PACKET_FIELDS)}")
        header = PacketHeader(key=_frame_key(f["key"]), **{k: _field(f, k, kind) for k, kind in _PACKET_FIELDS.items()})
        return header, parts[1]
    except (ValueError, KeyError, TypeError, RecursionError) as error:
        raise ValueError(f"bad packet header {parts[0][:120]!r}: {error}") from None
