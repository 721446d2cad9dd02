"""Each source's pictures put back in the order it numbered them, after parallel color workers finished
them out of order.

A source numbers what it pushes (epoch, seq): seq is +1 per picture the pipeline took, over all the
displays it draws for (common/source.py; a picture its full PUSH refused keeps its number for the next
one), and gather_frames renumbers what it passes on so that a picture it drops (every worker busy)
leaves no gap. After that a number can still go missing for good: a color worker drops one it cannot
correct or pass on, a worker that dies loses what it held. So a picture that comes before an earlier
one of its source waits for it, WINDOW_S at most, and goes as soon as every earlier one came, or when
its wait ends (the gap given up: a missing picture that comes after that is the caller's to drop as
stale). The first picture of a source
process (a new epoch) goes at once whatever its seq, as encode_damage may start after its sources:
so of two pictures swapped at a source's start, the earlier is stale.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Generic, Literal, NamedTuple, TypeVar

# How long a picture may wait for an earlier one. The earlier one is late by up to about a worker's
# frame: each of 2 workers corrects every other frame, ~31 ms apiece at ~65 frames/s on 2 cores. In
# bench.scale (1920x1080 captures) the waits were 14-19 ms at p50, 32-37 ms at p95 and 41-51 ms at p99;
# on a lightly loaded machine a 30 ms window gave up 8-32 % of them, 40 ms 1-3 %. 40 ms is a frame at
# 25 frames/s, so a picture lost for good delays the ones after it by about one frame of a board's.
WINDOW_S = 0.040

T = TypeVar("T")
Fate = Literal["passed", "reordered", "gave_up"]  # went at once; waited until the earlier ones came; waited in vain


class Released(NamedTuple, Generic[T]):
    item: T
    fate: Fate


@dataclass
class _Order(Generic[T]):
    """One source: the key of the last picture released, and those waiting for an earlier one."""

    last: tuple[int, int]
    held: dict[int, tuple[float, T]] = field(default_factory=dict)  # seq -> (end of its wait, item)

    def release_up_to(self, seq: int, fate: Fate) -> list[Released[T]]:
        """The held pictures up to `seq` (the ones before them given up), then any that follow without a gap."""
        out = [Released(self.held.pop(s)[1], fate) for s in sorted(s for s in self.held if s <= seq)]
        self.last = (self.last[0], max(seq, self.last[1]))
        while self.last[1] + 1 in self.held:
            self.last = (self.last[0], self.last[1] + 1)
            out.append(Released(self.held.pop(self.last[1])[1], fate))
        return out


class Reorder(Generic[T]):
    """Items (a frame, or whatever the caller carries) in each source's (epoch, seq) order; see the module."""

    def __init__(self, window_s: float = WINDOW_S) -> None:
        self.window_s = window_s
        self.sources: dict[str, _Order[T]] = {}

    def push(self, source: str, key: tuple[int, int], item: T, now: float) -> list[Released[T]]:
        """What goes on now, in order: `item` unless an earlier picture of its source is missing, then
        any held ones it was the last gap before."""
        order = self.sources.get(source)
        if order is None or key[0] > order.last[0]:
            # A restarted source: what its old process left waiting will never be followed.
            old = order.release_up_to(max(order.held, default=0), "gave_up") if order else []
            self.sources[source] = _Order(key)
            return [*old, Released(item, "passed")]
        if key <= order.last:
            return [Released(item, "passed")]  # a repeat, or one whose wait was given up: the caller judges it
        if key[1] != order.last[1] + 1:
            order.held.setdefault(key[1], (now + self.window_s, item))  # a repeat of a held one adds nothing
            return []
        return [Released(item, "passed"), *order.release_up_to(key[1], "reordered")]

    def expire(self, now: float) -> list[Released[T]]:
        """Held pictures whose wait ended, each with the ones before it, in order: their gaps are given up."""
        out: list[Released[T]] = []
        for order in self.sources.values():
            due = [seq for seq, (until, _) in order.held.items() if until <= now]
            if due:
                out += order.release_up_to(max(due), "gave_up")
        return out

    def deadline(self) -> float | None:
        """When the first wait ends (None: nothing held): the caller's loop wakes up then to call `expire`."""
        return min((until for order in self.sources.values() for until, _ in order.held.values()), default=None)
