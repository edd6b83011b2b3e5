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
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterator, Mapping, Union


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
    """Node names of the leaves, left to right (a duplicated node appears more than once)."""
    if isinstance(tree, Leaf):
        yield tree.node
    elif isinstance(tree, (Series, Parallel)):
        for part in tree.parts:
            yield from leaves(part)


def evaluate(tree: SPTree, latency: Mapping[str, float]) -> float:
    """The expression's value for given node latencies (the flow's longest path)."""
    if isinstance(tree, Leaf):
        return latency[tree.node]
    if isinstance(tree, Delay):
        return tree.latency_ms
    values = [evaluate(p, latency) for p in tree.parts]
    return sum(values) if isinstance(tree, Series) else max(values)


def substitute(tree: SPTree, fixed: Mapping[str, float]) -> SPTree:
    """Replace the leaves of fixed nodes by Delays of their latency."""
    if isinstance(tree, Leaf):
        return Delay(fixed[tree.node]) if tree.node in fixed else tree
    if isinstance(tree, Delay):
        return tree
    return type(tree)(tuple(substitute(p, fixed) for p in tree.parts))


def fold(tree: SPTree, leaf: Callable, delay: Callable, series: Callable, parallel: Callable):
    """Bottom-up evaluation with the given operations (the DPs' common skeleton)."""
    if isinstance(tree, Leaf):
        return leaf(tree.node)
    if isinstance(tree, Delay):
        return delay(tree.latency_ms)
    parts = [fold(p, leaf, delay, series, parallel) for p in tree.parts]
    op = series if isinstance(tree, Series) else parallel
    acc = parts[0]
    for p in parts[1:]:
        acc = op(acc, p)
    return acc


def flat_shape(tree: SPTree) -> tuple[tuple[str, ...], tuple[str, ...], tuple[float, ...]] | None:
    """A tree that is a series of single-node leaves, delays and at most one parallel of
    single-node leaves (or one such part alone) as ``(series nodes, parallel nodes,
    delays)``, each in left-to-right order; None for anything else. The value of such a
    tree is ``Σ delays + Σ_series L_v + max_parallel L_v`` (0 for an empty max). O(parts)."""
    t = type(tree)
    parts = tree.parts if t is Series else (tree,)
    series: list[str] = []
    fork: tuple[str, ...] = ()
    delays: list[float] = []
    for p in parts:
        tp = type(p)
        if tp is Leaf:
            series.append(p.node)
        elif tp is Delay:
            delays.append(p.latency_ms)
        elif tp is Parallel and not fork and all(type(q) is Leaf for q in p.parts):
            fork = tuple(q.node for q in p.parts)
        else:
            return None
    return tuple(series), fork, tuple(delays)


COPY_SEP = "\x00"  # alias of a duplicated leaf: f"{node}{COPY_SEP}{occurrence}"


def split_leaves(tree: SPTree, nodes: set[str] | frozenset[str]) -> tuple[SPTree, dict[str, str]]:
    """The tree with every leaf of a node in ``nodes`` renamed to a distinct alias
    ``node\\0j`` (j = its occurrence, left to right; a sub-expression shared by several
    places is unfolded, so each place gets its own aliases), and ``{alias: node}``.

    The coupling search gives each copy of a node duplicated inside one flow its own
    Lagrangian price through these aliases (:mod:`fa2opt.reductions.search`). O(tree size)."""
    alias: dict[str, str] = {}
    seen: dict[str, int] = {}

    def go(t: SPTree) -> SPTree:
        if isinstance(t, Leaf):
            if t.node not in nodes:
                return t
            j = seen.get(t.node, 0)
            seen[t.node] = j + 1
            a = f"{t.node}{COPY_SEP}{j}"
            alias[a] = t.node
            return Leaf(a)
        if isinstance(t, Delay):
            return t
        return type(t)(tuple(go(p) for p in t.parts))

    return go(tree), alias
