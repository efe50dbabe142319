"""Cooperative groups (`cooperative_groups.h`, `cooperative_groups/reduce.h`) as users write kernels
against them: the block and grid groups, tiles by a runtime size and by a template argument, and
`cooperative_groups::reduce` with `cg::plus`. CPU tests link; `gpu` tests check values. Both
backends (the `backend` fixture: numba-cuda and numba-cuda-mlir) run every test."""

from __future__ import annotations

import glob
import os
import warnings

import ast_canopy
import numbast
import numpy as np
import pytest
from numba import cuda

ARCH = "sm_80"
THREADS, BLOCKS = 128, 4


@pytest.fixture(scope="module")
def cg_decls(tmp_path_factory):
    """The parsed headers and their entry (one parse for both backends)."""
    inc = ast_canopy.cuda_include_dirs()[0]
    entry = tmp_path_factory.mktemp("cg") / "cg.cuh"
    entry.write_text("#include <cooperative_groups.h>\n#include <cooperative_groups/reduce.h>\n")
    files = [os.path.join(inc, "cooperative_groups.h"), os.path.join(inc, "cooperative_groups", "reduce.h")]
    files += glob.glob(os.path.join(inc, "cooperative_groups", "details", "*.h"))
    return ast_canopy.parse_declarations_from_source(str(entry), files, ARCH), entry


@pytest.fixture(scope="module")
def CG(backend, cg_decls):
    decls, entry = cg_decls
    api = backend.api
    writer = api.MemoryShimWriter(f'#include "{entry}"')
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", numbast.NumbastSkipWarning)
        structs = api.bind_cxx_structs(writer, decls.structs)
        functions = api.bind_cxx_functions(writer, decls.functions)
        templates = api.bind_cxx_function_templates(function_templates=decls.function_templates, shim_writer=writer)
        classes = api.bind_cxx_class_templates(decls.class_templates, None, writer)
    out = {"writer": writer}
    for obj in [*structs, *functions, *classes]:
        if obj is not None:
            out.setdefault(obj.__name__.rsplit("::", 1)[-1], obj)
    for t in templates:  # function templates by name, apart from same-named functions
        out.setdefault("tpl_" + t.__name__.rsplit("::", 1)[-1], t)
    return out


def test_group_types_are_bound(backend, CG):
    notes = {b.name: b.note for b in backend.api.binding_report().bound if b.kind == "struct"}
    # thread_group holds a union of bit-field records: bound as its bytes, with the reason.
    assert notes["cooperative_groups::__v1::thread_group"].startswith("opaque: field `_data`: unknown type")
    for name in ("thread_block", "grid_group", "thread_group"):
        assert name in CG, name


def block_kernel(CG):
    this_thread_block = CG["this_thread_block"]

    def kernel(values, out):
        b = this_thread_block()
        i = cuda.grid(1)
        b.sync()
        out[i] = b.thread_rank() + b.size() * 1000

    return kernel, lambda values: np.tile(np.arange(THREADS) + THREADS * 1000, BLOCKS)


def grid_kernel(CG):
    this_grid = CG["this_grid"]

    def kernel(values, out):
        g = this_grid()
        i = cuda.grid(1)
        out[i] = g.thread_rank() * 10 + (1 if g.size() == THREADS * BLOCKS else 0)

    return kernel, lambda values: np.arange(THREADS * BLOCKS) * 10 + 1


def tile_kernel(CG):
    this_thread_block, tiled_partition = CG["this_thread_block"], CG["tiled_partition"]

    def kernel(values, out):
        tile = tiled_partition(this_thread_block(), 32)  # a thread_group, its size given at run time
        i = cuda.grid(1)
        tile.sync()
        out[i] = tile.thread_rank() + tile.size() * 1000

    return kernel, lambda values: np.arange(THREADS * BLOCKS) % 32 + 32 * 1000


def reduce_kernel(CG):
    this_thread_block, tiled_partition, reduce, plus = (
        CG["this_thread_block"], CG["tpl_tiled_partition"], CG["tpl_reduce"], CG["plus"])  # fmt: skip

    def kernel(values, out):
        tile = tiled_partition[32](this_thread_block())  # thread_block_tile<32, thread_block>
        i = cuda.grid(1)
        out[i] = reduce(tile, values[i], plus[np.int32]())

    return kernel, lambda values: np.repeat(values.reshape(-1, 32).sum(axis=1), 32)


def static_tile_kernel(CG):
    this_thread_block, tiled_partition = CG["this_thread_block"], CG["tpl_tiled_partition"]

    def kernel(values, out):
        tile = tiled_partition[32](this_thread_block())
        i = cuda.grid(1)
        tile.sync()  # members of thread_block_tile's base classes
        out[i] = tile.thread_rank() + tile.size() * 1000 + tile.shfl(values[i], 0) * 100000

    def expected(values):
        lanes = np.arange(values.size) % 32
        return lanes + 32 * 1000 + np.repeat(values[::32], 32) * 100000

    return kernel, expected


KERNELS = {"block": block_kernel, "grid": grid_kernel, "tile": tile_kernel, "static_tile": static_tile_kernel,
           "reduce": reduce_kernel}  # fmt: skip


@pytest.mark.parametrize("case", KERNELS)
def test_cooperative_groups_link(backend, CG, case):
    kernel, _expected = KERNELS[case](CG)
    i32 = backend.typeof(np.zeros(1, np.int32))
    backend.link(kernel, (i32, i32), CG["writer"])


@pytest.mark.gpu
@pytest.mark.parametrize("case", KERNELS)
def test_cooperative_groups_run(backend, CG, case):
    backend.gpu()
    kernel, expected = KERNELS[case](CG)
    values = np.random.default_rng(2).integers(0, 100, THREADS * BLOCKS).astype(np.int32)
    cuda = backend.cuda
    out = cuda.to_device(np.zeros_like(values))
    cuda.jit(backend.kernel(kernel))[BLOCKS, THREADS](cuda.to_device(values), out)
    np.testing.assert_array_equal(out.copy_to_host(), expected(values))
