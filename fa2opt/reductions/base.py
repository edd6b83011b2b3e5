"""The reduction protocol (in the style of cvxpy's reductions).

A :class:`Reduction` turns a problem into a simpler one and remembers what it needs to map
a solution of the simpler problem back::

    simpler, inverse_data = step.apply(problem)
    ...                                    # solve `simpler`
    solution = step.invert(simpler_solution, inverse_data)

:class:`Chain` applies several steps in order and inverts them in reverse order. In this
package a *solution* is always a choice ``{node name: index}``; what the index points into
(the node's configuration table, or its Pareto-pruned candidate list) is the business of
the step that maps it.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, Mapping, Sequence

Choice = Mapping[str, int]


class Reduction(ABC):
    """One transformation step: ``apply`` simplifies, ``invert`` maps a solution back."""

    @abstractmethod
    def apply(self, problem: Any) -> tuple[Any, Any]:
        """Return ``(simpler problem, inverse data)``."""

    @abstractmethod
    def invert(self, solution: Choice, inverse_data: Any) -> dict[str, int]:
        """Map a solution of the simpler problem to one of the problem given to ``apply``."""


class Chain(Reduction):
    """Several reductions applied in order; inverted in reverse order."""

    def __init__(self, steps: Sequence[Reduction]):
        self.steps = tuple(steps)

    def apply(self, problem: Any) -> tuple[Any, list[Any]]:
        inverse = []
        for step in self.steps:
            problem, data = step.apply(problem)
            inverse.append(data)
        return problem, inverse

    def invert(self, solution: Choice, inverse_data: list[Any]) -> dict[str, int]:
        out = dict(solution)
        for step, data in zip(reversed(self.steps), reversed(inverse_data)):
            out = step.invert(out, data)
        return out
