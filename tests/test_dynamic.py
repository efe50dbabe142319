"""Dynamic mode end to end: bind the headers in tests/headers/dynamic, then compile and link kernels
that use every kind of binding (to a cubin, through NVRTC and nvJitLink, with no GPU) and, on a GPU,
run them and check their values with numpy.

Each kernel groups many checks, because each link compiles the header with NVRTC. A kernel is a
`Case`: the Python function, a factory for its (numpy) arguments, and the check of the arguments
after a launch; the CPU tests link `case.kernel` for the types of `case.args()`, the `gpu` tests
launch it.
"""

from __future__ import annotations

import operator
import re
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numbast
import numpy as np
import pytest
from _helpers import link_case, shims_of
from ast_canopy import parse_declarations_from_source
from llvmlite import binding as llvm
from numba import cuda
from numba.core.datamodel import models as core_models
from numba.core.errors import TypingError as CoreTypingError
from numba.cuda import cgutils, types
from numba.cuda.core.errors import TypingError as CudaTypingError
from numba.cuda.datamodel import models as cuda_models
from numba.cuda.descriptor import cuda_target
from numba.cuda.extending import intrinsic
from numba.cuda.typing.typeof import typeof
from numba.cuda.vector_types import vector_types
from numbast import (
    MemoryShimWriter,
    NumbastSkipWarning,
    _runtime,
    bind_cxx_enums,
    bind_cxx_function,
    bind_cxx_functions,
    bind_cxx_struct,
    bind_cxx_structs,
    register_cxx_type,
)
from numbast.testing import link_kernel

HEADERS = Path(__file__).resolve().parent / "headers" / "dynamic"
DEMO = Path(__file__).resolve().parents[1] / "examples" / "demo" / "demo.cuh"
ARCH = "sm_80"


def parse(path):
    return parse_declarations_from_source(str(path), [str(path)], ARCH)


def by_name(items):
    """Declarations by their C++ name."""
    return {i.name: i for i in items}


def by_py_name(items):
    """Bound objects (IntEnum classes, structs, functions) by their Python name."""
    return {i.__name__: i for i in items}


@intrinsic
def addr(typingctx, arr, index):
    """`&arr[index]` as a CPointer, for pointer parameters and `inout_ptr`/`out_ptr` intents."""

    def codegen(context, builder, sig, args):
        aryty = sig.args[0]
        ary = context.make_array(aryty)(context, builder, args[0])
        return cgutils.get_item_pointer(context, builder, aryty, ary, [args[1]])

    return types.CPointer(arr.dtype)(arr, index), codegen


@dataclass
class Case:
    kernel: Callable
    args: Callable[[], tuple]  # fresh numpy arguments
    check: Callable[[tuple], None]  # asserts on the arguments after a launch


def run_case(case):
    if not cuda.is_available():
        pytest.skip("no CUDA GPU")
    args = case.args()
    cuda.jit(case.kernel)[1, 1](*args)  # no link=: lowering adds the shims itself
    case.check(args)


def skips_in(path, api=numbast):
    return [s for s in api.binding_report().skipped if s.location.startswith(str(path) + ":")]


# ----------------------------------------------------------------------------- free functions

# The suffixes of the arith::t_* functions, one per C++ arithmetic type, and their Numba types.
ARITH_TYPES = {
    "bool": types.boolean, "char": types.int8, "schar": types.int8, "uchar": types.uint8,
    "short": types.int16, "ushort": types.uint16, "int": types.int32, "uint": types.uint32,
    "long": types.int64, "ulong": types.uint64, "llong": types.int64, "ullong": types.uint64,
    "wchar": types.int32, "char16": types.uint16, "char32": types.uint32, "i8": types.int8,
    "i16": types.int16, "i32": types.int32, "i64": types.int64, "u8": types.uint8,
    "u16": types.uint16, "u32": types.uint32, "u64": types.uint64, "float": types.float32,
    "double": types.float64,
}  # fmt: skip
ARITH = list(ARITH_TYPES)
FUNCTION_INTENTS = {
    "bump": {"x": "inout_ptr"},
    "fill": {0: "out_ptr"},
    "divmod": {"rem": "out_return"},
    "polar": {1: "out_return", "c": "out_return"},
    "lib::minmax3": {"lo": "out_return", 4: "out_return"},  # by qualified name
}
PAIR = types.UniTuple(types.int32, 2)


@pytest.fixture(scope="module")
def F():
    """Bindings of functions.cuh: enums first, then every function, overloads merged."""
    path = HEADERS / "functions.cuh"
    decls = parse(path)
    writer = MemoryShimWriter(f'#include "{path}"')
    register_cxx_type("reg::Pair", PAIR, alignof=8)
    enums = by_py_name(bind_cxx_enums(decls.enums))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # everything in this header binds
        fns = by_py_name(bind_cxx_functions(writer, decls.functions, arg_intent=FUNCTION_INTENTS))
    return dict(decls=decls, writer=writer, enums=enums, fns=fns, path=path)


def function_cases(F):
    f, Mode, Color = F["fns"], F["enums"]["Mode"], F["enums"]["Color"]
    add, store, load, advance, nothing = f["add"], f["store"], f["load"], f["advance"], f["nothing"]
    mode_value, flip, blend, twice, hidden = f["mode_value"], f["flip"], f["blend"], f["twice"], f["hidden"]
    color_value, versioned, h_mul = f["color_value"], f["versioned"], f["h_mul"]
    int32, float32 = np.int32, np.float32

    def k_functions(iout, fout, hout):
        iout[0] = add(int32(1), int32(2))  # int overload
        iout[1] = add(int32(1), int32(2), int32(3))  # three-parameter overload
        fout[0] = add(float32(1.0), float32(2.0))  # float overload: + 0.5
        fout[1] = add(1.0, 2.0)  # const double & overload: + 0.25
        store(addr(iout, 2), 42)  # int *
        iout[3] = load(addr(iout, 2))  # const int *
        iout[4] = advance(addr(iout, 0), 3)[0]  # const int *const -> const int *
        nothing()  # void, no parameters
        iout[5] = mode_value(Mode.Fast)  # lib::Mode parameter
        iout[6] = mode_value(flip(Mode.Fast))  # const lib::Mode & parameter, enum result
        iout[7] = flip(Mode.Exact) == Mode.Fast
        iout[8] = twice(21)  # lib::detail::deep::twice
        iout[9] = hidden(1)  # lib::(anonymous)::hidden
        iout[10] = color_value(Color.Green)  # enum in an anonymous namespace
        iout[11] = versioned(1)  # lib::v2 (inline namespace)
        hout[2] = blend(hout[0], hout[1])  # lib::blend(__half, __half): not found by ADL
        hout[3] = h_mul(hout[0], hout[1])  # __half and half

    def check_functions(args):
        iout, fout, hout = args
        assert iout[:12].tolist() == [3, 6, 42, 42, 42, 10, 20, 1, 42, 101, 40, 3]
        assert fout[:2].tolist() == [3.5, 3.25]
        assert hout[2:].tolist() == [3.75, 3.375]

    def functions_args():
        return (np.zeros(12, np.int32), np.zeros(2, np.float64), np.array([1.5, 2.25, 0, 0], np.float16))

    (t_bool, t_char, t_schar, t_uchar, t_short, t_ushort, t_int, t_uint, t_long, t_ulong, t_llong,
     t_ullong, t_wchar, t_char16, t_char32, t_i8, t_i16, t_i32, t_i64, t_u8, t_u16, t_u32, t_u64,
     t_float, t_double) = (f["t_" + n] for n in ARITH)  # fmt: skip

    def k_arith(iout, fout):
        # Wrap-around at each type's width proves the width and signedness of its Numba type.
        iout[0] = t_bool(True)
        iout[1] = t_char(127)
        iout[2] = t_schar(127)
        iout[3] = t_uchar(255)
        iout[4] = t_short(32767)
        iout[5] = t_ushort(65535)
        iout[6] = t_int(41)
        iout[7] = t_uint(-1)
        iout[8] = t_long(41)
        iout[9] = t_ulong(-1)
        iout[10] = t_llong(41)
        iout[11] = t_ullong(-1)
        iout[12] = t_wchar(41)
        iout[13] = t_char16(-1)
        iout[14] = t_char32(-1)
        iout[15] = t_i8(127)
        iout[16] = t_i16(32767)
        iout[17] = t_i32(41)
        iout[18] = t_i64(41)
        iout[19] = t_u8(255)
        iout[20] = t_u16(65535)
        iout[21] = t_u32(-1)
        iout[22] = t_u64(-1)
        fout[0] = t_float(1.5)
        fout[1] = t_double(1.25)

    def check_arith(args):
        iout, fout = args
        assert iout.tolist() == [0, -128, -128, 0, -32768, 0, 42, 0, 42, 0, 42, 0, 42, 0, 0,
                                 -128, -32768, 42, 42, 0, 0, 0, 0]  # fmt: skip
        assert fout.tolist() == [2.5, 2.25]

    reverse4, swap2, halve2, plus4 = f["reverse4"], f["swap2"], f["halve2"], f["plus4"]
    shift4, neg3, wide2 = f["shift4"], f["neg3"], f["wide2"]
    bf_from, bf_to, bf_twice = f["bf_from"], f["bf_to"], f["bf_twice"]
    make_pair, pair_diff = f["make_pair"], f["pair_diff"]

    def k_types(iout, fout):
        r = reverse4(cuda.float4(1.0, 2.0, 3.0, 4.0))
        fout[0], fout[1], fout[2], fout[3] = r.x, r.y, r.z, r.w
        s = swap2(cuda.double2(5.0, 6.0))
        fout[4], fout[5] = s.x, s.y
        h = halve2(cuda.float2(3.0, 5.0))
        fout[6], fout[7] = h.x, h.y
        fout[8] = bf_to(bf_twice(bf_from(1.5)))  # __nv_bfloat16 and nv_bfloat16
        p = plus4(cuda.int4(1, 2, 3, 4), 10)
        iout[0], iout[1], iout[2], iout[3] = p.x, p.y, p.z, p.w
        u = shift4(cuda.uchar4(1, 2, 3, 4))
        iout[4], iout[5], iout[6], iout[7] = u.x, u.y, u.z, u.w
        n = neg3(cuda.short3(1, 2, 3))
        iout[8], iout[9], iout[10] = n.x, n.y, n.z
        w = wide2(3, 4)
        iout[11], iout[12] = w.x, w.y
        pair = make_pair(3, 10)  # registered type: a tuple of two int32
        iout[13], iout[14] = pair[0], pair[1]
        iout[15] = pair_diff(pair)
        iout[16] = pair_diff((int32(1), int32(5)))

    def check_types(args):
        iout, fout = args
        assert fout.tolist() == [4.0, 3.0, 2.0, 1.0, 6.0, 5.0, 1.5, 2.5, 3.0]
        assert iout.tolist() == [11, 12, 13, 14, 2, 3, 4, 1, -1, -2, -3, 3000000000000, 4, 3, 10, 7, 4]

    bump, fill, divmod_, polar, minmax3 = f["bump"], f["fill"], f["divmod"], f["polar"], f["minmax3"]

    def k_intents(iout, fout):
        iout[0] = 5
        bump(addr(iout, 0))  # inout_ptr
        fill(addr(fout, 0), 2.5)  # out_ptr, by index
        q, r = divmod_(17, 5)  # out_return: the result, then the output
        iout[1], iout[2] = q, r
        s, c = polar(4.0)  # void with two out_return outputs
        fout[1], fout[2] = s, c
        lo, hi = minmax3(5, 1, 9)  # by name and by index
        iout[3], iout[4] = lo, hi

    def check_intents(args):
        iout, fout = args
        assert iout.tolist() == [6, 3, 2, 1, 9]
        assert fout.tolist() == [2.5, 2.0, 8.0]

    return {
        "functions": Case(k_functions, functions_args, check_functions),
        "arith": Case(k_arith, lambda: (np.zeros(23, np.int64), np.zeros(2, np.float64)), check_arith),
        "types": Case(k_types, lambda: (np.zeros(17, np.int64), np.zeros(9, np.float64)), check_types),
        "intents": Case(k_intents, lambda: (np.zeros(5, np.int32), np.zeros(3, np.float32)), check_intents),
    }


FUNCTION_CASES = ["functions", "arith", "types", "intents"]


def test_overloads_merge_into_one_callable(F):
    add = F["fns"]["add"]
    assert [tuple(c.args) for c in add._template.cases] == [
        (types.int32, types.int32),
        (types.float32, types.float32),
        (types.float64, types.float64),
        (types.int32, types.int32, types.int32),
    ]
    assert F["fns"]["nothing"]._template.cases[0].return_type == types.none
    assert F["fns"]["load"]._template.cases[0].args == (types.CPointer(types.int32),)
    assert F["fns"]["advance"]._template.cases[0].return_type == types.CPointer(types.int32)


def test_cxx_types_map_to_numba_types(F):
    expected = ARITH_TYPES
    sig = {n: F["fns"]["t_" + n]._template.cases[0] for n in expected}
    assert {n: s.args[0] for n, s in sig.items()} == expected
    assert {n: s.return_type for n, s in sig.items()} == expected

    f = F["fns"]
    assert f["h_mul"]._template.cases[0].args == (types.float16, types.float16)
    assert f["bf_twice"]._template.cases[0].args == (types.bfloat16,)
    assert f["bf_to"]._template.cases[0].args == (types.bfloat16,)
    assert f["reverse4"]._template.cases[0].args == (vector_types["float32x4"],)
    assert f["swap2"]._template.cases[0].args == (vector_types["float64x2"],)
    assert f["shift4"]._template.cases[0].args == (vector_types["uint8x4"],)
    assert f["wide2"]._template.cases[0].return_type == vector_types["int64x2"]
    assert f["make_pair"]._template.cases[0].return_type == PAIR
    assert f["mode_value"]._template.cases[0].args == (typeof(F["enums"]["Mode"].Fast),)


def test_vector_type_alignment_matches_clang(F):
    """Shims read vector types through `float4 *`: the runtime's stack slots must be as aligned as
    C++ says, which is more than the LLVM struct of the elements (4 for float4)."""
    seen = {}
    for fn in F["decls"].functions:
        for t in [fn.return_type] + [p.type_ for p in fn.params]:
            if t.shape.tag == "record" and t.unqualified_non_ref_type_name in (
                "float4",
                "double2",
                "float2",
                "int4",
                "uchar4",
                "short3",
                "longlong2",
            ):
                seen[t.unqualified_non_ref_type_name] = t.shape.align
    assert seen["float4"] == seen["double2"] == 16
    table = {"float4": "float32x4", "double2": "float64x2", "float2": "float32x2", "int4": "int32x4",
             "uchar4": "uint8x4", "short3": "int16x3", "longlong2": "int64x2"}  # fmt: skip
    assert {c: _runtime._cxx_alignment(vector_types[n]) for c, n in table.items()} == seen
    assert _runtime._cxx_alignment(PAIR) == 8  # registered with alignof=8

    # The slots in the kernel's LLVM IR carry the alignment.
    from numba.cuda.compiler import compile_cuda

    reverse4, swap2 = F["fns"]["reverse4"], F["fns"]["swap2"]

    def k(out):
        out[0] = reverse4(cuda.float4(1.0, 2.0, 3.0, 4.0)).x + swap2(cuda.double2(5.0, 6.0)).x

    ir = compile_cuda(k, types.void, (types.float64[:],), cc=(8, 0)).library.get_llvm_str()
    assert re.search(r"alloca \{float, float, float, float\}, align 16", ir)
    assert re.search(r"alloca \{double, double\}, align 16", ir)


@pytest.mark.parametrize("name", FUNCTION_CASES)
def test_function_kernels_link(F, name):
    link_case(function_cases(F)[name], F["writer"])


@pytest.mark.gpu
@pytest.mark.parametrize("name", FUNCTION_CASES)
def test_function_kernels_run(F, name):
    run_case(function_cases(F)[name])


def test_simple_function_is_inlined(F):
    twice = F["fns"]["twice"]

    def k(out):
        out[0] = twice(out[0])

    result = link_kernel(k, (types.int32[:],), ARCH)
    (shim,) = [s for s in shims_of(F["writer"]) if "_deep_twice_" in s]
    assert not result.calls(shim)
    assert not re.search(r"\bcall(\.uni)?\b", result.ptx)  # nothing left to call at all


def test_intent_errors_are_reported(tmp_path):
    path = tmp_path / "intents.cuh"
    path.write_text("__device__ int by_value(int x) { return x; }\n"
                    "__device__ void by_ref(int &x) { x = 1; }\n")  # fmt: skip
    decls = parse(path)
    writer = MemoryShimWriter(f'#include "{path}"')
    intents = {"by_value": {"x": "out_return"}, "by_ref": {"x": "sideways"}}
    with pytest.warns(NumbastSkipWarning, match="2 declaration"):
        assert bind_cxx_functions(writer, decls.functions, arg_intent=intents) == []
    reasons = {s.name: s.reason for s in skips_in(path)}
    assert "needs a reference parameter" in reasons["by_value"]
    assert "not one of in, inout_ptr, out_ptr, out_return" in reasons["by_ref"]


# ----------------------------------------------------------------------------- operators

BINARY = ["+", "-", "*", "/", "%", "&", "|", "^", "<<", ">>", "==", "!=", "<", "<=", ">", ">="]
UNARY = ["-", "+", "~", "!"]
COMPOUND = ["+=", "-=", "*=", "/=", "%=", "&=", "|=", "^=", "<<=", ">>="]


@pytest.fixture(scope="module")
def O(backend):
    """operators.cuh, bound with each backend's API (the `backend` fixture)."""
    api = backend.api
    path = HEADERS / "operators.cuh"
    decls = parse(path)
    writer = api.MemoryShimWriter(f'#include "{path}"')
    with pytest.warns(api.NumbastSkipWarning, match="1 declaration"):  # Mem::operator=
        structs = by_py_name(api.bind_cxx_structs(writer, decls.structs))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert api.bind_cxx_functions(writer, decls.functions) == []  # operators only: no callables
    return dict(decls=decls, writer=writer, path=path, backend=backend, **structs)


def operator_values(a, b):
    """What the operator kernels compute, in Python (C++ int semantics for these positive operands)."""
    out = [a + b, a - b, a * b, a // b, a % b, a & b, a | b, a ^ b, a << 2, a >> 2,
           a == b, a != b, a < b, a <= b, a > b, a >= b, -a, a + 1000, ~a, a == 0, True]  # fmt: skip
    c = a
    for apply, k in [(operator.add, b), (operator.sub, b), (operator.mul, b), (operator.floordiv, b),
                     (operator.mod, b), (operator.and_, 7), (operator.or_, 8), (operator.xor, 3),
                     (operator.lshift, 2), (operator.rshift, 1)]:  # fmt: skip
        c = apply(c, k)
        out.append(c)
    return [int(v) for v in out]


def operator_cases(O):
    def make(T):
        def kernel(out):
            a, b = T(12), T(5)
            out[0] = (a + b).v
            out[1] = (a - b).v
            out[2] = (a * b).v
            out[3] = (a / b).v
            out[4] = (a % b).v
            out[5] = (a & b).v
            out[6] = (a | b).v
            out[7] = (a ^ b).v
            out[8] = (a << 2).v
            out[9] = (a >> 2).v
            out[10] = a == b
            out[11] = a != b
            out[12] = a < b
            out[13] = a <= b
            out[14] = a > b
            out[15] = a >= b
            out[16] = (-a).v
            out[17] = (+a).v
            out[18] = (~a).v
            out[19] = not a
            out[20] = not T(0)
            c = T(12)
            c += b
            out[21] = c.v
            c -= b
            out[22] = c.v
            c *= b
            out[23] = c.v
            c /= b
            out[24] = c.v
            c %= b
            out[25] = c.v
            c &= T(7)
            out[26] = c.v
            c |= T(8)
            out[27] = c.v
            c ^= T(3)
            out[28] = c.v
            c <<= 2
            out[29] = c.v
            c >>= 1
            out[30] = c.v
            out[31] = (3 * a).v  # operator*(int, const T &): a builtin number on the left

        def check(args):
            assert args[0][:31].tolist() == operator_values(12, 5)
            assert args[0][31] == 37

        return Case(kernel, lambda: (np.zeros(32, np.int32),), check)

    return {"Mem": make(O["Mem"]), "Fre": make(O["Fre"])}


def test_every_operator_is_bound(O):
    bound = [b for b in O["backend"].api.binding_report().bound if b.kind == "operator"]
    members = {b.name.split("::operator")[1] for b in bound if b.name.startswith("ops::Mem::operator")}
    free = [b.name for b in bound if b.name.startswith("ops::operator")]
    assert members == set(BINARY + UNARY + COMPOUND)
    assert len(free) == len(BINARY + UNARY + COMPOUND) + 2  # and int * Fre, int * Mem
    (skip,) = skips_in(O["path"], O["backend"].api)
    assert skip.name == "ops::Mem::operator=" and "assignment operator" in skip.reason


@pytest.mark.parametrize("name", ["Mem", "Fre"])
def test_operator_kernels_link(O, name):
    O["backend"].link_case(operator_cases(O)[name], O["writer"])


@pytest.mark.gpu
@pytest.mark.parametrize("name", ["Mem", "Fre"])
def test_operator_kernels_run(O, name):
    O["backend"].run_case(operator_cases(O)[name])


# ----------------------------------------------------------------------------- structs

STRUCT_INTENTS = {"geo::Vec2": {"split": {"a": "out_return", "b": "out_return"}}}


@pytest.fixture(scope="module")
def S(backend):
    """structs.cuh, bound with each backend's API (the `backend` fixture)."""
    api = backend.api
    path = HEADERS / "structs.cuh"
    decls = parse(path)
    writer = api.MemoryShimWriter(f'#include "{path}"')
    enums = by_py_name(api.bind_cxx_enums(decls.enums))
    structs = by_name(decls.structs)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        pixel = api.bind_cxx_struct(writer, structs["Pixel"], backend.types.Number, backend.models.PrimitiveModel)
        vec2, record, wide, hidden, triple = api.bind_cxx_structs(
            writer, [structs[n] for n in ("Vec2", "Record", "Wide", "Hidden", "Triple")], arg_intent=STRUCT_INTENTS
        )
        fns = by_py_name(api.bind_cxx_functions(writer, decls.functions))
    return dict(decls=decls, structs=structs, writer=writer, path=path, Tag=enums["Tag"], Vec2=vec2,
                Record=record, Wide=wide, Hidden=hidden, Pixel=pixel, Triple=triple, fns=fns, backend=backend)  # fmt: skip


def numba_cuda_only(S):
    """For tests of numba-cuda's own data models (LLVM layouts) and error types."""
    if S["backend"].name != "numba-cuda":
        pytest.skip("numba-cuda's LLVM data models")


def struct_cases(S):
    Vec2, Record, Pixel, Tag = S["Vec2"], S["Record"], S["Pixel"], S["Tag"]
    length2, make_wide, wide_sum, make_hidden = (S["fns"][n] for n in ("length2", "make_wide", "wide_sum", "make_hidden"))
    Inner = Record.Inner
    cuda, types = S["backend"].cuda, S["backend"].types  # the backend's, in the kernel
    float64, float32 = types.float64, types.float32

    def k_structs(fout, iout):
        v = Vec2(1.0, 2.0)
        fout[0], fout[1] = v.x, v.y
        fout[2] = v.sum()  # const method
        fout[3] = v.scaled_sum(10.0)  # non-const method: scales v itself, as in C++
        fout[4] = v.x
        fout[5], fout[6] = v.pick(), v.pick(1)  # method overloads
        a, b = v.split()  # out_return intents on a method
        fout[7], fout[8] = a, b
        fout[9] = float64(v)  # operator double
        fout[10] = float32(Vec2(3.0))  # operator double, then to float32
        fout[11] = length2(3.0)  # converting constructor as an implicit cast
        fout[12] = length2(Vec2())
        fout[21] = length2(Pixel(1, 2, 0, 0))  # converting constructor from another struct
        r = Record(77)
        iout[0], fout[13], iout[1] = r.c, r.d, r.s
        iout[2] = r.tag == Tag.B  # enum field
        iout[3] = r.flag
        fout[14] = r.arr[2]  # array field: UniTuple
        fout[15] = r.h  # __half field
        fout[16] = r.v.y  # struct field
        iout[4] = r.inner.b  # nested struct field
        iout[5] = r.inner.total()
        iout[6] = r.get_secret()
        w = make_wide(1.0)  # alignas(32), float4 and double2 fields
        fout[17], fout[18], iout[7] = w.f.w, w.d.y, w.c
        fout[19] = wide_sum(w)
        p = Pixel(10, 20, 30, 7)  # PrimitiveModel, parent types.Number
        iout[8] = p.brightness()
        fout[20] = float64(p)  # operator float
        h = make_hidden(21)  # struct in an anonymous namespace
        iout[9], iout[10] = h.twice(), h.h
        fout[22] = Vec2.dot(Vec2(1.0, 2.0), Vec2(3.0, 4.0))  # static member functions
        fout[23] = Vec2.dot(float32(3.0), float32(2.0))
        d = Vec2.diagonal(1.5)
        fout[24], fout[25] = d.x, d.y

    def check(args):
        fout, iout = args
        assert fout.tolist() == [1, 2, 3, 30, 10, 10, 20, 10, 20, 120, 33, 18, 0, 2.5, 6, 7.5, 9, 4, 3, 24, 3.5, 5, 11, 6.5, 1.5, -1.5]
        assert iout.tolist() == [1, -3, 1, 1, 11, 21, 77, 9, 60, 42, 21]

    def k_dtype(iout):
        arr = cuda.local.array(2, Inner)  # a bound struct as a dtype
        arr[0] = Record(77).inner
        iout[0] = arr[0].a

    def check_dtype(args):
        assert args[0].tolist() == [10]

    Triple = S["Triple"]
    weigh_triples, fill_triples = S["fns"]["weigh_triples"], S["fns"]["fill_triples"]

    def k_packed(iout):
        arr = cuda.local.array(3, Triple)  # 12-byte elements, 12 bytes apart as in C++
        for i in range(3):
            arr[i] = Triple(i + 1, i + 2, i + 3)
        iout[0] = weigh_triples(arr, 3)  # C++ reads what the kernel wrote
        fill_triples(arr[1:], 2, 7)  # C++ writes elements 1 and 2 (through a slice)
        iout[1], iout[2], iout[3] = arr[0].c, arr[1].a, arr[2].c
        iout[4] = arr[-1].b  # a negative index
        iout[5] = arr[1:][1].b  # an element of a slice
        shared = cuda.shared.array(4, Triple)
        shared[3] = Triple(4, 5, 6)
        iout[6] = weigh_triples(shared[3:], 1)
        iout[7] = shared[3].b

    def check_packed(args):
        assert args[0].tolist() == [123234345, 3, 7, 10, 9, 9, 456, 5]

    def k_packed_2d(iout):
        grid = cuda.local.array((2, 3), Triple)  # elements 12 bytes apart, rows 36, as in C++'s Triple[2][3]
        for i in range(2):
            for j in range(3):
                grid[i, j] = Triple(i + 1, j + 1, i + j)
        iout[0] = weigh_triples(grid[1], 3)  # C++ reads a row the kernel wrote
        fill_triples(grid[0], 3, 5)  # C++ writes row 0
        iout[1], iout[2], iout[3] = grid[0, 2].c, grid[1, 1].b, grid[-1, -1].a  # negative indices
        shared = cuda.shared.array((2, 2), Triple)
        shared[1, 0] = Triple(4, 5, 6)
        shared[1, 1] = Triple(7, 8, 9)
        iout[4] = shared[1, 1].c
        iout[5] = weigh_triples(shared[1], 2)
        iout[6] = grid[1][2].b  # an element of a row

    def check_packed_2d(args):
        assert args[0].tolist() == [211222233, 9, 2, 2, 9, 456789, 3]

    return {
        "structs": Case(k_structs, lambda: (np.zeros(26), np.zeros(11, np.int64)), check),
        "dtype": Case(k_dtype, lambda: (np.zeros(1, np.int64),), check_dtype),
        "packed": Case(k_packed, lambda: (np.zeros(8, np.int32),), check_packed),
        "packed_2d": Case(k_packed_2d, lambda: (np.zeros(7, np.int32),), check_packed_2d),
    }


def dtype_needs_numba_cuda(S):
    if S["backend"].name != "numba-cuda":
        pytest.skip("numba-cuda-mlir's local arrays hold builtin element types only (MLIR memrefs)")


def test_struct_layouts_match_clang(S):
    numba_cuda_only(S)
    td = llvm.create_target_data(_runtime._NVPTX_LAYOUT)
    ctx = cuda_target.target_context
    structs = dict(S["structs"], Inner=S["structs"]["Record"].nested_records[0])
    bound = dict(Vec2=S["Vec2"], Record=S["Record"], Wide=S["Wide"], Hidden=S["Hidden"], Pixel=S["Pixel"],
                 Inner=S["Record"].Inner)  # fmt: skip
    for name, obj in bound.items():
        decl, nbty = structs[name], obj._numba_type
        lty = ctx.get_data_type(nbty)
        assert lty.get_abi_size(td) == decl.sizeof_, name
        assert lty.get_abi_alignment(td) == min(decl.alignof_, 16), name
        assert _runtime._cxx_alignment(nbty) == decl.alignof_, name
    assert (structs["Record"].sizeof_, structs["Record"].alignof_) == (72, 8)
    assert (structs["Wide"].sizeof_, structs["Wide"].alignof_) == (64, 32)

    # StructModel: every field, in layout order, at clang's offsets; PrimitiveModel: opaque bytes.
    record = ctx.data_model_manager[S["Record"]._numba_type]
    names = [n for n in record._fields if not n.startswith("_")]
    assert names == [f.name for f in structs["Record"].fields]
    assert names == ["c", "d", "s", "tag", "flag", "arr", "h", "v", "p", "inner", "secret"]
    lty = ctx.get_data_type(S["Record"]._numba_type)
    for f in structs["Record"].fields:
        assert lty.get_element_offset(td, record._fields.index(f.name)) == f.offset, f.name
    assert ctx.data_model_manager[S["Pixel"]._numba_type]._fields == ("_bits",)


def test_public_fields_are_attributes(S):
    numba_cuda_only(S)
    Record = S["Record"]
    nbty = Record._numba_type
    assert isinstance(S["Pixel"]._numba_type, types.Number)
    assert S["Record"].Inner.cxx_name == "geo::Record::Inner" and S["Record"].Inner.__name__ == "Record_Inner"
    fields = {name: ty for name, ty, _offset, public in nbty._nbst_fields if public}
    assert fields["arr"] == types.UniTuple(types.float32, 3)
    assert fields["h"] == types.float16 and fields["p"] == types.CPointer(types.int32)
    assert fields["v"] is S["Vec2"]._numba_type and fields["inner"] is Record.Inner._numba_type
    assert "secret" not in fields

    def private(out):
        out[0] = Record(1).secret

    with pytest.raises((CoreTypingError, CudaTypingError), match="Unknown attribute 'secret'"):
        link_kernel(private, (types.int32[:],), ARCH)


def test_static_member_functions_are_class_attributes(S):
    Vec2 = S["Vec2"]
    assert Vec2.dot.__name__ == "Vec2.dot" and Vec2.diagonal.__name__ == "Vec2.diagonal"
    assert len(Vec2.dot._template.cases) == 2  # both overloads on one callable
    with pytest.raises(TypeError, match="inside a CUDA kernel"):
        Vec2.dot(1.0, 2.0)
    bound = {b.name: b.py_name for b in S["backend"].api.binding_report().bound if b.kind == "static method"}
    assert bound["geo::Vec2::dot"] == "Vec2.dot" and bound["geo::Vec2::diagonal"] == "Vec2.diagonal", bound


def test_struct_kernels_link(S):
    S["backend"].link_case(struct_cases(S)["structs"], S["writer"])


def test_struct_as_dtype_links(S):
    dtype_needs_numba_cuda(S)
    S["backend"].link_case(struct_cases(S)["dtype"], S["writer"])


def test_array_of_struct_keeps_cxx_layout_links(S):
    """A 12-byte, 4-byte aligned struct in local and shared arrays, given to C++ as pointers: on
    numba-cuda-mlir its integer (`i96`) would be 16 bytes apart, so its elements are indexed at
    C++'s offsets (`sizeof` apart) instead."""
    backend = S["backend"]
    case = struct_cases(S)["packed"]
    backend.link_case(case, S["writer"])
    if backend.name == "mlir":  # no element goes through the memref, whose elements are 16 bytes apart
        from numba_cuda_mlir.compiler import compile_mlir

        text = compile_mlir(case.kernel, (backend.types.int32[::1],), optimized=False)
        assert not re.findall(r"memref\.(?:load|store)[^\n]*i96", text)
        # Read and written in 4-byte pieces: one i96 access at 4-byte alignment becomes a misaligned
        # 8-byte access on the GPU (CUDA_ERROR_MISALIGNED_ADDRESS).
        assert re.findall(r"llvm\.load [^\n]*alignment = 4 [^\n]*-> i32", text)
        assert not re.findall(r"llvm\.(?:load|store) [^\n]*i96", text)


def test_array_of_struct_of_two_dimensions_keeps_cxx_layout_links(S):
    """The same in two dimensions (`a[i, j]`, rows given to C++ as pointers)."""
    backend = S["backend"]
    case = struct_cases(S)["packed_2d"]
    backend.link_case(case, S["writer"])
    if backend.name == "mlir":
        from numba_cuda_mlir.compiler import compile_mlir

        text = compile_mlir(case.kernel, (backend.types.int32[::1],), optimized=False)
        assert not re.findall(r"memref\.(?:load|store)[^\n]*i96", text)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("for t in arr:\n        iout[0] += t.a", r"Iteration \(`for x in a`\) of an array of Triple \(12 bytes\)"),
        ("iout[0] = grid[0:1, 1][0].a", r"Indexing by slices in several dimensions of an array of Triple \(12 bytes\)"),
        ("grid[0:1, 0] = Triple(1, 2, 3)", r"Assigning other than an element \(`a\[i\] = v`, `a\[i, j\] = v`\) of an array of Triple"),
    ],
)
def test_mlir_array_of_struct_refuses_what_it_cannot_lay_out(S, body, message):
    """What numba-cuda-mlir would index at its own spacing is a typing error that says so."""
    backend = S["backend"]
    if backend.name != "mlir":
        pytest.skip("numba-cuda's arrays are laid out as C++'s")
    scope = {"cuda": backend.cuda, "Triple": S["Triple"]}
    exec(
        f"def kernel(iout):\n    arr = cuda.local.array(3, Triple)\n    grid = cuda.local.array((2, 2), Triple)\n    {body}\n",
        scope,
    )
    with pytest.raises(Exception, match=message + r".*not supported on numba-cuda-mlir"):
        backend.link(scope["kernel"], (backend.types.int32[::1],), S["writer"])


def test_mlir_array_stride_rule_is_nvptx_data_layout():
    """`_stride_differs` (numba-cuda-mlir's memref element of a bound struct, its integer, is
    further apart than `sizeof`) agrees with LLVM's NVPTX data layout for every size to 64 bytes."""
    pytest.importorskip("numba_cuda_mlir")
    from llvmlite import ir as llvm_ir
    from numbast.mlir import _runtime as mlir_runtime

    td = llvm.create_target_data(_runtime._NVPTX_LAYOUT)
    for size in range(1, 65):
        fake = type("Fake", (), {"_nbst_size": size})()
        assert mlir_runtime._stride_differs(fake) == (llvm_ir.IntType(8 * size).get_abi_size(td) != size), size
    assert [n for n in (3, 4, 6, 8, 12, 16, 24, 32, 48) if mlir_runtime._stride_differs(type("F", (), {"_nbst_size": n})())] == [
        3,
        6,
        12,
        24,
    ]


@pytest.mark.gpu
def test_array_of_struct_keeps_cxx_layout_runs(S):
    S["backend"].run_case(struct_cases(S)["packed"])


@pytest.mark.gpu
def test_array_of_struct_of_two_dimensions_keeps_cxx_layout_runs(S):
    S["backend"].run_case(struct_cases(S)["packed_2d"])


@pytest.mark.gpu
def test_struct_kernels_run(S):
    S["backend"].run_case(struct_cases(S)["structs"])


@pytest.mark.gpu
def test_struct_as_dtype_runs(S):
    dtype_needs_numba_cuda(S)
    S["backend"].run_case(struct_cases(S)["dtype"])


# ----------------------------------------------------------------------------- the demo


def bind_demo(models):
    decls = parse(DEMO)
    writer = MemoryShimWriter(f'#include "{DEMO}"')
    myfloat16 = bind_cxx_struct(writer, decls.structs[0], types.Number, models.PrimitiveModel)
    bind_cxx_function(writer, decls.functions[0])
    hsqrt = bind_cxx_function(writer, decls.functions[1])

    def kernel(arr):
        one = myfloat16(1.0)
        two = myfloat16(2.0)
        three = one + two
        sqrt3 = hsqrt(three)
        arr[0] = types.float64(three)
        arr[1] = types.float64(sqrt3)

    def check(args):
        np.testing.assert_allclose(args[0], [3.0, np.sqrt(3.0)], rtol=1e-2)

    return writer, Case(kernel, lambda: (np.zeros(2),), check)


@pytest.fixture(scope="module")
def demos():
    return {"numba.core": bind_demo(core_models), "numba.cuda": bind_demo(cuda_models)}


@pytest.mark.parametrize("models", ["numba.core", "numba.cuda"])
def test_demo_links_with_either_models_module(demos, models):
    writer, case = demos[models]
    link_case(case, writer)


@pytest.mark.gpu
@pytest.mark.parametrize("models", ["numba.core", "numba.cuda"])
def test_demo_runs_without_link(demos, models):
    run_case(demos[models][1])


# ----------------------------------------------------------------------------- two headers, one name


@pytest.fixture(scope="module")
def two_headers(tmp_path_factory):
    """Two headers in different files that both declare `int f(int)` (static: the C++ allows both
    in one program), each bound through its own MemoryShimWriter."""
    folder = tmp_path_factory.mktemp("two")
    out = []
    for name, body in [("one", "x + 1"), ("two", "x * 10")]:
        path = folder / f"{name}.cuh"
        path.write_text(f"#pragma once\nstatic __device__ int f(int x) {{ return {body}; }}\n")
        writer = MemoryShimWriter(f'#include "{path}"')
        out.append((writer, bind_cxx_function(writer, parse(path).functions[0])))
    (w1, f1), (w2, f2) = out

    def kernel(out):
        out[0] = f1(4)
        out[1] = f2(4)

    def check(args):
        assert args[0].tolist() == [5, 40]

    return dict(writers=(w1, w2), fns=(f1, f2), case=Case(kernel, lambda: (np.zeros(2, np.int32),), check))


def test_shim_names_are_unique_across_headers(two_headers):
    (w1, w2), (f1, f2) = two_headers["writers"], two_headers["fns"]
    assert f1 is not f2 and f1.__name__ == f2.__name__ == "f"
    result = link_case(two_headers["case"], w1)
    (s1,), (s2,) = shims_of(w1), shims_of(w2)
    assert s1 != s2
    assert not result.calls(s1) and not result.calls(s2)


@pytest.mark.gpu
def test_same_name_from_two_headers_runs(two_headers):
    run_case(two_headers["case"])


# ----------------------------------------------------------------------------- nothing skipped silently


def test_every_skip_is_reported_with_its_reason(tmp_path):
    path = tmp_path / "skips.cuh"
    path.write_text(
        """
struct Incomplete;
struct Unbound { int x; };
__device__ int takes_incomplete(Incomplete *p);
__device__ int takes_unbound(Unbound u);
__host__ int host_only(int x);
__global__ void a_kernel(int *x);
__device__ int variadic(int n, ...);
__device__ __int128 wide(__int128 x);
struct Bits { unsigned a : 3; unsigned b : 5; };
union Either { int i; float f; };
struct Calls {
  int v;
  __device__ int operator()(int k) const;
  __device__ int operator[](int i) const;
  __host__ int host_method() const;
  __device__ static Calls make();
  __device__ Calls &operator=(const Calls &other);
};
"""
    )
    decls = parse(path)
    writer = MemoryShimWriter(f'#include "{path}"')
    with pytest.warns(NumbastSkipWarning, match=r"^numbast: 6 declaration\(s\) not bound"):
        bind_cxx_functions(writer, decls.functions)
    structs = by_name(decls.structs)
    with pytest.warns(NumbastSkipWarning, match=r"^numbast: 2 declaration\(s\) not bound"):
        bits, either, calls = bind_cxx_structs(writer, [structs["Bits"], structs["Either"], structs["Calls"]])
    assert bits is not None and either is not None and calls is not None  # the first two opaque
    notes = {b.name: b.note for b in numbast.binding_report().bound if b.kind == "struct"}
    assert notes["Bits"] == "opaque: field `a` is a bit-field or has no known offset"
    assert notes["Either"] == "opaque: field `f` overlaps field `i` (a union or anonymous union member)"

    reasons = {s.name: s.reason for s in skips_in(path)}
    assert reasons == {
        "takes_incomplete": "parameter `p`: unknown type `Incomplete`",
        "takes_unbound": "parameter `u`: unknown type `Unbound`",
        "host_only": "host-only function",
        "a_kernel": "a __global__ kernel, not a device function",
        "variadic": "variadic function",
        "wide": "parameter `x`: unsupported integer type `__int128`",
        "Calls::host_method": "host-only member function",
        "Calls::operator=": "assignment operator: Numba values are immutable",
    }
    assert all(":" in s.location for s in skips_in(path))
    assert calls.make.__name__ == "Calls.make"  # a static member function is bound
    # The call operator is bound: `c(k)` in a kernel, through `__call__`.
    assert "__call__" in calls._methods
    # `operator[]` is `c[i]` (read), through `operator.getitem`.
    assert any(b.name == "Calls::operator[]" for b in numbast.binding_report().bound)
