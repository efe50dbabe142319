"""Dynamic mode's request and response (`crates/bindgen/src/request.rs`, `crates/py/src/objects.rs`):
the declaration objects read directly by the Rust core give the same rendering as their JSON form;
functions and operators come back as data and are registered lazily (`_runtime.BoundFunction`);
bad request objects are refused with a message naming them."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from _helpers import require_gpu, shims_of
from ast_canopy import _core, parse_declarations_from_source
from numba import cuda, types
from numbast import MemoryShimWriter, bind_cxx_functions
from numbast._dynamic import bind_declarations
from numbast._json import dumps, to_plain
from numbast._typing import _MODES
from numbast.testing import link_kernel

HEADERS = Path(__file__).resolve().parent / "headers"
ARCH = "sm_80"


def parse(path):
    return parse_declarations_from_source(str(path), [str(path)], ARCH)


def request(decls, as_data):
    return {
        "context": {"unit_tag": "t", "functions_as_data": as_data},
        "enums": [{"decl": e} for e in decls.enums],
        "structs": [{"decl": s, "parent": "types.Type", "model": "auto"} for s in decls.structs],
        "typedefs": list(decls.typedefs),
        "functions": [{"decl": f} for f in decls.functions],
        "function_templates": [{"decl": t} for t in decls.function_templates],
        "class_templates": [{"decl": t} for t in decls.class_templates],
    }


def as_json(req):
    """The same request through the JSON form (declarations converted to dicts in Python)."""
    plain = {k: v for k, v in req.items() if k == "context"}
    for key, items in req.items():
        if key == "typedefs":
            plain[key] = [to_plain(t) for t in items]
        elif key != "context":
            plain[key] = [{**i, "decl": to_plain(i["decl"])} for i in items]
    return dumps(plain)


@pytest.mark.parametrize("header", ["functions.cuh", "structs.cuh", "enums.cuh", "templates.cuh", "namespaces.cuh", "typedefs.cuh"])
@pytest.mark.parametrize("as_data", [False, True])
def test_objects_render_as_their_json_form(header, as_data):
    decls = parse(HEADERS / header)
    req = request(decls, as_data)
    from_objects = json.loads(_core.render_bindings(req))
    from_json = json.loads(_core.render_bindings(as_json(req)))
    assert from_objects == from_json
    assert from_objects["report"]["bound"], from_objects["report"]


def test_functions_as_data_hold_every_function_and_operator_of_the_code():
    decls = parse(HEADERS / "functions.cuh")
    code = json.loads(_core.render_bindings(request(decls, False)))
    data = json.loads(_core.render_bindings(request(decls, True)))
    assert code["report"] == data["report"]
    rows = [row for seg in data["segments"] if "functions" in seg for row in seg["functions"]["rows"]]
    calls = code["code"].count("_b.function(") + code["code"].count("_b.operator(")
    assert len(rows) == calls > 0
    for seg in data["segments"]:
        if "functions" in seg:
            table = seg["functions"]
            assert len(set(table["types"])) == len(table["types"])  # each type expression once
            for _name, _op, shim, src, ret, params in table["rows"]:
                assert shim in code["code"] and 0 <= ret < len(table["types"])
                assert all(0 <= t < len(table["types"]) and mode in _MODES for t, mode in params)
                assert f'extern "C" __device__ void {shim}(' in src


class NotADeclaration:
    pass


@pytest.mark.parametrize(
    "bad, message",
    [
        (NotADeclaration(), "cannot send a NotADeclaration to the renderer"),
        (b"bytes", "cannot send a bytes to the renderer"),
        ({"name": 3}, "bad render request"),
    ],
)
def test_a_request_object_that_is_no_declaration_is_refused(bad, message):
    with pytest.raises(ValueError, match=message):
        _core.render_bindings({"context": {}, "functions": [{"decl": bad}]})


def many_functions(tmp_path, n):
    header = tmp_path / "many.cuh"
    header.write_text("#pragma once\n" + "".join(f"__device__ int f_{i}(int x) {{ return x + {i}; }}\n" for i in range(n)))
    return header


def test_bound_functions_are_typed_on_first_use_only(tmp_path):
    header = many_functions(tmp_path, 50)
    writer = MemoryShimWriter(f'#include "{header}"')
    funcs = bind_cxx_functions(writer, parse(header).functions)
    assert [f.__name__ for f in funcs] == [f"f_{i}" for i in range(50)]
    assert all(f._made is None for f in funcs)  # no typing template, no lowering yet
    f7 = funcs[7]

    def kernel(out):
        out[0] = f7(out[0])

    result = link_kernel(kernel, (types.int32[::1],), ARCH)
    assert result.cubin[:4] == b"\x7fELF"
    assert [f.__name__ for f in funcs if f._made is not None] == ["f_7"]
    assert shims_of(writer) and all("f_7" in s for s in shims_of(writer))
    assert not any(result.calls(s) for s in shims_of(writer))


def test_overloads_registered_after_first_use_are_typed(tmp_path):
    """An overload bound after its function was used (its template made) is registered at once."""
    header = tmp_path / "over.cuh"
    header.write_text("#pragma once\n__device__ int g(int x) { return x + 1; }\n__device__ double g(double x) { return x * 2; }\n")
    writer = MemoryShimWriter(f'#include "{header}"')
    fns = parse(header).functions
    (g,) = bind_cxx_functions(writer, fns[:1])
    assert g._numba_type_ is not None  # made now, with its one overload
    (again,) = bind_cxx_functions(writer, fns[1:])
    assert again is g and len(g._template.cases) == 2

    def kernel(out, x):
        out[0] = g(x)

    assert link_kernel(kernel, (types.float64[::1], types.float64), ARCH).cubin[:4] == b"\x7fELF"


def test_bind_declarations_registers_functions_from_data(tmp_path):
    header = many_functions(tmp_path, 5)
    writer = MemoryShimWriter(f'#include "{header}"')
    out = bind_declarations(writer, parse(header))
    assert sorted(out) == [f"f_{i}" for i in range(5)]
    f3 = out["f_3"]

    def kernel(out):
        out[0] = f3(out[0])

    once = link_kernel(kernel, (types.int32[::1],), ARCH, ptx=False)  # the cubin only, one link
    assert once.cubin[:4] == b"\x7fELF" and once.ptx == ""


@pytest.mark.gpu
def test_lazily_typed_functions_give_their_values(tmp_path):
    require_gpu()
    header = many_functions(tmp_path, 100)
    writer = MemoryShimWriter(f'#include "{header}"')
    funcs = bind_cxx_functions(writer, parse(header).functions)
    f3, f99 = funcs[3], funcs[99]

    @cuda.jit
    def kernel(out):
        out[0] = f3(out[0])
        out[1] = f99(out[1])

    arr = np.array([1, 2], dtype=np.int32)
    kernel[1, 1](arr)
    assert arr.tolist() == [4, 101]
