"""Batched primitives over one fixed DAG: many subproblems of one large instance at once.

The grid DP's kernels (:mod:`fa2opt.kernels`) batch many *rates* of one small graph. An exact
search on one large instance needs the other batch axis: many *candidate fixings* (roundings,
local-search moves, branches) evaluated at once, and many *multiplier vectors* of a
Lagrangian bound. Both run over a structure that is compiled once per graph
(:class:`DagStructure`) and reused for every call.

**(1) Evaluation of fixings** (:func:`evaluate_fixings`): row b of ``lat[B, V]`` /
``cost[B, V]`` is one full choice's node latencies L_v and costs c_v (columns in
``structure.nodes`` order). Per row and flow f, the spec's SLA rule
(:func:`fa2opt.spec.longest_path`) with the same IEEE additions in the same order — nodes of
the flow in topological order, in-flow predecessors only::

    finish(v) = fl( max(0, max_{(u,v)} fl(finish(u) + d_uv)) + L_v )
    lat_f[b, f] = max_{v ∈ f} finish(v)            (−inf for a flow without nodes)

``ok[b]`` = every flow meets its budget (``lat_f <= fl(S_f + 1e-6)``, :func:`fa2opt.spec.meets`)
and ``total[b] = (((0 + c_0) + c_1) + …) + c_{V−1}`` (left to right in column order, as
:meth:`fa2opt.problem.Problem.cost` adds a choice given in node order). O(B·(S + E + V)) for S
flow-node slots (Σ_f |f|) and E in-flow edges.

**(2) Flow-Lagrangian node minima** (:func:`lagrangian_bound`): per node v a ragged list of
candidates k (CSR ``ptr``, ``lat``, ``cost``: :class:`Candidates`), node weights ``y[B, V] ≥ 0``
(the multipliers' flow-through at v) and an allowed mask (``allowed[B, C]``, ``allowed[C]``
shared by every row, or None: all)::

    val[b]    = Σ_v  min_{k allowed} fl( cost_vk + fl(y_bv · lat_vk) )      (left to right in v)
    arg[b, v] = the first minimising k (strict <), −1 where no candidate is allowed (val = inf)
    node_min[b, v] = the minimum itself (a node's term, e.g. for a subgradient step)

O(B·C) for C candidates. The caller adds the edge and budget terms of its Lagrangian.

Inputs: float64, no NaN; latencies finite (``y · inf`` at y = 0 would be NaN). Every
backend gives the same bits: numpy twins (vectorised over B, the reference), Numba
(:mod:`fa2opt.dag_batch_numba`, where :func:`fa2opt.cpu_kernels.available`) and CUDA
(:data:`CUDA_SOURCE` as CuPy ``RawKernel``s: one thread per batch row for (1), one per
(b, v) for (2) plus a row-sum kernel; additions and products through ``__dadd_rn`` /
``__dmul_rn`` so no FMA contraction). The CUDA source also runs on the CPU through the host
shim of :mod:`fa2opt.cuda_host` (``tests/test_batch.py``), so the first GPU run is not its
first run. The backend follows ``xp`` as in :mod:`fa2opt.kernels`: CuPy arrays and
``xp=cupy`` → CUDA; numpy → Numba when available, else the twin (force the twin with
:func:`fa2opt.cpu_kernels.disabled`). CuPy is never required.

Usage (what a search imports)::

    import numpy as np
    import fa2opt
    from fa2opt.problem import Problem
    from fa2opt.dag_batch import DagStructure, Candidates, choose, evaluate_fixings, lagrangian_bound

    problem = Problem.from_instance(fa2opt.load_instance("datasets/pipelines/shared_services.json"))
    dag = DagStructure.from_problem(problem)           # once per graph structure
    cands = Candidates.from_problem(problem, dag)      # per rate / profile: the node tables
    rng = np.random.default_rng(0)
    choice = cands.random_choice(1000, rng)            # (B, V) table positions: B fixings
    lat, cost = choose(cands, choice)
    ev = evaluate_fixings(dag, lat, cost)              # ev.lat_f (B, F), ev.ok (B,), ev.total (B,)
    y = rng.random((1000, len(dag.nodes)))             # B multiplier vectors' node weights
    lb = lagrangian_bound(cands, y)                    # lb.val (B,), lb.arg (B, V) table positions
    # on a GPU: xp = fa2opt.kernels.get_array_module("gpu"); pass xp.asarray(...) and xp=xp
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import ModuleType
from typing import Any, Mapping, NamedTuple, Protocol, Sequence

import numpy as np

from . import cpu_kernels, kernels
from .deadline import check_stage
from .kernels import KernelCall, is_cupy


class _FlowLike(Protocol):
    """What :meth:`DagStructure.from_flows` reads of a flow (a :class:`fa2opt.problem.FlowGraph`)."""

    name: str
    nodes: tuple[str, ...]
    preds: Mapping[str, Sequence[tuple[str, float]]]
    budget_ms: float


# -- the structure, compiled once per graph ---------------------------------------------------
@dataclass(frozen=True, eq=False)
class DagStructure:
    """One graph's flows as flat arrays. A *slot* is a (flow, node) pair: the slots of flow f
    are ``flow_ptr[f]:flow_ptr[f+1]``, its nodes in topological order (the flow's own order,
    :attr:`fa2opt.problem.FlowGraph.nodes`); a slot's in-flow predecessors are CSR
    ``pred_ptr``/``pred_slot`` (earlier slots of the same flow, in the flow's ``preds`` order)
    with delays ``pred_delay`` (d_uv, ms). Shared nodes have one slot per flow (their finish
    time differs per flow). Built in O(S + E); nothing here depends on rates or profiles."""

    nodes: tuple[str, ...]  # column order of lat, cost, y (Problem.node_names)
    flows: tuple[str, ...]  # flow names: the F axis
    budget: np.ndarray  # (F,) float64: fl(S_f + 1e-6) (FlowGraph.budget_ms, spec.budget_ms)
    slot_node: np.ndarray  # (S,) int64: the column of each slot
    flow_ptr: np.ndarray  # (F+1,) int64
    pred_ptr: np.ndarray  # (S+1,) int64
    pred_slot: np.ndarray  # (E,) int64
    pred_delay: np.ndarray  # (E,) float64
    sink_ptr: np.ndarray  # (F+1,) int64: flow f's sinks are sink_slot[sink_ptr[f]:sink_ptr[f+1]]
    sink_slot: np.ndarray  # slots without an in-flow successor
    _cache: dict = field(default_factory=dict, repr=False, compare=False)  # device copies, levels

    @classmethod
    def from_problem(cls, problem: Any) -> "DagStructure":
        """The structure of a :class:`fa2opt.problem.Problem` (its node order and flows)."""
        return cls.from_flows(problem.node_names, problem.flows)

    @classmethod
    def from_flows(cls, nodes: Sequence[str], flows: Sequence[_FlowLike]) -> "DagStructure":
        """From node names (the column order) and flow graphs: ``nodes`` of each flow in
        topological order, ``preds[v]`` its in-flow predecessors ``(u, d_uv)``, ``budget_ms``
        (a reduced graph of a search can pass its own FlowGraph-like objects)."""
        col = {v: i for i, v in enumerate(nodes)}
        slot_node: list[int] = []
        flow_ptr, pred_ptr = [0], [0]
        pred_slot: list[int] = []
        pred_delay: list[float] = []
        sink_ptr, sink_slot = [0], []
        for g in flows:
            check_stage()  # (a search's set-up: past a stage deadline in force it stops)
            base = len(slot_node)
            at = {v: base + i for i, v in enumerate(g.nodes)}
            has_succ = set()
            for v in g.nodes:
                for u, d in g.preds[v]:
                    if at[u] >= at[v]:
                        raise ValueError(f"flow {g.name!r}: {u!r} → {v!r} is not in topological order")
                    pred_slot.append(at[u])
                    pred_delay.append(float(d))
                    has_succ.add(u)
                slot_node.append(col[v])
                pred_ptr.append(len(pred_slot))
            sink_slot.extend(at[v] for v in g.nodes if v not in has_succ)
            flow_ptr.append(len(slot_node))
            sink_ptr.append(len(sink_slot))
        i64 = lambda a: np.asarray(a, dtype=np.int64)  # noqa: E731
        return cls(tuple(nodes), tuple(g.name for g in flows),
                   np.asarray([g.budget_ms for g in flows], dtype=np.float64),
                   i64(slot_node), i64(flow_ptr), i64(pred_ptr), i64(pred_slot),
                   np.asarray(pred_delay, dtype=np.float64), i64(sink_ptr), i64(sink_slot))

    @property
    def member(self) -> np.ndarray:
        """(F, V) bool: node v belongs to flow f."""
        m = np.zeros((len(self.flows), len(self.nodes)), dtype=bool)
        for f in range(len(self.flows)):
            m[f, self.slot_node[self.flow_ptr[f]:self.flow_ptr[f + 1]]] = True
        return m

    @property
    def slots(self) -> int:
        return len(self.slot_node)

    def on(self, xp: ModuleType) -> dict[str, Any]:
        """The index arrays in ``xp`` (copied to the device once per module and device)."""
        key = (getattr(xp, "__name__", ""), int(xp.cuda.runtime.getDevice()) if is_cupy(xp) else -1)
        if key not in self._cache:
            names = ("slot_node", "flow_ptr", "pred_ptr", "pred_slot", "pred_delay", "budget")
            self._cache[key] = {n: xp.asarray(getattr(self, n)) for n in names}
        return self._cache[key]

    def levels(self) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """The numpy twin's schedule: slots grouped by depth (0 for no predecessor, else
        1 + the deepest predecessor), per level (slots, padded predecessor slots (n, D),
        padded delays (n, D)); padding points at slot S (a finish of −inf) with delay 0.
        Slots of one level never depend on each other. Cached."""
        if "levels" not in self._cache:
            S = self.slots
            depth = np.zeros(S, dtype=np.int64)
            for s in range(S):  # predecessors are earlier slots
                p = self.pred_slot[self.pred_ptr[s]:self.pred_ptr[s + 1]]
                depth[s] = depth[p].max() + 1 if p.size else 0
            out = []
            for lvl in range(int(depth.max()) + 1 if S else 0):
                ss = np.flatnonzero(depth == lvl)
                deg = self.pred_ptr[ss + 1] - self.pred_ptr[ss]
                D = int(deg.max())
                ps = np.full((ss.size, D), S, dtype=np.int64)
                ds = np.zeros((ss.size, D))
                for i, s in enumerate(ss):
                    e0, e1 = self.pred_ptr[s], self.pred_ptr[s + 1]
                    ps[i, :e1 - e0] = self.pred_slot[e0:e1]
                    ds[i, :e1 - e0] = self.pred_delay[e0:e1]
                out.append((ss, ps, ds))
            self._cache["levels"] = out
        return self._cache["levels"]


class Candidates(NamedTuple):
    """Per node v (column order of a :class:`DagStructure`) its candidates
    ``ptr[v]:ptr[v+1]`` (CSR, ``ptr`` (V+1,) int64) with latency ``lat`` and cost ``cost``
    ((C,) float64). From a :class:`~fa2opt.problem.Problem`: the node tables, table position
    k of node v at index ``ptr[v] + k``."""

    ptr: Any
    lat: Any
    cost: Any

    @classmethod
    def from_problem(cls, problem: Any, dag: DagStructure | None = None) -> "Candidates":
        nodes = dag.nodes if dag is not None else problem.node_names
        tabs = [problem.tables[v] for v in nodes]
        ptr = np.concatenate(([0], np.cumsum([len(t) for t in tabs]))).astype(np.int64)
        cat = lambda xs: np.concatenate(xs).astype(np.float64) if xs else np.zeros(0)  # noqa: E731
        return cls(ptr, cat([t.latency_ms for t in tabs]), cat([t.cost for t in tabs]))

    def to(self, xp: ModuleType) -> "Candidates":
        return Candidates(xp.asarray(self.ptr), xp.asarray(self.lat), xp.asarray(self.cost))

    def random_choice(self, batch: int, rng: np.random.Generator) -> np.ndarray:
        """(batch, V) int64 table positions drawn uniformly per node (every node needs a candidate)."""
        sizes = np.diff(kernels.to_numpy(self.ptr))
        return (rng.random((batch, sizes.size)) * sizes).astype(np.int64)


def choose(cands: Candidates, choice: Any, xp: ModuleType = np) -> tuple[Any, Any]:
    """``lat[b, v], cost[b, v]`` of the positions ``choice[b, v]`` (B, V) (a gather; no
    arithmetic)."""
    idx = cands.ptr[:-1][None, :] + xp.asarray(choice)
    return cands.lat[idx], cands.cost[idx]


# -- results ------------------------------------------------------------------------------------
class Fixings(NamedTuple):
    lat_f: Any  # (B, F) float64: each flow's latency by the spec's rule
    ok: Any  # (B,) bool: every flow within its budget
    total: Any  # (B,) float64: Σ_v cost, left to right in column order


class Bound(NamedTuple):
    val: Any  # (B,) float64: Σ_v node_min[b, v], left to right
    arg: Any  # (B, V) int32: first minimising position per node, −1 where none is allowed
    node_min: Any  # (B, V) float64: min_k (cost_vk + y_bv · lat_vk) (inf where none is allowed)


def backend(xp: ModuleType = np) -> str:
    """Which implementation a call with ``xp`` runs: ``cuda``, ``numba`` or ``numpy``."""
    if is_cupy(xp):
        return "cuda"
    return "numba" if cpu_kernels.available() else "numpy"


# -- (1) evaluation of fixings ---------------------------------------------------------------
def evaluate_fixings(dag: DagStructure, lat: Any, cost: Any, xp: ModuleType = np,
                     budget: Any = None) -> Fixings:
    """Every flow's latency (the spec's rule, same bits), the SLA test and the total cost of
    B fixings; see the module docstring. ``lat``, ``cost``: (B, V) float64 in ``dag.nodes``
    order; ``budget``: (F,) to replace the flows' ``fl(S + 1e-6)``."""
    bud = dag.on(xp)["budget"] if budget is None else xp.asarray(budget, dtype=xp.float64)
    if bud.shape != (len(dag.flows),):
        raise ValueError(f"budget must be ({len(dag.flows)},), got {bud.shape}")
    lat = xp.ascontiguousarray(lat, dtype=xp.float64)
    cost = xp.ascontiguousarray(cost, dtype=xp.float64)
    _check_bv(lat, cost, len(dag.nodes))
    if is_cupy(xp):
        return _evaluate_cuda(dag, lat, cost, bud, xp)
    if cpu_kernels.available():
        from . import dag_batch_numba as nb
        B, F = lat.shape[0], len(dag.flows)
        lat_f, ok, total = np.empty((B, F)), np.empty(B, dtype=np.bool_), np.empty(B)
        nb.evaluate(lat, cost, dag.slot_node, dag.flow_ptr, dag.pred_ptr, dag.pred_slot,
                    dag.pred_delay, np.ascontiguousarray(bud), lat_f, ok, total)
        return Fixings(lat_f, ok, total)
    return evaluate_fixings_numpy(dag, lat, cost, bud)


def latency_limits(dag: DagStructure, fast: np.ndarray, budget: np.ndarray) -> np.ndarray:
    """Per node (``dag.nodes`` order) the largest latency a choice can give it with every
    other node at its latency ``fast`` (V,) and flow f within ``budget[f]``
    (:func:`fa2opt.reductions.pruning.limit_budget`): the compiled pass over the slots of
    :func:`fa2opt.reductions.pruning.latency_limits`, the same bits
    (``tests/test_batch.py``). Where a search asks at every subproblem, the loops' Python
    steps were its cost (a 120-node pool of 6 flows: ~1.1 ms a call). Only where the kernels
    run (:func:`fa2opt.cpu_kernels.available`); callers fall back to the reference."""
    from . import dag_batch_numba as nb
    limit = np.empty(len(dag.nodes))
    nb.latency_limits(np.ascontiguousarray(fast, dtype=np.float64), dag.slot_node, dag.flow_ptr,
                      dag.pred_ptr, dag.pred_slot, dag.pred_delay,
                      np.ascontiguousarray(budget, dtype=np.float64), limit)
    return limit


def compiled_loaded() -> bool:
    """Whether the compiled SLA pass (:func:`evaluate_fixings` on the CPU) is loaded in this
    process, so that a call costs no load of Numba's cache (~0.7 s for its first call): the
    rule the compiled tree DPs keep (:func:`fa2opt.cpu_kernels.warmed`; ``warm_up`` loads
    this pass with them)."""
    return cpu_kernels.warmed()


def evaluate_fixings_loaded(dag: DagStructure, lat: np.ndarray, cost: np.ndarray) -> Fixings:
    """:func:`evaluate_fixings` on the CPU where the compiled pass is loaded already
    (:func:`compiled_loaded`: ``cpu_kernels.warm_up`` loads it), else its numpy twin -- the
    same bits either way, and never a load in the middle of a decision. (The extensions'
    enumeration leaf: on a 60-node three-flow draw with every extension its 180 batches took
    ~0.1 s of a 0.55 s decision on the numpy twin.)"""
    if compiled_loaded():
        return evaluate_fixings(dag, lat, cost)
    return evaluate_fixings_numpy(dag, lat, cost)


CHUNK_ENTRIES = 1 << 21  # numpy twin: rows per chunk × (slots + widest level) ≈ this (stays in cache)


def evaluate_fixings_numpy(dag: DagStructure, lat: np.ndarray, cost: np.ndarray,
                           budget: np.ndarray | None = None) -> Fixings:
    """The numpy twin (the reference): slots level by level (:meth:`DagStructure.levels`),
    each level one gather ``finish[:, preds] + d`` (B, n, D), its maximum, ``where(m > 0, m,
    0)`` (the rule's start at 0: a −0.0 never wins a strict >) plus L; rows in chunks."""
    lat = np.ascontiguousarray(lat, dtype=np.float64)
    cost = np.ascontiguousarray(cost, dtype=np.float64)
    bud = dag.budget if budget is None else np.asarray(budget, dtype=np.float64)
    B, F, S = lat.shape[0], len(dag.flows), dag.slots
    levels = dag.levels()
    width = S + 1 + max((p.size for _, p, _ in levels), default=0)
    step = max(1, CHUNK_ENTRIES // width)
    lat_f = np.empty((B, F))
    for lo in range(0, B, step):
        hi = min(B, lo + step)
        fin = np.empty((hi - lo, S + 1))
        fin[:, S] = -np.inf
        for ss, ps, ds in levels:
            L = lat[lo:hi, dag.slot_node[ss]]
            if ps.shape[1] == 0:
                fin[:, ss] = 0.0 + L
                continue
            m = (fin[:, ps] + ds).max(axis=2)
            fin[:, ss] = np.where(m > 0.0, m, 0.0) + L
        for f in range(F):
            a, e = dag.flow_ptr[f], dag.flow_ptr[f + 1]
            lat_f[lo:hi, f] = fin[:, a:e].max(axis=1) if e > a else -np.inf
    total = np.zeros(B)
    for v in range(cost.shape[1]):  # left to right, not np.sum's pairwise order
        total += cost[:, v]
    return Fixings(lat_f, (lat_f <= bud).all(axis=1), total)


# -- (2) Lagrangian node minima -------------------------------------------------------------
def lagrangian_bound(cands: Candidates, y: Any, allowed: Any = None, xp: ModuleType = np) -> Bound:
    """``val[b] = Σ_v min_{k allowed} (cost_vk + y_bv · lat_vk)`` and the first minimisers;
    see the module docstring. ``y``: (B, V) float64 ≥ 0; ``allowed``: None, (C,) or (B, C)
    bool. ``cands`` in ``xp`` (:meth:`Candidates.to`)."""
    y = xp.ascontiguousarray(y, dtype=xp.float64)
    V = len(cands.ptr) - 1
    if y.ndim != 2 or y.shape[1] != V:
        raise ValueError(f"y must be (B, {V}), got {y.shape}")
    C = len(cands.lat)
    if allowed is not None:
        allowed = xp.ascontiguousarray(allowed, dtype=xp.bool_)
        if allowed.shape not in ((C,), (y.shape[0], C)):
            raise ValueError(f"allowed must be ({C},) or ({y.shape[0]}, {C}), got {allowed.shape}")
    if is_cupy(xp):
        return _bound_cuda(cands, y, allowed, xp)
    if cpu_kernels.available():
        from . import dag_batch_numba as nb
        B = y.shape[0]
        al = (np.ones((1, C), dtype=np.bool_) if allowed is None
              else allowed if allowed.ndim == 2 else allowed.reshape(1, C))
        val, arg, mins = np.empty(B), np.empty((B, V), dtype=np.int32), np.empty((B, V))
        nb.node_min(y, np.asarray(cands.ptr, dtype=np.int64), np.asarray(cands.lat, dtype=np.float64),
                    np.asarray(cands.cost, dtype=np.float64), al, val, arg, mins)
        return Bound(val, arg, mins)
    return lagrangian_bound_numpy(cands, y, allowed)


def lagrangian_bound_numpy(cands: Candidates, y: np.ndarray, allowed: np.ndarray | None = None) -> Bound:
    """The numpy twin (the reference): per node, the (B, deg) sums ``cost + y·lat`` (product
    rounded, then the sum), masked to inf where not allowed; ``argmin`` keeps the first
    minimum as the strict-< scan does; the minima added left to right over v."""
    y = np.ascontiguousarray(y, dtype=np.float64)
    B, V = y.shape
    ptr = np.asarray(cands.ptr)
    val = np.zeros(B)
    arg = np.empty((B, V), dtype=np.int32)
    mins = np.empty((B, V))
    rows = np.arange(B)
    for v in range(V):
        a, e = int(ptr[v]), int(ptr[v + 1])
        if e == a:
            mins[:, v] = np.inf
            val += np.inf
            arg[:, v] = -1
            continue
        x = cands.cost[None, a:e] + y[:, v, None] * cands.lat[None, a:e]
        if allowed is not None:
            x = np.where(allowed[..., a:e], x, np.inf)
        k = x.argmin(axis=1)
        m = x[rows, k]
        arg[:, v] = np.where(m < np.inf, k, -1)
        mins[:, v] = m
        val += m
    return Bound(val, arg, mins)


def _check_bv(lat: Any, cost: Any, V: int) -> None:
    if lat.ndim != 2 or lat.shape[1] != V or cost.shape != lat.shape:
        raise ValueError(f"lat and cost must both be (B, {V}), got {lat.shape} and {cost.shape}")


# -- CUDA ------------------------------------------------------------------------------------
# Compiled by CuPy (NVRTC) on a GPU and, unchanged, by the host C++ compiler through the shim
# of fa2opt.cuda_host in the tests. __dadd_rn / __dmul_rn: one IEEE operation each, never
# contracted into an FMA (numpy and Numba round the product before the sum).
CUDA_SOURCE = r"""
extern "C" {

__device__ __forceinline__ double _inf() { return __longlong_as_double(0x7ff0000000000000LL); }

// (1) one thread per batch row b. lat, cost: (V, B) (column b of the transposed inputs, so a
// warp's reads are contiguous); finish: (S, B) scratch; lat_f: (B, F); ok: (B,); total: (B,).
__global__ void dag_evaluate(const double* __restrict__ lat, const double* __restrict__ cost,
                             const long long* __restrict__ slot_node,
                             const long long* __restrict__ flow_ptr,
                             const long long* __restrict__ pred_ptr,
                             const long long* __restrict__ pred_slot,
                             const double* __restrict__ pred_delay,
                             const double* __restrict__ budget, double* __restrict__ finish,
                             double* __restrict__ lat_f, unsigned char* __restrict__ ok,
                             double* __restrict__ total, const long long B, const long long V,
                             const long long F) {
    long long b = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (b >= B) return;
    unsigned char all_ok = 1;
    for (long long f = 0; f < F; ++f) {
        double longest = -_inf();
        for (long long s = flow_ptr[f]; s < flow_ptr[f + 1]; ++s) {
            double start = 0.0;
            for (long long e = pred_ptr[s]; e < pred_ptr[s + 1]; ++e) {
                double x = __dadd_rn(finish[pred_slot[e] * B + b], pred_delay[e]);
                if (x > start) start = x;
            }
            double fin = __dadd_rn(start, lat[slot_node[s] * B + b]);
            finish[s * B + b] = fin;
            if (fin > longest) longest = fin;
        }
        lat_f[b * F + f] = longest;
        if (!(longest <= budget[f])) all_ok = 0;
    }
    ok[b] = all_ok;
    double t = 0.0;
    for (long long v = 0; v < V; ++v) t = __dadd_rn(t, cost[v * B + b]);
    total[b] = t;
}

// (2) one thread per (b, v): the least cost + y*lat over node v's allowed candidates and the
// first minimising position (-1 if none). allowed: row b at allowed + b * allowed_stride
// (stride 0: one row shared by every b).
__global__ void lagrange_node_min(const double* __restrict__ y,
                                  const long long* __restrict__ cand_ptr,
                                  const double* __restrict__ cand_lat,
                                  const double* __restrict__ cand_cost,
                                  const unsigned char* __restrict__ allowed,
                                  const long long allowed_stride, double* __restrict__ node_min,
                                  int* __restrict__ arg, const long long B, const long long V) {
    long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= B * V) return;
    long long b = i / V, v = i - b * V;
    const unsigned char* al = allowed + b * allowed_stride;
    double yv = y[i], best = _inf();
    int bk = -1;
    long long a = cand_ptr[v];
    for (long long c = a; c < cand_ptr[v + 1]; ++c) {
        double x = __dadd_rn(cand_cost[c], __dmul_rn(yv, cand_lat[c]));
        if (al[c] && x < best) { best = x; bk = (int)(c - a); }
    }
    node_min[i] = best;
    arg[i] = bk;
}

// out[b] = (((0 + a[b,0]) + a[b,1]) + ...) + a[b,N-1]: one thread per row, left to right.
__global__ void row_sums(const double* __restrict__ a, double* __restrict__ out,
                         const long long B, const long long N) {
    long long b = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (b >= B) return;
    double t = 0.0;
    for (long long j = 0; j < N; ++j) t = __dadd_rn(t, a[b * N + j]);
    out[b] = t;
}

}
"""

def evaluate_call(dag_arrays: Mapping[str, Any], lat: Any, cost: Any, budget: Any,
                  xp: ModuleType) -> KernelCall:
    """The ``dag_evaluate`` launch (one thread per row) on (B, V) float64 ``lat``/``cost``
    (transposed here), the structure's arrays in ``xp`` (:meth:`DagStructure.on`) and (F,)
    budgets; outputs (lat_f (B, F), ok (B,) uint8, total (B,), finish scratch (S, B))."""
    B, V = lat.shape
    F, S = len(dag_arrays["flow_ptr"]) - 1, len(dag_arrays["slot_node"])
    latT, costT = xp.ascontiguousarray(lat.T), xp.ascontiguousarray(cost.T)
    finish = xp.empty((S, B), dtype=xp.float64)
    lat_f, ok, total = xp.empty((B, F)), xp.empty(B, dtype=xp.uint8), xp.empty(B)
    d = dag_arrays
    args = (latT, costT, d["slot_node"], d["flow_ptr"], d["pred_ptr"], d["pred_slot"], d["pred_delay"],
            xp.ascontiguousarray(budget, dtype=xp.float64), finish, lat_f, ok, total,
            np.int64(B), np.int64(V), np.int64(F))
    return KernelCall("dag_evaluate", B, args, (lat_f, ok, total, finish))


def node_min_call(cands: Candidates, y: Any, allowed: Any, xp: ModuleType) -> KernelCall:
    """The ``lagrange_node_min`` launch (one thread per (b, v)); ``allowed`` None, (C,) or
    (B, C) bool; outputs (node_min (B, V), arg (B, V) int32)."""
    B, V = y.shape
    C = len(cands.lat)
    if allowed is None:
        al, stride = xp.ones(max(1, C), dtype=xp.uint8), 0
    else:
        al = xp.ascontiguousarray(allowed, dtype=xp.bool_).view(xp.uint8).reshape(-1)
        stride = C if allowed.ndim == 2 else 0
        if al.size == 0:
            al = xp.ones(1, dtype=xp.uint8)
    node_min, arg = xp.empty((B, V)), xp.empty((B, V), dtype=xp.int32)
    args = (y, xp.ascontiguousarray(cands.ptr, dtype=xp.int64),
            xp.ascontiguousarray(cands.lat, dtype=xp.float64),
            xp.ascontiguousarray(cands.cost, dtype=xp.float64), al, np.int64(stride), node_min, arg,
            np.int64(B), np.int64(V))
    return KernelCall("lagrange_node_min", B * V, args, (node_min, arg))


def row_sums_call(a: Any, xp: ModuleType) -> KernelCall:
    """The ``row_sums`` launch on (B, N) float64: output (B,), each row added left to right."""
    B, N = a.shape
    out = xp.empty(B)
    return KernelCall("row_sums", B, (xp.ascontiguousarray(a), out, np.int64(B), np.int64(N)), (out,))


# every kernel of CUDA_SOURCE and its launch builder (the host tests check none is missing)
CUDA_CALLS = {"dag_evaluate": evaluate_call, "lagrange_node_min": node_min_call, "row_sums": row_sums_call}

GPU_CHUNK_ENTRIES = 1 << 27  # dag_evaluate's scratch: rows per launch × slots ≤ this (1 GiB)


def _launch(xp: ModuleType, call: KernelCall) -> tuple:
    return kernels.launch(call, lambda name: kernels.cuda_kernel(xp, name, CUDA_SOURCE))


def _evaluate_cuda(dag: DagStructure, lat: Any, cost: Any, budget: Any, xp: ModuleType) -> Fixings:
    B = lat.shape[0]
    step = max(1, GPU_CHUNK_ENTRIES // max(1, dag.slots))  # rows per launch: bounds the scratch
    parts = [_launch(xp, evaluate_call(dag.on(xp), lat[lo:lo + step], cost[lo:lo + step], budget, xp))[:3]
             for lo in range(0, max(B, 1), step)]
    lat_f, ok, total = (xp.concatenate(p) if len(parts) > 1 else p[0] for p in zip(*parts))
    return Fixings(lat_f, ok.view(xp.bool_), total)


def _bound_cuda(cands: Candidates, y: Any, allowed: Any, xp: ModuleType) -> Bound:
    node_min, arg = _launch(xp, node_min_call(cands, y, allowed, xp))
    (val,) = _launch(xp, row_sums_call(node_min, xp))
    return Bound(val, arg, node_min)
