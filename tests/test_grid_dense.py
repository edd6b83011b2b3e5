"""fa2-grid on node reduction's dense trees: single-candidate coupling nodes are fixed before
the search (every arithmetic), the grid DP's memo and its folding of fixed leaves change no
value, and fa2-grid honours ``time_limit`` with a valid lower bound.

The audit instance these guard (tests/data/audit2/grid_dense_single_rows.json, 52 nodes of
mostly one row, a tree of ~10⁶ leaf occurrences) is run by tests/test_audit2_grid_dense.py."""

from __future__ import annotations

import json
import random
import sys
import time

import pytest

import fa2opt
from fa2opt.cli import main
from fa2opt.grid.coupling import GridRemainder, grid_arithmetic
from fa2opt.model import Config, Edge, Flow, Instance, Node
from fa2opt.pareto import EXACT_FRONTS, pareto_remainder
from fa2opt.problem import Problem
from fa2opt.reductions import Candidates, Chain, Decouple, ParetoPrune, SeriesParallel
from fa2opt.reductions.search import search
from fa2opt.reductions.sp_decompose import decompose
from fa2opt.reductions.sptree import Leaf, SPTree, count_leaves, reduce_tree

SEARCH = sys.modules["fa2opt.reductions.search"]  # the package re-exports the function


def mixed_rows_instance(rng: random.Random, n: int, flows: int, p: float) -> Instance:
    """A random DAG of n nodes (non-SP: the reduction duplicates nodes) where about half the
    nodes have a single row, the rest 3-4; ``flows`` flows over overlapping windows of it
    (shared nodes), SLAs between each flow's all-fastest latency and 1.5x it."""
    names = [f"v{i}" for i in range(n)]
    nodes = []
    for v in names:
        base = rng.uniform(5, 40)
        shapes = [(1, 1), (2, 1), (4, 2), (8, 2), (1, 4), (4, 4)]
        rows = rng.sample(shapes, 1 if rng.random() < 0.5 else rng.randint(3, 4))
        nodes.append(Node(v, tuple(Config(b, "cpu", float(u),
                                          round(base * (0.3 + 0.7 * b) * (0.2 + 0.8 / u), 3))
                                   for b, u in rows)))
    edges = [Edge(names[i], names[j], float(rng.choice([0, 0, 1])))
             for i in range(n) for j in range(i + 1, n) if rng.random() < p]
    members = [tuple(names[: n - f]) if f % 2 == 0 else tuple(names[f:]) for f in range(flows)]
    inst = Instance("mixed", tuple(nodes), tuple(edges),
                    tuple(Flow(f"f{f}", 10.0, 1.0, m) for f, m in enumerate(members)),
                    queueing="none")
    problem = Problem.from_instance(inst)
    fast = problem.flow_latencies(problem.fastest_choice())
    return inst.with_slas({f: round(t * rng.uniform(1.0, 1.5), 3) for f, t in fast.items()})


def recording(remainder, calls: list):
    """``remainder`` that records (leaf nodes of the tree, fixed nodes) of every call."""
    def rem(tree, budget, candidates, fixed=None, weight=None):
        calls.append((set(count_leaves(tree)), set(fixed or ())))
        return remainder(tree, budget, candidates, fixed, weight)
    return rem


@pytest.mark.parametrize("strategy", ["equal", "lagrange", "grid"])
def test_single_candidate_coupling_nodes_are_fixed_before_the_search(strategy, monkeypatch):
    """Every remainder call of the search sees each single-candidate coupling node of its tree
    fixed (none is ever a free leaf, i.e. never branched on), and the search stays exact
    (brute force; on the grid, the grid's own answer through fa2-grid brackets it)."""
    if strategy == "lagrange":
        monkeypatch.setattr(SEARCH, "LAGRANGE_MIN_SPACE", 0)
        monkeypatch.setattr(SEARCH, "FLOW_MIN_COUPLING", 10**6)
    chain = Chain([ParetoPrune(), SeriesParallel(), Decouple()])
    rng = random.Random(5)
    checked = 0
    for _ in range(40):
        inst = mixed_rows_instance(rng, rng.randint(5, 8), rng.randint(1, 3), rng.uniform(0.35, 0.6))
        problem = Problem.from_instance(inst)
        dp, inverse = chain.apply(problem)
        single = {w for w in dp.coupling if len(dp.candidates[w]) == 1}
        if not single or len(single) == len(dp.coupling):
            continue  # wanted: pinned and branched coupling nodes side by side
        calls: list = []
        if strategy == "equal":
            res = search(dp, recording(pareto_remainder, calls))
        elif strategy == "lagrange":
            arith = EXACT_FRONTS.__class__(EXACT_FRONTS.name, recording(pareto_remainder, calls),
                                           prices=True)
            res = search(dp, arith)
        else:
            g = grid_arithmetic(0.5, "down")
            res = search(dp, g.__class__(g.name, recording(g.remainder, calls),
                                         value=recording(g.value, calls)))
        assert calls
        for tree_nodes, fixed in calls:
            assert not (single & tree_nodes) - fixed, "a single-candidate node was left free"
        if strategy != "grid":
            ref = fa2opt.solve(inst, "brute-force")
            assert res.cost == pytest.approx(ref.cost, rel=1e-9)
            assert problem.meets_slas(chain.invert(res.choice, inverse))
        checked += 1
    assert checked >= 8


def unshared(tree: SPTree) -> SPTree:
    """The same expression with no sub-tree shared between places (a fresh object per
    place, as reduce_tree composes it)."""
    return reduce_tree(tree, lambda t: Leaf(t.node), lambda t: t, lambda t, vals: type(t)(tuple(vals)))


def test_grid_remainder_memo_and_folding_change_no_value():
    """On node reduction's trees (shared sub-trees, delays): the grid remainder with some
    nodes fixed (folded into whole steps by fix_steps) gives the same value, bit for bit,
    as the DP that keeps them as one-column leaves of cost 0 on an unshared copy of the tree
    (no memo hit), and the same column for every free node with one leaf; both roundings,
    several grid steps."""
    rng = random.Random(3)
    shared_trees = 0
    for trial in range(80):
        n = rng.randint(4, 9)
        names = [f"v{i}" for i in range(n)]
        preds = {v: tuple((names[i], rng.choice([0.0, 0.0, 1.3, 2.5]))
                          for i in range(j) if rng.random() < 0.5)
                 for j, v in enumerate(names)}
        tree, _ = decompose(names, preds)
        counts = count_leaves(tree)
        shared_trees += any(k > 1 for k in counts.values())
        cands = {}
        for v in names:
            k = rng.randint(1, 4)
            lat = sorted(rng.uniform(1, 30) for _ in range(k))
            cost = sorted((rng.uniform(1, 10) for _ in range(k)), reverse=True)
            cands[v] = Candidates(v, lat, cost, list(range(k)))
        fixed = {v: rng.randrange(len(cands[v])) for v in names
                 if counts[v] > 1 or rng.random() < 0.3}
        ref_cands = dict(cands)
        for v, k in fixed.items():  # fixed as a one-column leaf of cost 0 (the DP before)
            ref_cands[v] = Candidates(v, [cands[v].latency[k]], [0.0], [0])
        flat = unshared(tree)
        for mode in ("up", "down"):
            for grid_ms in (0.5, 1.0, 3.0):
                budget = rng.uniform(10, 120)
                got = GridRemainder(grid_ms, mode)(tree, budget, cands, fixed, None)
                want = GridRemainder(grid_ms, mode)(flat, budget, ref_cands, None, None)
                assert (got is None) == (want is None)
                if got is None:
                    continue
                assert got[0] == want[0]
                for v, k in got[1].items():
                    assert v not in fixed
                    if counts[v] == 1:
                        assert k == want[1][v]
    assert shared_trees >= 30


def _slow_instance() -> Instance:
    """A dense DAG whose grid search branches on several coupling nodes."""
    rng = random.Random(11)
    while True:
        inst = mixed_rows_instance(rng, 9, 2, 0.55)
        problem = Problem.from_instance(inst)
        dp, _ = Chain([ParetoPrune(), SeriesParallel(), Decouple()]).apply(problem)
        if sum(len(dp.candidates[w]) > 1 for w in dp.coupling) >= 3:
            return inst


def test_grid_time_limit_answers_time_limit_with_a_valid_lower_bound(tmp_path, capsys):
    """A limit spent before the search starts: ``time_limit`` with a verified choice (solve
    checks it) and a lower bound no higher than the optimum; a generous limit answers what
    no limit answers; the CLI takes --time-limit for fa2-grid."""
    inst = _slow_instance()
    ref = fa2opt.solve(inst, "brute-force")
    assert ref.status == "optimal"
    stopped = fa2opt.solve(inst, "fa2-grid", grid_ms=0.5, time_limit=1e-9)
    assert stopped.status == "time_limit", stopped.message
    assert stopped.has_decision and stopped.lower_bound is not None
    assert stopped.lower_bound <= ref.cost * (1 + 1e-9)
    free = fa2opt.solve(inst, "fa2-grid", grid_ms=0.5)
    roomy = fa2opt.solve(inst, "fa2-grid", grid_ms=0.5, time_limit=600)
    assert free.status in ("optimal", "feasible")
    assert (roomy.status, roomy.cost, roomy.lower_bound) == (free.status, free.cost, free.lower_bound)
    path = tmp_path / "dense.json"
    fa2opt.io.dump_instance(inst, path)
    assert main(["solve", str(path), "-m", "fa2-grid", "--time-limit", "1e-9", "--json"]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert answer["status"] == "time_limit" and answer["lower_bound"] <= ref.cost * (1 + 1e-9)


@pytest.mark.slow
def test_grid_time_limit_stops_a_long_search_with_the_down_pass_root_bound():
    """A 3x12 lattice (the large families' generator) whose grid search runs for minutes:
    with a 1 s limit fa2-grid answers ``time_limit`` in about that time (generous slack on a
    shared machine), with a lower bound between the relaxation without SLAs and fa2's
    proven optimum -- the down pass's root bound, not the fallback."""
    import zlib

    import numpy as np

    from fa2opt.extensions import declare, relaxed_bound
    from fa2opt.generate.families import FAMILIES

    rng = np.random.default_rng([2026, zlib.crc32(b"lattice(3, 12)"), 0])
    inst = FAMILIES["lattice"].generator(rng, 3, 12)
    exact = fa2opt.solve(inst, "fa2")
    assert exact.status == "optimal"
    stopped = fa2opt.solve(inst, "fa2-grid", time_limit=1.0)
    assert stopped.status == "time_limit", stopped.message
    assert stopped.solve_ms < 1000 + 4000
    problem = Problem.from_instance(inst)
    floor = relaxed_bound(problem, declare(problem, ()))
    assert floor < stopped.lower_bound <= exact.cost * (1 + 1e-9) <= stopped.cost * (1 + 1e-9)


def test_the_equal_split_search_stops_between_the_bounds_of_one_node():
    """A search node bounds each candidate of its coupling node by a DP per flow (the grid's
    take seconds on large trees): the deadline is checked before each, not only when a node
    is entered, so a stopped search overruns by one DP, not by a node's candidates (an
    audit's 42-node instance: ``--time-limit 5`` answered after 14.8 s)."""
    from test_fa2 import random_dag_instance
    from test_flow_bound import decoupled

    for seed in range(400):  # a drawn non-SP graph whose first coupling node has 4+ candidates
        _, dp = decoupled(random_dag_instance(random.Random(seed), 8, 6, 0.6))
        if (dp.coupling and len(dp.candidates[dp.coupling[0]]) >= 4
                and all(c.positions for c in dp.candidates.values())):
            break
    else:
        pytest.fail("no drawn graph with a coupling node of 4 candidates")
    calls = []

    def slow(*args):
        calls.append(time.perf_counter())
        time.sleep(0.05)
        return pareto_remainder(*args)

    t0 = time.perf_counter()
    res = SEARCH._equal_split_search(dp, slow, t0 + 0.07)
    assert res is not None and res.timed_out
    # the first node's candidates: 2 bounds until the deadline, then the root's bound (a
    # DP per flow); without the check every candidate's bound would run first
    assert len(calls) < len(dp.candidates[dp.coupling[0]]) + len(dp.flows), len(calls)
