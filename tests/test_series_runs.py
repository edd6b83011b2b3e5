"""Runs of shared series nodes merged before the plan (fa2opt.reductions.series_runs).

The step alone (which runs, the run's front against brute force, the inverse map), then fa2
with it against fa2 without it and against brute force on chains under overlapping windows
of flows, SLAs at the tolerance's edge included."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import fa2opt
from fa2opt.generate.instances import assemble, place_slas
from fa2opt.generate.shapes import Topology
from fa2opt.model import Config
from fa2opt.problem import Problem
from fa2opt.reductions.pruning import Candidates, fronts
from fa2opt.reductions import series_runs
from fa2opt.reductions.series_runs import SeriesRuns, find_runs, run_pieces, runs_of
from fa2opt.verify import matches, verify

from strategies import _ulps, configs


def _windows(n: int, windows: list[tuple[int, int]], rows: dict, delays: list[float],
             positions: list[float], extra_edges: tuple = ()) -> fa2opt.Instance:
    """A chain v0 → … → v{n-1} (edge i: delays[i]) plus ``extra_edges`` (src, dst, delay),
    one flow per window [a, b) of it, SLAs at ``positions`` of each flow's frontier."""
    nodes = tuple(f"v{i}" for i in range(n))
    edges = tuple((nodes[i], nodes[i + 1], i) for i in range(n - 1))
    edges += tuple((s, d, n - 1 + k) for k, (s, d, _) in enumerate(extra_edges))
    latency = {i: d for i, d in enumerate(delays)}
    latency.update({n - 1 + k: d for k, (_, _, d) in enumerate(extra_edges)})
    members = tuple(nodes[a:b] for a, b in windows)
    topo = Topology("multi-flow", nodes, edges, members, "windows")
    inst = assemble(topo, rows, name="windows", rates=[40.0] * len(windows),
                    prices={"cpu": 1.0, "gpu": 3.5}, group_latency=latency)
    return place_slas(inst, {f.name: p for f, p in zip(inst.flows, positions)})


def _rows(n: int, seed: int, k: int = 4) -> dict[str, list[Config]]:
    rng = np.random.default_rng(seed)
    out = {}
    for i in range(n):
        base = float(rng.uniform(5, 30))
        out[f"v{i}"] = [Config(b, hw, 1, round(base * (0.6 + 0.4 * b) * (0.5 if hw == "gpu" else 1), 3))
                        for b in (1, 2, 4, 8)[:k] for hw in ("cpu", "gpu")]
    return out


def test_runs_are_the_shared_stretches_with_one_edge_in_and_out():
    # flows: v0..v5 and v1..v4: v1 → v2 → v3 → v4 lie in both (v0, v5 in one only)
    inst = _windows(6, [(0, 6), (1, 5)], _rows(6, 0), [0.0, 1.5, 0.0, 2.0, 0.0], [0.5, 0.5])
    runs = find_runs(Problem.from_instance(inst).flows)
    assert runs == [(["v1", "v2", "v3", "v4"], [1.5, 0.0, 2.0])]
    # a third flow ending at v2 splits the run where membership changes
    inst = _windows(6, [(0, 6), (1, 5), (0, 3)], _rows(6, 0), [0.0, 1.5, 0.0, 2.0, 0.0],
                    [0.5, 0.5, 0.5])
    assert [r for r, _ in find_runs(Problem.from_instance(inst).flows)] == [
        ["v1", "v2"], ["v3", "v4"]]
    # an edge v1 → v3 inside both flows: v1 has two successors, v3 two predecessors
    inst = _windows(6, [(0, 6), (1, 5)], _rows(6, 0), [0.0] * 5, [0.5, 0.5],
                    extra_edges=(("v1", "v3", 0.0),))
    assert [r for r, _ in find_runs(Problem.from_instance(inst).flows)] == [["v3", "v4"]]
    # one flow: nothing to merge (the flow's own DP folds its chain)
    one = _windows(4, [(0, 4)], _rows(4, 0), [0.0] * 3, [0.5])
    assert runs_of(Problem.from_instance(one)) is None


def test_a_runs_front_is_the_brute_force_front_and_inverts_to_its_rows():
    inst = _windows(5, [(0, 5), (0, 5)], _rows(5, 3), [0.7, 0.0, 2.25, 0.1], [0.9, 0.9])
    problem = Problem.from_instance(inst)
    lists = fronts(problem, slack=False)
    run = [f"v{i}" for i in range(5)]
    delays = [0.7, 0.0, 2.25, 0.1]
    cands = [Candidates(v, *lists[v]) for v in run]
    (start, end, front), = run_pieces(cands, delays, [math.inf] * 5, max_rows=10**9)
    assert (start, end) == (0, 5)
    points = {}
    for pick in itertools.product(*[range(len(c)) for c in cands]):
        lat = sum(c.latency[k] for c, k in zip(cands, pick)) + sum(delays)
        cost = sum(c.cost[k] for c, k in zip(cands, pick))
        points[pick] = (lat, cost)
    want = sorted({(round(l, 9), round(c, 9)) for l, c in points.values()
                   if not any(l2 <= l and c2 <= c and (l2, c2) != (l, c)
                              for l2, c2 in points.values())})
    got = sorted(zip(np.round(front.lat, 9).tolist(), np.round(front.cost, 9).tolist()))
    assert got == want
    # the merged problem's row r inverts to rows of the run's nodes that add up to point r
    merged, inverse = SeriesRuns().apply(problem)
    assert list(merged.tables) == ["v0"] and len(merged.flows[0].nodes) == 1
    step = SeriesRuns()
    for r in range(len(merged.tables["v0"])):
        choice = step.invert({"v0": r}, inverse)
        assert sorted(choice) == run
        lat = problem.latencies(choice)
        total = sum(lat.values()) + sum(delays)
        assert math.isclose(total, merged.tables["v0"].lists[2][r], rel_tol=1e-12)
        assert math.isclose(problem.cost(choice), merged.tables["v0"].lists[3][r], rel_tol=1e-12)


def test_a_run_whose_front_passes_max_rows_is_cut_into_pieces(monkeypatch):
    inst = _windows(8, [(0, 8), (0, 8)], _rows(8, 5), [0.25] * 7, [0.7, 0.7])
    problem = Problem.from_instance(inst)
    lists = fronts(problem, slack=False)
    cands = [Candidates(f"v{i}", *lists[f"v{i}"]) for i in range(8)]
    whole = run_pieces(cands, [0.25] * 7, [math.inf] * 8, max_rows=10**9)
    assert len(whole) == 1 and len(whole[0][2]) > 12
    pieces = run_pieces(cands, [0.25] * 7, [math.inf] * 8, max_rows=12)
    assert len(pieces) > 1 and [a for a, _, _ in pieces] == sorted(a for a, _, _ in pieces)
    assert pieces[0][0] == 0 and pieces[-1][1] == 8
    assert all(b == c for (_, b, _), (c, _, _) in zip(pieces, pieces[1:]))
    assert all(len(f) <= 12 or b - a == 1 for a, b, f in pieces)
    # fa2 with the pieces merged: the same optimum as with the whole run, and as without
    want = fa2opt.solve(inst, "fa2", series_runs=False)
    monkeypatch.setattr(series_runs, "MAX_ROWS", 12)
    got = fa2opt.solve(inst, "fa2")
    assert got.to_json()["merged_runs"] > 1 and matches(got, want) and verify(inst, got).ok


def test_a_run_cut_by_the_slas_keeps_what_a_feasible_choice_can_use():
    # tight SLAs: the merged front keeps exactly the run's points that fit under the flows'
    # room, and fa2 with the runs merged equals fa2 without and brute force
    for seed in range(6):
        inst = _windows(7, [(0, 7), (1, 6), (1, 7)], _rows(7, seed, k=3), [0.5] * 6,
                        [0.05 + 0.15 * (seed % 3)] * 3)
        with_runs = fa2opt.solve(inst, "fa2")
        without = fa2opt.solve(inst, "fa2", series_runs=False)
        brute = fa2opt.solve(inst, "brute-force")
        assert verify(inst, with_runs).ok
        assert matches(with_runs, brute) and matches(without, brute), seed
        assert with_runs.to_json().get("merged_runs") == 1


def test_a_structure_met_again_with_other_slas_is_judged_by_its_own():
    # the merged graphs are kept per structure: a second instance of the same structure
    # with other SLAs (and flow names) must not be decided under the first one's
    rows = _rows(6, 2, k=3)
    for positions in ([0.9, 0.9], [0.1, 0.3], [0.5, 0.05]):
        inst = _windows(6, [(0, 6), (1, 5)], rows, [0.5] * 5, positions)
        got = fa2opt.solve(inst, "fa2")
        assert matches(got, fa2opt.solve(inst, "brute-force")) and verify(inst, got).ok


def test_an_empty_run_node_makes_the_merged_problem_infeasible():
    inst = _windows(5, [(0, 5), (1, 5)], _rows(5, 1), [0.0] * 4, [-0.2, 0.5])
    assert fa2opt.solve(inst, "fa2").status == "infeasible"
    assert fa2opt.solve(inst, "brute-force").status == "infeasible"


@st.composite
def window_instances(draw: st.DrawFn) -> fa2opt.Instance:
    """A chain of 3-6 nodes, 2-3 flows: the whole chain and windows of it (sharing runs), delays,
    small profiles; SLAs anywhere from infeasible to loose, or at the tolerance's edge of
    a random choice (as ``strategies.edge_instances`` places them)."""
    n = draw(st.integers(3, 6))
    windows = [(0, n)]  # (every node in a flow)
    for _ in range(draw(st.integers(1, 2))):
        a = draw(st.integers(0, n - 2))
        windows.append((a, draw(st.integers(a + 1, n))))
    rows = {f"v{i}": draw(configs(3, ("cpu", "gpu"))) for i in range(n)}
    delays = [draw(st.sampled_from([0.0, 0.5, 33.333, 0.1])) for _ in range(n - 1)]
    positions = [draw(st.floats(-0.1, 1.2)) for _ in windows]
    inst = _windows(n, windows, rows, delays, positions)
    if draw(st.booleans()):
        problem = Problem.from_instance(inst)
        if not problem.empty_nodes:
            choice = {v: draw(st.integers(0, len(t) - 1)) for v, t in problem.tables.items()}
            lat = problem.flow_latencies(choice)
            k = draw(st.integers(-2, 2))
            inst = inst.with_slas({f: max(1e-9, _ulps(x - 1e-6, k)) for f, x in lat.items()})
    return inst


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(window_instances())
def test_fa2_with_runs_merged_equals_brute_force(inst):
    got = fa2opt.solve(inst, "fa2")
    want = fa2opt.solve(inst, "brute-force")
    assert got.status == want.status
    assert matches(got, want)
    if got.status == "optimal":
        assert verify(inst, got).ok


@pytest.mark.slow
def test_chain_windows_of_300_nodes_equal_the_milp():
    from fa2opt.generate.families import chain_windows

    inst = chain_windows(np.random.default_rng([38, 300, 0]), 300, 8)
    got = fa2opt.solve(inst, "fa2", time_limit=120)
    want = fa2opt.solve(inst, "milp", time_limit=120)
    assert got.status == want.status == "optimal" and matches(got, want)
    assert verify(inst, got).ok and got.to_json()["merged_runs"] >= 5


def _at_the_edge(inst: fa2opt.Instance, k: int) -> fa2opt.Instance:
    """``inst`` with each SLA k ulps from its edge at the MILP's optimum (the SLA less the
    rule's tolerance equal to the flow's latency there), as experiments/stress.yaml places
    its edge variants."""
    opt = fa2opt.solve(inst, "milp")
    return inst.with_slas({f: max(1e-9, _ulps(x - 1e-6, k))
                           for f, x in opt.flow_latency_ms.items()})


@pytest.mark.parametrize("seed, k", [(705549602, 0), (830416711, 1)])
def test_a_search_over_merged_runs_does_not_judge_by_the_rule_on_them(seed, k):
    # the flow-bound search judges its leaves by the SLA rule; on merged runs the rule sums
    # a run's terms otherwise than on the instance, and rejected by an ulp the choice the
    # instance's rule accepts: fa2 answered 609 and 750 against the optima 608 and 748
    # (experiments/stress.yaml, 2026-12-07)
    from fa2opt.generate import FAMILIES

    inst = _at_the_edge(FAMILIES["shared-large"].generator(np.random.default_rng(seed), 40, 3), k)
    merged, runs = SeriesRuns().apply(Problem.from_instance(inst))
    assert runs and not any(g.rule_exact for g in merged.flows)
    got, want = fa2opt.solve(inst, "fa2"), fa2opt.solve(inst, "milp")
    assert got.status == want.status == "optimal" and matches(got, want)
    assert verify(inst, got).ok and got.to_json()["merged_runs"] >= 2


def test_a_merged_answer_the_rule_rejects_is_solved_again_judged():
    # long-paths 12x8x10 two ulps below its edge: the merged runs' search (not judged by the
    # rule) answers a choice the rule rejects by an ulp; the same relaxed solve on the
    # instance's own graphs, judged, ends the decision (2 DPs, where the narrowed solve and
    # the enumeration took 10: experiments/stress.yaml, 2026-12-07, 253 vs the MILP's 229 ms)
    from fa2opt.generate import FAMILIES

    inst = _at_the_edge(FAMILIES["long-paths"].generator(np.random.default_rng(727780896),
                                                         12, 8, 10), -2)
    got, want = fa2opt.solve(inst, "fa2"), fa2opt.solve(inst, "milp")
    assert got.status == want.status == "optimal" and matches(got, want)
    assert verify(inst, got).ok and got.to_json()["merged_runs"] >= 1
    assert got.extra["dp_solves"] == 2
