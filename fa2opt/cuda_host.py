"""Run the CUDA kernels' own source on the CPU: the host C++ compiler plus a small shim.

The GPU path (:mod:`fa2opt.kernels`) compiles :data:`~fa2opt.kernels.CUDA_SOURCE` with CuPy
on a device this project rarely has. So that the first GPU run is not the source's first
run, the tests compile the *unchanged* source with ``g++`` (or ``$CXX``) after
:data:`SHIM`, a header that defines what the kernels use — ``__global__``, ``__device__``,
``__forceinline__``, ``blockIdx``/``blockDim``/``threadIdx``/``gridDim``,
``__longlong_as_double``, ``__dadd_rn``/``__dmul_rn`` (``__restrict__`` and ``extern "C"``
are already C++) — and append one launcher per kernel. A launcher runs the grid serially:
every block, and inside it every thread, calls the kernel body with the indices set, exactly
as many threads as CuPy launches (the last block's surplus threads included, so the bounds
guard runs too). Any CUDA source of this form runs (``source=``): the grid DP's
(:data:`fa2opt.kernels.CUDA_SOURCE`, the default) and the batched DAG primitives'
(:data:`fa2opt.dag_batch.CUDA_SOURCE`).

Serial threads are valid only for kernels whose threads do not wait on each other: the shim
turns ``__syncthreads`` (and ``__shared__``) into a compile error rather than run such a
kernel wrongly; atomics are not defined (the kernels use none). The host build uses
``-ffp-contract=off``: no FMA contraction, so each ``a + b`` is one IEEE double addition as on
the GPU (a kernel with a multiply-add writes it ``__dadd_rn(c, __dmul_rn(y, l))``, which NVRTC
does not fuse either).

What a GPU would catch as an illegal address is caught too: array arguments run framed by
canary bytes (a write just past an array fails the launch), and a segmentation fault inside
a launch becomes a ``MemoryError`` naming the block and thread instead of ending the process.

Libraries are cached on disk per hash of shim, source, launchers, compiler and flags (in
``$FA2OPT_CACHE_DIR``, else ``$XDG_CACHE_HOME/fa2opt`` or ``~/.cache/fa2opt``, else the temp
folder) and loaded once per process.
"""

from __future__ import annotations

import ctypes
import functools
import hashlib
import os
import re
import shutil
import subprocess
import tempfile
import threading
from pathlib import Path
from typing import Any, Callable

import numpy as np

from . import kernels

SHIM = r"""
// fa2opt.cuda_host: CUDA kernel source as host C++ (threads run one after another).
#include <cstring>
#include <cstddef>
#include <utility>
#include <type_traits>
#define __global__
#define __device__
#define __host__
#define __forceinline__ inline __attribute__((always_inline))
struct uint3 { unsigned int x, y, z; };
struct dim3 { unsigned int x, y, z; };
static thread_local uint3 threadIdx, blockIdx;
static thread_local dim3 blockDim, gridDim;
static inline double __longlong_as_double(long long v) { double d; std::memcpy(&d, &v, sizeof d); return d; }
static inline long long __double_as_longlong(double d) { long long v; std::memcpy(&v, &d, sizeof v); return v; }
// one IEEE operation each, rounded to nearest (the host build has -ffp-contract=off: no FMA)
static inline double __dadd_rn(double a, double b) { return a + b; }
static inline double __dmul_rn(double a, double b) { return a * b; }
#define __syncthreads() static_assert(false, "cuda_host: __syncthreads needs concurrent threads; the serial host launcher cannot run this kernel")
#define __shared__ static_assert(false, "cuda_host: __shared__ memory needs concurrent threads; the serial host launcher cannot run this kernel");
"""

LAUNCHER = r"""
#if defined(__unix__) || defined(__APPLE__)
#include <csetjmp>
#include <csignal>
#define CUDA_HOST_CATCH 1
#endif
namespace cuda_host {
template <typename... A, std::size_t... I>
static void call(void (*k)(A...), void** p, std::index_sequence<I...>) {
    k(*static_cast<typename std::remove_cv<A>::type*>(p[I])...);
}
#ifdef CUDA_HOST_CATCH
// a kernel reading or writing far outside memory raises SIGSEGV/SIGBUS (on a GPU: an illegal
// address): jump back out of the launch and report it instead of killing the process
static thread_local sigjmp_buf jump;
static void on_fault(int sig) { siglongjmp(jump, sig); }
#endif
// every (block, thread) of the grid in turn, as CUDA numbers them (x fastest); returns 0, or
// the signal that stopped it with the faulting block and thread in where[0..5]
template <typename... A>
static int run(void (*k)(A...), const unsigned* grid, const unsigned* block, void** p,
               unsigned* where) {
    gridDim = {grid[0], grid[1], grid[2]};
    blockDim = {block[0], block[1], block[2]};
    int sig = 0;
#ifdef CUDA_HOST_CATCH
    struct sigaction act, old_segv, old_bus;
    std::memset(&act, 0, sizeof act);
    act.sa_handler = on_fault;
    sigemptyset(&act.sa_mask);
    sigaction(SIGSEGV, &act, &old_segv);
    sigaction(SIGBUS, &act, &old_bus);
    sig = sigsetjmp(jump, 1);
    if (sig == 0)
#endif
    for (unsigned bz = 0; bz < grid[2]; ++bz)
    for (unsigned by = 0; by < grid[1]; ++by)
    for (unsigned bx = 0; bx < grid[0]; ++bx) {
        blockIdx = {bx, by, bz};
        for (unsigned tz = 0; tz < block[2]; ++tz)
        for (unsigned ty = 0; ty < block[1]; ++ty)
        for (unsigned tx = 0; tx < block[0]; ++tx) {
            threadIdx = {tx, ty, tz};
            call(k, p, std::index_sequence_for<A...>{});
        }
    }
#ifdef CUDA_HOST_CATCH
    sigaction(SIGSEGV, &old_segv, nullptr);
    sigaction(SIGBUS, &old_bus, nullptr);
#endif
    unsigned at[6] = {blockIdx.x, blockIdx.y, blockIdx.z, threadIdx.x, threadIdx.y, threadIdx.z};
    std::memcpy(where, at, sizeof at);
    return sig;
}
}
"""

FLAGS = ("-std=c++14", "-O2", "-ffp-contract=off", "-fPIC", "-shared")
CANARY = 0xA5  # byte pattern around every array argument: a write outside it is caught
PAD = 64  # bytes of canary on each side (keeps the array 64-byte aligned)
_KERNEL = re.compile(r"__global__\s+void\s+(\w+)\s*\(")
_LIBS: dict[str, ctypes.CDLL] = {}
_LOCK = threading.Lock()  # builds share the in-process and disk caches
_LAUNCH_LOCK = threading.Lock()  # a launch's fault handler is process-wide


class HostCompileError(RuntimeError):
    """The host compiler refused the kernel source (its message ends the error)."""


def compiler() -> str | None:
    """The host C++ compiler: ``$CXX``, else g++, c++ or clang++ on PATH; None if none."""
    for name in (os.environ.get("CXX"), "g++", "c++", "clang++"):
        if name and (path := shutil.which(name)):
            return path
    return None


@functools.lru_cache(maxsize=None)
def _version(cxx: str) -> str:
    """The compiler's ``--version`` text (part of the cache key: a new compiler rebuilds)."""
    return subprocess.run([cxx, "--version"], capture_output=True, text=True).stdout


def kernel_names(source: str) -> list[str]:
    """The ``__global__`` functions of a CUDA source, in order."""
    return _KERNEL.findall(source)


def _cache_dir() -> Path:
    """A writable cache folder for the built libraries."""
    env = os.environ.get("FA2OPT_CACHE_DIR")
    base = Path(env) if env else Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "fa2opt"
    for d in (base / "cuda_host", Path(tempfile.gettempdir()) / "fa2opt-cuda_host"):
        try:
            d.mkdir(parents=True, exist_ok=True)
            if os.access(d, os.W_OK):
                return d
        except OSError:
            continue
    raise HostCompileError("no writable cache folder for the host-compiled kernels")


def translation_unit(source: str) -> str:
    """The C++ file the host compiler sees: shim, the unchanged source, one launcher per
    kernel (``int cuda_host_launch_NAME(grid[3], block[3], void** args, where[6])``)."""
    launchers = "".join(
        f'extern "C" int cuda_host_launch_{k}(const unsigned* g, const unsigned* b, void** p,'
        f" unsigned* w) {{ return cuda_host::run({k}, g, b, p, w); }}\n" for k in kernel_names(source))
    return (f'{SHIM}\n#line 1 "CUDA_SOURCE"\n{source}\n#line 1 "cuda_host_launcher"\n'
            f"{LAUNCHER}\n{launchers}")


def build(source: str = kernels.CUDA_SOURCE) -> ctypes.CDLL:
    """The source compiled by the host compiler into a shared library (cached on disk per
    hash, loaded once per process). Raises :class:`HostCompileError` when it does not compile
    or no compiler exists."""
    cxx = compiler()
    if cxx is None:
        raise HostCompileError("no host C++ compiler (g++, c++, clang++ or $CXX) on PATH")
    tu = translation_unit(source)
    key = hashlib.sha256("\0".join((tu, cxx, _version(cxx), *FLAGS)).encode()).hexdigest()[:24]
    with _LOCK:
        if key in _LIBS:
            return _LIBS[key]
        lib_path = _cache_dir() / f"kernels-{key}.so"
        if not lib_path.exists():
            with tempfile.TemporaryDirectory(dir=lib_path.parent) as tmp:
                cpp, so = Path(tmp) / "kernels.cpp", Path(tmp) / "kernels.so"
                cpp.write_text(tu)
                res = subprocess.run([cxx, *FLAGS, "-o", str(so), str(cpp)],
                                     capture_output=True, text=True, timeout=300)
                if res.returncode != 0:
                    raise HostCompileError(f"{Path(cxx).name} refused the kernel source:\n"
                                           f"{res.stderr[-4000:]}")
                os.replace(so, lib_path)  # atomic: concurrent builders race harmlessly
        lib = ctypes.CDLL(str(lib_path))
        _LIBS[key] = lib
        return lib


def _dims(d: tuple[int, ...]) -> Any:
    """A CUDA (x[, y[, z]]) tuple as the launcher's unsigned[3] (missing sizes are 1)."""
    if not 1 <= len(d) <= 3 or any(int(v) < 0 for v in d):
        raise ValueError(f"grid/block {d!r}: 1 to 3 sizes ≥ 0")
    return (ctypes.c_uint * 3)(*(tuple(int(v) for v in d) + (1, 1))[:3])


def kernel(name: str, source: str = kernels.CUDA_SOURCE) -> Callable[..., None]:
    """Kernel ``name`` of the host-compiled ``source`` as a launchable ``f(grid, block, args)``,
    like CuPy's ``RawKernel``: a numpy array passes its data pointer, a numpy scalar its bytes
    (its dtype is the parameter's width; a Python number is refused, its width would be a
    guess).

    Each array runs inside a copy framed by :data:`PAD` canary bytes on both sides, copied
    back afterwards: a kernel that writes just outside an array raises ``AssertionError``; one
    that reads there sees garbage (wrong results, or a huge index); an access far outside
    (SIGSEGV/SIGBUS, a GPU's illegal address) raises ``MemoryError`` naming the block and
    thread instead of killing the process (POSIX only).
    """
    fn = getattr(build(source), f"cuda_host_launch_{name}", None)
    if fn is None:
        raise KeyError(f"no kernel {name!r} in the source (kernels: {kernel_names(source)})")
    fn.restype = ctypes.c_int

    def run(grid: tuple[int, ...], block: tuple[int, ...], args: tuple) -> None:
        keep: list[Any] = []  # ctypes objects alive until the launch returns
        framed: list[tuple[int, np.ndarray, np.ndarray]] = []
        ptrs = (ctypes.c_void_p * max(1, len(args)))()
        for i, a in enumerate(args):
            if isinstance(a, np.ndarray):
                if not a.flags.c_contiguous:
                    raise ValueError(f"{name} argument {i}: array must be C-contiguous")
                buf = np.full(a.nbytes + 2 * PAD, CANARY, dtype=np.uint8)
                buf[PAD:PAD + a.nbytes] = a.reshape(-1).view(np.uint8)
                holder: Any = ctypes.c_void_p(buf.ctypes.data + PAD)
                framed.append((i, a, buf))
            elif isinstance(a, np.generic):
                holder = ctypes.create_string_buffer(a.tobytes(), max(8, a.nbytes))
            else:
                raise TypeError(f"{name} argument {i}: pass a numpy array or numpy scalar, "
                                f"not {type(a).__name__}")
            keep.append(holder)
            ptrs[i] = ctypes.cast(ctypes.pointer(holder), ctypes.c_void_p)
        where = (ctypes.c_uint * 6)()
        with _LAUNCH_LOCK:
            sig = fn(_dims(grid), _dims(block), ptrs, where)
        if sig:
            raise MemoryError(f"kernel {name}: signal {sig} (memory access outside its arrays) "
                              f"at blockIdx {tuple(where[:3])}, threadIdx {tuple(where[3:])}")
        for i, a, buf in framed:
            if (buf[:PAD] != CANARY).any() or (buf[PAD + a.nbytes:] != CANARY).any():
                raise AssertionError(f"kernel {name} wrote outside argument {i} (shape {a.shape})")
            if a.flags.writeable:
                a.reshape(-1).view(np.uint8)[:] = buf[PAD:PAD + a.nbytes]
            elif (a.reshape(-1).view(np.uint8) != buf[PAD:PAD + a.nbytes]).any():
                raise AssertionError(f"kernel {name} wrote to read-only argument {i}")

    return run


def launch(call: kernels.KernelCall, source: str = kernels.CUDA_SOURCE) -> tuple:
    """Run a :class:`~fa2opt.kernels.KernelCall` on the host through the GPU path's own
    :func:`fa2opt.kernels.launch` (same geometry); returns its outputs."""
    return kernels.launch(call, lambda name: kernel(name, source))
