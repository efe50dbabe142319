"""Tests of the runtime contract (`python/numbast/_runtime.py`) with hand-written shims.

Kernels are compiled and linked (NVRTC + nvJitLink) on the CPU; the `gpu` test also launches them.
"""

import importlib.util
import operator
import pathlib
import sys
import types as pytypes

import numpy as np
import pytest
from llvmlite import binding as llvm
from numba import cuda
from numba.cuda import types
from numba.cuda.core.imputils import Registry as TargetRegistry
from numba.cuda.cudadrv.linkable_code import CUSource
from numba.cuda.descriptor import cuda_target
from numba.cuda.typing.templates import Registry as TypingRegistry

sys.path.insert(0, str(pathlib.Path(__file__).parent))
from numbast.testing import link_kernel

# Load the runtime by path: it is self-contained, and the package around it may not be built.
_spec = importlib.util.spec_from_file_location(
    "numbast_runtime_under_test",
    pathlib.Path(__file__).parents[1] / "python" / "numbast" / "_runtime.py",
)
rt = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(rt)

HEADER = r"""
#pragma once
#include <cuda_fp16.h>

struct __myfloat16 {
  half x;
  __device__ __myfloat16() : x(__float2half(0.0f)) {}
  __device__ __myfloat16(double v) : x(__double2half(v)) {}
  __device__ operator double() const { return static_cast<double>(__half2float(x)); }
};
// Not inline: defined once per translation unit, so the unit must be linked once.
__device__ __myfloat16 operator+(const __myfloat16 &a, const __myfloat16 &b) {
  return __myfloat16(static_cast<double>(a) + static_cast<double>(b));
}
__device__ __myfloat16 hsqrt(const __myfloat16 a) { return __myfloat16(sqrt(static_cast<double>(a))); }

namespace lib {
__device__ float scale(float a, float b) { return a * b; }
__device__ int divmod(int a, int b, int &rem) { rem = a % b; return a / b; }
__device__ void polar(float r, float &s, float &c) { s = r * 0.5f; c = r * 2.0f; }
enum class Mode : unsigned char { Fast = 1, Exact = 7 };
__device__ int mode_value(Mode m) { return m == Mode::Fast ? 10 : 20; }
__device__ Mode flip(Mode m) { return m == Mode::Fast ? Mode::Exact : Mode::Fast; }
struct Vec2 {
  float x, y;
  __device__ Vec2(float x_, float y_) : x(x_), y(y_) {}
  __device__ float dot(const Vec2 &o) const { return x * o.x + y * o.y; }
  __device__ void scale_by(float s) { x *= s; y *= s; }
};
__device__ Vec2 &operator+=(Vec2 &a, const Vec2 &b) { a.x += b.x; a.y += b.y; return a; }
__device__ Vec2 operator-(const Vec2 &a) { return Vec2(-a.x, -a.y); }
__device__ bool operator==(const Vec2 &a, const Vec2 &b) { return a.x == b.x && a.y == b.y; }
struct alignas(16) Padded {
  float a; double b; char c;
  __device__ Padded(float a_, double b_, char c_) : a(a_), b(b_), c(c_) {}
};
__device__ double padded_sum(Padded p) { return p.a + p.b + p.c; }
}
"""


def shim(name, ret, params, call, self_type=None):
    """A shim following docs/ARCHITECTURE.md: result pointer, then (self and) parameter pointers."""
    args = ([f"{ret} *ret"] if ret else []) + ([f"{self_type} *self"] if self_type else [])
    args += [f"{p} *a{i}" for i, p in enumerate(params)]
    body = f"::new (static_cast<void *>(ret)) {ret}({call});" if ret else f"{call};"
    return name, f'extern "C" __device__ void {name}({", ".join(args)})\n{{ {body} }}'


@pytest.fixture(scope="module")
def L(tmp_path_factory):
    """Bindings for HEADER in a separate registry pair, installed into the CUDA target."""
    header = tmp_path_factory.mktemp("hdr") / "lib.cuh"
    header.write_text(HEADER)
    unit = rt.ShimUnit(f'#include "{header}"', "lib_shims")
    b = rt.Bindings(TypingRegistry(), TargetRegistry())
    b.install()
    f32, f64, i32 = types.float32, types.float64, types.int32

    h = b.struct(cxx_name="__myfloat16", py_name="myfloat16", size=2, align=2, parent=types.Number)
    H = h._numba_type
    ns = "__myfloat16"
    s, c = shim("nb_h_ctor0", ns, [], "")
    b.constructor(h, unit=unit, shim=s, src=c, params=[])
    s, c = shim("nb_h_ctor_d", ns, ["double"], "*a0")
    b.constructor(h, unit=unit, shim=s, src=c, params=[(f64, "in")], implicit=True)
    s, c = shim("nb_h_to_d", "double", [], "static_cast<double>(*self)", self_type=ns)
    b.conversion(h, unit=unit, shim=s, src=c, to=f64)
    s, c = shim("nb_h_add", ns, [ns, ns], "::operator+(*a0, *a1)")
    b.operator(unit=unit, op=operator.add, shim=s, src=c, ret=H, params=[(H, "in"), (H, "in")])
    s, c = shim("nb_hsqrt", ns, [ns], "::hsqrt(*a0)")
    hsqrt = b.function(unit=unit, py_name="hsqrt", shim=s, src=c, ret=H, params=[(H, "in")])

    s, c = shim("nb_scale", "float", ["float", "float"], "::lib::scale(*a0, *a1)")
    scale = b.function(unit=unit, py_name="scale", shim=s, src=c, ret=f32, params=[(f32, "in"), (f32, "in")])
    s, c = shim("nb_divmod", "int", ["int", "int", "int"], "::lib::divmod(*a0, *a1, *a2)")
    divmod_ = b.function(unit=unit, py_name="divmod", shim=s, src=c, ret=i32, params=[(i32, "in"), (i32, "in"), (i32, "out")])
    divmod_ptr = b.function(
        unit=unit, py_name="divmod_ptr", shim=s, src=c, ret=i32, params=[(i32, "in"), (i32, "in"), (types.CPointer(i32), "ptr")]
    )
    s, c = shim("nb_polar", None, ["float", "float", "float"], "::lib::polar(*a0, *a1, *a2)")
    polar = b.function(unit=unit, py_name="polar", shim=s, src=c, ret=None, params=[(f32, "in"), (f32, "out"), (f32, "out")])

    Mode = b.enum(cxx_name="lib::Mode", py_name="Mode", members=[("Fast", 1), ("Exact", 7)], underlying=types.uint8)
    M = b.types["lib::Mode"]
    s, c = shim("nb_mode_value", "int", ["lib::Mode"], "::lib::mode_value(*a0)")
    mode_value = b.function(unit=unit, py_name="mode_value", shim=s, src=c, ret=i32, params=[(M, "in")])
    s, c = shim("nb_flip", "lib::Mode", ["lib::Mode"], "::lib::flip(*a0)")
    flip = b.function(unit=unit, py_name="flip", shim=s, src=c, ret=M, params=[(M, "in")])

    v = b.struct(cxx_name="lib::Vec2", py_name="Vec2", size=8, align=4, model="struct", fields=[("x", f32, 0, True), ("y", f32, 4, True)])
    V, vn = v._numba_type, "lib::Vec2"
    s, c = shim("nb_vec_ctor", vn, ["float", "float"], "*a0, *a1")
    b.constructor(v, unit=unit, shim=s, src=c, params=[(f32, "in"), (f32, "in")])
    s, c = shim("nb_vec_dot", "float", [vn], "self->dot(*a0)", self_type=vn)
    b.method(v, unit=unit, name="dot", shim=s, src=c, ret=f32, params=[(V, "in")])
    s, c = shim("nb_vec_scale_by", None, ["float"], "self->scale_by(*a0)", self_type=vn)
    b.method(v, unit=unit, name="scale_by", shim=s, src=c, ret=None, params=[(f32, "in")])
    s, c = shim("nb_vec_iadd", None, [vn, vn], "::lib::operator+=(*a0, *a1)")
    b.operator(unit=unit, op=operator.iadd, shim=s, src=c, ret=None, params=[(V, "in"), (V, "in")])
    s, c = shim("nb_vec_neg", vn, [vn], "::lib::operator-(*a0)")
    b.operator(unit=unit, op=operator.neg, shim=s, src=c, ret=V, params=[(V, "in")])
    s, c = shim("nb_vec_eq", "bool", [vn, vn], "::lib::operator==(*a0, *a1)")
    b.operator(unit=unit, op=operator.eq, shim=s, src=c, ret=types.boolean, params=[(V, "in"), (V, "in")])

    p = b.struct(
        cxx_name="lib::Padded",
        py_name="Padded",
        size=32,
        align=16,
        model="struct",
        fields=[("a", f32, 0, True), ("b", f64, 8, True), ("c", types.int8, 16, False)],
    )
    P, pn = p._numba_type, "lib::Padded"
    s, c = shim("nb_padded_ctor", pn, ["float", "double", "char"], "*a0, *a1, *a2")
    b.constructor(p, unit=unit, shim=s, src=c, params=[(f32, "in"), (f64, "in"), (types.int8, "in")])
    s, c = shim("nb_padded_sum", "double", [pn], "::lib::padded_sum(*a0)")
    padded_sum = b.function(unit=unit, py_name="padded_sum", shim=s, src=c, ret=f64, params=[(P, "in")])
    return pytypes.SimpleNamespace(**locals())


# ----------------------------------------------------------------------------- kernels


def make_kernels(L):
    """The kernels the tests link (and the gpu test runs), with their argument types."""
    h, hsqrt, scale, divmod_, divmod_ptr, polar = L.h, L.hsqrt, L.scale, L.divmod_, L.divmod_ptr, L.polar
    Mode, mode_value, flip, Vec2, Padded, padded_sum = L.Mode, L.mode_value, L.flip, L.v, L.p, L.padded_sum
    float64, float32 = types.float64, types.float32

    def k_half(out):
        a = h(1.5) + h(2.5)  # ctor from double, operator+
        out[0] = float64(hsqrt(a))  # conversion operator
        out[1] = float64(h())  # default constructor
        out[2] = float64(hsqrt(6.25))  # implicit conversion float64 -> myfloat16
        arr = cuda.local.array(4, h)  # the struct object as a dtype
        arr[1] = h(0.5) + 2  # implicit conversion from an int literal
        out[3] = float32(arr[1])  # conversion to float64, then float32

    def k_scale(out, x):
        out[0] = scale(x[0], x[1])

    def k_outs(iout, fout):
        q, r = divmod_(17, 5)
        iout[0], iout[1] = q, r
        s, c = polar(4.0)
        fout[0], fout[1] = s, c

    def k_ptr(out, rem):
        out[0] = divmod_ptr(17, 5, rem)

    def k_enum(out, m):
        out[0] = mode_value(Mode.Fast)
        out[1] = mode_value(m)
        out[2] = flip(m) == Mode.Fast
        out[3] = mode_value(flip(Mode.Fast))

    def k_vec(out, bout):
        v = Vec2(1.0, 2.0)
        w = Vec2(3.0, 4.0)
        out[0] = v.dot(w)
        v.scale_by(10.0)  # mutates a copy: v is unchanged
        v += w
        out[1], out[2] = v.x, v.y
        n = -v
        out[3] = n.x
        bout[0] = v == v
        bout[1] = v == w

    def k_padded(out):
        out[0] = padded_sum(Padded(1.5, 2.25, 3))
        p = Padded(0.5, 8.0, 1)
        out[1] = p.a + p.b

    return {
        "half": (k_half, (float64[:],)),
        "scale": (k_scale, (float32[:], float32[:])),
        "outs": (k_outs, (types.int32[:], float32[:])),
        "ptr": (k_ptr, (types.int32[:], types.CPointer(types.int32))),
        "enum": (k_enum, (types.int32[:], L.M)),
        "vec": (k_vec, (float32[:], types.boolean[:])),
        "padded": (k_padded, (float64[:],)),
    }


ALL_SHIMS = [
    "nb_h_ctor0",
    "nb_h_ctor_d",
    "nb_h_to_d",
    "nb_h_add",
    "nb_hsqrt",
    "nb_scale",
    "nb_divmod",
    "nb_polar",
    "nb_mode_value",
    "nb_flip",
    "nb_vec_ctor",
    "nb_vec_dot",
    "nb_vec_scale_by",
    "nb_vec_iadd",
    "nb_vec_neg",
    "nb_vec_eq",
    "nb_padded_ctor",
    "nb_padded_sum",
]


@pytest.mark.parametrize("name", ["half", "scale", "outs", "ptr", "enum", "vec", "padded"])
def test_kernel_links_to_cubin(L, name):
    kernel, sig = make_kernels(L)[name]
    result = link_kernel(kernel, sig)
    assert result.cubin[:4] == b"\x7fELF"
    assert ".entry" in result.ptx
    # After LTO every shim (and the C++ it calls) is inlined into the kernel.
    assert [s for s in ALL_SHIMS if result.calls(s)] == []


def test_simple_function_is_inlined(L):
    kernel, sig = make_kernels(L)["scale"]
    result = link_kernel(kernel, sig)
    assert "nb_scale" in L.unit.source()
    assert not result.calls("nb_scale")
    assert "mul.f32" in result.ptx or "mul.rn.f32" in result.ptx


def test_calls_detects_a_call():
    from numbast.testing import LinkResult

    ptx = "\tcall.uni (retval0), \n\tnb_scale, \n\t(\n\tparam0\n\t);"
    assert LinkResult(cubin=b"", ptx=ptx, objects=[]).calls("nb_scale")
    assert not LinkResult(cubin=b"", ptx=ptx, objects=[]).calls("nb_sca")


# ----------------------------------------------------------------------------- runtime pieces


def test_shim_unit_is_one_deduplicated_source():
    unit = rt.ShimUnit("#include <cuda_fp16.h>", "u")
    code = unit.links()[0]
    assert isinstance(code, CUSource) and unit.links() == [code] and code.name == "u"
    unit.add("f", 'extern "C" __device__ void f() {}')
    unit.add("f", 'extern "C" __device__ void f() {}')
    unit.add("g", 'extern "C" __device__ void g() {}')
    # The text is read at link time: shims added after links() are in it.
    assert code.data.startswith("#include <cuda_fp16.h>")
    assert code.data.count("void f()") == 1 and "void g()" in code.data
    # A kernel's code library keeps linking files in a set: `link=unit.links()` plus the unit
    # added by lowering is one file.
    library = cuda_target.target_context.codegen().create_library("dedupe")
    for item in unit.links() + [unit.code] + unit.links():
        library.add_linking_file(item)
    assert list(library._linking_files) == [code]


def test_types_and_callables(L):
    assert L.b.types["__myfloat16"] is L.H
    assert L.b.types["lib::Vec2"] is L.V and L.b.types["lib::Mode"] == L.M
    assert isinstance(L.H, types.Number) and L.H.name == "myfloat16"
    assert L.scale.__name__ == "scale" and L.h.__name__ == "myfloat16"
    assert L.h[:] == types.Array(L.H, 1, "A")
    assert isinstance(L.M, types.IntEnumMember) and L.Mode.Exact == 7
    with pytest.raises(TypeError):
        L.scale(1.0, 2.0)
    # Overloads of one name accumulate on one object.
    s, c = shim("nb_scale_d", "double", ["double", "double"], "*a0 * *a1")
    again = L.b.function(
        unit=L.unit, py_name="scale", shim=s, src=c, ret=types.float64, params=[(types.float64, "in"), (types.float64, "in")]
    )
    assert again is L.scale and len(L.scale._template.cases) == 2


def test_data_models_match_cxx_layout(L):
    ctx = cuda_target.target_context
    td = llvm.create_target_data(rt._NVPTX_LAYOUT)
    for ty, size, align in [(L.H, 2, 2), (L.V, 8, 4), (L.P, 32, 16)]:
        lty = ctx.get_data_type(ty)
        assert (lty.get_abi_size(td), lty.get_abi_alignment(td)) == (size, align), ty
    for size, align in [(6, 2), (12, 4), (16, 16), (1, 1)]:
        opaque = L.b.struct(cxx_name=f"opaque{size}", py_name=f"opaque{size}", size=size, align=align)
        lty = ctx.get_data_type(opaque._numba_type)
        assert (lty.get_abi_size(td), lty.get_abi_alignment(td)) == (size, align)
    with pytest.raises(ValueError):
        L.b.struct(cxx_name="bad", py_name="bad", size=6, align=4)


def test_bad_parameter_mode(L):
    with pytest.raises(ValueError):
        L.b.function(unit=L.unit, py_name="nope", shim="x", src="", ret=None, params=[(types.int32, "inout")])
    with pytest.raises(TypeError):
        L.b.function(unit=L.unit, py_name="nope", shim="x", src="", ret=None, params=[(types.int32, "ptr")])


def test_separate_registries_need_install(tmp_path):
    header = tmp_path / "one.cuh"
    header.write_text("struct One { int v; };\n__device__ One operator-(const One &a) { One r; r.v = -a.v; return r; }\n")
    unit = rt.ShimUnit(f'#include "{header}"', "one")
    b = rt.Bindings(TypingRegistry(), TargetRegistry())
    one = b.struct(cxx_name="One", py_name="One", size=4, align=4, model="struct", fields=[("v", types.int32, 0, True)])
    One = one._numba_type
    s, c = shim("nb_one_ctor", "One", [], "One{}")
    b.constructor(one, unit=unit, shim=s, src=c, params=[])
    s, c = shim("nb_one_neg", "One", ["One"], "-*a0")
    b.operator(unit=unit, op=operator.neg, shim=s, src=c, ret=One, params=[(One, "in")])

    def kernel(out):
        out[0] = (-one()).v

    with pytest.raises(Exception, match="neg"):  # not installed: unknown to the CUDA target
        link_kernel(kernel, (types.int32[:],))
    b.install()
    assert link_kernel(kernel, (types.int32[:],)).cubin[:4] == b"\x7fELF"

    # Registrations made after install() are installed too.
    s, c = shim("nb_one_get", "int", [], "self->v", self_type="One")
    b.method(one, unit=unit, name="get", shim=s, src=c, ret=types.int32, params=[])

    def kernel2(out):
        out[0] = (-one()).get()

    assert not link_kernel(kernel2, (types.int32[:],)).calls("nb_one_get")


def test_default_registries_are_global(tmp_path):
    header = tmp_path / "glob.cuh"
    header.write_text("__device__ int twice(int x) { return 2 * x; }\n")
    unit = rt.ShimUnit(f'#include "{header}"', "glob")
    b = rt.Bindings()
    from numba.cuda import cudadecl, cudaimpl

    assert b.typing_registry is cudadecl.registry and b.target_registry is cudaimpl.registry
    s, c = shim("nb_glob_twice", "int", ["int"], "::twice(*a0)")
    twice = b.function(unit=unit, py_name="twice", shim=s, src=c, ret=types.int32, params=[(types.int32, "in")])

    def kernel(out):
        out[0] = twice(out[0])

    assert not link_kernel(kernel, (types.int32[:],)).calls("nb_glob_twice")


# ----------------------------------------------------------------------------- on a GPU


@pytest.mark.gpu
def test_kernels_run_on_gpu(L):
    if not cuda.is_available():
        pytest.skip("no CUDA GPU")
    kernels = make_kernels(L)

    def run(name, *args, link=()):
        kernel = cuda.jit(link=list(link))(kernels[name][0])
        kernel[1, 1](*args)

    out = np.zeros(4)
    run("half", out, link=L.unit.links())  # link= as well as the automatic link: one unit
    assert out.tolist() == [2.0, 0.0, 2.5, 2.5]

    out = np.zeros(1, np.float32)
    run("scale", out, np.array([3.0, 4.0], np.float32))
    assert out[0] == 12.0

    iout, fout = np.zeros(2, np.int32), np.zeros(2, np.float32)
    run("outs", iout, fout)
    assert iout.tolist() == [3, 2] and fout.tolist() == [2.0, 8.0]

    out = np.zeros(4, np.int32)
    run("enum", out, L.Mode.Exact)
    assert out.tolist() == [10, 20, 1, 20]

    out, bout = np.zeros(4, np.float32), np.zeros(2, np.bool_)
    run("vec", out, bout)
    assert out.tolist() == [11.0, 4.0, 6.0, -4.0] and bout.tolist() == [True, False]

    out = np.zeros(2)
    run("padded", out)
    assert out.tolist() == [6.75, 8.5]

    # A device function's shims reach the kernel through its linked library.
    scale = L.scale

    @cuda.jit(device=True)
    def twice(x):
        return scale(x, 2.0)

    @cuda.jit
    def k_device(out):
        out[0] = twice(out[0]) + scale(out[0], 3.0)

    out = np.array([5.0], np.float32)
    k_device[1, 1](out)
    assert out[0] == 25.0
