"""fa2 vs the MILP on the real pipelines with each extension and their combination (issue 14).

For every shipped pipeline: ``capacity`` at 90% of the units of the hardware kind the base
optimum uses most, where profiles offer two kinds (so some node must move), else 5% above
what it uses (binding in the combination, where floors ask for larger variants); ``accuracy`` floors per flow halfway between the base
optimum's product of measured accuracies and that of the most accurate choice within the
SLAs (pipelines with measured
accuracies only), ``switch`` with the decision at 70% of the rate as ``current`` (the
previous window) and a switch cost of half its mean node cost, and all three combined.
Prints per instance and formulation: both statuses, whether they match (spec), and the
median decision time of ``--repeat`` runs of each. Not a test: timings vary by machine.

    python scripts/bench_extensions.py [--repeat 5] [--pipelines datasets/pipelines]
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fa2opt import Problem, get_solver, load_instance  # noqa: E402
from fa2opt.extensions import accuracy as acc_ext  # noqa: E402
from fa2opt.solver import checked  # noqa: E402
from fa2opt.verify import matches  # noqa: E402


def chosen_rows(problem: Problem, ans: Any) -> dict[str, Any]:
    inst = problem.instance
    return {v: next(c for c in inst.node(v).configs
                    if c.identity == (d.batch, d.hardware, d.units, d.variant))
            for v, d in ans.nodes.items()}


def variants(inst: Any) -> dict[str, dict[str, Any]]:
    """The extended instances of one pipeline, by formulation name."""
    base = get_solver("fa2").solve(Problem.from_instance(inst))
    if not base.has_decision:
        return {}
    rows = chosen_rows(Problem.from_instance(inst), base)
    used: dict[str, float] = {}
    for v, d in base.nodes.items():
        used[d.hardware] = used.get(d.hardware, 0.0) + d.replicas * d.units
    kinds = {c.hardware for n in inst.nodes for c in n.configs}
    # two kinds: the scarcer one binds (90% of what the base optimum uses); one kind: a
    # cluster 5% larger than the base optimum needs (binds once floors want larger variants)
    cap = ({h: math.floor(0.9 * u) for h, u in used.items() if u == max(used.values())}
           if len(kinds) > 1 else {h: math.ceil(1.05 * u) for h, u in used.items()})
    out: dict[str, dict[str, Any]] = {"capacity": {"capacity": cap}}
    if any(c.accuracy is not None for n in inst.nodes for c in n.configs):
        def a(c: Any) -> float:
            return 1.0 if c.accuracy is None else c.accuracy / 100.0
        # the most accurate choice within the SLAs: fa2 with an overwhelming accuracy weight
        keen = replace(inst, extra={**inst.extra, "accuracy": {"scale": 100, "weight": 1e6}})
        top = get_solver("fa2").solve(Problem.from_instance(keen))
        top_rows = chosen_rows(Problem.from_instance(keen), top)
        floors = {}
        for f in inst.flows:
            now = math.prod(a(rows[v]) for v in f.nodes)
            best = math.prod(a(top_rows[v]) for v in f.nodes)
            floors[f.name] = math.floor((now + 0.5 * (best - now)) * 1e6) / 1e6  # (down)
        out["accuracy"] = {"accuracy": {"min": floors, "scale": 100}}
    prev = get_solver("fa2").solve(Problem.from_instance(inst.with_rates(0.7)))
    if prev.has_decision:
        cur = {v: {"batch": d.batch, "hardware": d.hardware, "units": d.units,
                   "variant": d.variant} for v, d in prev.nodes.items()}
        out["switch"] = {"current": cur, "switch_cost": round(
            0.5 * statistics.mean(d.cost for d in prev.nodes.values()), 3)}
    combined: dict[str, Any] = {}
    for extra in out.values():
        combined.update(extra)
    if "accuracy" in combined:
        combined["accuracy"] = {**combined["accuracy"], "weight": 1.0}
    out["combined"] = combined
    return out


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
        for name, extra in variants(inst).items():
            problem = Problem.from_instance(replace(inst, extra={**inst.extra, **extra}))
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
