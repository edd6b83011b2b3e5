"""The search's bounds are the same bits on every CPU: no dot product of theirs goes through
BLAS, whose kernel (OpenBLAS picks it by CPU: Prescott, Haswell, SkylakeX, Zen ...) groups
the additions its own way (:func:`fa2opt.spec.dot`; docs/fa2.md, "Search nodes on every
machine"). Each run is a subprocess, one under ``OPENBLAS_CORETYPE=Prescott``."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import warnings

import numpy as np
import pytest

from fa2opt import spec

SCRIPT = r"""
import hashlib, json
import numpy as np
from fa2opt.generate import FAMILIES
from fa2opt.problem import Problem
from fa2opt.reductions import flow_bound
from fa2opt.solver import solve

consts = []
weights = flow_bound.FlowLP.flow_weights


def recorded(self, duals, per_flow=False):  # every constant of the bound (1) the search forms
    out = weights(self, duals, per_flow)
    consts.append(float(out[1]).hex())
    return out


flow_bound.FlowLP.flow_weights = recorded
rng = np.random.default_rng(7)
a, b = rng.standard_normal(1000) * 1e3, rng.standard_normal(1000)
problem = Problem.from_instance(FAMILIES["random"].generator(np.random.default_rng(1), 100))
answer = solve(problem, "fa2")
print(json.dumps({"blas": float(a @ b).hex(), "cost": answer.cost,
                  "nodes": answer.extra["search_nodes"], "bounds": len(consts),
                  "digest": hashlib.sha256(" ".join(consts).encode()).hexdigest()}))
"""


def run(coretype: str | None) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_CORETYPE"}
    env["FA2OPT_WARM_UP"] = "0"
    if coretype is not None:
        env["OPENBLAS_CORETYPE"] = coretype
    out = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True,
                         timeout=300, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_the_flow_bound_is_the_same_bits_whatever_blas_kernel():
    # the machine's own kernel and OpenBLAS's plainest x86-64 one (SSE3: safe on any x86-64;
    # forcing a kernel the CPU lacks, e.g. SkylakeX's AVX-512, would crash the process)
    runs = [run(c) for c in (None, "Prescott")]
    if len({r.pop("blas") for r in runs}) == 1:
        pytest.skip("this machine's BLAS gives one dot product under every OPENBLAS_CORETYPE "
                    "(not OpenBLAS, or not x86): nothing to tell apart")
    assert runs[0]["bounds"] > 0  # the search formed bounds (1)
    assert runs[1] == runs[0]


def test_norm_and_dot_survive_extreme_magnitudes():
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # silent, as BLAS is
        assert spec.dot(np.array([1e300, 1.0]), np.array([1e300, 1.0])) == math.inf
        for scale in (1e-170, 1.0, 1e200):  # squares that underflow, fit, overflow
            a = np.array([3.0, -4.0]) * scale
            assert spec.norm(a) == pytest.approx(5.0 * scale, rel=1e-15, abs=0.0)
    assert spec.norm(np.zeros(3)) == 0.0 and spec.norm(np.array([])) == 0.0
    assert spec.norm(np.array([3.0, 4.0])) == 5.0
