"""Budgets as rows of the flow bound's LP: one LP-based branch and bound for large extended
problems (issue 14; taken by :func:`.search.branch_and_bound` on problems of at least
``LP_MIN_NODES`` nodes whose budgets bind).

The Lagrangian branch and bound of :mod:`.search` prices the budgets and calls the whole
base DP as an oracle per multiplier step and per subproblem; on large, coupling-heavy
graphs each DP is itself a flow-bound search (:mod:`fa2opt.reductions.flow_bound`), and its
leaf enumeration bounds with the SLAs dropped. Here the budgets join the flow bound's LP
instead, so one LP handles the SLAs and the budgets at once:

**The LP** (:class:`BudgetLP`): :class:`~fa2opt.reductions.flow_bound.FlowLP` over every
node's allowed rows (not only the base problem's (L, cost) Pareto candidates: a slower,
dearer row may use less of a budget; rows dominated in L, objective and every use are gone,
:func:`.leaf.undominated`), the flows' budgets widened by the float margin, plus one row per
budget ``Σ_{v∈b} Σ_k use_{b,v,k} λ_{v,k} ≤ limit''_b`` (``limit''``: :func:`.search.
effective_limit` widened by the rounding of a sum of the budget's terms, so every choice
within the budget by its one summation order lies within the row).

**The bound.** For flows y ≥ 0 (from the flow rows' duals, made conservative by
:meth:`FlowLP.flow_weights`) and μ ≥ 0 (the budget rows' duals, clipped)

    LB(y, μ) = Σ_v min_{k allowed} (c_vk + Y_v L_vk + Σ_b μ_b use_bvk)
               + Σ_f (Σ_e y_fe d_e − |y_f| B_f) − Σ_b μ_b limit''_b                     (1)

is a lower bound on the objective of every choice meeting the SLAs and the budgets
(Lagrangian relaxation of both: each dropped term is ≤ 0 on such a choice); it is computed
by the formula, so it is valid whatever the LP's tolerances, and at the LP's duals it
equals the LP's value.

**The search.** Best bound first over subproblems (a 0/1 mask over the λ columns). From
``LP_FIRST_NODES`` nodes the root LP is solved before the caller's first DP
(:func:`root_lp`): when HiGHS reports it
infeasible, its dual ray, put into (1) with the costs dropped, proves infeasibility
(:meth:`BudgetLP.infeasible`) without any DP. Per subproblem: per-row budget bounds (a row
breaking a budget with every other node at its least use leaves) and two exact tests (every
budget at its least use in its summation order, the SLAs at the fastest allowed rows); the
LP (HiGHS dual simplex, warm-started) → (1), or the dual-ray proof; reduced-cost fixing (a
row whose forced bound ``LB + w_vk − min_k w_vk`` reaches the incumbent leaves; the LP again
on what is left); the primal: roundings of the LP point (each node at the allowed row no
slower than its LP latency ``ℓ_v = Σ_k λ_vk L_vk`` -- no path gets longer than in the LP --
with the least Lagrangian weight ``c + μ·use``, objective or use; those that cannot beat
the incumbent or meet the budgets skipped, :meth:`_Search.hopeless`), checked by the SLA
rule, and a batched local search (:meth:`_Search.improve`) at subproblems 1, 2, 4, 8, … and
every ``IMPROVE_EVERY`` (an interval that doubles after each call finding nothing, up to
``IMPROVE_EVERY_MAX``, and resets on success), and while there is no incumbent (then from
the least-use rounding too); ``offer`` checks every budget in its one summation order. The
batched SLA pass is the numpy twin until the search has run ``NUMBA_AFTER_S`` (or the
compiled kernel has run in this process), then the compiled one -- same bits. A
subproblem ends when its bound reaches the incumbent (less ``PRUNE_TOL``
relative, or almost the cost grain), when it holds at most ``LEAF_CHOICES`` choices (the
exact enumeration leaf, :class:`.leaf.Leaf`), or when every node whose rows differ in some
budget's use is decided: the budgets are then constants and the rest is the base problem,
decided by the DP (``relax``). Otherwise it is split at a node where λ is fractional: its
rows in table order (by L) up to the middle of the λ mass, and the rest -- both children cut
off the LP point; the node among the ``STRONG`` most fractional by its children's LP values
(strong branching until ``RELIABLE`` observations, then their averages), as the flow bound.
An integral LP point whose choice breaks the SLA rule (it meets the widened budgets: the
SLA's edge) is split off by its no-good orthant along the path it breaks
(:meth:`_Search.edge_split`, as :func:`fa2opt.edge.decide_exact` enumerates).
A child whose LP strong branching solved carries (1) at that LP's duals (:meth:`_Search.
probe`; a verified dual ray: inf): it is dropped when that reaches the incumbent, else
queued by it (Achterberg, Koch & Martin 2005, "Branching rules revisited", for reliability
branching; the child bound is the same Lagrangian bound (1), so it is valid for the child).

**GMI cuts** (issue 13): once a search is still open at its ``GMI_AT``-th subproblem (at its
first on problems of ``GMI_ROOT_NODES`` nodes or more), rounds
of GMI cuts (:func:`fa2opt.reductions.flow_cuts.gmi_cuts`, by
:func:`fa2opt.reductions.flow_bound.gmi_rounds`) are separated at the root's LP (every bound
global: each cut holds for every choice of the subproblem meeting the SLAs and budgets) and
stay in the LP; from then on the bound is (5) of :meth:`FlowLP.lagrange_weights`, which
relaxes every row but the convexity rows -- the budget rows at the same μ as (1) -- and is a
lower bound for any sign-clipped multipliers (docs/fa2.md, "GMI cuts in the budget LP").

**Latency limits and cover rounds** (issue 13, "pools with budgets"). The caller's rows
are those within each node's latency limit (:func:`.leaf.within_limits`); per subproblem,
after the exact tests, a row slower than its limit at the subproblem's fastest allowed rows
(:func:`fa2opt.reductions.pruning.latency_limits`: it breaks a flow's widened budget with
every other node at its fastest allowed row) leaves too -- the LP put weight on such rows
before. The SLA test and the limits there run compiled where :meth:`_Search.compiled`
(:mod:`fa2opt.dag_batch`, the same bits: a 120-node pool's 4,449 subproblems 41 → 33 s).
On problems of at least ``COVER_MIN_FLOWS`` flows, the root's first LP gets rounds of the
flow bound's path covers (3) and cliques (6) and of each budget row's covers (the row is a
multiple-choice knapsack as a path is; :meth:`_Search.cover_rounds`), global cuts, then
bound (5). Many-flows 12x10x60 #1 + capacity (120 nodes, 60 flows): root bound 1,051 →
1,144 (limits) → 1,264 (covers) of 1,297 on the search's costs; a 60 s ``time_limit`` (20,000
subproblems) → ~3 s (docs/fa2.md, "Pools with budgets").

Exact: rows leave only by valid bounds or exact tests; leaves are exact (the enumeration,
or the DP with the budgets constant); an LP that reports no optimum without a verified
ray leaves the parent's bound and the subproblem is split. Empty heap: the incumbent is
optimal, none proves infeasibility. Per subproblem O(LP + Σ_f |G_f| + Σ_v K_v·(1 + m)) for
K_v allowed rows and m budgets, plus O(steps · moves · (V + S + E)) when the local search
runs; exponential in the worst case (knapsack is a special case), guarded by the deadline
(``time_limit`` with the least open bound).
"""

from __future__ import annotations

import heapq
import math
import time
from types import SimpleNamespace
from typing import Callable, Mapping, NamedTuple, Sequence

import numpy as np

from .. import cpu_kernels, spec
from ..dag_batch import DagStructure, evaluate_fixings, evaluate_fixings_numpy
from ..dag_batch import latency_limits as latency_limits_compiled
from ..edge import violated_path
from ..problem import Problem
from ..reductions import flow_bound, flow_cuts
from ..reductions.flow_bound import FlowLP, cost_grain
from ..reductions.pruning import latency_limits, limit_budget
from ..reductions import residues
from ..reductions.search import PRUNE_TOL
from .leaf import BudgetArrays, Leaf

Choice = dict[str, int]
LP_MIN_NODES = 15  # from this many nodes (measured side by side, docs/fa2.md); tests force 0
# ... and from this many its root LP comes before the plain DP (a dual-ray proof then saves
# the DP; on smaller ones the DP is cheap and usually ends it: budgets that do not bind)
LP_FIRST_NODES = 50
STRONG = 8  # branching candidates scored by their children's LP values (as the flow bound)
LEAF_CHOICES = 4096  # a subproblem of at most this many choices is enumerated (.leaf)
IMPROVE_STEPS = 200  # local-search steps of the primal (improve)
IMPROVE_BATCH = 256  # best-scored moves checked against the SLAs per step
PAIR_MOVES = 32  # pair moves: from the most saving, least using and fastest singles, each
# the local search at subproblems 1, 2, 4, 8, ... and every IMPROVE_EVERY (and without
# incumbent); the interval doubles after each call that found nothing, up to
# IMPROVE_EVERY_MAX, and is reset when one improves the incumbent (on random-100 capacity
# 4 of ~190 calls improved it, and they took a third of the search)
IMPROVE_EVERY = 8
IMPROVE_EVERY_MAX = 64
RELIABLE = 8  # ... until a node has this many observations; then its average rises (2 -> 8:
# random-100 capacity 3,196 -> 1,663 nodes, lattice 8x8 2,404 -> 1,760; 16 gained no more)
# seconds of search after which the compiled SLA pass (dag_batch.evaluate_fixings: same bits
# as the numpy twin) is used, unless the kernels are loaded already: ~0.06 ms a call
# instead of 0.4-1 ms on a 100-node DAG's 50 levels, but its first call loads Numba's cache
# (~0.7 s), which only searches of seconds repay (shared-large 100x5 capacity: 0.9 -> 1.7 s)
NUMBA_AFTER_S = 2.0
# GMI cuts (4) (flow_cuts.gmi_cuts, rounds by flow_bound.gmi_rounds) separated at the root's
# LP once a search is still open at its GMI_AT-th subproblem, then the bound (5). At 128
# (CPU time, one run each, docs/fa2.md): random-100-0 + combined 3.9 -> 1.3 s (3,017 -> 652
# subproblems), + capacity 1.8 -> 1.1 s; at the root (1) lattices 8x8 and shared-large
# 100x5 + capacity lost 20-120 % (searches of 100-500 subproblems that close without them)
GMI = True
GMI_MIN_NODES = 0  # (every problem the LP search takes: it has LP_MIN_NODES nodes or more)
GMI_AT = 128
# ... and at the root itself (the first subproblem) on problems of at least this many nodes,
# where the long searches are: 2026-12-05, scripts/bench_extensions.py's 72 draws of six large
# families with accuracy floors, capacities or both (its 30 of 120-200 nodes changed), fa2's
# total 55 -> 39 s (ladder(100) + accuracy 1,494 -> 128 subproblems, 3.5 -> 0.9 s; the MILP
# 0.8 s); below 100 nodes the root's rounds cost more than they saved (lattices 5x5, vsp 60:
# +20-160 %; docs/fa2.md)
GMI_ROOT_NODES = 100
# rounds of path covers, budget covers and cliques at the root's first LP (_Search.
# cover_rounds) on problems of at least COVER_MIN_FLOWS flows: many-flows 12x10x60 #1 +
# capacity, root bound 1,144 -> 1,264 of 1,297 (the covers of the 60 flows' paths: most of
# it); on one flow (random, lattice, vsp, ladder) they cost as much as they saved (docs/fa2.md)
COVERS = True
COVER_MIN_FLOWS = 2
# reduced-cost fixing at the root's multipliers for every subproblem, at each better
# incumbent (_Search.fix_at_root): many-flows 12x10x60 #3 + accuracy 3,633 -> ~670
# subproblems, ladder(100) #2 + accuracy 7,561 -> ~5,800 (docs/fa2.md)
ROOT_FIXING = True
INF = math.inf


def applies(problem: Problem) -> bool:
    """The LP search is taken: enough nodes, and every node in some flow (the LP's columns
    are the flows' nodes)."""
    inflow = {v for g in problem.flows for v in g.nodes}
    return len(problem.tables) >= LP_MIN_NODES and all(v in inflow for v in problem.tables)


def bound_limit(b: BudgetArrays, limit: float) -> float:
    """``limit`` (the effective limit) widened by the rounding of a sum of the budget's terms
    in any order (:func:`fa2opt.spec.fp_margin_ms` on the largest total use), so every choice
    whose one-order sum is within ``limit`` satisfies the exact inequality with this one."""
    top = math.fsum(float(np.abs(b.use[v]).max()) for v in b.nodes if len(b.use[v]))
    return limit + spec.fp_margin_ms(max(top, abs(limit)), len(b.nodes))


class _Rows(NamedTuple):
    """What :class:`FlowLP` reads of a node's candidates: its allowed rows' L and objective."""

    latency: list
    cost: list

    def __len__(self) -> int:  # the number of rows (not the tuple's two fields)
        return len(self.latency)


class BudgetLP:
    """:class:`FlowLP` over the allowed rows of every node plus one row per budget."""

    def __init__(self, problem: Problem, budgets: Sequence[BudgetArrays],
                 limits: Sequence[float], allowed: Mapping[str, np.ndarray]):
        self.problem = problem
        self.pos = {v: np.asarray(allowed[v], dtype=np.int64) for v in problem.tables}
        cands = {v: _Rows(problem.tables[v].latency_ms[self.pos[v]].tolist(),
                          problem.tables[v].cost[self.pos[v]].tolist())
                 for v in problem.tables}
        flows = [SimpleNamespace(budget_ms=g.budget_ms + spec.fp_margin_ms(g.budget_ms, g.terms))
                 for g in problem.flows]
        self.lp = lp = FlowLP(SimpleNamespace(candidates=cands, flows=flows), list(problem.flows))
        self.n_rows_base = lp.lp.getNumRow()
        # per budget, its use per λ column (0 at nodes outside it)
        self.use = []
        for b in budgets:
            u = np.zeros(lp.n_lam)
            for v in b.nodes:
                i = lp.index[v]
                u[lp.ptr[i]:lp.ptr[i + 1]] = b.use[v][self.pos[v]]
            self.use.append(u)
        self.limits = np.asarray(limits, dtype=float)
        self.use_abs = np.asarray([float(np.abs(u).sum()) for u in self.use])
        idx, val, starts = [], [], []
        for u in self.use:
            starts.append(len(idx))
            nz = np.flatnonzero(u)
            idx.extend(nz.tolist())
            val.extend(u[nz].tolist())
        if self.use:
            lp.lp.addRows(len(self.use), np.full(len(self.use), -1e30), self.limits, len(idx),
                          np.asarray(starts, np.int32), np.asarray(idx, np.int32),
                          np.asarray(val, float))
        lp.n_base_rows = lp.lp.getNumRow()  # cuts follow the budget rows (never dropped)
        # the column of each (node, table position), for turning choices into columns
        self.col = {v: {int(k): int(lp.ptr[lp.index[v]] + j) for j, k in enumerate(self.pos[v])}
                    for v in problem.tables}

    def ub(self, allowed: Mapping[str, np.ndarray]) -> np.ndarray:
        """λ's upper bounds: 1 on the allowed rows, 0 elsewhere."""
        ub = np.zeros(self.lp.n_lam)
        for v, a in allowed.items():
            c = self.col[v]
            ub[[c[int(k)] for k in a]] = 1.0
        return ub

    def infeasible(self, ub: np.ndarray) -> bool:
        """After the LP reported no optimum: whether HiGHS's dual ray (y, μ), checked by the
        formula, proves that no choice meets the SLAs and the budgets: with the costs
        dropped, (1) at (y, μ) is ``g = Σ_v min_k (Y_v L_vk + Σ_b μ_b use_bvk) + Σ_f (Σ_e
        y_fe d_e − |y_f| B_f) − Σ_b μ_b limit''_b``, and (1) at t·(y, μ) is at least
        ``Σ_v min_k c_vk + t·g``; g > 0 (beyond rounding) makes the bound unbounded as
        t → ∞. Both signs of the ray are tried (any one that passes is a proof), each in
        (1)'s form and in (5)'s (every row at its clipped multiplier: (1)'s conservative
        flows lost the path rows of a ray that (5) keeps -- the 10×10 lattice #0 with a
        capacity, its rows within their latency limits: 6,779 subproblems instead of the
        root's proof)."""
        lp = self.lp
        try:
            _, has, ray = lp.lp.getDualRay()
        except Exception:  # noqa: BLE001 (no ray: no proof)
            return False
        if not has:
            return False
        ray = np.asarray(ray, dtype=float)
        for r in (ray, -ray):
            for general in {self.lp.general, True}:
                Y, const, mu, shift = self.multipliers(r, general)
                _, mins = self.columns(Y, mu, ub, costs=False, shift=shift)
                lim = self.budget_term(mu, shift)
                gap = float(mins.sum()) + const - lim
                mag = float(np.abs(mins).sum()) + abs(const) + abs(lim)
                if gap > 1e-9 * mag:
                    return True
        return False

    def bound(self, duals: np.ndarray | None, ub: np.ndarray, parent: tuple | None
              ) -> tuple[float, np.ndarray, np.ndarray, tuple]:
        """(1) -- or (5) once GMI cuts are in the LP -- at the LP's duals (or the parent's
        multipliers, or zero, when ``duals`` is None): the bound, each column's weight (inf
        where excluded), each node's minimum, and the multipliers (Y, const, μ, shift)."""
        if duals is not None:
            Y, const, mu, shift = self.multipliers(duals)
        elif parent is not None:
            Y, const, mu, shift = parent
        else:
            Y, const, mu, shift = np.zeros(len(self.lp.nodes)), 0.0, np.zeros(len(self.use)), None
        w, mins = self.columns(Y, mu, ub, shift=shift)
        # from below (FlowLP.total), the budgets' μ·use and μ·limit'' as extra operands
        mag = 0.0 if shift is not None else spec.dot(mu, np.abs(self.limits) + 2.0 * self.use_abs)
        lb = self.lp.total(mins, const - self.budget_term(mu, shift), mag)
        return lb, w, mins, (Y, const, mu, shift)

    def budget_term(self, mu: np.ndarray, shift: np.ndarray | None) -> float:
        """The budgets' μ·limit that (1) subtracts; 0 in (5) (``shift`` given), whose
        constant holds it already (:meth:`multipliers`)."""
        return 0.0 if shift is not None else spec.dot(mu, self.limits)

    def multipliers(self, duals: np.ndarray, general: bool | None = None
                    ) -> tuple[np.ndarray, float, np.ndarray, np.ndarray | None]:
        """(Y, const, μ, shift) from row duals (or a dual ray). Without GMI cuts: (1)'s flows'
        weights and constant (:meth:`FlowLP.flow_weights`), the budgets' μ ≥ 0 and no shift.
        With them (``lp.general``): the bound (5) of :meth:`FlowLP.lagrange_weights`, which
        relaxes every row but the convexity rows -- the budget rows among them, at the same
        μ_b = max(0, −dual): their μ_b·use_b is in the shift and −μ_b·limit''_b in the
        constant -- so Y = 0 and μ is kept only for the roundings' keys. ``general``: (5)
        even before any GMI cut (None: as the LP is)."""
        mu = np.maximum(-duals[self.n_rows_base:self.n_rows_base + len(self.use)], 0.0)
        if self.lp.general if general is None else general:
            Y, const, _, shift = self.lp.lagrange_weights(duals)
            return Y, const, mu, shift
        Y, const = self.lp.flow_weights(duals)
        return Y, const, mu, None

    def columns(self, Y: np.ndarray, mu: np.ndarray, ub: np.ndarray, costs: bool = True,
                shift: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Each column's weight in (1), ``c + Y_v L + Σ_b μ_b use_b`` (without c for a
        ray), or in (5), ``c + shift`` (the budgets' part inside the shift), inf where ``ub``
        excludes it, and each node's minimum."""
        lp = self.lp
        w = (lp.cost if costs else 0.0) + Y[lp.owner] * lp.lat
        if shift is not None:
            w = w + shift
        else:
            for m, u in zip(mu.tolist(), self.use):
                if m > 0:
                    w = w + m * u
        w = np.where(ub > 0, w, INF)
        return w, np.minimum.reduceat(w, lp.ptr[:-1])


def root_lp(problem: Problem, budgets: Sequence[BudgetArrays], slack_limit: Sequence[float],
            allowed: Mapping[str, np.ndarray]) -> "BudgetLP | None":
    """The :class:`BudgetLP` of the subproblem ``allowed``, its root solved (warm for the
    search); None when its dual ray proves that no choice meets the SLAs and the budgets
    (:meth:`BudgetLP.infeasible`) -- before any DP: on a 120-node graph with six flows
    whose capacity cannot be met, one LP instead of a 2 s base decision. HiGHS stops at the
    deadline in force (:func:`fa2opt.deadline.stop_at`, as every LP of :class:`FlowLP`
    does; the root of a 2,000-node DAG's took 4.6 s past a 1 s limit): then no proof, and
    the caller's search stops at its own check."""
    blp = BudgetLP(problem, budgets, [bound_limit(b, lim) for b, lim in zip(budgets, slack_limit)],
                   allowed)
    ub = np.ones(blp.lp.n_lam)
    solved = blp.lp.solve(ub) is not None
    # stopped: no ray to look for (HiGHS computes one for a stopped LP: 25 s there)
    stopped = not solved and blp.lp.lp.getModelStatus().name == "kTimeLimit"
    if not solved and not stopped and blp.infeasible(ub):
        return None
    return blp


def lp_branch_and_bound(problem: Problem, budgets: Sequence[BudgetArrays],
                        slack_limit: Sequence[float], allowed: Mapping[str, np.ndarray],
                        best: list, offer: Callable[[Choice], object],
                        relax: Callable[[Mapping[str, np.ndarray]], "Choice | None"],
                        leaf: Leaf, deadline: float | None, stats: dict,
                        leaf_choices: int, blp: "BudgetLP | None" = None) -> tuple[str, float | None]:
    """Search the subproblem ``allowed`` by the method of the module doc. ``best`` is the
    caller's [incumbent objective, choice], improved through ``offer`` (which checks the
    budgets); ``relax(allow)``: the DP's optimum of the objective over a subproblem (None:
    no choice meets the SLAs). Returns (``optimal`` | ``time_limit``, the least open bound
    at a time limit). ``blp``: the :func:`root_lp` of the same subproblem, if built."""
    return _Search(problem, budgets, slack_limit, allowed, best, offer, relax, leaf, deadline,
                   stats, leaf_choices, blp).run()


class _Search:
    """The state of one :func:`lp_branch_and_bound`. A subproblem is a bool mask over the
    LP's λ columns (the allowed rows of every node)."""

    def __init__(self, problem, budgets, slack_limit, allowed, best, offer, relax, leaf,
                 deadline, stats, leaf_choices, blp=None):
        self.started = time.perf_counter()
        self.problem, self.budgets, self.best, self.offer = problem, budgets, best, offer
        self.relax, self.leaf, self.deadline, self.stats = relax, leaf, deadline, stats
        self.leaf_choices = leaf_choices
        self.order = list(problem.tables)
        self.blp = blp = blp if blp is not None else BudgetLP(
            problem, budgets, [bound_limit(b, lim) for b, lim in zip(budgets, slack_limit)],
            allowed)
        lp = self.lp = blp.lp
        self.starts = lp.ptr[:-1]
        self.counts = np.diff(lp.ptr)
        self.col_pos = np.concatenate([blp.pos[v] for v in lp.nodes])  # table position per column
        self.node_of = [lp.index[v] for v in self.order]
        # per budget: (its use per column, the node indices in its summation order, limit)
        self.bud = [(u, [lp.index[v] for v in b.nodes], b.limit) for u, b in zip(blp.use, budgets)]
        # columns of nodes whose rows differ in some budget's use (deciding those makes the
        # budgets constants), and the Lagrangian keys of the roundings
        self.varying = np.zeros(lp.n_lam, dtype=bool)
        for u in blp.use:
            lo = np.minimum.reduceat(u, self.starts)
            hi = np.maximum.reduceat(u, self.starts)
            self.varying |= (hi > lo)[lp.owner]
        self.inside = [np.isin(lp.owner, nodes) for _, nodes, _ in self.bud]  # columns in each
        self.use_all = sum(blp.use) if blp.use else np.zeros(lp.n_lam)
        self.dag = DagStructure.from_flows(lp.nodes, problem.flows)
        self.limit_budget = np.asarray([limit_budget(g) for g in problem.flows], dtype=float)
        self.blp_use_matrix = np.vstack(blp.use) if blp.use else np.zeros((0, lp.n_lam))
        self.pseudo = np.zeros((len(lp.nodes), 3))
        self.grain = cost_grain(lp.cost)  # Σ gain down, Σ gain up, observations
        self.residues = residues.split(lp.cost, lp.ptr)  # off the grain at a few nodes
        self.gmi = GMI and len(lp.nodes) >= GMI_MIN_NODES  # GMI rounds still to come
        self.gmi_at = 1 if len(lp.nodes) >= GMI_ROOT_NODES else GMI_AT
        # the cover rounds at the root's first LP still to come
        self.covers = COVERS and len(problem.flows) >= COVER_MIN_FLOWS
        # per budget whose uses are all ≥ 0: its use per column, its nodes as a chain in the
        # plan form of FlowLP.flows (what cover_cuts walks), and its row's limit''
        self.budget_chains = [
            (u, ([(i, 0 if j == 0 else -1, [] if j == 0 else [(j - 1, 0, 0.0)], -1,
                   j == len(nodes) - 1) for j, i in enumerate(nodes)], 0.0), float(limit))
            for (u, nodes, _), limit in zip(self.bud, blp.limits.tolist())
            if nodes and (u >= 0).all()]
        self.root_ub: np.ndarray | None = None
        # the rows that may still be in a choice better than the incumbent (fix_at_root), and
        # the root's (weights, least weight per node, bound, budgets' μ) they are judged by
        self.keep = np.ones(lp.n_lam, dtype=bool)
        self.root_fix: tuple | None = None

    def separate(self, ub: np.ndarray, sol: tuple) -> tuple | None:
        """GMI rounds (4) at the root (:func:`~fa2opt.reductions.flow_bound.gmi_rounds`;
        ``ub``: the root's bounds, every row of the caller's subproblem the exact tests left,
        so every cut holds for every choice of it meeting the SLAs and budgets), within
        the deadline. From then on the bound is (5). Returns the last (λ, duals), or None
        when HiGHS reports no optimum."""
        t0 = time.perf_counter()
        self.stats["lp_root_lp"] = self.lp.value
        sol = flow_bound.gmi_rounds(self.lp, ub, sol, self.deadline)
        self.stats["lp_gmi_rows"] = self.lp.lp.getNumRow() - self.lp.n_base_rows
        self.stats["lp_gmi_s"] = time.perf_counter() - t0
        return sol

    def cover_rounds(self, ub: np.ndarray, sol: tuple) -> tuple | None:
        """Rounds of cuts at the root's first LP (``ub``: its bounds): the flow bound's path
        covers (3) and cliques (6) (:func:`~fa2opt.reductions.flow_cuts.cover_cuts`,
        :meth:`FlowLP.cliques`) and the covers of each budget row (the same ``cover_cuts``
        over a chain of the budget's nodes, their uses as the lengths: a budget row is a
        multiple-choice knapsack as a path is). Every cut is global (its fastest rows are
        the LP's, whatever ``ub``). The rounds are those of
        :func:`~fa2opt.reductions.flow_bound.cut_rounds` (each added in (5)'s mode; at most
        ``MAX_ROUNDS`` rounds and ``MAX_CUTS`` cuts; the slack ones dropped after). Returns
        the last (λ, duals), or None when HiGHS reports no optimum."""
        lp = self.lp
        widened = lp.widened_budgets(1.0)
        first, added = lp.value, 0

        def separate(lam: np.ndarray) -> int:
            nonlocal added
            cuts = flow_cuts.cover_cuts(lp.lat, lp.ptr, lp.flows, widened, lam)[0]
            for u, chain, limit in self.budget_chains:
                cuts += flow_cuts.cover_cuts(u, lp.ptr, [chain], np.asarray([limit]), lam)[0]
            cuts += lp.cliques(lam)
            lp.add_cuts(cuts, general=True)
            added += len(cuts)
            return len(cuts)

        sol = flow_bound.cut_rounds(lp, ub, sol, separate, self.deadline, flow_cuts.MAX_ROUNDS,
                                    flow_cuts.MAX_CUTS)
        self.stats["lp_cover_rows"] = added
        self.stats["lp_cover_gain"] = (lp.value - first) if sol is not None else None
        return sol

    def root_multipliers(self, duals: np.ndarray) -> tuple:
        """``root_fix`` from the root's duals: (1) or (5) at them over the root's rows."""
        lb, w, mins, mult = self.blp.bound(duals, self.root_ub, None)
        return w, mins, lb, mult[2]

    def unfixed(self, w: np.ndarray, mins: np.ndarray, own: float, mu: np.ndarray,
                ub: np.ndarray) -> np.ndarray:
        """Reduced-cost fixing at multipliers whose bound is ``own`` (``w``: each column's
        weight, ``mins``: each node's least, ``mu``: the budgets' multipliers) over the
        subproblem ``ub``: per column, whether its forced bound ``own + w − min`` (less the
        rounding allowance, the budgets' 4·μ·|use| in it: :meth:`FlowLP.reduced_slack`) stays
        below the incumbent less ``tol`` (the residues' threshold where the objectives are
        on a grain but at a few nodes)."""
        lp = self.lp
        top = self.best[0] - self.tol()
        if self.residues is not None:
            top = residues.threshold(self.residues, top, ub)
        extra = 4.0 * sum((x * np.abs(u) for x, u in zip(mu.tolist(), self.blp.use) if x > 0),
                          np.zeros(lp.n_lam))
        return w - mins[lp.owner] - lp.reduced_slack(w, mins, extra) < top - own

    def fix_at_root(self) -> bool:
        """Reduced-cost fixing (:meth:`unfixed`) at the root's multipliers (``root_fix``: each
        column's weight, each node's least, the bound, the budgets' μ) against the incumbent,
        for every subproblem: a row whose forced bound reaches the incumbent (less ``tol``) is in
        no better choice of the root, so in none of any subproblem's (HiGHS fixes at its
        root likewise before it restarts). Rows only leave ``keep``; False when a node has
        none left: no choice beats the incumbent."""
        keep = self.keep & self.unfixed(*self.root_fix, self.root_ub)
        if not self.count(keep).all():
            return False
        self.stats["lp_root_fixed"] = int((~keep).sum())
        self.keep = keep
        return True

    def evaluate(self, lat: np.ndarray):
        """The SLA pass of :mod:`fa2opt.dag_batch` over the rows of ``lat`` (B, V): the
        compiled kernel once the search has run ``NUMBA_AFTER_S`` or the kernels are loaded, else
        the numpy twin (same bits either way)."""
        if self.compiled():
            return evaluate_fixings(self.dag, lat, np.zeros_like(lat))
        return evaluate_fixings_numpy(self.dag, lat, np.zeros_like(lat))

    def compiled(self) -> bool:
        """Whether the compiled passes serve this search: loaded in this process, or the
        search has run ``NUMBA_AFTER_S`` (then a first call may load them)."""
        return cpu_kernels.warmed() or (time.perf_counter() - self.started > NUMBA_AFTER_S
                                        and cpu_kernels.available())  # (imports Numba: ~0.3 s)

    def limits(self, fast: np.ndarray) -> np.ndarray:
        """Each LP node's latency limit with every other node at its latency ``fast`` (LP node
        order): :func:`~fa2opt.reductions.pruning.latency_limits`, compiled where
        :meth:`compiled` (:func:`fa2opt.dag_batch.latency_limits`, the same bits)."""
        if self.compiled():
            return latency_limits_compiled(self.dag, fast, self.limit_budget)
        limit = latency_limits(self.problem, dict(zip(self.lp.nodes, fast.tolist())))
        return np.asarray([limit[v] for v in self.lp.nodes])

    # -- masks ---------------------------------------------------------------------------
    def allow(self, m: np.ndarray) -> dict[str, np.ndarray]:
        lp = self.lp
        return {v: self.col_pos[lp.ptr[i]:lp.ptr[i + 1]][m[lp.ptr[i]:lp.ptr[i + 1]]]
                for v, i in zip(self.order, self.node_of)}

    def count(self, m: np.ndarray) -> np.ndarray:
        return np.add.reduceat(m.astype(np.int64), self.starts)

    def choice(self, cols: np.ndarray) -> Choice:
        """One column per LP node → table positions by node name."""
        return {v: int(self.col_pos[cols[i]]) for v, i in zip(self.order, self.node_of)}

    def argmin(self, key: np.ndarray, m: np.ndarray) -> np.ndarray:
        """Per node, the first allowed column of least ``key``."""
        k = np.where(m, key, INF)
        low = np.minimum.reduceat(k, self.starts)
        hit = np.flatnonzero(k <= low[self.lp.owner])
        own = self.lp.owner[hit]  # non-decreasing: the first hit of each node starts a run
        first = np.ones(len(hit), dtype=bool)
        first[1:] = own[1:] != own[:-1]
        return hit[first]

    def tol(self) -> float:
        """How far below the incumbent a bound must be to keep a subtree: ``PRUNE_TOL``, or
        almost the cost grain when every row's objective is a multiple of it
        (:func:`~fa2opt.reductions.flow_bound.cost_grain`: then nothing better than the
        incumbent has an objective above incumbent − grain)."""
        b = self.best[0]
        if not math.isfinite(b):
            return 0.0
        scale = max(1.0, abs(b))
        return max(PRUNE_TOL * scale, self.grain - 1e-9 * scale)

    def tighten(self, m: np.ndarray) -> np.ndarray | None:
        """The per-row budget bounds (a row that breaks a budget with every other node at
        its least use leaves; compared with a margin over the sums' rounding, as
        :func:`.leaf.tighten`), then the exact tests: every budget at its least use (in its
        summation order), the SLAs at the fastest allowed rows; then the latency limits
        (:func:`~fa2opt.reductions.pruning.latency_limits`) at the fastest allowed rows: a
        row that breaks a flow's widened budget with every other node at its fastest allowed
        row leaves. None: no choice left."""
        owner = self.lp.owner
        for (u, nodes, limit), inside in zip(self.bud, self.inside):
            low = np.minimum.reduceat(np.where(m, u, INF), self.starts)
            total = math.fsum(low[nodes])
            mag = math.fsum(np.abs(low[nodes]))
            if not math.isfinite(total):
                return None  # a node of the budget has no row left
            lows = np.where(inside, low[owner], 0.0)
            keep = total - lows + u <= limit + spec.sum_slack(len(nodes), mag + np.abs(u))
            m = m & (keep | ~inside)
        cnt = self.count(m)
        if not cnt.all():
            return None
        for u, nodes, limit in self.bud:
            low = np.minimum.reduceat(np.where(m, u, INF), self.starts)
            if spec.left_sum_array(low[nodes]) > limit:  # (budget_sum's order: nodes')
                return None
        first = np.minimum.reduceat(np.where(m, np.arange(len(m)), len(m)), self.starts)
        fast = self.lp.lat[first]  # (columns are in table order: each node's fastest row)
        if not self.evaluate(fast[None, :]).ok[0]:
            return None
        m = m & (self.lp.lat <= self.limits(fast)[owner])
        return m if self.count(m).all() else None

    # -- the steps of a subproblem -------------------------------------------------------
    def roundings(self, lam: np.ndarray, mu: np.ndarray, m: np.ndarray, improve: bool) -> None:
        """Offer each rounding of the LP point (module doc) that meets the SLAs (``offer``
        checks the budgets)."""
        lp = self.lp
        ell = np.add.reduceat(lam * lp.lat, self.starts)
        ell += 1e-9 * np.maximum(1.0, np.abs(ell))
        fits = m & (lp.lat <= ell[lp.owner])
        fits |= m & ~np.logical_or.reduceat(fits, self.starts)[lp.owner]  # (none: any)
        lag = lp.cost.copy()
        for mm, u in zip(mu.tolist(), self.blp.use):
            if mm > 0:
                lag = lag + mm * u
        picks = {self.argmin(key, fits).tobytes(): None
                 for key in (lag, lp.cost, self.use_all, -lam)}  # the distinct ones, in order
        for raw in picks:  # at most four: the rule itself (a batch pass costs more here)
            cols = np.frombuffer(raw, dtype=np.int64)
            if self.hopeless(cols):
                continue
            x = self.choice(cols)
            if self.problem.meets_slas(x):
                self.offer(x)  # (checks the budgets)
        if improve or not math.isfinite(self.best[0]):
            self.improve(self.argmin(lag, fits), m)
        if not math.isfinite(self.best[0]):  # still no incumbent: repair the least-use rounding
            self.improve(self.argmin(self.use_all, fits), m)

    def hopeless(self, cols: np.ndarray) -> bool:
        """Whether the choice ``cols`` (one column per LP node) certainly cannot become the
        incumbent: its objective is not below the incumbent's, or it breaks a budget, each
        by more than a bound on the rounding of the sums (:func:`fa2opt.spec.sum_slack`), so
        ``offer``, which sums in its own order, would refuse it too. Saves the SLA test."""
        n = len(cols)
        c = self.lp.cost[cols]
        if float(c.sum()) >= self.best[0] + spec.sum_slack(n, float(np.abs(c).sum()) + abs(self.best[0])):
            return True
        for u, _, limit in self.bud:
            x = u[cols]
            if float(x.sum()) > limit + spec.sum_slack(n, float(np.abs(x).sum()) + abs(limit)):
                return True
        return False

    def improve(self, cols: np.ndarray, m: np.ndarray) -> None:
        """Local search from a choice meeting the SLAs (one column per LP node): while some
        budget is broken, the single move (one node to another allowed row) that removes
        most excess per unit of objective; then, within the budgets, the move that saves
        most, or else the best saving pair (:meth:`pair_move`); moves kept only when they meet the SLAs, evaluated in one batch per step by
        :meth:`evaluate` (the spec's rule, same bits). The
        result is offered (``offer`` re-checks everything exactly). O(steps · moves · (V +
        S + E)); at most ``IMPROVE_STEPS`` steps."""
        lp, owner = self.lp, self.lp.owner
        cur = cols.copy()
        cand = np.flatnonzero(m)
        if not self.bud or not len(cand):
            return
        U = self.blp_use_matrix
        limits = np.asarray([lim for _, _, lim in self.bud])
        scale = np.maximum(1.0, np.abs(limits))
        for _ in range(IMPROVE_STEPS):
            if self.deadline is not None and time.perf_counter() > self.deadline:
                break
            mv = cand[cand != cur[owner[cand]]]
            if not len(mv):
                break
            old = cur[owner[mv]]
            used = U[:, cur].sum(axis=1)
            exc = float((np.maximum(used - limits, 0.0) / scale).sum())
            new = used[:, None] + U[:, mv] - U[:, old]
            exc_new = (np.maximum(new - limits[:, None], 0.0) / scale[:, None]).sum(axis=0)
            d_obj = lp.cost[mv] - lp.cost[old]
            if exc > 0:
                gain = exc - exc_new
                ok = gain > 1e-12
                score = np.where(ok, d_obj / np.where(ok, gain, 1.0), INF)
            else:
                obj = float(lp.cost[cur].sum())
                ok = (exc_new <= 0) & (d_obj < -1e-12 * max(1.0, abs(obj)))
                score = np.where(ok, d_obj, INF)
            idx = np.flatnonzero(ok)
            if len(idx):
                idx = idx[np.argsort(score[idx], kind="stable")][:IMPROVE_BATCH]
                lat = np.tile(lp.lat[cur], (len(idx), 1))
                lat[np.arange(len(idx)), owner[mv[idx]]] = lp.lat[mv[idx]]
                ev = self.evaluate(lat)
                if ev.ok.any():
                    c = mv[idx[int(np.argmax(ev.ok))]]  # the best-scored move meeting the SLAs
                    cur[owner[c]] = c
                    continue
            if not self.pair_move(cur, mv, old, new, d_obj, limits, exc):
                break
        x = self.choice(cur)
        if self.problem.meets_slas(x):
            self.offer(x)

    def pair_move(self, cur: np.ndarray, mv: np.ndarray, old: np.ndarray, new: np.ndarray,
                  d_obj: np.ndarray, limits: np.ndarray, exc: float) -> bool:
        """Without a useful single move: the best pair of single moves at two nodes (among
        the ``PAIR_MOVES`` that save most, use least or are fastest) that meets the SLAs and,
        while a budget is broken (``exc`` > 0, the scaled excess), removes most excess per
        unit of objective, else saves most within every budget; applied to ``cur``.
        Whether one was found."""
        lp, owner = self.lp, self.lp.owner
        used = new[:, 0] - (self.blp_use_matrix[:, mv[0]] - self.blp_use_matrix[:, old[0]])
        du = new - used[:, None]  # (budgets, moves): each move's change of use
        k = PAIR_MOVES
        pool = np.unique(np.concatenate([
            np.argsort(d_obj, kind="stable")[:k],
            np.argsort((du / np.maximum(1.0, np.abs(limits))[:, None]).sum(axis=0), kind="stable")[:k],
            np.argsort(lp.lat[mv] - lp.lat[old], kind="stable")[:k]]))
        a, b = np.meshgrid(pool, pool, indexing="ij")
        a, b = a.ravel(), b.ravel()
        keep = (a < b) & (owner[mv[a]] != owner[mv[b]])
        a, b = a[keep], b[keep]
        obj = float(lp.cost[cur].sum())
        gain = d_obj[a] + d_obj[b]
        after = used[:, None] + du[:, a] + du[:, b]
        if exc > 0:  # repair: excess removed per unit of objective
            scale = np.maximum(1.0, np.abs(limits))[:, None]
            less = exc - (np.maximum(after - limits[:, None], 0.0) / scale).sum(axis=0)
            ok = less > 1e-12
            gain = np.where(ok, gain / np.where(ok, less, 1.0), INF)
        else:
            ok = gain < -1e-12 * max(1.0, abs(obj))
            ok &= (after <= limits[:, None]).all(axis=0)
        idx = np.flatnonzero(ok)
        if not len(idx):
            return False
        idx = idx[np.argsort(gain[idx], kind="stable")][:IMPROVE_BATCH]
        lat = np.tile(lp.lat[cur], (len(idx), 1))
        r = np.arange(len(idx))
        lat[r, owner[mv[a[idx]]]] = lp.lat[mv[a[idx]]]
        lat[r, owner[mv[b[idx]]]] = lp.lat[mv[b[idx]]]
        ev = self.evaluate(lat)
        if not ev.ok.any():
            return False
        j = idx[int(np.argmax(ev.ok))]
        cur[owner[mv[a[j]]]] = mv[a[j]]
        cur[owner[mv[b[j]]]] = mv[b[j]]
        return True

    def probe(self, m: np.ndarray) -> tuple[float, float | None]:
        """The LP of the subproblem ``m`` for strong branching: (its value, to score the
        branch; the bound (1) at its duals, valid for that subproblem whatever the LP's
        tolerances, inf when a dual ray proves it empty, None when unknown)."""
        ub = m.astype(float)
        sol = self.lp.solve(ub)
        if sol is None:
            return INF, (INF if self.blp.infeasible(ub) else None)
        return self.lp.value, self.blp.bound(sol[1], ub, None)[0]

    def edge_split(self, m: np.ndarray, lam: np.ndarray) -> list[np.ndarray] | None:
        """Where the LP point is integral (one row per node) and that choice x breaks the
        SLA rule -- it meets the flows' budgets widened by the float margin, not the rule:
        the SLA's edge -- the children that hold every choice of the subproblem but x's
        no-good orthant along the path it breaks (:func:`fa2opt.edge.orthant_partition` on
        the rows' latencies: child i keeps the path's nodes before i at rows no faster than
        x's and node i at rows faster than x's; every choice at least as slow as x at each
        node of the path breaks that flow too). Halving a node's rows (:meth:`branch`'s
        fallback) leaves x in one child, whose LP finds it again: a 76-node instance with
        its SLAs at the last ulp ran past 60 s so (docs/fa2.md). None where the point is
        fractional or meets the rule (then :meth:`branch` halves)."""
        lp = self.lp
        cols = self.argmin(-np.where(m, lam, 0.0), m)
        if not np.all(lam[cols] > 1.0 - 1e-9):
            return None
        x = self.choice(cols)
        if self.problem.meets_slas(x):
            return None
        children, rest = [], m.copy()
        for v in violated_path(self.problem, x):
            i = lp.index[v]
            a, b = int(lp.ptr[i]), int(lp.ptr[i + 1])
            faster = lp.lat[a:b] < lp.lat[cols[i]]
            if (rest[a:b] & faster).any():
                child = rest.copy()
                child[a:b] &= faster
                children.append(child)
            rest[a:b] &= ~faster
        return children

    def branch(self, m: np.ndarray, lam: np.ndarray | None, lb: float
               ) -> list[tuple[np.ndarray, float | None]]:
        """Two children cutting off the LP point, at a node where λ is fractional: its rows
        (table order, i.e. by L) up to the middle of the λ mass, and the rest. The node:
        among the ``STRONG`` most fractional, the one whose children's LP values rise most
        (product), by strong branching until it has ``RELIABLE`` observations, then by its
        average observed rises (reliability branching, as the flow bound does). Without a
        fractional node (or an LP), the node with most rows is halved. Each child comes
        with its bound (1) where strong branching solved its LP (else None): the caller
        drops a child whose bound reaches the incumbent and queues the others by it."""
        lp = self.lp
        cuts = []  # (fractionality, node index, first child's mask)
        if lam is not None:
            # within the primal tolerance a basic column fixed at 0 may hold ~1e-8: only the
            # subproblem's columns count, so that both children are strictly smaller
            lam = np.where(m, lam, 0.0)
            frac = 1.0 - np.maximum.reduceat(lam, self.starts)
            for i in np.flatnonzero(frac > 1e-9).tolist():
                a, b = int(lp.ptr[i]), int(lp.ptr[i + 1])
                x = lam[a:b]
                sup = np.flatnonzero(x > 1e-9)
                if len(sup) < 2:
                    continue
                mass = np.cumsum(x[sup])
                cut = a + sup[int(np.clip(np.searchsorted(mass, 0.5 * mass[-1]), 0, len(sup) - 2))]
                low = m.copy()
                low[cut + 1:b] = False
                cuts.append((float(frac[i]), i, low, cut, a, b))
        if cuts:
            cuts.sort(key=lambda c: -c[0])
            best_c, best_score, best_bounds = cuts[0], -1.0, (None, None)
            for c in cuts[:STRONG] if len(cuts) > 1 else ():
                _, i, low, cut, a, b = c
                high = m.copy()
                high[a:cut + 1] = False
                seen = self.pseudo[i]
                bounds: tuple = (None, None)
                if seen[2] >= RELIABLE:
                    gains = (seen[0] / seen[2], seen[1] / seen[2])
                else:
                    probes = [self.probe(k) for k in (low, high)]
                    gains = tuple(min(max(v - lb, 1e-9), 1e9) for v, _ in probes)
                    bounds = tuple(bd for _, bd in probes)
                    self.pseudo[i] += (gains[0], gains[1], 1)
                    self.stats["lp_strong"] = self.stats.get("lp_strong", 0) + 1
                score = max(gains[0], 1e-9) * max(gains[1], 1e-9)
                if score > best_score:
                    best_c, best_score, best_bounds = c, score, bounds
            _, i, low, cut, a, b = best_c
            high = m.copy()
            high[a:cut + 1] = False
            return [(low, best_bounds[0]), (high, best_bounds[1])]
        if lam is not None:
            edge = self.edge_split(m, lam)
            if edge is not None:
                return [(child, None) for child in edge]
        cnt = self.count(m)
        i = int(np.argmax(cnt))
        if cnt[i] < 2:
            return []
        a, b = int(lp.ptr[i]), int(lp.ptr[i + 1])
        on = a + np.flatnonzero(m[a:b])
        low, high = m.copy(), m.copy()
        low[on[len(on) // 2:]] = False
        high[on[:len(on) // 2]] = False
        return [(low, None), (high, None)]

    def run(self) -> tuple[str, float | None]:
        lp, best, stats = self.lp, self.best, self.stats
        root = np.zeros(lp.n_lam, dtype=bool)
        root[:] = True  # every column is an allowed row of the caller's subproblem
        heap: list = [(-INF, 0, root, None)]
        tick = 1
        timed_out = False
        every, next_improve = IMPROVE_EVERY, IMPROVE_EVERY  # the local search's schedule
        fixed_at = INF  # the incumbent fix_at_root last judged by
        while heap:
            parent_lb, _, m, parent = heapq.heappop(heap)
            if parent_lb >= best[0] - self.tol():
                continue
            if self.deadline is not None and time.perf_counter() > self.deadline:
                heapq.heappush(heap, (parent_lb, 0, m, parent))
                timed_out = True
                break
            stats["lp_nodes"] = stats.get("lp_nodes", 0) + 1
            if ROOT_FIXING and self.root_fix is not None and best[0] < fixed_at:
                fixed_at = best[0]
                if not self.fix_at_root():
                    break  # no row of some node can be in a better choice: the incumbent is optimal
            m = self.tighten(m & self.keep)
            if m is None:
                continue
            cnt = self.count(m)
            if math.prod(cnt.tolist()) <= self.leaf_choices:  # the enumeration leaf
                allow = self.allow(m)
                finished, x = self.leaf.best(allow, best[0], self.leaf.multipliers(allow), None,
                                             self.deadline)
                if x is not None:
                    self.offer(x)
                if finished:
                    stats["bb_leaves"] += 1
                    continue
            if not (m & self.varying).any() or (cnt[lp.owner[m & self.varying]] == 1).all():
                x = self.relax(self.allow(m))  # the budgets are constants: the DP decides
                stats["lp_dp_leaves"] = stats.get("lp_dp_leaves", 0) + 1
                if x is not None:
                    self.offer(x)
                continue
            ub = m.astype(float)
            if self.root_ub is None:
                self.root_ub = ub  # the root's bounds: where the GMI rounds are separated
            if self.gmi and stats["lp_nodes"] >= self.gmi_at:
                self.gmi = False  # once
                root = lp.solve(self.root_ub)
                if root is not None:
                    root = self.separate(self.root_ub, root)
                if root is not None:  # the root's bound with the cuts: judge the rows again
                    self.root_fix = self.root_multipliers(root[1])
                    fixed_at = INF
            sol = lp.solve(ub)
            if self.covers and sol is not None:  # the root's first LP
                self.covers = False
                sol = self.cover_rounds(ub, sol)
            lam, duals = (sol if sol is not None else (None, None))
            if sol is None and self.blp.infeasible(ub):
                stats["lp_farkas"] = stats.get("lp_farkas", 0) + 1
                continue  # proven: no choice of this subproblem meets the SLAs and budgets
            lb, w, mins, mult = self.blp.bound(duals, ub, parent)
            own, lb = lb, max(lb, parent_lb)  # fixing needs the bound of these multipliers
            if self.root_fix is None and duals is not None and ub is self.root_ub:
                self.root_fix = (w, mins, own, mult[2])
            if "lp_root_bound" not in stats:
                stats["lp_root_bound"] = lb
            if lam is not None:
                n = stats["lp_nodes"]
                local = n & (n - 1) == 0 or n >= next_improve
                before = best[0]
                self.roundings(lam, mult[2], m, local)
                if local:
                    every = IMPROVE_EVERY if best[0] < before else min(2 * every, IMPROVE_EVERY_MAX)
                    next_improve = n + every
            top = best[0] - self.tol()
            if self.residues is not None:  # the objectives' classes modulo the grain
                lb = residues.round_up(self.residues, lb, ub, top)
            if lb >= top:
                continue
            if math.isfinite(best[0]):  # reduced-cost fixing
                keep = m & self.unfixed(w, mins, own, mult[2], ub)
                if not self.count(keep).all():
                    continue
                if (keep != m).any():  # rows left: the LP again on what remains
                    heapq.heappush(heap, (lb, tick, keep, mult))
                    tick += 1
                    continue
            for child, child_lb in self.branch(m, lam, own):
                if child_lb is not None:
                    if child_lb >= best[0] - self.tol():
                        stats["lp_strong_pruned"] = stats.get("lp_strong_pruned", 0) + 1
                        continue  # its own LP's bound (1) already prunes it
                    child_lb = max(lb, child_lb)
                heapq.heappush(heap, (lb if child_lb is None else child_lb, tick, child, mult))
                tick += 1
        if math.isfinite(best[0]) and "lp_root_bound" in stats:
            stats["lp_root_gap"] = (best[0] - stats["lp_root_bound"]) / max(1.0, abs(best[0]))
        if timed_out:
            low = min([h[0] for h in heap] + [best[0]])
            return "time_limit", low if math.isfinite(low) else None
        return "optimal", None
