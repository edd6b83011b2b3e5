"""Nexus-style planning (Shen et al., "Nexus: A GPU Cluster Engine for Accelerating DNN-Based
Video Analysis", SOSP 2019, §5 "complex queries").

Rule. Nexus plans every model with *worst-case batching*: a request may arrive just after a
batch started, wait for it and then ride in the next one, so the node latency it plans
with is 2·p (the spec's ``worst-case`` queueing model, computed by
:func:`fa2opt.tables.evaluate`, never re-derived). It splits each query's latency SLO
between the models of its tree-shaped dataflow graph by a dynamic program over a
discretised SLO: with step δ = S_f / T and s_k = ⌈L^wc_k / δ⌉ steps for row k,

    f_u(t) = min over rows k of u with s_k ≤ t of
             c_k + Σ_{children v of u} f_v(t − s_k − ⌈d_uv / δ⌉)          (t = 0..T)
    plan(f) = Σ_{roots r} f_r(T)

in O(Σ_v K_v · T) per flow (the cost c_k is the spec's, at the node's full rate). The
chosen rows are then evaluated under the instance's *own* queueing model, like every other
answer: a plan that breaks an SLA there (batch-fill delay 1000·(b−1)/λ can exceed p at low
rates) is answered ``no_solution``, not repaired.

Where the paper is silent or our problem is wider (see docs/baselines.md):
- Only flows whose subgraph is an out-forest (every node has at most one predecessor in
  the flow) are planned -- Nexus's query DP is defined for trees; other flows give
  ``no_solution``.
- Several flows: planned one at a time, tightest SLA first; a node shared with an already
  planned flow keeps its configuration (a fixed worst-case latency, no further cost).
- Rounding every latency up to the grid keeps the worst-case plan within each SLA.
"""

from __future__ import annotations

import math

import numpy as np

from ..grid.rounding import STEP_CAP
from ..problem import FlowGraph, Problem
from ..solver import Decision, Solver
from ..tables import ProfileArrays, evaluate
from .common import conclude, proven_infeasible

DEFAULT_SLO_STEPS = 500


def worst_case_latency(problem: Problem, node: str) -> np.ndarray:
    """Node latency of every table position under worst-case batching (2p), from the shared
    rule with ``queueing_model="worst-case"``."""
    inst = problem.instance
    n, t = inst.node(node), problem.tables[node]
    ev = evaluate(ProfileArrays.of(n, inst), t.rate_rps, max_utilization=inst.max_utilization,
                  queueing_model="worst-case", max_replicas=n.max_replicas,
                  max_batch=n.max_batch)
    return np.asarray(ev["latency_ms"], dtype=float)[t.rows]


def _steps(ms: np.ndarray | float, delta: float) -> np.ndarray:
    """Latencies in steps of ``delta``, rounded up; capped at 2^52 before int64 (latencies in
    range reach ~1e48 steps; one that long fits no budget anyway)."""
    return np.minimum(np.ceil(np.asarray(ms, dtype=float) / delta - 1e-9), STEP_CAP).astype(np.int64)


def is_out_forest(flow: FlowGraph) -> bool:
    return all(len(flow.preds[v]) <= 1 for v in flow.nodes)


def plan_flow(problem: Problem, flow: FlowGraph, wc: dict[str, np.ndarray],
              fixed: dict[str, int], steps: int) -> dict[str, int] | None:
    """The tree DP of one flow; nodes in ``fixed`` keep their position. Returns the chosen
    positions of the flow's free nodes, or None when no plan fits the SLA."""
    delta = flow.sla_ms / steps
    T = steps
    best: dict[str, np.ndarray] = {}  # f_v(t), t = 0..T
    arg: dict[str, np.ndarray] = {}  # index into the node's options
    options: dict[str, np.ndarray] = {}  # table positions considered
    node_steps: dict[str, np.ndarray] = {}
    t_axis = np.arange(T + 1)
    for u in reversed(flow.nodes):
        if u in fixed:
            opts = np.array([fixed[u]])
            cost = np.zeros(1)
        else:
            opts = np.arange(len(problem.tables[u]))
            cost = problem.tables[u].cost.astype(float)
        s = _steps(wc[u][opts], delta)
        child = np.zeros(T + 1)
        for v, d in flow.succs[u]:
            shifted = np.full(T + 1, np.inf)
            e = int(_steps(d, delta)) if d > 0 else 0
            if e <= T:
                shifted[e:] = best[v][: T + 1 - e]
            child += shifted
        idx = t_axis[None, :] - s[:, None]  # residual budget for the children
        vals = np.where(idx >= 0, cost[:, None] + child[np.clip(idx, 0, T)], np.inf)
        arg[u] = np.argmin(vals, axis=0)
        best[u] = vals[arg[u], t_axis]
        options[u], node_steps[u] = opts, s
    roots = flow.sources
    if not all(math.isfinite(best[r][T]) for r in roots):
        return None
    chosen: dict[str, int] = {}
    stack = [(r, T) for r in roots]
    while stack:
        u, t = stack.pop()
        i = int(arg[u][t])
        chosen[u] = int(options[u][i])
        rest = t - int(node_steps[u][i])
        for v, d in flow.succs[u]:
            stack.append((v, rest - (int(_steps(d, delta)) if d > 0 else 0)))
    return {v: k for v, k in chosen.items() if v not in fixed}


class NexusSolver(Solver):
    """Nexus-style worst-case-batching DP over a discretised SLO, for tree-shaped flows."""

    name = "nexus"

    @classmethod
    def option_names(cls) -> tuple[str, ...]:
        return ("slo_steps",)

    def decide(self, problem: Problem) -> Decision:
        if (d := proven_infeasible(problem)) is not None:
            return d
        steps = int(self.options.get("slo_steps", DEFAULT_SLO_STEPS))
        if steps < 1:
            raise ValueError("nexus: slo_steps must be >= 1")
        not_trees = [g.name for g in problem.flows if not is_out_forest(g)]
        if not_trees:
            return conclude(problem, None, "nexus plans tree-shaped flows only; not a tree: "
                                           + ", ".join(not_trees))
        wc = {v: worst_case_latency(problem, v) for v in problem.node_names}
        fixed: dict[str, int] = {}
        for g in sorted(problem.flows, key=lambda g: g.sla_ms):  # stable: declaration order
            plan = plan_flow(problem, g, wc, fixed, steps)
            if plan is None:
                return conclude(problem, None, f"nexus: no plan of flow {g.name!r} fits its SLA "
                                               f"under worst-case batching ({steps} SLO steps)")
            fixed.update(plan)
        return conclude(problem, fixed, "nexus", slo_steps=steps)
