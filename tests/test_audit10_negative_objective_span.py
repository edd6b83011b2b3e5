"""Audit 10: the MILP answered ``error`` on a valid 2-node chain whose objective is negative.

With an accuracy weight of 1e12 every objective is about -2e12. ``formulations.base`` left
the rows whose objective exceeds the least possible one by more than
``OBJECTIVE_SPAN x max(1, least)`` out of HiGHS's model; with a negative ``least`` that span
is 1e6, and the floor rounds (``objective_floor``) never widened it because the floor stayed
negative. The optimum needs such a row (the cheap 0.9-accuracy row; the other breaks the
SLA with node b), so every round found nothing and the MILP answered ``error``. When the
all-fastest choice passes every rule and its objective U is negative, the optimum is <= U,
so the spec's tolerance scale max(1, |optimum|) is at least -U and the span may be
OBJECTIVE_SPAN x -U: the MILP now answers the optimum, as fa2 and brute force do.
"""

from __future__ import annotations

import pytest

import fa2opt
from fa2opt.io import instance_from_dict
from fa2opt.verify import matches

pytest.importorskip("pyomo")

CHAIN = {
    "name": "neg-span", "queueing": "none", "rate_rps": 1, "sla_ms": 16,
    "accuracy": {"weight": 1e12},
    "nodes": [{"name": "a", "configs": [
        {"batch": 1, "hardware": "cpu", "units": 1, "latency_ms": 10, "accuracy": 0.9},
        {"batch": 1, "hardware": "cpu", "units": 1e7, "latency_ms": 12, "accuracy": 1.0}]},
        {"name": "b", "configs": [{"batch": 1, "hardware": "cpu", "units": 1,
                                   "latency_ms": 5}]}],
    "edges": [["a", "b"]],
}


def test_milp_solves_a_negative_objective_beyond_the_span() -> None:
    inst = instance_from_dict(CHAIN, source="neg-span.json")
    milp = fa2opt.solve(inst, "milp")
    brute = fa2opt.solve(inst, "brute-force")
    assert brute.status == "optimal" and brute.cost == 2.0
    assert milp.status == "optimal", milp.message
    assert fa2opt.verify(inst, milp).ok and matches(milp, brute)
    assert milp.objective == brute.objective == 2.0 - 1e12 * (0.9 + 1.0)
