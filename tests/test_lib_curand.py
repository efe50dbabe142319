"""cuRAND's device API bound from `curand_kernel.h` as users write kernels against it: one state per
thread in a local array, passed where cuRAND takes `curandState*_t *`.

For each generator (XORWOW, Philox4_32_10, MRG32k3a, Sobol32) one kernel initialises a state per
thread and draws from every distribution the generator offers (`curand`, `curand_uniform`,
`curand_normal`, `curand_log_normal`, `curand_poisson`, the `2`/`4` and `_double` variants), then
skips ahead and draws again. The CPU tests link the kernels to a cubin (shims inlined); the `gpu`
tests draw 1M values per generator and compare them bit for bit with the same kernel written in
CUDA C++, in dynamic mode and from a generated static module. Every test runs on both backends
(the `backend` fixture: numba-cuda and numba-cuda-mlir).
"""

from __future__ import annotations

import glob
import os
import subprocess
import sys
import warnings

import ast_canopy
import numpy as np
import pytest
from _helpers import import_module

ARCH = "sm_80"
BLOCK = 128
BLOCKS = 32
THREADS = BLOCK * BLOCKS
DRAWS = 32  # per thread and output: 4096 threads x 32 draws x 8 outputs = 1M values per generator
SEED = 1234
INCLUDE = ast_canopy.cuda_include_dirs()[0]
CURAND_FILES = sorted(p for p in glob.glob(os.path.join(INCLUDE, "curand_*.h")) if "host" not in os.path.basename(p))

# Sobol32 needs 32 direction vectors; cuRAND's host library hands out the real ones, any will do to
# compare two implementations of the generator: the first dimension of Sobol's sequence.
DIRECTIONS = np.array([1 << (31 - k) for k in range(32)], dtype=np.uint32)


class Bound:
    """The names a kernel uses, from dynamic mode or from a generated module."""

    def __init__(self, ns, writer=None):
        self.writer = writer
        for name in (
            "curand_init",
            "curand",
            "curand4",
            "curand_uniform",
            "curand_uniform4",
            "curand_uniform_double",
            "curand_uniform2_double",
            "curand_normal",
            "curand_normal2",
            "curand_normal4",
            "curand_normal_double",
            "curand_normal2_double",
            "curand_log_normal",
            "curand_log_normal2",
            "curand_log_normal_double",
            "curand_poisson",
            "skipahead",
            "skipahead_subsequence",
        ):
            setattr(self, name, ns[name])
        for state in ("XORWOW", "Philox4_32_10", "MRG32k3a", "Sobol32"):
            setattr(self, state, ns[f"curandState{state}"])


@pytest.fixture(scope="module")
def decls():
    return ast_canopy.parse_declarations_from_source(os.path.join(INCLUDE, "curand_kernel.h"), CURAND_FILES, ARCH)


@pytest.fixture(scope="module")
def R(backend, decls):
    api = backend.api
    writer = api.MemoryShimWriter("#include <curand_kernel.h>")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # host-only helpers and the MTGP32 tables are reported, not bound
        structs = api.bind_cxx_structs(writer, decls.structs)
        functions = api.bind_cxx_functions(writer, decls.functions)
        templates = api.bind_cxx_function_templates(function_templates=decls.function_templates, shim_writer=writer)
    ns = {s.__name__: s for s in structs if s is not None}
    ns.update({f.__name__: f for f in functions if f is not None})
    ns.update({t.__name__: t for t in templates if t is not None})
    return Bound(ns, writer)


# ----------------------------------------------------------------------------- kernels


def kernels(R, cuda):
    """The kernels (Python functions, for `cuda.jit` of a backend's `cuda`), one per generator;
    each writes 8 outputs of DRAWS values per thread."""
    curand_init, curand, curand4 = R.curand_init, R.curand, R.curand4
    uniform, uniform4, uniform_d, uniform2_d = R.curand_uniform, R.curand_uniform4, R.curand_uniform_double, R.curand_uniform2_double
    normal, normal2, normal4, normal_d = R.curand_normal, R.curand_normal2, R.curand_normal4, R.curand_normal_double
    normal2_d, log_normal, log_normal2, log_normal_d = (
        R.curand_normal2_double,
        R.curand_log_normal,
        R.curand_log_normal2,
        R.curand_log_normal_double,
    )
    poisson, skipahead, skipahead_subsequence = R.curand_poisson, R.skipahead, R.skipahead_subsequence
    XORWOW, Philox, MRG, Sobol = R.XORWOW, R.Philox4_32_10, R.MRG32k3a, R.Sobol32

    def xorwow(bits, f32, f64, f32b, f64b, logn, pois, after):
        i = cuda.grid(1)
        s = cuda.local.array(1, XORWOW)
        curand_init(SEED, i, 0, s)
        for k in range(DRAWS):
            bits[i, k] = curand(s)
            f32[i, k] = uniform(s)
            f64[i, k] = normal_d(s)
            n2 = normal2(s)
            f32b[i, k] = n2.x + 2.0 * n2.y
            f64b[i, k] = uniform_d(s)
            logn[i, k] = log_normal(s, 0.5, 0.25)
            pois[i, k] = poisson(s, 4.0)
        skipahead(1000, s)
        for k in range(DRAWS):
            after[i, k] = normal(s)

    def philox(bits, f32, f64, f32b, f64b, logn, pois, after):
        i = cuda.grid(1)
        s = cuda.local.array(1, Philox)
        curand_init(SEED, i, 7, s)
        for k in range(DRAWS):
            b4 = curand4(s)
            bits[i, k] = b4.x ^ b4.w
            u4 = uniform4(s)
            f32[i, k] = u4.x + u4.y + u4.z + u4.w
            u2 = uniform2_d(s)
            f64[i, k] = u2.x - u2.y
            n4 = normal4(s)
            f32b[i, k] = n4.x * n4.w
            f64b[i, k] = normal2_d(s).y
            logn[i, k] = log_normal2(s, 0.0, 1.0).x
            pois[i, k] = poisson(s, 0.75)
        skipahead(12345, s)
        for k in range(DRAWS):
            after[i, k] = uniform(s)

    def mrg(bits, f32, f64, f32b, f64b, logn, pois, after):
        i = cuda.grid(1)
        s = cuda.local.array(1, MRG)
        curand_init(SEED, i, 0, s)
        for k in range(DRAWS):
            bits[i, k] = curand(s)
            f32[i, k] = normal(s)
            f64[i, k] = uniform_d(s)
            f32b[i, k] = normal2(s).x
            f64b[i, k] = log_normal_d(s, 1.0, 0.5)
            logn[i, k] = log_normal(s, 0.0, 0.5)
            pois[i, k] = poisson(s, 9.5)
        skipahead_subsequence(3, s)
        for k in range(DRAWS):
            after[i, k] = uniform(s)

    def sobol(directions, bits, f32, f64, f32b, f64b, logn, pois, after):
        i = cuda.grid(1)
        s = cuda.local.array(1, Sobol)
        curand_init(directions, i * 997, s)
        for k in range(DRAWS):
            bits[i, k] = curand(s)
            f32[i, k] = uniform(s)
            f64[i, k] = uniform_d(s)
            f32b[i, k] = normal(s)
            f64b[i, k] = normal_d(s)
            logn[i, k] = log_normal(s, 0.25, 2.0)
            pois[i, k] = poisson(s, 2.0)
        skipahead(100, s)
        for k in range(DRAWS):
            after[i, k] = uniform(s)

    return {"xorwow": xorwow, "philox": philox, "mrg": mrg, "sobol": sobol}


NATIVE = r"""
#include <curand_kernel.h>
#define SEED 1234
#define DRAWS 32
#define OUT unsigned int *bits, float *f32, double *f64, float *f32b, double *f64b, float *logn, unsigned int *pois, float *after
#define AT(k) (i * DRAWS + (k))

extern "C" __global__ void xorwow(OUT) {
  unsigned i = blockIdx.x * blockDim.x + threadIdx.x;
  curandStateXORWOW_t s; curand_init(SEED, i, 0, &s);
  for (int k = 0; k < DRAWS; ++k) {
    bits[AT(k)] = curand(&s); f32[AT(k)] = curand_uniform(&s); f64[AT(k)] = curand_normal_double(&s);
    float2 n2 = curand_normal2(&s); f32b[AT(k)] = n2.x + 2.0 * n2.y;
    f64b[AT(k)] = curand_uniform_double(&s); logn[AT(k)] = curand_log_normal(&s, 0.5, 0.25);
    pois[AT(k)] = curand_poisson(&s, 4.0);
  }
  skipahead(1000ull, &s);
  for (int k = 0; k < DRAWS; ++k) after[AT(k)] = curand_normal(&s);
}

extern "C" __global__ void philox(OUT) {
  unsigned i = blockIdx.x * blockDim.x + threadIdx.x;
  curandStatePhilox4_32_10_t s; curand_init(SEED, i, 7, &s);
  for (int k = 0; k < DRAWS; ++k) {
    uint4 b4 = curand4(&s); bits[AT(k)] = b4.x ^ b4.w;
    float4 u4 = curand_uniform4(&s); f32[AT(k)] = u4.x + u4.y + u4.z + u4.w;
    double2 u2 = curand_uniform2_double(&s); f64[AT(k)] = u2.x - u2.y;
    float4 n4 = curand_normal4(&s); f32b[AT(k)] = n4.x * n4.w;
    f64b[AT(k)] = curand_normal2_double(&s).y; logn[AT(k)] = curand_log_normal2(&s, 0.0, 1.0).x;
    pois[AT(k)] = curand_poisson(&s, 0.75);
  }
  skipahead(12345ull, &s);
  for (int k = 0; k < DRAWS; ++k) after[AT(k)] = curand_uniform(&s);
}

extern "C" __global__ void mrg(OUT) {
  unsigned i = blockIdx.x * blockDim.x + threadIdx.x;
  curandStateMRG32k3a_t s; curand_init(SEED, i, 0, &s);
  for (int k = 0; k < DRAWS; ++k) {
    bits[AT(k)] = curand(&s); f32[AT(k)] = curand_normal(&s); f64[AT(k)] = curand_uniform_double(&s);
    f32b[AT(k)] = curand_normal2(&s).x; f64b[AT(k)] = curand_log_normal_double(&s, 1.0, 0.5);
    logn[AT(k)] = curand_log_normal(&s, 0.0, 0.5); pois[AT(k)] = curand_poisson(&s, 9.5);
  }
  skipahead_subsequence(3ull, &s);
  for (int k = 0; k < DRAWS; ++k) after[AT(k)] = curand_uniform(&s);
}

extern "C" __global__ void sobol(unsigned int *directions, OUT) {
  unsigned i = blockIdx.x * blockDim.x + threadIdx.x;
  curandStateSobol32_t s; curand_init(directions, i * 997, &s);
  for (int k = 0; k < DRAWS; ++k) {
    bits[AT(k)] = curand(&s); f32[AT(k)] = curand_uniform(&s); f64[AT(k)] = curand_uniform_double(&s);
    f32b[AT(k)] = curand_normal(&s); f64b[AT(k)] = curand_normal_double(&s);
    logn[AT(k)] = curand_log_normal(&s, 0.25, 2.0); pois[AT(k)] = curand_poisson(&s, 2.0);
  }
  skipahead(100u, &s);
  for (int k = 0; k < DRAWS; ++k) after[AT(k)] = curand_uniform(&s);
}
"""

OUTPUT_DTYPES = (np.uint32, np.float32, np.float64, np.float32, np.float64, np.float32, np.uint32, np.float32)


def outputs():
    return [np.zeros((THREADS, DRAWS), dt) for dt in OUTPUT_DTYPES]


def kernel_args(name):
    return ([DIRECTIONS] if name == "sobol" else []) + outputs()


# ----------------------------------------------------------------------------- CPU: link


@pytest.mark.parametrize("generator", ["xorwow", "philox", "mrg", "sobol"])
def test_generator_kernel_links_with_states_in_local_arrays(backend, R, generator):
    kernel = kernels(R, backend.cuda)[generator]
    backend.link(kernel, tuple(backend.typeof(a) for a in kernel_args(generator)), R.writer)


def test_state_of_another_generator_is_refused(backend, R):
    """A Philox state where cuRAND takes an XORWOW state: the typing error names the candidates."""
    curand_init, XORWOW, Philox = R.curand_init, R.XORWOW, R.Philox4_32_10
    cuda = backend.cuda

    def kernel(out):
        s = cuda.local.array(1, Philox)
        curand_init(1, 0, 0, s)
        t = cuda.local.array(1, XORWOW)
        curand_init(out, 0, t)  # Sobol's signature with a wrong first argument

    with pytest.raises(Exception) as e:
        backend.link(kernel, (backend.typeof(np.zeros(4, np.float32)),), R.writer)
    text = str(e.value)
    assert "curand_init" in text and "curandStateSobol32" in text


# ----------------------------------------------------------------------------- GPU: values


def draw(backend, R, generator):
    cuda = backend.cuda
    kernel = cuda.jit(kernels(R, cuda)[generator])
    d = [cuda.to_device(a) for a in kernel_args(generator)]
    kernel[BLOCKS, BLOCK](*d)
    return [a.copy_to_host() for a in d[-8:]]


def draw_native(generator):
    from _native import run_native
    from numba import cuda

    d = [cuda.to_device(a) for a in kernel_args(generator)]
    run_native(NATIVE, generator, BLOCKS, BLOCK, *d)
    return [a.copy_to_host() for a in d[-8:]]


def assert_bit_identical(ours, native):
    for k, (a, b) in enumerate(zip(ours, native)):
        assert a.view(np.uint8).tobytes() == b.view(np.uint8).tobytes(), f"output {k} differs"
        assert np.isfinite(a.astype(np.float64)).all()


@pytest.mark.gpu
@pytest.mark.parametrize("generator", ["xorwow", "philox", "mrg", "sobol"])
def test_draws_are_bit_identical_to_cuda_cpp(backend, R, generator):
    backend.gpu()
    ours = draw(backend, R, generator)
    assert_bit_identical(ours, draw_native(generator))
    assert len(np.unique(ours[0])) > THREADS * DRAWS // 2  # not a constant stream


# ----------------------------------------------------------------------------- static module


def module_names(module):
    """A generated module's names; they are defined on first use (`__getattr__`), not at import."""
    return {name: getattr(module, name) for name in module.__all__}


@pytest.fixture(scope="module")
def static_module(backend, tmp_path_factory):
    """The static module of cuRAND for the backend (`MLIR Backend: true` for numba-cuda-mlir)."""
    out = tmp_path_factory.mktemp("curand_static")
    entry = out / "curand_entry.cuh"
    entry.write_text("#include <curand_kernel.h>\n")
    cfg = out / "curand.yml"
    name = "curand_device_mlir" if backend.name == "mlir" else "curand_device"
    mlir = "MLIR Backend: true\n" if backend.name == "mlir" else ""
    cfg.write_text(f"Entry Point: {entry}\nFile List: [{', '.join(CURAND_FILES)}]\nGPU Arch: [{ARCH}]\nOutput Name: {name}\n{mlir}")
    proc = subprocess.run([sys.executable, "-m", "numbast", "generate", str(cfg), "--output-dir", str(out)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    return import_module(out / f"{name}.py")


@pytest.mark.parametrize("generator", ["xorwow", "philox", "mrg", "sobol"])
def test_static_module_kernels_link(backend, static_module, generator):
    R = Bound(module_names(static_module))
    kernel = kernels(R, backend.cuda)[generator]
    cubin = backend.link(kernel, tuple(backend.typeof(a) for a in kernel_args(generator)), None)
    assert cubin[:4] == b"\x7fELF", generator


@pytest.mark.gpu
def test_static_module_draws_are_bit_identical_to_cuda_cpp(backend, static_module):
    backend.gpu()
    R = Bound(module_names(static_module))
    for generator in ("xorwow", "philox", "mrg", "sobol"):
        assert_bit_identical(draw(backend, R, generator), draw_native(generator))
