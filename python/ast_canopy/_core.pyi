# The private extension module built from crates/py: one call per job, JSON across the boundary.
# Checked against the built module by `python -m mypy.stubtest ast_canopy._core` (.ci/lint).
import os
from typing import Any

__version__: str
__all__ = [
    "__version__",
    "cli_main",
    "config_schema",
    "evaluate_constants",
    "parse_declarations",
    "render_bindings",
    "render_prelude",
    "scalar_table",
    "toolchain_info",
    "type_pattern",
    "value_from_constexpr_vardecl",
]

def parse_declarations(
    source: str | os.PathLike[str],
    files_to_retain: list[str | os.PathLike[str]],
    compute_capability: str,
    cxx_standard: str,
    additional_includes: list[str | os.PathLike[str]],
    defines: list[str],
    cuda_include_dirs: list[str | os.PathLike[str]],
    search_dirs: list[str | os.PathLike[str]],
    cuda_major: str,
    verbose: bool,
    bypass_parse_error: bool,
    cuda_header_mode: bool = False,
) -> tuple[str, bool, list[str]]:
    """Parses a header; returns `(declarations_json, cache_hit, clang_args)`."""

def value_from_constexpr_vardecl(
    source_text: str,
    vardecl_name: str,
    compute_capability: str,
    cxx_standard: str,
    verbose: bool,
    search_dirs: list[str | os.PathLike[str]],
    cuda_include_dirs: list[str | os.PathLike[str]],
) -> int | float | None:
    """The value of a constexpr variable: an int, a float, or None."""

def evaluate_constants(
    source_text: str,
    names: list[str],
    compute_capability: str,
    cxx_standard: str,
    additional_includes: list[str | os.PathLike[str]],
    defines: list[str],
    search_dirs: list[str | os.PathLike[str]],
    cuda_include_dirs: list[str | os.PathLike[str]],
) -> tuple[list[int | None], list[str]]:
    """Parses `source_text` (device side) and evaluates its namespace-scope variables `names`;
    returns `(values, errors)`: an int or None per name, and clang's errors as `file:line:col: message`."""

def toolchain_info(search_dirs: list[str | os.PathLike[str]], cuda_include_dirs: list[str | os.PathLike[str]]) -> dict[str, str]:
    """What the toolchain discovery found, as a dict of strings."""

def render_bindings(request: str | dict[str, Any]) -> str:
    """Renders bindings: a request (JSON text, or a dict holding `ast_canopy` declarations) in, the
    JSON response out: `{code, report}`, or `{segments, report}` where the request's context asks
    for `functions_as_data`."""

def render_prelude(mlir: bool = False) -> str:
    """The imports rendered code relies on, for numba-cuda or (`mlir`) numba-cuda-mlir."""

def cli_main(argv: list[str], search_dirs: list[str | os.PathLike[str]]) -> int:
    """Runs the `numbast` generator CLI with `argv` (program name first); returns its exit code."""

def config_schema() -> str:
    """The JSON Schema of the static-mode config."""

def type_pattern(spelling: str) -> str:
    """The pattern of a C++ type spelling as the template runtime reads it, a Python literal:
    `("ptr", ("name", "float"))` for `const float *`."""

def scalar_table() -> list[tuple[str, str]]:
    """C++ scalar spellings and the Numba type name each names; the first spelling of each Numba
    type is how C++ spells it."""
