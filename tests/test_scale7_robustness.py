"""Scale audit (scale7): large and structurally extreme instances through ``fa2opt solve``.

Each test reproduces one defect found by running the CLI on generated instances far beyond
the shipped data (chains of 10,000 nodes, fan-outs of 350, 100 flows, ...), on the smallest
instance that shows it."""

from __future__ import annotations

import dataclasses
import time

import fa2opt
from fa2opt.io import instance_from_dict
from fa2opt.problem import Problem
from fa2opt.solver import solver_class
from fa2opt.verify import verify


def _chain(n: int = 3) -> dict:
    return {"name": "chain", "rate_rps": 20, "sla_ms": 500.0,
            "nodes": [{"name": f"n{i}", "configs": [
                {"batch": 1, "hardware": "cpu", "units": 1, "latency_ms": 30.0},
                {"batch": 4, "hardware": "cpu", "units": 2, "latency_ms": 60.0}]}
                for i in range(n)],
            "edges": [[f"n{i}", f"n{i + 1}"] for i in range(n - 1)]}


def _slowed(monkeypatch, module, name: str, seconds: float) -> None:
    """``module.name`` made to sleep ``seconds`` before each call (a DP step made long)."""
    real = getattr(module, name)

    def slow(*args, **kwargs):
        time.sleep(seconds)
        return real(*args, **kwargs)

    monkeypatch.setattr(module, name, slow)


def test_milp_time_limit_counts_the_model_build() -> None:
    """The MILP's time limit started after the Pyomo build, so the build (1-3 s on a
    10,000-node chain) came on top of it: ``--time-limit 20`` answered after 22.7 s of
    solve_ms. A build that alone outlasts the limit now ends in ``time_limit``."""
    solver = solver_class("milp")(time_limit=0.2)
    form = solver.formulation

    def slow_build(problem: Problem):
        time.sleep(0.4)
        return form.build(problem)

    solver.formulation = dataclasses.replace(form, build=slow_build)
    problem = Problem.from_instance(instance_from_dict(_chain()))
    t0 = time.perf_counter()
    answer = solver.solve(problem)
    assert answer.status == "time_limit", (answer.status, answer.message)
    assert answer.lower_bound is not None
    assert time.perf_counter() - t0 < 2.0
    # without a limit the same solver finishes
    assert fa2opt.solve(instance_from_dict(_chain()), "milp").status == "optimal"


def test_fa2_grid_stops_inside_a_long_dp_at_the_time_limit(monkeypatch) -> None:
    """fa2-grid checked its time limit only between DPs, and one DP of a large flow runs for
    minutes (T² per (min,+) convolution): on a 100-node dense DAG (p = 0.3, 20,582 grid
    steps) ``--time-limit 5`` answered after 565 s. Each DP now stops part-way: here every
    convolution is slowed to 0.3 s, so one DP takes several seconds."""
    import numpy as np

    from fa2opt import kernels
    from fa2opt.deadline import dp_grace_s as grace_s
    from fa2opt.generate import dense_dag

    inst = dense_dag(np.random.default_rng(3), 16, 0.5)
    _slowed(monkeypatch, kernels, "minplus_conv", 0.3)
    limit = 0.2
    answer = fa2opt.solve(inst, "fa2-grid", time_limit=limit)
    assert answer.status == "time_limit", (answer.status, answer.message)
    # the deadline, the down pass's grace, and one convolution in flight at each (before:
    # the up pass's DP and the down pass's root DP ran whole, 24 convolutions, 7.5 s)
    # (a wide margin for a loaded CI machine: still half of the 7.5 s it took before)
    assert answer.solve_ms / 1e3 < limit + grace_s(limit) + 2 * 0.3 + 2.0, answer.solve_ms
    assert "up" in answer.extra["dp_stopped"]
    assert answer.has_decision  # the all-fastest choice (fa2opt.solve verified it)
    assert answer.lower_bound is not None and answer.lower_bound <= answer.cost


def test_tree_pass_raises_past_its_deadline() -> None:
    import numpy as np
    import pytest

    from fa2opt.grid.curves import CurveTables
    from fa2opt.deadline import DPDeadline, stop_at
    from fa2opt.grid.flow_dp import tree_pass
    from fa2opt.grid.rounding import latency_steps
    from fa2opt.reductions.sptree import Leaf, Parallel, Series

    tree = Series((Leaf("a"), Parallel((Series((Leaf("b"), Leaf("c"))), Leaf("d")))))
    lat = {v: np.asarray([[1.0, 2.0]]) for v in "abcd"}
    tabs = CurveTables(lat, {v: np.asarray([[2.0, 1.0]]) for v in "abcd"}, np)
    steps = {v: latency_steps(lat[v], 1.0, "up", np) for v in "abcd"}
    with pytest.raises(DPDeadline), stop_at(time.perf_counter() - 1):
        tree_pass(tree, tabs, steps, 1.0, "up", np.asarray([10]))
    with stop_at(time.perf_counter() + 60):
        cost, _ = tree_pass(tree, tabs, steps, 1.0, "up", np.asarray([10]))
    assert float(cost[0]) == 4.0
    assert float(tree_pass(tree, tabs, steps, 1.0, "up", np.asarray([10]))[0][0]) == 4.0


def test_milp_highs_run_gets_what_is_left_after_loading_the_model(monkeypatch) -> None:
    """Pyomo loads the model into HiGHS before HiGHS runs, and that took 2.4 s on 400 nodes
    and 100 flows: HiGHS's time limit, set from what was left before the loading, came on
    top of it (``--time-limit 0.5`` answered after 2.9 s, 2 after 5.1 s; an outside audit,
    2026-12-06). HiGHS's own limit is now what is left when its run starts. Here the
    loading is made to take 0.6 s of a 1 s limit."""
    import highspy
    from pyomo.contrib.solver.solvers.highs import Highs

    limit, loading = 1.0, 0.6
    _slowed(monkeypatch, Highs, "set_instance", loading)
    seen = []
    real = highspy.Highs.run
    monkeypatch.setattr(highspy.Highs, "run", lambda h: seen.append(
        h.getOptionValue("time_limit")[1]) or real(h))
    answer = fa2opt.solve(instance_from_dict(_chain(4)), "milp", time_limit=limit)
    assert answer.status == "optimal"
    assert seen and seen[0] <= limit - loading + 0.05, seen


def test_milp_loading_stops_at_the_time_limit(monkeypatch) -> None:
    """The loading itself looks at the deadline between chunks of constraints: made to take
    0.2 s a constraint here (one a chunk), a 0.5 s limit ends it with ``time_limit`` and the
    relaxation's bound, not after the whole model's 2-3 s."""
    from pyomo.contrib.solver.common.persistent import PersistentSolverUtils

    import formulations.solve as milp

    monkeypatch.setattr(milp, "LOAD_CHUNK", 1)
    _slowed(monkeypatch, PersistentSolverUtils, "add_constraints", 0.2)
    t0 = time.perf_counter()
    answer = fa2opt.solve(instance_from_dict(_chain(4)), "milp", time_limit=0.5)
    assert time.perf_counter() - t0 < 1.2
    assert answer.status == "time_limit" and answer.lower_bound is not None
    assert "while loading the model into HiGHS" in answer.message


def test_milp_abandons_a_highs_run_that_ignores_its_time_limit(monkeypatch, tmp_path, capsys) -> None:
    """HiGHS 1.16 spun inside HighsNodeQueue::link_estim past its own time limit, reaching no
    interrupt callback (a 1,000-node chain with capacity, accuracy and switch keys:
    ``--time-limit 20`` had not answered after 300 s). The run is now waited for at most its
    limit plus a grace and then abandoned: the answer is ``time_limit`` with the relaxation's
    bound, and the CLI's JSON still reaches stdout (Pyomo redirects the file descriptors
    while HiGHS runs). Here HiGHS's run is made to sleep past the grace."""
    import json

    import highspy

    from fa2opt.cli import main
    from formulations.solve import run_grace

    limit = 0.3
    _slowed(monkeypatch, highspy.Highs, "run", run_grace(limit) + 3.0)
    path = tmp_path / "chain.json"
    path.write_text(json.dumps(_chain(4)))
    t0 = time.perf_counter()
    assert main(["solve", str(path), "--method", "milp", "--time-limit", str(limit), "--json"]) == 0
    assert time.perf_counter() - t0 < limit + run_grace(limit) + 1.5
    answer = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert answer["status"] == "time_limit" and answer["highs_abandoned"] is True
    assert answer["lower_bound"] is not None and answer["cost"] is None
    monkeypatch.undo()
    # HiGHS still answers in the same process afterwards
    assert fa2opt.solve(instance_from_dict(_chain(4)), "milp", time_limit=30).status == "optimal"


def test_an_abandoned_highs_run_keeps_its_last_improving_solution(monkeypatch) -> None:
    """Audit 37: on a 1,000-node chain with accuracy and switch keys HiGHS had a solution at
    10 s and then spun; abandoned at 30 s, the answer held no decision (a longer limit gave a
    worse answer). The run's improving solutions are now kept as HiGHS reports them
    (``cbMipImprovingSolution``): here HiGHS solves, then its run is made to sleep past the
    grace; the answer is ``time_limit`` with HiGHS's solution (it passes the rule and
    ``verify``: the optimum here), and the relaxation's bound below it."""
    import highspy

    from formulations.solve import run_grace

    limit = 0.5
    real = highspy.Highs.run

    def solved_then_spins(h):
        status = real(h)
        time.sleep(run_grace(limit) + 3.0)
        return status

    inst = instance_from_dict(_chain(6))
    want = fa2opt.solve(inst, "milp", time_limit=30)
    monkeypatch.setattr(highspy.Highs, "run", solved_then_spins)
    answer = fa2opt.solve(inst, "milp", time_limit=limit)
    assert answer.status == "time_limit" and answer.extra["highs_abandoned"] is True
    assert "its last improving solution kept" in answer.message
    assert answer.has_decision and verify(inst, answer).ok
    assert answer.cost == want.cost and answer.lower_bound <= answer.cost


def test_milp_run_without_a_time_limit_is_not_threaded(monkeypatch) -> None:
    import threading

    import highspy

    seen = []
    run = highspy.Highs.run

    def spy(self):
        seen.append(threading.current_thread() is threading.main_thread())
        return run(self)

    monkeypatch.setattr(highspy.Highs, "run", spy)
    assert fa2opt.solve(instance_from_dict(_chain(3)), "milp").status == "optimal"
    # the solve asked for runs in the main thread; a small model's second solve (the other
    # presolve setting, formulations.solve.both_ways) has a capped time limit, so it is
    # guarded like any limited run
    assert len(seen) == 2 and seen[0] and not seen[1]


def _keen_chain(n: int = 40) -> dict:
    """A chain whose rows carry accuracies, with an accuracy weight of 1e6 (the rule that
    ``fa2opt generate --extensions`` uses to find the most accurate choice)."""
    import random

    rng = random.Random(0)
    return {"name": "keen", "rate_rps": 20, "sla_ms": n * 60.0,
            "accuracy": {"scale": 100, "weight": 1e6},
            "nodes": [{"name": f"n{i}", "configs": [
                {"batch": b, "hardware": "cpu", "units": u,
                 "latency_ms": round(rng.uniform(5, 60) * b ** 0.5 / u ** 0.5, 3),
                 "accuracy": round(rng.uniform(70, 99), 2)}
                for b in (1, 2, 4) for u in (1, 2)]} for i in range(n)],
            "edges": [[f"n{i}", f"n{i + 1}"] for i in range(n - 1)]}


def test_fa2_stops_inside_a_long_pareto_dp_at_the_time_limit(monkeypatch) -> None:
    """fa2 checked its time limit only between DPs. With an accuracy weight the objective is
    real-valued and a long chain's Pareto fronts grow past 10^5 points: on a 6,207-node
    chain (``fa2opt generate --suite long-chain``, weight 1e6) ``--time-limit 20`` ran 53 s
    and ended in 'ran out of memory' (exit 2). The DP now stops a grace after the limit and
    the answer is ``time_limit`` with the all-fastest choice. Here each series step of the
    DP is slowed to 0.1 s."""
    from fa2opt import pareto
    from fa2opt.deadline import dp_grace_s as grace_s

    _slowed(monkeypatch, pareto, "series", 0.1)
    limit = 0.3
    inst = instance_from_dict(_keen_chain())
    answer = fa2opt.solve(inst, "fa2", time_limit=limit)
    assert answer.status == "time_limit", (answer.status, answer.message)
    # (a margin for a loaded CI machine; the whole DP takes >= 3.9 s here)
    assert answer.solve_ms / 1e3 < limit + grace_s(limit) + 1.2, answer.solve_ms
    assert answer.has_decision and answer.objective is not None  # the all-fastest choice
    assert answer.lower_bound is not None and answer.lower_bound <= answer.objective
    monkeypatch.undo()
    best = fa2opt.solve(inst, "fa2")
    assert best.status == "optimal" and answer.lower_bound <= best.objective <= answer.objective


def test_dp_deadline_is_scoped() -> None:
    import pytest

    from fa2opt.deadline import DPDeadline, check, checker, stop_at

    assert checker() is None  # no deadline: the trampolines check nothing
    with stop_at(time.perf_counter() - 1.0):
        with pytest.raises(DPDeadline):
            check()
        with pytest.raises(DPDeadline):
            checker()()
        with stop_at(None):
            check()  # an inner block without a deadline
    check()  # none outside


def test_a_command_out_of_memory_is_one_line_and_exit_2(monkeypatch, tmp_path, capsys) -> None:
    """``fa2opt generate --suite long-chain --extensions combined`` grew fa2's fronts until
    a MemoryError traceback (8 GB limit, scale7 audit). Any command now ends in one line."""
    from fa2opt.cli import main
    from fa2opt.generate import cli as generate_cli

    def exhausted(*args, **kwargs):
        raise MemoryError

    monkeypatch.setattr(generate_cli, "write_suite", exhausted)
    assert main(["generate", "--suite", "chain", "--count", "1", "--out",
                 str(tmp_path / "g")]) == 2
    assert capsys.readouterr().err == "fa2opt generate: ran out of memory\n"
