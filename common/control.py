"""Which source each display shows, and the control messages that change it or report it.

encode_damage owns one `SourceChoice` per display and publishes a `Showing` for it (PUB at
`pipeline.control`) whenever it changes and twice a second; sources subscribe and draw only for
displays that show them and have a board waiting, so capture follows the boards' real frame rate.
A switch request (`python -m cli.switch_source`) arrives on encode_damage's demand socket.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field

ATTACHED_TIMEOUT_S = 3.0  # an attached source silent this long is gone: the display falls back
TOPIC = b"showing"


@dataclass(frozen=True, slots=True)
class Showing:
    display: str
    source: str
    waiting: int  # boards waiting for a newer frame of this display


@dataclass(frozen=True, slots=True)
class Switch:
    display: str
    source: str | None  # None: back to automatic (attached source, else the configured one)


def encode_showing(showing: Showing) -> list[bytes]:
    return [TOPIC, json.dumps(asdict(showing)).encode()]


def decode_showing(parts: list[bytes]) -> Showing:
    try:
        f = json.loads(parts[1])
        return Showing(str(f["display"]), str(f["source"]), int(f["waiting"]))
    except (ValueError, KeyError, TypeError, IndexError) as error:
        raise ValueError(f"bad showing message {parts!r:.120}: {error}") from None


def encode_switch(switch: Switch) -> bytes:
    return json.dumps({"switch": asdict(switch)}).encode()


def is_switch(raw: bytes) -> bool:
    return raw.startswith(b'{"switch"')


def decode_switch(raw: bytes) -> Switch:
    try:
        f = json.loads(raw)["switch"]
        source = f["source"]
        if not isinstance(f["display"], str) or not (source is None or isinstance(source, str)):
            raise TypeError("display must be a string, source a string or null")
        return Switch(f["display"], source)
    except (ValueError, KeyError, TypeError) as error:
        raise ValueError(f"bad switch {raw[:120]!r}: {error}") from None


@dataclass
class SourceChoice:
    """The rule: a switch wins; else the newest attached source still sending; else the default."""

    default: str
    builtin: frozenset[str]  # sources started by supervisord: they never take a display by sending
    override: str | None = None
    attached: dict[str, float] = field(default_factory=dict)  # source -> last time it sent (monotonic)

    def heard(self, source: str, now: float | None = None) -> None:
        """A frame from `source` arrived for this display; an unknown source attaches to it."""
        if source not in self.builtin:
            # Assignment keeps a known source's place: the newest *started* source wins, not the chattiest.
            self.attached[source] = time.monotonic() if now is None else now

    @property
    def active(self) -> str:
        return self.active_at(time.monotonic())

    def active_at(self, now: float) -> str:
        if self.override is not None:
            return self.override
        for source, last in list(self.attached.items()):
            if now - last > ATTACHED_TIMEOUT_S:
                del self.attached[source]
        return next(reversed(self.attached), self.default)
