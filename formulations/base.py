"""``base``: the spec's problem, exactly, as a MILP (any DAG, any number of flows sharing nodes).

Data (from the configuration tables ``problem.tables``, available rows only):

    V                     nodes;  K_v  positions of node v's table (0 = fastest)
    L_vk, c_vk            node latency (ms) and cost of configuration k of node v
    F                     flows;  V_f ⊆ V its nodes;  E_f its edges (u, v, d_e), both ends in V_f
    S_f                   flow f's SLA (ms);  B_f = fl(S_f + 1e-6) its budget (spec.budget_ms)
    B_f⁺ = B_f + margin_f  the budget widened by row_margin (≪ 1e-6 ms on ordinary instances)

Variables:

    x_vk ∈ {0, 1}                        configuration k is chosen for node v
    t_fv ∈ [0, B_f⁺]      (v ∈ V_f)      finish time of node v in flow f (ms; the rows are
                                         divided by a power of two, row_scale, for HiGHS)

Constraints:

    Σ_k x_vk = 1                                   ∀ v                 (one configuration)
    t_fv ≥ Σ_k L_vk x_vk                           ∀ f, v ∈ V_f source (no in-flow pred.)
    t_fv ≥ t_fu + d_e + Σ_k L_vk x_vk              ∀ f, (u, v, d_e) ∈ E_f

Objective:

    minimise Σ_v Σ_k c_vk x_vk

Why it is exact: for a fixed choice x, the least t satisfying the constraints is the
longest-path finish time of every node (t_fv = L_v + max_pred(t_fu + d_e)), so some t fits
under B_f⁺ iff the flow's longest source→sink path is ≤ B_f⁺ in exact arithmetic. The
spec's rule compares the canonical floating-point sum with B_f; the margin makes the model a
(tight) relaxation of it, and :mod:`formulations.solve` settles the last bits: it re-checks
every decision with the rule (``m.rule_checks``) and cuts off what the rule rejects. No path is
enumerated (their number can be exponential), no big-M is needed, and nothing non-linear
appears: replicas, latency and cost of each row come from the configuration table.
Size: Σ_v K_v binaries, Σ_f |V_f| continuous variables, |V| + Σ_f (|sources_f| + |E_f|) rows.

Exact reductions: a row whose own latency exceeds the least budget of its node's flows is
fixed to 0 and left out of the rows (every flow's latency is at least each node's L), and a
flow that even its slowest usable rows meet (e.g. ``sla_ms`` 1e19, which HiGHS would read as
infinite) gets no finish times and no rows.

A node with no available row gets a pinned slack ``unavailable_v ∈ [0, 0]`` with
``unavailable_v = 1``, so the model itself is infeasible exactly as the spec says (the
solver can also short-circuit with the all-fastest test).
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import math
from typing import Iterable, Iterator, Mapping

import pyomo.environ as pyo
from pyomo.core.expr.numeric_expr import LinearExpression, MonomialTermExpression

from fa2opt import deadline, spec
from fa2opt.problem import Problem

from . import FEAS_TOL, Formulation, Violation

SLA_TOL_MS = spec.SLA_TOL_MS  # re-exported for callers of this module
INTEGRALITY_TOL = 1e-4  # a binary farther than this from 0/1 is not a valid read-back


def build(problem: Problem, prune: bool = False) -> pyo.ConcreteModel:
    """The base model: choice binaries, per-flow finish times, minimum-cost objective.
    ``prune`` (only where no rows will be added: the ``base`` formulation): see
    :func:`objective_for_highs`."""
    m = pyo.ConcreteModel(name=f"base:{problem.instance.name}")
    add_choice(m, problem)
    add_flow_latency(m, problem)
    m.cost = pyo.Objective(expr=cost_expression(m, problem, prune=prune), sense=pyo.minimize)
    m.objective_is_cost = True
    return m


MAX_SCALE_EXPONENT = 1023  # sys.float_info.max_exp - 1


def row_scale(bound: float, coef_max: float) -> float:
    """The power of two (≥ 1) that a row's coefficients and bound are divided by, so its
    values are at most about 1 for HiGHS. Dividing by a power of two is exact, and HiGHS's
    tolerance (1e-9, also its integrality tolerance) stays meaningful: with values of 1e9 ms
    unscaled, 1e-9 is below their ulp (HiGHS reports errors or false infeasibility), while a
    tolerance raised to match lets binaries sit 1e-5 off 0/1 and returns suboptimal choices."""
    _, exponent = math.frexp(max(1.0, abs(bound), abs(coef_max)))
    # at most 2^1023, the largest power of two in a double: a budget past it (a capacity or
    # energy limit of 1e308, finite as the spec asks) overflowed ldexp, a traceback
    return math.ldexp(1.0, min(exponent, MAX_SCALE_EXPONENT))


def row_margin(bound: float, terms: int, scale: float) -> float:
    """How far a model row's bound is widened past the rule's bound (in the row's own units),
    so that HiGHS cuts off nothing the rule accepts: the rule sums ``terms`` doubles in one
    order, HiGHS in others (:func:`fa2opt.spec.fp_margin_ms`), and HiGHS judges each of up to
    ``terms + 1`` rows along a path with its feasibility tolerance (FEAS_TOL on the row
    divided by ``scale``). What the widening lets in is removed by the exact check and a cut
    (:mod:`formulations.solve`)."""
    return spec.fp_margin_ms(bound, terms) + (terms + 1) * FEAS_TOL * scale


def node_budgets(problem: Problem) -> dict[str, float]:
    """Per node, the least budget ``fl(S_f + 1e-6)`` of the flows containing it: a row whose
    own latency exceeds it breaks that flow under any choice (a flow's latency is at least
    each of its nodes' L), so it is unusable."""
    out: dict[str, float] = {}
    for g in problem.flows:
        b = spec.budget_ms(g.sla_ms)
        for v in g.nodes:
            out[v] = min(out.get(v, b), b)
    return out


def add_choice(m: pyo.ConcreteModel, problem: Problem) -> None:
    """``m.x[v, k]`` binaries with exactly one per node, and ``m.latency[v]`` = Σ_k L_vk x_vk.

    Also stores plain-Python copies of the table columns the model uses (``m.L``, ``m.c``:
    node → list of floats) and each node's binaries in table order (``m.xs``: node → list
    of variables), which extensions reuse instead of re-indexing. A row whose latency alone
    breaks a flow's SLA (:func:`node_budgets`) is fixed to 0 and left out of ``m.latency``
    (``m.usable[v]``: the positions that stay), which keeps huge latencies (up to 10^13 ms
    from a slow arrival stream) out of HiGHS's rows.
    """
    tables = problem.tables
    m.feas_tol = FEAS_TOL  # rows are scaled to values ≤ ~1 (row_scale), so this fits them all
    m.L = {v: t.latency_ms.tolist() for v, t in tables.items()}
    m.c = {v: t.cost.tolist() for v, t in tables.items()}
    caps = node_budgets(problem)
    m.usable = {v: [k for k, lat in enumerate(m.L[v]) if lat <= caps.get(v, float("inf"))]
                for v in tables}
    m.V = pyo.Set(initialize=list(tables), ordered=True)
    m.XI = pyo.Set(initialize=[(v, k) for v, t in tables.items() for k in range(len(t))],
                   dimen=2, ordered=True)
    m.x = pyo.Var(m.XI, within=pyo.Binary)
    m.xs = {v: [m.x[v, k] for k in range(len(t))] for v, t in tables.items()}  # per node
    for v, t in tables.items():
        for k in sorted(set(range(len(t))) - set(m.usable[v])):
            m.x[v, k].setub(0)
    empty = [v for v, t in tables.items() if len(t) == 0]
    m.EMPTY = pyo.Set(initialize=empty, ordered=True)
    m.unavailable = pyo.Var(m.EMPTY, bounds=(0.0, 0.0))

    def one(m: pyo.ConcreteModel, v: str):
        if v in m.EMPTY:
            return m.unavailable[v] == 1.0
        return linear(m.xs[v], [1.0] * len(m.xs[v])) == 1.0

    m.one = pyo.Constraint(m.V, rule=one)
    m.latency = pyo.Expression(m.V, rule=lambda m, v: linear(
        [m.xs[v][k] for k in m.usable[v]], [m.L[v][k] for k in m.usable[v]]))


def linear(variables: list, coefs: list[float]) -> LinearExpression:
    """Σ_i coefs[i] · variables[i] built directly as one Pyomo ``LinearExpression`` (about
    3× faster than ``quicksum`` of products on 10⁴-term models; same expression tree)."""
    return LinearExpression([MonomialTermExpression((c, x)) for c, x in zip(coefs, variables)])


CHECK_EVERY = 1024  # rule calls between two deadline checks (a call builds one term: ~20 µs)


class _QuietDeadline(logging.Filter):
    """Drops Pyomo's log records of a rule stopped by :func:`checked` ("Rule failed …:
    DPDeadline"): the MILP answers ``time_limit`` for it, with no error lines on stderr."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "DPDeadline" not in record.getMessage()


logging.getLogger("pyomo.core").addFilter(_QuietDeadline())


def checked(rule):
    """``rule`` (a Pyomo rule) checking the deadline in force (:func:`fa2opt.deadline.
    stop_at`, set by the MILP around the build) every :data:`CHECK_EVERY` calls: the finish
    times of 3,000 flows over 300 nodes took 31 s to build, past a 0.5 s limit. It raises
    :class:`~fa2opt.deadline.DPDeadline`; with no deadline the rule is returned as it is."""
    if deadline.current() is None:
        return rule
    calls = iter(range(1 << 62))

    def rule_checked(*args):
        if not next(calls) % CHECK_EVERY:
            deadline.check()
        return rule(*args)

    return rule_checked


def add_flow_latency(m: pyo.ConcreteModel, problem: Problem) -> None:
    """Finish times ``m.t[f, v]`` on each constrained flow's nodes, bounded by the flow's
    widened budget ``m.sla_rhs[f]``, and ``m.rule_checks`` = [the exact SLA check].

    A flow whose SLA even the slowest usable rows meet (e.g. ``sla_ms`` 1e19, which HiGHS
    would read as infinite) constrains nothing and gets no rows (``m.sla_rhs`` lacks it).
    """
    usable_lat = {v: [m.L[v][k] for k in ks] for v, ks in m.usable.items()}
    m.sla_rhs = {}
    scale: dict[str, float] = {}
    for g in problem.flows:
        if all(usable_lat[v] for v in g.nodes) and g.meets_sla(
                {v: usable_lat[v][-1] for v in g.nodes}):  # tables are sorted by latency
            continue
        coef_max = max([lat for v in g.nodes for lat in usable_lat[v]]
                       + [d for v in g.nodes for _, d in g.preds[v]] + [0.0])
        budget = spec.budget_ms(g.sla_ms)
        scale[g.name] = row_scale(budget, coef_max)
        m.sla_rhs[g.name] = budget + row_margin(budget, 2 * len(g.nodes), scale[g.name])
    flows = [g for g in problem.flows if g.name in m.sla_rhs]
    m.TI = pyo.Set(initialize=[(g.name, v) for g in flows for v in g.nodes], dimen=2,
                   ordered=True)
    # finish times in units of the flow's row_scale (t_fv · scale_f ms)
    m.t = pyo.Var(m.TI, bounds=checked(lambda m, f, v: (0.0, m.sla_rhs[f] / scale[f])))
    inv = {f: 1.0 / s for f, s in scale.items()}  # exact: powers of two
    # the least positive coefficient of the finish-time rows (a model is solved with and
    # without presolve where it is tiny, formulations.solve.both_ways: HiGHS cut off
    # feasible choices there)
    m.least_coef = min((inv[g.name] * x for g in flows for v in g.nodes
                        for x in [*usable_lat[v], *(d for _, d in g.preds[v])] if x > 0),
                       default=1.0)
    m.SRC = pyo.Set(initialize=[(g.name, v) for g in flows for v in g.nodes if not g.preds[v]],
                    dimen=2, ordered=True)
    m.EI = pyo.Set(initialize=[(g.name, u, v) for g in flows for v in g.nodes
                               for u, _ in g.preds[v]], dimen=3, ordered=True)
    delay = {(g.name, u, v): d for g in flows for v in g.nodes for u, d in g.preds[v]}
    m.finish_source = pyo.Constraint(
        m.SRC, rule=checked(lambda m, f, v: m.t[f, v] >= inv[f] * m.latency[v]))
    m.finish_edge = pyo.Constraint(m.EI, rule=checked(lambda m, f, u, v: m.t[f, v] >= (
        m.t[f, u] + inv[f] * delay[f, u, v] + inv[f] * m.latency[v])))
    m.rule_checks = [lambda choice: sla_violations(problem, m, choice)]


def monotone_cut(values: Mapping[str, list[float]], chosen: Mapping[str, int],
                 nodes: Iterable[str]) -> dict[str, tuple[int, ...]]:
    """The cut (:class:`formulations.Violation`) of a rule broken by ``chosen`` that only
    gets more broken as any node's value grows (latency; units in use; −ln accuracy): per
    node, the positions whose value is ≥ the chosen one's. Nodes where that is every
    position are left out (they constrain nothing)."""
    cut: dict[str, tuple[int, ...]] = {}
    for v in nodes:
        mine = values[v][chosen[v]]
        ks = tuple(k for k, val in enumerate(values[v]) if val >= mine)
        if len(ks) < len(values[v]):
            cut[v] = ks
    return cut


def sla_violations(problem: Problem, m: pyo.ConcreteModel,
                   choice: Mapping[str, int]) -> list[Violation]:
    """The flows whose SLA the decision breaks by the spec's one rule (the canonical longest
    path against ``fl(S + 1e-6)``). Cut: any choice at least as slow on the flow's nodes
    breaks it too (the canonical sum is monotone in each L)."""
    lat = problem.latencies(choice)
    out = []
    for g in problem.flows:
        longest = g.longest_path(lat)
        if spec.meets(longest, g.sla_ms):
            continue
        budget = spec.budget_ms(g.sla_ms)
        rhs = m.sla_rhs.get(g.name)
        # overshooting the widened row by more than its widening is not HiGHS's tolerance
        beyond = (rhs is None or longest > rhs + (rhs - budget)
                  or any(choice[v] not in m.usable[v] for v in g.nodes))
        out.append(Violation(
            f"flow {g.name}: latency {longest!r} ms > fl(SLA + 1e-6) = {budget!r} ms",
            monotone_cut(m.L, choice, g.nodes), beyond))
    return out


def cost_expression(m: pyo.ConcreteModel, problem: Problem, terms: Iterable = (),
                    prune: bool = False):
    """Σ_v Σ_k c_vk x_vk (the spec's objective) plus ``terms`` ((binary, coefficient) pairs:
    an extension's objective), as HiGHS can hold it (:func:`objective_for_highs`)."""
    coef = {v: list(m.c[v]) for v in m.V}
    for x, t in terms:
        v, k = x.index()
        coef[v][k] += t
    return objective_for_highs(m, coef, prune)


# HiGHS reads an objective coefficient of magnitude >= 1e20 as infinite (``infinite_cost``),
# and costs c_k = n·u·price reach 1e45 inside the representable range (fa2opt.spec).
OBJECTIVE_MAX = 2.0 ** 50  # ≈ 1.1e15: a larger coefficient is shifted and scaled (below)
# HiGHS resolves objective differences only to about its tolerances (1e-9 integrality,
# 1e-7 dual feasibility) relative to the largest coefficient, while the spec compares
# objectives to 1e-9 x max(1, |objective|). Rows whose objective exceeds the least possible
# one by more than OBJECTIVE_SPAN x max(1, least) are left out of the model (the answer is
# kept only when provably optimal without them) or the MILP answers `error` -- never a
# suboptimal decision. Measured on instances drawn at the range's extremes (tests/
# test_extreme_ranges.py): spans of 1e15..1e28 gave decisions worse than the spec's 1e-9
# allows; 1e6 gave none. Ordinary instances stay below it (their model is unchanged).
OBJECTIVE_SPAN = 1e6
OBJECTIVE_FINE = 1e-6  # a row difference below this × max(1, least) triggers the same path
# A proven lower bound on the optimum objective, above the least possible one, that widens
# the span (span_limit(max(least, floor))): a restricted model that left rows out and then
# found nothing below its cutoff proves the optimum >= the cutoff, and formulations.solve
# rebuilds with that floor (each round lets 1e6x more in) instead of answering `error`
# (prices 0.02 and 2.2e8 in one instance, the only decision using the dear kind, did).
_OBJECTIVE_FLOOR: contextvars.ContextVar[float] = contextvars.ContextVar(
    "objective_floor", default=-math.inf)


# A proven upper bound on the optimum objective: the objective of a decision that passes every
# rule (found by an earlier round, formulations.solve). When it is negative, the optimum is
# at most it, so the spec's tolerance scale max(1, |optimum|) is at least -ceiling and the
# span may be OBJECTIVE_SPAN x -ceiling (objective_floor cannot widen it while the floor is
# negative: an accuracy weight of 1e12 makes every objective about -1e12, audit 10).
_OBJECTIVE_CEILING: contextvars.ContextVar[float] = contextvars.ContextVar(
    "objective_ceiling", default=math.inf)
# Models built inside whole_model(...) keep every usable row (formulations.solve's solve of
# the whole model when a restricted one settles nothing): "zero" gives them objective 0
# (a feasibility problem, nothing to resolve), "approximate" the objective scaled as usual
# but with no row left out (HiGHS's optimum is then only approximate: its decision is a
# valid upper bound once it passes every rule, never an answer).
_WHOLE_MODEL: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "whole_model", default=None)


@contextlib.contextmanager
def objective_floor(floor: float, ceiling: float = math.inf) -> Iterator[None]:
    """Models built inside take ``floor`` as a proven lower bound on the optimum objective
    and ``ceiling`` as a proven upper bound (the objective of a decision passing every
    rule; :func:`objective_for_highs`)."""
    token = _OBJECTIVE_FLOOR.set(floor)
    token_c = _OBJECTIVE_CEILING.set(ceiling)
    try:
        yield
    finally:
        _OBJECTIVE_CEILING.reset(token_c)
        _OBJECTIVE_FLOOR.reset(token)


@contextlib.contextmanager
def whole_model(objective: str) -> Iterator[None]:
    """Models built inside keep every usable row, with objective 0 (``objective`` "zero")
    or the objective unrestricted ("approximate"); ``m.objective_approximate`` is set: HiGHS's
    bound and optimality then say nothing exact about the objective."""
    if objective not in ("zero", "approximate"):
        raise ValueError(f"whole_model: objective {objective!r}")
    token = _WHOLE_MODEL.set(objective)
    try:
        yield
    finally:
        _WHOLE_MODEL.reset(token)


def objective_for_highs(m: pyo.ConcreteModel, coef: Mapping[str, list[float]],
                        prune: bool = False):
    """The objective Σ_v Σ_k coef[v][k] x_vk for HiGHS, which minimises the same decision:

    - rows fixed to 0 (unusable) get coefficient 0 (exact: they are 0 in every solution);
    - when some coefficient exceeds OBJECTIVE_MAX, some difference between a node's rows is
      below OBJECTIVE_FINE × max(1, least) (HiGHS's absolute tolerances would not see it)
      or the span below is exceeded: with
      ``prune`` (the model is final and ``m.rule_checks`` covers every row: never inside
      ``build``, which others extend), rows
      that cannot be optimal by the all-fastest choice's objective are fixed to 0
      (:func:`_prune_above_fastest`); each node's least free coefficient
      ``low_v`` is subtracted (exact up to a constant: exactly one row per node is 1) and the
      rest is divided by a power of two (exact, :func:`normalizing_scale`: the largest lands
      in [2^39, 2^40));
      ``m.objective_offset`` = Σ_v low_v and ``m.objective_scale`` carry HiGHS's values
      back (:mod:`formulations.solve`);
    - when the differences left span more than ``limit`` = :func:`span_limit` (Σ_v low_v):
      with ``prune``, the rows beyond ``limit`` are fixed to 0 and
      ``m.objective_cutoff`` = Σ_v low_v + limit: a decision of this restricted model whose
      objective is below it is optimal for the whole (every decision holding a row left out
      costs more), otherwise -- or when the restricted model is infeasible -- the optimum
      is at least the cutoff, and :mod:`formulations.solve` rebuilds with a wider span
      (:func:`objective_floor`: a floor or a negative ceiling bounding |optimum| further from
      0; the whole model solved once for a decision or a proof of infeasibility), answering
      ``error`` when nothing widens it; without ``prune``, ``m.objective_error`` says why it
      answers ``error`` at once.

    Ordinary instances: offset 0, scale 1, the model as written.

    The answer's cost and objective are recomputed from the tables, never read from HiGHS."""
    m.objective_scale, m.objective_offset, m.objective_error = 1.0, 0.0, None
    m.objective_cutoff = m.span_basis = None
    whole = _WHOLE_MODEL.get()
    m.objective_approximate = whole is not None
    if whole == "zero":
        xs = [x for v in m.V for x in m.xs[v]]
        return linear(xs, [0.0] * len(xs))
    free = {v: [k for k, x in enumerate(m.xs[v]) if x.ub is None or x.ub > 0] for v in m.V}
    use = {v: [0.0] * len(coef[v]) for v in m.V}
    for v in m.V:
        for k in free[v]:
            use[v][k] = coef[v][k]
    big = max((abs(c) for cs in use.values() for c in cs), default=0.0)
    low = {v: min((use[v][k] for k in free[v]), default=0.0) for v in m.V}
    diffs = [use[v][k] - low[v] for v in m.V for k in free[v]]
    least = math.fsum(low.values())
    floor = max(least, _OBJECTIVE_FLOOR.get())  # a proven lower bound on the optimum
    wide = max(diffs, default=0.0) > span_limit(floor)
    # a difference HiGHS's absolute tolerances (1e-7 on reduced costs) would not see, though
    # the spec's 1e-9 × max(1, |objective|) does (a switch cost of 1e-8 was ignored)
    fine = any(0.0 < d < OBJECTIVE_FINE * max(1.0, least) for d in diffs)
    if big > OBJECTIVE_MAX or wide or fine:
        upper = _prune_above_fastest(m, use, free, low) if prune else None
        for v in m.V:
            for k in free[v]:
                use[v][k] -= low[v]
        m.objective_offset = offset = math.fsum(low.values())
        spread = max((c for cs in use.values() for c in cs), default=0.0)
        # the tolerance scale max(1, |optimum|) is at least max(offset, floor) when that is
        # positive, and at least -upper when a decision passing every rule (the all-fastest
        # one, or an earlier round's: the ceiling) has a negative objective upper < 0: then
        # optimum <= upper < 0. Without the second, an accuracy weight making every objective
        # negative kept the span at 1e6 in every floor round (the floor stayed negative), and
        # the MILP answered `error` on a 2-node chain whose optimum is -1.9e12 (audit 10)
        upper = min(math.inf if upper is None else upper, _OBJECTIVE_CEILING.get())
        m.span_basis = basis = max(offset, span_basis(floor, upper))
        limit = span_limit(basis)
        if whole is not None:
            pass  # every row stays: HiGHS's optimum is only approximate (whole_model)
        elif spread > limit and prune:
            # restrict: rows beyond the span leave the model; a decision of the restricted
            # model proves optimal iff its objective is below offset + limit (each row left
            # out makes every decision holding it cost more): formulations.solve checks
            for v in m.V:
                for k in list(free[v]):
                    if use[v][k] > limit:
                        m.xs[v][k].setub(0)
                        use[v][k] = 0.0
                        free[v].remove(k)
            m.objective_cutoff = offset + limit * (1.0 - 1e-9)
            spread = max((c for cs in use.values() for c in cs), default=0.0)
        elif spread > limit:
            m.objective_error = (
                f"HiGHS cannot resolve this objective: the rows' objective values differ by up "
                f"to {spread:.3g} while the least possible objective is {offset:.3g} (more "
                f"than {OBJECTIVE_SPAN:.0e} x max(1, it) apart); use --method fa2")
        m.objective_scale = scale = normalizing_scale(spread)
        use = {v: [c / scale for c in cs] for v, cs in use.items()}
    return linear([x for v in m.V for x in m.xs[v]], [c for v in m.V for c in use[v]])


def span_basis(floor: float, ceiling: float) -> float:
    """The tolerance scale max(1, |optimum|) that a proven ``floor <= optimum <= ceiling``
    guarantees: the floor when positive, -ceiling when the ceiling is negative, else 1."""
    return max(1.0, floor, -ceiling if ceiling < 0 else -math.inf)


# what an `error` answer says when rows left out of a restricted model (beyond the span)
# leave the optimum unsettled (formulations.solve completes the sentence)
ROWS_LEFT_OUT = ("HiGHS cannot resolve this objective: rows whose objective exceeds the least "
                 f"possible one by more than {OBJECTIVE_SPAN:.0e} x max(1, it) were left "
                 "out, and ")


def span_limit(least: float) -> float:
    """OBJECTIVE_SPAN × the spec's tolerance scale max(1, |objective|), bounded below by
    ``least`` (the least possible objective): with negative terms (an accuracy weight) the
    optimum may be near 0 whatever ``least`` is, so then 1."""
    return OBJECTIVE_SPAN * max(1.0, least)


def _prune_above_fastest(m: pyo.ConcreteModel, use: dict[str, list[float]],
                         free: dict[str, list[int]], low: Mapping[str, float]
                         ) -> float | None:
    """Exact pruning before scaling: when the all-fastest choice (position 0 everywhere)
    passes every exact rule check, its objective U bounds the optimum, and a row with
    ``use_vk − low_v > U − Σ_w low_w`` cannot be in an optimal decision (every decision with
    it costs more than U): it is fixed to 0 and leaves the objective (shrinking the span
    HiGHS must resolve). A margin of 1e-9 relative keeps rounding from pruning a tie.
    Returns U (None when the all-fastest choice is not in the model or breaks a rule)."""
    if any(not free[v] or free[v][0] != 0 for v in m.V):
        return None
    fastest = {v: 0 for v in m.V}
    if any(check(fastest) for check in getattr(m, "rule_checks", [])):
        return None
    upper = math.fsum(use[v][0] for v in m.V)
    base = math.fsum(low.values())
    gap = upper - base
    margin = 1e-9 * (abs(upper) + math.fsum(abs(x) for x in low.values()))
    for v in m.V:
        keep = []
        for k in free[v]:
            if use[v][k] - low[v] > gap + margin:
                m.xs[v][k].setub(0)
                use[v][k] = 0.0
            else:
                keep.append(k)
        free[v] = keep
    return upper


def normalizing_scale(spread: float) -> float:
    """The power of two that the shifted objective is divided by so that its largest
    coefficient ``spread`` lands in [2^39, 2^40) (1 for 0): below HiGHS's infinity (1e20)
    by far, and high enough that the differences the spec resolves (1e-9 × max(1, least) ≥
    spread / (1e6 · 1e9) after :func:`span_limit`) are ≥ 1e-3, far above HiGHS's absolute
    tolerances. Dividing by a power of two is exact and keeps the optimal decisions."""
    if spread <= 0.0:
        return 1.0
    _, exponent = math.frexp(spread)  # spread = f · 2^exponent, f in [0.5, 1)
    return math.ldexp(1.0, exponent - 40)


def read_back(problem: Problem, m: pyo.ConcreteModel) -> dict[str, int]:
    """The chosen table position per node: the binaries rounded to 0/1, exactly one per node.

    Raises ValueError when a binary is not within ``INTEGRALITY_TOL`` of 0 or 1, has no
    value, or a node does not get exactly one configuration.
    """
    chosen: dict[str, list[int]] = {v: [] for v in problem.tables}
    for (v, k), var in m.x.items():
        val = var.value
        if val is None:
            raise ValueError(f"binary x[{v},{k}] has no value")
        r = round(val)
        if abs(val - r) > INTEGRALITY_TOL or r not in (0, 1):
            raise ValueError(f"binary x[{v},{k}] = {val!r} is not integral")
        if r == 1:
            chosen[v].append(k)
    bad = [v for v, ks in chosen.items() if len(ks) != 1]
    if bad:
        raise ValueError(f"node {bad[0]!r} got {len(chosen[bad[0]])} configurations, not one")
    return {v: ks[0] for v, ks in chosen.items()}


FORMULATION = Formulation(
    name="base", build=lambda problem: build(problem, prune=True), read_back=read_back,
    milp_only=False,
    summary="the spec's problem: one configuration per node, per-flow finish times ≤ SLA, "
            "minimum total cost",
)
