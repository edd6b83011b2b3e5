"""Fifteenth audit: a multi-flow plan counted its flows' leaves one copy at a time
(``Counter(c.elements())``). Node reduction on a dense DAG copies nodes ~1e9 times (95
nodes, edge probability 0.7: 1.4e9 leaves), so a second flow of one node made fa2 run 35 s
past a 2 s ``--time-limit`` before its first stage check; the counts are now added, never
expanded. The answer must be in time, and the MILP's."""

from __future__ import annotations

import random

import pytest

from fa2opt.io import instance_from_dict
from fa2opt.plan import compile_plan
from fa2opt.problem import Problem
from fa2opt.reductions.sp_decompose import flow_decomposition
from fa2opt.solver import available_methods, checked, get_solver
from fa2opt.verify import matches


def dense_two_flows(n: int = 95, p: float = 0.7, seed: int = 4) -> Problem:
    """A random DAG (edge i→j, i < j, with probability p, delay j − i: no edge dominated by
    another path, :mod:`fa2opt.reductions.transitive`), two rows per node, a flow over
    every node and one of v0 alone, loose SLAs."""
    rng = random.Random(seed)
    row = [{"batch": 1, "hardware": "cpu", "units": 1, "latency_ms": 10},
           {"batch": 1, "hardware": "cpu", "units": 2, "latency_ms": 5}]
    names = [f"v{i}" for i in range(n)]
    doc = {"queueing": "none", "nodes": [{"name": v, "configs": row} for v in names],
           "edges": [[names[i], names[j], float(j - i)] for i in range(n) for j in range(i + 1, n)
                     if rng.random() < p],
           "flows": [{"name": "all", "rate_rps": 1, "sla_ms": 1e9, "nodes": names},
                     {"name": "one", "rate_rps": 1, "sla_ms": 1e9, "nodes": ["v0"]}]}
    return Problem.from_instance(instance_from_dict(doc))


def test_the_plan_adds_the_flows_counts_without_expanding_them():
    problem = dense_two_flows()
    per_flow = [flow_decomposition(g)[2] for g in problem.flows]
    assert sum(per_flow[0].values()) > 10**8  # copies a per-copy count cannot get through
    plan = compile_plan(tuple(problem.tables), problem.flows)
    assert plan.leaf_count == per_flow[0] + per_flow[1]
    assert plan.coupling == frozenset(problem.tables)  # v0: both flows; the rest: copies


def test_fa2_answers_within_its_time_limit_and_equals_the_milp():
    problem = dense_two_flows()
    a = checked(problem, get_solver("fa2", time_limit=5).solve(problem))
    assert a.status == "optimal" and a.cost == 95.0, (a.status, a.cost, a.message)
    assert a.solve_ms < 5000.0
    if "milp" not in available_methods():
        pytest.skip("formulations.solve not present")
    m = checked(problem, get_solver("milp", time_limit=60).solve(problem))
    assert m.status == "optimal" and matches(a, m)
