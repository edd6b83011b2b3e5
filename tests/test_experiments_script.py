"""``kind: script`` (issue 15 item 1): the configs behind README's and docs' figures run the
project's own entry points — same code, same outputs — and reject bad runs in one line."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from fa2opt.experiments.config import load_config
from fa2opt.experiments.script import ENTRIES, entry_main
from fa2opt.io import InputError
from test_experiments import _script

REPO = Path(__file__).resolve().parents[1]
SCRIPT_CONFIGS = [p for p in sorted((REPO / "experiments").glob("*.yaml"))
                  if load_config(p)["kind"] == "script"]


def test_every_entry_point_loads() -> None:
    for entry, (target, _) in ENTRIES.items():
        assert callable(entry_main(entry)), entry
        assert target.endswith(".py") == (REPO / target).is_file(), target


@pytest.mark.parametrize("config", SCRIPT_CONFIGS, ids=[p.stem for p in SCRIPT_CONFIGS])
def test_each_profile_validates_and_writes_into_its_runs(config: Path) -> None:
    for profile in (None, "quick", "smoke"):
        cfg = load_config(config, profile)
        for run in cfg["runs"]:
            assert all(isinstance(a, str) for a in run["args"])
        assert len({r["name"] for r in cfg["runs"]}) == len(cfg["runs"])


def test_the_config_gives_what_the_script_gives(tmp_path: Path) -> None:
    """The baselines config's smoke run and the script called directly write the same table."""
    assert _script().main(["experiments/baselines.yaml", "--smoke", "--out-root", str(tmp_path),
                           "--no-progress"]) == 0
    cfg = load_config(REPO / "experiments" / "baselines.yaml", "smoke")
    args = [a.replace("{out}", str(tmp_path / "direct")) for a in cfg["runs"][0]["args"]]
    assert entry_main("baselines")(args) == 0
    via = pd.read_csv(tmp_path / "baselines-smoke" / cfg["runs"][0]["name"] / "summary.csv")
    direct = pd.read_csv(tmp_path / "direct" / "summary.csv")
    cols = [c for c in via.columns if not c.endswith("_ms")]  # timings differ run to run
    pd.testing.assert_frame_equal(via[cols], direct[cols])
    run = json.loads((tmp_path / "baselines-smoke" / "run.json").read_text())
    assert "undamped/summary.csv" in run["outputs"] and run["counts"]["runs"] == 1
    assert (tmp_path / "baselines-smoke" / "undamped" / "stdout.txt").read_text().strip()


BAD = [
    ("name: x\nkind: script\nentry: nope\nruns: [{name: a, args: []}]\n", "entry", "must be one of"),
    ("name: x\nkind: script\nentry: trace\n", "runs", "missing"),
    ("name: x\nkind: script\nentry: trace\nruns: [{name: a, args: [{x: 1}]}]\n", "runs[0].args[0]",
     "string or number"),
    ("name: x\nkind: script\nentry: trace\nruns: [{name: a}, {name: a}]\n", "runs", "unique"),
    ("name: x\nkind: script\nentry: trace\nruns: [{name: ../a}]\n", "runs[0].name", "must be letters"),
    ("name: x\nkind: script\nentry: trace\nruns: [{name: a, argz: []}]\n", "runs[0].argz", "unknown key"),
]


@pytest.mark.parametrize("text,field,reason", BAD)
def test_bad_script_config_is_one_line_and_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture,
                                                  text: str, field: str, reason: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    assert _script().main([str(path), "--out-root", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "Traceback" not in err
    assert str(path) in err and field in err and reason in err


def test_a_failing_run_is_exit_2_naming_the_run(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    path = tmp_path / "bad-run.yaml"
    path.write_text("name: bad-run\nkind: script\nentry: baselines\n"
                    "runs: [{name: a, args: [--column, nonsense, --out, '{out}']}]\n")
    assert _script().main([str(path), "--out-root", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]  # argparse's usage lines come first
    assert str(path) in err and "runs[0]" in err and "exited with 2" in err


def test_load_rejects_unknown_profile_keys(tmp_path: Path) -> None:
    path = tmp_path / "x.yaml"
    path.write_text("name: x\nkind: script\nentry: trace\nruns: [{name: a}]\n"
                    "profiles: {smoke: {entry_point: trace}}\n")
    with pytest.raises(InputError, match="profiles.smoke.entry_point"):
        load_config(path, "smoke")


def test_record_keeps_small_text_outputs_only(tmp_path: Path) -> None:
    """Only what run.json lists is recorded (not a note of the researcher's, not an
    unlisted leftover), and of that only small text files."""
    from fa2opt.experiments.runner import RECORD_MAX_BYTES, record

    run = tmp_path / "run"
    (run / "a").mkdir(parents=True)
    (run / "run.json").write_text(json.dumps(
        {"outputs": ["a/summary.csv", "a/plot.png", "a/big.csv", "run.json"]}))
    (run / "notes.md").write_text("mine")
    (run / "a" / "old.csv").write_text("x\n0\n")
    (run / "a" / "summary.csv").write_text("x\n1\n")
    (run / "a" / "plot.png").write_bytes(b"\x89PNG")
    (run / "a" / "big.csv").write_text("x" * (RECORD_MAX_BYTES + 1))
    dest = tmp_path / "recorded" / "run"
    (dest / "stale").mkdir(parents=True)
    assert record(run, dest) == ["a/summary.csv", "run.json"]
    assert sorted(str(p.relative_to(dest)) for p in dest.rglob("*") if p.is_file()) == ["a/summary.csv", "run.json"]
