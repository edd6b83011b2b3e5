"""A problem ready for solvers: an instance, its configuration tables and each flow's graph.

Solvers receive a :class:`Problem` (the "configuration tables in memory" from which the
spec times every decision) and answer with a choice of one table position per node.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from . import spec
from .flow_matrix import flow_matrix
from .model import Instance
from .tables import NodeTable, PackedTables, node_tables, pack_tables


def _per_graph(make: Callable[[Any], Any]) -> property:
    """A property of a :class:`FlowGraph` made on first use into the dict its copies share
    (``_derived``, see ``FlowGraph.__post_init__``): a ``cached_property`` whose value
    every copy with other budgets sees."""
    name = make.__name__

    def get(self: Any) -> Any:
        derived = self._derived
        if name not in derived:
            derived[name] = make(self)
        return derived[name]

    get.__doc__ = make.__doc__
    return property(get)


@dataclass(frozen=True)
class FlowGraph:
    """Flow f's subgraph: its nodes in topological order and, per node, its in-flow
    predecessors with the edge latency d_e."""

    name: str
    sla_ms: float
    nodes: tuple[str, ...]
    preds: Mapping[str, tuple[tuple[str, float], ...]]
    # what the DP compares path latencies with: fl(S + 1e-6) (spec.budget_ms); solvers widen
    # or narrow it by spec.fp_margin_ms and settle the last bits by meets_sla (fa2opt.edge)
    budget_ms: float = float("nan")
    # False: a graph whose node latencies are sums grouped otherwise than the spec's rule
    # adds them (a run of series nodes merged into one, fa2opt.reductions.series_runs), so
    # the rule checked on it is not the instance's, by an ulp or so: searches that judge
    # their leaves by the rule (fa2opt.reductions.flow_bound) do not judge on such a graph
    rule_exact: bool = True

    def __post_init__(self) -> None:
        if self.budget_ms != self.budget_ms:  # NaN: not given
            object.__setattr__(self, "budget_ms", spec.budget_ms(self.sla_ms))
        # what depends on the graph alone (succs, terms, structure), made on first use and
        # shared with every copy of this graph with other budgets (FlowGraph.replaced
        # copies the instance dict, hence this one by reference): made once per graph,
        # wherever first needed, not forced on every copy's original in advance
        object.__setattr__(self, "_derived", {})

    def replaced(self, **fields: object) -> "FlowGraph":
        """This graph with ``fields`` (name, SLA, budget) replaced, sharing its structure
        cache (``_derived``): where only those change, the copies of one graph compute its
        successors, terms and structure once (a frozen dataclass's ``__init__`` would cost
        a µs per flow and start a new cache)."""
        h = object.__new__(FlowGraph)
        h.__dict__.update(self.__dict__)
        h.__dict__.update(fields)
        return h

    @_per_graph
    def succs(self) -> dict[str, tuple[tuple[str, float], ...]]:
        out: dict[str, list[tuple[str, float]]] = {v: [] for v in self.nodes}
        for v in self.nodes:
            for u, d in self.preds[v]:
                out[u].append((v, d))
        return {v: tuple(s) for v, s in out.items()}

    @_per_graph
    def terms(self) -> int:
        """Nodes plus edges: the terms of a path sum (for the float margin, spec.fp_margin_ms)."""
        return len(self.nodes) + sum(map(len, self.preds.values()))

    @property
    def sources(self) -> tuple[str, ...]:
        return tuple(v for v in self.nodes if not self.preds[v])

    @property
    def sinks(self) -> tuple[str, ...]:
        return tuple(v for v in self.nodes if not self.succs[v])

    @_per_graph
    def structure(self) -> tuple[tuple[str, ...], tuple[tuple[tuple[str, float], ...], ...]]:
        """The graph alone (nodes in order, each one's predecessor list): the key under which
        its series-parallel decomposition is cached (:mod:`fa2opt.reductions.sp_decompose`)."""
        return self.nodes, tuple([self.preds[v] for v in self.nodes])

    def longest_path(self, node_latency: Mapping[str, float]) -> float:
        """Longest source→sink path by the spec's one rule (:func:`fa2opt.spec.longest_path`)."""
        return spec.longest_path(self.nodes, self.preds, node_latency)

    def meets_sla(self, node_latency: Mapping[str, float]) -> bool:
        return spec.meets(self.longest_path(node_latency), self.sla_ms)


def flow_graphs(instance: Instance) -> tuple[FlowGraph, ...]:
    """Each flow's graph: its nodes in the instance's topological order, and per node its
    in-flow predecessors in the instance's edge order (:meth:`Instance.flow_edges`'s).
    From each node's in-edges, made once: O(E) plus O(Σ_{v ∈ f} (1 + in-degree v) +
    |f| log |f|) per flow (scanning every edge per flow was O(F · E): 0.9 s on 3,000 flows
    over 300 nodes). A node whose every in-edge comes from inside the flow (most nodes of
    flows sharing a graph) shares one predecessor tuple with every such flow."""
    rank = {v: i for i, v in enumerate(instance.topological_order)}
    into: dict[str, list[tuple[str, float]]] = {}
    for e in instance.edges:
        into.setdefault(e.dst, []).append((e.src, e.latency_ms))
    whole = {v: tuple(p) for v, p in into.items()}
    tails = {v: frozenset([u for u, _ in p]) for v, p in into.items()}
    graphs = []
    for f in instance.flows:
        members = frozenset(f.nodes)
        preds = {}
        for v in members:
            t = tails.get(v)
            preds[v] = (() if t is None else whole[v] if t <= members
                        else tuple([(u, d) for u, d in whole[v] if u in members]))
        graphs.append(FlowGraph(
            name=f.name, sla_ms=f.sla_ms,
            nodes=tuple(sorted(members, key=rank.__getitem__)),
            preds=preds,
        ))
    return tuple(graphs)


@dataclass(frozen=True)
class Problem:
    instance: Instance
    tables: Mapping[str, NodeTable]
    flows: tuple[FlowGraph, ...]
    # ``tables`` packed (made with them by from_instance; None: packed where needed). A
    # problem made from another with the same tables passes it on, one with new tables not
    packed: PackedTables | None = field(default=None, compare=False, repr=False)

    @classmethod
    def from_instance(cls, instance: Instance) -> "Problem":
        tables = node_tables(instance)
        return cls(instance, tables, flow_graphs(instance), pack_tables(tables))

    def with_flows(self, flows: tuple[FlowGraph, ...]) -> "Problem":
        """This problem with ``flows`` (the same graphs with other budgets) and the same
        tables and pack: a copy without the frozen dataclass's field-by-field ``__init__``
        (:meth:`with_budgets`: a DP that reads its widened budgets from a copy, fa2-grid's
        capped copy)."""
        p = object.__new__(Problem)
        p.__dict__.update(self.__dict__)
        p.__dict__["flows"] = flows
        return p

    def with_budgets(self, budgets: Sequence[float]) -> "Problem":
        """This problem with its flows' budgets ``budgets`` (in flow order), by
        :meth:`with_flows` and :meth:`FlowGraph.replaced`."""
        return self.with_flows(tuple([g.replaced(budget_ms=b)
                                      for g, b in zip(self.flows, budgets)]))

    def packed_tables(self) -> PackedTables:
        """``tables`` packed: the pack made with them, else one made now (a problem made
        with new tables carries none)."""
        return self.packed if self.packed is not None else pack_tables(self.tables)

    def structure_key(self) -> tuple:
        """What depends on the structure alone is keyed by (a plan, a structure's runs of
        series nodes): the node names (table order) and each flow's graph
        (``FlowGraph.structure``: nodes in topological order, predecessor lists with
        delays)."""
        return tuple(self.tables), tuple([g.structure for g in self.flows])

    @property
    def node_names(self) -> tuple[str, ...]:
        return tuple(self.tables)

    @property
    def empty_nodes(self) -> tuple[str, ...]:
        """Nodes left with no available configuration (the instance is then infeasible)."""
        return tuple(v for v, t in self.tables.items() if len(t) == 0)

    def fastest_choice(self) -> dict[str, int] | None:
        """The least-latency configuration per node (table position 0; ties by cost)."""
        if self.empty_nodes:
            return None
        return {v: 0 for v in self.tables}

    def latencies(self, choice: Mapping[str, int]) -> dict[str, float]:
        return {v: self.tables[v].lists[2][k] for v, k in choice.items()}

    def cost(self, choice: Mapping[str, int]) -> float:
        """Σ_v c_v of ``choice``, added left to right in its order (:func:`fa2opt.spec.left_sum`:
        the same bits on every Python)."""
        return float(spec.left_sum(self.tables[v].lists[3][k] for v, k in choice.items()))

    def flow_latencies(self, choice: Mapping[str, int]) -> dict[str, float]:
        lat = self.latencies(choice)
        matrix = flow_matrix(self.flows)  # many flows: all at once (the same bits)
        if matrix is not None:
            return dict(zip([g.name for g in self.flows], matrix.longest_paths(lat).tolist()))
        return {g.name: g.longest_path(lat) for g in self.flows}

    def meets_slas(self, choice: Mapping[str, int]) -> bool:
        """The spec's SLA test (:mod:`fa2opt.spec`) on every flow."""
        return self.sla_latencies(choice) is not None

    def sla_latencies(self, choice: Mapping[str, int]) -> dict[str, float] | None:
        """Each flow's latency by the spec's rule (``{flow: latency}``, the problem's flow
        order) when ``choice`` meets every SLA, else None: :meth:`meets_slas`'s one test,
        returning what it computed, so a checked decision's answer need not compute the
        same flow latencies again (:func:`fa2opt.edge.decide_exact`). O(V + E) per flow; for
        many flows sharing a graph every flow at once by the rule's matrices
        (:mod:`fa2opt.flow_matrix`: the same bits, O(V) numpy steps)."""
        lat = self.latencies(choice)
        matrix = flow_matrix(self.flows)
        if matrix is not None:
            paths = matrix.longest_paths(lat)
            if not spec.meets(paths, np.asarray([g.sla_ms for g in self.flows])).all():
                return None
            return dict(zip([g.name for g in self.flows], paths.tolist()))
        out: dict[str, float] = {}
        for g in self.flows:
            x = g.longest_path(lat)
            if not spec.meets(x, g.sla_ms):
                return None
            out[g.name] = x
        return out

    def is_feasible(self) -> bool:
        """Exact feasibility: every flow's latency only grows with each node's L, so the
        instance is feasible iff the all-fastest choice meets every SLA (spec)."""
        fastest = self.fastest_choice()
        return fastest is not None and self.meets_slas(fastest)
