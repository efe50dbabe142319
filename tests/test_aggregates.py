"""Aggregate initialization (and a plain struct's `operator[]`, read as `v[i]`): a struct with no declared constructor, no base, no virtual member and
only public fields is constructed in a kernel field by field, `Extent(3, 4)` for C++'s
`Extent{3, 4}`, and calls may leave out trailing scalar fields, which C++ value-initializes (a shim
per arity, in brace form). Structs that declare a constructor keep only theirs; a class with a
private field gets none. Dynamic mode and a generated static module, on
tests/headers/aggregates.cuh, on both backends (the `backend` fixture). CPU tests link; the `gpu`
tests check values."""

from __future__ import annotations

from pathlib import Path

import ast_canopy
import numpy as np
import pytest
from _helpers import generate_static_module

HEADER = Path(__file__).resolve().parent / "headers" / "aggregates.cuh"
ARCH = "sm_80"


def sig(backend):
    return (backend.typeof(np.zeros(9, np.float32)), backend.typeof(np.arange(4, dtype=np.float32)))


class _Names:
    def __init__(self, mapping):
        self.__dict__.update(mapping)


@pytest.fixture(scope="module")
def D(backend):
    api = backend.api
    decls = ast_canopy.parse_declarations_from_source(str(HEADER), [str(HEADER)], ARCH)
    writer = api.MemoryShimWriter(f'#include "{HEADER}"')
    enums = api.bind_cxx_enums(decls.enums)
    structs = api.bind_cxx_structs(writer, decls.structs)
    functions = api.bind_cxx_functions(writer, decls.functions)
    names = {e.__name__: e for e in enums} | {s.__name__: s for s in structs}
    names |= {f.__name__: f for f in functions}
    return _Names({"writer": writer, **names})


@pytest.fixture(scope="module")
def S(backend, tmp_path_factory):
    return generate_static_module(tmp_path_factory.mktemp("aggregates"), HEADER, "aggregates_static", ARCH, backend)


def make_kernel(ns):
    Extent, Box, Span, Counted, Unit, Vec3 = ns.Extent, ns.Box, ns.Span, ns.Counted, ns.Unit, ns.Vec3
    area, scaled_area, total = ns.area, ns.scaled_area, ns.sum

    def kernel(out, data):
        out[0] = area(Extent(3, 4))  # 12
        out[1] = area(Extent(3))  # h value-initialized: 0
        out[2] = Extent().w + Extent(7, 1).h  # 0 + 1
        e = Extent(2, 5)
        out[3] = e.w * 100 + e.h  # the fields read back: 205
        out[4] = scaled_area(Box(e, np.float32(0.5), Unit.mm))  # 0.5 * 10 * 2 = 10
        out[5] = scaled_area(Box(e))  # scale 0: 0
        out[6] = total(Span(data, 3))  # a pointer field, from a device array: 0 + 1 + 2 = 3
        out[7] = Counted(4).n  # its own constructor: 40
        v = Vec3(np.float32(1.0), np.float32(2.0), np.float32(3.0))
        out[8] = v[2] + v.dot(Vec3(np.float32(1.0)))  # operator[] and a method: 3 + 1 = 4

    return kernel


EXPECTED = [12, 0, 1, 205, 10, 0, 3, 40, 4]


def test_aggregates_link(backend, D):
    backend.link(make_kernel(D), sig(backend), D.writer)
    src = D.writer.unit.source()
    assert "::agg::Extent{*__nbst_a0, *__nbst_a1}" in src and "::agg::Extent{}" in src
    assert "::agg::Box{*__nbst_a0}" in src
    assert "::agg::Counted(*__nbst_a0)" in src and "::agg::Counted{" not in src


def test_static_module_aggregates_link(backend, S):
    backend.link(make_kernel(S), sig(backend), None)


def test_report_notes_aggregate_initialization(backend, S):
    notes = {b["name"]: b.get("note", "") for b in S.report["bound"] if b["kind"] == "constructor"}
    assert notes["agg::Extent::Extent"] == "aggregate initialization, 0 to 2 of 2 fields"
    assert notes["agg::Box::Box"] == "aggregate initialization, 1 to 3 of 3 fields"
    assert notes["agg::Span::Span"] == "aggregate initialization, 0 to 2 of 2 fields"
    assert notes["agg::Vec3::Vec3"] == "aggregate initialization, 0 to 3 of 3 fields"
    assert notes["agg::Counted::Counted"] == ""
    assert "agg::Hidden::Hidden" not in notes


@pytest.mark.parametrize(
    "call, message",
    [
        ("Box()", r"Box"),  # the record field cannot be left out
        ("Extent(1, 2, 3)", r"Extent"),  # more values than fields
        ("Hidden()", r"Hidden"),  # a private field: no aggregate initialization
        ("Counted()", r"Counted"),  # declares a constructor: no other
    ],
)
def test_calls_that_cannot_initialize_are_typing_errors(backend, D, call, message):
    ns = {"Box": D.Box, "Extent": D.Extent, "Hidden": D.Hidden, "Counted": D.Counted}
    exec(f"def kernel(out, data):\n    x = {call}\n", ns)
    with pytest.raises(Exception, match=message) as info:
        backend.link(ns["kernel"], sig(backend), D.writer)
    assert "TypingError" in type(info.value).__name__


@pytest.mark.gpu
@pytest.mark.parametrize("mode", ["dynamic", "static"])
def test_aggregates_values(backend, mode, request):
    backend.gpu()
    kernel = backend.cuda.jit(backend.kernel(make_kernel(request.getfixturevalue({"dynamic": "D", "static": "S"}[mode]))))
    out, data = np.zeros(9, np.float32), np.arange(4, dtype=np.float32)
    kernel[1, 1](out, data)
    assert out.tolist() == EXPECTED
