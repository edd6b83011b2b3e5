"""Greedy planner after InferLine (Crankshaw et al., "InferLine: Latency-Aware Provisioning
and Scaling for Prediction Serving Pipelines", SoCC 2020), Algorithm 1.

Rule. Start from the lowest-latency configuration of every node (table position 0 -- the
same all-fastest choice whose SLA check decides feasibility exactly). Then repeat: among all
single-node moves that lower that node's cost and keep every flow's SLA, apply the one with
the best cost saving per millisecond of node latency spent,

    score(v, k) = (c_v,cur − c_v,k) / max(L_v,k − L_v,cur, 0)      (∞ when latency does not grow;
                                                                   ties: the larger saving)

until no move lowers the cost. A move changes exactly one of the row's attributes in
InferLine's cost-reducing directions, keeping the others (and the variant) fixed:

    larger batch   (b' > b, same hardware, units)
    fewer units    (u' < u, same batch, hardware)          -- "fewer cores"
    smaller hardware (price(h') < price(h), same batch, units) -- "downgrade hardware"

Replicas are never a separate action: they follow the spec's rule for the chosen row
(InferLine's "remove replica" is what a cost-lowering row change does). Every step lowers the
total cost strictly, so the loop ends; each step costs O(Σ_v K_v · F·(V+E)) for the SLA checks
(flow longest paths, the problem's own). The result is a local optimum, answered
``feasible`` (never ``optimal``).

``time_limit`` (seconds, default none): those SLA checks make one step cost seconds on a
graph of thousands of nodes and the whole climb hours, so the climb stops there (checked
before each SLA check) and answers ``time_limit`` with the last complete step's choice --
every step keeps the SLAs, so it is an incumbent -- and the base class's lower bound.
"""

from __future__ import annotations

import math
import time

from ..problem import Problem
from ..solver import Decision, Solver
from .common import conclude, proven_infeasible


def _moves(problem: Problem, node: str) -> list[list[int]]:
    """For every table position, the positions one cost-reducing attribute change away."""
    t = problem.tables[node]
    inst = problem.instance
    rows = [inst.node(node).configs[int(r)] for r in t.rows]
    price = [inst.price(c.hardware) for c in rows]
    out: list[list[int]] = []
    for i, a in enumerate(rows):
        nbrs = []
        for j, b in enumerate(rows):
            if j == i or b.variant != a.variant or t.cost[j] >= t.cost[i]:
                continue
            same_hw = b.hardware == a.hardware
            larger_batch = same_hw and b.units == a.units and b.batch > a.batch
            fewer_units = same_hw and b.batch == a.batch and b.units < a.units
            cheaper_hw = (not same_hw and b.batch == a.batch and b.units == a.units
                          and price[j] < price[i])
            if larger_batch or fewer_units or cheaper_hw:
                nbrs.append(j)
        out.append(nbrs)
    return out


class GreedySolver(Solver):
    """InferLine-style greedy cost reduction from the all-fastest configuration."""

    name = "greedy"

    @classmethod
    def option_names(cls) -> tuple[str, ...]:
        return ("max_steps", "time_limit")

    def decide(self, problem: Problem) -> Decision:
        if (d := proven_infeasible(problem)) is not None:
            return d
        limit = self.options.get("time_limit")
        deadline = math.inf if limit is None else time.perf_counter() + float(limit)
        max_steps = int(self.options.get("max_steps", 100_000))
        choice = dict(problem.fastest_choice() or {})
        steps = 0

        def stopped() -> Decision:  # the step half-done is dropped
            return Decision("time_limit", choice, extra={"greedy_steps": steps},
                            message=f"greedy: stopped after {limit} s ({steps} steps)")

        moves: dict[str, list[list[int]]] = {}
        for v in problem.node_names:  # (O(K²) a node: 1.4 s for 4,000 nodes of 30 rows)
            if time.perf_counter() > deadline:
                return stopped()
            moves[v] = _moves(problem, v)
        while steps < max_steps:
            best: tuple[float, float, str, int] | None = None
            for v in problem.node_names:
                t, cur = problem.tables[v], choice[v]
                for k in moves[v][cur]:
                    saving = float(t.cost[cur] - t.cost[k])
                    spent = float(t.latency_ms[k] - t.latency_ms[cur])
                    score = math.inf if spent <= 0 else saving / spent
                    if best is not None and (score, saving) <= best[:2]:
                        continue
                    if time.perf_counter() > deadline:
                        return stopped()
                    trial = {**choice, v: k}
                    if problem.meets_slas(trial):
                        best = (score, saving, v, k)
            if best is None:
                break
            choice[best[2]] = best[3]
            steps += 1
        return conclude(problem, choice, "greedy", greedy_steps=steps)
