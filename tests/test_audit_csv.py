"""Adversarial audit: a profile CSV that cannot be read one way only is an input error, not
a silent guess. A header naming a column twice made ``csv.DictReader`` keep the later cell
(a row ``1,cpu,1,20,2`` under ``batch,...,batch`` became batch 2); a row with more cells
than the header dropped the extra ones (an unquoted ``a,b`` variant became ``a``)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fa2opt.cli import main
from fa2opt.io import InputError, load_instance


def _instance(tmp_path: Path, csv_text: str) -> Path:
    (tmp_path / "p.csv").write_text(csv_text)
    path = tmp_path / "inst.json"
    path.write_text(json.dumps({"sla_ms": 1000, "rate_rps": 10,
                                "nodes": [{"name": "a", "profile": "p.csv"}]}))
    return path


@pytest.mark.parametrize("csv_text,field,reason", [
    ("batch,hardware,units,latency_ms,batch\n1,cpu,1,20,2\n", "batch", "column named twice"),
    (" batch ,hardware,units,latency_ms,batch\n1,cpu,1,20,2\n", "batch", "column named twice"),
    ("batch,hardware,units,latency_ms\n1,cpu,1,20,99\n", "line 2", "more cells than columns"),
    ("batch,hardware,units,latency_ms,variant\n1,cpu,1,20,a\n2,cpu,1,30,a,b\n", "line 3",
     "more cells than columns"),
    # a quote left open made the rest of the file one cell (a later row's error, or none);
    # text after a closing quote was glued on ("cpu"x read as cpux)
    ("batch,hardware,units,latency_ms\n1,cpu,1,20\n2,\"cpu,1,30\n3,cpu,1,40\n", "line 3",
     "cannot read profile (unexpected end of data)"),
    ("batch,hardware,units,latency_ms\n1,\"cpu\"x,1,20\n", "line 2",
     "cannot read profile (',' expected after '\"')"),
])
def test_ambiguous_csv_is_refused(tmp_path: Path, csv_text: str, field: str, reason: str,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    path = _instance(tmp_path, csv_text)
    with pytest.raises(InputError) as err:
        load_instance(path)
    msg = str(err.value)
    assert msg.startswith(f"{path}: nodes[a].profile (p.csv): {field}") and reason in msg, msg
    assert main(["solve", str(path), "--json"]) == 2
    assert json.loads(capsys.readouterr().out)["message"] == msg


@pytest.mark.parametrize("csv_text", [
    "batch,hardware,units,latency_ms\n1,cpu,1,20\n",
    "batch,hardware,units,latency_ms,gpu_mem\n1,cpu,1,20,5\n",  # extra columns are ignored
    "batch,hardware,units,latency_ms,variant\n1,cpu,1,20,\"a,b\"\n",  # quoted comma
    "batch,hardware,units,latency_ms\n1,cpu,1,20,\n",  # a trailing empty cell is no cell
])
def test_unambiguous_csv_is_read(tmp_path: Path, csv_text: str) -> None:
    inst = load_instance(_instance(tmp_path, csv_text))
    (row,) = inst.nodes[0].configs
    assert (row.batch, row.hardware, row.units, row.latency_ms) == (1, "cpu", 1.0, 20.0)


def test_csv_errors_name_the_physical_line(tmp_path: Path) -> None:
    """Blank lines and quoted cells spanning lines count: the message names the line an
    editor shows (the row count said line 2 for the bad row on line 4 here)."""
    csv_text = 'batch,hardware,units,latency_ms,variant\n\n1,cpu,1,20,"x\ny"\n2,cpu,1,abc\n'
    with pytest.raises(InputError) as err:
        load_instance(_instance(tmp_path, csv_text))
    assert "(p.csv): line 5: latency_ms: not a number" in str(err.value), str(err.value)
