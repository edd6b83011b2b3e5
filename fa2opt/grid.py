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
Shared nodes and the coupling nodes of non-series-parallel flows are fixed by a search over
their configurations; the rest of each flow is then an independent series-parallel problem.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from types import ModuleType
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

from . import kernels
from .io import InputError
from .model import Instance
from .problem import Problem
from .reductions.sp_decompose import SPFlow, flow_tree, leaf_counts
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
    x = (xp.asarray(sla_ms, dtype=xp.float64) + SLA_TOL_MS) / grid_ms
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
           mode: str, length: int) -> tuple[Any, tuple]:
    """The cost curve of ``tree`` (B, length) and its backtracking record."""
    xp, B = tabs.xp, tabs.batch
    if isinstance(tree, Parallel):
        curves = [_curve(p, tabs, steps, grid_ms, mode, length) for p in tree.parts]
        total = curves[0][0]
        for c, _ in curves[1:]:
            total = kernels.parallel(total, c, xp)
        return total, ("par", [r for _, r in curves])
    parts = tree.parts if isinstance(tree, Series) else (tree,)
    simple = [p for p in parts if isinstance(p, (Leaf, Delay))]
    nested = [p for p in parts if not isinstance(p, (Leaf, Delay))]
    if nested:  # series of sub-curves: (min,+) convolutions, then fold the leaves on
        acc, rec = _curve(nested[0], tabs, steps, grid_ms, mode, length)
        for p in nested[1:]:
            other, orec = _curve(p, tabs, steps, grid_ms, mode, length)
            acc, split = kernels.minplus_conv(acc, other, xp)
            rec = ("conv", split, rec, orec)
    else:
        acc, rec = kernels.zero_curve(B, length, xp), ("zero",)
    for p in simple:
        if isinstance(p, Leaf):
            u, c, node = steps[p.node], tabs.cost[p.node], p.node
            keep = useful_columns(u, c, xp)
            if len(keep) < u.shape[1]:
                u, c = u[:, keep], c[:, keep]
        else:
            d = int(latency_steps(p.latency_ms, grid_ms, mode))
            u = xp.full((B, 1), d, dtype=xp.int64)
            c, node, keep = xp.zeros((B, 1), dtype=xp.float64), None, [0]
        acc, arg = kernels.leaf_fold(acc, u, c, xp)
        rec = ("leaf", node, arg, u, rec, xp.asarray(np.asarray(keep, dtype=np.int64)))
    return acc, rec


def useful_columns(u: Any, c: Any, xp: ModuleType = np) -> list[int]:
    """Columns not dominated at every batch item (exact pruning of a leaf's rows).

    At item b, column j dominates k when u_j ≤ u_k and c_j ≤ c_k, strictly in one or with
    j < k on a tie (a strict order, so every dominated column is dominated by an undominated
    one); an unavailable column (c = inf) is dominated. Dropping columns dominated at every
    item changes no curve value. O(K²·B) against the fold's O(K·B·T).
    """
    K = u.shape[1]
    if K <= 1:
        return list(range(K))
    dominated = ~xp.isfinite(c)  # (B, K)
    cols = xp.arange(K)[None, :]
    for j in range(K):  # O(B·K) memory
        uj, cj = u[:, j:j + 1], c[:, j:j + 1]
        dominated |= (uj <= u) & (cj <= c) & ((uj < u) | (cj < c) | (j < cols))
    keep = np.flatnonzero(~kernels.to_numpy(dominated.all(axis=0)))
    return [int(k) for k in keep] or [0]


def _backtrack(rec: tuple, t: Any, ok: Any, out: dict[str, Any], xp: ModuleType) -> None:
    """Walk a record down from budgets t (B,), filling ``out[node]`` (B,) for items ``ok``."""
    kind = rec[0]
    if kind == "zero":
        return
    if kind == "par":
        for r in rec[1]:
            _backtrack(r, t, ok, out, xp)
        return
    t = xp.maximum(t, 0)
    if kind == "conv":
        _, split, left, right = rec
        s = xp.maximum(kernels.gather_rows(split, t, xp), 0)
        _backtrack(left, s, ok, out, xp)
        _backtrack(right, t - s, ok, out, xp)
        return
    _, node, arg, u, prev, keep = rec
    k = xp.maximum(kernels.gather_rows(arg, t, xp), 0).astype(xp.int64)
    if node is not None:
        out[node] = xp.where(ok, keep[k], out.get(node, xp.full(k.shape, -1, dtype=xp.int64)))
    _backtrack(prev, t - kernels.gather_rows(u, k, xp), ok, out, xp)


def flow_pass(part: FlowPart, tabs: CurveTables, grid_ms: float, mode: str
              ) -> tuple[Any, dict[str, Any]]:
    """Least cost (B,) of one flow's nodes within its SLA on the grid, and the chosen column
    per node ((B,), −1 where the cost is inf)."""
    xp, B = tabs.xp, tabs.batch
    T = xp.broadcast_to(budget_steps(part.sla_ms, grid_ms, mode, count_terms(part.tree), xp), (B,))
    tmax = int(T.max())
    if tmax < 0:
        return xp.full((B,), xp.inf), {v: xp.full((B,), -1, dtype=xp.int64)
                                       for v in set(leaves(part.tree))}
    steps = {v: latency_steps(tabs.latency[v], grid_ms, mode, xp) for v in set(leaves(part.tree))}
    curve, rec = _curve(part.tree, tabs, steps, grid_ms, mode, tmax + 1)
    Tc = xp.maximum(T, 0)
    cost = xp.where(T >= 0, kernels.gather_rows(curve, Tc, xp), xp.inf)
    ok = xp.isfinite(cost)
    choice: dict[str, Any] = {}
    _backtrack(rec, Tc, ok, choice, xp)
    return cost, {v: xp.where(ok, k, -1) for v, k in choice.items()}


def grid_pass(parts: Sequence[FlowPart], coupling: Sequence[str], tabs: CurveTables,
              grid_ms: float, mode: str) -> tuple[Any, dict[str, Any]]:
    """Least total cost (B,) and the choice per node over all flows, on one rounding.

    With coupling nodes (shared by flows, or duplicated by the non-series-parallel
    reduction), every combination of their columns is tried: fixed, they cost their price
    once and act as fixed latencies, and each flow is an independent series-parallel
    problem. Flows without coupling nodes are solved once. O(Π_coupling K · DP).
    """
    xp, B = tabs.xp, tabs.batch
    coupling = list(dict.fromkeys(coupling))
    cset = set(coupling)
    free = [p for p in parts if not cset & set(leaves(p.tree))]
    tied = [p for p in parts if cset & set(leaves(p.tree))]
    total = xp.zeros((B,), dtype=xp.float64)
    choice: dict[str, Any] = {}
    for p in free:
        c, ch = flow_pass(p, tabs, grid_ms, mode)
        total = total + c
        choice.update(ch)
    if not coupling:
        return total, choice
    best = xp.full((B,), xp.inf)
    best_choice: dict[str, Any] = {}
    columns = [_usable_columns(tabs, v) for v in coupling]
    for combo in itertools.product(*columns):
        fixed = dict(zip(coupling, combo))
        sub = tabs.fix(fixed)
        cost = sum((tabs.cost[v][:, k] for v, k in fixed.items()), xp.zeros((B,)))
        ch: dict[str, Any] = {v: xp.full((B,), k, dtype=xp.int64) for v, k in fixed.items()}
        for p in tied:
            c, pch = flow_pass(p, sub, grid_ms, mode)
            cost = cost + c
            ch.update({v: k for v, k in pch.items() if v not in fixed})
        better = cost < best
        best = xp.where(better, cost, best)
        for v, k in ch.items():
            best_choice[v] = xp.where(better, k, best_choice.get(v, xp.full((B,), -1, dtype=xp.int64)))
    ok = xp.isfinite(best)
    choice = {v: xp.where(ok, k, -1) for v, k in choice.items()}
    choice.update({v: xp.where(ok, k, -1) for v, k in best_choice.items()})
    return total + best, choice


def _usable_columns(tabs: CurveTables, v: str) -> list[int]:
    c = kernels.to_numpy(tabs.cost[v])
    return [int(k) for k in np.flatnonzero(np.isfinite(c).any(axis=0))]


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
    xp, B = tabs.xp, tabs.batch
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
    cost, choice = grid_pass(parts, coupling, tabs, grid_ms, "up")
    lb, _ = grid_pass(parts, coupling, tabs, grid_ms, "down")
    return cost, lb, choice


def grid_steps(parts: Sequence[FlowPart], grid_ms: float) -> int:
    """The longest curve (budget steps + 1) of the down pass (the larger one)."""
    return int(max(int(np.max(budget_steps(p.sla_ms, grid_ms, "down", count_terms(p.tree))))
                   for p in parts)) + 1


# -- the solver --------------------------------------------------------------------------------
class GridSolver(Solver):
    """``fa2-grid``: FA2's DP over a latency grid of ``grid_ms`` (default 1 ms), on
    ``device`` cpu (numpy, default), gpu (CuPy) or auto."""

    name = "fa2-grid"

    @classmethod
    def option_names(cls) -> tuple[str, ...]:
        return ("grid_ms", "device")

    def decide(self, problem: Problem) -> Decision:
        grid_ms = check_grid_ms(self.options.get("grid_ms"))
        xp = kernels.get_array_module(self.options.get("device") or "cpu")
        if not problem.is_feasible():  # the spec's exact test
            return Decision("infeasible")
        parts, coupling = flow_parts(problem)
        d = decide_batch(parts, coupling, CurveTables.from_problem(problem, xp), grid_ms)
        choice = {v: int(kernels.to_numpy(k)[0]) for v, k in d.choice.items()}
        lb = float(kernels.to_numpy(d.lower_bound)[0])
        extra = {"grid_ms": grid_ms, "grid_steps": grid_steps(parts, grid_ms),
                 "device": "gpu" if kernels.is_cupy(xp) else "cpu"}
        message = None
        if bool(kernels.to_numpy(d.fallback)[0]):
            message = "the up-rounded grid has no decision: answering the all-fastest choice"
        return Decision(str(d.status[0]), choice, lower_bound=lb, message=message, extra=extra)


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
