"""``fa2opt compare`` / ``scripts/compare_optimal.py``: the comparison run end to end.

Output directory (``--out``; default ``results/compare``, with ``--quick``
``results/compare-quick`` so a quick run never overwrites a full one):

``instances.csv``   the per-instance table (one row per instance and method; see
                    :mod:`fa2opt.compare.table`); appended as instances finish, re-sorted
                    and re-judged at the end. An existing one is resumed, but only its rows
                    computed by the same code (git revision and a hash of uncommitted
                    changes) with the same settings (time limits, trace column, datasets);
                    other rows are recomputed (``--resume-any`` keeps them, ``--fresh``
                    starts over). What was resumed is printed and recorded in
                    ``summary.md`` and ``run.json``
``summary.md``      the summary table with date, machine and versions (also printed)
``summary.csv``     the same numbers, machine-readable
``run.json``        settings and environment of the last run
``*.png``           match rate vs grid step, decision time per method, time vs size

Exit code 2 when the run cannot be trusted (:func:`~fa2opt.compare.summary.failures`: an
``error`` answer or a failed check of any method, or an instance without ground truth
because the reference errored), after writing and printing everything.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shlex
import sys
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd

from ..cli import integer, number, print_warning, time_limit_flag
from ..io import InputError, instance_to_dict, output_dir
from ..model import Instance
from .methods import DEFAULT_GRID_STEPS_MS, MethodSpec, default_methods, parse_methods
from .floors import check_floors_file, record_floors
from .plots import _grid_ms, make_plots
from ..solver import check_options, solver_class
from .runner import MAX_WORKERS, append_rows, check_method_timeout, method_options, run_tasks
from .suites import DATASETS_DIR, DEFAULT_PERCENTILES, DEFAULT_SUITES, Task, load_suites
from .summary import code_revision, environment, failures, markdown_report, summarize
from .table import COLUMNS, KEY, annotate, read_table, write_table

TABLE_FILE = "instances.csv"
SUMMARY_MD, SUMMARY_CSV, RUN_JSON = "summary.md", "summary.csv", "run.json"
DEFAULT_OUT = Path("results/compare")
QUICK_OUT = Path("results/compare-quick")  # apart from a full run's outputs
DEFAULT_TIME_LIMIT_S = 60.0
DEFAULT_METHOD_TIMEOUT_S = 600.0
# --quick: a few minutes on two cores.
QUICK = {"limit": 30, "percentiles": (50.0, 100.0), "time_limit": 20.0, "method_timeout": 60.0}


def resolve_methods(methods: Sequence[str] | None, reference: str,
                    grid_steps_ms: Sequence[float] = DEFAULT_GRID_STEPS_MS) -> tuple[list[MethodSpec], MethodSpec]:
    """The method specs to run (defaults: every present method) with the reference first
    if it was not listed. ValueError for an unknown method or option."""
    specs = parse_methods(methods) if methods else default_methods(grid_steps_ms)
    ref = parse_methods([reference])[0]
    if ref.label not in {s.label for s in specs}:
        specs = [ref] + specs
    return specs, ref


def run_compare(out: Path, *, suites: Sequence[str] = DEFAULT_SUITES,
                methods: Sequence[str] | None = None, reference: str = "milp",
                seed: int = 0, limit: int | None = None,
                percentiles: Sequence[float] = DEFAULT_PERCENTILES,
                time_limit: float | None = DEFAULT_TIME_LIMIT_S,
                method_timeout: float | None = DEFAULT_METHOD_TIMEOUT_S,
                workers: int | None = None, scheduler: str | None = None,
                progress: bool | None = None, plots: bool = True, fresh: bool = False,
                datasets: Path = DATASETS_DIR, trace_column: str | None = None,
                record_floors_to: str | Path | None = None, floors_set: str | None = None,
                only: Sequence[str] | None = None, floors_note: str | None = None,
                command: str = "", resume_any: bool = False) -> dict[str, Any]:
    """Run (or resume) a comparison into ``out``; returns the table, summary, file paths and
    ``failed`` (why the run cannot be trusted; empty when it can)."""
    if record_floors_to is not None and len(suites) != 1:
        raise ValueError("--record-floors needs exactly one suite")
    check_method_timeout(method_timeout)  # (NaN, < 0, huge: an error row per method, instance)
    specs, ref = resolve_methods(methods, reference)
    labels = [s.label for s in specs]
    if record_floors_to is not None:  # refused before the run, not after it
        if not any(_grid_ms(label) is not None for label in labels):
            raise InputError("--record-floors", "", "no fa2-grid method to record floors from "
                             "(add one to --methods, e.g. fa2-grid-5ms)")
        check_floors_file(record_floors_to)
    common = {"time_limit": time_limit} if time_limit is not None else {}
    for spec in specs:  # bad values fail here, once and before --out is made, not as an
        # error row per instance
        check_options(spec.name, method_options(spec, common),
                      solver_class(spec.name).option_names())
    tasks: list[Task] = load_suites(suites, datasets=datasets, seed=seed,
                                    percentiles=percentiles, limit=limit,
                                    trace_column=trace_column, warn=print_warning)
    if only:
        unknown = sorted(set(only) - {t.instance_id for t in tasks})
        if unknown:
            raise InputError(",".join(suites), "only", f"no instance {unknown[0]!r} in the suite(s)")
        tasks = [t for t in tasks if t.instance_id in set(only)]
    if not tasks:
        raise InputError(",".join(suites), "suite", "no instances")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    table_path = out / TABLE_FILE
    for name in (TABLE_FILE, SUMMARY_MD, SUMMARY_CSV, RUN_JSON):  # a foreign folder's
        if (out / name).exists() and not (out / name).is_file():  # (a traceback, at the end)
            raise InputError(str(out / name), "", "exists and is not a file (the comparison "
                                                  "writes it)")
    if fresh and table_path.exists():
        table_path.unlink()
    previous = read_table(table_path) if table_path.exists() else pd.DataFrame(columns=list(COLUMNS))
    if table_path.exists():  # re-write in the current layout so appended rows line up
        write_table(previous.reindex(columns=list(COLUMNS)), table_path)
    code = code_revision()
    settings = settings_id(time_limit=time_limit, method_timeout=method_timeout,
                           trace_column=trace_column, datasets=datasets)
    inputs = {t.key: input_id(t.instance) for t in tasks}
    done, resumed = resumable(previous, tasks, labels, code=code, settings=settings,
                              inputs=inputs, resume_any=resume_any, source=table_path)
    if resumed["rows"] or resumed["recomputed"]:
        print(f"fa2opt compare: {resumed['text']}", file=sys.stderr, flush=True)

    def append(rows: list[dict[str, Any]]) -> None:
        append_rows(table_path, [{**r, "code": code, "settings": settings,
                                  "input": inputs[(r["suite"], r["instance"])]} for r in rows],
                    COLUMNS)

    run_tasks(tasks, specs, done=done, common_options=common, workers=workers,
              scheduler=scheduler, progress=progress, method_timeout=method_timeout,
              on_rows=append)

    raw = read_table(table_path)
    everything = annotate(raw, ref.label, labels)
    write_table(everything, table_path)
    table = annotate(raw.loc[requested(raw, tasks, labels)], ref.label, labels)
    summary = summarize(table, labels)
    env = environment()
    run = {"suites": list(suites), "methods": labels, "reference": ref.label, "seed": seed,
           "limit": limit, "percentiles": list(percentiles), "time_limit_s": time_limit,
           "method_timeout_s": method_timeout, "only": sorted(only) if only else None,
           "trace_column": trace_column or "rps_raw (else rps)",
           "workers": None if scheduler else (workers or os.cpu_count() or 1),
           "scheduler": scheduler, "instances": len(tasks),
           "command": command, "code": code, "settings": settings,
           "resumed": resumed["text"], "resumed_rows": resumed["rows"],
           "recomputed_rows": resumed["recomputed"], "resume_any": resume_any}
    failed = failures(summary, ref.label)
    run["failed"] = failed
    report = markdown_report(summary, env, run)
    (out / SUMMARY_MD).write_text(report, encoding="utf-8")
    summary.to_csv(out / SUMMARY_CSV, index=False)
    (out / RUN_JSON).write_text(json.dumps({"run": run, "environment": env}, indent=1) + "\n",
                                  encoding="utf-8")
    pngs = make_plots(table, summary, labels, out) if plots else []
    floors = None
    if record_floors_to is not None:
        name = floors_set or ("full" if limit is None else "subset")
        floors = record_floors(record_floors_to, name, suite=tasks[0].suite, table=table,
                               summary=summary, run=run, env=env, note=floors_note)
    return {"floors": floors, "table": table, "summary": summary, "report": report, "plots": pngs,
            "table_path": table_path, "reference": ref.label, "methods": labels,
            "failed": failed, "resumed": resumed}


def requested(table: pd.DataFrame, tasks: Sequence[Task], labels: Sequence[str]) -> np.ndarray:
    """Mask of the table's rows this run asks for (its instances, its methods)."""
    wanted, labels = {t.key for t in tasks}, set(labels)
    return np.array([(s, i) in wanted and m in labels for s, i, m in
                     zip(table["suite"], table["instance"], table["method"])], dtype=bool)


def settings_id(**settings: Any) -> str:
    """A short hash of the settings that change a row's content besides the code and the
    method's own options (which are in its label): time limits, trace column, datasets."""
    text = json.dumps({k: str(Path(v).resolve()) if isinstance(v, Path) else v
                       for k, v in settings.items()}, sort_keys=True)
    return hashlib.sha1(text.encode()).hexdigest()[:10]


def input_id(instance: Instance) -> str:
    """A short hash of an instance as it is solved (every key of its document, profiles
    inline, the rates the suite set): what a row was computed on."""
    text = json.dumps(instance_to_dict(instance), sort_keys=True, default=str)
    return hashlib.sha1(text.encode()).hexdigest()[:10]


def resumable(previous: pd.DataFrame, tasks: Sequence[Task], labels: Sequence[str], *,
              code: str, settings: str, inputs: dict[tuple[str, str], str], resume_any: bool,
              source: Path) -> tuple[set, dict[str, Any]]:
    """The (suite, instance, method) keys a rerun may keep, and what to say about it. Rows
    count only when this run asks for them; a row of other code or settings (or of unknown
    code, outside a git checkout), or of another input (``inputs``: :func:`input_id` per
    (suite, instance); the file was edited since), is recomputed unless ``resume_any``."""
    mine = previous.loc[requested(previous, tasks, labels)]
    here = [inputs[(a, b)] for a, b in zip(mine["suite"], mine["instance"])]
    same = (mine["code"].astype(str) == code) & (mine["settings"].astype(str) == settings) \
        & (mine["input"].astype(str) == pd.Series(here, index=mine.index, dtype=str)) \
        & (code != "unknown")
    keep = mine if resume_any else mine.loc[same.to_numpy(dtype=bool)]
    n, stale = len(keep), len(mine) - len(keep)
    if not n and not stale:
        text = "nothing (every row computed in this run)"
    elif resume_any:
        codes = ", ".join(sorted({str(c) for c in keep["code"]}))
        text = (f"resumed {n} rows from {source} (--resume-any: whatever code and settings "
                f"computed them; code {codes})")
    else:
        text = f"resumed {n} rows from {source} (same code {code} and settings {settings})"
        if stale:
            text += (f"; recomputed {stale} rows there that other code or settings computed, "
                     f"or on an instance changed since (--resume-any keeps them)")
    done = set(map(tuple, keep[KEY].itertuples(index=False, name=None)))
    return done, {"rows": n, "recomputed": stale, "text": text}


def _floats(text: str) -> tuple[float, ...]:
    try:
        return tuple(float(x) for x in text.split(",") if x.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a comma-separated list of numbers: {text!r}") from None


def _percentiles(text: str) -> tuple[float, ...]:
    """``--percentiles``: distinct numbers in [0, 100], at least one (an empty list ran the
    defaults, 150 or NaN failed as numpy's message naming no flag, a repeat as a duplicate
    instance id of the suite)."""
    values = _floats(text)
    bad = next((q for q in values if not 0.0 <= q <= 100.0), None)
    if not values or bad is not None:
        raise argparse.ArgumentTypeError(f"must be numbers in [0, 100], comma-separated "
                                         f"(got {text!r})")
    if len({f"{q:g}" for q in values}) < len(values):  # (as instance ids name them: p50)
        raise argparse.ArgumentTypeError(f"a percentile given twice (got {text!r})")
    return values


def _split(values: Sequence[str] | None, option: str) -> list[str] | None:
    """The comma-separated or repeated values of ``option``; None when it is not given,
    an InputError when it is given but names nothing (``--methods=`` must not run the
    defaults as if it were absent)."""
    if values is None:
        return None
    items = [x.strip() for v in values for x in v.split(",") if x.strip()]
    if not items:
        raise InputError(option, "", "names nothing (an empty list)")
    return items


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``compare`` subcommand to ``fa2opt``."""
    p = subparsers.add_parser(
        "compare", help="match rate against the optimum and decision time of every method",
        description="Run every method on suites of instances; per-instance table, summary "
                    "(Markdown + CSV) and plots under --out.")
    p.add_argument("--suite", action="append", metavar="SUITE",
                   help="regression, pipelines, generated:NAME[:COUNT] or a directory/file "
                        "of instances (repeat or comma-separate; default: regression,pipelines)")
    p.add_argument("--methods", action="append", metavar="M",
                   help="method labels/specs, comma-separated: fa2, milp, fa2-grid-5ms, "
                        "fa2-grid:grid_ms=5, milp:time_limit=30, … (default: every present "
                        "method, fa2-grid at 10,5,2,1 ms)")
    p.add_argument("--reference", default="milp",
                   help="ground-truth method whose optimal/infeasible answers count (default milp)")
    p.add_argument("--out", type=Path, help=f"output directory (default {DEFAULT_OUT}; "
                                            f"{QUICK_OUT} with --quick)")
    p.add_argument("--workers", type=integer,
                   help="local worker processes (default: CPU count; 1 = in process)")
    p.add_argument("--scheduler", metavar="ADDRESS", help="dask.distributed scheduler address "
                   "(e.g. tcp://host:8786): fan out over that cluster instead")
    p.add_argument("--quick", action="store_true",
                   help=f"small default run (≤{QUICK['limit']} instances per suite, rate "
                        f"percentiles {','.join(f'{q:g}' for q in QUICK['percentiles'])}, "
                        f"MILP time limit {QUICK['time_limit']:g} s, method timeout "
                        f"{QUICK['method_timeout']:g} s)")
    p.add_argument("--seed", type=integer, default=0,
                   help="seed of subsets and generated suites (default 0)")
    p.add_argument("--limit", type=integer,
                   help="at most this many instances per suite (seeded subset)")
    p.add_argument("--only", action="append", metavar="ID",
                   help="run only these instance ids (comma-separated or repeated)")
    p.add_argument("--percentiles", type=_percentiles,
                   help="rate percentiles of each trace window for the pipelines suite "
                        "(default 5,50,95,100)")
    p.add_argument("--trace-column", choices=("rps_raw", "rps"),
                   help="trace column the pipelines are swept over (default rps_raw, the "
                        "undamped rates the pipelines' defaults use; rps = damped by 8)")
    p.add_argument("--time-limit", type=number,
                   help=f"time limit (s) for methods that take one (default {DEFAULT_TIME_LIMIT_S:g})")
    p.add_argument("--method-timeout", type=number,
                   help="stop a method still running on one instance after this many seconds "
                        f"(status timeout; default {DEFAULT_METHOD_TIMEOUT_S:g}, 0 = none; "
                        "local workers only)")
    p.add_argument("--datasets", type=Path, default=DATASETS_DIR, help="datasets directory")
    p.add_argument("--fresh", action="store_true", help="discard an existing table in --out instead of resuming")
    p.add_argument("--resume-any", action="store_true",
                   help="resume every row of an existing table, whatever code or settings "
                        "computed it (default: only rows of the same code and settings)")
    p.add_argument("--record-floors", metavar="PATH",  # (not type=Path: '' would be '.')
                   help="write this run's fa2-grid match rates as the floors the optimality "
                        "regression asserts (e.g. datasets/regression_floors.json; one suite)")
    p.add_argument("--floors-set", help="name of the floors set (default: full, or subset with --limit)")
    p.add_argument("--floors-note", help="a note kept with the recorded floors (e.g. how the set was chosen)")
    p.add_argument("--no-plots", action="store_true", help="skip the PNG plots")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_compare)
    return p


def cmd_compare(args: argparse.Namespace) -> int:
    quick = bool(args.quick)
    limit = args.limit if args.limit is not None else (QUICK["limit"] if quick else None)
    percentiles = args.percentiles or (QUICK["percentiles"] if quick else DEFAULT_PERCENTILES)
    try:  # (refused by each method's check before, naming its option time_limit)
        time_limit_flag(args.time_limit)
    except ValueError as exc:
        print(f"fa2opt compare: {exc}", file=sys.stderr)
        return 2
    time_limit = args.time_limit if args.time_limit is not None else (
        QUICK["time_limit"] if quick else DEFAULT_TIME_LIMIT_S)
    method_timeout = args.method_timeout if args.method_timeout is not None else (
        QUICK["method_timeout"] if quick else DEFAULT_METHOD_TIMEOUT_S)
    if args.workers is not None and not 1 <= args.workers <= MAX_WORKERS:
        print(f"fa2opt compare: --workers must be an integer in [1, {MAX_WORKERS}] "
              f"(got {args.workers})", file=sys.stderr)
        return 2
    if limit is not None and limit < 1:
        print("fa2opt compare: --limit must be >= 1", file=sys.stderr)
        return 2
    if args.seed < 0:  # (a generated suite failed as numpy's message, naming no flag)
        print(f"fa2opt compare: --seed must be an integer >= 0 (got {args.seed})",
              file=sys.stderr)
        return 2
    out = args.out or (QUICK_OUT if quick else DEFAULT_OUT)
    output_dir(out)
    try:
        result = run_compare(
            out, suites=_split(args.suite, "--suite") or list(DEFAULT_SUITES),
            methods=_split(args.methods, "--methods"), reference=args.reference, seed=args.seed,
            limit=limit, percentiles=percentiles, time_limit=time_limit,
            method_timeout=method_timeout or None,
            workers=args.workers, scheduler=args.scheduler,
            progress=False if args.no_progress else None, plots=not args.no_plots,
            fresh=args.fresh, datasets=args.datasets, trace_column=args.trace_column,
            record_floors_to=args.record_floors, floors_set=args.floors_set,
            only=_split(args.only, "--only"), floors_note=args.floors_note, resume_any=args.resume_any,
            command="fa2opt compare " + " ".join(shlex.quote(a) for a in sys.argv[2:])
            if sys.argv[1:2] == ["compare"] else " ".join(shlex.quote(a) for a in sys.argv))
    except ValueError as exc:  # unknown method/option (InputError is handled by fa2opt.cli)
        if isinstance(exc, InputError):
            raise
        print(f"fa2opt compare: {exc}", file=sys.stderr)
        return 2
    except RuntimeError as exc:
        print(f"fa2opt compare: {exc}", file=sys.stderr)
        return 2
    print(result["report"])
    print(f"per-instance table: {result['table_path']}")
    for p in result["plots"]:
        print(f"plot: {p}")
    if result["floors"]:
        print(f"floors recorded in {args.record_floors}")
    if result["failed"]:
        for line in result["failed"]:
            print(f"fa2opt compare: FAILED: {line}", file=sys.stderr)
        return 2
    return 0
