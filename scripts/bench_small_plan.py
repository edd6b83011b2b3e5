#!/usr/bin/env python
"""Repeated decisions through a compiled plan on issue 13's small family: ``Plan.decide``
alone (prune → strategy → invert; no answer object), p50 per instance, median and worst over
the instances.

The instances are ``scripts/bench_decision.py --only small``'s (``FAMILIES["small"]``: 2-12
nodes × every shape, ``--small-instances`` per size, the same seeds), so its numbers compare
with that section's ``plan_decide_p50_ms`` column. Two ways to repeat a decision:

* ``same`` -- the same problem every call (what ``bench_decision.py`` times);
* ``varied`` -- what an autoscaler sees: each call a new problem of the same structure, the
  flow's rate scaled by U(0.8, 1.25) and its SLA by U(1, 1.3) (redrawn until feasible; the
  problems built before the timing, their tables included, so only the decision is timed).
  A plan may keep only what depends on the structure; a cache of answers or of anything
  derived from the rates or SLAs would show here as ``same`` faster than ``varied``.

The cyclic garbage collector is paused around each timed call (as ``Solver.solve`` does).
``--repo DIR`` imports ``fa2opt`` from another checkout (an A/B run of two revisions with
one script: alternate the runs, compare medians)::

    python scripts/bench_small_plan.py                       # this checkout
    python scripts/bench_small_plan.py --repo ../main --json before.json
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import sys
import time
import zlib
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]


def family_rng(size: tuple, rep: int) -> np.random.Generator:
    """``bench_decision.family_rng("small", size, rep)``: the same instance stream."""
    return np.random.default_rng([2026, zlib.crc32(f"small{tuple(size)}".encode()), rep])


def variants(instance, problem_cls, rng: np.random.Generator, k: int) -> list:
    """``k`` feasible problems of ``instance``'s structure with redrawn rates and SLAs."""
    out = []
    for _ in range(50 * k):
        if len(out) == k:
            break
        f = instance.flows[0]
        v = instance.with_rates(float(rng.uniform(0.8, 1.25))).with_slas(
            {f.name: f.sla_ms * float(rng.uniform(1.0, 1.3))})
        p = problem_cls.from_instance(v)
        if p.is_feasible():
            out.append(p)
    return out


def p50_us(plan, problems: list, arithmetic, reps: int) -> float:
    times = []
    n = len(problems)
    for i in range(reps):
        p = problems[i % n]
        gc.disable()
        t = time.perf_counter()
        plan.decide(p, arithmetic)
        times.append(time.perf_counter() - t)
        gc.enable()
    return statistics.median(times) * 1e6


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repo", type=Path, default=REPO, help="checkout to import fa2opt from")
    ap.add_argument("--reps", type=int, default=2000, help="timed calls per instance and mode")
    ap.add_argument("--small-instances", type=int, default=2, help="instances per (nodes, shape)")
    ap.add_argument("--variants", type=int, default=16, help="problems cycled in 'varied'")
    ap.add_argument("--json", type=Path, help="write the per-instance p50s (µs) here")
    args = ap.parse_args(argv)
    sys.path.insert(0, str(args.repo.resolve()))
    import fa2opt
    from fa2opt.generate import FAMILIES
    from fa2opt.problem import Problem
    from fa2opt.solver import get_solver

    fa2 = get_solver("fa2")
    generator, sizes = FAMILIES["small"]
    rows = []
    for size in sizes:
        for rep in range(args.small_instances):
            inst = generator(family_rng(size, rep), *size)
            problem = Problem.from_instance(inst)
            plan = fa2.plan(problem)
            others = variants(inst, Problem, np.random.default_rng([13, rep, *size[:1]]),
                              args.variants) or [problem]
            for p in (problem, *others):  # warm every path once
                plan.decide(p, fa2.arithmetic)
            rows.append({"instance": f"{inst.name}-{rep}", "nodes": len(inst.nodes),
                         "same": p50_us(plan, [problem], fa2.arithmetic, args.reps),
                         "varied": p50_us(plan, others, fa2.arithmetic, args.reps)})
    same = [r["same"] for r in rows]
    varied = [r["varied"] for r in rows]
    print(f"# fa2opt from {Path(fa2opt.__file__).parent}; {len(rows)} instances, "
          f"{args.reps} calls each")
    print(f"Plan.decide p50, same problem:   median {statistics.median(same):6.1f} µs, "
          f"worst {max(same):6.1f} µs, sum {sum(same) / 1e3:6.2f} ms")
    print(f"Plan.decide p50, varied problem: median {statistics.median(varied):6.1f} µs, "
          f"worst {max(varied):6.1f} µs, sum {sum(varied) / 1e3:6.2f} ms")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
