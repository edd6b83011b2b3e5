"""Audit a34c F3: ``fa2opt evaluate --out DIR`` named its files after the instance's
``name`` (user data) as it was: ``../../x`` and ``/tmp/x`` wrote outside DIR (exit 0), a NUL
gave a traceback, ``a/b`` and a 300-character name an error naming the wrong thing. The
name now goes through :func:`fa2opt.io.file_stem`: the files always land in DIR."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from fa2opt.cli import main
from fa2opt.io import FILE_STEM_MAX, file_stem

SUFFIXES = ("_summary.csv", "_flows.csv", "_steps.csv", "_timeline.png", "_cdf.png")
HOSTILE = ["../../escape_evil", "/tmp/abs_evil", "a\x00b", "a/b", "x" * 300, "..", ".hidden",
           "-rf", "", "\ud800", "a b", "a_b", "a:b", "kept-0123456789", "a$\\frac$"]


@pytest.mark.parametrize("name", HOSTILE)
def test_file_stem_is_safe(name: str) -> None:
    stem = file_stem(name)
    assert re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9._-]*", stem), stem
    assert len(stem) <= FILE_STEM_MAX


def test_file_stem_keeps_plain_names_and_never_merges_two() -> None:
    for plain in ("video_cpu", "cli", "suite-0007-fork-join", "v1.2"):
        assert file_stem(plain) == plain
    stems = [file_stem(n) for n in HOSTILE + ["x" * 301, "a_b-" + file_stem("a b")[-10:]]]
    assert len(set(stems)) == len(stems), stems


def _evaluate(tmp_path: Path, name: str, out: Path) -> int:
    inst = {"name": name, "sla_ms": 300, "rate_rps": 50,
            "nodes": [{"name": "a", "configs": [
                {"batch": 1, "hardware": "cpu", "units": 1, "latency_ms": 30},
                {"batch": 4, "hardware": "cpu", "units": 1, "latency_ms": 80}]}]}
    (tmp_path / "i.json").write_text(json.dumps(inst))
    (tmp_path / "t.csv").write_text("second,rps\n" + "".join(f"{s},{40 + s % 7}\n" for s in range(30)))
    return main(["evaluate", str(tmp_path / "i.json"), "--trace", str(tmp_path / "t.csv"),
                 "-m", "brute-force", "--json", "--no-progress", "--out", str(out)])


@pytest.mark.parametrize("name", ["../../escape_evil", "ABS", "a\x00b", "a/b", "x" * 300],
                         ids=["traversal", "absolute", "nul", "slash", "long300"])
def test_evaluate_writes_inside_out(tmp_path: Path, name: str,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    name = str(tmp_path / "abs_evil") if name == "ABS" else name
    out = tmp_path / "o" / "a" / "b"
    assert _evaluate(tmp_path, name, out) == 0
    err = capsys.readouterr().err
    assert "Traceback" not in err
    written = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*") if p.is_file())
    stem = file_stem(name)
    assert written == sorted([Path("i.json"), Path("t.csv")]
                             + [Path("o/a/b") / f"{stem}{s}" for s in SUFFIXES]), written
