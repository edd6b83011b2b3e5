"""Small coupling spaces: every fixing of the coupling nodes, by a DP that shares what does
not depend on it.

The coupling search (:func:`fa2opt.reductions.search.search`) minimises (1) of its module
docstring, ``Σ_w c_w(k_w) + Σ_f R_f(k)``, over the fixings k of a component's coupling
nodes. When the component's *coupling space* (the product of its coupling nodes' candidate
counts, after pruning) is small, every fixing can be evaluated -- but not by a remainder
solve of every flow's whole tree per fixing (what the equal split does at its leaves, and
the Lagrangian search per primal). Most of a tree does not depend on a given coupling node:

* a sub-tree without coupling leaves (*free*) has one front for every fixing: it is computed
  once (:meth:`fa2opt.pareto._Context.front`);
* a sub-tree with coupling leaves is evaluated per fixing of *its own* coupling nodes only,
  memoised by (sub-tree, those nodes' candidate indices): a series or parallel combines its
  free parts once, then per fixing with its coupled parts; a fixed leaf is a delay (the
  point (latency, 0): its cost is counted once, in Σ_w c_w), so a series of free parts and
  fixed leaves is the free parts' front shifted.

A flow's root needs only its cheapest point within the budget (as in
:func:`fa2opt.pareto.pareto_remainder`): a parallel's parts each at their own cheapest (a
free part's once for every fixing), a series' last step against its free parts' shared front
by the two-pointer :func:`~fa2opt.pareto.series_min` (a series of at least
``LAGRANGE_PARTS`` free parts: the Pareto DP's bounded fold per fixing instead). So

    OPT = min over k of  Σ_w c_w(k_w) + Σ_f cheapest point of flow f's root for k|C_f

with C_f flow f's coupling nodes. The fixings are enumerated depth-first over the coupling
nodes with more than one candidate, each node's candidates cheapest first. A partial
fixing is completed with every unfixed node at its fastest candidate: a fixing like any
other, and its flows' remainder R a lower bound for every completion (a faster coupling
node only loosens the budgets), so a branch is cut when Σ_fixed c_w + Σ_unfixed min c_w + R
reaches the best value found (with the root's R, the least of all, the rest of a node's
candidates are cut at once: their costs rise). The choice is backtracked
(:func:`fa2opt.pareto.backtrack`) from the winning fixing's root points. The arithmetic is
the Pareto DP's own (:func:`fa2opt.pareto.series`, :func:`~fa2opt.pareto.parallel`); caps
(budget minus the least latency in series with a part) are taken with every coupling leaf
at its fastest candidate, a valid cap for every fixing, so that one front serves them all.

Exact: every fixing that is not cut is evaluated by exact fronts, and a cut one has a valid
lower bound at or above a feasible value. **Complexity**: front operations over Σ over the
coupled sub-trees t of Π_{w ∈ C(t)} |cand_w| (each free sub-tree once), plus the enumeration,
at most Π_w |cand_w| fixings of Σ_f O(1) look-ups each. This is the dynamic programming
over a tree decomposition whose bags carry the coupling nodes (Bodlaender, "A tourist guide
through treewidth", 1993; Bodlaender & Koster, "Treewidth computations I", 2010): a table
per sub-tree indexed by the states of the shared variables it sees; here the sub-trees of
the series-parallel decomposition are the bags and a state is a whole Pareto front. For
the time-cost trade-off on series-parallel networks with node reduction see the references
in :mod:`fa2opt.reductions.search` (Demeulemeester, Herroelen & Elmaghraby 1996; Bein,
Kamburowski & Stallmann 1992). It generalises the plan's ``_enumerate`` (flat trees only,
each flow swept per combination: still faster there) to any tree.

Used by :func:`~fa2opt.reductions.search.search` on components whose coupling space is
between :data:`~fa2opt.reductions.search.FIXING_MIN_SPACE` and ``FIXING_MAX_SPACE`` and whose
trees are small (:func:`fits`), when the arithmetic declares ``fronts`` (the exact one; the
grid's fronts are another arithmetic). The per-fixing recursion is as deep as a tree,
bounded by :func:`fits`; the enumeration's by log2 of the space.
"""

from __future__ import annotations

import time
from typing import Mapping

from ..pareto import (BOUND_COMPOSITES, LAGRANGE_PARTS, Front, _Context, _fold_bounded,
                      _pick_parallel, _suffix_sums, backtrack, parallel, series, series_min)
from . import sp_decompose
from .decouple import DecoupledProblem
from .search import INF, SearchResult, _Deadline, _equal_split_bound, _Exact
from .sptree import Delay, Leaf, Parallel, Series, SPTree

_STRUCT_MAX = 4096  # structures kept (the oldest first out)
_STRUCTS: dict[tuple, tuple] = {}


def fits(dp: DecoupledProblem) -> bool:
    """Every tree of the component has fewer than ``BOUND_COMPOSITES`` series/parallels:
    full fronts stay short (larger trees make the Pareto DP bound its fronts, which the
    shared fronts here do not). O(Σ tree sizes), cached per structure."""
    return all(_structure(f.tree, frozenset(cw)) is not None
               for f, cw in zip(dp.flows, dp.flow_coupling))


def _structure(tree: SPTree, coupling: frozenset[str]) -> tuple | None:
    """What the DP needs of ``tree`` for a coupling set, independent of the data (cached by
    the tree's identity: decompositions are cached per graph structure, so the same tree
    object comes back): ``{id(composite): (its coupling nodes (sorted), its free parts,
    its coupled composite parts, its coupling leaf parts)}`` for the composites holding a
    coupling leaf, or None when the tree is too large (:func:`fits`). Post-order over
    distinct sub-trees on an explicit stack; O(distinct sub-trees and their parts)."""
    key = (id(tree), coupling)
    hit = _STRUCTS.get(key)
    if hit is not None and hit[0] is tree:
        return hit[1]
    under: dict[int, frozenset[str]] = {}
    info: dict[int, tuple] = {}
    composites = 0
    stack: list = [tree]
    while stack:
        t = stack.pop()
        if type(t) is tuple:
            t = t[0]
            cs: set[str] = set()
            free, coupled, fixed = [], [], []
            for p in t.parts:
                tp = type(p)
                if tp is Leaf and p.node in coupling:
                    fixed.append(p.node)
                    cs.add(p.node)
                elif tp is Leaf or tp is Delay or not under[id(p)]:
                    free.append(p)
                else:
                    coupled.append(p)
                    cs |= under[id(p)]
            under[id(t)] = frozenset(cs)
            if cs:
                info[id(t)] = (tuple(sorted(cs)), tuple(free), tuple(coupled), tuple(fixed))
        elif id(t) not in under and (type(t) is Series or type(t) is Parallel):
            composites += 1
            if composites >= BOUND_COMPOSITES:
                out = None
                break
            under[id(t)] = frozenset()  # (visited; set again once its parts are known)
            stack.append((t,))
            stack.extend(p for p in t.parts
                         if (type(p) is Series or type(p) is Parallel) and id(p) not in under)
    else:
        out = info
    _STRUCTS[key] = (tree, out)
    if len(_STRUCTS) > _STRUCT_MAX:
        del _STRUCTS[next(iter(_STRUCTS))]
    return out


sp_decompose._DERIVED.append(_STRUCTS.clear)  # clear_cache() forgets the structures too


class _Flow:
    """One flow's fronts per fixing of its own coupling nodes (see the module docstring);
    ``memo`` keys: (id, indices…) a composite's front, (-1, id, indices…) its cheapest point,
    (-2, id) a free part's cheapest point, (-3, id) its front."""

    __slots__ = ("tree", "budget", "cands", "info", "ctx", "caps", "memo", "free_memo",
                 "coupling", "roots")

    def __init__(self, tree: SPTree, budget: float, cands, coupling: tuple[str, ...]):
        self.tree, self.budget, self.cands, self.coupling = tree, budget, cands, coupling
        self.info = _structure(tree, frozenset(coupling))
        # every leaf at its fastest candidate: the least latencies and caps of every fixing
        self.ctx = _Context(tree, cands, None, None)
        self.caps = self.ctx.caps(tree, budget)
        self.memo: dict[tuple, Front | None] = {}
        self.free_memo: dict[int, Front | None] = {}
        self.roots: dict[tuple, tuple[float, Front] | None] = {}

    def value(self, fixing: Mapping[str, int]) -> tuple[float, Front] | None:
        """The flow's least cost for ``fixing`` (its coupling nodes' candidate indices) and
        the root front whose last point attains it; None when its budget cannot be met."""
        key = tuple([fixing[w] for w in self.coupling])
        roots = self.roots
        if key in roots:
            return roots[key]
        tree = self.tree
        if type(tree) is Leaf:  # (a flow of one coupling node: a delay)
            lat = self.cands[tree.node].latency[fixing[tree.node]]
            r = (0.0, Front([lat], [0.0]), 0) if lat <= self.budget else None
        else:
            hit = self.cheapest(tree, fixing)
            r = None if hit is None else (float(hit[0].cost[hit[1]]), hit[0], hit[1])
        roots[key] = r
        return r

    def cheapest(self, t: Series | Parallel, fixing: Mapping[str, int]) -> tuple[Front, int] | None:
        """A front holding the cheapest way to keep the coupled composite ``t`` within its
        cap for ``fixing``, and that point's index (as :meth:`fa2opt.pareto._Context.
        cheapest`): a parallel's parts each at their own cheapest (a free part's once for
        every fixing); a series' coupled parts and fixed leaves combined per fixing, and
        the last step against its free parts' shared front by :func:`~fa2opt.pareto.
        series_min` (one sweep, no full front)."""
        nodes, free, coupled, fixed = self.info[id(t)]
        key = (-1, id(t), *[fixing[w] for w in nodes])  # (apart from front()'s keys)
        memo = self.memo
        if key in memo:
            return memo[key]
        cap = self.caps[id(t)]
        out: tuple[Front, int] | None = None
        lats = [self.cands[w].latency[fixing[w]] for w in fixed]
        if type(t) is Parallel:
            picks = []
            if not lats or max(lats) <= cap:
                if lats:
                    picks.append((Front([max(lats)], [0.0]), 0))
                for p in free:
                    r = self.free_cheapest(p)
                    if r is None:
                        break
                    picks.append(r)
                else:
                    for p in coupled:
                        r = self.cheapest(p, fixing)
                        if r is None:
                            break
                        picks.append(r)
                    else:
                        out = _pick_parallel(picks)
        elif len(free) >= LAGRANGE_PARTS:
            # many free parts: the Pareto DP's bounded fold per fixing (their full front
            # would be long, and _fold_bounded forms only what can be cheapest)
            fronts = [self.free_front(p) for p in free]
            fronts += [self.front(p, fixing) for p in coupled]
            if lats:
                fronts.append(Front([sum(lats)], [0.0]))
            if all(f is not None for f in fronts):
                later = _suffix_sums([f.lat[0] for f in fronts])  # the later parts' least
                if later[0] + fronts[0].lat[0] <= cap:
                    f = _fold_bounded(fronts, [cap - r for r in later], cap)
                    if f is not None and len(f.lat):
                        out = (f, len(f.lat) - 1)
        else:
            acc = self.free_part(t, free, cap) if free else None
            if acc is not None or not free:
                parts = [self.front(p, fixing) for p in coupled]
                if lats:
                    parts.append(Front([sum(lats)], [0.0]))
                if acc is not None:
                    parts.append(acc)
                if all(f is not None for f in parts):
                    f = parts[0]
                    for g in parts[1:-1]:
                        f = series(f, g, cap)
                        if not len(f.lat):
                            break
                    else:
                        if len(parts) > 1:
                            f = series_min(f, parts[-1], cap)
                        elif f.lat[0] > cap:
                            f = None
                        if f is not None and len(f.lat):
                            out = (f, len(f.lat) - 1)
        memo[key] = out
        return out

    def free_front(self, p: SPTree) -> Front | None:
        """A free part's whole front at its cap (once per decision)."""
        key = (-3, id(p))
        memo = self.memo
        if key not in memo:
            f = self.ctx.front(p, self.caps[id(p)])
            memo[key] = f if f is not None and len(f.lat) else None
        return memo[key]

    def free_cheapest(self, p: SPTree) -> tuple[Front, int] | None:
        """A free part of a parallel at its cheapest within its cap (once per decision)."""
        key = (-2, id(p))
        memo = self.memo
        if key not in memo:
            memo[key] = self.ctx.cheapest(p, self.caps[id(p)])
        return memo[key]

    def front(self, t: Series | Parallel, fixing: Mapping[str, int]) -> Front | None:
        """A coupled composite's front for ``fixing``: its free parts combined once (as the
        Pareto DP combines a series' parts, left to right, or a parallel's), then per fixing
        of its own coupling nodes its coupled parts and, for a series, the sum of its fixed
        leaves' latencies as one shift (a parallel: their maximum as one point)."""
        nodes, free, coupled, fixed = self.info[id(t)]
        key = (id(t), *[fixing[w] for w in nodes])
        memo = self.memo
        if key in memo:
            return memo[key]
        cap = self.caps[id(t)]
        acc = self.free_part(t, free, cap) if free else None
        out: Front | None = None
        if acc is not None or not free:
            lats = [self.cands[w].latency for w in fixed]
            d = None
            if fixed:
                d = 0.0
                if type(t) is Series:
                    for w, lat in zip(fixed, lats):
                        d += lat[fixing[w]]
                else:
                    d = max(lat[fixing[w]] for w, lat in zip(fixed, lats))
            out = acc
            for p in coupled:
                f = self.front(p, fixing)
                out = None if f is None or not len(f.lat) else _join(t, out, f, cap)
                if out is None:
                    break
            else:
                if d is not None:
                    out = None if d > cap else _join(t, out, Front([d], [0.0]), cap)
        memo[key] = out
        return out

    def free_part(self, t: Series | Parallel, free: tuple, cap: float) -> Front | None:
        """The free parts of a coupled composite combined (once per decision): a series'
        cut at ``cap`` less the least latencies of its other parts, a parallel's at ``cap``."""
        k = -id(t)  # (keyed apart from the free sub-trees' own fronts)
        memo = self.free_memo
        if k in memo:
            return memo[k]
        mins = self.ctx.mins
        acc = None
        if type(t) is Series:
            cap -= sum(mins[id(p)] for p in t.parts) - sum(mins[id(p)] for p in free)
        for p in free:
            f = self.ctx.front(p, self.caps[id(p)])
            acc = None if f is None or not len(f.lat) else _join(t, acc, f, cap)
            if acc is None:
                break
        memo[k] = acc
        return acc


def _join(t: Series | Parallel, acc: Front | None, f: Front, cap: float) -> Front | None:
    """``f`` (non-empty) combined into ``acc`` as ``t`` combines its parts (in series cut at
    ``cap``, or in parallel); ``acc`` None: ``f`` itself. None when no point is left."""
    out = f if acc is None else series(acc, f, cap) if type(t) is Series else parallel(acc, f)
    return out if len(out.lat) else None


def fixing_search(dp: DecoupledProblem, deadline: float | None = None, cutoff: float = INF
                  ) -> SearchResult | None:
    """Exact optimum of a component (``dp``: one component, no free nodes) by evaluating
    fixings of its coupling nodes on shared fronts (the module docstring); None when
    infeasible or (finite ``cutoff``) when no choice costs less than ``cutoff``. At the
    ``deadline``: the incumbent with ``timed_out`` and the equal split's root bound.

    Depth-first over the coupling nodes with more than one candidate (a single one is fixed
    to it); a partial fixing is completed with every unfixed node at its *fastest*
    candidate: a fixing like any other (a value, maybe the incumbent), and its flows'
    remainder R is a lower bound for every completion (a faster coupling node only loosens
    the flows' budgets), so a child k of node w is cut when Σ_fixed c + c_w(k) + Σ_unfixed
    min c + R(…, k, fastest…) reaches the incumbent. Candidates cheapest first; the rest of
    w's candidates are cut at once when even the root's R (every node fastest, the least
    remainder) cannot bring them below it. ``explored``: fixings evaluated; ``solves``:
    fronts and cheapest points formed."""
    from ..pareto import pareto_remainder
    cands = dp.candidates
    flows = [_Flow(f.tree, f.budget_ms, cands, cw) for f, cw in zip(dp.flows, dp.flow_coupling)]
    fixing = {w: 0 for w in dp.coupling}
    order = [w for w in dp.coupling if len(cands[w]) > 1]
    costs = [cands[w].cost for w in order]
    pin = sum(cands[w].cost[0] for w in dp.coupling if len(cands[w]) == 1)
    # Σ of the least / the fastest costs of order[d:], each summed (never a difference of
    # sums: costs spanning 1e-15..1e15 would cancel, e.g. 1e15 + 0.01 - 1e15 = 0)
    least = [0.0] * (len(order) + 1)
    fast_from = [0.0] * (len(order) + 1)
    for d in range(len(order) - 1, -1, -1):
        least[d] = least[d + 1] + costs[d][-1]
        fast_from[d] = fast_from[d + 1] + costs[d][0]
    fast = pin + fast_from[0]  # every node at its fastest
    state = {"best": cutoff, "fix": None, "roots": None, "explored": 0}

    def remainder() -> tuple[float, list] | None:
        """Σ_f R_f of the current fixing and the flows' root points (None: infeasible)."""
        state["explored"] += 1
        if deadline is not None and time.perf_counter() > deadline:
            raise _Deadline
        total, roots = 0.0, []
        for fl in flows:
            r = fl.value(fixing)
            if r is None:
                return None
            total += r[0]
            roots.append((r[1], r[2]))
        return total, roots

    def dfs(d: int, fixed_cost: float, rem: float) -> None:
        """Branch on ``order[d]``; ``fixed_cost``: Σ c of order[:d] and the single-candidate
        nodes; ``rem``: R of this partial fixing (the others fastest). Depth ≤
        log2(FIXING_MAX_SPACE)."""
        w, cw = order[d], costs[d]
        fast_rest = fast_from[d + 1]
        for k in range(len(cw) - 1, -1, -1):  # cheapest first: c_w rises
            c = fixed_cost + cw[k]
            if c + least[d + 1] + root_rem >= state["best"]:
                break  # (any completion costs at least this, and more for a faster k)
            fixing[w] = k
            if k == 0:
                r = rem  # (this partial fixing with w at its fastest: the parent's)
            else:
                hit = remainder()
                if hit is None:
                    continue  # (faster k may fit)
                r = hit[0]
                if c + fast_rest + r < state["best"]:  # the completion at the fastest
                    state.update(best=c + fast_rest + r, fix=dict(fixing), roots=hit[1])
            if d + 1 < len(order) and c + least[d + 1] + r < state["best"]:
                dfs(d + 1, c, r)
        fixing[w] = 0

    root_rem = INF
    try:
        hit = remainder()  # every coupling node at its fastest
        if hit is not None:
            root_rem = hit[0]
            if fast + root_rem < state["best"]:
                state.update(best=fast + root_rem, fix=dict(fixing), roots=hit[1])
            if order:
                dfs(0, pin, root_rem)
    except _Deadline:
        lb = _equal_split_bound(dp, pareto_remainder)
        if state["fix"] is None:
            return _Exact(dp, pareto_remainder, cutoff).result(state["explored"], 0, True, lb)
        return _result(dp, state["best"], state["fix"], state["roots"], state["explored"],
                       flows, True, lb)
    if state["fix"] is None:
        return None
    return _result(dp, state["best"], state["fix"], state["roots"], state["explored"], flows)


def _result(dp: DecoupledProblem, best: float, fix: dict[str, int], roots: list, explored: int,
            flows: list[_Flow], timed_out: bool = False, lb: float | None = None) -> SearchResult:
    """The winning fixing and its flows' choices, backtracked from their root fronts."""
    choice = dict(fix)
    for f, r in roots:
        choice.update(backtrack(f, r))
    solves = sum(len(fl.memo) + len(fl.roots) for fl in flows)
    return SearchResult(best, choice, explored, solves, timed_out=timed_out,
                        lower_bound=None if lb is None else min(lb, best))
