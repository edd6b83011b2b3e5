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
