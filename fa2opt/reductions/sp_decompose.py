"""Step 2: series-parallel decomposition of each flow (with node duplication for the rest).

Input: a :class:`~fa2opt.reductions.pruning.PrunedProblem`. Output: an :class:`SPProblem`
holding, per flow, an expression tree (:mod:`fa2opt.reductions.sptree`) whose value for any
node latencies equals the flow's longest source→sink path (node latencies plus edge d_e).

Method (the classic reduction approach to two-terminal series-parallel recognition,
Valdes–Tarjan–Lawler / Bein–Kamburowski–Stallmann):

1. The node-weighted DAG becomes an edge-labelled two-terminal multigraph: node v is an
   arc ``v_in → v_out`` labelled ``Leaf(v)``; a graph edge (u, v, d) is an arc
   ``u_out → v_in`` labelled ``Delay(d)`` (no label when d = 0); a super-source s feeds every
   source, every sink feeds a super-sink t (unlabelled arcs). An unlabelled arc is the
   identity of both operations, since every latency is ≥ 0.
2. *Series reduction*: an inner vertex with one arc in (A) and one out (B) is replaced by an
   arc labelled ``Series(A, B)``. *Parallel reduction*: two arcs with the same ends merge
   into ``Parallel(A, B)`` -- done at insertion, so it is a dict lookup. A worklist holds the
   vertices whose degrees changed, so the whole recognition is O(V + E) dictionary
   operations (plus tuple flattening of long series), i.e. near-linear.
   A parallel merge drops a branch that is provably never longer than the other (same
   objects: ``Parallel(Series(B, C), B) = Series(B, C)``; an unlabelled arc vs anything),
   which removes zero-latency transitive edges and the duplicates of bridge-like graphs.
3. When neither applies, a complete bipartite join -- vertices with the same ≥ 2 successors
   (or predecessors) and the same label towards each -- gets a junction vertex (exact:
   every path keeps its length). This makes every *vertex* series-parallel graph (series
   composition = all sinks of one part to all sources of the next, as ``fa2opt.generate``
   builds them) reduce without duplication.
4. The graph is series-parallel iff this ends with the single arc s → t. Otherwise
   (*node reduction*, for non-SP flows) an inner vertex x with arcs a_i → x (A_i) and
   x → b_j (B_j) is replaced by arcs a_i → b_j labelled ``Series(A_i, B_j)``: every path
   through x keeps its length, so the expression stays exact, but the A_i (B_j) now occur
   in several places. The vertex chosen is the one duplicating the fewest node leaves,
   ties broken by the most new arcs a_i → b_j that exist already (each merges in parallel
   at once, and may let series reductions follow: in the 6-node graph of edges 0→1, 0→2,
   1→3, 2→3, 2→4, 3→5, 4→5, where every reduction copies one leaf, reducing 2 merges
   2's copy into 0 → 3 and leaves 2 the one coupling node, while the first vertex in
   order copied 0 and then 3); the duplicated nodes are the *coupling* nodes that
   :mod:`.decouple` hands to the search.
   From the first stall on, the joins (:class:`_JoinIndex`) and the vertices' duplication
   costs (a heap) are re-keyed only where arcs changed: O(changed arcs · log) per stall
   instead of a scan of every vertex's arcs (a 300-node random DAG stalls ~400 times).

The decomposition depends on the flow's graph only (not on rates, SLAs or profiles), so
:class:`SeriesParallel` caches it per graph structure (an LRU of ``CACHE_SIZE`` entries,
keyed by the flow's topological node tuple and predecessor lists). ``cache=False`` recomputes.
"""

from __future__ import annotations

import heapq
from collections import Counter, OrderedDict
from dataclasses import dataclass, field
from functools import cached_property
from typing import Mapping, Sequence

from .. import deadline
from ..problem import FlowGraph
from .base import Choice, Reduction
from .pruning import Candidates, PrunedProblem
from .sptree import Delay, Leaf, Parallel, Series, SPTree, count_leaves
from .transitive import dense, drop_dominated

CACHE_SIZE = 4096


@dataclass(frozen=True)
class SPFlow:
    """One flow as an expression: ``tree`` evaluates to its longest path.
    ``node_reductions``: node reductions that copied node leaves (0: every node occurs once
    in ``tree`` before dominance simplification, i.e. the flow is series-parallel)."""

    name: str
    budget_ms: float  # the flow's FlowGraph.budget_ms: fl(S + 1e-6), or that ± a margin
    tree: SPTree
    node_reductions: int = 0
    leaf_count: Mapping[str, int] | None = None  # leaves per node (computed when None)
    # the flow's DAG (what the flow bound of .flow_bound works on); not part of the value
    graph: FlowGraph | None = field(default=None, compare=False, repr=False)

    @property
    def is_series_parallel(self) -> bool:
        return self.node_reductions == 0

    @cached_property
    def node_leaves(self) -> Mapping[str, int]:
        """Leaves per node of ``tree``: ``leaf_count`` when given (the plan's counts, the
        same multiplicities), else counted once (:func:`.sptree.count_leaves`)."""
        return self.leaf_count if self.leaf_count is not None else count_leaves(self.tree)

    @cached_property
    def duplicated(self) -> tuple[str, ...]:
        """The nodes with several leaves in ``tree`` (structure only: computed once per
        cached flow), in leaf order."""
        return tuple(v for v, k in self.node_leaves.items() if k > 1)


@dataclass(frozen=True)
class SPProblem:
    """Candidates per node plus one :class:`SPFlow` per flow (in the problem's flow order)."""

    pruned: PrunedProblem
    flows: tuple[SPFlow, ...]

    @property
    def candidates(self) -> Mapping[str, Candidates]:
        return self.pruned.candidates


# -- label algebra (None = no label: the identity of both operations) ---------------------

def _series(a: SPTree | None, b: SPTree | None) -> SPTree | None:
    """a then b. A series keeps its delays as one Delay, its last part (their sum: the
    order of a sum does not change its value beyond rounding, which the SLA rule's margin
    covers, :mod:`fa2opt.edge`): the DPs then fold one constant per series, not one per
    edge."""
    if a is None:
        return b
    if b is None:
        return a
    pa = a.parts if type(a) is Series else (a,)
    pb = b.parts if type(b) is Series else (b,)
    da, db = pa[-1], pb[-1]
    if type(da) is Delay:
        if type(db) is Delay:
            return Series(pa[:-1] + pb[:-1] + (Delay(da.latency_ms + db.latency_ms),))
        return Series(pa[:-1] + pb + (da,))
    return Series(pa + pb)


def _series_run(labels: Sequence[SPTree | None]) -> SPTree | None:
    """``_series(…_series(_series(l0, l1), l2)…, lk)``, the same tree (the same parts, the
    same delay sums in the same order), its parts gathered in one list: O(Σ parts) where
    the left fold copies the parts so far at every step."""
    acc: SPTree | None = None
    parts: list | None = None
    for b in labels:
        if b is None:
            continue
        if acc is None:  # (the first label; parts exist only from the second on)
            acc = b
            continue
        if parts is None:
            parts = list(acc.parts) if type(acc) is Series else [acc]
        pb = b.parts if type(b) is Series else (b,)
        da, db = parts[-1], pb[-1]
        if type(da) is Delay:
            parts.pop()
            if type(db) is Delay:
                parts.extend(pb[:-1])
                parts.append(Delay(da.latency_ms + db.latency_ms))
            else:
                parts.extend(pb)
                parts.append(da)
        else:
            parts.extend(pb)
    return acc if parts is None else Series(tuple(parts))


def _is_subsequence(small: tuple, big: tuple) -> bool:
    j, n = 0, len(big)
    for x in small:
        while j < n and big[j] is not x:
            j += 1
        if j == n:
            return False
        j += 1
    return True


DOMINANCE_SCAN = 64  # parts of a parallel that _dominated compares with (a fan of 20,000
# sinks took 13 s scanning every part on every merge; 0.4 s so)


def _dominated(y: SPTree | None, x: SPTree | None) -> bool:
    """A sufficient test that y ≤ x for every choice of (non-negative) latencies. It compares
    sub-expressions by identity, which is what node reduction creates when it copies a label.
    Only an optimisation (a dominated branch dropped from a parallel changes no value), so it
    may answer False early: against a parallel it looks at its last :data:`DOMINANCE_SCAN`
    parts. (Plain loops and ``type`` tests: it runs on every parallel merge.)"""
    if y is None or y is x:
        return True
    if x is None:
        return False
    ty, tx = type(y), type(x)
    if ty is Delay and tx is Delay:
        return y.latency_ms <= x.latency_ms
    if tx is Series:
        for p in x.parts:
            if p is y:
                return True
        if ty is Series and _is_subsequence(y.parts, x.parts):
            return True
        if ty is Series and type(y.parts[-1]) is Delay:  # (a series' one delay: last)
            dx = x.parts[-1].latency_ms if type(x.parts[-1]) is Delay else 0.0
            if y.parts[-1].latency_ms <= dx and _is_subsequence(y.parts[:-1], x.parts):
                return True
    elif tx is Parallel or tx is _Fan:  # the last DOMINANCE_SCAN parts only: a wide fan
        for p in x.parts[-DOMINANCE_SCAN:]:  # merged one arc at a time scanned them all
            if _dominated(y, p):
                return True
    if ty is Parallel or ty is _Fan:
        for p in y.parts:
            if not _dominated(p, x):
                return False
        return True
    return False


def _merged(old: tuple[SPTree | None, int], label: SPTree | None, size: int
            ) -> tuple[SPTree | None, int]:
    """An arc ``old`` = (label, size) merged in parallel with a new one: the merged label and
    its size (node leaves: a dropped branch's are gone, both kept when both stay) --
    :func:`_merged_all` of the one arc."""
    return _merged_all(old, [(label, size)])


class _Fan:
    """A parallel being built by :func:`_merged_all`: its parts in a list it appends to
    (never seen outside it; :func:`_dominated` reads it as a :class:`Parallel`)."""

    __slots__ = ("parts",)

    def __init__(self, parts: list):
        self.parts = parts


def _merged_all(old: tuple[SPTree | None, int], new: list[tuple[SPTree | None, int]]
                ) -> tuple[SPTree | None, int]:
    """``old`` = (label, size) merged in parallel with each arc of ``new`` in turn: a label
    another dominates (:func:`_dominated`) is dropped with its leaves, else both are kept,
    their parts side by side. One :class:`Parallel` is made at the end, not one a merge: k
    arcs merged one at a time into a growing parallel copied its parts each time, O(k²) (a
    fan of 100,000 nodes: a minute); O(k) here."""
    label, size = old
    fan = None
    for b, sb in new:
        a = label if fan is None else fan
        if _dominated(b, a):
            continue
        if _dominated(a, b):
            label, size, fan = b, sb, None
            continue
        if fan is None:
            fan = _Fan(list(label.parts) if type(label) is Parallel else [label])
        fan.parts.extend(b.parts if type(b) is Parallel else (b,))
        size += sb
    return (label if fan is None else Parallel(tuple(fan.parts))), size


def decompose(nodes: Sequence[str], preds: Mapping[str, Sequence[tuple[str, float]]]) -> tuple[SPTree, int]:
    """:func:`_reduce` of the graph without the edges another path dominates
    (:func:`~.transitive.drop_dominated`: the same longest path, bit for bit) where that
    leaves no copies or the graph is dense (:func:`~.transitive.dense`), else of the graph
    as it is (see :mod:`.transitive` for why: measured, not proven)."""
    if not nodes:
        raise ValueError("a flow needs at least one node")
    kept = drop_dominated(nodes, preds)
    if kept is not preds:
        tree, copies = _reduce(nodes, kept)
        if copies == 0 or dense(nodes, preds):
            return tree, copies
    return _reduce(nodes, preds)


def _reduce(nodes: Sequence[str], preds: Mapping[str, Sequence[tuple[str, float]]]) -> tuple[SPTree, int]:
    """Expression tree of the longest path of a DAG given in topological order with
    ``preds[v] = ((u, d_uv), …)``; returns ``(tree, number of node reductions that copied
    leaves)``.
    Near-linear for series-parallel graphs; a stall costs O(changed arcs · log). Raises
    :class:`~fa2opt.deadline.DPDeadline` at a stall once a deadline in force has passed.

    Data: ``out[a]`` maps each successor b to the arc's ``(label, size)`` (size: its node
    leaves, what a node reduction would copy), ``inn[b]`` holds b's predecessors (as dict
    keys: insertion-ordered, O(1) delete). Until the first stall (every series-parallel
    graph) the loop below does only its series reductions, with the arc insertion inline and
    nothing tracked; the join index and the duplication-cost heap exist from the first stall
    on. A reduced vertex's own dicts are left as they were: no live arc points at it and
    nothing reads them again."""
    index = {v: i for i, v in enumerate(nodes)}
    n = 2 + 2 * len(nodes)  # 0 = s, 1 = t, 2+2i = v_in, 3+2i = v_out
    # a vertex's dicts are made with it (a v_in only for a node of several in-arcs)
    out: list[dict[int, tuple[SPTree | None, int]]] = [None] * n  # type: ignore[list-item]
    inn: list[dict[int, None]] = [None] * n  # type: ignore[list-item]
    out[0], inn[0], out[1], inn[1] = {}, {}, {}, {}

    def add(a: int, b: int, label: SPTree | None, size: int) -> None:
        """Arc a→b, merged in parallel with an existing one (after the first stall: the
        changed vertices tracked for the join index and the duplication costs)."""
        if tracking:
            dirty.add(a)
            dirty.add(b)
            touched.add(a)
            touched.add(b)
        oa = out[a]
        old = oa.get(b)
        if old is None:
            oa[b] = (label, size)
            inn[b][a] = None
            return
        oa[b] = _merged(old, label, size)

    def remove(a: int, b: int) -> tuple[SPTree | None, int]:
        dirty.add(a)  # (called after the first stall only)
        dirty.add(b)
        touched.add(a)
        touched.add(b)
        del inn[b][a]
        return out[a].pop(b)

    # A node with one in-arc (one predecessor, or a source fed by s) needs no v_in vertex:
    # its leaf goes on that arc, after the edge's delay (the series reduction of v_in,
    # done here; it halves the vertices of chains and trees). A fresh arc is inserted inline;
    # only a repeated predecessor (a parallel edge) goes through add's merge.
    tracking = False
    dirty: set[int] = set()  # (the join index's, from the first stall on: tracking)
    has_succ = [False] * len(nodes)
    alive: set[int] = set()
    work: list[int] = []  # ascending here; reversed below, so popped smallest first
    for i, v in enumerate(nodes):
        vout = 3 + 2 * i
        out[vout] = {}
        inn[vout] = {}
        p = preds[v]
        if len(p) > 1:
            vin = vout - 1
            work.append(vin)
            out[vin] = {vout: (Leaf(v), 1)}
            inn[vin] = {}
            inn[vout][vin] = None
            for u, d in p:
                j = index[u]
                uout = 3 + 2 * j
                label = Delay(float(d)) if d else None
                if vin in out[uout]:
                    add(uout, vin, label, 0)
                else:
                    out[uout][vin] = (label, 0)
                    inn[vin][uout] = None
                has_succ[j] = True
        elif p:
            u, d = p[0]
            j = index[u]
            uout = 3 + 2 * j
            out[uout][vout] = (Series((Leaf(v), Delay(float(d)))) if d else Leaf(v), 1)
            inn[vout][uout] = None
            has_succ[j] = True
        else:
            out[0][vout] = (Leaf(v), 1)
            inn[vout][0] = None
        work.append(vout)
    for i, s in enumerate(has_succ):
        if not s:
            out[3 + 2 * i][1] = (None, 0)
            inn[1][3 + 2 * i] = None
    alive.update(work)
    work.reverse()

    # Before the first stall, a series reduction whose arc a → b exists already queues its
    # label here, merged in parallel with the others when the arc is next read (flush):
    # all of a wide fan's arcs at once (_merged_all), not one at a time
    pending: dict[tuple[int, int], list[tuple[SPTree | None, int]]] = {}

    def flush(a: int, b: int) -> None:
        queued = pending.pop((a, b), None)
        if queued is not None:
            out[a][b] = _merged_all(out[a][b], queued)

    node_reductions = steps = 0
    while alive:
        while work:
            x = work.pop()
            steps += 1
            if not steps & 4095:  # (a 100,000-node graph: the method's deadline holds here too)
                deadline.check_stage()
            if x not in alive:
                continue
            ix, ox = inn[x], out[x]
            if len(ix) != 1 or len(ox) != 1:
                continue
            (a,), (b,) = ix, ox
            if pending:
                flush(a, x)
                flush(x, b)
            lb, sb = ox[b]
            la, sa = out[a].pop(x)
            del inn[b][x]
            alive.discard(x)
            if tracking:
                dirty.add(x)  # (its keys leave the join index)
                add(a, b, _series(la, lb), sa + sb)
            else:  # add(), inline: the hot loop of every series-parallel graph
                # b a series vertex too (its one in-arc was x's): the run x, b, c, … is
                # reduced at once, as the pops below would one by one (b is pushed last,
                # so popped next), its labels folded left in one list (_series_run) -- one
                # at a time, each fold copied the run's parts so far: O(n²) on a chain
                labels, size = [la, lb], sa + sb
                while not inn[b] and b in alive and len(out[b]) == 1:
                    (c,) = out[b]
                    if pending:
                        flush(b, c)
                    lc, sc = out[b][c]
                    del inn[c][b]
                    alive.discard(b)
                    labels.append(lc)
                    size += sc
                    b = c
                label = _series_run(labels)
                oa = out[a]
                old = oa.get(b)
                if old is None:
                    oa[b] = (label, size)
                    inn[b][a] = None
                else:
                    pending.setdefault((a, b), []).append((label, size))
            # a or b (or both) may be series vertices now; pushed only if so (a vertex's
            # degrees change only here or below, where it is pushed again: a stale entry
            # would be skipped when popped)
            ia, oa = inn[a], out[a]
            if len(ia) == 1 and len(oa) == 1:
                work.append(a)
            if len(inn[b]) == 1 and len(out[b]) == 1:
                work.append(b)
        for a, b in list(pending):  # (every label read below is merged)
            flush(a, b)
        if not alive:
            break
        # a non-SP graph of thousands of nodes stalls thousands of times (seconds): a
        # method's deadline in force for its stages (fa2opt.deadline.stop_at) stops it here
        deadline.check_stage()
        # Stalled. A complete bipartite join (vertices with the same out- or in-neighbours
        # and the same label towards each) gets a junction vertex: exact, no duplication.
        if not tracking:  # the first stall: every live vertex keyed, changes tracked
            tracking = True
            joins = _JoinIndex()
            dirty = joins.dirty  # the vertices whose arcs changed since the last join search
            dirty.update(alive)
            touched = set(alive)  # ... since the last node reduction's choice (their dup_cost)
            costs: dict[int, tuple[int, int, int, int]] = {}
            heap: list[tuple[int, int, int, int]] = []  # dup_cost entries; stale ones skipped
        junction = joins.find(alive, out, inn)
        if junction is not None:
            group, side = junction
            j = len(out)
            out.append({})
            inn.append({})
            alive.add(j)
            if side == "out":
                for x in group:
                    moved = [(y, remove(x, y)) for y in list(out[x])]
                    add(x, j, None, 0)
                for y, (label, size) in moved:  # the same label from every x in the group
                    add(j, y, label, size)
            else:
                for y in group:
                    moved = [(x, remove(x, y)) for x in list(inn[y])]
                    add(j, y, None, 0)
                for x, (label, size) in moved:
                    add(x, j, label, size)
            work.extend(group)
            work.extend(y for y, _ in moved)  # their arcs now meet j: maybe series now
            work.append(j)
            continue
        # Not series-parallel: reduce the vertex that duplicates the fewest leaves (its cost
        # (q−1)·leaves in + (p−1)·leaves out, then the most new arcs that merge at once
        # (_merges), then p·q, then x; kept on a heap, recomputed only for the vertices whose
        # arcs changed: a 300-node random DAG reduces ~400 times)
        for x in touched:
            if x in alive:
                ix, ox = inn[x], out[x]
                p, q = len(ix), len(ox)
                ins = sum(out[a][x][1] for a in ix)
                outs = sum(s for _, s in ox.values())
                c = costs[x] = ((q - 1) * ins + (p - 1) * outs, -_merges(ix, ox, out), p * q, x)
                heapq.heappush(heap, c)
        touched.clear()
        while True:
            c = heapq.heappop(heap)
            x = c[3]
            if x in alive and costs[x] == c:
                break
        if c[0] > 0:
            node_reductions += 1
        ins = [(a, remove(a, x)) for a in list(inn[x])]
        outs = [(b, remove(x, b)) for b in list(out[x])]
        alive.discard(x)
        for a, (la, sa) in ins:
            for b, (lb, sb) in outs:
                add(a, b, _series(la, lb), sa + sb)
        work.extend(a for a, _ in ins)
        work.extend(b for b, _ in outs)
    assert len(out[0]) == 1 and 1 in out[0], "decompose: not reduced to the single arc s → t"
    tree = out[0][1][0]
    assert tree is not None
    return tree, node_reductions


def _merges(ix: Mapping[int, None], ox: Mapping[int, object], out: list[dict]) -> int:
    """How many of the arcs a → b (a in ``ix``, b in ``ox``) that reducing their middle
    vertex would add exist already: each merges in parallel at once. O(Σ_a min(|out[a]|,
    |ox|)), at most the p·q arcs the reduction itself makes. (A count taken when the vertex's
    own arcs last changed: a tie-break, so a stale one costs no exactness.)"""
    n = 0
    for a in ix:
        oa = out[a]
        if len(oa) < len(ox):
            n += sum([b in ox for b in oa])
        else:
            n += sum([b in oa for b in ox])
    return n


def _label_key(label: SPTree | None) -> object:
    """Labels compared by value when they are plain delays, by identity otherwise."""
    if label is None:
        return 0.0
    if isinstance(label, Delay):
        return label.latency_ms or 0.0
    return ("id", id(label))


class _JoinIndex:
    """Complete bipartite joins of a decomposition: two or more vertices whose arcs go to
    the same ≥ 2 vertices with the same label per target ("out"), or come from the same
    ≥ 2 vertices ("in"). Kept up to date rather than searched afresh at every stall: per
    side each vertex's key (its neighbours with the label towards each) and the vertices
    per key; :meth:`find` re-keys only the vertices whose arcs changed since its last call
    (``dirty``, filled by the decomposition's arc updates). A stall of a large non-SP DAG
    (hundreds in a 300-node random DAG) costs O(changed arcs), not O(E log E)."""

    def __init__(self) -> None:
        self.dirty: set[int] = set()
        self.keys: tuple[dict, dict] = ({}, {})  # side -> {vertex: key}
        self.groups: tuple[dict, dict] = ({}, {})  # side -> {key: vertices}
        self.joins: tuple[set, set] = (set(), set())  # side -> keys held by ≥ 2 vertices

    def find(self, alive: set[int], out: list[dict[int, tuple]],
             inn: list[dict[int, None]]) -> tuple[list[int], str] | None:
        """A join (its vertices, ascending, and its side; the one holding the least vertex,
        "out" before "in"), or None."""
        for s, nbrs in enumerate((out, inn)):
            keys, groups, joins = self.keys[s], self.groups[s], self.joins[s]
            for x in self.dirty:
                old = keys.pop(x, None)
                if old is not None:
                    g = groups[old]
                    g.discard(x)
                    if len(g) < 2:
                        joins.discard(old)
                        if not g:
                            del groups[old]
                if x in alive and len(nbrs[x]) >= 2:
                    if s == 0:
                        arcs = out[x]
                        k = tuple(sorted([(y, _label_key(arcs[y][0])) for y in arcs]))
                    else:
                        k = tuple(sorted([(y, _label_key(out[y][x][0])) for y in nbrs[x]]))
                    keys[x] = k
                    g = groups.setdefault(k, set())
                    g.add(x)
                    if len(g) >= 2:
                        joins.add(k)
        self.dirty.clear()
        for s, side in enumerate(("out", "in")):
            if self.joins[s]:
                group = min((self.groups[s][k] for k in self.joins[s]), key=min)
                return sorted(group), side
        return None


_CACHE: "OrderedDict[tuple, tuple[SPTree, int, Counter]]" = OrderedDict()
_DERIVED: list = []  # clear() of the caches built from decompositions (fa2opt.plan's plans)


def clear_cache() -> None:
    """Forget every cached decomposition, and what was compiled from them (the plans of
    :mod:`fa2opt.plan`): benchmarks use it to time cold decisions."""
    _CACHE.clear()
    _FLOWS.clear()
    for clear in _DERIVED:
        clear()


def flow_tree(g: FlowGraph, cache: bool = True) -> tuple[SPTree, int]:
    """The decomposition of one flow's graph ``(tree, node reductions)``, from the cache
    when ``cache``."""
    return flow_decomposition(g, cache)[:2]


def flow_decomposition(g: FlowGraph, cache: bool = True) -> tuple[SPTree, int, Counter]:
    """:func:`flow_tree` plus the tree's leaves per node (cached together)."""
    if not cache:
        tree, red = decompose(g.nodes, g.preds)
        return tree, red, _leaf_count(tree, red, g.nodes)
    key = g.structure
    hit = _CACHE.get(key)
    if hit is not None:
        _CACHE.move_to_end(key)
        return hit
    tree, red = decompose(g.nodes, g.preds)
    hit = (tree, red, _leaf_count(tree, red, g.nodes))
    _CACHE[key] = hit
    if len(_CACHE) > CACHE_SIZE:
        _CACHE.popitem(last=False)
    return hit


def _leaf_count(tree: SPTree, reductions: int, nodes: Sequence[str]) -> Counter:
    """Leaves per node. A tree whose node reductions copied no leaves (``reductions`` 0)
    holds every node exactly once: each node's leaf is made once, only node reduction
    copies a label that holds one, and a parallel merge drops a branch only when it is
    None, a delay, or made of sub-expressions that occur in the other branch too (the same
    objects: a copy) -- so its counts are the nodes' (in ``nodes``' order), without a walk
    of the tree. Otherwise :func:`~.sptree.count_leaves` (each shared sub-tree once)."""
    if reductions:
        return count_leaves(tree)
    return Counter(dict.fromkeys(nodes, 1))


def leaf_counts(flows: Sequence[SPFlow]) -> Counter:
    """How many leaves each node has over all flows' trees (> 1: a coupling node)."""
    c: Counter = Counter()
    for f in flows:
        c.update(f.node_leaves)
    return c


_FLOWS: "dict[tuple, SPFlow]" = {}  # SPFlow per (name, SLA, graph structure), FIFO-bounded


def _sp_flow(g: FlowGraph, cache: bool) -> SPFlow:
    tree, reductions, counts = flow_decomposition(g, cache)
    return SPFlow(g.name, g.budget_ms, tree, reductions, counts, g)


class SeriesParallel(Reduction):
    """PrunedProblem → SPProblem (one expression tree per flow). Choices pass through
    unchanged: duplicated leaves keep their node's name, so a node's candidate index means
    the same in every copy (the search guarantees every copy gets the same one)."""

    def __init__(self, cache: bool = True):
        self.cache = cache

    def apply(self, pruned: PrunedProblem) -> tuple[SPProblem, None]:
        return SPProblem(pruned, tuple(self.flow(g) for g in pruned.flows)), None

    def flow(self, g: FlowGraph) -> SPFlow:
        """One flow's :class:`SPFlow`: from the cache unless ``cache=False``. The SPFlow
        itself is cached with the decomposition (it holds the flow's name and SLA besides,
        so they are part of the key; nothing of rates or tables)."""
        if not self.cache:
            return _sp_flow(g, False)
        key = (g.name, g.budget_ms, g.structure)
        f = _FLOWS.get(key)
        if f is None:
            f = _FLOWS[key] = _sp_flow(g, True)
            if len(_FLOWS) > CACHE_SIZE:
                _FLOWS.pop(next(iter(_FLOWS)))
        return f

    def invert(self, solution: Choice, inverse_data: None) -> dict[str, int]:
        return solution if type(solution) is dict else dict(solution)  # Chain passes a copy
