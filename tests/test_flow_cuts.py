"""Cover cuts (2) of the flow bound (fa2opt.reductions.flow_cuts): every cut holds for every
choice that meets the SLAs by the spec's rule (enumerated), at the LP's λ and at random λ;
the bound (1) with the cuts' multipliers stays below the optimum; fa2 with cuts separated at
every search node equals brute force."""

from __future__ import annotations

import itertools
import random
import sys

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import fa2opt
from fa2opt.reductions import flow_cuts
from fa2opt.reductions.flow_bound import FlowLP, LPSearch
from fa2opt.pareto import pareto_remainder

from test_fa2 import check_against, random_dag_instance  # noqa: E402  (tests/test_fa2.py)
from test_flow_bound import (_small_searches, decoupled,  # noqa: E402
                             drawn_instance, two_flow_instance)

SEARCH = sys.modules["fa2opt.reductions.search"]
FB = sys.modules["fa2opt.reductions.flow_bound"]


def _feasible_choices(dp, lp: FlowLP) -> list[np.ndarray]:
    """Every choice (one λ column per node) that meets every flow's SLA by the spec's rule
    (FlowGraph.meets_sla), by enumeration."""
    out = []
    sizes = np.diff(lp.ptr)
    for ks in itertools.product(*(range(n) for n in sizes.tolist())):
        cols = lp.ptr[:-1] + np.asarray(ks)
        lat = {v: float(lp.lat[c]) for v, c in zip(lp.nodes, cols)}
        if all(f.graph.meets_sla({v: lat[v] for v in f.graph.nodes}) for f in dp.flows):
            out.append(cols)
    return out


def _enumerable_search(inst, max_choices: int = 20_000):
    """``(dp, LPSearch)`` of ``inst``'s decoupled problem when :func:`_feasible_choices` can
    enumerate it (every node has a candidate, at most ``max_choices`` choices), else None."""
    _, dp = decoupled(inst)
    if any(not c.positions for c in dp.candidates.values()):
        return None
    s = LPSearch(dp, [f.graph for f in dp.flows], pareto_remainder, None)
    if int(np.prod(np.diff(s.lp.ptr))) > max_choices:
        return None
    return dp, s


def _points(lp: FlowLP, sol, seed: int) -> list[np.ndarray]:
    """The LP's λ (``sol``: its solution, or None) and four random points of the
    convexified box, where many more cuts are violated."""
    nprng = np.random.default_rng(seed)
    points = [] if sol is None else [sol[0]]
    for _ in range(4):
        x = nprng.exponential(1.0, lp.n_lam) * (nprng.random(lp.n_lam) < 0.6) + 1e-9
        points.append(x / np.add.reduceat(x, lp.ptr[:-1])[lp.owner])
    return points


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10**6), shared=st.booleans())
def test_every_cut_holds_for_every_feasible_choice(seed, shared):
    _assert_separated_cuts_hold(seed, shared, lambda s, lam: flow_cuts.cover_cuts(
        s.lp.lat, s.lp.ptr, s.lp.flows, s.slack_budget, lam)[0])


def _assert_separated_cuts_hold(seed: int, shared: bool, separate) -> None:
    """Every cut ``separate(search, λ)`` finds (each: its λ columns, all coefficient 1, and
    its right side) at :func:`_points` of a :func:`drawn_instance` is violated there and
    holds for every enumerated choice that meets the SLAs."""
    got = _enumerable_search(drawn_instance(seed, shared, max_nodes=7))
    if got is None:
        return
    dp, s = got
    lp = s.lp
    feasible = _feasible_choices(dp, lp)
    for lam in _points(lp, lp.solve(np.ones(lp.n_lam)), seed):
        for cols, rhs in separate(s, lam):
            assert float(lam[cols].sum()) > rhs  # separated: violated at the point
            for choice in feasible:
                assert np.isin(choice, cols).sum() <= rhs


def test_cuts_are_found_and_the_bound_with_them_stays_below_the_optimum():
    """Cuts are separated on small instances (so the test above can fail), the bound (1) at
    the LP's duals with cuts in equals the LP and is below brute force's optimum, also at
    noisy multipliers (any π ≥ 0)."""
    rng = random.Random(5)
    found = raised = 0
    for _ in range(40):
        inst = two_flow_instance(rng) if rng.random() < 0.5 else random_dag_instance(
            rng, rng.randint(5, 8), 3, rng.uniform(0.35, 0.7))
        _, dp = decoupled(inst)
        if any(not c.positions for c in dp.candidates.values()):
            continue
        opt = fa2opt.solve(inst, "brute-force")
        s = LPSearch(dp, [f.graph for f in dp.flows], pareto_remainder, None)
        ub = np.ones(s.lp.n_lam)
        sol = s.lp.solve(ub)
        before = s.lp.value
        sol = s.separate(ub, sol)
        found += s.lp.cut_rhs.size > 0
        raised += s.lp.value > before + 1e-6
        y = s.lp.flow_weights(sol[1])
        assert s.lp.bound_at(y, ub)[0] == pytest.approx(s.lp.value, rel=1e-7, abs=1e-7)
        assert s.lp.value <= opt.cost * (1 + 1e-9)
        nprng = np.random.default_rng(found)
        for _ in range(5):
            noisy = sol[1] * nprng.uniform(0, 3, sol[1].size) - nprng.exponential(0.5, sol[1].size)
            y = s.lp.flow_weights(noisy)
            assert s.lp.bound_at(y, ub)[0] <= opt.cost * (1 + 1e-12)
    assert found >= 5 and raised >= 3


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10**6), shared=st.booleans())
def test_fa2_with_cuts_at_every_node_equals_brute_force(seed, shared):
    inst = drawn_instance(seed, shared)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(SEARCH, "FLOW_MIN_COUPLING", 1)
        mp.setattr(SEARCH, "FIXING_MAX_SPACE", 0)  # the search itself, not the fixing DP
        mp.setattr(FB, "CUT_FIRST", 1)
        check_against(inst)


# cuts separated mid-search at the 2nd search node (any gap left): by the stall trigger, or
# by the trial round counted as paying (TRIAL_GAIN 0) with an unbounded budget (rounds until
# none is violated or the LP stalls)
FORCED = {"stall": {"CUT_EARLY": 2, "CUT_STALL": 1.0},
          "trial": {"CUT_TRY": 2, "TRIAL_GAIN": 0.0, "SEPARATE_MIN_WORK": 10**12}}


@pytest.mark.parametrize("forced", FORCED.values(), ids=list(FORCED))
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10**6), shared=st.booleans())
def test_fa2_with_cuts_mid_search_and_rekeyed_open_nodes_equals_brute_force(forced, seed, shared):
    """Cuts separated at the 2nd search node (:data:`FORCED`), the open nodes re-keyed by
    bound (1) at the root's new multipliers and those reaching the incumbent dropped --
    nothing better than the optimum is lost."""
    inst = drawn_instance(seed, shared)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(SEARCH, "FLOW_MIN_COUPLING", 1)
        mp.setattr(SEARCH, "FIXING_MAX_SPACE", 0)  # the search itself, not the fixing DP
        for name, value in forced.items():
            mp.setattr(FB, name, value)
        check_against(inst)


def test_rekeyed_bounds_never_exceed_a_nodes_optimum():
    """After cuts at the root, :meth:`LPSearch.rekey` raises each open node's key to (1) at
    the root's new multipliers over its candidates: never above the best exact value of a
    fixing inside the node (brute force over the fixings), with and without cuts in the LP.
    (The incumbent is kept at infinity here, so no node is dropped: a node is dropped by
    the search's one rule, key ≥ incumbent − tolerance, which these keys make safe.)"""
    rng = random.Random(9)
    checked = raised = with_cuts = 0
    for s, _, values in _small_searches(21, 80):
        every = np.ones(s.lp.n_lam)
        sol = s.separate(every, s.lp.solve(every))
        if sol is None:
            continue
        with_cuts += s.lp.cut_rhs.size > 0
        s.value = lambda *a, **k: None  # no incumbent: every node kept, its key checked
        full = tuple((1 << (b - a)) - 1 for a, b in s.wcols)
        nodes = {tuple(m if i >= s.n_c or rng.random() < 0.4 else rng.randrange(1, m + 1)
                       for i, m in enumerate(full))  # (coupling masks: see values)
                 for _ in range(12)}
        heap = [(-np.inf, i, masks, None, None) for i, masks in enumerate(sorted(nodes))]
        out = {masks: key for key, _, masks, _, _ in s.rekey(heap, sol)}
        assert set(out) == nodes
        for masks, key in out.items():
            inside = [v for p, v in values.items()
                      if v is not None and all((c >> k) & 1 for c, k in zip(masks, p))]
            raised += key > -np.inf
            if inside:
                assert key <= min(inside) * (1 + 1e-12) + 1e-9, (masks, key, min(inside))
                checked += 1
    assert checked >= 100 and raised >= 100 and with_cuts >= 5


def test_early_cuts_and_rekeying_on_generated_graphs_equal_the_milp(monkeypatch):
    """As above on generated lattices, random and dense DAGs (searches of several nodes, so
    open nodes are re-keyed and some dropped): fa2 = the MILP on every one."""
    from fa2opt.generate import FAMILIES
    from fa2opt.verify import matches

    dropped = []
    real = FB.LPSearch.rekey
    monkeypatch.setattr(FB.LPSearch, "rekey", lambda self, heap, sol: dropped.append(
        len(heap) - len(out := real(self, heap, sol))) or out)
    monkeypatch.setattr(SEARCH, "FLOW_MIN_COUPLING", 1)
    monkeypatch.setattr(SEARCH, "FIXING_MAX_SPACE", 0)  # the search itself, not the fixing DP
    monkeypatch.setattr(FB, "CUT_EARLY", 2)
    monkeypatch.setattr(FB, "CUT_STALL", 1.0)
    cases = [("lattice", (4, 4)), ("lattice", (3, 5)), ("random", (16,)), ("dense", (10, 0.3))]
    for seed in range(4):
        for family, size in cases:
            inst = FAMILIES[family].generator(np.random.default_rng(seed), *size)
            got = fa2opt.solve(inst, "fa2", time_limit=60)
            want = fa2opt.solve(inst, "milp", time_limit=60)
            assert got.status == want.status and matches(got, want), (family, size, seed)
    assert sum(d > 0 for d in dropped) >= 3


def test_rekey_runs_and_a_stalled_lattice_closes_at_its_cuts(monkeypatch):
    """A generated 5x5 lattice (FAMILIES, default_rng(64774287)) whose root gap (7.5 %) the
    LP bound barely closes (9 % by the 32nd node; 105,560 nodes into a 60 s limit without
    cuts, 2,805 with cuts at node 256): the stall trigger separates at node 32, the open
    nodes re-keyed by the cuts are dropped, and the answer equals the MILP's. (Without the
    branch at stuck nodes, ``FREE_BRANCH``, with which the lattice closes before node 32.)"""
    from fa2opt.generate import FAMILIES
    from fa2opt.verify import matches

    monkeypatch.setattr(FB, "FREE_BRANCH", False)
    calls = []
    real = FB.LPSearch.rekey
    monkeypatch.setattr(FB.LPSearch, "rekey",
                        lambda self, heap, sol: calls.append(len(heap)) or real(self, heap, sol))
    inst = FAMILIES["lattice"].generator(np.random.default_rng(64774287), 5, 5)
    got = fa2opt.solve(inst, "fa2", time_limit=60)
    want = fa2opt.solve(inst, "milp", time_limit=60)
    assert got.status == want.status == "optimal" and matches(got, want)
    assert calls and calls[0] > 0  # separated mid-search, with open nodes to re-key
    assert got.extra["search_nodes"] <= 4 * FB.CUT_EARLY


def test_a_trial_round_that_pays_closes_many_flows_over_one_pool_of_models(monkeypatch):
    """Many applications over one pool of models (``fa2opt.generate.many_flows``): the trial
    round at node ``CUT_TRY`` closes at least ``TRIAL_GAIN`` of the gap, the rounds go on,
    and the search closes in fewer nodes than without the trial; fa2 = the MILP on each.
    On a lattice whose search runs as long, the trial's first round does not pay: one pass."""
    from fa2opt.generate import FAMILIES
    from fa2opt.verify import matches

    passes = []
    real_cuts = flow_cuts.cover_cuts
    monkeypatch.setattr(flow_cuts, "cover_cuts",
                        lambda *a, **k: passes.append(1) or real_cuts(*a, **k))
    trials = []  # the passes of each trial
    real = FB.LPSearch.separate

    def separate(self, ub, sol, trial=False):
        before = len(passes)
        out = real(self, ub, sol, trial)
        if trial:
            trials.append(len(passes) - before)
        return out

    monkeypatch.setattr(FB.LPSearch, "separate", separate)
    for seed in (0, 1):
        inst = FAMILIES["many-flows"].generator(np.random.default_rng(seed), 10, 8, 40)
        nodes = {}
        for try_at in (0, FB.CUT_TRY):  # 0: no trial (the search never reaches node 0)
            monkeypatch.setattr(FB, "CUT_TRY", try_at)
            trials.clear()
            got = fa2opt.solve(inst, "fa2", time_limit=60)
            nodes[try_at] = got.extra["search_nodes"]
            assert got.status == "optimal"
        assert len(trials) == 1 and trials[0] >= 3, (seed, trials)  # it paid: rounds went on
        assert nodes[FB.CUT_TRY] < nodes[0] / 2, (seed, nodes)
        want = fa2opt.solve(inst, "milp", time_limit=60)
        assert matches(got, want), (seed, got.cost, want.cost)
    trials.clear()
    inst = FAMILIES["lattice"].generator(np.random.default_rng(0), 8, 8)
    got = fa2opt.solve(inst, "fa2", time_limit=60)
    assert got.status == "optimal" and got.extra["search_nodes"] > 2 * FB.CUT_TRY
    assert trials == [1]
