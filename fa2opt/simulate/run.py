"""One evaluation: a workload (arrivals per flow from traces), the autoscaling loop with
one decider, the simulation, and its metrics. Every method of a comparison gets the same
workload (common random numbers), so differences are the methods', not the draws'."""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from typing import Any, Mapping

import numpy as np

from ..model import Instance
from .arrivals import Trace, arrival_times_ms, observed_rates
from .autoscale import WARM_STARTS, Decider, LoopResult, control_loop
from .engine import (APPLY_BATCH_MODES, BATCH_TIMEOUTS, DISPATCH_MODES, FANOUT_MODES,
                     PARTIAL_MODES, SimResult, simulate)
from .metrics import flow_rows, summary_row
from .predictors import Predictor
from .service import DEFAULT_CV, DEFAULT_JITTER, ServiceModel


@dataclass(frozen=True)
class Workload:
    """Per flow: the trace, the request arrival times (ms) and the per-second counts a
    monitor observes; ``horizon_s`` = the shortest trace; ``history`` = the counts observed
    before t = 0 (``make_workload(history_s=...)``; None without)."""

    traces: Mapping[str, Trace]
    arrivals_ms: Mapping[str, np.ndarray]
    observed: Mapping[str, np.ndarray]
    horizon_s: int
    history: Mapping[str, np.ndarray] | None = None

    def warm(self, interval_s: int) -> dict[str, np.ndarray]:
        """The ``peek`` warm-start history: each trace's own rates over the first interval."""
        return {f: t.rates[:interval_s] for f, t in self.traces.items()}


def make_workload(instance: Instance, traces: Mapping[str, Trace], mode: str = "poisson",
                  seed: int = 0, history_s: int = 0) -> Workload:
    """Arrivals for every flow of the instance (a trace per flow; one trace for all flows
    when ``traces`` has the single key ``"*"``). With ``history_s`` > 0 the first
    ``history_s`` seconds of each trace are only observed (``Workload.history``, for the
    ``history`` warm start) and the simulated window (t = 0) starts after them."""
    flows = [f.name for f in instance.flows]
    if set(traces) == {"*"}:
        traces = {f: traces["*"] for f in flows}
    missing = [f for f in flows if f not in traces]
    if missing:
        raise ValueError(f"no trace for flow(s) {missing}")
    total = int(min(len(traces[f].rates) for f in flows))
    if not 0 <= history_s < total:
        raise ValueError(f"history must be in [0, {total}) s, shorter than the traces (got {history_s})")
    horizon = total - history_s
    seeds = np.random.SeedSequence([seed, 1]).spawn(len(flows))
    arrivals, observed, history = {}, {}, {}
    for f, ss in zip(flows, seeds):
        times = arrival_times_ms(traces[f].window(0, total), mode, np.random.default_rng(ss))
        cut = np.searchsorted(times, 1000.0 * history_s, side="left")
        history[f] = observed_rates(times[:cut], history_s)
        arrivals[f] = times[cut:] - 1000.0 * history_s
        observed[f] = observed_rates(arrivals[f], horizon)
    return Workload({f: traces[f].window(history_s, horizon) for f in flows}, arrivals, observed,
                    horizon, history if history_s else None)


@dataclass(frozen=True)
class SimOptions:
    """How the simulated system runs (issue 15 item 4); the defaults are the original model.

    * ``dispatch``: ``central`` (one queue per node) | ``round-robin`` (per-replica batchers
      behind a round-robin load balancer);
    * ``batch_timeout`` (round-robin only): each replica's batcher waits the node's fill time
      1000·(b−1)/λ_v (``node``) or its own share's, n times longer (``replica``);
    * ``service``: the service-time model (``mean``, ``jitter``, ``range``, ``lognormal``);
    * ``apply_batch``: ``immediate`` | ``when-ready`` (a decision that adds replicas changes
      the batch size only when they serve);
    * ``warm_start``: ``peek`` | ``history`` | ``cold`` (:mod:`.autoscale`);
    * ``fanout``: ``all`` (a request finishes a node with its last item) | ``first``;
    * ``partial_batch``: ``padded`` (a batch of fewer than b items takes p(b)) | ``profile``
      (the profile's time for the smallest profiled batch size that holds it).
    """

    dispatch: str = "central"
    service: ServiceModel = field(default_factory=ServiceModel)
    apply_batch: str = "immediate"
    warm_start: str = "peek"
    fanout: str = "all"
    batch_timeout: str = "node"
    partial_batch: str = "padded"

    def __post_init__(self) -> None:
        for name, allowed in (("dispatch", DISPATCH_MODES), ("apply_batch", APPLY_BATCH_MODES),
                              ("warm_start", WARM_STARTS), ("fanout", FANOUT_MODES),
                              ("batch_timeout", BATCH_TIMEOUTS), ("partial_batch", PARTIAL_MODES)):
            if getattr(self, name) not in allowed:
                raise ValueError(f"{name} must be one of {allowed} (got {getattr(self, name)!r})")
        if self.batch_timeout == "replica" and self.dispatch != "round-robin":
            raise ValueError("batch_timeout 'replica' needs dispatch 'round-robin' (a central "
                             "queue fills from the whole node stream)")

    @classmethod
    def from_mapping(cls, raw: Mapping[str, Any]) -> "SimOptions":
        """From a flat config mapping (keys: dispatch, batch_timeout, service, jitter, cv,
        apply_batch, warm_start, fanout, partial_batch); an unknown key or bad value is a
        ValueError naming it."""
        known = {"dispatch", "batch_timeout", "service", "jitter", "cv", "apply_batch",
                 "warm_start", "fanout", "partial_batch"}
        unknown = sorted(set(raw) - known)
        if unknown:
            raise ValueError(f"unknown simulator option {unknown[0]!r} (known: {', '.join(sorted(known))})")
        kind = str(raw.get("service", "mean"))
        try:
            service = ServiceModel(kind, float(raw.get("jitter", DEFAULT_JITTER if kind == "jitter" else 0.0)),
                                   cv=float(raw.get("cv", DEFAULT_CV if kind == "lognormal" else 0.0)))
        except (TypeError, ValueError) as exc:
            raise ValueError(f"service: {exc}") from None
        return cls(**{k: str(raw[k]) for k in ("dispatch", "apply_batch", "warm_start", "fanout",
                                               "batch_timeout", "partial_batch") if k in raw},
                   service=service)

    def as_dict(self) -> dict[str, Any]:
        """Flat columns for result tables."""
        return {"dispatch": self.dispatch, "batch_timeout": self.batch_timeout,
                "service": self.service.label,
                "apply_batch": self.apply_batch, "warm_start": self.warm_start,
                "fanout": self.fanout, "partial_batch": self.partial_batch}

    @property
    def label(self) -> str:
        """The options that differ from the defaults (``default`` when none)."""
        base = SimOptions().as_dict()
        diff = [f"{k}={v}" for k, v in self.as_dict().items() if base[k] != v]
        return ",".join(diff) or "default"


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
             warmup_s: float = 0.0, options: SimOptions | None = None) -> Run:
    """Autoscale and simulate one decider over a workload and measure it; ``service``, when
    given, overrides ``options.service``."""
    predictor = predictor or Predictor()
    options = options or SimOptions()
    if service is not None:
        options = replace(options, service=service)
    warm, history = None, None
    if options.warm_start == "peek":
        warm = workload.warm(interval_s)
    elif options.warm_start == "history":
        if workload.history is None:
            raise ValueError("warm start 'history' needs a workload with history "
                             "(make_workload(history_s=...) > 0)")
        history = workload.history
    t0 = time.perf_counter()
    loop = control_loop(instance, workload.observed, warm, decider, predictor,
                        interval_s=interval_s, startup_s=startup_s, service=options.service,
                        history=history, apply_batch=options.apply_batch,
                        partial=options.partial_batch)
    t1 = time.perf_counter()
    sim = simulate(instance, loop.plan, workload.arrivals_ms, seed=seed,
                   dispatch=options.dispatch, fanout=options.fanout,
                   batch_timeout=options.batch_timeout)
    t2 = time.perf_counter()
    # the seconds simulated (the shortest trace, less --history) in every row and --json
    row = {"method": name, "seconds": workload.horizon_s,
           **summary_row(loop, sim, workload.horizon_s, warmup_s),
           "loop_s": t1 - t0, "sim_s": t2 - t1}
    flows = [{"method": name, **r} for r in flow_rows(sim, workload.horizon_s, warmup_s)]
    return Run(name, loop, sim, row, flows)
