"""The search over coupling nodes: exact, by branch and bound over their configurations.

Given a :class:`~fa2opt.reductions.decouple.DecoupledProblem`, the optimum is

    min over candidates k_w of every coupling node w of
        Σ_w c_w(k_w) + Σ_f R_f(k)                                            (1)

where ``R_f(k)`` is the least cost of flow f's other nodes meeting S_f with the coupling
nodes' latencies fixed -- an independent series-parallel problem in which every node occurs
once, solved by a *remainder solver* (the exact Pareto DP, :func:`fa2opt.pareto.
pareto_remainder`, or any other curve arithmetic with the same signature).

Bound: with only some coupling nodes fixed, give each leaf of an unfixed coupling node w its
own free choice at cost ``c_w / n_w`` (n_w = w's number of leaves over all flows) and solve
each flow's remainder. The true problem is this relaxation restricted to equal choices in
every copy, with the same objective, so ``Σ_fixed c_w + Σ_f R̃_f`` is a lower bound; when all
coupling nodes are fixed it is exactly (1). Depth-first search, children visited in order of
bound (best-first), pruned when the bound is not below the incumbent. Remainder results are
memoised per flow on the flow's own coupling nodes' (partial) fixing, so fixing a node
re-solves only the flows containing it.

Worst case exponential in the number of coupling nodes (the problem with shared nodes is
NP-hard like the discrete time-cost trade-off); the pruned candidate lists and the bound
keep the common shapes (a few shared detectors, bridges) small. Without coupling nodes the
search is one remainder solve per flow.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Mapping, Protocol

from ..verify import SLA_TOL_MS
from .decouple import DecoupledProblem
from .pruning import Candidates
from .sptree import SPTree


class RemainderSolver(Protocol):
    """Solve one flow's series-parallel remainder.

    ``fixed[v]``: candidate index of a fixed node (its leaves are fixed latencies, its cost is
    counted by the caller); every other leaf chooses freely among ``candidates[v]`` at cost
    ``weight.get(v, 1) · cost``. Return ``(least weighted cost, {leaf node: candidate
    index})`` with the expression's value ≤ ``budget_ms``, or None when nothing meets it.
    An inexact solver may return an upper bound (a feasible choice); the search is then a
    heuristic and the caller must not claim optimality.
    """

    def __call__(self, tree: SPTree, budget_ms: float, candidates: Mapping[str, Candidates],
                 fixed: Mapping[str, int] | None = None,
                 weight: Mapping[str, float] | None = None) -> tuple[float, dict[str, int]] | None: ...


@dataclass
class SearchResult:
    """``cost``: the optimum of (1) plus the free nodes; ``choice``: a candidate index for
    every node; ``explored``: search nodes whose bound was computed; ``solves``: remainder
    solves (memo misses)."""

    cost: float
    choice: dict[str, int]
    explored: int = 0
    solves: int = 0
    stats: dict = field(default_factory=dict)
    timed_out: bool = False  # stopped at the deadline: ``choice`` is the incumbent
    lower_bound: float | None = None  # set when timed out


class _Deadline(Exception):
    pass


def search(dp: DecoupledProblem, remainder: RemainderSolver,
           deadline: float | None = None) -> SearchResult | None:
    """Exact search over the coupling nodes (see the module docstring); None: infeasible.

    ``deadline`` (a ``time.perf_counter()`` value): stop there and return the incumbent
    (or, without one, every node's fastest candidate, which is feasible whenever the
    instance is) with ``timed_out=True`` and the root lower bound."""
    cands = dp.candidates
    for v, c in cands.items():
        if len(c) == 0:
            return None
    coupling = dp.coupling
    if not coupling:  # independent flows: one remainder solve each
        total, choice = 0.0, {}
        for f in dp.flows:
            r = remainder(f.tree, f.sla_ms + SLA_TOL_MS, cands, None, None)
            if r is None:
                return None
            total += r[0]
            choice.update(r[1])
        for v in dp.free:
            choice[v] = len(cands[v]) - 1
            total += cands[v].cost[-1]
        return SearchResult(total, choice, 1, len(dp.flows))
    share = {w: 1.0 / dp.leaf_count[w] for w in coupling}
    budgets = [f.sla_ms + SLA_TOL_MS for f in dp.flows]
    memo: list[dict[tuple, tuple[float, dict[str, int]] | None]] = [{} for _ in dp.flows]
    counters = {"explored": 0, "solves": 0}

    def flow_value(i: int, fixed: Mapping[str, int]) -> tuple[float, dict[str, int]] | None:
        cw = dp.flow_coupling[i]
        key = tuple(fixed.get(w, -1) for w in cw)
        m = memo[i]
        if key in m:
            return m[key]
        fx = {w: fixed[w] for w in cw if w in fixed}
        wt = {w: share[w] for w in cw if w not in fixed}
        counters["solves"] += 1
        r = remainder(dp.flows[i].tree, budgets[i], cands, fx, wt)
        m[key] = r
        return r

    def bound(fixed: Mapping[str, int], fixed_cost: float) -> float:
        counters["explored"] += 1
        total = fixed_cost
        for i in range(len(dp.flows)):
            r = flow_value(i, fixed)
            if r is None:
                return float("inf")
            total += r[0]
        return total

    free_cost = sum(cands[v].cost[-1] for v in dp.free)
    best = [float("inf"), None]  # incumbent value, its coupling fixing

    def dfs(depth: int, fixed: dict[str, int], fixed_cost: float) -> None:
        if deadline is not None and time.perf_counter() > deadline:
            raise _Deadline
        w = coupling[depth]
        cw = cands[w]
        children = []
        for k in range(len(cw)):
            fixed[w] = k
            b = bound(fixed, fixed_cost + cw.cost[k])
            if b < best[0]:
                children.append((b, k))
        del fixed[w]
        children.sort()
        for b, k in children:
            if b >= best[0]:
                break
            fixed[w] = k
            if depth + 1 == len(coupling):
                best[0], best[1] = b, dict(fixed)
            else:
                dfs(depth + 1, fixed, fixed_cost + cw.cost[k])
            del fixed[w]

    try:
        dfs(0, {}, 0.0)
    except _Deadline:
        return _timed_out(dp, remainder, best, bound({}, 0.0) + free_cost, flow_value, counters)
    if best[1] is None:
        return None
    fixed = best[1]
    choice: dict[str, int] = dict(fixed)
    for i in range(len(dp.flows)):
        r = flow_value(i, fixed)
        assert r is not None
        choice.update(r[1])
    for v in dp.free:
        choice[v] = len(cands[v]) - 1
    return SearchResult(best[0] + free_cost, choice, counters["explored"], counters["solves"])


def _timed_out(dp: DecoupledProblem, remainder: RemainderSolver, best: list, root_bound: float,
               flow_value, counters: dict) -> SearchResult:
    """The incumbent (or the all-fastest choice) after the deadline, with the root bound."""
    cands = dp.candidates
    if best[1] is not None:
        fixed = best[1]
        choice: dict[str, int] = dict(fixed)
        for i in range(len(dp.flows)):
            choice.update(flow_value(i, fixed)[1])
    else:
        choice = {v: 0 for v in cands}
    for v in dp.free:
        choice[v] = len(cands[v]) - 1
    cost = sum(cands[v].cost[k] for v, k in choice.items())
    return SearchResult(cost, choice, counters["explored"], counters["solves"],
                        timed_out=True, lower_bound=min(root_bound, cost))
