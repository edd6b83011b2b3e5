"""Slack splitting: GrandSLAm (Kannan et al., EuroSys 2019) / Llama (Romero et al., SoCC 2021).

Rule. Each flow's SLA is split across its nodes in proportion to their batch-1 latency,
then every node takes its cheapest configuration whose latency fits its share; a node
shared by several flows takes the tightest of its shares.

    w_v      = batch-1 latency of v: the least table latency L among v's available rows
               with the smallest batch (normally 1), i.e. under the instance's queueing model
    α_f      = the largest α with  longest_path_f(α · w) ≤ S_f
               (= S_f / longest_path_f(w) when the flow's edges carry no latency; with edge
               latencies d_e the path length α·Σw + Σd is found by bisection on α)
    share_v  = min over flows f ∋ v of α_f · w_v
    choice_v = cheapest row with L ≤ share_v (ties: the faster)

Every source→sink path of f then sums to at most α_f·Σw + Σd ≤ S_f, so the choice meets
every SLA whenever each node finds a row; a node without one makes the answer
``no_solution``. Time O(Σ_f (V+E) · log(1/ε) + Σ_v K_v).

Simplifications (see docs/baselines.md): one scale factor per flow (GrandSLAm scales the
slack along the critical path; a shorter parallel branch gets the same proportion, not the
extra slack it could have), no accuracy/variant trade-off, and no re-planning of the
slack left over after each node's choice.
"""

from __future__ import annotations

import numpy as np

from ..problem import FlowGraph, Problem
from ..solver import Decision, Solver
from .common import cheapest_within, conclude, proven_infeasible

BISECTION_STEPS = 100


def batch1_latency(problem: Problem, node: str) -> float:
    """The node's batch-1 latency: least table L over its available rows with the smallest
    available batch (the batch is read from the raw profile row)."""
    t = problem.tables[node]
    configs = problem.instance.node(node).configs
    batch = np.array([configs[int(r)].batch for r in t.rows])
    return float(t.latency_ms[batch == batch.min()].min())


def scale_factor(flow: FlowGraph, weight: dict[str, float]) -> float:
    """The largest α with longest_path(α·w) ≤ S (edge latencies stay fixed); 0 if even the
    edges alone exceed the SLA. Longest paths are the flow graph's own."""
    base = flow.longest_path(weight)
    if not any(d for v in flow.nodes for _, d in flow.preds[v]):
        return flow.sla_ms / base
    zero = flow.longest_path({v: 0.0 for v in flow.nodes})
    if zero > flow.sla_ms:
        return 0.0
    lo, hi = 0.0, flow.sla_ms / max(weight[v] for v in flow.nodes)  # a path holds each node
    for _ in range(BISECTION_STEPS):
        mid = 0.5 * (lo + hi)
        if flow.longest_path({v: mid * weight[v] for v in flow.nodes}) <= flow.sla_ms:
            lo = mid
        else:
            hi = mid
    return lo


class SlackSplitSolver(Solver):
    """SLA split in proportion to batch-1 latency, then the cheapest row per node's share."""

    name = "slack-split"

    def decide(self, problem: Problem) -> Decision:
        if (d := proven_infeasible(problem)) is not None:
            return d
        weight = {v: batch1_latency(problem, v) for v in problem.node_names}
        share: dict[str, float] = {}
        for g in problem.flows:
            alpha = scale_factor(g, weight)
            for v in g.nodes:
                share[v] = min(share.get(v, np.inf), alpha * weight[v])
        choice: dict[str, int] = {}
        for v in problem.node_names:
            k = cheapest_within(problem, v, None, share[v])
            if k is None:
                return conclude(problem, None, f"slack-split: no configuration of {v!r} fits "
                                               f"its share {share[v]:.3f} ms of the SLA")
            choice[v] = k
        return conclude(problem, choice, "slack-split")
