"""Reading instance files (JSON or YAML, profiles inline or as CSV) with strict validation.

Every problem with the input raises :class:`InputError`, whose text names the file, the
field and the reason in one short line (user data is quoted through :func:`quote`, at most
~80 characters); the CLI prints it and exits with code 2. Hostile files are refused before
they cost memory or time: only regular files of at most MAX_FILE_BYTES, nesting at most
MAX_DEPTH levels (checked without recursion), YAML aliases adding at most MAX_ALIAS_NODES
nodes, numbers of the JSON/YAML types only (strings are not numbers) and inside the
representable range of :mod:`fa2opt.spec`.
"""

from __future__ import annotations

import csv
import hashlib
import io as _io
import json
import math
import os
import re
import reprlib
import stat
from functools import partial
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Mapping, Sequence, TypeVar, Union

import numpy as np
import yaml

from . import queueing, spec
from .model import MAIN_FLOW, QUEUEING_DEFAULT, Config, Edge, Flow, Instance, Node
from .extensions import INSTANCE_KEYS, extension_keys
from .tables import ProfileArrays, evaluate, evaluate_all

PROFILE_COLUMNS = ("batch", "hardware", "units", "latency_ms")
KNOWN_KEYS = {"name", "sla_ms", "rate_rps", "queueing", "max_utilization", "prices", "nodes",
              "edges", "flows"}
MAX_FILE_BYTES = 64 * 2**20  # an instance or profile file larger than this is refused
MAX_DEPTH = 100  # lists/objects nested deeper than this are refused (real instances need < 10)
MAX_ALIAS_NODES = 10_000  # YAML aliases may add at most this many nodes by expansion
MAX_JSON_VALUES = 5_000_000  # a JSON file of more values is refused (~1 GB once parsed)
MAX_YAML_EVENTS = 1_000_000  # a YAML file of more nodes is refused (PyYAML builds ~100k/s)
MAX_NUMBER_DIGITS = 300  # longer integer literals are out of every range (and slow to parse)
QUOTE_CHARS = 80  # at most this many characters of user data in a message
CYCLE_SHOWN = 6  # a cycle message names this many nodes, then the cycle's length
EMPTY_CELL = "the cell is empty"  # why a CSV cell has no value (read_csv_rows drops empty cells)


def message(file: str, field: str, reason: str) -> str:
    """``file: field: reason`` (``file: reason`` without a field): how input errors and
    warnings name what they are about."""
    return f"{file}: {field}: {reason}" if field else f"{file}: {reason}"


class InputError(ValueError):
    """Bad input: ``file: field: reason``."""

    def __init__(self, file: str, field: str, reason: str):
        self.file, self.field, self.reason = str(file), field, reason
        super().__init__(message(self.file, field, reason))


class InputErrors(InputError):
    """Several input errors reported together (e.g. every bad file of a suite folder):
    ``errors`` holds them, its text is theirs one per line (the CLI prints each as its own
    line; a caller printing ``str()`` drops none). Made by :func:`check_each`."""

    def __init__(self, errors: Sequence[InputError]):
        super().__init__(errors[0].file, errors[0].field, errors[0].reason)
        self.errors = tuple(errors)
        self.args = ("\n".join(map(str, self.errors)),)


_T = TypeVar("_T")
_R = TypeVar("_R")


def check_each(items: Iterable[_T], read: Callable[[_T], _R]) -> list[_R]:
    """``read(item)`` for every item, its InputErrors collected rather than stopping at the
    first: raised after the last item, one as it is and several as :class:`InputErrors`
    (one error each, nested ones flattened)."""
    out: list[_R] = []
    errors: list[InputError] = []
    for item in items:
        try:
            out.append(read(item))
        except InputError as exc:
            errors.extend(exc.errors if isinstance(exc, InputErrors) else (exc,))
    if len(errors) == 1:
        raise errors[0]
    if errors:
        raise InputErrors(errors)
    return out


_REPR = reprlib.Repr()
_REPR.maxstring = _REPR.maxother = _REPR.maxlong = QUOTE_CHARS
_REPR.maxlist = _REPR.maxtuple = _REPR.maxdict = _REPR.maxset = 6
_REPR.maxlevel = 3


def quote(value: Any) -> str:
    """A repr of user data of at most QUOTE_CHARS characters (a million-item list or a
    megabyte name must not become a megabyte message)."""
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 256:
        return f"<integer of about {int(value.bit_length() * 0.30103)} digits>"
    try:
        text = _REPR.repr(value)
    except (ValueError, RecursionError):  # e.g. ints too long for str() deep inside
        text = f"<{type(value).__name__}>"
    return text if len(text) <= QUOTE_CHARS else text[:QUOTE_CHARS - 3] + "..."


def label(name: str, width: int = 40) -> str:
    """A user-given name as it appears inside a field (``nodes[NAME]``): cut to ``width``
    chars, escaped when it holds a newline or other non-printable character (one line)."""
    text = name if name.isprintable() else repr(name[:2 * width])[1:-1]
    return text if len(text) <= width else text[:width - 3] + "..."


def text_float(text: str) -> float:
    """A number written in a CSV cell, as ``float`` reads it except what no other CSV
    reader takes: digit-group underscores (``1_0``) and digits other than ASCII ones
    (``١٢``, ``１``). ValueError otherwise."""
    if "_" in text or not text.isascii():
        raise ValueError(text)
    return float(text)


class _HugeNumber:
    """An integer literal too long to convert (Python refuses > 4300 digits, and any beyond
    MAX_NUMBER_DIGITS lies outside every range): kept as its length, rejected by the checks."""

    def __init__(self, text: str):
        self.digits = len(text.lstrip("+-").lstrip("0"))
        self.reason = f"out of range (an integer of {self.digits} digits)"

    def __repr__(self) -> str:
        return f"<integer of {self.digits} digits>"


def _huge_int(text: str) -> _HugeNumber | None:
    """An integer literal (JSON's, YAML's or a CSV cell's) as a :class:`_HugeNumber` when it
    has more than MAX_NUMBER_DIGITS significant digits (a CSV's ``000…040`` is 40), else None."""
    if len(text) <= MAX_NUMBER_DIGITS:  # (every number of a file: no object made)
        return None
    huge = _HugeNumber(text)
    return huge if huge.digits > MAX_NUMBER_DIGITS else None


_INTEGER_TEXT = re.compile(r"[+-]?[0-9]+")  # a CSV cell holding an integer literal


def huge_cell(text: str) -> str | None:
    """Why a CSV cell is refused when it holds an integer literal of more than
    MAX_NUMBER_DIGITS significant digits (as JSON's is: "out of range (an integer of N
    digits)", where converting it gives inf or Python refuses), else None. The length is
    tested first: no regex on an ordinary cell."""
    huge = (_huge_int(text) if len(text) > MAX_NUMBER_DIGITS and _INTEGER_TEXT.fullmatch(text)
            else None)
    return None if huge is None else huge.reason


class _PastDoubles(float):
    """A number literal past the double range, as a double (inf, or 0.0 for a nonzero
    literal below the least subnormal) that keeps the literal, so a message quotes what the
    file says (``1e400``) rather than ``inf``."""

    def __new__(cls, text: str, value: float) -> "_PastDoubles":
        self = super().__new__(cls, value)
        self.text = text if len(text) <= 24 else text[:21] + "..."
        return self

    def __repr__(self) -> str:
        return f"{self.text}, {float.__repr__(self)} as a double"

    def __getnewargs__(self) -> tuple[str, float]:  # (pickle: __new__ takes the literal too)
        return self.text, float(self)


def _float_literal(text: str) -> float:
    """A JSON/YAML number literal (digits, not ``.inf``) as ``float`` reads it, kept as
    :class:`_PastDoubles` where the double range changes it (overflow to inf, a nonzero
    literal underflowing to 0). Every float of a file passes here: the common case costs
    one ``float`` and two comparisons."""
    x = float(text)
    if math.isinf(x) or (x == 0 and any(c in "123456789"
                                        for c in re.split("[eE]", text, maxsplit=1)[0])):
        return _PastDoubles(text, x)
    return x


# -- scalar checks -------------------------------------------------------------------------
_MAX_INT = 2**1000  # an integer beyond is out of every range (and float() of it overflows)
Field = Union[str, Callable[[], str]]  # a field's name, or what makes it (only for a message)


class _Checker:
    """Field checks bound to one file, so every error names it. ``text_numbers``: the file is
    a CSV, whose cells are text by nature, so numbers come as strings there (and only there)."""

    def __init__(self, file: str, *, text_numbers: bool = False):
        self.file = file
        self.text_numbers = text_numbers

    def fail(self, field: Field, reason: str) -> InputError:
        return InputError(self.file, field if isinstance(field, str) else field(), reason)

    def number(self, value: Any, field: Field, *, positive: bool = False, nonneg: bool = False,
               within: tuple[float, float] | None = None, zero_ok: bool = False) -> float:
        """A finite number (JSON/YAML number; text only in a CSV), optionally > 0, >= 0, and
        in ``within`` (or exactly 0 with ``zero_ok``)."""
        t = type(value)  # (a plain double first: every number of a 64,000-row file)
        if t is float or (t is int and -_MAX_INT <= value <= _MAX_INT):
            x = float(value)
        elif value is None:
            raise self.fail(field, f"must be a number ({EMPTY_CELL})" if self.text_numbers
                            else "missing")
        elif (huge := value.reason if isinstance(value, _HugeNumber) else huge_cell(value)
              if isinstance(value, str) and self.text_numbers else None) is not None:
            raise self.fail(field, huge)  # (a CSV's as JSON reads it: out of range, not inf)
        elif isinstance(value, str) and self.text_numbers:
            try:
                x = text_float(value)
            except ValueError:
                raise self.fail(field, f"not a number (got {quote(value)})") from None
        elif isinstance(value, bool) or not isinstance(value, (int, float)):
            # (quoted "5", or YAML text such as 5ms or 0o17, which YAML 1.1 reads as text)
            hint = "; write it as a plain decimal number" if isinstance(value, str) else ""
            raise self.fail(field, f"not a number (got {quote(value)}{hint})")
        elif isinstance(value, int) and abs(value) > _MAX_INT:
            raise self.fail(field, f"out of range (got {quote(value)})")
        else:
            x = float(value)
        if not math.isfinite(x):
            raise self.fail(field, f"must be finite (got {quote(value)})")
        if positive and x <= 0:
            raise self.fail(field, f"must be > 0 (got {quote(value)})")
        if nonneg and x < 0:
            raise self.fail(field, f"must be >= 0 (got {quote(value)})")
        if within is not None and not (within[0] <= x <= within[1] or (zero_ok and x == 0)):
            zero = "0 or " if zero_ok and within[0] > 0 else ""  # ("0 or in [0, ..]": once)
            raise self.fail(field, f"out of range: must be {zero}in [{within[0]:g}, {within[1]:g}] "
                            f"(got {quote(value) if isinstance(value, _PastDoubles) else repr(x)})")
        return x

    def positive_int(self, value: Any, field: Field,
                     within: tuple[float, float] = spec.MAX_REPLICAS_RANGE) -> int:
        """An integer in ``within`` (its lower end 1: a positive integer; 0: >= 0)."""
        x: float | int = self.number(value, field)
        # compare an integer literal itself: float() rounds 2^53 + 1 into the range
        if isinstance(value, int) and not isinstance(value, bool):
            x = value
        elif isinstance(value, str) and value.strip().lstrip("+-").isdigit():
            x = int(value)
        if not float(x).is_integer() or x < within[0]:
            kind = "a positive integer" if within[0] >= 1 else f"an integer >= {within[0]:g}"
            raise self.fail(field, f"must be {kind} (got {quote(value)})")
        if not within[0] <= x <= within[1]:
            raise self.fail(field, f"out of range: must be an integer in [{within[0]:g}, "
                            f"{within[1]:g}] (got {quote(x)})")
        return int(x)

    def name(self, value: Any, field: Field) -> str:
        if not isinstance(value, str) or not value.strip():
            what = "a string with a character other than whitespace" if isinstance(value, str) \
                and value else "a non-empty string"
            got = EMPTY_CELL if value is None and self.text_numbers else f"got {quote(value)}"
            raise self.fail(field, f"must be {what} ({got})")
        try:  # JSON's \ud800 escapes decode to lone surrogates, which no UTF-8 output
            value.encode("utf-8")  # (a terminal, a CSV, a parquet table) can write
        except UnicodeEncodeError:
            raise self.fail(field, f"not valid Unicode text (a lone surrogate; got "
                                   f"{quote(value)})") from None
        return value

    def mapping(self, value: Any, field: str) -> Mapping[str, Any]:
        if value is None:  # absent, or JSON null
            raise self.fail(field, "missing or null")
        if not isinstance(value, dict):
            raise self.fail(field, f"must be an object (got {type(value).__name__})")
        return value

    def sequence(self, value: Any, field: str, *, nonempty: bool = True) -> list[Any]:
        if value is None:
            raise self.fail(field, "missing or null")
        if not isinstance(value, list):
            raise self.fail(field, f"must be a list (got {type(value).__name__})")
        if nonempty and not value:
            raise self.fail(field, "must not be empty")
        return value


# -- files ---------------------------------------------------------------------------------
def input_path(path: str | Path, field: str = "",
               reason: str = "empty path (expected a file name)") -> Path:
    """``path`` as a Path, refusing an empty string (which Path reads as ".", so a message
    would name the current folder rather than what was given); ``field`` names the option
    for an output path. A Path passes through unchanged (so a chain of readers
    checks the string once, where it enters)."""
    if isinstance(path, str) and not path:
        raise InputError("''", field, reason)
    return Path(path)


def read_text(path: str | Path, shown: str | None = None, what: str = "file",
              limit: int = MAX_FILE_BYTES) -> str:
    """A regular file's text (UTF-8, a leading BOM dropped), refusing directories, devices,
    pipes (opened without blocking) and anything over ``limit`` bytes before reading it whole."""
    path = input_path(path)
    shown = str(path) if shown is None else shown
    try:
        # O_NONBLOCK: opening a named pipe must not wait for a writer (it would hang); on a
        # regular file the flag changes nothing
        try:
            fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        except ValueError as exc:  # a NUL byte, a lone surrogate: no path the OS can take
            raise InputError(shown, "", f"cannot read {what} (invalid path: "
                                        f"{exc.__class__.__name__})") from None
        with open(fd, "rb") as fh:
            mode = os.fstat(fh.fileno()).st_mode
            if not stat.S_ISREG(mode):
                kind = "a directory" if stat.S_ISDIR(mode) else "not a regular file"
                raise InputError(shown, "", f"is {kind} (expected a {what})")
            data = fh.read(limit + 1)
    except FileNotFoundError:
        raise InputError(shown, "", f"{what} not found") from None
    except IsADirectoryError:
        raise InputError(shown, "", f"is a directory (expected a {what})") from None
    except OSError as exc:
        # the OS's reason (File name too long, Permission denied), else the exception's name
        raise InputError(shown, "", f"cannot read {what} "
                                    f"({exc.strerror or exc.__class__.__name__})") from None
    if len(data) > limit:
        raise InputError(shown, "", f"larger than {limit // 2**20} MiB")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(shown, "", f"not UTF-8 text (byte {exc.start})") from None


def output_file(path: str | Path, option: str = "--out") -> Path:
    """An output file path that can be written: not a directory, its folder exists (a clean
    input error before any work, rather than IsADirectoryError after it), where this
    process may create and write files (a read-only file system, /sys, is refused)."""
    path = input_path(path, option, "empty path")
    if path.is_dir():
        raise InputError(str(path), option, "is a directory (expected a file name)")
    if not path.parent.is_dir():
        raise InputError(str(path), option, f"{path.parent} is not a folder"
                         if path.parent.exists() else "folder does not exist")
    if not os.access(path.parent, os.W_OK | os.X_OK) or (path.exists()
                                                        and not os.access(path, os.W_OK)):
        raise InputError(str(path), option, "cannot be written here (permission or a "
                                            "read-only file system)")
    return path


def output_dir(path: str | Path, option: str = "--out") -> Path:
    """An output folder path: absent (it will be made) or an existing directory."""
    path = input_path(path, option, "empty path")
    if path.exists() and not path.is_dir():
        raise InputError(str(path), option, "exists and is not a directory")
    if not path.exists():
        # made and taken away again, so a folder that cannot be made (under a file, /proc,
        # /sys) is refused before the work rather than as a traceback after it
        made = [p for p in (path, *path.parents) if not p.exists()]
        try:
            path.mkdir(parents=True)
        except OSError as exc:
            raise InputError(str(path), option, f"cannot be made ({exc.strerror or exc})") from None
        for p in made:  # deepest first
            p.rmdir()
    return path


# what a stem derived from a user-given name may hold: no separator, no NUL, nothing a
# shell or another system reads specially
_FILE_STEM_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")
# the suffix a changed name gets; a name already ending so is changed too, so a kept name
# never equals a changed one
_FILE_STEM_HASHED = re.compile(r"-[0-9a-f]{10}\Z")
FILE_STEM_MAX = 80  # characters, hash included: well inside any file-name limit


def file_stem(name: str) -> str:
    """``name`` (user data: an instance's name) made safe as the start of an output file
    name, so the file lands inside its folder whatever the name holds (``../x``, ``/tmp/x``,
    a NUL, 300 characters): characters other than ``A-Za-z0-9._-`` become ``_``, leading
    dots and dashes go (no hidden file, nothing a shell takes for an option), and the
    result is cut to :data:`FILE_STEM_MAX` characters. A name so changed ends in ``-`` and
    10 hex digits of its SHA-256, so two names never share a stem; a name that needs no
    change is kept as it is."""
    safe = _FILE_STEM_UNSAFE.sub("_", name).lstrip(".-")
    if safe == name and name and len(name) <= FILE_STEM_MAX and not _FILE_STEM_HASHED.search(name):
        return name
    # surrogatepass: a JSON string may hold a lone surrogate, which UTF-8 refuses
    digest = hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()[:10]
    return f"{safe[:FILE_STEM_MAX - 11] or 'name'}-{digest}"


_JSON_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"')


def json_shape(text: str) -> tuple[int, int]:
    """(nesting depth, about how many values) of JSON text -- brackets and commas outside
    strings -- without recursion and in linear time: the parser recurses per level and
    builds every value, so it must not see a deep file or tens of millions of values."""
    raw = np.frombuffer(_JSON_STRING.sub('""', text).encode("utf-8", "replace"), dtype=np.uint8)
    opens = (raw == ord("[")) | (raw == ord("{"))
    step = opens.astype(np.int32) - ((raw == ord("]")) | (raw == ord("}"))).astype(np.int32)
    depth = int(np.cumsum(step).max()) if step.size else 0
    return depth, int(opens.sum()) + int((raw == ord(",")).sum())


class _Duplicated(dict):
    """An object in which the JSON text names ``key`` twice (the parser's hook builds
    objects bottom-up and cannot know where they sit; :func:`_duplicate_path` finds it)."""

    key: str = ""


def _json_pairs(found: list[int]) -> Any:
    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        out: dict[str, Any] = dict(items)
        if len(out) == len(items):
            return out
        marked = _Duplicated(out)
        seen: set[str] = set()
        for key, _ in items:
            if key in seen:
                marked.key = key
                break
            seen.add(key)
        found.append(1)
        return marked
    return pairs


def _duplicate_path(data: Any) -> str:
    """The field path (``prices.gpu``, ``nodes[1].configs[0].batch``) of the first duplicated
    key, found top-down without recursion."""
    stack: list[tuple[Any, str]] = [(data, "")]
    while stack:
        node, path = stack.pop()
        if isinstance(node, _Duplicated):
            return f"{path}.{label(node.key)}" if path else label(node.key)
        if isinstance(node, dict):
            stack.extend((v, f"{path}.{label(str(k))}" if path else label(str(k)))
                         for k, v in reversed(list(node.items())))
        elif isinstance(node, list):
            stack.extend((v, f"{path}[{i}]") for i, v in reversed(list(enumerate(node))))
    return "?"


def _json_int(text: str) -> int | _HugeNumber:
    return _huge_int(text) or int(text)


_YAML_BASE: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when present


def _yaml_events(text: str, shown: str) -> Iterator[Any]:
    """``yaml.parse``'s events, streamed. libyaml ≥ 0.2.5 (PyYAML 6.0.4's wheels) stops at
    its own nesting limit of 1,000 before the deep events reach :func:`_check_yaml_events`:
    that is deeper than MAX_DEPTH, so it is refused as such, not as malformed YAML."""
    try:
        yield from yaml.parse(text, Loader=_YAML_BASE)
    except yaml.YAMLError as exc:
        if "maximum nesting depth" not in str(exc):
            raise
        mark = getattr(exc, "problem_mark", None)
        raise InputError(shown, f"line {mark.line + 1}" if mark else "",
                         f"nested deeper than {MAX_DEPTH} levels") from None


def _check_yaml_events(text: str, shown: str) -> None:
    """Refuse, in one iterative pass over the event stream (before the composer, which
    recurses per level, builds anything): more than MAX_YAML_EVENTS events, nesting beyond
    MAX_DEPTH, alias expansion beyond MAX_ALIAS_NODES nodes, recursive aliases."""
    opened: list[list[Any]] = [[0, None]]  # per open collection: [nodes, anchor]
    sizes: dict[str, int] = {}  # anchor -> nodes its expansion holds
    alias_nodes = 0

    def refuse(event: Any, reason: str) -> InputError:
        mark = event.start_mark
        return InputError(shown, f"line {mark.line + 1}" if mark else "", reason)

    for count, event in enumerate(_yaml_events(text, shown)):
        if count > MAX_YAML_EVENTS:
            raise refuse(event, f"more than {MAX_YAML_EVENTS} YAML nodes")
        if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
            if len(opened) > MAX_DEPTH:
                raise refuse(event, f"nested deeper than {MAX_DEPTH} levels")
            opened.append([1, event.anchor])
        elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
            size, anchor = opened.pop()
            if anchor is not None:
                sizes[anchor] = size
            opened[-1][0] += size
        elif isinstance(event, yaml.ScalarEvent):
            if event.anchor is not None:
                sizes[event.anchor] = 1
            opened[-1][0] += 1
        elif isinstance(event, yaml.AliasEvent):
            if any(a == event.anchor for _, a in opened):
                raise refuse(event, f"recursive alias *{label(str(event.anchor))}")
            size = sizes.get(event.anchor, 1)
            alias_nodes += size
            if alias_nodes > MAX_ALIAS_NODES:
                raise refuse(event, f"aliases expand to more than {MAX_ALIAS_NODES} nodes")
            opened[-1][0] += size


class _YamlLoader(_YAML_BASE):  # type: ignore[misc, valid-type]
    """The safe loader with strict mappings (a key named twice is an error) and integer
    literals too long to be a number in range kept as :class:`_HugeNumber`. Run only on
    text that :func:`_check_yaml_events` accepted."""

    def __init__(self, text: str, shown: str):
        super().__init__(text)
        self.shown = shown

    def construct_mapping(self, node: Any, deep: bool = False) -> dict[Any, Any]:
        if isinstance(node, yaml.MappingNode):
            seen: set[str] = set()
            for key, _ in node.value:
                if isinstance(key, yaml.ScalarNode) and key.tag != "tag:yaml.org,2002:merge":
                    if key.value in seen:
                        raise InputError(self.shown, label(str(key.value)),
                                         f"duplicate key (line {key.start_mark.line + 1})")
                    seen.add(key.value)
        return super().construct_mapping(node, deep=deep)

    def construct_yaml_int(self, node: Any) -> int | _HugeNumber:
        text = str(node.value).replace("_", "")
        huge = _huge_int(text)
        if huge is not None:
            return huge
        value = super().construct_yaml_int(node)
        self._refuse_ambiguous(node, text, value)
        return value

    def _refuse_ambiguous(self, node: Any, text: str, value: Any) -> None:
        """Refuse a number YAML 1.1 (PyYAML) and YAML 1.2 read differently: ``sla_ms: 0500``
        is octal 320 to the first and 500 to the second, ``8:20`` (base 60) and ``0b101``
        are numbers only to the first -- a silent misread either way. (0x1F, 1e3: alike.)"""
        digits = text.lstrip("+-")
        if ":" in digits or digits[:2].lower() == "0b":
            other = "text"
        elif (len(digits) > 1 and digits[0] == "0" and digits.isdigit()
              and int(digits) != abs(value)):
            other = f"{quote(int(text))} (decimal)"
        else:
            return
        raise InputError(self.shown, f"line {node.start_mark.line + 1}",
                         f"ambiguous number {quote(str(node.value))}: YAML 1.1 reads it as "
                         f"{quote(value)}, YAML 1.2 as {other}; write it in decimal")


    def construct_yaml_float(self, node: Any) -> float:
        x = super().construct_yaml_float(node)
        text = str(node.value).replace("_", "")
        self._refuse_ambiguous(node, text, x)  # (a base-60 float: 1:30.5)
        past = (math.isinf(x) or x == 0) and "inf" not in text.lower()  # (not .inf itself)
        return _float_literal(text) if past else x


_YamlLoader.add_constructor("tag:yaml.org,2002:int", _YamlLoader.construct_yaml_int)
_YamlLoader.add_constructor("tag:yaml.org,2002:float", _YamlLoader.construct_yaml_float)
# YAML 1.2 reads ``1e9`` as a number; PyYAML's 1.1 rules read it as the string "1e9", which
# the strict types would then refuse (numbers are written as numbers, not as strings)
_YamlLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?[0-9][0-9_]*(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"), list("-+0123456789"))


def _yaml_reason(exc: yaml.YAMLError) -> str:
    """PyYAML's reason for refusing a file as one short line ("" where it gives none)."""
    problem = str(getattr(exc, "problem", None) or "")
    if problem == "but found another document":  # (its context: "expected a single document")
        return "more than one document"
    return label(problem, QUOTE_CHARS)


def _load_yaml(text: str, shown: str) -> Any:
    loader = None
    try:
        _check_yaml_events(text, shown)
        loader = _YamlLoader(text, shown)
        return loader.get_single_data()
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        reason = _yaml_reason(exc)
        where += f": {reason}" if reason else ""
        raise InputError(shown, "", f"malformed YAML{where}") from None
    except (ValueError, TypeError) as exc:  # a constructor refusing a value (e.g. a bad date)
        if isinstance(exc, InputError):
            raise
        raise InputError(shown, "", f"malformed YAML ({quote(str(exc))})") from None
    finally:
        if loader is not None:
            loader.dispose()


def read_document(path: str | Path) -> dict[str, Any]:
    """Parse a JSON or YAML file into a dict (raising InputError for anything else)."""
    path = input_path(path)
    shown = str(path)
    text = read_text(path)
    if path.suffix.lower() in (".yaml", ".yml"):
        data = _load_yaml(text, shown)
    else:
        depth, values = json_shape(text)
        if depth > MAX_DEPTH:
            raise InputError(shown, "", f"nested deeper than {MAX_DEPTH} levels")
        if values > MAX_JSON_VALUES:
            raise InputError(shown, "", f"more than {MAX_JSON_VALUES} JSON values")
        found: list[int] = []
        try:
            data = json.loads(text, object_pairs_hook=_json_pairs(found), parse_int=_json_int,
                              parse_float=_float_literal)
        except json.JSONDecodeError as exc:
            raise InputError(shown, "", f"malformed JSON: {exc.msg} at line {exc.lineno}") from None
        except RecursionError:  # json_shape should have caught it; never a traceback
            raise InputError(shown, "", f"nested deeper than {MAX_DEPTH} levels") from None
        if found:
            raise InputError(shown, _duplicate_path(data), "duplicate key (an object names it twice)")
    if not isinstance(data, dict):
        raise InputError(shown, "", f"not an object (top level is {type(data).__name__})")
    return data


def load_instance(path: str | Path, extensions: bool = True,
                  warn: Callable[[str], None] | None = None) -> Instance:
    """The instance in ``path`` (:func:`instance_from_dict`, which calls ``warn`` for keys it
    ignores); ``extensions`` False: without its extension keys (``--formulation base``)."""
    path = input_path(path)
    return instance_from_dict(read_document(path), source=str(path), base_dir=path.parent,
                              default_name=path.stem, extensions=extensions, warn=warn)


def read_csv_rows(path: str | Path, shown: str, what: str,
                  columns: Sequence[str]) -> list[dict[str, Any]]:
    """Rows of a CSV file as dicts of stripped strings (empty cells dropped, a row of empty
    cells skipped like a blank line; ``_line``: the row's last physical line), read by
    :func:`read_text`. InputError naming the file (and
    column or line) for a missing one of ``columns``, a column named twice (DictReader would
    keep the later cell without a word), a row with more cells than the header (an unquoted
    comma: refused rather than dropped) or a quote left open or followed by text. Profiles
    and rate traces are read through it."""
    text = read_text(path, shown, f"{what} file")
    try:
        # strict: an unclosed quote (the rest of the file one cell) or text after a closing
        # quote ("cpu"x read as cpux) is an error, not a silent misreading
        reader = csv.DictReader(_io.StringIO(text, newline=""), strict=True)
        header = [h.strip() for h in (reader.fieldnames or [])]
        missing = [c for c in columns if c not in header]
        if missing:
            raise InputError(shown, missing[0], "missing column")
        twice = _first_duplicate([h for h in header if h])
        if twice is not None:
            raise InputError(shown, label(twice), "column named twice in the header")
        reader.fieldnames = header
        rows = []
        for row in reader:
            i = reader.line_num  # (blank lines and quoted newlines counted)
            if any(str(x).strip() for x in row.get(None) or ()):  # type: ignore[call-overload]
                raise InputError(shown, f"line {i}", f"more cells than columns "
                                                     f"({len(header)} in the header)")
            cleaned = {k: v.strip() for k, v in row.items()
                       if isinstance(k, str) and isinstance(v, str) and v.strip() != ""}
            if not cleaned:  # every cell empty (",,," of a spreadsheet, a line of spaces):
                continue     # no row, as a blank line is none
            cleaned["_line"] = i
            rows.append(cleaned)
        return rows
    except csv.Error as exc:
        # (line_num counts the lines of the records read whole: the bad one starts after)
        raise InputError(shown, f"line {reader.line_num + 1}",
                         f"cannot read {what} ({exc})") from None


def csv_field(line: int, column: str) -> str:
    """A CSV cell's field in a message, ``line 3: rps`` (InputError adds ``: reason``): how
    profiles and traces name their cells."""
    return f"line {line}: {column}"


def read_profile_csv(path: Path, shown: str) -> list[dict[str, Any]]:
    """Rows of a profile CSV as dicts of strings (empty cells dropped; :func:`read_csv_rows`)."""
    return read_csv_rows(path, shown, "profile", PROFILE_COLUMNS)


# -- the instance ----------------------------------------------------------------------------
def _config(chk: _Checker, row: Mapping[str, Any], cell: Callable[[str], str]) -> Config:
    """One profile row; ``cell(column)`` names its field in a message (made only for one:
    formatting five names a row was a fifth of loading 64,000 rows)."""
    variant = row.get("variant")
    if variant is not None:
        variant = chk.name(variant, partial(cell, "variant"))
    accuracy = row.get("accuracy")
    return Config(
        batch=chk.positive_int(row.get("batch"), partial(cell, "batch"), spec.BATCH_RANGE),
        hardware=chk.name(row.get("hardware"), partial(cell, "hardware")),
        units=chk.number(row.get("units"), partial(cell, "units"), positive=True,
                         within=spec.UNITS_RANGE),
        latency_ms=chk.number(row.get("latency_ms"), partial(cell, "latency_ms"),
                              positive=True, within=spec.LATENCY_MS_RANGE),
        variant=variant,
        accuracy=None if accuracy is None else chk.number(accuracy, partial(cell, "accuracy"),
                                                          positive=True),
    )


def row_without_accuracy(configs: Sequence[Config]) -> int | None:
    """The first row without an accuracy in a profile where other rows have one (the spec:
    an input error whether or not the accuracy extension is declared), else None."""
    given = [c.accuracy is not None for c in configs]
    return given.index(False) if any(given) and not all(given) else None


def _node(chk: _Checker, raw: Any, i: int, base_dir: Path) -> Node:
    where = f"nodes[{i}]"
    chk.mapping(raw, where)
    name = chk.name(raw.get("name"), f"{where}.name")
    where = f"nodes[{label(name)}]"
    # null is the key absent, as for the node's other keys and the top level's
    has_profile, has_configs = raw.get("profile") is not None, raw.get("configs") is not None
    if has_profile == has_configs:
        raise chk.fail(where, "needs exactly one of 'profile' (CSV path) or 'configs' (rows)")
    if has_profile:
        rel = chk.name(raw["profile"], f"{where}.profile")
        # a CSV problem names the instance, the node's field and the CSV, in that order
        csv_chk = _Checker(f"{chk.file}: {where}.profile ({quote(rel)[1:-1]})", text_numbers=True)
        rows_raw = read_profile_csv(base_dir / rel, csv_chk.file)
        configs = [_config(csv_chk, r, partial(csv_field, r["_line"])) for r in rows_raw]
        empty_where, owner = "", csv_chk
    else:
        rows_raw = chk.sequence(raw["configs"], f"{where}.configs", nonempty=False)
        configs = [_config(chk, chk.mapping(r, f"{where}.configs[{j}]"),
                           partial("{}.{}".format, f"{where}.configs[{j}]"))
                   for j, r in enumerate(rows_raw)]
        empty_where, owner = f"{where}.configs", chk
    if not configs:
        raise owner.fail(empty_where, "empty profile (no configuration rows)")
    def row(j: int) -> str:  # as a row's other errors name it (a CSV's 0-based 'rows 0
        # and 1' were its lines 2 and 3)
        return f"line {rows_raw[j]['_line']}" if has_profile else f"configs[{j}]"

    seen: dict[tuple, int] = {}
    for j, c in enumerate(configs):
        if c.identity in seen:
            b, h, u, var = c.identity
            raise owner.fail(row(j) if has_profile else f"{where}.{row(j)}",
                             f"same identity as {row(seen[c.identity])} (batch={b}, "
                             f"hardware={quote(h)}, units={u:g}, variant={quote(var)})")
        seen[c.identity] = j
    missing = row_without_accuracy(configs)
    if missing is not None and has_profile:
        raise csv_chk.fail(csv_field(rows_raw[missing]["_line"], "accuracy"),
                           f"missing while other rows of the node give one ({EMPTY_CELL})")
    if missing is not None:
        raise chk.fail(f"{where}.accuracy", f"row {missing} has no accuracy while other rows "
                       f"of the node do")
    mult = raw.get("multiplier")  # null: the default, as for max_replicas and max_batch
    mult = 1.0 if mult is None else mult
    return Node(
        name=name, configs=tuple(configs),
        multiplier=chk.number(mult, f"{where}.multiplier", positive=True,
                              within=spec.MULTIPLIER_RANGE),
        max_replicas=None if raw.get("max_replicas") is None
        else chk.positive_int(raw["max_replicas"], f"{where}.max_replicas"),
        max_batch=None if raw.get("max_batch") is None
        else chk.positive_int(raw["max_batch"], f"{where}.max_batch", spec.MAX_BATCH_RANGE),
    )


def _first_duplicate(names: list[str]) -> str | None:
    """The first name that occurs twice (linear: a set, not ``list.count``)."""
    seen: set[str] = set()
    for v in names:
        if v in seen:
            return v
        seen.add(v)
    return None


def instance_from_dict(data: Mapping[str, Any], *, source: str = "<memory>",
                       base_dir: Path | str = ".", default_name: str = "instance",
                       extensions: bool = True,
                       warn: Callable[[str], None] | None = None) -> Instance:
    """Validate a parsed instance document and build an :class:`Instance` (linear time).
    ``extensions`` False (``--formulation base``, which ignores extension keys, spec): the
    extension keys are left out, as if absent -- the replica guard and the tables then treat
    the instance as the base problem it is solved as. ``warn``, when given, is called with
    one line (``file: field: reason``) for a valid document's keys that are ignored: the
    top-level ``rate_rps``/``sla_ms`` beside ``flows``, which replace them (spec)."""
    chk = _Checker(source)
    base_dir = Path(base_dir)
    chk.mapping(data, "")
    # a top-level key whose value is null is that key absent (the README's choice): an
    # optional one takes its default, a required one is missing
    data = {k: v for k, v in data.items() if v is not None}

    q = data.get("queueing", QUEUEING_DEFAULT)
    if not isinstance(q, str) or q not in queueing.names():
        raise chk.fail("queueing", f"unknown queueing model {quote(q)} "
                       f"(known: {', '.join(queueing.names())})")
    rho = chk.number(data.get("max_utilization", 1.0), "max_utilization")
    if not 0 < rho <= 1:
        raise chk.fail("max_utilization", f"must be in (0, 1] (got {rho!r})")
    chk.number(rho, "max_utilization", within=spec.MAX_UTILIZATION_RANGE)
    prices: dict[str, float] = {}
    for h, p in chk.mapping(data.get("prices", {}), "prices").items():
        if not isinstance(h, str):
            raise chk.fail("prices", f"keys must be hardware names (got {quote(h)})")
        prices[h] = chk.number(p, f"prices.{label(h)}", nonneg=True, within=spec.PRICE_RANGE,
                               zero_ok=True)

    nodes = [_node(chk, raw, i, base_dir)
             for i, raw in enumerate(chk.sequence(data.get("nodes"), "nodes"))]
    names = [n.name for n in nodes]
    dup = _first_duplicate(names)
    if dup is not None:
        raise chk.fail("nodes", f"duplicate node name {quote(dup)}")
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
                raise chk.fail(where, f"unknown node {quote(end)}")
        if src == dst:
            raise chk.fail(where, f"self-loop on {quote(src)}")
        if (src, dst) in seen_edges:
            raise chk.fail(where, f"duplicate edge {quote(src)} -> {quote(dst)}")
        seen_edges.add((src, dst))
        d = (chk.number(raw[2], f"{where}.latency_ms", nonneg=True,
                        within=spec.EDGE_LATENCY_MS_RANGE, zero_ok=True)
             if len(raw) == 3 else 0.0)
        edges.append(Edge(src, dst, d))

    # the top-level rate and SLA: the one flow's without flows. Beside flows they are not read
    # (the spec: flows replace them), yet still numbers as the spec defines them ("every
    # number is finite; rates, SLAs ... are > 0"): a NaN or -5 there is bad input all the same
    top = {k: chk.number(data.get(k), k, positive=True,
                         within=spec.RATE_RPS_RANGE if k == "rate_rps" else None)
           for k in ("rate_rps", "sla_ms") if k in data or "flows" not in data}
    flows: list[Flow] = []
    if "flows" in data:
        for i, raw in enumerate(chk.sequence(data["flows"], "flows")):
            where = f"flows[{i}]"
            chk.mapping(raw, where)
            fname = chk.name(raw.get("name"), f"{where}.name")
            where = f"flows[{label(fname)}]"
            members = chk.sequence(raw.get("nodes"), f"{where}.nodes")
            for v in members:
                if not isinstance(v, str) or v not in known:
                    raise chk.fail(f"{where}.nodes", f"unknown node {quote(v)}")
            if len(set(members)) != len(members):
                raise chk.fail(f"{where}.nodes", "lists a node twice")
            flows.append(Flow(fname, chk.number(raw.get("rate_rps"), f"{where}.rate_rps",
                                                positive=True, within=spec.RATE_RPS_RANGE),
                              chk.number(raw.get("sla_ms"), f"{where}.sla_ms", positive=True),
                              tuple(members)))
        dup = _first_duplicate([f.name for f in flows])
        if dup is not None:
            raise chk.fail("flows", f"duplicate flow name {quote(dup)}")
    else:
        flows.append(Flow(MAIN_FLOW, top["rate_rps"], top["sla_ms"], tuple(names)))
    covered = {v for f in flows for v in f.nodes}
    orphans = [v for v in names if v not in covered]
    if orphans:
        raise chk.fail(f"nodes[{label(orphans[0])}]", "belongs to no flow")

    cycle = _find_cycle(names, edges)
    if cycle:
        shown = " -> ".join(quote(v) for v in cycle[:CYCLE_SHOWN])
        more = f" -> ... ({len(cycle) - 1} nodes)" if len(cycle) > CYCLE_SHOWN else ""
        raise chk.fail("edges", f"cycle {shown}{more}")

    name = chk.name(data["name"], "name") if "name" in data else default_name
    inst = Instance(
        name=name, nodes=tuple(nodes), edges=tuple(edges), flows=tuple(flows),
        prices=prices, queueing=q, max_utilization=rho,
        extra={k: v for k, v in data.items()
               if k not in KNOWN_KEYS and (extensions or k not in INSTANCE_KEYS)},
        source=source,
    )
    _check_replicas(chk, inst)
    ignored = list(top) if "flows" in data else []
    if ignored and warn is not None:  # (after every check: a refused file gets its error alone)
        warn(message(source, ", ".join(ignored), "ignored beside flows (each flow gives its own)"))
    # Extension keys are not validated here: the spec's `--formulation base` ignores them,
    # so a malformed one must not fail a base solve. They are parsed (InputError naming the
    # field) when an extension is solved (fa2opt.extensions.declare), verified
    # (fa2opt.verify) or by `fa2opt validate` (fa2opt.extensions.validate).
    return inst


def check_replicas(inst: Instance, shown: str) -> None:
    """:func:`_check_replicas` for an instance made in code from a file (a suite swept to a
    trace's rates): InputError naming ``shown`` and the node, as a file read is refused."""
    _check_replicas(_Checker(shown), inst)


def _check_replicas(chk: _Checker, inst: Instance) -> None:
    """The derived bound: at the instance's rates no available profile row may need more
    than spec.MAX_ROW_REPLICAS replicas (so replica counts stay exact integers in a double
    and int64, and costs <= 1e45); a row above max_replicas or max_batch is never taken, so
    it may, and so may one an in-range row dominates in the base problem (no extension keys:
    the tables leave it out). One vectorised pass over all rows."""
    start, rates, ev = evaluate_all(inst)
    need = ev["replicas"]
    bad = np.flatnonzero((need > spec.MAX_ROW_REPLICAS) & ev["available"])
    if bad.size and not extension_keys(inst):
        bad = _undominated(inst, start, rates, bad)
    if bad.size:
        k = int(bad[0])
        i = int(np.searchsorted(start, k, side="right")) - 1  # (its node)
        node = inst.nodes[i]
        row = node.configs[k - int(start[i])]
        raise chk.fail(f"nodes[{label(node.name)}]",
                       f"the row batch={row.batch}, latency_ms={row.latency_ms:g} would need "
                       f"{need[k]:.16g} replicas (more than {spec.MAX_ROW_REPLICAS:.0e}) at "
                       f"rate_rps x multiplier = {rates[i]:.3g} rps, max_utilization "
                       f"{inst.max_utilization:g}: lower the rate or multiplier, or drop the row")


def _undominated(inst: Instance, start: np.ndarray, rates: list[float], bad: np.ndarray
                 ) -> np.ndarray:
    """Of the rows ``bad`` (flat indices over every node's rows, node i's at
    ``start[i]:start[i + 1]``, its rate ``rates[i]``: :func:`fa2opt.tables.evaluate_all`'s),
    those the base problem cannot leave out: no in-range row of their node dominates them
    (:func:`fa2opt.tables.drop_dominated_out_of_range`, as the tables apply it)."""
    out = []
    for i in dict.fromkeys((np.searchsorted(start, bad, side="right") - 1).tolist()):
        node = inst.nodes[i]
        ev = evaluate(ProfileArrays.of(node, inst), rates[i],
                      max_utilization=inst.max_utilization, queueing_model=inst.queueing,
                      max_replicas=node.max_replicas, max_batch=node.max_batch,
                      drop_dominated=True, guard=False)
        left = np.flatnonzero(ev["available"] & (ev["replicas"] > spec.MAX_ROW_REPLICAS))
        out.extend((int(start[i]) + left).tolist())
    return np.array(sorted(out), dtype=np.int64)


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
