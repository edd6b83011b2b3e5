"""fa2 vs the MILP on extended instances, side by side in one run (issue 14).

Three parts, each a printed table (and, with ``--out``, a CSV per part and family):

* **pipelines** (always): every shipped pipeline with the extension keys
  :mod:`fa2opt.extensions.realistic` adds (the rules the main job's ``SUITE+EXT`` suites use):
  ``capacity`` a real cluster would have, ``accuracy`` floors from measured accuracies of
  model variants, ``switch`` with the previous window's decision as ``current``, and all
  three combined. Target: fa2 median ≥ 20× faster than the MILP.
* **generated** (``--generated N``): the main job's generated suite with every extension
  (``generated:mixed:N+combined``, :func:`fa2opt.generate.generate_suite`).
* **families** (``--families F ...``): issue 13's generated families
  (:data:`fa2opt.generate.FAMILIES`; ``--sizes K`` per family: K sizes spread evenly over
  its grid from the first, ``--family-instances`` each) with
  the extension set(s) ``--sets`` added by the same rules; both methods with
  ``--time-limit`` per run. Target: fa2 no slower than the MILP (median per family).

Per instance: both statuses, whether they match (spec), and the median ``solve_ms`` of
``--repeat`` runs of each. Each part ends with a ``SUMMARY`` line (medians, worst, matches).
Not a test: timings vary by machine.

    python scripts/bench_extensions.py [--repeat 5] [--pipelines datasets/pipelines]
    python scripts/bench_extensions.py --repeat 3 --generated 20 \\
        --families dense shared small lattice --sizes 2 --out results/bench_extensions
"""

from __future__ import annotations

import argparse
import csv
import statistics
import sys
import zlib
from pathlib import Path
from typing import Any, Iterable

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fa2opt import Problem, get_solver, load_instance  # noqa: E402
from fa2opt.extensions.realistic import EXTENSION_SETS, extended, extension_keys, with_keys  # noqa: E402
from fa2opt.solver import checked  # noqa: E402
from fa2opt.verify import matches  # noqa: E402

PROVEN = ("optimal", "infeasible")


def timed(problem: Problem, method: str, repeat: int, time_limit: float | None) -> tuple[Any, float]:
    """The first answer (checked by verify) and the median solve_ms of ``repeat`` runs (one
    run when the first is not proven: a time limit is not repeated)."""
    solver = get_solver(method, **({} if time_limit is None else {"time_limit": time_limit}))
    answers = [solver.solve(problem)]
    if answers[0].status in PROVEN:
        answers += [solver.solve(problem) for _ in range(repeat - 1)]
    return checked(problem, answers[0]), statistics.median(a.solve_ms for a in answers)


def row(part: str, name: str, formulation: str, problem: Problem, args) -> dict:
    fa2, t_fa2 = timed(problem, "fa2", args.repeat, args.time_limit)
    milp, t_milp = timed(problem, "milp", args.repeat, args.time_limit)
    proven = fa2.status in PROVEN and milp.status in PROVEN
    ok = proven and matches(fa2, milp)
    r = {"part": part, "instance": name, "formulation": formulation,
         "nodes": len(problem.tables), "flows": len(problem.flows),
         "fa2_status": fa2.status, "milp_status": milp.status,
         "match": "yes" if ok else ("NO" if proven else "unproven"),
         "fa2_ms": round(t_fa2, 3), "milp_ms": round(t_milp, 3),
         "milp_over_fa2": round(t_milp / t_fa2, 2),
         "bb_dp_solves": fa2.extra.get("bb_dp_solves"), "bb_leaves": fa2.extra.get("bb_leaves")}
    print(f"{name:<30} {formulation:<11} {r['nodes']:>3} {fa2.status:<11} {milp.status:<11} "
          f"{r['match']:<8} {t_fa2:9.3f} {t_milp:9.2f} {t_milp / t_fa2:7.1f}", flush=True)
    return r


def header(title: str) -> None:
    print(f"\n## {title}")
    print(f"{'instance':<30} {'formulation':<11} {'V':>3} {'fa2':<11} {'milp':<11} {'match':<8} "
          f"{'fa2 ms':>9} {'milp ms':>9} {'x':>7}")


def summary(part: str, rows: list[dict], target: str) -> None:
    if not rows:
        return
    fa2 = [r["fa2_ms"] for r in rows]
    milp = [r["milp_ms"] for r in rows]
    ratio = statistics.median(milp) / statistics.median(fa2)
    speed = [r["milp_over_fa2"] for r in rows]
    wrong = sum(r["match"] == "NO" for r in rows)
    unproven = sum(r["match"] == "unproven" for r in rows)
    print(f"SUMMARY {part}: {len(rows)} instances, {len(rows) - wrong - unproven} match, "
          f"{wrong} differ, {unproven} unproven; fa2 median {statistics.median(fa2):.2f} ms "
          f"(worst {max(fa2):.1f}), MILP median {statistics.median(milp):.2f} ms "
          f"(worst {max(milp):.1f}); median of per-instance MILP/fa2 "
          f"{statistics.median(speed):.1f}x (min {min(speed):.2f}x), ratio of medians "
          f"{ratio:.1f}x; {target}")


def pipelines(args) -> list[dict]:
    header("real pipelines with each extension")
    rows = []
    for path in sorted(Path(args.pipelines).glob("*.json")):
        inst = load_instance(path)
        for name, extra in extension_keys(inst).items():
            rows.append(row("pipelines", path.stem, name,
                            Problem.from_instance(with_keys(inst, extra)), args))
    if rows:
        speed = statistics.median(r["milp_over_fa2"] for r in rows)
        summary("pipelines", rows, f"target median >= 20x: {'met' if speed >= 20 else 'NOT met'}")
    return rows


def generated(args) -> list[dict]:
    from fa2opt.generate import generate_suite

    header(f"generated:mixed:{args.generated}+combined (the main job's generated suite)")
    rows = [row("generated", inst.name, "combined", Problem.from_instance(inst), args)
            for inst in generate_suite("mixed", args.generated, seed=0, extensions="combined")]
    summary("generated", rows, "")
    return rows


def families(args) -> list[dict]:
    from fa2opt.generate import FAMILIES

    out: dict[str, list[dict]] = {}
    for family in args.families:
        generator, sizes = FAMILIES[family]
        header(f"family {family} + {', '.join(args.sets)}; time limit {args.time_limit} s")
        rows = []
        k = min(args.sizes, len(sizes))  # k sizes spread evenly over the grid, from its start
        picked = [sizes[round(i * (len(sizes) - 1) / (k - 1))] for i in range(k)] if k > 1 \
            else list(sizes[:1])
        for size in picked:
            for rep in range(args.family_instances):
                rng = np.random.default_rng([2026, zlib.crc32(f"{family}{tuple(size)}".encode()), rep])
                base = generator(rng, *size)
                for which in args.sets:
                    inst = extended(base, which)
                    if inst is None:
                        continue
                    name = f"{family}-{'x'.join(map(str, size))}-{rep}"
                    rows.append(row(family, name, which, Problem.from_instance(inst), args))
        med_fa2 = statistics.median(r["fa2_ms"] for r in rows) if rows else 0.0
        med_milp = statistics.median(r["milp_ms"] for r in rows) if rows else 0.0
        summary(family, rows, "target fa2 median <= MILP median: "
                + ("met" if rows and med_fa2 <= med_milp else "NOT met"))
        out[family] = rows
    return out


def save(rows: Iterable[dict], path: Path) -> None:
    rows = list(rows)
    if not rows:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    print(f"CSV: {path}")


def main(argv: list[str] | None = None) -> int:
    from fa2opt.generate import FAMILIES

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--pipelines", default="datasets/pipelines")
    ap.add_argument("--generated", type=int, default=0, help="instances of the generated suite")
    ap.add_argument("--families", nargs="*", default=[], choices=list(FAMILIES))
    ap.add_argument("--sizes", type=int, default=1,
                    help="K sizes of each family's grid, spread evenly from its first")
    ap.add_argument("--family-instances", type=int, default=1, help="instances per size")
    ap.add_argument("--sets", nargs="*", default=["combined"], choices=list(EXTENSION_SETS))
    ap.add_argument("--time-limit", type=float, default=None, help="seconds per run, both methods")
    ap.add_argument("--out", type=Path, default=None, help="folder for the CSVs")
    args = ap.parse_args(argv)
    parts = {"pipelines": pipelines(args)}
    if args.generated:
        parts["generated"] = generated(args)
    if args.families:
        parts.update({f"family-{f}": rows for f, rows in families(args).items()})
    if args.out is not None:
        for part, rows in parts.items():
            save(rows, args.out / f"{part}.csv")
    return 0


if __name__ == "__main__":
    sys.exit(main())
