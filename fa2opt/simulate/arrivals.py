"""Workloads: per-second rate traces and the request arrival times drawn from them.

A trace is a piecewise-constant rate r_s (requests/s during second s). Arrivals are made by
a time change: with the cumulative rate Λ(t) = ∫_0^t r(τ) dτ (piecewise linear), the k-th
arrival is at Λ⁻¹(E_k) where

* ``poisson``: E_k = E_1 + … + E_k with E_i ~ Exp(1), i.e. an inhomogeneous Poisson process
  of intensity r(t) (Çinlar's inversion; O(N) after one sort-free ``np.interp``);
* ``even``: E_k = k, i.e. deterministic, evenly spaced arrivals (spacing 1/r at a constant
  rate r) — the fluid limit used by the deterministic tests;

or timestamps are replayed as given (``replay``). Times are in milliseconds from 0.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..io import (EMPTY_CELL, InputError, csv_field, huge_cell, input_path, quote, read_csv_rows,
                  text_float)

ARRIVAL_MODES = ("poisson", "even")
MAX_REQUESTS = 20_000_000  # per flow and trace: more would need gigabytes of arrival times


@dataclass(frozen=True)
class Trace:
    """Per-second request rates (req/s); ``rates[s]`` holds during [s, s+1) seconds."""

    name: str
    rates: np.ndarray

    @property
    def duration_s(self) -> float:
        return float(len(self.rates))

    @property
    def mean_rps(self) -> float:
        return float(np.mean(self.rates))

    def scaled(self, factor: float) -> "Trace":
        return Trace(self.name, self.rates * float(factor))

    def window(self, start_s: int, seconds: int) -> "Trace":
        return Trace(self.name, self.rates[start_s:start_s + seconds].copy())

    @classmethod
    def constant(cls, rate_rps: float, seconds: int, name: str = "constant") -> "Trace":
        return cls(name, np.full(int(seconds), float(rate_rps)))


def _cell(shown: str, line: int, column: str, text: str) -> float:
    """A trace cell as a number; InputError naming its line and column where it is empty or
    no number (the profiles' wording, :func:`fa2opt.io.csv_field`)."""
    if not text.strip():
        raise InputError(shown, csv_field(line, column), f"must be a number ({EMPTY_CELL})")
    huge = huge_cell(text.strip())
    if huge is not None:
        raise InputError(shown, csv_field(line, column), huge)
    try:
        return text_float(text)
    except ValueError:
        raise InputError(shown, csv_field(line, column),
                         f"must be a number (got {quote(text)})") from None


def load_trace(path: str | Path, column: str = "rps") -> Trace:
    """Read a trace CSV with a ``second`` column and a rate column (default ``rps``: the
    damped rates of ``datasets/traces/``; ``rps_raw`` for the undamped ones).

    Seconds must be 0, 1, 2, … in order; rates finite and ≥ 0; at least one rate > 0; the
    header names no column twice and no row has more cells (:func:`fa2opt.io.read_csv_rows`).
    """
    path = input_path(path)
    shown = str(path)
    rates = []
    for row in read_csv_rows(path, shown, "trace", ("second", column)):
        line = row["_line"]
        sec, val = row.get("second", ""), row.get(column, "")
        s, r = _cell(shown, line, "second", sec), _cell(shown, line, column, val)
        if s != len(rates):
            raise InputError(shown, csv_field(line, "second"),
                             f"expected {len(rates)} (seconds must be 0, 1, 2, ... in order)")
        if not np.isfinite(r) or r < 0:
            raise InputError(shown, csv_field(line, column),
                             f"must be finite and >= 0 (got {quote(val)})")
        rates.append(r)
    if not rates:
        raise InputError(shown, column, "no rows")
    arr = np.asarray(rates, dtype=float)
    if not (arr > 0).any():
        raise InputError(shown, column, "every rate is 0")
    return Trace(path.stem, arr)


def check_requests(expected: float, seconds: int) -> None:
    """ValueError unless a trace's ``expected`` requests (Σ rates) over ``seconds`` are at
    most :data:`MAX_REQUESTS` (a rate like 1e9 req/s would otherwise ask numpy for
    gigabytes, or more than it can index)."""
    if not expected <= MAX_REQUESTS:
        raise ValueError(f"{expected:.3g} requests expected over {seconds} s, more than the "
                         f"simulator takes ({MAX_REQUESTS:.0e} per flow): lower --rate-scale "
                         f"or --seconds")


def arrival_times_ms(trace: Trace, mode: str = "poisson",
                     rng: np.random.Generator | None = None) -> np.ndarray:
    """Sorted arrival times (ms) of one flow's requests over the trace (see module doc)."""
    if mode not in ARRIVAL_MODES:
        raise ValueError(f"arrival mode must be one of {ARRIVAL_MODES} (got {mode!r})")
    rates = np.asarray(trace.rates, dtype=float)
    cum = np.concatenate(([0.0], np.cumsum(rates)))  # Λ at integer seconds
    total = cum[-1]
    check_requests(total, len(rates))
    if mode == "even":
        marks = np.arange(0.0, total - 1e-9)  # k-th request (k = 0, 1, …) at Λ⁻¹(k)
    else:
        if rng is None:
            raise ValueError("poisson arrivals need an rng")
        n_guess = int(total + 10 * np.sqrt(total + 1) + 10)
        marks = np.cumsum(rng.exponential(1.0, size=n_guess))
        while marks[-1] < total:  # rare: extend
            more = marks[-1] + np.cumsum(rng.exponential(1.0, size=n_guess))
            marks = np.concatenate((marks, more))
        marks = marks[marks < total]
    # invert the piecewise-linear Λ: the last knot ≤ x starts a second of positive rate
    i = np.clip(np.searchsorted(cum, marks, side="right") - 1, 0, len(rates) - 1)
    t_s = i + (marks - cum[i]) / np.where(rates[i] > 0, rates[i], 1.0)
    return t_s * 1000.0


def observed_rates(arrivals_ms: np.ndarray, seconds: int) -> np.ndarray:
    """Requests counted in each whole second (what an autoscaler's monitor sees)."""
    sec = np.floor(np.asarray(arrivals_ms) / 1000.0).astype(np.int64)
    sec = sec[(sec >= 0) & (sec < seconds)]
    return np.bincount(sec, minlength=seconds).astype(float)
