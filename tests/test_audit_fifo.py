"""Adversarial audit: a named pipe (FIFO) as the instance or as a node's profile is refused
at once. ``open()`` of a FIFO blocks until some process writes to it, so the regular-file
check after opening came too late: ``fa2opt solve`` hung forever on such a path."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")


def _solve(*paths: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "fa2opt", "solve", *map(str, paths), "--json"],
                          cwd=REPO, capture_output=True, text=True, timeout=60)


def test_fifo_instance_and_profile_are_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.json"
    os.mkfifo(fifo)
    inst = tmp_path / "inst.json"
    inst.write_text(json.dumps({"sla_ms": 100, "rate_rps": 1,
                                "nodes": [{"name": "a", "profile": "pipe.json"}]}))
    proc = _solve(fifo, inst)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr[-2000:]
    first, second = (json.loads(line) for line in proc.stdout.splitlines())
    assert first["status"] == second["status"] == "error"
    assert first["message"].startswith(f"{fifo}: ") and "not a regular file" in first["message"]
    assert second["message"].startswith(f"{inst}: nodes[a].profile (pipe.json)")
    assert "not a regular file" in second["message"]
