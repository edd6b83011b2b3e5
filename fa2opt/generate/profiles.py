"""Node profiles for the generator: subsets of measured CSVs and synthetic Amdahl profiles.

Measured profiles are rows of the CSVs under ``datasets/profiles/`` (else the spec's
example CSV), a random subset with latencies scaled; synthetic ones follow Amdahl's law
with noise on a batch x cores CPU grid, some with a GPU option (:func:`amdahl_profile`).
"""

from __future__ import annotations

import math
from dataclasses import replace
from functools import lru_cache
from pathlib import Path
from typing import Sequence

import numpy as np

from ..io import instance_from_dict
from ..model import Config
from .draws import log_uniform

_REPO = Path(__file__).resolve().parents[2]
PROFILE_DIRS = (_REPO / "datasets" / "profiles",)
FALLBACK_PROFILES = (_REPO.parent / "shared" / "spec" / "examples" / "resnet50_cpu.csv",)

AMDAHL_BATCHES = (1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64)
AMDAHL_CORES = tuple(range(1, 17))
GPU_BATCHES = (1, 2, 4, 8, 16, 32, 64, 128)
# cost per unit before a per-instance perturbation (cpu = 1 core is the unit of cost)
BASE_PRICES = {"cpu": 1.0, "gpu": 8.0, "cpu-whole": 8.0, "gpu-pascal": 6.0, "gpu-ampere": 10.0}
LATENCY_DECIMALS = 4


def measured_profile_files(dirs: Sequence[Path] = PROFILE_DIRS,
                           fallback: Sequence[Path] = FALLBACK_PROFILES) -> tuple[Path, ...]:
    """The measured profile CSVs to draw from: every ``*.csv`` of the first directory that
    has some (sorted by name, so choices are reproducible), else the existing fallbacks."""
    for d in dirs:
        files = sorted(Path(d).glob("*.csv"))
        if files:
            return tuple(files)
    return tuple(f for f in fallback if Path(f).is_file())


@lru_cache(maxsize=None)
def read_profile(path: Path) -> tuple[Config, ...]:
    """A profile CSV's rows, validated by the core loader (:mod:`fa2opt.io`)."""
    path = Path(path)
    doc = {"rate_rps": 1, "sla_ms": 1, "nodes": [{"name": "profile", "profile": path.name}]}
    inst = instance_from_dict(doc, source=str(path), base_dir=path.parent)
    return inst.nodes[0].configs


def _subset(rng: np.random.Generator, rows: Sequence[Config], k: int) -> list[Config]:
    """``k`` of ``rows`` without replacement, in their original order."""
    k = min(k, len(rows))
    keep = sorted(int(i) for i in rng.choice(len(rows), size=k, replace=False))
    return [rows[i] for i in keep]


def amdahl_profile(rng: np.random.Generator, k: int, gpu: bool) -> list[Config]:
    """``k`` synthetic rows (a subset of a CPU grid plus, when ``gpu``, a GPU option).

    CPU (Amdahl's law): ``p(b, c) = (a + s·b) · ((1 − f) + f / c) · ε`` for batch b on c
    cores, fixed per-batch overhead a ~ logU(2, 50) ms, per-request work s ~ a·U(0.3, 1.5),
    parallel fraction f ~ U(0.6, 0.97), noise ε = exp(N(0, 0.04)). More cores cost more
    and help less and less; bigger batches need fewer replicas but take longer: long
    cost/latency Pareto fronts. GPU (1 unit, higher price): ``p(b) = (a_g + s_g·b)·ε`` with
    a_g = a·U(0.15, 0.4) and s_g = s·U(0.03, 0.12) (cheap batching). Grid:
    :data:`AMDAHL_BATCHES` × :data:`AMDAHL_CORES` (192 rows) + :data:`GPU_BATCHES` (8)."""
    a = log_uniform(rng, 2.0, 50.0)
    s = a * rng.uniform(0.3, 1.5)
    f = rng.uniform(0.6, 0.97)
    rows = []
    for b in AMDAHL_BATCHES:
        for c in AMDAHL_CORES:
            p = (a + s * b) * ((1 - f) + f / c) * math.exp(rng.normal(0.0, 0.04))
            rows.append(Config(b, "cpu", float(c), _round_latency(p)))
    if gpu:
        ag, sg = a * rng.uniform(0.15, 0.4), s * rng.uniform(0.03, 0.12)
        for b in GPU_BATCHES:
            p = (ag + sg * b) * math.exp(rng.normal(0.0, 0.04))
            rows.append(Config(b, "gpu", 1.0, _round_latency(p)))
    if gpu and k >= 3:  # keep some GPU rows in the subset so the option is really there
        cpu_rows, gpu_rows = rows[:-len(GPU_BATCHES)], rows[-len(GPU_BATCHES):]
        g_lo = max(1, k - len(cpu_rows))
        g = int(rng.integers(g_lo, max(g_lo, min(len(gpu_rows), k // 3)) + 1))
        return _subset(rng, cpu_rows, k - g) + _subset(rng, gpu_rows, g)
    return _subset(rng, rows, k)


def _round_latency(p: float) -> float:
    return max(round(p, LATENCY_DECIMALS), 10.0 ** -LATENCY_DECIMALS)


def measured_profile(rng: np.random.Generator, k: int, path: Path) -> tuple[list[Config], float]:
    """``k`` rows of a measured profile CSV, latencies scaled by a factor ~ logU(0.5, 2)
    (returned with the rows)."""
    scale = round(log_uniform(rng, 0.5, 2.0), 3)
    rows = [replace(c, latency_ms=_round_latency(c.latency_ms * scale))
            for c in _subset(rng, read_profile(path), k)]
    return rows, scale


def reference_capacity(configs: Sequence[Config]) -> float:
    """Median per-replica capacity 1000·b/p (req/s) over a node's rows."""
    return float(np.median([1000.0 * c.batch / c.latency_ms for c in configs]))
