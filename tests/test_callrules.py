"""Call rules: pointer parameters take arrays, slices and pointers (`void *` any of them), and calls
may leave out trailing defaulted parameters (a shim per arity). CPU tests link to a cubin; both
backends (the `backend` fixture) run every kernel test."""

import os
import warnings

import ast_canopy
import numpy as np
import pytest
from numba import cuda

HEADER = os.path.join(os.path.dirname(__file__), "headers", "callrules.cuh")


@pytest.fixture(scope="module")
def B(backend):
    api = backend.api
    decls = ast_canopy.parse_declarations_from_source(HEADER, [HEADER], "sm_80")
    writer = api.MemoryShimWriter(f'#include "{HEADER}"')
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        structs = api.bind_cxx_structs(writer, decls.structs)
        functions = api.bind_cxx_functions(writer, decls.functions)
    ns = {s.__name__: s for s in structs if s is not None}
    ns.update({f.__name__: f for f in functions if f is not None})
    ns["writer"] = writer
    return ns


def kernel_of(B):
    fill, sum_, first_byte, widen, Acc = B["fill"], B["sum"], B["first_byte"], B["widen"], B["Acc"]

    @cuda.jit
    def kernel(out, ints):
        fill(out, 1.5)  # device array for `float *`, `n` defaulted
        fill(out[2:], 2.5, 2)  # a slice
        loc = cuda.local.array(4, np.float32)
        fill(loc, 0.5, 4)  # a local array
        out[4] = sum_(loc, 4)  # `const float *`
        out[5] = first_byte(ints)  # `void *` takes an array of anything
        out[6] = widen(ints[0])  # `shift` defaulted
        out[7] = widen(ints[0], 1)
        a = Acc(ints)  # constructor: `const int *`, `n` defaulted
        out[8] = a.add_to(ints)  # method: `int *`, two defaults
        out[9] = a.add_to(ints, 2, 1)

    return kernel


def args():
    return np.zeros(10, np.float32), np.array([3, 4, 5, 6], np.int32)


def test_pointer_and_default_arguments_link(backend, B):
    backend.link(kernel_of(B), tuple(backend.typeof(a) for a in args()), B["writer"])


def test_wrong_pointee_lists_candidates(backend, B):
    fill = B["fill"]

    @cuda.jit
    def kernel(ints):
        fill(ints, 1.0)  # an int array where `float *` is expected

    with pytest.raises(Exception) as e:
        backend.link(kernel, (backend.typeof(np.zeros(4, np.int32)),), B["writer"])
    assert "fill" in str(e.value) and "float32*" in str(e.value)


@pytest.mark.gpu
def test_pointer_and_default_argument_values(backend, B):
    backend.gpu()
    out, ints = args()
    cuda = backend.cuda
    d_out, d_ints = cuda.to_device(out), cuda.to_device(ints)
    cuda.jit(backend.kernel(kernel_of(B)))[1, 1](d_out, d_ints)
    got = d_out.copy_to_host()
    assert got[0] == 1.5 and got[2] == 2.5 and got[3] == 2.5 and got[4] == 2.0
    assert got[5] == 3 and got[6] == 48 and got[7] == 6
    assert got[8] == 7 and got[9] == 15


def test_an_array_bound_is_not_a_default_argument():
    decls = ast_canopy.parse_declarations_from_source(HEADER, [HEADER], "sm_80")
    first_of = next(f for f in decls.functions if f.name == "first_of")
    assert [p.has_default for p in first_of.params] == [False, True]


def test_stdint_spellings_are_kept_and_bound_by_canonical_type(backend, B):
    # The header brings the names in with using-declarations (`using cuda::std::int32_t;`): clang's
    # Using type, which libclang leaves unexposed; the spelling is kept all the same.
    decls = ast_canopy.parse_declarations_from_source(HEADER, [HEADER], "sm_80")
    fns = {f.name: f for f in decls.functions}
    assert [p.type_.name for p in fns["widen"].params] == ["int32_t", "int32_t"]
    assert fns["widen"].return_type.name == "int64_t"
    assert [p.has_default for p in fns["widen"].params] == [False, True]
    fast_sum = B["fast_sum"]

    @cuda.jit
    def kernel(out):
        out[0] = fast_sum(np.int64(3), np.uint16(4))

    backend.link(kernel, (backend.typeof(np.zeros(1, np.uint64)),), B["writer"])
