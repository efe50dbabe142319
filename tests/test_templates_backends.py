"""Templates on both backends (the `backend` fixture): test_templates.py's kernels (function
templates, class templates, CUB BlockScan/BlockReduce/BlockLoad/BlockStore), bound with each
backend's API and compiled with its `cuda`. A kernel is test_templates.py's own function, its
globals (`cuda`, `int32`, `float32`) rebound to the backend's, so both backends run one text.

CPU: each kernel compiles to a cubin with every shim inlined. GPU (`gpu` marker): values.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import ast_canopy
import numpy as np
import pytest
import test_templates as tt
from ast_canopy import parse_declarations_from_source

ARCH = "sm_80"


def parse(path):
    return parse_declarations_from_source(str(path), [str(path)], ARCH)


def for_backend(backend, case):
    """`case` with its kernel reading the backend's `cuda` and scalar types (`Backend.kernel`)."""
    return tt.Case(backend.kernel(case.kernel), case.args, case.check, case.launch)


def link(backend, case, writer):
    return backend.link(case.kernel, tuple(backend.typeof(a) for a in case.args()), writer)


def run(backend, case):
    backend.gpu()
    args = case.args()
    device = [backend.cuda.to_device(a) for a in args]
    backend.cuda.jit(case.kernel)[case.launch](*device)
    case.check(tuple(d.copy_to_host() for d in device))


@pytest.fixture(scope="module")
def F(backend):
    path = tt.HEADERS / "functions.cuh"
    decls = parse(path)
    writer = backend.api.MemoryShimWriter(f'#include "{path}"')
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fns = backend.api.bind_cxx_function_templates(
            function_templates=decls.function_templates, shim_writer=writer, arg_intent=tt.FUNCTION_INTENTS
        )
    return dict(writer=writer, fns={f.__name__: f for f in fns}, decls=decls)


@pytest.fixture(scope="module")
def C(backend):
    path = tt.HEADERS / "classes.cuh"
    decls = parse(path)
    writer = backend.api.MemoryShimWriter(f'#include "{path}"')
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        Vec, Pair = backend.api.bind_cxx_class_templates(decls.class_templates, str(path), writer, arg_intent=tt.CLASS_INTENTS)
        (spec,) = decls.class_template_specializations
        PairChar = backend.api.bind_cxx_class_template_specialization(writer, spec, backend.types.Type)
    return dict(writer=writer, Vec=Vec, Pair=Pair, PairChar=PairChar)


@pytest.fixture(scope="module")
def CUB(backend):
    cccl = next(Path(d) for d in ast_canopy.cuda_include_dirs() if d.endswith("cccl"))
    wanted = {"block_scan": "cub::BlockScan", "block_reduce": "cub::BlockReduce",
              "block_load": "cub::BlockLoad", "block_store": "cub::BlockStore"}  # fmt: skip
    decls = []
    for header, qual_name in wanted.items():
        path = cccl / "cub" / "block" / f"{header}.cuh"
        decls += [t for t in parse(path).class_templates if t.qual_name == qual_name]
    writer = backend.api.MemoryShimWriter("".join(f"#include <cub/block/{h}.cuh>\n" for h in wanted))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        bound = backend.api.bind_cxx_class_templates(decls, None, writer, arg_intent=tt.CUB_INTENTS)
    dims = {t.qual_name.split("::")[1]: t.template_parameters[1].name for t in decls}
    return dict(writer=writer, dims=dims, **{t.__name__.split("::")[1]: t for t in bound})


CASES = {
    "functions": (F, tt.function_case),
    "classes": (C, tt.class_case),
    "cub_scan_reduce": (CUB, tt.scan_case),
    "cub_load_store": (CUB, tt.load_store_case),
}


def _case(request, backend, name):
    fixture, make = CASES[name]
    bound = request.getfixturevalue(fixture.__name__)
    return bound, for_backend(backend, make(bound))


@pytest.mark.parametrize("name", list(CASES))
def test_template_kernel_links(backend, request, name):
    bound, case = _case(request, backend, name)
    link(backend, case, bound["writer"])


@pytest.mark.gpu
@pytest.mark.parametrize("name", list(CASES))
def test_template_kernel_runs(backend, request, name):
    run(backend, _case(request, backend, name)[1])


def test_array_element_binds_a_template_reference(backend, CUB):
    """`temp[1]` given for a `TempStorage &` parameter is the element itself on both backends
    (numba-cuda-mlir: its address in the shared array), not a copy in local memory."""
    BS = CUB["BlockScan"][np.int32, tt.BLOCK]
    TempStorage = BS.TempStorage
    cuda = backend.cuda

    def kernel(values, out):
        temp = cuda.shared.array(2, TempStorage)
        i = cuda.grid(1)
        out[i] = BS(temp[1]).InclusiveSum(values[i])

    backend.link(kernel, (backend.types.int32[::1],) * 2, CUB["writer"])
    if backend.name == "mlir":
        from _backends import _target_without_gpu

        _target_without_gpu()
        text = str(cuda.compile_mlir(kernel, (backend.types.int32[::1],) * 2))
        storage = f"x i{TempStorage._numba_type._nbst_size * 8} "
        assert [ln for ln in text.splitlines() if "llvm.alloca" in ln and storage in ln] == []  # no copy of the storage
        assert "llvm.addrspacecast" in text  # the shared element's address, as a generic pointer


def test_shared_array_of_temp_storage_is_aligned_as_cxx_aligns_it(backend, CUB):
    """numba-cuda-mlir aligns shared arrays to 8 bytes by default; one of a bound struct gets the
    struct's C++ alignment (BlockScan<double>'s TempStorage: 16)."""
    if backend.name != "mlir":
        pytest.skip("numba-cuda's data model carries the alignment")
    BS = CUB["BlockScan"][np.float64, tt.BLOCK]
    TempStorage = BS.TempStorage
    assert TempStorage._numba_type._nbst_align == 16
    cuda = backend.cuda

    def kernel(values, out):
        temp = cuda.shared.array(1, TempStorage)
        i = cuda.grid(1)
        out[i] = BS(temp).InclusiveSum(values[i])

    from _backends import _target_without_gpu

    _target_without_gpu()
    text = str(cuda.compile_mlir(kernel, (backend.types.float64[::1],) * 2))
    (line,) = [ln for ln in text.splitlines() if "memref.global" in ln and "workgroup" in ln]
    assert "alignment = 16" in line
