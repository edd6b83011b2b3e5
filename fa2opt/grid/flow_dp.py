"""FA2's grid DP for one series-parallel flow: its cost curve and the backtracking.

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
Latencies and budgets are rounded as :mod:`fa2opt.grid.rounding` describes (pass ``up`` or
``down``). Everything is batched over a leading axis B and runs on numpy or CuPy.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import ModuleType
from typing import Any, Generator, Mapping, Sequence

import numpy as np

from .. import cpu_kernels, deadline, kernels, spec
from ..problem import FlowGraph, Problem
from ..reductions.sp_decompose import SPFlow, flow_tree, leaf_counts
from ..reductions.sptree import (Delay, Leaf, Parallel, Series, SPTree, fold_constants, leaves,
                                 trampoline)
from .columns import undominated
from .curves import CurveTables
from .rounding import STEP_CAP, budget_steps, latency_steps


@dataclass(frozen=True)
class FlowPart:
    """One series-parallel problem: a flow's expression and its budget ``S + tol`` (scalar or
    (B,) ms; :func:`fa2opt.spec.budget_ms`)."""

    name: str
    tree: SPTree
    budget_ms: Any
    graph: FlowGraph  # the flow's graph: its decisions are checked by the spec's rule on it


def count_terms(tree: SPTree) -> int:
    """Leaves and delays of an expression (the rounding terms of its budget), counted at
    every place they occur. Node reduction's trees share sub-expressions by identity (a
    52-node dense DAG's tree has ~10⁶ leaf occurrences but ~1,400 distinct sub-trees), so
    each distinct sub-tree is counted once, in post-order on an explicit stack (the tree
    nests as deep as the graph): O(distinct sub-trees and their parts)."""
    memo: dict[int, int] = {}
    stack: list = [tree]
    while stack:
        t = stack.pop()
        if type(t) is tuple:  # (composite,): its parts are counted
            t = t[0]
            memo[id(t)] = sum(memo[id(p)] for p in t.parts)
            continue
        if id(t) in memo:
            continue
        if isinstance(t, (Leaf, Delay)):
            memo[id(t)] = 1
        else:
            stack.append((t,))
            stack.extend(p for p in t.parts if id(p) not in memo)
    return memo[id(tree)]


def leaf_nodes(tree: SPTree) -> tuple[str, ...]:
    """The distinct nodes of the leaves, in no promised order: each distinct sub-tree visited
    once (explicit stack), so O(distinct sub-trees), not O(leaf occurrences) as
    :func:`~fa2opt.reductions.sptree.leaves` on node reduction's shared sub-trees."""
    out: dict[str, None] = {}
    seen: set[int] = set()
    stack = [tree]
    while stack:
        t = stack.pop()
        if id(t) in seen:
            continue
        seen.add(id(t))
        if type(t) is Leaf:
            out[t.node] = None
        elif type(t) is Series or type(t) is Parallel:
            stack.extend(t.parts)
    return tuple(out)


def _curve(tree: SPTree, tabs: CurveTables, steps: Mapping[str, Any], grid_ms: float,
           mode: str, length: int, record: bool = True,
           need: tuple[int, int] | None = None) -> tuple[Any, tuple | None]:
    """:func:`_curve_steps` run on a :func:`~fa2opt.reductions.sptree.trampoline` (the
    tree nests as deep as the graph: no recursion), with one memo for the call
    (:class:`_Memo`): a sub-expression shared by several places (node reduction's copies) is
    evaluated once, on every budget -- the same curve each time, so the same values bit for
    bit, in O(distinct sub-trees · T) time instead of O(leaf occurrences · T); an unshared
    one on its window only, as without the memo. Memory: O(distinct sub-trees · T) with
    ``record`` (backtracking reads every recorded curve), else the curves still to be used.
    A deadline in force (:func:`fa2opt.deadline.stop_at`) is checked before every sub-tree
    step."""
    return trampoline(_curve_steps(tree, tabs, steps, grid_ms, mode, length, record, need,
                                   _Memo(shared_subtrees(tree), record)),
                      deadline.checker())


class _Memo:
    """The curves ``(curve, record)`` of the shared sub-trees of one :func:`_curve`, by id.

    ``places[id]``: how many places a shared sub-tree (:func:`shared_subtrees`) is a part of;
    it is evaluated at its first place on every budget and reused at the others. Without
    ``record`` a curve is dropped after its last place has read it (with a record,
    backtracking reads it again)."""

    def __init__(self, places: dict[int, int], record: bool):
        self.places, self.record = places, record
        self.curves: dict[int, tuple[Any, tuple | None]] = {}
        self.left: dict[int, int] = {}
        self.columns: dict[str, tuple] = {}  # per node: its undominated columns (_series_folds)
        self._ranges: dict[int, tuple[Any, tuple[int, int]]] = {}

    def step_range(self, u: Any, c: Any) -> tuple[int, int]:
        """:func:`_step_range` of a fold's steps, once per steps array (held here, so its id
        is not reused)."""
        hit = self._ranges.get(id(u))
        if hit is None or hit[0] is not u:
            hit = (u, _step_range(u, c))
            self._ranges[id(u)] = hit
        return hit[1]

    def window(self, tree: SPTree, need: tuple[int, int] | None) -> tuple[int, int] | None:
        """The window ``tree`` is evaluated on at a place that wants ``need``: every budget
        (None) for a shared sub-tree, whose places want different windows."""
        return None if id(tree) in self.places else need

    def take(self, tree: SPTree) -> tuple[Any, tuple | None] | None:
        """The curve of ``tree`` if already evaluated (this place counted as read), else None."""
        i = id(tree)
        hit = self.curves.get(i)
        if hit is not None:
            self.left[i] -= 1
            if not self.left[i] and not self.record:
                del self.curves[i]
        return hit

    def put(self, tree: SPTree, out: tuple[Any, tuple | None]) -> None:
        """Keep a shared sub-tree's curve for its other places."""
        i = id(tree)
        if i in self.places:
            self.curves[i] = out
            self.left[i] = self.places[i] - 1


def shared_subtrees(tree: SPTree) -> dict[int, int]:
    """Ids of the composite sub-trees (Series, Parallel) that are a part at more than one
    place -- of two parents, or twice of one (node reduction's copies share sub-expressions
    by identity) -- with their number of places among distinct parents. One visit per
    distinct sub-tree, explicit stack. O(distinct sub-trees)."""
    refs: dict[int, int] = {}
    seen = {id(tree)}
    stack = [tree] if type(tree) is Series or type(tree) is Parallel else []  # (a one-node flow)
    while stack:
        t = stack.pop()
        for p in t.parts:
            if type(p) is Series or type(p) is Parallel:
                i = id(p)
                refs[i] = refs.get(i, 0) + 1
                if i not in seen:
                    seen.add(i)
                    stack.append(p)
    return {i: n for i, n in refs.items() if n > 1}


@dataclass(frozen=True)
class Steps:
    """A fixed latency already on the grid: ``steps`` whole steps (what :func:`fix_steps`
    folds fixed leaves and delays into). The DP treats it as a delay that needs no rounding."""

    steps: int


def fix_steps(tree: SPTree, fixed_steps: Mapping[str, int], grid_ms: float, mode: str,
              cap: int) -> SPTree:
    """``tree`` with the leaves of the nodes in ``fixed_steps`` (their one column's latency in
    steps, rounded by ``mode``) and every delay (rounded on its own, as the DP rounds it)
    folded away on the grid: a series' fixed terms summed into one :class:`Steps`, a
    parallel's into their maximum, a part without free leaves into one ``Steps``.

    The DP's curve is the same, bit for bit, on every budget t ≤ T = ``cap`` − 1: a fixed leaf
    (one column, cost 0) folds as an exact shift by its steps, shifts commute with the other
    leaf-folds and (min,+) convolutions, and a parallel part without free leaves is 0 from
    its steps on and inf before, so such parts add as their maximum. Sums are clamped at
    ``cap`` (any constant ≥ T + 1 makes its place infeasible at every budget, clamped or
    not). The budget's rounding terms must still be counted on the original tree
    (:func:`count_terms`). Sub-expressions shared by several places are folded once
    (memoised by identity; the result shares them too). No recursion; O(distinct
    sub-expressions) (:func:`~fa2opt.reductions.sptree.fold_constants`, the skeleton of
    ``leaf_fixer`` too, which folds in ms and would round a fixed sum once instead of each
    term)."""
    def leaf(t: SPTree) -> SPTree:
        if type(t) is Leaf:
            return Steps(min(fixed_steps[t.node], cap)) if t.node in fixed_steps else t
        if type(t) is Delay:
            return Steps(min(int(latency_steps(t.latency_ms, grid_ms, mode)), cap))
        return t

    return fold_constants(tree, leaf, Steps, lambda steps: min(sum(steps), cap))


def _curve_steps(tree: SPTree, tabs: CurveTables, steps: Mapping[str, Any], grid_ms: float,
                 mode: str, length: int, record: bool, need: tuple[int, int] | None,
                 memo: _Memo) -> Generator:
    """The cost curve of ``tree`` (B, length) and, with ``record``, what backtracking needs.

    A series is evaluated as: (min,+) convolution of its nested sub-expressions, one shift by
    the sum of its delays (each rounded on its own, as separate terms), then one leaf-fold per
    leaf — the same values as folding the parts in their order (sums commute exactly on the
    grid), with one array pass per series for all its delays instead of a fold per delay
    (none when the series has no nested part: the delays then join the first leaf's steps).
    The kernels run without their argmin; the record keeps each step's input curves, and
    :func:`_backtrack` recovers the argmin at the budgets on the chosen path only.
    A generator: a nested part's curve is asked for by yielding its generator.

    ``need = (lo, hi)``: only budgets lo ≤ t < hi of the result are wanted (the caller reads
    nothing else; entries outside may be left inf). Going backwards through a series' leaves,
    leaf i's input is wanted on [lo − max u_i, hi − min u_i) (its live steps), which is what
    the leaf-folds compute: the last leaf of a flow computes one budget per item, the ones
    before it a widening window. Backtracking reads only these ranges.

    ``memo``: the shared sub-trees' curves (:class:`_Memo`); a part found there is not
    evaluated again (curves are never changed in place, records only read).
    """
    xp, B = tabs.xp, tabs.batch
    if isinstance(tree, Parallel):
        curves = []
        for p in tree.parts:
            hit = memo.take(p)
            curves.append(hit if hit is not None else (yield _curve_steps(
                p, tabs, steps, grid_ms, mode, length, record, memo.window(p, need), memo)))
        total = curves[0][0]
        for c, _ in curves[1:]:
            total = kernels.parallel(total, c, xp)
        out = total, (("par", [r for _, r in curves]) if record else None)
        memo.put(tree, out)
        return out
    parts = tree.parts if isinstance(tree, Series) else (tree,)
    nested = [p for p in parts if not isinstance(p, (Leaf, Delay, Steps))]
    folds, delay = _series_folds(parts, tabs, steps, grid_ms, mode, bool(nested), memo.columns)
    lo, hi = need if need is not None else (0, length)
    needs: list[tuple[int, int]] = []
    for _, u, c, _ in reversed(folds):  # wanted budgets of each fold's output, backwards
        needs.append((lo, hi))
        umin, umax = memo.step_range(u, c)
        lo, hi = max(0, lo - umax), max(0, hi - umin)
    needs.reverse()
    rec: tuple | None
    if nested:  # series of sub-curves: (min,+) convolutions, then the delays and leaves
        inner = (max(0, lo - delay), max(0, hi - delay)) if len(nested) == 1 else None
        hit = memo.take(nested[0])
        acc, rec = hit if hit is not None else (yield _curve_steps(
            nested[0], tabs, steps, grid_ms, mode, length, record, memo.window(nested[0], inner), memo))
        for p in nested[1:]:
            hit = memo.take(p)
            other, orec = hit if hit is not None else \
                (yield _curve_steps(p, tabs, steps, grid_ms, mode, length, record, None, memo))
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
    memo.put(tree, (acc, rec))
    return acc, rec


def _series_folds(parts: Sequence[SPTree], tabs: CurveTables, steps: Mapping[str, Any], grid_ms: float,
                  mode: str, nested: bool, columns: dict[str, tuple] | None = None
                  ) -> tuple[list[tuple[str, Any, Any, list[int]]], int]:
    """A series' leaves as folds ``(node, steps u, costs c, kept columns)`` (each leaf's
    undominated columns) and the steps of its delays (each rounded on its own). Without
    ``nested`` parts the delays join the first leaf's steps — folding the zero curve
    shifted by d with steps u is folding it with u + d — and 0 steps are left.
    ``columns``: a node's undominated columns ``(kept, u, c)`` by name, filled and reused
    (a pass's tables do not change; a duplicated node has many leaves)."""
    delay = sum(int(latency_steps(p.latency_ms, grid_ms, mode)) if isinstance(p, Delay) else p.steps
                for p in parts if isinstance(p, (Delay, Steps)))
    folds = []
    for p in parts:
        if isinstance(p, Leaf):
            hit = None if columns is None else columns.get(p.node)
            if hit is None:
                hit = undominated(steps[p.node], tabs.cost[p.node], tabs.xp)
                if columns is not None:
                    columns[p.node] = hit
            keep, u, c = hit
            folds.append((p.node, u, c, keep))
    if delay and folds and not nested:
        node, u, c, keep = folds[0]
        folds[0], delay = (node, u + delay, c, keep), 0
    return folds, delay


def _step_range(u: Any, c: Any) -> tuple[int, int]:
    """Least and largest step among a leaf's available entries ((0, 0) if none)."""
    uu, cc = kernels.to_numpy(u), kernels.to_numpy(c)
    live = np.isfinite(cc)
    if not live.any():
        return 0, 0
    return int(uu[live].min()), int(uu[live].max())


def _backtrack(rec: tuple, t: Any, ok: Any, out: dict[str, Any], xp: ModuleType) -> None:
    """Walk a record down from budgets t (B,), filling ``out[node]`` (B,) for items ``ok``.
    The argmins are recomputed at t only (:func:`kernels.leaf_fold_argmin`,
    :func:`kernels.minplus_conv_argmin`): the first minimiser, as the kernels' scans keep.
    Depth first, left part before right, on an explicit stack: a series' leaf records are
    nested one per leaf, so the walk is as deep as the flow is long.

    A record shared by several places (a sub-expression node reduction copied,
    :func:`_curve`) is walked once per budget vector t: a second walk would write the same
    columns again. So the walk is O(distinct records · distinct budgets), not O(leaf
    occurrences). Only a duplicated node's entry can differ from a walk of every place
    (which copy writes last); its copies are a coupling node's, which the callers fix (or
    read only as a relaxation's choice)."""
    stack = [(rec, t)]
    seen: set[tuple[int, bytes]] = set()
    while stack:
        rec, t = stack.pop()
        kind = rec[0]
        if kind == "zero":
            continue
        key = (id(rec), kernels.to_numpy(t).tobytes())
        if key in seen:
            continue
        seen.add(key)
        if kind == "par":
            stack.extend((r, t) for r in reversed(rec[1]))
            continue
        t = xp.maximum(t, 0)
        if kind == "shift":
            stack.append((rec[2], t - rec[1]))
            continue
        if kind == "conv":
            _, a, c, left, right = rec
            s = xp.maximum(kernels.minplus_conv_argmin(a, c, t, xp), 0)
            stack.append((right, t - s))
            stack.append((left, s))
            continue
        _, node, prev, u, c, prev_rec, keep = rec
        k = xp.maximum(kernels.leaf_fold_argmin(prev, u, c, t, xp), 0)
        out[node] = xp.where(ok, keep[k], out.get(node, xp.full(k.shape, -1, dtype=xp.int64)))
        stack.append((prev_rec, t - kernels.gather_rows(u, k, xp)))


def flow_pass(part: FlowPart, tabs: CurveTables, grid_ms: float, mode: str,
              backtrack: bool = True) -> tuple[Any, dict[str, Any]]:
    """Least cost (B,) of one flow's nodes within its SLA on the grid, and the chosen column
    per node ((B,), −1 where the cost is inf; empty without ``backtrack``)."""
    xp, B = tabs.xp, tabs.batch
    T = xp.broadcast_to(budget_steps(part.budget_ms, grid_ms, mode, count_terms(part.tree), xp), (B,))
    tmax = int(T.max())
    if tmax < 0:
        return xp.full((B,), xp.inf), ({v: xp.full((B,), -1, dtype=xp.int64)
                                        for v in set(leaves(part.tree))} if backtrack else {})
    steps = {v: latency_steps(tabs.latency[v], grid_ms, mode, xp) for v in set(leaves(part.tree))}
    return tree_pass(part.tree, tabs, steps, grid_ms, mode, T, backtrack)


def tree_pass(tree: SPTree, tabs: CurveTables, steps: Mapping[str, Any], grid_ms: float, mode: str,
              T: Any, backtrack: bool = True) -> tuple[Any, dict[str, Any]]:
    """Least cost (B,) of an expression within budgets ``T`` (B,) steps (max ≥ 0) and the
    chosen column per node ((B,), −1 where the cost is inf; empty without ``backtrack``):
    a chain on the CPU by the compiled sparse-curve DP (:func:`_chain_pass`), anything
    else by dense curves (:func:`_curve`, :func:`_backtrack`) — the same answers.
    A deadline in force (:func:`fa2opt.deadline.stop_at`) raises
    :class:`~fa2opt.deadline.DPDeadline` once passed, checked before the DP and between its
    sub-tree steps."""
    xp = tabs.xp
    deadline.check()
    chain = _chain(tree)
    if chain is not None and xp is np and cpu_kernels.available():
        return _chain_pass(chain, tabs, steps, grid_ms, mode, np.asarray(T), backtrack)
    tmax = int(T.max())
    need = (max(0, int(T.min())), tmax + 1)  # only the budgets T are read
    curve, rec = _curve(tree, tabs, steps, grid_ms, mode, tmax + 1, backtrack, need)
    Tc = xp.maximum(T, 0)
    cost = xp.where(T >= 0, kernels.gather_rows(curve, Tc, xp), xp.inf)
    if not backtrack:
        return cost, {}
    ok = xp.isfinite(cost)
    choice: dict[str, Any] = {}
    _backtrack(rec, Tc, ok, choice, xp)
    return cost, {v: xp.where(ok, k, -1) for v, k in choice.items()}


def _chain(tree: SPTree) -> tuple[SPTree, ...] | None:
    """The parts of a series of leaves and delays with at least one leaf (a chain), else None."""
    parts = tree.parts if isinstance(tree, Series) else (tree,)
    if all(isinstance(p, (Leaf, Delay, Steps)) for p in parts) and any(isinstance(p, Leaf) for p in parts):
        return parts
    return None


def _chain_pass(parts: tuple[SPTree, ...], tabs: CurveTables, steps: Mapping[str, Any],
                grid_ms: float, mode: str, T: np.ndarray, backtrack: bool) -> tuple[Any, dict[str, Any]]:
    """:func:`tree_pass` of a chain on the CPU by the compiled sparse-curve DP
    (:func:`fa2opt.cpu_kernels.chain_dp`): the same folds as :func:`_curve`
    (:func:`_series_folds`), costs and first-minimiser choices as the dense kernels, without
    a (B, T+1) curve."""
    folds, _ = _series_folds(parts, tabs, steps, grid_ms, mode, nested=False)
    L, B, K = len(folds), tabs.batch, max(len(keep) for _, _, _, keep in folds)
    U = np.zeros((L, B, K), dtype=np.int64)
    C = np.full((L, B, K), np.inf)
    for i, (_, u, c, keep) in enumerate(folds):
        U[i, :, :len(keep)], C[i, :, :len(keep)] = u, c
    cost, arg = cpu_kernels.chain_dp(U, C, T, backtrack)
    if arg is None:
        return cost, {}
    ok = np.isfinite(cost)
    choice: dict[str, Any] = {}
    for i in reversed(range(L)):  # a repeated node keeps its first leaf's column, as _backtrack
        node, _, _, keep = folds[i]
        choice[node] = np.where(ok, np.asarray(keep, dtype=np.int64)[np.maximum(arg[i], 0)], -1)
    return cost, choice


# -- the flows' expressions -----------------------------------------------------------------------
def flow_parts(problem: Problem, slas: Mapping[str, Any] | None = None
               ) -> tuple[list[FlowPart], list[str]]:
    """Each flow's series-parallel expression (from the shared graph transformation,
    :func:`fa2opt.reductions.sp_decompose.flow_tree`, which duplicates nodes of non-SP
    flows) with its SLA (``slas`` overrides, scalar or (B,) ms), and the coupling nodes: those
    with more than one leaf over all trees (shared by flows or duplicated), most leaves first
    as :class:`fa2opt.reductions.decouple.Decouple` orders them."""
    slas = slas or {}
    flows = [SPFlow(g.name, g.budget_ms, flow_tree(g)[0]) for g in problem.flows]
    counts = leaf_counts(flows)
    coupling = sorted((v for v, n in counts.items() if n > 1), key=lambda v: (-counts[v], v))
    return [FlowPart(f.name, f.tree, spec.budget_ms(slas[f.name]) if f.name in slas else f.budget_ms,
                     g) for f, g in zip(flows, problem.flows)], coupling


MAX_GRID_STEPS = 1_000_000  # a curve of more steps is refused: memory ~ steps × terms × 16 B


def grid_too_long(steps: int, grid_ms: float) -> str | None:
    """Why a grid of ``steps`` (the longest curve) is refused, or None. Budgets are capped at
    what the profiles reach (:func:`reachable_ms`), so only latencies of that many steps —
    e.g. batch-fill delays of hours at a tiny rate — get here: a coarser Δ is the remedy."""
    if steps <= MAX_GRID_STEPS:
        return None
    if steps >= STEP_CAP:  # capped by the rounding: the true count is not known, only huge
        return (f"the latency grid would need more than {STEP_CAP:.3g} steps of {grid_ms:g} "
                f"ms (at most {MAX_GRID_STEPS:.0e} are taken); use a coarser --grid-ms")
    return (f"the latency grid would need {steps:.3g} steps of {grid_ms:g} ms (more than "
            f"{MAX_GRID_STEPS:.0e}): the profiles reach {steps * grid_ms:.3g} ms; "
            f"use a coarser --grid-ms")


def grid_steps(parts: Sequence[FlowPart], grid_ms: float) -> int:
    """The longest curve (budget steps + 1) of the down pass (the larger one). A budget may
    be a device array (capped at what the GPU's curve tables reach): read on the host."""
    return int(max(int(np.max(budget_steps(kernels.to_numpy(p.budget_ms), grid_ms, "down",
                                           count_terms(p.tree))))
                   for p in parts)) + 1


def reachable_ms(graph: FlowGraph, slowest: Mapping[str, Any], grid_ms: float, xp: ModuleType = np
                 ) -> Any:
    """A budget beyond which a flow is unconstrained on the grid: its latency by the spec's
    rule with every node at its slowest available row (``slowest[v]``, scalar or (B,)), plus
    one grid step per leaf and delay and one more (up-rounding adds less than a step to
    each). No choice is slower (the rule is monotone), so capping the budget there changes
    no decision, while memory and time follow what the profiles reach, not the SLA's size."""
    return (spec.longest_path(graph.nodes, graph.preds, slowest, xp.maximum)
            + (graph.terms + 1) * grid_ms)


def capped(parts: Sequence[FlowPart], tabs: CurveTables, grid_ms: float) -> list[FlowPart]:
    """``parts`` with each budget cut to :func:`reachable_ms` (per batch item)."""
    xp = tabs.xp
    slowest = {v: xp.max(xp.where(xp.isfinite(c), tabs.latency[v], -xp.inf), axis=1)
               for v, c in tabs.cost.items()}
    out = []
    for p in parts:
        cap = reachable_ms(p.graph, slowest, grid_ms, xp)
        budget = xp.asarray(p.budget_ms)
        # −inf where some node has no available row (an infeasible item): keep its budget
        out.append(FlowPart(p.name, p.tree, xp.where(xp.isfinite(cap), xp.minimum(budget, cap),
                                                     budget), p.graph))
    return out
