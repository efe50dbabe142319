"""Parse benchmark: ast_canopy against clang's own parse of the same translation unit.

For each real CUDA header, three measurements, each in a fresh subprocess (so peak memory is that
measurement's own ``ru_maxrss``), median of ``--runs`` runs:

- clang: ``clang_parseTranslationUnit`` through libclang's ``clang.cindex`` with exactly the
  arguments the core uses (``-fsyntax-only`` work: the whole TU, function bodies included);
- cold: ``ast_canopy.parse_declarations_from_source`` with the parse cache off;
- warm: the same call with the parse cache already filled.

libclang is loaded before the clock starts (a warm parse does not load it at all). Prints a markdown table:
``cold / clang`` should be <= 1.15 (the core skips function bodies, so below 1 is expected) and
``cold / warm`` >= 20 for cuda_bf16.h.

    python benchmarks/parse_bench.py [--runs 3] [--headers cuda_bf16.h ...] [--out table.md]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time

# (header to parse, further headers whose declarations are retained)
HEADERS = [
    ("cuda_fp16.h", ["cuda_fp16.hpp"]),
    ("cuda_bf16.h", ["cuda_bf16.hpp"]),
    ("cuda_fp8.h", ["cuda_fp8.hpp"]),
    ("curand_kernel.h", []),
    ("cooperative_groups.h", []),
    ("cub/block/block_scan.cuh", []),
]
COMPUTE_CAPABILITY = "sm_80"


def find_header(relative: str) -> str:
    from ast_canopy import _toolchain

    for d in _toolchain.cuda_include_dirs():
        p = os.path.join(d, relative)
        if os.path.isfile(p):
            return p
    raise SystemExit(f"{relative} not found in the CUDA include folders")


# ---- one measurement, in its own process --------------------------------------------------------


def _peak_rss_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def measure(mode: str, spec: dict) -> dict:
    """Runs one measurement and returns its wall time and this process's peak memory."""
    if mode == "prepare":
        return prepare(spec)
    if mode == "machine":
        return {"machine": machine()}
    if mode == "clang":
        from clang import cindex

        index = cindex.Index.create()  # loads libclang
        start = time.perf_counter()
        tu = cindex.TranslationUnit.from_source(spec["source"], args=spec["args"], index=index, options=0)
        seconds = time.perf_counter() - start
        errors = [d for d in tu.diagnostics if d.severity >= cindex.Diagnostic.Error]
        if errors:
            raise SystemExit(f"clang reported errors: {errors[:3]}")
    else:
        import ast_canopy
        from ast_canopy import _toolchain

        _toolchain.cuda_include_dirs()  # the once-per-process CUDA lookup
        if mode == "cold":
            ast_canopy.toolchain_info()  # loads libclang; a warm parse never loads it
        start = time.perf_counter()
        decls = ast_canopy.parse_declarations_from_source(spec["source"], spec["retain"], COMPUTE_CAPABILITY)
        seconds = time.perf_counter() - start
        assert decls.structs or decls.functions or decls.class_templates
    return {"seconds": seconds, "peak_rss_mb": _peak_rss_mb()}


def prepare(spec: dict) -> dict:
    """Fills the parse cache for the header and returns the core's clang arguments for it."""
    from ast_canopy import _core, _toolchain

    source = find_header(spec["main"])
    retain = [source] + [find_header(e) for e in spec["extra"]]
    _json, _hit, args = _core.parse_declarations(
        source, retain, COMPUTE_CAPABILITY, "gnu++17", [], [], _toolchain.cuda_include_dirs(),
        _toolchain.search_dirs(), "", False, False,
    )  # fmt: skip
    return {"source": source, "retain": retain, "args": args}


def _run_child(mode: str, spec: dict, env: dict) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--measure", mode, json.dumps(spec)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode != 0:
        raise SystemExit(f"{mode} {json.dumps(spec)[:200]} failed:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


# ---- the whole benchmark --------------------------------------------------------------------------


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    import ast_canopy

    info = ast_canopy.toolchain_info()
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, {info['libclang_version']}, CUDA {info['cuda_version']}"


def run(headers, runs: int) -> list:
    # This process never loads libclang: a child's ru_maxrss starts from its parent's RSS at fork.
    rows = []
    with tempfile.TemporaryDirectory(prefix="parse_bench_") as cache_dir:
        base_env = dict(os.environ, AST_CANOPY_CACHE_DIR=cache_dir)
        base_env.pop("AST_CANOPY_NO_CACHE", None)
        cold_env = dict(base_env, AST_CANOPY_NO_CACHE="1")
        for main, extra in headers:
            spec = _run_child("prepare", {"main": main, "extra": extra}, base_env)
            samples = {"clang": [], "cold": [], "warm": []}
            for _ in range(runs):  # interleaved, so drifts in machine load hit every mode alike
                samples["clang"].append(_run_child("clang", spec, base_env))
                samples["cold"].append(_run_child("cold", spec, cold_env))
                samples["warm"].append(_run_child("warm", spec, base_env))
            med = {m: statistics.median(s["seconds"] for s in v) for m, v in samples.items()}
            rss = {m: statistics.median(s["peak_rss_mb"] for s in v) for m, v in samples.items()}
            rows.append({"header": main, "seconds": med, "peak_rss_mb": rss})
            print(f"  {main}: clang {med['clang']:.3f}s cold {med['cold']:.3f}s warm {med['warm']:.4f}s", file=sys.stderr)
    return rows


def table(rows: list) -> str:
    lines = [
        "| header | clang -fsyntax-only (s) | cold (s) | cold / clang | warm (s) | cold / warm | peak RSS clang / cold / warm (MiB) |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        s, m = r["seconds"], r["peak_rss_mb"]
        lines.append(
            f"| `{r['header']}` | {s['clang']:.3f} | {s['cold']:.3f} | {s['cold'] / s['clang']:.2f} | "
            f"{s['warm']:.4f} | {s['cold'] / s['warm']:.0f}x | {m['clang']:.0f} / {m['cold']:.0f} / {m['warm']:.0f} |"
        )
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3, help="runs per measurement; the median is reported")
    parser.add_argument("--headers", nargs="*", help="a subset of the headers, e.g. cuda_bf16.h")
    parser.add_argument("--out", help="also write the table (with the machine line) to this file")
    parser.add_argument("--measure", nargs=2, metavar=("MODE", "SPEC"), help=argparse.SUPPRESS)
    opts = parser.parse_args(argv)
    if opts.measure:
        print(json.dumps(measure(opts.measure[0], json.loads(opts.measure[1]))))
        return 0
    headers = [h for h in HEADERS if not opts.headers or h[0] in opts.headers]
    if not headers:
        parser.error(f"no such header; choose from {[h for h, _ in HEADERS]}")
    desc = _run_child("machine", {}, dict(os.environ))["machine"]
    print(f"machine: {desc}", file=sys.stderr)
    text = f"Machine: {desc}. Median of {opts.runs} runs, compute capability {COMPUTE_CAPABILITY}.\n\n{table(run(headers, opts.runs))}\n"
    print(text)
    if opts.out:
        with open(opts.out, "w") as f:
            f.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
