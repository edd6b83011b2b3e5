"""Trace-driven simulator (issue 8): the batching queue against the model, overload,
fan-out, joins, reconfiguration, billing, predictors, loop, determinism, bad input."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

from fa2opt import Config, Edge, Flow, Instance, Node, solve
from fa2opt.cli import main
from fa2opt.io import InputError
from fa2opt.simulate import (MethodDecider, Plan, Predictor, ServiceModel, TableDecider, Trace,
                             arrival_times_ms, evaluate, load_trace, make_workload,
                             node_settings, observed_rates, simulate)
from fa2opt.simulate.metrics import billing, reconfigurations
from helpers import poisson_arrivals

try:
    from strategies import instances
except ImportError:  # pragma: no cover - run from the repo root
    from tests.strategies import instances


def single(configs, rate, sla=10_000.0, queueing="batch-fill", multiplier=1.0):
    return Instance("one", (Node("a", tuple(configs), multiplier),), (),
                    (Flow("main", rate, sla, ("a",)),), queueing=queueing)


def fixed_run(inst, rates, arrivals, seed=0, service=None, answer=None):
    answer = answer or solve(inst, "brute-force")
    assert answer.has_decision
    plan = Plan.fixed(node_settings(inst, answer, rates, service))
    return answer, simulate(inst, plan, arrivals, seed=seed)


# -- the batching queue against the model ----------------------------------------------------
@pytest.mark.parametrize("b,p,rate", [(4, 100.0, 40.0), (8, 90.0, 130.0), (3, 20.0, 37.5),
                                      (1, 15.0, 250.0), (16, 400.0, 300.0)])
def test_even_arrivals_max_latency_is_model_latency(b, p, rate):
    """Evenly spaced arrivals: the first request of each batch waits for it to fill, so the
    max latency is L = p + 1000(b−1)/λ (within 1%), and no request waits longer."""
    inst = single([Config(b, "cpu", 1, p)], rate)
    arr = arrival_times_ms(Trace.constant(rate, 60), "even")
    ans, sim = fixed_run(inst, {"main": rate}, {"main": arr})
    model = p + 1000.0 * (b - 1) / rate
    assert ans.flow_latency_ms["main"] == pytest.approx(model)
    lat = sim.flows["main"].latency_ms
    assert len(lat) == int(rate * 60)
    assert lat.max() == pytest.approx(model, rel=0.01)
    assert lat.min() == pytest.approx(p, rel=1e-9)  # the last of a batch does not wait
    assert sim.nodes["a"].batch_size.max() <= b


def test_poisson_arrivals_violation_rate_is_reported(capsys):
    rate, b, p = 120.0, 4, 60.0
    inst = single([Config(b, "cpu", 1, p)], rate, sla=p + 1000.0 * (b - 1) / rate)
    arr = arrival_times_ms(Trace.constant(rate, 300), "poisson", np.random.default_rng(3))
    ans, sim = fixed_run(inst, {"main": rate}, {"main": arr})
    lat = sim.flows["main"].latency_ms
    viol = 100.0 * np.mean(lat > inst.flows[0].sla_ms + 1e-6)
    with capsys.disabled():
        print(f"\n  Poisson λ={rate}, b={b}, p={p}, n={ans.nodes['a'].replicas}: "
              f"{viol:.2f}% of {len(lat)} requests over the model latency {ans.flow_latency_ms['main']:.1f} ms")
    assert abs(len(lat) - rate * 300) < 5 * np.sqrt(rate * 300)
    assert lat.min() >= p - 1e-9  # every request is at least processed


def test_overloaded_configuration_shows_growing_queue():
    """Capacity μ·n below λ: the backlog grows like (λ − μn)·t."""
    rate, b, p = 100.0, 2, 40.0  # μ = 50 req/s per replica; the model needs 2 replicas
    inst = single([Config(b, "cpu", 1, p)], rate)
    ans = solve(inst, "brute-force")
    assert ans.nodes["a"].replicas == 2
    starved = ans.with_(nodes={"a": replace(ans.nodes["a"], replicas=1)})
    arr = arrival_times_ms(Trace.constant(rate, 60), "even")
    _, sim = fixed_run(inst, {"main": rate}, {"main": arr}, answer=starved)
    t = np.array([15_000.0, 30_000.0, 45_000.0, 59_000.0])
    q = sim.nodes["a"].queue_length(t)
    assert np.all(np.diff(q) > 0)
    np.testing.assert_allclose(q, (rate - 50.0) * t / 1000.0, rtol=0.02, atol=3)
    lat = sim.flows["main"].latency_ms
    assert lat[-100:].mean() > 10 * lat[:100].mean()
    _, healthy = fixed_run(inst, {"main": rate}, {"main": arr}, answer=ans)
    assert healthy.nodes["a"].queue_length(t).max() <= 2


def test_deterministic_for_a_seed():
    inst = single([Config(2, "cpu", 1, 30.0), Config(1, "cpu", 1, 20.0)], 80.0, multiplier=1.7)
    arr = arrival_times_ms(Trace.constant(80.0, 30), "poisson", np.random.default_rng(0))
    svc = ServiceModel("jitter", 0.3)
    runs = [fixed_run(inst, {"main": 80.0}, {"main": arr}, seed=s, service=svc)[1] for s in (5, 5, 6)]
    a, b, c = (r.flows["main"].latency_ms for r in runs)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


# -- fan-out, joins, shared nodes ----------------------------------------------------------
def test_fanout_counts_and_groups():
    """m = 2.3: E[items] = 2.3·requests; a request finishes a node when all its items have."""
    inst = Instance("fan", (Node("a", (Config(1, "cpu", 1, 5.0),)),
                            Node("b", (Config(1, "cpu", 1, 5.0),), multiplier=2.3)),
                    (Edge("a", "b"),), (Flow("main", 50.0, 1000.0, ("a", "b")),))
    arr = arrival_times_ms(Trace.constant(50.0, 200), "even")
    ans, sim = fixed_run(inst, {"main": 50.0}, {"main": arr})
    n_items = len(sim.nodes["b"].arrival_ms)
    assert abs(n_items / len(arr) - 2.3) < 0.03
    # one replica at b (λ_b = 115 < μ = 200): a request's K ∈ {2, 3} items arrive together
    # and are served one after another, and the request is done when the last one is:
    # latency = p_a + K·p_b exactly (requests are 20 ms apart, a group takes ≤ 15 ms)
    assert ans.nodes["b"].replicas == 1
    lat = sim.flows["main"].latency_ms
    assert set(np.round(lat, 9)) == {15.0, 20.0}
    assert abs(np.mean(lat == 20.0) - 0.3) < 0.03


def test_join_latency_is_longest_path_without_queueing():
    """Diamond with edge latencies, b = 1, ample replicas: each request's latency is the
    flow's longest path (Σ p + Σ d_e) exactly."""
    nodes = tuple(Node(v, (Config(1, "cpu", 1, p),)) for v, p in
                  (("s", 10.0), ("x", 30.0), ("y", 12.0), ("t", 7.0)))
    edges = (Edge("s", "x", 2.0), Edge("s", "y", 25.0), Edge("x", "t", 1.0), Edge("y", "t", 0.5))
    inst = Instance("diamond", nodes, edges, (Flow("main", 20.0, 500.0, ("s", "x", "y", "t")),))
    arr = arrival_times_ms(Trace.constant(20.0, 30), "even")
    ans, sim = fixed_run(inst, {"main": 20.0}, {"main": arr})
    np.testing.assert_allclose(sim.flows["main"].latency_ms, ans.flow_latency_ms["main"], atol=1e-6)
    assert ans.flow_latency_ms["main"] == pytest.approx(10 + 25 + 12 + 0.5 + 7)


def test_shared_node_serves_both_flows():
    shared = Node("det", (Config(1, "cpu", 1, 10.0), Config(4, "cpu", 1, 25.0)))
    inst = Instance("shared", (shared, Node("f", (Config(1, "cpu", 1, 5.0),)),
                               Node("g", (Config(1, "cpu", 1, 8.0),))),
                    (Edge("det", "f"), Edge("det", "g")),
                    (Flow("faces", 40.0, 400.0, ("det", "f")), Flow("plates", 25.0, 400.0, ("det", "g"))))
    rng = np.random.default_rng(1)
    arr = {f: arrival_times_ms(Trace.constant(r, 60), "poisson", rng) for f, r in
           (("faces", 40.0), ("plates", 25.0))}
    _, sim = fixed_run(inst, {"faces": 40.0, "plates": 25.0}, arr)
    assert len(sim.nodes["det"].arrival_ms) == len(arr["faces"]) + len(arr["plates"])
    assert len(sim.nodes["f"].arrival_ms) == len(arr["faces"])
    assert sim.flows["faces"].latency_ms.min() >= 15.0 - 1e-9
    assert sim.flows["plates"].latency_ms.min() >= 18.0 - 1e-9


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(instances(max_nodes=4, max_configs=3))
def test_simulator_invariants_on_random_instances(inst):
    """Any feasible decision: items start after arriving, batches hold ≤ b items, at most n
    batches are in service at once, each takes p; every node sees Σ K items."""
    ans = solve(inst, "brute-force")
    if not ans.has_decision:
        return
    rates = {f.name: f.rate_rps for f in inst.flows}
    arr = poisson_arrivals(inst)
    _, sim = fixed_run(inst, rates, arr)
    for v, rec in sim.nodes.items():
        d = ans.nodes[v]
        assert np.all(rec.start_ms >= rec.arrival_ms - 1e-6)
        assert np.all(rec.batch_size >= 1) and np.all(rec.batch_size <= d.batch)
        np.testing.assert_allclose(rec.batch_finish_ms - rec.batch_start_ms, d.profile_latency_ms)
        probe = np.concatenate((rec.batch_start_ms, rec.batch_start_ms + 1e-3))
        assert rec.busy_replicas(probe).max(initial=0) <= d.replicas
    for f in inst.flows:
        assert np.all(sim.flows[f.name].latency_ms >= -1e-9)


# -- reconfiguration and billing ----------------------------------------------------------
def _settings(inst, batch=1, replicas=1, units=1.0, rate=50.0, p=40.0):
    ans = solve(inst, "brute-force")
    d = replace(ans.nodes["a"], batch=batch, replicas=replicas, units=units, profile_latency_ms=p)
    return node_settings(inst, ans.with_(nodes={"a": d}), {"main": rate})


def test_scale_up_waits_for_startup_then_drains():
    inst = single([Config(1, "cpu", 1, 40.0)], 50.0)  # μ = 25/replica: 1 replica overloaded
    plan = Plan((0.0, 10_000.0), (_settings(inst, replicas=1), _settings(inst, replicas=3)),
                startup_ms=4_000.0)
    arr = arrival_times_ms(Trace.constant(50.0, 40), "even")
    sim = simulate(inst, plan, {"main": arr})
    rec = sim.nodes["a"]
    before = rec.busy_replicas(np.arange(0.0, 13_999.0, 7.0))
    after = rec.busy_replicas(np.arange(14_000.0, 20_000.0, 7.0))
    assert before.max() == 1 and after.max() == 3
    q = rec.queue_length(np.array([10_000.0, 14_000.0, 39_000.0]))
    assert q[1] > q[0] > 200 and q[2] <= 2  # grows until the new replicas serve, then drains
    assert reconfigurations(plan) == 1


def test_switch_keeps_old_replicas_until_new_serve_and_bills_overlap():
    inst = Instance("one", (Node("a", (Config(1, "cpu", 1, 40.0), Config(1, "cpu", 2, 20.0))),), (),
                    (Flow("main", 50.0, 1000.0, ("a",)),), prices={"cpu": 3.0})
    old = _settings(inst, replicas=2, units=1.0, p=40.0)
    new = _settings(inst, replicas=1, units=2.0, p=20.0)
    plan = Plan((0.0, 10_000.0), (old, new), startup_ms=2_000.0)
    sim = simulate(inst, plan, {"main": arrival_times_ms(Trace.constant(50.0, 20), "even")})
    dur = sim.nodes["a"].batch_finish_ms - sim.nodes["a"].batch_start_ms
    starts = sim.nodes["a"].batch_start_ms
    early, late = starts < 12_000.0 - 1e-6, starts >= 12_000.0
    np.testing.assert_allclose(dur[early], 40.0)
    np.testing.assert_allclose(dur[late], 20.0)
    assert early.sum() > 200 and late.sum() > 300
    unit_s, cost_s = billing(plan, 20.0)
    assert unit_s["cpu"] == pytest.approx(2 * 1 * 10 + 1 * 2 * 10 + 2 * 1 * 2)
    assert cost_s == pytest.approx(3.0 * unit_s["cpu"])
    # a warm-up bills from its end, as the latencies are measured: before the switch, into
    # the start-up overlap, past it
    for warmup, cpu in ((5.0, 2 * 5 + 2 * 10 + 2 * 2), (11.0, 2 * 9 + 2 * 1), (15.0, 2 * 5)):
        unit_s, cost_s = billing(plan, 20.0, warmup)
        assert unit_s["cpu"] == pytest.approx(cpu) and cost_s == pytest.approx(3.0 * cpu)


def test_plan_rejects_startup_longer_than_interval():
    inst = single([Config(1, "cpu", 1, 40.0)], 50.0)
    s = _settings(inst)
    with pytest.raises(ValueError, match="start-up"):
        Plan((0.0, 5_000.0), (s, s), startup_ms=6_000.0)


# -- predictors, arrivals, traces ---------------------------------------------------------
def test_predictors():
    h = np.array([10, 50, 20, 30, 40, 60, 5, 15, 25, 35, 45, 55], dtype=float)
    assert Predictor("last")(h, 4) == pytest.approx(np.mean([25, 35, 45, 55]))
    assert Predictor("max", window_s=5)(h, 10) == 55
    assert Predictor("max")(h, 10) == 60  # 60 s window covers all
    assert Predictor("quantile", window_s=12, quantile=0.5)(h, 10) == pytest.approx(np.median(h))
    assert Predictor("last", headroom=0.1)(h, 4) == pytest.approx(1.1 * 40)
    with pytest.raises(ValueError):
        Predictor("oracle")


def test_arrivals_follow_the_trace():
    tr = Trace("t", np.array([0.0, 100.0, 0.0, 300.0]))
    even = arrival_times_ms(tr, "even")
    assert len(even) == 400 and np.all((even >= 1000) & (even < 4000))
    np.testing.assert_array_equal(observed_rates(even, 4), [0, 100, 0, 300])
    counts = [len(arrival_times_ms(tr, "poisson", np.random.default_rng(s))) for s in range(40)]
    assert abs(np.mean(counts) - 400) < 4 * np.sqrt(400 / 40)
    pois = arrival_times_ms(tr, "poisson", np.random.default_rng(0))
    assert np.all(np.diff(pois) >= 0) and not np.any((pois >= 2000) & (pois < 3000))


def test_bad_trace_is_one_line_input_error(tmp_path):
    bad = tmp_path / "t.csv"
    bad.write_text("second,rps\n0,5\n2,6\n")
    with pytest.raises(InputError, match=r"t\.csv: line 3: second: expected 1"):
        load_trace(bad)
    bad.write_text("second,rate\n0,5\n")
    with pytest.raises(InputError, match="rps: missing column"):
        load_trace(bad)
    bad.write_text("second,rps\n0,-1\n")
    with pytest.raises(InputError, match="must be finite and >= 0"):
        load_trace(bad)
    # cells named as a profile's are, said empty when they are, quoted short when long
    for row, message in (("1,", r"line 3: rps: must be a number \(the cell is empty\)"),
                         (" ,5", r"line 3: second: must be a number \(the cell is empty\)"),
                         ("1,abc", r"line 3: rps: must be a number \(got 'abc'\)"),
                         ("1," + "x" * 500, r"line 3: rps: must be a number \(got 'xxx"),
                         # as a profile's and JSON's (it read "must be finite and >= 0")
                         ("1," + "9" * 500,
                          r"line 3: rps: out of range \(an integer of 500 digits\)$")):
        bad.write_text(f"second,rps\n0,5\n{row}\n")
        with pytest.raises(InputError, match=message) as exc:
            load_trace(bad)
        assert len(str(exc.value)) < 200, str(exc.value)


# -- the loop end to end ------------------------------------------------------------------
def test_loop_constant_rate_no_reconfiguration_no_violation():
    inst = single([Config(b, "cpu", u, p) for b, u, p in
                   ((1, 1, 30.0), (4, 1, 80.0), (8, 2, 90.0))], 60.0, sla=250.0)
    w = make_workload(inst, {"*": Trace.constant(60.0, 120)}, "even")
    run = evaluate(inst, w, MethodDecider(inst, "brute-force"), name="bf",
                   predictor=Predictor("last"))
    assert run.row["reconfigurations"] == 0 and run.row["violations"] == 0
    assert run.row["decisions"] == 12
    assert run.row["mean_cost"] == pytest.approx(solve(inst, "brute-force").cost)


def test_table_decider_and_kept_decisions():
    inst = single([Config(1, "cpu", 1, 30.0), Config(4, "cpu", 1, 80.0)], 60.0, sla=100.0)

    class Table:  # stands in for fa2opt.decision_table.DecisionTable (one flow)
        def __init__(self):
            self.asked = []
            self.instance = inst

        def decide(self, rate):
            self.asked.append(rate)
            return solve(inst.with_rates(rates={"main": rate}), "brute-force")

    tab = Table()
    rates = np.r_[np.full(30, 40.0), np.full(30, 80.0)]
    w = make_workload(inst, {"*": Trace("steps", rates)}, "even")
    run = evaluate(inst, w, TableDecider(tab), name="table", predictor=Predictor("last"),
                   startup_s=2.0)
    assert tab.asked[0] == pytest.approx(40.0) and max(tab.asked) == pytest.approx(80.0)
    assert run.row["reconfigurations"] >= 1 and run.row["kept"] == 0


def test_cli_evaluate(tmp_path, capsys):
    inst = {"name": "cli", "sla_ms": 300, "rate_rps": 50,
            "nodes": [{"name": "a", "configs": [{"batch": 1, "hardware": "cpu", "units": 1, "latency_ms": 30},
                                                {"batch": 4, "hardware": "cpu", "units": 1, "latency_ms": 80}]}]}
    (tmp_path / "i.json").write_text(json.dumps(inst))
    (tmp_path / "t.csv").write_text("second,rps\n" + "".join(f"{s},{40 + s % 7}\n" for s in range(60)))
    out = tmp_path / "out"
    rc = main(["evaluate", str(tmp_path / "i.json"), "--trace", str(tmp_path / "t.csv"),
               "-m", "brute-force", "--json", "--out", str(out)])
    assert rc == 0
    row = json.loads(capsys.readouterr().out.splitlines()[0])
    assert row["method"] == "brute-force" and row["requests"] > 2000
    assert {p.name for p in out.iterdir()} >= {"cli_summary.csv", "cli_cdf.png", "cli_timeline.png"}
    (tmp_path / "t.csv").write_text("second,rps\n0,x\n")
    assert main(["evaluate", str(tmp_path / "i.json"), "--trace", str(tmp_path / "t.csv"),
                 "-m", "brute-force"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "t.csv" in err


def test_real_decision_table_when_present():
    dt = pytest.importorskip("fa2opt.decision_table")
    inst = single([Config(1, "cpu", 1, 30.0), Config(4, "cpu", 1, 80.0), Config(8, "cpu", 2, 100.0)],
                  60.0, sla=300.0)
    table = dt.DecisionTable.build(inst, np.arange(10.0, 201.0, 10.0))
    rates = np.r_[np.full(30, 40.0), np.full(30, 150.0)]
    w = make_workload(inst, {"*": Trace("steps", rates)}, "even")
    run = evaluate(inst, w, TableDecider(table), name="table", predictor=Predictor("last"),
                   startup_s=2.0)
    direct = evaluate(inst, w, MethodDecider(inst, "brute-force"), name="bf",
                      predictor=Predictor("last"), startup_s=2.0)
    assert run.row["kept"] == 0 and run.row["fallback"] == 0
    # the table's decisions hold at the forecast and cost at least the optimum
    for s_t, s_b in zip(run.loop.steps, direct.loop.steps):
        assert s_t.answer.cost >= s_b.answer.cost - 1e-9


def test_range_service_times_from_profile_columns(tmp_path):
    from fa2opt.io import load_instance
    from fa2opt.simulate import profile_ranges
    (tmp_path / "p.csv").write_text("batch,hardware,units,latency_ms,latency_min_ms,latency_max_ms\n"
                                    "1,cpu,1,20,15,30\n2,cpu,1,35,30,40\n")
    doc = {"name": "r", "sla_ms": 500, "rate_rps": 20, "nodes": [{"name": "a", "profile": "p.csv"}]}
    (tmp_path / "i.json").write_text(json.dumps(doc))
    inst = load_instance(tmp_path / "i.json")
    ranges = profile_ranges(tmp_path / "i.json")
    assert ranges[("a", 1, "cpu", 1.0, None)] == (15.0, 30.0)
    arr = arrival_times_ms(Trace.constant(20.0, 60), "even")
    ans, sim = fixed_run(inst, {"main": 20.0}, {"main": arr}, service=ServiceModel("range", ranges=ranges))
    rec = sim.nodes["a"]
    lo, hi = ranges[("a", ans.nodes["a"].batch, "cpu", 1.0, None)]
    dur = rec.batch_finish_ms - rec.batch_start_ms
    assert dur.min() >= lo - 1e-9 and dur.max() <= hi + 1e-9 and dur.std() > 0
    (tmp_path / "p.csv").write_text("batch,hardware,units,latency_ms,latency_min_ms,latency_max_ms\n"
                                    "1,cpu,1,20,15,30\n2,cpu,1,35,50,40\n")
    with pytest.raises(InputError, match=r"p\.csv: line 3: latency_min_ms: need 0 < min <= max"):
        profile_ranges(tmp_path / "i.json")  # (a cell named as in a profile, not "line 3.")
    for lo, hi in (("15", "1e400"), ("1e400", "1e400"), ("15", "9" * 400)):
        # an infinite range is refused here (the simulator's engine raised IndexError on it)
        (tmp_path / "p.csv").write_text("batch,hardware,units,latency_ms,latency_min_ms,"
                                        f"latency_max_ms\n1,cpu,1,20,{lo},{hi}\n")
        with pytest.raises(InputError, match=r"line 2: latency_min_ms: need 0 < min <= max, finite"):
            profile_ranges(tmp_path / "i.json")
