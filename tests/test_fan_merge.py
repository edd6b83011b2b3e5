"""A wide fan's parallel merges (fa2opt.reductions.sp_decompose._merged_all): the arcs a
series-parallel decomposition merges into one arc are merged all at once, the same tree as
one at a time, in work linear in the fan (100,000 parallel nodes took a minute: each merge
copied the growing parallel's parts)."""

from __future__ import annotations

import random

import pytest

from fa2opt.reductions import sp_decompose
from fa2opt.reductions.sp_decompose import _merged, _merged_all, decompose
from fa2opt.reductions.sptree import Delay, Leaf, Parallel, Series


def _labels(rng: random.Random, pool: list) -> tuple:
    """A label and its size: a shared sub-expression (by identity), a fresh leaf, a delay,
    a series or parallel of earlier ones, or none."""
    kind = rng.randrange(6)
    if kind == 0 and pool:
        return rng.choice(pool), rng.randrange(3)
    if kind == 1:
        return Delay(rng.choice([0.5, 1.0, 2.0])), 0
    if kind == 2 and len(pool) >= 2:
        return Series(tuple(rng.sample(pool, 2))), 2
    if kind == 3 and len(pool) >= 2:
        return Parallel(tuple(rng.sample(pool, 2))), 2
    if kind == 4:
        return None, 0
    leaf = Leaf(f"n{rng.randrange(10**6)}")
    pool.append(leaf)
    return leaf, 1


@pytest.mark.parametrize("seed", range(20))
def test_merged_all_is_merged_one_at_a_time(seed: int) -> None:
    """The same label (parts, in order, by identity) and size as :func:`_merged` applied to
    each new arc in turn, dominated labels dropped alike."""
    rng = random.Random(seed)
    pool: list = []
    for _ in range(30):
        old = _labels(rng, pool)
        new = [_labels(rng, pool) for _ in range(rng.randrange(1, 12))]
        one = old
        for label, size in new:
            one = _merged(one, label, size)
        got = _merged_all(old, new)
        assert got[1] == one[1]
        if type(one[0]) is Parallel:
            assert type(got[0]) is Parallel
            assert len(got[0].parts) == len(one[0].parts)
            assert all(a is b for a, b in zip(got[0].parts, one[0].parts))
        else:
            assert got[0] is one[0]


def test_a_wide_fan_is_merged_in_linear_work(monkeypatch) -> None:
    """Decomposing a fan of n parallel nodes builds parallels of ~n parts in all, not ~n²/2:
    every Parallel made is counted with its parts (the old merges made n − 1 of them)."""
    made = []
    init = Parallel.__init__

    def counted(self, parts):
        made.append(len(parts))
        init(self, parts)

    monkeypatch.setattr(Parallel, "__init__", counted)
    n = 2_000
    nodes = ["root"] + [f"v{i}" for i in range(n)]
    preds = {"root": (), **{v: (("root", 0.0),) for v in nodes[1:]}}
    tree, copies = decompose(nodes, preds)
    assert copies == 0
    assert type(tree) is Series and type(tree.parts[-1]) is Parallel
    assert [p.node for p in tree.parts[-1].parts] == nodes[1:]
    assert sum(made) <= 2 * n, (len(made), sum(made))
    assert sp_decompose.DOMINANCE_SCAN < n  # (the merges' dominance scans stay bounded)
