"""Service times of a batch: the profile's mean by default, optionally sampled.

A batch on a replica of the configuration (b, h, u, variant) with profile latency p takes

* ``mean``: exactly p (deterministic; what the optimizer's model assumes);
* ``jitter``: uniform in [p·(1−j), p·(1+j)] (a symmetric spread of relative half-width j);
* ``range``: uniform in [min, max] where the profile row carries measured
  ``latency_min_ms`` and ``latency_max_ms`` columns (the mean p for rows that do not);
* ``lognormal``: p·X with X lognormal of mean 1 and coefficient of variation ``cv``
  (σ² = ln(1 + cv²), X = exp(σz − σ²/2)): the mean stays the profile's, a right tail as
  measured latencies have. The sources' percentiles give the scale: Proteus and Loki rows'
  p90/p50 ratios, read as lognormal, give cv ≈ 0.01 (median) to 0.04–0.11 (90th
  percentile) for isolated benchmarks (docs/simulation.md).

No derived profile carries a p99 beside its mean: the only p99 figures in the sources are
IPA's ASR rows, and there the profile latency *is* the p99 (``datasets/profiles/PROVENANCE.md``),
so ``mean`` already runs them at their p99.

A partial batch (one dispatched on the batching timeout) takes the same time as a full one:
the replica runs the configured batch shape (padding), which is what the profile measured.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from ..answer import NodeDecision
from ..io import InputError, csv_field, read_document, read_profile_csv

SERVICE_KINDS = ("mean", "jitter", "range", "lognormal")
DEFAULT_JITTER = 0.1  # half-width of ``jitter`` when none is given
DEFAULT_CV = 0.1  # cv of ``lognormal`` when none is given: the sources' 90th-percentile spread
RowKey = tuple[str, int, str, float, "str | None"]  # (node, batch, hardware, units, variant)


@dataclass(frozen=True)
class ServiceModel:
    kind: str = "mean"
    jitter: float = 0.0
    ranges: Mapping[RowKey, tuple[float, float]] = field(default_factory=dict)
    cv: float = 0.0  # coefficient of variation of ``lognormal``

    def __post_init__(self) -> None:
        if self.kind not in SERVICE_KINDS:
            raise ValueError(f"service model must be one of {SERVICE_KINDS} (got {self.kind!r})")
        if not 0.0 <= self.jitter < 1.0:
            raise ValueError(f"jitter must be in [0, 1) (got {self.jitter})")
        if not (0.0 <= self.cv <= 10.0):
            raise ValueError(f"cv must be in [0, 10] (got {self.cv})")

    @property
    def sigma(self) -> float:
        """σ of the lognormal factor (0 unless ``lognormal``)."""
        return math.sqrt(math.log1p(self.cv * self.cv)) if self.kind == "lognormal" else 0.0

    @property
    def label(self) -> str:
        if self.kind == "jitter":
            return f"jitter:{self.jitter:g}"
        return f"lognormal:{self.cv:g}" if self.kind == "lognormal" else self.kind

    def bounds_ms(self, node: str, d: NodeDecision) -> tuple[float, float]:
        """(lo, hi) of the uniform service time of a batch (lo == hi: deterministic)."""
        p = float(d.profile_latency_ms)
        if self.kind == "jitter":
            return p * (1.0 - self.jitter), p * (1.0 + self.jitter)
        if self.kind == "range":
            return self.ranges.get((node, int(d.batch), d.hardware, float(d.units), d.variant), (p, p))
        return p, p


def profile_ranges(instance_path: str | Path) -> dict[RowKey, tuple[float, float]]:
    """Measured (min, max) batch latencies per profile row of an instance file, read from the
    optional ``latency_min_ms``/``latency_max_ms`` columns of its profile CSVs or inline
    ``configs`` (rows without both are left out; none of ``datasets/profiles`` has them)."""
    path = Path(instance_path)
    doc = read_document(path)
    out: dict[RowKey, tuple[float, float]] = {}
    for i, raw in enumerate(doc.get("nodes") or []):
        if not isinstance(raw, dict):
            continue
        name = raw.get("name", f"nodes[{i}]")
        if "profile" in raw:
            csv_path = path.parent / str(raw["profile"])
            rows: list[Any] = read_profile_csv(csv_path, str(csv_path))
            shown = str(csv_path)
        else:
            rows, shown = list(raw.get("configs") or []), f"{path}: nodes[{name}].configs"
        for j, row in enumerate(rows):
            if "latency_min_ms" not in row or "latency_max_ms" not in row:
                continue
            where = f"line {row['_line']}" if "_line" in row else f"[{j}]"
            try:
                lo, hi = float(row["latency_min_ms"]), float(row["latency_max_ms"])
                key = (name, int(float(row["batch"])), str(row["hardware"]), float(row["units"]),
                       None if row.get("variant") is None else str(row["variant"]))
            except (TypeError, ValueError, KeyError):
                raise InputError(shown, where, "latency_min_ms/latency_max_ms/batch/units not numbers") from None
            if not 0 < lo <= hi < math.inf:
                field = (csv_field(row["_line"], "latency_min_ms") if "_line" in row
                         else f"{where}.latency_min_ms")
                raise InputError(shown, field, f"need 0 < min <= max, finite (got {lo}, {hi})")
            out[key] = (lo, hi)
    return out
