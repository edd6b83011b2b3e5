"""MILP formulations of the autoscaling problem (the project's ground truth), solved by HiGHS.

A formulation is a :class:`Formulation`: a function that builds a Pyomo ``ConcreteModel``
from a :class:`fa2opt.Problem`'s configuration tables, and one that reads the chosen table
position per node back from a solved model. :mod:`formulations.solve` turns any of them
into the ``milp`` method (``fa2opt solve --method milp --formulation NAME``).

Registry: ``formulations.get("base")`` imports the module ``formulations.base`` and returns
its module-level ``FORMULATION``. Adding a formulation is therefore one new module in this
package that defines ``FORMULATION = Formulation(...)`` (a ``-`` in a name maps to ``_`` in
the module name); :func:`register` adds one that lives elsewhere. See ``docs/formulations.md``.

Shipped formulations: ``base`` (the spec's problem, exactly), ``extended`` (base plus every
extension the instance carries, built from the shared vocabulary :mod:`fa2opt.extensions`:
the milp default), and ``capacity``, ``accuracy``, ``switch`` (one extension each).
"""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Mapping

if TYPE_CHECKING:  # Pyomo loads only when a formulation is used
    import pyomo.environ as pyo

    from fa2opt.problem import Problem

__all__ = ["Formulation", "Violation", "get", "names", "register"]

FEAS_TOL = 1e-9  # HiGHS's primal and MIP feasibility tolerance (set by formulations.solve)


@dataclass(frozen=True)
class Violation:
    """A decision HiGHS returned that breaks one of the spec's rules when recomputed exactly
    from the tables (the solver then cuts it off and re-solves, :mod:`formulations.solve`).

    ``cut``: node → table positions such that *every* combination choosing one of the listed
    positions at every listed node breaks the same rule (the rule is monotone in those rows'
    values); the solver adds ``Σ_{v ∈ cut} Σ_{k ∈ cut[v]} x_vk ≤ |cut| − 1``. It contains the
    offending decision's own positions, so each cut removes at least that decision. An empty
    ``cut`` means no combination can meet the rule (the instance is infeasible).
    ``beyond_model``: the decision breaks the model's own (widened) row by more than HiGHS's
    tolerance explains, i.e. HiGHS returned a point outside its model (seen with presolve).
    """

    what: str
    cut: Mapping[str, tuple[int, ...]]
    beyond_model: bool = False


@dataclass(frozen=True)
class Formulation:
    """A MILP formulation.

    ``build(problem)`` returns a Pyomo ``ConcreteModel`` with exactly one active objective;
    ``read_back(problem, model)`` returns ``{node: table position}`` from the model's variable
    values (binaries rounded), or raises :class:`ValueError` when they are not a valid choice.

    ``restricts_base``: every solution of this formulation is a solution of the base problem
    (it only adds constraints), so an instance infeasible for the base problem (the exact
    all-fastest test) is infeasible for it too and the solver may skip building the model.

    ``extra_constraints``: the formulation adds constraints to the base problem, so it can
    be infeasible where the base problem is not (its ``infeasible`` answers are then marked
    ``restricted`` for :func:`fa2opt.solver.checked`).

    The built model may set ``model.objective_is_cost = False`` when its objective is not
    the total cost (e.g. a weighted cost−accuracy objective); the solver then reports the
    objective and its bound in the answer's extras instead of a cost ``lower_bound``.
    """

    name: str
    build: "Callable[[Problem], pyo.ConcreteModel]"
    read_back: "Callable[[Problem, pyo.ConcreteModel], dict[str, int]]"
    summary: str
    restricts_base: bool = True
    extra_constraints: bool = False
    # the vocabulary's extensions it honours (None: every one the instance carries; (): none)
    # and whether it is a Pyomo-only formulation outside the vocabulary (marked ``milp_only``
    # in every answer: no other method can solve it)
    extensions: tuple[str, ...] | None = ()
    milp_only: bool = True


_REGISTERED: dict[str, Formulation] = {}
_NOT_FORMULATIONS = {"solve", "bench"}


def register(formulation: Formulation) -> Formulation:
    """Register a formulation defined outside this package (overrides a same-named one)."""
    _REGISTERED[formulation.name] = formulation
    return formulation


def get(name: str) -> Formulation:
    """The formulation called ``name``; KeyError (listing the known ones) if there is none."""
    if name in _REGISTERED:
        return _REGISTERED[name]
    module_name = name.replace("-", "_")
    if not module_name.isidentifier() or module_name in _NOT_FORMULATIONS:
        raise KeyError(f"unknown formulation {name!r} (known: {', '.join(names())})")
    try:
        module = importlib.import_module(f"{__name__}.{module_name}")
    except ModuleNotFoundError as exc:
        if exc.name == f"{__name__}.{module_name}":
            raise KeyError(f"unknown formulation {name!r} (known: {', '.join(names())})") from None
        raise
    form = getattr(module, "FORMULATION", None)
    if not isinstance(form, Formulation):
        raise KeyError(f"unknown formulation {name!r} (known: {', '.join(names())})")
    return form


def names() -> list[str]:
    """Names of every formulation: the package's modules defining ``FORMULATION``, plus the
    registered ones."""
    found = set(_REGISTERED)
    for info in pkgutil.iter_modules(__path__):
        if info.name in _NOT_FORMULATIONS or info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        form = getattr(module, "FORMULATION", None)
        if isinstance(form, Formulation):
            found.add(form.name)
    return sorted(found)


def summaries() -> Mapping[str, str]:
    """One line per formulation (for ``--help`` texts and docs)."""
    return {n: get(n).summary for n in names()}
