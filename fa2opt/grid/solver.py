"""``fa2-grid``: the single-instance solver of FA2's grid DP (:class:`GridSolver`)."""

from __future__ import annotations

import math
import time
from types import ModuleType
from typing import Any

import numpy as np

from .. import cpu_kernels, kernels
from ..deadline import DPDeadline, dp_grace_s, stop_at
from ..io import InputError
from ..problem import Problem
from ..reductions import Chain, Decouple, ParetoPrune, SeriesParallel
from ..reductions.decouple import DecoupledProblem
from ..reductions.search import SearchResult
from ..solver import Decision, Solver
from ..spec import REL_TOL
from .coupling import grid_search
from .flow_dp import FlowPart, grid_steps, grid_too_long, reachable_ms
from .rounding import budget_steps

DEFAULT_GRID_MS = 1.0


class GridSolver(Solver):
    """``fa2-grid``: FA2's DP over a latency grid of ``grid_ms`` (default 1 ms), on
    ``device`` cpu (numpy, default), gpu (CuPy) or auto.

    One decision: the exact test ``problem.is_feasible()`` (infeasible exactly when it
    fails); then per rounding the transformation of ``fa2`` and its branch and bound over the
    coupling nodes with :class:`GridRemainder`:

    * up: :class:`~fa2opt.reductions.ParetoPrune` (dominated rows and rows that cannot meet
      an SLA even with every other node at its fastest — neither can be in an up-feasible
      decision, since up-feasible decisions meet the real SLAs) → the up optimum, a decision;
    * down: ``ParetoPrune(slack=False)`` (dominated rows only: dominance survives rounding
      down, the SLA test does not) → the optimum of the down-rounded relaxation over every
      row, the certified lower bound (the same value the batched path computes).

    ``optimal`` when the two meet (1e-9 relative); ``feasible`` with ``lower_bound`` otherwise;
    the all-fastest choice (with a message) when the up grid has no decision.

    ``time_limit`` (seconds, default none): the searches stop there (checked between the
    DP solves of the coupling search; one DP is O(distinct sub-trees · grid steps)) and the
    answer is ``time_limit`` with the up pass's incumbent (or the all-fastest choice) and a
    lower bound: the down pass's optimum or, stopped, its search's bound (the down pass runs
    even after the deadline: stopped at once, it still bounds at its root, one DP per flow
    -- the overrun past the limit, at most :func:`~fa2opt.deadline.dp_grace_s` more). One DP of a large flow
    can take minutes (a 100-node dense DAG: 9 minutes past a 5 s limit), so every DP also
    stops part-way: the up pass's at the deadline (the answer is then the all-fastest
    choice), the down pass's at the deadline plus the grace (the bound is then the
    relaxation without SLAs, :mod:`fa2opt.solver`'s fallback).
    """

    name = "fa2-grid"

    def __init__(self, **options: Any):
        super().__init__(**options)
        self._prune_up, self._prune_down = ParetoPrune(), ParetoPrune(slack=False)
        self._rest = Chain([SeriesParallel(), Decouple()])
        if self.options.get("device") in (None, "cpu", "auto"):
            # loading the compiled kernels is set-up, not decision time (solve_ms); compiling
            # them is not done here: 35 s of CPU after an install, for a one-off CLI decision
            # of milliseconds (the numpy twins then decide: decide())
            cpu_kernels.load_if_cached()

    @classmethod
    def option_names(cls) -> tuple[str, ...]:
        return ("grid_ms", "device", "time_limit")

    def _pass(self, problem: Problem, prune: ParetoPrune, grid_ms: float, mode: str,
              xp: ModuleType, deadline: float | None = None, dp_deadline: float | None = None
              ) -> tuple[SearchResult | None, dict[str, int] | None, DecoupledProblem | None, bool]:
        """The pass's search result, its choice (up) and decoupled problem, and whether a DP
        or the decomposition was stopped part-way at ``dp_deadline`` (then no result, and no
        decoupled problem if it was the decomposition: a 4,000-node non-SP DAG's takes 11 s)."""
        pruned, inv_prune = prune.apply(problem)
        dp: DecoupledProblem | None = None
        try:
            with stop_at(dp_deadline):
                dp, inv_rest = self._rest.apply(pruned)
                res = grid_search(dp, grid_ms, mode, xp, backtrack=(mode == "up"), deadline=deadline)
        except DPDeadline:
            return None, None, dp, True
        if res is None or mode == "down":
            return res, None, dp, False
        return res, prune.invert(self._rest.invert(res.choice, inv_rest), inv_prune), dp, False

    def decide(self, problem: Problem) -> Decision:
        """By the compiled kernels where they are loaded (:func:`fa2opt.cpu_kernels.warm_up`,
        :func:`~fa2opt.cpu_kernels.load_if_cached`), else by their numpy twins (the same bits):
        a decision never waits for a compilation."""
        if cpu_kernels.warmed():
            return self._decide(problem)
        with cpu_kernels.disabled():
            return self._decide(problem)

    def _decide(self, problem: Problem) -> Decision:
        t0 = time.perf_counter()
        grid_ms = check_grid_ms(self.options.get("grid_ms"))
        xp = kernels.get_array_module(self.options.get("device") or "cpu")
        if not problem.is_feasible():  # the spec's exact test
            return Decision("infeasible")
        grid_problem, too_long = _grid_problem(problem, grid_ms)
        coarsened = None
        if too_long and self.options.get("grid_ms") is None:
            # no Δ asked for: the finest of 2, 5, 10, 20, … ms whose grid is taken (latencies
            # of hours at a tiny rate), named in the answer -- a decision, not an error
            coarsened, grid_ms = too_long, _coarser(grid_ms)
            while (found := _grid_problem(problem, grid_ms))[1]:
                grid_ms = _coarser(grid_ms)
            grid_problem, too_long = found
        if too_long:
            return Decision("error", message=f"fa2-grid: {too_long}")
        limit = self.options.get("time_limit")
        deadline = None if limit is None else t0 + float(limit)
        up, choice, dp, up_cut = self._pass(grid_problem, self._prune_up, grid_ms, "up", xp,
                                            deadline, deadline)
        # the down pass runs even when the deadline has passed: stopped at once, its search
        # still gives its root bound (one DP per flow), far above the relaxation without SLAs
        # -- unless that DP outlasts the grace too
        down, _, down_dp, down_cut = self._pass(grid_problem, self._prune_down, grid_ms, "down", xp,
                                          deadline, None if deadline is None
                                          else deadline + dp_grace_s(float(limit)))
        if down is None and not down_cut:  # cannot happen: the relaxation holds the all-fastest choice
            return Decision("error", message="fa2-grid: no decision on the down-rounded grid "
                            "of a feasible instance")
        stopped = (up_cut or down_cut or (up is not None and up.timed_out)
                   or down.timed_out)
        message = None
        if choice is None or not problem.meets_slas(choice):  # (the latter: a safety net)
            choice = problem.fastest_choice()
            if not stopped:
                message = "the up-rounded grid has no decision: answering the all-fastest choice"
        cost = problem.cost(choice)
        # the down pass's optimum, or (stopped) the bound its search had reached; None when
        # its DP was cut off (the base class then takes the relaxation without SLAs)
        lb = None if down is None else min(down.lower_bound if down.timed_out else down.cost,
                                           cost)
        dp = dp if dp is not None else down_dp  # (None: both decompositions stopped)
        parts = [] if dp is None else [FlowPart(f.name, f.tree, f.budget_ms, g)
                                       for f, g in zip(dp.flows, problem.flows)]
        where = ("in the series-parallel decomposition" if dp is None
                 else f"{len(dp.coupling)} coupling nodes")
        extra = {"grid_ms": grid_ms, "grid_steps": grid_steps(parts, grid_ms) if parts else None,
                 "device": "gpu" if kernels.is_cupy(xp) else "cpu",
                 "coupling_nodes": None if dp is None else len(dp.coupling),
                 "search_nodes": (up.explored if up else 0) + (down.explored if down else 0)}
        if up_cut or down_cut:
            extra["dp_stopped"] = [m for m, cut in (("up", up_cut), ("down", down_cut)) if cut]
        if stopped:
            return Decision("time_limit", choice, lower_bound=lb, extra=extra,
                            message=f"fa2-grid: coupling-node search stopped after {limit} s "
                                    f"({where})")
        if coarsened:
            extra["grid_coarsened"] = True
            note = (f"fa2-grid: grid step {grid_ms:g} ms taken, as {coarsened.split(';')[0]} "
                    f"(--grid-ms sets the step)")
            message = note if message is None else f"{note}; {message}"
        status = "optimal" if abs(cost - lb) <= REL_TOL * max(1.0, abs(cost)) else "feasible"
        return Decision(status, choice, lower_bound=lb, message=message, extra=extra)


def _grid_problem(problem: Problem, grid_ms: float) -> tuple[Problem, str | None]:
    """The problem on a grid of ``grid_ms`` (budgets capped, :func:`_capped`) and why that
    grid is refused (:func:`~fa2opt.grid.flow_dp.grid_too_long`), or None."""
    capped = _capped(problem, grid_ms)
    steps = max(int(budget_steps(g.budget_ms, grid_ms, "down", g.terms)) for g in capped.flows) + 1
    return capped, grid_too_long(steps, grid_ms)


def grid_refusal(problem: Problem, grid_ms: float) -> str | None:
    """Why ``fa2-grid`` refuses a step of ``grid_ms`` on ``problem`` when that step is asked
    for (its latency grid would be too long: an ``error`` answer), or None: the one rule,
    for callers that check a step before a run (the tightest-match experiment's config)."""
    return _grid_problem(problem, grid_ms)[1]


def _coarser(grid_ms: float) -> float:
    """The next step of the 1-2-5 series above ``grid_ms`` (1 → 2 → 5 → 10 → …)."""
    e = math.floor(math.log10(grid_ms) + 1e-9)
    for m in (1.0, 2.0, 5.0, 10.0):
        if m * 10.0 ** e > grid_ms * (1 + 1e-9):
            return m * 10.0 ** e
    return 20.0 * 10.0 ** e


def _capped(problem: Problem, grid_ms: float) -> Problem:
    """The problem with each flow's budget cut to :func:`~fa2opt.grid.flow_dp.reachable_ms`
    (tables are sorted by latency: the last row is a node's slowest), so a huge SLA costs no
    more grid than the profiles reach."""
    slowest = {v: t.lists[2][-1] for v, t in problem.tables.items()}
    flows = tuple(g.replaced(budget_ms=min(g.budget_ms, float(reachable_ms(g, slowest, grid_ms))))
                  for g in problem.flows)
    return problem.with_flows(flows)


def check_grid_ms(value: Any) -> float:
    """The grid step Δ in ms (default 1 ms); must be finite and > 0."""
    grid_ms = DEFAULT_GRID_MS if value is None else float(value)
    if not (np.isfinite(grid_ms) and grid_ms > 0):
        raise InputError("--grid-ms", "", f"must be a finite number > 0 (got {value!r})")
    return grid_ms
