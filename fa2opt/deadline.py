"""The wall-clock deadline a single DP checks part-way: one rule for every method's DPs.

A search checks its time limit between DPs, but one DP alone can run for minutes: fa2's
Pareto fronts grow to 10^5 points and more when no two sums are equal (a 6,207-node chain
with an accuracy weight), and fa2-grid's dense curves cost T² per (min,+) convolution (a
100-node dense DAG: minutes). So the DPs check too. A method sets the deadline for a block
(:func:`stop_at`); every DP inside raises :class:`DPDeadline` once it has passed, checked
between its steps (series steps, sub-trees on the trampoline); outside any block nothing is
checked and a DP pays nothing. :func:`dp_grace_s` is how long past its limit a method lets
one DP run.
"""

from __future__ import annotations

import time
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Callable, Iterator


class DPDeadline(Exception):
    """A DP passed the deadline set by :func:`stop_at` and stopped part-way."""


# the ``time.perf_counter()`` value past which a DP stops, or None (a context variable, so
# a method's deadline never leaks into another's, nor into another thread's)
_DEADLINE: ContextVar[float | None] = ContextVar("fa2opt_dp_deadline", default=None)


@contextmanager
def stop_at(deadline: float | None) -> Iterator[None]:
    """Within the block, every DP raises :class:`DPDeadline` once ``deadline`` (a
    ``time.perf_counter()`` value; None: none) has passed."""
    token = _DEADLINE.set(deadline)
    try:
        yield
    finally:
        _DEADLINE.reset(token)


def current() -> float | None:
    """The deadline in force, or None (a hot loop reads it once and compares itself)."""
    return _DEADLINE.get()


def check() -> None:
    """Raise :class:`DPDeadline` when the deadline in force has passed."""
    stop = _DEADLINE.get()
    if stop is not None and time.perf_counter() > stop:
        raise DPDeadline


def checker() -> Callable[[], None] | None:
    """:func:`check` for :func:`~fa2opt.reductions.sptree.trampoline` when a deadline is in
    force, else None (the trampoline then checks nothing)."""
    return None if _DEADLINE.get() is None else check


def dp_grace_s(limit: float) -> float:
    """Seconds past its ``time_limit`` a method's single DP may run before it stops part-way
    (fa2's Pareto DP, fa2-grid's down pass giving its root bound)."""
    return min(max(1.0, 0.1 * limit), 10.0)
