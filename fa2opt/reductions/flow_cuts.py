"""Cuts for the flow bound (:mod:`.flow_bound`): path covers (3), GMI cuts (4) and the
cliques (6) of the covers' pairwise conflicts.

**The cuts.** Let P be a path of flow f's DAG (edge delays d(P)), C a set of its nodes and
θ_v a latency of one of v's candidates for each v ∈ C. If every node of P \\ C at its fastest
candidate and every v ∈ C at θ_v already break the budget,

    d(P) + Σ_{v ∈ P\\C} L_v^min + Σ_{v ∈ C} θ_v > B_f   (widened by the spec's float margin),

then no choice meeting the budget has every v ∈ C at a candidate of latency ≥ θ_v, so

    Σ_{v ∈ C} Σ_{k: L_{v,k} ≥ θ_v} λ_{v,k} ≤ |C| − 1                                   (3)

holds for every feasible choice (each node takes one candidate: each inner sum is 0 or 1).
These are the cover inequalities of the path's multiple-choice knapsack
Σ_{v ∈ P} L_v ≤ B_f − d(P) (Balas 1975; Johnson & Padberg 1981 for the GUB form), with
the cover's thresholds lowered while it stays a cover (a larger left side: a stronger cut).
They hold whatever the search node, so they are global; the fastest latencies are each
node's fastest candidate overall (not the search node's).

**In the bound.** A cut α·λ ≤ β with multiplier π ≥ 0 enters bound (1) of :mod:`.flow_bound`
as π·α_{v,k} added to candidate k's value at v and −π·β to the constant (Lagrangian
relaxation of (3) beside the path rows): a valid bound for every π ≥ 0, the LP's dual of the
cut's row only chooses π.

**Separation.** Given the LP's λ, a most violated cover is a path and thresholds minimising
Σ_{v ∈ C} (1 − x_v(θ_v)), x_v(θ) = Σ_{k: L_{v,k} ≥ θ} λ_{v,k}, subject to the path's length
exceeding the budget; the cut is violated when that sum is below 1. One pass over each flow's
DAG in topological order with labels (length so far, cost so far, thresholds) per node,
Pareto-pruned (longer and cheaper), costs ≥ 1 dropped, at most ``LABELS`` per node
(a heuristic: a missed cover only leaves the bound weaker). O(Σ_f |G_f| · LABELS · K),
K the most candidates of a node; the labels made are its work (2-4 µs each in CPython: 3,000 a
pass on 60 chains over 120 nodes, 7,000-20,000 on vsp 200 and shared-large 100×5).

**Cliques (6).** Two thresholds (u, θ_u), (v, θ_v) *conflict* when some path through both
breaks the widened budget with u and v at them and every other node at its fastest
candidate: the covers (3) with |C| = 2. A set of pairwise conflicting thresholds, one per
node, is a clique of that conflict graph, and at most one of its nodes is that slow in a
feasible choice -- (6), where the pairs' covers only sum to |C|/2. The table of the pairs'
room (:func:`conflict_rooms`: the budget less the longest fastest path through both, least
over the flows) is made once per LP. A clique may gather nodes that no one path holds
together (u and v on one path, v and w on a second, u and w on a third), which no cover of
one path expresses. Separated with the covers and with each round of GMI cuts
(:func:`clique_cuts`).

**GMI cuts (4).** A row of the root LP's optimal simplex tableau whose basic variable is a
λ_{v,k} with fractional value β (distance f0 = β − ⌊β⌋ ∈ (0.01, 0.99)),
x_B + Σ_{j nonbasic} ā_j x_j = β, with every nonbasic column and row activity moved to its
bound (x_j = l_j + x'_j or u_j − x'_j, x' ≥ 0), gives the Gomory mixed-integer cut
(Gomory 1960; Balas, Ceria, Cornuéjols & Natraj, Oper. Res. Lett. 19, 1996)

    Σ_{j int} min(f_j/f0, (1 − f_j)/(1 − f0)) x'_j + Σ_{j cont} max(ā_j/f0, −ā_j/(1 − f0)) x'_j ≥ 1

(f_j the fractional part of ā_j; the λ are integer, finish times and row activities
continuous), written back over the columns (a row activity through its row of the matrix).
It holds for every (λ, T) meeting the LP's rows with λ ∈ {0, 1} -- every feasible choice
with its earliest finish times -- because the root's bounds are global (every λ ≤ 1); later
rounds cut the LP with the earlier cuts in (rank 2 and up), still valid. Numerical safety
(the tableau is computed in floating point; Cook, Dash, Fukasawa & Goycoolea, INFORMS J.
Comput. 21, 2009 discuss the failure modes): rows with f0 within 0.01 of an integer are
skipped, coefficients below 1e-6 of the largest are removed with their worst case over the
column's box moved to the right side, and the right side is lowered by 1e-7 relative.
``tests/test_gmi_cuts.py`` checks every cut of several rounds against every enumerated
feasible choice. O(nonbasic columns + rows) per tableau row (one B⁻¹ row and one B⁻¹A row
from HiGHS), one row per fractional basic λ.
"""

from __future__ import annotations

import math
import time
from bisect import bisect_left

import numpy as np

from .. import spec

LABELS = 24  # labels kept per DAG node in the separation pass
VIOLATION = 0.02  # least violation of a cut worth adding
MAX_ROUNDS = 100  # separation rounds at the root
MAX_CUTS = 1000  # cuts kept in the LP at most


def cover_cuts(lat: np.ndarray, ptr: np.ndarray, flows: list, slack_budget: np.ndarray,
               lam: np.ndarray, most: int = 50, max_labels: float = math.inf
               ) -> tuple[list[tuple[list[int], float]], int]:
    """Violated cuts (3) at ``lam``, each as (its λ columns, its right side |C| − 1), and the
    labels the pass made (its work: what the search's separation budget counts); no cuts
    once the labels exceed ``max_labels`` (the pass stops there).

    ``lat``/``ptr``: the candidates' latencies and each node's column range (FlowLP's);
    ``flows``: FlowLP.flows (per flow its topological plan: node index, source row,
    [(pred position, row, d)], first out-row, is sink); ``slack_budget``: each flow's budget
    widened by the spec's float margin (a cover must break it)."""
    n = len(ptr) - 1
    limit = 1.0 - VIOLATION
    # per node its thresholds above the fastest, ascending, and 1 − x_v(θ) of each (x_v by
    # suffix sums over the candidates sorted by latency: O(K log K), where a sum per
    # threshold was O(K²) -- 28 million steps on one merged run of 12,607 rows); a label
    # extends only by the thresholds no slower one is as cheap as (``steps``: the others'
    # labels are shorter and no cheaper), while ``made`` counts every threshold's labels,
    # as the separation's budget was set in. On Python lists: a node has a few to a few
    # dozen candidates, where a dozen numpy calls a node cost ~15 µs (a 60-node
    # series-parallel graph: 60 of its 86 ms decision in this pass); the same sums in the
    # same order (numpy's cumsum adds left to right), so the same cuts to the bit
    lat_l, lam_l, starts = lat.tolist(), lam.tolist(), ptr.tolist()
    fastest: list[float] = []
    thresholds: list[list[float]] = []
    cheap: list[list[float]] = []  # each node's threshold costs below ``limit``, ascending
    steps: list[list[tuple[float, float]]] = []
    for v in range(n):
        order = sorted(range(starts[v], starts[v + 1]), key=lat_l.__getitem__)  # (stable)
        ls = [lat_l[i] for i in order]
        x = [0.0] * len(order)  # x[i]: λ of the candidates from i on
        acc = 0.0
        for i in range(len(order) - 1, -1, -1):
            acc = x[i] = acc + lam_l[order[i]]
        fast = ls[0]
        fastest.append(fast)
        th, cost = [], []
        prev = None
        for i, t in enumerate(ls):
            if t != prev and t > fast:
                th.append(t)
                cost.append(max(0.0, 1.0 - x[i]))
            prev = t
        thresholds.append(th)
        cheap.append(sorted(c for c in cost if c < limit))
        # the thresholds cheaper than every later one (and than ``limit``)
        keep, least = [], math.inf
        for t, c in zip(reversed(th), reversed(cost)):
            if c < least:
                if c < limit:
                    keep.append((t, c))
                least = c
        steps.append(keep[::-1])
    found: dict[tuple, tuple[float, list[int], float]] = {}
    made = 0
    for (plan, _), cap in zip(flows, slack_budget.tolist()):
        labels: list[list[tuple[float, float, tuple]]] = []
        for vi, src, ins, _first, is_sink in plan:
            inc: list[tuple[float, float, tuple]] = []
            if src >= 0:
                inc.append((0.0, 0.0, ()))
            for u, _r, d in ins:
                inc.extend((ln + d, c, ch) for ln, c, ch in labels[u])
            fast = fastest[vi]
            out = [(ln + fast, c, ch) for ln, c, ch in inc]
            made += len(out)
            cs = cheap[vi]
            if cs:
                made += sum(_below(cs, c, limit) for _, c, _ in inc)
                for th, cost in steps[vi]:
                    out.extend((ln + th, c + cost, ch + ((vi, th),)) for ln, c, ch in inc
                               if c + cost < limit)
            if made > max_labels:
                return [], made
            out = _pareto(out)
            labels.append(out)
            if is_sink:
                for ln, c, ch in out:
                    if ch and ln > cap * (1 + 1e-12) + 1e-12:
                        key = tuple(sorted(ch))
                        if key not in found:
                            found[key] = (c, ln, cap)
    cuts = []
    for key, (c, ln, cap) in sorted(found.items(), key=lambda kv: kv[1][0])[:most]:
        chosen = dict(key)
        # lower each threshold while the cover still breaks the budget (a stronger cut):
        # to the least threshold that keeps it one
        for vi in sorted(chosen, key=lambda v: -chosen[v]):
            at = chosen[vi]
            low = next((t for t in thresholds[vi]
                        if t < at and ln - at + t > cap * (1 + 1e-12) + 1e-12), None)
            if low is not None:
                ln += low - at
                chosen[vi] = low
        cols = []
        for vi, t in chosen.items():
            cols.extend([j for j in range(starts[vi], starts[vi + 1]) if lat_l[j] >= t])
        cuts.append((cols, float(len(chosen) - 1)))
    return cuts, made


def _below(ascending: list[float], c: float, limit: float) -> int:
    """How many y of ``ascending`` have c + y < limit (a prefix: rounded addition is
    monotone), by bisection and a step or two at the boundary where limit − c rounds."""
    j = bisect_left(ascending, limit - c)
    while j and not c + ascending[j - 1] < limit:
        j -= 1
    while j < len(ascending) and c + ascending[j] < limit:
        j += 1
    return j


def _pareto(labels: list[tuple[float, float, tuple]]) -> list[tuple[float, float, tuple]]:
    """The labels no other is both longer (or as long) and cheaper (or as cheap) than, at
    most LABELS of them (the cheapest, then the longest, then spread between)."""
    labels.sort(key=lambda t: (t[1], -t[0]))
    keep, best = [], -np.inf
    for t in labels:
        if t[0] > best:
            keep.append(t)
            best = t[0]
    if len(keep) > LABELS:
        idx = np.linspace(0, len(keep) - 1, LABELS).round().astype(int)
        keep = [keep[i] for i in sorted(set(idx.tolist()))]
    return keep


GMI_F0 = 0.01  # least distance of a basic λ's value from 0 and 1 for its row to give a cut
GMI_DYNAMISM = 1e6  # a cut whose largest |coefficient| exceeds this times its smallest is dropped
GMI_SAFETY = 1e-7  # the right side lowered by this (relative): far above the tableau's rounding


def gmi_cuts(highs, n_lam: int, col_cap: np.ndarray, most: int = 100,
             stop: float | None = None) -> list[tuple[np.ndarray, np.ndarray, float]]:
    """Gomory mixed-integer cuts (4) of the LP ``highs`` holds, solved, at *global* bounds
    (the root: every λ's upper bound 1), read from the optimal simplex tableau (see the
    module docstring): each as (columns, coefficients, right side) of ``Σ a x ≥ rhs``,
    the most violated first (violation over ‖a‖), at most ``most``. Columns below
    ``n_lam`` are the integer λ; the others (finish times) continuous with upper bounds
    ``col_cap`` (used only to drop a negligible coefficient safely). ``stop`` (a
    ``perf_counter`` deadline; None: none): the rows are read until then, the cuts found so
    far returned (each is valid alone; one round over 700 coupling nodes' rows took 0.4 s).
    O(rows · nonzeros of a tableau row)."""
    a = highs.getLp()
    n = highs.getNumCol()
    cl, cu = np.asarray(a.col_lower_), np.asarray(a.col_upper_)
    rl, ru = np.asarray(a.row_lower_), np.asarray(a.row_upper_)
    sol = highs.getSolution()
    x, act = np.asarray(sol.col_value), np.asarray(sol.row_value)
    basis = highs.getBasis()
    basic = highs.getBasicVariables()[1]
    ent_col, ent_row, ent_val = matrix_entries(a.a_matrix_, n)
    col_basic = np.asarray([int(s) == 1 for s in basis.col_status])  # HighsBasisStatus.kBasic
    row_basic = np.asarray([int(s) == 1 for s in basis.row_status])
    cap = np.minimum(cu, np.concatenate([np.ones(n_lam), col_cap]))
    col_low = np.abs(x - cl) <= np.abs(x - cu)  # a nonbasic column at its lower bound
    row_low = np.abs(act - rl) <= np.abs(act - ru)
    row_free = (rl == ru) | row_basic  # equalities (their logical is fixed) and basic rows
    is_int = np.arange(n) < n_lam
    out = []
    for r, var in enumerate(np.asarray(basic).tolist()):
        if not 0 <= var < n_lam:
            continue
        if stop is not None and time.perf_counter() > stop:
            break
        f0 = x[var] - math.floor(x[var])
        if not GMI_F0 < f0 < 1 - GMI_F0:
            continue
        red = np.asarray(highs.getReducedRow(r)[1])  # row r of B⁻¹A
        binv = np.asarray(highs.getBasisInverseRow(r)[1])  # row r of B⁻¹
        # x_B + Σ_j red_j x_j − Σ_i binv_i (Ax)_i = 0 (HiGHS's logicals are −Ax): substitute
        # each nonbasic at its bound (x = l + x' or u − x', x' ≥ 0) and take the GMI
        # coefficient of each x', then back to the columns (row activities via A)
        cj = np.where(col_basic | (np.abs(red) <= 1e-11), 0.0, red)
        cj[var] = 0.0
        ap = np.where(col_low, cj, -cj)
        frac = ap - np.floor(ap)
        g = np.where(is_int, np.where(frac <= f0, frac / f0, (1 - frac) / (1 - f0)),
                     np.where(ap >= 0, ap / f0, -ap / (1 - f0)))
        g[cj == 0.0] = 0.0
        ri = np.where(row_free | (np.abs(binv) <= 1e-11), 0.0, -binv)
        rp = np.where(row_low, ri, -ri)
        h = np.where(rp >= 0, rp / f0, -rp / (1 - f0))
        h[ri == 0.0] = 0.0
        # Σ g x' + Σ h s' ≥ 1 with x' = x − l or u − x, s' = Ax − rl or ru − Ax
        coef = np.where(col_low, g, -g)
        on = g != 0
        rhs = 1.0 + float(np.where(col_low[on], g[on] * cl[on], -g[on] * cu[on]).sum())
        hr = np.where(row_low, h, -h)
        if (h != 0).any():
            coef = coef + np.bincount(ent_col, weights=ent_val * hr[ent_row], minlength=n)
            on = h != 0
            rhs += float(np.where(row_low[on], h[on] * rl[on], -h[on] * ru[on]).sum())
        big = np.abs(coef).max()
        if not big > 0 or not np.isfinite(rhs):
            continue
        # drop negligible coefficients, each by its worst case over the column's box
        tiny = (coef != 0) & (np.abs(coef) < big / GMI_DYNAMISM)
        if tiny.any():
            rhs -= float(np.maximum(coef[tiny] * cl[tiny], coef[tiny] * cap[tiny]).sum())
            coef[tiny] = 0.0
        rhs -= GMI_SAFETY * max(1.0, abs(rhs))
        nz = np.nonzero(coef)[0]
        viol = (rhs - spec.dot(coef[nz], x[nz])) / spec.norm(coef[nz])
        if viol > 1e-6 and np.isfinite(viol):
            out.append((viol, nz, coef[nz], rhs))
    out.sort(key=lambda t: -t[0])
    return [(nz, c, rhs) for _, nz, c, rhs in out[:most]]


def matrix_entries(mat, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A HiGHS column-wise matrix as (column, row, value) of each entry (numpy only: products
    Aᵀμ by ``np.bincount``)."""
    start = np.asarray(mat.start_, dtype=np.int64)
    col = np.repeat(np.arange(n), np.diff(start[:n + 1]))
    return col, np.asarray(mat.index_, dtype=np.int64)[:col.size], np.asarray(mat.value_)[:col.size]


CLIQUE_MAX_NODES = 2000  # nodes above which no conflict table is made (n² doubles)
CLIQUE_SEEDS = 200  # thresholds a greedy clique is grown from (the heaviest at the LP's λ)


def conflict_rooms(lat: np.ndarray, ptr: np.ndarray, flows: list,
                   slack_budget: np.ndarray) -> np.ndarray | None:
    """The pairwise conflicts of the path knapsacks: R[u, v] such that u at a candidate
    e_u slower than its fastest and v at one e_v slower than its fastest break some flow's
    widened budget exactly when e_u + e_v > R[u, v] -- the budget (with the covers' margin)
    less the longest path through u and v with every node at its fastest candidate, least
    over the flows (inf where no flow has a path through both; the diagonal inf: one node
    takes one candidate). None above ``CLIQUE_MAX_NODES`` nodes. Per flow of m slots
    O(m · its edges) (the longest fastest path between every pair, one pass down the DAG
    with a column of m at each edge)."""
    n = len(ptr) - 1
    if n > CLIQUE_MAX_NODES:
        return None
    fastest = np.minimum.reduceat(lat, ptr[:-1])
    room = np.full((n, n), np.inf)
    for (plan, _), cap in zip(flows, slack_budget.tolist()):
        ix = np.asarray([p[0] for p in plan], dtype=np.int64)
        m = ix.size
        lm = fastest[ix]
        pre, post = lm.copy(), lm.copy()  # longest fastest path ending / starting at each slot
        dist = np.full((m, m), -np.inf)  # dist[i, j]: longest from slot i to slot j, both in
        dist[np.arange(m), np.arange(m)] = lm
        for j, (_, _, ins, _, _) in enumerate(plan):
            for u, _r, d in ins:
                pre[j] = max(pre[j], pre[u] + d + lm[j])
                np.maximum(dist[:, j], dist[:, u] + (d + lm[j]), out=dist[:, j])
        for j in range(m - 1, -1, -1):
            for u, _r, d in plan[j][2]:
                post[u] = max(post[u], lm[u] + d + post[j])
        through = pre[:, None] + dist + post[None, :] - lm[:, None] - lm[None, :]
        through = np.maximum(through, through.T)
        np.fill_diagonal(through, -np.inf)
        sub = room[np.ix_(ix, ix)]
        room[np.ix_(ix, ix)] = np.minimum(sub, cap * (1 + 1e-12) + 1e-12 - through)
    return room


def clique_cuts(lat: np.ndarray, ptr: np.ndarray, room: np.ndarray, lam: np.ndarray,
                most: int = 100) -> list[tuple[list[int], float]]:
    """Violated clique cuts of the path knapsacks' conflicts at ``lam``, each as (its λ
    columns, right side 1) like :func:`cover_cuts`: a set C of (node, threshold θ_v) pairs,
    pairwise in conflict (``room``: :func:`conflict_rooms`), gives

        Σ_{v ∈ C} Σ_{k: L_{v,k} ≥ θ_v} λ_{v,k} ≤ 1                                         (6)

    (no choice meeting the budgets has two of them slow) -- where the covers (3) of the
    pairs sum to |C|/2 at best. The clique inequalities of the conflict graph (Padberg 1973;
    the conflict graph as MIP solvers build it from probing: Atamtürk, Nemhauser &
    Savelsbergh, EJOR 121, 2000). Separation is greedy over the thresholds of positive weight
    x_v(θ) = Σ_{k: L ≥ θ} λ_{v,k} (of a node's thresholds of one weight only the slowest,
    which conflicts with the most): from each of the ``CLIQUE_SEEDS`` heaviest not yet in a
    clique found (and whose weight with each other node's heaviest threshold in conflict
    with it could make a violated one), add the heaviest one in conflict with every one so
    far (one per node); a clique is kept where its weight exceeds 1 + ``VIOLATION``. Then it
    is extended by the (weightless) thresholds of other nodes in conflict with all of it, and
    each threshold lowered while it stays in conflict with the others (a larger left side: a
    stronger cut). O(P² + seeds · |C| · P + cuts · |C| · thresholds), P the thresholds of
    positive weight."""
    n = len(ptr) - 1
    fastest = np.minimum.reduceat(lat, ptr[:-1])
    owner = np.repeat(np.arange(n), np.diff(ptr))
    # the thresholds: each node's distinct latencies above its fastest, with their weights
    key = np.lexsort((lat, owner))
    o, L = owner[key], lat[key]
    tail = np.cumsum(lam[key][::-1])[::-1]  # Σ λ from here to the node's end (sorted by L)
    end = np.r_[tail[ptr[1:][:-1]], 0.0][o] if n else tail
    first = np.r_[True, (o[1:] != o[:-1]) | (L[1:] != L[:-1])]
    keep = first & (L > fastest[o])
    tv, te, tw = o[keep], (L - fastest[o])[keep], (tail - end)[keep]
    # of a node's thresholds of one weight, the slowest conflicts with the most: the others
    # are left to the lowering below
    last = np.r_[(tv[1:] != tv[:-1]) | (tw[:-1] - tw[1:] > 1e-12), True]
    heavy = np.nonzero((tw > 1e-9) & last)[0]
    heavy = heavy[np.argsort(-tw[heavy], kind="stable")]
    pv, pe = tv[heavy], te[heavy]
    conflict = (pe[:, None] + pe[None, :] > room[np.ix_(pv, pv)]) & (pv[:, None] != pv[None, :])
    pw = tw[heavy]
    # a seed's cliques weigh at most its own weight and, per other node, the heaviest
    # threshold there in conflict with it (one per node)
    by_node = np.argsort(pv, kind="stable")
    starts = np.r_[0, np.nonzero(np.diff(pv[by_node]))[0] + 1] if pv.size else np.zeros(0, int)
    reach = pw.copy()
    if pv.size:
        reach += np.maximum.reduceat(np.where(conflict[:, by_node], pw[by_node], 0.0), starts,
                                     axis=1).sum(axis=1)
    promising = np.nonzero(reach > 1.0 + VIOLATION)[0][:CLIQUE_SEEDS]
    found: dict[tuple, float] = {}
    used = np.zeros(heavy.size, dtype=bool)
    for s in promising.tolist():
        if used[s]:
            continue
        members, ok = [s], conflict[s].copy()
        while ok.any():
            nxt = int(np.argmax(ok))  # the heaviest left (sorted by weight)
            members.append(nxt)
            ok &= conflict[nxt]
        weight = float(pw[members].sum())
        if len(members) > 1 and weight > 1.0 + VIOLATION:
            found.setdefault(tuple(sorted(members)), weight)
            used[members] = True
    cuts = []
    for members, _w in sorted(found.items(), key=lambda kv: -kv[1])[:most]:
        chosen = {int(pv[i]): float(pe[i]) for i in members}
        ok = np.ones(tv.size, dtype=bool)
        for v, e in chosen.items():
            ok &= (te + e > room[tv, v]) & (tv != v)
        while ok.any():  # other nodes' thresholds in conflict with the whole clique
            nxt = int(np.argmax(ok))
            v, e = int(tv[nxt]), float(te[nxt])
            chosen[v] = e
            ok &= (te + e > room[tv, v]) & (tv != v)
        for v in sorted(chosen, key=lambda v: -chosen[v]):
            lower = [e for e in (lat[ptr[v]:ptr[v + 1]] - fastest[v]).tolist()
                     if 0 < e < chosen[v]
                     and all(e + eu > room[v, u] for u, eu in chosen.items() if u != v)]
            if lower:
                chosen[v] = min(lower)
        cuts.append(([int(ptr[v]) + k for v, e in chosen.items()
                      for k in range(int(ptr[v + 1] - ptr[v]))
                      if lat[ptr[v] + k] - fastest[v] >= e], 1.0))
    return cuts
