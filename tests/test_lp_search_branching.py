"""The extensions' LP search (fa2opt.extensions.lp_search) after the budget work of issue 13:
strong branching's child bounds, the roundings' shortcut and the SLA pass it switches to
must never drop a choice the search needs.

- a child's bound from its strong-branching LP (``_Search.probe``, used to drop or queue
  the child) is below the least objective of the child's choices (brute force), and its
  "empty" proof (inf) only where no choice meets the SLAs and budgets;
- ``_Search.hopeless`` (a rounding skipped before the SLA test) never refuses a choice that
  ``offer`` would take as the incumbent (ties and the tolerance edges drawn);
- the compiled SLA pass and the numpy twin give the same search (same bits, same nodes);
- regression: generated 36-50-node graphs with realistic budgets, unforced: fa2 = MILP.
"""

from __future__ import annotations

import math
import zlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fa2opt.extensions.lp_search as lp_search
import fa2opt.extensions.search as search
from fa2opt import available_methods, solve, verify
from fa2opt.extensions import budget_use
from fa2opt.extensions.leaf import BudgetArrays, Leaf
from fa2opt.verify import matches

from test_extension_search import _brute, _subproblem, value
from test_extensions import extended
from test_lp_search import FORCED, binding, forced

HAVE_MILP = "milp" in available_methods()


def _search(sub, moved, allowed) -> lp_search._Search:
    """An LP search over the subproblem ``allowed`` with no incumbent (nothing run yet)."""
    arrays = [BudgetArrays(b.nodes, b.use, b.limit) for b in moved]
    limits = [search.effective_limit(b) for b in moved]
    return lp_search._Search(sub, arrays, limits, allowed, [math.inf, None], lambda x: None,
                             lambda allow: None, Leaf(sub, arrays, limits), None, {}, 0)


def _in_flows(sub) -> bool:
    return all(v in {u for g in sub.flows for u in g.nodes} for v in sub.tables)


@settings(max_examples=80, deadline=None)
@given(inst=st.one_of(extended(), binding()), data=st.data())
def test_strong_branching_child_bounds_never_exceed_the_childs_optimum(inst, data) -> None:
    sub, moved, allowed = _subproblem(inst, data)
    if not moved or not _in_flows(sub):
        return
    s = _search(sub, moved, allowed)
    for _ in range(3):  # random children: a non-empty subset of each node's columns
        m = np.zeros(s.lp.n_lam, dtype=bool)
        for i in range(len(s.lp.nodes)):
            a, b = int(s.lp.ptr[i]), int(s.lp.ptr[i + 1])
            keep = data.draw(st.lists(st.booleans(), min_size=b - a, max_size=b - a))
            m[a:b] = keep
            if not m[a:b].any():
                m[a + data.draw(st.integers(0, b - a - 1))] = True
        want = _brute(sub, moved, s.allow(m))
        _, bound = s.probe(m)
        if bound is not None:
            assert bound <= want + 1e-9 * max(1.0, abs(want)), (bound, want)


@settings(max_examples=80, deadline=None)
@given(inst=st.one_of(extended(), binding()), data=st.data())
def test_a_hopeless_rounding_could_never_have_been_the_incumbent(inst, data) -> None:
    sub, moved, allowed = _subproblem(inst, data)
    if not moved or not _in_flows(sub):
        return
    s = _search(sub, moved, allowed)
    cols = np.asarray([int(s.lp.ptr[i]) + data.draw(st.integers(0, int(s.lp.ptr[i + 1] - s.lp.ptr[i]) - 1))
                       for i in range(len(s.lp.nodes))], dtype=np.int64)
    x = s.choice(cols)
    cost = sub.cost(x)
    s.best[0] = data.draw(st.sampled_from([math.inf, cost, math.nextafter(cost, math.inf),
                                           math.nextafter(cost, -math.inf), cost + 1.0,
                                           cost - 1.0]))
    within = all(budget_use(b, x) <= b.limit for b in moved)
    if s.hopeless(cols):
        assert not (within and cost < s.best[0]), (cost, s.best[0], within)


@pytest.mark.skipif(not HAVE_MILP, reason="formulations (Pyomo/HiGHS) not present")
def test_the_compiled_sla_pass_gives_the_same_search() -> None:
    """Same bits: the same incumbents, so the same nodes and answer."""
    from fa2opt import cpu_kernels
    from fa2opt.extensions.realistic import extended as with_set
    from fa2opt.generate import FAMILIES

    if not cpu_kernels.available():
        pytest.skip("Numba not available")
    rng = np.random.default_rng([7, zlib.crc32(b"shared(20, 3)"), 2])
    inst = with_set(FAMILIES["shared"][0](rng, 20, 3), "combined")
    runs = []
    for after in (math.inf, 0.0):
        with forced(**FORCED["lp"], NUMBA_AFTER_S=after):
            ans = solve(inst, "fa2", time_limit=60)
        assert ans.status == "optimal" and verify(inst, ans).ok
        runs.append((value(ans), ans.extra.get("lp_nodes"), ans.extra.get("lp_strong")))
    assert runs[0] == runs[1], runs
    assert runs[0][1], runs  # the LP search ran


@pytest.mark.skipif(not HAVE_MILP, reason="formulations (Pyomo/HiGHS) not present")
@pytest.mark.parametrize("family,size,which", [("random", (50,), "combined"),
                                               ("lattice", (6, 6), "combined"),
                                               ("random", (50,), "capacity")])
def test_realistic_budgets_on_mid_size_graphs_equal_the_milp(family, size, which) -> None:
    """Unforced (the LP search from LP_MIN_NODES nodes): a few dozen LP nodes each."""
    from fa2opt.extensions.realistic import extended as with_set
    from fa2opt.generate import FAMILIES

    rng = np.random.default_rng([7, zlib.crc32(f"{family}{size}".encode()), 1])
    inst = with_set(FAMILIES[family][0](rng, *size), which)
    assert inst is not None
    fa2, milp = solve(inst, "fa2", time_limit=60), solve(inst, "milp", time_limit=60)
    assert fa2.status == milp.status and fa2.status in ("optimal", "infeasible"), \
        (fa2.status, milp.status, fa2.message)
    if fa2.has_decision:
        assert verify(inst, fa2).ok and matches(fa2, milp), (value(fa2), value(milp))
