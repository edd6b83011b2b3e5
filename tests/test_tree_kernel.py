"""The compiled component DP (fa2opt.tree_kernel, fa2opt.tree_numba): the optimum of brute
force and of the reference Pareto DP (fa2opt.pareto) on random series-parallel trees; its
declines; and fa2's decisions with it equal to brute force and to those without it."""

from __future__ import annotations

import itertools
import math
from types import SimpleNamespace

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fa2opt import cpu_kernels, get_solver, tree_kernel
from fa2opt.generate import FAMILIES
from fa2opt.pareto import pareto_remainder
from fa2opt.plan import plan_for
from fa2opt.problem import Problem
from fa2opt.reductions.pruning import Candidates, front_rows
from fa2opt.reductions.sptree import Delay, Leaf, Parallel, Series, evaluate, leaves
from fa2opt.solver import checked
from fa2opt.tables import pack_tables

from strategies import edge_instances, instances  # noqa: E402  (tests/strategies.py)
from test_extensions import extended  # noqa: E402
from test_extensions import test_fa2_equals_milp_and_brute_force_on_extended_instances as _extensions_agree  # noqa: E402

from test_extreme_ranges import extreme_documents  # noqa: E402  (tests/test_extreme_ranges.py)
from test_extreme_ranges import test_fa2_matches_brute_force_at_the_extremes as _extremes  # noqa: E402

pytestmark = [pytest.mark.skipif(not cpu_kernels.available(), reason="Numba not available"),
              pytest.mark.compiled]


@st.composite
def trees(draw, max_leaves: int = 5):
    """A series-parallel tree of at most ``max_leaves`` leaves (distinct nodes n0, n1, …)
    with delays, and its nodes."""
    names = iter(f"n{i}" for i in range(100))
    budget = [max_leaves]

    def build(depth: int):
        kinds = ["leaf", "delay"] + (["series", "parallel"] if depth < 3 and budget[0] > 1 else [])
        kind = draw(st.sampled_from(kinds))
        if kind == "leaf" and budget[0] > 0:
            budget[0] -= 1
            return Leaf(next(names))
        if kind in ("leaf", "delay"):
            return Delay(float(draw(st.integers(0, 6))))
        parts = tuple(build(depth + 1) for _ in range(draw(st.integers(2, 3))))
        return (Series if kind == "series" else Parallel)(parts)

    tree = build(0)
    if budget[0] == max_leaves:  # no leaf drawn: one in series
        tree = Series((tree, Leaf(next(names))))
    return tree, tuple(dict.fromkeys(leaves(tree)))


@st.composite
def tables(draw, nodes, integral: bool = True):
    """A configuration table per node: 1-5 rows sorted by (latency, cost); integral values
    (exact sums) or arbitrary floats."""
    out = {}
    num = (st.integers(1, 20).map(float) if integral
           else st.floats(0.01, 50.0, allow_nan=False, allow_infinity=False))
    for v in nodes:
        rows = sorted(draw(st.lists(st.tuples(num, num), min_size=1, max_size=5)))
        lat, cost = [r[0] for r in rows], [r[1] for r in rows]
        out[v] = SimpleNamespace(latency_ms=np.array(lat), cost=np.array(cost),
                                 lists=(list(range(len(rows))), [1] * len(rows), lat, cost))
    return out


def brute_force(tree, nodes, tabs, budget):
    best = None
    for combo in itertools.product(*[range(len(tabs[v].lists[0])) for v in nodes]):
        lat = {v: tabs[v].lists[2][k] for v, k in zip(nodes, combo)}
        if evaluate(tree, lat) <= budget:
            c = sum(tabs[v].lists[3][k] for v, k in zip(nodes, combo))
            best = c if best is None else min(best, c)
    return best


def reference(tree, tabs, budget):
    cands = {v: Candidates(v, *front_rows(t.lists[2], t.lists[3])) for v, t in tabs.items()}
    r = pareto_remainder(tree, budget, cands)
    return None if r is None else r[0]


def check_answer(r, tree, nodes, tabs, budget, want):
    if want is None:
        assert r is None
        return
    assert r is not None and r is not tree_kernel.DECLINED
    cost, choice = r
    assert set(choice) == set(nodes)
    lat = {v: tabs[v].lists[2][k] for v, k in choice.items()}
    assert evaluate(tree, lat) <= budget
    assert cost == pytest.approx(sum(tabs[v].lists[3][k] for v, k in choice.items()), rel=1e-12)
    assert cost == want


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_brute_force_and_reference_dp(data):
    tree, nodes = data.draw(trees())
    tabs = data.draw(tables(nodes))
    lo = evaluate(tree, {v: tabs[v].lists[2][0] for v in nodes})
    budget = float(data.draw(st.integers(int(lo) - 2, int(lo) + 40)))
    want = brute_force(tree, nodes, tabs, budget)
    assert want == reference(tree, tabs, budget)
    program = tree_kernel.compile_program([tree], nodes)
    check_answer(tree_kernel.solve(program, pack_tables(tabs), [budget]), tree, nodes, tabs, budget, want)


@settings(max_examples=100, deadline=None)
@given(st.data())
def test_float_tables_against_reference_dp(data):
    tree, nodes = data.draw(trees(max_leaves=8))
    tabs = data.draw(tables(nodes, integral=False))
    lo = evaluate(tree, {v: tabs[v].lists[2][0] for v in nodes})
    budget = lo * data.draw(st.floats(0.9, 3.0))
    program = tree_kernel.compile_program([tree], nodes)
    r = tree_kernel.solve(program, pack_tables(tabs), [budget])
    # float sums grouped differently may disagree about a choice within an ulp of the budget
    # (a delay of 1.0 and a row of 1.01 against 2.01): the kernel's optimum is bracketed by
    # the reference's at the budget narrowed and widened by 1e-9 of it
    narrow, wide = (reference(tree, tabs, budget * (1 + s * 1e-9)) for s in (-1, 1))
    if wide is None:
        assert r is None
        return
    if narrow is not None:
        assert r is not None
    if r is not None:
        assert r is not tree_kernel.DECLINED
        cost, choice = r
        lat = {v: tabs[v].lists[2][k] for v, k in choice.items()}
        assert evaluate(tree, lat) <= budget * (1 + 1e-9)
        assert cost == pytest.approx(sum(tabs[v].lists[3][k] for v, k in choice.items()), rel=1e-12)
        assert wide * (1 - 1e-12) <= cost <= (math.inf if narrow is None else narrow * (1 + 1e-12))


def test_program_is_binary_post_order():
    tree = Series((Leaf("a"), Parallel((Leaf("b"), Delay(2.0), Leaf("c"))), Leaf("d")))
    p = tree_kernel.compile_program([tree], ("a", "b", "c", "d"))
    K = tree_kernel
    assert p.kind.tolist() == [K.LEAF, K.LEAF, K.DELAY, K.LEAF, K.PARALLEL, K.PARALLEL,
                               K.LEAF, K.SERIES, K.SERIES]
    assert (p.left.tolist()[4], p.right.tolist()[4]) == (1, 2)  # b | 2 ms
    assert (p.left.tolist()[5], p.right.tolist()[5]) == (4, 3)  # (b | 2) | c
    assert (p.left.tolist()[7], p.right.tolist()[7]) == (0, 5)  # a + (…)
    assert (p.left.tolist()[8], p.right.tolist()[8]) == (7, 6)  # (a + …) + d
    assert p.arg.tolist()[6] == 3 and p.delay.tolist() == [2.0]


def test_declines_above_max_points(monkeypatch):
    """Fronts larger than MAX_POINTS: solve declines, and fa2's plan decides on its Python
    path with the same answer."""
    inst = FAMILIES["small"].generator(np.random.default_rng(3), 12, "chain")
    problem = Problem.from_instance(inst)
    cpu_kernels.warm_up()
    want = get_solver("fa2").solve(problem)
    assert want.extra.get("compiled") is True
    plan = plan_for(problem)
    monkeypatch.setattr(tree_kernel, "MAX_POINTS", 2)
    assert tree_kernel.solve(plan.programs[0], problem.packed, [problem.flows[0].budget_ms]) \
        is tree_kernel.DECLINED
    got = checked(problem, get_solver("fa2").solve(problem))
    assert "compiled" not in got.extra and got.cost == want.cost


def test_declines_above_max_combinations(monkeypatch):
    """A non-SP flow whose coupling nodes' candidates give more combinations than
    MAX_COMBINATIONS: the kernel declines on the first and on a repeated decision (its own
    candidates), and fa2 decides on its Python path with the kernel's answer."""
    cpu_kernels.warm_up()
    inst = FAMILIES["small"].generator(np.random.default_rng(5), 8, "non-sp")
    problem = Problem.from_instance(inst)
    assert plan_for(problem).coupling
    want = checked(problem, get_solver("fa2").solve(problem))
    assert want.extra.get("compiled") is True
    monkeypatch.setattr(tree_kernel, "MAX_COMBINATIONS", 0)
    for _ in range(2):
        got = checked(problem, get_solver("fa2").solve(problem))
        assert "compiled" not in got.extra and got.cost == want.cost


def test_infeasible_budget():
    tree = Series((Leaf("a"), Delay(3.0)))
    tabs = {"a": SimpleNamespace(latency_ms=np.array([2.0]), cost=np.array([1.0]),
                                 lists=([0], [1], [2.0], [1.0]))}
    program = tree_kernel.compile_program([tree], ("a",))
    assert tree_kernel.solve(program, pack_tables(tabs), [4.9]) is None
    assert tree_kernel.solve(program, pack_tables(tabs), [5.0]) == (1.0, {"a": 0})
    with pytest.raises(ValueError, match="order"):  # tables packed in another order
        tree_kernel.solve(program, pack_tables({"b": tabs["a"], **tabs}), [5.0])


def test_kernel_only_where_numba_runs():
    cpu_kernels.warm_up()
    assert tree_kernel.kernel() is not None
    with cpu_kernels.disabled():
        assert tree_kernel.kernel() is None
        assert tree_kernel.solve(None, {}, [1.0]) is tree_kernel.DECLINED


@pytest.mark.parametrize("shape", ["chain", "fork-join", "nested-sp", "tree", "non-sp"])
def test_fa2_with_and_without_the_kernel(shape):
    """fa2 on generated single-flow graphs of every shape (2-12 nodes, each at its drawn
    SLA and at tighter ones): the same status and cost with the compiled tree DP as on the
    Python path, every answer verified; the compiled DP decides the whole-tree plans."""
    cpu_kernels.warm_up()
    used = 0
    for n in range(2, 13):
        inst = FAMILIES["small"].generator(np.random.default_rng(n), n, shape)
        for scale in (1.0, 0.8, 0.6):
            problem = Problem.from_instance(
                inst.with_slas({f.name: f.sla_ms * scale for f in inst.flows}))
            a = checked(problem, get_solver("fa2").solve(problem))
            with cpu_kernels.disabled():
                b = checked(problem, get_solver("fa2").solve(problem))
            assert a.status == b.status
            if a.status == "optimal":
                assert a.cost == pytest.approx(b.cost, rel=1e-12)
            used += bool(a.extra.get("compiled"))
            assert "compiled" not in b.extra
    assert used > 0


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(extreme_documents())
def test_compiled_at_the_extremes(doc):
    """tests/test_extreme_ranges.py's brute-force comparison (values twenty decades apart,
    SLAs up to 1e300) with the compiled tree DP loaded, so single SP flows take it."""
    cpu_kernels.warm_up()
    _extremes.hypothesis.inner_test(doc)


@settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
@given(instances(max_nodes=7, max_configs=4))
def test_components_with_coupling_nodes_against_brute_force(inst):
    """Random instances of every shape (non-SP flows, several flows sharing nodes, edge
    delays, every queueing model): fa2 with the compiled kernels (each component in one
    call, its coupling nodes enumerated) equals brute force and fa2's Python path."""
    _against_brute_force(inst)


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(edge_instances(max_nodes=6, max_configs=4))
def test_at_the_sla_edge_against_brute_force(inst):
    """The same with every SLA at the spec's tolerance edge (a few ulps either side)."""
    _against_brute_force(inst)


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(extended())
def test_extended_instances(inst):
    """tests/test_extensions.py's comparison (fa2 = MILP = brute force with capacity,
    accuracy and switch costs: the extensions' search decides base problems by fa2's DP)
    with the compiled DP loaded."""
    cpu_kernels.warm_up()
    _extensions_agree.hypothesis.inner_test(inst)


def _against_brute_force(inst):
    cpu_kernels.warm_up()
    problem = Problem.from_instance(inst)
    want = checked(problem, get_solver("brute-force").solve(problem))
    got = checked(problem, get_solver("fa2").solve(problem))
    # again, on the cached plan: no pruning pass, the kernel finds the coupling candidates
    again = checked(problem, get_solver("fa2").solve(problem))
    with cpu_kernels.disabled():
        py = checked(problem, get_solver("fa2").solve(problem))
    assert got.status == want.status == py.status == again.status
    if want.status == "optimal":
        for a in (got, again, py):
            assert a.cost == pytest.approx(want.cost, rel=1e-9)


def test_forest_program_and_enumeration():
    """Two flows sharing node s (a ⇒ s, s ⇒ b): the program holds both trees (roots),
    marks s as coupling (no free leaf below it) and the enumeration picks s once."""
    trees = [Series((Leaf("a"), Leaf("s"))), Series((Leaf("s"), Leaf("b")))]
    p = tree_kernel.compile_program(trees, ("a", "b", "s"), ("s",))
    assert p.roots.tolist() == [2, 5] and p.coupling.tolist() == [2]
    assert p.free.tolist() == [1, 0, 1, 0, 1, 1]
    row = lambda lat, cost: SimpleNamespace(latency_ms=np.array(lat), cost=np.array(cost),  # noqa: E731
                                            lists=(list(range(len(lat))), [1] * len(lat), lat, cost))
    tabs = {"a": row([1.0, 4.0], [5.0, 1.0]), "b": row([1.0, 4.0], [5.0, 1.0]),
            "s": row([1.0, 3.0], [9.0, 2.0])}
    # budgets 5 and 8: s slow (3) leaves a only 2 (a fast, 5), b 5 (b slow, 1): 2 + 5 + 1 = 8;
    # s fast (1): a slow, b slow: 9 + 1 + 1 = 11
    r = tree_kernel.solve(p, pack_tables(tabs), [5.0, 8.0], {"s": [0, 1]})
    assert r == (8.0, {"a": 0, "b": 1, "s": 1})
    assert tree_kernel.solve(p, pack_tables(tabs), [1.5, 8.0], {"s": [0, 1]}) is None
    # without candidates the kernel finds them: s's rows within both flows' caps
    assert tree_kernel.solve(p, pack_tables(tabs), [5.0, 8.0]) == r
    assert tree_kernel.solve(p, pack_tables(tabs), [1.5, 8.0]) is None
    # flow 1 at 3.5 leaves s at most 2.5 (a at least 1): only s's fast row, a fast, b slow
    assert tree_kernel.solve(p, pack_tables(tabs), [3.5, 8.0]) == (15.0, {"a": 0, "b": 1, "s": 0})
    # more combinations than MAX_COMBINATIONS: declined, whoever found the candidates
    with pytest.MonkeyPatch.context() as m:
        m.setattr(tree_kernel, "MAX_COMBINATIONS", 1)
        assert tree_kernel.solve(p, pack_tables(tabs), [5.0, 8.0]) is tree_kernel.DECLINED
        assert tree_kernel.solve(p, pack_tables(tabs), [5.0, 8.0], {"s": [0, 1]}) is tree_kernel.DECLINED
        assert tree_kernel.solve(p, pack_tables(tabs), [3.5, 8.0]) == (15.0, {"a": 0, "b": 1, "s": 0})
