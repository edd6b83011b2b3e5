"""Many flows' graphs as arrays, for the SLA rule's matrices (:func:`fa2opt.spec.finish_matrix`).

A graph shared by thousands of flows (3,000 flows over 300 nodes) made every per-flow loop
over the flows' nodes -- the SLA check of a decision, the pruning's latency limits --
cost O(Σ_f (|f| + E_f)) Python steps: seconds per pass, outside any deadline. A
:class:`FlowMatrix` holds the flows once as arrays: the nodes of the union of their graphs
in a topological order, its edges (in and out, CSR) and ``member[v, f]``; each pass is then
one numpy step per node over every flow (:func:`fa2opt.spec.finish_matrix`), with the
per-flow loops' bits.

That holds when every flow's graph is the union's subgraph induced on its nodes (what
:func:`fa2opt.problem.flow_graphs` makes: the instance's edges between the flow's nodes).
:func:`flow_matrix` checks it (each flow's predecessor count equals the union edges
between its nodes) and answers None otherwise, or for fewer than
:data:`~fa2opt.spec.MATRIX_MIN_FLOWS` flows, a union with a cycle, or where the loops are
faster (:func:`fa2opt.spec.matrix_pays`: few nodes per flow over many edges): the caller
then loops.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np

from . import spec
from .model import topological_order

_KEY = "flow_matrix"  # where the first flow's shared cache (FlowGraph._derived) keeps it


@dataclass(frozen=True, eq=False)
class FlowMatrix:
    """Flows' graphs as arrays: ``order`` the nodes of any flow, topologically sorted for
    their union; node i's in-edges ``src[ptr[i]:ptr[i+1]]`` with delays ``delay`` and
    out-edges ``dst[out_ptr[i]:out_ptr[i+1]]`` with ``out_delay`` (node indices);
    ``member[i, f]``: node i is in flow f. Nothing here depends on rates or profiles."""

    order: tuple[str, ...]
    ptr: list[int]
    src: np.ndarray
    delay: np.ndarray
    out_ptr: list[int]
    dst: np.ndarray
    out_delay: np.ndarray
    member: np.ndarray

    def vector(self, values: Mapping[str, float]) -> np.ndarray:
        """``values[v]`` for the nodes in :attr:`order`, as float64."""
        return np.fromiter(map(values.__getitem__, self.order), dtype=float, count=len(self.order))

    def longest_paths(self, latency: Mapping[str, float]) -> np.ndarray:
        """Each flow's latency by the rule for node latencies ``latency``
        (:func:`fa2opt.spec.longest_paths`)."""
        return spec.longest_paths(self.ptr, self.src, self.delay, self.member,
                                  self.vector(latency), range(len(self.order)))


def flow_matrix(flows: Sequence[Any]) -> FlowMatrix | None:
    """The :class:`FlowMatrix` of ``flows`` (:class:`fa2opt.problem.FlowGraph`\\ s), or None
    where the loops decide (see the module doc). Made (or found wanting) once per tuple of
    graphs: kept in the first graph's shared cache (``_derived``, which its copies with other
    budgets share, :meth:`fa2opt.problem.Problem.with_budgets`), with the other graphs' caches to
    recognise them by identity -- O(F) per lookup. Made in O(V + E + Σ_f |f|), the last in C."""
    if len(flows) < spec.MATRIX_MIN_FLOWS:
        return None
    derived = getattr(flows[0], "_derived", None)
    key = tuple([getattr(g, "_derived", None) for g in flows])
    if derived is not None:
        kept = derived.get(_KEY)
        if kept is not None and len(kept[0]) == len(key) and all(
                a is b for a, b in zip(kept[0], key)):
            return kept[1]
    made = _build(flows)
    if derived is not None and all(k is not None for k in key):
        derived[_KEY] = (key, made)
    return made


def _build(flows: Sequence[Any]) -> FlowMatrix | None:
    """:func:`flow_matrix` made afresh: the union's nodes and edges (from the distinct
    (node, predecessor tuple) pairs: one C-level set update per flow), its topological
    order (Kahn's), the arrays, then the induced-subgraph check."""
    pairs: set = set()
    count = np.zeros(len(flows), dtype=np.int64)  # each flow's in-flow edges
    for j, g in enumerate(flows):
        pairs.update(g.preds.items())
        count[j] = sum(map(len, g.preds.values()))
    names = sorted({v for v, _ in pairs})
    edges = sorted({(u, v, float(d)) for v, p in pairs for u, d in p})
    slots = sum(map(len, [g.nodes for g in flows]))
    if not spec.matrix_pays(len(names), len(edges), len(flows), slots + int(count.sum())):
        return None  # (sparse flows over many edges: the loops are faster)
    order = topological_order(names, [(u, v) for u, v, _ in edges])
    if len(order) != len(names):  # a cycle in the union: the loops decide
        return None
    at = {v: i for i, v in enumerate(order)}
    V, E = len(order), len(edges)
    u = np.fromiter((at[e[0]] for e in edges), dtype=np.int64, count=E)
    w = np.fromiter((at[e[1]] for e in edges), dtype=np.int64, count=E)
    d = np.fromiter((e[2] for e in edges), dtype=float, count=E)
    member = np.zeros((V, len(flows)), dtype=bool)
    for j, g in enumerate(flows):
        member[np.fromiter(map(at.__getitem__, g.nodes), np.int64, len(g.nodes)), j] = True
    for blk in spec.flow_blocks(max(1, E), len(flows)):  # induced union edges per flow
        if (member[u, blk] & member[w, blk]).sum(axis=0).tolist() != count[blk].tolist():
            return None  # a flow lacks an edge between two of its nodes: not induced
    by_in, by_out = np.argsort(w, kind="stable"), np.argsort(u, kind="stable")
    ptr, out_ptr = np.zeros(V + 1, dtype=np.int64), np.zeros(V + 1, dtype=np.int64)
    np.cumsum(np.bincount(w, minlength=V), out=ptr[1:])
    np.cumsum(np.bincount(u, minlength=V), out=out_ptr[1:])
    return FlowMatrix(tuple(order), ptr.tolist(), u[by_in], d[by_in], out_ptr.tolist(),
                      w[by_out], d[by_out], member)
