"""The Numba-compiled exact tree DP behind :mod:`fa2opt.tree_kernel` (see its docstring for
the program format, the recurrences and why the result is exact). Imported only when Numba
runs (:func:`fa2opt.cpu_kernels.available`); compiled on first call and cached on disk.

Every function here is also plain Python (``tree_dp.py_func``), which the tests run beside
the compiled one against brute force and the reference DP of :mod:`fa2opt.pareto`."""

from __future__ import annotations

import numba
import numpy as np

from .tree_kernel import DELAY, GREEDY_STEPS, LEAF, SERIES, TOO_BIG

_jit = numba.njit(cache=True, nogil=True)


@_jit
def _grow(a, n):
    """``a`` with room for at least ``n`` entries (doubling; the first len(a) kept)."""
    if n <= a.shape[0]:
        return a
    b = np.empty(max(n, 2 * a.shape[0]), a.dtype)
    b[:a.shape[0]] = a
    return b


@_jit
def _before(l1, c1, l2, c2):
    return l1 < l2 or (l1 == l2 and c1 < c2)


@_jit
def _push(hl, hc, hy, h, L, C, y):
    """Adds (L, C, y) to the binary heap of h entries ordered by (L, C); returns h + 1."""
    i = h
    while i > 0:
        p = (i - 1) >> 1
        if not _before(L, C, hl[p], hc[p]):
            break
        hl[i], hc[i], hy[i] = hl[p], hc[p], hy[p]
        i = p
    hl[i], hc[i], hy[i] = L, C, y
    return h + 1


@_jit
def _pop(hl, hc, hy, h):
    """Removes the heap's first entry; returns h - 1."""
    h -= 1
    L, C, y = hl[h], hc[h], hy[h]
    i = 0
    while True:
        j = 2 * i + 1
        if j >= h:
            break
        if j + 1 < h and _before(hl[j + 1], hc[j + 1], hl[j], hc[j]):
            j += 1
        if not _before(hl[j], hc[j], L, C):
            break
        hl[i], hc[i], hy[i] = hl[j], hc[j], hy[j]
        i = j
    hl[i], hc[i], hy[i] = L, C, y
    return h


@_jit
def _greedy_latency(kind, left, right, arg, delay, lat, cost, row_ptr, cap, lam, val, rows):
    """Each leaf at its row within its cap least in cost + lam * latency (ties: the
    faster), into ``rows`` (per node); returns (the root's latency, the choice's cost).
    ``val``: each sub-expression's latency."""
    total = 0.0
    for i in range(kind.shape[0]):
        k = kind[i]
        if k == 0:
            s = row_ptr[arg[i]]
            b, bv = s, cost[s] + lam * lat[s]
            for r in range(s + 1, row_ptr[arg[i] + 1]):
                if lat[r] > cap[i]:
                    break
                w = cost[r] + lam * lat[r]
                if w < bv:
                    b, bv = r, w
            rows[arg[i]] = b
            val[i] = lat[b]
            total += cost[b]
        elif k == 1:
            val[i] = delay[arg[i]]
        elif k == 2:
            val[i] = val[left[i]] + val[right[i]]
        else:
            val[i] = max(val[left[i]], val[right[i]])
    return val[kind.shape[0] - 1], total


@_jit
def _fill(kind, left, right, arg, delay, lat, cost, row_ptr, budget, rows, val):
    """Slack filling of the choice ``rows`` (per node; ``val``: its sub-expressions'
    latencies): top-down from the root's ``budget``, each leaf moved to its cheapest row
    within what it may take; a series' left part first, given what its right part takes
    now, then the right part, given what the left took; a parallel's parts each within
    the parallel's allowance. Updates ``rows`` and ``val``. An explicit stack of
    (sub-expression, allowance, phase): no recursion, whatever the depth."""
    P = kind.shape[0]
    so, sa, sp = np.empty(P, np.int64), np.empty(P), np.empty(P, np.int64)
    so[0], sa[0], sp[0] = P - 1, budget, 0
    top = 1
    while top > 0:
        i, allow, phase = so[top - 1], sa[top - 1], sp[top - 1]
        k = kind[i]
        if k == 0:
            b = rows[arg[i]]
            for r in range(b + 1, row_ptr[arg[i] + 1]):
                if lat[r] > allow:
                    break
                if cost[r] < cost[b]:
                    b = r
            rows[arg[i]] = b
            val[i] = lat[b]
            top -= 1
        elif k == 1:
            top -= 1
        elif phase == 0:  # the left part first
            sp[top - 1] = 1
            so[top], sa[top], sp[top] = left[i], allow - val[right[i]] if k == 2 else allow, 0
            top += 1
        elif phase == 1:  # then the right part
            sp[top - 1] = 2
            so[top], sa[top], sp[top] = right[i], allow - val[left[i]] if k == 2 else allow, 0
            top += 1
        else:
            val[i] = val[left[i]] + val[right[i]] if k == 2 else max(val[left[i]], val[right[i]])
            top -= 1


@_jit
def _greedy_bound(kind, left, right, arg, delay, lat, cost, row_ptr, cap, budget, val):
    """(ub, lam): the least cost of the Lagrangian greedy choices (:func:`_greedy_latency`)
    within ``budget`` over a bisection on the multiplier, the best then slack-filled
    (:func:`_fill`; kept when it still fits), and its multiplier ((inf, 0) if none fits).
    ``val``: the sub-expressions' latencies in the last choice evaluated."""
    P = kind.shape[0]
    rows = np.empty(row_ptr.shape[0] - 1, np.int64)
    best = np.empty_like(rows)
    L, C = _greedy_latency(kind, left, right, arg, delay, lat, cost, row_ptr, cap, 0.0, val, rows)
    if L <= budget:
        return C, 0.0
    ub, lam = np.inf, 0.0
    hi = 1.0
    for _ in range(64):  # a multiplier that fits (the fastest rows fit if anything does)
        L, C = _greedy_latency(kind, left, right, arg, delay, lat, cost, row_ptr, cap, hi, val, rows)
        if L <= budget:
            ub, lam = C, hi
            best[:] = rows
            break
        hi *= 8.0
    if ub == np.inf:
        return ub, 0.0
    lo = 0.0
    for _ in range(GREEDY_STEPS):
        mid = 0.5 * (lo + hi)
        L, C = _greedy_latency(kind, left, right, arg, delay, lat, cost, row_ptr, cap, mid, val, rows)
        if L <= budget:
            hi = mid
            if C < ub:
                ub, lam = C, mid
                best[:] = rows
        else:
            lo = mid
    # the best choice's latencies, then its slack filled and checked by its own sums
    for i in range(P):
        k = kind[i]
        if k == 0:
            val[i] = lat[best[arg[i]]]
        elif k == 1:
            val[i] = delay[arg[i]]
        elif k == 2:
            val[i] = val[left[i]] + val[right[i]]
        else:
            val[i] = max(val[left[i]], val[right[i]])
    _fill(kind, left, right, arg, delay, lat, cost, row_ptr, budget, best, val)
    total = 0.0
    for i in range(P):
        k = kind[i]
        if k == 0:
            val[i] = lat[best[arg[i]]]
            total += cost[best[arg[i]]]
        elif k == 1:
            val[i] = delay[arg[i]]
        elif k == 2:
            val[i] = val[left[i]] + val[right[i]]
        else:
            val[i] = max(val[left[i]], val[right[i]])
    if val[P - 1] <= budget and total < ub:
        ub = total
    return ub, lam


@_jit
def tree_dp(kind, left, right, arg, delay, lat, cost, row_ptr, budget, max_points, pick):
    """The exact (latency, cost) Pareto DP of one program (:mod:`fa2opt.tree_kernel`) on
    tables packed as ``lat``/``cost`` (node v's rows at ``row_ptr[v]:row_ptr[v+1]``, sorted
    by (latency, cost)). Writes each leaf node's table position into ``pick`` and returns
    the least cost within ``budget``; -1.0 when there is none, ``TOO_BIG`` when the fronts
    would hold more than ``max_points`` points (then ``pick`` is not written)."""
    P = kind.shape[0]
    mn = np.empty(P)  # least latency of each sub-expression (fastest rows; + and max)
    for i in range(P):
        k = kind[i]
        if k == LEAF:
            s = row_ptr[arg[i]]
            if row_ptr[arg[i] + 1] == s:
                return -1.0
            mn[i] = lat[s]
        elif k == DELAY:
            mn[i] = delay[arg[i]]
        elif k == SERIES:
            mn[i] = mn[left[i]] + mn[right[i]]
        else:
            mn[i] = max(mn[left[i]], mn[right[i]])
    # caps, top-down: what a part may take with its series siblings at their fastest; each
    # level loosened by tol (keeping a point too many is harmless, dropping one is not)
    tol = 1e-9 * (abs(budget) + abs(mn[P - 1])) + 1e-300
    cap = np.empty(P)
    cap[P - 1] = budget + tol
    for i in range(P - 1, -1, -1):
        if kind[i] == SERIES:
            cap[left[i]] = cap[i] - mn[right[i]] + tol
            cap[right[i]] = cap[i] - mn[left[i]] + tol
        elif kind[i] > SERIES:
            cap[left[i]] = cap[i]
            cap[right[i]] = cap[i]
    # Lagrangian cost bound. ub: a feasible choice's cost, lam: its multiplier
    # (_greedy_bound). For any choice x through point p = (l, c) of sub-expression i,
    #   c(x) + lam (lat(x) - budget)  >=  c + lam l + rest[i],
    # rest[i] = -lam budget + Σ g[s] over i's series siblings on the path to the root
    # + Σ sub[s] over its parallel siblings (a parallel's latency is at least each
    # branch's); sub[s] = Σ cheapest rows within caps, g[s] ≤ min c + lam lat over s. So p
    # is in no feasible choice costing ≤ ub when c + lam l + rest[i] > ub (loosened by
    # 1e-9 of ub), and neither is any point it dominates
    val = np.empty(P)
    ub, lam = _greedy_bound(kind, left, right, arg, delay, lat, cost, row_ptr, cap, budget, val)
    sub, g = np.empty(P), np.empty(P)
    for i in range(P):
        k = kind[i]
        if k == LEAF:
            s = row_ptr[arg[i]]
            best, bg = np.inf, np.inf
            for r in range(s, row_ptr[arg[i] + 1]):
                if lat[r] > cap[i]:
                    break
                best = min(best, cost[r])
                bg = min(bg, cost[r] + lam * lat[r])
            if best == np.inf:
                return -1.0
            sub[i], g[i] = best, bg
        elif k == DELAY:
            sub[i], g[i] = 0.0, lam * delay[arg[i]]
        elif k == SERIES:
            sub[i], g[i] = sub[left[i]] + sub[right[i]], g[left[i]] + g[right[i]]
        else:
            sub[i] = sub[left[i]] + sub[right[i]]
            g[i] = max(g[left[i]] + sub[right[i]], sub[left[i]] + g[right[i]])
    rest = np.empty(P)
    rest[P - 1] = -lam * budget
    for i in range(P - 1, -1, -1):
        if kind[i] == SERIES:
            rest[left[i]] = rest[i] + g[right[i]]
            rest[right[i]] = rest[i] + g[left[i]]
        elif kind[i] > SERIES:
            rest[left[i]] = rest[i] + sub[right[i]]
            rest[right[i]] = rest[i] + sub[left[i]]
    lim = ub + 1e-9 * abs(ub) + 1e-300
    finite = lim < np.inf
    for i in range(P):
        finite = finite and abs(rest[i]) < np.inf
    if not finite:  # no bound (nothing fits the greedy, or extreme values overflow)
        lam, lim = 0.0, np.inf
        rest[:] = 0.0
    # fronts, bottom-up, in one pool: latency ascending, cost strictly descending; fa/fb
    # are a point's parts (pool indices; a leaf's table position in fa)
    m = 64
    fl, fc = np.empty(m), np.empty(m)
    fa, fb = np.empty(m, np.int64), np.empty(m, np.int64)
    start, end = np.empty(P, np.int64), np.empty(P, np.int64)
    hl, hc = np.empty(0), np.empty(0)  # the series merge's heap, and each row's pointer
    hy, px = np.empty(0, np.int64), np.empty(0, np.int64)
    n = 0
    for i in range(P):
        k = kind[i]
        c = cap[i]
        start[i] = n
        if k == LEAF:
            s, e = row_ptr[arg[i]], row_ptr[arg[i] + 1]
            if n + e - s > fl.shape[0]:
                fl, fc = _grow(fl, n + e - s), _grow(fc, n + e - s)
                fa, fb = _grow(fa, n + e - s), _grow(fb, n + e - s)
            best = np.inf
            for r in range(s, e):
                if lat[r] > c:
                    break
                if cost[r] < best:
                    best = cost[r]
                    if cost[r] + lam * lat[r] + rest[i] <= lim:
                        fl[n], fc[n], fa[n], fb[n] = lat[r], cost[r], r - s, -1
                        n += 1
        elif k == DELAY:
            if delay[arg[i]] <= c:
                if n + 1 > fl.shape[0]:
                    fl, fc, fa, fb = _grow(fl, n + 1), _grow(fc, n + 1), _grow(fa, n + 1), _grow(fb, n + 1)
                fl[n], fc[n], fa[n], fb[n] = delay[arg[i]], 0.0, -1, -1
                n += 1
        else:
            a0, a1, b0, b1 = start[left[i]], end[left[i]], start[right[i]], end[right[i]]
            if k == SERIES:
                # Pareto front of the pairs within the cap, output-sensitive: each point y
                # of B walks A (latency up, cost down) from its pointer px[y]; a heap on
                # (latency, cost) pops the pairs in latency order; a pair cheaper than all
                # before is kept, and its row jumps (bisection: A's costs descend) to the
                # first x whose pair is cheaper than the best so far -- the skipped pairs
                # are dominated now and stay so, as the best only falls
                nb = b1 - b0
                if hy.shape[0] < nb:
                    hl, hc = np.empty(2 * nb), np.empty(2 * nb)
                    hy, px = np.empty(2 * nb, np.int64), np.empty(2 * nb, np.int64)
                h = 0
                for y in range(b0, b1):
                    if fl[a0] + fl[y] <= c:
                        h = _push(hl, hc, hy, h, fl[a0] + fl[y], fc[a0] + fc[y], y)
                        px[y - b0] = a0
                # (no pair costs less than lim - rest - lam * the least pair latency)
                best = lim - rest[i] - lam * (fl[a0] + fl[b0])
                while h > 0:
                    L, C, y = hl[0], hc[0], hy[0]
                    h = _pop(hl, hc, hy, h)
                    x = px[y - b0]
                    if C < best:
                        best = C
                        if C + lam * L + rest[i] <= lim:
                            if n == fl.shape[0]:
                                if n >= max_points:
                                    return TOO_BIG
                                fl, fc, fa, fb = _grow(fl, n + 1), _grow(fc, n + 1), _grow(fa, n + 1), _grow(fb, n + 1)
                            fl[n], fc[n], fa[n], fb[n] = L, C, x, y
                            n += 1
                    lo, hi = x + 1, a1  # first x' > x with fc[x'] + fc[y] < best
                    while lo < hi:
                        mid = (lo + hi) >> 1
                        if fc[mid] + fc[y] < best:
                            hi = mid
                        else:
                            lo = mid + 1
                    if lo < a1 and fl[lo] + fl[y] <= c:
                        px[y - b0] = lo
                        h = _push(hl, hc, hy, h, fl[lo] + fl[y], fc[lo] + fc[y], y)
            else:
                # parallel: at each latency threshold the last point of each front within
                # it (the cheapest), advancing the front whose next point is faster
                if a1 == a0 or b1 == b0:
                    end[i] = n
                    return -1.0
                if n + (a1 - a0) + (b1 - b0) > max_points:
                    return TOO_BIG
                need = n + (a1 - a0) + (b1 - b0)
                if need > fl.shape[0]:
                    fl, fc, fa, fb = _grow(fl, need), _grow(fc, need), _grow(fa, need), _grow(fb, need)
                x, y = a0, b0
                while True:
                    L = max(fl[x], fl[y])
                    C = fc[x] + fc[y]
                    if C + lam * L + rest[i] <= lim:
                        if n > start[i] and fl[n - 1] == L:
                            n -= 1  # same latency, cheaper: replaces the last point
                        fl[n], fc[n], fa[n], fb[n] = L, C, x, y
                        n += 1
                    nx = fl[x + 1] if x + 1 < a1 else np.inf
                    ny = fl[y + 1] if y + 1 < b1 else np.inf
                    if nx == np.inf and ny == np.inf:
                        break
                    if nx <= ny:
                        x += 1
                    if ny <= nx:
                        y += 1
        end[i] = n
        if n == start[i]:
            return -1.0
        if n > max_points:
            return TOO_BIG
    # the root's cheapest point within the budget: its last with latency ≤ budget
    r = end[P - 1] - 1
    while r >= start[P - 1] and fl[r] > budget:
        r -= 1
    if r < start[P - 1]:
        return -1.0
    total = fc[r]
    # backtrack: (sub-expression, point) pairs on an explicit stack
    so, sp = np.empty(P, np.int64), np.empty(P, np.int64)
    so[0], sp[0] = P - 1, r
    top = 1
    while top > 0:
        top -= 1
        i, x = so[top], sp[top]
        k = kind[i]
        if k == LEAF:
            pick[arg[i]] = fa[x]
        elif k != DELAY:
            so[top], sp[top] = left[i], fa[x]
            so[top + 1], sp[top + 1] = right[i], fb[x]
            top += 2
    return total
