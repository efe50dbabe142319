"""The two backends a test can run against (the `backend` fixture, conftest.py): numba-cuda
(`numbast`) and numba-cuda-mlir (`numbast.mlir`), with what a test needs of each."""

from __future__ import annotations

import importlib
import re
import sys
import types

import numpy as np
import pytest

ARCH = "sm_80"
BACKENDS = ["numba-cuda", "mlir"]


_GUARD_BYTE = 0xA5


def _guardable(a):
    return isinstance(a, np.ndarray) and a.size > 0 and a.flags.c_contiguous and not a.dtype.hasobject


class _Guarded:
    """A host array copied to the device between two guard bands of `_GUARD_BYTE`, each as long as
    the array rounded up to 256 bytes (so the view keeps the alignment of the allocation):
    `view` is the device array a kernel gets; `result(i)` copies back, checks the bands and
    returns the array's new contents."""

    def __init__(self, cuda, a):
        self.shape, self.dtype, self.nbytes = a.shape, a.dtype, a.nbytes
        self.band = -(-a.nbytes // 256) * 256
        whole = np.full(a.nbytes + 2 * self.band, _GUARD_BYTE, np.uint8)
        whole[self.band : self.band + a.nbytes] = a.reshape(-1).view(np.uint8)
        self.whole = cuda.to_device(whole)
        self.view = self.whole[self.band : self.band + a.nbytes].view(a.dtype).reshape(a.shape)

    def result(self, index):
        whole = self.whole.copy_to_host()
        for name, band in (("before", whole[: self.band]), ("past the end of", whole[self.band + self.nbytes :])):
            hit = np.flatnonzero(band != _GUARD_BYTE)
            if hit.size:
                where = (hit[0] - self.band, hit[-1] - self.band) if name == "before" else (hit[0], hit[-1])
                raise AssertionError(
                    f"the kernel wrote {name} argument {index} ({self.dtype}{list(self.shape)}, {self.nbytes} bytes): "
                    f"{hit.size} guard byte(s) changed, offsets {where[0]}..{where[1]} from its "
                    f"{'start' if name == 'before' else 'end'}"
                )
        return whole[self.band : self.band + self.nbytes].view(self.dtype).reshape(self.shape).copy()


class Backend:
    """What a test needs of one backend: its binding API, `cuda`, `types`, data models, and
    `link(kernel, argtypes, writer)` (a cubin with the writer's shims inlined)."""

    def __init__(self, name):
        self.name = name
        self._device_functions = {}  # numba-cuda device function -> this backend's
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
        """Links a test's `Case` (kernel, argument factory, check; `launch` optional) for its
        arguments' types."""
        return self.link(case.kernel, tuple(self.typeof(a) for a in case.args()), writer)

    def run_case(self, case):
        """Launches a `Case` on the GPU (no `link=`: lowering adds the shims) with its `launch`
        configuration (blocks, threads; default one thread) and checks it: the arguments go to
        the device and come back as the tuple `check` gets.

        Each C-contiguous array argument lies on the device between two guard bands (a byte
        pattern as long as the array, at least 256 bytes): a kernel that writes past either end of
        an array fails the test, naming the argument, instead of corrupting its neighbours."""
        self.gpu()
        host = case.args()
        guarded = [_Guarded(self.cuda, a) if _guardable(a) else None for a in host]
        args = [g.view if g else self.cuda.to_device(a) if isinstance(a, np.ndarray) else a for g, a in zip(guarded, host)]
        self.cuda.jit(self.kernel(case.kernel))[getattr(case, "launch", (1, 1))](*args)
        back = []
        for i, (g, a) in enumerate(zip(guarded, args)):
            back.append(g.result(i) if g else a.copy_to_host() if hasattr(a, "copy_to_host") else a)
        case.check(tuple(back))

    def kernel(self, fn):
        """Kernel `fn` (a Python function or `cuda.jit` dispatcher) for this backend. A kernel is
        written once, against numba-cuda's names (`cuda`, scalar types such as `int32`), as a
        global or a closure variable; on numba-cuda-mlir a copy of the function reads them from
        numba-cuda-mlir (`numba.cuda` is `numba_cuda_mlir.cuda`, `numba.int32` its `int32`)."""
        fn = getattr(fn, "py_func", fn)
        if self.name != "mlir":
            return fn
        globals_ = dict(fn.__globals__)
        for name in _global_names(fn.__code__) & globals_.keys():
            globals_[name] = self._counterpart(globals_[name])
        cells = tuple(types.CellType(self._counterpart(c.cell_contents)) for c in fn.__closure__ or ())
        copy = types.FunctionType(fn.__code__, globals_, fn.__name__, fn.__defaults__, cells or None)
        copy.__kwdefaults__ = fn.__kwdefaults__
        return copy

    def _counterpart(self, value):
        """numba-cuda-mlir's object for numba-cuda's `value` (its `cuda` and `types` modules, a
        scalar type, a device function or a kernel: compiled by numba-cuda-mlir), else `value` itself."""
        numba_cuda, numba_types = sys.modules.get("numba.cuda"), sys.modules.get("numba.core.types")
        dispatcher = sys.modules.get("numba.cuda.dispatcher")
        if numba_cuda is not None and value is numba_cuda:
            return self.cuda
        if isinstance(value, types.ModuleType) and value.__name__ in ("numba.core.types", "numba.cuda.types", "numba.types"):
            return self.types
        if dispatcher is not None and isinstance(value, dispatcher.CUDADispatcher):
            if value not in self._device_functions:
                device = bool(value.targetoptions.get("device"))
                self._device_functions[value] = self.cuda.jit(device=device)(self.kernel(value.py_func))
            return self._device_functions[value]
        if numba_types is not None and isinstance(value, numba_types.Number):
            return getattr(self.types, str(value), value)
        return value

    def link(self, kernel, argtypes, writer):
        """The kernel's cubin for ARCH; asserts that no shim of `writer` (None: a static module's,
        not looked for) is left as a symbol."""
        shims = [] if writer is None else re.findall(r'extern "C" __device__ void (\w+)\(', writer.unit.source())
        kernel = self.kernel(kernel)
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


def _global_names(code):
    """The global names `code` (and the functions defined in it) may read."""
    names = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names |= _global_names(const)
    return names


def _target_without_gpu():
    """numba-cuda-mlir resolves its target through the driver; with none, the target is ARCH."""
    import numba_cuda_mlir.tools as tools
    from numba_cuda_mlir.numba_cuda.cudadrv import driver

    if not driver.driver.is_available and tools._cached_cc is None:
        tools._cached_cc = (8, 0)
