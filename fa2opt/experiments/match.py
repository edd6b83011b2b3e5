"""Closest reproduction of FA2's 96.8 % (issue 15, item 5): how often the grid DP matches
the optimum, with shared nodes decided by the simple per-node rule (``fa2-grid-tightest``,
:mod:`.tightest`) beside the exact coupling search (``fa2-grid``), by grid step and SLA
tightness.

Instances: the configured files and folders (``shared_only``: those with a node in several
flows — the rule's subject), each at every ``load`` × its rates with every flow's SLA set to
``k`` × its fastest latency (:func:`~.common.at_point`). Grid steps are absolute
(``grid_ms``: Δ ms) or relative (``grid_rel`` r: Δ = r × the point's least flow SLA, e.g.
0.001 = a thousand steps over the tightest SLA). The optimum is ``fa2`` (exact: it equals the
MILP on every instance of the project's suites); ``milp_check_every`` n solves every n-th
point with the MILP as well and records whether fa2 matches it. A match is the spec's
(:func:`fa2opt.verify.matches`); ``rule_match`` (on both methods' rows) says whether the
tightest rule matched the exact coupling search on the same grid (what the rule alone costs,
apart from the grid).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from ..io import load_instance
from ..model import Instance
from ..plotting import literal_text, pyplot
from ..solver import available_methods, solve
from ..verify import matches
from .common import SOLVED, at_point, collect
from .config import REPO

GRID_METHODS = ("fa2-grid", "fa2-grid-tightest")


def shared_nodes(inst: Instance) -> int:
    seen: dict[str, int] = {}
    for f in inst.flows:
        for v in f.nodes:
            seen[v] = seen.get(v, 0) + 1
    return sum(1 for n in seen.values() if n > 1)


def instance_files(config: Mapping[str, Any]) -> list[Path]:
    files: list[Path] = []
    for src in config["instances"]:
        p = REPO / src
        files += sorted(p.glob("*.json")) if p.is_dir() else [p]
    if config["shared_only"]:
        files = [p for p in files if shared_nodes(load_instance(p)) > 0]
    return files[: config["limit"]] if config["limit"] else files


def tasks(config: Mapping[str, Any]) -> list[tuple]:
    out = []
    i = 0
    every = config["milp_check_every"]
    milp = every > 0 and "milp" in available_methods()
    for path in instance_files(config):
        for load in config["load"]:
            checks = []
            for k in config["sla_k"]:
                checks.append(bool(milp and i % every == 0))
                i += 1
            steps = tuple([("ms", float(g)) for g in config["grid_ms"]]
                          + [("rel", float(r)) for r in config["grid_rel"]])
            out.append((str(path), float(load), tuple(float(k) for k in config["sla_k"]),
                        steps, tuple(checks)))
    return out


def step_ms(kind: str, x: float, inst: Instance) -> float:
    """A grid step in ms at a point: ``grid_ms`` (``kind`` "ms") as given, ``grid_rel``
    ("rel") r as r × the point's least flow SLA."""
    return x if kind == "ms" else x * min(f.sla_ms for f in inst.flows)


def refused_step(config: Mapping[str, Any]) -> tuple[str, str] | None:
    """The first grid step the grid methods refuse at some point of the experiment, as
    (its config field, why), or None. Asked for explicitly, a step whose latency grid is too
    long (:func:`fa2opt.grid.grid_refusal`: a step of 10⁻³⁰⁰ ms, or one too fine for a
    point's SLA and profiles) is an ``error`` answer at every such point: counted only as
    errors after the whole run, where the config's reader can name the field at once.
    Infeasible points are skipped: the grid methods answer them before they build a grid."""
    from ..grid import grid_refusal
    from ..problem import Problem
    from .common import rel_path

    steps = ([("ms", f"grid_ms[{i}]", float(g)) for i, g in enumerate(config["grid_ms"])]
             + [("rel", f"grid_rel[{i}]", float(r)) for i, r in enumerate(config["grid_rel"])])
    for path in instance_files(config):
        base_inst = load_instance(path)
        for load in config["load"]:
            for k in config["sla_k"]:
                inst = at_point(base_inst, load, k)
                problem = None if inst is None else Problem.from_instance(inst)
                if problem is None or not problem.is_feasible():
                    continue
                for kind, field, x in steps:
                    why = grid_refusal(problem, step_ms(kind, x, inst))
                    if why is not None:
                        return field, (f"{x:g}{' ms' if kind == 'ms' else ''} is too fine at "
                                       f"{rel_path(path)}, load {load:g}, k {k:g}: "
                                       f"{why.split('; use')[0]}")
    return None


def match_task(path: str, load: float, ks: Sequence[float], steps: Sequence[float],
               milp_checks: Sequence[bool]) -> list[dict[str, Any]]:
    """Worker: one instance at one load, every k: the optimum (fa2), optionally the MILP,
    and both grid methods at every step."""
    import fa2opt.experiments  # noqa: F401 -- registers fa2-grid-tightest in this worker

    base_inst = load_instance(path)
    name = Path(path).stem
    rows = []
    for k, check in zip(ks, milp_checks):
        inst = at_point(base_inst, load, k)
        base = {"instance": name, "flows": len(base_inst.flows), "shared_nodes": shared_nodes(base_inst),
                "load": load, "k": k}
        if inst is None:
            continue
        opt = solve(inst, "fa2")
        milp_ok = None
        if check:
            m = solve(inst, "milp")
            milp_ok = None if m.status == "time_limit" else matches(opt, m)
        for kind, x in steps:
            g = step_ms(kind, x, inst)
            step = f"{x:g} ms" if kind == "ms" else f"SLA/{1 / x:g}"
            got = {}
            for meth in GRID_METHODS:
                a = got[meth] = solve(inst, meth, grid_ms=g)
                gap = (100.0 * (a.cost / opt.cost - 1.0)
                       if a.cost is not None and opt.cost and a.status in SOLVED else np.nan)
                rows.append({**base, "step": step, "grid_ms": g, "method": meth, "status": a.status,
                             "cost": a.cost, "opt_status": opt.status, "opt_cost": opt.cost,
                             "match": matches(a, opt), "excess_pct": gap, "solve_ms": a.solve_ms,
                             "fa2_matches_milp": milp_ok})
            agree = matches(got["fa2-grid-tightest"], got["fa2-grid"])
            for r in rows[-len(GRID_METHODS):]:
                r["rule_match"] = agree
    return rows


def run(config: Mapping[str, Any], workers: int | None, scheduler: str | None,
        progress: bool) -> pd.DataFrame:
    return collect(match_task, tasks(config), ["instance", "load", "k", "step", "method"],
                   workers=workers, scheduler=scheduler, progress=progress)


def rates(points: pd.DataFrame, by: Sequence[str]) -> pd.DataFrame:
    """Match rate (%) per method and group, over the feasible points (an infeasible point is a
    trivial match of every method; they are counted apart)."""
    out = []
    for key, g in points.groupby(["method", *by], sort=True):
        feas = g[g.opt_status != "infeasible"]
        out.append({**dict(zip(["method", *by], key)), "points": len(feas),
                    "infeasible_points": int((g.opt_status == "infeasible").sum()),
                    "matches": int(feas.match.sum()),
                    # error answers are misses too, but say so: a grid step too fine for a
                    # point's SLA read as a plain 0 % match
                    "errors": int((feas.status == "error").sum()),
                    "match_pct": 100.0 * float(feas.match.mean()) if len(feas) else np.nan,
                    "mean_excess_pct": float(feas.excess_pct.mean()) if len(feas) else np.nan,
                    "rule_match_pct": 100.0 * float(feas.rule_match.mean()) if len(feas) else np.nan})
    return pd.DataFrame(out)


@literal_text  # method names from the config
def plot_match(by_step_k: pd.DataFrame, path_of: Any) -> list[str]:
    """Match rate vs SLA tightness k, one line per grid step, a panel per method."""
    plt = pyplot()
    methods = list(dict.fromkeys(by_step_k.method))
    fig, axes = plt.subplots(1, len(methods), figsize=(4.2 * len(methods), 3.0), squeeze=False, sharey=True)
    for ax, m in zip(axes[0], methods):
        d = by_step_k[by_step_k.method == m]
        for g, s in d.groupby("step", sort=False):
            s = s.sort_values("k")
            ax.plot(s.k, s.match_pct, marker="o", ms=3, label=f"Δ = {g}")
        ax.axhline(96.8, color="red", lw=0.8, ls="--", label="paper 96.8%")
        ax.set_xscale("log")
        ks = sorted(d.k.unique())
        ax.set_xticks(ks, [f"{k:g}" for k in ks])
        ax.minorticks_off()
        ax.set_xlabel("SLA = k × fastest latency", fontsize=7)
        ax.set_title(m, fontsize=8)
        ax.tick_params(labelsize=7)
    axes[0][0].set_ylabel("match rate vs optimum (%)", fontsize=7)
    axes[0][-1].legend(fontsize=6)
    fig.tight_layout()
    name = "match_rate.png"
    fig.savefig(path_of(name), dpi=80)
    plt.close(fig)
    return [name]
