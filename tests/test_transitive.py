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
    kept = drop_dominated(g.nodes, g.preds, 0)  # (the rule itself: no density gate)
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
        kept = drop_dominated(nodes, preds, 0)
        assert (("u", direct) not in kept["w"]) is dropped, (first, direct)
    chain = {"u": (), "x": (("u", 0.0),), "w": (("x", 0.0),)}
    assert drop_dominated(nodes, chain, 0) is chain  # nothing to drop: the same mapping


@pytest.mark.skipif(not cpu_kernels.available(), reason="Numba is not installed")
@settings(max_examples=300, deadline=None)
@given(dags(max_nodes=12), st.sampled_from([0.0, 2.0]))
def test_the_compiled_twin_drops_the_same_edges(g: FlowGraph, gate: float):
    from fa2opt import tree_numba

    pos = {v: i for i, v in enumerate(g.nodes)}
    preds = [g.preds[v] for v in g.nodes]
    ptr = np.array([0, *np.cumsum([len(p) for p in preds])], np.int64)
    src = np.array([pos[u] for p in preds for u, _ in p], np.int64)
    delay = np.array([d for p in preds for _, d in p], float)
    p2, s2, d2 = tree_numba._dominated_dropped(ptr, src, delay, gate)
    kept = drop_dominated(g.nodes, g.preds, gate)
    want = [(pos[u], d) for v in g.nodes for u, d in kept[v]]
    assert list(zip(s2.tolist(), d2.tolist())) == want
    assert p2.tolist() == [0, *np.cumsum([len(kept[v]) for v in g.nodes]).tolist()]
