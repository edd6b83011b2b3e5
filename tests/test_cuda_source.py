"""The CUDA kernels' own source, run on the CPU: ``kernels.CUDA_SOURCE`` compiled unchanged by
the host C++ compiler through ``fa2opt.cuda_host``'s shim, launched with the GPU path's
geometry and argument tuples, against the numpy twins — bit for bit on the curves (the twins
do the same IEEE additions and keep the same first minimum) and equal argmins. Skipped
cleanly where no C++ compiler exists; no GPU needed."""

from __future__ import annotations

import numpy as np
import pytest

from fa2opt import cuda_host, kernels

# (B, T+1, K): single entries, one item, exactly one full block (256 threads), several
# blocks with a partial last one, an empty batch (no launch)
SHAPES = [(1, 1, 1), (1, 1, 4), (1, 40, 1), (3, 17, 5), (2, 128, 3), (4, 300, 12), (0, 5, 2)]
VARIANTS = ["steps", "fractional", "wild"]


@pytest.fixture(scope="module")
def host() -> None:
    """Skip where no host compiler exists (CI's image has g++, so these run there)."""
    if cuda_host.compiler() is None:
        pytest.skip("no host C++ compiler (g++, c++, clang++ or $CXX): CUDA source not exercised")


def _curve(rng: np.random.Generator, B: int, T1: int, variant: str) -> np.ndarray:
    """A (B, T1) curve. ``steps``: non-increasing small integers after an inf prefix, like the
    DP's curves (many ties); ``fractional``: the same plus noise (sums no longer exact
    integers, so bit identity says something); ``wild``: any order, inf anywhere and values
    near the double maximum (sums overflow to inf)."""
    g = np.sort(rng.integers(0, 50, size=(B, T1)).astype(float), axis=1)[:, ::-1].copy()
    g[:, : rng.integers(0, min(T1, 4) + 1)] = np.inf
    if variant == "fractional":
        g += rng.random((B, T1)) * 1e-3
    elif variant == "wild":
        g = rng.random((B, T1)) * 1e6
        g[rng.random((B, T1)) < 0.3] = np.inf
        g[rng.random((B, T1)) < 0.1] = 1e308
    return g


def _rows(rng: np.random.Generator, B: int, T1: int, K: int, variant: str) -> tuple[np.ndarray, np.ndarray]:
    """Steps u (0 … T+3: some rows never fit) and costs c (small integers with inf rows; one
    column inf for every item; fractional or huge in the matching variants)."""
    u = rng.integers(0, T1 + 4, size=(B, K))
    c = rng.integers(0, 9, size=(B, K)).astype(float)
    if variant == "fractional":
        c += rng.random((B, K)) * 1e-3
    elif variant == "wild":
        c[rng.random((B, K)) < 0.2] = 1e308
    c[rng.random((B, K)) < 0.2] = np.inf
    if K > 1:
        c[:, rng.integers(0, K)] = np.inf
    return u, c


def _same_bits(a: np.ndarray, b: np.ndarray) -> None:
    """Equal as IEEE bit patterns (not merely ==: -0.0 vs 0.0 or NaN would differ)."""
    assert a.dtype == b.dtype == np.float64 and a.shape == b.shape
    np.testing.assert_array_equal(a.view(np.uint64), b.view(np.uint64))


def test_every_kernel_has_a_launch_builder():
    """A kernel added to CUDA_SOURCE without a KernelCall builder would go untested here."""
    assert sorted(cuda_host.kernel_names(kernels.CUDA_SOURCE)) == sorted(kernels.CUDA_CALLS)


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "x".join(map(str, s)))
def test_leaf_fold_source_is_the_twin(host, shape, variant):
    B, T1, K = shape
    rng = np.random.default_rng([B, T1, K, VARIANTS.index(variant)])
    g = _curve(rng, B, T1, variant)
    ticks, cost = _rows(rng, B, T1, K, variant)
    out, arg = cuda_host.launch(kernels.leaf_fold_call(*kernels._leaf_fold_inputs(g, ticks, cost, np), np))
    with np.errstate(over="ignore"):  # the wild sums overflow to inf, on purpose
        twin, twin_arg = kernels.leaf_fold(g, ticks, cost, np)
    _same_bits(out, twin)
    assert arg.dtype == np.int32
    np.testing.assert_array_equal(arg, twin_arg)


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("shape", [s[:2] for s in SHAPES], ids=lambda s: "x".join(map(str, s)))
def test_minplus_conv_source_is_the_twin(host, shape, variant):
    B, T1 = shape
    rng = np.random.default_rng([B, T1, 7, VARIANTS.index(variant)])
    a, c = _curve(rng, B, T1, variant), _curve(rng, B, T1, variant)
    out, split = cuda_host.launch(kernels.minplus_conv_call(a, c, np))
    with np.errstate(over="ignore"):
        twin, twin_split = kernels.minplus_conv(a, c, np)
    _same_bits(out, twin)
    assert split.dtype == np.int32
    np.testing.assert_array_equal(split, twin_split)


# -- the shim itself --------------------------------------------------------------------------
_PROBE = r"""
extern "C" {
// every thread records its global x index, and block/thread ids, once
__global__ void probe(int* __restrict__ hits, int* __restrict__ dims, const long long n) {
    long long x = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    long long y = (long long)blockIdx.y * blockDim.y + threadIdx.y;
    long long z = (long long)blockIdx.z * blockDim.z + threadIdx.z;
    long long nx = (long long)gridDim.x * blockDim.x, ny = (long long)gridDim.y * blockDim.y;
    long long i = x + nx * (y + ny * z);
    if (i >= n) return;
    hits[i] += 1;
    dims[0] = gridDim.x; dims[1] = gridDim.y; dims[2] = gridDim.z;
    dims[3] = blockDim.x; dims[4] = blockDim.y; dims[5] = blockDim.z;
}
// one thread too many writes: the guard is missing
__global__ void overrun(double* out, const long long n) {
    long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (i > n) return;
    out[i] = 1.0;
}
// block 1 reads an address no process maps (a GPU would report an illegal address)
__global__ void wild(double* out) { if (blockIdx.x == 1) out[0] = *(volatile double*)16; }
}
"""


def test_launcher_runs_every_thread_of_a_3d_grid_once(host):
    grid, block = (3, 2, 2), (4, 3, 2)
    n = 3 * 2 * 2 * 4 * 3 * 2
    hits, dims = np.zeros(n, dtype=np.int32), np.zeros(6, dtype=np.int32)
    cuda_host.kernel("probe", _PROBE)(grid, block, (hits, dims, np.int64(n)))
    np.testing.assert_array_equal(hits, 1)
    assert dims.tolist() == [*grid, *block]


def test_write_past_an_array_is_caught(host):
    out = np.zeros(5)
    with pytest.raises(AssertionError, match="wrote outside argument 0"):
        cuda_host.kernel("overrun", _PROBE)((1,), (8,), (out, np.int64(5)))


def test_fault_is_reported_not_fatal(host):
    """A segmentation fault inside a kernel becomes an error naming block and thread; the
    process (this test run) goes on."""
    with pytest.raises(MemoryError, match=r"kernel wild: .*blockIdx \(1, 0, 0\), threadIdx \(0, 0, 0\)"):
        cuda_host.kernel("wild", _PROBE)((2,), (1,), (np.zeros(1),))
    test_launcher_runs_every_thread_of_a_3d_grid_once(host)  # launches still work after it


def test_python_scalars_are_refused(host):
    with pytest.raises(TypeError, match="numpy scalar"):
        cuda_host.kernel("probe", _PROBE)((1,), (1,), (np.zeros(1, np.int32), np.zeros(6, np.int32), 1))


def test_barrier_kernels_are_refused_at_compile_time(host):
    """Serial threads cannot honour __syncthreads: the shim refuses rather than run wrongly."""
    src = 'extern "C" { __global__ void k(double* a) { a[threadIdx.x] = 1; __syncthreads(); } }'
    with pytest.raises(cuda_host.HostCompileError, match="__syncthreads"):
        cuda_host.build(src)
