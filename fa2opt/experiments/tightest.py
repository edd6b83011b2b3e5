"""``fa2-grid-tightest``: FA2's grid DP per flow, shared nodes by the tightest flow's choice.

The closest reproduction we can build of how FA2's 96.8 % could arise (issue 15, item 5).
The authors' public optimum model (saeid93/sponge ``optimizer/gurobi_kamran.py``) gives
each microservice the tightest SLA of the paths through it (``ms_limits``) and sums the
workloads of those paths; the DP it was compared with is not public. This method applies the
same simple per-node rule to the decision instead of searching the coupling:

1. each flow is solved alone by the grid DP (``fa2-grid``, step ``grid_ms``) over its own
   nodes, every node at its full rate λ_v (all flows through it: the tables are the
   instance's), so a flow's decision is costed as the shared deployment would be;
2. a node shared by several flows takes the **fastest** (least L, then first in the table)
   of its flows' choices — the tightest decision.

Every flow still meets its SLA (its latency only falls when a node gets faster), so the
decision is valid, but the coupling is not searched: the answer is ``feasible`` (it proves
nothing) and may cost more than the optimum — how often is what the experiment measures.
"""

from __future__ import annotations

from typing import Any

from ..grid import GridSolver
from ..problem import Problem
from ..solver import Decision, Solver


class TightestGridSolver(Solver):
    """``fa2-grid-tightest`` (options ``grid_ms``, ``device`` as ``fa2-grid``)."""

    name = "fa2-grid-tightest"

    def __init__(self, **options: Any):
        super().__init__(**options)
        self._grid = GridSolver(**options)

    @classmethod
    def option_names(cls) -> tuple[str, ...]:
        return GridSolver.option_names()

    def decide(self, problem: Problem) -> Decision:
        if not problem.is_feasible():  # the spec's exact test, as every method
            return Decision("infeasible")
        picks: dict[str, list[int]] = {}
        for g in problem.flows:
            alone = Problem(problem.instance, {v: problem.tables[v] for v in g.nodes}, (g,))
            d = self._grid.decide(alone)
            if d.choice is None:
                return Decision("no_solution", message=f"fa2-grid-tightest: flow {g.name!r}: "
                                f"{d.message or d.status}")
            for v, k in d.choice.items():
                picks.setdefault(v, []).append(int(k))
        choice = {v: min(ks, key=lambda k: (problem.tables[v].lists[2][k], k))
                  for v, ks in picks.items()}
        if not problem.meets_slas(choice):  # cannot happen (monotone latency); a safety net
            return Decision("no_solution", message="fa2-grid-tightest: merged decision breaks an SLA")
        disagree = sum(1 for ks in picks.values() if len(set(ks)) > 1)
        return Decision("feasible", choice, extra={"grid_ms": self._grid.options.get("grid_ms"),
                                                   "shared_nodes": sum(len(ks) > 1 for ks in picks.values()),
                                                   "disagreeing_nodes": disagree})
