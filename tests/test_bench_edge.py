"""scripts/bench_edge.py: the SLA-edge benchmark runs, writes its CSV, and compares two runs
draw by draw (the same draws for the same seed)."""

from __future__ import annotations

import csv
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))

import bench_edge  # noqa: E402


def test_bench_edge_writes_and_compares(tmp_path, capsys):
    first, second = tmp_path / "a.csv", tmp_path / "b.csv"
    assert bench_edge.main(["--draws", "4", "--repeat", "1", "--out", str(first)]) == 0
    rows = list(csv.DictReader(open(first)))
    assert rows and all(r["status"] == "optimal" for r in rows)
    assert bench_edge.main(["--draws", "4", "--repeat", "1", "--out", str(second),
                            "--against", str(first)]) == 0
    assert [r["cost"] for r in csv.DictReader(open(second))] == [r["cost"] for r in rows]
    assert "answers differ on 0" in capsys.readouterr().out
