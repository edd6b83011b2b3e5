"""Suites: ``count`` instances of one shape family (:func:`generate_suite`,
:func:`generate_generated`) and their files (:func:`write_suite`: one compact JSON per
instance, ``manifest.csv``, ``README.md``).

Deterministic for a seed: instance i uses its own stream
``numpy.random.default_rng([seed, crc32(suite), i])``, so the same seed gives
byte-identical files and the first k instances do not depend on the count.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
import re
import zlib
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from dataclasses import replace

from ..extensions.realistic import EXTENSION_SETS, extended
from ..io import InputError, instance_to_dict, output_dir
from ..model import Instance
from .draws import choice
from .instances import SPEC_QUEUEING, Generated, Sizes, random_instance
from .profiles import measured_profile_files
from .shapes import SHAPES

SUITES: Mapping[str, tuple[str, ...]] = {
    **{shape: (shape,) for shape in SHAPES},
    "mixed": SHAPES,       # a random shape per instance
    "regression": SHAPES,  # shapes in turn (instance i has shape SHAPES[i % 6])
    "deep-sp": ("deep-sp",),  # nested 100-1,000 levels deep (SUITE_SIZES)
    "long-chain": ("chain",),  # chains of 1,000-10,000 nodes
}
# node and row ranges of the suites for size and depth (every other suite: Sizes())
SUITE_SIZES: Mapping[str, Sizes] = {
    "deep-sp": Sizes(nodes=(301, 3001), configs=(2, 8)),
    "long-chain": Sizes(nodes=(1000, 10000), configs=(2, 8)),
}
FILE_PATTERN = re.compile(r"^\d{4,}-[a-z-]+\.json$")
MANIFEST = "manifest.csv"
README = "README.md"
# --count at most: a suite is generated whole in memory before it is written, and the
# large suites take seconds and megabytes an instance (long-chain ~6 s, ~9 MB)
MAX_COUNT = 10_000


def _instance_rng(suite: str, seed: int, index: int) -> np.random.Generator:
    """Instance ``index`` of ``suite`` draws from its own stream, so instances do not depend
    on each other (the first k of a larger count are the same) and suites differ."""
    return np.random.default_rng([int(seed), zlib.crc32(suite.encode()), int(index)])


def generate_generated(name: str, count: int, seed: int = 0,
                       profile_files: Sequence[Path] | None = None,
                       extensions: str | None = None) -> list[Generated]:
    """``count`` instances of suite ``name`` with their manifest facts. ``extensions``
    (one of :data:`~fa2opt.extensions.realistic.EXTENSION_SETS`) adds the extension keys a
    real deployment would have (:func:`~fa2opt.extensions.realistic.extended`, the rules
    of the main job's ``SUITE+EXT`` suites) to every instance the set applies to; the
    others (an infeasible base problem, no accuracies) stay as drawn. The manifest's
    ``feasible`` is the base problem's."""
    if name not in SUITES:
        raise KeyError(f"unknown suite {name!r} (known: {', '.join(SUITES)})")
    if extensions is not None and extensions not in EXTENSION_SETS:
        raise ValueError(f"unknown extension set {extensions!r} "
                         f"(known: {', '.join(EXTENSION_SETS)})")
    if not 0 <= count <= MAX_COUNT:  # (compare's generated:NAME:COUNT reaches here unchecked:
        # 10^9 drew instances for hours before anything ran)
        raise ValueError(f"count must be an integer in [0, {MAX_COUNT}] (got {count})")
    if profile_files is None:
        profile_files = measured_profile_files()
    shapes = SUITES[name]
    width = max(4, len(str(max(count - 1, 0))))
    out = []
    for i in range(count):
        rng = _instance_rng(name, seed, i)
        if name == "regression":
            shape = shapes[i % len(shapes)]
        elif len(shapes) == 1:
            shape = shapes[0]
        else:
            shape = choice(rng, shapes)
        g = random_instance(shape, rng, name=f"{name}-{i:0{width}d}-{shape}",
                            sizes=SUITE_SIZES.get(name, Sizes()), profile_files=profile_files)
        if extensions is not None:
            g = replace(g, instance=extended(g.instance, extensions) or g.instance)
        out.append(g)
    return out


def generate_suite(name: str, count: int, seed: int = 0,
                   extensions: str | None = None) -> list[Instance]:
    """``count`` instances of suite ``name`` (one of :data:`SUITES`), deterministic for
    ``seed`` (given the same measured profile files), with the extension keys of set
    ``extensions`` where it applies (:func:`generate_generated`)."""
    return [g.instance for g in generate_generated(name, count, seed, extensions=extensions)]


def instance_json(inst: Instance) -> str:
    """The compact, deterministic file text of an instance (key order from
    :func:`fa2opt.io.instance_to_dict`)."""
    return json.dumps(instance_to_dict(inst), separators=(",", ":")) + "\n"


def file_name(inst: Instance, suite: str) -> str:
    """``0007-fork-join.json`` from the instance name ``{suite}-0007-fork-join``."""
    return inst.name[len(suite) + 1:] + ".json"


def write_suite(name: str, count: int, seed: int, out: str | Path, force: bool = False,
                command: str | None = None, extensions: str | None = None) -> list[Generated]:
    """Write suite ``name`` into ``out``: one compact JSON file per instance, plus
    ``manifest.csv`` (one row per instance) and ``README.md`` (how it was generated).

    ``out`` may hold other files; generated-looking files (``NNNN-shape.json``, the
    manifest) and a ``README.md`` already there are an error unless ``force``, which
    deletes them first so no stale instance survives a smaller count."""
    out = output_dir(out)
    out.mkdir(parents=True, exist_ok=True)
    old = sorted(p for p in out.iterdir()
                 if FILE_PATTERN.match(p.name) or p.name in (MANIFEST, README))
    if old and not force:
        raise InputError(str(out), "--out", f"already holds generated files ({old[0].name}, …); "
                         "use --force to replace them")
    in_the_way = next((p for p in old if not p.is_file()), None)
    if in_the_way is not None:  # (checked before deleting any: unlink failed on it, and the
        # message named --out's folder, not the folder in the way)
        raise InputError(str(in_the_way), "--out", "exists and is not a file (generate "
                                                   "writes this name)")
    for p in old:
        p.unlink()
    profile_files = measured_profile_files()
    generated = generate_generated(name, count, seed, profile_files, extensions=extensions)
    for g in generated:
        (out / file_name(g.instance, name)).write_text(instance_json(g.instance), encoding="utf-8")
    (out / MANIFEST).write_text(_manifest_csv(generated, name), encoding="utf-8")
    if command is None:
        command = (f"fa2opt generate --suite {name} --count {count} --seed {seed} "
                   + (f"--extensions {extensions} " if extensions else "")
                   + f"--out {out.as_posix()}")
    (out / README).write_text(_readme(generated, name, count, seed, command, profile_files),
                              encoding="utf-8")
    return generated


MANIFEST_COLUMNS = ("file", "shape", "variant", "nodes", "edges", "flows", "rows_min", "rows_max",
                    "rows_total", "log10_combinations", "queueing", "max_utilization",
                    "edge_latencies", "capped_nodes", "feasible", "profiles")


def _manifest_csv(generated: Sequence[Generated], suite: str) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(MANIFEST_COLUMNS)
    for g in generated:
        inst = g.instance
        k = [len(n.configs) for n in inst.nodes]
        w.writerow([
            file_name(inst, suite), g.shape, g.variant, len(inst.nodes), len(inst.edges),
            len(inst.flows), min(k), max(k), sum(k),
            f"{sum(math.log10(x) for x in k):.2f}", inst.queueing, f"{inst.max_utilization:g}",
            int(any(e.latency_ms > 0 for e in inst.edges)),
            sum(n.max_replicas is not None or n.max_batch is not None for n in inst.nodes),
            int(g.feasible), ";".join(f"{v}={src}" for v, src in g.sources.items()),
        ])
    return buf.getvalue()


def _readme(generated: Sequence[Generated], suite: str, count: int, seed: int, command: str,
            profile_files: Sequence[Path]) -> str:
    by_shape: dict[str, list[Generated]] = {}
    for g in generated:
        by_shape.setdefault(g.shape, []).append(g)
    lines = [
        f"# Suite `{suite}` ({count} instances, seed {seed})",
        "",
        "Generated by `fa2opt.generate`; do not edit by hand. Regenerate (byte-identical,",
        "given the same measured profile files listed below) with:",
        "",
        "```",
        command + " --force",
        "```",
        "",
        "One compact JSON instance per file (spec format, inline `configs`);",
        f"`{MANIFEST}` has one row per instance (shape, sizes, queueing, feasibility,",
        "where each node's profile came from: `amdahl`/`amdahl+gpu` = synthetic,",
        "`<csv>x<scale>` = rows of a measured profile with latencies scaled).",
        "See `docs/generator.md` for how instances are drawn.",
        "",
        "| shape | instances | infeasible | nodes (min-max) | rows per node (min-max) | flows (min-max) |",
        "|---|---:|---:|---|---|---|",
    ]
    for shape in (*SHAPES, *(s for s in by_shape if s not in SHAPES)):
        gs = by_shape.get(shape, [])
        if not gs:
            continue
        nn = [len(g.instance.nodes) for g in gs]
        kk = [len(n.configs) for g in gs for n in g.instance.nodes]
        ff = [len(g.instance.flows) for g in gs]
        lines.append(f"| {shape} | {len(gs)} | {sum(not g.feasible for g in gs)} | "
                     f"{min(nn)}-{max(nn)} | {min(kk)}-{max(kk)} | {min(ff)}-{max(ff)} |")
    n_inf = sum(not g.feasible for g in generated)
    lines += [f"| all | {len(generated)} | {n_inf} | | | |", ""]
    qs = {q: sum(g.instance.queueing == q for g in generated) for q in SPEC_QUEUEING}
    lines.append("Queueing models: " + ", ".join(f"{q} {c}" for q, c in qs.items()) + ".")
    lines += ["", "Measured profile files the generator drew from (sha256):", ""]
    for f in profile_files:
        digest = hashlib.sha256(Path(f).read_bytes()).hexdigest()
        lines.append(f"- `{Path(f).name}` {digest}")
    if not profile_files:
        lines.append("- none (every profile is synthetic)")
    return "\n".join(lines) + "\n"
