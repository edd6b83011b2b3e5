"""Extensions (issue 14): fa2 = milp = brute force on property-generated extended instances
(each extension alone and combined, limits and floors placed at their tolerance edge,
infeasible by capacity or accuracy), honoured by default / refused by name, verify's
independent recomputation, and input errors for every malformed extension key."""

from __future__ import annotations

import json
import math
from dataclasses import replace
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fa2opt import Config, Edge, Flow, Instance, Node, Problem, solve, verify
from fa2opt.cli import main as cli_main
from fa2opt.extensions import extensions_of
from fa2opt.extensions import validate as validate_extensions
from fa2opt.io import InputError, dump_instance, instance_from_dict
from fa2opt.verify import matches

from strategies import instances

EXACT = ("fa2", "milp", "brute-force")


def value(ans) -> float:
    return ans.cost if ans.objective is None else ans.objective


def with_extra(inst: Instance, **extra: Any) -> Instance:
    return replace(inst, extra={**inst.extra, **extra})


def assert_exact_methods_agree(inst: Instance) -> dict:
    """Every exact method verified, all infeasible or all optimal with equal objectives."""
    problem = Problem.from_instance(inst)
    answers = {m: solve(problem, m) for m in EXACT}
    ref = answers["brute-force"]
    for m, ans in answers.items():
        assert ans.status in ("optimal", "infeasible"), (m, ans.status, ans.message)
        assert ans.formulation == extensions_of(inst), (m, ans.formulation)
        assert ans.status == ref.status, (m, ans.status, ref.status, ans.message)
        if ans.has_decision:
            assert verify(inst, ans).ok, (m, verify(inst, ans).summary())
            assert matches(ans, ref), (m, value(ans), value(ref))
    return answers


@st.composite
def extended(draw: st.DrawFn) -> Instance:
    """A small instance with any subset of capacity / accuracy / switch, limits and floors
    drawn around a random choice's own use (at the tolerance edge, just inside or past)."""
    inst = draw(instances(max_nodes=4, max_configs=4, infeasible=False))
    acc_pool = [0.5, 0.7, 0.8, 0.9, 0.95, 1.0]
    nodes = []
    for n in inst.nodes:
        if draw(st.booleans()):
            n = replace(n, configs=tuple(replace(c, accuracy=draw(st.sampled_from(acc_pool)))
                                         for c in n.configs))
        nodes.append(n)
    inst = replace(inst, nodes=tuple(nodes))
    problem = Problem.from_instance(inst)
    if problem.empty_nodes:
        return inst
    pick = {v: draw(st.integers(0, len(t) - 1), label=f"pick {v}")
            for v, t in problem.tables.items()}
    edge = st.sampled_from([0.0, 1e-9, -1e-9, 2e-9, -2e-9, 5e-10, 0.5, -0.5, 3.0])
    extra: dict[str, Any] = {}
    if draw(st.booleans()):  # capacity around the pick's units in use
        used: dict[str, float] = {}
        for v, k in pick.items():  # instance node order: the one summation order
            t = problem.tables[v]
            cfg = inst.node(v).configs[t.lists[0][k]]
            used[cfg.hardware] = used.get(cfg.hardware, 0.0) + t.lists[1][k] * cfg.units
        extra["capacity"] = {h: max(0.0, u + draw(edge) - 1e-9 * draw(st.sampled_from([0, 1])))
                             for h, u in used.items() if draw(st.booleans())}
    if draw(st.booleans()):  # accuracy: floors around the pick's product (or min)
        aggregate = draw(st.sampled_from(["product", "min"]))
        acc: dict[str, Any] = {"aggregate": aggregate}
        floors = {}
        for f in inst.flows:
            if draw(st.booleans()):
                a = [(inst.node(v).configs[problem.tables[v].lists[0][pick[v]]].accuracy or 1.0)
                     for v in f.nodes]
                base = math.prod(a) if aggregate == "product" else min(a)
                floors[f.name] = min(1.0, max(1e-6, base * (1 + draw(edge) * 1e-1)
                                              + draw(st.sampled_from([0.0, 1e-9, -1e-9]))))
        acc["min"] = floors
        if draw(st.booleans()):
            acc["weight"] = draw(st.sampled_from([0.5, 2.0, 10.0]))
        extra["accuracy"] = acc
    if draw(st.booleans()):  # switch: some nodes currently on some row
        current = {}
        for n in inst.nodes:
            if draw(st.booleans()):
                c = draw(st.sampled_from(n.configs))
                current[n.name] = {"batch": c.batch, "hardware": c.hardware, "units": c.units,
                                   "variant": c.variant}
        extra["current"] = current
        extra["switch_cost"] = draw(st.one_of(
            st.sampled_from([0.0, 0.5, 3.0]),
            st.fixed_dictionaries({n.name: st.sampled_from([0.0, 1.0, 5.0]) for n in inst.nodes})))
    return with_extra(inst, **extra)


@settings(max_examples=120)
@given(extended())
def test_fa2_equals_milp_and_brute_force_on_extended_instances(inst: Instance) -> None:
    assert_exact_methods_agree(inst)


@pytest.mark.parametrize("family, seed", [("small", 4), ("small", 6), ("shared", 0)])
def test_the_enumeration_leaf_decides_alike_on_either_sla_pass(family, seed) -> None:
    """The extensions' enumeration leaf evaluates its batches by the compiled SLA pass where
    the process has it loaded, else by its numpy twin (``dag_batch.evaluate_fixings_loaded``):
    the same bits, so the same answer to the last digit either way (draws whose search
    enumerates; the compiled pass must have been called)."""
    from unittest import mock

    import numpy as np

    from fa2opt import cpu_kernels, dag_batch
    from fa2opt.extensions.realistic import extended
    from fa2opt.generate import FAMILIES

    if not cpu_kernels.available():
        pytest.skip("Numba not available")
    gen, sizes = FAMILIES[family]
    base = gen(np.random.default_rng(seed), *sizes[seed % len(sizes)])
    calls = []
    compiled = dag_batch.evaluate_fixings
    for which in ("capacity", "combined", "accuracy"):
        inst = extended(base, which)
        if inst is None:
            continue
        answers = []
        for loaded in (False, True):
            with mock.patch.object(dag_batch, "compiled_loaded", lambda v=loaded: v), \
                    mock.patch.object(dag_batch, "evaluate_fixings",
                                      lambda *a, **k: calls.append(1) or compiled(*a, **k)):
                a = solve(inst, "fa2").to_json()
            answers.append({k: a.get(k) for k in ("status", "cost", "objective", "nodes",
                                                  "flow_latency_ms", "lower_bound", "message")})
        assert answers[0] == answers[1]
    assert calls  # (the leaf enumerated, by the compiled pass once it was "loaded")


# -- hand-made: each extension binds, infeasible by capacity / accuracy ----------------------
def _variants() -> Instance:
    """detector → classifier; each a cheap 'small' (60%) and a dear 'large' (90%) variant."""
    def rows() -> tuple[Config, ...]:
        return (Config(1, "cpu", 1.0, 10.0, "small", 60.0), Config(1, "cpu", 2.0, 10.0, "large", 90.0),
                Config(4, "gpu", 1.0, 12.0, "large", 90.0))
    return Instance("variants", (Node("detector", rows()), Node("classifier", rows())),
                    (Edge("detector", "classifier"),),
                    (Flow("main", 10.0, 100.0, ("detector", "classifier")),),
                    prices={"gpu": 3.0}, queueing="none")


@pytest.mark.parametrize("extra, status", [
    ({"accuracy": {"min": {"main": 0.81}, "scale": 100}, "capacity": {"gpu": 1}}, "optimal"),
    ({"accuracy": {"min": {"main": 0.81}, "scale": 100}, "capacity": {"gpu": 0, "cpu": 3}},
     "infeasible"),  # 0.81 needs two large rows: 4 CPU units, or a GPU
    ({"accuracy": {"min": {"main": 0.82}, "scale": 100}}, "infeasible"),  # 0.9² = 0.81
    ({"capacity": {"cpu": 0, "gpu": 0}}, "infeasible"),
    ({"accuracy": {"min": {"main": 0.9}, "aggregate": "min", "scale": 100, "weight": 1.0},
      "current": {"detector": {"batch": 4, "hardware": "gpu", "units": 1, "variant": "large"}},
      "switch_cost": 5.0, "capacity": {"gpu": 1}}, "optimal"),
])
def test_binding_extensions_alone_and_combined(extra, status) -> None:
    inst = with_extra(_variants(), **extra)
    answers = assert_exact_methods_agree(inst)
    assert answers["fa2"].status == status
    assert Problem.from_instance(inst).is_feasible()  # the base problem always is
    if status == "infeasible":
        assert answers["fa2"].extra.get("restricted") is True


@pytest.mark.parametrize("extra", [
    {"capacity": {"cpu": 0, "gpu": 0}},  # every row's own use is over its budget
    {"accuracy": {"min": {"main": 0.95}, "aggregate": "min", "scale": 100}},  # no row is 95%
])
def test_what_the_rows_alone_rule_out_every_method_answers_without_a_search(extra) -> None:
    """:func:`fa2opt.extensions.ruled_out` is the one test the MILP short-circuits on; fa2
    (and every method answering through :mod:`fa2opt.extensions.solve`) runs it first too:
    infeasible with the same message, no branch and bound, no DP."""
    from fa2opt.extensions import RULED_OUT, declare, ruled_out

    inst = with_extra(_variants(), **extra)
    problem = Problem.from_instance(inst)
    assert ruled_out(problem, declare(problem, extensions_of(inst)))
    answers = assert_exact_methods_agree(inst)
    for m in ("fa2", "milp"):
        assert answers[m].status == "infeasible" and answers[m].extra["restricted"] is True
        assert answers[m].message.startswith(RULED_OUT)
    assert "bb_dp_solves" not in answers["fa2"].extra and "dp_solves" not in answers["fa2"].extra


def test_switch_keeps_the_current_row_unless_the_saving_pays_for_the_switch() -> None:
    cur = {"detector": {"batch": 1, "hardware": "cpu", "units": 2, "variant": "large"}}
    for s, kept in ((0.5, False), (1.5, True)):  # large costs 1 more than small
        ans = solve(with_extra(_variants(), current=cur, switch_cost=s), "fa2")
        assert (ans.nodes["detector"].variant == "large") is kept
        assert ans.objective == pytest.approx(ans.cost + (0 if kept else s))


def test_honoured_by_default_base_on_request_refused_by_name() -> None:
    inst = with_extra(_variants(), capacity={"cpu": 0, "gpu": 0})
    for m in ("fa2", "milp", "brute-force"):
        assert solve(inst, m).status == "infeasible"
        base = solve(inst, m, formulation="base")
        assert base.status == "optimal" and base.formulation == ()
    for m in ("greedy", "slack-split", "nexus", "fixed-batch", "fa2-grid"):
        ans = solve(inst, m)
        assert ans.status == "error" and "capacity" in ans.message, (m, ans.message)
        assert solve(inst, m, formulation="base").status != "error"
    # row filters and terms are honoured by every method (heuristics stay heuristics)
    floor = with_extra(_variants(), accuracy={"min": {"main": 0.9}, "aggregate": "min",
                                              "scale": 100})
    for m in ("greedy", "slack-split", "nexus", "fixed-batch", "fa2-grid"):
        ans = solve(floor, m)
        assert ans.formulation == ("accuracy",)
        if ans.has_decision:
            assert {d.variant for d in ans.nodes.values()} == {"large"}, m


def test_verify_rechecks_extensions_and_the_objective() -> None:
    inst = with_extra(_variants(), accuracy={"min": {"main": 0.5}, "scale": 100, "weight": 2.0})
    ans = solve(inst, "fa2")
    assert ans.status == "optimal" and verify(inst, ans).ok
    assert not verify(inst, ans.with_(objective=ans.objective + 1e-3)).ok
    assert not verify(inst, ans.with_(objective=None)).ok
    stricter = with_extra(inst, accuracy={"min": {"main": 0.99}, "scale": 100, "weight": 2.0})
    assert "accuracy main" in verify(stricter, ans).summary()
    tight = with_extra(inst, capacity={"cpu": 1})
    assert "capacity cpu" in verify(tight, ans.with_(formulation=("accuracy", "capacity"))).summary()


def test_answer_json_names_the_formulation(tmp_path, capsys) -> None:
    path = tmp_path / "v.json"
    dump_instance(with_extra(_variants(), accuracy={"weight": 2.0, "scale": 100},
                             capacity={"gpu": 1}), path)
    assert cli_main(["solve", str(path), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["formulation"] == ["capacity", "accuracy"] and "objective" in doc
    assert cli_main(["solve", str(path), "--json", "--formulation", "base"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["formulation"] == [] and "objective" not in doc


# -- input errors ---------------------------------------------------------------------------------
def _doc(**extra: Any) -> dict:
    rows = [{"batch": 1, "hardware": "cpu", "units": 1, "latency_ms": 10, "variant": "s",
             "accuracy": 60},
            {"batch": 1, "hardware": "cpu", "units": 2, "latency_ms": 10, "variant": "l",
             "accuracy": 90}]
    return {"name": "d", "sla_ms": 100, "rate_rps": 10,
            "nodes": [{"name": "a", "configs": rows},
                      {"name": "b", "configs": [dict(r) for r in rows]}],
            "edges": [["a", "b"]], **extra}


@pytest.mark.parametrize("extra, field", [
    ({"capacity": [1]}, "capacity"),
    ({"capacity": {"cpu": -1}}, "capacity.cpu"),
    ({"capacity": {"cpu": "x"}}, "capacity.cpu"),
    ({"accuracy": "high"}, "accuracy"),
    ({"accuracy": {"min": {"nope": 0.5}, "scale": 100}}, "accuracy.min.nope"),
    ({"accuracy": {"min": {"main": 0}, "scale": 100}}, "accuracy.min.main"),
    ({"accuracy": {"aggregate": "mean", "scale": 100}}, "accuracy.aggregate"),
    ({"accuracy": {"scale": -1}}, "accuracy.scale"),
    ({"accuracy": {"weight": -1, "scale": 100}}, "accuracy.weight"),
    ({"accuracy": {"floors": {}, "scale": 100}}, "accuracy.floors"),
    ({"accuracy": {}}, "nodes[a].accuracy"),  # 60 / scale 1 is not in (0, 1]
    ({"current": []}, "current"),
    ({"current": {"zz": {"batch": 1, "hardware": "cpu", "units": 1}}}, "current.zz"),
    ({"current": {"a": {"batch": 2, "hardware": "cpu", "units": 1, "variant": "s"}}},
     "current.a"),  # no such row
    ({"current": {"a": {"batch": 1, "hardware": "cpu"}}}, "current.a.units"),
    ({"current": {"a": {"batch": 1, "hardware": "cpu", "colour": 1}}},  # (colour ignored)
     "current.a.units"),
    ({"current": {"a": {"batch": 1, "hardware": "cpu", "units": "one"}}}, "current.a.units"),
    ({"current": {"a": {"batch": 1.5, "hardware": "cpu", "units": 1}}}, "current.a.batch"),
    ({"switch_cost": -1}, "switch_cost"),
    ({"switch_cost": {"zz": 1}}, "switch_cost.zz"),
    ({"switch_cost": {"a": "x"}}, "switch_cost.a"),
])
def test_malformed_extension_keys_are_input_errors(tmp_path, capsys, extra, field) -> None:
    """Refused where an extension is validated or solved; ignored by ``--formulation base``
    (spec: it "solves the base problem and ignores them"), so loading does not refuse it."""
    inst = instance_from_dict(_doc(**extra), source="x.json")
    with pytest.raises(InputError) as err:
        validate_extensions(inst)
    assert err.value.field == field and "\n" not in str(err.value)
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(_doc(**extra)))
    for argv in (["solve", str(path)], ["solve", str(path), "-m", "milp"],
                 ["solve", str(path), "-m", "brute-force"], ["validate", str(path)]):
        assert cli_main(argv) == 2, argv
        out = capsys.readouterr().err.strip().splitlines()
        assert len(out) == 1 and field in out[0] and str(path) in out[0], (argv, out)
    for method in ("fa2", "milp", "brute-force"):
        assert cli_main(["solve", str(path), "-m", method, "--formulation", "base",
                         "--json"]) == 0, method
        doc = json.loads(capsys.readouterr().out)
        assert doc["status"] == "optimal" and doc["formulation"] == [], (method, doc)


def test_range_messages_show_the_number_as_read() -> None:
    """A value just past a range's end is named as read, not rounded to the end itself
    (``:g`` printed "accuracy 100 / scale 100 is not in (0, 1]" for 100.000000001)."""
    doc = _doc(accuracy={"scale": 100})
    doc["nodes"][0]["configs"][0]["accuracy"] = 100.000000001
    with pytest.raises(InputError) as err:
        validate_extensions(instance_from_dict(doc, source="x.json"))
    assert "accuracy 100.000000001 / scale 100.0" in str(err.value)
    with pytest.raises(InputError) as err:
        instance_from_dict({**_doc(), "max_utilization": 1.0000001}, source="x.json")
    assert "got 1.0000001" in str(err.value)


def test_partial_accuracy_columns_are_an_input_error(tmp_path) -> None:
    doc = _doc(accuracy={"scale": 100})
    del doc["nodes"][1]["configs"][1]["accuracy"]
    with pytest.raises(InputError) as err:
        validate_extensions(instance_from_dict(doc, source="x.json"))
    assert err.value.field == "nodes[b].accuracy" and "row 1" in str(err.value)


@pytest.mark.parametrize("formulation", [[], ["--formulation", "base"]])
def test_partial_accuracy_columns_are_an_input_error_without_the_extension(
        tmp_path, capsys, formulation) -> None:
    # the spec's "a node where only some rows have one is an input error" is a rule of the
    # file, not of the extension: a base instance (or --formulation base) is refused too
    doc = _doc()
    del doc["nodes"][1]["configs"][1]["accuracy"]
    path = tmp_path / "partial.json"
    path.write_text(json.dumps(doc))
    assert cli_main(["solve", str(path), "--json", *formulation]) == 2
    answer = json.loads(capsys.readouterr().out)
    assert answer["status"] == "error"
    assert "nodes[b].accuracy: row 1 has no accuracy" in answer["message"]
    del doc["nodes"][1]["configs"][0]["accuracy"]  # none on b: a = 1, a valid base instance
    path.write_text(json.dumps(doc))
    assert cli_main(["solve", str(path), "--json", *formulation]) == 0


@pytest.mark.parametrize("value", [0, -60])
def test_an_accuracy_that_is_not_positive_is_an_input_error(value) -> None:
    doc = _doc()  # a = accuracy / s must lie in (0, 1] for every scale s > 0
    doc["nodes"][0]["configs"][1]["accuracy"] = value
    with pytest.raises(InputError) as err:
        instance_from_dict(doc, source="x.json")
    assert err.value.field == "nodes[a].configs[1].accuracy"


def test_milp_only_formulations_are_marked_and_refused_by_other_methods() -> None:
    import pyomo.environ as pyo

    import formulations
    from formulations import base

    def build(problem: Problem) -> pyo.ConcreteModel:
        m = base.build(problem)
        m.only_small = pyo.Constraint(expr=sum(
            m.x[v, k] for v, t in problem.tables.items() for k, r in enumerate(t.lists[0])
            if problem.instance.node(v).configs[r].variant != "small") == 0)
        return m

    formulations.register(formulations.Formulation(
        name="test-only-small", build=build, read_back=base.read_back, summary="test",
        extra_constraints=True))
    inst = with_extra(_variants(), accuracy={"weight": 100.0, "scale": 100})
    ans = solve(inst, "milp", formulation="test-only-small")
    assert ans.formulation == ("test-only-small",) and ans.extra["milp_only"] is True
    assert {d.variant for d in ans.nodes.values()} == {"small"} and ans.objective is None
    assert solve(inst, "milp").nodes["detector"].variant == "large"  # the weight, honoured
    for m in ("fa2", "brute-force", "greedy"):
        other = solve(inst, m, formulation="test-only-small")
        assert other.status == "error" and "test-only-small" in other.message


def test_one_named_extension_solves_only_that_one() -> None:
    inst = with_extra(_variants(), accuracy={"min": {"main": 0.81}, "scale": 100},
                      capacity={"gpu": 0, "cpu": 3})
    for m in EXACT:
        assert solve(inst, m).status == "infeasible"
        only = solve(inst, m, formulation="capacity")
        assert only.status == "optimal" and only.formulation == ("capacity",)
        assert {d.variant for d in only.nodes.values()} == {"small"}


@pytest.mark.parametrize("offset", [-3e-9, -2e-9, -1e-9, -5e-10, 0.0, 1e-9])
def test_capacity_at_its_tolerance_edge(offset) -> None:
    """One node; its cheapest row needs 3 CPU units (3 replicas × 1), the next 4, a GPU row
    costs 5. With C = 3 + offset the cheap row is allowed exactly when the spec's rule
    3 ≤ fl(C + 1e-9) says so."""
    rows = (Config(1, "cpu", 1.0, 30.0), Config(1, "cpu", 2.0, 20.0), Config(1, "gpu", 1.0, 5.0))
    inst = Instance("edge", (Node("m", rows),), (), (Flow("main", 100.0, 500.0, ("m",)),),
                    prices={"gpu": 5.0}, queueing="none",
                    extra={"capacity": {"cpu": 3.0 + offset}})
    answers = assert_exact_methods_agree(inst)
    cheap_ok = 3.0 <= (3.0 + offset) + 1e-9
    assert (answers["fa2"].nodes["m"].hardware == "cpu") is cheap_ok


@pytest.mark.parametrize("nudge", [-1e-9, -5e-10, 0.0, 5e-10, 1e-9, 2e-9])
def test_product_floor_at_its_tolerance_edge(nudge) -> None:
    """The floor sits at the product of one choice's accuracies, nudged by ±1e-9 around the
    spec's tolerance; the choice is allowed exactly when Σ ln a ≥ ln A − 1e-9 says so."""
    inst = _variants()
    a = 0.9 * 0.6
    floor = a + nudge
    inst = with_extra(inst, accuracy={"min": {"main": floor}, "scale": 100})
    answers = assert_exact_methods_agree(inst)
    mixed_ok = math.log(0.6) + math.log(0.9) >= math.log(floor) - 1e-9
    got = sorted(d.variant for d in answers["fa2"].nodes.values())
    assert (got == ["large", "small"]) is mixed_ok


def test_real_pipelines_with_measured_accuracies_capacity_and_current_deployment() -> None:
    """Every shipped pipeline with each extension and all three (fa2opt.extensions.realistic,
    the rules of scripts/bench_extensions.py and the main job's SUITE+EXT suites: measured
    accuracies, a binding cluster capacity, the previous window's decision as
    ``current``): fa2 = milp = verified, statuses and objectives."""
    from pathlib import Path

    from fa2opt import load_instance

    from fa2opt.extensions.realistic import extension_keys

    seen = set()
    for path in sorted((Path(__file__).resolve().parents[1] / "datasets" / "pipelines")
                       .glob("*.json")):
        inst = load_instance(path)
        for name, extra in extension_keys(inst).items():
            ext = with_extra(inst, **extra)
            problem = Problem.from_instance(ext)
            fa2, milp = solve(problem, "fa2"), solve(problem, "milp")
            assert fa2.status == milp.status and fa2.status in ("optimal", "infeasible"), \
                (path.stem, name, fa2.status, milp.status, fa2.message, milp.message)
            assert fa2.formulation == milp.formulation == extensions_of(ext)
            if fa2.has_decision:
                assert verify(ext, fa2).ok and matches(fa2, milp), (path.stem, name)
            seen.add((name, fa2.status))
    assert {n for n, _ in seen} == {"capacity", "accuracy", "switch", "combined"}
    assert ("capacity", "optimal") in seen and ("combined", "optimal") in seen


def test_fa2_time_limit_on_an_extended_instance_keeps_a_verified_incumbent_and_bound(
        monkeypatch) -> None:
    """The slowest shipped case (shared_services_gpu with a binding GPU cap) with the
    enumeration leaf switched off (the Lagrangian branch and bound alone: ~0.1 s) stopped
    after 5 ms: time_limit, a verified incumbent, a lower bound below its objective."""
    from pathlib import Path

    import fa2opt.extensions.search as search

    for knob, off in (("LEAF_CHOICES", 0), ("LEAF_WORK", 0), ("ROOT_LEAF_WORK", (0, 0))):
        monkeypatch.setattr(search, knob, off)

    from fa2opt import load_instance

    path = Path(__file__).resolve().parents[1] / "datasets" / "pipelines" / "shared_services_gpu.json"
    inst = load_instance(path)
    from fa2opt.extensions.realistic import extension_keys

    ext = with_extra(inst, **extension_keys(inst)["capacity"])
    ans = solve(ext, "fa2", time_limit=0.005)
    assert ans.status == "time_limit" and ans.formulation == ("capacity",)
    if ans.has_decision:
        assert verify(ext, ans).ok
        assert ans.lower_bound is None or ans.lower_bound <= ans.cost
    full = solve(ext, "fa2")
    assert full.status == "optimal" and matches(full, solve(ext, "milp"))
    assert ans.lower_bound is None or ans.lower_bound <= full.cost + 1e-9


@settings(max_examples=150, deadline=None)
@given(extended(), st.integers(0, 2**32 - 1))
def test_rows_of_the_blocks_on_packed_tables_are_their_per_node_definition(
        inst: Instance, seed: int) -> None:
    """The blocks' rows read on the packed tables (:func:`fa2opt.extensions.packed_rows`)
    are their per-node definition to the bit: ``row_objective`` is each node's cost plus
    every row term (blocks in order), ``allowed_rows`` the positions every filter allows,
    and :func:`~fa2opt.extensions.relaxed_bound` (a ``time_limit`` answer's fallback bound)
    Σ_v min over v's allowed rows of that objective, added in table order; ``inf`` where a
    filter leaves a node no row. On the instance's own blocks and on drawn filters and
    terms besides."""
    import numpy as np

    from fa2opt.extensions import (RowFilter, RowTerm, allowed_rows, declare, relaxed_bound,
                                   row_objective)
    problem = Problem.from_instance(inst)
    rng = np.random.default_rng(seed)
    drawn = [RowFilter("f", {v: rng.random(len(t)) < 0.8 for v, t in problem.tables.items()}),
             RowTerm("t", {v: rng.normal(0, 100, len(t)) for v, t in problem.tables.items()})]
    blocks = list(declare(problem, extensions_of(inst))) + drawn[:int(rng.integers(0, 3))]
    want = 0.0
    for v, t in problem.tables.items():  # the definition, node by node
        obj, keep = np.array(t.cost, dtype=float), np.ones(len(t), dtype=bool)
        for b in blocks:
            if isinstance(b, RowTerm) and v in b.term:
                obj = obj + b.term[v]
            elif isinstance(b, RowFilter) and v in b.allowed:
                keep &= b.allowed[v]
        assert np.array_equal(row_objective(problem, blocks)[v], obj)
        assert np.array_equal(allowed_rows(problem, blocks)[v], np.flatnonzero(keep))
        want += float(np.min(obj[keep])) if keep.any() else math.inf
    got = relaxed_bound(problem, blocks)
    assert got == want, (got, want)
