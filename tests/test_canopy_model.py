"""The helpers of the Python model: operators, conversion operators, constructors, public fields,
template instantiation, and pickling."""

from __future__ import annotations

import operator
import pickle
from pathlib import Path

import ast_canopy
import pytest
from ast_canopy import access_kind, method_kind

HEADERS_DIR = Path(__file__).resolve().parent / "headers"


def parse(name: str):
    header = HEADERS_DIR / name
    return ast_canopy.parse_declarations_from_source(header, [header], "sm_80")


@pytest.fixture(scope="module")
def structs():
    return parse("structs.cuh")


@pytest.fixture(scope="module")
def templates():
    return parse("templates.cuh")


def _struct(decls, name):
    return next(s for s in decls.structs if s.name == name)


def _methods(record, name):
    return [m for m in record.methods if m.name == name]


def test_operator_classification(structs):
    vec3 = _struct(structs, "Vec3")
    by_params = {len(m.params): m for m in _methods(vec3, "operator-")}
    assert by_params[0].overloaded_operator_to_python_operator is operator.neg
    assert by_params[1].overloaded_operator_to_python_operator is operator.sub
    (plus,) = _methods(vec3, "operator+")
    assert plus.overloaded_operator_to_python_operator is operator.add
    (iadd,) = _methods(vec3, "operator+=")
    assert iadd.overloaded_operator_to_python_operator is operator.iadd
    (eq,) = _methods(vec3, "operator==")
    assert eq.overloaded_operator_to_python_operator is operator.eq
    for m in _methods(vec3, "operator="):
        assert m.is_overloaded_operator()
        assert m.overloaded_operator_to_python_operator is None
    assert [m.is_copy_assignment for m in _methods(vec3, "operator=")] == [True, False]
    assert [m.is_move_assignment for m in _methods(vec3, "operator=")] == [False, True]
    for name in ("operator[]", "operator()"):
        (m,) = _methods(vec3, name)
        assert m.is_overloaded_operator()
        assert not m.is_conversion_operator()
        assert m.overloaded_operator_to_python_operator is None
    (dot,) = _methods(vec3, "dot")
    assert not dot.is_overloaded_operator() and not dot.is_conversion_operator()


def test_conversion_operators(structs):
    vec3 = _struct(structs, "Vec3")
    conversions = vec3.conversion_operators()
    assert [m.name for m in conversions] == ["operator bool", "operator float"]
    assert [m.return_type.name for m in conversions] == ["bool", "float"]
    for m in conversions:
        assert m.is_conversion_operator()
        assert not m.is_overloaded_operator()
        assert m.overloaded_operator_to_python_operator is None
    assert {m.name for m in vec3.overloaded_operators()} == {
        "operator=", "operator+", "operator-", "operator+=", "operator==", "operator[]", "operator()",
    }  # fmt: skip
    assert [m.name for m in vec3.regular_member_functions()] == ["dot", "zero", "scale"]


def test_free_operators_use_arity():
    decls = parse("functions.cuh")
    ops = {(f.name, len(f.params)): f.overloaded_operator_to_python_operator for f in decls.functions if f.is_operator}
    assert ops == {("operator+", 2): operator.add, ("operator-", 1): operator.neg, ("operator<", 2): operator.lt}


def test_constructors(structs):
    vec3 = _struct(structs, "Vec3")
    kinds = [(c.kind, len(c.params)) for c in vec3.constructors()]
    assert kinds == [
        (method_kind.default_constructor, 0),
        (method_kind.copy_constructor, 1),
        (method_kind.move_constructor, 1),
        (method_kind.converting_constructor, 1),
        (method_kind.other_constructor, 1),  # explicit: not converting
        (method_kind.other_constructor, 3),
    ]
    assert all(c.is_constructor for c in vec3.constructors())
    assert [c.is_move_constructor for c in vec3.constructors()] == [False, False, True, False, False, False]
    assert all(c.return_type.name == "void" for c in vec3.constructors())
    # Private and deleted constructors are not bindable and not reported.
    access = _struct(structs, "Access")
    assert [(c.kind, len(c.params)) for c in access.constructors()] == [(method_kind.default_constructor, 0)]


def test_public_fields(structs):
    access = _struct(structs, "Access")
    assert [(f.name, f.access) for f in access.fields] == [
        ("pub", access_kind.public_), ("prot", access_kind.protected_), ("priv", access_kind.private_),
    ]  # fmt: skip
    assert [f.name for f in access.public_fields()] == ["pub"]
    assert [m.name for m in access.methods] == ["get", "Access"]


def test_virtual_and_static_methods(structs):
    poly = _struct(structs, "Polymorphic")
    flags = {m.name: (m.is_virtual, m.is_static, m.is_const) for m in poly.methods}
    assert flags == {"~Polymorphic": (True, False, False), "area": (True, False, True), "count": (False, True, False)}
    assert (poly.sizeof_, poly.fields[0].offset) == (16, 8)  # after the vtable pointer
    count = next(m for m in poly.methods if m.name == "count")
    assert count.overloaded_operator_to_python_operator is None


def test_alignas_and_offsets(structs):
    vec3 = _struct(structs, "Vec3")
    assert (vec3.sizeof_, vec3.alignof_) == (16, 16)
    assert [(f.name, f.offset) for f in vec3.fields] == [("x", 0), ("y", 4), ("z", 8)]
    outer = _struct(structs, "Outer")
    assert [f.offset for f in outer.fields] == [0, 4, ast_canopy.UNKNOWN_LAYOUT, ast_canopy.UNKNOWN_LAYOUT]
    anonymous = _struct(structs, "WithAnonymous")
    assert [(f.name, f.offset) for f in anonymous.fields] == [("i", 0), ("f", 0), ("tail", 4)]


def _template(decls, qual_name):
    return next(t for t in decls.class_templates + decls.function_templates if t.qual_name == qual_name)


def test_instantiate_class_templates(templates):
    array = _template(templates, "Array")
    assert array.num_min_required_args == 1
    assert array.instantiate(T="float") == "Array<float>"
    assert array.instantiate(T="float", N=8) == "Array<float, 8>"
    # A parameter left out stays dependent: a partial instantiation.
    assert str(array.instantiate(N=8)) == "Array<T, 8>" and array.instantiate(N=8).is_partial
    with pytest.raises(ValueError, match=r"no template parameter\(s\) \['M'\]"):
        array.instantiate(T="int", M=3)
    wrapper = _template(templates, "Wrapper")
    assert wrapper.instantiate(Container="Array") == "Wrapper<Array>"
    # A default before a given argument is written out.
    assert wrapper.instantiate(Container="Array", Size=2) == "Wrapper<Array, float, 2>"
    tuple_ = _template(templates, "Tuple")
    assert tuple_.num_min_required_args == 0
    assert tuple_.instantiate() == "Tuple<>"
    assert tuple_.instantiate(Ts=["int", "float"]) == "Tuple<int, float>"


def test_instantiate_function_templates(templates):
    cast = _template(templates, "cast")
    assert cast.instantiate(T="int") == "cast<int>"
    # `U = T` names an earlier parameter: the default is written with T's argument.
    assert cast.instantiate(T="int", Checked=True) == "cast<int, int, true>"
    first = _template(templates, "first")
    assert first.instantiate(T="int", Rest=("float", "double")) == "first<int, float, double>"
    np = pytest.importorskip("numpy")
    assert cast.instantiate(T=np.float32, U=np.dtype("int64")) == "cast<float, long long>"


def test_template_parameters(templates):
    wrapper = _template(templates, "Wrapper")
    params = [(p.name, p.kind.value, p.is_pack, p.default) for p in wrapper.template_parameters]
    assert params == [("Container", "template", False, None), ("Elem", "type", False, "float"), ("Size", "non_type", False, "8U")]
    assert wrapper.template_parameters[2].type_.name == "unsigned int"
    assert _template(templates, "first").template_parameters[1].is_pack


def test_specializations(templates):
    specs = {s.specialized_name: s for s in templates.class_template_specializations}
    assert set(specs) == {"Array<int, 4>", "Array<float, 2>", "Op<double, true>"}
    op = specs["Op<double, true>"]
    assert (op.name, op.qual_name, op.template_qual_name) == ("Op", "lib::Op<double, true>", "lib::Op")
    assert op.actual_template_arguments == ("double", "true")
    assert [m.qual_name for m in op.methods] == ["lib::Op<double, true>::run"]
    # The partial specialization Array<T, 0> is neither a template nor a specialization.
    assert [t.qual_name for t in templates.class_templates].count("Array") == 1


def test_declarations_pickle(structs, templates):
    for decls in (structs, templates):
        clone = pickle.loads(pickle.dumps(decls))
        assert clone == decls
        assert clone is not decls
    vec3 = _struct(structs, "Vec3")
    assert pickle.loads(pickle.dumps(vec3)).methods[0].kind is method_kind.default_constructor


def test_model_objects_are_frozen(structs):
    with pytest.raises(AttributeError):
        structs.structs[0].name = "Other"


def _function(decls, name):
    return next(f for f in decls.functions if f.name == name)


def test_type_spellings():
    decls = parse("typedefs.cuh")
    assert [p.type_.name for p in _function(decls, "keep_int32").params] == ["int32_t", "uint64_t"]
    resolved = _function(decls, "resolve_typedef")
    assert resolved.return_type.name == "int"
    assert [p.type_.name for p in resolved.params] == ["int", "double"]
    (ref,) = _function(decls, "const_ptr_const_ref").params
    assert ref.type_.name == "const int *const &"
    assert ref.type_.unqualified_non_ref_type_name == "int *"
    assert ref.type_.is_left_reference() and ref.type_.is_const
    (typedef_ref,) = _function(decls, "typedef_ref").params
    assert (typedef_ref.type_.name, typedef_ref.type_.ref_kind) == ("int &", "lvalue")
    pair = next(s for s in decls.structs if s.name == "Pair")
    assert pair.qual_name == "Pair" and [f.name for f in pair.fields] == ["first", "second"]
    complex_ = next(s for s in decls.structs if s.name == "Complex")
    assert complex_.qual_name == "ns::Complex"
    typedefs = {t.qual_name: t.underlying_name for t in decls.typedefs}
    assert typedefs["word"] == "int32_t" and typedefs["myint2"] == "int"
    assert typedefs["ns::Callback"] == "void (*)(int)"

    functions = parse("functions.cuh")
    by_ref = _function(functions, "by_rvalue").params[0].type_
    assert (by_ref.name, by_ref.is_right_reference()) == ("Pt &&", True)
    (array,) = _function(functions, "array_param").params
    assert (array.type_.name, array.type_.shape.tag) == ("int *", "pointer")  # arrays decay
    assert _function(functions, "never_inlined").attributes == {"noinline"}
    assert _function(functions, "always_inlined").attributes == {"always_inline"}
    assert _function(functions, "square").is_constexpr
    assert _function(functions, "first_of").is_variadic
    spaces = {f.name: f.exec_space.value for f in functions.functions}
    assert (spaces["kernel"], spaces["both_sides"], spaces["host_only"]) == ("global", "host_device", "host")
    assert {"neg_int", "neg_float"} <= set(spaces)  # defined by a macro
    assert [f.name for f in functions.functions].count("declared_twice") == 1
    assert [len(f.params) for f in functions.functions if f.name == "takes_float"] == [1]  # `= delete` skipped


def test_qualified_names():
    decls = parse("namespaces.cuh")
    names = {f.qual_name for f in decls.functions}
    assert {"outer::free_fn", "outer::inner::make_c", "outer::inner::deep::deep_fn", "c_api"} <= names
    # Inline namespaces are not written, as in C++; an anonymous one is, as clang prints it.
    assert {"outer::(anonymous namespace)::hidden_fn", "outer::versioned"} <= names
    assert {s.qual_name for s in decls.structs} == {"outer::A", "outer::inner::B", "outer::(anonymous namespace)::Hidden"}
    b = next(s for s in decls.structs if s.name == "B")
    assert [r.qual_name for r in b.nested_records] == ["outer::inner::B::C"]
    assert _function(decls, "hidden_fn").params[0].type_.name == "outer::Hidden"
    assert [e.qual_name for e in decls.enums] == ["outer::inner::E"]
    enums = {e.qual_name: e for e in parse("enums.cuh").enums}
    assert enums["Holder::Kind"].enumerators == ("First", "Second")
    assert enums["Mode"].is_scoped and not enums["Color"].is_scoped
    assert enums["Signed"].underlying_type.name == "int64_t"
    assert enums["Signed"].enumerator_values == ("-3", "9000000000")
