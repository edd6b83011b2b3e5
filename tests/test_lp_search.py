"""Budgets as rows of the flow bound's LP (fa2opt.extensions.lp_search, issue 14): the bound
is below the optimum for any multipliers and equals the LP at its duals, and the LP-based
branch and bound -- forced on small instances the way tests/test_flow_bound.py forces the
flow bound -- equals brute force (property-generated extended instances, random
subproblems) and the MILP (generated families with extensions)."""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from helpers import module_constants
import fa2opt.extensions.lp_search as lp_search
import fa2opt.extensions.search as search
from fa2opt import Instance, Problem, available_methods, solve, verify
from fa2opt.extensions.leaf import BudgetArrays
from fa2opt.solver import get_solver
from fa2opt.verify import matches

from test_extension_search import _brute, _subproblem, value
from strategies import instances  # noqa: E402  (tests/strategies.py)
from test_extensions import extended, with_extra

HAVE_MILP = "milp" in available_methods()

# the LP search on every problem whose budgets bind; "lp" without the enumeration leaf (the
# LP, roundings, branching, DP leaves and dual-ray proofs do all the work), "lp-leaf" with it,
# "lp-first" with the root LP (and its infeasibility proof) before the plain DP, "lp-covers"
# with the root's cover rounds on one flow too
FORCED = {"lp": dict(LP_MIN_NODES=0, LEAF_CHOICES=0),
          "lp-leaf": dict(LP_MIN_NODES=0, LEAF_CHOICES=8),
          "lp-first": dict(LP_MIN_NODES=0, LEAF_CHOICES=0, LP_FIRST_NODES=0),
          "lp-covers": dict(LP_MIN_NODES=0, LEAF_CHOICES=0, COVER_MIN_FLOWS=0)}


def forced(**values):
    """Set lp_search / search module constants for the block."""
    return module_constants((lp_search, search), **values)


@st.composite
def binding(draw: st.DrawFn) -> Instance:
    """Up to 6 nodes with accuracies, capacity on every hardware kind and a product floor on
    every flow, each drawn around the use of a choice that meets the SLAs (at the tolerance
    edge, just inside or past): feasible or not, the budgets usually bind (the cheapest
    choice breaks them), so the LP search runs; sometimes an accuracy weight and a switch."""
    inst = draw(instances(max_nodes=6, max_configs=5, infeasible=False))
    pool = [0.5, 0.7, 0.8, 0.9, 0.95, 1.0]
    inst = replace(inst, nodes=tuple(
        replace(n, configs=tuple(replace(c, accuracy=draw(st.sampled_from(pool))) for c in n.configs))
        for n in inst.nodes))
    problem = Problem.from_instance(inst)
    if problem.empty_nodes:
        return inst
    pick = {v: draw(st.integers(0, len(t) - 1), label=f"pick {v}") for v, t in problem.tables.items()}
    if not problem.meets_slas(pick):
        pick = problem.fastest_choice()
    edge = st.sampled_from([0.0, 1e-9, -1e-9, 0.5, -0.5, 2.0])
    used: dict[str, float] = {}
    for v, k in pick.items():
        t = problem.tables[v]
        cfg = inst.node(v).configs[t.lists[0][k]]
        used[cfg.hardware] = used.get(cfg.hardware, 0.0) + t.lists[1][k] * cfg.units
    extra: dict[str, Any] = {"capacity": {h: max(0.0, u + draw(edge)) for h, u in used.items()}}
    floors = {}
    for f in inst.flows:
        a = [inst.node(v).configs[problem.tables[v].lists[0][pick[v]]].accuracy for v in f.nodes]
        floors[f.name] = min(1.0, max(1e-6, math.prod(a) * (1 + draw(edge) * 1e-1)))
    extra["accuracy"] = {"aggregate": "product", "min": floors}
    if draw(st.booleans()):
        extra["accuracy"]["weight"] = draw(st.sampled_from([0.5, 10.0]))
    if draw(st.booleans()):
        n = draw(st.sampled_from(inst.nodes))
        c = draw(st.sampled_from(n.configs))
        extra["current"] = {n.name: {"batch": c.batch, "hardware": c.hardware, "units": c.units,
                                     "variant": c.variant}}
        extra["switch_cost"] = 2.0
    return with_extra(inst, **extra)


@pytest.mark.parametrize("path", sorted(FORCED))
@settings(max_examples=80, deadline=None)
@given(inst=st.one_of(extended(), binding()))
def test_lp_search_equals_brute_force(path, inst) -> None:
    forced_equals_brute_force(inst, FORCED[path], path)


def forced_equals_brute_force(inst, constants: dict, where: str) -> None:
    """fa2 with the module ``constants`` forced (:func:`forced`) answers ``inst`` as brute
    force does: the same status, a verified decision of the same value."""
    ref = solve(inst, "brute-force")
    with forced(**constants):
        ans = solve(inst, "fa2")
    assert ans.status == ref.status, (where, ans.status, ref.status, ans.message, ans.extra)
    if ans.has_decision:
        assert verify(inst, ans).ok, verify(inst, ans).summary()
        assert matches(ans, ref), (where, value(ans), value(ref))


@settings(max_examples=80, deadline=None)
@given(inst=st.one_of(extended(), binding()), data=st.data())
def test_lp_search_on_random_subproblems_and_the_bound(inst, data) -> None:
    """On a random subproblem: (1) at random multipliers is below the optimum, at the LP's
    duals it equals the LP's value; the forced LP search finds the optimum."""
    problem = Problem.from_instance(inst)
    if problem.empty_nodes:
        return
    sub, moved, allowed = _subproblem(inst, data)
    if not moved or not all(v in {u for g in sub.flows for u in g.nodes} for v in sub.tables):
        return
    want = _brute(sub, moved, allowed)
    arrays = [BudgetArrays(b.nodes, b.use, b.limit) for b in moved]
    limits = [lp_search.bound_limit(a, search.effective_limit(b)) for a, b in zip(arrays, moved)]
    blp = lp_search.BudgetLP(sub, arrays, limits, allowed)
    ub = np.ones(blp.lp.n_lam)
    rows = blp.lp.lp.getNumRow()
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1), label="seed"))
    for duals in (rng.normal(0.0, 3.0, rows), rng.exponential(1.0, rows), -rng.exponential(1.0, rows)):
        lb = blp.bound(duals, ub, None)[0]
        assert lb <= want + 1e-9 * max(1.0, abs(lb)), (lb, want)
    sol = blp.lp.solve(ub)
    if sol is not None:
        lb = blp.bound(sol[1], ub, None)[0]
        assert lb <= want + 1e-9 * max(1.0, abs(want))
        assert abs(lb - blp.lp.value) <= 1e-6 * max(1.0, abs(lb))
    elif math.isfinite(want):  # an LP without optimum never yields a false proof
        assert not blp.infeasible(ub)
    exact = get_solver("fa2").exact_base
    with forced(**FORCED["lp"]):
        r = search.branch_and_bound(sub, moved, exact, allowed=allowed)
    assert r.status in ("optimal", "infeasible")
    got = math.inf if r.choice is None else sub.cost(r.choice)
    assert got == want or abs(got - want) <= 1e-9 * max(1.0, abs(want)), (got, want)


def extended_runs_match_the_milp(family: str, size: tuple, seed: int, constants: dict,
                                 ran_key: str) -> int:
    """fa2 with the module ``constants`` forced (:func:`forced`) = the MILP on two generated
    instances of ``family`` at ``size`` (stream ``seed``) under every extension set of
    :mod:`fa2opt.extensions.realistic`, each answer verified; returns how many of the runs
    report ``extra[ran_key] > 0`` (so a caller can check that the forced path ran)."""
    import zlib

    from fa2opt.extensions.realistic import EXTENSION_SETS, extended as with_set
    from fa2opt.generate import FAMILIES

    ran = 0
    for rep in range(2):
        rng = np.random.default_rng([seed, zlib.crc32(f"{family}{size}".encode()), rep])
        base = FAMILIES[family][0](rng, *size)
        for which in EXTENSION_SETS:
            inst = with_set(base, which)
            if inst is None:
                continue
            milp = solve(inst, "milp")
            with forced(**constants):
                fa2 = solve(inst, "fa2", time_limit=60)
            assert fa2.status == milp.status and fa2.status in ("optimal", "infeasible"), \
                (inst.name, which, fa2.status, milp.status)
            if fa2.has_decision:
                assert verify(inst, fa2).ok and matches(fa2, milp), (which, value(fa2), value(milp))
            ran += fa2.extra.get(ran_key, 0) > 0
    return ran


@pytest.mark.skipif(not HAVE_MILP, reason="formulations (Pyomo/HiGHS) not present")
@pytest.mark.parametrize("family,size", [("shared", (15, 2)), ("small", (6, "non-sp")),
                                         ("small", (8, "tree")), ("small", (7, "fork-join"))])
def test_lp_search_equals_the_milp_on_generated_families(family, size) -> None:
    """Issue 13's families with every extension set, the LP search forced: fa2 = MILP."""
    assert extended_runs_match_the_milp(family, size, 7, FORCED["lp"], "lp_nodes")  # it ran


def test_lp_search_at_a_deadline_keeps_a_valid_answer() -> None:
    """Stopped early (time limits from 1 µs up), the LP search answers ``time_limit`` with
    a verified incumbent, if any, and a lower bound not above the optimum, or the optimum."""
    import zlib

    from fa2opt.extensions.realistic import extended as with_set
    from fa2opt.generate import FAMILIES

    rng = np.random.default_rng([7, zlib.crc32(b"small(6, 'non-sp')"), 1])
    inst = with_set(FAMILIES["small"][0](rng, 6, "non-sp"), "combined")
    ref = solve(inst, "brute-force")
    assert ref.status == "optimal"
    seen = set()
    for limit in (1e-6, 1e-3, 5e-3, 2e-2, 60.0):
        with forced(**FORCED["lp"]):
            ans = solve(inst, "fa2", time_limit=limit)
        seen.add(ans.status)
        assert ans.status in ("optimal", "time_limit"), ans.status
        if ans.has_decision:
            assert verify(inst, ans).ok
        if ans.status == "optimal":
            assert matches(ans, ref)
        elif ans.lower_bound is not None:
            assert ans.lower_bound <= value(ref) + 1e-9 * max(1.0, abs(value(ref)))
    assert "optimal" in seen


def test_realistic_accuracy_floors_stay_positive_on_long_flows() -> None:
    """A product of hundreds of accuracies rounded down to 1e-6 was 0 (random-200 + accuracy
    failed to parse); the floor now keeps 6 significant digits there, and is unchanged
    wherever the 1e-6 rounding was positive."""
    from fa2opt.extensions.realistic import _floor_fraction

    for x in (1.0, 0.987654321, 0.5, 1e-3 + 3e-9, 1.5e-6, 9.99e-7, 3.3e-9, 1e-30):
        f = _floor_fraction(x)
        assert 0 < f <= x
        if x >= 1e-6:
            assert f == math.floor(x * 1e6) / 1e6
        else:
            assert f >= x * (1 - 1e-5)
