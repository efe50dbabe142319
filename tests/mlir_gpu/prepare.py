"""Generates the static modules that the GPU tests of tests/test_backends.py load, so that a GPU
machine without libclang can run them: run this where numbast parses headers, then carry
`tests/mlir_gpu/generated/` (git-ignored) to the GPU machine with the checkout.

    python tests/mlir_gpu/prepare.py

One module per backend, from the same config (`lib_numba_cuda.py`, `lib_mlir.py`, with the header
next to them); the GPU tests import them and check values, with no header parsed at test time.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

HERE = Path(__file__).resolve().parent
GENERATED = HERE / "generated"

LIB = r"""
#pragma once
struct Span {
  int lo, hi;
  __device__ Span(int l, int h) : lo(l), hi(h) {}
  __device__ int width() const { return hi - lo; }
  __device__ static int limit() { return 100; }
};
__device__ inline Span operator+(const Span &l, const Span &r) { return Span(l.lo + r.lo, l.hi + r.hi); }
enum Tone { Low = 1, High = 2 };
__device__ inline int twice(int x) { return 2 * x; }
__device__ inline float twice(float x) { return 2.0f * x + 0.5f; }
__device__ inline int level(Tone t) { return static_cast<int>(t) * 10; }
__device__ inline Span flipped(Span s) { return Span(s.hi, s.lo); }
__device__ inline void bump(int *p) { *p += 1; }
"""

BACKENDS = {"numba_cuda": "", "mlir": "MLIR Backend: true\n"}


def generate(out: Path = GENERATED) -> dict:
    """Writes `lib.cuh` and one module per backend into `out`; returns {backend: module path}."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "lib.cuh").write_text(LIB)
    paths = {}
    for backend, extra in BACKENDS.items():
        name = f"lib_{backend}"
        cfg = out / f"{name}.yml"
        cfg.write_text(
            textwrap.dedent(f"""\
            Entry Point: lib.cuh
            File List: [lib.cuh]
            GPU Arch: [sm_80]
            Output Name: {name}
            """)
            + extra
        )
        r = subprocess.run(
            [sys.executable, "-m", "numbast", "generate", str(cfg), "--output-dir", str(out)], capture_output=True, text=True
        )
        if r.returncode != 0:
            raise SystemExit(f"numbast generate {cfg} failed:\n{r.stderr}")
        paths[backend] = out / f"{name}.py"
    return paths


if __name__ == "__main__":
    for backend, path in generate().items():
        print(f"{backend}: {path}")
