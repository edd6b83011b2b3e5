"""Adversarial audit: the extension keys (capacity, accuracy, current/switch_cost, energy) get
the same input discipline as the base problem -- exit code 2 and one short line naming the
file, the field and the reason, whatever the value (huge lists, megabyte strings, newlines
in names, integers of hundreds of digits) -- and numbers outside the representable range
are refused rather than turned into an ``error`` answer by HiGHS or an overflow."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from fa2opt.cli import main

MAX_MESSAGE = 300  # characters beyond the file's path: "short"

BASE: dict[str, Any] = {
    "name": "audit", "queueing": "batch-fill",
    "nodes": [
        {"name": "a", "configs": [
            {"batch": 1, "hardware": "cpu", "units": 1, "latency_ms": 20.0, "accuracy": 0.9},
            {"batch": 4, "hardware": "gpu", "units": 1, "latency_ms": 30.0, "accuracy": 0.95}]},
        {"name": "b", "multiplier": 2.0, "configs": [
            {"batch": 1, "hardware": "cpu", "units": 2, "latency_ms": 10.0},
            {"batch": 2, "hardware": "cpu", "units": 2, "latency_ms": 15.0}]}],
    "edges": [["a", "b", 1.5]],
    "flows": [{"name": "f", "rate_rps": 50, "sla_ms": 500, "nodes": ["a", "b"]}],
    "capacity": {"cpu": 100, "gpu": 50},
    "accuracy": {"min": {"f": 0.5}, "aggregate": "product", "scale": 1, "weight": 0.1},
    "current": {"a": {"batch": 1, "hardware": "cpu", "units": 1}},
    "switch_cost": {"a": 2.0},
    "energy": {"power_w": {"cpu": 10, "gpu": 100}, "max_j": {"f": 1e6}},
}

BIG_LIST = list(range(10**5))
LONG = "x" * 10**5
HUGE_INT = 10**299  # inside MAX_NUMBER_DIGITS: stays a Python int after parsing

# (id, keys to the value, value, field the message must name)
HOSTILE = [
    ("capacity-list", ["capacity", "cpu"], BIG_LIST, "capacity.cpu"),
    ("capacity-string", ["capacity", "cpu"], LONG, "capacity.cpu"),
    ("capacity-key-newline", ["capacity"], {"c\npu" * 10**4: "x"}, "capacity."),
    ("accuracy-min-list", ["accuracy", "min", "f"], BIG_LIST, "accuracy.min.f"),
    ("accuracy-unknown-flow", ["accuracy", "min"], {"g\n" * 10**4: 0.5}, "accuracy.min."),
    ("accuracy-unknown-key", ["accuracy"], {"z\n" * 10**4: 1}, "accuracy."),
    ("accuracy-aggregate", ["accuracy", "aggregate"], LONG, "accuracy.aggregate"),
    ("accuracy-aggregate-int", ["accuracy", "aggregate"], HUGE_INT, "accuracy.aggregate"),
    ("accuracy-scale", ["accuracy", "scale"], BIG_LIST, "accuracy.scale"),
    ("accuracy-weight", ["accuracy", "weight"], {str(i): i for i in range(10**4)},
     "accuracy.weight"),
    ("current-batch", ["current", "a", "batch"], BIG_LIST, "current.a.batch"),
    ("current-hardware", ["current", "a", "hardware"], LONG, "current.a"),
    ("current-batch-int", ["current", "a", "batch"], HUGE_INT, "current.a"),
    ("current-units-int", ["current", "a", "units"], HUGE_INT, "current.a"),
    ("current-unknown-node", ["current"], {"n\n" * 10**4: {}}, "current."),
    ("current-missing-key", ["current", "a"], {"batch": 1, "hardware": "cpu",
                                               "q\n" * 10**4: 1}, "current.a.units"),
    ("switch-cost-list", ["switch_cost"], BIG_LIST, "switch_cost"),
    ("switch-cost-node-string", ["switch_cost", "a"], LONG, "switch_cost.a"),
    ("switch-cost-unknown-node", ["switch_cost"], {"n\n" * 10**4: 1}, "switch_cost."),
]
# the worked example's key: honoured only under --formulation energy (extensions.OPT_IN)
ENERGY_HOSTILE = [
    ("energy-power", ["energy", "power_w", "cpu"], BIG_LIST, "energy.power_w.cpu"),
    ("energy-unknown-flow", ["energy", "max_j"], {"g\n" * 10**4: 1}, "energy.max_j."),
]


def _write(tmp_path: Path, keys: list[str], value: Any) -> Path:
    doc = copy.deepcopy(BASE)
    target = doc
    for k in keys[:-1]:
        target = target[k]
    target[keys[-1]] = value
    path = tmp_path / "inst.json"
    path.write_text(json.dumps(doc))
    return path


def _refused(path: Path, field: str, capsys: pytest.CaptureFixture[str]) -> str:
    """Exit 2 from ``solve --json`` and ``validate``; one short line naming file and field."""
    assert main(["solve", str(path), "--json"]) == 2
    answer = json.loads(capsys.readouterr().out)
    msg = answer["message"]
    assert answer["status"] == "error" and answer["nodes"] == {} and answer["cost"] is None
    assert msg.startswith(f"{path}: {field}"), msg[:200]
    assert "\n" not in msg and len(msg) < len(str(path)) + MAX_MESSAGE, (len(msg), msg[:400])
    assert main(["validate", str(path)]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1 and err.strip() == msg
    return msg


def test_base_document_solves(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _write(tmp_path, ["name"], "audit")
    assert main(["solve", str(path), "--json"]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert answer["status"] == "optimal"
    assert answer["formulation"] == ["capacity", "accuracy", "switch"]  # energy: opt-in
    assert main(["solve", str(path), "--json", "--formulation", "energy"]) == 0
    assert json.loads(capsys.readouterr().out)["formulation"] == ["energy"]


def test_a_previous_answers_nodes_are_taken_as_the_current_rows(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``current`` set to a previous answer's ``nodes`` (identity plus replicas, latencies
    and cost: keys the spec does not define for a current row, so ignored) solves as the
    identities alone do."""
    path = _write(tmp_path, ["name"], "audit")
    assert main(["solve", str(path), "--json"]) == 0
    nodes = json.loads(capsys.readouterr().out)["nodes"]
    assert set(next(iter(nodes.values()))) > {"batch", "hardware", "units", "variant"}
    answers = []
    for current in (nodes, {v: {k: n[k] for k in ("batch", "hardware", "units", "variant")}
                            for v, n in nodes.items()}):
        path = _write(tmp_path, ["current"], current)
        assert main(["solve", str(path), "--json"]) == 0
        answers.append(json.loads(capsys.readouterr().out))
    assert answers[0]["status"] == answers[1]["status"] == "optimal"
    assert answers[0]["objective"] == answers[1]["objective"]
    assert answers[0]["nodes"] == answers[1]["nodes"]


@pytest.mark.parametrize("case", HOSTILE, ids=[c[0] for c in HOSTILE])
def test_hostile_extension_values_give_one_short_line(tmp_path: Path, case,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    _, keys, value, field = case
    _refused(_write(tmp_path, keys, value), field, capsys)


@pytest.mark.parametrize("case", ENERGY_HOSTILE, ids=[c[0] for c in ENERGY_HOSTILE])
def test_hostile_energy_values_count_only_where_energy_is_named(
        tmp_path: Path, case, capsys: pytest.CaptureFixture[str]) -> None:
    """By default ``energy`` is a key the spec does not define: ignored, the other
    extensions solved; named, it is parsed and refused in one short line."""
    _, keys, value, field = case
    path = _write(tmp_path, keys, value)
    assert main(["solve", str(path), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["formulation"] == ["capacity", "accuracy", "switch"]
    assert main(["solve", str(path), "--json", "--formulation", "energy"]) == 2
    answer = json.loads(capsys.readouterr().out)
    msg = answer["message"]
    assert answer["status"] == "error" and msg.startswith(f"{path}: {field}"), msg[:200]
    assert "\n" not in msg and len(msg) < len(str(path)) + MAX_MESSAGE, (len(msg), msg[:400])


# -- objective terms inside HiGHS's range -------------------------------------------------------
# The MILP answered `error` ("HiGHS stopped with unknown") at accuracy.weight 1e20 (HiGHS reads
# |coefficient| >= 1e20 as infinite) and fa2 overflowed to an objective of -inf at 1.7e308.
@pytest.mark.parametrize("keys,value,field", [
    (["accuracy", "weight"], 1e20, "accuracy.weight"),
    (["accuracy", "weight"], 1.7e308, "accuracy.weight"),
    (["switch_cost"], 1e20, "switch_cost"),
    (["switch_cost", "a"], 1.7e308, "switch_cost.a"),
])
def test_objective_terms_beyond_the_range_are_refused(tmp_path: Path, keys, value, field,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    msg = _refused(_write(tmp_path, keys, value), field, capsys)
    assert "out of range" in msg


@pytest.mark.parametrize("keys", [["accuracy", "weight"], ["switch_cost", "a"]])
def test_objective_terms_at_the_range_edge_solve_alike(tmp_path: Path, keys,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    from fa2opt import spec

    path = _write(tmp_path, keys, spec.OBJECTIVE_TERM_RANGE[1])
    answers = []
    for method in ("fa2", "milp", "brute-force"):
        assert main(["solve", str(path), "--json", "-m", method]) == 0
        answers.append(json.loads(capsys.readouterr().out))
    assert [a["status"] for a in answers] == ["optimal"] * 3
    objectives = [a["objective"] for a in answers]
    assert max(objectives) - min(objectives) <= 1e-9 * max(1.0, abs(objectives[0]))


def test_current_row_identity_takes_numbers_as_the_profile_does(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A profile row's batch may be written 4.0 (an integral number); the same row copied
    into ``current`` was refused ("invalid value 4.0"), so a tool that copies its rows into
    the deployment got exit 2 for a row that is in the profile."""
    doc = copy.deepcopy(BASE)
    doc["nodes"][0]["configs"][1]["batch"] = 4.0
    doc["current"] = {"a": dict(doc["nodes"][0]["configs"][1])}
    del doc["current"]["a"]["latency_ms"], doc["current"]["a"]["accuracy"]
    path = tmp_path / "inst.json"
    path.write_text(json.dumps(doc))
    assert main(["solve", str(path), "--json"]) == 0, capsys.readouterr()
    assert json.loads(capsys.readouterr().out)["status"] == "optimal"
    doc["current"]["a"]["batch"] = 4.5
    path.write_text(json.dumps(doc))
    _refused(path, "current.a.batch", capsys)


def test_a_power_past_the_magnitude_window_is_refused_not_infeasible(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A power of 1e307 W made every row's joules m·u·P·p overflow to inf: fa2, the MILP
    and brute force answered `infeasible` (exit 0) to a feasible instance. Powers lie in
    the spec's magnitude window, as prices do; at its top the instance still solves."""
    for power, status in ((1e307, None), (1e16, None), (1e-300, None), (1e15, "optimal"),
                          (0, "optimal")):
        path = _write(tmp_path, ["energy"], {"power_w": {"cpu": power, "gpu": power},
                                             "max_j": {"f": 1e300}})
        for method in ("fa2", "milp"):
            rc = main(["solve", str(path), "--json", "--formulation", "energy", "-m", method])
            answer = json.loads(capsys.readouterr().out)
            if status is None:
                assert rc == 2 and answer["status"] == "error", (power, method, answer)
                assert answer["message"].startswith(f"{path}: energy.power_w.cpu: out of range")
            else:
                assert rc == 0 and answer["status"] == status, (power, method, answer)


@pytest.mark.parametrize("keys, value, field", [
    (["current", "a"], {"batch": 8, "hardware": "cpu", "units": 1}, "current.a"),
    (["capacity", "cpu"], -3, "capacity.cpu"),
    (["nodes"], None, "nodes[a].accuracy"),
])
def test_the_milp_refuses_bad_extension_keys_on_an_infeasible_instance(
        tmp_path: Path, keys, value, field, capsys: pytest.CaptureFixture[str]) -> None:
    """An SLA the all-fastest choice breaks: the MILP's short circuit answered `infeasible`
    (exit 0) before reading the extension keys, where fa2 refuses them (exit 2); both now
    refuse them, naming the field."""
    doc = copy.deepcopy(BASE)
    doc["flows"][0]["sla_ms"] = 5  # below every path's fastest latency
    if value is None:
        doc["nodes"][0]["configs"][0]["accuracy"] = 1.5  # outside (0, 1] at scale 1
    else:
        doc[keys[0]][keys[1]] = value
    path = tmp_path / "inst.json"
    path.write_text(json.dumps(doc))
    for method in ("fa2", "milp"):
        assert main(["solve", str(path), "--json", "-m", method]) == 2, method
        answer = json.loads(capsys.readouterr().out)
        assert answer["status"] == "error" and answer["message"].startswith(f"{path}: {field}")
    doc["flows"][0]["sla_ms"] = 500
    path.write_text(json.dumps(doc))
    assert main(["solve", str(path), "--json", "-m", "milp"]) == 2  # (as it already was)
    capsys.readouterr()
