"""Lagrangian bounds for the exact front DP of a large series-parallel tree.

Relax the flow's latency constraint with a path flow of value μ ≥ 0 from source to sink
(Lagrangian relaxation of the path constraints; for series-parallel time-cost trade-offs
see Demeulemeester, Herroelen & Elmaghraby, EJOR 1996). Contract any set of disjoint
sub-expressions ``s`` covering the tree to single "super nodes" of latency ``T_s`` and cost
``c_s``; the flow through s is ``μ_s`` (a series passes its flow to every part, a parallel
splits it among its parts, any split ≥ 0). For every choice within the budget B:

    cost = Σ_s c_s ≥ Σ_s (c_s + μ_s T_s) − μ B ≥ Σ_s Φ_s(μ_s) − μ B,
    Φ_s(μ) = min_t (H_s(t) + μ t),

where ``H_s`` is any convex function below s's front (s's least cost within latency t).
Keeping one sub-expression e exact gives the bound of a point (ℓ, c) of e's front:

    c + μ_e ℓ + Σ_{s ≠ e} Φ_s(μ_s) − μ B  ≤  cost of every completion within B,

so a point whose bound exceeds an upper bound UB (the cost of a feasible choice) is in no
better solution than UB and is dropped: the optimum's points (or points dominating them)
always stay. The DP carries ``(μ_e, lim_e)`` down the tree and keeps the points with
``c + μ_e ℓ ≤ lim_e`` (:meth:`~fa2opt.pareto._Context.front`): the root's limit is
``UB + μ B``, a part's is its parent's less its siblings' Φ (a series' parts and its fold's
prefixes share the series' flow; a parallel's parts get the split below). Bound pruning
keeps the DP exact; it only needs the flows to be non-negative and conserved.

``H_s`` (:func:`hulls`, bottom-up, O(Σ hull sizes) numpy work): a leaf's lower convex hull;
a series' the Minkowski sum of its parts' hulls (edges merged by slope: exactly the hull of
the series' front); a parallel's the pointwise sum of its parts' hulls (≤ the parallel's
front, the sum of theirs). The flow μ at the root is the (negated) slope of the root's hull
at B, the LP dual optimum of the relaxation (μ = 0 when the relaxed cheapest choice fits);
a parallel of flow μ splits it by its parts' slopes at the point t where its hull meets
slope −μ (then Σ Φ_i(μ_i) = Φ(μ), the best split). UB (:func:`greedy_choice`): the same
hulls decompose B over the tree (a series' target along its hull's edge of slope −μ split
into its parts' vertices, a parallel's target given to every part), each leaf taking its
cheapest candidate within its target: a feasible choice within a rounding of the LP
point.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from typing import Any, Callable, Sequence

import numpy as np

from .reductions.sptree import trampoline

INF = float("inf")


class Hull:
    """A convex, non-increasing piecewise-linear function of latency: vertices ``t``
    (rising), ``c`` and edge slopes ``s`` (rising, < 0); constant after the last vertex,
    +∞ before the first. Leaves hold Python lists (short, many), composites numpy arrays;
    the look-ups bisect either."""

    __slots__ = ("t", "c", "s")

    def __init__(self, t: Any, c: Any, s: Any = None):
        self.t, self.c = t, c
        if s is None:
            s = np.diff(c) / np.diff(t) if len(t) > 1 else np.empty(0)
        self.s = s

    def phi(self, mu: float) -> float:
        """Φ(μ) = min_t (H(t) + μ t) (the least value at a vertex)."""
        if type(self.t) is list:
            return min(c + mu * t for t, c in zip(self.t, self.c))
        return float(np.min(self.c + mu * self.t))

    def slopes_at(self, t: float) -> tuple[float, float]:
        """The left and right slopes at t (−∞ left of the first vertex, 0 after the last)."""
        k = bisect_left(self.t, t)
        n = len(self.t)
        if k < n and self.t[k] == t:
            return ((float(self.s[k - 1]) if k > 0 else -INF),
                    (float(self.s[k]) if k < n - 1 else 0.0))
        if k == 0:
            return -INF, -INF
        if k == n:
            return 0.0, 0.0
        v = float(self.s[k - 1])
        return v, v

    def vertex_at_slope(self, slope: float) -> tuple[int, int]:
        """The first and last vertex minimising H(t) − slope·t (the edges of that slope
        lie between them)."""
        return bisect_left(self.s, slope), bisect_right(self.s, slope)


def leaf_hull(lat: Sequence[float], cost: Sequence[float]) -> Hull:
    """Lower convex hull of a front (latency rising, cost falling): monotone chain, O(K)."""
    T: list[float] = []
    C: list[float] = []
    for l, c in zip(lat, cost):
        while len(T) >= 2 and (C[-1] - C[-2]) * (l - T[-2]) >= (c - C[-2]) * (T[-1] - T[-2]):
            T.pop()
            C.pop()
        if T and c >= C[-1]:  # (not a front: keep the cheaper faster point)
            continue
        T.append(l)
        C.append(c)
    return Hull(T, C, [(C[i + 1] - C[i]) / (T[i + 1] - T[i]) for i in range(len(T) - 1)])


def series_hull(parts: Sequence[Hull]) -> Hull:
    """Minkowski sum: the first vertices added, the edges merged by slope. O(E log E)."""
    t0 = sum(float(h.t[0]) for h in parts)
    c0 = sum(float(h.c[0]) for h in parts)
    ls, ldt, ldc, arrays = [], [], [], []
    for h in parts:
        if len(h.t) < 2:
            continue
        if type(h.t) is list:
            t, c = h.t, h.c
            ls.extend(h.s)
            ldt.extend([t[i + 1] - t[i] for i in range(len(t) - 1)])
            ldc.extend([c[i + 1] - c[i] for i in range(len(c) - 1)])
        else:
            arrays.append((h.s, np.diff(h.t), np.diff(h.c)))
    if ls:
        arrays.append((np.array(ls), np.array(ldt), np.array(ldc)))
    if not arrays:
        return Hull(np.array([t0]), np.array([c0]))
    s, dt, dc = (np.concatenate(x) for x in zip(*arrays))
    order = np.argsort(s, kind="stable")
    t = np.concatenate(([t0], t0 + np.cumsum(dt[order])))
    c = np.concatenate(([c0], c0 + np.cumsum(dc[order])))
    return Hull(t, c, s[order])  # the parts' own slopes: a vertex at slope σ is theirs at σ


def parallel_hull(parts: Sequence[Hull]) -> Hull:
    """Pointwise sum over the common domain (from the slowest first vertex on): convex,
    below the parallel's front. O(Σ sizes · parts)."""
    start = max(float(h.t[0]) for h in parts)
    t = np.unique(np.concatenate([h.t for h in parts] + [np.array([start])]))
    t = t[t >= start]
    c = np.zeros(len(t))
    for h in parts:
        c += np.interp(t, h.t, h.c)
    return Hull(t, c)


def truncate(h: Hull, cap: float) -> Hull:
    """``h`` on latencies ≤ cap only (its last edge cut there, slope kept): a lower bound of
    every choice no slower than cap, shorter. The first vertex stays even above cap."""
    n = bisect_right(h.t, cap)
    if n == len(h.t):
        return h
    if n == 0:
        return Hull(h.t[:1], h.c[:1], h.s[:0])
    if h.t[n - 1] == cap:
        return Hull(h.t[:n], h.c[:n], h.s[:n - 1])
    c = h.c[n - 1] + h.s[n - 1] * (cap - h.t[n - 1])
    if type(h.t) is list:
        return Hull(h.t[:n] + [cap], h.c[:n] + [c], h.s[:n])
    return Hull(np.append(h.t[:n], cap), np.append(h.c[:n], c), h.s[:n])


def split_flow(parts: Sequence[Hull], t: float, mu: float) -> list[float]:
    """A parallel's flow μ split over its parts by their slopes at t: part i takes between
    −(right slope) and −(left slope), the rest where there is room; always ≥ 0 and summing
    to μ (any such split is a valid bound; this one is the best when t minimises the
    parallel's H + μ t)."""
    lo, hi = [], []
    for h in parts:
        sl, sr = h.slopes_at(t)
        lo.append(max(0.0, -sr))
        hi.append(max(0.0, -sl))
    total = sum(lo)
    if total > mu:  # (rounding) scale down
        return [x * mu / total for x in lo] if total > 0 else [mu / len(parts)] * len(parts)
    out = list(lo)
    rest = mu - total
    for i in range(len(out)):
        if rest <= 0.0:
            break
        add = min(rest, hi[i] - lo[i])
        out[i] += add
        rest -= add
    if rest > 0.0:
        out[0] += rest
    return out


def greedy_choice(tree: Any, budget: float, hull: Callable[[Any], Hull],
                  leaf: Callable[[Any], tuple[Sequence[float], Sequence[float]]],
                  is_series: Callable[[Any], bool], check: Callable[[], None] | None = None
                  ) -> tuple[float, float] | None:
    """A feasible choice near the relaxation's optimum, as (its latency, its cost), or None.

    1. Targets go down the tree: the root's is the budget; a series' target t is decomposed
       along its hull (its parts' vertices at slope −μ, μ its slope at t, plus the edge's
       slack in order), a parallel's target goes to every part; each leaf (``leaf(t)``: its
       front's latencies and costs) takes its cheapest point within its target.
    2. Slack filling: down the tree again, each part may use what its siblings left (a
       series part: its parent's allowance less the others' latencies, the parts before
       it already refilled), each leaf its cheapest point within that.
    Latencies are evaluated as the DP does (series summed left to right, parallel max);
    both passes are generators on :func:`~fa2opt.reductions.sptree.trampoline` (the tree
    nests as deep as the graph; ``check`` is called before each step, e.g.
    :func:`fa2opt.deadline.checker`'s). O(tree · log K)."""
    picks: list[int] = []  # per leaf occurrence, left to right: its point
    old: list[float] = []  # per occurrence, pre-order: its latency after pass 1 ...
    span: list[int] = []  # ... and the number of occurrences in its subtree

    def down(t: Any, target: float):
        k = len(old)
        old.append(0.0)
        span.append(1)
        parts = getattr(t, "parts", None)
        if parts is None:
            lat, _ = leaf(t)
            m = max(1, bisect_right(lat, target))
            picks.append(m - 1)
            old[k] = v = lat[m - 1]
            return v
        if is_series(t):
            h = hull(t)
            sl, sr = h.slopes_at(target)
            slope = sr if target < h.t[-1] else sl  # (at the end: along its last edge)
            firsts, lasts = [], []
            for p in parts:
                h = hull(p)
                a, b = h.vertex_at_slope(slope)
                firsts.append(float(h.t[min(a, len(h.t) - 1)]))
                lasts.append(float(h.t[min(b, len(h.t) - 1)]))
            slack = target - sum(firsts)
            v = 0.0
            for p, a, b in zip(parts, firsts, lasts):
                add = min(max(slack, 0.0), b - a)
                slack -= add
                v += yield down(p, a + add)
        else:
            v = -INF
            for p in parts:
                v = max(v, (yield down(p, target)))
        old[k] = v
        span[k] = len(old) - k
        return v

    def fill(t: Any, k: int, allowed: float):
        parts = getattr(t, "parts", None)
        if parts is None:
            i = leaf_of[k]
            lat, _ = leaf(t)
            picks[i] = max(picks[i], bisect_right(lat, allowed) - 1)
            old[k] = v = lat[picks[i]]
            return v
        kids = []  # the parts' occurrences: each after the previous one's subtree
        j = k + 1
        for _ in parts:
            kids.append(j)
            j += span[j]
        if not is_series(t):
            v = -INF
            for p, j in zip(parts, kids):
                v = max(v, (yield fill(p, j, allowed)))
        else:
            rest = sum(old[j] for j in kids)
            v = 0.0
            for p, j in zip(parts, kids):
                rest -= old[j]
                v += yield fill(p, j, allowed - v - rest)
        old[k] = v
        return v

    filled = trampoline(down(tree, budget), check)
    if not filled <= budget:
        return None
    leaf_of = {k: i for i, k in enumerate(k for k, n in enumerate(span) if n == 1)}  # -> picks
    keep = list(picks)
    v = trampoline(fill(tree, 0, budget), check)
    if v <= budget:
        filled = v
    else:  # (rounding) keep pass 1's choice
        picks[:] = keep
    cost = 0.0
    it = iter(picks)
    stack = [tree]
    while stack:  # the leaves in order
        t = stack.pop()
        parts = getattr(t, "parts", None)
        if parts is None:
            cost += leaf(t)[1][next(it)]
        else:
            stack.extend(reversed(parts))
    return filled, cost
