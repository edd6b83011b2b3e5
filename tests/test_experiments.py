"""Experiments as files (issue 15): every config's smoke version end to end (the real
``--quick`` under ``-m slow``), run.json's provenance, config validation (one line, exit 2),
the statistics, and the ``fa2-grid-tightest`` method."""

from __future__ import annotations

import importlib.util
import json
import math
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from fa2opt.experiments import stats
from fa2opt.experiments.config import config_hash, load_config
from fa2opt.io import InputError, load_instance

REPO = Path(__file__).resolve().parents[1]
CONFIGS = sorted((REPO / "experiments").glob("*.yaml"))
REGRESSION = REPO / "datasets" / "suites" / "regression"
SHARED = "datasets/pipelines/shared_services.json"  # two flows share nodes


def _script():
    spec = importlib.util.spec_from_file_location("run_experiments", REPO / "scripts" / "run_experiments.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def smoke(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every experiment's smoke version, run once for the module's tests."""
    root = tmp_path_factory.mktemp("experiments")
    assert _script().main(["--all", "--smoke", "--out-root", str(root), "--no-progress"]) == 0
    return root


def test_every_experiment_writes_its_folder(smoke: Path) -> None:
    for path in CONFIGS:
        cfg = load_config(path, "smoke")
        folder = smoke / f"{cfg['name']}-smoke"
        run = json.loads((folder / "run.json").read_text())
        assert run["outputs"], path
        for name in run["outputs"]:
            assert (folder / name).is_file(), name
        for csv in folder.glob("*.csv"):  # every table in both formats, same contents
            pd.testing.assert_frame_equal(pd.read_csv(csv), pd.read_parquet(csv.with_suffix(".parquet")),
                                          check_dtype=False)
        assert (folder / "summary.md").read_text().startswith(f"# {cfg['name']} (smoke)")


def test_run_json_provenance(smoke: Path) -> None:
    head = subprocess.run(["git", "-C", str(REPO), "rev-parse", "HEAD"], capture_output=True,
                          text=True).stdout.strip()
    for path in CONFIGS:
        cfg = load_config(path, "smoke")
        run = json.loads((smoke / f"{cfg['name']}-smoke" / "run.json").read_text())
        assert run["git"]["revision"] == (head or None)
        assert isinstance(run["git"]["dirty"], bool)
        assert run["config_sha256"] == config_hash(cfg)
        assert run["config"]["name"] == cfg["name"] and run["profile"] == "smoke"
        assert run["seeds"] == cfg["seeds"]
        assert run["versions"]["numpy"] == np.__version__ and run["versions"]["python"]
        assert run["machine"]["cpus"] and run["wall_s"] >= 0
        if Path("/proc/cpuinfo").exists():  # the CPU's model, which platform leaves empty there
            assert run["machine"]["processor"]
        assert run["started_utc"] <= run["finished_utc"]


def test_config_hash_follows_the_resolved_config() -> None:
    path = REPO / "experiments" / "savings-grid.yaml"
    assert config_hash(load_config(path)) == config_hash(load_config(path))
    assert config_hash(load_config(path)) != config_hash(load_config(path, "quick"))


def test_savings_tables_agree_with_points(smoke: Path) -> None:
    folder = smoke / "savings-grid-smoke"
    pts = pd.read_csv(folder / "points.csv")
    cells = pd.read_csv(folder / "savings_cells.csv")
    ref = pts[pts.method == "fa2"].set_index(["pipeline", "load", "k", "rho"])
    for _, c in cells.iterrows():
        d = pts[(pts.method == c.method) & (pts.hardware == c.hardware) & (pts.k == c.k)
                & (pts.load == c.load)].set_index(["pipeline", "load", "k", "rho"])
        r = ref.loc[d.index]
        solved = d.status.isin(["optimal", "feasible"]) & r.status.isin(["optimal", "feasible"])
        assert c.both_solved == solved.sum()
        assert c.no_solution == ((d.status == "no_solution") & r.status.isin(["optimal", "feasible"])).sum()
        if solved.any():
            assert c.saving_pct == pytest.approx(100 * (1 - r.cost[solved].sum() / d.cost[solved].sum()))
            assert c.saving_pct >= -1e-9  # fa2 is optimal: no baseline is cheaper
    assert set(cells.method) == {"slack-split", "fixed-batch"}


def test_equal_violation_tables(smoke: Path) -> None:
    folder = smoke / "equal-violations-smoke"
    cfg = load_config(REPO / "experiments" / "equal-violations.yaml", "smoke")
    runs = pd.read_csv(folder / "runs.csv")
    assert len(runs) == (len(cfg["pipelines"]) * len(cfg["traces"]) * len(cfg["seeds"])
                         * len(cfg["rho"]) * len(cfg["headroom"]) * len(cfg["methods"]))
    at = pd.read_csv(folder / "cost_at_levels.csv")
    for key, g in runs.groupby(["pipeline", "window", "seed", "method"]):
        for lv in cfg["violation_levels"]:
            got = at[(at.pipeline == key[0]) & (at.seed == key[2]) & (at.method == key[3])
                     & (at.level_pct == lv)].cost.iloc[0]
            want = stats.cost_at_violation(g.violation_pct, g.mean_cost, lv)
            assert (math.isnan(got) and math.isnan(want)) or got == pytest.approx(want)
    by_class = pd.read_csv(folder / "savings_by_class.csv")
    assert (by_class.seeds <= len(cfg["seeds"])).all()


def test_tightest_match_table(smoke: Path) -> None:
    pts = pd.read_csv(smoke / "tightest-match-smoke" / "points.csv")
    solved = pts[pts.status.isin(["optimal", "feasible"])]
    assert (solved.cost >= solved.opt_cost * (1 - 1e-9)).all()  # nothing beats the optimum
    close = np.isclose(solved.cost, solved.opt_cost, rtol=1e-9, atol=0)
    assert (solved.match == close).all()
    assert pts.fa2_matches_milp.dropna().astype(bool).all()
    assert set(pts.step) == {"5 ms", "SLA/100"}
    grid = pts[pts.method == "fa2-grid"].set_index(["instance", "load", "k", "step"])
    rule = pts[pts.method == "fa2-grid-tightest"].set_index(["instance", "load", "k", "step"])
    same = np.isclose(rule.cost, grid.loc[rule.index].cost, rtol=1e-9, atol=0)
    assert (rule.rule_match.astype(bool) == same).all()


@pytest.mark.parametrize("workers", [2])
def test_process_pool_gives_the_serial_rows(tmp_path: Path, smoke: Path, workers: int) -> None:
    assert _script().main(["experiments/savings-grid.yaml", "--smoke", "--workers", str(workers),
                           "--out-root", str(tmp_path), "--no-progress"]) == 0
    cols = ["pipeline", "k", "load", "method", "status", "cost"]
    a = pd.read_csv(smoke / "savings-grid-smoke" / "points.csv")[cols]
    b = pd.read_csv(tmp_path / "savings-grid-smoke" / "points.csv")[cols]
    pd.testing.assert_frame_equal(a, b)


def test_dask_scheduler_gives_the_serial_rows(tmp_path: Path, smoke: Path) -> None:
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster:
        assert _script().main(["experiments/savings-grid.yaml", "--smoke", "--scheduler",
                               cluster.scheduler_address, "--out-root", str(tmp_path),
                               "--no-progress"]) == 0
        assert any("solve_point" in p for p in cluster.scheduler.task_prefixes)  # ran there
    cols = ["pipeline", "k", "load", "method", "status", "cost"]
    a = pd.read_csv(smoke / "savings-grid-smoke" / "points.csv")[cols]
    b = pd.read_csv(tmp_path / "savings-grid-smoke" / "points.csv")[cols]
    pd.testing.assert_frame_equal(a, b)
    assert json.loads((tmp_path / "savings-grid-smoke" / "run.json").read_text())["scheduler"]


# -- config validation: one line naming file, field and reason; exit 2 ----------------------------
BAD = [
    ("kind: savings-grid\n", "name", "missing"),
    ("name: x\nkind: nonsense\n", "kind", "must be one of"),
    ("name: ../up\nkind: setup-table\nexperiments: [experiments/savings-grid.yaml]\n", "name", "must be letters"),
    ("name: x\nkind: savings-grid\npipelines: [video_cpu]\nsla_k: [2]\nload: {cpu: [1]}\nmethods: [greedy]\n",
     "reference", "not among the methods"),
    ("- just\n- a list\n", "", "must be a mapping"),
    ("name: x\nkind: savings-grid\npipelines: [video_cpu]\nsla_k: [2]\nload: {cpu: [1]}\nbogus: 1\n",
     "bogus", "unknown key"),
    ("name: x\nkind: savings-grid\npipelines: [video_cpu]\nsla_k: [-2]\nload: {cpu: [1]}\n",
     "sla_k[0]", "must be >"),
    ("name: x\nkind: savings-grid\npipelines: [no_such]\nsla_k: [2]\nload: {cpu: [1]}\n",
     "pipelines[0]", "no pipeline"),
    ("name: x\nkind: savings-grid\npipelines: [video_cpu]\nsla_k: [2]\nload: {cpu: [1]}\nmethods: [fa2, magic]\n",
     "methods[1]", "unknown method"),
    ("name: x\nkind: savings-grid\npipelines: [video_cpu]\nsla_k: [2]\nload: {tpu: [1]}\n",
     "load.tpu", "unknown key"),
    ("name: x\nkind: equal-violations\npipelines: [video_cpu]\nrho: [1.5]\n", "rho[0]", "must be <="),
    ("name: x\nkind: equal-violations\npipelines: [video_cpu]\nsimulator: {options: {warp: 9}}\n",
     "simulator.options.warp", "not an option"),
    ("name: x\nkind: equal-violations\npipelines: [video_cpu]\nsimulator: {interval_s: 5, startup_s: 5}\n",
     "simulator.startup_s", "below the adaptation interval"),
    ("name: x\nkind: tightest-match\ninstances: [nowhere]\nsla_k: [2]\ngrid_ms: [1]\n",
     "instances[0]", "no such file"),
    (f"name: x\nkind: tightest-match\ninstances: [{SHARED}]\nsla_k: [2]\ngrid_ms: [5, 1.0e-300]\n",
     "grid_ms[1]", "too fine"),
    (f"name: x\nkind: tightest-match\ninstances: [{SHARED}]\nsla_k: [2]\ngrid_rel: [1.0e-9]\n",
     "grid_rel[0]", "too fine"),
    ("name: x\nkind: savings-grid\npipelines: [video_cpu\n", "line", "not valid YAML"),
]


@pytest.mark.parametrize("text,field,reason", BAD)
def test_bad_config_is_one_line_and_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture,
                                           text: str, field: str, reason: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    assert _script().main([str(path), "--out-root", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "Traceback" not in err
    assert str(path) in err and field in err and reason in err
    assert not (tmp_path / "out").exists()  # nothing ran


def test_tightest_match_refuses_at_reading_a_grid_step_the_grid_refuses(tmp_path: Path) -> None:
    """A step fa2-grid refuses at a point (its grid too long) was only counted as error
    answers after the run; the config's reader names the field, by fa2-grid's own rule."""
    import fa2opt
    from fa2opt.experiments.common import at_point

    path = tmp_path / "x.yaml"
    text = f"name: x\nkind: tightest-match\ninstances: [{SHARED}]\nsla_k: [1.5, 3]\nload: [1]\n"
    path.write_text(text + "grid_ms: [1, 1.0e-4]\n")  # the profiles reach ~180 ms: 1.8e6 steps
    with pytest.raises(InputError, match=r"grid_ms\[1\]: 0.0001 ms is too fine at "
                                         r"datasets/pipelines/shared_services.json, load 1, k 1.5"):
        load_config(path)
    point = at_point(load_instance(REPO / SHARED), 1.0, 1.5)
    assert fa2opt.solve(point, "fa2-grid", grid_ms=1e-4).status == "error"  # the same rule
    assert fa2opt.solve(point, "fa2-grid", grid_ms=1e-3).status != "error"
    assert load_config(path, check_points=False)["grid_ms"] == [1.0, 1e-4]  # fields only
    path.write_text(text + "grid_ms: [1, 1.0e-3]\ngrid_rel: [0.01]\n")
    assert load_config(path)["grid_rel"] == [0.01]


def test_missing_profile_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "x.yaml"
    path.write_text("name: x\nkind: savings-grid\npipelines: [video_cpu]\nsla_k: [2]\nload: {cpu: [1]}\n")
    with pytest.raises(InputError, match="profiles.quick: missing"):
        load_config(path, "quick")


def test_profile_overrides_merge_into_the_config() -> None:
    full = load_config(REPO / "experiments" / "savings-grid.yaml")
    quick = load_config(REPO / "experiments" / "savings-grid.yaml", "quick")
    assert quick["sla_k"] == full["sla_k"]  # not overridden: kept
    assert set(quick["load"]) == {"cpu", "gpu"} and quick["load"] != full["load"]
    assert quick["profile"] == "quick" and full["profile"] == "full"


# -- statistics ------------------------------------------------------------------------------------
def test_t_interval_matches_scipy() -> None:
    scipy_stats = pytest.importorskip("scipy.stats")
    rng = np.random.default_rng(3)
    for n in (2, 3, 5, 10, 31):
        x = rng.normal(5, 2, n)
        mean, half, got_n = stats.mean_ci(x.tolist())
        lo, hi = scipy_stats.t.interval(0.95, n - 1, loc=x.mean(), scale=x.std(ddof=1) / math.sqrt(n))
        assert got_n == n and mean == pytest.approx(x.mean())
        assert half == pytest.approx((hi - lo) / 2, rel=0.02)
    assert math.isnan(stats.mean_ci([1.0])[1]) and stats.mean_ci([])[2] == 0


def test_cost_at_violation_reads_the_frontier() -> None:
    rng = np.random.default_rng(7)
    for _ in range(200):
        v = rng.uniform(0, 10, 6)
        c = rng.uniform(1, 100, 6)
        fv, fc = stats.frontier(v, c)
        assert (np.diff(fv) >= 0).all() and (np.diff(fc) < 0).all()
        levels = np.linspace(0, 12, 25)
        got = [stats.cost_at_violation(v, c, lv) for lv in levels]
        for lv, g in zip(levels, got):
            if lv < v.min():
                assert math.isnan(g)
            else:  # never above the cheapest point reaching lv, never below the cheapest overall
                assert c.min() - 1e-9 <= g <= c[v <= lv].min() + 1e-9
        finite = [g for g in got if not math.isnan(g)]
        assert all(a >= b - 1e-9 for a, b in zip(finite, finite[1:]))  # more violations: cheaper


# -- fa2-grid-tightest -------------------------------------------------------------------------------
def _multi_flow() -> list[Path]:
    return sorted(REGRESSION.glob("*multi-flow.json"))[:8]


def test_tightest_is_valid_and_never_below_the_optimum() -> None:
    import fa2opt.experiments  # noqa: F401 -- registers the method

    for path in _multi_flow():
        inst = load_instance(path)
        opt = fa2opt.solve(inst, "fa2")
        got = fa2opt.solve(inst, "fa2-grid-tightest", grid_ms=2.0)  # verified by solve()
        assert got.status != "error", (path, got.message)
        if opt.status == "infeasible":
            assert got.status == "infeasible"
        else:
            assert got.status == "feasible" and got.cost >= opt.cost * (1 - 1e-9)


def test_tightest_equals_the_grid_dp_without_shared_nodes() -> None:
    import fa2opt.experiments  # noqa: F401

    for path in sorted(REGRESSION.glob("*chain.json"))[:4] + [REPO / "datasets" / "pipelines" / "video_cpu.json"]:
        inst = load_instance(path)
        a = fa2opt.solve(inst, "fa2-grid-tightest", grid_ms=5.0)
        b = fa2opt.solve(inst, "fa2-grid", grid_ms=5.0)
        assert a.cost == b.cost or (a.status == b.status == "infeasible")


# -- the real --quick versions (minutes) ---------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize("config", CONFIGS, ids=[p.stem for p in CONFIGS])
def test_quick_version_runs(tmp_path: Path, config: Path) -> None:
    assert _script().main([str(config), "--quick", "--out-root", str(tmp_path), "--no-progress"]) == 0
    cfg = load_config(config, "quick")
    run = json.loads((tmp_path / f"{cfg['name']}-quick" / "run.json").read_text())
    assert run["profile"] == "quick" and run["config_sha256"] == config_hash(cfg)
