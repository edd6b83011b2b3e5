"""Figures of an evaluation (PNG, matplotlib's Agg backend): rate and replicas over time,
and the latency CDF per method."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

from ..plotting import literal_text, pyplot
from .run import Run, Workload


@literal_text  # flow names and the title (the instance's name) are user data
def plot_timeline(runs: Sequence[Run], workload: Workload, path: str | Path, title: str = "") -> None:
    """Top: observed requests/s per flow and each method's forecast (summed over flows);
    bottom: total replicas (all nodes) each method keeps over time."""
    plt = pyplot()
    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(10, 6), sharex=True)
    for f, obs in workload.observed.items():
        ax1.plot(np.arange(len(obs)), obs, lw=0.6, alpha=0.6, label=f"observed {f}")
    for r in runs:
        t = [s.time_s for s in r.loop.steps]
        fc = [sum(s.forecast.values()) for s in r.loop.steps]
        ax1.step(t, fc, where="post", lw=1.0, label=f"forecast ({r.method})")
        reps = [sum(st.replicas for st in s.values()) for s in r.sim.plan.settings]
        ax2.step(t, reps, where="post", lw=1.2, label=r.method)
    ax1.set_ylabel("requests/s")
    ax1.legend(fontsize=7, ncol=2)
    ax2.set_ylabel("replicas (all nodes)")
    ax2.set_xlabel("time (s)")
    ax2.legend(fontsize=7)
    _finish(plt, fig, ax1, path, title)


@literal_text
def plot_latency_cdf(runs: Sequence[Run], path: str | Path, title: str = "") -> None:
    """Empirical CDF of end-to-end latency (all flows pooled) per method; dashed lines at
    each flow's SLA."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7, 4.5))
    slas = set()
    for r in runs:
        lat = np.sort(np.concatenate([rec.latency_ms for rec in r.sim.flows.values()]))
        slas |= {rec.sla_ms for rec in r.sim.flows.values()}
        if len(lat):
            ax.plot(lat, np.arange(1, len(lat) + 1) / len(lat), lw=1.2, label=r.method)
    for s in sorted(slas):
        ax.axvline(s, ls="--", lw=0.8, color="grey")
    ax.set_xscale("log")
    ax.set_xlabel("end-to-end latency (ms)")
    ax.set_ylabel("fraction of requests")
    ax.legend(fontsize=8)
    _finish(plt, fig, ax, path, title)


def _finish(plt, fig, ax, path: str | Path, title: str) -> None:
    """Title (if any) on ``ax``, tight layout, PNG at 110 dpi, figure closed."""
    if title:
        ax.set_title(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
