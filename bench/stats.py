"""Medians, spreads, percentiles and the matching of updates to what a client saw. No dependencies."""

from __future__ import annotations

import math
import statistics
from bisect import bisect_left
from collections.abc import Sequence


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def percentile(values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def delays(updates: Sequence[tuple[float, int]], seen: Sequence[tuple[float, int]]) -> list[float | None]:
    """For each update (time, step count it made), how long until a client first saw that count or more.

    ``seen`` is (arrival time, step count shown), in any order; None for an update never seen.
    """
    times: list[float] = []
    levels: list[int] = []
    for at, steps in sorted(seen):
        if not levels or steps > levels[-1]:
            times.append(at)
            levels.append(steps)
    found: list[float | None] = []
    for at, steps in updates:
        index = bisect_left(levels, steps)
        found.append(times[index] - at if index < len(levels) else None)
    return found


def summary(values: Sequence[float], scale: float = 1.0, digits: int = 2) -> str:
    """``median [min-max]``, scaled (1000 for ms)."""
    if not values:
        return "n/a"
    low, mid, high = (f"{v * scale:.{digits}f}" for v in (min(values), median(values), max(values)))
    return mid if len(values) == 1 else f"{mid} [{low}-{high}]"
