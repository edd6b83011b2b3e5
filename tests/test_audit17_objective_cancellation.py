"""An objective whose terms cancel is compared to its terms' magnitude (audit 17).

With ``accuracy.weight`` w the objective is Σ_v c_v − w·Σ_v a_v. Where the two sums nearly
cancel (units of 8.09e6 and 5.79e6 against w = 1e7 and accuracies 0.809 and 0.579: exactly
0 in real arithmetic), the solvers' order (each node's c_v, then each −w·a_v) and
``verify``'s (Σc, then −w·Σa) round differently by ~2e-9, past the spec's 1e-9·max(1,
|objective|): every method's answer on that valid one-row-per-node instance became
``error`` ("verification failed"), exit 2. ``verify`` now compares objectives (and checks
lower bounds) relative to Σ|terms|, the scale of a sum's rounding error, and still rejects
any objective off by more than that.
"""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest

from fa2opt import Problem, solve, verify
from fa2opt.cli import main
from fa2opt.io import instance_from_dict

CANCEL = {"name": "objective-cancel-1e7", "sla_ms": 100, "rate_rps": 1, "queueing": "none",
          "accuracy": {"weight": 1e7},
          "nodes": [{"name": "v0", "configs": [{"batch": 1, "hardware": "cpu", "units": 8090000,
                                                "latency_ms": 1, "accuracy": 0.809}]},
                    {"name": "v1", "configs": [{"batch": 1, "hardware": "cpu", "units": 5790000,
                                                "latency_ms": 1, "accuracy": 0.579}]}],
          "edges": []}


@pytest.mark.parametrize("method", ["fa2", "milp", "brute-force"])
def test_cancelling_terms_are_an_optimal_answer(method):
    got = solve(instance_from_dict(CANCEL), method)
    assert got.status == "optimal", got.message
    assert got.cost == 13_880_000.0 and abs(got.objective) < 1e-8


def test_the_cli_answers_it_with_exit_0(tmp_path, capsys):
    path = tmp_path / "cancel.json"
    path.write_text(json.dumps(CANCEL))
    assert main(["solve", str(path), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["status"] == "optimal"


def test_an_objective_off_by_more_than_rounding_is_still_rejected():
    inst = instance_from_dict(CANCEL)
    good = solve(inst, "fa2")
    scale = 13_880_000.0 * 2  # Σc + w·Σa
    for off in (1.0, 0.1, 2e-9 * scale):  # the tolerance: 1e-9·Σ|terms| (+1e-9)
        bad = replace(good, objective=good.objective + off)
        assert not verify(inst, bad).ok, off
    assert not verify(inst, replace(good, lower_bound=good.objective + 1.0)).ok


def test_random_cancelling_instances_match_brute_force():
    """Draws like the audit's: 2-4 nodes, 1-3 rows each, units ~1e7 priced against w·a."""
    rng = np.random.default_rng(17)
    for i in range(25):
        w = float(10.0 ** rng.integers(6, 10))
        nodes = []
        for v in range(int(rng.integers(2, 5))):
            rows = []
            for b in range(1, int(rng.integers(2, 4))):
                acc = round(float(rng.uniform(0.3, 1.0)), 3)
                rows.append({"batch": b, "hardware": "cpu", "units": round(w * acc / b),
                             "latency_ms": float(rng.uniform(1, 5)), "accuracy": acc})
            nodes.append({"name": f"v{v}", "configs": rows})
        inst = instance_from_dict({"name": f"cancel-{i}", "sla_ms": 50, "rate_rps": 1,
                                   "queueing": "none", "accuracy": {"weight": w},
                                   "nodes": nodes, "edges": []})
        problem = Problem.from_instance(inst)
        fa2, brute = solve(problem, "fa2"), solve(problem, "brute-force")
        assert fa2.status == brute.status == "optimal", (i, fa2.message, brute.message)
        assert abs(fa2.objective - brute.objective) <= 1e-9 * 2 * sum(
            c.cost for c in brute.nodes.values()) + 1e-9, i
