#!/usr/bin/env python
"""Benchmark of the grid DP's array code path: numpy (CPU) vs CuPy (GPU), side by side.

Workload: a synthetic 10-node pipeline (a chain; 12 profile rows per node: batch 1/2/4/8 ×
1/2/4 units, batch-fill queueing), SLA 1000 ms, the grid step chosen so the curve has the
asked length (grid length = ⌊SLA/Δ⌋ + 1 budget steps). A *decision* is one batch item (one
rate): both passes (decision and lower bound), backtracking and the all-fastest check.

Sections (one CSV, one printed table each):

* ``throughput``: decisions/s per device (``cpu``: numpy arrays with the compiled CPU kernels
  where Numba is available; ``cpu-numpy``: the numpy twins alone; ``gpu``: CuPy) over batch
  sizes × grid lengths; the first call
  (CUDA/Numba compilation, allocation, caches) is timed apart as ``warmup_s``; the median of
  ``--repeats`` timed calls is reported. Points above a device's work cap (batch × grid
  length) are skipped and listed as such.
* ``loop``: on the CPU, the batched numpy path vs the single-instance ``fa2-grid`` solver
  called in a loop over the same rates (its problems built before timing), at ``--loop-batch``;
  the two alternate ``--loop-repeats`` times (same machine load), medians and their ratio;
  once with the compiled CPU kernels (:mod:`fa2opt.cpu_kernels`, where Numba is available)
  and once with the numpy twins alone, each on both sides.
* ``coupling``: ``datasets/pipelines/shared_services.json`` (a detector shared by 3 flows):
  one ``fa2-grid`` decision next to ``fa2``; a batch of 10 and 100 rates with coupling
  columns enumerated vs the branch and bound per item (the measurement behind
  ``fa2opt.grid.coupling.ENUMERATE_MAX``); the decision table at 50:500:50 rps.
* ``table``: the time to build a full decision table (``DecisionTable.build``), per device.

Every timed call runs after a garbage collection with the collector paused (as ``timeit``
does), so neither side pays for collecting the other's garbage.

Usage: ``python scripts/bench_kernel.py [--quick] [--out results/bench_kernel.csv]``
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import platform
import statistics
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from types import ModuleType

import numpy as np
import pandas as pd

from fa2opt import cpu_kernels, kernels
from fa2opt.decision_table import DecisionTable
from fa2opt.grid import CurveTables, GridSolver, chunk_size, coupling, decide_batch, flow_parts
from fa2opt.io import load_instance
from fa2opt.solver import get_solver
from fa2opt.model import Config, Edge, Flow, Instance, Node
from fa2opt.problem import Problem

SLA_MS = 1000.0


def pipeline(n_nodes: int = 10, seed: int = 0) -> Instance:
    """A synthetic n-node chain with 12 correlated profile rows per node."""
    rng = np.random.default_rng(seed)
    nodes = []
    for i in range(n_nodes):
        base = float(rng.uniform(5.0, 30.0))
        rows = tuple(Config(b, "cpu", float(u), round(base * b ** 0.8 / u ** 0.7 * rng.uniform(0.9, 1.1), 3))
                     for b in (1, 2, 4, 8) for u in (1, 2, 4))
        nodes.append(Node(f"n{i}", rows))
    names = tuple(n.name for n in nodes)
    edges = tuple(Edge(a, b, 1.0) for a, b in zip(names, names[1:]))
    return Instance(name=f"pipeline{n_nodes}", nodes=tuple(nodes), edges=edges,
                    flows=(Flow("main", 100.0, SLA_MS, names),), queueing="batch-fill")


def grid_ms_for(length: int) -> float:
    """Δ such that ⌊(SLA + tol)/Δ⌋ + 1 = length."""
    return SLA_MS / (length - 1)


def rates(batch: int) -> np.ndarray:
    return np.linspace(50.0, 2000.0, batch)


def batched(inst: Instance, r: np.ndarray, grid_ms: float, xp, chunk: int) -> None:
    """Decide every rate with the batched grid DP (chunked to bound memory)."""
    problem = Problem.from_instance(inst)
    parts, coupling = flow_parts(problem)
    for lo in range(0, len(r), chunk):
        at = inst.with_rates(rates={"main": r[lo:lo + chunk]})
        tabs, _ = CurveTables.from_rates(inst, {n.name: xp.asarray(at.node_rate(n.name))
                                                for n in inst.nodes}, xp)
        d = decide_batch(parts, coupling, tabs, grid_ms)
        kernels.to_numpy(d.cost)  # synchronise: results on the host


def clock(fn) -> float:
    """Seconds of one call, garbage collected before and paused during it (as ``timeit``
    does): otherwise one side pays for collecting the other side's garbage."""
    gc.collect()
    gc.disable()
    try:
        t0 = time.perf_counter()
        fn()
        return time.perf_counter() - t0
    finally:
        gc.enable()


def save_rows(rows: list[dict], out: Path, stamp: str, gpu_name: str | None) -> pd.DataFrame:
    """The rows so far as a CSV at ``out``, stamped with date, host and GPU (also
    ``scripts/bench_batch.py``'s)."""
    frame = pd.DataFrame(rows)
    frame.insert(0, "date", stamp)
    frame.insert(1, "host", platform.node())
    frame["gpu"] = gpu_name
    frame.to_csv(out, index=False)
    return frame


def timed(fn, repeats: int, budget_s: float) -> tuple[float, float, int]:
    """(warm-up seconds, median seconds, timed runs): first call apart, then up to
    ``repeats`` calls while under ``budget_s``."""
    warm = clock(fn)
    times: list[float] = []
    while len(times) < repeats and (not times or sum(times) < budget_s):
        times.append(clock(fn))
    return warm, statistics.median(times), len(times)


def _numba_version() -> str:
    import numba
    return numba.__version__


def backend(device: str) -> tuple[ModuleType, contextlib.AbstractContextManager]:
    """A benchmark device's array module and the scope to run it in: ``cpu`` (numpy arrays,
    the compiled CPU kernels where Numba is available), ``cpu-numpy`` (numpy arrays, the
    numpy twins alone) or ``gpu`` (CuPy)."""
    if device == "cpu-numpy":
        return np, cpu_kernels.disabled()
    return kernels.get_array_module(device), contextlib.nullcontext()


def chunk_for(device: str, length: int) -> int:
    """Items per chunk (call inside the device's scope)."""
    return chunk_size(length, 19, device.removesuffix("-numpy"))  # 10 leaves + 9 edge delays


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batches", default="1,10,100,1000,10000,100000")
    ap.add_argument("--grids", default="500,2000,20000")
    ap.add_argument("--devices", default="cpu,gpu",
                    help="of cpu (compiled kernels where available), cpu-numpy (numpy twins alone), gpu "
                         "(skipped where unavailable)")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--budget-s", type=float, default=3.0, help="stop repeating after this")
    ap.add_argument("--cap-cpu", type=float, default=2e7, help="max batch × grid length on cpu")
    ap.add_argument("--cap-gpu", type=float, default=4e8, help="max batch × grid length on gpu")
    ap.add_argument("--loop-batch", type=int, default=1000)
    ap.add_argument("--loop-repeats", type=int, default=3, help="alternating loop/batched runs")
    ap.add_argument("--coupling-instance", default="datasets/pipelines/shared_services.json")
    ap.add_argument("--table-rates", type=int, default=10000)
    ap.add_argument("--table-grid", type=int, default=2000)
    ap.add_argument("--quick", action="store_true", help="small sizes (a smoke run)")
    ap.add_argument("--out", default="results/bench_kernel.csv")
    args = ap.parse_args(argv)
    if args.quick:
        args.batches, args.grids, args.repeats = "1,100,1000", "500,2000", 3
        args.loop_batch, args.table_rates, args.loop_repeats = 100, 1000, 1

    devices = []
    for dev in args.devices.split(","):
        try:
            backend(dev)
            devices.append(dev)
        except kernels.DeviceUnavailable as exc:
            print(f"skipping {dev}: {exc}", file=sys.stderr)
    gpu_name = ""
    if "gpu" in devices:
        cp = kernels.get_array_module("gpu")
        gpu_name = cp.cuda.runtime.getDeviceProperties(0)["name"].decode()
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    print(f"# bench_kernel {stamp}  host {platform.node()} {platform.processor() or platform.machine()}"
          f"  python {platform.python_version()}  numpy {np.__version__}"
          + (f"  gpu {gpu_name}" if gpu_name else "  (no gpu)")
          + ("  cpu kernels: compiled (numba " + _numba_version() + ")" if cpu_kernels.available()
             else "  cpu kernels: numpy twins (numba unavailable)"))

    inst = pipeline()
    rows: list[dict] = []
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)

    def save() -> pd.DataFrame:  # after every point, so a run cut short keeps its figures
        return save_rows(rows, out, stamp, gpu_name)
    # -- throughput ------------------------------------------------------------------
    for length in [int(x) for x in args.grids.split(",")]:
        g = grid_ms_for(length)
        for batch in [int(x) for x in args.batches.split(",")]:
            r = rates(batch)
            for dev in devices:
                cap = args.cap_gpu if dev == "gpu" else args.cap_cpu
                row = {"section": "throughput", "device": dev, "batch": batch, "grid_length": length}
                if batch * length > cap:
                    rows.append({**row, "note": f"skipped (batch × grid > cap {cap:g})"})
                    continue
                xp, scope = backend(dev)
                with scope:
                    chunk = chunk_for(dev, length)
                    warm, med, n = timed(lambda: batched(inst, r, g, xp, chunk), args.repeats, args.budget_s)
                rows.append({**row, "warmup_s": warm, "median_s": med, "runs": n,
                             "decisions_per_s": batch / med})
                save()
                print(f"  throughput {dev:<9} batch {batch:>6} grid {length:>5}: "
                      f"{batch / med:>12.1f} decisions/s  (median {med * 1e3:.2f} ms, warm-up {warm * 1e3:.1f} ms)",
                      flush=True)
    # -- loop vs batched (CPU) -------------------------------------------------------
    # The loop is what a user calls per rate: GridSolver.solve on a Problem built before
    # timing. Loop and batched runs alternate, so both see the same machine load; medians.
    # Both sides use the same CPU kernels: compiled (Numba) where available, and again with
    # the numpy twins alone (cpu_kernels.disabled()), so each ratio compares like with like.
    g = grid_ms_for(args.table_grid)
    r = rates(args.loop_batch)
    problems = [Problem.from_instance(inst.with_rates(rates={"main": float(x)})) for x in r]
    solver = GridSolver(grid_ms=g, device="cpu")

    def loop() -> None:
        for p in problems:
            solver.solve(p)

    def batch_np() -> None:
        batched(inst, r, g, np, chunk_for("cpu", args.table_grid))

    modes = (["compiled"] if cpu_kernels.available() else []) + ["numpy twins"]
    for mode in modes:
        with cpu_kernels.disabled() if mode == "numpy twins" else contextlib.nullcontext():
            loop_t, batch_t = [], []
            batch_np()  # warm-up (compilation, caches, allocator)
            loop()
            for _ in range(max(1, args.loop_repeats)):
                for fn, acc in ((loop, loop_t), (batch_np, batch_t)):
                    acc.append(clock(fn))
        loop_s, med = statistics.median(loop_t), statistics.median(batch_t)
        rows.append({"section": "loop", "device": "cpu", "method": f"kernels: {mode}", "batch": args.loop_batch,
                     "grid_length": args.table_grid, "median_s": med, "runs": len(batch_t),
                     "loop_s": loop_s, "decisions_per_s": args.loop_batch / med,
                     "speedup": loop_s / med})
        save()
        print(f"  loop ({mode} kernels): {args.loop_batch} single solves {loop_s:.2f} s "
              f"({loop_s / args.loop_batch * 1e3:.3f} ms each) vs batched numpy {med:.3f} s "
              f"({med / args.loop_batch * 1e3:.3f} ms each) -> {loop_s / med:.1f}x "
              f"(medians of {len(batch_t)} alternating runs)", flush=True)
    # -- coupling nodes: a shared detector (datasets/pipelines/shared_services.json) --
    if Path(args.coupling_instance).exists():
        shared = load_instance(args.coupling_instance)
        sp = Problem.from_instance(shared)
        for method in ("fa2-grid", "fa2"):
            solver_m = get_solver(method)
            warm, med_m, n = timed(lambda: solver_m.solve(sp), args.repeats, args.budget_s)
            rows.append({"section": "coupling", "device": "cpu", "batch": 1, "method": method,
                         "grid_length": "", "median_s": med_m, "warmup_s": warm, "runs": n})
            print(f"  coupling: one {method} decision on {shared.name}: {med_m * 1e3:.2f} ms", flush=True)
        cparts, ccoupling = flow_parts(sp)
        base = sum(f.rate_rps for f in shared.flows)
        for batch in (10, 100):
            scale = np.linspace(0.1, 1.0, batch)
            at = shared.with_rates(scale=scale)
            tabs, _ = CurveTables.from_rates(shared, {n.name: np.broadcast_to(at.node_rate(n.name), (batch,))
                                                      for n in shared.nodes})
            for strategy, limit in (("enumerate", 10 ** 9), ("search per item", 0)):
                saved, coupling.ENUMERATE_MAX = coupling.ENUMERATE_MAX, limit
                try:
                    warm, med_m, n = timed(lambda: decide_batch(cparts, ccoupling, tabs, 1.0), 1, args.budget_s)
                finally:
                    coupling.ENUMERATE_MAX = saved
                rows.append({"section": "coupling", "device": "cpu", "batch": batch, "method": strategy,
                             "grid_length": "", "median_s": med_m, "warmup_s": warm, "runs": n,
                             "decisions_per_s": batch / med_m})
                save()
                print(f"  coupling: batch {batch} ({base * scale[0]:.0f}..{base:.0f} rps), {strategy}: "
                      f"{med_m:.3f} s", flush=True)
        warm, med_m, n = timed(lambda: DecisionTable.build(shared, np.arange(50.0, 501.0, 50.0)), 1, args.budget_s)
        rows.append({"section": "coupling", "device": "cpu", "batch": 10, "method": "table 50:500:50",
                     "grid_length": "", "median_s": med_m, "warmup_s": warm, "runs": n})
        save()
        print(f"  coupling: decision table 50:500:50 on {shared.name}: {med_m:.3f} s", flush=True)
    # -- full decision table ---------------------------------------------------------
    g = grid_ms_for(args.table_grid)
    r = rates(args.table_rates)
    for dev in devices:
        _, scope = backend(dev)
        with scope:
            warm, med, n = timed(lambda: DecisionTable.build(inst, r, grid_ms=g, device=dev.removesuffix("-numpy")),
                                 3 if dev == "gpu" else 1, args.budget_s)
        rows.append({"section": "table", "device": dev, "batch": args.table_rates,
                     "grid_length": args.table_grid, "median_s": med, "warmup_s": warm, "runs": n,
                     "decisions_per_s": args.table_rates / med})
        save()
        print(f"  table {dev}: {args.table_rates} rates, grid {args.table_grid}: {med:.3f} s "
              f"(warm-up {warm:.3f} s)", flush=True)

    frame = save()
    # side by side: numpy vs cupy with the ratio
    tp = frame[(frame.section == "throughput") & frame.get("decisions_per_s", pd.Series(dtype=float)).notna()]
    if not tp.empty:
        wide = tp.pivot_table(index=["grid_length", "batch"], columns="device", values="decisions_per_s")
        for cpu in ("cpu", "cpu-numpy"):
            if {cpu, "gpu"} <= set(wide.columns):
                wide[f"gpu/{cpu}"] = wide["gpu"] / wide[cpu]
        if {"cpu", "cpu-numpy"} <= set(wide.columns):
            wide["cpu/cpu-numpy"] = wide["cpu"] / wide["cpu-numpy"]
        print("\n## decisions per second (median; warm-up excluded)")
        print(wide.to_string(float_format=lambda x: f"{x:,.1f}"))
    skipped = frame[frame.get("note", pd.Series(dtype=object)).notna()] if "note" in frame else frame.iloc[0:0]
    if not skipped.empty:
        print("\nskipped:", ", ".join(f"{d}@{b}x{l}" for d, b, l in
                                      zip(skipped.device, skipped.batch, skipped.grid_length)))
    print("\n## other sections")
    print(frame[frame.section != "throughput"].drop(columns=["date", "host", "gpu"]).to_string(index=False))
    print(f"\nwrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
