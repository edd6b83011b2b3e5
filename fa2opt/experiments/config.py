"""Experiment configs: one YAML file per experiment under ``experiments/``, validated here.

A config names its ``kind`` (which runner reads it) and the knobs of that kind; a
``profiles`` block holds overrides for shorter versions (``quick``: minutes; ``smoke``: the
seconds-long variant the default tests run). Validation fills defaults and rejects anything
else with :class:`~fa2opt.io.InputError` naming the file, the field and the reason, so a
typo never silently runs the wrong experiment. The validated config is plain data (a dict):
its canonical JSON is what ``run.json``'s config hash covers.
"""

from __future__ import annotations

import copy
import hashlib
import json
import math
import re
from pathlib import Path
from typing import Any, Callable, Mapping

import yaml

from ..compare.runner import MAX_WORKERS
from ..io import InputError

REPO = Path(__file__).resolve().parents[2]
PIPELINES_DIR = REPO / "datasets" / "pipelines"
TRACES_DIR = REPO / "datasets" / "traces"
KINDS = ("savings-grid", "equal-violations", "tightest-match", "setup-table", "script")
PROFILES = ("quick", "smoke")
WINDOWS = ("bursty", "fluctuating", "steady_high", "steady_low")

Check = Callable[[Any, str], Any]


class _Fields:
    """Field checks bound to one config file (every error names it)."""

    def __init__(self, file: str):
        self.file = file

    def fail(self, field: str, reason: str) -> InputError:
        return InputError(self.file, field, reason)

    def number(self, value: Any, field: str, lo: float | None = None, hi: float | None = None,
               lo_open: bool = False) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise self.fail(field, f"not a finite number ({value!r})")
        x = float(value)
        if lo is not None and (x < lo or (lo_open and x == lo)):
            raise self.fail(field, f"must be {'>' if lo_open else '>='} {lo:g} (got {value!r})")
        if hi is not None and x > hi:
            raise self.fail(field, f"must be <= {hi:g} (got {value!r})")
        return x

    def integer(self, value: Any, field: str, lo: int = 0, hi: int | None = None) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or value < lo:
            raise self.fail(field, f"must be an integer >= {lo} (got {value!r})")
        if hi is not None and value > hi:
            raise self.fail(field, f"must be an integer in [{lo}, {hi}] (got {value!r})")
        return int(value)

    def text(self, value: Any, field: str, choices: tuple[str, ...] | None = None) -> str:
        if not isinstance(value, str) or not value:
            raise self.fail(field, f"must be a non-empty string (got {value!r})")
        if choices is not None and value not in choices:
            raise self.fail(field, f"must be one of {', '.join(choices)} (got {value!r})")
        return value

    def items(self, value: Any, field: str, check: Check) -> list[Any]:
        if not isinstance(value, list) or not value:
            raise self.fail(field, f"must be a non-empty list (got {value!r})")
        return [check(v, f"{field}[{i}]") for i, v in enumerate(value)]

    def mapping(self, value: Any, field: str, known: tuple[str, ...] | None = None) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(field, f"must be a mapping (got {type(value).__name__})")
        if known is not None:
            extra = sorted(set(value) - set(known))
            if extra:
                raise self.fail(f"{field}.{extra[0]}" if field else extra[0],
                                f"unknown key (known: {', '.join(known)})")
        return value


def _methods(f: _Fields, value: Any, field: str) -> list[str]:
    from . import available  # late: the registry (with this package's methods)

    known = available()
    return f.items(value, field, lambda v, p: v if f.text(v, p) in known else _raise(
        f.fail(p, f"unknown method {v!r} (available: {', '.join(sorted(known))})")))


def _raise(exc: Exception) -> Any:
    raise exc


def _pipeline(f: _Fields, value: Any, field: str) -> str:
    name = f.text(value, field)
    if not (PIPELINES_DIR / f"{name}.json").is_file():
        raise f.fail(field, f"no pipeline {name!r} in datasets/pipelines")
    return name


def _name(f: _Fields, value: Any, field: str) -> str:
    """The experiment's name is its output folder's: letters, digits, ``-``, ``_``, ``.``."""
    name = f.text(value, field)
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", name):
        raise f.fail(field, f"must be letters, digits, '-', '_' or '.' (got {value!r})")
    return name


def _instance_source(f: _Fields, value: Any, field: str) -> str:
    path = REPO / f.text(value, field)
    if not path.exists():
        raise f.fail(field, f"no such file or folder {value!r} (paths are relative to the repository)")
    return str(value)


def _config_path(f: _Fields, value: Any, field: str) -> str:
    path = REPO / f.text(value, field)
    if not path.is_file():
        raise f.fail(field, f"no such config {value!r} (paths are relative to the repository)")
    return str(value)


# -- per kind: field -> (checker, default); a default of ... means required -----------------------
def _schema(kind: str, f: _Fields) -> dict[str, tuple[Check, Any]]:
    pos = lambda v, p: f.number(v, p, 0.0, lo_open=True)  # noqa: E731
    rho = lambda v, p: f.number(v, p, 0.0, 1.0, lo_open=True)  # noqa: E731
    common: dict[str, tuple[Check, Any]] = {
        "name": (lambda v, p: _name(f, v, p), ...),
        "kind": (lambda v, p: f.text(v, p, KINDS), ...),
        "description": (lambda v, p: f.text(v, p), ""),
        "seeds": (lambda v, p: f.items(v, p, lambda x, q: f.integer(x, q, 0)), [0]),
        "workers": (lambda v, p: f.integer(v, p, 1, MAX_WORKERS), None),
        "profiles": (lambda v, p: f.mapping(v, p, PROFILES), {}),
    }
    if kind == "savings-grid":
        common.update({
            "pipelines": (lambda v, p: f.items(v, p, lambda x, q: _pipeline(f, x, q)), ...),
            "methods": (lambda v, p: _methods(f, v, p), ["fa2", "slack-split", "greedy", "nexus", "fixed-batch"]),
            "reference": (lambda v, p: _methods(f, [v], p)[0], "fa2"),
            "sla_k": (lambda v, p: f.items(v, p, pos), ...),
            "load": (lambda v, p: {c: f.items(x, f"{p}.{c}", pos)
                                   for c, x in f.mapping(v, p, ("cpu", "gpu")).items()}, ...),
            "rho": (lambda v, p: f.items(v, p, rho), [1.0]),
        })
    elif kind == "equal-violations":
        common.update({
            "pipelines": (lambda v, p: f.items(v, p, lambda x, q: _pipeline(f, x, q)), ...),
            "methods": (lambda v, p: _methods(f, v, p), ["fa2", "slack-split", "greedy", "nexus", "fixed-batch"]),
            "reference": (lambda v, p: _methods(f, [v], p)[0], "fa2"),
            "traces": (lambda v, p: f.items(v, p, lambda x, q: f.text(x, q, WINDOWS)), ["bursty"]),
            "column": (lambda v, p: f.text(v, p, ("rps_raw", "rps")), "rps_raw"),
            "seconds": (lambda v, p: f.integer(v, p, 20), 1200),
            "rho": (lambda v, p: f.items(v, p, rho), [1.0]),
            "headroom": (lambda v, p: f.items(v, p, lambda x, q: f.number(x, q, 0.0)), [0.0]),
            "violation_levels": (lambda v, p: f.items(v, p, lambda x, q: f.number(x, q, 0.0, 100.0, lo_open=True)), [1.0, 5.0]),
            "sla_k": (lambda v, p: f.number(v, p, 1.0), None),
            "simulator": (lambda v, p: _simulator(f, v, p), {}),
        })
    elif kind == "tightest-match":
        common.update({
            "instances": (lambda v, p: f.items(v, p, lambda x, q: _instance_source(f, x, q)), ...),
            "shared_only": (lambda v, p: v if isinstance(v, bool) else _raise(f.fail(p, "must be true or false")), True),
            "limit": (lambda v, p: f.integer(v, p, 1), None),
            "sla_k": (lambda v, p: f.items(v, p, pos), ...),
            "load": (lambda v, p: f.items(v, p, pos), [1.0]),
            "grid_ms": (lambda v, p: f.items(v, p, pos), []),
            "grid_rel": (lambda v, p: f.items(v, p, lambda x, q: f.number(x, q, 0.0, 1.0, lo_open=True)), []),
            "milp_check_every": (lambda v, p: f.integer(v, p, 0), 0),
        })
    elif kind == "setup-table":
        common.update({
            "experiments": (lambda v, p: f.items(v, p, lambda x, q: _config_path(f, x, q)), ...),
        })
    elif kind == "script":
        from .script import ENTRIES

        common.update({
            "entry": (lambda v, p: f.text(v, p, tuple(ENTRIES)), ...),
            "runs": (lambda v, p: _runs(f, v, p), ...),
            "workers_arg": (lambda v, p: f.text(v, p), None),
        })
    return common


def _runs(f: _Fields, value: Any, field: str) -> list[dict[str, Any]]:
    """A script config's runs: each a ``name`` (its sub-folder) and ``args`` (strings;
    numbers are taken as written), names unique."""
    def one(v: Any, p: str) -> dict[str, Any]:
        item = f.mapping(v, p, ("name", "args"))
        args = item.get("args", [])
        if not isinstance(args, list):
            raise f.fail(f"{p}.args", f"must be a list (got {args!r})")
        for j, a in enumerate(args):
            if isinstance(a, bool) or not isinstance(a, (str, int, float)):
                raise f.fail(f"{p}.args[{j}]", f"must be a string or number (got {a!r})")
        return {"name": _name(f, item.get("name"), f"{p}.name"), "args": [str(a) for a in args]}

    runs = f.items(value, field, one)
    names = [r["name"] for r in runs]
    if len(set(names)) != len(names):
        raise f.fail(field, f"run names must be unique (got {', '.join(names)})")
    return runs


SIMULATOR_DEFAULTS: dict[str, Any] = {
    "interval_s": 10, "startup_s": 5.0, "predictor": "max", "window_s": None,
    "arrivals": "poisson", "service": "mean", "jitter": 0.1, "warmup_s": 0.0, "options": {},
}


def _simulator(f: _Fields, value: Any, field: str) -> dict[str, Any]:
    """The simulator's settings; ``options`` passes further keyword options to
    :func:`fa2opt.simulate.evaluate` (e.g. the dispatch or service options as the simulator
    gains them), checked against its signature so an unsupported one fails here."""
    import inspect

    from ..simulate import evaluate
    from ..simulate.arrivals import ARRIVAL_MODES
    from ..simulate.predictors import PREDICTORS
    from ..simulate.service import SERVICE_KINDS

    raw = f.mapping(value, field, tuple(SIMULATOR_DEFAULTS))
    out = {**copy.deepcopy(SIMULATOR_DEFAULTS), **raw}
    out["interval_s"] = f.integer(out["interval_s"], f"{field}.interval_s", 1)
    out["startup_s"] = f.number(out["startup_s"], f"{field}.startup_s", 0.0)
    if out["startup_s"] >= out["interval_s"]:
        raise f.fail(f"{field}.startup_s", "must be below the adaptation interval")
    out["predictor"] = f.text(out["predictor"], f"{field}.predictor", tuple(PREDICTORS))
    if out["window_s"] is not None:
        out["window_s"] = f.integer(out["window_s"], f"{field}.window_s", 1)
    out["arrivals"] = f.text(out["arrivals"], f"{field}.arrivals", tuple(ARRIVAL_MODES))
    out["service"] = f.text(out["service"], f"{field}.service", tuple(k for k in SERVICE_KINDS if k != "range"))
    out["jitter"] = f.number(out["jitter"], f"{field}.jitter", 0.0, 0.99)
    out["warmup_s"] = f.number(out["warmup_s"], f"{field}.warmup_s", 0.0)
    opts = f.mapping(out["options"], f"{field}.options")
    accepted = set(inspect.signature(evaluate).parameters)
    for k in opts:
        if k not in accepted:
            raise f.fail(f"{field}.options.{k}", "not an option of this simulator's evaluate()")
    return out


def _merge(base: dict[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    """``base`` with ``over``'s keys replacing its own (mappings merged key by key)."""
    out = copy.deepcopy(base)
    for k, v in over.items():
        out[k] = _merge(out[k], v) if isinstance(v, Mapping) and isinstance(out.get(k), dict) else copy.deepcopy(v)
    return out


def load_config(path: str | Path, profile: str | None = None, *,
                check_points: bool = True) -> dict[str, Any]:
    """Read and validate an experiment config; ``profile`` (``quick``/``smoke``) applies that
    block's overrides first. Returns the resolved config (plain data, defaults filled).
    ``check_points=False`` skips checking values against every point of the experiment
    (tightest-match's grid steps: seconds on the full suite), for a reader of the fields
    only (the setup table)."""
    path = Path(path)
    f = _Fields(str(path))
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InputError(str(path), "", f"cannot read ({exc.strerror or exc})") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else "yaml"
        raise InputError(str(path), where, "not valid YAML") from None
    raw = f.mapping(raw, "")
    kind = f.text(raw.get("kind"), "kind", KINDS) if "kind" in raw else _raise(f.fail("kind", "missing"))
    schema = _schema(kind, f)
    f.mapping(raw, "", tuple(schema))
    profiles = schema["profiles"][0](raw.get("profiles", {}), "profiles")
    if profile is not None:
        if profile not in PROFILES:
            raise InputError(str(path), "profiles", f"unknown profile {profile!r}")
        if profile not in profiles:
            raise f.fail(f"profiles.{profile}", "missing (this experiment has no such version)")
        over = f.mapping(profiles[profile], f"profiles.{profile}", tuple(k for k in schema if k not in ("kind", "profiles")))
        raw = _merge(raw, over)
    out: dict[str, Any] = {}
    for key, (check, default) in schema.items():
        if key in raw and raw[key] is not None:
            out[key] = check(raw[key], key)
        elif default is ...:
            raise f.fail(key, "missing")
        else:
            out[key] = copy.deepcopy(default) if not callable(default) else default
    if kind == "equal-violations" and not raw.get("simulator"):
        out["simulator"] = _simulator(f, {}, "simulator")
    if kind == "tightest-match" and not (out["grid_ms"] or out["grid_rel"]):
        raise f.fail("grid_ms", "missing (give grid_ms and/or grid_rel)")
    if kind == "tightest-match" and check_points:  # a step the grid refuses: errors after the run
        from .match import refused_step

        if (refused := refused_step(out)) is not None:
            raise f.fail(*refused)
    if kind == "equal-violations":  # a window of the traces: past their end the run
        # simulated only the trace (1,200 s) while summary.md said 'first {seconds} s'
        from ..simulate import load_trace

        length = min(len(load_trace(TRACES_DIR / f"twitter_{w}.csv", out["column"]).rates)
                     for w in out["traces"])
        if out["seconds"] > length:
            raise f.fail("seconds", f"must be at most the traces' {length} s "
                                    f"(got {out['seconds']})")
    if "reference" in out and out["reference"] not in out["methods"]:
        raise f.fail("reference", f"{out['reference']!r} is not among the methods")
    if "reference" in out and not set(out["methods"]) - {out["reference"]}:
        # the savings compare each other method with the reference: with none, the run
        # failed after its work (a KeyError drawing the empty heatmaps)
        raise f.fail("methods", f"must name a method besides the reference "
                                f"{out['reference']!r} (got {', '.join(out['methods'])})")
    out["profile"] = profile or "full"
    from .common import rel_path

    out["config_path"] = rel_path(path)
    return out


def config_hash(config: Mapping[str, Any]) -> str:
    """sha256 of the resolved config's canonical JSON (what ran, not how the file spells it)."""
    body = {k: v for k, v in config.items() if k not in ("config_path",)}
    return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()
