"""Property tests of the Python API's argument checking: any value in any argument of the public
functions either works or raises the documented exception (TypeError or ValueError for a value of
the wrong kind; OSError and ParseError where a path or a parse is involved), never an AttributeError,
a KeyError, a Rust panic or anything else from deep inside."""

from __future__ import annotations

import contextlib
import warnings
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


def documented(allowed, fn, *args, **kwargs):
    """Calls `fn`; an exception outside `allowed` fails the test with what was passed."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            fn(*args, **kwargs)
        except allowed as e:
            assert str(e), f"{type(e).__name__} without a message for {args!r} {kwargs!r}"


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
    documented(PARSE_OK, ast_canopy.parse_declarations_from_source, **replaced(good, which, value))


@PROPS
@given(which=st.sampled_from(["source_text", "vardecl_name", "compute_capability"]), value=junk)
def test_constexpr_value_arguments(which, value):
    good = dict(source_text="constexpr int k = 3;", vardecl_name="k", compute_capability="sm_80")
    documented(PARSE_OK, ast_canopy.value_from_constexpr_vardecl, **replaced(good, which, value))


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
}  # fmt: skip


@pytest.mark.parametrize("api", list(BIND_APIS))
@PROPS
@given(data=st.data(), value=junk)
def test_bind_arguments(decls, api, data, value):
    path, d = decls
    decl_arg, decl_of, options = BIND_APIS[api]
    which = data.draw(st.sampled_from(["shim_writer", decl_arg, *options]), label="which")
    good = {"shim_writer": numbast.MemoryShimWriter(f'#include "{path}"'), decl_arg: decl_of(d)}
    with own_type_tables():
        documented(BIND_OK, getattr(numbast, api), **replaced(good, which, value))


@PROPS
@given(intent=st.dictionaries(st.text(max_size=8) | st.integers(), junk, max_size=3),
       func=st.sampled_from(["bump", "twice", "nothing"]))  # fmt: skip
def test_intent_tables(decls, intent, func):
    """`arg_intent` values of any shape, under a real function's name."""
    path, d = decls
    writer = numbast.MemoryShimWriter(f'#include "{path}"')
    with own_type_tables():
        documented(BIND_OK, numbast.bind_cxx_functions, writer, d.functions, arg_intent={func: intent})


@PROPS
@given(value=junk)
def test_bind_cxx_enum_arguments(value):
    documented(BIND_OK, numbast.bind_cxx_enum, value)
    documented(BIND_OK, numbast.bind_cxx_enums, value)


@PROPS
@given(which=st.sampled_from(["cxx_name", "numba_type", "alignof"]), value=junk)
def test_register_cxx_type_arguments(which, value):
    from numba.cuda import types

    # A type of its own: a valid alignof given here must not change how other tests store int64.
    good = dict(cxx_name="api_test_handle_t", numba_type=types.Opaque("api_test_handle"))
    with own_type_tables():
        documented(BIND_OK, numbast.register_cxx_type, **replaced(good, which, value))


@PROPS
@given(value=junk)
def test_shim_writer_arguments(value):
    documented(BIND_OK, numbast.MemoryShimWriter, value)
    documented(BIND_OK, numbast.FileShimWriter, value)


@pytest.mark.parametrize(
    "alignof, error", [(3, ValueError), (0, ValueError), (8192, ValueError), (True, TypeError), ("8", TypeError), (8.0, TypeError)]
)
def test_register_cxx_type_alignof_is_checked(alignof, error):
    """An alignof that is not a power of two would become the alignment of every stack slot of the
    type, which NVVM refuses: it is an error naming the type instead."""
    from numba.cuda import types

    with pytest.raises(error, match=r"^alignof of 'api_align_t' must be "):
        numbast.register_cxx_type("api_align_t", types.Opaque("api_align"), alignof=alignof)
