"""The DP's memory guard (:func:`fa2opt.deadline.check_memory`): a long series' Pareto DP
keeps every step's front, and on real-valued objectives it filled 18 GB before its time
limit stopped it; past MEMORY_SHARE of the memory it now stops with a MemoryError, which
``fa2opt solve`` answers as one ``error`` line instead of the kernel's OOM kill."""

from __future__ import annotations

import json

import pytest

from fa2opt import deadline
from fa2opt.cli import main


def _chain(n: int) -> dict:
    names = [f"n{i}" for i in range(n)]
    rows = [{"batch": b, "hardware": "cpu", "units": 1, "latency_ms": 1.0 + 0.37 * b}
            for b in (1, 2, 4)]
    return {"name": "chain", "rate_rps": 5.0, "sla_ms": 3.0 * n,
            "nodes": [{"name": v, "configs": rows} for v in names],
            "edges": [[a, b] for a, b in zip(names, names[1:])]}


def test_limits_are_read() -> None:
    assert deadline.memory_limit_bytes() > 0 and deadline.resident_bytes() >= 0
    deadline.check_memory()  # this test process is far below the share


def test_check_memory_raises_past_the_share(monkeypatch) -> None:
    monkeypatch.setattr(deadline, "_LIMIT", [1.0])  # one byte: any process is past it
    with pytest.raises(MemoryError, match="outgrew the memory"):
        deadline.check_memory()


def test_solve_answers_error_when_the_dp_outgrows_the_memory(monkeypatch, tmp_path, capsys) -> None:
    path = tmp_path / "chain.json"
    path.write_text(json.dumps(_chain(600)))  # a series of more than 256 parts
    monkeypatch.setattr(deadline, "_LIMIT", [1.0])
    assert main(["solve", str(path), "--json"]) == 2
    answer = json.loads(capsys.readouterr().out)
    assert answer["status"] == "error" and "ran out of memory" in answer["message"]
    assert "outgrew the memory" in answer["message"] and str(path) in answer["message"]
    monkeypatch.setattr(deadline, "_LIMIT", [])
    assert main(["solve", str(path), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["status"] == "optimal"
