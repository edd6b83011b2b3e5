"""FA2 on extended problems, exactly: reshaped tables plus a Lagrangian branch and bound.

The exact DP (``exact``: a base :class:`~fa2opt.problem.Problem` → its optimum under the
spec's SLA rule, i.e. :func:`fa2opt.edge.decide_exact` around ``FA2Solver.decide_dp``) is
never modified; every extension becomes something it already solves:

- **row filters and row terms** → :func:`reshaped`: the tables cut to the allowed rows, each
  row's ``cost`` replaced by its objective (cost + terms) shifted by the node's minimum (so
  costs stay ≥ 0; the constant is added back), rows re-sorted by (L, new cost) so the
  tables' invariant (position 0 fastest) holds; a position map leads back.
- **budgets** (Σ use ≤ limit, per flow or global) → :func:`branch_and_bound`: for multipliers
  μ ≥ 0 the DP on ``objective + Σ_j μ_j·use_j`` gives the Lagrangian lower bound
  ``DP(μ) − Σ_j μ_j·limit'_j`` of a subproblem (node → allowed rows; ``limit'`` =
  :func:`effective_limit`). Each μ_j is maximised exactly in one dimension by cutting planes
  (``ascend_one``: every choice is a line ``a + μ_j·slack_j``, the bound their lower envelope;
  the least-use choice, a DP on ``use_j`` alone, closes the bracket or proves the subproblem
  infeasible), at the root and in every child (warm-started from its parent's μ). Every
  relaxed choice within every budget (checked by the one summation order,
  :func:`fa2opt.extensions.budget_use`) is offered as the incumbent, and a repair step moves
  the relaxed choice towards a within-budget one (no DP); a choice whose objective equals the
  bound solves its subproblem. Subproblems are dropped when the bound reaches the incumbent,
  when the least allowed use of a budget exceeds it, or when no choice meets the SLAs.
  Otherwise the subproblem is split, best-first by bound: a relaxed choice over a budget by
  :func:`orthant_partition` (every choice using at least as much at each of the budget's
  nodes breaks it too, and is dropped with it), one within every budget (the duality gap
  open) by :func:`dichotomy`: the node of the budget with the largest complementary-slackness
  term ``μ_j·(limit'_j − use_j)`` whose rows span the widest use has its rows halved at their
  median use (``SPLIT = "murty"``: the Murty / Lawler partition around the relaxed choice,
  :func:`fa2opt.edge.partition`, which removes one choice per split; the Murty split is also
  the fallback when no node's rows differ in use). Children are queued with their parent's
  bound and evaluated when popped.

**Enumeration instead of DPs** (:mod:`.leaf`). The root drops dominated rows (another row of
the node no worse in L, objective and every use; exact by monotonicity), every subproblem is
tightened by per-row bounds (a row whose objective, or use of a budget, with every other
node at its least, cannot beat the incumbent or meet the budget), and a subproblem is
*solved by enumeration* — all its choices evaluated in batches through
:func:`fa2opt.dag_batch.evaluate_fixings_loaded` (the SLA rule, same bits), depth-first over
nodes with pruning by the separable Lagrangian bound (the SLAs dropped, so no DP; its μ by
exact 1-D cutting planes), by the budgets and by the SLAs at the fastest completion — when
that finishes within a work cap: always at ≤ ``LEAF_CHOICES`` choices, else within
``LEAF_WORK`` partial choices per subproblem. At the root, after the plain DP (one DP when the
budgets do not bind): an enumeration sized to about two DPs' time (``LEAF_WORK_PER_DP_S``,
at most ``ROOT_LEAF_WORK[0]``), then each broken budget's least-use DP (infeasibility proof,
or an incumbent and a repair), then one with ``ROOT_LEAF_WORK[1]``; only then the tree.
Measured (docs/fa2.md): every shipped pipeline and the main job's generated suite with every
extension end at the root; the issue's 5-node instance (295,680 choices, 800 after
dominance) is one enumeration of 800 choices instead of 20,000 subproblems.

**Large problems** (at least :data:`.lp_search.LP_MIN_NODES` nodes, every one in a flow,
``LP_SEARCH``): after the plain DP (when its optimum breaks a budget) and dominance, the
budgets become rows of the flow bound's LP and one LP-based branch and bound
(:mod:`.lp_search`) replaces the leaf tries, the least-use DPs and the tree below; its
leaves are the enumeration leaf or, once every node carrying budget use is decided, the DP.

Exactness: the children of a split hold every choice of their parent except the relaxed
choice split on (already offered as incumbent) or choices that break a budget; rows are
dropped only when no choice holding them can meet the budgets and beat the incumbent (with
a margin over the rounding of the bound's sums) or when a dominating row remains; bounds are
valid (weak duality) and the DP and the enumeration are exact under the SLA rule, so when
the heap empties the incumbent is optimal (to the 1e-12 relative prune tolerance ``TOL``),
and no incumbent proves infeasibility (not the all-fastest test). Complexity: a DP per
cutting-plane step (a handful per budget: the envelope has few breakpoints) and per
subproblem; an enumeration O(W·(V + S + E)) for W partial choices formed (≤ its work cap);
dominance O(Σ_v K_v²·(2 + m)) once. The tree is finite (every split shrinks a node's rows)
but exponential in the worst case, as for any exact method on these NP-hard budgets
(knapsack is a special case); ``MAX_SUBPROBLEMS`` and fa2's ``time_limit`` guard it (then
``time_limit`` with the incumbent and the least open bound).
"""

from __future__ import annotations

import heapq
import math
import time
from dataclasses import dataclass, field
from typing import Callable, Mapping, Sequence, TypeVar

import numpy as np

from .. import spec
from ..deadline import DPDeadline, stop_at
from ..edge import orthant_partition, partition
from ..problem import Problem
from ..tables import NodeTable
from . import Budget, lp_search
from .leaf import (FLAT_CHOICES, BudgetArrays, Leaf, choices, tighten, undominated,
                   within_limits)

Choice = dict[str, int]
_T = TypeVar("_T")
# an exact base solver: problem → (status, choice or None, lower bound or None)
Exact = Callable[[Problem], tuple[str, "Choice | None", "float | None"]]

ASCENT_ROUNDS = 2  # passes of one-dimensional dual ascent over the budgets
MAX_ASCENT_STEPS = 40  # cutting-plane steps per budget and pass (finite: few breakpoints)
ASCEND_CHILDREN = True  # children re-ascend from their parent's multipliers
MAX_SUBPROBLEMS = 20_000
LP_SEARCH = True  # large problems: one LP-based branch and bound (.lp_search) instead
LEAF_CHOICES = 4096  # a subproblem with at most this many choices is enumerated (leaf.py)
LEAF_WORK = 50_000  # larger ones: enumeration tried first, given up past this many partial choices
ROOT_LEAF_WORK = (200_000, 1_000_000)  # ... at the root: before and after the least-use DPs
LEAF_WORK_PER_DP_S = 2e6  # the first try's work: about the time of two DPs (≈1 µs per partial)
SPLIT = "dichotomy"  # within-budget split: "dichotomy" (by use) or "murty" (one choice)
TOL = 1e-12  # relative: a bound this close to an objective counts as reaching it


def reshaped(problem: Problem, allowed: Mapping[str, np.ndarray],
             weight: Mapping[str, np.ndarray]) -> tuple[Problem, dict[str, np.ndarray], float]:
    """``problem`` with node v's table cut to positions ``allowed[v]`` and its costs replaced
    by ``weight[v]`` (per position of the full table) minus their least allowed value, rows
    re-sorted by (L, new cost). Returns (problem, position map: new position → position of
    ``problem``'s table, the constant Σ_v min to add back)."""
    tables: dict[str, NodeTable] = {}
    pos: dict[str, np.ndarray] = {}
    const = 0.0
    for v, t in problem.tables.items():
        keep = allowed[v]
        w = weight[v][keep]
        low = float(w.min()) if len(w) else 0.0
        const += low
        w = w - low
        order = np.lexsort((w, t.latency_ms[keep]))
        p = keep[order]
        rows, replicas, latency, cost = t.rows[p], t.replicas[p], t.latency_ms[p], w[order]
        tables[v] = NodeTable(v, t.rate_rps, rows, replicas, t.queue_ms[p], latency, cost,
                              (rows.tolist(), replicas.tolist(), latency.tolist(),
                               cost.tolist()))
        pos[v] = p
    return Problem(problem.instance, tables, problem.flows), pos, const


def effective_limit(b: Budget) -> float:
    """The largest use a choice within the budget can have, as far as cheaply known: with
    integral uses (units of integral replicas × integral units) every sum is an integer, so
    ``floor(limit)``; else ``limit``. Bounds subtract it rather than ``limit``: the spec's
    1e-9 tolerance would otherwise leave a gap of μ·1e-9 between the Lagrangian bound and an
    optimum that fills the budget, and the search could never prune the ties at that bound."""
    values = [x for v in b.nodes for x in b.use[v].tolist()]
    if b.limit < 2.0 ** 52 and all(float(x).is_integer() and abs(x) < 2.0 ** 52 for x in values):
        return float(math.floor(b.limit))
    return b.limit


@dataclass
class Result:
    status: str  # optimal | infeasible | time_limit
    choice: Choice | None
    bound: float | None
    stats: dict = field(default_factory=dict)


def branch_and_bound(problem: Problem, budgets: Sequence[Budget], exact: Exact,
                     allowed: Mapping[str, np.ndarray] | None = None,
                     deadline: float | None = None) -> Result:
    """The least ``problem.cost`` (the objective: reshape first) over the choices meeting
    the SLAs and every budget (uses indexed by ``problem``'s table positions), restricted to
    ``allowed`` rows; by the method of the module doc."""
    order = list(problem.tables)
    cost = {v: t.cost for v, t in problem.tables.items()}
    lists = [(b.nodes, {v: b.use[v].tolist() for v in b.nodes}, b.limit) for b in budgets]
    slack_limit = [effective_limit(b) for b in budgets]  # what bounds subtract (≤ limit)
    uses = [{v: np.asarray(b.use[v], dtype=float) for v in b.nodes} for b in budgets]
    zero = {v: np.zeros(len(t)) for v, t in problem.tables.items()}
    stats = {"bb_subproblems": 0, "bb_dp_solves": 0, "bb_leaves": 0, "bb_leaf_tries": 0}
    arrays = [BudgetArrays(b.nodes, b.use, b.limit) for b in budgets]
    leaf = Leaf(problem, arrays, slack_limit)
    best: list = [math.inf, None]  # incumbent objective, choice
    donor: list = [None]  # a choice within the budgets (the last least-use one), for repair

    def used(j: int, x: Mapping[str, int]) -> float:
        nodes, use, _ = lists[j]
        return spec.budget_sum(use[v][x[v]] for v in nodes)

    def offer(x: Choice) -> tuple[float, list[float]]:
        """The objective and the budget slacks (use − limit) of x; x becomes the incumbent
        when it meets every budget and beats it."""
        val = problem.cost(x)
        over = [used(j, x) - slack_limit[j] for j in range(len(lists))]
        if all(used(j, x) <= lists[j][2] for j in range(len(lists))) and val < best[0]:
            best[0], best[1] = val, dict(x)
        return val, over

    def relax(allow: Mapping[str, np.ndarray], weight: Mapping[str, np.ndarray]) -> Choice | None:
        """The exact optimum of ``weight`` over the subproblem (None: no choice meets the
        SLAs); raises :class:`_Stopped` when the DP did not prove its answer optimal (its time
        limit), since a bound from it would not be valid."""
        if deadline is not None and time.perf_counter() > deadline:
            # (checked per DP, not only between subproblems: a subproblem's multiplier
            # ascent makes dozens of them, 8 s past a 1 s limit on a 2,000-node DAG)
            raise _Stopped("time_limit")
        sub, pos, _ = reshaped(problem, allow, weight)
        stats["bb_dp_solves"] += 1
        status, y, _ = exact(sub)
        if status not in ("optimal", "infeasible"):
            raise _Stopped(status)
        return None if y is None else {v: int(pos[v][k]) for v, k in y.items()}

    def evaluate(allow: Mapping[str, np.ndarray], mu0: list[float], ascend: bool):
        """(bound, relaxed choice, μ) of a subproblem, or None when it is dropped. With
        ``ascend``, the multipliers are improved first (``ascend_one`` per budget)."""
        stats["bb_subproblems"] += 1
        allow = tighten(problem, arrays, allow, best[0])
        if allow is None:
            return None  # no choice meets the budgets and beats the incumbent
        for j, (nodes, use, limit) in enumerate(lists):
            if spec.budget_sum(float(uses[j][v][allow[v]].min()) for v in nodes) > limit:
                return None
        n = choices(allow, order)
        if n <= LEAF_CHOICES or LEAF_WORK:
            work = None if n <= LEAF_CHOICES else LEAF_WORK
            stats["bb_leaf_tries"] += work is not None
            mu = leaf.multipliers(allow) if n > FLAT_CHOICES else ()
            finished, x = leaf.best(allow, best[0], mu, work, deadline)
            if x is not None:
                offer(x)
            if finished:
                stats["bb_leaves"] += 1
                return None  # solved exactly by enumeration
        top: list = [-math.inf, None, list(mu0)]

        def at(mu: list[float], weight: Mapping[str, np.ndarray] | None = None):
            """The relaxed solution under ``mu`` (or the given weights): (y, objective,
            budget slacks), with the bound kept in ``top``; None: no choice meets the SLAs."""
            if weight is None:
                weight = {v: cost[v] + sum(m * uses[j].get(v, zero[v])
                                           for j, m in enumerate(mu) if m > 0) for v in order}
            y = relax(allow, weight)
            if y is None:
                return None
            val, over = offer(y)
            bound = val + sum(m * g for m, g in zip(mu, over))
            # from below: the DP minimised sums of weights whose μ·use may dwarf the
            # objective, so y is the minimiser only up to their rounding (spec.sum_slack)
            mag = abs(val) + sum(abs(float(weight[v][y[v]])) for v in order)
            mag += sum(m * (abs(g + lim) + abs(lim)) for m, g, lim in zip(mu, over, slack_limit))
            bound -= spec.sum_slack(len(order) + len(mu), mag)
            if bound > top[0]:
                top[:] = [bound, y, list(mu)]
            return y, val, over

        first = at(list(mu0))
        if first is None:
            return None  # no choice of this subproblem meets the SLAs
        _, val, over = first
        if all(g <= 0 for g in over) and val <= top[0] + TOL * max(1.0, abs(val)):
            return None  # solved: y is this subproblem's optimum (and offered as incumbent)
        if ascend:
            for _ in range(ASCENT_ROUNDS):
                for j in range(len(lists)):
                    if not ascend_one(j, at, allow, top):
                        return None
        for d in (best[1], donor[0]):  # primal heuristic: no DP, so on every subproblem
            if d is not None:
                repair(top[1], d, allow)
        if top[0] >= best[0] - TOL * max(1.0, abs(best[0])):
            return None
        return top[0], top[1], top[2], allow

    def repair(y: Choice, d: Choice, allow: Mapping[str, np.ndarray]) -> None:
        """Move ``y`` towards ``d`` (a choice within the budgets) one node at a time, each
        step the node whose switch removes the most budget excess per unit of objective,
        until every budget holds; offer the result if it meets the SLAs. At a multiplier's
        breakpoint the relaxed solution and its tie partner straddle the budget, and a mix
        of the two is often the optimum (e.g. two of three nodes on the scarce hardware)."""
        x = dict(y)
        nodes = [v for v in order if x[v] != d[v] and (allow[v] == d[v]).any()]

        def excess(c: Choice) -> float:
            return sum(max(0.0, used(j, c) - lists[j][2]) for j in range(len(lists)))

        now = excess(x)
        while now > 0 and nodes:
            cur = problem.cost(x)
            scored = []
            for v in nodes:
                trial = {**x, v: d[v]}
                gain = now - excess(trial)
                if gain > 0:
                    scored.append((max(problem.cost(trial) - cur, 1e-12) / gain, v))
            if not scored:
                return
            v = min(scored)[1]
            x[v] = d[v]
            nodes.remove(v)
            now = excess(x)
        if now == 0 and problem.meets_slas(x):
            offer(x)

    def ascend_one(j: int, at, allow: Mapping[str, np.ndarray], top: list) -> bool:
        """Maximise the Lagrangian bound over μ_j ≥ 0, the other multipliers fixed, exactly
        (Kelley's cutting planes in one dimension: each solution x is the line
        a_x + μ_j·b_x, b_x = its slack on budget j; the bound is their lower envelope).
        False when budget j cannot be met in this subproblem (even its least use breaks it)."""
        mu = list(top[2])
        y = top[1]

        def line(x: Choice, m: list[float]) -> tuple[float, float]:
            val = problem.cost(x)
            over = [used(i, x) - slack_limit[i] for i in range(len(lists))]
            return val + sum(mm * g for i, (mm, g) in enumerate(zip(m, over)) if i != j), over[j]

        a_y, b_y = line(y, mu)
        if b_y <= 0:
            return True  # budget j is not what holds this bound back
        z = relax(allow, {v: uses[j].get(v, zero[v]) for v in order})  # μ_j → ∞
        if z is None or used(j, z) > lists[j][2]:
            return False
        offer(z)
        donor[0] = z
        a_z, b_z = line(z, mu)
        for _ in range(MAX_ASCENT_STEPS):
            m_j = (a_z - a_y) / (b_y - b_z)  # where the two lines meet
            if not m_j > 0:
                return True
            mu[j] = m_j
            r = at(mu)
            if r is None:
                return True
            a_w, b_w = line(r[0], mu)
            meet = a_y + m_j * b_y
            if a_w + m_j * b_w >= meet - TOL * max(1.0, abs(meet)):
                return True  # the envelope touches the meeting point: μ_j is optimal
            if b_w > 0:
                a_y, b_y = a_w, b_w
            else:
                a_z, b_z = a_w, b_w
        return True

    full = within_limits(problem, {v: np.arange(len(t)) for v, t in problem.tables.items()}
                         if allowed is None else allowed)
    if any(len(a) == 0 for a in full.values()):
        return Result("infeasible", None, None, stats)
    use_lp = LP_SEARCH and bool(lists) and choices(full, order) > LEAF_CHOICES \
        and lp_search.applies(problem)
    blp = None  # the LP of .lp_search; on the largest problems its root comes before any DP
    if use_lp and len(order) >= lp_search.LP_FIRST_NODES:
        try:
            full = staged(deadline, lambda: undominated(problem, arrays, full))
            blp = staged(deadline, lambda: lp_search.root_lp(problem, arrays, slack_limit, full))
        except _Stopped:
            return Result("time_limit", None, None, stats)
        if blp is None:  # the root LP's dual ray proves that no choice meets SLAs and budgets
            stats["lp_farkas"] = 1
            return Result("infeasible", None, None, stats)
    try:  # the plain optimum first: when it meets every budget (often) that is all
        t0 = time.perf_counter()
        y0 = relax(full, cost)
        dp_s = time.perf_counter() - t0  # what a DP costs here: sizes the first leaf's work
    except _Stopped:
        return Result("time_limit", None, None, stats)
    if y0 is None:
        return Result("infeasible", None, None, stats)
    offer(y0)
    if best[1] is not None:
        return Result("optimal", best[1], best[0], stats)
    if blp is None and choices(full, order) > FLAT_CHOICES:  # (one batch needs no fewer rows)
        try:
            full = staged(deadline, lambda: undominated(problem, arrays, full))
        except _Stopped:
            return Result("time_limit", None, None, stats)
    if use_lp:
        try:  # large graphs: the budgets as rows of the flow bound's LP (.lp_search)
            status, lower = lp_search.lp_branch_and_bound(
                problem, arrays, slack_limit, full, best, offer,
                lambda allow: relax(allow, cost), leaf, deadline, stats,
                min(LEAF_CHOICES, lp_search.LEAF_CHOICES), blp)
        except _Stopped:
            return Result("time_limit", best[1], None, stats)
        if status == "time_limit":
            return Result("time_limit", best[1], lower, stats)
        return Result("infeasible", None, None, stats) if best[1] is None \
            else Result("optimal", best[1], best[0], stats)

    def solved_by_leaf(work: int) -> bool:
        """The root enumerated within ``work`` (True: the incumbent, or none, is final)."""
        allow = tighten(problem, arrays, full, best[0])
        if allow is None:
            return True
        stats["bb_leaf_tries"] += 1
        mu = leaf.multipliers(allow) if choices(allow, order) > FLAT_CHOICES else ()
        finished, x = leaf.best(allow, best[0], mu, work, deadline)
        if x is not None:
            offer(x)
        stats["bb_leaves"] += finished
        return finished

    def final() -> Result:
        return Result("infeasible", None, None, stats) if best[1] is None \
            else Result("optimal", best[1], best[0], stats)

    first = ROOT_LEAF_WORK[0]
    if first is not None:  # about LEAF_WORK_PER_DP_S · dp_s partial choices, at least 10,000
        first = min(first, max(10_000, int(LEAF_WORK_PER_DP_S * dp_s)))
    if solved_by_leaf(first):
        return final()
    for j in range(len(lists)):  # each broken budget's least-use choice: proof or incumbent
        if used(j, y0) > lists[j][2]:
            try:
                z = relax(full, {v: uses[j].get(v, zero[v]) for v in order})
            except _Stopped:
                return Result("time_limit", best[1], None, stats)
            if z is None or used(j, z) > lists[j][2]:
                return Result("infeasible", None, None, stats)
            offer(z)
            donor[0] = z
            repair(y0, z, full)
    if solved_by_leaf(ROOT_LEAF_WORK[1]):
        return final()

    def search_tree() -> Result:
        """Best-first over subproblems (the module doc)."""
        root = evaluate(full, [0.0] * len(lists), True)
        heap: list = [] if root is None else [(root[0], 0, root[3], root[1], root[2])]
        tick = 1
        while heap:
            bound, _, allow, y, mu = heapq.heappop(heap)
            if bound >= best[0] - TOL * max(1.0, abs(best[0])):
                heap.clear()
                break
            if stats["bb_subproblems"] >= MAX_SUBPROBLEMS or (
                    deadline is not None and time.perf_counter() > deadline):
                heapq.heappush(heap, (bound, 0, allow, y, mu))
                break
            if y is None:  # a child, queued with its parent's bound: evaluate it now (lazily,
                r = evaluate(allow, mu, ASCEND_CHILDREN)  # so children never reached cost nothing)
                if r is not None:
                    heapq.heappush(heap, (max(bound, r[0]), tick, r[3], r[1], r[2]))
                    tick += 1
                continue
            over = [j for j in range(len(lists)) if used(j, y) > lists[j][2]]
            if over:
                children = orthant_partition(allow, y, order, uses[over[0]])
            else:
                children = (SPLIT == "dichotomy" and dichotomy(allow, y, mu, uses, lists,
                                                               slack_limit)) \
                    or partition(allow, y, order)
            for child in children:
                heapq.heappush(heap, (bound, tick, child, None, mu))
                tick += 1
        if heap:  # stopped by the guard
            return Result("time_limit", best[1], min(heap[0][0], best[0]), stats)
        if best[1] is None:
            return Result("infeasible", None, None, stats)
        return Result("optimal", best[1], best[0], stats)

    try:
        return search_tree()
    except _Stopped:  # the DP stopped early (time limit): the incumbent, and no bound
        return Result("time_limit", best[1], None, stats)


def dichotomy(allowed: Mapping[str, np.ndarray], y: Mapping[str, int], mu: Sequence[float],
              uses: Sequence[Mapping[str, np.ndarray]], lists: Sequence, slack_limit: Sequence[float]
              ) -> list[dict[str, np.ndarray]] | None:
    """Split a subproblem whose relaxed choice ``y`` is within every budget but whose bound
    is below its objective (the duality gap is open): the gap is ``Σ_j μ_j·(limit'_j −
    use_j(y))``; take the budget j with the largest term, and among its nodes the one whose
    allowed rows span the widest μ_j-weighted use (ties: the most rows); its rows are cut at
    the median of their distinct uses into rows using less and rows using at least as much.
    Both children are non-empty and together hold every choice of the parent, and each has
    at most about half the parent's rows at that node, so ∏|allowed| at least roughly halves
    per level and subproblems reach the enumeration leaf after O(log(N / LEAF_CHOICES))
    levels. None when no budget has a positive term or no node has two distinct uses."""
    terms = []
    for j, (nodes, use, _) in enumerate(lists):
        gap = mu[j] * (slack_limit[j] - spec.budget_sum(use[v][y[v]] for v in nodes))
        terms.append((gap, j))
    for gap, j in sorted(terms, reverse=True):
        if not gap > 0:
            return None
        best = None
        for v in lists[j][0]:
            u = uses[j][v][allowed[v]]
            span = float(u.max() - u.min())
            if span > 0 and (best is None or (span, len(u)) > best[0]):
                best = ((span, len(u)), v, u)
        if best is None:
            continue
        _, v, u = best
        values = np.unique(u)
        cut = values[len(values) // 2]  # ≥ 1 distinct value below it, ≥ 1 at or above
        return [{**allowed, v: allowed[v][u < cut]}, {**allowed, v: allowed[v][u >= cut]}]
    return None


def staged(deadline: float | None, work: Callable[[], _T]) -> _T:
    """``work()`` with ``deadline`` (a ``time.perf_counter()`` value) in force for its
    stages and LPs (:func:`fa2opt.deadline.stop_at`: the rows' dominance pass checks it
    per block, HiGHS stops at it); :class:`_Stopped` once it has passed (an antichain of
    60,000 rows took 8 s unchecked, audit 18)."""
    if deadline is None:
        return work()
    try:
        with stop_at(deadline):
            return work()
    except DPDeadline:
        raise _Stopped("time_limit") from None


class _Stopped(Exception):
    """A DP call stopped before proving its answer (fa2's ``time_limit``)."""
