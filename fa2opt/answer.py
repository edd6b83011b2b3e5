"""The answer every method returns, matching the spec's JSON (``fa2opt solve --json``)."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field, fields, replace
from typing import Any, Mapping

from .frozen import dict_init
from .problem import Problem

STATUSES = ("optimal", "feasible", "no_solution", "infeasible", "time_limit", "error")
DECISION_STATUSES = ("optimal", "feasible", "time_limit")  # may carry a decision


@dict_init
@dataclass(frozen=True)
class NodeDecision:
    batch: int
    hardware: str
    units: float
    variant: str | None
    replicas: int
    profile_latency_ms: float
    latency_ms: float
    cost: float

    def to_json(self) -> dict[str, Any]:
        return {"batch": self.batch, "hardware": self.hardware, "units": _num(self.units),
                "variant": self.variant, "replicas": self.replicas,
                "profile_latency_ms": self.profile_latency_ms, "latency_ms": self.latency_ms,
                "cost": self.cost}


@dict_init
@dataclass(frozen=True)
class Answer:
    status: str
    method: str
    solve_ms: float = 0.0
    cost: float | None = None
    nodes: Mapping[str, NodeDecision] = field(default_factory=dict)
    flow_latency_ms: Mapping[str, float] = field(default_factory=dict)
    lower_bound: float | None = None
    message: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)  # breakdowns: build_ms, highs_ms, …
    instance: str | None = None  # the instance's name, for tables
    # the extensions solved (spec: [] for the base problem) and, when the objective is not
    # the plain cost, its value (``lower_bound`` then bounds the objective)
    formulation: tuple[str, ...] = ()
    objective: float | None = None

    @property
    def has_decision(self) -> bool:
        return bool(self.nodes)

    def with_(self, **changes: Any) -> "Answer":
        return replace(self, **changes)

    def without_decision(self, status: str, message: str | None) -> "Answer":
        """This answer turned into one without a decision (spec: ``nodes`` and
        ``flow_latency_ms`` empty, ``cost`` null), e.g. a decision that failed verification
        becoming ``error``; timing and extras are kept, a lower bound only for ``time_limit``."""
        return replace(self, status=status, message=message, cost=None, nodes={},
                       flow_latency_ms={}, objective=None,
                       lower_bound=self.lower_bound if status == "time_limit" else None)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "status": self.status, "method": self.method,
            "cost": self.cost,
            "flow_latency_ms": dict(self.flow_latency_ms),
            "solve_ms": round(self.solve_ms, 6),
            "nodes": {v: d.to_json() for v, d in self.nodes.items()},
            "formulation": list(self.formulation),
        }
        if self.objective is not None:
            out["objective"] = self.objective
        if self.instance is not None:
            out["instance"] = self.instance
        if self.lower_bound is not None:
            out["lower_bound"] = self.lower_bound
        if self.message is not None:
            out["message"] = self.message
        out.update({k: v for k, v in self.extra.items() if k not in out})
        return out

    def dumps(self) -> str:
        return json.dumps(self.to_json(), allow_nan=False, default=_num)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "Answer":
        known = {"status", "method", "solve_ms", "cost", "nodes", "flow_latency_ms",
                 "lower_bound", "message", "instance", "formulation", "objective"}
        return cls(
            status=data["status"], method=data.get("method", ""),
            solve_ms=float(data.get("solve_ms", 0.0)), cost=data.get("cost"),
            nodes={v: NodeDecision(**d) for v, d in (data.get("nodes") or {}).items()},
            flow_latency_ms=dict(data.get("flow_latency_ms") or {}),
            lower_bound=data.get("lower_bound"), message=data.get("message"),
            instance=data.get("instance"),
            formulation=tuple(data.get("formulation") or ()), objective=data.get("objective"),
            extra={k: v for k, v in data.items() if k not in known},
        )


def _num(x: Any) -> Any:
    """JSON-friendly number: integral floats print as ints (units 2, not 2.0)."""
    if hasattr(x, "item"):
        x = x.item()
    if isinstance(x, float) and math.isfinite(x) and x.is_integer():
        return int(x)
    return x


_new, _set = object.__new__, object.__setattr__
# decision_answer builds NodeDecisions field by field: they must be exactly these
assert [f.name for f in fields(NodeDecision)] == [
    "batch", "hardware", "units", "variant", "replicas", "profile_latency_ms", "latency_ms",
    "cost"], "decision_answer's NodeDecision fields are out of date"


def decision_answer(problem: Problem, choice: Mapping[str, int], *, status: str, method: str,
                    lower_bound: float | None = None, message: str | None = None,
                    extra: Mapping[str, Any] | None = None,
                    flow_latency_ms: Mapping[str, float] | None = None) -> Answer:
    """Build an answer from a choice of one table position per node, reading every derived
    number from the configuration tables (never re-deriving them). One pass over the nodes
    collects the decisions, the total cost and the node latencies for the flows' paths.
    ``flow_latency_ms``: the flows' latencies for this choice when the caller's SLA check
    computed them by the same rule (:meth:`Problem.sla_latencies`); else computed here."""
    inst = problem.instance
    index, spec = inst.node_index, inst.nodes
    nodes: dict[str, NodeDecision] = {}
    latency_of: dict[str, float] = {}
    total = 0.0
    for v, table in problem.tables.items():
        k = choice[v]
        if type(k) is not int:
            k = int(k)
        rows, replicas, latency, cost = table.lists
        cfg = spec[index[v]].configs[rows[k]]
        lat, c = latency[k], cost[k]
        # NodeDecision's own one-step constructor (frozen.dict_init), without the call
        nd = _new(NodeDecision)
        _set(nd, "__dict__", {"batch": cfg.batch, "hardware": cfg.hardware, "units": cfg.units,
                              "variant": cfg.variant, "replicas": replicas[k],
                              "profile_latency_ms": cfg.latency_ms, "latency_ms": lat,
                              "cost": c})
        nodes[v] = nd
        latency_of[v] = lat
        total += c
    if flow_latency_ms is None:
        flow_latency_ms = {g.name: g.longest_path(latency_of) for g in problem.flows}
    return Answer(status, method, 0.0, total, nodes, flow_latency_ms,
                  lower_bound, message, extra if extra is not None else {}, inst.name)


def empty_answer(status: str, method: str, *, lower_bound: float | None = None,
                 message: str | None = None, instance: str | None = None, **extra: Any) -> Answer:
    """An answer without a decision (infeasible, no_solution, error, time_limit w/o incumbent)."""
    return Answer(status=status, method=method, lower_bound=lower_bound, message=message,
                  extra=extra, instance=instance)
