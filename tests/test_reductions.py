"""The transformation steps of FA2 (fa2opt.reductions) and the exact front arithmetic."""

from __future__ import annotations

import itertools
import random
import sys

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from fa2opt.model import Config, Edge, Flow, Instance, Node
from fa2opt.arithmetic import Arithmetic
from fa2opt.pareto import EXACT_FRONTS, Front, parallel, pareto_remainder, series
from fa2opt.problem import Problem
from fa2opt.reductions import (Candidates, Chain, Decouple, Leaf, ParetoPrune, SeriesParallel, SPFlow,
                               clear_cache, decompose, evaluate, flow_tree, leaf_counts, leaves,
                               front_rows, search)
from fa2opt.reductions.sptree import Delay, Parallel, Series, SPTree, count_leaves

sp_decompose_module = sys.modules["fa2opt.reductions.sp_decompose"]

try:
    from strategies import instances
except ImportError:  # pragma: no cover
    from tests.strategies import instances

from helpers import shared_instances  # noqa: E402  (tests/helpers.py)


# -- helpers ------------------------------------------------------------------------------

def random_dag(rng: random.Random, n: int, p: float) -> tuple[list[str], dict[str, tuple]]:
    """A random DAG on n nodes in topological order with random edge latencies."""
    nodes = [f"v{i}" for i in range(n)]
    preds: dict[str, list] = {v: [] for v in nodes}
    for j in range(n):
        for i in range(j):
            if rng.random() < p:
                preds[nodes[j]].append((nodes[i], rng.choice([0.0, 0.0, 1.5, 4.0])))
    return nodes, {v: tuple(ps) for v, ps in preds.items()}


def longest(nodes, preds, lat) -> float:
    finish = {}
    for v in nodes:
        finish[v] = lat[v] + max((finish[u] + d for u, d in preds[v]), default=0.0)
    return max(finish.values())


def instance(nodes: dict[str, list[tuple[int, float, float]]], edges, flows) -> Instance:
    """nodes: name -> [(batch, units, latency_ms)], flows: [(name, rate, sla, members)]."""
    return Instance(
        name="t",
        nodes=tuple(Node(v, tuple(Config(b, "cpu", u, p) for b, u, p in rows))
                    for v, rows in nodes.items()),
        edges=tuple(Edge(*e) for e in edges),
        flows=tuple(Flow(f, r, s, tuple(m)) for f, r, s, m in flows),
        queueing="none")


# -- Pareto pruning -----------------------------------------------------------------------

@given(st.lists(st.tuples(st.integers(1, 6), st.integers(1, 6)), min_size=1, max_size=12))
def test_front_rows_keeps_exactly_one_of_each_nondominated_point(rows):
    rows = sorted(rows)
    lat = [float(a) for a, _ in rows]
    cost = [float(b) for _, b in rows]
    kept = front_rows(lat, cost)[2]
    pts = {(lat[i], cost[i]) for i in kept}
    assert len(pts) == len(kept)  # one of equal rows
    for a, b in set(zip(lat, cost)):
        dominated = any(x <= a and y <= b and (x, y) != (a, b) for x, y in zip(lat, cost))
        assert ((a, b) in pts) == (not dominated)


def test_prune_drops_dominated_and_sla_breaking_rows_and_inverts_to_positions():
    # rows: (batch, units, latency); queueing none, one replica each (rate tiny)
    inst = instance({"a": [(1, 1, 10.0), (1, 2, 10.0), (1, 3, 5.0), (1, 1, 12.0), (1, 1, 50.0)],
                     "b": [(1, 1, 20.0), (1, 2, 8.0)]},
                    [("a", "b")], [("main", 0.001, 40.0, ["a", "b"])])
    problem = Problem.from_instance(inst)
    step = ParetoPrune()
    pruned, inv = step.apply(problem)
    a = pruned.candidates["a"]
    # (5,3) and (10,1) survive; (10,2) dominated, (12,1) dominated by (10,1); 50 > 40-8
    assert a.latency == [5.0, 10.0] and a.cost == [3.0, 1.0]
    assert pruned.candidates["b"].latency == [8.0, 20.0]
    positions = step.invert({"a": 1, "b": 0}, inv)
    t = problem.tables["a"]
    assert float(t.latency_ms[positions["a"]]) == 10.0 and float(t.cost[positions["a"]]) == 1.0
    loose, _ = ParetoPrune(slack=False).apply(problem)
    assert loose.candidates["a"].latency == [5.0, 10.0]  # (50, 1) is dominated by (10, 1)


def test_prune_slack_uses_the_longest_path_through_the_node():
    # fork-join s -> {x, y} -> t: y's limit depends on the path through y only
    inst = instance({"s": [(1, 1, 10.0)], "x": [(1, 1, 30.0)],
                     "y": [(1, 4, 5.0), (1, 2, 25.0), (1, 1, 31.0)], "t": [(1, 1, 10.0)]},
                    [("s", "x"), ("s", "y"), ("x", "t"), ("y", "t")],
                    [("main", 0.001, 50.0, ["s", "x", "y", "t"])])
    pruned, _ = ParetoPrune().apply(Problem.from_instance(inst))
    assert pruned.candidates["y"].latency == [5.0, 25.0]  # 31 > 50 - 20


# -- series-parallel decomposition ----------------------------------------------------------

@settings(max_examples=150, deadline=None)
@given(st.integers(0, 10**6), st.integers(1, 9), st.floats(0.1, 0.8), st.sampled_from([1, 64]))
def test_decomposition_evaluates_to_the_longest_path(seed, n, p, scan):
    """Also with the dominance scan cut to one part (it only drops redundant branches)."""
    rng = random.Random(seed)
    nodes, preds = random_dag(rng, n, p)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(sp_decompose_module, "DOMINANCE_SCAN", scan)
        tree, _ = decompose(nodes, preds)
    assert set(leaves(tree)) == set(nodes)
    for _ in range(5):
        lat = {v: rng.choice([0.5, 1.0, 3.0, 7.25, 20.0]) for v in nodes}
        assert evaluate(tree, lat) == pytest.approx(longest(nodes, preds, lat), abs=1e-9)


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 10**6), st.integers(1, 12), st.floats(0.1, 0.9))
def test_leaf_counts_of_a_decomposition_are_its_leaves(seed, n, p):
    """flow_decomposition's counts are the tree's leaves per node (count_leaves); without a
    node reduction that copied leaves they are taken as "every node once" without walking
    the tree, which this checks against the walk (also on graphs with parallel joins and
    zero-cost reductions)."""
    from fa2opt.problem import FlowGraph

    rng = random.Random(seed)
    nodes, preds = random_dag(rng, n, p)
    tree, red, counts = sp_decompose_module.flow_decomposition(
        FlowGraph("f", 10.0, tuple(nodes), preds), cache=False)
    assert counts == count_leaves(tree)
    if red == 0:
        assert counts == {v: 1 for v in nodes}


def test_node_reduction_prefers_a_vertex_whose_new_arcs_merge_at_once():
    """In the bridge-like graph 0→1, 0→2, 1→3, 2→3, 2→4, 3→5, 4→5 every node reduction
    copies one leaf; reducing 2 makes the arc 0 → 3 that 1's branch already has (a parallel
    merge at once), after which the rest reduces: 2 is the one coupling node. The first
    vertex in order copied 0, then 3 (two coupling nodes, 7 × 1 kernel combinations where 2
    has 5 candidates, on a 6-node graph of the bench)."""
    nodes = ["n0", "n1", "n2", "n3", "n4", "n5"]
    preds = {"n0": (), "n1": (("n0", 0.0),), "n2": (("n0", 0.0),),
             "n3": (("n1", 0.0), ("n2", 0.0)), "n4": (("n2", 0.0),),
             "n5": (("n3", 0.0), ("n4", 0.0))}
    tree, red = decompose(nodes, preds)
    assert red == 1
    assert {v for v, k in count_leaves(tree).items() if k > 1} == {"n2"}
    lat = {v: float(i + 1) for i, v in enumerate(nodes)}
    assert evaluate(tree, lat) == longest(nodes, preds, lat)


def test_series_parallel_shapes_need_no_duplication():
    chain = (["a", "b", "c"], {"a": (), "b": (("a", 2.0),), "c": (("b", 0.0),)})
    tree, red = decompose(*chain)
    # a series' delays: one Delay, its last part
    assert red == 0 and tree == Series((Leaf("a"), Leaf("b"), Leaf("c"), Delay(2.0)))
    chain2 = (["a", "b", "c"], {"a": (), "b": (("a", 2.0),), "c": (("b", 0.5),)})
    assert decompose(*chain2)[0] == Series((Leaf("a"), Leaf("b"), Leaf("c"), Delay(2.5)))
    fj = (["s", "x", "y", "t"], {"s": (), "x": (("s", 0.0),), "y": (("s", 0.0),),
                                  "t": (("x", 0.0), ("y", 0.0))})
    tree, red = decompose(*fj)
    assert red == 0 and isinstance(tree, Series) and isinstance(tree.parts[1], Parallel)
    single, red = decompose(["a"], {"a": ()})
    assert single == Leaf("a") and red == 0
    # two disconnected chains: a parallel composition
    disc, red = decompose(["a", "b", "c"], {"a": (), "b": (("a", 0.0),), "c": ()})
    assert red == 0 and isinstance(disc, Parallel)


def test_issue_bridge_is_series_parallel_once_transitive_edges_are_dominated():
    # a→b, a→c, b→c, b→d, c→d with d_e = 0: a→c and b→d are never on a longest path
    preds = {"a": (), "b": (("a", 0.0),), "c": (("a", 0.0), ("b", 0.0)), "d": (("b", 0.0), ("c", 0.0))}
    tree, red = decompose(["a", "b", "c", "d"], preds)
    assert list(leaves(tree)) == ["a", "b", "c", "d"]
    # with edge latencies the transitive edges matter: still exact, possibly duplicated
    preds = {"a": (), "b": (("a", 0.0),), "c": (("a", 9.0), ("b", 0.0)), "d": (("b", 9.0), ("c", 0.0))}
    tree, red = decompose(["a", "b", "c", "d"], preds)
    rng = random.Random(1)
    for _ in range(50):
        lat = {v: rng.uniform(0.1, 20) for v in "abcd"}
        assert evaluate(tree, lat) == pytest.approx(longest("abcd", preds, lat))


def test_n_graph_is_not_series_parallel_and_duplicates_one_node():
    preds = {"a": (), "b": (), "c": (("a", 0.0), ("b", 0.0)), "d": (("b", 0.0),)}
    tree, red = decompose(["a", "b", "c", "d"], preds)
    assert red >= 1
    counts = leaf_counts([SPFlow("f", 1.0, tree)])
    assert sorted(v for v, k in counts.items() if k > 1) in (["b"], ["c"])


def test_decomposition_cache_returns_the_same_tree_for_the_same_graph():
    clear_cache()
    inst = instance({"a": [(1, 1, 1.0)], "b": [(1, 1, 1.0)]}, [("a", "b")],
                    [("main", 1.0, 10.0, ["a", "b"])])
    g = Problem.from_instance(inst).flows[0]
    g2 = Problem.from_instance(inst.with_rates(3.0)).flows[0]
    assert flow_tree(g)[0] is flow_tree(g2)[0]
    assert flow_tree(g, cache=False)[0] == flow_tree(g)[0]


# -- front arithmetic ------------------------------------------------------------------------

def brute_front(points):
    pts = sorted(set(points))
    out, best = [], float("inf")
    for l, c in pts:
        if c < best:
            if out and out[-1][0] == l:
                out.pop()
            out.append((l, c))
            best = c
    return out


def rand_front(rng, n):
    pts = [(rng.randint(1, 40) * 0.5, float(rng.randint(1, 30))) for _ in range(n)]
    f = brute_front(pts)
    return Front([l for l, _ in f], [c for _, c in f])


@pytest.mark.parametrize("n", [3, 40])  # 40·40 pairs exercises the numpy path
def test_series_and_parallel_equal_their_definitions(n):
    rng = random.Random(n)
    for _ in range(30):
        a, b = rand_front(rng, n), rand_front(rng, rng.randint(1, n))
        cap = rng.uniform(5, 45)
        got = series(a, b, cap)
        want = brute_front([(la + lb, ca + cb) for la, ca in zip(a.lat, a.cost)
                            for lb, cb in zip(b.lat, b.cost) if la + lb <= cap])
        assert list(zip(np.asarray(got.lat).tolist(), np.asarray(got.cost).tolist())) == want
        for r in range(len(got)):  # back-pointers reproduce the point
            i, j = got.pair(r)  # (a shift by b's one point has no index lists)
            assert a.lat[i] + b.lat[j] == got.lat[r] and a.cost[i] + b.cost[j] == got.cost[r]
        got = parallel(a, b)
        want = brute_front([(max(la, lb), ca + cb) for la, ca in zip(a.lat, a.cost)
                            for lb, cb in zip(b.lat, b.cost)])
        assert list(zip(np.asarray(got.lat).tolist(), np.asarray(got.cost).tolist())) == want


def random_tree_candidates(rng: random.Random) -> tuple[list[str], SPTree, dict[str, Candidates]]:
    """A random DAG of 1..6 nodes as a series-parallel tree, and a random front of up to 4
    candidates per node (positions = indices)."""
    nodes, preds = random_dag(rng, rng.randint(1, 6), 0.5)
    tree, _ = decompose(nodes, preds)
    cands = {}
    for v in nodes:
        f = rand_front(rng, 4)
        cands[v] = Candidates(v, list(f.lat), list(f.cost), list(range(len(f))))
    return nodes, tree, cands


def random_fixed(rng: random.Random, tree: SPTree, cands: dict[str, Candidates]) -> dict[str, int]:
    """A random candidate for every node with more than one leaf in ``tree`` (duplicated by the
    reduction), as the coupling search fixes them."""
    counts = leaf_counts([SPFlow("f", 1.0, tree)])
    return {v: rng.randrange(len(cands[v])) for v in cands if counts[v] > 1}


def test_pareto_remainder_equals_enumeration_on_random_trees():
    rng = random.Random(7)
    for trial in range(60):
        nodes, tree, cands = random_tree_candidates(rng)
        fixed = random_fixed(rng, tree, cands)
        budget = rng.uniform(5, 60)
        best = None
        free = [v for v in nodes if v not in fixed]
        for combo in itertools.product(*(range(len(cands[v])) for v in free)):
            ch = dict(zip(free, combo)) | fixed
            lat = {v: cands[v].latency[k] for v, k in ch.items()}
            if evaluate(tree, lat) <= budget:
                c = sum(cands[v].cost[ch[v]] for v in free)
                best = c if best is None else min(best, c)
        got = pareto_remainder(tree, budget, cands, fixed)
        assert (got is None) == (best is None)
        if got is not None:
            assert got[0] == pytest.approx(best)
            ch = got[1] | fixed
            assert evaluate(tree, {v: cands[v].latency[k] for v, k in ch.items()}) <= budget
            assert sum(cands[v].cost[ch[v]] for v in free) == pytest.approx(got[0])


# -- decoupling and the search with a pluggable remainder solver --------------------------------

def enumerate_remainder(tree, budget, candidates, fixed=None, weight=None):
    """A deliberately naive remainder solver (enumeration) -- any curve arithmetic plugs in."""
    fixed, weight = fixed or {}, weight or {}
    slots = list(enumerate(leaves(tree)))  # every leaf chooses for itself (relaxation)
    free = [(i, v) for i, v in slots if v not in fixed]
    best = None

    def value(t, it, ch):
        if isinstance(t, Leaf):
            i = next(it)
            return candidates[t.node].latency[fixed[t.node] if t.node in fixed else ch[i]]
        if isinstance(t, Delay):
            return t.latency_ms
        vals = [value(p, it, ch) for p in t.parts]
        return sum(vals) if isinstance(t, Series) else max(vals)

    def price(v, k):
        w = weight.get(v, 1.0)
        return candidates[v].cost[k] * w if isinstance(w, (int, float)) else w[k]

    for combo in itertools.product(*(range(len(candidates[v])) for _, v in free)):
        ch = {i: k for (i, _), k in zip(free, combo)}
        if value(tree, iter(range(len(slots))), ch) <= budget:
            c = sum(price(v, k) for (_, v), k in zip(free, combo))
            if best is None or c < best[0]:
                best = (c, {v: k for (_, v), k in zip(free, combo)})
    return best


# :func:`enumerate_remainder` declaring per-candidate prices (the Lagrangian search)
priced_enumerate_remainder = Arithmetic("enumeration", enumerate_remainder, prices=True)


def assert_search_exact(problem, chain, dp, inverse, ref_cost, remainders) -> None:
    """With each remainder solver, the search's decision (mapped back through ``chain``)
    meets the SLAs and costs the reference optimum, as does the search's own value."""
    for remainder in remainders:
        res = search(dp, remainder)
        positions = chain.invert(res.choice, inverse)
        assert problem.meets_slas(positions)
        assert problem.cost(positions) == pytest.approx(ref_cost, rel=1e-9)
        assert res.cost == pytest.approx(ref_cost, rel=1e-9)


@settings(max_examples=40, deadline=None)
@given(instances(max_nodes=5, max_configs=3))
def test_search_with_a_plugged_in_remainder_solver_is_exact(inst):
    problem = Problem.from_instance(inst)
    chain = Chain([ParetoPrune(), SeriesParallel(), Decouple()])
    ref = __import__("fa2opt").solve(inst, "brute-force")
    if not problem.is_feasible():
        assert ref.status == "infeasible"
        return
    dp, inverse = chain.apply(problem)
    assert_search_exact(problem, chain, dp, inverse, ref.cost,
                        (enumerate_remainder, pareto_remainder, EXACT_FRONTS, priced_enumerate_remainder))


SEARCH = sys.modules["fa2opt.reductions.search"]  # the package re-exports the function


def test_lagrangian_search_equals_enumeration_and_brute_force(monkeypatch):
    """The Lagrangian split forced on every component (also tiny ones), with the Pareto DP
    and with the naive priced enumeration, against brute force, on flows sharing most
    nodes; the equal split gives the same optimum."""
    monkeypatch.setattr(SEARCH, "LAGRANGE_MIN_SPACE", 0)
    monkeypatch.setattr(SEARCH, "FIXING_MAX_SPACE", 0)  # the search itself, not the fixing DP
    chain = Chain([ParetoPrune(), SeriesParallel(), Decouple()])
    lagrangian_runs = 0
    for inst in shared_instances(12, 3, nodes=(4, 7), configs=(3, 6)):
        problem = Problem.from_instance(inst)
        ref = __import__("fa2opt").solve(inst, "brute-force")
        assert ref.status == "optimal"
        dp, inverse = chain.apply(problem)
        lagrangian_runs += bool(dp.coupling)
        assert_search_exact(problem, chain, dp, inverse, ref.cost,
                            (EXACT_FRONTS, priced_enumerate_remainder, enumerate_remainder))
    assert lagrangian_runs >= 10


def test_pareto_remainder_with_prices_equals_enumeration():
    """Per-candidate prices (any reals, not falling with latency, some negative) replace
    the costs; the leaf front keeps only candidates cheaper than every faster one."""
    rng = random.Random(11)
    for trial in range(60):
        nodes, tree, cands = random_tree_candidates(rng)
        weight = {v: [rng.uniform(-3, 10) for _ in cands[v].cost] if rng.random() < 0.6
                  else rng.choice([0.5, 1.0]) for v in nodes}
        fixed = random_fixed(rng, tree, cands)
        budget = rng.uniform(5, 60)
        want = enumerate_remainder(tree, budget, cands, fixed, weight)
        got = pareto_remainder(tree, budget, cands, fixed, weight)
        assert (got is None) == (want is None)
        if got is not None:
            assert got[0] == pytest.approx(want[0])
            ch = got[1] | fixed
            assert evaluate(tree, {v: cands[v].latency[k] for v, k in ch.items()}) <= budget
            w = lambda v, k: (cands[v].cost[k] * weight[v] if isinstance(weight[v], float)  # noqa: E731
                              else weight[v][k])
            assert sum(w(v, k) for v, k in got[1].items()) == pytest.approx(got[0])


def test_components_split_flows_linked_by_coupling_nodes():
    """Flows f0, f1 share a; f2 shares nothing: two components, searched apart."""
    rows = [(1, 1, 10.0), (2, 1, 14.0), (4, 1, 20.0)]
    inst = instance({v: rows for v in "abcde"}, [("a", "b"), ("a", "c"), ("d", "e")],
                    [("f0", 50, 40.0, "ab"), ("f1", 50, 40.0, "ac"), ("f2", 50, 40.0, "de")])
    dp, _ = Chain([ParetoPrune(), SeriesParallel(), Decouple()]).apply(Problem.from_instance(inst))
    parts = SEARCH.components(dp)
    assert sorted(tuple(f.name for f in p.flows) for p in parts) == [("f0", "f1"), ("f2",)]
    assert [p.coupling for p in parts if len(p.flows) == 2] == [("a",)]
    ref = __import__("fa2opt").solve(inst, "brute-force")
    assert search(dp, pareto_remainder).cost == pytest.approx(ref.cost)


def test_decouple_names_shared_nodes_as_coupling():
    inst = instance({"d": [(1, 1, 5.0), (1, 1, 9.0)], "f": [(1, 1, 5.0)], "p": [(1, 1, 5.0)]},
                    [("d", "f"), ("d", "p")],
                    [("faces", 1.0, 30.0, ["d", "f"]), ("plates", 1.0, 30.0, ["d", "p"])])
    dp, _ = Chain([ParetoPrune(), SeriesParallel(), Decouple()]).apply(Problem.from_instance(inst))
    assert dp.coupling == ("d",)
    assert dp.flow_coupling == (("d",), ("d",))
    assert dp.free == ()


@pytest.mark.parametrize("parts", [6, 12, 40])
def test_bounded_series_fold_equals_the_full_front(parts):
    """Long series take the Lagrangian-bounded fold; it must find the full front's cheapest
    point within the budget (and a choice that attains it)."""
    from fa2opt.pareto import pareto_front
    rng = random.Random(parts)
    for trial in range(25):
        names = [f"v{i}" for i in range(parts)]
        tree = Series(tuple(Leaf(v) for v in names))
        cands = {}
        for v in names:
            f = rand_front(rng, rng.randint(1, 8))
            cands[v] = Candidates(v, list(f.lat), list(f.cost), list(range(len(f))))
        lo = sum(c.latency[0] for c in cands.values())
        hi = sum(c.latency[-1] for c in cands.values())
        budget = lo + rng.uniform(-0.05, 1.1) * (hi - lo)
        full = pareto_front(tree, budget, cands)
        got = pareto_remainder(tree, budget, cands)
        assert (got is None) == (len(full) == 0)
        if got is not None:
            assert got[0] == pytest.approx(float(full.cost[-1]))
            assert sum(cands[v].latency[k] for v, k in got[1].items()) <= budget
            assert sum(cands[v].cost[k] for v, k in got[1].items()) == pytest.approx(got[0])


# -- nodes duplicated inside one flow: per-leaf (per-copy) Lagrangian prices ------------------

def test_split_leaves_gives_every_duplicated_leaf_its_own_alias():
    """On random non-SP DAGs: one alias per leaf of each duplicated node, distinct, mapped
    back to the node; other leaves untouched; same value when each alias has its node's
    latency, and the value of the relaxation when aliases differ is ≥ with all at the
    fastest of them (monotone)."""
    from fa2opt.reductions.sptree import split_leaves
    rng = random.Random(8)
    split = 0
    for _ in range(80):
        nodes, preds = random_dag(rng, rng.randint(4, 10), rng.uniform(0.3, 0.7))
        tree, _ = decompose(nodes, preds)
        counts = leaf_counts([SPFlow("f", 1.0, tree)])
        dup = {v for v, k in counts.items() if k > 1}
        new, alias = split_leaves(tree, dup)
        names = list(leaves(new))
        assert len(names) == len(list(leaves(tree)))
        assert sorted(alias) == sorted(a for a in names if a in alias)  # each alias once
        assert {v: sum(1 for a in alias.values() if a == v) for v in dup} == {v: counts[v] for v in dup}
        assert all(a in alias or a not in dup for a in names)
        lat = {v: rng.uniform(0.5, 20) for v in nodes}
        full = {**lat, **{a: lat[v] for a, v in alias.items()}}
        assert evaluate(new, full) == pytest.approx(evaluate(tree, lat))
        split += bool(dup)
    assert split >= 20


def dense_dag_instance(rng: random.Random, n: int, k: int, p: float) -> Instance:
    """One flow over a random dense DAG (many nodes duplicated by the reduction), k rows per
    node, SLA between the all-fastest and 1.6x it."""
    names = [f"v{i}" for i in range(n)]
    nodes = []
    for v in names:
        base = rng.uniform(5, 40)
        rows = [(b, u, round(base * (0.3 + 0.7 * b) * (0.2 + 0.8 / u) * rng.uniform(0.9, 1.1), 3))
                for b, u in rng.sample([(1, 1), (2, 1), (4, 2), (8, 2), (1, 4), (4, 4), (2, 2)], k)]
        nodes.append(Node(v, tuple(Config(b, "cpu", float(u), lat) for b, u, lat in rows)))
    edges = [Edge(names[i], names[j], float(rng.choice([0, 0, 1, 2])))
             for i in range(n) for j in range(i + 1, n) if rng.random() < p]
    inst = Instance("dense", tuple(nodes), tuple(edges), (Flow("main", 20.0, 1.0, tuple(names)),))
    problem = Problem.from_instance(inst)
    fast = problem.flow_latencies(problem.fastest_choice())["main"]
    return inst.with_slas({"main": round(fast * rng.uniform(1.0, 1.6), 3)})


def test_lagrangian_search_with_duplicated_nodes_equals_brute_force(monkeypatch):
    """Single flows whose reduction duplicates nodes (per-copy prices, aliased leaves): the
    search with the Pareto DP (and, on the smallest, the naive priced enumeration, and the
    naive one without prices, i.e. the equal split) equals brute force; the Lagrangian split is forced on every component."""
    monkeypatch.setattr(SEARCH, "LAGRANGE_MIN_SPACE", 0)
    monkeypatch.setattr(SEARCH, "FIXING_MAX_SPACE", 0)  # the search itself, not the fixing DP
    chain = Chain([ParetoPrune(), SeriesParallel(), Decouple()])
    fa2opt = __import__("fa2opt")
    rng = random.Random(21)
    duplicated = 0
    for trial in range(40):
        n = rng.randint(5, 9)
        inst = dense_dag_instance(rng, n, rng.randint(3, 4), rng.uniform(0.3, 0.6))
        problem = Problem.from_instance(inst)
        ref = fa2opt.solve(inst, "brute-force")
        assert ref.status == "optimal"
        dp, inverse = chain.apply(problem)
        duplicated += any(k > 1 for k in dp.flows[0].leaf_count.values())
        rems = [EXACT_FRONTS]
        if sum(dp.flows[0].leaf_count.values()) <= 8:  # enumeration: K^leaves per solve
            rems += [priced_enumerate_remainder, enumerate_remainder]
        assert_search_exact(problem, chain, dp, inverse, ref.cost, rems)
        if dp.coupling:  # the root's Lagrangian bound is a valid lower bound
            lag = SEARCH._LagrangianSearch(dp, pareto_remainder, None)
            assert lag.run().cost == pytest.approx(ref.cost, rel=1e-9)
            assert lag.root_lb <= ref.cost * (1 + 1e-9)
    assert duplicated >= 25


def test_leaf_fixer_keeps_the_value_and_only_the_free_leaves():
    """``sptree.leaf_fixer`` (what the search's exact values fold before the DP) on the
    decompositions of random non-SP DAGs with delays: for any latencies, its value equals the
    tree's with the fixed nodes at their latencies (up to the order of the float sums), and
    only the unfixed nodes keep leaves."""
    from fa2opt.reductions.sptree import evaluate, leaf_fixer, leaves
    from test_fa2 import random_dag_instance  # noqa: E402  (tests/test_fa2.py)

    rng = random.Random(12)
    for _ in range(60):
        inst = random_dag_instance(rng, rng.randint(3, 9), 3, rng.uniform(0.3, 0.8))
        g = Problem.from_instance(inst).flows[0]
        tree = SeriesParallel().flow(g).tree
        names = sorted(set(leaves(tree)))
        lat = {v: rng.uniform(0.5, 40.0) for v in names}
        fixed = {v: lat[v] for v in names if rng.random() < 0.6}
        folded = leaf_fixer(tree, fixed)(fixed)
        assert set(leaves(folded)) == set(names) - set(fixed)
        assert evaluate(folded, lat) == pytest.approx(evaluate(tree, lat), rel=1e-12)


def _dag_encoding(tree) -> list:
    """A tree as the list of its distinct sub-expressions in post-order, each by its type,
    its Delay's bits or Leaf's node, and its parts' positions in the list: equal encodings
    mean the same tree, the same floats bit for bit and the same sharing."""
    from fa2opt.reductions.sptree import Delay, Leaf

    pos: dict[int, int] = {}
    out: list = []
    stack = [tree]
    while stack:
        t = stack.pop()
        if type(t) is tuple:
            t = t[0]
            if id(t) not in pos:
                pos[id(t)] = len(out)
                out.append((type(t).__name__, tuple(pos[id(p)] for p in t.parts)))
        elif id(t) not in pos:
            if type(t) is Leaf or type(t) is Delay:
                pos[id(t)] = len(out)
                out.append(("L", t.node) if type(t) is Leaf else ("D", float(t.latency_ms).hex()))
            else:
                stack.append((t,))
                stack.extend(reversed(t.parts))
    return out


def test_leaf_fixer_is_the_generic_fold_compiled():
    """``sptree.leaf_fixer(tree, fixed)(latency)`` -- the folding compiled once per fixed set
    (the coupling search's) -- is the generic ``fold_constants`` with the fixed leaves as
    Delays: the same tree, the same bits, the same shared sub-expressions, for every subset
    fixed (none, some, all) and latencies spread over 20 decades, on non-SP decompositions
    with and without zero delays."""
    from fa2opt.reductions.sptree import Delay, Leaf, fold_constants, leaf_fixer, leaves
    from test_fa2 import random_dag_instance  # noqa: E402  (tests/test_fa2.py)

    rng = random.Random(21)
    for trial in range(80):
        inst = random_dag_instance(rng, rng.randint(2, 10), 3, rng.uniform(0.2, 0.9))
        tree = SeriesParallel().flow(Problem.from_instance(inst).flows[0]).tree
        names = sorted(set(leaves(tree)))
        for share in (0.0, 0.5, 0.8, 1.0):
            fixed = [v for v in names if rng.random() < share]
            fix = leaf_fixer(tree, fixed)
            for _ in range(3):
                lat = {v: 10 ** rng.uniform(-10, 10) for v in fixed}
                ref = fold_constants(tree, lambda t: Delay(lat[t.node]) if type(t) is Leaf
                                     and t.node in lat else t, Delay)
                assert _dag_encoding(fix(lat)) == _dag_encoding(ref)


_LABELS = st.one_of(st.none(), st.builds(Leaf, st.sampled_from("abc")),
                    st.builds(Delay, st.sampled_from([0.1, 0.2, 0.3, 1e-9, 7.0])))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(_LABELS, st.lists(_LABELS, min_size=2, max_size=4)), max_size=8))
def test_a_series_run_is_the_left_fold_of_its_labels(raw):
    """``_series_run`` (a run of series vertices reduced at once) builds the very tree the
    one-at-a-time reductions build: the left fold of ``_series``, parts and delay sums alike
    (a list item is first folded into a label of its own, so labels may be Series)."""
    from functools import reduce
    from fa2opt.reductions.sp_decompose import _series, _series_run

    labels = [reduce(_series, x, None) if isinstance(x, list) else x for x in raw]
    assert repr(_series_run(labels)) == repr(reduce(_series, labels, None))


def test_a_long_chain_is_one_series_of_its_leaves():
    """A 100,000-node chain, its series reduced as one run (~1 s here; each step used to copy
    the run's parts so far, O(n²): 2.4 s at 50,000 nodes): one Series of every leaf in order
    and the delays' sum."""
    nodes = tuple(f"v{i}" for i in range(100_000))
    preds = {v: ((nodes[i - 1], 0.5),) if i else () for i, v in enumerate(nodes)}
    tree, red = decompose(nodes, preds)
    assert red == 0 and type(tree) is Series
    assert [p.node for p in tree.parts if type(p) is Leaf] == list(nodes)
