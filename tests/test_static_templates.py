"""Templates in static modules: `numbast generate` writes function and class templates as data that
the module's embedded template runtime instantiates when kernels are typed (NVRTC does the C++
instantiation and answers the layout probes), so neither numbast, ast_canopy nor libclang is needed
to import the module or to compile kernels.

Two configs (tests/configs/templates_*.yml.in): a small template library (deduction, explicit
template arguments, overloads, intents, a class template with constructors, methods, a member
template, fields and a nested record, templates only sm_90 has, and the naming options), and CUB's
BlockScan and BlockReduce. CPU tests compile and link kernels to cubins; `gpu` tests run them and
compare with NumPy.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import ast_canopy
import numpy as np
import pytest
from _helpers import import_module, require_gpu
from numba import cuda
from numba.cuda import types
from numbast.testing import link_kernel

TESTS = Path(__file__).resolve().parent
CONFIGS = TESTS / "configs"
BLOCK = 128
N_VALUES = 1 << 20


def numbast(*args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "numbast", *map(str, args)], capture_output=True, text=True)


def generate(cfg: Path, out: Path) -> dict:
    """Generates the module of `cfg` into `out`; returns the coverage report and the parsed model."""
    report, model = out.parent / "report.json", out.parent / "model.json"
    r = numbast("generate", cfg, "-o", out, "--report", report, "--dump-model", model, "-q")
    assert r.returncode == 0, r.stderr
    compile((out / f"{cfg.stem}.pyi").read_text(), "stub.pyi", "exec")
    return dict(report=json.loads(report.read_text()), model=json.loads(model.read_text()))


# A script run in a fresh interpreter where importing numbast, ast_canopy or clang raises: it imports
# a generated module, runs __SETUP__ (instantiations), compiles __KERNEL__ for __ARCH__ and links it
# to a cubin.
BLOCKED = r"""
import importlib.abc, json, sys, time

class Blocker(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("numbast", "ast_canopy", "clang"):
            raise ImportError("blocked: " + name)

sys.meta_path.insert(0, Blocker())
import numpy as np
from numba import cuda, int32
from numba.cuda import types
from numba.cuda.compiler import compile_all
from cuda.core import Linker, LinkerOptions, ObjectCode

sys.path.insert(0, __OUT__)
t0 = time.perf_counter()
import __MODULE__ as m
t1 = time.perf_counter()
__SETUP__
t2 = time.perf_counter()
__KERNEL__
cc = tuple(int(c) for c in __ARCH__[3:])
codes, _ = compile_all(kernel, __SIG__, device=False, abi="numba", cc=cc, output="ltoir")
# LTO-IR comes as bytes (the kernel) or as numba-cuda linkable code (a user operator's).
objects = [c if isinstance(c, ObjectCode) else ObjectCode.from_ltoir(bytes(getattr(c, "data", c)), name="kernel") for c in codes]
cubin = Linker(*objects, options=LinkerOptions(arch=__ARCH__, link_time_optimization=True)).link("cubin").code
t3 = time.perf_counter()
assert not [n for n in sys.modules if n.split(".")[0] in ("numbast", "ast_canopy", "clang")]
print(json.dumps({"objects": len(objects), "elf": cubin[:4] == b"\x7fELF", "import_s": t1 - t0,
                  "instantiate_s": t2 - t1, "compile_s": t3 - t2}))
"""


def run_blocked(module: Path, setup: str, kernel: str, sig: str, arch: str = "sm_80") -> dict:
    script = (
        BLOCKED.replace("__OUT__", repr(str(module.parent)))
        .replace("__MODULE__", module.stem)
        .replace("__ARCH__", repr(arch))
        .replace("__SIG__", sig)
        .replace("__SETUP__", textwrap.dedent(setup))
        .replace("__KERNEL__", textwrap.dedent(kernel))
    )
    r = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-4000:]
    return json.loads(r.stdout.strip().splitlines()[-1])


# ----------------------------------------------------------------------------- a small library

HEADER = r"""
#pragma once

namespace lib {

enum class Mode { Plain = 0, Doubled = 1 };

template <typename T>
__device__ T lib_clamp01(T x) { return x < T(0) ? T(0) : (x > T(1) ? T(1) : x); }
// An explicit specialization: the compiler picks it for int.
template <>
__device__ int lib_clamp01<int>(int x) { return x < 0 ? 0 : (x > 100 ? 100 : x); }

// T only in the return type: given explicitly.
template <typename T>
__device__ T lib_make(int x) { return T(x) + T(0.5); }

template <typename T>
__device__ T lib_pick(T a) { return a; }
template <typename T>
__device__ T lib_pick(T a, T b) { return a > b ? a : b; }

template <typename T>
__device__ void lib_divmod(T a, T b, T &quotient, T &remainder) {
  quotient = a / b;
  remainder = a % b;
}

template <typename T>
__device__ T hidden_twice(T x) { return x + x; }
template <typename T>
__device__ T excluded_fn(T x) { return x; }
// Named like the registration's own helper: bound as `_template_bindings_`.
template <typename T>
__device__ T _template_bindings(T x) { return x + T(1); }

template <typename T, int N = 4, Mode M = Mode::Plain>
struct LibVec {
  T data[N];
  int tag;

  struct Stats {
    T lo;
    T hi;
  };

  __device__ LibVec() : tag(N) {
    for (int i = 0; i < N; ++i) data[i] = T(0);
  }
  __device__ explicit LibVec(T fill) : tag(N) {
    for (int i = 0; i < N; ++i) data[i] = fill + T(i);
  }
  __device__ T sum() const {
    T s = 0;
    for (int i = 0; i < N; ++i) s += data[i];
    return M == Mode::Doubled ? s + s : s;
  }
  __device__ T get(int i) const { return data[i]; }
  template <typename U>
  __device__ U scaled_sum(U factor) const { return U(sum()) * factor; }
  __device__ void first_last(T &first, T &last) const {
    first = data[0];
    last = data[N - 1];
  }
};

template <typename T>
struct ExcludedBox {
  T value;
};

#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
template <typename T>
__device__ T lib_hopper_twice(T x) { return x + x; }

template <typename T>
struct HopperBox {
  T value;
  __device__ explicit HopperBox(T x) : value(x * T(3)) {}
  __device__ T get() const { return value; }
};
#endif

}  // namespace lib
"""


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    root = tmp_path_factory.mktemp("tpl_lib")
    (root / "include").mkdir()
    (root / "include" / "tpl_lib.cuh").write_text(HEADER)
    cfg = root / "tpl_lib.yml"
    cfg.write_text((CONFIGS / "templates_small.yml.in").read_text())
    generated = generate(cfg, root / "out")
    return dict(path=root / "out" / "tpl_lib.py", module=import_module(root / "out" / "tpl_lib.py"), **generated)


SMALL_SETUP = """
V4 = m.Vec[np.float32]
VD = m.Vec.instantiate(T=np.int32, N=3, M="Doubled")
make_f = m.make[np.float32]
"""

SMALL_KERNEL = """
def kernel(fout, iout):
    fout[0] = m.clamp01(fout[8])  # T = float32: clamps to [0, 1]
    iout[0] = m.clamp01(iout[8])  # the explicit specialization for int: [0, 100]
    fout[1] = make_f(3)  # explicit template argument, given outside the kernel
    iout[1] = m.pick(iout[9])  # overloads by arity
    iout[2] = m.pick(iout[9], iout[8])
    q, r = m.divmod(iout[9], 4)  # two out_return outputs
    iout[3], iout[4] = q, r
    iout[5] = m._template_bindings_(iout[9])
    v = V4(1.5)  # 1.5, 2.5, 3.5, 4.5
    fout[2] = v.sum()
    fout[3] = v.get(2)
    fout[4] = v.scaled_sum(2.0)  # a member template, U = float64
    first, last = v.first_last()  # class method intents (three levels deep in the config)
    fout[5] = first + last
    fout[6] = v.data[1]  # a public array field
    iout[6] = VD(5).sum()  # (5 + 6 + 7), doubled by the enum argument
    iout[7] = VD(5).tag
"""

SMALL_SIG = "(types.float32[:], types.int32[:])"


def small_args():
    fout = np.zeros(9, np.float32)
    fout[8] = 1.75
    iout = np.zeros(10, np.int32)
    iout[8], iout[9] = 150, 17
    return fout, iout


def check_small(fout, iout):
    assert fout[:7].tolist() == [1.0, 3.5, 12.0, 3.5, 24.0, 6.0, 2.5]
    assert iout[:8].tolist() == [100, 17, 150, 4, 1, 18, 36, 3]


def small_kernel(m):
    ns = {"m": m, "np": np, "cuda": cuda}
    exec(textwrap.dedent(SMALL_SETUP) + textwrap.dedent(SMALL_KERNEL), ns)
    return ns["kernel"]


def test_templates_are_exported_with_the_naming_options(small):
    m = small["module"]
    assert {"clamp01", "make", "pick", "divmod", "_template_bindings_", "Vec", "hopper_twice", "HopperBox", "Mode"} <= set(m.__all__)
    assert not {"hidden_twice", "excluded_fn", "ExcludedBox", "LibVec", "lib_clamp01"} & set(m.__all__)
    skipped = {(s["name"], s["reason"]) for s in small["report"]["skipped"]}
    assert ("lib::hidden_twice", "name starts with the skipped prefix `hidden_`") in skipped
    assert ("lib::excluded_fn", "excluded by configuration") in skipped
    assert ("lib::ExcludedBox", "excluded by configuration") in skipped
    assert repr(m.clamp01) == "<bound function template clamp01 (lib::lib_clamp01)>"
    assert m.Vec.__name__ == "lib::LibVec"
    stub = small["path"].with_suffix(".pyi").read_text()
    assert "clamp01: _nbst_FunctionTemplate\n" in stub and "Vec: _nbst_ClassTemplate\n" in stub
    assert "template <typename T, int N = 4, lib::Mode M = ::lib::Mode::Plain> struct lib::LibVec" in stub


def test_module_has_no_path_of_the_generating_machine(small):
    text = small["path"].read_text()
    assert str(small["path"].parent.parent) not in text
    assert '"tpl_lib.cuh:' in text  # template locations, for error messages, by file name


def test_small_module_compiles_without_numbast_ast_canopy_or_libclang(small):
    result = run_blocked(small["path"], SMALL_SETUP, SMALL_KERNEL, SMALL_SIG)
    assert result["elf"] and result["objects"] == 2, result


def test_template_runtime_is_the_embedded_runtime_s_submodules(small):
    """A static module's template runtime is module texts of its own (no prefixed names pasted into
    the runtime): loaded as submodules of the module's runtime package, whose `_runtime` is the
    runtime itself, in the embedded order, each module after those it imports."""
    m = small["module"]
    m.install()
    rt = sys.modules[m._NB_RUNTIME_NAME]
    names = [name for name, _source in m._NB_TEMPLATE_SOURCES]
    assert names[-1] == "_templates" and len(set(names)) == len(names) >= 5
    assert sys.modules[rt.__name__ + "._runtime"] is rt and rt.__path__ == []
    loaded = [sys.modules[f"{rt.__name__}.{name}"] for name in names]
    assert all(module.rt is rt for module in loaded if hasattr(module, "rt"))
    assert type(m.clamp01).__module__ == rt.__name__ + "._template_functions"
    assert not any(name.startswith("_tpl_") for module in [rt, *loaded] for name in vars(module))
    for i, (name, source) in enumerate(m._NB_TEMPLATE_SOURCES):
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.ImportFrom) and node.level == 1 and node.module not in (None, "_runtime"):
                assert node.module in names[:i], (name, node.module)


def test_class_template_instances(small):
    m = small["module"]
    V = m.Vec[np.float32]
    assert V is m.Vec.instantiate(T=np.float32) and V.__name__ == "lib::LibVec<float>"
    assert (V.size, V.align) == (20, 4) and list(V.nested) == ["Stats"]
    assert m.Vec.instantiate(T=np.int32, N=3, M="Doubled").__name__ == "lib::LibVec<int, 3, lib::Mode::Doubled>"


def test_templates_of_some_archs_are_guarded(small):
    m = small["module"]
    HB = m.HopperBox[np.int32]  # probed for sm_90, the arch that has it, on any machine

    def uses_hopper(out, a):
        out[0] = m.hopper_twice(a[0]) + HB(a[0]).get()

    def uses_common(out, a):
        out[0] = m.clamp01(a[0])

    sig = (types.int32[:], types.int32[:])
    assert link_kernel(uses_hopper, sig, "sm_90").cubin
    # The sm_90 shims are in the unit now, guarded: sm_80 kernels still link.
    assert link_kernel(uses_common, sig, "sm_80").cubin
    with pytest.raises(Exception) as e:
        link_kernel(uses_hopper, sig, "sm_80")
    assert "is not available for compute capability 8.0: tpl_lib has it for sm_90 (the config's GPU Arch)" in str(e.value)
    source = m._unit.source()
    assert '#if defined(__CUDA_ARCH__) && ((__CUDA_ARCH__ >= 900))\nextern "C" __device__ void __nbst_tpl_fn_lib_lib_hopper_twice' in source


@pytest.mark.gpu
def test_small_module_runs(small):
    require_gpu()
    args = [cuda.to_device(a) for a in small_args()]
    cuda.jit(small_kernel(small["module"]))[1, 1](*args)
    check_small(*(a.copy_to_host() for a in args))


# The small library for numba-cuda-mlir (`MLIR Backend: true`), its kernel compiled in a fresh
# interpreter where importing numbast, ast_canopy, clang, numba or llvmlite raises.
BLOCKED_MLIR = r"""
import importlib.abc, json, sys

class Blocker(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("numbast", "ast_canopy", "clang", "numba", "llvmlite"):
            raise ImportError("blocked: " + name)

sys.meta_path.insert(0, Blocker())
import numpy as np
import numba_cuda_mlir.tools as tools
from numba_cuda_mlir import cuda, types
from numba_cuda_mlir.numba_cuda.cudadrv import driver

if not driver.driver.is_available:
    tools._cached_cc = (8, 0)
sys.path.insert(0, __OUT__)
import __MODULE__ as m
__SETUP__
__KERNEL__
cubin = cuda.compile_cubin(kernel, __SIG__, cc=(8, 0))
print(json.dumps({"elf": cubin[:4] == b"\x7fELF"}))
"""


@pytest.fixture(scope="module")
def small_mlir(tmp_path_factory):
    """The small library generated for numba-cuda-mlir (as `tpl_lib_mlir`)."""
    pytest.importorskip("numba_cuda_mlir")
    root = tmp_path_factory.mktemp("tpl_lib_mlir")
    (root / "include").mkdir()
    (root / "include" / "tpl_lib.cuh").write_text(HEADER)
    cfg = root / "tpl_lib_mlir.yml"
    text = (CONFIGS / "templates_small.yml.in").read_text().replace("Output Name: tpl_lib", "Output Name: tpl_lib_mlir")
    cfg.write_text(text + "MLIR Backend: true\n")
    generate(cfg, root / "out")
    return root / "out" / "tpl_lib_mlir.py"


def test_small_module_for_mlir_compiles_without_numbast_or_numba_cuda(small_mlir):
    script = (
        BLOCKED_MLIR.replace("__OUT__", repr(str(small_mlir.parent)))
        .replace("__MODULE__", small_mlir.stem)
        .replace("__SIG__", SMALL_SIG)
        .replace("__SETUP__", textwrap.dedent(SMALL_SETUP))
        .replace("__KERNEL__", textwrap.dedent(SMALL_KERNEL))
    )
    r = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-4000:]
    assert json.loads(r.stdout.strip().splitlines()[-1]) == {"elf": True}


@pytest.mark.gpu
def test_small_module_for_mlir_runs(small_mlir):
    from _backends import Backend

    backend = Backend("mlir")
    backend.gpu()
    ns = {"m": import_module(small_mlir), "np": np, "cuda": backend.cuda}
    exec(textwrap.dedent(SMALL_SETUP) + textwrap.dedent(SMALL_KERNEL), ns)
    args = [backend.cuda.to_device(a) for a in small_args()]
    backend.cuda.jit(ns["kernel"])[1, 1](*args)
    check_small(*(a.copy_to_host() for a in args))


def test_bad_method_intent_is_a_config_error(tmp_path):
    cfg = tmp_path / "bad.yml"
    cfg.write_text(
        "Entry Point: a.cuh\nFile List: [a.cuh]\nGPU Arch: [sm_80]\n"
        "Function Argument Intents:\n  BlockScan:\n    InclusiveSum: {output: out_retrun}\n"
    )
    r = numbast("generate", cfg, "-o", tmp_path / "out")
    assert r.returncode == 2
    assert (
        f"{cfg}:4:1: `Function Argument Intents`: BlockScan.InclusiveSum.output: `out_retrun` is not one of "
        "in, inout_ptr, out_ptr, out_return"
    ) in r.stderr, r.stderr


# ----------------------------------------------------------------------------- CUB


@pytest.fixture(scope="module")
def cub(tmp_path_factory):
    root = tmp_path_factory.mktemp("cub_blocks")
    cccl = next(d for d in ast_canopy.cuda_include_dirs() if d.endswith("cccl"))
    (root / "cub_blocks.cuh").write_text("#pragma once\n#include <cub/block/block_scan.cuh>\n#include <cub/block/block_reduce.cuh>\n")
    cfg = root / "cub_blocks.yml"
    cfg.write_text((CONFIGS / "templates_cub.yml.in").read_text().replace("{cccl}", cccl))
    start = time.perf_counter()
    generated = generate(cfg, root / "out")
    seconds = time.perf_counter() - start
    # CUB 3.2 spells the block size `BlockDimX`, older CUB `BLOCK_DIM_X`: use what the header says.
    (decls,) = generated["model"].values()
    wanted = ("cub::BlockScan", "cub::BlockReduce")
    dims = {t["qual_name"]: t["template_parameters"][1]["name"] for t in decls["class_templates"] if t["qual_name"] in wanted}
    return dict(path=root / "out" / "cub_blocks.py", seconds=seconds, dims=dims, **generated)


def cub_setup(dims):
    return f"""
BS = m.BlockScan[np.int32, {BLOCK}]
BR = m.BlockReduce.instantiate(T=np.int32, {dims["cub::BlockReduce"]}={BLOCK})
TempStorage = BS.TempStorage
"""


CUB_KERNEL = """
def kernel(values, inclusive, exclusive, sums):
    temp = cuda.shared.array(1, TempStorage)
    i = cuda.grid(1)
    x = values[i]
    scan = BS(temp)
    inclusive[i] = scan.InclusiveSum(x)
    cuda.syncthreads()  # the storage is reused
    exclusive[i] = scan.ExclusiveSum(x)
    total = BR().Sum(x)  # CUB's private shared storage (the default constructor)
    if cuda.threadIdx.x == 0:
        sums[cuda.blockIdx.x] = total
"""


def test_cub_module_binds_the_class_templates(cub):
    bound = {(b["kind"], b["name"]) for b in cub["report"]["bound"]}
    assert {("class_template", "cub::BlockScan"), ("class_template", "cub::BlockReduce")} <= bound
    assert set(cub["dims"]) == {"cub::BlockScan", "cub::BlockReduce"}
    assert cub["dims"]["cub::BlockScan"] in ("BlockDimX", "BLOCK_DIM_X")
    text = cub["path"].read_text()
    assert '("output", "T &", "out_return")' in text  # the class-method intents


def test_cub_module_compiles_without_numbast_ast_canopy_or_libclang(cub):
    result = run_blocked(cub["path"], cub_setup(cub["dims"]), CUB_KERNEL, "(types.int32[:],) * 4")
    assert result["elf"] and result["objects"] == 2, result
    print(
        f"\nCUB module: generated in {cub['seconds']:.2f} s; in a fresh process: import {result['import_s']:.3f} s, "
        f"instantiate {result['instantiate_s']:.2f} s, first kernel compile+link {result['compile_s']:.2f} s"
    )


@pytest.mark.gpu
def test_cub_scan_and_reduce_run(cub):
    require_gpu()
    m = import_module(cub["path"])
    ns = {"m": m, "np": np, "cuda": cuda}
    exec(textwrap.dedent(cub_setup(cub["dims"])) + textwrap.dedent(CUB_KERNEL), ns)
    values = np.random.default_rng(0).integers(0, 100, N_VALUES).astype(np.int32)
    d_values = cuda.to_device(values)
    d_inclusive, d_exclusive = cuda.device_array(N_VALUES, np.int32), cuda.device_array(N_VALUES, np.int32)
    d_sums = cuda.device_array(N_VALUES // BLOCK, np.int32)
    cuda.jit(ns["kernel"])[N_VALUES // BLOCK, BLOCK](d_values, d_inclusive, d_exclusive, d_sums)
    blocks = values.reshape(-1, BLOCK)
    expected = np.cumsum(blocks, axis=1, dtype=np.int32)
    np.testing.assert_array_equal(d_inclusive.copy_to_host().reshape(-1, BLOCK), expected)
    np.testing.assert_array_equal(d_exclusive.copy_to_host().reshape(-1, BLOCK), expected - blocks)
    np.testing.assert_array_equal(d_sums.copy_to_host(), blocks.sum(axis=1, dtype=np.int32))
