"""Graph shapes for the generator: :class:`Topology`, its builders and structure checks.

Chains, fork-joins, nested series-parallel graphs, graphs that are not series-parallel (the
bridge and the "N"), out-trees and multi-flow graphs with shared nodes; and, for size and
depth, series-parallel graphs nested as deep as their node count allows (:func:`deep_sp`). Each builder takes
the node count and a ``pick(lo, hi)`` callable returning an integer in ``[lo, hi]``, so the
same code serves a seeded numpy generator (suites) and hypothesis draws (property tests,
with shrinking). The structure checks (:func:`has_induced_n`, :func:`has_bridge`,
:func:`is_chain`, :func:`is_out_tree`) let the tests confirm each builder's claim.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import permutations
from typing import Callable, Generator, Iterable, Mapping, Sequence

from ..model import topological_order
from ..reductions.sptree import trampoline

Pick = Callable[[int, int], int]
"""``pick(lo, hi)`` -> an integer in ``[lo, hi]`` (both inclusive)."""

SHAPES = ("chain", "fork-join", "nested-sp", "non-sp", "tree", "multi-flow")
# shapes for size and depth (built by :func:`build`, not among the random suites' SHAPES)
DEEP_SHAPES = ("deep-sp",)


@dataclass(frozen=True)
class Topology:
    """A graph shape: node names, edges ``(src, dst, group)`` and the flows' node sets.

    Edges of one ``group`` get the same transfer latency (a series join of a part with
    several sinks to a part with several sources is one "hop", so equal latencies keep a
    series-parallel graph series-parallel). ``flows`` is empty for one flow over the whole
    graph, otherwise one tuple of node names per flow.
    """

    shape: str
    nodes: tuple[str, ...]
    edges: tuple[tuple[str, str, int], ...]
    flows: tuple[tuple[str, ...], ...] = ()
    variant: str = ""

    def __post_init__(self) -> None:
        names = set(self.nodes)
        assert len(names) == len(self.nodes), "duplicate node"
        pairs = [(s, d) for s, d, _ in self.edges]
        assert len(set(pairs)) == len(pairs), "duplicate edge"
        assert all(s in names and d in names and s != d for s, d in pairs)


@dataclass
class _Part:
    """A two-terminal-free piece under construction: its nodes, edges, sources, sinks."""

    nodes: list[str]
    edges: list[tuple[str, str, int]] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    sinks: list[str] = field(default_factory=list)


class _Names:
    """Fresh node names ``{prefix}{i}`` and fresh edge groups."""

    def __init__(self, prefix: str = "n"):
        self.prefix, self.count, self.groups = prefix, 0, 0

    def node(self) -> str:
        self.count += 1
        return f"{self.prefix}{self.count - 1}"

    def group(self) -> int:
        self.groups += 1
        return self.groups - 1


def _leaf(names: _Names) -> _Part:
    v = names.node()
    return _Part([v], [], [v], [v])


def _series(parts: Sequence[_Part], names: _Names) -> _Part:
    """Series composition: every sink of part i feeds every source of part i+1. When both
    sides have several terminals the join's edges form one group (one shared latency)."""
    out = _Part([], [], list(parts[0].sources), list(parts[-1].sinks))
    for i, p in enumerate(parts):
        out.nodes += p.nodes
        out.edges += p.edges
        if i:
            tails, heads = parts[i - 1].sinks, p.sources
            shared = names.group() if len(tails) > 1 and len(heads) > 1 else None
            out.edges += [(s, t, names.group() if shared is None else shared)
                          for s in tails for t in heads]
    return out


def _parallel(parts: Sequence[_Part]) -> _Part:
    out = _Part([], [], [], [])
    for p in parts:
        out.nodes += p.nodes
        out.edges += p.edges
        out.sources += p.sources
        out.sinks += p.sinks
    return out


def _chain_part(n: int, names: _Names) -> _Part:
    return _series([_leaf(names) for _ in range(n)], names)


def _split(total: int, parts: int, pick: Pick, minimum: int = 1) -> list[int]:
    """``total`` split into ``parts`` integers ≥ ``minimum`` (random composition)."""
    sizes = [minimum] * parts
    for _ in range(total - minimum * parts):
        sizes[pick(0, parts - 1)] += 1
    return sizes


def _sp_part(n: int, pick: Pick, names: _Names, kind: str | None = None) -> _Part:
    """A random vertex series-parallel piece with ``n`` nodes whose top operation is
    ``kind`` (``"S"``/``"P"``, random when None); children alternate the operation so
    nesting is real (a series of series is just a longer series). Run on a trampoline
    (:func:`_sp_steps`): no recursion, the same draws and names in the same order."""
    return trampoline(_sp_steps(n, pick, names, kind))


def _sp_steps(n: int, pick: Pick, names: _Names, kind: str | None) -> Generator:
    """:func:`_sp_part` as a trampoline generator: a child piece is built by yielding its
    generator, children left to right, each complete before the next."""
    if n == 1:
        return _leaf(names)
    if kind is None:
        kind = "S" if pick(0, 1) else "P"
    m = pick(2, min(n, 3))
    sizes = _split(n, m, pick)
    other = "P" if kind == "S" else "S"
    parts = []
    for k in sizes:
        parts.append((yield _sp_steps(k, pick, names, other)))
    return _series(parts, names) if kind == "S" else _parallel(parts)


def _topology(shape: str, part: _Part, flows: Iterable[Iterable[str]] = (),
              variant: str = "") -> Topology:
    return Topology(shape, tuple(part.nodes), tuple(part.edges),
                    tuple(tuple(f) for f in flows), variant)


def chain(n: int, pick: Pick | None = None) -> Topology:
    """n0 → n1 → … → n{n-1}."""
    assert n >= 1
    return _topology("chain", _chain_part(n, _Names()))


def fork_join(n: int, pick: Pick) -> Topology:
    """A source fanning out into 2-4 parallel chains that join in a sink (n ≥ 4 nodes).
    At most one branch is empty (a direct source→sink edge)."""
    assert n >= 4
    names = _Names()
    inner = n - 2
    k = pick(2, min(4, inner + 1))
    sizes = _split(inner, k, pick, minimum=0)
    # at most one empty branch (two would be the same edge twice)
    while sizes.count(0) > 1:
        sizes[sizes.index(0)] = 1
        sizes[sizes.index(max(sizes))] -= 1
    src = _leaf(names)
    branches = [_chain_part(s, names) for s in sizes if s]
    sink = _leaf(names)
    body = _series([src, _parallel(branches), sink], names)
    if 0 in sizes:
        body.edges.append((src.nodes[0], sink.nodes[0], names.group()))
    return _topology("fork-join", body, variant=f"{k}-branches")


def nested_sp(n: int, pick: Pick) -> Topology:
    """A random vertex series-parallel DAG: series and parallel compositions nested
    (alternating), the top one a series so the graph is connected."""
    assert n >= 1
    names = _Names()
    part = _sp_part(n, pick, names, "S")
    return _topology("nested-sp", part)


def deep_sp(n: int, pick: Pick | None = None) -> Topology:
    """Series and parallel compositions nested as deep as ``n`` nodes allow (n ≥ 1):
    level i of d = ⌊(n − 1)/3⌋ levels is the series ``h_i → (s_i ∥ level i+1) → t_i`` (a
    head, a parallel of a side node and the next level, a tail), the innermost level's
    middle a chain of the 1-3 nodes left. Its expression tree nests 2·d deep (series,
    parallel, series, …; one more when that chain has several nodes), so depth 1,000 is
    3,001 nodes. Built level by level without
    recursion; ``pick`` is not used (the shape is fixed by n). Variant ``depth-<d>``."""
    assert n >= 1
    depth = (n - 1) // 3
    k = n - 3 * depth  # nodes of the innermost chain (1-3)
    nodes = tuple(f"n{i}" for i in range(n))  # h0, s0, h1, s1, …, the chain, …, t1, t0
    heads, sides = nodes[0:2 * depth:2], nodes[1:2 * depth:2]
    inner, tails = nodes[2 * depth:2 * depth + k], nodes[::-1][:depth]
    edges = list(zip(inner, inner[1:]))
    first, last = inner[0], inner[-1]  # the source and sink of the level below
    for i in reversed(range(depth)):
        h, side, t = heads[i], sides[i], tails[i]
        edges += [(h, first), (h, side), (last, t), (side, t)]
        first, last = h, t
    return Topology("deep-sp", nodes, tuple((a, b, g) for g, (a, b) in enumerate(edges)),
                    variant=f"depth-{depth}")


def _substituted(gadget_nodes: Sequence[str], gadget_edges: Sequence[tuple[str, str]],
                 sizes: Sequence[int], pick: Pick, names: _Names) -> _Part:
    """Replace gadget node i by an SP piece of ``sizes[i]`` nodes (edges join every sink of
    the tail's piece to every source of the head's piece, one group per gadget edge)."""
    pieces = {v: _sp_part(k, pick, names) for v, k in zip(gadget_nodes, sizes)}
    out = _Part([], [], [], [])
    for v in gadget_nodes:
        out.nodes += pieces[v].nodes
        out.edges += pieces[v].edges
    for a, b in gadget_edges:
        g = names.group()
        out.edges += [(s, t, g) for s in pieces[a].sinks for t in pieces[b].sources]
    heads = {b for _, b in gadget_edges}
    tails = {a for a, _ in gadget_edges}
    out.sources = [s for v in gadget_nodes if v not in heads for s in pieces[v].sources]
    out.sinks = [s for v in gadget_nodes if v not in tails for s in pieces[v].sinks]
    return out


BRIDGE_EDGES = (("a", "b"), ("a", "c"), ("b", "c"), ("b", "d"), ("c", "d"))
N_EDGES = (("a", "c"), ("b", "c"), ("b", "d"))


def non_sp(n: int, pick: Pick) -> Topology:
    """A DAG that is not series-parallel (n ≥ 4), one of three variants:

    - ``bridge``: the Wheatstone bridge a→b, a→c, b→c, b→d, c→d (not two-terminal
      series-parallel), with chains before a and after d;
    - ``n``: the "N" a→c, b→c, b→d (the forbidden induced subgraph of vertex
      series-parallel orders), with a common predecessor/successor chain when n allows;
    - ``n-substituted``: the N with each of its four nodes replaced by a random SP piece
      (larger non-SP DAGs; the N stays induced in the transitive closure).
    """
    assert n >= 4
    names = _Names()
    variant = ("bridge", "n", "n-substituted")[pick(0, 2)]
    if variant == "n-substituted" and n < 5:
        variant = "n"
    if variant == "bridge":
        pre, post = _split(n - 4, 2, pick, minimum=0)
        core = {v: names.node() for v in "abcd"}
        before = _chain_part(pre, names) if pre else None
        after = _chain_part(post, names) if post else None
        edges = [(core[x], core[y], names.group()) for x, y in BRIDGE_EDGES]
        body = _Part(list(core.values()), edges, [core["a"]], [core["d"]])
        parts = [p for p in (before, body, after) if p is not None]
        return _topology("non-sp", _series(parts, names), variant=variant)
    if variant == "n":
        pre, post = _split(n - 4, 2, pick, minimum=0)
        before = _chain_part(pre, names) if pre else None
        core = {v: names.node() for v in "abcd"}
        after = _chain_part(post, names) if post else None
        edges = [(core[x], core[y], names.group()) for x, y in N_EDGES]
        body = _Part(list(core.values()), edges, [core["a"], core["b"]], [core["c"], core["d"]])
        parts = [p for p in (before, body, after) if p is not None]
        return _topology("non-sp", _series(parts, names), variant=variant)
    sizes = _split(n, 4, pick)
    body = _substituted("abcd", N_EDGES, sizes, pick, names)
    return _topology("non-sp", body, variant=variant)


def tree(n: int, pick: Pick) -> Topology:
    """An out-tree: one root fanning out; node i > 0 hangs under a random earlier node
    (biased towards fan-out at the top). A flow's latency is its longest root→leaf path."""
    assert n >= 2
    names = _Names()
    nodes = [names.node() for _ in range(n)]
    edges = []
    for i in range(1, n):
        parent = pick(0, i - 1) if pick(0, 2) else pick(0, (i - 1) // 2)
        edges.append((nodes[parent], nodes[i], names.group()))
    return Topology("tree", tuple(nodes), tuple(edges))


def multi_flow(n: int, pick: Pick) -> Topology:
    """Several flows (2-3) with their own rate and SLA sharing nodes (n ≥ 3), one of:

    - ``shared-head``: a shared chain (e.g. a detector) feeding one pipeline per flow
      (each a chain, fork-join or tree of its own nodes);
    - ``shared-middle``: each flow is a chain through one shared node X (pre_i → X → post_i);
    - ``nested``: one flow over a chain or SP graph and another over a prefix of it.
    """
    assert n >= 3
    names = _Names()
    variant = ("shared-head", "shared-middle", "nested")[pick(0, 2)]
    if variant == "shared-head":
        k = pick(2, min(3, n - 1))
        head_n = pick(1, max(1, min(2, n - k)))
        head = _chain_part(head_n, names)
        sizes = _split(n - head_n, k, pick)
        part, flows = _Part(list(head.nodes), list(head.edges)), []
        for s in sizes:
            own = _sp_part(s, pick, names, "S") if s >= 3 and pick(0, 1) else _chain_part(s, names)
            part.nodes += own.nodes
            part.edges += own.edges
            g = names.group()
            part.edges += [(a, b, g) for a in head.sinks for b in own.sources]
            flows.append(head.nodes + own.nodes)
        return _topology("multi-flow", part, flows, variant)
    if variant == "shared-middle":
        k = pick(2, min(3, (n - 1)))
        x = names.node()
        sizes = _split(n - 1, k, pick)
        part, flows = _Part([x]), []
        for s in sizes:
            pre = pick(0, s)
            a = [names.node() for _ in range(pre)]
            b = [names.node() for _ in range(s - pre)]
            seq = a + [x] + b
            part.nodes += a + b
            part.edges += [(seq[i], seq[i + 1], names.group()) for i in range(len(seq) - 1)]
            flows.append(seq)
        return _topology("multi-flow", part, flows, variant)
    whole = _chain_part(n, names) if pick(0, 1) else _sp_part(n, pick, names, "S")
    # a prefix of the topological order whose induced subgraph is connected to the sources
    order = topological_order(whole.nodes, [(s, d) for s, d, _ in whole.edges])
    cut = pick(1, n - 1)
    return _topology("multi-flow", whole, [whole.nodes, order[:cut]], variant)


BUILDERS: Mapping[str, Callable[[int, Pick], Topology]] = {
    "chain": chain, "fork-join": fork_join, "nested-sp": nested_sp, "non-sp": non_sp,
    "tree": tree, "multi-flow": multi_flow, "deep-sp": deep_sp,
}
MIN_NODES = {"chain": 1, "fork-join": 4, "nested-sp": 1, "non-sp": 4, "tree": 2,
             "multi-flow": 3, "deep-sp": 4}


def build(shape: str, n: int, pick: Pick) -> Topology:
    """The topology of ``shape`` with ``n`` nodes (n is raised to the shape's minimum)."""
    if shape not in BUILDERS:
        raise KeyError(f"unknown shape {shape!r} (known: {', '.join(BUILDERS)})")
    return BUILDERS[shape](max(n, MIN_NODES[shape]), pick)


# -- structure checks (used by the tests; cheap for the small graphs they see) -------------
def _closure(nodes: Sequence[str], edges: Iterable[tuple[str, str]]) -> dict[str, set[str]]:
    """Descendants of every node (transitive closure), O(V·E)."""
    succ: dict[str, list[str]] = {v: [] for v in nodes}
    for s, d in edges:
        succ[s].append(d)
    order = topological_order(nodes, [(s, d) for s, ds in succ.items() for d in ds])
    desc: dict[str, set[str]] = {}
    for v in reversed(order):
        desc[v] = set()
        for w in succ[v]:
            desc[v] |= {w} | desc[w]
    return desc


def has_induced_n(nodes: Sequence[str], edges: Iterable[tuple[str, str]]) -> bool:
    """True when the transitive closure contains the "N" (w<y, x<y, x<z and no other
    comparabilities) as an induced suborder -- exactly when the DAG is not vertex
    series-parallel up to transitive edges (Valdes, Tarjan & Lawler 1982). O(V^4)."""
    desc = _closure(nodes, edges)

    def lt(a: str, b: str) -> bool:
        return b in desc[a]

    def comparable(a: str, b: str) -> bool:
        return lt(a, b) or lt(b, a)

    for x in nodes:
        for y, z in permutations(desc[x], 2):
            if comparable(y, z):
                continue
            for w in nodes:
                if w in (x, y, z) or not lt(w, y):
                    continue
                if not comparable(w, x) and not comparable(w, z):
                    return True
    return False


def has_bridge(nodes: Sequence[str], edges: Iterable[tuple[str, str]]) -> bool:
    """True when four nodes a, b, c, d carry the bridge edges a→b, a→c, b→c, b→d, c→d."""
    es = set(edges)
    succ: dict[str, set[str]] = {v: set() for v in nodes}
    for s, d in es:
        succ[s].add(d)
    for a in nodes:
        for b, c in permutations(succ[a], 2):
            if c in succ[b]:
                for d in succ[b] & succ[c]:
                    if d not in (a, b, c):
                        return True
    return False


def is_chain(nodes: Sequence[str], edges: Iterable[tuple[str, str]]) -> bool:
    es = list(edges)
    order = topological_order(nodes, es)
    return len(es) == len(nodes) - 1 and set(es) == set(zip(order, order[1:]))


def is_out_tree(nodes: Sequence[str], edges: Iterable[tuple[str, str]]) -> bool:
    es = list(edges)
    indeg = {v: 0 for v in nodes}
    for _, d in es:
        indeg[d] += 1
    roots = [v for v in nodes if indeg[v] == 0]
    return (len(roots) == 1 and all(indeg[v] == 1 for v in nodes if v != roots[0])
            and len(topological_order(nodes, es)) == len(nodes))
