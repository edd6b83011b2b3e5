"""``fa2opt evaluate``'s leftovers of the fifth audit: every refused value names its flag
(the predictor's and the history's messages named only the setting), a flag that applies to
none of the chosen methods or reads the wrong column is refused, and ``--json`` records the
seconds simulated (the shortest trace)."""

from __future__ import annotations

import json

import pytest

from fa2opt.cli import main
from test_audit3_evaluate_input import _files, _refused
from test_audit5_evaluate_flags import _evaluate


@pytest.mark.parametrize("flags,expected", [
    (["--window", "0"], "--window: predictor window must be >= 1 s (got 0)"),
    (["--quantile", "1.5"], "--quantile: quantile must be in [0, 1] (got 1.5)"),
    (["--quantile", "nan"], "--quantile: quantile must be in [0, 1] (got nan)"),
    (["--headroom", "-1"], "--headroom: headroom must be a finite number >= 0 (got -1.0)"),
    (["--history", "-3"], "--history must be an integer >= 0 (got -3)"),
    # the time column read as rates (0, 1, 2, ...) ran silently
    (["--column", "second"],
     "--column must be a rate column (rps, rps_raw), not the time column (got 'second')"),
])
def test_a_bad_value_names_its_flag(tmp_path, capsys, flags, expected):
    assert _evaluate(tmp_path, capsys, *flags) == f"fa2opt evaluate: {expected}"


def test_a_history_as_long_as_the_traces_names_the_flag(tmp_path, capsys):
    # (the trace of _files has 30 seconds)
    assert _evaluate(tmp_path, capsys, "--history", "30") == \
        "fa2opt evaluate: --history must be shorter than the traces (30 s; got 30)"


def test_a_time_limit_no_chosen_method_takes_is_refused(tmp_path, capsys):
    """As ``fa2opt solve -m nexus --time-limit`` refuses it; it was ignored silently."""
    inst, trace = _files(tmp_path)
    msg = _refused(capsys, ["evaluate", str(inst), "--trace", str(trace), "-m", "nexus",
                            "-m", "slack-split", "--time-limit", "5", "--no-progress"])
    assert msg == ("fa2opt evaluate: --time-limit: none of the methods (nexus, slack-split) "
                   "takes a time limit")


def test_json_rows_record_the_seconds_simulated(tmp_path, capsys):
    inst, trace = _files(tmp_path)
    assert main(["evaluate", str(inst), "--trace", str(trace), "-m", "greedy", "-m", "fa2",
                 "--time-limit", "5", "--seconds", "12", "--json", "--no-progress"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["method"] for r in rows] == ["greedy", "fa2"]
    assert [r["seconds"] for r in rows] == [12, 12]


@pytest.mark.parametrize("text,expected", [
    # DictReader kept the later 'rps' cell without a word
    ("second,rps,rps\n0,5,7\n", "rps: column named twice in the header"),
    # an unquoted extra cell was dropped
    ("second,rps\n0,5,9\n", "line 2: more cells than columns (2 in the header)"),
    # the file's own line (a blank line counted; it was the row's number, line 4)
    ("second,rps\n0,5\n\n1,6\n2\n", "line 5: rps: must be a number (the cell is empty)"),
    # a cell is named as a profile's is ("line 3: rps: ..."), not "line 3.rps"
    ("second,rps\n0,5\n1,-3\n", "line 3: rps: must be finite and >= 0 (got '-3')"),
    ("second,rps\n0,5\n2,6\n", "line 3: second: expected 1 (seconds must be 0, 1, 2, ... in order)"),
])
def test_a_trace_is_read_by_the_profiles_csv_rules(tmp_path, text, expected):
    """Traces and profiles share io.read_csv_rows (missing, doubled column, extra cells)."""
    from fa2opt.io import InputError
    from fa2opt.simulate import load_trace

    path = tmp_path / "t.csv"
    path.write_text(text)
    with pytest.raises(InputError) as err:
        load_trace(path)
    assert str(err.value) == f"{path}: {expected}"


def test_compare_reads_trace_windows_by_the_same_rules(tmp_path):
    """compare's windows had their own reader: a NaN or negative rate was taken (its
    percentiles NaN), seconds were not checked. Both now go through load_trace."""
    from fa2opt.compare.suites import load_trace_windows
    from fa2opt.io import InputError

    (tmp_path / "twitter_a.csv").write_text("second,rps\n0,5\n1,nan\n")
    with pytest.raises(InputError, match=r"line 3: rps: must be finite and >= 0"):
        load_trace_windows(tmp_path)
    (tmp_path / "twitter_a.csv").write_text("second,rps,rps_raw\n0,5,50\n1,6,60\n")
    (tmp_path / "twitter_b.csv").write_text("second,rps\n0,7\n")
    got = {w.name: w.rps.tolist() for w in load_trace_windows(tmp_path)}
    assert got == {"a": [50.0, 60.0], "b": [7.0]}  # rps_raw where the file has it
    assert [w.rps.tolist() for w in load_trace_windows(tmp_path, "rps")] == [[5.0, 6.0], [7.0]]
