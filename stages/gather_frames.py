"""Gather frames: the one stable place every source process connects to.

Consumes RGB888 frames from any number of sources (PULL, bound at `pipeline.sources`), validates
their header, and hands them to whichever color worker is free (PUSH, bound at `pipeline.workers`).
Sources may come and go at run time; workers may be added with supervisord's numprocs. The stage
copies no pixels (zero-copy frames; a big picture from a source on this machine is only a reference
to its shared memory, common/shared_frames.py) and is never the bottleneck: when workers are busy, it drops the
frame and counts it, because the source will send a newer one. It renumbers what it passes on
(`PassedSeq`), so its own drops leave no gap for encode_damage's reorder window to wait on.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, replace

import zmq
from prometheus_client import CollectorRegistry, Counter

from common.frame_header import FrameHeader, pack_header
from common.frames import REASONS, SchemaError, decode_frame
from common.stage import StageContext, run_stage


@dataclass
class _Numbering:
    epoch: int
    newest: int  # the source's highest seq seen, passed on or dropped
    dropped: int  # distinct pictures of this process dropped here, net of those a resend brought back
    newest_dropped: bool


class PassedSeq:
    """Each source's seq minus the distinct pictures dropped here: +1 per distinct picture passed on.

    encode_damage holds a picture that comes before an earlier one of its source (color workers finish
    out of order; common/reorder.py) until the earlier one comes or its window ends. A picture dropped
    here never comes, so without renumbering every drop (workers busy: exactly when latency matters)
    would hold the next picture for the whole window. A resend of a picture (the same seq: a source's
    refresh) keeps its number, and a resend of one dropped here takes the number it would have had.
    The first picture of a source process keeps its seq, so numbers never go back across a restart of
    this stage (they only ever lag the source's).
    """

    def __init__(self) -> None:
        self.sources: dict[str, _Numbering] = {}

    def passed(self, header: FrameHeader) -> FrameHeader:
        numbering = self._numbering(header)
        if header.seq > numbering.newest:
            numbering.newest, numbering.newest_dropped = header.seq, False
        elif header.seq == numbering.newest and numbering.newest_dropped:
            numbering.dropped, numbering.newest_dropped = numbering.dropped - 1, False
        return replace(header, seq=header.seq - numbering.dropped)

    def dropped(self, header: FrameHeader) -> None:
        numbering = self._numbering(header)
        if header.seq > numbering.newest:
            numbering.newest, numbering.newest_dropped = header.seq, True
            numbering.dropped += 1

    def _numbering(self, header: FrameHeader) -> _Numbering:
        numbering = self.sources.get(header.source)
        if numbering is None or numbering.epoch != header.epoch:
            numbering = self.sources[header.source] = _Numbering(header.epoch, header.seq - 1, 0, False)
        return numbering


def make_metrics(registry: CollectorRegistry) -> dict:
    dropped = Counter("tftstream_gather_frames_dropped_total", "Frames not passed on", ["reason"], registry=registry)
    for reason in (*REASONS, "workers_busy"):
        dropped.labels(reason)
    return {
        "in": Counter("tftstream_gather_frames_in_total", "Frames received from sources", registry=registry),
        "out": Counter("tftstream_gather_frames_out_total", "Frames handed to color workers", registry=registry),
        "dropped": dropped,
    }


def loop(ctx: StageContext) -> None:
    metrics = make_metrics(ctx.registry)
    workers = ctx.socket(zmq.PUSH, ctx.config.endpoints.workers, bind=True, hwm=2)
    ctx.wait_for_peer(workers, "a color worker")  # meanwhile a source's picture stays with the source
    sources = ctx.socket(zmq.PULL, ctx.config.endpoints.sources, bind=True, hwm=8)
    numbers = PassedSeq()
    poller = ctx.poller()
    poller.register(sources, zmq.POLLIN)
    while not ctx.stop.is_set():
        if sources not in dict(poller.poll()):
            continue
        parts = sources.recv_multipart(copy=False)
        metrics["in"].inc()
        try:
            header, _ = decode_frame(parts)
        except SchemaError as error:
            metrics["dropped"].labels(error.reason).inc()
            ctx.log.warning("dropped a malformed frame: %s", error)
            continue
        if not workers.poll(0, zmq.POLLOUT):  # asked first: a picture gets a number only if it goes on
            numbers.dropped(header)
            metrics["dropped"].labels("workers_busy").inc()
            continue
        try:
            workers.send_multipart([pack_header(numbers.passed(header)), *parts[1:]], flags=zmq.NOBLOCK, copy=False)
            metrics["out"].inc()
        except zmq.Again:  # the worker left since: its number is lost, which costs one reorder window
            metrics["dropped"].labels("workers_busy").inc()


def main(argv: list[str] | None = None) -> int:
    return run_stage("gather_frames", loop, argv, __doc__.splitlines()[0])


if __name__ == "__main__":
    sys.exit(main())
