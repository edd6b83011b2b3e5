"""The ``milp`` method: a formulation's Pyomo model solved exactly by HiGHS.

Interface: Pyomo's ``pyomo.contrib.solver`` HiGHS interface (``SolverFactory('highs')`` of
the new solver API, class :class:`pyomo.contrib.solver.solvers.highs.Highs`). Both it and
``appsi_highs`` work here (Pyomo 6.10, highspy 1.16); the ``contrib.solver`` one is the API
that APPSI was promoted into (APPSI is slated for removal), it takes ``time_limit``,
``threads``, ``rel_gap`` and ``abs_gap`` as typed options, and its ``Results`` give the
termination condition, incumbent, HiGHS's dual bound and HiGHS's own run time without
raising on a non-optimal outcome (``raise_exception_on_nonoptimal_result=False``).

**Exact by the spec's rule, not by HiGHS's tolerance.** HiGHS accepts a point that breaks a
row by up to its feasibility tolerance, and its arithmetic adds a path's terms in other
orders than the spec's one rule (:mod:`fa2opt.spec`: the canonical left-to-right longest
path against ``fl(S + 1e-6)``). So HiGHS's decision is never trusted as is:

1. *The model is a relaxation.* Every row that stands for a spec rule (flow SLA, capacity,
   accuracy floor) has its bound widened by :func:`formulations.base.row_margin` (a bound on
   the floating-point difference between summation orders, plus HiGHS's tolerance per row
   of a path), so no decision the rule accepts is cut off by HiGHS's rounding. Rows whose
   own value already breaks a budget or limit are fixed to 0 (exact: the rule is monotone),
   and flows that even the slowest rows meet (an SLA of 1e19 or 1e300 ms, which HiGHS would
   read as infinite) get no rows at all.
2. *Exact re-check.* The decision read back from HiGHS is checked by each of the model's
   ``rule_checks`` (the SLA rule, and the extension's rules recomputed from the tables).
3. *Cut and re-solve.* A rejected decision gets a no-good cut, strengthened by
   monotonicity (:class:`formulations.Violation`): on the violated flow's nodes, at least
   one node must take a row strictly faster than now (``Σ_v Σ_{k: L_vk ≥ L_v*} x_vk ≤
   |V_f| − 1``; likewise fewer units on the over-full hardware kind, more accuracy on the
   flow below its floor). The cut removes that decision and others the rule rejects too,
   never one it accepts; HiGHS re-solves the same (persistent) model. Each round removes at
   least one decision, so the loop ends; at ``MAX_CUTS`` cuts the answer is ``error``.
   The answer is the first decision that passes, optimal because the model minus the cuts
   still contains every decision the rule accepts.
4. *Recovery from HiGHS itself.* A decision that breaks the model's own widened row by more
   than its widening (HiGHS 1.16's presolve was seen returning one over a capacity row by 6
   units), an unreadable solution, or a HiGHS error status, makes every further solve run
   with ``presolve = off`` (an error persisting without presolve: once more with a 100×
   looser tolerance). An ``infeasible`` claim is re-checked without presolve unless the
   base problem's exact all-fastest test already proves it.
5. *Time limit.* ``time_limit`` keeps HiGHS's dual bound as ``lower_bound`` (valid: the
   model with any cuts is a relaxation) and the incumbent only if it passes the rule. It
   counts from before the model build. HiGHS's run is waited for at most its limit plus
   :func:`run_grace` and then abandoned (``highs_abandoned``; HiGHS 1.16 was seen spinning
   past its own limit), answering ``time_limit`` with the last improving solution HiGHS
   reported before (its ``cbMipImprovingSolution`` event) where that passes the rule.

The extras report ``highs_solves``, ``cuts``, ``presolve`` (``choose`` or ``off``),
``feasibility_tolerance`` and, when a recovery happened, ``recovered`` (why). The objective
reported with a non-cost objective (the answer's ``objective``; ``lower_bound`` then bounds
it) is recomputed from the tables (``model.table_objective``), never read from HiGHS, and the cost always is (HiGHS's objective differing by more than 1e-6
relative adds a warning ``message``).

HiGHS settings: ``mip_rel_gap = mip_abs_gap = 0`` (a proven optimum, not a near one);
presolve off below :data:`PRESOLVE_FROM` binaries (:func:`first_presolve`);
feasibility and integrality tolerances ``model.feas_tol`` = 1e-9, on rows divided by a power
of two so their values are at most about 1 (:func:`formulations.base.row_scale`: values near
1e9 ms have ulps of 1e-7, at which HiGHS reports errors or false infeasibility, and raising
the tolerance instead let binaries sit 1e-5 off 0/1 and returned a suboptimal choice);
``threads`` is fixed once per process
(HiGHS keeps one global thread pool; a later, different request is ignored with a warning
and the effective value is reported as ``threads`` in the answer). Default: 1 thread.

Statuses (spec): HiGHS ``kOptimal`` → ``optimal``; ``kInfeasible`` → ``infeasible``;
``kUnboundedOrInfeasible`` → ``infeasible`` too, because every variable of these models is
bounded (binaries, finish times in [0, widened budget]) so the model cannot be unbounded;
``kTimeLimit`` → ``time_limit`` (above); anything else, after the recoveries → ``error``
with HiGHS's status in the message. The base class builds the answer from the tables and
:func:`fa2opt.solve` verifies every decision; an answer without a decision has none.

Timing (``solve_ms`` by the base class, from the tables in memory): ``build_ms`` (Pyomo
model), ``highs_ms`` (the interface's solve calls: loading the model into HiGHS, HiGHS's
run, reading values back into Pyomo; all re-solves included), ``highs_run_ms`` (HiGHS's own
run timer, part of ``highs_ms``; cumulative over the re-solves) and ``readback_ms`` (rounding
the binaries into a choice and the exact re-check).
"""

from __future__ import annotations

import contextlib
import functools
import math
import threading
import time
import warnings
from typing import Any

from fa2opt.deadline import DPDeadline, dp_grace_s, stop_at
from fa2opt.extensions import RULED_OUT, extensions_of, validate as validate_extensions
from fa2opt.problem import Problem
from fa2opt.solver import Decision, Solver

import formulations

DEFAULT_THREADS = 1
# HiGHS 1.16 can spin past its own time limit without reaching any interrupt callback (seen
# inside HighsNodeQueue::link_estim on a 1,000-node chain with capacity, accuracy and switch
# keys, presolve on and tolerances 1e-9: --time-limit 20 never answered). With a time limit,
# HiGHS's run is therefore waited for at most its limit plus this grace, then abandoned.
RUN_GRACE_S = 2.0
RUN_GRACE_FRACTION = 0.1
RUN_GRACE_MAX_S = 5.0
TOLERANCES = ("mip_feasibility_tolerance", "primal_feasibility_tolerance")
LOOSE_FACTOR = 100.0  # a retry after HiGHS stops with an error even without presolve
# rebuilds with a raised objective floor (base.objective_floor): each lets 1e6x more span in,
# and row objectives span at most ~1e62 (fa2opt.spec's ranges), so 16 always suffice. With a
# negative floor (an accuracy weight), a decision passing every rule with a negative objective
# V widens the span instead (the ceiling: optimum <= V < 0); when the restricted model finds
# none, the whole model is solved once for one, or for a proof of infeasibility
# (MILPSolver._solve_whole). A round that would not widen the span is not run.
MAX_FLOOR_ROUNDS = 16
TINY_COEF = 1e-6  # a finish-time row coefficient below this: solved with and without presolve
# (and every small model, PRESOLVE_FROM: both ways, :func:`both_ways`). HiGHS 1.16 at the 1e-9
# tolerance answered wrong optima on small models without presolve (1.3 for 0.8 at a
# coefficient of 1.6e-6; 0.6 for 0.5 on a 3-node chain of 8 binaries far from every edge,
# coefficient 7.8e-4: tests/test_milp_edge.py) and with it (6 for 5 on 7 binaries), so a
# small model is solved both ways, each in milliseconds. Large models only below 1e-6: the
# 0.01-0.1 ms transfer latencies of generated graphs beside budgets of seconds give
# coefficients of 1e-6-1e-5, where no wrong answer was seen and a second solve doubles the
# time (1e-4 for all, f9cdeb8 to a2dc3c6). The shipped pipelines' least is 8.7e-3.
# The second solve of such a model may take OTHER_SHARE x the time spent so far (at least
# OTHER_MIN_S), within the time limit; where it stops first, the first solve's decision
# stands. (Uncapped, a 200-node, 8-flow model with a 0.05 ms transfer latency solved in 29 s
# with presolve ran past 400 s without it, and a 500-node random DAG proven in 3.9 s took
# every --time-limit it was given: audit 16.)
OTHER_SHARE = 1.0
OTHER_MIN_S = 1.0
# HiGHS's presolve runs on models of at least this many binaries only. Below, it saves
# nothing (issue 13's small graphs, 16-149 binaries: median 6.8 ms with it, 7.1 without),
# and it is the part of HiGHS with a record of wrong kOptimal answers: 1.16.0 proved 6 the
# optimum of a 7-binary chain whose optimum is 5 (1.15.1 and 1.12 find 5; tests/
# test_milp_edge.py), as 1.14.0 did on other tiny models (ERGO-Code/HiGHS#2957, #3043,
# #3073, #3094). Above it presolve pays (dense 96-360 binaries: 12 vs 18 ms, worst 19 vs
# 94; lattices and random DAGs of 600-1,300: 2-3x) and stays on.
PRESOLVE_FROM = 150
MAX_CUTS = 1000  # bound on the no-good cuts of one solve (each removes ≥ 1 rejected decision)
_process_threads: int | None = None  # HiGHS's thread count, fixed by the first solve


def first_presolve(model: Any) -> str:
    """HiGHS's presolve option for ``model``'s first solve: "off" below
    :data:`PRESOLVE_FROM` binaries (``model.x``, the choice binaries), else "choose" (HiGHS
    decides; also for a user formulation's model without ``x``)."""
    x = getattr(model, "x", None)
    return "off" if x is not None and len(x) < PRESOLVE_FROM else "choose"


def both_ways(model: Any) -> bool:
    """Whether ``model`` is solved with and without presolve (the cheaper verified decision
    kept): a small model (solved first without presolve, :data:`PRESOLVE_FROM`), or one
    whose least finish-time coefficient is below :data:`TINY_COEF`."""
    return first_presolve(model) == "off" or getattr(model, "least_coef", 1.0) < TINY_COEF


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
    native_extensions = True  # its formulation builds the extensions into the model

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
                self.formulation = formulations.get(options.get("formulation") or "extended")
            except KeyError as exc:
                self.option_error = f"formulation: {exc.args[0]}"

    def extension_names(self, problem: Problem) -> tuple[str, ...]:
        """What the formulation solves: the vocabulary's extensions it honours that the
        instance carries, or its own name for a MILP-only formulation."""
        form = self.formulation
        if form is None:
            return ()
        if form.milp_only:
            return (form.name,)
        present = extensions_of(problem.instance, form.extensions or ())
        return present if form.extensions is None else tuple(
            n for n in present if n in form.extensions)

    def decide(self, problem: Problem) -> Decision:
        form = self.formulation
        if form is None:
            return Decision("error", message=f"milp: {self.option_error}")
        extra: dict[str, Any] = {"milp_formulation": form.name}
        if form.milp_only:
            extra["milp_only"] = True  # outside the vocabulary: no other method solves it
        # the extension keys it solves are read before any answer (InputError naming the
        # field), as fa2 reads them: an invalid key is an input error whatever the SLA, not
        # an `infeasible` from the short circuits below that build nothing
        names = self.extension_names(problem)
        validate_extensions(problem.instance, names)
        if self.options.get("short_circuit", True) and form.restricts_base \
                and not problem.is_feasible():
            extra.update(build_ms=0.0, highs_ms=0.0, short_circuit=True)
            return Decision("infeasible", extra=extra,
                            message="the all-fastest choice breaks an SLA (or a node has no "
                                    "available row); no model built")
        if self.options.get("short_circuit", True) and not form.milp_only \
                and _extensions_rule_out(problem, names):
            # proven without HiGHS, whose objective scaling at the extremes (rows left out
            # beyond the span it resolves) could otherwise leave it unsettled
            extra.update(build_ms=0.0, highs_ms=0.0, short_circuit=True, restricted=True)
            return Decision("infeasible", extra=extra,
                            message=f"{RULED_OUT}; no model built")
        from pyomo.common.gc_manager import PauseGC

        # Pyomo creates several objects per model term; the cyclic garbage collector would
        # rescan them over and over (it dominated the build of 10^4-term models), so it is
        # paused while the model is built and solved, as Pyomo's own writers do.
        from formulations import base

        with PauseGC():
            t0 = time.perf_counter()
            threads = process_threads(self.options.get("threads"))
            floor, ceiling, build_s = -math.inf, math.inf, 0.0
            whole_solved, known = False, None  # known: a whole-model decision's objective
            limit = self.options.get("time_limit")
            build_deadline = None if limit is None else t0 + limit + dp_grace_s(limit)

            def build(whole: str | None = None) -> Any:
                """The model (None when the time limit passed while building it)."""
                nonlocal build_s
                t1 = time.perf_counter()
                try:
                    # the build checks the limit too (base.checked), a grace after it
                    with base.objective_floor(floor, ceiling), stop_at(build_deadline), \
                            (base.whole_model(whole) if whole
                             else contextlib.nullcontext()):
                        return form.build(problem)  # may raise InputError (extension keys)
                except DPDeadline:
                    return None
                finally:
                    build_s += time.perf_counter() - t1
                    extra["build_ms"] = build_s * 1e3

            def built_late() -> Decision:
                extra["termination"] = "maxTimeLimit"
                return Decision("time_limit", lower_bound=None if floor == -math.inf
                                else floor, extra=extra, message=(
                                    "time limit reached while building the model, "
                                    "before HiGHS ran"))

            for _ in range(MAX_FLOOR_ROUNDS):
                model = build()
                if model is None:
                    return built_late()
                # the time limit counts from before the build (solve_ms does): on a
                # 10,000-node chain the build took 1-3 s that HiGHS's own limit then came on
                # top of
                found = solve_exactly(problem, form, model, threads, limit, extra,
                                      started=t0, floor=floor, presolve=first_presolve(model))
                # rows left out beyond the objective span, and nothing found below the
                # cutoff: the optimum is at least the cutoff; rebuild with it as the floor,
                # which lets rows up to 1e6 x it in (base.objective_floor), or with the
                # objective of a decision found that passes every rule as the ceiling, which
                # lets rows up to 1e6 x -it in when it is negative
                raised = extra.pop("proven_floor", None)
                upper = extra.pop("proven_upper", None)
                if raised is None:
                    if both_ways(model) and found.status in ("optimal", "infeasible"):
                        found = self._other_presolve(problem, form, threads, found, t0,
                                                     floor, ceiling, build_deadline,
                                                     first_presolve(model))
                    return found
                floor = max(floor, raised)
                if upper is not None:
                    ceiling = min(ceiling, upper)
                basis = max(1.0, getattr(model, "span_basis", None) or 1.0)
                if upper is None and not whole_solved \
                        and not base.span_basis(floor, ceiling) > basis:
                    # the restricted model has no decision and the floor does not widen the
                    # span (it is negative): solve the whole model once, every row kept, for
                    # a decision passing every rule (its objective bounds the optimum from
                    # above, widening the span when negative) or a proof that none exists
                    whole_solved = True
                    seen = self._solve_whole(problem, form, threads, extra, build, t0, floor)
                    if seen is None:
                        return built_late()
                    if seen.status != "optimal" or seen.choice is None:
                        return seen  # infeasible (proven), time_limit (bound: floor), error
                    known = (problem.cost(seen.choice) if seen.objective is None
                             else seen.objective)
                    if known < 0:
                        ceiling = min(ceiling, known)
                if not base.span_basis(floor, ceiling) > basis:
                    if known is not None and upper is None:
                        # (the optimum may be near 0 while rows differ by up to 1e12 or more)
                        high = min(ceiling, known)
                        found.message = base.ROWS_LEFT_OUT + (
                            f"without them HiGHS finds no decision; the whole model has one "
                            f"with objective {high:.6g}, so the optimum lies in "
                            f"[{floor:.6g}, {high:.6g}], a range that does not keep "
                            f"|optimum| far enough from 0 for HiGHS to resolve rows that far "
                            f"apart; use --method fa2")
                    return found
                extra["floor_rounds"] = extra.get("floor_rounds", 0) + 1
            return found

    def _solve_whole(self, problem: Problem, form: formulations.Formulation, threads: int,
                     extra: dict[str, Any], build: Any, started: float, floor: float
                     ) -> Decision | None:
        """The whole model (every usable row; :func:`base.whole_model`) solved by
        :func:`solve_exactly` (rule checks and cuts as ever) when a restricted model found
        no decision: first with the objective unrestricted, whose decision -- HiGHS's
        optimum only approximately, as the rows' objectives are too far apart -- passes every
        rule and so bounds the optimum from above; when that solve finds none, once more
        with objective 0, a feasibility problem HiGHS settles exactly: its ``infeasible``
        (re-solved without presolve before it is trusted, as always) is the answer. Its
        ``optimal`` is never the answer: the caller takes the decision's objective.
        None when the time limit passed while building."""
        extra["whole_model_solves"] = 0
        seen = None
        for objective in ("approximate", "zero"):
            model = build(objective)
            if model is None:
                return None
            extra["whole_model_solves"] += 1
            seen = solve_exactly(problem, form, model, threads, self.options.get("time_limit"),
                                 extra, started=started, floor=floor,
                                 presolve=first_presolve(model))
            extra.pop("proven_floor", None)
            extra.pop("proven_upper", None)
            if seen.status not in ("infeasible", "error"):
                return seen
        if seen.status == "infeasible":
            seen.message = "; ".join(m for m in (seen.message, (
                "a restricted model found no decision, and no decision of the whole model "
                "(solved with objective 0) passes every rule")) if m)
        return seen

    def _other_presolve(self, problem: Problem, form: formulations.Formulation,
                        threads: int, found: Decision, started: float,
                        floor: float, ceiling: float, build_deadline: float | None,
                        first: str) -> Decision:
        """``found`` (solved with presolve ``first``) or, if better, the decision of the same
        model solved with the other setting (:func:`both_ways`). HiGHS 1.16 at the 1e-9
        tolerance, on finish-time rows with tiny coefficients, cut off a feasible optimum with its
        presolve on one model (latencies of 1e-6 ms beside 33 ms delays: 11 answered as
        17) and without it on another (10009 for 22; tests/test_milp_edge.py). Both
        decisions pass the rule's exact check, so the cheaper one is the better answer.
        The second solve (its build included) may take :data:`OTHER_SHARE` × the time spent
        so far, at least :data:`OTHER_MIN_S`, and never past the time limit; where it stops
        first, ``found`` stands (``presolve_both`` is then ``"stopped"``). Its build stops at
        ``build_deadline`` as the first's does (``found`` kept)."""
        from formulations import base

        now = time.perf_counter()
        budget = max(OTHER_MIN_S, OTHER_SHARE * (now - started))
        limit = self.options.get("time_limit")
        if limit is not None:
            budget = min(budget, started + float(limit) - now)
        found.extra["presolve_both"] = "stopped"
        if budget <= 0:
            return found
        ends = now + budget
        try:
            with base.objective_floor(floor, ceiling), \
                    stop_at(ends if build_deadline is None else min(ends, build_deadline)):
                model = form.build(problem)
        except DPDeadline:
            return found
        more: dict[str, Any] = {}
        other = solve_exactly(problem, form, model, threads, budget, more, started=now,
                              floor=floor, presolve="choose" if first == "off" else "off")

        def value(d: Decision) -> float:
            if d.choice is None:
                return math.inf
            return d.objective if d.objective is not None else problem.cost(d.choice)

        if other.status == "time_limit":
            if not value(other) < value(found):
                return found
            # a cheaper decision that passes the exact check disproves the first solve's
            # optimum: the answer is that decision, optimality not proven
            other.extra = {**found.extra, **more, "presolve_both": "stopped"}
            return Decision("feasible", other.choice, lower_bound=other.lower_bound,
                            objective=other.objective, extra=other.extra, message=(
                                "the solves with and without presolve disagree, and the "
                                "second stopped before proving its cheaper decision optimal"))
        found.extra["presolve_both"] = True
        if other.status != "optimal" or not value(other) < value(found):
            return found
        more.pop("proven_floor", None)
        more.pop("proven_upper", None)
        other.extra = {**found.extra, **more, "presolve_both": True}
        return other


def _extensions_rule_out(problem: Problem, names: tuple[str, ...]) -> bool:
    """:func:`fa2opt.extensions.ruled_out` on the extensions solved (False without any)."""
    if not names:
        return False
    from fa2opt.extensions import declare, ruled_out

    return ruled_out(problem, declare(problem, names))


def solve_exactly(problem: Problem, form: formulations.Formulation, model: Any, threads: int,
                  time_limit: float | None, extra: dict[str, Any],
                  started: float | None = None, floor: float = -math.inf,
                  presolve: str = "choose") -> Decision:
    """Solve ``model`` with HiGHS until its decision passes every rule of the spec (see the
    module's docstring): cut off what the exact check rejects, re-solve without presolve
    when HiGHS answers outside its own model or claims infeasibility that is not certain.
    ``time_limit`` counts from ``started`` (a ``time.perf_counter()`` value; default: now),
    so a caller that built the model first can charge the build to the limit. ``floor``: a
    proven lower bound on the optimum objective (an earlier round's cutoff,
    :func:`base.objective_floor`), the least ``lower_bound`` of a ``time_limit`` answer.
    ``presolve``: HiGHS's presolve option of the first solve ("choose" or "off")."""
    import pyomo.environ as pyo
    from pyomo.contrib.solver.common.results import TerminationCondition as TC
    from pyomo.contrib.solver.solvers.highs import Highs

    from formulations import base

    t_start = time.perf_counter() if started is None else started
    deadline = None if time_limit is None else t_start + time_limit
    highs = _guarded(Highs)()
    highs.run_deadline = deadline  # (the loading and each run: what is left of it then)
    model.no_good = pyo.ConstraintList()
    checks = getattr(model, "rule_checks", None) or [
        lambda choice: base.sla_violations(problem, model, choice)]

    def broken(choice: dict[str, int]) -> list:  # what the rule's checks reject in choice
        return [v for check in checks for v in check(choice)]

    table_objective = getattr(model, "table_objective", None)  # None: the objective is cost
    # the base problem's exact test settles an infeasible answer of any formulation that
    # only restricts it; otherwise HiGHS's claim is re-checked without presolve
    settled_infeasible = form.restricts_base and not problem.is_feasible()
    solves, run_s, highs_s, recovered = 0, 0.0, 0.0, []
    tolerance = getattr(model, "feas_tol", formulations.FEAS_TOL)
    loosened, last_bound = False, None
    # HiGHS minimises (objective − offset) / scale (base.objective_for_highs)
    obj_scale = getattr(model, "objective_scale", 1.0)
    obj_offset = getattr(model, "objective_offset", 0.0)

    def decision(status: str, choice: dict[str, int] | None = None, bound: float | None = None,
                 message: str | None = None, **more: Any) -> Decision:
        extra.update(highs_ms=highs_s * 1e3, highs_run_ms=run_s * 1e3,
                     threads=threads, highs_solves=solves, cuts=len(model.no_good),
                     presolve=presolve, feasibility_tolerance=tolerance, **more)
        if recovered:
            extra["recovered"] = "; ".join(recovered)[:500]
        if status == "time_limit" and floor > -math.inf and (bound is None or bound < floor):
            bound = floor  # (the messages say "no lower bound" only where floor is -inf)
        objective = None  # the tables' value (lower_bound then bounds the objective)
        if table_objective is not None and choice is not None:
            objective = table_objective(choice)
        if status == "infeasible" and form.extra_constraints:
            # infeasible for this formulation's own constraints, not necessarily for the base
            # problem: fa2opt.solver.checked must not hold it against the all-fastest test
            extra["restricted"] = True
        return Decision(status, choice, lower_bound=bound if status == "time_limit" else None,
                        message=message, extra=extra, objective=objective)

    def no_bound() -> str:  # what a time_limit message adds when no lower bound is known
        return "" if last_bound is not None or floor > -math.inf else "; HiGHS gave no lower bound"

    if getattr(model, "objective_error", None):
        return decision("error", message=model.objective_error)
    # rows beyond the objective span HiGHS resolves were left out (base.objective_for_highs):
    # the restricted model's answer holds only below this objective
    cutoff = getattr(model, "objective_cutoff", None)
    # the whole model solved for a decision only (base.whole_model): no bound, no optimality
    feasibility = getattr(model, "objective_approximate", False)
    beyond = base.ROWS_LEFT_OUT
    while True:
        left = None if deadline is None else deadline - time.perf_counter()
        if left is not None and left <= 0:
            extra.setdefault("termination", "maxTimeLimit")
            return decision("time_limit", bound=last_bound, message=(
                ("time limit reached while re-solving" if solves else
                 "time limit reached while building the model, before HiGHS ran") +
                no_bound()))
        t2 = time.perf_counter()
        try:
            results = highs.solve(
                model, load_solutions=False, raise_exception_on_nonoptimal_result=False,
                time_limit=left, threads=threads, rel_gap=0.0, abs_gap=0.0,
                solver_options={**dict.fromkeys(TOLERANCES, tolerance), "presolve": presolve})
        except LoadingStopped as exc:
            highs_s += time.perf_counter() - t2
            extra["termination"] = "maxTimeLimit"
            return decision("time_limit", bound=last_bound, message=f"{exc}" + no_bound())
        except HighsOverran as exc:
            # HiGHS is left running in its (daemon) thread; this model and interface are
            # not touched again
            solves += 1
            highs_s += time.perf_counter() - t2
            extra["termination"] = "maxTimeLimit"
            extra["highs_abandoned"] = True
            # its last improving solution, if it reported one, kept where it passes the rule
            # (a 1,000-node chain with accuracy and switch keys: HiGHS had one at 10 s, then
            # spun; without it a 30 s limit answered no decision where 10 s answered one)
            if exc.solution is not None and _load_columns(highs, exc.solution):
                try:
                    choice = form.read_back(problem, model)
                except ValueError:
                    choice = None
                if choice is not None and not broken(choice):
                    return decision("time_limit", choice, last_bound, message=(
                        f"{exc}; its last improving solution kept" + no_bound()))
            return decision("time_limit", bound=last_bound, message=(
                f"{exc}" + no_bound()))
        solves += 1
        highs_s += time.perf_counter() - t2
        run_s = float(getattr(results.timing_info, "highs_time", 0.0))  # HiGHS: cumulative
        tc = results.termination_condition
        extra["termination"] = str(tc.name)
        if tc in (TC.provenInfeasible, TC.infeasibleOrUnbounded):
            if cutoff is not None and not settled_infeasible and presolve == "off":
                extra["proven_floor"] = cutoff  # every decision holds a row left out
                return decision("error", message=beyond + "without them HiGHS finds no "
                                "decision (whether the instance has one is not settled: "
                                "it may be infeasible); use --method fa2")
            if settled_infeasible or presolve == "off":
                return decision("infeasible")
            presolve = "off"
            recovered.append("HiGHS claimed infeasible with presolve; re-solved without")
            continue
        has_incumbent = results.incumbent_objective is not None
        bound = results.objective_bound
        # HiGHS solved (objective − offset) / scale (base.objective_for_highs): undo it
        bound = (None if bound is None or not math.isfinite(bound)
                 else float(bound) * obj_scale + obj_offset)
        # the model with any of the cuts is a relaxation of the spec's problem (its rows
        # widened, each cut removing only decisions the rule rejects): its bound stays valid
        last_bound = bound = bound if bound is not None else last_bound
        # the restricted model's bound does not bound the whole; a whole model solved for a
        # decision only (objective 0 or approximate) bounds nothing exactly
        if cutoff is not None or feasibility:
            last_bound = bound = None
        if tc == TC.convergenceCriteriaSatisfied and has_incumbent:
            status = "optimal"
        elif tc == TC.maxTimeLimit:
            status = "time_limit"
        elif presolve != "off" or not loosened:
            if presolve != "off":
                presolve = "off"
                recovered.append(f"HiGHS stopped with {tc.name}; re-solved without presolve")
            else:
                tolerance, loosened = tolerance * LOOSE_FACTOR, True
                recovered.append(f"HiGHS stopped with {tc.name} without presolve; re-solved "
                                 f"with feasibility tolerance {tolerance:g}")
            continue
        else:
            return decision("error", message=f"HiGHS stopped with {tc.name} "
                                             f"({'with' if has_incumbent else 'no'} incumbent)")
        # (a name of its own: ``no_bound`` is the function above, which a later round of
        # this loop calls when its deadline passes -- rebinding it to this text made that
        # call a TypeError that ended the whole CLI run, audit 10)
        no_lb = "" if bound is not None else "; HiGHS has no lower bound yet"
        if not has_incumbent:
            return decision(status, bound=bound,
                            message="time limit reached before HiGHS found a solution" + no_lb)
        t_load = time.perf_counter()
        results.solution_loader.load_vars()  # reading values back into Pyomo: part of highs_ms
        t3 = time.perf_counter()
        highs_s += t3 - t_load
        try:
            choice = form.read_back(problem, model)
        except ValueError as exc:
            if presolve != "off":
                presolve = "off"
                recovered.append(f"unreadable solution ({exc}); re-solved without presolve")
                continue
            return decision("error", message=f"reading the solution back: {exc}")
        violations = broken(choice)
        extra["readback_ms"] = (time.perf_counter() - t3) * 1e3
        if not violations and cutoff is not None:
            value = problem.cost(choice) if table_objective is None else table_objective(choice)
            if status == "optimal" and not value <= cutoff:
                extra["proven_floor"] = cutoff  # min(value, any decision with a row left out)
                extra["proven_upper"] = value  # the decision passes every rule
                return decision("error", message=beyond + f"the best decision without them "
                                                          f"({value:.3g}) may not be optimal; "
                                                          f"use --method fa2")
        if not violations:
            notes = [_objective_warning(problem, choice, table_objective,
                                        None if results.incumbent_objective is None
                                        or feasibility
                                        else float(results.incumbent_objective) * obj_scale
                                        + obj_offset),
                     "time limit reached" + no_lb if status == "time_limit" else None]
            return decision(status, choice, bound,
                            message="; ".join(n for n in notes if n) or None)
        if status == "time_limit":
            return decision(status, bound=bound, message=(
                f"time limit reached; HiGHS's incumbent breaks the rule ({violations[0].what}) "
                f"and was dropped" + no_lb))
        if any(not v.cut for v in violations):
            recovered.append(next(v.what for v in violations if not v.cut) +
                             ", and so does every choice")
            return decision("infeasible")
        if any(v.beyond_model for v in violations) and presolve != "off":
            presolve = "off"
            recovered.append(f"HiGHS's solution breaks its own model ({violations[0].what}); "
                             f"re-solved without presolve")
        if len(model.no_good) + len(violations) > MAX_CUTS:
            return decision("error", message=f"gave up after {len(model.no_good)} cuts: HiGHS "
                                             f"keeps returning decisions the spec's rule rejects "
                                             f"({violations[0].what})")
        for v in violations:
            model.no_good.add(base.linear([model.x[u, k] for u, ks in v.cut.items() for k in ks],
                                          [1.0] * sum(len(ks) for ks in v.cut.values()))
                              <= len(v.cut) - 1)


class HighsOverran(RuntimeError):
    """HiGHS's run outlasted its time limit plus :func:`run_grace` and was abandoned;
    ``solution``: the column values of the last improving solution HiGHS reported before
    (its ``cbMipImprovingSolution`` event), or None."""

    def __init__(self, message: str, solution: Any = None) -> None:
        super().__init__(message)
        self.solution = solution


def _load_columns(interface: Any, columns: Any) -> bool:
    """Column values (HiGHS's order) into the Pyomo variables of ``interface`` (Pyomo's HiGHS
    interface: its variable-to-column map, as its own ``_get_primals`` reads it); whether
    they could be (False, nothing trusted, where the map is not there or the sizes differ)."""
    try:
        cols = interface._pyomo_var_to_solver_var_map
        if len(columns) != len(cols):
            return False
        for v_id, (var, *_) in interface._vars.items():
            var.set_value(float(columns[cols[v_id]]), skip_validation=True)
        return True
    except Exception:  # (another Pyomo's private layout: the answer keeps no incumbent)
        return False


def run_grace(limit: float) -> float:
    """Seconds a HiGHS run may outlast its own time limit before it is abandoned."""
    return min(RUN_GRACE_S + RUN_GRACE_FRACTION * limit, RUN_GRACE_MAX_S)


@functools.cache  # one subclass per interface class
def _guarded(interface: type) -> type:
    """Pyomo's HiGHS interface class held to a ``run_deadline`` (a ``time.perf_counter()``
    value; None: no limit). Pyomo loads the model into HiGHS before HiGHS runs, constraint
    by constraint in Python, and that took 2.4 s for 400 nodes and 100 flows
    (``--time-limit 0.5`` answered after 2.9 s, 2 after 5.1 s: an outside audit,
    2026-12-06): the loading checks the deadline every :data:`LOAD_CHUNK` constraints
    (:class:`LoadingStopped` past it), and HiGHS's run is limited to what is left when it
    starts and waited for at most that plus :func:`run_grace`. The run goes to a daemon
    thread (highspy releases the GIL), so a HiGHS that never returns is left behind:
    :class:`HighsOverran` is raised in the caller, leaving Pyomo's output capture
    (``capture_output``, which redirects the process's file descriptors while HiGHS runs)
    through its normal exit, and the process can still answer and exit. Only HiGHS's own
    ``run`` goes to that thread: Pyomo's loading, options and result reading stay on the
    calling thread."""
    class Guarded(interface):  # type: ignore[misc, valid-type]
        run_deadline: float | None = None

        def add_constraints(self, cons):  # Pyomo's loading (pyomo.contrib.solver 6.x)
            cons = list(cons)
            for i in range(0, len(cons), LOAD_CHUNK):
                if self.run_deadline is not None and time.perf_counter() > self.run_deadline:
                    raise LoadingStopped("time limit reached while loading the model into "
                                         "HiGHS, before HiGHS ran")
                super().add_constraints(cons[i:i + LOAD_CHUNK])

        def _solve(self):  # Pyomo's call around HiGHS's run (pyomo.contrib.solver 6.x)
            h = getattr(self, "_solver_model", None)
            if h is not None and "run" not in vars(h):
                h.run = lambda h=h: _run_with_wait(h, self.run_deadline)
            return super()._solve()

    Guarded.__name__ = Guarded.__qualname__ = f"Guarded{interface.__name__}"
    return Guarded


LOAD_CHUNK = 256  # constraints Pyomo loads into HiGHS between two looks at the deadline


class LoadingStopped(RuntimeError):
    """The time limit passed while Pyomo loaded the model into HiGHS (the interface is not
    used again)."""


def _run_with_wait(h: Any, deadline: float | None) -> Any:
    """``h.run()`` (the class's HiGHS run) with HiGHS's time limit set to what is left
    until ``deadline`` (Pyomo set it before loading the model; at least 1 ms: HiGHS then
    stops at once with its time-limit status), waited for at most that plus
    :func:`run_grace`."""
    run = type(h).run
    if deadline is None:
        return run(h)
    left = max(deadline - time.perf_counter(), 1e-3)
    h.setOptionValue("time_limit", left)
    wait = left + run_grace(left)
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["status"] = run(h)
        except BaseException as exc:  # handed to the caller
            box["error"] = exc

    latest: list = [None]  # the last improving solution HiGHS reported (for an abandoned run)

    def keep(event: Any) -> None:  # on HiGHS's thread, holding the GIL
        latest[0] = list(event.data_out.mip_solution)

    try:
        h.cbMipImprovingSolution.subscribe(keep)
        subscribed = True
    except Exception:  # (no event API: an abandoned run then keeps no incumbent)
        subscribed = False
    worker = threading.Thread(target=target, name="highs-run", daemon=True)
    worker.start()
    worker.join(wait)
    if worker.is_alive():
        try:
            h.cancelSolve()  # honoured only if HiGHS reaches an interrupt callback again
        except Exception:
            pass
        raise HighsOverran(f"HiGHS ran {wait:.1f} s, past its time limit, without stopping; "
                           "abandoned (left running in the background)", latest[0])
    if subscribed:
        h.cbMipImprovingSolution.unsubscribe(keep)
    if "error" in box:
        raise box["error"]
    return box["status"]


def _objective_warning(problem: Problem, choice: dict[str, int], table_objective: Any,
                       highs_objective: float | None) -> str | None:
    """A warning when HiGHS's objective differs from the one recomputed from the tables (the
    answer always reports the tables' value)."""
    if highs_objective is None:
        return None
    mine = problem.cost(choice) if table_objective is None else table_objective(choice)
    if abs(mine - float(highs_objective)) > 1e-6 * max(1.0, abs(mine)):
        return (f"warning: HiGHS objective {float(highs_objective)!r} differs from the "
                f"tables' {mine!r} for the rounded solution")
    return None
