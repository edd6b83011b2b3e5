"""Instance builders shared by several test modules (kept here so each exists once)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np

from fa2opt.model import Instance


def shared_instances(count: int, seed: int, **sizes) -> list[Instance]:
    """Flows over windows of one graph (scripts/bench_decision.py's builder)."""
    spec = importlib.util.spec_from_file_location(
        "bench_decision", Path(__file__).resolve().parents[1] / "scripts" / "bench_decision.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return [mod.shared_instance(np.random.default_rng([seed, i]), f"shared-{i}", **sizes)
            for i in range(count)]
