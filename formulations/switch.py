"""``switch``: the base problem plus the cost of changing a node's deployed row.

Declared in the shared vocabulary (:mod:`fa2opt.extensions.switch`: a row term s_v on every
row whose identity differs from ``current[v]``); built by :mod:`formulations.extended`.
"""

from __future__ import annotations

from .extended import formulation

FORMULATION = formulation(
    "switch", "base + a switch cost for leaving a node's current row (instance keys "
              "'current', 'switch_cost')")
