"""Fixed batch and core count per node: a Kubernetes Horizontal-Pod-Autoscaler-like rule.

Rule. Every node runs one fixed deployment shape -- batch ``batch`` (default 1: no batching)
and ``units`` hardware units per replica (default 1 core / 1 GPU) -- and scales only its
replica count. There is no latency model: the SLA plays no part in the choice. Replicas
follow the spec's rule n = max(1, ⌈λ_v / (ρ·μ)⌉) for the instance's ``max_utilization`` ρ;
setting ρ = 0.7 in the instance models HPA's usual 70 % utilisation target
(``targetCPUUtilizationPercentage``: HPA adds pods while average utilisation exceeds it).

Per node, the row is the available one with

    batch: the requested batch if the profile has it, else the largest smaller one,
           else the smallest available;
    units: likewise, among the rows with that batch;
    then the cheapest (hardware, variant) among them, ties to the faster.

The choice is answered ``feasible`` if it happens to meet every SLA, else ``no_solution``
(the rule has nothing to fall back on). O(Σ_v K_v).
"""

from __future__ import annotations

import numpy as np

from ..problem import Problem
from ..solver import Decision, Solver
from .common import conclude, proven_infeasible


def _nearest(values: np.ndarray, want: float) -> float:
    """``want`` if present, else the largest value below it, else the smallest value."""
    below = values[values <= want]
    return float(below.max()) if len(below) else float(values.min())


def fixed_position(problem: Problem, node: str, batch: int, units: float) -> int:
    """Table position of the node's fixed-shape row (the rule above)."""
    t = problem.tables[node]
    configs = problem.instance.node(node).configs
    b = np.array([configs[int(r)].batch for r in t.rows], dtype=float)
    u = np.array([configs[int(r)].units for r in t.rows], dtype=float)
    pick_b = _nearest(b, batch)
    mask = b == pick_b
    pick_u = _nearest(u[mask], units)
    cand = np.flatnonzero(mask & (u == pick_u))
    return int(cand[np.argmin(t.cost[cand])])  # first minimum = the faster (table order)


class FixedBatchSolver(Solver):
    """One fixed batch size and core count per node, replicas by the spec, no latency model."""

    name = "fixed-batch"

    @classmethod
    def option_names(cls) -> tuple[str, ...]:
        return ("batch", "units")

    def decide(self, problem: Problem) -> Decision:
        if (d := proven_infeasible(problem)) is not None:
            return d
        batch = int(self.options.get("batch", 1))
        units = float(self.options.get("units", 1))
        choice = {v: fixed_position(problem, v, batch, units) for v in problem.node_names}
        return conclude(problem, choice, f"fixed-batch (batch {batch}, units {units:g})")
