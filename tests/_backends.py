"""The two backends a test can run against (the `backend` fixture, conftest.py): numba-cuda
(`numbast`) and numba-cuda-mlir (`numbast.mlir`), with what a test needs of each."""

from __future__ import annotations

import importlib
import re

import pytest

ARCH = "sm_80"
BACKENDS = ["numba-cuda", "mlir"]


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
            self.typeof = importlib.import_module("numba_cuda_mlir.numba_cuda.typing.typeof").typeof
        else:
            self.api = importlib.import_module("numbast")
            self.cuda = importlib.import_module("numba.cuda")
            self.types = importlib.import_module("numba.types")
            self.models = importlib.import_module("numba.core.datamodel.models")
            self.typeof = importlib.import_module("numba.cuda.typing.typeof").typeof

    def gpu(self):
        """Skips the test unless this backend sees a GPU."""
        if self.name == "mlir":
            from numba_cuda_mlir.numba_cuda.cudadrv import driver

            if not driver.driver.is_available:
                pytest.skip("no CUDA GPU")
        elif not self.cuda.is_available():
            pytest.skip("no CUDA GPU")

    def link_case(self, case, writer):
        """Links a test's `Case` (kernel, argument factory, check) for its arguments' types."""
        return self.link(case.kernel, tuple(self.typeof(a) for a in case.args()), writer)

    def run_case(self, case):
        """Launches a `Case` on the GPU (no `link=`: lowering adds the shims) and checks it."""
        self.gpu()
        args = case.args()
        self.cuda.jit(case.kernel)[1, 1](*args)
        case.check(args)

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

    def linked_ptx(self, kernel, argtypes):
        """The kernel's PTX for ARCH after link-time optimization with its shim units (every shim
        inlined), where what the kernel computes from constants is folded to constants."""
        if self.name != "mlir":
            from numbast.testing import link_kernel

            return link_kernel(kernel, tuple(argtypes), ARCH).ptx
        from cuda.core import Linker, LinkerOptions, ObjectCode
        from numba_cuda_mlir.compiler import _compile_and_optimize

        _target_without_gpu()
        cres = _compile_and_optimize(kernel, tuple(argtypes), {"cc": (8, 0)})
        units = [o.code for o in cres.metadata["linker"]._object_codes if getattr(o, "code_type", None) == "ltoir"]
        objects = [ObjectCode.from_ltoir(cres.metadata["ltoir"], name="kernel")]
        objects += [ObjectCode.from_ltoir(code, name=f"unit{i}") for i, code in enumerate(units)]
        options = LinkerOptions(arch=ARCH, link_time_optimization=True, ptx=True)
        ptx = Linker(*objects, options=options).link("ptx").code
        return ptx.decode() if isinstance(ptx, bytes) else ptx


def _target_without_gpu():
    """numba-cuda-mlir resolves its target through the driver; with none, the target is ARCH."""
    import numba_cuda_mlir.tools as tools
    from numba_cuda_mlir.numba_cuda.cudadrv import driver

    if not driver.driver.is_available and tools._cached_cc is None:
        tools._cached_cc = (8, 0)
