"""Audit 18: where the output cannot be written, ``fa2opt solve`` still says so in one line
and keeps the spec's exit code (2 when any answer is ``error``), never a traceback.

Before: stdout on a full device ended in a traceback (``OSError: [Errno 28]``, exit 1);
a reader leaving after an ``error`` answer (``| head -1``) gave exit 0; a closed stdout
printed nothing and exited 0."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "FA2OPT_NUMBA": "0"}  # (the CLI's output is under test, not the kernels)


def _files(tmp_path: Path) -> tuple[Path, Path]:
    row = {"batch": 1, "hardware": "cpu", "units": 1, "latency_ms": 5.0}
    ok = tmp_path / "ok.json"
    ok.write_text(json.dumps({"sla_ms": 100, "rate_rps": 10, "nodes": [
        {"name": "a", "configs": [row]}, {"name": "b", "configs": [row]}],
        "edges": [["a", "b"]]}))
    cycle = tmp_path / "cycle.json"
    cycle.write_text(json.dumps({"sla_ms": 100, "rate_rps": 10, "nodes": [
        {"name": "a", "configs": [row]}, {"name": "b", "configs": [row]}],
        "edges": [["a", "b"], ["b", "a"]]}))
    return ok, cycle


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full (Linux)")
@pytest.mark.parametrize("json_flag", [[], ["--json"]])
def test_a_full_device_is_one_line_and_exit_2(tmp_path: Path, json_flag: list[str]) -> None:
    ok, cycle = _files(tmp_path)
    with open("/dev/full", "w") as full:
        proc = subprocess.run([sys.executable, "-m", "fa2opt", "solve", str(cycle), str(ok),
                               *json_flag], cwd=REPO, stdout=full, stderr=subprocess.PIPE,
                              text=True, timeout=120, env=ENV)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr[-2000:]
    assert "fa2opt solve: cannot write the output (" in proc.stderr
    assert "No space left on device" in proc.stderr


def test_a_reader_leaving_after_an_error_answer_keeps_exit_2(tmp_path: Path) -> None:
    ok, cycle = _files(tmp_path)
    # more answers than a pipe holds (~300 bytes each): the writer meets the closed pipe
    proc = subprocess.Popen([sys.executable, "-m", "fa2opt", "solve", str(cycle),
                             *[str(ok)] * 1500, "--json"], cwd=REPO, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=ENV)
    first = json.loads(proc.stdout.readline())
    proc.stdout.close()  # as `| head -1` does
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=300) == 2, err[-2000:]
    assert first["status"] == "error" and "Traceback" not in err


def test_a_reader_leaving_after_good_answers_exits_0_quietly(tmp_path: Path) -> None:
    ok, _ = _files(tmp_path)
    proc = subprocess.Popen([sys.executable, "-m", "fa2opt", "solve", *[str(ok)] * 1500,
                             "--json"], cwd=REPO, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=ENV)
    assert json.loads(proc.stdout.readline())["status"] == "optimal"
    proc.stdout.close()
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=300) == 0 and err == "", err[-2000:]


def test_a_closed_stdout_is_one_line_and_exit_2(tmp_path: Path) -> None:
    ok, _ = _files(tmp_path)
    proc = subprocess.run(["bash", "-c", f'"{sys.executable}" -m fa2opt solve "{ok}" >&-'],
                          cwd=REPO, capture_output=True, text=True, timeout=120, env=ENV)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr[-2000:]
    assert proc.stderr == "fa2opt solve: cannot write the output: stdout is closed\n"


def test_another_os_error_names_its_file_in_one_line(monkeypatch, capsys, tmp_path: Path) -> None:
    """An OSError that reaches the CLI from a file (not stdout) is one line naming the file,
    exit 2 -- not "cannot write the output"."""
    from fa2opt import cli

    ok, _ = _files(tmp_path)

    def failing(args):
        raise PermissionError(13, "Permission denied", "results/x.csv")

    monkeypatch.setattr(cli, "cmd_solve", failing)  # (main builds its parser afresh)
    assert cli.main(["solve", str(ok)]) == 2
    assert capsys.readouterr().err == "fa2opt solve: results/x.csv: Permission denied\n"
