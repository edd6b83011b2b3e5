"""Confidence intervals over seeds and costs read at equal violation rates.

**CI**: the 95 % Student t-interval of the mean over seeds (each seed one independent
replication: its own Poisson arrivals and fan-out draws), ``mean ± t_{0.975, n−1}·s/√n``;
with one seed the half-width is NaN (no interval, never a zero-width one).

**Cost at a violation rate v**: a method's sweep of headroom settings gives points
(violation %, cost). Its frontier keeps the points no cheaper point beats at lower or equal
violations; the cost at v is read by linear interpolation between the two frontier points
around v; past the frontier's largest violation it is the cheapest point's cost (a method
allowed v may use its cheapest setting); below the least violation the sweep reached it is
NaN (not reached, reported, never extrapolated).
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np

# t_{0.975, df} for df = 1..30 (two-sided 95 %); beyond 30 the normal 1.96 is within 2 %
_T975 = (12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179,
         2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064,
         2.060, 2.056, 2.052, 2.048, 2.045, 2.042)


def t975(df: int) -> float:
    """The two-sided 95 % Student t quantile for ``df`` degrees of freedom (≥ 1)."""
    if df < 1:
        return math.nan
    return _T975[df - 1] if df <= len(_T975) else 1.96


def mean_ci(values: Sequence[float]) -> tuple[float, float, int]:
    """(mean, 95 % t half-width, n) over the finite values; NaN half-width for n < 2."""
    x = np.asarray([v for v in values if v is not None and np.isfinite(v)], dtype=float)
    n = len(x)
    if n == 0:
        return math.nan, math.nan, 0
    if n == 1:
        return float(x[0]), math.nan, 1
    return float(x.mean()), t975(n - 1) * float(x.std(ddof=1)) / math.sqrt(n), n


def frontier(violation: Sequence[float], cost: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    """The points of a sweep no cheaper point beats at lower or equal violations, by
    increasing violation (and so decreasing cost)."""
    v = np.asarray(violation, dtype=float)
    c = np.asarray(cost, dtype=float)
    ok = np.isfinite(v) & np.isfinite(c)
    order = np.lexsort((c[ok], v[ok]))
    fv, fc = [], []
    for vi, ci in zip(v[ok][order], c[ok][order]):
        if not fc or ci < fc[-1]:
            fv.append(vi)
            fc.append(ci)
    return np.asarray(fv), np.asarray(fc)


def cost_at_violation(violation: Sequence[float], cost: Sequence[float], level: float) -> float:
    """The cost a method needs to keep violations at ``level`` % (module doc); NaN if its
    sweep never got that low."""
    fv, fc = frontier(violation, cost)
    if len(fv) == 0 or level < fv[0]:
        return math.nan
    if level >= fv[-1]:
        return float(fc[-1])
    return float(np.interp(level, fv, fc))
