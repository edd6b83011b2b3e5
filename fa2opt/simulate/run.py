"""One evaluation: a workload (arrivals per flow from traces), the autoscaling loop with
one decider, the simulation, and its metrics. Every method of a comparison gets the same
workload (common random numbers), so differences are the methods', not the draws'."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np

from ..model import Instance
from .arrivals import Trace, arrival_times_ms, observed_rates
from .autoscale import Decider, LoopResult, control_loop
from .engine import SimResult, simulate
from .metrics import flow_rows, summary_row
from .predictors import Predictor
from .service import ServiceModel


@dataclass(frozen=True)
class Workload:
    """Per flow: the trace, the request arrival times (ms) and the per-second counts a
    monitor observes; ``horizon_s`` = the shortest trace."""

    traces: Mapping[str, Trace]
    arrivals_ms: Mapping[str, np.ndarray]
    observed: Mapping[str, np.ndarray]
    horizon_s: int

    def warm(self, interval_s: int) -> dict[str, np.ndarray]:
        """The warm-start history: each trace's own rates over the first interval."""
        return {f: t.rates[:interval_s] for f, t in self.traces.items()}


def make_workload(instance: Instance, traces: Mapping[str, Trace], mode: str = "poisson",
                  seed: int = 0) -> Workload:
    """Arrivals for every flow of the instance (a trace per flow; one trace for all flows
    when ``traces`` has the single key ``"*"``)."""
    flows = [f.name for f in instance.flows]
    if set(traces) == {"*"}:
        traces = {f: traces["*"] for f in flows}
    missing = [f for f in flows if f not in traces]
    if missing:
        raise ValueError(f"no trace for flow(s) {missing}")
    horizon = int(min(len(traces[f].rates) for f in flows))
    seeds = np.random.SeedSequence([seed, 1]).spawn(len(flows))
    arrivals, observed = {}, {}
    for f, ss in zip(flows, seeds):
        tr = traces[f].window(0, horizon)
        arrivals[f] = arrival_times_ms(tr, mode, np.random.default_rng(ss))
        observed[f] = observed_rates(arrivals[f], horizon)
    return Workload({f: traces[f].window(0, horizon) for f in flows}, arrivals, observed, horizon)


@dataclass
class Run:
    method: str
    loop: LoopResult
    sim: SimResult
    row: dict[str, Any]
    flows: list[dict[str, Any]]


def evaluate(instance: Instance, workload: Workload, decider: Decider, *, name: str,
             predictor: Predictor | None = None, interval_s: int = 10, startup_s: float = 5.0,
             service: ServiceModel | None = None, seed: int = 0,
             warmup_s: float = 0.0) -> Run:
    """Autoscale and simulate one decider over a workload and measure it."""
    predictor = predictor or Predictor()
    t0 = time.perf_counter()
    loop = control_loop(instance, workload.observed, workload.warm(interval_s), decider,
                        predictor, interval_s=interval_s, startup_s=startup_s, service=service)
    t1 = time.perf_counter()
    sim = simulate(instance, loop.plan, workload.arrivals_ms, seed=seed)
    t2 = time.perf_counter()
    row = {"method": name, **summary_row(loop, sim, workload.horizon_s, warmup_s),
           "loop_s": t1 - t0, "sim_s": t2 - t1}
    flows = [{"method": name, **r} for r in flow_rows(sim, workload.horizon_s, warmup_s)]
    return Run(name, loop, sim, row, flows)
