"""Independent verification of an answer against an instance.

Deliberately written apart from :mod:`fa2opt.tables`: it recomputes replicas, queueing
delay, node latency, cost and every flow's longest path from the raw profile rows with
plain scalar arithmetic, so a bug in the shared configuration table cannot hide itself.
(Queueing models beyond the spec's three come from the registry.) Each flow's longest path
is the spec's rule (:mod:`fa2opt.spec`) on the flow's subgraph rebuilt from the raw edges;
for many flows sharing a graph, every flow's at once (the rule's matrices,
:func:`fa2opt.spec.matrix_pays`: the same bits, in O(V) numpy steps rather than
O(Σ_f |f|) Python ones).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Mapping

import numpy as np

from . import extensions, queueing, spec
from .answer import DECISION_STATUSES, STATUSES, Answer
from .model import Instance, topological_order
from .spec import REL_TOL, REPLICA_EPS, SLA_TOL_MS  # noqa: F401  (re-exported for callers)


@dataclass
class Verification:
    ok: bool
    problems: list[str] = field(default_factory=list)
    cost: float | None = None
    flow_latency_ms: dict[str, float] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return self.ok

    def summary(self) -> str:
        return "ok" if self.ok else "; ".join(self.problems)


def _close(a: float, b: float, scale: float = 0.0) -> bool:
    """Equal up to rounding: within ``REL_TOL`` of the larger of 1, |a|, |b| and ``scale``
    (plus 1e-9). ``scale``: the magnitude of the terms a sum adds (Σ|x_i|), where terms of
    both signs may cancel -- a sum's rounding error grows with Σ|x_i|, not with the sum
    (|fl(Σ x) − Σ x| ≤ (n − 1)·u·Σ|x_i|, u = 2⁻⁵³), so an objective Σc − w·Σa near 0 with
    terms of 1e7 differs by ~1e-9 between two summation orders."""
    return abs(a - b) <= REL_TOL * max(1.0, abs(a), abs(b), scale) + 1e-9


def _queue_ms(model: str, b: int, p: float, lam: float) -> float:
    if model == "none":
        return 0.0
    if model == "batch-fill":
        return 1000.0 * (b - 1) / lam
    if model == "worst-case":
        return p
    return float(queueing.get(model)(b, p, lam))


def verify(instance: Instance, answer: Answer) -> Verification:
    """Check an answer: statuses and fields consistent, each chosen row exists and is
    available, reported replicas/latency/cost equal the recomputed ones, and every flow's
    longest source→sink path is within its SLA (+1e-6 ms)."""
    problems: list[str] = []
    if answer.status not in STATUSES:
        return Verification(False, [f"unknown status {answer.status!r}"])
    if answer.status not in DECISION_STATUSES or not answer.nodes:
        if answer.nodes or answer.cost is not None:
            problems.append(f"status {answer.status} must carry no decision")
        if answer.status in ("optimal", "feasible"):
            problems.append(f"status {answer.status} needs a decision")
        return Verification(not problems, problems)

    rho = instance.max_utilization
    latency: dict[str, float] = {}
    chosen: dict[str, tuple] = {}  # node → (raw profile row, replicas): for the extensions
    total = 0.0
    missing = [n.name for n in instance.nodes if n.name not in answer.nodes]
    unknown = [v for v in answer.nodes if v not in instance.node_index]
    if missing:
        problems.append(f"no decision for node(s) {', '.join(missing)}")
    if unknown:
        problems.append(f"unknown node(s) {', '.join(unknown)}")
    if missing or unknown:
        return Verification(False, problems)

    arrays = _arrays(instance)
    rates = _rate_sums(instance, arrays)
    for node in instance.nodes:
        d = answer.nodes[node.name]
        ident = (d.batch, d.hardware, float(d.units), d.variant)
        rows = [c for c in node.configs if (c.batch, c.hardware, float(c.units), c.variant) == ident]
        if not rows:
            problems.append(f"{node.name}: no profile row {ident}")
            continue
        row = rows[0]
        lam = node.multiplier * rates.get(node.name, 0.0)
        mu = 1000.0 * row.batch / row.latency_ms
        n = max(1, math.ceil(lam / (rho * mu) - REPLICA_EPS))
        if node.max_replicas is not None and n > node.max_replicas:
            problems.append(f"{node.name}: needs {n} replicas > max_replicas {node.max_replicas}")
        if node.max_batch is not None and row.batch > node.max_batch:
            problems.append(f"{node.name}: batch {row.batch} > max_batch {node.max_batch}")
        lat = row.latency_ms + _queue_ms(instance.queueing, row.batch, row.latency_ms, lam)
        cost = n * row.units * instance.price(row.hardware)
        if d.replicas != n:
            problems.append(f"{node.name}: replicas {d.replicas}, recomputed {n}")
        if not _close(d.profile_latency_ms, row.latency_ms):
            problems.append(f"{node.name}: profile_latency_ms {d.profile_latency_ms} != {row.latency_ms}")
        if not _close(d.latency_ms, lat):
            problems.append(f"{node.name}: latency_ms {d.latency_ms}, recomputed {lat}")
        if not _close(d.cost, cost):
            problems.append(f"{node.name}: cost {d.cost}, recomputed {cost}")
        latency[node.name] = lat
        chosen[node.name] = (row, n)
        total += cost
    if problems:
        return Verification(False, problems)

    if answer.cost is None or not _close(answer.cost, total):
        problems.append(f"total cost {answer.cost}, recomputed {total}")
    flow_lat = _flow_latencies(instance, latency, arrays)
    for f in instance.flows:
        got = answer.flow_latency_ms.get(f.name)
        if got is None or not _close(got, flow_lat[f.name]):
            problems.append(f"flow {f.name}: latency {got}, recomputed {flow_lat[f.name]}")
        if not spec.meets(flow_lat[f.name], f.sla_ms):
            problems.append(f"flow {f.name}: latency {flow_lat[f.name]:.6f} ms > SLA {f.sla_ms} ms")
    value, terms = total, False
    magnitude = total  # Σ|x| over the objective's terms: costs ≥ 0, each extension's term
    present = extensions.extensions_of(instance, answer.formulation)
    for name in answer.formulation:  # each extension solved, recomputed from the raw rows
        if name not in present:  # (a MILP-only formulation, or a key this instance lacks)
            continue
        mod = extensions.module(name)
        settings = mod.parse(instance)
        broken, term = mod.check(instance, settings, chosen)
        problems += broken
        terms = terms or mod.has_term(settings)
        value += term
        magnitude += abs(term)  # (a term's own summands share its sign: −w·a_v, s_v ≥ 0)
    if terms and (answer.objective is None or not _close(answer.objective, value, magnitude)):
        problems.append(f"objective {answer.objective}, recomputed {value}")
    if not terms and answer.objective is not None and not _close(answer.objective, total):
        problems.append(f"objective {answer.objective} is not the cost {total}")
    if answer.lower_bound is not None and \
            answer.lower_bound > value + REL_TOL * max(1.0, abs(value), magnitude) + 1e-9:
        problems.append(f"lower_bound {answer.lower_bound} exceeds the objective {value}")
    return Verification(not problems, problems, total, flow_lat)


@dataclass(frozen=True)
class _Arrays:
    """The raw graph as arrays, for the checks of many flows at once: node names in a
    topological order of the whole graph (Kahn's algorithm, over the raw edges), each
    node's in-edges (CSR ``ptr``, ``src``, ``delay``: nodes by index) and ``member[v, f]``."""

    order: list[str]
    ptr: list[int]
    src: np.ndarray
    delay: np.ndarray
    member: np.ndarray


def _arrays(instance: Instance) -> _Arrays | None:
    """:class:`_Arrays` of the instance where the matrices pay (:func:`fa2opt.spec.
    matrix_pays`, with 2 Σ_f |f| for the loops' steps); None elsewhere, or when the graph has a
    cycle: then the per-flow loops. O(V + E + Σ_f |f|), the last in C (``numpy.fromiter``
    over a map)."""
    flows, edges = instance.flows, instance.edges
    # (the loops here make three dicts per flow's node: two of the loops' steps each)
    if len(flows) < spec.MATRIX_MIN_FLOWS or not spec.matrix_pays(
            len(instance.nodes), len(edges), len(flows), 2 * sum(len(f.nodes) for f in flows)):
        return None
    names = [n.name for n in instance.nodes]
    order = topological_order(names, [(e.src, e.dst) for e in edges])
    if len(order) != len(names):
        return None
    at = {v: i for i, v in enumerate(order)}
    V, E = len(order), len(edges)
    dst = np.fromiter((at[e.dst] for e in edges), dtype=np.int64, count=E)
    by_dst = np.argsort(dst, kind="stable")
    src = np.fromiter((at[e.src] for e in edges), dtype=np.int64, count=E)[by_dst]
    delay = np.fromiter((e.latency_ms for e in edges), dtype=float, count=E)[by_dst]
    ptr = np.zeros(V + 1, dtype=np.int64)
    np.cumsum(np.bincount(dst, minlength=V), out=ptr[1:])
    member = np.zeros((V, len(instance.flows)), dtype=bool)
    for j, f in enumerate(instance.flows):
        member[np.fromiter(map(at.__getitem__, f.nodes), np.int64, len(f.nodes)), j] = True
    return _Arrays(order, ptr.tolist(), src, delay, member)


def _flow_latencies(instance: Instance, latency: Mapping[str, float],
                    arrays: _Arrays | None) -> dict[str, float]:
    """Every flow's longest path by the spec's rule, on the induced subgraphs of the raw
    edges: per flow (:func:`_longest_path`), or with ``arrays`` every flow at once
    (:func:`fa2opt.spec.longest_paths`: the same additions, one numpy step per node, where
    the loops over 3,000 flows' nodes took seconds)."""
    flows = instance.flows
    if arrays is not None:
        lat = np.fromiter((latency[v] for v in arrays.order), dtype=float, count=len(arrays.order))
        paths = spec.longest_paths(arrays.ptr, arrays.src, arrays.delay, arrays.member, lat,
                                   range(len(arrays.order)))
        return dict(zip([f.name for f in flows], paths.tolist()))
    out_edges = _out_edges(instance)
    return {f.name: _longest_path(out_edges, f.nodes, latency) for f in flows}


def _rate_sums(instance: Instance, arrays: _Arrays | None) -> dict[str, float]:
    """Σ_{f ∋ v} λ_f per node, from the raw flows: the rates in the instance's flow order,
    added left to right from 0.0 (:func:`fa2opt.spec.rate_sum`'s order) -- in one pass over
    the flows, O(Σ_f |f|), where filtering the flows per node took O(V · Σ_f |f|) (5 s on
    1,000 nodes × 300 flows); with ``arrays``, one numpy step per flow (adding 0.0 where a
    node is not in the flow changes no bit). A node in no flow is absent."""
    if arrays is not None:
        total = np.zeros(len(arrays.order))
        for j, f in enumerate(instance.flows):
            total += np.where(arrays.member[:, j], f.rate_rps, 0.0)
        return {v: x for v, x, m in zip(arrays.order, total.tolist(), arrays.member.any(axis=1))
                if m}
    sums: dict[str, float] = {}
    for f in instance.flows:
        for v in dict.fromkeys(f.nodes):  # (a node listed twice counts its flow once)
            sums[v] = sums.get(v, 0.0) + f.rate_rps
    return sums


def _out_edges(instance: Instance) -> dict[str, list[tuple[str, float]]]:
    """Per node its raw out-edges ``(dst, d_e)`` in the instance's edge order: built once,
    so each flow's induced subgraph costs O(its nodes' out-edges), not a scan of every
    edge per flow (O(F · E): 4 s on 3,000 flows over 300 nodes)."""
    out: dict[str, list[tuple[str, float]]] = {}
    for e in instance.edges:
        out.setdefault(e.src, []).append((e.dst, e.latency_ms))
    return out


def _longest_path(out_edges: Mapping[str, list[tuple[str, float]]], members: tuple[str, ...],
                  latency: Mapping[str, float]) -> float:
    """The flow's longest path by the spec's one rule (:func:`fa2opt.spec.longest_path`), on
    the induced subgraph rebuilt here from the raw edges (``out_edges``: :func:`_out_edges`;
    topological order by Kahn's algorithm, so nothing of :mod:`fa2opt.problem` is
    trusted). O(the members' out-edges)."""
    inside = dict.fromkeys(members)  # (a set in the members' order: a deterministic walk)
    preds: dict[str, list[tuple[str, float]]] = {v: [] for v in inside}
    succs: dict[str, list[str]] = {v: [] for v in inside}
    for u in inside:
        for w, d in out_edges.get(u, ()):
            if w in inside:
                preds[w].append((u, d))
                succs[u].append(w)
    indeg = {v: len(preds[v]) for v in inside}
    order = [v for v in members if indeg[v] == 0]
    for v in order:  # grows while it is walked
        for w in succs[v]:
            indeg[w] -= 1
            if indeg[w] == 0:
                order.append(w)
    return spec.longest_path(order, preds, latency)


def matches(a: Answer, b: Answer) -> bool:
    """Spec's match: both infeasible, or both carry a decision whose objectives (the cost
    unless the answer reports ``objective``) agree within 1e-9·max(1, |b's|). (Verification
    is checked separately.)"""
    if a.status == "infeasible" or b.status == "infeasible":
        return a.status == b.status
    if a.cost is None or b.cost is None:
        return False
    va = a.cost if a.objective is None else a.objective
    vb = b.cost if b.objective is None else b.objective
    return abs(va - vb) <= REL_TOL * max(1.0, abs(vb))
