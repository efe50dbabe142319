"""Nested types of structs and class template instantiations (member typedefs, records whose layout
comes from a base class), and structs bound as opaque bytes (bit-fields, unions, fields of unknown
types) with their constructors, methods, operators and conversions; CUDA's `dim3` and vector types.
Kernel tests run on both backends (the `backend` fixture: numba-cuda and numba-cuda-mlir)."""

from __future__ import annotations

import warnings
from pathlib import Path

import ast_canopy
import numbast
import numpy as np
import pytest
from numba import cuda, int32
from numbast import MemoryShimWriter, bind_cxx_structs

ARCH = "sm_80"
HEADER = Path(__file__).resolve().parent / "headers" / "structs_opaque.cuh"


def parse(path):
    return ast_canopy.parse_declarations_from_source(str(path), [str(path)], ARCH)


@pytest.fixture(scope="module")
def H(backend):
    api = backend.api
    decls = parse(HEADER)
    writer = api.MemoryShimWriter(f'#include "{HEADER}"')
    structs = {s.name: s for s in decls.structs}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", numbast.NumbastSkipWarning)
        bound = api.bind_cxx_structs(writer, list(structs.values()))
        functions = api.bind_cxx_functions(writer, decls.functions)
        Box = api.bind_cxx_class_templates([t for t in decls.class_templates if t.qual_name == "Box"], None, writer)[0]
    out = dict(zip(structs, bound))
    out.update({f.__name__: f for f in functions})
    return dict(out, Box=Box, writer=writer, decls=decls, backend=backend)


def linked(H, kernel, nargs):
    """`kernel` of `nargs` int32 arrays, linked on H's backend."""
    backend = H["backend"]
    backend.link(kernel, (backend.typeof(np.zeros(1, np.int32)),) * nargs, H["writer"])


def run(backend, kernel, config, *args):
    """Launches `kernel` on the backend's GPU with host arrays `args`; returns them copied back."""
    backend.gpu()
    cuda = backend.cuda
    device = [cuda.to_device(a) for a in args]
    cuda.jit(backend.kernel(kernel))[config](*device)
    return [d.copy_to_host() for d in device]


def note_of(backend, qual_name):
    notes = [b.note for b in backend.api.binding_report().bound if b.kind == "struct" and b.name == qual_name]
    assert notes, f"{qual_name} was not bound"
    return notes[-1]


# ----------------------------------------------------------------------------- nested types


def test_member_typedefs_are_in_the_model(H):
    holder = next(s for s in H["decls"].structs if s.name == "Holder")
    assert [(t.name, t.qual_name, t.underlying_name) for t in holder.nested_typedefs] == [
        ("point_type", "Holder::point_type", "Point"),
        ("scale_type", "Holder::scale_type", "double"),
    ]
    box = next(t for t in H["decls"].class_templates if t.qual_name == "Box").record
    assert [t.name for t in box.nested_typedefs] == ["TempStorage", "value_type"]


def test_struct_member_types_are_attributes(H):
    Holder, Point = H["Holder"], H["Point"]
    assert Holder.point_type is Point
    assert Holder.scale_type is H["backend"].types.float64
    assert Holder.Part.cxx_name == "Holder::Part"
    assert Holder.Part._numba_type._nbst_size == 12  # Point's 8 bytes from the base, then `tag`


def test_instantiation_member_types_have_the_probed_layout(H):
    B = H["Box"][np.float64, 3]
    storage = 3 * 8 + 4 + 4  # items, count, tail padding to 8
    assert (B.TempStorage._numba_type._nbst_size, B.TempStorage._numba_type._nbst_align) == (storage, 8)
    assert (B.BaseStorage._numba_type._nbst_size, B.BaseStorage._numba_type._nbst_align) == (storage, 8)
    assert B.value_type is H["backend"].types.float64
    assert B._Storage._numba_type._nbst_size == storage


def box_kernel(H, storage):
    B = H["Box"][np.int32, 5]
    Storage = getattr(B, storage)

    def kernel(values, out):
        temp = cuda.shared.array(1, Storage)
        i = cuda.grid(1)
        out[i] = B(temp[0]).put(values[i])

    return kernel


@pytest.mark.parametrize("storage", ["TempStorage", "BaseStorage"])
def test_instantiation_member_types_are_temp_storage(H, storage):
    linked(H, box_kernel(H, storage), 2)


@pytest.mark.gpu
@pytest.mark.parametrize("storage", ["TempStorage", "BaseStorage"])
def test_instantiation_member_types_are_temp_storage_run(H, storage):
    values = np.arange(32, dtype=np.int32)
    _, out = run(H["backend"], box_kernel(H, storage), (1, 32), values, np.zeros(32, np.int32))
    np.testing.assert_array_equal(out, values + 5)


# ----------------------------------------------------------------------------- opaque structs


def test_report_says_opaque_and_why(H):
    backend = H["backend"]
    assert note_of(backend, "Flags") == "opaque: field `ready` is a bit-field or has no known offset"
    assert note_of(backend, "Variant").startswith("opaque: field `u`: unknown type `Variant::(unnamed union")
    assert note_of(backend, "WithHandle") == "opaque: field `handle_or_null`: unknown type `Unknown`"
    assert note_of(backend, "Point") == ""  # described by its fields
    for name in ("Flags", "Variant", "WithHandle"):
        ty = H[name]._numba_type
        decl = next(s for s in H["decls"].structs if s.name == name)
        assert (ty._nbst_size, ty._nbst_align) == (decl.sizeof_, decl.alignof_)


def opaque_kernel(H):
    Flags, Variant, WithHandle = H["Flags"], H["Variant"], H["WithHandle"]
    flags_total, variant_value = H["flags_total"], H["variant_value"]

    def kernel(values, out):
        i = cuda.grid(1)
        a = Flags()  # ready 1, count 5
        b = Flags(values[i])  # ready 0, count values[i] (7 bits)
        c = a + b  # member operator: count 5 + values[i]
        v = Variant(values[i])
        h = WithHandle()
        out[i] = a.total() + flags_total(c) * 10 + int32(c) * 1000 + v.as_int() * 100000
        out[i] += variant_value(v) * 0 + (1 if h.empty() else 0) * 10000000

    return kernel


def opaque_expected(values):
    c = (5 + values) & 0x7F
    return 6 + c * 10 + c * 1000 + values * 100000 + 10000000


def test_opaque_structs_keep_their_members(H):
    linked(H, opaque_kernel(H), 2)


@pytest.mark.gpu
def test_opaque_structs_keep_their_members_run(H):
    values = np.arange(64, dtype=np.int32)
    _, out = run(H["backend"], opaque_kernel(H), (1, 64), values, np.zeros(64, np.int32))
    np.testing.assert_array_equal(out, opaque_expected(values))


def test_explicit_struct_model_still_refuses_bit_fields():
    decls = parse(HEADER)
    writer = MemoryShimWriter(f'#include "{HEADER}"')
    flags = next(s for s in decls.structs if s.name == "Flags")
    with pytest.warns(numbast.NumbastSkipWarning, match="bit-field"):
        assert bind_cxx_structs(writer, [flags], data_models={"Flags": "struct"}, names={"Flags": "FlagsStrict"}) == [None]


# ----------------------------------------------------------------------------- CUDA built-in types


def builtin_kernel(H):
    dim_volume, swap_xy = H["dim_volume"], H["swap_xy"]

    def kernel(out):
        i = cuda.threadIdx.y * cuda.blockDim.x + cuda.threadIdx.x  # blocks are 2-D
        v = swap_xy(cuda.uint32x3(1, 2, 3))
        out[i] = dim_volume(cuda.blockDim) * 1000 + v.x * 100 + v.y * 10 + v.z

    return kernel


def test_dim3_and_vector_types_bind(H):
    assert H["dim_volume"] is not None and H["swap_xy"] is not None
    linked(H, builtin_kernel(H), 1)


@pytest.mark.gpu
def test_dim3_and_vector_types_run(H):
    (out,) = run(H["backend"], builtin_kernel(H), ((1, 1), (16, 4)), np.zeros(64, np.int32))
    np.testing.assert_array_equal(out, np.full(64, 64 * 1000 + 213, np.int32))


# ----------------------------------------------------------------------------- CUB TempStorage


@pytest.fixture(scope="module")
def WR(backend):
    cccl = next(Path(d) for d in ast_canopy.cuda_include_dirs() if d.endswith("cccl"))
    path = cccl / "cub" / "warp" / "warp_reduce.cuh"
    decls = [t for t in parse(path).class_templates if t.qual_name == "cub::WarpReduce"]
    writer = backend.api.MemoryShimWriter("#include <cub/warp/warp_reduce.cuh>\n")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", numbast.NumbastSkipWarning)
        (WarpReduce,) = backend.api.bind_cxx_class_templates(decls, None, writer)
    return WarpReduce, writer


def warp_sum_kernel(WarpReduce):
    W = WarpReduce[np.int32]
    TempStorage = W.TempStorage  # `using TempStorage = Uninitialized<_TempStorage>` in CCCL 13.3

    def kernel(values, out):
        temp = cuda.shared.array(4, TempStorage)
        i = cuda.grid(1)
        total = W(temp[cuda.threadIdx.x // 32]).Sum(values[i])
        if cuda.threadIdx.x % 32 == 0:
            out[i // 32] = total

    return kernel


def test_warp_reduce_temp_storage_links(backend, WR):
    WarpReduce, writer = WR
    assert WarpReduce[np.int32].TempStorage._numba_type._nbst_size > 0
    i32 = backend.typeof(np.zeros(1, np.int32))
    backend.link(warp_sum_kernel(WarpReduce), (i32, i32), writer)


@pytest.mark.gpu
def test_warp_reduce_temp_storage_run(backend, WR):
    values = np.random.default_rng(1).integers(0, 100, 128).astype(np.int32)
    _, out = run(backend, warp_sum_kernel(WR[0]), (1, 128), values, np.zeros(4, np.int32))
    np.testing.assert_array_equal(out, values.reshape(4, 32).sum(axis=1))
