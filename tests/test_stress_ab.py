"""scripts/stress_families.py --one with --ab / --rounds: a tuning constant measured side by
side with fa2 as it is, in one process; the setting in force for the set runs only, every
answer matched against the MILP's, bad settings refused with one line."""

from __future__ import annotations

import csv
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))

import stress_families  # noqa: E402

from fa2opt import Problem, cpu_kernels, tree_kernel  # noqa: E402
from fa2opt.extensions import lp_search  # noqa: E402
from fa2opt.generate import FAMILIES  # noqa: E402
from fa2opt.reductions import flow_bound  # noqa: E402

search = sys.modules["fa2opt.reductions.search"]  # (the package's `search` is the function)


def chain(seed: int = 3) -> Problem:
    return Problem.from_instance(FAMILIES["small"].generator(np.random.default_rng(seed), 4, "chain"))


def test_the_setting_holds_for_the_set_runs_only():
    # conftest turns the compiled tree DP off for this test; --ab turns it on for fa2_set
    cpu_kernels.warm_up()
    assert tree_kernel.ENABLED is False
    ab = stress_families.constants(["fa2opt.tree_kernel.ENABLED=True"])
    out = stress_families.pair(chain(), 10.0, 3, ab)
    assert out["fa2_set"].extra.get("compiled") is True
    assert not out["fa2"].extra.get("compiled")
    assert tree_kernel.ENABLED is False  # restored after every set run
    assert out["match"] == "yes"
    assert out["fa2_set_least_ms"] <= out["fa2_set_ms"] and out["milp_least_ms"] <= out["milp_ms"]


def test_a_setting_reaches_the_modules_that_imported_the_constant():
    ab = stress_families.constants(["fa2opt.reductions.search.PRUNE_TOL=0.5"])
    assert {(m.__name__, a, v) for m, a, v in ab} >= {
        ("fa2opt.reductions.search", "PRUNE_TOL", 0.5),
        ("fa2opt.extensions.lp_search", "PRUNE_TOL", 0.5)}
    with stress_families.applied(ab):
        assert search.PRUNE_TOL == lp_search.PRUNE_TOL == 0.5
    assert search.PRUNE_TOL == lp_search.PRUNE_TOL == 1e-10


@pytest.mark.parametrize("text, reason", [
    ("JUDGE_FLAT=3", "expected fa2opt.MODULE.NAME=VALUE"),
    ("fa2opt.reductions.flow_bound.JUDGE_FLAT", "expected fa2opt.MODULE.NAME=VALUE"),
    ("fa2opt.nowhere.X=1", "no module 'fa2opt.nowhere'"),
    ("fa2opt.reductions.flow_bound.NO_SUCH=1", "has no 'NO_SUCH'"),
    ("fa2opt.reductions.flow_bound.JUDGE_FLAT=ten", "not a Python literal"),
    ("fa2opt.reductions.flow_bound.JUDGE_FLAT=2.5", "JUDGE_FLAT is int, not float"),
])
def test_bad_settings_are_refused_with_one_line(text, reason, capsys):
    with pytest.raises(ValueError, match=reason):
        stress_families.constants([text])
    with pytest.raises(SystemExit) as exc:
        stress_families.main(["--one", "small", "4xchain", "3", "--ab", text])
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert reason in err[-1] and "Traceback" not in "".join(err)


def test_one_instance_side_by_side_writes_both_runs(tmp_path, capsys):
    assert stress_families.main(["--one", "small", "4xchain", "3", "--edge", "-1",
                                 "--rounds", "2", "--time-limit", "10", "--ab",
                                 "fa2opt.reductions.flow_bound.JUDGE_FLAT=1",
                                 "--out", str(tmp_path)]) == 0
    rows = list(csv.DictReader(open(tmp_path / "runs.csv")))
    assert [r["variant"] for r in rows] == ["base", "edge-1"]
    for r in rows:
        assert r["match"] == "yes" and r["fa2_set_status"] == r["fa2_status"]
        assert float(r["fa2_least_ms"]) <= float(r["fa2_ms"])
        assert r["fa2_set_search_nodes"] and r["fa2_set_dp_solves"]
    assert flow_bound.JUDGE_FLAT == 25
    out = capsys.readouterr().out
    assert out.count("fa2 with --ab") == 2 and "over 2 round(s)" in out


def test_ab_and_rounds_need_one():
    with pytest.raises(SystemExit) as exc:
        stress_families.main(["--draws", "1", "--rounds", "2"])
    assert exc.value.code == 2


@pytest.mark.parametrize("one, reason", [
    (["nosuch", "4", "3"], "no family 'nosuch'"),
    (["lattice", "4", "3"], "'4' is not a size of lattice"),
    (["small", "4xnosuch", "3"], "'4xnosuch' is not a size of small"),
    (["random", "30", "x"], "the seed 'x' is not a non-negative integer"),
])
def test_one_refuses_what_it_cannot_draw_with_one_line(one, reason, capsys):
    with pytest.raises(SystemExit) as exc:
        stress_families.main(["--one", *one])
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert reason in err[-1] and "Traceback" not in "".join(err)


def test_sizes_read_back_as_the_generators_take_them():
    assert stress_families.parse_size("12x12") == (12, 12)
    assert stress_families.parse_size("35x0.1") == (35, 0.1)
    assert stress_families.parse_size("4xchain") == (4, "chain")
