"""The autoscaling loop: every adaptation interval, forecast each flow's rate, decide, and
reconfigure (FA2's control loop, §III of the paper).

At each decision time T_k = k·interval the predictor turns the per-second request counts
observed before T_k into a forecast per flow; the decider (a registered method through
:func:`fa2opt.solve`, or a decision table) answers for those rates; the decision holds
until T_{k+1}. The first decision (T_0 = 0) depends on the warm start
(:data:`WARM_STARTS`, chosen in :func:`fa2opt.simulate.run.evaluate`):

* ``peek`` (default, the original behaviour): the predictor applied to the trace's own rates
  over the first interval, as if the system had been running already — it sees the future;
* ``history``: the predictor applied to the requests observed *before* t = 0 (a stretch of
  the trace before the simulated window, ``make_workload(history_s=...)``); that history
  also precedes every later forecast, as a monitor that was running would have it;
* ``cold``: nothing observed yet: the decision at the floor rate (``min_rate_rps`` per flow,
  a system scaled to its minimum); the first interval's rate is acted on at T_1.

With a switch cost (``MethodDecider(..., switch_cost=s)``; spec, Extensions: ``switch``)
each decision is made with the configuration in force as ``current``: changing a node's row
(batch, hardware, units, variant) costs ``s`` in the objective, changing only its replica
count is free, so the loop trades a little cost for fewer row changes (less flapping).

A decider that gives no decision (``infeasible``, ``no_solution``, ``error``) leaves the
previous configuration in force ("kept"); with none yet, the all-fastest configuration at the
forecast rates is deployed ("fallback").
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

import numpy as np

from ..answer import DECISION_STATUSES, Answer, decision_answer
from ..model import Instance
from ..problem import Problem
from ..solver import solve
from .engine import Plan, node_settings
from .predictors import Predictor
from .service import ServiceModel

Decider = Callable[[Mapping[str, float]], Answer]
WARM_STARTS = ("peek", "history", "cold")
MIN_RATE_RPS = 1.0  # forecasts are clamped to at least this (the spec needs rates > 0)


class MethodDecider:
    """Decide with a registered method at the forecast rates; answers are cached by the
    rates (rounded to 1e-6 req/s) and, with a ``switch_cost``, the deployed rows, so
    repeated situations cost one solve. With ``switch_cost`` (≥ 0) the loop passes the
    configuration in force and the decision is made with it as the instance's ``current``
    and ``switch_cost`` (:func:`with_current`)."""

    def __init__(self, instance: Instance, method: str, switch_cost: float | None = None,
                 **options: Any):
        self.instance, self.name, self.options = instance, method, options
        self.switch_cost = switch_cost
        self.takes_current = switch_cost is not None  # control_loop passes what is deployed
        self.cache: dict[tuple, Answer] = {}
        self.solves = 0

    def __call__(self, rates: Mapping[str, float], current: Answer | None = None) -> Answer:
        key: tuple = tuple(round(float(rates[f.name]), 6) for f in self.instance.flows)
        deployed = rows_of(current) if self.takes_current and current is not None else None
        cache_key = (key, tuple(sorted(deployed.items())) if deployed else None)
        if cache_key not in self.cache:
            at = self.instance.with_rates(rates=dict(zip((f.name for f in self.instance.flows), key)))
            if deployed:
                at = with_current(at, deployed, float(self.switch_cost or 0.0))
            self.cache[cache_key] = solve(at, self.name, **self.options)
            self.solves += 1
        return self.cache[cache_key]


def rows_of(answer: Answer) -> dict[str, tuple]:
    """Each node's row identity (batch, hardware, units, variant) in a decision."""
    return {v: (d.batch, d.hardware, d.units, d.variant) for v, d in answer.nodes.items()}


def with_current(instance: Instance, rows: Mapping[str, tuple], switch_cost: float) -> Instance:
    """``instance`` with the deployed rows as ``current`` and a uniform ``switch_cost``."""
    from ..extensions.realistic import with_keys

    current = {v: {"batch": b, "hardware": h, "units": u, "variant": x}
               for v, (b, h, u, x) in rows.items()}
    return with_keys(instance, {"current": current, "switch_cost": switch_cost})


class TableDecider:
    """Decide by looking up a decision table (:class:`fa2opt.decision_table.DecisionTable`).

    A table varies one rate: one flow's (the others keep the instance's rates), or, for a
    table whose axis scales every flow by one factor (``table.scaled``), the total rate; then
    the factor is the largest forecast/instance-rate ratio over the flows, so every flow is
    provisioned for at least its forecast. :meth:`decision_rates` gives the flow rates the
    answer was made for (they set the batching timeouts)."""

    def __init__(self, table: Any, name: str = "table"):
        self.table, self.name = table, name
        self.instance: Instance = table.instance

    def decision_rates(self, forecast: Mapping[str, float]) -> dict[str, float]:
        base = {f.name: f.rate_rps for f in self.instance.flows}
        if getattr(self.table, "scaled", False):
            scale = max(forecast[f] / base[f] for f in base)
            return {f: scale * r for f, r in base.items()}
        name = getattr(self.table, "flow_name", None) or self.instance.flows[0].name
        return {**base, name: float(forecast[name])}

    def __call__(self, forecast: Mapping[str, float]) -> Answer:
        rates = self.decision_rates(forecast)
        if getattr(self.table, "scaled", False):
            out = self.table.decide(sum(rates.values()))
        else:
            name = getattr(self.table, "flow_name", None) or self.instance.flows[0].name
            out = self.table.decide(rates[name])
        if not isinstance(out, Answer):
            raise TypeError(f"decision table returned {type(out).__name__}, not an Answer")
        return out


@dataclass
class Step:
    """One adaptation: when, the forecast, and the decision in force afterwards."""

    time_s: float
    forecast: dict[str, float]
    answer: Answer
    outcome: str  # decided | kept | fallback
    status: str  # what the decider answered
    decide_ms: float  # wall time of the decider call (a cache hit costs ~0)


@dataclass
class LoopResult:
    steps: list[Step]
    plan: Plan
    extra: dict = field(default_factory=dict)


def fastest_answer(instance: Instance) -> Answer:
    problem = Problem.from_instance(instance)
    choice = problem.fastest_choice()
    if choice is None:
        raise ValueError(f"{instance.name}: node(s) {problem.empty_nodes} have no available "
                         "configuration at the forecast rate")
    return decision_answer(problem, choice, status="feasible", method="fallback-fastest")


def control_loop(instance: Instance, observed: Mapping[str, np.ndarray],
                 warm: Mapping[str, np.ndarray] | None, decider: Decider, predictor: Predictor,
                 *, interval_s: int = 10, startup_s: float = 5.0,
                 service: ServiceModel | None = None,
                 min_rate_rps: float = MIN_RATE_RPS,
                 history: Mapping[str, np.ndarray] | None = None,
                 apply_batch: str = "immediate", partial: str = "padded") -> LoopResult:
    """Run the loop over the whole horizon (``len(observed[f])`` seconds) and return every
    step and the resulting configuration :class:`Plan`.

    ``observed[f]``: requests of flow f counted per second; ``warm[f]``: what the first
    decision sees (``peek``); ``history[f]``: counts observed before t = 0, seen by every
    decision (``history``); neither: the first decision is at the floor rate (``cold``).
    ``apply_batch`` goes to the plan, ``partial`` to :func:`node_settings`. O(K · decide) for K = horizon / interval decisions.
    """
    if interval_s < 1:
        raise ValueError(f"adaptation interval must be >= 1 s (got {interval_s})")
    flows = [f.name for f in instance.flows]
    horizon = min(len(observed[f]) for f in flows)
    steps: list[Step] = []
    settings = []
    current: Answer | None = None
    for t in range(0, horizon, interval_s):
        forecast = {}
        for f in flows:
            seen = observed[f][:t]
            if history is not None:
                seen = np.concatenate((history[f], seen))
            elif t == 0 and warm is not None:
                seen = warm[f]
            forecast[f] = max(min_rate_rps, predictor(seen, interval_s)) if len(seen) else min_rate_rps
        t0 = time.perf_counter()
        ans = (decider(forecast, current) if getattr(decider, "takes_current", False)
               else decider(forecast))
        ms = (time.perf_counter() - t0) * 1000.0
        if ans.status in DECISION_STATUSES and ans.has_decision:
            rates_of = getattr(decider, "decision_rates", None)
            current, outcome = ans, "decided"
            in_force = rates_of(forecast) if rates_of else forecast
        elif current is not None:
            outcome = "kept"
        else:
            current, outcome, in_force = fastest_answer(instance.with_rates(rates=forecast)), "fallback", forecast
        steps.append(Step(float(t), forecast, current, outcome, ans.status, ms))
        settings.append(node_settings(instance, current, in_force, service, partial))
    plan = Plan(tuple(1000.0 * s.time_s for s in steps), tuple(settings), 1000.0 * startup_s,
                apply_batch)
    return LoopResult(steps, plan)
