"""The comparison's plots (matplotlib, Agg backend, PNG)."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

from ..plotting import literal_text, pyplot
from .methods import parse_method
from .summary import PAPER_MATCH_PCT

PLOT_FILES = ("match_rate_vs_grid.png", "decision_time_by_method.png",
              "decision_time_vs_size.png")


@literal_text  # legend labels and the title come from the caller's data
def finish_panels(fig, axes, used: int, title: str, path, *, dpi: int, legend: dict,
                  title_size: float, rect: tuple | None = None) -> None:
    """Finish a grid of panels: the panels past the first ``used`` hidden, one figure legend
    from the first panel's lines (``legend``: matplotlib's legend options), the title, the
    layout (within ``rect`` when given), the PNG at ``path`` written and the figure closed."""
    for ax in list(axes.flat)[used:]:
        ax.axis("off")
    handles, labels = axes.flat[0].get_legend_handles_labels()
    fig.legend(handles, labels, **legend)
    fig.suptitle(title, fontsize=title_size)
    fig.tight_layout(**({} if rect is None else {"rect": rect}))
    fig.savefig(path, dpi=dpi)
    pyplot().close(fig)


def _grid_ms(label: str) -> float | None:
    try:
        spec = parse_method(label)
    except ValueError:
        return None
    return spec.grid_ms if spec.name == "fa2-grid" and len(spec.options) == 1 else None


@literal_text  # suite names (a suite folder's name) are user data
def plot_match_vs_grid(summary: pd.DataFrame, path: Path) -> bool:
    """Match rate of ``fa2-grid`` versus grid step, one line per suite; exact ``fa2`` and
    the paper's 96.8% as references. False (no file) when no grid method ran."""
    grid = summary.assign(grid_ms=summary["method"].map(_grid_ms)).dropna(subset=["grid_ms"])
    if grid.empty:
        return False
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    for i, (suite, g) in enumerate(grid.groupby("suite", sort=True)):
        g = g.sort_values("grid_ms")
        line, = ax.plot(g["grid_ms"], g["match_pct"], marker="o", label=f"fa2-grid, {suite}")
        exact = summary[(summary["method"] == "fa2") & (summary["suite"] == suite)]
        if not exact.empty:
            ax.axhline(float(exact["match_pct"].iloc[0]), color=line.get_color(), ls=":",
                       lw=1, label=f"fa2 (exact), {suite}")
    ax.axhline(PAPER_MATCH_PCT, color="grey", ls="--", lw=1, label=f"FA2 paper ({PAPER_MATCH_PCT}%)")
    ax.set_xscale("log")
    steps = sorted(grid["grid_ms"].unique())
    ax.set_xticks(steps, [f"{s:g}" for s in steps])
    ax.invert_xaxis()
    ax.set_xlabel("grid step Δ (ms, finer →)")
    ax.set_ylabel("match rate vs optimum (%)")
    ax.set_ylim(0, 102)
    ax.legend(fontsize=7, loc="lower left")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return True


@literal_text  # method labels
def plot_time_by_method(table: pd.DataFrame, methods: Sequence[str], path: Path) -> bool:
    """Distribution of decision time per method (box plot, log scale)."""
    data, labels = [], []
    for m in methods:
        t = pd.to_numeric(table.loc[table["method"] == m, "solve_ms"], errors="coerce").dropna()
        t = t[t > 0]
        if len(t):
            data.append(t.to_numpy())
            labels.append(m)
    if not data:
        return False
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(max(6.4, 0.8 * len(labels)), 4.2))
    ax.boxplot(data, whis=(5, 95), showfliers=True, flierprops={"markersize": 2})
    ax.set_xticks(range(1, len(labels) + 1), labels, rotation=30, ha="right")
    ax.set_yscale("log")
    ax.set_ylabel("decision time solve_ms (ms, log)")
    ax.set_title("Decision time per method (box: quartiles, whiskers: p5–p95)", fontsize=9)
    ax.grid(alpha=0.3, axis="y")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return True


@literal_text
def plot_time_vs_size(table: pd.DataFrame, methods: Sequence[str], path: Path) -> bool:
    """Decision time versus graph size: per method the median (line) over instances with
    the same node count (left) and over log-spaced bins of Σ_v K_v, the available
    configurations (right); every instance as a faint dot."""
    t = table.assign(solve_ms=pd.to_numeric(table["solve_ms"], errors="coerce"))
    t = t[t["solve_ms"] > 0]
    if t.empty:
        return False
    plt = pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.4), sharey=True)
    rng = np.random.default_rng(0)  # jitter only spreads overlapping dots
    configs = t["configs"].astype(float)
    edges = np.unique(np.geomspace(max(1.0, configs.min()), configs.max() * 1.001, 9))
    for m in methods:
        g = t[t["method"] == m]
        if g.empty:
            continue
        by_nodes = g.groupby("nodes")["solve_ms"].median()
        line, = axes[0].plot(by_nodes.index, by_nodes.values, marker="o", ms=3, label=m)
        c = line.get_color()
        axes[0].scatter(g["nodes"] + rng.uniform(-0.2, 0.2, len(g)), g["solve_ms"], s=3,
                        alpha=0.15, color=c)
        bins = pd.cut(g["configs"].astype(float), edges, include_lowest=True)
        by_cfg = g.groupby(bins, observed=True)["solve_ms"].median()
        mids = [np.sqrt(iv.left * iv.right) if iv.left > 0 else iv.right for iv in by_cfg.index]
        axes[1].plot(mids, by_cfg.values, marker="o", ms=3, color=c, label=m)
        axes[1].scatter(g["configs"], g["solve_ms"], s=3, alpha=0.15, color=c)
    axes[0].set_xlabel("graph size (nodes)")
    axes[1].set_xlabel("configurations Σ_v K_v (available rows)")
    axes[1].set_xscale("log")
    axes[0].set_ylabel("decision time solve_ms (ms, log); lines: medians")
    for ax in axes:
        ax.set_yscale("log")
        ax.grid(alpha=0.3)
    axes[1].legend(fontsize=7, ncol=2)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def make_plots(table: pd.DataFrame, summary: pd.DataFrame, methods: Sequence[str],
               out: Path) -> list[Path]:
    """Write every plot that has data; returns the files written."""
    written = []
    for name, ok in (
        (PLOT_FILES[0], lambda p: plot_match_vs_grid(summary, p)),
        (PLOT_FILES[1], lambda p: plot_time_by_method(table, methods, p)),
        (PLOT_FILES[2], lambda p: plot_time_vs_size(table, methods, p)),
    ):
        path = out / name
        if ok(path):
            written.append(path)
    return written
