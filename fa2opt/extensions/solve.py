"""How any method honours the extensions of an instance (called by
:meth:`fa2opt.solver.Solver.solve` when the instance carries extension keys).

- A method with its own handling (``native_extensions``: the MILP, brute force) decides the
  problem itself and reports the objective.
- For every other method, what the extensions' rows alone rule out
  (:func:`~fa2opt.extensions.ruled_out`, the MILP's short circuit) is answered
  ``infeasible`` first, without a search.
- Every other method decides the :func:`~fa2opt.extensions.search.reshaped` problem (row
  filters and row terms become tables whose cost is the objective), so its own rule,
  exact or heuristic, applies to the extended problem unchanged; answers map back.
- Budgets need a method that can solve base problems exactly (``exact_base``: FA2): the
  Lagrangian branch and bound (:mod:`.search`). Any other method answers ``error`` naming
  the keys (never the base problem's answer in disguise).
"""

from __future__ import annotations

import time
from typing import Any, Sequence

from ..problem import Problem
from . import Block, budgets, declare, has_terms, keys_of, objective, row_objective
from . import RULED_OUT, allowed_rows, packed_rows, ruled_out
from .search import branch_and_bound, reshaped


def decide(solver: Any, problem: Problem, names: Sequence[str]) -> Any:
    """The method's :class:`~fa2opt.solver.Decision` on the extended problem (choice in
    ``problem``'s table positions, ``objective`` set when it is not the cost, lower bound on
    the objective)."""
    from ..solver import Decision

    blocks = declare(problem, names)
    limits = budgets(blocks)
    exact = getattr(solver, "exact_base", None)
    if limits and exact is None:
        keys = ", ".join(keys_of(limits))
        return Decision("error", message=f"{problem.instance.source}: {keys}: method "
                                         f"{solver.name} cannot honour this extension key "
                                         f"(budgets need an exact method: fa2, milp or "
                                         f"brute-force; --formulation base ignores it)",
                        extra={"refused": keys_of(limits)})
    rows = packed_rows(problem, blocks)  # (read once: filters and terms alike)
    allowed = allowed_rows(problem, blocks, rows)
    restricting = bool(limits) or any(len(a) < len(problem.tables[v])
                                      for v, a in allowed.items())
    if restricting and ruled_out(problem, blocks, allowed):
        # the MILP's short circuit, for every method: proven by the rows alone (a node left
        # without rows, or the all-fastest choice of the rest breaks an SLA), without a
        # search (8-node combined draws: fa2's branch and bound 1.1 ms, this ~0.03; where
        # nothing restricts the rows, the method's own test of the base problem decides)
        return Decision("infeasible", message=RULED_OUT, extra={"restricted": True})
    sub, pos, const = reshaped(problem, allowed, row_objective(problem, blocks, rows))
    if limits:
        moved = [_moved(b, pos) for b in limits]
        limit = getattr(solver, "options", {}).get("time_limit")
        deadline = None if limit is None else time.perf_counter() + float(limit)
        r = branch_and_bound(sub, moved, exact, deadline=deadline)
        d = Decision(r.status, r.choice, extra=dict(r.stats),
                     lower_bound=r.bound if r.status == "time_limit" else None)
        if r.status == "time_limit":
            d.message = "extension branch and bound stopped (time limit or subproblem guard)"
    else:
        d = solver.decide(sub)
    if d.status == "infeasible" and restricting:
        d.extra["restricted"] = True  # not the base problem's infeasibility
    if d.choice is None:
        d.lower_bound = None if d.lower_bound is None else d.lower_bound + const
        return d
    d.choice = {v: int(pos[v][k]) for v, k in d.choice.items()}
    d.flow_latency_ms = None  # (checked on the reshaped tables: the answer computes its own)
    if d.lower_bound is not None:
        d.lower_bound += const
    annotate(d, problem, blocks)
    return d


def annotate(d: Any, problem: Problem, blocks: Sequence[Block]) -> None:
    """Set the decision's ``objective`` when the objective is not the plain cost."""
    if d.choice is not None and has_terms(blocks):
        d.objective = objective(problem, blocks, d.choice)


def _moved(b: Any, pos: dict) -> Any:
    """A budget re-indexed to the reshaped tables' positions."""
    from dataclasses import replace

    return replace(b, use={v: b.use[v][pos[v]] for v in b.nodes})
