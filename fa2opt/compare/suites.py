"""Suites of instances for the comparison, each instance a :class:`Task` with a stable id.

Suite specs (``--suite``):

``regression``
    ``datasets/suites/regression/*.json`` (the committed synthetic regression suite).
``pipelines``
    ``datasets/pipelines/*.json`` swept over request rates from the Twitter trace windows
    ``datasets/traces/twitter_<window>.csv``: column ``rps_raw`` (the undamped per-second
    rates, the scale of the pipelines' default ``rate_rps``) when present, else ``rps``
    (``trace_column`` chooses; ``rps`` is IPA's load damped by 8). A *rate point* is a
    percentile q of a window's per-second rates (default q ∈ {5, 50, 95, 100}; 100 = the
    window's peak). A single-flow pipeline is swept over every window × percentile
    (id ``video_cpu@bursty-p95``). In a multi-flow pipeline each flow keeps its own window
    -- the one whose mean rate equals the flow's default ``rate_rps`` (the datasets take
    default rates from window means) -- and every flow gets the q-th percentile of its own
    window (id ``shared_services@own-p95``). If some flow's default rate is no window's
    mean, all flows are scaled by ``pct_q(w) / mean(w)`` for every window w instead
    (id ``…@bursty-x-p95``). SLAs stay as in the files.
``generated:NAME[:COUNT]``
    ``COUNT`` (default 20) instances of the synthetic generator's suite ``NAME``
    (``fa2opt.generate``), drawn with ``--seed``.
a path
    a directory of instance files (``*.json``, ``*.yaml``, ``*.yml``; suite named after
    the directory) or one instance file.
``SUITE+EXT``
    any of the above with extension keys added (spec, Extensions), ``EXT`` one of
    ``capacity``, ``accuracy``, ``switch``, ``combined``: the keys a real deployment would
    have (:mod:`fa2opt.extensions.realistic`: capacities sized from the base optimum,
    accuracy floors from measured accuracies of model variants, the previous window's
    decision as ``current``). Suite named ``SUITE+EXT`` (e.g. ``pipelines+capacity``), ids
    unchanged; instances the set does not apply to (no measured accuracies, an infeasible
    base problem) are left out. ``limit`` picks the subset before the keys are added.

``limit`` keeps a deterministic subset of a suite: ``random.Random(seed).sample`` of its
ids in sorted order, re-sorted -- the same seed and suite give the same instances.
"""

from __future__ import annotations

import importlib
import inspect
import random
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Callable, Iterable, Sequence

import numpy as np

from ..extensions.realistic import EXTENSION_SETS, extended
from ..io import InputError, check_each, check_replicas, load_instance
from ..model import Instance

DATASETS_DIR = Path(__file__).resolve().parents[2] / "datasets"
# the base problem, then the same pipelines with each extension and their combination, and
# generated instances with all of them (issue 14: match rate and decision time per formulation)
DEFAULT_SUITES = ("regression", "pipelines", "pipelines+capacity", "pipelines+accuracy",
                  "pipelines+switch", "pipelines+combined", "generated:mixed:20+combined")
DEFAULT_PERCENTILES = (5.0, 50.0, 95.0, 100.0)
INSTANCE_SUFFIXES = (".json", ".yaml", ".yml")
MEAN_MATCH_RPS = 1e-3  # a flow's default rate "is" a window's mean within this


@dataclass(frozen=True)
class Task:
    """One instance of one suite: what a worker solves with every method."""

    suite: str
    instance_id: str
    instance: Instance

    @property
    def key(self) -> tuple[str, str]:
        return (self.suite, self.instance_id)


# -- traces ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class TraceWindow:
    name: str
    rps: np.ndarray  # per-second request rates

    @property
    def mean(self) -> float:
        return float(np.mean(self.rps))

    def percentile(self, q: float) -> float:
        return float(np.percentile(self.rps, q))


def load_trace_windows(traces_dir: Path, column: str | None = None) -> list[TraceWindow]:
    """Every ``*.csv`` window in ``traces_dir``, sorted by name: the per-second rates of
    ``column`` (default ``rps_raw`` when the file has it, else ``rps``), read and checked
    by :func:`fa2opt.simulate.arrivals.load_trace` (the one trace reader)."""
    from ..simulate.arrivals import load_trace

    windows = []
    for path in sorted(Path(traces_dir).glob("*.csv")):
        try:
            rps = load_trace(path, column or "rps_raw").rates
        except InputError as exc:
            if column or (exc.field, exc.reason) != ("rps_raw", "missing column"):
                raise
            rps = load_trace(path, "rps").rates
        name = path.stem.removeprefix("twitter_")
        windows.append(TraceWindow(name, rps))
    if not windows:
        raise InputError(str(traces_dir), "", "no trace windows (*.csv)")
    return windows


def rate_points(instance: Instance, windows: Sequence[TraceWindow],
                percentiles: Sequence[float]) -> list[tuple[str, dict[str, float]]]:
    """(suffix, {flow: rate}) for each rate point of an instance (rules in the module doc)."""
    points: list[tuple[str, dict[str, float]]] = []
    flows = instance.flows
    if len(flows) == 1:
        for w in windows:
            for q in percentiles:
                points.append((f"{w.name}-p{q:g}", {flows[0].name: w.percentile(q)}))
        return points
    own: dict[str, TraceWindow] = {}
    for f in flows:
        hits = [w for w in windows if abs(w.mean - f.rate_rps) <= MEAN_MATCH_RPS * max(1.0, w.mean)]
        if hits:
            own[f.name] = hits[0]
    if len(own) == len(flows):
        for q in percentiles:
            points.append((f"own-p{q:g}", {f.name: own[f.name].percentile(q) for f in flows}))
        return points
    for w in windows:
        for q in percentiles:
            s = w.percentile(q) / w.mean
            points.append((f"{w.name}-x-p{q:g}", {f.name: f.rate_rps * s for f in flows}))
    return points


# -- suites ----------------------------------------------------------------------------------
def _instance_files(directory: Path) -> list[Path]:
    return sorted(p for p in directory.iterdir() if p.suffix.lower() in INSTANCE_SUFFIXES)


Warn = Callable[[str], None] | None  # receives each warning about a file read (keys ignored)


def directory_suite(name: str, directory: Path, warn: Warn = None) -> list[Task]:
    files = _instance_files(directory)
    if not files:
        raise InputError(str(directory), "", "no instance files (*.json, *.yaml)")
    # every file read before any is solved, every bad one reported (not the first alone)
    return [Task(name, p.stem, inst)
            for p, inst in zip(files, check_each(files, partial(load_instance, warn=warn)))]


def pipelines_suite(datasets: Path, percentiles: Sequence[float],
                    trace_column: str | None = None, warn: Warn = None) -> list[Task]:
    windows = load_trace_windows(datasets / "traces", trace_column)
    tasks = []
    files = _instance_files(datasets / "pipelines")
    for path, inst in zip(files, check_each(files, partial(load_instance, warn=warn))):
        for suffix, rates in rate_points(inst, windows, percentiles):
            if any(r <= 0 for r in rates.values()):
                continue  # a window with idle seconds: no instance at rate 0 (rates must be > 0)
            swept = inst.with_rates(rates=rates)
            # a trace's rate may need more replicas than a row may have: refused here naming
            # the instance, node and rate point, not once solving, naming none
            check_replicas(swept, f"{path} at {suffix} of {datasets / 'traces'}")
            tasks.append(Task("pipelines", f"{path.stem}@{suffix}", swept))
    return tasks


def generated_suite(name: str, count: int, seed: int) -> list[Task]:
    """Instances from the synthetic generator (``fa2opt.generate``), when it is present."""
    try:
        gen = importlib.import_module("fa2opt.generate")
    except ModuleNotFoundError:
        raise InputError(f"generated:{name}", "", "the generator (fa2opt.generate) is not present") from None
    fn = getattr(gen, "generate_suite", None)
    if fn is None:
        raise InputError(f"generated:{name}", "", "fa2opt.generate has no generate_suite()")
    params = inspect.signature(fn).parameters
    kwargs = {k: v for k, v in (("count", count), ("seed", seed)) if k in params}
    try:
        instances = list(fn(name, **kwargs))
    except (KeyError, ValueError) as exc:
        # (a KeyError's str() is its message in quotes)
        raise InputError(f"generated:{name}", "", str(exc.args[0] if exc.args else exc)) from None
    suite = f"generated-{name}"
    return [Task(suite, inst.name or f"{i:04d}", inst) for i, inst in enumerate(instances)]


def subset(tasks: list[Task], limit: int | None, seed: int) -> list[Task]:
    """A deterministic subset of at most ``limit`` tasks (all when ``limit`` is None)."""
    if limit is None or len(tasks) <= limit:
        return tasks
    ids = sorted(t.instance_id for t in tasks)
    keep = set(random.Random(seed).sample(ids, limit))
    return [t for t in tasks if t.instance_id in keep]


def load_suite(spec: str, *, datasets: Path = DATASETS_DIR, seed: int = 0,
               percentiles: Sequence[float] = DEFAULT_PERCENTILES,
               limit: int | None = None, trace_column: str | None = None,
               warn: Warn = None) -> list[Task]:
    """The tasks of one suite spec (see the module doc); InputError if it cannot be read.
    ``warn``: receives each warning about an instance file read (as ``load_instance``'s)."""
    base, plus, which = spec.rpartition("+")
    if plus and which in EXTENSION_SETS:
        return extended_suite(load_suite(base, datasets=datasets, seed=seed,
                                         percentiles=percentiles, limit=limit,
                                         trace_column=trace_column, warn=warn), which)
    datasets = Path(datasets)
    if spec == "regression":
        directory = datasets / "suites" / "regression"
        if not directory.is_dir():
            raise InputError(str(directory), "", "regression suite not found")
        tasks = directory_suite("regression", directory, warn)
    elif spec == "pipelines":
        tasks = pipelines_suite(datasets, percentiles, trace_column, warn)
    elif spec.startswith("generated:"):
        parts = spec.split(":")
        try:
            count = int(parts[2]) if len(parts) > 2 else 20
        except ValueError:
            raise InputError(spec, "count", f"not an integer ({parts[2]!r})") from None
        tasks = generated_suite(parts[1], count, seed)
    else:
        path = Path(spec)
        if path.is_dir():
            tasks = directory_suite(path.name, path, warn)
        elif path.is_file():
            tasks = [Task(path.parent.name or "files", path.stem,
                          load_instance(path, warn=warn))]
        else:
            raise InputError(spec, "suite", "unknown suite (regression, pipelines, "
                             "generated:NAME[:COUNT], or a directory/file of instances; "
                             f"each optionally +{'|+'.join(EXTENSION_SETS)})")
    ids = [t.key for t in tasks]
    if len(set(ids)) != len(ids):
        dup = next(k for k in ids if ids.count(k) > 1)
        raise InputError(spec, "suite", f"duplicate instance id {dup[1]!r}")
    return subset(tasks, limit, seed)


def extended_suite(tasks: Sequence[Task], which: str) -> list[Task]:
    """``tasks`` with the extension keys of set ``which`` (suite ``<suite>+<which>``)."""
    out = []
    for t in tasks:
        inst = extended(t.instance, which)
        if inst is not None:
            out.append(Task(f"{t.suite}+{which}", t.instance_id, inst))
    return out


def load_suites(specs: Iterable[str], **kwargs) -> list[Task]:
    """The tasks of every suite; InputError(s) naming every suite or file that cannot be read."""
    return [t for tasks in check_each(specs, lambda spec: load_suite(spec, **kwargs))
            for t in tasks]
