"""Dominated edges dropped before the decomposition (``fa2opt.reductions.transitive``, and its
compiled twin in ``tree_numba.sp_program``): the longest path keeps its bits, sources and
sinks stay, a complete DAG becomes a chain, and both versions drop the same edges."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fa2opt import cpu_kernels, spec
from fa2opt.problem import FlowGraph
from fa2opt.reductions import decompose
from fa2opt.reductions.transitive import drop_dominated
from test_graph_program import dags


def _edges(nodes, preds) -> list[tuple[str, str, float]]:
    return [(u, v, d) for v in nodes for u, d in preds[v]]


def _ends(nodes, preds) -> tuple[set, set]:
    tails = {u for v in nodes for u, _ in preds[v]}
    return {v for v in nodes if not preds[v]}, {v for v in nodes if v not in tails}


@settings(max_examples=400, deadline=None)
@given(dags(max_nodes=10), st.data())
def test_the_longest_path_keeps_its_bits(g: FlowGraph, data):
    kept = drop_dominated(g.nodes, g.preds)
    assert set(_edges(g.nodes, kept)) <= set(_edges(g.nodes, g.preds))
    assert _ends(g.nodes, kept) == _ends(g.nodes, g.preds)
    for _ in range(4):  # latencies > 0 (spec), some of them far apart
        lat = data.draw(st.lists(st.sampled_from([1e-9, 0.1, 0.3, 1.0, 3.0, 1e6]),
                                 min_size=len(g.nodes), max_size=len(g.nodes)))
        lat = dict(zip(g.nodes, lat))
        assert spec.longest_path(g.nodes, kept, lat) == spec.longest_path(g.nodes, g.preds, lat)


def _complete(n: int, delay: float = 0.0) -> tuple[tuple[str, ...], dict]:
    nodes = tuple(f"n{i}" for i in range(n))
    return nodes, {v: tuple((nodes[j], delay) for j in range(i)) for i, v in enumerate(nodes)}


def test_a_complete_dag_becomes_a_chain_and_decomposes_without_copies():
    nodes, preds = _complete(120)
    kept = drop_dominated(nodes, preds)
    assert _edges(nodes, kept) == [(nodes[i], nodes[i + 1], 0.0) for i in range(119)]
    assert decompose(nodes, preds)[1] == 0  # (was O(V³) merges: seconds at 200 nodes)


def test_an_edge_is_dropped_only_under_a_path_whose_first_delay_is_as_large():
    nodes = ("u", "x", "w")
    for first, direct, dropped in ((1.0, 5.0, False), (5.0, 5.0, True), (7.0, 5.0, True),
                                   (0.0, 0.0, True), (0.0, 1e-12, False)):
        preds = {"u": (), "x": (("u", first),), "w": (("x", 0.0), ("u", direct))}
        kept = drop_dominated(nodes, preds)
        assert (("u", direct) not in kept["w"]) is dropped, (first, direct)
    chain = {"u": (), "x": (("u", 0.0),), "w": (("x", 0.0),)}
    assert drop_dominated(nodes, chain) is chain  # nothing to drop: the same mapping


@pytest.mark.skipif(not cpu_kernels.available(), reason="Numba is not installed")
@settings(max_examples=300, deadline=None)
@given(dags(max_nodes=12))
def test_the_compiled_twin_drops_the_same_edges(g: FlowGraph):
    from fa2opt import tree_numba

    pos = {v: i for i, v in enumerate(g.nodes)}
    preds = [g.preds[v] for v in g.nodes]
    ptr = np.array([0, *np.cumsum([len(p) for p in preds])], np.int64)
    src = np.array([pos[u] for p in preds for u, _ in p], np.int64)
    delay = np.array([d for p in preds for _, d in p], float)
    p2, s2, d2 = tree_numba._dominated_dropped(ptr, src, delay)
    kept = drop_dominated(g.nodes, g.preds)
    want = [(pos[u], d) for v in g.nodes for u, d in kept[v]]
    assert list(zip(s2.tolist(), d2.tolist())) == want
    assert p2.tolist() == [0, *np.cumsum([len(kept[v]) for v in g.nodes]).tolist()]


def _stacked_diamonds(k: int, cross_delay: float) -> tuple[tuple[str, ...], dict]:
    """k diamonds in series (s_i → a_i, b_i → s_{i+1}), a cross edge a_i → b_{i+1} between
    consecutive ones: non-series-parallel; with a zero delay each cross edge is dominated
    (a_i → s_{i+1} → b_{i+1})."""
    nodes, preds = ["s0"], {"s0": ()}
    for i in range(k):
        a, b, t = f"a{i}", f"b{i}", f"s{i + 1}"
        preds[a] = ((f"s{i}", 0.0),)
        preds[b] = ((f"s{i}", 0.0),) + (((f"a{i - 1}", cross_delay),) if i else ())
        preds[t] = ((a, 0.0), (b, 0.0))
        nodes += [a, b, t]
    return tuple(nodes), preds


def test_the_reduced_graph_is_taken_where_it_needs_no_copies():
    from fa2opt.reductions.sp_decompose import _reduce

    nodes, preds = _stacked_diamonds(40, 0.0)
    assert _reduce(nodes, preds)[1] > 0  # the graph as it is needs copies
    assert decompose(nodes, preds)[1] == 0  # its reduction is series-parallel: taken
    nodes, preds = _stacked_diamonds(40, 1.0)  # cross edges with a delay: none dominated
    assert drop_dominated(nodes, preds) is preds and decompose(nodes, preds)[1] > 0


def test_a_sparse_graph_still_needing_copies_keeps_its_edges():
    """Where the reduced graph still needs copies and has < 3 edges per node, the
    decomposition is the graph's own (module doc of transitive: measured, not proven)."""
    from fa2opt.reductions.sp_decompose import _reduce
    from fa2opt.generate import FAMILIES
    from fa2opt.problem import Problem

    g = Problem.from_instance(FAMILIES["random"].generator(np.random.default_rng(3), 50)).flows[0]
    kept = drop_dominated(g.nodes, g.preds)
    assert kept is not g.preds and _reduce(g.nodes, kept)[1] > 0
    assert repr(decompose(g.nodes, g.preds)) == repr(_reduce(g.nodes, g.preds))


@pytest.mark.compiled  # (the kernels warmed up and enabled: tests/conftest.py)
@pytest.mark.skipif(not cpu_kernels.available(), reason="Numba is not installed")
def test_the_compiled_decomposition_takes_the_same_graph():
    from fa2opt import tree_kernel

    nodes, preds = _stacked_diamonds(8, 0.0)
    made = tree_kernel.graph_program(FlowGraph("f", 1.0, nodes, preds, 1.0), nodes)
    assert made is not None and len(made[0].coupling) == 0  # the reduced graph, no copies
    nodes, preds = _stacked_diamonds(8, 1.0)  # copies, or declined (past its node reductions)
    made = tree_kernel.graph_program(FlowGraph("f", 1.0, nodes, preds, 1.0), nodes)
    assert made is None or len(made[0].coupling) > 0
