"""bench.scale's printout: a row per measured window, then the ratios of the fastest rows against the target
and what limits them."""

from __future__ import annotations

import numpy as np

from bench.scale_figures import Result
from common.reorder import WINDOW_S

TARGET = 1.6  # frames/s and shown/s of 2 workers over 1 (the issue's)
GROUPS = {"workers": "workers", "gather": "gather", "ours": "feed+sink", "irq": "irq", "others": "others"}


def print_results(results: list[Result], cores: int) -> None:
    print(
        f"\n{'workers':>7}{'frames/s':>10}{'shown/s':>9}{'reord':>7}{'gave up':>8}{'stale':>7}{'lost':>6}{'split %':>9}"
        f"  | CPU ms/frame{'workers':>8}{'loop':>6}{'gather':>7}{'feed+sink':>10}"
        f"  | % of {cores} cores" + "".join(f"{label:>{len(label) + 1}}" for label in GROUPS.values()) + "  idle"
    )
    for r in results:
        total = sum(r.per_worker) or 1.0
        split = "/".join(f"{100 * n / total:.0f}" for n in r.per_worker)
        per_frame = "".join(f"{r.ms_per_frame(g):{w}.1f}" for g, w in (("workers", 8), ("loops", 6), ("gather", 7)))
        shares = [100 * r.cpu[g] / (r.seconds * cores) for g in GROUPS]
        print(
            f"{r.workers:7d}{r.frames_per_s:10.1f}{r.shown_per_s:9.1f}{r.reordered:7d}{r.gave_up:8d}{r.stale:7d}"
            f"{r.lost:6d}{split:>9}  | {'':12}{per_frame}{r.ms_per_frame('ours'):10.1f}  | {'':12}"
            + "".join(f"{s:{len(label) + 1}.0f}" for s, label in zip(shares, GROUPS.values(), strict=True))
            + f"{max(0.0, 100 - sum(shares)):6.0f}"
        )
    dropped = ", ".join(f"{r.gather_dropped:.0f}" for r in results)
    print(
        f"reord: came before an earlier frame and waited until it came (common/reorder.py, {WINDOW_S * 1000:.0f} ms at "
        "most); gave up: waited in vain; stale: came after a newer frame even so (encode_damage drops it)"
    )
    print(f"lost: never came out; gather dropped: {dropped}")


def print_summary(results: list[Result], alone_ms: float, cores: int) -> None:
    """Ratios from the fastest row of each worker count (the one others disturbed least), and why."""
    best: dict[int, Result] = {}
    for r in results:
        if r.arrived and (r.workers not in best or r.frames_per_s > best[r.workers].frames_per_s):
            best[r.workers] = r
    one, two = best.get(1), best.get(2)
    if one is None or two is None:
        return
    ratio = two.frames_per_s / one.frames_per_s
    shown = two.shown_per_s / max(1e-9, one.shown_per_s)
    verdict = "met" if min(ratio, shown) >= TARGET else "not met"
    print(
        f"\nfastest rows, 2 workers / 1: {ratio:.2f}x frames/s, {shown:.2f}x shown/s (target >= {TARGET}x: {verdict})"
    )
    print(
        f"2 workers: {100 * two.reordered / two.arrived:.0f} % of corrected frames waited for an earlier one and "
        f"were put back in order, {100 * two.gave_up / two.arrived:.0f} % waited in vain"
    )
    if two.stale:
        lag = np.percentile(two.stale_lag_ms, (50, 95))
        print(
            f"2 workers: {100 * two.stale / two.arrived:.0f} % of corrected frames stale; {two.stale_swaps} of "
            f"{two.stale} are frame n right after n+1, late by {lag[0]:.1f} ms (p50), {lag[1]:.1f} ms (p95)"
        )
    ours = sum(two.ms_per_frame(g) for g in ("workers", "gather", "ours"))
    left = cores - (two.cpu["others"] + two.cpu["irq"]) / two.seconds
    bound = left * 1000 / ours
    print(
        f"2 workers: our processes {ours:.1f} ms CPU per frame, {left:.2f} cores left by others "
        f"-> at most {bound:.1f} frames/s = {bound / one.frames_per_s:.2f}x this 1-worker row"
    )
    loop = one.ms_per_frame("loops")
    one_ours = sum(one.ms_per_frame(g) for g in ("workers", "gather", "ours"))
    idle_one = min(1000 / loop, cores * 1000 / one_ours)
    idle_two = min(2000 / two.ms_per_frame("loops"), cores * 1000 / ours)
    print(
        f"on {cores} free cores, from these CPU figures: 1 worker <= {idle_one:.1f} frames/s (its loop), "
        f"2 workers <= {idle_two:.1f} (all our CPU) = {idle_two / idle_one:.2f}x"
    )
    print(f"color alone (correct_frame + encode_frame in this process, no sockets): {alone_ms:.1f} ms CPU per frame")
