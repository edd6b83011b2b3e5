#!/usr/bin/env python
"""Where a first decision on a new structure spends its time, on issue 13's small family
(``FAMILIES["small"]``: 2-12 nodes × every shape, ``--small-instances`` per size, the seeds of
``scripts/bench_decision.py --only small``). Per instance the median of ``--reps`` rounds,
then the median over the instances (µs), with ``clear_cache()`` before every cold call:

* ``split`` -- ``plan_for`` on a cleared cache (the compile), the first ``Plan.decide`` on
  that fresh plan and a second one, a cold ``Solver.solve`` and a warm one;
* ``in situ`` -- a first, a cold and a warm ``Solver.solve`` with timers around its steps
  (pruning; the compile and, inside it, ``decompose`` and the leaf counts; ``Plan.decide``;
  the margins of ``fa2opt.edge``; the rule's check; the answer). ``first`` runs on a problem
  made afresh from the instance (outside the timer), as ``scripts/bench_decision.py``
  times issue 13's first decision; ``cold`` on the same problem again. The timers wrap
  module functions for the run (≈ 0.1-0.2 µs each, in ``rest``), so the steps are timed
  where they run, with the caches as a first decision leaves them. ``new`` is a first
  decision on a problem made from a newly generated instance (the generator's run and the
  loading outside the timer; the same seed, so the same graph and rows): the interpreter's
  and CPU's caches as a user's first decision finds them after loading a file, where
  ``first`` reuses the instance's objects and finds them warm.

The compiled kernels are loaded first, as ``scripts/bench_decision.py`` does
(``--no-compiled``: the Python path alone). The cyclic garbage collector is paused around
each timed call (as ``Solver.solve`` does). ``--repo DIR`` imports ``fa2opt`` from another
checkout (an A/B run of two revisions with one script: alternate the runs, compare medians)::

    python scripts/bench_cold_path.py
    python scripts/bench_cold_path.py --repo ../main
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repo", type=Path, default=REPO, help="checkout to import fa2opt from")
    ap.add_argument("--small-instances", type=int, default=2, help="instances per size")
    ap.add_argument("--reps", type=int, default=30, help="rounds per instance")
    ap.add_argument("--milp-rounds", type=int, default=5,
                    help="rounds per instance of 'after the MILP' (0: skip it)")
    ap.add_argument("--idle-ms", type=float, default=50.0,
                    help="the pause between the MILP and the first decisions in its second run")
    ap.add_argument("--no-compiled", action="store_true",
                    help="the Python path only (as scripts/bench_decision.py --no-compiled)")
    args = ap.parse_args(argv)
    sys.path.insert(0, str(args.repo.resolve()))
    sys.path.insert(0, str(REPO / "scripts"))
    import fa2opt
    from bench_decision import family_rng
    from fa2opt import edge, fa2 as fa2_module, plan as plan_module, problem as problem_module
    from fa2opt import solver as solver_module
    from fa2opt.generate import FAMILIES
    from fa2opt.problem import Problem
    from fa2opt import cpu_kernels
    from fa2opt.reductions import clear_cache, sp_decompose

    # as scripts/bench_decision.py: the compiled kernels are loaded before timing
    compiled = not args.no_compiled and cpu_kernels.warm_up()

    print(f"fa2opt from {Path(fa2opt.__file__).parent}; compiled kernels "
          f"{'loaded' if compiled else 'off (the Python path)'}")
    gen, sizes = FAMILIES["small"]
    instances = [gen(family_rng("small", size, rep), *size)
                 for size in sizes for rep in range(args.small_instances)]
    problems = [Problem.from_instance(inst) for inst in instances]
    solver = solver_module.get_solver("fa2")
    clock = time.perf_counter

    def medians(rows: list[list[float]]) -> list[float]:
        return [statistics.median(c) for c in zip(*rows)]

    # -- split ---------------------------------------------------------------------------
    rows = []
    for p in problems:
        solver.solve(p)
        runs = []
        for _ in range(args.reps):
            clear_cache()
            gc.disable()
            t0 = clock()
            plan = plan_module.plan_for(p)
            t1 = clock()
            plan.decide(p, solver.arithmetic)
            t2 = clock()
            plan.decide(p, solver.arithmetic)
            t3 = clock()
            gc.enable()
            clear_cache()
            t4 = clock()
            solver.solve(p)
            t5 = clock()
            solver.solve(p)
            t6 = clock()
            runs.append([t1 - t0, t2 - t1, t3 - t2, t5 - t4, t6 - t5])
        rows.append([x * 1e6 for x in medians(runs)])
    m = medians(rows)
    print(f"split ({len(problems)} instances, µs): compile {m[0]:.1f}, first Plan.decide "
          f"{m[1]:.1f}, second {m[2]:.1f}; Solver.solve cold {m[3]:.1f}, warm {m[4]:.1f}")

    # -- in situ -------------------------------------------------------------------------
    spent: dict[str, float] = {}
    wrapped: list[tuple[object, str, object]] = []  # restored at the end

    def timed(owner, name: str, label: str) -> None:
        f = getattr(owner, name)
        wrapped.append((owner, name, f))

        def wrapper(*a, **k):
            t = clock()
            try:
                return f(*a, **k)
            finally:
                spent[label] = spent.get(label, 0.0) + clock() - t

        setattr(owner, name, wrapper)

    check = "sla_latencies" if hasattr(Problem, "sla_latencies") else "meets_slas"
    timed(fa2_module, "pruned", "prune")
    timed(fa2_module, "plan_for", "compile")
    timed(sp_decompose, "decompose", "decompose")
    timed(sp_decompose, "_leaf_count", "leaf counts")
    timed(plan_module.Plan, "decide", "Plan.decide")
    # (a decision computes its margins by margin_budgets since a113af9; with_margin before)
    timed(edge, "margin_budgets" if hasattr(edge, "margin_budgets") else "with_margin",
          "margins")
    timed(problem_module.Problem, check, "rule check")
    timed(solver_module, "decision_answer", "answer")
    labels = ["prune", "compile", "decompose", "leaf counts", "Plan.decide", "margins",
              "rule check", "answer"]
    try:
        in_situ(problems, solver, spent, labels, args.reps, clear_cache, medians,
                [lambda inst=inst: Problem.from_instance(inst) for inst in instances],
                [lambda size=size, rep=rep: Problem.from_instance(
                    gen(family_rng("small", size, rep), *size))
                 for size in sizes for rep in range(args.small_instances)])
    finally:
        for owner, name, f in wrapped:
            setattr(owner, name, f)
    if args.milp_rounds > 0:
        milp = solver_module.get_solver("milp")
        for idle_ms in (0.0, args.idle_ms):
            for first in (True, False):
                pos = after_milp(instances, solver, milp, args.milp_rounds, idle_ms,
                                 clear_cache, medians, first)
                print(f"after the MILP{f' and {idle_ms:g} ms idle' if idle_ms else ''}, "
                      f"{'first' if first else 'repeated'} decisions 1 / 2 / 3 in a row (µs): "
                      + " / ".join(f"{x:.1f}" for x in pos))
    return 0


def after_milp(instances, solver, milp, rounds: int, idle_ms: float, clear_cache, medians,
               first: bool = True) -> list[float]:
    """Per instance and round: ``milp`` decides the instance, ``idle_ms`` of sleep, then
    three first decisions in a row on problems made afresh (``clear_cache()`` before each),
    or with ``first`` False three repeated ones (the problem's plan compiled before the
    MILP: the control, whose hot p50 is ~25 µs); the median over the instances of each
    position's median over the rounds (µs)."""
    from fa2opt.problem import Problem

    per_instance = []
    for inst in instances:
        runs = []
        warm = Problem.from_instance(inst)
        for _ in range(rounds):
            if not first:
                solver.solve(warm)
            milp.solve(Problem.from_instance(inst))
            if idle_ms:
                time.sleep(idle_ms / 1000.0)
            row = []
            for _ in range(3):
                p = Problem.from_instance(inst) if first else warm
                if first:
                    clear_cache()
                row.append(solver.solve(p).solve_ms * 1000.0)
            runs.append(row)
        per_instance.append(medians(runs))
    return medians(per_instance)


def in_situ(problems, solver, spent, labels, reps, clear_cache, medians, remake,
            regenerate) -> None:
    """A first decision, a cold and a warm ``Solver.solve`` per instance, ``spent`` filled by
    the timers. ``first``: on a problem made afresh from the instance (``remake[i]()``,
    outside the timer) after ``clear_cache()``, as ``scripts/bench_decision.py`` times a
    first decision; ``new``: the same on a newly generated instance (``regenerate[i]()``);
    ``cold``: the same problem again after ``clear_cache()``."""
    clock = time.perf_counter
    for mode in ("first", "new", "cold", "warm"):
        rows = []
        for i, p in enumerate(problems):
            runs = []
            if mode == "warm":
                solver.solve(p)  # (the cold rounds cleared every plan but the last one)
            for _ in range(reps):
                if mode in ("first", "new"):
                    p = (remake if mode == "first" else regenerate)[i]()
                if mode != "warm":
                    clear_cache()
                spent.clear()
                gc.disable()
                t = clock()
                solver.solve(p)
                total = clock() - t
                gc.enable()
                runs.append([total] + [spent.get(k, 0.0) for k in labels])
            rows.append([x * 1e6 for x in medians(runs)])
        m = medians(rows)
        parts = dict(zip(labels, m[1:]))
        rest = m[0] - sum(v for k, v in parts.items() if k not in ("decompose", "leaf counts"))
        print(f"in situ, {mode} Solver.solve {m[0]:.1f} µs: " + ", ".join(
            f"{k} {v:.1f}" for k, v in parts.items()) + f", rest {rest:.1f} "
            "(decompose and leaf counts are part of compile)")


if __name__ == "__main__":
    raise SystemExit(main())
