"""The most accurate choice of large instances, ascended to from the base optimum
(:func:`fa2opt.extensions.realistic.accurate_ascent`): within the SLAs, never less accurate
than where it starts, never more than the exact most accurate choice; and the accuracy
floors of ``generate --extensions`` on a long chain come from it (an exact keen solve there
grew its fronts to 24 GB)."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from fa2opt.extensions import realistic
from fa2opt.extensions.realistic import (ACCURACY_SCALE, accurate_ascent, chosen_rows,
                                         extension_keys)
from fa2opt.generate import small_single_flow
from fa2opt.model import Instance
from fa2opt.problem import Problem
from fa2opt.solver import get_solver


def _with_accuracies(inst: Instance, rng: np.random.Generator) -> Instance:
    """``inst`` with an accuracy (percent) drawn for every row of most nodes."""
    nodes = []
    for n in inst.nodes:
        if rng.random() < 0.8:
            n = replace(n, configs=tuple(replace(c, accuracy=float(rng.choice([50, 70, 80, 90, 95, 100])))
                                         for c in n.configs))
        nodes.append(n)
    return replace(inst, nodes=tuple(nodes))


def _a(c) -> float:
    return 1.0 if c.accuracy is None else c.accuracy / ACCURACY_SCALE


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(2, 9),
       shape=st.sampled_from(["chain", "fork-join", "nested-sp", "non-sp", "tree"]))
def test_ascent_is_within_the_slas_and_between_the_base_and_the_top(seed, n, shape) -> None:
    rng = np.random.default_rng(seed)
    try:
        inst = small_single_flow(rng, n, shape)
    except ValueError:  # a shape that needs more nodes
        return
    inst = _with_accuracies(inst, rng)
    problem = Problem.from_instance(inst)
    base = get_solver("fa2").solve(problem)
    if not base.has_decision:
        return
    rows = chosen_rows(inst, base)
    up = accurate_ascent(inst, rows)
    assert set(up) == set(rows)
    index = {v: {c.identity: i for i, c in enumerate(inst.node(v).configs)} for v in rows}
    choice = {v: problem.tables[v].position(index[v][c.identity]) for v, c in up.items()}
    assert problem.meets_slas(choice)
    assert all(_a(up[v]) >= _a(rows[v]) for v in rows)
    # the exact most accurate choice (the rule below EXACT_TOP_MAX_NODES) is at least as good
    keen = replace(inst, extra={"accuracy": {"scale": ACCURACY_SCALE, "weight": 1e6}})
    top = chosen_rows(keen, get_solver("fa2", formulation="accuracy").solve(Problem.from_instance(keen)))
    assert math.fsum(_a(c) for c in up.values()) <= math.fsum(_a(c) for c in top.values()) + 1e-12


def test_large_instances_take_their_floors_from_the_ascent(monkeypatch) -> None:
    """Past EXACT_TOP_MAX_NODES no keen solve runs (it is what grew to 24 GB); the floors
    lie between the base optimum's accuracy and the ascent's, so the instance stays feasible."""
    rng = np.random.default_rng(7)
    inst = _with_accuracies(small_single_flow(rng, 8, "chain"), rng)
    solved = []
    real = realistic._fa2

    def spy(i, formulation="base"):
        solved.append(formulation)
        return real(i, formulation)

    monkeypatch.setattr(realistic, "_fa2", spy)
    monkeypatch.setattr(realistic, "EXACT_TOP_MAX_NODES", 4)
    keys = extension_keys(inst)
    assert "accuracy" not in solved  # the base optimum and the previous window only
    floor = keys["accuracy"]["accuracy"]["min"][inst.flows[0].name]
    ext = replace(inst, extra=keys["accuracy"])
    ans = get_solver("fa2").solve(Problem.from_instance(ext))
    assert ans.status == "optimal" and 0 < floor <= 1


def test_a_flow_whose_best_accuracy_underflows_gets_no_floor() -> None:
    """A 1,100-node chain of 50 %-accurate rows: the best product, 0.5^1100, is below the
    least normal double, so no floor in (0, 1] could be written that it meets (the long-chain
    suite wrote ``"min": 0.0``, which its own validation refuses); no accuracy set applies."""
    from fa2opt.model import Config, Edge, Flow, Node

    names = [f"n{i}" for i in range(1100)]
    rows = (Config(1, "cpu", 1.0, 1.0, accuracy=50.0), Config(2, "cpu", 1.0, 1.5, accuracy=50.0))
    inst = Instance("long", tuple(Node(v, rows) for v in names),
                    tuple(Edge(a, b) for a, b in zip(names, names[1:])),
                    (Flow("main", 10.0, 5000.0, tuple(names)),))
    keys = extension_keys(inst)
    assert "accuracy" not in keys and "accuracy" not in keys["combined"]
    assert set(keys) == {"capacity", "switch", "combined"}
