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


def _target_without_gpu():
    """numba-cuda-mlir resolves its target through the driver; with none, the target is ARCH."""
    import numba_cuda_mlir.tools as tools
    from numba_cuda_mlir.numba_cuda.cudadrv import driver

    if not driver.driver.is_available and tools._cached_cc is None:
        tools._cached_cc = (8, 0)
