"""``capacity``: units in use per hardware kind (spec, Extensions).

``"capacity": {"cpu": 64, "gpu": 4}``: for every listed kind h, ``Σ_v n_v · u_v`` over the
nodes whose chosen row has hardware h is ``≤ C_h + 1e-9`` (unlisted kinds are unlimited).
One :class:`~fa2opt.extensions.GlobalBudget` per listed kind that some row uses:
``use[v][k] = n_vk · u_vk`` where row k is on h (else 0), ``limit = C_h + 1e-9``.
"""

from __future__ import annotations

import math
from typing import Any, Mapping

import numpy as np

from .. import spec
from ..io import InputError, label, quote
from . import GlobalBudget

KEY = "capacity"


def parse(instance: Any) -> dict[str, float]:
    """Hardware kind → C_h (finite, ≥ 0)."""
    raw: Any = instance.extra.get(KEY)
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise InputError(instance.source, KEY, f"must be an object mapping hardware kind to "
                                               f"a limit (got {type(raw).__name__})")
    out: dict[str, float] = {}
    for hw, limit in raw.items():
        field = f"{KEY}.{label(str(hw))}"
        if isinstance(limit, bool) or not isinstance(limit, (int, float)):
            raise InputError(instance.source, field, f"not a number ({quote(limit)})")
        if not math.isfinite(limit) or limit < 0:
            raise InputError(instance.source, field,
                             f"must be finite and >= 0 (got {quote(limit)})")
        out[str(hw)] = float(limit)
    return out


def declare(problem: Any, caps: Mapping[str, float]) -> list[GlobalBudget]:
    inst = problem.instance
    blocks = []
    for h, c in caps.items():
        use: dict[str, np.ndarray] = {}
        for v, t in problem.tables.items():
            configs = inst.node(v).configs
            u = np.array([float(n) * configs[r].units if configs[r].hardware == h else 0.0
                          for r, n in zip(t.lists[0], t.lists[1])])
            if u.any():
                use[v] = u
        if use:
            blocks.append(GlobalBudget(KEY, h, tuple(use), use, c + spec.CAPACITY_TOL))
    return blocks


def check(instance: Any, caps: Mapping[str, float], chosen: Mapping[str, tuple[Any, int]]
          ) -> tuple[list[str], float]:
    """Independent recomputation from the chosen raw rows (``chosen[v] = (config, n_v)``,
    instance node order): the kinds over their limit; no objective term."""
    problems = []
    for h, c in caps.items():
        used = spec.budget_sum(float(n) * cfg.units for cfg, n in chosen.values()
                               if cfg.hardware == h)
        if not used <= c + spec.CAPACITY_TOL:
            problems.append(f"capacity {h}: {used!r} units in use > {c!r} + 1e-9")
    return problems, 0.0


def has_term(caps: Mapping[str, float]) -> bool:
    """Capacity adds nothing to the objective."""
    return False
