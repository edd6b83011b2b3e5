"""Batched primitives over one DAG (fa2opt.dag_batch): the numpy twins against the spec's
rule (fa2opt.spec.longest_path, meets) and plain-Python definitions, bit for bit; Numba and
the CUDA source (compiled on the host through fa2opt.cuda_host, and on a GPU with CuPy where
one exists) against the numpy twins, bit for bit."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fa2opt import cpu_kernels, cuda_host, dag_batch, kernels, spec
from fa2opt.dag_batch import (Candidates, DagStructure, choose, evaluate_fixings,
                              evaluate_fixings_numpy, lagrangian_bound, lagrangian_bound_numpy)
from fa2opt.problem import FlowGraph, Problem

from devices import DEVICES  # noqa: E402  (tests/devices.py)
from strategies import instances  # noqa: E402  (tests/strategies.py)

# delays and latencies with many significant digits: the float sums are inexact, so the
# order of additions shows in the last bits
DELAYS = (0.0, 0.0, 0.1, 0.3, 2.0, 33.333, 1e-9, 7.77)


def _same_bits(a: np.ndarray, b: np.ndarray) -> None:
    """Equal as IEEE bit patterns (not merely ==: -0.0 vs 0.0 would pass ==)."""
    a, b = np.asarray(a), np.asarray(b)
    assert a.dtype == b.dtype == np.float64 and a.shape == b.shape
    np.testing.assert_array_equal(a.view(np.uint64), b.view(np.uint64))


def _ulps(x: float, k: int) -> float:
    for _ in range(abs(k)):
        x = math.nextafter(x, math.inf if k > 0 else -math.inf)
    return x


def random_dag(rng: np.random.Generator, V: int, F: int, p_edge: float = 0.3
               ) -> tuple[list[str], list[FlowGraph]]:
    """Column names n0 … n{V−1}, a random topological order (not the column order), edges
    forward in it with random delays, F flows = random non-empty node subsets with the
    edges inside them (predecessor lists in random order), SLAs placed later."""
    names = [f"n{i}" for i in range(V)]
    topo = [names[i] for i in rng.permutation(V)]
    edges = [(topo[i], topo[j], float(rng.choice(DELAYS)))
             for j in range(V) for i in range(j) if rng.random() < p_edge]
    flows = []
    for f in range(F):
        members = {v for v in names if rng.random() < 0.7} or {names[int(rng.integers(V))]}
        nodes = tuple(v for v in topo if v in members)
        preds: dict[str, list[tuple[str, float]]] = {v: [] for v in nodes}
        for u, v, d in edges:
            if u in members and v in members:
                preds[v].append((u, d))
        for v in nodes:
            rng.shuffle(preds[v])
        flows.append(FlowGraph(f"f{f}", 100.0, nodes, {v: tuple(p) for v, p in preds.items()}))
    return names, flows


def random_latencies(rng: np.random.Generator, B: int, V: int, wild: bool = False) -> np.ndarray:
    lat = np.round(rng.uniform(0.001, 50.0, (B, V)), int(rng.integers(0, 7))) + rng.random((B, V)) / 3
    if wild:  # huge values (sums overflow to inf) and inf (an unavailable row)
        lat[rng.random((B, V)) < 0.05] = 1e308
        lat[rng.random((B, V)) < 0.05] = np.inf
    return lat


def with_edge_slas(flows: list[FlowGraph], names: list[str], lat_row: np.ndarray,
                   rng: np.random.Generator) -> list[FlowGraph]:
    """SLAs at the spec's tolerance edge for one row: S = L_f − 1e-6 moved a few ulps, so
    fl(S + 1e-6) lands on, just below or just above that row's flow latency."""
    latency = dict(zip(names, lat_row.tolist()))
    out = []
    for g in flows:
        L = spec.longest_path(g.nodes, g.preds, latency)
        sla = max(1e-9, _ulps(L - 1e-6, int(rng.integers(-3, 4)))) if math.isfinite(L) else 1.0
        out.append(FlowGraph(g.name, sla, g.nodes, g.preds))
    return out


def spec_reference(names: list[str], flows: list[FlowGraph], lat: np.ndarray, cost: np.ndarray
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Row by row with the spec's own functions (floats, dicts)."""
    B = lat.shape[0]
    lat_f = np.empty((B, len(flows)))
    ok = np.empty(B, dtype=bool)
    total = np.empty(B)
    for b in range(B):
        latency = dict(zip(names, lat[b].tolist()))
        lat_f[b] = [spec.longest_path(g.nodes, g.preds, latency) for g in flows]
        ok[b] = all(spec.meets(x, g.sla_ms) for x, g in zip(lat_f[b], flows))
        t = 0.0
        for x in cost[b].tolist():
            t += x
        total[b] = t
    return lat_f, ok, total


def _check_fixings(got: dag_batch.Fixings, want: tuple) -> None:
    _same_bits(got.lat_f, want[0])
    assert got.ok.dtype == np.bool_
    np.testing.assert_array_equal(got.ok, want[1])
    _same_bits(got.total, want[2])


# -- (1) evaluation: numpy twin vs the spec ---------------------------------------------------
@settings(max_examples=80)
@given(V=st.integers(1, 12), F=st.integers(1, 4), B=st.integers(0, 6), seed=st.integers(0, 2**32 - 1),
       p_edge=st.sampled_from([0.0, 0.2, 0.5, 1.0]), wild=st.booleans())
def test_numpy_twin_is_the_spec_rule(V, F, B, seed, p_edge, wild):
    """Random DAGs (column order ≠ topological order), delays, several flows over their own
    subsets, SLAs at the tolerance edge: lat_f, ok and total equal the spec's, bit for bit."""
    rng = np.random.default_rng(seed)
    names, flows = random_dag(rng, V, F, p_edge)
    lat = random_latencies(rng, B, V, wild)
    cost = random_latencies(rng, B, V, wild)
    if B:
        flows = with_edge_slas(flows, names, lat[int(rng.integers(B))], rng)
    dag = DagStructure.from_flows(names, flows)
    with np.errstate(over="ignore"):
        got = evaluate_fixings_numpy(dag, lat, cost)
    _check_fixings(got, spec_reference(names, flows, lat, cost))


@settings(max_examples=40)
@given(inst=instances(max_nodes=6, max_configs=4), seed=st.integers(0, 2**32 - 1))
def test_evaluation_is_the_problems_rule(inst, seed):
    """On generated instances (every shape, multi-flow, edge latencies): each fixing's flow
    latencies, SLA test and cost equal Problem.flow_latencies / meets_slas / cost."""
    problem = Problem.from_instance(inst)
    if problem.empty_nodes:
        return
    dag = DagStructure.from_problem(problem)
    cands = Candidates.from_problem(problem, dag)
    choice = cands.random_choice(8, np.random.default_rng(seed))
    lat, cost = choose(cands, choice)
    for ev in (evaluate_fixings_numpy(dag, lat, cost), evaluate_fixings(dag, lat, cost)):
        for b in range(len(choice)):
            ch = {v: int(choice[b, i]) for i, v in enumerate(dag.nodes)}
            fl = problem.flow_latencies(ch)
            assert ev.lat_f[b].tolist() == [fl[f] for f in dag.flows]
            assert bool(ev.ok[b]) == problem.meets_slas(ch)
            assert ev.total[b] == problem.cost(ch)


def test_structure_arrays():
    names = ["a", "b", "c", "d"]
    flows = [FlowGraph("x", 10.0, ("b", "a", "c"), {"b": (), "a": (("b", 1.5),), "c": (("b", 0.0),)}),
             FlowGraph("y", 20.0, ("d",), {"d": ()})]
    dag = DagStructure.from_flows(names, flows)
    assert dag.slot_node.tolist() == [1, 0, 2, 3]
    assert dag.flow_ptr.tolist() == [0, 3, 4]
    assert dag.pred_ptr.tolist() == [0, 0, 1, 2, 2]
    assert dag.pred_slot.tolist() == [0, 0] and dag.pred_delay.tolist() == [1.5, 0.0]
    assert [dag.sink_slot[dag.sink_ptr[f]:dag.sink_ptr[f + 1]].tolist() for f in range(2)] == [[1, 2], [3]]
    assert dag.member.tolist() == [[True, True, True, False], [False, False, False, True]]
    assert dag.budget.tolist() == [spec.budget_ms(10.0), spec.budget_ms(20.0)]
    bad = [FlowGraph("x", 1.0, ("a", "b"), {"a": (("b", 0.0),), "b": ()})]
    with pytest.raises(ValueError, match="topological order"):
        DagStructure.from_flows(["a", "b"], bad)
    with pytest.raises(ValueError, match=r"\(B, 4\)"):
        evaluate_fixings(dag, np.zeros((2, 3)), np.zeros((2, 3)))


def test_numpy_twin_chunks_rows(monkeypatch):
    """Rows in chunks give the same bits as one chunk."""
    rng = np.random.default_rng(5)
    names, flows = random_dag(rng, 30, 3)
    dag = DagStructure.from_flows(names, flows)
    lat, cost = random_latencies(rng, 50, 30), random_latencies(rng, 50, 30)
    whole = evaluate_fixings_numpy(dag, lat, cost)
    monkeypatch.setattr(dag_batch, "CHUNK_ENTRIES", 1)
    _check_fixings(evaluate_fixings_numpy(dag, lat, cost), whole)


def test_budget_override():
    rng = np.random.default_rng(2)
    names, flows = random_dag(rng, 8, 2)
    dag = DagStructure.from_flows(names, flows)
    lat = random_latencies(rng, 20, 8)
    ev = evaluate_fixings(dag, lat, lat)
    budget = np.median(ev.lat_f, axis=0)
    for got in (evaluate_fixings(dag, lat, lat, budget=budget), evaluate_fixings_numpy(dag, lat, lat, budget)):
        np.testing.assert_array_equal(got.ok, (ev.lat_f <= budget).all(axis=1))
    with pytest.raises(ValueError, match=r"budget must be \(2,\)"):
        evaluate_fixings(dag, lat, lat, budget=np.zeros((20, 2)))


# -- (2) Lagrangian node minima: numpy twin vs the definition -------------------------------
def random_candidates(rng: np.random.Generator, V: int, kmax: int, empty: bool = False) -> Candidates:
    sizes = rng.integers(0 if empty else 1, kmax + 1, V)
    C = int(sizes.sum())
    lat = np.round(rng.uniform(0.001, 30.0, C), int(rng.integers(0, 6)))
    cost = rng.integers(0, 5, C).astype(float)  # small integers: many ties
    cost[rng.random(C) < 0.3] += rng.random() / 7
    return Candidates(np.concatenate(([0], np.cumsum(sizes))).astype(np.int64), lat, cost)


def random_y(rng: np.random.Generator, B: int, V: int) -> np.ndarray:
    y = rng.random((B, V)) * 3
    y[rng.random((B, V)) < 0.2] = 0.0
    y[rng.random((B, V)) < 0.1] = 1.0  # with integer costs: ties between candidates
    return y


def random_allowed(rng: np.random.Generator, kind: str, B: int, C: int) -> np.ndarray | None:
    if kind == "none":
        return None
    shape = (C,) if kind == "shared" else (B, C)
    return rng.random(shape) < 0.6


def bound_reference(cands: Candidates, y: np.ndarray, allowed: np.ndarray | None):
    B, V = y.shape
    val = np.empty(B)
    arg = np.full((B, V), -1)
    mins = np.empty((B, V))
    for b in range(B):
        t = 0.0
        for v in range(V):
            best = math.inf
            for k, c in enumerate(range(int(cands.ptr[v]), int(cands.ptr[v + 1]))):
                ok = True if allowed is None else bool(allowed[c] if allowed.ndim == 1 else allowed[b, c])
                x = float(cands.cost[c]) + float(y[b, v]) * float(cands.lat[c])
                if ok and x < best:
                    best, arg[b, v] = x, k
            t += best
            mins[b, v] = best
        val[b] = t
    return val, arg, mins


@settings(max_examples=60)
@given(V=st.integers(1, 8), B=st.integers(0, 5), kmax=st.integers(1, 6), seed=st.integers(0, 2**32 - 1),
       kind=st.sampled_from(["none", "shared", "rows"]), empty=st.booleans())
def test_numpy_bound_is_the_definition(V, B, kmax, seed, kind, empty):
    rng = np.random.default_rng(seed)
    cands = random_candidates(rng, V, kmax, empty)
    y = random_y(rng, B, V)
    allowed = random_allowed(rng, kind, B, len(cands.lat))
    got = lagrangian_bound_numpy(cands, y, allowed)
    val, arg, mins = bound_reference(cands, y, allowed)
    _same_bits(got.val, val)
    _same_bits(got.node_min, mins)
    assert got.arg.dtype == np.int32
    np.testing.assert_array_equal(got.arg, arg)


def test_nodes_without_candidates():
    """No candidate at all (C = 0), or a node whose candidates are all masked: val inf, arg −1,
    on every backend (and the host-compiled source)."""
    y = np.ones((3, 2))
    empty = Candidates(np.zeros(3, dtype=np.int64), np.zeros(0), np.zeros(0))
    one = Candidates(np.array([0, 1, 2]), np.array([1.0, 2.0]), np.array([3.0, 4.0]))
    cases = [(empty, None), (empty, np.zeros(0, bool)), (empty, np.zeros((3, 0), bool)),
             (one, np.array([True, False])), (one, np.array([[True, True], [False, True], [False, False]]))]
    for cands, allowed in cases:
        want = bound_reference(cands, y, allowed)
        got = [lagrangian_bound_numpy(cands, y, allowed), lagrangian_bound(cands, y, allowed)]
        if cuda_host.compiler() is not None:
            node_min, arg = _host(dag_batch.node_min_call(cands, y, allowed, np))
            got.append(dag_batch.Bound(_host(dag_batch.row_sums_call(node_min, np))[0], arg, node_min))
        for g in got:
            _same_bits(g.val, want[0])
            np.testing.assert_array_equal(g.arg, want[1])
            _same_bits(g.node_min, want[2])


# -- Numba vs numpy -------------------------------------------------------------------------
needs_numba = pytest.mark.skipif(not cpu_kernels.available(), reason="Numba not available")


@needs_numba
@pytest.mark.parametrize("seed", range(6))
def test_numba_evaluation_is_the_twin(seed):
    rng = np.random.default_rng(seed)
    V = int(rng.integers(1, 60))
    names, flows = random_dag(rng, V, int(rng.integers(1, 5)), float(rng.choice([0.05, 0.3, 0.9])))
    dag = DagStructure.from_flows(names, flows)
    B = int(rng.integers(0, 300))
    lat, cost = random_latencies(rng, B, V, seed % 2 == 1), random_latencies(rng, B, V, seed % 2 == 1)
    assert dag_batch.backend() == "numba"
    with np.errstate(over="ignore"):
        got = evaluate_fixings(dag, lat, cost)
        with cpu_kernels.disabled():
            assert dag_batch.backend() == "numpy"
            want = evaluate_fixings(dag, lat, cost)
    _check_fixings(got, tuple(want))


@needs_numba
@settings(max_examples=60)
@given(V=st.integers(1, 14), F=st.integers(1, 10), seed=st.integers(0, 2**32 - 1),
       p_edge=st.sampled_from([0.0, 0.2, 0.5, 1.0]))
def test_compiled_latency_limits_are_the_reference(V, F, seed, p_edge):
    """``dag_batch.latency_limits`` (the compiled pass over the slots) against
    ``pruning.latency_limits`` (the per-flow loops; with 8 flows or more where they pay, the
    rule's matrices), bit for bit: SLAs at the tolerance edge of a random row, limits at
    another (rooms near 0 and below it)."""
    from types import SimpleNamespace

    from fa2opt.reductions.pruning import latency_limits, limit_budget
    rng = np.random.default_rng(seed)
    names, flows = random_dag(rng, V, F, p_edge)
    flows = with_edge_slas(flows, names, random_latencies(rng, 1, V)[0], rng)
    fast = random_latencies(rng, 1, V)[0]
    want = latency_limits(SimpleNamespace(flows=tuple(flows)), dict(zip(names, fast.tolist())))
    got = dag_batch.latency_limits(DagStructure.from_flows(names, flows), fast,
                                   np.asarray([limit_budget(g) for g in flows]))
    _same_bits(got, np.asarray([want[v] for v in names]))


def test_left_sum_array_is_left_sum():
    """``spec.left_sum_array`` (numpy's accumulate) adds as ``spec.left_sum`` does, to the
    last bit, where a pairwise sum (``np.sum``) differs."""
    rng = np.random.default_rng(3)
    pairwise_differs = 0
    for n in (0, 1, 2, 9, 200, 5000):
        for scale in (1.0, 1e-9, 1e12):
            x = rng.random(n) * scale * rng.choice([1.0, -1.0], n) + np.round(rng.random(n), 3)
            want = spec.left_sum(x.tolist())
            _same_bits(np.float64(spec.left_sum_array(x)) + 0.0, np.float64(want) + 0.0)
            pairwise_differs += float(np.sum(x)) != want
    assert pairwise_differs  # (the test tells the orders apart)


def test_loaded_evaluation_loads_nothing_and_is_the_twin(monkeypatch):
    """``evaluate_fixings_loaded`` (the extensions' enumeration leaf) takes the compiled pass
    only where this process has it loaded already -- the numpy twin otherwise, never a load
    of Numba's cache mid-decision -- and gives the twin's bits either way."""
    rng = np.random.default_rng(7)
    names, flows = random_dag(rng, 12, 3, 0.3)
    dag = DagStructure.from_flows(names, flows)
    lat, cost = random_latencies(rng, 50, 12, False), random_latencies(rng, 50, 12, False)
    want = tuple(evaluate_fixings_numpy(dag, lat, cost))
    called = []
    monkeypatch.setattr(dag_batch, "evaluate_fixings", lambda *a: called.append(a) or
                        evaluate_fixings(*a))
    monkeypatch.setattr(dag_batch, "compiled_loaded", lambda: False)
    _check_fixings(dag_batch.evaluate_fixings_loaded(dag, lat, cost), want)
    assert not called
    if cpu_kernels.available():
        monkeypatch.setattr(dag_batch, "compiled_loaded", lambda: True)
        _check_fixings(dag_batch.evaluate_fixings_loaded(dag, lat, cost), want)
        assert len(called) == 1


@needs_numba
def test_compiled_loaded_tells_whether_the_pass_has_run():
    cpu_kernels.warm_up()  # (loads the compiled SLA pass, as the harness and benchmarks do)
    assert dag_batch.compiled_loaded()
    with cpu_kernels.disabled():
        assert not dag_batch.compiled_loaded()


@needs_numba
@pytest.mark.parametrize("kind", ["none", "shared", "rows"])
@pytest.mark.parametrize("seed", range(4))
def test_numba_bound_is_the_twin(seed, kind):
    rng = np.random.default_rng([seed, len(kind)])
    V, B = int(rng.integers(1, 80)), int(rng.integers(0, 300))
    cands = random_candidates(rng, V, 12, empty=seed == 3)
    y = random_y(rng, B, V)
    allowed = random_allowed(rng, kind, B, len(cands.lat))
    got = lagrangian_bound(cands, y, allowed)
    want = lagrangian_bound_numpy(cands, y, allowed)
    _same_bits(got.val, want.val)
    _same_bits(got.node_min, want.node_min)
    np.testing.assert_array_equal(got.arg, want.arg)


# -- the CUDA source on the host (fa2opt.cuda_host) -------------------------------------------
@pytest.fixture(scope="module")
def host() -> None:
    if cuda_host.compiler() is None:
        pytest.skip("no host C++ compiler (g++, c++, clang++ or $CXX): CUDA source not exercised")


def test_every_batch_kernel_has_a_launch_builder():
    assert sorted(cuda_host.kernel_names(dag_batch.CUDA_SOURCE)) == sorted(dag_batch.CUDA_CALLS)


def _host(call):
    return cuda_host.launch(call, dag_batch.CUDA_SOURCE)


# B: empty, one row, a full block of 256 threads, a partial last block
@pytest.mark.parametrize("B", [0, 1, 256, 300])
@pytest.mark.parametrize("wild", [False, True])
def test_evaluate_source_is_the_twin(host, B, wild):
    rng = np.random.default_rng([B, wild])
    V = 25
    names, flows = random_dag(rng, V, 3, 0.25)
    lat, cost = random_latencies(rng, B, V, wild), random_latencies(rng, B, V, wild)
    if B:
        flows = with_edge_slas(flows, names, lat[0], rng)
    dag = DagStructure.from_flows(names, flows)
    lat_f, ok, total, _ = _host(dag_batch.evaluate_call(dag.on(np), lat, cost, dag.budget, np))
    with np.errstate(over="ignore"):
        want = evaluate_fixings_numpy(dag, lat, cost)
    assert ok.dtype == np.uint8 and set(ok.tolist()) <= {0, 1}
    _check_fixings(dag_batch.Fixings(lat_f, ok.view(bool), total), tuple(want))


@pytest.mark.parametrize("kind", ["none", "shared", "rows"])
@pytest.mark.parametrize("B,V", [(0, 3), (1, 1), (1, 256), (7, 40), (3, 100)])
def test_bound_source_is_the_twin(host, B, V, kind):
    rng = np.random.default_rng([B, V, len(kind)])
    cands = random_candidates(rng, V, 9, empty=V == 40)
    y = random_y(rng, B, V)
    allowed = random_allowed(rng, kind, B, len(cands.lat))
    node_min, arg = _host(dag_batch.node_min_call(cands, y, allowed, np))
    (val,) = _host(dag_batch.row_sums_call(node_min, np))
    want = lagrangian_bound_numpy(cands, y, allowed)
    _same_bits(node_min, want.node_min)
    _same_bits(val, want.val)
    assert arg.dtype == np.int32
    np.testing.assert_array_equal(arg, want.arg)


# -- every device through the public functions ------------------------------------------------
@pytest.mark.parametrize("device", DEVICES)
def test_device_matches_numpy_twin(device):
    """The public calls on numpy (Numba where available) and on CuPy (gpu-marked) against
    the twins, bit for bit, on a 200-node DAG with 4 flows (several GPU blocks)."""
    xp = kernels.get_array_module(device)
    rng = np.random.default_rng(13)
    names, flows = random_dag(rng, 200, 4, 0.03)
    B = 700
    lat, cost = random_latencies(rng, B, 200), random_latencies(rng, B, 200)
    flows = with_edge_slas(flows, names, lat[1], rng)
    dag = DagStructure.from_flows(names, flows)
    got = evaluate_fixings(dag, xp.asarray(lat), xp.asarray(cost), xp)
    _check_fixings(dag_batch.Fixings(*(kernels.to_numpy(a) for a in got)),
                   tuple(evaluate_fixings_numpy(dag, lat, cost)))
    cands = random_candidates(rng, 200, 12)
    y = random_y(rng, B, 200)
    for kind in ("none", "shared", "rows"):
        allowed = random_allowed(rng, kind, B, len(cands.lat))
        got_b = lagrangian_bound(cands.to(xp), xp.asarray(y), None if allowed is None else xp.asarray(allowed), xp)
        want = lagrangian_bound_numpy(cands, y, allowed)
        _same_bits(kernels.to_numpy(got_b.val), want.val)
        _same_bits(kernels.to_numpy(got_b.node_min), want.node_min)
        np.testing.assert_array_equal(kernels.to_numpy(got_b.arg), want.arg)


@pytest.mark.gpu
@pytest.mark.skipif(not kernels.gpu_available(), reason="no CuPy or no CUDA device")
def test_gpu_evaluation_in_chunks(monkeypatch):
    """Rows split over several launches (the scratch cap) give the same bits."""
    cp = kernels.get_array_module("gpu")
    rng = np.random.default_rng(3)
    names, flows = random_dag(rng, 40, 2)
    dag = DagStructure.from_flows(names, flows)
    lat, cost = random_latencies(rng, 1000, 40), random_latencies(rng, 1000, 40)
    monkeypatch.setattr(dag_batch, "GPU_CHUNK_ENTRIES", dag.slots * 300)
    got = evaluate_fixings(dag, cp.asarray(lat), cp.asarray(cost), cp)
    _check_fixings(dag_batch.Fixings(*(kernels.to_numpy(a) for a in got)),
                   tuple(evaluate_fixings_numpy(dag, lat, cost)))


def test_module_docstring_example_runs():
    """The usage example a search engineer copies (the module docstring) runs as written."""
    doc = dag_batch.__doc__
    code = doc[doc.index("Usage (what a search imports)::"):].split("::", 1)[1]
    lines = [ln[4:] for ln in code.splitlines() if ln.startswith("    ")]
    ns: dict = {}
    exec("\n".join(lines), ns)  # noqa: S102
    assert ns["ev"].lat_f.shape == (1000, len(ns["dag"].flows))
    assert ns["lb"].arg.shape == (1000, len(ns["dag"].nodes))


def test_bench_script_smoke(tmp_path):
    """scripts/bench_batch.py end to end on a small DAG (CPU devices): rows for every
    (primitive, device, batch), every device bit-identical to the numpy twin, exit 0."""
    import importlib.util
    from pathlib import Path

    import pandas as pd
    path = Path(__file__).resolve().parents[1] / "scripts" / "bench_batch.py"
    spec_ = importlib.util.spec_from_file_location("bench_batch", path)
    mod = importlib.util.module_from_spec(spec_)
    spec_.loader.exec_module(mod)
    out = tmp_path / "b.csv"
    devices = "numpy,numba" if cpu_kernels.available() else "numpy"
    assert mod.main(["--nodes", "30", "--flows", "3", "--batches", "1,40", "--repeats", "1",
                     "--budget-s", "0.1", "--devices", devices, "--out", str(out)]) == 0
    frame = pd.read_csv(out)
    n_dev = len(devices.split(","))
    assert len(frame) == 2 * 2 * n_dev and frame["same_bits"].all() and (frame["per_s"] > 0).all()
    inst = mod.random_dag_instance(30, 3)
    problem = Problem.from_instance(inst)
    assert not problem.empty_nodes and problem.is_feasible()
    assert {v for f in inst.flows for v in f.nodes} == {n.name for n in inst.nodes}
