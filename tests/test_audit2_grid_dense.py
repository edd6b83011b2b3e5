"""Second audit: fa2-grid on a dense DAG whose nodes mostly have a single row.

tests/data/audit2/grid_dense_single_rows.json (drawn by scripts/audit2/gen.py): 52 nodes, 952
edges, 4 flows, batch-fill; 432 row combinations in all (brute force enumerates them at once)
and ``fa2`` proves the optimum in ~0.25 s with 52 coupling nodes. ``fa2-grid`` ran for more
than 5 minutes and held 6.9 GB: its coupling search (:func:`fa2opt.reductions.search.
_equal_split_search`, reached from :func:`fa2opt.grid.coupling.grid_search` because the grid
arithmetic has no Lagrangian prices) branches one level per coupling node -- single-row nodes
included -- and every bound runs a grid DP of each flow over the node-reduced dense graph.
fa2-grid took no ``--time-limit``, so nothing stopped it.

Fixed (branch grid3): the search fixes coupling nodes with one candidate before it starts
(:func:`fa2opt.reductions.search.pinned`), the grid DP evaluates each shared sub-tree once and
folds fixed leaves into whole grid steps (:func:`fa2opt.grid.flow_dp.fix_steps`; the flow's
tree has 955,389 leaf occurrences but 1,437 distinct sub-trees), and fa2-grid takes
``--time-limit``: ~0.1 s and ~0.25 GB here (tests/test_grid_dense.py tests each part)."""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
from pathlib import Path

import pytest

INSTANCE = Path(__file__).parent / "data" / "audit2" / "grid_dense_single_rows.json"
ROOT = Path(__file__).resolve().parents[1]


def _limit_memory() -> None:  # 3 GiB: the run must not take the shared machine's memory
    resource.setrlimit(resource.RLIMIT_AS, (3 << 30, 3 << 30))


@pytest.mark.slow
def test_grid_decides_a_dense_dag_of_single_row_nodes_in_bounded_time_and_memory() -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    try:
        out = subprocess.run([sys.executable, "-m", "fa2opt", "solve", str(INSTANCE), "--json",
                              "-m", "fa2-grid"], capture_output=True, text=True, env=env,
                             timeout=60, preexec_fn=_limit_memory)
    except subprocess.TimeoutExpired:
        pytest.fail("fa2-grid ran past 60 s")
    assert out.returncode == 0, out.stderr[-500:]
    answer = json.loads(out.stdout)
    assert answer["status"] in ("optimal", "feasible"), answer.get("message")
    exact = json.loads(subprocess.run([sys.executable, "-m", "fa2opt", "solve", str(INSTANCE),
                                       "--json"], capture_output=True, text=True, env=env,
                                      timeout=60, check=True).stdout)
    assert exact["status"] == "optimal"  # the grid's answers bracket fa2's proven optimum
    assert answer["lower_bound"] <= exact["cost"] * (1 + 1e-9) <= answer["cost"] * (1 + 1e-9)


def test_running_out_of_memory_is_an_error_answer_and_the_next_path_is_solved(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    # spec: several paths give one JSON answer per line, in order, exit code 2 after all of
    # them when one is `error`; a MemoryError killed the CLI with a traceback instead. This
    # instance no longer runs out of memory (~0.25 GB), so the MemoryError is raised for it
    # in process, where the CLI meets it the same way
    from fa2opt.cli import main
    from fa2opt.grid import GridSolver

    decide = GridSolver.decide

    def hungry(self, problem):
        if problem.instance.name == json.loads(INSTANCE.read_text())["name"]:
            raise MemoryError
        return decide(self, problem)

    monkeypatch.setattr(GridSolver, "decide", hungry)
    small = {"name": "small", "sla_ms": 100, "rate_rps": 50, "edges": [],
             "nodes": [{"name": "a", "configs": [
                 {"batch": 1, "hardware": "cpu", "units": 1, "latency_ms": 10}]}]}
    (tmp_path / "small.json").write_text(json.dumps(small))
    code = main(["solve", str(INSTANCE), str(tmp_path / "small.json"), "--json", "-m", "fa2-grid"])
    lines = capsys.readouterr().out.splitlines()
    assert code == 2
    assert [json.loads(x)["status"] for x in lines] == ["error", "optimal"]
    assert "out of memory" in json.loads(lines[0])["message"]
