"""Property tests of the Python API's argument checking: any value in any argument of the public
functions either works or raises the documented exception (TypeError or ValueError for a value of
the wrong kind; OSError and ParseError where a path or a parse is involved), never an AttributeError,
a KeyError, a Rust panic or anything else from deep inside."""

from __future__ import annotations

import contextlib
import os
import warnings
from collections.abc import Iterable, Mapping
from pathlib import Path
from unittest import mock

import ast_canopy
import numbast
import pytest
from ast_canopy import ParseError, ToolchainError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

HEADER = """#pragma once
struct Pt { int x; float y; __device__ int sum() const { return x + (int)y; } };
enum class Mode { A, B };
__device__ inline int twice(int x) { return 2 * x; }
__device__ inline void bump(int &x) { x += 1; }
template <class T> __device__ T pick(T a, T b) { return a < b ? b : a; }
template <class T, int N = 2> struct Box { T v[N]; __device__ T first() const { return v[0]; } };
"""

scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12) | st.binary(max_size=8)
junk = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.tuples(inner, inner)
        | st.dictionaries(st.text(max_size=6) | st.integers(), inner, max_size=3)
        | st.frozensets(scalars, max_size=3)
    ),
    max_leaves=6,
) | st.sampled_from([object(), int, str, Path("nowhere.cuh"), lambda: None, ..., NotImplemented])

BIND_OK = (TypeError, ValueError)
PARSE_OK = (TypeError, ValueError, OSError, ParseError, ToolchainError)
PROPS = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.fixture(scope="module")
def decls(tmp_path_factory):
    path = tmp_path_factory.mktemp("api") / "api.cuh"
    path.write_text(HEADER)
    return path, ast_canopy.parse_declarations_from_source(path, [path], "sm_80")


def documented(allowed, fn, *args, valid: bool, **kwargs):
    """Calls `fn`. An exception outside `allowed` fails the test with what was passed; so does a
    call that returns when the value tried is not `valid` (of a kind the API documents): junk must
    be refused, not silently accepted. A valid value may still be refused (a path that does not
    exist, an architecture libclang does not know), with a message."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            fn(*args, **kwargs)
        except allowed as e:
            assert str(e), f"{type(e).__name__} without a message for {args!r} {kwargs!r}"
            return
    assert valid, f"junk accepted without an error: {args!r} {kwargs!r}"


def is_path(v) -> bool:
    return isinstance(v, (str, os.PathLike))


def is_collection_of(v, check) -> bool:
    """A list, tuple, set... (not a str, bytes or mapping) whose items all pass `check`."""
    if isinstance(v, (str, bytes, Mapping)) or not isinstance(v, Iterable):
        return False
    return all(check(x) for x in v)


def is_names(v) -> bool:
    return isinstance(v, str) or is_collection_of(v, lambda x: isinstance(x, str))


def is_intent_table(v) -> bool:
    """The shape of an argument intent table (the intent words themselves are checked per
    parameter: an unknown one is a skip of the declaration, reported)."""

    def params(t):
        return isinstance(t, Mapping) and all(
            isinstance(k, (str, int)) and not isinstance(k, bool) and isinstance(i, str) for k, i in t.items()
        )

    def owner(e):
        if not isinstance(e, Mapping):
            return False
        if any(isinstance(x, Mapping) for x in e.values()):
            return all(isinstance(m, str) and params(t) for m, t in e.items())
        return params(e)

    return isinstance(v, Mapping) and all(isinstance(k, str) and owner(e) for k, e in v.items())


def is_data_model(v) -> bool:
    """None, a model's word, or a `PrimitiveModel`/`StructModel` class (of numba or numba-cuda)."""
    if v is None or (isinstance(v, str) and v in ("primitive", "struct", "auto")):
        return True
    return isinstance(v, type) and any(c.__name__ in ("PrimitiveModel", "StructModel") for c in v.__mro__)


def is_parent(v) -> bool:
    from numba.core import types

    return isinstance(v, type) and issubclass(v, types.Type)


def table_entry(check):
    """A per-struct table: None (no entries), or a mapping whose entry for the test's struct `Pt`,
    if any, passes `check` (entries for other names are not looked at)."""
    return lambda v: v is None or (isinstance(v, Mapping) and ("Pt" not in v or check(v["Pt"])))


@contextlib.contextmanager
def own_type_tables():
    """Dynamic mode's C++ type tables, copied for the duration: a random name such as `int`, given
    as an alias or a registered type, must not change how other tests bind their types."""
    from numbast import _dynamic

    bindings = _dynamic._BINDINGS
    with mock.patch.object(bindings, "types", dict(bindings.types)), mock.patch.object(bindings, "alignments", dict(bindings.alignments)):
        yield


def replaced(args: dict, name: str, value) -> dict:
    return dict(args, **{name: value})


@PROPS
@given(which=st.sampled_from(["source_file_path", "files_to_retain", "compute_capability",
                              "cudatoolkit_include_dirs", "cxx_standard", "additional_includes", "defines"]),
       value=junk)  # fmt: skip
def test_parse_arguments(decls, which, value):
    path, _ = decls
    good = dict(source_file_path=path, files_to_retain=[path], compute_capability="sm_80")
    valid = {
        "source_file_path": is_path(value),
        "files_to_retain": is_path(value) or is_collection_of(value, is_path),
        "compute_capability": isinstance(value, str),
        "cxx_standard": isinstance(value, str),
    }.get(which, value is None or is_path(value) or is_collection_of(value, is_path))
    documented(PARSE_OK, ast_canopy.parse_declarations_from_source, **replaced(good, which, value), valid=valid)


@PROPS
@given(which=st.sampled_from(["source_text", "vardecl_name", "compute_capability"]), value=junk)
def test_constexpr_value_arguments(which, value):
    good = dict(source_text="constexpr int k = 3;", vardecl_name="k", compute_capability="sm_80")
    valid = isinstance(value, str)
    documented(PARSE_OK, ast_canopy.value_from_constexpr_vardecl, **replaced(good, which, value), valid=valid)


# What each bind argument documents (a value of another kind must be refused).
BIND_ARGUMENTS = {
    "shim_writer": lambda v: isinstance(v, numbast.MemoryShimWriter),
    "struct_decl": lambda v: isinstance(v, ast_canopy.decls.Struct),
    "structs": lambda v: is_collection_of(v, lambda x: isinstance(x, ast_canopy.decls.Struct)),
    "func_decl": lambda v: isinstance(v, ast_canopy.decls.Function),
    "functions": lambda v: is_collection_of(v, lambda x: isinstance(x, ast_canopy.decls.Function)),
    "parent_type": is_parent,
    "parent_types": table_entry(is_parent),
    "data_model": is_data_model,
    "data_models": table_entry(is_data_model),
    "aliases": lambda v: v is None or (isinstance(v, Mapping) and all(is_names(x) for x in v.values())),
    "arg_intent": lambda v: v is None or is_intent_table(v),
    "name": lambda v: v is None or isinstance(v, str),
    "names": lambda v: v is None or table_entry(lambda x: x is None or isinstance(x, str))(v),
    "skip_prefix": lambda v: v is None or isinstance(v, str),
    "skip_non_device": lambda v: isinstance(v, (bool, int)),
    "exclude": lambda v: v is None or is_names(v),
    "overloads": lambda v: is_collection_of(v, lambda x: isinstance(x, ast_canopy.decls.FunctionTemplate)),
    "function_templates": lambda v: is_collection_of(v, lambda x: isinstance(x, ast_canopy.decls.FunctionTemplate)),
    "class_template_decl": lambda v: isinstance(v, ast_canopy.decls.ClassTemplate),
    "class_templates": lambda v: is_collection_of(v, lambda x: isinstance(x, ast_canopy.decls.ClassTemplate)),
    "header_path": lambda v: v is None or is_path(v),
}
# Arguments whose rule differs by function: a function template's Python name is required.
BIND_ARGUMENT_OVERRIDES = {("bind_cxx_function_template", "name"): lambda v: isinstance(v, str) and v != ""}


def struct_aliases(v) -> bool:
    """bind_cxx_struct's `aliases`: a table, or the one struct's aliases."""
    return is_names(v) or BIND_ARGUMENTS["aliases"](v)


# The bind functions: the declaration argument each needs (from the parsed header), and every
# argument that a test replaces.
BIND_APIS = {
    "bind_cxx_struct": ("struct_decl", lambda d: d.structs[0],
                        ["parent_type", "data_model", "aliases", "arg_intent", "name"]),
    "bind_cxx_structs": ("structs", lambda d: d.structs,
                         ["parent_types", "data_models", "aliases", "arg_intent", "names"]),
    "bind_cxx_function": ("func_decl", lambda d: d.functions[0],
                          ["skip_prefix", "skip_non_device", "exclude", "arg_intent"]),
    "bind_cxx_functions": ("functions", lambda d: d.functions,
                           ["skip_prefix", "skip_non_device", "exclude", "arg_intent"]),
    "bind_cxx_function_template": ("overloads", lambda d: d.function_templates, ["name", "arg_intent"]),
    "bind_cxx_function_templates": ("function_templates", lambda d: d.function_templates,
                                    ["skip_prefix", "skip_non_device", "exclude", "arg_intent"]),
    "bind_cxx_class_template": ("class_template_decl", lambda d: d.class_templates[0], ["header_path", "arg_intent"]),
    "bind_cxx_class_templates": ("class_templates", lambda d: d.class_templates, ["header_path", "arg_intent"]),
}  # fmt: skip
# Arguments a bind function needs besides its declarations.
BIND_REQUIRED = {"bind_cxx_function_template": {"name": "pick"}, "bind_cxx_class_templates": {"header_path": None}}


@pytest.mark.parametrize("api", list(BIND_APIS))
@PROPS
@given(data=st.data(), value=junk)
def test_bind_arguments(decls, api, data, value):
    path, d = decls
    decl_arg, decl_of, options = BIND_APIS[api]
    which = data.draw(st.sampled_from(["shim_writer", decl_arg, *options]), label="which")
    good = {"shim_writer": numbast.MemoryShimWriter(f'#include "{path}"'), decl_arg: decl_of(d), **BIND_REQUIRED.get(api, {})}
    if (api, which) == ("bind_cxx_struct", "aliases"):
        rule = struct_aliases
    else:
        rule = BIND_ARGUMENT_OVERRIDES.get((api, which), BIND_ARGUMENTS[which])
    valid = rule(value)
    with own_type_tables():
        documented(BIND_OK, getattr(numbast, api), **replaced(good, which, value), valid=valid)


@PROPS
@given(intent=st.dictionaries(st.text(max_size=8) | st.integers(), junk, max_size=3),
       func=st.sampled_from(["bump", "twice", "nothing"]))  # fmt: skip
def test_intent_tables(decls, intent, func):
    """`arg_intent` values of any shape, under a real function's name."""
    path, d = decls
    writer = numbast.MemoryShimWriter(f'#include "{path}"')
    with own_type_tables():
        documented(
            BIND_OK, numbast.bind_cxx_functions, writer, d.functions, arg_intent={func: intent}, valid=is_intent_table({func: intent})
        )


@PROPS
@given(value=junk)
def test_bind_cxx_enum_arguments(value):
    documented(BIND_OK, numbast.bind_cxx_enum, value, valid=isinstance(value, ast_canopy.decls.Enum))
    documented(BIND_OK, numbast.bind_cxx_enums, value, valid=is_collection_of(value, lambda x: isinstance(x, ast_canopy.decls.Enum)))


@PROPS
@given(which=st.sampled_from(["cxx_name", "numba_type", "alignof"]), value=junk)
def test_register_cxx_type_arguments(which, value):
    from numba.cuda import types

    # A type of its own: a valid alignof given here must not change how other tests store int64.
    good = dict(cxx_name="api_test_handle_t", numba_type=types.Opaque("api_test_handle"))
    with own_type_tables():
        valid = {
            "cxx_name": isinstance(value, str) and value != "",
            "numba_type": isinstance(value, types.Type),
            "alignof": value is None or (type(value) is int and 0 < value <= 4096 and value & (value - 1) == 0),
        }[which]
        documented(BIND_OK, numbast.register_cxx_type, **replaced(good, which, value), valid=valid)


@PROPS
@given(value=junk)
def test_shim_writer_arguments(value):
    documented(BIND_OK, numbast.MemoryShimWriter, value, valid=isinstance(value, str))
    documented(BIND_OK, numbast.FileShimWriter, value, valid=isinstance(value, str))


@pytest.mark.parametrize(
    "alignof, error", [(3, ValueError), (0, ValueError), (8192, ValueError), (True, TypeError), ("8", TypeError), (8.0, TypeError)]
)
def test_register_cxx_type_alignof_is_checked(alignof, error):
    """An alignof that is not a power of two would become the alignment of every stack slot of the
    type, which NVVM refuses: it is an error naming the type instead."""
    from numba.cuda import types

    with pytest.raises(error, match=r"^alignof of 'api_align_t' must be "):
        numbast.register_cxx_type("api_align_t", types.Opaque("api_align"), alignof=alignof)
