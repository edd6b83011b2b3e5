"""Brute force: enumerate every combination of configurations (the tests' reference).

Vectorised over combinations with numpy, a chunk at a time: combinations are numbered in
row-major order (the last node varies fastest), and for each chunk of consecutive numbers it
builds every node's latency and cost as arrays of the chunk's length, computes every flow's
longest path in topological order by the spec's rule, and keeps the first cheapest
combination that meets every SLA and every extension block. Per combination the additions
are the same, in the same order, whatever the chunk, and ties go to the first combination
in that order (as one ``np.argmin`` over all of them would), so the answer does not depend
on the chunk size.

Time O(C · (V + E)) for C = Π_v K_v combinations; memory O(chunk · V), with
:func:`chunk_size` holding chunk · V near :data:`CHUNK_ELEMENTS` (a few tens of MB), where
one pass over all C at once needed several GB at the guard (2·10^6 combinations × 200
nodes). Guarded by ``max_combinations`` (answers ``no_solution`` beyond it, which proves
nothing). Exhaustive, so a finished enumeration answers ``optimal`` or ``infeasible``.

``time_limit`` (seconds, default none), checked before each chunk: past it the method
answers ``time_limit`` with the cheapest combination enumerated so far as its incumbent
(valid: it met every SLA and block) or none. The cheapest of a part of the combinations
bounds nothing below, so the answer's ``lower_bound`` is the base class's relaxation bound.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np

from ..extensions import Block, RowFilter, RowTerm, declare, has_terms, objective
from ..problem import Problem
from ..solver import Decision, Solver
from .. import spec

# combinations × nodes held at once: each array over a chunk's (combination, node) pairs is
# 2^21 · 8 bytes = 16 MB (the indices, the latencies, a flow's finish times: a few of them)
CHUNK_ELEMENTS = 1 << 21
MAX_CHUNK = 1 << 16  # combinations per chunk at most (few nodes: numpy's overhead is paid off)


def _count(total: int) -> str:
    """A combination count for a message: exact up to 16 digits, else its power of ten (the
    exact number of a large graph has thousands of digits, beyond Python's int → str limit)."""
    return str(total) if total < 10**16 else f"about 10^{math.log10(total):.1f}"


def chunk_size(nodes: int) -> int:
    """Combinations per chunk for a graph of ``nodes`` nodes: memory stays O(chunk · V) ≈
    :data:`CHUNK_ELEMENTS` whatever C is."""
    return max(1, min(MAX_CHUNK, CHUNK_ELEMENTS // max(nodes, 1)))


@dataclass
class Search:
    """Where an enumeration stands: how many combinations it has looked at, and the first
    cheapest one meeting every constraint among them (its number and objective value)."""

    total: int
    done: int = 0
    best: int | None = None
    value: float = math.inf

    @property
    def finished(self) -> bool:
        return self.done >= self.total


class BruteForceSolver(Solver):
    name = "brute-force"
    native_extensions = True  # enumerates the extended problem itself (the tests' reference)

    @classmethod
    def option_names(cls) -> tuple[str, ...]:
        return ("max_combinations", "time_limit")

    def decide(self, problem: Problem) -> Decision:
        guard = int(self.options.get("max_combinations", 2_000_000))
        limit = self.options.get("time_limit")
        if problem.empty_nodes:
            return Decision("infeasible")
        names = problem.node_names
        shape = tuple(len(problem.tables[v]) for v in names)
        total = math.prod(shape)
        if total > guard:
            return Decision("no_solution",
                            message=f"{_count(total)} combinations exceed the guard {guard}")
        blocks = declare(problem, self.extension_names(problem))
        deadline = None if limit is None else time.perf_counter() + float(limit)
        s = search(problem, blocks, Search(total), chunk_size(len(names)), deadline)
        choice = None if s.best is None else combination(s.best, shape, names)
        value = (objective(problem, blocks, choice)
                 if choice is not None and has_terms(blocks) else None)
        if not s.finished:
            return Decision("time_limit", choice, objective=value,
                            extra={"combinations_enumerated": s.done},
                            message=(f"brute-force: stopped after {limit:g} s, {s.done} of "
                                     f"{_count(total)} combinations enumerated"))
        if choice is None:
            return Decision("infeasible", extra={"restricted": True} if blocks else {})
        return Decision("optimal", choice, objective=value)


def search(problem: Problem, blocks: Sequence[Block], s: Search, chunk: int,
           deadline: float | None = None) -> Search:
    """Go on enumerating from ``s.done`` in chunks of ``chunk`` combinations until all are
    done or ``deadline`` (a ``time.perf_counter()`` value, checked before each chunk) has
    passed; ``s`` updated in place and returned. A later chunk's combination replaces the
    best only when strictly cheaper: the first cheapest wins, as one argmin over all."""
    shape = tuple(len(problem.tables[v]) for v in problem.node_names)
    while not s.finished:
        if deadline is not None and time.perf_counter() > deadline:
            break
        n = min(chunk, s.total - s.done)
        idx = dict(zip(problem.node_names, unravel(s.done, n, shape)))
        ok, value = evaluate(problem, blocks, idx, n)
        j = first_cheapest(ok, value)
        if j is not None and (s.best is None or value[j] < s.value):
            s.best, s.value = s.done + j, float(value[j])
        s.done += n
    return s


def evaluate(problem: Problem, blocks: Sequence[Block], idx: Mapping[str, np.ndarray],
             n: int) -> tuple[np.ndarray, np.ndarray]:
    """For ``n`` combinations (``idx[v]``: node v's table position in each), whether each
    meets every SLA and block, and its objective (cost plus the blocks' row terms)."""
    names = problem.node_names
    lat = {v: problem.tables[v].latency_ms[idx[v]] for v in names}
    value = sum(problem.tables[v].cost[idx[v]] for v in names)
    ok = np.ones(n, dtype=bool)
    for g in problem.flows:  # the spec's one rule on arrays (same additions, same order)
        ok &= spec.longest_path(g.nodes, g.preds, lat, np.maximum) <= spec.budget_ms(g.sla_ms)
    for b in blocks:  # the objective's terms and the blocks' constraints, per combination
        if isinstance(b, RowFilter):
            for v, allowed in b.allowed.items():
                ok &= allowed[idx[v]]
        elif isinstance(b, RowTerm):
            for v in names:  # the order of fa2opt.extensions.objective
                if v in b.term:
                    value = value + b.term[v][idx[v]]
        else:  # a budget, summed in spec.budget_sum's order (same additions, same bits)
            used = np.zeros(n)
            for v in b.nodes:
                used = used + b.use[v][idx[v]]
            ok &= used <= b.limit
    return ok, value


def first_cheapest(ok: np.ndarray, value: np.ndarray) -> int | None:
    """The position of the first least ``value`` where ``ok``, or None where none is."""
    allowed = np.flatnonzero(ok)
    return None if allowed.size == 0 else int(allowed[np.argmin(value[allowed])])


def unravel(start: int, count: int, shape: tuple[int, ...]) -> list[np.ndarray]:
    """Each node's table position in combinations ``start … start + count − 1`` (row-major:
    the last node varies fastest), i.e. ``np.unravel_index(np.arange(start, start + count),
    shape)`` for any number of nodes (numpy's stops at 64 dimensions) and any ``start``
    (beyond int64 too: ``start`` is split into digits in Python, and only the offsets
    0 … count − 1 and their carries meet numpy). One division per node, none for a node of
    one row or once the offsets are used up (the numbers' leading digits are then start's)."""
    out: list[np.ndarray] = []
    rest = np.arange(count, dtype=np.int64)  # the offsets still to place, node by node
    for k, d in zip(reversed(shape), reversed(_digits(start, shape))):
        if k == 1 or rest[-1] == 0:  # rest is non-decreasing from rest[0] = 0
            out.append(np.full(count, d, dtype=np.int64))
            continue
        rest, low = np.divmod(rest, k)
        low += d  # < 2k: a digit, or a digit plus k and a carry
        carry = low >= k
        low -= k * carry
        rest += carry
        out.append(low)
    return out[::-1]


def combination(number: int, shape: tuple[int, ...], names: Sequence[str]) -> dict[str, int]:
    """The choice (node → table position) of combination ``number``."""
    return dict(zip(names, _digits(number, shape)))


def _digits(number: int, shape: tuple[int, ...]) -> list[int]:
    """``number`` in the mixed radix ``shape`` (the last digit varies fastest)."""
    out = []
    for k in reversed(shape):
        number, d = divmod(number, k)
        out.append(d)
    return out[::-1]
