"""The spec's constants and its SLA rule, in one place (``../shared/spec/problem.md``).

Every solver, pruning step, bound, the answer builder and :func:`fa2opt.verify.verify` read
the SLA test from here, so that all of them agree to the last bit.

**The SLA rule.** A flow's latency is its longest source→sink path, computed in IEEE double
arithmetic in one fixed order (:func:`longest_path`): nodes in topological order,

    finish(v) = fl( max_{(u,v)} fl(finish(u) + d_uv)  +  L_v )      (max over no edge: 0)

so a path's latency is its terms ``L_s, d_1, L_1, d_2, L_2, …`` added left to right from the
source (rounding is monotone, hence the recurrence gives exactly the largest such sum).
The flow meets its SLA iff that value is ``<= fl(S_f + 1e-6)`` (:func:`budget_ms`,
:func:`meets`). Floating-point addition is not associative: a DP that adds the same terms
grouped differently (series-parallel fronts, budgets lowered by delays) may differ in the
last bits. Solvers therefore decide with budgets widened or narrowed by
:func:`fp_margin_ms` (a bound on that difference) and settle the last bits with this rule
(:mod:`fa2opt.edge`).
"""

from __future__ import annotations

import math
from typing import Any, Callable, Iterable, Iterator, Mapping, Sequence

import numpy as np

SLA_TOL_MS = 1e-6  # the spec's tolerance on every flow's SLA (ms)
REL_TOL = 1e-9  # the spec's relative tolerance when comparing costs / objectives
REPLICA_EPS = 1e-9  # n_k = max(1, ceil(λ_v / (ρ μ_k) − 1e-9))
UNIT_ROUNDOFF = 2.0 ** -53


def budget_ms(sla_ms: float) -> float:
    """The largest latency a flow of SLA ``sla_ms`` may have: ``fl(S + 1e-6)``."""
    return sla_ms + SLA_TOL_MS


def meets(latency_ms: float, sla_ms: float) -> bool:
    """The spec's SLA test on a flow latency computed by :func:`longest_path`."""
    return latency_ms <= sla_ms + SLA_TOL_MS


def longest_path(nodes: Iterable[str], preds: Mapping[str, Sequence[tuple[str, float]]],
                 latency: Mapping[str, Any], maximum: Callable[[Any, Any], Any] | None = None
                 ) -> Any:
    """The canonical flow latency: ``nodes`` in topological order, ``preds[v]`` the in-flow
    predecessors ``(u, d_uv)`` of v, ``latency[v]`` = L_v. O(V + E), no recursion.

    ``maximum`` (e.g. ``numpy.maximum``) evaluates it on arrays of latencies (one per batch
    item) with the same additions in the same order; without it, on floats."""
    if maximum is not None:
        finish_a: dict[str, Any] = {}
        longest_a: Any = None
        for v in nodes:
            start_a: Any = 0.0
            for u, d in preds[v]:
                start_a = maximum(start_a, finish_a[u] + d)
            x = finish_a[v] = start_a + latency[v]
            longest_a = x if longest_a is None else maximum(longest_a, x)
        return longest_a
    finish = finish_times(nodes, preds, latency)
    return max(finish.values()) if finish else -float("inf")


def finish_times(nodes: Iterable[str], preds: Mapping[str, Sequence[tuple[str, float]]],
                 latency: Mapping[str, float]) -> dict[str, float]:
    """finish(v) of the rule's recurrence for every node (the longest path ending with v,
    L_v included), in the rule's order of additions."""
    finish: dict[str, float] = {}
    for v in nodes:
        start = 0.0
        for u, d in preds[v]:
            x = finish[u] + d
            if x > start:
                start = x
        finish[v] = start + latency[v]
    return finish


# -- the rule for many flows at once ---------------------------------------------------------
# A graph shared by many flows (3,000 flows over 300 nodes) made the per-flow loops above the
# cost of every SLA check: O(Σ_f (|f| + E_f)) Python steps, seconds per pass. The matrices
# below evaluate the same recurrence for every flow at once, one numpy step per node: the same
# IEEE additions on the same operands, and max is exact, so every value is the per-flow
# loop's to the last bit (``tests/test_flow_matrix.py``).
MATRIX_MIN_FLOWS = 8  # callers take the matrices from this many flows on (fewer: the loops)
MATRIX_CELLS = 1 << 22  # (V, F) cells per block of flows (32 MiB of float64)
# what a matrix pass costs in the loops' steps (one per flow's node or edge, ~0.4 µs): ~17 µs
# of numpy calls per node and ~8 ns per (node or edge, flow) cell, measured on flows sharing
# a graph (3,000 over 300 nodes: matrices 8 ms, loops 207 ms) and on sparse ones (3,000
# chains of 5 of 300 nodes with 8,400 edges: matrices 210 ms, loops 26 ms)
MATRIX_NODE_STEPS = 40
MATRIX_CELLS_PER_STEP = 50


def matrix_pays(nodes: int, edges: int, flows: int, steps: int) -> bool:
    """Whether the rule's matrices (O(V) numpy steps over (V + E) · F cells) beat the
    per-flow loops (``steps`` = Σ_f (|f| + E_f), or a lower bound of it) on a graph of
    ``nodes`` and ``edges`` shared by ``flows`` flows."""
    return flows >= MATRIX_MIN_FLOWS and (
        MATRIX_NODE_STEPS * nodes + (nodes + edges) * flows / MATRIX_CELLS_PER_STEP < steps)


def flow_blocks(n_nodes: int, n_flows: int) -> Iterator[slice]:
    """The flows in blocks of at most :data:`MATRIX_CELLS` (node, flow) cells, so a
    matrix pass holds O(MATRIX_CELLS) floats however many flows there are."""
    step = max(1, MATRIX_CELLS // max(1, n_nodes))
    for a in range(0, n_flows, step):
        yield slice(a, min(n_flows, a + step))


def finish_matrix(ptr: Sequence[int], src: np.ndarray, delay: np.ndarray, member: np.ndarray,
                  latency: np.ndarray, order: Iterable[int], with_start: bool = False
                  ) -> tuple[np.ndarray, np.ndarray | None]:
    """The rule's recurrence (:func:`finish_times`) for many flows over one node set at once.
    Nodes are indices 0..V-1 taken in ``order`` (a topological order of the union of the
    flows' graphs); node v's edges are ``src[ptr[v]:ptr[v+1]]`` (nodes earlier in ``order``)
    with delays ``delay``; ``member[v, f]``: v is in flow f (an edge counts for f only
    when both its ends are: the other end's −inf drops it); ``latency[v]``: L_v. Returns
    ``finish`` (V, F): fl(max(0, max_u fl(finish[u, f] + d)) + L_v) where v ∈ f, −inf
    elsewhere, and with ``with_start`` the max itself (``start``, V × F; 0 outside f).
    Run over reversed edges in reverse order it gives the tails (longest path starting with
    v). O(V numpy steps + (V + E) · F)."""
    V, F = member.shape
    finish = np.full((V, F), -np.inf)
    start = np.zeros((V, F)) if with_start else None
    lat = latency.tolist()
    for v in order:
        a, b = ptr[v], ptr[v + 1]
        if a == b:
            s: Any = 0.0
        else:
            x = finish[src[a:b]] + delay[a:b, None] if b - a > 1 else finish[src[a]] + delay[a]
            s = np.maximum(x.max(axis=0) if b - a > 1 else x, 0.0)
        if start is not None:
            start[v] = np.where(member[v], s, 0.0)
        finish[v] = np.where(member[v], s + lat[v], -np.inf)
    return finish, start


def longest_paths(ptr: Sequence[int], src: np.ndarray, delay: np.ndarray, member: np.ndarray,
                  latency: np.ndarray, order: Iterable[int]) -> np.ndarray:
    """Each flow's latency by the rule (:func:`longest_path`, −inf for a flow without
    nodes): :func:`finish_matrix`'s largest finish per flow, the flows in
    :func:`flow_blocks`. ``member``: (V, F) bool; the rest as there."""
    order = list(order)
    V, F = member.shape
    out = np.full(F, -np.inf)
    for blk in flow_blocks(V, F):
        finish, _ = finish_matrix(ptr, src, delay, member[:, blk], latency, order)
        if V:
            out[blk] = finish.max(axis=0)
    return out


def critical_path(nodes: Sequence[str], preds: Mapping[str, Sequence[tuple[str, float]]],
                  latency: Mapping[str, float]) -> list[str]:
    """The nodes of a path whose sum by the rule *is* the flow latency (sink first): from the
    node of largest finish, each step goes to a predecessor u whose ``fl(finish(u) + d_uv)``
    is the maximum that started v, until a node started at 0.

    Every choice that keeps the rows of these nodes has a flow latency at least as large:
    rounding and max are monotone, so along this path its finish times are at least these
    (the no-good of :func:`fa2opt.edge.decide_exact`). O(V + E)."""
    finish = finish_times(nodes, preds, latency)
    if not finish:
        return []
    v = max(finish, key=finish.__getitem__)
    path = [v]
    while True:
        best_u, best = None, 0.0
        for u, d in preds[v]:
            x = finish[u] + d
            if x > best:
                best_u, best = u, x
        if best_u is None:
            return path
        v = best_u
        path.append(v)


def fp_margin_ms(budget: float, terms: int) -> float:
    """A bound on how far a sum of ``terms`` non-negative doubles (and budgets lowered by
    them), added in any order, can be from the canonical left-to-right sum when the values
    involved are at most about ``budget``: each addition or subtraction errs by at most
    u·|result| (u = 2⁻⁵³), and a DP performs fewer than 2·terms of them on any path.
    Generous by a factor 4, so a margin that is too small cannot occur."""
    return 8.0 * (terms + 4) * UNIT_ROUNDOFF * abs(budget)


def sum_slack(terms: int, magnitude: Any) -> Any:
    """A bound on how far a value computed in doubles with at most ``terms`` roundings on
    any one chain of operations (a sum of ``terms`` + 1 values added in any order, each
    within ``terms``·ε·Σ|x| of the exact sum; ε = 2u), whose operands have total magnitude
    ``magnitude``, can be from its value in real arithmetic -- twice that, plus room for a
    few more operations on the result. Bounds computed in doubles subtract it to stay
    bounds (:mod:`.reductions.flow_bound`, :mod:`.extensions.leaf`). Works on arrays."""
    return 4.0 * (terms + 3) * UNIT_ROUNDOFF * magnitude + 1e-300


def dot(a: np.ndarray, b: np.ndarray) -> float:
    """``a·b`` as numpy's pairwise sum of the exact products: the same bits on every CPU.
    ``a @ b`` and ``np.dot`` call BLAS, whose kernel is picked by the CPU (OpenBLAS's
    Haswell, Zen, SkylakeX ...) and groups the additions its own way, so a bound's last bits
    -- and through near-ties a search's branching -- differed between machines:
    ``vsp_edge_latency(300)`` seed 1 took 1,443 search nodes with OpenBLAS's Haswell and Zen
    kernels and 2,353 with SkylakeX's (docs/fa2.md, "Search nodes on every machine").
    The search's bounds, cuts and branching scores take their dot products from here.
    Silent on overflow (a flow's amount times an SLA of 1e308 is inf), as BLAS is. O(n)."""
    with np.errstate(all="ignore"):
        return float(np.add.reduce(np.multiply(a, b)))


def norm(a: np.ndarray) -> float:
    """``‖a‖₂`` from :func:`dot` (the same bits on every CPU, where ``np.linalg.norm`` calls
    BLAS); where the squares under- or overflow, of ``a`` scaled by its largest ``|a_i|``
    first, as BLAS's ``dnrm2`` does, so a nonzero finite vector never has norm 0 or inf. O(n)."""
    n = math.sqrt(dot(a, a))
    if n == 0.0 or n == math.inf:
        big = float(np.abs(a).max(initial=0.0))
        if 0.0 < big < math.inf:
            scaled = a / big
            n = big * math.sqrt(dot(scaled, scaled))
    return n


# -- representable range -------------------------------------------------------------------
# The spec asks only for finite numbers, positive rates/SLAs/latencies/units/multipliers and
# non-negative prices and edge latencies. These bounds are not the MILP's comfort zone: they
# are what keeps the spec's derived quantities finite, non-zero and exact in IEEE doubles
# (no inf, no NaN, no overflow, no underflow to 0) for every method, `verify` and the answer
# JSON. An instance outside them is an input error naming the field (fa2opt.io); everything
# inside must solve (the MILP may answer `error` where HiGHS cannot hold the model:
# formulations.solve). sla_ms has no bound beyond "finite > 0" (a huge SLA means
# unconstrained; fl(S + 1e-6) of a finite S is finite).
#
# One magnitude window for every positive real field: [1e-15, 1e15] (30 decades around 1).
# With it (b ≤ 2^53, F flows, F ≤ 5·10^6 by the file limits):
#   λ_v = m·Σλ_f        ∈ [1e-30, 1e30·F]          normal doubles, never 0 or inf
#   μ_k = 1000·b/p      ∈ [1e-12, 1e3·2^53·1e15 ≈ 9e33]
#   λ_v/(ρ·μ_k)         ≤ 1e30·F/(1e-15·1e-12) ≈ 5e63  finite (then the replica guard below)
#   q_k = 1000(b−1)/λ_v ≤ 1e3·2^53/1e-30 ≈ 9e48;  L_k = p + q_k finite, path sums of up to
#                        10^7 terms ≤ 1e56 finite (sla_ms may be up to 1.8e308)
#   c_k = n·u·price     ≤ 1e15·1e15·1e15 = 1e45;  Σ_v c_v ≤ 1e52 finite
# Prices may also be exactly 0, edge latencies anything in [0, 1e15]; ρ ∈ [1e-15, 1].
MAGNITUDE_RANGE = (1e-15, 1e15)
RATE_RPS_RANGE = MAGNITUDE_RANGE  # a flow's rate_rps (and `table --rates`)
MULTIPLIER_RANGE = MAGNITUDE_RANGE  # a node's multiplier
LATENCY_MS_RANGE = MAGNITUDE_RANGE  # a profile row's latency_ms p
UNITS_RANGE = MAGNITUDE_RANGE  # a profile row's units
PRICE_RANGE = MAGNITUDE_RANGE  # a hardware price; exactly 0 is also allowed
# an edge's d_e: only added to path sums (never multiplied or divided), so any finite value
# >= 0 up to the window's top is exact enough -- no lower bound
EDGE_LATENCY_MS_RANGE = (0.0, MAGNITUDE_RANGE[1])
MAX_UTILIZATION_RANGE = (MAGNITUDE_RANGE[0], 1.0)  # ρ (the spec's (0, 1])
# integers: exact in a double (every table column is float64) and in int64
BATCH_RANGE = (1, 2**53)  # a profile row's batch
# limits: any integer up to 1e100. Past every row's need -- no available row may
# need more than MAX_ROW_REPLICAS replicas, no batch is past 2^53 -- a limit says "none"
# (10^18 or 2^63 - 1 written for unlimited were refused as past 2^53 until 2026-12-06);
# tables.row_available compares it as a double
MAX_REPLICAS_RANGE = (1, 1e100)  # max_replicas
MAX_BATCH_RANGE = (0, 1e100)  # max_batch: 0 leaves the node without rows (infeasible)
# The one derived guard: n_k of every *available* row ≤ 1e15 (a round bound below 2^53 ≈
# 9.007e15), so replica counts are exact integers in a double and in int64 and c_k ≤ 1e45.
# A row above max_replicas or max_batch is never taken, so it may need more; so may one an
# in-range row dominates in the base problem (tables.drop_dominated_out_of_range).
MAX_ROW_REPLICAS = 1e15


# -- extensions (the spec's "Extensions" section) --------------------------------------------
CAPACITY_TOL = 1e-9  # Σ_v n_v·u_v ≤ C_h + 1e-9 per listed hardware kind
ACCURACY_TOL = 1e-9  # product: Σ ln a_v ≥ ln A_f − 1e-9;  min: a_v ≥ A_f − 1e-9
# accuracy.weight w and every switch cost s_v: like a row's cost (<= 1e17), each objective
# term stays inside HiGHS's range (it reads |coefficient| >= 1e20 as infinite) and sums of
# them stay finite (w = 1.7e308 made the objective -inf)
OBJECTIVE_TERM_RANGE = (0.0, 1e17)


def left_sum(values: Iterable[float]) -> float:
    """``values`` added left to right from 0.0: the order of every float sum the project
    compares to the last bit (a cost, a node's rate, a budget's use). Python's ``sum`` adds
    so only before 3.12; from 3.12 it compensates, so its last bit depends on the version."""
    total = 0.0
    for x in values:
        total += x
    return total


def left_sum_array(values: np.ndarray) -> float:
    """:func:`left_sum` of a 1-d float array in C: ``np.add.accumulate`` adds left to right
    (``np.sum`` does not: it sums pairwise), so the same bits but for the sign of a zero sum
    (which no comparison tells apart). O(n)."""
    return float(np.add.accumulate(values)[-1]) if len(values) else 0.0


def budget_sum(values: Iterable[float]) -> float:
    """The one summation order of every additive extension budget (units in use, −ln
    accuracy): the values of the block's nodes (a flow's in topological order, global
    budgets in the instance's node order) added left to right from 0.0 (:func:`left_sum`).
    Solvers, the MILP's exact re-check and :func:`fa2opt.verify.verify` all add in this
    order, so a limit at its tolerance edge is decided identically to the last bit (float
    addition is monotone, so the sum only grows with each term)."""
    return left_sum(values)


def rate_sum(rates: Iterable[float]) -> float:
    """A node's Σ_{f ∋ v} λ_f as every part of the project adds it (the spec gives no order):
    the flows' rates in the instance's flow order, left to right from 0.0
    (:func:`left_sum`) -- what a loop or numpy does, and Python's ``sum`` before 3.12; from
    3.12 ``sum`` compensates, which from three flows on can differ in the last bit, and a
    last bit of λ_v moves a batch-fill delay ``1000 (b − 1) / λ_v`` across an SLA's edge."""
    return left_sum(rates)
