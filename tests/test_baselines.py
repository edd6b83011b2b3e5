"""Baselines (issue 7): honest statuses, verified answers, optimal where their rule is, and
never cheaper than the exact method (fa2 when importable, otherwise brute force)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fa2opt import Config, Edge, Flow, Instance, Node, Problem, solve
from fa2opt.baselines.fixed_batch import fixed_position
from fa2opt.baselines.nexus import NexusSolver
from fa2opt.baselines.slack_split import batch1_latency, scale_factor
from fa2opt.cli import main as cli_main
from fa2opt.io import load_instance
from fa2opt.solver import available_methods
from fa2opt.verify import matches, verify

SPEC = str(Path(__file__).resolve().parent / "data" / "spec_examples")  # the spec's examples

BASELINES = ("slack-split", "greedy", "nexus", "fixed-batch")
EXACT = "fa2" if "fa2" in available_methods() else "brute-force"
EXAMPLES = sorted(Path(SPEC).glob("*.json"))
REPO = Path(__file__).resolve().parents[1]


# -- small instances ------------------------------------------------------------------------
def _instance(configs: list[list[tuple[int, str, float, float]]], edges=(), flows=None,
              queueing="batch-fill", rho=1.0, prices=None, rate=10.0, sla=100.0,
              multipliers=None) -> Instance:
    names = [f"n{i}" for i in range(len(configs))]
    nodes = tuple(Node(name=v, multiplier=(multipliers or {}).get(v, 1.0),
                       configs=tuple(Config(b, h, u, p) for b, h, u, p in rows))
                  for v, rows in zip(names, configs))
    flows = flows or (Flow("main", rate, sla, tuple(names)),)
    return Instance(name="t", nodes=nodes, edges=tuple(Edge(*e) for e in edges), flows=flows,
                    prices=prices or {"cpu": 1.0, "gpu": 8.0}, queueing=queueing,
                    max_utilization=rho)


@st.composite
def _own_instances(draw, max_nodes: int = 4, max_configs: int = 5) -> Instance:
    """Random small DAG instances: 1-2 flows, shared nodes, edge latencies, every queueing
    model and utilisation, profiles with several batches, units and hardware kinds."""
    n = draw(st.integers(1, max_nodes))
    configs = []
    for _ in range(n):
        k = draw(st.integers(1, max_configs))
        keys = draw(st.lists(st.tuples(st.sampled_from([1, 2, 4, 8]), st.sampled_from(["cpu", "gpu"]),
                                       st.sampled_from([1, 2, 4])),
                             min_size=k, max_size=k, unique=True))
        configs.append([(b, h, u, draw(st.floats(1.0, 200.0)) * (1 + 0.3 * b) / u ** 0.5)
                        for b, h, u in keys])
    edges = [(f"n{i}", f"n{j}", draw(st.sampled_from([0.0, 0.0, 2.5])))
             for i in range(n) for j in range(i + 1, n) if draw(st.booleans())]
    names = [f"n{i}" for i in range(n)]
    n_flows = draw(st.integers(1, 2)) if n > 1 else 1
    flows = []
    covered: set[str] = set()
    for f in range(n_flows):
        members = names if f == 0 and n_flows == 1 else \
            draw(st.lists(st.sampled_from(names), min_size=1, unique=True))
        if f == n_flows - 1:
            members = sorted(set(members) | (set(names) - covered))
        covered |= set(members)
        flows.append(Flow(f"f{f}", draw(st.floats(1.0, 300.0)), draw(st.floats(20.0, 1500.0)),
                          tuple(members)))
    return _instance(configs, edges, tuple(flows),
                     queueing=draw(st.sampled_from(["none", "batch-fill", "worst-case"])),
                     rho=draw(st.sampled_from([1.0, 0.7])),
                     multipliers={v: draw(st.sampled_from([1.0, 2.3, 0.5])) for v in names})


def _strategy():
    """The shared strategy of tests/strategies.py (generator shapes) when present, mixed
    with ours (multipliers, ρ = 0.7, edge latencies); ours alone otherwise."""
    try:
        from strategies import instances  # type: ignore[import-not-found]
    except ImportError:  # not (yet) present: our own
        return _own_instances()
    return st.one_of(instances(max_nodes=4, max_configs=5), _own_instances())


# -- every baseline on random instances -----------------------------------------------------
@pytest.mark.parametrize("method", BASELINES)
@pytest.mark.parametrize("reference", [EXACT], ids=lambda r: f"reference={r}")
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(inst=_strategy())
def test_baseline_honest_and_never_cheaper_than_exact(method: str, reference: str,
                                                      inst: Instance) -> None:
    problem = Problem.from_instance(inst)
    ans = solve(problem, method)
    assert ans.status in ("feasible", "no_solution", "infeasible"), ans.message
    assert (ans.status == "infeasible") == (not problem.is_feasible())
    if ans.status == "feasible":
        assert verify(inst, ans).ok
    exact = solve(problem, reference)
    assert exact.status in ("optimal", "infeasible")
    if ans.status == "feasible":
        assert exact.cost <= ans.cost * (1 + 1e-9) + 1e-9, (exact.cost, ans.cost)


@pytest.mark.parametrize("method", BASELINES)
@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_spec_examples_verify(method: str, path: Path) -> None:
    inst = load_instance(path)
    ans = solve(inst, method)
    assert ans.status in ("feasible", "no_solution"), ans.message
    if ans.status == "feasible":
        assert verify(inst, ans).ok
        assert ans.cost >= solve(inst, "brute-force").cost - 1e-9


@pytest.mark.parametrize("method", BASELINES)
def test_infeasible_only_when_proven(method: str) -> None:
    slow = _instance([[(1, "cpu", 1, 80.0), (2, "cpu", 1, 90.0)], [(1, "cpu", 1, 50.0)]],
                     edges=[("n0", "n1")], sla=100.0)
    assert solve(slow, method).status == "infeasible"
    empty = Instance(name="e", nodes=(Node("a", (Config(4, "cpu", 1, 10.0),), max_batch=2),),
                     edges=(), flows=(Flow("main", 5.0, 100.0, ("a",)),))
    assert solve(empty, method).status == "infeasible"


# -- where each rule is optimal --------------------------------------------------------------
@settings(max_examples=40, deadline=None)
@given(p=st.lists(st.floats(1.0, 100.0), min_size=1, max_size=8),
       rate=st.floats(1.0, 500.0), sla=st.floats(5.0, 2000.0),
       queueing=st.sampled_from(["none", "batch-fill", "worst-case"]))
def test_slack_split_optimal_on_one_node(p, rate, sla, queueing) -> None:
    """One node, one flow: the whole SLA is its share, so the cheapest row within it wins."""
    rows = [(b, h, u, x * b ** 0.7) for (b, h, u), x in
            zip([(1, "cpu", 1), (2, "cpu", 1), (4, "cpu", 2), (8, "gpu", 1), (1, "gpu", 1),
                 (2, "cpu", 4), (4, "cpu", 1), (8, "cpu", 1)], p)]
    inst = _instance([rows], rate=rate, sla=sla, queueing=queueing)
    assert matches(solve(inst, "slack-split"), solve(inst, "brute-force"))


@settings(max_examples=40, deadline=None)
@given(p1=st.floats(5.0, 100.0), growth=st.floats(0.2, 0.99), rate=st.floats(1.0, 500.0),
       sla=st.floats(5.0, 3000.0), units=st.sampled_from([1, 2]))
def test_greedy_optimal_on_one_node_batch_ladder(p1, growth, rate, sla, units) -> None:
    """One node whose rows differ only in batch, throughput growing with batch: cost never
    rises with batch and every larger batch is a move, so the greedy stops at the optimum."""
    rows = [(b, "cpu", units, p1 * b ** growth) for b in (1, 2, 4, 8, 16)]
    inst = _instance([rows], rate=rate, sla=sla)
    assert matches(solve(inst, "greedy"), solve(inst, "brute-force"))


@settings(max_examples=40, deadline=None)
@given(p=st.lists(st.lists(st.integers(1, 60), min_size=1, max_size=4), min_size=1, max_size=4),
       tree=st.lists(st.integers(0, 10), min_size=3, max_size=3),
       sla=st.integers(10, 400), rate=st.floats(1.0, 300.0))
def test_nexus_optimal_on_trees_under_worst_case_grid(p, tree, sla, rate) -> None:
    """Under the worst-case model with integer latencies and δ = 1 ms, Nexus's tree DP is
    exact: it equals the optimum on every out-tree."""
    configs = [[(b, "cpu", 1, float(x)) for b, x in zip((1, 2, 4, 8), rows)] for rows in p]
    edges = [(f"n{tree[i - 1] % i}", f"n{i}") for i in range(1, len(p))]
    inst = _instance(configs, edges, queueing="worst-case", rate=rate, sla=float(sla))
    problem = Problem.from_instance(inst)
    got = NexusSolver(slo_steps=sla).solve(problem)
    assert matches(got, solve(problem, "brute-force")), got.message


@settings(max_examples=30, deadline=None)
@given(p=st.lists(st.floats(1.0, 50.0), min_size=1, max_size=4), rate=st.floats(1.0, 100.0),
       sla=st.floats(50.0, 500.0))
def test_fixed_batch_optimal_when_each_node_has_one_shape(p, rate, sla) -> None:
    """Batch 1 and 1 unit on cpu or gpu per node: the rule picks the cheaper kind, which is
    the optimum whenever it meets the SLA."""
    configs = [[(1, "cpu", 1, x), (1, "gpu", 1, x / 3)] for x in p]
    edges = [(f"n{i}", f"n{i + 1}") for i in range(len(p) - 1)]
    inst = _instance(configs, edges, rate=rate, sla=sla)
    got, best = solve(inst, "fixed-batch"), solve(inst, "brute-force")
    if got.status == "feasible":
        assert matches(got, best)
    else:
        assert got.status == ("infeasible" if best.status == "infeasible" else "no_solution")


# -- rule details ---------------------------------------------------------------------------
def test_slack_split_shares_and_shared_node_takes_tightest() -> None:
    rows = [(1, "cpu", 1, 10.0), (2, "cpu", 1, 12.0), (4, "cpu", 1, 16.0)]
    inst = _instance([rows, [(1, "cpu", 1, 30.0)], [(1, "cpu", 1, 30.0)]],
                     edges=[("n0", "n1"), ("n0", "n2")],
                     flows=(Flow("tight", 100.0, 40.0, ("n0", "n1")),
                            Flow("loose", 100.0, 400.0, ("n0", "n2"))))
    problem = Problem.from_instance(inst)
    w = {v: batch1_latency(problem, v) for v in problem.node_names}
    assert w == {"n0": 10.0, "n1": 30.0, "n2": 30.0}
    assert scale_factor(problem.flows[0], w) == pytest.approx(1.0)
    ans = solve(inst, "slack-split")
    # n0's share is the tight flow's 10 ms: batch 1 (L=10); batch 2 would take 12 + 10 ms.
    assert ans.status == "feasible" and ans.nodes["n0"].batch == 1


def test_slack_split_edge_latency_bisection() -> None:
    inst = _instance([[(1, "cpu", 1, 10.0)], [(1, "cpu", 1, 30.0)]], edges=[("n0", "n1", 20.0)],
                     sla=100.0)
    problem = Problem.from_instance(inst)
    alpha = scale_factor(problem.flows[0], {"n0": 10.0, "n1": 30.0})
    assert alpha == pytest.approx(2.0, rel=1e-9) and 40 * alpha + 20 <= 100.0


def test_nexus_non_tree_is_no_solution() -> None:
    one = [(1, "cpu", 1, 5.0)]
    inst = _instance([one, one, one], edges=[("n0", "n2"), ("n1", "n2")], sla=100.0)
    ans = solve(inst, "nexus")
    assert ans.status == "no_solution" and "not a tree" in ans.message


def test_nexus_plan_broken_by_batch_fill_is_no_solution() -> None:
    """Worst-case planning prefers batch 8 (2p = 40 ms ≤ 50 ms, one replica instead of two),
    but at 50 rps batch-fill adds 140 ms: under the instance's model the plan breaks the SLA."""
    inst = _instance([[(1, "cpu", 1, 24.0), (8, "cpu", 1, 20.0)]], rate=50.0, sla=50.0)
    ans = solve(inst, "nexus")
    assert ans.status == "no_solution" and "breaks" in ans.message
    assert solve(inst, "brute-force").status == "optimal"


def test_greedy_never_costs_more_than_all_fastest() -> None:
    rng = np.random.default_rng(7)
    for _ in range(20):
        rows = [(int(b), "cpu", int(u), float(rng.uniform(5, 60)) * b / u ** 0.5)
                for b in (1, 2, 4) for u in (1, 2)]
        inst = _instance([rows, rows], edges=[("n0", "n1")], rate=float(rng.uniform(5, 200)),
                         sla=float(rng.uniform(50, 800)))
        problem = Problem.from_instance(inst)
        ans = solve(problem, "greedy")
        if ans.status == "feasible":
            assert ans.cost <= problem.cost(problem.fastest_choice()) + 1e-9


def test_fixed_batch_nearest_shape() -> None:
    rows = [(1, "cpu", 2, 10.0), (4, "cpu", 2, 20.0), (4, "cpu", 4, 12.0), (8, "cpu", 1, 50.0)]
    problem = Problem.from_instance(_instance([rows], sla=1e6))
    cfg = lambda k: problem.instance.node("n0").configs[int(problem.tables["n0"].rows[k])]
    assert (cfg(fixed_position(problem, "n0", 1, 1)).batch,
            cfg(fixed_position(problem, "n0", 1, 1)).units) == (1, 2)
    assert cfg(fixed_position(problem, "n0", 6, 3)).identity[:3] == (4, "cpu", 2)
    assert cfg(fixed_position(problem, "n0", 8, 1)).identity[:3] == (8, "cpu", 1)
    ans = solve(problem, "fixed-batch", batch=4, units=4)
    assert ans.nodes["n0"].batch == 4 and ans.nodes["n0"].units == 4


# -- command line ---------------------------------------------------------------------------
@pytest.mark.parametrize("method", BASELINES)
def test_cli_solve_json(method: str, capsys) -> None:
    path = REPO / "datasets" / "pipelines" / "video_cpu.json"
    if not path.exists():
        path = EXAMPLES[0]
    assert cli_main(["solve", str(path), "--method", method, "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["method"] == method and out["status"] in ("feasible", "no_solution")


def test_cli_bad_input_exit_2(tmp_path: Path, capsys) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"name": "x", "sla_ms": -1, "rate_rps": 1, "nodes": [], "edges": []}')
    assert cli_main(["solve", str(bad), "--method", "greedy"]) == 2
    err = capsys.readouterr().err.strip()
    assert "bad.json" in err and "\n" not in err
