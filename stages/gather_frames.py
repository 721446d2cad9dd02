"""Gather frames: the one stable place every source process connects to.

Consumes RGB888 frames from any number of sources (PULL, bound at `pipeline.sources`), validates
their header, and hands them to whichever color worker is free (PUSH, bound at `pipeline.workers`).
Sources may come and go at run time; workers may be added with supervisord's numprocs. The stage
copies nothing (zero-copy frames) and is never the bottleneck: when workers are busy, it drops the
frame and counts it, because the source will send a newer one.
"""

from __future__ import annotations

import sys

import zmq
from prometheus_client import CollectorRegistry, Counter

from common.frames import REASONS, SchemaError, decode_frame
from common.stage import POLL_MS, StageContext, run_stage


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
    while not ctx.stop.is_set():
        if not sources.poll(POLL_MS):
            continue
        parts = sources.recv_multipart(copy=False)
        metrics["in"].inc()
        try:
            decode_frame(parts)
        except SchemaError as error:
            metrics["dropped"].labels(error.reason).inc()
            ctx.log.warning("dropped a malformed frame: %s", error)
            continue
        try:
            workers.send_multipart(parts, flags=zmq.NOBLOCK, copy=False)
            metrics["out"].inc()
        except zmq.Again:
            metrics["dropped"].labels("workers_busy").inc()


def main(argv: list[str] | None = None) -> int:
    return run_stage("gather_frames", loop, argv, __doc__.splitlines()[0])


if __name__ == "__main__":
    sys.exit(main())
