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

* ``shared.csv`` -- flows sharing most of their nodes (:func:`shared_instance`: two or
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

* ``dense.csv`` -- random dense single-flow DAGs (:func:`dense_instance`: 8-30 nodes, edge
  probability 0.12-0.4, 12 rows per node, SLA at 1.05-1.6x the all-fastest latency), not
  series-parallel, so the decomposition duplicates many nodes inside the flow: fa2 beside
  the MILP. Target: every case well under a second.

``solve_ms`` is what every answer reports (``fa2opt.solver.Solver.solve``): from the
configuration tables in memory (``Problem``) to the finished answer. Each case runs
``--reps`` times (fewer when one run exceeds ``--case-budget`` seconds); medians reported.

    python scripts/bench_decision.py                 # everything
    python scripts/bench_decision.py --quick         # fewer repetitions, scaling ≤ 100 nodes
    python scripts/bench_decision.py --only deep     # size and depth only
"""

from __future__ import annotations

import argparse
import csv
import datetime as _dt
import math
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Callable

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from fa2opt.io import load_instance  # noqa: E402
from fa2opt.problem import Problem  # noqa: E402
from fa2opt.reductions import ParetoPrune, clear_cache  # noqa: E402
from fa2opt.solver import available_methods, checked, get_solver  # noqa: E402
from fa2opt.verify import matches  # noqa: E402


def timed_runs(run: Callable[[], object], reps: int, budget_s: float) -> tuple[list[float], object]:
    """Run ``run`` (returning an Answer) up to ``reps`` times within ``budget_s`` seconds
    (at least once); return the answers' solve_ms and the last answer."""
    times, ans = [], None
    t_end = time.perf_counter() + budget_s
    for _ in range(reps):
        ans = run()
        times.append(ans.solve_ms)
        if time.perf_counter() > t_end:
            break
    return times, ans


def shared_instance(rng: "np.random.Generator", name: str, nodes: tuple[int, int] = (15, 30),
                    flows: tuple[int, int] = (2, 3), configs: tuple[int, int] = (10, 60),
                    p_measured: float = 0.5):
    """Flows that share most of their nodes (the hard case of fa2's coupling search).

    A chain, nested series-parallel or fork-join graph (``fa2opt.generate.build``) of n ~
    U(nodes) nodes; flow 0 covers it all, every other flow a window of its topological
    order that drops at most a fifth of the nodes at each end (so flows share ≥ 60 % of the
    nodes, usually far more). Profiles: a subset of a measured CSV (probability
    ``p_measured``) or Amdahl rows (``fa2opt.generate``), batch-fill queueing, rates as
    ``random_instance`` draws them (× logU(0.3, 10) of the flow's typical capacity), SLAs at
    t ~ U(0.02, 0.6) of each flow's frontier (feasible, mostly binding)."""
    import math
    from fa2opt import generate as gen
    pick = lambda lo, hi: int(rng.integers(lo, hi + 1))  # noqa: E731
    n = pick(*nodes)
    shape = ("chain", "nested-sp", "fork-join")[pick(0, 2)]
    topo = gen.build(shape, n, pick)
    order = list(topo.nodes)
    F = pick(*flows)
    members = [tuple(order)]
    for _ in range(F - 1):
        a, b = pick(0, n // 5), n - pick(0, n // 5)
        members.append(tuple(order[a:b]))
    topo = gen.Topology("multi-flow", topo.nodes, topo.edges, tuple(members), "shared-" + shape)
    files = gen.measured_profile_files()
    rows = {}
    for v in topo.nodes:
        k = int(round(math.exp(rng.uniform(math.log(configs[0]), math.log(configs[1])))))
        if files and rng.uniform() < p_measured:
            rows[v], _ = gen.measured_profile(rng, k, Path(files[pick(0, len(files) - 1)]))
        else:
            rows[v] = gen.amdahl_profile(rng, k, bool(rng.uniform() < 0.4))
    kinds = sorted({c.hardware for cs in rows.values() for c in cs})
    prices = {h: gen.BASE_PRICES.get(h, 4.0) for h in kinds}
    sharing = {v: sum(v in m for m in members) for v in topo.nodes}
    rates = []
    for m in members:
        cap = [math.log(statistics.median(1000.0 * c.batch / c.latency_ms for c in rows[v])
                        / sharing[v]) for v in m]
        rates.append(round(math.exp(sum(cap) / len(cap) + rng.uniform(math.log(0.3), math.log(10.0))), 2))
    inst = gen.assemble(topo, rows, name=name, rates=rates, prices=prices)
    positions = {f: float(rng.uniform(0.02, 0.6)) for f in gen.flow_names(topo)}
    return gen.place_slas(inst, positions, decimals=gen.SLA_DECIMALS)


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


DENSE_CASES = ((8, 0.4), (12, 0.3), (16, 0.25), (20, 0.2), (25, 0.15), (30, 0.12))


def dense_instance(rng: "np.random.Generator", n: int, p: float, k: int = 12):
    """A random dense DAG of n nodes as one flow (the hard case of node duplication).

    Node i has k of 12 rows (batch 1/2/4/8 x 1/2/4 cpu units; latency base ~ U(5, 40) x
    (0.3 + 0.7 b) x (0.2 + 0.8 / u) x U(0.9, 1.1)); edge i -> j (i < j) with probability p,
    delay 0, 1 or 2 ms; rate 50/s; SLA = all-fastest latency x U(1.05, 1.6)."""
    from fa2opt import Config, Edge, Flow, Instance, Node
    nodes = []
    for i in range(n):
        base = rng.uniform(5, 40)
        cfgs = [Config(b, "cpu", c, round(base * (0.3 + 0.7 * b) * (0.2 + 0.8 / c) * rng.uniform(0.9, 1.1), 3))
                for b in (1, 2, 4, 8) for c in (1, 2, 4)]
        nodes.append(Node(f"n{i}", tuple(cfgs[:k])))
    edges = [Edge(f"n{i}", f"n{j}", float(rng.integers(0, 3)))
             for i in range(n) for j in range(i + 1, n) if rng.random() < p]
    inst = Instance(f"dense-{n}-{p:g}", tuple(nodes), tuple(edges),
                    (Flow("main", 50.0, 1e9, tuple(v.name for v in nodes)),))
    problem = Problem.from_instance(inst)
    fast = problem.flow_latencies(problem.fastest_choice())["main"]
    return inst.with_slas({"main": fast * rng.uniform(1.05, 1.6)})



def milp_columns(problem: Problem, fa2_answer, fa2_median_ms: float, reps: int,
                 budget_s: float, **options) -> dict:
    """The MILP side of a side-by-side row, against both yardsticks: the Pyomo MILP as the
    ``milp`` method runs it (model build + HiGHS + read-back: ``milp_median_ms``) and HiGHS
    alone on the same model (its own run timer, ``highs_run_ms``: ``highs_median_ms``), each
    as a ratio over fa2's median; its status and whether the answers match (spec's rule, on a
    proven MILP answer)."""
    solver = get_solver("milp", **options)
    answers: list = []
    mt, m = timed_runs(lambda: answers.append(solver.solve(problem)) or answers[-1], reps, budget_s)
    m = checked(problem, m)
    highs = statistics.median(float(x.extra.get("highs_run_ms", math.nan)) for x in answers)
    return {"milp_status": m.status, "_milp_cost": m.cost, "milp_runs": len(mt),
            "milp_median_ms": statistics.median(mt), "highs_median_ms": highs,
            "milp_over_fa2": statistics.median(mt) / fa2_median_ms,
            "highs_over_fa2": highs / fa2_median_ms,
            "match": m.status in ("optimal", "infeasible") and matches(fa2_answer, m)}


def summarize_family(rows: list[dict], label: str, have_milp: bool) -> None:
    """One family's closing lines: fa2's median and worst time against the 1 s target, and
    the MILP's median with whether every answer matched."""
    if not rows:
        return
    med = [r["fa2_median_ms"] for r in rows]
    print(f"\nfa2 on {label}: median {statistics.median(med):.1f} ms, worst {max(med):.1f} ms "
          f"(target well under 1000 ms: {'met' if max(med) < 1000 else 'NOT met'})")
    if have_milp:
        print(f"MILP: median {statistics.median(r['milp_median_ms'] for r in rows):.1f} ms; "
              f"all answers match: {all(r['match'] for r in rows)}")

def main(argv: list[str] | None = None) -> int:
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
    ap.add_argument("--only", choices=("pipelines", "scaling", "shared", "dense", "deep"), nargs="*",
                    help="run only these sections")
    args = ap.parse_args(argv)
    if args.quick:
        args.reps, args.milp_reps = 50, 5
        args.scaling_nodes = [n for n in args.scaling_nodes if n <= 100]
    have_milp = "milp" in available_methods()
    stamp = _dt.datetime.now().isoformat(timespec="seconds")
    print(f"# bench_decision {stamp}  {platform.node()}  {platform.processor() or platform.machine()}  "
          f"python {platform.python_version()}")
    if not have_milp:
        print("# MILP (formulations.solve) not present: fa2 only")

    only = set(args.only or ("pipelines", "scaling", "shared", "dense", "deep"))
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
    return 0


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
    """Random dense single-flow DAGs (:func:`dense_instance`): fa2 vs MILP, medians per
    instance, CSV ``dense.csv``."""
    from fa2opt.reductions import Chain, Decouple, SeriesParallel
    print("\n## Dense (random single-flow DAGs, 12 rows per node, nodes duplicated by the reduction)")
    rows = []
    rng = np.random.default_rng(0)
    for n, p in DENSE_CASES:
        for rep in range(args.dense_reps):
            inst = dense_instance(rng, n, p)
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
        inst = shared_instance(np.random.default_rng([2026, i]), f"shared-{i:02d}")
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
            print(f"all answers match: {all(r['match'] for r in rows)}")
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
