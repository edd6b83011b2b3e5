"""Brute force: enumerate every combination of configurations (the tests' reference).

Vectorised over combinations with numpy: for C = Π_v K_v combinations it builds each
node's latency and cost as arrays of length C, computes every flow's longest path in
topological order, and takes the cheapest combination that meets every SLA.
Time and memory O(C · (V + E)); guarded by ``max_combinations`` (answers ``no_solution``
beyond it, which proves nothing). Exhaustive, so its answer is ``optimal`` or ``infeasible``.
"""

from __future__ import annotations

import math

import numpy as np

from ..problem import Problem
from ..solver import Decision, Solver
from .. import spec


class BruteForceSolver(Solver):
    name = "brute-force"

    @classmethod
    def option_names(cls) -> tuple[str, ...]:
        return ("max_combinations",)

    def decide(self, problem: Problem) -> Decision:
        limit = int(self.options.get("max_combinations", 2_000_000))
        if problem.empty_nodes:
            return Decision("infeasible")
        names = problem.node_names
        shape = tuple(len(problem.tables[v]) for v in names)
        total = math.prod(shape)
        if total > limit:
            return Decision("no_solution", message=f"{total} combinations exceed the guard {limit}")
        idx = dict(zip(names, _unravel(total, shape)))
        lat = {v: problem.tables[v].latency_ms[idx[v]] for v in names}
        cost = sum(problem.tables[v].cost[idx[v]] for v in names)
        ok = np.ones(total, dtype=bool)
        for g in problem.flows:
            # the spec's one rule (fa2opt.spec.longest_path), vectorised with the same
            # additions in the same order: start = max over preds of (finish[u] + d), from 0;
            # finish = start + L; the flow's latency is the largest finish
            finish: dict[str, np.ndarray] = {}
            for v in g.nodes:
                start = np.zeros(total)
                for u, d in g.preds[v]:
                    start = np.maximum(start, finish[u] + d)
                finish[v] = start + lat[v]
            longest = np.max(np.stack(list(finish.values())), axis=0)
            ok &= longest <= spec.budget_ms(g.sla_ms)
        if not ok.any():
            return Decision("infeasible")
        best = int(np.argmin(np.where(ok, cost, np.inf)))
        return Decision("optimal", {v: int(idx[v][best]) for v in names})


def _unravel(total: int, shape: tuple[int, ...]) -> list[np.ndarray]:
    """``np.unravel_index(np.arange(total), shape)`` (the last node varies fastest) for any
    number of nodes (numpy's stops at 64 dimensions; a long graph has more nodes even when
    most have one row)."""
    out, rest = [], np.arange(total)
    for k in reversed(shape):
        out.append(rest % k)
        rest = rest // k
    return out[::-1]
