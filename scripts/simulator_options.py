#!/usr/bin/env python
"""How each simulator option changes SLA violations and resources (issue 15 item 4).

One method (default ``fa2``) autoscales real pipelines over the Twitter windows; every
variant of the simulator (:class:`fa2opt.simulate.SimOptions`: one option changed from the
default, plus four of them combined) replays the *same* arrivals (common random
numbers) for several seeds. The window simulated is ``[start, start + seconds)`` of each
trace; the ``history`` seconds before it are observed only (for the ``history`` warm start;
the default ``peek`` warm start reads the window's first interval instead).

Outputs under ``--out``: ``runs.csv`` (pipeline × trace × seed × variant), ``summary.csv``
and ``summary.md`` (per variant: pooled and mean violation %, the paired change against the
default with a 95% t-interval over runs, resource-time and cost relative to the default),
``by_pipeline.csv`` (pooled violation % per variant × pipeline, also in ``summary.md``).

    python scripts/simulator_options.py --out results/sim_options --jobs 2
    python scripts/simulator_options.py --quick --out /tmp/sim_options_quick
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from evaluate_trace import PATTERNS, PIPELINES, experiments, hw_class  # noqa: E402
from fa2opt import load_instance  # noqa: E402
from fa2opt.experiments.stats import mean_ci  # noqa: E402
from fa2opt.simulate import MethodDecider, Predictor, SimOptions, evaluate, load_trace, make_workload  # noqa: E402

VARIANTS: dict[str, dict[str, Any]] = {
    "default": {},
    "round-robin": {"dispatch": "round-robin"},
    "round-robin, replica timeout": {"dispatch": "round-robin", "batch_timeout": "replica"},
    "partial batches: profile": {"partial_batch": "profile"},
    "round-robin + partial: profile": {"dispatch": "round-robin", "partial_batch": "profile"},
    "jitter 0.1": {"service": "jitter", "jitter": 0.1},
    "lognormal cv 0.1": {"service": "lognormal", "cv": 0.1},
    "lognormal cv 0.3": {"service": "lognormal", "cv": 0.3},
    "when-ready": {"apply_batch": "when-ready"},
    "warm: history": {"warm_start": "history"},
    "warm: cold": {"warm_start": "cold"},
    "fan-out: first item": {"fanout": "first"},
    "combined": {"dispatch": "round-robin", "partial_batch": "profile", "service": "lognormal",
                 "cv": 0.1, "apply_batch": "when-ready", "warm_start": "history"},
}
DEFAULT_PIPELINES = ("video_cpu", "nlp_cpu", "traffic_analysis_gpu", "shared_services")


def run_case(case: Mapping[str, Any], args: argparse.Namespace) -> list[dict[str, Any]]:
    """Every variant on one pipeline × trace × seed (one workload, one decision cache)."""
    inst = load_instance(PIPELINES / f"{case['pipeline']}.json")
    if args.rho is not None:
        inst = replace(inst, max_utilization=args.rho)
    lo = args.start - args.history
    traces = {f: load_trace(p, args.column).window(lo, args.history + args.seconds)
              for f, p in case["flows"].items()}
    work = make_workload(inst, traces, "poisson", case["seed"], args.history)
    decider = MethodDecider(inst, args.method)
    kind, _, win = args.predictor.partition(":")
    predictor = Predictor(kind, int(win) if win else None)
    rows = []
    for name in args.variants:
        opts = SimOptions.from_mapping(VARIANTS[name])
        run = evaluate(inst, work, decider, name=args.method, predictor=predictor,
                       interval_s=args.interval, startup_s=args.startup, seed=case["seed"],
                       options=opts)
        r = run.row
        unit = {cls: sum(v for k, v in r.items() if k.startswith("unit_s[") and hw_class(k[7:-1]) == cls)
                for cls in ("cpu", "gpu")}
        rows.append({"pipeline": case["pipeline"], "trace": case["trace"], "seed": case["seed"],
                     "variant": name, "options": opts.label, "requests": r["requests"],
                     "violations": r["violations"], "violation_pct": r["violation_pct"],
                     "p99_ms": r["p99_ms"], "cpu_unit_s": unit["cpu"], "gpu_unit_s": unit["gpu"],
                     "cost_s": r["cost_s"], "reconfigurations": r["reconfigurations"],
                     "sim_s": r["sim_s"]})
    return rows


def ci95(x: np.ndarray) -> float:
    """Half-width of the 95% t-interval of the mean (nan for fewer than 2 values): the
    experiments' one definition, :func:`fa2opt.experiments.stats.mean_ci`."""
    return mean_ci(x.tolist())[1]


def summarise(runs: pd.DataFrame) -> pd.DataFrame:
    """Per variant: pooled / mean violation %, the paired change against ``default`` (mean
    over runs ± 95% CI, percentage points), resource-time and cost relative to default."""
    key = ["pipeline", "trace", "seed"]
    base = runs[runs.variant == "default"].set_index(key)
    out = []
    for name, g in runs.groupby("variant", sort=False):
        g = g.set_index(key)
        diff = (g["violation_pct"] - base["violation_pct"].reindex(g.index)).to_numpy()
        row = {"variant": name, "runs": len(g),
               "pooled_viol_pct": 100.0 * g["violations"].sum() / g["requests"].sum(),
               "mean_viol_pct": g["violation_pct"].mean(),
               "ci95_viol_pct": ci95(g["violation_pct"].to_numpy()),
               "delta_pp": float(np.mean(diff)), "ci95_delta_pp": ci95(diff),
               "p99_ms_median": g["p99_ms"].median()}
        for col in ("cpu_unit_s", "gpu_unit_s", "cost_s"):
            ref = base[col].reindex(g.index).sum()
            row[f"{col}_vs_default"] = g[col].sum() / ref if ref > 0 else float("nan")
        out.append(row)
    return pd.DataFrame(out)


def by_pipeline(runs: pd.DataFrame) -> pd.DataFrame:
    """Pooled violation % per variant (rows, in run order) × pipeline (columns)."""
    g = runs.groupby(["variant", "pipeline"], sort=False)[["violations", "requests"]].sum()
    table = (100.0 * g["violations"] / g["requests"]).unstack("pipeline")
    return table.loc[list(dict.fromkeys(runs.variant))]


def markdown_by_pipeline(table: pd.DataFrame) -> str:
    lines = ["| variant | " + " | ".join(table.columns) + " |", "|" + "---|" * (len(table.columns) + 1)]
    lines += [f"| {name} | " + " | ".join(f"{x:.2f}" for x in row) + " |" for name, row in table.iterrows()]
    return "\n".join(lines)


def markdown(summary: pd.DataFrame) -> str:
    head = ("| variant | runs | violations, pooled % | mean % per run (± 95% CI) | change vs default, "
            "pp (± 95% CI) | p99 ms (median) | CPU core·s vs default | GPU·s vs default |")
    lines = [head, "|" + "---|" * 8]
    def num(x: float, fmt: str) -> str:
        return "–" if not np.isfinite(x) else format(x, fmt)

    for r in summary.itertuples():
        lines.append(f"| {r.variant} | {r.runs} | {r.pooled_viol_pct:.2f} | {r.mean_viol_pct:.2f} "
                     f"± {num(r.ci95_viol_pct, '.2f')} | {r.delta_pp:+.2f} ± {num(r.ci95_delta_pp, '.2f')} | "
                     f"{r.p99_ms_median:.0f} | {num(r.cpu_unit_s_vs_default, '.3f')} | "
                     f"{num(r.gpu_unit_s_vs_default, '.3f')} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--quick", action="store_true", help="video_cpu, two traces, one seed, 60 s")
    ap.add_argument("--pipelines", nargs="*", default=list(DEFAULT_PIPELINES))
    ap.add_argument("--traces", nargs="*", default=list(PATTERNS), choices=PATTERNS)
    ap.add_argument("--seeds", nargs="*", type=int, default=[0, 1, 2])
    ap.add_argument("--variants", nargs="*", default=list(VARIANTS), choices=list(VARIANTS))
    ap.add_argument("--method", default="fa2")
    ap.add_argument("--predictor", default="max:60", help="last, max[:WINDOW], quantile[:WINDOW]")
    ap.add_argument("--column", default="rps_raw")
    ap.add_argument("--start", type=int, default=300, help="first simulated second of each trace")
    ap.add_argument("--seconds", type=int, default=300, help="simulated window length (s)")
    ap.add_argument("--history", type=int, default=60, help="seconds before --start observed only")
    ap.add_argument("--interval", type=int, default=10)
    ap.add_argument("--startup", type=float, default=5.0)
    ap.add_argument("--rho", type=float, help="override every pipeline's max_utilization")
    ap.add_argument("--jobs", type=int, default=1)
    args = ap.parse_args(argv)
    if args.quick:
        args.pipelines, args.traces, args.seeds, args.seconds = ["video_cpu"], ["steady_low", "bursty"], [0], 60
    if "default" not in args.variants:
        args.variants = ["default"] + args.variants
    if not 0 <= args.history <= args.start:
        ap.error(f"--history must be in [0, --start] (got {args.history}, start {args.start})")
    missing = [p for p in args.pipelines if not (PIPELINES / f"{p}.json").exists()]
    if missing:
        ap.error(f"--pipelines: no datasets/pipelines/{missing[0]}.json")
    cases = [{**e, "seed": s} for e in experiments(args.pipelines, args.traces, args.column)
             for s in args.seeds]
    shortest = min(len(load_trace(p, args.column).rates) for c in cases for p in c["flows"].values())
    if args.seconds < 1 or args.start + args.seconds > shortest:
        ap.error(f"--start + --seconds must be within the traces ({shortest} s; got "
                 f"{args.start} + {args.seconds})")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    rows: list[dict[str, Any]] = []
    if args.jobs > 1:
        with ProcessPoolExecutor(args.jobs) as pool:
            for r in pool.map(run_case, cases, [args] * len(cases)):
                rows += r
    else:
        for c in cases:
            rows += run_case(c, args)
    wall = time.perf_counter() - t0
    runs = pd.DataFrame(rows)
    runs.to_csv(out / "runs.csv", index=False)
    summary = summarise(runs)
    summary.to_csv(out / "summary.csv", index=False)
    header = (f"{date.today()}, {platform.machine()}, {os.cpu_count()} cpus, Python "
              f"{platform.python_version()}; {len(runs)} runs in {wall:.0f} s; method {args.method}, "
              f"pipelines {', '.join(args.pipelines)}; traces {', '.join(args.traces)} ({args.column}), "
              f"seconds [{args.start}, {args.start + args.seconds}) after {args.history} s of history; "
              f"seeds {', '.join(map(str, args.seeds))}; predictor {args.predictor}, interval "
              f"{args.interval} s, start-up {args.startup:g} s, rho "
              f"{args.rho if args.rho is not None else 'per instance'}")
    per = by_pipeline(runs)
    per.to_csv(out / "by_pipeline.csv")
    table = (markdown(summary) + "\n\nViolations, pooled %, by pipeline:\n\n"
             + markdown_by_pipeline(per))
    (out / "summary.md").write_text(header + "\n\n" + table + "\n", encoding="utf-8")
    print(header + "\n\n" + table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
