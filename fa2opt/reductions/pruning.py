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
from dataclasses import dataclass, field
from typing import ClassVar, Iterable, Mapping, Sequence

import numpy as np

from .. import spec
from ..flow_matrix import FlowMatrix, flow_matrix
from ..problem import FlowGraph, Problem
from .base import Choice, Reduction

_NUMPY_ROWS = 192  # front_rows: tables longer than this with numpy (a scan of the lists below)
_INF = float("inf")


LEAF = 0  # the kind of a leaf's front (fa2opt.pareto.Front.kind): a node's candidates


@dataclass(slots=True, init=False)
class Candidates:
    """A node's Pareto-optimal usable configurations, fastest first (cost descending).

    ``latency[i]``, ``cost[i]`` describe table position ``positions[i]``. Plain Python lists
    (the exact DP works on small fronts faster without numpy); :meth:`arrays` gives numpy.
    Read-only once made (a plain slotted dataclass, as :class:`~fa2opt.plan.Plan`: a plan
    makes one per node on every decision, 0.15 µs each, where the frozen one took 0.4 µs).

    The candidates are a Pareto front, and they are the exact DP's front of a leaf of their
    node as they are: they read as a :class:`fa2opt.pareto.Front` (``lat``, the same list as
    ``latency``; ``cost``; ``kind`` = :data:`LEAF`; ``node``; point i is candidate i), so the
    DP does not build a front per leaf and decision.
    """

    node: str
    latency: list[float]
    cost: list[float]
    positions: list[int]
    lat: list[float] = field(init=False, repr=False, compare=False)  # = latency (Front's name)
    kind: ClassVar[int] = LEAF

    def __init__(self, node: str, latency: list[float], cost: list[float],
                 positions: list[int]) -> None:  # (the generated one, with lat set: no
        # __post_init__ call on every decision)
        self.node, self.latency, self.lat, self.cost, self.positions = (
            node, latency, latency, cost, positions)

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


def front_rows(latency: Sequence[float], cost: Sequence[float], max_latency: float = _INF,
               arrays: tuple[np.ndarray, np.ndarray] | None = None
               ) -> tuple[list[float], list[float], list[int]]:
    """The one Pareto scan (every path prunes with it): of rows sorted by (latency, cost),
    those with latency ≤ ``max_latency`` that are strictly cheaper than every row before
    them, as three lists ``(latency, cost, positions)``. The rows within the limit are a
    prefix (found by bisection), and the front of that prefix is the front's prefix within
    the limit. O(K).

    ``arrays``: the same rows as numpy arrays; above ``_NUMPY_ROWS`` rows the scan is one
    mask of the running minimum on them instead of a Python loop (the same rows; faster
    there, measured in docs/fa2.md)."""
    n = len(latency)
    if arrays is not None and n > _NUMPY_ROWS:
        lat_a, cost_a = arrays
        m = n if max_latency == _INF else int(lat_a.searchsorted(max_latency, side="right"))
        if m == 0:
            return [], [], []
        acc = np.minimum.accumulate(cost_a[:m])
        mask = np.empty(m, dtype=bool)
        mask[0] = True
        np.less(acc[1:], acc[:-1], out=mask[1:])
        idx = mask.nonzero()[0]
        return lat_a[idx].tolist(), cost_a[idx].tolist(), idx.tolist()
    if max_latency != _INF:
        m = bisect_right(latency, max_latency)
        if m < n:
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
            kl.append(latency[i])
            kc.append(c)
        i += 1
    return kl, kc, keep


def latency_limits(problem: Problem, fast: Mapping[str, float] | None = None) -> dict[str, float]:
    """Per node, the largest latency L_k any feasible choice can give it: the minimum over
    its flows f of ``S_f + tol - (through_f(v) - L_v^fast)`` (others at their fastest).
    Nodes in no flow get +inf. ``fast``: each node's fastest latency where a subproblem
    allows only some rows (default: each table's fastest). O(V + E) per flow (one forward
    and one backward pass)."""
    if fast is None:
        fast = {v: float(t.latency_ms[0]) if len(t) else 0.0 for v, t in problem.tables.items()}
    return _limits(problem.flows, dict(fast))


def limit_budget(g: FlowGraph) -> float:
    """Flow g's budget as the latency limits take it: keeping a row too many is harmless;
    dropping one because head + tail rounds differently from the rule's longest path is
    not, so the limits get the float margin."""
    return g.budget_ms + spec.fp_margin_ms(g.budget_ms, len(g.nodes))


def _limits(flows: tuple[FlowGraph, ...], fast: dict[str, float]) -> dict[str, float]:
    """:func:`latency_limits` from the nodes' fastest latencies ``fast``: per flow, or for
    many flows sharing a graph every flow at once (:func:`_matrix_limits`, the same bits;
    :mod:`fa2opt.flow_matrix`)."""
    matrix = flow_matrix(flows)
    if matrix is not None:
        return _matrix_limits(matrix, flows, fast)
    limit = dict.fromkeys(fast, _INF)
    for g in flows:
        nodes, preds, succs = g.nodes, g.preds, g.succs
        head = spec.finish_times(nodes, preds, fast)  # longest path ending with v (L_v in)
        tail: dict[str, float] = {}  # longest path starting with v (L_v included)
        budget = limit_budget(g)
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


def _matrix_limits(matrix: FlowMatrix, flows: Sequence[FlowGraph], fast: dict[str, float]
                   ) -> dict[str, float]:
    """:func:`_limits` by the rule's matrices (:func:`fa2opt.spec.finish_matrix`): the heads
    forward, the tails' starts (their longest path after v) over the reversed edges, then
    each (node, flow)'s room with the same operations as the loop, and each node's least
    over its flows -- O(V) numpy steps per block of flows, where the loops over 3,000
    flows of 250 nodes took 2 s."""
    limit = dict.fromkeys(fast, _INF)
    lat = matrix.vector(fast)
    budget = np.asarray([limit_budget(g) for g in flows], dtype=float)
    V = len(matrix.order)
    least = np.full(V, _INF)
    for blk in spec.flow_blocks(V, len(flows)):
        member = matrix.member[:, blk]
        head, _ = spec.finish_matrix(matrix.ptr, matrix.src, matrix.delay, member, lat, range(V))
        _, after = spec.finish_matrix(matrix.out_ptr, matrix.dst, matrix.out_delay, member, lat,
                                      range(V - 1, -1, -1), True)
        room = budget[blk] - ((head + after) - lat[:, None])
        least = np.minimum(least, np.where(member, room, _INF).min(axis=1))
    limit.update(zip(matrix.order, least.tolist()))
    return limit


def fronts(problem: Problem, slack: bool = True, limits: dict[str, float] | None = None,
           nodes: Iterable[str] | None = None
           ) -> dict[str, tuple[list[float], list[float], list[int]]]:
    """Per node, its candidates as lists ``(latency, cost, table positions)`` -- what
    :class:`ParetoPrune` wraps into :class:`Candidates` (and a plan's flat sweep uses as they
    are): the latency limits first (with ``slack``; :func:`latency_limits` needs only each
    table's fastest row, its position 0), then each table's front under its node's limit
    (:func:`front_rows` on the table's own lists, ``NodeTable.lists``). ``limits``: a dict
    that receives the limits (with ``slack``); ``nodes``: only these nodes' candidates
    (default every node's)."""
    tables = problem.tables
    if slack:
        fast = {}
        for v, t in tables.items():
            lat = t.lists[2]
            fast[v] = lat[0] if lat else 0.0
        found = _limits(problem.flows, fast)
        if limits is not None:
            limits.update(found)
        limits = found
    else:
        limits = dict.fromkeys(tables, _INF)
    out = {}
    for v in tables if nodes is None else nodes:
        t = tables[v]
        _, _, lat, cost = t.lists
        out[v] = front_rows(lat, cost, limits[v],
                            (t.latency_ms, t.cost) if len(lat) > _NUMPY_ROWS else None)
    return out


class ParetoPrune(Reduction):
    """Problem → PrunedProblem. ``slack=False`` keeps every Pareto row regardless of SLAs
    (what the tests use to check the pruning alone).

    One pass over the tables (:func:`fronts`): the latency limits first, then each table's
    Pareto front under its node's limit (:func:`front_rows`)."""

    def __init__(self, slack: bool = True):
        self.slack = slack

    def apply(self, problem: Problem) -> tuple[PrunedProblem, PrunedProblem]:
        cands = {v: Candidates(v, *f) for v, f in fronts(problem, self.slack).items()}
        pruned = PrunedProblem(problem, cands)
        return pruned, pruned

    def invert(self, solution: Choice, inverse_data: PrunedProblem) -> dict[str, int]:
        c = inverse_data.candidates
        return {v: c[v].positions[i] for v, i in solution.items()}
