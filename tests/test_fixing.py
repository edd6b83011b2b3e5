"""The fixing DP of small coupling spaces (:mod:`fa2opt.reductions.fixing`): exact against
brute force and against the searches it replaces there, on random non-SP and multi-flow
instances (infeasible ones, ties and the SLA edge included), with cutoffs and deadlines."""

from __future__ import annotations

import dataclasses
import random
import sys

import pytest
from hypothesis import given, settings

import fa2opt
from fa2opt.model import Config, Edge, Flow, Instance, Node
from fa2opt.pareto import EXACT_FRONTS, pareto_remainder
from fa2opt.problem import Problem
from fa2opt.reductions import Chain, Decouple, ParetoPrune, SeriesParallel
from fa2opt.reductions.fixing import fits, fixing_search
from fa2opt.reductions.search import components
from fa2opt.verify import matches, verify
from strategies import edge_instances, instances
from test_reductions import dense_dag_instance

SEARCH = sys.modules["fa2opt.reductions.search"]
# the same arithmetic without ``fronts``: the searches decide every component (the old path)
SEARCHES_ONLY = dataclasses.replace(EXACT_FRONTS, fronts=False)
CHAIN = Chain([ParetoPrune(), SeriesParallel(), Decouple()])


def _decoupled(inst: Instance):
    problem = Problem.from_instance(inst)
    if not problem.is_feasible():
        return problem, None, None
    dp, inverse = CHAIN.apply(problem)
    return problem, dp, inverse


def _check_component_by_component(problem, dp, inverse, ref) -> int:
    """Each coupled component by the fixing DP equals the searches on it, and the whole
    search with the DP (forced on every small tree) equals brute force. Returns how many
    components the fixing DP decided."""
    used = 0
    for sub in components(dp):
        if not sub.coupling or not fits(sub):
            continue
        used += 1
        mine = fixing_search(sub)
        theirs = SEARCH.search(sub, SEARCHES_ONLY)
        assert (mine is None) == (theirs is None)
        if mine is not None:
            assert mine.cost == pytest.approx(theirs.cost, rel=1e-9, abs=1e-9)
    res = SEARCH.search(dp, EXACT_FRONTS)
    assert res is not None
    positions = CHAIN.invert(res.choice, inverse)
    assert problem.meets_slas(positions)
    assert problem.cost(positions) == pytest.approx(ref.cost, rel=1e-9)
    assert res.cost == pytest.approx(ref.cost, rel=1e-9)
    return used


@settings(max_examples=150, deadline=None)
@given(instances(max_nodes=7, max_configs=4, shapes=("non-sp", "multi-flow", "nested-sp")))
def test_fixing_dp_equals_brute_force_and_the_searches(inst):
    """Random non-SP (nodes duplicated by the reduction) and multi-flow (shared nodes)
    instances, infeasible ones included: every coupled component decided by evaluating its
    fixings equals the Lagrangian / equal-split search on it, and the whole decision equals
    brute force."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(SEARCH, "FIXING_MIN_SPACE", 1)  # every small tree, whatever its space
        mp.setattr(SEARCH, "FIXING_MAX_SPACE", 10 ** 9)
        problem, dp, inverse = _decoupled(inst)
        ref = fa2opt.solve(inst, "brute-force")
        if dp is None:
            assert ref.status == "infeasible"
            return
        assert ref.status == "optimal"
        _check_component_by_component(problem, dp, inverse, ref)


def test_fixing_dp_on_dense_dags_with_duplicated_nodes():
    """One flow over dense DAGs (several nodes duplicated, several coupling nodes per
    component): the fixing DP decides at least most of them, equal to the searches and to
    brute force."""
    rng = random.Random(7)
    used = 0
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(SEARCH, "FIXING_MIN_SPACE", 1)
        mp.setattr(SEARCH, "FIXING_MAX_SPACE", 10 ** 9)
        for _ in range(30):
            inst = dense_dag_instance(rng, rng.randint(5, 8), rng.randint(3, 4), rng.uniform(0.3, 0.6))
            problem, dp, inverse = _decoupled(inst)
            ref = fa2opt.solve(inst, "brute-force")
            assert ref.status == "optimal" and dp is not None
            used += _check_component_by_component(problem, dp, inverse, ref)
    assert used >= 20


def test_a_cutoff_keeps_exactly_what_beats_it():
    """``cutoff`` (the SLA edge's enumeration): at the optimum nothing is returned (only a
    strictly cheaper choice is wanted), just above it the optimum, as the searches do."""
    rng = random.Random(3)
    seen = 0
    for _ in range(30):
        inst = dense_dag_instance(rng, rng.randint(5, 8), 4, rng.uniform(0.3, 0.6))
        _, dp, _ = _decoupled(inst)
        for sub in components(dp):
            if not sub.coupling or not fits(sub):
                continue
            seen += 1
            opt = fixing_search(sub)
            assert opt is not None
            assert fixing_search(sub, cutoff=opt.cost) is None
            assert SEARCH._equal_split_search(sub, pareto_remainder, None, opt.cost) is None
            above = fixing_search(sub, cutoff=opt.cost * (1 + 1e-6) + 1e-9)
            assert above is not None and above.cost == opt.cost
    assert seen >= 10


def test_a_deadline_gives_a_feasible_incumbent_and_a_valid_bound():
    """A deadline already past: ``timed_out``, a choice that meets the SLAs, and a lower
    bound not above the optimum."""
    rng = random.Random(5)
    for _ in range(10):
        inst = dense_dag_instance(rng, 7, 4, 0.5)
        problem, dp, inverse = _decoupled(inst)
        ref = fa2opt.solve(inst, "brute-force")
        for sub in components(dp):
            if not sub.coupling or not fits(sub):
                continue
            res = fixing_search(sub, deadline=0.0)
            assert res.timed_out and res.lower_bound <= res.cost
            assert res.lower_bound <= ref.cost * (1 + 1e-9)
            assert problem.meets_slas(CHAIN.invert(res.choice, inverse))


def _tied(k: int) -> Instance:
    """The N graph (a→c, a→d, b→d: a non-SP flow, one node duplicated) where every node's
    rows trade latency for cost on one line: many fixings cost the same."""
    rows = tuple(Config(1, "cpu", float(u), 10.0 / u) for u in (1, 2, 4, 5)[:k])
    nodes = tuple(Node(v, rows) for v in "abcd")
    edges = (Edge("a", "c"), Edge("a", "d"), Edge("b", "d"))
    inst = Instance("tied", nodes, edges, (Flow("f", 1.0, 1.0, tuple("abcd")),))
    return inst


@pytest.mark.parametrize("sla", [5.0, 7.5, 10.0, 12.5, 15.0, 20.0])
def test_ties_between_fixings(sla):
    """Rows on one cost/latency line (many fixings tie): the cost equals brute force and
    the choice meets the SLA, through the whole solver."""
    inst = _tied(4).with_slas({"f": sla})
    ref = fa2opt.solve(inst, "brute-force")
    ans = fa2opt.solve(inst, "fa2")
    assert ans.status == ref.status
    if ref.status == "optimal":
        assert verify(inst, ans).ok and matches(ans, ref), (ans.cost, ref.cost)


@settings(max_examples=100, deadline=None)
@given(edge_instances(max_nodes=6, max_configs=4))
def test_fa2_at_the_sla_edge_equals_brute_force(inst):
    """SLAs at the spec's tolerance edge: fa2 with the fixing DP on every coupled component
    with small trees (the cutoffs of the edge's enumeration included) equals brute force."""
    ref = fa2opt.solve(inst, "brute-force")
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(SEARCH, "FIXING_MIN_SPACE", 1)
        ans = fa2opt.solve(inst, "fa2")
    assert ans.status == ref.status, (ans.status, ans.message)
    if ref.status == "optimal":
        assert verify(inst, ans).ok and matches(ans, ref), (ans.cost, ref.cost)


def test_the_search_takes_the_fixing_dp_only_below_the_threshold(monkeypatch):
    """``search`` evaluates fixings exactly when the space is at most FIXING_MAX_SPACE (and
    at least FIXING_MIN_SPACE with a single coupling node), the trees are small and the
    arithmetic declares ``fronts``."""
    calls = []
    real = fixing_search

    def spy(*a, **k):
        calls.append(1)
        return real(*a, **k)

    monkeypatch.setattr(sys.modules["fa2opt.reductions.fixing"], "fixing_search", spy)
    rng = random.Random(0)  # a draw whose coupling space (4) is at least FIXING_MIN_SPACE
    inst = dense_dag_instance(rng, 7, 4, 0.5)
    _, dp, _ = _decoupled(inst)
    space = SEARCH._space(dp)
    assert dp.coupling and space >= SEARCH.FIXING_MIN_SPACE
    monkeypatch.setattr(SEARCH, "FIXING_MAX_SPACE", space)
    a = SEARCH.search(dp, EXACT_FRONTS)
    assert calls
    calls.clear()
    b = SEARCH.search(dp, SEARCHES_ONLY)
    monkeypatch.setattr(SEARCH, "FIXING_MAX_SPACE", space - 1)
    c = SEARCH.search(dp, EXACT_FRONTS)
    assert not calls
    monkeypatch.setattr(SEARCH, "FIXING_MAX_SPACE", space)
    monkeypatch.setattr(SEARCH, "FIXING_MIN_SPACE", space + 1)
    SEARCH.search(dp, EXACT_FRONTS)
    assert bool(calls) == (len(dp.coupling) > 1)  # below the least space: only several nodes
    assert SEARCH._use_fixing(dp) == (len(dp.coupling) > 1)
    assert a.cost == pytest.approx(b.cost, rel=1e-9) and c.cost == pytest.approx(b.cost, rel=1e-9)


def test_a_deadline_after_the_first_fixing_keeps_it_as_the_incumbent(monkeypatch):
    """The clock passes the deadline after the first fixing (every coupling node fastest):
    that fixing's value is the answer, ``timed_out``, with a lower bound not above it nor
    above the optimum."""
    fixing = sys.modules["fa2opt.reductions.fixing"]
    rng = random.Random(9)
    checked = 0
    for _ in range(10):
        inst = dense_dag_instance(rng, 7, 4, 0.5)
        problem, dp, inverse = _decoupled(inst)
        ref = fa2opt.solve(inst, "brute-force")
        for sub in components(dp):
            if not sub.coupling or not fits(sub) or SEARCH._space(sub) < 2:
                continue
            ticks = iter([0.0] + [2.0] * 1000)  # the first check in time, then past it
            monkeypatch.setattr(fixing.time, "perf_counter", lambda: next(ticks))
            res = fixing_search(sub, deadline=1.0)
            monkeypatch.undo()
            assert res.timed_out and res.explored == 2
            assert res.lower_bound <= res.cost and res.lower_bound <= ref.cost * (1 + 1e-9)
            assert problem.meets_slas(CHAIN.invert(res.choice, inverse))
            opt = fixing_search(sub)
            assert res.cost >= opt.cost * (1 - 1e-9) and res.lower_bound <= opt.cost * (1 + 1e-9)
            checked += 1
    assert checked >= 5


def _family(name: str, shape: str | None = None):
    """Issue 13's family ``name`` (``FAMILIES``), two instances per size (the benchmarks'
    streams)."""
    import zlib

    import numpy as np
    from fa2opt.generate import FAMILIES
    gen, sizes = FAMILIES[name]
    for size in sizes:
        if shape is not None and size[1] != shape:
            continue
        for rep in range(2):
            rng = np.random.default_rng([2026, zlib.crc32(f"{name}{tuple(size)}".encode()), rep])
            yield gen(rng, *size)


@pytest.mark.parametrize("scale", [0.9, 1.0, 1.15, 1.4])
def test_fixing_dp_equals_the_searches_on_the_small_family(scale):
    """Issue 13's small non-SP graphs (2-12 nodes; two coupling leaves in one series, fixed
    leaves beside free parts, long series), SLAs scaled: the fixing DP forced on every
    component equals the searches, and its choice meets the SLAs."""
    used = 0
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(SEARCH, "FIXING_MIN_SPACE", 1)
        mp.setattr(SEARCH, "FIXING_MAX_SPACE", 10 ** 9)
        for inst in _family("small", "non-sp"):
            inst = inst.with_slas({f.name: f.sla_ms * scale for f in inst.flows})
            problem, dp, inverse = _decoupled(inst)
            if dp is None:
                continue
            for sub in components(dp):
                if not sub.coupling or not fits(sub):
                    continue
                used += 1
                mine, theirs = fixing_search(sub), SEARCH.search(sub, SEARCHES_ONLY)
                assert (mine is None) == (theirs is None)
                if mine is not None:
                    assert mine.cost == pytest.approx(theirs.cost, rel=1e-9, abs=1e-9)
            res = SEARCH.search(dp, EXACT_FRONTS)
            ref = SEARCH.search(dp, SEARCHES_ONLY)
            assert res.cost == pytest.approx(ref.cost, rel=1e-9)
            positions = CHAIN.invert(res.choice, inverse)
            assert problem.meets_slas(positions)
            assert problem.cost(positions) == pytest.approx(ref.cost, rel=1e-9)
    assert used >= 8


def _fork_shared(rng: random.Random) -> Instance:
    """Flow ``pair`` is the two nodes b, c side by side (its tree: Parallel(b, c), both
    coupling leaves: its root's fixed leaves are one point, their maximum); flow ``main``
    is a → {b, c}. Random rows, SLAs between each flow's all-fastest and 1.5x it."""
    nodes = []
    for v in "abc":
        base = rng.uniform(5, 40)
        rows = sorted({(u, round(base * (0.2 + 0.8 / u) * rng.uniform(0.8, 1.2), 3))
                       for u in rng.sample([1, 2, 3, 4, 6, 8], 4)})
        nodes.append(Node(v, tuple(Config(1, "cpu", float(u), lat) for u, lat in rows)))
    edges = (Edge("a", "b", float(rng.choice([0, 2]))), Edge("a", "c"))
    inst = Instance("fork-shared", tuple(nodes), edges,
                    (Flow("main", 1.0, 1.0, ("a", "b", "c")), Flow("pair", 1.0, 1.0, ("b", "c"))))
    problem = Problem.from_instance(inst)
    fast = problem.flow_latencies(problem.fastest_choice())
    return inst.with_slas({f: round(x * rng.uniform(1.0, 1.5), 3) for f, x in fast.items()})


def test_a_parallel_of_coupling_leaves_at_a_root():
    """Two coupling leaves side by side at a flow's root (the cheapest point of a parallel
    with fixed leaves): fa2 equals brute force, the fixing DP equals the searches."""
    rng = random.Random(17)
    used = 0
    for _ in range(40):
        inst = _fork_shared(rng)
        problem, dp, inverse = _decoupled(inst)
        ref = fa2opt.solve(inst, "brute-force")
        ans = fa2opt.solve(inst, "fa2")
        assert ans.status == ref.status
        if dp is None:
            continue
        assert verify(inst, ans).ok and matches(ans, ref), (ans.cost, ref.cost)
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(SEARCH, "FIXING_MIN_SPACE", 1)
            used += _check_component_by_component(problem, dp, inverse, ref)
    assert used >= 30


def test_fixing_dp_on_flows_sharing_most_nodes():
    """Two to four flows over windows of one small graph (``helpers.shared_instances``: most
    nodes shared, so components of several flows and several coupling nodes): the fixing
    DP forced on every component equals the searches and brute force."""
    from helpers import shared_instances
    used = 0
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(SEARCH, "FIXING_MIN_SPACE", 1)
        mp.setattr(SEARCH, "FIXING_MAX_SPACE", 10 ** 9)
        for inst in shared_instances(12, 5, nodes=(4, 7), configs=(3, 5)):
            problem, dp, inverse = _decoupled(inst)
            ref = fa2opt.solve(inst, "brute-force")
            if dp is None:
                assert ref.status == "infeasible"
                continue
            used += _check_component_by_component(problem, dp, inverse, ref)
    assert used >= 8


def test_costs_twenty_orders_apart_do_not_cancel():
    """Found by CI (tests/test_extreme_ranges.py): coupling nodes whose fastest costs are
    1e15 and 0.01. The enumeration's 'rest at the fastest' was once a difference of sums,
    1e15 + 0.01 - 1e15 = 0, so a fixing paying 0.01 looked as cheap as one paying 1e-15 and
    won. Each sum is now formed by addition only; fa2 equals brute force and the MILP."""
    big, tiny = 1e15, 1e-15

    def node(name: str, *rows: tuple[float, float], **kw) -> Node:
        return Node(name, tuple(Config(1, "cpu", u, lat) for u, lat in rows), **kw)

    nodes = (node("v0", (big, tiny), (tiny, big)),
             node("v1", (tiny, tiny), (big, tiny), (1.0, tiny)),
             node("v2", (0.01, tiny), (tiny, big)),
             node("v3", (tiny, tiny), max_replicas=1))
    # (v0 → v2 with a delay, so the path v0 → v1 → v2 does not dominate it: a coupling node)
    edges = tuple(Edge(a, b, d) for a, b, d in (("v0", "v1", 0.0), ("v0", "v2", tiny),
                                                ("v1", "v2", 0.0), ("v1", "v3", 0.0)))
    inst = Instance("extreme", nodes, edges, (Flow("f", tiny, 1e30, ("v0", "v1", "v2", "v3")),),
                    queueing="none")
    problem, dp, _ = _decoupled(inst)
    (sub,) = [s for s in components(dp) if s.coupling]
    assert fixing_search(sub).cost == pytest.approx(SEARCH.search(sub, SEARCHES_ONLY).cost,
                                                    rel=1e-9)
    ref = fa2opt.solve(inst, "brute-force")
    ans = fa2opt.solve(inst, "fa2")
    assert ref.cost == pytest.approx(4 * tiny, rel=1e-9)
    assert verify(inst, ans).ok and matches(ans, ref), (ans.cost, ref.cost)
    assert matches(fa2opt.solve(inst, "milp"), ref)
