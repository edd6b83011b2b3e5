"""The summary table: one row per method and suite, plus the run's environment.

Per (method, suite), over the suite's instances:

* **match %** = matches / *judged* instances, where judged = every instance of the suite
  except those on which the reference stopped on its time limit (the spec reports those
  apart). Nothing else leaves the denominator: where the reference errored, was stopped by
  the harness or failed the check there is no ground truth, and that instance is a miss
  for every method (the reference included) -- so a broken reference shows as a low match
  rate and in **ref errors**, never as 100% over a few instances. A method's own errors
  and timeouts are misses too;
* **mean / max gap %** over the method's checked decisions on instances solved ``optimal``
  by the reference (0 for matches);
* **formulation** = what the suite's answers solved (spec, Extensions): ``base``, or the
  extensions ``+``-joined (e.g. ``capacity+accuracy+switch``; several, comma-separated,
  when instances differ);
* **refused** = answers ``error`` because the method cannot honour an extension key of
  the instance (the spec's clean refusal: a miss, not a failure of the run);
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

SUMMARY_COLUMNS = ("method", "suite", "formulation", "instances", "judged", "proven", "ref_errors", "matches",
                   "match_pct",
                   "mean_gap_pct", "max_gap_pct", "infeasible_both", "infeasible_either",
                   "check_fail", "errors", "refused", "timeouts", "no_solution", "ref_time_limit", "lb_above_opt",
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
    ref_time_limit = int((g["ref_status"] == "time_limit").sum())
    judged = len(g) - ref_time_limit
    forms = sorted({str(f) for f, st in zip(g.get("formulation", []), g["status"])
                    if isinstance(f, str) and st != "refused"})
    return {
        "method": method, "suite": suite, "formulation": ",".join(forms) or "–",
        "instances": len(g), "judged": judged,
        "proven": n_proven, "ref_errors": judged - n_proven, "matches": n_match,
        "match_pct": 100.0 * n_match / judged if judged else float("nan"),
        "mean_gap_pct": 100.0 * gaps.mean() if len(gaps) else float("nan"),
        "max_gap_pct": 100.0 * gaps.max() if len(gaps) else float("nan"),
        "infeasible_both": int((agree == True).sum()),  # noqa: E712 -- object column
        "infeasible_either": int(agree.notna().sum()),
        "check_fail": int((~_truthy(g["verified"]) & ~g["status"].isin(["error", "timeout"])).sum()),
        "errors": int((g["status"] == "error").sum()),
        "refused": int((g["status"] == "refused").sum()),
        "timeouts": int((g["status"] == "timeout").sum()),
        "no_solution": int((g["status"] == "no_solution").sum()),
        "ref_time_limit": ref_time_limit,
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
    head = ["method", "suite", "formulation", "match %", "matches / judged", "mean gap %",
            "max gap %", "infeasible both / either", "check fail", "errors", "refused",
            "timeouts", "no solution",
            f"{reference} unproven (misses)", f"{reference} time limit (apart)", "lb > opt",
            "p50 ms", "p95 ms", "max ms", f"speed-up vs {reference}"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in summary.itertuples(index=False):
        cells = [f"`{r.method}`", r.suite, r.formulation, _fmt(r.match_pct),
                 f"{r.matches} / {r.judged}",
                 _fmt(r.mean_gap_pct, 2), _fmt(r.max_gap_pct, 2),
                 f"{r.infeasible_both} / {r.infeasible_either}", str(r.check_fail),
                 str(r.errors), str(r.refused), str(r.timeouts), str(r.no_solution), str(r.ref_errors),
                 str(r.ref_time_limit), str(r.lb_above_opt),
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


_CODE: dict[str, str] = {}


def code_revision() -> str:
    """Which code computes a row, for resuming only rows the same code computed: the commit,
    plus ``+dirty.<hash of the diff>`` when tracked files differ from it (so two different
    uncommitted states are told apart), or ``unknown`` outside a git checkout."""
    if "rev" in _CODE:
        return _CODE["rev"]
    import hashlib
    import subprocess
    from pathlib import Path

    rev = git_revision()
    if rev.endswith("+dirty"):
        try:
            diff = subprocess.run(["git", "diff", "HEAD", "--", "."], capture_output=True,
                                  cwd=Path(__file__).resolve().parents[2], timeout=30).stdout
        except (OSError, subprocess.SubprocessError):
            diff = b""
        rev = f"{rev}.{hashlib.sha1(diff).hexdigest()[:10]}" if diff else rev
    _CODE["rev"] = rev
    return rev


def environment() -> dict[str, Any]:
    """Versions and hardware the summary names."""
    return {
        "git": git_revision(), "code": code_revision(),
        "date": _dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "fa2opt": _version("fa2opt"),
        "pyomo": _version("pyomo"), "highspy": _version("highspy"),
        "numpy": _version("numpy"), "pandas": _version("pandas"),
        "cpu": cpu_model(), "cores": os.cpu_count(),
        "platform": platform.platform(),
    }


def failures(summary: pd.DataFrame, reference: str) -> list[str]:
    """Why a run cannot be trusted, one line each (empty when it can): any method that
    answered ``error`` or failed the independent check, and any instance the reference
    left without ground truth (error, harness timeout, failed check; its time limit is
    reported apart and is not a failure). The main job exits non-zero when this is not
    empty."""
    pooled = _pooled(summary)
    out = []
    for r in pooled.itertuples(index=False):
        if r.errors or r.check_fail:
            out.append(f"{r.method}: {r.errors} error answer(s), {r.check_fail} failed check(s) "
                       f"of {r.instances} instances")
    ref = pooled[pooled["method"] == reference]
    if not ref.empty and int(ref["ref_errors"].iloc[0]):
        r = ref.iloc[0]
        out.append(f"reference {reference}: no ground truth on {int(r.ref_errors)} of "
                   f"{int(r.judged)} judged instances (each counted as a miss for every method)")
    return out


def _pooled(summary: pd.DataFrame) -> pd.DataFrame:
    """One row per method: its ``all`` row where the run had several suites."""
    several = set(summary.loc[summary["suite"] == "all", "method"])
    keep = [(r.suite == "all") == (r.method in several) for r in summary.itertuples(index=False)]
    return summary[keep]


def errors_line(summary: pd.DataFrame) -> str:
    """Error answers per method over the whole run (0s included: 'none' is a result too)."""
    pooled = _pooled(summary)
    return ", ".join(f"`{r.method}` {int(r.errors)}" for r in pooled.itertuples(index=False))


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
        f"- resumed: {run.get('resumed', 'nothing (every row computed in this run)')}",
        f"- error answers per method: {errors_line(summary)}",
    ]
    failed = failures(summary, reference)
    lines += ([f"- **FAILED** (exit code 2): {'; '.join(failed)}"] if failed
              else ["- status: ok (no error answer, no failed check, ground truth on every "
                    "judged instance)"])
    lines += [
        "",
        markdown_table(summary, reference),
        "",
        f"Match % = matches / judged instances: every instance except those where `{reference}` "
        f"stopped on its time limit (reported apart, as the spec says). Errors, timeouts and "
        f"instances the reference left unproven count as misses. For comparison, the FA2 "
        f"paper reports {PAPER_MATCH_PCT}% of cases at the optimal cost.",
        "",
    ]
    return "\n".join(lines)
