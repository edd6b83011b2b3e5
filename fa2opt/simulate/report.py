"""Tables and files of an evaluation: a fixed-width text table of the summary rows, and
CSV + PNG outputs (summary, per-flow rows, the decision log, plots)."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

from ..io import file_stem
from .plots import plot_latency_cdf, plot_timeline
from .run import Run, Workload

TABLE_COLUMNS = (("method", "method", "{}"), ("requests", "requests", "{:d}"),
                 ("violation_pct", "viol%", "{:.2f}"),
                 ("worst_flow_violation_pct", "worst flow viol%", "{:.2f}"),
                 ("p50_ms", "p50 ms", "{:.1f}"), ("p99_ms", "p99 ms", "{:.1f}"),
                 ("mean_cost", "mean cost", "{:.2f}"), ("mean_model_cost", "model cost", "{:.2f}"),
                 ("reconfigurations", "reconfs", "{:d}"), ("row_changes", "row changes", "{:d}"),
                 ("kept", "kept", "{:d}"),
                 ("decide_ms_mean", "decide ms", "{:.2f}"), ("sim_s", "sim s", "{:.2f}"))


def format_table(rows: Sequence[Mapping[str, Any]], extra: Iterable[str] = ()) -> str:
    """Fixed-width table: the standard columns, every ``unit_s[...]`` column, then ``extra``."""
    cols = list(TABLE_COLUMNS)
    hw = sorted({k for r in rows for k in r if k.startswith("unit_s[")})
    cols += [(k, k, "{:.0f}") for k in hw] + [(k, k, "{}") for k in extra]
    cells = [[h for _, h, _ in cols]]
    for r in rows:
        line = []
        for key, _, fmt in cols:
            v = r.get(key)
            try:
                line.append("-" if v is None else fmt.format(v))
            except (ValueError, TypeError):
                line.append(str(v))
        cells.append(line)
    widths = [max(len(c[i]) for c in cells) for i in range(len(cols))]
    return "\n".join("  ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(line, widths)))
                     for line in cells)


def json_row(row: Mapping[str, Any]) -> str:
    """A summary row as one line of strict JSON: a metric the run leaves undefined (NaN:
    percentiles and violation rates when no request was measured) is ``null``, as the text
    table's ``nan`` (``json.dumps`` wrote ``NaN``, which JSON parsers refuse)."""
    def value(x: Any) -> Any:
        x = x.item() if hasattr(x, "item") else x
        return None if isinstance(x, float) and not math.isfinite(x) else x

    return json.dumps({k: value(v) for k, v in row.items()}, allow_nan=False)


def write_csv(rows: Sequence[Mapping[str, Any]], path: Path) -> None:
    keys: list[str] = []
    for r in rows:
        keys += [k for k in r if k not in keys]
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=keys)
        w.writeheader()
        w.writerows(rows)


def step_rows(run: Run) -> list[dict[str, Any]]:
    """The decision log: per adaptation, forecast, outcome, cost and each node's setting."""
    out = []
    for s, settings in zip(run.loop.steps, run.sim.plan.settings):
        row: dict[str, Any] = {"method": run.method, "time_s": s.time_s, "outcome": s.outcome,
                               "status": s.status, "decide_ms": s.decide_ms,
                               "cost": s.answer.cost}
        row.update({f"forecast[{f}]": r for f, r in s.forecast.items()})
        for v, st in settings.items():
            row[f"{v}.batch"] = st.batch
            row[f"{v}.replicas"] = st.replicas
            row[f"{v}.units"] = st.units
            row[f"{v}.timeout_ms"] = st.timeout_ms
        out.append(row)
    return out


def save_run_outputs(runs: Sequence[Run], workload: Workload, out: Path, label: str) -> str:
    """``{stem}_summary.csv``, ``_flows.csv``, ``_steps.csv``, ``_timeline.png``, ``_cdf.png``
    in ``out``; returns the stem, :func:`~fa2opt.io.file_stem` of ``label`` (user data, an
    instance's name: used raw, ``../x`` or ``/tmp/x`` wrote outside ``out``). The plots'
    titles show ``label`` as it is."""
    out.mkdir(parents=True, exist_ok=True)
    stem = file_stem(label)
    write_csv([r.row for r in runs], out / f"{stem}_summary.csv")
    write_csv([f for r in runs for f in r.flows], out / f"{stem}_flows.csv")
    write_csv([s for r in runs for s in step_rows(r)], out / f"{stem}_steps.csv")
    plot_timeline(runs, workload, out / f"{stem}_timeline.png", title=label)
    plot_latency_cdf(runs, out / f"{stem}_cdf.png", title=label)
    return stem
