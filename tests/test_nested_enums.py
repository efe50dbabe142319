"""Enums nested in a struct are attributes of the outer type (`Dial.Mode.High`), in Python code and
in kernels, where their members are values and arguments; a nested enum is a non-type template
argument. A class template's enums are attributes of its instantiations (`Table[np.int32, 4].Bits`,
values that need the arguments probed) and, where they do not depend on the arguments, of the
template (`Table.Pick`). Dynamic mode and a generated static module, on
tests/headers/nested_enums.cuh, on both backends (the `backend` fixture). CPU tests link; `gpu`
tests check values."""

from __future__ import annotations

import warnings
from pathlib import Path

import ast_canopy
import numpy as np
import pytest
from _helpers import generate_static_module

HEADER = Path(__file__).resolve().parent / "headers" / "nested_enums.cuh"
ARCH = "sm_80"
EXPECTED = [3, 30, 51, 101, 1, 40, 77, 50]


@pytest.fixture(scope="module")
def D(backend):
    api = backend.api
    decls = ast_canopy.parse_declarations_from_source(str(HEADER), [str(HEADER)], ARCH)
    writer = api.MemoryShimWriter(f'#include "{HEADER}"')
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # everything in the header binds
        enums = api.bind_cxx_enums(decls.enums)
        (dial,) = api.bind_cxx_structs(writer, decls.structs)
        functions = api.bind_cxx_functions(writer, decls.functions)
        templates = api.bind_cxx_function_templates(function_templates=decls.function_templates, shim_writer=writer)
        scaled, table = api.bind_cxx_class_templates(decls.class_templates, None, writer)
    ns = {"writer": writer, "decls": decls, "Dial": dial, "Scaled": scaled, "Table": table, "backend": backend}
    ns.update({e.__name__: e for e in enums})
    ns.update({f.__name__: f for f in [*functions, *templates]})
    return ns


@pytest.fixture(scope="module")
def S(backend, tmp_path_factory):
    """The header generated as a static module for the backend, imported."""
    return generate_static_module(tmp_path_factory.mktemp("nested_enums"), HEADER, "nested_enums_static", ARCH, backend)


def sig(backend):
    return (backend.typeof(np.zeros(8, np.int32)),)


def test_nested_enums_are_in_the_model(D):
    values = {e.qual_name: dict(zip(e.enumerators, e.enumerator_values)) for e in D["decls"].enums}
    assert values == {
        "ne::Dial::Mode": {"Low": "1", "High": "10"},
        "ne::Dial::Step": {"Fine": "2", "Coarse": "50"},
    }


def test_class_template_enums_are_in_the_model(D):
    """A class template's enums are its record's; their values come from their initializers or
    count on from the previous one (clang leaves them at 0 until the class is instantiated)."""
    (table,) = [t for t in D["decls"].class_templates if t.qual_name == "ne::Table"]
    enums = {e.qual_name: (dict(zip(e.enumerators, e.enumerator_values)), e.is_scoped, e.underlying_type.name)
             for e in table.record.nested_enums}  # fmt: skip
    assert enums == {
        "ne::Table::Pick": ({"First": "1", "Last": "2"}, False, "<dependent type>"),
        "ne::Table::Scale": ({"One": "1", "Ten": "10"}, True, "short"),
        # `Wider` follows an unknown value: unknown too
        "ne::Table::Bits": ({"Width": "", "Wider": "", "Half": "", "Down": ""}, False, "<dependent type>"),
    }
    assert not any(e.qual_name.startswith("ne::Table") for e in D["decls"].enums)


def test_nested_enums_are_attributes(D):
    Dial = D["Dial"]
    assert Dial.Mode is D["Mode"] and Dial.Step is D["Step"]
    assert int(Dial.Mode.High) == 10 and int(Dial.Step.Coarse) == 50


def test_nested_enums_are_attributes_of_static_structs(S):
    assert S.Dial.Mode is S.Mode and int(S.Dial.Mode.High) == 10
    assert S.Dial.Step is S.Step and int(S.Dial.Step.Fine) == 2


def make_kernel(ns):
    Dial, Scaled = ns.Dial, ns.Scaled
    mode_value, times_mode = ns.mode_value, ns.times_mode
    times_high = times_mode[Dial.Mode.High]  # a nested enum as a template argument
    ScaledLow = Scaled[np.int32, Dial.Mode.Low]
    ScaledDefault = Scaled[np.int32]  # the default argument `Dial::High`

    def kernel(iout):
        iout[0] = Dial().scale(3)  # Low: 3
        iout[1] = Dial(Dial.Mode.High).scale(3)  # a member as a constructor argument: 30
        iout[2] = Dial().step(Dial.Step.Coarse, 1)  # a scoped enum as a method argument: 51
        iout[3] = mode_value(Dial.Mode.Low)  # as a free function's argument: 101
        iout[4] = 1 if Dial(Dial.Mode.High).get() == Dial.Mode.High else 0  # a returned member
        iout[5] = times_high(4)  # 40
        iout[6] = ScaledLow(7).get() + ScaledDefault(7).get()  # 7 + 70
        iout[7] = Dial.Step.Coarse  # a member as a value: 50

    return kernel


class _Names:
    def __init__(self, mapping):
        self.__dict__.update(mapping)


def test_nested_enums_in_kernels_link(backend, D):
    backend.link(make_kernel(_Names(D)), sig(backend), D["writer"])
    src = D["writer"].unit.source()
    assert "::ne::times_mode<static_cast<ne::Dial::Mode>(10)>(*__nbst_a0)" in src


def test_nested_enums_in_static_module_kernels_link(backend, S):
    backend.link(make_kernel(S), sig(backend), None)


@pytest.mark.gpu
@pytest.mark.parametrize("mode", ["dynamic", "static"])
def test_nested_enums_in_kernels_run(D, S, mode):
    assert run_on_gpu(make_kernel, D, S, mode) == EXPECTED


def run_on_gpu(make, D, S, mode):
    """The eight ints the kernel `make` builds for the dynamic (`D`) or static (`S`) bindings
    writes, run on the GPU."""
    backend = D["backend"]
    backend.gpu()
    cuda = backend.cuda
    kernel = cuda.jit(backend.kernel(make(_Names(D) if mode == "dynamic" else S)))
    iout = cuda.to_device(np.zeros(8, np.int32))
    kernel[1, 1](iout)
    return iout.copy_to_host().tolist()


def test_class_template_enums_are_attributes(D, S):
    """An enum known without the template's arguments is one, on the template and on every
    instantiation; one whose values need them is an instantiation's, its values probed."""
    for Table in (D["Table"], S.Table):
        t4, t2 = Table[np.int32, 4], Table[np.int64, 2]
        assert Table.Pick is t4.Pick is t2.Pick and Table.Scale is t4.Scale
        assert (int(Table.Pick.First), int(Table.Pick.Last), int(Table.Scale.Ten)) == (1, 2, 10)
        with pytest.raises(AttributeError, match=r"ne::Table::Bits depends on the template's arguments: it is an "
                                                 r"attribute of an instantiation \(Table\[\.\.\.\]\.Bits\)"):  # fmt: skip
            getattr(Table, "Bits")  # noqa: B009
        assert [(m.name, int(m)) for m in t4.Bits] == [("Width", 32), ("Wider", 33), ("Half", 16), ("Down", -4)]
        assert [(m.name, int(m)) for m in t2.Bits] == [("Width", 64), ("Wider", 65), ("Half", 32), ("Down", -8)]
        assert t4.Bits is not t2.Bits


def make_table_kernel(ns):
    Table = ns.Table
    T4, T2 = Table[np.int32, 4], Table[np.int64, 2]

    def kernel(iout):
        t = T4(5)  # v = 5, 6, 7, 8
        iout[0] = t.pick(T4.Pick.Last)  # an instantiation's enum as a method argument: 8
        iout[1] = t.pick(Table.Pick.First)  # the template's: 5
        iout[2] = t.scaled(T4.Scale.Ten)  # a scoped enum: 50
        iout[3] = T4.Bits.Half  # a probed value as a constant: 16
        iout[4] = t.bits(T4.Bits.Wider)  # 1033
        iout[5] = T2(1).bits(T2.Bits.Width) + T2(1).bits(T2.Bits.Down)  # another instantiation's: 1064 + 992
        iout[6] = 1 if t.last() == Table.Pick.Last else 0  # a returned member: 1
        iout[7] = Table.Scale.Ten + T2.Bits.Wider  # 75

    return kernel


TABLE_EXPECTED = [8, 5, 50, 16, 1033, 2056, 1, 75]


@pytest.mark.parametrize("mode", ["dynamic", "static"])
def test_class_template_enums_in_kernels_link(backend, D, S, mode):
    backend.link(make_table_kernel(_Names(D) if mode == "dynamic" else S), sig(backend), D["writer"] if mode == "dynamic" else None)
    if mode == "dynamic":
        src = D["writer"].unit.source()
        assert "__nbst_ptr<ne::Table<int, 4>::Bits> __nbst_a0" in src
        assert "__nbst_ptr<ne::Table<long long, 2>::Bits> __nbst_a0" in src


@pytest.mark.gpu
@pytest.mark.parametrize("mode", ["dynamic", "static"])
def test_class_template_enums_in_kernels_run(D, S, mode):
    assert run_on_gpu(make_table_kernel, D, S, mode) == TABLE_EXPECTED
