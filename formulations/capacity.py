"""``capacity``: the base problem plus a cluster limit per hardware kind (MILP only).

Instance key (top level, optional): ``"capacity": {"cpu": 64, "gpu": 4}`` — hardware kind →
limit on the units in use (finite number ≥ 0). A kind not listed is unlimited; an absent or
empty map makes this formulation equal to ``base``.

Data, in addition to ``base``'s: n_vk replicas and u_vk units of configuration k of node v
(table row → profile row), h_vk its hardware kind, C_h the capacity of kind h.

Constraints, in addition to ``base``'s:

    Σ_v Σ_{k : h_vk = h} n_vk · u_vk · x_vk ≤ C_h + 1e-9 (+ margin)      ∀ h with a capacity

Objective: ``base``'s (minimise Σ c_vk x_vk). Still linear: n_vk · u_vk is a table
constant. With a capacity that binds, the cheapest decision may move a node to another
hardware kind or to a larger batch with fewer replicas; with none that fits, the instance is
infeasible for this formulation even when the base problem is feasible.
"""

from __future__ import annotations

import math
from typing import Any, Mapping

import pyomo.environ as pyo

from fa2opt.io import InputError
from fa2opt.problem import Problem

from . import EXTENSION_TOL, Formulation, Violation
from . import base

KEY = "capacity"


def capacities(problem: Problem) -> dict[str, float]:
    """The instance's ``capacity`` map, validated (InputError naming the field otherwise)."""
    inst = problem.instance
    raw: Any = inst.extra.get(KEY)
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise InputError(inst.source, KEY, f"must be an object mapping hardware kind to a "
                                          f"limit (got {type(raw).__name__})")
    out: dict[str, float] = {}
    for hw, limit in raw.items():
        field = f"{KEY}.{hw}"
        if isinstance(limit, bool) or not isinstance(limit, (int, float)):
            raise InputError(inst.source, field, f"not a number ({limit!r})")
        if not math.isfinite(limit) or limit < 0:
            raise InputError(inst.source, field, f"must be finite and >= 0 (got {limit!r})")
        out[str(hw)] = float(limit)
    return out


def node_units(problem: Problem) -> dict[str, list[tuple[str, float]]]:
    """Per node, in table order: (hardware kind h_vk, units in use n_vk · u_vk) of each row."""
    inst = problem.instance
    out: dict[str, list[tuple[str, float]]] = {}
    for v, t in problem.tables.items():
        configs = inst.node(v).configs
        out[v] = [(configs[row].hardware, float(n) * configs[row].units)
                  for row, n in zip(t.rows.tolist(), t.replicas.tolist())]
    return out


def units_in_use(units: Mapping[str, list[tuple[str, float]]],
                 choice: Mapping[str, int]) -> dict[str, float]:
    """The spec's Σ_v n_v · u_v per hardware kind under a choice (nodes in table order)."""
    out: dict[str, float] = {}
    for v in units:
        h, nu = units[v][choice[v]]
        out[h] = out.get(h, 0.0) + nu
    return out


def build(problem: Problem) -> pyo.ConcreteModel:
    """``base``'s model plus ``m.capacity[h]``: units in use of kind h ≤ C_h + 1e-9, widened
    by :func:`formulations.base.row_margin` (the exact check :func:`violations` settles the
    last bits). A row that alone needs more than C_h + 1e-9 units is fixed to 0."""
    caps = capacities(problem)  # validate before building anything
    m = base.build(problem)
    m.name = f"capacity:{problem.instance.name}"
    units = node_units(problem)
    kinds = {h for rows in units.values() for h, _ in rows}
    limits = {h: c + EXTENSION_TOL for h, c in caps.items() if h in kinds}  # others can't bind
    for v, rows in units.items():
        for k, (h, nu) in enumerate(rows):
            if h in limits and nu > limits[h]:
                m.x[v, k].setub(0)
    terms = {h: [(v, k, nu) for v, rows in units.items() for k, (g, nu) in enumerate(rows)
                 if g == h and nu <= limits[h]] for h in limits}
    m.cap_rhs = {h: lim + base.row_margin(m, lim, len(units), max([nu for *_, nu in terms[h]]
                                                                 + [0.0]))
                 for h, lim in limits.items()}
    m.H = pyo.Set(initialize=list(limits), ordered=True)
    m.capacity = pyo.Constraint(m.H, rule=lambda m, h: base.linear(
        [m.x[v, k] for v, k, _ in terms[h]], [nu for *_, nu in terms[h]]) <= m.cap_rhs[h])
    m.rule_checks.append(lambda choice: violations(m, units, limits, choice))
    return m


def violations(m: pyo.ConcreteModel, units: Mapping[str, list[tuple[str, float]]],
               limits: Mapping[str, float], choice: Mapping[str, int]) -> list[Violation]:
    """The hardware kinds whose limit the choice breaks by the spec's rule. Cut: the nodes on
    kind h keep a row of kind h with at least as many units in use (the sum only grows)."""
    out = []
    for h, used in units_in_use(units, choice).items():
        if h not in limits or used <= limits[h]:
            continue
        values = {v: [nu if g == h else -math.inf for g, nu in rows] for v, rows in units.items()}
        on_h = [v for v, k in choice.items() if units[v][k][0] == h]
        rhs = m.cap_rhs[h]
        out.append(Violation(f"capacity {h}: {used!r} units in use > {limits[h]!r}",
                             base.monotone_cut(values, choice, on_h),
                             used > rhs + (rhs - limits[h])))
    return out


FORMULATION = Formulation(
    name="capacity", build=build, read_back=base.read_back, extra_constraints=True,
    summary="base + a cluster limit per hardware kind: Σ replicas·units ≤ capacity[h] "
            "(instance key 'capacity')",
)
