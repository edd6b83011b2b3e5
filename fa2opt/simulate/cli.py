"""``fa2opt evaluate``: autoscale one instance over a trace with each method, simulate, and
print (and with ``--out``, save as CSV and PNG) violations, latency and resource use.

Progress goes to stderr: a tqdm bar over the methods when stderr is a terminal, else one
plain line per finished method (no ``\\r`` frames in pipes and logs); ``--no-progress``
silences both."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any, Callable, Sequence

from ..cli import integer, number, read_instance, time_limit_flag
from ..io import InputError, output_dir
from ..solver import available_methods, check_options, solver_class
from ..spec import OBJECTIVE_TERM_RANGE
from ..tables import ReplicaRangeError
from .arrivals import ARRIVAL_MODES, Trace, check_requests, load_trace
from .autoscale import WARM_STARTS, MethodDecider
from .engine import APPLY_BATCH_MODES, BATCH_TIMEOUTS, DISPATCH_MODES, FANOUT_MODES, PARTIAL_MODES
from .predictors import PREDICTORS, Predictor
from .report import format_table, json_row, save_run_outputs
from .run import Run, SimOptions, evaluate, make_workload
from .service import DEFAULT_CV, DEFAULT_JITTER, SERVICE_KINDS, ServiceModel, profile_ranges


def parse_traces(specs: Sequence[str], column: str, scale: float,
                 seconds: int | None, flows: Sequence[str] | None = None) -> dict[str, Trace]:
    """``--trace CSV`` (every flow) or ``--trace FLOW=CSV`` (one flow) -> traces by flow,
    their rates times ``scale``, the first ``seconds`` of each (None: all). InputError
    naming the file and column when a trace asks for more requests than the simulator
    takes (:func:`~fa2opt.simulate.arrivals.check_requests`); before any file is read, a
    ValueError naming the ``--trace`` for a FLOW not among ``flows`` (the instance's), a
    flow given a trace twice, a CSV for every flow beside FLOW=CSV (each was ignored, or one
    trace silently replaced another), or a flow without a trace."""
    given: list[tuple[str, str, str]] = []
    for spec in specs:
        flow, sep, path = spec.partition("=")
        if not sep or Path(spec).exists():
            flow, path = "*", spec
        if flows is not None and flow != "*" and flow not in flows:
            shown = ", ".join(flows[:10]) + (f", ... ({len(flows)} flows)" if len(flows) > 10 else "")
            raise ValueError(f"--trace {spec}: no flow {flow!r} in the instance (flows: {shown})")
        if any(f == flow for f, _, _ in given):
            raise ValueError(f"--trace {spec}: " + ("every flow has a trace already"
                             if flow == "*" else f"flow {flow!r} has a trace already"))
        if given and "*" in (flow, given[0][0]):
            raise ValueError(f"--trace {spec}: a CSV for every flow and FLOW=CSV together "
                             "(give one or the other)")
        given.append((flow, path, spec))
    named = {f for f, _, _ in given}
    missing = [] if "*" in named else [f for f in flows or () if f not in named]
    if missing:  # (was make_workload's 'no trace for flow(s) [...]', after reading the files)
        raise ValueError(f"--trace: no trace for flow {missing[0]!r} (give FLOW=CSV for every "
                         f"flow, or one CSV for all)")
    out: dict[str, Trace] = {}
    for flow, path, _ in given:
        tr = load_trace(path, column).scaled(scale)
        tr = tr.window(0, seconds) if seconds is not None else tr
        try:
            check_requests(float(tr.rates.sum()), len(tr.rates))
        except ValueError as exc:
            raise InputError(str(path), column, str(exc)) from None
        out[flow] = tr
    return out


def check_numbers(args: argparse.Namespace) -> None:
    """The numeric flags that no later step checks, before any file is read: ValueError
    naming the flag (NaN, infinities and out-of-range values would otherwise run, and
    print NaN metrics or simulate another window than asked)."""
    def bad(flag: str, must: str, got: Any) -> ValueError:
        return ValueError(f"{flag} must be {must} (got {got!r})")

    if not 0.0 < args.rate_scale < float("inf"):
        raise bad("--rate-scale", "a finite number > 0", args.rate_scale)
    if args.seconds is not None and args.seconds < 1:
        raise bad("--seconds", "an integer >= 1", args.seconds)
    if args.interval < 1:  # (else refused only once the workload is drawn, naming no flag)
        raise bad("--interval", "an integer >= 1", args.interval)
    if args.history < 0:
        raise bad("--history", "an integer >= 0", args.history)
    if args.seed < 0:  # (numpy's own 'expected non-negative integer' named no flag)
        raise bad("--seed", "an integer >= 0", args.seed)
    if not args.column.strip():  # (was '<trace>: missing column', naming none)
        raise bad("--column", "a column name", args.column)
    if args.column.strip() == "second":  # (the time column: read as rates 0, 1, 2, ...)
        raise bad("--column", "a rate column (rps, rps_raw), not the time column", args.column)
    for flag, value in (("--warmup", args.warmup), ("--startup", args.startup)):
        if not 0.0 <= value < float("inf"):
            raise bad(flag, "a finite number >= 0", value)
    flag_checks((("--window", lambda: Predictor(window_s=args.window)),
                 ("--quantile", lambda: Predictor(quantile=args.quantile)),
                 ("--headroom", lambda: Predictor(headroom=args.headroom))))


def flag_checks(checks: Sequence[tuple[str, Callable[[], object]]]) -> None:
    """Each flag's value checked alone by the class that owns its rule (``build`` makes one
    with that value only), so the message names the flag, not only the setting."""
    for flag, build in checks:
        try:
            build()
        except ValueError as exc:
            raise ValueError(f"{flag}: {exc}") from None


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser("evaluate", help="trace-driven simulation of autoscaling methods "
                              "(SLA violations, latency, resource-time)")
    p.add_argument("instance", metavar="INSTANCE")
    p.add_argument("--trace", action="append", required=True, metavar="[FLOW=]CSV",
                   help="rate trace (columns second,<column>); FLOW=CSV for one flow")
    p.add_argument("--column", default="rps", help="trace column to read (rps, rps_raw)")
    p.add_argument("--rate-scale", type=number, default=1.0, help="multiply trace rates")
    p.add_argument("--seconds", type=integer, help="only the first N seconds of the trace")
    p.add_argument("--method", "-m", action="append",
                   help="method(s) to compare (repeatable; default: every available method "
                        "except brute-force)")
    p.add_argument("--predictor", choices=PREDICTORS, default="max")
    p.add_argument("--window", type=integer, help="predictor window (s)")
    p.add_argument("--quantile", type=number, default=0.95)
    p.add_argument("--headroom", type=number, default=0.0, help="scale forecasts by 1+h")
    p.add_argument("--interval", type=integer, default=10, help="adaptation interval (s)")
    p.add_argument("--startup", type=number, default=5.0, help="replica start-up delay (s)")
    p.add_argument("--arrivals", choices=ARRIVAL_MODES, default="poisson")
    p.add_argument("--seed", type=integer, default=0)
    p.add_argument("--warmup", type=number, default=0.0,
                   help="seconds left out of the metrics (latencies and cost)")
    p.add_argument("--time-limit", type=number,
                   help="time limit per decision (s) of the methods that take one")
    p.add_argument("--switch-cost", type=number, metavar="S",
                   help="also run each method deciding with the deployed configuration as "
                        "'current' and switch cost S per node-row change (label 'M switch=S'; "
                        "spec, Extensions: switch)")
    p.add_argument("--out", help="folder for CSV and PNG results")
    p.add_argument("--json", action="store_true", help="one JSON row per method")
    p.add_argument("--no-progress", action="store_true",
                   help="no progress on stderr (default: a bar on a terminal, else a line per method)")
    add_sim_options(p)
    p.set_defaults(func=cmd_evaluate)


# -- simulator options (issue 15 item 4; docs/simulation.md), shared with scripts/evaluate_trace.py
def add_sim_options(p: argparse.ArgumentParser) -> None:
    """The simulator's model options as flags (defaults: the original model)."""
    p.add_argument("--service", choices=SERVICE_KINDS, default="mean", help="service-time model")
    p.add_argument("--jitter", type=number, default=DEFAULT_JITTER,
                   help="half-width for --service jitter")
    p.add_argument("--cv", type=number, default=DEFAULT_CV,
                   help="coefficient of variation for --service lognormal")
    p.add_argument("--dispatch", choices=DISPATCH_MODES, default="central",
                   help="one queue per node, or round-robin to per-replica batchers")
    p.add_argument("--batch-timeout", choices=BATCH_TIMEOUTS, default="node",
                   help="round-robin: a replica waits the node's batch fill time or its own (n times longer)")
    p.add_argument("--apply-batch", choices=APPLY_BATCH_MODES, default="immediate",
                   help="a new batch size applies at once or when the replicas it needs are ready")
    p.add_argument("--warm-start", choices=WARM_STARTS, default="peek",
                   help="first decision: the trace's first interval (peek), the --history seconds, or the floor rate")
    p.add_argument("--history", type=integer, default=0,
                   help="seconds at the trace's start observed before t = 0 (not simulated)")
    p.add_argument("--partial-batch", choices=PARTIAL_MODES, default="padded",
                   help="a batch of fewer than b items takes p(b) (padded) or the profiled time of its size")
    p.add_argument("--fanout", choices=FANOUT_MODES, default="all",
                   help="a request finishes a fan-out node with its last (all) or first item")


def sim_options(args: argparse.Namespace, instance_path: str | Path | None = None) -> SimOptions:
    """:class:`SimOptions` from :func:`add_sim_options` flags (ValueError on bad values,
    ``--jitter`` and ``--cv`` also where ``--service`` leaves them unused, as ``--quantile``)."""
    flag_checks((("--jitter", lambda: ServiceModel(jitter=args.jitter)),
                 ("--cv", lambda: ServiceModel(cv=args.cv))))  # whatever --service is
    service = ServiceModel(args.service, args.jitter if args.service == "jitter" else 0.0,
                           profile_ranges(instance_path) if args.service == "range" and instance_path else {},
                           cv=args.cv if args.service == "lognormal" else 0.0)
    return SimOptions(args.dispatch, service, args.apply_batch, args.warm_start, args.fanout,
                      args.batch_timeout, args.partial_batch)


def default_methods() -> list[str]:
    return [m for m in available_methods() if m != "brute-force"] or ["brute-force"]


def method_options(method: str, time_limit: float | None) -> dict[str, Any]:
    """The method's options from the flags, validated (ValueError, one line) before any run."""
    opts: dict[str, Any] = {}
    if time_limit is not None and "time_limit" in solver_class(method).option_names():
        opts["time_limit"] = time_limit
    return check_options(method, opts, solver_class(method).option_names())


class Progress:
    """Progress over the methods on stderr: tqdm on a terminal; elsewhere (pipes, logs) a
    plain line per step, so no carriage-return frames land in files."""

    def __init__(self, total: int, enabled: bool = True):
        self.total, self.done, self.enabled = total, 0, enabled
        self.tty = enabled and sys.stderr.isatty()
        self.bar = None
        if self.tty:
            from tqdm import tqdm

            self.bar = tqdm(total=total, unit="method", file=sys.stderr)

    def start(self, name: str) -> None:
        self.t0 = time.perf_counter()
        if self.bar is not None:
            self.bar.set_description(name)

    def finish(self, name: str) -> None:
        self.done += 1
        if self.bar is not None:
            self.bar.update(1)
        elif self.enabled:
            print(f"fa2opt evaluate: {name} simulated in {time.perf_counter() - self.t0:.1f} s "
                  f"({self.done}/{self.total})", file=sys.stderr, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def switch_variants(methods: Sequence[str], switch_cost: float | None
                    ) -> list[tuple[str, str, float | None]]:
    """(label, method, switch cost) of every run: each method as is and, with a switch cost,
    again deciding with the deployed configuration as ``current`` (ValueError for S outside
    the spec's range of ``switch_cost``)."""
    if switch_cost is None:
        return [(m, m, None) for m in methods]
    if not switch_cost >= 0 or switch_cost == float("inf"):
        raise ValueError(f"--switch-cost must be a finite number >= 0 (got {switch_cost:g})")
    if switch_cost > OBJECTIVE_TERM_RANGE[1]:  # the spec's range of switch_cost (else refused
        # only at the first switching decision, after the plain runs, naming the instance)
        raise ValueError(f"--switch-cost must be in [0, {OBJECTIVE_TERM_RANGE[1]:g}] "
                         f"(got {switch_cost:g})")
    return [run for m in methods for run in ((m, m, None), (f"{m} switch={switch_cost:g}", m,
                                                            switch_cost))]


def cmd_evaluate(args: argparse.Namespace) -> int:
    # every check before the first run, in order; a bad value is one line and exit 2 (an
    # InputError, naming a file, is printed by fa2opt.cli)
    try:
        check_numbers(args)
        instance = read_instance(args.instance)
        if args.out:
            output_dir(args.out)
        traces = parse_traces(args.trace, args.column, args.rate_scale,
                              args.seconds + args.history if args.seconds is not None else None,
                              [f.name for f in instance.flows])
        methods = args.method or default_methods()
        known = set(available_methods())
        unknown = [m for m in methods if m not in known]
        if unknown:
            raise ValueError(f"unknown method {unknown[0]!r} (available: "
                             f"{', '.join(sorted(known))})")
        options = sim_options(args, args.instance)
        predictor = Predictor(args.predictor, args.window, args.quantile, args.headroom)
        shortest = min(len(t.rates) for t in traces.values())
        if args.history >= shortest:  # (make_workload's own check named no flag)
            raise ValueError(f"--history must be shorter than the traces ({shortest} s"
                             f"{' with --seconds' if args.seconds is not None else ''}; "
                             f"got {args.history})")
        workload = make_workload(instance, traces, args.arrivals, args.seed, args.history)
        if args.warmup >= workload.horizon_s:
            raise ValueError(f"--warmup must be shorter than the {workload.horizon_s} s "
                             f"simulated (got {args.warmup!r})")
        if args.warm_start == "history" and args.history < 1:  # (was the library's message,
            # naming make_workload, once per method after the workload was drawn)
            raise ValueError(f"--warm-start history needs --history >= 1 (got {args.history})")
        if args.startup >= args.interval and workload.horizon_s > args.interval:
            # (the plan's own check, once per method after its loop ran, named no flag)
            raise ValueError(f"--startup must be shorter than --interval ({args.interval} s) "
                             f"when there is more than one decision (got {args.startup!r})")
        method_opts = {m: method_options(m, time_limit_flag(args.time_limit)) for m in methods}
        if args.time_limit is not None and not any("time_limit" in o for o in method_opts.values()):
            # (as solve refuses it; with several methods it applies to those that take one)
            raise ValueError(f"--time-limit: none of the methods ({', '.join(methods)}) "
                             "takes a time limit")
        variants = switch_variants(methods, args.switch_cost)
    except ValueError as exc:
        if isinstance(exc, InputError):
            raise
        print(f"fa2opt evaluate: {exc}", file=sys.stderr)
        return 2
    runs: list[Run] = []
    progress = Progress(len(variants), enabled=not args.no_progress)
    try:
        for label, m, switch_cost in variants:
            progress.start(label)
            decider = MethodDecider(instance, m, switch_cost=switch_cost, **method_opts[m])
            try:
                runs.append(evaluate(instance, workload, decider, name=label, predictor=predictor,
                                     interval_s=args.interval, startup_s=args.startup,
                                     seed=args.seed, warmup_s=args.warmup, options=options))
            except ValueError as exc:
                # (a replica bound named no file or flag: the rate it met is a forecast)
                why = (f"{args.instance}: {exc} (a forecast rate: the traces' rates times "
                       f"--rate-scale, times 1 + --headroom)"
                       if isinstance(exc, ReplicaRangeError) else exc)
                print(f"fa2opt evaluate: {label}: {why}", file=sys.stderr)
                return 2
            progress.finish(label)
    finally:
        progress.close()
    if args.json:
        for r in runs:
            print(json_row(r.row))
    else:
        print(f"{instance.name}: {workload.horizon_s} s, predictor {predictor.label}, "
              f"interval {args.interval} s, start-up {args.startup:g} s, {args.arrivals} arrivals, "
              f"simulator {options.label}")
        print(format_table([r.row for r in runs]))
    if args.out:
        stem = save_run_outputs(runs, workload, Path(args.out), instance.name)
        print(f"results in {args.out} ({stem}_*)", file=sys.stderr)
    return 0
