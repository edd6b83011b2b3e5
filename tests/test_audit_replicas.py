"""Adversarial audit: the replica bound (fa2opt.spec.MAX_ROW_REPLICAS) applies to rows a node
can take. Spec: "a row with n_k > max_replicas or b > max_batch is not available" -- such a
row's replica count is never used, so an instance whose only rows beyond 1e15 replicas are
unavailable anyway is valid and must solve (it was refused as an input error)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import fa2opt
from fa2opt.cli import main
from fa2opt.io import InputError, instance_from_dict
from fa2opt.verify import matches


def _doc(**node_limits: int) -> dict:
    # at 1e15 rps the batch-8 row of 1e9 ms needs 1.25e20 replicas; the batch-1 row of 0.5 ms
    # needs 5e11 (available under max_replicas 10**12)
    return {"sla_ms": 2e9, "rate_rps": 1e15, "queueing": "none",
            "nodes": [{"name": "a", **node_limits, "configs": [
                {"batch": 1, "hardware": "cpu", "units": 1, "latency_ms": 0.5},
                {"batch": 8, "hardware": "cpu", "units": 1, "latency_ms": 1e9}]},
                {"name": "b", "configs": [
                    {"batch": 1, "hardware": "cpu", "units": 2, "latency_ms": 1e-3}]}],
            "edges": [["a", "b"]]}


# {}: no limits, the row past the bound (a1: 1.25e20 replicas) available but slower and
# dearer than a0 (audit 11): never needed (swapping it for a0 keeps every SLA and lowers no
# cost), so the base problem leaves it out instead of refusing the instance
@pytest.mark.parametrize("limits", [{"max_replicas": 10**12}, {"max_batch": 4},
                                    {"max_replicas": 10**12, "max_batch": 1}, {}])
def test_unavailable_or_dominated_rows_beyond_the_replica_bound_do_not_refuse_the_instance(
        tmp_path: Path, limits: dict, capsys: pytest.CaptureFixture[str]) -> None:
    inst = instance_from_dict(_doc(**limits))
    reference = fa2opt.solve(inst, "brute-force")
    assert reference.status == "optimal" and reference.nodes["a"].batch == 1
    for method in ("fa2", "milp", "fa2-grid", "greedy"):
        answer = fa2opt.solve(inst, method)
        assert answer.status in ("optimal", "feasible"), (method, answer.message)
        assert fa2opt.verify(inst, answer).ok
        if answer.status == "optimal":
            assert matches(answer, reference), method
    path = tmp_path / "inst.json"
    path.write_text(json.dumps(_doc(**limits)))
    assert main(["solve", str(path), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["cost"] == reference.cost


def _undominated(doc: dict) -> dict:
    """The out-of-range row made the node's cheapest (units 1e-9: cost 1.25e11 against the
    in-range row's 5e11), so no in-range row dominates it and the optimum may need it."""
    doc["nodes"][0]["configs"][1]["units"] = 1e-9
    return doc


def test_available_undominated_rows_beyond_the_replica_bound_are_still_refused() -> None:
    with pytest.raises(InputError, match="replicas"):
        instance_from_dict(_undominated(_doc()))
    with pytest.raises(InputError, match="replicas"):
        doc = _undominated(_doc(max_replicas=2**53))
        doc["nodes"][0]["configs"][1]["latency_ms"] = 4e4  # needs 5e15 <= 2^53: available
        instance_from_dict(doc)


def test_dominated_rows_beyond_the_replica_bound_are_refused_with_extension_keys() -> None:
    """With extension keys the leave-out is not proven (a dominated row may carry a better
    accuracy or switch nothing), so the instance is refused as before."""
    doc = _doc()
    doc["capacity"] = {"cpu": 1e30}
    with pytest.raises(InputError, match="replicas"):
        instance_from_dict(doc)


def test_the_refusal_names_a_count_just_past_the_bound_exactly(tmp_path, capsys) -> None:
    """Audit 37: a row needing 1,000,001,000,000,000 replicas was refused as needing "1e+15
    replicas (more than 1e+15)" -- the count rounded to three digits read as the bound. The
    message now prints the count's integer digits (below 1e16, exact in a double)."""
    path = tmp_path / "w.json"
    path.write_text(json.dumps({
        "queueing": "none", "rate_rps": 1000001000000.0, "sla_ms": 1e16,
        "nodes": [{"name": "a", "configs": [
            {"batch": 1, "hardware": "cpu", "units": 1.0, "latency_ms": 1e6}]}], "edges": []}))
    assert main(["solve", str(path)]) == 2
    err = capsys.readouterr().err
    assert "would need 1000001000000000 replicas (more than 1e+15)" in err, err
