"""The grid DP's kernels: numpy twins against plain-Python definitions, and (where a CUDA
device exists) the CuPy RawKernels against the numpy twins, bit for bit."""

from __future__ import annotations

import contextlib
import math

import numpy as np
import pytest

from fa2opt import cpu_kernels, kernels
from fa2opt.io import InputError

from devices import DEVICES, GPU  # noqa: E402  (tests/devices.py)


def _random_case(rng: np.random.Generator, B: int, T1: int, K: int):
    g = np.sort(rng.integers(0, 50, size=(B, T1)).astype(float), axis=1)[:, ::-1].copy()
    g[:, : rng.integers(0, 4)] = np.inf  # impossible small budgets
    u = rng.integers(0, T1 + 3, size=(B, K))
    c = rng.integers(0, 9, size=(B, K)).astype(float)  # small integers: many ties
    c[rng.random((B, K)) < 0.2] = np.inf  # unavailable rows
    return g, u, c


def _leaf_fold_reference(g, u, c):
    B, T1 = g.shape
    out = np.full((B, T1), math.inf)
    arg = np.full((B, T1), -1)
    for b in range(B):
        for t in range(T1):
            for k in range(u.shape[1]):
                if u[b, k] <= t and c[b, k] + g[b, t - u[b, k]] < out[b, t]:
                    out[b, t], arg[b, t] = c[b, k] + g[b, t - u[b, k]], k
    return out, arg


def _conv_reference(a, c):
    B, T1 = a.shape
    out = np.full((B, T1), math.inf)
    split = np.full((B, T1), -1)
    for b in range(B):
        for t in range(T1):
            for s in range(t + 1):
                if a[b, s] + c[b, t - s] < out[b, t]:
                    out[b, t], split[b, t] = a[b, s] + c[b, t - s], s
    return out, split


@pytest.mark.parametrize("seed", range(5))
def test_numpy_leaf_fold_is_the_definition(seed):
    g, u, c = _random_case(np.random.default_rng(seed), B=3, T1=17, K=5)
    out, arg = kernels.leaf_fold(g, u, c, np)
    ref, ref_arg = _leaf_fold_reference(g, u, c)
    np.testing.assert_array_equal(out, ref)
    np.testing.assert_array_equal(arg, ref_arg)


@pytest.mark.parametrize("seed", range(5))
def test_numpy_minplus_conv_is_the_definition(seed):
    rng = np.random.default_rng(seed)
    a, _, _ = _random_case(rng, B=3, T1=15, K=1)
    c, _, _ = _random_case(rng, B=3, T1=15, K=1)
    out, split = kernels.minplus_conv(a, c, np)
    ref, ref_split = _conv_reference(a, c)
    np.testing.assert_array_equal(out, ref)
    np.testing.assert_array_equal(split, ref_split)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("shape", [(1, 1, 1), (4, 33, 6), (300, 257, 12)])
def test_kernels_match_numpy_twin(device, shape):
    """Same inputs through the chosen device and the numpy twin: identical curves and argmins."""
    xp = kernels.get_array_module(device)
    B, T1, K = shape
    rng = np.random.default_rng(B * T1 + K)
    g, u, c = _random_case(rng, B, T1, K)
    g = g + rng.random((B, T1)) * 1e-3  # non-integral sums: bit-identity is meaningful
    out, arg = kernels.leaf_fold(xp.asarray(g), xp.asarray(u), xp.asarray(c), xp)
    ref, ref_arg = kernels.leaf_fold(g, u, c, np)
    np.testing.assert_array_equal(kernels.to_numpy(out), ref)
    np.testing.assert_array_equal(kernels.to_numpy(arg), ref_arg)
    a2, _, _ = _random_case(rng, B, T1, 1)
    out, split = kernels.minplus_conv(xp.asarray(g), xp.asarray(a2), xp)
    ref, ref_split = kernels.minplus_conv(g, a2, np)
    np.testing.assert_array_equal(kernels.to_numpy(out), ref)
    np.testing.assert_array_equal(kernels.to_numpy(split), ref_split)


def test_backend_selection_without_gpu():
    assert kernels.get_array_module("cpu") is np
    if GPU:
        pytest.skip("a GPU is present: the no-GPU behaviour cannot be observed")
    assert kernels.get_array_module("auto") is np
    with pytest.raises(kernels.DeviceUnavailable) as exc:
        kernels.get_array_module("gpu")
    assert isinstance(exc.value, InputError)
    assert "\n" not in str(exc.value) and "--device gpu" in str(exc.value)
    with pytest.raises(InputError):
        kernels.get_array_module("tpu")


@pytest.mark.gpu
@pytest.mark.skipif(not GPU, reason="no CuPy or no CUDA device")
def test_gpu_selected_when_present():
    xp = kernels.get_array_module("gpu")
    assert kernels.is_cupy(xp) and kernels.get_array_module("auto") is xp


# -- the running-minimum path (no forward argmin) and the lazy argmins ----------------------
def _monotone_case(rng: np.random.Generator, B: int, T1: int, K: int, runs: bool):
    """Curves non-increasing in t (as every DP curve is), steps either random or in runs of
    equal values over consecutive items (what neighbouring rates give)."""
    g = np.sort(rng.integers(0, 50, size=(B, T1)) + rng.random((B, T1)), axis=1)[:, ::-1].copy()
    g[:, : rng.integers(0, T1 + 1)] = np.inf
    if B > 1 and rng.random() < 0.5:
        g[rng.integers(0, B), : rng.integers(0, T1 + 1)] = np.inf
    u = np.sort(rng.integers(0, 4, size=(B, K)), axis=0) if runs else rng.integers(0, T1 + 3, size=(B, K))
    c = rng.integers(0, 9, size=(B, K)).astype(float)
    c[rng.random((B, K)) < 0.2] = np.inf
    return g, u, c


# numpy running minimum with runs always / by default / gathered windows; the compiled sweep
RUNNING_MINIMUM = [("numpy", 1), ("numpy", 1024), ("numpy", 10 ** 12)] + (
    [("compiled", 1024)] if cpu_kernels.available() else [])


@pytest.mark.parametrize("path,run_entries", RUNNING_MINIMUM)
@pytest.mark.parametrize("seed", range(4))
def test_running_minimum_equals_the_kernel_twin(monkeypatch, path, run_entries, seed):
    """with_arg=False gives the same curve on the wanted budgets [lo, hi) (inf elsewhere),
    by the numpy running minimum (runs of equal steps, gathered windows, B = 1) and by the
    compiled breakpoint sweep."""
    monkeypatch.setattr(kernels, "RUN_ENTRIES", run_entries)
    rng = np.random.default_rng(seed)
    with cpu_kernels.disabled() if path == "numpy" else contextlib.nullcontext():
        for _ in range(150):
            B, T1, K = int(rng.integers(1, 7)), int(rng.integers(1, 30)), int(rng.integers(1, 6))
            g, u, c = _monotone_case(rng, B, T1, K, runs=bool(rng.random() < 0.5))
            ref, _ = kernels.leaf_fold(g, u, c, np)
            lo = int(rng.integers(0, T1 + 1))
            hi = int(rng.integers(lo, T1 + 1))
            out, none = kernels.leaf_fold(g, u, c, np, with_arg=False, need=(lo, hi))
            assert none is None
            np.testing.assert_array_equal(out[:, lo:hi], ref[:, lo:hi])
            assert np.isinf(out[:, :lo]).all() and np.isinf(out[:, hi:]).all()


@pytest.mark.parametrize("seed", range(4))
def test_lazy_argmins_equal_the_forward_ones(seed):
    """The argmin recovered at one budget per item is the forward kernel's first minimiser."""
    rng = np.random.default_rng(100 + seed)
    for _ in range(150):
        B, T1, K = int(rng.integers(1, 6)), int(rng.integers(1, 30)), int(rng.integers(1, 6))
        g, u, c = _monotone_case(rng, B, T1, K, runs=bool(rng.random() < 0.5))
        _, arg = kernels.leaf_fold(g, u, c, np)
        t = rng.integers(0, T1, size=B)
        np.testing.assert_array_equal(kernels.leaf_fold_argmin(g, u, c, t, np), arg[np.arange(B), t])
        other, _, _ = _monotone_case(rng, B, T1, 1, runs=False)
        ref, split = kernels.minplus_conv(g, other, np)
        out, none = kernels.minplus_conv(g, other, np, with_arg=False)
        assert none is None
        np.testing.assert_array_equal(out, ref)
        np.testing.assert_array_equal(kernels.minplus_conv_argmin(g, other, t, np), split[np.arange(B), t])


def test_shift_is_a_fold_with_one_free_row():
    rng = np.random.default_rng(7)
    g, _, _ = _monotone_case(rng, 4, 20, 1, runs=False)
    for d in (0, 3, 19, 25):
        ref, _ = kernels.leaf_fold(g, np.full((4, 1), d), np.zeros((4, 1)), np)
        np.testing.assert_array_equal(kernels.shift(g, d, np), ref)


@pytest.mark.parametrize("device", DEVICES)
def test_device_running_minimum_matches_numpy(device):
    """with_arg=False on the device equals the numpy running minimum on the wanted budgets."""
    xp = kernels.get_array_module(device)
    rng = np.random.default_rng(11)
    g, u, c = _monotone_case(rng, 64, 300, 8, runs=True)
    out, _ = kernels.leaf_fold(xp.asarray(g), xp.asarray(u), xp.asarray(c), xp, with_arg=False,
                               need=(50, 300))
    ref, _ = kernels.leaf_fold(g, u, c, np, with_arg=False, need=(50, 300))
    np.testing.assert_array_equal(kernels.to_numpy(out)[:, 50:], ref[:, 50:])
    t = rng.integers(50, 300, size=64)
    np.testing.assert_array_equal(
        kernels.to_numpy(kernels.leaf_fold_argmin(xp.asarray(g), xp.asarray(u), xp.asarray(c), xp.asarray(t), xp)),
        kernels.leaf_fold_argmin(g, u, c, t, np))
