"""scripts/bench_decision.py's family sections: the run guard, the match and target rules,
and one tiny run of a family section and the small section (not timed)."""

from __future__ import annotations

import csv
import importlib.util
import time
from pathlib import Path

import pytest

from fa2opt.answer import Answer
from fa2opt.solver import available_methods

ROOT = Path(__file__).resolve().parents[1]
HAVE_MILP = "milp" in available_methods()


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench_decision", ROOT / "scripts" / "bench_decision.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_guard_stops_a_run_that_ignores_its_limit(bench):
    t0 = time.perf_counter()
    ans = bench.guarded(lambda: time.sleep(5) or Answer("optimal", "x"), 0.2, "x")
    assert ans.status == "killed" and not ans.has_decision
    assert 190 <= ans.solve_ms < 2000 and time.perf_counter() - t0 < 2
    assert bench.guarded(lambda: Answer("optimal", "x", solve_ms=1.0), 0.2, "x").status == "optimal"
    time.sleep(0.3)  # the alarm was cancelled: nothing fires after a run that returned
    times, last = bench.timed_runs(lambda: time.sleep(5) or Answer("optimal", "x"), 5, 10.0, 0.1, "x")
    assert len(times) == 1 and last.status == "killed"  # no further runs after a kill


def test_target_lines_judge_medians_worst_cases_and_unproven_answers(bench, capsys):
    def row(fa2, milp, status="optimal", match=True):
        return {"fa2_median_ms": fa2, "milp_median_ms": milp, "fa2_status": status,
                "milp_status": "optimal", "match": match}

    bench.summarize_family([row(1, 4), row(2, 9)], "h", True, "hard")
    bench.summarize_family([row(1, 2), row(5, 9)], "h", True, "hard")  # median 3 > 5.5/3
    bench.summarize_family([row(1, 2), row(10, 9)], "l", True, "large")  # worst 10 > 9
    bench.summarize_family([row(1, 2), row(5, 9, "time_limit", "-")], "l", True, "large")
    lines = capsys.readouterr().out.strip().splitlines()
    assert [ln.rsplit(": ", 1)[1] for ln in lines] == ["met", "NOT met", "NOT met", "NOT met"]
    assert "unproven: fa2 1" in lines[3] and "match 1/1 proven pairs" in lines[3]


@pytest.mark.skipif(not HAVE_MILP, reason="formulations.solve not present")
def test_family_and_small_sections_run_and_write_their_csv(bench, tmp_path, monkeypatch, capsys):
    section = bench.FAMILY_SECTIONS["lattice"]
    monkeypatch.setitem(bench.FAMILY_SECTIONS, "lattice", (*section[:3], ((2, 3), (3, 3))))
    monkeypatch.setattr(bench, "SMALL_QUICK_NODES", (3,))
    assert bench.main(["--quick", "--only", "lattice", "small", "--reps", "3", "--milp-reps", "1",
                       "--case-budget", "0.05", "--time-limit", "30", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "SUMMARY lattice (2 cases)" in out and "SUMMARY small (" in out
    rows = list(csv.DictReader((tmp_path / "lattice.csv").open()))
    assert [r["size"] for r in rows] == ["2x3", "3x3"]
    assert all(r["fa2_status"] == r["milp_status"] == "optimal" and r["match"] == "True" for r in rows)
    small = list(csv.DictReader((tmp_path / "small.csv").open()))
    assert {r["nodes"] for r in small} == {"3"} and len(small) == 3  # chain, nested-sp, tree
    assert all(float(r["fa2_first_ms"]) > 0 and float(r["fa2_repeat_p50_ms"]) > 0 for r in small)
    # the first decision is the median of the three in a row, each kept
    assert all(float(r["fa2_first_ms"]) == sorted(float(r[f"fa2_first{i}_ms"]) for i in (1, 2, 3))[1]
               for r in small)
