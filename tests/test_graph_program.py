"""A flow's program straight from its graph (fa2opt.tree_kernel.graph_program: the
decomposition's reductions, joins and node reductions compiled, fa2opt.tree_numba.
sp_program): its value is the flow's longest path for any latencies, its coupling nodes are
exactly the nodes with several leaves (and nothing shared holds another), it declines graphs
past its node-reduction cap (the Python decomposition then decides), and fa2's plans
compiled by it decide as brute force and the Python path do, also where the kernel declines
and the plan is completed."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fa2opt import cpu_kernels, get_solver, plan, tree_kernel
from fa2opt.generate import FAMILIES
from fa2opt.generate.instances import scaling_instance
from fa2opt.problem import FlowGraph, Problem
from fa2opt.reductions.sp_decompose import clear_cache, decompose
from fa2opt.reductions.sptree import count_leaves
from fa2opt.solver import checked

from strategies import instances  # noqa: E402  (tests/strategies.py)

# (marked compiled: each test runs with the kernels warmed up, tests/conftest.py)
pytestmark = [pytest.mark.skipif(not cpu_kernels.available(), reason="Numba not available"),
              pytest.mark.compiled]


def evaluate(p: tree_kernel.TreeProgram, lat: np.ndarray) -> float:
    """The program's value for node latencies ``lat`` (in its order), operation by
    operation; each operation's parts come before it."""
    val = np.empty(len(p.kind))
    for i, k in enumerate(p.kind.tolist()):
        if k == tree_kernel.LEAF:
            val[i] = lat[p.arg[i]]
        elif k == tree_kernel.DELAY:
            val[i] = p.delay[p.arg[i]]
        else:
            a, b = p.left[i], p.right[i]
            assert a < i and b < i
            val[i] = val[a] + val[b] if k == tree_kernel.SERIES else max(val[a], val[b])
    return float(val[p.roots[0]])


def check_structure(p: tree_kernel.TreeProgram, counts: np.ndarray, order: tuple) -> None:
    """A binary post-order program, root last, one leaf operation per node; ``counts`` each
    node's leaves (in ``order``) with every copy counted (multiplicities from the root down); coupling
    nodes exactly those with several; ``free`` the non-coupling leaves below each operation,
    0 below every operation with several parents (the kernel never descends into those)."""
    n = len(p.kind)
    assert p.roots.tolist() == [n - 1]
    leaf_ops = np.flatnonzero(p.kind == tree_kernel.LEAF)
    assert sorted(p.arg[leaf_ops].tolist()) == list(range(len(order)))
    mult, parents = np.zeros(n), np.zeros(n, int)
    mult[n - 1] = 1
    for i in range(n - 1, -1, -1):
        if p.kind[i] >= tree_kernel.SERIES:
            for c in (p.left[i], p.right[i]):
                assert c < i
                mult[c] += mult[i]
                parents[c] += 1
    want = {order[p.arg[i]]: int(mult[i]) for i in leaf_ops}
    assert dict(zip(order, counts.tolist())) == want
    assert sorted(p.coupling.tolist()) == sorted(order.index(v) for v, k in want.items() if k > 1)
    free: list[int] = []
    for i, k in enumerate(p.kind.tolist()):
        free.append((1 if want[order[p.arg[i]]] == 1 else 0) if k == tree_kernel.LEAF
                    else 0 if k == tree_kernel.DELAY else free[p.left[i]] + free[p.right[i]])
    assert p.free.tolist() == free
    assert all(free[i] == 0 for i in range(n) if parents[i] > 1)


@st.composite
def dags(draw, max_nodes: int = 9):
    """A DAG in topological order (``n0`` first), each node's predecessors drawn among the
    earlier ones (repeated edges allowed), every edge without or with a delay."""
    n = draw(st.integers(1, max_nodes))
    nodes = tuple(f"n{i}" for i in range(n))
    preds = {}
    for i, v in enumerate(nodes):
        ps = draw(st.lists(st.integers(0, i - 1), max_size=3)) if i else []
        preds[v] = tuple((nodes[j], float(draw(st.sampled_from([0, 0, 1, 2.5, 7]))))
                         for j in ps)
    return FlowGraph("f", 1.0, nodes, preds, 1.0)


@settings(max_examples=500, deadline=None)
@given(dags(), st.data())
def test_value_is_the_longest_path(g, data):
    """Every graph of up to 9 nodes is taken (at most 20 node reductions): a program of the
    right structure (:func:`check_structure`) whose value is the longest path (the spec's
    rule) for random latencies, in any table order; without coupling nodes exactly where the
    Python decomposition finds the graph series-parallel."""
    order = tuple(data.draw(st.permutations(g.nodes)))
    made = tree_kernel.graph_program(g, order)
    assert made is not None
    p, counts = made
    check_structure(p, counts, order)
    if decompose(g.nodes, g.preds)[1] == 0:
        assert not len(p.coupling)
    for _ in range(3):
        lat = np.array(data.draw(st.lists(st.sampled_from([0.0, 0.5, 1.0, 3.0, 10.0]),
                                          min_size=len(order), max_size=len(order))))
        assert evaluate(p, lat) == pytest.approx(g.longest_path(dict(zip(order, lat))),
                                                 rel=1e-12)


def layered(widths: list[int], delay: float = 0.0) -> FlowGraph:
    """Layers of the given widths, each node fed by every node of the layer before (a
    vertex series-parallel graph: complete bipartite joins between layers)."""
    nodes, preds, prev = [], {}, []
    for i, w in enumerate(widths):
        layer = [f"l{i}_{k}" for k in range(w)]
        for v in layer:
            nodes.append(v)
            preds[v] = tuple((u, delay) for u in prev)
        prev = layer
    return FlowGraph("f", 1.0, tuple(nodes), preds, 1.0)


@pytest.mark.parametrize("widths", [[2, 2], [3, 4, 1, 5, 2], [1, 6, 6, 1], [4] * 12])
@pytest.mark.parametrize("delay", [0.0, 1.5])
def test_joins_between_layers(widths, delay):
    """Complete bipartite joins (every node of a layer feeds every node of the next) get
    junctions, so layered graphs reduce without node reduction, to their longest path."""
    g = layered(widths, delay)
    p, counts = tree_kernel.graph_program(g, g.nodes)
    assert not len(p.coupling) and set(counts.tolist()) == {1}
    assert decompose(g.nodes, g.preds)[1] == 0
    rng = np.random.default_rng(len(widths))
    for _ in range(5):
        lat = rng.exponential(3.0, len(g.nodes))
        assert evaluate(p, lat) == pytest.approx(g.longest_path(dict(zip(g.nodes, lat))),
                                                 rel=1e-12)


def test_every_small_shape_and_the_node_reduction_cap(monkeypatch):
    """Every generated shape of 4-12 nodes is taken, non-SP graphs with their node
    reduction's copies as coupling nodes (the Python decomposition's, or one more: only
    plain dominance is applied); a graph past ``MAX_NODE_REDUCTIONS`` node reductions is
    declined; and a 3,000-node chain's series is balanced (depth ~log2, not a 3,000-long
    prefix)."""
    for shape in ("chain", "tree", "fork-join", "nested-sp", "non-sp"):
        for n in range(4, 13):
            inst = FAMILIES["small"].generator(np.random.default_rng(n), n, shape)
            g = Problem.from_instance(inst).flows[0]
            p, counts = tree_kernel.graph_program(g, g.nodes)
            check_structure(p, counts, g.nodes)
            tree, red = decompose(g.nodes, g.preds)
            python = sum(k > 1 for k in count_leaves(tree).values())
            assert python <= len(p.coupling) <= python + 1, (shape, n)
            # (a non-SP shape may reduce without copies once its dominated edges are dropped)
            assert red == 0 or shape == "non-sp"
    inst = FAMILIES["dense"].generator(np.random.default_rng(0), 30, 0.12)
    g = Problem.from_instance(inst).flows[0]
    assert tree_kernel.graph_program(g, g.nodes) is None
    monkeypatch.setattr(tree_kernel, "MAX_NODE_REDUCTIONS", 10_000)
    rng = np.random.default_rng(5)
    for inst in [inst] + [FAMILIES["dense"].generator(rng, n, 0.25) for n in (14, 18, 22)]:
        g = Problem.from_instance(inst).flows[0]  # many node reductions, shared labels
        p, counts = tree_kernel.graph_program(g, g.nodes)
        check_structure(p, counts, g.nodes)
        for _ in range(3):
            lat = rng.exponential(3.0, len(g.nodes))
            assert evaluate(p, lat) == pytest.approx(g.longest_path(dict(zip(g.nodes, lat))),
                                                     rel=1e-12)
    monkeypatch.undo()
    g = Problem.from_instance(scaling_instance("chain", 3_000, 2)).flows[0]
    p, _ = tree_kernel.graph_program(g, g.nodes)
    depth = [0] * len(p.kind)
    for i, k in enumerate(p.kind.tolist()):
        if k >= tree_kernel.SERIES:
            depth[i] = 1 + max(depth[p.left[i]], depth[p.right[i]])
    assert depth[-1] <= 16


def test_declines_without_the_kernels_or_with_nodes_outside_the_flow():
    g = FlowGraph("f", 1.0, ("a", "b"), {"a": (), "b": (("a", 0.0),)}, 1.0)
    assert tree_kernel.graph_program(g, ("a", "b")) is not None
    assert tree_kernel.graph_program(g, ("a", "b", "c")) is None
    with cpu_kernels.disabled():
        assert tree_kernel.graph_program(g, ("a", "b")) is None


@settings(max_examples=200, deadline=None)
@given(instances(max_nodes=7, max_configs=4))
def test_plans_compiled_from_the_graph_decide_as_brute_force(inst):
    """fa2's first decision on a fresh structure (its plan compiled from the graph where
    one flow's reductions take it) equals brute force and the Python path."""
    problem = Problem.from_instance(inst)
    clear_cache()
    got = checked(problem, get_solver("fa2").solve(problem))
    want = checked(problem, get_solver("brute-force").solve(problem))
    with cpu_kernels.disabled():
        py = checked(problem, get_solver("fa2").solve(problem))
    assert got.status == want.status == py.status
    if want.status == "optimal":
        assert got.cost == pytest.approx(want.cost, rel=1e-9)


def test_the_python_path_completes_a_plan_the_kernel_declines(monkeypatch):
    """Where the kernel declines (fronts past its limit, forced here), the plan compiled
    from the graph gets its tree, strategy and leaves (Plan.complete) and the Python path
    decides: the same cost as a plan compiled by the decomposition."""
    inst = FAMILIES["small"].generator(np.random.default_rng(3), 10, "tree")
    problem = Problem.from_instance(inst)
    clear_cache()
    p = plan.plan_for(problem, compiled=True)
    assert p.trees is None and p.reductions == () and p.programs is not None
    monkeypatch.setattr(tree_kernel, "MAX_POINTS", 0)
    got = checked(problem, get_solver("fa2").solve(problem))
    assert "compiled" not in got.extra and p.trees is not None
    full = plan.compile_plan(p.nodes, problem.flows)
    assert (p.components, p.leaf_count, p.flat, p.reductions) == \
        (full.components, full.leaf_count, full.flat, full.reductions)
    monkeypatch.undo()
    with cpu_kernels.disabled():
        want = checked(problem, get_solver("fa2").solve(problem))
    assert got.status == want.status and got.cost == pytest.approx(want.cost, rel=1e-12)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.integers(0, 60), st.integers(-1, 99)),
                max_size=400),
       st.integers(1, 40))
def test_arc_table_is_a_dictionary(ops, live) -> None:
    """sp_program's arc table (open addressing, GONE slots, rebuilt in place past half full,
    regrown or shrunk by _arc_reserve) holds what a dictionary holds under any sequence of
    inserts of absent keys, label updates and deletes."""
    from fa2opt import tree_numba as m

    arcs, meta = m._arc_table(live)
    ref: dict[int, int] = {}
    for add, key, lab in ops:
        if add and key not in ref:
            arcs, meta = m._arc_reserve(arcs, meta, 1)
            m._arc_add(arcs, meta, key, lab)
            ref[key] = lab
        elif not add and key in ref:
            s = m._arc_slot(arcs, key)
            arcs[s, 0] = m.GONE  # (as _cut deletes)
            meta[0] -= 1
            del ref[key]
        assert meta[0] == len(ref) and 4 * meta[0] <= len(arcs) and 2 * meta[1] <= len(arcs)
    held = {int(k): int(v) for k, v in arcs if k >= 0}
    assert held == ref
    assert all(m._arc_slot(arcs, k) >= 0 for k in ref)
    assert all(m._arc_slot(arcs, k) < 0 for k in range(61) if k not in ref)
