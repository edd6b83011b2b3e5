#!/usr/bin/env python
"""Benchmark of the batched primitives over one large instance (fa2opt.dag_batch): numpy
twins vs Numba vs CuPy, side by side.

Workload: one random DAG of ``--nodes`` nodes (default 200; :func:`random_dag_instance`, a
local helper: each node takes 1–3 predecessors among the 20 before it in a fixed
topological order, 15% of edges carry a transfer delay of 0.5–5 ms), ``--flows`` flows each
holding a random 70% of the nodes (most nodes are shared; every node is in one), 12 profile
rows per node (batch 1/2/4/8 × 1/2/4 units), batch-fill queueing. Per batch size B:

* ``evaluate``: :func:`~fa2opt.dag_batch.evaluate_fixings` on B random fixings (one table
  position per node and row): every flow's latency by the spec's rule, the SLA test, the
  cost. Reported as fixings per second.
* ``bound``: :func:`~fa2opt.dag_batch.lagrangian_bound` on B random multiplier vectors'
  node weights y[B, V] (``--allowed``: every candidate allowed, one mask shared by all rows,
  or one mask per row). Reported as bound evaluations per second.

Devices: ``numpy`` (the numpy twins, :func:`fa2opt.cpu_kernels.disabled`), ``numba``
(compiled CPU twins, one thread), ``cupy`` (the CUDA kernels; inputs already on the device,
timed to a device synchronisation; skipped without CuPy/CUDA). The first call per (device,
primitive) is timed apart as ``warmup_s`` (Numba/NVRTC compilation); then the median of
``--repeats`` calls (stopping early past ``--budget-s``), each after a garbage collection
with the collector paused. Every device's outputs are compared with the numpy twin's bit for
bit where the twin ran (column ``same_bits``). The CPU devices skip batch sizes above
``--cap-cpu`` (rows).

Usage: ``python scripts/bench_batch.py [--quick] [--out results/bench_batch.csv]``
"""

from __future__ import annotations

import argparse
import contextlib
import platform
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from fa2opt import cpu_kernels, dag_batch, kernels
from fa2opt.dag_batch import Candidates, DagStructure, choose, evaluate_fixings, lagrangian_bound
from fa2opt.model import Config, Edge, Flow, Instance, Node
from fa2opt.problem import Problem

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the sibling script's timing helpers
from bench_kernel import save_rows, timed  # noqa: E402

DEVICES = ("numpy", "numba", "cupy")


def random_dag_instance(n_nodes: int = 200, n_flows: int = 4, seed: int = 0) -> Instance:
    """A random n-node DAG (nodes in topological order n0, n1, …; node j > 0 takes 1–3
    predecessors among the 20 before it; 15% of edges carry 0.5–5 ms), ``n_flows`` flows
    of a random 70% of the nodes each (a node in none joins one: a node without rate would
    have undefined batch-fill delays), 12 correlated profile rows per node. SLAs are 1.3×
    each flow's all-fastest latency (irrelevant to the timing)."""
    rng = np.random.default_rng(seed)
    nodes, edges = [], []
    for j in range(n_nodes):
        base = float(rng.uniform(2.0, 20.0))
        rows = tuple(Config(b, "cpu", float(u), round(base * b ** 0.8 / u ** 0.7 * rng.uniform(0.9, 1.1), 3))
                     for b in (1, 2, 4, 8) for u in (1, 2, 4))
        nodes.append(Node(f"n{j}", rows))
        if j:
            preds = rng.choice(np.arange(max(0, j - 20), j), size=min(j, int(rng.integers(1, 4))), replace=False)
            edges += [Edge(f"n{i}", f"n{j}", round(float(rng.uniform(0.5, 5.0)), 3) if rng.random() < 0.15 else 0.0)
                      for i in sorted(preds.tolist())]
    member = rng.random((n_flows, n_nodes)) < 0.7
    member[rng.integers(0, n_flows, n_nodes), np.arange(n_nodes)] = True  # every node serves a flow
    flows = [Flow(f"f{f}", float(rng.uniform(5.0, 50.0)), 1e9,
                  tuple(f"n{j}" for j in np.flatnonzero(member[f]).tolist())) for f in range(n_flows)]
    inst = Instance(name=f"random-dag-{n_nodes}", nodes=tuple(nodes), edges=tuple(edges), flows=tuple(flows),
                    queueing="batch-fill")
    problem = Problem.from_instance(inst)
    fastest = problem.flow_latencies(problem.fastest_choice())
    return inst.with_slas({g: 1.3 * fastest[g] for g in fastest})


def scope(device: str) -> contextlib.AbstractContextManager:
    return cpu_kernels.disabled() if device == "numpy" else contextlib.nullcontext()


def same_bits(a: Any, b: Any) -> bool:
    a, b = kernels.to_numpy(a), kernels.to_numpy(b)
    if a.dtype == np.float64:
        return a.shape == b.shape and bool((a.view(np.uint64) == b.view(np.uint64)).all())
    return a.shape == b.shape and bool((a == b).all())


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--nodes", type=int, default=200)
    ap.add_argument("--flows", type=int, default=4)
    ap.add_argument("--batches", default="1,16,256,4096,65536")
    ap.add_argument("--devices", default="numpy,numba,cupy", help=f"of {', '.join(DEVICES)}")
    ap.add_argument("--allowed", choices=("none", "shared", "rows"), default="rows",
                    help="bound: every candidate allowed, one mask for all rows, one per row")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--budget-s", type=float, default=3.0, help="stop repeating after this")
    ap.add_argument("--cap-cpu", type=int, default=65536, help="largest batch on numpy and numba")
    ap.add_argument("--quick", action="store_true", help="small sizes (a smoke run)")
    ap.add_argument("--out", default="results/bench_batch.csv")
    args = ap.parse_args(argv)
    if args.quick:
        args.batches, args.repeats = "1,16,256", 2

    devices = []
    for dev in args.devices.split(","):
        if dev not in DEVICES:
            ap.error(f"unknown device {dev!r}")
        if dev == "numba" and not cpu_kernels.available():
            print("skipping numba: not available", file=sys.stderr)
        elif dev == "cupy" and not kernels.gpu_available():
            print("skipping cupy: no CuPy or no CUDA device", file=sys.stderr)
        else:
            devices.append(dev)
    gpu_name = ""
    cp = None
    if "cupy" in devices:
        cp = kernels.get_array_module("gpu")
        gpu_name = cp.cuda.runtime.getDeviceProperties(0)["name"].decode()

    inst = random_dag_instance(args.nodes, args.flows)
    problem = Problem.from_instance(inst)
    dag = DagStructure.from_problem(problem)
    cands = Candidates.from_problem(problem, dag)
    E = len(dag.pred_slot)
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    print(f"# bench_batch {stamp}  host {platform.node()} {platform.processor() or platform.machine()}"
          f"  python {platform.python_version()}  numpy {np.__version__}"
          + (f"  gpu {gpu_name}" if gpu_name else "  (no gpu)"))
    print(f"# instance: {args.nodes} nodes, {len(inst.edges)} edges, {args.flows} flows, "
          f"{dag.slots} flow-node slots, {E} in-flow edges, {len(cands.lat)} candidates, "
          f"{len(dag.levels())} levels; bound mask: {args.allowed}")

    rows: list[dict] = []
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)

    def save() -> pd.DataFrame:
        return save_rows(rows, out, stamp, gpu_name)

    rng = np.random.default_rng(1)
    for B in [int(x) for x in args.batches.split(",")]:
        choice = cands.random_choice(B, rng)
        lat, cost = choose(cands, choice)
        y = rng.random((B, len(dag.nodes))) * rng.random((B, 1)) * 10
        allowed = {"none": None, "shared": rng.random(len(cands.lat)) < 0.7,
                   "rows": rng.random((B, len(cands.lat))) < 0.7}[args.allowed]
        if allowed is not None:
            allowed[..., cands.ptr[:-1]] = True  # every node keeps a candidate
        reference: dict[str, Any] = {}
        for dev in devices:
            if dev != "cupy" and B > args.cap_cpu:
                for prim in ("evaluate", "bound"):
                    rows.append({"primitive": prim, "device": dev, "batch": B,
                                 "note": f"skipped (batch > cap {args.cap_cpu})"})
                continue
            if dev == "cupy":
                xp = cp
                d_lat, d_cost, d_y = cp.asarray(lat), cp.asarray(cost), cp.asarray(y)
                d_allowed = None if allowed is None else cp.asarray(allowed)
                d_cands = cands.to(cp)

                def sync(res: Any) -> Any:
                    cp.cuda.Device().synchronize()
                    return res
            else:
                xp, d_lat, d_cost, d_y, d_allowed, d_cands = np, lat, cost, y, allowed, cands

                def sync(res: Any) -> Any:
                    return res
            calls = {
                "evaluate": lambda: sync(evaluate_fixings(dag, d_lat, d_cost, xp)),
                "bound": lambda: sync(lagrangian_bound(d_cands, d_y, d_allowed, xp)),
            }
            for prim, fn in calls.items():
                with scope(dev):
                    assert dag_batch.backend(xp) == {"numpy": "numpy", "numba": "numba", "cupy": "cuda"}[dev]
                    warm, med, n = timed(fn, args.repeats, args.budget_s)
                    res = fn()
                row = {"primitive": prim, "device": dev, "batch": B, "warmup_s": warm, "median_s": med,
                       "runs": n, "per_s": B / med}
                if dev == "numpy":
                    reference[prim] = res
                if prim in reference:
                    row["same_bits"] = all(same_bits(a, b) for a, b in zip(res, reference[prim]))
                rows.append(row)
                save()
                print(f"  {prim:<8} {dev:<6} B {B:>6}: {B / med:>14,.0f} /s  (median {med * 1e3:9.3f} ms "
                      f"of {n}, warm-up {warm * 1e3:8.1f} ms)" + (f"  same bits: {row['same_bits']}"
                                                                  if "same_bits" in row else ""), flush=True)

    frame = save()
    done = frame[frame.get("per_s", pd.Series(dtype=float)).notna()]
    for prim, title in (("evaluate", "fixings evaluated per second"), ("bound", "bound evaluations per second")):
        part = done[done.primitive == prim]
        if part.empty:
            continue
        wide = part.pivot_table(index="batch", columns="device", values="per_s")
        wide = wide[[d for d in DEVICES if d in wide.columns]]
        for a, b in (("numba", "numpy"), ("cupy", "numpy"), ("cupy", "numba")):
            if {a, b} <= set(wide.columns):
                wide[f"{a}/{b}"] = wide[a] / wide[b]
        print(f"\n## {prim}: {title} (median; warm-up excluded)")
        print(wide.to_string(float_format=lambda x: f"{x:,.1f}"))
    if "same_bits" in frame and (frame["same_bits"] == False).any():  # noqa: E712
        print("\nMISMATCH: some device differs from the numpy twin (see same_bits)")
        print(f"\nwrote {out}")
        return 1
    print(f"\nwrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
