"""Grid decisions for every item of a batch (the same graph at many rates or SLAs).

Per batch item: the up pass (with backtracking) gives the decision, the down pass (value
only) the certified lower bound (:mod:`fa2opt.grid.rounding`). Status ``optimal`` when the
two costs meet (within 1e-9 relative), else ``feasible`` with ``lower_bound``. If rounding up
leaves no decision on a feasible item, the answer is the all-fastest choice (``feasible`` with
``lower_bound``); ``infeasible`` exactly when the all-fastest choice breaks an SLA.

Used by the decision tables of :mod:`fa2opt.decision_table`; runs on numpy or CuPy, in
chunks of batch items (:func:`chunk_size`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np

from .. import cpu_kernels, kernels, spec
from ..spec import REL_TOL
from .coupling import grid_pass
from .curves import CurveTables
from .flow_dp import FlowPart, capped
from .rounding import MODES, latency_steps


@dataclass
class BatchDecision:
    """Per batch item: status (``optimal``/``feasible``/``infeasible``), cost, certified lower
    bound and chosen column per node (−1 where infeasible)."""

    status: np.ndarray  # (B,) str, on the host
    cost: Any           # (B,) (inf where infeasible)
    lower_bound: Any    # (B,)
    choice: dict[str, Any]
    fallback: Any       # (B,) bool: the up grid had no decision, all-fastest answered


def flow_latencies(parts: Sequence[FlowPart], tabs: CurveTables, choice: Mapping[str, Any]
                   ) -> dict[str, Any]:
    """Each flow's latency (B,) for a choice by the spec's rule (:func:`fa2opt.spec.longest_path`
    on arrays), so the batch's SLA checks agree with ``verify`` to the last bit."""
    xp = tabs.xp
    lat = tabs.pick("latency", choice)
    return {p.name: spec.longest_path(p.graph.nodes, p.graph.preds, lat, xp.maximum)
            for p in parts}


def decide_batch(parts: Sequence[FlowPart], coupling: Sequence[str], tabs: CurveTables,
                 grid_ms: float) -> BatchDecision:
    """The grid DP's answer for every batch item (see module doc for the statuses)."""
    xp = tabs.xp
    parts = capped(parts, tabs, grid_ms)  # huge SLAs: the grid spans what the profiles reach
    fastest = tabs.fastest()
    fast_cost = sum(tabs.pick("cost", fastest).values())
    lat = flow_latencies(parts, tabs, fastest)
    feasible = xp.isfinite(fast_cost)
    for p in parts:
        feasible &= lat[p.name] <= xp.asarray(p.budget_ms)
    cost, lb, choice = _both_passes(parts, coupling, tabs, grid_ms)
    up_ok = xp.isfinite(cost)
    if up_ok.any():  # safety net: every decision must meet its SLAs (true by construction)
        lat = flow_latencies(parts, tabs, choice)
        for p in parts:
            up_ok &= lat[p.name] <= xp.asarray(p.budget_ms)
    use_fast = feasible & ~up_ok
    choice = {v: xp.where(use_fast, fastest[v], xp.where(feasible, k, -1)) for v, k in choice.items()}
    cost = xp.where(feasible, xp.where(up_ok, cost, fast_cost), xp.inf)
    lb = xp.where(feasible, xp.minimum(lb, cost), xp.inf)
    with np.errstate(invalid="ignore"):  # inf − inf on infeasible items
        gap_ok = xp.abs(cost - lb) <= REL_TOL * xp.maximum(1.0, xp.abs(cost))
    status = np.where(kernels.to_numpy(feasible),
                      np.where(kernels.to_numpy(gap_ok), "optimal", "feasible"), "infeasible")
    return BatchDecision(status, cost, lb, choice, use_fast)


def _both_passes(parts, coupling, tabs, grid_ms):
    """Up pass with backtracking (the decision), down pass for its value only (the bound),
    each distinct batch item once (:func:`distinct_items`)."""
    xp, B = tabs.xp, tabs.batch
    items, inverse = distinct_items(parts, tabs, grid_ms)
    if items is not None:
        sub = tabs.take(items)
        sub_parts = [p if xp.ndim(xp.asarray(p.budget_ms)) == 0 else
                     FlowPart(p.name, p.tree, xp.broadcast_to(xp.asarray(p.budget_ms), (B,))[items],
                              p.graph)
                     for p in parts]
        cost, lb, choice = _both_passes_all(sub_parts, coupling, sub, grid_ms)
        return cost[inverse], lb[inverse], {v: k[inverse] for v, k in choice.items()}
    return _both_passes_all(parts, coupling, tabs, grid_ms)


def _both_passes_all(parts, coupling, tabs, grid_ms):
    cost, choice = grid_pass(parts, coupling, tabs, grid_ms, "up")
    lb, _ = grid_pass(parts, coupling, tabs, grid_ms, "down", backtrack=False)
    return cost, lb, choice


def distinct_items(parts: Sequence[FlowPart], tabs: CurveTables, grid_ms: float
                   ) -> tuple[Any, Any] | tuple[None, None]:
    """Batch items whose grid problems are identical — the same up and down steps and costs
    of every column of every node, and the same SLAs — have the same answer in both passes;
    neighbouring rates often do (replica counts are step functions of the rate, and queueing
    delays round to the same steps). Returns (one index per distinct item, the map back), or
    (None, None) when every item is distinct. O(B log B · ΣK) on the host."""
    xp, B = tabs.xp, tabs.batch
    if B < 2:
        return None, None
    cols = []
    for v in tabs.cost:
        cols += [latency_steps(tabs.latency[v], grid_ms, m, xp).astype(xp.float64) for m in MODES]
        cols.append(tabs.cost[v])
    cols += [xp.broadcast_to(xp.asarray(p.budget_ms, dtype=xp.float64), (B,))[:, None] for p in parts]
    key = kernels.to_numpy(xp.concatenate(cols, axis=1))
    _, items, inverse = np.unique(key, axis=0, return_index=True, return_inverse=True)
    if len(items) == B:
        return None, None
    return xp.asarray(items), xp.asarray(inverse.reshape(-1))


# Batch items per chunk: with the numpy twins small chunks keep the curves in cache (measured
# fastest around 2^18 curve entries); the compiled CPU kernels (fa2opt.cpu_kernels) keep no
# dense curve of a chain and sweep the others item by item, so there larger chunks only save
# per-chunk overhead (2^21 measured best at grid length 2,000); on the GPU a chunk's argmin
# arrays stay under 8 GiB per pass.
CHUNK_ENTRIES = {"cpu": 1 << 18, "cpu-compiled": 1 << 21, "gpu": 1 << 31}


def chunk_size(length: int, terms: int, device: str) -> int:
    """Batch items per chunk for curves of ``length`` entries and ``terms`` fold steps."""
    per_item = length if device == "cpu" else length * max(1, terms)
    key = "cpu-compiled" if device == "cpu" and cpu_kernels.available() else device
    return max(1, CHUNK_ENTRIES[key] // max(1, per_item))
