"""Exact (latency, cost) Pareto frontiers and the series-parallel DP over them.

A *front* is a list of points sorted by latency strictly ascending with cost strictly
descending: point i is the cheapest way to finish within ``lat[i]``. For an expression tree
(:mod:`fa2opt.reductions.sptree`) the front of a node is built from its children's:

* ``Leaf(v)``: v's Pareto-pruned candidates (already a front); ``Delay(d)``: the point (d, 0).
* ``Series(A, B)``: the (min, +) convolution -- every sum ``(l_a + l_b, c_a + c_b)``, then
  Pareto pruning. O(|A||B| log(|A||B|)).
* ``Parallel(A, B)``: both branches must meet the same latency t, so the front is
  ``{(t, A(t) + B(t))}`` over the union of the breakpoints, where ``A(t)`` is the cheapest
  point of A with latency ≤ t (a linear merge; the result is already Pareto). O(|A| + |B|).

Latencies are exact floats -- no grid, no discretisation error. Every front is cut at a
*cap*: a sub-expression's latency can be at most the budget minus the least latency of
everything in series with it (monotone, so the cut is exact) -- this keeps fronts short.
Each combined point remembers the indices (i, j) of the two points it came from, so the
choice of every leaf is recovered by walking back from the chosen root point.

Small fronts are combined in plain Python (faster below a few hundred pairs); larger ones
with numpy (pairs by broadcasting, a stable sort that exploits the |B| sorted runs, a
running minimum for the pruning).

This module's :func:`pareto_remainder` is the exact :class:`~fa2opt.reductions.search.
RemainderSolver`; the grid DP plugs a different one into the same search.
"""

from __future__ import annotations

from bisect import bisect_right
from typing import Any, Mapping

import numpy as np

from .reductions.pruning import Candidates
from .reductions.sptree import Delay, Leaf, Parallel, Series, SPTree

NUMPY_PAIRS = 512  # combine in numpy when |A|·|B| exceeds this (plain Python below)
INF = float("inf")

_LEAF, _FIXED, _COMB = 0, 1, 2


class Front:
    """A Pareto front plus how to walk back: a leaf's point i is candidate i of ``node``;
    a combined point r came from ``a``'s point ``I[r]`` and ``b``'s point ``J[r]``."""

    __slots__ = ("lat", "cost", "kind", "node", "a", "b", "I", "J")

    def __init__(self, lat: Any, cost: Any, kind: int = _FIXED, node: str | None = None,
                 a: "Front | None" = None, b: "Front | None" = None, I: Any = None, J: Any = None):
        self.lat, self.cost, self.kind, self.node = lat, cost, kind, node
        self.a, self.b, self.I, self.J = a, b, I, J

    def __len__(self) -> int:
        return len(self.lat)


# -- pruning -------------------------------------------------------------------------------

def pareto_prune_points(lat: np.ndarray, cost: np.ndarray, order: np.ndarray) -> np.ndarray:
    """Indices (into lat/cost) of the Pareto points, given ``order`` sorting by latency
    (ties in any order): keep a point iff it is strictly cheaper than every earlier one,
    then of equal latencies keep only the last kept (the cheapest)."""
    c = cost[order]
    prev_min = np.minimum.accumulate(np.concatenate(([INF], c[:-1])))
    keep = order[c < prev_min]
    if len(keep) > 1:
        lk = lat[keep]
        same = np.concatenate((lk[:-1] == lk[1:], [False]))
        keep = keep[~same]
    return keep


# -- front arithmetic ----------------------------------------------------------------------

def series(a: Front, b: Front, cap: float) -> Front:
    """(min, +) convolution of two fronts, keeping latencies ≤ cap."""
    na, nb = len(a), len(b)
    if na * nb <= NUMPY_PAIRS:
        al = a.lat.tolist() if isinstance(a.lat, np.ndarray) else a.lat
        ac = a.cost.tolist() if isinstance(a.cost, np.ndarray) else a.cost
        bl = b.lat.tolist() if isinstance(b.lat, np.ndarray) else b.lat
        bc = b.cost.tolist() if isinstance(b.cost, np.ndarray) else b.cost
        if nb == 1:  # a shift: already a front
            lb, cb = bl[0], bc[0]
            lat, cost = [], []
            for la in al:
                s = la + lb
                if s > cap:
                    break
                lat.append(s)
            m = len(lat)
            return Front(lat, [c + cb for c in ac[:m]], _COMB, None, a, b, list(range(m)), [0] * m)
        pts = []
        for j in range(nb):
            lb, cb = bl[j], bc[j]
            for i in range(na):
                s = al[i] + lb
                if s > cap:
                    break
                pts.append((s, ac[i] + cb, i, j))
        pts.sort()
        lat, cost, I, J = [], [], [], []
        best = INF
        for s, c, i, j in pts:
            if c < best:
                if lat and lat[-1] == s:  # cannot happen after the sort by (s, c); kept for safety
                    continue
                best = c
                lat.append(s)
                cost.append(c)
                I.append(i)
                J.append(j)
        return Front(lat, cost, _COMB, None, a, b, I, J)
    al, ac = np.asarray(a.lat, float), np.asarray(a.cost, float)
    bl, bc = np.asarray(b.lat, float), np.asarray(b.cost, float)
    # Row j of the (nb, na) grid is a's front shifted by b's point j: nb sorted runs.
    L = (bl[:, None] + al[None, :]).ravel()
    C = (bc[:, None] + ac[None, :]).ravel()
    ok = np.flatnonzero(L <= cap)
    L, C = L[ok], C[ok]
    order = np.argsort(L, kind="stable")
    keep = pareto_prune_points(L, C, order)
    flat = ok[keep]
    J, I = np.divmod(flat, na)
    return Front(L[keep], C[keep], _COMB, None, a, b, I, J)


def parallel(a: Front, b: Front) -> Front:
    """Pointwise sum: both branches within the same latency t, for each breakpoint t."""
    na, nb = len(a), len(b)
    if na + nb <= 2 * NUMPY_PAIRS:
        al = a.lat.tolist() if isinstance(a.lat, np.ndarray) else a.lat
        ac = a.cost.tolist() if isinstance(a.cost, np.ndarray) else a.cost
        bl = b.lat.tolist() if isinstance(b.lat, np.ndarray) else b.lat
        bc = b.cost.tolist() if isinstance(b.cost, np.ndarray) else b.cost
        lat, cost, I, J = [], [], [], []
        i = j = -1
        while True:
            la = al[i + 1] if i + 1 < na else INF
            lb = bl[j + 1] if j + 1 < nb else INF
            t = la if la < lb else lb
            if t == INF:
                break
            if la == t:
                i += 1
            if lb == t:
                j += 1
            if i >= 0 and j >= 0:
                lat.append(t)
                cost.append(ac[i] + bc[j])
                I.append(i)
                J.append(j)
        return Front(lat, cost, _COMB, None, a, b, I, J)
    al, ac = np.asarray(a.lat, float), np.asarray(a.cost, float)
    bl, bc = np.asarray(b.lat, float), np.asarray(b.cost, float)
    t = np.union1d(al, bl)
    I = np.searchsorted(al, t, side="right") - 1
    J = np.searchsorted(bl, t, side="right") - 1
    ok = (I >= 0) & (J >= 0)
    t, I, J = t[ok], I[ok], J[ok]
    return Front(t, ac[I] + bc[J], _COMB, None, a, b, I, J)


# -- the DP over an expression tree ---------------------------------------------------------

def _min_latency(tree: SPTree, fast: Mapping[str, float], memo: dict[int, float]) -> float:
    if isinstance(tree, Leaf):
        m = fast[tree.node]
    elif isinstance(tree, Delay):
        m = tree.latency_ms
    else:
        vals = [_min_latency(p, fast, memo) for p in tree.parts]
        m = sum(vals) if isinstance(tree, Series) else max(vals)
    memo[id(tree)] = m
    return m


def pareto_front(tree: SPTree, budget_ms: float, candidates: Mapping[str, Candidates],
                 fixed: Mapping[str, int] | None = None,
                 weight: Mapping[str, float] | None = None) -> Front:
    """The front of ``tree`` cut at ``budget_ms``: leaves of ``fixed`` nodes are the single
    point (their latency, 0) (their cost is counted by the caller); other leaves' costs are
    multiplied by ``weight.get(v, 1)``. Empty front: nothing meets the budget."""
    fixed = fixed or {}
    weight = weight or {}
    fast: dict[str, float] = {}
    for v, c in candidates.items():
        if v in fixed:
            fast[v] = c.latency[fixed[v]]
        else:
            fast[v] = c.latency[0] if len(c) else INF
    mins: dict[int, float] = {}
    _min_latency(tree, fast, mins)

    def solve(t: SPTree, cap: float) -> Front | None:
        if isinstance(t, Leaf):
            v = t.node
            c = candidates[v]
            if v in fixed:
                k = fixed[v]
                return Front([c.latency[k]], [0.0]) if c.latency[k] <= cap else None
            m = bisect_right(c.latency, cap)
            if m == 0:
                return None
            w = weight.get(v, 1.0)
            cost = c.cost[:m] if w == 1.0 else [x * w for x in c.cost[:m]]
            return Front(c.latency[:m], cost, _LEAF, v)
        if isinstance(t, Delay):
            return Front([t.latency_ms], [0.0]) if t.latency_ms <= cap else None
        parts = t.parts
        if isinstance(t, Parallel):
            acc = None
            for p in parts:
                f = solve(p, cap)
                if f is None:
                    return None
                acc = f if acc is None else parallel(acc, f)
            return acc
        rest = sum(mins[id(p)] for p in parts)
        acc = None
        for p in parts:
            rest -= mins[id(p)]
            head = acc.lat[0] if acc is not None else 0.0
            f = solve(p, cap - rest - head)
            if f is None:
                return None
            acc = f if acc is None else series(acc, f, cap - rest)
            if len(acc) == 0:
                return None
        return acc

    return solve(tree, budget_ms) or Front([], [])


def backtrack(front: Front, r: int) -> dict[str, int]:
    """The candidate index of every (non-fixed) leaf behind point r of ``front``."""
    choice: dict[str, int] = {}
    stack = [(front, r)]
    while stack:
        f, r = stack.pop()
        if f.kind == _LEAF:
            choice[f.node] = r
        elif f.kind == _COMB:
            stack.append((f.a, int(f.I[r])))
            stack.append((f.b, int(f.J[r])))
    return choice


def pareto_remainder(tree: SPTree, budget_ms: float, candidates: Mapping[str, Candidates],
                     fixed: Mapping[str, int] | None = None,
                     weight: Mapping[str, float] | None = None) -> tuple[float, dict[str, int]] | None:
    """Exact remainder solver: the least (weighted) cost of the non-fixed leaves such that
    the expression is ≤ ``budget_ms``, and the choice that attains it (None if none)."""
    front = pareto_front(tree, budget_ms, candidates, fixed, weight)
    if len(front) == 0:
        return None
    r = len(front) - 1  # the cheapest point within the budget
    return float(front.cost[r]), backtrack(front, r)
