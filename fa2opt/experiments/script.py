"""``kind: script`` — one of the project's existing entry points run as an experiment.

The main job (``fa2opt compare``), the baselines' savings, the trace simulation, the
simulator options report and the benchmarks already have a script each, and their docs run
those scripts; rather than a second implementation per figure, a ``script`` config names
the entry point and the argument lists of its runs, and this module calls that entry
point's ``main(argv)`` in process (same code, same outputs). Each run writes into its own
sub-folder (``{out}`` in the arguments is replaced by it) and its stdout is kept as
``stdout.txt``, so printed tables (the benchmarks') are recorded too; the experiment's
``runs`` table, ``summary.md`` and ``run.json`` are written as for every kind.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import io
import sys
import time
from pathlib import Path
from types import ModuleType
from typing import Any, Callable, Mapping, Sequence

import pandas as pd

from ..io import InputError
from .config import REPO

# entry -> (module or script path relative to the repository, fixed leading arguments)
ENTRIES: dict[str, tuple[str, tuple[str, ...]]] = {
    "compare": ("fa2opt.cli", ("compare",)),
    "baselines": ("scripts/compare_baselines.py", ()),
    "trace": ("scripts/evaluate_trace.py", ()),
    "simulator-options": ("scripts/simulator_options.py", ()),
    "extensions-bench": ("scripts/bench_extensions.py", ()),
    "decision-bench": ("scripts/bench_decision.py", ()),
    "kernel-bench": ("scripts/bench_kernel.py", ()),
    "milp-bench": ("formulations.bench", ()),
    "stress": ("scripts/stress_families.py", ()),
}
STDOUT_TAIL = 60  # lines of a run's stdout quoted in summary.md


def command(entry: str) -> str:
    """The entry point as the docs write its command line."""
    target, lead = ENTRIES[entry]
    if target.endswith(".py"):
        return f"python {target}"
    if target == "fa2opt.cli":
        return " ".join(["python -m fa2opt", *lead])
    return " ".join([f"python -m {target}", *lead])


def _load(target: str) -> ModuleType:
    """The entry point's module: a package module by name, or a script under ``scripts/``
    loaded from its file (registered under its stem so process pools can pickle its
    functions)."""
    if not target.endswith(".py"):
        return importlib.import_module(target)
    path = REPO / target
    name = path.stem
    mod = sys.modules.get(name)
    if mod is not None and Path(getattr(mod, "__file__", "") or "").resolve() == path.resolve():
        return mod
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return mod


def entry_main(entry: str) -> Callable[[Sequence[str]], int]:
    """``argv -> exit code`` of one entry point (its fixed leading arguments included)."""
    target, lead = ENTRIES[entry]
    main = _load(target).main

    def call(argv: Sequence[str]) -> int:
        try:
            return int(main([*lead, *argv]) or 0)
        except SystemExit as exc:  # argparse rejects bad arguments by exiting (code 2)
            return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)

    return call


def run(config: Mapping[str, Any], folder: Path, workers: int | None) -> pd.DataFrame:
    """Run every ``runs`` item of a script config into ``folder/RUN``; one row per run."""
    main = entry_main(config["entry"])
    rows = []
    for i, item in enumerate(config["runs"]):
        sub = folder / item["name"]
        sub.mkdir(parents=True, exist_ok=True)
        argv = [a.replace("{out}", str(sub)) for a in item["args"]]
        if workers is not None and config.get("workers_arg"):
            argv += [config["workers_arg"], str(workers)]
        buf = io.StringIO()
        t0 = time.perf_counter()
        with contextlib.redirect_stdout(buf):
            rc = main(argv)
        wall = time.perf_counter() - t0
        (sub / "stdout.txt").write_text(buf.getvalue(), encoding="utf-8")
        if rc != 0:
            raise InputError(config["config_path"], f"runs[{i}]",
                             f"{config['entry']} {' '.join(item['args'])} exited with {rc}")
        rows.append({"run": item["name"], "entry": config["entry"], "args": " ".join(item["args"]),
                     "wall_s": round(wall, 3), "files": sum(1 for p in sub.rglob("*") if p.is_file())})
    return pd.DataFrame(rows)


def summary(config: Mapping[str, Any], folder: Path, runs: pd.DataFrame) -> str:
    """Per run: its command, wall time, and its own ``summary.md`` where it wrote one, else
    the tail of its stdout."""
    cmd = command(config["entry"])
    parts = []
    for _, r in runs.iterrows():
        sub = folder / r["run"]
        own = sub / "summary.md"
        body = own.read_text(encoding="utf-8") if own.is_file() else (
            "```\n" + "\n".join((sub / "stdout.txt").read_text(encoding="utf-8").splitlines()[-STDOUT_TAIL:])
            + "\n```\n")
        parts.append(f"## {r['run']}\n\n`{cmd} {r['args']}` ({r['wall_s']:.1f} s)\n\n{body}\n")
    return "\n".join(parts)
