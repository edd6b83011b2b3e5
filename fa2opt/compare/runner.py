"""Running the comparison: every method on every instance, fanned out, resumable.

A worker solves one *whole* instance with every requested method side by side (so the
decision times of one instance are measured on the same machine under the same load --
paired), and returns one row per method. Instances are independent, so tasks are
submitted to a ``concurrent.futures`` executor: a local process pool by default, a
``dask.distributed`` cluster's executor with ``scheduler=ADDRESS``, or an in-process
serial executor with ``workers=1`` -- one code path through the executor interface.

Decision time is the answer's ``solve_ms`` (the spec's definition: from the configuration
tables in memory to the finished answer). Before its first timed solve of a method, each
worker process solves a tiny built-in instance with it once (not recorded) so import and
first-call costs do not land on whichever instance comes first.

Rows are appended to the per-instance table as instances finish; a later run with the
same output skips every (suite, instance, method) row already there (resume).
"""

from __future__ import annotations

import json
import math
import os
import signal
import sys
import threading
import traceback
from contextlib import contextmanager
from concurrent.futures import Executor, Future, ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Sequence

from .. import cpu_kernels
from ..answer import Answer
from ..io import QUOTE_CHARS, label
from ..model import Config, Edge, Flow, Instance, Node
from ..problem import Problem
from ..solver import checked, get_solver, solver_class
from .methods import MethodSpec
from .suites import Task

MESSAGE_CHARS = 300

# Columns a worker fills, in table order (the derived reference columns come after).
RAW_COLUMNS = ("suite", "instance", "method", "formulation", "nodes", "edges", "flows",
               "configs", "log10_combinations", "status", "cost", "objective", "lower_bound",
               "solve_ms",
               "verified", "check", "message", "breakdown_ms")


class SerialExecutor(Executor):
    """Runs each submitted call at once in this process (``workers=1``; debugging, tests)."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future:
        fut: Future = Future()
        try:
            fut.set_result(fn(*args, **kwargs))
        except BaseException as exc:  # noqa: BLE001 -- handed to the caller through the future
            fut.set_exception(exc)
        return fut


# -- one instance, every method ---------------------------------------------------------------
class MethodTimeout(BaseException):
    """Raised in a worker when one method ran past ``method_timeout`` (a BaseException so a
    solver's own ``except Exception`` cannot swallow it)."""


MAX_METHOD_TIMEOUT_S = 1e9  # --method-timeout at most (~32 years; SIGALRM's timer overflows
# past ~1e10 s here, and NaN or a negative value is refused by it: an error row per method)


def check_method_timeout(seconds: float | None) -> None:
    """ValueError naming ``--method-timeout`` unless it is None or in [0,
    :data:`MAX_METHOD_TIMEOUT_S`] (0 = none)."""
    if seconds is not None and not 0.0 <= seconds <= MAX_METHOD_TIMEOUT_S:
        raise ValueError(f"--method-timeout must be a number of seconds in [0, "
                         f"{MAX_METHOD_TIMEOUT_S:g}] (0 = none; got {seconds!r})")


@contextmanager
def deadline(seconds: float | None) -> Iterator[None]:
    """Stop the enclosed call after ``seconds`` of wall time with :class:`MethodTimeout`
    (SIGALRM: only in a process's main thread -- pool workers and the serial executor;
    in a Dask worker thread there is no cap). Long C calls finish before it fires."""
    if (not seconds or not hasattr(signal, "setitimer")
            or threading.current_thread() is not threading.main_thread()):
        yield
        return

    def _fire(signum: int, frame: Any) -> None:
        raise MethodTimeout()

    previous = signal.signal(signal.SIGALRM, _fire)
    signal.setitimer(signal.ITIMER_REAL, float(seconds))
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


_WARMED: set[str] = set()


def _tiny_instance() -> Instance:
    rows = (Config(1, "cpu", 1, 10.0), Config(4, "cpu", 2, 25.0))
    return Instance(name="warm-up", nodes=(Node("a", rows), Node("b", rows)),
                    edges=(Edge("a", "b"),), flows=(Flow("main", 20.0, 200.0, ("a", "b")),))


def _warm_up(spec: MethodSpec, solver_options: dict[str, Any]) -> None:
    """Each method's first-call costs paid before its timed runs, once per process: every
    compiled kernel loaded (:func:`fa2opt.cpu_kernels.warm_up`: otherwise the first fa2
    search after ``fa2-grid`` imported Numba paid the flow-bound passes' load, 1.2 s on a
    regression instance decided in 25 ms) and a tiny instance solved."""
    if spec.label in _WARMED:
        return
    _WARMED.add(spec.label)
    cpu_kernels.warm_up()
    try:
        get_solver(spec.name, **solver_options).solve(Problem.from_instance(_tiny_instance()))
    except Exception:  # noqa: BLE001 -- the timed run reports any real error
        pass


def _check(problem: Problem, answer: Answer) -> tuple[bool, str]:
    """The independent check of :func:`fa2opt.solver.checked` (:func:`~fa2opt.verify.verify`
    on a decision; an ``infeasible`` claim against the exact all-fastest test), keeping the
    method's own status in the table and the check's verdict beside it."""
    if answer.status == "error":
        return True, "ok"  # nothing to check; counted as an error
    judged = checked(problem, answer)
    if judged.status == "error":
        return False, judged.message or "failed"
    return True, "ok"


def _size_columns(problem: Problem) -> dict[str, Any]:
    sizes = [len(t) for t in problem.tables.values()]
    return {
        "nodes": len(problem.instance.nodes), "edges": len(problem.instance.edges),
        "flows": len(problem.instance.flows), "configs": int(sum(sizes)),
        "log10_combinations": (round(sum(math.log10(k) for k in sizes), 6)
                               if all(sizes) else None),
    }


def method_options(spec: MethodSpec, common_options: dict[str, Any]) -> dict[str, Any]:
    """A method's options in this run: the common ones it takes (e.g. ``time_limit``),
    overridden by the spec's own."""
    accepted = solver_class(spec.name).option_names()
    return {**{k: v for k, v in common_options.items() if k in accepted}, **spec.option_dict}


def solve_row(task: Task, problem: Problem, spec: MethodSpec,
              common_options: dict[str, Any], method_timeout: float | None = None) -> dict[str, Any]:
    """Solve one instance with one method and check the answer; never raises. A method
    still running after ``method_timeout`` s is stopped: status ``timeout`` (the harness's
    own status, not the spec's -- the method gave no answer). A method that answers
    ``error`` because it cannot honour an extension key of the instance gets status
    ``refused`` (also the harness's: the spec's clean refusal, a miss but not a failure).
    ``formulation`` is what the answer solved (``base`` or the extensions, ``+``-joined)
    and ``objective`` the spec's objective (the cost unless extensions add terms)."""
    options = method_options(spec, common_options)
    _warm_up(spec, options)
    row: dict[str, Any] = {"suite": task.suite, "instance": task.instance_id, "method": spec.label}
    try:
        with deadline(method_timeout):
            answer = get_solver(spec.name, **options).solve(problem)
    except MethodTimeout:
        row.update(status="timeout", cost=None, lower_bound=None, solve_ms=None,
                   verified=False, check=f"not checked (stopped after {method_timeout:g} s)",
                   message=f"no answer within {method_timeout:g} s", breakdown_ms=None)
        return row
    except Exception as exc:  # noqa: BLE001 -- a crash is an honest 'error' row
        tb = traceback.format_exception_only(type(exc), exc)[-1].strip()
        row.update(status="error", cost=None, lower_bound=None, solve_ms=None,
                   verified=False, check="not checked (the method raised)",
                   message=tb[:MESSAGE_CHARS], breakdown_ms=None)
        return row
    row["formulation"] = "+".join(answer.formulation) or "base"
    if answer.status == "error" and answer.extra.get("refused"):
        row.update(status="refused", cost=None, objective=None, lower_bound=None,
                   solve_ms=None, verified=True, check="not checked (refused)",
                   message=(answer.message or "")[:MESSAGE_CHARS] or None, breakdown_ms=None)
        return row
    ok, check = _check(problem, answer)
    breakdown = {k: round(float(v), 6) for k, v in answer.extra.items()
                 if k.endswith("_ms") and isinstance(v, (int, float))}
    row.update(status=answer.status, cost=answer.cost,
               objective=answer.cost if answer.objective is None else answer.objective,
               lower_bound=answer.lower_bound,
               solve_ms=answer.solve_ms, verified=ok, check=check[:MESSAGE_CHARS],
               message=(answer.message or "")[:MESSAGE_CHARS] or None,
               breakdown_ms=json.dumps(breakdown, sort_keys=True) if breakdown else None)
    return row


def solve_task(task: Task, specs: Sequence[MethodSpec], common_options: dict[str, Any],
               method_timeout: float | None = None) -> list[dict[str, Any]]:
    """Worker entry point: build the tables once, run every method on them in order."""
    problem = Problem.from_instance(task.instance)
    size = _size_columns(problem)
    rows = []
    for spec in specs:
        row = solve_row(task, problem, spec, common_options, method_timeout)
        row.update(size)
        rows.append({c: row.get(c) for c in RAW_COLUMNS})
    return rows


# -- executors -------------------------------------------------------------------------------
MAX_WORKERS = 256  # local worker processes at most (--workers): each is a Python with Pyomo


def make_executor(workers: int | None = None, scheduler: str | None = None,
                  tasks: int | None = None) -> tuple[Executor, Callable[[], None]]:
    """(executor, close): dask's executor for ``scheduler``, a process pool, or serial. The
    pool has ``workers`` processes (default: the CPU count), never more than ``tasks`` (a
    forking pool starts them all at once) nor :data:`MAX_WORKERS` (ValueError)."""
    if scheduler:
        try:
            from distributed import Client
        except ImportError:
            raise RuntimeError("--scheduler needs dask.distributed (pip install 'fa2opt[dask]')") from None
        try:
            client = Client(scheduler)
        except (OSError, ValueError, TypeError) as exc:  # unreachable (OSError without a
            # file name: fa2opt.cli took it for a failed write of stdout) or a garbage address
            raise RuntimeError(f"--scheduler {label(scheduler, QUOTE_CHARS)}: cannot connect "
                               f"({label(str(exc), 2 * QUOTE_CHARS)})") from None
        return client.get_executor(pure=False), client.close
    n = workers if workers is not None else (os.cpu_count() or 1)
    if not 1 <= n <= MAX_WORKERS:
        raise ValueError(f"--workers must be an integer in [1, {MAX_WORKERS}] (got {n})")
    if tasks is not None:
        n = min(n, tasks)
    if n <= 1:
        return SerialExecutor(), lambda: None
    pool = ProcessPoolExecutor(max_workers=n)
    return pool, lambda: pool.shutdown(wait=True, cancel_futures=True)


def run_tasks(tasks: Sequence[Task], specs: Sequence[MethodSpec], *,
              done: Iterable[tuple[str, str, str]] = (),
              common_options: dict[str, Any] | None = None,
              workers: int | None = None, scheduler: str | None = None,
              on_rows: Callable[[list[dict[str, Any]]], None] | None = None,
              progress: bool | None = None,
              method_timeout: float | None = None) -> list[dict[str, Any]]:
    """Solve every task with every method whose (suite, instance, method) row is not in
    ``done``; ``on_rows`` gets each finished instance's rows (to append to the table)."""
    done = set(done)
    common_options = dict(common_options or {})
    jobs = []
    for t in tasks:
        todo = [s for s in specs if (t.suite, t.instance_id, s.label) not in done]
        if todo:
            jobs.append((t, todo))
    rows: list[dict[str, Any]] = []
    if not jobs:
        return rows
    if progress is None:
        progress = sys.stderr.isatty()
    executor, close = make_executor(workers, scheduler, len(jobs))
    try:
        from tqdm import tqdm

        bar = tqdm(total=len(jobs), unit="instance", disable=not progress, file=sys.stderr)
        try:
            for got in _results(executor, jobs, common_options, method_timeout):
                rows.extend(got)
                if on_rows is not None:
                    on_rows(got)
                bar.update(1)
        finally:
            bar.close()
    finally:
        close()
    return rows


def _results(executor: Executor, jobs: Sequence[tuple[Task, list[MethodSpec]]],
             common_options: dict[str, Any],
             method_timeout: float | None) -> Iterable[list[dict[str, Any]]]:
    """Each job's rows as it finishes: the serial executor runs one job per submit (so the
    progress bar moves); pools get every job at once and answer in completion order."""
    if isinstance(executor, SerialExecutor):
        for t, todo in jobs:
            yield executor.submit(solve_task, t, todo, common_options, method_timeout).result()
        return
    futures = [executor.submit(solve_task, t, todo, common_options, method_timeout)
               for t, todo in jobs]
    for fut in as_completed(futures):
        yield fut.result()


def append_rows(path: Path, rows: list[dict[str, Any]], columns: Sequence[str] = RAW_COLUMNS) -> None:
    """Append rows to a CSV table (header written when the file is new)."""
    import pandas as pd

    frame = pd.DataFrame(rows, columns=list(columns))
    new = not path.exists() or path.stat().st_size == 0
    frame.to_csv(path, mode="w" if new else "a", header=new, index=False)
