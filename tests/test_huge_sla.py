"""Huge SLAs mean "unconstrained" (issue 12): the answer is every node's cheapest row, and the
grid DP's memory and time follow what the profiles can reach, never the SLA's size."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from fa2opt import load_instance, solve
from fa2opt.decision_table import DecisionTable
from fa2opt.problem import Problem
from fa2opt.verify import verify

PIPELINES = Path(__file__).resolve().parents[1] / "datasets" / "pipelines"


def _unconstrained_cost(inst) -> float:
    """Σ_v min_k c_k: the optimum when no SLA binds (computed from the tables)."""
    return float(sum(t.cost.min() for t in Problem.from_instance(inst).tables.values()))


@pytest.mark.parametrize("sla", [1e9, 1.5e9, 1e19, 1e300])
@pytest.mark.parametrize("method", ["fa2", "fa2-grid"])
def test_huge_sla_is_unconstrained(method, sla):
    inst = load_instance(PIPELINES / "video_cpu.json").with_rates(rates={"main": 10.0})
    inst = inst.with_slas({"main": sla})
    ans = solve(inst, method)
    assert ans.status == "optimal", ans.message
    assert verify(inst, ans).ok
    assert ans.cost == pytest.approx(_unconstrained_cost(inst), rel=1e-12)
    if method == "fa2-grid":  # curve length bounded by the slowest path, not by the SLA
        slowest = max(Problem.from_instance(inst).flow_latencies(
            {v: len(t) - 1 for v, t in Problem.from_instance(inst).tables.items()}).values())
        assert ans.extra["grid_steps"] <= slowest / ans.extra["grid_ms"] + 20


def test_decision_table_huge_sla_matches_fa2():
    inst = load_instance(PIPELINES / "video_cpu.json")
    rates = np.array([10.0, 100.0, 250.0])
    table = DecisionTable.build(inst, rates, sla_ms=[1e19])
    for i, r in enumerate(rates):
        ref = solve(inst.with_rates(rates={"main": float(r)}).with_slas({"main": 1e19}), "fa2")
        assert table.status[i] == "optimal"
        assert table.cost[i] == pytest.approx(ref.cost, rel=1e-12)
