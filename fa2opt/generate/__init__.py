"""Synthetic instances: graph shapes, profiles, SLAs near the feasibility frontier, suites.

Three layers, each usable on its own (tests and ``tests/strategies.py`` use the first):

1. **Shapes** (:mod:`.shapes`, :class:`Topology`): chains, fork-joins, nested
   series-parallel graphs, graphs that are not series-parallel (the bridge and the "N"),
   out-trees and multi-flow graphs with shared nodes, series-parallel graphs nested as deep
   as their size allows (:func:`deep_sp`), plus structure checks. Each builder
   takes the node count and a ``pick(lo, hi)`` callable returning an integer in
   ``[lo, hi]``, so the same code serves a seeded numpy generator (suites) and hypothesis
   draws (property tests, with shrinking).
2. **Instances** (:mod:`.instances`, :func:`random_instance`): profiles (:mod:`.profiles`)
   measured (rows of the CSVs under ``datasets/profiles/``, subset and scaled) or synthetic
   (Amdahl's law with noise, some nodes with a GPU option), rates, multipliers, edge
   latencies, queueing model, utilization cap, occasional ``max_replicas``/``max_batch``,
   and SLAs drawn between each flow's all-fastest latency and its latency at the cheapest
   choice -- or a little below the all-fastest one, which makes the instance infeasible
   (spec: infeasible exactly when the all-fastest choice breaks an SLA), computed with
   :class:`fa2opt.problem.Problem`; plus :func:`scaling_instance` for benchmarks (chains /
   SP graphs of 10 to 1000 nodes with 50-200 configurations).
3. **Suites** (:mod:`.suites`: :func:`generate_suite`, :func:`write_suite`; :mod:`.cli`:
   the ``fa2opt generate`` subcommand): ``count`` instances of one shape family,
   deterministic for a seed (instance i uses ``numpy.random.default_rng([seed,
   crc32(suite), i])``; same seed -> byte-identical files).

:mod:`.families` holds the large and hard families of issue 13 (dense and random DAGs,
lattices, ladders, series-parallel graphs with per-edge latencies, flows sharing most
nodes, many applications over one pool of models, small single-flow graphs of every shape),
one seeded generator each and the :data:`FAMILIES` registry the decision benchmark and the
tests iterate over.

:mod:`.draws` holds the random-draw helpers the layers share. Every public name is
re-exported here, so ``from fa2opt.generate import ...`` works for all of them. See
``docs/generator.md`` for the choices made where the issue was silent.
"""

from __future__ import annotations

from .cli import add_parser, cmd_generate
from .families import (DENSE_CASES, FAMILIES, SHARED_SHAPES, SMALL_SHAPES, Family, chain_windows,
                       dense_dag, ladder, ladder_topology, lattice, lattice_topology, long_paths,
                       many_flows, own_latency_edges, random_dag, random_dag_topology,
                       shared_flows, small_single_flow, vsp_edge_latency,
                       vsp_edge_latency_topology)
from .instances import (SCALING_SHAPES, SLA_DECIMALS, SPEC_QUEUEING, Generated, Sizes, assemble,
                        flow_frontier, flow_names, place_slas, random_instance, scaling_family,
                        scaling_instance, sla_at)
from .profiles import (AMDAHL_BATCHES, AMDAHL_CORES, BASE_PRICES, FALLBACK_PROFILES, GPU_BATCHES,
                       LATENCY_DECIMALS, PROFILE_DIRS, amdahl_profile, measured_profile,
                       measured_profile_files, read_profile, reference_capacity)
from .shapes import (BRIDGE_EDGES, BUILDERS, DEEP_SHAPES, MIN_NODES, N_EDGES, SHAPES, Pick, Topology,
                     build, chain, deep_sp, fork_join, has_bridge, has_induced_n, is_chain,
                     is_out_tree, multi_flow, nested_sp, non_sp, tree)
from .suites import (FILE_PATTERN, MANIFEST, MANIFEST_COLUMNS, README, SUITE_SIZES, SUITES,
                     file_name, generate_generated, generate_suite, instance_json, write_suite)

__all__ = [
    # shapes
    "Pick", "SHAPES", "Topology", "BUILDERS", "MIN_NODES", "BRIDGE_EDGES", "N_EDGES", "build",
    "chain", "fork_join", "nested_sp", "non_sp", "tree", "multi_flow", "DEEP_SHAPES", "deep_sp",
    "has_induced_n",
    "has_bridge", "is_chain", "is_out_tree",
    # profiles
    "PROFILE_DIRS", "FALLBACK_PROFILES", "AMDAHL_BATCHES", "AMDAHL_CORES", "GPU_BATCHES",
    "BASE_PRICES", "LATENCY_DECIMALS", "measured_profile_files", "read_profile",
    "amdahl_profile", "measured_profile", "reference_capacity",
    # instances
    "SPEC_QUEUEING", "SLA_DECIMALS", "Sizes", "Generated", "flow_names", "assemble",
    "flow_frontier", "sla_at", "place_slas", "random_instance", "SCALING_SHAPES",
    "scaling_instance", "scaling_family",
    # families (issue 13)
    "FAMILIES", "Family", "DENSE_CASES", "SHARED_SHAPES", "SMALL_SHAPES", "dense_dag",
    "random_dag", "random_dag_topology", "lattice", "lattice_topology", "ladder",
    "ladder_topology", "own_latency_edges",
    "vsp_edge_latency", "vsp_edge_latency_topology", "shared_flows", "chain_windows", "many_flows",
    "long_paths",
    "small_single_flow",
    # suites
    "SUITES", "SUITE_SIZES", "FILE_PATTERN", "MANIFEST", "MANIFEST_COLUMNS", "README", "generate_suite",
    "generate_generated", "write_suite", "instance_json", "file_name",
    # the ``fa2opt generate`` subcommand
    "add_parser", "cmd_generate",
]
