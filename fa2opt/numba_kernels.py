"""The Numba-compiled kernels behind :mod:`fa2opt.cpu_kernels` (see its docstring for the
algorithm, the exactness argument and the preconditions). Imported only when Numba is
available; compiled on first call and cached on disk."""

from __future__ import annotations

import numba
import numpy as np

_jit = numba.njit(cache=True, nogil=True)
_inline = numba.njit(cache=True, nogil=True, inline="always")


@_inline
def _first_below(row, v, a, e):
    """Least s in [a, e) with row[s] < v on a non-increasing row (e if none): galloping."""
    if a >= e or row[a] < v:
        return a
    lo, step = a, 1  # invariant: row[lo] >= v
    while True:
        hi = lo + step
        if hi >= e:
            hi = e
            break
        if row[hi] < v:
            break
        lo = hi
        step *= 2
    while hi - lo > 1:  # row[lo] >= v, and hi == e or row[hi] < v
        mid = (lo + hi) >> 1
        if row[mid] < v:
            hi = mid
        else:
            lo = mid
    return hi


@_inline
def _breakpoints(row, a, e, pos, val):
    """The budgets in [a, e) where a non-increasing row strictly drops (its first finite
    entry included) and their values, into pos/val; returns their number."""
    n = 0
    s = _first_below(row, np.inf, a, e)
    while s < e:
        pos[n] = s
        val[n] = row[s]
        n += 1
        s = _first_below(row, row[s], s + 1, e)
    return n


@_inline
def _sweep(ct, cv, m, lo, hi, row):
    """row[t] for lo ≤ t < hi = least cv[i] over candidates with ct[i] ≤ t (inf if none);
    candidates have lo ≤ ct < hi. One store per budget."""
    order = np.argsort(ct[:m])
    best = np.inf
    t = lo
    i = 0
    while i < m:
        nxt = ct[order[i]]
        row[t:nxt] = best
        t = nxt
        while i < m and ct[order[i]] == t:
            if cv[order[i]] < best:
                best = cv[order[i]]
            i += 1
    row[t:hi] = best


@_jit
def leaf_fold(g, u, c, lo, hi, out):
    B, T1 = g.shape
    K = u.shape[1]
    pos = np.empty(T1, np.int64)
    val = np.empty(T1)
    for b in range(B):
        row = out[b]
        row[:lo] = np.inf
        row[hi:] = np.inf
        umin, umax = T1, -1
        for k in range(K):
            if c[b, k] < np.inf:
                umin = min(umin, u[b, k])
                umax = max(umax, u[b, k])
        if umax < 0:
            row[lo:hi] = np.inf
            continue
        # every wanted output reads g on [lo − umax, hi − umin) only
        n = _breakpoints(g[b], max(0, lo - umax), max(0, min(T1, hi - umin)), pos, val)
        ct = np.empty(K * n, np.int64)
        cv = np.empty(K * n)
        m = 0
        for k in range(K):
            ck, uk = c[b, k], u[b, k]
            if ck == np.inf:
                continue
            for j in range(n):
                t = pos[j] + uk
                if t >= hi:
                    break
                ct[m] = max(t, lo)
                cv[m] = ck + val[j]
                m += 1
        _sweep(ct, cv, m, lo, hi, row)


SPARSE_BELOW = 16  # the candidate lists while c has fewer than T1 / 16 breakpoints


@_jit
def minplus_conv(a, c, out):
    """Over the breakpoints' pairs, sorted (O(P_a·P_c·log) and as much memory) while c has
    few; otherwise each breakpoint p of a writes ``a[p] + c[t − p]`` over c's segments
    (O(P_a·T), no candidate list: 1e8 pairs took 1.6 GB and seconds, audit 16). Both take
    the same sums, so the same bits."""
    B, T1 = a.shape
    pa, va = np.empty(T1, np.int64), np.empty(T1)
    pc, vc = np.empty(T1, np.int64), np.empty(T1)
    for b in range(B):
        na = _breakpoints(a[b], 0, T1, pa, va)
        nc = _breakpoints(c[b], 0, T1, pc, vc)
        if nc * SPARSE_BELOW >= T1:
            row = out[b]
            row[:] = np.inf
            for i in range(na):
                for j in range(nc):
                    lo = pa[i] + pc[j]
                    if lo >= T1:
                        break
                    hi = min(T1, pa[i] + pc[j + 1]) if j + 1 < nc else T1
                    v = va[i] + vc[j]
                    for t in range(lo, hi):
                        if v < row[t]:
                            row[t] = v
            continue
        ct = np.empty(na * nc, np.int64)
        cv = np.empty(na * nc)
        m = 0
        for i in range(na):
            for j in range(nc):
                t = pa[i] + pc[j]
                if t >= T1:
                    break
                ct[m] = t
                cv[m] = va[i] + vc[j]
                m += 1
        _sweep(ct, cv, m, 0, T1, out[b])


@_inline
def _last_at_most(pos, n, x):
    """The last j < n with pos[j] ≤ x (−1 if none), pos increasing."""
    lo, hi = 0, n
    while lo < hi:
        mid = (lo + hi) >> 1
        if pos[mid] <= x:
            lo = mid + 1
        else:
            hi = mid
    return lo - 1


@_jit
def chain_dp(u, c, T, backtrack, cost, arg):
    """A series of leaves on sparse curves, per batch item (see :func:`fa2opt.cpu_kernels.chain_dp`).

    ``u``/``c``: (L, B, K) steps and costs of the L leaves in series order (c = inf: not
    available); ``T``: (B,) budgets. Writes ``cost[b]`` (the least cost within T[b], inf if
    none) and, with ``backtrack``, ``arg[l, b]``: leaf l's first minimising column on the
    optimal path (−1 where the cost is inf)."""
    L, B, K = u.shape
    tmax = 0
    for b in range(B):
        tmax = max(tmax, T[b])
    width = tmax + 1
    pos = np.empty((L + 1, width), np.int64)  # level l: the curve before leaf l
    val = np.empty((L + 1, width))
    n = np.zeros(L + 1, np.int64)
    head = np.empty(K, np.int64)
    lo = np.zeros(L + 1, np.int64)  # Σ_{i≥l} max u_i and Σ_{i≥l} min u_i of the item
    hi = np.zeros(L + 1, np.int64)
    for b in range(B):
        Tb = T[b]
        if backtrack:
            arg[:, b] = -1
        if Tb < 0:
            cost[b] = np.inf
            continue
        # budgets the rest of the chain can read: level l + 1 (after leaf l) is wanted on
        # [T − Σ_{i>l} max u_i, T − Σ_{i>l} min u_i] (live columns), as the dense windows
        dead = False
        for l in range(L - 1, -1, -1):
            umin, umax = tmax + 1, -1
            for k in range(K):
                if c[l, b, k] < np.inf:
                    umin = min(umin, u[l, b, k])
                    umax = max(umax, u[l, b, k])
            if umax < 0:
                dead = True
            lo[l] = lo[l + 1] + umax
            hi[l] = hi[l + 1] + umin
        if dead:
            cost[b] = np.inf
            continue
        pos[0, 0], val[0, 0], n[0] = 0, 0.0, 1  # the empty expression: 0 at every budget
        for l in range(L):
            # merge the K lists (pos_j + u_k, val_j + c_k), each increasing in budget, from
            # budget wlo on (earlier candidates count at wlo: the last of them is the least),
            # and keep the budgets where the running minimum strictly drops
            np_ = n[l]
            wlo, whi = Tb - lo[l + 1], Tb - hi[l + 1]
            for k in range(K):
                if c[l, b, k] == np.inf:
                    head[k] = np_
                else:
                    head[k] = max(0, _last_at_most(pos[l], np_, wlo - u[l, b, k]))
            m = 0
            best = np.inf
            while True:
                t = whi + 1
                for k in range(K):
                    if head[k] < np_:
                        t = min(t, max(wlo, pos[l, head[k]] + u[l, b, k]))
                if t > whi:
                    break
                v = np.inf
                for k in range(K):
                    if head[k] < np_ and max(wlo, pos[l, head[k]] + u[l, b, k]) == t:
                        v = min(v, c[l, b, k] + val[l, head[k]])
                        head[k] += 1
                if v < best:
                    best = v
                    pos[l + 1, m], val[l + 1, m] = t, v
                    m += 1
            n[l + 1] = m
        cost[b] = val[L, n[L] - 1] if n[L] > 0 else np.inf
        if not backtrack or n[L] == 0:
            continue
        t = Tb
        for l in range(L - 1, -1, -1):  # first k minimising c_k + g_l(t − u_k), as the dense argmin
            bk, bv = -1, np.inf
            for k in range(K):
                ck, uk = c[l, b, k], u[l, b, k]
                if ck == np.inf or uk > t:
                    continue
                j = _last_at_most(pos[l], n[l], t - uk)
                if j >= 0:
                    x = ck + val[l, j]
                    if x < bv:
                        bk, bv = k, x
            arg[l, b] = bk
            t -= u[l, b, bk]
