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
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "examples" / "demo" / "demo.cuh"
HEADERS = Path(__file__).resolve().parent / "headers" / "dynamic"
ARCH = "sm_80"


class Backend:
    """What a test needs of one backend: its binding API, `cuda`, `types`, data models, and
    `link(kernel, argtypes, writer)` (a cubin with the writer's shims inlined)."""

    def __init__(self, name):
        self.name = name
        if name == "mlir":
            pytest.importorskip("numba_cuda_mlir")
            self.api = importlib.import_module("numbast.mlir")
            self.cuda = importlib.import_module("numba_cuda_mlir.cuda")
            self.types = importlib.import_module("numba_cuda_mlir.types")
            self.models = importlib.import_module("numba_cuda_mlir.models")
        else:
            self.api = importlib.import_module("numbast")
            self.cuda = importlib.import_module("numba.cuda")
            self.types = importlib.import_module("numba.types")
            self.models = importlib.import_module("numba.core.datamodel.models")

    def gpu(self):
        """Skips the test unless this backend sees a GPU."""
        if self.name == "mlir":
            from numba_cuda_mlir.numba_cuda.cudadrv import driver

            if not driver.driver.is_available:
                pytest.skip("no CUDA GPU")
        elif not self.cuda.is_available():
            pytest.skip("no CUDA GPU")

    def link(self, kernel, argtypes, writer):
        """The kernel's cubin for ARCH; asserts that no shim of `writer` is left as a symbol."""
        shims = re.findall(r'extern "C" __device__ void (\w+)\(', writer.unit.source())
        if self.name == "mlir":
            _target_without_gpu()
            cubin = self.cuda.compile_cubin(kernel, tuple(argtypes), cc=(8, 0))
            left = [s for s in shims if s.encode() in cubin]  # a called function keeps its ELF symbol
        else:
            from numbast.testing import link_kernel

            result = link_kernel(kernel, tuple(argtypes), ARCH)
            cubin = result.cubin
            left = [s for s in shims if result.calls(s)]
        assert cubin[:4] == b"\x7fELF"
        assert left == []
        return cubin


def _target_without_gpu():
    """numba-cuda-mlir resolves its target through the driver; with none, the target is ARCH."""
    import numba_cuda_mlir.tools as tools
    from numba_cuda_mlir.numba_cuda.cudadrv import driver

    if not driver.driver.is_available and tools._cached_cc is None:
        tools._cached_cc = (8, 0)


@pytest.fixture(scope="module", params=["numba-cuda", "mlir"])
def backend(request):
    return Backend(request.param)


@pytest.fixture(scope="module")
def demo(backend):
    """The README's demo header, bound with the backend's API as the README does."""
    from ast_canopy import parse_declarations_from_source

    decls = parse_declarations_from_source(str(DEMO), [str(DEMO)], ARCH)
    api, types = backend.api, backend.types
    writer = api.MemoryShimWriter(f'#include "{DEMO}"')
    myfloat16 = api.bind_cxx_struct(writer, decls.structs[0], types.Number, backend.models.PrimitiveModel)
    api.bind_cxx_function(writer, decls.functions[0])
    hsqrt = api.bind_cxx_function(writer, decls.functions[1])

    def kernel(arr):
        one = myfloat16(1.0)
        two = myfloat16(2.0)
        three = one + two
        sqrt3 = hsqrt(three)
        arr[0] = types.float64(three)
        arr[1] = types.float64(sqrt3)

    return dict(writer=writer, kernel=kernel, myfloat16=myfloat16, hsqrt=hsqrt)


def test_demo_links(backend, demo):
    backend.link(demo["kernel"], (backend.types.float64[::1],), demo["writer"])


@pytest.mark.gpu
def test_demo_runs(backend, demo):
    backend.gpu()
    arr = np.zeros(2, np.float64)
    backend.cuda.jit(demo["kernel"])[1, 1](arr)
    np.testing.assert_allclose(arr, [3.0, np.sqrt(3.0)], rtol=1e-2)


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
