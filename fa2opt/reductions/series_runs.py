"""Step 0 (before the plan): shared series runs merged into one node each.

Where several flows share a stretch of a chain -- node ``a``'s one successor is ``b``, whose
one predecessor is ``a``, in every flow that holds either, and the same flows hold both --
every flow sees only the sum ``L_a + d_ab + L_b``. FA2's series reduction (a series
composition's Pareto front, Razavi et al., RTAS 2022, Sec. IV) applies to the pair across
the flows before decoupling: the run ``v_1 → … → v_k`` becomes one node (named ``v_1``)
whose table is the Pareto front of the run's series composition, and the coupling search
branches on one node with that front instead of on k nodes (a long run: on a few pieces). Exact: a choice of the run's
rows and the front point that dominates it give every flow the same or a smaller latency
and the same or a smaller cost.

:class:`SeriesRuns` (``apply``: problem → merged problem; ``invert``: a merged choice →
each run node's table position). What depends on the structure alone (the runs, the merged
flows' graphs) is found once per structure (:func:`runs_of`, cached); per decision only the
fronts are built: each run's nodes pruned as :func:`~.pruning.fronts` prunes them, composed
left to right by the DP's own :func:`fa2opt.pareto.series` (each partial front cut where the
run's remaining nodes at their fastest would break every SLA the run is in), O(Σ |front| ·
|candidates|) per run. The walk back is :func:`fa2opt.pareto.backtrack`'s.

Only runs of *shared* nodes (in two flows or more) are merged: those are the coupling
nodes the search branches on (a chain of 2,000 nodes under eight overlapping windows:
1,886 coupling nodes → 224, unproven at 60 s → 1.2 s, docs/fa2.md); a run inside one flow
is what that flow's own tree DP folds at no search cost. A run is cut into pieces of at
most :data:`MAX_ROWS` front points: a few coupling nodes with fronts of thousands of
points made the flow-bound search branch thousands of times where the unmerged one
branched a few (shared-large 80×4 #1: 8 search nodes unmerged, 4,614 with whole runs,
fronts of up to 2,048 points), while fronts of 128 points kept or improved every draw
measured. The merged sums group a run's terms differently from the
spec's left-to-right rule: within the float margin that :func:`fa2opt.edge.decide_exact`
already allows for any DP, which then settles the last bits by the rule on the original
problem. So the merged flows' graphs are not ``rule_exact`` (:class:`fa2opt.problem.FlowGraph`):
the rule checked on them could reject, by an ulp, a choice the instance's rule accepts, and
no search judges its leaves by it there; fa2 merges for ``decide_exact``'s first solve only
(:meth:`fa2opt.fa2.FA2Solver._exact_dp`; docs/fa2.md, 2026-12-07).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from .. import spec
from ..pareto import Front, backtrack, series
from ..problem import FlowGraph, Problem
from ..tables import NodeTable
from .base import Choice, Reduction
from .pruning import Candidates, fronts

CACHE_SIZE = 1024  # structures whose runs are kept (the oldest found goes first)
MAX_ROWS = 128  # a merged node's rows at most: a run whose front grows past it is cut there
MERGED_KEPT = 64  # per structure, the merged graphs of this many ways of cutting its runs


@dataclass(frozen=True)
class Runs:
    """A structure's runs (each a tuple of ≥ 2 node names in chain order; ``delays[i]``:
    the edge latencies along ``runs[i]``, one fewer) and the merged flows' graphs of each
    way of cutting them into pieces met so far (``merged``: pieces → graphs, whose budgets
    each decision copies from its problem's flows); ``nodes``: every run's nodes, one run
    after another (those a decision prunes)."""

    runs: tuple[tuple[str, ...], ...]
    delays: tuple[tuple[float, ...], ...]
    merged: dict = field(default_factory=dict, compare=False)
    nodes: tuple[str, ...] = field(init=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "nodes", tuple(v for run in self.runs for v in run))


_RUNS: dict[tuple, Runs | None] = {}


def find_runs(flows: Sequence[FlowGraph]) -> list[tuple[list[str], list[float]]]:
    """The maximal runs of shared nodes, each ``(nodes, delays)``, in the flows' node order:
    ``a → b`` joins a run when the same flows (two or more) hold ``a`` and ``b`` and in each
    of them ``b`` is ``a``'s only successor and ``a`` is ``b``'s only predecessor.
    O(Σ_f (|V_f| + |E_f|))."""
    member: dict[str, list[int]] = {}
    for i, g in enumerate(flows):
        for v in g.nodes:
            member.setdefault(v, []).append(i)
    nxt: dict[str, tuple[str, float]] = {}  # a -> (b, d) where a → b joins a run
    for v, fs in member.items():
        if len(fs) < 2:
            continue
        succ = flows[fs[0]].succs[v]
        if len(succ) != 1 or member.get(succ[0][0]) != fs:
            continue
        b = succ[0][0]
        if all(flows[i].succs[v] == succ and len(flows[i].preds[b]) == 1 for i in fs):
            nxt[v] = succ[0]
    inner = {b for b, _ in nxt.values()}
    out = []
    for v in member:  # (heads in the flows' node order: the same runs every time)
        if v in nxt and v not in inner:
            nodes, delays = [v], []
            while nodes[-1] in nxt:
                b, d = nxt[nodes[-1]]
                nodes.append(b)
                delays.append(d)
            out.append((nodes, delays))
    return out


def merged_flows(flows: Sequence[FlowGraph], pieces: Sequence[Sequence[str]]
                 ) -> tuple[FlowGraph, ...]:
    """Each flow's graph with every piece it holds as the piece's first node (the piece's
    last node's successors follow the first); not ``rule_exact``: the piece's latency is its
    front's sum, grouped otherwise than the rule groups the path's terms."""
    into = {v: p[0] for p in pieces for v in p[1:]}  # a piece's later node -> its first
    last = {p[-1]: p[0] for p in pieces}
    out = []
    for g in flows:
        nodes = tuple(v for v in g.nodes if v not in into)
        preds = {v: tuple((last.get(u, u), d) for u, d in g.preds[v]) for v in nodes}
        out.append(FlowGraph(g.name, g.sla_ms, nodes, preds, g.budget_ms, rule_exact=False))
    return tuple(out)


def runs_of(problem: Problem) -> Runs | None:
    """The runs of ``problem``'s structure (None: none to merge; one flow: none), found once
    per structure (the flows' graphs and the table order), kept for :data:`CACHE_SIZE`."""
    flows = problem.flows
    if len(flows) < 2:
        return None
    key = problem.structure_key()
    if key in _RUNS:
        return _RUNS[key]
    found = find_runs(flows)
    made = (Runs(tuple(tuple(n) for n, _ in found), tuple(tuple(d) for _, d in found))
            if found else None)
    _RUNS[key] = made
    if len(_RUNS) > CACHE_SIZE:
        del _RUNS[next(iter(_RUNS))]
    return made


def run_pieces(cands: Sequence[Candidates], delays: Sequence[float], limits: Sequence[float],
               max_rows: int = MAX_ROWS) -> list[tuple[int, int, Front | Candidates]]:
    """A run cut into consecutive pieces ``(start, end, front)``: each piece's Pareto front of
    its series composition (its nodes' candidates ``cands`` and the edge latencies
    between them), added left to right by :func:`fa2opt.pareto.series`. A piece ends before
    the node that would make its front longer than ``max_rows`` (a piece of one node is its
    candidates). ``limits``: each node's latency limit (pruning's,
    :func:`~.pruning.latency_limits`); the run's largest useful latency ``cap`` is the
    largest over its nodes of the limit less the node's fastest latency, plus the run's
    fastest (equal but for rounding), and a float margin more, so that the cut keeps
    whatever the limits would. After node j a piece's points slower than ``cap`` less the
    run's fastest latency outside the piece so far are dropped (latencies are non-negative:
    they cannot come back under ``cap``). Walk back with :func:`fa2opt.pareto.backtrack`
    (each node's candidate index). O(Σ_j |front before j| · |cands[j]|) pairs."""
    k = len(cands)
    fast = [c.latency[0] for c in cands]
    rest = [0.0] * k  # rest[j]: the run's fastest latency after node j
    for j in range(k - 2, -1, -1):
        rest[j] = rest[j + 1] + delays[j] + fast[j + 1]
    room = max(m - x for m, x in zip(limits, fast)) + (fast[0] + rest[0])
    cap = room + spec.fp_margin_ms(abs(room), 2 * k)
    out = []
    start, before = 0, 0.0  # before: the run's fastest latency before the piece
    f: Front | Candidates = cands[0]
    for j in range(1, k):
        room = cap - before - rest[j]
        g = f if not delays[j - 1] else series(f, Front([delays[j - 1]], [0.0]), room - fast[j])
        g = series(g, cands[j], room)
        if len(g) > max_rows:
            out.append((start, j, f))
            for i in range(start, j):
                before = before + fast[i] + delays[i]
            start, g = j, cands[j]
        f = g
    out.append((start, k, f))
    return out


class SeriesRuns(Reduction):
    """Problem → the problem with each run of shared series nodes merged into one node, or
    into a few where its front would pass :data:`MAX_ROWS` rows (module docstring).
    ``apply`` answers the problem itself and None when the structure has no run; the
    inverse data: per merged piece its nodes, front and candidates."""

    def apply(self, problem: Problem) -> tuple[Problem, list | None]:
        made = runs_of(problem)
        if made is None:
            return problem, None
        limits: dict[str, float] = {}
        lists = fronts(problem, limits=limits, nodes=made.nodes)
        tables = dict(problem.tables)
        inverse = []
        for run, delays in zip(made.runs, made.delays):
            cands = [Candidates(v, *lists[v]) for v in run]
            if not all(cands):  # a node without candidates: infeasible as it stands
                continue
            for a, b, front in run_pieces(cands, delays, [limits[v] for v in run], MAX_ROWS):
                if b - a > 1:
                    tables[run[a]] = _table(tables[run[a]], front.lat, front.cost)
                    for v in run[a + 1:b]:
                        del tables[v]
                    inverse.append((run[a:b], front, cands[a:b]))
        if not inverse:
            return problem, None
        pieces = tuple(nodes for nodes, _, _ in inverse)
        graphs = made.merged.get(pieces)
        if graphs is None:
            graphs = made.merged[pieces] = merged_flows(problem.flows, pieces)
            if len(made.merged) > MERGED_KEPT:
                del made.merged[next(iter(made.merged))]
        # each merged graph with this problem's flow's name, SLA and budget
        flows = tuple(h.replaced(name=g.name, sla_ms=g.sla_ms, budget_ms=g.budget_ms)
                      for g, h in zip(problem.flows, graphs))
        return Problem(problem.instance, tables, flows), inverse

    def invert(self, solution: Choice, inverse_data: list | None) -> dict[str, int]:
        out = dict(solution)
        for nodes, front, cands in inverse_data or ():
            r = out.pop(nodes[0], None)
            if r is not None:
                picks = backtrack(front, r)
                for c in cands:
                    out[c.node] = c.positions[picks[c.node]]
        return out


def _table(like: NodeTable, lat, cost) -> NodeTable:
    """A merged piece's table: row i is its front's point i (latency rising, cost falling,
    as every table's Pareto rows are); its nodes' replicas and queueing are read back
    through :meth:`SeriesRuns.invert`."""
    lat = lat.tolist() if isinstance(lat, np.ndarray) else list(lat)
    cost = cost.tolist() if isinstance(cost, np.ndarray) else list(cost)
    n = len(lat)
    rows = np.arange(n, dtype=np.int64)
    return NodeTable(like.node, like.rate_rps, rows, np.ones(n, dtype=np.int64), np.zeros(n),
                     np.asarray(lat, dtype=float), np.asarray(cost, dtype=float),
                     (rows.tolist(), [1] * n, lat, cost))
