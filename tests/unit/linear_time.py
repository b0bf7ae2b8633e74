"""A guard against catastrophic backtracking that a busy machine cannot trip.

A wall-time bound per call fails on a CI runner whose cores are shared with other jobs. This
compares the CPU time of this thread (which other processes cannot inflate) on an input with
the CPU time on a quarter of it, both measured in the same test: linear work grows about 4x,
quadratic 16x, exponential far more. Below a floor the figures are noise, and a call that
cheap cannot stall the bot anyway, so growth is judged against at least the floor.
"""

from __future__ import annotations

import time
from collections.abc import Callable

KIB64 = 64 * 1024
# 4x more input may cost up to 8x (linear with room for caches and n log n); quadratic is 16x.
MAX_GROWTH = 8.0
FLOOR_S = 0.002


def cpu_seconds(call: Callable[[], object], runs: int = 2) -> float:
    """The least CPU time of ``runs`` calls: one run can still catch a cold cache."""
    best = float("inf")
    for _ in range(runs):
        started = time.thread_time()
        call()
        best = min(best, time.thread_time() - started)
    return best


def assert_linear(call_with: Callable[[int], object], size: int = KIB64, what: str = "") -> None:
    """``call_with(n)`` runs the code under test on an input of ``n`` characters."""
    growth = 0.0
    for _ in range(2):  # a second look before failing: one unlucky measurement is not a trend
        small = cpu_seconds(lambda: call_with(size // 4))
        large = cpu_seconds(lambda: call_with(size))
        growth = large / max(small, FLOOR_S)
        if growth <= MAX_GROWTH:
            return
    raise AssertionError(
        f"{what}: {size // 4} -> {size} chars cost {small * 1000:.1f} -> {large * 1000:.1f} ms "
        f"of CPU ({growth:.1f}x for 4x the input): worse than linear"
    )
