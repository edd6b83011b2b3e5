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

import io
import json
import warnings
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd

from ..answer import STATUSES, Answer
from ..spec import REL_TOL
from ..verify import matches
from .runner import RAW_COLUMNS

# a resumed table larger than this is refused unread (~1M rows of a run; pandas holds it whole)
TABLE_MAX_BYTES = 512 * 2**20

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
    """A per-instance table written by :func:`write_table` or appended by the runner (an
    empty file: no rows, as the runner takes it). InputError naming the file (and row) for
    one that is no such table -- unreadable, not CSV, a foreign header, more fields than
    the header, or a row no run writes (:func:`check_rows`): it would be resumed as
    computed rows (``--resume-any``: whatever computed them) or fail with pandas' message."""
    from ..io import InputError, read_text

    hint = "--fresh starts over"
    try:  # read_text: a pipe must not block, a file past TABLE_MAX_BYTES is refused unread
        text = read_text(path, what="comparison table", limit=TABLE_MAX_BYTES)
    except InputError as exc:
        raise InputError(str(path), "", f"cannot read the comparison table ({exc.reason}; "
                                        f"{hint})") from None
    if not text:
        return pd.DataFrame(columns=list(RAW_COLUMNS + PROVENANCE_COLUMNS))
    try:
        with warnings.catch_warnings():  # more fields than the header: data lost, an error
            warnings.simplefilter("error", pd.errors.ParserWarning)
            df = pd.read_csv(io.StringIO(text), index_col=False,
                             dtype={"suite": str, "instance": str, "method": str,
                                    "status": str, "check": str, "message": str,
                                    "formulation": str, "breakdown_ms": str, "code": str,
                                    "settings": str, "input": str})
    except (pd.errors.ParserError, pd.errors.EmptyDataError,
            pd.errors.ParserWarning) as exc:
        raise InputError(str(path), "", f"cannot read the comparison table "
                                        f"({exc.__class__.__name__}; {hint})") from None
    missing = [c for c in RAW_COLUMNS if c not in df.columns
               and c not in ("formulation", "objective")]  # older tables lack these two
    if missing:
        raise InputError(str(path), missing[0], "missing column (not a comparison table)")
    df = df.reindex(columns=list(RAW_COLUMNS + PROVENANCE_COLUMNS))  # older tables: no provenance
    check_rows(df, str(path))
    return df.drop_duplicates(subset=KEY, keep="last")


NUMBER_COLUMNS = ("nodes", "edges", "flows", "configs", "log10_combinations", "cost",
                  "objective", "lower_bound", "solve_ms")
# what solve_row writes: the spec's statuses and the harness's own two
ROW_STATUSES = STATUSES + ("timeout", "refused")


def check_rows(df: pd.DataFrame, shown: str) -> None:
    """InputError naming the first row (1 = the first after the header) no run writes: an
    empty suite, instance or method, a status not in :data:`ROW_STATUSES` (a row cut short
    has none), ``verified`` not true/false, a number column holding text or an infinity, an
    ``optimal``/``feasible`` row without a cost, a negative cost or time, a verified row
    whose check is not 'ok', or a ``breakdown_ms`` that is not a JSON object of numbers."""
    from ..io import InputError

    def fail(mask: Any, column: str, reason: str) -> None:
        bad = np.flatnonzero(np.asarray(mask, dtype=bool))
        if bad.size:
            i = int(bad[0])
            x = df[column].iloc[i]
            got = "nothing" if pd.isna(x) else repr(str(x))
            raise InputError(shown, f"row {i + 1}.{column}", f"{reason} (got {got}; not a row "
                             f"a comparison writes: fix or delete it, or --fresh starts over)")

    for c in KEY:
        fail(df[c].isna(), c, "missing")
    fail(~df["status"].isin(ROW_STATUSES), "status", "not a status")
    fail(~df["verified"].map(lambda x: str(x).strip().lower() in ("true", "false")),
         "verified", "not true or false")
    for c in NUMBER_COLUMNS:
        num = pd.to_numeric(df[c], errors="coerce")
        fail((df[c].notna() & num.isna()) | np.isinf(num.astype(float)), c, "not a finite number")
    fail(df["status"].isin(("optimal", "feasible")) & df["cost"].isna(), "cost", "missing")
    for c in ("cost", "solve_ms"):  # (a cost is a sum of prices times replicas)
        fail(pd.to_numeric(df[c], errors="coerce") < 0, c, "must be >= 0")
    # a verified row's check is 'ok' ('not checked (refused)' for a refusal); other text is
    # a failed check's message, which only an unverified row carries
    verified = df["verified"].map(lambda x: str(x).strip().lower() == "true")
    fail(verified & ~df["check"].isin(("ok", "not checked (refused)")), "check",
         "not what a verified row's check says ('ok')")
    fail(df["breakdown_ms"].map(lambda x: not pd.isna(x) and not _breakdown(x)),
         "breakdown_ms", "not a JSON object of milliseconds")


def _breakdown(text: Any) -> bool:
    """Whether ``text`` has the form solve_row writes as ``breakdown_ms``: a JSON object of
    numbers (milliseconds by step name)."""
    try:
        value = json.loads(str(text))
    except (ValueError, RecursionError):
        return False
    return isinstance(value, dict) and all(
        isinstance(v, (int, float)) and not isinstance(v, bool) for v in value.values())


def write_table(df: pd.DataFrame, path: Path) -> None:
    """Write the table (CSV; a ``.parquet`` suffix writes Parquet when pyarrow is present)."""
    if path.suffix == ".parquet":
        df.to_parquet(path, index=False)
    else:
        df.to_csv(path, index=False)
