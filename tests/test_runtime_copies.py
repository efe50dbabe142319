"""Several copies of the runtime in one process (`python/numbast/_runtime.py`).

Static mode pastes the runtime's text into every generated module, and dynamic mode uses
`numbast._runtime`, so one process can hold any number of copies, all registering into numba-cuda's
process-wide typing and target contexts. Here two copies are loaded by path (copy A with a separate
registry pair, installed; copy B into numba-cuda's global registries) next to dynamic mode, and
kernels use the types of each, together with an `@intrinsic` defined here (its lowering must not be
captured by a copy's separate registry) and builtin number casts (they must not be shadowed).

The kernels are linked twice: in this process (after whatever else the test session loaded), and
in a fresh interpreter that installs copy A's registries before anything else touches the CUDA
target, the order in which a separate registry used to swallow the lowering of later intrinsics.
"""

from __future__ import annotations

import importlib.util
import operator
import subprocess
import sys
import tempfile
import types as pytypes
from pathlib import Path

import pytest
from numba.cuda import cgutils, types
from numba.cuda.core.imputils import Registry as TargetRegistry
from numba.cuda.extending import intrinsic
from numba.cuda.typing.templates import Registry as TypingRegistry

RUNTIME = Path(__file__).resolve().parents[1] / "python" / "numbast" / "_runtime.py"
ARCH = "sm_80"

HEADER_A = r"""
#pragma once
struct WrapA {  // bound with parent types.Number, primitive model
  float v;
  __device__ WrapA(double d) : v(static_cast<float>(d)) {}
  __device__ operator double() const { return v * 2.0; }
};
__device__ WrapA operator+(const WrapA &a, const WrapA &b) { return WrapA(double(a.v) + b.v); }
"""

HEADER_B = r"""
#pragma once
namespace b {
enum class Kind : unsigned char { One = 1, Two = 2 };
struct PairB {  // bound with parent types.Type, struct model
  float x, y;
  __device__ PairB(float x_, float y_) : x(x_), y(y_) {}
  __device__ operator double() const { return x * 10.0 + y; }
};
__device__ PairB operator-(const PairB &p) { return PairB(-p.x, -p.y); }
__device__ int kind_value(Kind k) { return k == Kind::One ? 100 : 200; }
}
"""

HEADER_DYN = r"""
#pragma once
struct DynVec {  // bound by dynamic mode, parent types.Type
  float x, y;
  __device__ DynVec(float x_, float y_) : x(x_), y(y_) {}
  __device__ float sum() const { return x + y; }
  __device__ operator double() const { return x * 100.0 + y; }
};
"""


def load_runtime_copy(name):
    """A fresh copy of the runtime, executed from its file as module `name`."""
    spec = importlib.util.spec_from_file_location(name, RUNTIME)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def shim(name, ret, params, call, self_type=None):
    """`(name, source)` of a shim: result pointer, then (self and) one pointer per parameter."""
    args = [f"{ret} *ret"] + ([f"{self_type} *self"] if self_type else [])
    args += [f"{p} *a{i}" for i, p in enumerate(params)]
    return name, (f'extern "C" __device__ void {name}({", ".join(args)})\n{{ ::new (static_cast<void *>(ret)) {ret}({call}); }}')


@intrinsic
def elem_ptr(typingctx, arr, index):
    """`&arr[index]`: an intrinsic typed (and its lowering registered) only when a kernel uses it."""

    def codegen(context, builder, sig, args):
        aryty = sig.args[0]
        ary = context.make_array(aryty)(context, builder, args[0])
        return cgutils.get_item_pointer(context, builder, aryty, ary, [args[1]])

    return types.CPointer(arr.dtype)(arr, index), codegen


@intrinsic
def load_ptr(typingctx, ptr):
    def codegen(context, builder, sig, args):
        return builder.load(args[0])

    return ptr.dtype(ptr), codegen


def bind_copy_a(folder):
    """Copy A, separate registries installed into the CUDA target (before anything compiles)."""
    rt = load_runtime_copy("numbast_runtime_copy_a")
    header = folder / "copy_a.cuh"
    header.write_text(HEADER_A)
    unit = rt.ShimUnit(f'#include "{header}"', "copy_a_shims")
    b = rt.Bindings(TypingRegistry(), TargetRegistry())
    b.install()
    wrap = b.struct(cxx_name="WrapA", py_name="WrapA", size=4, align=4, parent=types.Number)
    W = wrap._numba_type
    s, c = shim("copy_a_ctor", "WrapA", ["double"], "*a0")
    b.constructor(wrap, unit=unit, shim=s, src=c, params=[(types.float64, "in")], implicit=True)
    s, c = shim("copy_a_to_d", "double", [], "static_cast<double>(*self)", self_type="WrapA")
    b.conversion(wrap, unit=unit, shim=s, src=c, to=types.float64)
    s, c = shim("copy_a_add", "WrapA", ["WrapA", "WrapA"], "::operator+(*a0, *a1)")
    b.operator(unit=unit, op=operator.add, shim=s, src=c, ret=W, params=[(W, "in"), (W, "in")])
    return pytypes.SimpleNamespace(rt=rt, b=b, unit=unit, wrap=wrap)


def bind_copy_b(folder):
    """Copy B, into numba-cuda's global registries."""
    rt = load_runtime_copy("numbast_runtime_copy_b")
    header = folder / "copy_b.cuh"
    header.write_text(HEADER_B)
    unit = rt.ShimUnit(f'#include "{header}"', "copy_b_shims")
    b = rt.Bindings()
    f32 = types.float32
    pair = b.struct(
        cxx_name="b::PairB", py_name="PairB", size=8, align=4, model="struct", fields=[("x", f32, 0, True), ("y", f32, 4, True)]
    )
    P = pair._numba_type
    s, c = shim("copy_b_ctor", "b::PairB", ["float", "float"], "*a0, *a1")
    b.constructor(pair, unit=unit, shim=s, src=c, params=[(f32, "in"), (f32, "in")])
    s, c = shim("copy_b_to_d", "double", [], "static_cast<double>(*self)", self_type="b::PairB")
    b.conversion(pair, unit=unit, shim=s, src=c, to=types.float64)
    s, c = shim("copy_b_neg", "b::PairB", ["b::PairB"], "b::operator-(*a0)")
    b.operator(unit=unit, op=operator.neg, shim=s, src=c, ret=P, params=[(P, "in")])
    Kind = b.enum(cxx_name="b::Kind", py_name="Kind", members=[("One", 1), ("Two", 2)], underlying="unsigned char")
    K = b.types["b::Kind"]
    s, c = shim("copy_b_kind_value", "int", ["b::Kind"], "b::kind_value(*a0)")
    kind_value = b.function(unit=unit, py_name="kind_value", shim=s, src=c, ret=types.int32, params=[(K, "in")])
    return pytypes.SimpleNamespace(rt=rt, b=b, unit=unit, pair=pair, Kind=Kind, kind_value=kind_value)


def bind_dynamic(folder):
    """Dynamic mode (`numbast._runtime`, global registries): a struct with `operator double`."""
    from ast_canopy import parse_declarations_from_source
    from numbast import MemoryShimWriter, bind_cxx_struct

    header = folder / "dyn.cuh"
    header.write_text(HEADER_DYN)
    decls = parse_declarations_from_source(str(header), [str(header)], ARCH)
    writer = MemoryShimWriter(f'#include "{header}"')
    (decl,) = [s for s in decls.structs if s.name == "DynVec"]
    vec = bind_cxx_struct(writer, decl, types.Type)
    return pytypes.SimpleNamespace(writer=writer, vec=vec)


def bind_all(folder):
    """Copy A first (it installs its registries into a fresh CUDA target when this process has
    compiled nothing yet), then copy B and dynamic mode."""
    A = bind_copy_a(folder)
    B = bind_copy_b(folder)
    D = bind_dynamic(folder)
    return pytypes.SimpleNamespace(A=A, B=B, D=D)


def make_kernels(S):
    wrap, pair, vec = S.A.wrap, S.B.pair, S.D.vec
    Kind, kind_value = S.B.Kind, S.B.kind_value
    float64, float32 = types.float64, types.float32

    def k_copy_a(out):
        w = wrap(1.25) + wrap(2.0)
        out[0] = float64(w)  # operator double, parent types.Number
        out[1] = float32(wrap(0.5))  # through operator double, then a builtin cast

    def k_copy_b(out, iout):
        p = -pair(1.0, 2.0)
        out[0] = float64(p)  # operator double, parent types.Type
        out[1] = p.x
        iout[0] = kind_value(Kind.Two)

    def k_dynamic(out):
        v = vec(3.0, 4.0)
        out[0] = float64(v)  # operator double, parent types.Type
        out[1] = v.sum()

    def k_intrinsic(iout):
        iout[1] = load_ptr(elem_ptr(iout, 0)) + 1

    def k_mixed(out, iout):
        # Types of every copy in one kernel, with the test's intrinsics and builtin casts.
        out[0] = float64(wrap(1.5)) + float64(pair(1.0, 2.0)) + float64(vec(3.0, 4.0))
        out[1] = float64(iout[0]) + float64(7) + float32(out[0])
        iout[2] = load_ptr(elem_ptr(iout, 1)) + kind_value(Kind.One)

    i32, f64 = types.int32[:], types.float64[:]
    return {
        "copy_a": (k_copy_a, (f64,), ["copy_a_ctor", "copy_a_to_d", "copy_a_add"]),
        "copy_b": (k_copy_b, (f64, i32), ["copy_b_ctor", "copy_b_to_d", "copy_b_neg", "copy_b_kind_value"]),
        "dynamic": (k_dynamic, (f64,), []),
        "intrinsic": (k_intrinsic, (i32,), []),
        "mixed": (k_mixed, (f64, i32), ["copy_a_to_d", "copy_b_to_d", "copy_b_kind_value"]),
    }


KERNELS = ["copy_a", "copy_b", "dynamic", "intrinsic", "mixed"]


def link_and_check(S, name):
    from numbast.testing import link_kernel

    kernel, sig, shims = make_kernels(S)[name]
    result = link_kernel(kernel, sig, ARCH)
    assert result.cubin[:4] == b"\x7fELF"
    assert [s for s in shims if result.calls(s)] == []  # inlined after LTO
    return result


def number_class_templates(registry, n=types.float64):
    """The attribute templates of `registry` keyed by the number class of `n`."""
    return [t for t in registry.attributes if getattr(t, "key", None) == types.NumberClass(n)]


# ----------------------------------------------------------------------------- in this process


@pytest.fixture(scope="module")
def S(tmp_path_factory):
    return bind_all(tmp_path_factory.mktemp("copies"))


@pytest.mark.parametrize("name", KERNELS)
def test_kernels_of_every_copy_link(S, name):
    link_and_check(S, name)


def test_copies_recognise_each_others_types(S):
    ra, rb = S.A.rt, S.B.rt
    W, P = S.A.wrap._numba_type, S.B.pair._numba_type
    D = S.D.vec._numba_type
    K = S.B.b.types["b::Kind"]
    for rt in (ra, rb):
        assert rt._is_struct_type(W) and rt._is_struct_type(P) and rt._is_struct_type(D)
        assert rt._is_bound_type(K) and not rt._is_bound_type(types.float64)
        assert not rt._is_builtin_number(W) and rt._is_builtin_number(types.int16)
        assert rt._enum_storage(K) == types.uint8
    assert type(W).__mro__[1] is not type(P).__mro__[1]  # two different mixin classes


def test_number_class_templates_once_per_registry(S):
    from numba.cuda import cudadecl

    # Copy B and dynamic mode both bound an `operator double` into the global registry.
    assert len(number_class_templates(cudadecl.registry)) == 1
    assert len(number_class_templates(S.A.b.typing_registry)) == 1
    # A later Bindings of another copy, on the same registry, adds none.
    rt = load_runtime_copy("numbast_runtime_copy_c")
    rt.Bindings()._register_number_casts()
    assert len(number_class_templates(cudadecl.registry)) == 1


# ----------------------------------------------------------------------------- in a fresh process


def test_copies_in_a_fresh_process(tmp_path):
    """Copy A installs its separate registries first thing, as a generated module with a
    separate registry might; then every kernel must link."""
    proc = subprocess.run([sys.executable, __file__, str(tmp_path)], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.split() == [f"ok:{name}" for name in KERNELS]


def main(folder):
    S = bind_all(Path(folder))
    for name in KERNELS:
        link_and_check(S, name)
        print(f"ok:{name}", flush=True)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else tempfile.mkdtemp())
