"""Audit 8: a YAML number that YAML 1.1 (PyYAML) and YAML 1.2 read differently is refused,
never silently taken in one reading: ``sla_ms: 0500`` was an SLA of 320 ms (octal)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from fa2opt.cli import main
from fa2opt.io import load_instance
from helpers import BAD_INPUT_BASE, BAD_INPUT_CSV


def _write(tmp_path: Path, line: str) -> Path:
    key = line.split(":")[0]
    doc = {k: v for k, v in BAD_INPUT_BASE.items() if k != key}
    (tmp_path / "a.csv").write_text(BAD_INPUT_CSV)
    path = tmp_path / "i.yaml"
    path.write_text(yaml.safe_dump(doc) + line + "\n")
    return path


@pytest.mark.parametrize("line,was", [
    ("sla_ms: 0500", 320),      # YAML 1.1 octal; 500 in YAML 1.2
    ("rate_rps: 010", 8),
    ("sla_ms: -0500", -320),
    ("sla_ms: 8:20", 500),      # YAML 1.1 base 60; text in YAML 1.2
    ("sla_ms: 8:20.5", 500.5),
    ("rate_rps: 0b110010", 50),  # YAML 1.1 binary; text in YAML 1.2
])
def test_numbers_read_differently_by_yaml_1_1_and_1_2_are_refused(tmp_path: Path, capsys,
                                                                   line: str, was: float) -> None:
    path = _write(tmp_path, line)
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"{path}: line ") and "ambiguous number" in err
    assert f"reads it as {was!r}" in err
    assert main(["solve", str(path), "--json"]) == 2
    assert json.loads(capsys.readouterr().out)["status"] == "error"


@pytest.mark.parametrize("line", ["sla_ms: 0" + "7" * 299, "sla_ms: " + "59:" * 60 + "59"])
def test_a_long_ambiguous_number_is_quoted_short(tmp_path: Path, capsys, line: str) -> None:
    """Both readings of a long ambiguous literal are quoted short (the message printed every
    digit of both: 781 characters for 300 digits)."""
    path = _write(tmp_path, line)
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "ambiguous number" in err and len(err) < 300 + len(str(path)), err


@pytest.mark.parametrize("line,value", [
    ("sla_ms: 500", 500.0), ("sla_ms: 0x1F4", 500.0), ("sla_ms: 5e2", 500.0),
    ("sla_ms: 00500.0", 500.0), ("sla_ms: 1_000", 1000.0),
])
def test_numbers_both_read_alike_are_taken(tmp_path: Path, line: str, value: float) -> None:
    assert load_instance(_write(tmp_path, line)).flows[0].sla_ms == value


@pytest.mark.parametrize("line", ["sla_ms: 0o764", "sla_ms: 500ms", 'sla_ms: "500"'])
def test_text_where_a_number_goes_asks_for_a_plain_decimal(tmp_path: Path, capsys,
                                                           line: str) -> None:
    """YAML 1.1 reads 0o764 (octal to YAML 1.2) and 500ms as text, as it reads a quoted
    "500": one hint fits all three (not "without quotes", where there are none)."""
    assert main(["validate", str(_write(tmp_path, line))]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "sla_ms: not a number" in err
    assert "write it as a plain decimal number" in err
