"""Optimality regression on the committed regression suite (``datasets/suites/regression``).

* the exact ``fa2`` matches the MILP on 100% of instances with a proven MILP answer;
* ``fa2-grid``'s answers always pass the independent check and its lower bound never
  exceeds the proven optimum;
* ``fa2-grid``'s match rate at each grid step is at least the floor recorded in
  ``datasets/regression_floors.json`` from the first honest run (raising a floor is a
  deliberate commit: ``fa2opt compare … --record-floors``).

On the main job's extension suites (``pipelines+capacity``, ``+accuracy``, ``+switch``,
``+combined`` and generated instances with all of them; issue 14) the exact ``fa2`` matches
the MILP's objective on 100% of instances with a proven MILP answer, and ``fa2-grid``
either honours an extension (its answers pass the check, lower bounds hold) or refuses it.

By default a seeded subset of the suite runs (set ``subset`` of the floors file, whose
``note`` says how its instances were chosen; well under a minute on two cores); the whole
suite is the ``slow`` test (set ``full``: about 17 minutes on two cores, with the per-method
timeout the floors were measured under -- a timeout counts as a miss, so a much slower
machine can fall below a floor there).
"""

from __future__ import annotations

import pytest

from fa2opt.compare import run_compare
from fa2opt.compare.floors import FLOORS_FILE, load_floors
from fa2opt.compare.suites import DATASETS_DIR

FLOORS = load_floors(FLOORS_FILE)


def _check_set(name: str, tmp_path) -> None:
    entry = FLOORS["sets"][name]
    assert entry["suite"] == "regression" and entry["reference"] == "milp"
    grids = list(entry["floors_pct"])
    assert grids, "the floors file names no fa2-grid step"
    res = run_compare(tmp_path, suites=["regression"], methods=["milp", "fa2", *grids],
                      reference="milp", seed=entry["seed"], limit=entry["limit"],
                      only=entry["instances"], time_limit=entry["time_limit_s"],
                      method_timeout=entry["method_timeout_s"], plots=False, progress=False,
                      datasets=DATASETS_DIR)
    table, summary = res["table"], res["summary"].set_index("method")
    ids = sorted(set(table["instance"]))
    assert ids == entry["instances"], (
        "the regression suite or its subset changed since the floors were recorded; "
        "re-record them deliberately (fa2opt compare --record-floors)")
    proven = table[(table["method"] == "milp") & table["proven"].astype(bool)]
    assert len(proven) > 0.9 * len(ids), "the MILP proved too few instances to judge"

    exact = table[(table["method"] == "fa2") & table["proven"].astype(bool)]
    missed = exact[exact["match"] != True]  # noqa: E712 -- object column
    assert missed.empty, f"fa2 misses the optimum on {list(missed['instance'])}"

    for g in grids:
        rows = table[table["method"] == g]
        bad = rows[~rows["verified"].astype(bool) | (rows["status"] == "error")]
        assert bad.empty, f"{g}: answers failing the check on {list(bad['instance'])}: " \
                          f"{list(bad['check'])[:3]}"
        above = rows[rows["lb_ok"].map(lambda x: x is False)]
        assert above.empty, f"{g}: lower bound above the optimum on {list(above['instance'])}"
        rate, floor = float(summary.loc[g, "match_pct"]), entry["floors_pct"][g]
        assert rate >= floor - 1e-9, f"{g}: match rate {rate:.2f}% fell below its floor {floor:.2f}%"


def test_regression_subset(tmp_path):
    _check_set("subset", tmp_path)


@pytest.mark.slow
def test_regression_full_suite(tmp_path):
    _check_set("full", tmp_path)


EXTENSION_SUITES = ("pipelines+capacity", "pipelines+accuracy", "pipelines+switch",
                    "pipelines+combined", "generated:mixed:12+combined")


def _check_extensions(tmp_path, limit: int | None, percentiles: tuple[float, ...]) -> None:
    res = run_compare(tmp_path, suites=list(EXTENSION_SUITES),
                      methods=["milp", "fa2", "fa2-grid-1ms"], reference="milp", seed=0,
                      limit=limit, percentiles=percentiles, time_limit=60,
                      method_timeout=300, plots=False, progress=False, datasets=DATASETS_DIR)
    table = res["table"]
    assert not res["failed"], res["failed"]
    assert set(table["suite"]) == {s.replace(":12", "").replace("generated:", "generated-")
                                   for s in EXTENSION_SUITES}
    milp = table[table["method"] == "milp"]
    assert milp["proven"].astype(bool).all(), "the MILP left an extended instance unproven"
    assert (milp["formulation"] != "base").all()
    exact = table[table["method"] == "fa2"]
    missed = exact[exact["match"] != True]  # noqa: E712 -- object column
    assert missed.empty, f"fa2 misses the optimum on {list(zip(missed['suite'], missed['instance']))}"
    grid = table[table["method"] == "fa2-grid-1ms"]
    honoured = grid[grid["status"] != "refused"]
    assert honoured["verified"].astype(bool).all()
    assert not honoured["lb_ok"].map(lambda x: x is False).any()
    # the grid honours switch (a row term) everywhere, so refusals come from budgets only
    assert (grid.loc[grid["suite"] == "pipelines+switch", "status"] != "refused").all()


def test_extension_suites_subset(tmp_path):
    _check_extensions(tmp_path, limit=8, percentiles=(50.0, 100.0))


@pytest.mark.slow
def test_extension_suites_full(tmp_path):
    _check_extensions(tmp_path, limit=None, percentiles=(5.0, 50.0, 95.0, 100.0))
