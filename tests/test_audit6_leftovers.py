"""What the second CLI audit (2026-12-03) found and its session left open: a named pipe as a
trace hung ``evaluate`` (the trace was opened with a plain, blocking ``open``), ``generate
--count`` had no bound (1e8 ran for days and wrote nothing until the end), ``compare
--methods=`` ran the defaults, ``--grid-ms 1e-308`` leaked numpy's overflow warning and
quoted a wrong latency, and ``table --out`` wrote CSV into ``x.txt`` and called a file a
missing folder."""

from __future__ import annotations

import os
import warnings

import pytest

from fa2opt.cli import main
from fa2opt.generate.suites import MAX_COUNT

from test_audit4_cli_options import _chain, _one_line


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes here")
def test_a_named_pipe_as_trace_is_refused_without_blocking(tmp_path, capsys):
    fifo = tmp_path / "t.csv"
    os.mkfifo(fifo)
    assert main(["evaluate", str(_chain(tmp_path)), "--trace", str(fifo), "-m", "fa2"]) == 2
    assert _one_line(capsys) == f"{fifo}: is not a regular file (expected a trace file)"


@pytest.mark.parametrize("count", [0, MAX_COUNT + 1, 10**8])
def test_generate_count_is_bounded(tmp_path, capsys, count):
    assert main(["generate", "--suite", "chain", "--count", str(count),
                 "--out", str(tmp_path / "s")]) == 2
    assert _one_line(capsys) == f"--count: must be an integer in [1, {MAX_COUNT}] (got {count})"
    assert not (tmp_path / "s").exists()


@pytest.mark.parametrize("flag", ["--methods", "--only", "--suite"])
def test_compare_refuses_an_empty_list(tmp_path, capsys, flag):
    assert main(["compare", "--quick", f"{flag}=,", "--out", str(tmp_path / "o")]) == 2
    assert _one_line(capsys) == f"{flag}: names nothing (an empty list)"
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("argv", [["solve", "-m", "fa2-grid"], ["table", "--rates", "10:50:20"]])
def test_a_grid_too_fine_for_floats_is_one_honest_line(tmp_path, capsys, argv):
    args = [argv[0], str(_chain(tmp_path)), *argv[1:], "--grid-ms", "1e-308"]
    if argv[0] == "table":
        args += ["--out", str(tmp_path / "t.csv")]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # numpy's overflow warning would become an exception
        assert main(args) == 2
    line = _one_line(capsys)
    assert "would need more than 4.5e+15 steps of 1e-308 ms" in line and "reach" not in line


@pytest.mark.parametrize("name,reason", [("x.txt", "must end in .csv or .parquet"),
                                         ("file/x.csv", "is not a folder")])
def test_table_out_names_a_writable_format_and_folder(tmp_path, capsys, name, reason):
    (tmp_path / "file").write_text("")
    assert main(["table", str(_chain(tmp_path)), "--rates", "10:50:20",
                 "--out", str(tmp_path / name)]) == 2
    assert reason in _one_line(capsys)
    assert not (tmp_path / "x.txt").exists()


def test_compare_refuses_a_bad_time_limit_before_making_out(tmp_path, capsys):
    """Refused, but only after the --out folder had been made (the fifth audit)."""
    assert main(["compare", "--quick", "--time-limit", "-1", "--out", str(tmp_path / "o")]) == 2
    assert _one_line(capsys) == ("fa2opt compare: --time-limit must be a finite number > 0 "
                                 "(got -1.0)")
    assert not (tmp_path / "o").exists()


def test_a_resumed_table_is_read_without_blocking_and_within_a_size_limit(tmp_path, monkeypatch):
    """instances.csv was read by pandas directly: a named pipe in its place blocked the
    run, and a file of any size was loaded whole. It is now read through io.read_text."""
    import os

    from fa2opt.compare import table
    from fa2opt.io import InputError

    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)
    with pytest.raises(InputError, match="not a regular file"):
        table.read_table(fifo)
    big = tmp_path / "big.csv"
    big.write_text("suite,instance\n" + "x,y\n" * 100)
    monkeypatch.setattr(table, "TABLE_MAX_BYTES", 64)
    with pytest.raises(InputError, match="larger than"):
        table.read_table(big)
