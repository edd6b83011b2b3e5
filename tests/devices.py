"""Shared test parameters: the array devices every GPU-capable test runs on, and where the
spec's example instances are."""

from pathlib import Path

import pytest

from fa2opt import kernels

SPEC = str(Path(__file__).resolve().parent / "data" / "spec_examples")  # the spec's examples
GPU = kernels.gpu_available()
# the numpy path always; the CuPy path marked `gpu` and skipped cleanly without a device
DEVICES = [
    pytest.param("cpu", id="numpy"),
    pytest.param("gpu", id="cupy", marks=[
        pytest.mark.gpu, pytest.mark.skipif(not GPU, reason="no CuPy or no CUDA device")]),
]
