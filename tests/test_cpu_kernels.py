"""The compiled CPU kernels (fa2opt.cpu_kernels, Numba breakpoint sweeps) against the numpy
twins, bit for bit, and the grid DP's answers with and without them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fa2opt import cpu_kernels, kernels
from fa2opt.grid import CurveTables, GridSolver, decide_batch, flow_parts
from fa2opt.io import load_instance
from fa2opt.problem import Problem

REPO = Path(__file__).resolve().parents[1]


pytestmark = pytest.mark.skipif(not cpu_kernels.available(), reason="Numba not available")


@st.composite
def fold_cases(draw):
    """A leaf-fold input as the grid DP makes them: a non-increasing step curve with few
    steps (ties and inf prefixes included), exact only on a window [wlo, whi) and inf
    elsewhere; wanted budgets [lo, hi) whose reads fall inside the window."""
    B = draw(st.integers(1, 4))
    T1 = draw(st.integers(1, 80))
    K = draw(st.integers(1, 6))
    rng = np.random.default_rng(draw(st.integers(0, 2 ** 32 - 1)))
    steps = rng.integers(0, T1 + 1, size=(B, draw(st.integers(0, 6))))
    g = np.full((B, T1), np.inf)
    for b in range(B):
        start = int(rng.integers(0, T1 + 1))
        level = float(rng.integers(5, 40)) + (0.5 if rng.random() < 0.5 else 0.0)
        g[b, start:] = level
        for s in np.sort(steps[b]):
            if s >= start:
                level -= float(rng.integers(0, 4)) + 0.25 * float(rng.integers(0, 2))
                g[b, s:] = max(level, 0.0)
    u = np.minimum(rng.integers(0, T1 + 3, size=(B, K)), T1)  # as kernels.leaf_fold clips them
    c = rng.integers(0, 9, size=(B, K)).astype(float)
    c[rng.random((B, K)) < 0.25] = np.inf
    lo = draw(st.integers(0, T1))
    hi = draw(st.integers(lo, T1))
    live = np.isfinite(c)
    umin = int(u[live].min()) if live.any() else 0
    umax = int(u[live].max()) if live.any() else 0
    wlo, whi = max(0, lo - umax), max(0, min(T1, hi - umin))
    windowed = np.full((B, T1), np.inf)
    windowed[:, wlo:whi] = g[:, wlo:whi]  # a windowed fold's output: exact on its window only
    return g, windowed, u, c, lo, hi


@settings(max_examples=400)
@given(fold_cases())
def test_leaf_fold_sweep_equals_the_numpy_twin(case):
    g, windowed, u, c, lo, hi = case
    ref, _ = kernels._leaf_fold_numpy(g, u, c)  # the dense twin on the full curve
    for curve in (g, windowed):
        out = cpu_kernels.leaf_fold_min(curve, u, c, lo, hi)
        np.testing.assert_array_equal(out[:, lo:hi], ref[:, lo:hi])
        assert np.isinf(out[:, :lo]).all() and np.isinf(out[:, hi:]).all()
        np.testing.assert_array_equal(out, kernels._leaf_fold_min_numpy(curve, u, c, lo, hi))


@settings(max_examples=300)
@given(fold_cases(), fold_cases())
def test_minplus_sweep_equals_the_numpy_twin(one, two):
    a, c = one[0], two[0]
    T1 = min(a.shape[1], c.shape[1])
    B = min(a.shape[0], c.shape[0])
    a, c = np.ascontiguousarray(a[:B, :T1]), np.ascontiguousarray(c[:B, :T1])
    ref, _ = kernels.minplus_conv(a, c, np)  # dense, with the split
    np.testing.assert_array_equal(cpu_kernels.minplus_conv_min(a, c), ref)
    np.testing.assert_array_equal(kernels._minplus_conv_min_numpy(a, c), ref)


@pytest.mark.parametrize("name", ["traffic_analysis_gpu", "shared_services", "nlp_cpu"])
def test_grid_answers_are_the_same_without_numba(name):
    """The single-instance grid solver and a batch of rates: the same decisions, costs and
    bounds with the compiled kernels and with the numpy twins."""
    inst = load_instance(REPO / "datasets" / "pipelines" / f"{name}.json")
    problem = Problem.from_instance(inst)
    solver = GridSolver(grid_ms=0.5)
    scale = np.linspace(0.2, 1.5, 12)
    at = inst.with_rates(scale=scale)
    parts, coupling = flow_parts(problem)

    def run():
        tabs, _ = CurveTables.from_rates(inst, {n.name: np.broadcast_to(at.node_rate(n.name), (12,))
                                                for n in inst.nodes})
        d = decide_batch(parts, coupling, tabs, 0.5)
        a = solver.solve(problem)
        return (a.status, a.cost, a.lower_bound, {v: d.to_json() for v, d in a.nodes.items()}), d

    one, batch = run()
    with cpu_kernels.disabled():
        assert not cpu_kernels.available()
        ref_one, ref_batch = run()
    assert cpu_kernels.available()
    assert one == ref_one
    np.testing.assert_array_equal(batch.status, ref_batch.status)
    np.testing.assert_array_equal(batch.cost, ref_batch.cost)
    np.testing.assert_array_equal(batch.lower_bound, ref_batch.lower_bound)
    for v in batch.choice:
        np.testing.assert_array_equal(batch.choice[v], ref_batch.choice[v])


def test_disabled_by_environment(monkeypatch):
    cpu_kernels._numba.cache_clear()
    try:
        monkeypatch.setenv("FA2OPT_NUMBA", "0")
        assert not cpu_kernels.available()
    finally:
        monkeypatch.delenv("FA2OPT_NUMBA")
        cpu_kernels._numba.cache_clear()
    assert cpu_kernels.available()


@st.composite
def chain_cases(draw):
    """A batch of chains: L leaves of K columns (some unavailable), steps 0 … T+2, budgets
    per item (some negative)."""
    L, B, K = draw(st.integers(1, 5)), draw(st.integers(1, 4)), draw(st.integers(1, 5))
    rng = np.random.default_rng(draw(st.integers(0, 2 ** 32 - 1)))
    T1 = draw(st.integers(1, 40))
    u = rng.integers(0, max(2, T1 // L + 3), size=(L, B, K))
    c = rng.integers(0, 9, size=(L, B, K)) + (0.5 if rng.random() < 0.5 else 0.0) * rng.random((L, B, K))
    c[rng.random((L, B, K)) < 0.25] = np.inf
    T = rng.integers(-2, T1, size=B)
    return u, c, T, T1


@settings(max_examples=400)
@given(chain_cases())
def test_chain_dp_equals_dense_folds_and_argmins(case):
    """Costs and the backtracked columns of the sparse chain DP equal the dense leaf-folds
    (the kernels' numpy twin, first minimiser) followed by their argmins from t = T."""
    u, c, T, T1 = case
    L, B, _ = u.shape
    g = np.zeros((B, T1))
    args = []
    for i in range(L):
        g, arg = kernels._leaf_fold_numpy(g, np.minimum(u[i], T1), c[i])
        args.append(arg)
    cost, choice = cpu_kernels.chain_dp(u, c, T, backtrack=True)
    for b in range(B):
        ref = g[b, T[b]] if T[b] >= 0 else np.inf
        assert cost[b] == ref
        if not np.isfinite(ref):
            assert (choice[:, b] == -1).all()
            continue
        t = T[b]
        for i in reversed(range(L)):
            k = args[i][b, t]
            assert choice[i, b] == k
            t -= u[i, b, k]
    value_only, none = cpu_kernels.chain_dp(u, c, T, backtrack=False)
    assert none is None
    np.testing.assert_array_equal(value_only, cost)


@pytest.mark.parametrize("steps_c", [3, 40, 499])
def test_minplus_on_long_curves_equals_the_numpy_twin(steps_c):
    """Curves of 500 budgets whose second operand has few breakpoints (the sorted candidate
    lists) or many (each breakpoint of the first written over the second's segments:
    ``numba_kernels.SPARSE_BELOW``; audit 16: 1e8 candidate pairs took 1.6 GB), ties and
    an inf prefix included."""
    rng = np.random.default_rng(steps_c)
    T1 = 500

    def curve(steps: int) -> np.ndarray:
        row = np.full(T1, np.inf)
        start = int(rng.integers(0, 20))
        drops = np.sort(rng.choice(np.arange(start + 1, T1), size=min(steps, T1 - start - 1),
                                   replace=False))
        level, row[start:] = 1e4, 1e4
        for s in drops:
            level -= float(rng.integers(0, 3)) + 0.125  # ties are only at equal sums
            row[s:] = level
        return row

    a = np.stack([curve(300), curve(5)])
    c = np.stack([curve(steps_c), curve(steps_c)])
    ref, _ = kernels.minplus_conv(a, c, np)
    np.testing.assert_array_equal(cpu_kernels.minplus_conv_min(a, c), ref)
