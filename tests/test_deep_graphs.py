"""Deep and long graphs: series-parallel nesting hundreds of levels deep and chains of
thousands of nodes validate, describe and solve, with no recursion whose depth grows with
the graph (issues 12 and 13).

The solver tests run under a recursion limit only a little above the test's own stack
depth (:func:`shallow_stack`), so a recursion over the expression tree (nested 2·depth
levels) or over a chain's leaves fails here even at depths Python's default limit allows.
"""

from __future__ import annotations

import inspect
import json
import random
import sys
from contextlib import contextmanager
from dataclasses import replace
from typing import Any, Iterator

import numpy as np
import pytest

from fa2opt import generate as gen
from fa2opt import cpu_kernels, spec
from fa2opt.cli import main
from fa2opt.grid.flow_dp import count_terms
from fa2opt.io import instance_from_dict, load_instance
from fa2opt.model import Config, Instance
from fa2opt.problem import Problem
from fa2opt.reductions import flow_tree
from fa2opt.reductions.sptree import (Delay, Leaf, Parallel, Series, SPTree, evaluate, fold,
                                      leaves, split_leaves, substitute, trampoline)
from fa2opt.solver import get_solver
from fa2opt.verify import matches, verify

HEADROOM = 150  # frames above the test's own depth that a solve may use (numpy, json, …)


@contextmanager
def shallow_stack(headroom: int = HEADROOM) -> Iterator[None]:
    """Run the body with the recursion limit at the current stack depth + ``headroom``.
    The compiled kernels are compiled (or loaded from Numba's cache) first: Numba's compiler
    recurses deeper than the headroom, and a fresh machine has no cache yet."""
    cpu_kernels.warm_up()
    old = sys.getrecursionlimit()
    sys.setrecursionlimit(len(inspect.stack(0)) + headroom)
    try:
        yield
    finally:
        sys.setrecursionlimit(old)


def deep_instance(depth: int, rows: int = 3, seed: int = 1) -> Instance:
    """``gen.scaling_instance`` nested ``depth`` levels (3·depth + 1 nodes)."""
    return gen.scaling_instance("deep-sp", 3 * depth + 1, rows, seed=seed)


def tree_depth(tree: SPTree) -> int:
    """Nesting depth of an expression (a leaf: 0), on an explicit stack."""
    best, stack = 0, [(tree, 0)]
    while stack:
        t, d = stack.pop()
        best = max(best, d)
        if isinstance(t, (Series, Parallel)):
            stack.extend((p, d + 1) for p in t.parts)
    return best


def grid_ms_for(inst: Instance, steps: int = 2000) -> float:
    """A grid step that gives the largest SLA about ``steps`` steps (bounded memory)."""
    return max(f.sla_ms for f in inst.flows) / steps


def check_answers(inst: Instance, milp: bool = False) -> dict[str, Any]:
    """fa2 (optimal), fa2-grid (lower bound ≤ fa2's cost ≤ its own) and, with ``milp``, the
    MILP (matches fa2); every answer verified independently. Returns the answers."""
    p = Problem.from_instance(inst)
    out = {}
    with shallow_stack():
        out["fa2"] = get_solver("fa2").solve(p)
        out["fa2-grid"] = get_solver("fa2-grid", grid_ms=grid_ms_for(inst)).solve(p)
    for name, a in out.items():
        assert a.status in ("optimal", "feasible"), (name, a.status, a.message)
        assert verify(inst, a).ok, name
    assert out["fa2"].status == "optimal"
    g = out["fa2-grid"]
    tol = spec.REL_TOL * max(1.0, out["fa2"].cost)
    assert g.lower_bound - tol <= out["fa2"].cost <= g.cost + tol
    if milp:
        out["milp"] = get_solver("milp").solve(p)
        assert out["milp"].status == "optimal"
        assert matches(out["fa2"], out["milp"])
    return out


# -- the generators -------------------------------------------------------------------------
def test_deep_sp_shape_for_every_small_size():
    for n in range(1, 40):
        topo = gen.deep_sp(n)
        depth = (n - 1) // 3
        assert len(topo.nodes) == n and topo.variant == f"depth-{depth}"
        pairs = [(s, d) for s, d, _ in topo.edges]
        assert len(pairs) == (n - 1 - 3 * depth) + 4 * depth
        inst = gen.assemble(topo, {v: [Config(1, "cpu", 1.0, 1.0)] for v in topo.nodes},
                            name="t", rates=[1.0])
        instance_from_dict(json.loads(gen.instance_json(inst)))  # valid: acyclic, connected flow
        if n <= 13:
            assert not gen.has_induced_n(topo.nodes, pairs)  # vertex series-parallel
        tree, reductions = flow_tree(Problem.from_instance(inst).flows[0], cache=False)
        assert reductions == 0 and sorted(leaves(tree)) == sorted(topo.nodes)
        assert tree_depth(tree) == 2 * depth + (n - 3 * depth > 1)  # + the innermost chain


def test_deep_sp_nests_a_thousand_levels():
    topo = gen.deep_sp(3001)
    inst = gen.assemble(topo, {v: [Config(1, "cpu", 1.0, 1.0)] for v in topo.nodes},
                        name="t", rates=[1.0])
    with shallow_stack():
        tree, reductions = flow_tree(Problem.from_instance(inst).flows[0], cache=False)
        assert tree_depth(tree) == 2000 and reductions == 0
        assert count_terms(tree) == 3001


def test_long_chain_generator():
    topo = gen.chain(10_000)
    pairs = [(s, d) for s, d, _ in topo.edges]
    assert len(topo.nodes) == 10_000 and gen.is_chain(topo.nodes, pairs)
    inst = gen.scaling_instance("chain", 300, 2, seed=3)
    assert gen.is_chain([n.name for n in inst.nodes], [(e.src, e.dst) for e in inst.edges])


@pytest.mark.parametrize("suite", [pytest.param(s, marks=pytest.mark.slow) if s == "long-chain"
                                   else s for s in sorted(gen.SUITE_SIZES)])
def test_deep_suites_generate_what_they_claim(suite, tmp_path):
    sizes = gen.SUITE_SIZES[suite]
    (g,) = gen.generate_generated(suite, 1, seed=2)
    n = len(g.instance.nodes)
    assert sizes.nodes[0] <= n <= sizes.nodes[1]
    assert g.shape == gen.SUITES[suite][0]
    pairs = [(e.src, e.dst) for e in g.instance.edges]
    if g.shape == "chain":
        assert gen.is_chain([v.name for v in g.instance.nodes], pairs)
    else:
        assert g.variant == f"depth-{(n - 1) // 3}"
    assert g.feasible == Problem.from_instance(g.instance).is_feasible()
    rows = [len(v.configs) for v in g.instance.nodes]
    assert sizes.configs[0] <= min(rows) and max(rows) <= sizes.configs[1]


def test_generate_cli_writes_a_deep_suite(tmp_path, capsys):
    out = tmp_path / "deep"
    assert main(["generate", "--suite", "deep-sp", "--count", "1", "--seed", "4",
                 "--out", str(out)]) == 0
    (path,) = sorted(out.glob("*.json"))
    assert path.name == "0000-deep-sp.json"
    assert "deep-sp" in (out / gen.README).read_text()
    with shallow_stack():
        assert main(["validate", str(path)]) == 0


# -- the tree code: iterative, same results as the recursive definitions ---------------------
def _random_tree(rng: random.Random, size: int, names: list[str]) -> SPTree:
    """A random expression (leaves may repeat; sub-expressions may be shared)."""
    pool: list[SPTree] = [Leaf(rng.choice(names)) if rng.random() < 0.8 else Delay(rng.random())
                          for _ in range(size)]
    while len(pool) > 1:
        k = rng.randint(2, min(4, len(pool)))
        parts = tuple(pool.pop(rng.randrange(len(pool))) for _ in range(k))
        node = (Series if rng.random() < 0.5 else Parallel)(parts)
        pool.append(node)
        if rng.random() < 0.1:
            pool.append(parts[0])  # share a sub-expression
    return pool[0]


def _rec_leaves(t: SPTree) -> list[str]:
    if isinstance(t, Leaf):
        return [t.node]
    if isinstance(t, Delay):
        return []
    return [v for p in t.parts for v in _rec_leaves(p)]


def _rec_evaluate(t: SPTree, lat: dict[str, float]) -> float:
    if isinstance(t, Leaf):
        return lat[t.node]
    if isinstance(t, Delay):
        return t.latency_ms
    vals = [_rec_evaluate(p, lat) for p in t.parts]
    return sum(vals) if isinstance(t, Series) else max(vals)


def test_tree_helpers_equal_their_recursive_definitions():
    rng = random.Random(7)
    names = list("abcdefg")
    for _ in range(300):
        tree = _random_tree(rng, rng.randint(1, 30), names)
        lat = {v: rng.random() * 10 for v in names}
        assert list(leaves(tree)) == _rec_leaves(tree)
        assert evaluate(tree, lat) == _rec_evaluate(tree, lat)  # bit for bit
        assert fold(tree, lat.__getitem__, float, lambda a, b: a + b, max) == pytest.approx(
            _rec_evaluate(tree, lat), rel=1e-12)
        fixed = {v: lat[v] for v in names[:3]}
        sub = substitute(tree, fixed)
        assert [v for v in leaves(sub)] == [v for v in _rec_leaves(tree) if v not in fixed]
        assert evaluate(sub, lat) == evaluate(tree, lat)
        new, alias = split_leaves(tree, set(names[:2]))
        renamed = list(leaves(new))
        assert [alias.get(v, v) for v in renamed] == _rec_leaves(tree)
        assert len(set(alias)) == len(alias) == sum(v in names[:2] for v in _rec_leaves(tree))


def test_tree_helpers_on_a_tree_deeper_than_the_recursion_limit():
    depth = 3 * sys.getrecursionlimit()
    tree: SPTree = Leaf("x")
    for i in range(depth):
        tree = Series((Leaf("a"), Parallel((tree, Delay(1.0))), Leaf("b")))
    lat = {"x": 5.0, "a": 1.0, "b": 2.0}
    with shallow_stack():
        assert sum(1 for _ in leaves(tree)) == 2 * depth + 1
        assert evaluate(tree, lat) == 5.0 + 3.0 * depth
        assert count_terms(tree) == 3 * depth + 1
        assert sum(1 for _ in leaves(split_leaves(tree, {"a"})[0])) == 2 * depth + 1


def test_trampoline_runs_deep_generator_recursion_in_order():
    seen: list[int] = []

    def count(n: int):
        seen.append(n)
        if n == 0:
            return 0
        below = yield count(n - 1)
        return below + 1

    n = 5 * sys.getrecursionlimit()
    with shallow_stack():
        assert trampoline(count(n)) == n
    assert seen == list(range(n, -1, -1))


def test_tall_subtrees_on_the_trampoline_equal_the_recursion(monkeypatch):
    """The exact DP evaluates sub-expressions up to DIRECT_HEIGHT high by (bounded)
    recursion and taller ones on the trampoline: any split gives the same fronts and
    choices, bit for bit (plain recursion: a limit above the tree's height)."""
    import fa2opt.pareto as P
    from fa2opt.reductions import ParetoPrune
    p = Problem.from_instance(deep_instance(30, rows=5, seed=5))  # tree height 60
    cands = ParetoPrune().apply(p)[0].candidates
    tree, budget = flow_tree(p.flows[0])[0], p.flows[0].budget_ms
    prices = {v: [c * (1.0 + 0.1 * (i % 3)) for i, c in enumerate(cands[v].cost)]
              for v in list(cands)[::4]}

    def run() -> tuple:
        f = P.pareto_front(tree, budget, cands)
        return ([float(x) for x in f.lat], [float(x) for x in f.cost],
                P.pareto_remainder(tree, budget * 0.97, cands, None, prices),
                P.pareto_remainder(tree, budget, cands, {"n3": 0}, {"n7": 0.5}))

    assert P._Context(tree, cands, None, None).tall  # the default splits this tree
    results = []
    for height in (P.DIRECT_HEIGHT, 1, 7, 10**6):
        monkeypatch.setattr(P, "DIRECT_HEIGHT", height)
        results.append(run())
    assert results[0][2] is not None and len(results[0][0]) > 10
    assert all(r == results[0] for r in results[1:])


def test_series_by_rows_equals_series_by_sorting_all_pairs(monkeypatch):
    """Large fronts go into series by rows (pareto._series_rows): the same points and
    back-pointers as sorting all pairs, ties of latency (rounding) and cost included."""
    import fa2opt.pareto as P
    rng = np.random.default_rng(3)

    def front(n: int, ties: bool) -> P.Front:
        lat = np.unique(np.round(np.cumsum(rng.uniform(0, 2, n)), 1 if ties else 9))
        cost = np.unique(rng.integers(0, 300, len(lat)).astype(float) if ties
                         else rng.uniform(0, 100, len(lat)))[::-1]
        k = min(len(lat), len(cost))
        return P.Front(lat[:k], cost[:k])

    used = []
    monkeypatch.setattr(P, "_series_rows", lambda *a, f=P._series_rows: used.append(1) or f(*a))
    for case in range(60):
        a, b = front(int(rng.integers(30, 700)), case % 2 == 0), front(int(rng.integers(2, 300)), case % 3 == 0)
        cap = float(rng.uniform(0.3, 1.2) * (a.lat[-1] + b.lat[-1]))
        out = []
        for pairs, row in ((10**12, 10**12), (0, 0)):
            monkeypatch.setattr(P, "MERGE_PAIRS", pairs)
            monkeypatch.setattr(P, "MERGE_ROW", row)
            f = P.series(a, b, cap)
            out.append([np.asarray(x) for x in (f.lat, f.cost, f.I, f.J)])
        for x, y in zip(*out):
            assert x.dtype == y.dtype and np.array_equal(x, y), case
    assert len(used) >= 50  # (the few with under NUMPY_PAIRS pairs take the list path)


# -- small sizes: against brute force ----------------------------------------------------------
@pytest.mark.parametrize("n", [4, 5, 6, 7, 8, 10])
def test_small_deep_graphs_against_brute_force(n):
    for seed in range(4):
        inst = gen.scaling_instance("deep-sp", n, 4 if n < 10 else 3, seed=seed,
                                    sla_position=(0.1, 0.3, 0.7, -0.05)[seed])
        p = Problem.from_instance(inst)
        bf = get_solver("brute-force").solve(p)
        with shallow_stack():
            fa2 = get_solver("fa2").solve(p)
            grid = get_solver("fa2-grid", grid_ms=grid_ms_for(inst, 500)).solve(p)
        assert bf.status in ("optimal", "infeasible")
        assert matches(fa2, bf), (n, seed)
        if bf.status == "infeasible":
            assert grid.status == "infeasible"
        else:
            assert verify(inst, grid).ok
            assert grid.lower_bound <= bf.cost + 1e-9 * bf.cost <= grid.cost + 2e-9 * bf.cost


# -- medium depth against the MILP (default run) -----------------------------------------------
def test_depth_120_fa2_equals_milp():
    inst = deep_instance(120)
    check_answers(inst, milp=True)


def test_deep_coupling_search_without_recursion():
    """A second flow over the inner levels of a deep graph shares ~170 nodes with the
    first: as many coupling nodes, one row each, so the coupling search (equal split, on
    both fa2 and the grid) descends one level per coupling node, deeper than the stack."""
    base = deep_instance(60, rows=1, seed=2)
    names = [n.name for n in base.nodes]
    inner = tuple(names[8:-4])  # levels 4 and below: one source, one sink
    flows = (base.flows[0], replace(base.flows[0], name="inner", nodes=inner))
    inst = replace(base, flows=flows)
    p = Problem.from_instance(inst)
    bf = get_solver("brute-force").solve(p)
    with shallow_stack():
        answers = [get_solver("fa2").solve(p), get_solver("fa2", bound="equal").solve(p),
                   get_solver("fa2-grid", grid_ms=grid_ms_for(inst, 100)).solve(p)]
    assert answers[0].extra["coupling_nodes"] == len(inner) > HEADROOM
    for a in answers:
        assert a.status == "optimal" and verify(inst, a).ok and matches(a, bf)


# -- depth 250 and more: the CLI end to end ----------------------------------------------------
def _write(inst: Instance, path) -> str:
    path.write_text(gen.instance_json(inst), encoding="utf-8")
    return str(path)


def _commands(path: str, grid_ms: float) -> list[list[str]]:
    return [["validate", path], ["info", "--json", path], ["info", path],
            ["solve", path, "-m", "fa2", "--json"],
            ["solve", path, "-m", "fa2-grid", "--grid-ms", str(grid_ms), "--json"]]


def _cli_checks(inst: Instance, tmp_path, capsys) -> None:
    """validate, info and solve (fa2, fa2-grid) through ``fa2opt`` on the instance's file
    (first on a small one at the full stack: the commands' lazy imports recurse)."""
    small = deep_instance(2)
    for argv in _commands(_write(small, tmp_path / "small.json"), grid_ms_for(small)):
        assert main(argv) == 0
    path = _write(inst, tmp_path / "deep.json")
    capsys.readouterr()
    with shallow_stack():
        assert main(["validate", path]) == 0
        assert f"ok ({len(inst.nodes)} nodes" in capsys.readouterr().out
        assert main(["info", "--json", path]) == 0
        info = json.loads(capsys.readouterr().out)
        assert len(info["nodes"]) == len(inst.nodes) and info["feasible"]
        assert info["log10_combinations"] > 100
        assert main(["info", path]) == 0
        assert "configuration combinations" in capsys.readouterr().out
        assert main(["solve", path, "-m", "fa2", "--json"]) == 0
        fa2 = json.loads(capsys.readouterr().out)
        assert main(["solve", path, "-m", "fa2-grid", "--grid-ms", str(grid_ms_for(inst)),
                     "--json"]) == 0
        grid = json.loads(capsys.readouterr().out)
    assert fa2["status"] == "optimal" and len(fa2["nodes"]) == len(inst.nodes)
    assert grid["status"] in ("optimal", "feasible")
    assert grid["lower_bound"] <= fa2["cost"] * (1 + 1e-9) <= grid["cost"] * (1 + 2e-9)
    assert load_instance(path).name == inst.name


def test_depth_250_cli_and_milp(tmp_path, capsys):
    inst = deep_instance(250)
    _cli_checks(inst, tmp_path, capsys)
    check_answers(inst, milp=True)


@pytest.mark.slow
def test_depth_1000_solves(tmp_path, capsys):
    inst = deep_instance(1000, rows=3)
    _cli_checks(inst, tmp_path, capsys)


@pytest.mark.slow
def test_chain_of_10000_nodes_solves(tmp_path, capsys):
    inst = gen.scaling_instance("chain", 10_000, 3, seed=1)
    _cli_checks(inst, tmp_path, capsys)


def test_a_paused_trampoline_goes_on_where_it_stopped():
    """``pause`` stops the run with its stack kept (:class:`~fa2opt.reductions.sptree.Suspended`);
    going on from there, any number of times, gives the uninterrupted run's result and order
    of steps."""
    from fa2opt.reductions.sptree import Suspended, trampoline

    def walk(n, seen):  # a recursion as generators: the sum over a binary tree of depth n
        seen.append(n)
        if n == 0:
            return 1
        left = yield walk(n - 1, seen)
        right = yield walk(n - 1, seen)
        return left + right + n

    whole = []
    want = trampoline(walk(10, whole))
    for every in (1, 3, 50):
        seen, steps, out, pauses = [], [0], None, 0

        def pause():
            steps[0] += 1
            return steps[0] % every == 0

        out = walk(10, seen)
        while True:
            out = trampoline(out, pause=pause)
            if not isinstance(out, Suspended):
                break
            pauses += 1
        assert out == want and seen == whole and pauses > 0
