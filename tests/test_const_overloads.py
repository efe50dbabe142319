"""Members overloaded on `const`, in structs and class templates alike, on both backends.

- A call picks the overload C++ picks for a non-const object (a kernel's variable): the non-const
  one, where both take the same arguments. Before, a class template's call was refused as
  ambiguous.
- A `const` member's shim calls it through a `const` object, so C++ resolves the call in the shim
  as the binding did. Through a non-const object, `int get(int) const` beside `bool get(double)`
  is ambiguous in C++ (the object's conversion against the argument's), and NVRTC refused the
  unit.

The kernels compute from constants only: after link-time optimization their PTX stores the
values (`stored_constants`), so each value shows which overload ran.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from _helpers import stored_constants
from ast_canopy import parse_declarations_from_source

HEADER = """#pragma once
struct Plain {
  int v;
  __device__ Plain() : v(3) {}
  __device__ bool peek(int i) { return i == 7; }
  __device__ Plain peek(int i) const { Plain c; c.v = v + i; return c; }
  __device__ int get(int i) const { return v + i; }
  __device__ bool get(double d) { return d > 0; }
};
template <class T>
struct Cell {
  T v;
  __device__ Cell() : v(3) {}
  __device__ bool peek(int i) { return i == 7; }
  __device__ Cell peek(int i) const { Cell c; c.v = v + T(i); return c; }
  __device__ T get(T i) const { return v + i; }
  __device__ bool get(double d) { return d > 0; }
};
"""


@pytest.fixture(scope="module")
def header(tmp_path_factory):
    path = tmp_path_factory.mktemp("const_overloads") / "const_overloads.cuh"
    path.write_text(HEADER)
    return path


def test_const_overloads_call_what_cxx_calls(backend, header):
    decls = parse_declarations_from_source(str(header), [str(header)], "sm_80")
    writer = backend.api.MemoryShimWriter(f'#include "{header}"')
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        (Plain,) = backend.api.bind_cxx_structs(writer, decls.structs, None, None)
        (cell,) = backend.api.bind_cxx_class_templates(decls.class_templates, None, writer)
    Cell = cell[np.int32]

    def kernel(out):
        p = Plain()
        out[0] = p.peek(7)  # bool peek(int): 1
        out[1] = p.peek(2)  # 0
        out[2] = p.get(np.int32(4))  # int get(int) const: 7
        c = Cell()
        out[3] = c.peek(7)
        out[4] = c.peek(2)
        out[5] = c.get(np.int32(4))

    ptx = backend.linked_ptx(kernel, (backend.types.int32[::1],))
    assert stored_constants(ptx) == [1, 0, 7, 1, 0, 7]
