"""Rounding latencies and budgets to the latency grid of step Δ (``grid_ms``).

Two passes make the grid DP's result honest:

* **up**: latencies (node, edge and fixed delays) rounded *up* to the grid and the budget
  rounded down: every decision the DP returns meets the real SLA (a restriction);
* **down**: latencies rounded *down*, budget rounded up: every truly feasible decision is
  feasible on this grid (a relaxation), so its optimum is a certified **lower bound**.

Rounding uses a snap tolerance δ = 1e-9 step so that latencies on the grid are not pushed off
it by floating-point noise; the budgets absorb δ per term, which keeps both passes rigorous
(see :func:`budget_steps`).
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

import numpy as np

from .. import spec


SNAP = 1e-9  # δ: rounding tolerance, in grid steps
MODES = ("up", "down")
# step counts are capped here before int64: latencies reach 1e15 ms and batch-fill delays far
# more (spec.py's ranges), ~1e48 steps, which int64 cannot hold; a latency this many steps
# long fits no budget the grid accepts (its steps are bounded far lower), so the cap changes
# no decision, and a budget this long is refused by the grid's own limit
STEP_CAP = float(2**52)


def latency_steps(latency_ms: Any, grid_ms: float, mode: str, xp: ModuleType = np) -> Any:
    """A latency in grid steps: ``up`` → ⌈L/Δ − δ⌉, ``down`` → ⌊L/Δ + δ⌋ (int64, ≥ 0)."""
    with np.errstate(over="ignore"):  # a tiny Δ: x = inf, capped below
        x = xp.asarray(latency_ms, dtype=xp.float64) / grid_ms
    s = xp.ceil(x - SNAP) if mode == "up" else xp.floor(x + SNAP)
    return xp.minimum(xp.maximum(s, 0), STEP_CAP).astype(xp.int64)


def budget_steps(budget_ms: Any, grid_ms: float, mode: str, terms: int,
                 xp: ModuleType = np) -> Any:
    """A flow's budget ``S + tol`` (:func:`fa2opt.spec.budget_ms`, scalar or (B,)) in grid
    steps for an expression of ``terms`` leaves and delays.

    ``up``: T = ⌊(S + tol)/Δ − terms·δ⌋. A path of steps u_i ≥ L_i/Δ − δ with Σ u_i ≤ T has
    Σ L_i ≤ Δ(T + terms·δ) ≤ S + tol: the decision meets the SLA.
    ``down``: T = ⌊(S + tol)/Δ + terms·δ⌋. A path with Σ L_i ≤ S + tol has steps
    u_i ≤ L_i/Δ + δ, so Σ u_i ≤ T: every feasible decision stays feasible (a relaxation).
    """
    with np.errstate(over="ignore"):  # a tiny Δ: x = inf, clipped to ±STEP_CAP below
        x = xp.asarray(budget_ms, dtype=xp.float64) / grid_ms
    # δ per term, plus the float error of the terms' sum and of L/Δ at this magnitude (which
    # outgrows δ once budgets pass ~10⁷ steps)
    slack = terms * SNAP + spec.fp_margin_ms(x, terms)
    t = xp.floor(x - slack if mode == "up" else x + slack)
    return xp.clip(t, -STEP_CAP, STEP_CAP).astype(xp.int64)
