"""``energy``: a per-flow energy budget per request (the worked example of docs/formulations.md).

``"energy": {"power_w": {"<hardware>": P_h}, "max_j": {"<flow>": E_f}}``. A batch of ``b``
requests on a row with ``u`` units of hardware ``h`` and profile latency ``p`` ms keeps the
units busy for ``p`` ms, so each request costs ``e = u · P_h · p / 1000 / b`` joules; a
request entering flow f costs ``Σ_{v∈f} m_v · e_v`` (m_v: the node's multiplier), which must
be ``≤ E_f + 1e-9``. Idle power of provisioned replicas is not counted (an assumption: the
budget prices work done, not capacity held). One :class:`~fa2opt.extensions.FlowBudget`
per flow with a budget; fa2 solves it by its Lagrangian branch and bound, the MILP as one row.
"""

from __future__ import annotations

import math
from typing import Any, Mapping

import numpy as np

from fa2opt import spec
from fa2opt.extensions import FlowBudget
from fa2opt.io import InputError, label, quote

KEY = "energy"
TOL_J = 1e-9  # absolute tolerance of the budget, as the spec's capacity rule has
# a power figure: 0 or within the spec's magnitude window, as prices are, so that a request's
# joules m·u·P·p/1000/b (each factor ≤ 1e15) stay finite: 1e307 W made every row's energy
# inf and answered `infeasible` to a feasible instance
POWER_W_RANGE = spec.MAGNITUDE_RANGE


def parse(instance: Any) -> dict[str, dict[str, float]]:
    """``{"power_w": hardware → W, "max_j": flow → J}``; every hardware kind a row of a
    budgeted flow uses needs a power figure (a missing one would count as 0 W)."""
    raw = instance.extra.get(KEY)
    src = instance.source
    if not isinstance(raw, Mapping) or set(raw) - {"power_w", "max_j"}:
        raise InputError(src, KEY, "must be an object with power_w and max_j")
    out: dict[str, dict[str, float]] = {}
    for part in ("power_w", "max_j"):
        values = raw.get(part, {})
        if not isinstance(values, Mapping):
            raise InputError(src, f"{KEY}.{part}", "must be an object of numbers")
        for name, x in values.items():
            field = f"{KEY}.{part}.{label(str(name))}"
            if isinstance(x, bool) or not isinstance(x, (int, float)) \
                    or not math.isfinite(x) or x < 0:
                raise InputError(src, field, f"must be a finite number >= 0 (got {quote(x)})")
            lo, hi = POWER_W_RANGE
            if part == "power_w" and x != 0 and not lo <= x <= hi:
                raise InputError(src, field, f"out of range: must be 0 or in [{lo:g}, {hi:g}] "
                                             f"(got {quote(x)})")
        out[part] = {str(k): float(x) for k, x in values.items()}
    flows = {f.name: f for f in instance.flows}
    for name in out["max_j"]:
        if name not in flows:
            raise InputError(src, f"{KEY}.max_j.{label(str(name))}", "unknown flow")
        for v in flows[name].nodes:
            for c in instance.node(v).configs:
                if c.hardware not in out["power_w"]:
                    raise InputError(src, f"{KEY}.power_w.{label(c.hardware)}", "missing (a row "
                                     f"of node {quote(v)} in flow {quote(name)} uses it)")
    return out


def joules(instance: Any, power_w: Mapping[str, float], v: str, row: Any) -> float:
    """Energy per request entering a flow that node ``v`` spends on profile row ``row``."""
    return (instance.node(v).multiplier * row.units * power_w[row.hardware]
            * row.latency_ms / 1000.0 / row.batch)


def declare(problem: Any, s: Mapping[str, Any]) -> list[FlowBudget]:
    inst, blocks = problem.instance, []
    for g in problem.flows:
        if g.name in s["max_j"]:
            use = {v: np.array([joules(inst, s["power_w"], v, inst.node(v).configs[r])
                                for r in problem.tables[v].lists[0]]) for v in g.nodes}
            blocks.append(FlowBudget(KEY, g.name, g.nodes, use, s["max_j"][g.name] + TOL_J))
    return blocks


def check(instance: Any, s: Mapping[str, Any], chosen: Mapping[str, tuple[Any, int]]
          ) -> tuple[list[str], float]:
    """Independent recomputation from the chosen raw rows: the flows over budget."""
    problems, order = [], instance.topological_order
    for f in instance.flows:
        if f.name in s["max_j"]:
            members = set(f.nodes)
            used = spec.budget_sum(joules(instance, s["power_w"], v, chosen[v][0])
                                   for v in order if v in members)
            if not used <= s["max_j"][f.name] + TOL_J:
                problems.append(f"energy {f.name}: {used!r} J > {s['max_j'][f.name]!r} J")
    return problems, 0.0


def has_term(s: Mapping[str, Any]) -> bool:
    """Energy adds nothing to the objective."""
    return False
