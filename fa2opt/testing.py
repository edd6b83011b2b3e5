"""Helpers for a researcher's own pytest: does method M match the MILP on these instances?

    from fa2opt.testing import assert_matches_milp, match_report
    assert_matches_milp("fa2", "pipelines+capacity", limit=5)   # a suite spec, as compare takes
    rows = match_report("fa2", ["my_instance.json"])             # or files / Instance objects

Each instance is solved by the method and by the reference (``milp``), both answers go
through the independent check (:func:`fa2opt.solver.checked`, i.e. :func:`fa2opt.verify.verify`
including every extension's constraints and objective), and they are judged by the spec's
match rule (:func:`fa2opt.verify.matches`: both infeasible, or objectives within
1e-9·max(1, |objective|)). A reference that did not prove its answer (``time_limit``,
``error``) is no ground truth: the row says so and it is not counted as a match.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Sequence, Union

from .io import load_instance
from .model import Instance
from .problem import Problem
from .solver import checked, get_solver
from .verify import matches

Instances = Union[str, Path, Instance, Iterable[Union[str, Path, Instance]]]
PROVEN = ("optimal", "infeasible")


@dataclass(frozen=True)
class MatchRow:
    """One instance: both answers (checked) and the verdict."""

    instance: str
    status: str
    reference_status: str
    objective: float | None
    reference_objective: float | None
    solve_ms: float
    reference_ms: float
    proven: bool  # the reference proved its answer and passed the check
    match: bool
    message: str | None = None


def _named(instances: Instances, *, limit: int | None, seed: int,
           percentiles: Sequence[float]) -> list[tuple[str, Instance]]:
    """(id, instance) pairs from a suite spec, a file, an Instance, or a list of those."""
    if isinstance(instances, Instance):
        return [(instances.name or "instance", instances)]
    if isinstance(instances, (str, Path)):
        path = Path(instances)
        if path.is_file():
            return [(path.stem, load_instance(path))]
        from .compare.suites import load_suite  # a suite spec: pipelines+capacity, ...

        return [(t.instance_id, t.instance) for t in
                load_suite(str(instances), limit=limit, seed=seed, percentiles=percentiles)]
    out: list[tuple[str, Instance]] = []
    for item in instances:
        out += _named(item, limit=limit, seed=seed, percentiles=percentiles)
    return out


def _value(ans: Any) -> float | None:
    return ans.cost if ans.objective is None else ans.objective


def match_report(method: str, instances: Instances, *, reference: str = "milp",
                 limit: int | None = None, seed: int = 0,
                 percentiles: Sequence[float] = (50.0, 100.0),
                 **options: Any) -> list[MatchRow]:
    """One :class:`MatchRow` per instance: ``method`` (with ``options``) against
    ``reference`` (with the same ``formulation``, if one is given). ``instances``: a suite
    spec as ``fa2opt compare --suite`` takes (with ``limit``/``seed``/``percentiles``), an
    instance file, an Instance, or a list of those."""
    ref_options = {k: v for k, v in options.items() if k == "formulation"}
    rows = []
    for name, inst in _named(instances, limit=limit, seed=seed, percentiles=percentiles):
        problem = Problem.from_instance(inst)
        got = checked(problem, get_solver(method, **options).solve(problem))
        ref = checked(problem, get_solver(reference, **ref_options).solve(problem))
        proven = ref.status in PROVEN
        rows.append(MatchRow(name, got.status, ref.status, _value(got), _value(ref),
                             got.solve_ms, ref.solve_ms, proven,
                             proven and got.status != "error" and matches(got, ref),
                             got.message or ref.message))
    return rows


def assert_matches_milp(method: str, instances: Instances, **kwargs: Any) -> list[MatchRow]:
    """Fail (AssertionError listing each miss) unless ``method`` matches the MILP on every
    instance, and the MILP proved every one; returns the rows (see :func:`match_report`)."""
    rows = match_report(method, instances, **kwargs)
    assert rows, "no instances"
    bad = [r for r in rows if not (r.proven and r.match)]
    assert not bad, f"{method} vs {kwargs.get('reference', 'milp')}: {len(bad)} of {len(rows)} " \
                    "instances not matched: " + "; ".join(
        f"{r.instance}: {r.status} {r.objective} vs {r.reference_status} "
        f"{r.reference_objective}" + (f" ({r.message})" if r.message else "") for r in bad[:5])
    return rows
