"""Rate predictors of the autoscaling loop: the next interval's rate from the past.

A predictor sees the per-second request counts observed so far (oldest first) and returns a
rate forecast (req/s). All are O(window):

* ``last``: the mean rate over the last ``window_s`` seconds (default: the adaptation
  interval) — the reactive baseline;
* ``max``: the largest per-second rate in the last ``window_s`` seconds (default 60) — the
  conservative choice that provisions for recent peaks (IPA predicts the max of the next
  interval with an LSTM; this is its history-only counterpart);
* ``quantile``: the q-quantile (default 0.95) of the per-second rates in the last
  ``window_s`` seconds (a moving quantile between the two).

A ``headroom`` h scales every forecast by (1 + h).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

PREDICTORS = ("last", "max", "quantile")


@dataclass(frozen=True)
class Predictor:
    kind: str = "max"
    window_s: int | None = None
    quantile: float = 0.95
    headroom: float = 0.0

    def __post_init__(self) -> None:
        if self.kind not in PREDICTORS:
            raise ValueError(f"predictor must be one of {PREDICTORS} (got {self.kind!r})")
        if self.window_s is not None and self.window_s < 1:
            raise ValueError(f"predictor window must be >= 1 s (got {self.window_s})")
        if not 0.0 <= self.quantile <= 1.0:
            raise ValueError(f"quantile must be in [0, 1] (got {self.quantile})")
        if not (0.0 <= self.headroom < float("inf")):  # (NaN too)
            raise ValueError(f"headroom must be a finite number >= 0 (got {self.headroom})")

    @property
    def label(self) -> str:
        q = f"{self.quantile:g}:" if self.kind == "quantile" else ""
        w = "" if self.window_s is None else f"{self.window_s}s"
        h = f"+{self.headroom:g}" if self.headroom else ""
        return f"{self.kind}:{q}{w}{h}".rstrip(":")

    def window(self, interval_s: int) -> int:
        if self.window_s is not None:
            return self.window_s
        return interval_s if self.kind == "last" else 60

    def __call__(self, history: np.ndarray, interval_s: int) -> float:
        """Forecast from per-second counts ``history`` (non-empty, oldest first)."""
        recent = np.asarray(history, dtype=float)[-self.window(interval_s):]
        if len(recent) == 0:
            raise ValueError("a predictor needs at least one observed second")
        if self.kind == "last":
            rate = float(recent.mean())
        elif self.kind == "max":
            rate = float(recent.max())
        else:
            rate = float(np.quantile(recent, self.quantile))
        return rate * (1.0 + self.headroom)
