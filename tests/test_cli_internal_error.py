"""CLI answers audit 10 asked for. An internal failure of a method on one instance (a bug,
not bad input) is answered as that path's ``error`` and the later paths still get their
answers (spec: one JSON object per line, in the given order): a TypeError inside the MILP's
time-limit handling had ended a whole multi-path run with a traceback."""

from __future__ import annotations

import json
from pathlib import Path

from fa2opt.cli import main
from fa2opt.fa2 import FA2Solver

EXAMPLE = Path(__file__).parent / "data" / "spec_examples" / "chain.json"


def test_a_bug_on_one_path_leaves_the_next_paths_their_answers(capsys, monkeypatch):
    bad = good = EXAMPLE  # the same file twice: the first solve fails, the second not
    real = FA2Solver.decide
    calls = []

    def flaky(self, problem):
        calls.append(problem.instance.source)
        if len(calls) == 1:
            raise TypeError("'str' object is not callable")
        return real(self, problem)

    monkeypatch.setattr(FA2Solver, "decide", flaky)
    assert main(["solve", "--json", str(bad), str(good)]) == 2
    lines = capsys.readouterr().out.strip().splitlines()
    first, second = map(json.loads, lines)
    assert len(lines) == 2 and first["status"] == "error" and first["cost"] is None
    assert first["message"].startswith(f"{bad}: internal error in method fa2: TypeError")
    assert second["status"] == "optimal" and second["nodes"]


def test_a_name_of_whitespace_only_is_refused_saying_so(tmp_path, capsys):
    """Audit 10: ``"name": " "`` was refused as "must be a non-empty string"."""
    doc = json.loads(EXAMPLE.read_text())
    doc["nodes"][0]["name"] = "  "
    path = tmp_path / "blank.json"
    path.write_text(json.dumps(doc))
    assert main(["solve", str(path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"{path}: nodes[0].name: must be a string "
                                               "with a character other than whitespace")
