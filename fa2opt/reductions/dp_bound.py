"""A bound for the flow-bound search that keeps one flow's non-convexity: one flow decided
exactly by the DP, the others' path constraints priced by the LP's flows.

The flow bound (1) of :mod:`.flow_bound` relaxes *every* flow's path constraints with one
flow y_f per flow; its best value is the LP in which each node's (latency, cost) candidates
are convexified. When the objective is not the cost (a weighted accuracy term: rows of
different model variants differ by a large amount, so a node's candidates are far from
convex) that LP is weak -- 30 % of the optimum on 40-node shared graphs, where the search then
runs for hours. Keeping one flow i's constraints exactly and relaxing only the others',

    LB_i(y) = DP_i(c_v + Y'_v L_v over f_i's nodes) + Σ_{v ∉ f_i} min_k (c_{v,k} + Y'_v L_{v,k})
              + Σ_{f ≠ i} (Σ_e y_{f,e} d_e − |y_f| B_f),        Y'_v = Σ_{f ≠ i} Y_{f,v}    (2)

(DP_i: the least price of a choice meeting flow i's SLA, by the exact remainder DP over its
tree with per-candidate prices; a node with several leaves in the tree -- duplicated by the
non-SP reduction -- gives each leaf the price divided by their number, its leaves free to
disagree, which only relaxes) is a lower bound on the cost of every feasible choice for every
y ≥ 0: on a feasible choice the dropped penalties Σ_{f≠i} y_f·(path − B_f) are ≤ 0 and the
choice is one of those DP_i ranges over. When flow i's tree has each node once, (2) is
not below (1) at the same y (flow i's penalty term is the Lagrangian relaxation of what DP_i
keeps exactly; with duplicated leaves free to disagree it may be), so the search takes
max((1), (2)) with the LP's own y -- no new multipliers to find. Candidates a search node
excludes are priced ``BIG`` (an excluded row that would still be chosen makes (2) exceed any
incumbent, so it prunes, which is right: nothing in the subtree may take it).

Cost: one DP over flow i's tree per search node (O(tree · front); ~20 ms on an 80-node tree
against ~1.3 ms for the LP, in the Python DP; by the flow's tree compiled once,
:class:`fa2opt.tree_kernel.TreeRemainder`, where the kernels run: 4 → 0.4 ms a DP on 8
flows over merged runs of a 300-node chain), so :class:`DPBound` is measured once, at the search's
``flow_bound.DP_BOUND_FROM``-th node (searches the LP closes sooner never pay), for the
``ROOT_FLOWS`` flows with the most LP flow, and the best flow kept only when it closes
``MIN_GAIN`` of the gap there; below, a node's DP runs while the DPs' work has been at most
``SHARE`` times the search's, both counted in deterministic units (leaf-candidates and
series pairs of the DPs, LP columns and DAG slots per search node; not seconds, so the
search explores the same nodes on any machine, loaded or not, with Numba or without). Flows with many non-SP copies are not tried
(``MAX_LEAVES_PER_NODE``). Measured in docs/fa2.md: the weighted-accuracy shared graphs that
ran into any time limit now close in tens of nodes; cost-only shared graphs gain too.
"""

from __future__ import annotations

from collections import Counter

import numpy as np

from .. import pareto
from ..arithmetic import DECLINED, as_arithmetic
from .decouple import DecoupledProblem
from .search import RemainderSolver, _FlowPrograms
from .sptree import split_leaves

BIG = 1e15  # the price of an excluded candidate (any choice taking it is beyond every incumbent)
MIN_GAIN = 0.1  # (2) stays on when, where measured, it closes this share of the gap
ROOT_FLOWS = 2  # flows measured (those with the most LP flow)
# The DPs' budget, in work units rather than seconds, so the nodes a search explores do not
# depend on the machine, its load, or whether Numba runs the search's passes (with the time
# budget it replaces, 0.5 of the search's other seconds, shared-large 60x3 seed 0 explored
# 40-89 nodes from run to run with Numba, 22-64 without). A search node earns FlowLP.work
# (λ columns + DAG slots); a DP costs its tree's leaf-candidates plus the pairs its series
# form (fa2opt.pareto.PAIRS) / PAIRS_PER_UNIT; a node's DP runs while the DPs have cost at
# most SHARE times what the search's nodes earned. Measured on shared-large 60x3-200x10, cost
# and weighted accuracy (2026-12-02, Numba loaded): a DP 1-10 ms at 450-39,000 pairs (~4 µs
# a leaf-candidate, ~0.25 µs a pair), a node 1.1-13 ms at 2.5-17 µs a unit; the estimated
# DP/node ratio came within 0.45-3.3x of the timed one. SHARE side by side (docs/fa2.md):
# 0.5 and 1 starved the DPs where they pay (cost, 60x3 seed 0: 112 and 26 nodes against 14;
# accuracy-weighted 80x4 seed 1: 9,641 nodes into the time limit at 0.5; 150x6 seed 1: 455
# nodes at 1 against 222); 2 lost accuracy-weighted 60x3 seed 0 (107 nodes, 61 DPs against
# 38, 16 at 1.5), 3 its seed 2 (94 nodes, 52 DPs against 101, 24: 0.42 against 0.22 s)
SHARE = 1.5
PAIRS_PER_UNIT = pareto.PAIRS_PER_UNIT
# flows whose tree has more leaves than this many times its nodes are not tried: the non-SP
# reduction's copies, free to disagree, make (2) weak and its DP slow there (random, vsp and
# lattice graphs: 5-28 leaves a node, (2) below (1) at the root, up to 0.2 s a DP)
MAX_LEAVES_PER_NODE = 1.25


class DPBound:
    """Bound (2) for the search nodes of :class:`~.flow_bound.LPSearch` (its FlowLP ``lp``)."""

    def __init__(self, dp: DecoupledProblem, lp, remainder: RemainderSolver):
        self.lp, self.remainder = lp, remainder
        # each flow's tree compiled at its first DP (its tree and candidates from
        # flow_parts): the same tree at every search node, other prices
        self.programs = _FlowPrograms(as_arithmetic(remainder).compile,
                                      lambda i: self.flow_parts(i)[:2], len(dp.flows))
        # per flow: (tree, candidates with aliases, [(alias, LP node, share)], not-in-flow
        # mask, budget), built when first used (None until then), and whether the root tries
        # it; flows not tried are never unfolded (a non-SP tree unfolds to 10^5 leaves)
        self.dp = dp
        self.flows: list[tuple | None] = []
        self.tried: list[bool] = []
        self.ok = True
        for f in dp.flows:
            counts = f.node_leaves  # the tree's own leaves (counted, not unfolded)
            nodes, total = set(counts), sum(counts.values())
            if any(v not in lp.index for v in nodes):  # a leaf the LP does not know: off
                self.ok = False
                return
            self.tried.append(total <= MAX_LEAVES_PER_NODE * len(nodes))
            self.flows.append(None)
        self.kept: int | None = None  # the flow whose (2) is used below the root
        # the DPs' budget in work units (SHARE): each search node earns the LP's λ columns
        # plus the passes' slots (FlowLP.work), each DP costs its leaf-candidates and pairs
        self.spent = 0.0  # the DPs' work so far

    def flow_parts(self, i: int) -> tuple:
        """Flow i's (tree with each duplicated leaf its own alias, candidates with the
        aliases, [(alias, LP node, share)], not-in-flow mask, budget), built once."""
        if self.flows[i] is None:
            lp, dp, f = self.lp, self.dp, self.dp.flows[i]
            counts = f.node_leaves
            dup = {v for v, m in counts.items() if m > 1}
            tree, cands = f.tree, dp.candidates
            names = [(v, v) for v in counts if v not in dup]
            if dup:
                tree, alias = split_leaves(f.tree, dup)
                cands = dict(dp.candidates)
                for a, v in alias.items():
                    cands[a] = dp.candidates[v]
                    names.append((a, v))
            leaves_of = Counter(v for _, v in names)
            slots = [(a, lp.index[v], 1.0 / leaves_of[v]) for a, v in names]
            outside = np.ones(len(lp.nodes), dtype=bool)
            outside[[lp.index[v] for v in counts]] = False
            work = sum(len(cands[a].latency) for a, _, _ in slots)  # the DP's leaf-candidates
            self.flows[i] = (tree, cands, slots, outside, f.budget_ms, work)
        return self.flows[i]

    def per_flow(self, y: tuple) -> tuple[np.ndarray, np.ndarray] | None:
        """(Y_{f,v} per flow and node, const_f per flow) of the LP's flows ``y`` (the third
        entry of :meth:`~.flow_bound.FlowLP.flow_weights`); None when y lacks it."""
        return y[2] if len(y) > 2 else None

    def flow_bound(self, i: int, y: tuple, ub: np.ndarray) -> float:
        """(2) with flow i kept (``ub``: the search node's λ upper bounds, 0 excluded)."""
        parts = self.per_flow(y)
        if parts is None:
            return -np.inf
        Yf, cf = parts
        lp = self.lp
        others = np.arange(len(cf)) != i
        Y_other = Yf[others].sum(axis=0)
        val = lp.cost + Y_other[lp.owner] * lp.lat
        val = np.where(ub > 0, val, BIG)
        tree, cands, slots, outside, budget, work = self.flow_parts(i)
        ptr = lp.ptr
        weight = {a: (val[ptr[j]:ptr[j + 1]] * share).tolist() for a, j, share in slots}
        pairs = pareto.PAIRS[0]
        r = self.programs.solve(i, budget, None, weight)
        if r is DECLINED:  # the Python DP: its leaf-candidates a unit each, and its pairs
            self.spent += work
            r = self.remainder(tree, budget, cands, None, weight)
        self.spent += (pareto.PAIRS[0] - pairs) / PAIRS_PER_UNIT
        if r is None:
            return np.inf  # flow i meets its SLA with no allowed choice: nothing here is feasible
        # (2) from below: cf is lowered already (FlowLP.flow_weights); the DP's value and the
        # minima outside flow i as in FlowLP.total, with r[0] standing for f_i's minima
        mins = np.minimum.reduceat(val, ptr[:-1])[outside]
        return lp.total(np.append(mins, r[0]), float(cf[others].sum()), 2.0 * lp.cost_abs)

    def root(self, y: tuple, ub: np.ndarray, lb: float, best: float) -> float:
        """At the first search node that measures: (2) for the ``ROOT_FLOWS`` flows with the
        most LP flow (Σ_v Y_{f,v}; a flow the LP does not price gained nothing from being
        kept on every shared instance measured, docs/fa2.md), the best one kept for the search when it closes at least ``MIN_GAIN`` of the
        gap ``best − lb``; returns the best (2) when it is kept, else −inf."""
        parts = self.per_flow(y)
        if not self.ok or parts is None:
            return -np.inf
        mass = parts[0].sum(axis=1)
        order = sorted((i for i, t in enumerate(self.tried) if t and mass[i] > 0),
                       key=lambda i: -mass[i])
        top, arg = -np.inf, None
        for i in order[:ROOT_FLOWS]:
            b = self.flow_bound(i, y, ub)
            if b > top:
                top, arg = b, i
        gap = best - lb
        if arg is not None and np.isfinite(gap) and gap > 0 and top - lb >= MIN_GAIN * gap:
            self.kept = arg
            return top
        # not kept: not used here either (one rule: (2) bounds a node only where it is on)
        return -np.inf

    def node(self, y: tuple, ub: np.ndarray, explored: int) -> float:
        """(2) at a later search node, the search's ``explored``-th (−inf when it is off, or
        while the DPs' work exceeds ``SHARE`` times the search's: they then wait for the LP
        search to catch up). Counted in work units, not seconds, so the nodes searched do
        not depend on the machine's speed or load (or on whether Numba speeds the search's
        passes up)."""
        if self.kept is None:
            return -np.inf
        if self.spent > SHARE * explored * self.lp.work:
            return -np.inf
        return self.flow_bound(self.kept, y, ub)
