"""The MILP formulations ``capacity`` and ``accuracy`` (built from the shared vocabulary): each against an
enumeration that checks the extension constraint by hand, the expected effect of a binding
limit or floor, and InputError for bad extension keys."""

from __future__ import annotations

import itertools
import json
import math
from dataclasses import replace
from typing import Callable, Mapping

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fa2opt import Config, Edge, Flow, Instance, Node, Problem, solve, verify
from fa2opt.cli import main as cli_main
from fa2opt.io import InputError, dump_instance
from helpers import choice_of
from formulations.accuracy import flow_accuracy

from strategies import instances

EXT = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def exhaustive(problem: Problem, ok: Callable[[Mapping[str, int]], bool],
               objective: Callable[[Mapping[str, int]], float] | None = None):
    """(best objective, best choice) over every combination meeting the SLAs and ``ok``;
    (None, None) when none does."""
    names = problem.node_names
    objective = objective or problem.cost
    best = (None, None)
    for combo in itertools.product(*(range(len(problem.tables[v])) for v in names)):
        choice = dict(zip(names, combo))
        if problem.meets_slas(choice) and ok(choice):
            val = objective(choice)
            if best[0] is None or val < best[0] - 1e-12:
                best = (val, choice)
    return best



def with_extra(inst: Instance, **extra) -> Instance:
    return replace(inst, extra={**inst.extra, **extra})


# -- capacity -------------------------------------------------------------------------------------
def units_by_kind(problem: Problem, choice: Mapping[str, int]) -> dict[str, float]:
    out: dict[str, float] = {}
    for v, k in choice.items():
        t = problem.tables[v]
        cfg = problem.instance.node(v).configs[int(t.rows[k])]
        out[cfg.hardware] = out.get(cfg.hardware, 0.0) + int(t.replicas[k]) * cfg.units
    return out


def cap_ok(problem: Problem, caps: Mapping[str, float]) -> Callable[[Mapping[str, int]], bool]:
    return lambda ch: all(units_by_kind(problem, ch).get(h, 0.0) <= c + 1e-9
                          for h, c in caps.items())


@EXT
@given(instances(max_nodes=4, max_configs=4, infeasible=False), st.data())
def test_capacity_equals_exhaustive_enumeration(inst: Instance, data) -> None:
    problem = Problem.from_instance(inst)
    unconstrained = solve(problem, "brute-force")
    kinds = sorted({c.hardware for n in inst.nodes for c in n.configs})
    if unconstrained.has_decision:  # limits around the unconstrained optimum's usage
        usage = units_by_kind(problem, choice_of(problem, unconstrained))
    else:
        usage = {h: 4.0 for h in kinds}
    caps = {h: float(data.draw(st.integers(0, int(usage.get(h, 0.0)) + 2), label=f"cap {h}"))
            for h in kinds if data.draw(st.booleans(), label=f"limit {h}")}
    inst = with_extra(inst, capacity=caps)
    problem = Problem.from_instance(inst)
    best, _ = exhaustive(problem, cap_ok(problem, caps))
    ans = solve(problem, "milp", formulation="capacity")
    if best is None:
        assert ans.status == "infeasible", (ans.status, ans.message)
        assert ans.extra.get("restricted") or not problem.is_feasible()
    else:
        assert ans.status == "optimal", (ans.status, ans.message)
        assert verify(inst, ans).ok  # the base rules
        assert cap_ok(problem, caps)(choice_of(problem, ans))  # the extension constraint
        assert math.isclose(ans.cost, best, rel_tol=1e-9, abs_tol=1e-9)


def _two_kinds() -> Instance:
    """One node: cheap GPU rows (price 3, 1 unit, fast) or dearer CPU rows."""
    rows = (Config(1, "cpu", 1.0, 50.0), Config(4, "cpu", 2.0, 80.0),
            Config(8, "gpu", 1.0, 20.0))
    return Instance("two-kinds", (Node("m", rows),), (), (Flow("main", 200.0, 500.0, ("m",)),),
                    prices={"cpu": 1.0, "gpu": 3.0}, queueing="none")


def test_binding_capacity_changes_the_answer_as_expected() -> None:
    inst = _two_kinds()
    free = solve(inst, "milp", formulation="capacity")
    assert free.status == "optimal" and free.nodes["m"].hardware == "gpu"  # 1 GPU costs 3
    assert free.cost == solve(inst, "milp").cost
    no_gpu = solve(with_extra(inst, capacity={"gpu": 0}), "milp", formulation="capacity")
    assert no_gpu.status == "optimal" and no_gpu.nodes["m"].hardware == "cpu"
    assert no_gpu.cost > free.cost
    # 200 rps: batch-4 rows need 4 replicas × 2 cores = 8 cores; batch-1 rows 10 × 1 = 10
    eight = solve(with_extra(inst, capacity={"gpu": 0, "cpu": 8}), "milp", formulation="capacity")
    assert eight.nodes["m"].batch == 4 and eight.nodes["m"].replicas * 2 <= 8
    none = solve(with_extra(inst, capacity={"gpu": 0, "cpu": 7}), "milp", formulation="capacity")
    assert none.status == "infeasible" and none.extra.get("restricted") is True
    assert Problem.from_instance(inst).is_feasible()  # infeasible only because of capacity


@pytest.mark.parametrize("capacity, field", [([1, 2], "capacity"), ({"cpu": -1}, "capacity.cpu"),
                                             ({"cpu": "many"}, "capacity.cpu"),
                                             ({"gpu": float("inf")}, "capacity.gpu")])
def test_bad_capacity_is_an_input_error(capacity, field) -> None:
    with pytest.raises(InputError) as err:
        solve(with_extra(_two_kinds(), capacity=capacity), "milp", formulation="capacity")
    assert err.value.field == field and "\n" not in str(err.value)


# -- accuracy -------------------------------------------------------------------------------------
def _variants() -> Instance:
    """detector → classifier; each has a cheap low-accuracy and a dear high-accuracy variant."""
    def rows(p: float) -> tuple[Config, ...]:
        return (Config(1, "cpu", 1.0, p, "small", 60.0), Config(1, "cpu", 2.0, p, "large", 90.0))
    nodes = (Node("detector", rows(10.0)), Node("classifier", rows(10.0)))
    return Instance("variants", nodes, (Edge("detector", "classifier"),),
                    (Flow("main", 10.0, 100.0, ("detector", "classifier")),), queueing="none")


def test_accuracy_floor_excludes_the_cheap_low_accuracy_variant() -> None:
    inst = _variants()
    cheap = solve(inst, "milp")
    assert {d.variant for d in cheap.nodes.values()} == {"small"}
    for floor, n_large in ((0.36, 0), (0.5, 1), (0.7, 2)):  # product: .36 / .54 / .81
        acc = {"min": {"main": floor}, "scale": 100}
        ans = solve(with_extra(inst, accuracy=acc), "milp", formulation="accuracy")
        assert ans.status == "optimal" and verify(inst, ans).ok
        assert sum(d.variant == "large" for d in ans.nodes.values()) == n_large
        problem = Problem.from_instance(with_extra(inst, accuracy=acc))
        assert flow_accuracy(problem, choice_of(problem, ans))["main"] >= floor - 1e-12
    too_high = solve(with_extra(inst, accuracy={"min": {"main": 0.85}, "scale": 100}), "milp",
                     formulation="accuracy")
    assert too_high.status == "infeasible" and too_high.extra.get("restricted") is True


def test_min_aggregate_floors_every_stage() -> None:
    acc = {"min": {"main": 0.6}, "aggregate": "min", "scale": 100}
    ans = solve(with_extra(_variants(), accuracy=acc), "milp", formulation="accuracy")
    assert {d.variant for d in ans.nodes.values()} == {"small"}  # 0.6 ≥ 0.6 holds
    acc["min"]["main"] = 0.61
    ans = solve(with_extra(_variants(), accuracy=acc), "milp", formulation="accuracy")
    assert {d.variant for d in ans.nodes.values()} == {"large"}


def test_weighted_objective_trades_cost_for_accuracy() -> None:
    # one "large" stage costs 1 more and gains 0.3 accuracy: worth it iff weight > 1/0.3
    for weight, n_large in ((3.0, 0), (4.0, 2)):
        acc = {"weight": weight, "scale": 100}
        ans = solve(with_extra(_variants(), accuracy=acc), "milp", formulation="accuracy")
        assert ans.status == "optimal" and ans.lower_bound is None
        assert sum(d.variant == "large" for d in ans.nodes.values()) == n_large
        assert math.isclose(ans.objective, ans.cost - weight * (
            sum({"small": 0.6, "large": 0.9}[d.variant] for d in ans.nodes.values())))


@EXT
@given(instances(max_nodes=4, max_configs=4, infeasible=False), st.data())
def test_accuracy_equals_exhaustive_enumeration(inst: Instance, data) -> None:
    acc_values = data.draw(st.lists(st.sampled_from([0.5, 0.7, 0.9, 1.0]), min_size=1,
                                    max_size=4), label="accuracies")
    nodes = tuple(replace(n, configs=tuple(replace(c, accuracy=acc_values[j % len(acc_values)])
                                           for j, c in enumerate(n.configs)))
                  for n in inst.nodes)
    aggregate = data.draw(st.sampled_from(["product", "min"]), label="aggregate")
    floors = {f.name: data.draw(st.sampled_from([0.3, 0.5, 0.7]), label=f"floor {f.name}")
              for f in inst.flows}
    inst = with_extra(replace(inst, nodes=nodes),
                      accuracy={"min": floors, "aggregate": aggregate})
    problem = Problem.from_instance(inst)
    best, _ = exhaustive(problem, lambda ch: all(
        a >= floors[f] - 1e-12 for f, a in flow_accuracy(problem, ch).items()))
    ans = solve(problem, "milp", formulation="accuracy")
    if best is None:
        assert ans.status == "infeasible", (ans.status, ans.message)
    else:
        assert ans.status == "optimal", (ans.status, ans.message)
        ch = choice_of(problem, ans)
        assert all(a >= floors[f] - 1e-12 for f, a in flow_accuracy(problem, ch).items())
        assert math.isclose(ans.cost, best, rel_tol=1e-9, abs_tol=1e-9)


@pytest.mark.parametrize("accuracy, field", [
    ([0.5], "accuracy"), ({"min": {"nope": 0.5}}, "accuracy.min.nope"),
    ({"min": {"main": 1.5}}, "accuracy.min.main"), ({"min": {"main": 0}}, "accuracy.min.main"),
    ({"aggregate": "mean"}, "accuracy.aggregate"), ({"scale": 0}, "accuracy.scale"),
    ({"weight": -1}, "accuracy.weight"), ({"floor": 1}, "accuracy.floor"),
    ({"min": {"main": 0.5}}, "nodes[detector].accuracy"),  # 60 / scale 1 is not in (0, 1]
])
def test_bad_accuracy_is_an_input_error(accuracy, field) -> None:
    with pytest.raises(InputError) as err:
        solve(with_extra(_variants(), accuracy=accuracy), "milp", formulation="accuracy")
    assert err.value.field == field and "\n" not in str(err.value)


def test_rows_partly_without_accuracy_are_an_input_error() -> None:
    inst = _variants()
    det = inst.nodes[0]
    det = replace(det, configs=(det.configs[0], replace(det.configs[1], accuracy=None)))
    with pytest.raises(InputError, match="row 1 has no accuracy"):
        solve(with_extra(replace(inst, nodes=(det, inst.nodes[1])),
                         accuracy={"scale": 100}), "milp", formulation="accuracy")


def test_cli_extension_formulations(tmp_path, capsys) -> None:
    path = tmp_path / "v.json"
    dump_instance(with_extra(_variants(), accuracy={"min": {"main": 0.7}, "scale": 100}), path)
    assert cli_main(["solve", str(path), "-m", "milp", "--formulation", "accuracy",
                     "--json"]) == 0
    doc = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert doc["status"] == "optimal" and doc["formulation"] == ["accuracy"]
    assert {d["variant"] for d in doc["nodes"].values()} == {"large"}
    bad = tmp_path / "bad.json"
    dump_instance(with_extra(_variants(), capacity={"cpu": -3}), bad)
    assert cli_main(["solve", str(bad), "-m", "milp", "--formulation", "capacity"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "capacity.cpu" in err[0] and str(bad) in err[0]
