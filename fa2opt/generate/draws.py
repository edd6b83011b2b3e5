"""Random draws shared by the generator's modules (all from a ``numpy.random.Generator``)."""

from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np

from .shapes import Pick


def log_uniform(rng: np.random.Generator, lo: float, hi: float) -> float:
    """A draw log-uniform in ``[lo, hi]`` (``lo, hi > 0``)."""
    return math.exp(rng.uniform(math.log(lo), math.log(hi)))


def rng_pick(rng: np.random.Generator) -> Pick:
    """The ``pick(lo, hi)`` of the shape builders over ``rng`` (both ends inclusive)."""
    return lambda lo, hi: int(rng.integers(lo, hi + 1))


def choice(rng: np.random.Generator, options: Sequence, weights: Sequence[float] | None = None) -> Any:
    """One of ``options``: uniform, or proportional to ``weights`` when given."""
    if weights is None:
        return options[int(rng.integers(len(options)))]
    w = np.asarray(weights, dtype=float)
    return options[int(rng.choice(len(options), p=w / w.sum()))]
