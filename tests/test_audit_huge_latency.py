"""Adversarial audit: node latencies beyond 1e15 ms inside the representable range.

Batch-fill delays are 1000·(b − 1)/λ_v ms: at rate_rps 1e-6, multiplier 1e-6 and batch 1000
(all inside fa2opt.spec's ranges) a row's latency is about 2e17 ms. The flow LP of
``fa2opt.reductions.flow_bound`` put these latencies into HiGHS's matrix, whose default
``large_matrix_value`` (1e15) refuses them: ``addRows`` failed, the LP kept no row, its duals
came back empty and ``flow_weights`` raised IndexError -- a traceback and exit 1 from
``fa2opt solve`` where the MILP and brute force answer ``optimal``."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import fa2opt
from fa2opt.io import instance_from_dict
from fa2opt.verify import matches

REPO = Path(__file__).resolve().parents[1]


def _row(batch: int, hardware: str, units: float, latency_ms: float) -> dict:
    return {"batch": batch, "hardware": hardware, "units": units, "latency_ms": latency_ms}


# found by a random search over the range's corners, then shrunk: one row per node, so the
# decision is forced; three flows share the nodes, which sends fa2 to its LP search
DOC = {
    "queueing": "batch-fill", "prices": {"gpu": 0.3, "tpu": 1.0},
    "nodes": [{"name": "v0", "multiplier": 1e-6, "configs": [_row(1000, "gpu", 2, 3e-6)]},
              {"name": "v1", "multiplier": 1e-3, "configs": [_row(8, "tpu", 0.5, 1.0)]},
              {"name": "v2", "multiplier": 1e-3, "configs": [_row(2, "cpu", 2, 1e-3)]},
              {"name": "v3", "multiplier": 1e-3, "configs": [_row(1, "tpu", 4, 1e-6)]},
              {"name": "v4", "multiplier": 1e-6, "configs": [_row(2, "gpu", 4, 1.0)]},
              {"name": "v5", "multiplier": 1.0, "configs": [_row(1, "cpu", 0.5, 1.0)]}],
    "edges": [],
    "flows": [{"name": "f0", "nodes": ["v0", "v1", "v2", "v3", "v5"], "rate_rps": 2e-6,
               "sla_ms": 1.9988453593006774e+17},
              {"name": "f1", "nodes": ["v0", "v1", "v2", "v3", "v4", "v5"], "rate_rps": 2e-6,
               "sla_ms": 2.0989935339326714e+17},
              {"name": "f2", "nodes": ["v0", "v2", "v3", "v4", "v5"], "rate_rps": 1e-6,
               "sla_ms": 1.998e+17}],
}


def test_latencies_beyond_1e15_solve_like_brute_force() -> None:
    inst = instance_from_dict(DOC)
    reference = fa2opt.solve(inst, "brute-force")
    assert reference.status == "optimal"
    assert max(d.latency_ms for d in reference.nodes.values()) > 1e15  # the case at hand
    for method in ("fa2", "milp"):
        answer = fa2opt.solve(inst, method)
        assert answer.status == "optimal", (method, answer.message)
        assert matches(answer, reference), (method, answer.cost, reference.cost)


@pytest.mark.parametrize("sla_scale", [0.5, 1.0, 10.0])
def test_the_cli_answers_without_a_traceback(tmp_path: Path, sla_scale: float) -> None:
    doc = json.loads(json.dumps(DOC))
    for f in doc["flows"]:
        f["sla_ms"] *= sla_scale
    path = tmp_path / "inst.json"
    path.write_text(json.dumps(doc))
    proc = subprocess.run([sys.executable, "-m", "fa2opt", "solve", str(path), "--json"],
                          cwd=REPO, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr[-2000:]
    assert json.loads(proc.stdout)["status"] in ("optimal", "infeasible")
