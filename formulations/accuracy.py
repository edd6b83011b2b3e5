"""``accuracy``: model variants with per-flow accuracy floors and an IPA-style objective (MILP only).

Profile rows may carry ``variant`` and ``accuracy`` (spec). Instance key (top level)::

    "accuracy": {"min": {"faces": 0.70},     # per-flow floor on the aggregate (optional)
                 "aggregate": "product",     # or "min" (default "product")
                 "scale": 100,               # row accuracy / scale is a fraction in (0, 1]
                 "weight": 0.0}              # cost-accuracy trade-off (default 0: cost only)

Data: a_vk = accuracy of configuration k of node v / scale ∈ (0, 1] (a node none of whose
rows has an accuracy is neutral: a_vk = 1); F_min ⊆ F the flows with a floor A_f ∈ (0, 1];
w ≥ 0 the weight.

Constraints, in addition to ``base``'s:

    product:  Σ_{v ∈ V_f} Σ_k ln(a_vk) · x_vk ≥ ln(A_f) − 1e-9 − margin     ∀ f ∈ F_min
    min:      Σ_{k : not a_vk ≥ A_f − 1e-9} x_vk = 0                    ∀ f ∈ F_min, v ∈ V_f

(the spec's floors with their 1e-9 tolerance; the product row is widened by
:func:`formulations.base.row_margin` and the solver re-checks every decision with the rule,
:func:`violations`; the min rows are exact).

Objective: minimise Σ_v Σ_k c_vk x_vk − w · Σ_v Σ_k a_vk x_vk.

Why the product: a request of flow f passes every node of f (all branches of its DAG), and
its answer is right only if every stage is right; with independent stage errors the flow's
accuracy is Π_{v ∈ V_f} a_v. Its logarithm is a sum of per-row constants, so the floor stays
one linear row per flow (no non-linear term, no extra variable). ``min`` (the weakest stage
bounds the flow) is the conservative alternative and simply forbids the rows below the
floor. The objective follows IPA (Ghafouri et al., "IPA: Inference Pipeline Adaptation to
Achieve High Accuracy and Cost-Efficiency", arXiv 2308.12871), which maximises
α·accuracy − β·cost − γ·batch; here β = 1, α = w, γ = 0 (batch size is already priced
through latency and replicas) and the accuracy term is the sum of the chosen rows' scaled
accuracies. With w > 0 the objective is not the cost: the answer's ``cost`` is the chosen
decision's cost, and ``objective``/``objective_bound`` are reported as extras.
"""

from __future__ import annotations

import math
from typing import Any, Mapping

import pyomo.environ as pyo

from fa2opt.io import InputError
from fa2opt.problem import Problem

from . import EXTENSION_TOL, Formulation, Violation
from . import base

KEY = "accuracy"
AGGREGATES = ("product", "min")
_KEYS = {"min", "aggregate", "scale", "weight"}


def settings(problem: Problem) -> dict[str, Any]:
    """The validated ``accuracy`` settings: floors (flow → A_f), aggregate, scale, weight."""
    inst = problem.instance
    src = inst.source

    def fail(field: str, reason: str) -> InputError:
        return InputError(src, f"{KEY}.{field}" if field else KEY, reason)

    raw: Any = inst.extra.get(KEY, {})
    if not isinstance(raw, Mapping):
        raise fail("", f"must be an object (got {type(raw).__name__})")
    unknown = sorted(set(raw) - _KEYS)
    if unknown:
        raise fail(str(unknown[0]), f"unknown key (known: {', '.join(sorted(_KEYS))})")

    def number(value: Any, field: str) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)) \
                or not math.isfinite(value):
            raise fail(field, f"not a finite number ({value!r})")
        return float(value)

    aggregate = raw.get("aggregate", "product")
    if aggregate not in AGGREGATES:
        raise fail("aggregate", f"must be one of {', '.join(AGGREGATES)} (got {aggregate!r})")
    scale = number(raw.get("scale", 1.0), "scale")
    if scale <= 0:
        raise fail("scale", f"must be > 0 (got {scale:g})")
    weight = number(raw.get("weight", 0.0), "weight")
    if weight < 0:
        raise fail("weight", f"must be >= 0 (got {weight:g})")
    floors_raw = raw.get("min", {})
    if not isinstance(floors_raw, Mapping):
        raise fail("min", f"must be an object mapping flow to a floor (got "
                          f"{type(floors_raw).__name__})")
    flows = {f.name for f in inst.flows}
    floors: dict[str, float] = {}
    for f, a in floors_raw.items():
        if f not in flows:
            raise fail(f"min.{f}", f"unknown flow (flows: {', '.join(sorted(flows))})")
        a = number(a, f"min.{f}")
        if not 0 < a <= 1:
            raise fail(f"min.{f}", f"must be in (0, 1] (a fraction; got {a:g})")
        floors[f] = a
    return {"floors": floors, "aggregate": aggregate, "scale": scale, "weight": weight}


def row_accuracies(problem: Problem, scale: float) -> dict[str, list[float]]:
    """a_vk per node, in table order (fractions in (0, 1]; 1.0 for a node without accuracy)."""
    inst = problem.instance
    out: dict[str, list[float]] = {}
    for v, t in problem.tables.items():
        configs = inst.node(v).configs
        given = [c.accuracy is not None for c in configs]
        if not any(given):
            out[v] = [1.0] * len(t)
            continue
        if not all(given):
            j = given.index(False)
            raise InputError(inst.source, f"nodes[{v}].accuracy",
                             f"row {j} has no accuracy while other rows of the node do")
        for j, c in enumerate(configs):
            a = c.accuracy / scale
            if not 0 < a <= 1:
                raise InputError(inst.source, f"nodes[{v}].accuracy",
                                 f"row {j}: accuracy {c.accuracy:g} / scale {scale:g} is not in "
                                 f"(0, 1] (set '{KEY}.scale', e.g. 100 for percentages)")
        out[v] = [configs[r].accuracy / scale for r in t.rows.tolist()]
    return out


def build(problem: Problem) -> pyo.ConcreteModel:
    """``base``'s model plus the accuracy floors and, with w > 0, the weighted objective.

    Floors are the spec's, ``Σ ln a ≥ ln A_f − 1e-9`` (product; widened by
    :func:`formulations.base.row_margin`, the exact check :func:`violations` settles the last
    bits) or ``a_v ≥ A_f − 1e-9`` (min: the rows that break it are fixed to 0, exactly)."""
    s = settings(problem)  # validate before building anything
    acc = row_accuracies(problem, s["scale"])
    m = base.build(problem)
    m.name = f"accuracy:{problem.instance.name}"
    members = {g.name: g.nodes for g in problem.flows}
    floors = s["floors"]
    m.FMIN = pyo.Set(initialize=list(floors), ordered=True)
    if s["aggregate"] == "product":
        log_acc = {v: [math.log(a) for a in av] for v, av in acc.items()}
        bound = {f: math.log(a) - EXTENSION_TOL for f, a in floors.items()}
        for f in floors:  # a row whose own log breaks the floor breaks it under any choice
            for v in members[f]:
                for k, la in enumerate(log_acc[v]):
                    if la < bound[f]:
                        m.x[v, k].setub(0)
        m.floor_rhs = {f: b - base.row_margin(m, b, len(members[f]), max(
            [-la for v in members[f] for la in log_acc[v]] + [0.0])) for f, b in bound.items()}

        def product_floor(m: pyo.ConcreteModel, f: str):
            terms = [(v, k, la) for v in members[f] for k, la in enumerate(log_acc[v])
                     if la != 0.0]
            if not terms:  # every stage is exact (a = 1): 0 ≥ ln A_f always holds
                return pyo.Constraint.Skip
            return base.linear([m.x[v, k] for v, k, _ in terms],
                               [la for *_, la in terms]) >= m.floor_rhs[f]

        m.accuracy_floor = pyo.Constraint(m.FMIN, rule=product_floor)
    else:
        def below(f: str, a: float) -> bool:
            return not a >= floors[f] - EXTENSION_TOL

        pairs = [(f, v) for f in floors for v in members[f] if any(below(f, a) for a in acc[v])]
        m.FV = pyo.Set(initialize=pairs, dimen=2, ordered=True)
        m.accuracy_floor = pyo.Constraint(m.FV, rule=lambda m, f, v: pyo.quicksum(
            m.x[v, k] for k, a in enumerate(acc[v]) if below(f, a)) == 0.0)
    rhs = getattr(m, "floor_rhs", None)
    m.rule_checks.append(lambda choice: violations(problem, s, acc, choice, rhs))
    if s["weight"] > 0:
        w = s["weight"]
        m.cost.deactivate()
        m.cost_minus_accuracy = pyo.Objective(
            expr=base.cost_expression(m, problem) - w * pyo.quicksum(
                a * m.x[v, k] for v, av in acc.items() for k, a in enumerate(av)),
            sense=pyo.minimize)
        m.objective_is_cost = False
        m.table_objective = lambda choice: objective(problem, s, acc, choice)
    return m


def objective(problem: Problem, s: Mapping[str, Any], acc: Mapping[str, list[float]],
              choice: Mapping[str, int]) -> float:
    """The spec's objective Σ_v c_v − w · Σ_v a_v, from the tables (nodes in table order)."""
    return problem.cost(choice) - s["weight"] * sum(acc[v][choice[v]] for v in acc)


def violations(problem: Problem, s: Mapping[str, Any], acc: Mapping[str, list[float]],
               choice: Mapping[str, int],
               rhs: Mapping[str, float] | None = None) -> list[Violation]:
    """The floors the choice breaks by the spec's rule: ``Σ_{v ∈ f} ln a_v ≥ ln A_f − 1e-9``
    (flow's nodes in topological order) or ``a_v ≥ A_f − 1e-9`` for every v ∈ f. Cut: the
    flow's nodes keep a row at most as accurate (the sum of logs only falls). ``rhs``: the
    model's widened product rows (a violation past them is HiGHS leaving its model; the min
    rows are exact, so any violation of them is)."""
    out = []
    minus_log = {v: [-math.log(a) for a in av] for v, av in acc.items()}
    for g in problem.flows:
        floor = s["floors"].get(g.name)
        if floor is None:
            continue
        if s["aggregate"] == "product":
            total = 0.0
            for v in g.nodes:
                total += math.log(acc[v][choice[v]])
            if total >= math.log(floor) - EXTENSION_TOL:
                continue
            what = f"flow {g.name}: Σ ln accuracy {total!r} < ln {floor!r} − 1e-9"
            nodes: tuple[str, ...] = g.nodes
            bound = math.log(floor) - EXTENSION_TOL
            beyond = rhs is None or total < rhs[g.name] - (bound - rhs[g.name])
        else:
            nodes = tuple(v for v in g.nodes if not acc[v][choice[v]] >= floor - EXTENSION_TOL)
            if not nodes:
                continue
            a = acc[nodes[0]][choice[nodes[0]]]
            what = f"flow {g.name}: node {nodes[0]} accuracy {a!r} < {floor!r} − 1e-9"
            beyond = True
        out.append(Violation(what, base.monotone_cut(minus_log, choice, nodes), beyond))
    return out


def flow_accuracy(problem: Problem, choice: Mapping[str, int]) -> dict[str, float]:
    """Each flow's aggregate accuracy (fraction) under a choice, per the instance's settings
    (for reports and tests)."""
    s = settings(problem)
    acc = row_accuracies(problem, s["scale"])
    agg = math.prod if s["aggregate"] == "product" else min
    return {g.name: float(agg(acc[v][choice[v]] for v in g.nodes)) for g in problem.flows}


FORMULATION = Formulation(
    name="accuracy", build=build, read_back=base.read_back, extra_constraints=True,
    summary="base + model variants: per-flow accuracy floor (product via Σ log, or min) and "
            "an optional IPA-style cost − w·accuracy objective (instance key 'accuracy')",
)
