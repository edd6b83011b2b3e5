"""Adversarial audit (2026-12-03, ninth) of ``table``, ``evaluate``, ``compare``, ``generate``
and the experiment configs: ``table --rates 1:1e308:1e-308`` was an OverflowError traceback,
``--rates`` × ``--sla-ms`` had no bound on their product (11 × 10^6 rows ran on), an
``--out`` folder that could not be made (under a file, /proc) was a traceback after the work,
and a savings-grid config with no method besides its reference failed after its run."""

from __future__ import annotations

import pytest

from fa2opt.cli import main
from fa2opt.decision_table import MAX_RANGE_VALUES
from fa2opt.experiments.config import load_config
from fa2opt.io import InputError

from test_audit4_cli_options import _chain, _one_line
from test_experiments import _script


@pytest.mark.parametrize("flags,expected", [
    (["--rates", "1:1e308:1e-308"], "--rates: inf values"),
    (["--rates", "10", "--sla-ms", "1:1e308:1e-308"], "--sla-ms: inf values"),
])
def test_a_range_whose_count_overflows_is_refused_in_one_line(tmp_path, capsys, flags, expected):
    assert main(["table", str(_chain(tmp_path)), *flags, "--out", str(tmp_path / "t.csv")]) == 2
    assert _one_line(capsys).startswith(expected)


def test_rates_times_slas_is_bounded(tmp_path, capsys):
    slas = f"1:{MAX_RANGE_VALUES}:1"  # 10^6 SLAs, within the bound alone
    assert main(["table", str(_chain(tmp_path)), "--rates", "10,20", "--sla-ms", slas,
                 "--out", str(tmp_path / "t.csv")]) == 2
    assert _one_line(capsys) == (f"--sla-ms: 2 rates x {MAX_RANGE_VALUES} SLAs = 2e+06 rows "
                                 f"(at most {MAX_RANGE_VALUES}); use fewer values")
    assert not (tmp_path / "t.csv").exists()


def _trace(tmp_path):
    path = tmp_path / "trace.csv"
    path.write_text("second,rps\n0,10\n1,12\n")
    return path


@pytest.mark.parametrize("command", ["evaluate", "compare", "generate"])
def test_an_out_folder_that_cannot_be_made_is_one_line_before_the_work(tmp_path, capsys, command):
    (tmp_path / "file").write_text("")
    out = tmp_path / "file" / "sub"
    argv = {"evaluate": ["evaluate", str(_chain(tmp_path)), "--trace", str(_trace(tmp_path)),
                         "-m", "fa2", "--no-progress"],
            "compare": ["compare", "--suite", str(_chain(tmp_path)), "--methods", "fa2",
                        "--workers", "1", "--no-plots", "--no-progress"],
            "generate": ["generate", "--suite", "chain", "--count", "1"]}[command]
    assert main([*argv, "--out", str(out)]) == 2
    captured = capsys.readouterr()
    assert captured.err.strip().splitlines() == [f"{out}: --out: cannot be made (Not a directory)"]
    assert captured.out == ""  # (evaluate had printed its table before failing)


def test_an_out_folder_checked_is_not_left_behind(tmp_path, capsys):
    out = tmp_path / "a" / "b"
    assert main(["compare", "--quick", "--time-limit", "-1", "--out", str(out)]) == 2
    assert not (tmp_path / "a").exists()


def test_a_config_with_no_method_besides_the_reference_is_refused(tmp_path):
    path = tmp_path / "x.yaml"
    path.write_text("name: x\nkind: savings-grid\npipelines: [video_cpu]\nmethods: [fa2]\n"
                    "sla_k: [2]\nload: {cpu: [1]}\n")
    with pytest.raises(InputError, match=r"methods: must name a method besides the reference "
                                         r"'fa2' \(got fa2\)"):
        load_config(path)


def test_a_decision_past_the_simulators_replicas_is_one_line(tmp_path, capsys):
    """--headroom 1e10 made a decision of 10^9 replicas, whose heap of free times asked for
    gigabytes: a bare 'ran out of memory' (or the memory itself, on a large machine)."""
    assert main(["evaluate", str(_chain(tmp_path)), "--trace", str(_trace(tmp_path)), "-m", "fa2",
                 "--no-progress", "--headroom", "1e10"]) == 2
    line = _one_line(capsys)
    assert line.startswith("fa2opt evaluate: fa2: node 'a': the decision at ") and \
        "more than the simulator takes (1e+06 per node): lower the headroom" in line


def test_an_experiment_whose_run_refuses_a_value_is_one_line(tmp_path, capsys):
    """The same through an experiment config: a ValueError traceback from the worker."""
    path = tmp_path / "x.yaml"
    path.write_text("name: x\nkind: equal-violations\npipelines: [video_cpu]\nmethods: [fa2, "
                    "slack-split]\ntraces: [bursty]\nseconds: 20\nrho: [1]\nheadroom: [1.0e+10]\n")
    assert _script().main([str(path), "--workers", "1", "--no-progress",
                     "--out-root", str(tmp_path / "out")]) == 2
    line = _one_line(capsys)
    assert line.startswith(f"{path}: node ") and "more than the simulator takes" in line


def test_an_experiment_window_past_the_traces_is_refused(tmp_path):
    """seconds: 10^12 simulated the traces' 1,200 s while summary.md said 'first 10^12 s'."""
    path = tmp_path / "x.yaml"
    path.write_text("name: x\nkind: equal-violations\npipelines: [video_cpu]\nmethods: [fa2, "
                    "slack-split]\ntraces: [bursty]\nseconds: 1000000000000\n")
    with pytest.raises(InputError, match=r"seconds: must be at most the traces' 1200 s "
                                         r"\(got 1000000000000\)"):
        load_config(path)
    path.write_text(path.read_text().replace("1000000000000", "1200"))
    assert load_config(path)["seconds"] == 1200


@pytest.mark.parametrize("suite,expected", [
    ("generated:chain:1000000000", "generated:chain: count must be an integer in [0, 10000] "
                                   "(got 1000000000)"),
    ("generated:nope:1", "generated:nope: unknown suite 'nope' (known: "),
])
def test_compare_bounds_a_generated_suite_and_quotes_no_message(tmp_path, capsys, suite, expected):
    """generated:chain:10^9 drew instances for hours (generate --count is bounded, the
    suite spec was not); an unknown name was shown in quotes (a KeyError's str)."""
    assert main(["compare", "--suite", suite, "--methods", "fa2", "--workers", "1",
                 "--no-plots", "--no-progress", "--out", str(tmp_path / "o")]) == 2
    assert _one_line(capsys).startswith(expected)


def test_the_match_table_counts_error_answers_apart():
    """A grid step too fine for the point (an error answer) showed as a plain 0 % match."""
    import pandas as pd

    from fa2opt.experiments.match import rates

    points = pd.DataFrame({"method": ["fa2-grid"] * 2, "step": ["1e-300 ms"] * 2,
                           "opt_status": ["optimal"] * 2, "status": ["error", "optimal"],
                           "match": [False, True], "excess_pct": [float("nan"), 0.0],
                           "rule_match": [False, True]})
    row = rates(points, ["step"]).iloc[0]
    assert (row.points, row.matches, row.errors, row.match_pct) == (2, 1, 1, 50.0)


def test_probes_that_are_all_infeasible_print_no_nan(tmp_path, capsys):
    assert main(["table", str(_chain(tmp_path)), "--rates", "10:30:10", "--sla-ms", "1e-300",
                 "--probe", "4", "--out", str(tmp_path / "t.csv")]) == 0
    out = capsys.readouterr().out
    assert "lookup: 0 of 0 feasible probes answered from the table (no feasible probe), 0 direct " \
           "solves, 4 infeasible" in out and "nan" not in out


def test_a_method_that_errors_at_every_decision_says_so_in_its_row(tmp_path, capsys):
    """greedy cannot honour capacity: its row matched fa2's (which proved the instance
    infeasible) with nothing saying that every one of its decisions was an error."""
    import json

    inst = json.loads(_chain(tmp_path).read_text())
    inst["capacity"] = {"cpu": 0}
    path = tmp_path / "cap.json"
    path.write_text(json.dumps(inst))
    assert main(["evaluate", str(path), "--trace", str(_trace(tmp_path)), "-m", "fa2", "-m",
                 "greedy", "--no-progress", "--json"]) == 0
    rows = {r["method"]: r for r in map(json.loads, capsys.readouterr().out.splitlines())}
    assert (rows["fa2"]["errors"], rows["greedy"]["errors"]) == (0, rows["greedy"]["decisions"])
