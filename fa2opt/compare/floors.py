"""Match-rate floors of ``fa2-grid``: recorded from an honest run, asserted by the tests.

The floors file (``datasets/regression_floors.json``) holds, per named *set* of instances
of one suite (``full``, or a seeded ``subset`` for the default test run), the ids of the
instances, how and when the rates were measured, and per grid-step label the measured
match rate in percent. ``tests/test_optimality_regression.py`` re-runs the same set and
fails if any rate drops below its floor. Floors are written only by
``fa2opt compare … --record-floors PATH`` (raising a floor is a deliberate commit).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pandas as pd

from ..io import InputError, output_file, read_document
from .plots import _grid_ms

FLOORS_FILE = Path(__file__).resolve().parents[2] / "datasets" / "regression_floors.json"
ABOUT = ("fa2-grid match-rate floors (percent of instances with a proven MILP answer on which "
         "fa2-grid's answer matches it), per grid step, measured by an honest run of "
         "fa2opt compare and asserted by tests/test_optimality_regression.py. A change that "
         "lowers a rate fails the test; raising a floor is a deliberate commit "
         "(fa2opt compare ... --record-floors).")


OPTION = "--record-floors"


def load_floors(path: Path = FLOORS_FILE) -> dict[str, Any]:
    return json.loads(Path(path).read_text(encoding="utf-8"))


def check_floors_file(path: str | Path) -> dict[str, Any]:
    """The floors document ``--record-floors PATH`` adds a set to: the existing file's,
    checked, or a new one where there is none. Called before the comparison runs (a file of
    the wrong shape failed only after it, as a traceback); InputError naming the file and
    the option otherwise."""
    path = output_file(path, OPTION)
    existed = path.exists()
    try:  # opened for appending (and a new one taken away again): os.access cannot tell
        # (as root, /proc passed it), and the write is at the end of the run
        open(path, "ab").close()
        if not existed:
            path.unlink()
    except OSError as exc:
        raise InputError(str(path), OPTION, f"cannot be written ({exc.strerror or exc})") from None
    if not existed:
        return {"about": ABOUT, "sets": {}}
    try:  # (one reader of JSON documents: io's, as for instances)
        doc = read_document(path)
    except InputError as exc:  # (malformed, not UTF-8, not an object: say which option)
        raise InputError(exc.file, OPTION, exc.reason) from None
    if not isinstance(doc.get("sets", {}), dict):
        raise InputError(str(path), OPTION, "sets: must be an object (of floors sets by name)")
    return doc


def record_floors(path: str | Path, set_name: str, *, suite: str, table: pd.DataFrame,
                  summary: pd.DataFrame, run: dict[str, Any], env: dict[str, Any],
                  note: str | None = None) -> dict[str, Any]:
    """Write (or replace) one set's floors from a finished run; returns that entry.
    ``note`` (e.g. how a subset was chosen) is kept beside the numbers."""
    rows = summary[(summary["suite"] == suite) & summary["method"].map(lambda m: _grid_ms(m) is not None)]
    if rows.empty:
        raise ValueError(f"no fa2-grid results on suite {suite!r} to record floors from")
    ids = sorted(set(table.loc[table["suite"] == suite, "instance"]))
    proven = int(rows["proven"].iloc[0])
    entry = {
        "suite": suite, "reference": run.get("reference"), "limit": run.get("limit"),
        "seed": run.get("seed"), "time_limit_s": run.get("time_limit_s"),
        "method_timeout_s": run.get("method_timeout_s"),
        "instances": ids, "proven": proven,
        # rounded *down* to 1e-6 %, so the measured rate itself always meets its floor
        "floors_pct": {r.method: math.floor(float(r.match_pct) * 1e6) / 1e6
                       for r in rows.itertuples()},
        "matches": {r.method: int(r.matches) for r in rows.itertuples()},
        "measured": {"date": env["date"], "git": env.get("git"),
                     "machine": f"{env['cpu']}, {env['cores']} cores",
                     "versions": {k: env[k] for k in ("python", "pyomo", "highspy", "numpy")},
                     "command": run.get("command")},
    }
    path = Path(path)
    if note:
        entry["note"] = note
    doc = check_floors_file(path)  # (again: the file may have changed during the run)
    doc["about"] = ABOUT
    doc.setdefault("sets", {})[set_name] = entry
    path.write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")
    return entry
