"""Bad input gets one short line naming the file, the field and the reason, and exit code 2."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any, Callable

import pytest

from fa2opt.cli import main
from fa2opt.io import InputError, load_instance
from helpers import BAD_INPUT_BASE, BAD_INPUT_CSV

BASE, CSV = BAD_INPUT_BASE, BAD_INPUT_CSV


def _set(path: list[Any], value: Any) -> Callable[[dict], None]:
    def mutate(doc: dict) -> None:
        target = doc
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
    return mutate


def _delete(path: list[Any]) -> Callable[[dict], None]:
    def mutate(doc: dict) -> None:
        target = doc
        for key in path[:-1]:
            target = target[key]
        del target[path[-1]]
    return mutate


def _flows(doc: dict) -> None:
    del doc["sla_ms"], doc["rate_rps"]
    doc["flows"] = [{"name": "f", "rate_rps": 10, "sla_ms": 300, "nodes": ["a", "b"]}]


# (id, mutation of the document, CSV text, expected field fragment, expected reason fragment)
CASES: list[tuple[str, Callable[[dict], None] | None, str, str, str]] = [
    ("edge-unknown-node", _set(["edges", 0], ["a", "zz"]), CSV, "edges[0]", "unknown node"),
    ("flow-unknown-node", lambda d: (_flows(d), d["flows"][0]["nodes"].append("zz")), CSV,
     "flows[f].nodes", "unknown node"),
    ("self-loop", _set(["edges"], [["a", "b"], ["b", "b"]]), CSV, "edges[1]", "self-loop"),
    ("cycle", lambda d: d["edges"].append(["b", "a"]), CSV, "edges", "cycle"),
    ("node-in-no-flow", lambda d: (_flows(d), d["flows"][0]["nodes"].remove("b")), CSV,
     "nodes[b]", "no flow"),
    ("missing-rate", _delete(["rate_rps"]), CSV, "rate_rps", "missing"),
    ("missing-sla", _delete(["sla_ms"]), CSV, "sla_ms", "missing"),
    ("non-numeric-rate", _set(["rate_rps"], "fast"), CSV, "rate_rps", "not a number"),
    ("nan-sla", _set(["sla_ms"], float("nan")), CSV, "sla_ms", "finite"),
    ("inf-rate", _set(["rate_rps"], float("inf")), CSV, "rate_rps", "finite"),
    ("zero-rate", _set(["rate_rps"], 0), CSV, "rate_rps", "> 0"),
    ("negative-sla", _set(["sla_ms"], -5), CSV, "sla_ms", "> 0"),
    ("flow-zero-rate", lambda d: (_flows(d), d["flows"][0].update(rate_rps=0)), CSV,
     "flows[f].rate_rps", "> 0"),
    ("zero-latency", _set(["nodes", 1, "configs", 0, "latency_ms"], 0), CSV,
     "nodes[b].configs[0].latency_ms", "> 0"),
    ("negative-units", _set(["nodes", 1, "configs", 1, "units"], -1), CSV,
     "nodes[b].configs[1].units", "> 0"),
    ("missing-latency", _delete(["nodes", 1, "configs", 0, "latency_ms"]), CSV,
     "nodes[b].configs[0].latency_ms", "missing"),
    ("zero-multiplier", _set(["nodes", 1, "multiplier"], 0), CSV, "nodes[b].multiplier", "> 0"),
    ("string-multiplier", _set(["nodes", 1, "multiplier"], "x"), CSV, "nodes[b].multiplier",
     "not a number"),
    ("negative-edge-latency", _set(["edges", 0], ["a", "b", -1]), CSV, "edges[0].latency_ms",
     ">= 0"),
    ("fractional-batch", _set(["nodes", 1, "configs", 0, "batch"], 2.5), CSV,
     "nodes[b].configs[0].batch", "positive integer"),
    ("zero-batch", _set(["nodes", 1, "configs", 0, "batch"], 0), CSV,
     "nodes[b].configs[0].batch", "positive integer"),
    ("utilisation-zero", _set(["max_utilization"], 0), CSV, "max_utilization", "(0, 1]"),
    ("utilisation-above-one", _set(["max_utilization"], 1.5), CSV, "max_utilization", "(0, 1]"),
    ("unknown-queueing", _set(["queueing"], "mm1"), CSV, "queueing", "unknown queueing model"),
    ("duplicate-node", lambda d: d["nodes"].append(copy.deepcopy(d["nodes"][1])), CSV, "nodes",
     "duplicate node name"),
    ("empty-configs", _set(["nodes", 1, "configs"], []), CSV, "nodes[b].configs", "empty profile"),
    ("duplicate-identity", lambda d: d["nodes"][1]["configs"].append(
        {"batch": 1, "hardware": "cpu", "units": 1, "latency_ms": 99.0}), CSV,
     "nodes[b].configs", "same identity"),
    # profile CSV problems: the message names the instance, the node's field and the CSV
    ("csv-missing-column", None, "batch,hardware,latency_ms\n1,cpu,40\n", "units",
     "missing column"),
    ("csv-non-numeric", None, "batch,hardware,units,latency_ms\n1,cpu,1,abc\n",
     "nodes[a].profile (a.csv): line 2: latency_ms", "not a number"),
    ("csv-empty", None, "batch,hardware,units,latency_ms\n", "a.csv", "empty profile"),
    ("csv-duplicate-identity", None, "batch,hardware,units,latency_ms\n1,cpu,1,40\n1,cpu,1,41\n",
     "a.csv", "same identity"),
    ("csv-nan", None, "batch,hardware,units,latency_ms\n1,cpu,1,nan\n", "latency_ms", "finite"),
]


def _write(tmp_path: Path, doc: dict, csv_text: str | None = CSV) -> Path:
    if csv_text is not None:
        (tmp_path / "a.csv").write_text(csv_text)
    path = tmp_path / "inst.json"
    path.write_text(json.dumps(doc))
    return path


def test_base_document_is_valid(tmp_path: Path) -> None:
    inst = load_instance(_write(tmp_path, copy.deepcopy(BASE)))
    assert [n.name for n in inst.nodes] == ["a", "b"]
    assert inst.flows[0].name == "main" and inst.flows[0].nodes == ("a", "b")


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_bad_input_is_one_line_with_file_field_reason(tmp_path: Path, case, capsys) -> None:
    _, mutate, csv_text, field, reason = case
    doc = copy.deepcopy(BASE)
    if mutate is not None:
        mutate(doc)
    path = _write(tmp_path, doc, csv_text)
    with pytest.raises(InputError) as err:
        load_instance(path)
    msg = str(err.value)
    assert field in msg and reason in msg, msg
    assert "inst.json" in msg
    if case[0].startswith("csv-"):
        assert "nodes[a].profile (a.csv)" in msg

    assert main(["validate", str(path)]) == 2
    out, errs = capsys.readouterr()
    assert out == "" and errs.count("\n") == 1 and "Traceback" not in errs
    assert field in errs and reason in errs

    assert main(["solve", str(path), "--method", "brute-force", "--json"]) == 2
    out, _ = capsys.readouterr()
    answer = json.loads(out)
    assert answer["status"] == "error" and field in answer["message"]
    assert answer["nodes"] == {} and answer["cost"] is None


@pytest.mark.parametrize("text,suffix,reason", [
    ("{\"nodes\": [", ".json", "malformed JSON"),
    ("nodes: [a, b\n", ".yaml", "malformed YAML"),
    ("nodes: [a, b\n", ".yml", "expected ',' or ']'"),  # PyYAML's reason, said
    ("name: x\n---\nname: y\n", ".yaml", "malformed YAML at line 2: more than one document"),
    ("[1, 2, 3]", ".json", "not an object"),
    ("- a\n- b\n", ".yml", "not an object"),
])
def test_malformed_documents(tmp_path: Path, text: str, suffix: str, reason: str, capsys) -> None:
    path = tmp_path / f"bad{suffix}"
    path.write_text(text)
    assert main(["validate", str(path)]) == 2
    _, errs = capsys.readouterr()
    assert reason in errs and str(path) in errs and errs.count("\n") == 1


def test_missing_files(tmp_path: Path, capsys) -> None:
    assert main(["validate", str(tmp_path / "nope.json")]) == 2
    assert "file not found" in capsys.readouterr().err
    path = _write(tmp_path, copy.deepcopy(BASE), csv_text=None)  # a.csv absent
    assert main(["validate", str(path)]) == 2
    assert "a.csv" in capsys.readouterr().err


def test_yaml_instance_equals_json(tmp_path: Path) -> None:
    yaml = pytest.importorskip("yaml")
    (tmp_path / "a.csv").write_text(CSV)
    (tmp_path / "i.yaml").write_text(yaml.safe_dump(BASE))
    assert load_instance(tmp_path / "i.yaml").nodes == load_instance(_write(tmp_path, BASE)).nodes


def test_unknown_method_is_a_clear_error(tmp_path: Path, capsys) -> None:
    path = _write(tmp_path, copy.deepcopy(BASE))
    with pytest.raises(SystemExit) as exc:
        main(["solve", str(path), "--method", "no-such-method"])
    assert exc.value.code == 2
    assert "unknown method" in capsys.readouterr().err


def test_several_instances_one_bad(tmp_path: Path, capsys) -> None:
    good = _write(tmp_path, copy.deepcopy(BASE))
    bad = tmp_path / "bad.json"
    bad.write_text("[]")
    assert main(["solve", str(good), str(bad), "--method", "brute-force", "--json"]) == 2
    lines = capsys.readouterr().out.strip().splitlines()
    assert [json.loads(x)["status"] for x in lines] == ["optimal", "error"]


def test_compare_prints_the_flows_warning_once_per_file(tmp_path: Path, capsys) -> None:
    """``fa2opt compare --suite DIR`` warns about top-level keys beside flows as the other
    commands do (it loaded its suites silently), one line on stderr per file."""
    doc = copy.deepcopy(BASE)
    _flows(doc)
    doc["sla_ms"] = 100
    suite = tmp_path / "suite"
    suite.mkdir()
    path = _write(suite, doc)
    assert main(["compare", "--suite", str(suite), "--methods", "fa2", "--reference", "fa2",
                 "--out", str(tmp_path / "o"), "--no-plots"]) == 0
    err = capsys.readouterr().err
    assert err.count(f"{path}: sla_ms: ignored beside flows (each flow gives its own)\n") == 1


@pytest.mark.parametrize("key, value, why", [
    ("sla_ms", -5, "must be > 0 (got -5)"),
    ("rate_rps", "abc", "not a number (got 'abc'; write it as a plain decimal number)"),
    ("sla_ms", float("nan"), "must be finite (got nan)"),
    ("rate_rps", 0, "must be > 0 (got 0)"),
])
def test_top_level_rate_and_sla_beside_flows_are_still_checked(tmp_path: Path, capsys, key,
                                                                value, why) -> None:
    """Not read beside flows, but still numbers as the spec defines them: one line, exit 2
    (they were accepted whatever they held)."""
    doc = copy.deepcopy(BASE)
    _flows(doc)
    doc[key] = value
    path = _write(tmp_path, doc)
    with pytest.raises(InputError, match=re.escape(f"{path}: {key}: {why}")):
        load_instance(path)
    for command in (["solve"], ["validate"], ["info"]):
        assert main([*command, str(path)]) == 2
        assert capsys.readouterr().err == f"{path}: {key}: {why}\n", command


@pytest.mark.parametrize("keys", [("rate_rps", "sla_ms"), ("sla_ms",)])
def test_top_level_rate_and_sla_beside_flows_are_warned_once_and_ignored(
        tmp_path: Path, capsys, keys: tuple[str, ...]) -> None:
    """The spec: flows *replace* the top-level rate_rps/sla_ms. Such a file is accepted and
    solved as without them, with one warning line on stderr per command and file (never on
    stdout or in the --json answer); the library itself prints nothing."""
    doc = copy.deepcopy(BASE)
    _flows(doc)
    plain = _write(tmp_path, doc)
    doc.update({k: v for k, v in (("rate_rps", 999), ("sla_ms", 1)) if k in keys})
    both = tmp_path / "both.json"
    both.write_text(json.dumps(doc))
    warning = f"{both}: {', '.join(keys)}: ignored beside flows (each flow gives its own)\n"

    assert load_instance(both).flows == load_instance(plain).flows
    assert capsys.readouterr() == ("", "")
    assert main(["solve", str(plain), "--json"]) == 0
    expected = json.loads(capsys.readouterr().out)
    assert main(["solve", str(both), "--json"]) == 0
    out, err = capsys.readouterr()
    answer = json.loads(out)
    assert err == warning and "ignored" not in out
    assert (answer["status"], answer["cost"], answer["nodes"]) == (
        expected["status"], expected["cost"], expected["nodes"])
    for command in (["validate"], ["info"], ["info", "--json"]):
        assert main([*command, str(both)]) == 0
        out, err = capsys.readouterr()
        assert err == warning and "ignored" not in out, command
    assert main(["solve", str(plain), str(both), str(both)]) == 0  # once per file given
    assert capsys.readouterr().err == 2 * warning
    assert main(["table", str(both), "--rates", "10:20:5", "--out", str(tmp_path / "t.csv")]) == 0
    assert capsys.readouterr().err == warning
    doc["capacity"] = {"cpu": -1}  # a file refused for another reason: its error line alone
    both.write_text(json.dumps(doc))
    for command in (["solve"], ["solve", "--json"], ["validate"]):
        assert main([*command, str(both)]) == 2
        err = capsys.readouterr().err
        assert "ignored" not in err and err.count("\n") == (command != ["solve", "--json"]), command
