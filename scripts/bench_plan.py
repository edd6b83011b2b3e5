#!/usr/bin/env python
"""Repeated and first decisions on the shipped pipelines (issue 13: "a repeated decision
through a compiled plan p50 ≤ 0.05 ms"; "first decision on a new structure").

Per ``datasets/pipelines/*.json`` (or the files given):

* ``plan_p50_ms`` -- :meth:`fa2opt.plan.Plan.decide` with the plan compiled once (prune →
  strategy → invert, no answer object), median of ``--reps`` calls;
* ``warm_p50_ms`` -- ``solve_ms`` of ``fa2`` with the plan cached (the answer built and
  timed as every method's), median of ``--reps``;
* ``first_p50_ms`` -- ``solve_ms`` of ``fa2`` on a structure it has not seen
  (``clear_cache()`` before every run: the decomposition and the plan compiled inside the
  timed decision), median of ``--reps // 4``.

The cyclic garbage collector is paused around each timed call, as ``Solver.solve`` does.
On a revision without ``fa2opt.plan`` the first column is left empty (for a side-by-side
run of the code before it)::

    python scripts/bench_plan.py                 # CSV to results/bench_plan/plan.csv
"""

from __future__ import annotations

import argparse
import csv
import gc
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from fa2opt.io import load_instance  # noqa: E402
from fa2opt.problem import Problem  # noqa: E402
from fa2opt.reductions import clear_cache  # noqa: E402
from fa2opt.solver import get_solver  # noqa: E402


def p50_plan(problem: Problem, reps: int) -> float | None:
    try:
        from fa2opt.pareto import EXACT_FRONTS
        from fa2opt.plan import plan_for
    except ImportError:  # the code before the plan
        return None
    plan = plan_for(problem)
    times = []
    for _ in range(reps):
        gc.disable()
        t = time.perf_counter()
        plan.decide(problem, EXACT_FRONTS)
        times.append((time.perf_counter() - t) * 1e3)
        gc.enable()
    return statistics.median(times)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("files", type=Path, nargs="*",
                    default=sorted((REPO / "datasets" / "pipelines").glob("*.json")))
    ap.add_argument("--reps", type=int, default=2000)
    ap.add_argument("--out", type=Path, default=REPO / "results" / "bench_plan")
    args = ap.parse_args(argv)
    rows = []
    fa2 = get_solver("fa2")
    for path in args.files:
        problem = Problem.from_instance(load_instance(path))
        fa2.solve(problem)
        plan = p50_plan(problem, args.reps)
        warm = statistics.median(fa2.solve(problem).solve_ms for _ in range(args.reps))
        first = []
        for _ in range(max(1, args.reps // 4)):
            clear_cache()
            first.append(fa2.solve(problem).solve_ms)
        rows.append({"file": path.name, "nodes": len(problem.tables), "flows": len(problem.flows),
                     "plan_p50_ms": plan, "warm_p50_ms": warm,
                     "first_p50_ms": statistics.median(first)})
        r = rows[-1]
        print(f"{r['file']:28} {r['nodes']:3} nodes {r['flows']} flows  plan "
              f"{'-' if plan is None else f'{plan:.4f}'} ms  warm {warm:.4f} ms  "
              f"first {r['first_p50_ms']:.4f} ms", flush=True)
    args.out.mkdir(parents=True, exist_ok=True)
    with open(args.out / "plan.csv", "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    single = [r for r in rows if r["flows"] == 1]
    if single and single[0]["plan_p50_ms"] is not None:
        worst = max(r["plan_p50_ms"] for r in single)
        print(f"single-flow: worst plan p50 {worst:.4f} ms (target ≤ 0.05 ms: "
              f"{'met' if worst <= 0.05 else 'NOT met'})")
    print(f"CSV: {args.out / 'plan.csv'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
