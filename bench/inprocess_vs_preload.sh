#!/usr/bin/env bash
# Memory profiling of bench/workloads/alloc_python.py in preload mode
# (`heapline run --memory-only`) against in-process mode (`heapline.start()`
# in a plain interpreter, GOT patching), and unprofiled; interleaved rounds,
# wall seconds of the whole process. Usage: bash bench/inprocess_vs_preload.sh [PYTHON] [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/.."
py="${1:-python3}"
rounds="${2:-5}"
w=bench/workloads/alloc_python.py
secs() { local t0 t1; t0=$(date +%s.%N); "$@" >/dev/null; t1=$(date +%s.%N); echo "$t1 - $t0" | bc; }
export OPENBLAS_NUM_THREADS=1
for r in $(seq "$rounds"); do
    plain=$(secs "$py" "$w")
    preload=$(secs "$py" -m heapline run --memory-only --no-report "$w")
    inproc=$(secs "$py" -c "import heapline, runpy, sys; heapline.start(cpu=False); sys.argv = ['$w']; runpy.run_path('$w', run_name='__main__')")
    echo "round $r: plain $plain s, preload $preload s, in-process $inproc s"
done
