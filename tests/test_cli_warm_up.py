"""``FA2OPT_WARM_UP=1 fa2opt solve``: the compiled kernels are loaded once, before the first
decision (outside every answer's ``solve_ms``); unset, empty or off they are not (a one-off
decision takes the Python DPs, as before). The switch is read like ``FA2OPT_NUMBA``."""

from __future__ import annotations

import json

import pytest

from fa2opt import cpu_kernels
from fa2opt.cli import main

ROWS = [{"batch": 1, "hardware": "cpu", "units": 1, "latency_ms": 20},
        {"batch": 4, "hardware": "cpu", "units": 1, "latency_ms": 50}]


@pytest.mark.parametrize("value, wanted", [(None, False), ("", False), ("0", False),
                                           ("off", False), ("1", True), ("yes", True)])
def test_solve_warms_up_only_when_asked(tmp_path, monkeypatch, capsys, value, wanted):
    path = tmp_path / "i.json"
    path.write_text(json.dumps({"rate_rps": 40, "sla_ms": 200, "edges": [["a", "b"]],
                                "nodes": [{"name": v, "configs": ROWS} for v in "ab"]}))
    if value is None:
        monkeypatch.delenv("FA2OPT_WARM_UP", raising=False)
    else:
        monkeypatch.setenv("FA2OPT_WARM_UP", value)
    calls = []
    monkeypatch.setattr(cpu_kernels, "warm_up", lambda: calls.append(1) or False)
    assert main(["solve", str(path), str(path), "--json"]) == 0
    answers = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [a["status"] for a in answers] == ["optimal", "optimal"]
    assert answers[0]["cost"] == answers[1]["cost"]
    assert calls == ([1] if wanted else [])


@pytest.mark.parametrize("value, on", [(None, True), ("", True), ("1", True), ("0", False),
                                       ("False", False), (" no ", False)])
def test_the_switch_reads_like_fa2opt_numba(monkeypatch, value, on):
    if value is None:
        monkeypatch.delenv("FA2OPT_X", raising=False)
    else:
        monkeypatch.setenv("FA2OPT_X", value)
    assert cpu_kernels._flag("FA2OPT_X", "1") is on


@pytest.mark.parametrize("in_cache", [False, True])
def test_a_one_off_grid_decision_loads_the_kernels_only_from_the_cache(
        tmp_path, monkeypatch, capsys, in_cache):
    # fa2-grid's solver compiled every kernel when it was made: after an install a one-off
    # `fa2opt solve -m fa2-grid` took 35 s of CPU (70 s on a loaded machine) for a decision
    # of 20 ms. Now it loads them where Numba's disk cache holds them, else its decisions
    # take the numpy twins (here no grid kernel may be called unless loaded)
    path = tmp_path / "i.json"
    path.write_text(json.dumps({"rate_rps": 40, "sla_ms": 200, "edges": [["a", "b"]],
                                "nodes": [{"name": v, "configs": ROWS} for v in "ab"]}))
    monkeypatch.delenv("FA2OPT_WARM_UP", raising=False)
    monkeypatch.setattr(cpu_kernels, "_WARM", False)
    monkeypatch.setattr(cpu_kernels, "_LOOKED", False)
    monkeypatch.setattr(cpu_kernels, "cached", lambda: in_cache)
    calls = []

    def warm_up():  # stands in for loading: the kernels count as loaded, none is compiled
        calls.append(1)
        cpu_kernels._WARM = True
        return True

    def compiled():
        if not cpu_kernels._WARM:
            raise AssertionError("a one-off grid decision called a kernel that was not loaded")
        return real()

    real = cpu_kernels._compiled
    monkeypatch.setattr(cpu_kernels, "warm_up", warm_up)
    monkeypatch.setattr(cpu_kernels, "_compiled", compiled)
    assert main(["solve", str(path), "--json", "-m", "fa2-grid"]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert answer["status"] == "optimal" and answer["cost"] > 0
    assert calls == ([1] if in_cache and cpu_kernels.available() else [])
