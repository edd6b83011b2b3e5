"""What a run is judged on: SLA violations, latency percentiles, resource-time and cost,
reconfigurations.

* A request **violates** its flow's SLA when its simulated end-to-end latency exceeds
  ``S_f + 1e-6`` ms (the spec's tolerance). Rates are per flow and pooled over all requests.
* **Resource-time** of node v: Σ over intervals of replicas × units × seconds, per hardware
  kind (unit·s: core·s for ``cpu``, GPU·s for GPU kinds), from the plan: a replica is billed
  from the moment it is requested (start-up included) until it is removed at a decision
  time; on a deployment switch the old set is billed until the new one serves (start-up
  overlap). **Cost-time** multiplies by the hardware price; the mean cost (cost-time /
  horizon) is comparable with the decisions' cost Σ_v c_v.
* A **reconfiguration** is a change of a node's decided row or replica count at a decision
  time (a change of the batching timeout alone is not counted); a **row change** is a change
  of a node's row (batch, hardware, units, variant) alone -- what a switch cost prices
  (replica changes are free, spec: ``switch``).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import numpy as np

from ..spec import budget_ms
from .autoscale import LoopResult
from .engine import Plan, SimResult

PERCENTILES = (50, 95, 99)


def billing(plan: Plan, horizon_s: float, warmup_s: float = 0.0) -> tuple[dict[str, float], float]:
    """(unit·s per hardware kind, cost-time = Σ price·unit·s) of a plan over [warmup,
    horizon): the window the latency metrics measure (:func:`measured`). A deployment
    replaced at t is billed on as well until t + the start-up delay (both run meanwhile)."""
    lo = 1000.0 * warmup_s
    ends = list(plan.times_ms[1:]) + [1000.0 * horizon_s]
    unit_s: dict[str, float] = defaultdict(float)
    cost_s = 0.0
    for k, (t, end) in enumerate(zip(plan.times_ms, ends)):
        dur = max(0.0, end - max(t, lo)) / 1000.0
        for v, s in plan.settings[k].items():
            bills = [(s, dur)]
            if k > 0 and plan.settings[k - 1][v].deployment != s.deployment:
                overlap = min(t + plan.startup_ms, end) - max(t, lo)
                bills.append((plan.settings[k - 1][v], max(0.0, overlap) / 1000.0))
            for st, d in bills:
                unit_s[st.hardware] += st.replicas * st.units * d
                cost_s += st.replicas * st.units * st.price * d
    return dict(unit_s), cost_s


def reconfigurations(plan: Plan) -> int:
    return sum(1 for k in range(1, len(plan.settings)) for v, s in plan.settings[k].items()
               if s.shape != plan.settings[k - 1][v].shape)


def row_changes(loop: LoopResult) -> int:
    """Node-row changes between consecutive configurations in force (replicas ignored)."""
    out = 0
    for prev, now in zip(loop.steps, loop.steps[1:]):
        a, b = prev.answer.nodes, now.answer.nodes
        out += sum(1 for v, d in b.items() if v in a and
                   (d.batch, d.hardware, d.units, d.variant)
                   != (a[v].batch, a[v].hardware, a[v].units, a[v].variant))
    return out


def latency_stats(latency_ms: np.ndarray, sla_ms: float) -> dict[str, float]:
    n = len(latency_ms)
    out: dict[str, float] = {"requests": n}
    if n == 0:
        out.update({"violations": 0, "violation_pct": float("nan"), "mean_ms": float("nan"),
                    "max_ms": float("nan"), **{f"p{q}_ms": float("nan") for q in PERCENTILES}})
        return out
    viol = int(np.count_nonzero(latency_ms > budget_ms(sla_ms)))
    pct = np.percentile(latency_ms, PERCENTILES)
    out.update({"violations": viol, "violation_pct": 100.0 * viol / n,
                "mean_ms": float(latency_ms.mean()), "max_ms": float(latency_ms.max()),
                **{f"p{q}_ms": float(x) for q, x in zip(PERCENTILES, pct)}})
    return out


def measured(sim: SimResult, flow: str, warmup_s: float, horizon_s: float) -> np.ndarray:
    """Latencies of the flow's requests that arrived in [warmup, horizon)."""
    rec = sim.flows[flow]
    keep = (rec.arrival_ms >= 1000.0 * warmup_s) & (rec.arrival_ms < 1000.0 * horizon_s)
    return rec.latency_ms[keep]


def flow_rows(sim: SimResult, horizon_s: float, warmup_s: float = 0.0) -> list[dict[str, Any]]:
    return [{"flow": f, "sla_ms": rec.sla_ms,
             **latency_stats(measured(sim, f, warmup_s, horizon_s), rec.sla_ms)}
            for f, rec in sim.flows.items()]


def summary_row(loop: LoopResult, sim: SimResult, horizon_s: float,
                warmup_s: float = 0.0) -> dict[str, Any]:
    """One method's run in one row: pooled violations and percentiles, worst flow's
    violation rate, resource-time per hardware kind, cost, reconfigurations, decisions;
    requests, latencies and cost over [warmup, horizon), reconfigurations and decisions
    over the whole run."""
    lat = [measured(sim, f, warmup_s, horizon_s) for f in sim.flows]
    n = sum(len(x) for x in lat)
    viol = sum(int(np.count_nonzero(x > budget_ms(rec.sla_ms)))
               for x, rec in zip(lat, sim.flows.values()))
    per_flow = flow_rows(sim, horizon_s, warmup_s)
    pooled = np.concatenate(lat) if lat else np.zeros(0)
    pct = np.percentile(pooled, PERCENTILES) if n else [float("nan")] * len(PERCENTILES)
    unit_s, cost_s = billing(sim.plan, horizon_s, warmup_s)
    outcomes = [s.outcome for s in loop.steps]
    model_costs = [s.answer.cost for s in loop.steps if s.answer.cost is not None]
    row: dict[str, Any] = {
        "requests": n, "violations": viol,
        "violation_pct": 100.0 * viol / n if n else float("nan"),
        "worst_flow_violation_pct": max((r["violation_pct"] for r in per_flow), default=float("nan")),
        **{f"p{q}_ms": float(x) for q, x in zip(PERCENTILES, pct)},
        "max_ms": float(pooled.max()) if n else float("nan"),
        "cost_s": cost_s, "mean_cost": cost_s / (horizon_s - warmup_s),
        "mean_model_cost": float(np.mean(model_costs)) if model_costs else float("nan"),
        "reconfigurations": reconfigurations(sim.plan),
        "row_changes": row_changes(loop),
        "decisions": len(loop.steps), "kept": outcomes.count("kept"),
        "fallback": outcomes.count("fallback"),
        # decisions the method answered with an error (e.g. an extension it cannot honour):
        # kept/fallback alone read like proven infeasibility
        "errors": sum(s.status == "error" for s in loop.steps),
        "decide_ms_mean": float(np.mean([s.decide_ms for s in loop.steps])),
    }
    for hw, x in sorted(unit_s.items()):
        row[f"unit_s[{hw}]"] = x
    return row
