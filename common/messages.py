"""Control messages between the egress and encode_damage: demands up, frame packets down.

JSON for these small control messages (they are few and carry no pixels); the packet payload
that follows a PacketHeader is the ready-to-write RECT messages of protocol v1.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

from common.protocol import Encoding, encodings_to_mask, mask_to_encodings

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
            board=str(f["board"]),
            ticket=int(f["ticket"]),
            display=str(f["display"]),
            have=None if have is None else (int(have[0]), int(have[1])),
            encodings=mask_to_encodings(int(f["encodings"])),
            max_body=int(f["max_body"]),
            gone=bool(f.get("gone", False)),
        )
    except (ValueError, KeyError, TypeError, IndexError) as error:
        raise ValueError(f"bad demand {raw[:120]!r}: {error}") from None
    if demand.max_body < 64 or Encoding.RAW not in demand.encodings:
        raise ValueError(f"bad demand {raw[:120]!r}: needs max_body >= 64 and RAW")
    return demand


def encode_packet(header: PacketHeader, payload: bytes) -> list[bytes]:
    return [json.dumps(asdict(header)).encode(), payload]


def decode_packet(parts: list[bytes]) -> tuple[PacketHeader, bytes]:
    if len(parts) != 2:
        raise ValueError(f"packet of {len(parts)} parts")
    try:
        f = json.loads(parts[0])
        f["key"] = tuple(f["key"])
        return PacketHeader(**f), parts[1]
    except (ValueError, KeyError, TypeError) as error:
        raise ValueError(f"bad packet header {parts[0][:120]!r}: {error}") from None
