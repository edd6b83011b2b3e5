"""Dominated edges dropped before the decomposition (a transitive reduction with delays).

An edge (u, w, d) of a flow never sets w's start when the flow has another path
u → x ⇝ w whose first edge has a delay d_ux ≥ d: every node latency is > 0 and every delay
≥ 0 (spec), so that path reaches w no earlier. It holds in the spec's IEEE rule too
(``finish(v) = fl(max_u fl(finish(u) + d_uv) + L_v)``, :func:`fa2opt.spec.longest_path`):
fl(y + t) ≥ y for t ≥ 0 and fl(· + ·) is monotone, so along the path
fl(finish(x) + …) ≥ fl(finish(u) + d_ux) ≥ fl(finish(u) + d). Dropping the edge drops
one candidate of w's max that another candidate bounds, so every finish time, hence every
flow latency, keeps its bits. Sources and sinks stay (u keeps an out-edge, w an in-edge).
Dropping every such edge at once keeps each argument valid: reachability survives a
transitive reduction (a path of most edges between two nodes uses none that another path
implies), and a dropped first edge u → x has, by the same rule, a kept u → y ⇝ x with
d_uy ≥ d_ux (the y strictly earlier in topological order each time, so this ends).

The decomposition (:func:`~.sp_decompose.decompose`) then sees fewer arcs: a complete DAG
of zero-delay edges becomes a chain (400 nodes: 80,000 edges, all but 399 dropped), where
its parallel-merge dominance tests took O(V³) (5 s at 200 nodes), and dense random DAGs
need fewer node reductions, hence fewer coupling nodes.

Method: descendant sets as Python ints (bitsets) in reverse topological order, then per
node its successors by delay, descending, with prefix unions of their descendant sets: an
edge (u, w, d) is dropped iff w lies in the union over u's successors x with d_ux ≥ d.
O(V + E) big-int operations on ≤ V bits, O((V + E)·V/64) word operations, V²/8 bytes.
Returned unchanged (the same mapping) when no node has two successors in the flow (no edge
can be dominated: chains, in-trees) or past :data:`MAX_NODES` nodes.

When the decomposition uses the reduced graph is measured, not proven
(:func:`~.sp_decompose.decompose`): where it leaves no copies (then no search at all:
stacked diamonds with zero-latency cross edges, 181 nodes, > 120 s → 4 ms) or the graph is
:func:`dense` (where the decomposition's own dominance tests cost O(V³)); otherwise the graph
as it is. Reduced sparse graphs that stay non-series-parallel always copied fewer leaves (a
50-node random DAG of issue 13's family: 593 → 216), but the coupling search then explored
more nodes more often than fewer (50 → 385 on one benchmark draw; 7 draws worse and 4 better
of 46) -- why fewer copies make that search larger is open. The transitive reduction of a
DAG: Aho, Garey and Ullman, "The transitive reduction of a directed graph", SIAM J. Comput.
1(2), 1972.
"""

from __future__ import annotations

from bisect import bisect_right
from typing import Mapping, Sequence

Preds = Mapping[str, Sequence[tuple[str, float]]]

MAX_NODES = 20_000  # bitsets of V bits per node: V²/8 bytes (50 MB here)
MIN_EDGES_PER_NODE = 3  # dense: E ≥ 3·V (module doc: measured on the families)


def dense(nodes: Sequence[str], preds: Preds) -> bool:
    """At least :data:`MIN_EDGES_PER_NODE` edges per node: the reduced graph is used even
    where it still needs copies (module doc)."""
    return sum(len(preds[v]) for v in nodes) >= MIN_EDGES_PER_NODE * len(nodes)


def drop_dominated(nodes: Sequence[str], preds: Preds) -> Preds:
    """``preds`` (``preds[v] = ((u, d_uv), …)``, ``nodes`` in topological order) without
    the edges another path dominates (module doc), each node's kept predecessors in their
    order; ``preds`` itself when none is dropped."""
    if len(nodes) > MAX_NODES:
        return preds
    index = {v: i for i, v in enumerate(nodes)}
    succs: list[list[tuple[float, int]]] = [[] for _ in nodes]
    for v in nodes:
        j = index[v]
        for u, d in preds[v]:
            succs[index[u]].append((d, j))
    if all(len(s) < 2 for s in succs):
        return preds
    below = [0] * len(nodes)  # below[i]: bit j set iff node j is a descendant of node i
    for i in range(len(nodes) - 1, -1, -1):
        m = 0
        for _, j in succs[i]:
            m |= below[j] | (1 << j)
        below[i] = m
    dropped: set[tuple[int, int, float]] = set()
    for i, s in enumerate(succs):
        if len(s) < 2:
            continue
        s.sort(key=lambda e: -e[0])  # by delay, descending
        union, prefix = 0, []
        for _, j in s:
            union |= below[j]
            prefix.append(union)
        neg = [-d for d, _ in s]  # ascending: the successors with delay ≥ d come first
        for d, j in s:
            k = bisect_right(neg, -d)  # how many successors have a delay ≥ d
            if prefix[k - 1] >> j & 1:
                dropped.add((i, j, d))
    if not dropped:
        return preds
    out = dict(preds)
    for v in nodes:
        j = index[v]
        p = preds[v]
        kept = tuple([(u, d) for u, d in p if (index[u], j, d) not in dropped])
        if len(kept) != len(p):
            out[v] = kept
    return out
