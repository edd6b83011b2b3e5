"""Benchmark of the ``milp`` method: where the time goes (Pyomo build vs HiGHS) and how it grows.

    python -m formulations.bench [--repeats 5] [--out milp_bench.csv] [--time-limit 60]
                                 [--sizes 10x50,50x100,200x100] [--skip-pipelines]

Instances: every ``datasets/pipelines/*.json`` and ``fa2opt.generate.scaling_instance``
chains and series-parallel graphs of the given nodes × rows. Each is solved ``repeats``
times in this process (the first, warm-up, solve of the process is discarded); the table
gives medians of ``solve_ms`` and its breakdown ``build_ms`` (Pyomo model), ``highs_ms``
(Pyomo's HiGHS interface: loading the model into HiGHS + HiGHS's run + values back),
``highs_run_ms`` (HiGHS's own run timer), the share of Pyomo overhead
(``1 − highs_run/solve``), and the model size. It prints the table and writes the CSV.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

from fa2opt import Problem, load_instance, solve

REPO = Path(__file__).resolve().parents[1]
COLUMNS = ("instance", "nodes", "binaries", "status", "cost", "solve_ms", "build_ms",
           "highs_ms", "highs_run_ms", "readback_ms", "pyomo_share")


def _instances(args: argparse.Namespace) -> list[tuple[str, Problem]]:
    out = []
    if not args.skip_pipelines:
        for path in sorted((REPO / "datasets" / "pipelines").glob("*.json")):
            out.append((path.stem, Problem.from_instance(load_instance(path))))
    if args.sizes:
        from fa2opt.generate import scaling_instance
        for spec in args.sizes.split(","):
            n, k = (int(x) for x in spec.lower().split("x"))
            for shape in ("chain", "sp"):
                inst = scaling_instance(shape, n, k)
                out.append((f"{shape}-{n}x{k}", Problem.from_instance(inst)))
    return out


def run(args: argparse.Namespace) -> list[dict]:
    problems = _instances(args)
    options = {"time_limit": args.time_limit} if args.time_limit else {}
    solve(problems[0][1], "milp", **options)  # warm-up: imports, HiGHS thread pool
    rows = []
    for name, problem in problems:
        runs = [solve(problem, "milp", **options) for _ in range(args.repeats)]
        med = {k: statistics.median(float(a.extra.get(k, 0.0)) for a in runs)
               for k in ("build_ms", "highs_ms", "highs_run_ms", "readback_ms")}
        solve_ms = statistics.median(a.solve_ms for a in runs)
        rows.append({"instance": name, "nodes": len(problem.tables),
                     "binaries": sum(len(t) for t in problem.tables.values()),
                     "status": runs[-1].status, "cost": runs[-1].cost, "solve_ms": solve_ms,
                     **med, "pyomo_share": 1.0 - med["highs_run_ms"] / solve_ms})
    return rows


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m formulations.bench", description=__doc__.splitlines()[0])
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--out", default="milp_bench.csv")
    p.add_argument("--time-limit", type=float)
    p.add_argument("--sizes", default="10x50,50x100,200x100",
                   help="scaling instances NODESxROWS, comma-separated ('' for none)")
    p.add_argument("--skip-pipelines", action="store_true")
    args = p.parse_args(argv)
    t0 = time.perf_counter()
    rows = run(args)
    import pandas as pd
    df = pd.DataFrame(rows, columns=COLUMNS)
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        print(df.to_string(index=False, float_format=lambda x: f"{x:.2f}"))
    print(f"medians of {args.repeats} runs; total {time.perf_counter() - t0:.1f} s; "
          f"median Pyomo share {df.pyomo_share.median():.0%}", file=sys.stderr)
    df.to_csv(args.out, index=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
