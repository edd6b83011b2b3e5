"""Audit 8: extension budgets anywhere in the range the spec allows (finite, >= 0) build a
MILP. A capacity or energy limit of 1e308 ended ``milp`` in a traceback: OverflowError from
the row scaling, math.ldexp(1.0, 1024). (An SLA there, beside them, already built.)"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fa2opt.cli import main
from test_audit_extension_input import _write


@pytest.mark.parametrize("keys,value", [
    (["capacity"], {"cpu": 1.7e308}),
    (["capacity"], {"cpu": 1e308, "gpu": 1.7976931348623157e308}),
    (["energy", "max_j"], {"f": 1.7e308}),
    (["flows", 0, "sla_ms"], 1.7e308),
])
def test_milp_builds_rows_with_budgets_near_the_double_range(tmp_path: Path, capsys, keys,
                                                             value) -> None:
    path = _write(tmp_path, keys, value)
    # energy: the worked example's key is solved only where named (extensions.OPT_IN)
    named = ["--formulation", "energy"] if keys[0] == "energy" else []
    answers = []
    for method in ("milp", "fa2"):
        assert main(["solve", str(path), "-m", method, "--json", *named]) == 0
        answers.append(json.loads(capsys.readouterr().out))
    milp, fa2 = answers
    assert milp["status"] == fa2["status"] == "optimal"
    # (energy alone has no objective term: the objective is the cost)
    assert milp.get("objective", milp["cost"]) == pytest.approx(
        fa2.get("objective", fa2["cost"]), rel=1e-9)
