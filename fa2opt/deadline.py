"""The limits a single DP checks part-way, one rule for every method's DPs: a wall-clock
deadline, and the machine's memory.

A search checks its time limit between DPs, but one DP alone can run for minutes: fa2's
Pareto fronts grow to 10^5 points and more when no two sums are equal (a 6,207-node chain
with an accuracy weight), and fa2-grid's dense curves cost T² per (min,+) convolution (a
100-node dense DAG: minutes). So the DPs check too. A method sets the deadline for a block
(:func:`stop_at`); every DP inside raises :class:`DPDeadline` once it has passed, checked
between its steps (series steps, sub-trees on the trampoline); so do the series-parallel
decomposition (at each stall) and the MILP's model build (every 1,024 finish-time rows,
``formulations.base.checked``). Outside any block nothing is checked and a DP pays
nothing. :func:`dp_grace_s` is how long past its limit a method lets one DP run.

The work *between* DPs -- a transformation, a search's set-up, a pass over every flow --
gains nothing from that grace: past the limit the search it prepares stops at its first
step. A block may therefore set an earlier deadline for these *stages* (``stop_at(...,
stages=)``, fa2: the limit itself), which :func:`check_stage` checks once per flow or per
step of such work: on 3,000 flows sharing 300 nodes fa2's decompositions, its LP's layout
and its incumbent's valuation ran 15 s past a 0.5 s limit, none of it checked.

Steps that no DP check reaches take the DP deadline too: each LP solve of fa2's search is
given HiGHS's time limit up to it (:class:`~fa2opt.reductions.flow_bound.FlowLP`), its
local search checks it between blocks of moves, and a search stopped without an incumbent
values the coupling nodes at their fastest (a DP per flow, compiled ones unchecked) only
while it holds (:func:`passed`, before each flow), else answers every node's fastest row.
A Python DP checks it in its set-up too (the Pareto root bound's passes), and the LP search
ends at a :class:`DPDeadline` raised inside it as at its own deadline, keeping its
incumbent (:meth:`fa2opt.reductions.flow_bound.LPSearch.run`).

Memory: a long series' DP keeps every step's front for its backtracking, so real-valued
objectives can hold 10^5 points per step over thousands of steps (an 8,490-node chain with
an accuracy weight of 1e6: 18 GB before its 120 s limit stopped it). Past
:data:`MEMORY_SHARE` of the memory the process may use (the machine's, or its cgroup's
limit), :func:`check_memory` raises :class:`DPMemory`, a ``MemoryError``: the method then
answers ``error`` ("ran out of memory") at once, where the kernel's out-of-memory killer
would end the process without a word.
"""

from __future__ import annotations

import os
import time
from contextvars import ContextVar
from typing import Callable


class DPDeadline(Exception):
    """A DP passed the deadline set by :func:`stop_at` and stopped part-way."""


# (the ``time.perf_counter()`` value past which a DP stops, the one past which the stages
# between DPs stop (check_stage)), each None where none holds: one context variable, so a
# method's deadline never leaks into another's, nor into another thread's (one variable,
# not two: each set or reset copies the context's mapping)
_LIMITS: ContextVar[tuple[float | None, float | None]] = ContextVar(
    "fa2opt_deadlines", default=(None, None))


class stop_at:
    """Within the block, every DP raises :class:`DPDeadline` once ``deadline`` (a
    ``time.perf_counter()`` value; None: none) has passed, and every stage between DPs
    (:func:`check_stage`) once ``stages`` has (None: ``deadline``). A plain context manager:
    a decision with a time limit enters one (a generator's, over two variables, cost ~0.5
    µs more in a loop of it alone, about twice that within a decision)."""

    __slots__ = ("_limits", "_token")

    def __init__(self, deadline: float | None, stages: float | None = None) -> None:
        self._limits = deadline, deadline if stages is None else stages

    def __enter__(self) -> None:
        self._token = _LIMITS.set(self._limits)

    def __exit__(self, *exc: object) -> None:
        _LIMITS.reset(self._token)


def current() -> float | None:
    """The deadline in force, or None (a hot loop reads it once and compares itself)."""
    return _LIMITS.get()[0]


def stage_deadline() -> float | None:
    """The stages' deadline in force (the time limit itself, where :func:`current` is it
    plus a grace), or None."""
    return _LIMITS.get()[1]


def passed() -> bool:
    """Whether the DP deadline in force (if any) has passed: a step that can be left out
    is left out there (where :func:`check` abandons a DP)."""
    stop = _LIMITS.get()[0]
    return stop is not None and time.perf_counter() > stop


def check() -> None:
    """Raise :class:`DPDeadline` when the deadline in force has passed."""
    if passed():
        raise DPDeadline


def check_stage() -> None:
    """Raise :class:`DPDeadline` when the stage deadline in force (:func:`stop_at`'s
    ``stages``, else its DP deadline) has passed: the check of the work between DPs, once
    per flow or step of it (~0.1 µs; nothing in force: a context read)."""
    stop = _LIMITS.get()[1]
    if stop is not None and time.perf_counter() > stop:
        raise DPDeadline


def checker() -> Callable[[], None] | None:
    """:func:`check` for :func:`~fa2opt.reductions.sptree.trampoline` when a deadline is in
    force, else None (the trampoline then checks nothing)."""
    return None if _LIMITS.get()[0] is None else check


def dp_grace_s(limit: float) -> float:
    """Seconds past its ``time_limit`` a method's single DP may run before it stops part-way
    (fa2's Pareto DP, fa2-grid's down pass giving its root bound): 10 % of the limit, at
    least 0.25 s and at most 10 s -- so a method answers within max(T + 0.5 s, 1.5 T) or so
    (the floor was 1 s: 0.5 s limits answered after 1.5 s and more)."""
    return min(max(0.25, 0.1 * limit), 10.0)


class DPMemory(MemoryError):
    """A DP's process passed :data:`MEMORY_SHARE` of the memory it may use."""


MEMORY_SHARE = 0.8  # of the machine's (or the cgroup's) memory a DP may fill before it stops


def memory_limit_bytes() -> float:
    """The memory this process may use: the machine's, or its cgroup's limit if lower (v2
    ``memory.max``, v1 ``memory.limit_in_bytes``); inf where unknown."""
    try:
        limit = float(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):
        limit = float("inf")
    for path in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        try:
            with open(path) as f:
                text = f.read().strip()
        except OSError:
            continue
        if text.isdigit():
            limit = min(limit, float(text))
    return limit


def resident_bytes() -> float:
    """This process's resident memory (Linux ``/proc/self/statm``; 0 where unknown)."""
    try:
        with open("/proc/self/statm") as f:
            return float(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError, AttributeError):
        return 0.0


_LIMIT: list[float] = []  # memory_limit_bytes(), read once


def check_memory() -> None:
    """Raise :class:`DPMemory` when the process holds more than :data:`MEMORY_SHARE` of
    :func:`memory_limit_bytes` (~10 µs: a DP calls it every few hundred steps)."""
    if not _LIMIT:
        _LIMIT.append(memory_limit_bytes())
    used = resident_bytes()
    if used > MEMORY_SHARE * _LIMIT[0]:
        raise DPMemory(f"the DP's fronts outgrew the memory: {used / 2**30:.1f} GiB of "
                       f"{_LIMIT[0] / 2**30:.1f} GiB")
