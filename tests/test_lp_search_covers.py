"""The extensions' LP search (fa2opt.extensions.lp_search) with the latency limits (issue 13,
"pools with budgets"): every row the latency limits drop (at the root,
:func:`.leaf.within_limits`, and per subproblem, ``_Search.tighten``) is in no choice that
meets the SLAs and budgets (brute force on property-generated extended instances), and an
infeasible capacity is still proven by the root LP's dual ray."""

from __future__ import annotations

import itertools
import math

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import fa2opt.extensions.lp_search as lp_search
import fa2opt.extensions.search as search
from fa2opt import available_methods, solve
from fa2opt.extensions import budget_use
from fa2opt.extensions.leaf import BudgetArrays, Leaf, within_limits

from test_extension_search import _subproblem
from test_extensions import extended
from test_lp_search import binding

HAVE_MILP = "milp" in available_methods()


def _feasible(sub, moved, allowed) -> list[dict[str, int]]:
    """Every choice of the subproblem that meets the SLAs and the budgets."""
    order = list(sub.tables)
    out = []
    for pick in itertools.product(*(allowed[v].tolist() for v in order)):
        x = dict(zip(order, pick))
        if sub.meets_slas(x) and all(budget_use(b, x) <= b.limit for b in moved):
            out.append(x)
    return out


def _search(sub, moved, allowed) -> lp_search._Search:
    arrays = [BudgetArrays(b.nodes, b.use, b.limit) for b in moved]
    limits = [search.effective_limit(b) for b in moved]
    return lp_search._Search(sub, arrays, limits, allowed, [math.inf, None], lambda x: None,
                             lambda allow: None, Leaf(sub, arrays, limits), None, {}, 0)


def _drawn(inst, data):
    """A random subproblem of ``inst`` (None where it has no budget or a node in no flow)
    and every choice of it that meets the SLAs and budgets."""
    sub, moved, allowed = _subproblem(inst, data)
    if not moved or not all(v in {u for g in sub.flows for u in g.nodes} for v in sub.tables):
        return None
    return sub, moved, allowed, _feasible(sub, moved, allowed)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(inst=st.one_of(extended(), binding()), data=st.data())
def test_latency_limits_keep_every_feasible_choice(inst, data) -> None:
    drawn = _drawn(inst, data)
    if drawn is None:
        return
    sub, moved, allowed, feasible = drawn
    # the root's limits: over every row, against every choice that meets the SLAs
    every = {v: np.arange(len(t)) for v, t in sub.tables.items()}
    kept = within_limits(sub, every)
    for x in _feasible(sub, [], every):
        assert all(x[v] in kept[v] for v in x)
    # a subproblem's: tighten keeps every column of every feasible choice
    s = _search(sub, moved, allowed)
    m = s.tighten(np.ones(s.lp.n_lam, dtype=bool))
    assert m is not None or not feasible  # None only where no choice is left
    for x in feasible:
        assert m[[s.blp.col[v][x[v]] for v in s.lp.nodes]].all()


def test_an_infeasible_capacity_is_proven_at_the_root() -> None:
    """A 10x10 lattice with a capacity no choice meets: the root LP's dual ray proves it.
    With its rows within their latency limits, (1)'s conservative flows lost the ray's path
    rows and the search proved it in 6,779 subproblems; (5)'s form keeps them."""
    from fa2opt.extensions.realistic import extended as with_set
    from fa2opt.generate import lattice

    inst = with_set(lattice(np.random.default_rng(0), 10, 10), "capacity")
    fa2 = solve(inst, "fa2", time_limit=20)
    assert fa2.status == "infeasible", (fa2.status, fa2.extra)
    assert fa2.extra.get("lp_farkas") == 1 and "lp_nodes" not in fa2.extra, fa2.extra
    if HAVE_MILP:
        assert solve(inst, "milp", time_limit=60).status == "infeasible"
