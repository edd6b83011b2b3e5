"""Every command in README.md and docs/*.md runs as written.

Each fenced ``bash`` block is run line by line (``\\`` continues a line) and each ``python``
block as a script, in a fresh temporary folder that sees the repository's ``datasets``,
``scripts``, ``experiments`` and ``tests`` (so outputs such as ``results/`` or ``table.csv``
land there, not in the checkout) with this checkout's code first on ``PYTHONPATH``. ``fa2opt`` means
``python -m fa2opt`` (this checkout, not whatever is installed), ``pip`` is skipped (the
environment is already installed) and ``python -m pytest`` too (that is this run). A python
block that starts ``# formulations/NAME.py -> COMMAND`` is a new module: it is written into
a copy of the ``formulations`` package and COMMAND is run against it.

Blocks that are not commands (usage synopses, mathematics, API listings) are fenced as
``text``; an unlabelled fence is an error, so a command cannot hide from this test. Lines
whose comment says ``tests run its --quick form`` are run with ``--quick`` added (the doc
says so next to them). Commands that take more than a few seconds are marked ``slow``
(``python -m pytest -m slow``); the cheap ones run by default.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FENCE = re.compile(r"^```([^\n`]*)\n(.*?)^```", re.S | re.M)
LANGS = {"bash", "python", "text", "json", "yaml", "csv", "markdown"}
# Commands that take more than a few seconds on 2 cores (full and quick experiment runs).
SLOW = ("scripts/", "fa2opt compare", "fa2opt evaluate", "formulations.bench", "run.row")
PRELUDE = """
set -eo pipefail
fa2opt() { "$PY" -m fa2opt "$@"; }
python() { if [ "$1 $2" = "-m pytest" ]; then echo "(pytest: this run)"; else "$PY" "$@"; fi; }
pip() { echo "(pip: already installed)"; }
"""


def _blocks() -> list[tuple[str, int, str, str]]:
    out = []
    for path in DOCS:
        text = path.read_text(encoding="utf-8")
        for m in FENCE.finditer(text):
            line = text[:m.start()].count("\n") + 1
            out.append((path.relative_to(ROOT).as_posix(), line, m.group(1).strip(), m.group(2)))
    return out


def _commands(body: str) -> list[str]:
    """The command lines of a bash block (continuations joined, comments and blanks left out)."""
    joined = re.sub(r"\\\n\s*", " ", body)
    return [ln.strip() for ln in joined.splitlines() if ln.strip() and not ln.strip().startswith("#")]


def _cases() -> list:
    cases = []
    for doc, line, lang, body in _blocks():
        if lang == "bash":
            for cmd in _commands(body):
                marks = [pytest.mark.slow] if any(s in cmd for s in SLOW) else []
                cases.append(pytest.param(doc, line, "bash", cmd, marks=marks,
                                          id=f"{doc}:{line}:{cmd.split('#')[0].strip()[:60]}"))
        elif lang == "python":
            marks = [pytest.mark.slow] if any(s in body for s in SLOW) else []
            cases.append(pytest.param(doc, line, "python", body, marks=marks, id=f"{doc}:{line}:python"))
    return cases


def test_every_fence_is_labelled():
    bad = [f"{doc}:{line}" for doc, line, lang, _ in _blocks() if lang.split()[0:1] == [] or
           lang.split()[0] not in LANGS]
    assert not bad, f"label these fences (bash, python, or text for what is not a command): {bad}"


def test_docs_have_commands_to_run():
    kinds = {c.values[2] for c in _cases()}
    assert kinds == {"bash", "python"} and len(_cases()) >= 30


@pytest.fixture()
def workdir(tmp_path: Path) -> Path:
    for name in ("datasets", "scripts", "experiments", "tests"):
        (tmp_path / name).symlink_to(ROOT / name)
    return tmp_path


def _env(*first: Path) -> dict[str, str]:
    path = [*(str(p) for p in first), str(ROOT), os.environ.get("PYTHONPATH", "")]
    return dict(os.environ, PY=sys.executable, MPLBACKEND="Agg",
                PYTHONPATH=os.pathsep.join(path).rstrip(os.pathsep))


def _run(args: list[str], cwd: Path, env: dict[str, str], timeout: float) -> subprocess.CompletedProcess:
    proc = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, f"exit {proc.returncode}\n{proc.stdout[-2000:]}\n{proc.stderr[-3000:]}"
    assert "Traceback" not in proc.stderr, proc.stderr[-3000:]
    return proc


@pytest.mark.parametrize("doc, line, kind, code", _cases())
def test_doc_command_runs(doc: str, line: int, kind: str, code: str, workdir: Path):
    env = _env()
    timeout = 900 if any(s in code for s in SLOW) else 180
    if kind == "bash":
        if "tests run its --quick form" in code:
            code = code.split("#")[0].rstrip() + " --quick"
        _run(["bash", "-c", PRELUDE + code], workdir, env, timeout)
        return
    first = code.lstrip().splitlines()[0]
    module = re.match(r"#\s*formulations/(\w+)\.py(?:\s*->\s*(.+))?$", first)
    if module:
        assert module.group(2), f"{doc}:{line}: say which command runs the new formulation"
        pkgs = workdir / "pkgs"
        shutil.copytree(ROOT / "formulations", pkgs / "formulations",
                        ignore=shutil.ignore_patterns("__pycache__"))
        (pkgs / "formulations" / f"{module.group(1)}.py").write_text(code, encoding="utf-8")
        proc = _run(["bash", "-c", PRELUDE + module.group(2).strip()], workdir, _env(pkgs), timeout)
        assert "optimal" in proc.stdout, proc.stdout
        return
    (workdir / "snippet.py").write_text(code, encoding="utf-8")
    _run([sys.executable, "snippet.py"], workdir, env, timeout)
