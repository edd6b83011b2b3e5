"""Instances from a shape: :func:`random_instance`, SLAs on the feasibility frontier
(:func:`flow_frontier`, :func:`sla_at`, :func:`place_slas`) and the benchmark family
(:func:`scaling_instance`, :func:`scaling_family`).

SLAs are drawn between each flow's all-fastest latency and its latency at the cheapest
choice -- or a little below the all-fastest one, which makes the instance infeasible (spec:
infeasible exactly when the all-fastest choice breaks an SLA), computed with
:class:`fa2opt.problem.Problem`.
"""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from ..model import MAIN_FLOW, Config, Edge, Flow, Instance, Node
from ..problem import Problem
from .draws import choice, log_uniform, rng_pick
from .profiles import (AMDAHL_BATCHES, AMDAHL_CORES, BASE_PRICES, GPU_BATCHES, amdahl_profile,
                       measured_profile, measured_profile_files, reference_capacity)
from .shapes import MIN_NODES, Topology, build, chain, deep_sp, nested_sp

SPEC_QUEUEING = ("batch-fill", "none", "worst-case")
SLA_DECIMALS = 3


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


def random_instance(shape: str, rng: np.random.Generator, *, name: str,
                    sizes: Sizes = Sizes(), p_measured: float = 0.5,
                    p_infeasible: float = 0.18,
                    profile_files: Sequence[Path] | None = None) -> Generated:
    """One random instance of ``shape`` (see docs/generator.md).

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
    pick = rng_pick(rng)
    lo = max(sizes.nodes[0], MIN_NODES[shape])
    n = int(rng.integers(lo, max(lo, sizes.nodes[1]) + 1))
    topo = build(shape, n, pick)

    rows: dict[str, list[Config]] = {}
    sources: dict[str, str] = {}
    multipliers: dict[str, float] = {}
    klo, khi = sizes.configs
    for v in topo.nodes:
        k = int(round(log_uniform(rng, klo, khi))) if khi > klo else klo
        if profile_files and rng.uniform() < p_measured:
            path = Path(choice(rng, list(profile_files)))
            rows[v], scale = measured_profile(rng, k, path)
            sources[v] = f"{path.name}x{scale:g}"
        else:
            gpu = bool(rng.uniform() < 0.4)
            rows[v] = amdahl_profile(rng, k, gpu)
            sources[v] = "amdahl+gpu" if gpu else "amdahl"
        multipliers[v] = 1.0 if rng.uniform() < 0.7 else choice(rng, (0.5, 1.5, 2.0, 2.3, 3.0))

    kinds = sorted({c.hardware for cs in rows.values() for c in cs})
    prices = {h: 1.0 if h == "cpu" else round(BASE_PRICES.get(h, 4.0) * log_uniform(rng, 0.75, 1.33), 3)
              for h in kinds}
    queueing = choice(rng, SPEC_QUEUEING, (0.7, 0.15, 0.15))
    rho = 1.0 if rng.uniform() < 0.6 else choice(rng, (0.95, 0.9, 0.85, 0.8, 0.7))
    groups = sorted({g for _, _, g in topo.edges})
    delays = rng.uniform() < 0.5
    group_latency = {g: (0.0 if rng.uniform() < 0.3 else round(rng.uniform(0.0, 15.0), 2))
                     if delays else 0.0 for g in groups}

    members = topo.flows or (topo.nodes,)
    sharing = {v: sum(v in m for m in members) for v in topo.nodes}
    rates = []
    for m in members:
        caps = [math.log(reference_capacity(rows[v]) / (multipliers[v] * sharing[v])) for v in m]
        base = math.exp(sum(caps) / len(caps))
        rates.append(max(0.01, round(base * log_uniform(rng, 0.3, 10.0), 2)))

    inst = assemble(topo, rows, name=name, rates=rates, multipliers=multipliers,
                    group_latency=group_latency, prices=prices, queueing=queueing,
                    max_utilization=rho)
    inst = _random_caps(inst, rng)

    fnames = flow_names(topo)
    positions = {f: float(rng.uniform(0.02, 0.98)) for f in fnames}
    infeasible = bool(rng.uniform() < p_infeasible)
    if infeasible:
        positions[choice(rng, fnames)] = float(rng.uniform(-0.15, -0.01))
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


# -- scaling family (benchmarks; not committed) -------------------------------------------------
SCALING_SHAPES = ("chain", "sp", "deep-sp")


def scaling_instance(shape: str, nodes: int, configs: int, seed: int = 0,
                     sla_position: float = 0.3, queueing: str = "batch-fill") -> Instance:
    """A large single-flow instance for benchmarks: a chain, a nested series-parallel
    graph (``shape`` "sp", random nesting) or one nested as deep as it can be ("deep-sp":
    :func:`~fa2opt.generate.shapes.deep_sp`, depth ⌊(nodes − 1)/3⌋) of ``nodes`` nodes, each with exactly ``configs`` synthetic
    Amdahl rows (≤ 200; every node gets the GPU option when more than 192 are asked),
    rate from the nodes' capacities, SLA at ``sla_at(F, C, sla_position)`` (feasible for
    positions ≥ 0)."""
    if shape not in SCALING_SHAPES:
        raise KeyError(f"unknown scaling shape {shape!r} (known: {', '.join(SCALING_SHAPES)})")
    limit = len(AMDAHL_BATCHES) * len(AMDAHL_CORES) + len(GPU_BATCHES)
    if not 1 <= configs <= limit:
        raise ValueError(f"configs must be in [1, {limit}]")
    rng = np.random.default_rng([int(seed), zlib.crc32(f"scaling-{shape}".encode()), nodes, configs])
    topo = (chain(nodes) if shape == "chain" else deep_sp(nodes) if shape == "deep-sp"
            else nested_sp(nodes, rng_pick(rng)))
    rows = {}
    for v in topo.nodes:
        gpu = configs > len(AMDAHL_BATCHES) * len(AMDAHL_CORES) or bool(rng.uniform() < 0.4)
        rows[v] = amdahl_profile(rng, configs, gpu)
    caps = [math.log(reference_capacity(rows[v])) for v in topo.nodes]
    rate = round(math.exp(sum(caps) / len(caps)) * log_uniform(rng, 1.0, 5.0), 2)
    prices = {"cpu": 1.0, "gpu": BASE_PRICES["gpu"]}
    inst = assemble(topo, rows, name=f"scaling-{shape}-{nodes}x{configs}-s{seed}", rates=[rate],
                    prices=prices, queueing=queueing)
    return place_slas(inst, {MAIN_FLOW: sla_position}, decimals=SLA_DECIMALS)


def scaling_family(shapes: Sequence[str] = ("chain", "sp"), nodes: Sequence[int] = (10, 100, 1000),
                   configs: Sequence[int] = (50, 200), seed: int = 0) -> list[Instance]:
    """:func:`scaling_instance` for every (shape, node count, row count)."""
    return [scaling_instance(s, n, k, seed) for s in shapes for n in nodes for k in configs]
