"""The search over coupling nodes: exact, by branch and bound over their configurations.

Given a :class:`~fa2opt.reductions.decouple.DecoupledProblem`, the optimum is

    min over candidates k_w of every coupling node w of
        Σ_w c_w(k_w) + Σ_f R_f(k)                                            (1)

where ``R_f(k)`` is the least cost of flow f's other nodes meeting S_f with the coupling
nodes' latencies fixed -- an independent series-parallel problem in which every node occurs
once, solved by a *remainder solver* (the exact Pareto DP, :func:`fa2opt.pareto.
pareto_remainder`, or any other curve arithmetic with the same signature).

**Components.** Flows linked by coupling nodes form connected components; (1) separates
over them, so each component is searched on its own and the results add up.

**Lagrangian cost splitting** (an arithmetic that declares ``prices``,
:class:`fa2opt.arithmetic.Arithmetic`, e.g. the Pareto DP's ``EXACT_FRONTS``). Give every
flow f its own copy of each coupling node w in it, and split w's cost over the copies:
prices ``q_{w,f}(k)`` with ``Σ_f q_{w,f}(k) = c_w(k)`` for every candidate k (a node with
several leaves in one flow -- duplicated by the non-SP reduction -- has one copy per leaf
instead: its leaves are renamed to aliases, :func:`~fa2opt.reductions.sptree.
split_leaves`, each with its own prices, so the remainder reports each leaf's choice and
their disagreement is priced too). Dropping the agreement
of the copies,

    LB(q) = Σ_fixed c_w + Σ_f min over f's copies and other nodes (Σ_w q_{w,f}(k) + rest_f)

is a lower bound for *any* such split (on agreeing choices both objectives are equal), and
exact when the copies of the minimisers agree. The split is improved by projected
subgradient ascent on the agreement constraints (Lagrangian decomposition; Guignard &
Kim 1987): with ``x_{w,f}(k) = 1`` when f's copy of w picked k, the step
``q_{w,f}(k) += t (x_{w,f}(k) − mean_g x_{w,g}(k))`` (keeping the sums) raises the price of
what a copy picked where the others did not; Polyak steps ``t = θ (UB − LB) / ‖d‖²``,
θ halved after ``STALL`` iterations without improvement (``stall_after``: the copy split's
retries in :meth:`.flow_bound.LPSearch.hand_over` wait longer); the best split found is kept.
A step moves only the prices of nodes whose copies disagree, so only the flows with a copy
of one are solved again (the others' relaxed solutions stand).
Each relaxed solution gives a feasible one for free: every coupling node takes the
*fastest* of its copies' choices (no flow's latency rises, so every flow's relaxed choice
stays within its SLA) and the remainders are re-solved -- the upper bound UB. When all
copies agree (and that choice's exact value equals the bound) the subtree is solved: an
exact early exit. Otherwise the search branches on the coupling node whose copies disagree
most (largest cost spread), one child per candidate, each child bounded with the parent's
split (warm start; only the flows containing the fixed node are re-solved), visited in
bound order and then tightened by ``NODE_ITERS`` more steps (``ROOT_ITERS`` at the root).

The ascent starts from the equal split (each copy pays ``c_w / n_w``), or -- when the
flow-bound search hands a component over (:meth:`.flow_bound.LPSearch.hand_over`) -- from
the split its root LP's flows give (:meth:`_LagrangianSearch.latency_prices`), which is at
least the LP's bound before the first step.

**Equal split** (any other arithmetic or plain remainder solver, e.g. the grid DP): each
leaf of an unfixed coupling node w chooses freely at cost ``c_w / n_w`` (n_w = w's leaves over all flows) --
the split above without the ascent -- with coupling nodes branched in the decoupling's order
(most leaves first) and remainder results memoised per flow on its own coupling nodes'
(partial) fixing.

**Every fixing** (an arithmetic that declares ``fronts``, the exact one): a component whose
coupling space is at most ``FIXING_MAX_SPACE`` (and at least ``FIXING_MIN_SPACE`` when it
has a single coupling node) and whose trees are small is decided by evaluating its fixings on fronts shared between them instead
(:mod:`fa2opt.reductions.fixing`).

**Single candidates.** A coupling node left with one candidate (after pruning) is fixed to
it before either search, not branched on: a level with one child decides nothing, and in
the equal split its leaves' shares of c_w already add to c_w, so its bound is the same; on a
dense DAG whose nodes mostly have one row that was a level per node, each bound a DP over
every flow (:func:`pinned`).

Both are exact: a subtree is pruned only when a valid lower bound is not below the
incumbent (less a 1e-10 relative tolerance). Worst case exponential in the number of
coupling nodes (the problem with shared nodes is NP-hard like the discrete time-cost
trade-off); the Lagrangian bound makes flows that share most of their nodes (a flow over a
prefix of another's pipeline) decide at the root or after a few branches. Without coupling
nodes the search is one remainder solve per flow.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Callable, Generator, Mapping, Protocol

import numpy as np

from .. import pareto
from ..arithmetic import DECLINED, as_arithmetic
from ..cpu_kernels import load_when_cached
from ..deadline import passed as past_dp_deadline
from ..edge import enumerate_orthants
from ..spec import critical_path
from .decouple import DecoupledProblem, linked_flows
from .pruning import Candidates
from .sptree import (Delay, SPTree, Suspended, count_leaves, leaf_fixer, split_leaves,
                     trampoline)

INF = float("inf")
ROOT_ITERS = 30  # subgradient steps at the root of a component's search
NODE_ITERS = 8  # further steps at every other search node (warm-started)
STALL = 4  # steps without a better bound before the step factor θ is halved
# Components with at most this many coupling combinations use the equal split (a few
# memoised remainder solves beat the ascent's dozens there; measured in docs/fa2.md).
LAGRANGE_MIN_SPACE = 4
FLOW_BOUND = True  # large components: the flow-bound search (.flow_bound)
# ... from this many coupling nodes (below it the copy split's few DP solves beat the LP's
# set-up; measured side by side on the dense and shared families and small non-SP DAGs,
# docs/fa2.md)
FLOW_MIN_COUPLING = 6
FLOW_WIDE = 62  # ... or from a coupling node with more candidates than this (_use_flow_bound)
# Components whose coupling space (Π_w candidates) is at most FIXING_MAX_SPACE, every tree
# small, are decided by evaluating every fixing on shared fronts (.fixing) when the
# arithmetic declares ``fronts`` -- unless the space is below FIXING_MIN_SPACE with a single
# coupling node (one or two remainder solves either way: nothing to share, 0.7-1.2x the
# search). Measured by scripts/bench_fixing.py (docs/fa2.md): median 0.2-0.5x the searches'
# time from 3 to 1,024 fixings (worst 1.4x on one of 63 components), 0.04-0.86x at 1-2
# fixings over several coupling nodes, median 0.7x but up to 2.7x above 1,024
FIXING_MIN_SPACE = 3
FIXING_MAX_SPACE = 1024
PRUNE_TOL = 1e-10  # relative: prune when bound ≥ incumbent − tol (matching allows 1e-9)


class RemainderSolver(Protocol):
    """Solve one flow's series-parallel remainder.

    ``fixed[v]``: candidate index of a fixed node (its leaves are fixed latencies, its cost is
    counted by the caller); every other leaf chooses freely among ``candidates[v]`` at cost
    ``weight.get(v, 1) · cost``. An :class:`~fa2opt.arithmetic.Arithmetic` that declares
    ``prices`` also takes a sequence as ``weight[v]``: per-candidate prices that replace v's
    costs (any reals, not necessarily falling with latency); the search then uses the
    Lagrangian cost split. Return ``(least weighted cost, {leaf node: candidate index})``
    with the expression's value ≤ ``budget_ms``, or None when nothing meets it.
    An inexact solver may return an upper bound (a feasible choice); the search is then a
    heuristic and the caller must not claim optimality.
    """

    def __call__(self, tree: SPTree, budget_ms: float, candidates: Mapping[str, Candidates],
                 fixed: Mapping[str, int] | None = None,
                 weight: Mapping[str, Any] | None = None) -> tuple[float, dict[str, int]] | None: ...


@dataclass
class SearchResult:
    """``cost``: the optimum of (1) plus the free nodes; ``choice``: a candidate index for
    every node; ``explored``: search nodes whose bound was computed; ``solves``: remainder
    solves (memo misses); ``stats``: ``components`` and ``root_gap`` (the relative gap
    between the best root bound and the optimum, summed over components)."""

    cost: float
    choice: dict[str, int]
    explored: int = 0
    solves: int = 0
    stats: dict = field(default_factory=dict)
    timed_out: bool = False  # stopped at the deadline: ``choice`` is the incumbent
    lower_bound: float | None = None  # set when timed out
    # a choice of the same nodes that a judged search's leaves accepted by the SLA rule
    # before it stopped judging (:meth:`_Exact.stop_judging`), where ``choice`` is the
    # widened optimum it answered after: an incumbent for the SLA edge's enumeration
    # (:func:`fa2opt.edge.decide_exact`), None when there was none
    judged: dict[str, int] | None = None


class _Paused(Exception):
    """A copy-split search spent the work it was raced for
    (:meth:`.flow_bound.LPSearch.hand_over`)."""


class _Deadline(Exception):
    pass


def search(dp: DecoupledProblem, remainder: RemainderSolver,
           deadline: float | None = None, cutoff: float = INF) -> SearchResult | None:
    """Exact search over the coupling nodes (see the module docstring); None: infeasible,
    or (with a finite ``cutoff``) no choice costs less than ``cutoff``: the searches start
    from it as their incumbent's value, so they explore only what could beat it (what
    :func:`fa2opt.edge.decide_exact` asks of its enumeration's subproblems).

    ``remainder``: an :class:`~fa2opt.arithmetic.Arithmetic` (its declared ``prices``
    selects the Lagrangian bound) or a plain remainder solver (equal split).

    ``deadline`` (a ``time.perf_counter()`` value): stop there and return the incumbent
    (or, without one, the coupling nodes at their fastest candidate, which is feasible
    whenever the instance is) with ``timed_out=True`` and a lower bound (the root bounds)."""
    arithmetic = as_arithmetic(remainder)
    remainder = arithmetic.remainder
    cands = dp.candidates
    for c in cands.values():
        if not c.positions:
            return None
    if not dp.coupling:  # independent flows (the common case): no components to find
        res = _independent(dp, remainder)
        if res is None:
            return None
        if dp.free:
            _add_free(dp, res)
        res.stats["components"] = res.explored = len(dp.flows)  # a component per flow
        return res
    lagrange = arithmetic.prices
    fronts = arithmetic.fronts
    if fronts:  # (imported here: fixing uses the Pareto DP, which imports this package)
        from .fixing import fits as _fits, fixing_search as _fixing_search
    total, lower, choice = 0.0, 0.0, {}
    explored = solves = 0
    timed_out = False
    judged: dict[str, int] = {}  # the parts' judged incumbents (SearchResult.judged)
    parts = components(dp)
    free_cost = sum(cands[v].cost[-1] for v in dp.free)
    for j, sub in enumerate(parts):
        # the cutoff bounds the last part, the others decided (parts add up)
        cut = cutoff - total - free_cost if j == len(parts) - 1 else INF
        if not sub.coupling:
            res = _independent(sub, remainder)
        elif fronts and _use_fixing(sub) and _fits(sub):
            res = _fixing_search(sub, deadline, cut)
        elif lagrange and FLOW_BOUND and _use_flow_bound(sub):
            from .flow_bound import lp_search
            res = lp_search(sub, [f.graph for f in sub.flows], arithmetic, deadline, cut)
        elif lagrange and _space(sub) > LAGRANGE_MIN_SPACE:
            res = _LagrangianSearch(sub, arithmetic, deadline, cut, pinned(sub)).run()
        else:
            res = _equal_split_search(sub, arithmetic, deadline, cut, pinned(sub),
                                      arithmetic.value)
        if res is None:
            return None
        total += res.cost
        lower += res.lower_bound if res.timed_out else res.cost
        choice.update(res.choice)
        if res.judged is not None:
            judged.update(res.judged)
        explored += res.explored
        solves += res.solves
        timed_out |= res.timed_out
    for v in dp.free:
        choice[v] = len(cands[v]) - 1
        total += cands[v].cost[-1]
        lower += cands[v].cost[-1]
    return SearchResult(total, choice, explored, solves, {"components": len(parts)},
                        timed_out=timed_out, lower_bound=min(lower, total) if timed_out else None,
                        judged={**choice, **judged} if judged else None)


def _add_free(dp: DecoupledProblem, res: SearchResult) -> None:
    """Nodes in no flow take their cheapest candidate (the last)."""
    cands = dp.candidates
    for v in dp.free:
        res.choice[v] = len(cands[v]) - 1
        res.cost += cands[v].cost[-1]


def _use_flow_bound(dp: DecoupledProblem) -> bool:
    """At least FLOW_MIN_COUPLING coupling nodes, or one of more than FLOW_WIDE candidates
    (and the flows' DAGs known): the flow bound searches. The copy split needs DP solves
    over every flow's tree per search node, and its bound weakens as flows share or
    duplicate more nodes (measured in docs/fa2.md: shared 60-120-node graphs 0.3-10 s with
    it, 0.01-1.9 s with the flow bound); and it halves a coupling node's candidates per
    branch, where a merged run's front of hundreds of points took it hundreds of search
    nodes (:mod:`.series_runs`; shared 30×3 #1: 123 nodes, 0.28 s)."""
    cands = dp.candidates
    return ((len(dp.coupling) >= FLOW_MIN_COUPLING
             or any(len(cands[w]) > FLOW_WIDE for w in dp.coupling))
            and all(f.graph is not None for f in dp.flows))


def pinned(dp: DecoupledProblem) -> dict[str, int]:
    """The coupling nodes with a single candidate, each at it (index 0): fixed before the
    search instead of branched on (a level with one child). O(coupling nodes)."""
    cands = dp.candidates
    return {w: 0 for w in dp.coupling if len(cands[w]) == 1}


def _use_fixing(dp: DecoupledProblem) -> bool:
    """The fixing DP's range of coupling spaces (``FIXING_MIN_SPACE``, ``FIXING_MAX_SPACE``:
    a small space over several coupling nodes too)."""
    space = _space(dp)
    return space <= FIXING_MAX_SPACE and (space >= FIXING_MIN_SPACE or len(dp.coupling) > 1)


def _space(dp: DecoupledProblem) -> float:
    """The number of combinations of the coupling nodes' candidates."""
    out = 1.0
    for w in dp.coupling:
        out *= len(dp.candidates[w])
    return out


def components(dp: DecoupledProblem) -> list[DecoupledProblem]:
    """The flows split into connected components (two flows are linked when they share a
    coupling node), each as a DecoupledProblem of its own (no free nodes). O(Σ_f |coupling_f|)."""
    groups = linked_flows(dp.flow_coupling)
    if len(groups) == 1:
        return [DecoupledProblem(dp.candidates, dp.flows, dp.coupling, dp.flow_coupling,
                                 dp.leaf_count, ())]
    out = []
    for idx in groups:
        cset = {w for i in idx for w in dp.flow_coupling[i]}
        out.append(DecoupledProblem(dp.candidates, tuple(dp.flows[i] for i in idx),
                                    tuple(w for w in dp.coupling if w in cset),
                                    tuple(dp.flow_coupling[i] for i in idx), dp.leaf_count, ()))
    return out


def _independent(dp: DecoupledProblem, remainder: RemainderSolver) -> SearchResult | None:
    """No coupling nodes: one remainder solve per flow."""
    total, choice = 0.0, {}
    for f in dp.flows:
        r = remainder(f.tree, f.budget_ms, dp.candidates, None, None)
        if r is None:
            return None
        total += r[0]
        choice.update(r[1])
    return SearchResult(total, choice, 1, len(dp.flows))


class _FlowPrograms:
    """Each flow's tree compiled once by the arithmetic's ``compile``
    (:class:`fa2opt.tree_kernel.TreeRemainder`), at its first solve: the search solves the
    same trees at every node, with other fixings and prices. ``parts(i)``: flow i's (tree,
    candidates), asked for at its first compilation only. A flow without a program (no
    ``compile``, or the kernels not warmed up in this process) or whose compiled solve
    declined once (fronts past the kernel's limit, found only after building them) is left
    to the caller's remainder from then on (``done[i]`` False); one without a program only
    because the kernels are not loaded yet asks again at its next solve (a long search may
    load them: :func:`fa2opt.cpu_kernels.load_when_cached`)."""

    __slots__ = ("compile", "parts", "done")

    def __init__(self, compile: Callable | None,
                 parts: Callable[[int], tuple[SPTree, Mapping[str, Candidates]]],
                 flows: int) -> None:
        self.compile, self.parts = compile, parts
        self.done: list = [None] * flows

    def solve(self, i: int, budget_ms: float, fixed: Mapping[str, int] | None,
              weight: Mapping[str, Any] | None) -> tuple[float, dict[str, int]] | None | object:
        """Flow i's remainder by its compiled tree; DECLINED where there is none (or it
        declines): the caller's remainder decides."""
        f = self.done[i]
        if f is None:
            if self.compile is None:
                self.done[i] = False
                return DECLINED
            f = self.compile(*self.parts(i))
            if f is None:  # (the kernels not loaded: ~0.3 µs to ask again)
                return DECLINED
            self.done[i] = f
        elif f is False:
            return DECLINED
        r = f(budget_ms, fixed, weight)
        if r is DECLINED:
            self.done[i] = False
        return r


class _Exact:
    """Exact values of full fixings of a component's coupling nodes (memoised per flow), and
    the incumbent."""

    def __init__(self, dp: DecoupledProblem, remainder: RemainderSolver, cutoff: float = INF,
                 judged: bool = False):
        arithmetic = as_arithmetic(remainder)
        self.dp, self.remainder, self.compile = dp, arithmetic.remainder, arithmetic.compile
        self.budgets = [f.budget_ms for f in dp.flows]
        # each flow's tree compiled once (Arithmetic.compile): a fixing's value is one call
        self.programs = _FlowPrograms(self.compile, lambda i: (dp.flows[i].tree, dp.candidates),
                                      len(dp.flows))
        self.memo: list[dict[tuple, tuple[float, dict[str, int]] | None]] = [{} for _ in dp.flows]
        # each flow's folding of its coupling leaves, compiled at its first fixing (the same
        # nodes at every fixing; sptree.leaf_fixer)
        self.fixers: list = [None] * len(dp.flows)
        self.solves = 0
        # judged: each flow's remainder made the least under the spec's rule (:meth:`rule`),
        # where the flow's DAG is known; only for a search whose bound takes the no-goods
        # this meets (an LP's cuts, .flow_bound): a bound blind to them cannot close on an
        # optimum an ulp above the relaxed one (many-flows 8x6x30 at its edge without the
        # cuts: 232,557 search nodes, no proof at 60 s)
        self.judged = judged
        self.graphs = [f.graph for f in dp.flows]
        # the rule's no-goods met so far (rule): (path, its nodes' latencies), each a valid
        # inequality of the rule-feasible set that a search with an LP may add as a cut
        self.nogoods: list[tuple[tuple[str, ...], tuple[float, ...]]] = []
        self.rejected: list[tuple[int, tuple]] = []  # (flow, memo key) the rule rejected
        # the incumbent's value starts at the cutoff: only cheaper fixings are kept or explored
        self.best, self.best_fix = cutoff, None
        self.judged_choice: dict[str, int] | None = None  # (stop_judging)

    def flow(self, i: int, fixing: Mapping[str, int]) -> tuple[float, dict[str, int]] | None:
        cw = self.dp.flow_coupling[i]
        key = tuple(fixing[w] for w in cw)
        m = self.memo[i]
        if key in m:
            return m[key]
        self.solves += 1
        r = self.programs.solve(i, self.budgets[i], fixing, None)
        if r is not DECLINED:
            return self.judge(i, key, fixing, r)
        cands = self.dp.candidates
        tree = self.folded(i, {w: cands[w].latency[fixing[w]] for w in cw})
        if type(tree) is Delay:
            r = (0.0, {}) if tree.latency_ms <= self.budgets[i] else None
        else:
            r = self.remainder(tree, self.budgets[i], cands, None, None)
        return self.judge(i, key, fixing, r)

    def folded(self, i: int, fixed: Mapping[str, float]) -> SPTree:
        """Flow i's tree with its coupling leaves folded into delays (``fixed``: their
        latencies): the remainder DP then sees only the free ones (each flow's folding
        compiled at its first fixing, :func:`.sptree.leaf_fixer`)."""
        fix = self.fixers[i]
        if fix is None:
            fix = self.fixers[i] = leaf_fixer(self.dp.flows[i].tree, self.dp.flow_coupling[i])
        return fix(fixed)

    def judge(self, i: int, key: tuple, fixing: Mapping[str, int],
              r: tuple[float, dict[str, int]] | None) -> tuple[float, dict[str, int]] | None:
        """Flow i's remainder at ``fixing`` (memo ``key``) by :meth:`rule`, memoised; a
        rejection by the rule alone is noted, for :meth:`stop_judging`."""
        out = self.memo[i][key] = self.rule(i, fixing, r)
        if out is None and r is not None:
            self.rejected.append((i, key))
        return out

    def stop_judging(self) -> None:
        """Leaves valued by the widened budgets alone from now on (the copy split's turn,
        :meth:`.flow_bound.LPSearch.hand_over`): the fixings the rule alone rejected are
        valued again when met (the other judged values may stay: each is at most what the
        rule accepts, hence still a bound, and exact where kept). The judged incumbent is
        kept as ``judged_choice`` (its flows' values are in the memo): the search answers
        the widened optimum from here, and the SLA edge's enumeration around it can start
        from this one instead of solving for one (:attr:`SearchResult.judged`)."""
        if self.judged and self.best_fix is not None:
            self.judged_choice = self.choice(self.best_fix)
        self.judged = False
        for i, key in self.rejected:
            del self.memo[i][key]
        self.rejected.clear()

    def rule(self, i: int, fixing: Mapping[str, int], r: tuple[float, dict[str, int]] | None
             ) -> tuple[float, dict[str, int]] | None:
        """Flow i's remainder ``r`` at ``fixing``, made the least under the spec's SLA rule.

        The budgets may be widened by the float margin (:func:`fa2opt.edge.decide_exact`'s
        relaxation), which lets a remainder an ulp over the SLA through. Judged by the rule
        here, each flow on its own, a search with many flows at their SLA's edge finds the
        optimum under the rule itself, where the enumeration around it would split one
        flow's no-good at a time and rediscover the others' in every child (many-flows
        8x6x30 at 3 ulps below its edge: 2,656 DP solves, 12 s). A rejected remainder is
        replaced by the least one the rule accepts, by the same enumeration on this flow's
        free nodes alone (:func:`fa2opt.edge.enumerate_orthants`, the remainder DP as its
        relaxation): None when none is. Kept as it is where the flow's DAG is not known or
        its tree does not hold all its nodes; the answer then breaks the rule, and the
        enumeration around the search settles it."""
        g = self.graphs[i]
        if r is None or g is None or not self.judged:
            return r
        cands = self.dp.candidates
        fixed = {w: cands[w].latency[fixing[w]] for w in self.dp.flow_coupling[i]}
        free = {v: k for v, k in r[1].items() if v not in fixed}  # (r may list fixed ones)
        if len(fixed) + len(free) != len(g.nodes):
            return r

        def latencies(y: Mapping[str, int]) -> dict[str, float]:
            return {**fixed, **{v: cands[v].latency[k] for v, k in y.items()}}

        def meets(y: Mapping[str, int]) -> bool:
            return g.meets_sla(latencies(y))

        def path(y: Mapping[str, int]) -> list[str]:  # the no-good of y, kept
            lat = latencies(y)
            p = critical_path(g.nodes, g.preds, lat)
            self.nogoods.append((tuple(p), tuple(lat[v] for v in p)))
            return p

        if meets(free):
            return r
        if not free:
            path(free)
            return None
        tree = self.folded(i, fixed)
        full = {v: np.arange(len(cands[v])) for v in free}
        latency = {v: np.asarray(cands[v].latency) for v in free}

        def solve(child: dict[str, np.ndarray], cutoff: float):
            sub = {v: Candidates(v, [cands[v].latency[k] for k in a],
                                 [cands[v].cost[k] for k in a],
                                 [cands[v].positions[k] for k in a]) for v, a in child.items()}
            self.solves += 1
            y = self.remainder(tree, self.budgets[i], {**cands, **sub}, None, None)
            if y is None:
                return "optimal", None, INF
            return "optimal", {v: int(child[v][k]) for v, k in y[1].items()}, y[0]

        status, y, cost, _ = enumerate_orthants(
            full, free, r[0], None, INF, solve, meets, path, latency)
        if status == "optimal":
            return cost, y
        return None if status == "error" else r  # error: proven none; else past the guard

    def value(self, fixing: Mapping[str, int],
              stop: Callable[[], bool] | None = None) -> float | None:
        """Σ_w c_w + Σ_f R_f of a full fixing (None: some flow cannot meet its SLA); a better
        one becomes the incumbent. ``stop``: asked before each flow's DP; True abandons the
        valuation (None, nothing kept)."""
        cands = self.dp.candidates
        total = sum(cands[w].cost[k] for w, k in fixing.items())
        ruled = len(self.nogoods)
        out = False
        for i in range(len(self.dp.flows)):
            if stop is not None and stop():
                return None
            r = self.flow(i, fixing)
            if r is None:
                if len(self.nogoods) == ruled:  # a budget, not the rule: nothing more to learn
                    return None
                out = True  # the rule: the other flows' no-goods are worth knowing too
            else:
                total += r[0]
        if out:
            return None
        if total < self.best:
            self.best, self.best_fix = total, dict(fixing)
        return total

    def choice(self, fixing: Mapping[str, int]) -> dict[str, int]:
        """The whole choice of a valued full ``fixing``: it and each flow's remainder."""
        choice = dict(fixing)
        for i in range(len(self.dp.flows)):
            choice.update(self.flow(i, fixing)[1])
        return choice

    def result(self, explored: int, extra_solves: int, timed_out: bool = False,
               lower_bound: float | None = None) -> SearchResult | None:
        """The incumbent as a SearchResult (at the deadline without one: the coupling nodes
        at their fastest, else every node at its fastest)."""
        if self.best_fix is None:
            if not timed_out:
                return None
            # a DP per flow, abandoned once the DPs' deadline passes (1,000 flows over a
            # 2,000-node pool: 1.4 s; 100 over 3,000 nodes: 2 s), for every node's fastest
            self.value({w: 0 for w in self.dp.coupling}, past_dp_deadline)
        if self.best_fix is None:  # past the DPs' deadline, or the instance is infeasible
            choice = {v: 0 for f in self.dp.flows for v in count_leaves(f.tree)}
            cost = sum(self.dp.candidates[v].cost[0] for v in choice)
        else:
            choice, cost = self.choice(self.best_fix), self.best
        lb = None if lower_bound is None else min(lower_bound, cost)
        return SearchResult(cost, choice, explored, self.solves + extra_solves,
                            timed_out=timed_out, lower_bound=lb)


class _LagrangianSearch:
    """Branch and bound with the Lagrangian cost split (see the module docstring)."""

    def __init__(self, dp: DecoupledProblem, remainder: RemainderSolver, deadline: float | None,
                 cutoff: float = INF, pinned: Mapping[str, int] | None = None,
                 exact: _Exact | None = None, tol: Callable[[], float] | None = None):
        self.dp, self.deadline = dp, deadline
        # how far below the incumbent a bound must be to keep a subtree: PRUNE_TOL's, or
        # the margin of a search handing the component over (.flow_bound.LPSearch.tol: the
        # cost grain's)
        self.tol: Callable[[], float] = tol if tol is not None else self.prune_tol
        self.remainder = as_arithmetic(remainder).remainder
        self.pinned = dict(pinned or {})  # single-candidate coupling nodes: fixed at the root
        # the incumbent and the memo of full fixings: its own, or those of a search that
        # hands the component over (.flow_bound.LPSearch.hand_over)
        self.exact = exact if exact is not None else _Exact(dp, remainder, cutoff)
        self.cands = dp.candidates
        F = len(dp.flows)
        counts = [f.node_leaves for f in dp.flows]
        self.mult = [{w: counts[i][w] for w in dp.flow_coupling[i]} for i in range(F)]
        self.owners = {w: [i for i in range(F) if w in self.mult[i]] for w in dp.coupling}
        # copies: one per (flow, leaf) of a coupling node duplicated inside a flow (its
        # leaves renamed to aliases, each with its own price), else one per (flow, node)
        self.copies: dict[str, list[tuple[int, str]]] = {w: [] for w in dp.coupling}
        self.flow_copies: list[list[tuple[str, int, str]]] = []  # (w, copy index, leaf name)
        self.trees, self.flow_cands = [], []
        for i, f in enumerate(dp.flows):
            dup = {w for w in dp.flow_coupling[i] if self.mult[i][w] > 1}
            tree, fc, names = f.tree, self.cands, {w: [w] for w in dp.flow_coupling[i]}
            if dup:
                tree, alias = split_leaves(f.tree, dup)
                fc = dict(self.cands)
                for w in dup:
                    names[w] = []
                for a, w in alias.items():
                    fc[a] = self.cands[w]
                    names[w].append(a)
            own = []
            for w in dp.flow_coupling[i]:
                for a in names[w]:
                    own.append((w, len(self.copies[w]), a))
                    self.copies[w].append((i, a))
            self.flow_copies.append(own)
            self.trees.append(tree)
            self.flow_cands.append(fc)
        # some node has several copies in one flow: the fastest of the copies' choices is a
        # weaker primal there (a flow's own copies agreed on the slack), so also try the slowest
        self.dup_in_flow = any(len(self.copies[w]) > len(self.owners[w]) for w in dp.coupling)
        self.programs = _FlowPrograms(self.exact.compile,
                                      lambda i: (self.trees[i], self.flow_cands[i]), len(dp.flows))
        self.leaf_cands: list[int | None] = [None] * len(dp.flows)  # (leaf_candidates)
        self.explored = self.solves = 0
        self.suspended: Suspended | None = None  # the search a race paused (run's nodes)
        self.root_lb = -INF
        self.started = time.perf_counter()

    def prune_tol(self) -> float:
        """How far below the incumbent a bound must be to keep a subtree (PRUNE_TOL)."""
        b = self.exact.best
        return PRUNE_TOL * max(1.0, abs(b)) if b < INF else 0.0

    def initial_prices(self) -> dict[str, list[list[float]]]:
        """The equal split: each copy (leaf) pays c_w / n_w."""
        out = {}
        for w in self.dp.coupling:
            n = len(self.copies[w])
            out[w] = [[c / n for c in self.cands[w].cost] for _ in range(n)]
        return out

    def relax_flow(self, i: int, fixed: Mapping[str, int], q: Mapping[str, list[list[float]]]
                   ) -> tuple[float, dict[str, int]] | None:
        """Flow i's relaxed problem: fixed coupling nodes as delays, every copy of an unfixed
        one choosing freely at its own prices (the choice is keyed by leaf name)."""
        fx, wt = {}, {}
        for w, j, a in self.flow_copies[i]:
            if w in fixed:
                fx[a] = fixed[w]
            else:
                wt[a] = q[w][j]
        if not wt:
            return self.exact.flow(i, fixed)
        self.solves += 1
        r = self.programs.solve(i, self.exact.budgets[i], fx, wt)
        if r is DECLINED:
            # the Python DP counts its pairs; its leaf-candidates are a work unit each
            pareto.PAIRS[0] += pareto.PAIRS_PER_UNIT * self.leaf_candidates(i)
            r = self.remainder(self.trees[i], self.exact.budgets[i], self.flow_cands[i], fx, wt)
        return r

    def leaf_candidates(self, i: int) -> int:
        """:func:`leaf_candidates` of flow i, once."""
        if self.leaf_cands[i] is None:
            self.leaf_cands[i] = leaf_candidates(self.dp, i)
        return self.leaf_cands[i]

    def copy_choices(self, w: str, res: list) -> list[int]:
        """The candidate each copy of w picked in the relaxed solutions ``res``."""
        return [res[i][1].get(a, 0) for i, a in self.copies[w]]

    def check_deadline(self) -> None:
        if self.deadline is not None and time.perf_counter() > self.deadline:
            raise _Deadline
        load_when_cached(self.started)

    def ascend(self, fixed: dict[str, int], fixed_cost: float, q: dict, res: list | None,
               iters: int, give_up: Callable[[int, float], bool] | None = None,
               stall_after: int = STALL) -> tuple[str, float, dict, list | None]:
        """Subgradient ascent from split ``q`` (``res``: the flows' relaxed solutions at q, if
        known). Returns (status, best bound, its split, its relaxed solutions); status is
        ``infeasible``, ``pruned``, ``solved`` (the subtree's optimum is the incumbent) or
        ``branch`` -- also when ``give_up(steps done, best bound)`` says so after a step."""
        free = [w for w in self.dp.coupling if w not in fixed]
        F = len(self.dp.flows)
        # never more steps than branching on all but the largest free node would take
        sizes = sorted((len(self.cands[w]) for w in free), reverse=True)
        space = 1
        for k in sizes[1:]:
            space *= k
            if space >= iters:
                break
        iters = min(iters, space)
        best_lb, best_q, best_res = -INF, q, res
        theta, stall = 1.0, 0
        exact = self.exact
        for it in range(max(1, iters)):
            self.check_deadline()
            if res is None:
                res = [None] * F
            if None in res:  # the flows whose copies' prices moved (all, at the start)
                res = list(res)
                for i in range(F):
                    if res[i] is None:
                        r = self.relax_flow(i, fixed, q)
                        if r is None:
                            return "infeasible", INF, q, None
                        res[i] = r
            lb = fixed_cost + sum(r[0] for r in res)
            improved = lb > best_lb
            if improved:
                if lb > best_lb + 1e-12 * max(1.0, abs(lb)):
                    stall = 0
                best_lb, best_q, best_res = lb, q, res
            else:
                stall += 1
                if stall >= stall_after:
                    theta, stall = theta * 0.5, 0
            if best_lb >= exact.best - self.tol():
                return "pruned", best_lb, best_q, best_res
            # the primal: every coupling node at the fastest of its copies' choices
            fixing, slow = dict(fixed), {}
            d: list[tuple[str, int, int, float]] = []
            norm2 = 0.0
            for w in free:
                ks = self.copy_choices(w, res)
                fixing[w] = min(ks)
                if len(ks) < 2 or min(ks) == max(ks):
                    continue
                slow[w] = max(ks)
                share = Counter(ks)
                inv = 1.0 / len(ks)
                for j, kj in enumerate(ks):
                    for k, cnt in share.items():
                        g = (1.0 if kj == k else 0.0) - cnt * inv
                        d.append((w, j, k, g))
                        norm2 += g * g
            if not d:  # the copies agree: the relaxed choice is feasible
                val = exact.value(fixing)
                if val is not None and val <= lb + PRUNE_TOL * max(1.0, abs(val)):
                    return "solved", best_lb, best_q, best_res
                return "branch", best_lb, best_q, best_res  # duplicated leaves disagree
            if improved or exact.best == INF:  # a primal from the better relaxed solutions only
                exact.value(fixing)
                if slow and self.dup_in_flow:  # and the slowest choices (may not fit)
                    exact.value({**fixing, **slow})
                if best_lb >= exact.best - self.tol():
                    return "pruned", best_lb, best_q, best_res
            if give_up is not None and give_up(it + 1, best_lb):
                return "branch", best_lb, best_q, best_res
            gap = exact.best - lb if exact.best < INF else 0.1 * max(1.0, abs(lb))
            t = theta * gap / norm2
            q = dict(q)
            touched: set[str] = set()
            for w, j, k, g in d:
                if w not in touched:
                    q[w] = [list(p) for p in q[w]]
                    touched.add(w)
                q[w][j][k] += t * g
            for w in touched:  # keep Σ_copies q_{w,j}(k) = c_w(k) exactly
                qw = q[w]
                last = len(qw) - 1
                for k, c in enumerate(self.cands[w].cost):
                    qw[last][k] = c - sum(qw[j][k] for j in range(last))
            # only the flows with a copy of a moved node are solved again: the others'
            # prices, hence their relaxed solutions, are unchanged
            stale = {i for w in touched for i in self.owners[w]}
            res = [None if i in stale else r for i, r in enumerate(res)]
        return "branch", best_lb, best_q, best_res

    def branching_node(self, fixed: Mapping[str, int], res: list) -> str | None:
        """The unfixed coupling node whose copies disagree most (cost spread of their
        choices); else one with several leaves in a flow (its leaves may disagree unseen);
        else the first unfixed one."""
        best, best_score = None, 0.0
        for w in self.dp.coupling:
            if w in fixed:
                continue
            ks = self.copy_choices(w, res)
            if min(ks) != max(ks):
                c = self.cands[w].cost
                score = max(c[k] for k in ks) - min(c[k] for k in ks) + 1e-12 * len(set(ks))
                if best is None or score > best_score:
                    best, best_score = w, score
        if best is not None:
            return best
        for w in self.dp.coupling:
            if w not in fixed and max(self.mult[i][w] for i in self.owners[w]) > 1:
                return w
        return next((w for w in self.dp.coupling if w not in fixed), None)

    def node(self, fixed: dict[str, int], fixed_cost: float, q: dict, res: list | None,
             iters: int, bounded: tuple | None = None) -> Generator:
        """One search node: bound it (unless ``bounded``: :meth:`ascend`'s result for it),
        then branch; a child node is visited by yielding its generator
        (:func:`~fa2opt.reductions.sptree.trampoline`: the search is as deep as there are
        coupling nodes, which grows with the graph)."""
        if bounded is None:
            self.explored += 1
            bounded = self.ascend(fixed, fixed_cost, q, res, iters)
        status, lb, q, res = bounded
        if len(fixed) == len(self.pinned):  # the root (every node below fixes one more)
            self.root_lb = lb
        if status != "branch":
            return
        w = self.branching_node(fixed, res)
        if w is None:
            return
        own = set(self.owners[w])
        base = sum(r[0] for i, r in enumerate(res) if i not in own)
        cw = self.cands[w].cost
        children = []
        for k in range(len(cw)):
            self.check_deadline()
            fixed[w] = k
            child_res, total = list(res), fixed_cost + cw[k] + base
            for i in own:
                r = self.relax_flow(i, fixed, q)
                if r is None:
                    total = INF
                    break
                child_res[i] = r
                total += r[0]
            del fixed[w]
            if total < self.exact.best - self.tol():
                children.append((total, k, child_res))
        children.sort(key=lambda x: (x[0], x[1]))
        for total, k, child_res in children:
            if total >= self.exact.best - self.tol():
                break
            fixed[w] = k
            yield self.node(fixed, fixed_cost + cw[k], q, child_res, NODE_ITERS)
            del fixed[w]

    def latency_prices(self, psi: Mapping[str, list[float]]) -> dict[str, list[list[float]]]:
        """The split ``q_{w,j}(k) = (c_w(k) + Ψ_w L_{w,k}) / n_w − ψ_{w,j} L_{w,k}`` from
        latency weights ψ ≥ 0 per copy (``psi[w][j]``, Ψ_w = Σ_j ψ_{w,j}, n_w copies): the
        copies' prices add up to c_w whatever ψ is. With ψ the LP's flows through each copy
        (a flow's y_f through w, over its copies) every flow's copies value k as
        (c_w(k) + Ψ_w L_{w,k}) / n_w plus that flow's own latency term, so each flow's DP is
        at least its share of the flow bound (:mod:`.flow_bound` (1)) at the same y: the
        ascent starts at or above the LP's bound instead of the equal split's."""
        out = {}
        for w in self.dp.coupling:
            c, L, ps = self.cands[w].cost, self.cands[w].latency, psi[w]
            n, tot = len(ps), sum(ps)
            qw = [[(ck + tot * lk) / n - pj * lk for ck, lk in zip(c, L)] for pj in ps]
            for k, ck in enumerate(c):  # Σ_j q_{w,j}(k) = c_w(k) exactly
                qw[-1][k] = ck - sum(qw[j][k] for j in range(n - 1))
            out[w] = qw
        return out

    def root(self, psi: Mapping[str, list[float]] | None = None, iters: int = ROOT_ITERS,
             start: tuple | None = None,
             give_up: Callable[[int, float], bool] | None = None,
             stall_after: int = STALL) -> tuple:
        """The root's bound: ``iters`` steps of :meth:`ascend` (until ``give_up``) from the
        equal split, from the split of latency weights ``psi`` (:meth:`latency_prices`), or on
        from ``start`` (an earlier, shorter ascent's result); raises ``_Deadline``."""
        if start is None:
            self.explored += 1
            q, res = (self.initial_prices() if psi is None else self.latency_prices(psi)), None
        else:
            q, res = start[2], start[3]
        bounded = self.ascend(dict(self.pinned), self.pinned_cost(), q, res, iters, give_up,
                              stall_after)
        self.root_lb = bounded[1]  # (at least start's: its relaxed solutions come first)
        return bounded

    def pinned_cost(self) -> float:
        return sum(self.cands[w].cost[k] for w, k in self.pinned.items())

    def run(self, root: tuple | None = None, pause: Callable[[], bool] | None = None
            ) -> SearchResult | None:
        """The search (``root``: :meth:`root`'s result, when already computed). ``pause``:
        asked between the search's steps; where it says True, :class:`_Paused` is raised, the
        search kept suspended, and the next call goes on from where it stopped (a race,
        :meth:`.flow_bound.LPSearch.hand_over`; the incumbent it meets meanwhile prunes)."""
        try:
            if self.suspended is None:
                q = self.initial_prices() if root is None else root[2]
                start = self.node(dict(self.pinned), self.pinned_cost(), q, None, ROOT_ITERS,
                                  root)
            else:
                start, self.suspended = self.suspended, None
            out = trampoline(start, pause=pause)
            if isinstance(out, Suspended):
                self.suspended = out
                raise _Paused
        except _Deadline:
            lb = self.root_lb if self.root_lb > -INF else _equal_split_bound(self.dp, self.remainder)
            return self.exact.result(self.explored, self.solves, True, lb)
        res = self.exact.result(self.explored, self.solves)
        if res is not None and self.root_lb > -INF:
            res.stats["root_gap"] = (res.cost - self.root_lb) / max(1.0, abs(res.cost))
        return res


def leaf_candidates(dp: DecoupledProblem, i: int) -> int:
    """The candidates of flow i's leaves (each copy of a node its own leaf): a Python DP's
    work units before its pairs (:mod:`.dp_bound`)."""
    cands = dp.candidates
    return sum(len(cands[v].latency) * m for v, m in dp.flows[i].node_leaves.items())


def _equal_split_bound(dp: DecoupledProblem, remainder: RemainderSolver) -> float:
    """The root bound of the equal split (one solve per flow)."""
    share = {w: 1.0 / dp.leaf_count[w] for w in dp.coupling}
    total = 0.0
    for f, cw in zip(dp.flows, dp.flow_coupling):
        r = remainder(f.tree, f.budget_ms, dp.candidates, None, {w: share[w] for w in cw})
        if r is None:
            return INF
        total += r[0]
    return total


def _equal_split_search(dp: DecoupledProblem, remainder: RemainderSolver,
                        deadline: float | None, cutoff: float = INF,
                        pinned: Mapping[str, int] | None = None,
                        value: RemainderSolver | None = None) -> SearchResult | None:
    """Depth-first branch and bound with the equal split (for any remainder solver).
    ``pinned``: coupling nodes fixed before the search (:func:`pinned`), never branched on;
    ``value``: the remainder's value-only twin (:attr:`fa2opt.arithmetic.Arithmetic.value`)
    for the bounds, which read no choice (full fixings use ``remainder``: their choice is the
    answer's)."""
    cands = dp.candidates
    pinned = dict(pinned or {})
    coupling = [w for w in dp.coupling if w not in pinned]
    share = {w: 1.0 / dp.leaf_count[w] for w in coupling}
    exact = _Exact(dp, remainder, cutoff)
    remainder = exact.remainder
    bound_remainder = value or remainder
    budgets = exact.budgets
    memo: list[dict[tuple, tuple[float, dict[str, int]] | None]] = [{} for _ in dp.flows]
    counters = {"explored": 0, "solves": 0}

    def flow_value(i: int, fixed: Mapping[str, int]) -> tuple[float, dict[str, int]] | None:
        cw = dp.flow_coupling[i]
        key = tuple(fixed.get(w, -1) for w in cw)
        m = memo[i]
        if key in m:
            return m[key]
        fx = {w: fixed[w] for w in cw if w in fixed}
        wt = {w: share[w] for w in cw if w not in fixed}
        counters["solves"] += 1
        r = (bound_remainder if wt else remainder)(dp.flows[i].tree, budgets[i], cands, fx, wt)
        m[key] = r
        if not wt:  # a full fixing: the exact value, shared with the incumbent's bookkeeping
            exact.memo[i][tuple(fixed[w] for w in cw)] = r
        return r

    def bound(fixed: Mapping[str, int], fixed_cost: float) -> float:
        counters["explored"] += 1
        total = fixed_cost
        for i in range(len(dp.flows)):
            r = flow_value(i, fixed)
            if r is None:
                return INF
            total += r[0]
        return total

    def dfs(depth: int, fixed: dict[str, int], fixed_cost: float) -> Generator:
        """Branch on ``coupling[depth]``; a child is visited by yielding its generator
        (:func:`~fa2opt.reductions.sptree.trampoline`: as deep as the coupling nodes)."""
        if deadline is not None and time.perf_counter() > deadline:
            raise _Deadline
        w = coupling[depth]
        cw = cands[w]
        children = []
        for k in range(len(cw)):
            if k and deadline is not None and time.perf_counter() > deadline:
                del fixed[w]  # (each bound may be a long DP: the grid's take seconds)
                raise _Deadline
            fixed[w] = k
            b = bound(fixed, fixed_cost + cw.cost[k])
            if b < exact.best:
                children.append((b, k))
        del fixed[w]
        children.sort()
        for b, k in children:
            if b >= exact.best:
                break
            fixed[w] = k
            if depth + 1 == len(coupling):
                exact.best, exact.best_fix = b, dict(fixed)
            else:
                yield dfs(depth + 1, fixed, fixed_cost + cw.cost[k])
            del fixed[w]

    root_cost = sum(cands[w].cost[k] for w, k in pinned.items())
    try:
        if coupling:
            trampoline(dfs(0, dict(pinned), root_cost))
        else:  # every coupling node pinned: one full fixing, its exact value
            b = bound(pinned, root_cost)
            if b < exact.best:
                exact.best, exact.best_fix = b, dict(pinned)
    except _Deadline:
        return exact.result(counters["explored"], counters["solves"], True,
                            bound(pinned, root_cost))
    return exact.result(counters["explored"], counters["solves"])
