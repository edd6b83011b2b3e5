"""Audit a34c F14: names with ``$...$`` (valid per the spec) reached matplotlib's mathtext
parser through plot titles, legends and tick labels: ``evaluate --out`` ended in a
traceback and ``compare`` in a garbled four-line error, after all the work. Every plot
function now draws text literally (:func:`fa2opt.plotting.literal_text`)."""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any, Callable

import matplotlib
import pandas as pd
import pytest

from fa2opt.cli import main
from fa2opt.compare.plots import plot_match_vs_grid, plot_time_by_method, plot_time_vs_size
from fa2opt.experiments.match import plot_match
from fa2opt.experiments.savings import plot_heatmaps
from fa2opt.experiments.violations import plot_curves, plot_savings

# each raises in mathtext: an unknown symbol, \frac without arguments, an open brace
NAMES = ["a$\\foo{$b", "$\\frac$", "d$\\bad$"]


def test_evaluate_plots_names_with_dollars(tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    inst = {"name": NAMES[0], "queueing": "batch-fill",
            "flows": [{"name": NAMES[1], "rate_rps": 40, "sla_ms": 300, "nodes": [NAMES[2]]}],
            "nodes": [{"name": NAMES[2], "configs": [
                {"batch": 1, "hardware": "cpu", "units": 1, "latency_ms": 30},
                {"batch": 4, "hardware": "cpu", "units": 1, "latency_ms": 80}]}]}
    (tmp_path / "i.json").write_text(json.dumps(inst))
    (tmp_path / "t.csv").write_text("second,rps\n" + "".join(f"{s},{30 + s % 7}\n" for s in range(30)))
    out = tmp_path / "out"
    rc = main(["evaluate", str(tmp_path / "i.json"), "--trace", str(tmp_path / "t.csv"),
               "-m", "brute-force", "--json", "--no-progress", "--out", str(out)])
    assert rc == 0, capsys.readouterr().err
    assert sorted(p.suffix for p in out.iterdir()) == [".csv"] * 3 + [".png"] * 2


M1, M2, SUITE = NAMES  # labels drawn as given: legends, titles, tick labels
TABLE = pd.DataFrame({"method": [M1, M1, M2, M2], "solve_ms": [1.0, 2.0, 3.0, 4.0],
                      "nodes": [2, 3, 2, 3], "configs": [10, 40, 10, 40]})
PLOTS: dict[str, Callable[[Callable[[str], Path]], Any]] = {
    "compare-match-vs-grid": lambda path_of: plot_match_vs_grid(
        pd.DataFrame({"suite": [SUITE] * 2, "method": ["fa2", "fa2-grid-5ms"],
                      "match_pct": [100.0, 97.0]}), path_of("grid.png")),
    "compare-time-by-method": lambda path_of: plot_time_by_method(TABLE, [M1, M2],
                                                                  path_of("by_method.png")),
    "compare-time-vs-size": lambda path_of: plot_time_vs_size(TABLE, [M1, M2],
                                                              path_of("vs_size.png")),
    "experiment-match": lambda path_of: plot_match(
        pd.DataFrame({"method": [M1, M1], "step": [SUITE, SUITE], "k": [1.5, 2.0],
                      "match_pct": [90.0, 95.0]}), path_of),
    "experiment-heatmaps": lambda path_of: plot_heatmaps(
        pd.DataFrame({"hardware": ["cpu"], "method": [M1], "k": [2.0], "load": [1.0],
                      "saving_pct": [10.0], "no_solution": [0], "infeasible": [0]}), path_of),
    "experiment-curves": lambda path_of: plot_curves(  # through compare's finish_panels
        pd.DataFrame({"hardware": ["cpu"] * 2, "pipeline": [SUITE] * 2, "window": [M2] * 2,
                      "method": [M1] * 2, "violation_pct": [1.0, 2.0],
                      "violation_ci95": [0.1, 0.1], "mean_cost": [5.0, 4.0],
                      "mean_cost_ci95": [0.2, 0.2]}), [1.0], path_of),
    "experiment-savings": lambda path_of: plot_savings(
        pd.DataFrame({"hardware": ["cpu"], "method": [M1], "level_pct": [1.0],
                      "saving_pct": [10.0], "ci95": [1.0]}), path_of),
}


@pytest.mark.parametrize("plot", PLOTS)
def test_compare_and_experiment_plots_names_with_dollars(tmp_path: Path, plot: str) -> None:
    PLOTS[plot](lambda name: tmp_path / name)
    assert len(list(tmp_path.glob("*.png"))) == 1
    # the setting holds only while a plot is drawn: the user's matplotlib is left as it was
    assert matplotlib.rcParams["text.parse_math"] is True


def test_missing_glyphs_are_not_warned(tmp_path: Path) -> None:
    """A NUL or control character in a name is drawn as a box, without matplotlib's two
    lines of warning per character on stderr."""
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        assert plot_time_by_method(TABLE.replace({M1: "a\x00b\x01"}), ["a\x00b\x01", M2],
                                   tmp_path / "t.png")
    assert [str(w.message) for w in seen if "Glyph" in str(w.message)] == []


def test_no_plot_module_bypasses_the_shared_helper() -> None:
    """A module that imports pyplot itself would draw names as mathtext again."""
    root = Path(__file__).resolve().parents[1] / "fa2opt"
    direct = [str(p.relative_to(root)) for p in root.rglob("*.py")
              if p.name != "plotting.py" and "matplotlib.pyplot" in p.read_text(encoding="utf-8")]
    assert direct == []
