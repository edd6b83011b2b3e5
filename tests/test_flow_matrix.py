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
