"""Brute force a chunk at a time: the answer of one pass over all combinations bit for bit
(same status, same choice -- ties to the first cheapest -- same objective) for any chunk
size, memory O(chunk · V) instead of O(C · V) (2·10^6 combinations × 200 nodes held several
GB at once), and ``time_limit`` honoured with a verified incumbent and a valid bound."""

from __future__ import annotations

import json
import math
import tracemalloc
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings

import fa2opt
from fa2opt.baselines import brute_force as bf
from fa2opt.cli import main
from fa2opt.extensions import RowFilter, RowTerm, declare
from fa2opt.io import instance_from_dict
from fa2opt.problem import Problem
from fa2opt import spec

from strategies import instances
from test_extensions import extended


def one_pass(problem: Problem, blocks: list) -> tuple[str, dict[str, int] | None, float | None]:
    """The enumeration before chunks (every combination's arrays at once, one argmin), kept
    here as the reference: its status, choice and objective value."""
    names = problem.node_names
    shape = tuple(len(problem.tables[v]) for v in names)
    total = math.prod(shape)
    idx = dict(zip(names, np.unravel_index(np.arange(total), shape)))
    lat = {v: problem.tables[v].latency_ms[idx[v]] for v in names}
    value = sum(problem.tables[v].cost[idx[v]] for v in names)
    ok = np.ones(total, dtype=bool)
    for g in problem.flows:
        ok &= spec.longest_path(g.nodes, g.preds, lat, np.maximum) <= spec.budget_ms(g.sla_ms)
    for b in blocks:
        if isinstance(b, RowFilter):
            for v, allowed in b.allowed.items():
                ok &= allowed[idx[v]]
        elif isinstance(b, RowTerm):
            for v in names:
                if v in b.term:
                    value = value + b.term[v][idx[v]]
        else:
            used = np.zeros(total)
            for v in b.nodes:
                used = used + b.use[v][idx[v]]
            ok &= used <= b.limit
    if not ok.any():
        return "infeasible", None, None
    best = int(np.argmin(np.where(ok, value, np.inf)))
    return "optimal", {v: int(idx[v][best]) for v in names}, float(value[best])


def assert_chunks_agree(inst: fa2opt.Instance, chunks: tuple[int, ...] = (1, 2, 3, 7, 64)) -> None:
    problem = Problem.from_instance(inst)
    if problem.empty_nodes:
        return
    blocks = declare(problem, fa2opt.extensions.requested(inst, None))
    status, choice, value = one_pass(problem, blocks)
    shape = tuple(len(problem.tables[v]) for v in problem.node_names)
    for chunk in chunks:
        s = bf.search(problem, blocks, bf.Search(math.prod(shape)), chunk)
        assert s.finished
        got = None if s.best is None else bf.combination(s.best, shape, problem.node_names)
        assert got == choice, chunk
        if got is not None:
            assert s.value == value, chunk  # the same bits, not just close
    d = bf.BruteForceSolver().decide(problem)
    assert (d.status, d.choice) == (status, choice)


@settings(max_examples=60)
@given(instances(max_nodes=5, max_configs=4))
def test_chunks_equal_one_pass(inst: fa2opt.Instance) -> None:
    assert_chunks_agree(inst)


@settings(max_examples=60)
@given(extended())
def test_chunks_equal_one_pass_with_extensions(inst: fa2opt.Instance) -> None:
    assert_chunks_agree(inst)


def _chain(n: int, two: int, sla_slack: float = 0.25) -> dict[str, Any]:
    """A chain of n nodes; the first ``two`` have a fast row (2 units, 1 ms, cost 2) and a
    slow one (1 unit, 1.5 ms, cost 1), the others the fast row only. The SLA lets
    ``sla_slack · two / 0.5`` nodes be slow: many ties, and an optimum known by hand."""
    fast = {"batch": 1, "hardware": "cpu", "units": 2, "latency_ms": 1.0}
    slow = {"batch": 1, "hardware": "cpu", "units": 1, "latency_ms": 1.5}
    nodes = [{"name": f"n{i}", "configs": [fast, slow] if i < two else [fast]} for i in range(n)]
    return {"sla_ms": 1.0 * n + sla_slack * two, "rate_rps": 1, "queueing": "none",
            "nodes": nodes, "edges": [[f"n{i}", f"n{i + 1}"] for i in range(n - 1)]}


def test_ties_go_to_the_first_cheapest_whatever_the_chunk() -> None:
    # 10 two-row nodes, 5 of them may be slow: C(10, 5) = 252 cheapest combinations
    assert_chunks_agree(instance_from_dict(_chain(12, 10)), chunks=(1, 3, 5, 100, 251, 1024))
    # every combination ties (all rows cost the same): the very first one wins
    doc = _chain(6, 6, sla_slack=1.0)
    for n in doc["nodes"]:
        n["configs"] = [{**c, "units": 1, "variant": v} for c, v in zip(n["configs"], "ab")]
    assert_chunks_agree(instance_from_dict(doc))


@pytest.mark.parametrize("shape", [(3, 1, 4, 2, 5), (7,), (1, 1, 1), (2, 9, 1, 3)])
def test_unravel_is_numpys_from_any_start(shape: tuple[int, ...]) -> None:
    total = math.prod(shape)
    ref = np.unravel_index(np.arange(total), shape)
    for start in range(total):
        for count in {1, 2, 5, total - start}:
            count = min(count, total - start)
            got = bf.unravel(start, count, shape)
            assert all(np.array_equal(g, r[start:start + count]) for g, r in zip(got, ref))


def test_unravel_past_int64() -> None:
    shape = (3,) * 90  # 3^90 ≈ 10^43 combinations
    start = 3**90 - 5
    got = bf.unravel(start, 5, shape)
    for j in range(5):
        assert [int(a[j]) for a in got] == bf._digits(start + j, shape)


def test_memory_is_a_chunk_not_all_combinations() -> None:
    """2^18 combinations over 200 nodes: one pass held C · V · 8 bytes per array (420 MB,
    several of them); chunks stay near CHUNK_ELEMENTS whatever C is."""
    assert bf.chunk_size(200) * 200 <= bf.CHUNK_ELEMENTS
    assert bf.chunk_size(1) == bf.MAX_CHUNK and bf.chunk_size(10**7) == 1
    inst = instance_from_dict(_chain(200, 18))
    problem = Problem.from_instance(inst)
    tracemalloc.start()
    try:
        answer = fa2opt.solve(problem, "brute-force")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert answer.status == "optimal" and answer.cost == 2 * 200 - 9
    one_array = 2**18 * 200 * 8
    assert peak < min(one_array / 4, 8 * 8 * bf.CHUNK_ELEMENTS), peak / 2**20


# -- time_limit -------------------------------------------------------------------------------
def test_time_limit_answers_a_verified_incumbent_and_a_bound_below_the_optimum() -> None:
    """2^40 combinations: no chance to finish in 0.3 s. The optimum is known by hand (20 of
    the 40 nodes slow: 2 · 40 − 20 = 60)."""
    inst = instance_from_dict(_chain(40, 40))
    answer = fa2opt.solve(inst, "brute-force", max_combinations=2**41, time_limit=0.3)
    assert answer.status == "time_limit", answer.message
    assert answer.has_decision  # the first chunk holds combinations meeting the SLA
    assert fa2opt.verify(inst, answer).ok
    assert answer.lower_bound is not None and answer.lower_bound <= 60 <= answer.cost
    assert 0 < answer.extra["combinations_enumerated"] < 2**40
    assert "combinations enumerated" in answer.message


def test_time_limit_before_any_feasible_combination_answers_no_incumbent(monkeypatch) -> None:
    """Stopped before the first chunk (a deadline already past): no incumbent, and the base
    class's relaxation bound, still ≤ the optimum."""
    real = bf.search
    monkeypatch.setattr(bf, "search", lambda p, b, s, c, d: real(p, b, s, c, -math.inf))
    inst = instance_from_dict(_chain(8, 8))
    answer = fa2opt.solve(inst, "brute-force", time_limit=1.0)
    assert answer.status == "time_limit" and not answer.has_decision
    assert answer.lower_bound is not None and answer.lower_bound <= 2 * 8 - 4
    assert answer.extra["combinations_enumerated"] == 0


def test_a_time_limit_it_meets_changes_nothing() -> None:
    inst = instance_from_dict(_chain(12, 10))
    plain, timed = fa2opt.solve(inst, "brute-force"), fa2opt.solve(inst, "brute-force",
                                                                     time_limit=60)
    assert timed.status == plain.status == "optimal"
    assert timed.nodes == plain.nodes and timed.cost == plain.cost == 2 * 12 - 5


def test_cli_takes_time_limit(tmp_path, capsys) -> None:
    path = tmp_path / "chain.json"
    path.write_text(json.dumps(_chain(40, 40)))
    rc = main(["solve", str(path), "-m", "brute-force", "--max-combinations", str(2**41),
               "--time-limit", "0.2", "--json"])
    out = json.loads(capsys.readouterr().out)
    assert rc == 0 and out["status"] == "time_limit" and out["lower_bound"] <= 60
    assert main(["solve", str(path), "-m", "brute-force", "--time-limit", "0"]) == 2
    assert "--time-limit" in capsys.readouterr().err
