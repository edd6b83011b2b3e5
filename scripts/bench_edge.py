#!/usr/bin/env python
"""fa2 at the SLA's tolerance edge: how many DP solves and how long its exact wrapper
(:func:`fa2opt.edge.decide_exact`) takes, on random draws of the stress families.

Each draw is ``scripts/stress_families.py``'s (family and size from its ``SIZES``, an instance
seed, k ∈ [−3, 3]); the instance is solved by fa2 as drawn and its SLAs are then set at the
edge of that optimum's flow latencies, ``ulps(L − 1e-6, k)``, so the relaxed DP's choice sits
within the float margin of the rule. Per draw: status, cost, DP solves (``dp_solves``) and the
least ``solve_ms`` of ``--repeat`` solves, every answer through ``fa2opt.solver.checked``.
No MILP: the stress experiment compares against it; this script compares two revisions.

``--repo DIR`` imports ``fa2opt`` from another checkout; ``--against CSV`` prints, beside
this run, the one saved there (same ``--seed`` and ``--draws``: the same instances), answers
compared and solves and times summed over the draws that enumerate::

    python scripts/bench_edge.py --repo ../before --out before.csv
    python scripts/bench_edge.py --out after.csv --against before.csv
"""

from __future__ import annotations

import argparse
import csv
import statistics
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
FIELDS = ("draw", "family", "size", "seed", "k", "status", "cost", "dp_solves", "ms")


def draws(args: argparse.Namespace) -> list[dict]:
    import stress_families as sf
    from fa2opt import Problem, get_solver
    from fa2opt.generate import FAMILIES
    from fa2opt.solver import checked

    rng = np.random.default_rng(args.seed)
    rows = []
    for d in range(args.draws):
        family = str(rng.choice(list(sf.SIZES)))
        size = sf.SIZES[family][int(rng.integers(len(sf.SIZES[family])))]
        seed = int(rng.integers(1 << 30))
        k = int(rng.integers(-sf.EDGE_ULPS, sf.EDGE_ULPS + 1))
        base = FAMILIES[family].generator(np.random.default_rng(seed), *size)
        solver = get_solver("fa2", time_limit=args.time_limit)
        first = solver.solve(Problem.from_instance(base))
        if first.status != "optimal":
            continue
        slas = {g: max(1e-9, sf.ulps(lat - 1e-6, k)) for g, lat in first.flow_latency_ms.items()}
        problem = Problem.from_instance(base.with_slas(slas))
        answers = [checked(problem, solver.solve(problem)) for _ in range(args.repeat)]
        a = answers[0]
        rows.append({"draw": d, "family": family, "size": "x".join(map(str, size)), "seed": seed,
                     "k": k, "status": a.status, "cost": a.cost,
                     "dp_solves": a.extra.get("dp_solves"),
                     "ms": round(min(x.solve_ms for x in answers), 3)})
        r = rows[-1]
        print(f"{d:4d} {family:<13} {r['size']:<7} {k:+d} {r['status']:<10} {r['cost']!s:>9} "
              f"{r['dp_solves']!s:>5} {r['ms']:10.1f}", flush=True)
    return rows


def read(path: Path) -> list[dict]:
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def compare(now: list[dict], before: list[dict]) -> None:
    """Answers equal draw by draw; solves and times over the draws that enumerate."""
    old = {str(r["draw"]): r for r in before}
    pairs = [(old[str(r["draw"])], r) for r in now if str(r["draw"]) in old]
    differ = [b["draw"] for a, b in pairs
              if a["status"] != b["status"] or str(a["cost"]) != str(b["cost"])]
    enum, rest = [], []
    for a, b in pairs:
        (enum if int(a["dp_solves"] or 1) > 1 or int(b["dp_solves"] or 1) > 1 else rest).append((a, b))

    def total(rows: list, key: str) -> float:
        return sum(float(r[key]) for r in rows)

    print(f"against the saved run: {len(pairs)} draws, answers differ on {len(differ)} {differ[:10]}")
    if enum:
        a, b = zip(*enum)
        ratio = statistics.median(float(y["ms"]) / float(x["ms"]) for x, y in enum)
        print(f"  {len(enum)} enumerate: DP solves {total(a, 'dp_solves'):.0f} -> "
              f"{total(b, 'dp_solves'):.0f}, ms {total(a, 'ms'):.0f} -> {total(b, 'ms'):.0f} "
              f"(median ratio {ratio:.3f})")
    if rest:
        a, b = zip(*rest)
        ratio = statistics.median(float(y["ms"]) / float(x["ms"]) for x, y in rest)
        print(f"  {len(rest)} decided by one DP: ms {total(a, 'ms'):.0f} -> {total(b, 'ms'):.0f} "
              f"(median ratio {ratio:.3f})")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repo", type=Path, default=REPO, help="checkout to import fa2opt from")
    ap.add_argument("--draws", type=int, default=150)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--repeat", type=int, default=2, help="solves per draw (the least is kept)")
    ap.add_argument("--time-limit", type=float, default=60.0)
    ap.add_argument("--out", type=Path, help="write the per-draw CSV here")
    ap.add_argument("--against", type=Path, help="a CSV of an earlier run to compare with")
    args = ap.parse_args(argv)
    sys.path.insert(0, str(REPO / "scripts"))  # stress_families: the draws' families and sizes
    sys.path.insert(0, str(args.repo.resolve()))
    import fa2opt
    print(f"# fa2opt from {Path(fa2opt.__file__).parent}; seed {args.seed}, {args.draws} draws")
    rows = draws(args)
    enum = [r for r in rows if (r["dp_solves"] or 1) > 1]
    print(f"{len(rows)} draws at the edge, {len(enum)} enumerate: DP solves "
          f"{sum(r['dp_solves'] for r in enum)}, ms {sum(r['ms'] for r in enum):.0f} "
          f"(all draws: {sum(r['ms'] for r in rows):.0f} ms)")
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        with open(args.out, "w", newline="") as fh:
            w = csv.DictWriter(fh, fieldnames=FIELDS)
            w.writeheader()
            w.writerows(rows)
        print(f"CSV: {args.out}")
    if args.against:
        # as the CSV holds them (no cost: "", not "None", or an infeasible draw "differs")
        compare([{k: "" if v is None else str(v) for k, v in r.items()} for r in rows],
                read(args.against))
    return 0


if __name__ == "__main__":
    sys.exit(main())
