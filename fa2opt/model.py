"""The problem's plain data: instance, node, flow, edge and configuration (profile row).

These objects are immutable and hold the instance exactly as given (after validation by
:mod:`fa2opt.io`); nothing here derives replicas, latency or cost -- that is
:mod:`fa2opt.tables`, the single source of truth for the spec's rules.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any, Iterable, Mapping, Sequence

QUEUEING_DEFAULT = "batch-fill"
MAIN_FLOW = "main"


@dataclass(frozen=True)
class Config:
    """One profile row: a batch of ``batch`` requests takes ``latency_ms`` on one replica that
    holds ``units`` units of hardware kind ``hardware``."""

    batch: int
    hardware: str
    units: float
    latency_ms: float
    variant: str | None = None
    accuracy: float | None = None

    @property
    def identity(self) -> tuple[int, str, float, str | None]:
        """A row is identified by (batch, hardware, units, variant) (spec)."""
        return (self.batch, self.hardware, self.units, self.variant)


@dataclass(frozen=True)
class Node:
    name: str
    configs: tuple[Config, ...]
    multiplier: float = 1.0
    max_replicas: int | None = None
    max_batch: int | None = None


@dataclass(frozen=True)
class Edge:
    src: str
    dst: str
    latency_ms: float = 0.0


@dataclass(frozen=True)
class Flow:
    name: str
    rate_rps: float
    sla_ms: float
    nodes: tuple[str, ...]


@dataclass(frozen=True)
class Instance:
    """A validated problem instance. ``extra`` keeps the keys the base problem ignores (e.g. an
    extension's ``capacity`` map); ``source`` is the file it came from, for messages."""

    name: str
    nodes: tuple[Node, ...]
    edges: tuple[Edge, ...]
    flows: tuple[Flow, ...]
    prices: Mapping[str, float] = field(default_factory=dict)
    queueing: str = QUEUEING_DEFAULT
    max_utilization: float = 1.0
    extra: Mapping[str, Any] = field(default_factory=dict)
    source: str = "<memory>"

    # -- lookups -----------------------------------------------------------------------
    @cached_property
    def node_index(self) -> dict[str, int]:
        return {n.name: i for i, n in enumerate(self.nodes)}

    def node(self, name: str) -> Node:
        return self.nodes[self.node_index[name]]

    def price(self, hardware: str) -> float:
        """Cost per unit of a hardware kind; a kind missing from ``prices`` costs 1.0."""
        return float(self.prices.get(hardware, 1.0))

    def flow(self, name: str) -> Flow:
        for f in self.flows:
            if f.name == name:
                return f
        raise KeyError(name)

    @cached_property
    def _flow_rate_sums(self) -> dict[str, Any]:
        """Σ_{f ∋ v} λ_f per node, added left to right in flow order (the order of
        :func:`fa2opt.spec.rate_sum`; rates may be arrays, for decision tables): one pass over
        the flows, so every node's rate together costs O(Σ_f |f|), not O(V · Σ_f |f|)."""
        sums: dict[str, Any] = {}
        for f in self.flows:
            for v in f.nodes:
                sums[v] = sums.get(v, 0) + f.rate_rps
        return sums

    def node_rate(self, name: str) -> float:
        """λ_v = m_v · Σ_{f ∋ v} λ_f: the node serves every flow that contains it."""
        return self.node(name).multiplier * self._flow_rate_sums.get(name, 0)

    def flow_edges(self, flow: Flow) -> tuple[Edge, ...]:
        """Edges whose two ends are both in the flow (the only ones that count for it)."""
        members = set(flow.nodes)
        return tuple(e for e in self.edges if e.src in members and e.dst in members)

    @cached_property
    def topological_order(self) -> tuple[str, ...]:
        """Node names in a topological order of the whole graph (validated acyclic)."""
        return tuple(topological_order([n.name for n in self.nodes],
                                       [(e.src, e.dst) for e in self.edges]))

    # -- variations (used by sweeps and decision tables) ---------------------------------
    def with_rates(self, scale: float = 1.0, rates: Mapping[str, float] | None = None) -> "Instance":
        """A copy with every flow's rate multiplied by ``scale`` and/or set from ``rates``."""
        rates = dict(rates or {})
        flows = tuple(
            replace(f, rate_rps=rates.get(f.name, f.rate_rps) * scale) for f in self.flows
        )
        return replace(self, flows=flows)

    def with_slas(self, slas: Mapping[str, float]) -> "Instance":
        flows = tuple(replace(f, sla_ms=slas.get(f.name, f.sla_ms)) for f in self.flows)
        return replace(self, flows=flows)


def topological_order(nodes: Sequence[str], edges: Iterable[tuple[str, str]]) -> list[str]:
    """Kahn's algorithm, ties broken by the order of ``nodes`` so every caller sees the same
    order; nodes on a cycle are left out. O(V + E)."""
    indeg = {v: 0 for v in nodes}
    succ: dict[str, list[str]] = {v: [] for v in nodes}
    for src, dst in edges:
        indeg[dst] += 1
        succ[src].append(dst)
    ready = [v for v in nodes if indeg[v] == 0]
    order: list[str] = []
    i = 0
    while i < len(ready):
        v = ready[i]
        i += 1
        order.append(v)
        for w in succ[v]:
            indeg[w] -= 1
            if indeg[w] == 0:
                ready.append(w)
    return order
