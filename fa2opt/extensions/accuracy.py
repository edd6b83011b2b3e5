"""``accuracy``: model variants, per-flow accuracy floors and a weighted objective (spec).

Rows may carry ``accuracy``; ``"accuracy": {"min": {"<flow>": A_f}, "aggregate": "product" |
"min", "scale": s, "weight": w}`` (defaults: no floors, product, s = 1, w = 0). A row's
accuracy is a = accuracy / s ∈ (0, 1]; a node none of whose rows has one counts a = 1.

Blocks: ``product`` floor → :class:`~fa2opt.extensions.FlowBudget` with use = −ln a and
limit = −(ln A_f − 1e-9) (the same test as ``Σ ln a ≥ ln A_f − 1e-9`` to the last bit:
negation is exact and the sum is symmetric under it); ``min`` floor →
:class:`~fa2opt.extensions.RowFilter` (a_v ≥ A_f − 1e-9 for every floored flow f ∋ v);
w > 0 → :class:`~fa2opt.extensions.RowTerm` −w·a.

Why the product: a request of flow f passes every node of f and its answer is right only if
every stage is right; with independent stage errors the flow's accuracy is Π a_v, whose
logarithm is additive. The objective follows IPA (Ghafouri et al., arXiv 2308.12871).
"""

from __future__ import annotations

import math
from typing import Any, Mapping

import numpy as np

from .. import spec
from ..io import InputError, label, quote, row_without_accuracy
from . import Block, FlowBudget, RowFilter, RowTerm

KEY = "accuracy"
AGGREGATES = ("product", "min")
_KEYS = {"min", "aggregate", "scale", "weight"}


def parse(instance: Any) -> dict[str, Any]:
    """Validated settings: floors (flow → A_f), aggregate, scale, weight, and the row
    accuracies ``acc`` (node → a per profile row, 1.0 for a node without accuracies)."""
    src = instance.source

    def fail(field: str, reason: str) -> InputError:
        return InputError(src, f"{KEY}.{field}" if field else KEY, reason)

    raw: Any = instance.extra.get(KEY, {})
    if raw is None:
        raw = {}
    if not isinstance(raw, Mapping):
        raise fail("", f"must be an object (got {type(raw).__name__})")
    unknown = sorted(set(raw) - _KEYS)
    if unknown:
        raise fail(label(str(unknown[0])), f"unknown key (known: {', '.join(sorted(_KEYS))})")

    def number(value: Any, field: str) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)) \
                or not math.isfinite(value):
            raise fail(field, f"not a finite number ({quote(value)})")
        return float(value)

    aggregate = raw.get("aggregate", "product")
    if aggregate not in AGGREGATES:
        raise fail("aggregate", f"must be one of {', '.join(AGGREGATES)} (got {quote(aggregate)})")
    scale = number(raw.get("scale", 1.0), "scale")
    if scale <= 0:
        raise fail("scale", f"must be > 0 (got {scale!r})")
    weight = number(raw.get("weight", 0.0), "weight")
    if weight < 0:
        raise fail("weight", f"must be >= 0 (got {weight!r})")
    if weight > spec.OBJECTIVE_TERM_RANGE[1]:
        raise fail("weight", f"out of range: must be in [0, {spec.OBJECTIVE_TERM_RANGE[1]:g}] "
                             f"(got {weight!r})")
    floors_raw = raw.get("min", {})
    if not isinstance(floors_raw, Mapping):
        raise fail("min", f"must be an object mapping flow to a floor (got "
                          f"{type(floors_raw).__name__})")
    flows = {f.name for f in instance.flows}
    floors: dict[str, float] = {}
    for f, a in floors_raw.items():
        if f not in flows:
            raise fail(f"min.{label(str(f))}", f"unknown flow (flows: {quote(sorted(flows))})")
        a = number(a, f"min.{label(f)}")
        if not 0 < a <= 1:
            raise fail(f"min.{label(f)}", f"must be in (0, 1] (a fraction; got {a!r})")
        floors[f] = a
    acc: dict[str, list[float]] = {}
    for node in instance.nodes:
        if all(c.accuracy is None for c in node.configs):
            acc[node.name] = [1.0] * len(node.configs)
            continue
        missing = row_without_accuracy(node.configs)  # io refuses it too; an Instance built
        if missing is not None:                       # in code reaches it here
            raise InputError(src, f"nodes[{label(node.name)}].accuracy",
                             f"row {missing} has no accuracy while other rows of the node do")
        for j, c in enumerate(node.configs):
            if not 0 < c.accuracy / scale <= 1:
                raise InputError(src, f"nodes[{label(node.name)}].accuracy",
                                 f"row {j}: accuracy {float(c.accuracy)!r} / scale {scale!r} "
                                 f"is not in (0, 1] (set '{KEY}.scale', e.g. 100 for "
                                 f"percentages)")
        acc[node.name] = [c.accuracy / scale for c in node.configs]
    return {"floors": floors, "aggregate": aggregate, "scale": scale, "weight": weight,
            "acc": acc}


def declare(problem: Any, s: Mapping[str, Any]) -> list[Block]:
    acc = {v: np.array([s["acc"][v][r] for r in t.lists[0]], dtype=float)
           for v, t in problem.tables.items()}
    blocks: list[Block] = []
    floors = s["floors"]
    if s["aggregate"] == "product":
        for g in problem.flows:
            if g.name in floors:
                use = {v: np.array([-math.log(a) for a in acc[v].tolist()]) for v in g.nodes}
                limit = -(math.log(floors[g.name]) - spec.ACCURACY_TOL)
                blocks.append(FlowBudget(KEY, g.name, g.nodes, use, limit))
    elif floors:
        allowed = {v: np.ones(len(t), dtype=bool) for v, t in problem.tables.items()}
        for g in problem.flows:
            if g.name in floors:
                for v in g.nodes:
                    allowed[v] &= acc[v] >= floors[g.name] - spec.ACCURACY_TOL
        blocks.append(RowFilter(KEY, {v: ok for v, ok in allowed.items() if not ok.all()}))
    if s["weight"] > 0:
        blocks.append(RowTerm(KEY, {v: -s["weight"] * a for v, a in acc.items()}))
    return blocks


def flow_accuracy(instance: Any, s: Mapping[str, Any], rows: Mapping[str, int]
                  ) -> dict[str, float]:
    """Each flow's aggregate accuracy (fraction) for chosen profile rows (node → row index
    into its configs), per the settings (for reports and tests)."""
    agg = math.prod if s["aggregate"] == "product" else min
    return {f.name: float(agg(s["acc"][v][rows[v]] for v in f.nodes)) for f in instance.flows}


def check(instance: Any, s: Mapping[str, Any], chosen: Mapping[str, tuple[Any, int]]
          ) -> tuple[list[str], float]:
    """Independent recomputation from the chosen raw rows: the floors broken, and the
    objective term −w·Σ_v a_v."""
    scale = s["scale"]

    def a(v: str) -> float:
        cfg = chosen[v][0]
        return 1.0 if cfg.accuracy is None else cfg.accuracy / scale

    problems = []
    order = instance.topological_order
    for f in instance.flows:
        floor = s["floors"].get(f.name)
        if floor is None:
            continue
        members = set(f.nodes)
        nodes = [v for v in order if v in members]
        if s["aggregate"] == "product":
            total = spec.budget_sum(math.log(a(v)) for v in nodes)
            if not total >= math.log(floor) - spec.ACCURACY_TOL:
                problems.append(f"accuracy {f.name}: Σ ln a = {total!r} < ln {floor!r} − 1e-9")
        else:
            low = [v for v in nodes if not a(v) >= floor - spec.ACCURACY_TOL]
            if low:
                problems.append(f"accuracy {f.name}: node {low[0]} a = {a(low[0])!r} < "
                                f"{floor!r} − 1e-9")
    return problems, -s["weight"] * sum(a(v) for v in chosen)


def has_term(s: Mapping[str, Any]) -> bool:
    """The objective is not the cost when w > 0."""
    return s["weight"] > 0
