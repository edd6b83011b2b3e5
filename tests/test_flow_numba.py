"""The flow-bound search's compiled passes (fa2opt.reductions.flow_numba) equal the Python
loops bit for bit (start/tail per slot, and greedy slack filling's moves), and the leaf counts
without unfolding (fa2opt.reductions.sptree.count_leaves) equal an unfolding count."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from fa2opt import cpu_kernels
from fa2opt.generate import FAMILIES
from fa2opt.pareto import pareto_remainder
from fa2opt.reductions import flow_bound as FB
from fa2opt.reductions.flow_bound import LPSearch
from fa2opt.reductions.sptree import count_leaves, leaves

from test_flow_bound import decoupled, drawn_instance  # noqa: E402  (tests/test_flow_bound.py)

needs_numba = pytest.mark.skipif(not cpu_kernels.available(), reason="Numba not available")


def _searches():
    """LPSearch objects of small drawn instances and of generated non-SP / shared graphs
    (edge delays, several flows over shared nodes)."""
    out = []
    insts = [drawn_instance(s, s % 2 == 0, max_nodes=9) for s in range(12)]
    insts += [FAMILIES["random"].generator(np.random.default_rng(s), 30) for s in range(2)]
    insts += [FAMILIES["shared-large"].generator(np.random.default_rng(s), 30, 3) for s in range(2)]
    insts += [FAMILIES["lattice"].generator(np.random.default_rng(0), 4, 5)]
    for inst in insts:
        _, dp = decoupled(inst)
        if not dp.coupling or any(f.graph is None for f in dp.flows):
            continue
        out.append(LPSearch(dp, [f.graph for f in dp.flows], pareto_remainder, None))
    return out


@needs_numba
def test_compiled_passes_equal_the_python_loops(monkeypatch):
    monkeypatch.setattr(FB, "NUMBA_AFTER_S", 0.0)  # compiled from the first pass
    rng = np.random.default_rng(5)
    checked = 0
    for s in _searches():
        lp = s.lp
        for _ in range(6):
            pick = lp.ptr[:-1] + (rng.random(len(lp.nodes)) * np.diff(lp.ptr)).astype(np.int64)
            allowed = rng.random(lp.n_lam) < 0.8
            allowed[pick] = True
            L = lp.lat[pick]
            start, tail = s.start_tail(L)
            fill = s.fill(pick, allowed)
            with cpu_kernels.disabled():
                py_start, py_tail = s.start_tail(L)
                py_fill = s.fill(pick, allowed)
            assert np.array_equal(start, py_start) and np.array_equal(tail, py_tail)
            assert np.array_equal(fill, py_fill)
            checked += 1
    assert checked >= 60


@needs_numba
def test_compiled_flow_weights_equal_the_python_loop(monkeypatch):
    """The flows y read from the LP's duals (FlowLP.flow_weights: the pass down each flow
    compiled, .flow_numba.push_flow) equal the Python loop's bit for bit, at the root LP's
    duals and at random non-negative duals (zeros among them: slots that send nothing)."""
    monkeypatch.setattr(FB, "NUMBA_AFTER_S", 0.0)
    rng = np.random.default_rng(7)
    checked = 0
    for s in _searches():
        lp = s.lp
        sol = lp.solve(np.ones(lp.n_lam))
        draws = [sol[1]] + [np.where(rng.random(sol[1].size) < 0.3, 0.0, rng.random(sol[1].size))
                            for _ in range(4)]
        for duals in draws:
            got = lp.flow_weights(duals, True)
            with cpu_kernels.disabled():
                want = lp.flow_weights(duals, True)
            assert np.array_equal(got[0], want[0]) and got[1] == want[1]
            assert np.array_equal(got[2][0], want[2][0]) and np.array_equal(got[2][1], want[2][1])
            checked += 1
    assert checked >= 40


def test_masks_without_columns_equal_the_loop(monkeypatch):
    """LPSearch.without (the bits to clear ORed per node in numpy, for masks of at most 62
    candidates) gives the masks of the loop over the columns, None included (a node left
    with none)."""
    rng = np.random.default_rng(11)
    checked = nones = 0
    for s in _searches():
        assert s.narrow
        for _ in range(20):
            masks = tuple(int(m) for m in rng.integers(1, 2 ** np.minimum(
                np.asarray([b - a for a, b in s.wcols]), 62), dtype=np.int64))
            cols = np.sort(rng.choice(s.cc, size=min(s.cc.size, int(rng.integers(9, 40))),
                                      replace=False))
            got = s.without(masks, cols)
            monkeypatch.setattr(s, "narrow", False)  # the loop
            want = s.without(masks, cols)
            monkeypatch.setattr(s, "narrow", True)
            assert got == want
            assert got is None or all(type(m) is int for m in got)
            checked += 1
            nones += got is None
    assert checked >= 100 and 0 < nones < checked


def test_numba_is_not_loaded_for_short_searches(monkeypatch):
    """Short searches keep the Python loops unless Numba is already imported (loading it
    costs ~0.3 s in a fresh process); past NUMBA_AFTER_S they take the compiled passes."""
    s = _searches()[0]
    monkeypatch.delitem(__import__("sys").modules, "numba", raising=False)
    assert FB._kernels(s.started) is None
    monkeypatch.setattr(FB, "NUMBA_AFTER_S", 0.0)
    assert (FB._kernels(s.started) is not None) == cpu_kernels.available()


@needs_numba
def test_warm_up_loads_the_signatures_the_searches_call(monkeypatch):
    """``cpu_kernels.warm_up`` compiles (or loads) the flow-bound passes and the batched SLA
    pass for the argument types the searches pass: a search afterwards, compiled passes
    forced, adds no signature (it would compile or load again inside a timed decision)."""
    from fa2opt import dag_batch_numba
    from fa2opt.reductions import flow_numba

    cpu_kernels.warm_up()
    kernels = (flow_numba.start_tail, flow_numba.fill, flow_numba.push_flow,
               dag_batch_numba.evaluate)
    before = [len(k.signatures) for k in kernels]
    assert all(before)
    monkeypatch.setattr(FB, "NUMBA_AFTER_S", 0.0)
    for s in _searches()[:4]:
        lp = s.lp
        pick = lp.ptr[:-1].copy()
        s.start_tail(lp.lat[pick])
        s.fill(pick, np.ones(lp.n_lam, dtype=bool))
        FB.evaluate_fixings(s.dag, lp.lat[pick][None, :], np.zeros((1, len(pick))))
        lp.flow_weights(lp.solve(np.ones(lp.n_lam))[1], True)
    assert [len(k.signatures) for k in kernels] == before


def test_count_leaves_equals_the_unfolded_count():
    checked = 0
    for inst in [drawn_instance(s, s % 2 == 0, max_nodes=9) for s in range(20)] + [
            FAMILIES["random"].generator(np.random.default_rng(1), 40)]:
        _, dp = decoupled(inst)
        for f in dp.flows:
            counts = Counter(leaves(f.tree))
            assert count_leaves(f.tree) == counts
            checked += sum(m > 1 for m in counts.values())  # trees that share sub-expressions
    assert checked > 0
