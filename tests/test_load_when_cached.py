"""A long search loads the compiled kernels where Numba's disk cache holds them
(``cpu_kernels.load_when_cached``, ``cpu_kernels.cached``), and the coupling search's flows
take their compiled trees once loaded (``search._FlowPrograms``)."""

from __future__ import annotations

import time

import pytest

from fa2opt import cpu_kernels
from fa2opt.arithmetic import DECLINED
from fa2opt.reductions.search import _FlowPrograms


@pytest.fixture
def fresh(monkeypatch):
    """A process that has neither loaded the kernels nor looked; warm_up and cached recorded."""
    monkeypatch.setattr(cpu_kernels, "_WARM", False)
    monkeypatch.setattr(cpu_kernels, "_LOOKED", False)
    monkeypatch.delenv("FA2OPT_WARM_UP", raising=False)
    calls: list[str] = []
    monkeypatch.setattr(cpu_kernels, "warm_up", lambda: calls.append("warm_up") or True)
    monkeypatch.setattr(cpu_kernels, "available", lambda: True)
    return calls


def test_loads_once_after_the_threshold_when_cached(fresh, monkeypatch):
    monkeypatch.setattr(cpu_kernels, "cached", lambda: fresh.append("cached") or True)
    now = time.perf_counter()
    cpu_kernels.load_when_cached(now)  # a search that has just started: nothing yet
    assert fresh == []
    cpu_kernels.load_when_cached(now - cpu_kernels.LOAD_AFTER_S - 0.01)
    assert fresh == ["cached", "warm_up"]
    cpu_kernels.load_when_cached(now - 100.0)  # looked already: once per process
    assert fresh == ["cached", "warm_up"]


def test_no_look_close_to_the_time_limit(fresh, monkeypatch):
    """Within LOAD_MIN_LEFT_S of the time limit in force the look and the load would overrun
    it: no look, and a later search (with time left) may still look."""
    from fa2opt.deadline import stop_at

    monkeypatch.setattr(cpu_kernels, "cached", lambda: fresh.append("cached") or True)
    long_ago = time.perf_counter() - 100.0
    with stop_at(None, time.perf_counter() + cpu_kernels.LOAD_MIN_LEFT_S / 2):
        cpu_kernels.load_when_cached(long_ago)
    assert fresh == []
    with stop_at(None, time.perf_counter() + cpu_kernels.LOAD_MIN_LEFT_S * 10):
        cpu_kernels.load_when_cached(long_ago)
    assert fresh == ["cached", "warm_up"]


def test_never_compiles_where_the_cache_does_not_hold_them(fresh, monkeypatch):
    monkeypatch.setattr(cpu_kernels, "cached", lambda: fresh.append("cached") or False)
    cpu_kernels.load_when_cached(time.perf_counter() - 100.0)
    assert fresh == ["cached"]


@pytest.mark.parametrize("value", ["0", "off", "no"])
def test_fa2opt_warm_up_off_never_loads(fresh, monkeypatch, value):
    monkeypatch.setenv("FA2OPT_WARM_UP", value)
    monkeypatch.setattr(cpu_kernels, "cached", lambda: fresh.append("cached") or True)
    cpu_kernels.load_when_cached(time.perf_counter() - 100.0)
    assert fresh == []


def test_cached_reads_numba_s_index(monkeypatch):
    """True once warm_up has compiled or loaded the kernels here; False where a kernel
    Python calls has no entry for this machine and source (a stale or missing index)."""
    if not cpu_kernels.warm_up():
        pytest.skip("Numba is not available")
    assert cpu_kernels.cached()
    from numba.core.caching import IndexDataCacheFile

    monkeypatch.setattr(IndexDataCacheFile, "_load_index", lambda self: {})
    assert not cpu_kernels.cached()


@pytest.mark.compiled  # (tree_kernel.ENABLED: its kernels run)
def test_warm_up_loads_every_kernel_cached_asks_for(monkeypatch):
    """cached() asks for an index entry of every kernel Python calls, so warm_up must compile
    or load each of them: dag_batch_numba.node_min (the batched Lagrangian bound, which no
    decision calls) was left out, and after an install, command 1 or an FA2OPT_WARM_UP=1 run
    the cache never counted as complete (load_when_cached never loaded; this module's other
    tests passed only where an earlier test had compiled it)."""
    # warm_up's body again (it runs once per process, maybe first in a test with the tree
    # kernels off: tests/conftest.py)
    monkeypatch.setattr(cpu_kernels, "_WARM", False)
    if not cpu_kernels.warm_up.__wrapped__():
        pytest.skip("Numba is not available")
    import importlib

    from numba.core.registry import CPUDispatcher

    unloaded = [f"{name}.{attr}" for name in cpu_kernels._KERNEL_MODULES
                for attr, f in vars(importlib.import_module(f"fa2opt.{name}")).items()
                if isinstance(f, CPUDispatcher) and not attr.startswith("_")
                and not f.signatures]
    assert unloaded == []


def test_cached_is_false_without_numba(monkeypatch):
    monkeypatch.setattr(cpu_kernels, "available", lambda: False)
    assert not cpu_kernels.cached()


def test_a_flow_takes_its_compiled_tree_once_the_kernels_load():
    """compile answers None while the kernels are not loaded: the flow asks again at its
    next solve (it used to give up for the rest of the search); a declined solve still
    leaves the flow to the caller's remainder for good."""
    loaded = []
    calls = []

    def program(budget, fixed, weight):
        calls.append(budget)
        return DECLINED if budget < 0 else (1.0, {})

    programs = _FlowPrograms(lambda tree, cands: program if loaded else None, lambda i: ("t", {}), 1)
    assert programs.solve(0, 5.0, None, None) is DECLINED
    loaded.append(True)
    assert programs.solve(0, 5.0, None, None) == (1.0, {})
    assert programs.solve(0, -1.0, None, None) is DECLINED  # declined: for good
    assert programs.solve(0, 5.0, None, None) is DECLINED
    assert calls == [5.0, -1.0]
    assert _FlowPrograms(None, lambda i: ("t", {}), 1).solve(0, 5.0, None, None) is DECLINED
