#!/usr/bin/env python
"""Trace-driven evaluation of every method over the real pipelines and Twitter windows.

For each pipeline in ``datasets/pipelines/`` and each trace window in ``datasets/traces/``
(bursty, steady_low, steady_high, fluctuating), every method autoscales the pipeline every
adaptation interval from a rate forecast, and the discrete-event simulator
(:mod:`fa2opt.simulate`) replays the same Poisson arrivals for all of them. Single-flow
pipelines run once per trace; the shared-service graphs have one flow per pattern (their
default flow rates are the windows' means) and run once with all four traces together.

Outputs under ``--out``: ``runs.csv`` (one row per pipeline × trace × predictor × method),
``flows.csv`` (per flow), ``by_method.csv`` (aggregated over runs, with resource-time
relative to FA2), ``savings.csv`` (FA2's resource savings vs each method by hardware class,
next to the paper's claims), and per experiment ``<pipeline>__<trace>_{timeline,cdf}.png``.

    python scripts/evaluate_trace.py --quick                 # -> results/trace-quick
    python scripts/evaluate_trace.py --jobs 2                # -> results/trace
    python scripts/evaluate_trace.py --bench                 # simulator speed -> results/sim_bench
    python scripts/evaluate_trace.py --methods fa2 --switch-cost 5   # with and without switching
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from dataclasses import replace
from concurrent.futures import ProcessPoolExecutor
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from fa2opt import Config, Flow, Instance, Node, available_methods, load_instance, solve  # noqa: E402
from fa2opt.io import file_stem  # noqa: E402
from fa2opt.simulate import (MethodDecider, Plan, Predictor, Trace, evaluate, load_trace, make_workload, node_settings, simulate)
from fa2opt.simulate.cli import add_sim_options, sim_options, switch_variants  # noqa: E402
from fa2opt.simulate.plots import plot_latency_cdf, plot_timeline  # noqa: E402
from fa2opt.solver import solver_class  # noqa: E402

PIPELINES = ROOT / "datasets" / "pipelines"
TRACES = ROOT / "datasets" / "traces"
PATTERNS = ("bursty", "steady_low", "steady_high", "fluctuating")
QUICK_PIPELINES = ("video_cpu", "nlp_cpu", "video_gpu", "traffic_analysis_gpu", "shared_services")
PAPER = {"violations": "< 1.5% SLA violations", "cpu": 19.0, "gpu": 25.0}


def hw_class(hardware: str) -> str:
    return "gpu" if hardware.lower().startswith("gpu") else "cpu"


def experiments(pipelines: list[str], patterns: list[str], column: str) -> list[dict[str, Any]]:
    """(pipeline, trace label, {flow: trace path}) for every run to make."""
    traces = {p: TRACES / f"twitter_{p}.csv" for p in patterns}
    out = []
    for name in pipelines:
        inst = load_instance(PIPELINES / f"{name}.json")
        if len(inst.flows) == 1:
            out += [{"pipeline": name, "trace": p, "flows": {"*": str(traces[p])}} for p in patterns]
            continue
        # several flows: each flow takes the pattern whose mean its default rate is
        means = {p: load_trace(traces[p], column).mean_rps for p in PATTERNS}
        mapping = {}
        for f in inst.flows:
            best = min(means, key=lambda p: abs(means[p] - f.rate_rps))
            mapping[f.name] = str(TRACES / f"twitter_{best}.csv")
        out.append({"pipeline": name, "trace": "mixed", "flows": mapping})
    return out


def run_experiment(exp: dict[str, Any], args: argparse.Namespace) -> tuple[list[dict], list[dict]]:
    inst = load_instance(PIPELINES / f"{exp['pipeline']}.json")
    if args.rho is not None:
        inst = replace(inst, max_utilization=args.rho)
    traces = {f: load_trace(p, args.column).window(0, args.history + args.seconds)
              for f, p in exp["flows"].items()}
    work = make_workload(inst, traces, "poisson", args.seed, args.history)
    options = sim_options(args, PIPELINES / f"{exp['pipeline']}.json")
    rows, flows = [], []
    out = Path(args.out)
    for pred_spec in args.predictor:
        kind, _, win = pred_spec.partition(":")
        predictor = Predictor(kind, int(win) if win else None, headroom=args.headroom)
        runs = []
        for label, m, switch_cost in switch_variants(args.methods, args.switch_cost):
            opts = {}
            if args.time_limit and "time_limit" in solver_class(m).option_names():
                opts["time_limit"] = args.time_limit
            run = evaluate(inst, work, MethodDecider(inst, m, switch_cost=switch_cost, **opts),
                           name=label, predictor=predictor, interval_s=args.interval,
                           startup_s=args.startup, seed=args.seed, options=options)
            key = {"pipeline": exp["pipeline"], "trace": exp["trace"], "predictor": predictor.label,
                   "sim_options": options.label}
            rows.append({**key, **run.row})
            flows += [{**key, **f} for f in run.flows]
            runs.append(run)
            print(f"  {exp['pipeline']:<22} {exp['trace']:<12} {predictor.label:<8} {label:<12} "
                  f"viol {run.row['violation_pct']:6.2f}%  mean cost {run.row['mean_cost']:9.2f}  "
                  f"sim {run.row['sim_s']:.2f}s", flush=True)
        # (--pipelines takes any name: one with a '/' would put the plots outside --out)
        stem = file_stem(f"{exp['pipeline']}__{exp['trace']}__{predictor.kind}")
        title = f"{exp['pipeline']} / {exp['trace']} / {predictor.label}"
        plot_timeline(runs, work, out / f"{stem}_timeline.png", title)
        plot_latency_cdf(runs, out / f"{stem}_cdf.png", title)
    return rows, flows


def by_method(runs: pd.DataFrame, reference: str) -> pd.DataFrame:
    """Per predictor × method over every run: mean / max violation %, pooled request
    violations, CPU and GPU unit·s summed, resource-time relative to the reference."""
    df = runs.copy()
    unit_cols = [c for c in df if c.startswith("unit_s[")]
    for cls in ("cpu", "gpu"):
        cols = [c for c in unit_cols if hw_class(c[7:-1]) == cls]
        df[f"{cls}_unit_s"] = df[cols].fillna(0).sum(axis=1) if cols else 0.0
    g = df.groupby(["predictor", "method"], sort=False)
    agg = g.agg(runs=("requests", "size"), requests=("requests", "sum"),
                violations=("violations", "sum"), mean_viol_pct=("violation_pct", "mean"),
                max_viol_pct=("violation_pct", "max"), p99_ms_median=("p99_ms", "median"),
                cpu_unit_s=("cpu_unit_s", "sum"), gpu_unit_s=("gpu_unit_s", "sum"),
                cost_s=("cost_s", "sum"), reconfigurations=("reconfigurations", "sum"),
                row_changes=("row_changes", "sum"),
                kept=("kept", "sum"), decide_ms_mean=("decide_ms_mean", "mean")).reset_index()
    agg["pooled_viol_pct"] = 100.0 * agg["violations"] / agg["requests"]
    for col in ("cpu_unit_s", "gpu_unit_s", "cost_s"):
        ref = agg[agg.method == reference].set_index("predictor")[col]
        agg[f"{col}_vs_{reference}"] = agg[col] / agg["predictor"].map(ref)
    return agg


def savings(runs: pd.DataFrame, reference: str) -> pd.DataFrame:
    """FA2's resource-time saving vs each method, per hardware class: 1 − R_fa2 / R_method
    over the runs whose pipelines use that class (paired by pipeline × trace)."""
    rows = []
    df = runs.copy()
    for cls in ("cpu", "gpu"):
        cols = [c for c in df if c.startswith("unit_s[") and hw_class(c[7:-1]) == cls]
        if not cols:
            continue
        df["r"] = df[cols].fillna(0).sum(axis=1)
        sub = df[df["r"] > 0]
        for (pred, m), g in sub.groupby(["predictor", "method"], sort=False):
            if m == reference:
                continue
            ref = sub[(sub.method == reference) & (sub.predictor == pred)]
            paired = g.merge(ref, on=["pipeline", "trace"], suffixes=("", "_ref"))
            if paired.empty:
                continue
            rows.append({"predictor": pred, "hardware": cls, "versus": m, "runs": len(paired),
                         "saving_pct": 100.0 * (1.0 - paired["r_ref"].sum() / paired["r"].sum()),
                         "paper_saving_pct": PAPER[cls],
                         "viol_pct_fa2": 100.0 * paired["violations_ref"].sum() / paired["requests_ref"].sum(),
                         "viol_pct_other": 100.0 * paired["violations"].sum() / paired["requests"].sum()})
    return pd.DataFrame(rows)


# -- simulator speed ----------------------------------------------------------------------
def bench(args: argparse.Namespace) -> int:
    """Simulator throughput: a 20-minute window at hundreds of requests/s, one core."""
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    cases = []
    for nodes in (1, 3):
        for b, p in ((1, 8.0), (8, 40.0)):
            cfg = (Config(b, "cpu", 1, p),)
            names = [f"n{i}" for i in range(nodes)]
            from fa2opt.model import Edge
            inst = Instance(f"chain{nodes}_b{b}", tuple(Node(v, cfg) for v in names),
                            tuple(Edge(a, c) for a, c in zip(names, names[1:])),
                            (Flow("main", 300.0, 10_000.0, tuple(names)),))
            cases.append((inst, {"main": Trace.constant(300.0, 1200)}))
    ss = load_instance(PIPELINES / "shared_services.json")
    ss_traces = {e["trace"]: e for e in experiments(["shared_services"], list(PATTERNS), "rps_raw")}
    cases.append((ss, {f: load_trace(p, "rps_raw") for f, p in ss_traces["mixed"]["flows"].items()}))
    for inst, traces in cases:
        work = make_workload(inst, traces, "poisson", 0)
        rates = {f: float(work.observed[f].max()) for f in work.observed}
        ans = solve(inst.with_rates(rates=rates), "fa2" if "fa2" in available_methods() else "brute-force")
        plan = Plan.fixed(node_settings(inst, ans, rates))
        times = []
        for _ in range(3):
            t0 = time.perf_counter()
            sim = simulate(inst, plan, work.arrivals_ms, seed=0)
            times.append(time.perf_counter() - t0)
        reqs = sum(len(a) for a in work.arrivals_ms.values())
        items = sum(len(r.arrival_ms) for r in sim.nodes.values())
        batches = sum(len(r.batch_first) for r in sim.nodes.values())
        med = float(np.median(times))
        rows.append({"case": inst.name, "nodes": len(inst.nodes), "seconds": work.horizon_s,
                     "requests": reqs, "mean_rps": reqs / work.horizon_s, "items": items,
                     "batches": batches, "sim_s_median": med, "sim_s_min": min(times),
                     "items_per_s": items / med})
    df = pd.DataFrame(rows)
    print(f"simulator speed, {date.today()}, {platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} cpus, Python {platform.python_version()} (median of 3, one core)")
    print(df.to_string(index=False, float_format=lambda x: f"{x:.3g}"))
    df.to_csv(out / "sim_bench.csv", index=False)
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", help="output folder (default results/trace, with --quick "
                                  "results/trace-quick, with --bench results/sim_bench)")
    ap.add_argument("--quick", action="store_true",
                    help=f"pipelines {', '.join(QUICK_PIPELINES)}; no fa2-grid, brute-force")
    ap.add_argument("--bench", action="store_true", help="only the simulator speed benchmark")
    ap.add_argument("--pipelines", nargs="*", help="names in datasets/pipelines (default: all)")
    ap.add_argument("--traces", nargs="*", default=list(PATTERNS), choices=PATTERNS)
    ap.add_argument("--methods", nargs="*", help="default: every available method but brute-force")
    ap.add_argument("--predictor", action="append",
                    help="last, max[:WINDOW], quantile[:WINDOW] (repeatable; default max:60)")
    ap.add_argument("--column", default="rps_raw",
                    help="trace column: rps_raw (real rate, default; the pipelines' default "
                         "rates are its means) or rps (IPA's rate damped by 8)")
    ap.add_argument("--seconds", type=int, default=1200, help="trace window length (s)")
    ap.add_argument("--interval", type=int, default=10)
    ap.add_argument("--startup", type=float, default=5.0)
    ap.add_argument("--time-limit", type=float, default=10.0, help="MILP time limit per decision (s)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--rho", type=float, help="override every pipeline's max_utilization")
    ap.add_argument("--headroom", type=float, default=0.0, help="scale forecasts by 1+h")
    ap.add_argument("--jobs", type=int, default=1, help="worker processes (experiments in parallel)")
    ap.add_argument("--switch-cost", type=float, metavar="S",
                    help="also run each method deciding with the deployed configuration as "
                         "'current' and switch cost S per node-row change (label 'M switch=S')")
    add_sim_options(ap)  # simulator model options (docs/simulation.md), defaults = the original model
    args = ap.parse_args(argv)
    if args.history < 0:
        ap.error(f"--history must be >= 0 (got {args.history})")
    try:
        switch_variants([], args.switch_cost)
    except ValueError as exc:
        ap.error(str(exc))
    args.out = args.out or ("results/sim_bench" if args.bench else
                            "results/trace-quick" if args.quick else "results/trace")
    if args.bench:
        return bench(args)
    args.predictor = args.predictor or ["max:60"]
    avail = available_methods()
    if args.methods:
        bad = [m for m in args.methods if m not in avail]
        if bad:
            ap.error(f"unknown method {bad[0]!r} (available: {', '.join(avail)})")
    else:
        skip = {"brute-force"} | ({"fa2-grid"} if args.quick else set())
        args.methods = [m for m in avail if m not in skip]
    reference = "fa2" if "fa2" in args.methods else args.methods[0]
    pipelines = args.pipelines or (list(QUICK_PIPELINES) if args.quick else
                                   sorted(p.stem for p in PIPELINES.glob("*.json")))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    exps = experiments(pipelines, args.traces, args.column)
    print(f"{len(exps)} experiments x {len(args.methods)} methods x {len(args.predictor)} "
          f"predictor(s); methods: {', '.join(args.methods)}", flush=True)
    t0 = time.perf_counter()
    rows: list[dict] = []
    flows: list[dict] = []
    if args.jobs > 1:
        with ProcessPoolExecutor(args.jobs) as pool:
            for r, f in pool.map(run_experiment, exps, [args] * len(exps)):
                rows += r
                flows += f
    else:
        for e in exps:
            r, f = run_experiment(e, args)
            rows += r
            flows += f
    wall = time.perf_counter() - t0
    runs = pd.DataFrame(rows)
    runs.to_csv(out / "runs.csv", index=False)
    pd.DataFrame(flows).to_csv(out / "flows.csv", index=False)
    agg = by_method(runs, reference)
    agg.to_csv(out / "by_method.csv", index=False)
    sav = savings(runs, reference)
    sav.to_csv(out / "savings.csv", index=False)
    print(f"\n{date.today()}, {platform.machine()}, {os.cpu_count()} cpus; {len(runs)} runs in "
          f"{wall:.0f} s; trace column {args.column}, {args.seconds} s windows, interval "
          f"{args.interval} s, start-up {args.startup:g} s, seed {args.seed}, "
          f"rho {args.rho if args.rho is not None else 'per instance'}, headroom {args.headroom:g}")
    show = ["predictor", "method", "runs", "pooled_viol_pct", "mean_viol_pct", "max_viol_pct",
            "p99_ms_median", "cpu_unit_s", "gpu_unit_s", f"cpu_unit_s_vs_{reference}",
            f"gpu_unit_s_vs_{reference}", f"cost_s_vs_{reference}", "reconfigurations",
            "row_changes", "kept"]
    print(agg[show].to_string(index=False, float_format=lambda x: f"{x:.3f}"))
    if not sav.empty:
        print(f"\n{reference} resource-time saving vs each method (paper: {PAPER['cpu']:g}% CPU, "
              f"{PAPER['gpu']:g}% GPU; {PAPER['violations']})")
        print(sav.to_string(index=False, float_format=lambda x: f"{x:.2f}"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
