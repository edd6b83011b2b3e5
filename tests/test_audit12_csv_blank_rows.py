"""Audit 12 (2026-12-03): a profile CSV row whose every cell is empty -- the trailing ``,,,``
rows a spreadsheet exports, or a line of spaces -- was refused ("line 4: batch: missing")
while a blank line was skipped. Such a row carries nothing and is now skipped like one."""

from __future__ import annotations

import json

import pytest

from fa2opt.cli import main
from fa2opt.io import InputError, load_instance


def _write(tmp_path, csv_text):
    (tmp_path / "p.csv").write_bytes(csv_text.encode())
    inst = {"name": "x", "rate_rps": 50, "sla_ms": 100, "edges": [],
            "nodes": [{"name": "a", "profile": "p.csv"}]}
    path = tmp_path / "i.json"
    path.write_text(json.dumps(inst))
    return path


@pytest.mark.parametrize("tail", [",,,\n,,,\n", "   \n", ",  , ,\r\n\r\n", " , , , ,\n"])
def test_rows_of_empty_cells_are_skipped(tmp_path, capsys, tail):
    head = "batch,hardware,units,latency_ms\n1,cpu,1,20\n"
    path = _write(tmp_path, head + tail + "2,cpu,1,30\n" + tail)
    rows = load_instance(path).node("a").configs
    assert [(c.batch, c.latency_ms) for c in rows] == [(1, 20.0), (2, 30.0)]
    assert main(["solve", str(path), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["cost"] == 1.0


def test_a_row_with_a_cell_is_still_checked(tmp_path):
    path = _write(tmp_path, "batch,hardware,units,latency_ms,note\n1,cpu,1,20,\n,,,,x\n")
    with pytest.raises(InputError, match=r"line 3: batch: must be a number \(the cell is empty\)"):
        load_instance(path)


def test_only_empty_rows_is_an_empty_profile(tmp_path):
    path = _write(tmp_path, "batch,hardware,units,latency_ms\n,,,\n")
    with pytest.raises(InputError, match="empty profile"):
        load_instance(path)
