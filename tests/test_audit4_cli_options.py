"""Adversarial audit (2026-12-03) of the commands beside ``solve``: their options' ranges.
``fa2opt compare --workers 99999999`` started a process pool of that size: a forking pool
starts every worker at once, and 5,449 Python processes had filled the machine's 24 GB
when they were stopped."""

from __future__ import annotations

import pytest

from fa2opt.cli import main
from fa2opt.compare.runner import MAX_WORKERS, SerialExecutor, make_executor
from fa2opt.experiments.config import load_config


@pytest.mark.parametrize("workers", ["0", "-3", str(MAX_WORKERS + 1), "99999999"])
def test_compare_refuses_workers_out_of_range(tmp_path, capsys, workers):
    assert main(["compare", "--quick", "--workers", workers, "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"fa2opt compare: --workers must be an integer in [1, {MAX_WORKERS}] "
                   f"(got {workers})"]
    assert not (tmp_path / "o").exists()


def test_a_pool_never_has_more_processes_than_tasks():
    executor, close = make_executor(MAX_WORKERS, None, tasks=1)
    close()
    assert isinstance(executor, SerialExecutor)  # one task: run in process
    executor, close = make_executor(MAX_WORKERS, None, tasks=2)
    try:
        assert executor._max_workers == 2  # (ProcessPoolExecutor's own count)
    finally:
        close()
    with pytest.raises(ValueError, match=r"--workers must be an integer in \[1, 256\]"):
        make_executor(MAX_WORKERS + 1)


def test_an_experiment_config_refuses_too_many_workers(tmp_path):
    path = tmp_path / "x.yaml"
    path.write_text("name: x\nkind: script\nentry: compare\nworkers: 100000\n"
                    "runs:\n  - {name: c, args: [--quick]}\n")
    with pytest.raises(Exception, match=r"workers: must be an integer in \[1, 256\]"):
        load_config(path)


def _chain(tmp_path):
    import json

    path = tmp_path / "c.json"
    path.write_text(json.dumps({"name": "c", "sla_ms": 500, "rate_rps": 20, "nodes": [
        {"name": "a", "configs": [{"batch": 1, "hardware": "cpu", "units": 1, "latency_ms": 30},
                                  {"batch": 4, "hardware": "cpu", "units": 1, "latency_ms": 80}]}]}))
    return path


def _one_line(capsys) -> str:
    captured = capsys.readouterr()
    err = captured.err.strip().splitlines()
    assert len(err) == 1 and "Traceback" not in captured.err, captured.err
    return err[0]


@pytest.mark.parametrize("flags,expected", [
    (["--probe", "-1"], "--probe: must be an integer in [0, 10000] (got -1)"),
    (["--probe", "99999999999999999999"], "--probe: must be an integer in [0, 10000]"),
    (["--probe", "3", "--seed", "-1"], "--seed: must be an integer >= 0 (got -1)"),
])
def test_table_refuses_probe_and_seed_out_of_range(tmp_path, capsys, flags, expected):
    out = tmp_path / "t.csv"
    assert main(["table", str(_chain(tmp_path)), "--rates", "10:50:20", "--out", str(out),
                 *flags]) == 2
    assert _one_line(capsys).startswith(expected)
    assert not out.exists()


@pytest.mark.parametrize("out,reason", [
    ("", "'': --out: empty path"),
    ("/proc/self/x.csv", "/proc/self/x.csv: --out: cannot"),
])
def test_table_refuses_an_output_it_cannot_write_before_the_work(tmp_path, capsys, out, reason):
    assert main(["table", str(_chain(tmp_path)), "--rates", "10:50:20", "--out", out]) == 2
    assert _one_line(capsys).startswith(reason)


def test_generate_keeps_a_readme_in_its_folder_unless_forced(tmp_path, capsys):
    (tmp_path / "README.md").write_text("MY README\n")
    argv = ["generate", "--suite", "chain", "--count", "1", "--out", str(tmp_path)]
    assert main(argv) == 2
    assert "already holds generated files (README.md" in _one_line(capsys)
    assert (tmp_path / "README.md").read_text() == "MY README\n"
    assert main([*argv, "--force"]) == 0
    assert (tmp_path / "README.md").read_text() != "MY README\n"


def test_generate_refuses_an_empty_out(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["generate", "--suite", "chain", "--count", "1", "--out", ""]) == 2
    assert _one_line(capsys) == "'': --out: empty path"
    assert not any(tmp_path.iterdir())
