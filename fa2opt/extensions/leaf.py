"""Exact pieces of the extensions' branch and bound that need no DP: dominated rows, per-row
bounds, and the batched enumeration leaf (issue 14; :mod:`.search` uses all three).

A *subproblem* is node → allowed table positions of a (reshaped) problem whose ``cost`` is
the objective, with budgets ``budget_sum(use_j[v][x_v] for v in nodes_j) ≤ limit_j``.

- **Dominance** (:func:`undominated`): row k of node v is dropped when another allowed row
  k' of v has L ≤, objective ≤ and use ≤ on every budget (the first of identical rows is
  kept). Exact: each flow's latency (float additions and max along paths), each budget sum
  and the objective are monotone in every term, so putting k' for k in any choice keeps it
  within the SLAs and budgets at no larger objective. A sweep in lexicographic order
  (:func:`undominated_rows`), O(K·F·(2 + m)) per node for K rows, F of them kept and m
  budgets, in memory O(K·(2 + m) + BLOCK²), done once at the root. On the generated mixed
  suite with every extension it keeps 800 of 295,680 choices (4·5·2·4·5 of 10·8·12·14·22
  rows).
- **Latency limits** (:func:`within_limits`): a row slower than its node's latency limit
  (:func:`fa2opt.reductions.pruning.latency_limits`: with every other node at its fastest
  row, the row breaks some flow's budget widened by the float margin) is in no choice that
  meets the SLAs, so it leaves; O(Σ_f (V_f + E_f) + Σ_v K_v), once at the root. Without it
  the LP search's LP put weight on such rows: many-flows 12x10x60 + capacity (120 nodes,
  60 flows), root LP 3,593 → 3,686 of an optimum of 3,839.
- **Per-row bounds** (:func:`tighten`): with every other node at its least allowed use
  (objective), a row whose budget sum exceeds the limit (whose objective cannot beat the
  incumbent) is dropped. The sums are formed as ``total − min_v + value`` in O(1) per row,
  so they carry rounding; a row is dropped only when it loses by more than a bound on that
  rounding (:func:`fa2opt.spec.sum_slack`: ``2(n + 3)·ε·Σ|terms|``), which keeps the test exact (it only
  drops rows the exact order would drop too). O(Σ_v K_v·m) per subproblem.
- **Enumeration leaf** (:meth:`Leaf.best`): the subproblem's choices formed node by node,
  depth-first in batches (a batch: up to ``CHUNK`` partial choices, as rows of a (B, V)
  array of table positions whose unfixed columns hold the node's fastest allowed row). Each
  level extends a batch by every allowed row of the next node and drops the rows that
  (1) cannot beat the incumbent by the *separable Lagrangian bound* — partial
  ``obj + Σ_j μ_j·use_j`` plus, for every unfixed node, its least ``obj + Σ_j μ_j·use_j``,
  minus ``Σ_j μ_j·limit'_j``: a lower bound on the objective of every completion within
  the budgets, for any μ ≥ 0 (:meth:`Leaf.multipliers` maximises it by exact 1-D cutting
  planes; it drops the SLAs, so it needs no DP) — or by the plain objective bound;
  (2) break a budget even with every unfixed node at its least use; (3) break an SLA even
  with every unfixed node at its fastest row, by :func:`fa2opt.dag_batch.evaluate_fixings_loaded`
  (the spec's rule, same bits; latency only grows with each L). Bounds (1) and (2) are
  compared with a 1e-9 relative margin, so rounding never drops a row the exact order keeps.
  Complete choices get the exact checks: the objective added left to right in node order
  (as :meth:`fa2opt.problem.Problem.cost`), each budget in its one summation order
  (:func:`fa2opt.spec.budget_sum`'s, vectorised), the SLA test; the least objective below
  the incumbent, re-checked by :meth:`~fa2opt.problem.Problem.meets_slas`, becomes the
  incumbent and prunes the rest. Nodes go in decreasing spread of their Lagrangian weight
  per row (strong bounds early); the least-bound rows are extended first, the first dive
  in narrow batches (``DIVE_CHUNK``) so an incumbent comes early. O(W·(V + S + E + m)) for
  W partial choices formed, S flow-node slots and E in-flow edges: the batch axis of
  :mod:`fa2opt.dag_batch` carrying the choices of one subproblem. A call may be given a
  work cap W (and a deadline): past it the leaf stops unfinished, and the branch and bound
  splits instead. A subproblem of at most ``FLAT_CHOICES`` choices skips all that: every
  choice in one batch (mixed-radix digits), one SLA pass, the exact checks
  (:meth:`Leaf._flat`; the shipped pipelines' usual case, 0.8 → 0.55 ms on one).
  The numpy twin rather than Numba: batches are small, and it costs no
  compilation or cache load (≈ 0.6 s) in a fresh process.
"""

from __future__ import annotations

import math
import time
from typing import Mapping, Sequence

import numpy as np

from ..deadline import check_stage
from ..dag_batch import Candidates, DagStructure, evaluate_fixings_loaded
from ..problem import Problem
from ..reductions.pruning import latency_limits
from ..spec import sum_slack

Choice = dict[str, int]

CHUNK = 1024  # rows per batch of the leaf
FLAT_CHOICES = 1024  # at most this many choices: one batch, no pruning
DIVE_CHUNK = 128  # ... until the first complete choices: a narrow first dive finds an incumbent


class BudgetArrays:
    """One budget as arrays: nodes (its summation order), use per table position, limit."""

    __slots__ = ("nodes", "use", "limit")

    def __init__(self, nodes: Sequence[str], use: Mapping[str, np.ndarray], limit: float):
        self.nodes = tuple(nodes)
        self.use = {v: np.asarray(use[v], dtype=float) for v in self.nodes}
        self.limit = float(limit)


def undominated(problem: Problem, budgets: Sequence[BudgetArrays],
                allowed: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Per node, the allowed positions no other allowed row dominates (module doc)."""
    out = {}
    for v, t in problem.tables.items():
        a = np.asarray(allowed[v])
        if len(a) < 2:
            out[v] = a
            continue
        cols = [t.latency_ms[a], t.cost[a]] + [b.use[v][a] for b in budgets if v in b.use]
        out[v] = a[undominated_rows(cols)]
    return out


BLOCK = 512  # rows compared at once in undominated_rows (with up to BLOCK kept rows)


def undominated_rows(cols: Sequence[np.ndarray]) -> np.ndarray:
    """The mask of the rows no other row dominates, over columns ``cols`` (equal lengths K):
    row j dominates row k when it is ≤ in every column and < in one, or equal in all and
    j < k (so of identical rows the first is kept).

    In lexicographic order of (columns..., position) a row can be dominated only by a row
    before it, and then by one of the rows kept before it (dominance is transitive, and an
    earlier row ≤ in every column dominates). So the sorted rows are taken in blocks of
    :data:`BLOCK`, each compared with the rows kept so far and within itself (the earlier
    of each pair): O(K·F·d) for F kept rows and d columns, memory O(BLOCK²) per comparison
    -- where the pairwise K×K masks took 3.4 GB a mask at K = 60,000 (audit 18)."""
    x = np.column_stack([np.asarray(c, dtype=float) + 0.0 for c in cols])  # (−0.0 → 0.0)
    k, d = x.shape
    order = np.lexsort([np.arange(k)] + [x[:, i] for i in range(d - 1, -1, -1)])
    y = x[order]
    kept = np.zeros(k, dtype=bool)
    front = y[:0]
    for s in range(0, k, BLOCK):
        check_stage()  # (a deadline in force: fa2opt.extensions.search.staged)
        rows = y[s:s + BLOCK]
        dominated = np.zeros(len(rows), dtype=bool)
        for f in range(0, len(front), BLOCK):  # by a row kept in an earlier block
            le = np.ones((min(BLOCK, len(front) - f), len(rows)), dtype=bool)
            for i in range(d):
                le &= front[f:f + BLOCK, i, None] <= rows[None, :, i]
            dominated |= le.any(axis=0)
        le = np.triu(np.ones((len(rows), len(rows)), dtype=bool), 1)  # by an earlier one here
        for i in range(d):
            le &= rows[:, i, None] <= rows[None, :, i]
        dominated |= le.any(axis=0)
        kept[s:s + BLOCK] = ~dominated
        front = np.concatenate([front, rows[~dominated]])
    mask = np.zeros(k, dtype=bool)
    mask[order[kept]] = True
    return mask


def within_limits(problem: Problem, allowed: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Per node, the allowed positions no slower than its latency limit (module doc). A node
    none of whose rows passes keeps them all: then no choice meets the SLAs, which the
    search proves on its own."""
    limit = latency_limits(problem)
    out = {}
    for v, a in allowed.items():
        a = np.asarray(a)
        keep = a[problem.tables[v].latency_ms[a] <= limit[v]]
        out[v] = keep if len(keep) else a
    return out


def tighten(problem: Problem, budgets: Sequence[BudgetArrays], allowed: Mapping[str, np.ndarray],
            incumbent: float) -> dict[str, np.ndarray] | None:
    """``allowed`` without the rows the per-row bounds exclude (module doc); None when a node
    has no row left (no choice of the subproblem meets the budgets and beats ``incumbent``)."""
    out = dict(allowed)
    for b in budgets:
        lows = {v: float(b.use[v][out[v]].min()) for v in b.nodes}
        total = math.fsum(lows.values())
        mag = math.fsum(abs(x) for x in lows.values())
        for v in b.nodes:
            u = b.use[v][out[v]]
            s = total - lows[v] + u
            keep = s <= b.limit + sum_slack(len(b.nodes), mag + np.abs(u))
            if not keep.all():
                out[v] = out[v][keep]
                if not len(out[v]):
                    return None
    if math.isfinite(incumbent):
        costs = {v: t.cost[out[v]] for v, t in problem.tables.items()}
        lows = {v: float(c.min()) for v, c in costs.items()}
        total = math.fsum(lows.values())
        mag = math.fsum(abs(x) for x in lows.values())
        n = len(lows)
        for v, c in costs.items():
            keep = total - lows[v] + c < incumbent + sum_slack(n, mag + np.abs(c) + abs(incumbent))
            if not keep.all():
                out[v] = out[v][keep]
                if not len(out[v]):
                    return None
    return out


def choices(allowed: Mapping[str, np.ndarray], order: Sequence[str]) -> int:
    """∏_v |allowed_v| (a Python int: no overflow)."""
    return math.prod(len(allowed[v]) for v in order)


class Leaf:
    """What the enumeration leaf needs of one problem, built once per branch and bound."""

    def __init__(self, problem: Problem, budgets: Sequence[BudgetArrays],
                 slack_limit: Sequence[float] | None = None):
        self.problem = problem
        self.dag = DagStructure.from_problem(problem)
        self.order = self.dag.nodes
        self.col = {v: i for i, v in enumerate(self.order)}
        self.cands = Candidates.from_problem(problem, self.dag)
        self.budgets = budgets
        self.slack_limit = [b.limit for b in budgets] if slack_limit is None else list(slack_limit)
        # per budget, its use per candidate (0 at nodes outside it), in Candidates' layout
        self.cand_use = []
        for b in budgets:
            u = np.zeros(len(self.cands.cost))
            for v in b.nodes:
                a = self.cands.ptr[self.col[v]]
                u[a:a + len(b.use[v])] = b.use[v]
            self.cand_use.append(u)

    def multipliers(self, allowed: Mapping[str, np.ndarray], rounds: int = 2,
                    steps: int = 30) -> list[float]:
        """Multipliers μ ≥ 0 that maximise the *separable* Lagrangian bound the enumeration
        prunes with, ``g(μ) = Σ_v min_k (obj_vk + Σ_j μ_j·use_jvk) − Σ_j μ_j·limit'_j`` (the
        SLAs dropped, so no DP): per budget in turn (``rounds`` passes), exactly in one
        dimension by Kelley's cutting planes, as :func:`.search.branch_and_bound`'s
        ``ascend_one`` does with the DP: each per-node choice is a line ``a + μ_j·b`` (b =
        its use of budget j minus limit'_j), g is their lower envelope; start from the
        minimisers at μ_j = 0 and at μ_j → ∞ (least use), and cut at the lines' meeting
        point until the envelope touches it (≤ ``steps`` cuts; few breakpoints in
        practice). Any μ ≥ 0 gives a valid bound; these only make it strong."""
        ptr = self.cands.ptr
        idx = np.concatenate([ptr[c] + np.asarray(allowed[v], dtype=np.int64)
                              for c, v in enumerate(self.order)])
        counts = np.array([len(allowed[v]) for v in self.order])
        seg = np.concatenate(([0], np.cumsum(counts)[:-1]))
        cost = self.cands.cost[idx]
        uses = [u[idx] for u in self.cand_use]
        mu = [0.0] * len(uses)

        def line(w: np.ndarray, u: np.ndarray, j: int, m: float) -> tuple[float, float]:
            """The line (intercept, slope) of the per-node minimisers of ``w = base + m·u``
            (ties: the least use, the envelope's right-hand line at m)."""
            low = np.minimum.reduceat(w, seg)
            used = float(np.minimum.reduceat(np.where(w <= np.repeat(low, counts), u, np.inf),
                                             seg).sum())
            return float(low.sum()) - m * used, used - self.slack_limit[j]

        for _ in range(rounds):
            for j, u in enumerate(uses):
                base = cost + sum(m * uu for i, (m, uu) in enumerate(zip(mu, uses))
                                  if i != j and m > 0)
                a0, b0 = line(base, u, j, 0.0)
                if b0 <= 0:
                    mu[j] = 0.0
                    continue
                # μ_j → ∞: per node the least use, ties by the least base
                big = np.where(u <= np.repeat(np.minimum.reduceat(u, seg), counts), base, np.inf)
                a1 = float(np.minimum.reduceat(big, seg).sum())
                b1 = float(np.minimum.reduceat(u, seg).sum()) - self.slack_limit[j]
                if b1 >= 0:  # budget j cannot be met with room to spare: keep μ_j
                    continue
                m = mu[j]
                for _ in range(steps):
                    m = (a1 - a0) / (b0 - b1)  # where the two lines meet
                    a, b = line(base + m * u, u, j, m)
                    meet = a0 + m * b0
                    if a + m * b >= meet - 1e-12 * max(1.0, abs(meet)):
                        break  # the envelope touches the meeting point: m is optimal
                    if b > 0:
                        a0, b0 = a, b
                    else:
                        a1, b1 = a, b
                mu[j] = max(0.0, m)
        return mu

    def best(self, allowed: Mapping[str, np.ndarray], incumbent: float,
             mu: Sequence[float] = (), work: int | None = None,
             deadline: float | None = None) -> tuple[bool, Choice | None]:
        """The least-objective choice of the subproblem that meets the SLAs and every budget
        and whose objective is < ``incumbent`` (None: there is none), by the pruned
        depth-first enumeration of the module doc with multipliers ``mu`` (one per budget;
        missing ones are 0). Returns (finished, choice); ``finished`` is False when more
        than ``work`` partial choices were formed or ``time.perf_counter()`` passed
        ``deadline`` (then the choice, if any, is only an improvement and the subproblem
        is not solved)."""
        V = len(self.order)
        ptr, lat_c, cost_c = self.cands.ptr, self.cands.lat, self.cands.cost
        if choices(allowed, self.order) <= FLAT_CHOICES:
            return True, self._flat(allowed, incumbent)
        mu = [float(m) for m in mu] + [0.0] * (len(self.budgets) - len(mu))
        # per column: allowed candidates (global indices), their objective, use, Lagrangian
        cand = [ptr[c] + np.asarray(allowed[v], dtype=np.int64) for c, v in enumerate(self.order)]
        lag_c = cost_c.copy()
        for m, u in zip(mu, self.cand_use):
            if m > 0:
                lag_c = lag_c + m * u
        spread = [float(lag_c[k].max() - lag_c[k].min()) for k in cand]
        seq = sorted(range(V), key=lambda c: (-spread[c] / len(cand[c]), len(cand[c])))
        # what the unfixed columns contribute at least, after level i (suffix sums)
        low_lag = np.array([lag_c[cand[c]].min() for c in seq])
        low_obj = np.array([cost_c[cand[c]].min() for c in seq])
        low_use = [np.array([u[cand[c]].min() for c in seq]) for u in self.cand_use]
        rest = lambda a: np.concatenate((np.cumsum(a[::-1])[::-1][1:], [0.0]))  # noqa: E731
        rest_lag, rest_obj, rest_use = rest(low_lag), rest(low_obj), [rest(a) for a in low_use]
        offset = sum(m * lim for m, lim in zip(mu, self.slack_limit))
        mag = 1.0 + float(np.abs(lag_c).max()) * V + abs(offset)
        use_tol = [1e-9 * (1.0 + float(np.abs(u).max()) * V) for u in self.cand_use]
        best_val, best_x = incumbent, None
        base = np.array([k[0] for k in cand], dtype=np.int64)  # the fastest allowed row each
        done, chunk = 0, DIVE_CHUNK
        stack = [(0, base[None, :], np.zeros(1), np.zeros(1), [np.zeros(1) for _ in self.cand_use])]
        while stack:
            level, pick, lag, obj, use = stack.pop()
            c = seq[level]
            k = cand[c]
            B, K = len(pick), len(k)
            done += B * K
            if (work is not None and done > work) or (
                    deadline is not None and time.perf_counter() > deadline):
                return False, best_x
            pick = np.repeat(pick, K, axis=0)
            pick[:, c] = np.tile(k, B)
            lag = (lag[:, None] + lag_c[k][None, :]).ravel()
            obj = (obj[:, None] + cost_c[k][None, :]).ravel()
            use = [(a[:, None] + u[k][None, :]).ravel() for a, u in zip(use, self.cand_use)]
            keep = np.ones(len(pick), dtype=bool)
            if math.isfinite(best_val):
                tol = 1e-9 * (mag + abs(best_val))
                keep &= lag + rest_lag[level] - offset < best_val + tol
                keep &= obj + rest_obj[level] < best_val + tol
            for j, b in enumerate(self.budgets):
                keep &= use[j] + rest_use[j][level] <= b.limit + use_tol[j]
            if not keep.all():
                pick, lag, obj = pick[keep], lag[keep], obj[keep]
                use = [a[keep] for a in use]
            if not len(pick):
                continue
            ev = evaluate_fixings_loaded(self.dag, lat_c[pick], cost_c[pick])  # unfixed: fastest
            if not ev.ok.all():
                pick, lag, obj = pick[ev.ok], lag[ev.ok], obj[ev.ok]
                use = [a[ev.ok] for a in use]
                ev = ev._replace(total=ev.total[ev.ok])
            if not len(pick):
                continue
            if level + 1 < V:
                order = np.argsort(lag, kind="stable")[::-1]  # the stack pops the least first
                for lo in range(0, len(order), chunk):
                    rows = order[lo:lo + chunk]
                    stack.append((level + 1, pick[rows], lag[rows], obj[rows],
                                  [a[rows] for a in use]))
                continue
            chunk = CHUNK  # complete choices: the first dive is over
            x, val = self._complete(pick, np.ones(len(pick), dtype=bool), ev.total, best_val)
            if x is not None:
                best_val, best_x = val, x
        return True, best_x

    def _flat(self, allowed: Mapping[str, np.ndarray], incumbent: float) -> Choice | None:
        """A small subproblem in one batch: every choice (mixed-radix digits, the last node
        fastest), the exact checks, no pruning."""
        ptr = self.cands.ptr
        sizes = [len(allowed[v]) for v in self.order]
        r = np.arange(math.prod(sizes), dtype=np.int64)
        pick = np.empty((len(r), len(sizes)), dtype=np.int64)  # candidate indices
        for c in range(len(sizes) - 1, -1, -1):
            r, d = np.divmod(r, sizes[c])
            pick[:, c] = ptr[c] + np.asarray(allowed[self.order[c]], dtype=np.int64)[d]
        ev = evaluate_fixings_loaded(self.dag, self.cands.lat[pick], self.cands.cost[pick])
        return self._complete(pick, ev.ok, ev.total, incumbent)[0]

    def _complete(self, pick: np.ndarray, ok: np.ndarray, total: np.ndarray, incumbent: float
                  ) -> tuple[Choice | None, float]:
        """Among complete choices (candidate indices, their SLA test and objective in column
        order, as :meth:`~fa2opt.problem.Problem.cost` adds), the least objective below
        ``incumbent`` within every budget (each summed in its one order), re-checked by
        :meth:`~fa2opt.problem.Problem.meets_slas`; (None, incumbent) when there is none."""
        ptr = self.cands.ptr
        ok = ok & (total < incumbent)
        for b in self.budgets:
            s = np.zeros(len(pick))
            for v in b.nodes:
                s += b.use[v][pick[:, self.col[v]] - ptr[self.col[v]]]
            ok &= s <= b.limit
        for i in np.flatnonzero(ok)[np.argsort(total[ok], kind="stable")]:
            x = {v: int(pick[i, c] - ptr[c]) for c, v in enumerate(self.order)}
            if self.problem.meets_slas(x):  # the rule itself, once, on the winner
                return x, float(total[i])
        return None, incumbent
