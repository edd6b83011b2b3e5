"""The ``fa2opt`` command: solve, validate, info, and the subcommands other modules add.

Exit codes: 0 for answers (``infeasible``, ``no_solution`` and ``time_limit`` included),
2 for bad input or an ``error`` answer.
"""

from __future__ import annotations

import argparse
import importlib
import json
import math
import os
import sys
import textwrap
from typing import Any, Sequence

from . import cpu_kernels, spec
from .answer import Answer, empty_answer
from .extensions import validate as validate_extensions
from .io import MAX_NUMBER_DIGITS, InputError, InputErrors, load_instance, quote
from .model import Instance
from .problem import Problem
from .solver import (OPTIONS, TIME_LIMIT, Solver, available_methods, checked, method_names,
                     solver_class)
from .tables import ReplicaRangeError

# Modules that add a subcommand through ``add_parser(subparsers)`` (absent ones are skipped).
SUBCOMMAND_MODULES = ("fa2opt.generate", "fa2opt.decision_table", "fa2opt.compare",
                      "fa2opt.simulate.cli")

# Commands defined here: a call to one of them does not load SUBCOMMAND_MODULES.
BUILTIN_COMMANDS = ("solve", "validate", "info")

# CLI flag (dest) -> solver option name; passed only to methods that take it.
SOLVER_FLAGS = {"time_limit": "time_limit", "formulation": "formulation", "grid_ms": "grid_ms",
                "max_combinations": "max_combinations", "device": "device"}


def _flag(dest: str) -> str:
    return "--" + dest.replace("_", "-")


def make_solver(method: str, flags: dict[str, Any]) -> Solver:
    """The method's solver with the options given as flags. ValueError (one line) for a flag
    the method does not take (refused, never silently ignored) or a bad value."""
    cls = solver_class(method)
    given = {dest: flags[dest] for dest in SOLVER_FLAGS if flags.get(dest) is not None}
    takes_opts = set(cls.option_names()) | {"formulation"}  # every method takes formulation
    refused = [dest for dest in given if SOLVER_FLAGS[dest] not in takes_opts]
    if refused:
        takes = [_flag(d) for d, opt in SOLVER_FLAGS.items() if opt in takes_opts]
        raise ValueError(f"method {method!r} takes no option {_flag(refused[0])} "
                         f"(its options: {', '.join(takes) or 'none'})")
    table = OPTIONS.get(method, {})
    for dest, v in given.items():  # a bad value refused naming the flag, not the option
        if SOLVER_FLAGS[dest] in table:
            table[SOLVER_FLAGS[dest]].check(method, _flag(dest), v)
    return cls(**{SOLVER_FLAGS[dest]: v for dest, v in given.items()})


def _solve_one(path: str, method: str, solver: Solver) -> Answer:
    """The checked answer of ``method`` on the instance file ``path``: an ``error`` answer
    naming the file for bad input, memory exhausted or an internal failure (a bug: its
    exception named), so that one path's failure never costs the later paths their answers
    (spec: one JSON object per line, in the given order)."""
    try:
        ans = _answer_one(path, method, solver)
    except Exception as exc:  # noqa: BLE001 -- a bug, answered as such (InputError is not one)
        ans = empty_answer("error", method, instance=path, message=(
            f"{path}: internal error in method {method}: {type(exc).__name__}: {exc} "
            f"(a bug in fa2opt; please report it with this instance)"))
    return _valid_unicode(ans)


def _valid_unicode(ans: Answer) -> Answer:
    """The answer with a lone surrogate in ``message`` or ``instance`` written as its escape
    text (``\\udcff``): a file name that is not UTF-8 reaches them as one (Python's
    surrogateescape), and JSON's ``"\\udcff"`` is no Unicode text -- strict readers (Rust's
    serde_json, a UTF-8 encoder) refuse it. Names in a file are valid Unicode already. The
    message is one line as on stderr (:func:`one_line`: a newline in a file name escaped)."""
    def fix(text: Any) -> Any:
        if not isinstance(text, str):
            return text
        return text.encode("utf-8", "backslashreplace").decode("utf-8")
    message, instance = fix(ans.message), fix(ans.instance)
    message = one_line(message) if isinstance(message, str) else message
    if message == ans.message and instance == ans.instance:
        return ans
    return ans.with_(message=message, instance=instance)


def read_instance(path: str, extensions: bool = True, validate: bool = False) -> Instance:
    """The instance in ``path`` for a command (:func:`fa2opt.io.load_instance`), each warning
    about it (keys it ignores) printed as one line on stderr: once per file a command reads,
    never into stdout or an answer, and only for a file that passes its checks -- its
    extension keys' too where they are read -- so a file refused gets its one error line.
    ``validate``: the extension keys are checked here (InputError), as ``validate`` and
    ``info`` need (``solve`` checks them in the method that reads them)."""
    notes: list[str] = []
    inst = load_instance(path, extensions=extensions, warn=notes.append)
    if extensions and (validate or notes):
        try:
            validate_extensions(inst)
        except InputError:
            if validate:
                raise
            return inst  # (the command refuses it, with the error alone)
    for text in notes:
        print_warning(text)
    return inst


def print_warning(text: str) -> None:
    """A warning about an input file (keys it ignores), as every command prints one: one
    line on stderr, never on stdout or in an answer."""
    print(one_line(text), file=sys.stderr, flush=True)


def _answer_one(path: str, method: str, solver: Solver) -> Answer:
    try:
        # --formulation base ignores extension keys (spec): loaded without them
        base = solver.options.get("formulation") == "base"
        problem = Problem.from_instance(read_instance(path, extensions=not base))
    except InputError as exc:
        return empty_answer("error", method, message=str(exc), instance=path)
    try:
        answer = solver.solve(problem)
    except InputError as exc:  # e.g. an extension formulation reading a bad extra key
        return empty_answer("error", method, message=str(exc), instance=problem.instance.name)
    except MemoryError as exc:  # spec: one answer per path; the next paths still get theirs
        why = f" ({exc})" if str(exc) else ""  # (a DP's own guard says how much)
        return empty_answer("error", method, instance=problem.instance.name, message=(
            f"{path}: method {method} ran out of memory{why}"))
    answer = checked(problem, answer)
    if answer.status == "error" and not (answer.message or "").startswith(f"{path}: "):
        # spec: an error names the file; a method's own refusal (a grid bound, HiGHS, a
        # failed verification) knows only the method
        answer = answer.with_(message=f"{path}: {answer.message or 'error'}")
    return answer


def one_line(text: Any) -> str:
    """``text`` with each non-printable character (a newline, a carriage return, a lone
    surrogate from a file name that is not UTF-8, ...) written as its escape: a file path or
    a name holding one must not break an error (spec: one line on stderr) or a table row
    across lines. Printable text, backslashes included, is left as it is."""
    text = str(text)
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def _print_answer(ans: Answer, path: str) -> None:
    if ans.status == "error":
        print(one_line(ans.message), file=sys.stderr)
        return
    head = f"{one_line(path)}: {ans.status}"
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
        print(f"  {one_line(ans.message)}")
    for flow, lat in ans.flow_latency_ms.items():
        print(f"  flow {one_line(flow)}: {lat:.3f} ms")
    if ans.nodes:
        head = ("node", "batch", "hardware", "units", "variant", "replicas", "p_ms", "L_ms", "cost")
        rows = [(one_line(v), str(d.batch), one_line(d.hardware), f"{d.units:g}",
                 one_line(d.variant or "-"),
                 str(d.replicas), f"{d.profile_latency_ms:.3f}", f"{d.latency_ms:.3f}",
                 f"{d.cost:g}") for v, d in ans.nodes.items()]
        print(format_columns(head, rows, left=("node", "hardware", "variant"), indent="  "))


def format_columns(head: Sequence[str], rows: Sequence[Sequence[str]], *,
                   left: Sequence[str] = (), indent: str = "") -> str:
    """A plain-text table whose columns are as wide as their longest cell (long node names
    must not shift the columns after them); columns named in ``left`` align left."""
    widths = [max([len(h)] + [len(r[i]) for r in rows]) for i, h in enumerate(head)]

    def line(cells: Sequence[str]) -> str:
        return indent + " ".join(c.ljust(w) if h in left else c.rjust(w)
                                 for c, w, h in zip(cells, widths, head)).rstrip()

    return "\n".join([line(head)] + [line(r) for r in rows])


def cmd_solve(args: argparse.Namespace) -> int:
    try:
        solver = make_solver(args.method, vars(args))
    except ValueError as exc:
        print(f"fa2opt solve: {exc}", file=sys.stderr)
        return 2
    if cpu_kernels.warm_up_requested():  # set-up, outside every answer's solve_ms
        cpu_kernels.warm_up()
    status = 0
    for path in args.instances:
        ans = _solve_one(path, args.method, solver)
        if ans.status == "error":
            status = 2
        try:
            if args.json:
                print(ans.dumps())
            else:
                _print_answer(ans, path)
            sys.stdout.flush()  # (each answer as it is made; a write's failure shows here)
        except BrokenPipeError:  # `fa2opt solve … | head`: the reader left; the answers
            _drop_stdout()       # made so far give the exit code (an error among them: 2)
            return status
    return status


def cmd_validate(args: argparse.Namespace) -> int:
    status = 0
    for path in args.instances:
        try:
            inst = read_instance(path, validate=True)  # extension keys too
        except InputError as exc:
            print(one_line(exc), file=sys.stderr)
            status = 2
            continue
        print(f"{one_line(path)}: ok ({len(inst.nodes)} nodes, {len(inst.edges)} edges, "
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
        **_combinations(_prod(len(t) for t in problem.tables.values())),
        **_feasibility(problem),
    }


def _feasibility(problem: Problem) -> dict[str, Any]:
    """``feasible``: True / False when decided, None when it is not decided here.

    Without extension keys the all-fastest test decides it (spec). With them the
    extensions' rows are applied first (:func:`fa2opt.extensions.ruled_out`: a node left
    without rows, or an all-fastest choice of the rows left that breaks an SLA, makes the
    instance infeasible); budgets (capacity, accuracy floors by product, energy) otherwise
    make feasibility a question to prove like optimality (spec), so it is left open (None).
    ``extensions`` names the extensions whose keys the instance carries."""
    from .extensions import budgets, declare, extensions_of, ruled_out  # noqa: PLC0415

    names = list(extensions_of(problem.instance))
    base = problem.is_feasible()
    if not names or not base:
        return {"feasible": base, "extensions": names}
    blocks = declare(problem, names)  # (cmd_info has checked the keys)
    if ruled_out(problem, blocks):
        return {"feasible": False, "extensions": names}
    return {"feasible": None if budgets(blocks) else True, "extensions": names}


def _combinations(total: int) -> dict[str, Any]:
    """The count as a float (None beyond a double's range: deep or long graphs reach
    4^751) and its log10 (None when some node has no available row)."""
    return {"combinations": float(total) if total.bit_length() <= 1023 else None,
            "log10_combinations": round(math.log10(total), 3) if total else None}


def _prod(xs: Any) -> int:
    out = 1
    for x in xs:
        out *= x
    return out


def cmd_info(args: argparse.Namespace) -> int:
    status = 0
    for path in args.instances:
        try:
            info = instance_info(Problem.from_instance(read_instance(path, validate=True)))
        except InputError as exc:
            print(one_line(exc), file=sys.stderr)
            status = 2
            continue
        if args.json:
            print(json.dumps(info))
            continue
        verdict = {True: "feasible", False: "INFEASIBLE"}.get(
            info["feasible"], "SLAs feasible; " + ", ".join(info["extensions"])
            + ": feasibility not decided here (fa2opt solve decides)")
        print(f"{path}: {info['name']}  queueing={info['queueing']}  "
              f"max_utilization={info['max_utilization']:g}  {verdict}")
        print(f"  {len(info['nodes'])} nodes, {len(info['edges'])} edges, "
              + (f"{info['combinations']:.3g}" if info["combinations"] is not None
                 else f"10^{info['log10_combinations']:.1f}") + " configuration combinations")
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


class _Formatter(argparse.HelpFormatter):
    """Help text wrapped without breaking method names such as fa2-grid-tightest at a hyphen."""

    def _split_lines(self, text: str, width: int) -> list[str]:
        return textwrap.wrap(" ".join(text.split()), width, break_on_hyphens=False)


class _Parser(argparse.ArgumentParser):
    def __init__(self, *args: Any, **kwargs: Any):
        kwargs.setdefault("formatter_class", _Formatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> None:  # one short line and exit code 2, no usage dump
        self.exit(2, f"{self.prog}: {message}\n")


def integer(text: str) -> int:
    """argparse type of every integer option: ``int(text)``, or an error quoting at most
    ~80 characters of it. (``type=int`` quoted the whole text: a 5,000-digit value, over
    Python's int-digit limit, was a 5,000-character 'invalid int value' line.)"""
    digits = text.strip().lstrip("+-")
    if digits.isascii() and digits.isdigit() and len(digits) > MAX_NUMBER_DIGITS:
        raise argparse.ArgumentTypeError(f"out of range (an integer of {len(digits)} digits)")
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer (got {quote(text)})") from None


def number(text: str) -> float:
    """argparse type of every number option: ``float(text)`` (range checks are each
    option's own), or an error quoting at most ~80 characters of the text (``type=float``
    quoted all of it)."""
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number (got {quote(text)})") from None


def time_limit_flag(value: float | None) -> float | None:
    """``--time-limit``'s value checked as every method checks its ``time_limit``
    (:data:`fa2opt.solver.TIME_LIMIT`), refused naming the flag: ValueError (one line)."""
    try:
        return None if value is None else TIME_LIMIT.normalise(value)
    except ValueError as exc:
        raise ValueError(f"--time-limit {exc}") from None


def version() -> str:
    """The installed distribution's version (the package's own when not installed)."""
    from importlib import metadata

    try:
        return metadata.version("fa2opt")
    except metadata.PackageNotFoundError:
        from . import __version__

        return __version__


def option_help(option: str) -> str:
    """--help text of a solver flag from :data:`~fa2opt.solver.OPTIONS`: what it does, the
    methods that take it and their defaults (declared once, shown as declared)."""
    takers = {m: o[option] for m, o in OPTIONS.items() if option in o}
    what = next((o.help for o in takers.values() if o.help), "")
    defaults = ", ".join(f"{m}: {'none' if o.default is None else o.default}"
                         for m, o in takers.items())
    return f"{what} (default {defaults}; other methods refuse it)"


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The whole parser; with ``command`` one of the built-in commands, without the other
    modules' subcommands (importing them costs ``fa2opt solve`` half a second: pandas)."""
    p = _Parser(prog="fa2opt", description=__doc__.splitlines()[0])
    p.add_argument("--version", action="version", version=f"fa2opt {version()}")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)

    s = sub.add_parser("solve", help="solve instance files with one method",
                       description="Solve instance files with one method; exit code 2 for bad "
                                   "input, a bad option or an error answer.")
    s.add_argument("instances", nargs="+", metavar="INSTANCE")
    s.add_argument("--method", "-m", default="fa2", metavar="METHOD",
                   help=f"one of {', '.join(method_names())} (default fa2)")
    s.add_argument("--json", action="store_true", help="one JSON answer per line")
    s.add_argument("--time-limit", type=number, metavar="S", help=option_help("time_limit"))
    s.add_argument("--formulation", help="what to solve: by default every extension key the "
                   "instance carries; 'base' ignores them; an extension's name (capacity, "
                   "accuracy, switch, energy) solves that one alone (every method); milp also "
                   "takes a MILP-only formulation's name")
    s.add_argument("--grid-ms", type=number, metavar="MS", help=option_help("grid_ms"))
    s.add_argument("--max-combinations", type=integer, metavar="N",
                   help=option_help("max_combinations"))
    s.add_argument("--device", choices=("cpu", "gpu", "auto"), help=option_help("device"))
    s.set_defaults(func=cmd_solve)

    v = sub.add_parser("validate", help="check instance files")
    v.add_argument("instances", nargs="+", metavar="INSTANCE")
    v.set_defaults(func=cmd_validate)

    i = sub.add_parser("info", help="graph, flows, configuration counts, fastest latency")
    i.add_argument("instances", nargs="+", metavar="INSTANCE")
    i.add_argument("--json", action="store_true")
    i.set_defaults(func=cmd_info)

    for mod in () if command in BUILTIN_COMMANDS else SUBCOMMAND_MODULES:
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
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(argv[0] if argv else None)
    args = parser.parse_args(argv)
    if args.command == "solve" and not _known_method(args.method):
        parser.error(f"unknown method {args.method!r} (available: {', '.join(available_methods())})")
    if sys.stdout is None:  # (started with stdout closed: print() would drop every line)
        print(f"fa2opt {args.command}: cannot write the output: stdout is closed",
              file=sys.stderr)
        return 2
    try:
        status = int(args.func(args) or 0)
        sys.stdout.flush()  # a write's failure here, not at the interpreter's exit
        return status
    except (InputError, ReplicaRangeError) as exc:  # bad input: one line, never a traceback
        for err in exc.errors if isinstance(exc, InputErrors) else (exc,):  # (one per file)
            print(one_line(err), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except MemoryError:  # any command (solve answers per path above): one line, no traceback
        print(f"fa2opt {args.command}: ran out of memory", file=sys.stderr)
        return 2
    except BrokenPipeError:  # e.g. `fa2opt info … | head`: the reader left, stop quietly
        _drop_stdout()
        return 0
    except OSError as exc:  # writing stdout failed (a full disk, /dev/full), or a file: one line
        if exc.filename is None:  # (stdout's errors name no file)
            _drop_stdout()
            print(f"fa2opt {args.command}: cannot write the output ({one_line(exc)})",
                  file=sys.stderr)
        else:
            print(f"fa2opt {args.command}: {one_line(exc.filename)}: {one_line(exc.strerror)}",
                  file=sys.stderr)
        return 2


def _drop_stdout() -> None:
    """Point stdout at the null device once writing to it failed, so what its buffer still
    holds fails no more (at the interpreter's exit: a second error and exit code 120)."""
    try:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    except (OSError, ValueError):  # (no file descriptor: nothing to flush at exit either)
        pass


if __name__ == "__main__":
    sys.exit(main())
