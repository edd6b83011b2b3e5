"""``capacity``: the base problem plus a cluster limit per hardware kind (MILP only).

Instance key (top level, optional): ``"capacity": {"cpu": 64, "gpu": 4}`` — hardware kind →
limit on the units in use (finite number ≥ 0). A kind not listed is unlimited; an absent or
empty map makes this formulation equal to ``base``.

Data, in addition to ``base``'s: n_vk replicas and u_vk units of configuration k of node v
(table row → profile row), h_vk its hardware kind, C_h the capacity of kind h.

Constraints, in addition to ``base``'s:

    Σ_v Σ_{k : h_vk = h} n_vk · u_vk · x_vk ≤ C_h        ∀ h with a capacity

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

from . import Formulation
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


def units_in_use(problem: Problem) -> dict[str, list[tuple[str, int, float]]]:
    """Per hardware kind, the (node, table position, n_vk · u_vk) of every available row."""
    inst = problem.instance
    out: dict[str, list[tuple[str, int, float]]] = {}
    for v, t in problem.tables.items():
        configs = inst.node(v).configs
        for k, row in enumerate(t.rows.tolist()):
            cfg = configs[row]
            out.setdefault(cfg.hardware, []).append((v, k, float(t.replicas[k]) * cfg.units))
    return out


def build(problem: Problem) -> pyo.ConcreteModel:
    """``base``'s model plus ``m.capacity[h]``: units in use of kind h ≤ C_h."""
    caps = capacities(problem)  # validate before building anything
    m = base.build(problem)
    m.name = f"capacity:{problem.instance.name}"
    usage = units_in_use(problem)
    limited = [h for h in caps if h in usage]  # a kind no row uses cannot bind
    m.H = pyo.Set(initialize=limited, ordered=True)
    m.capacity = pyo.Constraint(m.H, rule=lambda m, h: pyo.quicksum(
        (nu * m.x[v, k] for v, k, nu in usage[h])) <= caps[h])
    return m


FORMULATION = Formulation(
    name="capacity", build=build, read_back=base.read_back, extra_constraints=True,
    summary="base + a cluster limit per hardware kind: Σ replicas·units ≤ capacity[h] "
            "(instance key 'capacity')",
)
