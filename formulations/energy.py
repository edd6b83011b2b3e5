"""``energy``: the base problem plus a per-flow energy budget per request.

Declared in the shared vocabulary (:mod:`fa2opt.extensions.energy`: one flow budget per
flow with ``max_j``); the model is built from it by :mod:`formulations.extended`, and fa2
solves the same declaration. The worked example of docs/formulations.md.
"""

from __future__ import annotations

from .extended import formulation

FORMULATION = formulation(
    "energy", "base + a per-flow energy budget per request: Σ m·units·power·latency/batch ≤ "
              "max_j[f] (instance key 'energy')")
