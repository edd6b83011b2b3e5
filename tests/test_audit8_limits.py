"""Audit 8: every method that can run long honours a time limit, and its answer is honest
(``time_limit`` with a verified incumbent and a lower bound at most its cost)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import fa2opt
from fa2opt.cli import main
from fa2opt.io import instance_from_dict
from fa2opt.problem import Problem


def _chain(n: int = 12) -> dict:
    rows = [{"batch": b, "hardware": h, "units": u, "latency_ms": 10.0 * b / u * (0.5 if h == "gpu" else 1)}
            for b in (1, 2, 4, 8) for h in ("cpu", "gpu") for u in (1, 2)]
    return {"sla_ms": 40.0 * n, "rate_rps": 50, "prices": {"gpu": 3.0},
            "nodes": [{"name": f"n{i}", "configs": rows} for i in range(n)],
            "edges": [[f"n{i}", f"n{i + 1}"] for i in range(n - 1)]}


def test_greedy_stops_at_its_time_limit_with_an_incumbent(monkeypatch) -> None:
    """greedy took no time limit: each step checks the SLAs of every single-node move, so on
    a 1,000-node DAG one step took seconds and the climb ran for hours (a 300-node one: 17 s)
    with no way to stop it. It now stops at ``time_limit`` with the last complete step's
    choice, which meets every SLA."""
    real = Problem.meets_slas

    def slow(self, choice):  # a large graph's SLA check, made long on a small one
        time.sleep(0.02)
        return real(self, choice)

    monkeypatch.setattr(Problem, "meets_slas", slow)
    limit = 0.3
    t0 = time.perf_counter()
    answer = fa2opt.solve(instance_from_dict(_chain()), "greedy", time_limit=limit)
    assert time.perf_counter() - t0 < limit + 1.5
    assert answer.status == "time_limit", (answer.status, answer.message)
    assert answer.has_decision  # fa2opt.solve verified it
    assert answer.lower_bound is not None and answer.lower_bound <= answer.cost


def test_greedy_takes_time_limit_from_the_cli(tmp_path: Path, capsys) -> None:
    path = tmp_path / "chain.json"
    path.write_text(json.dumps(_chain(4)))
    assert main(["solve", str(path), "-m", "greedy", "--time-limit", "30", "--json"]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert answer["status"] == "feasible"  # (the limit not reached: the climb's own end)
    assert answer["cost"] == fa2opt.solve(instance_from_dict(_chain(4)), "greedy").cost
