"""A flow's tree compiled once for the coupling search's remainder solves
(fa2opt.tree_kernel.TreeRemainder): the reference Pareto DP's optimum (fa2opt.pareto) under
random fixings, cost multipliers and per-candidate prices of any sign; its declines; and the
searches that use it (copy split, flow bound, hand-over) equal to brute force, the MILP and
themselves without it."""

from __future__ import annotations

import random

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fa2opt import cpu_kernels, get_solver, tree_kernel
from fa2opt.arithmetic import DECLINED
from fa2opt.generate.families import long_paths
from fa2opt.pareto import EXACT_FRONTS, pareto_remainder
from fa2opt.problem import Problem
from fa2opt.reductions.pruning import Candidates, front_rows
from fa2opt.reductions.sptree import (Leaf, Parallel, Series, count_leaves, evaluate,
                                      postorder)
from fa2opt.solver import checked

from test_copy_split_handover import SEARCH, force_hand_over  # noqa: E402
from test_fa2 import HAVE_MILP, check_against  # noqa: E402  (tests/test_fa2.py)
from test_flow_bound import two_flow_instance  # noqa: E402
from strategies import edge_instances, instances  # noqa: E402  (tests/strategies.py)
from test_tree_kernel import _against_brute_force, tables, trees  # noqa: E402

# (marked compiled: each test runs with the kernels warmed up, tests/conftest.py)
pytestmark = [pytest.mark.skipif(not cpu_kernels.available(), reason="Numba not available"),
              pytest.mark.compiled]


def count_calls(mp: pytest.MonkeyPatch) -> list:
    """The list every compiled remainder solve appends to."""
    calls: list = []
    real = tree_kernel.TreeRemainder.__call__
    mp.setattr(tree_kernel.TreeRemainder, "__call__",
               lambda self, *args: calls.append(1) or real(self, *args))
    return calls


def candidates(tabs) -> dict[str, Candidates]:
    return {v: Candidates(v, *front_rows(t.lists[2], t.lists[3])) for v, t in tabs.items()}


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_equals_the_reference_dp_under_fixings_and_prices(data):
    """Random trees and tables; some nodes fixed, the others at their costs, a multiple of
    them, or per-candidate prices (integers of either sign: exact sums): the same optimum as
    pareto_remainder, a choice within the budget that costs it, the fixed nodes as fixed."""
    tree, nodes = data.draw(trees(max_leaves=6))
    cands = candidates(data.draw(tables(nodes)))
    fixed, weight = {}, {}
    for v in nodes:
        how = data.draw(st.sampled_from(["free", "fixed", "times", "prices"]))
        if how == "fixed":
            fixed[v] = data.draw(st.integers(0, len(cands[v].latency) - 1))
        elif how == "times":
            weight[v] = float(data.draw(st.integers(0, 3)))
        elif how == "prices":
            weight[v] = [float(x) for x in data.draw(st.lists(
                st.integers(-30, 30), min_size=len(cands[v].latency),
                max_size=len(cands[v].latency)))]
    lo = evaluate(tree, {v: cands[v].latency[fixed.get(v, 0)] for v in nodes})
    budget = float(data.draw(st.integers(int(lo) - 2, int(lo) + 40)))
    want = pareto_remainder(tree, budget, cands, fixed, weight)
    got = tree_kernel.compile_remainder(tree, cands)(budget, fixed, weight)
    assert got is not DECLINED
    if want is None:
        assert got is None
        return
    cost, choice = got
    assert cost == want[0]
    assert all(choice[v] == k for v, k in fixed.items())
    assert evaluate(tree, {v: cands[v].latency[k] for v, k in choice.items()}) <= budget

    def paid(v: str, k: int) -> float:
        w = weight.get(v, 1.0)
        return 0.0 if v in fixed else w[k] if isinstance(w, list) else w * cands[v].cost[k]
    assert sum(paid(v, k) for v, k in choice.items()) == cost


def test_counts_its_pairs_as_work():
    """A solve adds its work to ``pareto.PAIRS`` as the Python DP adds its pairs: its call,
    its candidates and the pairs its series popped (and its parallels' steps): the copy
    split's budgets count the compiled DPs' work (uncounted, the split on two flows through
    stacked diamonds spent ten times its share and ran into a 20 s limit that the flow-LP
    search alone meets in 1 s)."""
    from fa2opt import pareto
    c = {v: Candidates(v, [1.0, 2.0, 3.0, 4.0], [9.0, 7.0, 5.0, 3.0], [0, 1, 2, 3])
         for v in "abcd"}
    tree = Series((Leaf("a"), Parallel((Leaf("b"), Leaf("c"))), Leaf("d")))
    solve = tree_kernel.compile_remainder(tree, c)
    want = pareto_remainder(tree, 100.0, c)[0]
    before = pareto.PAIRS[0]
    assert solve(100.0)[0] == want
    popped = pareto.PAIRS[0] - before - tree_kernel.CALL_PAIRS - 16  # (a call, 16 candidates)
    # the parallel's 8 steps, and per series at most all pairs of its parts' fronts (≤ 4·4
    # then ≤ 7·4 points: the kernel prunes by its bounds, so at least one pair a series)
    assert 2 <= popped <= 8 + 16 + 28


def test_declines_a_node_of_several_leaves_unless_fixed():
    """Node reduction's copies (one node, several leaves) must be fixed: the kernel would
    charge each leaf; fixed, the answer is the reference's."""
    c = {v: Candidates(v, [1.0, 2.0], [5.0, 3.0], [0, 1]) for v in "abc"}
    a = Leaf("a")
    tree = Series((Parallel((Series((a, Leaf("b"))), a)), Leaf("c")))
    solve = tree_kernel.compile_remainder(tree, c)
    assert solve(10.0) is DECLINED
    assert solve(10.0, {"a": 1})[0] == pareto_remainder(tree, 10.0, c, {"a": 1})[0]


def shared_latency(tree, latency) -> float:
    """:func:`~fa2opt.reductions.sptree.evaluate` with each shared sub-expression evaluated
    once (evaluate walks it at every place: 2^40 of them below)."""
    val: dict[int, float] = {}
    for t in postorder(tree):
        parts = [val[id(p)] for p in getattr(t, "parts", ())]
        val[id(t)] = (latency[t.node] if type(t) is Leaf else sum(parts) if type(t) is Series
                      else max(parts))
    return val[id(tree)]


def shared_ladder(levels: int):
    """Node reduction's shape: each level's two branches share the tree below by identity
    (its nodes' leaves double per level), then two nodes of one leaf in series."""
    t = Leaf("s0")
    for k in range(1, levels + 1):
        t = Parallel((Series((t, Leaf(f"x{k}"))), Series((t, Leaf(f"y{k}")))))
    return Series((t, Leaf("f1"), Leaf("f2")))


@pytest.mark.parametrize("seed", range(6))
def test_shared_sub_expressions_are_not_walked_per_path(seed):
    """The nodes of several leaves are fixed at every call, so they are the program's
    coupling nodes: every operation with more than one parent (a shared sub-expression) has
    no free leaf and the kernel never descends into it. Compiled as free, the slack fill
    and the backtracking walked the 2^40 paths of this tree (a 5,000-node DAG's remainder
    solve: 38 s at one search node, past a 3 s limit). With budgets from loose to none fitting,
    the same optimum as the reference DP's on 10 levels; on 40 it answers at once."""
    rng = random.Random(seed)
    for levels in (10, 40):
        tree = shared_ladder(levels)
        several = {v for v, n in count_leaves(tree).items() if n > 1}
        cands = {}
        for v in count_leaves(tree):
            lat = sorted(rng.sample(range(1, 30), 3))
            cost = sorted(rng.sample(range(1, 30), 3), reverse=True)
            cands[v] = Candidates(v, [float(x) for x in lat], [float(x) for x in cost], [0, 1, 2])
        solve = tree_kernel.compile_remainder(tree, cands)
        p = solve.program
        parents = np.zeros(len(p.kind), np.int64)
        inner = p.kind >= tree_kernel.SERIES
        np.add.at(parents, p.left[inner], 1)
        np.add.at(parents, p.right[inner], 1)
        assert (parents > 1).any() and (p.free[parents > 1] == 0).all()
        fixed = {v: rng.randrange(3) for v in several}
        fastest = shared_latency(tree, {v: cands[v].latency[fixed.get(v, 0)] for v in cands})
        for budget in (fastest - 1.0, fastest, fastest + 5.0, fastest + 40.0):
            got = solve(budget, fixed)
            assert got is not DECLINED
            if levels == 10:
                want = pareto_remainder(tree, budget, cands, fixed)
                assert (got is None) == (want is None)
                if got is not None:
                    assert got[0] == want[0]
            if got is not None:
                cost, choice = got
                assert all(choice[v] == k for v, k in fixed.items())
                assert shared_latency(tree, {v: cands[v].latency[k]
                                             for v, k in choice.items()}) <= budget
                assert cost == sum(cands[v].cost[k] for v, k in choice.items() if v not in fixed)


def test_a_tree_that_declined_once_is_left_to_the_python_dp(monkeypatch):
    """Fronts past the kernel's limit are found only after building them: a flow whose
    compiled solve declined is not compiled or solved by the kernel again."""
    c = {v: Candidates(v, [1.0, 2.0, 3.0], [5.0, 3.0, 1.0], [0, 1, 2]) for v in "abc"}
    tree = Series((Leaf("a"), Parallel((Leaf("b"), Leaf("c")))))
    compiled = []

    def compile(t, cands):
        compiled.append(tree_kernel.compile_remainder(t, cands))
        return compiled[-1]
    programs = SEARCH._FlowPrograms(compile, lambda i: (tree, c), 1)
    assert programs.solve(0, 5.0, None, None)[0] == pareto_remainder(tree, 5.0, c)[0]
    calls = count_calls(monkeypatch)
    compiled[0].max_points = 0  # every front now past the kernel's limit
    assert programs.solve(0, 5.0, None, None) is DECLINED
    assert programs.solve(0, 6.0, {"a": 0}, None) is DECLINED
    assert len(calls) == 1 and len(compiled) == 1


def test_only_where_the_kernels_run():
    c = {"a": Candidates("a", [1.0], [1.0], [0])}
    assert tree_kernel.compile_remainder(Leaf("a"), c) is not None
    assert EXACT_FRONTS.compile is tree_kernel.compile_remainder
    with cpu_kernels.disabled():
        assert tree_kernel.compile_remainder(Leaf("a"), c) is None


def test_not_where_numba_is_imported_but_the_kernels_were_not_warmed_up(monkeypatch):
    """A long flow-bound search imports Numba for its passes midway (NUMBA_AFTER_S): the
    tree DPs must not then compile (~10 s after an install) inside the decision."""
    pytest.importorskip("numba")  # imported, as such a search leaves it
    monkeypatch.setattr(cpu_kernels, "_WARM", False)
    c = {"a": Candidates("a", [1.0], [1.0], [0])}
    assert tree_kernel.kernel() is None
    assert tree_kernel.compile_remainder(Leaf("a"), c) is None


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10**6), at=st.integers(1, 4))
def test_the_searches_with_it_equal_brute_force(seed, at):
    """Two flows sharing a window of a non-SP DAG with per-edge delays, handed over to the
    copy split at the root or after 1-3 nodes of the flow-bound search: the remainders of
    both searches by the compiled trees, the answer = brute force."""
    with pytest.MonkeyPatch.context() as mp:
        force_hand_over(mp, at)
        mp.setattr(tree_kernel, "MAX_COMBINATIONS", 0)  # the search, not the plan's kernel
        check_against(two_flow_instance(random.Random(seed)))


@pytest.mark.parametrize("searched_by", ["flow bound", "copy split"])
@settings(max_examples=150, deadline=None)
@given(inst=st.one_of(instances(max_nodes=7, max_configs=4),
                      edge_instances(max_nodes=6, max_configs=4)))
def test_random_instances_searched_with_it_equal_brute_force(searched_by, inst):
    """Random instances of every shape (non-SP flows, several flows sharing nodes, edge
    delays, every queueing model; as drawn or every SLA a few ulps from the spec's
    tolerance edge), each component with a coupling node searched (neither the plan's
    kernel nor the fixing DP enumerates it) by the flow-bound search or the copy split:
    fa2 = brute force = its Python path. (About one draw in nine has a coupling node.)"""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(tree_kernel, "MAX_COMBINATIONS", 0)
        mp.setattr(SEARCH, "FIXING_MAX_SPACE", 0)
        if searched_by == "flow bound":
            mp.setattr(SEARCH, "FLOW_MIN_COUPLING", 1)
        else:
            mp.setattr(SEARCH, "FLOW_BOUND", False)
            mp.setattr(SEARCH, "LAGRANGE_MIN_SPACE", 0)
        _against_brute_force(inst)


@pytest.mark.skipif(not HAVE_MILP, reason="needs the MILP (pyomo + highspy)")
@pytest.mark.parametrize("seed", range(3))
def test_long_paths_with_and_without_it_equal_the_milp(seed):
    """Chains through one pool of models, handed over to the copy split at the flow-bound
    search's 2nd node (each flow's tree solved at every step of its ascent): fa2 with the
    compiled trees = fa2 without = the MILP."""
    problem = Problem.from_instance(long_paths(np.random.default_rng(seed), 10, 4, 6,
                                               configs=(3, 6)))
    with pytest.MonkeyPatch.context() as mp:
        seen = force_hand_over(mp, 2)
        mp.setattr(tree_kernel, "MAX_COMBINATIONS", 0)  # the search, not the plan's kernel
        calls = count_calls(mp)
        a = checked(problem, get_solver("fa2").solve(problem))
        assert calls and seen
        with cpu_kernels.disabled():
            b = checked(problem, get_solver("fa2").solve(problem))
    m = checked(problem, get_solver("milp").solve(problem))
    assert a.status == b.status == m.status
    if a.status == "optimal":
        assert a.cost == pytest.approx(m.cost, rel=1e-9)
        assert b.cost == pytest.approx(m.cost, rel=1e-9)


def _pack_by_numpy(cost, ptr, priced, prices, shift):
    """The prices' packing as it was written in numpy (the reference of pack_prices)."""
    nodes = np.asarray(priced, np.int64)
    starts, sizes = ptr[nodes], ptr[nodes + 1] - ptr[nodes]
    offsets = np.zeros(len(priced), np.int64)
    np.cumsum(sizes[:-1], out=offsets[1:])
    vals = np.asarray(prices, float)
    lows = np.minimum.reduceat(vals, offsets)
    neg = lows < 0.0
    if neg.any():
        vals -= np.repeat(np.where(neg, lows, 0.0), sizes)
        for lo in lows[neg].tolist():
            shift += lo
    cost[np.repeat(starts - offsets, sizes) + np.arange(len(vals))] = vals
    return shift


def test_compiled_packing_of_prices_equals_the_numpy_one():
    """tree_numba.pack_prices (a TreeRemainder call's prices written into its costs, the
    negative ones shifted) gives the numpy version's costs and shift bit for bit: random
    nodes in random order, prices of either sign, zeros and -0.0 among them."""
    from fa2opt import tree_numba

    rng = np.random.default_rng(3)
    for _ in range(2000):
        n = int(rng.integers(1, 12))
        ptr = np.zeros(n + 1, np.int64)
        np.cumsum(rng.integers(1, 6, n), out=ptr[1:])
        cost = rng.normal(0, 100, int(ptr[-1]))
        priced = rng.permutation(n)[:int(rng.integers(1, n + 1))].tolist()
        prices = []
        for i in priced:
            p = rng.normal(0, 50, int(ptr[i + 1] - ptr[i])) * rng.choice([1e-9, 1.0, 1e6])
            p[rng.random(p.size) < 0.15] = rng.choice([0.0, -0.0])
            prices.extend(p.tolist())
        shift = float(rng.normal(0, 10))
        want_cost = cost.copy()
        want = _pack_by_numpy(want_cost, ptr, priced, prices, shift)
        got_cost = cost.copy()
        got = tree_numba.pack_prices(got_cost, ptr, np.asarray(priced, np.int64),
                                     np.asarray(prices, float), shift)
        assert got == want or (got != got and want != want)
        assert np.array_equal(got_cost.view(np.int64), want_cost.view(np.int64))


def test_the_one_flow_exact_bound_by_the_compiled_tree_equals_the_python_dp():
    """dp_bound.DPBound solves (2)'s kept flow by the flow's compiled tree (its aliases of
    duplicated leaves each their own node) where the kernels run, as the copy split and the
    exact values do: the same bound as the Python DP's for every flow, at the LP's duals and
    at random ones, over random masks (the compiled call was the one made)."""
    from fa2opt.pareto import EXACT_FRONTS
    from fa2opt.reductions.flow_bound import LPSearch
    from test_flow_bound import _small_instances, decoupled  # noqa: E402

    rng = np.random.default_rng(5)
    compiled = checked = 0
    for inst in _small_instances(23, 60):
        _, dp = decoupled(inst)
        if not dp.coupling or any(not c.positions for c in dp.candidates.values()):
            continue
        s = LPSearch(dp, [f.graph for f in dp.flows], EXACT_FRONTS, None)
        sol = s.lp.solve(np.ones(s.lp.n_lam))
        if sol is None or not s.dpb.ok:
            continue
        for trial in range(4):
            duals = sol[1] if trial == 0 else sol[1] * rng.uniform(0, 3, sol[1].size)
            y = s.lp.flow_weights(duals, True)
            ub = (rng.random(s.lp.n_lam) < 0.8).astype(float) if trial > 1 else np.ones(s.lp.n_lam)
            for i in range(len(dp.flows)):
                got = s.dpb.flow_bound(i, y, ub)
                compiled += s.dpb.programs.done[i] not in (None, False)
                done, s.dpb.programs.done[i] = s.dpb.programs.done[i], False  # the Python DP
                want = s.dpb.flow_bound(i, y, ub)
                s.dpb.programs.done[i] = done
                assert got == pytest.approx(want, rel=1e-9, abs=1e-9), (inst.name, i, trial)
                checked += 1
    assert checked >= 100 and compiled >= checked // 2, (checked, compiled)
