"""FA2's transformation compiled once per graph structure: a :class:`Plan`.

What a decision does to a problem splits into what depends only on the *structure* -- the
node names, each flow's nodes, edges and edge delays -- and what depends on the *data*:
rates, SLAs, profiles, hence the configuration tables. As cvxpy compiles a parametrised
problem once and re-solves it with new parameter values, :func:`compile_plan` does the
structural part once and a :class:`Plan` is reused for every rate, SLA and profile of that
structure (cached per structure key, bounded, :func:`plan_for`):

* per flow its series-parallel expression tree (:func:`~fa2opt.reductions.sp_decompose.
  flow_decomposition`: the decomposition with node reduction for non-SP flows) and its
  leaves per node;
* the coupling nodes (more than one leaf over all trees: shared by flows, or duplicated by
  the reduction -- :class:`~fa2opt.reductions.Decouple`'s definition), each flow's coupling
  nodes, the nodes in no flow;
* the *components*: flows linked by coupling nodes (the optimum adds up over them), each
  with its **strategy**:

  - ``flat sweep`` -- one flow, no coupling node, a flat tree
    (:func:`~fa2opt.reductions.sptree.flat_shape`: a chain of up to ``FLAT_CHAIN_MAX``
    (8) nodes, or at
    most one node and a fork of single nodes whose branches may carry delays): the
    arithmetic's sweep on the candidate lists when it declares one (``Arithmetic.flat``;
    the exact one is :func:`fa2opt.pareto.flat_cheapest`), else a tree DP;
  - ``tree DP`` -- one flow, no coupling node: one remainder solve of its tree;
  - ``coupling search`` -- flows linked by coupling nodes: the branch and bound
    :func:`~fa2opt.reductions.search.search` on that component (which evaluates every
    fixing on shared fronts when the coupling space is small, :mod:`~fa2opt.reductions.
    fixing`); or, when every tree of
    the component is flat with its coupling nodes fixed (they become known latencies) and
    this decision's candidates give at most :data:`ENUMERATE_MAX` (256) combinations of them,
    every combination with each flow swept (:func:`_enumerate`; the shipped shared-detector
    pipelines: one coupling node, 2-13 candidates).

:meth:`Plan.decide` runs, for a problem of the plan's structure and an arithmetic
(:mod:`fa2opt.arithmetic`): **prune** (:func:`~fa2opt.reductions.pruning.fronts`, the one
pruning scan; a node left without candidates is exactly the spec's infeasibility) →
**each component's strategy** → **invert** (candidate indices → table positions; nodes in
no flow take their cheapest candidate). These are the reductions' own steps
(``ParetoPrune``, ``SeriesParallel``, ``Decouple``, ``search`` and their inverse maps), which
stay usable alone; the plan only does their structural work once. Per decision the cost is
the pruning (O(Σ rows) plus O(V + E) per flow for the latency limits) and the strategies;
the only data-dependent ordering kept per decision is the coupling search's node order
(most leaves first, then fewest candidates). Nothing here recurses.

Where the arithmetic declares a compiled tree DP (``Arithmetic.tree``) and the compiled
kernels run, :meth:`Plan.decide` first tries that instead: one call per component on its
trees compiled once per plan (:mod:`fa2opt.tree_kernel`; a component's coupling nodes'
pruned candidates, which the kernel finds, enumerated: at most ``MAX_COMBINATIONS``
combinations) on the problem's packed tables, with no pruning pass; where it declines, the
steps above decide. There a plan of one flow is compiled from the graph alone
(:func:`~fa2opt.tree_kernel.graph_program`: the decomposition compiled, no tree built);
:meth:`Plan.complete` adds the rest when the Python path first needs it.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass
from itertools import chain, product
from typing import Callable, Mapping, Sequence

from . import tree_kernel
from .arithmetic import Arithmetic
from .deadline import check_stage
from .pareto import NOT_FLAT
from .problem import FlowGraph, Problem
from .reductions import sp_decompose
from .reductions.decouple import DecoupledProblem, linked_flows
from .reductions.pruning import Candidates, front_rows, fronts
from .reductions.search import search
from .reductions.sp_decompose import SPFlow, flow_decomposition
from .reductions.sptree import FlatShape, SPTree, flat_shape
from .solver import Decision
from .tree_kernel import TreeProgram

FLAT, TREE, SEARCH = "flat sweep", "tree DP", "coupling search"
CACHE_SIZE = 4096  # plans kept (the oldest compiled goes first)
INF = float("inf")
_NO_FIXING: dict[str, int] = {}


@dataclass(slots=True)
class Component:
    """Flows linked by coupling nodes (indices into the problem's flows), their coupling
    nodes (by name: the search orders them per decision), the strategy and the flat shape
    of each flow's tree with the coupling nodes fixed (``shapes``; None where a tree is not
    flat or a shape is not one the sweeps take): a ``flat sweep`` component's one tree, or
    a ``coupling search`` component's trees that a small coupling space enumerates."""

    flows: tuple[int, ...]
    coupling: tuple[str, ...]
    strategy: str
    shapes: tuple[FlatShape, ...] | None = None


@dataclass(slots=True)
class Plan:
    """Everything a decision needs that depends only on the structure (see the module
    docstring). ``trees[i]``, ``reductions[i]``, ``leaves[i]`` (leaves per node) and
    ``flow_coupling[i]`` belong to flow i (the problem's flow order); ``leaf_count`` merges
    the flows' leaves; ``free``: nodes in no flow. Read-only once compiled but for
    ``programs``, set on the first compiled decision (a plain dataclass: built on every
    first decision of a structure, where a frozen one's constructor costs a µs).
    A plan compiled by the kernel's reductions (:func:`compile_plan` with ``compiled``) holds
    its one program, no ``trees`` (None) and no ``reductions`` (the Python decomposition's
    counts), no ``leaves`` and no ``leaf_count`` (None) -- what only the Python path reads,
    so a read before then fails -- until a decision needs the Python path: then
    :meth:`complete` decomposes the flow."""

    nodes: tuple[str, ...]
    trees: tuple[SPTree, ...] | None
    reductions: tuple[int, ...]
    leaves: tuple[Counter, ...]
    leaf_count: Counter | None
    coupling: frozenset[str]
    flow_coupling: tuple[frozenset[str], ...]
    free: tuple[str, ...]
    components: tuple[Component, ...]
    flat: FlatShape | None = None  # the one flat sweep's shape when that is the whole plan
    # per component, its trees compiled for an arithmetic that declares a compiled tree DP
    # (fa2opt.tree_kernel), on the plan's first such decision (None until then)
    programs: list[TreeProgram] | None = None

    def decide(self, problem: Problem, arithmetic: Arithmetic,
               deadline: float | None = None, cutoff: float = INF,
               front: Mapping[str, tuple[list, list, list]] | None = None,
               budgets: tuple[float, ...] | None = None) -> Decision:
        """Prune → each component's strategy → invert, on ``problem`` (of this plan's
        structure) with ``arithmetic``. ``deadline`` (a ``time.perf_counter()`` value) stops
        the coupling search there: ``time_limit`` with the incumbent and a lower bound.
        ``cutoff``: only a decision cheaper than it is wanted; the coupling searches run last,
        the last one from ``cutoff`` less everything else (:func:`~fa2opt.reductions.search.
        search`), and status ``cutoff`` (no choice) when none is.
        A decision keeps the flows' own budgets (``FlowGraph.budget_ms``); status
        ``infeasible`` when pruning leaves a node without candidates (the all-fastest
        choice breaks an SLA), ``error`` when a strategy finds nothing (cannot happen on a
        feasible problem). ``front``: :func:`pruned`'s candidates when the caller pruned
        already. ``budgets``: the flows' budgets (in flow order) instead of their own: the
        compiled tree DP takes them as they are, the steps below on a copy of the problem with
        them (:meth:`~fa2opt.problem.Problem.with_budgets`). Extra: ``prune_ms``, ``dp_ms``,
        ``coupling_nodes``, ``search_nodes``."""
        t0 = time.perf_counter()
        if compiled_path(arithmetic):
            d = self._compiled(problem, arithmetic.tree, budgets)
            if d is not None:
                return d
        if budgets is not None:
            problem = problem.with_budgets(budgets)
        if self.trees is None:
            self.complete(problem.flows)
        if front is None:
            front = pruned(problem)
            if front is None:
                return Decision("infeasible")
            check_stage()
        t1 = time.perf_counter()
        flows = problem.flows
        if self.flat is not None and arithmetic.flat is not None:
            # one flat flow holding every node (most pipelines): the component loop below,
            # without its bookkeeping
            shape = self.flat
            r = _sweep(arithmetic.flat, shape, front, flows[0].budget_ms, _NO_FIXING)
            if r is not NOT_FLAT:
                if r is None:
                    return _nothing()
                choice = {v: front[v][2][k] for v, k in zip(shape.series, r[1])}
                if shape.fork:
                    for v, k in zip(shape.fork, r[2]):
                        choice[v] = front[v][2][k]
                return Decision("optimal", choice, extra={
                    "prune_ms": (t1 - t0) * 1e3, "dp_ms": (time.perf_counter() - t1) * 1e3,
                    "coupling_nodes": 0, "search_nodes": 1})
        choice: dict[str, int] = {}
        total = lower = 0.0
        explored = 0
        timed_out = False
        cands: dict[str, Candidates] | None = None
        searches: list[Component] = []
        for comp in self.components:
            if comp.shapes is not None and arithmetic.flat is not None:
                if comp.strategy == FLAT:
                    i = comp.flows[0]
                    r = _sweep(arithmetic.flat, comp.shapes[0], front, flows[i].budget_ms, {})
                    hits: list | None = (None if r is NOT_FLAT else []
                                         if r is None else [(comp.shapes[0], {}, r)])
                else:
                    hits = _enumerate(arithmetic.flat, comp, front, flows)
                if hits is not None:  # NOT_FLAT: the tree DP or the search decides
                    if not hits:
                        return _nothing()
                    for shape, fixed, r in hits:
                        for v, k in fixed.items():
                            choice[v] = front[v][2][k]
                        for v, k in zip(shape.series, r[1]):
                            choice[v] = front[v][2][k]
                        for v, k in zip(shape.fork, r[2]):
                            choice[v] = front[v][2][k]
                    cost = sum(r[0] for _, _, r in hits) + sum(
                        front[v][1][k] for v, k in hits[0][1].items())
                    total += cost
                    lower += cost
                    explored += 1
                    continue
            if cands is None:
                cands = {v: Candidates(v, lat, cost, pos) for v, (lat, cost, pos) in front.items()}
            if comp.strategy != SEARCH:
                i = comp.flows[0]
                r = arithmetic.remainder(self.trees[i], flows[i].budget_ms, cands, None, None)
                if r is None:
                    return _nothing()
                for v, k in r[1].items():
                    choice[v] = cands[v].positions[k]
                total += r[0]
                lower += r[0]
                explored += 1
                continue
            searches.append(comp)
        for v in self.free:  # in no flow: no latency constraint, the cheapest candidate
            choice[v] = front[v][2][-1]
            total += front[v][1][-1]
            lower += front[v][1][-1]
        judged: dict[str, int] = {}  # the searches' judged incumbents (SearchResult.judged)
        for j, comp in enumerate(searches):
            assert cands is not None
            cut = cutoff - total if j == len(searches) - 1 else INF
            res = search(self.decoupled(problem, comp, cands), arithmetic, deadline, cut)
            if res is None:
                return _nothing() if cut == INF else Decision("cutoff")
            for v, k in res.choice.items():
                choice[v] = cands[v].positions[k]
            if res.judged is not None:
                for v, k in res.judged.items():
                    judged[v] = cands[v].positions[k]
            total += res.cost
            lower += res.lower_bound if res.timed_out else res.cost
            explored += res.explored
            timed_out |= res.timed_out
        t2 = time.perf_counter()
        extra = {"prune_ms": (t1 - t0) * 1e3, "dp_ms": (t2 - t1) * 1e3,
                 "coupling_nodes": len(self.coupling), "search_nodes": explored}
        if timed_out:
            return Decision("time_limit", choice, lower_bound=min(lower, total), extra=extra)
        return Decision("optimal", choice, extra=extra,
                        incumbent={**choice, **judged} if judged else None)

    def complete(self, flows: Sequence[FlowGraph]) -> None:
        """The Python path's part of a plan compiled by the kernel's reductions: the flows'
        decompositions, their leaves and each component's strategy (:func:`compile_plan`),
        the program kept."""
        full = compile_plan(self.nodes, flows)
        for name in ("trees", "reductions", "leaves", "leaf_count", "coupling",
                     "flow_coupling", "free", "components", "flat"):
            setattr(self, name, getattr(full, name))

    def _compiled(self, problem: Problem, tree: Callable,
                  budgets: tuple[float, ...] | None = None) -> Decision | None:
        """The decision by the arithmetic's compiled tree DP (``Arithmetic.tree``) within
        ``budgets`` (default: the flows' own), one call
        per component (its flows' trees; its coupling nodes' pruned candidates enumerated),
        nodes in no flow at their cheapest row; or None where it declines: fronts too
        large, or a component with more than :data:`~fa2opt.tree_kernel.MAX_COMBINATIONS`
        combinations of its coupling nodes' candidates (then the steps below decide).
        No pruning pass runs: the kernel's leaves scan the tables under their caps, and it
        finds the coupling nodes' candidates itself."""
        t0 = time.perf_counter()
        if self.programs is None:  # each on the tables in the plan's order
            self.programs = [tree_kernel.compile_program([self.trees[i] for i in c.flows],
                                                         self.nodes, c.coupling)
                             for c in self.components]
        tables = problem.tables
        if budgets is None:
            budgets = tuple([g.budget_ms for g in problem.flows])
        packed = problem.packed_tables()
        choice: dict[str, int] = {}
        for comp, program in zip(self.components, self.programs):
            r = tree(program, packed, [budgets[i] for i in comp.flows])
            if r is tree_kernel.DECLINED:
                return None
            if r is None:  # no choice within the budgets: some node has no candidate left
                return Decision("infeasible", extra={"compiled": True})
            choice.update(r[1])
        for v in self.free:  # in no flow: its cheapest row (pruning's last candidate)
            t = tables[v].lists
            choice[v] = front_rows(t[2], t[3])[2][-1]
        return Decision("optimal", choice, extra={
            "prune_ms": 0.0, "dp_ms": (time.perf_counter() - t0) * 1e3,
            "coupling_nodes": len(self.coupling), "search_nodes": len(self.components),
            "compiled": True})

    def decoupled(self, problem: Problem, comp: Component,
                  cands: Mapping[str, Candidates]) -> DecoupledProblem:
        """A ``coupling search`` component as the search's
        :class:`~fa2opt.reductions.decouple.DecoupledProblem`: its flows with this
        decision's budgets, its coupling nodes in search order (most leaves first, then
        fewest candidates: the one per-decision ordering)."""
        counts = self.leaf_count
        order = sorted(comp.coupling, key=lambda v: (-counts[v], len(cands[v]), v))
        rank = {v: i for i, v in enumerate(order)}
        flows = problem.flows
        sp = tuple(SPFlow(flows[i].name, flows[i].budget_ms, self.trees[i], self.reductions[i],
                          self.leaves[i], flows[i]) for i in comp.flows)
        per_flow = tuple(tuple(sorted(self.flow_coupling[i], key=rank.__getitem__))
                         for i in comp.flows)
        return DecoupledProblem(cands, sp, tuple(order), per_flow, counts, ())


def compiled_path(arithmetic: Arithmetic) -> bool:
    """Whether :meth:`Plan.decide` decides by the compiled tree DP first (then with no
    pruning pass): the arithmetic declares one and its kernel runs
    (:func:`fa2opt.tree_kernel.kernel`)."""
    return arithmetic.tree is not None and tree_kernel.kernel() is not None


def pruned(problem: Problem) -> dict[str, tuple[list, list, list]] | None:
    """Each node's candidates (:func:`~fa2opt.reductions.pruning.fronts`), or None when
    pruning leaves a node without any: the all-fastest choice breaks an SLA (exactly the
    spec's test, ``Problem.is_feasible``) -- known before any plan is compiled. O(rows +
    flow edges)."""
    front = fronts(problem)
    for x in front.values():
        if not x[2]:
            return None
    return front


def _nothing() -> Decision:
    return Decision("error", message="fa2: no decision on a feasible instance")


def compile_plan(nodes: Sequence[str], flows: Sequence[FlowGraph], cache: bool = True,
                 compiled: bool = False) -> Plan:
    """The plan of a structure: the flows' decompositions (from the decompositions' own
    cache unless ``cache`` is False), coupling nodes, components (union-find over flows
    sharing a coupling node, O(Σ_f |coupling_f|)) and each component's strategy.
    O(V + E) per series-parallel flow plus the node reductions of non-SP ones.
    ``compiled`` (the compiled tree DP decides first, :func:`compiled_path`): one flow
    gets its program from the graph only (:func:`~fa2opt.tree_kernel.graph_program`; its
    coupling nodes those with several leaves), the rest when the Python path first needs it
    (:meth:`Plan.complete`)."""
    if compiled and len(flows) == 1:
        made = tree_kernel.graph_program(flows[0], nodes)
        if made is not None:
            program = made[0]
            coupling = frozenset([program.order[j] for j in program.coupling.tolist()])
            comp = Component((0,), tuple(sorted(coupling)), SEARCH if coupling else TREE)
            return Plan(tuple(nodes), None, (), (), None,
                        coupling, (coupling,), (), (comp,), None, [program])
    decs = _decompositions(flows, cache)
    if len(decs) == 1:  # one flow (most pipelines): its own counts, one component
        tree, red, counts = decs[0]
        coupling = frozenset([v for v, k in counts.items() if k > 1])
        if not coupling:  # (the loop below, without its generality: a µs of a first decision)
            free = () if len(counts) == len(nodes) else tuple(v for v in nodes if v not in counts)
            shape = flat_shape(tree)
            flat = shape is not None and _sweepable(shape)
            comp = Component((0,), (), FLAT if flat else TREE, (shape,) if flat else None)
            return Plan(tuple(nodes), (tree,), (red,), (counts,), counts, coupling, (coupling,),
                        free, (comp,), shape if flat and not free else None)
        per_flow: tuple[frozenset[str], ...] = (coupling,)
        groups = [[0]]
    else:  # (C-level counting and intersections: 3,000 flows' loops took 1.5 s)
        # a flow without node reductions has each node once: its keys are its leaves. One
        # with reductions adds its counts, never its elements: on a dense DAG they run to
        # ~1e10 copies (95 nodes at edge probability 0.7), minutes past any time limit
        counts = Counter(chain.from_iterable(c for _, red, c in decs if not red))
        for _, red, c in decs:
            if red:
                counts.update(c)
        coupling = frozenset([v for v, k in counts.items() if k > 1])
        per_flow = tuple([frozenset(c.keys() & coupling) for _, _, c in decs])
        groups = linked_flows(per_flow)
    components = []
    for idx in groups:
        cw = frozenset().union(*(per_flow[i] for i in idx))
        sweepable = _flat_shapes([decs[i][0] for i in idx], cw)
        if cw:  # enumerated when the coupling space is small (data: decided per decision)
            components.append(Component(tuple(idx), tuple(sorted(cw)), SEARCH, sweepable))
        else:  # no coupling node: a component per flow
            components.append(Component(tuple(idx), (), FLAT if sweepable else TREE, sweepable))
    free = () if len(counts) == len(nodes) else tuple(v for v in nodes if v not in counts)
    only = components[0] if len(components) == 1 and not free else None
    return Plan(tuple(nodes), tuple(d[0] for d in decs), tuple(d[1] for d in decs),
                tuple(d[2] for d in decs), counts, coupling, per_flow, free, tuple(components),
                only.shapes[0] if only is not None and only.strategy == FLAT else None)


def _flat_shapes(trees: Sequence[SPTree], fixed: frozenset[str]) -> tuple[FlatShape, ...] | None:
    """Each tree's flat shape with the nodes ``fixed`` (:func:`~fa2opt.reductions.sptree.
    flat_shape`) when every one is flat and :func:`_sweepable`, else None -- at the first
    that is not (one component of 3,000 flows' trees: the rest unread), the stage deadline
    checked before each."""
    shapes = []
    for tree in trees:
        check_stage()
        x = flat_shape(tree, fixed)
        if x is None or not _sweepable(x):
            return None
        shapes.append(x)
    return tuple(shapes)


def _decompositions(flows: Sequence[FlowGraph], cache: bool) -> list:
    """Each flow's decomposition (:func:`~fa2opt.reductions.sp_decompose.flow_decomposition`),
    the stage deadline in force checked before each (:func:`fa2opt.deadline.check_stage`:
    3,000 flows' decompositions took 3 s past a 0.5 s limit)."""
    out = []
    for g in flows:
        check_stage()
        out.append(flow_decomposition(g, cache))
    return out


FLAT_CHAIN_MAX = 8  # longer flat chains take the tree DP (the sweep's steps grow as a product)


def _sweepable(shape: FlatShape) -> bool:
    """The flat shapes the sweeps take: a chain of at most ``FLAT_CHAIN_MAX`` nodes, or at
    most one node and a fork (the sweep may still decline one by its data: then the tree
    DP decides)."""
    return len(shape.series) <= 1 if shape.fork else len(shape.series) <= FLAT_CHAIN_MAX


ENUMERATE_MAX = 256  # a coupling search component with at most this many combinations of
# its coupling nodes' candidates, every tree flat with them fixed, is enumerated (each flow a
# sweep per combination) instead of searched: 0.07-0.45x the search's time up to 256
# combinations on 46 small shared instances (measured in docs/fa2.md)


def _sweep(flat, shape: FlatShape, front: Mapping, budget: float, fixed: Mapping[str, int],
           lists: tuple[list, list] | None = None):
    """The arithmetic's flat sweep of one flow: its budget less the series' fixed terms (in
    order), each fork branch's fixed terms as its offset; fixed nodes at candidate
    ``fixed[v]``; ``lists``: the series and fork nodes' candidate lists when the caller has
    them. (cost, series indices, fork indices), None or NOT_FLAT."""
    for d in shape.delays:
        budget -= d if type(d) is float else front[d][0][fixed[d]]
    offsets = None
    if shape.fork and any(shape.fork_delays):
        offsets = []
        for terms in shape.fork_delays:
            off = 0.0
            for d in terms:
                off += d if type(d) is float else front[d][0][fixed[d]]
            offsets.append(off)
    if lists is None:
        lists = [front[v] for v in shape.series], [front[v] for v in shape.fork]
    return flat(lists[0], lists[1], budget, offsets)


def _enumerate(flat, comp: Component, front: Mapping, flows: Sequence[FlowGraph]) -> list | None:
    """A coupling search component decided by enumeration when its coupling space is at most
    :data:`ENUMERATE_MAX` combinations: for each, Σ_w c_w + Σ_f (flow f swept with the
    coupling nodes fixed), the least kept (ties: the first; combinations in lexicographic
    order of the candidates, cheapest first). A combination is dropped as soon as its
    partial sum plus the rest's floor (each remaining flow's nodes at their cheapest
    candidates) reaches the best. Exact: every combination is evaluated by an exact sweep
    or cut by that valid bound. Returns ``[(shape, fixing, sweep result)]``
    per flow ([] when nothing fits), or None for the search (space too large, or a sweep
    declined)."""
    ws = comp.coupling
    sizes = [len(front[w][0]) for w in ws]
    space = 1
    for k in sizes:
        space *= k
    if space > ENUMERATE_MAX:
        return None
    parts = [(shape, flows[i].budget_ms,
              ([front[v] for v in shape.series], [front[v] for v in shape.fork]))
             for i, shape in zip(comp.flows, comp.shapes)]  # the same lists for every fixing
    # floor[j]: Σ over parts j.. of their nodes' cheapest costs (no fixing makes a flow
    # cheaper), summed from the last part (a sum, never a difference of sums)
    floor = [0.0] * (len(parts) + 1)
    for j in range(len(parts) - 1, -1, -1):
        lists = parts[j][2]
        floor[j] = floor[j + 1] + sum(x[1][-1] for x in lists[0]) + sum(x[1][-1] for x in lists[1])
    best, pick = INF, None
    # cheapest candidates first (each list runs fastest to cheapest): with the floors, a
    # loose budget settles at the first combinations and cuts the rest
    for combo in product(*[range(k - 1, -1, -1) for k in sizes]):
        fixed = dict(zip(ws, combo))
        total = 0.0
        for w, k in fixed.items():
            total += front[w][1][k]
        if total + floor[0] >= best:
            continue
        hits = []
        for j, (shape, budget, lists) in enumerate(parts):
            r = _sweep(flat, shape, front, budget, fixed, lists)
            if r is NOT_FLAT:
                return None
            if r is None:
                total = INF
                break
            total += r[0]
            if total + floor[j + 1] >= best:
                total = INF  # (the other parts cannot bring it below the best)
                break
            hits.append((shape, fixed, r))
        if total < best:
            best, pick = total, hits
    return pick or []


_PLANS: "dict[tuple, Plan]" = {}


def plan_for(problem: Problem, cache: bool = True, compiled: bool = False) -> Plan:
    """The plan of ``problem``'s structure: from the cache (the last ``CACHE_SIZE`` plans
    compiled, keyed by :meth:`Problem.structure_key`) unless ``cache`` is False (then
    compiled afresh, decompositions too). ``compiled``: :func:`compile_plan`'s."""
    if not cache:
        return compile_plan(tuple(problem.tables), problem.flows, False, compiled)
    key = problem.structure_key()
    plan = _PLANS.get(key)
    if plan is None:
        plan = _PLANS[key] = compile_plan(key[0], problem.flows, True, compiled)
        if len(_PLANS) > CACHE_SIZE:  # oldest first (a dict keeps insertion order)
            del _PLANS[next(iter(_PLANS))]
    return plan


sp_decompose._DERIVED.append(_PLANS.clear)  # clear_cache() forgets the plans too
