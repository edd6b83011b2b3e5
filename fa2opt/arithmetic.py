"""The DP's arithmetic as a declared object: what a plan solves its pieces with.

The transformation (:mod:`fa2opt.plan`) and the coupling search
(:func:`fa2opt.reductions.search.search`) do not depend on how a series-parallel remainder is
solved. That is the *arithmetic*: exact (latency, cost) Pareto fronts
(:data:`fa2opt.pareto.EXACT_FRONTS`) or FA2's grid of Δ ms on a numpy/CuPy backend
(:func:`fa2opt.grid.coupling.grid_arithmetic`). An :class:`Arithmetic` names it and declares
what it can do, so callers read capabilities instead of probing the solver:

* ``remainder`` -- the :class:`~fa2opt.reductions.search.RemainderSolver`
  ``(tree, budget_ms, candidates, fixed, weight) -> (cost, {leaf: candidate}) | None``;
* ``prices`` -- ``weight[v]`` may be a sequence of per-candidate prices replacing v's costs
  (any reals); the search then bounds by the Lagrangian cost split, else by the equal split;
* ``flat`` -- a sweep for *flat* single flows (:func:`~fa2opt.reductions.sptree.flat_shape`)
  on the candidate lists, ``flat(series lists, fork lists, budget) -> (cost, series
  indices, fork indices) | None | NOT_FLAT`` (NOT_FLAT: it declines; the remainder decides);
  None when the arithmetic has none (the plan then calls ``remainder``);
* ``exact`` -- the remainder's value is the optimum of its arithmetic (an inexact one makes
  the search a heuristic);
* ``fronts`` -- the remainder is the exact Pareto DP of :mod:`fa2opt.pareto`: the coupling
  search may evaluate a small coupling space on its fronts, sharing what does not depend on
  the fixing (:mod:`fa2opt.reductions.fixing`);
* ``value`` -- the same remainder returning its value with an empty choice, where that is
  cheaper (the grid DP without its backtracking); the equal split's bounds read only
  values. None: the search calls ``remainder``.
* ``tree`` -- a compiled DP of a plan's component in the same arithmetic (its flows' trees,
  its coupling nodes' candidates enumerated), ``tree(program, packed, budgets, candidates)
  -> (cost, {node: table position}) | None | DECLINED`` (:func:`fa2opt.tree_kernel.solve`;
  ``candidates`` None: it finds them): a plan decides by one call of it per component;
  DECLINED (no kernel, fronts too large, too many combinations): the plan's steps decide.
* ``compile`` -- the remainder compiled once per tree, for the coupling search, which solves
  each flow's tree at every search node with other fixings and prices:
  ``compile(tree, candidates) -> solve(budget_ms, fixed, weight) | None``, ``solve``
  answering as ``remainder`` on that tree, or DECLINED (then ``remainder`` decides); None
  where it does not run now (:func:`fa2opt.tree_kernel.compile_remainder`: only where the
  compiled kernels are warmed up in the process).

An ``Arithmetic`` is itself callable as its remainder solver, so it can be passed wherever a
plain remainder function was; a plain function is taken as an arithmetic that declares
nothing (:func:`as_arithmetic`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping


DECLINED = object()  # a compiled solve's answer where it declines (``tree``, ``compile``)


@dataclass(frozen=True)
class Arithmetic:
    """A curve arithmetic and its declared capabilities (see the module docstring)."""

    name: str
    remainder: Callable[..., Any]
    prices: bool = False
    flat: Callable[..., Any] | None = None
    exact: bool = True
    value: Callable[..., Any] | None = None
    fronts: bool = False
    tree: Callable[..., Any] | None = None
    compile: Callable[..., Any] | None = None

    def __call__(self, tree: Any, budget_ms: float, candidates: Mapping[str, Any],
                 fixed: Mapping[str, int] | None = None,
                 weight: Mapping[str, Any] | None = None) -> tuple[float, dict[str, int]] | None:
        return self.remainder(tree, budget_ms, candidates, fixed, weight)


def as_arithmetic(remainder: Any) -> Arithmetic:
    """``remainder`` itself when it is an :class:`Arithmetic`; a plain remainder function
    becomes one that declares no capability (equal split, no flat sweep)."""
    if isinstance(remainder, Arithmetic):
        return remainder
    return Arithmetic("remainder", remainder)
