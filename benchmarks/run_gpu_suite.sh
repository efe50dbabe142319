#!/usr/bin/env bash
# On the GPU machine (see ../shared/device/README.md): the GPU tests, the demo and the GPU benchmarks,
# each writing its output to $OUT (default: ./gpu-out).
#   bash .device/run.sh bash benchmarks/run_gpu_suite.sh [tests|demo|bench]...
set -u
OUT=${OUT:-gpu-out}; mkdir -p "$OUT"
export AST_CANOPY_CACHE_DIR=$(mktemp -d)
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader > "$OUT/gpu.txt" 2>&1
parts=${*:-tests demo bench}
for part in $parts; do
  case $part in
    tests) python3 -m pytest -m gpu -q -rs ${GPU_TESTS:-tests} 2>&1 | tee "$OUT/gpu-tests.txt" | tail -30 ;;
    demo) python3 examples/demo/main.py 2>&1 | tee "$OUT/demo.txt" ;;
    bench)
      python3 benchmarks/call_overhead.py 2>&1 | tee "$OUT/call_overhead.txt"
      python3 benchmarks/bind_latency.py 2>&1 | tee "$OUT/bind_latency.txt" ;;
    *) echo "unknown part $part" ;;
  esac
done
