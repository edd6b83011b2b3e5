"""The MILP ground truth (issue 3): exact against brute force, honest statuses, time limits,
the formulation registry, and the CLI."""

from __future__ import annotations

import json
import math
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

import formulations
from fa2opt import Config, Edge, Flow, Instance, Node, Problem, solve, verify
from fa2opt.cli import main as cli_main
from fa2opt.io import dump_instance
from fa2opt.verify import matches
from formulations import base
from formulations.solve import MILPSolver, process_threads

from strategies import instances

HYP = settings(max_examples=150, deadline=None,
               suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def chain(rows: list[list[tuple[int, str, float, float]]], sla: float = 1000.0,
          rate: float = 10.0, **kw) -> Instance:
    """A chain n0 → n1 → … with rows (batch, hardware, units, latency_ms) per node."""
    nodes = tuple(Node(f"n{i}", tuple(Config(b, h, u, p) for b, h, u, p in r))
                  for i, r in enumerate(rows))
    edges = tuple(Edge(f"n{i}", f"n{i + 1}") for i in range(len(rows) - 1))
    flows = (Flow("main", rate, sla, tuple(n.name for n in nodes)),)
    return Instance("chain", nodes, edges, flows, **kw)


def assert_matches_brute_force(inst: Instance, **options) -> None:
    problem = Problem.from_instance(inst)
    exact = solve(problem, "brute-force")
    got = solve(problem, "milp", **options)
    assert exact.status in ("optimal", "infeasible")
    assert got.status == exact.status, (got.status, got.message, exact.status)
    assert matches(got, exact), (got.cost, exact.cost)
    if got.has_decision:
        assert verify(inst, got).ok
        assert problem.meets_slas({v: problem.tables[v].position(
            next(j for j, c in enumerate(inst.node(v).configs)
                 if c.identity == (d.batch, d.hardware, d.units, d.variant)))
            for v, d in got.nodes.items()})


# -- exactness ----------------------------------------------------------------------------------
@HYP
@given(instances())
def test_milp_equals_brute_force_on_random_instances(inst: Instance) -> None:
    assert_matches_brute_force(inst)


@HYP
@given(instances(shapes=("multi-flow",), max_nodes=6))
def test_milp_equals_brute_force_with_shared_nodes(inst: Instance) -> None:
    assert len(inst.flows) >= 2
    assert_matches_brute_force(inst)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(instances(infeasible=True))
def test_model_itself_proves_infeasibility(inst: Instance) -> None:
    """With the all-fastest short-circuit off, HiGHS must prove infeasibility on its own."""
    problem = Problem.from_instance(inst)
    assert not problem.is_feasible()
    ans = MILPSolver(short_circuit=False).solve(problem)
    assert ans.status == "infeasible", (ans.status, ans.message)
    assert "short_circuit" not in ans.extra and ans.extra["build_ms"] > 0


def test_node_without_available_row_is_infeasible_in_the_model() -> None:
    inst = chain([[(1, "cpu", 1, 10.0)], [(1, "cpu", 1, 500.0), (2, "cpu", 1, 900.0)]],
                 rate=50.0)
    nodes = (inst.nodes[0], Node("n1", inst.nodes[1].configs, max_replicas=1))
    inst = Instance(inst.name, nodes, inst.edges, inst.flows)
    problem = Problem.from_instance(inst)
    assert problem.empty_nodes == ("n1",)
    assert MILPSolver(short_circuit=False).solve(problem).status == "infeasible"
    assert solve(problem, "milp").status == "infeasible"


def test_tight_sla_at_exact_path_length_is_feasible() -> None:
    """SLA equal to the optimum's longest path (tolerance 1e-6 ms) must stay feasible."""
    inst = chain([[(1, "cpu", 1, 10.0), (1, "cpu", 2, 5.0)],
                  [(1, "cpu", 1, 20.0), (1, "cpu", 4, 2.5)]], sla=25.0, rate=1.0,
                 queueing="none")
    ans = solve(inst, "milp", short_circuit=False)
    assert ans.status == "optimal" and ans.flow_latency_ms["main"] == 25.0
    assert ans.cost == 3.0  # n0 at 2 units (5 ms) + n1 at 1 unit (20 ms); 10 + 20 breaks it


def _random_dag(seed: int, n: int, k: int, flows: int) -> Instance:
    """A random DAG with ``flows`` overlapping flows and k rows per node (queueing none)."""
    rng = np.random.default_rng(seed)
    nodes = tuple(Node(f"n{i}", tuple(
        Config(1 + j, ("cpu", "gpu")[j % 2], float(rng.integers(1, 5)),
               float(rng.uniform(5, 100))) for j in range(k))) for i in range(n))
    edges = tuple(Edge(f"n{i}", f"n{j}", float(rng.choice([0.0, 1.5])))
                  for i in range(n) for j in range(i + 1, min(n, i + 4)) if rng.random() < 0.6)
    fl = []
    for f in range(flows):
        members = tuple(f"n{i}" for i in range(n) if rng.random() < 0.5) or ("n0",)
        fl.append(Flow(f"f{f}", float(rng.uniform(10, 200)), 1.0, members))
    covered = {v for f in fl for v in f.nodes}
    if len(covered) < n:
        fl.append(Flow("rest", 5.0, 1.0, tuple(v.name for v in nodes if v.name not in covered)))
    inst = Instance(f"dag{seed}", nodes, edges, tuple(fl), prices={"gpu": 3.0},
                    queueing="none")
    p = Problem.from_instance(inst)
    fast = p.flow_latencies(p.fastest_choice())
    slow = p.flow_latencies({v: len(t) - 1 for v, t in p.tables.items()})
    return inst.with_slas({f: fast[f] + 0.1 * (slow[f] - fast[f]) for f in fast})


@pytest.mark.parametrize("seed", range(4))
def test_milp_equals_brute_force_on_seeded_dags(seed: int) -> None:
    assert_matches_brute_force(_random_dag(seed, n=6, k=5, flows=3))


def test_generator_instances_match_brute_force() -> None:
    """Random instances of every shape from the synthetic generator, small enough for brute
    force (2–5 nodes, 2–5 rows each; measured and Amdahl profiles, caps, edge latencies)."""
    gen = pytest.importorskip("fa2opt.generate")
    statuses = set()
    for shape in gen.SHAPES:
        for seed in range(4):
            g = gen.random_instance(shape, np.random.default_rng([seed, 3]), name=f"t-{shape}",
                                    sizes=gen.Sizes(nodes=(2, 5), configs=(2, 5)))
            assert_matches_brute_force(g.instance)
            statuses.add(g.feasible)
    assert statuses == {True, False}  # both outcomes exercised


# -- time limit -----------------------------------------------------------------------------------
def test_time_limit_on_a_large_instance_is_reported_as_such() -> None:
    inst = _random_dag(1, n=300, k=60, flows=8)  # 18,000 binaries: ~1 s for HiGHS here
    problem = Problem.from_instance(inst)
    assert problem.is_feasible()
    ans = solve(problem, "milp", time_limit=0.02)
    assert ans.status == "time_limit", (ans.status, ans.message)
    if ans.lower_bound is None:  # only when HiGHS has none, and then the answer says so
        assert "no lower bound" in ans.message
    if ans.has_decision:  # the incumbent, verified by fa2opt.solve and by the rule
        assert verify(inst, ans).ok
        assert ans.lower_bound is None or ans.lower_bound <= ans.cost + 1e-9
    else:
        assert ans.cost is None and not ans.nodes
    assert ans.extra["termination"] == "maxTimeLimit"


# -- the answer -----------------------------------------------------------------------------------
def test_answer_timing_breakdown_and_extras() -> None:
    ans = solve(chain([[(1, "cpu", 1, 10.0), (4, "cpu", 1, 25.0)]] * 3, sla=200.0), "milp")
    assert ans.status == "optimal"
    for key in ("build_ms", "highs_ms", "highs_run_ms", "readback_ms"):
        assert ans.extra[key] >= 0
    assert ans.extra["build_ms"] + ans.extra["highs_ms"] <= ans.solve_ms
    assert ans.extra["highs_run_ms"] <= ans.extra["highs_ms"]
    assert ans.extra["milp_formulation"] == "extended" and ans.formulation == ()
    doc = json.loads(ans.dumps())
    assert doc["method"] == "milp" and "build_ms" in doc and "highs_ms" in doc


def test_short_circuit_answers_infeasible_without_a_model() -> None:
    inst = chain([[(1, "cpu", 1, 100.0)], [(1, "cpu", 1, 100.0)]], sla=150.0)
    ans = solve(inst, "milp")
    assert ans.status == "infeasible" and ans.extra.get("short_circuit") is True
    ans2 = solve(inst, "milp", short_circuit=False)
    assert ans2.status == "infeasible" and "short_circuit" not in ans2.extra


def test_read_back_rejects_fractional_and_missing_values() -> None:
    problem = Problem.from_instance(chain([[(1, "cpu", 1, 10.0), (2, "cpu", 1, 15.0)]]))
    m = base.build(problem)
    with pytest.raises(ValueError, match="no value"):
        base.read_back(problem, m)
    m.x["n0", 0].set_value(0.5, skip_validation=True)
    m.x["n0", 1].set_value(0.5, skip_validation=True)
    with pytest.raises(ValueError, match="not integral"):
        base.read_back(problem, m)
    m.x["n0", 0].set_value(1.0)
    m.x["n0", 1].set_value(1.0)
    with pytest.raises(ValueError, match="not one"):
        base.read_back(problem, m)
    m.x["n0", 1].set_value(1e-7, skip_validation=True)
    assert base.read_back(problem, m) == {"n0": 0}


def test_model_is_per_flow_and_path_free() -> None:
    """Finish times only on each flow's nodes; one row per source and per in-flow edge."""
    inst = Instance(
        "two", tuple(Node(v, (Config(1, "cpu", 1, 10.0), Config(2, "cpu", 1, 12.0)))
                     for v in "abcd"),
        (Edge("a", "b"), Edge("b", "c"), Edge("a", "d"), Edge("d", "c")),
        (Flow("f", 5.0, 31.0, ("a", "b", "c")), Flow("g", 5.0, 23.0, ("a", "d"))),
        queueing="none")
    m = base.build(Problem.from_instance(inst))
    assert sorted(m.t.keys()) == [("f", "a"), ("f", "b"), ("f", "c"), ("g", "a"), ("g", "d")]
    assert len(m.finish_edge) == 3 and len(m.finish_source) == 2 and len(m.x) == 8
    # the bound is the spec's fl(S + 1e-6), widened by less than the tolerance itself (HiGHS's
    # 1e-9 per row of the path, on rows divided by 32: 7 · 3.2e-8 ms)
    assert 31.0 + base.SLA_TOL_MS <= m.sla_rhs["f"] <= 31.0 + 1.5 * base.SLA_TOL_MS
    # finish times are in units of a power of two (32 ms here), so the row values are ≤ ~1
    assert m.t["f", "c"].ub == m.sla_rhs["f"] / 32.0


def test_threads_are_fixed_once_per_process() -> None:
    first = process_threads(None)
    assert process_threads(first) == first
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert process_threads(first + 1) == first
    assert any("threads" in str(w.message) for w in caught)


@pytest.mark.parametrize("options, field", [({"time_limit": 0}, "time_limit"),
                                            ({"time_limit": float("nan")}, "time_limit"),
                                            ({"threads": 0}, "threads"),
                                            ({"formulation": "nope"}, "formulation")])
def test_bad_options_are_refused(options, field) -> None:
    # every method's options are checked alike (fa2opt.solver.OPTIONS): a ValueError naming
    # the option, which the CLI prints as one line with exit code 2
    with pytest.raises(ValueError, match=field):
        solve(chain([[(1, "cpu", 1, 10.0)]]), "milp", **options)


# -- registry -------------------------------------------------------------------------------------
def test_registry_lists_and_resolves_formulations() -> None:
    assert {"base", "capacity", "accuracy"} <= set(formulations.names())
    assert formulations.get("base").name == "base"
    with pytest.raises(KeyError, match="known"):
        formulations.get("nope")
    with pytest.raises(KeyError):
        formulations.get("solve")  # a module of the package, not a formulation


def test_registering_a_new_formulation_plugs_into_the_solver() -> None:
    """A researcher's formulation: base plus 'node n0 must not use batch > 1'."""
    import pyomo.environ as pyo

    def build(problem: Problem) -> pyo.ConcreteModel:
        m = base.build(problem)
        rows = problem.tables["n0"].rows.tolist()
        big = [k for k, r in enumerate(rows) if problem.instance.node("n0").configs[r].batch > 1]
        m.no_batching = pyo.Constraint(expr=sum(m.x["n0", k] for k in big) == 0)
        return m

    formulations.register(formulations.Formulation(
        name="test-no-batching", build=build, read_back=base.read_back, summary="test",
        extra_constraints=True))
    inst = chain([[(1, "cpu", 4, 10.0), (8, "cpu", 1, 40.0)]], sla=100.0, rate=100.0,
                 queueing="none")
    plain = solve(inst, "milp")
    restricted = solve(inst, "milp", formulation="test-no-batching")
    assert plain.nodes["n0"].batch == 8 and restricted.nodes["n0"].batch == 1
    assert restricted.cost > plain.cost and "test-no-batching" in formulations.names()


# -- CLI ------------------------------------------------------------------------------------------
def test_cli_solve_milp(tmp_path, capsys) -> None:
    path = tmp_path / "c.json"
    dump_instance(chain([[(1, "cpu", 1, 10.0), (4, "cpu", 1, 25.0)]] * 2, sla=100.0), path)
    assert cli_main(["solve", str(path), "--method", "milp", "--time-limit", "30",
                     "--formulation", "base", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    brute = solve(Problem.from_instance(chain([[(1, "cpu", 1, 10.0), (4, "cpu", 1, 25.0)]] * 2,
                                              sla=100.0)), "brute-force")
    assert doc["status"] == "optimal" and math.isclose(doc["cost"], brute.cost)
    assert cli_main(["solve", str(path), "--method", "milp", "--formulation", "nope"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "formulation" in err[0]
