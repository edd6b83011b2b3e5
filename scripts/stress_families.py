"""Stress campaign: fa2 against the MILP on randomly drawn instances of every generated family,
as drawn, at the SLA's tolerance edge, and with an extension set added.

The benchmarks (``bench_decision.py``, ``bench_extensions.py``) time a fixed grid of two
instances per size; a researcher's instances are draws the grid never saw. This campaign
draws ``--draws`` instances (seeded: family, size and instance seed from one generator) of
the families of :data:`fa2opt.generate.FAMILIES` at small and middle sizes
(:data:`SIZES`; ``ladder``, ``long-paths`` and ``many-flows`` since 2026-12-04, git after
d7d625a: the campaign's records before that drew the other seven), and solves each with both
methods in up to three variants:

* ``base`` -- the instance as drawn;
* ``edge`` -- every flow's SLA moved to the tolerance edge of the MILP optimum's latency L_f:
  ``S_f = L_f − 1e-6`` shifted by k ∈ [−3, 3] ulps (so ``fl(S_f + 1e-6)`` lands on, just
  below or just above L_f: the optimum becomes exactly feasible or breaks the rule by an
  ulp, which is where a DP that adds in another order than the spec's rule errs);
* an extension set (``capacity``, ``accuracy``, ``switch`` or ``combined``, drawn) by the
  rules of :mod:`fa2opt.extensions.realistic`, on the families where sizing those keys
  (an fa2 solve of the base instance and of its variants) stays cheap (:data:`EXTENDED`).

Every answer goes through ``verify``; a pair matches when both are proven and agree (spec
tolerance), ``unproven`` when either hit ``--time-limit``. Prints a table per family and
variant (count, matches, fa2 and MILP medians and worst, the worst per-instance MILP/fa2)
and the draws where fa2 was slower than the MILP, with their seeds (``--out``: a CSV of every
run). Not a test: timings vary by machine; the counts do not. The compiled kernels are
loaded before the first run, as the benchmarks load them (``--no-compiled``: fa2 on its
Python paths alone; before git abb77cb the script did not load them).

``--beyond`` solves a fixed grid *beyond* the benchmarks' sizes instead (:data:`BEYOND`: each
family at 1.5-3x its largest size in :data:`fa2opt.generate.FAMILIES`), ``--seeds`` instances
per size (instance seed s = 0 … seeds−1: ``FAMILIES[family].generator(default_rng(s), *size)``),
each as drawn and at the SLA edge (k drawn as above), no extension variant; the CSV is
rewritten after every run, so a long campaign leaves what it finished.

    python scripts/stress_families.py [--draws 300] [--time-limit 60] [--seed 0] [--out DIR]
    python scripts/stress_families.py --beyond [--seeds 2] [--only random lattice] [--out DIR]
    python scripts/stress_families.py --one random 300 1 [--edge K] [--time-limit 60]
    python scripts/stress_families.py --one random 100 1 --bench --queueing worst-case [--max-utilization 0.9]

``--one FAMILY SIZE SEED`` solves one instance (``FAMILIES[FAMILY].generator(default_rng(SEED),
*SIZE)``, SIZE as in the CSV: ``300``, ``12x12``, ``35x0.1``) with both methods side by side, as
drawn and, with ``--edge K``, at the SLA edge shifted by K ulps (the CSV's ``edge+K`` variant);
``--queueing`` and ``--max-utilization`` replace those fields of the drawn instance (the SLAs
stay as drawn, so worst-case queueing may make it infeasible); ``--bench`` takes SEED as the
benchmark's instance of that size (``bench_decision.family_rng``, as ``bench_decision.py`` draws it).

``--ab NAME=VALUE`` (with ``--one``; repeatable) measures a tuning constant side by side in one
process: each of ``--rounds`` rounds solves every variant with the MILP, with fa2 as it is and
with fa2 under the constants set (``NAME`` a module constant of ``fa2opt``, e.g.
``fa2opt.reductions.flow_bound.JUDGE_FLAT``; ``VALUE`` a Python literal; set too where another
``fa2opt`` module imported the same object under that name), the two fa2 runs in alternating
order; it prints each one's least and median ms, search nodes and DP solves (the nodes and
solves are the same on every round: the budgets are counted in work units), and every answer
must match the MILP's::

    python scripts/stress_families.py --one many-flows 6x5x20 734493575 --edge -1 \
        --ab fa2opt.reductions.flow_bound.JUDGE_FLAT=1_000_000_000 --rounds 4
"""

from __future__ import annotations

import argparse
import ast
import dataclasses
import importlib
import math
import statistics
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import Any, Iterator

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fa2opt import Problem, cpu_kernels, get_solver  # noqa: E402
from fa2opt.extensions.realistic import EXTENSION_SETS, extended  # noqa: E402
from fa2opt.generate import FAMILIES  # noqa: E402
from fa2opt.solver import checked  # noqa: E402
from fa2opt.verify import matches  # noqa: E402

PROVEN = ("optimal", "infeasible")
# sizes drawn per family: small and middle (the benchmarks time the large ones)
SIZES: dict[str, list[tuple]] = {
    "dense": [(10, 0.3), (14, 0.25), (18, 0.2), (22, 0.15)],
    "shared": [(15, 2), (20, 3)],
    "random": [(30,), (50,)],
    "lattice": [(4, 4), (5, 5)],
    "vsp": [(40,), (60,)],
    "shared-large": [(40, 3)],
    "small": [s for s in FAMILIES["small"].sizes if s[0] <= 8],
    # the families added after the campaign (2026-12-04): their two smaller sizes
    "ladder": [(15,), (30,)],
    "long-paths": [(12, 8, 10), (14, 8, 16)],
    "many-flows": [(6, 5, 20), (8, 6, 30)],
}
# beyond the benchmarks' grid (issue 13's checks run sizes the grid never saw): 1.5-3x each
# family's largest size (random 200, lattice 10x10 / 3x12, vsp 200, 120 x 6, dense 30, shared 30 x 4)
BEYOND: dict[str, list[tuple]] = {
    "dense": [(35, 0.1), (40, 0.1)],
    "shared": [(40, 5), (40, 6)],
    "random": [(300,), (400,)],
    "lattice": [(12, 12), (4, 30)],
    "vsp": [(300,), (400,)],
    "shared-large": [(150, 6), (200, 8), (200, 10)],
}
EXTENDED = ("dense", "shared", "lattice", "small")  # families that get an extension variant
EDGE_ULPS = 3


def ulps(x: float, k: int) -> float:
    """x moved k ulps (up for k > 0)."""
    for _ in range(abs(k)):
        x = math.nextafter(x, math.inf if k > 0 else -math.inf)
    return x


def pair(problem: Problem, time_limit: float, rounds: int = 1,
         ab: list[tuple[ModuleType, str, Any]] | None = None) -> dict[str, Any]:
    """Both methods on one problem, each answer checked by verify; ``rounds`` times (the
    median ms kept, and the least as ``*_least_ms`` where ``rounds`` > 1), and with ``ab``
    (:func:`constants`) fa2 once more per round under those settings (``fa2_set``: before
    the plain run on odd rounds, so neither always runs second). ``match``: every round's
    fa2 answers against its MILP answer (the last round's answers are kept)."""
    times: dict[str, list[float]] = {}
    out: dict[str, Any] = {}
    verdicts = []
    for r in range(rounds):
        keys = ["milp", "fa2"] + (["fa2_set"] if ab else [])
        if r % 2:
            keys[1:] = keys[:0:-1]
        for key in keys:
            t = time.perf_counter()
            with applied(ab if key == "fa2_set" else []):
                solver = get_solver("milp" if key == "milp" else "fa2", time_limit=time_limit)
                out[key] = checked(problem, solver.solve(problem))
            times.setdefault(key, []).append((time.perf_counter() - t) * 1e3)
        m, fa2s = out["milp"], [out[k] for k in keys if k != "milp"]
        proven = m.status in PROVEN and all(f.status in PROVEN for f in fa2s)
        verdicts.append(("yes" if all(matches(f, m) for f in fa2s) else "NO") if proven
                        else "unproven")
    for key, ts in times.items():
        out[f"{key}_ms"] = round(statistics.median(ts), 3)
        if rounds > 1:
            out[f"{key}_least_ms"] = round(min(ts), 3)
    out["match"] = "NO" if "NO" in verdicts else "unproven" if "unproven" in verdicts else "yes"
    return out


def constants(settings: list[str]) -> list[tuple[ModuleType, str, Any]]:
    """``--ab``'s ``NAME=VALUE`` settings as (module, attribute, value), for the module that
    ``NAME`` names and every other loaded ``fa2opt`` module that binds the same object under
    that attribute (a constant imported with ``from … import``). Raises ValueError with one
    line naming the setting and the reason."""
    out = []
    for text in settings:
        name, eq, value = text.partition("=")
        modname, _, attr = name.strip().rpartition(".")
        if not eq or not modname.startswith("fa2opt") or not attr:
            raise ValueError(f"--ab {text!r}: expected fa2opt.MODULE.NAME=VALUE")
        try:
            module = importlib.import_module(modname)
        except ImportError:
            raise ValueError(f"--ab {text!r}: no module {modname!r}") from None
        if not hasattr(module, attr):
            raise ValueError(f"--ab {text!r}: {modname} has no {attr!r}")
        try:
            new = ast.literal_eval(value.strip())
        except (ValueError, SyntaxError):
            raise ValueError(f"--ab {text!r}: the value is not a Python literal") from None
        old = getattr(module, attr)
        if not isinstance(new, type(old)) and not (isinstance(old, float) and isinstance(new, int)):
            raise ValueError(f"--ab {text!r}: {attr} is {type(old).__name__}, not "
                             f"{type(new).__name__}")
        holders = [m for n, m in list(sys.modules.items())
                   if n.startswith("fa2opt") and m is not module
                   and getattr(m, attr, None) is old]
        out += [(m, attr, new) for m in (module, *holders)]
    return out


@contextmanager
def applied(settings: list[tuple[ModuleType, str, Any]]) -> Iterator[None]:
    """Within the block, the :func:`constants` set; restored after it."""
    before = [getattr(m, a) for m, a, _ in settings]
    try:
        for m, a, v in settings:
            setattr(m, a, v)
        yield
    finally:
        for (m, a, _), v in zip(settings, before):
            setattr(m, a, v)


def parse_size(text: str) -> tuple:
    """A size as the CSV writes it (``300``, ``12x12``, ``35x0.1``, ``4xchain``) back to the
    generator's arguments (ints where they are ints, floats where floats, else the word)."""
    def arg(x: str) -> int | float | str:
        if x.lstrip("-").isdigit():
            return int(x)
        try:
            return float(x)
        except ValueError:
            return x  # (the small family's shape)
    return tuple(arg(x) for x in text.split("x"))


def draw_rows(rng: np.random.Generator, draw: int, time_limit: float) -> list[dict[str, Any]]:
    family = str(rng.choice(list(SIZES)))
    size = SIZES[family][int(rng.integers(len(SIZES[family])))]
    seed = int(rng.integers(1 << 30))
    k = int(rng.integers(-EDGE_ULPS, EDGE_ULPS + 1))
    which = str(rng.choice(EXTENSION_SETS))
    return instance_rows(draw, family, size, seed, k, which, time_limit)


def drawn(family: str, size: tuple, seed: int, bench: bool = False,
          settings: dict[str, Any] | None = None):
    """The instance ``FAMILIES[family].generator(default_rng(seed), *size)`` (``bench``: the
    benchmark's instance ``seed`` of that size, ``bench_decision.family_rng``) with the
    instance fields ``settings`` replaced."""
    if bench:
        from bench_decision import family_rng  # scripts/: the benchmark's instance streams
        rng = family_rng(family, size, seed)
    else:
        rng = np.random.default_rng(seed)
    base = FAMILIES[family].generator(rng, *size)
    return dataclasses.replace(base, **settings) if settings else base


def instance_rows(draw: int, family: str, size: tuple, seed: int, k: int | None, which: str | None,
                  time_limit: float, settings: dict[str, Any] | None = None,
                  bench: bool = False, rounds: int = 1,
                  ab: list[tuple[ModuleType, str, Any]] | None = None,
                  base: Any = None) -> list[dict[str, Any]]:
    """The runs of one instance (:func:`drawn`'s, e.g. with ``settings`` ``queueing`` or
    ``max_utilization`` replaced; ``base``: that instance, drawn already):
    as drawn, at the SLA edge shifted by k ulps (None: not), and with extension set ``which``
    (families of :data:`EXTENDED`; None: none); ``rounds`` and ``ab``: :func:`pair`'s."""
    if base is None:
        base = drawn(family, size, seed, bench, settings)
    name = f"{family}-{'x'.join(map(str, size))}-{seed}"
    rows = []

    def record(variant: str, inst) -> dict[str, Any]:
        res = pair(Problem.from_instance(inst), time_limit, rounds, ab)
        m, f = res["milp"], res["fa2"]
        rows.append({"draw": draw, "family": family, "size": "x".join(map(str, size)),
                     "seed": seed, "variant": variant, "nodes": len(inst.nodes),
                     "flows": len(inst.flows), "milp_status": m.status, "fa2_status": f.status,
                     "match": res["match"], "milp_ms": res["milp_ms"], "fa2_ms": res["fa2_ms"],
                     "milp_over_fa2": round(res["milp_ms"] / max(res["fa2_ms"], 1e-9), 3),
                     "fa2_cost": f.cost, "milp_cost": m.cost,
                     "fa2_lower": f.lower_bound, "milp_lower": m.lower_bound,
                     "fa2_search_nodes": f.extra.get("search_nodes"),
                     "fa2_dp_solves": f.extra.get("dp_solves")})
        r = rows[-1]
        r.update({k: v for k, v in res.items() if k.endswith("_least_ms")})
        if "fa2_set" in res:  # --ab: fa2 under the constants set
            g = res["fa2_set"]
            r.update({"fa2_set_status": g.status, "fa2_set_ms": res["fa2_set_ms"],
                      "fa2_set_search_nodes": g.extra.get("search_nodes"),
                      "fa2_set_dp_solves": g.extra.get("dp_solves")})
        print(f"{name:<34} {variant:<10} {r['milp_status']:<11} {r['fa2_status']:<11} "
              f"{r['match']:<8} {r['fa2_ms']:10.1f} {r['milp_ms']:10.1f}", flush=True)
        if rounds > 1 or "fa2_set" in res:
            for key, label in (("fa2", "fa2 as it is"), ("fa2_set", "fa2 with --ab"),
                               ("milp", "the MILP")):
                if key in res:
                    a = res[key]
                    least = res.get(f"{key}_least_ms", res[f"{key}_ms"])
                    print(f"    {label:<13} least {least:10.1f} ms, median {res[f'{key}_ms']:10.1f}"
                          f" ms over {rounds} round(s); {a.status}, cost {a.cost}"
                          + ("" if key == "milp" else f", {a.extra.get('search_nodes')} search "
                             f"nodes, {a.extra.get('dp_solves')} DP solves"), flush=True)
        return res

    res = record("base", base)
    if k is not None and res["milp"].status == "optimal":
        slas = {g: max(1e-9, ulps(lat - 1e-6, k))
                for g, lat in res["milp"].flow_latency_ms.items()}
        record(f"edge{k:+d}", base.with_slas(slas))
    if which is not None and family in EXTENDED:
        ext = extended(base, which)
        if ext is not None:
            record(which, ext)
    return rows


def summarize(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One line per family and variant kind (base, edge, extension)."""
    groups: dict[tuple[str, str], list[dict]] = {}
    for r in rows:
        kind = "edge" if r["variant"].startswith("edge") else r["variant"]
        groups.setdefault((r["family"], kind), []).append(r)
    table = []
    for (family, kind), rs in sorted(groups.items()):
        fa2 = [r["fa2_ms"] for r in rs]
        milp = [r["milp_ms"] for r in rs]
        table.append({"family": family, "variant": kind, "runs": len(rs),
                      "match": sum(r["match"] == "yes" for r in rs),
                      "differ": sum(r["match"] == "NO" for r in rs),
                      "unproven": sum(r["match"] == "unproven" for r in rs),
                      "fa2_median_ms": round(statistics.median(fa2), 2),
                      "fa2_worst_ms": round(max(fa2), 1),
                      "milp_median_ms": round(statistics.median(milp), 2),
                      "milp_worst_ms": round(max(milp), 1),
                      "fa2_slower": sum(r["fa2_ms"] > r["milp_ms"] for r in rs),
                      "worst_milp_over_fa2": min(r["milp_over_fa2"] for r in rs)})
    return table


def print_table(rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    cols = list(rows[0])
    width = {c: max(len(c), *(len(str(r[c])) for r in rows)) for c in cols}
    print("  ".join(c.rjust(width[c]) for c in cols))
    for r in rows:
        print("  ".join(str(r[c]).rjust(width[c]) for c in cols))


def _mkdir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path


def save(rows: list[dict[str, Any]], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(rows).to_csv(path, index=False)
    print(f"CSV: {path}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--draws", type=int, default=300, help="instances drawn (each: up to 3 runs)")
    ap.add_argument("--time-limit", type=float, default=60.0, help="seconds per run, both methods")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=None, help="folder for runs.csv and summary.csv")
    ap.add_argument("--beyond", action="store_true",
                    help="the fixed grid BEYOND the benchmarks' sizes instead of random draws")
    ap.add_argument("--seeds", type=int, default=2, help="--beyond: instances per size")
    ap.add_argument("--only", nargs="+", default=None, choices=sorted(BEYOND),
                    help="--beyond: these families only")
    ap.add_argument("--one", nargs=3, metavar=("FAMILY", "SIZE", "SEED"), default=None,
                    help="one instance, e.g. --one random 300 1 (SIZE as in the CSV: 12x12)")
    ap.add_argument("--edge", type=int, default=None, metavar="K",
                    help="--one: also the SLA-edge variant shifted by K ulps")
    ap.add_argument("--queueing", default=None, choices=("batch-fill", "none", "worst-case"),
                    help="--one: the instance under this queueing model (default: as drawn)")
    ap.add_argument("--bench", action="store_true",
                    help="--one: SEED is the benchmark's instance (bench_decision.family_rng)")
    ap.add_argument("--max-utilization", type=float, default=None, metavar="RHO",
                    help="--one: the instance with this utilisation cap (default: as drawn)")
    ap.add_argument("--ab", action="append", default=[], metavar="NAME=VALUE",
                    help="--one: fa2 also with this fa2opt module constant set (repeatable), "
                         "side by side with fa2 as it is, e.g. "
                         "fa2opt.reductions.flow_bound.JUDGE_FLAT=1_000_000_000")
    ap.add_argument("--rounds", type=int, default=1,
                    help="--one: solve each variant this many times (least and median)")
    ap.add_argument("--no-compiled", action="store_true",
                    help="do not load the compiled kernels (fa2 on its Python paths alone)")
    args = ap.parse_args(argv)
    if (args.ab or args.rounds != 1) and args.one is None:
        ap.error("--ab and --rounds go with --one")
    if args.rounds < 1:
        ap.error("--rounds must be at least 1")
    try:
        args.ab = constants(args.ab)
    except ValueError as exc:
        ap.error(str(exc))
    if args.one is not None:  # (one line, not a traceback, for a name or size it cannot take)
        family, size, seed = args.one
        if family not in FAMILIES:
            ap.error(f"--one: no family {family!r} (one of {', '.join(sorted(FAMILIES))})")
        if not seed.isdigit():
            ap.error(f"--one: the seed {seed!r} is not a non-negative integer")
        settings = {key: v for key, v in (("queueing", args.queueing),
                                           ("max_utilization", args.max_utilization))
                    if v is not None}
        try:  # (drawn once, here: _run solves this instance)
            args.base = drawn(family, parse_size(size), int(seed), args.bench, settings)
        except (TypeError, ValueError, KeyError) as exc:
            ap.error(f"--one: {size!r} is not a size of {family} ({exc})")
    # the compiled kernels (fa2's tree DPs, the flow-bound passes) loaded before the first
    # run, as the benchmarks and the comparison harness load them; without this a search that
    # ran past flow_bound.NUMBA_AFTER_S loaded them midway and every later run took them
    if args.no_compiled:
        with cpu_kernels.disabled():
            return _run(args, False)
    return _run(args, cpu_kernels.warm_up())


def _run(args: argparse.Namespace, compiled: bool) -> int:
    rng = np.random.default_rng(args.seed)
    print(f"# compiled kernels: {'loaded before the first run' if compiled else 'off (Python paths)'}")
    print(f"{'draw':<34} {'variant':<10} {'milp':<11} {'fa2':<11} {'match':<8} "
          f"{'fa2 ms':>10} {'milp ms':>10}")
    warm = Problem.from_instance(FAMILIES["small"].generator(np.random.default_rng(0), 4, "chain"))
    pair(warm, args.time_limit)  # imports and first-call set-up, not timed in any row
    rows: list[dict[str, Any]] = []
    if args.one is not None:
        family, size, seed = args.one
        rows = instance_rows(0, family, parse_size(size), int(seed), args.edge, None,
                             args.time_limit, rounds=args.rounds, ab=args.ab, base=args.base)
        if args.out is not None and rows:
            save(rows, args.out / "runs.csv")
        return 1 if any(r["match"] == "NO" for r in rows) else 0
    if args.beyond:
        d = 0
        for family in args.only or BEYOND:
            for size in BEYOND[family]:
                for seed in range(args.seeds):
                    k = int(rng.integers(-EDGE_ULPS, EDGE_ULPS + 1))
                    rows += instance_rows(d, family, size, seed, k, None, args.time_limit)
                    d += 1
                    if args.out is not None:
                        pd.DataFrame(rows).to_csv(_mkdir(args.out) / "runs.csv", index=False)
    else:
        for d in range(args.draws):
            rows += draw_rows(rng, d, args.time_limit)
    table = summarize(rows)
    print()
    print_table(table)
    differ = sum(r["match"] == "NO" for r in rows)
    unproven = sum(r["match"] == "unproven" for r in rows)
    slower = sorted((r for r in rows if r["fa2_ms"] > r["milp_ms"]),
                    key=lambda r: r["milp_over_fa2"])
    what = f"beyond, {d} instances" if args.beyond else f"{args.draws} draws"
    print(f"\nSUMMARY stress ({what}, {len(rows)} runs): {len(rows) - differ - unproven} "
          f"match, {differ} differ, {unproven} unproven; fa2 slower than the MILP on "
          f"{len(slower)} runs")
    for r in slower[:10]:
        print(f"  slower: {r['family']} {r['size']} seed {r['seed']} {r['variant']}: fa2 "
              f"{r['fa2_ms']:.1f} ms, MILP {r['milp_ms']:.1f} ms")
    if args.out is not None and rows:
        save(rows, args.out / "runs.csv")
        save(table, args.out / "summary.csv")
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
