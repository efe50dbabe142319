"""The Python API as the existing Numbast's users call it: its module paths, return types,
keyword arguments and CLI flags, each checked against what its documentation says they do."""

from __future__ import annotations

import importlib
import subprocess
import sys
import textwrap
from importlib import metadata
from pathlib import Path

import ast_canopy
import pytest
from ast_canopy import parse_declarations_from_source, value_from_constexpr_vardecl
from numba.cuda.cudadrv.linkable_code import CUSource, PTXSource

HEADER = """\
#pragma once
template <typename T> struct Complete { T a; int b; };
struct Holder { Complete<float> c; };
void plain(int);
__host__ void host_only(int);
namespace { __device__ int hidden(int x) { return x; } }
template <typename T> __device__ T twice(T x) { return x + x; }
template <typename T> __device__ T twice(T x, int n) { return x * n; }
template <typename T, int N = 4> struct Array { T data[N]; };
template <typename T> __device__ constexpr int width() { return int(sizeof(T)) * 8; }
enum class Color : int { Red = 1, Green = 2 };
"""


@pytest.fixture(scope="module")
def header(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("compat") / "compat.cuh"
    path.write_text(HEADER)
    return path


@pytest.fixture(scope="module")
def decls(header):
    return parse_declarations_from_source(str(header), [str(header)], "sm_80")


def _template(decls, name):
    return next(t for t in decls.function_templates + decls.class_templates if t.qual_name == name)


# ---- 9: module paths ------------------------------------------------------------------------------


def test_module_paths_of_the_existing_numbast(decls):
    pyl = importlib.import_module("ast_canopy.pylibastcanopy")
    for enum_name, members in {
        "execution_space": ["undefined", "host", "device", "host_device", "global_"],
        "template_param_kind": ["type_", "non_type", "template_"],
        "access_kind": ["public_", "protected_", "private_"],
    }.items():
        assert [m.name for m in getattr(pyl, enum_name)] == members
    assert pyl.Record is ast_canopy.Struct and pyl.Method is ast_canopy.StructMethod
    assert isinstance(_template(decls, "Array"), pyl.Template) and isinstance(_template(decls, "width"), pyl.Template)
    assert isinstance(decls.enums[0], pyl.Enum) and isinstance(decls.functions[0], pyl.Function)
    # Same objects through every path.
    from ast_canopy import api, constants, decl

    assert api.parse_declarations_from_source is parse_declarations_from_source
    assert api.value_from_constexpr_vardecl is value_from_constexpr_vardecl
    assert decl.FunctionTemplate is ast_canopy.FunctionTemplate and decl.ConstExprVar is pyl.ConstExprVar
    # The layout sentinels mean what a record reports when clang cannot compute its layout.
    assert constants.INVALID_SIZE_OF == ast_canopy.INVALID_SIZE_OF == pyl.INVALID_SIZE_OF
    array = _template(decls, "Array").record
    assert (array.sizeof_, array.alignof_) == (constants.INVALID_SIZE_OF, constants.INVALID_ALIGN_OF)
    assert next(s for s in decls.structs if s.name == "Holder").sizeof_ != constants.INVALID_SIZE_OF

    import numbast
    from numbast import shim_writer

    assert shim_writer.MemoryShimWriter is numbast.MemoryShimWriter
    assert shim_writer.FileShimWriter is numbast.FileShimWriter


def test_numbast_types_tables():
    from numba import types
    from numbast import types as nbt

    assert nbt.to_numba_type("int") == types.int32
    assert nbt.to_numba_type("unsigned long long") == types.uint64
    assert nbt.to_numba_type("float *") == types.CPointer(types.float32)
    assert nbt.to_numba_type("double[2][3]") == types.UniTuple(types.UniTuple(types.float64, 3), 2)
    assert nbt.to_numba_type("void") == types.void
    assert nbt.to_numba_type("__half") == types.float16
    unknown = nbt.to_numba_type("not_a_registered_type")
    assert isinstance(unknown, types.Opaque) and unknown.name == "not_a_registered_type"
    assert nbt.to_c_type_str(types.float64) == "double"
    assert nbt.to_c_type_str(types.CPointer(types.int32)).replace(" ", "") == "int*"
    with pytest.raises(ValueError, match="no C\\+\\+ spelling"):
        nbt.to_c_type_str(types.Opaque("never_registered"))
    float2, align = nbt.CUDA_VECTOR_TYPE_MAPS["float2"]
    assert (float2.name, align) == ("float32x2", 8)
    assert nbt.CUDA_VECTOR_TYPE_MAPS["double4"][1] == 16 and nbt.CUDA_VECTOR_TYPE_MAPS["uchar3"][1] == 1
    assert nbt.CTYPE_MAPS["float"] == types.float32 and "int" in nbt.CTYPE_MAPS
    # Registering through numbast.types is registering for dynamic mode.
    opaque = types.Opaque("compat_registered_t")
    nbt.register_cxx_type("compat_registered_t", opaque)
    assert nbt.CTYPE_MAPS["compat_registered_t"] is opaque
    assert nbt.to_numba_type("compat_registered_t *") == types.CPointer(opaque)
    assert nbt.to_c_type_str(opaque) == "compat_registered_t"
    aligned = types.UniTuple(types.int8, 7)
    nbt.register_cxx_type("compat_aligned_t", aligned, alignof=8)
    assert nbt.CTYPE_ALIGNOF_MAPS["compat_aligned_t"] == 8
    assert nbt.get_numba_type_alignof(aligned) == 8
    assert nbt.get_numba_type_alignof(types.int32) is None


# ---- 10: value_from_constexpr_vardecl ------------------------------------------------------------


def test_value_from_constexpr_vardecl_returns_a_constexpr_var():
    var = value_from_constexpr_vardecl("constexpr int answer = 6 * 7;", "answer", "sm_80")
    assert var.value == 42 and type(var.value) is int and var.name == "answer"
    half = value_from_constexpr_vardecl("constexpr double h = 0.5;", "h", "sm_80", cxx_standard="c++17", verbose=False)
    assert half.value == 0.5
    assert value_from_constexpr_vardecl("constexpr int a = 1;", "absent", "sm_80") is None
    # cxx_standard reaches the compiler.
    source = "constexpr long standard = __cplusplus;"
    assert value_from_constexpr_vardecl(source, "standard", "sm_80", cxx_standard="c++20").value == 202002
    assert value_from_constexpr_vardecl(source, "standard", "sm_80", cxx_standard="c++17").value == 201703


def test_value_from_constexpr_vardecl_verbose_prints_diagnostics(capfd):
    value_from_constexpr_vardecl("constexpr int a = 1; int broken = ;", "a", "sm_80", verbose=True)
    assert "expected expression" in capfd.readouterr().err


# ---- 11: instantiations ----------------------------------------------------------------------------


def test_instantiate_returns_an_instantiation(decls):
    from ast_canopy.instantiations import ClassInstantiation, FunctionInstantiation

    array = _template(decls, "Array")
    inst = array.instantiate(T="float", N=8)
    assert isinstance(inst, ClassInstantiation)
    assert str(inst) == "Array<float, 8>" and inst.get_instantiated_c_stmt() == "Array<float, 8>"
    nested = array.instantiate(T=array.instantiate(T="int"))
    assert str(nested) == "Array<Array<int>>"
    partial = array.instantiate()
    assert partial.is_partial and str(partial) == "Array<T>"
    assert str(partial.instantiate(T="double")) == "Array<double>"
    with pytest.raises(ValueError, match="no template parameter"):
        array.instantiate(M=3)
    twice = _template(decls, "twice")
    f = twice.instantiate(T="float")
    assert isinstance(f, FunctionInstantiation) and str(f) == "twice<float>"
    # Type parameters carry their (dependent) type.
    (t,) = twice.template_parameters
    assert t.kind is ast_canopy.template_param_kind.type_ and isinstance(t.type_, ast_canopy.Type)
    assert t.type_.name == "T"
    n = array.template_parameters[1]
    assert n.kind is ast_canopy.template_param_kind.non_type and n.type_.name == "int"


def test_evaluate_constexpr_value(decls):
    width = _template(decls, "width")
    assert width.instantiate(T="double").evaluate_constexpr_value() == 64
    assert width.instantiate(T="short").evaluate_constexpr_value() == 16
    with pytest.raises(ValueError, match="not constexpr"):
        _template(decls, "twice").instantiate(T="int").evaluate_constexpr_value()


# ---- 12: parse_declarations_from_source ----------------------------------------------------------


def test_parse_options_and_model_of_the_existing_numbast(decls, header):
    es = ast_canopy.execution_space
    spaces = {f.name: f.exec_space for f in decls.functions}
    assert spaces["plain"] is es.undefined and spaces["host_only"] is es.host and spaces["hidden"] is es.device
    assert {f.qual_name for f in decls.functions if f.name == "hidden"} == {"(anonymous namespace)::hidden"}
    # Implicit specializations a header uses are reported, with their layout and fields.
    (spec,) = [s for s in decls.class_template_specializations if s.name == "Complete"]
    assert spec.actual_template_arguments == ("float",) and spec.sizeof_ == 8
    assert [(f.name, f.type_.name, f.offset) for f in spec.fields] == [("a", "float", 0), ("b", "int", 4)]
    # Dependent function templates have no mangled name: a placeholder stands in, one per overload.
    mangled = [t.function.mangled_name for t in decls.function_templates if t.qual_name == "twice"]
    assert len(mangled) == 2 and all(mangled) and len(set(mangled)) == 2
    # clang_binary: must exist; parses go through libclang, so it has no effect (a warning says so).
    with pytest.raises(RuntimeError, match="clang_binary"):
        parse_declarations_from_source(str(header), [str(header)], "sm_80", clang_binary="/no/such/clang++")
    with pytest.warns(UserWarning, match="clang_binary has no effect"):
        again = parse_declarations_from_source(str(header), [str(header)], "sm_80", clang_binary=sys.executable)
    assert [f.name for f in again.functions] == [f.name for f in decls.functions]


def test_cuda_header_mode_parses_a_host_header():
    cuda_h = Path(ast_canopy.cuda_include_dirs()[0]) / "cuda.h"
    if not cuda_h.is_file():
        pytest.skip("no cuda.h in the CUDA headers found")
    decls = parse_declarations_from_source(str(cuda_h), [str(cuda_h)], "sm_80", cuda_header_mode=True)
    by_name = {f.name: f for f in decls.functions}
    assert {"cuInit", "cuGetErrorString"} <= set(by_name)
    assert by_name["cuInit"].exec_space is ast_canopy.execution_space.undefined
    assert "CUresult" in {e.name for e in decls.enums} or "cudaError_enum" in {e.name for e in decls.enums}


# ---- 13: shim writers, enums, versions, caches ---------------------------------------------------


def test_shim_writers_and_package_level_names(decls):
    import numbast

    for cls in (numbast.MemoryShimWriter, numbast.FileShimWriter):
        w = cls()
        assert w.preceding_text == ""
        w.write_to_shim('extern "C" __device__ int compat_one() { return 1; }\n', "compat_one")
        w.write_to_shim('extern "C" __device__ int compat_one() { return 2; }\n', "compat_one")  # same id: kept once
        w.write_to_ptx_shim(".version 8.0\n.target sm_80\n.address_size 64\n", "ptx0")
        links = w.links()
        source = w.unit.source()
        assert source.count("compat_one") == 1 and "return 1" in source
        assert isinstance(links[0], CUSource) and isinstance(links[1], PTXSource) and len(links) == 2
    color = numbast.bind_cxx_enum(e=decls.enums[0])
    assert color.Green == 2
    version = metadata.version("numbast")
    assert numbast.__version__ == ast_canopy.__version__ == version
    numbast.clear_concrete_type_caches()


def test_numbast_version_does_not_import_numba():
    code = "import sys, numbast; assert numbast.__version__; assert 'numba' not in sys.modules, 'numba imported'"
    subprocess.run([sys.executable, "-c", code], check=True)


# ---- 14: CLI flags ---------------------------------------------------------------------------------


def _config(tmp_path, body: str) -> Path:
    (tmp_path / "lib.cuh").write_text(body)
    cfg = tmp_path / "cfg.yml"
    cfg.write_text(
        textwrap.dedent(
            """\
            Entry Point: lib.cuh
            File List: [lib.cuh]
            GPU Arch: [sm_80]
            """
        )
    )
    return cfg


def _cli(*args):
    code = "import sys; from numbast.__main__ import main; sys.exit(main(sys.argv[1:]))"
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True)


def test_cli_accepts_the_existing_numbast_flags(tmp_path):
    cfg = _config(tmp_path, "#pragma once\n__device__ inline int add_one(int x) { return x + 1; }\n")
    out = tmp_path / "out"
    out.mkdir()
    r = _cli("--cfg-path", str(cfg), "--output-dir", str(out), "-fmt", "true", "-noraise", "false")
    assert r.returncode == 0, r.stderr
    assert "-fmt has no effect" in r.stderr
    assert "add_one" in (out / "lib.py").read_text()
    r = _cli("--cfg-path", str(cfg), "--output-dir", str(out), "--run-ruff-format", "false", "--bypass-parse-error", "0")
    assert r.returncode == 0 and "no effect" not in r.stderr, r.stderr
    r = _cli("--cfg-path", str(cfg), "--output-dir", str(out), "-fmt", "maybe")
    assert r.returncode == 2 and "invalid value for -fmt: 'maybe'" in r.stderr


def test_cli_noraise_generates_despite_clang_errors(tmp_path):
    cfg = _config(tmp_path, "#pragma once\n__device__ inline int ok(int x) { return x; }\nundeclared_t broken;\n")
    out = tmp_path / "out"
    out.mkdir()
    r = _cli("--cfg-path", str(cfg), "--output-dir", str(out), "-noraise", "false")
    assert r.returncode == 1 and "undeclared_t" in r.stderr
    r = _cli("--cfg-path", str(cfg), "--output-dir", str(out), "-noraise", "true")
    assert r.returncode == 0, r.stderr
    assert "lib.cuh:3" in r.stderr and "(bypassed)" in r.stderr
    assert "ok" in (out / "lib.py").read_text()
