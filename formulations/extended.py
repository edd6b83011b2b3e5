"""``extended``: the base model plus every extension block (:mod:`fa2opt.extensions`), generically.

The MILP's side of the vocabulary. For blocks declared on the problem's tables:

    RowFilter     x_vk fixed to 0 where the row is not allowed            (exact: a bound)
    RowTerm       objective  Σ c_vk x_vk + Σ_k term_vk x_vk
    FlowBudget /  Σ_{v ∈ nodes} Σ_k use_vk x_vk ≤ limit + margin        (one row each)
    GlobalBudget

A budget row is widened by :func:`formulations.base.row_margin` like the SLA rows, so HiGHS's
rounding cuts off nothing the rule accepts; every decision is then re-checked by the
block's exact rule (:func:`fa2opt.extensions.budget_use`, the one summation order) in
``m.rule_checks`` and a rejected one is cut off with a monotone no-good cut
(:mod:`formulations.solve`). Rows whose own use exceeds a limit of a budget with non-negative
uses are fixed to 0 (exact: such a sum only grows). ``objective`` is recomputed from the
tables (:func:`fa2opt.extensions.objective`), never read from HiGHS.

Which extensions: :data:`FORMULATION` (``--formulation extended``, the milp default) takes
every one the instance carries; ``capacity``, ``accuracy`` and ``switch`` (their own modules)
only theirs; ``base`` none.
"""

from __future__ import annotations

from typing import Mapping, Sequence

import pyomo.environ as pyo

from fa2opt import extensions
from fa2opt.problem import Problem

from . import Formulation, Violation
from . import base


def build(problem: Problem, only: str | None = None) -> pyo.ConcreteModel:
    """The base model with the blocks of the instance's extensions (``only``: just that one)."""
    names = extensions.requested(problem.instance, only)
    blocks = extensions.declare(problem, names)
    m = base.build(problem)
    m.name = f"{only or 'extended'}:{problem.instance.name}"
    add_blocks(m, problem, blocks)
    return m


def add_blocks(m: pyo.ConcreteModel, problem: Problem, blocks: Sequence[extensions.Block]
               ) -> None:
    """Every block into ``m`` (see the module doc), with its exact check in ``m.rule_checks``."""
    terms: list[tuple[object, float]] = []
    m.budget_rhs = {}
    m.budget_rows = pyo.ConstraintList()
    for i, b in enumerate(blocks):
        if isinstance(b, extensions.RowFilter):
            for v, ok in b.allowed.items():
                for k in range(len(ok)):
                    if not ok[k]:
                        m.x[v, k].setub(0)
        elif isinstance(b, extensions.RowTerm):
            terms += [(m.x[v, k], float(t)) for v, arr in b.term.items()
                      for k, t in enumerate(arr.tolist()) if t != 0.0]
        else:
            use = {v: b.use[v].tolist() for v in b.nodes}
            if all(u >= 0 for us in use.values() for u in us):
                for v, us in use.items():
                    for k, u in enumerate(us):
                        if u > b.limit:
                            m.x[v, k].setub(0)
            pairs = [(m.x[v, k], u) for v, us in use.items() for k, u in enumerate(us)
                     if u != 0.0]
            if not pairs:
                continue
            coef = max(abs(u) for _, u in pairs)
            scale = base.row_scale(b.limit, coef)  # a power of two: the division is exact
            m.budget_rhs[i] = b.limit + base.row_margin(b.limit, len(b.nodes), scale)
            m.budget_rows.add(base.linear([x for x, _ in pairs], [u / scale for _, u in pairs])
                              <= m.budget_rhs[i] / scale)
    m.rule_checks.append(lambda choice: violations(m, blocks, choice))
    # the objective rebuilt on the final model (base.objective_for_highs): rows the blocks
    # fixed to 0 leave it, and every row now has its exact check, so pruning is safe
    # (one call only: a second would reset the first's m.objective_cutoff while keeping the
    # rows it left out -- a switch term of 0 on every row did that, and a restricted model's
    # `infeasible` was taken for the whole's)
    if not any(isinstance(b, extensions.RowTerm) for b in blocks):
        m.cost.expr = base.cost_expression(m, problem, prune=True)
    else:
        m.cost.deactivate()
        m.objective = pyo.Objective(
            expr=base.cost_expression(m, problem, terms, prune=True), sense=pyo.minimize)
        m.objective_is_cost = False
        m.table_objective = lambda choice: extensions.objective(problem, blocks, choice)


def violations(m: pyo.ConcreteModel, blocks: Sequence[extensions.Block],
               choice: Mapping[str, int]) -> list[Violation]:
    """The blocks the choice breaks by their exact rules. Cuts: a filtered row is cut alone;
    a budget's nodes keep a row using at least as much (the sum only grows)."""
    out = []
    for i, b in enumerate(blocks):
        if isinstance(b, extensions.RowFilter):
            out += [Violation(f"{b.key}: node {v} row {choice[v]} not allowed",
                              {v: (choice[v],)}, True)
                    for v, ok in b.allowed.items() if not ok[choice[v]]]
        elif isinstance(b, (extensions.FlowBudget, extensions.GlobalBudget)):
            used = extensions.budget_use(b, choice)
            if used <= b.limit:
                continue
            rhs = m.budget_rhs.get(i)
            values = {v: b.use[v].tolist() for v in b.nodes}
            out.append(Violation(f"{b.key} {b.name}: {used!r} > {b.limit!r}",
                                 base.monotone_cut(values, choice, b.nodes),
                                 rhs is None or used > rhs + (rhs - b.limit)))
    return out


def formulation(only: str | None, summary: str) -> Formulation:
    """The vocabulary's formulation for one extension (``only``) or all present (None)."""
    return Formulation(name=only or "extended", build=lambda p: build(p, only),
                       read_back=base.read_back, summary=summary, extra_constraints=True,
                       extensions=None if only is None else (only,), milp_only=False)


FORMULATION = formulation(None, "base + every extension key the instance carries (capacity, "
                                "accuracy, switch), from the shared vocabulary (the default)")
