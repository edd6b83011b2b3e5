"""Switching in the loop (issue 14, Deliver 5): the autoscaler decides with the deployed
configuration as ``current`` and a switch cost; row changes are reported."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from fa2opt import load_instance
from fa2opt.cli import main
from fa2opt.simulate import MethodDecider, Predictor, evaluate, load_trace, make_workload
from fa2opt.simulate.autoscale import rows_of
from fa2opt.simulate.cli import switch_variants

ROOT = Path(__file__).resolve().parents[1]
PIPELINE = ROOT / "datasets" / "pipelines" / "video_gpu.json"
TRACE = ROOT / "datasets" / "traces" / "twitter_fluctuating.csv"


def _run(switch_cost):
    inst = load_instance(PIPELINE)
    work = make_workload(inst, {"*": load_trace(TRACE, "rps_raw").window(0, 300)}, "poisson", 0)
    decider = MethodDecider(inst, "fa2", switch_cost=switch_cost)
    return evaluate(inst, work, decider, name=str(switch_cost), predictor=Predictor("max", 60))


def _changes(run) -> int:
    steps = run.loop.steps
    return sum(1 for a, b in zip(steps, steps[1:])
               for v, row in rows_of(b.answer).items() if rows_of(a.answer)[v] != row)


def test_a_switch_cost_reduces_row_changes_on_a_fluctuating_trace():
    plain, free, priced = _run(None), _run(0.0), _run(50.0)
    for run in (plain, free, priced):
        assert run.row["row_changes"] == _changes(run)  # the metric, recounted
        assert run.row["row_changes"] <= run.row["reconfigurations"]
    # a zero switch cost is the base problem: the same decisions
    assert [rows_of(s.answer) for s in free.loop.steps] == [rows_of(s.answer) for s in plain.loop.steps]
    assert plain.row["row_changes"] > 0  # the trace makes the plain loop change rows
    assert priced.row["row_changes"] < plain.row["row_changes"]
    # every decision after the first was made with the deployed rows as current
    later = [s.answer for s in priced.loop.steps[1:] if s.outcome == "decided"]
    assert later and all(a.formulation == ("switch",) for a in later)
    assert priced.loop.steps[0].answer.formulation == ()


def test_switch_variants_label_each_method_with_and_without():
    assert switch_variants(["fa2"], None) == [("fa2", "fa2", None)]
    assert switch_variants(["fa2", "greedy"], 2.5) == [
        ("fa2", "fa2", None), ("fa2 switch=2.5", "fa2", 2.5),
        ("greedy", "greedy", None), ("greedy switch=2.5", "greedy", 2.5)]
    with pytest.raises(ValueError, match="--switch-cost"):
        switch_variants(["fa2"], -1.0)


def test_cli_evaluate_with_a_switch_cost(capsys, tmp_path):
    args = ["evaluate", str(PIPELINE), "--trace", str(TRACE), "--column", "rps_raw",
            "--seconds", "120", "-m", "fa2", "--no-progress"]
    assert main(args + ["--switch-cost", "20", "--json"]) == 0
    rows = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert [r["method"] for r in rows] == ["fa2", "fa2 switch=20"]
    assert all("row_changes" in r and r["requests"] > 0 for r in rows)
    assert main(args + ["--switch-cost", "-1"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--switch-cost" in err[0]


def test_evaluate_trace_script_reports_with_and_without(tmp_path):
    proc = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "evaluate_trace.py"), "--pipelines", "video_gpu",
         "--traces", "fluctuating", "--seconds", "120", "--methods", "fa2", "--switch-cost", "20",
         "--out", str(tmp_path)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    agg = pd.read_csv(tmp_path / "by_method.csv").set_index("method")
    assert set(agg.index) == {"fa2", "fa2 switch=20"} and "row_changes" in agg
    bad = subprocess.run([sys.executable, str(ROOT / "scripts" / "evaluate_trace.py"),
                          "--switch-cost", "-2"], capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and "--switch-cost" in bad.stderr
