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

``solve_ms`` (timed by :class:`~fa2opt.solver.Solver`) covers all five steps and building
the answer. The answer carries a breakdown: ``prune_ms``, ``transform_ms`` (steps 3-4),
``dp_ms`` (step 5), ``coupling_nodes``, ``search_nodes``.
"""

from __future__ import annotations

import time

from .pareto import pareto_remainder
from .problem import Problem
from .reductions import Chain, Decouple, ParetoPrune, SeriesParallel, search
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
    split per leaf it replaced -- kept for comparison)."""

    name = "fa2"

    def __init__(self, **options):
        super().__init__(**options)
        self._prune = ParetoPrune()
        self._rest = Chain([SeriesParallel(cache=bool(self.options.get("cache", True))), Decouple()])
        bound = self.options.get("bound", "lagrange")
        if bound not in BOUNDS:
            raise ValueError(f"fa2: bound must be one of {sorted(BOUNDS)}, not {bound!r}")
        self._remainder = BOUNDS[bound]

    @classmethod
    def option_names(cls) -> tuple[str, ...]:
        return ("cache", "time_limit", "bound")

    def decide(self, problem: Problem) -> Decision:
        t0 = time.perf_counter()
        pruned, inv_prune = self._prune.apply(problem)
        # The latency limits are computed from the all-fastest choice: a node is left with no
        # candidate exactly when it has no available row or the all-fastest longest path
        # through it breaks an SLA, i.e. exactly when Problem.is_feasible() is False (the
        # spec's test).
        if not all(c.positions for c in pruned.candidates.values()):
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
