"""``capacity``: the base problem plus a cluster limit per hardware kind.

Declared in the shared vocabulary (:mod:`fa2opt.extensions.capacity`: one global budget per
listed kind, Σ_v n_v·u_v ≤ C_h + 1e-9); the model is built from it by
:mod:`formulations.extended`, and fa2 solves the same declaration. This formulation honours
only the ``capacity`` key (``extended``, the default, honours every key present).
"""

from __future__ import annotations

from .extended import formulation

FORMULATION = formulation(
    "capacity", "base + a cluster limit per hardware kind: Σ replicas·units ≤ capacity[h] "
                "(instance key 'capacity')")
