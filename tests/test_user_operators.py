"""User operators: a Python device function passed where a C++ template expects an operator type
(CUB's BlockReduce::Reduce and BlockScan::InclusiveScan, BlockDiscontinuity::FlagHeads with a
bool-returning comparator, cooperative_groups::reduce). The function is compiled for two values of
the call's value type and called through a functor the shim constructs.

CPU tests compile and link each kernel to a cubin (no GPU) and check that neither the shims nor the
operator are left as calls; `gpu` tests check values against NumPy; the error tests check that a
wrong operator is a typing error naming the template parameter. The kernel tests run on both
backends (the `backend` fixture): each compiles the Python operator with its own compiler
(numba-cuda's or numba-cuda-mlir's `cuda.compile`, C ABI, LTO-IR).
"""

from __future__ import annotations

import glob
import json
import math
import os
import re
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import ast_canopy
import numbast
import numpy as np
import pytest
from numba import cuda, int32
from numba.core.errors import TypingError as CoreTypingError
from numba.cuda.core.errors import TypingError as CudaTypingError
from numba.cuda.typing.typeof import typeof
from numbast.testing import link_kernel

ARCH = "sm_80"
BLOCK = 128
BLOCKS = 64
N = BLOCK * BLOCKS
ITEMS = 4  # items per thread for BlockDiscontinuity
I32 = typeof(np.zeros(1, np.int32))
F32 = typeof(np.zeros(1, np.float32))
TypingErrors = (CoreTypingError, CudaTypingError)


def parse(path, files=None):
    return ast_canopy.parse_declarations_from_source(str(path), [str(f) for f in files or [path]], ARCH)


@pytest.fixture(scope="module")
def CUB(backend):
    api = backend.api
    cccl = next(Path(d) for d in ast_canopy.cuda_include_dirs() if d.endswith("cccl"))
    wanted = {"block/block_reduce": "cub::BlockReduce", "block/block_scan": "cub::BlockScan",
              "block/block_discontinuity": "cub::BlockDiscontinuity", "warp/warp_reduce": "cub::WarpReduce"}  # fmt: skip
    decls = []
    for header, qual_name in wanted.items():
        decls += [t for t in parse(cccl / "cub" / f"{header}.cuh").class_templates if t.qual_name == qual_name]
    writer = api.MemoryShimWriter("".join(f"#include <cub/{h}.cuh>\n" for h in wanted))
    intents = {"BlockScan": {"InclusiveScan": {"output": "out_return"}}}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", numbast.NumbastSkipWarning)
        bound = api.bind_cxx_class_templates(decls, None, writer, arg_intent=intents)
    return dict(writer=writer, **{t.__name__.split("::")[1]: t for t in bound})


@pytest.fixture(scope="module")
def CG(backend, tmp_path_factory):
    api = backend.api
    inc = ast_canopy.cuda_include_dirs()[0]
    entry = tmp_path_factory.mktemp("cg_ops") / "cg.cuh"
    entry.write_text("#include <cooperative_groups.h>\n#include <cooperative_groups/reduce.h>\n")
    files = [os.path.join(inc, "cooperative_groups.h"), os.path.join(inc, "cooperative_groups", "reduce.h")]
    files += glob.glob(os.path.join(inc, "cooperative_groups", "details", "*.h"))
    decls = parse(entry, files)
    writer = api.MemoryShimWriter(f'#include "{entry}"')
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", numbast.NumbastSkipWarning)
        api.bind_cxx_structs(writer, decls.structs)
        functions = api.bind_cxx_functions(writer, decls.functions)
        templates = api.bind_cxx_function_templates(function_templates=decls.function_templates, shim_writer=writer)
        api.bind_cxx_class_templates(decls.class_templates, None, writer)
    out = {"writer": writer}
    for f in functions:
        if f is not None:
            out.setdefault(f.__name__.rsplit("::", 1)[-1], f)
    for t in templates:  # function templates by name, apart from same-named functions
        out.setdefault("tpl_" + t.__name__.rsplit("::", 1)[-1], t)
    return out


# ----------------------------------------------------------------------------- operators


@cuda.jit(device=True)
def maxabs(a, b):
    return max(abs(a), abs(b))


@cuda.jit(device=True)
def larger_magnitude(a, b):  # associative, not commutative: ties keep the left operand
    return a if abs(a) >= abs(b) else b


@cuda.jit(device=True)
def bit_or(a, b):
    return a | b


@cuda.jit(device=True)
def hypot(a, b):  # float32 in, float32 out: associative and commutative, up to rounding
    return math.sqrt(a * a + b * b)


@cuda.jit(device=True)
def descends(a, b):  # a comparator: bool
    return b < a


def values_of(seed):
    return np.random.default_rng(seed).integers(-1000, 1000, N).astype(np.int32)


def linked(backend, kernel, sig, writer, ops):
    """Links the kernel; no shim of the writer (its own unit or an operator's) and no operator is
    left as a call after LTO."""
    if backend.name == "mlir":
        cubin = backend.link(kernel, tuple(backend.typeof(np.zeros(1, str(t.dtype))) for t in sig), writer)
        mine = [counterpart(backend, op) for op in ops]
        symbols = [op.symbol for op in user_ops_of(backend) if op.dispatcher in mine]
        assert symbols and [s for s in symbols if s.encode() in cubin] == []
        return cubin
    result = link_kernel(kernel, sig, ARCH)
    assert result.cubin[:4] == b"\x7fELF" and ".entry" in result.ptx
    units = [writer.unit, *writer.unit.__dict__.get("_nbst_op_units", {}).values()]
    shims = [s for u in units for s in re.findall(r'extern "C" __device__ void (\w+)\(', u.source())]
    assert shims and [s for s in shims if result.calls(s)] == []
    symbols = [op.symbol for op in user_ops_of(backend) if op.dispatcher in ops]
    assert symbols and [s for s in symbols if result.calls(s)] == []
    return result


def backend_typing_errors(backend):
    """The typing errors of the backend's compiler."""
    if backend.name == "mlir":
        from numba_cuda_mlir.numba_cuda.core.errors import TypingError

        return (TypingError,)
    return TypingErrors


def counterpart(backend, op):
    """Operator `op` (a numba-cuda device function) as the backend compiles it."""
    return backend._counterpart(op) if backend.name == "mlir" else op


def user_ops_of(backend):
    """The user operators the backend's runtime has compiled in this process."""
    if backend.name == "mlir":
        from numba_cuda_mlir.numba_cuda.cudadrv import linkable_code
    else:
        from numba.cuda.cudadrv import linkable_code
    return list(getattr(linkable_code, "_nbst_user_ops", ({}, {}))[0].values())


def launch(backend, kernel, inputs, outputs, blocks=BLOCKS):
    backend.gpu()
    cuda = backend.cuda
    d_in = [cuda.to_device(a) for a in inputs]
    d_out = [cuda.to_device(a) for a in outputs]
    cuda.jit(backend.kernel(kernel))[blocks, BLOCK](*d_in, *d_out)
    return [d.copy_to_host() for d in d_out]


# ----------------------------------------------------------------------------- BlockReduce


def reduce_kernel(CUB):
    BR = CUB["BlockReduce"][np.int32, BLOCK]

    def kernel(values, out):
        i = cuda.grid(1)
        r = BR().Reduce(values[i], maxabs)
        if cuda.threadIdx.x == 0:
            out[cuda.blockIdx.x] = r

    return kernel


def test_block_reduce_with_python_operator_links(backend, CUB):
    linked(backend, reduce_kernel(CUB), (I32, I32), CUB["writer"], [maxabs])
    (unit,) = [u for k, u in CUB["writer"].unit.__dict__["_nbst_op_units"].items() if "Reduce" in u.source()]
    text = unit.source()
    # The functor is the template argument, constructed in the shim; the operator has the C ABI.
    # Both are named after the shim stem of the overload (the renderer's hash) and an ordinal.
    functor = re.search(r"template Reduce<(__nbst_tpl_\w+)_functor1>", text)
    assert functor is not None, text
    assert f'extern "C" __device__ int {functor[1]}_op1(' in text
    assert f"{functor[1]}_functor1" not in CUB["writer"].unit.source()  # the shared unit never calls an operator


@pytest.mark.gpu
def test_block_reduce_with_python_operator_runs(backend, CUB):
    values = values_of(0)
    (out,) = launch(backend, reduce_kernel(CUB), [values], [np.zeros(BLOCKS, np.int32)])
    np.testing.assert_array_equal(out, np.abs(values.reshape(-1, BLOCK)).max(axis=1))


def two_operators_kernel(CUB):
    BR = CUB["BlockReduce"][np.int32, BLOCK]

    def kernel(values, out):
        i = cuda.grid(1)
        r = BR().Reduce(values[i], maxabs)
        cuda.syncthreads()  # CUB's private storage is reused
        s = BR().Reduce(values[i], bit_or)
        if cuda.threadIdx.x == 0:
            out[2 * cuda.blockIdx.x] = r
            out[2 * cuda.blockIdx.x + 1] = s

    return kernel


def test_two_python_operators_in_one_kernel_link(backend, CUB):
    linked(backend, two_operators_kernel(CUB), (I32, I32), CUB["writer"], [maxabs, bit_or])


@pytest.mark.gpu
def test_two_python_operators_in_one_kernel_run(backend, CUB):
    values = values_of(6)
    (out,) = launch(backend, two_operators_kernel(CUB), [values], [np.zeros(2 * BLOCKS, np.int32)])
    blocks = values.reshape(-1, BLOCK)
    np.testing.assert_array_equal(out[0::2], np.abs(blocks).max(axis=1))
    np.testing.assert_array_equal(out[1::2], np.bitwise_or.reduce(blocks, axis=1))


# ----------------------------------------------------------------------------- WarpReduce


def warp_kernel(CUB):
    W = CUB["WarpReduce"][np.float32]
    TempStorage = W.TempStorage

    def kernel(values, out):
        temp = cuda.shared.array(4, TempStorage)  # one per warp of the block
        i = cuda.grid(1)
        r = W(temp[cuda.threadIdx.x // 32]).Reduce(values[i], hypot)
        if cuda.threadIdx.x % 32 == 0:  # lane 0 has the warp's result
            out[i // 32] = r

    return kernel


def test_warp_reduce_with_python_float_operator_links(backend, CUB):
    linked(backend, warp_kernel(CUB), (F32, F32), CUB["writer"], [hypot])
    (op,) = [op for op in user_ops_of(backend) if op.dispatcher is counterpart(backend, hypot)]
    assert f'extern "C" __device__ float {op.symbol}(float, float);' in op.decl


@pytest.mark.gpu
def test_warp_reduce_with_python_float_operator_runs(backend, CUB):
    values = np.random.default_rng(5).uniform(-2, 2, N).astype(np.float32)
    (out,) = launch(backend, warp_kernel(CUB), [values], [np.zeros(N // 32, np.float32)])
    np.testing.assert_allclose(out, np.sqrt((values.astype(np.float64).reshape(-1, 32) ** 2).sum(axis=1)), rtol=1e-5)


# ----------------------------------------------------------------------------- BlockScan


def scan_kernel(CUB):
    BS = CUB["BlockScan"][np.int32, BLOCK]
    TempStorage = BS.TempStorage

    def kernel(values, out):
        temp = cuda.shared.array(1, TempStorage)
        i = cuda.grid(1)
        out[i] = BS(temp).InclusiveScan(values[i], larger_magnitude)

    return kernel


def expected_scan(values):
    out = values.copy()
    for block in out.reshape(-1, BLOCK):
        for j in range(1, BLOCK):
            a, b = block[j - 1], block[j]
            block[j] = a if abs(a) >= abs(b) else b
    return out


def test_block_scan_with_python_operator_links(backend, CUB):
    linked(backend, scan_kernel(CUB), (I32, I32), CUB["writer"], [larger_magnitude])


@pytest.mark.gpu
def test_block_scan_with_python_operator_runs(backend, CUB):
    values = values_of(1)
    (out,) = launch(backend, scan_kernel(CUB), [values], [np.zeros(N, np.int32)])
    np.testing.assert_array_equal(out, expected_scan(values))


# ----------------------------------------------------------------------------- BlockDiscontinuity


def flag_heads_kernel(CUB):
    BD = CUB["BlockDiscontinuity"][np.int32, BLOCK]
    TempStorage = BD.TempStorage
    tile = BLOCK * ITEMS

    def kernel(values, flags):
        temp = cuda.shared.array(1, TempStorage)
        heads = cuda.local.array(4, int32)
        base = cuda.blockIdx.x * tile + cuda.threadIdx.x * 4
        # The items as a tuple: its length gives ITEMS_PER_THREAD (a local array's type has none).
        items = (values[base], values[base + 1], values[base + 2], values[base + 3])
        BD(temp).FlagHeads(heads, items, descends)
        for j in range(4):
            flags[base + j] = heads[j]

    return kernel


def test_block_discontinuity_with_python_comparator_links(backend, CUB):
    linked(backend, flag_heads_kernel(CUB), (I32, I32), CUB["writer"], [descends])
    (op,) = [op for op in user_ops_of(backend) if op.dispatcher is counterpart(backend, descends)]
    # A bool result crosses the C ABI as Numba's boolean data: one byte.
    assert op.returns_bool and f'extern "C" __device__ unsigned char {op.symbol}(int, int);' in op.decl


@pytest.mark.gpu
def test_block_discontinuity_with_python_comparator_runs(backend, CUB):
    values = np.random.default_rng(2).integers(0, 8, N * ITEMS).astype(np.int32)
    blocks = values.size // (BLOCK * ITEMS)
    (flags,) = launch(backend, flag_heads_kernel(CUB), [values], [np.zeros_like(values)], blocks=blocks)
    tiles = values.reshape(blocks, -1)
    expected = np.ones_like(tiles)  # the tile's first item is always a head
    expected[:, 1:] = tiles[:, 1:] < tiles[:, :-1]  # flag_op(previous, current)
    np.testing.assert_array_equal(flags.reshape(blocks, -1), expected)


# ----------------------------------------------------------------------------- cooperative groups


def cg_reduce_kernel(CG):
    this_thread_block, tiled_partition, reduce = CG["this_thread_block"], CG["tpl_tiled_partition"], CG["tpl_reduce"]

    def kernel(values, out):
        tile = tiled_partition[32](this_thread_block())
        i = cuda.grid(1)
        out[i] = reduce(tile, values[i], bit_or)

    return kernel


def test_cooperative_groups_reduce_with_python_operator_links(backend, CG):
    linked(backend, cg_reduce_kernel(CG), (I32, I32), CG["writer"], [bit_or])


@pytest.mark.gpu
def test_cooperative_groups_reduce_with_python_operator_runs(backend, CG):
    values = np.random.default_rng(3).integers(0, 1 << 20, N).astype(np.int32)
    (out,) = launch(backend, cg_reduce_kernel(CG), [values], [np.zeros(N, np.int32)])
    np.testing.assert_array_equal(out, np.repeat(np.bitwise_or.reduce(values.reshape(-1, 32), axis=1), 32))


# ----------------------------------------------------------------------------- wrong operators


@cuda.jit(device=True)
def three_args(a, b, c):
    return a


@cuda.jit(device=True)
def returns_pair(a, b):
    return a, b


@cuda.jit
def a_kernel(a, b):
    pass


@pytest.mark.parametrize(
    "name, why",
    [
        ("arity", "three_args(a, b, c) cannot be called with two arguments"),
        ("pair", "returns_pair returns UniTuple(int32 x 2) for (int32, int32); an operator returns a number or a bool"),
        ("builtin", "is not a Python function"),
        ("kernel", "a_kernel is a kernel"),
    ],
)
def test_wrong_operator_is_a_typing_error_naming_the_parameter(backend, CUB, name, why):
    BR = CUB["BlockReduce"][np.int32, BLOCK]
    if name == "arity":

        def kernel(values, out):
            out[0] = BR().Reduce(values[0], three_args)
    elif name == "pair":

        def kernel(values, out):
            out[0] = BR().Reduce(values[0], returns_pair)
    elif name == "builtin":

        def kernel(values, out):
            out[0] = BR().Reduce(values[0], max)
    else:

        def kernel(values, out):
            out[0] = BR().Reduce(values[0], a_kernel)

    with pytest.raises(Exception) as info:
        linked(backend, kernel, (I32, I32), CUB["writer"], [])
    assert isinstance(info.value, backend_typing_errors(backend)), repr(info.value)
    message = str(info.value)
    assert "operator for `ReductionOp`: " in message and why in message, message


# ----------------------------------------------------------------------------- static modules

STATIC_SETUP = """
BR = m.BlockReduce.instantiate(T=np.int32, {dim}=128)

@cuda.jit(device=True)
def maxabs(a, b):
    return max(abs(a), abs(b))
"""

STATIC_KERNEL = """
def kernel(values, out):
    i = cuda.grid(1)
    r = BR().Reduce(values[i], maxabs)
    if cuda.threadIdx.x == 0:
        out[cuda.blockIdx.x] = r
"""


@pytest.fixture(scope="module")
def cub_module(tmp_path_factory):
    """A static module of CUB's BlockScan and BlockReduce (the config test_static_templates uses)."""
    from test_static_templates import CONFIGS, generate

    root = tmp_path_factory.mktemp("cub_ops")
    cccl = next(d for d in ast_canopy.cuda_include_dirs() if d.endswith("cccl"))
    (root / "cub_blocks.cuh").write_text("#pragma once\n#include <cub/block/block_scan.cuh>\n#include <cub/block/block_reduce.cuh>\n")
    cfg = root / "cub_blocks.yml"
    cfg.write_text((CONFIGS / "templates_cub.yml.in").read_text().replace("{cccl}", cccl))
    generated = generate(cfg, root / "out")
    (decls,) = generated["model"].values()
    (reduce,) = [t for t in decls["class_templates"] if t["qual_name"] == "cub::BlockReduce"]
    return dict(path=root / "out" / "cub_blocks.py", dim=reduce["template_parameters"][1]["name"])


@pytest.fixture(scope="module")
def cub_module_mlir(tmp_path_factory):
    """The same static module for numba-cuda-mlir (`MLIR Backend: true`)."""
    pytest.importorskip("numba_cuda_mlir")
    from test_static_templates import CONFIGS, generate

    root = tmp_path_factory.mktemp("cub_ops_mlir")
    cccl = next(d for d in ast_canopy.cuda_include_dirs() if d.endswith("cccl"))
    (root / "cub_blocks.cuh").write_text("#pragma once\n#include <cub/block/block_scan.cuh>\n#include <cub/block/block_reduce.cuh>\n")
    cfg = root / "cub_blocks_mlir.yml"
    text = (CONFIGS / "templates_cub.yml.in").read_text().replace("{cccl}", cccl)
    cfg.write_text(text.replace("Output Name: cub_blocks", "Output Name: cub_blocks_mlir") + "MLIR Backend: true\n")
    generated = generate(cfg, root / "out")
    (decls,) = generated["model"].values()
    (reduce,) = [t for t in decls["class_templates"] if t["qual_name"] == "cub::BlockReduce"]
    return dict(path=root / "out" / "cub_blocks_mlir.py", dim=reduce["template_parameters"][1]["name"])


def test_static_mlir_module_takes_python_operators(cub_module_mlir):
    """The kernel compiles to a cubin in a process where numbast, ast_canopy, numba and llvmlite
    cannot be imported: the operator is compiled by numba-cuda-mlir from the module's runtime."""
    from test_static_templates import BLOCKED_MLIR

    module = cub_module_mlir["path"]
    script = (
        BLOCKED_MLIR.replace("__OUT__", repr(str(module.parent)))
        .replace("__MODULE__", module.stem)
        .replace("__SIG__", "(types.int32[:],) * 2")
        .replace("__SETUP__", textwrap.dedent(STATIC_SETUP.replace("{dim}", cub_module_mlir["dim"])))
        .replace("__KERNEL__", textwrap.dedent(STATIC_KERNEL))
    )
    r = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-4000:]
    assert json.loads(r.stdout.strip().splitlines()[-1]) == {"elf": True}


def test_static_module_takes_python_operators(cub_module):
    from test_static_templates import run_blocked

    setup = STATIC_SETUP.replace("{dim}", cub_module["dim"])
    result = run_blocked(cub_module["path"], setup, STATIC_KERNEL, "(types.int32[:],) * 2")
    # The kernel, the module's shim unit, the operator's shim unit and the operator's LTO-IR.
    assert result["elf"] and result["objects"] == 4, result


@pytest.mark.gpu
def test_static_module_takes_python_operators_runs(cub_module):
    from _backends import Backend
    from _helpers import import_module

    backend = Backend("numba-cuda")

    ns = {"m": import_module(cub_module["path"]), "np": np, "cuda": cuda}
    exec(textwrap.dedent(STATIC_SETUP.replace("{dim}", cub_module["dim"])) + textwrap.dedent(STATIC_KERNEL), ns)
    values = values_of(4)
    (out,) = launch(backend, ns["kernel"], [values], [np.zeros(BLOCKS, np.int32)])
    np.testing.assert_array_equal(out, np.abs(values.reshape(-1, BLOCK)).max(axis=1))
