"""The printout of bench.link: the link's own figures, one table of cases, the start times, and each
target of issue 6 beside the figure it is about (figures only: nothing here fails)."""

from __future__ import annotations

import argparse
import statistics
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from bench.link import Case, LinkFigures, StartRun

LEGEND = """\
fps: frames/s the device drew (x16: mean per device, then the slowest); bytes/frame: mean (p95) on the wire;
drawn: capture -> the device's `frame:` line, per frame, ms p50 / p95; ack: capture -> ACK at the egress, ms p50 / p95,
  from its histogram (buckets 10/20/40/60/100/200/500 ms, interpolated as Prometheus does);
bounds, frames/s: link goodput with the OS window / bytes, the same with the device's window, 1 / SPI time of the
  pixels each frame wrote ({spi:g} MHz) and read back (COPY, RECOLOR: 24 bits at 20 MHz), as the device counts them;
  % allowed: fps / min(link, panel, the source's 60 pictures/s);
CPU: the pipeline's processes (gather, 2 color workers, encode_damage, serve_boards), % of one core."""


def mbit(bytes_per_s: float) -> str:
    return f"{bytes_per_s * 8 / 1e6:.2f}"


def fmt(value: float | None, spec: str = ".1f") -> str:
    return "-" if value is None else format(value, spec)


def pair(p50: float | None, p95: float | None) -> str:
    return f"{p50:.0f} / {p95:.0f}" if p50 is not None and p95 is not None else "-"


def drawn_pair(values: Sequence[float]) -> str:
    return pair(float(np.percentile(values, 50)), float(np.percentile(values, 95))) if values else "-"


def bounds(case: Case) -> tuple[float | None, float | None, float | None]:
    """Frames/s the link alone (OS window), the link with the device's window, and the panel allow."""
    if case.link is None or case.bytes_per_frame <= 0:
        return None, None, None
    link = case.link.raw_bytes_s / case.bytes_per_frame
    window = case.link.window_bytes_s[case.rx_buffer] / case.bytes_per_frame
    return link, window, (1 / case.panel_s if case.panel_s else None)


def allowed(case: Case) -> float | None:
    """What the link (OS window) and the panel allow, never more than the source offers."""
    link, _, panel = bounds(case)
    return min(v for v in (link, panel, case.offered_fps) if v) if link is not None else None


def print_links(links: Sequence[LinkFigures], args: argparse.Namespace) -> None:
    print(
        f"\nlink: tbf both ways (burst 4 KB), delay line {args.delay_ms:g} ms each way; TCP into the board namespace:"
    )
    for link in links:
        windows = ", ".join(f"{mbit(v)} with a {rx}-byte receive buffer" for rx, v in link.window_bytes_s.items())
        rtt = f"RTT {link.rtt_ms:.1f} ms"
        print(f"  {link.mbit:g} Mbit/s: {rtt}; goodput Mbit/s {mbit(link.raw_bytes_s)} (OS window), {windows}")


def print_cases(cases: Sequence[Case], spi_mhz: float) -> None:
    head = (
        f"{'case':38}{'fps':>14}{'bytes/frame (p95)':>19}{'Mbit/s':>7}{'drawn ms':>10}{'ack ms':>10}"
        f"{'bounds link|window|panel':>26}{'% allowed':>10}{'CPU %':>6}"
    )
    print(f"\n{head}\n{'-' * len(head)}")
    for case in cases:
        mean = float(np.mean(case.fps))
        fps = f"{mean:.1f}" if case.devices == 1 else f"{mean:.1f} min {min(case.fps):.1f}"
        link, window, panel = bounds(case)
        limit = allowed(case)
        share = f"{100 * mean / limit:.0f} %" if limit else "-"
        size = f"{case.bytes_per_frame:,.0f} ({case.bytes_p95:,.0f})"
        limits = f"{fmt(link)} | {fmt(window)} | {fmt(panel)}"
        print(
            f"{case.label:38}{fps:>14}{size:>19}{case.mbit_s:>7.2f}{drawn_pair(case.drawn_ms):>10}"
            f"{pair(*case.ack_ms):>10}{limits:>26}{share:>10}{case.cpu_pct:>6.0f}"
        )
    print(LEGEND.format(spi=spi_mhz))


def print_starts(starts: Sequence[StartRun]) -> None:
    if not starts:
        return

    def series(values: list[float | None]) -> str:
        shown = ", ".join("-" if v is None else f"{v:.2f}" for v in values)
        known = [v for v in values if v is not None]
        return f"{shown} (median {statistics.median(known):.2f})" if known else shown

    print(
        f"\nstart: {len(starts)} cold starts of the shipped supervisord.conf, CPU monitor on 'main', boards on the link"
    )
    print("seconds after supervisord was started:")
    print(f"  supervisord spawns its programs               {series([s.spawned_s for s in starts])}")
    print(f"  egress listening                              {series([s.listen_s for s in starts])}")
    print(f"  first picture drawn (CPU monitor, at capture) {series([s.captured_s for s in starts])}")
    print(f"  first frame, board connecting as it listens   {series([s.prompt_s for s in starts])}")
    attempts = ", ".join(str(s.attempts) for s in starts)
    print(f"  first frame, board retrying since the start   {series([s.waiting_s for s in starts])} ({attempts} tries)")


def print_targets(cases: Sequence[Case], starts: Sequence[StartRun], first_rate: float) -> None:
    print("\ntargets (issue 6) beside the figures:")
    for case in cases:
        if case.devices == 1 and case.link and case.link.mbit == first_rate and "motion" not in case.label:
            fps, p95 = float(np.mean(case.fps)), case.ack_ms[1]
            verdict = "met" if fps >= 30 and p95 is not None and p95 <= 60 else "not met"
            print(f"  >= 30 fps, ack p95 <= 60 ms  {case.label:38} {fps:5.1f} fps, p95 {fmt(p95, '.0f')} ms: {verdict}")
    for case in cases:
        limit = allowed(case)
        if "motion" in case.label and limit:
            fps = float(np.mean(case.fps))
            share = 100 * fps / limit
            verdict = "met" if share >= 90 else "not met"
            window = fmt(bounds(case)[1])
            print(
                f"  >= 90 % of link/panel fps    {case.label:38} {fps:5.1f} of {limit:.1f} = {share:.0f} %: {verdict}"
                f" (the device's window allows {window})"
            )
    for case in cases:
        if case.devices > 1:
            slowest = min(case.fps)
            verdict = "met" if slowest >= 20 else "not met"
            print(f"  16 devices >= 20 fps each    {case.label:38} slowest {slowest:.1f} fps: {verdict}")
    waiting = [s.waiting_s for s in starts if s.waiting_s is not None]
    prompt = [s.prompt_s for s in starts if s.prompt_s is not None]
    if waiting and prompt:
        w, p = statistics.median(waiting), statistics.median(prompt)
        verdict = "met" if w <= 2 else "met for a prompt board only" if p <= 2 else "not met"
        print(f"  first pixel <= 2 s           median {w:.2f} s (board retrying), {p:.2f} s (prompt board): {verdict}")


def print_all(
    links: Sequence[LinkFigures],
    cases: Sequence[Case],
    starts: Sequence[StartRun],
    args: argparse.Namespace,
    spi_mhz: float,
) -> None:
    print_links(links, args)
    print_cases(cases, spi_mhz)
    print_starts(starts)
    print_targets(cases, starts, links[0].mbit)
