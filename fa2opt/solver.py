"""One interface for every method (MILP, FA2, grid DP, baselines), in scikit-learn's spirit.

A method is a :class:`Solver` subclass: ``Solver(**options).solve(problem) -> Answer``.
Subclasses implement :meth:`Solver.decide`, returning a :class:`Decision` (status plus one
table position per node); the base class times it as the spec defines ``solve_ms`` (from
the configuration tables in memory to the finished answer) and builds the answer from the
shared tables. :func:`solve` adds the independent :func:`~fa2opt.verify.verify` to every
answer: a decision that fails it becomes an ``error``, never a silent wrong answer.

Methods are registered by name with the import path of their class, so heavy dependencies
(Pyomo, CuPy) load only when their method is used.
"""

from __future__ import annotations

import gc
import importlib
import math
import time
from dataclasses import dataclass, field
from typing import Any, Callable, ClassVar, Iterable, Mapping

from .answer import DECISION_STATUSES, Answer, decision_answer, empty_answer
from . import extensions
from .extensions import requested
from .extensions.solve import decide as extended_decide
from .model import Instance
from .problem import Problem
from .verify import verify


@dataclass
class Decision:
    """What a method decided: a status, and for a decision one table position per node."""

    status: str
    choice: Mapping[str, int] | None = None
    lower_bound: float | None = None
    message: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    objective: float | None = None  # set when the extended objective is not the cost
    # each flow's latency for ``choice`` by the spec's rule, when the method's SLA check
    # computed them (Problem.sla_latencies); the answer reuses them, None: it computes them
    flow_latency_ms: Mapping[str, float] | None = None
    # another choice the method met that may meet the spec's SLA rule where ``choice``
    # (decided within widened budgets) does not: a judged search's incumbent when it
    # stopped judging (fa2opt.reductions.search.SearchResult.judged); for the SLA edge's
    # enumeration (fa2opt.edge.decide_exact), which checks it by the rule. Not in the answer
    incumbent: dict[str, int] | None = None


# -- options: declared once per method, validated the same way for all of them -------------
@dataclass(frozen=True)
class Option:
    """One option of a method: its type and range (checked by :func:`check_options` for
    every method alike, so ``fa2 time_limit=-1`` is refused as ``milp``'s is) and the
    default the method uses when it is absent (shown by ``fa2opt solve --help``)."""

    kind: type                      # float, int, bool or str
    default: Any = None             # None: no default (e.g. no time limit)
    positive: bool = False          # numbers: finite and > 0
    minimum: int | None = None      # ints: at least this
    maximum: float | None = None    # floats: at most this
    choices: tuple[str, ...] | Callable[[], Iterable[str]] | None = None
    help: str = ""

    def check(self, method: str, name: str, value: Any) -> Any:
        """The value, normalised to ``kind``; ValueError naming method, option and reason."""
        try:
            return self.normalise(value)
        except ValueError as exc:
            raise ValueError(f"method {method!r}: option {name} {exc}") from None

    def normalise(self, value: Any) -> Any:
        """The value, normalised to ``kind``; ValueError "must be ... (got ...)" (what
        :meth:`check` and the command line's ``--time-limit``, :func:`fa2opt.cli.time_limit_flag`,
        say)."""
        def bad(reason: str) -> ValueError:
            return ValueError(f"must be {reason} (got {value!r})")

        if self.kind is bool:
            if not isinstance(value, bool):
                raise bad("true or false")
            return value
        if self.kind is str:
            choices = self.choices() if callable(self.choices) else self.choices
            if not isinstance(value, str) or (choices is not None and value not in choices):
                raise bad("one of " + ", ".join(sorted(choices or ())) if choices else "a string")
            return value
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise bad("a number")
        if self.kind is int:
            if isinstance(value, float) and not (math.isfinite(value) and value.is_integer()):
                raise bad("an integer")
            value = int(value)
            if self.minimum is not None and value < self.minimum:
                raise bad(f"an integer >= {self.minimum}")
            return value
        value = float(value)
        if self.positive and not (math.isfinite(value) and value > 0):
            raise bad("a finite number > 0")
        if not math.isfinite(value):
            raise bad("a finite number")
        if self.maximum is not None and value > self.maximum:
            raise bad(f"at most {self.maximum:g}")
        return value


def _formulation_names() -> list[str]:
    import formulations  # the MILP's registry; imported only when milp options are checked

    return list(formulations.names())


# at most ~32 years, as compare's --method-timeout: a thread's wait (the MILP's guard on
# HiGHS's run) overflows the platform's time_t past ~9e9 s, a traceback at --time-limit 1e10
MAX_TIME_LIMIT_S = 1e9
TIME_LIMIT = Option(float, positive=True, maximum=MAX_TIME_LIMIT_S,
                    help="stop after this many seconds and answer time_limit with the "
                         "incumbent and a lower bound")
# Every registered method's options. A method registered without an entry here (e.g. by a
# test) is checked for option names only (its class's option_names()).
OPTIONS: dict[str, dict[str, Option]] = {
    "fa2": {"time_limit": TIME_LIMIT,
            "cache": Option(bool, True, help="reuse each structure's compiled plan across decisions"),
            "bound": Option(str, "lagrange", choices=("lagrange", "equal"),
                            help="bound of the coupling-node search"),
            "series_runs": Option(bool, True, help="merge each run of series nodes that the "
                                                   "same flows share into one node first")},
    "fa2-grid": {"grid_ms": Option(float, 1.0, positive=True, help="grid step Δ (ms)"),
                 "device": Option(str, "cpu", choices=("cpu", "gpu", "auto"),
                                  help="array device"),
                 "time_limit": TIME_LIMIT},
    "milp": {"time_limit": TIME_LIMIT,
             "formulation": Option(str, "extended", choices=_formulation_names,
                                   help="MILP formulation (formulations/; 'extended': every "
                                        "extension key present, 'base': none)"),
             "threads": Option(int, 1, minimum=1, help="HiGHS threads (fixed once per process)"),
             "short_circuit": Option(bool, True, help="answer infeasible from the all-fastest "
                                                      "test without building the model")},
    "brute-force": {"max_combinations": Option(int, 2_000_000, minimum=1,
                                               help="guard: no_solution beyond this many"),
                    "time_limit": TIME_LIMIT},
    "slack-split": {},
    "greedy": {"max_steps": Option(int, 100_000, minimum=1, help="upgrade steps at most"),
               "time_limit": TIME_LIMIT},
    "nexus": {"slo_steps": Option(int, 500, minimum=1, help="latency-split steps")},
    "fixed-batch": {"batch": Option(int, 1, minimum=1, help="batch of every node"),
                    "units": Option(float, 1.0, positive=True, help="units of every replica")},
}


def _known_formulations() -> list[str]:
    """Every name some method solves: 'base', 'extended', the extensions and the MILP's
    registry (a MILP-only one, e.g. a researcher's, is answered ``error`` per instance by the
    other methods, as the spec asks; a name none knows is refused as an option)."""
    try:
        milp = _formulation_names()
    except ImportError:  # no MILP stack: the extensions' names alone
        milp = []
    return sorted({"base", "extended", *extensions.MODULES, *milp})


_FORMULATION = Option(str, None, choices=_known_formulations,
                      help="'base', 'extended' (default: every extension key the instance "
                           "has) or one extension's name")
for _method, _table in OPTIONS.items():
    _table.setdefault("formulation", _FORMULATION)


def check_options(method: str, options: Mapping[str, Any],
                  names: Iterable[str] | None = None) -> dict[str, Any]:
    """Validate a method's options (names, types, ranges) and return them normalised.
    ValueError with one line naming the method, the option and the reason. ``names``: the
    options the method's class takes (default: its :data:`OPTIONS` entry, else its class's)."""
    table = OPTIONS.get(method)
    if names is None:
        names = table.keys() if table is not None else solver_class(method).option_names()
    names = tuple(names)
    unknown = sorted(set(options) - set(names))
    if unknown:
        takes = ", ".join(names) or "none"
        raise ValueError(f"method {method!r} takes no option {unknown[0]} (its options: {takes})")
    if table is None:
        return dict(options)
    return {k: (v if v is None else table[k].check(method, k, v)) if k in table else v
            for k, v in options.items()}


class Solver:
    """Base class of every method. ``name`` is what ``--method`` takes."""

    name: ClassVar[str] = ""
    # True: decide() honours the instance's extensions itself (else fa2opt.extensions.solve)
    native_extensions: ClassVar[bool] = False

    def __init__(self, **options: Any):
        # every method takes ``formulation`` (None: every extension key present; "base")
        names = tuple(self.option_names())
        self.options = check_options(self.name, options,
                                     names if "formulation" in names else names + ("formulation",))

    @classmethod
    def option_names(cls) -> tuple[str, ...]:
        return ()

    def decide(self, problem: Problem) -> Decision:
        raise NotImplementedError

    def extension_names(self, problem: Problem) -> tuple[str, ...]:
        """The extensions this method solves on ``problem`` (:func:`fa2opt.extensions.requested`)."""
        return requested(problem.instance, self.options.get("formulation"))

    def solve(self, problem: Problem) -> Answer:
        """Decide and build the answer, timed as the spec's ``solve_ms``. Python's cyclic
        garbage collector is paused meanwhile (for every method alike, as ``timeit`` does):
        a decision's objects are freed by reference counting, but the collections their
        allocations trigger rescan the whole long-lived heap -- on a 10,000-node chain that
        was 0.44 s of a 1.0 s decision. The deferred collection runs after the answer."""
        paused = gc.isenabled()
        gc.disable()
        try:
            return self._solve(problem)
        finally:
            if paused:
                gc.enable()

    def _solve(self, problem: Problem) -> Answer:
        t0 = time.perf_counter()
        try:
            names = self.extension_names(problem)
        except KeyError as exc:
            names, d = (), Decision("error", message=(
                f"{problem.instance.source}: formulation: method {self.name} cannot solve "
                f"{exc.args[0]!r} (it takes 'base', 'extended' or an extension's name)"))
        else:
            d = (self.decide(problem) if not names or self.native_extensions
                 else extended_decide(self, problem, names))
        if d.choice is not None and d.status in DECISION_STATUSES:
            ans = decision_answer(problem, d.choice, status=d.status, method=self.name,
                                  lower_bound=d.lower_bound, message=d.message, extra=d.extra,
                                  flow_latency_ms=d.flow_latency_ms)
        else:
            ans = empty_answer(d.status, self.name, lower_bound=d.lower_bound,
                               message=d.message, instance=problem.instance.name, **d.extra)
        if ans.status == "time_limit":
            # the spec: a time_limit answer carries lower_bound. A method stopped before it
            # had one falls back to the relaxation without SLAs and budgets (always valid);
            # a node the extensions leave without rows proves the instance infeasible; null
            # only for a MILP-only objective, and then the answer says so. In the base
            # problem a method's bound below the relaxation's is raised to it (the MILP's
            # HiGHS, stopped early, gave 476.5 where every node's cheapest row sums to
            # 1,566: an outside audit); both sum in table order, so it stays <= every
            # decision's cost to the last bit (with row terms the objective sums otherwise)
            if ans.lower_bound is not None:
                if not names:
                    bound = _relaxed_bound(problem, names)
                    if bound != math.inf and bound > ans.lower_bound:
                        ans = ans.with_(lower_bound=bound)
            else:
                bound = _relaxed_bound(problem, names)
                if bound == math.inf:
                    ans = empty_answer("infeasible", self.name, message=(
                        "a node has no row it may take (max_replicas, max_batch or an "
                        "extension's filter; proven when the time limit stopped the method)"),
                        instance=problem.instance.name, **{**d.extra, "restricted": bool(names)})
                elif bound is not None:
                    ans = ans.with_(lower_bound=bound)
                else:
                    note = "no lower bound known when the time limit stopped the method"
                    ans = ans.with_(message=f"{ans.message}; {note}" if ans.message else note)
        # set on the fresh (frozen) answer in place: dataclasses.replace would add its own
        # cost to the very time it reports
        object.__setattr__(ans, "solve_ms", (time.perf_counter() - t0) * 1000.0)
        if names:
            object.__setattr__(ans, "formulation", tuple(names))
            if d.objective is not None and ans.has_decision:
                object.__setattr__(ans, "objective", d.objective)
        return ans


def _relaxed_bound(problem: Problem, names: Iterable[str]) -> float | None:
    """:func:`fa2opt.extensions.relaxed_bound` of the extensions solved (None for a
    MILP-only formulation, whose objective the vocabulary does not know)."""
    if any(n not in extensions.MODULES for n in names):
        return None
    return extensions.relaxed_bound(problem, extensions.declare(problem, names))


# -- registry ------------------------------------------------------------------------------
_METHODS: dict[str, str] = {
    "fa2": "fa2opt.fa2:FA2Solver",
    "fa2-grid": "fa2opt.grid:GridSolver",
    "milp": "formulations.solve:MILPSolver",
    "brute-force": "fa2opt.baselines.brute_force:BruteForceSolver",
    "slack-split": "fa2opt.baselines.slack_split:SlackSplitSolver",
    "greedy": "fa2opt.baselines.greedy:GreedySolver",
    "nexus": "fa2opt.baselines.nexus:NexusSolver",
    "fixed-batch": "fa2opt.baselines.fixed_batch:FixedBatchSolver",
}


def register(name: str, target: str | type[Solver],
             options: Mapping[str, Option] | None = None) -> None:
    """Register a method: ``target`` is a Solver subclass or its ``"module:Class"`` path;
    ``options`` declares its options as :data:`OPTIONS` does for the shipped ones (without
    them only the names its class takes are checked)."""
    _METHODS[name] = target if isinstance(target, str) else f"{target.__module__}:{target.__qualname__}"
    if options is not None:
        OPTIONS[name] = {**options, "formulation": options.get("formulation", _FORMULATION)}


def unregister(name: str) -> None:
    """Forget a method registered by :func:`register` (tests that register throw-away
    solvers remove them again, so later runs of "every available method" do not meet them)."""
    _METHODS.pop(name, None)
    OPTIONS.pop(name, None)


def solver_class(name: str) -> type[Solver]:
    """The class of a method; KeyError if unknown or its module is not (yet) present."""
    if name not in _METHODS:
        raise KeyError(name)
    module, _, attr = _METHODS[name].partition(":")
    try:
        mod = importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name and module.startswith(exc.name):  # the method's own module is absent
            raise KeyError(name) from None
        raise
    return getattr(mod, attr)


def method_names() -> list[str]:
    """Registered method names, without importing their modules (for help texts)."""
    return list(_METHODS)


def available_methods() -> list[str]:
    out = []
    for name in _METHODS:
        try:
            solver_class(name)
        except KeyError:
            continue
        out.append(name)
    return out


def get_solver(name: str, **options: Any) -> Solver:
    return solver_class(name)(**options)


def checked(problem: Problem, answer: Answer) -> Answer:
    """Run the independent checks on an answer: a decision must pass :func:`verify`, and
    ``infeasible`` must agree with the exact all-fastest test (unless the answer's extras
    say ``restricted``: a formulation with constraints beyond the base problem). A failed
    check gives an ``error`` that carries no decision (spec), only the message."""
    if answer.status not in DECISION_STATUSES and (
            answer.has_decision or answer.cost is not None or answer.flow_latency_ms):
        answer = answer.without_decision(answer.status, answer.message)
    if answer.has_decision:
        v = verify(problem.instance, answer)
        if not v.ok:
            return answer.without_decision("error", "verification failed: " + v.summary())
    elif (answer.status == "infeasible" and not answer.extra.get("restricted")
          and problem.is_feasible()):
        # (``restricted``: the method solved the base problem plus extra constraints, e.g.
        # a MILP extension formulation, so its infeasibility is not the base problem's.)
        return answer.without_decision(
            "error", "claimed infeasible, but the all-fastest choice meets every SLA")
    return answer


def solve(instance: Instance | Problem, method: str = "fa2", **options: Any) -> Answer:
    """Solve with a named method and verify the answer (the uniform entry point)."""
    problem = instance if isinstance(instance, Problem) else Problem.from_instance(instance)
    return checked(problem, get_solver(method, **options).solve(problem))
