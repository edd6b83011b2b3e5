"""fa2 against the MILP on the bench families with accuracy prices (issue 13): each instance
of the first ``--sizes`` sizes of each family (``scripts/bench_decision.family_rng``, the
bench's streams) that has accuracies, at each accuracy weight w (scale 100: the objective
is cost − w·accuracy/100), both methods side by side in one run, each answer checked by
``fa2opt.verify``. One line per (instance, weight): status, ms and search nodes of fa2, the
MILP's status and ms, and ``<<DIFF`` where the objectives or statuses differ.

    python scripts/bench_prices.py vsp,random,shared-large,lattice 0.5,1,2
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_decision import family_rng  # noqa: E402

from fa2opt import Problem, get_solver  # noqa: E402
from fa2opt.extensions.realistic import has_accuracies, with_keys  # noqa: E402
from fa2opt.generate import FAMILIES  # noqa: E402
from fa2opt.solver import checked  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("families", help="comma-separated names of fa2opt.generate.FAMILIES")
    ap.add_argument("weights", help="comma-separated accuracy weights")
    ap.add_argument("--sizes", type=int, default=2, help="the first N sizes of each family")
    ap.add_argument("--reps", type=int, default=2, help="instances per size")
    ap.add_argument("--time-limit", type=float, default=30.0, help="seconds per run")
    args = ap.parse_args()
    weights = [float(x) for x in args.weights.split(",")]
    for fam in args.families.split(","):
        gen, sizes = FAMILIES[fam]
        for size in sizes[:args.sizes]:
            for rep in range(args.reps):
                inst = gen(family_rng(fam, size, rep), *size)
                if not has_accuracies(inst):
                    print(fam, size, "no accuracies")
                    continue
                for w in weights:
                    problem = Problem.from_instance(
                        with_keys(inst, {"accuracy": {"scale": 100, "weight": w}}))
                    f, m = (checked(problem, get_solver(name, time_limit=args.time_limit)
                                    .solve(problem)) for name in ("fa2", "milp"))
                    same = f.status == m.status and (
                        f.objective is None or m.objective is None
                        or abs(f.objective - m.objective) <= 1e-9 * max(1.0, abs(m.objective)))
                    diff = "" if same else f" <<DIFF {(f.objective, m.objective)}"
                    print(f"{fam} {size} r{rep} w={w:g}: fa2 {f.status} {f.solve_ms:.0f}ms "
                          f"nodes {f.extra.get('search_nodes')} | milp {m.status} "
                          f"{m.solve_ms:.0f}ms{diff}", flush=True)


if __name__ == "__main__":
    main()
