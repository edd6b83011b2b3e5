"""The ``fa2opt`` command: solve, validate, info, and the subcommands other modules add.

Exit codes: 0 for answers (``infeasible``, ``no_solution`` and ``time_limit`` included),
2 for bad input or an ``error`` answer.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from typing import Any, Sequence

from . import spec
from .answer import Answer, empty_answer
from .io import InputError, load_instance
from .problem import Problem
from .solver import available_methods, checked, solver_class

# Modules that add a subcommand through ``add_parser(subparsers)`` (absent ones are skipped).
SUBCOMMAND_MODULES = ("fa2opt.generate", "fa2opt.decision_table", "fa2opt.compare",
                      "fa2opt.simulate.cli")

# CLI flag (dest) -> solver option name; passed only to methods that take it.
SOLVER_FLAGS = {"time_limit": "time_limit", "formulation": "formulation", "grid_ms": "grid_ms",
                "max_combinations": "max_combinations", "device": "device"}


def _solve_one(path: str, method: str, flags: dict[str, Any]) -> Answer:
    try:
        problem = Problem.from_instance(load_instance(path))
    except InputError as exc:
        return empty_answer("error", method, message=str(exc), instance=path)
    cls = solver_class(method)
    options = {opt: flags[dest] for dest, opt in SOLVER_FLAGS.items()
               if flags.get(dest) is not None
               and (opt in cls.option_names() or opt == "formulation")}  # every method takes it
    try:
        answer = cls(**options).solve(problem)
    except InputError as exc:  # e.g. an extension formulation reading a bad extra key
        return empty_answer("error", method, message=str(exc), instance=problem.instance.name)
    return checked(problem, answer)


def _print_answer(ans: Answer, path: str) -> None:
    if ans.status == "error":
        print(ans.message, file=sys.stderr)
        return
    head = f"{path}: {ans.status}"
    if ans.cost is not None:
        head += f"  cost {ans.cost:g}"
    if ans.objective is not None:  # extensions (issue 14): the objective is not the cost
        head += f"  objective {ans.objective:g}"
    if ans.lower_bound is not None:
        head += f"  lower bound {ans.lower_bound:g}"
    if ans.formulation:
        head += f"  [{', '.join(ans.formulation)}{'; MILP-only' if ans.extra.get('milp_only') else ''}]"
    print(f"{head}  ({ans.method}, {ans.solve_ms:.3f} ms)")
    if ans.message:
        print(f"  {ans.message}")
    for flow, lat in ans.flow_latency_ms.items():
        print(f"  flow {flow}: {lat:.3f} ms")
    if ans.nodes:
        print(f"  {'node':<20} {'batch':>5} {'hardware':<14} {'units':>5} {'variant':<18} "
              f"{'replicas':>8} {'p_ms':>9} {'L_ms':>9} {'cost':>8}")
        for v, d in ans.nodes.items():
            print(f"  {v:<20} {d.batch:>5} {d.hardware:<14} {d.units:>5g} {str(d.variant or '-'):<18} "
                  f"{d.replicas:>8} {d.profile_latency_ms:>9.3f} {d.latency_ms:>9.3f} {d.cost:>8g}")


def cmd_solve(args: argparse.Namespace) -> int:
    flags = vars(args)
    status = 0
    for path in args.instances:
        ans = _solve_one(path, args.method, flags)
        if ans.status == "error":
            status = 2
        if args.json:
            print(ans.dumps(), flush=True)
        else:
            _print_answer(ans, path)
    return status


def cmd_validate(args: argparse.Namespace) -> int:
    status = 0
    for path in args.instances:
        try:
            inst = load_instance(path)
        except InputError as exc:
            print(exc, file=sys.stderr)
            status = 2
            continue
        print(f"{path}: ok ({len(inst.nodes)} nodes, {len(inst.edges)} edges, "
              f"{len(inst.flows)} flow(s))")
    return status


def instance_info(problem: Problem) -> dict[str, Any]:
    inst = problem.instance
    fastest = problem.fastest_choice()
    fast_lat = problem.flow_latencies(fastest) if fastest is not None else {}
    return {
        "name": inst.name, "queueing": inst.queueing, "max_utilization": inst.max_utilization,
        "nodes": [{"name": n.name, "multiplier": n.multiplier,
                   "rate_rps": problem.tables[n.name].rate_rps,
                   "profile_rows": len(n.configs), "available": len(problem.tables[n.name])}
                  for n in inst.nodes],
        "edges": [[e.src, e.dst, e.latency_ms] for e in inst.edges],
        "flows": [{"name": f.name, "rate_rps": f.rate_rps, "sla_ms": f.sla_ms,
                   "nodes": len(f.nodes), "fastest_ms": fast_lat.get(f.name),
                   "feasible": spec.meets(fast_lat.get(f.name, float("inf")), f.sla_ms)}
                  for f in inst.flows],
        "combinations": float(_prod(len(t) for t in problem.tables.values())),
        "feasible": problem.is_feasible(),
    }


def _prod(xs: Any) -> int:
    out = 1
    for x in xs:
        out *= x
    return out


def cmd_info(args: argparse.Namespace) -> int:
    status = 0
    for path in args.instances:
        try:
            info = instance_info(Problem.from_instance(load_instance(path)))
        except InputError as exc:
            print(exc, file=sys.stderr)
            status = 2
            continue
        if args.json:
            print(json.dumps(info))
            continue
        print(f"{path}: {info['name']}  queueing={info['queueing']}  "
              f"max_utilization={info['max_utilization']:g}  "
              f"{'feasible' if info['feasible'] else 'INFEASIBLE'}")
        print(f"  {len(info['nodes'])} nodes, {len(info['edges'])} edges, "
              f"{info['combinations']:.3g} configuration combinations")
        for n in info["nodes"]:
            print(f"  node {n['name']:<26} m={n['multiplier']:<8.4g} λ={n['rate_rps']:<9.4g} "
                  f"rows={n['profile_rows']:<4} available={n['available']}")
        for e in info["edges"]:
            print(f"  edge {e[0]} -> {e[1]}" + (f" ({e[2]:g} ms)" if e[2] else ""))
        for f in info["flows"]:
            fastest = "-" if f["fastest_ms"] is None else f"{f['fastest_ms']:.3f}"
            print(f"  flow {f['name']:<14} rate={f['rate_rps']:g} rps  SLA={f['sla_ms']:g} ms  "
                  f"nodes={f['nodes']}  fastest achievable={fastest} ms"
                  + ("" if f["feasible"] else "  (SLA cannot be met)"))
    return status


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one short line and exit code 2, no usage dump
        self.exit(2, f"{self.prog}: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="fa2opt", description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)

    s = sub.add_parser("solve", help="solve instance files with one method")
    s.add_argument("instances", nargs="+", metavar="INSTANCE")
    s.add_argument("--method", "-m", default="fa2", help="fa2 (default), fa2-grid, milp, baselines…")
    s.add_argument("--json", action="store_true", help="one JSON answer per line")
    s.add_argument("--time-limit", type=float, help="MILP time limit (s)")
    s.add_argument("--formulation", help="what to solve: by default every extension key the "
                   "instance carries; 'base' ignores them (every method); milp also takes a "
                   "formulation name (capacity, accuracy, switch, or a MILP-only one)")
    s.add_argument("--grid-ms", type=float, help="grid step Δ for fa2-grid (ms)")
    s.add_argument("--max-combinations", type=int, help="guard for brute-force")
    s.add_argument("--device", choices=("cpu", "gpu", "auto"), help="array device for fa2-grid")
    s.set_defaults(func=cmd_solve)

    v = sub.add_parser("validate", help="check instance files")
    v.add_argument("instances", nargs="+", metavar="INSTANCE")
    v.set_defaults(func=cmd_validate)

    i = sub.add_parser("info", help="graph, flows, configuration counts, fastest latency")
    i.add_argument("instances", nargs="+", metavar="INSTANCE")
    i.add_argument("--json", action="store_true")
    i.set_defaults(func=cmd_info)

    for mod in SUBCOMMAND_MODULES:
        try:
            module = importlib.import_module(mod)
        except ModuleNotFoundError as exc:
            if exc.name and mod.startswith(exc.name):
                continue
            raise
        add = getattr(module, "add_parser", None)
        if add is not None:
            add(sub)
    return p


def _known_method(name: str) -> bool:
    try:
        solver_class(name)
    except KeyError:
        return False
    return True


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "solve" and not _known_method(args.method):
        parser.error(f"unknown method {args.method!r} (available: {', '.join(available_methods())})")
    try:
        return int(args.func(args) or 0)
    except InputError as exc:
        print(exc, file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # e.g. `fa2opt solve … | head`: the reader left, stop quietly
        import os
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
