"""Decision tables: the grid DP's decision for every workload level (and SLA) in a range.

An autoscaler decides again whenever the predicted workload changes. Instead of solving
each time, :meth:`DecisionTable.build` computes, in one batched pass of the grid DP
(:mod:`fa2opt.grid`, on numpy or CuPy), the configuration of every node for every rate of
a grid ``START:STOP:STEP`` (times every SLA asked for), and :meth:`DecisionTable.decide`
turns a run-time rate into a decision by lookup.

The rate axis: with one flow it is that flow's rate; with ``flow=NAME`` it is that flow's
rate and the other flows keep the instance's rates; with several flows and no ``flow`` it is
the *total* rate Σ_f λ_f, every flow scaled by one factor ``scale = rate / Σ_f λ_f``
relative to the instance (column ``scale``). ``sla_ms`` values set the SLA of the chosen
flow, or of every flow when none is chosen.

Lookup (:meth:`DecisionTable.decide`): a row's configuration is *re-evaluated at the
actual rate* — replicas and queueing delay recomputed by :class:`fa2opt.problem.Problem`
(under batch-fill a lower rate means a longer batch-fill wait, so neither neighbouring row
is safe by itself) — for the rows nearest to the rate (``window`` on each side); the
cheapest that still meets every SLA is answered (``feasible``; the row's own status and
bound when the rate is exactly a row's rate). If none holds, a direct ``fa2-grid`` solve
answers. :attr:`DecisionTable.stats` counts how often the lookup sufficed.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from . import cpu_kernels, kernels, spec
from .answer import Answer, decision_answer, empty_answer
from .grid import (DEFAULT_GRID_MS, CurveTables, GridSolver, check_grid_ms, chunk_size, count_terms,
                   decide_batch, flow_parts, grid_steps)
from .grid.flow_dp import capped, grid_too_long
from .cli import integer, number, read_instance
from .io import InputError, output_file, quote
from .model import Instance
from .problem import Problem
from .solver import checked
from .spec import RATE_RPS_RANGE
from .tables import ReplicaRangeError

METHOD = "fa2-grid"
WINDOW = 2


MAX_RANGE_VALUES = 1_000_000  # a START:STOP:STEP grid longer than this is refused (memory)


def parse_range(text: str, option: str,
                within: tuple[float, float] | None = None) -> np.ndarray:
    """``START:STOP:STEP`` (STOP included when on the grid), a single value, or a
    comma-separated list; every value finite and > 0 (and in ``within`` when given), at
    most MAX_RANGE_VALUES of them. Bad text → InputError."""
    shown = quote(text)
    try:
        if ":" in text:
            parts = [float(x) for x in text.split(":")]
            if len(parts) != 3:
                raise InputError(option, "", f"expected START:STOP:STEP (got {shown})")
            start, stop, step = parts
            if not all(map(math.isfinite, parts)) or step <= 0 or stop < start:
                raise InputError(option, "", f"needs finite START <= STOP and STEP > 0 (got {shown})")
            span = (stop - start) / step  # may overflow to inf (1:1e308:1e-308): count it as huge
            count = math.floor(span + 1e-9) + 1 if math.isfinite(span) else math.inf
            if count > MAX_RANGE_VALUES:
                raise InputError(option, "", f"{count:.3g} values (at most {MAX_RANGE_VALUES}); "
                                 f"use a larger STEP (got {shown})")
            values = start + step * np.arange(int(count))
        else:
            values = np.array([float(x) for x in text.split(",")])
    except ValueError as exc:
        if isinstance(exc, InputError):
            raise
        raise InputError(option, "", f"not a number list or START:STOP:STEP (got {shown})") from None
    if values.size == 0 or not np.all(np.isfinite(values)) or np.any(values <= 0):
        raise InputError(option, "", f"every value must be finite and > 0 (got {shown})")
    if within is not None and (values.min() < within[0] or values.max() > within[1]):
        raise InputError(option, "", f"out of range: every value must be in [{within[0]:g}, "
                         f"{within[1]:g}] (got {shown})")
    return values


def refuse_extensions(instance: Instance, formulation: str | None) -> None:
    """InputError naming the first extension key of ``instance`` unless ``formulation`` is
    ``"base"``: a decision table cannot honour extensions (spec: a method that cannot honour
    an extension present answers an error naming the key, never the base problem's answer)."""
    if formulation not in (None, "base"):
        raise InputError("--formulation", "", f"a decision table solves only the base problem "
                         f"(got {quote(formulation)}; use 'base')")
    if formulation == "base":
        return
    from .extensions import extension_keys  # noqa: PLC0415

    keys = extension_keys(instance)
    if keys:
        raise InputError(instance.source, keys[0],
                         "a decision table (the batched grid DP) solves only the base problem "
                         "and cannot honour this extension key (--formulation base ignores it)")


@dataclass
class DecisionTable:
    """The grid DP's decisions over a rate (× SLA) grid; one row per (rate, SLA)."""

    instance: Instance
    flow: str | None              # the flow whose rate varies (None: all flows scaled)
    grid_ms: float
    rate_rps: np.ndarray          # (N,) the rate axis (see module doc)
    sla_ms: np.ndarray | None     # (N,) the SLA set per row, None: the instance's SLAs
    status: np.ndarray            # (N,) str
    cost: np.ndarray              # (N,) nan where infeasible
    lower_bound: np.ndarray       # (N,)
    choice: dict[str, np.ndarray]  # per node (N,) profile row, −1 where infeasible
    replicas: dict[str, np.ndarray]
    device: str = "cpu"
    build_ms: float = 0.0
    stats: dict[str, int] = field(default_factory=lambda: {"lookups": 0, "hits": 0,
                                                           "solves": 0, "infeasible": 0})

    # -- the rate axis ----------------------------------------------------------------------
    @property
    def scaled(self) -> bool:
        """True when the axis scales every flow by one factor (several flows, no ``flow``)."""
        return self.flow is None and len(self.instance.flows) > 1

    def scale(self, rate: Any) -> Any:
        base = spec.left_sum(f.rate_rps for f in self.instance.flows)  # (bits: any Python)
        return np.asarray(rate, dtype=float) / base

    def instance_at(self, rate: Any, sla_ms: Any = None) -> Instance:
        """The instance at a rate of the axis (scalar, or an array: flow rates become arrays
        and :meth:`Instance.node_rate` broadcasts) and, optionally, an SLA."""
        inst = self.instance
        if self.scaled:
            inst = inst.with_rates(scale=self.scale(rate))
        else:
            inst = inst.with_rates(rates={self.flow_name: rate})
        if sla_ms is not None:
            names = [self.flow] if self.flow else [f.name for f in inst.flows]
            inst = inst.with_slas({n: sla_ms for n in names})
        return inst

    @property
    def flow_name(self) -> str:
        return self.flow or self.instance.flows[0].name

    # -- building ---------------------------------------------------------------------------
    @classmethod
    def build(cls, instance: Instance, rates: Sequence[float], *, flow: str | None = None,
              sla_ms: Sequence[float] | None = None, grid_ms: float = DEFAULT_GRID_MS,
              device: str = "cpu", formulation: str | None = None) -> "DecisionTable":
        """Solve every (rate, SLA) of the grid in batched passes of the grid DP.

        The table solves the base problem only (its batched DP knows no extension), so an
        instance carrying extension keys is refused with an InputError naming the key, as
        the spec asks of any method that cannot honour one, unless ``formulation="base"``
        (``--formulation base``) says to ignore them."""
        refuse_extensions(instance, formulation)
        if flow is not None and flow not in {f.name for f in instance.flows}:
            raise InputError("--flow", "", f"no flow named {quote(flow)} "
                             f"(flows: {quote([f.name for f in instance.flows])})")
        grid_ms = check_grid_ms(grid_ms)
        xp = kernels.get_array_module(device)
        if not kernels.is_cupy(xp):
            cpu_kernels.warm_up()  # compiling the CPU kernels is set-up, not build time
        t0 = time.perf_counter()
        rates = np.unique(np.asarray(rates, dtype=float))  # sorted: lookups bisect it
        slas = None if sla_ms is None else np.unique(np.asarray(sla_ms, dtype=float))
        rate_col = np.repeat(rates, 1 if slas is None else len(slas))
        sla_col = None if slas is None else np.tile(slas, len(rates))
        table = cls(instance, flow, grid_ms, rate_col, sla_col, np.empty(0, dtype=object),
                    np.empty(0), np.empty(0), {}, {},
                    device="gpu" if kernels.is_cupy(xp) else "cpu")
        problem = Problem.from_instance(instance)
        parts0, _ = flow_parts(problem)
        if sla_col is not None:
            parts0, _ = flow_parts(problem, {f.name: float(sla_col.max()) for f in instance.flows})
        # curve length for chunking: budgets capped at what the profiles reach at the lowest
        # and highest rate (queueing delays change with the rate), as decide_batch caps them
        ends = table.instance_at(np.array([rates[0], rates[-1]]))
        tabs0, _ = CurveTables.from_rates(
            instance, {n.name: xp.asarray(np.broadcast_to(ends.node_rate(n.name), (2,)))
                       for n in instance.nodes}, xp)
        steps = grid_steps(capped(parts0, tabs0, grid_ms), grid_ms)
        too_long = grid_too_long(steps, grid_ms)
        if too_long:
            raise InputError("--grid-ms", "", too_long)
        leaf_steps = sum(count_terms(p.tree) for p in parts0)
        chunk = chunk_size(steps, leaf_steps, table.device)
        out: dict[str, list] = {"status": [], "cost": [], "lb": []}
        choice: dict[str, list] = {n.name: [] for n in instance.nodes}
        reps: dict[str, list] = {n.name: [] for n in instance.nodes}
        for lo in range(0, len(rate_col), chunk):
            r = rate_col[lo:lo + chunk]
            s = None if sla_col is None else sla_col[lo:lo + chunk]
            at = table.instance_at(r)
            node_rates = {n.name: xp.asarray(np.broadcast_to(at.node_rate(n.name), r.shape))
                          for n in instance.nodes}
            tabs, raw = CurveTables.from_rates(instance, node_rates, xp)
            slas_now = None
            if s is not None:
                names = [flow] if flow else [f.name for f in instance.flows]
                slas_now = {n: xp.asarray(s) for n in names}
            parts, coupling = flow_parts(problem, slas_now)
            d = decide_batch(parts, coupling, tabs, grid_ms)
            out["status"].append(d.status)
            out["cost"].append(kernels.to_numpy(d.cost))
            out["lb"].append(kernels.to_numpy(d.lower_bound))
            for v in choice:
                k = d.choice[v]
                choice[v].append(kernels.to_numpy(k))
                rep = xp.broadcast_to(raw[v]["replicas"], tabs.cost[v].shape)
                picked = kernels.gather_rows(rep, xp.maximum(k, 0), xp)
                reps[v].append(kernels.to_numpy(xp.where(k >= 0, picked, 0)).astype(np.int64))
        table.status = np.concatenate(out["status"])
        feasible = table.status != "infeasible"
        table.cost = np.where(feasible, np.concatenate(out["cost"]), np.nan)
        table.lower_bound = np.where(feasible, np.concatenate(out["lb"]), np.nan)
        table.choice = {v: np.concatenate(c).astype(np.int64) for v, c in choice.items()}
        table.replicas = {v: np.concatenate(c) for v, c in reps.items()}
        table.build_ms = (time.perf_counter() - t0) * 1000.0
        return table

    # -- lookup -----------------------------------------------------------------------------
    def decide(self, rate: float, sla_ms: float | None = None) -> Answer:
        """A decision that holds at exactly ``rate`` (see module doc); verified."""
        self.stats["lookups"] += 1
        if sla_ms is None and self.sla_ms is not None:
            sla_ms = float(self.sla_ms[0])
        problem = Problem.from_instance(self.instance_at(float(rate), sla_ms))
        if not problem.is_feasible():
            self.stats["infeasible"] += 1
            return checked(problem, empty_answer("infeasible", METHOD, instance=self.instance.name,
                                                 source="table"))
        best: tuple[float, dict[str, int], int] | None = None
        for i in self._nearby(rate, sla_ms):
            choice = self._positions(problem, i)
            if choice is None or not problem.meets_slas(choice):
                continue
            c = problem.cost(choice)
            if best is None or c < best[0]:
                best = (c, choice, i)
        if best is not None:
            _, choice, i = best
            exact = self.rate_rps[i] == rate
            ans = decision_answer(problem, choice, status=str(self.status[i]) if exact else "feasible",
                                  method=METHOD, lower_bound=float(self.lower_bound[i]) if exact else None,
                                  extra={"source": "table",
                                         "table_rate_rps": float(self.rate_rps[i])})
            ans = checked(problem, ans)
            if ans.status != "error":
                self.stats["hits"] += 1
                return ans
        self.stats["solves"] += 1
        ans = GridSolver(grid_ms=self.grid_ms, formulation="base").solve(problem)
        return checked(problem, ans.with_(extra={**ans.extra, "source": "solve"}))

    @property
    def hit_rate(self) -> float:
        """Share of feasible lookups answered from the table (no solve needed)."""
        n = self.stats["hits"] + self.stats["solves"]
        return self.stats["hits"] / n if n else float("nan")

    def _nearby(self, rate: float, sla_ms: float | None) -> list[int]:
        rows = np.arange(len(self.rate_rps))
        if self.sla_ms is not None:
            rows = rows[np.isclose(self.sla_ms, self.sla_ms[0] if sla_ms is None else sla_ms,
                                   rtol=1e-12, atol=0)]
        rows = rows[self.status[rows] != "infeasible"]
        if rows.size == 0:
            return []
        pos = int(np.searchsorted(self.rate_rps[rows], rate))
        return [int(i) for i in rows[max(0, pos - WINDOW):pos + WINDOW]]

    def _positions(self, problem: Problem, i: int) -> dict[str, int] | None:
        """Row i's configuration as table positions at the problem's rate (None if a row is
        not available there, e.g. over max_replicas)."""
        try:
            return {v: problem.tables[v].position(int(k[i])) for v, k in self.choice.items()}
        except KeyError:
            return None

    # -- output -----------------------------------------------------------------------------
    def to_frame(self) -> Any:
        """One row per (rate, SLA): rate_rps, [scale], [sla_ms], status, cost, lower_bound,
        and per node N.batch, N.hardware, N.units, N.replicas (N.variant with variants)."""
        import pandas as pd  # noqa: PLC0415

        cols: dict[str, Any] = {"rate_rps": self.rate_rps}
        if self.scaled:
            cols["scale"] = self.scale(self.rate_rps)
        if self.sla_ms is not None:
            cols["sla_ms"] = self.sla_ms
        cols.update(status=self.status, cost=self.cost, lower_bound=self.lower_bound)
        ok = self.status != "infeasible"
        for node in self.instance.nodes:
            k = self.choice[node.name]
            cfg = [node.configs[j] if f else None for j, f in zip(k, ok)]
            cols[f"{node.name}.batch"] = pd.array([c.batch if c else None for c in cfg], dtype="Int64")
            cols[f"{node.name}.hardware"] = [c.hardware if c else None for c in cfg]
            cols[f"{node.name}.units"] = [c.units if c else None for c in cfg]
            cols[f"{node.name}.replicas"] = pd.array(
                [int(r) if f else None for r, f in zip(self.replicas[node.name], ok)], dtype="Int64")
            if any(c.variant is not None for c in node.configs):
                cols[f"{node.name}.variant"] = [c.variant if c else None for c in cfg]
        return pd.DataFrame(cols)

    def write(self, path: str | Path) -> None:
        """CSV, or Parquet when the name ends in ``.parquet`` (needs pyarrow or fastparquet)."""
        path = output_file(path)
        frame = self.to_frame()
        if path.suffix == ".parquet":
            try:
                frame.to_parquet(path, index=False)
            except ImportError:
                raise InputError(str(path), "--out", "writing Parquet needs pyarrow or "
                                 "fastparquet, neither is installed (write .csv instead)") from None
        else:
            frame.to_csv(path, index=False)

    def describe_axis(self) -> str:
        if self.scaled:
            total = sum(f.rate_rps for f in self.instance.flows)
            return (f"rate axis: total rate of all {len(self.instance.flows)} flows; every flow's "
                    f"rate is scaled by one factor (column scale) relative to the instance "
                    f"(total {total:g} rps)")
        if len(self.instance.flows) > 1:
            return f"rate axis: rate of flow {self.flow_name!r}; other flows keep the instance's rates"
        return f"rate axis: rate of flow {self.flow_name!r}"


# -- CLI --------------------------------------------------------------------------------------
# --probe: lookups at most. Each is a Python-level Problem build and check (~0.4 ms on a
# one-node chain, more per node, a solve where it misses), so 10^4 take seconds; the former
# 10^7 was about an hour.
MAX_PROBES = 10_000


def add_parser(subparsers: Any) -> None:
    """``fa2opt table INSTANCE --rates START:STOP:STEP [--sla-ms …] [--flow NAME]
    [--device cpu|gpu|auto] [--grid-ms Δ] [--probe N] --out FILE``."""
    p = subparsers.add_parser("table", help="decision table over a range of rates (grid DP)")
    p.add_argument("instance", metavar="INSTANCE")
    p.add_argument("--rates", required=True, help="START:STOP:STEP (rps), or a comma list")
    p.add_argument("--sla-ms", help="SLA value(s): one, a comma list or START:STOP:STEP")
    p.add_argument("--flow", help="vary this flow's rate (default: scale every flow by one factor)")
    p.add_argument("--device", choices=kernels.DEVICES, default="cpu")
    p.add_argument("--grid-ms", type=number, default=DEFAULT_GRID_MS, help="grid step Δ (ms)")
    p.add_argument("--probe", type=integer, default=0, metavar="N",
                   help=f"look up N random rates in the range and report how often the table "
                        f"sufficed (at most {MAX_PROBES}: each lookup builds and checks the "
                        f"problem in Python, ~0.4 ms or more)")
    p.add_argument("--seed", type=integer, default=0, help="seed of --probe")
    p.add_argument("--out", required=True, help="output file (.csv, or .parquet)")
    p.add_argument("--formulation", choices=["base"], default=None,
                   help="'base': ignore the instance's extension keys (capacity, accuracy, "
                        "current, switch_cost); without it an instance carrying one is "
                        "refused, since the table cannot honour them")
    p.set_defaults(func=cmd_table)


def cmd_table(args: argparse.Namespace) -> int:
    if not 0 <= args.probe <= MAX_PROBES:
        raise InputError("--probe", "", f"must be an integer in [0, {MAX_PROBES}] (got {args.probe})")
    if args.seed < 0:
        raise InputError("--seed", "", f"must be an integer >= 0 (got {args.seed})")
    inst = read_instance(args.instance)
    refuse_extensions(inst, args.formulation)  # before the work
    rates = parse_range(args.rates, "--rates", within=RATE_RPS_RANGE)
    slas = None if args.sla_ms is None else parse_range(args.sla_ms, "--sla-ms")
    if slas is not None and len(rates) * len(slas) > MAX_RANGE_VALUES:  # one row per pair
        raise InputError("--sla-ms", "", f"{len(rates)} rates x {len(slas)} SLAs = "
                         f"{len(rates) * len(slas):.3g} rows (at most {MAX_RANGE_VALUES}); "
                         "use fewer values")
    if output_file(args.out).suffix not in (".csv", ".parquet"):  # before the work
        raise InputError(args.out, "--out", "must end in .csv or .parquet (the format "
                                            "is chosen by the name)")
    try:
        table = DecisionTable.build(inst, rates, flow=args.flow, sla_ms=slas,
                                    grid_ms=args.grid_ms, device=args.device,
                                    formulation=args.formulation)
    except ReplicaRangeError as exc:  # a rate of the range makes some row's replicas explode
        raise InputError("--rates", "", f"{args.instance}: {exc}") from None
    try:
        table.write(args.out)
    except OSError as exc:  # (output_file checked what it can before the work)
        raise InputError(args.out, "--out", f"cannot write ({exc.strerror or exc})") from None
    counts = {s: int(np.sum(table.status == s)) for s in ("optimal", "feasible", "infeasible")}
    print(f"{args.out}: {len(table.rate_rps)} rows ({', '.join(f'{n} {s}' for s, n in counts.items())}) "
          f"in {table.build_ms:.1f} ms on {table.device}, grid {table.grid_ms:g} ms")
    print(table.describe_axis())
    if args.probe > 0:
        rng = np.random.default_rng(args.seed)
        probe = rng.uniform(rates.min(), rates.max(), size=args.probe)
        sla = None if slas is None else slas[0]
        for r in probe:
            ans = table.decide(float(r), sla)
            if ans.status == "error":
                print(f"rate {r:g}: {ans.message}", file=sys.stderr)
                return 2
        st = table.stats
        # (no feasible probe: the rate is 0/0, printed as 'nan%' before)
        share = f"{table.hit_rate:.1%}" if st["hits"] + st["solves"] else "no feasible probe"
        print(f"lookup: {st['hits']} of {st['hits'] + st['solves']} feasible probes answered from "
              f"the table ({share}), {st['solves']} direct solves, "
              f"{st['infeasible']} infeasible")
    return 0
