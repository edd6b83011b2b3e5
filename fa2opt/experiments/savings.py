"""Savings over a grid (issue 15, item 2): static planning cost of fa2 against every baseline
on SLA tightness k × load, per hardware class.

A point is one pipeline at ``load`` × its trace rates (the flows' default rates: the Twitter
windows' undamped means) with every flow's SLA set to ``k`` × its fastest latency at that load
(:func:`~.common.at_point`), ρ as configured. Every method decides it through
:func:`fa2opt.solve` (verified). Per (class, baseline, k, load) the saving is
``1 − Σ fa2 / Σ baseline`` over the points both solved (Σ over pipelines: the cost a fleet of
those pipelines needs); the points where the baseline found no solution although one exists
(``no_solution``), or that are infeasible, are counted in their own columns and printed in
the heat-map cells, never dropped silently.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from ..plotting import literal_text, pyplot
from ..solver import solve
from .common import SOLVED, at_point, collect, hardware_class, pipeline


def tasks(config: Mapping[str, Any]) -> list[tuple]:
    out = []
    for name in config["pipelines"]:
        hw = hardware_class(pipeline(name))
        for load in config["load"].get(hw, []):
            for k in config["sla_k"]:
                for rho in config["rho"]:
                    out.append((name, hw, float(load), float(k), float(rho), tuple(config["methods"])))
    return out


def solve_point(name: str, hw: str, load: float, k: float, rho: float,
                methods: Sequence[str]) -> list[dict[str, Any]]:
    """Worker: one grid point, every method (rows carry the optimum's replica counts)."""
    inst = at_point(pipeline(name), load, k, rho)
    base = {"pipeline": name, "hardware": hw, "load": load, "k": k, "rho": rho}
    if inst is None:
        return [{**base, "method": m, "status": "infeasible", "cost": None, "solve_ms": None,
                 "replicas_total": None, "replicas_max": None, "message": "no available row"}
                for m in methods]
    rows = []
    for m in methods:
        a = solve(inst, m)
        reps = [d.replicas for d in a.nodes.values()]
        rows.append({**base, "method": m, "status": a.status, "cost": a.cost,
                     "solve_ms": a.solve_ms, "replicas_total": sum(reps) if reps else None,
                     "replicas_max": max(reps) if reps else None, "message": a.message or None})
    return rows


def run(config: Mapping[str, Any], workers: int | None, scheduler: str | None,
        progress: bool) -> pd.DataFrame:
    return collect(solve_point, tasks(config), ["hardware", "pipeline", "k", "load", "rho", "method"],
                   workers=workers, scheduler=scheduler, progress=progress)


def summarize(points: pd.DataFrame, reference: str, by: Sequence[str]) -> pd.DataFrame:
    """fa2's saving over each other method per group ``by`` (e.g. class, k, load)."""
    keys = ["pipeline", "load", "k", "rho"]
    ref = points[points.method == reference].set_index(keys)
    out = []
    for m in [x for x in points.method.unique() if x != reference]:
        d = points[points.method == m].set_index(keys)
        r = ref.loc[d.index]
        frame = d.assign(ref_status=r.status.values, ref_cost=r.cost.values).reset_index()
        for group, g in frame.groupby(list(by), sort=True):
            both = g.status.isin(SOLVED) & g.ref_status.isin(SOLVED)
            base_sum = float(g.cost[both].astype(float).sum())
            ref_sum = float(g.ref_cost[both].astype(float).sum())
            per_point = 1.0 - g.ref_cost[both].astype(float) / g.cost[both].astype(float)
            out.append({**dict(zip(by, group if isinstance(group, tuple) else (group,))),
                        "method": m, "points": len(g), "both_solved": int(both.sum()),
                        "no_solution": int(((g.status == "no_solution") & g.ref_status.isin(SOLVED)).sum()),
                        "infeasible": int((g.ref_status == "infeasible").sum()),
                        "errors": int((g.status == "error").sum() + (g.ref_status == "error").sum()),
                        "saving_pct": 100.0 * (1.0 - ref_sum / base_sum) if base_sum > 0 else np.nan,
                        "median_point_saving_pct": 100.0 * float(per_point.median()) if both.any() else np.nan,
                        "max_point_saving_pct": 100.0 * float(per_point.max()) if both.any() else np.nan,
                        "median_replicas_max": float(g.replicas_max.astype(float).median())})
    return pd.DataFrame(out)


@literal_text  # method names from the config
def plot_heatmaps(cells: pd.DataFrame, path_of: Any) -> list[str]:
    """One PNG per hardware class: a heat map of fa2's saving (%) per baseline, k × load;
    each cell prints the saving and, when any, ``ns N`` = points the baseline left without a
    solution (excluded from its saving). Returns the file names written."""
    plt = pyplot()

    written = []
    for hw, part in cells.groupby("hardware"):
        methods = list(dict.fromkeys(part.method))
        ks = sorted(part.k.unique())
        loads = sorted(part.load.unique())
        vmax = max(5.0, float(np.nanmax(part.saving_pct.clip(lower=0))) if part.saving_pct.notna().any() else 5.0)
        fig, axes = plt.subplots(1, len(methods), figsize=(3.1 * len(methods) + 0.8, 0.42 * len(ks) + 1.6),
                                 squeeze=False)
        im = None
        for ax, m in zip(axes[0], methods):
            d = part[part.method == m].set_index(["k", "load"])
            grid = np.full((len(ks), len(loads)), np.nan)
            for i, k in enumerate(ks):
                for j, ld in enumerate(loads):
                    if (k, ld) in d.index:
                        grid[i, j] = d.loc[(k, ld), "saving_pct"]
                        ns = int(d.loc[(k, ld), "no_solution"])
                        nf = int(d.loc[(k, ld), "infeasible"])
                        txt = "-" if np.isnan(grid[i, j]) else f"{grid[i, j]:.0f}"
                        if ns:
                            txt += f"\nns {ns}"
                        if nf:
                            txt += f"\ninf {nf}"
                        ax.text(j, i, txt, ha="center", va="center", fontsize=6)
            im = ax.imshow(grid, cmap="YlOrRd", vmin=0, vmax=vmax, aspect="auto", origin="lower")
            ax.set_xticks(range(len(loads)), [f"{x:g}" for x in loads], fontsize=7)
            ax.set_yticks(range(len(ks)), [f"{x:g}" for x in ks], fontsize=7)
            ax.set_xlabel("load × trace rates", fontsize=7)
            ax.set_title(f"vs {m}", fontsize=8)
        axes[0][0].set_ylabel("SLA = k × fastest", fontsize=7)
        if im is not None:
            fig.colorbar(im, ax=axes[0].tolist(), shrink=0.8, label="fa2 saving %")
        fig.suptitle(f"{hw.upper()} pipelines: fa2's saving % (Σ over pipelines); "
                     "ns = points without a baseline solution, inf = infeasible points",
                     fontsize=8)
        name = f"savings_{hw}.png"
        fig.savefig(path_of(name), dpi=80)
        plt.close(fig)
        written.append(name)
    return written
