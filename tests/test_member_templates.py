"""Call operators and member function templates: `f(x, y)` on a struct or class template instance
reaches its `operator()` (any number of operands); a struct's member function templates (methods,
static members, call operators) and a class template's static member function templates are typed
by deduction when a kernel calls them; in a static module, a function whose signature names an
instantiation of a class template (`unbox(const Box<float> &)`) is typed by the template runtime,
which instantiates the class. Dynamic mode and a generated static module, on
tests/headers/member_templates.cuh, on both backends (the `backend` fixture). CPU tests link; the
`gpu` tests check values."""

from __future__ import annotations

import warnings
from pathlib import Path

import ast_canopy
import numpy as np
import pytest
from _helpers import generate_static_module

HEADER = Path(__file__).resolve().parent / "headers" / "member_templates.cuh"
ARCH = "sm_80"


def sig(backend):
    return (backend.typeof(np.zeros(8, np.int32)), backend.typeof(np.zeros(5, np.float32)))


EXPECTED_INT = [15, 16, 8, 20, 9, 49, 10, 17]
EXPECTED_FLOAT = [6.0, 7.0, 8.0, 6.0, 3.0]


class _Names:
    def __init__(self, mapping):
        self.__dict__.update(mapping)


@pytest.fixture(scope="module")
def D(backend):
    api = backend.api
    decls = ast_canopy.parse_declarations_from_source(str(HEADER), [str(HEADER)], ARCH)
    writer = api.MemoryShimWriter(f'#include "{HEADER}"')
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # everything in the header binds
        affine, scaler = api.bind_cxx_structs(writer, decls.structs)
        poly, _box = api.bind_cxx_class_templates(decls.class_templates, None, writer)
    return _Names({"writer": writer, "Affine": affine, "Scaler": scaler, "Poly": poly})


@pytest.fixture(scope="module")
def S(backend, tmp_path_factory):
    """The header generated as a static module for the backend, imported, with its coverage report."""
    return generate_static_module(tmp_path_factory.mktemp("member_templates"), HEADER, "member_templates_static", ARCH, backend)


def make_kernel(ns):
    Affine, Scaler, P = ns.Affine, ns.Scaler, ns.Poly[np.float32]

    def kernel(iout, fout):
        f = Affine(3)
        iout[0] = f(5)  # operator()(int): 15
        iout[1] = f(5, 1)  # operator()(int, int), three operands: 16
        s = Scaler(4)
        iout[2] = s.twice()  # a plain method beside the templates: 8
        iout[3] = s.scale(np.int32(5))  # a member function template, T = int: 20
        iout[4] = s(np.int32(2), np.int32(1))  # a call operator template: 9
        iout[5] = Scaler.square(np.int32(7))  # a static member function template: 49
        iout[6] = Scaler.offset(np.int32(7))  # ... with its defaulted parameter left out: 10
        iout[7] = Scaler.offset(np.int32(7), 10)  # 17
        fout[0] = s.scale(np.float32(1.5))  # T = float: 6.0
        p = P(np.float32(2.0))
        fout[1] = p(np.float32(3.0), np.float32(1.0))  # a class template's call operator: 7.0
        fout[2] = P.cube(np.float32(2.0))  # a class template's static member template: 8.0
        fout[3] = p.weigh(np.int32(3))  # 6.0
        fout[4] = p.shifted()  # U defaults to the class's `value_type` (float): 3.0

    return kernel


def test_member_templates_link(backend, D):
    backend.link(make_kernel(D), sig(backend), D.writer)
    src = D.writer.unit.source()
    assert "__nbst_self->operator()(*__nbst_a0, *__nbst_a1)" in src
    assert "__nbst_self->template operator()<int>(*__nbst_a0, *__nbst_a1)" in src
    assert "::mt::Scaler::square(*__nbst_a0)" in src  # T deduced by the call, as in C++ code
    assert "::mt::Poly<float>::cube(*__nbst_a0)" in src


def test_static_module_member_templates_link(backend, S):
    backend.link(make_kernel(S), sig(backend), None)


def test_static_module_reports_member_templates_bound(backend, S):
    assert S.report["skipped"] == []
    bound = {(b["kind"], b["name"], b["py_name"]) for b in S.report["bound"]}
    assert {("method", "mt::Affine::operator()", "__call__"), ("method template", "mt::Scaler::scale", "scale"),
            ("method template", "mt::Scaler::operator()", "__call__"),
            ("static method template", "mt::Scaler::square", "Scaler.square")} <= bound  # fmt: skip


def instance_functions_kernel(S):
    BoxF = S.Box[np.float32]
    box_int, unbox = S.box_int, S.unbox

    def kernel(iout, fout):
        fout[0] = unbox(BoxF(np.float32(2.5)))  # a parameter `const Box<float> &`: 2.5
        iout[0] = unbox(box_int(41))  # a return type `Box<int>`, then the `Box<int>` overload: 42

    return kernel


def test_functions_naming_class_instances_link(backend, S):
    bound = {(b["kind"], b["name"]) for b in S.report["bound"]}
    assert ("function_template", "mt::unbox") in bound and ("function_template", "mt::box_int") in bound
    backend.link(instance_functions_kernel(S), sig(backend), None)


@pytest.mark.gpu
def test_functions_naming_class_instances_values(backend, S):
    backend.gpu()
    iout, fout = np.zeros(8, np.int32), np.zeros(5, np.float32)
    backend.cuda.jit(backend.kernel(instance_functions_kernel(S)))[1, 1](iout, fout)
    assert iout[0] == 42 and fout[0] == 2.5


def test_member_template_mismatch_is_a_typing_error(backend, D):
    Scaler = D.Scaler

    def kernel(iout, fout):
        iout[0] = Scaler(2).scale(np.int32(1), np.int32(2))  # scale takes one argument

    with pytest.raises(Exception, match=r"no overload of mt::Scaler::scale fits"):
        backend.link(kernel, sig(backend), D.writer)


@pytest.mark.gpu
@pytest.mark.parametrize("mode", ["dynamic", "static"])
def test_member_templates_values(backend, mode, request):
    backend.gpu()
    kernel = backend.cuda.jit(backend.kernel(make_kernel(request.getfixturevalue({"dynamic": "D", "static": "S"}[mode]))))
    iout, fout = np.zeros(8, np.int32), np.zeros(5, np.float32)
    kernel[1, 1](iout, fout)
    assert iout.tolist() == EXPECTED_INT
    np.testing.assert_allclose(fout, EXPECTED_FLOAT)
