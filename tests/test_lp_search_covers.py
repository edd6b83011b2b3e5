"""The extensions' LP search (fa2opt.extensions.lp_search) with the flow bound's cuts and the
latency limits (issue 13, "pools with budgets"): every row the latency limits drop (at the
root, :func:`.leaf.within_limits`, and per subproblem, ``_Search.tighten``) is in no choice
that meets the SLAs and budgets; every budget cover is violated where separated and holds
for every such choice; the bound after the root's cover rounds stays below the optimum
(brute force on property-generated extended instances); and the many-flows instance where
the search without them ran out of time closes."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fa2opt import available_methods, cpu_kernels, solve, verify
from fa2opt.extensions.leaf import within_limits
from fa2opt.reductions import flow_cuts
from fa2opt.verify import matches

from test_extensions import extended
from test_flow_cuts import _points
from test_lp_search_branching import _search
from test_lp_search import binding
from test_lp_search_gmi import _feasible, _subproblem_in_flows

HAVE_MILP = "milp" in available_methods()


def _drawn(inst, data):
    """A random subproblem of ``inst`` (None where it has no budget or a node in no flow)
    and every choice of it that meets the SLAs and budgets."""
    got = _subproblem_in_flows(inst, data)
    return None if got is None else (*got, _feasible(*got))


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(inst=st.one_of(extended(), binding()), data=st.data())
def test_latency_limits_keep_every_feasible_choice(inst, data) -> None:
    drawn = _drawn(inst, data)
    if drawn is None:
        return
    sub, moved, allowed, feasible = drawn
    # the root's limits: over every row, against every choice that meets the SLAs
    every = {v: np.arange(len(t)) for v, t in sub.tables.items()}
    kept = within_limits(sub, every)
    for x in _feasible(sub, [], every):
        assert all(x[v] in kept[v] for v in x)
    # a subproblem's: tighten keeps every column of every feasible choice
    s = _search(sub, moved, allowed)
    m = s.tighten(np.ones(s.lp.n_lam, dtype=bool))
    assert m is not None or not feasible  # None only where no choice is left
    for x in feasible:
        assert m[[s.blp.col[v][x[v]] for v in s.lp.nodes]].all()


@pytest.mark.skipif(not cpu_kernels.available(), reason="Numba not available")
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(inst=st.one_of(extended(), binding()), data=st.data())
def test_tighten_compiled_is_the_reference(inst, data) -> None:
    """``_Search.tighten`` with the compiled passes (the SLA test at the fastest rows, the
    latency limits: ``dag_batch.latency_limits``) keeps exactly the columns it keeps on the
    reference's Python loops, on random subproblems and random masks of their columns."""
    drawn = _subproblem_in_flows(inst, data)
    if drawn is None:
        return
    s = _search(*drawn)
    cpu_kernels.warm_up()
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1), label="seed"))
    m = rng.random(s.lp.n_lam) < data.draw(st.sampled_from([0.5, 0.8, 1.0]), label="share")
    m[s.starts[rng.random(len(s.starts)) < 0.9]] = True  # (a node left without rows: None)
    assert s.compiled()
    got = s.tighten(m)
    with cpu_kernels.disabled():
        assert not s.compiled()
        want = s.tighten(m)
    assert (got is None) == (want is None)
    if got is not None:
        np.testing.assert_array_equal(got, want)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(inst=st.one_of(extended(), binding()), data=st.data())
def test_budget_covers_hold_for_every_feasible_choice(inst, data) -> None:
    """At the LP's λ and at random points of the box: each budget cover is violated there
    and holds for every choice that meets the SLAs and budgets."""
    drawn = _drawn(inst, data)
    if drawn is None:
        return
    sub, moved, allowed, feasible = drawn
    s = _search(sub, moved, allowed)
    cols = [np.asarray([s.blp.col[v][x[v]] for v in s.lp.nodes]) for x in feasible]
    seed = data.draw(st.integers(0, 2**32 - 1), label="seed")
    for lam in _points(s.lp, s.lp.solve(np.ones(s.lp.n_lam)), seed):
        for u, chain, limit in s.budget_chains:
            for cut, rhs in flow_cuts.cover_cuts(u, s.lp.ptr, [chain], np.asarray([limit]),
                                                 lam)[0]:
                assert float(lam[cut].sum()) > rhs
                for c in cols:
                    assert np.isin(c, cut).sum() <= rhs


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(inst=st.one_of(extended(), binding()), data=st.data())
def test_the_bound_after_the_cover_rounds_stays_below_the_optimum(inst, data) -> None:
    drawn = _drawn(inst, data)
    if drawn is None:
        return
    sub, moved, allowed, feasible = drawn
    want = min((sub.cost(x) for x in feasible), default=math.inf)
    s = _search(sub, moved, allowed)
    ub = np.ones(s.lp.n_lam)
    sol = s.lp.solve(ub)
    if sol is None:
        return
    sol = s.cover_rounds(ub, sol)
    if sol is None:
        assert not (math.isfinite(want) and s.blp.infeasible(ub))
        return
    lb = s.blp.bound(sol[1], ub, None)[0]
    assert lb <= want + 1e-9 * max(1.0, abs(want)), (lb, want)


@pytest.mark.skipif(not HAVE_MILP, reason="formulations (Pyomo/HiGHS) not present")
def test_a_pool_with_a_capacity_closes() -> None:
    """many-flows 12x10x60 #1 (120 models, 60 applications) with a capacity: the LP search
    without the latency limits and the root's covers reached 20,000 subproblems and the
    time limit (root bound 1,051 of 1,297 over the nodes' least costs); now a few hundred."""
    from fa2opt.extensions.realistic import extended as with_set
    from fa2opt.generate import many_flows

    inst = with_set(many_flows(np.random.default_rng(1), 12, 10, 60), "capacity")
    fa2 = solve(inst, "fa2", time_limit=20)
    assert fa2.status == "optimal", (fa2.status, fa2.extra)
    assert verify(inst, fa2).ok
    assert fa2.extra["lp_nodes"] < 2000, fa2.extra
    milp = solve(inst, "milp", time_limit=60)
    assert milp.status == "optimal" and matches(fa2, milp), (fa2.cost, milp.cost)


def test_an_infeasible_capacity_is_proven_at_the_root() -> None:
    """A 10x10 lattice with a capacity no choice meets: the root LP's dual ray proves it.
    With its rows within their latency limits, (1)'s conservative flows lost the ray's path
    rows and the search proved it in 6,779 subproblems; (5)'s form keeps them."""
    from fa2opt.extensions.realistic import extended as with_set
    from fa2opt.generate import lattice

    inst = with_set(lattice(np.random.default_rng(0), 10, 10), "capacity")
    fa2 = solve(inst, "fa2", time_limit=20)
    assert fa2.status == "infeasible", (fa2.status, fa2.extra)
    assert fa2.extra.get("lp_farkas") == 1 and "lp_nodes" not in fa2.extra, fa2.extra
    if HAVE_MILP:
        assert solve(inst, "milp", time_limit=60).status == "infeasible"


def test_the_cached_rows_follow_every_row_change() -> None:
    """FlowLP.rows() (what (5)'s form of the ray check reads, also before any general cut)
    is read again after cuts are added or dropped in (1)'s mode: a stale copy would pair
    a ray's entries with the wrong rows."""
    from test_flow_bound import drawn_instance
    from test_flow_cuts import _enumerable_search

    got = next(g for g in (_enumerable_search(drawn_instance(seed, False, max_nodes=6))
                           for seed in range(50)) if g is not None)
    lp = got[1].lp
    n = lp.rows()[1].size
    lp.add_cuts([([0], 0.0), ([1], 1.0)])
    assert lp.rows()[1].size == n + 2
    lp.drop_slack_cuts(np.zeros(lp.lp.getNumRow()))  # every cut slack
    assert lp.rows()[1].size == n


@pytest.mark.skipif(not HAVE_MILP, reason="formulations (Pyomo/HiGHS) not present")
@pytest.mark.parametrize("family,size,seed,which", [
    ("shared", (20, 3), 1, "accuracy"), ("shared", (20, 3), 1, "capacity"),
    ("shared", (20, 3), 2, "accuracy"), ("long-paths", (12, 8, 10), 2, "capacity"),
    ("many-flows", (8, 6, 30), 0, "accuracy"), ("many-flows", (8, 6, 30), 2, "accuracy")])
def test_rows_fixed_at_the_root_keep_the_optimum(family, size, seed, which) -> None:
    """Draws where the root's reduced-cost fixing (``fix_at_root``) removes rows for every
    subproblem: fa2 still equals the MILP."""
    from fa2opt.extensions.realistic import extended as with_set
    from fa2opt.generate import FAMILIES

    inst = with_set(FAMILIES[family].generator(np.random.default_rng(seed), *size), which)
    fa2 = solve(inst, "fa2", time_limit=20)
    assert fa2.status == "optimal" and verify(inst, fa2).ok, (fa2.status, fa2.extra)
    assert fa2.extra.get("lp_root_fixed", 0) > 0, fa2.extra
    milp = solve(inst, "milp", time_limit=60)
    assert milp.status == "optimal" and matches(fa2, milp), (fa2.cost, milp.cost)
