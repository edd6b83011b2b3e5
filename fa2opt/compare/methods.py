"""Method specs for the comparison: a label per (method, options) and its parser.

A *method spec* names one registered method (``fa2opt.solver``) with fixed options, and a
*label* names it in tables and plots. Accepted forms (all case-sensitive):

    fa2, milp, brute-force, greedy, …     a registered method with its default options
    fa2-grid-5ms, fa2-grid-0.5ms          the grid DP with ``grid_ms`` = 5 (label shorthand)
    fa2-grid:grid_ms=5                    explicit options (``name:key=value,key=value``)
    milp:time_limit=30                    any option the method declares

The label of a spec is canonical: ``fa2-grid`` with a single ``grid_ms`` option is
``fa2-grid-<g>ms``; other options are written ``name:key=value,…`` in sorted key order;
no options is the bare name. So ``fa2-grid:grid_ms=5`` and ``fa2-grid-5ms`` are the
same column of the tables.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Iterable

from ..solver import available_methods, check_options, solver_class

DEFAULT_GRID_STEPS_MS = (10.0, 5.0, 2.0, 1.0)
BASELINES = ("slack-split", "greedy", "nexus", "fixed-batch")
_GRID_LABEL = re.compile(r"^fa2-grid-(\d+(?:\.\d+)?)ms$")


def _num_text(x: float) -> str:
    return f"{x:g}"


def _parse_value(text: str) -> Any:
    """Option values: int, then float, then true/false/none, else the string itself."""
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    low = text.lower()
    if low in ("true", "false"):
        return low == "true"
    if low in ("none", "null"):
        return None
    return text


@dataclass(frozen=True)
class MethodSpec:
    """One column of the comparison: a registered method name and its fixed options."""

    name: str
    options: tuple[tuple[str, Any], ...] = field(default=())

    @property
    def option_dict(self) -> dict[str, Any]:
        return dict(self.options)

    @property
    def label(self) -> str:
        opts = self.option_dict
        if self.name == "fa2-grid" and set(opts) == {"grid_ms"}:
            return f"fa2-grid-{_num_text(float(opts['grid_ms']))}ms"
        if not opts:
            return self.name
        return self.name + ":" + ",".join(f"{k}={v}" for k, v in sorted(opts.items()))

    @property
    def grid_ms(self) -> float | None:
        g = self.option_dict.get("grid_ms")
        return None if g is None else float(g)

    def with_options(self, **extra: Any) -> "MethodSpec":
        merged = {**self.option_dict, **extra}
        return MethodSpec(self.name, tuple(sorted(merged.items())))


def parse_method(text: str) -> MethodSpec:
    """Parse a label or ``name:key=value,…`` spec (ValueError with the reason if malformed)."""
    text = text.strip()
    if not text:
        raise ValueError("empty method name")
    m = _GRID_LABEL.match(text)
    if m:
        return MethodSpec("fa2-grid", (("grid_ms", float(m.group(1))),))
    name, sep, rest = text.partition(":")
    opts: dict[str, Any] = {}
    if sep:
        for part in filter(None, (p.strip() for p in rest.split(","))):
            key, eq, value = part.partition("=")
            if not eq or not key.strip():
                raise ValueError(f"method {text!r}: option {part!r} is not key=value")
            opts[key.strip()] = _parse_value(value.strip())
    if "grid_ms" in opts:
        opts["grid_ms"] = float(opts["grid_ms"])
    return MethodSpec(name.strip(), tuple(sorted(opts.items())))


def check_method(spec: MethodSpec) -> None:
    """Raise ValueError unless the method is registered, present and takes the options."""
    try:
        cls = solver_class(spec.name)
    except KeyError:
        raise ValueError(f"method {spec.name!r} is not available "
                         f"(available: {', '.join(available_methods())})") from None
    check_options(spec.name, spec.option_dict, cls.option_names())  # names, types, ranges


def parse_methods(texts: Iterable[str]) -> list[MethodSpec]:
    """Parse and check a list of specs, dropping duplicates (same label) in order."""
    out: list[MethodSpec] = []
    seen: set[str] = set()
    for t in texts:
        spec = parse_method(t)
        check_method(spec)
        if spec.label not in seen:
            seen.add(spec.label)
            out.append(spec)
    return out


def default_methods(grid_steps_ms: Iterable[float] = DEFAULT_GRID_STEPS_MS) -> list[MethodSpec]:
    """Every method present now: ``milp``, ``fa2``, ``fa2-grid`` at each grid step and the
    baselines (``brute-force`` only on request: it is exponential)."""
    present = set(available_methods())
    out: list[MethodSpec] = []
    for name in ("milp", "fa2"):
        if name in present:
            out.append(MethodSpec(name))
    if "fa2-grid" in present:
        out.extend(MethodSpec("fa2-grid", (("grid_ms", float(g)),)) for g in grid_steps_ms)
    out.extend(MethodSpec(b) for b in BASELINES if b in present)
    return out
