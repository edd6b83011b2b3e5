"""FA2's grid DP: the dynamic program over a discretised latency budget (``fa2-grid``).

Razavi et al. (FA2, IEEE RTAS 2022) solve each series-parallel piece of the inference graph
with a DP over latency budgets discretised to a step Δ (``grid_ms``). Here that DP runs over
the same series-parallel expression trees (:mod:`fa2opt.reductions.sptree`) as the exact
Pareto DP, with *curves* instead of Pareto sets: ``g[t]`` = least cost of a sub-expression
whose latency is at most t·Δ, for t = 0 … T, T = ⌊S/Δ⌋ (the kernels are in
:mod:`fa2opt.kernels`)::

    Leaf v:          g[t] = min_{k: u_k ≤ t} c_k            u_k = node latency L_k in steps
    Delay d:         g[t] = 0 if t ≥ d else ∞
    Series(a, b):    g[t] = min_s a[s] + b[t − s]           (min,+) convolution, O(T²);
                     a leaf or delay after a curve is the cheaper O(T·K) leaf-fold step
    Parallel(a, b):  g[t] = a[t] + b[t]                     (every branch within t)

and an argmin per step for backtracking. Complexity per flow O(T·(Σ_v K_v) + T²·#conv).

Two passes make the result honest:

* **up**: latencies (node, edge and fixed delays) rounded *up* to the grid and the budget
  rounded down: every decision the DP returns meets the real SLA (a restriction);
* **down**: latencies rounded *down*, budget rounded up: every truly feasible decision is
  feasible on this grid (a relaxation), so its optimum is a certified **lower bound**.

Status ``optimal`` when the two costs meet (within 1e-9 relative), else ``feasible`` with
``lower_bound``. If rounding up leaves no decision on a feasible instance, the answer is the
all-fastest choice (``feasible`` with ``lower_bound``); ``infeasible`` exactly when the
all-fastest choice breaks an SLA. Rounding uses a snap tolerance δ = 1e-9 step so that
latencies on the grid are not pushed off it by floating-point noise; the budgets absorb
δ per term, which keeps both passes rigorous (see :func:`budget_steps`).

Everything is batched over a leading axis B (the same graph at many rates, used by the
decision tables of :mod:`fa2opt.decision_table`) and runs on numpy or CuPy (``device``).

Coupling nodes (shared by flows, or duplicated by the reduction of non-series-parallel
flows) are fixed by a search; fixed, every flow is an independent series-parallel problem.
The single-instance :class:`GridSolver` runs the same transformation as the exact ``fa2``
(:class:`~fa2opt.reductions.ParetoPrune`, :class:`~fa2opt.reductions.SeriesParallel`,
:class:`~fa2opt.reductions.Decouple`) and its branch and bound
(:func:`fa2opt.reductions.search`) with the grid DP as remainder solver
(:class:`GridRemainder`), once per rounding: exact for each rounding, so the two passes keep
their meaning. Batched passes enumerate the coupling columns while few combinations remain
after dropping columns dominated at every batch item, else search per batch item
(:func:`grid_pass`).
"""

from __future__ import annotations

import itertools
import math
from collections import Counter
from dataclasses import dataclass
from types import ModuleType
from typing import Any, Mapping, Sequence

import numpy as np

from . import kernels
from .io import InputError
from .model import Instance
from .problem import Problem
from .reductions import Chain, Decouple, ParetoPrune, SeriesParallel
from .reductions.decouple import DecoupledProblem
from .reductions.pruning import Candidates, PrunedProblem, pareto_rows
from .reductions.search import SearchResult, search
from .reductions.sp_decompose import SPFlow, SPProblem, flow_tree, leaf_counts
from .reductions.sptree import Delay, Leaf, Parallel, Series, SPTree, fold, leaves
from .solver import Decision, Solver
from .tables import ProfileArrays, evaluate
from .verify import REL_TOL, SLA_TOL_MS

SNAP = 1e-9  # δ: rounding tolerance, in grid steps
DEFAULT_GRID_MS = 1.0
MODES = ("up", "down")


# -- rounding ----------------------------------------------------------------------------------
def latency_steps(latency_ms: Any, grid_ms: float, mode: str, xp: ModuleType = np) -> Any:
    """A latency in grid steps: ``up`` → ⌈L/Δ − δ⌉, ``down`` → ⌊L/Δ + δ⌋ (int64, ≥ 0)."""
    x = xp.asarray(latency_ms, dtype=xp.float64) / grid_ms
    s = xp.ceil(x - SNAP) if mode == "up" else xp.floor(x + SNAP)
    return xp.maximum(s, 0).astype(xp.int64)


def budget_steps(sla_ms: Any, grid_ms: float, mode: str, terms: int, xp: ModuleType = np) -> Any:
    """The SLA in grid steps for an expression of ``terms`` leaves and delays.

    ``up``: T = ⌊(S + tol)/Δ − terms·δ⌋. A path of steps u_i ≥ L_i/Δ − δ with Σ u_i ≤ T has
    Σ L_i ≤ Δ(T + terms·δ) ≤ S + tol: the decision meets the SLA.
    ``down``: T = ⌊(S + tol)/Δ + terms·δ⌋. A path with Σ L_i ≤ S + tol has steps
    u_i ≤ L_i/Δ + δ, so Σ u_i ≤ T: every feasible decision stays feasible (a relaxation).
    """
    return total_budget_steps(xp.asarray(sla_ms, dtype=xp.float64) + SLA_TOL_MS, grid_ms, mode,
                              terms, xp)


def total_budget_steps(budget_ms: Any, grid_ms: float, mode: str, terms: int,
                       xp: ModuleType = np) -> Any:
    """:func:`budget_steps` from the budget S + tol already added (what the coupling search
    hands its remainder solver: the same float sum, so both paths round alike)."""
    x = xp.asarray(budget_ms, dtype=xp.float64) / grid_ms
    x = x - terms * SNAP if mode == "up" else x + terms * SNAP
    return xp.floor(x).astype(xp.int64)


# -- per-node arrays over the batch ---------------------------------------------------------
@dataclass(frozen=True)
class CurveTables:
    """Per node, (B, K) arrays of node latency L (ms) and cost c (``inf`` = unavailable).

    Column k is a table position (single problem) or a profile row (batched rates); the DP
    returns column indices.
    """

    latency: Mapping[str, Any]
    cost: Mapping[str, Any]
    xp: Any = np

    @property
    def batch(self) -> int:
        return int(next(iter(self.cost.values())).shape[0])

    @classmethod
    def from_problem(cls, problem: Problem, xp: ModuleType = np) -> "CurveTables":
        """B = 1 from the problem's configuration tables (columns = table positions)."""
        lat = {v: xp.asarray(t.latency_ms, dtype=xp.float64).reshape(1, -1)
               for v, t in problem.tables.items()}
        cost = {v: xp.asarray(t.cost, dtype=xp.float64).reshape(1, -1)
                for v, t in problem.tables.items()}
        return cls(lat, cost, xp)

    @classmethod
    def from_rates(cls, instance: Instance, node_rates: Mapping[str, Any],
                   xp: ModuleType = np) -> tuple["CurveTables", dict[str, dict[str, Any]]]:
        """B = len(rates): every node's rows evaluated at its rates (shape (B,)) by
        :func:`fa2opt.tables.evaluate` (columns = profile rows). Also returns the raw
        evaluation per node (replicas etc.) for the caller's output."""
        lat, cost, raw = {}, {}, {}
        for node in instance.nodes:
            rates = xp.asarray(node_rates[node.name], dtype=xp.float64).reshape(-1, 1)
            ev = evaluate(ProfileArrays.of(node, instance), rates,
                          max_utilization=instance.max_utilization,
                          queueing_model=instance.queueing, max_replicas=node.max_replicas,
                          max_batch=node.max_batch, xp=xp)
            shape = (rates.shape[0], len(node.configs))
            lat[node.name] = xp.broadcast_to(ev["latency_ms"], shape).astype(xp.float64)
            cost[node.name] = xp.where(xp.broadcast_to(ev["available"], shape),
                                       xp.broadcast_to(ev["cost"], shape), xp.inf)
            raw[node.name] = ev
        return cls(lat, cost, xp), raw

    def fix(self, fixed: Mapping[str, int]) -> "CurveTables":
        """Coupling nodes fixed to one column each: that column keeps its latency and costs 0
        (its cost is counted once by the caller), every other column is unavailable."""
        xp = self.xp
        cost = dict(self.cost)
        for v, k in fixed.items():
            c = self.cost[v]
            cols = xp.arange(c.shape[1])[None, :]
            cost[v] = xp.where((cols == k) & xp.isfinite(c), 0.0, xp.inf)
        return CurveTables(self.latency, cost, xp)

    def fastest(self) -> dict[str, Any]:
        """Per node and batch item, the available column of least latency (ties: cheapest,
        then lowest index) — the spec's all-fastest choice; −1 where none is available."""
        xp = self.xp
        out = {}
        for v, c in self.cost.items():
            lat = xp.where(xp.isfinite(c), self.latency[v], xp.inf)
            best = lat.min(axis=1, keepdims=True)
            cand = xp.where(lat == best, c, xp.inf)
            k = xp.argmin(cand, axis=1).astype(xp.int64)
            out[v] = xp.where(xp.isfinite(best[:, 0]), k, -1)
        return out

    def take(self, items: Any) -> "CurveTables":
        """The batch items ``items`` (an index array), in that order."""
        return CurveTables({v: a[items] for v, a in self.latency.items()},
                           {v: a[items] for v, a in self.cost.items()}, self.xp)

    def pick(self, which: str, choice: Mapping[str, Any]) -> dict[str, Any]:
        """Per node, the (B,) values of ``latency`` or ``cost`` at the chosen columns."""
        arrays = self.latency if which == "latency" else self.cost
        xp = self.xp
        out = {}
        for v, k in choice.items():
            a = arrays[v]
            out[v] = xp.where(k >= 0, kernels.gather_rows(a, xp.maximum(k, 0), xp), xp.inf)
        return out


# -- one flow: curve and backtracking -----------------------------------------------------
@dataclass(frozen=True)
class FlowPart:
    """One series-parallel problem: a flow's expression and its SLA (scalar or (B,) ms)."""

    name: str
    tree: SPTree
    sla_ms: Any


def count_terms(tree: SPTree) -> int:
    """Leaves and delays of an expression (the rounding terms of its budget)."""
    if isinstance(tree, (Leaf, Delay)):
        return 1
    return sum(count_terms(p) for p in tree.parts)


def _curve(tree: SPTree, tabs: CurveTables, steps: Mapping[str, Any], grid_ms: float,
           mode: str, length: int, record: bool = True,
           need: tuple[int, int] | None = None) -> tuple[Any, tuple | None]:
    """The cost curve of ``tree`` (B, length) and, with ``record``, what backtracking needs.

    A series is evaluated as: (min,+) convolution of its nested sub-expressions, one shift by
    the sum of its delays (each rounded on its own, as separate terms), then one leaf-fold per
    leaf — the same values as folding the parts in their order (sums commute exactly on the
    grid), with one array pass per series for all its delays instead of a fold per delay.
    The kernels run without their argmin; the record keeps each step's input curves, and
    :func:`_backtrack` recovers the argmin at the budgets on the chosen path only.

    ``need = (lo, hi)``: only budgets lo ≤ t < hi of the result are wanted (the caller reads
    nothing else; entries outside may be left inf). Going backwards through a series' leaves,
    leaf i's input is wanted on [lo − max u_i, hi − min u_i) (its live steps), which is what
    the leaf-folds compute: the last leaf of a flow computes one budget per item, the ones
    before it a widening window. Backtracking reads only these ranges.
    """
    xp, B = tabs.xp, tabs.batch
    if isinstance(tree, Parallel):
        curves = [_curve(p, tabs, steps, grid_ms, mode, length, record, need) for p in tree.parts]
        total = curves[0][0]
        for c, _ in curves[1:]:
            total = kernels.parallel(total, c, xp)
        return total, (("par", [r for _, r in curves]) if record else None)
    parts = tree.parts if isinstance(tree, Series) else (tree,)
    nested = [p for p in parts if not isinstance(p, (Leaf, Delay))]
    delay = sum(int(latency_steps(p.latency_ms, grid_ms, mode)) for p in parts if isinstance(p, Delay))
    folds = []
    for p in parts:  # each leaf's undominated columns
        if isinstance(p, Leaf):
            keep, u, c = undominated(steps[p.node], tabs.cost[p.node], xp)
            folds.append((p.node, u, c, keep))
    lo, hi = need if need is not None else (0, length)
    needs: list[tuple[int, int]] = []
    for _, u, c, _ in reversed(folds):  # wanted budgets of each fold's output, backwards
        needs.append((lo, hi))
        umin, umax = _step_range(u, c)
        lo, hi = max(0, lo - umax), max(0, hi - umin)
    needs.reverse()
    rec: tuple | None
    if nested:  # series of sub-curves: (min,+) convolutions, then the delays and leaves
        inner = (max(0, lo - delay), max(0, hi - delay)) if len(nested) == 1 else None
        acc, rec = _curve(nested[0], tabs, steps, grid_ms, mode, length, record, inner)
        for p in nested[1:]:
            other, orec = _curve(p, tabs, steps, grid_ms, mode, length, record)
            new, _ = kernels.minplus_conv(acc, other, xp, with_arg=False)
            rec = ("conv", acc, other, rec, orec) if record else None
            acc = new
        if delay:
            acc = kernels.shift(acc, delay, xp)
            rec = ("shift", delay, rec) if record else None
    else:
        acc = kernels.shift(kernels.zero_curve(B, length, xp), delay, xp) if delay \
            else kernels.zero_curve(B, length, xp)
        rec = ("zero",) if record else None
    for (node, u, c, keep), want in zip(folds, needs):
        new, _ = kernels.leaf_fold(acc, u, c, xp, with_arg=False, need=want)
        if record:
            rec = ("leaf", node, acc, u, c, rec, xp.asarray(np.asarray(keep, dtype=np.int64)))
        acc = new
    return acc, rec


def _step_range(u: Any, c: Any) -> tuple[int, int]:
    """Least and largest step among a leaf's available entries ((0, 0) if none)."""
    uu, cc = kernels.to_numpy(u), kernels.to_numpy(c)
    live = np.isfinite(cc)
    if not live.any():
        return 0, 0
    return int(uu[live].min()), int(uu[live].max())


def useful_columns(u: Any, c: Any, xp: ModuleType = np) -> list[int]:
    """Columns not dominated at every batch item (exact pruning of a leaf's rows).

    At item b, column j dominates k when u_j ≤ u_k and c_j ≤ c_k, strictly in one or with
    j < k on a tie (a strict order, so every dominated column is dominated by an undominated
    one); an unavailable column (c = inf) is dominated. Dropping columns dominated at every
    item changes no curve value. O(K²·B) against the fold's O(K·B·T); for B = 1 (the
    single-instance solver) a sort by (u, c, k) and a running minimum, O(K log K).
    """
    return undominated(u, c, xp)[0]


def undominated(u: Any, c: Any, xp: ModuleType = np) -> tuple[list[int], Any, Any]:
    """:func:`useful_columns` ``keep``, and the leaf's steps and costs on those columns with
    c = inf wherever the column is dominated *at that item* (the leaf-fold skips those
    entries). Exact: curves are non-increasing in t, so c_j + g[t − u_j] ≤ c_k + g[t − u_k]
    when j dominates k, and every dominated entry's dominator stays."""
    K = u.shape[1]
    if K <= 1:
        return list(range(K)), u, c
    if u.shape[0] == 1:
        uu, cc = kernels.to_numpy(u)[0], kernels.to_numpy(c)[0]
        order = np.lexsort((np.arange(K), cc, uu))
        cs = cc[order]
        prev = np.minimum.accumulate(np.concatenate([[np.inf], cs[:-1]]))
        keep = [int(k) for k in np.sort(order[(cs < prev) & np.isfinite(cs)])] or [0]
    else:
        dominated = ~xp.isfinite(c)  # (B, K)
        cols = xp.arange(K)[None, :]
        for j in range(K):  # O(B·K) memory
            uj, cj = u[:, j:j + 1], c[:, j:j + 1]
            dominated |= (uj <= u) & (cj <= c) & ((uj < u) | (cj < c) | (j < cols))
        keep = [int(k) for k in np.flatnonzero(~kernels.to_numpy(dominated.all(axis=0)))] or [0]
        c = xp.where(dominated, xp.inf, c)
    if len(keep) < K:
        u, c = u[:, keep], c[:, keep]
    return keep, u, c


def _backtrack(rec: tuple, t: Any, ok: Any, out: dict[str, Any], xp: ModuleType) -> None:
    """Walk a record down from budgets t (B,), filling ``out[node]`` (B,) for items ``ok``.
    The argmins are recomputed at t only (:func:`kernels.leaf_fold_argmin`,
    :func:`kernels.minplus_conv_argmin`): the first minimiser, as the kernels' scans keep."""
    kind = rec[0]
    if kind == "zero":
        return
    if kind == "par":
        for r in rec[1]:
            _backtrack(r, t, ok, out, xp)
        return
    t = xp.maximum(t, 0)
    if kind == "shift":
        _backtrack(rec[2], t - rec[1], ok, out, xp)
        return
    if kind == "conv":
        _, a, c, left, right = rec
        s = xp.maximum(kernels.minplus_conv_argmin(a, c, t, xp), 0)
        _backtrack(left, s, ok, out, xp)
        _backtrack(right, t - s, ok, out, xp)
        return
    _, node, prev, u, c, prev_rec, keep = rec
    k = xp.maximum(kernels.leaf_fold_argmin(prev, u, c, t, xp), 0)
    out[node] = xp.where(ok, keep[k], out.get(node, xp.full(k.shape, -1, dtype=xp.int64)))
    _backtrack(prev_rec, t - kernels.gather_rows(u, k, xp), ok, out, xp)


def flow_pass(part: FlowPart, tabs: CurveTables, grid_ms: float, mode: str,
              backtrack: bool = True) -> tuple[Any, dict[str, Any]]:
    """Least cost (B,) of one flow's nodes within its SLA on the grid, and the chosen column
    per node ((B,), −1 where the cost is inf; empty without ``backtrack``)."""
    xp, B = tabs.xp, tabs.batch
    T = xp.broadcast_to(budget_steps(part.sla_ms, grid_ms, mode, count_terms(part.tree), xp), (B,))
    tmax = int(T.max())
    if tmax < 0:
        return xp.full((B,), xp.inf), ({v: xp.full((B,), -1, dtype=xp.int64)
                                        for v in set(leaves(part.tree))} if backtrack else {})
    steps = {v: latency_steps(tabs.latency[v], grid_ms, mode, xp) for v in set(leaves(part.tree))}
    need = (max(0, int(T.min())), tmax + 1)  # only the budgets T are read
    curve, rec = _curve(part.tree, tabs, steps, grid_ms, mode, tmax + 1, backtrack, need)
    Tc = xp.maximum(T, 0)
    cost = xp.where(T >= 0, kernels.gather_rows(curve, Tc, xp), xp.inf)
    if not backtrack:
        return cost, {}
    ok = xp.isfinite(cost)
    choice: dict[str, Any] = {}
    _backtrack(rec, Tc, ok, choice, xp)
    return cost, {v: xp.where(ok, k, -1) for v, k in choice.items()}


# -- the grid DP as the coupling search's remainder solver ---------------------------------------
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
            hit = (tree, count_terms(tree), tuple(dict.fromkeys(leaves(tree))))
            self._terms[id(tree)] = hit
        return hit[1], hit[2]

    def __call__(self, tree: SPTree, budget_ms: float, candidates: Mapping[str, Candidates],
                 fixed: Mapping[str, int] | None = None,
                 weight: Mapping[str, float] | None = None) -> tuple[float, dict[str, int]] | None:
        xp, fixed, weight = self.xp, fixed or {}, weight or {}
        self.solves += 1
        terms, nodes = self._shape(tree)
        T = int(total_budget_steps(budget_ms, self.grid_ms, self.mode, terms))
        if T < 0:
            return None
        lat, cost = {}, {}
        for v in nodes:
            cv = candidates[v]
            if v in fixed:
                lat[v] = xp.asarray([[cv.latency[fixed[v]]]], dtype=xp.float64)
                cost[v] = xp.zeros((1, 1), dtype=xp.float64)
            else:
                lat[v] = xp.asarray([cv.latency], dtype=xp.float64)
                c = xp.asarray([cv.cost], dtype=xp.float64)
                w = weight.get(v)
                cost[v] = c if w is None else c * w
        tabs = CurveTables(lat, cost, xp)
        steps = {v: latency_steps(lat[v], self.grid_ms, self.mode, xp) for v in nodes}
        curve, rec = _curve(tree, tabs, steps, self.grid_ms, self.mode, T + 1, self.backtrack,
                            (T, T + 1))
        value = float(kernels.to_numpy(curve[0, T]))
        if not np.isfinite(value):
            return None
        if not self.backtrack:
            return value, {}
        out: dict[str, Any] = {}
        _backtrack(rec, xp.asarray([T]), xp.asarray([True]), out, xp)
        return value, {v: int(kernels.to_numpy(k)[0]) for v, k in out.items() if v not in fixed}


def grid_search(dp: DecoupledProblem, grid_ms: float, mode: str, xp: ModuleType = np,
                backtrack: bool = True) -> SearchResult | None:
    """The exact optimum of one rounding over a decoupled problem: the colleague's branch
    and bound over the coupling nodes (:func:`fa2opt.reductions.search.search`) with the
    grid as remainder solver. None: no decision on this grid."""
    return search(dp, GridRemainder(grid_ms, mode, xp, backtrack))


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
    columns), the candidates the search expects (:func:`fa2opt.reductions.pruning.pareto_rows`)."""
    lat = kernels.to_numpy(tabs.latency[node][b])
    cost = kernels.to_numpy(tabs.cost[node][b])
    cols = np.flatnonzero(np.isfinite(cost))
    cols = cols[np.lexsort((cost[cols], lat[cols]))]
    keep = pareto_rows(lat[cols].tolist(), cost[cols].tolist())
    cols = cols[keep]
    return Candidates(node, lat[cols].tolist(), cost[cols].tolist(), cols.tolist())


def batch_item_search(parts: Sequence[FlowPart], tabs: CurveTables, grid_ms: float, mode: str,
                      backtrack: bool = True) -> tuple[Any, dict[str, Any]]:
    """Per batch item, the branch and bound over the coupling nodes with the grid remainder
    (on the host, B = 1), through the same decoupling as ``fa2``
    (:class:`fa2opt.reductions.Decouple`). Cost (B,) and chosen column per node (B,)."""
    xp, B = tabs.xp, tabs.batch
    nodes = list(dict.fromkeys(v for p in parts for v in leaves(p.tree)))
    cost = np.full(B, np.inf)
    choice = {v: np.full(B, -1, dtype=np.int64) for v in nodes}
    slas = [np.broadcast_to(kernels.to_numpy(xp.asarray(p.sla_ms)), (B,)) for p in parts]
    counts = [Counter(leaves(p.tree)) for p in parts]
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


# -- the flows' expressions -----------------------------------------------------------------------
def flow_parts(problem: Problem, slas: Mapping[str, Any] | None = None
               ) -> tuple[list[FlowPart], list[str]]:
    """Each flow's series-parallel expression (from the shared graph transformation,
    :func:`fa2opt.reductions.sp_decompose.flow_tree`, which duplicates nodes of non-SP
    flows) with its SLA (``slas`` overrides, scalar or (B,) ms), and the coupling nodes: those
    with more than one leaf over all trees (shared by flows or duplicated), most leaves first
    as :class:`fa2opt.reductions.decouple.Decouple` orders them."""
    slas = slas or {}
    flows = [SPFlow(g.name, g.sla_ms, flow_tree(g)[0]) for g in problem.flows]
    counts = leaf_counts(flows)
    coupling = sorted((v for v, n in counts.items() if n > 1), key=lambda v: (-counts[v], v))
    return [FlowPart(f.name, f.tree, slas.get(f.name, f.sla_ms)) for f in flows], coupling


# -- decisions over a batch ---------------------------------------------------------------------
@dataclass
class BatchDecision:
    """Per batch item: status (``optimal``/``feasible``/``infeasible``), cost, certified lower
    bound and chosen column per node (−1 where infeasible)."""

    status: np.ndarray  # (B,) str, on the host
    cost: Any           # (B,) (inf where infeasible)
    lower_bound: Any    # (B,)
    choice: dict[str, Any]
    fallback: Any       # (B,) bool: the up grid had no decision, all-fastest answered


def flow_latencies(parts: Sequence[FlowPart], tabs: CurveTables, choice: Mapping[str, Any]
                   ) -> dict[str, Any]:
    """Each flow's longest path (B,) for a choice, by evaluating its expression on arrays."""
    xp = tabs.xp
    lat = tabs.pick("latency", choice)
    return {p.name: fold(p.tree, lambda v: lat[v], lambda d: d, lambda a, b: a + b, xp.maximum)
            for p in parts}


def decide_batch(parts: Sequence[FlowPart], coupling: Sequence[str], tabs: CurveTables,
                 grid_ms: float) -> BatchDecision:
    """The grid DP's answer for every batch item (see module doc for the statuses)."""
    xp = tabs.xp
    fastest = tabs.fastest()
    fast_cost = sum(tabs.pick("cost", fastest).values())
    lat = flow_latencies(parts, tabs, fastest)
    feasible = xp.isfinite(fast_cost)
    for p in parts:
        feasible &= lat[p.name] <= xp.asarray(p.sla_ms) + SLA_TOL_MS
    cost, lb, choice = _both_passes(parts, coupling, tabs, grid_ms)
    up_ok = xp.isfinite(cost)
    if up_ok.any():  # safety net: every decision must meet its SLAs (true by construction)
        lat = flow_latencies(parts, tabs, choice)
        for p in parts:
            up_ok &= lat[p.name] <= xp.asarray(p.sla_ms) + SLA_TOL_MS
    use_fast = feasible & ~up_ok
    choice = {v: xp.where(use_fast, fastest[v], xp.where(feasible, k, -1)) for v, k in choice.items()}
    cost = xp.where(feasible, xp.where(up_ok, cost, fast_cost), xp.inf)
    lb = xp.where(feasible, xp.minimum(lb, cost), xp.inf)
    with np.errstate(invalid="ignore"):  # inf − inf on infeasible items
        gap_ok = xp.abs(cost - lb) <= REL_TOL * xp.maximum(1.0, xp.abs(cost))
    status = np.where(kernels.to_numpy(feasible),
                      np.where(kernels.to_numpy(gap_ok), "optimal", "feasible"), "infeasible")
    return BatchDecision(status, cost, lb, choice, use_fast)


def _both_passes(parts, coupling, tabs, grid_ms):
    """Up pass with backtracking (the decision), down pass for its value only (the bound),
    each distinct batch item once (:func:`distinct_items`)."""
    xp, B = tabs.xp, tabs.batch
    items, inverse = distinct_items(parts, tabs, grid_ms)
    if items is not None:
        sub = tabs.take(items)
        sub_parts = [p if xp.ndim(xp.asarray(p.sla_ms)) == 0 else
                     FlowPart(p.name, p.tree, xp.broadcast_to(xp.asarray(p.sla_ms), (B,))[items])
                     for p in parts]
        cost, lb, choice = _both_passes_all(sub_parts, coupling, sub, grid_ms)
        return cost[inverse], lb[inverse], {v: k[inverse] for v, k in choice.items()}
    return _both_passes_all(parts, coupling, tabs, grid_ms)


def _both_passes_all(parts, coupling, tabs, grid_ms):
    cost, choice = grid_pass(parts, coupling, tabs, grid_ms, "up")
    lb, _ = grid_pass(parts, coupling, tabs, grid_ms, "down", backtrack=False)
    return cost, lb, choice


def distinct_items(parts: Sequence[FlowPart], tabs: CurveTables, grid_ms: float
                   ) -> tuple[Any, Any] | tuple[None, None]:
    """Batch items whose grid problems are identical — the same up and down steps and costs
    of every column of every node, and the same SLAs — have the same answer in both passes;
    neighbouring rates often do (replica counts are step functions of the rate, and queueing
    delays round to the same steps). Returns (one index per distinct item, the map back), or
    (None, None) when every item is distinct. O(B log B · ΣK) on the host."""
    xp, B = tabs.xp, tabs.batch
    if B < 2:
        return None, None
    cols = []
    for v in tabs.cost:
        cols += [latency_steps(tabs.latency[v], grid_ms, m, xp).astype(xp.float64) for m in MODES]
        cols.append(tabs.cost[v])
    cols += [xp.broadcast_to(xp.asarray(p.sla_ms, dtype=xp.float64), (B,))[:, None] for p in parts]
    key = kernels.to_numpy(xp.concatenate(cols, axis=1))
    _, items, inverse = np.unique(key, axis=0, return_index=True, return_inverse=True)
    if len(items) == B:
        return None, None
    return xp.asarray(items), xp.asarray(inverse.reshape(-1))


def grid_steps(parts: Sequence[FlowPart], grid_ms: float) -> int:
    """The longest curve (budget steps + 1) of the down pass (the larger one)."""
    return int(max(int(np.max(budget_steps(p.sla_ms, grid_ms, "down", count_terms(p.tree))))
                   for p in parts)) + 1


# -- the solver --------------------------------------------------------------------------------
class GridSolver(Solver):
    """``fa2-grid``: FA2's DP over a latency grid of ``grid_ms`` (default 1 ms), on
    ``device`` cpu (numpy, default), gpu (CuPy) or auto.

    One decision: the exact test ``problem.is_feasible()`` (infeasible exactly when it
    fails); then per rounding the transformation of ``fa2`` and its branch and bound over the
    coupling nodes with :class:`GridRemainder`:

    * up: :class:`~fa2opt.reductions.ParetoPrune` (dominated rows and rows that cannot meet
      an SLA even with every other node at its fastest — neither can be in an up-feasible
      decision, since up-feasible decisions meet the real SLAs) → the up optimum, a decision;
    * down: ``ParetoPrune(slack=False)`` (dominated rows only: dominance survives rounding
      down, the SLA test does not) → the optimum of the down-rounded relaxation over every
      row, the certified lower bound (the same value the batched path computes).

    ``optimal`` when the two meet (1e-9 relative); ``feasible`` with ``lower_bound`` otherwise;
    the all-fastest choice (with a message) when the up grid has no decision.
    """

    name = "fa2-grid"

    def __init__(self, **options: Any):
        super().__init__(**options)
        self._prune_up, self._prune_down = ParetoPrune(), ParetoPrune(slack=False)
        self._rest = Chain([SeriesParallel(), Decouple()])

    @classmethod
    def option_names(cls) -> tuple[str, ...]:
        return ("grid_ms", "device")

    def _pass(self, problem: Problem, prune: ParetoPrune, grid_ms: float, mode: str,
              xp: ModuleType) -> tuple[SearchResult | None, dict[str, int] | None, DecoupledProblem]:
        pruned, inv_prune = prune.apply(problem)
        dp, inv_rest = self._rest.apply(pruned)
        res = grid_search(dp, grid_ms, mode, xp, backtrack=(mode == "up"))
        if res is None or mode == "down":
            return res, None, dp
        return res, prune.invert(self._rest.invert(res.choice, inv_rest), inv_prune), dp

    def decide(self, problem: Problem) -> Decision:
        grid_ms = check_grid_ms(self.options.get("grid_ms"))
        xp = kernels.get_array_module(self.options.get("device") or "cpu")
        if not problem.is_feasible():  # the spec's exact test
            return Decision("infeasible")
        up, choice, dp = self._pass(problem, self._prune_up, grid_ms, "up", xp)
        down, _, _ = self._pass(problem, self._prune_down, grid_ms, "down", xp)
        if down is None:  # cannot happen: the relaxation holds the all-fastest choice
            return Decision("error", message="fa2-grid: no decision on the down-rounded grid "
                            "of a feasible instance")
        message = None
        if choice is None or not problem.meets_slas(choice):  # (the latter: a safety net)
            choice = problem.fastest_choice()
            message = "the up-rounded grid has no decision: answering the all-fastest choice"
        cost = problem.cost(choice)
        lb = min(down.cost, cost)
        status = "optimal" if abs(cost - lb) <= REL_TOL * max(1.0, abs(cost)) else "feasible"
        parts = [FlowPart(f.name, f.tree, f.sla_ms) for f in dp.flows]
        extra = {"grid_ms": grid_ms, "grid_steps": grid_steps(parts, grid_ms),
                 "device": "gpu" if kernels.is_cupy(xp) else "cpu",
                 "coupling_nodes": len(dp.coupling),
                 "search_nodes": (up.explored if up else 0) + down.explored}
        return Decision(status, choice, lower_bound=lb, message=message, extra=extra)


# Batch items per chunk: on the CPU small chunks keep the curves in cache (measured fastest
# around 2^18 curve entries); on the GPU a chunk's argmin arrays stay under 8 GiB per pass.
CHUNK_ENTRIES = {"cpu": 1 << 18, "gpu": 1 << 31}


def chunk_size(length: int, terms: int, device: str) -> int:
    """Batch items per chunk for curves of ``length`` entries and ``terms`` fold steps."""
    per_item = length if device == "cpu" else length * max(1, terms)
    return max(1, CHUNK_ENTRIES[device] // max(1, per_item))


def check_grid_ms(value: Any) -> float:
    """The grid step Δ in ms (default 1 ms); must be finite and > 0."""
    grid_ms = DEFAULT_GRID_MS if value is None else float(value)
    if not (np.isfinite(grid_ms) and grid_ms > 0):
        raise InputError("--grid-ms", "", f"must be a finite number > 0 (got {value!r})")
    return grid_ms
