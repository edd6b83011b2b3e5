"""``run.json``: what produced an experiment's outputs, so a figure can be traced and rerun.

Git revision and dirty flag of the working tree the code ran from, the resolved config and
its hash, seeds, package versions, the machine, start/end times and wall time.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import platform
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any, Mapping

from .config import REPO, config_hash

PACKAGES = ("numpy", "pandas", "pyarrow", "matplotlib", "pyyaml", "numba", "pyomo", "highspy",
            "dask", "distributed")


def _git(*args: str) -> str | None:
    try:
        out = subprocess.run(["git", "-C", str(REPO), *args], capture_output=True, text=True,
                             timeout=20, check=True)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip()


def git_state() -> dict[str, Any]:
    """Revision of HEAD and whether tracked or untracked files differ from it."""
    rev = _git("rev-parse", "HEAD")
    status = _git("status", "--porcelain")
    return {"revision": rev, "dirty": None if status is None else bool(status)}


def versions() -> dict[str, str | None]:
    out: dict[str, str | None] = {"python": platform.python_version()}
    for p in PACKAGES:
        try:
            out[p] = metadata.version(p)
        except metadata.PackageNotFoundError:
            out[p] = None
    return out


def cpu_model() -> str | None:
    """The CPU's model name (Linux: /proc/cpuinfo; elsewhere ``platform.processor()``, which
    is empty on Linux). Timings differ by CPU, and before the search's dot products left
    BLAS (:func:`fa2opt.spec.dot`) so could its node counts (docs/fa2.md)."""
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip() or None
    except OSError:
        pass
    return platform.processor() or None


def machine() -> dict[str, Any]:
    return {"node": platform.node(), "system": platform.system(), "release": platform.release(),
            "machine": platform.machine(), "processor": cpu_model(), "cpus": os.cpu_count()}


def now_utc() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


def write_run_json(path: Path, config: Mapping[str, Any], *, started: str, git: Mapping[str, Any],
                   wall_s: float, outputs: list[str], counts: Mapping[str, Any],
                   workers: int | None, scheduler: str | None) -> dict[str, Any]:
    """Write ``run.json`` and return its contents; ``git`` is :func:`git_state` taken when
    the run started (the code that ran, not whatever is checked out when it ends)."""
    body = {
        "experiment": config["name"], "kind": config["kind"], "profile": config["profile"],
        "config_path": config["config_path"], "config_sha256": config_hash(config),
        "config": {k: v for k, v in config.items() if k != "config_path"},
        "seeds": list(config.get("seeds", [])),
        "git": dict(git), "versions": versions(), "machine": machine(),
        "command": [Path(sys.argv[0]).name, *sys.argv[1:]],
        "workers": workers, "scheduler": scheduler,
        "started_utc": started, "finished_utc": now_utc(), "wall_s": round(wall_s, 3),
        "counts": dict(counts), "outputs": sorted(outputs),
    }
    path.write_text(json.dumps(body, indent=2, default=str) + "\n", encoding="utf-8")
    return body
