"""The spec's rules in the configuration table, and the independent verifier."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given, settings

from fa2opt import Config, Edge, Flow, Instance, Node, Problem, solve, verify
from fa2opt.answer import decision_answer
from fa2opt.io import instance_from_dict, instance_to_dict
from fa2opt.tables import ProfileArrays, evaluate, node_table, node_tables
from strategies import instances


def _inst(queueing: str = "batch-fill", rho: float = 1.0, **node_kw) -> Instance:
    a = Node("a", (Config(1, "cpu", 1, 73.875), Config(4, "cpu", 2, 100.0),
                   Config(8, "gpu", 1, 40.0)), **node_kw)
    b = Node("b", (Config(1, "cpu", 1, 12.0), Config(4, "cpu", 1, 30.0)), multiplier=1.5)
    return Instance("t", (a, b), (Edge("a", "b", 2.0),), (Flow("main", 80.0, 600.0, ("a", "b")),),
                    prices={"gpu": 10.0}, queueing=queueing, max_utilization=rho)


def _row(p: Problem, node: str, batch: int) -> int:
    t = p.tables[node]
    cfgs = p.instance.node(node).configs
    return next(i for i in range(len(t)) if cfgs[t.rows[i]].batch == batch)


def test_rules_by_hand_batch_fill() -> None:
    p = Problem.from_instance(_inst())
    ta, tb = p.tables["a"], p.tables["b"]
    assert ta.rate_rps == 80.0 and tb.rate_rps == pytest.approx(120.0)  # λ_b = 1.5·80
    k = _row(p, "a", 1)  # μ = 1000/73.875 = 13.54/s → ceil(80/13.54) = 6 replicas
    assert ta.replicas[k] == 6 and ta.latency_ms[k] == 73.875 and ta.cost[k] == 6.0
    k = _row(p, "a", 4)  # μ = 40/s → 2 replicas of 2 cores; q = 3000/80 = 37.5 ms
    assert ta.replicas[k] == 2 and ta.latency_ms[k] == pytest.approx(137.5) and ta.cost[k] == 4.0
    k = _row(p, "a", 8)  # μ = 200/s → 1 GPU at price 10; q = 7000/80
    assert ta.replicas[k] == 1 and ta.latency_ms[k] == pytest.approx(127.5) and ta.cost[k] == 10.0
    k = _row(p, "b", 4)  # λ=120, μ=133.3 → 1 replica; q = 3000/120 = 25
    assert tb.replicas[k] == 1 and tb.latency_ms[k] == pytest.approx(55.0)


@pytest.mark.parametrize("model,expected", [("none", 100.0), ("worst-case", 200.0)])
def test_other_queueing_models(model: str, expected: float) -> None:
    p = Problem.from_instance(_inst(queueing=model))
    assert p.tables["a"].latency_ms[_row(p, "a", 4)] == pytest.approx(expected)


def test_utilisation_and_exact_capacity() -> None:
    prof = ProfileArrays(np.array([1]), np.array([1.0]), np.array([10.0]), np.array([1.0]))
    kw = dict(queueing_model="none")
    # λ exactly at capacity (100/s) needs one replica, not two (the 1e-9 guard)
    assert evaluate(prof, 100.0, max_utilization=1.0, **kw)["replicas"][0] == 1
    assert evaluate(prof, 100.0 * (1 + 1e-12), max_utilization=1.0, **kw)["replicas"][0] == 1
    assert evaluate(prof, 100.1, max_utilization=1.0, **kw)["replicas"][0] == 2
    assert evaluate(prof, 100.0, max_utilization=0.5, **kw)["replicas"][0] == 2
    assert evaluate(prof, 0.01, max_utilization=1.0, **kw)["replicas"][0] == 1  # at least one
    # broadcasting over a leading axis of rates
    out = evaluate(prof, np.array([[50.0], [150.0], [250.0]]), max_utilization=1.0, **kw)
    assert out["replicas"].shape == (3, 1) and list(out["replicas"][:, 0]) == [1, 2, 3]


def test_availability_max_replicas_and_max_batch() -> None:
    p = Problem.from_instance(_inst(max_replicas=2, max_batch=4))
    batches = sorted(p.instance.node("a").configs[r].batch for r in p.tables["a"].rows)
    assert batches == [4]  # batch 1 needs 6 replicas, batch 8 exceeds max_batch
    p = Problem.from_instance(_inst(max_replicas=1, max_batch=4))
    assert p.empty_nodes == ("a",) and not p.is_feasible()
    assert solve(p, "brute-force").status == "infeasible"


def test_table_sorted_fastest_first() -> None:
    t = Problem.from_instance(_inst()).tables["a"]
    assert np.all(np.diff(t.latency_ms) >= 0)


def test_packed_tables_hold_every_row_in_table_order() -> None:
    """Problem.from_instance packs its tables (the compiled kernels' layout); a problem with
    the same tables and new budgets passes the packing on, one with new tables has none."""
    from fa2opt.edge import restricted, with_margin
    p = Problem.from_instance(_inst())
    k = p.packed
    assert k is not None and k.nodes == tuple(p.tables)
    for i, (v, t) in enumerate(p.tables.items()):
        assert k.latency_ms[k.row_ptr[i]:k.row_ptr[i + 1]].tolist() == t.latency_ms.tolist()
        assert k.cost[k.row_ptr[i]:k.row_ptr[i + 1]].tolist() == t.cost.tolist()
    assert k.row_ptr[-1] == sum(len(t) for t in p.tables.values())
    assert with_margin(p, 1).packed is k
    assert restricted(p, {"a": np.array([0])}).packed is None


def test_verify_accepts_and_rejects() -> None:
    inst = _inst()
    p = Problem.from_instance(inst)
    ans = solve(p, "brute-force")
    assert ans.status == "optimal" and verify(inst, ans).ok
    d = ans.nodes["a"]
    bad = [
        ans.with_(nodes={**ans.nodes, "a": replace(d, replicas=d.replicas + 1)}),
        ans.with_(nodes={**ans.nodes, "a": replace(d, cost=d.cost * 2)}),
        ans.with_(nodes={**ans.nodes, "a": replace(d, latency_ms=d.latency_ms - 1)}),
        ans.with_(nodes={**ans.nodes, "a": replace(d, batch=3)}),
        ans.with_(cost=ans.cost + 1),
        ans.with_(flow_latency_ms={"main": 1.0}),
        ans.with_(nodes={"a": d}),
        ans.with_(lower_bound=ans.cost + 1),
    ]
    for b in bad:
        assert not verify(inst, b).ok
    # an SLA just below the chosen decision's latency is caught
    tight = inst.with_slas({"main": ans.flow_latency_ms["main"] - 1e-3})
    assert not verify(tight, ans).ok
    # the SLA tolerance of the spec (1e-6 ms) is honoured
    assert verify(inst.with_slas({"main": ans.flow_latency_ms["main"] - 5e-7}), ans).ok


def test_longest_path_with_edge_latencies_and_fork_join() -> None:
    cfg = (Config(1, "cpu", 1, 10.0),)
    nodes = tuple(Node(v, cfg) for v in "abcd")
    edges = (Edge("a", "b", 5.0), Edge("a", "c"), Edge("b", "d"), Edge("c", "d", 1.0))
    inst = Instance("fj", nodes, edges, (Flow("main", 1.0, 40.0, tuple("abcd")),),
                    queueing="none")
    p = Problem.from_instance(inst)
    choice = {v: 0 for v in "abcd"}
    assert p.flow_latencies(choice)["main"] == pytest.approx(35.0)  # a(10)+5+b(10)+d(10)
    ans = decision_answer(p, choice, status="feasible", method="x")
    assert verify(inst, ans).ok
    assert not verify(inst.with_slas({"main": 34.9}), ans).ok


def test_multi_flow_node_rate_and_edges_outside_flow() -> None:
    cfg = (Config(1, "cpu", 1, 10.0),)
    nodes = (Node("det", cfg), Node("face", cfg, multiplier=2.0), Node("ocr", cfg))
    edges = (Edge("det", "face", 100.0), Edge("det", "ocr", 1.0))
    flows = (Flow("faces", 40.0, 500.0, ("det", "face")), Flow("ocr", 25.0, 15.0, ("ocr",)))
    inst = Instance("mf", nodes, edges, flows, queueing="none")
    p = Problem.from_instance(inst)
    assert p.tables["det"].rate_rps == 40.0 and p.tables["face"].rate_rps == 80.0
    lat = p.flow_latencies({"det": 0, "face": 0, "ocr": 0})
    assert lat == {"faces": pytest.approx(120.0), "ocr": pytest.approx(10.0)}  # det→ocr not in flow


def test_instance_dict_round_trip() -> None:
    inst = _inst(max_replicas=7)
    again = instance_from_dict(instance_to_dict(inst))
    assert again.nodes == inst.nodes and again.edges == inst.edges and again.flows == inst.flows
    assert again.prices == inst.prices and again.queueing == inst.queueing


def test_infeasible_claim_is_checked() -> None:
    from fa2opt.answer import empty_answer
    from fa2opt.solver import checked
    p = Problem.from_instance(_inst())
    assert checked(p, empty_answer("infeasible", "x")).status == "error"
    tight = Problem.from_instance(_inst().with_slas({"main": 1.0}))
    assert checked(tight, empty_answer("infeasible", "x")).status == "infeasible"


def test_node_rate_is_added_left_to_right_whatever_pythons_sum_does(monkeypatch) -> None:
    """λ_v = m·Σ_{f ∋ v} λ_f is added in flow order, left to right (``spec.rate_sum``), by the
    tables and by ``verify`` alike, so Python's ``sum`` -- compensated from 3.12 -- never
    decides. Rates 0.1, 0.2, 0.3: left to right 0.6000000000000001, compensated 0.6; with a
    batch-fill delay 1000·(b − 1)/λ_v and each SLA at the last ulp the optimum meets, the two
    λ_v put the latency on either side of the edge. ``sum`` is made compensated here (as on
    3.12+) so the test means the same on every Python."""
    import builtins
    import math

    from fa2opt import spec

    rates = (0.1, 0.2, 0.3)
    assert spec.rate_sum(rates) == (0.1 + 0.2) + 0.3 != math.fsum(rates)
    node = Node("shared", (Config(4, "cpu", 1.0, 7.0), Config(1, "cpu", 2.0, 9.0)))
    flows = tuple(Flow(f"f{i}", r, 1e9, ("shared",)) for i, r in enumerate(rates))
    inst = Instance("rates", (node,), (), flows, queueing="batch-fill")
    problem = Problem.from_instance(inst)
    lat = problem.tables["shared"].latency_ms[_row(problem, "shared", 4)]
    slow = 7.0 + 1000.0 * 3 / math.fsum(rates)  # the latency a compensated λ_v gives
    assert slow > lat  # the two λ_v are on either side of an edge at lat
    sla = lat - spec.SLA_TOL_MS
    while spec.budget_ms(sla) < lat:  # the last SLA whose budget the batch-4 row meets
        sla = math.nextafter(sla, math.inf)
    inst = inst.with_slas({f.name: sla for f in flows})
    answer = solve(inst, "fa2")
    assert answer.status == "optimal" and answer.nodes["shared"].batch == 4
    monkeypatch.setattr(builtins, "sum", lambda xs, start=0: start + math.fsum(xs))
    check = verify(inst, answer)
    assert check.ok, check


@settings(max_examples=150, deadline=None)
@given(inst=instances(max_nodes=6, max_configs=5))
def test_node_tables_at_once_are_each_nodes_table(inst: Instance) -> None:
    """Every node's rows evaluated and sorted at once (``node_tables``) give what the one
    node's definition (``node_table``) gives: the same rows, order, numbers and types."""
    at_once = node_tables(inst)
    assert list(at_once) == [n.name for n in inst.nodes]
    for n in inst.nodes:
        one, both = node_table(inst, n), at_once[n.name]
        assert (one.node, one.rate_rps, one.lists) == (both.node, both.rate_rps, both.lists)
        for name in ("rows", "replicas", "queue_ms", "latency_ms", "cost"):
            x, y = getattr(one, name), getattr(both, name)
            assert x.dtype == y.dtype and np.array_equal(x, y), name


def test_node_tables_drop_or_refuse_rows_past_the_replica_range_per_node() -> None:
    """A node with an available row past MAX_ROW_REPLICAS takes the one node's rule: the
    row dropped where an in-range row dominates it (base problem), the others untouched."""
    a = Node("a", (Config(10**6, "cpu", 1, 1.0), Config(1, "cpu", 1, 1e6)), multiplier=1e6)
    b = Node("b", (Config(1, "cpu", 1, 1.0), Config(2, "cpu", 1, 1.5)))
    inst = Instance("t", (a, b), (Edge("a", "b"),), (Flow("main", 1e9, 1e9, ("a", "b")),))
    tables = node_tables(inst)
    assert tables["a"].rows.tolist() == [0] and tables["a"].replicas.tolist() == [10**6]
    assert tables["b"].lists == node_table(inst, b).lists and len(tables["b"]) == 2
