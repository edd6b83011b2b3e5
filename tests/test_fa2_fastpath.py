"""The fa2 hot path's shortcuts against the general code they bypass.

* ``pareto._chain_cheapest`` (chains of 1-3 free nodes, and a node plus a fork of single
  nodes, swept on candidate lists) against the general front DP (``_Context.cheapest``)
  and plain enumeration;
* ``pruning.prune_table`` (plain-Python and numpy paths) against ``pareto_rows``;
* ``ParetoPrune`` (one pass: limits from each table's fastest row, then the front under
  the limit) against the definition: ``pareto_rows`` of each table under
  ``latency_limits``; ``pruning.prune_front`` (the tables' lists, numpy above
  ``_LIST_ROWS``) against ``pareto_rows``;
* ``FA2Solver.decide_flat`` (the chain fused for single flows whose decomposition is a
  small chain or fork, ``sptree.flat_shape`` and ``pareto.flat_cheapest``) against
  ``FA2Solver.decide_chain`` (the same positions) and the full solver without it;
* ``frozen.dict_init`` (the one-step constructor of the answer's dataclasses) against the
  dataclass behaviour it must keep.
"""

from __future__ import annotations

import dataclasses
import itertools
import random
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from hypothesis import given, settings

from fa2opt.answer import Answer, NodeDecision, decision_answer
from fa2opt.fa2 import FA2Solver
from fa2opt.generate import SHAPES, Sizes, random_instance
from fa2opt.io import load_instance
from fa2opt.model import Config, Flow, Instance, Node
from fa2opt.pareto import _NOT_CHAIN, _Context, _chain_cheapest, backtrack, flat_cheapest, pareto_remainder
from fa2opt.problem import Problem
from fa2opt.reductions import (Candidates, Delay, Leaf, Parallel, ParetoPrune, Series, evaluate,
                               latency_limits, pareto_rows)
from fa2opt.reductions import pruning
from fa2opt.reductions.sp_decompose import flow_tree
from fa2opt.reductions.sptree import flat_shape
from fa2opt.solver import Decision, checked, solve
from fa2opt.verify import matches, verify


def random_candidates(rng: random.Random, name: str, k: int) -> Candidates:
    """A front of k points: latency strictly rising, cost strictly falling (ties possible in
    the sums, as with real profiles: values on a coarse grid)."""
    lat = sorted(rng.sample(range(1, 60), k))
    cost = sorted(rng.sample(range(1, 40), k), reverse=True)
    return Candidates(name, [float(x) for x in lat], [float(x) for x in cost], list(range(k)))


def enumerate_cheapest(nodes: list[str], delay: float, budget: float, cands) -> float | None:
    best = None
    for ks in itertools.product(*(range(len(cands[v])) for v in nodes)):
        lat = delay + sum(cands[v].latency[k] for v, k in zip(nodes, ks))
        if lat <= budget:
            c = sum(cands[v].cost[k] for v, k in zip(nodes, ks))
            best = c if best is None else min(best, c)
    return best


def assert_shortcut_agrees(tree, budget, cands, nodes, fast, general, expected) -> bool:
    """The shortcut's answer ``fast`` and the general DP's ``general`` both equal the
    enumerated optimum ``expected`` (None: both find nothing); the shortcut's choice covers
    ``nodes``, costs what it says and meets the budget (the tree's value). True when there
    is a choice."""
    if expected is None:
        assert fast is None and general is None
        return False
    cost, choice = fast
    assert cost == pytest.approx(expected, abs=1e-9)
    assert float(general[0].cost[general[1]]) == pytest.approx(expected, abs=1e-9)
    assert set(choice) == set(nodes)
    assert sum(cands[v].cost[i] for v, i in choice.items()) == pytest.approx(cost, abs=1e-9)
    assert evaluate(tree, {v: cands[v].latency[i] for v, i in choice.items()}) <= budget + 1e-9
    return True


@pytest.mark.parametrize("seed", range(300))
def test_chain_shortcut_equals_front_dp_and_enumeration(seed):
    rng = random.Random(seed)
    k = rng.randint(1, 3)
    nodes = [f"n{i}" for i in range(k)]
    cands = {v: random_candidates(rng, v, rng.randint(1, 12)) for v in nodes}
    parts, delay = [], 0.0
    for v in nodes:
        parts.append(Leaf(v))
        if rng.random() < 0.4:
            d = float(rng.randint(0, 5))
            parts.append(Delay(d))
            delay += d
    tree = parts[0] if len(parts) == 1 else Series(tuple(parts))
    fastest = delay + sum(cands[v].latency[0] for v in nodes)
    slowest = delay + sum(cands[v].latency[-1] for v in nodes)
    budget = rng.choice([fastest - 1.0, fastest, slowest, rng.uniform(fastest, slowest)])

    fast = _chain_cheapest(tree, budget, cands)
    assert fast is not _NOT_CHAIN
    expected = enumerate_cheapest(nodes, delay, budget, cands)
    general = _Context(tree, cands, None, None).cheapest(tree, budget)
    if not assert_shortcut_agrees(tree, budget, cands, nodes, fast, general, expected):
        return
    choice = fast[1]
    assert pareto_remainder(tree, budget, cands) == fast  # the public entry takes the shortcut
    assert backtrack(*general).keys() == choice.keys()


@pytest.mark.parametrize("seed", range(200))
def test_fork_shortcut_equals_front_dp_and_enumeration(seed):
    """A node then a fork of 2-3 single nodes (either order, delays between), or the fork
    alone: the shortcut equals the general DP and enumeration (latency = the tree's value)."""
    rng = random.Random(1000 + seed)
    width = rng.randint(2, 3)
    fork_nodes = [f"b{i}" for i in range(width)]
    fork = Parallel(tuple(Leaf(v) for v in fork_nodes))
    nodes = list(fork_nodes)
    if rng.random() < 0.2:
        tree = fork
    else:
        nodes.append("a")
        parts = [Leaf("a"), fork]
        if rng.random() < 0.5:
            parts.reverse()
        if rng.random() < 0.5:
            parts.insert(1, Delay(float(rng.randint(0, 5))))
        tree = Series(tuple(parts))
    cands = {v: random_candidates(rng, v, rng.randint(1, 10)) for v in nodes}
    fastest = evaluate(tree, {v: cands[v].latency[0] for v in nodes})
    slowest = evaluate(tree, {v: cands[v].latency[-1] for v in nodes})
    budget = rng.choice([fastest - 1.0, fastest, slowest, rng.uniform(fastest, slowest)])

    fast = _chain_cheapest(tree, budget, cands)
    assert fast is not _NOT_CHAIN
    expected = None
    for ks in itertools.product(*(range(len(cands[v])) for v in nodes)):
        if evaluate(tree, {v: cands[v].latency[k] for v, k in zip(nodes, ks)}) <= budget:
            c = sum(cands[v].cost[k] for v, k in zip(nodes, ks))
            expected = c if expected is None else min(expected, c)
    general = _Context(tree, cands, None, None).cheapest(tree, budget)
    assert_shortcut_agrees(tree, budget, cands, nodes, fast, general, expected)


def test_chain_shortcut_declines_what_it_does_not_handle():
    rng = random.Random(1)
    cands = {v: random_candidates(rng, v, 3) for v in "abcd"}
    four = Series(tuple(Leaf(v) for v in "abcd"))
    assert _chain_cheapest(four, 100.0, cands) is _NOT_CHAIN
    two_forks = Series((Parallel((Leaf("a"), Leaf("b"))), Parallel((Leaf("c"), Leaf("d")))))
    assert _chain_cheapest(two_forks, 100.0, cands) is _NOT_CHAIN
    nested = Series((Leaf("a"), Parallel((Leaf("b"), Series((Leaf("c"), Leaf("d")))))))
    assert _chain_cheapest(nested, 100.0, cands) is _NOT_CHAIN
    two_and_fork = Series((Leaf("a"), Leaf("b"), Parallel((Leaf("c"), Leaf("d")))))
    assert _chain_cheapest(two_and_fork, 100.0, cands) is _NOT_CHAIN
    # long candidate lists of three nodes go through the front DP
    big = {v: Candidates(v, [float(i) for i in range(1, 60)], [float(100 - i) for i in range(1, 60)],
                         list(range(59))) for v in "abc"}
    three = Series(tuple(Leaf(v) for v in "abc"))
    assert _chain_cheapest(three, 90.0, big) is _NOT_CHAIN
    r = pareto_remainder(three, 90.0, big)
    assert r is not None and r[0] == pytest.approx(enumerate_cheapest(list("abc"), 0.0, 90.0, big))
    # fixed or weighted leaves never take the shortcut (their costs are not the candidates')
    two = Series((Leaf("a"), Leaf("b")))
    r = pareto_remainder(two, 100.0, cands, None, {"a": 0.5})
    assert r[0] == pytest.approx(min(0.5 * cands["a"].cost[i] + cands["b"].cost[j]
                                     for i in range(3) for j in range(3)
                                     if cands["a"].latency[i] + cands["b"].latency[j] <= 100.0))


@pytest.mark.parametrize("rows", [1, 5, 40, 64, 65, 200])
def test_prune_table_equals_pareto_rows_on_both_paths(rows):
    rng = np.random.default_rng(rows)
    for _ in range(30):
        lat = np.sort(rng.integers(1, 50, rows).astype(float))
        cost = rng.integers(1, 30, rows).astype(float)
        order = np.lexsort((cost, lat))
        lat, cost = lat[order], cost[order]
        for limit in (float("inf"), float(rng.uniform(0, 55)), float(lat[0]) - 1.0):
            keep = pareto_rows(lat.tolist(), cost.tolist(), limit)
            got = pruning.prune_table(lat, cost, limit)
            assert got == ([lat[i] for i in keep], [cost[i] for i in keep], keep)
            assert pruning.pareto_rows_array(lat, cost, limit).tolist() == keep


@pytest.mark.parametrize("shape", SHAPES)
def test_one_pass_pruning_equals_its_definition(shape):
    rng = np.random.default_rng(7)
    for i in range(10):
        inst = random_instance(shape, rng, name=f"{shape}-{i}",
                               sizes=Sizes(nodes=(2, 8), configs=(1, 90))).instance
        problem = Problem.from_instance(inst)
        limits = latency_limits(problem)
        pruned, _ = ParetoPrune().apply(problem)
        loose, _ = ParetoPrune(slack=False).apply(problem)
        for v, t in problem.tables.items():
            keep = pareto_rows(t.latency_ms.tolist(), t.cost.tolist(), limits[v])
            assert pruned.candidates[v].positions == keep
            assert pruned.candidates[v].latency == [float(t.latency_ms[k]) for k in keep]
            assert pruned.candidates[v].cost == [float(t.cost[k]) for k in keep]
            assert loose.candidates[v].positions == pareto_rows(t.latency_ms.tolist(), t.cost.tolist())


# -- fa2's shortcut for flat single flows (FA2Solver.decide_flat) ---------------------------

try:
    from strategies import instances
except ImportError:  # pragma: no cover
    from tests.strategies import instances

PIPELINES = sorted((Path(__file__).resolve().parents[1] / "datasets" / "pipelines").glob("*.json"))


def test_flat_shape_of_chains_forks_and_the_rest():
    a, b, c, d = (Leaf(v) for v in "abcd")
    assert flat_shape(a) == (("a",), (), ())
    assert flat_shape(Series((a, Delay(1.0), b, Delay(2.0), c))) == (("a", "b", "c"), (), (1.0, 2.0))
    assert flat_shape(Series((Parallel((b, c)), Delay(0.5), a))) == (("a",), ("b", "c"), (0.5,))
    assert flat_shape(Parallel((a, b, c))) == ((), ("a", "b", "c"), ())
    # several series nodes and a fork is flat too (the sweeps decline it)
    assert flat_shape(Series((a, d, Parallel((b, c))))) == (("a", "d"), ("b", "c"), ())
    assert flat_shape(Series((Parallel((a, b)), Parallel((c, d))))) is None
    assert flat_shape(Series((a, Parallel((b, Series((c, d))))))) is None
    assert flat_shape(Parallel((a, Series((b, c))))) is None


def test_flat_cheapest_declines_what_the_sweeps_do_not_take():
    one = ([1.0, 2.0], [2.0, 1.0])
    assert flat_cheapest([one] * 4, [], 100.0) is _NOT_CHAIN
    assert flat_cheapest([one] * 2, [one] * 2, 100.0) is _NOT_CHAIN
    assert flat_cheapest([], [], 0.0) == (0.0, [], [])
    assert flat_cheapest([], [], -1.0) is None
    assert flat_cheapest([one, ([], [])], [], 100.0) is None
    assert flat_cheapest([one], [one, one], 3.0) == (4.0, [0], [1, 1])
    assert flat_cheapest([one], [one, one], 2.0) == (6.0, [0], [0, 0])
    assert flat_cheapest([one], [one, one], 1.5) is None


def check_flat(problem: Problem, **options) -> Decision | None:
    """decide_flat agrees with the reduction chain (status and the very same positions);
    returns the flat decision (None: the shortcut declined)."""
    solver = FA2Solver(**options)
    flat = solver.decide_flat(problem)
    general = solver.decide_chain(problem)
    if flat is None:
        return None
    assert flat.status == general.status
    assert flat.choice == general.choice
    if flat.choice is not None:
        a = checked(problem, decision_answer(problem, flat.choice, status=flat.status, method="fa2"))
        assert a.status == "optimal" and verify(problem.instance, a).ok
        assert set(flat.extra) == set(general.extra)
    return flat


@settings(max_examples=400)
@given(instances(max_nodes=4, max_configs=8, shapes=("chain", "tree", "nested-sp", "fork-join"),
                 multi_flow=False))
def test_flat_shortcut_equals_the_reduction_chain(inst):
    """Single flows of chains, trees (a node then a fork) and small series-parallel graphs,
    with delays, caps, every queueing model, infeasible SLAs: where the shortcut decides it
    decides exactly what the chain decides; the solver's answer equals the chain's."""
    problem = Problem.from_instance(inst)
    check_flat(problem)
    check_flat(problem, cache=False)
    a = solve(problem, "fa2")
    b = solve(problem, "fa2", shortcut=False)
    assert a.status == b.status and matches(a, b)
    assert a.status in ("optimal", "infeasible")


@settings(max_examples=200)
@given(instances(max_nodes=3, max_configs=12, shapes=("chain", "tree"), multi_flow=False))
def test_flat_shortcut_takes_every_small_chain_and_tree(inst):
    """Chains of 1-3 nodes and trees of 2-3 nodes (a node, then a fork) are flat unless a
    fork branch carries a delay: the shortcut decides every flat one (the triple sweep's
    step cap is not reached at 12 rows)."""
    problem = Problem.from_instance(inst)
    shape = flat_shape(flow_tree(problem.flows[0])[0])
    assert (check_flat(problem) is not None) == (shape is not None)
    if inst.name == "hyp-chain" or not any(d for p in problem.flows[0].preds.values() for _, d in p):
        assert shape is not None


@pytest.mark.parametrize("path", PIPELINES, ids=lambda p: p.stem)
def test_flat_shortcut_on_the_real_pipelines(path):
    """Every single-flow real pipeline takes the shortcut (the multi-flow ones never do)."""
    problem = Problem.from_instance(load_instance(path))
    flat = check_flat(problem)
    assert (flat is not None) == (len(problem.flows) == 1)
    if flat is not None:
        assert flat.status == "optimal"


def test_flat_shortcut_declines_multi_flow_free_nodes_and_long_chains():
    rng = np.random.default_rng(3)
    problems = []
    for shape, n in (("multi-flow", 4), ("chain", 4), ("fork-join", 4), ("non-sp", 4)):
        inst = random_instance(shape, rng, name=f"{shape}-{n}", sizes=Sizes(nodes=(n, n))).instance
        problems.append(Problem.from_instance(inst))
    rows = (Config(1, "cpu", 1.0, 10.0), Config(4, "cpu", 1.0, 25.0))
    free = Instance("free-node", (Node("a", rows), Node("b", rows)), (),
                    (Flow("main", 50.0, 100.0, ("a",)),), queueing="none")  # b in no flow
    problems.append(Problem.from_instance(free))
    for problem in problems:
        assert FA2Solver().decide_flat(problem) is None
        a = solve(problem, "fa2")
        assert a.status in ("optimal", "infeasible") and a == solve(problem, "fa2", shortcut=False).with_(
            solve_ms=a.solve_ms, extra=a.extra)


def test_prune_front_lists_equal_the_array_path():
    """prune_front scans the table's lists up to _LIST_ROWS rows and uses numpy above: both
    equal pareto_rows under any limit."""
    rng = np.random.default_rng(11)
    for rows in (1, 7, pruning._LIST_ROWS, pruning._LIST_ROWS + 1, 400):
        for _ in range(10):
            lat = np.sort(rng.integers(1, 80, rows).astype(float))
            cost = rng.integers(1, 40, rows).astype(float)
            order = np.lexsort((cost, lat))
            lat, cost = lat[order], cost[order]
            table = SimpleNamespace(latency_ms=lat, cost=cost,
                                    lists=(list(range(rows)), [1] * rows, lat.tolist(), cost.tolist()))
            for limit in (float("inf"), float(rng.uniform(0, 85)), float(lat[0]) - 1.0):
                keep = pareto_rows(lat.tolist(), cost.tolist(), limit)
                assert pruning.prune_front(table, limit) == (
                    [float(lat[i]) for i in keep], [float(cost[i]) for i in keep], keep)


def test_dict_init_keeps_frozen_dataclass_behaviour():
    """dict_init's one-step constructor: same fields, defaults, fresh default factories,
    equality, hashing, replace, frozenness."""
    nd = NodeDecision(4, "cpu", 2.0, None, 3, 10.0, 12.5, 6.0)
    assert nd == NodeDecision(batch=4, hardware="cpu", units=2.0, variant=None, replicas=3,
                              profile_latency_ms=10.0, latency_ms=12.5, cost=6.0)
    assert hash(nd) == hash(NodeDecision(4, "cpu", 2.0, None, 3, 10.0, 12.5, 6.0))
    assert dataclasses.replace(nd, batch=8).batch == 8 and nd.batch == 4
    with pytest.raises(dataclasses.FrozenInstanceError):
        nd.batch = 1  # type: ignore[misc]
    a, b = Answer("optimal", "fa2"), Answer("optimal", "fa2")
    assert a.solve_ms == 0.0 and a.cost is None and a.nodes == {} and a.extra == {}
    assert a.nodes is not b.nodes and a.extra is not b.extra  # fresh default factories
    assert a == b and a.with_(cost=1.0).cost == 1.0
    assert Answer.from_json(a.with_(nodes={"x": nd}).to_json()).nodes == {"x": nd}
    with pytest.raises(TypeError):
        Answer()  # type: ignore[call-arg]
    c = Candidates("v", [1.0], [2.0], [0])
    assert c == Candidates(node="v", latency=[1.0], cost=[2.0], positions=[0]) and len(c) == 1
    with pytest.raises(dataclasses.FrozenInstanceError):
        c.node = "w"  # type: ignore[misc]
