"""Adversarial audit: brute force beyond its guard answers ``no_solution`` with a short
message, however many combinations there are. The message printed the exact count: 904
digits for a 3,000-node graph, and for 2^15000 combinations (over Python's 4,300-digit
limit of int → str) a ValueError escaped as a traceback."""

from __future__ import annotations

import pytest

import fa2opt
from fa2opt.io import instance_from_dict


def _chain(n: int) -> dict:
    row = lambda b, p: {"batch": b, "hardware": "cpu", "units": 1, "latency_ms": p}  # noqa: E731
    return {"sla_ms": 2.0 * n, "rate_rps": 1, "queueing": "none",
            "nodes": [{"name": f"n{i}", "configs": [row(1, 1.0), row(2, 1.5)]} for i in range(n)],
            "edges": [[f"n{i}", f"n{i + 1}"] for i in range(n - 1)]}


@pytest.mark.parametrize("n,shown", [(40, "1099511627776"), (3_000, "10^903.1"),
                                     (15_000, "10^4515.4")])
def test_guard_message_is_short(n: int, shown: str) -> None:
    answer = fa2opt.solve(instance_from_dict(_chain(n)), "brute-force")
    assert answer.status == "no_solution"
    assert shown in answer.message and len(answer.message) < 100, answer.message
