"""The extensions' exact search (issue 14): dominance, per-row bounds, the pruned batched
enumeration leaf and the dichotomy split of :mod:`fa2opt.extensions.search` /
:mod:`fa2opt.extensions.leaf`, each against brute force (and the MILP where present) on
property-generated extended instances, with the search forced down one path at a time."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from helpers import module_constants
import fa2opt.extensions.leaf as leaf_module
import fa2opt.extensions.search as search
from fa2opt import Problem, available_methods, solve, verify
from fa2opt.extensions import allowed_rows, budgets, declare, extensions_of, row_objective
from fa2opt.extensions.leaf import BudgetArrays, Leaf, choices, tighten, undominated
from fa2opt.extensions.solve import _moved
from fa2opt.io import instance_from_dict
from fa2opt.solver import get_solver
from fa2opt.verify import matches

from test_extensions import extended

HAVE_MILP = "milp" in available_methods()

# the search's knobs for each path: the B&B alone (no leaf), the leaf alone, and the leaf
# given up after a few partial choices (B&B and leaves mixed)
# (the leaf's one-batch path for ≤ FLAT_CHOICES choices is switched off except in "leaf-flat":
# the instances here are that small, and the pruned depth-first path must be the one tested)
NO_FLAT = dict(FLAT_CHOICES=0)
PATHS = {
    "bb-dichotomy": dict(LEAF_CHOICES=0, LEAF_WORK=0, ROOT_LEAF_WORK=(0, 0), SPLIT="dichotomy"),
    "bb-murty": dict(LEAF_CHOICES=0, LEAF_WORK=0, ROOT_LEAF_WORK=(0, 0), SPLIT="murty"),
    "leaf": dict(LEAF_CHOICES=10**12, ROOT_LEAF_WORK=(None, None), **NO_FLAT),
    "leaf-flat": dict(LEAF_CHOICES=10**12, ROOT_LEAF_WORK=(None, None)),
    "leaf-given-up": dict(LEAF_CHOICES=1, LEAF_WORK=7, ROOT_LEAF_WORK=(3, 5), **NO_FLAT),
}


def knobs(**values):
    """Set search (and, for FLAT_CHOICES, leaf) module constants for the block."""
    return module_constants([search] + ([leaf_module] if "FLAT_CHOICES" in values else []),
                            **values)


def value(ans) -> float:
    return ans.cost if ans.objective is None else ans.objective


def test_the_issue_instance_is_proven_optimal() -> None:
    """5 nodes, 295,680 choices, capacity + accuracy floor + switch: the Murty split alone
    hit MAX_SUBPROBLEMS (time_limit); now optimal, equal to brute force and the MILP."""
    from fa2opt.generate import generate_suite

    inst = generate_suite("mixed", 6, seed=3, extensions="combined")[2]
    fa2 = solve(inst, "fa2", time_limit=60)
    assert fa2.status == "optimal", (fa2.status, fa2.message, fa2.extra)
    assert verify(inst, fa2).ok
    refs = [solve(inst, "brute-force")] + ([solve(inst, "milp")] if HAVE_MILP else [])
    for ref in refs:
        assert ref.status == "optimal" and matches(fa2, ref), (ref.method, value(fa2), value(ref))
    assert fa2.extra["bb_subproblems"] < 100


@pytest.mark.parametrize("path", sorted(PATHS))
@settings(max_examples=60, deadline=None)
@given(inst=extended())
def test_each_search_path_equals_brute_force(path, inst) -> None:
    ref = solve(inst, "brute-force")
    with knobs(**PATHS[path]):
        ans = solve(inst, "fa2")
    assert ans.status == ref.status, (path, ans.status, ref.status, ans.message)
    if ans.has_decision:
        assert verify(inst, ans).ok, verify(inst, ans).summary()
        assert matches(ans, ref), (path, value(ans), value(ref))


def _subproblem(inst, data):
    """The reshaped problem of ``inst``, its budgets (also as arrays), and a random
    subproblem (a non-empty random subset of every node's rows)."""
    problem = Problem.from_instance(inst)
    blocks = declare(problem, extensions_of(inst))
    sub, pos, _ = search.reshaped(problem, allowed_rows(problem, blocks),
                                  row_objective(problem, blocks))
    moved = [_moved(b, pos) for b in budgets(blocks)]
    # a node the extensions leave without rows: branch_and_bound answers infeasible before
    # any leaf or LP (extensions.search, checked by the tests above); not a subproblem here
    assume(all(len(t) for t in sub.tables.values()))
    allowed = {}
    for v, t in sub.tables.items():
        keep = data.draw(st.lists(st.booleans(), min_size=len(t), max_size=len(t)), label=v)
        a = np.flatnonzero(keep)
        allowed[v] = a if len(a) else np.arange(len(t))
    return sub, moved, allowed


def _brute(sub, moved, allowed) -> float:
    """The least objective over the subproblem's choices meeting SLAs and budgets."""
    import itertools

    from fa2opt.extensions import budget_use

    order = list(sub.tables)
    best = math.inf
    for pick in itertools.product(*(allowed[v].tolist() for v in order)):
        x = dict(zip(order, pick))
        if sub.meets_slas(x) and all(budget_use(b, x) <= b.limit for b in moved):
            best = min(best, sub.cost(x))
    return best


@settings(max_examples=80, deadline=None)
@given(inst=extended(), data=st.data())
def test_leaf_equals_branch_and_bound_on_random_subproblems(inst, data) -> None:
    """On a random subproblem: the leaf (any multipliers: every μ ≥ 0 gives a valid bound)
    = the branch and bound without leaves = brute force over the subproblem."""
    problem = Problem.from_instance(inst)
    if problem.empty_nodes:
        return
    sub, moved, allowed = _subproblem(inst, data)
    if not moved:
        return
    arrays = [BudgetArrays(b.nodes, b.use, b.limit) for b in moved]
    leaf = Leaf(sub, arrays, [search.effective_limit(b) for b in moved])
    exact = get_solver("fa2").exact_base
    want = _brute(sub, moved, allowed)
    mus = [leaf.multipliers(allowed), [data.draw(st.sampled_from([0.0, 0.3, 5.0, 1e3]))
                                       for _ in moved]]
    above = want + 1e-6 * max(1.0, abs(want))  # an incumbent just above: pruning at work
    for mu, flat in [(m, f) for m in mus for f in (True, False)]:
        for incumbent in (math.inf, above):
            with knobs(**({} if flat else NO_FLAT)):
                finished, x = leaf.best(allowed, incumbent, mu)
            assert finished
            got = math.inf if x is None else sub.cost(x)
            assert got == want or abs(got - want) <= 1e-9 * max(1.0, abs(want)), \
                (mu, incumbent, got, want)
    with knobs(**PATHS["bb-dichotomy"]):
        r = search.branch_and_bound(sub, moved, exact, allowed=allowed)
    assert r.status in ("optimal", "infeasible")
    got = math.inf if r.choice is None else sub.cost(r.choice)
    assert abs(got - want) <= 1e-9 * max(1.0, abs(want)) or got == want, (got, want)


@settings(max_examples=60, deadline=None)
@given(inst=extended(), data=st.data())
def test_dominance_and_row_bounds_keep_the_optimum(inst, data) -> None:
    """``undominated`` and ``tighten`` (with the optimum as incumbent + a little) drop rows
    but never the subproblem's optimum value; the dichotomy split partitions its parent."""
    problem = Problem.from_instance(inst)
    if problem.empty_nodes:
        return
    sub, moved, allowed = _subproblem(inst, data)
    arrays = [BudgetArrays(b.nodes, b.use, b.limit) for b in moved]
    want = _brute(sub, moved, allowed)
    kept = undominated(sub, arrays, allowed)
    assert _brute(sub, moved, kept) == want
    if math.isfinite(want):
        t = tighten(sub, arrays, kept, want + 1e-6 * max(1.0, abs(want)))
        assert t is not None and _brute(sub, moved, t) == want
    if moved and all(len(a) for a in allowed.values()):
        # the split (needs a row at every node): disjoint children whose union is the parent
        y = {v: int(a[0]) for v, a in allowed.items()}
        lists = [(b.nodes, {v: b.use[v].tolist() for v in b.nodes}, b.limit) for b in moved]
        uses = [{v: np.asarray(b.use[v], dtype=float) for v in b.nodes} for b in moved]
        kids = search.dichotomy(allowed, y, [1.0] * len(moved), uses, lists,
                                [b.limit + 1e6 for b in moved])
        if kids is not None:
            assert len(kids) == 2 and all(choices(k, list(k)) > 0 for k in kids)
            assert sum(choices(k, list(k)) for k in kids) == choices(allowed, list(allowed))
            split = [v for v in allowed if not all(np.array_equal(k[v], allowed[v]) for k in kids)]
            assert len(split) == 1
            a, b = (k[split[0]] for k in kids)
            assert not set(a.tolist()) & set(b.tolist())
            assert sorted(a.tolist() + b.tolist()) == allowed[split[0]].tolist()


@pytest.mark.skipif(not HAVE_MILP, reason="formulations (Pyomo/HiGHS) not present")
def test_generated_suite_with_every_extension_equals_the_milp() -> None:
    """The main job's generated suite (mixed, every extension): fa2 = MILP, all proven."""
    from fa2opt.generate import generate_suite

    for inst in generate_suite("mixed", 12, seed=0, extensions="combined"):
        fa2, milp = solve(inst, "fa2"), solve(inst, "milp")
        assert fa2.status == milp.status and fa2.status in ("optimal", "infeasible"), inst.name
        if fa2.has_decision:
            assert verify(inst, fa2).ok and matches(fa2, milp), inst.name


@pytest.mark.skipif(not HAVE_MILP, reason="formulations (Pyomo/HiGHS) not present")
def test_bench_extensions_parts_write_their_csvs(tmp_path, capsys) -> None:
    """A tiny run of every part of scripts/bench_extensions.py: a CSV per part and family,
    every row matched, a SUMMARY line per part."""
    import csv
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "scripts" / "bench_extensions.py"
    spec = importlib.util.spec_from_file_location("bench_extensions", path)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    assert bench.main(["--repeat", "1", "--pipelines", str(path.parents[1] / "tests" / "data"
                                                            / "spec_examples"),
                       "--generated", "2", "--families", "small", "--sizes", "2",
                       "--sets", "capacity", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert out.count("SUMMARY") == 3
    for name in ("pipelines", "generated", "family-small"):
        rows = list(csv.DictReader((tmp_path / f"{name}.csv").open()))
        assert rows and all(r["match"] == "yes" for r in rows), name


def _pairwise_undominated(cols: list[np.ndarray]) -> np.ndarray:
    """The definition, pairwise: j dominates k when ≤ everywhere and < somewhere, or equal
    and j < k (what ``undominated`` computed as K×K masks until audit 18)."""
    n = len(cols[0])
    dom = np.ones((n, n), dtype=bool)
    strict = np.triu(np.ones((n, n), dtype=bool), 1)
    for c in cols:
        dom &= c[:, None] <= c[None, :]
        strict |= c[:, None] < c[None, :]
    dom &= strict
    np.fill_diagonal(dom, False)
    return ~dom.any(axis=0)


@settings(max_examples=200, deadline=None)
@given(data=st.data(), d=st.integers(1, 4), n=st.integers(1, 40),
       block=st.sampled_from([1, 3, 7, 512]))
def test_undominated_rows_is_the_pairwise_definition(data, d: int, n: int, block: int) -> None:
    """The sweep in blocks (:func:`fa2opt.extensions.leaf.undominated_rows`) keeps exactly
    the rows the pairwise definition keeps: ties, −0.0 beside 0.0, identical rows (the
    first kept), blocks of 1, 3 and 7 rows and one block."""
    values = st.sampled_from([-2.0, -0.0, 0.0, 0.5, 1.0, 3.0])
    cols = [np.array(data.draw(st.lists(values, min_size=n, max_size=n))) for _ in range(d)]
    saved = leaf_module.BLOCK
    leaf_module.BLOCK = block
    try:
        got = leaf_module.undominated_rows(cols)
    finally:
        leaf_module.BLOCK = saved
    assert (got == _pairwise_undominated([c + 0.0 for c in cols])).all()


def test_the_dominance_pass_and_the_root_lp_stop_at_the_deadline(monkeypatch) -> None:
    """Audit 18's leftover: the dominance pass over a node's rows (60,000 rows in an
    antichain: ~8 s) checked no deadline. It checks the deadline in force once per block,
    and the budget search runs it (and its root LP) under its own (``staged``): past it,
    ``_Stopped`` (the search answers ``time_limit``); with no deadline nothing is checked."""
    import time

    from fa2opt.deadline import DPDeadline, stop_at

    cols = [np.arange(3 * leaf_module.BLOCK, dtype=float), -np.arange(3 * leaf_module.BLOCK,
                                                                      dtype=float)]
    with stop_at(time.perf_counter() - 1.0), pytest.raises(DPDeadline):
        leaf_module.undominated_rows(cols)
    assert leaf_module.undominated_rows(cols).all()  # (an antichain: every row kept)
    passed = time.perf_counter() - 1.0
    with pytest.raises(search._Stopped):
        search.staged(passed, lambda: leaf_module.undominated_rows(cols))
    assert search.staged(None, lambda: 7) == 7
    assert search.staged(time.perf_counter() + 60.0, lambda: 7) == 7


def test_a_node_of_many_rows_is_filtered_in_little_memory() -> None:
    """Audit 18: 30,000 rows on one node with a capacity the cheapest plan breaks took
    3.6 GB and 8 s under a 1 s limit (the K×K masks); 60,000 ran out of memory. Now the
    sweep holds blocks: a few MB. The optimum is 10 (every cpu row needs a unit, over the
    capacity of 0.5: both nodes take a gpu row of one unit at price 5)."""
    rows = [{"batch": 1, "hardware": "cpu" if i % 2 == 0 else "gpu", "units": 1 + i % 7,
             "latency_ms": 10.0 + (i % 997) * 0.01, "variant": f"v{i}"} for i in range(30_000)]
    inst = instance_from_dict({
        "sla_ms": 1e6, "rate_rps": 10, "prices": {"cpu": 1.0, "gpu": 5.0},
        "capacity": {"cpu": 0.5},
        "nodes": [{"name": "a", "configs": rows},
                  {"name": "b", "configs": [
                      {"batch": 1, "hardware": "cpu", "units": 1, "latency_ms": 5.0},
                      {"batch": 1, "hardware": "gpu", "units": 1, "latency_ms": 5.0}]}],
        "edges": [["a", "b"]]})
    import tracemalloc  # (numpy's arrays are traced too)
    tracemalloc.start()
    try:
        answer = solve(inst, "fa2", time_limit=30)
        peak_mib = tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()
    assert answer.status == "optimal" and answer.cost == 10.0, answer.message
    assert peak_mib < 200, peak_mib
