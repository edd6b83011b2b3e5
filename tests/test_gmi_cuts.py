"""GMI cuts (4) of the flow LP and the general Lagrangian bound (5) (fa2opt.reductions.flow_cuts
.gmi_cuts, FlowLP.lagrange_weights): every cut, of every round (rank ≥ 2 included), holds at
every choice that meets the SLAs by the spec's rule (enumerated) with its earliest finish
times; the bound (5) at the LP's duals equals the LP's value and at any multipliers stays
below brute force's optimum; fa2 with GMI rounds at the root, or mid-search when a smaller
component's search stalls (``GMI_STALLED``, on top of covers too, under every queueing model
and utilisation cap), equals brute force and the MILP."""

from __future__ import annotations

import random
import sys

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import fa2opt
from fa2opt.reductions import flow_cuts
from fa2opt.reductions.flow_bound import FlowLP, LPSearch
from fa2opt.pareto import pareto_remainder

from test_fa2 import HAVE_MILP, check_against, random_dag_instance  # noqa: E402  (tests/test_fa2.py)
from test_flow_bound import decoupled, drawn_instance, two_flow_instance  # noqa: E402
from test_flow_cuts import _enumerable_search, _feasible_choices  # noqa: E402

SEARCH = sys.modules["fa2opt.reductions.search"]
FB = sys.modules["fa2opt.reductions.flow_bound"]


def _point(lp: FlowLP, cols: np.ndarray) -> np.ndarray:
    """The LP's column vector of a choice (one λ column per node, in any order): λ its
    indicator, each finish time T_{f,v} the earliest (the longest path ending at v, in
    topological order; the LP has the columns of the slots ``t_slot``)."""
    # each node's columns are one range, in the LP's node order: sorting the choice's columns
    # puts them in that order (``slot_node`` indexes it), whatever order the caller's nodes had
    cols = np.sort(cols)
    x = np.zeros(lp.n_col)
    x[cols] = 1.0
    L = lp.lat[cols][lp.slot_node]
    T = np.zeros(L.size)
    for s, ins in enumerate(lp.ins):
        T[s] = max((T[u] + d for u, d in ins), default=0.0) + L[s]
    x[lp.n_lam:] = T[lp.t_slot]
    return x


def _rounds(s, rounds: int = 4) -> list[tuple[np.ndarray, np.ndarray, float]]:
    """``rounds`` GMI rounds at the root LP ``s.lp`` of an :class:`LPSearch` or of the
    extensions' ``BudgetLP`` (every row at bound 1; each round's cuts added, the LP solved
    again): every cut found, in order."""
    lp = s.lp
    ub = np.ones(lp.n_lam)
    found = []
    if lp.solve(ub) is None:
        return found
    for _ in range(rounds):
        cuts = flow_cuts.gmi_cuts(lp.lp, lp.n_lam, lp.t_cap)
        if not cuts:
            break
        found += cuts
        lp.add_general_cuts(cuts)
        if lp.solve(ub) is None:
            break
    return found


def _assert_rounds_hold(dp, s: LPSearch) -> None:
    """Every cut of :func:`_rounds` on ``s`` holds at every enumerated feasible choice (with
    its earliest finish times)."""
    feasible = [_point(s.lp, c) for c in _feasible_choices(dp, s.lp)]
    for idx, coef, rhs in _rounds(s):
        for x in feasible:
            lhs = float(coef @ x[idx])
            assert lhs >= rhs - 1e-9 * max(1.0, abs(rhs)), (lhs, rhs)


def _generated_equal_the_milp(cases: list[tuple[str, tuple]], settings_: list[dict]) -> None:
    """fa2 = the MILP (60 s each) on instances 0-2 of each generated family at each size, under
    each of ``settings_`` (``dataclasses.replace`` of the instance: queueing, utilisation cap;
    ``{}``: as generated)."""
    from dataclasses import replace
    from fa2opt.generate import FAMILIES
    from fa2opt.verify import matches

    for seed in range(3):
        for family, size in cases:
            base = FAMILIES[family].generator(np.random.default_rng(seed), *size)
            for extra in settings_:
                inst = replace(base, **extra)
                got = fa2opt.solve(inst, "fa2", time_limit=60)
                want = fa2opt.solve(inst, "milp", time_limit=60)
                assert got.status == want.status and matches(got, want), (family, size, seed, extra)


def _instances(seed: int, count: int):
    rng = random.Random(seed)
    for _ in range(count):
        inst = two_flow_instance(rng) if rng.random() < 0.4 else random_dag_instance(
            rng, rng.randint(4, 7), 3, rng.uniform(0.35, 0.8))
        _, dp = decoupled(inst)
        if any(not c.positions for c in dp.candidates.values()):
            continue
        yield inst, dp


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10**6), shared=st.booleans())
def test_every_gmi_cut_holds_for_every_feasible_choice(seed, shared):
    got = _enumerable_search(drawn_instance(seed, shared, max_nodes=7))
    if got is not None:
        _assert_rounds_hold(*got)


def test_gmi_cuts_are_found_and_raise_the_lp_and_the_bound_stays_below_the_optimum():
    """Cuts are found and raise the LP on small instances (so the test above can fail); with
    them in, (5) at the LP's duals equals the LP's value, and at noisy multipliers (any sign
    on any row: clipped) it stays below brute force's optimum, as does the LP's value."""
    found = raised = checked = 0
    for inst, dp in _instances(3, 60):
        s = LPSearch(dp, [f.graph for f in dp.flows], pareto_remainder, None)
        ub = np.ones(s.lp.n_lam)
        if s.lp.solve(ub) is None:
            continue
        before = s.lp.value
        cuts = _rounds(s)
        sol = s.lp.solve(ub)
        if not cuts or sol is None:
            continue
        opt = fa2opt.solve(inst, "brute-force")
        found += 1
        raised += s.lp.value > before + 1e-6
        y = s.lp.flow_weights(sol[1])  # (5): GMI cuts are in
        assert y[2] is None and s.lp.general
        assert s.lp.bound_at(y, ub)[0] == pytest.approx(s.lp.value, rel=1e-7, abs=1e-6)
        assert s.lp.value <= opt.cost * (1 + 1e-9)
        nprng = np.random.default_rng(found)
        for _ in range(5):
            noisy = sol[1] * nprng.uniform(0, 3, sol[1].size) + nprng.normal(0, 0.5, sol[1].size)
            assert s.lp.bound_at(s.lp.flow_weights(noisy), ub)[0] <= opt.cost * (1 + 1e-12)
            checked += 1
    assert found >= 10 and raised >= 5 and checked >= 50


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10**6), shared=st.booleans())
def test_fa2_with_gmi_cuts_at_the_root_equals_brute_force(seed, shared):
    inst = drawn_instance(seed, shared)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(SEARCH, "FLOW_MIN_COUPLING", 1)
        mp.setattr(SEARCH, "FIXING_MAX_SPACE", 0)  # the search itself, not the fixing DP
        mp.setattr(FB, "CUTS", "gmi")
        mp.setattr(FB, "GMI_MIN_COUPLING", 1)
        mp.setattr(FB, "CUT_FIRST_GMI", 1)
        mp.setattr(FB, "PLUNGE_EVERY", 2)  # dives from every other node popped
        check_against(inst)


def test_fa2_with_gmi_cuts_on_generated_graphs_equals_the_milp(monkeypatch):
    """Generated lattices, random and dense DAGs and series-parallel graphs with edge
    latencies (searches of several nodes after the cuts): fa2 = the MILP on every one."""
    monkeypatch.setattr(SEARCH, "FLOW_MIN_COUPLING", 1)
    monkeypatch.setattr(SEARCH, "FIXING_MAX_SPACE", 0)  # the search itself, not the fixing DP
    monkeypatch.setattr(FB, "CUTS", "gmi")
    monkeypatch.setattr(FB, "GMI_MIN_COUPLING", 1)
    monkeypatch.setattr(FB, "PLUNGE_EVERY", 3)
    _generated_equal_the_milp([("lattice", (4, 4)), ("lattice", (3, 6)), ("random", (20,)),
                               ("dense", (10, 0.3)), ("vsp", (30,))], [{}])


def test_a_gmi_search_stopped_by_the_deadline_keeps_a_valid_lower_bound(monkeypatch):
    """Searches with GMI cuts, reliability 4 and plunges on generated graphs, stopped after a
    few nodes (the deadline passes once ``stop_after`` nodes are explored, so a dive may be
    under way): ``timed_out`` with a lower bound not above the MILP's optimum and a cost not
    below it."""
    import time as _time
    from fa2opt.generate import FAMILIES

    monkeypatch.setattr(FB, "GMI_MIN_COUPLING", 1)
    monkeypatch.setattr(FB, "PLUNGE_EVERY", 2)
    stopped = 0
    cases = [("lattice", (5, 5)), ("random", (30,)), ("vsp", (40,)), ("lattice", (4, 6))]
    for seed in range(6):
        for family, size in cases:
            inst = FAMILIES[family].generator(np.random.default_rng(seed), *size)
            _, dp = decoupled(inst)
            if len(dp.flows) != 1 or dp.free or len(dp.coupling) < 2:
                continue
            s = LPSearch(dp, [f.graph for f in dp.flows], pareto_remainder, None)
            stop_after = 2 + (seed % 3)
            real = s.propagate

            def propagate(masks, s=s, real=real, stop_after=stop_after):
                if s.explored >= stop_after:
                    s.deadline = _time.perf_counter() - 1.0  # checked at the next pop
                return real(masks)

            s.propagate = propagate
            res = s.run()
            if res is None or not res.timed_out:
                continue
            stopped += 1
            opt = fa2opt.solve(inst, "milp", time_limit=60)
            assert opt.status == "optimal"
            assert res.lower_bound <= opt.cost * (1 + 1e-9) + 1e-9, (family, seed, res.lower_bound)
            assert res.cost >= opt.cost * (1 - 1e-9) - 1e-9
    assert stopped >= 4


# the stall trigger (flow_bound.GMI_STALLED): GMI rounds mid-search in components below
# GMI_MIN_COUPLING, under every queueing model and utilisation cap of the spec


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10**6), shared=st.booleans(),
       queueing=st.sampled_from(("batch-fill", "none", "worst-case")), rho=st.sampled_from((1.0, 0.9, 0.6)))
def test_gmi_cuts_on_top_of_cover_cuts_hold_for_every_feasible_choice(seed, shared, queueing, rho):
    """At a stall after covers (3) were separated, the GMI rounds read a tableau with the
    cover rows in (their slacks continuous): every cut of those rounds holds at every
    enumerated feasible choice with its earliest finish times."""
    from dataclasses import replace

    inst = replace(drawn_instance(seed, shared, max_nodes=7), queueing=queueing, max_utilization=rho)
    got = _enumerable_search(inst)
    if got is None:
        return
    dp, s = got
    every = np.ones(s.lp.n_lam)
    if s.separate(every, s.lp.solve(every)) is None:  # covers (the search's first cut family)
        return
    _assert_rounds_hold(dp, s)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10**6), shared=st.booleans(), stacked=st.booleans(),
       queueing=st.sampled_from(("batch-fill", "none", "worst-case")), rho=st.sampled_from((1.0, 0.9, 0.6)))
def test_fa2_with_gmi_rounds_at_a_stall_equals_brute_force(seed, shared, stacked, queueing, rho):
    """The GMI trigger forced at the 2nd search node of a small one-flow component (about one
    drawn instance in ten searches past it with open nodes; with two flows it fires only
    where the bound is flat, never at the 2nd node, and the search is the covers' one; ``stacked``: covers
    forced at the 2nd node by the stall rule, GMI at the 3rd on top of them): the rounds are
    separated mid-search at the root's LP, the open nodes re-keyed by (5) and those reaching
    the incumbent dropped; fa2 still equals brute force under each queueing model and
    utilisation cap."""
    from dataclasses import replace

    inst = replace(drawn_instance(seed, shared), queueing=queueing, max_utilization=rho)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(SEARCH, "FLOW_MIN_COUPLING", 1)
        mp.setattr(SEARCH, "FIXING_MAX_SPACE", 0)  # the search itself, not the fixing DP
        mp.setattr(FB, "GMI_STALLED", 3 if stacked else 2)
        if stacked:
            mp.setattr(FB, "CUT_EARLY", 2)
            mp.setattr(FB, "CUT_STALL", 1.0)
        check_against(inst)


def test_gmi_rounds_at_a_stall_on_generated_graphs_equal_the_milp(monkeypatch):
    """Generated lattices, random DAGs and series-parallel graphs with edge latencies under
    worst-case queueing and a 0.6 utilisation cap, the GMI trigger at the 2nd search node:
    the rounds run mid-search with open nodes to re-key (so the test can fail), and fa2 = the
    MILP on every instance."""
    fired = []
    real = FB.LPSearch.rekey
    monkeypatch.setattr(FB.LPSearch, "rekey", lambda self, heap, sol: fired.append(
        (self.cuts, len(heap))) or real(self, heap, sol))
    monkeypatch.setattr(SEARCH, "FLOW_MIN_COUPLING", 1)
    monkeypatch.setattr(SEARCH, "FIXING_MAX_SPACE", 0)  # the search itself, not the fixing DP
    monkeypatch.setattr(FB, "GMI_STALLED", 2)
    _generated_equal_the_milp([("lattice", (4, 4)), ("random", (20,)), ("vsp", (30,)),
                               ("dense", (10, 0.3))],
                              [{"queueing": "worst-case"}, {"max_utilization": 0.6}])
    assert sum(cuts == "gmi" and n > 0 for cuts, n in fired) >= 3


def test_gmi_rounds_at_a_flat_bound_with_several_flows_equal_the_milp(monkeypatch):
    """Components of several flows get the rounds where the search's bound is flat
    (``GMI_FLAT``); forced here (the trigger at the 4th node, every bound counted as flat) on
    generated shared-flow graphs under each queueing model and a 0.6 cap: the rounds run with
    several flows and open nodes to re-key, switching off the one-flow-exact bound (2)
    where it was kept, and fa2 = the MILP on every instance (so re-keying wrongly, or
    keeping (2) at (5)'s multipliers, can fail it)."""
    fired = []
    real = FB.LPSearch.rekey
    monkeypatch.setattr(FB.LPSearch, "rekey", lambda self, heap, sol: fired.append(
        (self.cuts, len(self.lp.flows), len(heap), self.dpb.kept)) or real(self, heap, sol))
    monkeypatch.setattr(SEARCH, "FLOW_MIN_COUPLING", 1)
    monkeypatch.setattr(SEARCH, "FIXING_MAX_SPACE", 0)  # the search itself, not the fixing DP
    monkeypatch.setattr(FB, "GMI_STALLED_SEVERAL", 4)
    monkeypatch.setattr(FB, "GMI_FLAT", float("inf"))
    _generated_equal_the_milp([("shared", (12, 3)), ("shared-large", (30, 3)),
                               ("shared-large", (40, 4))],
                              [{}, {"queueing": "worst-case"}, {"max_utilization": 0.6}])
    several = [f for f in fired if f[0] == "gmi" and f[1] > 1 and f[2] > 0]
    assert len(several) >= 3, fired
    assert all(kept is None for *_, kept in several)


def test_gmi_rounds_in_a_long_several_flow_search_equal_the_milp(monkeypatch):
    """A several-flow search still open at a doubling of ``GMI_LONG`` nodes or more gets the
    rounds whether or not its bound is flat (``GMI_FLAT``): forced here (``GMI_LONG`` at the
    4th node, no bound counted as flat, so only the long-search rule can fire them) on the
    generated shared-flow graphs of the test above; fa2 = the MILP on every instance and the
    rounds ran with several flows and open nodes."""
    fired = []
    real = FB.LPSearch.rekey
    monkeypatch.setattr(FB.LPSearch, "rekey", lambda self, heap, sol: fired.append(
        (self.cuts, len(self.lp.flows), len(heap), self.dpb.kept)) or real(self, heap, sol))
    monkeypatch.setattr(SEARCH, "FLOW_MIN_COUPLING", 1)
    monkeypatch.setattr(SEARCH, "FIXING_MAX_SPACE", 0)
    monkeypatch.setattr(FB, "GMI_STALLED_SEVERAL", 4)
    monkeypatch.setattr(FB, "GMI_FLAT", 0.0)
    monkeypatch.setattr(FB, "GMI_LONG", 4)
    _generated_equal_the_milp([("shared", (12, 3)), ("shared-large", (30, 3)),
                               ("shared-large", (40, 4))],
                              [{}, {"queueing": "worst-case"}, {"max_utilization": 0.6}])
    several = [f for f in fired if f[0] == "gmi" and f[1] > 1 and f[2] > 0]
    assert len(several) >= 3, fired


def _cut_rounds(monkeypatch) -> list[tuple[int, str, bool]]:
    """Every separation at the root's LP from now on: (search node, cut family, trial)."""
    fired = []
    real = FB.LPSearch.cut_root
    monkeypatch.setattr(FB.LPSearch, "cut_root", lambda self, heap, trial=False: fired.append(
        (self.explored, self.cuts, trial)) or real(self, heap, trial))
    return fired


def _after_64_covers_first(fired: list[tuple[int, str, bool]]) -> bool:
    """GMI rounds after the first flat test (node 64) only once the cover rounds have run."""
    covers = [n for n, cuts, trial in fired if cuts == "cover" and not trial]
    return all(covers and covers[0] < n for n, cuts, _ in fired if cuts == "gmi" and n > 64)


@pytest.mark.skipif(not HAVE_MILP, reason="needs the MILP (pyomo + highspy)")
def test_a_bound_flat_after_node_64_gets_the_gmi_rounds_at_a_later_doubling(monkeypatch):
    """shared-large 100x5 ``default_rng(2)``: its bound closed 10.2 % of the gap from node 32
    to 64 (just above ``GMI_FLAT``), then 3 % a doubling; without the rounds the search and
    the copy split's race ran into 20-60 s time limits, where HiGHS's root cuts close the gap.
    The flat test is asked again at every doubling, once the cover rounds have run (here at
    node 32, the bound stalled), until it holds: the rounds fire at node 128, fa2 = the MILP.
    (Without branching at stuck nodes on the nodes the DPs decide, ``FREE_BRANCH``: with it
    the bound is flat by node 64 already and the rounds fire there; and with the copy
    split's first step at node 64 uncapped: its primal's better incumbent narrows the gap
    the test measures, where the capped step, ``pareto.capped``, stops before it and the
    rounds fire at 64.)"""
    from contextlib import nullcontext

    from fa2opt.generate import FAMILIES
    from fa2opt.verify import matches, verify

    monkeypatch.setattr(FB, "FREE_BRANCH", False)
    monkeypatch.setattr(FB.pareto, "capped", lambda units: nullcontext())
    fired = _cut_rounds(monkeypatch)
    inst = FAMILIES["shared-large"].generator(np.random.default_rng(2), 100, 5)
    # (its runs unmerged: merged, the search ends at its 18th node, before any doubling)
    got = fa2opt.solve(inst, "fa2", time_limit=20, series_runs=False)
    want = fa2opt.solve(inst, "milp", time_limit=60)
    assert got.status == want.status == "optimal" and matches(got, want)
    assert verify(inst, got).ok
    assert (128, "gmi", False) in fired and _after_64_covers_first(fired), fired


@pytest.mark.skipif(not HAVE_MILP, reason="needs the MILP (pyomo + highspy)")
def test_the_later_flat_tests_wait_for_the_cover_rounds(monkeypatch):
    """long-paths 14x8x16 #946296371 two ulps below its edge: flat from node 64 to 128 with
    its cover rounds still to come (``CUT_FIRST``, node 256). The rounds at 128 replaced them
    and cost 446 -> 1,881 nodes (0.5 -> 1.8 s); the later tests wait for the covers, which
    close it. fa2 = the MILP. (Without the pool of multipliers, ``POOL_SIZE``, which closes
    this search at its 66th node, before any of these tests.)"""
    from fa2opt.verify import matches, verify
    from test_judged_leaves import _edge_of  # noqa: E402  (tests/test_judged_leaves.py)

    monkeypatch.setattr(FB, "POOL_SIZE", 0)
    inst, _ = _edge_of("long-paths", (14, 8, 16), 946296371, -2)
    fired = _cut_rounds(monkeypatch)
    # (its runs unmerged: the search whose cut rounds this pins; merged, the first solve
    # does not judge its leaves, and the solves at the edge after it search another way)
    got = fa2opt.solve(inst, "fa2", time_limit=60, series_runs=False)
    want = fa2opt.solve(inst, "milp", time_limit=60)
    assert got.status == want.status == "optimal" and matches(got, want)
    assert verify(inst, got).ok
    assert _after_64_covers_first(fired) and any(not t for _, c, t in fired), fired


def test_the_gmi_rounds_keep_the_kept_rows_and_drop_the_slack_ones():
    """The rounds' end drops every cut row with a zero dual (``drop_slack_rows``) but the
    kept ones, the rule's no-goods (never separated again): a kept cover added before the
    rounds and one added after them (in (5)'s mode) stay in the LP whatever their duals,
    slack covers and GMI cuts go."""
    checked = 0
    for inst, dp in _instances(5, 40):
        s = LPSearch(dp, [f.graph for f in dp.flows], pareto_remainder, None)
        lp, ub = s.lp, np.ones(s.lp.n_lam)
        if lp.solve(ub) is None:
            continue
        # two slack covers (every column of a node's simplex: Σ λ ≤ 1 holds with room), one
        # kept and one not, then the rounds, then another kept one
        a, b = int(lp.ptr[0]), int(lp.ptr[1])
        lp.add_cuts([(list(range(a, b)), 1.0)], kept=True)
        lp.add_cuts([(list(range(a, b)), 1.0)])
        sol = FB.gmi_rounds(lp, ub, lp.solve(ub), None)
        if sol is None or not lp.general:
            continue
        lp.add_cuts([(list(range(a, b)), 1.0)], kept=True)
        rows = lp.lp.getNumRow() - lp.n_base_rows
        assert lp.cut_kept.size == rows
        lp.drop_slack_rows(np.zeros(lp.lp.getNumRow()))  # every dual zero: all slack
        assert lp.lp.getNumRow() - lp.n_base_rows == 2 and lp.cut_kept.all()
        checked += 1
    assert checked >= 3
