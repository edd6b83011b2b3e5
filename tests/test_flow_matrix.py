"""The SLA rule for many flows at once (:func:`fa2opt.spec.finish_matrix`,
:func:`~fa2opt.spec.longest_paths`) gives every flow's latency to the last bit of the
per-flow loops, wherever it is used: the verifier's checks, the problem's SLA checks and the
pruning's latency limits."""

from __future__ import annotations

import importlib

import numpy as np
import pytest

from fa2opt import spec
from fa2opt.generate import many_flows, shared_flows
from fa2opt.model import Instance

verify_module = importlib.import_module("fa2opt.verify")  # (the package exports the function)


@pytest.fixture(autouse=True)
def _matrices(monkeypatch) -> None:
    """The matrices wherever there are enough flows (the cost model would leave the small
    sparse draws to the loops: :func:`fa2opt.spec.matrix_pays`, tested on its own below)."""
    monkeypatch.setattr(spec, "MATRIX_NODE_STEPS", 0)
    monkeypatch.setattr(spec, "MATRIX_CELLS_PER_STEP", 1e12)


def _instances() -> list[Instance]:
    rng = np.random.default_rng(11)
    return [many_flows(rng, 5, 4, 40, p_latency=0.5), many_flows(rng, 3, 2, 9),
            shared_flows(rng, 40, 12, p_latency=0.5), shared_flows(rng, 25, 8)]


def _latencies(inst: Instance, rng: np.random.Generator) -> dict[str, float]:
    """Node latencies with every bit of the mantissa in use (sums then round)."""
    return {n.name: float(rng.uniform(0.1, 100.0)) for n in inst.nodes}


@pytest.mark.parametrize("k", range(4))
def test_the_verifier_s_matrices_give_the_loops_bits(k: int) -> None:
    inst = _instances()[k]
    assert len(inst.flows) >= spec.MATRIX_MIN_FLOWS
    arrays = verify_module._arrays(inst)
    assert arrays is not None
    rng = np.random.default_rng(k)
    for _ in range(5):
        lat = _latencies(inst, rng)
        assert verify_module._flow_latencies(inst, lat, arrays) == \
            verify_module._flow_latencies(inst, lat, None)
    assert verify_module._rate_sums(inst, arrays) == verify_module._rate_sums(inst, None)


def test_blocks_of_flows_give_the_same_latencies(monkeypatch) -> None:
    inst = _instances()[0]
    arrays = verify_module._arrays(inst)
    lat = _latencies(inst, np.random.default_rng(5))
    whole = verify_module._flow_latencies(inst, lat, arrays)
    monkeypatch.setattr(spec, "MATRIX_CELLS", 7)  # one flow per block
    assert len(list(spec.flow_blocks(len(inst.nodes), len(inst.flows)))) == len(inst.flows)
    assert verify_module._flow_latencies(inst, lat, arrays) == whole


def test_the_backward_pass_gives_the_tails() -> None:
    """Over reversed edges in reverse order, the start of each node is the longest path
    after it (its successors' tails plus the edge delays, at least 0)."""
    # a → b → d, a → c → d (c slower), d → e; flow 0 all, flow 1 without c
    ptr, src = [0, 2, 3, 4, 5, 5], np.array([1, 2, 3, 3, 4])
    delay = np.array([0.5, 1.0, 0.0, 2.0, 0.25])
    member = np.array([[1, 1], [1, 1], [1, 0], [1, 1], [1, 1]], dtype=bool)
    lat = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    tail, start = spec.finish_matrix(ptr, src, delay, member, lat, range(4, -1, -1), True)
    assert tail[:, 0].tolist() == [1 + 1 + 3 + 2 + 4 + 0.25 + 5, 2 + 4 + 0.25 + 5,
                                   3 + 2 + 4 + 0.25 + 5, 4 + 0.25 + 5, 5.0]
    assert tail[2, 1] == -np.inf and start[2, 1] == 0.0
    assert tail[0, 1] == 1 + 0.5 + 2 + 4 + 0.25 + 5 and start[0, 1] == 0.5 + 2 + 4 + 0.25 + 5


def _loops(monkeypatch) -> None:
    """From here on the per-flow loops decide (no flow count reaches the matrices)."""
    monkeypatch.setattr(spec, "MATRIX_MIN_FLOWS", 10**9)


@pytest.mark.parametrize("k", range(4))
def test_the_problem_s_checks_and_the_pruning_give_the_loops_bits(monkeypatch, k: int) -> None:
    from fa2opt.flow_matrix import flow_matrix
    from fa2opt.problem import Problem
    from fa2opt.reductions import pruning

    problem = Problem.from_instance(_instances()[k])
    assert flow_matrix(problem.flows) is not None
    rng = np.random.default_rng(k)
    choices = [{v: int(rng.integers(len(t))) for v, t in problem.tables.items()}
               for _ in range(6)] + [problem.fastest_choice()]
    fast = {v: float(rng.uniform(0.1, 50.0)) for v in problem.tables}

    def checks() -> tuple:
        return ([problem.flow_latencies(c) for c in choices],
                [problem.sla_latencies(c) for c in choices],
                pruning._limits(problem.flows, fast), pruning.fronts(problem))

    got = checks()
    _loops(monkeypatch)
    want = checks()
    assert got == want
    assert got[1][-1] is not None  # (the generated SLAs are feasible)


def test_the_matrix_is_made_once_per_graphs_and_shared_by_their_copies() -> None:
    from fa2opt.edge import with_margin
    from fa2opt.flow_matrix import flow_matrix
    from fa2opt.problem import Problem

    problem = Problem.from_instance(_instances()[0])
    m = flow_matrix(problem.flows)
    assert flow_matrix(with_margin(problem, +1).flows) is m
    assert flow_matrix(problem.flows[1:]) is not m  # other graphs: another matrix


def test_graphs_that_are_not_induced_subgraphs_take_the_loops() -> None:
    """A flow's graph lacking an edge of the union between two of its nodes: the matrices
    would count it, so there are none."""
    from dataclasses import replace

    from fa2opt.flow_matrix import flow_matrix
    from fa2opt.problem import Problem

    problem = Problem.from_instance(_instances()[2])
    flows = list(problem.flows)
    g = flows[0]
    v = next(v for v in g.nodes if g.preds[v])
    flows[0] = replace(g, preds={**g.preds, v: g.preds[v][1:]})
    assert flow_matrix(tuple(flows)) is None
    assert flow_matrix(problem.flows) is not None


def test_the_matrices_are_taken_where_they_pay(monkeypatch) -> None:
    """Flows sharing most of a graph: the matrices (shared-100-50: 1.7 ms, the loops 3.1 ms);
    short chains over a pool of models with many edges: the loops (3,000 of 5 of 300
    nodes: the loops 26 ms, the matrices 210 ms)."""
    from fa2opt.flow_matrix import flow_matrix
    from fa2opt.problem import Problem

    monkeypatch.undo()
    rng = np.random.default_rng(1)
    shared = Problem.from_instance(shared_flows(rng, 100, 50))
    sparse = Problem.from_instance(many_flows(rng, 8, 10, 200))
    assert flow_matrix(shared.flows) is not None
    assert flow_matrix(sparse.flows) is None
    assert flow_matrix(sparse.flows) is None  # (found wanting once: kept)
    assert verify_module._arrays(shared.instance) is not None
    assert verify_module._arrays(sparse.instance) is None
