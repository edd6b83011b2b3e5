"""A run into a folder that holds an earlier run replaces it: the files the earlier run.json
lists are removed before the new run, so none of them is read as this run's; files no
run.json lists (a researcher's own) stay, and so does anything outside the folder."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fa2opt.experiments import runner
from fa2opt.experiments.config import load_config
from fa2opt.experiments.runner import clear_earlier_run, listed_outputs, out_dir, run_config


@pytest.fixture
def config(tmp_path: Path) -> dict:
    """A setup-table config: the cheapest kind to run (a table of config fields)."""
    path = tmp_path / "st.yaml"
    path.write_text("name: st\nkind: setup-table\nexperiments: [experiments/savings-grid.yaml]\n")
    return load_config(path)


def _earlier_run(folder: Path, listed: list[str], files: list[str]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name in files:
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text("earlier\n")
    (folder / "run.json").write_text(json.dumps({"outputs": listed + ["run.json"]}))


def test_a_rerun_removes_the_earlier_runs_files_and_nothing_else(tmp_path: Path,
                                                                config: dict) -> None:
    root = tmp_path / "out"
    folder = out_dir(config, root)
    (tmp_path / "outside.csv").write_text("not the runner's\n")
    listed = ["figure_gone.png", "pipe/old.csv", "pipe/deeper/old.parquet", "setup.csv",
              "../outside.csv", "summary.md"]
    _earlier_run(folder, listed, ["figure_gone.png", "pipe/old.csv", "pipe/deeper/old.parquet",
                                  "setup.csv", "summary.md", "notes.md", "pipe/mine.txt"])
    json_path = folder / "run.json"
    info = run_config(config, root)
    left = sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())
    # the earlier run's files are gone, this run's are there, the unlisted ones stay
    assert left == sorted(info["outputs"] + ["notes.md", "pipe/mine.txt"])
    assert not (folder / "pipe" / "deeper").exists()  # emptied by the removal: removed too
    assert (tmp_path / "outside.csv").read_text() == "not the runner's\n"
    assert "earlier" not in (folder / "setup.csv").read_text()
    assert json.loads(json_path.read_text())["outputs"] == info["outputs"]


def test_a_run_that_stops_part_way_leaves_no_run_json(tmp_path: Path, config: dict,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "out"
    run_config(config, root)
    folder = out_dir(config, root)
    assert (folder / "run.json").is_file()

    def broken(config, out, *args):
        out.text("partial.md", "half\n")
        raise RuntimeError("stopped")

    monkeypatch.setitem(runner.KINDS, "setup-table", broken)
    with pytest.raises(RuntimeError):
        run_config(config, root)
    assert sorted(p.name for p in folder.iterdir()) == ["partial.md"]


@pytest.mark.parametrize("text", ["not json", "[1, 2]", '{"outputs": "run.json"}',
                                  '{"outputs": [3, null, ""]}'])
def test_an_unreadable_run_json_removes_nothing(tmp_path: Path, text: str) -> None:
    (tmp_path / "keep.csv").write_text("x\n")
    (tmp_path / "run.json").write_text(text)
    assert listed_outputs(tmp_path) == [] and clear_earlier_run(tmp_path) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.csv", "run.json"]


def test_no_folder_yet_is_no_earlier_run(tmp_path: Path) -> None:
    assert clear_earlier_run(tmp_path / "new") == []
