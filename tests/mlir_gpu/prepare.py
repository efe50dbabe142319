"""Prepares the GPU tests of the numba-cuda-mlir backend for a GPU machine without libclang: run
this where numbast parses headers, then carry `tests/mlir_gpu/generated/` (git-ignored) to the
GPU machine with the checkout, and run the tests there with `NUMBAST_TEST_DECLS` naming it:

    python tests/mlir_gpu/prepare.py
    NUMBAST_TEST_DECLS=tests/mlir_gpu/generated pytest -m gpu -k mlir tests/test_backends.py tests/test_dynamic.py

It writes two things:
- static modules, one per backend, from the same config (`lib_numba_cuda.py`, `lib_mlir.py`, with
  their header), which `test_static_module_runs` imports, and `coop_numba_cuda.py`, `coop_mlir.py`
  (a function that needs a cooperative launch), which `test_cooperative_launch_runs` imports;
- the declarations of the headers the dynamic-mode GPU tests bind (`decls/<path>.<arch>.pickle`,
  ast_canopy's dataclasses pickle as they are): with `NUMBAST_TEST_DECLS` set, conftest.py makes
  `ast_canopy.parse_declarations_from_source` load them instead of parsing.
"""

from __future__ import annotations

import pickle
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
GENERATED = HERE / "generated"
REPO = HERE.parent.parent
ARCH = "sm_80"
# The headers the dynamic-mode GPU tests parse, relative to the repository.
PARSED = [
    "examples/demo/demo.cuh",
    "tests/headers/dynamic/functions.cuh",
    "tests/headers/dynamic/operators.cuh",
    "tests/headers/dynamic/structs.cuh",
    "tests/headers/member_templates.cuh",
]


def pickled_path(folder: Path, header: Path, arch: str) -> Path:
    """Where the declarations of `header` (in this checkout) for `arch` are kept in `folder`."""
    rel = Path(header).resolve().relative_to(REPO)
    return Path(folder) / "decls" / f"{rel.as_posix()}.{arch}.pickle"


def write_declarations(out: Path = GENERATED) -> list:
    from ast_canopy import parse_declarations_from_source

    written = []
    for rel in PARSED:
        header = REPO / rel
        path = pickled_path(out, header, ARCH)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(pickle.dumps(parse_declarations_from_source(str(header), [str(header)], ARCH)))
        written.append(path)
    return written


LIB = r"""
#pragma once
struct Span {
  int lo, hi;
  __device__ Span(int l, int h) : lo(l), hi(h) {}
  __device__ int width() const { return hi - lo; }
  __device__ static int limit() { return 100; }
  __device__ int operator()(int k) const { return lo * k + hi; }
};
__device__ inline Span operator+(const Span &l, const Span &r) { return Span(l.lo + r.lo, l.hi + r.hi); }
enum Tone { Low = 1, High = 2 };
__device__ inline int twice(int x) { return 2 * x; }
__device__ inline float twice(float x) { return 2.0f * x + 0.5f; }
__device__ inline int level(Tone t) { return static_cast<int>(t) * 10; }
__device__ inline Span flipped(Span s) { return Span(s.hi, s.lo); }
__device__ inline void bump(int *p) { *p += 1; }
template <class T> __device__ T ident(T x) { return x; }
"""

BACKENDS = {"numba_cuda": "", "mlir": "MLIR Backend: true\n"}


def _modules(out: Path, stem: str, header: str, text: str, extra_config: str = "") -> dict:
    """Writes `header` (`text`) and one module per backend, `<stem>_<backend>.py`, generated from a
    config naming it (plus `extra_config`) into `out`; returns {backend: module path}."""
    out.mkdir(parents=True, exist_ok=True)
    (out / header).write_text(text)
    paths = {}
    for backend, extra in BACKENDS.items():
        name = f"{stem}_{backend}"
        cfg = out / f"{name}.yml"
        cfg.write_text(f"Entry Point: {header}\nFile List: [{header}]\nGPU Arch: [sm_80]\nOutput Name: {name}\n{extra_config}{extra}")
        r = subprocess.run(
            [sys.executable, "-m", "numbast", "generate", str(cfg), "--output-dir", str(out)], capture_output=True, text=True
        )
        if r.returncode != 0:
            raise SystemExit(f"numbast generate {cfg} failed:\n{r.stderr}")
        paths[backend] = out / f"{name}.py"
    return paths


def generate(out: Path = GENERATED) -> dict:
    """Writes `lib.cuh` and one module per backend into `out`; returns {backend: module path}."""
    return _modules(out, "lib", "lib.cuh", LIB)


COOPERATIVE = r"""
#pragma once
__device__ inline int twice(int x) { return 2 * x; }
__device__ inline int thrice(int x) { return 3 * x; }
"""


def generate_cooperative(out: Path = GENERATED) -> dict:
    """Writes `coop.cuh` and a module per backend into `out` whose `thrice` needs a cooperative
    launch (`Cooperative Launch Required Functions Regex`) and whose `twice` does not; returns
    {backend: module path}."""
    return _modules(out, "coop", "coop.cuh", COOPERATIVE, "Cooperative Launch Required Functions Regex: ['^thr']\n")


if __name__ == "__main__":
    for backend, path in {**generate(), **{f"{b} (cooperative)": p for b, p in generate_cooperative().items()}}.items():
        print(f"{backend}: {path}")
    for path in write_declarations():
        print(f"declarations: {path}")
