"""The work between DPs stops at the stage deadline (:func:`fa2opt.deadline.check_stage`).

On 3,000 flows sharing a 300-node graph, ``fa2 --time-limit 0.5`` answered after 15 s of
``solve_ms``: the decompositions of 3,000 flows, the search LP's layout and the incumbent's
valuation ran unchecked (the DP grace covered only single DPs). fa2 now sets its stage
deadline at the limit itself; these tests check that stages stop there *without doing the
work* (a deadline already past), so they do not depend on this machine's speed."""

from __future__ import annotations

import time

import numpy as np
import pytest

import fa2opt
from fa2opt import plan as plan_module
from fa2opt.dag_batch import DagStructure
from fa2opt.deadline import DPDeadline, check_stage, stop_at
from fa2opt.generate import many_flows, shared_flows
from fa2opt.problem import Problem
from fa2opt.reductions import clear_cache
from fa2opt.reductions.flow_bound import _Layout

from test_flow_bound import decoupled  # noqa: E402  (tests/test_flow_bound.py)


def _shared() -> Problem:
    return Problem.from_instance(shared_flows(np.random.default_rng(4), 60, 30))


def test_check_stage_reads_the_stage_deadline_else_the_dp_one() -> None:
    check_stage()  # nothing in force: nothing checked
    now = time.perf_counter()
    with stop_at(now + 60, stages=now - 1):
        with pytest.raises(DPDeadline):
            check_stage()
    with stop_at(now - 1):  # no stage deadline: the DP deadline
        with pytest.raises(DPDeadline):
            check_stage()
    with stop_at(now + 60):
        check_stage()
        with stop_at(None):  # an inner block without a deadline checks nothing
            check_stage()


def test_the_set_up_stages_stop_before_any_flow(monkeypatch) -> None:
    """Past the stage deadline (the DP deadline far ahead), the plan's compilation, the LP's
    layout and the batch structure raise before their first flow."""
    problem = _shared()
    seen: list[str] = []
    real = plan_module.flow_decomposition
    monkeypatch.setattr(plan_module, "flow_decomposition",
                        lambda g, cache=True: seen.append(g.name) or real(g, cache))
    now = time.perf_counter()
    for stage in (lambda: plan_module.compile_plan(tuple(problem.tables), problem.flows, False),
                  lambda: _Layout(problem.flows),
                  lambda: DagStructure.from_problem(problem)):
        with stop_at(now + 60, stages=now - 1), pytest.raises(DPDeadline):
            stage()
    assert seen == []
    with stop_at(now + 60, stages=now + 60):  # (and they run before it)
        plan_module.compile_plan(tuple(problem.tables), problem.flows, False)
    assert len(seen) == len(problem.flows)


def test_fa2_past_a_tiny_limit_answers_at_once_without_compiling(monkeypatch) -> None:
    """A limit that has passed when the pruning ends: ``time_limit`` at once, no flow
    decomposed, the all-fastest choice as the incumbent (verified by ``fa2opt.solve``) and
    the relaxation's lower bound."""
    assert not plan_module.compiled_path(fa2opt.get_solver("fa2").arithmetic)
    _past_a_tiny_limit(monkeypatch)


@pytest.mark.compiled
def test_fa2_past_a_tiny_limit_stops_before_the_transformation(monkeypatch) -> None:
    """The same where the compiled tree DP decides first (no pruning pass before the plan):
    the transformation stops before its first flow."""
    from fa2opt import cpu_kernels

    if not cpu_kernels.available():
        pytest.skip("the compiled kernels do not run here")
    assert plan_module.compiled_path(fa2opt.get_solver("fa2").arithmetic)
    _past_a_tiny_limit(monkeypatch)


def _past_a_tiny_limit(monkeypatch) -> None:
    problem = _shared()
    clear_cache()
    seen: list[str] = []
    real = plan_module.flow_decomposition
    monkeypatch.setattr(plan_module, "flow_decomposition",
                        lambda g, cache=True: seen.append(g.name) or real(g, cache))
    answer = fa2opt.solve(problem, "fa2", time_limit=1e-9)
    assert answer.status == "time_limit", (answer.status, answer.message)
    assert seen == []
    assert "transformation" in answer.message
    assert answer.has_decision and answer.cost == problem.cost(problem.fastest_choice())
    assert answer.lower_bound is not None and answer.lower_bound <= answer.cost
    best = fa2opt.solve(problem, "fa2")  # (and without a limit the optimum, above the bound)
    assert best.status == "optimal" and answer.lower_bound <= best.cost <= answer.cost


def test_the_lp_search_stops_inside_a_node_past_its_deadline(monkeypatch) -> None:
    """A search node of a large component runs its LP, cut rounds, roundings (each a pass
    over every flow per move) and strong branching: 0.4-0.8 s past a 0.5 s limit on 300 to
    1,000 flows. The node now checks the deadline before its primal heuristics and before
    its branching: here its LP ends past the deadline (slowed), so only the LP's rounding
    runs (the incumbent, there being none yet), and the answer keeps the node's bound."""
    from fa2opt.reductions import flow_bound

    problem = Problem.from_instance(many_flows(np.random.default_rng(2), 4, 4, 20))
    limit = 0.3
    real, calls = flow_bound.FlowLP.solve, []

    def slow(self, *args, **kwargs):  # the root LP ends past the deadline
        out = real(self, *args, **kwargs)
        if not calls:
            time.sleep(limit + 0.05)
        calls.append(1)
        return out

    after: list[str] = []
    monkeypatch.setattr(flow_bound.FlowLP, "solve", slow)
    for name in ("branch", "improve", "fill"):
        real_step = getattr(flow_bound.LPSearch, name)
        monkeypatch.setattr(flow_bound.LPSearch, name,
                            lambda *a, _n=name, _f=real_step, **k: after.append(_n) or _f(*a, **k))
    answer = fa2opt.solve(problem, "fa2", time_limit=limit)
    assert answer.status == "time_limit", (answer.status, answer.message)
    assert "coupling-node search" in answer.message and len(calls) == 1
    # no incumbent yet: the LP's rounding becomes one (its fill stops at once); no branching
    assert after == ["fill"]
    assert answer.has_decision  # (verified)
    assert answer.lower_bound is not None and answer.lower_bound <= answer.cost
    monkeypatch.undo()
    best = fa2opt.solve(problem, "fa2")
    assert best.status == "optimal" and answer.lower_bound <= best.cost <= answer.cost


@pytest.mark.slow
def test_fa2_on_many_flows_sharing_a_graph_answers_near_its_limit() -> None:
    """End to end, with a wide margin for a loaded machine: 300 flows sharing most of a
    1,000-node graph (``fa2 --time-limit 0.5``: 4.4 s of solve_ms and 1.8 s of
    verification before; now about the limit and 0.1 s)."""
    from fa2opt.deadline import dp_grace_s

    problem = Problem.from_instance(shared_flows(np.random.default_rng(7), 1000, 300))
    limit = 0.5
    t0 = time.perf_counter()
    answer = fa2opt.solve(problem, "fa2", time_limit=limit)  # (verified)
    elapsed = time.perf_counter() - t0
    assert answer.status == "time_limit", (answer.status, answer.message)
    assert answer.has_decision
    assert answer.lower_bound is not None and answer.lower_bound <= answer.cost
    assert answer.solve_ms / 1e3 < limit + dp_grace_s(limit) + 1.5, answer.solve_ms
    assert elapsed < limit + dp_grace_s(limit) + 2.5, elapsed


def _fan(n: int) -> tuple[list[str], dict[str, tuple]]:
    """n parallel nodes after a root (a series-parallel fan: no stall in its decomposition)."""
    nodes = ["root"] + [f"v{i}" for i in range(n)]
    return nodes, {"root": (), **{v: (("root", 0.0),) for v in nodes[1:]}}


def test_a_series_parallel_decomposition_stops_at_the_stage_deadline() -> None:
    """The decomposition's series reductions check the stage deadline too (every 4,096
    steps), not only its stalls: a 100,000-node fan ran a minute past ``--time-limit 5``."""
    from fa2opt.reductions.sp_decompose import decompose
    nodes, preds = _fan(10_000)
    decompose(nodes, preds)  # nothing in force: decomposed
    now = time.perf_counter()
    with stop_at(now + 60, stages=now - 1):
        with pytest.raises(DPDeadline):
            decompose(nodes, preds)


def test_a_search_stopped_without_an_incumbent_values_nothing_past_the_dp_deadline() -> None:
    """At its deadline without an incumbent a search values the coupling nodes at their
    fastest (a DP per flow: 100 flows over a 3,000-node pool took 2 s past a 3 s limit);
    past the DPs' deadline (the limit and its grace) it answers every node's fastest row
    instead, valuing nothing."""
    from fa2opt.pareto import pareto_remainder
    from fa2opt.reductions.search import _Exact

    _, dp = decoupled(_shared().instance)
    assert dp.coupling
    late = _Exact(dp, pareto_remainder)
    with stop_at(time.perf_counter() - 1.0):
        r = late.result(0, 0, timed_out=True, lower_bound=0.0)
    assert late.solves == 0 and r.timed_out and r.lower_bound == 0.0
    assert set(r.choice.values()) == {0}
    assert r.cost == sum(dp.candidates[v].cost[0] for v in r.choice)
    valued = _Exact(dp, pareto_remainder)
    with stop_at(time.perf_counter() + 600.0):
        v = valued.result(0, 0, timed_out=True, lower_bound=0.0)
    assert valued.solves > 0 and v.cost <= r.cost
    assert all(v.choice[w] == 0 for w in dp.coupling)


def test_the_local_search_evaluates_nothing_past_the_dp_deadline(monkeypatch) -> None:
    """The local search from an incumbent evaluates its moves in blocks, the DPs' deadline
    checked before each: one round of 20,000 moves over 1,000 flows took a second past a
    3 s limit and its grace. Past the deadline it evaluates no move and values nothing;
    without one, the same search evaluates its moves."""
    from fa2opt.pareto import pareto_remainder
    from fa2opt.reductions import flow_bound

    _, dp = decoupled(many_flows(np.random.default_rng(2), 4, 4, 20))
    s = flow_bound.LPSearch(dp, [f.graph for f in dp.flows], pareto_remainder, None)
    assert s.exact.value({w: 0 for w in s.coupling}) is not None  # an incumbent
    calls: list[int] = []
    for name in ("evaluate_fixings", "evaluate_fixings_numpy"):
        real = getattr(flow_bound, name)
        monkeypatch.setattr(flow_bound, name,
                            lambda *a, _f=real, **k: calls.append(1) or _f(*a, **k))
    solves, best = s.exact.solves, s.exact.best
    with stop_at(time.perf_counter() - 1.0):
        s.improve()
    assert calls == [] and (s.exact.solves, s.exact.best) == (solves, best)
    s.improve()
    assert calls and s.exact.best <= best


def test_a_dp_past_the_dp_deadline_inside_the_lp_search_keeps_its_incumbent(monkeypatch) -> None:
    """A DP that passes the DPs' deadline inside the LP search (the copy split's, on a
    227-node graph of two flows at a 5 s limit) raised through the whole decision, which
    then answered the all-fastest choice (2,085 against an incumbent of ~1,419) and the
    relaxation's bound. The search now stops there as at its own deadline: its incumbent,
    its root's bound. Here the local search after the first incumbent raises it."""
    from fa2opt.reductions import flow_bound

    problem = Problem.from_instance(many_flows(np.random.default_rng(2), 4, 4, 20))
    best = fa2opt.solve(problem, "fa2")
    raised: list[float] = []

    def late(self, *args, **kwargs):
        raised.append(self.exact.best)
        raise DPDeadline

    monkeypatch.setattr(flow_bound, "LOCAL_SEARCH_MIN", 1)
    monkeypatch.setattr(flow_bound.LPSearch, "improve", late)
    answer = fa2opt.solve(problem, "fa2", time_limit=600)
    assert raised, "the local search was not reached"
    assert answer.status == "time_limit", (answer.status, answer.message)
    assert answer.message.startswith("coupling-node search stopped"), answer.message
    assert answer.cost == raised[0]  # (verified by solve)
    assert answer.lower_bound is not None and answer.lower_bound <= best.cost <= answer.cost


def test_the_pareto_bound_and_the_copy_split_set_up_stop_at_their_deadlines() -> None:
    """What ran unchecked: before a Python DP's first step the root bound's caps, hulls and
    greedy choice (``pareto._Context.root_bound``), the series folds of the DP's hot path
    (``_series_front``: a 179-node graph's DP ran 100 s past its deadline) and the copy
    split's leaf aliases (``sptree.split_leaves``, a tree unfolded per place): a 227-node
    graph's copy split answered 29 s after a 5 s limit. Each now stops at its deadline
    (here already past)."""
    from fa2opt import pareto
    from fa2opt.pareto_bound import greedy_choice
    from fa2opt.reductions.sptree import split_leaves

    _, dp = decoupled(many_flows(np.random.default_rng(2), 4, 4, 20))
    flow = dp.flows[0]
    ctx = pareto._Context(flow.tree, dp.candidates, None, None)
    assert ctx.root_bound(flow.tree, flow.budget_ms) is not None  # (no deadline: a bound)
    now = time.perf_counter()
    with stop_at(now - 1.0), pytest.raises(DPDeadline):
        pareto._Context(flow.tree, dp.candidates, None, None).root_bound(flow.tree,
                                                                         flow.budget_ms)
    with stop_at(now - 1.0), pytest.raises(DPDeadline):  # a series' fold (the hot path's)
        pareto._Context(flow.tree, dp.candidates, None, None).front(flow.tree, flow.budget_ms)
    with stop_at(now + 60, stages=now - 1.0), pytest.raises(DPDeadline):
        split_leaves(flow.tree, set(dp.coupling))
    with stop_at(now - 1.0), pytest.raises(DPDeadline):
        greedy_choice(flow.tree, flow.budget_ms, lambda t: None, lambda t: None,
                      lambda t: True, check_stage)
