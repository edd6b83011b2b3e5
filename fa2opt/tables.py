"""The configuration table: the spec's derived quantities, computed in this one place.

For configuration k = (b, h, u, p) of node v (``../shared/spec/problem.md``):

    λ_v = m_v · Σ_{f ∋ v} λ_f                      node arrival rate (req/s)
    μ_k = 1000 · b / p                             per-replica capacity (req/s)
    n_k = max(1, ceil(λ_v / (ρ · μ_k) − 1e-9))     replicas
    q_k = queueing model (none | batch-fill | worst-case)
    L_k = p + q_k                                  node latency (ms)
    c_k = n_k · u · price(h)                       node cost

A row with n_k > max_replicas or b > max_batch is not available (nor, in the base problem,
one past MAX_ROW_REPLICAS that an in-range row dominates). Every solver reads
these tables; none re-derives them. :func:`evaluate` broadcasts over a leading axis of
rates, which is what the batched grid DP and decision tables use.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np

from . import queueing
from .extensions import extension_keys
from .model import Config, Instance, Node
from .spec import MAX_ROW_REPLICAS, REPLICA_EPS


@dataclass(frozen=True)
class ProfileArrays:
    """A node's raw profile rows as arrays (row i is ``node.configs[i]``)."""

    batch: np.ndarray  # int64
    units: np.ndarray  # float64
    latency_ms: np.ndarray  # float64 (p)
    price: np.ndarray  # float64, price(h) per row

    @classmethod
    def of(cls, node: Node, instance: Instance) -> "ProfileArrays":
        return cls.of_rows(node.configs, instance)

    @classmethod
    def of_rows(cls, configs: Sequence[Config], instance: Instance) -> "ProfileArrays":
        """Any profile rows (one node's, or every node's one after another)."""
        return cls(
            batch=np.array([c.batch for c in configs], dtype=np.int64),
            units=np.array([c.units for c in configs], dtype=np.float64),
            latency_ms=np.array([c.latency_ms for c in configs], dtype=np.float64),
            price=np.array([instance.price(c.hardware) for c in configs], dtype=np.float64),
        )


class ReplicaRangeError(ValueError):
    """A profile row would need more than MAX_ROW_REPLICAS replicas: its replica count would
    leave the exact integers of a double. The CLI reports it as bad input."""


def replicas_needed(prof: "ProfileArrays", rate_rps: Any, max_utilization: float,
                    xp: Any = np) -> Any:
    """n_k = max(1, ceil(λ_v / (ρ · μ_k) − 1e-9)) with μ_k = 1000 · b / p, as floats (the one
    place this rule is written; :func:`evaluate` and the input check in :mod:`fa2opt.io`
    read it)."""
    mu = 1000.0 * xp.asarray(prof.batch) / xp.asarray(prof.latency_ms)
    return xp.maximum(1.0, xp.ceil(rate_rps / (max_utilization * mu) - REPLICA_EPS))


def guard_replicas(replicas: Any, rate_rps: Any, xp: Any = np) -> None:
    """Refuse replica counts beyond MAX_ROW_REPLICAS (1e15 < 2^53) rather than let them
    become inexact in a double or overflow int64 (to -2^63)."""
    if getattr(replicas, "size", 1) == 0:
        return
    worst = float(xp.max(replicas))
    if worst > MAX_ROW_REPLICAS:
        rate = float(xp.max(xp.asarray(rate_rps)))
        raise ReplicaRangeError(f"a profile row would need {worst:.16g} replicas (more than "
                                f"{MAX_ROW_REPLICAS:.0e}) at node rate up to {rate:.3g} rps")


def drop_dominated_out_of_range(replicas: Any, latency: Any, cost: Any, available: Any,
                                xp: Any = np) -> Any:
    """``available`` less every row that needs more than MAX_ROW_REPLICAS replicas but is
    dominated by an in-range available row of its node (at the same rate): one with
    ``L_j <= L_k`` and ``c_j <= c_k``. Exact for the base problem: in any decision that takes
    such a row k, taking j instead keeps every flow's latency and lowers no cost, so the
    optimum and feasibility are those of the full table (ties are matches, spec). Rows of
    shape (K,) or (R, K); O(K^2) per rate, run only where some row is out of range."""
    big = available & (replicas > MAX_ROW_REPLICAS)
    if not bool(big.any()):
        return available
    keep = available & ~big
    dominated = (keep[..., None, :] & (latency[..., None, :] <= latency[..., :, None])
                 & (cost[..., None, :] <= cost[..., :, None])).any(axis=-1)
    return available & ~(big & dominated)


def row_available(replicas: Any, batch: Any, max_replicas: int | None, max_batch: int | None,
                  shape: Any, xp: Any = np) -> Any:
    """The spec's availability: not n_k > max_replicas and not b > max_batch (bool array of
    ``shape``; the one place this rule is written). An integer limit is compared as a double
    (one past 2^53, e.g. 10^18 for "unlimited", is past every count and batch there is;
    an int64 array against a Python int past its range is an error in older numpy)."""
    available = xp.ones(shape, dtype=bool)
    for values, limit in ((replicas, max_replicas), (batch, max_batch)):
        if limit is not None:
            available &= values <= (float(limit) if isinstance(limit, int) else limit)
    return available


def evaluate(
    prof: ProfileArrays,
    rate_rps: Any,
    *,
    max_utilization: float,
    queueing_model: str,
    max_replicas: int | None = None,
    max_batch: int | None = None,
    drop_dominated: bool = False,
    guard: bool = True,
    xp: Any = np,
) -> dict[str, Any]:
    """Replicas, queueing delay, node latency, cost and availability of every profile row at
    node rate(s) ``rate_rps`` (a scalar, or an array of shape (R, 1) giving (R, K) results).
    An available row needing more than MAX_ROW_REPLICAS replicas raises
    :class:`ReplicaRangeError`, unless ``drop_dominated`` (base problem only: the instance
    has no extension keys) and an in-range row dominates it
    (:func:`drop_dominated_out_of_range`): then it is left out as unavailable. (``guard``
    False: no raise, for the input check that names the row, :mod:`fa2opt.io`.)

    ``xp`` is the array module (numpy or cupy); ``prof`` arrays are moved to it by the caller.
    """
    b = xp.asarray(prof.batch)
    p = xp.asarray(prof.latency_ms)
    replicas = replicas_needed(prof, rate_rps, max_utilization, xp)
    q = queueing.get(queueing_model)(b, p, rate_rps, xp=xp)
    latency = p + q
    cost = replicas * xp.asarray(prof.units) * xp.asarray(prof.price)
    available = row_available(replicas, b, max_replicas, max_batch, latency.shape, xp)
    if drop_dominated:
        available = drop_dominated_out_of_range(replicas, latency, cost, available, xp)
    # only rows a node can take must stay in range: an unavailable row's count is never used
    if guard:
        guard_replicas(xp.where(available, replicas, 1.0), rate_rps, xp)
    return {"replicas": replicas, "queue_ms": q, "latency_ms": latency, "cost": cost,
            "available": available}


@dataclass(frozen=True)
class NodeTable:
    """The available configurations of one node at its arrival rate.

    Position i of every array describes profile row ``rows[i]`` (an index into
    ``node.configs``). Rows are sorted by (latency, cost) so position 0 is the fastest.
    """

    node: str
    rate_rps: float
    rows: np.ndarray  # int64 indices into node.configs
    replicas: np.ndarray  # int64
    queue_ms: np.ndarray
    latency_ms: np.ndarray  # L
    cost: np.ndarray  # c
    # (rows, replicas, latency_ms, cost) as Python lists, made with the table (so no solver's
    # timed decision pays for them): numpy scalar reads cost ~100 ns each, which would
    # dominate building a small answer
    lists: tuple[list[int], list[int], list[float], list[float]]

    def __len__(self) -> int:
        return len(self.rows)

    def position(self, row: int) -> int:
        """Position in this table of profile row ``row`` (raises if not available)."""
        hits = np.flatnonzero(self.rows == row)
        if len(hits) == 0:
            raise KeyError(f"profile row {row} of node {self.node!r} is not available")
        return int(hits[0])


def node_table(instance: Instance, node: Node) -> NodeTable:
    lam = instance.node_rate(node.name)
    prof = ProfileArrays.of(node, instance)
    ev = evaluate(prof, lam, max_utilization=instance.max_utilization,
                  queueing_model=instance.queueing, max_replicas=node.max_replicas,
                  max_batch=node.max_batch, drop_dominated=not extension_keys(instance))
    rows = np.flatnonzero(ev["available"])
    order = rows[np.lexsort((ev["cost"][rows], ev["latency_ms"][rows]))]
    rows = order.astype(np.int64)
    replicas = ev["replicas"][order].astype(np.int64)
    latency, cost = ev["latency_ms"][order], ev["cost"][order]
    return NodeTable(
        node=node.name, rate_rps=lam, rows=rows, replicas=replicas,
        queue_ms=np.asarray(ev["queue_ms"], dtype=float)[order], latency_ms=latency, cost=cost,
        lists=(rows.tolist(), replicas.tolist(), latency.tolist(), cost.tolist()),
    )


def evaluate_all(instance: Instance) -> tuple[np.ndarray, tuple[float, ...], dict[str, Any]]:
    """Every node's profile rows one after another (node i's at ``start[i]:start[i + 1]``),
    evaluated at once: :func:`evaluate` broadcast over each row's node rate, ``max_replicas``
    and ``max_batch`` (no guard, no dominated row dropped). Returns (start, each node's rate
    λ_v, evaluate's dict). A few numpy calls over all rows, where a call per node costs ~50
    µs of numpy overhead (a second on 20,000 nodes). Kept on the instance (as its cached
    properties are; the arrays read-only): the load's replica check
    (:func:`fa2opt.io.load_instance`) and :func:`node_tables` evaluate the rows once."""
    kept = instance.__dict__.get("_evaluated_rows")
    if kept is not None:
        return kept
    nodes = instance.nodes
    sizes = np.array([len(n.configs) for n in nodes], np.int64)
    start = np.zeros(len(nodes) + 1, np.int64)
    np.cumsum(sizes, out=start[1:])
    prof = ProfileArrays.of_rows([c for n in nodes for c in n.configs], instance)
    per_row = lambda xs: np.repeat(np.array(xs, np.float64), sizes)  # noqa: E731
    rates = [instance.node_rate(n.name) for n in nodes]
    no_limit = float("inf")
    ev = evaluate(prof, per_row(rates), max_utilization=instance.max_utilization,
                  queueing_model=instance.queueing, guard=False,
                  max_replicas=per_row([no_limit if n.max_replicas is None else n.max_replicas
                                        for n in nodes]),
                  max_batch=per_row([no_limit if n.max_batch is None else n.max_batch
                                     for n in nodes]))
    for a in (start, *ev.values()):
        if isinstance(a, np.ndarray):
            a.setflags(write=False)
    instance.__dict__["_evaluated_rows"] = kept = (start, tuple(rates), ev)
    return kept


def node_tables(instance: Instance) -> dict[str, NodeTable]:
    """Every node's configuration table, keyed by node name (in declaration order): what
    :func:`node_table` makes of each node, from every row evaluated at once
    (:func:`evaluate_all`) and sorted at once by (node, L, cost, row), then split (a table
    a node: ``Problem.from_instance`` of a 20,000-node fan 0.81 s, 0.28 s so). A node with an available row past
    MAX_ROW_REPLICAS takes :func:`node_table` itself (the dominated ones dropped, or the
    error raised)."""
    nodes = instance.nodes
    start, rates, ev = evaluate_all(instance)
    node_of = np.repeat(np.arange(len(nodes)), np.diff(start))
    avail = ev["available"]
    out_of_range = np.unique(node_of[avail & (ev["replicas"] > MAX_ROW_REPLICAS)])
    if out_of_range.size:
        avail = avail & ~np.isin(node_of, out_of_range)
    order = np.flatnonzero(avail)
    order = order[np.lexsort((ev["cost"][order], ev["latency_ms"][order], node_of[order]))]
    rows = order - start[node_of[order]]
    replicas = ev["replicas"][order].astype(np.int64)
    queue = np.asarray(ev["queue_ms"], dtype=float)[order]
    latency, cost = ev["latency_ms"][order], ev["cost"][order]
    # (each table's arrays are disjoint slices of these: writable, as a table's own were --
    # read-only ones would give the compiled kernels another signature to compile)
    lists = rows.tolist(), replicas.tolist(), latency.tolist(), cost.tolist()
    ends = np.zeros(len(nodes) + 1, np.int64)
    np.cumsum(np.bincount(node_of[order], minlength=len(nodes)), out=ends[1:])
    tables = {}
    for n, lam, a, b in zip(nodes, rates, ends[:-1].tolist(), ends[1:].tolist()):
        tables[n.name] = NodeTable(n.name, lam, rows[a:b], replicas[a:b], queue[a:b],
                                   latency[a:b], cost[a:b], (lists[0][a:b], lists[1][a:b],
                                                             lists[2][a:b], lists[3][a:b]))
    for i in out_of_range.tolist():
        tables[nodes[i].name] = node_table(instance, nodes[i])
    return tables


@dataclass(frozen=True)
class PackedTables:
    """Every node's table one after another, in the tables' order: node ``nodes[i]``'s
    positions are ``row_ptr[i]:row_ptr[i + 1]`` of ``latency_ms`` and ``cost`` (the compiled
    kernels' layout, :mod:`fa2opt.tree_kernel`). Made with the tables
    (:meth:`fa2opt.problem.Problem.from_instance`), as their ``lists`` are, so no timed
    decision repacks them."""

    nodes: tuple[str, ...]
    row_ptr: np.ndarray  # int64, len(nodes) + 1
    latency_ms: np.ndarray
    cost: np.ndarray


def pack_tables(tables: Mapping[str, NodeTable]) -> PackedTables:
    """``tables`` as one :class:`PackedTables`. O(rows)."""
    ts = list(tables.values())
    row_ptr = np.zeros(len(ts) + 1, np.int64)
    np.cumsum([len(t.cost) for t in ts], out=row_ptr[1:])
    if not ts:
        return PackedTables((), row_ptr, np.zeros(0), np.zeros(0))
    return PackedTables(tuple(tables), row_ptr,
                        np.concatenate([t.latency_ms for t in ts]).astype(float, copy=False),
                        np.concatenate([t.cost for t in ts]).astype(float, copy=False))
