"""Synthetic instances: graph shapes, profiles, SLAs near the feasibility frontier, suites.

Three layers, each usable on its own (tests and ``tests/strategies.py`` use the first):

1. **Shapes** (:class:`Topology`): chains, fork-joins, nested series-parallel graphs,
   graphs that are not series-parallel (the bridge and the "N"), out-trees and multi-flow
   graphs with shared nodes. Each builder takes the node count and a ``pick(lo, hi)``
   callable returning an integer in ``[lo, hi]``, so the same code serves a seeded numpy
   generator (suites) and hypothesis draws (property tests, with shrinking).
2. **Instances** (:func:`random_instance`): profiles measured (rows of the CSVs under
   ``datasets/profiles/``, subset and scaled) or synthetic (Amdahl's law with noise, some
   nodes with a GPU option), rates, multipliers, edge latencies, queueing model,
   utilization cap, occasional ``max_replicas``/``max_batch``, and SLAs drawn between each
   flow's all-fastest latency and its latency at the cheapest choice -- or a little below
   the all-fastest one, which makes the instance infeasible (spec: infeasible exactly when
   the all-fastest choice breaks an SLA), computed with :class:`fa2opt.problem.Problem`.
3. **Suites** (:func:`generate_suite`, :func:`write_suite`, the ``fa2opt generate``
   subcommand): ``count`` instances of one shape family, deterministic for a seed
   (instance i uses ``numpy.random.default_rng([seed, i])``; same seed -> byte-identical
   files), plus :func:`scaling_instance` for benchmarks (chains / SP graphs of 10 to 1000
   nodes with 50-200 configurations).

See ``docs/generator.md`` for the choices made where the issue was silent.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import json
import math
import re
import sys
import zlib
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from itertools import permutations
from typing import Callable, Iterable, Mapping, Sequence

import numpy as np

from .io import InputError, instance_from_dict, instance_to_dict
from .model import MAIN_FLOW, Config, Edge, Flow, Instance, Node, topological_order
from .problem import Problem

Pick = Callable[[int, int], int]
"""``pick(lo, hi)`` -> an integer in ``[lo, hi]`` (both inclusive)."""

SHAPES = ("chain", "fork-join", "nested-sp", "non-sp", "tree", "multi-flow")


# =========================================================================================
# 1. Shapes
# =========================================================================================
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

    @property
    def edge_pairs(self) -> tuple[tuple[str, str], ...]:
        return tuple((s, d) for s, d, _ in self.edges)


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
    nesting is real (a series of series is just a longer series)."""
    if n == 1:
        return _leaf(names)
    if kind is None:
        kind = "S" if pick(0, 1) else "P"
    m = pick(2, min(n, 3))
    sizes = _split(n, m, pick)
    other = "P" if kind == "S" else "S"
    parts = [_sp_part(k, pick, names, other) for k in sizes]
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
    "tree": tree, "multi-flow": multi_flow,
}
MIN_NODES = {"chain": 1, "fork-join": 4, "nested-sp": 1, "non-sp": 4, "tree": 2,
             "multi-flow": 3}


def build(shape: str, n: int, pick: Pick) -> Topology:
    """The topology of ``shape`` with ``n`` nodes (n is raised to the shape's minimum)."""
    if shape not in BUILDERS:
        raise KeyError(f"unknown shape {shape!r} (known: {', '.join(SHAPES)})")
    return BUILDERS[shape](max(n, MIN_NODES[shape]), pick)


# =========================================================================================
# 2. Instances from a shape
# =========================================================================================
SPEC_QUEUEING = ("batch-fill", "none", "worst-case")


def flow_names(topo: Topology) -> tuple[str, ...]:
    """``("main",)`` for a single flow, else ``f0, f1, …``."""
    return (MAIN_FLOW,) if not topo.flows else tuple(f"f{i}" for i in range(len(topo.flows)))


def assemble(topo: Topology, configs: Mapping[str, Sequence[Config]], *, name: str,
             rates: Sequence[float], slas: Sequence[float] | None = None,
             multipliers: Mapping[str, float] | None = None,
             group_latency: Mapping[int, float] | None = None,
             prices: Mapping[str, float] | None = None, queueing: str = "batch-fill",
             max_utilization: float = 1.0, max_replicas: Mapping[str, int] | None = None,
             max_batch: Mapping[str, int] | None = None) -> Instance:
    """An :class:`Instance` over ``topo``: one rate (and SLA; a placeholder of 1 ms when
    ``slas`` is None, see :func:`place_slas`) per flow of :func:`flow_names`, edge latency
    by edge group, everything else per node name."""
    multipliers, group_latency = multipliers or {}, group_latency or {}
    max_replicas, max_batch = max_replicas or {}, max_batch or {}
    fnames = flow_names(topo)
    members = topo.flows or (topo.nodes,)
    slas = list(slas) if slas is not None else [1.0] * len(fnames)
    assert len(rates) == len(slas) == len(fnames)
    return Instance(
        name=name,
        nodes=tuple(Node(v, tuple(configs[v]), float(multipliers.get(v, 1.0)),
                         max_replicas.get(v), max_batch.get(v)) for v in topo.nodes),
        edges=tuple(Edge(s, d, float(group_latency.get(g, 0.0))) for s, d, g in topo.edges),
        flows=tuple(Flow(f, float(r), float(sla), tuple(m))
                    for f, r, sla, m in zip(fnames, rates, slas, members)),
        prices=dict(prices or {}), queueing=queueing, max_utilization=float(max_utilization),
    )


def flow_frontier(problem: Problem) -> dict[str, tuple[float, float]] | None:
    """Per flow, (latency at the all-fastest choice, latency at the cheapest choice) in ms;
    None when a node has no available configuration. The cheapest choice takes per node
    the least cost, ties by least latency (tables are sorted by (latency, cost), so the
    first minimum of the cost array)."""
    fastest = problem.fastest_choice()
    if fastest is None:
        return None
    cheapest = {v: int(np.argmin(t.cost)) for v, t in problem.tables.items()}
    fast, cheap = problem.flow_latencies(fastest), problem.flow_latencies(cheapest)
    return {f: (fast[f], cheap[f]) for f in fast}


def sla_at(fastest_ms: float, cheapest_ms: float, t: float) -> float:
    """The SLA at relative position ``t`` of the frontier: ``F + t·(C − F)`` for t ≥ 0 (t = 0
    is the all-fastest latency F, t = 1 the cheapest choice's latency C; when C − F is
    under 5 % of F the span is widened to 0.05·F so SLAs still spread), and ``F·(1 + t)``
    for t < 0 (below the all-fastest latency: infeasible once F − SLA exceeds 1e-6 ms)."""
    if t < 0:
        return fastest_ms * (1.0 + t)
    return fastest_ms + t * max(cheapest_ms - fastest_ms, 0.05 * fastest_ms)


def place_slas(instance: Instance, positions: Mapping[str, float],
               decimals: int | None = None) -> Instance:
    """The instance with each flow's SLA at ``sla_at(F, C, positions[flow])``. With
    ``decimals``, SLAs are rounded away from the frontier's side they were put on (up for
    t ≥ 0, down for t < 0) so rounding never flips feasibility. An instance with a node
    that has no available row is returned unchanged (it is infeasible whatever the SLA)."""
    frontier = flow_frontier(Problem.from_instance(instance))
    if frontier is None:
        return instance
    slas = {}
    for f, (fast, cheap) in frontier.items():
        t = positions[f]
        sla = sla_at(fast, cheap, t)
        if decimals is not None:
            scale = 10.0 ** decimals
            sla = (math.ceil(sla * scale) if t >= 0 else math.floor(sla * scale)) / scale
        slas[f] = max(sla, 10.0 ** -(decimals or 6))
    return instance.with_slas(slas)


# -- profiles --------------------------------------------------------------------------------
_REPO = Path(__file__).resolve().parents[1]
PROFILE_DIRS = (_REPO / "datasets" / "profiles",)
FALLBACK_PROFILES = (_REPO.parent / "shared" / "spec" / "examples" / "resnet50_cpu.csv",)

AMDAHL_BATCHES = (1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64)
AMDAHL_CORES = tuple(range(1, 17))
GPU_BATCHES = (1, 2, 4, 8, 16, 32, 64, 128)
# cost per unit before a per-instance perturbation (cpu = 1 core is the unit of cost)
BASE_PRICES = {"cpu": 1.0, "gpu": 8.0, "cpu-whole": 8.0, "gpu-pascal": 6.0, "gpu-ampere": 10.0}
LATENCY_DECIMALS = 4
SLA_DECIMALS = 3


def measured_profile_files(dirs: Sequence[Path] = PROFILE_DIRS,
                           fallback: Sequence[Path] = FALLBACK_PROFILES) -> tuple[Path, ...]:
    """The measured profile CSVs to draw from: every ``*.csv`` of the first directory that
    has some (sorted by name, so choices are reproducible), else the existing fallbacks."""
    for d in dirs:
        files = sorted(Path(d).glob("*.csv"))
        if files:
            return tuple(files)
    return tuple(f for f in fallback if Path(f).is_file())


@lru_cache(maxsize=None)
def read_profile(path: Path) -> tuple[Config, ...]:
    """A profile CSV's rows, validated by the core loader (:mod:`fa2opt.io`)."""
    path = Path(path)
    doc = {"rate_rps": 1, "sla_ms": 1, "nodes": [{"name": "profile", "profile": path.name}]}
    inst = instance_from_dict(doc, source=str(path), base_dir=path.parent)
    return inst.nodes[0].configs


def _log_uniform(rng: np.random.Generator, lo: float, hi: float) -> float:
    return math.exp(rng.uniform(math.log(lo), math.log(hi)))


def _subset(rng: np.random.Generator, rows: Sequence[Config], k: int) -> list[Config]:
    """``k`` of ``rows`` without replacement, in their original order."""
    k = min(k, len(rows))
    keep = sorted(int(i) for i in rng.choice(len(rows), size=k, replace=False))
    return [rows[i] for i in keep]


def amdahl_profile(rng: np.random.Generator, k: int, gpu: bool) -> list[Config]:
    """``k`` synthetic rows (a subset of a CPU grid plus, when ``gpu``, a GPU option).

    CPU (Amdahl's law): ``p(b, c) = (a + s·b) · ((1 − f) + f / c) · ε`` for batch b on c
    cores, fixed per-batch overhead a ~ logU(2, 50) ms, per-request work s ~ a·U(0.3, 1.5),
    parallel fraction f ~ U(0.6, 0.97), noise ε = exp(N(0, 0.04)). More cores cost more
    and help less and less; bigger batches need fewer replicas but take longer: long
    cost/latency Pareto fronts. GPU (1 unit, higher price): ``p(b) = (a_g + s_g·b)·ε`` with
    a_g = a·U(0.15, 0.4) and s_g = s·U(0.03, 0.12) (cheap batching). Grid:
    :data:`AMDAHL_BATCHES` × :data:`AMDAHL_CORES` (192 rows) + :data:`GPU_BATCHES` (8)."""
    a = _log_uniform(rng, 2.0, 50.0)
    s = a * rng.uniform(0.3, 1.5)
    f = rng.uniform(0.6, 0.97)
    rows = []
    for b in AMDAHL_BATCHES:
        for c in AMDAHL_CORES:
            p = (a + s * b) * ((1 - f) + f / c) * math.exp(rng.normal(0.0, 0.04))
            rows.append(Config(b, "cpu", float(c), _round_latency(p)))
    if gpu:
        ag, sg = a * rng.uniform(0.15, 0.4), s * rng.uniform(0.03, 0.12)
        for b in GPU_BATCHES:
            p = (ag + sg * b) * math.exp(rng.normal(0.0, 0.04))
            rows.append(Config(b, "gpu", 1.0, _round_latency(p)))
    if gpu and k >= 3:  # keep some GPU rows in the subset so the option is really there
        cpu_rows, gpu_rows = rows[:-len(GPU_BATCHES)], rows[-len(GPU_BATCHES):]
        g_lo = max(1, k - len(cpu_rows))
        g = int(rng.integers(g_lo, max(g_lo, min(len(gpu_rows), k // 3)) + 1))
        return _subset(rng, cpu_rows, k - g) + _subset(rng, gpu_rows, g)
    return _subset(rng, rows, k)


def _round_latency(p: float) -> float:
    return max(round(p, LATENCY_DECIMALS), 10.0 ** -LATENCY_DECIMALS)


def measured_profile(rng: np.random.Generator, k: int, path: Path) -> tuple[list[Config], float]:
    """``k`` rows of a measured profile CSV, latencies scaled by a factor ~ logU(0.5, 2)
    (returned with the rows)."""
    scale = round(_log_uniform(rng, 0.5, 2.0), 3)
    rows = [replace(c, latency_ms=_round_latency(c.latency_ms * scale))
            for c in _subset(rng, read_profile(path), k)]
    return rows, scale


# -- one random instance ------------------------------------------------------------------------
@dataclass(frozen=True)
class Sizes:
    """Ranges (inclusive) of node count and rows per node; rows are drawn log-uniformly."""

    nodes: tuple[int, int] = (2, 12)
    configs: tuple[int, int] = (3, 40)


@dataclass
class Generated:
    """A generated instance with what the manifest reports about it."""

    instance: Instance
    shape: str
    variant: str
    feasible: bool
    sources: dict[str, str]  # node -> "amdahl", "amdahl+gpu" or "<csv name>x<scale>"


def _rng_pick(rng: np.random.Generator) -> Pick:
    return lambda lo, hi: int(rng.integers(lo, hi + 1))


def _choice(rng: np.random.Generator, options: Sequence, weights: Sequence[float] | None = None):
    if weights is None:
        return options[int(rng.integers(len(options)))]
    w = np.asarray(weights, dtype=float)
    return options[int(rng.choice(len(options), p=w / w.sum()))]


def _reference_capacity(configs: Sequence[Config]) -> float:
    """Median per-replica capacity 1000·b/p (req/s) over a node's rows."""
    return float(np.median([1000.0 * c.batch / c.latency_ms for c in configs]))


def random_instance(shape: str, rng: np.random.Generator, *, name: str,
                    sizes: Sizes = Sizes(), p_measured: float = 0.5,
                    p_infeasible: float = 0.18,
                    profile_files: Sequence[Path] | None = None) -> Generated:
    """One random instance of ``shape`` (see the module docstring and docs/generator.md).

    Draw order (all from ``rng``): node count, topology, per node rows (measured with
    probability ``p_measured`` when profile files exist, else Amdahl; 40 % of Amdahl nodes
    get a GPU option) and multiplier (1 for 70 %), prices (perturbed
    :data:`BASE_PRICES`), queueing (batch-fill 70 %, none 15 %, worst-case 15 %), max
    utilization (1 for 60 %), edge latencies (half the instances; per edge group
    U(0, 15) ms, 30 % zero), flow rates (logU(0.3, 10) × the geometric mean over the
    flow's nodes of median row capacity / (multiplier · flows through the node)),
    caps (10 % of nodes each get a max_replicas among their rows' replica counts / a
    max_batch among their batches, never emptying a node), then SLAs: with probability
    ``p_infeasible`` one flow at ``sla_at(F, C, t)`` with t ~ U(−0.15, −0.01) (infeasible),
    every other flow with t ~ U(0.02, 0.98) (feasible). Numbers are rounded (latencies 4
    decimals, SLAs 3, rates and edge latencies 2) before the frontier is computed, and the
    result's feasibility is checked against the intent.
    """
    if profile_files is None:
        profile_files = measured_profile_files()
    pick = _rng_pick(rng)
    lo = max(sizes.nodes[0], MIN_NODES[shape])
    n = int(rng.integers(lo, max(lo, sizes.nodes[1]) + 1))
    topo = build(shape, n, pick)

    rows: dict[str, list[Config]] = {}
    sources: dict[str, str] = {}
    multipliers: dict[str, float] = {}
    klo, khi = sizes.configs
    for v in topo.nodes:
        k = int(round(_log_uniform(rng, klo, khi))) if khi > klo else klo
        if profile_files and rng.uniform() < p_measured:
            path = Path(_choice(rng, list(profile_files)))
            rows[v], scale = measured_profile(rng, k, path)
            sources[v] = f"{path.name}x{scale:g}"
        else:
            gpu = bool(rng.uniform() < 0.4)
            rows[v] = amdahl_profile(rng, k, gpu)
            sources[v] = "amdahl+gpu" if gpu else "amdahl"
        multipliers[v] = 1.0 if rng.uniform() < 0.7 else _choice(rng, (0.5, 1.5, 2.0, 2.3, 3.0))

    kinds = sorted({c.hardware for cs in rows.values() for c in cs})
    prices = {h: 1.0 if h == "cpu" else round(BASE_PRICES.get(h, 4.0) * _log_uniform(rng, 0.75, 1.33), 3)
              for h in kinds}
    queueing = _choice(rng, SPEC_QUEUEING, (0.7, 0.15, 0.15))
    rho = 1.0 if rng.uniform() < 0.6 else _choice(rng, (0.95, 0.9, 0.85, 0.8, 0.7))
    groups = sorted({g for _, _, g in topo.edges})
    delays = rng.uniform() < 0.5
    group_latency = {g: (0.0 if rng.uniform() < 0.3 else round(rng.uniform(0.0, 15.0), 2))
                     if delays else 0.0 for g in groups}

    members = topo.flows or (topo.nodes,)
    sharing = {v: sum(v in m for m in members) for v in topo.nodes}
    rates = []
    for m in members:
        caps = [math.log(_reference_capacity(rows[v]) / (multipliers[v] * sharing[v])) for v in m]
        base = math.exp(sum(caps) / len(caps))
        rates.append(max(0.01, round(base * _log_uniform(rng, 0.3, 10.0), 2)))

    inst = assemble(topo, rows, name=name, rates=rates, multipliers=multipliers,
                    group_latency=group_latency, prices=prices, queueing=queueing,
                    max_utilization=rho)
    inst = _random_caps(inst, rng)

    fnames = flow_names(topo)
    positions = {f: float(rng.uniform(0.02, 0.98)) for f in fnames}
    infeasible = bool(rng.uniform() < p_infeasible)
    if infeasible:
        positions[_choice(rng, fnames)] = float(rng.uniform(-0.15, -0.01))
    inst = place_slas(inst, positions, decimals=SLA_DECIMALS)
    feasible = Problem.from_instance(inst).is_feasible()
    if feasible == infeasible:  # cannot happen: SLAs are rounded away from the frontier
        raise AssertionError(f"{name}: drew {'in' if infeasible else ''}feasible, got the opposite")
    return Generated(inst, shape, topo.variant, feasible, sources)


def _random_caps(inst: Instance, rng: np.random.Generator, p_cap: float = 0.1) -> Instance:
    """Occasional ``max_replicas`` (one of the node's rows' replica counts, not the
    largest when there are several) and ``max_batch`` (one of its batches, not the
    smallest): some rows become unavailable, the node never empty."""
    tables = Problem.from_instance(inst).tables
    nodes = []
    for node in inst.nodes:
        max_r = max_b = None
        if rng.uniform() < p_cap:
            reps = sorted({int(r) for r in tables[node.name].replicas})
            max_r = reps[int(rng.integers(max(1, len(reps) - 1)))]
        if rng.uniform() < p_cap:
            batches = sorted({c.batch for c in node.configs})
            max_b = batches[int(rng.integers(min(1, len(batches) - 1), len(batches)))]
        if max_r is not None and max_b is not None:
            # both caps together must leave a row: keep max_batch, relax max_replicas to fit
            ok = [int(r) for r, row in zip(tables[node.name].replicas, tables[node.name].rows)
                  if node.configs[row].batch <= max_b]
            max_r = max(max_r, min(ok))
        nodes.append(replace(node, max_replicas=max_r, max_batch=max_b))
    return replace(inst, nodes=tuple(nodes))


# =========================================================================================
# 3. Suites
# =========================================================================================
SUITES: Mapping[str, tuple[str, ...]] = {
    **{shape: (shape,) for shape in SHAPES},
    "mixed": SHAPES,       # a random shape per instance
    "regression": SHAPES,  # shapes in turn (instance i has shape SHAPES[i % 6])
}
FILE_PATTERN = re.compile(r"^\d{4,}-[a-z-]+\.json$")
MANIFEST = "manifest.csv"
README = "README.md"


def _instance_rng(suite: str, seed: int, index: int) -> np.random.Generator:
    """Instance ``index`` of ``suite`` draws from its own stream, so instances do not depend
    on each other (the first k of a larger count are the same) and suites differ."""
    return np.random.default_rng([int(seed), zlib.crc32(suite.encode()), int(index)])


def generate_generated(name: str, count: int, seed: int = 0,
                       profile_files: Sequence[Path] | None = None) -> list[Generated]:
    """``count`` instances of suite ``name`` with their manifest facts."""
    if name not in SUITES:
        raise KeyError(f"unknown suite {name!r} (known: {', '.join(SUITES)})")
    if count < 0:
        raise ValueError("count must be >= 0")
    if profile_files is None:
        profile_files = measured_profile_files()
    shapes = SUITES[name]
    width = max(4, len(str(max(count - 1, 0))))
    out = []
    for i in range(count):
        rng = _instance_rng(name, seed, i)
        if name == "regression":
            shape = shapes[i % len(shapes)]
        elif len(shapes) == 1:
            shape = shapes[0]
        else:
            shape = _choice(rng, shapes)
        out.append(random_instance(shape, rng, name=f"{name}-{i:0{width}d}-{shape}",
                                   profile_files=profile_files))
    return out


def generate_suite(name: str, count: int, seed: int = 0) -> list[Instance]:
    """``count`` instances of suite ``name`` (one of :data:`SUITES`), deterministic for
    ``seed`` (given the same measured profile files)."""
    return [g.instance for g in generate_generated(name, count, seed)]


def instance_json(inst: Instance) -> str:
    """The compact, deterministic file text of an instance (key order from
    :func:`fa2opt.io.instance_to_dict`)."""
    return json.dumps(instance_to_dict(inst), separators=(",", ":")) + "\n"


def file_name(inst: Instance, suite: str) -> str:
    """``0007-fork-join.json`` from the instance name ``{suite}-0007-fork-join``."""
    return inst.name[len(suite) + 1:] + ".json"


def write_suite(name: str, count: int, seed: int, out: str | Path, force: bool = False,
                command: str | None = None) -> list[Generated]:
    """Write suite ``name`` into ``out``: one compact JSON file per instance, plus
    ``manifest.csv`` (one row per instance) and ``README.md`` (how it was generated).

    ``out`` may hold other files; generated-looking files (``NNNN-shape.json``, the
    manifest) already there are an error unless ``force``, which deletes them first so no
    stale instance survives a smaller count."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise InputError(str(out), "--out", "exists and is not a directory")
    out.mkdir(parents=True, exist_ok=True)
    old = sorted(p for p in out.iterdir() if FILE_PATTERN.match(p.name) or p.name == MANIFEST)
    if old and not force:
        raise InputError(str(out), "--out", f"already holds generated files ({old[0].name}, …); "
                         "use --force to replace them")
    for p in old:
        p.unlink()
    profile_files = measured_profile_files()
    generated = generate_generated(name, count, seed, profile_files)
    for g in generated:
        (out / file_name(g.instance, name)).write_text(instance_json(g.instance), encoding="utf-8")
    (out / MANIFEST).write_text(_manifest_csv(generated, name), encoding="utf-8")
    if command is None:
        command = f"fa2opt generate --suite {name} --count {count} --seed {seed} --out {out.as_posix()}"
    (out / README).write_text(_readme(generated, name, count, seed, command, profile_files),
                              encoding="utf-8")
    return generated


MANIFEST_COLUMNS = ("file", "shape", "variant", "nodes", "edges", "flows", "rows_min", "rows_max",
                    "rows_total", "log10_combinations", "queueing", "max_utilization",
                    "edge_latencies", "capped_nodes", "feasible", "profiles")


def _manifest_csv(generated: Sequence[Generated], suite: str) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(MANIFEST_COLUMNS)
    for g in generated:
        inst = g.instance
        k = [len(n.configs) for n in inst.nodes]
        w.writerow([
            file_name(inst, suite), g.shape, g.variant, len(inst.nodes), len(inst.edges),
            len(inst.flows), min(k), max(k), sum(k),
            f"{sum(math.log10(x) for x in k):.2f}", inst.queueing, f"{inst.max_utilization:g}",
            int(any(e.latency_ms > 0 for e in inst.edges)),
            sum(n.max_replicas is not None or n.max_batch is not None for n in inst.nodes),
            int(g.feasible), ";".join(f"{v}={src}" for v, src in g.sources.items()),
        ])
    return buf.getvalue()


def _readme(generated: Sequence[Generated], suite: str, count: int, seed: int, command: str,
            profile_files: Sequence[Path]) -> str:
    by_shape: dict[str, list[Generated]] = {}
    for g in generated:
        by_shape.setdefault(g.shape, []).append(g)
    lines = [
        f"# Suite `{suite}` ({count} instances, seed {seed})",
        "",
        "Generated by `fa2opt.generate`; do not edit by hand. Regenerate (byte-identical,",
        "given the same measured profile files listed below) with:",
        "",
        "```",
        command + " --force",
        "```",
        "",
        "One compact JSON instance per file (spec format, inline `configs`);",
        f"`{MANIFEST}` has one row per instance (shape, sizes, queueing, feasibility,",
        "where each node's profile came from: `amdahl`/`amdahl+gpu` = synthetic,",
        "`<csv>x<scale>` = rows of a measured profile with latencies scaled).",
        "See `docs/generator.md` for how instances are drawn.",
        "",
        "| shape | instances | infeasible | nodes (min-max) | rows per node (min-max) | flows (min-max) |",
        "|---|---:|---:|---|---|---|",
    ]
    for shape in SHAPES:
        gs = by_shape.get(shape, [])
        if not gs:
            continue
        nn = [len(g.instance.nodes) for g in gs]
        kk = [len(n.configs) for g in gs for n in g.instance.nodes]
        ff = [len(g.instance.flows) for g in gs]
        lines.append(f"| {shape} | {len(gs)} | {sum(not g.feasible for g in gs)} | "
                     f"{min(nn)}-{max(nn)} | {min(kk)}-{max(kk)} | {min(ff)}-{max(ff)} |")
    n_inf = sum(not g.feasible for g in generated)
    lines += [f"| all | {len(generated)} | {n_inf} | | | |", ""]
    qs = {q: sum(g.instance.queueing == q for g in generated) for q in SPEC_QUEUEING}
    lines.append("Queueing models: " + ", ".join(f"{q} {c}" for q, c in qs.items()) + ".")
    lines += ["", "Measured profile files the generator drew from (sha256):", ""]
    for f in profile_files:
        digest = hashlib.sha256(Path(f).read_bytes()).hexdigest()
        lines.append(f"- `{Path(f).name}` {digest}")
    if not profile_files:
        lines.append("- none (every profile is synthetic)")
    return "\n".join(lines) + "\n"


# -- scaling family (benchmarks; not committed) -------------------------------------------------
SCALING_SHAPES = ("chain", "sp")


def scaling_instance(shape: str, nodes: int, configs: int, seed: int = 0,
                     sla_position: float = 0.3, queueing: str = "batch-fill") -> Instance:
    """A large single-flow instance for benchmarks: a chain or a nested series-parallel
    graph (``shape`` "sp") of ``nodes`` nodes, each with exactly ``configs`` synthetic
    Amdahl rows (≤ 200; every node gets the GPU option when more than 192 are asked),
    rate from the nodes' capacities, SLA at ``sla_at(F, C, sla_position)`` (feasible for
    positions ≥ 0)."""
    if shape not in SCALING_SHAPES:
        raise KeyError(f"unknown scaling shape {shape!r} (known: {', '.join(SCALING_SHAPES)})")
    limit = len(AMDAHL_BATCHES) * len(AMDAHL_CORES) + len(GPU_BATCHES)
    if not 1 <= configs <= limit:
        raise ValueError(f"configs must be in [1, {limit}]")
    rng = np.random.default_rng([int(seed), zlib.crc32(f"scaling-{shape}".encode()), nodes, configs])
    topo = chain(nodes) if shape == "chain" else nested_sp(nodes, _rng_pick(rng))
    rows = {}
    for v in topo.nodes:
        gpu = configs > len(AMDAHL_BATCHES) * len(AMDAHL_CORES) or bool(rng.uniform() < 0.4)
        rows[v] = amdahl_profile(rng, configs, gpu)
    caps = [math.log(_reference_capacity(rows[v])) for v in topo.nodes]
    rate = round(math.exp(sum(caps) / len(caps)) * _log_uniform(rng, 1.0, 5.0), 2)
    prices = {"cpu": 1.0, "gpu": BASE_PRICES["gpu"]}
    inst = assemble(topo, rows, name=f"scaling-{shape}-{nodes}x{configs}-s{seed}", rates=[rate],
                    prices=prices, queueing=queueing)
    return place_slas(inst, {MAIN_FLOW: sla_position}, decimals=SLA_DECIMALS)


def scaling_family(shapes: Sequence[str] = SCALING_SHAPES, nodes: Sequence[int] = (10, 100, 1000),
                   configs: Sequence[int] = (50, 200), seed: int = 0) -> list[Instance]:
    """:func:`scaling_instance` for every (shape, node count, row count)."""
    return [scaling_instance(s, n, k, seed) for s in shapes for n in nodes for k in configs]


# =========================================================================================
# The ``fa2opt generate`` subcommand
# =========================================================================================
def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "generate", help="write a synthetic instance suite",
        description="Write COUNT synthetic instances of suite NAME into DIR (deterministic "
                    "for SEED), with manifest.csv and README.md.")
    p.add_argument("--suite", required=True, choices=list(SUITES), metavar="NAME",
                   help="one of: " + ", ".join(SUITES))
    p.add_argument("--count", required=True, type=int, metavar="N")
    p.add_argument("--seed", type=int, default=0, metavar="S", help="default 0")
    p.add_argument("--out", required=True, metavar="DIR")
    p.add_argument("--force", action="store_true",
                   help="replace generated files already in DIR")
    p.set_defaults(func=cmd_generate)


def cmd_generate(args: argparse.Namespace) -> int:
    if args.count < 1:
        print(f"--count: must be a positive integer (got {args.count})", file=sys.stderr)
        return 2
    if args.seed < 0:
        print(f"--seed: must be >= 0 (got {args.seed})", file=sys.stderr)
        return 2
    try:
        generated = write_suite(args.suite, args.count, args.seed, args.out, force=args.force)
    except OSError as exc:
        print(f"{args.out}: --out: cannot write ({exc.strerror or exc})", file=sys.stderr)
        return 2
    n_inf = sum(not g.feasible for g in generated)
    print(f"wrote {len(generated)} instances of suite {args.suite} (seed {args.seed}, "
          f"{n_inf} infeasible) to {args.out}")
    return 0


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


__all__ = ["Pick", "SHAPES", "Topology", "BUILDERS", "build", "chain", "fork_join",
           "nested_sp", "non_sp", "tree", "multi_flow", "has_induced_n", "has_bridge",
           "is_chain", "is_out_tree", "SUITES", "Sizes", "Generated", "assemble",
           "flow_frontier", "sla_at", "place_slas", "amdahl_profile", "measured_profile",
           "random_instance", "generate_suite", "generate_generated", "write_suite",
           "instance_json", "scaling_instance", "scaling_family", "add_parser"]
