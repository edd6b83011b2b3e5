"""Exact at the SLA's edge: a float DP made to decide by the spec's one SLA rule.

A DP over (latency, cost) fronts adds a flow's latencies grouped as its decomposition
dictates (series-parallel fronts, budgets lowered by delays), while the spec's rule
(:mod:`fa2opt.spec`) adds them left to right along each path. The two may differ in the
last bits, so a decision the DP accepts can break the rule by an ulp, and one the rule
accepts can be cut by the DP. This module wraps any such DP (``decide``: a problem → a
choice) so that its answer is the optimum *under the rule*:

1. **relaxation**: decide with every budget widened by δ_f = :func:`fa2opt.spec.fp_margin_ms`
   (≥ the largest difference between the DP's and the rule's sums). Every choice the rule
   accepts is within the widened budget, so the result x⁻ costs at most the optimum; if x⁻
   meets the rule it is optimal. This is the only step taken on all but edge instances,
   and on many of those too: the flow-bound coupling search judges its leaves by the rule
   and cuts off its no-goods (:mod:`fa2opt.reductions.flow_bound`, "The SLA rule at the
   leaves"), so its x⁻ meets the rule unless it stopped judging.
   No x⁻ at all proves infeasibility. Otherwise:
2. infeasible ⇔ the all-fastest choice breaks the rule (float addition and max are
   monotone, so it is the least latency of every flow). With several flows this test comes
   first, before step 1: their coupling search sets up its LP and compiled programs before
   it finds that nothing meets the rule (many-flows 6x5x20 one ulp below an all-fastest
   optimum: 2.2 ms, the MILP's same test 0.12 ms), where one flow's DP finds it out in its
   kernel at no extra cost;
3. **restriction**: decide with budgets narrowed by δ_f. Everything the DP accepts then
   meets the rule, so the result x⁺ is feasible and an upper bound; equal cost → x⁺.
   This solve only brings an incumbent, and it can cost far more than the relaxed one: the
   narrowed budgets cut the relaxed optimum and every choice within a few ulps of the edge,
   while the search's bounds cannot tell ulps apart (a 60-node vertex series-parallel
   draw at 2 ulps below its edge: the relaxed solve 0.1 s, the narrowed one past 60 s, with
   54,000 search nodes in its first 30 s). So it stops at :data:`RESTRICTION_FACTOR` times what the relaxed
   solve took (at least :data:`RESTRICTION_MIN_S`; ski rental: at most that factor more than
   the enumeration would have cost without it) and keeps the incumbent it has, which meets
   the rule all the same; the enumeration below does not need it to be optimal (that draw:
   1.5 s, optimal);
4. otherwise enumerate in the manner of Murty / Lawler (k-best solutions, "An algorithm for
   ranking all the assignments in order of increasing cost", Oper. Res. 1968): best-first
   over subproblems that restrict nodes' rows, bounded by the relaxed DP; a popped
   subproblem whose relaxed optimum x meets the rule is optimal. One that does not breaks
   some flow's SLA along a critical path P (:func:`fa2opt.spec.critical_path`), and so does
   every choice at least as slow as x at each node of P (float addition and max are
   monotone, so P's sum along it can only grow): a *no-good orthant*. The subproblem is
   split into at most |P| children that exclude exactly those choices
   (:func:`orthant_partition`: P_i strictly faster than x_i with P_1..P_{i-1} at least as
   slow as x; nodes off P stay free; a child with no row left is skipped). Only choices
   within δ of a budget are ever split, subproblems whose bound reaches x⁺'s cost are
   dropped, and each split removes every completion of P's orthant (not one choice, as a
   split over all |V| nodes would: a 30-node DAG whose optimum sat at the edge took 2,336
   DP solves that way; nor only the completions of x's rows on P, :func:`partition`: the
   six slowest edge draws of ``experiments/stress.yaml`` took 15-37 solves that way and
   8-25 with the orthant), so this ends after a few solves. A child is decided with the
   incumbent's cost as a *cutoff* (``Decide``'s second argument): its search starts from
   that value, so it only explores what could beat it and answers no choice when nothing
   does (a 50-node random DAG: 27 solves took 35 s without, 0.24 s with; the MILP 0.27 s),
   and a child that its parent's root multipliers already settle ends there
   (:meth:`fa2opt.reductions.flow_bound.LPSearch.settled_at_root`).

Cost: one DP plus one O(V + E) check per flow on ordinary instances (two with several flows:
the all-fastest test first).
"""

from __future__ import annotations

import heapq
import time
from typing import Callable, Mapping, Protocol

import numpy as np

from . import spec
from .problem import FlowGraph, Problem
from .tables import NodeTable

Choice = dict[str, int]
INF = float("inf")


class Decide(Protocol):
    """A DP on a problem and a cutoff → (status, choice or None, lower bound or None); status
    "optimal" or "time_limit" (then the choice is its incumbent). With a finite cutoff only
    a choice cheaper than it is wanted: the DP may answer no choice when it proves none is.
    ``stop`` (a ``time.perf_counter()`` value, or None) stops that one DP there, as its time
    limit would: ``time_limit`` with its incumbent. ``budgets``: the flows' budgets to decide
    with, in flow order, instead of their own (``FlowGraph.budget_ms``): the widened and
    narrowed budgets of :func:`decide_exact`, given without a copy of the problem (a DP that
    needs one makes it, :meth:`~fa2opt.problem.Problem.with_budgets`)."""

    def __call__(self, problem: Problem, cutoff: float, stop: float | None = None,
                 budgets: tuple[float, ...] | None = None
                 ) -> tuple[str, Choice | None, float | None]: ...


RESTRICTION_FACTOR = 2.0  # the restriction's cap: this many times the relaxed solve's time ...
RESTRICTION_MIN_S = 0.05  # ... and at least this (s): fast instances never reach it

MAX_SUBPROBLEMS = 10_000  # enumeration guard (never approached: see the module doc)


def margin_ms(g: FlowGraph) -> float:
    """δ_f of a flow: terms = its nodes plus edges."""
    return spec.fp_margin_ms(spec.budget_ms(g.sla_ms), g.terms)


def margin_budgets(problem: Problem, sign: int) -> tuple[float, ...]:
    """Every flow's budget widened (+1) or narrowed (−1) by its δ_f, in flow order."""
    return tuple([spec.budget_ms(g.sla_ms) + sign * margin_ms(g) for g in problem.flows])


def with_margin(problem: Problem, sign: int) -> Problem:
    """The problem with :func:`margin_budgets` as its flows' budgets."""
    return problem.with_budgets(margin_budgets(problem, sign))


def subset(table: NodeTable, keep: np.ndarray) -> NodeTable:
    """The table restricted to positions ``keep`` (ascending: the order, hence position 0 =
    fastest, is kept)."""
    rows, replicas = table.rows[keep], table.replicas[keep]
    latency, cost = table.latency_ms[keep], table.cost[keep]
    return NodeTable(table.node, table.rate_rps, rows, replicas, table.queue_ms[keep],
                     latency, cost, (rows.tolist(), replicas.tolist(), latency.tolist(),
                                     cost.tolist()))


def restricted(problem: Problem, allowed: Mapping[str, np.ndarray]) -> Problem:
    """The problem with node v's table cut to positions ``allowed[v]`` (others whole)."""
    tables = {v: subset(t, allowed[v]) if v in allowed else t for v, t in problem.tables.items()}
    return Problem(problem.instance, tables, problem.flows)


def partition(allowed: Mapping[str, np.ndarray], x: Mapping[str, int], order: list[str]):
    """The Murty / Lawler partition of a subproblem (node → allowed table positions) minus
    the one choice ``x`` in it: child i fixes the nodes before i to x and excludes x_i at
    node i (children with no row left are skipped). The children are disjoint and together
    hold every choice of the subproblem except x. The extensions' branch and bound
    (:mod:`fa2opt.extensions.search`, ``SPLIT = "murty"``) splits with it."""
    for i, v in enumerate(order):
        child = dict(allowed)
        for w in order[:i]:
            child[w] = np.array([x[w]])
        child[v] = allowed[v][allowed[v] != x[v]]
        if len(child[v]):
            yield child


def orthant_partition(allowed: Mapping[str, np.ndarray], x: Mapping[str, int], order: list[str],
                      use: Mapping[str, np.ndarray]):
    """The subproblem (node → allowed table positions) minus every choice that uses at
    least as much as ``x`` at each node of ``order`` (``use[v]``: a value per table position).
    When x breaks a limit on a sum or longest path that only grows with each node's use
    (a budget; the SLA rule, by float addition and max being monotone), they all break it:
    a no-good orthant. Child i keeps the nodes before i at uses ≥ x's and node i at uses
    < x's (children with no row left are skipped); the children are disjoint and hold every
    other choice. Splitting off the orthant rather than x alone (:func:`partition`) removes
    many more choices per split. Shared by :func:`decide_exact` and the extensions' branch
    and bound (:mod:`fa2opt.extensions.search`)."""
    rest = dict(allowed)
    for v in order:
        if v not in use:
            continue
        a, u = rest[v], use[v]
        low = a[u[a] < u[x[v]]]
        if len(low):
            yield {**rest, v: low}
        rest[v] = a[u[a] >= u[x[v]]]


def violated_path(problem: Problem, x: Choice) -> list[str]:
    """The shortest of the critical paths (:func:`fa2opt.spec.critical_path`) of the flows
    that choice ``x`` breaks: every choice at least as slow as x at each of its nodes breaks
    that flow too."""
    lat = problem.latencies(x)
    paths = [spec.critical_path(g.nodes, g.preds, lat) for g in problem.flows
             if not g.meets_sla(lat)]
    return min(paths, key=len)


def decide_exact(problem: Problem, decide: Decide, flow_latency: dict[str, float] | None = None,
                 held: list[Choice] | None = None
                 ) -> tuple[str, Choice | None, float | None, int]:
    """The optimum of ``problem`` under the spec's SLA rule, by the steps of the module doc.
    Returns (status, choice, lower_bound, DP solves); status ``optimal``, ``infeasible`` or
    ``time_limit`` (choice: an incumbent that meets the rule, or None). ``flow_latency``: a
    dict that receives the returned choice's flow latencies when the rule's check of the
    first solve accepted it (:meth:`~fa2opt.problem.Problem.sla_latencies`: the answer then
    reuses them); left empty on every other return. ``held``: a list into which ``decide``
    puts, on the relaxed solve, other choices it met that may meet the rule (a judged
    search's incumbent when it stopped judging: :attr:`fa2opt.solver.Decision.incumbent`),
    read once that solve returns; where the relaxed solve's
    answer breaks the rule, the cheapest of them that meets it is step 3's incumbent, and
    the narrowed solve is not run (many-flows 8x6x30 #284214229 one ulp below its edge: the
    relaxed solve 0.32 s, the narrowed one 0.33 s, for the incumbent the relaxed one's
    judged search had found)."""
    started = time.perf_counter()
    several = len(problem.flows) > 1
    if several and not problem.is_feasible():  # (step 2 first: see the module doc)
        return "infeasible", None, None, 0
    wide = margin_budgets(problem, +1)
    status, x, lb = decide(problem, INF, budgets=wide)
    if x is not None:
        met = problem.sla_latencies(x)
        if met is not None:
            if flow_latency is not None:
                flow_latency.update(met)
            return status, x, lb, 1
    if not several and not problem.is_feasible():
        return "infeasible", None, None, 1
    if status != "optimal" or x is None:  # stopped early: keep the bound, drop an incumbent
        return status if status != "optimal" else "error", None, lb, 1  # the rule rejects
    ruled = [y for y in held or () if problem.meets_slas(y)]
    if ruled:
        best, solves = min(ruled, key=problem.cost), 1
    else:
        now = time.perf_counter()
        cap = now + max(RESTRICTION_MIN_S, RESTRICTION_FACTOR * (now - started))
        # stopped (at the cap or the time limit) it still hands on an incumbent that meets
        # the rule; at the time limit the enumeration's first child then stops at once
        _, best, _ = decide(problem, INF, stop=cap, budgets=margin_budgets(problem, -1))
        if best is not None and not problem.meets_slas(best):  # (a DP true to its margin:
            best = None  # never)
        solves = 2
    best_cost = problem.cost(best) if best is not None else float("inf")
    bound = problem.cost(x)
    if best is not None and best_cost <= bound:  # proven: x's cost bounds every choice
        return "optimal", best, bound, solves
    # best-first enumeration; a subproblem: per node the allowed table positions
    full = {v: np.arange(len(t)) for v, t in problem.tables.items()}
    latency = {v: t.latency_ms for v, t in problem.tables.items()}

    def solve(child: dict[str, np.ndarray], cutoff: float):
        s, y, _ = decide(restricted(problem, child), cutoff, budgets=wide)
        if y is None:
            return s, None, INF
        y = {w: int(child[w][k]) for w, k in y.items()}  # back to the full tables
        return s, y, problem.cost(y)

    status, best, bound, n = enumerate_orthants(full, x, bound, best, best_cost, solve,
                                                problem.meets_slas,
                                                lambda y: violated_path(problem, y), latency)
    return status, best, bound, solves + n


def enumerate_orthants(full: dict[str, np.ndarray], x: Choice, bound: float,
                       best: Choice | None, best_cost: float,
                       solve: Callable[[dict[str, np.ndarray], float],
                                       tuple[str, Choice | None, float]],
                       meets: Callable[[Choice], bool], path: Callable[[Choice], list[str]],
                       latency: Mapping[str, np.ndarray]
                       ) -> tuple[str, Choice | None, float | None, int]:
    """Step 4 of the module doc on any space: node → allowed positions, ``full`` the whole
    space, whose relaxed optimum x, of cost ``bound``, breaks the rule. Best first, each
    popped subproblem whose relaxed optimum breaks the rule split by :func:`orthant_partition`
    along ``path(x)``, the nodes on which its no-good lies. ``solve(child, cutoff)`` →
    (status, the child's relaxed optimum in full positions or None, its cost); ``meets(y)``:
    whether y meets the rule; ``latency[v]``: v's latency per position (nodes without one
    are fixed: the split passes them by). ``best``/``best_cost``: an incumbent meeting the
    rule, or None/inf. Returns (status, choice, lower bound, solves): ``optimal``;
    ``time_limit`` when a solve stops or the enumeration passes :data:`MAX_SUBPROBLEMS`;
    ``error`` when the space holds no choice meeting the rule (the callers know one).
    Used by :func:`decide_exact` on a problem and by the coupling search on one flow's
    remainder (:meth:`fa2opt.reductions.search._Exact.rule`)."""
    heap: list[tuple[float, int, dict[str, np.ndarray], Choice]] = [(bound, 0, full, x)]
    solves = tick = 0
    while heap and solves < MAX_SUBPROBLEMS:
        bound, _, allowed, x = heapq.heappop(heap)
        if bound >= best_cost:
            return "optimal", best, best_cost, solves
        if meets(x):
            return "optimal", x, bound, solves
        for child in orthant_partition(allowed, x, path(x), latency):
            s, y, c = solve(child, best_cost)  # only what beats the incumbent matters
            solves += 1
            if s != "optimal":
                # stopped at the deadline, with or without a choice: nothing is proven of
                # this child; every choice left is in the popped subproblem (its relaxed
                # optimum ``bound`` bounds its children) or in the heap (keys ≥ bound)
                return "time_limit", best, min(bound, best_cost), solves
            if y is None or not c < best_cost:
                continue
            if meets(y):
                best, best_cost = y, c
            else:
                tick += 1
                heapq.heappush(heap, (c, tick, child, y))
    if heap:  # past the guard: what is left is in the heap, at keys ≥ bound
        return "time_limit", best, min(bound, best_cost), solves
    if best is None:
        return "error", None, None, solves
    return "optimal", best, best_cost, solves
