"""Adversarial audit (2026-12-02): ``fa2opt evaluate``'s numbers and files, and numbers a
CSV writes in other digits. A trace rate of 1e9 req/s asked numpy for 7.45 GiB of arrival
times (a traceback, exit 1); 1e20 gave numpy's own message, naming no file. NaN and
out-of-range flags ran: ``--headroom nan`` (98.7 % "violations"), ``--warmup nan`` or past
the trace and ``--rate-scale 0`` (every metric NaN), ``--seconds 0`` / ``-1`` (the whole
trace, or all but its last second). Python's ``float`` reads ``١٢`` and ``１`` as numbers,
which the loaders then took; an empty path was shown as ``.``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fa2opt.cli import main
from fa2opt.simulate.arrivals import MAX_REQUESTS, Trace, arrival_times_ms, check_requests


def _files(tmp_path: Path, rate: float = 40.0, seconds: int = 30) -> tuple[Path, Path]:
    inst = {"name": "ev", "sla_ms": 300, "rate_rps": 50,
            "nodes": [{"name": "a", "configs": [
                {"batch": 1, "hardware": "cpu", "units": 1, "latency_ms": 30},
                {"batch": 4, "hardware": "cpu", "units": 1, "latency_ms": 80}]}]}
    (tmp_path / "i.json").write_text(json.dumps(inst))
    (tmp_path / "t.csv").write_text("second,rps\n" + "".join(f"{s},{rate!r}\n" for s in range(seconds)))
    return tmp_path / "i.json", tmp_path / "t.csv"


def _refused(capsys, argv: list[str]) -> str:
    assert main(argv) == 2
    captured = capsys.readouterr()
    err = captured.err.strip().splitlines()
    assert len(err) == 1 and "Traceback" not in captured.err, captured.err
    return err[0]


@pytest.mark.parametrize("rate", [1e9, 1e20, 1e300])
def test_a_trace_asking_for_too_many_requests_is_refused_naming_file_and_column(tmp_path, capsys, rate):
    inst, trace = _files(tmp_path, rate, seconds=3)
    line = _refused(capsys, ["evaluate", str(inst), "--trace", str(trace), "-m", "fa2"])
    assert line.startswith(f"{trace}: rps: ") and "more than the simulator takes" in line


def test_a_rate_scale_that_asks_for_too_many_requests_is_refused(tmp_path, capsys):
    inst, trace = _files(tmp_path)
    line = _refused(capsys, ["evaluate", str(inst), "--trace", str(trace), "-m", "fa2",
                             "--rate-scale", "1e9"])
    assert line.startswith(f"{trace}: rps: ") and "--rate-scale" in line


def test_the_request_limit_is_inclusive_and_guards_the_arrivals_too():
    check_requests(float(MAX_REQUESTS), 10)  # at the limit: taken
    for over in (MAX_REQUESTS * (1 + 1e-12), float("inf"), float("nan")):
        with pytest.raises(ValueError, match="more than the simulator takes"):
            check_requests(over, 10)
    with pytest.raises(ValueError, match="more than the simulator takes"):
        arrival_times_ms(Trace("big", [1e12, 1e12]), "even")


@pytest.mark.parametrize("flag,value,names", [
    ("--rate-scale", "nan", "--rate-scale"), ("--rate-scale", "-1", "--rate-scale"),
    ("--rate-scale", "0", "--rate-scale"), ("--rate-scale", "inf", "--rate-scale"),
    ("--seconds", "0", "--seconds"), ("--seconds", "-1", "--seconds"),
    ("--warmup", "nan", "--warmup"), ("--warmup", "-1", "--warmup"),
    ("--warmup", "30", "--warmup"), ("--warmup", "1e9", "--warmup"),
    ("--startup", "nan", "--startup"), ("--startup", "inf", "--startup"),
    ("--headroom", "nan", "headroom"), ("--headroom", "inf", "headroom"),
])
def test_an_out_of_range_flag_is_refused_by_name(tmp_path, capsys, flag, value, names):
    inst, trace = _files(tmp_path)
    line = _refused(capsys, ["evaluate", str(inst), "--trace", str(trace), "-m", "fa2",
                             flag, value])
    assert names in line and "must be" in line


def test_flags_in_range_still_run(tmp_path, capsys):
    inst, trace = _files(tmp_path)
    assert main(["evaluate", str(inst), "--trace", str(trace), "-m", "fa2", "--json",
                 "--seconds", "20", "--warmup", "19.5", "--rate-scale", "0.5",
                 "--headroom", "0.1", "--startup", "0", "--no-progress"]) == 0
    row = json.loads(capsys.readouterr().out.splitlines()[0])
    assert row["requests"] > 0


@pytest.mark.parametrize("cell", ["١", "１", "1_0"])
def test_a_profile_number_in_other_digits_is_not_a_number(tmp_path, capsys, cell):
    (tmp_path / "p.csv").write_text(f"batch,hardware,units,latency_ms\n{cell},cpu,1,12\n",
                                    encoding="utf-8")
    path = tmp_path / "inst.json"
    path.write_text(json.dumps({"sla_ms": 1000, "rate_rps": 10,
                                "nodes": [{"name": "a", "profile": "p.csv"}]}))
    line = _refused(capsys, ["solve", str(path)])
    assert line.startswith(f"{path}: ") and "batch: not a number" in line


@pytest.mark.parametrize("cell", ["٤٠", "４０", "4_0"])
def test_a_trace_rate_in_other_digits_is_not_a_number(tmp_path, capsys, cell):
    inst, trace = _files(tmp_path)
    trace.write_text(f"second,rps\n0,{cell}\n1,40\n", encoding="utf-8")
    line = _refused(capsys, ["evaluate", str(inst), "--trace", str(trace), "-m", "fa2"])
    assert line.startswith(f"{trace}: line 2: rps: must be a number (got ")


@pytest.mark.parametrize("cell, digits", [("9" * 400, 400), ("-" + "9" * 400, 400),
                                           (" " + "0" * 300 + "4" * 320, 320)])
def test_a_trace_rate_of_hundreds_of_digits_is_out_of_range_as_in_a_profile(
        tmp_path, capsys, cell, digits):
    """As a profile's cell and JSON's number say it (it read "must be finite and >= 0")."""
    inst, trace = _files(tmp_path)
    trace.write_text(f"second,rps\n0,{cell}\n1,40\n", encoding="utf-8")
    line = _refused(capsys, ["evaluate", str(inst), "--trace", str(trace), "-m", "fa2"])
    assert line == f"{trace}: line 2: rps: out of range (an integer of {digits} digits)"


def test_an_empty_path_is_named_as_given(tmp_path, capsys):
    assert _refused(capsys, ["solve", ""]) == "'': empty path (expected a file name)"
    inst, _ = _files(tmp_path)
    assert _refused(capsys, ["evaluate", str(inst), "--trace", "", "-m", "fa2"]) == \
        "'': empty path (expected a file name)"
