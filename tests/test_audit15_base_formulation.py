"""Fifteenth audit: ``--formulation base`` ignores extension keys (spec), yet an instance
carrying one -- even an empty ``"capacity": {}`` -- was loaded as an extended instance, so
the replica guard refused a row the base problem leaves out (dominated, needing 1e16
replicas): exit 2 on an instance whose base optimum is 10. Under ``base`` the file is now
loaded without its extension keys."""

from __future__ import annotations

import json

import pytest

from fa2opt.cli import main
from fa2opt.io import load_instance
from fa2opt.solver import available_methods

ROWS = [{"batch": 1, "hardware": "cpu", "units": 1, "latency_ms": 1},
        # dominated (slower, no cheaper) and 1e16 replicas at 1e4 rps: the base tables drop it
        {"batch": 1, "hardware": "cpu", "units": 2, "latency_ms": 1e15}]


def write(tmp_path, **extra) -> str:
    doc = {"rate_rps": 1e4, "sla_ms": 100, "queueing": "none",
           "nodes": [{"name": "a", "configs": ROWS}], **extra}
    path = tmp_path / "inst.json"
    path.write_text(json.dumps(doc))
    return str(path)


@pytest.mark.parametrize("method", ["fa2", "milp", "brute-force"])
@pytest.mark.parametrize("keys", [{"capacity": {}}, {"capacity": "not an object"},
                                  {"accuracy": {"weight": 1.0}, "switch_cost": 3}])
def test_base_formulation_solves_the_base_problem_whatever_the_extension_keys(
        tmp_path, capsys, method, keys):
    if method not in available_methods():
        pytest.skip(f"{method} not present")
    path = write(tmp_path, **keys)
    assert main(["solve", path, "-m", method, "--formulation", "base", "--json"]) == 0
    ans = json.loads(capsys.readouterr().out)
    assert ans["status"] == "optimal" and ans["cost"] == 10.0 and ans["formulation"] == []


def test_the_extension_keys_still_count_without_base(tmp_path, capsys):
    # solved with its (empty) capacity, the row is refused as before: a named input error
    path = write(tmp_path, capacity={})
    assert main(["solve", path, "--json"]) == 2
    assert "would need 1e+16 replicas" in json.loads(capsys.readouterr().out)["message"]


def test_loading_without_extensions_keeps_other_keys(tmp_path):
    path = write(tmp_path, note="kept", switch_cost=2)
    assert load_instance(path, extensions=False).extra == {"note": "kept"}
