"""Test-wide settings. The machines running these tests have 2 noisy cores, so hypothesis
must not fail an example for being slow (per-example deadlines, the too_slow health check);
each test still sets its own example budget."""

from hypothesis import HealthCheck, settings

settings.register_profile("fa2opt", deadline=None, print_blob=True,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("fa2opt")


import pytest  # noqa: E402

from fa2opt import cpu_kernels, tree_kernel  # noqa: E402


@pytest.fixture(autouse=True)
def _python_paths_unless_marked_compiled(request, monkeypatch):
    """fa2's compiled tree DPs (fa2opt.tree_kernel) run wherever the kernels were warmed up
    in the process, so which path a test exercised would depend on the tests before it (the
    first to warm them up). Every test takes fa2's Python paths (the coupling search, the
    sweeps, the fixing DP, which most tests were written for) unless marked ``compiled``
    (tests/test_tree_kernel.py, tests/test_tree_remainder.py: the compiled DPs against brute
    force, the reference DP and the Python paths), which runs with them warmed up."""
    if request.node.get_closest_marker("compiled") is None:
        monkeypatch.setattr(tree_kernel, "ENABLED", False)
    else:
        cpu_kernels.warm_up()
