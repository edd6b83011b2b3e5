"""Discrete-event simulation of the serving system under a configuration timeline.

Model (one replica set per node, as the optimizer's decision describes it):

* Each node keeps one FIFO queue shared by every flow that contains it. A free replica takes
  the oldest waiting items as a batch of up to ``b`` (the decided batch size) as soon as
  ``b`` are waiting, or when the oldest has waited the **batching timeout**
  ``1000·(b−1)/λ_v`` ms (λ_v = the node rate the decision was made for), so a batch never
  waits past what the batch-fill queueing model assumed. Service time: see
  :mod:`.service`; partial batches take the full batch's time (padding), or with
  ``node_settings(partial="profile")`` the profile's time for the smallest profiled batch
  size that holds them.
* **Fan-out** (multiplier m_v, relative to the flow's entry): a request reaching v becomes
  K = ⌊m_v⌋ + Bernoulli(m_v − ⌊m_v⌋) items, drawn independently per (request, node), so
  E[K] = m_v. The K items of one request form a group; the request has *finished v* when
  all K items have (at its arrival at v when K = 0: the request skips v).
* **Joins and edges**: a request arrives at v when it has finished every in-flow
  predecessor u, plus the edge latency d_e: ``arrive_v = max_u (finish_u + d_e)``; it enters
  each flow source at its arrival time, and is done when it has finished every sink of its
  flow. Its end-to-end latency is done − arrival; the optimizer's counterpart is the
  flow's longest path.

Because the graph is a DAG and nodes exchange no back-pressure, the simulation runs node by
node in topological order: every node's arrival stream is known once its predecessors are
simulated, and one node is a single pass over its batches with a heap of replica free times
(O(B log n) for B batches and n replicas). This is the exact event order of the
corresponding heap-based whole-system simulation, at a fraction of its cost.

**Reconfiguration** (a :class:`Plan` lists the settings decided at each adaptation time T):
if the node keeps its deployment (hardware, units, variant), the new batch size and timeout
apply at T, added replicas serve from T + start-up delay, removed replicas stop taking
batches at T (they finish the batch in flight). With ``Plan.apply_batch = "when-ready"``, a
decision that adds replicas applies as a whole (batch size, timeout, service time) only at
T + start-up, when the replicas it needs serve; until then the old setting holds. A new
deployment starts a full new replica set at T that serves from T + start-up; the old set
keeps serving with the old settings until then (make-before-break) and is billed for the
overlap.

**Dispatch** (``simulate(dispatch=...)``): ``central`` (default) is the one shared queue
above; ``round-robin`` is a load balancer in front of per-replica batchers (a Kubernetes
Service over MLServer/Triton pods): item k is sent to the ready replicas in turn, each
replica batches only its own queue (fill to b or the same timeout) and serves it alone.
Replicas get items only once ready; a removed replica gets none after its removal but
serves what it already holds (graceful termination).
"""

from __future__ import annotations

import heapq
import math
from bisect import bisect_right
from dataclasses import dataclass, field, replace
from typing import Mapping, Sequence

import numpy as np

from ..answer import Answer, NodeDecision
from ..model import Instance
from ..problem import FlowGraph, flow_graphs
from .service import ServiceModel

INF = float("inf")
TIME_EPS_MS = 1e-6  # an item arriving within this of a dispatch joins that batch
DISPATCH_MODES = ("central", "round-robin")
APPLY_BATCH_MODES = ("immediate", "when-ready")
BATCH_TIMEOUTS = ("node", "replica")  # a per-replica batcher waits the node's or its own fill time
PARTIAL_MODES = ("padded", "profile")  # a partial batch takes p(b), or p of the profiled size
FANOUT_MODES = ("all", "first")  # a request has finished v when all / the first of its items have
# replicas of one node the simulator takes: it keeps an entry per replica (a heap of free
# times, per-replica queues), so a decision of 10^9 replicas (e.g. --headroom 1e10) asked
# for gigabytes and ended as a bare MemoryError
MAX_SIM_REPLICAS = 1_000_000
Event = tuple[float, str, "NodeSetting", float]  # (time, adjust|switch, setting, added replicas ready)


@dataclass(frozen=True)
class NodeSetting:
    """How one node runs during one adaptation interval."""

    batch: int
    replicas: int
    service_lo_ms: float
    service_hi_ms: float
    timeout_ms: float
    hardware: str
    units: float
    variant: str | None
    price: float
    service_sigma: float = 0.0  # lognormal spread: each batch time × exp(σz − σ²/2), z ~ N(0, 1)
    partial_scale: tuple[float, ...] | None = None  # time of a k-item batch / p, k = 1..b (None: padded)

    @property
    def deployment(self) -> tuple[str, float, str | None]:
        """What a replica is (changing it needs new replicas)."""
        return (self.hardware, self.units, self.variant)

    @property
    def shape(self) -> tuple[int, int, tuple[str, float, str | None]]:
        """The decided configuration (row and replicas); a change of it is a reconfiguration."""
        return (self.batch, self.replicas, self.deployment)


def partial_scale(instance: Instance, node: str, d: NodeDecision) -> tuple[float, ...]:
    """Time of a partial batch of k = 1..b items relative to p(b): the profile's latency for
    the smallest profiled batch ≥ k on the same hardware, units and variant (capped at p(b):
    a runtime can always pad to the configured shape)."""
    p = float(d.profile_latency_ms)
    rows = sorted((c.batch, c.latency_ms) for c in instance.node(node).configs
                  if (c.hardware, float(c.units), c.variant) == (d.hardware, float(d.units), d.variant))
    out = []
    for k in range(1, int(d.batch) + 1):
        lat = next((lat for b, lat in rows if b >= k), p)
        out.append(min(lat, p) / p)
    return tuple(out)


def node_settings(instance: Instance, answer: Answer, rates: Mapping[str, float],
                  service: ServiceModel | None = None, partial: str = "padded") -> dict[str, NodeSetting]:
    """The settings an answer's decision gives each node, with the batching timeout
    1000·(b−1)/λ_v at the flow rates the decision was made for; ``partial`` says what a
    batch of fewer than b items takes (``padded``: p; ``profile``: :func:`partial_scale`)."""
    if partial not in PARTIAL_MODES:
        raise ValueError(f"partial batch must be one of {PARTIAL_MODES} (got {partial!r})")
    service = service or ServiceModel()
    at = instance.with_rates(rates=rates)
    out = {}
    for v, d in answer.nodes.items():
        if int(d.replicas) > MAX_SIM_REPLICAS:
            raise ValueError(f"node {v!r}: the decision at {at.node_rate(v):.3g} rps needs "
                             f"{int(d.replicas):.3g} replicas, more than the simulator takes "
                             f"({MAX_SIM_REPLICAS:.0e} per node): lower the headroom or the rates")
        lo, hi = service.bounds_ms(v, d)
        lam = at.node_rate(v)
        out[v] = NodeSetting(batch=int(d.batch), replicas=int(d.replicas), service_lo_ms=lo,
                             service_hi_ms=hi, timeout_ms=1000.0 * (int(d.batch) - 1) / lam,
                             hardware=d.hardware, units=float(d.units), variant=d.variant,
                             price=instance.price(d.hardware), service_sigma=service.sigma,
                             partial_scale=partial_scale(instance, v, d) if partial == "profile" else None)
    return out


@dataclass(frozen=True)
class Plan:
    """A configuration timeline: ``settings[k]`` is decided at ``times_ms[k]`` (the first at
    0) and holds until the next decision; ``startup_ms`` is the replica start-up delay;
    ``apply_batch`` says when a decision that adds replicas changes the batch size
    (``immediate``: at once; ``when-ready``: with the added replicas, after start-up)."""

    times_ms: tuple[float, ...]
    settings: tuple[Mapping[str, NodeSetting], ...]
    startup_ms: float = 0.0
    apply_batch: str = "immediate"

    def __post_init__(self) -> None:
        if self.apply_batch not in APPLY_BATCH_MODES:
            raise ValueError(f"apply_batch must be one of {APPLY_BATCH_MODES} (got {self.apply_batch!r})")
        if not self.times_ms or self.times_ms[0] != 0.0 or len(self.times_ms) != len(self.settings):
            raise ValueError("a plan needs one settings map per decision time, the first at 0")
        gaps = np.diff(self.times_ms)
        if (gaps <= 0).any():
            raise ValueError("decision times must increase")
        if self.startup_ms < 0 or (len(gaps) and self.startup_ms >= gaps.min()):
            raise ValueError(f"start-up delay must be in [0, adaptation interval) "
                             f"(got {self.startup_ms} ms)")

    @classmethod
    def fixed(cls, settings: Mapping[str, NodeSetting]) -> "Plan":
        return cls((0.0,), (settings,))

    def events(self, node: str) -> list[Event]:
        """(time, 'adjust' | 'switch', new setting, time added replicas serve) for each
        change of the node's setting, in time order."""
        out = []
        for k in range(1, len(self.times_ms)):
            prev, new = self.settings[k - 1][node], self.settings[k][node]
            if new == prev:
                continue
            t, ready = self.times_ms[k], self.times_ms[k] + self.startup_ms
            if new.deployment != prev.deployment:
                out.append((ready, "switch", new, ready))
            elif self.apply_batch == "when-ready" and new.replicas > prev.replicas:
                out.append((ready, "adjust", new, ready))
            else:
                out.append((t, "adjust", new, ready))
        return out


@dataclass(frozen=True)
class Draws:
    """Per-batch random numbers of one node (batch k uses entry k): ``uniforms`` place a
    batch's time in [lo, hi], ``normals`` drive the lognormal spread; None where unused."""

    uniforms: np.ndarray | None = None
    normals: np.ndarray | None = None

    def take(self, idx: np.ndarray) -> "Draws":
        """The draws of a sub-stream (a replica's own queue)."""
        return Draws(None if self.uniforms is None else self.uniforms[idx],
                     None if self.normals is None else self.normals[idx])


def run_node(arrivals_ms: Sequence[float], first: NodeSetting, events: Sequence[Event],
             draws: Draws = Draws()) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The batches of one node: first item index, start and finish time (items sorted by
    arrival; batch k holds items ``first[k]:first[k+1]``).

    One pass over the batches: the next batch starts at
    ``s = max(earliest free replica, min(a_i + timeout, a_{i+b−1}), last reconfiguration)``
    and takes the items that have arrived by s (at most b). Batch k's service time is
    ``(lo + (hi − lo)·uniforms[k]) · exp(σ·normals[k] − σ²/2)``, times the setting's
    ``partial_scale`` for its size when set. O(B log n) for B batches, n replicas.
    """
    arr = list(arrivals_ms)
    n_items = len(arr)
    s0 = first
    b, lo, span, timeout = s0.batch, s0.service_lo_ms, s0.service_hi_ms - s0.service_lo_ms, s0.timeout_ms
    sig, ratio = s0.service_sigma, s0.partial_scale
    free = [0.0] * s0.replicas  # a heap of replica free times (warm start: all idle at 0)
    ev, next_t, floor_t = 0, (events[0][0] if events else INF), 0.0
    u = draws.uniforms.tolist() if draws.uniforms is not None else None
    z = draws.normals.tolist() if draws.normals is not None else None
    first_idx: list[int] = []
    starts: list[float] = []
    finishes: list[float] = []
    i = nb = 0
    heapreplace, exp = heapq.heapreplace, math.exp
    while i < n_items:
        ready = arr[i] + timeout
        last = i + b - 1
        if last < n_items and arr[last] < ready:
            ready = arr[last]
        s = free[0]
        if ready > s:
            s = ready
        if floor_t > s:
            s = floor_t
        if s >= next_t:  # the node is reconfigured before this batch can start
            t, kind, new, up = events[ev]
            ev += 1
            next_t = events[ev][0] if ev < len(events) else INF
            floor_t = t
            b, lo, span, timeout = (new.batch, new.service_lo_ms,
                                    new.service_hi_ms - new.service_lo_ms, new.timeout_ms)
            sig, ratio = new.service_sigma, new.partial_scale
            if kind == "switch":
                free = [t] * new.replicas
            elif new.replicas > len(free):
                for _ in range(new.replicas - len(free)):
                    heapq.heappush(free, up)
            elif new.replicas < len(free):
                free.sort()  # keep the replicas free soonest; a sorted list is a heap
                del free[new.replicas:]
            continue
        end = i + b if i + b < n_items else n_items
        j = bisect_right(arr, s + TIME_EPS_MS, i, end)
        d = lo + span * u[nb] if span > 0.0 else lo
        if sig > 0.0:
            d *= exp(sig * z[nb] - 0.5 * sig * sig)
        if ratio is not None:
            d *= ratio[j - i - 1]
        f = s + d
        heapreplace(free, f)
        first_idx.append(i)
        starts.append(s)
        finishes.append(f)
        nb += 1
        i = j
    return (np.asarray(first_idx, dtype=np.int64), np.asarray(starts, dtype=float),
            np.asarray(finishes, dtype=float))


def round_robin_replicas(first: NodeSetting, events: Sequence[Event], batch_timeout: str = "node"
                         ) -> tuple[list[tuple[float, list[int]]], list[tuple[NodeSetting, list[Event]]]]:
    """The replicas of a node under round-robin dispatch: the ready set over time
    (``(from time, replica ids in dispatch order)``) and each replica's own timeline
    (its first setting and its adjust events, as a one-replica node). Its batching timeout
    is the decision's (``node``: 1000·(b−1)/λ_v) or n times it (``replica``: the time a
    batch takes to fill from the replica's own share λ_v/n of the stream).

    A replica belongs to one deployment: it follows that deployment's batch-size changes
    until a switch (or a scale-down, which removes the newest replicas first) retires it."""
    one = {}  # setting -> the same setting for one replica (memoised, settings repeat)

    def single(st: NodeSetting) -> NodeSetting:
        if st not in one:
            scale = st.replicas if batch_timeout == "replica" else 1
            one[st] = replace(st, replicas=1, timeout_ms=st.timeout_ms * scale)
        return one[st]

    replicas: list[tuple[NodeSetting, list[Event]]] = [(single(first), []) for _ in range(first.replicas)]
    alive = list(range(first.replicas))
    changes: list[tuple[float, int, list[int], list[int]]] = []  # (time, order, added, removed)
    for k, (t, kind, new, up) in enumerate(events):
        if kind == "switch":
            born = list(range(len(replicas), len(replicas) + new.replicas))
            replicas += [(single(new), []) for _ in born]
            changes.append((t, k, born, alive))
            alive = born
            continue
        for r in alive[:new.replicas]:  # removed replicas drain their queue as they were
            replicas[r][1].append((t, "adjust", single(new), t))
        if new.replicas > len(alive):
            born = list(range(len(replicas), len(replicas) + new.replicas - len(alive)))
            replicas += [(single(new), []) for _ in born]
            changes.append((up, k, born, []))
            alive = alive + born
        elif new.replicas < len(alive):
            changes.append((t, k, [], alive[new.replicas:]))
            alive = alive[:new.replicas]
    ready = list(range(first.replicas))
    sets = [(0.0, list(ready))]
    for t, _, added, removed in sorted(changes, key=lambda c: (c[0], c[1])):
        gone = set(removed)
        ready = [r for r in ready if r not in gone] + added
        if sets[-1][0] == t:
            sets[-1] = (t, list(ready))
        else:
            sets.append((t, list(ready)))
    return sets, replicas


def run_node_round_robin(arrivals_ms: np.ndarray, first: NodeSetting, events: Sequence[Event],
                         draws: Draws = Draws(), batch_timeout: str = "node"
                         ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """One node behind a round-robin load balancer: item k (in arrival order) goes to the
    k-th ready replica in turn; each replica is a one-replica batching queue
    (:func:`run_node`). Returns per item its batch index and replica, and per batch its
    first item, start and finish (batches ordered by start). O(N + B log B)."""
    arr = np.asarray(arrivals_ms, dtype=float)
    n = len(arr)
    sets, replicas = round_robin_replicas(first, events, batch_timeout)
    owner = np.empty(n, dtype=np.int64)
    bounds = [int(np.searchsorted(arr, t, side="left")) for t, _ in sets] + [n]
    count = 0
    for (t, ready), lo, hi in zip(sets, bounds, bounds[1:]):
        if hi > lo:
            ids = np.asarray(ready, dtype=np.int64)
            owner[lo:hi] = ids[(count + np.arange(hi - lo)) % len(ids)]
            count += hi - lo
    item_batch = np.empty(n, dtype=np.int64)
    firsts, starts, finishes = [], [], []
    offset = 0
    order = np.argsort(owner, kind="stable")
    cuts = np.searchsorted(owner[order], np.arange(len(replicas) + 1))
    for r, (setting, evs) in enumerate(replicas):
        idx = order[cuts[r]:cuts[r + 1]]
        if not len(idx):
            continue
        f, st, fi = run_node(arr[idx], setting, evs, draws.take(idx))
        sizes = np.diff(np.append(f, len(idx)))
        item_batch[idx] = offset + np.repeat(np.arange(len(f)), sizes)
        firsts.append(idx[f])
        starts.append(st)
        finishes.append(fi)
        offset += len(f)
    if not firsts:
        empty_i, empty_f = np.zeros(0, dtype=np.int64), np.zeros(0)
        return item_batch, owner, empty_i, empty_f, empty_f
    b_first, b_start, b_finish = (np.concatenate(x) for x in (firsts, starts, finishes))
    by_start = np.lexsort((b_first, b_start))
    rank = np.empty_like(by_start)
    rank[by_start] = np.arange(len(by_start))
    return rank[item_batch], owner, b_first[by_start], b_start[by_start], b_finish[by_start]


@dataclass
class NodeRecord:
    """Items of one node in arrival order (arrival, its batch's start and finish, ms) and
    the batches (first item index, start, finish) in dispatch order. Under central dispatch
    batch k holds items ``batch_first[k]:batch_first[k+1]``; otherwise ``item_batch`` gives
    each item's batch and ``item_replica`` its replica."""

    arrival_ms: np.ndarray
    batch_first: np.ndarray
    batch_start_ms: np.ndarray
    batch_finish_ms: np.ndarray
    item_batch: np.ndarray | None = None
    item_replica: np.ndarray | None = None

    @property
    def batch_size(self) -> np.ndarray:
        if self.item_batch is not None:
            return np.bincount(self.item_batch, minlength=len(self.batch_first))
        return np.diff(np.append(self.batch_first, len(self.arrival_ms)))

    @property
    def start_ms(self) -> np.ndarray:
        if self.item_batch is not None:
            return self.batch_start_ms[self.item_batch]
        return np.repeat(self.batch_start_ms, self.batch_size)

    @property
    def finish_ms(self) -> np.ndarray:
        if self.item_batch is not None:
            return self.batch_finish_ms[self.item_batch]
        return np.repeat(self.batch_finish_ms, self.batch_size)

    def busy_replicas(self, times_ms: np.ndarray) -> np.ndarray:
        """Batches in service (start ≤ t < finish) at each given time."""
        started = np.searchsorted(np.sort(self.batch_start_ms), times_ms, side="right")
        ended = np.searchsorted(np.sort(self.batch_finish_ms), times_ms, side="right")
        return started - ended

    def queue_length(self, times_ms: np.ndarray) -> np.ndarray:
        """Items waiting (arrived, batch not started) at each given time."""
        arrived = np.searchsorted(self.arrival_ms, times_ms, side="right")
        started = np.searchsorted(np.sort(self.start_ms), times_ms, side="right")
        return arrived - started


@dataclass
class FlowRecord:
    """Requests of one flow in arrival order."""

    sla_ms: float
    arrival_ms: np.ndarray
    latency_ms: np.ndarray


@dataclass
class SimResult:
    flows: dict[str, FlowRecord]
    nodes: dict[str, NodeRecord]
    plan: Plan
    extra: dict = field(default_factory=dict)


def fanout_counts(multiplier: float, n: int, rng: np.random.Generator) -> np.ndarray:
    """K = ⌊m⌋ + Bernoulli(m − ⌊m⌋) items per request (E[K] = m)."""
    whole = int(np.floor(multiplier))
    frac = multiplier - whole
    k = np.full(n, whole, dtype=np.int64)
    if frac > 1e-12:
        k += rng.random(n) < frac
    return k


def simulate(instance: Instance, plan: Plan, arrivals_ms: Mapping[str, np.ndarray],
             seed: int = 0, graphs: Sequence[FlowGraph] | None = None,
             dispatch: str = "central", fanout: str = "all", batch_timeout: str = "node") -> SimResult:
    """Simulate every flow's requests (``arrivals_ms[flow]``, sorted) through the graph under
    ``plan``; deterministic for a seed (fan-out draws and sampled service times).

    ``dispatch``: ``central`` (one queue per node) or ``round-robin`` (per-replica queues,
    whose timeout is the node's fill time or, with ``batch_timeout="replica"``, their own);
    ``fanout``: a request has finished a node when ``all`` its K items have (the spec's
    "processed", default) or when the ``first`` has (what a simulator that times items
    alone would report; the difference is what the fan-out groups add)."""
    if dispatch not in DISPATCH_MODES:
        raise ValueError(f"dispatch must be one of {DISPATCH_MODES} (got {dispatch!r})")
    if batch_timeout not in BATCH_TIMEOUTS or (batch_timeout == "replica" and dispatch == "central"):
        raise ValueError(f"batch_timeout must be one of {BATCH_TIMEOUTS}, 'replica' only with "
                         f"round-robin dispatch (got {batch_timeout!r} with {dispatch!r})")
    if fanout not in FANOUT_MODES:
        raise ValueError(f"fanout must be one of {FANOUT_MODES} (got {fanout!r})")
    graphs = tuple(graphs or flow_graphs(instance))
    missing = [g.name for g in graphs if g.name not in arrivals_ms]
    if missing:
        raise ValueError(f"no arrivals for flow(s) {missing}")
    order = instance.topological_order
    root = np.random.SeedSequence(seed)
    node_seeds = dict(zip(order, root.spawn(len(order))))
    entry = {g.name: np.asarray(arrivals_ms[g.name], dtype=float) for g in graphs}
    done: dict[str, dict[str, np.ndarray]] = {g.name: {} for g in graphs}
    nodes: dict[str, NodeRecord] = {}
    group_done = np.maximum if fanout == "all" else np.minimum
    for v in order:
        rng = np.random.default_rng(node_seeds[v])
        mult = instance.node(v).multiplier
        parts = []
        for g in graphs:
            if v not in g.preds:
                continue
            if g.preds[v]:
                at = np.max([done[g.name][u] + d for u, d in g.preds[v]], axis=0)
            else:
                at = entry[g.name]
            parts.append((g, at, fanout_counts(mult, len(at), rng)))
        items = np.concatenate([np.repeat(at, k) for _, at, k in parts])
        perm = np.argsort(items, kind="stable")
        sorted_items = items[perm]
        draws = Draws(rng.random(len(items)) if _sampled(plan, v) else None,
                      rng.standard_normal(len(items)) if _spread(plan, v) else None)
        if dispatch == "central":
            first, b_start, b_finish = run_node(sorted_items, plan.settings[0][v], plan.events(v), draws)
            rec = nodes[v] = NodeRecord(sorted_items, first, b_start, b_finish)
        else:
            item_batch, owner, first, b_start, b_finish = run_node_round_robin(
                sorted_items, plan.settings[0][v], plan.events(v), draws, batch_timeout)
            rec = nodes[v] = NodeRecord(sorted_items, first, b_start, b_finish, item_batch, owner)
        finish = np.empty(len(items))
        finish[perm] = rec.finish_ms
        offset = 0
        for g, at, k in parts:
            n_items = int(k.sum())
            fin = finish[offset:offset + n_items]
            offset += n_items
            req_done = at.copy()
            nz = k > 0
            if n_items:
                first = (np.cumsum(k) - k)[nz]
                req_done[nz] = group_done.reduceat(fin, first)
            done[g.name][v] = req_done
    flows = {}
    for g in graphs:
        completion = np.max([done[g.name][s] for s in g.sinks], axis=0)
        flows[g.name] = FlowRecord(g.sla_ms, entry[g.name], completion - entry[g.name])
    return SimResult(flows, nodes, plan)


def _sampled(plan: Plan, node: str) -> bool:
    return any(s[node].service_hi_ms > s[node].service_lo_ms for s in plan.settings)


def _spread(plan: Plan, node: str) -> bool:
    return any(s[node].service_sigma > 0.0 for s in plan.settings)
