"""Reading instance files (JSON or YAML, profiles inline or as CSV) with strict validation.

Every problem with the input raises :class:`InputError`, whose text names the file, the
field and the reason in one line; the CLI prints it and exits with code 2.
"""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path
from typing import Any, Mapping

import yaml

from . import queueing
from .model import MAIN_FLOW, QUEUEING_DEFAULT, Config, Edge, Flow, Instance, Node

PROFILE_COLUMNS = ("batch", "hardware", "units", "latency_ms")
KNOWN_KEYS = {"name", "sla_ms", "rate_rps", "queueing", "max_utilization", "prices", "nodes",
              "edges", "flows"}


class InputError(ValueError):
    """Bad input: ``file: field: reason``."""

    def __init__(self, file: str, field: str, reason: str):
        self.file, self.field, self.reason = str(file), field, reason
        super().__init__(f"{self.file}: {field}: {reason}" if field else f"{self.file}: {reason}")


# -- scalar checks -------------------------------------------------------------------------
class _Checker:
    """Field checks bound to one file, so every error names it."""

    def __init__(self, file: str):
        self.file = file

    def fail(self, field: str, reason: str) -> InputError:
        return InputError(self.file, field, reason)

    def number(self, value: Any, field: str, *, positive: bool = False,
               nonneg: bool = False) -> float:
        if value is None:
            raise self.fail(field, "missing")
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            raise self.fail(field, f"not a number ({value!r})")
        try:
            x = float(value)
        except ValueError:
            raise self.fail(field, f"not a number ({value!r})") from None
        if not math.isfinite(x):
            raise self.fail(field, f"must be finite (got {value!r})")
        if positive and x <= 0:
            raise self.fail(field, f"must be > 0 (got {value!r})")
        if nonneg and x < 0:
            raise self.fail(field, f"must be >= 0 (got {value!r})")
        return x

    def positive_int(self, value: Any, field: str) -> int:
        x = self.number(value, field)
        if not float(x).is_integer() or x < 1:
            raise self.fail(field, f"must be a positive integer (got {value!r})")
        return int(x)

    def name(self, value: Any, field: str) -> str:
        if not isinstance(value, str) or not value.strip():
            raise self.fail(field, f"must be a non-empty string (got {value!r})")
        return value

    def mapping(self, value: Any, field: str) -> Mapping[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(field, f"must be an object (got {type(value).__name__})")
        return value

    def sequence(self, value: Any, field: str, *, nonempty: bool = True) -> list[Any]:
        if not isinstance(value, list):
            raise self.fail(field, f"must be a list (got {type(value).__name__})")
        if nonempty and not value:
            raise self.fail(field, "must not be empty")
        return value


# -- files ---------------------------------------------------------------------------------
def read_document(path: str | Path) -> dict[str, Any]:
    """Parse a JSON or YAML file into a dict (raising InputError for anything else)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(str(path), "", "file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(str(path), "", f"cannot read file ({exc.__class__.__name__})") from None
    if path.suffix.lower() in (".yaml", ".yml"):
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f" at line {mark.line + 1}" if mark is not None else ""
            raise InputError(str(path), "", f"malformed YAML{where}") from None
    else:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InputError(str(path), "", f"malformed JSON: {exc.msg} at line {exc.lineno}") from None
    if not isinstance(data, dict):
        raise InputError(str(path), "", f"not an object (top level is {type(data).__name__})")
    return data


def load_instance(path: str | Path) -> Instance:
    path = Path(path)
    return instance_from_dict(read_document(path), source=str(path), base_dir=path.parent,
                              default_name=path.stem)


def read_profile_csv(path: Path, shown: str) -> list[dict[str, Any]]:
    """Rows of a profile CSV as dicts of strings (empty cells dropped)."""
    try:
        with open(path, newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh)
            header = [h.strip() for h in (reader.fieldnames or [])]
            missing = [c for c in PROFILE_COLUMNS if c not in header]
            if missing:
                raise InputError(shown, missing[0], "missing column")
            reader.fieldnames = header
            rows = []
            for i, row in enumerate(reader, start=2):
                cleaned = {k: v.strip() for k, v in row.items()
                           if k is not None and v is not None and v.strip() != ""}
                cleaned["_line"] = i
                rows.append(cleaned)
            return rows
    except FileNotFoundError:
        raise InputError(shown, "", "profile file not found") from None
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise InputError(shown, "", f"cannot read profile ({exc})") from None


# -- the instance ----------------------------------------------------------------------------
def _config(chk: _Checker, row: Mapping[str, Any], where: str, sep: str = ".") -> Config:
    """One profile row; a field is named ``{where}{sep}{column}``."""
    chk.mapping(row, where)
    variant = row.get("variant")
    if variant is not None and not isinstance(variant, str):
        variant = str(variant)
    accuracy = row.get("accuracy")
    return Config(
        batch=chk.positive_int(row.get("batch"), f"{where}{sep}batch"),
        hardware=chk.name(row.get("hardware"), f"{where}{sep}hardware"),
        units=chk.number(row.get("units"), f"{where}{sep}units", positive=True),
        latency_ms=chk.number(row.get("latency_ms"), f"{where}{sep}latency_ms", positive=True),
        variant=variant,
        accuracy=None if accuracy is None else chk.number(accuracy, f"{where}{sep}accuracy"),
    )


def _node(chk: _Checker, raw: Any, i: int, base_dir: Path) -> Node:
    where = f"nodes[{i}]"
    chk.mapping(raw, where)
    name = chk.name(raw.get("name"), f"{where}.name")
    where = f"nodes[{name}]"
    has_profile, has_configs = "profile" in raw, "configs" in raw
    if has_profile == has_configs:
        raise chk.fail(where, "needs exactly one of 'profile' (CSV path) or 'configs' (rows)")
    if has_profile:
        rel = chk.name(raw["profile"], f"{where}.profile")
        csv_path = base_dir / rel
        rows_raw = read_profile_csv(csv_path, str(csv_path))
        csv_chk = _Checker(str(csv_path))
        configs = [_config(csv_chk, r, f"line {r['_line']}", ", column ") for r in rows_raw]
        empty_where, owner = "", csv_chk
    else:
        rows_raw = chk.sequence(raw["configs"], f"{where}.configs", nonempty=False)
        configs = [_config(chk, r, f"{where}.configs[{j}]") for j, r in enumerate(rows_raw)]
        empty_where, owner = f"{where}.configs", chk
    if not configs:
        raise owner.fail(empty_where, "empty profile (no configuration rows)")
    seen: dict[tuple, int] = {}
    for j, c in enumerate(configs):
        if c.identity in seen:
            b, h, u, var = c.identity
            raise owner.fail(empty_where, f"rows {seen[c.identity]} and {j} have the same "
                             f"identity (batch={b}, hardware={h}, units={u:g}, variant={var})")
        seen[c.identity] = j
    mult = raw.get("multiplier", 1.0)
    return Node(
        name=name, configs=tuple(configs),
        multiplier=chk.number(mult, f"{where}.multiplier", positive=True),
        max_replicas=None if raw.get("max_replicas") is None
        else chk.positive_int(raw["max_replicas"], f"{where}.max_replicas"),
        max_batch=None if raw.get("max_batch") is None
        else chk.positive_int(raw["max_batch"], f"{where}.max_batch"),
    )


def instance_from_dict(data: Mapping[str, Any], *, source: str = "<memory>",
                       base_dir: Path | str = ".", default_name: str = "instance") -> Instance:
    """Validate a parsed instance document and build an :class:`Instance`."""
    chk = _Checker(source)
    base_dir = Path(base_dir)
    chk.mapping(data, "")

    q = data.get("queueing", QUEUEING_DEFAULT)
    if q not in queueing.names():
        raise chk.fail("queueing", f"unknown queueing model {q!r} (known: {', '.join(queueing.names())})")
    rho = chk.number(data.get("max_utilization", 1.0), "max_utilization")
    if not 0 < rho <= 1:
        raise chk.fail("max_utilization", f"must be in (0, 1] (got {rho:g})")
    prices = {str(h): chk.number(p, f"prices.{h}", nonneg=True)
              for h, p in chk.mapping(data.get("prices", {}), "prices").items()}

    nodes = [_node(chk, raw, i, base_dir)
             for i, raw in enumerate(chk.sequence(data.get("nodes"), "nodes"))]
    names = [n.name for n in nodes]
    dup = sorted({v for v in names if names.count(v) > 1})
    if dup:
        raise chk.fail("nodes", f"duplicate node name {dup[0]!r}")
    known = set(names)

    edges: list[Edge] = []
    seen_edges: set[tuple[str, str]] = set()
    for i, raw in enumerate(chk.sequence(data.get("edges", []), "edges", nonempty=False)):
        where = f"edges[{i}]"
        if not isinstance(raw, list) or len(raw) not in (2, 3):
            raise chk.fail(where, "must be [from, to] or [from, to, latency_ms]")
        src, dst = raw[0], raw[1]
        for end in (src, dst):
            if not isinstance(end, str) or end not in known:
                raise chk.fail(where, f"unknown node {end!r}")
        if src == dst:
            raise chk.fail(where, f"self-loop on {src!r}")
        if (src, dst) in seen_edges:
            raise chk.fail(where, f"duplicate edge {src!r} -> {dst!r}")
        seen_edges.add((src, dst))
        d = chk.number(raw[2], f"{where}.latency_ms", nonneg=True) if len(raw) == 3 else 0.0
        edges.append(Edge(src, dst, d))

    flows: list[Flow] = []
    if "flows" in data:
        for i, raw in enumerate(chk.sequence(data["flows"], "flows")):
            where = f"flows[{i}]"
            chk.mapping(raw, where)
            fname = chk.name(raw.get("name"), f"{where}.name")
            where = f"flows[{fname}]"
            members = chk.sequence(raw.get("nodes"), f"{where}.nodes")
            for v in members:
                if not isinstance(v, str) or v not in known:
                    raise chk.fail(f"{where}.nodes", f"unknown node {v!r}")
            if len(set(members)) != len(members):
                raise chk.fail(f"{where}.nodes", "lists a node twice")
            flows.append(Flow(fname, chk.number(raw.get("rate_rps"), f"{where}.rate_rps", positive=True),
                              chk.number(raw.get("sla_ms"), f"{where}.sla_ms", positive=True),
                              tuple(members)))
        fnames = [f.name for f in flows]
        dup = sorted({f for f in fnames if fnames.count(f) > 1})
        if dup:
            raise chk.fail("flows", f"duplicate flow name {dup[0]!r}")
    else:
        flows.append(Flow(MAIN_FLOW,
                          chk.number(data.get("rate_rps"), "rate_rps", positive=True),
                          chk.number(data.get("sla_ms"), "sla_ms", positive=True),
                          tuple(names)))
    covered = {v for f in flows for v in f.nodes}
    orphans = [v for v in names if v not in covered]
    if orphans:
        raise chk.fail(f"nodes[{orphans[0]}]", "belongs to no flow")

    cycle = _find_cycle(names, edges)
    if cycle:
        raise chk.fail("edges", "cycle " + " -> ".join(cycle))

    name = data.get("name", default_name)
    inst = Instance(
        name=str(name), nodes=tuple(nodes), edges=tuple(edges), flows=tuple(flows),
        prices=prices, queueing=q, max_utilization=rho,
        extra={k: v for k, v in data.items() if k not in KNOWN_KEYS}, source=source,
    )
    from .extensions import validate  # extension keys (issue 14); lazy: they import io
    validate(inst)
    return inst


def _find_cycle(names: list[str], edges: list[Edge]) -> list[str] | None:
    """A directed cycle as a node list (first node repeated at the end), or None."""
    succ: dict[str, list[str]] = {v: [] for v in names}
    for e in edges:
        succ[e.src].append(e.dst)
    color = {v: 0 for v in names}  # 0 new, 1 on stack, 2 done
    for root in names:
        if color[root]:
            continue
        stack = [(root, iter(succ[root]))]
        path = [root]
        color[root] = 1
        while stack:
            v, it = stack[-1]
            w = next(it, None)
            if w is None:
                stack.pop()
                path.pop()
                color[v] = 2
            elif color[w] == 1:
                return path[path.index(w):] + [w]
            elif color[w] == 0:
                color[w] = 1
                stack.append((w, iter(succ[w])))
                path.append(w)
    return None


# -- writing ---------------------------------------------------------------------------------
def instance_to_dict(inst: Instance) -> dict[str, Any]:
    """The instance as a spec document with inline ``configs`` (round-trips through
    :func:`instance_from_dict`)."""

    def row(c: Config) -> dict[str, Any]:
        out: dict[str, Any] = {"batch": c.batch, "hardware": c.hardware,
                               "units": int(c.units) if float(c.units).is_integer() else c.units,
                               "latency_ms": c.latency_ms}
        if c.variant is not None:
            out["variant"] = c.variant
        if c.accuracy is not None:
            out["accuracy"] = c.accuracy
        return out

    nodes = []
    for n in inst.nodes:
        d: dict[str, Any] = {"name": n.name, "multiplier": n.multiplier,
                             "configs": [row(c) for c in n.configs]}
        if n.max_replicas is not None:
            d["max_replicas"] = n.max_replicas
        if n.max_batch is not None:
            d["max_batch"] = n.max_batch
        nodes.append(d)
    doc: dict[str, Any] = {"name": inst.name, **inst.extra, "queueing": inst.queueing,
                           "max_utilization": inst.max_utilization, "prices": dict(inst.prices),
                           "flows": [{"name": f.name, "rate_rps": f.rate_rps, "sla_ms": f.sla_ms,
                                      "nodes": list(f.nodes)} for f in inst.flows],
                           "nodes": nodes,
                           "edges": [[e.src, e.dst, e.latency_ms] for e in inst.edges]}
    return doc


def dump_instance(inst: Instance, path: str | Path) -> None:
    Path(path).write_text(json.dumps(instance_to_dict(inst), indent=1) + "\n", encoding="utf-8")
