"""A single flow's whole decision as one compiled call: the exact Pareto DP of its
series-parallel tree on the configuration tables, with no pruning pass and no Python per
point.

A plan whose only component is one flow's tree (:mod:`fa2opt.plan`: strategy ``tree DP`` or
``flat sweep``, every node a leaf of it once, no coupling node) compiles that tree once into
a :class:`TreeProgram` -- binary operations in post-order, a series or parallel of k parts
becoming a balanced tree of k − 1 binary ones (pairwise rounds: a 10,000-node chain merges
fronts of sub-chains, never a front of a long prefix with one leaf at a time) -- and, where
the compiled kernels run (:func:`kernel`), decides with :func:`solve`: one call of
:func:`fa2opt.tree_numba.tree_dp` on the tables packed as two arrays. The recurrences are
those of :mod:`fa2opt.pareto` (FA2's DP, Razavi et al., RTAS 2022, on exact fronts):

* leaf v, cap κ: the table's rows with latency ≤ κ strictly cheaper than every faster one
  (the scan of :func:`fa2opt.reductions.pruning.front_rows`; rows are sorted by (latency,
  cost));
* delay d: the point (d, 0) when d ≤ κ;
* series (A, B): the Pareto front of {(a_l + b_l, a_c + b_c) : a_l + b_l ≤ κ}: each point
  of B walks A, a heap pops the pairs in latency order, and after each pop its row jumps
  by bisection past the pairs no cheaper than the best so far (dominated now, and for
  good: the best only falls); at most O(|A|·|B|·log |B|), and on real fronts far fewer
  pops than pairs;
* parallel (A, B): the front of {(max(a_l, b_l), a_c + b_c)}: one merge, O(|A| + |B|);

with caps top-down, κ(part of a series) = κ(series) − (least latency of the other part)
(each level loosened by 1e-9 of the budget: a point too many is harmless), κ(root) = the
flow's budget; the answer is the root's cheapest point within the budget, backtracked
through each point's two parts (an explicit stack).

**Cost bound.** Points that cannot be in an optimal choice are dropped as they are made: an
upper bound ``ub`` is the cheapest Lagrangian greedy choice within the budget (each leaf at
its row least in c + λ·latency, bisection on λ), slack-filled (leaves moved to cheaper,
slower rows while the budget holds); for a point (l, c) of sub-expression i,
c + λ·l + rest_i ≤ c(x) + λ·(lat(x) − budget) ≤ c(x) for every feasible x through it, where
rest_i sums a Lagrangian lower bound of each series sibling on i's path to the root and the
cheapest cost of each parallel sibling, less λ·budget. A point above ``ub`` (loosened by
1e-9 of it) is dropped, and so is everything it dominates. (Non-finite values switch the
bound off.) On the deep cases of ``scripts/bench_decision.py``: a 10,000-node chain in
~25 ms, a 1,000-node nested SP in 20-40 ms (the Python DP: 1.0-1.4 s and 0.2-0.3 s).

Every point the caps and the bound drop is in no choice within the budget cheaper than
``ub``, so the optimum is the reference DP's: the same optimal cost (the choice may differ
among equal-cost optima), compared with brute force, :func:`fa2opt.pareto.pareto_remainder`
and fa2's Python path in ``tests/test_tree_kernel.py``. Like every DP here it decides on the
widened budget and :func:`fa2opt.edge.decide_exact` applies the spec's rule.

:func:`solve` declines (:data:`DECLINED`; the plan's Python path decides) where the fronts
would hold more than :data:`POINTS_PER_NODE` points per node (or :data:`MAX_POINTS` in all):
trees whose bound stays weak, e.g. a graph nested 1,000 levels deep with 3 rows per node
(declined after ~0.1 s; the Python DP then takes ~1 s). Like the flow-bound search's
compiled passes, the kernel runs only where Numba is already imported
(:func:`fa2opt.cpu_kernels.warm_up` loads it: the comparison harness and the benchmarks do
so before timing, and a one-off ``fa2opt solve`` never pays Numba's load) and not inside
:func:`fa2opt.cpu_kernels.disabled`.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from itertools import accumulate
from types import ModuleType
from typing import Mapping, Sequence

import numpy as np

from . import cpu_kernels
from .reductions.sptree import Delay, Leaf, Series, SPTree, postorder

LEAF, DELAY, SERIES, PARALLEL = 0, 1, 2, 3  # a program's operations
TOO_BIG = -2.0  # tree_dp's answer when the fronts would exceed max_points
# solve() declines when the fronts would hold more than POINTS_PER_NODE points per node
# (at least 64 nodes' worth), or MAX_POINTS (64 MiB) in all
POINTS_PER_NODE, MAX_POINTS = 256, 1 << 21
GREEDY_STEPS = 16  # bisection steps of the Lagrangian greedy bound (tree_numba._greedy_bound)
DECLINED = object()  # solve(): the kernel declines (too big); the Python DP decides


@dataclass(frozen=True, slots=True)
class TreeProgram:
    """A tree as binary operations in post-order (the root last): ``kind``, ``left``/
    ``right`` (operand indices of a series or parallel), ``arg`` (a leaf's index into
    ``nodes``, a delay's into ``delay``)."""

    nodes: tuple[str, ...]
    kind: np.ndarray
    left: np.ndarray
    right: np.ndarray
    arg: np.ndarray
    delay: np.ndarray


def compile_program(tree: SPTree, nodes: Sequence[str]) -> TreeProgram:
    """``tree`` (whose leaves are ``nodes``, each once) as a :class:`TreeProgram`. O(tree);
    an explicit post-order (:func:`~fa2opt.reductions.sptree.postorder`), no recursion."""
    index = {v: i for i, v in enumerate(nodes)}
    kind: list[int] = []
    left: list[int] = []
    right: list[int] = []
    arg: list[int] = []
    delays: list[float] = []
    op: dict[int, int] = {}  # sub-expression (by identity) → its operation

    def emit(k: int, a: int, b: int, x: int) -> int:
        kind.append(k)
        left.append(a)
        right.append(b)
        arg.append(x)
        return len(kind) - 1

    for t in postorder(tree):
        tp = type(t)
        if tp is Leaf:
            op[id(t)] = emit(LEAF, -1, -1, index[t.node])
        elif tp is Delay:
            delays.append(float(t.latency_ms))
            op[id(t)] = emit(DELAY, -1, -1, len(delays) - 1)
        else:  # pairwise rounds: a balanced binary tree of the parts, in their order
            k = SERIES if tp is Series else PARALLEL
            ops = [op[id(p)] for p in t.parts]
            while len(ops) > 1:
                ops = [emit(k, ops[j], ops[j + 1], -1) if j + 1 < len(ops) else ops[j]
                       for j in range(0, len(ops), 2)]
            op[id(t)] = ops[0]
    i64 = np.int64
    return TreeProgram(tuple(nodes), np.array(kind, i64), np.array(left, i64),
                       np.array(right, i64), np.array(arg, i64), np.array(delays, float))


def kernel() -> ModuleType | None:
    """The compiled kernel module, or None: only when the compiled kernels run
    (:func:`fa2opt.cpu_kernels.available`) and Numba is already imported (loading it costs
    ~1 s in a fresh process, more than a one-off decision)."""
    if "numba" not in sys.modules or not cpu_kernels.available():
        return None
    global _MODULE
    if _MODULE is None:
        from . import tree_numba
        _MODULE = tree_numba
    return _MODULE


_MODULE: ModuleType | None = None  # fa2opt.tree_numba once imported


def solve(program: TreeProgram, tables: Mapping, budget_ms: float, module: ModuleType | None = None
          ) -> tuple[float, dict[str, int]] | None | object:
    """The least cost within ``budget_ms`` and each node's table position, None when no
    choice fits, :data:`DECLINED` when the kernel does not run (:func:`kernel`) or the
    fronts would exceed :data:`MAX_POINTS`. ``module``: the kernel module (default
    :func:`kernel`; the tests also pass one running the plain Python functions)."""
    m = module or kernel()
    if m is None:
        return DECLINED
    ts = [tables[v] for v in program.nodes]
    row_ptr = np.array([0, *accumulate([len(t.lists[0]) for t in ts])], np.int64)
    packed = np.concatenate([t.latency_ms for t in ts] + [t.cost for t in ts])
    rows = int(row_ptr[-1])
    pick = np.empty(len(ts), np.int64)
    total = m.tree_dp(program.kind, program.left, program.right, program.arg, program.delay,
                      packed[:rows], packed[rows:], row_ptr, float(budget_ms),
                      min(MAX_POINTS, POINTS_PER_NODE * max(len(ts), 64)), pick)
    if total == TOO_BIG:
        return DECLINED
    if total < 0.0:
        return None
    return total, dict(zip(program.nodes, pick.tolist()))
