"""Non-const lvalue reference parameters (tests/headers/ref_params.cuh), on both backends (the
`backend` fixture): a value argument passes a copy, as before; a pointer, an array or a slice in
its place binds the reference to the caller's storage (the first element), for free functions,
methods and constructors (`_typing._ref_forms`), so that `add_to(buf[i:], x)` and a
`cuda::atomic_ref`-like `Tracker(out[i:])` change the array. The kernels over constants are checked
in the linked PTX (what they store is folded to constants); GPU tests (`gpu` marker) check values,
the atomic one with every thread adding into one element.
"""

from __future__ import annotations

import types as pytypes
import warnings
from pathlib import Path

import numpy as np
import pytest
from _helpers import stored_constants
from ast_canopy import parse_declarations_from_source

ARCH = "sm_80"
HEADER = Path(__file__).resolve().parent / "headers" / "ref_params.cuh"


@pytest.fixture(scope="module")
def lib(backend):
    decls = parse_declarations_from_source(str(HEADER), [str(HEADER)], ARCH)
    writer = backend.api.MemoryShimWriter(f'#include "{HEADER}"')
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        structs = backend.api.bind_cxx_structs(writer, decls.structs, None, None)
        functions = backend.api.bind_cxx_functions(writer, decls.functions)
    return pytypes.SimpleNamespace(writer=writer, **{o.__name__: o for o in [*structs, *functions]})


def constants_kernel(backend, lib):
    cuda, int32, float32 = backend.cuda, backend.types.int32, backend.types.float32
    add_to, swap_ints, read_twice, Scale = lib.add_to, lib.swap_ints, lib.read_twice, lib.Scale

    def kernel(out):
        buf = cuda.local.array(4, int32)
        buf[0] = 1
        buf[1] = 2
        buf[2] = 3
        add_to(buf, 5)  # an array: its first element
        add_to(buf[2:], 10)  # a slice
        out[0] = buf[0]
        out[1] = buf[2]
        swap_ints(buf, buf[1:])
        out[2] = buf[0] * 10 + buf[1]
        out[3] = read_twice(buf[2])  # a const reference takes the value
        f = cuda.local.array(1, float32)
        f[0] = 1.5
        Scale(4).apply(f)  # a method's reference parameter
        out[4] = int32(f[0])

    return kernel


CONSTANTS = [6, 13, 26, 26, 6]


def test_references_name_the_array_element_in_the_linked_ptx(backend, lib):
    ptx = backend.linked_ptx(constants_kernel(backend, lib), (backend.types.int32[::1],))
    assert stored_constants(ptx) == CONSTANTS


def test_a_value_argument_still_fits(backend, lib):
    """A value (here an array element, read) still binds: the reference gets a copy."""
    add_to = lib.add_to

    def kernel(out):
        add_to(out[0], 1)

    backend.link(kernel, (backend.types.int32[::1],), lib.writer)


def test_a_pointer_of_another_type_is_refused(backend, lib):
    add_to = lib.add_to

    def kernel(out):
        add_to(out, 1)

    with pytest.raises(Exception, match=r"add_to"):
        backend.link(kernel, (backend.types.float32[::1],), lib.writer)


def atomic_kernel(lib):
    Tracker = lib.Tracker

    def kernel(out):
        t = Tracker(out[1:])  # the constructor keeps the element's address
        t.add(1)

    return kernel


def test_constructor_reference_links_to_a_global_atomic(backend, lib):
    backend.link(atomic_kernel(lib), (backend.types.int32[::1],), lib.writer)
    if backend.name != "mlir":
        from numbast.testing import link_kernel

        ptx = link_kernel(atomic_kernel(lib), (backend.types.int32[::1],), ARCH).ptx
        assert any(line.strip().startswith(("atom.global.add", "red.global.add")) for line in ptx.splitlines())


@pytest.mark.gpu
def test_values_on_gpu(backend, lib):
    backend.gpu()
    out = np.zeros(len(CONSTANTS), np.int32)
    backend.cuda.jit(backend.kernel(constants_kernel(backend, lib)))[1, 1](out)
    assert out.tolist() == CONSTANTS
    out = np.zeros(2, np.int32)
    backend.cuda.jit(backend.kernel(atomic_kernel(lib)))[8, 128](out)
    assert out.tolist() == [0, 8 * 128]
