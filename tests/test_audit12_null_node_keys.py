"""Audit 12 (2026-12-03): ``"profile": null`` beside ``configs`` (what a generator writes for
an optional field it leaves unset) was refused as "needs exactly one of", while null means
absent for a node's other keys and at the top level. Null ``profile`` / ``configs`` now
mean the key is absent; a node with neither is still an input error."""

from __future__ import annotations

import json

import pytest

from fa2opt.cli import main
from fa2opt.io import InputError, load_instance

ROWS = [{"batch": 1, "hardware": "cpu", "units": 1, "latency_ms": 20},
        {"batch": 2, "hardware": "cpu", "units": 2, "latency_ms": 30}]


def _instance(tmp_path, nodes) -> str:
    (tmp_path / "p.csv").write_text("batch,hardware,units,latency_ms\n1,cpu,1,20\n4,cpu,1,50\n")
    path = tmp_path / "i.json"
    path.write_text(json.dumps({"rate_rps": 40, "sla_ms": 200, "edges": [["a", "b"]],
                                "nodes": nodes}))
    return str(path)


def test_null_profile_or_configs_is_absent(tmp_path, capsys):
    nodes = [{"name": "a", "profile": "p.csv", "configs": None},
             {"name": "b", "profile": None, "configs": ROWS}]
    inst = load_instance(_instance(tmp_path, nodes))
    assert [len(inst.node(v).configs) for v in ("a", "b")] == [2, 2]
    assert main(["solve", _instance(tmp_path, nodes), "--json"]) == 0
    a = json.loads(capsys.readouterr().out)
    nodes_plain = [{"name": "a", "profile": "p.csv"}, {"name": "b", "configs": ROWS}]
    assert main(["solve", _instance(tmp_path, nodes_plain), "--json"]) == 0
    b = json.loads(capsys.readouterr().out)
    assert a["status"] == b["status"] == "optimal" and a["cost"] == b["cost"]
    assert a["nodes"] == b["nodes"]


@pytest.mark.parametrize("node", [{"name": "b", "profile": None, "configs": None},
                                  {"name": "b", "profile": None},
                                  {"name": "b", "profile": "p.csv", "configs": ROWS}])
def test_neither_or_both_is_still_an_input_error(tmp_path, node):
    with pytest.raises(InputError, match=r"nodes\[b\]: needs exactly one of"):
        load_instance(_instance(tmp_path, [{"name": "a", "configs": ROWS}, node]))


@pytest.mark.parametrize("drop, field", [("nodes", r"nodes: missing or null"),
                                         ("flow-nodes", r"flows\[main\]\.nodes: missing or null")])
def test_a_missing_list_says_missing(tmp_path, capsys, drop, field):
    """An outside sweep (2026-12-05): a file without ``nodes`` was refused as "nodes: must be
    a list (got NoneType)"; a missing (or null) list or object now says so, exit code 2."""
    data = {"rate_rps": 40, "sla_ms": 200, "edges": [["a", "b"]],
            "nodes": [{"name": "a", "configs": ROWS}, {"name": "b", "configs": ROWS}]}
    if drop == "nodes":
        del data["nodes"]
    else:
        data["flows"] = [{"name": "main", "rate_rps": 40, "sla_ms": 200, "nodes": None}]
    path = tmp_path / "i.json"
    path.write_text(json.dumps(data))
    with pytest.raises(InputError, match=field):
        load_instance(str(path))
    assert main(["solve", str(path)]) == 2
    err = capsys.readouterr().err
    assert "missing or null" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
