"""Instance builders shared by several test modules (kept here so each exists once)."""

from __future__ import annotations

from contextlib import contextmanager
from types import ModuleType
from typing import TYPE_CHECKING, Any, Iterator, Sequence

import numpy as np

from fa2opt.model import Instance

if TYPE_CHECKING:
    from fa2opt.problem import Problem


def shared_instances(count: int, seed: int, nodes: tuple[int, int] = (15, 30),
                     **sizes) -> list[Instance]:
    """Flows over windows of one graph (:func:`fa2opt.generate.shared_flows`, the
    benchmark's builder; ``nodes`` is its node-count range)."""
    from fa2opt.generate import shared_flows

    return [shared_flows(np.random.default_rng([seed, i]), nodes, name=f"shared-{i}", **sizes)
            for i in range(count)]


# A small valid instance document (one node's profile in a CSV beside it, one inline) that the
# bad-input and hostile-file tests mutate.
BAD_INPUT_CSV = "batch,hardware,units,latency_ms\n1,cpu,1,40\n2,cpu,2,45\n"
BAD_INPUT_BASE: dict[str, Any] = {
    "name": "t",
    "sla_ms": 500, "rate_rps": 50,
    "nodes": [
        {"name": "a", "profile": "a.csv"},
        {"name": "b", "multiplier": 2.0,
         "configs": [{"batch": 1, "hardware": "cpu", "units": 1, "latency_ms": 20.0},
                     {"batch": 4, "hardware": "gpu", "units": 1, "latency_ms": 30.0}]},
    ],
    "edges": [["a", "b", 1.0]],
    "prices": {"gpu": 4.0},
}


def with_drawn_slas(inst: Instance, rng: Any, spread: float) -> Instance:
    """``inst`` with each flow's SLA drawn between its all-fastest and all-cheapest latency:
    fastest + U(0, ``spread``)·(cheapest − fastest), rounded to 3 decimals (flows in order)."""
    from fa2opt.problem import Problem
    problem = Problem.from_instance(inst)
    fast = problem.flow_latencies(problem.fastest_choice())
    slow = problem.flow_latencies({v: len(t) - 1 for v, t in problem.tables.items()})
    return inst.with_slas({f: round(fast[f] + rng.uniform(0.0, spread) * (slow[f] - fast[f]), 3)
                           for f in fast})


def choice_of(problem: "Problem", answer: Any) -> dict[str, int]:
    """An answer's decision as table positions (node → position of the chosen row)."""
    inst = problem.instance
    return {v: problem.tables[v].position(next(
        j for j, c in enumerate(inst.node(v).configs)
        if c.identity == (d.batch, d.hardware, d.units, d.variant)))
        for v, d in answer.nodes.items()}


def poisson_arrivals(inst: Instance, seconds: int = 5) -> dict[str, Any]:
    """Poisson arrival times (ms) at each flow's constant rate, one seeded stream per flow."""
    from fa2opt.simulate.arrivals import Trace, arrival_times_ms

    return {f.name: arrival_times_ms(Trace.constant(f.rate_rps, seconds), "poisson",
                                     np.random.default_rng(i)) for i, f in enumerate(inst.flows)}


@contextmanager
def module_constants(modules: Sequence[ModuleType], **values: Any) -> Iterator[None]:
    """Set each named constant on every module of ``modules`` that has it, for the block."""
    old = [(m, k, getattr(m, k)) for m in modules for k in values if hasattr(m, k)]
    for m, k, _ in old:
        setattr(m, k, values[k])
    try:
        yield
    finally:
        for m, k, v in old:
            setattr(m, k, v)


@contextmanager
def registered_methods(methods: dict[str, type]) -> Iterator[None]:
    """Throw-away solvers registered under their names for the block only. A module that
    registered them at import would leave them to every later test in the process, even
    when none of its own tests ran (``-m slow`` collects it and deselects them all), and
    the experiments that run every registered method would meet them."""
    from fa2opt.solver import register, unregister

    for name, cls in methods.items():
        register(name, cls)
    try:
        yield
    finally:
        for name in methods:
            unregister(name)
