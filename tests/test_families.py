"""The large and hard families of issue 13 (``fa2opt.generate.families``): deterministic per
seed, the structure each generator claims, SLAs on the feasible side of the frontier, and
at small sizes fa2 = brute force = the MILP on every family (a few seeds here, a
hypothesis property over seeds and sizes, larger sizes under ``-m slow``)."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fa2opt import generate as gen
from fa2opt.generate import families as fam
from fa2opt.model import Instance
from fa2opt.problem import Problem
from fa2opt.solver import available_methods, checked, get_solver
from fa2opt.verify import matches

HAVE_MILP = "milp" in available_methods()

# Small sizes of every family, each with options that keep brute force exact and quick
# (≤ 4 rows per node: at most 4^9 = 262,144 combinations).
FEW = {"configs": (2, 4)}
SMALL: dict[str, list[tuple[tuple, dict]]] = {
    "dense": [((n, p), {"k": 4}) for n, p in ((6, 0.5), (7, 0.45), (8, 0.4), (9, 0.35))],
    "shared": [((n, (2, 3)), {**FEW, "p_latency": 0.3}) for n in (6, 7, 8, 9)],
    "random": [((n,), {**FEW, "window": 3}) for n in (6, 7, 8, 9)],
    "lattice": [((2, 3), FEW), ((3, 2), FEW), ((3, 3), FEW), ((2, 4), FEW)],
    "ladder": [((3,), FEW), ((4,), {**FEW, "p_cross": 0.0}), ((5,), FEW)],
    "vsp": [((n, 0.3), FEW) for n in (6, 7, 8, 9)],
    "shared-large": [((n, 3), FEW) for n in (6, 8, 9)],
    "chain-windows": [((n, f), {**FEW, "window": (0.4, 0.9)}) for n, f in ((6, 2), (8, 3), (9, 3))],
    "many-flows": [((3, 2, 4), {**FEW, "p_latency": 0.3}), ((2, 3, 5), FEW),
                   ((3, 3, 6), {**FEW, "p_skip": 0.0})],
    "long-paths": [((4, 2, 3), FEW), ((5, 2, 3), {**FEW, "p_skip": 0.0}), ((3, 3, 4), FEW)],
    "small": [((n, s), FEW) for s in fam.SMALL_SHAPES for n in (2, 5, 8)
              if gen.MIN_NODES[s] <= n],
}


def make(family: str, seed: int, size: tuple, options: dict) -> Instance:
    return fam.FAMILIES[family].generator(np.random.default_rng([seed, 13]), *size, **options)


def pairs(inst: Instance) -> list[tuple[str, str]]:
    return [(e.src, e.dst) for e in inst.edges]


def fa2_against(inst: Instance, reference: str, **options) -> None:
    """fa2 (through ``checked``) and the reference both proven, and equal (spec's match)."""
    problem = Problem.from_instance(inst)
    a = checked(problem, get_solver("fa2").solve(problem))
    r = checked(problem, get_solver(reference, **options).solve(problem))
    assert a.status in ("optimal", "infeasible"), (inst.name, a.status, a.message)
    assert r.status in ("optimal", "infeasible"), (inst.name, r.status, r.message)
    assert a.status == r.status and matches(a, r), (inst.name, a.cost, r.cost)


# -- registry, determinism, SLAs -----------------------------------------------------------------
def test_every_family_has_small_sizes_here_and_a_size_grid():
    assert set(SMALL) == set(fam.FAMILIES)
    for name, (generator, sizes) in fam.FAMILIES.items():
        assert callable(generator) and sizes, name
    assert fam.FAMILIES["dense"].sizes == fam.DENSE_CASES
    assert {s for (s,) in fam.FAMILIES["random"].sizes} == {50, 100, 200}


@pytest.mark.parametrize("family", sorted(fam.FAMILIES))
def test_generators_are_deterministic_per_seed(family):
    size, options = SMALL[family][-1]
    a = [gen.instance_json(make(family, s, size, options)) for s in (1, 2, 3)]
    b = [gen.instance_json(make(family, s, size, options)) for s in (1, 2, 3)]
    assert a == b
    assert len(set(a)) == 3  # and the seed matters


@pytest.mark.parametrize("family", sorted(fam.FAMILIES))
def test_default_sizes_give_valid_feasible_instances_with_binding_slas(family):
    """The first default size (the cheap end of the grid): a valid instance, feasible, each
    SLA between the all-fastest latency F and the frontier's t = 0.6 (the draws' range;
    dense: F·1.05-F·1.6; small: t ≤ 0.98)."""
    generator, sizes = fam.FAMILIES[family]
    for seed in (0, 1):
        inst = generator(np.random.default_rng([seed, 7]), *sizes[0])
        problem = Problem.from_instance(inst)
        assert problem.is_feasible(), inst.name
        frontier = gen.flow_frontier(problem)
        for f in inst.flows:
            fast, cheap = frontier[f.name]
            if family == "dense":
                lo, hi = 1.05 * fast, 1.6 * fast
            else:
                lo = fast
                hi = gen.sla_at(fast, cheap, 0.98 if family == "small" else 0.6)
            assert lo - 1e-6 <= f.sla_ms <= hi + 1e-3, (inst.name, f.name, fast, f.sla_ms, hi)


def test_dense_dag_keeps_the_benchmark_draws():
    """``dense_dag`` is the former ``dense_instance``: DAG edges i→j (i < j) with delays
    0-2 ms, the first k of 12 rows per node, rate 50/s; one generator state feeds
    consecutive instances, as the benchmark's loop does."""
    rng = np.random.default_rng(0)
    first = fam.dense_dag(rng, 8, 0.4)
    second = fam.dense_dag(rng, 8, 0.4)
    assert gen.instance_json(first) != gen.instance_json(second)
    again = np.random.default_rng(0)
    assert gen.instance_json(fam.dense_dag(again, 8, 0.4)) == gen.instance_json(first)
    for e in first.edges:
        assert int(e.src[1:]) < int(e.dst[1:]) and e.latency_ms in (0.0, 1.0, 2.0)
    assert all(len(v.configs) == 12 for v in first.nodes)
    assert all(len(v.configs) == 5 for v in fam.dense_dag(rng, 6, 0.5, k=5).nodes)
    assert first.flows[0].rate_rps == 50.0


# -- structure ------------------------------------------------------------------------------------
@pytest.mark.parametrize("rows,cols", [(1, 4), (2, 2), (2, 3), (3, 3), (4, 6), (3, 12)])
def test_lattice_has_right_and_down_edges_only(rows, cols):
    inst = fam.lattice(np.random.default_rng(rows * 100 + cols), rows, cols, configs=(2, 3))
    want = {(f"r{i}c{j}", f"r{i}c{j + 1}") for i in range(rows) for j in range(cols - 1)}
    want |= {(f"r{i}c{j}", f"r{i + 1}c{j}") for i in range(rows - 1) for j in range(cols)}
    assert set(pairs(inst)) == want and len(inst.edges) == len(want)
    assert len(inst.nodes) == rows * cols and len(inst.flows) == 1
    vs = [v.name for v in inst.nodes]
    # series-parallel (for longest paths) only when one side is 1, or 2 x 2 (a fork-join)
    assert gen.has_induced_n(vs, pairs(inst)) == (min(rows, cols) >= 2 and max(rows, cols) >= 3)


@pytest.mark.parametrize("rungs", [1, 2, 5, 30])
def test_ladder_has_rails_diagonals_and_drawn_back_diagonals(rungs):
    for seed in range(3):
        inst = fam.ladder(np.random.default_rng([seed, rungs]), rungs, configs=(2, 3))
        got = set(pairs(inst))
        want = {("a0", "b0")}
        for i in range(rungs - 1):
            want |= {(f"a{i}", f"a{i + 1}"), (f"b{i}", f"b{i + 1}"), (f"a{i}", f"b{i + 1}")}
        back = got - want
        assert want <= got and len(inst.edges) == len(got)
        assert back <= {(f"b{i}", f"a{i + 1}") for i in range(rungs - 1)}
        assert len(inst.nodes) == 2 * rungs and len(inst.flows) == 1
        assert inst.name == f"ladder-{rungs}"
    every = fam.ladder(np.random.default_rng(0), 4, p_cross=1.0, configs=(2, 3))
    none = fam.ladder(np.random.default_rng(0), 4, p_cross=0.0, configs=(2, 3))
    assert len(every.edges) == 1 + 4 * 3 and len(none.edges) == 1 + 3 * 3
    # the diagonals make it non-series-parallel (an induced N) unless every back diagonal is
    # drawn: then each rung's pair precedes the next one's (series, up to transitive edges)
    assert gen.has_induced_n([v.name for v in none.nodes], pairs(none))
    assert not gen.has_induced_n([v.name for v in every.nodes], pairs(every))


@pytest.mark.parametrize("n", [6, 50, 120])
def test_random_dag_is_acyclic_connected_sparse_with_some_edge_latencies(n):
    window = 6
    for seed in range(3):
        inst = fam.random_dag(np.random.default_rng([seed, n]), n, window=window, configs=(2, 3))
        order = gen.shapes.topological_order([v.name for v in inst.nodes], pairs(inst))
        assert len(order) == n  # acyclic: Kahn's order covers every node
        heads = {d for _, d in pairs(inst)}
        assert [v.name for v in inst.nodes if v.name not in heads] == ["n0"]  # one source
        for s, d in pairs(inst):
            assert 0 < int(d[1:]) - int(s[1:]) <= window  # inside the window after i
        if n >= 50:
            assert 1.5 <= len(inst.edges) / n <= 2.5  # average out-degree ~2
            lat = [e.latency_ms for e in inst.edges]
            assert 0.1 < sum(x > 0 for x in lat) / len(lat) < 0.5  # p_latency 0.3
            assert all(x == 0 or 0.5 <= x <= 10 for x in lat)
        assert set(inst.flows[0].nodes) == {v.name for v in inst.nodes}


def test_own_latency_edges_takes_join_edges_first_and_gives_each_its_own_group():
    for seed in range(10):
        rng = np.random.default_rng(seed)
        base = gen.nested_sp(40, lambda lo, hi: int(rng.integers(lo, hi + 1)))
        topo, own = fam.own_latency_edges(rng, base, 0.15)
        assert len(own) == round(0.15 * len(base.edges))
        assert [(s, d) for s, d, _ in topo.edges] == [(s, d) for s, d, _ in base.edges]
        old = {(s, d): g for s, d, g in base.edges}
        new = {(s, d): g for s, d, g in topo.edges}
        assert all(own[e] == old[e] for e in own)
        assert all(new[e] == old[e] for e in old if e not in own)
        assert len({new[e] for e in own}) == len(own)  # a fresh group each
        assert not {new[e] for e in own} & set(old.values())
        size = {g: list(old.values()).count(g) for g in set(old.values())}
        in_joins = sum(size[g] > 1 for g in old.values())
        assert sum(size[own[e]] > 1 for e in own) == min(len(own), in_joins)


@pytest.mark.parametrize("n", [20, 60, 200])
def test_vsp_edge_latency_graph_is_sp_with_the_claimed_fraction_of_own_latencies(n):
    """The graph is vertex series-parallel (no induced N, checked up to 60 nodes); ~15 % of
    its edges carry a latency of their own that differs from their former series join's,
    most of them taken from joins of several edges; the instance is exactly that topology
    with those latencies."""
    for seed in range(3):
        topo, own, latency = fam.vsp_edge_latency_topology(np.random.default_rng([seed, n]), n)
        inst = fam.vsp_edge_latency(np.random.default_rng([seed, n]), n, configs=(2, 3))
        assert [(e.src, e.dst, e.latency_ms) for e in inst.edges] == \
               [(s, d, latency[g]) for s, d, g in topo.edges]
        assert len(own) == round(0.15 * len(topo.edges))
        assert 0.1 <= len(own) / len(topo.edges) <= 0.2
        if n <= 60:
            assert not gen.has_induced_n(topo.nodes, [(s, d) for s, d, _ in topo.edges])
        lat = {(e.src, e.dst): e.latency_ms for e in inst.edges}
        assert all(abs(lat[e] - latency[g]) >= 0.5 for e, g in own.items())
        # the former group's size: its edges left in topo plus the own edges taken from it
        size = {g: sum(g == h for _, _, h in topo.edges) + list(own.values()).count(g)
                for g in set(own.values())}
        assert sum(size[g] > 1 for g in own.values()) >= 0.5 * len(own)


@pytest.mark.parametrize("size", [(60, 3), (120, 6)])
def test_shared_flows_share_most_nodes_and_carry_some_edge_latencies(size):
    n, count = size
    generator = fam.FAMILIES["shared-large"].generator
    for seed in range(3):
        inst = generator(np.random.default_rng([seed, n]), n, count, configs=(2, 3))
        assert len(inst.nodes) == n and len(inst.flows) == count
        everything = {v.name for v in inst.nodes}
        assert set(inst.flows[0].nodes) == everything
        for f in inst.flows[1:]:
            assert len(set(f.nodes)) >= 0.6 * n  # drops at most a fifth at each end
        shared = sum(sum(v in f.nodes for f in inst.flows) == count for v in everything)
        assert shared >= 0.6 * n
        assert any(e.latency_ms > 0 for e in inst.edges)


def test_chain_windows_are_windows_of_one_chain_with_shared_runs():
    from fa2opt.reductions.series_runs import runs_of

    for seed in range(3):
        inst = fam.chain_windows(np.random.default_rng([seed, 300]), 300, 8, configs=(2, 3))
        order = [v.name for v in inst.nodes]
        at = {v: i for i, v in enumerate(order)}
        assert len(inst.flows) == 8 and len(order) <= 300
        for e in inst.edges:  # the chain's edges between covered nodes
            assert at[e.dst] == at[e.src] + 1
        for f in inst.flows:  # a window: consecutive chain nodes, 20-60 % of 300
            idx = [at[v] for v in f.nodes]
            assert idx == list(range(idx[0], idx[0] + len(idx))) and 60 <= len(idx) <= 180
        assert {v for f in inst.flows for v in f.nodes} == set(order)
        runs = runs_of(Problem.from_instance(inst))
        assert runs is not None and sum(map(len, runs.runs)) >= 0.3 * len(order)


@pytest.mark.parametrize("size", [(6, 5, 20), (12, 10, 60)])
def test_many_flows_are_chains_through_one_pool_that_share_models(size):
    stages, width, apps = size
    for seed in range(3):
        inst = fam.many_flows(np.random.default_rng([seed, apps]), *size, configs=(2, 3))
        stage = {v.name: int(v.name[1:v.name.index("m")]) for v in inst.nodes}
        assert len(inst.flows) == apps and len(inst.nodes) <= stages * width
        assert all(stage[e.src] < stage[e.dst] for e in inst.edges)  # stage order: a DAG
        used = [v for f in inst.flows for v in f.nodes]
        assert set(used) == set(stage)  # every model some application's
        for f in inst.flows:  # one model per stage it keeps, at least two stages
            assert len({stage[v] for v in f.nodes}) == len(f.nodes) >= 2
        assert max(used.count(v) for v in stage) >= apps / width  # models are shared
        assert any(e.latency_ms > 0 for e in inst.edges)


def test_long_paths_are_many_flows_with_amdahl_profiles_under_their_own_name():
    for seed in range(3):
        a = fam.long_paths(np.random.default_rng(seed), 12, 8, 10)
        b = fam.many_flows(np.random.default_rng(seed), 12, 8, 10, p_measured=0.0)
        assert a.name == "long-paths-12x8-10" and a.name != b.name
        assert gen.instance_json(replace(a, name=b.name)) == gen.instance_json(b)
        assert len(a.flows) == 10 and max(len(f.nodes) for f in a.flows) >= 8


def test_shared_flows_defaults_have_no_edge_latencies_like_the_former_builder():
    for seed in range(5):
        inst = fam.shared_flows(np.random.default_rng([2026, seed]))
        assert 15 <= len(inst.nodes) <= 30 and 2 <= len(inst.flows) <= 3
        assert all(e.latency_ms == 0 for e in inst.edges)


@pytest.mark.parametrize("shape", fam.SMALL_SHAPES)
def test_small_single_flow_has_its_shape_and_size(shape):
    checks = {"chain": lambda vs, es: gen.is_chain(vs, es),
              "tree": lambda vs, es: gen.is_out_tree(vs, es),
              "non-sp": lambda vs, es: gen.has_bridge(vs, es) or gen.has_induced_n(vs, es),
              "nested-sp": lambda vs, es: not gen.has_induced_n(vs, es),
              "fork-join": lambda vs, es: not gen.has_induced_n(vs, es)}
    for n in range(gen.MIN_NODES[shape], 13):
        inst = fam.small_single_flow(np.random.default_rng([n, 3]), n, shape)
        vs = [v.name for v in inst.nodes]
        assert len(vs) == max(n, gen.MIN_NODES[shape]) and len(inst.flows) == 1
        assert checks[shape](vs, pairs(inst)), (shape, n)
        assert Problem.from_instance(inst).is_feasible()
    drawn = {fam.small_single_flow(np.random.default_rng(s), 12).name.split("-")[1]
             for s in range(40)}
    assert drawn >= {"chain", "fork", "nested", "non", "tree"}


# -- fa2 against brute force and the MILP at small sizes -----------------------------------------
@pytest.mark.parametrize("family", sorted(fam.FAMILIES))
def test_fa2_equals_brute_force_at_small_sizes(family):
    for seed in (0, 1):
        for size, options in SMALL[family]:
            inst = make(family, seed, size, options)
            assert math.prod(len(v.configs) for v in inst.nodes) <= 2_000_000
            fa2_against(inst, "brute-force")


@pytest.mark.skipif(not HAVE_MILP, reason="formulations.solve not present")
@pytest.mark.parametrize("family", sorted(fam.FAMILIES))
def test_fa2_equals_the_milp_at_small_sizes(family):
    for size, options in SMALL[family]:
        fa2_against(make(family, 2, size, options), "milp", time_limit=60)


@settings(max_examples=40)
@given(family=st.sampled_from(sorted(fam.FAMILIES)), index=st.integers(0, 20),
       seed=st.integers(0, 2**32 - 1))
def test_fa2_equals_brute_force_and_the_milp_over_seeds_and_sizes(family, index, seed):
    size, options = SMALL[family][index % len(SMALL[family])]
    inst = make(family, seed, size, options)
    fa2_against(inst, "brute-force")
    if HAVE_MILP:
        fa2_against(inst, "milp", time_limit=60)


# Mid sizes: beyond brute force, fa2 against the MILP (fa2 must prove optimality in time).
MID: dict[str, list[tuple[tuple, dict]]] = {
    "dense": [((n, p), {}) for n, p in ((12, 0.3), (16, 0.25))],
    "shared": [((n, f), {}) for n, f in ((15, 2), (20, 3))],
    "random": [((n,), {}) for n in (20, 30)],
    "lattice": [((4, 4), {}), ((5, 5), {}), ((3, 8), {})],
    "ladder": [((10,), {}), ((20,), {})],
    "vsp": [((n, 0.1), {}) for n in (20, 30)],
    "shared-large": [((n, f), {}) for n, f in ((30, 3), (40, 3))],
    "chain-windows": [((60, 4), {}), ((120, 6), {})],
    "many-flows": [((5, 4, 12), {}), ((6, 5, 20), {})],
    "long-paths": [((8, 4, 6), {}), ((10, 4, 8), {})],
    "small": [((12, s), {}) for s in fam.SMALL_SHAPES],
}


@pytest.mark.slow
@pytest.mark.skipif(not HAVE_MILP, reason="formulations.solve not present")
@pytest.mark.parametrize("family", sorted(fam.FAMILIES))
def test_fa2_equals_the_milp_at_mid_sizes(family):
    assert set(MID) == set(fam.FAMILIES)
    for seed in (0, 1):
        for size, options in MID[family]:
            fa2_against(make(family, seed, size, options), "milp", time_limit=120)
