"""Adversarial audit: the readable output (``solve`` without ``--json``, ``info``) never ends
in a traceback, whatever the names in a valid instance. JSON allows ``\\ud800`` escapes, which
decode to lone surrogates that UTF-8 cannot encode: ``print`` raised UnicodeEncodeError on the
node table (exit 1 and a traceback) while ``--json`` (ASCII escapes) answered fine."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

DOC = {
    "name": "surrogates",
    "nodes": [{"name": "\ud800det", "configs": [
                  {"batch": 1, "hardware": "c\udfffpu", "units": 1, "latency_ms": 20.0,
                   "variant": "v\ud83d"}]},
              {"name": "cls", "configs": [{"batch": 2, "hardware": "cpu", "units": 1,
                                           "latency_ms": 10.0}]}],
    "edges": [["\ud800det", "cls", 1.0]],
    "flows": [{"name": "\udcfff", "rate_rps": 20, "sla_ms": 500, "nodes": ["\ud800det", "cls"]}],
}


@pytest.mark.parametrize("args", [["solve"], ["solve", "--json"], ["info"], ["validate"]])
def test_lone_surrogates_in_names_never_give_a_traceback(tmp_path: Path, args: list[str]) -> None:
    path = tmp_path / "inst.json"
    path.write_text(json.dumps(DOC))  # ensure_ascii: the file is plain ASCII with \u escapes
    proc = subprocess.run([sys.executable, "-m", "fa2opt", args[0], str(path), *args[1:]],
                          cwd=REPO, capture_output=True, text=True, errors="replace", timeout=120)
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr[-2000:]
    assert str(path) in proc.stdout or args == ["solve", "--json"]
    if args == ["solve", "--json"]:
        assert json.loads(proc.stdout)["status"] == "optimal"
    elif args == ["solve"]:
        assert "optimal" in proc.stdout and "det" in proc.stdout


def test_every_error_answer_names_the_file(tmp_path: Path) -> None:
    """Spec: ``error`` comes "with message naming the file, the field and the reason". A
    method's own refusal (here fa2-grid's grid bound at latencies of ~2e17 ms) named only the
    method, so among several INSTANCE paths nothing said which file it was about."""
    from test_audit_huge_latency import DOC

    good = tmp_path / "good.json"
    good.write_text(json.dumps({"sla_ms": 100, "rate_rps": 10, "nodes": [
        {"name": "a", "configs": [{"batch": 1, "hardware": "cpu", "units": 1, "latency_ms": 5}]}]}))
    huge = tmp_path / "huge.json"
    huge.write_text(json.dumps(DOC))
    proc = subprocess.run([sys.executable, "-m", "fa2opt", "solve", str(good), str(huge),
                           "-m", "fa2-grid", "--json"],
                          cwd=REPO, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr[-2000:]
    ok, err = (json.loads(line) for line in proc.stdout.splitlines())
    assert ok["status"] == "optimal" and err["status"] == "error"
    assert err["message"].startswith(f"{huge}: ") and "--grid-ms" in err["message"]
    proc = subprocess.run([sys.executable, "-m", "fa2opt", "solve", str(huge), "-m", "fa2-grid"],
                          cwd=REPO, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and proc.stderr.startswith(f"{huge}: ")
    assert proc.stderr.count("\n") == 1
