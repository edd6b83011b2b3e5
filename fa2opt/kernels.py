"""The grid DP's array kernels, one code path for numpy (CPU) and CuPy (GPU).

Every function takes arrays with a leading *batch* axis B (instances, rates, …) and the
array module ``xp`` they live in. The two steps that need a loop with an argmin (for
backtracking) exist twice: as a CuPy ``RawKernel`` (one CUDA thread per (b, t) entry) and
as a vectorised numpy twin. The numpy twin is the reference: both scan candidates in the
same order, keep the *first* minimum (strict ``<``) and do the same IEEE double
additions, so they give bit-identical curves and identical argmins.

Curves are arrays ``g[b, t]``, t = 0 … T (T+1 entries): the least cost of a sub-expression
whose latency is at most t grid steps (``inf`` where impossible); they are non-increasing
in t. The steps (FA2's DP over a discretised latency budget, Razavi et al., RTAS 2022):

* :func:`leaf_fold` — put a node after a curve (series with a leaf)::

      g'[b, t] = min_k ( c[b, k] + g[b, t − u[b, k]] )   over k with u[b, k] ≤ t

  with ``arg[b, t]`` the first minimising k (−1 where g' is inf). O(B·T·K).
  A fixed ``Delay`` of d steps is the same step with one row of cost 0.
* :func:`minplus_conv` — two sub-expressions in series, the (min,+) convolution::

      g[b, t] = min_{0 ≤ s ≤ t} ( a[b, s] + c[b, t − s] ),   split[b, t] = first minimising s

  O(B·T²).
* parallel branches must all finish within t: the pointwise sum ``a + c`` (no kernel).

On the CPU the value-only forms (``with_arg=False``, what the grid DP runs; backtracking
recovers argmins at the few budgets it visits) run as compiled breakpoint sweeps
(:mod:`fa2opt.cpu_kernels`, Numba) where Numba is available: the same IEEE sums and exact
minima over the breakpoints of the non-increasing curves, so the same curves, in
O(T + K·P) instead of O(T·K) per item (P breakpoints, a few dozen on real profiles).
"""

from __future__ import annotations

from types import ModuleType
from typing import Any, Callable, NamedTuple

import numpy as np

from . import cpu_kernels
from .io import InputError

DEVICES = ("cpu", "gpu", "auto")
THREADS = 256  # CUDA threads per block


class DeviceUnavailable(InputError):
    """``device="gpu"`` was asked for but CuPy or a CUDA device is missing. An
    :class:`~fa2opt.io.InputError`, so the CLI prints its one line and exits with code 2."""

    def __init__(self, reason: str):
        super().__init__("--device gpu", "", reason)


def _cupy_or_reason() -> tuple[ModuleType | None, str]:
    """CuPy if importable and a CUDA device answers, else (None, why not)."""
    try:
        import cupy  # type: ignore[import-not-found]
    except ImportError:
        return None, "CuPy is not installed (pip install 'fa2opt[gpu]')"
    except Exception as exc:  # a broken CUDA install can fail at import
        return None, f"CuPy cannot be imported ({type(exc).__name__}: {exc})"
    try:
        if cupy.cuda.runtime.getDeviceCount() < 1:
            return None, "no CUDA device found"
    except Exception as exc:
        return None, f"no CUDA device found ({type(exc).__name__})"
    return cupy, ""


def get_array_module(device: str = "cpu") -> ModuleType:
    """The array module for a device: ``cpu`` → numpy, ``gpu`` → cupy (raises
    :class:`DeviceUnavailable` with one clear line if CuPy or a CUDA device is missing),
    ``auto`` → cupy when usable, else numpy."""
    if device not in DEVICES:
        raise InputError("--device", "", f"must be one of {', '.join(DEVICES)} (got {device!r})")
    if device == "cpu":
        return np
    cp, why = _cupy_or_reason()
    if cp is not None:
        return cp
    if device == "gpu":
        raise DeviceUnavailable(why)
    return np


def gpu_available() -> bool:
    return _cupy_or_reason()[0] is not None


def is_cupy(xp: ModuleType) -> bool:
    return xp is not np and getattr(xp, "__name__", "") == "cupy"


def to_numpy(a: Any) -> np.ndarray:
    """A host (numpy) copy of a numpy or CuPy array."""
    return a.get() if hasattr(a, "get") else np.asarray(a)


# -- CUDA kernels ---------------------------------------------------------------------------
# Compiled by CuPy (NVRTC) on a GPU and, unchanged, by the host C++ compiler through the shim
# in fa2opt.cuda_host for the tests (tests/test_cuda_source.py), so it runs before any GPU does.
CUDA_SOURCE = r"""
extern "C" {

__device__ __forceinline__ double _inf() { return __longlong_as_double(0x7ff0000000000000LL); }

// g'[b,t] = min_k c[b,k] + g[b, t-u[b,k]] over u[b,k] <= t; arg = first minimising k or -1.
__global__ void leaf_fold(const double* __restrict__ g, const long long* __restrict__ u,
                          const double* __restrict__ c, double* __restrict__ out,
                          int* __restrict__ arg, const long long B, const long long T1,
                          const long long K) {
    long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= B * T1) return;
    long long b = i / T1, t = i - b * T1;
    const double* gb = g + b * T1;
    const long long* ub = u + b * K;
    const double* cb = c + b * K;
    double best = _inf();
    int bk = -1;
    for (long long k = 0; k < K; ++k) {
        long long uk = ub[k];
        if (uk <= t) {
            double v = cb[k] + gb[t - uk];
            if (v < best) { best = v; bk = (int)k; }
        }
    }
    out[i] = best;
    arg[i] = bk;
}

// g[b,t] = min_{0<=s<=t} a[b,s] + c[b,t-s]; split = first minimising s or -1.
__global__ void minplus_conv(const double* __restrict__ a, const double* __restrict__ c,
                             double* __restrict__ out, int* __restrict__ split,
                             const long long B, const long long T1) {
    long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= B * T1) return;
    long long b = i / T1, t = i - b * T1;
    const double* ab = a + b * T1;
    const double* cb = c + b * T1;
    double best = _inf();
    int bs = -1;
    for (long long s = 0; s <= t; ++s) {
        double v = ab[s] + cb[t - s];
        if (v < best) { best = v; bs = (int)s; }
    }
    out[i] = best;
    split[i] = bs;
}

}
"""

_MODULES: dict[tuple[int, str], Any] = {}


def cuda_kernel(xp: ModuleType, name: str, source: str = CUDA_SOURCE) -> Any:
    """The compiled RawKernel ``name`` of ``source`` (each source compiled once per process
    and device; :mod:`fa2opt.dag_batch` passes its own)."""
    key = (int(xp.cuda.runtime.getDevice()), source)
    if key not in _MODULES:
        _MODULES[key] = xp.RawModule(code=source, options=("-std=c++14",))
    return _MODULES[key].get_function(name)


class KernelCall(NamedTuple):
    """One launch of a kernel in :data:`CUDA_SOURCE`: its name, the thread count n (one per
    (b, t) entry), the arguments in the kernel's parameter order (arrays, numpy scalars) and
    the output arrays it fills. Built once for CuPy and for the host shim
    (:func:`fa2opt.cuda_host.launch`), so the tests launch the kernel as the GPU path does."""

    name: str
    n: int
    args: tuple
    outputs: tuple


def launch_geometry(n: int) -> tuple[tuple[int], tuple[int]]:
    """(grid, block) for n threads: ``ceil(n / THREADS)`` blocks of ``THREADS``; the kernels
    return early for the last block's threads with index ≥ n."""
    return ((n + THREADS - 1) // THREADS,), (THREADS,)


def launch(call: KernelCall, kernel: Callable[[str], Callable[..., None]]) -> tuple:
    """Launch ``call`` with :func:`launch_geometry` (nothing for n = 0) and return its outputs;
    ``kernel(name)`` is the launchable ``f(grid, block, args)``: CuPy's RawKernel on a GPU, the
    host-compiled source in the tests (:func:`fa2opt.cuda_host.kernel`)."""
    grid, block = launch_geometry(call.n)
    if grid[0]:
        kernel(call.name)(grid, block, call.args)
    return call.outputs


def _launch(xp: ModuleType, call: KernelCall) -> tuple:
    return launch(call, lambda name: cuda_kernel(xp, name))


def leaf_fold_call(g: Any, u: Any, c: Any, xp: ModuleType) -> KernelCall:
    """The ``leaf_fold`` launch on prepared inputs (:func:`_leaf_fold_inputs`): g (B, T+1)
    float64, u (B, K) int64 ≤ T+1, c (B, K) float64, all C-contiguous; outputs (curve, arg)."""
    B, T1 = g.shape
    K = u.shape[1]
    out = xp.empty((B, T1), dtype=xp.float64)
    arg = xp.empty((B, T1), dtype=xp.int32)
    return KernelCall("leaf_fold", B * T1, (g, u, c, out, arg, np.int64(B), np.int64(T1), np.int64(K)),
                      (out, arg))


def minplus_conv_call(a: Any, c: Any, xp: ModuleType) -> KernelCall:
    """The ``minplus_conv`` launch on a, c (B, T+1) float64, C-contiguous; outputs (curve, split)."""
    B, T1 = a.shape
    out = xp.empty((B, T1), dtype=xp.float64)
    split = xp.empty((B, T1), dtype=xp.int32)
    return KernelCall("minplus_conv", B * T1, (a, c, out, split, np.int64(B), np.int64(T1)), (out, split))


# every kernel of CUDA_SOURCE and its launch builder (the host tests check none is missing)
CUDA_CALLS: dict[str, Callable[..., KernelCall]] = {
    "leaf_fold": leaf_fold_call, "minplus_conv": minplus_conv_call}


def _leaf_fold_inputs(g: Any, ticks: Any, cost: Any, xp: ModuleType) -> tuple[Any, Any, Any]:
    """The arrays every leaf-fold path runs on: contiguous float64 g and c, and the steps as
    int64 capped at T+1 (a row that cannot fit any budget)."""
    g = xp.ascontiguousarray(g, dtype=xp.float64)
    u = xp.ascontiguousarray(xp.minimum(ticks, g.shape[1]), dtype=xp.int64)
    return g, u, xp.ascontiguousarray(cost, dtype=xp.float64)


# -- the steps --------------------------------------------------------------------------------
def leaf_fold(g: Any, ticks: Any, cost: Any, xp: ModuleType = np, *,
              with_arg: bool = True, need: tuple[int, int] | None = None) -> tuple[Any, Any]:
    """Series with a leaf: ``g'[b,t] = min_k c[b,k] + g[b, t − u[b,k]]`` and its argmin.

    ``g``: (B, T+1) float64 curve; ``ticks`` u: (B, K) int64 ≥ 0 (a row with u > T never
    fits); ``cost`` c: (B, K) float64, ``inf`` for an unavailable row. Returns the new curve
    (B, T+1) and ``arg`` (B, T+1) int32: the first minimising k, −1 where the curve is inf.
    With ``with_arg=False`` the argmin is not returned (None): the grid DP recovers it at the
    few budgets backtracking visits with :func:`leaf_fold_argmin`, which lets the numpy path
    run a running minimum (2–3 array passes per row instead of 5).

    ``need = (lo, hi)`` (with ``with_arg=False``): only budgets lo ≤ t < hi are wanted; the
    numpy and compiled CPU paths compute just those and leave the rest inf (the CUDA kernel
    computes all); the compiled path needs g non-increasing on the budgets they read.
    The wanted entries are the same either way; the grid DP asks each step only for the
    budgets the steps after it can read.
    """
    g, u, c = _leaf_fold_inputs(g, ticks, cost, xp)
    T1 = g.shape[1]
    if is_cupy(xp):
        out, arg = _launch(xp, leaf_fold_call(g, u, c, xp))
        return out, (arg if with_arg else None)
    if with_arg:
        return _leaf_fold_numpy(g, u, c)
    lo, hi = need if need is not None else (0, T1)
    lo, hi = max(0, lo), min(T1, hi)
    if cpu_kernels.available():  # the compiled breakpoint sweep: same values, O(T + K·P) per item
        return cpu_kernels.leaf_fold_min(g, u, c, lo, hi), None
    return _leaf_fold_min_numpy(g, u, c, lo, hi), None


def _leaf_fold_numpy(g: np.ndarray, u: np.ndarray, c: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Numpy twin of the ``leaf_fold`` kernel: k in increasing order, strict ``<``.

    ``g`` is padded with T+1 infinities on the left, so ``g[b, t − u]`` for all t is the
    contiguous window starting at T+1 − u of the padded row (inf where t < u, which never
    wins a strict ``<`` against inf): one row-gather per k instead of an element gather.
    """
    B, T1 = g.shape
    padded = np.concatenate([np.full((B, T1), np.inf), g], axis=1)
    windows = np.lib.stride_tricks.sliding_window_view(padded, T1, axis=1)  # (B, T1+1, T1)
    rows = np.arange(B)
    best = np.full((B, T1), np.inf)
    arg = np.full((B, T1), -1, dtype=np.int32)
    better = np.empty((B, T1), dtype=bool)
    for k in range(u.shape[1]):
        ck = c[:, k]
        live = np.isfinite(ck)
        if not live.any():
            continue
        v = windows[rows, T1 - u[:, k]]  # (B, T1) copy: g[b, t − u[b, k]]
        np.add(ck[:, None], v, out=v)
        np.less(v, best, out=better)
        np.copyto(best, v, where=better)
        np.copyto(arg, np.int32(k), where=better)
    return best, arg


def first_finite(a: np.ndarray) -> int:
    """The least t at which some row of a curve is finite (T+1 when none is): every curve
    entry below it is inf, so the folds skip it."""
    fin = np.isfinite(a).any(axis=0)
    return int(fin.argmax()) if fin.any() else a.shape[1]


# A run of items costs a few numpy calls (~µs); a gathered row one more pass over its entries.
# Runs are used while there are at most ``entries / RUN_ENTRIES`` of them (and at least 1).
RUN_ENTRIES = 1024


def _leaf_fold_min_numpy(g: np.ndarray, u: np.ndarray, c: np.ndarray, lo: int = 0,
                         hi: int | None = None) -> np.ndarray:
    """The curve of :func:`leaf_fold` without the argmin, as a running minimum in place, on
    the budgets lo ≤ t < hi (inf elsewhere).

    Per row k, only live items (c finite, u_k + f0 < hi, f0: the first t at which any
    item's g is finite) matter, and only budgets t ≥ max(lo, u_k + f0) can be finite, so
    only ``best[b, max(lo, u_k + f0):hi]`` is touched. Work is shared across batch items with
    equal steps: consecutive live items with the same u_k form a *run*, for which
    ``g[b, t − u_k]`` is a plain 2-D slice (rows whose latency has no rate-dependent queueing
    delay are one run; under batch-fill, neighbouring rates often round to the same step);
    then ``best = min(best, g_slice + c_k)`` with ``np.add``/``np.minimum(out=)`` on a
    preallocated buffer — 2 passes over the touched entries. With too many runs, one
    contiguous window per item is gathered from the left-padded curve instead (3 passes).
    An item whose c_k is inf, or whose u_k cannot fit, never changes the minimum and is
    skipped (runs) or gets c_k = inf (gather). O(B·T·K).

    The values are the same IEEE sums ``g + c`` as the kernel's and min is exact, so the
    curve equals the CUDA kernel's and :func:`_leaf_fold_numpy`'s bit for bit on [lo, hi).
    """
    B, T1 = g.shape
    hi = T1 if hi is None else hi
    best = np.full((B, T1), np.inf)
    f0 = first_finite(g)
    if f0 >= hi or lo >= hi:
        return best
    buf = np.empty((B, T1))
    if B == 1:  # one item (the single-instance solver): plain slices, least overhead
        g0, best0, buf0 = g[0], best[0], buf[0]
        for uk, ck in zip(u[0].tolist(), c[0].tolist()):
            start = max(lo, uk + f0)
            if start >= hi or ck == np.inf:
                continue
            v = buf0[:hi - start]
            np.add(g0[start - uk:hi - uk], ck, out=v)
            np.minimum(best0[start:hi], v, out=best0[start:hi])
        return best
    rows = np.arange(B)
    padded = None
    for k in range(u.shape[1]):
        ck, uk = c[:, k], u[:, k]
        live = np.isfinite(ck) & (uk + f0 < hi)
        items = np.flatnonzero(live)
        if items.size == 0:
            continue
        ul = uk[items]
        cut = np.flatnonzero((ul[1:] != ul[:-1]) | (items[1:] != items[:-1] + 1)) + 1
        if cut.size < max(1, (items.size * (hi - f0)) // RUN_ENTRIES):
            for s, e in zip(np.concatenate(([0], cut)).tolist(), np.concatenate((cut, [items.size])).tolist()):
                b0, b1, uu = int(items[s]), int(items[e - 1]) + 1, int(ul[s])
                start = max(lo, uu + f0)
                v = buf[b0:b1, :hi - start]
                np.add(g[b0:b1, start - uu:hi - uu], ck[b0:b1, None], out=v)
                np.minimum(best[b0:b1, start:hi], v, out=best[b0:b1, start:hi])
            continue
        if items.size < B:  # an item whose row cannot fit adds inf (whatever its window)
            ck = np.where(live, ck, np.inf)
        start = max(lo, int(ul.min()) + f0)
        if padded is None:  # g[b, t − u] as windows of the left-padded curve
            padded = np.concatenate([np.full((B, T1), np.inf), g], axis=1)
        # row b, budgets t = start … hi − 1: padded[b, T1 + t − u_b]
        v = np.lib.stride_tricks.sliding_window_view(padded, hi - start, axis=1)[rows, T1 + start - uk]
        np.add(v, ck[:, None], out=v)
        np.minimum(best[:, start:hi], v, out=best[:, start:hi])
    return best


def leaf_fold_argmin(g: Any, ticks: Any, cost: Any, t: Any, xp: ModuleType = np) -> Any:
    """The argmin of :func:`leaf_fold` at one budget per item: ``k[b]`` = the first k
    minimising ``c[b,k] + g[b, t_b − u[b,k]]`` over u[b,k] ≤ t_b, −1 where that is inf.

    The same sums as the forward fold, and ``argmin`` returns the first occurrence of the
    minimum, which is what a strict-``<`` scan over increasing k keeps: equal to the forward
    ``arg[b, t_b]``. O(B·K): backtracking needs it only along the chosen path.
    """
    B = g.shape[0]
    rows = xp.arange(B)[:, None]
    idx = xp.asarray(t)[:, None] - ticks
    vals = g[rows, xp.maximum(idx, 0)] + cost
    vals = xp.where(idx >= 0, vals, xp.inf)
    k = xp.argmin(vals, axis=1)
    return xp.where(xp.isfinite(vals[rows[:, 0], k]), k, -1).astype(xp.int64)


def minplus_conv(a: Any, c: Any, xp: ModuleType = np, *, with_arg: bool = True) -> tuple[Any, Any]:
    """Series of two curves, the (min,+) convolution ``g[b,t] = min_{s≤t} a[b,s] + c[b,t−s]``;
    returns g and ``split`` (B, T+1) int32, the first minimising s (−1 where g is inf).
    ``with_arg=False``: split is None (recover it with :func:`minplus_conv_argmin`)."""
    a = xp.ascontiguousarray(a, dtype=xp.float64)
    c = xp.ascontiguousarray(c, dtype=xp.float64)
    B, T1 = a.shape
    if is_cupy(xp):
        out, split = _launch(xp, minplus_conv_call(a, c, xp))
        return out, (split if with_arg else None)
    if not with_arg:
        if cpu_kernels.available():
            return cpu_kernels.minplus_conv_min(a, c), None
        return _minplus_conv_min_numpy(a, c), None
    best = np.full((B, T1), np.inf)
    split = np.full((B, T1), -1, dtype=np.int32)
    for s in range(T1):  # twin of the kernel's loop: s increasing, strict <
        v = a[:, s, None] + c[:, : T1 - s]
        view = best[:, s:]
        better = v < view
        view[better] = v[better]
        split[:, s:][better] = s
    return best, split


def _minplus_conv_min_numpy(a: np.ndarray, c: np.ndarray) -> np.ndarray:
    """The curve of :func:`minplus_conv` as a running minimum: for each s with a finite
    ``a[:, s]``, ``best[:, s+f:] = min(best[:, s+f:], a[:, s] + c[:, f:T+1−s])`` where f is
    the first finite budget of c (2 passes per s; the same sums as the kernel's). O(B·T²)."""
    B, T1 = a.shape
    best = np.full((B, T1), np.inf)
    fc = first_finite(c)
    buf = np.empty((B, T1))
    live = np.isfinite(a).any(axis=0)
    for s in np.flatnonzero(live[: max(0, T1 - fc)]):
        n = T1 - s - fc
        v = buf[:, :n]
        np.add(a[:, s, None], c[:, fc:fc + n], out=v)
        np.minimum(best[:, s + fc:], v, out=best[:, s + fc:])
    return best


def minplus_conv_argmin(a: Any, c: Any, t: Any, xp: ModuleType = np) -> Any:
    """The split of :func:`minplus_conv` at one budget per item: the first s ≤ t_b
    minimising ``a[b,s] + c[b,t_b−s]`` (−1 where inf); equal to the forward ``split[b, t_b]``.
    O(B·T)."""
    B, T1 = a.shape
    rows = xp.arange(B)[:, None]
    idx = xp.asarray(t)[:, None] - xp.arange(T1)[None, :]
    vals = a + c[rows, xp.maximum(idx, 0)]
    vals = xp.where(idx >= 0, vals, xp.inf)
    s = xp.argmin(vals, axis=1)
    return xp.where(xp.isfinite(vals[rows[:, 0], s]), s, -1).astype(xp.int64)


def parallel(a: Any, c: Any, xp: ModuleType = np) -> Any:
    """Parallel branches (all must finish within t): the pointwise sum of their curves."""
    return a + c


def shift(g: Any, d: int, xp: ModuleType = np) -> Any:
    """A fixed delay of d ≥ 0 steps after a curve: ``g'[b, t] = g[b, t − d]`` (inf for t < d).
    The same as a leaf-fold with one row of cost 0 (``g + 0.0`` is ``g``), without the fold."""
    B, T1 = g.shape
    out = xp.full((B, T1), xp.inf)
    if d < T1:
        out[:, d:] = g[:, : T1 - d]
    return out


def zero_curve(batch: int, length: int, xp: ModuleType = np) -> Any:
    """The curve of an empty expression: cost 0 at every budget t ≥ 0."""
    return xp.zeros((batch, length), dtype=xp.float64)


def gather_rows(a: Any, t: Any, xp: ModuleType = np) -> Any:
    """``a[b, t[b]]`` for every b (the backtracking lookup)."""
    return a[xp.arange(a.shape[0]), t]
