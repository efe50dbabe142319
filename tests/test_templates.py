"""Templates: function templates (deduction, explicit specializations, defaults, explicit template
arguments, overloads, intents, packs) and class templates (instantiation with NVRTC layout probes,
constructors, methods, member templates, fields, nested records), on the headers in
tests/headers/templates_dyn and on CUB's BlockScan, BlockReduce, BlockLoad and BlockStore.

As in test_dynamic.py, a kernel is a `Case`: the CPU tests compile and link it to a cubin (NVRTC
and nvJitLink, no GPU) and check that every shim was inlined; the `gpu` tests launch it and compare
with NumPy.
"""

from __future__ import annotations

import ast
import json
import sys
import types as pytypes
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import ast_canopy
import numbast
import numpy as np
import pytest
from _helpers import link_case
from ast_canopy import _core, parse_declarations_from_source
from numba import cuda, float32, int32
from numba.core.errors import TypingError as CoreTypingError
from numba.cuda import types
from numba.cuda.core.errors import TypingError as CudaTypingError
from numba.cuda.typing.typeof import typeof
from numbast import (
    MemoryShimWriter,
    NumbastSkipWarning,
    TemplateError,
    _template_probe,
    bind_cxx_class_template,
    bind_cxx_class_template_specialization,
    bind_cxx_class_templates,
    bind_cxx_function_template,
    bind_cxx_function_templates,
)
from numbast._json import dumps, to_plain
from numbast.testing import link_kernel

HEADERS = Path(__file__).resolve().parent / "headers" / "templates_dyn"
ARCH = "sm_80"
TypingErrors = (CoreTypingError, CudaTypingError)


def parse(path):
    return parse_declarations_from_source(str(path), [str(path)], ARCH)


def header(name):
    """A header of `HEADERS`: its path, its declarations and a shim writer that includes it."""
    path = HEADERS / name
    return path, parse(path), MemoryShimWriter(f'#include "{path}"')


@dataclass
class Case:
    kernel: Callable
    args: Callable[[], tuple]  # fresh numpy arguments
    check: Callable[[tuple], None]  # asserts on the arguments after a launch
    launch: tuple = (1, 1)  # blocks, threads


def run_case(case):
    if not cuda.is_available():
        pytest.skip("no CUDA GPU")
    args = case.args()
    device_args = [cuda.to_device(a) for a in args]
    cuda.jit(case.kernel)[case.launch](*device_args)  # no link=: lowering adds the shims itself
    case.check(tuple(d.copy_to_host() for d in device_args))


# ----------------------------------------------------------------------------- function templates

FUNCTION_INTENTS = {"divmod": {"quotient": "out_return", "remainder": "out_return"}}


@pytest.fixture(scope="module")
def F():
    _, decls, writer = header("functions.cuh")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # every template in this header binds
        fns = bind_cxx_function_templates(function_templates=decls.function_templates, shim_writer=writer, arg_intent=FUNCTION_INTENTS)
    return dict(writer=writer, fns={f.__name__: f for f in fns}, decls=decls)


def function_case(F):
    f = F["fns"]
    saturate, add, pick, load, make_value = f["saturate"], f["add"], f["pick"], f["load"], f["make_value"]
    scaled, shift, divmod_, sum_array, count_args, store = (
        f["scaled"], f["shift"], f["divmod"], f["sum_array"], f["count_args"], f["store"])  # fmt: skip
    widen, halve, kind = f["widen"], f["halve"], f["kind"]
    make_double = make_value[np.float64]  # explicit arguments given outside the kernel

    def kernel(fout, iout, dout):
        fout[0] = saturate(fout[8])  # T = float32: clamps to [0, 1]
        iout[0] = saturate(iout[8])  # T = int32: the explicit specialization clamps to [0, 100]
        fout[1] = add(fout[8], float32(0.25))  # const T &
        iout[1] = add(iout[8], 1)  # int32 and int64 unify to int64, as Numba unifies
        iout[2] = pick(iout[9])  # overloads by arity
        iout[3] = pick(iout[9], iout[8])
        fout[2] = load(fout[8:])  # const T *: an array decays to a pointer to its data
        fout[3] = make_value[np.float32](3)  # T only in the return type: given explicitly
        dout[0] = make_double(4)
        fout[4] = scaled(fout[8])  # defaults: U = T, Scale = 2
        iout[4] = shift[3](1)  # a non-type argument given explicitly
        q, r = divmod_(iout[9], 4)  # two out_return outputs
        iout[5], iout[6] = q, r
        local = cuda.local.array(3, int32)
        local[0], local[1], local[2] = 1, 2, 3
        iout[7] = sum_array[3](local)  # const T (&)[N] with N given, T deduced
        iout[10] = count_args(iout[9], 1.5, 2)  # a parameter pack: 17 + 2
        store(iout[11:], 99)  # T &: an array argument binds to its first element
        dout[1] = widen(iout[9])  # -> decltype(x * 2.0): NVRTC says double
        iout[12] = halve(iout[8])  # auto: NVRTC says int
        iout[13] = kind(1.5) * 10 + kind(fout)  # T, then T * (more specialized) for an array

    def args():
        fout = np.zeros(9, np.float32)
        fout[8] = 1.75
        iout = np.zeros(14, np.int32)
        iout[8], iout[9] = 150, 17
        return fout, iout, np.zeros(2, np.float64)

    def check(a):
        fout, iout, dout = a
        assert fout[:5].tolist() == [1.0, 2.0, 1.75, 3.5, 3.5]
        assert iout[:8].tolist() == [100, 151, 17, 150, 8, 4, 1, 6]
        assert iout[10:].tolist() == [19, 99, 75, 12]
        assert dout.tolist() == [4.5, 34.0]

    return Case(kernel, args, check)


def test_function_templates_are_bound_under_their_names(F):
    assert sorted(F["fns"]) == [
        "add", "count_args", "divmod", "forwarded", "halve", "kind", "load", "make_value", "pick", "saturate",
        "scaled", "shift", "store", "sum_array", "widen",
    ]  # fmt: skip
    assert repr(F["fns"]["saturate"]) == "<bound function template saturate (tpl::saturate)>"
    with pytest.raises(TypeError, match="only be called inside a CUDA kernel"):
        F["fns"]["saturate"](1.0)


def test_function_templates_link(F):
    link_case(function_case(F), F["writer"])
    src = F["writer"].unit.source()
    # Template arguments the call's arguments give are left to the compiler, as in C++ code: for
    # `int` it picks the explicit specialization `saturate<int>`; defaults are written out.
    assert "int(::tpl::saturate(*__nbst_a0))" in src
    assert "::tpl::scaled<float, float, 2>(*__nbst_a0)" in src  # defaults written out
    assert "::tpl::count_args(*__nbst_a0, *__nbst_a1, *__nbst_a2)" in src


@pytest.mark.gpu
def test_function_templates_run(F):
    run_case(function_case(F))


def typing_error(kernel, sig):
    with pytest.raises(TypingErrors) as e:
        link_kernel(kernel, sig, ARCH)
    return str(e.value)


def test_no_viable_overload_lists_each_candidate(F):
    pick = F["fns"]["pick"]

    def kernel(out):
        out[0] = pick(1, 2, 3)

    msg = typing_error(kernel, (typeof(np.zeros(1, np.int32)),))
    assert "no overload of pick fits (int64, int64, int64)" in msg
    assert msg.count("template <typename T> T pick(") == 2
    assert msg.count("-> takes 1 argument(s), 3 given") == 1 and msg.count("-> takes 2 argument(s), 3 given") == 1
    assert "functions.cuh:" in msg  # each candidate's location


def test_rejected_argument_names_the_parameter(F):
    load = F["fns"]["load"]

    def kernel(out):
        out[0] = load(1.0)  # a double is not a pointer

    msg = typing_error(kernel, (typeof(np.zeros(2, np.float32)),))
    assert "parameter `p` is a pointer, the argument is float64" in msg


def test_undeducible_parameter_is_named(F):
    make_value = F["fns"]["make_value"]

    def kernel(out):
        out[0] = make_value(3)

    msg = typing_error(kernel, (typeof(np.zeros(1, np.float32)),))
    assert "template parameter `T` cannot be deduced from the arguments; give it explicitly" in msg


def test_inexpressible_template_argument_is_named(F):
    make_value = F["fns"]["make_value"]
    with pytest.raises(TemplateError, match=r"template argument for `T`: complex64 has no C\+\+ spelling"):
        make_value[np.complex64]

    def kernel(out):
        out[0] = make_value[np.complex64](3)

    msg = typing_error(kernel, (typeof(np.zeros(1, np.float32)),))
    assert "template argument for `T`: complex64 has no C++ spelling" in msg


def test_extent_that_cannot_be_deduced_is_named(F):
    sum_array = F["fns"]["sum_array"]

    def kernel(out):
        local = cuda.local.array(3, int32)
        out[0] = sum_array(local)

    msg = typing_error(kernel, (typeof(np.zeros(1, np.int32)),))
    assert "template parameter `N` cannot be deduced" in msg


def test_forwarding_reference_refuses_an_array(F):
    forwarded = F["fns"]["forwarded"]

    def kernel(out):
        out[0] = forwarded(out)

    msg = typing_error(kernel, (typeof(np.zeros(1, np.int32)),))
    assert "parameter `r` (R &&) is a forwarding reference: it cannot take an array" in msg


def test_one_template_by_name(F):
    writer = MemoryShimWriter(F["writer"].preceding_text)
    overloads = [t for t in F["decls"].function_templates if t.function.name == "pick"]
    biggest = bind_cxx_function_template(name="biggest", overloads=overloads, shim_writer=writer)
    assert biggest.__name__ == "biggest"

    def kernel(out):
        out[0] = biggest(out[1], out[2])

    link_kernel(kernel, (typeof(np.zeros(3, np.int32)),), ARCH)
    assert "::tpl::pick(*__nbst_a0, *__nbst_a1)" in writer.unit.source()


# ----------------------------------------------------------------------------- class templates

CLASS_INTENTS = {"Vec": {"first_last": {"first": "out_return", "last": "out_return"}}}


@pytest.fixture(scope="module")
def C():
    path, decls, writer = header("classes.cuh")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        Vec, Pair = bind_cxx_class_templates(decls.class_templates, str(path), writer, arg_intent=CLASS_INTENTS)
        (spec,) = decls.class_template_specializations
        PairChar = bind_cxx_class_template_specialization(writer, spec, types.Type)
    return dict(writer=writer, Vec=Vec, Pair=Pair, PairChar=PairChar)


def test_class_template_instantiations(C):
    Vec, Pair = C["Vec"], C["Pair"]
    assert Vec.__name__ == "tpl::Vec" and Pair.__name__ == "tpl::Pair"
    V = Vec[np.float32]
    assert V is Vec.instantiate(T=np.float32)  # one instantiation per spelling
    assert V.__name__ == "tpl::Vec<float>" and (V.size, V.align) == (20, 4)
    assert V.fields == {"data": (types.UniTuple(types.float32, 4), 0), "tag": (types.int32, 16)}
    assert list(V.nested) == ["Stats"]  # the private `Hidden` is left out
    assert (V.Stats._numba_type._nbst_size, V.Stats._numba_type._nbst_align) == (8, 4)
    D = Vec.instantiate(T=np.int32, N=3, M="Doubled")  # an enumerator by name
    assert D.__name__ == "tpl::Vec<int, 3, tpl::Mode::Doubled>" and D.size == 16
    assert Vec["double", 2].__name__ == "tpl::Vec<double, 2>"  # a C++ spelling as a type argument
    with pytest.raises(TemplateError, match="template parameter `T` has no default and was not given"):
        Vec.instantiate(N=3)
    with pytest.raises(TemplateError, match=r"(?s)cannot instantiate tpl::Vec<int, 4, tpl::Mode::Nope>:.*Nope"):
        Vec.instantiate(T=np.int32, M="Nope")  # NVRTC's error, with the instantiation's name
    with pytest.raises(TemplateError, match="has no template parameter `X`; it has T, N, M"):
        Vec.instantiate(X=1)
    with pytest.raises(TypeError, match=r"Vec\[\.\.\.\] or Vec.instantiate"):
        Vec()


def class_case(C):
    Vec, Pair, PairChar = C["Vec"], C["Pair"], C["PairChar"]
    V4 = Vec[np.float32]
    VD = Vec.instantiate(T=np.int32, N=3, M="Doubled")

    def kernel(fout, iout):
        v = V4(1.5)  # 1.5, 2.5, 3.5, 4.5
        fout[0] = v.sum()
        fout[1] = v.get(2)
        fout[2] = v.scaled_sum(2.0)  # a member template, U = float64
        first, last = v.first_last()  # out_return outputs
        fout[3] = first + last
        fout[4] = v.data[1]  # a public array field
        local = cuda.local.array(4, float32)
        v.copy_to(local)  # T (&)[N], N from the class
        fout[5] = local[3]
        iout[0] = VD(5).sum()  # (5 + 6 + 7) doubled by the enum argument
        iout[1] = VD(5).tag
        p = Pair[np.int32](3, 4)
        iout[2] = p.first * 10 + p.second
        iout[3] = p.sum()
        iout[4] = Vec(7, T=int32, N=2).sum()  # in-kernel instantiation: template arguments by keyword
        iout[5] = Vec[int32, 2]().tag  # in-kernel instantiation by subscript, default constructor
        iout[6] = PairChar(21).sum()  # the explicit specialization, bound as a struct

    def check(a):
        fout, iout = a
        assert fout.tolist() == [12.0, 3.5, 24.0, 6.0, 2.5, 4.5]
        assert iout.tolist() == [36, 3, 34, 7, 15, 2, 42]

    return Case(kernel, lambda: (np.zeros(6, np.float32), np.zeros(7, np.int32)), check)


def test_class_templates_link(C):
    link_case(class_case(C), C["writer"])


@pytest.mark.gpu
def test_class_templates_run(C):
    run_case(class_case(C))


def test_class_template_typing_errors(C):
    Vec = C["Vec"]

    def missing(out):
        out[0] = Vec(N=2).tag

    msg = typing_error(missing, (typeof(np.zeros(1, np.int32)),))
    assert "tpl::Vec: template parameter `T` has no default and was not given" in msg

    def not_literal(out):
        n = out.size
        out[0] = Vec(T=int32, N=n).tag

    msg = typing_error(not_literal, (typeof(np.zeros(1, np.int32)),))
    assert "non-type template parameter `N` needs a compile-time constant" in msg

    def bad_method_args(out):
        out[0] = Vec[int32, 2]().get(1, 2)

    msg = typing_error(bad_method_args, (typeof(np.zeros(1, np.int32)),))
    assert "no overload of tpl::Vec<int, 2>::get fits (int64, int64)" in msg


def test_instantiation_is_probed_once(C, monkeypatch):
    calls = []
    real = _template_probe.probe_values

    def counting(text, prelude, exprs, cc, what):
        calls.append(exprs)
        return real(text, prelude, exprs, cc, what)

    monkeypatch.setattr(_template_probe, "probe_values", counting)
    Pair = C["Pair"]
    first = Pair[np.int16]
    assert len(calls) == 1 and "sizeof(tpl::Pair<short>)" in calls[0]
    assert Pair[np.int16] is first and Pair.instantiate(T=types.int16) is first
    bind_again = Pair["short"]
    assert bind_again is first and len(calls) == 1


def test_template_skips_are_reported(tmp_path):
    path = Path(__file__).resolve().parent / "headers" / "templates.cuh"
    decls = parse(path)
    writer = MemoryShimWriter(f'#include "{path}"')
    by_name = {t.qual_name: t for t in decls.class_templates}
    with pytest.warns(NumbastSkipWarning):
        assert bind_cxx_class_template(by_name["Wrapper"], writer) is None
    skips = [s for s in numbast.binding_report().skipped if s.name == "Wrapper"]
    assert skips[-1].reason == "template template parameter `Container` is not supported"
    with warnings.catch_warnings():
        warnings.simplefilter("error", NumbastSkipWarning)  # every member binds, `operator[]` as `a[i]`
        Array = bind_cxx_class_template(by_name["Array"], writer)
    assert Array.__name__ == "Array"
    bound = {b.name for b in numbast.binding_report().bound if b.kind == "class_template"}
    assert "Array" in bound


# ----------------------------------------------------------------------------- CUB

BLOCK = 128
N_VALUES = 1 << 20
CUB_INTENTS = {"BlockScan": {"InclusiveSum": {"output": "out_return"}, "ExclusiveSum": {"output": "out_return"}}}


@pytest.fixture(scope="module")
def CUB():
    cccl = next(Path(d) for d in ast_canopy.cuda_include_dirs() if d.endswith("cccl"))
    wanted = {"block_scan": "cub::BlockScan", "block_reduce": "cub::BlockReduce",
              "block_load": "cub::BlockLoad", "block_store": "cub::BlockStore"}  # fmt: skip
    decls = []
    for header, qual_name in wanted.items():
        path = cccl / "cub" / "block" / f"{header}.cuh"
        decls += [t for t in parse(path).class_templates if t.qual_name == qual_name]
    writer = MemoryShimWriter("".join(f"#include <cub/block/{h}.cuh>\n" for h in wanted))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # every member of the four binds
        bound = bind_cxx_class_templates(decls, None, writer, arg_intent=CUB_INTENTS)
    # CUB 3.2 spells the block size `BlockDimX`, older CUB `BLOCK_DIM_X`: use what the header says.
    dims = {t.qual_name.split("::")[1]: t.template_parameters[1].name for t in decls}
    return dict(writer=writer, dims=dims, **{t.__name__.split("::")[1]: t for t in bound})


def scan_case(CUB):
    """Scans and reduces 1M int32 values block by block: temporary storage in shared memory for
    BlockScan, CUB's private shared storage (the default constructor) for BlockReduce."""
    BS = CUB["BlockScan"][np.int32, BLOCK]
    BR = CUB["BlockReduce"].instantiate(T=np.int32, **{CUB["dims"]["BlockReduce"]: BLOCK})
    TempStorage = BS.TempStorage

    def kernel(values, inclusive, exclusive, sums):
        temp = cuda.shared.array(1, TempStorage)
        i = cuda.grid(1)
        x = values[i]
        scan = BS(temp)
        inclusive[i] = scan.InclusiveSum(x)
        cuda.syncthreads()  # the storage is reused
        exclusive[i] = scan.ExclusiveSum(x)
        total = BR().Sum(x)
        if cuda.threadIdx.x == 0:
            sums[cuda.blockIdx.x] = total

    def args():
        values = np.random.default_rng(0).integers(0, 100, N_VALUES).astype(np.int32)
        n = np.zeros(N_VALUES, np.int32)
        return values, n, n.copy(), np.zeros(N_VALUES // BLOCK, np.int32)

    def check(a):
        values, inclusive, exclusive, sums = a
        blocks = values.reshape(-1, BLOCK)
        expected = np.cumsum(blocks, axis=1, dtype=np.int32)
        np.testing.assert_array_equal(inclusive.reshape(-1, BLOCK), expected)
        np.testing.assert_array_equal(exclusive.reshape(-1, BLOCK), expected - blocks)
        np.testing.assert_array_equal(sums, blocks.sum(axis=1, dtype=np.int32))

    return Case(kernel, args, check, launch=(N_VALUES // BLOCK, BLOCK))


def load_store_case(CUB):
    """BlockLoad (transposed through shared memory) and BlockStore: items per thread in a local
    array, bound to a `T (&)[ItemsPerThread]` parameter; the source and destination decay to
    pointers."""
    items_per_thread = 4
    BL = CUB["BlockLoad"][np.int32, BLOCK, items_per_thread, "BLOCK_LOAD_TRANSPOSE"]
    BSt = CUB["BlockStore"][np.int32, BLOCK, items_per_thread]
    tile = BLOCK * items_per_thread

    def kernel(values, out):
        items = cuda.local.array(4, int32)
        offset = cuda.blockIdx.x * tile
        BL().Load(values[offset:], items)
        for j in range(4):
            items[j] = items[j] * 2 + cuda.threadIdx.x % 2
        BSt().Store(out[offset:], items)

    def args():
        return np.arange(8 * tile, dtype=np.int32), np.zeros(8 * tile, np.int32)

    def check(a):
        values, out = a
        thread = (np.arange(values.size) % tile) // items_per_thread  # blocked arrangement
        np.testing.assert_array_equal(out, values * 2 + thread % 2)

    return Case(kernel, args, check, launch=(8, BLOCK))


@pytest.fixture(scope="module")
def RADIX():
    """cub::BlockRadixSort, whose Sort and SortDescending take `begin_bit = 0` and
    `end_bit = sizeof(KeyT) * 8` as C++ default arguments."""
    cccl = next(Path(d) for d in ast_canopy.cuda_include_dirs() if d.endswith("cccl"))
    decls = [t for t in parse(cccl / "cub" / "block" / "block_radix_sort.cuh").class_templates if t.qual_name == "cub::BlockRadixSort"]
    writer = MemoryShimWriter("#include <cub/block/block_radix_sort.cuh>\n")
    (sort,) = bind_cxx_class_templates(decls, None, writer)
    return writer, sort


def radix_case(RADIX):
    """Sorts tiles of 512 int32 keys (4 per thread in a local array), ascending with both bit
    bounds left to their defaults, then descending with `end_bit` given and `begin_bit` not."""
    items_per_thread = 4
    BRS = RADIX[1][np.int32, BLOCK, items_per_thread]
    TempStorage = BRS.TempStorage
    tile = BLOCK * items_per_thread

    def kernel(values, ascending, descending):
        temp = cuda.shared.array(1, TempStorage)
        keys = cuda.local.array(4, int32)
        base = cuda.blockIdx.x * tile + cuda.threadIdx.x * 4
        for j in range(4):
            keys[j] = values[base + j]
        BRS(temp).Sort(keys)
        for j in range(4):
            ascending[base + j] = keys[j]
        cuda.syncthreads()  # the storage is reused
        BRS(temp).SortDescending(keys, 0, 32)
        for j in range(4):
            descending[base + j] = keys[j]

    def args():
        values = np.random.default_rng(1).integers(-(1 << 30), 1 << 30, 8 * tile).astype(np.int32)
        return values, np.zeros_like(values), np.zeros_like(values)

    def check(a):
        values, ascending, descending = a
        expected = np.sort(values.reshape(-1, tile), axis=1)
        np.testing.assert_array_equal(ascending.reshape(-1, tile), expected)
        np.testing.assert_array_equal(descending.reshape(-1, tile), expected[:, ::-1])

    return Case(kernel, args, check, launch=(8, BLOCK))


def test_cub_radix_sort_with_default_bits_links(RADIX):
    link_case(radix_case(RADIX), RADIX[0])
    source = RADIX[0].unit.source()
    # C++ fills in the bits left out: the shim calls Sort with the keys alone, never a re-spelled default.
    assert "__nbst_self->Sort(*__nbst_a0);" in source
    assert "__nbst_self->SortDescending(*__nbst_a0, *__nbst_a1, *__nbst_a2);" in source
    assert "sizeof" not in source


@pytest.mark.gpu
def test_cub_radix_sort_with_default_bits_runs(RADIX):
    run_case(radix_case(RADIX))


def test_cub_scan_and_reduce_link(CUB):
    link_case(scan_case(CUB), CUB["writer"])


def test_cub_load_and_store_link(CUB):
    link_case(load_store_case(CUB), CUB["writer"])


@pytest.mark.gpu
def test_cub_scan_and_reduce_run(CUB):
    run_case(scan_case(CUB))


@pytest.mark.gpu
def test_cub_load_and_store_run(CUB):
    run_case(load_store_case(CUB))


def test_cub_default_constructor_in_kernel_links(CUB):
    # The keyword is the header's own parameter name, so the kernel's text is made with it.
    source = (
        "def kernel(values, out):\n"
        "    i = cuda.grid(1)\n"
        f"    out[i] = BlockScan(T=int32, {CUB['dims']['BlockScan']}=BLOCK).InclusiveSum(values[i])\n"
    )
    ns = {"cuda": cuda, "int32": int32, "BLOCK": BLOCK, "BlockScan": CUB["BlockScan"]}
    exec(source, ns)
    kernel = ns["kernel"]

    link_kernel(kernel, (typeof(np.zeros(1, np.int32)),) * 2, ARCH)
    assert "cub::BlockScan<int, 128>();" in CUB["writer"].unit.source()


# ----------------------------------------------------------------------------- static mode


def test_spellings_are_filled_in_from_their_pieces():
    """The runtime joins the renderer's pieces (literal text and template parameter references,
    alternating); `bind` fills some parameters in and keeps the others as references."""
    from numbast._template_types import bind, bind_pattern, fill, numba_of_pattern

    pieces = ("const ", "T", " (&)[", "N", "]")
    assert fill(pieces, {"T": "int", "N": "4"}) == "const int (&)[4]"
    assert fill(pieces, {"T": "int"}) == "const int (&)[N]"
    assert bind(pieces, {"T": "int"}) == ("const int (&)[", "N", "]")
    assert fill(bind(pieces, {"T": "int"}), {"N": "2"}) == fill(pieces, {"T": "int", "N": "2"})
    pattern = ast.literal_eval(_core.type_pattern("T[N]"))  # no parameters named: one literal piece each
    assert pattern == ("array", ("name", "T", ("T",)), "N", ("N",), None)
    # A literal extent comes with its count: the runtime reads no number out of the text.
    assert ast.literal_eval(_core.type_pattern("float[4]")) == ("array", ("name", "float", ("float",)), "4", ("4",), 4)
    array = ("array", ("name", "T", ("", "T", "")), "N", ("", "N", ""), None)
    assert numba_of_pattern(array, {"T": "float", "N": "3"}, {}, numbast._dynamic._BINDINGS) == types.UniTuple(types.float32, 3)
    assert bind_pattern(array, {"N": "3"}) == ("array", ("name", "T", ("", "T", "")), "3", ("3",), None)
    four = ("array", ("name", "float", ("float",)), "4", ("4",), 4)
    assert numba_of_pattern(four, {}, {}, numbast._dynamic._BINDINGS) == types.UniTuple(types.float32, 4)


def _template_modules_in_import_order(package):
    """The template runtime's modules (`_templates.py` and `_template_*.py`), each after those it
    imports (`from ._template_x import ...`); fails on a cycle."""
    imports = {}
    for path in sorted(package.glob("_template*.py")):
        tree = ast.parse(path.read_text())
        found = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.level == 1 and n.module}
        imports[path.stem] = found - {"_runtime"}
    order = []
    while len(order) < len(imports):
        ready = [m for m in imports if m not in order and imports[m] <= set(order)]
        assert ready, f"import cycle among {sorted(set(imports) - set(order))}"
        order += sorted(ready)
    return order


def test_runtime_texts_share_one_namespace_and_template_modules_import_only_the_runtime():
    """Static mode pastes the runtime's texts (_typing.py, then a backend's _runtime.py) into one
    module: they define no name twice, but the backend's `_NB_PACKAGE`, which the typing layer reads.
    The template runtime's modules are modules of their own, loaded as the runtime's submodules:
    besides numba, llvmlite and the standard library they import only each other and `._runtime`."""

    def top_level(path):
        names = set()
        for node in ast.parse(Path(path).read_text()).body:
            if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
                names.add(node.name)
            elif isinstance(node, ast.Assign):
                names |= {t.id for t in node.targets if isinstance(t, ast.Name)}
        return names

    package = Path(numbast._runtime.__file__).parent
    typing = top_level(package / "_typing.py")
    for backend in (package / "_runtime.py", package / "mlir" / "_runtime.py"):
        assert typing & top_level(backend) == {"_NB_PACKAGE"}
    modules = _template_modules_in_import_order(package)
    assert modules[-1] == "_templates" and len(modules) >= 5
    allowed = {"numba", "llvmlite"} | set(sys.stdlib_module_names)
    for name in modules:
        for node in ast.walk(ast.parse((package / f"{name}.py").read_text())):
            if isinstance(node, ast.ImportFrom) and node.level:
                assert node.level == 1 and (node.module or "_runtime") in set(modules) | {"_runtime"}, (name, node.module)
            elif isinstance(node, ast.ImportFrom):
                assert node.module.split(".")[0] in allowed, (name, node.module)
            elif isinstance(node, ast.Import):
                assert {a.name.split(".")[0] for a in node.names} <= allowed, name


def test_rendered_templates_work_in_a_standalone_module(F):
    """Static mode's layout: the runtime's texts (the NVRTC cache, the shared typing layer, then
    numba-cuda's lowering) make one module, a package whose submodules are the template runtime's modules (as
    generated modules load their embedded runtime); the rendered code runs in a namespace of its own
    with `_b` (here with registries of its own), `_unit` and `_template_bindings`. It binds and
    instantiates a template without `numbast`."""
    package = Path(numbast._runtime.__file__).parent
    names = ("_nvrtc_cache.py", "_unit_split.py", "_kernel_cache.py", "_typing.py", "_runtime.py")  # `module::RUNTIME_SOURCE`
    text = "\n".join((package / name).read_text() for name in names)
    rt = pytypes.ModuleType("nbst_static_templates_test")
    rt.__path__, rt.__package__ = [], rt.__name__
    sys.modules[rt.__name__] = sys.modules[rt.__name__ + "._runtime"] = rt
    loaded = [rt.__name__, rt.__name__ + "._runtime"]
    try:
        exec(compile(text, "<static runtime>", "exec"), rt.__dict__)
        for name in _template_modules_in_import_order(package):
            module = pytypes.ModuleType(f"{rt.__name__}.{name}")
            module.__package__ = rt.__name__
            sys.modules[module.__name__] = module
            loaded.append(module.__name__)
            exec(compile((package / f"{name}.py").read_text(), f"<{name}>", "exec"), module.__dict__)
        templates = sys.modules[rt.__name__ + "._templates"]
        assert templates.rt is rt  # the module's own runtime, not numbast's
        ns = {}
        exec(_core.render_prelude(), ns)
        ns["_b"] = rt.Bindings(rt.TypingRegistry(), rt.TargetRegistry())
        ns["_b"].install()
        ns["_unit"] = rt.ShimUnit(f'#include "{HEADERS / "functions.cuh"}"', "static_templates_test.cu")
        ns["_template_bindings"] = templates._template_bindings
        saturate = [t for t in F["decls"].function_templates if t.function.name == "saturate"]
        request = {"context": {}, "function_templates": [{"decl": to_plain(t), "py_name": "clamp01"} for t in saturate]}
        exec(compile(_rendered(request), "<rendered>", "exec"), ns)
        clamp01 = ns["clamp01"]
        assert type(clamp01).__module__ == rt.__name__ + "._template_functions"

        def kernel(out):
            out[0] = clamp01(out[1])

        link_kernel(kernel, (typeof(np.zeros(2, np.float32)),), ARCH)
        assert "float(::tpl::saturate(*__nbst_a0))" in ns["_unit"].source()
    finally:
        for name in loaded:
            del sys.modules[name]


def _rendered(request):
    return json.loads(_core.render_bindings(dumps(request)))["code"]


def test_shims_compile_beside_header_types_named_like_shim_parameters():
    """Template shims name their parameters `__nbst_*`: a header's `struct ret`, `struct self` or
    `struct a0` cannot shadow them."""
    _, decls, writer = header("reserved_names.cuh")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        structs = {s.__name__: s for s in numbast.bind_cxx_structs(writer, decls.structs)}
        (make,) = bind_cxx_function_templates(function_templates=decls.function_templates, shim_writer=writer)
        (holder,) = bind_cxx_class_templates(decls.class_templates, None, writer)
    Ret, Self, A0 = structs["ret"], structs["self"], structs["a0"]
    HolderF = holder[np.float32]

    def kernel(out):
        out[0] = make(out[1]).v
        out[2] = HolderF(float32(out[1])).pick(A0(3), Self(4))

    link_kernel(kernel, (typeof(np.zeros(3, np.int32)),), ARCH)
    assert Ret is not None
    source = writer.unit.source()
    assert "__nbst_ret" in source and "__nbst_self->pick(*__nbst_a0, *__nbst_a1)" in source


def test_deduced_template_arguments_are_left_to_the_call():
    """A shim calls a function template as C++ code does, without the template arguments C++
    deduces from its arguments: written out, they would be substituted into every template of the
    name, and `rev<float>` would be instantiated (a hard error). Those it cannot deduce are
    written out."""
    _, decls, writer = header("deduced_calls.cuh")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # `rev` is a class template with no device members
        classes = {c.__name__: c for c in bind_cxx_class_templates(decls.class_templates, None, writer)}
        templates = bind_cxx_function_templates(function_templates=decls.function_templates, shim_writer=writer)
    (scaled,) = [t for t in templates if t.__name__ == "scaled"]
    C = classes["ops::cplx"][np.float32]

    def kernel(out):
        s = C(out[0], out[1]) + C(float32(1.0), float32(2.0))
        t = scaled[3](s)
        out[2] = s.real() + t.imag()

    link_kernel(kernel, (typeof(np.zeros(3, np.float32)),), ARCH)
    source = writer.unit.source()
    assert "::ops::operator+(*__nbst_a0, *__nbst_a1)" in source
    assert "::ops::scaled<3, float>(*__nbst_a0)" in source


# ----------------------------------------------------------------------------- overload ranking


@pytest.fixture(scope="module")
def R():
    _, decls, writer = header("ranking.cuh")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        plain = numbast.bind_cxx_functions(writer, decls.functions)
        fns = bind_cxx_function_templates(function_templates=decls.function_templates, shim_writer=writer)
    assert [f.__name__ for f in plain] == ["twice"]
    return {f.__name__: f for f in fns}


def result_type(fn, argtys):
    _, restype = cuda.compile(fn, argtys, device=True, output="ltoir", cc=(8, 0))
    return restype


def test_a_template_that_takes_the_arguments_as_they_are_beats_a_converting_non_template(R):
    twice = R["twice"]
    assert result_type(lambda x: twice(x), (float32,)) == float32  # the template: no float -> int
    assert result_type(lambda x: twice(x), (types.float64,)) == types.float64
    assert result_type(lambda x: twice(x), (int32,)) == int32  # the non-template, exact
    # A Python int is Numba's int64 (C++'s `long long`): the template takes it as it is.
    assert result_type(lambda: twice(2), ()) == types.int64


def test_partial_ordering_prefers_the_more_specialized_template(R):
    pick = R["pick"]
    assert result_type(lambda a, b: pick(a, b), (float32, float32)) == float32  # pick(T, T)
    assert result_type(lambda a, b: pick(a, b), (float32, types.float64)) == types.float64  # pick(T, U)


def test_ranked_calls_link(R):
    twice, pick = R["twice"], R["pick"]

    def kernel(fout, iout):
        fout[0] = twice(fout[1])
        iout[0] = twice(iout[1])
        fout[2] = pick(fout[1], fout[3])

    link_kernel(kernel, (typeof(np.zeros(4, np.float32)), typeof(np.zeros(2, np.int32))), ARCH)


# ----------------------------------------------------------------------------- returning an instance made before


def test_a_method_returning_its_own_class_spelled_otherwise_is_typed_as_that_instance():
    """`drop` returns `Window<T, dynamic>` and `head` returns `auto`: neither is spelled as the
    instance `Window[int32]` was made (`Window<int>`), so the compiler is asked which instance made
    so far each is (`cuda::std::span<T>::subspan()` returns `span<T, dynamic_extent>`)."""
    _, decls, writer = header("window.cuh")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        (window,) = bind_cxx_class_templates(decls.class_templates, None, writer)
    W = window[np.int32]

    def kernel(a, out):
        w = W(a, a.size)
        d = w.drop(1)
        out[0] = d.front()
        out[1] = d.drop(2).length()
        out[2] = w.head(2).length()

    link_kernel(kernel, (typeof(np.zeros(4, np.int32)),) * 2, ARCH)
    _, restype = cuda.compile(lambda a: W(a, 3).drop(1), (typeof(np.zeros(4, np.int32)),), device=True, output="ltoir", cc=(8, 0))
    assert restype == W._numba_type
    assert list(window._instances) == ["Window<int>"]  # `Window<int, dynamic>` is the same instance


# ----------------------------------------------------------------------------- defaults naming other namespaces


@pytest.fixture(scope="module")
def D():
    _, decls, writer = header("foreign_defaults.cuh")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fns = {f.__name__: f for f in bind_cxx_function_templates(function_templates=decls.function_templates, shim_writer=writer)}
        (Holder,) = bind_cxx_class_templates(decls.class_templates, None, writer)
    scale, scale_inner, H = fns["scale"], fns["scale_inner"], Holder[np.int32]

    def kernel(out):
        out[0] = scale(out[0])
        out[1] = scale_inner(out[1])
        out[2] = H(out[2], 7).value()

    return dict(decls=decls, writer=writer, kernel=kernel, H=H)


def test_defaults_naming_other_namespaces_are_qualified_as_clang_resolves_them(D):
    """A default written in namespace `outer` as `other::width` names the global `other`, and
    `inner::width` names `outer::inner`: canopy writes each as clang resolves it, an unscoped
    enumerator through its enum's namespace, so the shims (outside `outer`) compile."""
    decls = D["decls"]
    defaults = {(t.function.name, p.name): p.default for t in decls.function_templates for p in t.template_parameters}
    assert defaults[("scale", "N")] == "::other::width"
    assert defaults[("scale", "M")] == "::other::High"
    assert defaults[("scale_inner", "N")] == "::outer::inner::width"
    (holder,) = decls.class_templates
    assert [p.default for p in holder.template_parameters] == [None, "::other::K"]
    link_kernel(D["kernel"], (typeof(np.zeros(3, np.int32)),), ARCH)
    src = D["writer"].unit.source()
    assert "::outer::scale<int, other::width, other::High>(" in src
    assert "::outer::scale_inner<int, outer::inner::width>(" in src
    assert D["H"].__name__ == "outer::Holder<int>"


@pytest.mark.gpu
def test_defaults_naming_other_namespaces_run(D):
    check = lambda a: np.testing.assert_array_equal(a[0], [2 * 4 + 3, 3 * 100, 7])
    run_case(Case(D["kernel"], lambda: (np.array([2, 3, 5], np.int32),), check))
