"""Hypothesis strategies for small random instances of every shape.

    from tests.strategies import instances   # or: from strategies import instances

    @given(instances(max_nodes=5, max_configs=4))
    def test_something(inst): ...

Shapes come from :mod:`fa2opt.generate` (the same builders as the synthetic suites, driven
by hypothesis draws so failures shrink): chain, fork-join, nested-sp, non-sp (bridge and
"N"), tree, multi-flow (shared nodes). Each instance may have edge latencies, multipliers,
max_replicas/max_batch, any of the spec's queueing models, several hardware kinds with
prices, and SLAs placed near the feasibility frontier (between the all-fastest latency and
the cheapest choice's latency, sometimes a little below the all-fastest one, so some
instances are infeasible). With the defaults (≤ 5 nodes, ≤ 4 rows per node) there are at
most 4^5 = 1024 configuration combinations, so brute force is instant.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Sequence

from hypothesis import strategies as st

from fa2opt.generate import MIN_NODES, SHAPES, SPEC_QUEUEING, assemble, build, flow_names, \
    place_slas
from fa2opt.model import Config, Instance
from fa2opt.problem import Problem

BATCHES = (1, 2, 4, 8)
HARDWARE = ("cpu", "gpu", "tpu")
UNITS = (1, 2, 4)
VARIANTS = (None, "small", "large")
# identity pool (batch, hardware, units, variant); identities within a node are unique
_POOL = [(b, h, u, var) for b in BATCHES for h in HARDWARE for u in UNITS for var in VARIANTS]


def _latency(base: float, batch: int, hardware: str, units: int, variant: str | None,
             noise: float) -> float:
    """Correlated latency: grows with batch, falls with units (more cost), faster on
    accelerators, 'small' variants faster; times a drawn noise factor."""
    speed = {"cpu": 1.0, "gpu": 0.3, "tpu": 0.5}[hardware]
    size = {None: 1.0, "small": 0.6, "large": 1.5}[variant]
    return max(0.001, round(base * batch ** 0.8 / units ** 0.7 * speed * size * noise, 3))


@st.composite
def configs(draw: st.DrawFn, max_configs: int = 4, hardware: Sequence[str] = HARDWARE) -> list[Config]:
    """1..max_configs profile rows with distinct identities and correlated latencies."""
    pool = [ident for ident in _POOL if ident[1] in hardware]
    k = draw(st.integers(1, max_configs))
    idents = draw(st.lists(st.sampled_from(pool), min_size=k, max_size=k, unique=True))
    base = draw(st.floats(1.0, 200.0))
    rows = []
    for b, h, u, var in idents:
        noise = draw(st.floats(0.5, 2.0))
        rows.append(Config(b, h, float(u), _latency(base, b, h, u, var, noise), var))
    return rows


def _chance(p: float) -> st.SearchStrategy[bool]:
    """True with probability about ``p`` (hypothesis biases raw floats towards bounds)."""
    k = max(1, round(1 / p))
    return st.sampled_from([False] * (k - 1) + [True])


@st.composite
def caps(draw: st.DrawFn, inst: Instance, p_cap: float = 0.15,
         p_empty: float = 0.05) -> Instance:
    """Add occasional ``max_replicas``/``max_batch`` to the nodes of ``inst``. A cap is
    mostly one of the node's own replica counts/batches (so a row survives); with
    probability ``p_empty`` it may be anything, which can leave a node with no available
    row (infeasible, not an input error)."""
    tables = Problem.from_instance(inst).tables
    nodes = []
    for node in inst.nodes:
        reps = sorted({int(r) for r in tables[node.name].replicas})
        batches = sorted({c.batch for c in node.configs})
        wild = draw(_chance(p_empty))
        max_r = max_b = None
        if draw(_chance(p_cap)):
            max_r = draw(st.integers(1, 8)) if wild else draw(st.sampled_from(reps))
        if draw(_chance(p_cap)):
            max_b = draw(st.sampled_from(BATCHES)) if wild else draw(st.sampled_from(batches))
        nodes.append(replace(node, max_replicas=max_r, max_batch=max_b))
    return replace(inst, nodes=tuple(nodes))


@st.composite
def instances(draw: st.DrawFn, max_nodes: int = 5, max_configs: int = 4,
              shapes: Sequence[str] = SHAPES, multi_flow: bool = True,
              queueing: str | None = None, min_nodes: int = 1,
              infeasible: bool | None = None, p_infeasible: float = 0.15) -> Instance:
    """A small random :class:`fa2opt.Instance`.

    ``shapes``: which of :data:`fa2opt.generate.SHAPES` to draw from (those needing more
    than ``max_nodes`` nodes are dropped); ``multi_flow=False`` drops the multi-flow shape;
    ``queueing``: a fixed model, or None for any of the spec's three; ``infeasible``: None
    puts one flow's SLA below its all-fastest latency with probability ``p_infeasible``
    (the others anywhere from the all-fastest latency to a little past the cheapest
    choice's latency), False keeps every SLA ≥ its all-fastest latency (feasible
    unless max_replicas/max_batch empties a node), True puts one SLA below it.
    """
    allowed = [s for s in shapes if MIN_NODES[s] <= max_nodes and (multi_flow or s != "multi-flow")]
    if not allowed:
        raise ValueError(f"no shape of {tuple(shapes)} fits max_nodes={max_nodes}")
    shape = draw(st.sampled_from(allowed))
    n = draw(st.integers(max(min_nodes, MIN_NODES[shape]), max(max_nodes, MIN_NODES[shape])))
    topo = build(shape, n, lambda lo, hi: draw(st.integers(lo, hi)))

    kinds = draw(st.sampled_from([("cpu",), ("cpu", "gpu"), ("cpu", "gpu", "tpu")]))
    rows = {v: draw(configs(max_configs, kinds)) for v in topo.nodes}
    prices = {h: (1.0 if h == "cpu" else draw(st.floats(1.5, 12.0))) for h in kinds
              if h == "cpu" or draw(st.booleans())}  # a missing kind costs 1.0 (spec)
    multipliers = {v: draw(st.sampled_from([1.0, 0.5, 1.5, 2.3, 3.0])) for v in topo.nodes}
    groups = sorted({g for _, _, g in topo.edges})
    with_delays = draw(st.booleans())
    group_latency = {g: draw(st.sampled_from([0.0, 0.5, 2.0, 10.0])) if with_delays else 0.0
                     for g in groups}
    fnames = flow_names(topo)
    rates = [draw(st.floats(1.0, 300.0)) for _ in fnames]
    inst = assemble(
        topo, rows, name=f"hyp-{shape}", rates=rates, multipliers=multipliers,
        group_latency=group_latency, prices=prices,
        queueing=queueing or draw(st.sampled_from(SPEC_QUEUEING)),
        max_utilization=draw(st.sampled_from([1.0, 0.9, 0.75, 0.5])))
    inst = draw(caps(inst))

    positions = {f: draw(st.floats(0.0, 1.2)) for f in fnames}
    if infeasible or (infeasible is None and draw(_chance(p_infeasible))):
        positions[draw(st.sampled_from(fnames))] = draw(st.floats(-0.2, -0.01))
    return place_slas(inst, positions)


def _ulps(x: float, k: int) -> float:
    """``x`` moved ``k`` units in the last place (negative: down)."""
    for _ in range(abs(k)):
        x = math.nextafter(x, math.inf if k > 0 else -math.inf)
    return x


@st.composite
def edge_instances(draw: st.DrawFn, max_nodes: int = 5, max_configs: int = 4,
                   multi_flow: bool = True) -> Instance:
    """An instance of :func:`instances` whose flows' SLAs sit at the spec's tolerance edge:
    for a random choice of rows (a flow's latency L under the spec's rule), the SLA is
    ``L − 1e-6`` moved a few ulps either way, so ``fl(S + 1e-6)`` lands on, just below or
    just above L. Latencies with many significant digits (edge latencies like 33.333)
    make the float sums inexact, so the order in which a solver adds them matters."""
    inst = draw(instances(max_nodes=max_nodes, max_configs=max_configs,
                          multi_flow=multi_flow, infeasible=False))
    scale = draw(st.sampled_from([1.0, 1 / 3, 0.1, 7.77]))
    edges = tuple(replace(e, latency_ms=round(e.latency_ms * scale + draw(
        st.sampled_from([0.0, 0.3, 33.333, 0.1])), 6)) for e in inst.edges)
    inst = replace(inst, edges=edges)
    problem = Problem.from_instance(inst)
    if problem.empty_nodes:
        return inst
    choice = {v: draw(st.integers(0, len(t) - 1)) for v, t in problem.tables.items()}
    lat = problem.flow_latencies(choice)
    slas = {}
    for g in problem.flows:
        target = lat[g.name] - 1e-6
        slas[g.name] = max(1e-9, _ulps(target, draw(st.integers(-3, 3))))
    return inst.with_slas(slas)
