"""FA2 on extended problems, exactly: reshaped tables plus a Lagrangian branch and bound.

The exact DP (``exact``: a base :class:`~fa2opt.problem.Problem` → its optimum under the
spec's SLA rule, i.e. :func:`fa2opt.edge.decide_exact` around ``FA2Solver.decide_dp``) is
never modified; every extension becomes something it already solves:

- **row filters and row terms** → :func:`reshaped`: the tables cut to the allowed rows, each
  row's ``cost`` replaced by its objective (cost + terms) shifted by the node's minimum (so
  costs stay ≥ 0; the constant is added back), rows re-sorted by (L, new cost) so the
  tables' invariant (position 0 fastest) holds; a position map leads back.
- **budgets** (Σ use ≤ limit, per flow or global) → :func:`branch_and_bound`: for multipliers
  μ ≥ 0 the DP on ``objective + Σ_j μ_j·use_j`` gives the Lagrangian lower bound
  ``DP(μ) − Σ_j μ_j·limit_j`` of a subproblem (node → allowed rows); a few projected
  subgradient steps (Polyak's step towards the incumbent) per subproblem, warm-started from
  its parent's μ; every relaxed solution that meets every budget (checked by the one
  summation order, :func:`fa2opt.extensions.budget_use`) is offered as the incumbent; one
  whose objective equals the bound solves its subproblem. Subproblems are dropped when the
  bound reaches the incumbent, when even the least use of a budget (Σ over nodes of the
  least allowed use, or — while there is no incumbent — a DP minimising that use under the
  SLAs) exceeds its limit, or when the DP finds no choice meeting the SLAs. Otherwise the
  subproblem is split by the Murty / Lawler partition around its relaxed solution
  (:func:`fa2opt.edge.partition`), best-first by bound.

Exactness: the children of a split hold every choice of their parent except the relaxed
solution split on, which is either over a budget or already offered as incumbent; bounds are
valid (weak duality) and the DP is exact under the SLA rule, so when the heap empties the
incumbent is optimal, and no incumbent proves infeasibility (not the all-fastest test).
Complexity: each subproblem costs ≤ ``ITERATIONS`` DPs (plus one per violated budget while
there is no incumbent); the tree is finite (each split removes one choice) but exponential
in the worst case, like any exact method for these NP-hard budgets (knapsack is a special
case); ``MAX_SUBPROBLEMS`` guards it (then ``time_limit`` with the incumbent and the bound).
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass, field
from typing import Callable, Mapping, Sequence

import numpy as np

from .. import spec
from ..edge import partition
from ..problem import Problem
from ..tables import NodeTable
from . import Budget

Choice = dict[str, int]
# an exact base solver: problem → (status, choice or None, lower bound or None)
Exact = Callable[[Problem], tuple[str, "Choice | None", "float | None"]]

ROOT_ITERATIONS = 12  # subgradient steps at the root
ITERATIONS = 4  # per child (warm-started)
MAX_SUBPROBLEMS = 20_000
TOL = 1e-12  # relative: a bound this close to an objective counts as reaching it


def reshaped(problem: Problem, allowed: Mapping[str, np.ndarray],
             weight: Mapping[str, np.ndarray]) -> tuple[Problem, dict[str, np.ndarray], float]:
    """``problem`` with node v's table cut to positions ``allowed[v]`` and its costs replaced
    by ``weight[v]`` (per position of the full table) minus their least allowed value, rows
    re-sorted by (L, new cost). Returns (problem, position map: new position → position of
    ``problem``'s table, the constant Σ_v min to add back)."""
    tables: dict[str, NodeTable] = {}
    pos: dict[str, np.ndarray] = {}
    const = 0.0
    for v, t in problem.tables.items():
        keep = allowed[v]
        w = weight[v][keep]
        low = float(w.min()) if len(w) else 0.0
        const += low
        w = w - low
        order = np.lexsort((w, t.latency_ms[keep]))
        p = keep[order]
        rows, replicas, latency, cost = t.rows[p], t.replicas[p], t.latency_ms[p], w[order]
        tables[v] = NodeTable(v, t.rate_rps, rows, replicas, t.queue_ms[p], latency, cost,
                              (rows.tolist(), replicas.tolist(), latency.tolist(),
                               cost.tolist()))
        pos[v] = p
    return Problem(problem.instance, tables, problem.flows), pos, const


@dataclass
class Result:
    status: str  # optimal | infeasible | time_limit
    choice: Choice | None
    bound: float | None
    stats: dict = field(default_factory=dict)


def branch_and_bound(problem: Problem, budgets: Sequence[Budget], exact: Exact,
                     allowed: Mapping[str, np.ndarray] | None = None) -> Result:
    """The least ``problem.cost`` (the objective: reshape first) over the choices meeting
    the SLAs and every budget (uses indexed by ``problem``'s table positions), restricted to
    ``allowed`` rows; by the method of the module doc."""
    order = list(problem.tables)
    cost = {v: t.cost for v, t in problem.tables.items()}
    lists = [(b.nodes, {v: b.use[v].tolist() for v in b.nodes}, b.limit) for b in budgets]
    uses = [{v: np.asarray(b.use[v], dtype=float) for v in b.nodes} for b in budgets]
    zero = {v: np.zeros(len(t)) for v, t in problem.tables.items()}
    stats = {"bb_subproblems": 0, "bb_dp_solves": 0}
    best: list = [math.inf, None]  # incumbent objective, choice

    def used(j: int, x: Mapping[str, int]) -> float:
        nodes, use, _ = lists[j]
        return spec.budget_sum(use[v][x[v]] for v in nodes)

    def offer(x: Choice) -> tuple[float, list[float]]:
        """The objective and the budget slacks (use − limit) of x; x becomes the incumbent
        when it meets every budget and beats it."""
        val = problem.cost(x)
        over = [used(j, x) - lists[j][2] for j in range(len(lists))]
        if all(used(j, x) <= lists[j][2] for j in range(len(lists))) and val < best[0]:
            best[0], best[1] = val, dict(x)
        return val, over

    def relax(allow: Mapping[str, np.ndarray], weight: Mapping[str, np.ndarray]) -> Choice | None:
        sub, pos, _ = reshaped(problem, allow, weight)
        stats["bb_dp_solves"] += 1
        _, y, _ = exact(sub)
        return None if y is None else {v: int(pos[v][k]) for v, k in y.items()}

    def evaluate(allow: Mapping[str, np.ndarray], mu0: list[float], iterations: int):
        """(bound, relaxed choice, μ) of a subproblem, or None when it is dropped."""
        stats["bb_subproblems"] += 1
        for j, (nodes, use, limit) in enumerate(lists):
            if spec.budget_sum(float(uses[j][v][allow[v]].min()) for v in nodes) > limit:
                return None
        mu = list(mu0)
        top: tuple[float, Choice | None, list[float]] = (-math.inf, None, mu)
        for it in range(iterations):
            weight = {v: cost[v] + sum(m * uses[j].get(v, zero[v])
                                       for j, m in enumerate(mu) if m > 0) for v in order}
            y = relax(allow, weight)
            if y is None:
                return None  # no choice of this subproblem meets the SLAs
            val, over = offer(y)
            bound = val + sum(m * g for m, g in zip(mu, over))
            if bound > top[0]:
                top = (bound, y, list(mu))
            if all(g <= 0 for g in over) and val <= bound + TOL * max(1.0, abs(val)):
                return None  # solved: y is this subproblem's optimum (and the incumbent's)
            if top[0] >= best[0] - TOL * max(1.0, abs(best[0])):
                return None
            if it == 0 and best[1] is None:  # least use of each broken budget under the SLAs
                for j, g in enumerate(over):
                    if g > 0:
                        z = relax(allow, {v: uses[j].get(v, zero[v]) for v in order})
                        if z is None or used(j, z) > lists[j][2]:
                            return None
                        offer(z)
            sub = [g if (m > 0 or g > 0) else 0.0 for m, g in zip(mu, over)]
            norm = sum(g * g for g in sub)
            if norm == 0.0:
                break
            target = best[0] if best[1] is not None else bound + max(1.0, abs(bound))
            step = (target - bound) / norm
            mu = [max(0.0, m + step * g) for m, g in zip(mu, sub)]
        return top

    full = {v: np.arange(len(t)) for v, t in problem.tables.items()} if allowed is None \
        else dict(allowed)
    if any(len(a) == 0 for a in full.values()):
        return Result("infeasible", None, None, stats)
    root = evaluate(full, [0.0] * len(lists), ROOT_ITERATIONS)
    heap: list = [] if root is None else [(root[0], 0, full, root[1], root[2])]
    tick = 1
    while heap:
        bound, _, allow, y, mu = heapq.heappop(heap)
        if bound >= best[0] - TOL * max(1.0, abs(best[0])):
            heap.clear()
            break
        if stats["bb_subproblems"] >= MAX_SUBPROBLEMS:
            heapq.heappush(heap, (bound, 0, allow, y, mu))
            break
        for child in partition(allow, y, order):
            r = evaluate(child, mu, ITERATIONS)
            if r is not None:
                heapq.heappush(heap, (r[0], tick, child, r[1], r[2]))
                tick += 1
    if heap:  # stopped by the guard
        return Result("time_limit", best[1], min(heap[0][0], best[0]), stats)
    if best[1] is None:
        return Result("infeasible", None, None, stats)
    return Result("optimal", best[1], best[0], stats)
