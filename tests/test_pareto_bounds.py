"""The front DP's Lagrangian bound pruning (fa2opt.pareto_bound, issue 13) against brute force.

Large trees prune every sub-expression's front by ``c + μ_e l + Σ_{others} Φ ≤ UB``; these
tests force that path on small random series-parallel trees (thresholds set to 0) and
compare with enumeration: the answer, the hulls (below every front), the bound (≤ the
optimum), the greedy choice (feasible, ≥ the optimum) and the fallback when UB is wrong.
"""

from __future__ import annotations

import itertools
import random

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import fa2opt.pareto as P
from fa2opt import pareto_bound as PB
from fa2opt.reductions import Candidates
from fa2opt.reductions.sptree import Delay, Leaf, Parallel, Series, SPTree, leaves


def random_tree(rng: random.Random, names: list[str], size: int, depth: int = 0) -> SPTree:
    """A random series-parallel tree of ``size`` leaves (nodes may repeat: a leaf chooses
    on its own), with a few delays."""
    if size == 1 or depth > 4:
        return Leaf(rng.choice(names)) if rng.random() > 0.1 else Delay(round(rng.uniform(0, 5), 2))
    k = rng.randint(2, min(3, size))
    cuts = sorted(rng.sample(range(1, size), k - 1))
    sizes = [b - a for a, b in zip([0] + cuts, cuts + [size])]
    parts = tuple(random_tree(rng, names, s, depth + 1) for s in sizes)
    return (Series if rng.random() < 0.5 else Parallel)(parts)


def random_front(rng: random.Random, k: int) -> tuple[list[float], list[float]]:
    lat = sorted({round(rng.uniform(0.5, 20), 1) for _ in range(k)})
    cost = sorted({float(rng.randint(1, 40)) for _ in range(len(lat))}, reverse=True)
    m = min(len(lat), len(cost))
    return lat[:m], cost[:m]


def brute(tree: SPTree, budget: float, cands, fixed, weight) -> float | None:
    """The least cost over every choice of every leaf (each leaf on its own)."""
    occ = [v for v in leaves(tree)]
    free = [i for i, v in enumerate(occ) if v not in fixed]

    def value(t, it, ch):
        if type(t) is Leaf:
            i = next(it)
            v = t.node
            return cands[v].latency[fixed[v] if v in fixed else ch[i]]
        if type(t) is Delay:
            return t.latency_ms
        vals = [value(p, it, ch) for p in t.parts]
        return sum(vals) if type(t) is Series else max(vals)

    def price(v, k):
        w = weight.get(v, 1.0)
        return cands[v].cost[k] * w if isinstance(w, (int, float)) else w[k]

    best = None
    for combo in itertools.product(*(range(len(cands[occ[i]])) for i in free)):
        ch = dict(zip(free, combo))
        if value(tree, iter(range(len(occ))), ch) <= budget:
            c = sum(price(occ[i], k) for i, k in ch.items())
            best = c if best is None or c < best else best
    return best


def case(seed: int):
    rng = random.Random(seed)
    names = [f"v{i}" for i in range(rng.randint(1, 6))]
    tree = random_tree(rng, names, rng.randint(2, 7))
    cands = {}
    for v in names:
        lat, cost = random_front(rng, rng.randint(1, 4))
        cands[v] = Candidates(v, lat, cost, list(range(len(lat))))
    used = set(leaves(tree))
    fixed = {v: rng.randrange(len(cands[v])) for v in used if rng.random() < 0.15}
    weight = {}
    for v in used:
        r = rng.random()
        if r < 0.2:  # Lagrangian prices of the coupling search: any reals
            weight[v] = [rng.uniform(-3, 10) for _ in cands[v].cost]
        elif r < 0.3:
            weight[v] = 0.5
    budget = rng.uniform(3, 50)
    return tree, budget, cands, fixed, weight


@pytest.fixture
def forced(monkeypatch):
    """Every tree takes the bounded DP."""
    monkeypatch.setattr(P, "BOUND_COMPOSITES", 0)
    monkeypatch.setattr(P, "BOUND_PAIRS", 0)


@settings(max_examples=300, deadline=None)
@given(st.integers(0, 2**32))
def test_bounded_dp_equals_brute_force(seed):
    tree, budget, cands, fixed, weight = case(seed)
    want = brute(tree, budget, cands, fixed, weight)
    old = P.BOUND_COMPOSITES, P.BOUND_PAIRS
    for pairs in (0, 12):  # bounded from the start; the plain DP stopped after 12 pairs
        P.BOUND_COMPOSITES, P.BOUND_PAIRS = 0, pairs
        try:
            got = P.pareto_remainder(tree, budget, cands, fixed, weight)
        finally:
            P.BOUND_COMPOSITES, P.BOUND_PAIRS = old
        assert (got is None) == (want is None)
        if got is not None:
            assert got[0] == pytest.approx(want, abs=1e-9)


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 2**32))
def test_hulls_below_fronts_and_bound_below_optimum(seed):
    """Every sub-expression's hull lies below its exact front (within its cap, where the hull
    is cut); the root's Lagrangian bound
    ``Φ(μ) − μB`` is ≤ the optimum and the greedy choice's cost is ≥ it."""
    tree, budget, cands, fixed, weight = case(seed)
    want = brute(tree, budget, cands, fixed, weight)
    ctx = P._Context(tree, cands, fixed, weight)
    root = ctx.root_bound(tree, budget)
    if want is None:
        return
    caps = ctx.caps(tree, budget)
    stack = [tree]
    while stack:  # each sub-expression: hull(t) ≤ front value at each point within its cap
        t = stack.pop()
        stack.extend(getattr(t, "parts", ()))
        f = ctx.front(t, caps[id(t)])
        if f is None:
            continue
        h = ctx.hulls[id(t)]
        lat, cost = np.asarray(f.lat, float), np.asarray(f.cost, float)
        assert np.all(np.interp(lat, h.t, h.c) <= cost + 1e-9 * (1 + np.abs(cost)))
        assert lat[0] >= h.t[0] - 1e-9
    if root is None:
        return
    (mu, lim), ub = root
    lb = ctx.hulls[id(tree)].phi(mu) - mu * budget
    assert lb <= want + 1e-9 * (1 + abs(want))
    assert ub >= want - 1e-9 * (1 + abs(want))


def test_a_wrong_upper_bound_falls_back_to_the_exact_dp(monkeypatch, forced):
    """The greedy's UB is only trusted when the pruned DP finds a point within it: with a
    UB below the optimum (a broken primal) the answer is still the optimum."""
    rng = random.Random(5)
    checked = 0
    for seed in range(200):
        tree, budget, cands, fixed, weight = case(rng.randrange(2**32))
        want = brute(tree, budget, cands, fixed, weight)
        if want is None:
            continue
        monkeypatch.setattr(P, "greedy_choice", lambda *a, w=want: (-P.INF, w - 5.0))
        got = P.pareto_remainder(tree, budget, cands, fixed, weight)
        assert got is not None and got[0] == pytest.approx(want, abs=1e-9)
        checked += 1
    assert checked > 100


def test_pruning_drops_points_on_a_large_tree():
    """On a 300-node nested series-parallel flow the bounded DP keeps fewer points than the
    plain one, and both give the same cost (the bound is not vacuous)."""
    from fa2opt.generate import scaling_instance
    from fa2opt.plan import plan_for
    from fa2opt.problem import Problem
    from fa2opt.reductions.pruning import fronts

    p = Problem.from_instance(scaling_instance("sp", 300, 50))
    tree = plan_for(p).trees[0]
    cands = {v: Candidates(v, *f) for v, f in fronts(p).items()}
    budget = p.flows[0].budget_ms
    ctx = P._Context(tree, cands, None, None)
    assert ctx.composites >= P.BOUND_COMPOSITES
    (mu, lim), ub = ctx.root_bound(tree, budget)
    full = ctx.front(tree, budget)
    pruned = ctx.front(tree, budget, (mu, lim))
    assert len(pruned) < len(full) / 2
    assert P.pareto_remainder(tree, budget, cands)[0] == float(full.cost[-1])


def test_hull_arithmetic_on_hand_made_fronts():
    a = PB.leaf_hull([1.0, 2.0, 3.0, 5.0], [10.0, 6.0, 5.0, 1.0])  # (3, 5) above the hull
    assert a.t == [1.0, 2.0, 5.0] and a.c == [10.0, 6.0, 1.0]
    b = PB.leaf_hull([2.0, 4.0], [4.0, 0.0])
    s = PB.series_hull([a, b])  # Minkowski sum: slopes -4, -2, -5/3 merged
    assert np.allclose(s.t, [3, 4, 6, 9]) and np.allclose(s.c, [14, 10, 6, 1])
    q = PB.parallel_hull([a, b])  # pointwise sum from t = 2
    assert np.allclose(q.t, [2, 4, 5]) and np.allclose(q.c, [10, 8 / 3, 1])
    # at t = 4: a inside its edge of slope -5/3 (flow 5/3), b at its last vertex (0..2)
    assert PB.split_flow([a, b], 4.0, 3.5) == pytest.approx([5 / 3, 3.5 - 5 / 3])
    assert PB.split_flow([a, b], 4.0, 1.0) == pytest.approx([1.0, 0.0])  # scaled down
    assert s.phi(3.0) == pytest.approx(min(c + 3.0 * t for t, c in zip(s.t, s.c)))


@pytest.mark.parametrize("make", [
    lambda: __import__("fa2opt.generate", fromlist=["x"]).scaling_instance("sp", 120, 50),
    lambda: __import__("fa2opt.generate", fromlist=["x"]).scaling_instance("deep-sp", 301, 3),
    lambda: __import__("fa2opt.generate.families", fromlist=["x"]).vsp_edge_latency(
        np.random.default_rng(1), 60, 0.0),
    lambda: __import__("fa2opt.generate.families", fromlist=["x"]).vsp_edge_latency(
        np.random.default_rng(7), 60, 0.15),  # coupling search: fixed nodes, prices
], ids=["sp-120", "deep-100", "vsp-60", "vsp-60-edges"])
def test_fa2_with_bounds_equals_milp(make, forced):
    """fa2 with every remainder solved by the bounded DP equals the MILP (both verified)."""
    from fa2opt.problem import Problem
    from fa2opt.solver import get_solver
    from fa2opt.verify import matches, verify

    inst = make()
    p = Problem.from_instance(inst)
    a = get_solver("fa2").solve(p)
    m = get_solver("milp").solve(p)
    assert a.status == m.status == "optimal", (a.status, a.message, m.status)
    assert verify(inst, a).ok and matches(a, m)


@settings(max_examples=120, deadline=None)
@given(st.integers(0, 10**6), st.integers(2, 9))
def test_long_series_bounded_fold_vs_brute_force(seed: int, parts: int):
    """A long series' cheapest point by the Lagrangian-bounded fold (``_fold_bounded``, μ by
    the hull edges' greedy) equals enumeration; the multiplier's choice is feasible."""
    rng = random.Random(seed)
    fronts = [P.Front(*random_front(rng, rng.randint(1, 6)), P._LEAF, f"v{i}") for i in range(parts)]
    least = sum(f.lat[0] for f in fronts)
    cap = least + 1e-9 + rng.choice([0.0, rng.uniform(0, 30), 1e3])  # (the DP's margin)
    caps = [cap - r for r in P._suffix_sums([f.lat[0] for f in fronts])]
    best = min((sum(f.cost[k] for f, k in zip(fronts, ks))
                for ks in itertools.product(*(range(len(f)) for f in fronts))
                if sum(f.lat[k] for f, k in zip(fronts, ks)) <= cap), default=None)
    hit = P._multiplier(fronts, cap)
    got = P._fold_bounded(fronts, caps, cap)
    assert hit is not None and sum(f.lat[k] for f, k in zip(fronts, hit[1])) <= cap
    assert best is not None and got is not None
    assert got.cost[-1] == pytest.approx(best, rel=1e-12, abs=1e-12)
    choice = P.backtrack(got, len(got) - 1)
    assert sum(f.cost[choice[f.node]] for f in fronts) == pytest.approx(best, rel=1e-12)
    assert sum(f.lat[choice[f.node]] for f in fronts) <= cap + 1e-9


@pytest.mark.parametrize("seed", range(6))
def test_series_with_a_bound_equals_the_bound_after_it(seed: int) -> None:
    """series(a, b, cap, bd) drops the pairs beyond the bound before its sort: the same
    points and back-pointers as _bounded(series(a, b, cap), bd), on fronts large enough for
    the numpy path, for bounds that cut nothing, some or everything."""
    Front, _bounded, series = P.Front, P._bounded, P.series
    rng = np.random.default_rng(seed)

    def front(n: int) -> Front:
        lat = np.cumsum(rng.uniform(0.1, 3.0, n))
        cost = np.cumsum(rng.uniform(0.1, 5.0, n))[::-1]
        return Front(lat.tolist(), cost.tolist())

    a, b = front(int(rng.integers(30, 60))), front(int(rng.integers(30, 60)))
    assert len(a.lat) * len(b.lat) > P.NUMPY_PAIRS
    cap = float(a.lat[-1] + b.lat[-1]) * rng.uniform(0.4, 1.0)
    whole = series(a, b, cap)
    for mu in (0.0, 0.5, 2.0, 10.0):
        values = np.asarray(whole.cost) + mu * np.asarray(whole.lat)
        for lim in (values.min() - 1.0, float(np.median(values)), values.max() + 1.0):
            want = _bounded(whole, (mu, lim))
            got = series(a, b, cap, (mu, lim))
            got = _bounded(got, (mu, lim)) if len(got.lat) else None
            if want is None:
                assert got is None
                continue
            assert got is not None
            assert np.array_equal(got.lat, want.lat) and np.array_equal(got.cost, want.cost)
            assert np.array_equal(got.I, want.I) and np.array_equal(got.J, want.J)


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 10**6), st.integers(20, 150), st.sampled_from([0.02, 0.2, 0.6]),
       st.sampled_from([0, 1, P.DEEPEN_PAIRS]))
def test_long_series_deepened_bound_equals_the_plain_fold(seed: int, parts: int, slack: float,
                                                          pairs: int):
    """On long series (20-150 parts, where near-ties abound) the bounded fold finds the
    plain fold's optimum, also when its fold at UB is abandoned for limits that start below
    UB and deepen (``DEEPEN_PAIRS`` 0 or 1: at once or early)."""
    old, P.DEEPEN_PAIRS = P.DEEPEN_PAIRS, pairs
    try:
        _deepened_vs_plain(seed, parts, slack)
    finally:
        P.DEEPEN_PAIRS = old


def _deepened_vs_plain(seed: int, parts: int, slack: float) -> None:
    rng = random.Random(seed)
    fronts = [P.Front(*random_front(rng, rng.randint(1, 6)), P._LEAF, f"v{i}") for i in range(parts)]
    least = sum(f.lat[0] for f in fronts)
    cap = least + 1e-9 + slack * (sum(f.lat[-1] for f in fronts) - least)
    caps = [cap - r for r in P._suffix_sums([f.lat[0] for f in fronts])]
    plain = P._fold(fronts, caps, cheapest=True)
    got = P._fold_bounded(fronts, caps, cap)
    assert got is not None and plain is not None
    assert got.cost[-1] == pytest.approx(plain.cost[-1], rel=1e-12, abs=1e-12)
    choice = P.backtrack(got, len(got) - 1)
    assert sum(f.lat[choice[f.node]] for f in fronts) <= cap + 1e-9


def test_deepening_stops_at_the_first_limit_that_holds_the_optimum(monkeypatch):
    """The folds run under rising limits stop as soon as one returns a point within its
    limit: here the second of the schedule's four (the optimum lies near the LP bound),
    after the fold at UB abandoned at once (``DEEPEN_PAIRS`` 0)."""
    rng = random.Random(4)
    fronts = [P.Front(*random_front(rng, 5), P._LEAF, f"v{i}") for i in range(120)]
    least = sum(f.lat[0] for f in fronts)
    cap = least + 0.3 * (sum(f.lat[-1] for f in fronts) - least)
    caps = [cap - r for r in P._suffix_sums([f.lat[0] for f in fronts])]
    folds = []
    real = P._fold

    def counted(*args, **kwargs):
        folds.append(kwargs.get("bounds") is not None)
        return real(*args, **kwargs)

    monkeypatch.setattr(P, "_fold", counted)
    monkeypatch.setattr(P, "DEEPEN_PAIRS", 0)
    got = P._fold_bounded(fronts, caps, cap)
    monkeypatch.undo()
    assert got.cost[-1] == pytest.approx(P._fold(fronts, caps, cheapest=True).cost[-1], rel=1e-12)
    assert all(folds) and len(folds) == 1 + 2 < 1 + P.DEEPEN_STEPS + 1


@pytest.mark.parametrize("base", [0.0, 1e13, 3e14, 1e15, 1e20])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_deepening_ends_when_its_steps_are_below_the_ulp(monkeypatch, base: float, seed: int) -> None:
    """Costs around ``base``: the gap UB − LP is below the spacing of doubles at the LP
    bound, so LP + gap/64 rounds back to LP (the first version of the deepening then never
    rose and looped for ever on the coupling search's 1e15 prices); the limits still rise
    to UB and the fold finds the plain fold's optimum."""
    monkeypatch.setattr(P, "DEEPEN_PAIRS", 0)  # deepen at once
    rng = random.Random(seed)
    fronts = []
    for i in range(30):
        lat, cost = random_front(rng, 4)
        fronts.append(P.Front(lat, [base + c for c in cost], P._LEAF, f"v{i}"))
    least = sum(f.lat[0] for f in fronts)
    cap = least + 0.3 * (sum(f.lat[-1] for f in fronts) - least)
    caps = [cap - r for r in P._suffix_sums([f.lat[0] for f in fronts])]
    got = P._fold_bounded(fronts, caps, cap)
    want = P._fold(fronts, caps, cheapest=True)
    assert got is not None and got.cost[-1] == want.cost[-1]


def test_a_capped_block_stops_its_dps_past_the_cap_and_restores_the_outer_cap() -> None:
    """pareto.capped(units): series() raises WorkSpent once the block's pairs pass
    units·PAIRS_PER_UNIT (not before); nested blocks keep the tighter cap; the cap in force
    before is back after the block, whether it ended normally or by WorkSpent."""
    a = P.Front([1.0, 2.0, 3.0, 4.0], [8.0, 4.0, 2.0, 1.0])
    b = P.Front([1.0, 2.0, 3.0, 4.0], [8.0, 4.0, 2.0, 1.0])  # 16 pairs a series: one unit
    assert P.PAIRS_CAP[0] == float("inf")
    with P.capped(2):
        P.series(a, b, 100.0)
        P.series(a, b, 100.0)  # exactly the cap: not past it
        with pytest.raises(P.WorkSpent):
            P.series(a, b, 100.0)
    assert P.PAIRS_CAP[0] == float("inf")
    with P.capped(3):
        outer = P.PAIRS_CAP[0]
        with P.capped(10):  # the outer, tighter cap holds
            assert P.PAIRS_CAP[0] == outer
        with P.capped(1):
            assert P.PAIRS_CAP[0] == P.PAIRS[0] + P.PAIRS_PER_UNIT
            P.series(a, b, 100.0)
            with pytest.raises(P.WorkSpent):
                P.series(a, b, 100.0)
        assert P.PAIRS_CAP[0] == outer
    assert P.PAIRS_CAP[0] == float("inf")
    assert len(P.series(a, b, 100.0).lat) == 7  # no cap: any number of pairs
