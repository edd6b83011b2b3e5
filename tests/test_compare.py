"""The comparison pipeline (fa2opt.compare): labels, suites, judging, summary, fan-out,
resume and reproducibility -- on small hand-built suites with brute-force as the reference."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings

from fa2opt import Problem
from fa2opt.cli import main
from fa2opt.compare import parse_method, run_compare
from fa2opt.compare.methods import MethodSpec, parse_methods
from fa2opt.compare.runner import solve_task
from fa2opt.compare.suites import (DATASETS_DIR, Task, TraceWindow, load_suite,
                                   load_trace_windows, rate_points, subset)
from fa2opt.compare.summary import markdown_table, summarize
from fa2opt.compare.table import TIMING_COLUMNS, annotate, read_table
from fa2opt.io import dump_instance
from fa2opt.model import Config, Edge, Flow, Instance, Node
from fa2opt.solver import Decision, Solver
from helpers import registered_methods
from strategies import instances

REF = "brute-force"


# -- small instances, built by hand -----------------------------------------------------------
def _chain(seed: int, *, infeasible: bool = False) -> Instance:
    """A 1..3-node chain with 2..4 rows per node; SLA between the all-fastest latency and the
    cheapest choice's latency (below the all-fastest one when ``infeasible``)."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 4))
    nodes = []
    for i in range(n):
        base = float(rng.uniform(5, 40))
        rows, seen = [], set()
        for _ in range(int(rng.integers(2, 5))):
            b, u = int(rng.choice([1, 2, 4, 8])), int(rng.choice([1, 2, 4]))
            if (b, u) in seen:
                continue
            seen.add((b, u))
            rows.append(Config(b, "cpu", u, round(base * (0.6 + 0.4 * b) / u ** 0.7, 3)))
        nodes.append(Node(f"v{i}", tuple(rows)))
    names = tuple(x.name for x in nodes)
    inst = Instance(name=f"chain{seed}", nodes=tuple(nodes),
                    edges=tuple(Edge(a, b) for a, b in zip(names, names[1:])),
                    flows=(Flow("main", float(rng.uniform(20, 200)), 1.0, names),))
    p = Problem.from_instance(inst)
    fastest = p.flow_latencies(p.fastest_choice())["main"]
    cheapest = p.flow_latencies({v: int(np.argmin(t.cost)) for v, t in p.tables.items()})["main"]
    sla = 0.9 * fastest if infeasible else fastest + float(rng.uniform(0.1, 1.0)) * (max(cheapest, fastest) - fastest) + 0.01
    return inst.with_slas({"main": sla})


@pytest.fixture(scope="module")
def suite_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("suites") / "tiny"
    d.mkdir()
    for s in range(8):
        dump_instance(_chain(s), d / f"chain{s}.json")
    dump_instance(_chain(99, infeasible=True), d / "infeasible.json")
    return d


# Deliberately weak methods (registered for these tests): the judging must catch them.
class FastestSolver(Solver):
    """Answers the all-fastest choice as 'optimal' (valid, rarely cheapest)."""

    name = "test-fastest"

    def decide(self, problem: Problem) -> Decision:
        if not problem.is_feasible():
            return Decision("infeasible")
        return Decision("optimal", problem.fastest_choice())


class LiarSolver(Solver):
    """Claims every instance infeasible (the check must flag it on feasible ones)."""

    name = "test-liar"

    def decide(self, problem: Problem) -> Decision:
        return Decision("infeasible")


class SleepySolver(Solver):
    """Sleeps for a second, then answers like the reference (for the per-method timeout)."""

    name = "test-sleepy"

    def decide(self, problem: Problem) -> Decision:
        import time

        time.sleep(1.0)
        return Decision("infeasible") if not problem.is_feasible() else \
            Decision("feasible", problem.fastest_choice())


# -- labels ------------------------------------------------------------------------------------
def test_method_labels_are_canonical():
    assert parse_method("fa2-grid-5ms") == parse_method("fa2-grid:grid_ms=5")
    assert parse_method("fa2-grid:grid_ms=5").label == "fa2-grid-5ms"
    assert parse_method("fa2-grid-0.5ms").grid_ms == 0.5
    assert parse_method("milp:time_limit=30").label == "milp:time_limit=30"
    assert parse_method("milp:time_limit=30").option_dict == {"time_limit": 30}
    assert parse_method("fa2").label == "fa2" and parse_method("fa2").options == ()
    spec = parse_method("brute-force:max_combinations=10")
    assert spec == MethodSpec("brute-force", (("max_combinations", 10),))


def test_bad_method_specs_are_refused():
    with pytest.raises(ValueError, match="not available"):
        parse_methods(["no-such-method"])
    with pytest.raises(ValueError, match="takes no option"):
        parse_methods(["brute-force:grid_ms=5"])
    with pytest.raises(ValueError, match="key=value"):
        parse_method("brute-force:oops")
    # duplicates by label collapse
    assert [s.label for s in parse_methods(["brute-force", "brute-force:"])] == ["brute-force"]


# -- suites ------------------------------------------------------------------------------------
def test_rate_points_rules():
    w1 = TraceWindow("a", np.array([1.0, 2.0, 3.0, 10.0]))
    w2 = TraceWindow("b", np.array([4.0, 4.0, 8.0, 8.0]))
    one = _chain(1)
    pts = rate_points(one, [w1, w2], [50, 100])
    assert [s for s, _ in pts] == ["a-p50", "a-p100", "b-p50", "b-p100"]
    assert [r["main"] for _, r in pts] == [2.5, 10.0, 6.0, 8.0]
    # two flows whose default rates are the windows' means keep their own windows
    rows = (Config(1, "cpu", 1, 5.0),)
    two = Instance("two", (Node("x", rows), Node("y", rows)), (),
                   (Flow("f", w2.mean, 50.0, ("x",)), Flow("g", w1.mean, 50.0, ("y",))))
    pts = rate_points(two, [w1, w2], [50])
    assert pts == [("own-p50", {"f": 6.0, "g": 2.5})]
    # otherwise every flow is scaled by the window's percentile over its mean
    other = two.with_rates(rates={"f": 3.0, "g": 7.0})
    pts = dict(rate_points(other, [w1, w2], [100]))
    assert pts["a-x-p100"] == pytest.approx({"f": 3.0 * 10 / 4, "g": 7.0 * 10 / 4})
    assert pts["b-x-p100"] == pytest.approx({"f": 3.0 * 8 / 6, "g": 7.0 * 8 / 6})


def test_pipelines_suite_rates_come_from_the_traces():
    tasks = load_suite("pipelines", percentiles=(95,))
    ids = [t.instance_id for t in tasks]
    assert len(ids) == len(set(ids)) and ids
    raw = pd.read_csv(DATASETS_DIR / "traces" / "twitter_bursty.csv")["rps_raw"]
    video = next(t for t in tasks if t.instance_id == "video_cpu@bursty-p95")
    assert video.instance.flows[0].rate_rps == pytest.approx(float(np.percentile(raw, 95)))
    damped = load_suite("pipelines", percentiles=(95,), trace_column="rps")
    video = next(t for t in damped if t.instance_id == "video_cpu@bursty-p95")
    rps = pd.read_csv(DATASETS_DIR / "traces" / "twitter_bursty.csv")["rps"]
    assert video.instance.flows[0].rate_rps == pytest.approx(float(np.percentile(rps, 95)))
    assert len(load_trace_windows(DATASETS_DIR / "traces")) >= 1


def test_subset_is_seeded_and_deterministic(suite_dir):
    tasks = load_suite(str(suite_dir))
    assert len(tasks) == 9 and all(t.suite == "tiny" for t in tasks)
    a, b = subset(tasks, 4, seed=3), subset(tasks, 4, seed=3)
    assert [t.key for t in a] == [t.key for t in b] and len(a) == 4
    assert {t.key for t in subset(tasks, 4, seed=3)} != {t.key for t in subset(tasks, 4, seed=4)} \
        or len(tasks) <= 4


def test_unknown_suite_is_an_input_error(tmp_path, capsys):
    rc = main(["compare", "--suite", str(tmp_path / "nope"), "--out", str(tmp_path / "o"),
               "--methods", REF, "--reference", REF, "--no-progress"])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and len(err.splitlines()) == 1 and "nope" in err and "suite" in err
    rc = main(["compare", "--suite", str(tmp_path), "--methods", "bogus", "--reference", REF,
               "--out", str(tmp_path / "o"), "--no-progress"])
    assert rc == 2 and "bogus" in capsys.readouterr().err


def test_every_bad_file_of_a_suite_folder_is_reported_before_any_solve(tmp_path, capsys):
    """A folder with several bad instance files: one line per bad file on stderr, exit 2,
    nothing solved or written (it stopped at the first one); one bad file: its message as
    before, alone."""
    suite, out = tmp_path / "suite", tmp_path / "o"
    suite.mkdir()
    doc = {"rate_rps": 1, "sla_ms": 100, "nodes": [
        {"name": "a", "configs": [{"batch": 1, "hardware": "cpu", "units": 1, "latency_ms": 10}]}]}
    (suite / "a.json").write_text(json.dumps(doc))
    (suite / "b.json").write_text("{bad")
    argv = ["compare", "--suite", str(suite), "--methods", REF, "--reference", REF,
            "--out", str(out), "--workers", "1", "--no-progress", "--no-plots"]
    assert main(argv) == 2
    one = capsys.readouterr().err
    assert one == f"{suite / 'b.json'}: malformed JSON: Expecting property name enclosed in " \
                  "double quotes at line 1\n"
    (suite / "c.json").write_text(json.dumps({**doc, "nodes": [{"name": "a", "profile": "p.csv"}]}))
    (suite / "d.yaml").write_text("name: x\n---\nname: y\n")
    assert main(argv) == 2
    lines = capsys.readouterr().err.splitlines()
    assert lines[0] == one.strip() and len(lines) == 3, lines
    assert lines[1].startswith(f"{suite / 'c.json'}: nodes[a].profile (p.csv)")
    assert lines[2].startswith(f"{suite / 'd.yaml'}: malformed YAML")
    assert not out.exists() or not any(out.iterdir())  # nothing solved


# -- judging -----------------------------------------------------------------------------------
def _row(instance, method, status, cost=None, lb=None, ms=1.0, verified=True):
    return {"suite": "s", "instance": instance, "method": method, "nodes": 2, "edges": 1,
            "flows": 1, "configs": 4, "log10_combinations": 0.6, "status": status,
            "cost": cost, "lower_bound": lb, "solve_ms": ms, "verified": verified,
            "check": "ok" if verified else "bad", "message": None, "breakdown_ms": None}


def test_annotate_and_summary_by_hand():
    rows = [
        _row("a", "ref", "optimal", 10.0, ms=100.0), _row("a", "m", "optimal", 10.0, ms=1.0),
        _row("b", "ref", "optimal", 20.0, ms=50.0), _row("b", "m", "feasible", 25.0, lb=19.0, ms=5.0),
        _row("c", "ref", "infeasible", ms=10.0), _row("c", "m", "infeasible", ms=1.0),
        _row("d", "ref", "time_limit", 30.0, lb=28.0, ms=60000.0), _row("d", "m", "optimal", 29.0, ms=2.0),
        _row("e", "ref", "optimal", 8.0, ms=10.0), _row("e", "m", "no_solution", ms=1.0),
        _row("f", "ref", "optimal", 5.0, ms=10.0), _row("f", "m", "feasible", 5.0, lb=6.0, ms=1.0),
        _row("g", "ref", "optimal", 4.0, ms=10.0), _row("g", "m", "optimal", 3.0, ms=1.0, verified=False),
    ]
    table = annotate(pd.DataFrame(rows), "ref", ["ref", "m"])
    m = table[table["method"] == "m"].set_index("instance")
    assert m.loc["a", "match"] is True and m.loc["a", "gap"] == 0.0
    assert m.loc["b", "match"] is False and m.loc["b", "gap"] == pytest.approx(0.25)
    assert m.loc["b", "lb_ok"] is True and m.loc["f", "lb_ok"] is False
    assert m.loc["c", "match"] is True and m.loc["c", "infeasible_agree"] is True
    assert m.loc["d", "proven"] is False and m.loc["d", "match"] is None  # time limit: apart
    assert m.loc["e", "match"] is False and m.loc["e", "gap"] is None
    assert m.loc["g", "match"] is False  # cheaper but failed the check
    assert m.loc["a", "speedup"] == pytest.approx(100.0)
    s = summarize(table, ["ref", "m"]).set_index("method")
    assert s.loc["m", "proven"] == 6 and s.loc["m", "matches"] == 3
    assert s.loc["m", "match_pct"] == pytest.approx(50.0)
    assert s.loc["m", "ref_time_limit"] == 1 and s.loc["m", "lb_above_opt"] == 1
    assert s.loc["m", "check_fail"] == 1 and s.loc["m", "no_solution"] == 1
    assert s.loc["m", "mean_gap_pct"] == pytest.approx(100 * (0 + 0.25 + 0) / 3)
    assert s.loc["m", "max_gap_pct"] == pytest.approx(25.0)
    assert (s.loc["m", "infeasible_both"], s.loc["m", "infeasible_either"]) == (1, 1)
    assert s.loc["ref", "match_pct"] == pytest.approx(100.0)
    md = markdown_table(summarize(table, ["ref", "m"]), "ref").splitlines()
    assert md[0].startswith("| method | suite | formulation | match % |")
    assert md[3].startswith("| `m` | s | – | 50.0 |")  # rows without a formulation column


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(instances(max_nodes=3, max_configs=3))
def test_reference_matches_itself_on_random_instances(inst):
    rows = solve_task(Task("h", inst.name, inst),
                      [MethodSpec(REF), MethodSpec("test-liar"), MethodSpec("test-fastest")], {})
    t = annotate(pd.DataFrame(rows), REF, [REF, "test-liar", "test-fastest"]).set_index("method")
    assert t.loc[REF, "proven"] and t.loc[REF, "match"] and t.loc[REF, "verified"]
    feasible = Problem.from_instance(inst).is_feasible()
    assert t.loc["test-liar", "verified"] == (not feasible)
    assert t.loc["test-liar", "match"] == (not feasible)
    fast = t.loc["test-fastest"]
    assert fast["verified"]
    if feasible:
        assert fast["match"] == (abs(fast["cost"] - t.loc[REF, "cost"]) <= 1e-9 * max(1, t.loc[REF, "cost"]))
        assert fast["gap"] >= 0


def test_method_timeout_stops_one_method_only():
    inst = _chain(3)
    rows = solve_task(Task("t", "x", inst), [MethodSpec("test-sleepy"), MethodSpec(REF)], {},
                      method_timeout=0.2)
    assert rows[0]["status"] == "timeout" and rows[0]["solve_ms"] is None
    assert rows[1]["status"] == "optimal" and rows[1]["verified"]
    s = summarize(annotate(pd.DataFrame(rows), REF, [REF, "test-sleepy"])).set_index("method")
    assert s.loc["test-sleepy", "timeouts"] == 1 and s.loc["test-sleepy", "matches"] == 0
    assert s.loc["test-sleepy", "check_fail"] == 0 and s.loc["test-sleepy", "errors"] == 0
    rows = solve_task(Task("t", "x", inst), [MethodSpec("test-sleepy")], {}, method_timeout=5)
    assert rows[0]["status"] == "feasible"  # within the cap: answered, no alarm left over


# -- end to end --------------------------------------------------------------------------------
METHODS = [REF, "brute-force:max_combinations=1", "test-fastest", "test-liar"]


def _run(out: Path, suite_dir: Path, **kw):
    kw.setdefault("methods", METHODS)
    return run_compare(out, suites=[str(suite_dir)], reference=REF, progress=False, **kw)


def _stable(df: pd.DataFrame) -> pd.DataFrame:
    return df.drop(columns=list(TIMING_COLUMNS)).reset_index(drop=True)


def test_end_to_end_outputs(tmp_path, suite_dir):
    res = _run(tmp_path / "out", suite_dir, workers=1)
    out = tmp_path / "out"
    for f in ("instances.csv", "summary.md", "summary.csv", "run.json",
              "decision_time_by_method.png", "decision_time_vs_size.png"):
        assert (out / f).stat().st_size > 0, f
    assert not (out / "match_rate_vs_grid.png").exists()  # no grid method in this run
    table = read_table(out / "instances.csv")
    assert len(table) == 9 * len(METHODS)
    s = res["summary"].set_index("method")
    # the reference against itself; the guarded brute force answers no_solution on
    # multi-combination instances (misses) and only matches single-combination ones
    assert s.loc[REF, "match_pct"] == 100.0 and s.loc[REF, "proven"] == 9
    t = res["table"]
    guarded = t[t["method"] == "brute-force:max_combinations=1"]
    single = guarded["log10_combinations"].astype(float) == 0.0
    assert (guarded.loc[~single, "status"] == "no_solution").all()
    assert s.loc["brute-force:max_combinations=1", "matches"] == int(single.sum())
    # the liar is caught on every feasible instance and matches only the infeasible one
    assert s.loc["test-liar", "check_fail"] == 8 and s.loc["test-liar", "matches"] == 1
    assert (s.loc["test-liar", "infeasible_both"], s.loc["test-liar", "infeasible_either"]) == (1, 9)
    # the all-fastest choice is valid but never cheaper than the optimum
    fast = t[t["method"] == "test-fastest"]
    assert fast["verified"].all() and (fast["gap"].dropna().astype(float) >= 0).all()
    md = (out / "summary.md").read_text()
    assert "| `brute-force` | tiny | base | 100.0 |" in md and "96.8" in md
    run = json.loads((out / "run.json").read_text())
    assert run["environment"]["cores"] >= 1 and run["environment"]["numpy"] == np.__version__


def test_pool_and_serial_give_identical_tables(tmp_path, suite_dir):
    a = _run(tmp_path / "a", suite_dir, workers=1, plots=False)["table"]
    b = _run(tmp_path / "b", suite_dir, workers=2, plots=False)["table"]
    pd.testing.assert_frame_equal(_stable(a), _stable(b))
    # and what is on disk is the same, read back
    pd.testing.assert_frame_equal(_stable(pd.read_csv(tmp_path / "a" / "instances.csv")),
                                  _stable(pd.read_csv(tmp_path / "b" / "instances.csv")))


def test_resume_runs_only_missing_rows(tmp_path, suite_dir):
    out = tmp_path / "r"
    _run(out, suite_dir, workers=1, methods=[REF, "test-fastest"], plots=False)
    first = read_table(out / "instances.csv").set_index(["instance", "method"])["solve_ms"]
    res = _run(out, suite_dir, workers=1, plots=False)
    again = read_table(out / "instances.csv").set_index(["instance", "method"])
    assert len(again) == 9 * len(METHODS)
    # rows already there were kept as they were (not re-solved: same measured times)
    pd.testing.assert_series_equal(again.loc[first.index, "solve_ms"], first)
    fresh = _run(tmp_path / "f", suite_dir, workers=1, plots=False)
    pd.testing.assert_frame_equal(_stable(res["table"]), _stable(fresh["table"]))
    # --fresh starts over
    _run(out, suite_dir, workers=1, methods=[REF], plots=False, fresh=True)
    assert len(read_table(out / "instances.csv")) == 9


def test_dask_scheduler_gives_the_same_table(tmp_path, suite_dir):
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster:
        d = _run(tmp_path / "d", suite_dir, scheduler=cluster.scheduler_address, plots=False)
        assert any("solve_task" in p for p in cluster.scheduler.task_prefixes)  # ran there
    local = _run(tmp_path / "l", suite_dir, workers=1, plots=False)
    pd.testing.assert_frame_equal(_stable(d["table"]), _stable(local["table"]))


def test_script_wrapper_runs_the_same_command(tmp_path, suite_dir):
    import os
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[1]
    # the wrapper is under test, not the kernels: in a fresh clone the harness compiles them
    # first, which beside other suites outlasted the timeout (twice on 2026-12-06)
    env = {**os.environ, "FA2OPT_NUMBA": "0"}
    proc = subprocess.run(
        [sys.executable, str(root / "scripts" / "compare_optimal.py"), "--suite", str(suite_dir),
         "--methods", REF, "--reference", REF, "--out", str(tmp_path / "s"), "--workers", "1",
         "--no-plots", "--no-progress"], capture_output=True, text=True, timeout=120, env=env)
    assert proc.returncode == 0, proc.stderr
    assert "| `brute-force` | tiny | base | 100.0 | 9 / 9 |" in proc.stdout


# -- failures that must not look like success ----------------------------------------------------
class BrokenSolver(Solver):
    """Fails on every instance, as the MILP did on Python 3.10 without typing_extensions."""

    name = "test-broken"

    def decide(self, problem: Problem) -> Decision:
        raise ModuleNotFoundError("No module named 'typing_extensions'")


class ErrorSolver(Solver):
    """Answers ``error`` on every instance."""

    name = "test-error"

    def decide(self, problem: Problem) -> Decision:
        return Decision("error", message="test-error: always")


TEST_METHODS = {"test-sleepy": SleepySolver, "test-fastest": FastestSolver,
                "test-liar": LiarSolver, "test-broken": BrokenSolver, "test-error": ErrorSolver}


@pytest.fixture(autouse=True, scope="module")
def _test_methods():
    """The throw-away solvers of this module, registered while its tests run (experiments
    that run every available method in the same process, tests/test_experiments.py, must
    not meet them)."""
    with registered_methods(TEST_METHODS):
        yield


def _cli(out: Path, suite_dir: Path, methods: str, reference: str = REF, *extra: str) -> int:
    return main(["compare", "--suite", str(suite_dir), "--methods", methods, "--reference",
                 reference, "--out", str(out), "--workers", "1", "--no-plots", "--no-progress",
                 *extra])


def test_a_method_answering_error_fails_the_run_and_is_counted(tmp_path, suite_dir, capsys):
    rc = _cli(tmp_path / "o", suite_dir, f"{REF},test-error")
    err = capsys.readouterr().err
    assert rc == 2 and "FAILED" in err and "test-error" in err
    md = (tmp_path / "o" / "summary.md").read_text()
    assert "error answers per method: `brute-force` 0, `test-error` 9" in md
    assert "**FAILED**" in md
    s = pd.read_csv(tmp_path / "o" / "summary.csv").set_index("method")
    assert s.loc["test-error", "errors"] == 9 and s.loc["test-error", "match_pct"] == 0.0
    # a clean run says so and exits 0
    assert _cli(tmp_path / "ok", suite_dir, REF) == 0
    assert "status: ok" in (tmp_path / "ok" / "summary.md").read_text()


def test_a_broken_reference_fails_the_run_and_keeps_every_instance_in_the_denominator(
        tmp_path, suite_dir, capsys):
    rc = _cli(tmp_path / "o", suite_dir, f"test-broken,{REF}", "test-broken")
    err = capsys.readouterr().err
    assert rc == 2 and "no ground truth on 9 of 9" in err
    s = pd.read_csv(tmp_path / "o" / "summary.csv").set_index("method")
    # brute force is right on every instance, but nothing proves it: 0 of 9, not 100% of 0
    assert s.loc[REF, "judged"] == 9 and s.loc[REF, "matches"] == 0
    assert s.loc[REF, "match_pct"] == 0.0 and s.loc[REF, "ref_errors"] == 9
    assert s.loc["test-broken", "errors"] == 9
    md = (tmp_path / "o" / "summary.md").read_text()
    assert "| `brute-force` | tiny | base | 0.0 | 0 / 9 |" in md


def test_reference_time_limit_is_apart_and_errors_are_misses():
    rows = [_row("a", "ref", "optimal", 10.0), _row("a", "m", "optimal", 10.0),
            _row("b", "ref", "time_limit", 30.0, lb=28.0), _row("b", "m", "optimal", 29.0),
            _row("c", "ref", "error"), _row("c", "m", "optimal", 5.0),
            _row("d", "ref", "optimal", 4.0), _row("d", "m", "error", verified=False),
            _row("e", "ref", "optimal", 4.0), _row("e", "m", "timeout", verified=False)]
    s = summarize(annotate(pd.DataFrame(rows), "ref", ["ref", "m"]), ["ref", "m"]).set_index("method")
    assert s.loc["m", "instances"] == 5 and s.loc["m", "judged"] == 4  # b: apart
    assert s.loc["m", "matches"] == 1 and s.loc["m", "match_pct"] == pytest.approx(25.0)
    assert s.loc["m", "ref_errors"] == 1 and s.loc["m", "ref_time_limit"] == 1
    assert s.loc["ref", "match_pct"] == pytest.approx(100.0 * 3 / 4)


def test_resume_keeps_only_rows_of_the_same_code_and_settings(tmp_path, suite_dir, monkeypatch):
    from fa2opt.compare import cli as compare_cli

    out = tmp_path / "r"
    _run(out, suite_dir, workers=1, methods=[REF], plots=False)
    assert json.loads((out / "run.json").read_text())["run"]["resumed_rows"] == 0
    again = _run(out, suite_dir, workers=1, methods=[REF], plots=False)
    assert again["resumed"]["rows"] == 9 and again["resumed"]["recomputed"] == 0
    run = json.loads((out / "run.json").read_text())["run"]
    assert run["resumed_rows"] == 9 and run["resumed"].startswith("resumed 9 rows from")
    assert "resumed 9 rows from" in (out / "summary.md").read_text()
    # other code: nothing is reused unless asked
    monkeypatch.setattr(compare_cli, "code_revision", lambda: "0000000+dirty.feedface00")
    other = _run(out, suite_dir, workers=1, methods=[REF], plots=False)
    assert other["resumed"]["rows"] == 0 and other["resumed"]["recomputed"] == 9
    assert set(read_table(out / "instances.csv")["code"]) == {"0000000+dirty.feedface00"}
    monkeypatch.undo()
    anyway = _run(out, suite_dir, workers=1, methods=[REF], plots=False, resume_any=True)
    assert anyway["resumed"]["rows"] == 9 and "--resume-any" in anyway["resumed"]["text"]
    # other settings (a time limit changes what the MILP answers): recomputed
    timed = _run(out, suite_dir, workers=1, methods=[REF], plots=False, time_limit=5.0)
    assert timed["resumed"]["rows"] == 0 and timed["resumed"]["recomputed"] == 9


def test_resume_recomputes_rows_of_an_edited_instance(tmp_path):
    """A row is kept only for the instance it was computed on: an instance file edited
    between runs (here its SLA made unreachable) is solved again, not reported stale."""
    suite = tmp_path / "suite"
    suite.mkdir()
    doc = {"name": "x", "sla_ms": 100, "rate_rps": 1, "queueing": "none",
           "nodes": [{"name": "a", "configs": [{"batch": 1, "hardware": "cpu", "units": 1,
                                                "latency_ms": 10.0}]}], "edges": []}
    for name in ("x", "y"):
        (suite / f"{name}.json").write_text(json.dumps({**doc, "name": name}))
    out = tmp_path / "out"
    first = _run(out, suite, workers=1, methods=[REF], plots=False)
    assert set(first["table"]["status"]) == {"optimal"}
    (suite / "x.json").write_text(json.dumps({**doc, "sla_ms": 5}))
    again = _run(out, suite, workers=1, methods=[REF], plots=False)
    assert again["resumed"]["rows"] == 1 and again["resumed"]["recomputed"] == 1
    assert "changed since" in again["resumed"]["text"]
    status = again["table"].set_index("instance")["status"]
    assert status.to_dict() == {"x": "infeasible", "y": "optimal"}
    # a profile CSV the instance reads, edited: that instance is solved again too
    (suite / "y.csv").write_text("batch,hardware,units,latency_ms\n1,cpu,1,10.0\n")
    (suite / "y.json").write_text(json.dumps({**doc, "name": "y", "nodes": [
        {"name": "a", "profile": "y.csv"}]}))
    _run(out, suite, workers=1, methods=[REF], plots=False)  # (the file's own edit)
    (suite / "y.csv").write_text("batch,hardware,units,latency_ms\n1,cpu,1,200.0\n")
    last = _run(out, suite, workers=1, methods=[REF], plots=False)
    assert last["resumed"]["rows"] == 1 and last["resumed"]["recomputed"] == 1
    assert last["table"].set_index("instance")["status"]["y"] == "infeasible"


def test_quick_and_full_runs_write_to_different_folders(monkeypatch):
    from fa2opt.compare import cli as compare_cli

    seen = []

    def fake(out, **kw):
        seen.append(Path(out))
        raise RuntimeError("stop here")

    monkeypatch.setattr(compare_cli, "run_compare", fake)
    main(["compare", "--quick", "--no-progress"])
    main(["compare", "--no-progress"])
    assert seen == [compare_cli.QUICK_OUT, compare_cli.DEFAULT_OUT] and seen[0] != seen[1]


def test_bad_option_values_are_refused_before_running(tmp_path, suite_dir, capsys):
    assert _cli(tmp_path / "o", suite_dir, "fa2:time_limit=-1", "fa2") == 2
    assert "time_limit" in capsys.readouterr().err
    assert main(["compare", "--suite", str(suite_dir), "--methods", "fa2", "--reference", "fa2",
                 "--time-limit", "0", "--out", str(tmp_path / "p"), "--no-progress"]) == 2
    assert "--time-limit" in capsys.readouterr().err  # (the flag, not the methods' option)


# -- extensions in the main job (issue 14) -------------------------------------------------------
def test_extension_suites_add_the_keys_of_their_set():
    base = {t.instance_id: t for t in load_suite("pipelines", percentiles=(100.0,))}
    for which, keys in (("capacity", {"capacity"}), ("accuracy", {"accuracy"}),
                        ("switch", {"current", "switch_cost"})):
        tasks = load_suite(f"pipelines+{which}", percentiles=(100.0,), limit=4)
        assert tasks and {t.suite for t in tasks} == {f"pipelines+{which}"}
        for t in tasks:
            assert keys <= set(t.instance.extra) and t.instance_id in base
            assert t.instance.nodes == base[t.instance_id].instance.nodes  # same pipeline
    # accuracy floors only where model variants carry measured accuracies
    acc = load_suite("pipelines+accuracy", percentiles=(100.0,))
    assert all(any(c.accuracy is not None for n in t.instance.nodes for c in n.configs)
               for t in acc)
    assert len(acc) < len(base)
    combined = load_suite("pipelines+combined", percentiles=(100.0,), limit=3)
    assert all({"capacity", "current"} <= set(t.instance.extra) for t in combined)


def test_an_unknown_extension_set_is_an_input_error(tmp_path, capsys):
    assert main(["compare", "--suite", "pipelines+bogus", "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "pipelines+bogus" in err[0] and "+capacity" in err[0]


def test_matching_uses_the_objective_when_there_is_one():
    rows = [dict(_row("a", "ref", "optimal", 10.0), objective=7.0),
            dict(_row("a", "m", "optimal", 10.0), objective=8.0),  # same cost, worse objective
            dict(_row("b", "ref", "optimal", 10.0), objective=7.0),
            dict(_row("b", "m", "optimal", 11.0), objective=7.0),  # a tie on the objective
            dict(_row("c", "ref", "optimal", 4.0), objective=-2.0),
            dict(_row("c", "m", "feasible", 4.0), objective=-1.0, lower_bound=-3.0)]
    m = annotate(pd.DataFrame(rows), "ref", ["ref", "m"])
    m = m[m["method"] == "m"].set_index("instance")
    assert m.loc["a", "match"] is False and m.loc["a", "gap"] == pytest.approx(1 / 7)
    assert m.loc["b", "match"] is True and m.loc["b", "gap"] == 0.0
    assert m.loc["c", "match"] is False and m.loc["c", "gap"] == pytest.approx(0.5)
    assert m.loc["c", "lb_ok"] is True


def test_extended_run_reports_per_formulation_and_refusals_do_not_fail_it(tmp_path):
    res = run_compare(tmp_path / "o", suites=["pipelines", "pipelines+capacity",
                                              "pipelines+switch"],
                      methods=["milp", "fa2", "greedy"], limit=3, percentiles=(100.0,),
                      workers=1, plots=False, progress=False)
    assert not res["failed"], res["failed"]
    s = res["summary"].set_index(["method", "suite"])
    assert s.loc[("fa2", "pipelines"), "formulation"] == "base"
    assert s.loc[("fa2", "pipelines+capacity"), "formulation"] == "capacity"
    assert s.loc[("fa2", "pipelines+switch"), "formulation"] == "switch"
    for suite in ("pipelines", "pipelines+capacity", "pipelines+switch"):
        assert s.loc[("fa2", suite), "match_pct"] == 100.0
    # greedy cannot honour a capacity budget: it refuses (a miss), it does not fail the run
    assert s.loc[("greedy", "pipelines+capacity"), "refused"] == 3
    assert s.loc[("greedy", "pipelines+capacity"), "errors"] == 0
    assert s.loc[("greedy", "pipelines+switch"), "refused"] == 0
    t = res["table"]
    sw = t[(t["suite"] == "pipelines+switch") & (t["method"] == "milp")]
    assert (sw["formulation"] == "switch").all() and sw["objective"].notna().all()
    assert "| formulation |" in res["report"] and "| pipelines+capacity | capacity |" in res["report"]
