"""--method fa2: exact against brute force (and the MILP where present) on every shape."""

from __future__ import annotations

import random
import warnings
from dataclasses import replace

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

import fa2opt
from fa2opt.generate import DENSE_CASES, SHAPES, Sizes, dense_dag, random_instance
from fa2opt.model import Config, Edge, Flow, Instance, Node
from fa2opt.problem import Problem
from fa2opt.reductions import clear_cache
from fa2opt.solver import available_methods
from fa2opt.verify import matches, verify
from devices import SPEC  # noqa: E402  (tests/devices.py: the spec's examples)
from helpers import shared_instances  # noqa: E402  (tests/helpers.py)

try:
    from strategies import instances
except ImportError:  # pragma: no cover
    from tests.strategies import instances

HAVE_MILP = "milp" in available_methods()


def check_against(inst: Instance, reference: str = "brute-force", **options) -> fa2opt.Answer:
    ans = fa2opt.solve(inst, "fa2", **options)
    ref = fa2opt.solve(inst, reference)
    assert ref.status in ("optimal", "infeasible"), ref
    assert ans.status in ("optimal", "infeasible"), ans.message
    assert ans.status == ref.status, (inst.name, ans.status, ref.status)
    assert matches(ans, ref), (inst.name, ans.cost, ref.cost)
    if ans.has_decision:
        assert verify(inst, ans).ok
    assert ans.solve_ms > 0
    return ans


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(instances(max_nodes=6, max_configs=4))
def test_fa2_equals_brute_force_on_hypothesis_instances(inst):
    check_against(inst)


@pytest.mark.parametrize("shape", SHAPES)
def test_fa2_equals_brute_force_on_generated_instances(shape):
    """30 instances per shape with measured and synthetic profiles (≤ 6^7 combinations)."""
    n_infeasible = 0
    for i in range(30):
        g = random_instance(shape, np.random.default_rng([4, SHAPES.index(shape), i]),
                            name=f"{shape}-{i}", sizes=Sizes(nodes=(2, 7), configs=(2, 6)))
        ans = check_against(g.instance)
        n_infeasible += ans.status == "infeasible"
    assert n_infeasible < 30


def random_dag_instance(rng: random.Random, n: int, k: int, p: float) -> Instance:
    """A random (mostly non-series-parallel) DAG, one flow, k rows per node."""
    names = [f"v{i}" for i in range(n)]
    edges = [Edge(names[i], names[j], rng.choice([0.0, 0.0, 2.5]))
             for j in range(n) for i in range(j) if rng.random() < p]
    nodes = []
    for v in names:
        base = rng.uniform(5, 50)
        rows = tuple(Config(b, "cpu", float(u), round(base * b ** 0.8 / u ** 0.6 * rng.uniform(0.8, 1.2), 3))
                     for b, u in rng.sample([(1, 1), (2, 1), (4, 2), (8, 2), (1, 4), (4, 4)], k))
        nodes.append(Node(v, rows, multiplier=rng.choice([1.0, 2.0])))
    inst = Instance("dag", tuple(nodes), tuple(edges), (Flow("main", rng.uniform(5, 80), 1.0, tuple(names)),))
    problem = Problem.from_instance(inst)
    fast = problem.flow_latencies(problem.fastest_choice())["main"]
    slow = problem.flow_latencies({v: len(t) - 1 for v, t in problem.tables.items()})["main"]
    return inst.with_slas({"main": round(fast + rng.uniform(-0.05, 1.0) * (slow - fast), 3)})


def test_fa2_equals_brute_force_on_random_non_sp_dags():
    rng = random.Random(11)
    for trial in range(60):
        inst = random_dag_instance(rng, rng.randint(4, 9), 3, rng.uniform(0.3, 0.7))
        check_against(inst)


def test_multi_flow_with_several_shared_nodes_and_non_sp_flow():
    """Three flows sharing two nodes; one flow is the N graph (duplication + sharing)."""
    rng = random.Random(5)
    for trial in range(20):
        base = random_dag_instance(rng, 6, 3, 0.0)
        edges = (Edge("v0", "v2"), Edge("v1", "v2"), Edge("v1", "v3"), Edge("v3", "v4"),
                 Edge("v0", "v5", 1.0))
        flows = (Flow("n", 10.0, 1.0, ("v0", "v1", "v2", "v3")),
                 Flow("tail", 20.0, 1.0, ("v3", "v4")),
                 Flow("side", 5.0, 1.0, ("v0", "v5")))
        inst = replace(base, edges=edges, flows=flows)
        problem = Problem.from_instance(inst)
        lat = problem.flow_latencies(problem.fastest_choice())
        inst = inst.with_slas({f: round(l * rng.uniform(0.97, 2.5), 3) for f, l in lat.items()})
        check_against(inst)


def test_infeasible_cases():
    rows = (Config(1, "cpu", 1.0, 10.0), Config(4, "cpu", 1.0, 20.0))
    inst = Instance("inf", (Node("a", rows), Node("b", rows)), (Edge("a", "b"),),
                    (Flow("main", 10.0, 19.0, ("a", "b")),), queueing="none")
    assert fa2opt.solve(inst, "fa2").status == "infeasible"  # all-fastest = 20 > 19
    ok = inst.with_slas({"main": 20.0})
    assert fa2opt.solve(ok, "fa2").status == "optimal"
    empty = replace(ok, nodes=(Node("a", rows, max_batch=0 + 1), Node("b", rows, max_replicas=1)))
    # b needs 1 replica for row 0 at 10 rps? mu = 100 rps -> 1 replica: still feasible
    assert fa2opt.solve(empty, "fa2").status == "optimal"
    none_left = replace(ok, nodes=(Node("a", rows), Node("b", (Config(8, "cpu", 1.0, 10.0),), max_batch=4)))
    assert fa2opt.solve(none_left, "fa2").status == "infeasible"


def test_single_node_and_sla_at_the_exact_boundary():
    rows = (Config(1, "cpu", 2.0, 10.0), Config(2, "cpu", 1.0, 15.0), Config(4, "cpu", 1.0, 30.0))
    inst = Instance("one", (Node("a", rows),), (), (Flow("main", 50.0, 15.0, ("a",)),), queueing="none")
    ans = check_against(inst)
    assert ans.nodes["a"].batch == 2  # exactly on the SLA is allowed


def test_cache_off_gives_the_same_answers():
    for i in range(10):
        g = random_instance("nested-sp", np.random.default_rng([9, i]), name=f"c{i}",
                            sizes=Sizes(nodes=(3, 8), configs=(3, 10)))
        clear_cache()
        a = fa2opt.solve(g.instance, "fa2", cache=False)
        b = fa2opt.solve(g.instance, "fa2")
        c = fa2opt.solve(g.instance, "fa2")
        assert a.status == b.status == c.status and matches(a, b) and matches(b, c)


def test_example_and_pipeline_instances(tmp_path):
    from pathlib import Path
    paths = sorted(Path(SPEC).glob("*.json"))
    paths += sorted(Path(__file__).resolve().parents[1].joinpath("datasets", "pipelines").glob("*.json"))
    assert paths
    for p in paths:
        inst = fa2opt.load_instance(p)
        ans = fa2opt.solve(inst, "fa2")
        assert ans.status == "optimal" and verify(inst, ans).ok
        ref = fa2opt.solve(inst, "brute-force")
        if ref.status == "optimal":
            assert matches(ans, ref)
        elif HAVE_MILP:
            milp = fa2opt.solve(inst, "milp")
            if milp.status == "optimal":
                assert matches(ans, milp)


@pytest.mark.skipif(not HAVE_MILP, reason="formulations.solve (MILP) not present")
def test_fa2_equals_milp_on_generated_instances():
    compare_with_milp([random_instance(shape, np.random.default_rng([17, i]), name=f"{shape}-{i}",
                                       sizes=Sizes(nodes=(3, 10), configs=(5, 30))).instance
                       for i, shape in enumerate(SHAPES * 5)])


def compare_with_milp(insts: list[Instance]) -> None:
    """fa2 must match every MILP answer that passes verification. A MILP answer that fails
    verification (``error``, the MILP's bug, not ground truth) is replaced by brute force
    when that is small enough, and reported as a warning."""
    bad_milp = []
    for inst in insts:
        ans = fa2opt.solve(inst, "fa2")
        assert ans.status in ("optimal", "infeasible"), ans.message
        ref = fa2opt.solve(inst, "milp")
        if ref.status == "error":
            bad_milp.append(f"{inst.name}: {ref.message}")
            ref = fa2opt.solve(inst, "brute-force")
            if ref.status == "no_solution":
                continue
        assert ref.status in ("optimal", "infeasible"), (inst.name, ref.status, ref.message)
        assert ans.status == ref.status and matches(ans, ref), (inst.name, ans.cost, ref.cost)
    if bad_milp:
        warnings.warn("MILP answers failing verification: " + " | ".join(bad_milp))


@pytest.mark.slow
@pytest.mark.skipif(not HAVE_MILP, reason="formulations.solve (MILP) not present")
def test_fa2_equals_milp_on_larger_instances():
    compare_with_milp([random_instance(shape, np.random.default_rng([23, i]), name=f"{shape}-{i}",
                                       sizes=Sizes(nodes=(8, 20), configs=(10, 40))).instance
                       for i, shape in enumerate(SHAPES * 5)])


def test_cli_default_method_is_fa2(tmp_path, capsys):
    from fa2opt.cli import main
    import json
    assert main(["solve", f"{SPEC}/chain.json", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["method"] == "fa2" and out["status"] == "optimal"
    assert {"prune_ms", "transform_ms", "dp_ms"} <= set(out)


def test_time_limit_answers_with_a_verified_incumbent_and_a_lower_bound():
    """Two flows sharing 24 of 27 nodes: with a deadline already passed at the first check
    the answer is time_limit, verified, with lower_bound ≤ cost (and without one the search
    finishes: see tests/test_shared... below)."""
    g = random_instance("multi-flow", np.random.default_rng([23, 107]), name="heavy-overlap",
                        sizes=Sizes(nodes=(8, 30), configs=(10, 60)))
    ans = fa2opt.solve(g.instance, "fa2", time_limit=1e-9)
    assert ans.status == "time_limit" and verify(g.instance, ans).ok
    assert ans.lower_bound is not None and ans.lower_bound <= ans.cost * (1 + 1e-9)


# -- flows sharing most of their nodes (the Lagrangian coupling search) ----------------------

def test_shared_small_instances_equal_brute_force_with_both_bounds():
    for inst in shared_instances(15, 5, nodes=(4, 7), configs=(3, 6)):
        check_against(inst)
        check_against(inst, bound="equal")


def test_bound_option_is_checked():
    with pytest.raises(ValueError):
        fa2opt.solve(shared_instances(1, 5, nodes=(4, 4), configs=(3, 3))[0], "fa2", bound="x")


@pytest.mark.skipif(not HAVE_MILP, reason="formulations.solve not present")
def test_heavy_overlap_instances_decide_optimal_and_equal_the_milp():
    """Two flows sharing 24 of 27 nodes (exponential for the equal split: minutes) and
    four 15-30-node instances with 2-3 flows over mostly the same nodes."""
    g = random_instance("multi-flow", np.random.default_rng([23, 107]), name="heavy-overlap",
                        sizes=Sizes(nodes=(8, 30), configs=(10, 60)))
    insts = [g.instance] + shared_instances(4, 7)
    for inst in insts:
        # the search over them (their shared runs unmerged), then with the runs merged
        ans = check_against(inst, "milp", time_limit=60, series_runs=False)
        assert ans.status == "optimal" and ans.extra["coupling_nodes"] >= 15
        merged = check_against(inst, "milp", time_limit=60)
        assert merged.extra["coupling_nodes"] < ans.extra["coupling_nodes"]


@pytest.mark.slow
@pytest.mark.skipif(not HAVE_MILP, reason="formulations.solve not present")
def test_shared_instances_equal_the_milp():
    for inst in shared_instances(40, 8):
        check_against(inst, "milp", time_limit=120)


# -- dense DAGs: nodes duplicated inside one flow (per-copy Lagrangian prices) ---------------

@pytest.mark.skipif(not HAVE_MILP, reason="formulations.solve not present")
def test_dense_dags_with_many_duplicated_nodes_decide_optimal_and_equal_the_milp():
    """Random dense single-flow DAGs of 20-30 nodes (12 rows each; before per-copy prices
    such cases took up to ~30 s): fa2 answers optimal, equal to the MILP."""
    rng = np.random.default_rng([5, 1])
    for n, p in ((20, 0.2), (25, 0.15), (30, 0.12)):
        inst = dense_dag(rng, n, p)
        ans = check_against(inst, "milp", time_limit=60)
        assert ans.status == "optimal" and ans.extra["coupling_nodes"] >= 10


@pytest.mark.skipif(not HAVE_MILP, reason="formulations.solve not present")
def test_more_dense_dags_equal_the_milp():
    """24 more dense DAGs of 8-30 nodes (every case of the benchmark's dense section)."""
    rng = np.random.default_rng([5, 2])
    for n, p in DENSE_CASES * 4:
        check_against(dense_dag(rng, n, p), "milp", time_limit=60)
