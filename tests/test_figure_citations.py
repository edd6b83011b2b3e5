"""Every figure of README.md and docs/*.md says which experiment config produced it
(issue 15, item 1).

A figure is an image (``![...](...)``; a row of them on consecutive lines is one) or a
Markdown table. Its citation is a reference ``experiments/NAME.yaml`` to an existing config
in its caption: the text between it and the figure or heading before it (the heading
included) or the figure or heading after it — so each figure needs its own, before or after. A table that
is not a measurement (a reference table of options, fields, rules) or a GPU figure measured by
``scripts/gpu_check.sh`` outside the runner says so right above it with ``<!-- no experiment: REASON -->``.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DOCS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
CITE = re.compile(r"experiments/([a-z0-9][a-z0-9_.-]*)\.yaml")  # NAME: a placeholder
EXEMPT = re.compile(r"<!--\s*no experiment:\s*\S.*-->")
SEPARATOR = re.compile(r"^\|\s*:?-{3,}")


def figures(lines: list[str]) -> list[tuple[int, int]]:
    """(first, last) line index of every image and table, outside code fences; images on
    consecutive lines are one figure (a row of plots)."""
    out: list[tuple[int, int]] = []
    fence, i = False, 0
    while i < len(lines):
        s = lines[i].strip()
        if s.startswith("```"):
            fence = not fence
        elif not fence and s.startswith("!["):
            j = i
            while j + 1 < len(lines) and lines[j + 1].strip().startswith("!["):
                j += 1
            out.append((i, j))
            i = j
        elif not fence and s.startswith("|") and i + 1 < len(lines) and SEPARATOR.match(lines[i + 1].strip()):
            j = i + 1
            while j + 1 < len(lines) and lines[j + 1].strip().startswith("|"):
                j += 1
            out.append((i, j))
            i = j
        i += 1
    return out


def uncited(text: str, exists=lambda name: (REPO / "experiments" / f"{name}.yaml").is_file()) -> list[str]:
    """Problems: figures without a citation or exemption, citations of missing configs.

    A figure's caption is the text between it and its neighbours: up to the previous figure or
    heading (the heading included) and down to the next figure or heading."""
    lines = text.splitlines()
    problems = [f"line {n + 1}: cites missing experiments/{m.group(1)}.yaml"
                for n, line in enumerate(lines) for m in CITE.finditer(line) if not exists(m.group(1))]
    spans = figures(lines)
    for idx, (first, last) in enumerate(spans):
        prev_end = spans[idx - 1][1] if idx else -1
        next_start = spans[idx + 1][0] if idx + 1 < len(spans) else len(lines)
        above: list[str] = []
        for k in range(first - 1, prev_end, -1):
            above.append(lines[k])
            if lines[k].startswith("#"):
                break
        below: list[str] = []
        for k in range(last + 1, next_start):
            if lines[k].startswith("#"):
                break
            below.append(lines[k])
        if any(EXEMPT.search(x) for x in above[:3]):
            continue
        if not any(m and exists(m.group(1)) for m in map(CITE.search, [*above, *below])):
            problems.append(f"line {first + 1}: figure without an experiments/NAME.yaml citation: "
                            f"{lines[first].strip()[:60]}")
    return problems


@pytest.mark.parametrize("doc", DOCS, ids=[p.name for p in DOCS])
def test_every_figure_cites_its_experiment(doc: Path) -> None:
    assert uncited(doc.read_text(encoding="utf-8")) == []


def test_the_check_catches_what_it_should() -> None:
    table = "| a | b |\n|---|---|\n| 1 | 2 |\n"
    assert uncited("# T\n\n" + table)  # no citation
    assert uncited("# T\n\n![x](y.png)\n")
    assert not uncited("# T\n\nFrom `experiments/trace.yaml`:\n\n" + table)
    assert not uncited("# T\n\n" + table + "\n— `experiments/trace.yaml`, run 2026-11-30\n")
    assert not uncited("# T\n\n<!-- no experiment: reference table -->\n" + table)
    assert uncited("# T\n\n" + table + "\n`experiments/no-such-one.yaml`\n")  # missing config
    assert uncited("`experiments/trace.yaml`\n\n# Other section\n\n" + table)  # not across a heading
    assert not uncited("# From `experiments/trace.yaml`\n\n" + table)  # the heading is its caption
    # one caption per figure: the second table's text has none
    assert uncited("# T\n\n`experiments/trace.yaml`:\n\n" + table + "\nmore\n\n" + table)
    assert not uncited("# T\n\n![a](a.png)\n![b](b.png)\n\n`experiments/trace.yaml`\n")
    assert not uncited("```\n| a | b |\n|---|---|\n```\n")  # code is not a figure
