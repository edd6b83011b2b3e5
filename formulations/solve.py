"""The ``milp`` method: a formulation's Pyomo model solved exactly by HiGHS.

Interface: Pyomo's ``pyomo.contrib.solver`` HiGHS interface (``SolverFactory('highs')`` of
the new solver API, class :class:`pyomo.contrib.solver.solvers.highs.Highs`). Both it and
``appsi_highs`` work here (Pyomo 6.10, highspy 1.16); the ``contrib.solver`` one is the API
that APPSI was promoted into (APPSI is slated for removal), it takes ``time_limit``,
``threads``, ``rel_gap`` and ``abs_gap`` as typed options, and its ``Results`` give the
termination condition, incumbent, HiGHS's dual bound and HiGHS's own run time without
raising on a non-optimal outcome (``raise_exception_on_nonoptimal_result=False``).

HiGHS settings: ``mip_rel_gap = mip_abs_gap = 0`` (a proven optimum, not a near one);
feasibility and integrality tolerances tightened to 1e-9 so that a rounded solution's
latencies are the model's (a binary 1e-6 off its integer value times a latency of 10⁴ ms
would otherwise hide 0.01 ms); ``threads`` is fixed once per process (HiGHS keeps one global
thread pool; a later, different request is ignored with a warning and the effective value is
reported as ``threads`` in the answer). Default: 1 thread.

Statuses (spec): HiGHS ``kOptimal`` → ``optimal``; ``kInfeasible`` → ``infeasible``;
``kUnboundedOrInfeasible`` → ``infeasible`` too, because every variable of these models is
bounded (binaries, finish times in [0, S_f + ε]) so the model cannot be unbounded;
``kTimeLimit`` → ``time_limit`` with the incumbent (when HiGHS has one) and HiGHS's best
bound as ``lower_bound``; anything else → ``error`` with HiGHS's status in the message.
The base class builds the answer and :func:`fa2opt.solve` verifies every decision.

Timing (``solve_ms`` by the base class, from the tables in memory): ``build_ms`` (Pyomo
model), ``highs_ms`` (the interface's solve call: loading the model into HiGHS, HiGHS's run,
reading values back into Pyomo), ``highs_run_ms`` (HiGHS's own run timer, part of
``highs_ms``) and ``readback_ms`` (rounding the binaries into a choice).
"""

from __future__ import annotations

import math
import time
import warnings
from typing import Any

from fa2opt.problem import Problem
from fa2opt.solver import Decision, Solver

import formulations

DEFAULT_THREADS = 1
HIGHS_TOLERANCES = {"mip_feasibility_tolerance": 1e-9, "primal_feasibility_tolerance": 1e-9}
_process_threads: int | None = None  # HiGHS's thread count, fixed by the first solve


def process_threads(requested: int | None) -> int:
    """The thread count for HiGHS in this process: the first request fixes it."""
    global _process_threads
    if _process_threads is None:
        _process_threads = DEFAULT_THREADS if requested is None else int(requested)
    elif requested is not None and int(requested) != _process_threads:
        warnings.warn(f"HiGHS threads already set to {_process_threads} in this process; "
                      f"ignoring threads={requested}", RuntimeWarning, stacklevel=3)
    return _process_threads


class MILPSolver(Solver):
    """Exact MILP ground truth. Options: ``time_limit`` (s, default none), ``formulation``
    (default ``base``), ``threads`` (HiGHS threads, fixed once per process, default 1),
    ``short_circuit`` (default True: answer ``infeasible`` from the exact all-fastest test
    without building the model, for formulations that only add constraints)."""

    name = "milp"

    @classmethod
    def option_names(cls) -> tuple[str, ...]:
        return ("time_limit", "formulation", "threads", "short_circuit")

    def __init__(self, **options: Any):
        super().__init__(**options)
        # Bad option values become an ``error`` answer naming the option (the CLI prints
        # it as one line and exits 2), not an exception from deep inside a batch run.
        self.option_error: str | None = None
        self.formulation: formulations.Formulation | None = None
        tl = options.get("time_limit")
        th = options.get("threads")
        if tl is not None and (isinstance(tl, bool) or not isinstance(tl, (int, float))
                               or not math.isfinite(tl) or tl <= 0):
            self.option_error = f"time_limit: must be a positive number of seconds (got {tl!r})"
        elif th is not None and (isinstance(th, bool) or not isinstance(th, int) or th < 1):
            self.option_error = f"threads: must be a positive integer (got {th!r})"
        else:
            try:
                self.formulation = formulations.get(options.get("formulation") or "base")
            except KeyError as exc:
                self.option_error = f"formulation: {exc.args[0]}"

    def decide(self, problem: Problem) -> Decision:
        form = self.formulation
        if form is None:
            return Decision("error", message=f"milp: {self.option_error}")
        extra: dict[str, Any] = {"formulation": form.name}
        if self.options.get("short_circuit", True) and form.restricts_base \
                and not problem.is_feasible():
            extra.update(build_ms=0.0, highs_ms=0.0, short_circuit=True)
            return Decision("infeasible", extra=extra,
                            message="the all-fastest choice breaks an SLA (or a node has no "
                                    "available row); no model built")
        from pyomo.common.gc_manager import PauseGC
        from pyomo.contrib.solver.common.results import TerminationCondition as TC
        from pyomo.contrib.solver.solvers.highs import Highs

        # Pyomo creates several objects per model term; the cyclic garbage collector would
        # rescan them over and over (it dominated the build of 10^4-term models), so it is
        # paused while the model is built and solved, as Pyomo's own writers do.
        with PauseGC():
            t0 = time.perf_counter()
            model = form.build(problem)  # may raise InputError for bad extension keys
            t1 = time.perf_counter()
            threads = process_threads(self.options.get("threads"))
            results = Highs().solve(
                model, load_solutions=False, raise_exception_on_nonoptimal_result=False,
                time_limit=self.options.get("time_limit"), threads=threads, rel_gap=0.0,
                abs_gap=0.0, solver_options=dict(HIGHS_TOLERANCES))
        has_incumbent = results.incumbent_objective is not None
        if has_incumbent:
            results.solution_loader.load_vars()
        t2 = time.perf_counter()
        extra.update(build_ms=(t1 - t0) * 1e3, highs_ms=(t2 - t1) * 1e3,
                     highs_run_ms=float(getattr(results.timing_info, "highs_time", 0.0)) * 1e3,
                     threads=threads, termination=str(results.termination_condition.name))
        objective_is_cost = getattr(model, "objective_is_cost", True)
        bound = results.objective_bound
        bound = None if bound is None or not math.isfinite(bound) else float(bound)
        if not objective_is_cost:
            extra.update(objective=results.incumbent_objective, objective_bound=bound)
        tc = results.termination_condition
        if tc in (TC.provenInfeasible, TC.infeasibleOrUnbounded):
            extra.pop("objective", None)
            if form.extra_constraints:
                # Infeasible for this formulation's own constraints, not necessarily for the
                # base problem: the independent check (fa2opt.solver.checked) must not
                # compare it with the base problem's all-fastest test.
                extra["restricted"] = True
            return Decision("infeasible", extra=extra)
        if tc == TC.convergenceCriteriaSatisfied and has_incumbent:
            status = "optimal"
        elif tc == TC.maxTimeLimit:
            status = "time_limit"
        else:
            return Decision("error", extra=extra,
                            message=f"HiGHS stopped with {tc.name} "
                                    f"({'with' if has_incumbent else 'no'} incumbent)")
        lower = bound if (status == "time_limit" and objective_is_cost) else None
        if not has_incumbent:
            return Decision(status, lower_bound=lower, extra=extra,
                            message="time limit reached before HiGHS found a solution")
        t3 = time.perf_counter()
        try:
            choice = form.read_back(problem, model)
        except ValueError as exc:
            return Decision("error", extra=extra, message=f"reading the solution back: {exc}")
        extra["readback_ms"] = (time.perf_counter() - t3) * 1e3
        message = None
        if objective_is_cost:
            cost, inc = problem.cost(choice), float(results.incumbent_objective)
            if abs(cost - inc) > 1e-6 * max(1.0, abs(cost)):
                message = (f"warning: HiGHS objective {inc!r} differs from the table cost "
                           f"{cost!r} of the rounded solution")
        return Decision(status, choice, lower_bound=lower, message=message, extra=extra)
