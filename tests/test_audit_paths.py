"""Adversarial audit: a profile path that the operating system cannot take (a NUL byte, a
lone surrogate from a ``\\ud800`` escape) is an input error naming the field, not a
traceback (``os.open`` raises ValueError / UnicodeEncodeError there, not OSError)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fa2opt.cli import main


@pytest.mark.parametrize("profile,reason", [("a\x00b.csv", "cannot read profile file"),
                                            ("\ud800.csv", "not valid Unicode text")])
def test_unopenable_profile_paths_are_input_errors(tmp_path: Path, profile: str, reason: str,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "inst.json"
    path.write_text(json.dumps({"sla_ms": 100, "rate_rps": 1,
                                "nodes": [{"name": "a", "profile": profile}]}))
    assert main(["solve", str(path), "--json"]) == 2
    msg = json.loads(capsys.readouterr().out)["message"]
    assert msg.startswith(f"{path}: nodes[a].profile") and reason in msg, msg
    assert "\n" not in msg
