#!/usr/bin/env python3
"""Run experiments from their config files (issue 15): tables, plots and run.json per run.

    python scripts/run_experiments.py experiments/savings-grid.yaml          # one, full
    python scripts/run_experiments.py --all --quick                          # every one, minutes
    python scripts/run_experiments.py experiments/NAME.yaml --smoke          # seconds (tests)
    python scripts/run_experiments.py --all --scheduler tcp://HOST:8786      # over Dask
    python scripts/run_experiments.py experiments/trace.yaml --record        # + docs/recorded/trace/

Each run writes into ``results/experiments/NAME[-quick|-smoke]/`` (``--out-root``):
CSV and Parquet tables, PNG figures, ``summary.md`` and ``run.json`` (git revision, dirty
flag, config hash, seeds, package versions, machine, wall time, the files written). A rerun
into a folder first removes the files the earlier run.json lists (nothing else). A bad
config is one line on stderr naming the file, the field and the reason, and exit code 2.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Sequence

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from fa2opt.compare.runner import MAX_WORKERS  # noqa: E402
from fa2opt.experiments.config import load_config  # noqa: E402
from fa2opt.experiments.runner import out_dir, record, run_config  # noqa: E402
from fa2opt.io import InputError  # noqa: E402


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("configs", nargs="*", type=Path, help="experiment config files (YAML)")
    ap.add_argument("--all", action="store_true", help="every experiments/*.yaml (setup table last)")
    size = ap.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="the config's quick version (minutes)")
    size.add_argument("--smoke", action="store_true", help="the config's smoke version (seconds)")
    ap.add_argument("--out-root", type=Path, default=ROOT / "results" / "experiments")
    ap.add_argument("--workers", type=int, help="local processes (default: the config's, else all cores)")
    ap.add_argument("--scheduler", help="dask.distributed scheduler address (scale-out)")
    ap.add_argument("--no-progress", action="store_true")
    ap.add_argument("--record", action="store_true",
                    help="also copy each run's summaries, tables and run.json (no plots) to "
                         "docs/recorded/NAME[-quick|-smoke]/, where the docs' figures cite them")
    args = ap.parse_args(argv)
    paths = list(args.configs)
    if args.all:
        paths += sorted((ROOT / "experiments").glob("*.yaml"))
    if not paths:
        print("run_experiments: give config files or --all", file=sys.stderr)
        return 2
    if args.workers is not None and not 1 <= args.workers <= MAX_WORKERS:
        print(f"run_experiments: --workers: must be an integer in [1, {MAX_WORKERS}] "
              f"(got {args.workers})", file=sys.stderr)
        return 2
    profile = "quick" if args.quick else "smoke" if args.smoke else None
    try:  # validate every config before running any
        configs = [load_config(p, profile) for p in dict.fromkeys(paths)]
    except InputError as exc:
        print(exc, file=sys.stderr)
        return 2
    configs.sort(key=lambda c: c["kind"] == "setup-table")
    for c in configs:
        try:
            info = run_config(c, args.out_root, workers=args.workers, scheduler=args.scheduler,
                              progress=not args.no_progress and sys.stderr.isatty())
        except InputError as exc:
            print(exc, file=sys.stderr)
            return 2
        except ValueError as exc:  # a run's own check of a value the config passed (e.g. a
            # headroom whose decisions need more replicas than the simulator takes): one line
            print(f"{c['config_path']}: {exc}", file=sys.stderr)
            return 2
        print(f"{c['name']} ({c['profile']}): {info['wall_s']:.1f} s -> {out_dir(c, args.out_root)}")
        if args.record:
            dest = out_dir(c, ROOT / "docs" / "recorded")
            kept = record(out_dir(c, args.out_root), dest)
            print(f"  recorded {len(kept)} files -> {dest.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
