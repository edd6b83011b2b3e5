"""Compiled CPU kernels (Numba) for the grid DP on numpy arrays: the same values as the
numpy twins of :mod:`fa2opt.kernels`, from the curves' breakpoints instead of every budget.

The dense kernels cost O(B·T·K) per leaf-fold and O(B·T²) per (min,+) convolution. Curves are
non-increasing step functions of the budget t with few steps on real profiles (a handful to
a few dozen within the budgets a step must provide, against T = 500 … 20,000), so the same
values follow from their *breakpoints* (the budgets where a curve strictly drops):

* leaf-fold ``g'[t] = min_k c_k + g[t − u_k]``: since g is non-increasing,
  ``g[t − u_k] = g[p]`` for the last breakpoint p ≤ t − u_k, so
  ``g'[t] = min { c_k + g[p] : p + u_k ≤ t }`` — K·P candidates, each valid from budget
  p + u_k on; sorted by that budget, a running minimum gives g'. O(T + P·log T +
  K·P·log(K·P)) per item instead of O(T·K) (:func:`leaf_fold_min`).
* (min,+) convolution: likewise ``min { a[p] + c[q] : p + q ≤ t }`` over the breakpoints of
  both curves (:func:`minplus_conv_min`).
* a whole chain (a series of leaves and delays, the common flow shape) never needs a dense
  curve: :func:`chain_dp` keeps each level as its breakpoint list, restricted to the budgets
  the rest of the chain can read, and backtracks on those lists. O(L·K·P) per item.

Breakpoints of a dense curve are found by galloping (exponential then binary search),
O(P·log T). Every value is one of the IEEE sums the dense kernels form (``c_k + g[p]``,
``a[p] + c[q]``) and min is exact, so curves, costs and first-minimiser choices equal the
numpy twins' and the CUDA kernels' bit for bit (tests/test_cpu_kernels.py).

Preconditions (what the grid DP guarantees, :mod:`fa2opt.grid.flow_dp`): the input curve of
a leaf-fold is non-increasing on the budgets the wanted outputs read,
``[lo − max u, hi − min u)`` (a windowed fold's output is exact on its window and may be
inf elsewhere); the inputs of a convolution are non-increasing on all budgets.

Numba is a dependency of the package; where it cannot be imported, with the environment
variable ``FA2OPT_NUMBA=0``, or inside :func:`disabled`, :func:`available` is False and the
numpy twins run. The first call in a process compiles (about 3 s; cached on disk by Numba,
later processes load the cache in about 0.5 s).
"""

from __future__ import annotations

import os
import sys
import threading
import time
from contextlib import contextmanager
from functools import cache
from types import ModuleType
from typing import Iterator

import numpy as np

from .deadline import stage_deadline


def _flag(name: str, default: str) -> bool:
    """An environment variable read as a switch (0 / false / no / off: off; unset or empty:
    ``default``)."""
    value = os.environ.get(name, "").strip().lower() or default
    return value not in ("0", "false", "no", "off")


def warm_up_requested() -> bool:
    """``FA2OPT_WARM_UP=1``: ``fa2opt solve`` loads the kernels (:func:`warm_up`) before its
    first decision, as the comparison harness and the benchmarks do. Not by default: loading
    costs ~0.5 s in a fresh process (the first compilation after an install 20-45 s), more
    than most one-off decisions; a long search loads them itself where Numba's disk cache
    holds them (:func:`load_when_cached`), unless ``FA2OPT_WARM_UP=0``."""
    return _flag("FA2OPT_WARM_UP", "0")


@cache
def _numba() -> ModuleType | None:
    if not _flag("FA2OPT_NUMBA", "1"):
        return None
    try:
        import numba  # type: ignore[import-not-found]
    except Exception:  # not installed, or no wheel / LLVM for this platform
        return None
    return numba


class _Off(threading.local):
    on = False  # a class default: getattr with a default on a bare threading.local costs
    # ~1 µs (it raises and catches AttributeError), and a small decision asks several times


_OFF = _Off()


def available() -> bool:
    """Whether the compiled kernels run (Numba importable, not disabled)."""
    return not _OFF.on and _numba() is not None


_WARM = False  # warm_up() has compiled (or loaded) the kernels in this process


def warmed() -> bool:
    """Whether :func:`warm_up` has compiled or loaded the kernels in this process and they
    run (:func:`available`). fa2's compiled tree DPs (:func:`fa2opt.tree_kernel.kernel`) wait
    for it: their first compilation after an install takes ~10 s, which a process that
    merely imported Numba (a long flow-bound search does, :data:`fa2opt.reductions.flow_bound.
    NUMBA_AFTER_S`) must not pay in the middle of a decision."""
    return _WARM and available()


@contextmanager
def disabled() -> Iterator[None]:
    """Within the block (this thread), the numpy twins run instead: for side-by-side
    measurements and for tests that check both give the same answers."""
    before = _OFF.on
    _OFF.on = True
    try:
        yield
    finally:
        _OFF.on = before


# -- output arrays ------------------------------------------------------------------------------
# The batched grid DP keeps every step's curve until backtracking is done, then drops them
# all; freshly allocated arrays of that size cost a page fault per 4 KiB page on first touch
# (glibc returns the freed block to the system), more than the sweep itself. So outputs come
# from a small per-thread pool of arrays and an array is handed out again only when nothing
# else references it (its reference count: the pool's list, the loop variable and the
# argument of sys.getrefcount; a live view counts as a reference to its base).
# Small arrays (below POOL_MIN_BYTES) come from malloc's heap without page faults and are
# not pooled.
POOL_MIN_BYTES, POOL_ARRAYS = 1 << 20, 64  # pooled: arrays ≥ 1 MiB, at most 64 per thread
_POOL = threading.local()


def _empty(shape: tuple[int, int]) -> np.ndarray:
    if shape[0] * shape[1] * 8 < POOL_MIN_BYTES:
        return np.empty(shape)
    pool: list[np.ndarray] = _POOL.__dict__.setdefault("arrays", [])
    for buf in pool:
        if buf.shape == shape and sys.getrefcount(buf) == 3:
            return buf
    buf = np.empty(shape)
    if len(pool) == POOL_ARRAYS:  # forget the oldest (freed once nothing else holds it)
        pool.pop(0)
    pool.append(buf)
    return buf


def leaf_fold_min(g: np.ndarray, u: np.ndarray, c: np.ndarray, lo: int, hi: int) -> np.ndarray:
    """``out[b, t] = min_k c[b,k] + g[b, t − u[b,k]]`` (u[b,k] ≤ t) on lo ≤ t < hi, inf elsewhere.
    ``g`` (B, T+1) float64, ``u`` (B, K) int64, ``c`` (B, K) float64 (inf: unavailable)."""
    out = _empty(g.shape)
    _compiled().leaf_fold(g, u, c, lo, hi, out)
    return out


def minplus_conv_min(a: np.ndarray, c: np.ndarray) -> np.ndarray:
    """``out[b, t] = min_{s ≤ t} a[b, s] + c[b, t − s]`` on every budget (inf where impossible)."""
    out = _empty(a.shape)
    _compiled().minplus_conv(a, c, out)
    return out


@cache
def _compiled() -> ModuleType:
    if _numba() is None:
        raise RuntimeError("fa2opt.cpu_kernels: Numba is not available (check available() first)")
    from . import numba_kernels
    return numba_kernels


def chain_dp(u: np.ndarray, c: np.ndarray, T: np.ndarray, backtrack: bool
             ) -> tuple[np.ndarray, np.ndarray | None]:
    """A whole series of leaves at once, on sparse curves, per batch item: the grid DP of a
    chain (the common flow shape) without any dense (B, T+1) array.

    ``u``/``c``: (L, B, K) steps and costs of the L leaves in series order (a leaf with fewer
    columns padded with c = inf; fixed delays already added to the first leaf's steps);
    ``T``: (B,) budgets in steps. Per item, level by level::

        g_0 = {(0, 0)}                      the empty expression: cost 0 from budget 0
        g_{l+1} = breakpoints of  t ↦ min { c_k + g_l(p) : (p, ·) ∈ g_l, p + u_k ≤ t },  t ≤ T

    by merging the K candidate lists (each increasing in budget) and keeping the budgets
    where the running minimum strictly drops. The cost is the last value of g_L. Backtracking
    from t = T takes at each leaf (last to first) the first column k minimising
    ``c_k + g_l(t − u_k)`` — the dense argmin's choice — and t −= u_k. O(L·K·P) per item for
    curves of P breakpoints, plus O(L·K·log P) to backtrack. The values are the dense
    kernels' sums, so cost and choice equal the dense grid DP's bit for bit.

    Returns cost (B,) and, with ``backtrack``, the chosen column per leaf (L, B) (−1 where the
    cost is inf)."""
    L, B, _ = u.shape
    cost = np.empty(B)
    arg = np.empty((L, B), np.int64)
    _compiled().chain_dp(np.ascontiguousarray(u, dtype=np.int64), np.ascontiguousarray(c, dtype=np.float64),
                         np.ascontiguousarray(T, dtype=np.int64), backtrack, cost, arg)
    return cost, (arg if backtrack else None)


@cache
def warm_up() -> bool:
    """Compile (or load from Numba's disk cache) every kernel now, on tiny inputs of the
    types the callers pass, so that the first decision's time does not include it; once per
    process. The grid DP's kernels (this module), the batched SLA pass
    (:func:`fa2opt.dag_batch.evaluate_fixings`) and the flow-bound search's passes
    (:mod:`fa2opt.reductions.flow_numba`) and the compiled tree DPs
    (:mod:`fa2opt.tree_kernel`: a plan's components, the coupling search's flows, a flow's
    program from its graph), which fa2 takes only once this has run (:func:`warmed`).
    Without it, the first flow-bound search after some other method imported Numba paid the
    passes' cache load (0.4-1.6 s measured on a decision of 25 ms). Returns available()."""
    if not available():
        return False
    g, u, c = np.zeros((1, 2)), np.zeros((1, 1), np.int64), np.zeros((1, 1))
    leaf_fold_min(g, u, c, 0, 2)
    minplus_conv_min(g, g)
    chain_dp(u[None], c[None], np.zeros(1, np.int64), True)
    from types import SimpleNamespace

    from .dag_batch import (Candidates, DagStructure, evaluate_fixings, lagrangian_bound,
                            latency_limits)
    from .reductions import flow_numba

    from .problem import FlowGraph

    flow = FlowGraph("f", 1.0, ("a", "b"), {"a": (), "b": (("a", 0.0),)}, 1.0)
    dag = DagStructure.from_flows(("a", "b"), [flow])
    evaluate_fixings(dag, np.ones((1, 2)), np.ones((1, 2)))
    latency_limits(dag, np.ones(2), np.ones(1))
    # (no decision calls it, but cached() asks for every kernel Python calls: without it a
    # fresh install's cache never counted as complete and load_when_cached never loaded)
    lagrangian_bound(Candidates(np.arange(3, dtype=np.int64), np.ones(2), np.ones(2)),
                     np.zeros((1, 2)))
    i, f = np.zeros(2, np.int64), np.zeros(2)
    ptr = np.zeros(3, np.int64)
    flow_numba.start_tail(f, ptr, i, f, ptr, i, f, np.empty(2), np.empty(2))
    flow_numba.fill(i, np.ones(2, np.bool_), f, f, i, i, i, np.ones(1), ptr, i, f, ptr, i, f)
    flow_numba.push_flow(np.zeros(2), f, ptr, i, i, np.zeros(2))
    global _WARM
    _WARM = True  # (the tree DPs below run only once it is set: tree_kernel.kernel)
    from . import tree_kernel
    from .tables import pack_tables
    from .reductions.sptree import Leaf, Series
    tables = {v: SimpleNamespace(latency_ms=np.ones(1), cost=np.ones(1), lists=([0],)) for v in "ab"}
    tree = Series((Leaf("a"), Leaf("b")))
    tree_kernel.solve(tree_kernel.compile_program([tree, tree], ("a", "b"), ("a",)),
                      pack_tables(tables), [2.0, 2.0], {"a": [0]})
    tree_kernel.graph_program(flow, ("a", "b"))
    one = SimpleNamespace(latency=[1.0], cost=[1.0])
    remainder = tree_kernel.compile_remainder(tree, {"a": one, "b": one})
    if remainder is not None:  # (None where tree_kernel.ENABLED is off)
        remainder(2.0, {"a": 0}, {"b": [1.0]})
    return True


# -- a long search loads the kernels where their compilation is cached ------------------------
# seconds of one search after which load_when_cached() looks: about what looking and
# loading cost (~0.3-0.6 s), the ski-rental rule -- a search that ends just after pays
# at most twice what it would have with the right choice made at its start
LOAD_AFTER_S = 0.5
LOAD_MIN_LEFT_S = 2.0  # ... and not with less than this left to the time limit in force
_KERNEL_MODULES = ("numba_kernels", "dag_batch_numba", "reductions.flow_numba", "tree_numba")
_LOOKED = False  # load_when_cached() has looked in this process


def load_when_cached(started: float) -> None:
    """Where a search (started at ``started``, a ``time.perf_counter()`` value) has run
    :data:`LOAD_AFTER_S` in a process whose kernels are not loaded: load them
    (:func:`warm_up`, ~0.4 s) if Numba's disk cache holds them all (:func:`cached`), so the
    compiled tree DPs serve the rest of the search (the coupling search's flows take them at
    their next solve, :class:`fa2opt.reductions.search._FlowPrograms`); never compile here
    (20-45 s after an install or an edit). Looks once per process, not where
    ``FA2OPT_WARM_UP`` is off, and not within :data:`LOAD_MIN_LEFT_S` of the time limit in
    force (:func:`fa2opt.deadline.stage_deadline`: the look and the load would overrun it;
    a later search may still look). A ``many_flows(20, 10, 100)`` instance as a one-off
    command: 28.6 -> 7.9 s (docs/fa2.md, "A long search loads the compiled kernels").
    O(1) until it looks."""
    now = time.perf_counter()
    if _WARM or _LOOKED or now - started < LOAD_AFTER_S:
        return
    stop = stage_deadline()
    if stop is not None and stop - now < LOAD_MIN_LEFT_S:
        return
    load_if_cached()


def load_if_cached() -> bool:
    """:func:`warm_up` where ``FA2OPT_WARM_UP`` is not off and Numba's disk cache holds every
    kernel (:func:`cached`): a load (~0.5 s), never a compilation (20-45 s after an install or
    an edit: more than a one-off decision). Looks once per process (a look that finds no
    cache reads every kernel's index, ~0.3 ms: each ``fa2-grid`` solver made would repeat
    it); only :func:`warm_up` can fill the cache meanwhile. Returns :func:`warmed`."""
    global _LOOKED
    if not _WARM and not _LOOKED:
        _LOOKED = True
        if _flag("FA2OPT_WARM_UP", "1") and available() and cached():
            warm_up()
    return warmed()


def cached() -> bool:
    """Whether Numba's disk cache holds every kernel compiled for this Numba version, this
    machine and the kernels' current source, so that :func:`warm_up` loads rather than
    compiles. Numba's own test, read from each kernel's cache index
    (``numba.core.caching``: the index's Numba version and source stamp, then an entry with
    this machine's target and the function's bytecode): a kernel Python calls (no leading
    underscore) must have one; a helper may have no index at all (compiled into its callers
    only), but not a stale one. Reads Numba internals: anything unexpected answers False.
    Imports Numba and the kernels' modules (~0.35 s in a fresh process), compiles nothing."""
    if not available():
        return False
    try:
        import importlib

        from numba.core.registry import CPUDispatcher  # type: ignore[import-not-found]

        found = 0
        for name in _KERNEL_MODULES:
            module = importlib.import_module(f"{__package__}.{name}")
            for attr, f in vars(module).items():
                if not isinstance(f, CPUDispatcher) or getattr(f, "_cache", None) is None \
                        or not hasattr(f._cache, "_cache_file"):  # (not cache=True)
                    continue
                index_file = f._cache._cache_file
                want = f._cache._index_key(None, f.targetctx.codegen())[1:]
                if any(key[1:] == want for key in index_file._load_index()):
                    found += 1
                elif not attr.startswith("_") or os.path.exists(index_file._index_path):
                    return False
        return found > 0
    except Exception:
        return False
