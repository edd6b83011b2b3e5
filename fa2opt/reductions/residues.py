"""Residue rounding: the grain argument for costs that are on a grain except at a few nodes.

When every cost is a multiple of a grain g, every choice's total is too, so a lower bound
rounds up to the next multiple of g (:func:`.flow_bound.cost_grain`). Accuracy prices
(the row objective c − w·a/s of the ``accuracy`` extension, :mod:`fa2opt.extensions.
accuracy`) break that at the few nodes whose rows differ in accuracy: there the objective
has a fractional part, so the grain of all costs drops to ~1e-6 and the search must close
the last gap below the incumbent by branching alone (``vsp`` 100 at weight 1: 28,004 search
nodes; the base problem 54).

**The rounding.** Split each candidate's cost as ``r_{v,k} = g·n_{v,k} + f_{v,k}`` with
n integral and the residue ``f_{v,k} ∈ [0, g)``; at an *on-grain* node every f is one
constant (folded into S). A
choice's total is then ``g·N + Σ_v f_{v,k_v}`` with N integral, so within a subtree (each
node restricted to its allowed candidates) the totals lie in

    g·ℤ + S,      S = {Σ_{v off-grain} f_{v,k_v} mod g : k_v allowed}                  (1)

(a sumset modulo g, built node by node). A lower bound LB of the subtree therefore rises to
the least point of (1) that is ≥ LB. With every node on the grain S = {0}: the plain grain
argument. Residues are snapped to a grid of g·1e-9 so (1) is built in exact integer
arithmetic; the snapping error of the worst choice (Σ_v max_k of each node's error) and the
floating error of the totals are subtracted from the rounded bound, so it never exceeds the
least total of the subtree. :func:`threshold` turns the same test around for many bounds
of one subtree (reduced-cost fixing): the incumbent lowered to just above the greatest point
of (1) below it.

The accuracy values of a node's rows are few (its model variants), so its residues repeat
and S stays small once the search has narrowed the off-grain nodes; S is abandoned (the
bound kept) when it exceeds ``MAX_RESIDUES`` points (or building it ``MAX_WORK`` sums).
O(Σ_{v off-grain} |S|·K_v) per bound, K_v the node's candidates, memoised on the off-grain
nodes' allowed residues. This is the integrality of the objective used by MILP solvers (an
objective whose coefficients are integral on the integer variables takes integral values),
extended to a bounded number of classes modulo g.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

# points of S (1), and sums formed building it, beyond which the rounding is skipped at a
# search node: vsp 90 #2 at accuracy weight 1 took 1,397 search nodes with 256 points, 99
# with 4,096 (3.2 -> 0.3 s), 31 with 16,384 (0.4 s: each bound dearer); the work cap keeps
# one bound to a few ms where many off-grain nodes leave S large
MAX_RESIDUES = 4096
MAX_WORK = 1 << 18
MAX_OFF = 64  # off-grain nodes beyond which no rounding is attempted (S would be too large)
UNITS = 10 ** 9  # the residue grid: g / UNITS
MEMO = 100_000  # subtrees' class sets kept (cleared when full)
SIMPLE = 12  # a node is on the grain when its own is p/q of the reference grain, q ≤ SIMPLE
REFERENCES = 256  # node grains tried as the reference: the most frequent (module: split)
REF_BLOCK = 64  # references scored at once (memory REF_BLOCK × G for G node grains)


@dataclass(frozen=True)
class Residues:
    """The split (1) of one search's candidate costs (columns in CSR order, ``ptr``)."""

    grain: float  # g
    off: tuple[tuple[int, int], ...]  # column ranges of the off-grain nodes
    units: np.ndarray  # per column its residue in grid units (int64)
    shift: int  # Σ of the residues of the nodes with one residue (grid units, mod UNITS)
    margin: float  # the most a rounded bound may overshoot (snapping + floating error)
    # per off-grain node its distinct residues; the off-grain columns (concatenated), each
    # one's bit (1 << index of its residue) and where each node's columns start: a subtree's
    # allowed residues are one reduceat of bits, and S is memoised on them
    values: tuple[np.ndarray, ...] = ()
    cols: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    bits: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    starts: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    memo: dict = field(default_factory=dict, compare=False)


def split(cost: np.ndarray, ptr: np.ndarray) -> Residues | None:
    """The split (1) of ``cost`` (node i's candidates at ``cost[ptr[i]:ptr[i+1]]``, every
    node with at least one), or None where it adds nothing: every node on one grain (the
    grain argument already prunes), no common grain among the nodes, or more than
    ``MAX_OFF`` nodes off it.

    The grain g: the common grain (:func:`.flow_bound.cost_grain`) of the nodes whose own
    grain (:func:`node_grains`) is p/q (q ≤ ``SIMPLE``) of a reference node grain: the one
    with most node grains in a ratio p/q with p, q ≤ ``SIMPLE`` to it -- the on-grain
    majority; a priced node's grain (c − w·a: 2.0808, 0.005) is not. Any g > 0 gives a valid
    bound; this one keeps the priced nodes off it and S small. Vectorised over the columns
    (~0.1 ms for 100 nodes: it runs once per search, base problems included), plus
    O(G · min(G, REFERENCES)) for G distinct node grains."""
    from .flow_bound import cost_grain  # the one definition of a grain

    ptr = np.asarray(ptr, dtype=np.int64)
    starts, sizes = ptr[:-1], np.diff(ptr)
    if not sizes.size or (sizes <= 0).any():
        return None
    own = node_grains(cost, ptr)
    pos, count = np.unique(own[(own > 0) & np.isfinite(own)], return_counts=True)
    if not pos.size:
        return None
    # the node grain most others are in a simple ratio to, both ways (ties: the coarsest):
    # not a tiny one that everything is a multiple of. Tried among the REFERENCES most
    # frequent, in blocks: all G against all G took 8.9 s and 0.7 GB at G = 4,000 (a
    # 4,000-node search whose prices have six decimals, audit 18)
    refs = pos if len(pos) <= REFERENCES else \
        pos[np.sort(np.argsort(-count, kind="stable")[:REFERENCES])]
    score = np.empty(len(refs))
    for i in range(0, len(refs), REF_BLOCK):
        ratio = pos[None, :] / refs[i:i + REF_BLOCK, None]
        score[i:i + REF_BLOCK] = ((_simple(ratio) & _simple(1.0 / ratio))
                                  * count[None, :]).sum(axis=1)
    ref = refs[len(refs) - 1 - int(np.argmax(score[::-1]))]
    on = (own > 0) & np.isfinite(own)
    on &= _simple(np.where(on, own / ref, 1.0))
    rel = cost - np.repeat(np.minimum.reduceat(cost, starts), sizes)
    g = cost_grain(rel[np.repeat(on, sizes)])
    if g <= 0:
        return None
    q = cost / g
    n = np.floor(q)
    frac = q - n  # in [0, 1)
    grid = np.rint(frac * UNITS)
    units = grid.astype(np.int64) % UNITS
    # snapping error per column, in cost units: |r − g·(n + units/UNITS)| (units wrapped to
    # 0 from UNITS stand for n + 1)
    err = np.abs(cost - g * (n + np.where(grid >= UNITS, 1.0, units / UNITS)))
    varies = np.minimum.reduceat(units, starts) != np.maximum.reduceat(units, starts)
    n_off = int(varies.sum())
    if not n_off or n_off > MAX_OFF:
        return None
    # the nodes with one residue at every candidate add a constant to every total
    shift = int(units[starts[~varies]].sum() % UNITS)
    worst = float(np.maximum.reduceat(err, starts).sum())
    total = float(np.maximum.reduceat(np.abs(cost), starts).sum())
    margin = worst + 1e-12 * (1.0 + total)  # floating sums of up to n terms
    off = [(int(ptr[i]), int(ptr[i + 1])) for i in np.nonzero(varies)[0]]
    values, bits = [], []
    for a, b in off:
        v, j = np.unique(units[a:b], return_inverse=True)
        if v.size > 62:  # the bits of one node's residues fit an int64
            return None
        values.append(v)
        bits.append(np.left_shift(np.int64(1), j.astype(np.int64)))
    cols = np.concatenate([np.arange(a, b) for a, b in off]).astype(np.int64)
    col_starts = np.cumsum([0] + [b - a for a, b in off[:-1]]).astype(np.int64)
    return Residues(g, tuple(off), units, shift, margin, tuple(values), cols,
                    np.concatenate(bits), col_starts)


def node_grains(cost: np.ndarray, ptr: np.ndarray) -> np.ndarray:
    """Per node the grain of its costs less its least, by :func:`.flow_bound.cost_grain`'s
    rule (the largest g, among decimal scalings 10⁰…10⁶, of which each is an integer
    multiple within 1e-9 relative), vectorised: 0 where there is none or every cost is
    equal, inf for a node of one candidate."""
    starts, sizes = ptr[:-1], np.diff(ptr)
    rel = cost - np.repeat(np.minimum.reduceat(cost, starts), sizes)
    out = np.zeros(len(sizes))
    done = np.zeros(len(sizes), dtype=bool)
    for k in range(7):
        x = rel * 10.0 ** k
        r = np.round(x)
        ok = (np.abs(x - r) <= 1e-9 * np.maximum(1.0, x)) & (r < 2.0 ** 52)
        now = np.logical_and.reduceat(ok, starts) & ~done
        if now.any():
            whole = np.where(np.repeat(now, sizes), r, 0.0).astype(np.int64)
            out[now] = np.gcd.reduceat(whole, starts)[now] / 10.0 ** k
            done |= now
    out[sizes == 1] = np.inf
    return out


def _simple(ratio: np.ndarray) -> np.ndarray:
    """Where ``ratio`` is p/q with q ≤ ``SIMPLE`` and p ≥ 1 (within 1e-9 relative)."""
    hit = np.zeros(np.shape(ratio), dtype=bool)
    for q in range(1, SIMPLE + 1):
        x = ratio * q
        hit |= (np.abs(x - np.round(x)) <= 1e-9 * x) & (np.round(x) > 0)
    return hit


def _classes(res: Residues, ub: np.ndarray) -> np.ndarray | None:
    """S of (1) in grid units (sorted), for the candidates with ``ub > 0``; None when it
    exceeds ``MAX_RESIDUES`` points or ``MAX_WORK`` sums, or a node has no candidate left."""
    masks = np.bitwise_or.reduceat(np.where(ub[res.cols] > 0, res.bits, 0), res.starts)
    key = masks.tobytes()
    if key in res.memo:
        return res.memo[key]
    s: np.ndarray | None = np.full(1, res.shift, dtype=np.int64)
    work = 0
    for v, m in zip(res.values, masks.tolist()):
        r = v[[j for j in range(v.size) if (m >> j) & 1]]
        work += s.size * r.size
        if not r.size or work > MAX_WORK:
            s = None
            break
        s = np.unique((s[:, None] + r[None, :]).ravel() % UNITS)
        if s.size > MAX_RESIDUES:
            s = None
            break
    if len(res.memo) >= MEMO:
        res.memo.clear()
    res.memo[key] = s
    return s


def round_up(res: Residues, lb: float, ub: np.ndarray, limit: float = np.inf) -> float:
    """``lb`` (a lower bound on every total of a subtree) raised to the least point of (1)
    not below it, less ``res.margin``; ``ub[k] > 0`` where candidate k is allowed in the
    subtree. ``lb`` itself when S exceeds ``MAX_RESIDUES`` points or lb is not finite, or
    when it is more than a grain below ``limit`` (the incumbent, for a search that only
    prunes: the rounding raises a bound by less than g + margin, so it could not reach it)."""
    if not np.isfinite(lb) or lb + res.grain + res.margin < limit < np.inf:
        return lb
    s = _classes(res, ub)
    if s is None:
        return lb
    g = res.grain
    # every total T of the subtree is within margin of a point of (1) (its snapped total),
    # and T ≥ lb: so that point is ≥ lb − margin, and T ≥ (least such point) − margin
    low = lb - res.margin
    points = np.floor(low / g) * g + s * (g / UNITS)
    points = np.where(points >= low, points, points + g)
    return max(lb, float(points.min()) - res.margin)


def threshold(res: Residues, limit: float, ub: np.ndarray) -> float:
    """The least value t ≤ ``limit`` such that every lower bound ≥ t of a subtree within
    ``ub`` rounds (:func:`round_up`) to at least ``limit``: just above the greatest point of
    (1) below ``limit`` (plus the margins), where no point of (1) lies in between. For tests
    of the form ``bound ≥ limit`` on many bounds of one subtree (reduced-cost fixing: every
    forced child's classes are among the subtree's). ``limit`` itself when S is too large."""
    if not np.isfinite(limit):
        return limit
    s = _classes(res, ub)
    if s is None:
        return limit
    g = res.grain
    # round_up(lb) ≥ limit ⇔ no point of (1) in [lb − margin, limit + margin)
    high = limit + res.margin
    points = np.floor(high / g) * g + s * (g / UNITS)
    points = np.where(points < high, points, points - g)
    below = float(points.max())  # the greatest point below high
    # strictly above below + margin, by more than the points' floating error
    return min(limit, below + res.margin + 1e-12 * max(1.0, abs(below)))
