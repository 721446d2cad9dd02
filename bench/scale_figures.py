"""What bench.scale measures: CPU times and stage metrics sampled at both ends of a row's window, the
figures of the row derived from them and from the frames the sink saw, and the color stage's work alone.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field

import numpy as np
import psutil

from bench.scale_rig import PANEL, PICTURE, Ports
from bench.stage_process import StageProcess
from common.config import ColorProfile, Display
from common.frames import FrameHeader, PixelFormat, encode_frame
from common.reorder import Fate
from stages.correct_color import correct_frame, make_correctors
from tests.harness import metric_value, scrape


@dataclass(frozen=True)
class Result:
    workers: int
    seconds: float = 0.0
    arrived: int = 0  # corrected frames at the sink in the window
    reordered: int = 0  # of those, came before an earlier one and waited until it came
    gave_up: int = 0  # of those, came before an earlier one and waited in vain (the window ended)
    stale: int = 0  # of those, older than the newest before them even so: encode_damage would drop them
    stale_swaps: int = 0  # of those, seq n arriving right after n + 1
    stale_lag_ms: list[float] = field(default_factory=list)  # how long after the newer frame was taken each came
    lost: int = 0  # pictures sent in the window that never came out of the color stage
    per_worker: list[float] = field(default_factory=list)  # frames_out of each worker in the window
    gather_dropped: float = 0.0
    cpu: dict[str, float] = field(default_factory=dict)  # CPU seconds in the window: workers, gather, ours, others

    @property
    def frames_per_s(self) -> float:
        return self.arrived / self.seconds if self.seconds else 0.0

    @property
    def shown_per_s(self) -> float:
        return (self.arrived - self.stale) / self.seconds if self.seconds else 0.0

    def ms_per_frame(self, group: str) -> float:
        return self.cpu[group] / self.arrived * 1000 if self.arrived else float("nan")


@dataclass(frozen=True)
class Snapshot:
    """CPU seconds of each group, and the metrics the stages serve, at one moment."""

    at: float
    cpu: dict[str, float]
    irq: float  # the machine's interrupt time
    busy: float  # the machine's busy time
    per_worker: list[float]  # frames_out of each color worker
    gather_dropped: float

    @classmethod
    def take(cls, gather: StageProcess, workers: list[StageProcess], ports: Ports) -> Snapshot:
        at = time.monotonic()
        cpu = {
            "workers": sum(w.cpu_s() for w in workers),
            "loops": sum(w.loop_cpu_s() for w in workers),
            "gather": gather.cpu_s(),
            "ours": sum(psutil.Process().cpu_times()[:2]),
        }
        times = psutil.cpu_times()._asdict()
        irq = times.get("irq", 0.0) + times.get("softirq", 0.0)
        idle = ("idle", "iowait", "irq", "softirq", "guest", "guest_nice")  # guest time is in user time already
        busy = sum(v for k, v in times.items() if k not in idle)
        out = "tftstream_correct_color_frames_out_total"
        per_worker = [metric_value(scrape(ports.color_metrics + i), out) for i in range(len(workers))]
        dropped = 'tftstream_gather_frames_dropped_total{reason="workers_busy"}'
        gather_dropped = metric_value(scrape(ports.gather_metrics), dropped)
        return cls(at, cpu, irq, busy, per_worker, gather_dropped)


def summarise(
    workers: int, before: Snapshot, after: Snapshot, seen: list[tuple[float, int, Fate]], first: int, last: int
) -> Result:
    """The row's figures: frames the sink took between the snapshots, and pictures first..last never seen."""
    arrived = stale = stale_swaps = 0
    fates: Counter[Fate] = Counter()
    stale_lag_ms: list[float] = []
    newest, newest_at, previous = 0, 0.0, 0
    for at, seq, fate in seen:
        if before.at <= at < after.at:
            arrived += 1
            fates[fate] += 1
            if seq < newest:
                stale += 1
                stale_swaps += previous == seq + 1
                stale_lag_ms.append((at - newest_at) * 1000)
        if seq > newest:
            newest, newest_at = seq, at
        previous = seq
    came = {seq for _, seq, _ in seen}
    cpu = {group: after.cpu[group] - before.cpu[group] for group in before.cpu}
    ours = sum(cpu[g] for g in ("workers", "gather", "ours"))  # "loops" is part of "workers"
    cpu["others"] = max(0.0, after.busy - before.busy - ours)
    cpu["irq"] = after.irq - before.irq  # interrupts, loopback TCP among them: nobody's process time
    return Result(
        workers,
        seconds=after.at - before.at,
        arrived=arrived,
        reordered=fates["reordered"],
        gave_up=fates["gave_up"],
        stale=stale,
        stale_swaps=stale_swaps,
        stale_lag_ms=stale_lag_ms,
        lost=sum(seq not in came for seq in range(first, last + 1)),
        per_worker=[a - b for a, b in zip(after.per_worker, before.per_worker, strict=True)],
        gather_dropped=after.gather_dropped - before.gather_dropped,
        cpu=cpu,
    )


def color_alone_ms(pictures: list[np.ndarray], frames: int = 30) -> float:
    """CPU ms of `correct_frame` + `encode_frame` per picture in this process: the color stage's work, no sockets."""
    correctors = make_correctors((Display("main", *PANEL, "feed", ColorProfile()),))
    started = time.process_time()
    for seq in range(1, frames + 1):
        header = FrameHeader("main", "feed", 1, seq, 0, *PICTURE, PixelFormat.RGB888)
        encode_frame(*correct_frame(correctors, encode_frame(header, pictures[seq % len(pictures)])))
    return (time.process_time() - started) / frames * 1000
