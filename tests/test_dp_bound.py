"""The one-flow-exact bound (2) of fa2opt.reductions.dp_bound: a lower bound below every
coupling fixing's exact value for any multipliers and any search node, and the flow-bound
search with it forced equals brute force on small instances with a weighted accuracy
objective (non-convex candidates, the case it is for)."""

from __future__ import annotations

import itertools
import random
from dataclasses import replace

import numpy as np

import fa2opt
from fa2opt.model import Edge, Flow, Instance
from fa2opt.reductions import dp_bound, flow_bound

from test_fa2 import check_against, random_dag_instance  # noqa: E402  (tests/test_fa2.py)
from helpers import with_drawn_slas  # noqa: E402  (tests/helpers.py)
from test_flow_bound import SEARCH, _search_and_fixings, _small_instances, two_flow_instance  # noqa: E402


def with_accuracy(inst: Instance, rng: random.Random, weight: float) -> Instance:
    """Every row a model variant of random accuracy; objective cost − weight · Σ accuracy."""
    nodes = tuple(replace(n, configs=tuple(replace(c, accuracy=rng.choice([0.5, 0.7, 0.85, 1.0]))
                                           for c in n.configs)) for n in inst.nodes)
    return replace(inst, nodes=nodes, extra={**inst.extra, "accuracy": {"weight": weight}})


def sp_shared_instance(rng: random.Random, k: int = 3) -> Instance:
    """A series-parallel DAG (a chain with a parallel pair) and three flows over windows of
    it (two overlapping in the middle): every tree has each node once (the flows the root
    tries), shared nodes couple them."""
    n = rng.randint(5, 7)
    base = random_dag_instance(rng, n, k, 0.0)
    names = [f"v{i}" for i in range(n)]
    edges = [Edge(names[i], names[i + 1], rng.choice([0.0, 1.0])) for i in range(n - 1)]
    edges.append(Edge(names[0], names[2]))  # v1 in parallel with the edge v0 -> v2
    cut = rng.randint(2, n - 3)  # two flows overlapping in the middle, a third window
    flows = [Flow("head", 10.0, 1.0, tuple(names[:cut + 2])), Flow("tail", 10.0, 1.0, tuple(names[cut:]))]
    a = rng.randint(1, n - 3)
    flows.append(Flow("window", 10.0, 1.0, tuple(names[a:a + rng.randint(2, n - a)])))
    inst = replace(base, edges=tuple(edges), flows=tuple(flows))
    return with_drawn_slas(inst, rng, 0.7)


def window_instance(rng: random.Random, k: int) -> Instance:
    """A random non-SP DAG of ``k`` rows a node and a second flow over a suffix of it."""
    base = random_dag_instance(rng, rng.randint(5, 7), k, rng.uniform(0.3, 0.6))
    names = [v.name for v in base.nodes]
    inst = replace(base, flows=(base.flows[0], Flow("part", 10.0, 1.0, tuple(names[rng.randint(1, 3):]))))
    return with_drawn_slas(inst, rng, 0.6)


def test_bound_never_exceeds_a_fixings_exact_value_for_any_multipliers_and_masks():
    """(2) with each flow kept, at the LP's duals and at random non-negative ones, over random
    search nodes (masks): never above the least exact value of a coupling fixing inside."""
    rng = random.Random(2)
    checked = tight = 0
    sp = random.Random(22)
    for inst in itertools.chain(_small_instances(21, 60), (sp_shared_instance(sp) for _ in range(30))):
        got = _search_and_fixings(inst)
        if got is None:
            continue
        s, (_, _, _, raw), values = got
        ub0 = np.ones(s.lp.n_lam)
        _, duals = s.lp.solve(ub0)
        full = tuple((1 << (b - a)) - 1 for a, b in s.wcols)
        nprng = np.random.default_rng(checked)
        for trial in range(8):
            d = duals if trial == 0 else duals * nprng.uniform(0, 3, duals.size) + nprng.exponential(0.5, duals.size)
            y = s.lp.flow_weights(d, True)
            masks = full if trial < 2 else tuple(  # (coupling nodes narrowed: see values)
                m if i >= s.n_c or rng.random() < 0.5 else (rng.randrange(1, m + 1) or 1)
                for i, m in enumerate(full))
            ub = s.upper_bounds(masks)
            inside = [v for p, v in values.items()
                      if v is not None and all((m >> k) & 1 for m, k in zip(masks, p))]
            best = min(inside, default=float("inf"))
            for i in range(len(s.dpb.flows)):
                b = s.dpb.flow_bound(i, y, ub)
                assert b <= best * (1 + 1e-12) + 1e-9, (inst.name, i, b, best)
                if trial == 0:  # (2) above (1) at the LP's duals somewhere (the point of it)
                    tight += b > raw + 1e-9 * max(1.0, abs(raw))
                checked += 1
    assert checked >= 300 and tight >= 1


def test_fa2_with_the_dp_bound_forced_equals_brute_force_on_weighted_accuracy(monkeypatch):
    """Flow bound on every coupled component, (2) kept from the root whatever it gains: fa2
    = brute force (objective cost − w · Σ accuracy, verified), and (2) was used below the
    root on some instances."""
    monkeypatch.setattr(SEARCH, "FLOW_MIN_COUPLING", 1)
    monkeypatch.setattr(SEARCH, "FIXING_MAX_SPACE", 0)  # the search itself, not the fixing DP
    monkeypatch.setattr(dp_bound, "MIN_GAIN", -np.inf)
    monkeypatch.setattr(dp_bound, "MAX_LEAVES_PER_NODE", np.inf)  # non-SP flows tried too
    monkeypatch.setattr(dp_bound, "SHARE", np.inf)  # every node's DP, however long it takes
    monkeypatch.setattr(flow_bound, "DP_BOUND_FROM", 1)  # measured at the root
    calls = []
    real = dp_bound.DPBound.node
    monkeypatch.setattr(dp_bound.DPBound, "node",
                        lambda self, y, ub, explored: calls.append(self.kept) or real(self, y, ub, explored))
    rng = random.Random(100)
    for _ in range(60):
        u = rng.random()
        inst = (window_instance(rng, 4) if u < 0.4 else two_flow_instance(rng) if u < 0.7
                else random_dag_instance(rng, rng.randint(5, 8), 3, rng.uniform(0.35, 0.7)))
        check_against(with_accuracy(inst, rng, rng.choice([20.0, 100.0, 1000.0])))
    assert any(k is not None for k in calls)


def test_root_keeps_the_bound_only_where_it_closes_the_gap(monkeypatch):
    """The measurement: a flow is kept exactly when its (2) closes MIN_GAIN of the gap to
    the incumbent, and then (2) is what the search gets; otherwise −inf (never used)."""
    monkeypatch.setattr(dp_bound, "MAX_LEAVES_PER_NODE", np.inf)
    sp = random.Random(32)
    kept = dropped = 0
    for inst in itertools.chain(_small_instances(31, 40), (sp_shared_instance(sp) for _ in range(20))):
        got = _search_and_fixings(inst)
        if got is None:
            continue
        s, _, values = got
        opt = min((v for v in values.values() if v is not None), default=None)
        if opt is None:
            continue
        ub = np.ones(s.lp.n_lam)
        _, duals = s.lp.solve(ub)
        y = s.lp.flow_weights(duals, True)
        raw = s.lp.bound(y[0], y[1], ub)[0]
        got = s.dpb.root(y, ub, raw, opt)
        if s.dpb.kept is not None:
            assert got == s.dpb.flow_bound(s.dpb.kept, y, ub)
            assert got - raw >= dp_bound.MIN_GAIN * (opt - raw) > 0
            assert got <= opt * (1 + 1e-12) + 1e-9
            kept += 1
        else:
            assert got == -np.inf
            dropped += 1
    assert kept >= 1 and dropped >= 1


def test_search_nodes_do_not_depend_on_the_clock(monkeypatch):
    """The DPs' budget (SHARE) and the separation rounds are counted in work, not seconds: a
    clock that jumps a second at every reading (a slow, loaded machine) leaves the same search
    (shared-large 60x3 seed 0, where (2) is kept and its budget binds; no time limit)."""
    import time

    from fa2opt.generate import FAMILIES
    from fa2opt.reductions import clear_cache
    from fa2opt.solver import get_solver

    problem = fa2opt.Problem.from_instance(FAMILIES["shared-large"].generator(np.random.default_rng(0), 60, 3))
    calls = []
    real = dp_bound.DPBound.flow_bound
    monkeypatch.setattr(dp_bound.DPBound, "flow_bound",
                        lambda self, i, y, ub: calls.append(i) or real(self, i, y, ub))
    fa2 = get_solver("fa2", series_runs=False)  # (merged, 54 coupling nodes are 2: no search)
    clear_cache()
    a = fa2.solve(problem)
    used = len(calls)
    now = [time.perf_counter()]

    def jumpy() -> float:
        now[0] += 1.0
        return now[0]

    monkeypatch.setattr(time, "perf_counter", jumpy)
    clear_cache()
    b = fa2.solve(problem)
    assert used > 2  # (2) ran below the root
    assert (b.cost, b.extra["search_nodes"], len(calls) - used) == (a.cost, a.extra["search_nodes"], used)
