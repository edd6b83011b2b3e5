"""The Numba-compiled twins of the flow-bound search's passes over the DAGs
(:meth:`.flow_bound.LPSearch.start_tail`, :meth:`~.flow_bound.LPSearch.fill`, and the pass of
:meth:`.flow_bound.FlowLP.flow_weights` that sends each slot's inflow down its out-edges).

The Python loops of ``start_tail`` cost ~1 ms per pass on a 300-node random DAG and ~3 ms on
ten flows over 200 nodes, and greedy slack filling makes up to one pass per move: a third of
the search's time on the largest instances (profiled 2026-11-30, docs/fa2.md). These kernels
make the same IEEE operations in the same order (``max`` by strict ``>``, ``finish = start +
L``, ``tail = (d + L) + tail``, ``room = (budget − start) − tail``, the first of equal
savings), so they return the Python twins' values bit for bit and the search explores the
same nodes (``tests/test_flow_numba.py``). Imported only when
:func:`fa2opt.cpu_kernels.available`; compiled on first call and cached on disk.

The DAGs are given as CSR arrays over the slots (one per flow and node, in topological order,
flows one after another): ``in_ptr``/``in_src``/``in_d`` (each slot's in-edges: tail slot and
delay) and ``out_ptr``/``out_dst``/``out_d`` (out-edges: head slot and delay).
"""

from __future__ import annotations

import numba
import numpy as np

_jit = numba.njit(cache=True, nogil=True)


@_jit
def start_tail(L_slot, in_ptr, in_src, in_d, out_ptr, out_dst, out_d, start, tail):
    """Per slot the longest path ending just before it (``start``) and leaving it
    (``tail``), slot latencies ``L_slot``: one pass each way. O(slots + edges)."""
    S = L_slot.size
    finish = np.empty(S)
    for v in range(S):
        st = 0.0
        for e in range(in_ptr[v], in_ptr[v + 1]):
            t = finish[in_src[e]] + in_d[e]
            if t > st:
                st = t
        start[v] = st
        finish[v] = st + L_slot[v]
    for u in range(S - 1, -1, -1):
        tl = 0.0
        for e in range(out_ptr[u], out_ptr[u + 1]):
            v = out_dst[e]
            t = out_d[e] + L_slot[v] + tail[v]
            if t > tl:
                tl = t
        tail[u] = tl


@_jit
def fill(pick, allowed, lat, cost, owner, slot_node, slot_flow, budget, in_ptr, in_src, in_d,
         out_ptr, out_dst, out_d):
    """Greedy slack filling in place on ``pick`` (a column per node): while some allowed
    column is cheaper than its node's pick and fits its node's room (``budget`` of the slot's
    flow less start less tail, least over the node's slots), move that node to the first
    column saving most. At most one move per node count. O(moves · (slots + edges +
    columns))."""
    n = pick.size
    S = slot_node.size
    L_slot = np.empty(S)
    start = np.empty(S)
    tail = np.empty(S)
    room = np.empty(n)
    for _ in range(n):
        for s in range(S):
            L_slot[s] = lat[pick[slot_node[s]]]
        start_tail(L_slot, in_ptr, in_src, in_d, out_ptr, out_dst, out_d, start, tail)
        room[:] = np.inf
        for s in range(S):
            r = budget[slot_flow[s]] - start[s] - tail[s]
            if r < room[slot_node[s]]:
                room[slot_node[s]] = r
        best, arg = 0.0, -1
        for c in range(lat.size):
            v = owner[c]
            cur = pick[v]
            if allowed[c] and lat[c] <= room[v] and cost[c] < cost[cur]:
                saving = cost[cur] - cost[c]
                if saving > best:
                    best, arg = saving, c
        if arg < 0:
            break
        pick[owner[arg]] = arg


@_jit
def push_flow(inflow, ratio, out_ptr, out_dst, out_eid, edge):
    """In place: each slot's ``inflow`` (complete once the slots before it in topological
    order have been passed) sent down its out-edges in proportion ``ratio`` (per edge):
    ``edge[e] = x * ratio[e]`` and the head's inflow raised by it, slot by slot and edge by
    edge in CSR order -- the same IEEE operations in the same order as the Python loop of
    :meth:`.flow_bound.FlowLP.flow_weights` (a slot of zero inflow sends nothing). O(slots +
    edges)."""
    for s in range(inflow.size):
        x = inflow[s]
        if x != 0.0:
            for k in range(out_ptr[s], out_ptr[s + 1]):
                e = out_eid[k]
                f = x * ratio[e]
                edge[e] = f
                inflow[out_dst[k]] += f
