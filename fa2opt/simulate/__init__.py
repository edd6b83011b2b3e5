"""Trace-driven evaluation: does a decision meet the SLA under real arrivals, at what
resource use? (issue 8; FA2 reports < 1.5% SLA violations over real traces).

* :mod:`.arrivals` — traces and Poisson / evenly spaced arrivals;
* :mod:`.service` — service-time models (profile mean, jitter, measured min–max, lognormal);
* :mod:`.engine` — the discrete-event simulator of batching queues (central or per
  replica), replicas, fan-out, joins and reconfiguration;
* :mod:`.predictors` — rate forecasts; :mod:`.autoscale` — the adaptation loop;
* :mod:`.metrics` — violations, percentiles, resource-time, cost, reconfigurations;
* :mod:`.run` — one evaluation end to end; :mod:`.plots` — figures; :mod:`.cli` —
  ``fa2opt evaluate``.
"""

from .arrivals import Trace, arrival_times_ms, load_trace, observed_rates
from .autoscale import MethodDecider, TableDecider, control_loop
from .engine import NodeSetting, Plan, SimResult, node_settings, simulate
from .predictors import Predictor
from .run import Run, SimOptions, Workload, evaluate, make_workload
from .service import ServiceModel, profile_ranges

__all__ = ["Trace", "arrival_times_ms", "load_trace", "observed_rates", "MethodDecider",
           "TableDecider", "control_loop", "NodeSetting", "Plan", "SimResult", "node_settings",
           "simulate", "Predictor", "Run", "SimOptions", "Workload", "evaluate", "make_workload",
           "ServiceModel", "profile_ranges"]
