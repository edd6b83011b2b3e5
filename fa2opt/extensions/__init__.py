"""Extensions of the base problem, declared once in a small vocabulary both solvers read.

The spec's **Extensions** (``capacity``, ``accuracy``, ``switch``) are each a short module
here with ``KEY``, ``INSTANCE_KEYS`` (the instance keys that turn it on), ``parse(instance)
-> settings`` (validation: :class:`fa2opt.io.InputError` naming the field),
``declare(problem, settings) -> list[Block]`` and ``check(instance, settings, chosen) ->
(problems, objective term)`` (the independent recomputation :func:`fa2opt.verify.verify`
runs on the raw profile rows). A *block* is one of four plain dataclasses, indexed by node
and **table position** (``problem.tables`` order):

- :class:`RowFilter` -- rows a node may not take (accuracy ``min`` floors);
- :class:`RowTerm` -- an additive objective term per row (accuracy weight, switch cost);
- :class:`FlowBudget` -- ``Σ_{v ∈ f} use_v ≤ limit`` for one flow (accuracy ``product``);
- :class:`GlobalBudget` -- ``Σ_v use_v ≤ limit`` instance-wide (capacity per hardware kind).

Budgets are summed in one order (:func:`fa2opt.spec.budget_sum` over ``block.nodes``) by
every solver and by the MILP's exact re-check, so a limit at its tolerance edge is decided
identically everywhere. The MILP turns blocks into rows (:mod:`formulations.extended`);
FA2 into reshaped tables plus a Lagrangian branch and bound (:mod:`.search`); brute force
enumerates and checks them. Objective: ``cost + Σ RowTerm`` (:func:`objective`).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Iterable, Mapping, Sequence, Union

import numpy as np

from .. import spec

if TYPE_CHECKING:
    from ..model import Instance
    from ..problem import Problem

# extension name → module (registry order is the order answers list them)
MODULES: dict[str, str] = {
    "capacity": "fa2opt.extensions.capacity",
    "accuracy": "fa2opt.extensions.accuracy",
    "switch": "fa2opt.extensions.switch",
    "energy": "fa2opt.extensions.energy",  # the worked example of docs/formulations.md
}
# instance key → extension name
INSTANCE_KEYS: dict[str, str] = {"capacity": "capacity", "accuracy": "accuracy",
                                 "current": "switch", "switch_cost": "switch",
                                 "energy": "energy"}
# extensions honoured only where a formulation names them (``--formulation energy``): the
# spec defines three extensions and ignores every key it does not define, so a top-level
# ``energy`` key is, by default, such a key (the fifteenth audit)
OPT_IN: set[str] = {"energy"}


def register(name: str, module_path: str, instance_keys: Iterable[str]) -> None:
    """Add an extension that lives outside this package: ``module_path`` (importable) with
    ``KEY``, ``parse``, ``declare``, ``check`` and ``has_term``, turned on by
    ``instance_keys``. Every method then honours it by default, ``verify`` checks it, and
    (with Pyomo present) ``milp --formulation NAME`` solves it alone."""
    MODULES[name] = module_path
    OPT_IN.discard(name)
    for key in instance_keys:
        INSTANCE_KEYS[key] = name
    try:
        import formulations
        from formulations.extended import formulation
    except ImportError:  # no Pyomo: the MILP is absent, fa2 and brute force still honour it
        return
    formulations.register(formulation(name, f"base + the {name} extension ({module_path})"))


@dataclass(frozen=True)
class RowFilter:
    """``allowed[v][k]`` False: node v may not take table position k."""

    key: str
    allowed: Mapping[str, np.ndarray]  # bool per table position


@dataclass(frozen=True)
class RowTerm:
    """``term[v][k]`` is added to the objective when node v takes position k."""

    key: str
    term: Mapping[str, np.ndarray]  # float per table position


@dataclass(frozen=True)
class FlowBudget:
    """``budget_sum(use[v][x_v] for v in nodes) ≤ limit`` (nodes: the flow's, topological)."""

    key: str
    name: str  # the flow
    nodes: tuple[str, ...]
    use: Mapping[str, np.ndarray]
    limit: float


@dataclass(frozen=True)
class GlobalBudget:
    """``budget_sum(use[v][x_v] for v in nodes) ≤ limit`` (nodes in table order)."""

    key: str
    name: str  # e.g. "capacity gpu"
    nodes: tuple[str, ...]
    use: Mapping[str, np.ndarray]
    limit: float


Budget = Union[FlowBudget, GlobalBudget]
Block = Union[RowFilter, RowTerm, FlowBudget, GlobalBudget]


def module(name: str) -> Any:
    """The extension module called ``name``."""
    return importlib.import_module(MODULES[name])


def extension_keys(instance: "Instance", named: Iterable[str] = ()) -> list[str]:
    """The extension keys the instance carries, in its own order: those of the extensions
    honoured by default, and of the :data:`OPT_IN` ones among ``named``."""
    return [k for k in instance.extra or () if k in INSTANCE_KEYS
            and (INSTANCE_KEYS[k] not in OPT_IN or INSTANCE_KEYS[k] in named)]


def extensions_of(instance: "Instance", named: Iterable[str] = ()) -> tuple[str, ...]:
    """The extensions whose keys the instance carries (registry order); an :data:`OPT_IN`
    one only when in ``named``."""
    if not instance.extra:  # (most instances: no key at all, nothing to look up)
        return ()
    present = {INSTANCE_KEYS[k] for k in extension_keys(instance, tuple(named))}
    return tuple(n for n in MODULES if n in present)


def validate(instance: "Instance", names: Iterable[str] | None = None) -> None:
    """Parse every extension key present, or those of the extensions ``names`` (a name not
    registered, e.g. a MILP-only formulation's, is left to its reader): InputError naming
    the field otherwise. Loading does not call it (``--formulation base`` ignores extension
    keys, spec); ``fa2opt validate`` does, the MILP before its short circuits, and solving
    an extension parses its keys through :func:`declare`."""
    for name in extensions_of(instance) if names is None else names:
        if name in MODULES:
            module(name).parse(instance)


def requested(instance: "Instance", formulation: str | None) -> tuple[str, ...]:
    """What a method solves: every extension present (``formulation`` None, the default, or
    ``"extended"``; not the :data:`OPT_IN` ones), none (``"base"``), or the one named that
    is present (an opt-in one too). KeyError for a name that is not an extension (e.g. a
    MILP-only formulation)."""
    if formulation is None or formulation == "extended":
        return extensions_of(instance)
    if formulation == "base":
        return ()
    if formulation not in MODULES:
        raise KeyError(formulation)
    return tuple(n for n in extensions_of(instance, (formulation,)) if n == formulation)


def declare(problem: "Problem", names: Iterable[str]) -> list[Block]:
    """Every block of the named extensions on ``problem``'s tables."""
    blocks: list[Block] = []
    for name in names:
        mod = module(name)
        blocks.extend(mod.declare(problem, mod.parse(problem.instance)))
    return blocks


# -- reading blocks ----------------------------------------------------------------------------
def budgets(blocks: Sequence[Block]) -> list[Budget]:
    return [b for b in blocks if isinstance(b, (FlowBudget, GlobalBudget))]


def has_terms(blocks: Sequence[Block]) -> bool:
    """The objective is not the plain cost (the answer then reports ``objective``)."""
    return any(isinstance(b, RowTerm) for b in blocks)


def packed_rows(problem: "Problem", blocks: Sequence[Block]
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The blocks' rows on the packed tables (:meth:`Problem.packed_tables`): their
    ``row_ptr`` and, per row, the objective (cost plus every :class:`RowTerm`, blocks in
    order) and whether every :class:`RowFilter` allows it. The one reading of filters and
    terms; O(total rows) in a few numpy calls per block."""
    packed = problem.packed_tables()
    ptr = packed.row_ptr
    obj = np.array(packed.cost, dtype=float)
    allowed = np.ones(obj.size, dtype=bool)
    at = {v: int(ptr[i]) for i, v in enumerate(packed.nodes)}
    for b in blocks:
        if isinstance(b, RowTerm):
            for v, term in b.term.items():
                obj[at[v]:at[v] + len(term)] += term
        elif isinstance(b, RowFilter):
            for v, ok in b.allowed.items():
                allowed[at[v]:at[v] + len(ok)] &= ok
    return ptr, obj, allowed


Rows = tuple[np.ndarray, np.ndarray, np.ndarray]  # packed_rows's (row_ptr, objective, allowed)


def allowed_rows(problem: "Problem", blocks: Sequence[Block], rows: Rows | None = None
                 ) -> dict[str, np.ndarray]:
    """Per node, the table positions every :class:`RowFilter` allows (ascending); ``rows``:
    :func:`packed_rows`'s when the caller has them."""
    ptr, _, allowed = rows or packed_rows(problem, blocks)
    return {v: np.flatnonzero(allowed[ptr[i]:ptr[i + 1]]) for i, v in enumerate(problem.tables)}


# the message of an answer :func:`ruled_out` settled (every method's alike)
RULED_OUT = ("the extensions' rows leave a node without a row it may take, or their "
             "all-fastest choice breaks an SLA")


def ruled_out(problem: "Problem", blocks: Sequence[Block],
              allowed: Mapping[str, np.ndarray] | None = None) -> bool:
    """True when the extensions' rows alone prove the instance infeasible, whatever the
    objective: after the row filters, and without the rows whose own use exceeds a budget
    all of whose uses are ≥ 0 (the budget's left-to-right sum can only grow past that
    use), a node has no row left, or the all-fastest choice of what is left breaks an SLA
    (a flow's latency only grows with each node's L, spec). Exact, O(rows); False says
    nothing (budgets may still rule every decision out). ``allowed``: :func:`allowed_rows`'s
    when the caller has them (not changed here). The one test every method runs first where
    the extensions restrict the rows (the MILP's short circuit,
    :func:`fa2opt.extensions.solve.decide` for the others)."""
    left: dict[str, Any] = dict(allowed_rows(problem, blocks) if allowed is None else allowed)
    for b in budgets(blocks):
        # (on lists: a dozen numpy calls a node took ~60 µs of an 8-node draw's ~1 ms)
        uses = [np.asarray(b.use[v], dtype=float).tolist() for v in b.nodes]
        if not all(x >= 0 for u in uses for x in u):  # (NaN: not ≥ 0, as in numpy)
            continue
        for v, u in zip(b.nodes, uses):
            left[v] = [k for k in left[v] if not u[k] > b.limit]
    if any(len(a) == 0 for a in left.values()):
        return True
    # table positions are sorted by (L, cost): an allowed set's first is its fastest
    return not problem.meets_slas({v: int(a[0]) for v, a in left.items()})


def row_objective(problem: "Problem", blocks: Sequence[Block], rows: Rows | None = None
                  ) -> dict[str, np.ndarray]:
    """Per node and table position: cost plus every :class:`RowTerm` (the objective's rows);
    ``rows``: :func:`packed_rows`'s when the caller has them."""
    ptr, obj, _ = rows or packed_rows(problem, blocks)
    return {v: obj[ptr[i]:ptr[i + 1]] for i, v in enumerate(problem.tables)}


def relaxed_bound(problem: "Problem", blocks: Sequence[Block]) -> float | None:
    """A lower bound on the objective of every feasible decision: drop every SLA and budget,
    and the objective (cost plus row terms) separates by node, so Σ_v min_k over each
    node's allowed rows bounds it. ``inf`` when a node has no allowed row: then the
    relaxation, and with it the instance, is infeasible. O(total rows), on the packed
    tables in a few numpy calls (per node it took ~10 µs: a second on 100,000 nodes, the
    fallback bound of a ``time_limit`` answer); the minima added in table order."""
    ptr, obj, allowed = packed_rows(problem, blocks)
    seen = np.concatenate(([0], np.cumsum(allowed)))
    if (seen[ptr[1:]] == seen[ptr[:-1]]).any():  # a node with no allowed row
        return float("inf")
    if not problem.tables:
        return 0.0
    total = 0.0
    for x in np.minimum.reduceat(np.where(allowed, obj, np.inf), ptr[:-1]).tolist():
        total += x
    return total


def budget_use(b: Budget, choice: Mapping[str, int]) -> float:
    """The budget's use under a choice, in its one summation order."""
    return spec.budget_sum(float(b.use[v][choice[v]]) for v in b.nodes)


def objective(problem: "Problem", blocks: Sequence[Block], choice: Mapping[str, int]) -> float:
    """The spec's objective: Σ_v c_v plus every row term (blocks in order, nodes in table
    order)."""
    total = problem.cost(choice)
    for b in blocks:
        if isinstance(b, RowTerm):
            for v in problem.tables:
                if v in b.term:
                    total += float(b.term[v][choice[v]])
    return total


def violations(problem: "Problem", blocks: Sequence[Block], choice: Mapping[str, int]
               ) -> list[str]:
    """The blocks a choice breaks (filters, and budgets by :func:`budget_use`)."""
    out = []
    for b in blocks:
        if isinstance(b, RowFilter):
            out += [f"{b.key}: node {v} may not take position {choice[v]}"
                    for v, ok in b.allowed.items() if not ok[choice[v]]]
        elif isinstance(b, (FlowBudget, GlobalBudget)):
            used = budget_use(b, choice)
            if not used <= b.limit:
                out.append(f"{b.key} {b.name}: {used!r} > {b.limit!r}")
    return out


def keys_of(blocks: Iterable[Block]) -> list[str]:
    """The extension keys behind some blocks (registry order, once each)."""
    keys = {b.key for b in blocks}
    return [n for n in MODULES if n in keys]


__all__ = ["Block", "Budget", "FlowBudget", "GlobalBudget", "RowFilter", "RowTerm",
           "MODULES", "OPT_IN", "allowed_rows", "budget_use", "budgets", "declare",
           "extension_keys", "extensions_of", "has_terms", "keys_of", "module", "objective", "register",
           "requested", "row_objective", "RULED_OUT", "ruled_out", "validate", "violations"]
