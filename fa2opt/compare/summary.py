"""The summary table: one row per method and suite, plus the run's environment.

Per (method, suite), over the suite's instances:

* **match %** = matches / instances the reference proved (``optimal`` or ``infeasible``);
* **mean / max gap %** over the method's checked decisions on instances solved ``optimal``
  by the reference (0 for matches);
* **timeouts** = runs stopped by the harness's per-method timeout (no answer: a miss);
* **infeasible** = instances where both say ``infeasible`` / instances where either does
  (on proven instances);
* **check fail** = answers that failed the independent check (:func:`fa2opt.verify.verify`,
  or an ``infeasible`` claim on a feasible instance); **errors**, **no solution**;
* **ref time limit** = instances where the reference stopped on its time limit: not ground
  truth, reported apart and counted neither as a match nor as a miss (spec);
* **lb > opt** = reported lower bounds above the proven optimum (must be 0);
* decision time p50 / p95 / max (ms) from ``solve_ms``; **speed-up** = median over
  instances of (reference time / method time) on the same instance (paired).

An ``all`` row per method pools the suites when there are several.
"""

from __future__ import annotations

import datetime as _dt
import os
import platform
from importlib import metadata
from typing import Any, Sequence

import numpy as np
import pandas as pd

SUMMARY_COLUMNS = ("method", "suite", "instances", "proven", "matches", "match_pct",
                   "mean_gap_pct", "max_gap_pct", "infeasible_both", "infeasible_either",
                   "check_fail", "errors", "timeouts", "no_solution", "ref_time_limit", "lb_above_opt",
                   "p50_ms", "p95_ms", "max_ms", "speedup_median")
PAPER_MATCH_PCT = 96.8  # FA2 (RTAS 2022): share of cases where FA2 found the optimal cost


def _truthy(s: pd.Series) -> pd.Series:
    return s.map(lambda x: x is True or (isinstance(x, str) and x.lower() == "true")
                 or (isinstance(x, (bool, np.bool_)) and bool(x)))


def _group_row(method: str, suite: str, g: pd.DataFrame) -> dict[str, Any]:
    proven = _truthy(g["proven"])
    match = _truthy(g["match"])
    gaps = pd.to_numeric(g["gap"], errors="coerce").dropna()
    times = pd.to_numeric(g["solve_ms"], errors="coerce").dropna()
    speed = pd.to_numeric(g["speedup"], errors="coerce").dropna()
    agree = g["infeasible_agree"].map(lambda x: None if x is None or (isinstance(x, float) and np.isnan(x))
                                      else (x is True or str(x).lower() == "true"))
    n_proven = int(proven.sum())
    n_match = int((match & proven).sum())
    return {
        "method": method, "suite": suite, "instances": len(g), "proven": n_proven,
        "matches": n_match,
        "match_pct": 100.0 * n_match / n_proven if n_proven else float("nan"),
        "mean_gap_pct": 100.0 * gaps.mean() if len(gaps) else float("nan"),
        "max_gap_pct": 100.0 * gaps.max() if len(gaps) else float("nan"),
        "infeasible_both": int((agree == True).sum()),  # noqa: E712 -- object column
        "infeasible_either": int(agree.notna().sum()),
        "check_fail": int((~_truthy(g["verified"]) & ~g["status"].isin(["error", "timeout"])).sum()),
        "errors": int((g["status"] == "error").sum()),
        "timeouts": int((g["status"] == "timeout").sum()),
        "no_solution": int((g["status"] == "no_solution").sum()),
        "ref_time_limit": int((g["ref_status"] == "time_limit").sum()),
        "lb_above_opt": int((g["lb_ok"].map(lambda x: x is False or str(x).lower() == "false")).sum()),
        "p50_ms": float(times.quantile(0.5)) if len(times) else float("nan"),
        "p95_ms": float(times.quantile(0.95)) if len(times) else float("nan"),
        "max_ms": float(times.max()) if len(times) else float("nan"),
        "speedup_median": float(speed.median()) if len(speed) else float("nan"),
    }


def summarize(table: pd.DataFrame, method_order: Sequence[str] = ()) -> pd.DataFrame:
    """The summary frame (columns :data:`SUMMARY_COLUMNS`), methods in ``method_order``."""
    methods = list(method_order) + sorted(set(table["method"]) - set(method_order))
    suites = sorted(set(table["suite"]))
    rows = []
    for m in methods:
        tm = table[table["method"] == m]
        if tm.empty:
            continue
        for s in suites:
            g = tm[tm["suite"] == s]
            if not g.empty:
                rows.append(_group_row(m, s, g))
        if len(suites) > 1:
            rows.append(_group_row(m, "all", tm))
    return pd.DataFrame(rows, columns=list(SUMMARY_COLUMNS))


def _fmt(x: Any, digits: int = 1) -> str:
    if x is None or (isinstance(x, float) and np.isnan(x)):
        return "–"
    if isinstance(x, float):
        return f"{x:.{digits}f}"
    return str(x)


def _ms(x: float) -> str:
    if isinstance(x, float) and np.isnan(x):
        return "–"
    return f"{x:.3g}" if x < 100 else f"{x:.0f}"


def markdown_table(summary: pd.DataFrame, reference: str) -> str:
    """The summary as a Markdown table: method first, then suite, then match rate in %."""
    head = ["method", "suite", "match %", "matches / proven", "mean gap %", "max gap %",
            "infeasible both / either", "check fail", "errors", "timeouts", "no solution",
            f"{reference} time limit", "lb > opt", "p50 ms", "p95 ms", "max ms",
            f"speed-up vs {reference}"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in summary.itertuples(index=False):
        cells = [f"`{r.method}`", r.suite, _fmt(r.match_pct), f"{r.matches} / {r.proven}",
                 _fmt(r.mean_gap_pct, 2), _fmt(r.max_gap_pct, 2),
                 f"{r.infeasible_both} / {r.infeasible_either}", str(r.check_fail),
                 str(r.errors), str(r.timeouts), str(r.no_solution), str(r.ref_time_limit), str(r.lb_above_opt),
                 _ms(r.p50_ms), _ms(r.p95_ms), _ms(r.max_ms),
                 "–" if np.isnan(r.speedup_median) else f"{r.speedup_median:.3g}×"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "not installed"


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def git_revision() -> str:
    """The working tree's commit (with ``+dirty`` when tracked files changed), if any."""
    import subprocess
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    try:
        rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root, text=True,
                             capture_output=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               cwd=root, text=True, capture_output=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return (rev + ("+dirty" if dirty else "")) if rev else "unknown"


def environment() -> dict[str, Any]:
    """Versions and hardware the summary names."""
    return {
        "git": git_revision(),
        "date": _dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "fa2opt": _version("fa2opt"),
        "pyomo": _version("pyomo"), "highspy": _version("highspy"),
        "numpy": _version("numpy"), "pandas": _version("pandas"),
        "cpu": cpu_model(), "cores": os.cpu_count(),
        "platform": platform.platform(),
    }


def markdown_report(summary: pd.DataFrame, env: dict[str, Any], run: dict[str, Any]) -> str:
    """summary.md: the environment, the run's settings and the summary table."""
    reference = run.get("reference", "milp")
    lines = [
        "# fa2opt compare: summary",
        "",
        f"- date: {env['date']}",
        f"- machine: {env['cpu']}, {env['cores']} cores ({env['platform']})",
        f"- versions: Python {env['python']}, fa2opt {env['fa2opt']} (git {env.get('git', '?')}), "
        f"Pyomo {env['pyomo']}, "
        f"HiGHS (highspy) {env['highspy']}, numpy {env['numpy']}, pandas {env['pandas']}",
        f"- reference (ground truth): `{reference}`; suites: {', '.join(run.get('suites', []))}; "
        f"seed {run.get('seed')}; workers {run.get('workers')}"
        + (f"; scheduler {run['scheduler']}" if run.get("scheduler") else ""),
        f"- command: `{run.get('command', '')}`",
        "",
        markdown_table(summary, reference),
        "",
        f"Match % = matches / instances with a proven reference answer. For comparison, the "
        f"FA2 paper reports {PAPER_MATCH_PCT}% of cases at the optimal cost.",
        "",
    ]
    return "\n".join(lines)
