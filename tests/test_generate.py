"""The synthetic instance generator, the committed regression suite and the strategies."""

from __future__ import annotations

import csv
import json
import math
import shlex
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, find, given, settings

from fa2opt import generate as gen
from fa2opt.cli import main
from fa2opt.io import instance_from_dict, instance_to_dict, load_instance
from fa2opt.model import Config, Instance
from fa2opt.problem import Problem
from fa2opt.solver import get_solver

from strategies import instances

REPO = Path(__file__).resolve().parents[1]
SUITE_DIR = REPO / "datasets" / "suites" / "regression"


# -- helpers -------------------------------------------------------------------------------
def pairs(inst: Instance) -> list[tuple[str, str]]:
    return [(e.src, e.dst) for e in inst.edges]


def names(inst: Instance) -> list[str]:
    return [n.name for n in inst.nodes]


def single_source_sink(inst: Instance) -> bool:
    heads = {d for _, d in pairs(inst)}
    tails = {s for s, _ in pairs(inst)}
    return (sum(v not in heads for v in names(inst)) == 1
            and sum(v not in tails for v in names(inst)) == 1)


def connected(inst: Instance) -> bool:
    """Weakly connected."""
    adj = {v: set() for v in names(inst)}
    for s, d in pairs(inst):
        adj[s].add(d)
        adj[d].add(s)
    seen, todo = set(), [names(inst)[0]]
    while todo:
        v = todo.pop()
        if v not in seen:
            seen.add(v)
            todo += adj[v] - seen
    return len(seen) == len(adj)


def check_structure(shape: str, inst: Instance) -> None:
    """Assert that ``inst`` has the structure its shape claims."""
    vs, es = names(inst), pairs(inst)
    if shape != "multi-flow":
        assert len(inst.flows) == 1 and set(inst.flows[0].nodes) == set(vs)
    if shape == "chain":
        assert gen.is_chain(vs, es)
    elif shape == "fork-join":
        assert single_source_sink(inst) and not gen.has_induced_n(vs, es)
        indeg = {v: sum(d == v for _, d in es) for v in vs}
        outdeg = {v: sum(s == v for s, _ in es) for v in vs}
        src = next(v for v in vs if indeg[v] == 0)
        assert outdeg[src] >= 2  # it forks
        inner = [v for v in vs if indeg[v] and outdeg[v]]
        assert all(indeg[v] == 1 and outdeg[v] == 1 for v in inner)  # branches are chains
    elif shape == "nested-sp":
        assert not gen.has_induced_n(vs, es)
        assert connected(inst)
    elif shape == "non-sp":
        assert gen.has_bridge(vs, es) or gen.has_induced_n(vs, es)
    elif shape == "tree":
        assert gen.is_out_tree(vs, es)
    elif shape == "multi-flow":
        assert len(inst.flows) >= 2
        counts = {v: sum(v in f.nodes for f in inst.flows) for v in vs}
        assert max(counts.values()) >= 2  # a shared node
        assert set(counts) == set(vs) and min(counts.values()) >= 1
    else:
        raise AssertionError(shape)


def frontier_ok(g: gen.Generated) -> None:
    """Feasible instances have every SLA between the all-fastest latency and the (widened)
    cheapest choice's latency; infeasible ones have an SLA below the all-fastest latency."""
    frontier = gen.flow_frontier(Problem.from_instance(g.instance))
    assert frontier is not None
    below = 0
    for f in g.instance.flows:
        fast, cheap = frontier[f.name]
        if f.sla_ms < fast - 1e-6:
            below += 1
            assert f.sla_ms >= fast * 0.84
        else:
            assert f.sla_ms <= gen.sla_at(fast, cheap, 1.0) + 1e-3
    assert below == (0 if g.feasible else 1)


# -- the structure checkers themselves -------------------------------------------------------
def test_structure_checkers_on_known_graphs():
    v4 = ["a", "b", "c", "d"]
    bridge = list(gen.BRIDGE_EDGES)
    n_shape = list(gen.N_EDGES)
    k22 = [("a", "c"), ("a", "d"), ("b", "c"), ("b", "d")]
    chain = [("a", "b"), ("b", "c"), ("c", "d")]
    assert gen.has_bridge(v4, bridge) and not gen.has_bridge(v4, k22)
    assert gen.has_induced_n(v4, n_shape)
    assert not gen.has_induced_n(v4, k22)  # series(parallel, parallel) is SP
    assert not gen.has_induced_n(v4, chain) and gen.is_chain(v4, chain)
    assert not gen.is_chain(v4, bridge) and not gen.is_out_tree(v4, k22)
    assert gen.is_out_tree(v4, [("a", "b"), ("a", "c"), ("c", "d")])
    # the N stays induced when a node is replaced by an SP piece (node substitution)
    sub = [("a", "c1"), ("c1", "c2"), ("b", "c1"), ("b", "d")]
    assert gen.has_induced_n(["a", "b", "c1", "c2", "d"], sub)


@pytest.mark.parametrize("shape", gen.SHAPES)
def test_topologies_have_their_structure_for_every_size(shape):
    for n in range(gen.MIN_NODES[shape], 13):
        for seed in range(6):
            rng = np.random.default_rng([seed, n])
            topo = gen.build(shape, n, lambda lo, hi: int(rng.integers(lo, hi + 1)))
            assert len(topo.nodes) == n
            inst = gen.assemble(topo, {v: [Config(1, "cpu", 1.0, 1.0)] for v in topo.nodes},
                                name="t", rates=[1.0] * len(gen.flow_names(topo)))
            instance_from_dict(instance_to_dict(inst))  # valid (acyclic, flows cover nodes)
            check_structure(shape, inst)


def test_non_sp_variants_all_appear():
    variants = set()
    for seed in range(40):
        rng = np.random.default_rng(seed)
        variants.add(gen.non_sp(8, lambda lo, hi: int(rng.integers(lo, hi + 1))).variant)
    assert variants == {"bridge", "n", "n-substituted"}


# -- suites ------------------------------------------------------------------------------------
def test_same_seed_same_documents_different_seed_different():
    a = [gen.instance_json(i) for i in gen.generate_suite("mixed", 12, seed=3)]
    b = [gen.instance_json(i) for i in gen.generate_suite("mixed", 12, seed=3)]
    c = [gen.instance_json(i) for i in gen.generate_suite("mixed", 12, seed=4)]
    assert a == b
    assert all(x != y for x, y in zip(a, c))
    # instance i does not depend on the count
    assert a[:5] == [gen.instance_json(i) for i in gen.generate_suite("mixed", 5, seed=3)]


def test_write_suite_is_byte_identical(tmp_path):
    gen.write_suite("multi-flow", 6, 11, tmp_path / "x", command="cmd")
    gen.write_suite("multi-flow", 6, 11, tmp_path / "y", command="cmd")
    fx = sorted(p.name for p in (tmp_path / "x").iterdir())
    assert fx == sorted(p.name for p in (tmp_path / "y").iterdir())
    assert len(fx) == 6 + 2
    for name in fx:
        assert (tmp_path / "x" / name).read_bytes() == (tmp_path / "y" / name).read_bytes()


@pytest.mark.parametrize("suite", [s for s in gen.SUITES if s != "regression"
                                   and s not in gen.SUITE_SIZES])  # deep ones: test_deep_graphs
def test_suites_validate_and_claim_their_shape(suite):
    for g in gen.generate_generated(suite, 12, seed=5):
        text = gen.instance_json(g.instance)
        again = instance_from_dict(json.loads(text), source=g.instance.name)
        assert gen.instance_json(again) == text  # round trip through the strict loader
        if suite != "mixed":
            assert g.shape == suite
        check_structure(g.shape, again)
        assert g.feasible == Problem.from_instance(again).is_feasible()
        frontier_ok(g)
        k = [len(n.configs) for n in again.nodes]
        assert 2 <= len(k) <= 12 and min(k) >= 1 and max(k) <= 40


def test_infeasible_probability_is_honoured():
    def status(p: float) -> set[bool]:
        rng = np.random.default_rng(1)
        return {gen.random_instance(s, rng, name="x", p_infeasible=p).feasible
                for s in gen.SHAPES for _ in range(2)}

    assert status(0.0) == {True}
    assert status(1.0) == {False}


def test_measured_profiles_are_rows_of_the_csv_scaled():
    files = gen.measured_profile_files()
    if not files:
        pytest.skip("no measured profile CSVs on this checkout")
    by_name = {f.name: f for f in files}
    seen = 0
    for g in gen.generate_generated("mixed", 12, seed=8):
        for v, src in g.sources.items():
            if src.startswith("amdahl"):
                continue
            csv_name, scale = src.rsplit("x", 1)
            ref = {c.identity: c.latency_ms for c in gen.read_profile(by_name[csv_name])}
            for c in g.instance.node(v).configs:
                assert c.identity in ref
                assert c.latency_ms == pytest.approx(ref[c.identity] * float(scale), abs=1e-4)
            seen += 1
    assert seen > 10


def test_amdahl_profile_rows():
    rng = np.random.default_rng(0)
    rows = gen.amdahl_profile(rng, 30, gpu=True)
    assert len(rows) == 30 and len({c.identity for c in rows}) == 30
    assert any(c.hardware == "gpu" for c in rows) and any(c.hardware == "cpu" for c in rows)
    full = gen.amdahl_profile(np.random.default_rng(0), 10_000, gpu=False)
    assert len(full) == len(gen.AMDAHL_BATCHES) * len(gen.AMDAHL_CORES)
    lat = {(c.batch, int(c.units)): c.latency_ms for c in full}
    # Amdahl: 16 cores much faster than 1 (noise is 4 %), batching costs latency
    assert all(lat[(b, 16)] < 0.6 * lat[(b, 1)] for b in gen.AMDAHL_BATCHES)
    assert all(lat[(64, c)] > lat[(1, c)] for c in gen.AMDAHL_CORES)


def test_scaling_instances():
    for shape in gen.SCALING_SHAPES:
        inst = gen.scaling_instance(shape, 30, 50, seed=1)
        assert len(inst.nodes) == 30 and all(len(n.configs) == 50 for n in inst.nodes)
        assert Problem.from_instance(inst).is_feasible()
        assert not gen.has_induced_n(names(inst), pairs(inst))
        if shape == "chain":
            assert gen.is_chain(names(inst), pairs(inst))
    big = gen.scaling_instance("sp", 100, 200, seed=0)
    assert all(len(n.configs) == 200 for n in big.nodes)
    assert gen.instance_json(big) == gen.instance_json(gen.scaling_instance("sp", 100, 200, seed=0))


@pytest.mark.slow
def test_scaling_family_full():
    family = gen.scaling_family()
    assert [len(i.nodes) for i in family] == [10, 10, 100, 100, 1000, 1000] * 2
    assert all(Problem.from_instance(i).is_feasible() for i in family)


# -- the committed regression suite -----------------------------------------------------------
def manifest() -> list[dict[str, str]]:
    with open(SUITE_DIR / gen.MANIFEST, newline="") as fh:
        return list(csv.DictReader(fh))


def documented_command() -> list[str]:
    text = (SUITE_DIR / gen.README).read_text()
    line = next(ln for ln in text.splitlines() if ln.startswith("fa2opt generate "))
    return shlex.split(line)[1:]


def test_committed_regression_suite_equals_its_documented_command(tmp_path):
    argv = documented_command()
    assert argv[argv.index("--out") + 1] == "datasets/suites/regression"
    argv[argv.index("--out") + 1] = str(tmp_path)
    assert main(argv) == 0
    committed = sorted(p.name for p in SUITE_DIR.iterdir())
    assert committed == sorted(p.name for p in tmp_path.iterdir())
    different = [n for n in committed if n != gen.README
                 and (SUITE_DIR / n).read_bytes() != (tmp_path / n).read_bytes()]
    assert not different, (
        f"{len(different)} committed files differ from a regeneration (e.g. {different[:3]}); if "
        "datasets/profiles/*.csv changed (see the sha256 list in the suite's README.md), "
        "regenerate the suite with the command in its README")
    # the README differs only in the --out path it quotes
    assert ((SUITE_DIR / gen.README).read_text()
            == (tmp_path / gen.README).read_text().replace(str(tmp_path), "datasets/suites/regression"))


def test_committed_regression_suite_sizes_and_feasibility():
    rows = manifest()
    files = sorted(SUITE_DIR.glob("*.json"))
    assert len(rows) == len(files) >= 300
    assert sum(p.stat().st_size for p in SUITE_DIR.iterdir()) < 5_000_000
    infeasible = 0
    for row in rows:
        inst = load_instance(SUITE_DIR / row["file"])
        k = [len(n.configs) for n in inst.nodes]
        assert 2 <= len(k) <= 12 and 3 <= min(k) and max(k) <= 40
        feasible = Problem.from_instance(inst).is_feasible()
        assert feasible == (row["feasible"] == "1")
        infeasible += not feasible
        check_structure(row["shape"], inst)
    assert 0.10 <= infeasible / len(rows) <= 0.20
    assert {r["shape"] for r in rows} == set(gen.SHAPES)
    assert {r["queueing"] for r in rows} == set(gen.SPEC_QUEUEING)
    assert any(r["capped_nodes"] != "0" for r in rows)
    assert any(r["edge_latencies"] == "1" for r in rows)
    assert any("amdahl+gpu" in r["profiles"] for r in rows)
    assert any(".csv" in r["profiles"] for r in rows)


def test_cli_validate_and_info_on_committed_suite(capsys):
    files = sorted(str(p) for p in SUITE_DIR.glob("*.json"))
    assert main(["validate", *files]) == 0
    out = capsys.readouterr().out
    assert out.count(": ok (") == len(files)
    rows = {r["file"]: r for r in manifest()}
    sample = files[:: max(1, len(files) // 30)]
    assert main(["info", "--json", *sample]) == 0
    for path, line in zip(sample, capsys.readouterr().out.splitlines()):
        info = json.loads(line)
        row = rows[Path(path).name]
        assert info["feasible"] == (row["feasible"] == "1")
        assert len(info["nodes"]) == int(row["nodes"]) and len(info["flows"]) == int(row["flows"])
        assert all(f["fastest_ms"] > 0 and f["sla_ms"] > 0 for f in info["flows"])
        assert math.log10(info["combinations"]) <= float(row["log10_combinations"]) + 0.01


# -- CLI -----------------------------------------------------------------------------------------
def test_cli_generate(tmp_path, capsys):
    out = tmp_path / "suite"
    assert main(["generate", "--suite", "tree", "--count", "4", "--seed", "2",
                 "--out", str(out)]) == 0
    assert "wrote 4 instances" in capsys.readouterr().out
    files = sorted(out.glob("*.json"))
    assert [f.name for f in files] == [f"{i:04d}-tree.json" for i in range(4)]
    first = files[0].read_bytes()
    # refuses to overwrite without --force: one line, exit 2
    assert main(["generate", "--suite", "tree", "--count", "2", "--seed", "2",
                 "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--force" in err[0]
    # --force replaces, stale files of a larger count go
    (out / "notes.txt").write_text("kept")
    assert main(["generate", "--suite", "tree", "--count", "2", "--seed", "2",
                 "--out", str(out), "--force"]) == 0
    assert sorted(f.name for f in out.glob("*.json")) == ["0000-tree.json", "0001-tree.json"]
    assert (out / "0000-tree.json").read_bytes() == first and (out / "notes.txt").exists()
    assert main(["validate", *map(str, out.glob("*.json"))]) == 0


@pytest.mark.parametrize("argv", [
    ["--suite", "nope", "--count", "2"],
    ["--suite", "chain", "--count", "0"],
    ["--suite", "chain", "--count", "x"],
    ["--suite", "chain", "--count", "2", "--seed", "-1"],
])
def test_cli_generate_bad_arguments(tmp_path, capsys, argv):
    try:
        rc = main(["generate", *argv, "--out", str(tmp_path / "o")])
    except SystemExit as exc:  # argparse's own errors (unknown suite, not an integer)
        rc = exc.code
    assert rc == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert not (tmp_path / "o").exists()


def test_cli_generate_out_is_a_file(tmp_path, capsys):
    target = tmp_path / "file"
    target.write_text("x")
    assert main(["generate", "--suite", "chain", "--count", "1", "--out", str(target)]) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1


# -- the hypothesis strategies -----------------------------------------------------------------
@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(instances())
def test_strategy_instances_are_valid_small_and_honest(inst):
    again = instance_from_dict(instance_to_dict(inst))
    shape = inst.name.removeprefix("hyp-")
    check_structure(shape, again)
    problem = Problem.from_instance(again)
    assert math.prod(max(1, len(t)) for t in problem.tables.values()) <= 4 ** 5
    answer = get_solver("brute-force").solve(problem)
    assert answer.status == ("optimal" if problem.is_feasible() else "infeasible")


def test_strategy_reaches_the_interesting_cases():
    # generate only (no shrinking): each search stops at its first hit
    settings_ = settings(max_examples=2000, deadline=None, database=None, phases=[Phase.generate])
    find(instances(), lambda i: not Problem.from_instance(i).is_feasible()
         and not Problem.from_instance(i).empty_nodes, settings=settings_)
    find(instances(), lambda i: Problem.from_instance(i).is_feasible()
         and len(i.flows) > 1 and any(e.latency_ms > 0 for e in i.edges), settings=settings_)
    find(instances(), lambda i: any(n.max_replicas or n.max_batch for n in i.nodes)
         and len({c.hardware for n in i.nodes for c in n.configs}) > 1, settings=settings_)
    find(instances(queueing="worst-case", shapes=("non-sp",)),
         lambda i: gen.has_bridge(names(i), pairs(i)), settings=settings_)


@settings(max_examples=40, deadline=None)
@given(instances(infeasible=False, multi_flow=False, queueing="none"))
def test_strategy_options(inst):
    assert inst.queueing == "none" and len(inst.flows) == 1
    problem = Problem.from_instance(inst)
    assert problem.is_feasible() or problem.empty_nodes


def test_generated_suites_can_carry_extension_keys(tmp_path):
    plain = gen.generate_suite("mixed", 6, seed=3)
    ext = gen.generate_suite("mixed", 6, seed=3, extensions="combined")
    assert [i.nodes for i in ext] == [i.nodes for i in plain]  # the same draws, keys added
    feasible = [i for i, p in zip(ext, plain) if Problem.from_instance(p).is_feasible()]
    assert feasible and all({"capacity", "current", "switch_cost"} <= set(i.extra)
                            for i in feasible)
    for inst in feasible:  # the keys round-trip through the file format and are honoured
        again = instance_from_dict(json.loads(json.dumps(instance_to_dict(inst))))
        assert again.extra == inst.extra
        ans = get_solver("milp").solve(Problem.from_instance(again))
        assert set(ans.formulation) >= {"capacity", "switch"} and ans.status != "error"
    assert main(["generate", "--suite", "mixed", "--count", "3", "--seed", "3",
                 "--extensions", "switch", "--out", str(tmp_path / "s")]) == 0
    files = sorted((tmp_path / "s").glob("0*.json"))
    assert len(files) == 3 and "--extensions switch" in (tmp_path / "s" / "README.md").read_text()
    with pytest.raises(ValueError, match="unknown extension set"):
        gen.generate_suite("mixed", 1, extensions="bogus")
