"""Per-node latency and cost arrays over a batch (the grid DP's input, :class:`CurveTables`)."""

from __future__ import annotations

from dataclasses import dataclass
from types import ModuleType
from typing import Any, Mapping

import numpy as np

from .. import kernels
from ..model import Instance
from ..problem import Problem
from ..tables import ProfileArrays, evaluate


@dataclass(frozen=True)
class CurveTables:
    """Per node, (B, K) arrays of node latency L (ms) and cost c (``inf`` = unavailable).

    Column k is a table position (single problem) or a profile row (batched rates); the DP
    returns column indices.
    """

    latency: Mapping[str, Any]
    cost: Mapping[str, Any]
    xp: Any = np

    @property
    def batch(self) -> int:
        return int(next(iter(self.cost.values())).shape[0])

    @classmethod
    def from_problem(cls, problem: Problem, xp: ModuleType = np) -> "CurveTables":
        """B = 1 from the problem's configuration tables (columns = table positions)."""
        lat = {v: xp.asarray(t.latency_ms, dtype=xp.float64).reshape(1, -1)
               for v, t in problem.tables.items()}
        cost = {v: xp.asarray(t.cost, dtype=xp.float64).reshape(1, -1)
                for v, t in problem.tables.items()}
        return cls(lat, cost, xp)

    @classmethod
    def from_rates(cls, instance: Instance, node_rates: Mapping[str, Any],
                   xp: ModuleType = np) -> tuple["CurveTables", dict[str, dict[str, Any]]]:
        """B = len(rates): every node's rows evaluated at its rates (shape (B,)) by
        :func:`fa2opt.tables.evaluate` (columns = profile rows). Also returns the raw
        evaluation per node (replicas etc.) for the caller's output."""
        lat, cost, raw = {}, {}, {}
        for node in instance.nodes:
            rates = xp.asarray(node_rates[node.name], dtype=xp.float64).reshape(-1, 1)
            ev = evaluate(ProfileArrays.of(node, instance), rates,
                          max_utilization=instance.max_utilization,
                          queueing_model=instance.queueing, max_replicas=node.max_replicas,
                          max_batch=node.max_batch, xp=xp)
            shape = (rates.shape[0], len(node.configs))
            lat[node.name] = xp.broadcast_to(ev["latency_ms"], shape).astype(xp.float64)
            cost[node.name] = xp.where(xp.broadcast_to(ev["available"], shape),
                                       xp.broadcast_to(ev["cost"], shape), xp.inf)
            raw[node.name] = ev
        return cls(lat, cost, xp), raw

    def fix(self, fixed: Mapping[str, int]) -> "CurveTables":
        """Coupling nodes fixed to one column each: that column keeps its latency and costs 0
        (its cost is counted once by the caller), every other column is unavailable."""
        xp = self.xp
        cost = dict(self.cost)
        for v, k in fixed.items():
            c = self.cost[v]
            cols = xp.arange(c.shape[1])[None, :]
            cost[v] = xp.where((cols == k) & xp.isfinite(c), 0.0, xp.inf)
        return CurveTables(self.latency, cost, xp)

    def fastest(self) -> dict[str, Any]:
        """Per node and batch item, the available column of least latency (ties: cheapest,
        then lowest index) — the spec's all-fastest choice; −1 where none is available."""
        xp = self.xp
        out = {}
        for v, c in self.cost.items():
            lat = xp.where(xp.isfinite(c), self.latency[v], xp.inf)
            best = lat.min(axis=1, keepdims=True)
            cand = xp.where(lat == best, c, xp.inf)
            k = xp.argmin(cand, axis=1).astype(xp.int64)
            out[v] = xp.where(xp.isfinite(best[:, 0]), k, -1)
        return out

    def take(self, items: Any) -> "CurveTables":
        """The batch items ``items`` (an index array), in that order."""
        return CurveTables({v: a[items] for v, a in self.latency.items()},
                           {v: a[items] for v, a in self.cost.items()}, self.xp)

    def pick(self, which: str, choice: Mapping[str, Any]) -> dict[str, Any]:
        """Per node, the (B,) values of ``latency`` or ``cost`` at the chosen columns."""
        arrays = self.latency if which == "latency" else self.cost
        xp = self.xp
        out = {}
        for v, k in choice.items():
            a = arrays[v]
            out[v] = xp.where(k >= 0, kernels.gather_rows(a, xp.maximum(k, 0), xp), xp.inf)
        return out
