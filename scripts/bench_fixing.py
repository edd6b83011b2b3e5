#!/usr/bin/env python
"""Where the fixing DP (:mod:`fa2opt.reductions.fixing`) should take over from the coupling
searches: every coupled component of the benchmark families, timed both ways.

For each instance of issue 13's small family (``FAMILIES["small"]``, the instances of
``bench_small_plan.py``), ``bench_decision.py``'s dense and shared sections (the same
generators and seeds) and the shipped pipelines, every component of its plan that has
coupling nodes and small trees (:func:`~fa2opt.reductions.fixing.fits`) is decided by
:func:`~fa2opt.reductions.fixing.fixing_search` and by the search that decides it without
it (:func:`~fa2opt.reductions.search.search` with an arithmetic that does not declare
``fronts``: the equal split, the Lagrangian split or the flow bound), alternating, the
median of ``--reps`` calls each; both values are checked equal. Prints one line per
component (``--verbose``) and a table per coupling-space bucket: components, the median and
the worst of the per-component time ratios fixing / search::

    python scripts/bench_fixing.py --reps 20 --more-dense 12 --small-shared 40 --max-space 8192
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "scripts"))
sys.path.insert(0, str(REPO))  # this checkout's fa2opt, not an installed one

BUCKETS = ((1, 1), (2, 2), (3, 4), (5, 8), (9, 16), (17, 32), (33, 64), (65, 128),
           (129, 256), (257, 1024), (1025, 10 ** 9))


def instances(more_dense: int = 0, small_shared: int = 0):
    """(family, instance) pairs: small, dense, shared (bench_decision's streams), pipelines;
    ``more_dense``: that many more dense DAGs of each of 8, 10 and 12 nodes (``dense+``,
    ``fa2opt.generate.dense_dag`` from seed 1), where coupling spaces of 3-10,000 occur;
    ``small_shared``: that many flows-over-windows instances of 4-8 nodes, 3-12 rows per node
    (``shared-small``: ``tests/helpers.shared_instances(N, 11, nodes=(4, 8), configs=(3,
    12))``, components of 2-4 flows with small trees)."""
    from bench_decision import family_rng
    from fa2opt.generate import DENSE_CASES, FAMILIES, dense_dag, shared_flows
    from fa2opt.io import load_instance
    gen, sizes = FAMILIES["small"]
    for size in sizes:
        for rep in range(2):
            yield "small", gen(family_rng("small", size, rep), *size)
    rng = np.random.default_rng(0)
    for n, p in DENSE_CASES:
        for _ in range(3):
            yield "dense", dense_dag(rng, n, p)
    for i in range(20):
        yield "shared", shared_flows(np.random.default_rng([2026, i]), name=f"shared-{i:02d}")
    for path in sorted((REPO / "datasets" / "pipelines").glob("*.json")):
        yield "pipelines", load_instance(path)
    rng = np.random.default_rng(1)
    for n, p in ((8, 0.4), (10, 0.35), (12, 0.3)):
        for _ in range(more_dense):
            yield "dense+", dense_dag(rng, n, p)
    for i in range(small_shared):
        yield "shared-small", shared_flows(np.random.default_rng([11, i]), (4, 8),
                                           name=f"shared-{i}", configs=(3, 12))


def median_us(fn, reps: int) -> float:
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times) * 1e6


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=50, help="calls per component and method (each half)")
    ap.add_argument("--max-space", type=float, default=1024, help="larger spaces left out")
    ap.add_argument("--more-dense", type=int, default=0, help="dense+ DAGs per size (8, 10, 12 nodes)")
    ap.add_argument("--small-shared", type=int, default=0, help="shared-small instances")
    ap.add_argument("--verbose", action="store_true", help="one line per component")
    args = ap.parse_args(argv)
    from fa2opt.pareto import EXACT_FRONTS
    from fa2opt.plan import SEARCH, plan_for, pruned
    from fa2opt.problem import Problem
    from fa2opt.reductions.fixing import fits, fixing_search
    from fa2opt.reductions.pruning import Candidates
    from fa2opt.reductions.search import _space, components, search

    searches = dataclasses.replace(EXACT_FRONTS, fronts=False)
    rows = []
    for family, inst in instances(args.more_dense, args.small_shared):
        problem = Problem.from_instance(inst)
        front = pruned(problem)
        if front is None:
            continue
        plan = plan_for(problem)
        cands = {v: Candidates(v, lat, cost, pos) for v, (lat, cost, pos) in front.items()}
        for comp in plan.components:
            if comp.strategy != SEARCH:
                continue
            for sub in components(plan.decoupled(problem, comp, cands)):
                if not sub.coupling or not fits(sub) or _space(sub) > args.max_space:
                    continue
                a, b = fixing_search(sub), search(sub, searches)
                assert (a is None) == (b is None)
                assert a is None or abs(a.cost - b.cost) <= 1e-9 * max(1.0, abs(b.cost))
                half = max(1, args.reps // 2)
                ta, tb = [], []
                for _ in range(2):  # A/B alternating
                    ta.append(median_us(lambda: fixing_search(sub), half))
                    tb.append(median_us(lambda: search(sub, searches), half))
                row = (family, inst.name, int(_space(sub)), len(sub.coupling), min(ta), min(tb))
                rows.append(row)
                if args.verbose:  # (flushed: a line per component as it is timed)
                    print(f"{family:9s} {inst.name:24s} space {row[2]:6d} coupling {row[3]:3d}: "
                          f"fixing {row[4]:8.1f} µs, search {row[5]:8.1f} µs ({row[4] / row[5]:.2f}x)", flush=True)
    print(f"{'space':>12s} {'components':>10s} {'median fixing/search':>21s} {'worst':>7s} "
          f"{'best':>6s}  families")
    for lo, hi in BUCKETS:
        sel = [r for r in rows if lo <= r[2] <= hi]
        if not sel:
            continue
        ratios = [r[4] / r[5] for r in sel]
        fams = sorted({r[0] for r in sel})
        label = f"{lo}" if lo == hi else f"{lo}-{hi}" if hi < 10 ** 9 else f">{lo - 1}"
        print(f"{label:>12s} {len(sel):10d} {statistics.median(ratios):21.2f} {max(ratios):7.2f} "
              f"{min(ratios):6.2f}  {', '.join(fams)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
