"""Step 1: Pareto pruning of each node's configurations.

Input: a :class:`fa2opt.problem.Problem` (configuration tables sorted by (L, c), position 0
the fastest). Output: a :class:`PrunedProblem` whose per-node :class:`Candidates` keep only

* Pareto-optimal rows: a row is dropped when another is no slower and no cheaper (and
  better in one); of rows with equal (L, c) one is kept. Because the table is sorted by
  (L, c) this is one linear scan keeping each row strictly cheaper than all before it
  (O(K) per node). Exact: replacing a dominated row by its dominator never raises any
  flow's latency nor the cost.
* rows that can still meet every SLA: with every other node at its fastest row, a node's
  row k is usable only if, for every flow f containing v,
  ``through_f(v) - L_v^fast + L_k <= S_f + 1e-6`` where ``through_f(v)`` is the longest
  source→sink path of f through v at the all-fastest choice (head + tail, O(V+E) per flow).
  This subsumes "latency alone exceeds an SLA" and is exact for the same monotonicity
  reason the spec uses for infeasibility.

Candidates are kept sorted by latency ascending with cost strictly descending, so index 0
is the fastest row, the last is the cheapest, and a prefix is exactly the set of rows
under a latency cap. A solution of the pruned problem is ``{node: candidate index}``;
:meth:`ParetoPrune.invert` maps it to ``{node: table position}``.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass
from typing import Mapping

import numpy as np

from ..frozen import dict_init
from ..problem import FlowGraph, Problem
from ..tables import NodeTable
from .. import spec
from .base import Choice, Reduction

_NUMPY_ROWS = 64  # prune_table: arrays longer than this with numpy (plain Python below; measured)
_LIST_ROWS = 192  # prune_front: tables longer than this with numpy (a scan of the lists below)
_INF = float("inf")


@dict_init
@dataclass(frozen=True)
class Candidates:
    """A node's Pareto-optimal usable configurations, fastest first (cost descending).

    ``latency[i]``, ``cost[i]`` describe table position ``positions[i]``. Plain Python lists
    (the exact DP works on small fronts faster without numpy); :meth:`arrays` gives numpy.
    """

    node: str
    latency: list[float]
    cost: list[float]
    positions: list[int]

    def __len__(self) -> int:
        return len(self.positions)

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        return np.asarray(self.latency, dtype=float), np.asarray(self.cost, dtype=float)


@dataclass(frozen=True)
class PrunedProblem:
    """The original problem plus each node's candidates (``candidates[v]`` may be empty
    only when the instance is infeasible)."""

    problem: Problem
    candidates: Mapping[str, Candidates]

    @property
    def flows(self) -> tuple[FlowGraph, ...]:
        return self.problem.flows


def pareto_rows(latency: list[float], cost: list[float], max_latency: float = float("inf")) -> list[int]:
    """Indices of the Pareto-optimal rows of a table sorted by (latency, cost), keeping
    only rows with latency ≤ ``max_latency``. O(K)."""
    keep: list[int] = []
    best = float("inf")
    for i, (lat, c) in enumerate(zip(latency, cost)):
        if lat > max_latency:
            break
        if c < best:
            best = c
            keep.append(i)
    return keep


def pareto_rows_array(latency: np.ndarray, cost: np.ndarray, max_latency: float = float("inf")) -> np.ndarray:
    """:func:`pareto_rows` vectorised (for long tables): a row is kept iff strictly cheaper
    than the running minimum of the rows before it."""
    m = int(latency.searchsorted(max_latency, side="right"))
    if m == 0:
        return np.empty(0, dtype=np.intp)
    return _front_mask(cost, m).nonzero()[0]


def _front_mask(cost: np.ndarray, m: int) -> np.ndarray:
    """Row i < m is on the front iff the running minimum of ``cost[:m]`` drops at i (row 0
    always starts it). Four numpy calls, no ``np.diff``/``concatenate`` (their overhead
    dominates at these sizes)."""
    acc = np.minimum.accumulate(cost[:m])
    mask = np.empty(m, dtype=bool)
    mask[0] = True
    np.less(acc[1:], acc[:-1], out=mask[1:])
    return mask


def prune_table(latency: np.ndarray, cost: np.ndarray,
                max_latency: float) -> tuple[list[float], list[float], list[int]]:
    """The front of one (latency, cost)-sorted table under ``max_latency`` as three lists
    ``(latency, cost, positions)`` -- :func:`pareto_rows` in plain Python for short tables,
    :func:`pareto_rows_array` for long ones (each the faster below/above ``_NUMPY_ROWS``)."""
    if len(latency) <= _NUMPY_ROWS:
        return _front_of_lists(latency.tolist(), cost.tolist(), max_latency)
    m = len(latency) if max_latency == _INF else int(latency.searchsorted(max_latency, side="right"))
    if m == 0:
        return [], [], []
    idx = _front_mask(cost, m).nonzero()[0]
    return latency[idx].tolist(), cost[idx].tolist(), idx.tolist()


def prune_front(table: NodeTable, max_latency: float) -> tuple[list[float], list[float], list[int]]:
    """:func:`prune_table` of a configuration table, on the Python lists it is built with
    (``NodeTable.lists``: no array conversion per decision) up to ``_LIST_ROWS`` rows, with
    numpy above (each the faster there; measured in docs/fa2.md)."""
    _, _, lat, cost = table.lists
    if len(lat) > _LIST_ROWS:
        return prune_table(table.latency_ms, table.cost, max_latency)
    return _front_of_lists(lat, cost, max_latency)


def _front_of_lists(lat: list[float], cost: list[float],
                    max_latency: float) -> tuple[list[float], list[float], list[int]]:
    """:func:`pareto_rows` of (latency, cost)-sorted lists under ``max_latency``: the rows
    where the running minimum of the cost drops, as ``(latency, cost, positions)``."""
    if max_latency != _INF:
        m = bisect_right(lat, max_latency)
        if m < len(cost):
            cost = cost[:m]
    keep: list[int] = []
    kl: list[float] = []
    kc: list[float] = []
    best = _INF
    i = 0
    for c in cost:
        if c < best:
            best = c
            keep.append(i)
            kl.append(lat[i])
            kc.append(c)
        i += 1
    return kl, kc, keep


def latency_limits(problem: Problem) -> dict[str, float]:
    """Per node, the largest latency L_k any feasible choice can give it: the minimum over
    its flows f of ``S_f + tol - (through_f(v) - L_v^fast)`` (others at their fastest).
    Nodes in no flow get +inf. O(V + E) per flow (one forward and one backward pass)."""
    fast = {v: float(t.latency_ms[0]) if len(t) else 0.0 for v, t in problem.tables.items()}
    return _limits(problem.flows, fast)


def _limits(flows: tuple[FlowGraph, ...], fast: dict[str, float]) -> dict[str, float]:
    """:func:`latency_limits` from the nodes' fastest latencies ``fast``."""
    limit = dict.fromkeys(fast, _INF)
    for g in flows:
        nodes, preds, succs = g.nodes, g.preds, g.succs
        head = spec.finish_times(nodes, preds, fast)  # longest path ending with v (L_v in)
        tail: dict[str, float] = {}  # longest path starting with v (L_v included)
        # keeping a row too many is harmless; dropping one because head + tail rounds
        # differently from the rule's longest path is not: the limits get the float margin
        budget = g.budget_ms + spec.fp_margin_ms(g.budget_ms, len(nodes))
        for v in reversed(nodes):
            s = 0.0
            for w, d in succs[v]:
                x = tail[w] + d
                if x > s:
                    s = x
            fv = fast[v]
            tail[v] = s + fv
            # head + tail counts L_v twice; the rest of the path is head + tail - 2 L_v.
            room = budget - (head[v] + s - fv)
            if room < limit[v]:
                limit[v] = room
    return limit


def fronts(problem: Problem, slack: bool = True) -> dict[str, tuple[list[float], list[float], list[int]]]:
    """Per node, its candidates as lists ``(latency, cost, table positions)`` -- what
    :class:`ParetoPrune` wraps into :class:`Candidates` (and fa2's shortcut for flat
    single flows uses as they are): the latency limits first (with ``slack``;
    :func:`latency_limits` needs only each table's fastest row, its position 0), then each
    table's Pareto front under its node's limit (:func:`prune_front`)."""
    tables = problem.tables
    if not slack:
        return {v: prune_front(t, _INF) for v, t in tables.items()}
    limits = _limits(problem.flows, {v: t.lists[2][0] if t.lists[2] else 0.0
                                     for v, t in tables.items()})
    return {v: prune_front(t, limits[v]) for v, t in tables.items()}


class ParetoPrune(Reduction):
    """Problem → PrunedProblem. ``slack=False`` keeps every Pareto row regardless of SLAs
    (what the tests use to check the pruning alone).

    One pass over the tables (:func:`fronts`): the latency limits first, then each table's
    Pareto front under its node's limit (:func:`prune_front`: the rows within the limit are
    a prefix of the table, and the front of that prefix is the front's prefix within the
    limit)."""

    def __init__(self, slack: bool = True):
        self.slack = slack

    def apply(self, problem: Problem) -> tuple[PrunedProblem, PrunedProblem]:
        cands = {v: Candidates(v, *f) for v, f in fronts(problem, self.slack).items()}
        pruned = PrunedProblem(problem, cands)
        return pruned, pruned

    def invert(self, solution: Choice, inverse_data: PrunedProblem) -> dict[str, int]:
        c = inverse_data.candidates
        return {v: c[v].positions[i] for v, i in solution.items()}
