"""Options of every method are validated alike (fa2opt.solver.OPTIONS), refused when a method
does not take them, and shown in ``solve --help``; ``--version``; the text table of ``solve``;
``time_limit`` answers carry a lower bound or say there is none."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import fa2opt
from fa2opt.cli import main
from fa2opt.generate import Sizes, random_instance
from fa2opt.io import dump_instance
from fa2opt.model import Config, Edge, Flow, Instance, Node
from fa2opt.problem import Problem
from fa2opt.solver import OPTIONS, Decision, Solver, available_methods, check_options, solver_class

from devices import SPEC  # tests/devices.py: the spec's examples
from helpers import registered_methods

REPO = Path(__file__).resolve().parents[1]

CHAIN = f"{SPEC}/chain.json"


def test_the_table_declares_exactly_what_each_method_takes():
    shipped = [m for m, target in fa2opt.solver._METHODS.items()
               if target.startswith(("fa2opt.", "formulations."))]  # not the tests' own
    assert len(shipped) >= 8
    for m in shipped:
        assert m in OPTIONS, m
        if m not in available_methods():
            continue
        # every method takes formulation (Solver.__init__ adds it to the class's own)
        assert set(OPTIONS[m]) == set(solver_class(m).option_names()) | {"formulation"}, m


def test_table_defaults_are_the_methods_own():
    from fa2opt.baselines.nexus import DEFAULT_SLO_STEPS
    from fa2opt.grid.solver import DEFAULT_GRID_MS

    assert OPTIONS["nexus"]["slo_steps"].default == DEFAULT_SLO_STEPS
    assert OPTIONS["fa2-grid"]["grid_ms"].default == DEFAULT_GRID_MS


BAD_POSITIVE = [0, -1, -0.5, float("nan"), float("inf"), "5", True]


@pytest.mark.parametrize("method, option", [(m, o) for m, opts in OPTIONS.items()
                                            for o, spec in opts.items() if spec.positive])
@pytest.mark.parametrize("value", BAD_POSITIVE)
def test_positive_options_refuse_the_same_values_for_every_method(method, option, value):
    if method not in available_methods():
        pytest.skip(f"{method} not present")
    with pytest.raises(ValueError, match=option):
        fa2opt.solver.get_solver(method, **{option: value})
    # and a good value passes, normalised to a float
    assert check_options(method, {option: 2})[option] == 2.0


def test_int_bool_and_choice_options_are_checked():
    with pytest.raises(ValueError, match="max_combinations"):
        check_options("brute-force", {"max_combinations": 0})
    with pytest.raises(ValueError, match="max_combinations"):
        check_options("brute-force", {"max_combinations": 2.5})
    assert check_options("brute-force", {"max_combinations": 10.0}) == {"max_combinations": 10}
    with pytest.raises(ValueError, match="cache"):
        check_options("fa2", {"cache": "yes"})
    with pytest.raises(ValueError, match="bound"):
        check_options("fa2", {"bound": "x"})
    with pytest.raises(ValueError, match="takes no option grid_ms"):
        check_options("greedy", {"grid_ms": 5})


@pytest.mark.parametrize("argv, flag", [
    (["-m", "greedy", "--grid-ms", "5"], "--grid-ms"),
    (["-m", "fa2", "--formulation", "nonsense"], "formulation"),  # every method takes it: a bad value
    # ... refused as an option by every method alike, --json or not (an outside sweep,
    # 2026-12-05: fa2 answered it per instance in JSON, milp in one stderr line)
    (["-m", "fa2", "--formulation", "nonsense", "--json"], "formulation"),
    (["-m", "greedy", "--formulation", "nonsense", "--json"], "formulation"),
    (["-m", "milp", "--formulation", "nonsense", "--json"], "formulation"),
    (["-m", "slack-split", "--time-limit", "5"], "--time-limit"),  # a one-pass rule takes none
    # each named by its flag (2026-12-06: an infinite --time-limit was refused naming
    # the methods' option, time_limit)
    (["-m", "fa2-grid", "--time-limit", "0"], "--time-limit"),
    (["-m", "fa2", "--time-limit", "0"], "--time-limit"),
    (["-m", "fa2", "--time-limit", "-1"], "--time-limit"),
    (["-m", "fa2", "--time-limit", "nan"], "--time-limit"),
    (["-m", "milp", "--time-limit", "inf"], "--time-limit"),
    (["-m", "fa2-grid", "--grid-ms", "inf"], "--grid-ms"),
    (["-m", "brute-force", "--max-combinations", "0"], "--max-combinations"),
])
def test_cli_refuses_options_in_one_line_with_exit_2(argv, flag, capsys):
    rc = main(["solve", CHAIN, *argv])
    out = capsys.readouterr()
    assert rc == 2 and out.out == ""
    assert len(out.err.strip().splitlines()) == 1 and flag in out.err


def test_version_and_solve_help(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0
    assert capsys.readouterr().out.strip() == f"fa2opt {fa2opt.cli.version()}"
    with pytest.raises(SystemExit):
        main(["solve", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    for m in available_methods():
        assert m in text, m
    assert "(default fa2)" in text and "fa2-grid: 1.0" in text


def test_solve_does_not_load_the_other_commands_modules():
    """``fa2opt solve`` builds the built-in commands' parser only: the comparison's pandas
    (half a second of a one-instance call) stays unloaded; the full parser still lists the
    other modules' commands."""
    code = ("import sys; from fa2opt.cli import main; "
            "rc = main(['solve', 'datasets/pipelines/nlp_cpu.json', '--json']); "
            "print(rc, 'pandas' in sys.modules, 'fa2opt.compare' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=REPO, check=True).stdout.splitlines()[-1]
    assert out == "0 False False"
    text = fa2opt.cli.build_parser().format_help()
    assert "compare" in text and "generate" in text


def test_text_table_columns_fit_long_node_names(tmp_path, capsys):
    long = "a_rather_long_stage_name_that_used_to_push_the_columns_right"
    rows = (Config(1, "cpu", 1, 10.0), Config(4, "cpu", 2, 25.0))
    inst = Instance("t", (Node(long, rows), Node("b", rows)), (Edge(long, "b"),),
                    (Flow("main", 50.0, 500.0, (long, "b")),))
    dump_instance(inst, tmp_path / "t.json")
    assert main(["solve", str(tmp_path / "t.json")]) == 0
    lines = capsys.readouterr().out.splitlines()
    i = next(k for k, x in enumerate(lines) if x.split()[:2] == ["node", "batch"])
    table = lines[i:i + 3]
    # every right-aligned column ends at the same position on every line
    head = table[0]
    for name in ("batch", "replicas", "cost"):
        end = head.index(name) + len(name)
        for row in table[1:]:
            assert row[end - 1] != " " and (end == len(row) or row[end] == " "), (name, row)


class _StoppedSolver(Solver):
    """Answers time_limit with no bound at all (as a method stopped before any bound)."""

    name = "test-stopped"

    def decide(self, problem: Problem) -> Decision:
        return Decision("time_limit")


class _WeakBoundSolver(Solver):
    """Answers time_limit with a valid but weak bound (0: as HiGHS stopped early)."""

    name = "test-weak-bound"

    def decide(self, problem: Problem) -> Decision:
        return Decision("time_limit", lower_bound=0.0)


@pytest.fixture(autouse=True, scope="module")
def _test_methods():
    with registered_methods({"test-stopped": _StoppedSolver,
                             "test-weak-bound": _WeakBoundSolver}):
        yield


def test_time_limit_answer_without_a_bound_gets_the_relaxed_one():
    # the spec: a time_limit answer carries lower_bound; a method stopped before it had one
    # gets the relaxation without SLAs: Σ_v least row cost (the chain has no extensions)
    inst = fa2opt.load_instance(CHAIN)
    ans = fa2opt.solve(inst, "test-stopped")
    problem = Problem.from_instance(inst)
    assert ans.status == "time_limit"
    assert ans.lower_bound == sum(min(t.cost) for t in problem.tables.values())
    assert ans.lower_bound <= fa2opt.solve(inst, "brute-force").cost


def test_time_limit_answer_with_a_weaker_bound_gets_the_relaxed_one():
    # a bound below the relaxation's (the MILP's HiGHS stopped early gave 476.5 where every
    # node's cheapest row sums to 1,566: an outside audit) is raised to it in the base problem
    inst = fa2opt.load_instance(CHAIN)
    ans = fa2opt.solve(inst, "test-weak-bound")
    problem = Problem.from_instance(inst)
    assert ans.status == "time_limit"
    assert ans.lower_bound == sum(min(t.cost) for t in problem.tables.values()) > 0.0


def _bound_or_said(ans) -> None:
    assert ans.status == "time_limit", ans.status
    if ans.lower_bound is None:
        assert "no lower bound" in (ans.message or ""), ans.message
    else:
        assert math.isfinite(ans.lower_bound)
        if ans.cost is not None:
            assert ans.lower_bound <= ans.cost * (1 + 1e-9)


def test_fa2_time_limit_answer_carries_a_bound():
    g = random_instance("multi-flow", np.random.default_rng([23, 107]), name="heavy-overlap",
                        sizes=Sizes(nodes=(8, 30), configs=(10, 60)))
    _bound_or_said(fa2opt.solve(g.instance, "fa2", time_limit=1e-9))


def test_milp_time_limit_answer_carries_a_bound_or_says_so():
    if "milp" not in available_methods():
        pytest.skip("milp not present")
    rng = np.random.default_rng(1)
    n, k = 300, 60
    nodes = tuple(Node(f"n{i}", tuple(Config(1 + j, ("cpu", "gpu")[j % 2], float(rng.integers(1, 5)),
                                             float(rng.uniform(5, 100))) for j in range(k)))
                  for i in range(n))
    edges = tuple(Edge(f"n{i}", f"n{i + 1}") for i in range(n - 1))
    inst = Instance("big", nodes, edges, (Flow("main", 100.0, 1.0, tuple(v.name for v in nodes)),),
                    queueing="none")
    p = Problem.from_instance(inst)
    fast = p.flow_latencies(p.fastest_choice())["main"]
    _bound_or_said(fa2opt.solve(inst.with_slas({"main": fast * 1.3}), "milp", time_limit=0.02))


# -- progress: a bar on a terminal only; plain lines in pipes and logs -----------------------------
def _evaluate_files(tmp_path):
    import json

    inst = {"name": "cli", "sla_ms": 300, "rate_rps": 50,
            "nodes": [{"name": "a", "configs": [
                {"batch": 1, "hardware": "cpu", "units": 1, "latency_ms": 30},
                {"batch": 4, "hardware": "cpu", "units": 1, "latency_ms": 80}]}]}
    (tmp_path / "i.json").write_text(json.dumps(inst))
    (tmp_path / "t.csv").write_text("second,rps\n" + "".join(f"{s},{40 + s % 7}\n" for s in range(30)))
    return [str(tmp_path / "i.json"), "--trace", str(tmp_path / "t.csv")]


def test_evaluate_progress_in_a_pipe_is_one_plain_line_per_method(tmp_path, capsys):
    args = _evaluate_files(tmp_path)
    assert main(["evaluate", *args, "-m", "brute-force", "-m", "fa2", "--json"]) == 0
    err = capsys.readouterr().err
    assert "\r" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 2 and "brute-force" in lines[0] and "(2/2)" in lines[1]
    assert main(["evaluate", *args, "-m", "fa2", "--json", "--no-progress"]) == 0
    assert capsys.readouterr().err == ""
    # bad option values stop it before any simulation, in one line
    assert main(["evaluate", *args, "-m", "milp", "--time-limit", "-1"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "--time-limit" in err


def test_evaluate_progress_on_a_terminal_is_a_bar(tmp_path, capsys, monkeypatch):
    import sys

    monkeypatch.setattr(sys.stderr, "isatty", lambda: True, raising=False)
    assert main(["evaluate", *_evaluate_files(tmp_path), "-m", "fa2", "--json"]) == 0
    assert "1/1" in capsys.readouterr().err  # tqdm's frame
