"""Audit 10: the MILP answered ``error`` on valid instances with negative objectives whose
all-fastest choice breaks a rule (or that are infeasible).

An accuracy weight up to 1e12 makes every objective about -1e9..-1e12. ``formulations.base``
leaves rows whose objective exceeds the least possible one by more than
``OBJECTIVE_SPAN x max(1, scale)`` out of HiGHS's model, where the scale must bound the spec's
tolerance scale max(1, |optimum|) from below. A restricted model that finds nothing proves the
optimum is at least its cutoff, but with negative objectives that floor stays negative and
never widened the span: 16 identical rounds, then ``error`` (14 of 600 wide-price instances,
where fa2 and brute force answer). Now a decision passing every rule with a negative
objective V bounds the optimum from above (optimum <= V < 0, so the scale is at least -V) and
widens the span, and when the restricted model finds no decision the whole model is solved
once, every row kept: for such a decision, or for a proof of infeasibility (objective 0,
which HiGHS settles exactly).
"""

from __future__ import annotations

import pytest

import fa2opt
from fa2opt.io import instance_from_dict
from fa2opt.verify import matches

pytest.importorskip("pyomo")

# optimum -4541549997.5 (accuracy weight 1e9); the all-fastest choice passes every rule but
# its objective is +4.2e10 (a GPU at 2.2e9 per unit), so it bounds nothing away from 0
NEGATIVE_OPTIMUM = {
    "name": 'span-ext-1245',
    "queueing": 'batch-fill',
    "max_utilization": 0.9,
    "prices": {'cpu': 100000.0, 'gpu': 2200000000.0, 'tpu': 100000000.0},
    "nodes": [
        {"name": 'n0', "configs": [
            {'batch': 1, 'hardware': 'gpu', 'units': 0.5, 'latency_ms': 66.6, 'accuracy': 1.0},
            {'batch': 3, 'hardware': 'gpu', 'units': 0.5, 'latency_ms': 133.2, 'accuracy': 1.0},
            {'batch': 1, 'hardware': 'cpu', 'units': 1, 'latency_ms': 66.6, 'variant': 'v3', 'accuracy': 0.8},
        ]},
        {"name": 'n1', "configs": [
            {'batch': 3, 'hardware': 'gpu', 'units': 2, 'latency_ms': 320.0, 'accuracy': 0.7},
            {'batch': 8, 'hardware': 'cpu', 'units': 2, 'latency_ms': 360.0, 'accuracy': 0.95},
            {'batch': 8, 'hardware': 'cpu', 'units': 1, 'latency_ms': 360.0, 'variant': 'v2', 'accuracy': 0.9},
            {'batch': 3, 'hardware': 'gpu', 'units': 1, 'latency_ms': 210.0, 'accuracy': 0.9},
            {'batch': 8, 'hardware': 'cpu', 'units': 2, 'latency_ms': 360.0, 'variant': 'v2', 'accuracy': 0.95},
        ]},
        {"name": 'n2', "multiplier": 0.5, "configs": [
            {'batch': 4, 'hardware': 'gpu', 'units': 2, 'latency_ms': 63.26999999999999, 'accuracy': 1.0},
            {'batch': 1, 'hardware': 'cpu', 'units': 1, 'latency_ms': 33.3, 'accuracy': 0.7},
            {'batch': 1, 'hardware': 'cpu', 'units': 0.5, 'latency_ms': 33.3, 'accuracy': 0.8},
        ]},
        {"name": 'n3', "configs": [
            {'batch': 2, 'hardware': 'cpu', 'units': 2, 'latency_ms': 78.0},
            {'batch': 8, 'hardware': 'cpu', 'units': 1, 'latency_ms': 270.0},
            {'batch': 8, 'hardware': 'cpu', 'units': 4, 'latency_ms': 180.0},
            {'batch': 8, 'hardware': 'cpu', 'units': 4, 'latency_ms': 270.0, 'variant': 'v2'},
            {'batch': 8, 'hardware': 'cpu', 'units': 4, 'latency_ms': 180.0, 'variant': 'v3'},
        ]},
        {"name": 'n4', "configs": [
            {'batch': 1, 'hardware': 'tpu', 'units': 1, 'latency_ms': 33.3, 'accuracy': 0.9},
            {'batch': 1, 'hardware': 'cpu', 'units': 1, 'latency_ms': 33.3, 'variant': 'v2', 'accuracy': 1.0},
            {'batch': 1, 'hardware': 'cpu', 'units': 1, 'latency_ms': 33.3, 'variant': 'v3', 'accuracy': 0.8},
        ]},
    ],
    "edges": [['n1', 'n2', 0.1], ['n1', 'n3', 1.25], ['n1', 'n4', 0.1], ['n3', 'n4', 0.1]],
    "rate_rps": 270.0,
    "accuracy": {'aggregate': 'product', 'weight': 1000000000.0, 'min': {}},
    "current": {
        'n1': {'batch': 8, 'hardware': 'cpu', 'units': 1, 'variant': 'v2'},
        'n2': {'batch': 1, 'hardware': 'cpu', 'units': 0.5},
        'n3': {'batch': 8, 'hardware': 'cpu', 'units': 4, 'variant': 'v3'},
    },
    "switch_cost": {'n0': 0.0, 'n1': 2.5, 'n2': 1.0},
    "sla_ms": 680.6767592592593,
}

# infeasible (capacity, accuracy floors and SLAs together); accuracy weight 1e12
INFEASIBLE = {
    "name": 'span-tie-0',
    "queueing": 'batch-fill',
    "prices": {'cpu': 0.001, 'gpu': 0.01, 'tpu': 0.01},
    "nodes": [
        {"name": 'n0', "configs": [
            {'batch': 2, 'hardware': 'cpu', 'units': 1, 'latency_ms': 25.0, 'variant': 'g0v0', 'accuracy': 90.0},
            {'batch': 4, 'hardware': 'gpu', 'units': 1, 'latency_ms': 25.0, 'variant': 'g1v0', 'accuracy': 100.0},
        ]},
        {"name": 'n1', "configs": [
            {'batch': 1, 'hardware': 'gpu', 'units': 2, 'latency_ms': 25.0, 'variant': 'g0v0'},
            {'batch': 1, 'hardware': 'gpu', 'units': 2, 'latency_ms': 25.0, 'variant': 'g0v1'},
            {'batch': 1, 'hardware': 'gpu', 'units': 2, 'latency_ms': 25.0, 'variant': 'g0v2'},
            {'batch': 2, 'hardware': 'gpu', 'units': 1, 'latency_ms': 10.0, 'variant': 'g1v0'},
            {'batch': 2, 'hardware': 'cpu', 'units': 2, 'latency_ms': 25.0, 'variant': 'g2v0'},
        ]},
        {"name": 'n2', "configs": [
            {'batch': 1, 'hardware': 'cpu', 'units': 1, 'latency_ms': 20.0, 'variant': 'g0v0', 'accuracy': 100.0},
            {'batch': 2, 'hardware': 'cpu', 'units': 1, 'latency_ms': 25.0, 'accuracy': 90.0},
            {'batch': 2, 'hardware': 'cpu', 'units': 1, 'latency_ms': 25.0, 'variant': 'g1v1', 'accuracy': 90.0},
            {'batch': 2, 'hardware': 'cpu', 'units': 1, 'latency_ms': 25.0, 'variant': 'g1v2', 'accuracy': 90.0},
            {'batch': 2, 'hardware': 'cpu', 'units': 2, 'latency_ms': 20.0, 'variant': 'g2v0', 'accuracy': 90.0},
            {'batch': 2, 'hardware': 'cpu', 'units': 2, 'latency_ms': 20.0, 'variant': 'g2v1', 'accuracy': 90.0},
            {'batch': 2, 'hardware': 'cpu', 'units': 2, 'latency_ms': 20.0, 'variant': 'g2v2', 'accuracy': 90.0},
        ]},
        {"name": 'n3', "configs": [
            {'batch': 4, 'hardware': 'gpu', 'units': 2, 'latency_ms': 10.0, 'variant': 'g0v0'},
        ]},
        {"name": 'n4', "configs": [
            {'batch': 1, 'hardware': 'cpu', 'units': 1, 'latency_ms': 40.0, 'variant': 'g0v0'},
            {'batch': 1, 'hardware': 'cpu', 'units': 1, 'latency_ms': 40.0, 'variant': 'g0v1'},
            {'batch': 1, 'hardware': 'cpu', 'units': 1, 'latency_ms': 40.0, 'variant': 'g0v2'},
        ]},
    ],
    "edges": [['n0', 'n1', 10], ['n1', 'n3', 10], ['n2', 'n4', 0.5]],
    "flows": [
        {'name': 'n0', 'nodes': ['n1', 'n3', 'n4'], 'rate_rps': 100.0, 'sla_ms': 66.66666666666667},
        {'name': 'n1', 'nodes': ['n0', 'n2', 'n3', 'n4'], 'rate_rps': 50.0, 'sla_ms': 80.499999},
        {'name': 'n2', 'nodes': ['n1', 'n3', 'n4'], 'rate_rps': 50.0, 'sla_ms': 66.56666666666668},
    ],
    "accuracy": {'aggregate': 'product', 'weight': 1000000000000.0, 'scale': 100.0, 'min': {'n1': 0.81, 'n2': 1.0}},
    "current": {
        'n2': {'batch': 2, 'hardware': 'cpu', 'units': 1, 'variant': 'g1v2'},
        'n3': {'batch': 4, 'hardware': 'gpu', 'units': 2, 'variant': 'g0v0'},
        'n4': {'batch': 1, 'hardware': 'cpu', 'units': 1, 'variant': 'g0v0'},
    },
    "switch_cost": 1000000.0,
    "capacity": {'cpu': 15, 'gpu': 2},
}


@pytest.mark.parametrize("data", [NEGATIVE_OPTIMUM, INFEASIBLE], ids=["optimum", "infeasible"])
def test_milp_answers_as_brute_force_does(data: dict) -> None:
    inst = instance_from_dict(data, source=f"{data['name']}.json")
    milp = fa2opt.solve(inst, "milp")
    brute = fa2opt.solve(inst, "brute-force")
    assert milp.status == brute.status, milp.message
    assert fa2opt.verify(inst, milp).ok and matches(milp, brute)


def test_the_negative_optimum_is_found_after_widening() -> None:
    inst = instance_from_dict(NEGATIVE_OPTIMUM, source="span-ext-1245.json")
    milp = fa2opt.solve(inst, "milp")
    assert milp.status == "optimal", milp.message
    assert milp.objective == pytest.approx(-4541549997.5, rel=1e-12)
    assert milp.extra.get("whole_model_solves") == 1 and milp.extra.get("floor_rounds") == 1


def test_infeasible_is_proven_by_the_whole_model() -> None:
    inst = instance_from_dict(INFEASIBLE, source="span-tie-0.json")
    milp = fa2opt.solve(inst, "milp")
    assert milp.status == "infeasible"
    assert milp.extra.get("whole_model_solves") == 2  # the approximate one, then objective 0
    assert "objective 0" in (milp.message or "")
