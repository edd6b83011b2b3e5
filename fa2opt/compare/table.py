"""The per-instance table: raw rows from the workers plus columns judged against the
reference method (``milp`` by default) of the same instance.

Derived columns (recomputed from the raw ones on every save, so a resumed table is judged
the same way as a fresh one):

``ref_status``, ``ref_cost``
    the reference method's answer on the instance.
``proven``
    the reference proved its answer (``optimal`` or ``infeasible``) and that answer passed
    the independent check. Only proven instances count for match rates; a reference that
    stopped on its time limit (``time_limit``) is reported apart (spec).
``match``
    on proven instances: the method's answer passed the check and
    :func:`fa2opt.verify.matches` the reference (both infeasible, or equal objective --
    the cost on the base problem -- within 1e-9·max(1, |objective|)); empty otherwise.
``gap``
    (objective − optimum) / |optimum| for a checked decision on an instance the reference
    solved ``optimal`` (0 for a match); empty otherwise.
``lb_ok``
    a reported ``lower_bound`` does not exceed the proven optimum (1e-9 relative).
``infeasible_agree``
    on proven instances where either side says ``infeasible``: whether both do.
``speedup``
    the reference's decision time divided by the method's, on the same instance (paired).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd

from ..answer import Answer
from ..spec import REL_TOL
from ..verify import matches
from .runner import RAW_COLUMNS

DERIVED_COLUMNS = ("ref_status", "ref_cost", "proven", "match", "gap", "lb_ok",
                   "infeasible_agree", "speedup")
# Which code and settings computed a row, and on which input (a hash of the instance as
# solved: fa2opt.compare.cli.input_id), set by the run, not the worker: a rerun resumes only
# rows whose provenance is its own (fa2opt.compare.cli.run_compare), so an instance file
# edited between runs is solved again.
PROVENANCE_COLUMNS = ("code", "settings", "input")
COLUMNS = RAW_COLUMNS + PROVENANCE_COLUMNS + DERIVED_COLUMNS
KEY = ["suite", "instance", "method"]
PROVEN = ("optimal", "infeasible")
# Columns that depend on timing or the machine, left out of reproducibility comparisons.
TIMING_COLUMNS = ("solve_ms", "breakdown_ms", "speedup")


def _cost(x: Any) -> float | None:
    return None if x is None or (isinstance(x, float) and np.isnan(x)) else float(x)


def _answer(status: str, cost: Any, objective: Any = None) -> Answer:
    return Answer(status=status, method="", cost=_cost(cost), objective=_cost(objective))


def _objective(cost: Any, objective: Any) -> float | None:
    """The row's objective: its own column, else (older tables, the base problem) the cost."""
    value = _cost(objective)
    return _cost(cost) if value is None else value


def _as_bool(x: Any) -> bool:
    if isinstance(x, str):
        return x.strip().lower() == "true"
    return bool(x) if x is not None and not (isinstance(x, float) and np.isnan(x)) else False


def annotate(raw: pd.DataFrame, reference: str, method_order: Sequence[str] = ()) -> pd.DataFrame:
    """Add the derived columns and sort by (suite, instance, method order)."""
    df = raw.reindex(columns=list(RAW_COLUMNS + PROVENANCE_COLUMNS)).copy()
    df["verified"] = df["verified"].map(_as_bool)
    ref = (df[df["method"] == reference]
           .set_index(["suite", "instance"])[["status", "cost", "objective", "solve_ms",
                                              "verified"]]
           .rename(columns=lambda c: "ref_" + c))
    df = df.join(ref, on=["suite", "instance"])
    out: dict[str, list[Any]] = {c: [] for c in DERIVED_COLUMNS}
    for r in df.itertuples(index=False):
        ref_status = r.ref_status if isinstance(r.ref_status, str) else None
        proven = ref_status in PROVEN and _as_bool(r.ref_verified)
        match = gap = lb_ok = agree = None
        ref_cost = _cost(r.ref_cost)
        cost = _objective(r.cost, r.objective)
        ref_obj = _objective(r.ref_cost, r.ref_objective)
        if proven:
            match = bool(r.verified) and matches(_answer(r.status, r.cost, cost),
                                                 _answer(ref_status, r.ref_cost, ref_obj))
            if "infeasible" in (r.status, ref_status):
                agree = r.status == ref_status
            if ref_status == "optimal" and r.verified and cost is not None:
                gap = (0.0 if match else (cost - ref_obj) / abs(ref_obj) if ref_obj
                       else float("inf"))
            lb = _cost(r.lower_bound)
            if ref_status == "optimal" and lb is not None:
                lb_ok = lb <= ref_obj + REL_TOL * max(1.0, abs(ref_obj))
        speed = None
        t, t_ref = _cost(r.solve_ms), _cost(r.ref_solve_ms)
        if t is not None and t_ref is not None and t > 0:
            speed = t_ref / t
        out["ref_status"].append(ref_status)
        out["ref_cost"].append(ref_cost)
        out["proven"].append(proven)
        out["match"].append(match)
        out["gap"].append(gap)
        out["lb_ok"].append(lb_ok)
        out["infeasible_agree"].append(agree)
        out["speedup"].append(speed)
    df = df.drop(columns=["ref_status", "ref_cost", "ref_objective", "ref_solve_ms",
                          "ref_verified"])
    for c in DERIVED_COLUMNS:
        df[c] = pd.Series(out[c], index=df.index, dtype=object)
    order = {m: i for i, m in enumerate(method_order)}
    df["_m"] = df["method"].map(lambda m: order.get(m, len(order)))
    df = df.sort_values(["suite", "instance", "_m", "method"], kind="stable").drop(columns="_m")
    return df.reset_index(drop=True).loc[:, list(COLUMNS)]


def read_table(path: Path) -> pd.DataFrame:
    """A per-instance table written by :func:`write_table` or appended by the runner."""
    df = pd.read_csv(path, dtype={"suite": str, "instance": str, "method": str,
                                  "status": str, "check": str, "message": str,
                                  "formulation": str,
                                  "breakdown_ms": str, "code": str, "settings": str,
                                  "input": str})
    missing = [c for c in RAW_COLUMNS if c not in df.columns
               and c not in ("formulation", "objective")]  # older tables lack these two
    if missing:
        from ..io import InputError

        raise InputError(str(path), missing[0], "missing column (not a comparison table)")
    df = df.reindex(columns=list(RAW_COLUMNS + PROVENANCE_COLUMNS))  # older tables: no provenance
    return df.drop_duplicates(subset=KEY, keep="last")


def write_table(df: pd.DataFrame, path: Path) -> None:
    """Write the table (CSV; a ``.parquet`` suffix writes Parquet when pyarrow is present)."""
    if path.suffix == ".parquet":
        df.to_parquet(path, index=False)
    else:
        df.to_csv(path, index=False)
