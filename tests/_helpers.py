"""Helpers shared by the binding tests: importing generated modules, linking kernels, GPU skips."""

import importlib.util
import re
import sys
from pathlib import Path

import pytest
from numba import cuda
from numba.cuda.typing.typeof import typeof
from numbast.testing import link_kernel


def import_module(path: Path):
    """Imports a generated module by path, under its file name."""
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[path.stem] = module
    spec.loader.exec_module(module)
    return module


def require_gpu():
    if not cuda.is_available():
        pytest.skip("no CUDA GPU")


def shims_of(writer):
    """The shim symbols in a shim writer's unit so far."""
    return re.findall(r'extern "C" __device__ void (\w+)\(', writer.unit.source())


def link_case(case, writer, arch="sm_80"):
    """Link the kernel for its arguments' types; every shim it used must be inlined by LTO."""
    result = link_kernel(case.kernel, tuple(typeof(a) for a in case.args()), arch)
    assert result.cubin[:4] == b"\x7fELF" and ".entry" in result.ptx
    assert [s for s in shims_of(writer) if result.calls(s)] == []
    return result
