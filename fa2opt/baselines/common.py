"""What every heuristic baseline shares: the exact infeasibility test before its rule runs,
and the honest status after it.

A baseline is a heuristic, so it never answers ``optimal``. It answers ``infeasible`` only
when the exact all-fastest check (:meth:`fa2opt.problem.Problem.is_feasible`) proves it,
``feasible`` when its choice meets every SLA under the instance's own rules (the shared
configuration tables), and ``no_solution`` otherwise -- which proves nothing.
"""

from __future__ import annotations

from typing import Mapping

import numpy as np

from .. import spec
from ..problem import Problem
from ..solver import Decision


def proven_infeasible(problem: Problem) -> Decision | None:
    """``infeasible`` when the exact all-fastest check proves it, else None (go on)."""
    if not problem.is_feasible():
        empty = problem.empty_nodes
        why = (f"node(s) {', '.join(empty)} have no available configuration" if empty
               else "the all-fastest choice breaks an SLA")
        return Decision("infeasible", message=why)
    return None


def conclude(problem: Problem, choice: Mapping[str, int] | None, rule: str,
             **extra: object) -> Decision:
    """``feasible`` with ``choice`` when it meets every SLA, else ``no_solution`` saying why."""
    if choice is None:
        return Decision("no_solution", message=rule, extra=dict(extra))
    if problem.meets_slas(choice):
        return Decision("feasible", dict(choice), extra=dict(extra))
    lat = problem.flow_latencies(choice)
    broken = [f"{g.name} {lat[g.name]:.3f} ms > SLA {g.sla_ms:g} ms"
              for g in problem.flows if not spec.meets(lat[g.name], g.sla_ms)]
    return Decision("no_solution", message=f"{rule}: its choice breaks {'; '.join(broken)}",
                    extra=dict(extra))


def cheapest_within(problem: Problem, node: str, latency_ms: np.ndarray | None,
                    budget_ms: float) -> int | None:
    """Table position of the cheapest configuration of ``node`` whose latency (the table's
    own ``L`` unless ``latency_ms`` gives another per-position latency) is within
    ``budget_ms``; ties go to the faster one (tables are sorted by latency). None if none."""
    t = problem.tables[node]
    lat = t.latency_ms if latency_ms is None else latency_ms
    ok = np.flatnonzero(lat <= budget_ms + 1e-9)
    if len(ok) == 0:
        return None
    return int(ok[np.argmin(t.cost[ok])])
