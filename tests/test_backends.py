"""One suite for both backends (the `backend` fixture): numba-cuda (`numbast`) and numba-cuda-mlir
(`numbast.mlir`). The same headers are bound with each backend's API, the same kernels are written
against its `cuda` and `types`; on CPU each kernel is compiled and linked to a cubin with every
shim it calls inlined, on a GPU (`gpu` marker) the values are checked.

The numba-cuda-mlir backend is skipped where numba-cuda-mlir is not installed (`pip install
'.[mlir]'`). Its target is given explicitly (sm_80) where no GPU is present, since numba-cuda-mlir
asks the driver for the device's compute capability.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from _backends import Backend

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "examples" / "demo" / "demo.cuh"
HEADERS = Path(__file__).resolve().parent / "headers" / "dynamic"
ARCH = "sm_80"


# The README's demo, as a numba-cuda-mlir user writes it: the same code with its imports taken from
# numba-cuda-mlir and numbast.mlir.
MLIR_IMPORTS = {
    "from numba import cuda, types": "from numba_cuda_mlir import cuda, types",
    "from numba.core.datamodel.models import PrimitiveModel": "from numba_cuda_mlir.models import PrimitiveModel",
    "from numbast import ": "from numbast.mlir import ",
}


def demo_text(backend):
    text = (ROOT / "examples" / "demo" / "demo.py").read_text()
    if backend.name == "mlir":
        for old, new in MLIR_IMPORTS.items():
            assert old in text
            text = text.replace(old, new)
    return text


@pytest.fixture(scope="module")
def demo(backend):
    """The demo's code up to the launch (binding, the kernel), run with the backend's imports."""
    ns = {"__file__": str(DEMO.parent / "demo.py"), "__name__": "demo"}
    exec(compile(demo_text(backend).split("arr = np.array")[0], "demo.py", "exec"), ns)
    return dict(writer=ns["shim_writer"], kernel=ns["kernel"].py_func, hsqrt=ns["hsqrt"])


def test_demo_links(backend, demo):
    backend.link(demo["kernel"], (backend.types.float64[::1],), demo["writer"])


@pytest.mark.gpu
def test_demo_runs(backend):
    """The whole demo, launch and check included."""
    backend.gpu()
    ns = {"__file__": str(DEMO.parent / "demo.py"), "__name__": "__main__"}
    exec(compile(demo_text(backend), "demo.py", "exec"), ns)
    np.testing.assert_allclose(ns["arr"], [3.0, np.sqrt(3.0)], rtol=1e-2)


@pytest.fixture(scope="module")
def functions(backend):
    """functions.cuh: overloads, enums in namespaces, pointers."""
    import warnings

    from ast_canopy import parse_declarations_from_source

    path = HEADERS / "functions.cuh"
    decls = parse_declarations_from_source(str(path), [str(path)], ARCH)
    api = backend.api
    writer = api.MemoryShimWriter(f'#include "{path}"')
    enums = {e.__name__: e for e in api.bind_cxx_enums(decls.enums) if e is not None}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # functions of types registered by test_dynamic are skipped here
        fns = {f.__name__: f for f in api.bind_cxx_functions(writer, decls.functions)}
    return dict(writer=writer, enums=enums, fns=fns)


def _functions_kernel(F):
    add, load, store, mode_value, flip = (F["fns"][n] for n in ("add", "load", "store", "mode_value", "flip"))
    Mode = F["enums"]["Mode"]

    def kernel(iout, fout):
        iout[0] = add(np.int32(1), np.int32(2))  # int overload
        iout[1] = add(np.int32(1), np.int32(2), np.int32(3))  # three parameters
        fout[0] = add(np.float32(1.0), np.float32(2.0))  # float overload: + 0.5
        fout[1] = add(1.0, 2.0)  # const double & overload: + 0.25
        store(iout[2:], 42)  # int *: an array decays to its data pointer
        iout[3] = load(iout[2:])  # const int *
        iout[4] = mode_value(Mode.Fast)  # enum parameter
        iout[5] = mode_value(flip(Mode.Fast))  # enum by const reference and as a result

    return kernel


def test_functions_link(backend, functions):
    kernel = _functions_kernel(functions)
    backend.link(kernel, (backend.types.int32[::1], backend.types.float64[::1]), functions["writer"])


@pytest.mark.gpu
def test_functions_run(backend, functions):
    backend.gpu()
    iout, fout = np.zeros(6, np.int32), np.zeros(2, np.float64)
    backend.cuda.jit(_functions_kernel(functions))[1, 1](iout, fout)
    assert iout.tolist() == [3, 6, 42, 42, 10, 20]
    assert fout.tolist() == [3.5, 3.25]


def test_no_fitting_overload_lists_each_overload(backend, functions):
    """The typing error is the shared typing layer's, on either backend."""
    add = functions["fns"]["add"]

    def kernel(out):
        out[0] = add(out, out)

    with pytest.raises(Exception, match=r"no overload of add fits") as info:
        backend.link(kernel, (backend.types.int32[::1],), functions["writer"])
    assert "takes 3 argument(s), 2 given" in str(info.value)


def test_binding_of_the_other_backend_is_refused(backend, demo):
    """A binding made for one backend, used in the other's kernel: an error naming both."""
    other = Backend("numba-cuda" if backend.name == "mlir" else "mlir")
    hsqrt = demo["hsqrt"]

    def kernel(arr):
        arr[0] = hsqrt(arr[0])

    with pytest.raises(Exception, match=r"numba-cuda-mlir") as info:
        other.link(kernel, (other.types.float64[::1],), demo["writer"])
    message = str(info.value)
    assert f"bound for the {'numba-cuda-mlir' if backend.name == 'mlir' else 'numba-cuda'} backend" in message
    assert f"cannot be used in a {'numba-cuda' if backend.name == 'mlir' else 'numba-cuda-mlir'} kernel" in message


def test_experimental_name_is_the_same_module():
    pytest.importorskip("numba_cuda_mlir")
    import numbast.experimental.mlir as experimental
    import numbast.mlir

    assert experimental is numbast.mlir
    assert sorted(numbast.mlir.__all__) == sorted(n for n in importlib.import_module("numbast").__all__ if n != "__version__")


def test_mlir_api_imports_no_numba_cuda():
    """`numbast.mlir` binds for numba-cuda-mlir without importing numba-cuda."""
    pytest.importorskip("numba_cuda_mlir")
    code = (
        "import sys, numbast.mlir as m\n"
        "from ast_canopy import parse_declarations_from_source\n"
        f"d = parse_declarations_from_source({str(DEMO)!r}, [{str(DEMO)!r}], 'sm_80')\n"
        f"w = m.MemoryShimWriter('#include \"{DEMO}\"')\n"
        "m.bind_cxx_function(w, d.functions[1])\n"
        "print(sorted(n for n in ('numba', 'llvmlite', 'numba.cuda') if n in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


@pytest.mark.parametrize("probe", ["clang", "nvrtc"])
def test_mlir_template_layout_probe_imports_no_numba_cuda(tmp_path, probe):
    """A class template's layout is probed with numba-cuda-mlir's NVRTC and include path where
    libclang cannot answer (`NUMBAST_TEMPLATE_PROBE=nvrtc` makes NVRTC answer, into an empty NVRTC
    cache), and with libclang given the same include path: neither imports numba-cuda."""
    pytest.importorskip("numba_cuda_mlir")
    header = Path(__file__).resolve().parent / "headers" / "templates_dyn" / "classes.cuh"
    code = (
        "import sys, numpy as np, numbast.mlir as m\n"
        "from ast_canopy import parse_declarations_from_source\n"
        f"d = parse_declarations_from_source({str(header)!r}, [{str(header)!r}], 'sm_80')\n"
        f"w = m.MemoryShimWriter('#include \"{header}\"')\n"
        "(vec,) = [t for t in m.bind_cxx_class_templates(d.class_templates, None, w) if t.__name__ == 'tpl::Vec']\n"
        "print(vec[np.float32, 3]._numba_type._nbst_size)\n"
        "print(sorted(n for n in ('numba', 'llvmlite', 'numba.cuda') if n in sys.modules))\n"
    )
    env = dict(os.environ, NUMBAST_TEMPLATE_PROBE=probe, AST_CANOPY_CACHE_DIR=str(tmp_path / "cache"))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env).stdout
    assert out.split("\n")[:2] == ["16", "[]"]  # float data[3] and int tag


# ----------------------------------------------------------------------------- static modules

sys.path.insert(0, str(Path(__file__).resolve().parent / "mlir_gpu"))
import prepare  # noqa: E402 (tests/mlir_gpu/prepare.py: the modules the GPU tests load)

# Imports a static module in a fresh process with numba and llvmlite refused (for the MLIR
# backend), compiles a kernel over every kind of binding to a cubin and, with a GPU, runs it.
STATIC_SCRIPT = r"""
import importlib.abc, importlib.util, json, re, sys
BLOCK, MODULE, RUN = sys.argv[1] == "block", sys.argv[2], sys.argv[3] == "run"

class Refuse(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name.split(".")[0] in ("numba", "llvmlite"):
            raise ImportError(f"{name} is refused: the module must not import it")

if BLOCK:
    sys.meta_path.insert(0, Refuse())
mlir = MODULE.endswith("_mlir.py")
if mlir:
    from numba_cuda_mlir import cuda, types
    from numba_cuda_mlir.numba_cuda.cudadrv import driver
    import numba_cuda_mlir.tools as tools
    if not driver.driver.is_available:
        tools._cached_cc = (8, 0)
else:
    from numba import cuda, types
spec = importlib.util.spec_from_file_location("lib_under_test", MODULE)
m = importlib.util.module_from_spec(spec)
spec.loader.exec_module(m)

def kernel(iout, fout):
    s = m.Span(iout[0], 4)
    t = s + m.Span(10, 20)  # free operator
    iout[1] = t.width()  # method
    iout[2] = t.lo  # field
    iout[3] = m.twice(iout[0])  # overloads: int
    fout[0] = m.twice(fout[1])  # and float
    iout[4] = m.level(m.Tone.High)  # enum
    iout[5] = m.flipped(s).lo  # struct by value, returned
    iout[6] = m.Span.limit()  # static member function
    m.bump(iout[7:])  # int *: an array decays
    iout[8] = m.ident(iout[0] * 3)  # function template
    iout[9] = s(2)  # call operator of a struct value

sig = (types.int32[::1], types.float32[::1])
out = {"numba": sorted(n for n in ("numba", "llvmlite") if n in sys.modules)}
shims = lambda: re.findall(r'extern "C" __device__ void (\w+)\(', m.shim_stream.getvalue())  # those used so far
if mlir:
    cubin = cuda.compile_cubin(kernel, sig, cc=(8, 0))
    shims = shims()
    out["left"] = [s for s in shims if s.encode() in cubin]
else:
    from numbast.testing import link_kernel
    result = link_kernel(kernel, sig, "sm_80")
    cubin, shims = result.cubin, shims()
    out["left"] = [s for s in shims if result.calls(s)]
out["elf"], out["shims"] = cubin[:4] == b"\x7fELF", len(shims)
out["template"] = repr(m.ident)
if RUN:
    import numpy as np
    iout, fout = np.array([3, 0, 0, 0, 0, 0, 0, 41, 0, 0], np.int32), np.array([0, 1.5], np.float32)
    cuda.jit(kernel)[1, 1](iout, fout)
    out["iout"], out["fout"] = iout.tolist(), fout.tolist()
print(json.dumps(out))
"""


def _static_module(backend, folder):
    return folder / f"lib_{'mlir' if backend.name == 'mlir' else 'numba_cuda'}.py"


def _run_static(backend, module, run=False):
    # numba and llvmlite are refused while the module binds and compiles (CPU); a launch is left to
    # numba-cuda-mlir as it is, whatever it imports.
    block = "block" if backend.name == "mlir" and not run else "open"
    r = subprocess.run([sys.executable, "-c", STATIC_SCRIPT, block, str(module), "run" if run else "link"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-3000:]
    import json

    return json.loads(r.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def static_modules(tmp_path_factory):
    folder = tmp_path_factory.mktemp("static")
    prepare.generate(folder)
    return folder


def test_static_module_links(backend, static_modules):
    """The same config, `MLIR Backend: true` or not: the module binds, every shim is inlined; the
    MLIR module imports with numba and llvmlite refused."""
    out = _run_static(backend, _static_module(backend, static_modules))
    assert out["elf"] and out["shims"] >= 9
    assert out["left"] == []
    if backend.name == "mlir":
        assert out["numba"] == []
    assert out["template"] == "<bound function template ident (ident)>"


def test_static_mlir_module_imports_only_numba_cuda_mlir(static_modules):
    pytest.importorskip("numba_cuda_mlir")
    text = (static_modules / "lib_mlir.py").read_text()
    imports = set(re.findall(r"^\s*(?:from|import) ([\w.]+)", text, re.M))
    assert {i.split(".")[0] for i in imports} <= {"numba_cuda_mlir", "sys", "threading", "types", "os", "operator", "linecache"}
    assert "Numba-CUDA-MLIR bindings" in text


@pytest.mark.gpu
def test_static_module_runs(backend):
    """On a GPU machine (no header parsed here): the modules `tests/mlir_gpu/prepare.py` wrote."""
    backend.gpu()
    module = _static_module(backend, Path(os.environ.get("NUMBAST_TEST_DECLS") or prepare.GENERATED))
    if not module.exists():
        pytest.skip("run tests/mlir_gpu/prepare.py first (it writes the modules this test loads)")
    out = _run_static(backend, module, run=True)
    assert out["iout"] == [3, 11, 13, 6, 20, 4, 100, 42, 9, 10]
    assert out["fout"] == [3.5, 1.5]


def test_python_operator_for_a_template_on_mlir(tmp_path):
    """A Python device function given for a template's operator type in a numba-cuda-mlir kernel
    is compiled by numba-cuda-mlir (C ABI, LTO-IR) and inlined: no call of it is left."""
    pytest.importorskip("numba_cuda_mlir")
    from ast_canopy import parse_declarations_from_source

    backend = Backend("mlir")
    path = tmp_path / "apply.cuh"
    path.write_text("#pragma once\ntemplate <class T, class Op> __device__ T apply(T a, T b, Op op) { return op(a, b); }\n")
    decls = parse_declarations_from_source(str(path), [str(path)], ARCH)
    writer = backend.api.MemoryShimWriter(f'#include "{path}"')
    (apply,) = backend.api.bind_cxx_function_templates(function_templates=decls.function_templates, shim_writer=writer)

    @backend.cuda.jit(device=True)
    def add(a, b):
        return a + b

    def kernel(out):
        out[0] = apply(out[0], out[1], add)

    cubin = backend.link(kernel, (backend.types.int32[::1],), writer)
    from numba_cuda_mlir.numba_cuda.cudadrv import linkable_code

    (op,) = [op for op in linkable_code._nbst_user_ops[0].values() if op.dispatcher is add]
    assert op.symbol.encode() not in cubin


COOPERATIVE_SCRIPT = r"""
import importlib.util, json, sys
MODULE, RUN = sys.argv[1], sys.argv[2] == "run"
if MODULE.endswith("_mlir.py"):
    from numba_cuda_mlir import cuda, types
    from numba_cuda_mlir.compiler import compile_result
    from numba_cuda_mlir.numba_cuda.cudadrv import driver
    import numba_cuda_mlir.tools as tools
    if not driver.driver.is_available:
        tools._cached_cc = (8, 0)
    cooperative = lambda k: bool(compile_result(k, (types.int32[::1],)).metadata.get("use_cooperative"))
else:
    from numba import cuda, types
    from numba.cuda.compiler import compile_cuda
    cooperative = lambda k: compile_cuda(k, types.void, (types.int32[::1],), cc=(8, 0)).library.use_cooperative
spec = importlib.util.spec_from_file_location("coop_lib", MODULE)
m = importlib.util.module_from_spec(spec)
spec.loader.exec_module(m)

def uses_thrice(out):
    out[cuda.grid(1)] = m.thrice(out[cuda.grid(1)])

def uses_twice(out):
    out[0] = m.twice(out[0])

out = {"cooperative": [cooperative(k) for k in (uses_thrice, uses_twice)]}
if RUN:
    import numpy as np
    values = np.arange(64, dtype=np.int32)
    cuda.jit(uses_thrice)[2, 32](values)  # launched cooperatively
    out["values"] = values.tolist()
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def cooperative_modules(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cooperative")
    prepare.generate_cooperative(folder)
    return folder


def _run_cooperative(backend, folder, run=False):
    module = folder / f"coop_{'mlir' if backend.name == 'mlir' else 'numba_cuda'}.py"
    r = subprocess.run([sys.executable, "-c", COOPERATIVE_SCRIPT, str(module), "run" if run else "link"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-3000:]
    import json

    return json.loads(r.stdout.strip().splitlines()[-1])


def test_cooperative_launch_is_marked_on_both_backends(backend, cooperative_modules):
    """A kernel calling a function the config names needs a cooperative launch (numba-cuda: its
    code library's `use_cooperative`; numba-cuda-mlir: its compile metadata's); one calling
    another function does not."""
    assert _run_cooperative(backend, cooperative_modules)["cooperative"] == [True, False]


@pytest.mark.gpu
def test_cooperative_launch_runs(backend):
    """On a GPU machine (no header parsed here): the modules `tests/mlir_gpu/prepare.py` wrote."""
    backend.gpu()
    folder = Path(os.environ.get("NUMBAST_TEST_DECLS") or prepare.GENERATED)
    if not (folder / "coop_mlir.py").exists():
        pytest.skip("run tests/mlir_gpu/prepare.py first (it writes the modules this test loads)")
    out = _run_cooperative(backend, folder, run=True)
    assert out["values"] == [3 * i for i in range(64)]


ARCH_HEADER = r"""
#pragma once
__device__ inline float everywhere(float x) { return x + 1.0f; }
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
__device__ inline float hopper_only(float x) { return x * 2.0f; }
#endif
"""


def test_mlir_static_module_with_several_archs_serves_each(tmp_path):
    """`MLIR Backend` with two GPU architectures: a function only sm_90 has compiles for sm_90,
    and for sm_80 its lowering fails naming it and the architectures that have it."""
    pytest.importorskip("numba_cuda_mlir")
    from _backends import _target_without_gpu

    backend = Backend("mlir")
    _target_without_gpu()
    (tmp_path / "arch_lib.cuh").write_text(ARCH_HEADER)
    cfg = tmp_path / "cfg.yml"
    cfg.write_text(
        "Entry Point: arch_lib.cuh\nFile List: [arch_lib.cuh]\nGPU Arch: [sm_80, sm_90]\nMLIR Backend: true\nOutput Name: arch_lib_mlir\n"
    )
    r = subprocess.run(
        [sys.executable, "-m", "numbast", "generate", str(cfg), "--output-dir", str(tmp_path / "out")], capture_output=True, text=True
    )
    assert r.returncode == 0, r.stderr
    spec = importlib.util.spec_from_file_location("arch_lib_mlir", tmp_path / "out" / "arch_lib_mlir.py")
    m = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(m)
    assert {"everywhere", "hopper_only"} <= set(m.__all__)

    def uses_both(out, a):
        out[0] = m.hopper_only(a[0]) + m.everywhere(a[0])

    def uses_everywhere(out, a):
        out[0] = m.everywhere(a[0])

    sig = (backend.types.float32[::1], backend.types.float32[::1])
    assert backend.cuda.compile_cubin(uses_both, sig, cc=(9, 0))[:4] == b"\x7fELF"
    assert backend.cuda.compile_cubin(uses_everywhere, sig, cc=(8, 0))[:4] == b"\x7fELF"
    with pytest.raises(Exception) as e:
        backend.cuda.compile_cubin(uses_both, sig, cc=(8, 0))
    assert "hopper_only is not available for compute capability 8.0: arch_lib_mlir has it for sm_90" in str(e.value)
