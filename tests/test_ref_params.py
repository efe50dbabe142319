"""Non-const lvalue reference parameters (tests/headers/ref_params.cuh), on both backends (the
`backend` fixture), as C++ passes them:
- a variable (`add_to(acc, 5)`) or an array element (`add_to(buf[1], 7)`) given to a free
  function or a method is changed by the call: the shim works on a copy, which a rewrite after
  typing writes back into the variable or the element (`_typing._register_writeback_rewrite`);
  a value computed in the arguments (`add_to(acc + 1, 9)`) is a temporary, changed and gone;
- a pointer, an array or a slice binds the reference to the caller's storage (its first element),
  for free functions, methods and constructors (`_typing._ref_forms`), so that a constructor that
  keeps the address (`Tracker(out[i:])`, as `cuda::atomic_ref` does) works on the array itself.
The kernels over constants are checked in the linked PTX (what they store is folded to constants);
GPU tests (`gpu` marker) check values, the atomic one with every thread adding into one element.
"""

from __future__ import annotations

import types as pytypes
import warnings
from pathlib import Path

import numpy as np
import pytest
from _helpers import generate_static_module, stored_constants
from ast_canopy import parse_declarations_from_source
from numba import cuda

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
        watch, adder = backend.api.bind_cxx_class_templates(decls.class_templates, None, writer)
        templates = backend.api.bind_cxx_function_templates(function_templates=decls.function_templates, shim_writer=writer)
    names = {o.__name__: o for o in [*structs, *functions, *templates]}
    return pytypes.SimpleNamespace(writer=writer, Adder=adder[np.int32], Watch=watch[np.int32], **names)


def constants_kernel(backend, lib):
    cuda, int32, float32 = backend.cuda, backend.types.int32, backend.types.float32
    add_to, swap_ints, read_twice, Scale, Adder = lib.add_to, lib.swap_ints, lib.read_twice, lib.Scale, lib.Adder
    swap_any = lib.swap_any

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
        acc = 0  # a variable (typed as the literal 0 until it is written back)
        add_to(acc, 5)
        out[5] = acc
        x = int32(3)
        y = int32(4)
        swap_ints(x, y)
        out[6] = x * 10 + y
        add_to(buf[3], 0)
        buf[3] = 2
        add_to(buf[3], 7)  # an array element
        out[7] = buf[3]
        for i in range(4):  # in a loop
            add_to(acc, i)
        out[8] = acc
        v = float32(2.5)
        Scale(2).apply(v)  # a method on a temporary: its reference argument is written back
        out[9] = int32(v)
        add_to(acc + 1, 100)  # a temporary: changed, then gone
        out[10] = acc
        Adder(int32(20)).into(acc)  # a class template's method
        out[11] = acc
        Adder(int32(1)).into(buf)  # given an array: its first element
        out[12] = buf[0]
        p = int32(5)
        q = int32(8)
        swap_any(p, q)  # a function template
        out[13] = p * 10 + q
        swap_any(buf[0], buf[1])  # array elements
        out[14] = buf[0] * 10 + buf[1]

    return kernel


CONSTANTS = [6, 13, 26, 26, 6, 5, 43, 9, 11, 5, 11, 31, 3, 85, 63]


def test_references_change_what_they_name_in_the_linked_ptx(backend, lib):
    ptx = backend.linked_ptx(constants_kernel(backend, lib), (backend.types.int32[::1],))
    assert stored_constants(ptx) == CONSTANTS


def test_only_written_arguments_are_rewritten():
    """Which calls the rewrite changed (numba-cuda's typed IR; the typing is both backends'):
    `add_to` on a variable and on an array element; not `read_twice` (a const reference), nor
    `add_to` of a temporary."""
    from _backends import Backend
    from numba.cuda import types
    from numba.cuda.compiler import compile_cuda

    backend = Backend("numba-cuda")
    decls = parse_declarations_from_source(str(HEADER), [str(HEADER)], ARCH)
    writer = backend.api.MemoryShimWriter(f'#include "{HEADER}"')
    fns = {f.__name__: f for f in backend.api.bind_cxx_functions(writer, decls.functions)}
    add_to, read_twice = fns["add_to"], fns["read_twice"]

    def kernel(out):
        acc = out[0]
        add_to(acc, 1)
        add_to(out[1], 2)
        add_to(acc * 2, 3)
        out[2] = read_twice(acc)

    cres = compile_cuda(kernel, types.void, (types.int32[::1],), cc=(8, 0))
    rewritten = [name for name in cres.fndesc.typemap if name.startswith("$nbst_wb_function")]
    assert len(rewritten) == 2


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


def test_class_template_constructor_reference_links_to_a_global_atomic(backend, lib):
    Watch = lib.Watch

    def kernel(out):
        w = Watch(out[1:])
        w.add(1)

    backend.link(kernel, (backend.types.int32[::1],), lib.writer)


@pytest.mark.parametrize("which", ["Tracker", "Watch"])
def test_constructor_reference_refuses_a_copy(backend, lib, which):
    """A constructor may keep the address its reference names: a copy of an element (or of a
    variable) would leave it pointing into the shim's frame, so only storage is taken."""
    cls = getattr(lib, which)

    def kernel(out):
        t = cls(out[1])
        t.add(1)

    with pytest.raises(Exception, match=r"Tracker|Watch") as e:
        backend.link(kernel, (backend.types.int32[::1],), lib.writer)
    if which == "Watch":
        assert "parameter `t` is a non-const reference, which the object may keep" in str(e.value)
    else:
        assert "argument 1: int32 does not convert to int32*" in str(e.value)
        assert "takes the caller's storage only: an array, a slice or a pointer, not a value" in str(e.value)


def element_kernel(lib):
    add_to = lib.add_to

    def kernel(out):
        i = cuda.grid(1)
        if i < out.size:
            add_to(out[i], i % 5)  # each thread's own element, written back

    return kernel


def test_element_kernel_links(backend, lib):
    backend.link(element_kernel(lib), (backend.types.int32[::1],), lib.writer)


@pytest.mark.gpu
def test_values_on_gpu(backend, lib):
    backend.gpu()
    out = np.zeros(len(CONSTANTS), np.int32)
    backend.cuda.jit(backend.kernel(constants_kernel(backend, lib)))[1, 1](out)
    assert out.tolist() == CONSTANTS
    out = np.zeros(2, np.int32)
    backend.cuda.jit(backend.kernel(atomic_kernel(lib)))[8, 128](out)
    assert out.tolist() == [0, 8 * 128]
    out = np.arange(64, dtype=np.int32)
    backend.cuda.jit(backend.kernel(element_kernel(lib)))[2, 32](out)
    assert out.tolist() == [i + i % 5 for i in range(64)]


def test_static_module_references(backend, tmp_path_factory):
    """The same kernel over a static module of the header (its embedded runtime rewrites alike)."""
    module = generate_static_module(tmp_path_factory.mktemp("ref_static"), HEADER, "ref_lib", backend=backend)
    names = {n: getattr(module, n) for n in ("add_to", "swap_ints", "read_twice", "Scale", "swap_any")}
    lib = pytypes.SimpleNamespace(Adder=module.Adder[np.int32], **names)
    ptx = backend.linked_ptx(constants_kernel(backend, lib), (backend.types.int32[::1],))
    assert stored_constants(ptx) == CONSTANTS


# ----------------------------------------------------------------------------- CUB, as C++ writes it

BLOCK = 128


@pytest.fixture(scope="module")
def block_scan():
    """`cub::BlockScan<int, 128>` bound with no argument intents: its outputs are references."""
    import ast_canopy
    import numbast

    cccl = next(Path(d) for d in ast_canopy.cuda_include_dirs() if d.endswith("cccl"))
    path = cccl / "cub" / "block" / "block_scan.cuh"
    decls = [t for t in parse_declarations_from_source(str(path), [str(path)], ARCH).class_templates if t.qual_name == "cub::BlockScan"]
    writer = numbast.MemoryShimWriter("#include <cub/block/block_scan.cuh>\n")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # members CUB keeps for the host are reported, not bound
        (scan,) = numbast.bind_cxx_class_templates(decls, None, writer)
    return scan[np.int32, BLOCK], writer


def scan_kernel(BS):
    TempStorage = BS.TempStorage

    def kernel(values, inclusive, exclusive):
        temp = cuda.shared.array(1, TempStorage)
        i = cuda.grid(1)
        y = 0
        BS(temp).InclusiveSum(values[i], y)  # into a variable
        inclusive[i] = y
        cuda.syncthreads()  # the storage is reused
        BS(temp).ExclusiveSum(values[i], exclusive[i])  # into an array element

    return kernel


def test_cub_outputs_by_reference_are_written_back(block_scan):
    from numba.cuda import types
    from numba.cuda.compiler import compile_cuda
    from numbast.testing import link_kernel

    BS, _writer = block_scan
    sig = (types.int32[::1],) * 3
    link_kernel(scan_kernel(BS), sig, ARCH, ptx=False)
    cres = compile_cuda(scan_kernel(BS), types.void, sig, cc=(8, 0))
    assert len([n for n in cres.fndesc.typemap if n.startswith("$nbst_wb_result")]) == 2


@pytest.mark.gpu
def test_cub_outputs_by_reference_on_gpu(block_scan):
    from _helpers import require_gpu

    require_gpu()
    BS, _writer = block_scan
    values = np.random.default_rng(3).integers(-50, 50, 4 * BLOCK).astype(np.int32)
    inclusive, exclusive = np.zeros_like(values), np.zeros_like(values)
    cuda.jit(scan_kernel(BS))[4, BLOCK](values, inclusive, exclusive)
    blocks = values.reshape(4, BLOCK)
    assert inclusive.tolist() == np.cumsum(blocks, axis=1).ravel().tolist()
    assert exclusive.tolist() == (np.cumsum(blocks, axis=1) - blocks).ravel().tolist()
