"""Adversarial audit (2026-12-03) of ``fa2opt evaluate``'s remaining flags, its ``--json``
output and ``fa2opt compare``'s ``--percentiles``, ``--method-timeout`` and resumed tables.
Each test runs the CLI on a case that was a traceback, a message naming no flag or file, or
a silent acceptance before, and asserts exit code 2 and one line naming what is wrong."""

from __future__ import annotations

import json

import pytest

from fa2opt.cli import main
from test_audit3_evaluate_input import _files, _refused


def _evaluate(tmp_path, capsys, *flags: str) -> str:
    inst, trace = _files(tmp_path)
    return _refused(capsys, ["evaluate", str(inst), "--trace", str(trace), "-m", "fa2",
                             "--no-progress", *flags])


@pytest.mark.parametrize("flag,value,expected", [
    # was 'fa2: adaptation interval must be >= 1 s', after the workload was drawn
    ("--interval", "0", "--interval must be an integer >= 1 (got 0)"),
    ("--interval", "-5", "--interval must be an integer >= 1 (got -5)"),
    # was numpy's 'expected non-negative integer'
    ("--seed", "-1", "--seed must be an integer >= 0 (got -1)"),
])
def test_an_out_of_range_loop_flag_is_refused_by_name(tmp_path, capsys, flag, value, expected):
    assert _evaluate(tmp_path, capsys, flag, value) == f"fa2opt evaluate: {expected}"


@pytest.mark.parametrize("flag,value,expected", [
    ("--jitter", "nan", "--jitter: jitter must be in [0, 1) (got nan)"),
    ("--jitter", "1", "--jitter: jitter must be in [0, 1) (got 1.0)"),
    ("--cv", "-1", "--cv: cv must be in [0, 10] (got -1.0)"),
    ("--cv", "inf", "--cv: cv must be in [0, 10] (got inf)"),
])
def test_jitter_and_cv_are_checked_whatever_the_service(tmp_path, capsys, flag, value, expected):
    """They ran silently (and were ignored) under the default --service mean."""
    assert _evaluate(tmp_path, capsys, flag, value) == f"fa2opt evaluate: {expected}"


def test_a_switch_cost_past_the_spec_range_is_refused_before_any_run(tmp_path, capsys):
    """It was refused only at the first switching decision, after the plain runs, as
    'fa2 switch=1e+308: <instance>: switch_cost: out of range' (naming the instance)."""
    assert _evaluate(tmp_path, capsys, "--switch-cost", "1e308") == \
        "fa2opt evaluate: --switch-cost must be in [0, 1e+17] (got 1e+308)"


@pytest.mark.parametrize("specs,expected", [
    # an unknown FLOW was ignored beside the right one, or reported as the instance's flow
    # having no trace
    (["main={t}", "bogus={t}"], "--trace bogus={t}: no flow 'bogus' in the instance (flows: main)"),
    (["={t}"], "--trace ={t}: no flow '' in the instance (flows: main)"),
    # a second trace for a flow silently replaced the first
    (["main={t}", "main={t}"], "--trace main={t}: flow 'main' has a trace already"),
    (["{t}", "{t}"], "--trace {t}: every flow has a trace already"),
    # CSV (every flow) beside FLOW=CSV: the CSV was ignored
    (["main={t}", "{t}"], "--trace {t}: a CSV for every flow and FLOW=CSV together "
                          "(give one or the other)"),
])
def test_a_trace_mapping_that_does_not_fit_the_flows_is_refused(tmp_path, capsys, specs, expected):
    inst, trace = _files(tmp_path)
    argv = ["evaluate", str(inst), "-m", "fa2", "--no-progress"]
    for spec in specs:
        argv += ["--trace", spec.format(t=trace)]
    assert _refused(capsys, argv) == f"fa2opt evaluate: {expected.format(t=trace)}"


def test_json_rows_are_strict_json_when_no_request_is_measured(tmp_path, capsys):
    """A run that measured no request printed ``NaN`` (not JSON) for its percentiles and
    violation rates; they are ``null`` now, as the text table's ``nan``."""
    inst, trace = _files(tmp_path, rate=1e-12, seconds=3)  # even arrivals: no request at all
    assert main(["evaluate", str(inst), "--trace", str(trace), "-m", "fa2", "--arrivals",
                 "even", "--json", "--no-progress"]) == 0

    def refuse(constant: str) -> None:
        raise AssertionError(f"{constant} in --json output")

    row = json.loads(capsys.readouterr().out.splitlines()[0], parse_constant=refuse)
    assert row["requests"] == 0 and row["p99_ms"] is None and row["violation_pct"] is None
    assert row["cost_s"] == 3.0


@pytest.mark.parametrize("value,reason", [
    ("150", "must be numbers in [0, 100], comma-separated (got '150')"),  # numpy's message
    ("nan", "must be numbers in [0, 100], comma-separated (got 'nan')"),
    (",", "must be numbers in [0, 100], comma-separated (got ',')"),  # ran the defaults
    ("50,5e1", "a percentile given twice (got '50,5e1')"),  # 'pipelines: suite: duplicate id'
    ("50,50.0000001", "a percentile given twice (got '50,50.0000001')"),
])
def test_compare_refuses_bad_percentiles(tmp_path, capsys, value, reason):
    out = tmp_path / "o"
    with pytest.raises(SystemExit) as exc:  # (argparse's exit, one line: fa2opt.cli._Parser)
        main(["compare", "--suite", "pipelines", "--methods", "fa2", "--reference", "fa2",
              "--workers", "1", "--no-plots", "--out", str(out), "--percentiles", value])
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"fa2opt compare: argument --percentiles: {reason}"]
    assert not out.exists()


@pytest.mark.parametrize("value", ["nan", "-1", "inf", "1e300"])
def test_compare_refuses_a_method_timeout_out_of_range(tmp_path, capsys, value):
    """Each ran, and every method on every instance became an 'error' row (SIGALRM's timer
    refused the value: 'OverflowError: timestamp out of range for platform time_t'), so the
    run FAILED as if the methods had crashed."""
    out = tmp_path / "o"
    line = _refused(capsys, ["compare", "--suite", "pipelines", "--methods", "fa2",
                             "--reference", "fa2", "--workers", "1", "--no-plots",
                             "--out", str(out), "--method-timeout", value])
    assert line == (f"fa2opt compare: --method-timeout must be a number of seconds in "
                    f"[0, 1e+09] (0 = none; got {float(value)!r})")
    assert not out.exists()


_HEADER = ("suite,instance,method,formulation,nodes,edges,flows,configs,log10_combinations,"
           "status,cost,objective,lower_bound,solve_ms,verified,check,message,breakdown_ms,"
           "code,settings,input\n")
_ROW = "pipelines,x@bursty-p50,fa2,base,2,1,1,20,2.0,optimal,184.0,184.0,,0.2,True,ok,,,c,s,i\n"


@pytest.mark.parametrize("text,expected", [
    # pandas' or Python's message naming no file; a folder was a traceback
    (b"\x00\xff\xfe binary\n", ": cannot read the comparison table (not UTF-8 text (byte 1); "),
    (_HEADER + _ROW + '"unterminated,\n', ": cannot read the comparison table (ParserError; "),
    (_HEADER + _ROW.strip() + ",x,y,z\n", ": cannot read the comparison table (ParserWarning; "),
    (None, ": exists and is not a file (the comparison writes it)"),
    # rows resumed (--resume-any) as computed: a row cut short, a status, flag or number no
    # run writes (the run FAILED on a 'failed check', or passed with a NaN cost)
    (_HEADER + _ROW[:40], ": row 1.status: not a status (got nothing; "),
    (_HEADER + _ROW.replace("optimal", "bogus"), ": row 1.status: not a status (got 'bogus'; "),
    (_HEADER + _ROW.replace("True", "maybe"), ": row 1.verified: not true or false (got 'maybe'; "),
    (_HEADER + _ROW.replace("184.0,184.0", "abc,184.0"), ": row 1.cost: not a finite number (got 'abc'; "),
    (_HEADER + _ROW.replace("184.0,184.0", "184.0,inf"), ": row 1.objective: not a finite number (got 'inf'; "),
    (_HEADER + _ROW.replace("184.0,184.0", ",184.0"), ": row 1.cost: missing (got nothing; "),
])
def test_compare_refuses_a_corrupted_table_to_resume(tmp_path, capsys, text, expected):
    out = tmp_path / "o"
    out.mkdir()
    table = out / "instances.csv"
    if text is None:
        table.mkdir()
    else:
        table.write_bytes(text if isinstance(text, bytes) else text.encode())
    line = _refused(capsys, ["compare", "--suite", "pipelines", "--limit", "1", "--percentiles",
                             "50", "--methods", "fa2", "--reference", "fa2", "--workers", "1",
                             "--no-plots", "--no-progress", "--out", str(out), "--resume-any"])
    assert line.startswith(f"{table}{expected}"), line


def test_an_empty_table_file_has_no_rows_as_the_runner_takes_it(tmp_path):
    """The runner writes a header into a 0-byte table (a new one); reading it was pandas'
    'No columns to parse from file', naming no file."""
    from fa2opt.compare.table import read_table

    (tmp_path / "instances.csv").write_bytes(b"")
    assert read_table(tmp_path / "instances.csv").empty


def test_an_empty_column_is_refused_by_name(tmp_path, capsys):
    """It was '<trace>: missing column', naming no column."""
    assert _evaluate(tmp_path, capsys, "--column", "") == \
        "fa2opt evaluate: --column must be a column name (got '')"


@pytest.mark.parametrize("interval", ["3", "5"])
def test_a_startup_not_shorter_than_the_interval_is_refused_by_name(tmp_path, capsys, interval):
    """It was refused by the plan, once per method after its loop had run, as 'fa2: start-up
    delay must be in [0, adaptation interval) (got 5000.0 ms)'. A single decision (an
    interval as long as the window) still runs with any start-up."""
    assert _evaluate(tmp_path, capsys, "--interval", interval) == (
        f"fa2opt evaluate: --startup must be shorter than --interval ({interval} s) when "
        "there is more than one decision (got 5.0)")
    inst, trace = _files(tmp_path)
    assert main(["evaluate", str(inst), "--trace", str(trace), "-m", "fa2", "--no-progress",
                 "--interval", "30", "--startup", "40"]) == 0


def test_a_history_warm_start_without_history_is_refused_by_name(tmp_path, capsys):
    """It was 'fa2: warm start 'history' needs a workload with history
    (make_workload(history_s=...) > 0)': the library's words, after the workload was drawn."""
    assert _evaluate(tmp_path, capsys, "--warm-start", "history") == \
        "fa2opt evaluate: --warm-start history needs --history >= 1 (got 0)"


def test_a_flow_without_a_trace_is_refused_naming_the_flag(tmp_path, capsys):
    """It was make_workload's 'no trace for flow(s) ['b']', after every file was read."""
    inst, trace = _files(tmp_path)
    doc = json.loads(inst.read_text())
    del doc["rate_rps"], doc["sla_ms"]  # (the flows replace them; kept, they get a warning line)
    doc["flows"] = [{"name": "a", "rate_rps": 10, "sla_ms": 300, "nodes": ["a"]},
                    {"name": "b", "rate_rps": 10, "sla_ms": 300, "nodes": ["a"]}]
    inst.write_text(json.dumps(doc))
    assert _refused(capsys, ["evaluate", str(inst), "--trace", f"a={trace}", "-m", "fa2"]) == (
        "fa2opt evaluate: --trace: no trace for flow 'b' (give FLOW=CSV for every flow, or "
        "one CSV for all)")
