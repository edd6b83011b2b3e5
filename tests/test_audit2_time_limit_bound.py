"""Second audit: a ``time_limit`` answer carries ``lower_bound`` (spec: "time_limit (solver
stopped; with the incumbent, if any, and lower_bound)").

A valid bound always exists: dropping every SLA and budget leaves a separable objective, so
Σ_v min_k (c_k + row terms) over each node's allowed rows bounds every decision. Stopped at
once (a time limit of 1e-9 s), the MILP answered ``time_limit`` with no ``lower_bound`` on
every instance, and fa2 did so on instances with extensions. Where an accuracy floor leaves a
node without rows that relaxation is infeasible, and so is the instance: the answer is
``infeasible`` (the MILP answered ``time_limit`` without a bound)."""

from __future__ import annotations

import pytest

import fa2opt
from fa2opt.io import instance_from_dict
from fa2opt.spec import REL_TOL


def _rows(*rows: tuple) -> list[dict]:
    return [{"batch": b, "hardware": h, "units": u, "latency_ms": p, **extra}
            for b, h, u, p, extra in rows]


# two flows over two nodes, no edges (one coupled choice per node)
BASE = {"name": "two-flows", "queueing": "none", "max_utilization": 0.5,
        "prices": {"cpu": 0.5, "tpu": 1.0},
        "flows": [{"name": "f0", "rate_rps": 0.5, "sla_ms": 113.9, "nodes": ["b", "a"]},
                  {"name": "f1", "rate_rps": 10, "sla_ms": 90.0, "nodes": ["a"]}],
        "nodes": [{"name": "a", "configs": _rows((8, "cpu", 4, 63.8, {}), (2, "cpu", 1.5, 114.0, {}),
                                                 (1, "tpu", 1, 80.0, {"variant": "x"}))},
                  {"name": "b", "configs": _rows((3, "cpu", 2, 11.29, {}), (4, "tpu", 2, 84.7, {}),
                                                 (8, "cpu", 1, 92.7, {}))}],
        "edges": []}
# a chain with a tight capacity, an accuracy weight and a switch cost
EXT = {"name": "ext", "queueing": "batch-fill", "rate_rps": 40, "sla_ms": 300.0,
       "nodes": [{"name": "a", "configs": _rows((1, "cpu", 1, 20.0, {"accuracy": 0.9}),
                                                (4, "gpu", 1, 30.0, {"accuracy": 0.8}),
                                                (2, "cpu", 2, 15.0, {"accuracy": 0.95}))},
                 {"name": "b", "configs": _rows((1, "cpu", 2, 10.0, {}), (8, "gpu", 1, 60.0, {}))}],
       "edges": [["a", "b", 2.5]], "capacity": {"gpu": 1},
       "accuracy": {"weight": 3.0, "min": {"main": 0.85}},
       "current": {"b": {"batch": 8, "hardware": "gpu", "units": 1}}, "switch_cost": 4.0}


@pytest.mark.parametrize("method", ["fa2", "milp"])
@pytest.mark.parametrize("doc", [BASE, EXT], ids=["base", "extensions"])
def test_a_time_limit_answer_carries_a_valid_lower_bound(method: str, doc: dict) -> None:
    inst = instance_from_dict(doc)
    reference = fa2opt.solve(inst, "brute-force")
    assert reference.status == "optimal"
    best = reference.cost if reference.objective is None else reference.objective
    answer = fa2opt.solve(inst, method, time_limit=1e-9)
    if answer.status == "optimal":  # finished before its first check: nothing to test
        return
    assert answer.status == "time_limit", (answer.status, answer.message)
    assert answer.lower_bound is not None, answer.message
    assert answer.lower_bound <= best + REL_TOL * max(1.0, abs(best))


def test_a_node_without_allowed_rows_is_infeasible_even_when_stopped() -> None:
    # every row of b is below the `min` floor of flow main: no decision exists
    doc = {**EXT, "accuracy": {"aggregate": "min", "min": {"main": 0.85}},
           "nodes": [EXT["nodes"][0], {"name": "b", "configs": _rows(
               (1, "cpu", 2, 10.0, {"accuracy": 0.8}), (8, "gpu", 1, 60.0, {"accuracy": 0.5}))}]}
    inst = instance_from_dict(doc)
    assert fa2opt.solve(inst, "brute-force").status == "infeasible"
    for method in ("fa2", "milp"):
        answer = fa2opt.solve(inst, method, time_limit=1e-9)
        assert answer.status == "infeasible", (method, answer.status, answer.message)
