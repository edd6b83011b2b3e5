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
  where that would leave 0). On instances of more than :data:`EXACT_TOP_MAX_NODES` nodes
  the most accurate choice is not solved for but ascended to from the base optimum
  (:func:`accurate_ascent`): fa2 with an overwhelming accuracy weight grows real-valued
  fronts along a long chain until memory runs out (``generate --suite long-chain
  --extensions combined``: 24 GB, then a MemoryError), and the MILP does not prove it
  either. Still a floor some choice meets, so the instance stays feasible. A flow whose
  best product is below the least normal double (thousands of nodes) gets no floor, and an
  instance with no floor left no ``accuracy`` set;
- ``switch``: the decision at :data:`PREVIOUS_RATE` of the rate as ``current`` (the
  previous decision window, before the load rose) and a switch cost of half its mean
  node cost (rounded to 1e-3);
- ``combined``: all of the above, with accuracy weight 1 (the objective trades cost
  against accuracy).
"""

from __future__ import annotations

import math
import statistics
import sys
from dataclasses import replace
from typing import Any, Mapping

from ..model import Instance

EXTENSION_SETS = ("capacity", "accuracy", "switch", "combined")
PREVIOUS_RATE = 0.7  # the previous window's rate, as a share of this one's
ACCURACY_SCALE = 100  # measured accuracies are in percent
EXACT_TOP_MAX_NODES = 500  # beyond: the most accurate choice by accurate_ascent, not solved
# a flow whose most accurate choice has a product of accuracies below the least normal
# double (thousands of nodes) gets no floor: any floor it meets would underflow to 0 or
# lose its precision as a subnormal, and the spec wants floors in (0, 1]
LOG_LEAST_NORMAL = math.log(sys.float_info.min)


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


def _accuracy(c: Any) -> float:
    """A profile row's accuracy as a fraction (1 for a row without one)."""
    return 1.0 if c.accuracy is None else c.accuracy / ACCURACY_SCALE


def accurate_ascent(inst: Instance, rows: Mapping[str, Any]) -> dict[str, Any]:
    """A choice within the SLAs at least as accurate as ``rows`` (node → profile row, a
    choice within the SLAs) at every node, found greedily: nodes by the most accurate row
    they have, best gain of accuracy per millisecond added first, each moved to its most
    accurate row (then the fastest) whose added latency δ fits the least slack
    ``sla − latency`` of the flows through it, that slack then reduced by δ. A path's
    latency grows by at most δ when one node's does, so every SLA still holds; the spec's
    test confirms it at the end (else ``rows`` is returned). O(rows · log + V · flows)."""
    from ..problem import Problem

    problem = Problem.from_instance(inst)
    a = _accuracy
    index = {v: {c.identity: i for i, c in enumerate(inst.node(v).configs)} for v in rows}
    choice = {v: problem.tables[v].position(index[v][c.identity]) for v, c in rows.items()}
    lat = problem.flow_latencies(choice)
    slack = {g.name: g.sla_ms - lat[g.name] for g in problem.flows}
    flows_of: dict[str, list[str]] = {}
    for g in problem.flows:
        for v in g.nodes:
            flows_of.setdefault(v, []).append(g.name)
    moves = []  # (−gain per ms of the most accurate row, node): the greedy order
    for v, k in choice.items():
        t, cfgs = problem.tables[v], inst.node(v).configs
        acc = [a(cfgs[r]) for r in t.lists[0]]
        best = max(range(len(acc)), key=lambda j: (acc[j], -t.lists[2][j]))
        gain = acc[best] - acc[k]
        if gain > 0:
            moves.append((-gain / max(t.lists[2][best] - t.lists[2][k], 1e-9), v, acc))
    moves.sort(key=lambda m: (m[0], m[1]))
    for _, v, acc in moves:
        t, k = problem.tables[v], choice[v]
        room = min((slack[f] for f in flows_of.get(v, ())), default=math.inf)
        fits = [j for j in range(len(acc)) if acc[j] > acc[k] and t.lists[2][j] - t.lists[2][k] <= room]
        if fits:
            j = max(fits, key=lambda j: (acc[j], -t.lists[2][j]))
            for f in flows_of.get(v, ()):
                slack[f] -= max(t.lists[2][j] - t.lists[2][k], 0.0)
            choice[v] = j
    if not problem.meets_slas(choice):  # (a safety net: the slack argument says it holds)
        return dict(rows)
    return {v: inst.node(v).configs[problem.tables[v].lists[0][k]] for v, k in choice.items()}


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
        a = _accuracy
        top_rows: dict[str, Any] | None
        if len(inst.nodes) <= EXACT_TOP_MAX_NODES:
            # the most accurate choice within the SLAs: an overwhelming accuracy weight
            keen = replace(inst, extra={**inst.extra, "accuracy": {"scale": ACCURACY_SCALE,
                                                                   "weight": 1e6}})
            top = _fa2(keen, "accuracy")
            top_rows = chosen_rows(keen, top) if top.has_decision else None
        else:
            top_rows = accurate_ascent(inst, rows)
        if top_rows is not None:
            floors = {}
            for f in inst.flows:
                if math.fsum(math.log(a(top_rows[v])) for v in f.nodes) < LOG_LEAST_NORMAL:
                    continue  # no floor in (0, 1] that the best choice meets is a normal double
                now = math.prod(a(rows[v]) for v in f.nodes)
                best = math.prod(a(top_rows[v]) for v in f.nodes)
                floors[f.name] = _floor_fraction(now + 0.5 * (best - now))
            if floors:
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
