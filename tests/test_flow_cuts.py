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
from test_flow_bound import decoupled, drawn_instance, two_flow_instance  # noqa: E402

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


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10**6), shared=st.booleans())
def test_every_cut_holds_for_every_feasible_choice(seed, shared):
    inst = drawn_instance(seed, shared, max_nodes=7)
    _, dp = decoupled(inst)
    if any(not c.positions for c in dp.candidates.values()):
        return
    graphs = [f.graph for f in dp.flows]
    lp = FlowLP(dp, graphs)
    if int(np.prod(np.diff(lp.ptr))) > 20_000:
        return
    s = LPSearch(dp, graphs, pareto_remainder, None)
    feasible = _feasible_choices(dp, lp)
    nprng = np.random.default_rng(seed)
    sol = lp.solve(np.ones(lp.n_lam))
    points = [] if sol is None else [sol[0]]
    for _ in range(4):  # random points of the convexified box: many more covers violated
        x = nprng.exponential(1.0, lp.n_lam) * (nprng.random(lp.n_lam) < 0.6)
        x += 1e-9
        points.append(x / np.add.reduceat(x, lp.ptr[:-1])[lp.owner])
    for lam in points:
        for cols, rhs in flow_cuts.cover_cuts(lp.lat, lp.ptr, lp.flows, s.slack_budget, lam):
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
        mp.setattr(FB, "CUT_FIRST", 1)
        check_against(inst)
