"""Done-when of issue 3: every pipeline in ``datasets/pipelines/`` and every regression-suite
instance solves with ``--method milp`` to a verified ``optimal`` or ``infeasible``, and on
the suite instances small enough for brute force the two agree."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from fa2opt import Problem, load_instance, solve, verify
from fa2opt.cli import main as cli_main
from fa2opt.verify import matches

REPO = Path(__file__).resolve().parents[1]
PIPELINES = sorted((REPO / "datasets" / "pipelines").glob("*.json"))
SUITE = REPO / "datasets" / "suites" / "regression"
SUITE_FILES = sorted(SUITE.glob("[0-9]*.json"))


def _log10_combinations() -> dict[str, float]:
    manifest = SUITE / "manifest.csv"
    if not manifest.exists():
        return {}
    with open(manifest, newline="") as fh:
        return {r["file"]: float(r["log10_combinations"]) for r in csv.DictReader(fh)}


def _check(path: Path) -> None:
    problem = Problem.from_instance(load_instance(path))
    ans = solve(problem, "milp")  # fa2opt.solve verifies every answer
    assert ans.status in ("optimal", "infeasible"), (path.name, ans.status, ans.message)
    assert (ans.status == "optimal") == problem.is_feasible(), path.name
    if ans.has_decision:
        assert verify(problem.instance, ans).ok, path.name


@pytest.mark.skipif(not PIPELINES, reason="datasets/pipelines/ not derived yet")
@pytest.mark.parametrize("path", PIPELINES, ids=lambda p: p.stem)
def test_every_pipeline_solves(path: Path) -> None:
    _check(path)


@pytest.mark.skipif(not PIPELINES, reason="datasets/pipelines/ not derived yet")
def test_cli_over_all_pipelines(capsys) -> None:
    """``fa2opt solve --method milp --json`` over every pipeline file in one call."""
    assert cli_main(["solve", *map(str, PIPELINES), "--method", "milp", "--json"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    answers = [json.loads(line) for line in lines if line.startswith("{")]
    assert len(answers) == len(PIPELINES)
    assert all(a["status"] in ("optimal", "infeasible") for a in answers)


@pytest.mark.skipif(not SUITE_FILES, reason="datasets/suites/regression/ not generated yet")
def test_every_regression_instance_solves() -> None:
    """The whole suite (300 instances: about 8 s on the 2-core dev machine, so not slow)."""
    for path in SUITE_FILES:
        _check(path)


def _brute_force_sized(limit: float) -> list[Path]:
    sizes = _log10_combinations()
    return [p for p in SUITE_FILES if sizes.get(p.name, 99.0) <= limit]


@pytest.mark.skipif(not SUITE_FILES, reason="datasets/suites/regression/ not generated yet")
def test_regression_instances_match_brute_force() -> None:
    paths = _brute_force_sized(5.0)  # ≤ 10^5 combinations: instant for brute force
    assert paths, "no small instance in the suite"
    for path in paths:
        problem = Problem.from_instance(load_instance(path))
        exact, got = solve(problem, "brute-force"), solve(problem, "milp")
        assert exact.status in ("optimal", "infeasible")
        assert got.status == exact.status and matches(got, exact), path.name


@pytest.mark.slow
@pytest.mark.skipif(not SUITE_FILES, reason="datasets/suites/regression/ not generated yet")
def test_regression_instances_match_brute_force_up_to_guard() -> None:
    for path in _brute_force_sized(6.3):  # up to brute force's 2·10^6 guard
        problem = Problem.from_instance(load_instance(path))
        exact, got = solve(problem, "brute-force"), solve(problem, "milp")
        assert got.status == exact.status and matches(got, exact), path.name
