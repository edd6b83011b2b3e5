"""FA2's graph transformation as a chain of reductions, and the exact search it feeds.

Usage alone, cvxpy-style (what ``fa2-grid`` does with its own arithmetic; ``fa2`` runs the
same steps through a plan compiled once per structure, :mod:`fa2opt.plan`)::

    from fa2opt.problem import Problem
    from fa2opt.reductions import Chain, ParetoPrune, SeriesParallel, Decouple, search
    from fa2opt.pareto import EXACT_FRONTS

    chain = Chain([ParetoPrune(), SeriesParallel(), Decouple()])
    dp, inverse = chain.apply(problem)          # DecoupledProblem
    result = search(dp, EXACT_FRONTS)           # None: infeasible
    positions = chain.invert(result.choice, inverse)   # {node: table position}

Steps (each ``apply(problem) -> (simpler, inverse data)``, ``invert(solution, data)``):

* :class:`ParetoPrune` (``pruning``): per node, the Pareto-optimal rows that can meet the
  SLAs -> :class:`Candidates` (fastest first). Solutions: candidate index -> table position.
* :class:`SeriesParallel` (``sp_decompose``): each flow -> an :class:`SPFlow` whose
  expression tree (``sptree``: Leaf/Delay/Series/Parallel) equals its longest path; non-SP
  flows are made SP by node reduction (duplicated leaves), after the edges another path
  dominates are dropped (``transitive``: the same longest path, bit for bit). Cached per
  graph structure.
* :class:`Decouple` (``decouple``): names the coupling nodes (shared by flows or
  duplicated) -> :class:`DecoupledProblem`.
* :func:`search` (``search``): branch and bound over the coupling nodes' candidates with a
  pluggable arithmetic (:class:`fa2opt.arithmetic.Arithmetic`, or a plain
  :class:`RemainderSolver`) for each flow's independent SP remainder.
"""

from .base import Chain, Choice, Reduction
from .decouple import DecoupledProblem, Decouple
from .pruning import Candidates, ParetoPrune, PrunedProblem, front_rows, latency_limits
from .search import RemainderSolver, SearchResult, search
from .sp_decompose import (SPFlow, SPProblem, SeriesParallel, clear_cache, decompose,
                           flow_decomposition, flow_tree, leaf_counts)
from .sptree import Delay, Leaf, Parallel, Series, SPTree, evaluate, fold, leaves, substitute

__all__ = ["Chain", "Choice", "Reduction", "DecoupledProblem", "Decouple", "Candidates",
           "ParetoPrune", "PrunedProblem", "front_rows", "latency_limits", "RemainderSolver",
           "SearchResult", "search", "SPFlow", "SPProblem", "SeriesParallel", "clear_cache",
           "decompose", "flow_decomposition", "flow_tree", "leaf_counts", "Delay", "Leaf", "Parallel", "Series",
           "SPTree", "evaluate", "fold", "leaves", "substitute"]
