"""Experiments as files (issue 15): configs under ``experiments/``, run by
``scripts/run_experiments.py`` into ``results/experiments/NAME[-quick|-smoke]/``.

* :mod:`.config` — the YAML schema and its validation (bad input: ``file: field: reason``);
* :mod:`.savings` — static planning savings of fa2 over the baselines on a grid of SLA
  tightness × load per hardware class (``kind: savings-grid``);
* :mod:`.violations` — trace simulation over a headroom sweep: cost-vs-violation curves and
  fa2's savings at equal violation rates with 95 % CIs over seeds (``equal-violations``);
* :mod:`.tightest` — method ``fa2-grid-tightest``; :mod:`.match` — its match rate and
  ``fa2-grid``'s against the optimum by grid step and SLA tightness (``tightest-match``);
* :mod:`.setup` — the paper's reported setup against each experiment's (``setup-table``);
* :mod:`.stats` — t-intervals and equal-violation interpolation; :mod:`.provenance` —
  ``run.json``; :mod:`.runner` — one config end to end (tables, plots, provenance).

Importing this package registers ``fa2-grid-tightest`` (without editing the solver registry).
"""

from __future__ import annotations

from ..solver import OPTIONS, available_methods, register

# the same options as fa2-grid (its solver takes GridSolver's)
register("fa2-grid-tightest", "fa2opt.experiments.tightest:TightestGridSolver", OPTIONS["fa2-grid"])


def available() -> set[str]:
    """Every registered method that can be loaded here (with this package's)."""
    return set(available_methods())
