"""Extension keys a real deployment would have, added to an instance (issue 14).

The rules the main job (``fa2opt compare``'s ``SUITE+EXT`` suites), the generator
(``fa2opt generate --extensions``) and ``scripts/bench_extensions.py`` share, so every
extended instance is built one way:

- ``capacity``: where profiles offer two hardware kinds, 90% (rounded down) of the units
  of the kind the base optimum uses most, so some node must move; with one kind, 5% above
  what the base optimum uses (rounded up: a cluster sized for it, binding once accuracy
  floors ask for larger variants);
- ``accuracy`` (pipelines with measured accuracies of model variants only): per flow, a
  product floor halfway between the base optimum's product of accuracies and that of the
  most accurate choice within the SLAs (rounded down to 1e-6, or to 6 significant digits
  where that would leave 0);
- ``switch``: the decision at :data:`PREVIOUS_RATE` of the rate as ``current`` (the
  previous decision window, before the load rose) and a switch cost of half its mean
  node cost (rounded to 1e-3);
- ``combined``: all of the above, with accuracy weight 1 (the objective trades cost
  against accuracy).
"""

from __future__ import annotations

import math
import statistics
from dataclasses import replace
from typing import Any, Mapping

from ..model import Instance

EXTENSION_SETS = ("capacity", "accuracy", "switch", "combined")
PREVIOUS_RATE = 0.7  # the previous window's rate, as a share of this one's
ACCURACY_SCALE = 100  # measured accuracies are in percent


def _fa2(inst: Instance, formulation: str = "base") -> Any:
    from ..problem import Problem
    from ..solver import get_solver

    return get_solver("fa2", formulation=formulation).solve(Problem.from_instance(inst))


def chosen_rows(inst: Instance, answer: Any) -> dict[str, Any]:
    """The profile row (:class:`~fa2opt.model.Config`) each node of an answer took."""
    return {v: next(c for c in inst.node(v).configs
                    if c.identity == (d.batch, d.hardware, d.units, d.variant))
            for v, d in answer.nodes.items()}


def _floor_fraction(x: float) -> float:
    """``x`` (a product of accuracies, in (0, 1]) rounded down to 1e-6, or, where that would
    leave 0 (a flow of hundreds of nodes: the spec wants a floor in (0, 1]), to 6
    significant digits."""
    out = math.floor(x * 1e6) / 1e6
    if out > 0 or not x > 0:
        return out
    scale = 10.0 ** (math.floor(math.log10(x)) - 5)
    return max(math.floor(x / scale) * scale, math.nextafter(0.0, 1.0))


def has_accuracies(inst: Instance) -> bool:
    return any(c.accuracy is not None for n in inst.nodes for c in n.configs)


def extension_keys(inst: Instance, previous: Instance | None = None) -> dict[str, dict[str, Any]]:
    """The extension keys of each set in :data:`EXTENSION_SETS` that applies to ``inst``
    (rules in the module doc; ``previous`` defaults to the instance at
    :data:`PREVIOUS_RATE` of its rates). Empty when the base problem is infeasible (no
    base optimum to size a cluster from)."""
    base = _fa2(inst)
    if not base.has_decision:
        return {}
    rows = chosen_rows(inst, base)
    used: dict[str, float] = {}
    for d in base.nodes.values():
        used[d.hardware] = used.get(d.hardware, 0.0) + d.replicas * d.units
    kinds = {c.hardware for n in inst.nodes for c in n.configs}
    cap = ({h: math.floor(0.9 * u) for h, u in used.items() if u == max(used.values())}
           if len(kinds) > 1 else {h: math.ceil(1.05 * u) for h, u in used.items()})
    out: dict[str, dict[str, Any]] = {"capacity": {"capacity": cap}}
    if has_accuracies(inst):
        def a(c: Any) -> float:
            return 1.0 if c.accuracy is None else c.accuracy / ACCURACY_SCALE
        # the most accurate choice within the SLAs: an overwhelming accuracy weight
        keen = replace(inst, extra={**inst.extra, "accuracy": {"scale": ACCURACY_SCALE,
                                                               "weight": 1e6}})
        top = _fa2(keen, "accuracy")
        if top.has_decision:
            top_rows = chosen_rows(keen, top)
            floors = {}
            for f in inst.flows:
                now = math.prod(a(rows[v]) for v in f.nodes)
                best = math.prod(a(top_rows[v]) for v in f.nodes)
                floors[f.name] = _floor_fraction(now + 0.5 * (best - now))
            out["accuracy"] = {"accuracy": {"min": floors, "scale": ACCURACY_SCALE}}
    prev = _fa2(previous if previous is not None else inst.with_rates(PREVIOUS_RATE))
    if prev.has_decision:
        cur = {v: {"batch": d.batch, "hardware": d.hardware, "units": d.units,
                   "variant": d.variant} for v, d in prev.nodes.items()}
        out["switch"] = {"current": cur, "switch_cost": round(
            0.5 * statistics.mean(d.cost for d in prev.nodes.values()), 3)}
    combined: dict[str, Any] = {}
    for extra in out.values():
        combined.update(extra)
    if "accuracy" in combined:
        combined["accuracy"] = {**combined["accuracy"], "weight": 1.0}
    out["combined"] = combined
    return out


def with_keys(inst: Instance, keys: Mapping[str, Any]) -> Instance:
    """A copy of ``inst`` carrying ``keys`` besides its own extra keys."""
    return replace(inst, extra={**inst.extra, **keys})


def extended(inst: Instance, which: str, previous: Instance | None = None) -> Instance | None:
    """``inst`` with the keys of set ``which`` (one of :data:`EXTENSION_SETS`), or None when
    that set does not apply (no accuracies, an infeasible base problem). ValueError for an
    unknown set."""
    if which not in EXTENSION_SETS:
        raise ValueError(f"unknown extension set {which!r} (known: {', '.join(EXTENSION_SETS)})")
    keys = extension_keys(inst, previous).get(which)
    return None if keys is None else with_keys(inst, keys)
