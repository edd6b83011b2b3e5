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

from ..extensions import RowFilter, RowTerm, declare, has_terms, objective
from ..problem import Problem
from ..solver import Decision, Solver
from .. import spec


def _count(total: int) -> str:
    """A combination count for a message: exact up to 16 digits, else its power of ten (the
    exact number of a large graph has thousands of digits, beyond Python's int → str limit)."""
    return str(total) if total < 10**16 else f"about 10^{math.log10(total):.1f}"


class BruteForceSolver(Solver):
    name = "brute-force"
    native_extensions = True  # enumerates the extended problem itself (the tests' reference)

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
            return Decision("no_solution",
                            message=f"{_count(total)} combinations exceed the guard {limit}")
        idx = dict(zip(names, _unravel(total, shape)))
        lat = {v: problem.tables[v].latency_ms[idx[v]] for v in names}
        cost = sum(problem.tables[v].cost[idx[v]] for v in names)
        ok = np.ones(total, dtype=bool)
        for g in problem.flows:  # the spec's one rule on arrays (same additions, same order)
            ok &= spec.longest_path(g.nodes, g.preds, lat, np.maximum) <= spec.budget_ms(g.sla_ms)
        blocks = declare(problem, self.extension_names(problem))
        value = cost
        for b in blocks:  # the objective's terms and the blocks' constraints, per combination
            if isinstance(b, RowFilter):
                for v, allowed in b.allowed.items():
                    ok &= allowed[idx[v]]
            elif isinstance(b, RowTerm):
                for v in names:  # the order of fa2opt.extensions.objective
                    if v in b.term:
                        value = value + b.term[v][idx[v]]
            else:  # a budget, summed in spec.budget_sum's order (same additions, same bits)
                used = np.zeros(total)
                for v in b.nodes:
                    used = used + b.use[v][idx[v]]
                ok &= used <= b.limit
        if not ok.any():
            return Decision("infeasible", extra={"restricted": True} if blocks else {})
        best = int(np.argmin(np.where(ok, value, np.inf)))
        choice = {v: int(idx[v][best]) for v in names}
        return Decision("optimal", choice,
                        objective=objective(problem, blocks, choice) if has_terms(blocks) else None)


def _unravel(total: int, shape: tuple[int, ...]) -> list[np.ndarray]:
    """``np.unravel_index(np.arange(total), shape)`` (the last node varies fastest) for any
    number of nodes (numpy's stops at 64 dimensions; a long graph has more nodes even when
    most have one row)."""
    out, rest = [], np.arange(total)
    for k in reversed(shape):
        out.append(rest % k)
        rest = rest // k
    return out[::-1]
