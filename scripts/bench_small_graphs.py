#!/usr/bin/env python
"""First and repeated fa2 decisions on small single-flow graphs of every generator shape
(issue 13: "small single-flow graphs of 2-12 nodes of every shape"): per shape 12
``fa2opt.generate.random_instance`` graphs of 2-12 nodes (10-60 rows per node, seed 13),
median over the graphs of each graph's median ``solve_ms`` -- first decision on the
structure (``clear_cache()`` before each of 15 runs) and repeated (60 runs); and the
largest graph median. fa2 only (the MILP side: ``scripts/bench_decision.py``).

    python scripts/bench_small_graphs.py
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import statistics, numpy as np, sys
from fa2opt.generate import random_instance, Sizes
from fa2opt.problem import Problem
from fa2opt.reductions import clear_cache
from fa2opt.solver import get_solver
rng = np.random.default_rng(13)
shapes = ("chain", "tree", "nested-sp", "fork-join", "non-sp")
fa2 = get_solver("fa2")
out = {}
for shape in shapes:
    firsts, warms = [], []
    for i in range(12):
        n = int(rng.integers(2, 13))
        inst = random_instance(shape, rng, name=f"{shape}-{i}", sizes=Sizes(nodes=(n, n), configs=(10, 60))).instance
        p = Problem.from_instance(inst)
        if len(p.flows) != 1: continue
        f = []
        for _ in range(15):
            clear_cache(); f.append(fa2.solve(p).solve_ms)
        firsts.append(statistics.median(f))
        warms.append(statistics.median(fa2.solve(p).solve_ms for _ in range(60)))
    out[shape] = (statistics.median(firsts), max(firsts), statistics.median(warms), max(warms))
    print(f"{shape:10} first p50 {out[shape][0]*1e3:7.1f} us (max {out[shape][1]*1e3:7.1f})  warm p50 {out[shape][2]*1e3:7.1f} us (max {out[shape][3]*1e3:7.1f})", flush=True)
