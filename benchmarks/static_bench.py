"""Static-mode benchmark: generating the cuda_bf16 module, and importing it.

Every measurement runs in a fresh subprocess; the median of ``--runs`` interleaved runs is reported.

- generate, ``python -m numbast generate cuda_bf16.yml -o OUT``, end to end (interpreter start,
  config, libclang load, parse, render, write, coverage table), and the same with the plain Rust
  binary ``target/release/numbast`` (built with ``cargo build --release -p numbast-cli`` when
  missing): **cold** (an empty parse cache; targets <= 1.0 s) and **warm** (the cache filled by the
  previous run; targets <= 0.3 s). Baseline: ``python -c pass``.
- import, ``import cuda_bf16`` after ``import numba.cuda`` (target <= 50 ms), with the module's
  bytecode cached in ``__pycache__`` (what users get) and without (``PYTHONDONTWRITEBYTECODE``, no
  ``__pycache__``: the source is compiled at each import). Importing registers nothing; the first
  use of a name (here ``install()``) loads the embedded runtime and registers every binding, which is
  reported too, alone (numba-cuda's own typing and lowering modules, which any kernel compilation
  imports, already imported) and including those imports. Baseline: ``import numba.cuda``.

    python benchmarks/static_bench.py [--runs 5] [--out benchmarks/BENCH_STATIC.md]
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
import sysconfig
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BINARY = REPO / "target" / "release" / "numbast"
CONFIG_TEMPLATE = REPO / "tests" / "configs" / "cuda_bf16.yml.in"

# Code run in a child to time the import: the clock brackets the import statement only.
IMPORT_CHILD = r"""
import json, sys, time
sys.path.insert(0, {out!r})
t0 = time.perf_counter()
import numba.cuda
t1 = time.perf_counter()
if {preload}:
    import numba.cuda.cudadecl, numba.cuda.cudaimpl, numba.cuda.typing.builtins, numba.cuda.vector_types
t2 = time.perf_counter()
import cuda_bf16
t3 = time.perf_counter()
cuda_bf16.install()
t4 = time.perf_counter()
print(json.dumps({{"numba": t1 - t0, "import": t3 - t2, "first_use": t4 - t3}}))
"""


def timed(cmd, env=None, cwd=None) -> float:
    start = time.perf_counter()
    r = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if r.returncode != 0:
        raise SystemExit(f"{' '.join(map(str, cmd))} failed:\n{r.stderr}")
    return seconds


def child_json(code: str, env) -> dict:
    r = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(f"import child failed:\n{r.stderr}")
    return json.loads(r.stdout.strip().splitlines()[-1])


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    import ast_canopy

    info = ast_canopy.toolchain_info()
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, {info['libclang_version']}, CUDA {info['cuda_version']}"


def ensure_binary(build: bool) -> Path | None:
    if BINARY.is_file() and not build:
        return BINARY
    if shutil.which("cargo") is None:
        return BINARY if BINARY.is_file() else None
    subprocess.run(["cargo", "build", "--release", "-q", "-p", "numbast-cli"], cwd=REPO, check=True)
    return BINARY


def run(runs: int, build: bool) -> dict:

    import ast_canopy

    binary = ensure_binary(build)
    samples: dict[str, list[float]] = {}

    def add(key, value):
        samples.setdefault(key, []).append(value)

    with tempfile.TemporaryDirectory(prefix="static_bench_") as tmp:
        tmp = Path(tmp)
        cfg = tmp / "cuda_bf16.yml"
        cfg.write_text(CONFIG_TEMPLATE.read_text().replace("{include}", str(ast_canopy.cuda_include_dirs()[0])))
        env = {k: v for k, v in os.environ.items() if k not in ("AST_CANOPY_NO_CACHE", "PYTHONDONTWRITEBYTECODE")}
        # The plain binary finds the libclang-ng and NVIDIA wheels through PYTHONPATH.
        bin_env = dict(env, PYTHONPATH=os.pathsep.join(filter(None, [sysconfig.get_paths()["purelib"], env.get("PYTHONPATH")])))
        python_cmd = [sys.executable, "-m", "numbast", "generate", str(cfg), "-o", str(tmp / "out"), "-q"]
        binary_cmd = [str(binary), "generate", str(cfg), "-o", str(tmp / "out_bin"), "-q"] if binary else None
        for i in range(runs):  # interleaved, so drifts in machine load hit every measurement alike
            add("python -c pass", timed([sys.executable, "-c", "pass"], env))
            for label, cmd, e in (("python -m numbast", python_cmd, env), ("target/release/numbast", binary_cmd, bin_env)):
                if cmd is None:
                    continue
                cache = tmp / f"cache_{label.split()[0].split('/')[-1]}_{i}"
                e = dict(e, AST_CANOPY_CACHE_DIR=str(cache))
                add(f"{label} cold", timed(cmd, e))
                add(f"{label} warm", timed(cmd, e))
            # Import: with a bytecode cache (written by a first import), and without one.
            out = str(tmp / "out")
            shutil.rmtree(tmp / "out" / "__pycache__", ignore_errors=True)
            child_json(IMPORT_CHILD.format(out=out, preload=False), env)  # writes __pycache__
            cached = child_json(IMPORT_CHILD.format(out=out, preload=False), env)
            add("import numba.cuda", cached["numba"])
            add("import (bytecode cached)", cached["import"])
            add("first use, with numba-cuda's typing/lowering imports", cached["first_use"])
            preloaded = child_json(IMPORT_CHILD.format(out=out, preload=True), env)
            add("first use, numbast's part", preloaded["first_use"])
            shutil.rmtree(tmp / "out" / "__pycache__", ignore_errors=True)
            nocache = child_json(IMPORT_CHILD.format(out=out, preload=False), dict(env, PYTHONDONTWRITEBYTECODE="1"))
            add("import (no bytecode cache)", nocache["import"])
            print(f"  run {i + 1}/{runs} done", file=sys.stderr)
        size = (tmp / "out" / "cuda_bf16.py").stat().st_size
    return {"median": {k: statistics.median(v) for k, v in samples.items()}, "module_bytes": size}


# (row label, measurement, target in seconds or None, baseline measurement)
ROWS = [
    ("generate cuda_bf16, `python -m numbast`, cold cache", "python -m numbast cold", 1.0, "python -c pass"),
    ("generate cuda_bf16, `python -m numbast`, warm cache", "python -m numbast warm", 0.3, "python -c pass"),
    ("generate cuda_bf16, `target/release/numbast`, cold cache", "target/release/numbast cold", 1.0, "python -c pass"),
    ("generate cuda_bf16, `target/release/numbast`, warm cache", "target/release/numbast warm", 0.3, "python -c pass"),
    ("`import cuda_bf16` after `import numba.cuda`, bytecode cached", "import (bytecode cached)", 0.05, "import numba.cuda"),
    ("`import cuda_bf16` after `import numba.cuda`, no bytecode cache", "import (no bytecode cache)", 0.05, "import numba.cuda"),
    ("first use (`install()`): runtime + registration", "first use, numbast's part", None, "import numba.cuda"),
    (
        "first use, including numba-cuda's typing/lowering imports",
        "first use, with numba-cuda's typing/lowering imports",
        None,
        "import numba.cuda",
    ),
]


def table(result: dict) -> str:
    med = result["median"]
    lines = [
        "| measurement | time | target | met | baseline | ratio to baseline |",
        "|---|---:|---:|:-:|---|---:|",
    ]
    for label, key, target, base in ROWS:
        if key not in med:
            continue
        t = med[key]
        shown = f"{t * 1e3:.1f} ms" if t < 1 else f"{t:.3f} s"
        tgt = "" if target is None else (f"<= {target * 1e3:.0f} ms" if target < 1 else f"<= {target:.1f} s")
        met = "" if target is None else ("yes" if t <= target else "**no**")
        b = med[base]
        lines.append(f"| {label} | {shown} | {tgt} | {met} | {base}: {b * 1e3:.1f} ms | {t / b:.2f} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="runs per measurement; the median is reported")
    parser.add_argument("--build", action="store_true", help="rebuild target/release/numbast first")
    parser.add_argument("--out", help="also write the table (with the machine line) to this file")
    opts = parser.parse_args(argv)
    desc = machine()
    print(f"machine: {desc}", file=sys.stderr)
    result = run(opts.runs, opts.build)
    text = (
        f"Machine: {desc}. Median of {opts.runs} runs; the generated `cuda_bf16.py` is "
        f"{result['module_bytes'] / 1024:.0f} KiB.\n\n{table(result)}\n"
    )
    print(text)
    if opts.out:
        Path(opts.out).write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
