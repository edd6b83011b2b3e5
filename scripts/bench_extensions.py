"""fa2 vs the MILP on the real pipelines with each extension and their combination (issue 14).

For every shipped pipeline, the extension keys :mod:`fa2opt.extensions.realistic` adds
(the rules the main job's ``SUITE+EXT`` suites use): ``capacity`` a real cluster would
have, ``accuracy`` floors from measured accuracies of model variants, ``switch`` with the
previous window's decision as ``current``, and all three combined.
Prints per instance and formulation: both statuses, whether they match (spec), and the
median decision time of ``--repeat`` runs of each. Not a test: timings vary by machine.

    python scripts/bench_extensions.py [--repeat 5] [--pipelines datasets/pipelines]
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fa2opt import Problem, get_solver, load_instance  # noqa: E402
from fa2opt.extensions.realistic import extension_keys, with_keys  # noqa: E402
from fa2opt.solver import checked  # noqa: E402
from fa2opt.verify import matches  # noqa: E402


def timed(problem: Problem, method: str, repeat: int) -> tuple[Any, float]:
    solver = get_solver(method)
    answers = [solver.solve(problem) for _ in range(repeat)]
    return checked(problem, answers[0]), statistics.median(a.solve_ms for a in answers)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--pipelines", default="datasets/pipelines")
    args = ap.parse_args(argv)
    ratios = []
    print(f"{'instance':<28} {'formulation':<11} {'fa2':<11} {'milp':<11} match "
          f"{'fa2 ms':>8} {'milp ms':>8} {'x':>6}")
    for path in sorted(Path(args.pipelines).glob("*.json")):
        inst = load_instance(path)
        for name, extra in extension_keys(inst).items():
            problem = Problem.from_instance(with_keys(inst, extra))
            fa2, t_fa2 = timed(problem, "fa2", args.repeat)
            milp, t_milp = timed(problem, "milp", args.repeat)
            ok = matches(fa2, milp) and "error" not in (fa2.status, milp.status)
            ratios.append(t_milp / t_fa2)
            print(f"{path.stem:<28} {name:<11} {fa2.status:<11} {milp.status:<11} "
                  f"{'yes' if ok else 'NO':<5} {t_fa2:8.3f} {t_milp:8.2f} {t_milp / t_fa2:6.1f}")
    if ratios:
        print(f"median speed-up {statistics.median(ratios):.1f}x over {len(ratios)} instances "
              f"(min {min(ratios):.1f}x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
