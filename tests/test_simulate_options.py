"""Simulator options (issue 15 item 4): round-robin dispatch to per-replica batchers,
lognormal service times, batch sizes applied when the replicas are ready, warm starts that
do not peek, fan-out groups in a request's latency; SimOptions and the CLI flags."""

from __future__ import annotations

import json
import math
from dataclasses import replace

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

from fa2opt import Config, Flow, Instance, Node, solve
from fa2opt.cli import main
from fa2opt.simulate import (MethodDecider, Plan, Predictor, ServiceModel, SimOptions, Trace,
                             arrival_times_ms, evaluate, make_workload, node_settings, simulate)
from helpers import poisson_arrivals

try:
    from strategies import instances
except ImportError:  # pragma: no cover - run from the repo root
    from tests.strategies import instances


def single(configs, rate, sla=10_000.0, multiplier=1.0):
    return Instance("one", (Node("a", tuple(configs), multiplier),), (),
                    (Flow("main", rate, sla, ("a",)),))


def setting(inst, batch, replicas, p, rate, units=1.0, service=None):
    """Node a's setting for a hand-made decision (batch, replicas, p) at ``rate``."""
    ans = solve(inst, "brute-force")
    d = replace(ans.nodes["a"], batch=batch, replicas=replicas, units=units, profile_latency_ms=p)
    return node_settings(inst, ans.with_(nodes={"a": d}), {"main": rate}, service)


def per_replica_batches(rec):
    """{replica: sorted (start, finish) of its batches}, from the items' records."""
    out: dict[int, set] = {}
    for r, s, f in zip(rec.item_replica, rec.start_ms, rec.finish_ms):
        out.setdefault(int(r), set()).add((float(s), float(f)))
    return {r: sorted(b) for r, b in out.items()}


# -- 1. round-robin dispatch to per-replica batchers ---------------------------------------
@pytest.mark.parametrize("b,p,rate,n", [(2, 15.0, 100.0, 2), (4, 20.0, 50.0, 5), (3, 30.0, 80.0, 4)])
def test_round_robin_batches_alone_where_central_fills(b, p, rate, n):
    """Evenly spaced arrivals at λ, n replicas: a central queue fills batches of b within the
    timeout 1000(b−1)/λ, but each replica sees every n-th item, n·1000/λ apart (> timeout),
    so under round-robin every batch holds one item and every item waits the full timeout:
    latency = timeout + p (the per-replica counterpart of the model's batch-fill delay)."""
    timeout = 1000.0 * (b - 1) / rate
    assert n * 1000.0 / rate > timeout and p <= n * 1000.0 / rate  # the case's premise
    inst = single([Config(b, "cpu", 1, p)], rate)
    plan = Plan.fixed(setting(inst, b, n, p, rate))
    arr = {"main": arrival_times_ms(Trace.constant(rate, 20), "even")}
    central = simulate(inst, plan, arr)
    rr = simulate(inst, plan, arr, dispatch="round-robin")
    assert central.nodes["a"].batch_size.max() == b
    assert central.flows["main"].latency_ms.max() == pytest.approx(p + timeout, rel=0.01)
    rec = rr.nodes["a"]
    np.testing.assert_array_equal(rec.item_replica, np.arange(len(rec.arrival_ms)) % n)
    assert rec.batch_size.max() == 1
    np.testing.assert_allclose(rr.flows["main"].latency_ms, timeout + p)
    # a replica that waits for its own share to fill (n× the timeout) fills batches of b,
    # and its first item waits n times the model's batch-fill delay
    own = simulate(inst, plan, arr, dispatch="round-robin", batch_timeout="replica")
    assert np.all(own.nodes["a"].batch_size[:-n] == b)
    assert own.flows["main"].latency_ms.max() == pytest.approx(p + n * timeout, rel=1e-9)
    with pytest.raises(ValueError, match="batch_timeout"):
        simulate(inst, plan, arr, batch_timeout="replica")


def test_round_robin_follows_replicas_added_removed_and_switched():
    """Added replicas get items only once ready, removed ones none after removal, a switched
    deployment only from T + start-up; each replica serves one batch at a time, ≤ b items,
    with its deployment's service time."""
    inst = Instance("one", (Node("a", (Config(4, "cpu", 1, 40.0), Config(4, "cpu", 2, 20.0))),), (),
                    (Flow("main", 150.0, 1000.0, ("a",)),))
    s1 = setting(inst, 4, 1, 40.0, 150.0)
    s3 = setting(inst, 4, 3, 40.0, 150.0)
    s2 = setting(inst, 2, 2, 40.0, 150.0)
    sw = setting(inst, 4, 2, 20.0, 150.0, units=2.0)
    plan = Plan((0.0, 10_000.0, 20_000.0, 30_000.0), (s1, s3, s2, sw), startup_ms=4_000.0)
    arr = arrival_times_ms(Trace.constant(150.0, 40), "even")
    rec = simulate(inst, plan, {"main": arr}, dispatch="round-robin").nodes["a"]
    a, owner = rec.arrival_ms, rec.item_replica
    assert set(owner[a < 14_000.0]) == {0}
    assert set(owner[(a >= 14_000.0) & (a < 20_000.0)]) == {0, 1, 2}
    assert set(owner[(a >= 20_000.0) & (a < 34_000.0)]) == {0, 1}  # the newest left first
    assert set(owner[a >= 34_000.0]) == {3, 4}  # the new deployment's replicas
    for r, batches in per_replica_batches(rec).items():
        starts, finishes = np.array(batches).T
        assert np.all(starts[1:] >= finishes[:-1] - 1e-9), f"replica {r} overlaps"
        np.testing.assert_allclose(finishes - starts, 20.0 if r >= 3 else 40.0)
    assert np.all(rec.start_ms >= a - 1e-9)
    b_at = np.where(rec.batch_start_ms < 20_000.0, 4, 2)  # the batch size in force
    b_at[rec.batch_start_ms >= 34_000.0] = 4
    assert np.all(rec.batch_size <= b_at)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(instances(max_nodes=4, max_configs=3))
def test_round_robin_invariants_on_random_instances(inst):
    """Any feasible decision under round-robin: every item is served once, after arriving,
    by one of the n replicas, in batches of ≤ b taking p, one batch at a time per replica."""
    ans = solve(inst, "brute-force")
    if not ans.has_decision:
        return
    rates = {f.name: f.rate_rps for f in inst.flows}
    arr = poisson_arrivals(inst)
    sim = simulate(inst, Plan.fixed(node_settings(inst, ans, rates)), arr, dispatch="round-robin")
    for v, rec in sim.nodes.items():
        d = ans.nodes[v]
        assert rec.batch_size.sum() == len(rec.arrival_ms)
        assert np.all(rec.start_ms >= rec.arrival_ms - 1e-6)
        assert np.all(rec.batch_size >= 1) and np.all(rec.batch_size <= d.batch)
        assert set(np.unique(rec.item_replica)) <= set(range(d.replicas))
        np.testing.assert_allclose(rec.batch_finish_ms - rec.batch_start_ms, d.profile_latency_ms)
        for batches in per_replica_batches(rec).values():
            starts, finishes = np.array(batches).T
            assert np.all(starts[1:] >= finishes[:-1] - 1e-6)


# -- 2. service-time distributions --------------------------------------------------------
def test_lognormal_service_keeps_the_mean_and_has_the_cv():
    p, cv = 20.0, 0.3
    inst = single([Config(1, "cpu", 1, p)], 20.0)
    svc = ServiceModel("lognormal", cv=cv)
    assert svc.sigma == pytest.approx(math.sqrt(math.log(1 + cv * cv)))
    plan = Plan.fixed(setting(inst, 1, 1, p, 20.0, service=svc))
    arr = {"main": arrival_times_ms(Trace.constant(20.0, 400), "even")}  # no queueing: 50 ms apart
    runs = [simulate(inst, plan, arr, seed=s).nodes["a"] for s in (1, 1, 2)]
    dur = runs[0].batch_finish_ms - runs[0].batch_start_ms
    n = len(dur)
    assert dur.min() > 0
    assert abs(dur.mean() - p) < 4 * p * cv / math.sqrt(n)
    assert dur.std() / dur.mean() == pytest.approx(cv, rel=0.1)
    assert np.median(dur) < dur.mean()  # right-skewed
    np.testing.assert_array_equal(runs[0].batch_finish_ms, runs[1].batch_finish_ms)
    assert not np.array_equal(runs[0].batch_finish_ms, runs[2].batch_finish_ms)
    mean_plan = Plan.fixed(setting(inst, 1, 1, p, 20.0))
    mean = simulate(inst, mean_plan, arr).nodes["a"]
    np.testing.assert_allclose(mean.batch_finish_ms - mean.batch_start_ms, p)
    with pytest.raises(ValueError, match="cv"):
        ServiceModel("lognormal", cv=-0.1)


def test_partial_batches_take_the_profiled_time_of_their_size():
    """``profile``: a batch of k < b items takes the latency of the smallest profiled batch
    ≥ k on the same hardware and units (here 1 → 10 ms, 2 → 16 ms, 3–4 → 25 ms); ``padded``
    (default): always p(b) = 25 ms. Rows of other units do not count."""
    configs = [Config(1, "cpu", 1, 10.0), Config(2, "cpu", 1, 16.0), Config(4, "cpu", 1, 25.0),
               Config(3, "cpu", 2, 5.0)]
    inst = single(configs, 20.0)
    arr = {"main": arrival_times_ms(Trace.constant(20.0, 200), "poisson", np.random.default_rng(2))}
    ans = solve(inst, "brute-force")
    d = replace(ans.nodes["a"], batch=4, replicas=1, units=1.0, profile_latency_ms=25.0)
    ans = ans.with_(nodes={"a": d})
    expect = {1: 10.0, 2: 16.0, 3: 25.0, 4: 25.0}
    for partial in ("padded", "profile"):
        plan = Plan.fixed(node_settings(inst, ans, {"main": 20.0}, partial=partial))
        rec = simulate(inst, plan, arr).nodes["a"]
        dur, size = rec.batch_finish_ms - rec.batch_start_ms, rec.batch_size
        assert set(size) == {1, 2, 3, 4}  # the timeout (150 ms at 20 req/s) cuts partial batches
        want = np.array([expect[k] for k in size]) if partial == "profile" else 25.0
        np.testing.assert_allclose(dur, want)
    with pytest.raises(ValueError, match="partial"):
        node_settings(inst, ans, {"main": 20.0}, partial="linear")


# -- 3. new batch sizes when the replicas they need are ready -----------------------------
def test_when_ready_holds_the_old_batch_size_until_added_replicas_serve():
    inst = single([Config(1, "cpu", 1, 40.0), Config(4, "cpu", 1, 60.0)], 100.0)
    old, new = setting(inst, 1, 1, 40.0, 50.0), setting(inst, 4, 3, 60.0, 100.0)
    arr = {"main": arrival_times_ms(Trace.constant(100.0, 30), "even")}
    window = {}
    for mode in ("immediate", "when-ready"):
        plan = Plan((0.0, 10_000.0), (old, new), startup_ms=4_000.0, apply_batch=mode)
        assert [e[0] for e in plan.events("a")] == [10_000.0 if mode == "immediate" else 14_000.0]
        rec = simulate(inst, plan, arr).nodes["a"]
        gap = (rec.batch_start_ms >= 10_000.0) & (rec.batch_start_ms < 14_000.0)
        assert gap.sum() > 50
        window[mode] = rec.batch_size[gap], (rec.batch_finish_ms - rec.batch_start_ms)[gap]
        assert rec.busy_replicas(np.arange(10_000.0, 14_000.0, 5.0)).max() == 1
        assert rec.batch_size[rec.batch_start_ms >= 14_000.0].max() == 4
    size, dur = window["immediate"]
    assert size.max() == 4 and np.all(dur == 60.0)  # new batch on the old replica at once
    size, dur = window["when-ready"]
    assert size.max() == 1 and np.all(dur == 40.0)  # old setting until T + start-up


def test_when_ready_applies_at_once_when_no_replica_is_added():
    inst = single([Config(1, "cpu", 1, 40.0), Config(4, "cpu", 1, 60.0)], 100.0)
    a, b = setting(inst, 4, 3, 60.0, 100.0), setting(inst, 1, 3, 40.0, 60.0)
    plan = Plan((0.0, 10_000.0), (a, b), startup_ms=4_000.0, apply_batch="when-ready")
    assert [e[0] for e in plan.events("a")] == [10_000.0]
    with pytest.raises(ValueError, match="apply_batch"):
        Plan((0.0,), (a,), apply_batch="later")


# -- 4. warm start without peeking ----------------------------------------------------------
def _two_workloads(history_s=0):
    """Two traces equal except in the simulated window's first 20 s (20 vs 200 req/s)."""
    inst = single([Config(1, "cpu", 1, 30.0), Config(4, "cpu", 1, 80.0)], 60.0, sla=300.0)
    base = np.full(history_s + 60, 60.0)
    hot = base.copy()
    hot[history_s:history_s + 20] = 200.0
    base[history_s:history_s + 20] = 20.0
    return inst, [make_workload(inst, {"*": Trace("t", r)}, "even", history_s=history_s) for r in (base, hot)]


def _first_step(inst, work, warm_start):
    run = evaluate(inst, work, MethodDecider(inst, "brute-force"), name="bf", interval_s=10,
                   startup_s=2.0, predictor=Predictor("max"), options=SimOptions(warm_start=warm_start))
    return run.loop.steps[0]


def test_peek_sees_the_window_cold_and_history_do_not():
    inst, (calm, hot) = _two_workloads()
    assert _first_step(inst, calm, "peek").forecast["main"] == pytest.approx(20.0)
    assert _first_step(inst, hot, "peek").forecast["main"] == pytest.approx(200.0)
    for work in (calm, hot):
        step = _first_step(inst, work, "cold")
        assert step.forecast["main"] == 1.0  # the floor rate: nothing observed yet
        assert step.answer.nodes["a"].replicas == 1
    with pytest.raises(ValueError, match="history"):
        _first_step(inst, calm, "history")
    inst, (calm, hot) = _two_workloads(history_s=30)
    first = [_first_step(inst, w, "history") for w in (calm, hot)]
    assert first[0].forecast == first[1].forecast == {"main": pytest.approx(60.0)}
    assert first[0].answer.nodes == first[1].answer.nodes


def test_history_workload_is_the_same_draw_shifted():
    """make_workload(history_s=H): the first H s are only counted; the window's arrivals
    are those of the whole trace after H, shifted to start at 0 (same draws for a seed)."""
    inst = single([Config(1, "cpu", 1, 30.0)], 60.0)
    rates = np.r_[np.full(30, 40.0), np.full(60, 90.0)]
    whole = make_workload(inst, {"*": Trace("t", rates)}, "poisson", seed=4)
    cut = make_workload(inst, {"*": Trace("t", rates)}, "poisson", seed=4, history_s=30)
    a = whole.arrivals_ms["main"]
    np.testing.assert_allclose(cut.arrivals_ms["main"], a[a >= 30_000.0] - 30_000.0)
    np.testing.assert_array_equal(cut.history["main"], whole.observed["main"][:30])
    assert cut.horizon_s == 60 and whole.history is None
    np.testing.assert_array_equal(cut.traces["main"].rates, rates[30:])
    with pytest.raises(ValueError, match="history"):
        make_workload(inst, {"*": Trace("t", rates)}, history_s=90)


# -- 5. fan-out groups counted in a request's latency ---------------------------------------
def test_request_finishes_a_fanout_node_with_its_last_item():
    """m = 3 and b = 2: a request's 3 items straddle two batches. With ``all`` (default) the
    request's latency is its last item's finish; ``first`` takes the first item's — the
    difference is exactly what the fan-out groups add."""
    p, rate = 10.0, 20.0
    inst = single([Config(2, "cpu", 1, p)], rate, multiplier=3.0)
    plan = Plan.fixed(setting(inst, 2, 1, p, 3 * rate))
    arr = {"main": arrival_times_ms(Trace.constant(rate, 30), "even")}  # 50 ms apart
    runs = {m: simulate(inst, plan, arr, fanout=m) for m in ("all", "first")}
    rec = runs["all"].nodes["a"]
    groups = rec.finish_ms.reshape(-1, 3)  # one request's items are consecutive
    arrive = arr["main"][:, None]
    np.testing.assert_allclose(runs["all"].flows["main"].latency_ms, (groups - arrive).max(axis=1))
    np.testing.assert_allclose(runs["first"].flows["main"].latency_ms, (groups - arrive).min(axis=1))
    # here: items 1–2 go at once (p), item 3 waits for the replica, then alone (2p)
    np.testing.assert_allclose(runs["all"].flows["main"].latency_ms, 2 * p)
    np.testing.assert_allclose(runs["first"].flows["main"].latency_ms, p)
    with pytest.raises(ValueError, match="fanout"):
        simulate(inst, plan, arr, fanout="mean")


# -- options bundle, determinism, CLI --------------------------------------------------------
def test_sim_options_from_mapping_and_label():
    o = SimOptions.from_mapping({"dispatch": "round-robin", "service": "lognormal", "cv": 0.2,
                                 "apply_batch": "when-ready", "warm_start": "cold", "fanout": "first"})
    assert o.dispatch == "round-robin" and o.service.cv == 0.2 and o.service.sigma > 0
    assert o.label == ("dispatch=round-robin,service=lognormal:0.2,apply_batch=when-ready,"
                       "warm_start=cold,fanout=first")
    assert SimOptions.from_mapping({}) == SimOptions() and SimOptions().label == "default"
    assert SimOptions.from_mapping({"service": "jitter"}).service.jitter > 0
    with pytest.raises(ValueError, match="unknown simulator option 'queue'"):
        SimOptions.from_mapping({"queue": "x"})
    with pytest.raises(ValueError, match="dispatch"):
        SimOptions.from_mapping({"dispatch": "random"})
    with pytest.raises(ValueError, match="round-robin"):
        SimOptions(batch_timeout="replica")
    assert SimOptions("round-robin", batch_timeout="replica").label == \
        "dispatch=round-robin,batch_timeout=replica"
    with pytest.raises(ValueError, match="service"):
        SimOptions.from_mapping({"service": "lognormal", "cv": "high"})


def test_all_options_deterministic_for_a_seed():
    inst = single([Config(2, "cpu", 1, 30.0), Config(4, "cpu", 1, 50.0)], 80.0, sla=400.0,
                  multiplier=1.7)
    rates = np.r_[np.full(40, 50.0), np.full(40, 120.0)]
    opts = SimOptions("round-robin", ServiceModel("lognormal", cv=0.2), "when-ready", "history", "all")
    out = []
    for seed in (3, 3, 4):
        w = make_workload(inst, {"*": Trace("t", rates)}, "poisson", seed=seed, history_s=20)
        run = evaluate(inst, w, MethodDecider(inst, "brute-force"), name="bf", seed=seed,
                       startup_s=2.0, options=opts)
        out.append(run.sim.flows["main"].latency_ms)
    np.testing.assert_array_equal(out[0], out[1])
    assert not np.array_equal(out[0], out[2])


def test_cli_simulator_flags(tmp_path, capsys):
    inst = {"name": "cli", "sla_ms": 300, "rate_rps": 50,
            "nodes": [{"name": "a", "configs": [{"batch": 1, "hardware": "cpu", "units": 1, "latency_ms": 30},
                                                {"batch": 4, "hardware": "cpu", "units": 1, "latency_ms": 80}]}]}
    (tmp_path / "i.json").write_text(json.dumps(inst))
    (tmp_path / "t.csv").write_text("second,rps\n" + "".join(f"{s},{40 + s % 7}\n" for s in range(60)))
    args = ["evaluate", str(tmp_path / "i.json"), "--trace", str(tmp_path / "t.csv"), "-m", "brute-force",
            "--json", "--seconds", "40"]
    assert main(args) == 0
    plain = json.loads(capsys.readouterr().out.splitlines()[0])
    assert main(args + ["--dispatch", "round-robin", "--service", "lognormal", "--cv", "0.3",
                        "--apply-batch", "when-ready", "--warm-start", "history", "--history", "20",
                        "--fanout", "first"]) == 0
    row = json.loads(capsys.readouterr().out.splitlines()[0])
    assert row["requests"] > 1000 and row["p99_ms"] != plain["p99_ms"]
    assert main(args + ["--warm-start", "history"]) == 2  # no --history
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "history" in err
    assert main(args + ["--service", "lognormal", "--cv", "-1"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "cv" in err


def test_options_report_script(tmp_path):
    """scripts/simulator_options.py: every variant on the same workloads; the summary's
    paired change is the mean of (variant − default) over the runs in runs.csv."""
    import importlib.util
    from pathlib import Path

    import pandas as pd

    path = Path(__file__).resolve().parents[1] / "scripts" / "simulator_options.py"
    spec = importlib.util.spec_from_file_location("simulator_options", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    out = tmp_path / "so"
    assert mod.main(["--out", str(out), "--pipelines", "video_cpu", "--traces", "steady_low",
                     "--seeds", "0", "1", "--start", "20", "--history", "10", "--seconds", "30",
                     "--variants", "round-robin", "warm: cold"]) == 0
    runs = pd.read_csv(out / "runs.csv")
    summary = pd.read_csv(out / "summary.csv").set_index("variant")
    assert len(runs) == 6 and set(runs.variant) == {"default", "round-robin", "warm: cold"}
    assert runs.groupby("seed").requests.nunique().eq(1).all()  # one workload per seed
    base = runs[runs.variant == "default"].set_index("seed").violation_pct
    for name in ("round-robin", "warm: cold"):
        mine = runs[runs.variant == name].set_index("seed").violation_pct
        assert summary.loc[name, "delta_pp"] == pytest.approx((mine - base).mean())
    assert summary.loc["default", "delta_pp"] == 0
    assert "| warm: cold |" in (out / "summary.md").read_text()
