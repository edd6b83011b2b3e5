"""``accuracy``: model variants with per-flow accuracy floors and an IPA-style objective.

Declared in the shared vocabulary (:mod:`fa2opt.extensions.accuracy`: product floors as
per-flow budgets of −ln a, min floors as row filters, the weight as a row term −w·a); the
model is built from it by :mod:`formulations.extended`, and fa2 solves the same declaration.
This formulation honours only the ``accuracy`` key.
"""

from __future__ import annotations

from typing import Mapping

from fa2opt.extensions import accuracy as _accuracy
from fa2opt.problem import Problem

from .extended import formulation


def flow_accuracy(problem: Problem, choice: Mapping[str, int]) -> dict[str, float]:
    """Each flow's aggregate accuracy (fraction) under a choice of table positions, per the
    instance's settings (for reports and tests)."""
    inst = problem.instance
    rows = {v: problem.tables[v].lists[0][k] for v, k in choice.items()}
    return _accuracy.flow_accuracy(inst, _accuracy.parse(inst), rows)


FORMULATION = formulation(
    "accuracy", "base + model variants: per-flow accuracy floor (product via Σ log, or min) "
                "and an optional IPA-style cost − w·accuracy objective (instance key "
                "'accuracy')")
