"""The Numba-compiled twins of :mod:`fa2opt.dag_batch` (see its docstring for the
recurrences). Loops written as the CUDA kernels are, row by row: the same IEEE operations in
the same order (Numba does not contract ``a + y * l`` into an FMA without ``fastmath``), so
the results equal the numpy twins' bit for bit. Imported only when
:func:`fa2opt.cpu_kernels.available`; compiled on first call and cached on disk."""

from __future__ import annotations

import numba
import numpy as np

_jit = numba.njit(cache=True, nogil=True)


@_jit
def evaluate(lat, cost, slot_node, flow_ptr, pred_ptr, pred_slot, pred_delay, budget,
             lat_f, ok, total):
    """Per row b: finish times slot by slot, each flow's longest finish, the budget test and
    the left-to-right cost sum (outputs lat_f (B, F), ok (B,) bool, total (B,))."""
    B, V = lat.shape
    F = flow_ptr.size - 1
    fin = np.empty(slot_node.size)
    for b in range(B):
        all_ok = True
        for f in range(F):
            longest = -np.inf
            for s in range(flow_ptr[f], flow_ptr[f + 1]):
                start = 0.0
                for e in range(pred_ptr[s], pred_ptr[s + 1]):
                    x = fin[pred_slot[e]] + pred_delay[e]
                    if x > start:
                        start = x
                x = start + lat[b, slot_node[s]]
                fin[s] = x
                if x > longest:
                    longest = x
            lat_f[b, f] = longest
            if not longest <= budget[f]:
                all_ok = False
        ok[b] = all_ok
        t = 0.0
        for v in range(V):
            t += cost[b, v]
        total[b] = t


@_jit
def latency_limits(fast, slot_node, flow_ptr, pred_ptr, pred_slot, pred_delay, budget, limit):
    """Per node, the least over its flows of ``budget[f] - ((head + after) - fast)`` (limit
    (V,); +inf for a node in no flow): :func:`fa2opt.reductions.pruning.latency_limits` on
    the slots, the same operations (head forward as the rule's finish times; each slot's
    ``after``, the longest in-flow path after it, scattered backward over the in-flow
    edges -- max is exact, so the order of the scatter cannot change a bit). O(S + E)."""
    for v in range(limit.size):
        limit[v] = np.inf
    head = np.empty(slot_node.size)
    after = np.empty(slot_node.size)
    for f in range(flow_ptr.size - 1):
        lo, hi = flow_ptr[f], flow_ptr[f + 1]
        for s in range(lo, hi):
            start = 0.0
            for e in range(pred_ptr[s], pred_ptr[s + 1]):
                x = head[pred_slot[e]] + pred_delay[e]
                if x > start:
                    start = x
            head[s] = start + fast[slot_node[s]]
            after[s] = 0.0
        for s in range(hi - 1, lo - 1, -1):
            v = slot_node[s]
            fv = fast[v]
            a = after[s]
            room = budget[f] - ((head[s] + a) - fv)
            if room < limit[v]:
                limit[v] = room
            tail = a + fv
            for e in range(pred_ptr[s], pred_ptr[s + 1]):
                x = tail + pred_delay[e]
                p = pred_slot[e]
                if x > after[p]:
                    after[p] = x


@_jit
def node_min(y, ptr, lat, cost, allowed, val, arg, mins):
    """Per row b and node v: the first strict minimum of cost + y·lat over the allowed
    candidates (``allowed`` (1, C) shared or (B, C)) into mins/arg; val[b] = the minima added
    left to right."""
    B, V = y.shape
    shared = allowed.shape[0] == 1
    for b in range(B):
        al = allowed[0] if shared else allowed[b]
        t = 0.0
        for v in range(V):
            best = np.inf
            bk = -1
            yv = y[b, v]
            a = ptr[v]
            for c in range(a, ptr[v + 1]):
                x = cost[c] + yv * lat[c]
                better = al[c] & (x < best)  # branch-free: selects, not jumps (2.5x here)
                best = x if better else best
                bk = c - a if better else bk
            arg[b, v] = bk
            mins[b, v] = best
            t += best
        val[b] = t
