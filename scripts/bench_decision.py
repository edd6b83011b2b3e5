#!/usr/bin/env python
"""Decision-time benchmark: ``fa2`` (exact FA2) against the MILP, side by side in one run.

Two parts, each printed as a table and saved as CSV under ``--out``
(default ``results/bench_decision/``):

* ``pipelines.csv`` -- every instance in ``datasets/pipelines/`` (real measured profiles)
  plus the spec's examples: median ``solve_ms`` of fa2 (warm: the per-graph series-parallel
  decomposition cached, as in repeated decisions; cold: cache cleared before every run)
  and of the MILP (model build + HiGHS + read-back), their ratio, and whether both match.
  Targets from the issue: fa2 median ≤ 0.2 ms on single-flow graphs of ≤ 10 nodes, and
  ≥ 200× faster than the MILP.
* ``scaling.csv`` -- ``fa2opt.generate.scaling_instance`` chains and nested series-parallel
  graphs of 10, 100, 1,000 nodes with 50 and 200 rows per node: fa2 medians (and the MILP
  up to ``--milp-max-nodes``), with the pruned candidates per node, to show how time grows
  with nodes and rows. Target: a 1,000-node chain under a second.

* ``shared.csv`` -- flows sharing most of their nodes (``fa2opt.generate.shared_flows``: two or
  three flows over windows of one 15-30-node chain / nested series-parallel / fork-join
  graph, real or Amdahl profiles, SLAs near the frontier), the hard case of the coupling
  search: fa2 (Lagrangian cost split, the default) beside the MILP and, with
  ``--shared-before``, the equal split it replaced (``bound="equal"``, capped at
  ``--shared-limit`` seconds). Target: well under a second each.

* ``deep.csv`` -- size and depth (issue 13): nested series-parallel graphs of 1,000 nodes
  (``scaling_instance("sp", 1000, ·)``, 50 and 200 rows), chains of 10,000 nodes and
  graphs nested 1,000 levels deep (``scaling_instance("deep-sp", 3001, ·)``): fa2's warm and
  cold medians with its prune / DP breakdown. Targets: nested SP of 1,000 nodes < 0.2 s, a
  10,000-node chain < 1 s, depth 1,000 solves.

* ``dense.csv`` -- random dense single-flow DAGs (``fa2opt.generate.dense_dag``: 8-30 nodes, edge
  probability 0.12-0.4, 12 rows per node, SLA at 1.05-1.6x the all-fastest latency), not
  series-parallel, so the decomposition duplicates many nodes inside the flow: fa2 beside
  the MILP. Target: every case well under a second.

* ``random.csv``, ``lattice.csv``, ``vsp.csv``, ``shared-large.csv`` -- issue 13's large
  families from ``fa2opt.generate.FAMILIES`` (random DAGs of 50/100/200 nodes; lattices
  5x5, 7x7, 8x8, 10x10, 3x12; vertex series-parallel graphs of 60-200 nodes with ~15 % of
  edges carrying their own latency; 3-6 flows over 60-120-node graphs), ``--family-instances``
  per size: fa2 beside the MILP, both with ``--time-limit`` per run (each run also stopped
  at 1.5 x the limit + 2 s: status ``killed``), medians, worst, MILP/fa2 and HiGHS/fa2,
  match (only when both answers are proven). Target: fa2 no slower than the MILP, median
  and worst. ``many-flows.csv`` -- 20-60 flows, each a chain through one pool of models
  (``fa2opt.generate.many_flows``; not one of issue 13's families), and ``long-paths.csv``
  -- 10-16 flows, each a chain through 12-20 stages of one pool (Amdahl profiles): judged
  by the same target. The dense and shared sections print their target too (hard: fa2 median
  ≤ 1/3 of the MILP's, worst ≤ the MILP's worst). ``ladder.csv`` -- ladders of 15-100
  rungs (``fa2opt.generate.ladder``: two rails, diagonals; not one of issue 13's families,
  found by a sweep of other shapes): the same target. ``chain-windows.csv`` -- 8 flows over
  windows of one 300-2,000-node chain (``fa2opt.generate.chain_windows``; the 37th
  session's outside audit): the same target.

* ``small.csv`` -- single-flow graphs of 2-12 nodes of every shape: fa2's first decision on
  a new structure (cold caches) beside the Pyomo MILP and HiGHS alone, and the repeated
  decision's p50. Targets: median ≥ 200x the MILP, ≥ 50x HiGHS; repeated p50 ≤ 0.05 ms.

Each target prints as one ``SUMMARY`` line with ``met`` or ``NOT met``.

``solve_ms`` is what every answer reports (``fa2opt.solver.Solver.solve``): from the
configuration tables in memory (``Problem``) to the finished answer. Each case runs
``--reps`` times (fewer when one run exceeds ``--case-budget`` seconds); medians reported.

    python scripts/bench_decision.py                 # everything
    python scripts/bench_decision.py --quick         # fewer repetitions, scaling ≤ 100 nodes
    python scripts/bench_decision.py --only deep     # size and depth only
    python scripts/bench_decision.py --quick --only random lattice vsp shared-large small
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import datetime as _dt
import math
import platform
import statistics
import sys
import time
import zlib
from pathlib import Path
from typing import Callable

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from fa2opt import cpu_kernels  # noqa: E402
from fa2opt.answer import Answer  # noqa: E402
from fa2opt.generate import DENSE_CASES, FAMILIES, dense_dag, shared_flows  # noqa: E402
from fa2opt.io import load_instance  # noqa: E402
from fa2opt.problem import Problem  # noqa: E402
from fa2opt.reductions import ParetoPrune, clear_cache  # noqa: E402
from fa2opt.solver import available_methods, checked, get_solver  # noqa: E402
from fa2opt.verify import matches  # noqa: E402


PROVEN = ("optimal", "infeasible")  # answers that prove their claim (match is only judged on these)


class Overrun(BaseException):
    """Raised by the benchmark's alarm when a run passes its hard limit (a BaseException, so
    no solver's ``except Exception`` turns it into an answer)."""


def hard_limit(time_limit_s: float | None) -> float | None:
    """The wall-clock guard for a run with ``time_limit_s``: 1.5 × the limit + 2 s (a method
    that honours its limit answers ``time_limit`` well before)."""
    return None if time_limit_s is None else 1.5 * time_limit_s + 2.0


def guarded(run: Callable[[], Answer], hard_s: float | None, method: str) -> Answer:
    """``run()``; when it has not returned after ``hard_s`` seconds (SIGALRM), an answer with
    status ``killed``, no decision and the elapsed wall time as ``solve_ms`` (a lower bound
    on the real time), so a method whose own ``time_limit`` does not stop it cannot hang the
    benchmark. fa2's caches are cleared after a kill (a structure may be half-built)."""
    if hard_s is None:
        return run()
    import signal

    def alarm(signum, frame):
        raise Overrun()

    old = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, hard_s)
    t0 = time.perf_counter()
    try:
        return run()
    except Overrun:
        clear_cache()
        return Answer("killed", method, solve_ms=(time.perf_counter() - t0) * 1000.0,
                      message=f"no answer within {hard_s:g} s (stopped by the benchmark)")
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def timed_runs(run: Callable[[], object], reps: int, budget_s: float,
               hard_s: float | None = None, method: str = "") -> tuple[list[float], object]:
    """Run ``run`` (returning an Answer) up to ``reps`` times within ``budget_s`` seconds
    (at least once), each run stopped after ``hard_s`` seconds when given (:func:`guarded`);
    return the answers' solve_ms and the last answer."""
    times, ans = [], None
    t_end = time.perf_counter() + budget_s
    for _ in range(reps):
        ans = guarded(run, hard_s, method)
        times.append(ans.solve_ms)
        if time.perf_counter() > t_end or ans.status == "killed":
            break
    return times, ans


def bench_problem(problem: Problem, *, reps: int, milp_reps: int, budget_s: float,
                  milp: bool) -> dict:
    fa2 = get_solver("fa2")
    fa2.solve(problem)  # warm-up (imports, caches)
    warm, a = timed_runs(lambda: fa2.solve(problem), reps, budget_s)

    def cold_run():
        clear_cache()
        return fa2.solve(problem)

    cold, _ = timed_runs(cold_run, max(1, reps // 4), budget_s)
    a = checked(problem, a)
    pruned, _ = ParetoPrune().apply(problem)
    row = {
        "instance": problem.instance.name,
        "nodes": len(problem.tables),
        "flows": len(problem.flows),
        "rows_per_node": round(statistics.mean(len(t) for t in problem.tables.values()), 1),
        "pruned_per_node": round(statistics.mean(len(c) for c in pruned.candidates.values()), 1),
        "fa2_status": a.status,
        "fa2_cost": a.cost,
        "fa2_warm_median_ms": statistics.median(warm),
        "fa2_cold_median_ms": statistics.median(cold),
        "fa2_runs": len(warm),
        "coupling_nodes": a.extra.get("coupling_nodes"),
        "fa2_prune_ms": a.extra.get("prune_ms"),
        "fa2_dp_ms": a.extra.get("dp_ms"),
    }
    if milp:
        row.update(milp_columns(problem, a, statistics.median(warm), milp_reps, budget_s))
        row["milp_cost"] = row.pop("_milp_cost")
    return row


def print_table(rows: list[dict], cols: list[str]) -> None:
    def fmt(v):
        if isinstance(v, float):
            return f"{v:.4f}" if abs(v) < 10 else f"{v:.1f}"
        return str(v)
    cells = [[fmt(r.get(c, "")) for c in cols] for r in rows]
    widths = [max(len(c), *(len(x[i]) for x in cells)) for i, c in enumerate(cols)]
    print("  ".join(c.rjust(w) for c, w in zip(cols, widths)))
    for x in cells:
        print("  ".join(v.rjust(w) for v, w in zip(x, widths)))


def save(rows: list[dict], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    keys = list(dict.fromkeys(k for r in rows for k in r))
    with path.open("w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=keys)
        w.writeheader()
        w.writerows(rows)


def milp_columns(problem: Problem, fa2_answer, fa2_median_ms: float, reps: int,
                 budget_s: float, **options) -> dict:
    """The MILP side of a side-by-side row, against both yardsticks: the Pyomo MILP as the
    ``milp`` method runs it (model build + HiGHS + read-back: ``milp_median_ms``, worst run
    ``milp_max_ms``) and HiGHS alone on the same model (its own run timer, ``highs_run_ms``:
    ``highs_median_ms``), each as a ratio over fa2's median; its status and whether the
    answers match (spec's rule; ``-`` unless both answers are proven). With a ``time_limit``
    option each run is also stopped by :func:`guarded` at :func:`hard_limit`."""
    solver = get_solver("milp", **options)
    answers: list = []
    mt, m = timed_runs(lambda: answers.append(solver.solve(problem)) or answers[-1], reps, budget_s,
                       hard_limit(options.get("time_limit")), "milp")
    m = checked(problem, m)
    highs = statistics.median(float(x.extra.get("highs_run_ms", math.nan)) for x in answers) \
        if answers else math.nan
    proven = m.status in PROVEN and fa2_answer.status in PROVEN
    return {"milp_status": m.status, "_milp_cost": m.cost, "milp_runs": len(mt),
            "milp_median_ms": statistics.median(mt), "milp_max_ms": max(mt),
            "highs_median_ms": highs,
            "milp_over_fa2": statistics.median(mt) / fa2_median_ms,
            "highs_over_fa2": highs / fa2_median_ms,
            "match": matches(fa2_answer, m) if proven else "-"}


TARGETS = {  # issue 13's targets per kind of family: (factor on the MILP median, label)
    "hard": (1 / 3, "fa2 median ≤ 1/3 of the MILP median and worst ≤ the MILP worst"),
    "large": (1.0, "fa2 no slower than the MILP, median and worst"),
}


def summarize_family(rows: list[dict], label: str, have_milp: bool,
                     target: str | None = None) -> None:
    """One family's closing lines. Without ``target``: fa2's median and worst time against
    the 1 s target, and the MILP's median with whether every answer matched. With
    ``target`` ("hard" or "large", :data:`TARGETS`): the issue's target for the family,
    met or NOT met (met needs every fa2 answer proven), the medians and worst cases of
    both over the per-case medians, how many answers are unproven (their times are lower
    bounds) and how many proven pairs match."""
    if not rows:
        return
    med = [r["fa2_median_ms"] for r in rows]
    if target is None:
        print(f"\nfa2 on {label}: median {statistics.median(med):.1f} ms, worst {max(med):.1f} ms "
              f"(target well under 1000 ms: {'met' if max(med) < 1000 else 'NOT met'})")
        if have_milp:
            print(f"MILP: median {statistics.median(r['milp_median_ms'] for r in rows):.1f} ms; "
                  f"all answers match: {all(r['match'] is True for r in rows)}")
        return
    factor, goal = TARGETS[target]
    fa2_open = sum(r["fa2_status"] not in PROVEN for r in rows)
    line = (f"SUMMARY {label} ({len(rows)} cases): fa2 median {statistics.median(med):.1f} ms, "
            f"worst {max(med):.1f} ms")
    if not have_milp:
        print(f"{line}; no MILP: target ({goal}) not judged")
        return
    mm = [r["milp_median_ms"] for r in rows]
    judged = [r["match"] for r in rows if r["match"] != "-"]
    ok = (fa2_open == 0 and statistics.median(med) <= factor * statistics.median(mm)
          and max(med) <= max(mm))
    print(f"{line}; MILP median {statistics.median(mm):.1f} ms, worst {max(mm):.1f} ms "
          f"(MILP/fa2 of medians {statistics.median(mm) / statistics.median(med):.2f}x); "
          f"unproven: fa2 {fa2_open}, MILP {sum(r['milp_status'] not in PROVEN for r in rows)}; "
          f"match {sum(judged)}/{len(judged)} proven pairs; "
          f"target [{target}: {goal}]: {'met' if ok else 'NOT met'}")


def main(argv: list[str] | None = None) -> int:
    with contextlib.ExitStack() as stack:
        return _main(stack, argv)


def _main(stack: contextlib.ExitStack, argv: list[str] | None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=REPO / "results" / "bench_decision")
    ap.add_argument("--reps", type=int, default=300, help="fa2 runs per case (warm)")
    ap.add_argument("--milp-reps", type=int, default=15, help="MILP runs per case")
    ap.add_argument("--case-budget", type=float, default=3.0, help="seconds per case and method")
    ap.add_argument("--pipelines", type=Path, nargs="*",
                    default=sorted((REPO / "datasets" / "pipelines").glob("*.json"))
                    + sorted((Path(__file__).resolve().parents[1] / "tests" / "data" / "spec_examples").glob("*.json")))
    ap.add_argument("--scaling-nodes", type=int, nargs="*", default=[10, 100, 1000])
    ap.add_argument("--scaling-rows", type=int, nargs="*", default=[50, 200])
    ap.add_argument("--milp-max-nodes", type=int, default=100,
                    help="run the MILP on scaling instances up to this many nodes")
    ap.add_argument("--quick", action="store_true", help="reps 50/5, scaling ≤ 100 nodes")
    ap.add_argument("--shared", type=int, default=20, help="instances in the shared section")
    ap.add_argument("--shared-before", action="store_true",
                    help="also time the equal split (bound='equal') on the shared instances")
    ap.add_argument("--shared-limit", type=float, default=10.0,
                    help="time limit (s) of each equal-split run")
    ap.add_argument("--dense-reps", type=int, default=3, help="instances per dense (n, p) case")
    ap.add_argument("--deep-reps", type=int, default=3, help="fa2 runs per deep case (warm)")
    ap.add_argument("--time-limit", type=float, default=None,
                    help="seconds per fa2 and per MILP run in the random, lattice, vsp, "
                         "shared-large and small sections (default 60; 10 with --quick)")
    ap.add_argument("--family-instances", type=int, default=None,
                    help="instances per size in the random, lattice, vsp and shared-large "
                         "sections (default 2; 1 with --quick)")
    ap.add_argument("--small-instances", type=int, default=None,
                    help="instances per (nodes, shape) in the small section (default 2; 1 with --quick)")
    ap.add_argument("--only", choices=SECTIONS, nargs="*", help="run only these sections")
    ap.add_argument("--no-compiled", action="store_true",
                    help="do not load the compiled kernels (fa2 on its Python paths alone)")
    args = ap.parse_args(argv)
    if args.quick:
        args.reps, args.milp_reps = 50, 5
        args.scaling_nodes = [n for n in args.scaling_nodes if n <= 100]
    quick = 1 if args.quick else 2
    args.time_limit = args.time_limit or (10.0 if args.quick else 60.0)
    args.family_instances = args.family_instances or quick
    args.small_instances = args.small_instances or quick
    have_milp = "milp" in available_methods()
    stamp = _dt.datetime.now().isoformat(timespec="seconds")
    print(f"# bench_decision {stamp}  {platform.node()}  {platform.processor() or platform.machine()}  "
          f"python {platform.python_version()}")
    if not have_milp:
        print("# MILP (formulations.solve) not present: fa2 only")

    # the compiled kernels (fa2's tree DP, the flow-bound passes) loaded as set-up, as the
    # comparison harness does; --no-compiled: every section on the Python paths alone
    if args.no_compiled:
        stack.enter_context(cpu_kernels.disabled())
    compiled = not args.no_compiled and cpu_kernels.warm_up()
    print(f"# compiled kernels: {'loaded before timing' if compiled else 'off (Python paths)'}")

    only = set(args.only or SECTIONS)
    if "pipelines" in only:
        bench_pipelines(args, have_milp, stamp)
    if "scaling" in only:
        bench_scaling(args, have_milp, stamp)
    if "shared" in only:
        bench_shared(args, have_milp, stamp)
    if "dense" in only:
        bench_dense(args, have_milp, stamp)
    if "deep" in only:
        bench_deep(args, stamp)
    for section in FAMILY_SECTIONS:
        if section in only:
            bench_family(args, have_milp, stamp, section)
    if "small" in only:
        bench_small(args, have_milp, stamp)
    return 0


# --only names -> (family of fa2opt.generate.FAMILIES, title, issue 13's target kind, --quick sizes)
FAMILY_SECTIONS = {
    "random": ("random", "Random DAGs (one flow; successors of node i in a window of 6 after it, "
               "out-degree ~2; 30% of edges with a transfer latency)", "large", ((50,), (100,))),
    "lattice": ("lattice", "Lattices (rows x cols grid, right and down edges, one flow; 20% of "
                "edges with a transfer latency)", "large", ((5, 5), (7, 7), (3, 12))),
    "vsp": ("vsp", "Vertex series-parallel graphs with ~15% of edges carrying their own transfer "
            "latency (breaks series joins)", "large", ((60,), (100,))),
    "shared-large": ("shared-large", "Shared, large (3-6 flows over windows of one 60-120-node "
                     "graph, 25% of edge groups with a transfer latency)", "large",
                     ((60, 3), (80, 4))),
    "chain-windows": ("chain-windows", "Chain windows (8 flows, each a window of 20-60% of one "
                      "300-2,000-node chain; 25% of edges with a transfer latency)", "large",
                      ((300, 8),)),
    "many-flows": ("many-flows", "Many flows (20-60 applications, each a chain of one model per "
                   "stage through a pool of 5-10 models x 6-12 stages; 20% of edges with a "
                   "transfer latency)", "large", ((6, 5, 20), (8, 6, 30))),
    "long-paths": ("long-paths", "Long paths (10-16 applications, each a chain of one model per "
                   "stage through a pool of 4-10 models x 12-20 stages; Amdahl profiles only)",
                   "large", ((12, 8, 10), (20, 4, 10))),
    "ladder": ("ladder", "Ladders (two rails of 15-100 nodes each, a diagonal a_i -> b_i+1 at "
               "every step and b_i -> a_i+1 at half of them, one flow; 30% of edges with a "
               "transfer latency)", "large", ((30,), (60,))),
}
SECTIONS = ("pipelines", "scaling", "shared", "dense", "deep", *FAMILY_SECTIONS, "small")


def family_rng(family: str, size: tuple, rep: int) -> np.random.Generator:
    """Instance ``rep`` of ``size`` of a family: its own stream, the same in --quick and full
    runs (the quick grids are subsets)."""
    return np.random.default_rng([2026, zlib.crc32(f"{family}{tuple(size)}".encode()), rep])


def fa2_columns(problem: Problem, limit_s: float, runs: int, budget_s: float) -> tuple[dict, Answer]:
    """fa2 with ``time_limit`` = ``limit_s`` (each run stopped at :func:`hard_limit`): a first
    decision with cold caches, then, when it was proven within ``budget_s``, up to ``runs``
    more within the budget. The row's fa2 columns (median and worst over all runs) and the
    last answer, checked."""
    fa2 = get_solver("fa2", time_limit=limit_s)
    hard = hard_limit(limit_s)
    clear_cache()
    first = checked(problem, guarded(lambda: fa2.solve(problem), hard, "fa2"))
    times, a = [first.solve_ms], first
    if first.status in PROVEN and first.solve_ms < budget_s * 1000.0:
        more, a = timed_runs(lambda: fa2.solve(problem), runs, budget_s, hard, "fa2")
        a = checked(problem, a)
        times += more
    return {"fa2_status": a.status, "fa2_median_ms": statistics.median(times),
            "fa2_max_ms": max(times), "fa2_first_ms": first.solve_ms, "fa2_runs": len(times),
            "fa2_cost": a.cost, "fa2_lower_bound": a.lower_bound,
            "coupling_nodes": a.extra.get("coupling_nodes"),
            "search_nodes": a.extra.get("search_nodes")}, a


def bench_family(args, have_milp: bool, stamp: str, section: str) -> None:
    """One family of :data:`FAMILY_SECTIONS` (issue 13's large families): every size of its
    grid (``--quick``: the quick sizes), ``--family-instances`` instances each, fa2 beside
    the MILP with the same ``--time-limit``; a table, the target line
    (:func:`summarize_family`) and ``<section>.csv``."""
    family, title, target, quick_sizes = FAMILY_SECTIONS[section]
    generator, sizes = FAMILIES[family]
    sizes = quick_sizes if args.quick else sizes
    print(f"\n## {title}; time limit {args.time_limit:g} s per run")
    rows = []
    for size in sizes:
        for rep in range(args.family_instances):
            inst = generator(family_rng(family, size, rep), *size)
            problem = Problem.from_instance(inst)
            row = {"instance": f"{inst.name}-{rep}", "size": "x".join(map(str, size)),
                   "nodes": len(inst.nodes), "edges": len(inst.edges), "flows": len(inst.flows),
                   "edge_latencies": sum(e.latency_ms > 0 for e in inst.edges)}
            cols, a = fa2_columns(problem, args.time_limit, max(3, args.reps // 60), args.case_budget)
            row.update(cols)
            if have_milp:
                row.update(milp_columns(problem, a, row["fa2_median_ms"], max(1, args.milp_reps // 3),
                                        args.case_budget, time_limit=args.time_limit))
                row["milp_cost"] = row.pop("_milp_cost")
            row.update({"time_limit_s": args.time_limit, "date": stamp})
            rows.append(row)
            print(f"  {row['instance']}: {row['nodes']} nodes, {row['edges']} edges, "
                  f"{row['flows']} flows: fa2 {row['fa2_status']} {row['fa2_median_ms']:.1f} ms"
                  + (f", MILP {row['milp_status']} {row['milp_median_ms']:.1f} ms" if have_milp else ""),
                  flush=True)
    cols = ["instance", "nodes", "edges", "flows", "coupling_nodes", "fa2_status", "fa2_median_ms",
            "fa2_max_ms", "fa2_runs"]
    if have_milp:
        cols += ["milp_status", "milp_median_ms", "milp_max_ms", "milp_over_fa2", "highs_median_ms",
                 "highs_over_fa2", "match"]
    print()
    print_table(rows, cols)
    summarize_family(rows, section, have_milp, target)
    save(rows, args.out / f"{section}.csv")
    print(f"CSV: {args.out / f'{section}.csv'}")


SMALL_QUICK_NODES = (2, 4, 8, 12)


PLAN_BLOCK = 10  # repeated decisions per block in plan_p50_ms


def plan_p50_ms(fa2, problem: Problem, reps: int) -> tuple[float, float]:
    """p50 of a repeated decision through the compiled plan alone (``Plan.decide`` with the
    solver's arithmetic: what issue 13's repeated-decision target names), beside the full
    ``Solver.solve`` (which adds the SLA-edge check and the answer's construction): as it
    runs (the compiled tree DP where loaded), and on the Python path alone
    (:func:`fa2opt.cpu_kernels.disabled`), in alternating blocks of :data:`PLAN_BLOCK`
    decisions each. (Blocks, not single decisions: a repeated decision follows the last one,
    as an autoscaler re-deciding at each new rate does. Alternating one by one timed each
    compiled decision right after a Python one, whose objects had just displaced the
    kernel's data from the CPU's caches: ten of 102 small graphs were over 0.05 ms that way,
    three with blocks, on the same code.)"""
    plan = fa2.plan(problem)
    times: tuple[list[float], list[float]] = ([], [])
    for _ in range(max(reps // PLAN_BLOCK, 3)):
        for python, out in enumerate(times):
            with cpu_kernels.disabled() if python else contextlib.nullcontext():
                for _ in range(PLAN_BLOCK):
                    t = time.perf_counter()
                    plan.decide(problem, fa2.arithmetic)
                    out.append((time.perf_counter() - t) * 1e3)
    return statistics.median(times[0]), statistics.median(times[1])


def bench_small(args, have_milp: bool, stamp: str) -> None:
    """Small single-flow graphs of every shape (``FAMILIES["small"]``: 2-12 nodes x chain,
    fork-join, nested-sp, non-sp, tree; measured and Amdahl profiles; ``--quick``: 2, 4, 8,
    12 nodes), ``--small-instances`` each: fa2's first decision on a new structure (caches
    cleared, a new solver; median of 3 in a row, the first right after the previous
    instance's MILP, each kept: ``fa2_first1_ms`` .. ``fa2_first3_ms``) beside the Pyomo MILP
    and HiGHS alone, and the
    repeated decision's p50 (warm, up to ``--reps`` runs). Each first decision runs on a
    problem made afresh from the instance, so nothing derived from its graph is cached
    beforehand. Targets (issue 13): first decision, median over the graphs, ≥ 200x the MILP
    and ≥ 50x HiGHS; repeated p50 ≤ 0.05 ms. ``small.csv``."""
    generator, sizes = FAMILIES["small"]
    if args.quick:
        sizes = tuple(s for s in sizes if s[0] in SMALL_QUICK_NODES)
    print(f"\n## Small single-flow graphs (2-12 nodes, every shape; first decision cold, "
          f"then repeated); time limit {args.time_limit:g} s per run")
    rows = []
    hard = hard_limit(args.time_limit)
    for size in sizes:
        for rep in range(args.small_instances):
            inst = generator(family_rng("small", size, rep), *size)
            problem = Problem.from_instance(inst)
            first = []
            for _ in range(3):
                # a problem made afresh (loading is outside solve_ms): nothing it caches of
                # its graph (e.g. FlowGraph.structure) carries over to the next first decision
                fresh = Problem.from_instance(inst)
                clear_cache()
                fa2 = get_solver("fa2", time_limit=args.time_limit)
                a = checked(fresh, guarded(lambda: fa2.solve(fresh), hard, "fa2"))
                first.append(a.solve_ms)
            repeated, a = timed_runs(lambda: fa2.solve(problem), args.reps, args.case_budget, hard, "fa2")
            a = checked(problem, a)
            plan_ms, python_ms = plan_p50_ms(fa2, problem, args.reps)
            row = {"instance": f"{inst.name}-{rep}", "shape": size[1], "nodes": len(inst.nodes),
                   "edges": len(inst.edges), "rows_per_node":
                   round(statistics.mean(len(v.configs) for v in inst.nodes), 1),
                   "fa2_status": a.status, "fa2_first_ms": statistics.median(first),
                   "fa2_median_ms": statistics.median(first), "fa2_first_max_ms": max(first),
                   **{f"fa2_first{i + 1}_ms": t for i, t in enumerate(first)},
                   "fa2_repeat_p50_ms": statistics.median(repeated), "plan_decide_p50_ms": plan_ms,
                   "plan_python_p50_ms": python_ms, "fa2_runs": len(repeated)}
            if have_milp:
                row.update(milp_columns(problem, a, row["fa2_first_ms"], args.milp_reps,
                                        args.case_budget, time_limit=args.time_limit))
                row["milp_cost"] = row.pop("_milp_cost")
            row.update({"time_limit_s": args.time_limit, "date": stamp})
            rows.append(row)
    cols = ["instance", "nodes", "edges", "rows_per_node", "fa2_status", "fa2_first_ms",
            "fa2_repeat_p50_ms", "plan_decide_p50_ms", "plan_python_p50_ms"]
    if have_milp:
        cols += ["milp_status", "milp_median_ms", "milp_over_fa2", "highs_median_ms",
                 "highs_over_fa2", "match"]
    print_table(rows, cols)
    if rows:
        fm = [r["fa2_first_ms"] for r in rows]
        rp = [r["fa2_repeat_p50_ms"] for r in rows]
        pp = [r["plan_decide_p50_ms"] for r in rows]
        py = [r["plan_python_p50_ms"] for r in rows]
        # the three first decisions in a row, the first right after the previous instance's
        # MILP: each position's median (scripts/bench_cold_path.py, "after the MILP")
        by_pos = " / ".join(f"{statistics.median(r[f'fa2_first{i}_ms'] for r in rows):.3f}"
                            for i in (1, 2, 3))
        print(f"\nSUMMARY small ({len(rows)} cases): fa2 first decision median "
              f"{statistics.median(fm):.3f} ms (runs 1 / 2 / 3 in a row: {by_pos} ms), "
              f"worst {max(fm):.3f} ms; repeated p50 through "
              f"Solver.solve median {statistics.median(rp):.4f} ms, worst {max(rp):.4f} ms; "
              f"through the compiled plan (Plan.decide) median {statistics.median(pp):.4f} ms, "
              f"worst {max(pp):.4f} ms, ≤ 0.05 ms in {sum(x <= 0.05 for x in pp)}/{len(pp)} "
              f"cases (target ≤ 0.05 ms in every case: "
              f"{'met' if max(pp) <= 0.05 else 'NOT met'}); on the Python path alone median "
              f"{statistics.median(py):.4f} ms, worst {max(py):.4f} ms")
        if have_milp:
            mr = [r["milp_over_fa2"] for r in rows]
            hr = [r["highs_over_fa2"] for r in rows]
            judged = [r["match"] for r in rows if r["match"] != "-"]
            # judged on the median over the graphs, as the issue states its targets
            # ("medians of side-by-side runs"); the least ratio is printed beside it
            mm, hm = statistics.median(mr), statistics.median(hr)
            print(f"SUMMARY small: first decision MILP/fa2 median {mm:.0f}x, min "
                  f"{min(mr):.0f}x (target median ≥ 200x: {'met' if mm >= 200 else 'NOT met'}); "
                  f"HiGHS alone/fa2 median {hm:.0f}x, min {min(hr):.0f}x "
                  f"(target median ≥ 50x: {'met' if hm >= 50 else 'NOT met'}); "
                  f"match {sum(judged)}/{len(judged)} proven pairs")
    save(rows, args.out / "small.csv")
    print(f"CSV: {args.out / 'small.csv'}")


DEEP_CASES = (  # (label, scaling shape, nodes, rows per node, target in ms or None)
    ("nested SP, 1,000 nodes", "sp", 1000, 50, 200.0),
    ("nested SP, 1,000 nodes", "sp", 1000, 200, 200.0),
    ("chain, 10,000 nodes", "chain", 10_000, 50, 1000.0),
    ("depth 1,000 (3,001 nodes)", "deep-sp", 3001, 3, None),
)


def bench_deep(args, stamp: str) -> None:
    """Size and depth: fa2 on the :data:`DEEP_CASES` (no MILP; the tests compare the MILP on
    depth 120 and 250). Prints a table, writes ``deep.csv``."""
    from fa2opt.generate import scaling_instance
    rows = []
    print("\n## Size and depth (single flow, synthetic Amdahl profiles, batch-fill)")
    for label, shape, n, k, target in DEEP_CASES:
        problem = Problem.from_instance(scaling_instance(shape, n, k))
        row = bench_problem(problem, reps=args.deep_reps, milp_reps=0,
                            budget_s=args.case_budget, milp=False)
        med = row["fa2_warm_median_ms"]
        row.update({"case": label, "shape": shape, "target_ms": target,
                    "target": "-" if target is None else "met" if med < target
                    else f"missed x{med / target:.1f}", "date": stamp})
        rows.append(row)
        print(f"  {label} x {k} rows: fa2 {med:.1f} ms ({row['target']})", flush=True)
    print()
    print_table(rows, ["case", "nodes", "rows_per_node", "pruned_per_node", "fa2_status",
                       "fa2_warm_median_ms", "fa2_cold_median_ms", "fa2_prune_ms", "fa2_dp_ms",
                       "fa2_runs", "target_ms", "target"])
    save(rows, args.out / "deep.csv")
    print(f"\nCSV: {args.out / 'deep.csv'}")


def bench_dense(args, have_milp: bool, stamp: str) -> None:
    """Random dense single-flow DAGs (``fa2opt.generate.dense_dag``): fa2 vs MILP, medians per
    instance, CSV ``dense.csv``."""
    from fa2opt.reductions import Chain, Decouple, SeriesParallel
    print("\n## Dense (random single-flow DAGs, 12 rows per node, nodes duplicated by the reduction)")
    rows = []
    rng = np.random.default_rng(0)
    for n, p in DENSE_CASES:
        for rep in range(args.dense_reps):
            inst = dense_dag(rng, n, p)
            problem = Problem.from_instance(inst)
            dp, _ = Chain([ParetoPrune(), SeriesParallel(), Decouple()]).apply(problem)
            fa2 = get_solver("fa2", time_limit=60)
            first = fa2.solve(problem)
            times, a = timed_runs(lambda: fa2.solve(problem), max(3, args.reps // 60), args.case_budget)
            times.append(first.solve_ms)
            a = checked(problem, a)
            row = {"instance": f"{inst.name}-{rep}", "nodes": n, "edges": len(inst.edges),
                   "coupling_nodes": len(dp.coupling), "fa2_status": a.status,
                   "fa2_median_ms": statistics.median(times), "fa2_max_ms": max(times),
                   "search_nodes": a.extra.get("search_nodes"), "fa2_runs": len(times)}
            if have_milp:
                row.update(milp_columns(problem, a, row["fa2_median_ms"], max(1, args.milp_reps // 3),
                                        args.case_budget, time_limit=60))
            row["date"] = stamp
            rows.append(row)
            print(f"  {row['instance']}: {row['coupling_nodes']} coupling: fa2 {row['fa2_median_ms']:.1f} ms"
                  + (f", MILP {row['milp_median_ms']:.1f} ms" if have_milp else ""), flush=True)
    cols = ["instance", "nodes", "edges", "coupling_nodes", "fa2_status", "fa2_median_ms",
            "fa2_max_ms", "search_nodes"]
    if have_milp:
        cols += ["milp_median_ms", "milp_over_fa2", "highs_median_ms", "highs_over_fa2", "match"]
    print()
    print_table(rows, cols)
    summarize_family(rows, "dense DAGs", have_milp)
    summarize_family(rows, "dense", have_milp, "hard")
    save(rows, args.out / "dense.csv")
    print(f"CSV: {args.out / 'dense.csv'}")


def bench_shared(args, have_milp: bool, stamp: str) -> None:
    """Flows sharing most of their nodes: fa2 (Lagrangian split) vs MILP (and the equal
    split with ``--shared-before``), medians per instance, CSV ``shared.csv``."""
    import numpy as np
    from fa2opt.reductions import Chain, Decouple, SeriesParallel
    print("\n## Shared (2-3 flows over windows of one 15-30-node graph, SLAs near the frontier)")
    rows = []
    for i in range(args.shared):
        inst = shared_flows(np.random.default_rng([2026, i]), name=f"shared-{i:02d}")
        problem = Problem.from_instance(inst)
        dp, _ = Chain([ParetoPrune(), SeriesParallel(), Decouple()]).apply(problem)
        fa2 = get_solver("fa2")
        fa2.solve(problem)
        times, a = timed_runs(lambda: fa2.solve(problem), max(3, args.reps // 30), args.case_budget)
        a = checked(problem, a)
        row = {"instance": inst.name, "nodes": len(inst.nodes), "flows": len(inst.flows),
               "shared_nodes": sum(1 for v in inst.nodes if sum(v.name in f.nodes for f in inst.flows) > 1),
               "coupling_nodes": len(dp.coupling), "fa2_status": a.status,
               "fa2_median_ms": statistics.median(times), "fa2_max_ms": max(times),
               "search_nodes": a.extra.get("search_nodes"), "fa2_runs": len(times)}
        if args.shared_before:
            eq = get_solver("fa2", bound="equal", time_limit=args.shared_limit)
            e = checked(problem, eq.solve(problem))
            row.update({"equal_status": e.status, "equal_ms": e.solve_ms,
                        "equal_over_fa2": e.solve_ms / row["fa2_median_ms"]})
        if have_milp:
            row.update(milp_columns(problem, a, row["fa2_median_ms"], max(1, args.milp_reps // 3),
                                    args.case_budget))
        row["date"] = stamp
        rows.append(row)
        print(f"  {inst.name}: {row['nodes']} nodes, {row['flows']} flows, "
              f"{row['coupling_nodes']} coupling: fa2 {row['fa2_median_ms']:.1f} ms"
              + (f", equal {row['equal_status']} {row['equal_ms']:.0f} ms" if args.shared_before else "")
              + (f", MILP {row['milp_median_ms']:.1f} ms" if have_milp else ""), flush=True)
    cols = ["instance", "nodes", "flows", "shared_nodes", "coupling_nodes", "fa2_status",
            "fa2_median_ms", "search_nodes"]
    if args.shared_before:
        cols += ["equal_status", "equal_ms"]
    if have_milp:
        cols += ["milp_median_ms", "milp_over_fa2", "highs_median_ms", "highs_over_fa2", "match"]
    print()
    print_table(rows, cols)
    summarize_family(rows, "shared instances", have_milp)
    summarize_family(rows, "shared", have_milp, "hard")
    if rows and args.shared_before:
        done = sum(r["equal_status"] == "optimal" for r in rows)
        print(f"equal split: {done}/{len(rows)} finished within {args.shared_limit:g} s")
    save(rows, args.out / "shared.csv")
    print(f"CSV: {args.out / 'shared.csv'}")


def bench_pipelines(args, have_milp: bool, stamp: str) -> None:
    rows = []
    for path in args.pipelines:
        problem = Problem.from_instance(load_instance(path))
        row = bench_problem(problem, reps=args.reps, milp_reps=args.milp_reps,
                            budget_s=args.case_budget, milp=have_milp)
        row["file"] = path.name
        rows.append(row)
    cols = ["file", "nodes", "flows", "rows_per_node", "pruned_per_node", "fa2_status",
            "fa2_warm_median_ms", "fa2_cold_median_ms"]
    if have_milp:
        cols += ["milp_median_ms", "milp_over_fa2", "highs_median_ms", "highs_over_fa2", "match"]
    print("\n## Real pipelines (median solve_ms)")
    print_table(rows, cols)
    small = [r for r in rows if r["flows"] == 1 and r["nodes"] <= 10]
    if small:
        med = statistics.median(r["fa2_warm_median_ms"] for r in small)
        worst = max(r["fa2_warm_median_ms"] for r in small)
        print(f"\nsingle-flow ≤ 10 nodes: median of medians {med:.4f} ms, worst {worst:.4f} ms "
              f"(target ≤ 0.2 ms: {'met' if worst <= 0.2 else 'NOT met'})")
        if have_milp:
            ratios = [r["milp_over_fa2"] for r in small]
            print(f"MILP / fa2: median {statistics.median(ratios):.0f}x, min {min(ratios):.0f}x "
                  f"(target ≥ 200x: {'met' if min(ratios) >= 200 else 'NOT met'})")
            highs = [r["highs_over_fa2"] for r in small]
            print(f"HiGHS alone / fa2: median {statistics.median(highs):.0f}x, min {min(highs):.0f}x "
                  f"(target ≥ 50x: {'met' if min(highs) >= 50 else 'NOT met'})")
            print(f"all answers match: {all(r['match'] is True for r in rows)}")
    for r in rows:
        r["date"] = stamp
    save(rows, args.out / "pipelines.csv")


def bench_scaling(args, have_milp: bool, stamp: str) -> None:
    from fa2opt.generate import scaling_instance
    srows = []
    print("\n## Scaling (single flow, synthetic Amdahl profiles, batch-fill)")
    for shape in ("chain", "sp"):
        for n in args.scaling_nodes:
            for k in args.scaling_rows:
                problem = Problem.from_instance(scaling_instance(shape, n, k))
                reps = args.reps if n <= 10 else max(3, args.reps // (n // 5))
                row = bench_problem(problem, reps=reps, milp_reps=max(1, args.milp_reps // 3),
                                    budget_s=args.case_budget,
                                    milp=have_milp and n <= args.milp_max_nodes)
                row.update({"shape": shape, "date": stamp})
                srows.append(row)
                print(f"  {shape:5} {n:5} nodes x {k:3} rows: fa2 {row['fa2_warm_median_ms']:.3f} ms"
                      + (f", MILP {row['milp_median_ms']:.1f} ms" if "milp_median_ms" in row else ""),
                      flush=True)
    cols = ["shape", "nodes", "rows_per_node", "pruned_per_node", "fa2_warm_median_ms",
            "fa2_cold_median_ms", "fa2_runs"]
    if have_milp:
        cols += ["milp_median_ms", "milp_over_fa2", "highs_median_ms", "highs_over_fa2", "match"]
    print()
    print_table(srows, cols)
    big = [r for r in srows if r["shape"] == "chain" and r["nodes"] >= 1000]
    if big:
        worst = max(r["fa2_warm_median_ms"] for r in big)
        print(f"\n1,000-node chain: worst median {worst:.1f} ms (target < 1000 ms: "
              f"{'met' if worst < 1000 else 'NOT met'})")
    save(srows, args.out / "scaling.csv")
    print(f"\nCSV: {args.out / 'scaling.csv'}")


if __name__ == "__main__":
    raise SystemExit(main())
