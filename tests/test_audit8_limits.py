"""Audit 8: every method that can run long honours a time limit, and its answer is honest
(``time_limit`` with a verified incumbent and a lower bound at most its cost)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

import fa2opt
from fa2opt.cli import main
from fa2opt.io import instance_from_dict
from fa2opt.problem import Problem


def _chain(n: int = 12) -> dict:
    rows = [{"batch": b, "hardware": h, "units": u,
             "latency_ms": 10.0 * b / u * (0.5 if h == "gpu" else 1)}
            for b in (1, 2, 4, 8) for h in ("cpu", "gpu") for u in (1, 2)]
    return {"sla_ms": 40.0 * n, "rate_rps": 50, "prices": {"gpu": 3.0},
            "nodes": [{"name": f"n{i}", "configs": rows} for i in range(n)],
            "edges": [[f"n{i}", f"n{i + 1}"] for i in range(n - 1)]}


def test_greedy_stops_at_its_time_limit_with_an_incumbent(monkeypatch) -> None:
    """greedy took no time limit: each step checks the SLAs of every single-node move, so on
    a 1,000-node DAG one step took seconds and the climb ran for hours (a 300-node one: 17 s)
    with no way to stop it. It now stops at ``time_limit`` with the last complete step's
    choice, which meets every SLA."""
    real = Problem.meets_slas

    def slow(self, choice):  # a large graph's SLA check, made long on a small one
        time.sleep(0.02)
        return real(self, choice)

    monkeypatch.setattr(Problem, "meets_slas", slow)
    limit = 0.3
    t0 = time.perf_counter()
    answer = fa2opt.solve(instance_from_dict(_chain()), "greedy", time_limit=limit)
    assert time.perf_counter() - t0 < limit + 1.5
    assert answer.status == "time_limit", (answer.status, answer.message)
    assert answer.has_decision  # fa2opt.solve verified it
    assert answer.lower_bound is not None and answer.lower_bound <= answer.cost


def test_greedy_takes_time_limit_from_the_cli(tmp_path: Path, capsys) -> None:
    path = tmp_path / "chain.json"
    path.write_text(json.dumps(_chain(4)))
    assert main(["solve", str(path), "-m", "greedy", "--time-limit", "30", "--json"]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert answer["status"] == "feasible"  # (the limit not reached: the climb's own end)
    assert answer["cost"] == fa2opt.solve(instance_from_dict(_chain(4)), "greedy").cost


def _layered(n: int, seed: int) -> dict:
    """A layered DAG (each node fed by two of the layer before): not series-parallel, so
    its decomposition stalls ~1.4 times per node."""
    import random

    rng, width = random.Random(seed), 6
    layers = [list(range(i, min(n, i + width))) for i in range(0, n, width)]
    edges = {(u, v) for a, b in zip(layers, layers[1:]) for v in b for u in rng.sample(a, 2)}
    rows = [{"batch": 1, "hardware": "cpu", "units": 1, "latency_ms": 10.0},
            {"batch": 4, "hardware": "cpu", "units": 1, "latency_ms": 25.0}]
    return {"sla_ms": 1000.0, "rate_rps": 50,
            "nodes": [{"name": f"n{i}", "configs": rows} for i in range(n)],
            "edges": [[f"n{u}", f"n{v}"] for u, v in sorted(edges)]}


@pytest.mark.parametrize("method", ["fa2", "fa2-grid"])
def test_the_decomposition_stops_at_the_time_limit(monkeypatch, method: str) -> None:
    """The series-parallel decomposition ran outside the deadline: on a 4,000-node non-SP DAG
    with 4 flows, fa2 --time-limit 0.5 answered after 11.5 s of solve_ms (fa2-grid 13 s, its
    two passes decomposing twice). It now stops at the grace past the limit, as a DP does,
    and answers the all-fastest choice with the relaxation's bound."""
    from fa2opt.deadline import dp_grace_s
    from fa2opt.reductions import sp_decompose

    sp_decompose.clear_cache()
    real = sp_decompose._JoinIndex.find

    def slow(self, *args):  # each of its ~80 stalls made long: a big graph's decomposition
        time.sleep(0.05)
        return real(self, *args)

    monkeypatch.setattr(sp_decompose._JoinIndex, "find", slow)
    limit = 0.2
    answer = fa2opt.solve(instance_from_dict(_layered(60, seed=1)), method,
                          time_limit=limit)
    assert answer.status == "time_limit", (answer.status, answer.message)
    assert "decomposition" in answer.message or "transformation" in answer.message
    # (before: ~80 stalls x 0.05 s = 4 s per decomposition; a margin for a loaded machine)
    assert answer.solve_ms / 1e3 < limit + dp_grace_s(limit) + 1.0, answer.solve_ms
    assert answer.has_decision  # the all-fastest choice, verified by fa2opt.solve
    assert answer.lower_bound is not None and answer.lower_bound <= answer.cost


@pytest.mark.parametrize("method", ["milp", "fa2", "fa2-grid", "greedy"])
def test_a_time_limit_past_the_range_is_refused_in_one_line(tmp_path: Path, capsys,
                                                            method: str) -> None:
    """``milp --time-limit 1e10`` ended in a traceback (OverflowError: the guard's wait on
    HiGHS's run overflows the platform's time_t past ~9e9 s). Every method now refuses a
    limit above 1e9 s (~32 years, as compare's --method-timeout) by name; 1e9 solves."""
    path = tmp_path / "chain.json"
    path.write_text(json.dumps(_chain(3)))
    assert main(["solve", str(path), "-m", method, "--time-limit", "1e10", "--json"]) == 2
    out = capsys.readouterr()
    assert out.out == "" and len(out.err.strip().splitlines()) == 1 and "--time-limit" in out.err
    assert main(["solve", str(path), "-m", method, "--time-limit", "1e9", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["status"] in ("optimal", "feasible")


def test_the_budget_search_checks_the_limit_before_each_dp(monkeypatch) -> None:
    """fa2's branch and bound over budgets checked its deadline only between subproblems, but
    one subproblem (its multiplier ascent, each budget's least-use choice) makes dozens of DP
    solves: capacity on a 2,000-node DAG answered after 8.4 s of a 1 s limit. It now stops
    before any DP solve past the deadline."""
    from fa2opt.fa2 import FA2Solver

    real, calls = FA2Solver.exact_base, []

    def slow(self, problem):  # a large graph's DP, made long on a small one
        calls.append(1)
        time.sleep(0.3)
        return real(self, problem)

    monkeypatch.setattr(FA2Solver, "exact_base", slow)
    doc = _chain(12)
    doc["capacity"] = {"cpu": 10}  # the plain optimum breaks it: a second DP is needed
    answer = fa2opt.solve(instance_from_dict(doc), "fa2", time_limit=0.1)
    assert answer.status == "time_limit", (answer.status, answer.extra)
    assert len(calls) == 1  # (before: 2 DP solves and ``optimal``, 0.6 s past 0.1 s)
    assert answer.lower_bound is not None


def test_the_root_lp_of_the_budget_search_runs_under_the_limit(monkeypatch) -> None:
    """The budget search's root LP (graphs of >= 50 nodes) ran HiGHS without a time limit:
    4.6 s past a 1 s limit on a 2,000-node DAG with capacity; stopped, it then asked HiGHS
    for a dual ray (25 s). HiGHS now gets the time left, only for the root (the deadline
    in force there: ``fa2opt.extensions.search.staged``, read by ``FlowLP._run``)."""
    from fa2opt.extensions import lp_search
    from fa2opt.reductions.flow_bound import FlowLP

    monkeypatch.setattr(lp_search, "LP_FIRST_NODES", 1)  # (the root LP on a small graph)
    monkeypatch.setattr(lp_search, "LP_MIN_NODES", 1)
    real, limits = FlowLP._run, []

    def record(self, *args, **kwargs):
        solved = real(self, *args, **kwargs)
        limits.append(self.lp.getOptionValue("time_limit")[1])  # (what that run had)
        return solved

    monkeypatch.setattr(FlowLP, "_run", record)
    doc = _chain(12)
    doc["capacity"] = {"cpu": 10}
    answer = fa2opt.solve(instance_from_dict(doc), "fa2", time_limit=30)
    assert answer.status in ("optimal", "time_limit"), (answer.status, answer.message)
    assert limits and 0 < limits[0] <= 30  # the root's run
    assert all(x == float("inf") for x in limits[1:])  # the search's own runs: as before


def test_milp_stops_building_its_model_at_the_time_limit(monkeypatch, capsys) -> None:
    """The MILP's build ignored the limit: 3,000 flows over 300 nodes took 31 s to build
    under ``--time-limit 0.5``. The finish-time rules now check the limit (a grace after
    it, here none), so the build stops and the answer is ``time_limit`` with the
    relaxation's lower bound, and no Pyomo error lines on stderr."""
    pytest.importorskip("pyomo")
    from formulations import solve as milp_solve

    rows = [{"batch": b, "hardware": "cpu", "units": 1, "latency_ms": 5.0 * b} for b in (1, 2, 4)]
    names = [f"n{i}" for i in range(60)]
    inst = instance_from_dict({
        "nodes": [{"name": v, "configs": rows} for v in names],
        "edges": [[names[i], names[j]] for i in range(60) for j in (i + 1, i + 2) if j < 60],
        "flows": [{"name": f"f{k}", "rate_rps": 5.0, "sla_ms": 600.0, "nodes": names}
                  for k in range(40)]})
    whole = fa2opt.solve(inst, "milp")  # without a limit nothing is checked
    assert whole.status == "optimal"
    monkeypatch.setattr(milp_solve, "dp_grace_s", lambda limit: 0.0, raising=False)
    a = fa2opt.solve(inst, "milp", time_limit=1e-4)
    assert a.status == "time_limit" and "while building the model" in a.message
    assert a.lower_bound is not None and a.lower_bound <= whole.cost
    # stopped part-way, before HiGHS was handed anything (a build run to its end went on to
    # solve_exactly, which found the limit past and answered with HiGHS's extras)
    assert "highs_ms" not in a.extra and a.extra["build_ms"] < whole.extra["build_ms"]
    assert "DPDeadline" not in capsys.readouterr().err
