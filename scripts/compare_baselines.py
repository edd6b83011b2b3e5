#!/usr/bin/env python3
"""FA2's resource savings over the baselines, over the real pipelines and Twitter traces.

For every pipeline in ``datasets/pipelines/`` (CPU and GPU variants) and every 10-second
adaptation interval of a Twitter trace window (``datasets/traces/twitter_*.csv``), the
instance is solved at that interval's rate by the reference (``milp``; ``fa2`` is exact
too and is cross-checked against it), by ``fa2`` and by every baseline (``slack-split``,
``greedy``, ``nexus``, ``fixed-batch``). Every answer goes through ``fa2opt.solve``, so
every decision is verified.

Rates. The rate of interval i is the *peak* per-second rate of the chosen column within
seconds [10i, 10i+10) -- what an autoscaler that re-plans every 10 s with a perfect
predictor of the next interval's maximum has to provision for. ``--column rps_raw``
(default) is the undamped trace, the scale of the pipelines' default rates (as in
``fa2opt compare`` and ``scripts/evaluate_trace.py``); ``--column rps`` is IPA's load
(damped by 8). A single-flow pipeline is run over every window (``--quick``: ``bursty``
only); in a multi-flow pipeline each flow follows its own window, the one whose mean in
the same column is nearest the flow's default ``rate_rps`` (how the datasets assign them).

Per hardware class (a pipeline is ``gpu`` when any profile row runs on a ``gpu*`` kind)
and method, the summary gives: points solved, ``no_solution`` where a solution exists,
Σ cost / Σ optimum and Σ cost / Σ fa2 over the points the method solved (a point is a
10-s interval, so Σ cost is the resource-time used over the trace), and FA2's saving
1 − Σ fa2 / Σ method -- the number to hold against the paper's 19 % (CPU) / 25 % (GPU).

Outputs under ``--out`` (default ``results/baselines``): ``points.csv`` (one row per point
and method), ``summary.csv``, ``summary.md`` (also printed) and ``cost_over_trace.png``
(cost over the trace window per method, one panel per pipeline; ``bursty`` window / each
multi-flow pipeline's own windows).

    python scripts/compare_baselines.py --quick          # a couple of minutes on 2 cores
    python scripts/compare_baselines.py                  # every window and interval
    python scripts/compare_baselines.py --column rps --out results/baselines-damped
"""

from __future__ import annotations

import argparse
import datetime as _dt
import platform
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # this checkout's code, whatever fa2opt is installed

from fa2opt.compare.plots import finish_panels  # noqa: E402
from fa2opt.compare.suites import TraceWindow, load_trace_windows  # noqa: E402
from fa2opt.io import InputError, load_instance  # noqa: E402
from fa2opt.model import Instance  # noqa: E402
from fa2opt.plotting import literal_text, pyplot  # noqa: E402
from fa2opt.problem import Problem  # noqa: E402
from fa2opt.solver import available_methods, solve  # noqa: E402
BASELINES = ("slack-split", "greedy", "nexus", "fixed-batch")
SOLVED = ("optimal", "feasible")
PLOT_WINDOW = "bursty"


@dataclass(frozen=True)
class Point:
    """One pipeline at one adaptation interval of its trace window(s)."""

    pipeline: str
    hardware: str  # cpu | gpu
    window: str  # a window name, or "own" for multi-flow pipelines
    interval: int
    t_s: int
    rates: tuple[tuple[str, float], ...]  # (flow, rate_rps)


def hardware_class(inst: Instance) -> str:
    return "gpu" if any(c.hardware.startswith("gpu") for n in inst.nodes for c in n.configs) else "cpu"


def interval_peaks(rps: np.ndarray, interval_s: int) -> np.ndarray:
    """Peak per-second rate of each whole ``interval_s``-second interval."""
    n = len(rps) // interval_s
    return rps[: n * interval_s].reshape(n, interval_s).max(axis=1)


def own_windows(inst: Instance, by_mean: Sequence[TraceWindow]) -> dict[str, str]:
    """Each flow's window: the one whose mean is nearest the flow's default rate."""
    return {f.name: min(by_mean, key=lambda w: abs(w.mean - f.rate_rps)).name for f in inst.flows}


def build_points(pipelines: Sequence[Path], traces: Path, column: str, interval_s: int,
                 windows: Sequence[str] | None, every: int) -> tuple[list[Point], dict[str, Instance]]:
    peaks = {w.name: interval_peaks(w.rps, interval_s) for w in load_trace_windows(traces, column)}
    # means in the swept column: matching undamped default rates against damped means
    # sent every flow of a shared graph to the busiest window
    by_mean = load_trace_windows(traces, column)
    points: list[Point] = []
    instances: dict[str, Instance] = {}
    for path in pipelines:
        inst = load_instance(path)
        instances[path.stem] = inst
        hw = hardware_class(inst)
        if len(inst.flows) == 1:
            plan = {w: {inst.flows[0].name: w} for w in (windows or sorted(peaks))}
        else:
            plan = {"own": own_windows(inst, by_mean)}
        for label, assign in plan.items():
            n = min(len(peaks[w]) for w in assign.values())
            for i in range(0, n, every):
                rates = tuple((f, max(float(peaks[w][i]), 1.0)) for f, w in assign.items())
                points.append(Point(path.stem, hw, label, i, i * interval_s, rates))
    return points, instances


def run(points: Sequence[Point], instances: dict[str, Instance], methods: Sequence[str],
        reference: str, max_utilization: float | None, progress: bool) -> pd.DataFrame:
    """Solve every point with every method; identical (pipeline, rates) are solved once."""
    cache: dict[tuple[str, tuple], dict[str, tuple[str, float | None, float, str]]] = {}
    rows = []
    try:
        from tqdm import tqdm
        it = tqdm(points, disable=not progress, desc="points")
    except ImportError:  # pragma: no cover
        it = points
    for pt in it:
        key = (pt.pipeline, pt.rates)
        if key not in cache:
            inst = instances[pt.pipeline].with_rates(rates=dict(pt.rates))
            if max_utilization is not None:
                inst = replace(inst, max_utilization=max_utilization)
            problem = Problem.from_instance(inst)
            res = {}
            for m in dict.fromkeys([reference, *methods]):
                a = solve(problem, m)
                res[m] = (a.status, a.cost, a.solve_ms, a.message or "")
            cache[key] = res
        for m, (status, cost, ms, msg) in cache[key].items():
            rows.append({"pipeline": pt.pipeline, "hardware": pt.hardware, "window": pt.window,
                         "interval": pt.interval, "t_s": pt.t_s,
                         "rates": ";".join(f"{f}={r:g}" for f, r in pt.rates),
                         "method": m, "status": status, "cost": cost, "solve_ms": ms,
                         "message": msg})
    return pd.DataFrame(rows)


def summarize(df: pd.DataFrame, methods: Sequence[str], reference: str) -> pd.DataFrame:
    keys = ["pipeline", "window", "interval"]
    ref = df[df.method == reference].set_index(keys)
    fa2 = df[df.method == "fa2"].set_index(keys) if "fa2" in methods else None
    out = []
    for hw in ("cpu", "gpu", "all"):
        part = df if hw == "all" else df[df.hardware == hw]
        if part.empty:
            continue
        for m in dict.fromkeys([reference, *methods]):
            d = part[part.method == m].set_index(keys)
            r = ref.loc[d.index]
            has_ref = r.status.isin(SOLVED)
            solved = d.status.isin(SOLVED)
            both = solved & has_ref
            row = {"hardware": hw, "method": m, "points": len(d),
                   "solved": int(solved.sum()),
                   "no_solution_where_feasible": int(((d.status == "no_solution") & has_ref).sum()),
                   "errors": int((d.status == "error").sum()),
                   "optimal_points_%": 100.0 * float(
                       (both & np.isclose(d.cost.where(both, 0).astype(float),
                                          r.cost.where(both, 0).astype(float), rtol=1e-9)).sum())
                   / max(1, int(both.sum())),
                   "cost_vs_opt": float(d.cost[both].sum() / r.cost[both].sum()) if both.any() else np.nan}
            if fa2 is not None:
                f = fa2.loc[d.index]
                bf = solved & f.status.isin(SOLVED)
                ratio = float(d.cost[bf].sum() / f.cost[bf].sum()) if bf.any() else np.nan
                row["cost_vs_fa2"] = ratio
                row["fa2_saving_%"] = 100.0 * (1.0 - 1.0 / ratio) if bf.any() else np.nan
            row["median_solve_ms"] = float(d.solve_ms.median())
            out.append(row)
    return pd.DataFrame(out)


def savings_by_pipeline(df: pd.DataFrame, methods: Sequence[str]) -> pd.DataFrame:
    """FA2's saving 1 − Σ fa2 / Σ method per pipeline (points both solved) and, in brackets
    of the CSV column ``<method>_no_solution``, how many points the method left unsolved."""
    keys = ["pipeline", "window", "interval"]
    cost = df.pivot_table(index=keys, columns="method", values="cost", aggfunc="first")
    status = df.pivot_table(index=keys, columns="method", values="status", aggfunc="first")
    rows = []
    for p in sorted(df.pipeline.unique()):
        c, s = cost.loc[p], status.loc[p]
        row: dict[str, object] = {"pipeline": p, "hardware": df[df.pipeline == p].hardware.iloc[0],
                                  "points": len(s)}
        for m in methods:
            if m == "fa2":
                continue
            both = s[m].isin(SOLVED) & s["fa2"].isin(SOLVED)
            row[f"{m}_saving_%"] = (100.0 * (1 - c["fa2"][both].sum() / c[m][both].sum())
                                    if both.any() else np.nan)
            row[f"{m}_no_solution"] = int((s[m] == "no_solution").sum())
        rows.append(row)
    return pd.DataFrame(rows)


@literal_text  # pipeline names (instance names) are drawn as written
def plot(df: pd.DataFrame, methods: Sequence[str], path: Path) -> None:
    plt = pyplot()

    sel = df[(df.window == PLOT_WINDOW) | (df.window == "own")]
    pipes = sorted(sel.pipeline.unique())
    if not pipes:
        return
    ncol = 3
    nrow = -(-len(pipes) // ncol)
    fig, axes = plt.subplots(nrow, ncol, figsize=(5.2 * ncol, 3.0 * nrow), squeeze=False)
    for ax, p in zip(axes.flat, pipes):
        d = sel[sel.pipeline == p]
        for m in methods:
            s = d[d.method == m].sort_values("t_s")
            cost = s.cost.where(s.status.isin(SOLVED)).astype(float)
            ax.step(s.t_s, cost, where="post", label=m, lw=1.8 if m == "fa2" else 1.0)
        win = d.window.iloc[0]
        ax.set_title(f"{p} ({PLOT_WINDOW if win != 'own' else 'own windows'})", fontsize=9)
        ax.set_xlabel("time in trace window (s)", fontsize=8)
        ax.set_ylabel("cost (price-weighted units)", fontsize=8)
        ax.tick_params(labelsize=7)
    finish_panels(fig, axes, len(pipes), "Cost over the trace window per method (gaps: no_solution)",
                  path, dpi=110, legend={"loc": "lower right", "fontsize": 9, "ncol": 1},
                  title_size=11)


def markdown(summary: pd.DataFrame, header: str) -> str:
    cols = list(summary.columns)
    lines = [header, "", "| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for _, r in summary.iterrows():
        cells = []
        for c in cols:
            v = r[c]
            cells.append(f"{v:.4g}" if isinstance(v, float) else str(v))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pipelines", type=Path, default=REPO / "datasets" / "pipelines")
    ap.add_argument("--traces", type=Path, default=REPO / "datasets" / "traces")
    ap.add_argument("--out", type=Path, default=REPO / "results" / "baselines")
    ap.add_argument("--column", default="rps_raw", choices=("rps", "rps_raw"),
                    help="trace column: rps_raw (undamped, default; the pipelines' default "
                         "rates are its means) or rps (damped by 8)")
    ap.add_argument("--interval-s", type=int, default=10, help="adaptation interval (s)")
    ap.add_argument("--reference", default=None, help="exact reference (default: milp, else fa2)")
    ap.add_argument("--max-utilization", type=float, default=None,
                    help="override every instance's max_utilization (e.g. 0.7: HPA target)")
    ap.add_argument("--quick", action="store_true",
                    help="bursty window only, every 10th interval (a couple of minutes)")
    ap.add_argument("--no-progress", action="store_true")
    args = ap.parse_args(argv)

    avail = available_methods()
    reference = args.reference or ("milp" if "milp" in avail else "fa2")
    methods = [m for m in ("fa2", *BASELINES) if m in avail]
    if reference not in avail:
        print(f"compare_baselines: reference method {reference!r} is not available", file=sys.stderr)
        return 2
    if args.max_utilization is not None and not 0 < args.max_utilization <= 1:
        print("compare_baselines: --max-utilization must be in (0, 1]", file=sys.stderr)
        return 2
    try:
        pipelines = sorted(args.pipelines.glob("*.json"))
        if not pipelines:
            raise InputError(str(args.pipelines), "", "no pipeline instances (*.json)")
        points, instances = build_points(pipelines, args.traces, args.column, args.interval_s,
                                         [PLOT_WINDOW] if args.quick else None,
                                         10 if args.quick else 1)
    except InputError as exc:
        print(exc, file=sys.stderr)
        return 2

    t0 = time.perf_counter()
    # a bar only on a terminal: tqdm's carriage-return frames must not land in pipes and logs
    df = run(points, instances, methods, reference, args.max_utilization,
             not args.no_progress and sys.stderr.isatty())
    wall = time.perf_counter() - t0
    summary = summarize(df, methods, reference)

    args.out.mkdir(parents=True, exist_ok=True)
    df.to_csv(args.out / "points.csv", index=False)
    summary.to_csv(args.out / "summary.csv", index=False)
    header = (f"# FA2 vs baselines — {_dt.date.today().isoformat()}, {platform.node()} "
              f"({platform.machine()}, {platform.processor() or 'cpu'}), python {platform.python_version()}\n\n"
              f"{len(points)} points ({df[['pipeline', 'rates']].drop_duplicates().shape[0]} distinct "
              f"instances) from {len(pipelines)} pipelines; trace column `{args.column}`, peak rate per "
              f"{args.interval_s}-s interval{', bursty window, every 10th interval (--quick)' if args.quick else ', every window and interval'}; "
              f"max_utilization {'as in the files' if args.max_utilization is None else args.max_utilization}; "
              f"reference `{reference}`; wall {wall:.1f} s.\n\n"
              "cost_vs_opt / cost_vs_fa2: Σ cost / Σ reference (or fa2) cost over the points the "
              "method solved; fa2_saving_%: 1 − Σ fa2 / Σ method (paper: 19 % CPU, 25 % GPU).")
    if "fa2" in methods and reference != "fa2":
        d = df.pivot_table(index=["pipeline", "window", "interval"], columns="method",
                           values="cost", aggfunc="first")
        st = df.pivot_table(index=["pipeline", "window", "interval"], columns="method",
                            values="status", aggfunc="first")
        both = st[reference].isin(SOLVED) & st["fa2"].isin(SOLVED)
        bad = int((~np.isclose(d["fa2"][both].astype(float), d[reference][both].astype(float),
                               rtol=1e-9)).sum()) + int((st[reference].isin(SOLVED) != st["fa2"].isin(SOLVED)).sum())
        header += f"\n\nfa2 vs {reference}: {bad} point(s) differ (0 expected: both exact)."
    text = markdown(summary, header)
    if "fa2" in methods:
        by_pipe = savings_by_pipeline(df, methods)
        by_pipe.to_csv(args.out / "savings_by_pipeline.csv", index=False)
        text += "\n" + markdown(by_pipe, "FA2's saving per pipeline (%; `_no_solution`: points the "
                                 "method left unsolved, excluded from its saving)")
    (args.out / "summary.md").write_text(text, encoding="utf-8")
    print(text)
    plot(df, methods, args.out / "cost_over_trace.png")
    print(f"wrote {args.out}/points.csv, summary.csv, savings_by_pipeline.csv, summary.md, "
          "cost_over_trace.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
