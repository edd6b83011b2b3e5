"""scripts/compare_baselines.py end to end on a tiny pipeline set and trace."""

from __future__ import annotations

import importlib.util
import shutil
import sys
from pathlib import Path

import pandas as pd
import pytest

from fa2opt.solver import available_methods

SPEC = str(Path(__file__).resolve().parent / "data" / "spec_examples")  # the spec's examples

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = Path(SPEC)


def _script():
    spec = importlib.util.spec_from_file_location("compare_baselines",
                                                  REPO / "scripts" / "compare_baselines.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod  # dataclasses resolve annotations through sys.modules
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture()
def data(tmp_path: Path) -> Path:
    pipes, traces = tmp_path / "pipelines", tmp_path / "traces"
    pipes.mkdir()
    traces.mkdir()
    for name in ("chain.json", "shared-detector.json", "resnet50_cpu.csv"):
        shutil.copy(EXAMPLES / name, pipes / name)
    # two windows of 40 s; means 40 and 25 rps = the multi-flow example's default rates
    for name, base in (("twitter_a", 40), ("twitter_b", 25)):
        lines = ["second,rps_raw,rps"]
        for s in range(40):
            rps = base + (5 if s % 10 == 3 else 0) - (5 if s % 10 == 7 else 0)
            lines.append(f"{s},{rps * 8},{rps}")
        (traces / f"{name}.csv").write_text("\n".join(lines) + "\n")
    return tmp_path


@pytest.mark.skipif("fa2" not in available_methods(), reason="the fa2 method is not present yet")
def test_compare_baselines_outputs(data: Path, capsys) -> None:
    mod = _script()
    out = data / "out"
    rc = mod.main(["--pipelines", str(data / "pipelines"), "--traces", str(data / "traces"),
                   "--out", str(out), "--reference", "brute-force", "--no-progress",
                   "--column", "rps"])  # this data's default rates are the rps means
    assert rc == 0
    for f in ("points.csv", "summary.csv", "summary.md", "savings_by_pipeline.csv",
              "cost_over_trace.png"):
        assert (out / f).stat().st_size > 0, f
    points = pd.read_csv(out / "points.csv")
    # chain: 2 windows x 4 intervals; shared-detector: its own windows, 4 intervals
    assert len(points[points.method == "fa2"]) == 2 * 4 + 4
    assert set(points.method) == {"brute-force", "fa2", "slack-split", "greedy", "nexus",
                                  "fixed-batch"}
    assert not (points.status == "error").any()
    # interval 0 of window a peaks at 45 rps (second 3)
    first = points[(points.pipeline == "chain") & (points.window == "a") & (points.interval == 0)]
    assert first.rates.iloc[0] == "main=45"
    own = points[points.pipeline == "shared-detector"].rates.iloc[0]
    assert own == "faces=45;plates=30"  # each flow follows the window of its default rate
    summary = pd.read_csv(out / "summary.csv")
    base = summary[summary.method.isin(["slack-split", "greedy", "nexus", "fixed-batch"])]
    assert (base.cost_vs_opt.dropna() >= 1 - 1e-12).all()
    assert (base["fa2_saving_%"].dropna() >= -1e-9).all()
    fa2 = summary[summary.method == "fa2"]
    assert ((fa2.cost_vs_opt - 1.0).abs() < 1e-12).all()
    assert "fa2_saving_%" in capsys.readouterr().out


def test_compare_baselines_bad_input(tmp_path: Path, capsys) -> None:
    mod = _script()
    rc = mod.main(["--pipelines", str(tmp_path), "--traces", str(tmp_path), "--out",
                   str(tmp_path / "o"), "--no-progress"])
    assert rc == 2
    err = capsys.readouterr().err.strip()
    assert str(tmp_path) in err and "\n" not in err
