"""``--method fa2`` (the default): FA2's graph transformation plus an exact Pareto DP.

After Razavi et al., "FA2: Fast, Accurate Autoscaling for Serving Deep Learning Inference
with SLA Guarantees" (IEEE RTAS 2022), made exact: FA2 discretises latency and reports the
optimum in 96.8% of cases; here the DP works on exact (latency, cost) Pareto fronts, and
graphs FA2 handles approximately (non-series-parallel flows, flows sharing nodes) are solved
by an exact branch and bound over the few coupling nodes.

Pipeline (each step in :mod:`fa2opt.reductions`):

1. :class:`~fa2opt.reductions.ParetoPrune` -- Pareto-optimal, SLA-usable rows per node;
2. infeasible ⇔ pruning left a node without candidates (no available row, or none within
   its latency limit) -- the limits come from the all-fastest choice, so this is exactly
   the spec's test (``Problem.is_feasible``: the all-fastest choice breaks an SLA), computed on the way;
3. :class:`~fa2opt.reductions.SeriesParallel` -- one expression tree per flow (cached per
   graph structure unless ``cache=False``);
4. :class:`~fa2opt.reductions.Decouple` -- the coupling nodes;
5. :func:`~fa2opt.reductions.search` with :func:`~fa2opt.pareto.pareto_remainder`.

A single flow whose decomposition is a chain of one to three nodes or a node plus a fork
(most real pipelines) takes :meth:`FA2Solver.decide_flat`: the same steps fused on plain
lists (same decision, without the chain's intermediate objects).

``solve_ms`` (timed by :class:`~fa2opt.solver.Solver`) covers all five steps and building
the answer. The answer carries a breakdown: ``prune_ms``, ``transform_ms`` (steps 3-4),
``dp_ms`` (step 5), ``coupling_nodes``, ``search_nodes``.
"""

from __future__ import annotations

import time

from .pareto import _NOT_CHAIN, flat_cheapest, pareto_remainder
from .edge import decide_exact
from .problem import Problem
from .reductions import Chain, Decouple, ParetoPrune, SeriesParallel, search
from .reductions.pruning import fronts
from .solver import Decision, Solver


def _equal_split_remainder(tree, budget_ms, candidates, fixed=None, weight=None):
    """:func:`pareto_remainder` without ``accepts_prices``: the search then uses the equal
    split of coupling costs (``bound="equal"``, the bound before the Lagrangian split)."""
    return pareto_remainder(tree, budget_ms, candidates, fixed, weight)


BOUNDS = {"lagrange": pareto_remainder, "equal": _equal_split_remainder}


class FA2Solver(Solver):
    """Exact FA2. Options: ``cache`` (bool, default True): reuse each flow graph's
    series-parallel decomposition across decisions; ``time_limit`` (seconds, default none):
    stop the coupling-node search there and answer ``time_limit`` with the incumbent and a
    lower bound (the search is exponential in the coupling nodes in the worst case);
    ``bound`` (``"lagrange"``, the default, or ``"equal"``): how the coupling search bounds
    (:mod:`fa2opt.reductions.search`: Lagrangian cost split over the flows, or the equal
    split per leaf it replaced -- kept for comparison); ``shortcut`` (bool, default True):
    decide flat single flows by :meth:`decide_flat` (False: always the reduction chain)."""

    name = "fa2"

    def __init__(self, **options):
        super().__init__(**options)
        self._prune = ParetoPrune()
        self._sp = SeriesParallel(cache=bool(self.options.get("cache", True)))
        self._rest = Chain([self._sp, Decouple()])
        bound = self.options.get("bound", "lagrange")
        if bound not in BOUNDS:
            raise ValueError(f"fa2: bound must be one of {sorted(BOUNDS)}, not {bound!r}")
        self._remainder = BOUNDS[bound]
        self._shortcut = bool(self.options.get("shortcut", True))

    @classmethod
    def option_names(cls) -> tuple[str, ...]:
        return ("cache", "time_limit", "bound", "shortcut")

    def decide(self, problem: Problem) -> Decision:
        """The DP below, made exact under the spec's SLA rule by :func:`fa2opt.edge.decide_exact`
        (one DP with budgets widened by the float margin, then the rule's check; more solves
        only at the SLA's edge)."""
        t0 = time.perf_counter()
        first: list[Decision] = []

        def dp(p: Problem) -> tuple[str, dict[str, int] | None, float | None]:
            d = self.decide_dp(p, t0)
            first.append(d)
            if d.status == "time_limit":
                return d.status, d.choice, d.lower_bound
            return "optimal", d.choice if d.status == "optimal" else None, None

        status, choice, lb, solves = decide_exact(problem, dp)
        extra = dict(first[0].extra) if first else {}
        extra["dp_solves"] = solves
        if status == "time_limit":
            return Decision(status, choice, lower_bound=lb, message=first[0].message, extra=extra)
        if status == "error":
            return Decision(status, message="fa2: no decision on a feasible instance", extra=extra)
        return Decision(status, choice, extra=extra)

    def exact_base(self, problem: Problem) -> tuple[str, dict[str, int] | None, float | None]:
        """The optimum of a base problem under the spec's SLA rule (the DP through
        :func:`fa2opt.edge.decide_exact`): what the extensions' branch and bound calls on each
        subproblem (:mod:`fa2opt.extensions.search`)."""
        t0 = time.perf_counter()

        def dp(p: Problem) -> tuple[str, dict[str, int] | None, float | None]:
            d = self.decide_dp(p, t0)
            if d.status == "time_limit":
                return d.status, d.choice, d.lower_bound
            return "optimal", d.choice if d.status == "optimal" else None, None

        status, choice, lb, _ = decide_exact(problem, dp)
        return status, choice, lb

    def decide_dp(self, problem: Problem, t0: float) -> Decision:
        """One DP on ``problem``'s budgets (``FlowGraph.budget_ms``): the flat shortcut or
        the reduction chain."""
        if self._shortcut and len(problem.flows) == 1:
            d = self.decide_flat(problem, t0)
            if d is not None:
                return d
        return self.decide_chain(problem, t0)

    def decide_flat(self, problem: Problem, t0: float | None = None) -> Decision | None:
        """The reduction chain fused for one flow whose decomposition is *flat* -- a chain of
        one to three nodes, or a fork (a node, then parallel single nodes; or the fork alone)
        with delays, every node once (:func:`~fa2opt.reductions.sptree.flat_shape`: most
        real pipelines); None for anything else (then :meth:`decide_chain` decides).

        The same steps on plain lists, with none of the chain's intermediate objects:

        1. :meth:`SeriesParallel.flow <fa2opt.reductions.SeriesParallel.flow>` -- the flow's
           (cached) decomposition and its flat shape (cached with it);
        2. :func:`~fa2opt.reductions.pruning.fronts` -- what :class:`ParetoPrune` makes
           its :class:`Candidates` of; a node left without one: ``infeasible`` (as in
           :meth:`decide_chain`);
        3. no coupling node (every node occurs once), so :func:`~fa2opt.reductions.search`
           would make one remainder solve, which :func:`~fa2opt.pareto.pareto_remainder`
           makes by :func:`~fa2opt.pareto.flat_cheapest` (the sweep it uses for such trees:
           O(|a| + |b|) for two nodes or a node and a fork, O(|x|·(|y| + |z|)) for three);
        4. candidate index → table position (:meth:`ParetoPrune.invert`).

        Hence the same decision as :meth:`decide_chain`, in O(Σ rows) plus the sweep."""
        t0 = time.perf_counter() if t0 is None else t0
        if len(problem.flows) != 1:
            return None
        f = self._sp.flow(problem.flows[0])
        shape = f.flat_shape
        if shape is None or f.duplicated:
            return None
        series, fork, delays = shape
        if (len(series) > 3 or (fork and len(series) > 1)
                or len(series) + len(fork) != len(problem.tables)):
            return None  # not every node in the flow, or a shape the sweeps do not take
        t1 = time.perf_counter()
        front = fronts(problem)
        for x in front.values():
            if not x[2]:
                return Decision("infeasible")
        t2 = time.perf_counter()
        budget = f.budget_ms
        for d in delays:  # in order, as pareto_remainder lowers the budget
            budget -= d
        r = flat_cheapest([front[v] for v in series], [front[v] for v in fork], budget)
        if r is _NOT_CHAIN:  # three long lists: the front DP of the chain decides
            return None
        t3 = time.perf_counter()
        if r is None:  # cannot happen: the all-fastest choice fits
            return Decision("error", message="fa2: no decision on a feasible instance")
        choice = {v: front[v][2][i] for v, i in zip(series, r[1])}
        for v, i in zip(fork, r[2]):
            choice[v] = front[v][2][i]
        return Decision("optimal", choice, extra={
            "prune_ms": (t2 - t1) * 1e3, "transform_ms": (t1 - t0) * 1e3,
            "dp_ms": (t3 - t2) * 1e3, "coupling_nodes": 0, "search_nodes": 1})

    def decide_chain(self, problem: Problem, t0: float | None = None) -> Decision:
        """The general path: the reduction chain, the search, the inverse maps."""
        t0 = time.perf_counter() if t0 is None else t0
        pruned, inv_prune = self._prune.apply(problem)
        # The latency limits are computed from the all-fastest choice: a node is left with no
        # candidate exactly when it has no available row or the all-fastest longest path
        # through it breaks an SLA, i.e. exactly when Problem.is_feasible() is False (the
        # spec's test).
        for c in pruned.candidates.values():
            if not c.positions:
                return Decision("infeasible")
        t1 = time.perf_counter()
        dp, inv_rest = self._rest.apply(pruned)
        t2 = time.perf_counter()
        limit = self.options.get("time_limit")
        deadline = None if limit is None else t0 + float(limit)
        result = search(dp, self._remainder, deadline)
        t3 = time.perf_counter()
        if result is None:  # cannot happen: the all-fastest choice is in the search space
            return Decision("error", message="fa2: no decision on a feasible instance")
        choice = self._prune.invert(self._rest.invert(result.choice, inv_rest), inv_prune)
        extra = {"prune_ms": (t1 - t0) * 1e3, "transform_ms": (t2 - t1) * 1e3,
                 "dp_ms": (t3 - t2) * 1e3, "coupling_nodes": len(dp.coupling),
                 "search_nodes": result.explored}
        if result.timed_out:
            return Decision("time_limit", choice, lower_bound=result.lower_bound,
                            message=f"coupling-node search stopped after {limit} s "
                                    f"({len(dp.coupling)} coupling nodes)", extra=extra)
        return Decision("optimal", choice, extra=extra)
