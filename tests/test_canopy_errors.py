"""Bad input gives a precise error: missing or unreadable sources, malformed compute
capabilities, syntax errors (with `file:line:col: message` diagnostics), no libclang; and
`value_from_constexpr_vardecl`."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import ast_canopy
import pytest
from ast_canopy import ParseError, ToolchainError, value_from_constexpr_vardecl

HEADERS_DIR = Path(__file__).resolve().parent / "headers"


def test_missing_source(tmp_path):
    missing = tmp_path / "missing.cuh"
    with pytest.raises(FileNotFoundError, match=r"source file not found: .*missing\.cuh"):
        ast_canopy.parse_declarations_from_source(missing, [missing], "sm_80")


def test_directory_source(tmp_path):
    with pytest.raises(OSError, match="is a directory") as info:
        ast_canopy.parse_declarations_from_source(tmp_path, [tmp_path], "sm_80")
    assert not isinstance(info.value, FileNotFoundError)


@pytest.mark.parametrize("cc", ["sm_8", "sm_80x", "80.0", "ampere", "sm_080", ""])
def test_malformed_compute_capability(cc):
    header = HEADERS_DIR / "functions.cuh"
    with pytest.raises(ValueError) as info:
        ast_canopy.parse_declarations_from_source(header, [header], cc)
    message = str(info.value)
    assert f"malformed compute capability {cc!r}" in message.replace('"', "'")
    for accepted in ("sm_80", "sm_90a", "compute_XY", "XY"):
        assert accepted in message


@pytest.mark.parametrize("cc", ["sm_80", "80", "compute_90", "sm_90a", "sm_100a"])
def test_accepted_compute_capabilities(cc):
    header = HEADERS_DIR / "arch_guard.cuh"
    decls = ast_canopy.parse_declarations_from_source(header, [header], cc)
    assert any(f.name == "everywhere" for f in decls.functions)


@pytest.fixture
def broken_header(tmp_path) -> Path:
    header = tmp_path / "broken.cuh"
    header.write_text("__device__ int good(int a);\nstruct Fine { int x; };\n__device__ int bad(int a;\nundeclared_type later(void);\n")
    return header


def test_syntax_error_raises_parse_error(broken_header):
    with pytest.raises(ParseError) as info:
        ast_canopy.parse_declarations_from_source(broken_header, [broken_header], "sm_80")
    err = info.value
    assert err.diagnostics, "a ParseError lists clang's errors"
    for d in err.diagnostics:
        assert re.fullmatch(r".+:\d+:\d+: .+", d), d
        assert d.startswith((str(broken_header.resolve()) + ":", str(broken_header) + ":")), d
    assert any(re.search(r"broken\.cuh:3:\d+: expected '\)'", d) for d in err.diagnostics), err.diagnostics
    assert any("broken.cuh:4:1: unknown type name 'undeclared_type'" in d for d in err.diagnostics), err.diagnostics
    assert str(err).startswith(f"clang reported {len(err.diagnostics)} error(s):")


def test_bypass_parse_error_keeps_declarations(broken_header):
    decls = ast_canopy.parse_declarations_from_source(broken_header, [broken_header], "sm_80", bypass_parse_error=True)
    assert "good" in {f.name for f in decls.functions}
    assert "Fine" in {s.name for s in decls.structs}
    errors = [d for d in decls.diagnostics if d.severity == "error"]
    assert errors and all(d.line in (3, 4) and d.file.endswith("broken.cuh") for d in errors)
    assert str(errors[0]).startswith(f"{errors[0].file}:{errors[0].line}:{errors[0].column}: ")


def test_unsupported_arch_is_the_only_error(isolated_cache):
    """An architecture this libclang does not know gives clang's one error about it, not the
    `unknown type name '__device__'` errors that follow from it (the driver sets up no CUDA)."""
    header = HEADERS_DIR / "functions.cuh"
    for _ in range(2):  # the cached result says the same
        with pytest.raises(ParseError) as info:
            ast_canopy.parse_declarations_from_source(header, [header], "sm_99")
        diagnostics = info.value.diagnostics
        assert len(diagnostics) == 1, diagnostics
        assert diagnostics[0].startswith("<command line>: ") and "sm_99" in diagnostics[0], diagnostics
        assert "architecture" in diagnostics[0], diagnostics
        assert str(info.value).startswith("clang reported 1 error(s):")
    decls = ast_canopy.parse_declarations_from_source(header, [header], "sm_99", bypass_parse_error=True)
    assert [d.file for d in decls.diagnostics] == [""], decls.diagnostics


def test_other_errors_are_all_listed(tmp_path):
    """Errors of the header itself are not dropped: each is listed."""
    header = tmp_path / "many.cuh"
    header.write_text("".join(f"undeclared_{i} f{i}(void);\n" for i in range(5)))
    with pytest.raises(ParseError) as info:
        ast_canopy.parse_declarations_from_source(header, [header], "sm_80")
    assert len(info.value.diagnostics) == 5, info.value.diagnostics


def test_cached_parse_error_still_raises(broken_header, isolated_cache):
    for _ in range(2):
        with pytest.raises(ParseError):
            ast_canopy.parse_declarations_from_source(broken_header, [broken_header], "sm_80")


def test_missing_libclang_says_how_to_install_it(tmp_path):
    env = dict(os.environ, AST_CANOPY_LIBCLANG="/nonexistent", AST_CANOPY_CACHE_DIR=str(tmp_path / "cache"))
    code = (
        "import ast_canopy, sys\n"
        f"h = {str(HEADERS_DIR / 'functions.cuh')!r}\n"
        "try:\n"
        "    ast_canopy.parse_declarations_from_source(h, [h], 'sm_80')\n"
        "except ast_canopy.ToolchainError as e:\n"
        "    print(type(e).__name__, isinstance(e, RuntimeError)); print(e); sys.exit(0)\n"
        "sys.exit('no ToolchainError')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr + out.stdout
    first, message = out.stdout.split("\n", 1)
    assert first == "ToolchainError True"
    assert "AST_CANOPY_LIBCLANG=/nonexistent" in message
    assert "pip install 'libclang-ng" in message


def test_toolchain_error_class():
    assert issubclass(ToolchainError, RuntimeError)
    assert issubclass(ParseError, Exception)


@pytest.mark.parametrize(
    "source, name, expected",
    [
        ("constexpr int answer = 42;", "answer", 42),
        ("constexpr long long big = 1ll << 40;", "big", 1 << 40),
        ("constexpr unsigned long long top = ~0ull;", "top", 2**64 - 1),
        ("constexpr int neg = -7;", "neg", -7),
        ("namespace ns { constexpr int inner = 3 * 5; }", "inner", 15),
        ("constexpr double pi = 3.25;", "pi", 3.25),
        ("constexpr float half = 0.5f;", "half", 0.5),
        ("constexpr int answer = 42;", "missing", None),
        ("struct S { int a; }; constexpr S s = {1};", "s", None),
    ],
)
def test_value_from_constexpr_vardecl(source, name, expected):
    var = value_from_constexpr_vardecl(source, name, "sm_80")
    assert (var is None) == (expected is None)
    value = None if var is None else var.value
    assert value == expected
    assert type(value) is type(expected)


def test_value_from_constexpr_vardecl_checks_arguments():
    with pytest.raises(TypeError):
        value_from_constexpr_vardecl(b"constexpr int a = 1;", "a", "sm_80")
    with pytest.raises(ValueError, match="malformed compute capability"):
        value_from_constexpr_vardecl("constexpr int a = 1;", "a", "sm8")
