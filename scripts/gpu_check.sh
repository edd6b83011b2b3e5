#!/usr/bin/env bash
# One-shot GPU check (no network; CuPy must already be installed on the GPU machine):
# device info, the gpu-marked tests together with the numpy twins of the same test files,
# the large-instance benchmark of the batched DAG primitives (scripts/bench_batch.py: numpy
# vs Numba vs CuPy) and the grid kernel benchmark (CuPy vs numpy with the compiled CPU kernels
# and with the numpy twins alone, side by side). Everything goes to one file.
#
#   scripts/gpu_check.sh [RESULT_FILE]        (default results/gpu_check.txt)
#
# Budget: a few minutes on an H100/H200 (the numpy side of the benchmark is the slow part;
# its work is capped by --cap-cpu); BATCH_S and KERNEL_S (seconds, default 240 and 420) cap
# the two benchmarks. Exit code: non-zero when the tests or the CLI check fail.
set -u -o pipefail
cd "$(dirname "$0")/.."
OUT="${1:-results/gpu_check.txt}"
mkdir -p "$(dirname "$OUT")"
CSV="${OUT%.txt}_bench.csv"
BATCH_CSV="${OUT%.txt}_bench_batch.csv"
export PYTHONUNBUFFERED=1
{
  echo "# gpu_check $(date -u '+%Y-%m-%d %H:%M UTC') on $(hostname)"
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>&1 || echo "nvidia-smi: not available"
  python - <<'PY' 2>&1
import platform, numpy
print("python", platform.python_version(), "numpy", numpy.__version__)
try:
    import cupy
    print("cupy", cupy.__version__, "devices", cupy.cuda.runtime.getDeviceCount(),
          cupy.cuda.runtime.getDeviceProperties(0)["name"].decode())
except Exception as exc:  # noqa: BLE001
    print("cupy unavailable:", type(exc).__name__, exc)
PY
  echo
  echo "## tests: gpu-marked and the numpy twins of the same files"
} > "$OUT"
python -m pytest tests/test_kernels.py tests/test_grid.py tests/test_decision_table.py \
  tests/test_batch.py tests/test_cuda_source.py -m "gpu or not slow" -q -p no:cacheprovider >> "$OUT" 2>&1
TESTS=$?
echo "pytest exit code: $TESTS" >> "$OUT"
{
  echo
  echo "## CLI: fa2-grid --device gpu against --device cpu and fa2 on the shipped pipelines"
} >> "$OUT"
# the same answer (status, cost, lower bound, decision) from the GPU kernel as from the CPU
python - >> "$OUT" 2>&1 <<'PY'
import contextlib, glob, io, json, sys
from fa2opt.cli import main
def answer(path, *opts):
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        try:
            main(["solve", path, "--json", *opts])
        except SystemExit:
            pass
    a = json.loads(buf.getvalue().splitlines()[0])
    return {k: a.get(k) for k in ("status", "cost", "lower_bound", "nodes")}, a.get("solve_ms")
bad = 0
for path in sorted(glob.glob("datasets/pipelines/*.json")):
    gpu, ms_gpu = answer(path, "--method", "fa2-grid", "--grid-ms", "1", "--device", "gpu")
    cpu, ms_cpu = answer(path, "--method", "fa2-grid", "--grid-ms", "1", "--device", "cpu")
    exact, _ = answer(path)
    same = gpu == cpu
    bad += not same
    print(f"{path}: gpu {gpu['status']} {gpu['cost']} ({ms_gpu} ms), cpu {cpu['status']} {cpu['cost']} "
          f"({ms_cpu} ms), fa2 {exact['status']} {exact['cost']}: {'same' if same else 'DIFFERENT'}")
print("CLI check:", "ok" if not bad else f"{bad} differ")
sys.exit(1 if bad else 0)
PY
CLI=$?
[ "$TESTS" -eq 0 ] && TESTS=$CLI
{
  echo
  echo "## large-instance benchmark (scripts/bench_batch.py), CSV: $BATCH_CSV"
} >> "$OUT"
# one 200-node DAG, B = 1 … 65,536 fixings / multiplier vectors, numpy vs Numba vs CuPy (≈ 1 min)
timeout "${BATCH_S:-240}" python scripts/bench_batch.py --devices numpy,numba,cupy \
  --batches 1,16,256,4096,65536 --repeats 3 --budget-s 2 --cap-cpu 65536 --out "$BATCH_CSV" >> "$OUT" 2>&1
echo "bench_batch exit code: $?" >> "$OUT"
{
  echo
  echo "## benchmark (scripts/bench_kernel.py), CSV: $CSV"
} >> "$OUT"
timeout "${KERNEL_S:-420}" python scripts/bench_kernel.py --devices cpu,cpu-numpy,gpu \
  --batches 1,10,100,1000,10000,100000 --grids 500,2000,20000 --repeats 5 \
  --cap-cpu 2e7 --cap-gpu 4e8 --out "$CSV" >> "$OUT" 2>&1
echo "bench exit code: $?" >> "$OUT"
echo "wrote $OUT"
exit $TESTS
