"""The worked example of docs/formulations.md: the ``energy`` extension (a per-flow energy
budget per request) declared once and solved by fa2, the MILP and brute force; the
``fa2opt.testing`` helpers; and an extension registered from outside the package."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest

import fa2opt
from fa2opt import Problem, extensions
from fa2opt.cli import main
from fa2opt.extensions.energy import joules
from fa2opt.extensions.realistic import chosen_rows, with_keys
from fa2opt.io import instance_to_dict
from fa2opt.solver import Decision, Solver
from fa2opt.testing import assert_matches_milp, match_report
from fa2opt.verify import matches, verify
from helpers import registered_methods

ROOT = Path(__file__).resolve().parents[1]
PIPELINES = ROOT / "datasets" / "pipelines"
SHARES = (1.0, 0.95, 0.9, 0.5)  # of the base optimum's energy per request


def power(inst: fa2opt.Instance) -> dict[str, float]:
    """Every hardware kind's figure (the docs' assumed TDPs: 6.25 W per core, 250 W per GPU)."""
    return {c.hardware: 6.25 if c.hardware.startswith("cpu") else 250.0
            for n in inst.nodes for c in n.configs}


def budgeted(inst: fa2opt.Instance, share: float) -> fa2opt.Instance:
    """``inst`` with each flow's budget at ``share`` of its base optimum's energy."""
    p = power(inst)
    rows = chosen_rows(inst, fa2opt.solve(inst, "fa2"))
    maxj = {f.name: share * sum(joules(inst, p, v, rows[v]) for v in f.nodes)
            for f in inst.flows}
    return with_keys(inst, {"energy": {"power_w": p, "max_j": maxj}})


@pytest.mark.parametrize("name", ["video_gpu", "sum-qa_cpu", "nlp_cpu", "shared_services_gpu"])
def test_fa2_matches_the_milp_on_energy_budgets(name):
    inst = fa2opt.load_instance(PIPELINES / f"{name}.json")
    rows = assert_matches_milp("fa2", [budgeted(inst, s) for s in SHARES], formulation="energy")
    assert rows[0].status == "optimal"  # the base optimum meets its own energy
    answers = [fa2opt.solve(budgeted(inst, s), "fa2", formulation="energy") for s in SHARES]
    assert all(a.formulation == ("energy",) for a in answers)
    costs = [a.cost for a in answers if a.has_decision]
    assert costs == sorted(costs)  # a tighter budget never makes it cheaper


def test_by_default_the_energy_key_is_ignored_as_the_spec_ignores_keys_it_does_not_define():
    inst = fa2opt.load_instance(PIPELINES / "video_gpu.json")
    tight = budgeted(inst, 0.9)
    plain, named = fa2opt.solve(tight, "fa2"), fa2opt.solve(tight, "fa2", formulation="energy")
    assert plain.formulation == () and plain.cost == fa2opt.solve(inst, "fa2").cost
    assert named.formulation == ("energy",) and named.cost > plain.cost
    assert verify(tight, plain).ok  # checked as the base problem it solved


def test_a_binding_budget_changes_the_decision_and_is_met():
    inst = fa2opt.load_instance(PIPELINES / "video_gpu.json")
    base = fa2opt.solve(inst, "fa2")
    tight = budgeted(inst, 0.9)
    ans = fa2opt.solve(tight, "fa2", formulation="energy")
    assert ans.status == "optimal" and ans.cost > base.cost
    assert verify(tight, ans).ok
    # the base optimum breaks the budget: verify catches it when it claims energy
    claim = base.with_(formulation=("energy",))
    v = verify(tight, claim)
    assert not v.ok and any(p.startswith("energy main") for p in v.problems)


def test_brute_force_agrees_on_small_instances():
    inst = fa2opt.load_instance(PIPELINES / "video_gpu.json")
    for share in SHARES:
        e = budgeted(inst, share)
        problem = Problem.from_instance(e)
        a = fa2opt.solve(problem, "fa2", formulation="energy")
        b = fa2opt.solve(problem, "brute-force", formulation="energy")
        assert b.status in ("optimal", "infeasible") and matches(a, b)


def test_methods_without_an_exact_base_refuse_it():
    e = budgeted(fa2opt.load_instance(PIPELINES / "video_gpu.json"), 0.9)
    ans = fa2opt.solve(e, "greedy", formulation="energy")
    assert ans.status == "error" and "energy" in ans.message
    assert fa2opt.solve(e, "greedy", formulation="base").status != "error"


@pytest.mark.parametrize("energy, field", [
    ({"power_w": {"gpu-pascal": 250.0}, "max_j": {"main": 1.0}}, "energy.power_w.gpu-ampere"),
    ({"power_w": {"gpu-pascal": -1, "gpu-ampere": 250}, "max_j": {}}, "energy.power_w.gpu-pascal"),
    ({"power_w": {"gpu-pascal": 250, "gpu-ampere": 250}, "max_j": {"nope": 1}}, "energy.max_j.nope"),
    ({"power_w": {}, "max_j": {"main": "a lot"}}, "energy.max_j.main"),
    ([1, 2], "energy"),
])
def test_bad_energy_keys_are_one_line_input_errors(tmp_path, capsys, energy, field):
    inst = fa2opt.load_instance(PIPELINES / "video_gpu.json")
    doc = instance_to_dict(with_keys(inst, {"energy": energy}))
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(doc))
    assert main(["solve", str(path), "--method", "fa2", "--formulation", "energy"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and f"{field}:" in err[0] and str(path) in err[0]


def test_the_milp_solves_energy_alone():
    e = budgeted(fa2opt.load_instance(PIPELINES / "video_gpu.json"), 0.9)
    e = with_keys(e, {"capacity": {"gpu-pascal": 0}})
    alone = fa2opt.solve(e, "milp", formulation="energy")
    default = fa2opt.solve(e, "milp")  # the spec's extensions only: energy is opt-in
    assert alone.formulation == ("energy",) and default.formulation == ("capacity",)
    assert matches(alone, fa2opt.solve(e, "fa2", formulation="energy"))


# -- fa2opt.testing -----------------------------------------------------------------------------
class FastestSolver(Solver):
    """The all-fastest choice: valid where anything is, rarely the cheapest."""

    name = "test-fastest-energy"

    def decide(self, problem: Problem) -> Decision:
        return Decision("feasible", {v: 0 for v in problem.tables})


@pytest.fixture(autouse=True, scope="module")
def _test_methods():
    with registered_methods({"test-fastest-energy": FastestSolver}):
        yield


def test_match_report_and_assert_catch_a_method_that_misses():
    inst = fa2opt.load_instance(PIPELINES / "video_cpu.json")
    rows = match_report("test-fastest-energy", inst)
    assert len(rows) == 1 and rows[0].proven and not rows[0].match
    assert rows[0].objective > rows[0].reference_objective
    with pytest.raises(AssertionError, match="video_cpu: feasible"):
        assert_matches_milp("test-fastest-energy", inst)
    # suite specs as fa2opt compare takes them, and files
    assert len(match_report("fa2", "pipelines+switch", limit=2, percentiles=(100.0,))) == 2
    assert assert_matches_milp("fa2", [PIPELINES / "nlp_cpu.json"])[0].match


# -- the docs: the listing is the shipped module, and the researcher's path ---------------------
def test_the_docs_listing_is_the_shipped_module():
    text = (ROOT / "docs" / "formulations.md").read_text(encoding="utf-8")
    listing = re.search(r"```text\n(# fa2opt/extensions/energy\.py\n.*?)```", text, re.S)
    assert listing, "docs/formulations.md lists fa2opt/extensions/energy.py"
    shipped = (ROOT / "fa2opt" / "extensions" / "energy.py").read_text(encoding="utf-8")
    assert listing.group(1) == "# fa2opt/extensions/energy.py\n" + shipped


def test_an_extension_registered_from_outside_reaches_every_solver(tmp_path, monkeypatch):
    src = (ROOT / "fa2opt" / "extensions" / "energy.py").read_text(encoding="utf-8")
    (tmp_path / "my_energy.py").write_text(src.replace('KEY = "energy"', 'KEY = "joules"'))
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(extensions, "MODULES", dict(extensions.MODULES))
    monkeypatch.setattr(extensions, "INSTANCE_KEYS", dict(extensions.INSTANCE_KEYS))
    extensions.register("joules", "my_energy", ["joules"])
    e = budgeted(fa2opt.load_instance(PIPELINES / "video_gpu.json"), 0.9)
    e = fa2opt.Instance(**{**e.__dict__, "extra": {"joules": e.extra["energy"]}})
    rows = assert_matches_milp("fa2", e)
    assert rows[0].status == "optimal"
    assert fa2opt.solve(e, "fa2").formulation == ("joules",)
    assert fa2opt.solve(e, "milp", formulation="joules").formulation == ("joules",)
    sys.modules.pop("my_energy", None)
