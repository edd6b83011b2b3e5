"""Audit 12 (2026-12-03): an instance file whose name is not UTF-8 (``$'\\xffbad.json'``)
reached the JSON answer's ``message`` and ``instance`` as a lone surrogate, printed as
``"\\udcff..."``: no Unicode text, refused by strict JSON readers and by any UTF-8 encoder
(names inside a file are refused for the same reason). It is now written as escape text."""

from __future__ import annotations

import json
import os

from fa2opt.cli import main

_ROW = {"batch": 1, "hardware": "cpu", "units": 1, "latency_ms": 5.0}


def _write(tmp_path, raw_name: bytes, units: float, named: bool):
    inst = {"rate_rps": 10, "sla_ms": 100, "edges": [],
            "nodes": [{"name": "a", "configs": [dict(_ROW, units=units)]}]}
    if named:
        inst["name"] = "x"
    path = tmp_path / os.fsdecode(raw_name)
    path.write_text(json.dumps(inst))
    return str(path)


def test_answers_for_a_non_utf8_file_name_are_unicode(tmp_path, capsys):
    bad = _write(tmp_path, b"\xffbad.json", units=-1, named=True)
    good = _write(tmp_path, b"\xfegood.json", units=1, named=False)  # instance name: the stem
    assert main(["solve", bad, good, "--json"]) == 2
    lines = capsys.readouterr().out.splitlines()
    answers = [json.loads(line) for line in lines]
    for answer in answers:
        for key in ("message", "instance"):
            if answer.get(key) is not None:
                answer[key].encode("utf-8")  # no lone surrogate left
    assert answers[0]["status"] == "error"
    assert "\\udcffbad.json: nodes[a].configs[0].units: must be > 0" in answers[0]["message"]
    assert answers[1]["status"] == "optimal" and answers[1]["instance"] == "\\udcfegood"
