"""Call overhead of Numbast bindings against native CUDA C++.

The same kernels, written twice:

- native: CUDA C++ compiled with NVRTC through `cuda.core` (`Program`, to a cubin) and launched with
  `cuda.core.launch`;
- Numba: `@cuda.jit` kernels calling the functions of `headers/kernels.cuh` bound with Numbast
  (dynamic mode: `ast_canopy.parse_declarations_from_source` + `numbast.bind_cxx_functions`).

Both call the same device functions from the same header, on the same device arrays, with the same
launch configuration, on the same stream:

  saxpy    out[i] = saxpy(a, x[i], y[i])                          memory-bound, float32
  poly64   v = x[i]; repeat R times: v = poly64(v); out[i] = v     compute-bound: 64 FMAs per call
  horner   v = x[i]; repeat R times: 64 x acc = horner_step(...)    compute-bound: 64 bound calls
  hfma     out[i] = hfma(a, x[i], y[i])                           __half, one __hfma

The code around the calls is written so that both versions compile to the same loop and index
code: Python ints are 64-bit, so the C++ `reps` loops count with `long long`; the Numba kernels use
an unsigned index (the C++ index, built from unsigned values, is known not to be negative; with a
signed one Numba keeps its negative-index wraparound on every access) and loop with `while`, because a
`for _ in range(reps)` loop carries Numba's range-iterator clamp in each iteration (5 more integer
instructions per two unrolled iterations on sm_90, 3% on poly64 on the H100). That last form is timed too,
as `poly64_range`, for reference. So are `saxpy_plain` and `poly64_plain`: the same FMAs with no
binding, written in Python with `cuda.fma`, which split a kernel's ratio into the backend's own share
(plain / native) and the binding's (bound / plain, printed at the end). The build check prints the SASS instruction counts of both
versions when `nvdisasm` is found (PATH, CUDA_HOME, /usr/local/cuda).

Timing: CUDA events recorded on the stream around one launch, median of --runs runs after a
warm-up launch (which also JIT-compiles the Numba kernels). Before each timed launch a short spin
kernel keeps the GPU busy, so that the events measure device time only and not the host-side
launch cost of either launcher (Numba's Python dispatch is slower than cuda.core's, and is not what
this benchmark is about). Native and Numba runs alternate. Outputs of both are compared at the end.

`--backend mlir` binds with `numbast.mlir` and compiles the same kernels with numba-cuda-mlir
(`numba_cuda_mlir.cuda.jit`); the native kernels, the data and the timing are the same.

Usage:
  python benchmarks/call_overhead.py [--n 67108864] [--runs 5] [--block 256] [--reps 16]
                                    [--spin-us 2000] [--only saxpy poly64 horner hfma]
                                    [--backend numba-cuda|mlir]

Without a GPU it prints "no GPU: skipped" and exits 0 (after checking, for information, that both
versions of every kernel compile, and that LTO inlined every Numbast shim in the Numba kernels).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
HEADERS = os.path.join(HERE, "headers")
HEADER = os.path.join(HEADERS, "kernels.cuh")

NATIVE_SRC = r"""
#include "kernels.cuh"

extern "C" __global__ void k_saxpy(float a, const float *x, const float *y, float *out, long long n)
{
  long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) out[i] = saxpy(a, x[i], y[i]);
}

extern "C" __global__ void k_poly64(const float *x, float *out, long long n, int reps)
{
  long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) {
    float v = x[i];
    for (long long r = 0; r < reps; ++r) v = poly64(v);
    out[i] = v;
  }
}

extern "C" __global__ void k_horner(const float *x, float *out, long long n, int reps)
{
  long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) {
    float v = x[i];
    for (long long r = 0; r < reps; ++r) {
      float acc = 0.0f;
      for (int k = 0; k < 64; ++k) acc = horner_step(acc, v, 0.25f);
      v = acc;
    }
    out[i] = v;
  }
}

extern "C" __global__ void k_hfma(__half a, const __half *x, const __half *y, __half *out, long long n)
{
  long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) out[i] = hfma(a, x[i], y[i]);
}

// Keeps the GPU busy for about `cycles` clocks, so the timing events wait for the host.
extern "C" __global__ void k_spin(long long cycles)
{
  long long start = clock64();
  while (clock64() - start < cycles) { }
}
"""

KERNELS = ("saxpy", "poly64", "horner", "hfma")
# Timed for reference, not part of the target: poly64 with Numba's `for _ in range(reps)` loop, and
# saxpy and poly64 with no binding at all (the same FMAs written in Python with `cuda.fma`): what
# the backend's own code around the calls costs against CUDA C++, so that a kernel's ratio can be
# split into the backend's share and the binding's (bound / plain).
REFERENCE = ("poly64_range", "saxpy_plain", "poly64_plain")
# The native kernel each Numba kernel is compared with.
NATIVE_OF = {"poly64_range": "poly64", "saxpy_plain": "saxpy", "poly64_plain": "poly64"}


# ----------------------------------------------------------------------------- both versions


def backend_modules(backend):
    """(binding API, `cuda`, `types`) of a backend: numba-cuda or numba-cuda-mlir."""
    import importlib

    if backend == "mlir":
        names = ("numbast.mlir", "numba_cuda_mlir.cuda", "numba_cuda_mlir.types")
    else:
        names = ("numbast", "numba.cuda", "numba.types")
    return tuple(importlib.import_module(n) for n in names)


def bind(arch, backend="numba-cuda"):
    """Parse the header and bind its functions; returns {name: bound function}."""
    from ast_canopy import parse_declarations_from_source

    api = backend_modules(backend)[0]
    decls = parse_declarations_from_source(HEADER, [HEADER], arch)
    shim_writer = api.MemoryShimWriter(f'#include "{HEADER}"')
    return {f.name: api.bind_cxx_function(shim_writer, f) for f in decls.functions}, shim_writer


def numba_kernels(bound, backend="numba-cuda"):
    """The Numba kernels (plain Python functions) and their argument types."""
    _api, cuda, types = backend_modules(backend)

    saxpy, poly64, horner_step, hfma = (bound[k] for k in ("saxpy", "poly64", "horner_step", "hfma"))

    # An unsigned index, as the C++ kernels' index built from unsigned values is: with a signed
    # one Numba keeps its negative-index wraparound on every access. The `reps` loops are while
    # loops with a 64-bit counter, as in the C++ kernels (Python ints are 64-bit), because a
    # `for _ in range(reps)` loop carries Numba's range-iterator clamp in every iteration.
    # `poly64_range` is poly64 written the idiomatic way, timed for reference (see the docstring).
    u64 = types.uint64

    def k_saxpy(a, x, y, out):
        i = u64(cuda.grid(1))
        if i < u64(x.size):
            out[i] = saxpy(a, x[i], y[i])

    def k_poly64(x, out, reps):
        i = u64(cuda.grid(1))
        if i < u64(x.size):
            v = x[i]
            r = 0
            while r < reps:
                v = poly64(v)
                r += 1
            out[i] = v

    def k_poly64_range(x, out, reps):
        i = cuda.grid(1)
        if i < x.size:
            v = x[i]
            for _ in range(reps):
                v = poly64(v)
            out[i] = v

    def k_horner(x, out, reps):
        i = u64(cuda.grid(1))
        if i < u64(x.size):
            v = x[i]
            c = types.float32(0.25)
            r = 0
            while r < reps:
                acc = types.float32(0.0)
                for _k in range(64):
                    acc = horner_step(acc, v, c)
                v = acc
                r += 1
            out[i] = v

    def k_hfma(a, x, y, out):
        i = u64(cuda.grid(1))
        if i < u64(x.size):
            out[i] = hfma(a, x[i], y[i])

    # The same work with no binding: poly64's 64 FMAs, coefficients (-1)^k / (k + 2) rounded to
    # float32 as the C++ literals are, written out as a device function.
    f32c = types.float32
    coeffs = [np.float32((-1.0 if j & 1 else 1.0) / (j + 2)) for j in range(63, -1, -1)]
    body = "".join(f"    acc = cuda.fma(acc, x, f32c({float(c)!r}))\n" for c in coeffs)
    scope = {"cuda": cuda, "f32c": f32c}
    exec(f"def poly64_py(x):\n    acc = f32c(0.0)\n{body}    return acc\n", scope)
    poly64_py = cuda.jit(device=True)(scope["poly64_py"])

    def k_saxpy_plain(a, x, y, out):
        i = u64(cuda.grid(1))
        if i < u64(x.size):
            out[i] = cuda.fma(a, x[i], y[i])

    def k_poly64_plain(x, out, reps):
        i = u64(cuda.grid(1))
        if i < u64(x.size):
            v = x[i]
            r = 0
            while r < reps:
                v = poly64_py(v)
                r += 1
            out[i] = v

    f32, f16, i32 = types.float32[::1], types.float16[::1], types.int32
    return {
        "saxpy_plain": (k_saxpy_plain, (types.float32, f32, f32, f32)),
        "poly64_plain": (k_poly64_plain, (f32, f32, i32)),
        "saxpy": (k_saxpy, (types.float32, f32, f32, f32)),
        "poly64": (k_poly64, (f32, f32, i32)),
        "poly64_range": (k_poly64_range, (f32, f32, i32)),
        "horner": (k_horner, (f32, f32, i32)),
        "hfma": (k_hfma, (types.float16, f16, f16, f16)),
    }


def compile_native(arch, target="cubin"):
    from cuda.core import Program, ProgramOptions
    from numba.cuda.cuda_paths import get_cuda_paths

    include = [HEADERS, get_cuda_paths()["include_dir"].info]
    opts = ProgramOptions(arch=arch, include_path=include, std="c++17", name="native_kernels.cu")
    return Program(NATIVE_SRC, "c++", options=opts).compile(target)


# ----------------------------------------------------------------------------- no GPU


def find_nvdisasm():
    import shutil

    for folder in (os.environ.get("CUDA_HOME"), os.environ.get("CUDA_PATH"), "/usr/local/cuda"):
        if folder and os.path.isfile(os.path.join(folder, "bin", "nvdisasm")):
            return os.path.join(folder, "bin", "nvdisasm")
    return shutil.which("nvdisasm")


def sass_counts(nvdisasm, cubin, function=None):
    """(instructions, FFMA/HFMA2 instructions) in the SASS of `function` (or the only kernel)."""
    import re
    import subprocess
    import tempfile

    with tempfile.NamedTemporaryFile(suffix=".cubin") as f:
        f.write(cubin)
        f.flush()
        text = subprocess.run([nvdisasm, "-c", f.name], capture_output=True, text=True, check=True).stdout
    if function:
        text = text[text.index(f".text.{function}:") :]
        text = text[: text.find(".section", 1) if ".section" in text[1:] else len(text)]
    instrs = [ln for ln in text.splitlines() if re.match(r"\s*/\*[0-9a-f]{4}\*/", ln) and " NOP" not in ln]
    return len(instrs), sum(1 for ln in instrs if re.search(r"\b(FFMA|HFMA2)\b", ln))


def nvrtc_ptx(arch, cubin=False):
    """PTX (or a cubin) of the native kernels, with NVRTC called directly (no driver needed)."""
    from cuda.bindings import nvrtc
    from numba.cuda.cuda_paths import get_cuda_paths

    def check(res):
        err, *rest = res
        if err != nvrtc.nvrtcResult.NVRTC_SUCCESS:
            raise RuntimeError(f"NVRTC: {err}")
        return rest[0] if len(rest) == 1 else rest

    prog = check(nvrtc.nvrtcCreateProgram(NATIVE_SRC.encode(), b"native_kernels.cu", 0, [], []))
    opts = [f"-arch={arch}".encode(), b"-std=c++17", f"-I{HEADERS}".encode(), f"-I{get_cuda_paths()['include_dir'].info}".encode()]
    (err,) = nvrtc.nvrtcCompileProgram(prog, len(opts), opts)
    if err != nvrtc.nvrtcResult.NVRTC_SUCCESS:
        size = check(nvrtc.nvrtcGetProgramLogSize(prog))
        log = b" " * size
        nvrtc.nvrtcGetProgramLog(prog, log)
        raise RuntimeError(log.decode())
    if cubin:
        size = check(nvrtc.nvrtcGetCUBINSize(prog))
        buf = b" " * size
        check(nvrtc.nvrtcGetCUBIN(prog, buf))
        return buf
    size = check(nvrtc.nvrtcGetPTXSize(prog))
    buf = b" " * size
    check(nvrtc.nvrtcGetPTX(prog, buf))
    return buf.decode().rstrip("\x00")


def mlir_link(kernel, sig, arch, shims):
    """numba-cuda-mlir's cubin of a kernel for `arch` with no GPU (its target otherwise comes from
    the driver), and the shims left as symbols in it (none when all were inlined)."""
    import numba_cuda_mlir.tools as tools
    from numba_cuda_mlir import cuda as mlir_cuda

    cc = (int(arch[3:-1]), int(arch[-1]))
    tools._cached_cc = tools._cached_cc or cc
    cubin = mlir_cuda.compile_cubin(kernel, sig, cc=cc)
    return cubin, [s for s in shims if s.encode() in cubin]


def build_check(arch="sm_90", backend="numba-cuda"):
    """Compile both versions of every kernel for `arch` (no GPU needed) and report on the result,
    with the bind time and each kernel's first compile (this process, caches warm or not)."""
    import re

    from numbast.testing import link_kernel

    t0 = time.perf_counter()
    bound, writer = bind(arch, backend)
    print(f"  [{backend}] parse+bind of kernels.cuh: {(time.perf_counter() - t0) * 1e3:.0f} ms")
    compile_native(arch, "cubin")  # what the GPU run does
    native_ptx = nvrtc_ptx(arch)  # cuda.core's PTX path asks the (absent) driver for its version
    native_cubin = nvrtc_ptx(arch, cubin=True)
    nvdisasm = find_nvdisasm()
    shims = re.findall(r'extern "C" __device__ void (\w+)\(', writer.unit.source())

    def fma_count(ptx, entry):
        body = ptx[ptx.find(entry) :]
        body = body[: body.find("\n}") + 2]
        return len(re.findall(r"\bfma\.rn\.(?:f32|f16)\b", body))

    for name, (kernel, sig) in numba_kernels(bound, backend).items():
        native_name = NATIVE_OF.get(name, name)
        t0 = time.perf_counter()
        if backend == "mlir":
            cubin, left = mlir_link(kernel, sig, arch, re.findall(r'extern "C" __device__ void (\w+)\(', writer.unit.source()))
            took = time.perf_counter() - t0
            print(
                f"  {name:12s} numba-cuda-mlir kernel: {len(cubin)}-byte {arch} cubin in {took * 1e3:.0f} ms, shims left: {left or 'none'}"
            )
            if nvdisasm:
                nb, nat = sass_counts(nvdisasm, cubin), sass_counts(nvdisasm, native_cubin, f"k_{native_name}")
                print(f"  {'':12s} SASS instructions (all / fma): numba-cuda-mlir {nb[0]} / {nb[1]}, native {nat[0]} / {nat[1]}")
            continue
        r = link_kernel(kernel, sig, arch)
        took = time.perf_counter() - t0
        left = [s for s in shims if r.calls(s)]
        print(
            f"  {name:12s} Numba kernel linked ({len(r.cubin)}-byte {arch} cubin in {took * 1e3:.0f} ms), "
            f"shim calls left after LTO: {left or 'none'}; "
            f"fma in PTX: numba {fma_count(r.ptx, '.entry')}, native {fma_count(native_ptx, f'.entry k_{native_name}')}"
        )
        if nvdisasm:
            nb, nat = sass_counts(nvdisasm, r.cubin), sass_counts(nvdisasm, native_cubin, f"k_{native_name}")
            print(
                f"  {'':12s} SASS instructions (all / fma / other): numba {nb[0]} / {nb[1]} / {nb[0] - nb[1]}, "
                f"native {nat[0]} / {nat[1]} / {nat[0] - nat[1]}"
            )


# ----------------------------------------------------------------------------- on the GPU


def reference_ok(k, out, x, y, a32, a16, reps, sample=4096):
    """Check the first `sample` outputs of the native kernel against NumPy (float64 where it can)."""
    xs, ys = x[:sample].astype(np.float64), y[:sample].astype(np.float64)
    if k == "saxpy":
        ref, rtol = a32 * xs + ys, 1e-6
    elif k == "hfma":
        xh, yh = x[:sample].astype(np.float16).astype(np.float64), y[:sample].astype(np.float16).astype(np.float64)
        ref, rtol = a16 * xh + yh, 2e-3
    else:
        coeffs = [np.float32((-1.0 if j & 1 else 1.0) / (j + 2)) for j in range(63, -1, -1)]
        v = xs
        for _ in range(reps):
            acc = np.zeros_like(v)
            for c in coeffs if k.startswith("poly64") else [0.25] * 64:
                acc = acc * v + float(c)
            v = acc
        ref, rtol = v, 1e-4
    return bool(np.allclose(out[:sample].astype(np.float64), ref, rtol=rtol, atol=0))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=64 * 1024 * 1024, help="elements (default 64M)")
    ap.add_argument("--runs", type=int, default=5, help="timed runs per kernel (median reported)")
    ap.add_argument("--block", type=int, default=256, help="threads per block (both versions)")
    ap.add_argument("--reps", type=int, default=16, help="poly64/horner: polynomials evaluated per element (64 FMAs each)")
    ap.add_argument("--spin-us", type=float, default=2000.0, help="GPU time of the spin kernel launched before each timed launch (us)")
    ap.add_argument("--only", nargs="*", choices=KERNELS + REFERENCE, default=list(KERNELS + REFERENCE))
    ap.add_argument("--backend", choices=("numba-cuda", "mlir"), default="numba-cuda", help="the Numba the bindings are for")
    args = ap.parse_args()

    from numba import cuda

    if not cuda.is_available():
        print("no GPU: skipped (call_overhead needs a CUDA GPU to time kernels)")
        try:
            print("build check without a GPU (sm_90):")
            build_check("sm_90", args.backend)
        except Exception as e:  # informational only
            print(f"  build check failed: {type(e).__name__}: {e}")
        return 0

    from cuda.core import Device, LaunchConfig, launch

    cuda.current_context()  # numba first: both use the device's primary context
    ndev = cuda.get_current_device()
    cc = ndev.compute_capability
    arch = f"sm_{cc[0]}{cc[1]}"
    dev = Device(ndev.id)
    dev.set_current()

    t0 = time.perf_counter()
    bound, _ = bind(arch, args.backend)
    t_bind = time.perf_counter() - t0
    t0 = time.perf_counter()
    mod = compile_native(arch, "cubin")
    t_nvrtc = time.perf_counter() - t0
    native = {k: mod.get_kernel(f"k_{k}") for k in (*KERNELS, "spin")}
    kernel_cuda = backend_modules(args.backend)[1]  # numba-cuda-mlir's `cuda` for --backend mlir
    jitted = {k: kernel_cuda.jit(f) for k, (f, _sig) in numba_kernels(bound, args.backend).items()}

    stream = dev.create_stream()
    nb_stream = cuda.external_stream(int(stream.handle))

    def record():
        # Numba's timing events on the shared stream (their API is stable across cuda.core versions).
        ev = cuda.event(timing=True)
        ev.record(stream=nb_stream)
        return ev

    def elapsed_ms(e0, e1):
        e1.synchronize()
        return cuda.event_elapsed_time(e0, e1)

    n, block = args.n, args.block
    grid = (n + block - 1) // block
    config = LaunchConfig(grid=grid, block=block)

    # numba-cuda-mlir launches on the same stream through its own stream object, and its kernels
    # take its own device arrays (its typeof does not know numba-cuda's), so the arrays come from
    # the backend's `cuda`; the native kernels take their addresses from the CUDA array interface.
    kernel_stream = nb_stream if args.backend == "numba-cuda" else kernel_cuda.external_stream(int(stream.handle))

    rng = np.random.default_rng(0)
    x32 = (rng.random(n, dtype=np.float32) * 0.5).astype(np.float32)  # [0, 0.5): polys stay bounded
    y32 = rng.random(n, dtype=np.float32)
    d = {
        "x32": kernel_cuda.to_device(x32, stream=kernel_stream),
        "y32": kernel_cuda.to_device(y32, stream=kernel_stream),
        "x16": kernel_cuda.to_device(x32.astype(np.float16), stream=kernel_stream),
        "y16": kernel_cuda.to_device(y32.astype(np.float16), stream=kernel_stream),
    }
    for k in ("32", "16"):
        dt = np.float32 if k == "32" else np.float16
        d["on" + k] = kernel_cuda.device_array(n, dtype=dt, stream=kernel_stream)  # native output
        d["ob" + k] = kernel_cuda.device_array(n, dtype=dt, stream=kernel_stream)  # numba output
    stream.sync()
    ptr = {k: int(v.__cuda_array_interface__["data"][0]) for k, v in d.items()}
    a32, a16, reps, nn = np.float32(2.0), np.float16(1.5), np.int32(args.reps), np.int64(n)

    native_args = {
        "saxpy": (a32, ptr["x32"], ptr["y32"], ptr["on32"], nn),
        "poly64": (ptr["x32"], ptr["on32"], nn, reps),
        "poly64_range": (ptr["x32"], ptr["on32"], nn, reps),
        "saxpy_plain": (a32, ptr["x32"], ptr["y32"], ptr["on32"], nn),
        "poly64_plain": (ptr["x32"], ptr["on32"], nn, reps),
        "horner": (ptr["x32"], ptr["on32"], nn, reps),
        "hfma": (a16, ptr["x16"], ptr["y16"], ptr["on16"], nn),
    }
    numba_args = {
        "saxpy": (a32, d["x32"], d["y32"], d["ob32"]),
        "poly64": (d["x32"], d["ob32"], reps),
        "poly64_range": (d["x32"], d["ob32"], reps),
        "saxpy_plain": (a32, d["x32"], d["y32"], d["ob32"]),
        "poly64_plain": (d["x32"], d["ob32"], reps),
        "horner": (d["x32"], d["ob32"], reps),
        "hfma": (a16, d["x16"], d["y16"], d["ob16"]),
    }

    def run_native(k):
        launch(stream, config, native[NATIVE_OF.get(k, k)], *native_args[k])

    def run_numba(k):
        jitted[k][grid, block, kernel_stream](*numba_args[k])

    def spin_ms(cycles):
        e0 = record()
        launch(stream, LaunchConfig(grid=1, block=1), native["spin"], np.int64(cycles))
        return elapsed_ms(e0, record())

    spin_ms(1000)  # load the module
    cycles_per_ms = 1_000_000 / max(spin_ms(1_000_000), 1e-3)
    spin_cycles = np.int64(args.spin_us * 1e-3 * cycles_per_ms)

    def timed(fn, k):
        launch(stream, LaunchConfig(grid=1, block=1), native["spin"], spin_cycles)
        e0 = record()
        fn(k)
        return elapsed_ms(e0, record())

    print(f"# call overhead: native CUDA C++ vs Numba + Numbast ({args.backend})\n")
    print(
        f"device: {ndev.name.decode() if isinstance(ndev.name, bytes) else ndev.name} ({arch}), "
        f"n = {n:,} elements, grid {grid} x block {block}, median of {args.runs} runs after a warm-up, "
        f"poly64/horner reps = {args.reps}"
    )
    print(f"parse+bind of kernels.cuh: {t_bind * 1e3:.0f} ms; NVRTC of the native kernels: {t_nvrtc * 1e3:.0f} ms\n")

    rows = []
    for k in args.only:
        t0 = time.perf_counter()
        run_numba(k)  # warm-up, JIT compile + link
        stream.sync()
        t_jit = time.perf_counter() - t0
        run_native(k)
        stream.sync()
        tn, tb = [], []
        for _ in range(args.runs):
            tn.append(timed(run_native, k))
            tb.append(timed(run_numba, k))
        sfx = "16" if k == "hfma" else "32"
        on, ob = d["on" + sfx].copy_to_host(stream=kernel_stream), d["ob" + sfx].copy_to_host(stream=kernel_stream)
        stream.sync()
        on32, ob32 = on.astype(np.float64), ob.astype(np.float64)
        maxdiff = float(np.max(np.abs(on32 - ob32)))
        identical = bool(np.array_equal(on, ob))
        ref_ok = reference_ok(NATIVE_OF.get(k, k), on, x32, y32, float(a32), float(a16), args.reps)
        mn, mb = statistics.median(tn), statistics.median(tb)
        rows.append((k, mn, mb, mb / mn, identical, maxdiff, ref_ok, t_jit, min(tn), min(tb)))

    print("| kernel | native ms | numba+numbast ms | ratio | numba vs native output | vs NumPy reference | numba first call (JIT) |")
    print("|---|---:|---:|---:|---|---|---:|")
    worst = 0.0
    for k, mn, mb, ratio, identical, maxdiff, ref_ok, t_jit, _, _ in rows:
        if k not in REFERENCE:
            worst = max(worst, ratio)
        same = "bit-identical" if identical else f"max abs diff {maxdiff:.3g}"
        label = f"{k} (reference, not a target)" if k in REFERENCE else k
        print(f"| {label} | {mn:.3f} | {mb:.3f} | {ratio:.3f} | {same} | {'ok' if ref_ok else 'MISMATCH'} | {t_jit * 1e3:.0f} ms |")
    print(f"\nworst ratio of the target kernels {worst:.3f} (target <= 1.01): {'met' if worst <= 1.01 else 'NOT met'}")
    med = {k: mb for k, _mn, mb, *_ in rows}
    shares = [f"{k} {med[k] / med[k + '_plain']:.3f}" for k in ("saxpy", "poly64") if k in med and k + "_plain" in med]
    if shares:
        print("the binding's share, bound / plain kernel of the same backend: " + ", ".join(shares))
    print("min over runs (ms), native / numba: " + ", ".join(f"{k} {a:.3f} / {b:.3f}" for k, *_, a, b in rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
