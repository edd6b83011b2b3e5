"""Run one experiment config end to end: tables (CSV and Parquet), plots (PNG), a
``summary.md`` and ``run.json`` in ``OUT_ROOT/NAME[-quick|-smoke]/``.

A run into a folder that holds an earlier run replaces it: before the new run starts, the
files the earlier ``run.json`` lists (``outputs``, run.json itself included) are removed
(:func:`clear_earlier_run`), so no table or figure of the earlier run -- a pipeline or a
script run this one no longer has -- is left beside this run's for a reader to take for
its own. Files no run.json lists (the researcher's own notes) are never touched. A run that
stops part-way leaves its files so far and no run.json: the folder then says it holds no
complete run.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, Mapping

import pandas as pd

from . import match, savings, script, violations
from .provenance import git_state, now_utc, write_run_json
from .setup import setup_table


def out_dir(config: Mapping[str, Any], root: Path) -> Path:
    suffix = "" if config["profile"] == "full" else f"-{config['profile']}"
    return root / f"{config['name']}{suffix}"


def markdown(df: pd.DataFrame, digits: int = 4) -> str:
    """A pipe table (no extra dependency): floats to ``digits`` significant digits."""
    cols = list(df.columns)
    lines = ["| " + " | ".join(map(str, cols)) + " |", "|" + "---|" * len(cols)]
    for _, r in df.iterrows():
        cells = [f"{v:.{digits}g}" if isinstance(v, float) else str(v) for v in r]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


class Outputs:
    """Writes into one folder and remembers what it wrote (for run.json)."""

    def __init__(self, folder: Path):
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.names: list[str] = []

    def path(self, name: str) -> Path:
        self.names.append(name)
        return self.folder / name

    def table(self, df: pd.DataFrame, stem: str) -> None:
        df.to_csv(self.path(f"{stem}.csv"), index=False)
        df.to_parquet(self.path(f"{stem}.parquet"), index=False)

    def text(self, name: str, body: str) -> None:
        self.path(name).write_text(body, encoding="utf-8")


def _savings(config: Mapping[str, Any], out: Outputs, workers: int | None, scheduler: str | None,
             progress: bool) -> tuple[str, dict[str, Any]]:
    points = savings.run(config, workers, scheduler, progress)
    ref = config["reference"]
    cells = savings.summarize(points, ref, ["hardware", "k", "load"])
    overall = savings.summarize(points, ref, ["hardware"])
    by_k = savings.summarize(points, ref, ["hardware", "k"])
    out.table(points, "points")
    out.table(cells, "savings_cells")
    out.table(overall, "savings_by_class")
    out.table(by_k, "savings_by_k")
    figures = savings.plot_heatmaps(cells, out.path)
    body = ("fa2's saving 1 − Σ fa2 / Σ baseline over the grid points both solved, per hardware "
            "class (paper: 19 % CPU, 25 % GPU); `no_solution`: points the baseline left "
            "unsolved although a solution exists; `infeasible`: points no method can solve.\n\n"
            + markdown(overall) + "\nBy SLA tightness k (all loads):\n\n" + markdown(by_k))
    counts = {"points": int(points[["pipeline", "load", "k", "rho"]].drop_duplicates().shape[0]),
              "solves": len(points), "errors": int((points.status == "error").sum())}
    return body + "".join(f"\n![{f}]({f})\n" for f in figures), counts


def _violations(config: Mapping[str, Any], out: Outputs, workers: int | None, scheduler: str | None,
                progress: bool) -> tuple[str, dict[str, Any]]:
    runs = violations.run(config, workers, scheduler, progress)
    points = violations.curve_points(runs)
    at = violations.costs_at_levels(runs, config["violation_levels"])
    by_pipe, by_class = violations.equal_violation_savings(at, config["reference"])
    out.table(runs, "runs")
    out.table(points, "curve_points")
    out.table(at, "cost_at_levels")
    out.table(by_pipe, "savings_by_pipeline")
    out.table(by_class, "savings_by_class")
    figures = violations.plot_curves(points, config["violation_levels"], out.path)
    figures += violations.plot_savings(by_class, out.path)
    ref = runs[(runs.method == config["reference"])]
    base = ref[(ref.rho == 1.0) & (ref.headroom == 0.0)] if ((ref.rho == 1.0) & (ref.headroom == 0.0)).any() else ref
    lowest = ref.groupby(["rho", "headroom"]).violation_pct.mean()
    body = ("fa2's saving at equal violation rates: 1 − cost_fa2(v) / cost_m(v), each cost read "
            "off the method's cost-vs-violation frontier over the headroom sweep (linear "
            "interpolation), per seed; class mean over its (pipeline, window)s per seed; ± = 95 % "
            "t-interval over seeds. `unreached`: (pipeline, window, seed)s where a sweep never got "
            "down to v (not extrapolated).\n\n" + markdown(by_class)
            + f"\nfa2's pooled violations at ρ = 1, no forecast headroom: mean "
              f"{base.violation_pct.mean():.3g}% over {len(base)} runs; least mean over the "
              f"sweep {lowest.min():.3g}% at ρ = {lowest.idxmin()[0]:g}, h = {lowest.idxmin()[1]:g} "
              "(paper: < 1.5 %).\n")
    counts = {"runs": len(runs), "seeds": len(config["seeds"]),
              "requests": int(runs.requests.sum())}
    return body + "".join(f"\n![{f}]({f})\n" for f in figures), counts


def _match(config: Mapping[str, Any], out: Outputs, workers: int | None, scheduler: str | None,
           progress: bool) -> tuple[str, dict[str, Any]]:
    points = match.run(config, workers, scheduler, progress)
    by_step = match.rates(points, ["step"])
    by_step_k = match.rates(points, ["step", "k"])
    out.table(points, "points")
    out.table(by_step, "match_by_step")
    out.table(by_step_k, "match_by_step_k")
    figures = match.plot_match(by_step_k, out.path)
    checked = points.drop_duplicates(["instance", "load", "k"]).fa2_matches_milp.dropna()
    body = ("Match rate against the optimum (fa2, exact) over the feasible points, by grid "
            "step; `fa2-grid` searches the coupling exactly, `fa2-grid-tightest` solves each flow "
            "alone and gives each shared node its flows' fastest choice; `rule_match_pct`: how often "
            "the rule matched the exact coupling search on the same grid. The paper's setup is "
            "unknown: instances, SLAs and steps here are assumptions (docs/experiments.md).\n\n"
            + markdown(by_step) + f"\nMILP spot checks: fa2 matched the MILP on "
            f"{int(checked.sum())}/{len(checked)} checked points.\n")
    counts = {"instances": int(points.instance.nunique()), "points": int(len(points)),
              "milp_checks": int(len(checked)), "milp_mismatches": int((~checked.astype(bool)).sum())}
    return body + "".join(f"\n![{f}]({f})\n" for f in figures), counts


def _setup(config: Mapping[str, Any], out: Outputs, workers: int | None, scheduler: str | None,
           progress: bool) -> tuple[str, dict[str, Any]]:
    table = setup_table(config)
    out.table(table, "setup")
    return markdown(table), {"rows": len(table), "experiments": len(config["experiments"])}


def _script(config: Mapping[str, Any], out: Outputs, workers: int | None, scheduler: str | None,
            progress: bool) -> tuple[str, dict[str, Any]]:
    runs = script.run(config, out.folder, workers)
    out.table(runs, "runs")
    for r in runs.run:  # every file the entry point wrote, for run.json
        out.names += sorted(str(p.relative_to(out.folder)) for p in (out.folder / r).rglob("*") if p.is_file())
    return script.summary(config, out.folder, runs), {"runs": len(runs), "files": int(runs.files.sum())}


KINDS = {"savings-grid": _savings, "equal-violations": _violations, "tightest-match": _match,
         "setup-table": _setup, "script": _script}


RECORD_SUFFIXES = (".md", ".csv", ".json", ".txt")
RECORD_MAX_BYTES = 256 * 1024


def record(folder: Path, dest: Path) -> list[str]:
    """Copy a run's small text outputs (summaries, tables, run.json; no plots, nothing over
    ``RECORD_MAX_BYTES``) into ``dest`` (``docs/recorded/NAME``), replacing what was there, so
    the figures the docs quote keep their numbers and provenance in git. Only the files this
    run's ``run.json`` lists (:func:`listed_outputs`, run.json included) are copied: a
    researcher's own notes or an interrupted earlier run's leftovers in the folder are not
    this run's to record."""
    import shutil

    if dest.exists():
        shutil.rmtree(dest)
    kept = []
    for p in sorted(listed_outputs(folder)):
        if p.is_file() and p.suffix in RECORD_SUFFIXES and p.stat().st_size <= RECORD_MAX_BYTES:
            target = dest / p.relative_to(folder)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(p, target)
            kept.append(str(p.relative_to(folder)))
    return kept


def listed_outputs(folder: Path) -> list[Path]:
    """The files the run in ``folder`` wrote, by its ``run.json``'s ``outputs`` (run.json
    lists itself): none without a readable run.json, and only names that stay inside the
    folder."""
    try:
        listed = json.loads((folder / "run.json").read_text(encoding="utf-8")).get("outputs")
    except (OSError, ValueError, AttributeError):
        return []
    root = folder.resolve()
    out = []
    for name in listed if isinstance(listed, list) else []:
        if not isinstance(name, str) or not name:
            continue
        p = folder / name
        if p.resolve().is_relative_to(root) and p.resolve() != root:
            out.append(p)
    return out


def clear_earlier_run(folder: Path) -> list[str]:
    """Remove the files an earlier run into ``folder`` listed (:func:`listed_outputs`) and
    the sub-folders that leaves empty; return their names (relative to ``folder``). Nothing
    else is removed: a file the earlier run did not list is not the runner's to delete."""
    removed = []
    for p in listed_outputs(folder):
        if p.is_file() or p.is_symlink():
            p.unlink()
            removed.append(str(p.relative_to(folder)))
            parent = p.parent
            while parent != folder and parent.is_dir() and not any(parent.iterdir()):
                parent.rmdir()
                parent = parent.parent
    return sorted(removed)


def run_config(config: Mapping[str, Any], root: Path, *, workers: int | None = None,
               scheduler: str | None = None, progress: bool = False) -> dict[str, Any]:
    """Run one resolved config; returns its run.json contents. An earlier run in the same
    folder is cleared first (:func:`clear_earlier_run`)."""
    clear_earlier_run(out_dir(config, root))
    out = Outputs(out_dir(config, root))
    workers = workers if workers is not None else config.get("workers")
    started, git, t0 = now_utc(), git_state(), time.perf_counter()
    body, counts = KINDS[config["kind"]](config, out, workers, scheduler, progress)
    wall = time.perf_counter() - t0
    head = (f"# {config['name']} ({config['profile']})\n\n{config['description']}\n\n"
            f"Config `{config['config_path']}`; wall {wall:.1f} s; provenance in `run.json`.\n\n")
    out.text("summary.md", head + body)
    return write_run_json(out.path("run.json"), config, started=started, git=git, wall_s=wall,
                          outputs=list(out.names), counts=counts, workers=workers, scheduler=scheduler)
