"""Audit 12 (2026-12-03): an instance path holding a newline (or a name holding one) broke
the CLI's one-line output: ``fa2opt solve $'bad\\nname.json'`` printed its input error on two
lines of stderr (spec: "an input error is one line on stderr"), and readable answers split
their head line and table rows. Non-printable characters are now written as escapes."""

from __future__ import annotations

import json

import pytest

from fa2opt.cli import main, one_line

_ROW = {"batch": 1, "hardware": "cpu", "units": 1, "latency_ms": 5.0}


def _instance(node: str = "a", units: float = 1) -> dict:
    return {"name": "x", "rate_rps": 10, "sla_ms": 100, "edges": [],
            "nodes": [{"name": node, "configs": [dict(_ROW, units=units)]}]}


def test_one_line_escapes_only_what_is_not_printable():
    assert one_line("plain ä path\\with backslash") == "plain ä path\\with backslash"
    assert one_line("a\nb\rc\x00d\udcff") == "a\\nb\\rc\\x00d\\udcff"


@pytest.mark.parametrize("command", ["solve", "validate", "info"])
def test_an_input_error_in_a_file_named_with_a_newline_is_one_line(tmp_path, capsys, command):
    bad = tmp_path / "bad\nname.json"
    bad.write_text(json.dumps(_instance(units=-1)))
    missing = tmp_path / "no\rsuch.json"
    assert main([command, str(bad), str(missing)]) == 2
    err = capsys.readouterr().err
    lines = err.splitlines()
    assert len(lines) == 2 and "Traceback" not in err, err
    assert lines[0].endswith("bad\\nname.json: nodes[a].configs[0].units: must be > 0 (got -1)")
    assert lines[1].endswith("no\\rsuch.json: file not found")


def test_readable_answer_keeps_one_line_per_row(tmp_path, capsys):
    good = tmp_path / "good\nname.json"
    good.write_text(json.dumps(_instance(node="new\nline")))
    assert main(["solve", str(good)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith(f"{tmp_path}/good\\nname.json: optimal")
    assert out[1] == "  flow main: 5.000 ms"
    assert out[3].startswith("  new\\nline ")
    assert len(out) == 4


def test_json_answers_are_unchanged(tmp_path, capsys):
    good = tmp_path / "good\nname.json"
    good.write_text(json.dumps(_instance(node="new\nline")))
    assert main(["solve", str(good), "--json"]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert list(answer["nodes"]) == ["new\nline"]


def test_a_json_error_message_is_one_line(tmp_path, capsys):
    """An error answer's message names the file as stderr does, escapes included: a file
    named with a newline made a two-line ``message`` (an outside check, 2026-12-05)."""
    bad = tmp_path / "bad\nname.json"
    bad.write_text(json.dumps(_instance(units=-1)))
    assert main(["solve", str(bad), "--json"]) == 2
    answer = json.loads(capsys.readouterr().out)
    assert answer["status"] == "error" and "\n" not in answer["message"]
    assert answer["message"].endswith("bad\\nname.json: nodes[a].configs[0].units: must be > 0 (got -1)")
