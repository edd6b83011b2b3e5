"""The Numba-compiled exact tree DP behind :mod:`fa2opt.tree_kernel` (see its docstring for
the program format, the recurrences and why the result is exact). Imported only when Numba
runs (:func:`fa2opt.cpu_kernels.available`); compiled on first call and cached on disk.

``forest_dp`` is the one entry point; the tests compare it with brute force, the reference
DP of :mod:`fa2opt.pareto` and fa2's Python path.

Throughout, ``fixed[v]`` is the table row (absolute, into ``lat``/``cost``) node v is fixed
at, or -1: a fixed node's leaves take that row alone and cost nothing here (the forest adds
its cost once); ``free[i]`` counts the unfixed leaves below operation i -- operations
without any (node reduction's shared copies are such) are never descended into."""

from __future__ import annotations

import numba
import numpy as np

from .reductions.transitive import MAX_NODES as TRANSITIVE_MAX_NODES
from .reductions.transitive import MIN_EDGES_PER_NODE as TRANSITIVE_MIN_EDGES_PER_NODE
from .tree_kernel import DELAY, LEAF, PARALLEL, SERIES, TOO_BIG, TOO_MANY

# Compiled functions take module globals as constants, and Numba's disk cache is keyed on this
# file alone: a change to these values in tree_kernel.py would run stale machine code. So a
# change must be made here as well (which invalidates the cache), or this import fails.
if (LEAF, DELAY, SERIES, PARALLEL, TOO_BIG, TOO_MANY) != (0, 1, 2, 3, -2.0, -3.0):
    raise ImportError("fa2opt.tree_kernel's program codes changed: update fa2opt/tree_numba.py")
if (TRANSITIVE_MAX_NODES, TRANSITIVE_MIN_EDGES_PER_NODE) != (20_000, 3):
    raise ImportError("fa2opt.reductions.transitive's limits changed: update fa2opt/tree_numba.py")
_jit = numba.njit(cache=True, nogil=True)
_inline = numba.njit(cache=True, nogil=True, inline="always")


@_jit
def _grow_columns(a, n):
    """The 2-D ``a`` with room for at least ``n`` columns (doubling; the first kept)."""
    if n <= a.shape[1]:
        return a
    b = np.empty((a.shape[0], max(n, 2 * a.shape[1])), a.dtype)
    b[:, :a.shape[1]] = a
    return b


@_jit
def _grow(a, n):
    """``a`` with room for at least ``n`` entries (doubling; the first len(a) kept)."""
    if n <= a.shape[0]:
        return a
    b = np.empty(max(n, 2 * a.shape[0]), a.dtype)
    b[:a.shape[0]] = a
    return b


@_inline
def _span(v, fixed, row_ptr):
    """The rows node v's leaves may take: [s, e)."""
    if fixed[v] >= 0:
        return fixed[v], fixed[v] + 1
    return row_ptr[v], row_ptr[v + 1]


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
def _evaluate(lo, hi, kind, left, right, arg, delay, lat, cost, fixed, rows, val):
    """The choice ``rows`` (a row per node) on operations lo..hi: each operation's latency
    into ``val``; returns (the root's latency, the free leaves' cost)."""
    total = 0.0
    for i in range(lo, hi + 1):
        k = kind[i]
        if k == LEAF:
            val[i] = lat[rows[arg[i]]]
            if fixed[arg[i]] < 0:
                total += cost[rows[arg[i]]]
        elif k == DELAY:
            val[i] = delay[arg[i]]
        elif k == SERIES:
            val[i] = val[left[i]] + val[right[i]]
        else:
            val[i] = max(val[left[i]], val[right[i]])
    return val[hi], total


@_jit
def _hulls(lo, hi, kind, arg, lat, cost, row_ptr, fixed, cap, hp, he, hv, hs, sl):
    """Each leaf's rows within its cap (its fastest row always) that are alone the least in
    cost + lam * latency for some lam ≥ 0, or are the faster of a tie: the lower convex
    hull of its Pareto rows, fastest first, leaf i's as ``hv[hp[i]:he[i]]`` (rows), with
    ``hs[t]`` the multiplier at which vertex t and the next (slower, cheaper) one tie --
    decreasing along a hull. Every such multiplier also into ``sl``; returns their number."""
    K = ns = 0
    for i in range(lo, hi + 1):
        if kind[i] != LEAF:
            continue
        s, e = _span(arg[i], fixed, row_ptr)
        hp[i] = K
        hv[K] = s
        K += 1
        for r in range(s + 1, e):
            if lat[r] > cap[i]:
                break
            if cost[r] >= cost[hv[K - 1]]:  # (rows sorted by (latency, cost): not cheaper)
                continue
            while K - hp[i] >= 2:  # the last vertex on or above the segment to r: not one
                x, y = hv[K - 2], hv[K - 1]
                if (cost[y] - cost[x]) * (lat[r] - lat[x]) >= (cost[r] - cost[x]) * (lat[y] - lat[x]):
                    K -= 1
                else:
                    break
            hv[K] = r
            K += 1
        he[i] = K
        for t in range(hp[i], K - 1):
            hs[t] = (cost[hv[t]] - cost[hv[t + 1]]) / (lat[hv[t + 1]] - lat[hv[t]])
            sl[ns] = hs[t]
            ns += 1
    return ns


@_jit
def _greedy_latency(lo, hi, kind, left, right, arg, delay, lat, cost, fixed, hp, he, hv, hs,
                    lam, val, rows):
    """Operations lo..hi: each leaf at the vertex of its hull (:func:`_hulls`) least in
    cost + lam * latency (ties: the faster), into ``rows`` (per node); returns (the root's
    latency, the choice's cost) (:func:`_evaluate`, into ``val``). Both are monotone in lam
    (each leaf's row only gets faster and dearer as lam grows)."""
    for i in range(lo, hi + 1):
        if kind[i] == LEAF:
            t = hp[i]
            while t + 1 < he[i] and lam < hs[t]:
                t += 1
            rows[arg[i]] = hv[t]
    return _evaluate(lo, hi, kind, left, right, arg, delay, lat, cost, fixed, rows, val)


@_jit
def _fill(hi, kind, left, right, arg, free, lat, cost, row_ptr, budget, rows, val, so, sa, sp):
    """Slack filling of the choice ``rows`` (per node; ``val``: its operations' latencies)
    of the tree rooted at ``hi``: top-down from the root's ``budget``, each free leaf moved
    to its cheapest row within what it may take; a series' left part first, given what its
    right part takes now, then the right part, given what the left took; a parallel's
    parts each within the parallel's allowance. Updates ``rows`` and ``val``. An explicit
    stack of (operation, allowance, phase) in ``so``, ``sa``, ``sp`` (≥ hi + 1 entries
    each): no recursion, whatever the depth."""
    so[0], sa[0], sp[0] = hi, budget, 0
    top = 1
    while top > 0:
        i, allow, phase = so[top - 1], sa[top - 1], sp[top - 1]
        k = kind[i]
        if free[i] == 0:  # nothing to move below (fixed leaves, delays)
            top -= 1
        elif k == LEAF:
            b = rows[arg[i]]
            for r in range(b + 1, row_ptr[arg[i] + 1]):
                if lat[r] > allow:
                    break
                if cost[r] < cost[b]:
                    b = r
            rows[arg[i]] = b
            val[i] = lat[b]
            top -= 1
        elif phase == 0:  # the left part first
            sp[top - 1] = 1
            so[top], sa[top], sp[top] = left[i], allow - val[right[i]] if k == SERIES else allow, 0
            top += 1
        elif phase == 1:  # then the right part
            sp[top - 1] = 2
            so[top], sa[top], sp[top] = right[i], allow - val[left[i]] if k == SERIES else allow, 0
            top += 1
        else:
            val[i] = val[left[i]] + val[right[i]] if k == SERIES else max(val[left[i]], val[right[i]])
            top -= 1


@_jit
def _greedy_bound(lo, hi, kind, left, right, arg, delay, free, lat, cost, row_ptr, fixed, cap,
                  budget, val, lam_hint, rows, best, hp, he, hv, hs, sl, so, sa, sp):
    """(ub, lam): the least cost of the Lagrangian greedy choices (:func:`_greedy_latency`)
    within ``budget``, the best then slack-filled (:func:`_fill`; kept when it still fits),
    and its multiplier ((inf, 0) if none fits). The choice only changes where two vertices
    of a leaf's hull tie (:func:`_hulls`), and its cost only grows with the multiplier: the
    cheapest within the budget is at the least such multiplier (or 0) where it fits, found
    by bisection on their sorted list -- ~log2(hull edges) passes. ``lam_hint`` ≥ 0: that
    multiplier alone, no search (an enumeration's later combinations reuse the first's:
    any multiplier gives valid bounds; (inf, lam_hint) if its choice does not fit).
    ``val``, ``rows``, ``best`` (a row per node), ``hp``, ``he`` (per operation), ``hv``,
    ``hs``, ``sl`` (as many as the leaves' rows), ``so``, ``sa``, ``sp``: scratch."""
    ns = _hulls(lo, hi, kind, arg, lat, cost, row_ptr, fixed, cap, hp, he, hv, hs, sl)
    L, C = _greedy_latency(lo, hi, kind, left, right, arg, delay, lat, cost, fixed, hp, he, hv,
                           hs, 0.0, val, rows)
    if L <= budget:
        return C, 0.0
    if lam_hint >= 0.0:  # that multiplier alone
        L, C = _greedy_latency(lo, hi, kind, left, right, arg, delay, lat, cost, fixed, hp, he,
                               hv, hs, lam_hint, val, rows)
        if L > budget:
            return np.inf, lam_hint
        ub, lam = C, lam_hint
        best[:] = rows
    else:  # the largest multiplier (every leaf at its fastest row), then bisection
        if ns == 0:
            return np.inf, 0.0
        sl[:ns].sort()
        L, C = _greedy_latency(lo, hi, kind, left, right, arg, delay, lat, cost, fixed, hp, he,
                               hv, hs, sl[ns - 1], val, rows)
        if L > budget:
            return np.inf, 0.0
        ub, lam = C, sl[ns - 1]
        best[:] = rows
        a, b = -1, ns - 1  # sl[a] (0 at -1) does not fit, sl[b] does
        while b - a > 1:
            mid = (a + b) >> 1
            L, C = _greedy_latency(lo, hi, kind, left, right, arg, delay, lat, cost, fixed, hp,
                                   he, hv, hs, sl[mid], val, rows)
            if L <= budget:
                b = mid
                ub, lam = C, sl[mid]
                best[:] = rows
            else:
                a = mid
        if not abs(lam) < np.inf:  # (extreme costs: a multiplier with no use as a bound)
            lam = 0.0
    # the best choice's latencies, then its slack filled and checked by its own sums
    _evaluate(lo, hi, kind, left, right, arg, delay, lat, cost, fixed, best, val)
    _fill(hi, kind, left, right, arg, free, lat, cost, row_ptr, budget, best, val, so, sa, sp)
    L, total = _evaluate(lo, hi, kind, left, right, arg, delay, lat, cost, fixed, best, val)
    if L <= budget and total < ub:
        ub = total
    return ub, lam


@_jit
def _caps(lo, hi, kind, left, right, arg, delay, lat, cost, row_ptr, fixed, budget, cap, mn,
          fast):
    """Each operation's cap into ``cap``, top-down from the root's ``budget``: what it may
    take with its series siblings at their least latency (every leaf at its fastest row);
    each level loosened by tol (keeping a point too many is harmless, dropping one is not);
    an operation shared by several parents (node reduction's copies) takes the loosest.
    False when some leaf has no row at all. ``mn`` (per operation: its least latency),
    ``fast`` (per node): scratch."""
    for i in range(lo, hi + 1):
        if kind[i] == LEAF:
            s, e = _span(arg[i], fixed, row_ptr)
            if e == s:
                return False
            fast[arg[i]] = s
    _evaluate(lo, hi, kind, left, right, arg, delay, lat, cost, fixed, fast, mn)
    tol = 1e-9 * (abs(budget) + abs(mn[hi])) + 1e-300
    cap[lo:hi + 1] = -np.inf
    cap[hi] = budget + tol
    for i in range(hi, lo - 1, -1):
        if kind[i] == SERIES:
            cap[left[i]] = max(cap[left[i]], cap[i] - mn[right[i]] + tol)
            cap[right[i]] = max(cap[right[i]], cap[i] - mn[left[i]] + tol)
        elif kind[i] > SERIES:
            cap[left[i]] = max(cap[left[i]], cap[i])
            cap[right[i]] = max(cap[right[i]], cap[i])
    return True


_DONE, _ROOM, _EMPTY, _TOO_BIG = 0, 1, 2, 3  # _fronts' outcomes


@_jit
def _fronts(i0, n, hi, kind, left, right, arg, delay, lat, cost, row_ptr, fixed, cap, rest, rn,
            lam, lim, max_points, fl, fc, fa, fb, hl, hc, hy, px, start, end, lam_out):
    """The fronts of operations i0..hi into the pool from its point ``n`` on (:func:`_tree`'s
    DP; it computes ``cap``, ``rest``, ``rn``, ``lam`` and ``lim``). Returns (outcome, i, n):
    ``_DONE`` (n: the points in all), ``_EMPTY`` (operation i has no point), ``_TOO_BIG``,
    or ``_ROOM``: operation i wants a pool (and heap) of n points -- grown, its front is
    made again from start[i]. The arrays are never reassigned here (see :func:`_tree`).
    The pairs a series pops and the steps a parallel takes are added to ``lam_out[1]``
    (the DP's work, :class:`fa2opt.tree_kernel.TreeRemainder`)."""
    for i in range(i0, hi + 1):
        k = kind[i]
        c = cap[i]
        start[i] = n
        if k == LEAF:
            v = arg[i]
            s, e = _span(v, fixed, row_ptr)
            if n + e - s > fl.shape[0]:
                return _ROOM, i, n + e - s
            best = np.inf
            for r in range(s, e):
                if lat[r] > c:
                    break
                cr = cost[r] if fixed[v] < 0 else 0.0
                if cr < best:
                    best = cr
                    if cr + lam * lat[r] + rest[i] <= lim and cr + rn[i] <= lim:
                        fl[n], fc[n], fa[n], fb[n] = lat[r], cr, r - row_ptr[v], -1
                        n += 1
        elif k == DELAY:
            if delay[arg[i]] <= c and lam * delay[arg[i]] + rest[i] <= lim and rn[i] <= lim:
                if n + 1 > fl.shape[0]:
                    return _ROOM, i, n + 1
                fl[n], fc[n], fa[n], fb[n] = delay[arg[i]], 0.0, -1, -1
                n += 1
        else:
            a0, a1, b0, b1 = start[left[i]], end[left[i]], start[right[i]], end[right[i]]
            if k == SERIES:
                # Pareto front of the pairs within the cap: each point y of B walks A
                # (latency up, cost down) from its pointer px[y]; a heap on (latency, cost)
                # pops the pairs in latency order; a pair cheaper than all before is kept
                # (when it passes the bound), and its row jumps (bisection: A's costs
                # descend) to the first x whose pair is cheaper than the best so far -- the
                # skipped pairs are dominated now and stay so, as the best only falls
                h = 0  # (the heap's b1 - b0 entries fit: they are fewer than the points)
                for y in range(b0, b1):
                    if fl[a0] + fl[y] <= c:
                        h = _push(hl, hc, hy, h, fl[a0] + fl[y], fc[a0] + fc[y], y)
                        px[y - b0] = a0
                # (no pair kept costs lim - rest - lam * the least pair latency, or lim - rn, or more)
                best = min(lim - rest[i] - lam * (fl[a0] + fl[b0]), lim - rn[i])
                while h > 0:
                    L, C, y = hl[0], hc[0], hy[0]
                    h = _pop(hl, hc, hy, h)
                    lam_out[1] += 1.0
                    x = px[y - b0]
                    if C < best:
                        best = C
                        if C + lam * L + rest[i] <= lim:
                            if n == fl.shape[0]:
                                return (_TOO_BIG if n >= max_points else _ROOM), i, n + 1
                            fl[n], fc[n], fa[n], fb[n] = L, C, x, y
                            n += 1
                    lo_x, hi_x = x + 1, a1  # first x' > x with fc[x'] + fc[y] < best
                    while lo_x < hi_x:
                        mid = (lo_x + hi_x) >> 1
                        if fc[mid] + fc[y] < best:
                            hi_x = mid
                        else:
                            lo_x = mid + 1
                    if lo_x < a1 and fl[lo_x] + fl[y] <= c:
                        px[y - b0] = lo_x
                        h = _push(hl, hc, hy, h, fl[lo_x] + fl[y], fc[lo_x] + fc[y], y)
            else:
                # parallel: at each latency threshold the last point of each front within
                # it (the cheapest), advancing the front whose next point is faster
                need = n + (a1 - a0) + (b1 - b0)
                if need > max_points:
                    return _TOO_BIG, i, n
                if need > fl.shape[0]:
                    return _ROOM, i, need
                x, y = a0, b0
                lam_out[1] += (a1 - a0) + (b1 - b0)
                while True:
                    L = max(fl[x], fl[y])
                    C = fc[x] + fc[y]
                    if C + lam * L + rest[i] <= lim and C + rn[i] <= lim:
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
            return _EMPTY, i, n
        if n > max_points:
            return _TOO_BIG, i, n
    return _DONE, hi, n


@_jit
def _lower(lo, hi, kind, left, right, arg, delay, lat, cost, row_ptr, fixed, cap, lam, sub, g):
    """Each operation's lower bounds (:func:`_tree`): ``sub`` (its free leaves at their
    cheapest rows within their caps) and ``g`` (≤ the least cost + lam * latency of its
    choices within the caps). False when some leaf has no row within its cap."""
    for i in range(lo, hi + 1):
        k = kind[i]
        if k == LEAF:
            v = arg[i]
            s, e = _span(v, fixed, row_ptr)
            best, bg = np.inf, np.inf
            for r in range(s, e):
                if lat[r] > cap[i]:
                    break
                c = cost[r] if fixed[v] < 0 else 0.0
                best = min(best, c)
                bg = min(bg, c + lam * lat[r])
            if best == np.inf:
                return False
            sub[i], g[i] = best, bg
        elif k == DELAY:
            sub[i], g[i] = 0.0, lam * delay[arg[i]]
        elif k == SERIES:
            sub[i], g[i] = sub[left[i]] + sub[right[i]], g[left[i]] + g[right[i]]
        else:
            sub[i] = sub[left[i]] + sub[right[i]]
            g[i] = max(g[left[i]] + sub[right[i]], sub[left[i]] + g[right[i]])
    return True


@_jit
def _workspace(kind, arg, row_ptr, n_ops):
    """Scratch for :func:`_tree` on the trees of operations 0..n_ops-1, made once per call
    of the kernel, not once per tree (each array was an allocation, ~30 a tree): per
    operation 8 float and 8 integer rows, per node 3 integer rows, for the hulls
    (:func:`_hulls`) as many entries as the leaves' rows, and the pool's first rows (4
    float, 4 integer: _tree grows its own copy when it needs more)."""
    M = 0
    for i in range(n_ops):
        if kind[i] == LEAF:
            M += row_ptr[arg[i] + 1] - row_ptr[arg[i]]
    m = max(256, 4 * n_ops)
    V = row_ptr.shape[0] - 1
    return (np.empty((8, n_ops)), np.empty((8, n_ops), np.int64), np.empty((3, V), np.int64),
            np.empty(M, np.int64), np.empty(M), np.empty(M), np.empty((4, m)),
            np.empty((4, m), np.int64))


@_jit
def _tree(lo, hi, kind, left, right, arg, delay, free, lat, cost, row_ptr, fixed, budget,
          ext_ub, max_points, pick, lam_hint, lam_out, ws):
    """The exact DP of the tree of operations lo..hi (root hi) on ``budget``: the least
    cost of its free leaves, each free node's table position written into ``pick``; -1.0
    when no choice fits, or none costs at most ``ext_ub`` (an external bound: a choice
    above it is not wanted); ``TOO_BIG`` past ``max_points`` points (``pick`` then
    unwritten). ``lam_hint``: :func:`_greedy_bound`'s; the multiplier used goes into
    ``lam_out[0]``, and the fronts' work is added to ``lam_out[1]`` (:func:`_fronts`).
    ``ws``: scratch (:func:`_workspace`)."""
    wf, wi, wv, hv, hs, sl, pf, pi = ws
    cap, val, sub, g, rest, rn, mn, sa = wf[0], wf[1], wf[2], wf[3], wf[4], wf[5], wf[6], wf[7]
    start, end, so, sp, hp, he, fso, fsp = wi[0], wi[1], wi[2], wi[3], wi[4], wi[5], wi[6], wi[7]
    if not _caps(lo, hi, kind, left, right, arg, delay, lat, cost, row_ptr, fixed, budget, cap,
                 mn, wv[2]):
        return -1.0
    # Lagrangian cost bound. ub: a feasible choice's cost (or ext_ub, if less), lam: its
    # multiplier (_greedy_bound). For any choice x through point p = (l, c) of operation i,
    #   c(x) + lam (lat(x) - budget)  >=  c + max(lam l + rest[i], rn[i]),
    # with sub[s] = Σ cheapest rows within caps and g[s] ≤ min c + lam lat over s, and
    # top-down from the root's rest = rn = -lam budget: a series' part A (sibling D) has
    #   rest[A] = rest + g[D],  rn[A] = rn + sub[D]
    # (the series' latency l + l_D is paid, or not: c_D + lam l_D ≥ g[D], c_D ≥ sub[D]), a
    # parallel's part A has
    #   rest[A] = rest + sub[D],  rn[A] = max(rn + sub[D], rest + g[D])
    # (max(l, l_D) ≥ l, or ≥ l_D: the latency paid by A, by D, or not at all); an operation
    # with several parents (node reduction's copies) takes the least of each. So p is in no
    # feasible choice costing ≤ ub when c + lam l + rest[i] or c + rn[i] exceeds ub
    # (loosened by 1e-9 of ub), and neither is any point it dominates
    #
    # With an external bound (an enumeration's best so far), the tree's own lower bounds
    # first: sub[root] (every free leaf at its cheapest row within its cap) and, with the
    # enumeration's multiplier, g[root] - lam budget; a tree that cannot beat ext_ub by
    # them is done before its greedy and its fronts (-1.0: none costs at most ext_ub)
    lam = max(lam_hint, 0.0)
    if abs(ext_ub) < np.inf:
        if not _lower(lo, hi, kind, left, right, arg, delay, lat, cost, row_ptr, fixed, cap,
                      lam, sub, g):
            return -1.0
        xlim = ext_ub + 1e-9 * abs(ext_ub) + 1e-300
        if sub[hi] > xlim or g[hi] - lam * budget > xlim:
            return -1.0
    else:
        lam = -1.0  # (nothing computed yet)
    ub, lam_g = _greedy_bound(lo, hi, kind, left, right, arg, delay, free, lat, cost, row_ptr,
                              fixed, cap, budget, val, lam_hint, wv[0], wv[1], hp, he, hv, hs,
                              sl, fso, sa, fsp)
    lam_out[0] = lam_g
    ub = min(ub, ext_ub)
    if lam_g != lam:
        lam = lam_g
        if not _lower(lo, hi, kind, left, right, arg, delay, lat, cost, row_ptr, fixed, cap,
                      lam, sub, g):
            return -1.0
    rest[lo:hi + 1] = np.inf
    rn[lo:hi + 1] = np.inf
    rest[hi] = rn[hi] = -lam * budget
    for i in range(hi, lo - 1, -1):
        if kind[i] == SERIES:
            a, d = left[i], right[i]
            rest[a] = min(rest[a], rest[i] + g[d])
            rest[d] = min(rest[d], rest[i] + g[a])
            rn[a] = min(rn[a], rn[i] + sub[d])
            rn[d] = min(rn[d], rn[i] + sub[a])
        elif kind[i] > SERIES:
            a, d = left[i], right[i]
            rest[a] = min(rest[a], rest[i] + sub[d])
            rest[d] = min(rest[d], rest[i] + sub[a])
            rn[a] = min(rn[a], max(rn[i] + sub[d], rest[i] + g[d]))
            rn[d] = min(rn[d], max(rn[i] + sub[a], rest[i] + g[a]))
    lim = ub + 1e-9 * abs(ub) + 1e-300
    finite = lim < np.inf
    for i in range(lo, hi + 1):
        finite = finite and abs(rest[i]) < np.inf and abs(rn[i]) < np.inf
    if not finite:  # no bound (nothing fits the greedy, or extreme values overflow)
        lam = 0.0
        rest[:] = 0.0
        rn[:] = 0.0
        lim = ext_ub + 1e-9 * abs(ext_ub) + 1e-300 if abs(ext_ub) < np.inf else np.inf
    # fronts, bottom-up, in one pool: latency ascending, cost strictly descending; fa/fb
    # are a point's parts (pool indices; a leaf's table position in fa). The pool and the
    # series merge's heap (hl, hc, hy: its entries; px: each row's pointer) are grown
    # here, between calls of _fronts, which resumes at the operation that ran out of room:
    # an array variable reassigned inside the operations' loop made Numba count references
    # (atomically) on every pass through it, ~40% of the DP's time on small trees
    fl, fc, hl, hc = pf[0], pf[1], pf[2], pf[3]
    fa, fb, hy, px = pi[0], pi[1], pi[2], pi[3]
    i, n = lo, 0
    while True:
        status, i, n = _fronts(i, n, hi, kind, left, right, arg, delay, lat, cost, row_ptr,
                               fixed, cap, rest, rn, lam, lim, max_points, fl, fc, fa, fb, hl,
                               hc, hy, px, start, end, lam_out)
        if status == _DONE:
            break
        if status == _EMPTY:
            return -1.0
        if status == _TOO_BIG:
            return TOO_BIG
        # _ROOM: n points wanted; the pool (this tree's own copy) grown, op i made again
        n, m = start[i], max(2 * pf.shape[1], n)
        pf2, pi2 = np.empty((4, m)), np.empty((4, m), np.int64)
        pf2[:2, :n] = pf[:2, :n]
        pi2[:2, :n] = pi[:2, :n]
        pf, pi = pf2, pi2
        fl, fc, hl, hc = pf[0], pf[1], pf[2], pf[3]
        fa, fb, hy, px = pi[0], pi[1], pi[2], pi[3]
    # the root's cheapest point within the budget: its last with latency ≤ budget
    r = end[hi] - 1
    while r >= start[hi] and fl[r] > budget:
        r -= 1
    if r < start[hi]:
        return -1.0
    total = fc[r]
    # backtrack: (operation, point) pairs on an explicit stack, into free operations only
    so[0], sp[0] = hi, r
    top = 1
    while top > 0:
        top -= 1
        i, x = so[top], sp[top]
        k = kind[i]
        if free[i] == 0:
            continue
        if k == LEAF:
            pick[arg[i]] = fa[x]
        elif k != DELAY:
            so[top], sp[top] = left[i], fa[x]
            so[top + 1], sp[top + 1] = right[i], fb[x]
            top += 2
    return total


@_jit
def _candidates(kind, left, right, arg, delay, roots, budgets, lat, cost, row_ptr, coupling,
                fixed):
    """The coupling nodes' candidate rows (absolute, fastest first) as (cand_ptr, cand), as
    :func:`fa2opt.reductions.pruning.front_rows` scans them: the rows within the node's
    limit -- the least of its leaves' caps over every tree (:func:`_caps`, the other nodes
    free: each leaf must keep within its cap in every feasible choice) -- strictly cheaper
    than every faster row. ``cand_ptr[0]`` = -1 when a coupling node has no candidate (no
    choice fits). ``fixed``: all -1 (scratch for the caps)."""
    V, W = row_ptr.shape[0] - 1, coupling.shape[0]
    limit = np.full(V, np.inf)
    cap, mn = np.empty(roots[roots.shape[0] - 1] + 1), np.empty(roots[roots.shape[0] - 1] + 1)
    fast = np.empty(V, np.int64)
    for f in range(roots.shape[0]):
        lo = roots[f - 1] + 1 if f > 0 else 0
        if not _caps(lo, roots[f], kind, left, right, arg, delay, lat, cost, row_ptr, fixed,
                     budgets[f], cap, mn, fast):
            limit[:] = -np.inf
            break
        for i in range(lo, roots[f] + 1):
            if kind[i] == LEAF:
                limit[arg[i]] = min(limit[arg[i]], cap[i])
    cand_ptr = np.zeros(W + 1, np.int64)
    cand = np.empty(row_ptr[V], np.int64)
    n = 0
    for j in range(W):
        v = coupling[j]
        best = np.inf
        for r in range(row_ptr[v], row_ptr[v + 1]):
            if lat[r] > limit[v]:
                break
            if cost[r] < best:
                best = cost[r]
                cand[n] = r
                n += 1
        if n == cand_ptr[j]:
            cand_ptr[0] = -1
            return cand_ptr, cand
        cand_ptr[j + 1] = n
    return cand_ptr, cand[:n]


@_jit
def forest_dp(kind, left, right, arg, delay, free, roots, budgets, lat, cost, row_ptr,
              coupling, cand_ptr, cand, max_points, max_combinations, pick):
    """One or several trees (tree f: the operations after root f-1 up to ``roots[f]``,
    budget ``budgets[f]``) linked by the ``coupling`` nodes (node reduction's copies, nodes
    shared by flows; none: one flow's tree decided once), each to take one of its candidate
    rows ``cand[cand_ptr[j]:cand_ptr[j+1]]`` (absolute rows, fastest first) in every tree:
    every combination, cheapest candidates first, is the coupling nodes' costs plus each
    tree's DP with them fixed (:func:`_tree`); the least total is kept (ties: the first). A
    combination is dropped once its partial sum plus the rest's floor (each later tree's
    free leaves at their cheapest rows) reaches the best, and each tree's DP is bounded by
    what the best leaves it (``ext_ub``). Writes every node's table position into
    ``pick``; returns the least total, -1.0 when nothing fits, ``TOO_BIG`` past
    ``max_points`` points in one tree, ``TOO_MANY`` (nothing decided) past
    ``max_combinations`` combinations. Without ``cand_ptr`` (empty) the candidates are
    found here (:func:`_candidates`)."""
    V = row_ptr.shape[0] - 1
    T = roots.shape[0]
    W = coupling.shape[0]
    fixed = np.full(V, -1, np.int64)
    if W and cand_ptr.shape[0] == 0:
        cand_ptr, cand = _candidates(kind, left, right, arg, delay, roots, budgets, lat, cost,
                                     row_ptr, coupling, fixed)
        if cand_ptr[0] < 0:
            return -1.0
    space = 1
    for j in range(W):
        space *= cand_ptr[j + 1] - cand_ptr[j]
        if space > max_combinations:
            return TOO_MANY
    for j in range(W):
        fixed[coupling[j]] = cand[cand_ptr[j + 1] - 1]
    # floor[f]: Σ over trees f.. of their free leaves' cheapest rows (a sum, from the last;
    # without coupling nodes there is one combination, which nothing compares with: zeros)
    floor = np.zeros(T + 1)
    for f in range(T - 1 if W else -1, -1, -1):
        lo = roots[f - 1] + 1 if f > 0 else 0
        s = 0.0
        for i in range(lo, roots[f] + 1):
            if kind[i] == LEAF and fixed[arg[i]] < 0:
                v = arg[i]
                cmin = np.inf
                for r in range(row_ptr[v], row_ptr[v + 1]):
                    cmin = min(cmin, cost[r])
                s += cmin
        floor[f] = floor[f + 1] + s
    digit = np.zeros(W, np.int64)  # combination: candidate cand_ptr[j+1]-1-digit[j] of node j
    trial = np.empty(V, np.int64)
    lams, lam_out = np.full(T, -1.0), np.zeros(2)  # per tree: its greedy's multiplier
    ws = _workspace(kind, arg, row_ptr, roots[T - 1] + 1)
    best = np.inf
    while True:
        base = 0.0
        for j in range(W):
            r = cand[cand_ptr[j + 1] - 1 - digit[j]]
            fixed[coupling[j]] = r
            base += cost[r]
        if base + floor[0] < best:
            total = base
            for f in range(T):
                lo = roots[f - 1] + 1 if f > 0 else 0
                c = _tree(lo, roots[f], kind, left, right, arg, delay, free, lat, cost, row_ptr,
                          fixed, budgets[f], best - total - floor[f + 1], max_points, trial,
                          lams[f], lam_out, ws)
                if lams[f] < 0.0 and lam_out[0] > 0.0:  # the first bisection's multiplier
                    lams[f] = lam_out[0]                 # serves the later combinations
                if c == TOO_BIG:
                    return TOO_BIG
                if c < 0.0:
                    total = np.inf
                    break
                total += c
                if total + floor[f + 1] >= best:
                    total = np.inf
                    break
            if total < best:
                best = total
                for v in range(V):
                    if fixed[v] < 0:
                        pick[v] = trial[v]
                for j in range(W):
                    pick[coupling[j]] = fixed[coupling[j]] - row_ptr[coupling[j]]
        # the next combination (mixed radix, the last coupling node fastest)
        j = W - 1
        while j >= 0:
            digit[j] += 1
            if digit[j] < cand_ptr[j + 1] - cand_ptr[j]:
                break
            digit[j] = 0
            j -= 1
        if j < 0:
            break
    return best if best < np.inf else -1.0


@_jit
def tree_dp(kind, left, right, arg, delay, free, root, budget, lat, cost, row_ptr, fixed,
            max_points, pick, work):
    """One tree's exact DP (operations 0..``root``; :func:`_tree`) with each node v where
    ``fixed[v]`` ≥ 0 held at that row, at no cost: the least cost of the other leaves,
    every leaf's table position written into ``pick``; -1.0 when nothing fits,
    ``TOO_BIG`` past ``max_points`` points. The pairs its series popped and the steps its
    parallels took are added to ``work[0]``. The remainder solve of
    :class:`fa2opt.tree_kernel.TreeRemainder` (costs ≥ 0: -1.0 is no cost)."""
    lam_out = np.zeros(2)
    total = _tree(0, root, kind, left, right, arg, delay, free, lat, cost, row_ptr, fixed,
                  budget, np.inf, max_points, pick, -1.0, lam_out,
                  _workspace(kind, arg, row_ptr, root + 1))
    work[0] += lam_out[1]
    return total


# -- a flow's program straight from its graph ------------------------------------------------
# sp_program's working state: the operations' columns as the rows of one array (as
# _balanced returns them) and the vertices' degrees and neighbour sums as the rows of
# another. Its helpers take these two arrays, not nine: Numba increments and decrements the
# reference count of each array an inlined helper with a branch takes, atomically, on every
# call (its pruning misses the pairs once LLVM has merged the branches' decrements), and
# with nine arrays those took ~70% of sp_program's time (perf); two arrays: the median over
# the 2-12-node graphs 10.9 -> 7.9 us, a 10,000-node chain 9.4 -> 7.2 ms (docs/fa2.md).
KIND, LEFT, RIGHT, ARG, FREE = 0, 1, 2, 3, 4  # rows of ``ops``
IN, OUT, INSUM, OUTSUM = 0, 1, 2, 3  # rows of ``vdeg``: in/out degree, in/out neighbour sums


@_inline
def _op(ops, n, kind, left, right, arg, free):
    """Operation n of ``ops`` set to (kind, left, right, arg, free)."""
    ops[KIND, n], ops[LEFT, n], ops[RIGHT, n] = kind, left, right
    ops[ARG, n], ops[FREE, n] = arg, free


@_inline
def _label_series(a, b, ops, delay, n, nd):
    """The label of arc a then arc b (-1: no label, the identity) as (op, ops, delays): a
    new SERIES, or one DELAY for two delays (their sum)."""
    if a < 0:
        return b, n, nd
    if b < 0:
        return a, n, nd
    if ops[KIND, a] == DELAY and ops[KIND, b] == DELAY:
        delay[nd] = delay[ops[ARG, a]] + delay[ops[ARG, b]]
        _op(ops, n, DELAY, -1, -1, nd, 0)
        return n, n + 1, nd + 1
    _op(ops, n, SERIES, a, b, -1, ops[FREE, a] + ops[FREE, b])
    return n, n + 1, nd


@_inline
def _label_parallel(a, b, ops, delay, n):
    """The label of arcs a and b with the same ends, as (op, ops): no label or the same
    label gives the other (latencies are ≥ 0), two delays their larger, else a PARALLEL."""
    if b < 0 or a == b:
        return a, n
    if a < 0:
        return b, n
    if ops[KIND, a] == DELAY and ops[KIND, b] == DELAY:
        return (a if delay[ops[ARG, a]] >= delay[ops[ARG, b]] else b), n
    _op(ops, n, PARALLEL, a, b, -1, ops[FREE, a] + ops[FREE, b])
    return n, n + 1


@_inline
def _link(a, b, k, vdeg):
    """Arc a→b counted in (k = 1) or out (k = -1) of both ends' degrees and neighbour sums."""
    vdeg[OUT, a] += k
    vdeg[OUTSUM, a] += k * b
    vdeg[IN, b] += k
    vdeg[INSUM, b] += k * a


# The arcs: a hash table in one array (open addressing, linear probing), ``arcs[s]`` =
# (key a·VC + b, label) or key EMPTY / GONE (a deleted arc), ``meta`` = (live arcs, slots
# not EMPTY). A power-of-two size at least 4x the live arcs keeps probes short. (It replaced
# a Numba typed dictionary: sp_program 7.2 -> 3.5 us on a 2-node chain, docs/fa2.md.)
EMPTY, GONE = -1, -2


@_inline
def _home(key, mask):
    # Fibonacci hashing, its high bits folded onto the low ones the mask keeps; unsigned, as
    # a signed product that wraps is undefined to LLVM (Numba marks it ``nsw``)
    x = np.uint64(key) * np.uint64(0x9E3779B97F4A7C15)
    return np.int64((x ^ (x >> np.uint64(29))) & np.uint64(mask))


@_jit
def _arc_table(live):
    """An empty table for ``live`` arcs: (arcs, meta)."""
    size = 16
    while size < 4 * live:
        size *= 2
    return np.full((size, 2), EMPTY, np.int64), np.zeros(2, np.int64)


@_inline
def _arc_slot(arcs, key):
    """The slot holding ``key``, or -1."""
    mask = arcs.shape[0] - 1
    s = _home(key, mask)
    while arcs[s, 0] != EMPTY:
        if arcs[s, 0] == key:
            return s
        s = (s + 1) & mask
    return -1


@_jit
def _arc_add(arcs, meta, key, lab):
    """Insert ``key`` (not in the table) with label ``lab``. Past half the slots used, the
    table is rebuilt in place without its GONE slots (the live arcs stay ≤ a quarter:
    :func:`_arc_reserve`)."""
    mask = arcs.shape[0] - 1
    if 2 * (meta[1] + 1) > arcs.shape[0]:
        live = np.empty((meta[0], 2), np.int64)
        r = 0
        for s in range(arcs.shape[0]):
            if arcs[s, 0] >= 0:
                live[r, 0], live[r, 1] = arcs[s, 0], arcs[s, 1]
                r += 1
            arcs[s, 0] = EMPTY
        meta[1] = 0
        for r in range(live.shape[0]):
            s = _home(live[r, 0], mask)
            while arcs[s, 0] != EMPTY:
                s = (s + 1) & mask
            arcs[s, 0], arcs[s, 1] = live[r, 0], live[r, 1]
            meta[1] += 1
    s = _home(key, mask)
    while arcs[s, 0] >= 0:
        s = (s + 1) & mask
    if arcs[s, 0] == EMPTY:
        meta[1] += 1
    arcs[s, 0], arcs[s, 1] = key, lab
    meta[0] += 1


@_jit
def _arc_reserve(arcs, meta, more):
    """The table, rebuilt with room for ``more`` arcs beyond the live ones (a node
    reduction's p·q), or shrunk to fit them when they are a sixteenth of its size (so
    scans stay O(live arcs))."""
    size = arcs.shape[0]
    need = meta[0] + more
    if 4 * need <= size and (16 * need >= size or size == 16):
        return arcs, meta
    new, nmeta = _arc_table(need)
    for s in range(size):
        if arcs[s, 0] >= 0:
            _arc_add(new, nmeta, arcs[s, 0], arcs[s, 1])
    return new, nmeta


@_inline
def _put(arcs, meta, VC, a, b, lab, ops, delay, n, vdeg):
    """Arc a→b labelled ``lab``, merged in parallel with the arc a→b already there if any;
    returns the operations' count."""
    key = a * VC + b
    s = _arc_slot(arcs, key)
    if s >= 0:
        arcs[s, 1], n = _label_parallel(arcs[s, 1], lab, ops, delay, n)
    else:
        _arc_add(arcs, meta, key, lab)
        _link(a, b, 1, vdeg)
    return n


@_inline
def _cut(arcs, meta, VC, a, b, vdeg):
    """Arc a→b removed; returns its label."""
    s = _arc_slot(arcs, a * VC + b)
    lab = arcs[s, 1]
    arcs[s, 0] = GONE
    meta[0] -= 1
    _link(a, b, -1, vdeg)
    return lab


@_jit
def _dominated_dropped(pred_ptr, pred_src, pred_delay):
    """The graph without the edges another path dominates: the rule and its proof of
    :mod:`fa2opt.reductions.transitive` (``drop_dominated``), on arrays -- descendant
    bitsets (N × ⌈N/64⌉ words) in reverse topological order, then per node its successors
    by delay, descending, an edge (u, w, d) dropped iff w is below a successor x with
    d_ux ≥ d. The arrays themselves when nothing is dropped, no node has two successors,
    or N > 20,000 (``TRANSITIVE_MAX_NODES``)."""
    N, E = pred_ptr.shape[0] - 1, pred_src.shape[0]
    sptr = np.zeros(N + 1, np.int64)  # successors as CSR
    for e in range(E):
        sptr[pred_src[e] + 1] += 1
    branching = False
    for i in range(N):
        branching |= sptr[i + 1] > 1
        sptr[i + 1] += sptr[i]
    if not branching or N > TRANSITIVE_MAX_NODES:
        return pred_ptr, pred_src, pred_delay
    sdst, seid, fill = np.empty(E, np.int64), np.empty(E, np.int64), sptr[:-1].copy()
    for i in range(N):
        for e in range(pred_ptr[i], pred_ptr[i + 1]):
            u = pred_src[e]
            sdst[fill[u]] = i
            seid[fill[u]] = e
            fill[u] += 1
    W = (N + 63) // 64
    below = np.zeros((N, W), np.uint64)
    one = np.uint64(1)
    for i in range(N - 1, -1, -1):
        for k in range(sptr[i], sptr[i + 1]):
            j = sdst[k]
            for w in range(W):
                below[i, w] |= below[j, w]
            below[i, j >> 6] |= one << np.uint64(j & 63)
    keep = np.ones(E, np.bool_)
    union = np.empty(W, np.uint64)
    dropped = 0
    for i in range(N):
        lo, hi = sptr[i], sptr[i + 1]
        if hi - lo < 2:
            continue
        d = np.empty(hi - lo)
        for k in range(lo, hi):
            d[k - lo] = pred_delay[seid[k]]
        order = np.argsort(-d)  # by delay, descending
        union[:] = 0
        a = 0
        while a < hi - lo:  # a group of equal delays: every successor with a delay ≥ d in
            b = a
            while b < hi - lo and d[order[b]] == d[order[a]]:
                j = sdst[lo + order[b]]
                for w in range(W):
                    union[w] |= below[j, w]
                b += 1
            for t in range(a, b):
                j = sdst[lo + order[t]]
                if (union[j >> 6] >> np.uint64(j & 63)) & one:
                    keep[seid[lo + order[t]]] = False
                    dropped += 1
            a = b
    if dropped == 0:
        return pred_ptr, pred_src, pred_delay
    ptr, src, dl = np.zeros(N + 1, np.int64), np.empty(E - dropped, np.int64), np.empty(E - dropped)
    m = 0
    for i in range(N):
        for e in range(pred_ptr[i], pred_ptr[i + 1]):
            if keep[e]:
                src[m] = pred_src[e]
                dl[m] = pred_delay[e]
                m += 1
        ptr[i + 1] = m
    return ptr, src, dl


@_jit
def sp_program(pred_ptr, pred_src, pred_delay, leaf_arg, max_reductions):
    """:func:`_sp_program` of the graph without the edges another path dominates
    (:func:`_dominated_dropped`) where that leaves no coupling node or the graph is dense
    (≥ ``TRANSITIVE_MIN_EDGES_PER_NODE`` edges per node), else of the graph as it is: the
    rule of :func:`fa2opt.reductions.sp_decompose.decompose`."""
    ptr, src, dl = _dominated_dropped(pred_ptr, pred_src, pred_delay)
    if src.shape[0] < pred_src.shape[0]:
        made = _sp_program(ptr, src, dl, leaf_arg, max_reductions)
        dense = pred_src.shape[0] >= TRANSITIVE_MIN_EDGES_PER_NODE * leaf_arg.shape[0]
        if dense or (made[0].shape[1] > 0 and made[3].shape[0] == 0):
            return made
    return _sp_program(pred_ptr, pred_src, pred_delay, leaf_arg, max_reductions)


@_jit
def _sp_program(pred_ptr, pred_src, pred_delay, leaf_arg, max_reductions):
    """A flow's program (:class:`fa2opt.tree_kernel.TreeProgram`'s columns) straight from
    its graph: the steps of :func:`fa2opt.reductions.sp_decompose.decompose` on arrays, each
    label an operation. (1) Node i is an arc in_i → out_i labelled with its leaf (a node of
    one predecessor has no in_i), an edge an arc labelled with its delay, with a
    super-source and a super-sink. (2) A vertex of one arc in and one out is replaced by
    their series; arcs with the same ends merge in parallel as they are made. (3) When that
    stalls, the complete bipartite joins get junction vertices (:func:`_join`). (4) With no
    join left, the graph is not series-parallel: the vertex whose node reduction copies the
    fewest leaves (:func:`_cheapest_vertex`) is reduced, every arc a → x → b becoming
    a → b with x's labels shared (the copies' nodes become coupling nodes). Only plain
    dominance is applied (no label, the same label, the larger delay), so a graph may keep
    a coupling node the Python decomposition's dominance drops; more than
    ``max_reductions`` node reductions: declined (empty arrays). Nodes in topological
    order, ``pred_src[pred_ptr[i]:pred_ptr[i+1]]`` node i's predecessors (their positions in
    that order) with delays ``pred_delay``; ``leaf_arg[i]``: node i's index in the tables'
    order. A vertex's one in- or out-neighbour is the sum of its neighbours' ids while its
    degree is 1, so a series reduction is O(1) table operations: O(V + E) for a
    series-parallel graph, O(E log E) more per join round and O(E + p·q) per node
    reduction. Returns :func:`_balanced`'s (kind, left, right, arg and free as the rows of
    one array; delay; count; coupling); no operation when declined."""
    N, E = leaf_arg.shape[0], pred_src.shape[0]
    V = 2 + 2 * N  # 0 = s, 1 = t, 2+2i = in_i, 3+2i = out_i, then junctions
    VC = V + N + 2  # room for N + 2 junctions (more: declined)
    cap = 8 * N + 2 * E + 16  # leaves, delays, a leaf's series with its edge's delay,
    # repeated edges' merges, and at most two operations per reduction (VC of them)
    ops, delay = np.empty((5, cap), np.int64), np.empty(cap)  # (rows KIND .. FREE)
    n = nd = 0
    arcs, meta = _arc_table(3 * N + E + 2)  # leaf arcs, edges, from s, to t
    vdeg = np.zeros((4, VC), np.int64)  # (rows IN, OUT, INSUM, OUTSUM)
    work = np.empty(3 * VC, np.int64)  # V at first, then one net per reduction (joins: _grow)
    nw = 0
    has_succ = np.zeros(N, np.bool_)
    for i in range(N):
        out_i = 3 + 2 * i
        _op(ops, n, LEAF, -1, -1, leaf_arg[i], 1)
        leaf = n
        n += 1
        lo, hi = pred_ptr[i], pred_ptr[i + 1]
        if hi - lo > 1:
            targets = out_i - 1
            n = _put(arcs, meta, VC, targets, out_i, leaf, ops, delay, n, vdeg)
            work[nw] = targets
            nw += 1
        else:
            targets = out_i
        for e in range(lo, hi):
            u = 3 + 2 * pred_src[e]
            has_succ[pred_src[e]] = True
            lab = -1
            if pred_delay[e] != 0.0:
                delay[nd] = pred_delay[e]
                _op(ops, n, DELAY, -1, -1, nd, 0)
                lab = n
                n += 1
                nd += 1
            if hi - lo == 1:
                lab, n, nd = _label_series(leaf, lab, ops, delay, n, nd)
            n = _put(arcs, meta, VC, u, targets, lab, ops, delay, n, vdeg)  # (a repeated edge merges)
        if hi == lo:  # a source, from s
            n = _put(arcs, meta, VC, 0, out_i, leaf, ops, delay, n, vdeg)
        work[nw] = out_i
        nw += 1
    for i in range(N):
        if not has_succ[i]:  # a sink, to t
            n = _put(arcs, meta, VC, 3 + 2 * i, 1, -1, ops, delay, n, vdeg)
    work[:nw] = work[:nw][::-1].copy()  # popped in ascending order, as decompose does
    alive = np.zeros(VC, np.bool_)
    alive[2:V] = True
    nv = V  # vertices so far (the next junction's id)
    reductions = 0
    while True:
        while nw > 0:
            nw -= 1
            x = work[nw]
            if not alive[x] or vdeg[IN, x] != 1 or vdeg[OUT, x] != 1:
                continue
            a, b = vdeg[INSUM, x], vdeg[OUTSUM, x]
            la = _cut(arcs, meta, VC, a, x, vdeg)
            lb = _cut(arcs, meta, VC, x, b, vdeg)
            alive[x] = False
            lab, n, nd = _label_series(la, lb, ops, delay, n, nd)
            n = _put(arcs, meta, VC, a, b, lab, ops, delay, n, vdeg)
            if vdeg[IN, a] == 1 and vdeg[OUT, a] == 1:
                work[nw] = a
                nw += 1
            if vdeg[IN, b] == 1 and vdeg[OUT, b] == 1:
                work[nw] = b
                nw += 1
        if meta[0] == 1 and _arc_slot(arcs, 1) >= 0:  # the single arc s → t
            return _balanced(arcs[_arc_slot(arcs, 1), 1], ops, delay, N)
        arcs, meta = _arc_reserve(arcs, meta, 0)  # (shrunk as the graph shrinks)
        work, nw, nv = _join(arcs, meta, VC, nv, alive, vdeg, ops, delay, work)
        if nw > 0:
            continue
        # no join: not series-parallel; node reduction of the vertex duplicating the fewest
        # leaves (decompose's step 4): every arc a → x → b becomes a → b, its labels shared
        x = _cheapest_vertex(arcs, VC, nv, alive, vdeg, ops)
        reductions += 1
        if x < 0 or reductions > max_reductions:  # (x < 0 cannot happen: a live vertex is
            break                                  # left while s → t is not one arc)
        p, q = vdeg[IN, x], vdeg[OUT, x]
        need = n + 2 * p * q + 2
        ops, delay = _grow_columns(ops, need), _grow(delay, nd + p * q + 1)
        work = _grow(work, p + q + VC)
        ins, outs = np.empty(p, np.int64), np.empty(q, np.int64)
        lins, louts = np.empty(p, np.int64), np.empty(q, np.int64)
        arcs, meta = _arc_reserve(arcs, meta, p * q)
        i = j = 0
        for s in range(arcs.shape[0]):
            key = arcs[s, 0]
            if key < 0:
                continue
            a, b = key // VC, key % VC
            if b == x:
                ins[i] = a
                i += 1
            elif a == x:
                outs[j] = b
                j += 1
        ins.sort()  # (the table's order is its hash's: the new arcs in vertex order)
        outs.sort()
        for i in range(p):
            lins[i] = _cut(arcs, meta, VC, ins[i], x, vdeg)
        for j in range(q):
            louts[j] = _cut(arcs, meta, VC, x, outs[j], vdeg)
        alive[x] = False
        for i in range(p):
            for j in range(q):
                lab, n, nd = _label_series(lins[i], louts[j], ops, delay, n, nd)
                n = _put(arcs, meta, VC, ins[i], outs[j], lab, ops, delay, n, vdeg)
        for i in range(p):
            work[nw] = ins[i]
            nw += 1
        for j in range(q):
            work[nw] = outs[j]
            nw += 1
    e = np.zeros(0, np.int64)
    return np.zeros((5, 0), np.int64), np.zeros(0), e, e


@_jit
def _cheapest_vertex(arcs, VC, nv, alive, vdeg, ops):
    """The live vertex whose node reduction copies the fewest node leaves: the least
    (q − 1)·(leaves on its p arcs in) + (p − 1)·(leaves on its q arcs out), then the
    fewest new arcs p·q, then the least id (decompose's choice without its tie-break on arcs
    that exist already). A label's leaves are its ``free`` count (each copy counted)."""
    ins, outs = np.zeros(VC), np.zeros(VC)  # (floats: copies multiply)
    for s in range(arcs.shape[0]):
        key, lab = arcs[s, 0], arcs[s, 1]
        if key >= 0 and lab >= 0:
            outs[key // VC] += ops[FREE, lab]
            ins[key % VC] += ops[FREE, lab]
    best, best_x, best_pq = np.inf, -1, 0
    for x in range(2, nv):
        if alive[x]:
            p, q = vdeg[IN, x], vdeg[OUT, x]
            c = (q - 1) * ins[x] + (p - 1) * outs[x]
            if c < best or (c == best and p * q < best_pq):
                best, best_x, best_pq = c, x, p * q
    return best_x


@_jit
def _same_label(a, b, ops, delay):
    """Two arcs' labels alike for a join: the same operation, or delays of the same value
    (no label, -1, is never a delay: delays of 0 get none)."""
    if a == b:
        return True
    return (a >= 0 and b >= 0 and ops[KIND, a] == DELAY and ops[KIND, b] == DELAY
            and delay[ops[ARG, a]] == delay[ops[ARG, b]])


@_jit
def _join(arcs, meta, VC, nv, alive, vdeg, ops, delay, work):
    """The complete bipartite joins of the live vertices (:class:`~fa2opt.reductions.
    sp_decompose._JoinIndex`'s: two or more vertices whose arcs go to the same ≥ 2 vertices
    with alike labels towards each, side "out"; or come from them, side "in"), as many as
    share no vertex, each given a junction vertex (ids from ``nv`` while below ``VC``): each
    member's arcs to (from) the shared neighbours replaced by one unlabelled arc to (from)
    the junction, and the junction's arcs to (from) them with their labels -- every path
    keeps its length. Returns the work list with the members, neighbours and junctions on
    it (to be tried for series reductions), its length (0: no join) and the next free id.
    O(E log E) a call: the arcs sorted by (member, neighbour), members bucketed by a hash of
    their neighbours, candidates compared exactly; a join's vertices are left alone by the
    rest of the call (their arcs changed)."""
    m = meta[0]
    src, dst, lab = np.empty(m, np.int64), np.empty(m, np.int64), np.empty(m, np.int64)
    i = 0
    for s in range(arcs.shape[0]):
        key = arcs[s, 0]
        if key >= 0:
            src[i], dst[i], lab[i] = key // VC, key % VC, arcs[s, 1]
            i += 1
    touched = np.zeros(VC, np.bool_)
    nw = 0
    for side in range(2):
        own, nbr = (src, dst) if side == 0 else (dst, src)
        order = np.argsort(own * VC + nbr)
        start = np.zeros(VC, np.int64)  # each owner's first arc in ``order``
        deg = np.zeros(VC, np.int64)
        for r in range(m):
            x = own[order[r]]
            if deg[x] == 0:
                start[x] = r
            deg[x] += 1
        cand = np.empty(VC, np.int64)
        h = np.empty(VC, np.uint64)  # (unsigned: the products wrap)
        nc = 0
        for x in range(2, VC):
            if alive[x] and deg[x] >= 2:
                hx = np.uint64(deg[x])
                for r in range(start[x], start[x] + deg[x]):
                    hx = (hx * np.uint64(1000003)) ^ np.uint64(nbr[order[r]])
                cand[nc] = x
                h[nc] = hx
                nc += 1
        by = np.argsort(h[:nc], kind="mergesort")  # equal hashes together, ascending ids
        group = np.empty(max(nc, 1), np.int64)
        r0 = 0
        while r0 < nc and nv < VC:
            r1 = r0 + 1
            while r1 < nc and h[by[r1]] == h[by[r0]]:
                r1 += 1
            for li in range(r0, r1 - 1):  # each member in turn leads (ties of the hash)
                x = cand[by[li]]
                if touched[x] or nv == VC:
                    continue
                clean = True
                for t in range(deg[x]):
                    clean = clean and not touched[nbr[order[start[x] + t]]]
                if not clean:
                    continue
                group[0] = x
                k = 1
                for oi in range(li + 1, r1):
                    y = cand[by[oi]]
                    if deg[y] != deg[x] or touched[y]:
                        continue
                    same = True
                    for t in range(deg[x]):
                        ax, ay = order[start[x] + t], order[start[y] + t]
                        if nbr[ax] != nbr[ay] or not _same_label(lab[ax], lab[ay], ops, delay):
                            same = False
                            break
                    if same:
                        group[k] = y
                        k += 1
                if k < 2:
                    continue
                j = nv
                nv += 1
                # (+ VC: the reductions after this call push at most one net entry each)
                work = _grow(work, nw + k + deg[x] + 1 + VC)
                alive[j] = touched[j] = True
                for g in range(k):
                    y = group[g]
                    touched[y] = True
                    for t in range(deg[x]):
                        z = nbr[order[start[x] + t]]
                        a, b = (y, z) if side == 0 else (z, y)
                        _cut(arcs, meta, VC, a, b, vdeg)
                    a, b = (y, j) if side == 0 else (j, y)
                    _arc_add(arcs, meta, a * VC + b, -1)  # (new: j is)
                    _link(a, b, 1, vdeg)
                    work[nw] = y
                    nw += 1
                for t in range(deg[x]):
                    r = order[start[x] + t]
                    z = nbr[r]
                    touched[z] = True
                    a, b = (j, z) if side == 0 else (z, j)
                    _arc_add(arcs, meta, a * VC + b, lab[r])
                    _link(a, b, 1, vdeg)
                    work[nw] = z
                    nw += 1
                work[nw] = j
                nw += 1
            r0 = r1
    return work, nw, nv


@_jit
def _balanced(root, src, delay, n_nodes):
    """The operations below ``root`` again, in post-order with the root last (the reductions'
    spare operations, e.g. a delay merged away, left out), each maximal run of one kind (a
    series or parallel of k parts, grown one reduction at a time) as a balanced binary tree
    of k − 1 operations, as :func:`fa2opt.tree_kernel.compile_program` makes it: a long
    chain's DP then merges fronts of sub-chains, not a long prefix's front with one leaf at
    a time. An operation with several parents (a label node reduction copied) is emitted
    once and ends the runs through it. Returns the integer columns as the rows of one array
    (kind, left, right, arg, free: five arrays returned to Python cost more than their
    rows' views), the delays, each node's leaves (``count[v]``, each copy counted) and the
    nodes with more than one, in ascending order: the coupling nodes, whose leaves ``free``
    does not count, as :func:`~fa2opt.tree_kernel.compile_program`'s ``free``. Explicit
    stacks: a chain of 10,000 nodes nests that deep."""
    m = root + 1  # (an operation's parts come before it)
    parents = np.zeros(m, np.int64)
    reach = np.zeros(m, np.bool_)
    reach[root] = True
    for i in range(root, -1, -1):
        if reach[i] and src[KIND, i] >= SERIES:
            parents[src[LEFT, i]] += 1
            parents[src[RIGHT, i]] += 1
            reach[src[LEFT, i]] = reach[src[RIGHT, i]] = True
    ops = np.empty((5, m), np.int64)
    K, L, R, A, F = ops[0], ops[1], ops[2], ops[3], ops[4]
    D = np.empty(m)
    made = np.full(m, -1, np.int64)  # each operation's new index once emitted
    n = nd = 0
    # ≥ 0: visit that operation; < 0: combine -task-1 parts. At most one visit per reference
    # (two per operation) and one combine per operation are ever pushed
    task = np.empty(3 * m + 2, np.int64)
    tkind, torig = np.empty(3 * m + 2, np.int64), np.empty(3 * m + 2, np.int64)
    nt = 1
    task[0] = root
    vals = np.empty(m, np.int64)  # the emitted operations waiting to be combined
    nv = 0
    parts = np.empty(m, np.int64)
    gather = np.empty(m + 1, np.int64)
    while nt > 0:
        nt -= 1
        t = task[nt]
        if t < 0:  # combine the last k values, pairwise rounds
            k, op = -t - 1, tkind[nt]
            nv -= k
            parts[:k] = vals[nv:nv + k]
            while k > 1:
                j2 = 0
                for j in range(0, k - 1, 2):
                    K[n], L[n], R[n], A[n] = op, parts[j], parts[j + 1], -1
                    parts[j2] = n
                    j2 += 1
                    n += 1
                if k % 2:
                    parts[j2] = parts[k - 1]
                    j2 += 1
                k = j2
            made[torig[nt]] = parts[0]
            vals[nv] = parts[0]
            nv += 1
            continue
        if made[t] >= 0:  # a shared operation, emitted already
            vals[nv] = made[t]
            nv += 1
            continue
        if src[KIND, t] == LEAF or src[KIND, t] == DELAY:
            K[n], L[n], R[n], A[n] = src[KIND, t], -1, -1, src[ARG, t]
            if src[KIND, t] == DELAY:
                D[nd] = delay[src[ARG, t]]
                A[n] = nd
                nd += 1
            made[t] = n
            vals[nv] = n
            nv += 1
            n += 1
            continue
        op = src[KIND, t]  # the run's parts, left to right: children of another kind, or shared
        ng, k = 1, 0
        gather[0] = t
        while ng > 0:
            ng -= 1
            g = gather[ng]
            if src[KIND, g] == op and (g == t or parents[g] == 1):
                gather[ng] = src[RIGHT, g]
                gather[ng + 1] = src[LEFT, g]
                ng += 2
            else:
                parts[k] = g
                k += 1
        task[nt], tkind[nt], torig[nt] = -k - 1, op, t
        nt += 1
        for j in range(k - 1, -1, -1):  # visited left to right
            task[nt] = parts[j]
            nt += 1
    # each node's leaves: multiplicities from the root down (parents after their parts)
    mult = np.zeros(n)
    mult[n - 1] = 1.0
    count = np.zeros(n_nodes)
    for i in range(n - 1, -1, -1):
        if K[i] >= SERIES:
            mult[L[i]] += mult[i]
            mult[R[i]] += mult[i]
        elif K[i] == LEAF:
            count[A[i]] += mult[i]
    for i in range(n):
        if K[i] == LEAF:
            F[i] = 1 if count[A[i]] == 1.0 else 0
        elif K[i] == DELAY:
            F[i] = 0
        else:
            F[i] = min(F[L[i]] + F[R[i]], 1 << 40)
    return ops[:, :n], D[:nd], count.astype(np.int64), np.flatnonzero(count > 1.0)


@_jit
def pack_prices(cost, ptr, nodes, vals, shift):
    """A :class:`fa2opt.tree_kernel.TreeRemainder` call's prices written into ``cost`` (a copy
    of the packed costs) in place: node ``nodes[j]``'s rows get the j-th run of ``vals`` (one
    price per row, the nodes' runs one after another), each run shifted up by its least price
    when that is negative, and ``shift`` plus those least prices, in the nodes' order, is
    returned -- the same operations, in the same order, as the numpy version it replaces
    (``np.minimum.reduceat``, the subtraction, the sum over the negative ones in order).
    O(Σ rows of the priced nodes)."""
    off = 0
    for j in range(nodes.size):
        s = ptr[nodes[j]]
        m = ptr[nodes[j] + 1] - s
        lo = vals[off]
        for k in range(1, m):
            x = vals[off + k]
            if lo == lo and (x != x or x < lo):  # np.minimum: a NaN wins
                lo = x
        if lo < 0.0:
            for k in range(m):
                cost[s + k] = vals[off + k] - lo
            shift += lo
        else:
            for k in range(m):
                cost[s + k] = vals[off + k]
        off += m
    return shift
