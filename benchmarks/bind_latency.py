"""Binding and JIT latency of Numbast's dynamic mode.

For headers of N = 1, 100, 1000 trivial device functions (`__device__ int f_i(int x) { return x + i; }`)
it times, each in a fresh Python process (so nothing is warm in memory):

  (a) parse, parse cache cold (AST_CANOPY_CACHE_DIR = a new empty folder), plus binding every function
      (`MemoryShimWriter` + `bind_cxx_functions`);
  (b) the same with the parse cache warm (the folder (a) filled);
  (c) the first compile + launch of a kernel that calls one bound function (`out[0] = f_j(out[0])`),
      after (b) in the same process, and then a second kernel calling another function. With no GPU,
      (c) is compile + link to a cubin with `numbast.testing.link_kernel` instead (one link, no
      launch), and the output says so. For reference, the same first/second compile for a plain Numba kernel that calls
      no binding (`out[0] = out[0] + 1`).

  (d) Numbast's share of the first kernel that calls a bound function: in a process that has first
      compiled two plain Numba kernels (the first pays Numba's one-time initialization), the first
      bound kernel's compile (+ launch) minus the second plain kernel's; with the NVRTC disk cache
      empty, and warm. Targets on the GPU machine: <= 20 ms at N = 1, <= 30 ms at N = 1000.
  (e) `cuda.jit(cache=True)`: a kernel module calling a bound function, run in two fresh processes
      sharing NUMBA_CACHE_DIR; the second must load the kernel from Numba's cache with no NVRTC call
      and give the same values (GPU only: Numba's cache needs a device).

The NVRTC disk cache's look-ups, hit rate, entries and size are printed for (c) and (d).
Imports (numba, numbast) are timed separately and are not part of (a)-(e). Every figure is the
median over --repeat processes.

Usage:
  python benchmarks/bind_latency.py [--sizes 1 100 1000] [--repeat 3] [--arch sm_XY]
  python benchmarks/bind_latency.py --profile 1000    # cProfile of a cold parse + bind, top 25

--arch defaults to the GPU's compute capability, or sm_90 without a GPU.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time


def write_header(folder, n, inline=False):
    path = os.path.join(folder, f"funcs_{n}.cuh")
    spec = "__device__ inline" if inline else "__device__"
    with open(path, "w") as f:
        f.write("#pragma once\n")
        f.writelines(f"{spec} int f_{i}(int x) {{ return x + {i}; }}\n" for i in range(n))
    return path


def count_files(folder):
    return sum(len(files) for _, _, files in os.walk(folder))


# ----------------------------------------------------------------------------- worker (one process)


CACHED_KERNEL = """
from ast_canopy import parse_declarations_from_source
from numba import cuda
from numbast import MemoryShimWriter, bind_cxx_functions

HEADER = {header!r}
decls = parse_declarations_from_source(HEADER, [HEADER], {arch!r})
f = bind_cxx_functions(MemoryShimWriter('#include "' + HEADER + '"'), decls.functions)[{j}]


@cuda.jit(cache=True)
def kernel(out):
    out[0] = f(out[0])
"""


def cache_true_worker(folder):
    """Runs in a fresh process: imports the kernel module in `folder`, launches it once, and prints
    its value, the time of that first launch, the NVRTC calls made and Numba's cache hits."""
    from numba.cuda.cudadrv import nvrtc

    real, calls = nvrtc.Program, []

    def counting(src, code_type, options=None):  # every NVRTC program, whichever path makes it
        calls.append(getattr(options, "name", None))
        return real(src, code_type, options=options)

    nvrtc.Program = counting
    import numpy as np
    from numba import cuda

    sys.path.insert(0, folder)
    cuda.current_context()
    t = time.perf_counter()
    import cached_kernel

    bind_ms = (time.perf_counter() - t) * 1e3
    d_out = cuda.to_device(np.array([5], dtype=np.int32))
    cuda.synchronize()
    t = time.perf_counter()
    cached_kernel.kernel[1, 1](d_out)
    cuda.synchronize()
    launch_ms = (time.perf_counter() - t) * 1e3
    hits = sum(cached_kernel.kernel.stats.cache_hits.values())
    print(
        json.dumps(dict(value=int(d_out.copy_to_host()[0]), bind_ms=bind_ms, first_launch_ms=launch_ms, nvrtc_calls=len(calls), hits=hits))
    )


def nvrtc_cache_figures(out):
    from numbast._nvrtc_cache import nvrtc_cache_stats

    stats = nvrtc_cache_stats()
    out.update(cache_hits=stats["hits"], cache_misses=stats["misses"], cache_entries=stats["entries"], cache_bytes=stats["bytes"])


def worker(mode, header, n, arch):
    """Runs in a fresh process; prints one JSON line of timings in ms."""
    out = {}
    t = time.perf_counter()
    import numpy as np
    from ast_canopy import parse_declarations_from_source
    from numba import cuda, types
    from numbast import MemoryShimWriter, bind_cxx_functions

    out["import_ms"] = (time.perf_counter() - t) * 1e3
    gpu = cuda.is_available()
    if gpu:
        cuda.current_context()  # context creation is not part of any figure

    def compile_and_run(pyfunc):
        """First compile (+ launch on a GPU); returns (ms, result or None)."""
        if gpu:
            d_out = cuda.to_device(np.array([5], dtype=np.int32))
            cuda.synchronize()
            t = time.perf_counter()
            cuda.jit(pyfunc)[1, 1](d_out)
            cuda.synchronize()
            ms = (time.perf_counter() - t) * 1e3
            return ms, int(d_out.copy_to_host()[0])
        from numbast.testing import link_kernel

        t = time.perf_counter()
        link_kernel(pyfunc, (types.int32[::1],), arch, ptx=False)  # one link, as a launch
        return (time.perf_counter() - t) * 1e3, None

    if mode == "baseline":  # plain Numba kernels: what any first compile costs

        def k0(out):
            out[0] = out[0] + 1

        def k1(out):
            out[0] = out[0] + 2

        out["first_ms"], r0 = compile_and_run(k0)
        out["second_ms"], r1 = compile_and_run(k1)
        out["ok"] = not gpu or (r0, r1) == (6, 7)
        print(json.dumps(out))
        return

    t = time.perf_counter()
    decls = parse_declarations_from_source(header, [header], arch)
    out["parse_ms"] = (time.perf_counter() - t) * 1e3
    t = time.perf_counter()
    shim_writer = MemoryShimWriter(f'#include "{header}"')
    funcs = bind_cxx_functions(shim_writer, decls.functions)
    out["bind_ms"] = (time.perf_counter() - t) * 1e3
    out["bound"] = len(funcs)
    out["ok"] = len(funcs) == n

    if mode in ("jit", "jit_warm"):
        j0, j1 = n // 2, n - 1 if n > 1 else 0
        fa, fb = funcs[j0], funcs[j1]

        def ka(out):
            out[0] = fa(out[0])

        def kb(out):
            out[0] = fb(out[0])

        if mode == "jit_warm":  # Numba's one-time initialization paid by a plain kernel first

            def k0(out):
                out[0] = out[0] + 0

            def k1(out):
                out[0] = out[0] + 3

            out["plain_ms"], _ = compile_and_run(k0)
            out["plain_second_ms"], r1 = compile_and_run(k1)
            out["ok"] = out["ok"] and (not gpu or r1 == 8)
        out["first_ms"], ra = compile_and_run(ka)
        out["second_ms"], rb = compile_and_run(kb)
        out["ok"] = out["ok"] and (not gpu or (ra, rb) == (5 + j0, 5 + j1))
        if mode == "jit_warm":
            out["share_ms"] = out["first_ms"] - out["plain_second_ms"]
        nvrtc_cache_figures(out)
    print(json.dumps(out))


# ----------------------------------------------------------------------------- driver


def run_worker(mode, header, n, arch, cache_dir, extra_env=None):
    env = dict(os.environ, AST_CANOPY_CACHE_DIR=cache_dir, **(extra_env or {}))
    env.pop("AST_CANOPY_NO_CACHE", None)
    cmd = [sys.executable, os.path.abspath(__file__), "--worker", mode, header or "-", str(n), arch]
    p = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if p.returncode != 0:
        raise RuntimeError(f"worker {mode} N={n} failed:\n{p.stderr[-4000:]}")
    return json.loads(p.stdout.strip().splitlines()[-1])


def machine():
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    try:
        ncpu = len(os.sched_getaffinity(0))
    except AttributeError:
        ncpu = os.cpu_count()
    from numba import cuda

    gpu = None
    if cuda.is_available():
        dev = cuda.get_current_device()
        name = dev.name.decode() if isinstance(dev.name, bytes) else dev.name
        gpu = (name, f"sm_{dev.compute_capability[0]}{dev.compute_capability[1]}")
    return cpu, ncpu, gpu


def med(rows, key):
    vals = [r[key] for r in rows if key in r]
    return statistics.median(vals) if vals else float("nan")


def profile(n, arch):
    """cProfile of a cold-cache parse + bind of N functions, in this process."""
    import cProfile
    import pstats

    tmp = tempfile.mkdtemp(prefix="nbst_bench_")
    os.environ["AST_CANOPY_CACHE_DIR"] = os.path.join(tmp, "cache")
    os.environ.pop("AST_CANOPY_NO_CACHE", None)
    header = write_header(tmp, n)
    from ast_canopy import parse_declarations_from_source
    from numbast import MemoryShimWriter, bind_cxx_functions

    def go():
        decls = parse_declarations_from_source(header, [header], arch)
        bind_cxx_functions(MemoryShimWriter(f'#include "{header}"'), decls.functions)

    prof = cProfile.Profile()
    t = time.perf_counter()
    prof.runcall(go)
    print(f"cold parse + bind of N={n} under cProfile: {(time.perf_counter() - t) * 1e3:.0f} ms\n")
    pstats.Stats(prof).sort_stats("cumulative").print_stats(25)
    pstats.Stats(prof).sort_stats("tottime").print_stats(15)
    shutil.rmtree(tmp, ignore_errors=True)


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        _, _, mode, header, n, arch = sys.argv
        if mode == "cache_true":
            cache_true_worker(header)
        else:
            worker(mode, None if header == "-" else header, int(n), arch)
        return 0

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[1, 100, 1000])
    ap.add_argument("--repeat", type=int, default=3, help="processes per figure (median reported)")
    ap.add_argument("--arch", default=None, help="compute capability to parse for (default: the GPU's, else sm_90)")
    ap.add_argument(
        "--inline", action="store_true", help="define the functions `__device__ inline` (as library headers do) instead of `__device__`"
    )
    ap.add_argument("--profile", type=int, metavar="N", help="profile a cold parse + bind of N functions instead")
    args = ap.parse_args()

    cpu, ncpu, gpu = machine()
    arch = args.arch or (gpu[1] if gpu else "sm_90")
    if args.profile:
        profile(args.profile, arch)
        return 0

    tmp = tempfile.mkdtemp(prefix="nbst_bench_")
    try:
        results, baseline, after_plain, after_plain_cached, cache_true = {}, [], {}, {}, {}
        for _ in range(args.repeat):
            baseline.append(run_worker("baseline", None, 0, arch, os.path.join(tmp, "unused")))
        # The first parse ever for an arch also builds the precompiled CUDA preamble (<cache>/pch),
        # which later parses of any header reuse: measure it once, then give every cold run a parse
        # cache that is empty apart from that preamble.
        seed = os.path.join(tmp, "seed")
        first_ever = run_worker("bind", write_header(tmp, 1), 1, arch, seed)
        for n in args.sizes:
            header = write_header(tmp, n, args.inline)
            cold, warm, jit, jit_warm, jit_warm_cached = [], [], [], [], []
            for r in range(args.repeat):
                cache = os.path.join(tmp, f"cache_{n}_{r}")  # fresh: parse cache cold
                if os.path.isdir(os.path.join(seed, "pch")):
                    os.makedirs(cache)
                    os.symlink(os.path.join(seed, "pch"), os.path.join(cache, "pch"))
                cold.append(run_worker("bind", header, n, arch, cache))
                cold[-1]["cache_files"] = count_files(cache)
                warm.append(run_worker("bind", header, n, arch, cache))
                warm[-1]["new_cache_files"] = count_files(cache) - cold[-1]["cache_files"]
                jit.append(run_worker("jit", header, n, arch, cache))
                shutil.rmtree(os.path.join(cache, "nvrtc"), ignore_errors=True)  # (d) with the NVRTC cache empty
                jit_warm.append(run_worker("jit_warm", header, n, arch, cache))
                jit_warm_cached.append(run_worker("jit_warm", header, n, arch, cache))
            results[n] = (cold, warm, jit)
            after_plain[n] = jit_warm
            after_plain_cached[n] = jit_warm_cached
            if gpu:
                folder = os.path.join(tmp, f"cache_true_{n}")
                os.makedirs(folder)
                with open(os.path.join(folder, "cached_kernel.py"), "w") as f:
                    f.write(CACHED_KERNEL.format(header=header, arch=arch, j=n // 2))
                env = {"NUMBA_CACHE_DIR": os.path.join(folder, "numba_cache")}
                cache = os.path.join(tmp, f"cache_{n}_0")
                cache_true[n] = [run_worker("cache_true", folder, n, arch, cache, env) for _ in range(2)]
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    print(f"functions defined `{'__device__ inline' if args.inline else '__device__'}`")
    print(f"first parse ever (builds the precompiled CUDA preamble), N=1: {first_ever['parse_ms'] + first_ever['bind_ms']:.0f} ms\n")
    what = "first compile + launch" if gpu else "first compile + link (no GPU: link_kernel, no launch)"
    print("# bind latency (Numbast dynamic mode)\n")
    print(
        f"machine: {ncpu} CPUs ({cpu}); GPU: {gpu[0] + ' (' + gpu[1] + ')' if gpu else 'none'}; "
        f"parsed for {arch}; median of {args.repeat} fresh processes per figure"
    )
    if not gpu:
        print("no GPU: column (c) is compile + link to a cubin with numbast.testing.link_kernel (one link), not a launch")
    print(f"imports (numba + numbast, not counted below): {med([x for c, w, j in results.values() for x in c], 'import_ms'):.0f} ms\n")

    print(
        f"| N | (a) parse cold ms | bind ms | (a) parse+bind cold ms | (b) parse warm ms | bind ms | "
        f"(b) parse+bind warm ms | (c) {what} ms | next kernel ms |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    ok = all(b["ok"] for b in baseline)
    for n, (cold, warm, jit) in results.items():
        for c in cold:
            c["total"] = c["parse_ms"] + c["bind_ms"]
        for w in warm:
            w["total"] = w["parse_ms"] + w["bind_ms"]
        ok = ok and all(x["ok"] for x in cold + warm + jit)
        print(
            f"| {n} | {med(cold, 'parse_ms'):.0f} | {med(cold, 'bind_ms'):.0f} | {med(cold, 'total'):.0f} | "
            f"{med(warm, 'parse_ms'):.0f} | {med(warm, 'bind_ms'):.0f} | {med(warm, 'total'):.0f} | "
            f"{med(jit, 'first_ms'):.0f} | {med(jit, 'second_ms'):.0f} |"
        )
    print(f"| plain Numba kernel, no binding | | | | | | | {med(baseline, 'first_ms'):.0f} | {med(baseline, 'second_ms'):.0f} |")

    print(
        f"\n(d) Numbast's share: in a process that has already compiled two plain Numba kernels (the first "
        f"pays Numba's one-time initialization), {what} of the first kernel calling a bound function, minus "
        f"that of the second plain kernel\n"
    )
    print(
        "| N | plain kernel first ms | plain kernel second ms | bound kernel first ms | Numbast's share ms, NVRTC cache empty "
        "| same, NVRTC cache warm | NVRTC cache look-ups (hits) | entries | size KiB |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for n, rows in after_plain.items():
        cached = after_plain_cached[n]
        ok = ok and all(x["ok"] for x in rows + cached)
        looked = med(cached, "cache_hits") + med(cached, "cache_misses")
        print(
            f"| {n} | {med(rows, 'plain_ms'):.0f} | {med(rows, 'plain_second_ms'):.0f} | {med(rows, 'first_ms'):.0f} | "
            f"{med(rows, 'share_ms'):.0f} | {med(cached, 'share_ms'):.0f} | {looked:.0f} ({med(cached, 'cache_hits'):.0f}) | "
            f"{med(cached, 'cache_entries'):.0f} | {med(cached, 'cache_bytes') / 1024:.0f} |"
        )
    limits = {1: 20, 1000: 30}
    verdicts = []
    for n, limit in limits.items():
        if n in after_plain:
            share = med(after_plain[n], "share_ms")
            verdicts.append(f"N={n}: {share:.0f} ms (<= {limit}): {'met' if share <= limit else 'NOT met'}")
    if verdicts:
        tag = "" if gpu else " (targets are for the GPU machine; this one has none)"
        print(f"\ntargets for Numbast's share, NVRTC cache empty{tag}: " + "; ".join(verdicts))

    print("\n(e) cuda.jit(cache=True), two fresh processes sharing NUMBA_CACHE_DIR\n")
    if not gpu:
        print("skipped: no GPU (Numba's kernel cache needs a device)")
    else:
        print("| N | first process: first launch ms, NVRTC calls | second process: first launch ms, NVRTC calls, cache hits | same value |")
        print("|---:|---:|---:|---:|")
        for n, (first, second) in cache_true.items():
            same = first["value"] == second["value"] == 5 + n // 2
            ok = ok and same and second["nvrtc_calls"] == 0 and second["hits"] >= 1
            print(
                f"| {n} | {first['first_launch_ms']:.0f}, {first['nvrtc_calls']} | {second['first_launch_ms']:.0f}, "
                f"{second['nvrtc_calls']}, {second['hits']} | {'yes' if same else 'NO'} |"
            )

    cache_ok = all(c["cache_files"] > 0 for cold, _, _ in results.values() for c in cold) and all(
        w["new_cache_files"] == 0 for _, warm, _ in results.values() for w in warm
    )
    print(
        f"\nchecks: every function bound{' and kernels returned the right values' if gpu else ''}: "
        f"{'yes' if ok else 'NO'}; cold runs wrote the parse cache and warm runs added nothing: "
        f"{'yes' if cache_ok else 'NO'}"
    )
    if max(args.sizes) >= 1000 and 1000 in results:
        cold, _, jit = results[1000]
        tag = "" if gpu else " (targets are for the GPU machine; this one has none)"
        print(
            f"targets at N=1000{tag}: parse+bind cold {med(cold, 'total'):.0f} ms (<= 300): "
            f"{'met' if med(cold, 'total') <= 300 else 'NOT met'}; "
            f"{what} {med(jit, 'first_ms'):.0f} ms (<= 600): {'met' if med(jit, 'first_ms') <= 600 else 'NOT met'}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
