"""Queueing-delay models: a registry of one function each.

A model maps (batch b, processing time p in ms, node arrival rate λ_v in req/s) to the
queueing delay q in ms that a request sees at the node before its batch starts. The
functions take numpy arrays or scalars and broadcast, so the same rule serves a single
configuration table, a batch of rates on the GPU, and the independent verifier.

Add a model with::

    @register("my-model")
    def my_model(batch, latency_ms, rate_rps, xp=numpy):
        return ...

and use ``"queueing": "my-model"`` in an instance file.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

QueueingFn = Callable[..., Any]
_MODELS: dict[str, QueueingFn] = {}


def register(name: str) -> Callable[[QueueingFn], QueueingFn]:
    def deco(fn: QueueingFn) -> QueueingFn:
        _MODELS[name] = fn
        return fn

    return deco


def get(name: str) -> QueueingFn:
    return _MODELS[name]


def names() -> list[str]:
    return sorted(_MODELS)


@register("none")
def no_queueing(batch, latency_ms, rate_rps, xp=np):
    """q = 0: requests never wait."""
    return xp.zeros_like(latency_ms * rate_rps * 1.0)


@register("batch-fill")
def batch_fill(batch, latency_ms, rate_rps, xp=np):
    """q = 1000·(b−1)/λ_v: the first request of a batch waits for b−1 more to arrive."""
    return 1000.0 * (batch - 1) / rate_rps + 0.0 * latency_ms


@register("worst-case")
def worst_case(batch, latency_ms, rate_rps, xp=np):
    """q = p: a request may wait for the batch in flight (node latency 2p, as in Nexus)."""
    return latency_ms + 0.0 * rate_rps
