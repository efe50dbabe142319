"""Time and memory of binding a large header in memory (dynamic mode).

A header of N (default 20,000) non-inline `__device__ int f_i(int x)` functions. A first process
fills the parse cache (not timed); then each of --repeat fresh processes parses it (a parse cache
hit) and binds every function with `bind_cxx_functions`, and reports:

  - parse: time, and the growth of the resident set (declarations as Python objects);
  - bind: time, and peak memory, as the growth of the process's peak resident set over its
    resident set before the bind (what binding adds at its worst), and the total peak;
  - the first typing of a call of a bound function (its typing template is made then).

Target (issue 13): bind in at most 1.0 s and 150 MiB. Imports are not counted.

Usage:
  python benchmarks/bind_large.py [--n 20000] [--repeat 3] [--arch sm_80]
  python benchmarks/bind_large.py --profile      # cProfile of one bind, top 25
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time


def write_header(folder, n):
    path = os.path.join(folder, f"big_{n}.cuh")
    with open(path, "w") as f:
        f.write("#pragma once\n")
        f.writelines(f"__device__ int f_{i}(int x) {{ return x + {i}; }}\n" for i in range(n))
    return path


def rss_mib():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def peak_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def worker(header, n, arch, profile):
    out = {}
    t = time.perf_counter()
    from ast_canopy import parse_declarations_from_source
    from numba import types
    from numba.cuda.descriptor import cuda_target
    from numbast import MemoryShimWriter, bind_cxx_functions

    out["import_ms"] = (time.perf_counter() - t) * 1e3
    before = rss_mib()
    t = time.perf_counter()
    decls = parse_declarations_from_source(header, [header], arch)
    out["parse_ms"] = (time.perf_counter() - t) * 1e3
    out["parse_mib"] = rss_mib() - before
    before = rss_mib()
    # The peak resident set only grows: the bind's peak is visible only if it exceeds the peak
    # so far. Parsing peaks well below what binding keeps, so report the growth when it does.
    peak_before = peak_mib()
    shim_writer = MemoryShimWriter(f'#include "{header}"')
    if profile:
        import cProfile
        import pstats

        prof = cProfile.Profile()
        t = time.perf_counter()
        funcs = prof.runcall(bind_cxx_functions, shim_writer, decls.functions)
        print(f"bind of N={n} under cProfile: {(time.perf_counter() - t) * 1e3:.0f} ms\n")
        pstats.Stats(prof).sort_stats("cumulative").print_stats(25)
        pstats.Stats(prof).sort_stats("tottime").print_stats(20)
        return
    t, cpu = time.perf_counter(), time.process_time()
    funcs = bind_cxx_functions(shim_writer, decls.functions)
    out["bind_ms"] = (time.perf_counter() - t) * 1e3
    out["bind_cpu_ms"] = (time.process_time() - cpu) * 1e3
    out["bind_rss_mib"] = rss_mib() - before
    peak = peak_mib()
    out["bind_peak_mib"] = peak - before if peak > peak_before else float("nan")
    out["peak_mib"] = peak
    out["bound"] = len(funcs)
    # The first typing of a call of one of them (numba-cuda's typing context resolves the callable).
    ctx = cuda_target.typing_context
    ctx.refresh()
    f = funcs[n // 2]
    t = time.perf_counter()
    sig = ctx.resolve_function_type(f._numba_type_, (types.int32,), {})
    out["first_typing_ms"] = (time.perf_counter() - t) * 1e3
    out["ok"] = len(funcs) == n and sig is not None and sig.return_type == types.int32
    print(json.dumps(out))


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
    return cpu, len(os.sched_getaffinity(0))


def run_worker(header, n, arch, cache, profile=False):
    env = dict(os.environ, AST_CANOPY_CACHE_DIR=cache)
    env.pop("AST_CANOPY_NO_CACHE", None)
    cmd = [sys.executable, os.path.abspath(__file__), "--worker", header, str(n), arch] + (["--profile"] if profile else [])
    p = subprocess.run(cmd, env=env, capture_output=not profile, text=True)
    if p.returncode != 0:
        raise RuntimeError(f"worker failed:\n{(p.stderr or '')[-4000:]}")
    return None if profile else json.loads(p.stdout.strip().splitlines()[-1])


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        header, n, arch = sys.argv[2:5]
        worker(header, int(n), arch, "--profile" in sys.argv[5:])
        return 0
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=20_000)
    ap.add_argument("--repeat", type=int, default=3, help="processes (median reported)")
    ap.add_argument("--arch", default="sm_80")
    ap.add_argument("--profile", action="store_true", help="cProfile one bind instead")
    args = ap.parse_args()

    tmp = tempfile.mkdtemp(prefix="nbst_bind_large_")
    try:
        header = write_header(tmp, args.n)
        cache = os.path.join(tmp, "cache")
        run_worker(header, args.n, args.arch, cache)  # fills the parse cache
        if args.profile:
            run_worker(header, args.n, args.arch, cache, profile=True)
            return 0
        rows = [run_worker(header, args.n, args.arch, cache) for _ in range(args.repeat)]
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    def med(key):
        return statistics.median(r[key] for r in rows)

    cpu, ncpu = machine()
    print(f"# binding {args.n} functions in memory (dynamic mode)\n")
    print(f"machine: {ncpu} CPUs ({cpu}); Python {platform.python_version()}; median of {args.repeat} fresh processes\n")
    print(f"load average at the end: {os.getloadavg()[0]:.1f} (bind CPU ms: the process's own CPU time, less sensitive to load)\n")
    print(
        "| parse (cache hit) ms | parse +RSS MiB | bind ms | bind CPU ms | bind +RSS MiB | bind peak MiB | process peak MiB "
        "| first typing of a call ms |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    print(
        f"| {med('parse_ms'):.0f} | {med('parse_mib'):.0f} | {med('bind_ms'):.0f} | {med('bind_cpu_ms'):.0f} | {med('bind_rss_mib'):.0f} | "
        f"{med('bind_peak_mib'):.0f} | {med('peak_mib'):.0f} | {med('first_typing_ms'):.1f} |"
    )
    ok = all(r["ok"] for r in rows)
    bind_s, bind_mib = med("bind_ms") / 1e3, med("bind_peak_mib")
    print(f"\nchecks: every function bound and a call of one typed: {'yes' if ok else 'NO'}")
    print(
        f"target: bind <= 1.0 s and <= 150 MiB: {bind_s:.2f} s, {bind_mib:.0f} MiB: "
        f"{'met' if bind_s <= 1.0 and bind_mib <= 150 else 'NOT met'}"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
