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
Each combined point remembers the indices (i, j) of the two points it came from (a shift by
a one-point front, e.g. a series' edge delay, implicitly: (r, 0)), so the choice of every
leaf is recovered by walking back from the chosen root point. A leaf's front is its node's
:class:`~fa2opt.reductions.pruning.Candidates` itself (cut at the cap only when it reaches past).

Small fronts are combined in plain Python (faster below a few hundred pairs); larger ones
with numpy (pairs by broadcasting, a stable sort that exploits the |B| sorted runs, a
running minimum for the pruning); a series with a long front (≥ 512 points) row by row,
each shifted copy kept only where it beats the front so far (:func:`_series_rows`, the
same result without sorting every pair). Trees nest as deep as the graph: sub-expressions
up to ``DIRECT_HEIGHT`` high are evaluated by plain (bounded) recursion, taller ones on a
generator trampoline (:func:`~fa2opt.reductions.sptree.trampoline`). Large trees (at least
``BOUND_COMPOSITES`` series/parallels, whose plain DP forms more than ``BOUND_PAIRS`` pairs:
it is stopped there) prune every front by a Lagrangian bound against a greedy upper bound
(:mod:`fa2opt.pareto_bound`, :meth:`_Context.root_bound`): exact, the fronts stay short.

This module's :func:`pareto_remainder` is the exact :class:`~fa2opt.reductions.search.
RemainderSolver`, declared with its capabilities as :data:`EXACT_FRONTS` (an
:class:`~fa2opt.arithmetic.Arithmetic`); the grid DP declares a different one for the same
plan and search.
"""

from __future__ import annotations

import math
import time
from bisect import bisect_right
from contextlib import contextmanager
from itertools import repeat
from typing import Any, Generator, Iterator, Mapping, Sequence

import numpy as np

from . import deadline, tree_kernel
from .arithmetic import Arithmetic
from .pareto_bound import greedy_choice, leaf_hull, parallel_hull, series_hull, split_flow, truncate
from .reductions.pruning import LEAF as _LEAF, Candidates, front_rows
from .reductions.sptree import Delay, Leaf, Parallel, Series, SPTree, trampoline

NUMPY_PAIRS = 512  # combine in numpy when |A|·|B| exceeds this (plain Python below)
INF = float("inf")
_NDARRAY = np.ndarray

_FIXED, _COMB, _SHIFT = 1, 2, 3  # a Front's kind; a leaf's (_LEAF, 0) is its Candidates' own
Bound = tuple  # (μ, lim): keep a front's points with c + μ·l ≤ lim (fa2opt.pareto_bound)
BOUND_TOL = 1e-9  # relative slack of the bound's limit (rounding in the sums of Φ, latencies)


class Front:
    """A Pareto front plus how to walk back: a leaf's point i is candidate i of ``node``;
    a combined point r came from ``a``'s point ``I[r]`` and ``b``'s point ``J[r]``; a
    shifted one (kind ``_SHIFT``: ``a`` in series with the one point of ``b``, e.g. a
    series' edge delay) from ``a``'s point r and ``b``'s point 0, without index lists."""

    __slots__ = ("lat", "cost", "kind", "node", "a", "b", "I", "J")

    def __init__(self, lat: Any, cost: Any, kind: int = _FIXED, node: str | None = None,
                 a: "Front | None" = None, b: "Front | None" = None, I: Any = None, J: Any = None):
        self.lat, self.cost, self.kind, self.node = lat, cost, kind, node
        self.a, self.b, self.I, self.J = a, b, I, J

    def __len__(self) -> int:
        return len(self.lat)

    def pair(self, r: int) -> tuple[int, int]:
        """A combined point's back-pointers: the indices of the points of ``a`` and ``b`` that
        point r came from (what :func:`backtrack` follows)."""
        return (r, 0) if self.kind == _SHIFT else (int(self.I[r]), int(self.J[r]))


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

# pairs formed by :func:`series` so far (never reset; a caller takes differences): the
# DP's work in a unit that does not depend on the machine (the one-flow-exact bound's
# budget, :mod:`fa2opt.reductions.dp_bound`, and the copy split's,
# :meth:`fa2opt.reductions.flow_bound.LPSearch.hand_over`, count their DPs' work by it;
# the compiled DP adds its own, :class:`fa2opt.tree_kernel.TreeRemainder`); PAIRS_PER_UNIT
# of them make one of the searches' work units (a leaf-candidate of the Python DP, ~4 µs)
PAIRS = [0]
PAIRS_PER_UNIT = 16
# the PAIRS count past which series() stops with WorkSpent: a caller's cap on the work of one
# block of DPs (capped); inf outside any
PAIRS_CAP = [math.inf]


class WorkSpent(Exception):
    """The DPs inside :func:`capped` formed more pairs than it allowed."""


@contextmanager
def capped(units: float) -> Iterator[None]:
    """Within the block, :func:`series` raises :class:`WorkSpent` once the DPs have formed
    more than ``units`` work units' pairs (PAIRS_PER_UNIT each) since it began: a bound on
    one block's work that, unlike a clock, gives the same search on every machine (nested
    blocks: the tighter cap holds). A compiled DP is not stopped part-way; its pairs, counted
    after it, stop the next series()."""
    outer = PAIRS_CAP[0]
    PAIRS_CAP[0] = min(outer, PAIRS[0] + units * PAIRS_PER_UNIT)
    try:
        yield
    finally:
        PAIRS_CAP[0] = outer


def series(a: Front, b: Front, cap: float, bd: Bound | None = None) -> Front:
    """(min, +) convolution of two fronts, keeping latencies ≤ cap. With a bound ``bd`` =
    (μ, lim), μ ≥ 0 (the bounded DP's fold), the pairs formed in numpy drop those with
    ``c + μ l > lim`` before their sort: the front :func:`_bounded` leaves after it (a
    dropped pair only dominates pairs that are slower and no cheaper, hence beyond the
    bound too); 0.92-0.94x the time of nested SP graphs of 1,000 nodes (alternating runs)."""
    al, ac, bl, bc = a.lat, a.cost, b.lat, b.cost
    na, nb = len(al), len(bl)
    PAIRS[0] += na * nb
    if PAIRS[0] > PAIRS_CAP[0]:
        raise WorkSpent
    if na * nb <= NUMPY_PAIRS:
        if type(al) is _NDARRAY:  # a numpy front: its lists (`type` is cheaper than isinstance)
            al, ac = al.tolist(), ac.tolist()
        if type(bl) is _NDARRAY:
            bl, bc = bl.tolist(), bc.tolist()
        if nb == 1:  # a shift: already a front (point r: a's r and b's 0, no index lists)
            lb, cb = bl[0], bc[0]
            lat = [la + lb for la in al]
            m = na
            while m and lat[m - 1] > cap:  # the sums rise with la: a prefix fits
                m -= 1
            if m < na:
                del lat[m:]
                ac = ac[:m]
            # (a delay costs nothing: a's costs as they are, c + 0.0 being c)
            return Front(lat, [c + cb for c in ac] if cb else ac, _SHIFT, None, a, b)
        # pair k = j·na + i; sort the sums, keep each point cheaper than all faster ones
        L = [la + lb for lb in bl for la in al]
        C = [ca + cb for cb in bc for ca in ac]
        lat, cost, I, J = [], [], [], []
        best = INF
        last = None  # the latency of the last point kept
        # (one point of a: the sums already rise with j, and a stable sort keeps them so)
        for k in range(nb) if na == 1 else sorted(range(len(L)), key=L.__getitem__):
            c = C[k]
            if c < best:
                s = L[k]
                if s > cap:
                    break
                best = c
                if s == last:  # same latency, cheaper: replaces the last point
                    cost[-1] = c
                    I[-1] = k % na
                    J[-1] = k // na
                else:
                    lat.append(s)
                    cost.append(c)
                    I.append(k % na)
                    J.append(k // na)
                    last = s
        return Front(lat, cost, _COMB, None, a, b, I, J)
    al, ac = np.asarray(a.lat, float), np.asarray(a.cost, float)
    bl, bc = np.asarray(b.lat, float), np.asarray(b.cost, float)
    if na * nb > MERGE_PAIRS and na >= MERGE_ROW:
        L, C, I, J = _series_rows(al, ac, bl, bc, cap)
        return Front(L, C, _COMB, None, a, b, I, J)
    # Row j of the (nb, na) grid is a's front shifted by b's point j: nb sorted runs.
    L = (bl[:, None] + al[None, :]).ravel()
    C = (bc[:, None] + ac[None, :]).ravel()
    ok = np.flatnonzero(L <= cap if bd is None else (L <= cap) & (C + bd[0] * L <= bd[1]))
    L, C = L[ok], C[ok]
    order = np.argsort(L, kind="stable")
    keep = pareto_prune_points(L, C, order)
    flat = ok[keep]
    J, I = np.divmod(flat, na)
    return Front(L[keep], C[keep], _COMB, None, a, b, I, J)


MERGE_PAIRS = 4096  # above this many pairs series() goes by rows (_series_rows) ...
MERGE_ROW = 512  # ... when a's front is at least this long (a row's numpy calls pay off)
MERGE_BLOCK = 32  # rows of _series_rows per sort


def _series_rows(al: np.ndarray, ac: np.ndarray, bl: np.ndarray, bc: np.ndarray,
                 cap: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """:func:`series` of large fronts without sorting every pair. Row j is a's front
    shifted by b's point j (cut at ``cap``); rows are taken in blocks of
    :data:`MERGE_BLOCK`: each row keeps only its points strictly cheaper than the front so
    far at their latency (the others are dominated by a point before them), and the front
    so far plus the block's survivors are sorted (stable) and pruned. The same points and
    back-pointers as sorting all pairs: pair j·|a| + i keeps its place in the stable
    order (the front so far comes from earlier rows), and a dropped point is dominated by
    one that precedes it, so no other point's running minimum changes. Rows beyond the
    front's reach are a window each, so this is O(|b|·|a| + sort of the survivors)."""
    m = int(np.searchsorted(bl[0] + al, cap, side="right"))  # row 0 alone is nearly a front
    L, C = (bl[0] + al)[:m], bc[0] + ac[:m]
    keep = pareto_prune_points(L, C, np.arange(m))
    L, C, I, J = L[keep], C[keep], keep, np.zeros(len(keep), dtype=np.int64)
    nb = len(bl)
    for j0 in range(1, nb, MERGE_BLOCK):
        if m == 0:
            break
        parts = [(L, C, I, J)]
        prev = np.concatenate(([INF], C))  # prev[p]: cost of the front's p-th point, 1-based
        for j in range(j0, min(j0 + MERGE_BLOCK, nb)):
            rl = bl[j] + al
            m = int(np.searchsorted(rl, cap, side="right"))
            if m == 0:  # b's later points are slower still
                break
            rl, rc = rl[:m], bc[j] + ac[:m]
            ok = np.flatnonzero(rc < prev[np.searchsorted(L, rl, side="right")])
            if len(ok):
                parts.append((rl[ok], rc[ok], ok, np.full(len(ok), j, dtype=np.int64)))
        if len(parts) > 1:
            L, C, I, J = (np.concatenate(x) for x in zip(*parts))
            keep = pareto_prune_points(L, C, np.argsort(L, kind="stable"))
            L, C, I, J = L[keep], C[keep], I[keep], J[keep]
    return L, C, I, J


def parallel(a: Front, b: Front) -> Front:
    """Pointwise sum: both branches within the same latency t, for each breakpoint t."""
    al, ac, bl, bc = a.lat, a.cost, b.lat, b.cost
    na, nb = len(al), len(bl)
    if na + nb <= 2 * NUMPY_PAIRS:
        if type(al) is _NDARRAY:
            al, ac = al.tolist(), ac.tolist()
        if type(bl) is _NDARRAY:
            bl, bc = bl.tolist(), bc.tolist()
        if not na or not nb:
            return Front([], [], _COMB, None, a, b, [], [])
        # from the first breakpoint where both have a point, each breakpoint of either in
        # turn; i, j: the last point of each within it
        t = al[0] if al[0] > bl[0] else bl[0]
        i = j = 0
        while i + 1 < na and al[i + 1] <= t:
            i += 1
        while j + 1 < nb and bl[j + 1] <= t:
            j += 1
        lat, cost, I, J = [t], [ac[i] + bc[j]], [i], [j]
        na -= 1
        nb -= 1
        while True:
            if i < na:
                la = al[i + 1]
                if j < nb:
                    lb = bl[j + 1]
                    if la < lb:
                        i += 1
                    elif lb < la:
                        j += 1
                        la = lb
                    else:
                        i += 1
                        j += 1
                else:
                    i += 1
            elif j < nb:
                j += 1
                la = bl[j]
            else:
                break
            lat.append(la)
            cost.append(ac[i] + bc[j])
            I.append(i)
            J.append(j)
        return Front(lat, cost, _COMB, None, a, b, I, J)
    return _parallel_arrays(a, b)


PARALLEL_ARRAYS = 128  # the bounded DP merges parallels of more points than this in numpy


def _parallel_arrays(a: Front, b: Front) -> Front:
    """:func:`parallel` in numpy: the union of breakpoints, each branch's cheapest point
    within it by ``searchsorted``. O((|A| + |B|) log)."""
    al, ac = np.asarray(a.lat, float), np.asarray(a.cost, float)
    bl, bc = np.asarray(b.lat, float), np.asarray(b.cost, float)
    t = np.union1d(al, bl)
    I = np.searchsorted(al, t, side="right") - 1
    J = np.searchsorted(bl, t, side="right") - 1
    ok = (I >= 0) & (J >= 0)
    t, I, J = t[ok], I[ok], J[ok]
    return Front(t, ac[I] + bc[J], _COMB, None, a, b, I, J)


# -- the DP over an expression tree ---------------------------------------------------------

_NONE: Mapping = {}  # an empty mapping, never written to (_Context's defaults)
_NO_IDS: frozenset = frozenset()


def _plain_leaf(c: Candidates, cap: float) -> Front | Candidates | None:
    """A leaf's front without a fixing or a weight: its node's candidates themselves, cut at
    ``cap`` when they reach past it (None: none fits). :meth:`_Context.front`'s plain Leaf
    case, called directly by the series and parallel merges (a dispatch saved per leaf)."""
    lat = c.lat
    m = bisect_right(lat, cap)
    if m == 0:
        return None
    return c if m == len(lat) else Front(lat[:m], c.cost[:m], _LEAF, c.node)


class _Context:
    """What one remainder solve shares: candidates, fixed nodes, weights, least latencies."""

    __slots__ = ("candidates", "fixed", "weight", "plain", "mins", "tall", "deep", "composites",
                 "hulls", "work")  # (slots: cheaper to set and read, on every decision)

    def __init__(self, tree: SPTree, candidates: Mapping[str, Candidates],
                 fixed: Mapping[str, int] | None, weight: Mapping[str, float] | None):
        self.candidates = candidates
        self.fixed = fixed or _NONE  # (read only: one shared empty mapping, no dict per solve)
        self.weight = weight or _NONE
        self.plain = not fixed and not weight  # every leaf's front: its candidates (cut at a cap)
        self.mins: dict[int, float] = {}
        self.tall: set[int] = _NO_IDS  # composites (by id) higher than DIRECT_HEIGHT (a set
        # of its own once one is found: deep_min_latency)
        self.deep = False  # the tree is deeper than DIRECT_HEIGHT somewhere
        self.composites = 0  # series and parallel occurrences (when to bound: pareto_remainder)
        self.hulls: dict = _NONE  # sub-expression (by id) -> its Hull (set by :meth:`root_bound`)
        self.work: list | None = None  # [pairs the plain DP may still form] (pareto_remainder)
        self.min_latency(tree)
        if self.deep:  # mark every tall composite (the ancestors of the deep parts too)
            self.composites = 0  # (counted again, over the whole tree)
            self.deep_min_latency(tree)

    def leaf_fastest(self, v: str) -> float:
        lat = self.candidates[v].latency
        if self.fixed and v in self.fixed:
            return lat[self.fixed[v]]
        return lat[0] if len(lat) else INF

    def min_latency(self, tree: SPTree, depth: int = 0) -> float:
        """The least latency of ``tree`` and of each of its sub-expressions (``mins``, by id):
        a series sums its parts' (``sum``, left to right), a parallel takes their max.
        Recursive while at most :data:`DIRECT_HEIGHT` deep (most trees, fastest); a deeper
        part is done by :meth:`deep_min_latency`, which also marks the ``tall`` composites."""
        tp = type(tree)
        if tp is Leaf:
            m = self.leaf_fastest(tree.node)
        elif tp is Delay:
            m = tree.latency_ms
        elif depth == DIRECT_HEIGHT:
            self.deep = True
            return self.deep_min_latency(tree)
        else:
            self.composites += 1
            depth += 1
            mins, cands, fixed = self.mins, self.candidates, self.fixed
            series = tp is Series
            m = 0.0 if series else -INF
            for p in tree.parts:  # (a leaf's or a delay's inline: a call each saved)
                tq = type(p)
                if tq is Leaf:
                    v = p.node
                    lat = cands[v].latency
                    x = lat[fixed[v]] if fixed and v in fixed else lat[0] if len(lat) else INF
                    mins[id(p)] = x
                elif tq is Delay:
                    x = mins[id(p)] = p.latency_ms
                else:
                    x = self.min_latency(p, depth)
                if series:  # the sum left to right; a parallel's max (the first of equals)
                    m += x
                elif x > m:
                    m = x
        self.mins[id(tree)] = m
        return m

    def deep_min_latency(self, tree: Series | Parallel) -> float:
        """:meth:`min_latency` of a deep composite without recursion (leaves as they are met,
        composites afterwards in reverse pre-order, each after all of its parts), and the
        composites higher than :data:`DIRECT_HEIGHT` into ``tall`` (run again over the
        whole tree once the recursion returns, so that their ancestors are marked too)."""
        mins = self.mins
        comps = []
        stack = [tree]
        while stack:
            t = stack.pop()
            comps.append(t)
            for p in t.parts:
                tp = type(p)
                if tp is Leaf:
                    mins[id(p)] = self.leaf_fastest(p.node)
                elif tp is Delay:
                    mins[id(p)] = p.latency_ms
                else:
                    stack.append(p)
        self.composites += len(comps)
        heights: dict[int, int] = {}
        for t in reversed(comps):
            vals = [mins[id(p)] for p in t.parts]
            mins[id(t)] = sum(vals) if type(t) is Series else max(vals)
            h = heights[id(t)] = 1 + max(heights.get(id(p), 0) for p in t.parts)
            if h > DIRECT_HEIGHT:
                if self.tall is _NO_IDS:
                    self.tall = set()
                self.tall.add(id(t))
        return mins[id(tree)]

    # -- full fronts -----------------------------------------------------------------------
    # A sub-expression at most DIRECT_HEIGHT high (every one in most trees) is evaluated by
    # plain recursion, bounded by that height; a taller one (``tall``) by :meth:`_nested`, a
    # generator on :func:`~fa2opt.reductions.sptree.trampoline` (trees nest as deep as the
    # graph) that evaluates the same way: parts left to right, the first empty one ends it.

    def front(self, t: SPTree, cap: float, bd: Bound | None = None) -> Front | None:
        """The whole front of ``t`` up to ``cap`` (None: empty); with a bound ``bd`` = (μ,
        lim) only its points with ``c + μ l ≤ lim`` (:mod:`fa2opt.pareto_bound`)."""
        tp = type(t)
        if tp is Leaf:
            v = t.node
            c = self.candidates[v]
            if self.fixed and v in self.fixed:
                k = self.fixed[v]
                f = Front([c.latency[k]], [0.0]) if c.latency[k] <= cap else None
            else:
                lat = c.latency
                m = bisect_right(lat, cap)
                if m == 0:
                    return None
                w = self.weight.get(v, 1.0) if self.weight else 1.0
                if w == 1.0:  # (a plain cost: the hot path; the candidates are the front)
                    f = Front(lat[:m], c.cost[:m], _LEAF, v) if m < len(lat) else c
                elif isinstance(w, (int, float)):
                    f = Front(lat[:m], [x * w for x in c.cost[:m]], _LEAF, v)
                else:
                    f = _priced_leaf(v, lat[:m], w[:m])
            return f if bd is None or f is None else _bounded(f, bd)
        if tp is Delay:
            f = Front([t.latency_ms], [0.0]) if t.latency_ms <= cap else None
            return f if bd is None or f is None else _bounded(f, bd)
        if self.tall and id(t) in self.tall:
            return trampoline(self._nested(t, cap, False, bd), deadline.checker())
        parts = t.parts
        if tp is Parallel:
            if bd is None:  # (the hot path: no bounds to split, the plain merge)
                front, cands, plain = self.front, self.candidates, self.plain
                acc = None
                for p in parts:
                    f = (_plain_leaf(cands[p.node], cap) if plain and type(p) is Leaf
                         else front(p, cap))
                    if f is None:
                        return None
                    acc = f if acc is None else parallel(acc, f)
                return acc
            bds = self.split(t, bd)
            acc = None
            for p, pb in zip(parts, bds):
                f = self.front(p, cap, pb)
                if f is None:
                    return None
                acc = f if acc is None else _merge(acc, f, bd)
            return acc if bd is None else _bounded(acc, bd)
        if bd is None:  # (the hot path of small trees)
            return self._series_front(parts, cap)
        fronts = self.part_fronts(parts, cap, bd)
        if fronts is None:
            return None
        return _fold(fronts, self.fold_caps(parts, cap), bounds=self.prefix_bounds(parts, bd),
                     work=self.work)

    def part_caps(self, parts: tuple, cap: float) -> list[float]:
        """Each series part's cap: the cap minus the other parts' least latencies."""
        total = sum(self.mins[id(p)] for p in parts)
        return [cap - (total - self.mins[id(p)]) for p in parts]

    def _series_front(self, parts: tuple, cap: float, cheapest: bool = False) -> Front | None:
        """A series without a bound (the hot path of small trees): :meth:`part_fronts` and
        :meth:`fold_caps` in one pass, then :func:`_fold` -- the same caps, every part's
        front first (an empty one ends it before any series is formed). ``cheapest``: only
        a front holding the cheapest point, as :meth:`series_cheapest` -- the last part by
        :func:`series_min`, or a series of at least ``LAGRANGE_PARTS`` parts by
        :func:`_fold_bounded`."""
        mins = self.mins
        ms = [mins[id(p)] for p in parts]
        base = cap - sum(ms)
        front, cands, plain = self.front, self.candidates, self.plain
        fronts = []
        for p, m in zip(parts, ms):
            f = (_plain_leaf(cands[p.node], base + m) if plain and type(p) is Leaf
                 else front(p, base + m))
            if f is None:
                return None
            fronts.append(f)
        n = len(ms)
        caps = [0.0] * n  # the fold's: cap less the later parts' minima (fold_caps' sums)
        rest = 0.0
        for i in range(n - 1, -1, -1):
            caps[i] = cap - rest
            rest += ms[i]
        if cheapest and n >= LAGRANGE_PARTS:
            return _fold_bounded(fronts, caps, cap, self.work)
        return _fold(fronts, caps, cheapest, work=self.work)

    def part_fronts(self, parts: tuple, cap: float, bd: Bound | None = None) -> list[Front] | None:
        """Each series part's front, cut at its :meth:`part_caps` cap (None: one is empty);
        with the series' bound ``bd``, each part's own (:meth:`split`)."""
        mins = self.mins
        ms = [mins[id(p)] for p in parts]
        cap -= sum(ms)  # part p's cap: cap − the others' least latencies (part_caps, inline)
        out = []
        front = self.front
        if bd is None:
            for p, m in zip(parts, ms):
                f = front(p, cap + m)
                if f is None:
                    return None
                out.append(f)
            return out
        for p, m, pb in zip(parts, ms, self.split_series(parts, bd)):
            f = front(p, cap + m, pb)
            if f is None:
                return None
            out.append(f)
        return out

    def fold_caps(self, parts: tuple, cap: float) -> list[float]:
        """The caps of a series' fold: after part i, the cap minus the later parts' least
        latencies."""
        return [cap - r for r in _suffix_sums([self.mins[id(p)] for p in parts])]

    # -- Lagrangian bounds (large trees; :mod:`fa2opt.pareto_bound`) ------------------------
    def split(self, t: Series | Parallel, bd: Bound | None) -> list:
        """The parts' bounds of a composite with bound ``bd`` ([None, …] without): a series
        passes its flow μ to every part, a parallel splits it by its parts' hull slopes at
        the point of slope −μ of its own hull; a part's limit is ``bd``'s less the other
        parts' Φ at their flows."""
        if bd is None:
            return [None] * len(t.parts)
        if type(t) is Series:
            return self.split_series(t.parts, bd)
        mu, lim = bd
        hs = [self.hulls[id(p)] for p in t.parts]
        h = self.hulls[id(t)]
        at = float(h.t[h.vertex_at_slope(-mu)[0]])
        flows = split_flow(hs, at, mu)
        phis = [x.phi(f) for x, f in zip(hs, flows)]
        total = sum(phis)
        return [(f, lim - (total - p)) for f, p in zip(flows, phis)]

    def split_series(self, parts: tuple, bd: Bound | None) -> list:
        """:meth:`split` of a series' parts."""
        if bd is None:
            return [None] * len(parts)
        mu, lim = bd
        phis = [self.hulls[id(p)].phi(mu) for p in parts]
        total = sum(phis)
        return [(mu, lim - (total - p)) for p in phis]

    def prefix_bounds(self, parts: tuple, bd: Bound | None) -> list | None:
        """The bounds of a series' fold after each part: the flow μ, the limit less the
        later parts' Φ(μ)."""
        if bd is None:
            return None
        mu, lim = bd
        rest = _suffix_sums([self.hulls[id(p)].phi(mu) for p in parts])
        return [(mu, lim - r) for r in rest]

    def caps(self, tree: SPTree, budget: float) -> dict[int, float]:
        """Every sub-expression's cap (by id; the largest over the places it occurs): the
        budget less the least latency of what is in series with it, as in :meth:`front`.
        No feasible choice is slower there, so hulls are cut at it."""
        mins = self.mins
        caps: dict[int, float] = {}
        stack = [(tree, budget)]
        check = deadline.check  # (a copy split's tree of 10⁵ places: seconds; ~0.1 µs each)
        while stack:
            check()
            t, cap = stack.pop()
            if caps.get(id(t), -INF) >= cap:
                continue
            caps[id(t)] = cap
            tp = type(t)
            if tp is Series:
                total = sum(mins[id(p)] for p in t.parts)
                stack.extend((p, cap - (total - mins[id(p)])) for p in t.parts)
            elif tp is Parallel:
                stack.extend((p, cap) for p in t.parts)
        return caps

    def root_bound(self, tree: SPTree, budget: float) -> tuple[Bound, float] | None:
        """The root's bound ``(μ, UB + tol + μ·budget)`` and UB, from the hulls of every
        sub-expression (:attr:`hulls`, computed here), μ the negated slope of the root's hull
        at the budget and UB the cost of :func:`~fa2opt.pareto_bound.greedy_choice`. None
        when no feasible choice was found (then nothing is pruned)."""
        caps = self.caps(tree, budget)
        hulls = self.hulls = {}
        full: dict[int, Front] = {}
        stack: list = [tree]
        check = deadline.check
        while stack:  # post-order, explicit stack, shared sub-expressions once
            check()
            t = stack.pop()
            if type(t) is tuple:
                t = t[0]
                hs = [hulls[id(p)] for p in t.parts]
                h = series_hull(hs) if type(t) is Series else parallel_hull(hs)
                hulls[id(t)] = truncate(h, caps[id(t)])
                continue
            if id(t) in hulls:
                continue
            if type(t) is Leaf or type(t) is Delay:
                f = self.front(t, max(caps[id(t)], self.mins[id(t)]))
                if f is None:
                    return None
                full[id(t)] = f
                hulls[id(t)] = leaf_hull(f.lat, f.cost)
            else:
                stack.append((t,))
                stack.extend(p for p in t.parts if id(p) not in hulls)
        h = hulls[id(tree)]
        if budget < h.t[0]:
            return None
        sl, sr = h.slopes_at(budget)
        if budget == h.t[-1]:  # the hull cut at the budget: its last edge's slope
            sr = sl
        mu = max(0.0, -0.5 * (sl + sr)) if sl > -INF else max(0.0, -sr)

        def leaf(t: SPTree) -> tuple[list[float], list[float]]:
            f = full[id(t)]
            return f.lat, f.cost

        g = greedy_choice(tree, budget, lambda t: hulls[id(t)], leaf, lambda t: type(t) is Series,
                          deadline.checker())
        if g is None or not g[0] <= budget:
            return None
        ub = g[1]
        tol = BOUND_TOL * (abs(ub) + mu * abs(budget) + 1.0)
        return (mu, ub + tol + mu * budget), ub

    # -- the cheapest point only -------------------------------------------------------------
    def cheapest(self, t: SPTree, cap: float, bd: Bound | None = None) -> tuple[Front, int] | None:
        """A front containing the cheapest way to keep ``t`` within ``cap``, and that point's
        index. Parallel parts are independent here (each its own cheapest within cap);
        long series use the Lagrangian-bounded fold (:func:`_fold_bounded`), or, with a
        bound ``bd``, the bounded fold of :meth:`front`."""
        tp = type(t)
        if tp is Leaf or tp is Delay:
            f = self.front(t, cap, bd)
            return None if f is None else (f, len(f.lat) - 1)
        if self.tall and id(t) in self.tall:
            return trampoline(self._nested(t, cap, True, bd), deadline.checker())
        if tp is Parallel:
            picks = []
            for p, pb in zip(t.parts, self.split(t, bd) if bd is not None else repeat(None)):
                r = self.cheapest(p, cap, pb)
                if r is None:
                    return None
                picks.append(r)
            return _pick_parallel(picks)
        if bd is None:  # (the hot path: part fronts and fold caps in one pass)
            f = self._series_front(t.parts, cap, True)
            return None if f is None or not len(f.lat) else (f, len(f.lat) - 1)
        fronts = self.part_fronts(t.parts, cap, bd)
        if fronts is None:
            return None
        return self.series_cheapest(t.parts, fronts, cap, bd)

    def series_cheapest(self, parts: tuple, fronts: list[Front], cap: float,
                        bd: Bound | None = None) -> tuple[Front, int] | None:
        """A series' cheapest point from its parts' fronts."""
        caps = self.fold_caps(parts, cap)
        if bd is not None:
            f = _fold(fronts, caps, cheapest=True, bounds=self.prefix_bounds(parts, bd))
        elif len(fronts) >= LAGRANGE_PARTS:
            f = _fold_bounded(fronts, caps, cap, self.work)
        else:
            f = _fold(fronts, caps, cheapest=True, work=self.work)
        if f is None or not len(f.lat):
            return None
        return f, len(f.lat) - 1

    def _nested(self, t: Series | Parallel, cap: float, cheap: bool,
                bd: Bound | None = None) -> Generator:
        """:meth:`front` (``cheap`` False) or :meth:`cheapest` of a tall composite, as a
        trampoline generator: a tall part is asked for by yielding its generator."""
        par = isinstance(t, Parallel)
        sub = cheap and par  # a parallel's parts at their cheapest; a series' whole fronts
        out = []
        for p, pcap, pb in zip(t.parts, repeat(cap) if par else self.part_caps(t.parts, cap),
                               self.split(t, bd)):
            if id(p) in self.tall:
                r = yield self._nested(p, pcap, sub, pb)
            else:
                r = self.cheapest(p, pcap, pb) if sub else self.front(p, pcap, pb)
            if r is None:
                return None
            out.append(r)
        if not par:
            if cheap:
                return self.series_cheapest(t.parts, out, cap, bd)
            return _fold(out, self.fold_caps(t.parts, cap), bounds=self.prefix_bounds(t.parts, bd),
                         work=self.work)
        if cheap:
            return _pick_parallel(out)
        acc = out[0]
        for f in out[1:]:
            acc = _merge(acc, f, bd)
        return acc if bd is None else _bounded(acc, bd)


DIRECT_HEIGHT = 24  # sub-expressions at most this high are evaluated by (bounded) recursion


def _merge(a: Front, b: Front, bd: Bound | None) -> Front:
    """:func:`parallel`; in the bounded DP (``bd``) long fronts in numpy."""
    if bd is not None and len(a) + len(b) > PARALLEL_ARRAYS:
        return _parallel_arrays(a, b)
    return parallel(a, b)


def _pick_parallel(picks: list[tuple[Front, int]]) -> tuple[Front, int]:
    """The cheapest points of a parallel's parts as one point: a one-point front per part
    keeps backtracking uniform."""
    acc, ra = picks[0]
    for f, r in picks[1:]:
        acc = Front([max(acc.lat[ra], f.lat[r])], [acc.cost[ra] + f.cost[r]], _COMB,
                    None, acc, f, [ra], [r])
        ra = 0
    return acc, ra


def _priced_leaf(v: str, lat: list[float], price: Any) -> Front:
    """A leaf whose candidates cost ``price[i]`` (any reals, e.g. a Lagrangian share of the
    node's cost) instead of their own cost: the prices need not fall with latency, so the
    leaf's front keeps only the candidates strictly cheaper than every faster one (the
    others are never chosen by a cheapest completion); back-pointers map to candidates."""
    price = price.tolist() if isinstance(price, np.ndarray) else list(price)
    kl, kc, keep = front_rows(lat, price)  # the one pruning scan (lat rises: a sorted table)
    leaf = Front(lat, price, _LEAF, v)
    if len(keep) == len(price):
        return leaf
    return Front(kl, kc, _COMB, None, leaf, Front([0.0], [0.0]), keep, [0] * len(keep))


def _suffix_sums(values: list[float]) -> list[float]:
    """``out[i] = Σ_{j > i} values[j]``."""
    out = [0.0] * len(values)
    acc = 0.0
    for i in range(len(values) - 1, -1, -1):
        out[i] = acc
        acc += values[i]
    return out


def series_min(a: Front, b: Front, cap: float) -> Front | None:
    """The cheapest point of ``series(a, b, cap)`` only (a one-point front with its
    back-pointers), by a two-pointer sweep: for a's points by rising latency the cheapest
    fitting b point is the slowest one within ``cap - l_a``. O(|a| + |b|), no sort."""
    al, ac, bl, bc = a.lat, a.cost, b.lat, b.cost
    if type(al) is _NDARRAY:
        al, ac = al.tolist(), ac.tolist()
    if type(bl) is _NDARRAY:
        bl, bc = bl.tolist(), bc.tolist()
    hit = _pair_min(al, ac, bl, bc, cap, INF)
    if hit is None:
        return None
    best, bi, bj = hit
    return Front([al[bi] + bl[bj]], [best], _COMB, None, a, b, [bi], [bj])


def _fold(fronts: list[Front], caps: list[float], cheapest: bool = False,
          bounds: list | None = None, work: list | None = None) -> Front | None:
    """Series of the fronts left to right; after part i latencies are cut at caps[i] (and,
    with ``bounds``, the points pruned by bounds[i], :func:`_bounded`). ``work``: [pairs
    left] (:func:`_spend`)."""
    acc = fronts[0]
    if caps[0] < INF and len(acc.lat) and acc.lat[-1] > caps[0]:  # (most need no cut)
        acc = _cut(acc, caps[0])
    if bounds is not None and len(acc.lat):
        acc = _bounded(acc, bounds[0])
    last = len(fronts) - 1
    stop = deadline.current()
    for i in range(1, last + 1):
        if acc is None or not len(acc.lat):  # (len of the list: Front.__len__ is a call more)
            return None
        if stop is not None and time.perf_counter() > stop:
            raise deadline.DPDeadline
        if not i & MEMORY_STEPS:  # every step's front is kept for the backtracking
            deadline.check_memory()
        if cheapest and i == last:
            return series_min(acc, fronts[i], caps[i])
        if work is not None:
            _spend(work, len(acc.lat) * len(fronts[i].lat))
        bd = None if bounds is None else bounds[i]
        acc = series(acc, fronts[i], caps[i], bd)
        if bd is not None and len(acc.lat):
            acc = _bounded(acc, bd)  # (series drops pairs beyond bd only on its numpy path)
    return acc if acc is not None and len(acc.lat) else None


_UNSOLVED = object()  # pareto_remainder: no answer yet


class _LargeFronts(Exception):
    """The plain DP has spent its pairs (:data:`BOUND_PAIRS`): the bounded DP takes over."""


def _spend(work: list, pairs: int) -> None:
    """Count ``pairs`` against ``work[0]``; raise :class:`_LargeFronts` when it runs out."""
    work[0] -= pairs
    if work[0] < 0:
        raise _LargeFronts


def _bounded(f: Front, bd: Bound) -> Front | None:
    """The points of ``f`` with ``c + μ l ≤ lim`` (``bd`` = (μ, lim)), back-pointers kept;
    None when none is left."""
    mu, lim = bd
    if isinstance(f.lat, np.ndarray):
        keep = np.flatnonzero(f.cost + mu * f.lat <= lim)
        if len(keep) == len(f):
            return f
        if len(keep) == 0:
            return None
        if f.kind == _COMB:
            return Front(f.lat[keep], f.cost[keep], _COMB, None, f.a, f.b,
                         np.asarray(f.I)[keep], np.asarray(f.J)[keep])
        return Front(f.lat[keep], f.cost[keep], _COMB, None, f, Front([0.0], [0.0]), keep,
                     np.zeros(len(keep), dtype=np.int64))
    lat, cost = f.lat, f.cost
    keep = [i for i in range(len(lat)) if cost[i] + mu * lat[i] <= lim]
    if len(keep) == len(lat):
        return f
    if not keep:
        return None
    if f.kind == _COMB:
        return Front([lat[i] for i in keep], [cost[i] for i in keep], _COMB, None, f.a, f.b,
                     [f.I[i] for i in keep], [f.J[i] for i in keep])
    return Front([lat[i] for i in keep], [cost[i] for i in keep], _COMB, None, f,
                 Front([0.0], [0.0]), keep, [0] * len(keep))


def _cut(f: Front, cap: float) -> Front:
    m = bisect_right(f.lat, cap) if not isinstance(f.lat, np.ndarray) else int(np.searchsorted(f.lat, cap, "right"))
    if m == len(f):
        return f
    return Front(f.lat[:m], f.cost[:m], _COMB, None, f, Front([0.0], [0.0]), list(range(m)), [0] * m)


BOUND_COMPOSITES = 32  # trees of at least this many series/parallels whose plain DP ...
BOUND_PAIRS = 100_000  # ... forms more pairs than this (then aborted): the bounded DP
LAGRANGE_PARTS = 6  # series with at least this many parts use the bounded fold
MEMORY_STEPS = 255  # a fold checks the process's memory every 256 steps (deadline.check_memory)
DEEPEN_PAIRS = 400  # a bounded fold forming more pairs per front point deepens its limit ...
DEEPEN, DEEPEN_STEPS = 4.0, 3  # ... from LP + (UB − LP) / 4^3, then 4× closer to UB each fold


def _fold_bounded(fronts: list[Front], caps: list[float], cap: float,
                  work: list | None = None) -> Front | None:
    """Cheapest point of a long series (a multiple-choice knapsack over the parts' fronts),
    exact, with Lagrangian bounds pruning the partial fronts.

    For μ ≥ 0 and any choice, Σ c ≥ Σ_i min_k (c_ik + μ l_ik) − μ·cap when Σ l ≤ cap, so a
    partial point (l, c) after part i can be completed for at least
    ``c + μ l + Σ_{j>i} g_j(μ) − μ cap`` with ``g_j(μ) = min_k (c_jk + μ l_jk)``; it is dropped
    when that exceeds an upper bound UB (the cost of a feasible choice). μ is the LP dual of
    the knapsack (:func:`_multiplier`), and its LP solution rounded to a feasible choice,
    improved greedily (:func:`_fill_slack`), gives UB. Exact because the optimal point's
    bound is ≤ the optimum ≤ UB; the fold is :func:`_fold` with these bounds. Time: the
    multiplier plus the fold over the surviving points (few: those within the duality gap
    of the Lagrangian line).

    Where that fold forms more than :data:`DEEPEN_PAIRS` pairs per point of the parts'
    fronts, it is abandoned for iterative deepening on the bound: a fold under a limit U
    below UB keeps every choice of cost ≤ U, so a cheapest point of cost ≤ U is the optimum;
    otherwise its cost, if any, is a better UB, and U rises :data:`DEEPEN` times closer to
    UB (from LP + (UB − LP) / DEEPEN^DEEPEN_STEPS), the last fold being the one at UB. The
    survivors are the partial points within U of the Lagrangian line, whose number grows
    with U combinatorially on long series with real-valued costs and many near-ties (an
    8,490-node chain of the ``long-chain`` suite: ~10^4 points per fold at UB, 1.2 above the
    LP bound, against an optimum 0.05 above it; 11.8 s before, 2.4 s by the deepened folds),
    while a cheap fold at UB (a 10,000-node chain with integral costs: ~107 pairs per point)
    is kept as it is, the tighter folds' fixed cost per part being then the larger.
    """
    hit = _multiplier(fronts, cap)
    if hit is None:  # cannot happen when the fastest choice fits (caps are cut by it)
        return _fold(fronts, caps, cheapest=True, work=work)
    mu, idx = hit
    ub = 0.0
    for f, k in zip(fronts, _fill_slack(fronts, idx, cap)):
        ub += f.cost[k]
    g = [min([c + mu * x for x, c in zip(f.lat, f.cost)]) if len(f) <= NUMPY_PAIRS
         else float(np.min(np.asarray(f.cost) + mu * np.asarray(f.lat))) for f in fronts]
    rest = _suffix_sums(g)

    def fold(u: float, budget: list | None) -> Front | None:
        lim = u + BOUND_TOL * (abs(u) + mu * abs(cap) + 1.0) + mu * cap
        f = _fold(fronts, caps, cheapest=True, bounds=[(mu, lim - r) for r in rest], work=budget)
        return f if f is not None and len(f) > 0 else None

    own = DEEPEN_PAIRS * sum(len(f) for f in fronts)
    budget = [own if work is None else min(own, work[0])]
    start = budget[0]
    try:
        f = fold(ub, budget)
    except _LargeFronts:
        if work is not None and work[0] <= own:  # the caller's budget ran out, not this one
            work[0] = -1
            raise
        f = _deepened(fold, ub, math.fsum(g) - mu * cap, work)
    else:
        if work is not None:
            work[0] -= start - budget[0]
    if f is None:  # only by rounding (UB's choice is never pruned)
        return _fold(fronts, caps, cheapest=True, work=work)
    return f


def _deepened(fold: Any, ub: float, lp: float, work: list | None) -> Front | None:
    """:func:`_fold_bounded`'s folds under rising limits ``u`` (``fold(u, work)``), from the
    LP bound ``lp`` towards the upper bound ``ub``: the first whose cheapest point lies
    within its limit (the optimum), else the fold at UB."""
    u = lp + (ub - lp) / DEEPEN ** DEEPEN_STEPS if ub > lp else ub
    while True:
        f = fold(u, work)
        if u >= ub or (f is not None and f.cost[-1] <= u):
            return f
        if f is not None:
            ub = min(ub, f.cost[-1])
        nxt = lp + DEEPEN * (u - lp)
        # UB next when the step is lost to rounding (a gap below the ulp of a huge LP
        # bound, or a NaN): the limits always rise, at most DEEPEN_STEPS + 2 folds
        u = min(ub, nxt) if nxt > u else ub


def _multiplier(fronts: list[Front], cap: float) -> tuple[float, list[int]] | None:
    """The optimal dual μ of the LP relaxation of min Σ c s.t. Σ l ≤ cap, one point per
    front, and a feasible choice at μ (each front's index; None when even the fastest
    points exceed ``cap``). Exact by Sinha & Zoltners' greedy ("The multiple-choice knapsack
    problem", Oper. Res. 1979): start at every front's cheapest (slowest) point; the edges
    of each front's lower convex hull, taken towards faster points in order of rising
    efficiency (cost added per ms saved), are taken until the latencies fit; μ is the
    efficiency of the edge that makes them fit. O(P log P) for P points."""
    idx = [len(f) - 1 for f in fronts]
    total = 0.0
    for f in fronts:
        total += f.lat[-1]
    if total <= cap:  # every part at its cheapest fits
        return 0.0, idx
    edges = []
    for i, f in enumerate(fronts):
        lat = f.lat.tolist() if isinstance(f.lat, np.ndarray) else f.lat
        cost = f.cost.tolist() if isinstance(f.cost, np.ndarray) else f.cost
        hull = [len(lat) - 1]  # from the slowest point towards the fastest
        for k in range(len(lat) - 2, -1, -1):
            while len(hull) >= 2:
                a, b = hull[-2], hull[-1]  # drop b when it is not below the line a→k
                if (cost[b] - cost[a]) * (lat[b] - lat[k]) < (cost[k] - cost[b]) * (lat[a] - lat[b]):
                    break
                hull.pop()
            hull.append(k)
        for a, b in zip(hull, hull[1:]):
            edges.append(((cost[b] - cost[a]) / (lat[a] - lat[b]), i, b, lat[a] - lat[b]))
    edges.sort()
    for e, i, b, dl in edges:
        total -= dl
        idx[i] = b
        if total <= cap:
            break
    if sum(f.lat[k] for f, k in zip(fronts, idx)) > cap:  # the fastest do not fit (or a
        return None  # running sum's rounding): the caller folds without bounds
    return e, idx


def _fill_slack(fronts: list[Front], idx: list[int], cap: float) -> list[int]:
    """A feasible choice improved greedily: the slack under ``cap`` spent on cheaper (slower)
    points, fronts that save the most first. O(P log m)."""
    slack = cap
    for f, k in zip(fronts, idx):
        slack -= f.lat[k]
    idx = list(idx)
    for i in sorted(range(len(fronts)), key=lambda i: fronts[i].cost[-1] - fronts[i].cost[idx[i]]):
        f, j = fronts[i], idx[i]
        lat, n = f.lat, len(f)
        while j + 1 < n and lat[j + 1] - lat[idx[i]] <= slack:
            j += 1
        if j != idx[i]:
            slack -= lat[j] - lat[idx[i]]
            idx[i] = j
    return idx


def pareto_front(tree: SPTree, budget_ms: float, candidates: Mapping[str, Candidates],
                 fixed: Mapping[str, int] | None = None,
                 weight: Mapping[str, float] | None = None) -> Front:
    """The whole front of ``tree`` cut at ``budget_ms``: leaves of ``fixed`` nodes are the
    single point (their latency, 0) (their cost is counted by the caller); other leaves'
    costs are multiplied by ``weight.get(v, 1)``. Empty front: nothing meets the budget."""
    return _Context(tree, candidates, fixed, weight).front(tree, budget_ms) or Front([], [])


def backtrack(front: Front, r: int) -> dict[str, int]:
    """The candidate index of every (non-fixed) leaf behind point r of ``front``."""
    choice: dict[str, int] = {}
    stack = [(front, r)]
    while stack:
        f, r = stack.pop()
        while True:  # down the b side at once (the order of the pops: b, then a)
            kind = f.kind
            if kind == _COMB:
                stack.append((f.a, f.I[r]))
                f, r = f.b, f.J[r]
            elif kind == _SHIFT:
                if f.b.kind != _FIXED:  # (a delay has no choice to recover)
                    stack.append((f.b, 0))
                f = f.a
            else:
                if kind == _LEAF:
                    choice[f.node] = r if type(r) is int else int(r)  # (a numpy index: int)
                break
    return choice


CHAIN_STEPS = 4096  # chains of 3+ nodes: the sweep below when its worst-case steps ≤ this
NOT_FLAT = object()  # flat_cheapest declines: the remainder DP decides


def flat_cheapest(series: Sequence[Sequence[list[float]]], fork: Sequence[Sequence[list[float]]],
                  budget_ms: float, fork_offsets: Sequence[float] | None = None) -> Any:
    """The cheapest choice for a chain or fork given as lists: ``series[i]`` and ``fork[g]``
    are ``(latency, cost, …)`` candidate lists (fastest first, cost falling) of the series
    nodes and of the parallel (fork) nodes of a :func:`~fa2opt.reductions.sptree.
    flat_shape`, ``budget_ms`` is the budget less the series' fixed terms, ``fork_offsets[g]``
    the fixed terms of fork node g's branch (default none). Returns ``(cost, series
    indices, fork indices)``, None when nothing fits, or ``NOT_FLAT`` for what the sweeps
    do not handle (a fork with more than one series node; a chain of three or more whose
    sweep could take more than ``CHAIN_STEPS`` steps: the caller's front DP decides those). Every node's
    list is first cut at the budget minus the others' least latencies (exact, as in
    :meth:`_Context.part_caps`). Then:

    * chain of one node: its slowest (cheapest) candidate within B;
    * two nodes a, b: the two-pointer sweep of :func:`series_min` -- for a's candidates by
      rising latency the cheapest fitting b is the slowest within ``B - l_a``. O(|a| + |b|);
    * three nodes or more: x (the shortest list) from its cheapest candidate towards the
      fastest, each with the rest swept within ``B - l_x`` (:func:`_chain_sweep`); it stops
      once ``c_x`` plus the rest's cheapest cannot beat the best found (x's cost rises
      towards the fastest). O(|x|·(|y| + |z|)) at worst for three, the product of all but
      the two longest lists times their sum for more; no pair list, no sort;
    * fork: the branches must all finish within the same latency, each then independently
      at its cheapest (a branch's offset is added to its node's latencies, O(|b|)). Alone,
      each fork node takes its slowest candidate within B; after a node a, the sweep of
      :func:`_pair_min` with one pointer per fork node (:func:`_sweep`). O(|a| + Σ|b|).
    """
    if fork:
        if len(series) > 1:
            return NOT_FLAT
        if fork_offsets:  # a branch's fixed latency, added to its node's candidates
            fork = [([lat + off for lat in x[0]], x[1]) if off else x
                    for x, off in zip(fork, fork_offsets)]
        return _fork_lists(series[0] if series else None, fork, budget_ms)
    k = len(series)
    if k == 0:
        return (0.0, [], []) if budget_ms >= 0.0 else None
    total = 0.0
    for x in series:
        if not x[0]:
            return None
        total += x[0][0]
    if total > budget_ms:
        return None
    if k == 1:
        m = bisect_right(series[0][0], budget_ms)
        return series[0][1][m - 1], [m - 1], []
    lats, costs = [], []
    for x in series:  # cut at the budget minus the others' least latencies
        lat = x[0]
        m = bisect_right(lat, budget_ms - (total - lat[0]))
        if m == 0:  # only by rounding when the fastest choice just fits (as in front())
            return None
        lats.append(lat[:m])
        costs.append(x[1][:m])
    if k == 2:
        r = _pair_min(lats[0], costs[0], lats[1], costs[1], budget_ms, INF)
        if r is None:  # cannot happen: the fastest pair fits
            return None
        return r[0], [r[1], r[2]], []
    if k > 3:  # the three-node sweep below, generalised (:func:`_chain_sweep`)
        order = sorted(range(k), key=lambda i: len(lats[i]))  # by length, stable
        steps = len(lats[order[-2]]) + len(lats[order[-1]])
        for i in order[:-2]:
            steps *= len(lats[i])
        if steps > CHAIN_STEPS:
            return NOT_FLAT
        r = _chain_sweep(lats, costs, order, budget_ms, INF)
        if r is None:
            return None
        idx = [0] * k
        for i, j in zip(order, r[1]):
            idx[i] = j
        return r[0], idx, []
    n0, n1, n2 = len(lats[0]), len(lats[1]), len(lats[2])  # x, y, z: by length, stable
    if n0 <= n1:
        x, y, z = (0, 1, 2) if n1 <= n2 else (0, 2, 1) if n0 <= n2 else (2, 0, 1)
    else:
        x, y, z = (1, 0, 2) if n0 <= n2 else (1, 2, 0) if n1 <= n2 else (2, 1, 0)
    xl, xc = lats[x], costs[x]
    if len(xl) * (len(lats[y]) + len(lats[z])) > CHAIN_STEPS:
        return NOT_FLAT
    yl, yc, zl, zc = lats[y], costs[y], lats[z], costs[z]
    floor = yc[-1] + zc[-1]  # the least cost of y and z together
    best, pick = INF, None
    for i in range(len(xl) - 1, -1, -1):
        cx = xc[i]
        if cx + floor >= best:
            break
        r = _pair_min(yl, yc, zl, zc, budget_ms - xl[i], best - cx)
        if r is not None:
            best, pick = cx + r[0], (i, r[1], r[2])
    if pick is None:
        return None
    idx = [0, 0, 0]
    idx[x], idx[y], idx[z] = pick
    return best, idx, []


def _chain_sweep(lats: list[list[float]], costs: list[list[float]], order: list[int],
                 budget: float, below: float) -> tuple[float, tuple[int, ...]] | None:
    """The cheapest choice below ``below`` of a chain of lists within ``budget`` (None if
    none), as (cost, the lists' indices in ``order``'s order): two lists by the
    :func:`_pair_min` sweep; more: x = ``order[0]`` (the shortest) from its cheapest
    candidate towards the fastest, each with the rest (this, one list fewer) within
    ``budget - l_x``, stopping once ``c_x`` plus the rest's least cost cannot beat the best
    (x's cost rises towards the fastest) -- the three-node sweep of :func:`flat_cheapest`,
    generalised. O(Π_{all but the two longest} |x| · (sum of the two longest)). Depth: the
    chain's length (at most the plan's ``FLAT_CHAIN_MAX``)."""
    if len(order) == 2:
        y, z = order
        r = _pair_min(lats[y], costs[y], lats[z], costs[z], budget, below)
        return None if r is None else (r[0], (r[1], r[2]))
    x, rest = order[0], order[1:]
    xl, xc = lats[x], costs[x]
    floor = sum(costs[j][-1] for j in rest)
    best, pick = below, None
    for i in range(len(xl) - 1, -1, -1):
        cx = xc[i]
        if cx + floor >= best:
            break
        r = _chain_sweep(lats, costs, rest, budget - xl[i], best - cx)
        if r is not None:
            best, pick = cx + r[0], (i, *r[1])
    return None if pick is None else (best, pick)


def _fork_lists(head: Sequence[list[float]] | None, fork: Sequence[Sequence[list[float]]],
                budget_ms: float) -> tuple[float, list[int], list[int]] | None:
    """:func:`flat_cheapest` for a fork (``head``: the series node's lists, or None). The
    fork's least latency is the largest of its nodes' fastest; each node is cut at the
    budget minus the other stage's least latency."""
    fork_min = 0.0
    for x in fork:
        if not x[0]:
            return None
        if x[0][0] > fork_min:
            fork_min = x[0][0]
    if head is None:
        if fork_min > budget_ms:
            return None
        cost, idx = 0.0, []
        for x in fork:
            m = bisect_right(x[0], budget_ms)
            cost += x[1][m - 1]
            idx.append(m - 1)
        return cost, [], idx
    al, ac = head[0], head[1]
    if not al:
        return None
    if al[0] + fork_min > budget_ms:
        return None
    m = bisect_right(al, budget_ms - fork_min)
    stage = []
    for x in fork:
        k = bisect_right(x[0], budget_ms - al[0])
        if m == 0 or k == 0:  # only by rounding when the fastest choice just fits
            return None
        stage.append((x[0][:k], x[1][:k]))
    r = _sweep(al[:m], ac[:m], stage, budget_ms, INF)
    if r is None:  # cannot happen: the fastest choice fits
        return None
    return r[0], [r[1]], r[2]


def _sweep(al: list[float], ac: list[float], stage: list[tuple[list[float], list[float]]],
           cap: float, below: float) -> tuple[float, int, list[int]] | None:
    """:func:`_pair_min` with one pointer per node of ``stage`` (lists (latency, cost)):
    the cheapest candidate i of a and j_g of every node g with ``al[i] + bl_g[j_g] <= cap``
    for every g (None if none). O(|a| + Σ_g |b_g|)."""
    js = [len(bl) - 1 for bl, _ in stage]
    best, bi, bj = below, -1, js
    for i in range(len(al)):
        la = al[i]
        c = ac[i]
        for g, (bl, bc) in enumerate(stage):
            j = js[g]
            while j >= 0 and la + bl[j] > cap:
                j -= 1
            if j < 0:
                return None if bi < 0 else (best, bi, bj)
            js[g] = j
            c += bc[j]
        if c < best:
            best, bi, bj = c, i, list(js)
    return None if bi < 0 else (best, bi, bj)


def _pair_min(al: list[float], ac: list[float], bl: list[float], bc: list[float],
              cap: float, below: float) -> tuple[float, int, int] | None:
    """The cheapest (i, j) with ``al[i] + bl[j] <= cap`` and cost below ``below`` (None if
    none): the two-pointer sweep of :func:`series_min` on plain lists. O(|a| + |b|)."""
    j = len(bl) - 1
    best, bi, bj = below, -1, -1
    for i in range(len(al)):
        la = al[i]
        while j >= 0 and la + bl[j] > cap:
            j -= 1
        if j < 0:
            break
        c = ac[i] + bc[j]
        if c < best:
            best, bi, bj = c, i, j
    return None if bi < 0 else (best, bi, bj)


def pareto_remainder(tree: SPTree, budget_ms: float, candidates: Mapping[str, Candidates],
                     fixed: Mapping[str, int] | None = None,
                     weight: Mapping[str, float] | None = None) -> tuple[float, dict[str, int]] | None:
    """Exact remainder solver: the least (weighted) cost of the non-fixed leaves such that
    the expression is ≤ ``budget_ms``, and the choice that attains it (None if none).
    ``weight[v]`` is a multiplier of v's costs, or a sequence of per-candidate *prices*
    that replace them (each leaf of v pays ``weight[v][k]`` for candidate k; the coupling
    search's Lagrangian cost split, see :func:`fa2opt.reductions.search.search`).
    Only the cheapest point is needed, so parallel parts are solved independently and long
    series use the Lagrangian-bounded fold. (Flat single flows are swept on the candidate
    lists by :func:`flat_cheapest`, which a plan calls directly: :data:`EXACT_FRONTS`.)"""
    ctx = _Context(tree, candidates, fixed, weight)
    r: Any = _UNSOLVED
    if ctx.composites >= BOUND_COMPOSITES:
        if BOUND_PAIRS > 0:  # the plain DP first, while its series form at most BOUND_PAIRS pairs
            ctx.work = [BOUND_PAIRS]
            try:
                r = ctx.cheapest(tree, budget_ms)
            except _LargeFronts:
                pass
            ctx.work = None
        if r is _UNSOLVED:
            root = ctx.root_bound(tree, budget_ms)
            if root is not None:
                bd, ub = root
                r = ctx.cheapest(tree, budget_ms, bd)
                if r is None or not r[0].cost[r[1]] <= bd[1] - bd[0] * budget_ms:
                    r = _UNSOLVED  # (only by rounding: UB's choice not the DP's)
    if r is _UNSOLVED:
        r = ctx.cheapest(tree, budget_ms)
    if r is None:
        return None
    front, i = r
    return float(front.cost[i]), backtrack(front, i)


# The exact arithmetic, declared: per-candidate prices accepted (the coupling search's
# Lagrangian split), flat single flows swept on the candidate lists.
EXACT_FRONTS = Arithmetic("exact fronts", pareto_remainder, prices=True, flat=flat_cheapest,
                          fronts=True, tree=tree_kernel.solve,
                          compile=tree_kernel.compile_remainder)
# The same arithmetic with the equal split in the coupling search (fa2's ``bound="equal"``,
# the bound before the Lagrangian split; kept for comparison).
EXACT_FRONTS_EQUAL_SPLIT = Arithmetic("exact fronts, equal split", pareto_remainder,
                                      prices=False, flat=flat_cheapest, tree=tree_kernel.solve,
                                      compile=tree_kernel.compile_remainder)
