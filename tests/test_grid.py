"""fa2-grid: every answer verified, bounds bracket the exact optimum, exact on the grid,
batched over rates equals solving each rate alone; on numpy and (where present) CuPy."""

from __future__ import annotations

import contextlib
import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import fa2opt
from fa2opt import cpu_kernels, kernels
from fa2opt.cli import main
from fa2opt.grid import CurveTables, decide_batch, flow_parts
from fa2opt.model import Config, Flow, Instance, Node
from fa2opt.problem import Problem
from fa2opt.verify import matches, verify

try:
    from strategies import instances
except ImportError:  # pragma: no cover
    from tests.strategies import instances

from devices import DEVICES, GPU, SPEC  # noqa: E402  (tests/devices.py)
from fa2opt.generate import SHAPES  # every shape: chain, fork-join, nested-sp, non-sp, tree, multi-flow

SETTINGS = settings(max_examples=40, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])


def _exact(inst: Instance) -> fa2opt.Answer:
    return fa2opt.solve(inst, "brute-force")


def _check_against_exact(inst: Instance, ans: fa2opt.Answer) -> None:
    ref = _exact(inst)
    assert ans.status != "error", ans.message
    if ref.status == "infeasible":
        assert ans.status == "infeasible"
        return
    assert ans.status in ("optimal", "feasible")
    assert verify(inst, ans).ok
    assert ans.lower_bound is not None
    assert ans.lower_bound <= ref.cost * (1 + 1e-9) + 1e-9 <= ans.cost * (1 + 1e-9) + 2e-9
    if ans.status == "optimal":
        assert matches(ans, ref)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("grid_ms", [0.5, 1.0, 7.0])
@SETTINGS
@given(inst=instances(max_nodes=4, max_configs=4, shapes=SHAPES))
def test_grid_brackets_the_exact_optimum(device, grid_ms, inst):
    _check_against_exact(inst, fa2opt.solve(inst, "fa2-grid", grid_ms=grid_ms, device=device))


def _on_grid(inst: Instance, step: float) -> Instance:
    """Latencies, edge latencies and SLAs moved onto multiples of ``step``; no queueing, so
    node latency L = p lies on the grid too."""
    up = lambda x: max(step, math.ceil(x / step) * step)  # noqa: E731
    nodes = tuple(replace(n, configs=tuple(replace(c, latency_ms=up(c.latency_ms))
                                           for c in n.configs)) for n in inst.nodes)
    edges = tuple(replace(e, latency_ms=math.floor(e.latency_ms / step) * step) for e in inst.edges)
    flows = tuple(replace(f, sla_ms=up(f.sla_ms)) for f in inst.flows)
    return replace(inst, nodes=nodes, edges=edges, flows=flows, queueing="none")


@pytest.mark.parametrize("device", DEVICES)
@SETTINGS
@given(inst=instances(max_nodes=4, max_configs=4, shapes=SHAPES), step=st.sampled_from([0.5, 1.0, 4.0]))
def test_grid_is_exact_when_everything_is_on_the_grid(device, inst, step):
    inst = _on_grid(inst, step)
    ans = fa2opt.solve(inst, "fa2-grid", grid_ms=step, device=device)
    ref = _exact(inst)
    assert ans.status == ("infeasible" if ref.status == "infeasible" else "optimal"), ans.message
    assert matches(ans, ref)


def _one_node(configs, sla: float, queueing: str = "none") -> Instance:
    return Instance(name="one", nodes=(Node("a", tuple(configs)),), edges=(),
                    flows=(Flow("main", 10.0, sla, ("a",)),), queueing=queueing)


def test_no_decision_on_the_up_grid_answers_all_fastest():
    # fast row 10.3 ms (cost 5) fits the SLA 10.4 only off the 1-ms grid; the slow cheap row
    # 10.6 ms (cost 1) fits only the down-rounded grid: lower bound 1, answer the fastest.
    inst = _one_node([Config(1, "gpu", 5.0, 10.3), Config(1, "cpu", 1.0, 10.6)], sla=10.4)
    ans = fa2opt.solve(inst, "fa2-grid", grid_ms=1.0)
    assert ans.status == "feasible" and ans.cost == 5.0 and ans.lower_bound == 1.0
    assert "all-fastest" in ans.message
    assert matches(ans, _exact(inst))


def test_infeasible_exactly_when_all_fastest_breaks_the_sla():
    inst = _one_node([Config(1, "cpu", 1.0, 10.3)], sla=10.2)
    assert fa2opt.solve(inst, "fa2-grid").status == "infeasible"
    inst = _one_node([Config(1, "cpu", 1.0, 10.3)], sla=10.3)
    ans = fa2opt.solve(inst, "fa2-grid")
    assert ans.status == "optimal" and ans.cost == 1.0


@pytest.mark.parametrize("compiled", [True, False])
def test_a_one_node_flow_on_either_cpu_path(compiled):
    """A one-node flow's tree is a bare leaf. The compiled chain DP takes it; the dense-curve
    path (the numpy twins without Numba, and CuPy) once assumed a composite root and failed
    on it (AttributeError in ``shared_subtrees``)."""
    inst = _one_node([Config(1, "gpu", 5.0, 10.3), Config(1, "cpu", 1.0, 10.6)], sla=11.0)
    with (contextlib.nullcontext() if compiled else cpu_kernels.disabled()):
        ans = fa2opt.solve(inst, "fa2-grid", grid_ms=1.0)
    assert ans.status == "optimal" and ans.cost == 1.0
    assert matches(ans, _exact(inst))


@pytest.mark.parametrize("device", DEVICES)
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(inst=instances(max_nodes=4, max_configs=4, shapes=SHAPES, queueing="batch-fill"),
       scales=st.lists(st.floats(0.2, 3.0), min_size=1, max_size=6))
def test_batched_over_rates_equals_each_rate_alone(device, inst, scales):
    """One batched pass over rates gives, per rate, the single-instance solver's answer."""
    xp = kernels.get_array_module(device)
    scale = np.asarray(scales)
    at = inst.with_rates(scale=scale)  # flow rates become arrays: node_rate broadcasts
    tabs, _ = CurveTables.from_rates(inst, {n.name: at.node_rate(n.name) for n in inst.nodes}, xp)
    parts, coupling = flow_parts(Problem.from_instance(inst))
    d = decide_batch(parts, coupling, tabs, 1.0)
    for i, s in enumerate(scales):
        one = fa2opt.solve(inst.with_rates(scale=s), "fa2-grid", grid_ms=1.0)
        assert d.status[i] == one.status
        if one.has_decision:
            assert float(kernels.to_numpy(d.cost)[i]) == pytest.approx(one.cost, rel=1e-12)
            assert float(kernels.to_numpy(d.lower_bound)[i]) == pytest.approx(one.lower_bound, rel=1e-12)


def test_example_instances_verified(capsys):
    for name in ("chain", "shared-detector"):
        inst = fa2opt.load_instance(f"{SPEC}/{name}.json")
        _check_against_exact(inst, fa2opt.solve(inst, "fa2-grid", grid_ms=2.0))


def test_cli_device_gpu_without_gpu_is_one_line_exit_2(capsys):
    if GPU:
        pytest.skip("a GPU is present")
    rc = main(["solve", f"{SPEC}/chain.json", "-m", "fa2-grid", "--device", "gpu"])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and len(err.splitlines()) == 1 and "--device gpu" in err
    assert main(["solve", f"{SPEC}/chain.json", "-m", "fa2-grid",
                 "--device", "auto"]) == 0


# -- coupling nodes: branch and bound with the grid remainder == exhaustive enumeration ------
def _batched_values(inst: Instance, scales, grid_ms: float, enumerate_max: int, monkeypatch):
    from fa2opt.grid import coupling  # grid_pass reads its threshold there
    monkeypatch.setattr(coupling, "ENUMERATE_MAX", enumerate_max)
    at = inst.with_rates(scale=np.asarray(scales))
    tabs, _ = CurveTables.from_rates(inst, {n.name: np.broadcast_to(at.node_rate(n.name), (len(scales),))
                                            for n in inst.nodes})
    parts, coupling = flow_parts(Problem.from_instance(inst))
    return decide_batch(parts, coupling, tabs, grid_ms)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(inst=instances(max_nodes=5, max_configs=4, shapes=("multi-flow", "non-sp")),
       scales=st.lists(st.floats(0.3, 3.0), min_size=1, max_size=4),
       grid_ms=st.sampled_from([0.5, 2.0]))
def test_coupling_search_equals_enumeration(inst, scales, grid_ms):
    """Per rate, the single solver (fa2's pruning/decoupling + branch and bound with the grid
    remainder), the batched enumeration of coupling columns and the batched per-item search
    give the same up cost (decision) and down cost (bound), and the same statuses."""
    mp = pytest.MonkeyPatch()
    try:
        enum = _batched_values(inst, scales, grid_ms, 10 ** 9, mp)
        per_item = _batched_values(inst, scales, grid_ms, 0, mp)
    finally:
        mp.undo()
    for i, s in enumerate(scales):
        one = fa2opt.solve(inst.with_rates(scale=s), "fa2-grid", grid_ms=grid_ms)
        assert one.status != "error", one.message
        for d in (enum, per_item):
            assert d.status[i] == one.status
            if one.has_decision:
                assert float(d.cost[i]) == pytest.approx(one.cost, rel=1e-12)
                assert float(d.lower_bound[i]) == pytest.approx(one.lower_bound, rel=1e-12)


def test_shared_services_pipeline_is_fast_and_brackets_fa2():
    """The real shared-detector pipeline (3 flows share object_detection): the grid decision
    comes from the search (a handful of search nodes, not every detector row), is verified,
    and brackets fa2's exact optimum. (Its speed is measured by scripts/bench_kernel.py.)"""
    inst = fa2opt.load_instance(Path(__file__).resolve().parents[1] / "datasets/pipelines/shared_services.json")
    ans = fa2opt.solve(inst, "fa2-grid")
    ref = fa2opt.solve(inst, "fa2")
    assert ans.status in ("optimal", "feasible") and verify(inst, ans).ok
    assert ans.extra["coupling_nodes"] >= 1
    assert ans.lower_bound <= ref.cost * (1 + 1e-9) and ref.cost <= ans.cost * (1 + 1e-9)
    if ans.status == "optimal":
        assert matches(ans, ref)


def test_identical_batch_items_are_solved_once():
    """Repeated rates share one solve (distinct_items) and still answer like the single
    solver at every position of the batch."""
    from fa2opt.grid import distinct_items
    inst = fa2opt.load_instance(f"{SPEC}/shared-detector.json")
    scales = [1.0, 0.5, 1.0, 2.0, 0.5, 1.0]
    at = inst.with_rates(scale=np.asarray(scales))
    tabs, _ = CurveTables.from_rates(inst, {n.name: np.broadcast_to(at.node_rate(n.name), (6,))
                                            for n in inst.nodes})
    parts, coupling = flow_parts(Problem.from_instance(inst))
    items, inverse = distinct_items(parts, tabs, 1.0)
    assert items is not None and len(items) == 3
    np.testing.assert_array_equal(np.asarray(scales)[items][inverse], scales)
    d = decide_batch(parts, coupling, tabs, 1.0)
    for i, s in enumerate(scales):
        one = fa2opt.solve(inst.with_rates(scale=s), "fa2-grid", grid_ms=1.0)
        assert d.status[i] == one.status and float(d.cost[i]) == pytest.approx(one.cost, rel=1e-12)


def test_a_grid_too_long_for_the_default_step_is_coarsened_not_refused():
    """Profiles reaching 4e6 ms need 4e6 steps of the default 1 ms (more than
    MAX_GRID_STEPS): without --grid-ms the solver takes the finest step of 2, 5, 10, … ms
    whose grid fits and says so (a valid decision that brackets fa2's optimum); a step the
    user asks for is not changed (then ``error`` names it)."""
    from fa2opt.grid.flow_dp import MAX_GRID_STEPS

    from fa2opt.io import instance_from_dict

    rows = lambda i: [{"batch": 1, "hardware": "cpu", "units": 1, "latency_ms": 3e5 + 1e4 * i},
                      {"batch": 1, "hardware": "cpu", "units": 4, "latency_ms": 1e5}]
    inst = instance_from_dict({
        "sla_ms": 3e6, "rate_rps": 0.01, "queueing": "none",
        "nodes": [{"name": f"n{i}", "configs": rows(i)} for i in range(12)],
        "edges": [[f"n{i}", f"n{i + 1}"] for i in range(11)]})
    exact = fa2opt.solve(inst, "fa2")
    a = fa2opt.solve(inst, "fa2-grid")
    assert a.status in ("optimal", "feasible") and verify(inst, a).ok
    assert a.extra["grid_coarsened"] and a.extra["grid_ms"] > 1.0
    assert a.extra["grid_steps"] <= MAX_GRID_STEPS and "grid step" in a.message
    assert a.lower_bound <= exact.cost * (1 + 1e-9) and exact.cost <= a.cost * (1 + 1e-9)
    refused = fa2opt.solve(inst, "fa2-grid", grid_ms=1.0)
    assert refused.status == "error" and "use a coarser --grid-ms" in refused.message


class _DeviceArray:
    """A stand-in for a CuPy array on the CPU: ``.get()`` copies it to the host, an implicit
    conversion to numpy is refused (as CuPy does: the first GPU run found grid_steps using
    one on the budgets that CurveTables on the GPU cap)."""

    def __init__(self, a) -> None:
        self._a = np.asarray(a)

    def get(self) -> np.ndarray:
        return self._a.copy()

    def __array__(self, *args, **kwargs):
        raise TypeError("Implicit conversion to a NumPy array is not allowed")


def test_grid_steps_reads_device_budgets_on_the_host() -> None:
    from fa2opt.grid.flow_dp import grid_steps

    inst = fa2opt.load_instance(Path(__file__).resolve().parents[1] / "datasets/pipelines/shared_services.json")
    parts, _ = flow_parts(Problem.from_instance(inst))
    want = grid_steps(parts, 0.5)
    on_device = [replace(p, budget_ms=_DeviceArray(np.full(3, p.budget_ms))) for p in parts]
    with pytest.raises(TypeError):
        np.asarray(on_device[0].budget_ms)
    assert grid_steps(on_device, 0.5) == want
