"""Non-const methods change the variable they are called on (tests/headers/mutating_methods.cuh),
on both backends (the `backend` fixture), in dynamic and static modes.

A method's shim gets a pointer to a copy of its receiver; a call of a non-const method on a
variable writes that copy back into the variable (`_typing._register_writeback_rewrite`). The
kernels compute from constants only, so after link-time optimization their PTX stores the values
they compute as constants: a change that was lost would store the value before it. GPU tests
(`gpu` marker) check the values of the same kernels and of one whose loop runs a launch-time
count.
"""

from __future__ import annotations

import types as pytypes
import warnings
from pathlib import Path

import numpy as np
import pytest
from _helpers import generate_static_module, stored_constants
from ast_canopy import parse_declarations_from_source

ARCH = "sm_80"
HEADER = Path(__file__).resolve().parent / "headers" / "mutating_methods.cuh"


def bind(backend):
    """The header's structs and `Accumulator<int>`, bound dynamically with the backend's API."""
    decls = parse_declarations_from_source(str(HEADER), [str(HEADER)], ARCH)
    writer = backend.api.MemoryShimWriter(f'#include "{HEADER}"')
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        structs = backend.api.bind_cxx_structs(writer, decls.structs, None, None)
        (accumulator,) = backend.api.bind_cxx_class_templates(decls.class_templates, None, writer)
    ns = {s.__name__: s for s in structs}
    return pytypes.SimpleNamespace(writer=writer, Accumulator=accumulator[np.int32], **ns)


@pytest.fixture(scope="module")
def lib(backend):
    return bind(backend)


def constants_kernel(backend, lib):
    """A kernel over constants: every value it stores is known at link time."""
    cuda, int32 = backend.cuda, backend.types.int32
    Counter, Tally, Stepper, Acc = lib.Counter, lib.Tally, lib.Stepper, lib.Accumulator

    def kernel(out):
        c = Counter(1)
        c.add(5)
        out[0] = c.get()
        out[1] = c.bump()
        out[2] = c.get()
        d = Counter(0)
        for i in range(4):  # the variable changes in a loop and in a branch
            d.add(i)
            if i % 2 == 0:
                d.add(10)
        out[3] = d.get()
        a = Acc()  # a class template's method
        a.add(7)
        a.add(8)
        out[4] = a.sum() * 10 + a.size()
        t = Tally()  # a member function template of a struct
        t.count(1.5)
        t.count(2)
        out[5] = t.get()
        src = cuda.local.array(1, int32)
        src[0] = 42
        e = Counter(0)
        e.load(src)  # a pointer parameter given an array
        out[6] = e.get()
        out[7] = Counter(3).bump()  # a temporary: changed, then gone
        f = c  # a copy: changing `c` leaves it
        c.add(100)
        out[8] = f.get() * 1000 + c.get()
        s = Stepper()  # a call operator
        s(3)
        out[9] = s(4) * 100 + s.get()

    return kernel


CONSTANTS = [6, 7, 7, 26, 152, 2, 42, 4, 7107, 707]


def test_changes_are_seen_in_the_linked_ptx(backend, lib):
    kernel = constants_kernel(backend, lib)
    ptx = backend.linked_ptx(kernel, (backend.types.int32[::1],))
    assert stored_constants(ptx) == CONSTANTS


def test_call_in_another_block_than_its_method():
    """`g.add(10 if i == 0 else 1)` takes `g.add` in one block and calls it in another (through
    a variable that joins the branches). numba-cuda only: numba-cuda-mlir does not carry a
    method value from one block to another (with or without the write-back)."""
    from _backends import Backend

    backend = Backend("numba-cuda")
    Counter = bind(backend).Counter

    def kernel(out):
        g = Counter(0)
        for i in range(2):
            g.add(10 if i == 0 else 1)
        out[0] = g.get()

    assert stored_constants(backend.linked_ptx(kernel, (backend.types.int32[::1],))) == [11]


def test_only_non_const_methods_on_variables_write_back():
    """Which calls the rewrite changed (numba-cuda's typed IR; the typing is both backends'):
    `add` and `peek` (the non-const one of its two overloads) on a variable; not `get` (const),
    nor `bump` on a temporary."""
    from _backends import Backend
    from numba.cuda import types
    from numba.cuda.compiler import compile_cuda

    backend = Backend("numba-cuda")
    lib = bind(backend)
    Counter = lib.Counter

    def kernel(out):
        c = Counter(1)
        c.add(2)
        out[0] = c.get() + Counter(5).bump() + c.peek()

    cres = compile_cuda(kernel, types.void, (types.int32[::1],), cc=(8, 0))
    variants = [ty for name, ty in cres.fndesc.typemap.items() if name.startswith("$nbst_wb_method")]
    assert sorted(ty.typing_key[1] for ty in variants) == ["add", "peek"]
    assert all(ty.typing_key[2] == "&" for ty in variants)


def test_const_overload_is_not_a_write_back():
    """Of `int peek() const` and `int peek()`, the non-const one writes back; a struct whose
    methods are all const has no write-back variant."""
    from _backends import Backend

    lib = bind(Backend("numba-cuda"))
    peek = lib.Counter._methods["peek"]
    assert [peek.writeback.get(k) is not None for k in range(len(peek.cases))] == [False, True]
    assert lib.Counter._methods["get"].writeback == {}


def counting_kernel(backend, lib):
    """A loop whose count comes at launch time, on a struct and a class template instance."""
    Counter, Acc = lib.Counter, lib.Accumulator

    def kernel(out, n):
        d = Counter(0)
        a = Acc()
        for i in range(n):
            d.add(i)
            if i % 3 == 0:
                a.add(i)
        out[0] = d.get()
        out[1] = a.sum()
        out[2] = a.size()

    return kernel


def expected_counts(n):
    picked = [i for i in range(n) if i % 3 == 0]
    return [sum(range(n)), sum(picked), len(picked)]


def test_counting_kernel_links(backend, lib):
    backend.link(counting_kernel(backend, lib), (backend.types.int32[::1], backend.types.int32), lib.writer)


@pytest.mark.gpu
def test_values_on_gpu(backend, lib):
    backend.gpu()
    out = np.zeros(len(CONSTANTS), np.int32)
    backend.cuda.jit(constants_kernel(backend, lib))[1, 1](out)
    assert out.tolist() == CONSTANTS
    out = np.zeros(3, np.int32)
    backend.cuda.jit(counting_kernel(backend, lib))[1, 1](out, np.int32(10))
    assert out.tolist() == expected_counts(10)


# ----------------------------------------------------------------------------- static modules


@pytest.fixture(scope="module")
def static_lib(backend, tmp_path_factory):
    """The header as a static module for the backend (`MLIR Backend: true` for numba-cuda-mlir)."""
    module = generate_static_module(tmp_path_factory.mktemp("mutating_static"), HEADER, "mutating_lib", backend=backend)
    names = {n: getattr(module, n) for n in ("Counter", "Tally", "Stepper")}
    return pytypes.SimpleNamespace(Accumulator=module.Accumulator[np.int32], **names)


def test_static_module_changes_are_seen(backend, static_lib):
    kernel = constants_kernel(backend, static_lib)
    ptx = backend.linked_ptx(kernel, (backend.types.int32[::1],))
    assert stored_constants(ptx) == CONSTANTS


@pytest.mark.gpu
def test_static_module_values_on_gpu(backend, static_lib):
    backend.gpu()
    out = np.zeros(3, np.int32)
    backend.cuda.jit(counting_kernel(backend, static_lib))[1, 1](out, np.int32(7))
    assert out.tolist() == expected_counts(7)
