"""Adversarial audit: the CLI's output never ends in a traceback, and every error names the
file.

JSON allows ``\\ud800`` escapes, which decode to lone surrogates that no UTF-8 output can
encode: such an instance solved with ``--json`` (ASCII escapes), then the readable ``solve``
and ``info`` output died in UnicodeEncodeError (exit 1, a traceback) and ``table --out``
could not write its CSV. A name that is not valid Unicode text is now an input error."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

DOC = {
    "name": "surrogates",
    "nodes": [{"name": "det", "configs": [
                  {"batch": 1, "hardware": "cpu", "units": 1, "latency_ms": 20.0}]},
              {"name": "cls", "configs": [{"batch": 2, "hardware": "cpu", "units": 1,
                                           "latency_ms": 10.0}]}],
    "edges": [["det", "cls", 1.0]],
    "flows": [{"name": "f", "rate_rps": 20, "sla_ms": 500, "nodes": ["det", "cls"]}],
}


def _with_surrogate(where: str) -> tuple[dict, str]:
    doc = json.loads(json.dumps(DOC))
    bad = "\ud800x"
    if where == "node":
        doc["nodes"][0]["name"] = bad
        doc["edges"][0][0] = bad
        doc["flows"][0]["nodes"][0] = bad
        return doc, "nodes[0].name"
    if where == "hardware":
        doc["nodes"][0]["configs"][0]["hardware"] = bad
        return doc, "nodes[det].configs[0].hardware"
    if where == "variant":
        doc["nodes"][0]["configs"][0]["variant"] = "v\udfff"
        return doc, "nodes[det].configs[0].variant"
    doc["flows"][0]["name"] = bad
    return doc, "flows[0].name"


@pytest.mark.parametrize("where", ["node", "hardware", "variant", "flow"])
@pytest.mark.parametrize("args", [["solve"], ["solve", "--json"], ["info"], ["validate"],
                                  ["table", "--rates", "10:30:10", "--out", "OUT"]])
def test_lone_surrogates_in_names_are_one_line_input_errors(tmp_path: Path, args: list[str],
                                                            where: str) -> None:
    doc, field = _with_surrogate(where)
    path = tmp_path / "inst.json"
    path.write_text(json.dumps(doc))  # ensure_ascii: the file is plain ASCII with \u escapes
    args = [str(tmp_path / "t.csv") if a == "OUT" else a for a in args]
    proc = subprocess.run([sys.executable, "-m", "fa2opt", args[0], str(path), *args[1:]],
                          cwd=REPO, capture_output=True, text=True, errors="replace", timeout=120)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr[-2000:]
    message = json.loads(proc.stdout)["message"] if "--json" in args else proc.stderr.strip()
    assert message.startswith(f"{path}: {field}: not valid Unicode text"), message
    assert "\n" not in message


def test_every_error_answer_names_the_file(tmp_path: Path) -> None:
    """Spec: ``error`` comes "with message naming the file, the field and the reason". A
    method's own refusal (here fa2-grid's grid bound at latencies of ~2e17 ms, with the step
    given: without it the step is coarsened to fit) named only the method, so among several
    INSTANCE paths nothing said which file it was about."""
    from test_audit_huge_latency import DOC

    good = tmp_path / "good.json"
    good.write_text(json.dumps({"sla_ms": 100, "rate_rps": 10, "nodes": [
        {"name": "a", "configs": [{"batch": 1, "hardware": "cpu", "units": 1, "latency_ms": 5}]}]}))
    huge = tmp_path / "huge.json"
    huge.write_text(json.dumps(DOC))
    # the messages are under test, not the kernels: fa2-grid compiles them on a fresh
    # machine's first run, which under load outlasted the timeout (a CI run, 2026-12-03)
    env = {**os.environ, "FA2OPT_NUMBA": "0"}
    proc = subprocess.run([sys.executable, "-m", "fa2opt", "solve", str(good), str(huge),
                           "-m", "fa2-grid", "--grid-ms", "1", "--json"],
                          cwd=REPO, capture_output=True, text=True, timeout=120, env=env)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr[-2000:]
    ok, err = (json.loads(line) for line in proc.stdout.splitlines())
    assert ok["status"] == "optimal" and err["status"] == "error"
    assert err["message"].startswith(f"{huge}: ") and "--grid-ms" in err["message"]
    proc = subprocess.run([sys.executable, "-m", "fa2opt", "solve", str(huge), "-m", "fa2-grid",
                           "--grid-ms", "1"],
                          cwd=REPO, capture_output=True, text=True, timeout=120, env=env)
    assert proc.returncode == 2 and proc.stderr.startswith(f"{huge}: ")
    assert proc.stderr.count("\n") == 1
