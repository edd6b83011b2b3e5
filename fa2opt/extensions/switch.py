"""``switch`` (reconfiguration): a node's deployed row and the cost of changing it (spec).

``"current": {"<node>": {"batch": b, "hardware": h, "units": u, "variant": x}}`` and
``"switch_cost": s`` (≥ 0, or a map node → s; default 0). A node with a current row whose
chosen row has another identity adds s_v to the objective; replica changes are free.
One :class:`~fa2opt.extensions.RowTerm`: ``term[v][k] = s_v`` if row k's identity differs
from the current one, else 0 (only when some s_v > 0; otherwise the objective is the cost).
"""

from __future__ import annotations

import math
from typing import Any, Mapping

import numpy as np

from .. import spec
from ..io import InputError, label, quote
from . import RowTerm

KEY = "switch"


def parse(instance: Any) -> dict[str, Any]:
    """``{"current": node → identity, "cost": node → s_v}`` (nodes with a current row)."""
    src, extra = instance.source, instance.extra
    nodes = instance.node_index
    raw = extra.get("current", {})
    if not isinstance(raw, Mapping):
        raise InputError(src, "current", f"must be an object mapping node to its deployed "
                                         f"row (got {type(raw).__name__})")
    current: dict[str, tuple] = {}
    for v, row in raw.items():
        field = f"current.{label(str(v))}"
        if v not in nodes:
            raise InputError(src, field, "unknown node")
        if not isinstance(row, Mapping):
            raise InputError(src, field, f"must be an object with batch, hardware, units"
                                         f"[, variant] (got {type(row).__name__})")
        # other keys are ignored, as the spec ignores keys it does not define: a previous
        # answer's node object (its replicas, latencies and cost beside the identity) is
        # taken as the deployed row as it is
        missing = sorted({"batch", "hardware", "units"} - set(row))
        if missing:
            raise InputError(src, f"{field}.{missing[0]}", "missing")
        checks = {"batch": lambda x: isinstance(x, (int, float)) and not isinstance(x, bool)
                  and math.isfinite(x) and float(x).is_integer(),  # 4.0 as a profile takes it
                  "hardware": lambda x: isinstance(x, str),
                  "units": lambda x: isinstance(x, (int, float)) and not isinstance(x, bool)
                  and math.isfinite(x),
                  "variant": lambda x: x is None or isinstance(x, str)}
        for key, ok in checks.items():
            if key in row and not ok(row[key]):
                raise InputError(src, f"{field}.{key}", f"invalid value {quote(row[key])}")
        ident = (int(row["batch"]), row["hardware"], row["units"], row.get("variant"))
        rows = [c.identity for c in instance.node(v).configs]
        if not any(_same(ident, r) for r in rows):
            raise InputError(src, field, f"no row of the node's profile has identity "
                                         f"(batch {quote(ident[0])}, hardware {quote(ident[1])}, "
                                         f"units {quote(ident[2])}, variant {quote(ident[3])})")
        current[v] = ident
    raw_cost = extra.get("switch_cost", 0.0)
    per_node: Mapping[str, Any]
    if isinstance(raw_cost, Mapping):
        for v in raw_cost:
            if v not in nodes:
                raise InputError(src, f"switch_cost.{label(str(v))}", "unknown node")
        per_node = raw_cost
        default = 0.0
    else:
        per_node, default = {}, _cost(src, "switch_cost", raw_cost)
    cost = {v: _cost(src, f"switch_cost.{label(v)}", per_node[v]) if v in per_node else default
            for v in current}
    for v in per_node:  # validate entries of nodes without a current row too
        _cost(src, f"switch_cost.{label(v)}", per_node[v])
    return {"current": current, "cost": cost}


def _cost(src: str, field: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) \
            or not math.isfinite(value) or value < 0:
        raise InputError(src, field, f"must be a finite number >= 0 (got {quote(value)})")
    if value > spec.OBJECTIVE_TERM_RANGE[1]:
        raise InputError(src, field, f"out of range: must be in [0, "
                                     f"{spec.OBJECTIVE_TERM_RANGE[1]:g}] (got {value!r})")
    return float(value)


def _same(a: tuple, b: tuple) -> bool:
    """Row identities equal (units compared as numbers: 2 and 2.0 are the same)."""
    return a[0] == b[0] and a[1] == b[1] and float(a[2]) == float(b[2]) and a[3] == b[3]


def declare(problem: Any, s: Mapping[str, Any]) -> list[RowTerm]:
    term: dict[str, np.ndarray] = {}
    for v, ident in s["current"].items():
        cost = s["cost"][v]
        if cost <= 0:
            continue
        configs = problem.instance.node(v).configs
        term[v] = np.array([0.0 if _same(configs[r].identity, ident) else cost
                            for r in problem.tables[v].lists[0]])
    return [RowTerm(KEY, term)] if term else []


def check(instance: Any, s: Mapping[str, Any], chosen: Mapping[str, tuple[Any, int]]
          ) -> tuple[list[str], float]:
    """No constraint; the objective term Σ_{switched v} s_v."""
    return [], sum(s["cost"][v] for v, ident in s["current"].items()
                   if not _same(chosen[v][0].identity, ident))


def has_term(s: Mapping[str, Any]) -> bool:
    """The objective is not the cost when some node with a current row has s_v > 0."""
    return any(c > 0 for c in s["cost"].values())
