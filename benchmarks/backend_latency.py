"""Bind latency and first compile of the two backends, side by side: numba-cuda (`numbast`) and
numba-cuda-mlir (`numbast.mlir`).

For a header of N trivial device functions (`__device__ inline int f_i(int x)`), each figure in a
fresh Python process, the parse cache and each backend's NVRTC cache entries of the shim unit warm
(filled by a first process per backend), median over --repeat processes:

  import   importing the backend's Numba and numbast's API for it;
  bind     `MemoryShimWriter` + `bind_cxx_functions` of all N (the parse is not counted);
  first    the first kernel calling one bound function: compile + link to a cubin for --arch
           (with a GPU too: no launch, so the two backends are timed alike);
  next     a second kernel calling another bound function;
  plain    for reference, the first compile of a kernel that calls no binding, in its own process.

Usage:
  python benchmarks/backend_latency.py [--sizes 1 100] [--repeat 3] [--arch sm_90]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

BACKENDS = ("numba-cuda", "mlir")


def write_header(folder, n):
    path = os.path.join(folder, f"funcs_{n}.cuh")
    with open(path, "w") as f:
        f.write("#pragma once\n")
        f.writelines(f"__device__ inline int f_{i}(int x) {{ return x + {i}; }}\n" for i in range(n))
    return path


def worker(backend, mode, header, arch):
    """One process: prints a JSON line of timings in ms."""
    out = {}
    t = time.perf_counter()
    if backend == "mlir":
        import numba_cuda_mlir.tools as tools
        from numba_cuda_mlir import cuda, types
        from numbast import mlir as api

        cc = (int(arch[3:-1]), int(arch[-1]))
        tools._cached_cc = cc  # the target, asked of no driver

        def compile_kernel(pyfunc):
            return cuda.compile_cubin(pyfunc, (types.int32[::1],), cc=cc)
    else:
        import numbast as api
        from numba import types
        from numbast.testing import link_kernel

        def compile_kernel(pyfunc):
            return link_kernel(pyfunc, (types.int32[::1],), arch).cubin

    from ast_canopy import parse_declarations_from_source

    out["import_ms"] = (time.perf_counter() - t) * 1e3

    def timed_compile(pyfunc):
        t = time.perf_counter()
        cubin = compile_kernel(pyfunc)
        assert cubin[:4] == b"\x7fELF"
        return (time.perf_counter() - t) * 1e3

    if mode == "plain":

        def k0(out):
            out[0] = out[0] + 1

        out["plain_ms"] = timed_compile(k0)
        print(json.dumps(out))
        return
    decls = parse_declarations_from_source(header, [header], arch)
    t = time.perf_counter()
    funcs = api.bind_cxx_functions(api.MemoryShimWriter(f'#include "{header}"'), decls.functions)
    out["bind_ms"] = (time.perf_counter() - t) * 1e3
    fa, fb = funcs[len(funcs) // 2], funcs[-1]

    def ka(out):
        out[0] = fa(out[0])

    def kb(out):
        out[0] = fb(out[0])

    out["first_ms"] = timed_compile(ka)
    out["next_ms"] = timed_compile(kb)
    print(json.dumps(out))


def run(backend, mode, header, arch, cache):
    env = dict(os.environ, AST_CANOPY_CACHE_DIR=cache)
    env.pop("AST_CANOPY_NO_CACHE", None)
    cmd = [sys.executable, os.path.abspath(__file__), "--worker", backend, mode, header, arch]
    p = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if p.returncode != 0:
        raise RuntimeError(f"{backend} {mode} failed:\n{p.stderr[-3000:]}")
    return json.loads(p.stdout.strip().splitlines()[-1])


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        worker(*sys.argv[2:6])
        return 0
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", type=int, nargs="*", default=[1, 100])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--arch", default="sm_90")
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="nbst_backends_")
    cache = os.path.join(tmp, "cache")
    print(f"# bind latency and first compile per backend ({args.arch} cubin, no launch; median of {args.repeat})\n")
    print("| N | backend | import ms | bind ms | first kernel ms | next kernel ms | plain first kernel ms |")
    print("|---:|---|---:|---:|---:|---:|---:|")
    plain = {b: statistics.median(run(b, "plain", "-", args.arch, cache)["plain_ms"] for _ in range(args.repeat)) for b in BACKENDS}
    for n in args.sizes:
        header = write_header(tmp, n)
        for b in BACKENDS:  # fills the parse cache, and the NVRTC cache with each backend's shim unit
            run(b, "bind", header, args.arch, cache)
        for b in BACKENDS:
            rows = [run(b, "bind", header, args.arch, cache) for _ in range(args.repeat)]

            def med(key, rows=rows):
                return statistics.median(r[key] for r in rows)

            print(
                f"| {n} | {b} | {med('import_ms'):.0f} | {med('bind_ms'):.1f} | {med('first_ms'):.0f} | "
                f"{med('next_ms'):.0f} | {plain[b]:.0f} |"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
