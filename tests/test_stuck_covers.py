"""Stuck search nodes of the flow-LP search (fa2opt.reductions.flow_bound): a node whose LP
point is integral at every coupling node but fractional at a node the DPs decide gets a
round of global covers and cliques (``LPSearch.stuck_covers``) and is branched on such a
node (``FREE_BRANCH``). Every cut added there holds for every feasible choice; fa2 with the
rounds forced from the 2nd search node on (the root's rounds moved to the root) equals brute
force on weighted-accuracy instances; the rounds and the branches fire on generated graphs
whose answers equal the MILP's; and a one-flow lattice and ladder with an accuracy weight of
10⁶ close in far fewer nodes than without them."""

from __future__ import annotations

import random
import sys
from dataclasses import replace

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import fa2opt

from test_dp_bound import with_accuracy  # noqa: E402  (tests/test_dp_bound.py)
from test_fa2 import HAVE_MILP, check_against  # noqa: E402  (tests/test_fa2.py)
from test_flow_bound import drawn_instance  # noqa: E402
from test_flow_cuts import _enumerable_search, _feasible_choices, _points  # noqa: E402

SEARCH = sys.modules["fa2opt.reductions.search"]
FB = sys.modules["fa2opt.reductions.flow_bound"]


def _forced(mp: pytest.MonkeyPatch) -> tuple[list[int], list[int]]:
    """The LP search on every component, its GMI rounds at the root (so the stuck nodes'
    covers run from the 2nd node on); returns two lists that collect, per call of
    ``stuck_covers``, the cut rows it added, and per call of ``branch``, the children that
    narrow a node the DPs decide."""
    mp.setattr(SEARCH, "FLOW_MIN_COUPLING", 1)
    mp.setattr(SEARCH, "FIXING_MAX_SPACE", 0)  # the search itself, not the fixing DP
    mp.setattr(FB, "GMI_MIN_COUPLING", 0)
    added: list[int] = []
    real = FB.LPSearch.stuck_covers

    def counted(self, ub, sol):
        before = self.lp.lp.getNumRow()
        out = real(self, ub, sol)
        added.append(self.lp.lp.getNumRow() - before)
        return out

    mp.setattr(FB.LPSearch, "stuck_covers", counted)
    free: list[int] = []
    branch = FB.LPSearch.branch

    def watched(self, lam, masks, picks, lb):
        kids = branch(self, lam, masks, picks, lb)
        free.append(sum(c[self.n_c:] != masks[self.n_c:] for c, _ in kids))
        return kids

    mp.setattr(FB.LPSearch, "branch", watched)
    return added, free


def _stuck_cuts_hold(seed: int, shared: bool) -> int:
    """Points of the convexified box (three draws of ``_points``) made integral at every
    coupling node: every cut ``stuck_covers`` adds at them holds for every choice meeting
    the SLAs (enumerated). Returns how many cuts were checked."""
    got = _enumerable_search(drawn_instance(seed, shared, max_nodes=7))
    if got is None:
        return 0
    dp, s = got
    lp = s.lp
    choices = _feasible_choices(dp, lp)
    added: list = []
    real = lp.add_cuts
    lp.add_cuts = lambda cuts, *a, **k: added.extend(cuts) or real(cuts, *a, **k)
    s.explored = 10**6  # (the work budget: never the limit here)
    ub = np.ones(lp.n_lam)
    nprng = np.random.default_rng(seed)
    for x in [x for k in range(3) for x in _points(lp, None, seed + k)]:
        for a, b in s.wcols[:s.n_c]:  # each coupling node at one of its columns
            x[a:b] = 0.0
            x[a + int(nprng.integers(b - a))] = 1.0
        s.stuck_covers(ub, (x, None))
    for cols, rhs in added:
        cut = np.zeros(lp.n_lam)
        cut[np.asarray(cols)] = 1.0
        for c in choices:
            assert cut[c].sum() <= rhs + 1e-9, (cols, rhs, c)
    return len(added)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10**6), shared=st.booleans())
def test_every_cut_at_a_stuck_point_holds_for_every_feasible_choice(seed, shared):
    """Every cut the stuck nodes' rounds add holds for every feasible choice (drawn)."""
    _stuck_cuts_hold(seed, shared)


def test_the_stuck_points_get_cuts_to_check():
    """The same on 40 fixed draws, where the rounds add cuts (so the check can fail)."""
    assert sum(_stuck_cuts_hold(seed, seed % 2 == 0) for seed in range(40)) >= 10


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10**6), shared=st.booleans(),
       weight=st.sampled_from((1.0, 100.0, 1e6)))
def test_fa2_with_covers_at_stuck_nodes_equals_brute_force(seed, shared, weight):
    """Drawn non-SP DAGs (one flow, or a second over a window of it) with row accuracies
    and an accuracy weight up to 10⁶ (the regime where the stuck nodes pile up): fa2 with
    the covers at every stuck node from the 2nd search node on equals brute force."""
    inst = with_accuracy(drawn_instance(seed, shared), random.Random(seed), weight)
    with pytest.MonkeyPatch.context() as mp:
        _forced(mp)
        check_against(inst)


@pytest.mark.skipif(not HAVE_MILP, reason="needs pyomo + highspy")
def test_covers_at_stuck_nodes_fire_and_equal_the_milp(monkeypatch):
    """Generated lattices and ladders with an accuracy weight of 10⁶, the covers forced
    from the 2nd node: they cut at stuck nodes and the search branches on the DPs' nodes
    there (so the test can fail), and fa2 = the MILP on every instance. (Without the pool of
    multipliers, ``POOL_SIZE``: it closes these searches before any node is stuck.)"""
    from fa2opt.verify import matches

    monkeypatch.setattr(FB, "POOL_SIZE", 0)
    added, free = _forced(monkeypatch)
    for family, size in (("lattice", (5, 5)), ("ladder", (8,)), ("ladder", (15,))):
        for seed in range(3):
            inst = _keen(family, size, seed)
            got = fa2opt.solve(inst, "fa2", time_limit=60)
            want = fa2opt.solve(inst, "milp", time_limit=60)
            assert got.status == want.status and matches(got, want), (family, size, seed)
    assert sum(n > 0 for n in added) >= 1 and sum(n > 0 for n in free) >= 1, (added, free)


def _keen(family: str, size: tuple, seed: int):
    """A generated instance with an accuracy weight of 10⁶ (``extension_keys``' weight)."""
    from fa2opt.generate import FAMILIES

    base = FAMILIES[family].generator(np.random.default_rng(seed), *size)
    return replace(base, extra={**base.extra, "accuracy": {"scale": 100, "weight": 1e6}})


@pytest.mark.skipif(not HAVE_MILP, reason="needs pyomo + highspy")
@pytest.mark.parametrize("family, size, seed, most", [("lattice", (10, 10), 2, 1_500),
                                                      ("ladder", (60,), 0, 500)])
def test_keen_draws_close_at_their_stuck_nodes(family, size, seed, most):
    """One-flow draws with an accuracy weight of 10⁶ (docs/fa2.md): ``lattice(10, 10)`` #2
    (98 coupling nodes) took 4,234 search nodes before the stuck nodes' covers, ~720 with
    them, ~150 with the branch on the DPs' nodes too; ``ladder(60)`` #0 (108) ran 45,000
    nodes into a 60 s limit before the covers, 12,396 with them, 29 with the branch. Each
    closes in fewer than ``most`` nodes, and its answer equals the MILP's."""
    from fa2opt.verify import matches

    inst = _keen(family, size, seed)
    got = fa2opt.solve(inst, "fa2", time_limit=60)
    assert got.status == "optimal"
    assert got.extra["search_nodes"] < most, got.extra["search_nodes"]
    want = fa2opt.solve(inst, "milp", time_limit=60)
    assert want.status == "optimal" and matches(got, want)
