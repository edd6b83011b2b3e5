"""Audit 10: the MILP's time limit passing in a later round of its solve loop.

``formulations.solve.solve_exactly`` re-solves after cutting off a decision the spec's rule
rejects (at the SLA's edge, a capacity or an accuracy floor). A round that ended in
``optimal`` bound the local name ``no_bound`` -- the function the loop calls for its
time-limit message -- to a string, so when the deadline passed before the next round,
``no_bound()`` raised ``TypeError`` and ended the whole ``fa2opt solve`` run with a
traceback (every later instance of the call unanswered). Found on a generated 8-node
instance with capacity and switch (``--time-limit 0.02``); here the rejection and the
deadline are made deterministic by a test formulation whose rule rejects the first decision
after the limit has passed.
"""

from __future__ import annotations

import time
from typing import Mapping

import formulations
from fa2opt import Config, Edge, Flow, Instance, Node, Problem, solve
from formulations import base

LIMIT_S = 1.0


def _register() -> None:
    def build(problem: Problem):
        m = base.build(problem)
        seen: list[dict[str, int]] = []

        def check(choice: Mapping[str, int]) -> list[formulations.Violation]:
            if seen:
                return []
            seen.append(dict(choice))
            time.sleep(LIMIT_S * 1.2)  # the deadline passes while this decision is checked
            return [formulations.Violation("test rule", {v: (k,) for v, k in choice.items()})]

        m.rule_checks.append(check)
        return m

    formulations.register(formulations.Formulation(
        name="test-audit10-late-cut", build=build, read_back=base.read_back,
        summary="test", extra_constraints=True))


def _chain() -> Instance:
    rows = ((10.0, 1.0), (20.0, 0.5), (30.0, 0.25))
    nodes = tuple(Node(f"n{i}", tuple(Config(1, "cpu", u, p) for p, u in rows))
                  for i in range(3))
    edges = (Edge("n0", "n1", 1.0), Edge("n1", "n2", 1.0))
    return Instance("chain", nodes, edges, (Flow("main", 1.0, 200.0, ("n0", "n1", "n2")),),
                    queueing="none")


def test_deadline_after_a_cut_answers_time_limit_not_a_crash() -> None:
    _register()
    problem = Problem.from_instance(_chain())
    full = solve(problem, "milp")
    ans = solve(problem, "milp", formulation="test-audit10-late-cut", time_limit=LIMIT_S)
    assert ans.status == "time_limit", (ans.status, ans.message)
    assert "time limit reached" in ans.message
    assert ans.cost is None and ans.nodes == {}
    assert ans.lower_bound is not None and ans.lower_bound <= full.cost * (1 + 1e-9)
