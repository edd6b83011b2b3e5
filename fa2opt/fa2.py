"""``--method fa2`` (the default): FA2's graph transformation plus an exact Pareto DP.

After Razavi et al., "FA2: Fast, Accurate Autoscaling for Serving Deep Learning Inference
with SLA Guarantees" (IEEE RTAS 2022), made exact: FA2 discretises latency and reports the
optimum in 96.8% of cases; here the DP works on exact (latency, cost) Pareto fronts, and
graphs FA2 handles approximately (non-series-parallel flows, flows sharing nodes) are solved
by an exact branch and bound over the few coupling nodes.

Pipeline: plan → search → arithmetic, after one reduction of the problem itself:

0. :class:`~fa2opt.reductions.series_runs.SeriesRuns` -- each run of series nodes that the
   same flows share becomes one node whose rows are the run's series Pareto front (FA2's
   series reduction across the flows; the answer is inverted to the run's nodes; option
   ``series_runs=False`` skips it);
1. :func:`fa2opt.plan.plan_for` -- the transformation compiled once per graph structure
   (series-parallel decomposition, node reduction, coupling nodes, components and a
   strategy for each), reused for every rate, SLA and profile (``cache=False``: compiled
   afresh on every decision);
2. :meth:`Plan.decide <fa2opt.plan.Plan.decide>` -- prune (infeasible ⇔ a node is left
   without candidates: exactly the spec's test, ``Problem.is_feasible``), each component's
   strategy (flat sweep, tree DP, or the coupling search :func:`~fa2opt.reductions.search`),
   invert to table positions;
3. the arithmetic: :data:`fa2opt.pareto.EXACT_FRONTS`, exact Pareto fronts (its declared
   per-candidate prices give the search its Lagrangian bound; ``bound="equal"`` declares
   none: the equal split).

``solve_ms`` (timed by :class:`~fa2opt.solver.Solver`) covers all steps and building the
answer. The answer carries a breakdown: ``prune_ms``, ``transform_ms`` (the plan's lookup,
or its compilation), ``dp_ms`` (the strategies), ``coupling_nodes``, ``search_nodes``,
``dp_solves``, and ``merged_runs`` (the nodes step 0 made, where it made any; the coupling
nodes are then the merged problem's).
"""

from __future__ import annotations

import time
from contextlib import nullcontext

from .arithmetic import Arithmetic
from .deadline import DPDeadline, dp_grace_s, stop_at
from .edge import Decide, decide_exact
from .pareto import EXACT_FRONTS, EXACT_FRONTS_EQUAL_SPLIT
from .plan import Plan, compiled_path, plan_for, pruned
from .problem import Problem
from .reductions.series_runs import SeriesRuns, runs_of
from .solver import Decision, Solver

# fa2's ``bound`` option: the arithmetic's declared capabilities choose the search's bound
ARITHMETIC = {"lagrange": EXACT_FRONTS, "equal": EXACT_FRONTS_EQUAL_SPLIT}
SERIES_RUNS = SeriesRuns()


class FA2Solver(Solver):
    """Exact FA2: a thin shell over the plan (:mod:`fa2opt.plan`) with the exact
    arithmetic. Options: ``cache`` (bool, default True): reuse each structure's compiled
    plan across decisions; ``time_limit`` (seconds, default none): stop the coupling-node
    search there and answer ``time_limit`` with the incumbent and a lower bound (the search
    is exponential in the coupling nodes in the worst case); ``bound`` (``"lagrange"``, the
    default, or ``"equal"``): how the coupling search bounds (Lagrangian cost split over the
    flows, or the equal split per leaf it replaced -- kept for comparison); ``series_runs``
    (bool, default True): merge each run of series nodes that the same flows share into one
    node before the plan (:mod:`fa2opt.reductions.series_runs`; False: the ablation)."""

    name = "fa2"

    def __init__(self, **options):
        super().__init__(**options)
        self._cache = bool(self.options.get("cache", True))
        self._merge = bool(self.options.get("series_runs", True))
        bound = self.options.get("bound", "lagrange")
        if bound not in ARITHMETIC:
            raise ValueError(f"fa2: bound must be one of {sorted(ARITHMETIC)}, not {bound!r}")
        self.arithmetic: Arithmetic = ARITHMETIC[bound]

    @classmethod
    def option_names(cls) -> tuple[str, ...]:
        return ("cache", "time_limit", "bound", "series_runs")

    def plan(self, problem: Problem) -> Plan:
        """The compiled plan of ``problem``'s structure (cached unless ``cache=False``)."""
        return plan_for(problem, self._cache)

    def decide(self, problem: Problem) -> Decision:
        """The DP below, made exact under the spec's SLA rule by :func:`fa2opt.edge.decide_exact`
        (one DP with budgets widened by the float margin, then the rule's check; more solves
        only at the SLA's edge)."""
        first: list[Decision] = []
        lat: dict[str, float] = {}
        held: list[dict[str, int]] = []
        status, choice, lb, _ = decide_exact(
            problem, self._exact_dp(time.perf_counter(), first, held), lat, held)
        extra = first[0].extra if first else {}  # (the first DP's own fresh dict)
        extra["dp_solves"] = len(first)  # (every DP run: a merged one judged again too)
        if status == "time_limit":
            if choice is None:  # stopped inside the first DP: the all-fastest choice, if it
                fastest = problem.fastest_choice()  # meets the rule, is an incumbent
                met = None if fastest is None else problem.sla_latencies(fastest)
                if met is not None:
                    choice = fastest
                    lat = met  # (the answer's flow latencies, computed once)
            return Decision(status, choice, lower_bound=lb, message=first[0].message,
                            extra=extra, flow_latency_ms=lat or None)
        if status == "error":
            return Decision(status, message="fa2: no decision on a feasible instance", extra=extra)
        return Decision(status, choice, extra=extra, flow_latency_ms=lat or None)

    def exact_base(self, problem: Problem) -> tuple[str, dict[str, int] | None, float | None]:
        """The optimum of a base problem under the spec's SLA rule (the DP through
        :func:`fa2opt.edge.decide_exact`): what the extensions' branch and bound calls on each
        subproblem (:mod:`fa2opt.extensions.search`)."""
        held: list[dict[str, int]] = []
        status, choice, lb, _ = decide_exact(
            problem, self._exact_dp(time.perf_counter(), None, held), None, held)
        return status, choice, lb

    def _exact_dp(self, t0: float, seen: list[Decision] | None = None,
                  held: list[dict[str, int]] | None = None) -> Decide:
        """:meth:`decide_dp` as :func:`fa2opt.edge.decide_exact` calls it (the time limit
        counted from ``t0``); ``seen``: a list that receives each DP's decision; ``held``: one
        that receives the first (relaxed) solve's :attr:`~fa2opt.solver.Decision.incumbent`
        (for :func:`~fa2opt.edge.decide_exact`; the enumeration's children decide restricted
        tables, whose positions are not the problem's). Runs of
        series nodes are merged for the first solve only (the relaxed one, the only solve
        off the SLA's edge): a search over merged runs does not judge its leaves by the rule
        (``FlowGraph.rule_exact``), so where its answer breaks the rule, the same relaxed
        solve runs again on the instance's own graphs, whose searches judge theirs: its
        answer, the least the rule accepts where every leaf was judged, ends the decision
        there, and only where it still breaks the rule do the solves at the edge follow (on
        the instance's graphs too). Many flows at their edge at once: the enumeration alone
        splits one flow's no-good at a time (long-paths 14x8x16 #946296371 two ulps below
        its edge: past 60 s unjudged, 0.5 s judged; after the merged solve, the narrowed
        solve and the enumeration took 11 solves, 1.1 s, the judged one 2)."""
        first = [True]

        def dp(p: Problem, cutoff: float, stop: float | None = None,
               budgets: tuple[float, ...] | None = None
               ) -> tuple[str, dict[str, int] | None, float | None]:
            merge, first[0] = first[0], False
            d = self.decide_dp(p, t0, cutoff, stop, merge, budgets)
            if (merge and d.status == "optimal" and "merged_runs" in d.extra
                    and not p.meets_slas(d.choice)):  # (p's flows: the instance's rule)
                if seen is not None:
                    seen.append(d)
                d = self.decide_dp(p, t0, cutoff, stop, False, budgets)
            if seen is not None:
                seen.append(d)
            if merge and held is not None and d.incumbent is not None:
                held.append(d.incumbent)  # (the relaxed solve's: in the problem's positions)
            if d.status == "time_limit":
                return d.status, d.choice, d.lower_bound
            return "optimal", d.choice if d.status == "optimal" else None, None

        return dp

    def decide_dp(self, problem: Problem, t0: float | None = None,
                  cutoff: float = float("inf"), stop: float | None = None,
                  merge: bool = True, budgets: tuple[float, ...] | None = None) -> Decision:
        """One DP on ``problem``'s budgets (``FlowGraph.budget_ms``, or ``budgets`` in flow
        order): its runs of shared series nodes merged first
        (:class:`~fa2opt.reductions.series_runs.SeriesRuns`, which keeps the flows and their
        order; the answer inverted to the problem's nodes; not with ``merge`` False), then
        :meth:`_decide_plan`."""
        if not (self._merge and merge):
            return self._decide_plan(problem, t0, cutoff, stop, budgets)
        if budgets is not None and runs_of(problem) is not None:
            problem, budgets = problem.with_budgets(budgets), None  # (runs are cut by them)
        merged, runs = SERIES_RUNS.apply(problem)
        d = self._decide_plan(merged, t0, cutoff, stop, budgets)
        if runs is not None:
            d.extra["merged_runs"] = len(runs)
            if d.choice is not None:
                d.choice = SERIES_RUNS.invert(d.choice, runs)
            if d.incumbent is not None:
                d.incumbent = SERIES_RUNS.invert(d.incumbent, runs)
        return d

    def _decide_plan(self, problem: Problem, t0: float | None = None,
                     cutoff: float = float("inf"), stop: float | None = None,
                     budgets: tuple[float, ...] | None = None) -> Decision:
        """One DP on ``problem``'s budgets (``FlowGraph.budget_ms``, or ``budgets`` in flow
        order: :meth:`Plan.decide`): the plan of its
        structure, decided with the solver's arithmetic (``cutoff``: :meth:`Plan.decide`);
        ``stop`` (a ``time.perf_counter()`` value): this DP's own time limit, as the solver's
        ``time_limit`` counted from ``t0`` is (the earlier of the two holds).
        Where the compiled tree DP runs (:func:`fa2opt.plan.compiled_path`) there is no
        pruning pass: the kernel finds what it needs and answers infeasibility itself.
        Elsewhere pruning comes first, so an infeasible problem is answered without
        compiling a plan."""
        t1 = time.perf_counter()
        front = None
        compiled = compiled_path(self.arithmetic)
        limit = self.options.get("time_limit")
        deadline = None if limit is None else (t1 if t0 is None else t0) + float(limit)
        if stop is not None and (deadline is None or stop < deadline):
            deadline, limit = stop, stop - t1  # (the grace and the messages: its length)
        if not compiled:
            if budgets is not None:  # (pruning's limits are the budgets': a copy with them)
                problem, budgets = problem.with_budgets(budgets), None
            front = pruned(problem)
            if front is None:
                return Decision("infeasible", extra={"prune_ms": (time.perf_counter() - t1) * 1e3})
        t2 = time.perf_counter()
        if deadline is not None and t2 > deadline:  # (pruning proves infeasibility, not more)
            return Decision("time_limit", extra={"prune_ms": (t2 - t1) * 1e3}, message=(
                f"stopped at the time limit ({limit} s) before the transformation"))
        t3 = None
        try:
            # the search checks ``deadline`` between DPs; a single DP stops a grace later
            # (one whose fronts explode can otherwise run for minutes). The stages between
            # DPs stop at ``deadline`` itself (the transformation -- a 4,000-node non-SP
            # DAG's decomposition: 11 s -- and the search's set-up: past it the search
            # stops at once). Without a limit no context is entered: a repeated decision
            # takes ~0.02 ms, a context ~1 µs
            with (nullcontext() if deadline is None
                  else stop_at(deadline + dp_grace_s(float(limit)), deadline)):
                plan = plan_for(problem, self._cache, compiled)
                t3 = time.perf_counter()
                d = plan.decide(problem, self.arithmetic, deadline, cutoff, front, budgets)
        except DPDeadline:
            stopped = "the DP" if t3 is not None else "the transformation"
            return Decision("time_limit", extra={
                "transform_ms": ((t3 or time.perf_counter()) - t2) * 1e3,
                "dp_stopped" if t3 is not None else "transform_stopped": True},
                message=f"{stopped} stopped at the time limit ({limit} s) before a decision")
        if front is not None:
            d.extra["prune_ms"] = (t2 - t1) * 1e3
        d.extra["transform_ms"] = (t3 - t2) * 1e3
        if d.status == "time_limit":
            d.message = (f"coupling-node search stopped after {limit} s "
                         f"({len(plan.coupling)} coupling nodes)")
        return d
