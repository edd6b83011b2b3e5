"""Decision tables: every row verified at its rate and bracketing the exact optimum; the
lookup holds at exactly the asked rate; CLI output, axis semantics and errors."""

from __future__ import annotations


import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import fa2opt
from fa2opt.cli import main
from fa2opt.decision_table import DecisionTable, parse_range
from fa2opt.io import InputError
from fa2opt.problem import Problem
from fa2opt.verify import matches, verify


try:
    from strategies import instances
except ImportError:  # pragma: no cover
    from tests.strategies import instances

from devices import DEVICES, GPU, SPEC  # noqa: E402  (tests/devices.py)
EXAMPLES = SPEC


def _row_answer(table: DecisionTable, i: int) -> fa2opt.Answer:
    """Row i as an answer at its own rate (and SLA), built from the shared tables."""
    sla = None if table.sla_ms is None else float(table.sla_ms[i])
    inst = table.instance_at(float(table.rate_rps[i]), sla)
    problem = Problem.from_instance(inst)
    choice = table._positions(problem, i)
    assert choice is not None, f"row {i}: configuration not available at its own rate"
    return fa2opt.answer.decision_answer(problem, choice, status=str(table.status[i]),
                                         method="fa2-grid", lower_bound=float(table.lower_bound[i]))


@pytest.mark.parametrize("device", DEVICES)
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(inst=instances(max_nodes=4, max_configs=3),
       rates=st.lists(st.floats(1.0, 400.0), min_size=1, max_size=5, unique=True),
       grid_ms=st.sampled_from([0.5, 2.0]))
def test_every_row_against_the_exact_optimum(device, inst, rates, grid_ms):
    table = DecisionTable.build(inst, rates, grid_ms=grid_ms, device=device)
    for i, r in enumerate(table.rate_rps):
        at = table.instance_at(float(r))
        ref = fa2opt.solve(at, "brute-force")
        if ref.status == "infeasible":
            assert table.status[i] == "infeasible"
            continue
        assert table.status[i] in ("optimal", "feasible")
        ans = _row_answer(table, i)
        assert verify(at, ans).ok, verify(at, ans).summary()
        assert ans.cost == pytest.approx(table.cost[i], rel=1e-12)
        assert table.lower_bound[i] <= ref.cost * (1 + 1e-9) + 1e-9
        if table.status[i] == "optimal":
            assert matches(ans, ref)
        one = fa2opt.solve(at, "fa2-grid", grid_ms=grid_ms)  # batched = single instance
        assert one.status == table.status[i] and one.cost == pytest.approx(table.cost[i], rel=1e-12)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(inst=instances(max_nodes=4, max_configs=3, queueing="batch-fill"),
       probes=st.lists(st.floats(5.0, 300.0), min_size=1, max_size=6))
def test_lookup_holds_at_exactly_the_rate(inst, probes):
    table = DecisionTable.build(inst, np.arange(5.0, 305.0, 25.0), grid_ms=1.0)
    for r in probes:
        ans = table.decide(r)
        at = table.instance_at(r)
        assert ans.status != "error", ans.message
        if ans.status == "infeasible":
            assert not Problem.from_instance(at).is_feasible()
        else:
            assert verify(at, ans).ok  # replicas and queueing recomputed at r
    st_ = table.stats
    assert st_["lookups"] == len(probes) == st_["hits"] + st_["solves"] + st_["infeasible"]


def test_sla_axis_and_several_flows():
    inst = fa2opt.load_instance(f"{EXAMPLES}/shared-detector.json")
    table = DecisionTable.build(inst, [20.0, 65.0, 130.0], sla_ms=[900.0, 600.0], grid_ms=5.0)
    assert table.scaled and len(table.rate_rps) == 6
    frame = table.to_frame()
    assert list(frame.columns[:6]) == ["rate_rps", "scale", "sla_ms", "status", "cost", "lower_bound"]
    np.testing.assert_allclose(frame["scale"], frame["rate_rps"] / 65.0)
    for i in range(6):  # the rate axis scales both flows; the SLA applies to every flow
        at = table.instance_at(float(table.rate_rps[i]), float(table.sla_ms[i]))
        assert sum(f.rate_rps for f in at.flows) == pytest.approx(table.rate_rps[i])
        assert {f.sla_ms for f in at.flows} == {table.sla_ms[i]}
        ref = fa2opt.solve(at, "brute-force")
        assert verify(at, _row_answer(table, i)).ok
        assert table.lower_bound[i] <= ref.cost + 1e-9 <= table.cost[i] + 2e-9
    one = DecisionTable.build(inst, [10.0, 50.0], flow="plates", grid_ms=5.0)
    at = one.instance_at(50.0)
    assert at.flow("plates").rate_rps == 50.0 and at.flow("faces").rate_rps == 40.0
    assert "scale" not in one.to_frame().columns


def test_cli_writes_one_row_per_rate(tmp_path, capsys):
    out = tmp_path / "t.csv"
    rc = main(["table", f"{EXAMPLES}/chain.json", "--rates", "10:100:10", "--out", str(out),
               "--probe", "20"])
    assert rc == 0
    frame = pd.read_csv(out)
    assert list(frame["rate_rps"]) == [float(r) for r in range(10, 101, 10)]
    for n in ("detector", "classifier"):
        for col in ("batch", "hardware", "units", "replicas"):
            assert f"{n}.{col}" in frame.columns
    text = capsys.readouterr().out
    assert "rate axis" in text and "answered from the table" in text


@pytest.mark.parametrize("args, word", [
    (["--rates", "10:5:1"], "--rates"), (["--rates", "a:b"], "--rates"),
    (["--rates", "10:20:5", "--flow", "nope"], "--flow"),
    (["--rates", "10:20:5", "--grid-ms", "-1"], "--grid-ms"),
    (["--rates", "10:20:5", "--sla-ms", "0"], "--sla-ms"),
])
def test_cli_bad_options_one_line_exit_2(tmp_path, capsys, args, word):
    rc = main(["table", f"{EXAMPLES}/chain.json", *args, "--out", str(tmp_path / "t.csv")])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and len(err.splitlines()) == 1 and word in err


def test_cli_gpu_without_gpu(tmp_path, capsys):
    if GPU:
        pytest.skip("a GPU is present")
    rc = main(["table", f"{EXAMPLES}/chain.json", "--rates", "10:20:5", "--device", "gpu",
               "--out", str(tmp_path / "t.csv")])
    assert rc == 2 and "--device gpu" in capsys.readouterr().err
    assert main(["table", f"{EXAMPLES}/chain.json", "--rates", "10:20:5", "--device", "auto",
                 "--out", str(tmp_path / "t.csv")]) == 0


def test_parse_range():
    np.testing.assert_allclose(parse_range("1:2:0.5", "--rates"), [1.0, 1.5, 2.0])
    np.testing.assert_allclose(parse_range("3,1", "--rates"), [3.0, 1.0])
    with pytest.raises(InputError):
        parse_range("1:2", "--rates")


def test_cli_writes_and_reads_back_parquet(tmp_path):
    """``--out FILE.parquet`` writes the same table as CSV (pyarrow is a dependency)."""
    pytest.importorskip("pyarrow")
    pq, csv = tmp_path / "t.parquet", tmp_path / "t.csv"
    for out in (pq, csv):
        assert main(["table", f"{EXAMPLES}/shared-detector.json", "--rates", "20:140:30",
                     "--grid-ms", "5", "--out", str(out)]) == 0
    a, b = pd.read_parquet(pq), pd.read_csv(csv)
    assert list(a.columns) == list(b.columns) and len(a) == len(b) == 5
    np.testing.assert_allclose(a["rate_rps"], b["rate_rps"])
    np.testing.assert_allclose(a["cost"].astype(float), b["cost"].astype(float), equal_nan=True)
    assert list(a["status"]) == list(b["status"])
    for col in (c for c in a.columns if c.endswith(".batch") or c.endswith(".replicas")):
        assert str(a[col].dtype) == "Int64"  # nullable integers survive the round trip
        assert a[col].astype("float").fillna(-1).tolist() == b[col].fillna(-1).tolist()


def test_shared_services_table_rows_bracket_fa2(tmp_path):
    """``fa2opt table datasets/pipelines/shared_services.json --rates 50:500:50`` (a shared
    detector): every row verified at its own rate, bound ≤ fa2's optimum ≤ cost, optimal
    rows match fa2."""
    out = tmp_path / "t.csv"
    assert main(["table", "datasets/pipelines/shared_services.json", "--rates", "50:500:50",
                 "--out", str(out)]) == 0
    inst = fa2opt.load_instance("datasets/pipelines/shared_services.json")
    table = DecisionTable.build(inst, np.arange(50.0, 501.0, 50.0))
    assert len(pd.read_csv(out)) == len(table.rate_rps) == 10
    for i, r in enumerate(table.rate_rps):
        at = table.instance_at(float(r))
        ref = fa2opt.solve(at, "fa2")
        if ref.status == "infeasible":
            assert table.status[i] == "infeasible"
            continue
        ans = _row_answer(table, i)
        assert verify(at, ans).ok
        assert table.lower_bound[i] <= ref.cost * (1 + 1e-9) and ref.cost <= table.cost[i] * (1 + 1e-9)
        if table.status[i] == "optimal":
            assert matches(ans, ref)
