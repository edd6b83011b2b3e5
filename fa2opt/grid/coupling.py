"""Coupling nodes: the grid DP as remainder solver of the branch and bound, and batched passes.

Coupling nodes (shared by flows, or duplicated by the reduction of non-series-parallel
flows) are fixed by a search; fixed, every flow is an independent series-parallel problem.
The single-instance :class:`~fa2opt.grid.GridSolver` runs the same transformation as the
exact ``fa2`` (:class:`~fa2opt.reductions.ParetoPrune`,
:class:`~fa2opt.reductions.SeriesParallel`, :class:`~fa2opt.reductions.Decouple`) and its
branch and bound (:func:`fa2opt.reductions.search`) with the grid DP as remainder solver
(:class:`GridRemainder`), once per rounding: exact for each rounding, so the two passes keep
their meaning. Batched passes enumerate the coupling columns while few combinations remain
after dropping columns dominated at every batch item, else search per batch item
(:func:`grid_pass`).
"""

from __future__ import annotations

import itertools
import math
from types import ModuleType
from typing import Any, Mapping, Sequence

import numpy as np

from .. import kernels
from ..arithmetic import Arithmetic
from ..reductions import Decouple
from ..reductions.decouple import DecoupledProblem
from ..reductions.pruning import Candidates, PrunedProblem, front_rows
from ..reductions.search import SearchResult, search
from ..reductions.sp_decompose import SPFlow, SPProblem
from ..reductions.sptree import SPTree, count_leaves, leaves
from .columns import useful_columns
from .curves import CurveTables
from .flow_dp import FlowPart, Steps, count_terms, fix_steps, flow_pass, leaf_nodes, tree_pass
from .rounding import MODES, budget_steps, latency_steps


class GridRemainder:
    """A :class:`fa2opt.reductions.search.RemainderSolver` on the grid (one instance, B = 1).

    ``remainder(tree, budget_ms, candidates, fixed, weight)``: the least weighted cost of the
    free leaves of ``tree`` with every latency rounded by ``mode`` and the budget
    ``budget_ms`` (= S + 1e-6 ms, what the search passes) in steps as :func:`budget_steps`
    rounds it, and the candidate index per free leaf node. A fixed node's leaves keep only its
    fixed candidate at cost 0 (the search counts its cost once).

    It is *exact for its arithmetic*: the optimum of the up-rounded restriction (``up``) or
    of the down-rounded relaxation (``down``). The search's bound (each copy of an unfixed
    coupling node chooses freely at cost c/n) is a relaxation in any fixed arithmetic, so
    ``search(dp, GridRemainder(Δ, mode))`` returns that rounding's exact optimum over the
    whole problem — the same value the exhaustive enumeration of coupling columns gives.
    ``backtrack=False`` returns only the value (the lower-bound pass).
    """

    def __init__(self, grid_ms: float, mode: str, xp: ModuleType = np, backtrack: bool = True):
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}")
        self.grid_ms, self.mode, self.xp, self.backtrack = grid_ms, mode, xp, backtrack
        self._terms: dict[int, tuple[SPTree, int, tuple[str, ...]]] = {}
        self.solves = 0

    def _shape(self, tree: SPTree) -> tuple[int, tuple[str, ...]]:
        hit = self._terms.get(id(tree))
        if hit is None or hit[0] is not tree:
            hit = (tree, count_terms(tree), leaf_nodes(tree))
            self._terms[id(tree)] = hit
        return hit[1], hit[2]

    def __call__(self, tree: SPTree, budget_ms: float, candidates: Mapping[str, Candidates],
                 fixed: Mapping[str, int] | None = None,
                 weight: Mapping[str, float] | None = None) -> tuple[float, dict[str, int]] | None:
        xp, fixed, weight = self.xp, fixed or {}, weight or {}
        self.solves += 1
        terms, nodes = self._shape(tree)
        T = int(budget_steps(budget_ms, self.grid_ms, self.mode, terms))
        if T < 0:
            return None
        if fixed:  # fixed leaves folded on the grid first: the DP then sees only free ones
            tree = fix_steps(tree, {v: int(latency_steps(candidates[v].latency[k], self.grid_ms,
                                                         self.mode)) for v, k in fixed.items()},
                             self.grid_ms, self.mode, T + 1)
            if type(tree) is Steps:
                return (0.0, {}) if tree.steps <= T else None
            nodes = leaf_nodes(tree)
        lat, cost = {}, {}
        for v in nodes:
            cv = candidates[v]
            lat[v] = xp.asarray([cv.latency], dtype=xp.float64)
            c = xp.asarray([cv.cost], dtype=xp.float64)
            w = weight.get(v)
            cost[v] = c if w is None else c * w
        tabs = CurveTables(lat, cost, xp)
        steps = {v: latency_steps(lat[v], self.grid_ms, self.mode, xp) for v in nodes}
        cost, choice = tree_pass(tree, tabs, steps, self.grid_ms, self.mode, xp.asarray([T]),
                                 self.backtrack)
        value = float(kernels.to_numpy(cost)[0])
        if not np.isfinite(value):
            return None
        return value, {v: int(kernels.to_numpy(k)[0]) for v, k in choice.items()}


def grid_arithmetic(grid_ms: float, mode: str, xp: ModuleType = np,
                    backtrack: bool = True) -> Arithmetic:
    """FA2's grid of Δ = ``grid_ms`` on backend ``xp``, one rounding ``mode``, as a declared
    :class:`~fa2opt.arithmetic.Arithmetic`: exact for its rounding, no per-candidate prices
    (the search bounds by the equal split), no flat sweep; its ``value`` is the DP without
    backtracking (the bounds' solves)."""
    value = GridRemainder(grid_ms, mode, xp, backtrack=False)
    return Arithmetic(f"grid {grid_ms:g} ms {mode}",
                      GridRemainder(grid_ms, mode, xp, backtrack) if backtrack else value,
                      value=value)


def grid_search(dp: DecoupledProblem, grid_ms: float, mode: str, xp: ModuleType = np,
                backtrack: bool = True, deadline: float | None = None) -> SearchResult | None:
    """The exact optimum of one rounding over a decoupled problem: the colleague's branch
    and bound over the coupling nodes (:func:`fa2opt.reductions.search.search`) with the
    grid arithmetic (:func:`grid_arithmetic`). None: no decision on this grid. ``deadline``
    (a ``time.perf_counter()`` value): the search stops there (``timed_out``, the incumbent
    and a lower bound of this rounding's optimum), checked between DPs; a DP still running
    stops at the deadline in force (:func:`fa2opt.deadline.stop_at`), if any."""
    return search(dp, grid_arithmetic(grid_ms, mode, xp, backtrack), deadline)


# -- coupling nodes in a batch ------------------------------------------------------------------
# Batched passes enumerate the coupling columns (after dropping those dominated at every batch
# item) while there are at most this many combinations; above it, every batch item runs the
# branch and bound on its own (see docs/grid-and-gpu.md for the measurement behind it).
ENUMERATE_MAX = 8


def grid_pass(parts: Sequence[FlowPart], coupling: Sequence[str], tabs: CurveTables,
              grid_ms: float, mode: str, backtrack: bool = True) -> tuple[Any, dict[str, Any]]:
    """Least total cost (B,) and the choice per node over all flows, on one rounding.

    Flows without coupling nodes are solved once, batched. With coupling nodes (shared by
    flows, or duplicated by the non-series-parallel reduction), their columns dominated at
    every batch item in this rounding are dropped (exact: swapping a dominated column for its
    dominator in every copy keeps every flow within budget at no more cost); if at most
    :data:`ENUMERATE_MAX` combinations remain they are enumerated batched (fixed, a
    coupling node costs its price once and acts as a fixed latency, each flow is an
    independent series-parallel problem), else each batch item runs the branch and bound
    (:func:`batch_item_search`). Both give the exact optimum of the rounding per item.
    """
    xp, B = tabs.xp, tabs.batch
    coupling = list(dict.fromkeys(coupling))
    cset = set(coupling)
    free = [p for p in parts if not cset & set(leaves(p.tree))]
    tied = [p for p in parts if cset & set(leaves(p.tree))]
    total = xp.zeros((B,), dtype=xp.float64)
    choice: dict[str, Any] = {}
    for p in free:
        c, ch = flow_pass(p, tabs, grid_ms, mode, backtrack)
        total = total + c
        choice.update(ch)
    if not coupling:
        return total, choice
    columns = [useful_columns(latency_steps(tabs.latency[v], grid_ms, mode, xp), tabs.cost[v], xp)
               for v in coupling]
    if math.prod(len(c) for c in columns) <= ENUMERATE_MAX:
        best, best_choice = _enumerate(tied, coupling, columns, tabs, grid_ms, mode, backtrack)
    else:
        best, best_choice = batch_item_search(tied, tabs, grid_ms, mode, backtrack)
    ok = xp.isfinite(best)
    choice = {v: xp.where(ok, k, -1) for v, k in choice.items()}
    choice.update({v: xp.where(ok, k, -1) for v, k in best_choice.items()})
    return total + best, choice


def _enumerate(tied: Sequence[FlowPart], coupling: Sequence[str], columns: Sequence[list[int]],
               tabs: CurveTables, grid_ms: float, mode: str, backtrack: bool
               ) -> tuple[Any, dict[str, Any]]:
    """Every combination of the coupling nodes' columns, batched; per item the best."""
    xp, B = tabs.xp, tabs.batch
    best = xp.full((B,), xp.inf)
    best_choice: dict[str, Any] = {}
    for combo in itertools.product(*columns):
        fixed = dict(zip(coupling, combo))
        sub = tabs.fix(fixed)
        cost = sum((tabs.cost[v][:, k] for v, k in fixed.items()), xp.zeros((B,)))
        ch: dict[str, Any] = {v: xp.full((B,), k, dtype=xp.int64) for v, k in fixed.items()}
        for p in tied:
            c, pch = flow_pass(p, sub, grid_ms, mode, backtrack)
            cost = cost + c
            ch.update({v: k for v, k in pch.items() if v not in fixed})
        better = cost < best
        best = xp.where(better, cost, best)
        for v, k in ch.items():
            best_choice[v] = xp.where(better, k, best_choice.get(v, xp.full((B,), -1, dtype=xp.int64)))
    return best, best_choice


def candidates_at(tabs: CurveTables, node: str, b: int) -> Candidates:
    """Batch item b's Pareto-optimal available columns of a node (fastest first; positions =
    columns), the candidates the search expects (:func:`fa2opt.reductions.pruning.front_rows`)."""
    lat = kernels.to_numpy(tabs.latency[node][b])
    cost = kernels.to_numpy(tabs.cost[node][b])
    cols = np.flatnonzero(np.isfinite(cost))
    cols = cols[np.lexsort((cost[cols], lat[cols]))]
    kl, kc, keep = front_rows(lat[cols].tolist(), cost[cols].tolist())
    return Candidates(node, kl, kc, cols[keep].tolist())


def batch_item_search(parts: Sequence[FlowPart], tabs: CurveTables, grid_ms: float, mode: str,
                      backtrack: bool = True) -> tuple[Any, dict[str, Any]]:
    """Per batch item, the branch and bound over the coupling nodes with the grid remainder
    (on the host, B = 1), through the same decoupling as ``fa2``
    (:class:`fa2opt.reductions.Decouple`). Cost (B,) and chosen column per node (B,)."""
    xp, B = tabs.xp, tabs.batch
    nodes = list(dict.fromkeys(v for p in parts for v in leaves(p.tree)))
    cost = np.full(B, np.inf)
    choice = {v: np.full(B, -1, dtype=np.int64) for v in nodes}
    slas = [np.broadcast_to(kernels.to_numpy(xp.asarray(p.budget_ms)), (B,)) for p in parts]
    counts = [count_leaves(p.tree) for p in parts]
    for b in range(B):
        cands = {v: candidates_at(tabs, v, b) for v in nodes}
        sp = SPProblem(PrunedProblem(None, cands),  # type: ignore[arg-type]
                       tuple(SPFlow(p.name, float(s[b]), p.tree, 0, n)
                             for p, s, n in zip(parts, slas, counts)))
        dp, _ = Decouple().apply(sp)
        res = grid_search(dp, grid_ms, mode, np, backtrack)
        if res is None:
            continue
        cost[b] = res.cost
        for v, k in res.choice.items():
            if v in choice:
                choice[v][b] = cands[v].positions[k]
    return xp.asarray(cost), {v: xp.asarray(k) for v, k in choice.items()}
