"""The compiled plan (:mod:`fa2opt.plan`) and the pieces it is built from.

* the plan is compiled once per structure and reused for other rates, SLAs and profiles;
  ``cache=False`` and ``clear_cache()`` compile afresh;
* each component gets its strategy (flat sweep, tree DP, coupling search), and every
  strategy, with each declared arithmetic (exact fronts with and without prices, one
  without a flat sweep), decides the optimum (brute force);
* the exact arithmetic's flat sweep (``pareto.flat_cheapest``) on chains of 1-6 nodes and
  node-plus-fork trees equals enumeration, and declines what it does not take;
* ``sptree.flat_shape`` (the one definition of "flat");
* ``pruning.front_rows`` (the one pruning scan, on lists and on arrays) and ``ParetoPrune``
  equal their definition;
* ``frozen.dict_init`` (the one-step constructor of the answer's dataclasses) keeps the
  dataclass behaviour.
"""

from __future__ import annotations

import dataclasses
import itertools
import random
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings

from fa2opt.answer import Answer, NodeDecision
from fa2opt.arithmetic import Arithmetic, as_arithmetic
from fa2opt.fa2 import FA2Solver
from fa2opt.generate import SHAPES, Sizes, random_instance
from fa2opt.io import load_instance
from fa2opt.model import Config, Flow, Instance, Node
from fa2opt.pareto import (EXACT_FRONTS, EXACT_FRONTS_EQUAL_SPLIT, NOT_FLAT, flat_cheapest,
                           pareto_remainder)
from fa2opt.plan import FLAT, SEARCH, TREE, compile_plan, plan_for
from fa2opt.plan import _sweep as plan_sweep
from fa2opt.problem import Problem
from fa2opt.reductions import (Candidates, Delay, Leaf, Parallel, ParetoPrune, Series, clear_cache,
                               evaluate, front_rows, latency_limits)
from fa2opt.reductions.sptree import flat_shape
from fa2opt.solver import checked, solve
from fa2opt.verify import matches

try:
    from strategies import instances
except ImportError:  # pragma: no cover
    from tests.strategies import instances

PIPELINES = sorted((Path(__file__).resolve().parents[1] / "datasets" / "pipelines").glob("*.json"))
TREE_ONLY = Arithmetic("exact fronts, no flat sweep", pareto_remainder, prices=True)
ARITHMETICS = (EXACT_FRONTS, EXACT_FRONTS_EQUAL_SPLIT, TREE_ONLY)


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


def sweep(tree, budget, cands, fixed=None):
    """The exact arithmetic's flat sweep as a plan calls it (``plan._sweep``: budget less
    the series' fixed terms, each fork branch's as its offset) on a tree whose ``fixed``
    nodes (node → candidate) are at their candidate. (cost, {node: index}), None or
    NOT_FLAT."""
    fixed = fixed or {}
    shape = flat_shape(tree, set(fixed))
    front = {v: (c.latency, c.cost, c.positions) for v, c in cands.items()}
    r = plan_sweep(flat_cheapest, shape, front, budget, fixed)
    if r is None or r is NOT_FLAT:
        return r
    return r[0], {**dict(zip(shape.series, r[1])), **dict(zip(shape.fork, r[2]))}


def assert_sweep_is_optimal(tree, budget, cands, nodes, got, expected, fixed_lat=None) -> None:
    """The sweep's answer ``got`` equals the enumerated optimum ``expected`` (None: nothing
    fits); its choice covers ``nodes``, costs what it says and meets the budget."""
    if expected is None:
        assert got is None
        return
    cost, choice = got
    assert cost == pytest.approx(expected, abs=1e-9)
    assert set(choice) == set(nodes)
    assert sum(cands[v].cost[i] for v, i in choice.items()) == pytest.approx(cost, abs=1e-9)
    lat = {v: cands[v].latency[i] for v, i in choice.items()}
    assert evaluate(tree, {**lat, **(fixed_lat or {})}) <= budget + 1e-9


@pytest.mark.parametrize("seed", range(200))
def test_flat_sweep_of_chains_equals_enumeration(seed):
    """Chains of 1-6 nodes with delays (the sweep takes up to the plan's FLAT_CHAIN_MAX)."""
    rng = random.Random(seed)
    k = rng.randint(1, 6)
    nodes = [f"n{i}" for i in range(k)]
    cands = {v: random_candidates(rng, v, rng.randint(1, 12 if k <= 3 else 5)) for v in nodes}
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
    got = sweep(tree, budget, cands)
    assert got is not NOT_FLAT
    assert_sweep_is_optimal(tree, budget, cands, nodes, got, enumerate_cheapest(nodes, delay, budget, cands))


@pytest.mark.parametrize("seed", range(150))
def test_flat_sweep_of_forks_equals_enumeration(seed):
    """A node then a fork of 2-3 single nodes (either order, delays between), or the fork
    alone, its branches with or without a delay or a fixed node: the sweep equals
    enumeration (latency = the tree's value)."""
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
    fixed = {}
    if rng.random() < 0.5:  # a fixed node (coupling node at a candidate) or a delay per branch
        branches = []
        for j, q in enumerate(fork.parts):
            extra = Leaf(f"w{j}") if rng.random() < 0.5 else Delay(float(rng.randint(0, 5)))
            if type(extra) is Leaf:
                cands[extra.node] = random_candidates(rng, extra.node, 3)
                fixed[extra.node] = rng.randrange(3)
            branches.append(Series((extra, q)) if rng.random() < 0.5 else Series((q, extra)))
        tree = Parallel(tuple(branches)) if tree is fork else Series(tuple(
            Parallel(tuple(branches)) if p is fork else p for p in tree.parts))
    lat = {v: cands[v].latency[k] for v, k in fixed.items()}
    fastest = evaluate(tree, {**{v: cands[v].latency[0] for v in nodes}, **lat})
    slowest = evaluate(tree, {**{v: cands[v].latency[-1] for v in nodes}, **lat})
    budget = rng.choice([fastest - 1.0, fastest, slowest, rng.uniform(fastest, slowest)])
    got = sweep(tree, budget, cands, fixed)
    assert got is not NOT_FLAT
    expected = None
    for ks in itertools.product(*(range(len(cands[v])) for v in nodes)):
        if evaluate(tree, {**{v: cands[v].latency[k] for v, k in zip(nodes, ks)}, **lat}) <= budget:
            c = sum(cands[v].cost[k] for v, k in zip(nodes, ks))
            expected = c if expected is None else min(expected, c)
    assert_sweep_is_optimal(tree, budget, cands, nodes, got, expected, lat)


def test_flat_shape_of_chains_forks_and_the_rest():
    a, b, c, d = (Leaf(v) for v in "abcd")
    assert flat_shape(a) == (("a",), (), (), ())
    assert flat_shape(Series((a, Delay(1.0), b, Delay(2.0), c))) == (("a", "b", "c"), (), (1.0, 2.0), ())
    assert flat_shape(Series((Parallel((b, c)), Delay(0.5), a))) == (("a",), ("b", "c"), (0.5,), ((), ()))
    assert flat_shape(Parallel((a, b, c))) == ((), ("a", "b", "c"), (), ((), (), ()))
    # several series nodes and a fork is flat too (the sweeps decline it)
    assert flat_shape(Series((a, d, Parallel((b, c))))) == (("a", "d"), ("b", "c"), (), ((), ()))
    # fork branches may carry delays and fixed nodes (a latency known per decision)
    assert flat_shape(Parallel((Series((Delay(1.0), a)), b))) == ((), ("a", "b"), (), ((1.0,), ()))
    assert flat_shape(Parallel((Series((a, b)), c)), {"a"}) == ((), ("b", "c"), (), (("a",), ()))
    assert flat_shape(Series((a, b, c)), {"b"}) == (("a", "c"), (), ("b",), ())
    assert flat_shape(Series((Parallel((a, b)), Parallel((c, d))))) is None
    assert flat_shape(Series((a, Parallel((b, Series((c, d))))))) is None
    assert flat_shape(Parallel((a, Series((b, c))))) is None
    assert flat_shape(Parallel((a, b)), {"a"}) is None  # a branch without a free node


def test_flat_sweep_declines_what_it_does_not_take():
    one = ([1.0, 2.0], [2.0, 1.0])
    assert flat_cheapest([one] * 4, [], 100.0) == (4.0, [1, 1, 1, 1], [])
    assert flat_cheapest([one] * 2, [one] * 2, 100.0) is NOT_FLAT
    assert flat_cheapest([], [], 0.0) == (0.0, [], [])
    assert flat_cheapest([], [], -1.0) is None
    assert flat_cheapest([one, ([], [])], [], 100.0) is None
    assert flat_cheapest([one], [one, one], 3.0) == (4.0, [0], [1, 1])
    assert flat_cheapest([one], [one, one], 2.0) == (6.0, [0], [0, 0])
    assert flat_cheapest([one], [one, one], 1.5) is None
    # three long candidate lists (more steps than CHAIN_STEPS): declined (the plan's tree DP
    # decides), which is optimal
    big = {v: Candidates(v, [float(i) for i in range(1, 60)], [float(100 - i) for i in range(1, 60)],
                         list(range(59))) for v in "abc"}
    three = Series(tuple(Leaf(v) for v in "abc"))
    assert sweep(three, 90.0, big) is NOT_FLAT
    r = pareto_remainder(three, 90.0, big)
    assert r is not None and r[0] == pytest.approx(enumerate_cheapest(list("abc"), 0.0, 90.0, big))


# -- the plan -----------------------------------------------------------------------------

def strategies_of(problem: Problem) -> list[str]:
    return [c.strategy for c in plan_for(problem).components]


def assert_plan_optimal(problem: Problem) -> None:
    """Every declared arithmetic through the plan (via fa2's edge wrapper) answers the
    optimum: brute force's (or, beyond its guard, the MILP's) status and cost, a verified
    answer."""
    ref = solve(problem, "brute-force")
    if ref.status == "no_solution":  # beyond brute force's guard: the MILP
        ref = solve(problem, "milp")
    for arith in ARITHMETICS:
        solver = FA2Solver()
        solver.arithmetic = arith
        a = checked(problem, solver.solve(problem))
        assert a.status == ref.status, arith.name
        if ref.status == "optimal":
            assert matches(a, ref), arith.name


@settings(max_examples=150, deadline=None)
@given(instances(max_nodes=5, max_configs=8, shapes=("chain", "tree", "nested-sp", "fork-join", "non-sp"),
                 multi_flow=True))
def test_every_strategy_and_arithmetic_decides_the_optimum(inst):
    """Chains, trees, series-parallel, fork-join and non-SP graphs, one or more flows, with
    delays, caps, every queueing model, infeasible SLAs: the plan with each arithmetic
    (its flat sweep, its tree DP, its coupling search with either bound) equals brute force."""
    assert_plan_optimal(Problem.from_instance(inst))


@pytest.mark.parametrize("path", PIPELINES, ids=lambda p: p.stem)
def test_strategies_of_the_real_pipelines(path):
    """Every single-flow real pipeline is one flat sweep; the multi-flow ones search their
    shared detector and decide the rest flow by flow; all optimal."""
    problem = Problem.from_instance(load_instance(path))
    kinds = strategies_of(problem)
    if len(problem.flows) == 1:
        assert kinds == [FLAT]
    else:
        assert kinds.count(SEARCH) == 1 and len(kinds) == len(problem.flows) - len(
            plan_for(problem).components[kinds.index(SEARCH)].flows) + 1
    a = checked(problem, solve(problem, "fa2"))
    assert a.status == "optimal"


def test_strategies_of_longer_chains_forks_non_sp_and_free_nodes():
    rng = np.random.default_rng(3)
    expect = {"chain": FLAT, "fork-join": TREE, "non-sp": SEARCH}
    for shape, n in (("chain", 4), ("chain", 9), ("fork-join", 4), ("non-sp", 5)):
        for i in range(6):
            inst = random_instance(shape, rng, name=f"{shape}-{i}", sizes=Sizes(nodes=(n, n))).instance
            problem = Problem.from_instance(inst)
            plan = plan_for(problem)
            if shape == "non-sp" and not plan.coupling:
                continue  # this draw reduced without copies
            want = expect[shape]
            if shape == "chain" and n > 8:
                want = TREE  # longer than FLAT_CHAIN_MAX
            elif shape == "fork-join":  # flat when the join collapsed (a chain, or a fork)
                fs = flat_shape(plan.trees[0])
                want = FLAT if fs and (not fs.fork or len(fs.series) <= 1) else TREE
            assert strategies_of(problem) == [want], (shape, i)
            assert_plan_optimal(problem)
    rows = (Config(1, "cpu", 1.0, 10.0), Config(4, "cpu", 1.0, 25.0))
    free = Instance("free-node", (Node("a", rows), Node("b", rows)), (),
                    (Flow("main", 50.0, 100.0, ("a",)),), queueing="none")  # b in no flow
    problem = Problem.from_instance(free)
    assert plan_for(problem).free == ("b",) and strategies_of(problem) == [FLAT]
    assert_plan_optimal(problem)


def test_a_plan_is_compiled_once_per_structure_and_reused_for_any_data():
    """Other rates, SLAs and profiles of one structure reuse its plan (the very object);
    another structure gets its own; cache=False and clear_cache() compile afresh."""
    inst = load_instance(PIPELINES[0])
    problem = Problem.from_instance(inst)
    plan = plan_for(problem)
    f = inst.flows[0]
    other = replace(inst, flows=(replace(f, rate_rps=f.rate_rps * 3, sla_ms=f.sla_ms * 2),),
                    nodes=tuple(replace(v, configs=v.configs[::2] or v.configs) for v in inst.nodes))
    p2 = Problem.from_instance(other)
    assert plan_for(p2) is plan
    assert checked(p2, solve(p2, "fa2")).status in ("optimal", "infeasible")
    shared = Problem.from_instance(load_instance(next(p for p in PIPELINES if "shared" in p.stem)))
    assert plan_for(shared) is not plan
    assert plan_for(problem, cache=False) is not plan
    assert compile_plan(tuple(problem.tables), problem.flows).components == plan.components
    clear_cache()
    assert plan_for(problem) is not plan


def test_an_infeasible_problem_is_answered_before_any_plan_is_compiled(monkeypatch):
    """Pruning comes first: a problem whose all-fastest choice breaks an SLA is answered
    ``infeasible`` without compiling a plan (a 200-node graph's compilation took 10 ms of an
    infeasible answer's 10.5), and the same structure made feasible compiles one."""
    import fa2opt.fa2 as fa2_module

    inst = load_instance(PIPELINES[0])
    f = inst.flows[0]
    tight = replace(inst, flows=(replace(f, sla_ms=1e-6),))
    compiled = []
    real = fa2_module.plan_for
    monkeypatch.setattr(fa2_module, "plan_for", lambda *a, **k: compiled.append(1) or real(*a, **k))
    p = Problem.from_instance(tight)
    assert not p.is_feasible()
    assert checked(p, solve(p, "fa2", cache=False)).status == "infeasible" and not compiled
    p = Problem.from_instance(inst)
    assert checked(p, solve(p, "fa2", cache=False)).status == "optimal" and compiled


def test_a_plain_remainder_declares_nothing():
    arith = as_arithmetic(pareto_remainder)
    assert not arith.prices and arith.flat is None and as_arithmetic(arith) is arith
    assert EXACT_FRONTS.prices and EXACT_FRONTS.flat is flat_cheapest
    assert not EXACT_FRONTS_EQUAL_SPLIT.prices


# -- the one pruning scan -------------------------------------------------------------------

def front_by_definition(lat, cost, limit):
    """Rows of a (latency, cost)-sorted table within ``limit`` that no other row within it
    dominates (no slower and no dearer, better in one; of equal rows the first): row i is
    kept iff every earlier row costs more. O(K²)."""
    return [i for i in range(len(lat)) if lat[i] <= limit and all(cost[j] > cost[i] for j in range(i))]


@pytest.mark.parametrize("rows", [1, 5, 40, 192, 193, 400])
def test_front_rows_equals_its_definition_on_lists_and_arrays(rows):
    rng = np.random.default_rng(rows)
    for _ in range(15):
        lat = np.sort(rng.integers(1, 50, rows).astype(float))
        cost = rng.integers(1, 30, rows).astype(float)
        order = np.lexsort((cost, lat))
        lat, cost = lat[order], cost[order]
        for limit in (float("inf"), float(rng.uniform(0, 55)), float(lat[0]) - 1.0):
            keep = front_by_definition(lat.tolist(), cost.tolist(), limit)
            want = ([float(lat[i]) for i in keep], [float(cost[i]) for i in keep], keep)
            assert front_rows(lat.tolist(), cost.tolist(), limit) == want
            assert front_rows(lat.tolist(), cost.tolist(), limit, (lat, cost)) == want


@pytest.mark.parametrize("shape", SHAPES)
def test_pruning_equals_its_definition(shape):
    rng = np.random.default_rng(7)
    for i in range(10):
        inst = random_instance(shape, rng, name=f"{shape}-{i}",
                               sizes=Sizes(nodes=(2, 8), configs=(1, 90))).instance
        problem = Problem.from_instance(inst)
        limits = latency_limits(problem)
        pruned, _ = ParetoPrune().apply(problem)
        loose, _ = ParetoPrune(slack=False).apply(problem)
        for v, t in problem.tables.items():
            lat, cost = t.latency_ms.tolist(), t.cost.tolist()
            keep = front_by_definition(lat, cost, limits[v])
            assert pruned.candidates[v].positions == keep
            assert pruned.candidates[v].latency == [lat[k] for k in keep]
            assert pruned.candidates[v].cost == [cost[k] for k in keep]
            assert loose.candidates[v].positions == front_by_definition(lat, cost, float("inf"))


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
    # Candidates: a plain slotted dataclass (one per node on every decision; read-only by
    # convention, as Plan): same fields, equality and length, no instance dict
    c = Candidates("v", [1.0], [2.0], [0])
    assert c == Candidates(node="v", latency=[1.0], cost=[2.0], positions=[0]) and len(c) == 1
    assert dataclasses.replace(c, node="w").node == "w" and not hasattr(c, "__dict__")


def test_enumerated_coupling_equals_the_search_and_brute_force(monkeypatch):
    """Components of flows sharing nodes (and non-SP flows) whose trees are flat with the
    coupling nodes fixed: enumerating every combination (forced on any space) and the
    search (enumeration off) both decide brute force's optimum."""
    import fa2opt.plan as plan_module
    from helpers import shared_instances

    rng = np.random.default_rng(5)
    problems = [Problem.from_instance(i) for i in shared_instances(10, 3, nodes=(3, 5), configs=(2, 5))]
    problems += [Problem.from_instance(random_instance("non-sp", rng, name=f"n{i}",
                                                       sizes=Sizes(nodes=(4, 5))).instance)
                 for i in range(8)]
    enumerable = 0
    for problem in problems:
        comps = [c for c in plan_for(problem).components if c.strategy == SEARCH]
        enumerable += any(c.shapes is not None for c in comps)
        for limit in (10**9, 0):
            monkeypatch.setattr(plan_module, "ENUMERATE_MAX", limit)
            assert_plan_optimal(problem)
    assert enumerable >= 5


@pytest.mark.slow
def test_bench_cold_path_runs_and_restores_what_it_times():
    """scripts/bench_cold_path.py (the cold path's split and in-situ timers, and the first
    decisions after a MILP) runs on this checkout, reports every step, and leaves the functions it wraps as they were."""
    import importlib.util
    from pathlib import Path

    from fa2opt import edge, fa2 as fa2_module, plan as plan_module
    from fa2opt.reductions import sp_decompose as sp_module

    root = Path(__file__).resolve().parents[1]
    spec = importlib.util.spec_from_file_location("bench_cold_path",
                                                  root / "scripts" / "bench_cold_path.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    before = (fa2_module.plan_for, sp_module.decompose, plan_module.Plan.decide,
              edge.margin_budgets)
    import contextlib
    import io
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert mod.main(["--reps", "1", "--small-instances", "1", "--milp-rounds", "1",
                         "--idle-ms", "1", "--repo", str(root)]) == 0
    text = out.getvalue()
    for word in ("split (51 instances", "compile", "in situ, first", "in situ, new", "in situ, cold", "in situ, warm",
                 "decompose", "answer", "rest", "after the MILP, first decisions 1 / 2 / 3",
                 "after the MILP and 1 ms idle"):
        assert word in text, (word, text)
    assert before == (fa2_module.plan_for, sp_module.decompose, plan_module.Plan.decide,
                      edge.margin_budgets)
