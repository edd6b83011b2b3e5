"""FA2's grid DP: the dynamic program over a discretised latency budget (``fa2-grid``).

Razavi et al. (FA2, IEEE RTAS 2022) solve each series-parallel piece of the inference graph
with a DP over latency budgets discretised to a step Δ (``grid_ms``): ``g[t]`` = least cost
of a sub-expression whose latency is at most t·Δ (the recurrence and its complexity are in
:mod:`fa2opt.grid.flow_dp`). Two roundings make the result honest: latencies rounded *up*
give a decision that meets the real SLAs, rounded *down* a certified lower bound
(:mod:`fa2opt.grid.rounding`); ``optimal`` when the two meet, else ``feasible`` with
``lower_bound``; ``infeasible`` exactly when the all-fastest choice breaks an SLA.

Modules:

* :mod:`~fa2opt.grid.rounding` — latencies and budgets in grid steps (``up``/``down``, δ);
* :mod:`~fa2opt.grid.curves` — :class:`CurveTables`, per-node (B, K) latency/cost arrays;
* :mod:`~fa2opt.grid.columns` — exact pruning of dominated columns of a leaf;
* :mod:`~fa2opt.grid.flow_dp` — one flow's cost curve and backtracking (:func:`flow_pass`),
  the flows' expressions (:func:`flow_parts`);
* :mod:`~fa2opt.grid.coupling` — coupling nodes: :class:`GridRemainder` (the grid as
  remainder solver of ``fa2``'s branch and bound), :func:`grid_search`, batched
  enumeration or per-item search (:func:`grid_pass`, threshold ``coupling.ENUMERATE_MAX``);
* :mod:`~fa2opt.grid.batch` — :func:`decide_batch` / :class:`BatchDecision` for every item of
  a batch (the decision tables of :mod:`fa2opt.decision_table`), :func:`chunk_size`;
* :mod:`~fa2opt.grid.solver` — :class:`GridSolver` (method ``fa2-grid``, registered as
  ``fa2opt.grid:GridSolver``), :func:`check_grid_ms`, :func:`grid_refusal`.

Everything is batched over a leading axis B and runs on numpy or CuPy (``device``).
"""

from __future__ import annotations

from .batch import CHUNK_ENTRIES, BatchDecision, chunk_size, decide_batch, distinct_items, flow_latencies
from .columns import undominated, useful_columns
from .coupling import GridRemainder, batch_item_search, candidates_at, grid_pass, grid_search
from .curves import CurveTables
from .flow_dp import FlowPart, count_terms, flow_parts, flow_pass, grid_steps
from .rounding import MODES, SNAP, budget_steps, latency_steps
from .solver import DEFAULT_GRID_MS, GridSolver, check_grid_ms, grid_refusal

# ENUMERATE_MAX is deliberately not re-exported: it is read by grid_pass in
# fa2opt.grid.coupling, so a tuning override must be set there (a copy here would be ignored).
__all__ = [
    "BatchDecision", "CHUNK_ENTRIES", "CurveTables", "DEFAULT_GRID_MS", "FlowPart", "GridRemainder",
    "GridSolver", "MODES", "SNAP", "batch_item_search", "budget_steps", "candidates_at",
    "check_grid_ms", "chunk_size", "count_terms", "decide_batch", "distinct_items", "flow_latencies",
    "flow_parts", "flow_pass", "grid_pass", "grid_refusal", "grid_search", "grid_steps",
    "latency_steps", "undominated", "useful_columns",
]
