"""A plan's components decided by one compiled call each: the exact Pareto DP of their
series-parallel trees on the configuration tables, with no Python per point.

Each component of a plan (:mod:`fa2opt.plan`: flows linked by coupling nodes, or one flow
alone) compiles its flows' trees once into a :class:`TreeProgram` -- binary operations in
post-order, a series or parallel of k parts becoming a balanced tree of k − 1 binary ones
(pairwise rounds: a 10,000-node chain merges fronts of sub-chains, never a front of a long
prefix with one leaf at a time) -- and, where the compiled kernels run (:func:`kernel`),
:func:`solve` decides it with one call on the tables packed as two arrays:

* a component without coupling nodes (one flow whose graph is series-parallel): its tree's
  DP once, with no pruning pass at all (the leaves scan the tables under their caps);
* with coupling nodes (nodes duplicated by the node reduction of a non-SP flow, nodes
  shared by flows): every combination of their pruned candidates, cheapest first, is their
  costs plus each tree's DP with them fixed (their leaves become fixed latencies): the
  enumeration of
  :func:`fa2opt.plan._enumerate`, for any trees (not only flat ones), with the floors of the
  later trees cutting combinations and the best so far bounding each tree's DP; at most
  :data:`MAX_COMBINATIONS` combinations (more: the coupling search decides);

both by :func:`fa2opt.tree_numba.forest_dp` (no coupling node: one combination).

The recurrences are
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
through each point's two parts (an explicit stack; a sub-expression node reduction shares
between copies holds only coupling leaves and is one operation, never descended into).

**Cost bound.** Points that cannot be in an optimal choice are dropped as they are made: an
upper bound ``ub`` is the cheapest Lagrangian greedy choice within the budget (each leaf at
its row least in c + λ·latency, λ the least tie multiplier of a leaf's lower convex hull
at which the choice fits, by bisection), slack-filled (leaves moved to cheaper,
slower rows while the budget holds); for a point (l, c) of sub-expression i,
c + λ·l + rest_i ≤ c(x) + λ·(lat(x) − budget) ≤ c(x) for every feasible x through it, where
rest_i sums a Lagrangian lower bound of each series sibling on i's path to the root and the
cheapest cost of each parallel sibling, less λ·budget; and c + rn_i ≤ c(x) too, where at
a parallel the sibling's Lagrangian bound pays the latency instead (``tree_numba._tree``).
A point above ``ub`` by either (loosened by 1e-9 of it) is dropped, and so is everything
it dominates; in an enumeration ``ub`` is
also at most what the best combination so far leaves the tree, and a tree whose own lower
bounds (its free leaves' cheapest rows within their caps; the Lagrangian bound with the
enumeration's λ) exceed that is dropped before its greedy and its DP. (Non-finite values
switch the bound off.) On the deep cases of ``scripts/bench_decision.py``: a 10,000-node chain in
~25 ms, a 1,000-node nested SP in 20-40 ms (the Python DP: 1.0-1.4 s and 0.2-0.3 s).

**A flow's program straight from its graph.** A plan's first decision on a new structure
spent most of its time building the flow's expression tree and compiling it into a
program (~55 µs of ~0.12 ms on 2-12-node graphs). Where one flow holds every node,
:func:`graph_program` runs the decomposition compiled (:func:`fa2opt.tree_numba.sp_program`:
the series and parallel reductions, the joins, and up to :data:`MAX_NODE_REDUCTIONS` node
reductions, each label a program operation, copies shared) and rebalances each run of one
kind into pairwise rounds, as :func:`compile_program` does: ~7-15 µs on those graphs,
10 ms instead of ~110 ms on a 10,000-node chain, 3 ms instead of ~22 ms on a 1,000-node
nested SP graph. A graph past the cap is declined (its coupling nodes would pass the
kernel's combinations anyway; the Python decomposition decides), and a plan whose kernel
declines is completed by it (:meth:`fa2opt.plan.Plan.complete`).

Every point the caps and the bound drop is in no choice within the budget cheaper than
``ub``, so the optimum is the reference DP's: the same optimal cost (the choice may differ
among equal-cost optima), compared with brute force, :func:`fa2opt.pareto.pareto_remainder`
and fa2's Python path in ``tests/test_tree_kernel.py`` (random trees; random instances of
every shape with several flows and non-SP graphs; every small generated shape). Like every DP here it decides on the
widened budget and :func:`fa2opt.edge.decide_exact` applies the spec's rule.

:func:`solve` declines (:data:`DECLINED`; the plan's Python path decides) where the fronts
would hold more than :data:`POINTS_PER_NODE` points per node (or :data:`MAX_POINTS` in all):
trees whose bound stays weak, e.g. a graph nested 1,000 levels deep with 3 rows per node
(declined after ~0.1 s; the Python DP then takes ~1 s). The kernel runs only where
:func:`fa2opt.cpu_kernels.warm_up` has loaded the kernels in this process (the comparison
harness, the benchmarks, the stress script and the grid solver do so before timing; a
one-off ``fa2opt solve`` never pays Numba's load, and a long search that imports Numba for
its passes midway does not switch to this kernel, whose first compilation after an install
takes ~10 s) and not inside :func:`fa2opt.cpu_kernels.disabled`.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import accumulate
from types import ModuleType
from typing import TYPE_CHECKING, Collection, Mapping, Sequence

import numpy as np

from . import cpu_kernels, pareto
from .arithmetic import DECLINED
from .reductions.sptree import Delay, Leaf, Series, SPTree, count_leaves, postorder
from .tables import PackedTables

if TYPE_CHECKING:
    from .problem import FlowGraph
    from .reductions.pruning import Candidates

# a program's operations, and forest_dp's codes below: fa2opt.tree_numba compiles these
# values in, and Numba's disk cache only notices a change to that file, so it checks them
LEAF, DELAY, SERIES, PARALLEL = 0, 1, 2, 3
TOO_BIG = -2.0  # forest_dp's answer when the fronts would exceed max_points
TOO_MANY = -3.0  # ... when its coupling nodes' candidates give more than max_combinations
# solve() declines when the fronts would hold more than POINTS_PER_NODE points per node
# (at least 64 nodes' worth), or MAX_POINTS (64 MiB) in all
POINTS_PER_NODE, MAX_POINTS = 256, 1 << 21
# coupling nodes' candidate combinations the kernel enumerates: on 58 small dense, shared and
# non-SP draws it took 0.20-0.97x the search's time up to 972 combinations, 0.48-4.6x at
# 1,296-2,592 (each combination a DP of every tree)
MAX_COMBINATIONS = 1024
# graph_program declines a graph past this many node reductions: each copies leaves, so
# its coupling nodes would pass MAX_COMBINATIONS combinations (2^10 at two candidates
# each) and the kernel decline it anyway (the Python decomposition then decides)
MAX_NODE_REDUCTIONS = 20
ENABLED = True  # False: kernel() answers None (the tests' default, tests/conftest.py)
# DECLINED (fa2opt.arithmetic): solve() or a TreeRemainder declines; the Python DP decides


@dataclass(slots=True)  # (read-only once made; not frozen: a frozen one's __init__ costs a µs)
class TreeProgram:
    """Trees as binary operations in post-order, one after another (tree f's root at
    ``roots[f]``): ``kind``, ``left``/``right`` (operand indices of a series or parallel),
    ``arg`` (a leaf's node index, a delay's index into ``delay``), ``free`` (how many
    leaves of nodes not in ``coupling`` lie below: the kernel descends only where some
    do). Node indices are positions in ``order``, the tables' order the program reads
    (:class:`fa2opt.tables.PackedTables`); ``nodes`` are the trees' own nodes and
    ``index`` their positions. ``coupling``: indices of the nodes every tree must give one
    row (node reduction's copies, nodes shared by flows; none for one flow's plain tree)."""

    order: tuple[str, ...]
    nodes: tuple[str, ...]
    index: np.ndarray
    kind: np.ndarray
    left: np.ndarray
    right: np.ndarray
    arg: np.ndarray
    delay: np.ndarray
    free: np.ndarray
    roots: np.ndarray
    coupling: np.ndarray


def compile_program(trees: Sequence[SPTree], order: Sequence[str],
                    coupling: Collection[str] = ()) -> TreeProgram:
    """``trees`` (whose leaves are nodes of ``order``, the tables' order: those not in
    ``coupling`` each once over all trees) as a :class:`TreeProgram`. O(distinct
    sub-expressions and their parts); an explicit post-order
    (:func:`~fa2opt.reductions.sptree.postorder`), no recursion; a sub-expression shared
    within a tree (node reduction's copies) is one operation. The operations' columns are
    built as lists, one array each (a list of tuples made one array cost twice as much)."""
    index = {v: i for i, v in enumerate(order)}
    coupled = set(coupling)
    kind: list[int] = []
    left: list[int] = []
    right: list[int] = []
    arg: list[int] = []
    free: list[int] = []
    delays: list[float] = []
    roots: list[int] = []
    mine: set[int] = set()
    for tree in trees:
        op: dict[int, int] = {}  # sub-expression (by identity) → its operation
        for t in postorder(tree):
            tp = type(t)
            if tp is Leaf:
                j = index[t.node]
                mine.add(j)
                kind.append(LEAF)
                arg.append(j)
                free.append(t.node not in coupled)
            elif tp is Delay:
                kind.append(DELAY)
                arg.append(len(delays))
                free.append(0)
                delays.append(float(t.latency_ms))
            else:  # pairwise rounds: a balanced binary tree of the parts, in their order
                k = SERIES if tp is Series else PARALLEL
                parts = [op[id(p)] for p in t.parts]
                while len(parts) > 1:
                    nxt = []
                    for j in range(0, len(parts) - 1, 2):
                        a, b = parts[j], parts[j + 1]
                        nxt.append(len(kind))
                        kind.append(k)
                        left.append(a)
                        right.append(b)
                        arg.append(-1)
                        free.append(free[a] + free[b])
                    if len(parts) % 2:
                        nxt.append(parts[-1])
                    parts = nxt
                op[id(t)] = parts[0]
                continue
            left.append(-1)
            right.append(-1)
            op[id(t)] = len(kind) - 1
        roots.append(op[id(tree)])
    members = sorted(mine)
    return TreeProgram(tuple(order), tuple([order[j] for j in members]),
                       np.array(members, np.int64), np.array(kind, np.int64),
                       np.array(left, np.int64), np.array(right, np.int64),
                       np.array(arg, np.int64), np.array(delays, float),
                       np.array(free, np.int64), np.array(roots, np.int64),
                       np.array(sorted([index[v] for v in coupled]), np.int64))


def graph_program(flow: FlowGraph, order: Sequence[str]
                  ) -> tuple[TreeProgram, np.ndarray] | None:
    """One flow's :class:`TreeProgram` straight from its graph, by the compiled
    decomposition (:func:`fa2opt.tree_numba.sp_program`), and each node's leaves (in
    ``order``; > 1: the program's coupling nodes): what :func:`compile_program` makes of the flow's
    decomposition, without building the tree (on a 2-12-node graph ~7-15 µs instead of
    ~55 µs for the decomposition and its compilation). None where the kernels do not run
    (:func:`kernel`), the flow does not hold every node of ``order``, or the graph needs more
    than :data:`MAX_NODE_REDUCTIONS` node reductions
    (:func:`~fa2opt.reductions.sp_decompose.decompose` decides its tree)."""
    m = kernel()
    if m is None or len(flow.nodes) != len(order):
        return None
    nodes, preds = flow.structure  # (the plan's key: made already)
    order = tuple(order)
    pos = {v: i for i, v in enumerate(nodes)}
    at = pos if order == nodes else {v: i for i, v in enumerate(order)}
    ops, delay, count, coupling = m.sp_program(
        np.array([0, *accumulate(map(len, preds))], np.int64),
        np.array([pos[u] for p in preds for u, _ in p], np.int64),
        np.array([d for p in preds for _, d in p], float),
        np.array([at[v] for v in nodes], np.int64), MAX_NODE_REDUCTIONS)
    n = ops.shape[1]
    if not n:
        return None
    kind, left, right, arg, free = ops
    return TreeProgram(order, order, np.arange(len(order)), kind, left, right, arg, delay,
                       free, np.array([n - 1], np.int64), coupling), count


def kernel() -> ModuleType | None:
    """The compiled kernel module, or None: only where :func:`fa2opt.cpu_kernels.warm_up`
    has loaded the kernels in this process (:func:`fa2opt.cpu_kernels.warmed`: loading Numba
    and their disk cache costs ~0.3-1 s in a fresh process, their first compilation after an
    install ~10 s, more than a one-off decision) and they run."""
    if not ENABLED or not cpu_kernels.warmed():
        return None
    global _MODULE
    if _MODULE is None:
        from . import tree_numba
        _MODULE = tree_numba
    return _MODULE


_MODULE: ModuleType | None = None  # fa2opt.tree_numba once imported


def solve(program: TreeProgram, packed: PackedTables, budgets: Sequence[float],
          candidates: Mapping[str, Sequence[int]] | None = None, module: ModuleType | None = None
          ) -> tuple[float, dict[str, int]] | None | object:
    """The least cost with every tree within its budget (``budgets[f]``) and each of the
    program's nodes' table position, on the tables ``packed`` (in the program's ``order``);
    the coupling nodes (if any) at one of their ``candidates`` (table positions, fastest
    first) in every tree -- without ``candidates``, their pruned rows, found by the kernel
    from the trees' caps (``tree_numba._candidates``: no pruning pass). None when no choice
    fits; :data:`DECLINED` when the kernel does not run (:func:`kernel`), the fronts would
    exceed their limit or the candidates give more than :data:`MAX_COMBINATIONS`
    combinations. ``module``: the kernel module (default :func:`kernel`)."""
    m = module or kernel()
    if m is None:
        return DECLINED
    p = program
    if packed.nodes != p.order:
        raise ValueError("tree_kernel.solve: the tables are not packed in the program's order")
    row_ptr = packed.row_ptr
    if candidates is None or not len(p.coupling):
        cand_ptr = cand = _NONE
    else:
        names = [p.order[j] for j in p.coupling.tolist()]
        cand_ptr = np.array([0, *accumulate([len(candidates[v]) for v in names])], np.int64)
        cand = np.array([int(row_ptr[j]) + k for j, v in zip(p.coupling.tolist(), names)
                         for k in candidates[v]], np.int64)
    pick = np.empty(len(p.order), np.int64)
    total = m.forest_dp(p.kind, p.left, p.right, p.arg, p.delay, p.free, p.roots,
                        np.array(budgets, float), packed.latency_ms, packed.cost, row_ptr,
                        p.coupling, cand_ptr, cand,
                        min(MAX_POINTS, POINTS_PER_NODE * max(len(p.nodes), 64)),
                        MAX_COMBINATIONS, pick)
    if total == TOO_BIG or total == TOO_MANY:
        return DECLINED
    if total < 0.0:
        return None
    # (a program of every node in table order, graph_program's: no index to gather by)
    return total, dict(zip(p.nodes, (pick if p.nodes is p.order else pick[p.index]).tolist()))


_NONE = np.zeros(0, np.int64)  # no candidates given (forest_dp finds them)

# A compiled remainder solve's work, in the Python DP's pairs (fa2opt.pareto.PAIRS, 16 a
# work unit of the searches' budgets): CALL_PAIRS for its call (packing the prices and the
# call itself, ~20-40 µs), one for each candidate of the tree's nodes and one for each pair
# its series pop or step its parallels take (~0.2-0.5 µs each: about a Python pair's cost,
# where the Python DP's leaf-candidates are whole units, ~4 µs). Measured 2026-12-06 on two
# flows of 152 stacked-diamond nodes (42 ms a solve, 76,000 pairs) and on a hundred flows
# through a pool (64 µs a solve, 58 candidates and 126 pairs): 2-9 µs a unit, beside the
# flow-LP search's 4-7 µs a unit (docs/fa2.md)
CALL_PAIRS = 80


class TreeRemainder:
    """One flow's tree compiled once for many remainder solves: the coupling search solves
    the same tree at every search node with other fixings and other prices
    (:mod:`fa2opt.reductions.search`'s copy split, its exact values of fixings, and those of
    :mod:`fa2opt.reductions.flow_bound`). Called as the
    :class:`~fa2opt.reductions.search.RemainderSolver` on that tree, ``(budget_ms, fixed,
    weight)``: the least cost of the unfixed leaves (a fixed leaf costs nothing here), each
    leaf of v paying ``weight[v][k]`` for candidate k where ``weight[v]`` is a sequence of
    prices (any reals), ``weight[v] · cost`` where it is a number -- by one call of
    :func:`fa2opt.tree_numba.tree_dp` on arrays packed once (candidates' latencies, their
    costs; a call copies the costs and writes the priced nodes' rows), where the Python DP
    (:func:`fa2opt.pareto.pareto_remainder`) folds fronts point by point. The same
    recurrences and so the same optimum (``tests/test_tree_remainder.py`` compares them);
    :data:`DECLINED` where the kernel's fronts would pass their limit, or a node with
    several leaves (node reduction's copies) is not fixed (the kernel charges each leaf).

    Negative prices (the copy split's moves them anywhere) are shifted: each priced node's
    rows by their least price when it is negative, the total back by the shifts' sum (one
    leaf of the node in the tree, one row chosen: the choice is unchanged), as the kernel
    reads a negative total as "nothing fits". O(leaves + rows) to pack a call, the DP's own
    cost to solve it."""

    __slots__ = ("program", "module", "order", "index", "span", "starts", "several", "lat",
                 "cost", "max_points", "root")

    def __init__(self, tree: SPTree, candidates: Mapping[str, Candidates],
                 module: ModuleType) -> None:
        counts = count_leaves(tree)  # (its nodes, in any order: the arrays' order)
        order = list(counts)
        self.several = {v for v, n in counts.items() if n > 1}
        # the nodes of several leaves are fixed at every call: compiled as coupling nodes,
        # so the kernel never descends into the sub-expressions node reduction shares
        # (they hold only such nodes), which a walk from the root would meet once per path
        self.program = compile_program([tree], order, self.several)
        self.root = int(self.program.roots[0])
        self.module, self.order = module, order
        self.index = {v: i for i, v in enumerate(order)}
        sizes = [len(candidates[v].latency) for v in order]
        ptr = np.zeros(len(order) + 1, np.int64)
        np.cumsum(sizes, out=ptr[1:])
        self.span = ptr
        self.starts = ptr.tolist()  # (read per call: a numpy scalar read costs ~100 ns)
        self.lat = np.array([x for v in order for x in candidates[v].latency], float)
        self.cost = np.array([x for v in order for x in candidates[v].cost], float)
        self.max_points = min(MAX_POINTS, POINTS_PER_NODE * max(len(order), 64))

    def __call__(self, budget_ms: float, fixed: Mapping[str, int] | None = None,
                 weight: Mapping[str, object] | None = None
                 ) -> tuple[float, dict[str, int]] | None | object:
        # (per call ~15 µs of Python around a ~10 µs kernel on a hundred flows through a
        # pool: lists built, then one array each; the fixings read from the smaller side,
        # an exact value's fixing holds every coupling node of the component)
        fixed = fixed or {}
        for v in self.several:
            if v not in fixed:
                return DECLINED
        index, starts, order = self.index, self.starts, self.order
        rows, picks = [-1] * len(order), [0] * len(order)  # (the kernel writes the free picks)
        if len(fixed) > len(order):
            for i, v in enumerate(order):
                k = fixed.get(v)
                if k is not None:
                    rows[i], picks[i] = starts[i] + k, k
        else:
            for v, k in fixed.items():
                i = index.get(v)
                if i is not None:
                    rows[i], picks[i] = starts[i] + k, k
        rows_a, pick = np.array(rows, np.int64), np.array(picks, np.int64)
        cost, shift = self.cost, 0.0
        if weight:
            cost = cost.copy()
            priced, prices = [], []  # nodes given a sequence of prices, and those prices
            for v, w in weight.items():
                i = index.get(v)
                if i is None or v in fixed:
                    continue
                if isinstance(w, (int, float)):
                    s, e = starts[i], starts[i + 1]
                    cost[s:e] *= w
                    lo = cost[s:e].min()
                    if lo < 0.0:
                        cost[s:e] -= lo
                        shift += float(lo)
                else:
                    priced.append(i)
                    prices.extend(w)
            if priced:  # written in one compiled pass: the same values as node by node,
                # in the same order (tree_numba.pack_prices)
                shift = self.module.pack_prices(cost, self.span, np.array(priced, np.int64),
                                                np.array(prices, float), shift)
        p = self.program
        work = np.zeros(1)
        total = self.module.tree_dp(p.kind, p.left, p.right, p.arg, p.delay, p.free,
                                    self.root, float(budget_ms), self.lat, cost, self.span,
                                    rows_a, self.max_points, pick, work)
        # its work, in the Python DP's pairs (the searches' budgets count the DPs' work)
        pareto.PAIRS[0] += CALL_PAIRS + self.lat.size + int(work[0])
        if total == TOO_BIG:
            return DECLINED
        if total < 0.0:
            return None
        return total + shift, dict(zip(self.order, pick.tolist()))


def compile_remainder(tree: SPTree, candidates: Mapping[str, Candidates]
                      ) -> TreeRemainder | None:
    """``tree`` as a :class:`TreeRemainder` on ``candidates``, or None where the compiled
    kernels do not run (:func:`kernel`)."""
    m = kernel()
    return None if m is None else TreeRemainder(tree, candidates, m)
