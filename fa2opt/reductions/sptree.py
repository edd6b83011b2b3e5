"""Series-parallel expressions of a flow's latency: the common data both DPs work on.

A flow's end-to-end latency is the longest source→sink path. When the flow's graph is
series-parallel it equals the value of an expression tree:

    Leaf(v)          node v's latency L_v
    Delay(d)         a fixed latency (an edge's d_e, or a node whose configuration is fixed)
    Series(a, b, …)  a + b + …   (one after the other)
    Parallel(a, b, …) max(a, b, …) (branches that must all finish)

For a graph that is not series-parallel the reduction duplicates some nodes (a node may
then appear in several leaves); such nodes, like nodes shared by several flows, are the
*coupling* nodes whose configuration must be the same everywhere. Fixing them turns
their leaves into ``Delay``s and leaves independent series-parallel problems
(Demeulemeester, Herroelen & Elmaghraby; Bein, Kamburowski & Stallmann).

The exact Pareto DP (``fa2opt.fa2``) and the grid DP / GPU kernel (``fa2opt.grid``)
evaluate the same trees with different curve arithmetic.

A tree nests as deep as its graph (a graph nested 1,000 levels deep gives 2,000 levels),
so nothing here recurses: traversals use an explicit stack (:func:`reduce_tree`,
:func:`leaves`), and recursive DPs elsewhere run their recursion as generators on
:func:`trampoline` -- same code, same order of operations, Python's stack left alone.
"""

from __future__ import annotations

import operator
from collections import Counter
from dataclasses import dataclass, fields
from typing import Any, Callable, Collection, Generator, Iterator, Mapping, NamedTuple, Union

from ..deadline import check_stage


@dataclass(frozen=True)
class Leaf:
    node: str


@dataclass(frozen=True)
class Delay:
    latency_ms: float


@dataclass(frozen=True)
class Series:
    parts: tuple["SPTree", ...]


@dataclass(frozen=True)
class Parallel:
    parts: tuple["SPTree", ...]


SPTree = Union[Leaf, Delay, Series, Parallel]


def leaves(tree: SPTree) -> Iterator[str]:
    """Node names of the leaves, left to right (a duplicated node appears more than once).
    An explicit stack, not recursion: trees nest as deep as the graph (thousands of levels)."""
    stack = [tree]
    while stack:
        t = stack.pop()
        tp = type(t)
        if tp is Leaf:
            yield t.node
        elif tp is Series or tp is Parallel:
            stack.extend(reversed(t.parts))


def count_leaves(tree: SPTree) -> Counter:
    """How many leaves each node has, counted as :func:`leaves` yields them (a sub-expression
    shared by several places counts at each), without unfolding: node reduction's trees share
    sub-expressions (a 300-node random DAG's tree has ~200,000 leaves but a few thousand
    distinct sub-trees). Each distinct sub-tree (by identity) is visited once
    (:func:`postorder`), its multiplicity passed from parents to parts in reverse post-order
    (a topological order). O(distinct sub-trees and their parts). (The counts are summed in
    a plain dict, whose order the Counter keeps: a Counter's own ``+=`` costs a
    Python-level call per leaf.)"""
    mult = {id(tree): 1}
    counts: dict[str, int] = {}
    for t in reversed(postorder(tree)):  # every parent before its parts
        m = mult[id(t)]
        tp = type(t)
        if tp is Leaf:
            counts[t.node] = counts.get(t.node, 0) + m
        elif tp is Series or tp is Parallel:
            for p in t.parts:
                i = id(p)
                mult[i] = mult.get(i, 0) + m
    return Counter(counts)


def postorder(tree: SPTree) -> list[SPTree]:
    """Each distinct sub-expression of ``tree`` (by identity: node reduction's copies share
    them) once, after its parts -- the order the folds below evaluate in. Explicit stack;
    O(distinct sub-expressions and their parts)."""
    order: list[SPTree] = []
    seen: set[int] = set()
    stack: list = [tree]
    while stack:
        t = stack.pop()
        tp = type(t)
        if tp is tuple:
            order.append(t[0])
            continue
        i = id(t)
        if i in seen:
            continue
        seen.add(i)
        if tp is Series or tp is Parallel:
            stack.append((t,))
            stack.extend([p for p in reversed(t.parts) if id(p) not in seen])
        else:
            order.append(t)
    return order


def reduce_tree(tree: SPTree, leaf: Callable[[Leaf], Any], delay: Callable[[Delay], Any],
                compose: Callable[[SPTree, list], Any]) -> Any:
    """Bottom-up evaluation without recursion: ``leaf(t)``/``delay(t)`` for every leaf and
    delay occurrence, left to right, and ``compose(t, values)`` for every Series/Parallel
    occurrence once its parts' values (in order) are known -- the calls a recursive
    post-order makes, in the same order, on an explicit stack (depth grows with the graph).
    A sub-expression shared by several places is evaluated at each place."""
    values: list = []
    stack: list = [tree]
    while stack:
        t = stack.pop()
        tp = type(t)
        if tp is Leaf:
            values.append(leaf(t))
        elif tp is Delay:
            values.append(delay(t))
        elif tp is tuple:  # (composite,): its parts' values are the last ones
            t = t[0]
            k = len(values) - len(t.parts)
            vals = values[k:]
            del values[k:]
            values.append(compose(t, vals))
        else:
            stack.append((t,))
            stack.extend(reversed(t.parts))
    return values[0]


def evaluate(tree: SPTree, latency: Mapping[str, float]) -> float:
    """The expression's value for given node latencies (the flow's longest path): ``sum``
    of a series' parts (left to right), ``max`` of a parallel's."""
    return reduce_tree(tree, lambda t: latency[t.node], lambda t: t.latency_ms,
                       lambda t, vals: sum(vals) if type(t) is Series else max(vals))


def substitute(tree: SPTree, fixed: Mapping[str, float]) -> SPTree:
    """Replace the leaves of fixed nodes by Delays of their latency."""
    return reduce_tree(tree, lambda t: Delay(fixed[t.node]) if t.node in fixed else t,
                       lambda t: t, lambda t, vals: type(t)(tuple(vals)))


def fold_constants(tree: SPTree, leaf: Callable[[SPTree], SPTree], const: type,
                   series_total: Callable[[list], Any] = sum) -> SPTree:
    """``tree`` with each leaf-like part (a :class:`Leaf`, a :class:`Delay`, or any other
    non-composite part) replaced by ``leaf(part)`` and the constant parts (of type
    ``const``, one field) folded away: a series' constants into one ``const(series_total(
    values))`` (left out when it is 0 beside free parts), a parallel's into their maximum, a
    part without free leaves into one constant. Sub-expressions shared by several places
    (node reduction's copies) are folded once (memoised by identity; the result shares them
    too). Without recursion; O(distinct sub-expressions). The one skeleton of
    :func:`leaf_fixer` (constants in ms, compiled) and the grid's ``fix_steps`` (in whole
    steps)."""
    value = operator.attrgetter(fields(const)[0].name)
    memo: dict[int, SPTree] = {}
    for t in postorder(tree):
        if type(t) is Series or type(t) is Parallel:
            parts = [memo[id(p)] for p in t.parts]
            memo[id(t)] = _fold_step(type(t) is Series, [value(p) for p in parts if type(p) is const],
                                     [p for p in parts if type(p) is not const], const, series_total)
        else:
            memo[id(t)] = leaf(t)
    return memo[id(tree)]


def leaf_fixer(tree: SPTree, fixed: Collection[str]) -> Callable[[Mapping[str, float]], SPTree]:
    """``leaf_fixer(tree, fixed)(latency)``: ``tree`` with the leaves of the ``fixed`` nodes
    replaced by their ``latency`` and folded away -- a series' delays summed into one, a
    parallel's into their maximum, a part without free leaves into one Delay: the same value
    for every choice of the other leaves, with only those leaves left (what a remainder DP
    needs when most nodes are fixed). It is :func:`fold_constants` with those leaves as
    Delays (the same tree, the same bits, the same sharing), compiled for one set of
    ``fixed`` nodes. What does not depend on the fixed
    latencies is found once: which sub-expressions fold to a constant, the folded form of
    those without a fixed leaf, and the order of every sum and maximum; a call then runs a
    flat program over the sub-expressions that hold a fixed leaf (a constant per part
    without free leaves, a composite rebuilt per part with both). For the coupling search,
    whose fixed set is the same at every fixing it values (:class:`.search._Exact`).
    O(distinct sub-expressions) to compile, O(those with a fixed leaf) per call."""
    fixed = frozenset(fixed)
    # vals: a float for a part that folds to a constant, else its folded tree; static
    # entries are filled here, the others by the program's steps (index, op, a, b)
    vals: list = []
    steps: list[tuple] = []
    # per distinct sub-expression: (index into vals, constant?, depends on a fixed latency?)
    info: dict[int, tuple[int, bool, bool]] = {}

    def slot(value: Any) -> int:
        vals.append(value)
        return len(vals) - 1

    for t in postorder(tree):
        if type(t) is Series or type(t) is Parallel:
            parts = [info[id(p)] for p in t.parts]
            consts = [i for i, c, _ in parts if c]
            rest = [i for i, c, _ in parts if not c]
            series = type(t) is Series
            if not any(d for _, _, d in parts):  # no fixed leaf below: folded once, here
                v = _fold_step(series, [vals[i] for i in consts], [vals[i] for i in rest])
                info[id(t)] = (slot(v.latency_ms if type(v) is Delay else v), type(v) is Delay, False)
            elif not rest:  # a constant: the parts' sum or maximum
                i = slot(None)
                steps.append((i, sum if series else max, consts, None))
                info[id(t)] = (i, True, True)
            else:  # free parts beside constants: rebuilt per call
                i = slot(None)
                steps.append((i, series, consts, rest))
                info[id(t)] = (i, False, True)
        elif type(t) is Leaf and t.node in fixed:
            i = slot(None)
            steps.append((i, None, t.node, None))
            info[id(t)] = (i, True, True)
        else:
            info[id(t)] = (slot(t.latency_ms if type(t) is Delay else t), type(t) is Delay, False)
    root, root_const, _ = info[id(tree)]
    base = vals

    def fix(latency: Mapping[str, float]) -> SPTree:
        vals = base.copy()
        for i, op, a, b in steps:
            if op is None:  # a fixed leaf
                vals[i] = latency[a]
            elif b is None:  # sum or max of constants (left to right, as fold_constants)
                vals[i] = op([vals[j] for j in a])
            else:
                vals[i] = _fold_step(op, [vals[j] for j in a], [vals[j] for j in b])
        v = vals[root]
        return Delay(v) if root_const else v

    return fix


def _fold_step(series: bool, consts: list, rest: list[SPTree], const: type = Delay,
               series_total: Callable[[list], Any] = sum) -> SPTree:
    """One composite of :func:`fold_constants`: its constant parts' values and its other
    parts' folded trees (each in order) → its folded form."""
    if series:
        d = series_total(consts)
        parts = rest if rest and d == 0 else rest + [const(d)]
        return parts[0] if len(parts) == 1 else Series(tuple(parts))
    parts = rest + ([const(max(consts))] if consts else [])
    return parts[0] if len(parts) == 1 else Parallel(tuple(parts))


def fold(tree: SPTree, leaf: Callable, delay: Callable, series: Callable, parallel: Callable):
    """Bottom-up evaluation with the given operations (the DPs' common skeleton): a node's
    parts are combined left to right, ``op(op(p0, p1), p2)``."""
    def compose(t: SPTree, vals: list) -> Any:
        op = series if type(t) is Series else parallel
        acc = vals[0]
        for p in vals[1:]:
            acc = op(acc, p)
        return acc

    return reduce_tree(tree, lambda t: leaf(t.node), lambda t: delay(t.latency_ms), compose)


@dataclass
class Suspended:
    """A :func:`trampoline` run stopped by its ``pause``: its stack of generators and the
    value to send next. ``trampoline(suspended)`` goes on from there."""

    stack: list
    value: Any


def trampoline(gen: Generator | Suspended, check: Callable[[], None] | None = None,
               pause: Callable[[], bool] | None = None) -> Any:
    """Run a recursion written as generators, on an explicit stack instead of Python's.

    A generator stands for one call: where the recursive code would call itself it yields
    the child call's generator, and the child's return value is sent back in. So a
    recursive evaluation keeps its code, its order of operations (hence its results, bit
    for bit) and its early exits, while its depth -- that of the expression tree or of a
    search, which grows with the graph -- no longer meets the interpreter's recursion
    limit. Returns the outermost generator's return value; exceptions propagate.
    ``check``: called before every step (it may raise to stop the evaluation, e.g. at a
    deadline; the generators on the stack are then closed). ``pause``: asked before every
    step after the first; where it says True the run returns a :class:`Suspended` with its
    stack kept open."""
    stack, value = (gen.stack, gen.value) if isinstance(gen, Suspended) else ([gen], None)
    stepped = False  # (a run goes at least one step, so one paused at once still moves on)
    while True:
        if stepped and pause is not None and pause():
            return Suspended(stack, value)
        stepped = True
        if check is not None:
            try:
                check()
            except BaseException:
                for g in reversed(stack):
                    g.close()
                raise
        try:
            child = stack[-1].send(value)
        except StopIteration as stop:
            stack.pop()
            if not stack:
                return stop.value
            value = stop.value
            continue
        stack.append(child)
        value = None


class FlatShape(NamedTuple):
    """A flat tree (:func:`flat_shape`): its series-level free nodes and fork nodes, and the
    fixed terms -- a delay (float) or a fixed node (its name: a latency known per decision)
    -- of the series (``delays``, left to right) and of each fork node's branch
    (``fork_delays[g]``). Its value is ``Σ delays + Σ_series L_v + max_g (Σ fork_delays[g] +
    L_fork[g])`` (0 for an empty max)."""

    series: tuple[str, ...]
    fork: tuple[str, ...]
    delays: tuple[float | str, ...]
    fork_delays: tuple[tuple[float | str, ...], ...]


def flat_shape(tree: SPTree, fixed: frozenset[str] | set[str] = frozenset()) -> FlatShape | None:
    """The one definition of a *flat* tree: a series (or a single part) of free leaves,
    delays, leaves of ``fixed`` nodes, and at most one parallel whose branches each hold one
    free leaf, alone or in series with delays and fixed leaves. None for anything else. The
    sweeps of the exact arithmetic (:func:`fa2opt.pareto.flat_cheapest`) decide such trees
    on the candidate lists. O(parts)."""
    t = type(tree)
    parts = tree.parts if t is Series else (tree,)
    series: list[str] = []
    fork: list[str] = []
    delays: list[float | str] = []
    fork_delays: list[tuple[float | str, ...]] = []
    seen_fork = False
    for p in parts:
        tp = type(p)
        if tp is Leaf:
            (delays if p.node in fixed else series).append(p.node)
        elif tp is Delay:
            delays.append(p.latency_ms)
        elif tp is Parallel and not seen_fork:
            seen_fork = True
            for q in p.parts:
                branch = _branch(q, fixed)
                if branch is None:
                    return None
                fork.append(branch[0])
                fork_delays.append(branch[1])
        else:
            return None
    return FlatShape(tuple(series), tuple(fork), tuple(delays), tuple(fork_delays))


def _branch(t: SPTree, fixed: frozenset[str] | set[str]) -> tuple[str, tuple[float | str, ...]] | None:
    """A fork branch of :func:`flat_shape`: (its one free leaf, its delays and fixed
    leaves), or None."""
    parts = t.parts if type(t) is Series else (t,)
    node, terms = None, []
    for p in parts:
        tp = type(p)
        if tp is Leaf and p.node not in fixed:
            if node is not None:
                return None
            node = p.node
        elif tp is Leaf:
            terms.append(p.node)
        elif tp is Delay:
            terms.append(p.latency_ms)
        else:
            return None
    return None if node is None else (node, tuple(terms))


COPY_SEP = "\x00"  # alias of a duplicated leaf: f"{node}{COPY_SEP}{occurrence}"


def split_leaves(tree: SPTree, nodes: set[str] | frozenset[str]) -> tuple[SPTree, dict[str, str]]:
    """The tree with every leaf of a node in ``nodes`` renamed to a distinct alias
    ``node\\0j`` (j = its occurrence, left to right; a sub-expression shared by several
    places is unfolded, so each place gets its own aliases), and ``{alias: node}``.

    The coupling search gives each copy of a node duplicated inside one flow its own
    Lagrangian price through these aliases (:mod:`fa2opt.reductions.search`). O(tree size)."""
    alias: dict[str, str] = {}
    seen: dict[str, int] = {}

    def leaf(t: Leaf) -> SPTree:
        check_stage()  # (unfolded per place: 10⁵ leaves of a 200-node graph ran past limits)
        if t.node not in nodes:
            return t
        j = seen.get(t.node, 0)
        seen[t.node] = j + 1
        a = f"{t.node}{COPY_SEP}{j}"
        alias[a] = t.node
        return Leaf(a)

    return reduce_tree(tree, leaf, lambda t: t, lambda t, vals: type(t)(tuple(vals))), alias
