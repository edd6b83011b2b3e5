"""What every experiment kind shares: pipelines, hardware classes, the SLA-tightness rule,
and fanning tasks out over the comparison's executor (process pool, Dask or serial)."""

from __future__ import annotations

import sys
from concurrent.futures import as_completed
from dataclasses import replace
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

from ..compare.runner import SerialExecutor, make_executor
from ..io import load_instance
from ..model import Instance
from ..problem import Problem
from .config import PIPELINES_DIR

SOLVED = ("optimal", "feasible")


def pipeline(name: str) -> Instance:
    return load_instance(PIPELINES_DIR / f"{name}.json")


def hardware_class(inst: Instance) -> str:
    """``gpu`` when any profile row runs on a ``gpu*`` kind, else ``cpu``."""
    return "gpu" if any(c.hardware.startswith("gpu") for n in inst.nodes for c in n.configs) else "cpu"


def fastest_ms(inst: Instance) -> dict[str, float] | None:
    """Each flow's latency with every node at its fastest row, at the instance's rates (the
    least latency any decision reaches); None when a node has no available row."""
    problem = Problem.from_instance(inst)
    choice = problem.fastest_choice()
    return None if choice is None else problem.flow_latencies(choice)


def at_point(inst: Instance, load: float, k: float, rho: float | None = None) -> Instance | None:
    """The instance at ``load`` × its flow rates with each flow's SLA set to ``k`` × its
    fastest latency at that load (the tightness rule of issue 15); None when no row is
    available at some node."""
    at = inst.with_rates(scale=load)
    if rho is not None:
        at = replace(at, max_utilization=rho)
    fast = fastest_ms(at)
    if fast is None:
        return None
    return at.with_slas({f: k * ms for f, ms in fast.items()})


def fan_out(fn: Callable[..., list[dict[str, Any]]], tasks: Sequence[tuple], *,
            workers: int | None, scheduler: str | None, progress: bool = False
            ) -> Iterator[list[dict[str, Any]]]:
    """Run ``fn(*task)`` for every task on the comparison's executor
    (:func:`fa2opt.compare.runner.make_executor`) and yield each task's rows as it finishes."""
    executor, close = make_executor(workers, scheduler, len(tasks))
    try:
        from tqdm import tqdm

        bar = tqdm(total=len(tasks), unit="task", disable=not progress, file=sys.stderr)
        if isinstance(executor, SerialExecutor):
            for t in tasks:
                yield fn(*t)
                bar.update(1)
        else:
            for fut in as_completed([executor.submit(fn, *t) for t in tasks]):
                yield fut.result()
                bar.update(1)
        bar.close()
    finally:
        close()


def collect(fn: Callable[..., list[dict[str, Any]]], tasks: Sequence[tuple], order: list[str], *,
            workers: int | None, scheduler: str | None, progress: bool = False) -> Any:
    """Every task's rows (:func:`fan_out`) as one table in a reproducible order (tasks finish
    in any order on a pool): sorted stably by the columns ``order``."""
    import pandas as pd

    rows: list[dict[str, Any]] = []
    for got in fan_out(fn, tasks, workers=workers, scheduler=scheduler, progress=progress):
        rows.extend(got)
    return pd.DataFrame(rows).sort_values(order, kind="stable", ignore_index=True)


def rel_path(path: str | Path) -> str:
    from .config import REPO

    p = Path(path).resolve()
    return str(p.relative_to(REPO)) if p.is_relative_to(REPO) else str(p)

