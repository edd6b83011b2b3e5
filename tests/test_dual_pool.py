"""The pool of multipliers of the flow-bound search (fa2opt.reductions.flow_bound.DualPool,
LPSearch.pooled): several y's bounds computed at once are each y's own to the bit, and what
the pool prunes or fixes at a search node never holds a fixing that beats the incumbent
(brute force over every coupling fixing of small searches)."""

from __future__ import annotations

import random
import sys

import numpy as np

from fa2opt.reductions.flow_bound import DualPool

from test_flow_bound import _small_searches  # noqa: E402  (tests/test_flow_bound.py)

FB = sys.modules["fa2opt.reductions.flow_bound"]


def _multipliers(s, rng: np.random.Generator, count: int) -> list[tuple]:
    """``count`` y of the search's LP: (1) at non-negative duals made conservative by
    :meth:`FlowLP.flow_weights` (any such y bounds), the root LP's first."""
    sol = s.lp.solve(np.ones(s.lp.n_lam))
    duals = sol[1]
    ys = [s.lp.flow_weights(duals)]
    while len(ys) < count:
        noisy = duals * rng.uniform(0, 3, duals.size) + rng.exponential(0.5, duals.size)
        ys.append(s.lp.flow_weights(noisy))
    return ys


def _random_masks(s, rng: random.Random) -> tuple[int, ...]:
    return tuple(rng.randrange(1, 1 << (b - a)) if i < s.n_c and rng.random() < 0.6
                 else (1 << (b - a)) - 1 for i, (a, b) in enumerate(s.wcols))


def test_pooled_bounds_are_each_multipliers_own_to_the_bit():
    """:meth:`FlowLP.bound` on K stacked y (rows) gives, row by row, exactly what K calls
    on one y give (the bound, every column's value, every node's minimum), and so does
    the reduced costs' rounding allowance."""
    rng, nprng = random.Random(21), np.random.default_rng(21)
    checked = 0
    for s, _, _ in _small_searches(21, 40):
        ys = _multipliers(s, nprng, 5)
        pool = DualPool(len(s.lp.nodes), s.lp.n_lam, size=4)
        for y in ys:  # five into four rows: the first kept, the oldest of the others replaced
            pool.add(y)
        assert pool.size == 4
        ub = s.upper_bounds(_random_masks(s, rng))
        raw, val, mins = s.lp.bound(*pool.weights()[:2], ub, pool.weights()[2])
        slack = s.lp.reduced_slack(val, mins)
        for row, y in enumerate([ys[0], ys[4], ys[2], ys[3]]):
            one_raw, one_val, one_mins = s.lp.bound(y[0], y[1], ub)
            assert raw[row] == one_raw
            assert np.array_equal(val[row], one_val) and np.array_equal(mins[row], one_mins)
            assert np.array_equal(slack[row], s.lp.reduced_slack(one_val, one_mins))
        checked += 1
    assert checked >= 20


def test_the_pool_never_drops_a_fixing_that_beats_the_incumbent():
    """At random search nodes of small searches, with an incumbent at every fixing's exact
    value in turn: :meth:`LPSearch.pooled` prunes the node only when no fixing inside it is
    cheaper than the incumbent, and its narrowed masks keep every such fixing. It does
    prune and fix some (the test would pass vacuously otherwise)."""
    rng, nprng = random.Random(22), np.random.default_rng(22)
    checked = pruned = fixed = 0
    for s, _, values in _small_searches(22, 60):
        for y in _multipliers(s, nprng, 6):
            s.pool.add(y)
        feasible = sorted({v for v in values.values() if v is not None})
        for _ in range(6):
            masks = _random_masks(s, rng)
            inside = {p: v for p, v in values.items()
                      if all((m >> k) & 1 for m, k in zip(masks, p))}
            for best in feasible:
                s.exact.best = best
                got = s.pooled(masks, -np.inf)
                better = [p for p, v in inside.items() if v is not None and v < best - s.tol()]
                if got is None:
                    assert not better, (masks, best, better)
                    pruned += 1
                    continue
                for p in better:
                    assert all((m >> k) & 1 for m, k in zip(got, p)), (masks, got, p, best)
                fixed += got != masks
                checked += 1
    assert checked >= 200 and pruned >= 20 and fixed >= 20, (checked, pruned, fixed)


def test_no_pool_without_an_incumbent_or_when_switched_off(monkeypatch):
    """Nothing to compare a bound with before the first incumbent: the masks as they are;
    ``POOL_SIZE`` 0: no pool at all."""
    nprng = np.random.default_rng(23)
    for s, _, _ in _small_searches(23, 10):
        for y in _multipliers(s, nprng, 3):
            s.pool.add(y)
        s.exact.best = np.inf
        masks = tuple((1 << (b - a)) - 1 for a, b in s.wcols)
        assert s.pooled(masks, -np.inf) is masks
        break
    monkeypatch.setattr(FB, "POOL_SIZE", 0)
    for s, _, _ in _small_searches(23, 10):
        assert s.pool is None
        masks = tuple((1 << (b - a)) - 1 for a, b in s.wcols)
        assert s.pooled(masks, -np.inf) is masks
        break
