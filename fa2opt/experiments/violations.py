"""Cost at equal violations (issue 15, item 3): trace simulation per method over a headroom
sweep, cost-vs-violation curves, and fa2's savings read at equal violation rates.

A run is one pipeline (its own SLAs, or with ``sla_k`` every flow's SLA at k × its fastest
latency at the default rates) on one trace window (a multi-flow pipeline: each flow on the window
whose mean is its default rate, labelled ``own``) with one seed, one headroom setting —
max utilization ρ (the decision's replica headroom) × forecast headroom h (the predictor's
forecast scaled by 1 + h) — and one method, through :func:`fa2opt.simulate.evaluate`. Every
method and setting of a (pipeline, window, seed) replays the same arrivals (common random
numbers); seeds differ in arrivals and fan-out draws.

Per (pipeline, window, seed, method) the sweep's points (violation %, mean cost) give the
cost at each violation level (:func:`~.stats.cost_at_violation`); fa2's saving over a
method at level v is ``1 − cost_fa2(v) / cost_m(v)`` per seed, averaged per hardware class
over its (pipeline, window)s within each seed, then a 95 % t-interval over seeds
(:func:`~.stats.mean_ci`). Levels a method's sweep never reached are NaN and counted.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from ..compare.plots import finish_panels
from ..plotting import literal_text, pyplot
from ..simulate import MethodDecider, Predictor, evaluate, load_trace, make_workload
from ..simulate.service import ServiceModel
from .common import at_point, collect, hardware_class, pipeline
from .config import TRACES_DIR
from .stats import cost_at_violation, frontier, mean_ci


def own_windows(means: Mapping[str, float], rates: Mapping[str, float]) -> dict[str, str]:
    """Each flow's window: the one whose mean rate is nearest the flow's default rate."""
    return {f: min(means, key=lambda w: abs(means[w] - r)) for f, r in rates.items()}


def tasks(config: Mapping[str, Any]) -> list[tuple]:
    column = config["column"]
    means = {w: load_trace(TRACES_DIR / f"twitter_{w}.csv", column).mean_rps for w in config["traces"]}
    knobs = tuple((float(r), float(h)) for r in config["rho"] for h in config["headroom"])
    out = []
    for name in config["pipelines"]:
        inst = pipeline(name)
        if len(inst.flows) == 1:
            plans = {w: {"*": w} for w in config["traces"]}
        else:
            plans = {"own": own_windows(means, {f.name: f.rate_rps for f in inst.flows})}
        for label, assign in plans.items():
            for seed in config["seeds"]:
                out.append((name, label, tuple(sorted(assign.items())), int(seed), knobs,
                            tuple(config["methods"]), column, int(config["seconds"]),
                            dict(config["simulator"]), config["sla_k"]))
    return out


def simulate_task(name: str, label: str, assign: tuple, seed: int, knobs: tuple,
                  methods: Sequence[str], column: str, seconds: int,
                  sim: Mapping[str, Any], sla_k: float | None = None) -> list[dict[str, Any]]:
    """Worker: one (pipeline, window, seed): every headroom setting × method on one workload.
    ``sla_k``: every flow's SLA set to k × its fastest latency at the pipeline's default
    rates (:func:`~.common.at_point` at load 1) instead of the pipeline's own SLA."""
    inst = pipeline(name)
    if sla_k is not None:
        inst = at_point(inst, 1.0, sla_k) or inst
    traces = {f: load_trace(TRACES_DIR / f"twitter_{w}.csv", column).window(0, seconds)
              for f, w in assign}
    work = make_workload(inst, traces, sim["arrivals"], seed)
    service = ServiceModel(sim["service"], sim["jitter"] if sim["service"] == "jitter" else 0.0)
    rows = []
    for rho, head in knobs:
        at = replace(inst, max_utilization=rho)
        predictor = Predictor(sim["predictor"], sim["window_s"], headroom=head)
        for m in methods:
            r = evaluate(at, work, MethodDecider(at, m), name=m, predictor=predictor,
                         interval_s=sim["interval_s"], startup_s=sim["startup_s"], service=service,
                         seed=seed, warmup_s=sim["warmup_s"], **sim.get("options", {}))
            rows.append({"pipeline": name, "hardware": hardware_class(inst), "window": label,
                         "seed": seed, "rho": rho, "headroom": head, "method": m,
                         "requests": r.row["requests"], "violation_pct": r.row["violation_pct"],
                         "worst_flow_violation_pct": r.row["worst_flow_violation_pct"],
                         "p99_ms": r.row["p99_ms"], "mean_cost": r.row["mean_cost"],
                         "reconfigurations": r.row["reconfigurations"], "kept": r.row["kept"],
                         "fallback": r.row["fallback"]})
    return rows


def run(config: Mapping[str, Any], workers: int | None, scheduler: str | None,
        progress: bool) -> pd.DataFrame:
    return collect(simulate_task, tasks(config), ["hardware", "pipeline", "window", "seed", "rho", "headroom", "method"],
                   workers=workers, scheduler=scheduler, progress=progress)


def curve_points(runs: pd.DataFrame) -> pd.DataFrame:
    """Per (class, pipeline, window, method, ρ, h): mean violation % and mean cost over seeds
    with 95 % t half-widths (the curves' points and error bars)."""
    out = []
    keys = ["hardware", "pipeline", "window", "method", "rho", "headroom"]
    for key, g in runs.groupby(keys, sort=True):
        v, vh, n = mean_ci(g.violation_pct.tolist())
        c, ch, _ = mean_ci(g.mean_cost.tolist())
        out.append({**dict(zip(keys, key)), "seeds": n, "violation_pct": v, "violation_ci95": vh,
                    "mean_cost": c, "mean_cost_ci95": ch})
    return pd.DataFrame(out)


def costs_at_levels(runs: pd.DataFrame, levels: Sequence[float]) -> pd.DataFrame:
    """Per (pipeline, window, seed, method) and level: the cost at that violation rate."""
    out = []
    keys = ["hardware", "pipeline", "window", "seed", "method"]
    for key, g in runs.groupby(keys, sort=True):
        for lv in levels:
            out.append({**dict(zip(keys, key)), "level_pct": float(lv),
                        "cost": cost_at_violation(g.violation_pct.tolist(), g.mean_cost.tolist(), lv)})
    return pd.DataFrame(out)


def equal_violation_savings(at: pd.DataFrame, reference: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(per pipeline, per class) tables of the reference's saving over each method at each
    level: mean over seeds ± 95 % t half-width; ``unreached`` counts (pipeline, window, seed)s
    where either sweep never got down to the level."""
    keys = ["hardware", "pipeline", "window", "seed", "level_pct"]
    ref = at[at.method == reference].set_index(keys).cost
    per_seed = []
    for m in [x for x in at.method.unique() if x != reference]:
        d = at[at.method == m].set_index(keys).cost
        s = 100.0 * (1.0 - ref.loc[d.index] / d)
        per_seed.append(s.rename("saving_pct").reset_index().assign(method=m))
    if not per_seed:
        return pd.DataFrame(), pd.DataFrame()
    ps = pd.concat(per_seed, ignore_index=True)
    by_pipe, by_class = [], []
    for key, g in ps.groupby(["hardware", "pipeline", "window", "method", "level_pct"], sort=True):
        mean, half, n = mean_ci(g.saving_pct.tolist())
        by_pipe.append({**dict(zip(["hardware", "pipeline", "window", "method", "level_pct"], key)),
                        "saving_pct": mean, "ci95": half, "seeds": n,
                        "unreached": int(g.saving_pct.isna().sum())})
    for key, g in ps.groupby(["hardware", "method", "level_pct"], sort=True):
        seed_means = g.groupby("seed").saving_pct.mean()  # over the class's reached pipelines
        mean, half, n = mean_ci(seed_means.tolist())
        by_class.append({**dict(zip(["hardware", "method", "level_pct"], key)), "saving_pct": mean,
                         "ci95": half, "seeds": n, "runs": len(g),
                         "unreached": int(g.saving_pct.isna().sum())})
    return pd.DataFrame(by_pipe), pd.DataFrame(by_class)


@literal_text  # pipeline, window and method names from the config
def plot_curves(points: pd.DataFrame, levels: Sequence[float], path_of: Any) -> list[str]:
    """One PNG per hardware class: mean cost vs violation % per method, one panel per
    (pipeline, window): a marker per headroom setting (error bars = 95 % t-intervals over
    seeds on both axes) and a line along the frontier of the means, read as
    :func:`~.stats.cost_at_violation` reads it (what the method needs at each violation
    level)."""
    plt = pyplot()

    written = []
    for hw, part in points.groupby("hardware"):
        panels = list(part.groupby(["pipeline", "window"], sort=True))
        ncol = min(3, len(panels))
        nrow = -(-len(panels) // ncol)
        fig, axes = plt.subplots(nrow, ncol, figsize=(4.0 * ncol, 2.9 * nrow), squeeze=False)
        for ax, ((p, w), g) in zip(axes.flat, panels):
            for i, (m, d) in enumerate(g.groupby("method", sort=False)):
                color = f"C{i}"
                xh = d.violation_ci95.fillna(0).to_numpy()
                xlo = np.minimum(xh, d.violation_pct.to_numpy())  # no bar below 0 %
                ax.errorbar(d.violation_pct, d.mean_cost, xerr=[xlo, xh],
                            yerr=d.mean_cost_ci95.fillna(0), fmt="o", ms=3, color=color,
                            elinewidth=0.6, capsize=1.5, alpha=0.8)
                fv, fc = frontier(d.violation_pct, d.mean_cost)  # read as stats does:
                fv = np.append(fv, g.violation_pct.max())  # linear between frontier points,
                fc = np.append(fc, fc[-1])  # flat past the last
                ax.plot(fv, fc, color=color, lw=1.8 if m == "fa2" else 1.0, label=m)
            for lv in levels:
                ax.axvline(lv, color="grey", lw=0.6, ls=":")
            ax.set_xscale("symlog", linthresh=0.1)
            ax.set_xlim(left=0)
            ax.set_title(f"{p} / {w}", fontsize=8)
            ax.set_xlabel("SLA violations % (pooled)", fontsize=7)
            ax.set_ylabel("mean cost", fontsize=7)
            ax.tick_params(labelsize=6)
        name = f"cost_vs_violations_{hw}.png"
        finish_panels(fig, axes, len(panels),
                      f"{hw.upper()}: cost vs violations over the headroom sweep (95% CI over seeds)",
                      path_of(name), dpi=75, legend={"loc": "upper right", "fontsize": 7},
                      title_size=9, rect=(0, 0, 0.9, 0.95))
        written.append(name)
    return written


@literal_text
def plot_savings(by_class: pd.DataFrame, path_of: Any) -> list[str]:
    """fa2's saving at each violation level per baseline and class, with 95 % CIs."""
    plt = pyplot()

    if by_class.empty:
        return []
    classes = sorted(by_class.hardware.unique())
    fig, axes = plt.subplots(1, len(classes), figsize=(4.6 * len(classes), 2.8), squeeze=False)
    for ax, hw in zip(axes[0], classes):
        d = by_class[by_class.hardware == hw]
        methods = list(dict.fromkeys(d.method))
        levels = sorted(d.level_pct.unique())
        width = 0.8 / max(1, len(levels))
        for i, lv in enumerate(levels):
            s = d[d.level_pct == lv].set_index("method").reindex(methods)
            ax.bar(np.arange(len(methods)) + i * width, s.saving_pct, width,
                   yerr=s.ci95.fillna(0), capsize=2, label=f"at {lv:g}% violations")
        ax.axhline(0, color="black", lw=0.6)
        ax.set_xticks(np.arange(len(methods)) + width * (len(levels) - 1) / 2, methods, fontsize=7)
        ax.set_ylabel("fa2 saving %", fontsize=7)
        ax.set_title(f"{hw.upper()} (paper: {19 if hw == 'cpu' else 25}% vs SOTA)", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.legend(fontsize=6)
    fig.tight_layout()
    name = "savings_at_equal_violations.png"
    fig.savefig(path_of(name), dpi=80)
    plt.close(fig)
    return [name]
