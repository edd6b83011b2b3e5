"""The MILP's second solve (the other presolve setting) is capped (audit 16).

Small models, and models whose least finish-time coefficient is tiny, are solved with and
without HiGHS's presolve and the cheaper verified decision kept (``formulations.solve.
both_ways``). When that threshold caught generated graphs with short transfer latencies, the
uncapped second solve ran past 400 s on a 200-node, 8-flow instance the first had proven in
29 s. It may now take as long as everything before it (at least ``OTHER_MIN_S``), within the
time limit.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from fa2opt import Problem, solve, verify
from formulations import solve as milp_solve
from test_milp_edge import cut_off_without_presolve_instance, presolve_cut_off_instance


@pytest.fixture
def calls(monkeypatch):
    """Every solve_exactly call's (presolve, time_limit), the real solve run."""
    seen: list[tuple[str, float | None]] = []
    real = milp_solve.solve_exactly

    def spy(problem, form, model, threads, time_limit, extra, **kw):
        seen.append((kw.get("presolve", "choose"), time_limit))
        return real(problem, form, model, threads, time_limit, extra, **kw)

    monkeypatch.setattr(milp_solve, "solve_exactly", spy)
    return seen


@pytest.mark.parametrize("limit", [None, 30.0])
def test_the_second_solve_gets_a_capped_time_limit(calls, limit):
    inst = presolve_cut_off_instance()
    got = solve(inst, "milp", **({} if limit is None else {"time_limit": limit}))
    assert got.status == "optimal" and got.cost == 11.0 and got.extra["presolve_both"] is True
    assert len(calls) == 2 and calls[0][0] != calls[1][0]
    first_limit, second_limit = calls[0][1], calls[1][1]
    assert first_limit == limit
    # everything before the second solve took well under OTHER_MIN_S here
    assert second_limit is not None and second_limit <= milp_solve.OTHER_MIN_S + 1e-9
    assert verify(inst, got).ok


def test_a_stopped_second_solve_leaves_the_first_decision(monkeypatch):
    """The second solve stopped by its cap with nothing cheaper: the first solve's
    decision stands, marked ``presolve_both: "stopped"``."""
    inst = presolve_cut_off_instance()
    monkeypatch.setattr(milp_solve, "OTHER_MIN_S", 0.0)
    monkeypatch.setattr(milp_solve, "OTHER_SHARE", 0.0)
    first = {}
    real = milp_solve.solve_exactly

    def record(problem, form, model, threads, time_limit, extra, **kw):
        d = real(problem, form, model, threads, time_limit, extra, **kw)
        first.setdefault("cost", Problem.from_instance(inst).cost(d.choice))
        return d

    monkeypatch.setattr(milp_solve, "solve_exactly", record)
    got = solve(inst, "milp")
    assert got.extra["presolve_both"] == "stopped"
    assert got.cost == first["cost"] and verify(inst, got).ok


def test_a_cheaper_decision_of_a_stopped_second_solve_is_answered_feasible(monkeypatch):
    """The second solve stopped by its cap holding a cheaper decision that passes the
    rule: the first solve's optimum is disproven, so that decision is answered with status
    ``feasible`` (simulated: the real second solve's answer relabelled ``time_limit``)."""
    inst = cut_off_without_presolve_instance()
    real = milp_solve.solve_exactly
    count = [0]

    def second_stops(problem, form, model, threads, time_limit, extra, **kw):
        d = real(problem, form, model, threads, time_limit, extra, **kw)
        count[0] += 1
        if count[0] == 2:
            d.status, d.lower_bound = "time_limit", 5.0
        return d

    monkeypatch.setattr(milp_solve, "solve_exactly", second_stops)
    got = solve(inst, "milp")
    assert count[0] == 2
    assert got.status == "feasible" and got.cost == 22.0 and got.lower_bound == 5.0
    assert got.extra["presolve_both"] == "stopped" and verify(inst, got).ok


@pytest.mark.parametrize("binaries,coef,both", [
    (20, 1.6e-6, True),     # a small model (first solve without presolve): always both ways
    (20, 1.0, True),
    (600, 5e-6, False),     # a large generated graph's 0.01 ms transfer latency: solved once
    (600, 5e-7, True),      # below 1e-6: both ways whatever the size
])
def test_which_models_are_solved_both_ways(binaries, coef, both):
    model = SimpleNamespace(x=range(binaries), least_coef=coef)
    assert milp_solve.both_ways(model) is both
