"""Compile latency of kernels that use a class template (cub::BlockScan) through Numbast.

In each fresh Python process (nothing warm in memory; the parse cache is warm after a first,
untimed process):

  (a) parse cub/block/block_scan.cuh and bind cub::BlockScan;
  (b) the first compile of a kernel that uses a new instantiation, BlockScan<int, 128>: the layout
      probe of the instantiation (libclang on the header precompiled once, or NVRTC with
      NUMBAST_TEMPLATE_PROBE=nvrtc; timed on its own), typing, lowering, NVRTC of the shim unit
      (which includes CUB) and the link; with a GPU, also the launch, and the result is checked
      against NumPy;
  (c) a second kernel with the same instantiation and another method (no probe; the shim unit
      gains one shim, so NVRTC compiles it again), and a third calling only methods already used
      (the shim unit's text is unchanged: numba-cuda reuses its NVRTC output);
  (d) baseline, in the same process: the equivalent CUDA C++ kernel (`__global__`, cub::BlockScan
      directly) compiled by NVRTC to LTO-IR and linked by nvJitLink to a cubin, as a CUDA C++ user
      would build it at run time.

Without a GPU, (b) and (c) are compile + link to a cubin with `numbast.testing.link_kernel` (one
link, as a launch and the baseline do) and the output says so. Figures are medians over --repeat processes.

Usage:
  python benchmarks/template_bench.py [--repeat 3] [--arch sm_XY]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time

BLOCK = 128
NATIVE = r"""
#include <cub/block/block_scan.cuh>
extern "C" __global__ void scan(const int *values, int *out)
{
    using BlockScan = cub::BlockScan<int, 128>;
    __shared__ BlockScan::TempStorage temp;
    int i = blockIdx.x * 128 + threadIdx.x;
    int y;
    BlockScan(temp).InclusiveSum(values[i], y);
    out[i] = y;
}
"""


def worker(arch, plain_first=False):
    """Runs in a fresh process; prints one JSON line of timings in ms."""
    out = {}
    t = time.perf_counter()
    import ast_canopy
    import numpy as np
    from ast_canopy import parse_declarations_from_source
    from numba import cuda, types
    from numbast import MemoryShimWriter, _template_probe, bind_cxx_class_templates

    out["import_ms"] = (time.perf_counter() - t) * 1e3
    gpu = cuda.is_available()
    if gpu:
        cuda.current_context()

    probe = {"ms": 0.0, "count": 0}
    real_probe = _template_probe.probe_values

    def timed_probe(*args, **kwargs):
        t = time.perf_counter()
        try:
            return real_probe(*args, **kwargs)
        finally:
            probe["ms"] += (time.perf_counter() - t) * 1e3
            probe["count"] += 1

    _template_probe.probe_values = timed_probe

    cccl = next(d for d in ast_canopy.cuda_include_dirs() if d.endswith("cccl"))
    header = os.path.join(cccl, "cub", "block", "block_scan.cuh")
    t = time.perf_counter()
    decls = parse_declarations_from_source(header, [header], arch)
    writer = MemoryShimWriter("#include <cub/block/block_scan.cuh>")
    (BlockScan,) = bind_cxx_class_templates(
        [c for c in decls.class_templates if c.qual_name == "cub::BlockScan"], header, writer,
        arg_intent={"BlockScan": {"InclusiveSum": {"output": "out_return"}, "ExclusiveSum": {"output": "out_return"}}},
    )  # fmt: skip
    out["parse_bind_ms"] = (time.perf_counter() - t) * 1e3

    values = np.random.default_rng(0).integers(0, 100, 64 * BLOCK).astype(np.int32)

    def compile_and_run(pyfunc, expected):
        t = time.perf_counter()
        if gpu:
            d_values, d_out = cuda.to_device(values), cuda.to_device(np.zeros_like(values))
            cuda.synchronize()
            t = time.perf_counter()
            cuda.jit(pyfunc)[values.size // BLOCK, BLOCK](d_values, d_out)
            cuda.synchronize()
            ms = (time.perf_counter() - t) * 1e3
            return ms, bool(np.array_equal(d_out.copy_to_host(), expected))
        from numbast.testing import link_kernel

        link_kernel(pyfunc, (types.int32[::1], types.int32[::1]), arch, ptx=False)  # one link, as a launch
        return (time.perf_counter() - t) * 1e3, True

    blocks = values.reshape(-1, BLOCK)
    inclusive = np.cumsum(blocks, axis=1, dtype=np.int32).ravel()

    # The block-size parameter is `BLOCK_DIM_X` in CCCL 13.0 and `BlockDimX` in 13.3: the kernels
    # name it as the parsed header does.
    (scan_decl,) = [c for c in decls.class_templates if c.qual_name == "cub::BlockScan"]
    dim = scan_decl.template_parameters[1].name
    kernels = {}
    exec(
        textwrap.dedent(f"""
        def first(values, out):  # instantiates BlockScan<int, 128> while it is typed
            BS = BlockScan(T=types.int32, {dim}=BLOCK)
            i = cuda.grid(1)
            out[i] = BS.InclusiveSum(values[i])

        def second(values, out):
            BS = BlockScan(T=types.int32, {dim}=BLOCK)
            i = cuda.grid(1)
            out[i] = BS.ExclusiveSum(values[i])

        def third(values, out):
            BS = BlockScan(T=types.int32, {dim}=BLOCK)
            i = cuda.grid(1)
            out[i] = BS.InclusiveSum(values[i]) - values[i]
        """),
        dict(BlockScan=BlockScan, types=types, cuda=cuda, BLOCK=BLOCK),
        kernels,
    )
    first, second, third = kernels["first"], kernels["second"], kernels["third"]

    if plain_first:  # Numba's one-time initialization, which any first kernel pays, paid apart

        def plain(values, out):
            i = cuda.grid(1)
            out[i] = values[i]

        out["plain_ms"], _ = compile_and_run(plain, values)
    out["first_ms"], ok1 = compile_and_run(first, inclusive)
    out["probe_ms"], out["probes_first"] = probe["ms"], probe["count"]
    out["second_ms"], ok2 = compile_and_run(second, inclusive - values)
    out["third_ms"], ok3 = compile_and_run(third, inclusive - values)
    out["probes_later"] = probe["count"] - out["probes_first"]
    out["ok"] = ok1 and ok2 and ok3 and out["probes_first"] >= 1 and out["probes_later"] == 0

    from cuda.core import Linker, LinkerOptions, ObjectCode
    from numba.cuda.cudadrv import nvrtc

    major, minor = int(arch[3:-1]), int(arch[-1])
    t = time.perf_counter()
    ltoir, _log = nvrtc.compile(NATIVE, "native_scan.cu", (major, minor), ltoir=True)
    objects = [ObjectCode.from_ltoir(ltoir.code, name="native")]
    Linker(*objects, options=LinkerOptions(arch=arch, link_time_optimization=True)).link("cubin")
    out["native_ms"] = (time.perf_counter() - t) * 1e3
    out["gpu"] = gpu
    from numbast._nvrtc_cache import nvrtc_cache_stats

    stats = nvrtc_cache_stats()
    out.update(cache_hits=stats["hits"], cache_misses=stats["misses"], cache_bytes=stats["bytes"], cache_entries=stats["entries"])
    print(json.dumps(out))


def remove_header_pchs(folder):
    """Deletes the precompiled headers of probes (`ast_canopy.evaluate_constants`), whose main file
    is a header's `#include` lines, and keeps the CUDA preamble's (an empty main file)."""
    for name in os.listdir(folder) if os.path.isdir(folder) else []:
        if name.endswith(".cu") and os.path.getsize(os.path.join(folder, name)) > 0:
            stem = name[:-3]
            for ext in (".cu", ".pch", ".json"):
                with contextlib.suppress(OSError):
                    os.unlink(os.path.join(folder, stem + ext))


def run_worker(arch, cache_dir, plain_first=False):
    env = dict(os.environ, AST_CANOPY_CACHE_DIR=cache_dir)
    env.pop("AST_CANOPY_NO_CACHE", None)
    p = subprocess.run([sys.executable, os.path.abspath(__file__), "--worker", arch] + (["plain"] if plain_first else []), env=env,
                       capture_output=True, text=True)  # fmt: skip
    if p.returncode != 0:
        raise RuntimeError(f"worker failed:\n{p.stderr[-4000:]}")
    return json.loads(p.stdout.strip().splitlines()[-1])


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        worker(sys.argv[2], plain_first=sys.argv[3:] == ["plain"])
        return 0
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeat", type=int, default=3, help="processes per figure (median reported)")
    ap.add_argument("--arch", default=None, help="compute capability (default: the GPU's, else sm_80)")
    args = ap.parse_args()
    from numba import cuda

    gpu = None
    if cuda.is_available():
        cc = cuda.get_current_device().compute_capability
        gpu = f"sm_{cc[0]}{cc[1]}"
    arch = args.arch or gpu or "sm_80"
    with tempfile.TemporaryDirectory(prefix="nbst_tpl_bench_") as tmp:
        cache = os.path.join(tmp, "cache")
        run_worker(arch, cache)  # untimed: fills the parse cache (and the NVRTC cache)
        cold = []
        for _ in range(args.repeat):  # parse cache warm, NVRTC cache empty
            shutil.rmtree(os.path.join(cache, "nvrtc"), ignore_errors=True)
            cold.append(run_worker(arch, cache))
        rows = [run_worker(arch, cache) for _ in range(args.repeat)]  # a second process: both warm
        cold_plain = []
        for _ in range(args.repeat):  # NVRTC cache empty, a plain Numba kernel compiled first
            shutil.rmtree(os.path.join(cache, "nvrtc"), ignore_errors=True)
            cold_plain.append(run_worker(arch, cache, plain_first=True))
        bare = []
        for _ in range(args.repeat):  # parse cache and CUDA preamble warm; NVRTC cache and header PCHs empty
            shutil.rmtree(os.path.join(cache, "nvrtc"), ignore_errors=True)
            remove_header_pchs(os.path.join(cache, "pch"))
            bare.append(run_worker(arch, cache))

    def med(key, rows=rows):
        return statistics.median(r[key] for r in rows)

    what = "compile + launch" if gpu else "compile + link to a cubin (no GPU: link_kernel, no launch)"
    print("# class template compile latency (cub::BlockScan<int, 128>)\n")
    print(f"arch {arch}; GPU: {gpu or 'none'}; median of {args.repeat} fresh processes; parse cache warm\n")
    print("| figure | ms | vs native CUDA C++ |")
    print("|---|---:|---:|")
    native = med("native_ms")
    print(f"| parse + bind cub::BlockScan | {med('parse_bind_ms'):.0f} | |")
    print(f"| first kernel, new instantiation ({what}) | {med('first_ms'):.0f} | {med('first_ms') / native:.2f}x |")
    print(
        f"|   of which the layout probe ({os.environ.get('NUMBAST_TEMPLATE_PROBE', 'clang')}) | {med('probe_ms'):.0f} | {med('probe_ms') / native:.2f}x |"
    )
    print(f"| second kernel, same instantiation, one more method | {med('second_ms'):.0f} | {med('second_ms') / native:.2f}x |")
    print(f"| third kernel, same instantiation and methods | {med('third_ms'):.0f} | {med('third_ms') / native:.2f}x |")
    print(
        f"| first kernel, NVRTC cache empty ({what}) | {med('first_ms', cold):.0f} | "
        f"{med('first_ms', cold) / med('native_ms', cold):.2f}x |"
    )
    print(
        f"| first kernel, NVRTC cache empty, after a plain Numba kernel (Numba's one-time initialization, "
        f"{med('plain_ms', cold_plain):.0f} ms, paid apart) | {med('first_ms', cold_plain):.0f} | "
        f"{med('first_ms', cold_plain) / med('native_ms', cold_plain):.2f}x |"
    )
    print(
        f"| first kernel, NVRTC cache and the probe's header PCH empty | {med('first_ms', bare):.0f} | "
        f"{med('first_ms', bare) / med('native_ms', bare):.2f}x |"
    )
    print(f"| native: NVRTC (LTO-IR) + nvJitLink of the same scan in CUDA C++ | {native:.0f} | 1.00x |")
    print(
        f"\nimports (not counted): {med('import_ms'):.0f} ms; probes per process: first kernel "
        f"{rows[0]['probes_first']}, later kernels {rows[0]['probes_later']}; "
        f"{'results checked against NumPy' if gpu else 'no GPU: results not checked'}: "
        f"{'ok' if all(r['ok'] for r in rows) else 'FAILED'}"
    )
    last = rows[-1]
    looked = last["cache_hits"] + last["cache_misses"]
    print(
        f"NVRTC cache, second process: {last['cache_hits']} hits / {looked} look-ups "
        f"({last['cache_hits'] / looked:.0%} hit rate), {last['cache_entries']} entries, "
        f"{last['cache_bytes'] / 2**20:.1f} MiB; empty cache: {cold[-1]['cache_misses']} misses"
    )
    return 0 if all(r["ok"] for r in rows + cold + cold_plain + bare) else 1


if __name__ == "__main__":
    sys.exit(main())
