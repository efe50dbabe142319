"""ast_canopy: parse CUDA C++ headers (device side, per compute capability) into declarations.

    from ast_canopy import parse_declarations_from_source
    decls = parse_declarations_from_source("demo.cuh", ["demo.cuh"], "sm_80")
"""

from __future__ import annotations

import json
import os
from typing import Iterable, Optional

from ast_canopy import _core
from ast_canopy._errors import ParseError, ToolchainError
from ast_canopy._toolchain import cuda_include_dirs as _cuda_include_dirs, search_dirs as _search_dirs
from ast_canopy.decls import (
    UNKNOWN_LAYOUT,
    Base,
    ClassTemplate,
    ClassTemplateSpecialization,
    Declarations,
    Diagnostic,
    Enum,
    Field,
    Function,
    FunctionTemplate,
    Location,
    ParamVar,
    Struct,
    StructMethod,
    TemplateParam,
    Type,
    Typedef,
    access_kind,
    declarations_from_dict,
    execution_space,
    method_kind,
    template_param_kind,
)

__version__ = _core.__version__

__all__ = [
    "parse_declarations_from_source", "value_from_constexpr_vardecl", "toolchain_info", "cuda_include_dirs", "ParseError",
    "ToolchainError", "Declarations", "Struct", "StructMethod", "Function", "FunctionTemplate",
    "ClassTemplate", "ClassTemplateSpecialization", "Typedef", "Enum", "Type", "ParamVar", "Field",
    "TemplateParam", "Location", "Diagnostic", "Base", "execution_space", "method_kind",
    "template_param_kind", "access_kind", "UNKNOWN_LAYOUT",
]  # fmt: skip


def _str_list(name, value) -> list:
    if value is None:
        return []
    if isinstance(value, (str, os.PathLike)):
        return [os.fspath(value)]
    try:
        items = [os.fspath(v) for v in value]
    except TypeError:
        raise TypeError(f"{name} must be a list of paths or strings, not {type(value).__name__}") from None
    return items


def parse_declarations_from_source(
    source_file_path,
    files_to_retain: Iterable,
    compute_capability: str,
    cudatoolkit_include_dirs: Optional[Iterable] = None,
    cxx_standard: str = "gnu++17",
    additional_includes: Optional[Iterable] = None,
    defines: Optional[Iterable[str]] = None,
    verbose: bool = False,
    bypass_parse_error: bool = False,
) -> Declarations:
    """Parse ``source_file_path`` for ``compute_capability`` (``"sm_80"``, ``"sm_90a"``) and return the
    declarations whose expansion location is in one of ``files_to_retain``.

    Raises ``ParseError`` listing every clang error as ``file:line:col: message`` unless
    ``bypass_parse_error`` is true, in which case the errors are on ``decls.diagnostics``.
    Results are cached on disk (``AST_CANOPY_CACHE_DIR``; ``AST_CANOPY_NO_CACHE=1`` turns it off).
    A parse that misses the cache loads clang's CUDA wrapper and the CUDA runtime headers from a
    precompiled header built once per compute capability and arguments (``<cache dir>/pch``, kept
    when the parse cache is cleared and rebuilt when those headers change); ``AST_CANOPY_NO_PCH=1``
    turns it off, and ``verbose=True`` says whether it was used.
    """
    if not isinstance(compute_capability, str):
        raise TypeError(f"compute_capability must be a str such as 'sm_80', not {type(compute_capability).__name__}")
    if not isinstance(cxx_standard, str):
        raise TypeError("cxx_standard must be a str such as 'gnu++17'")
    source = os.fspath(source_file_path)
    retain = _str_list("files_to_retain", files_to_retain)
    cuda_dirs = _str_list("cudatoolkit_include_dirs", cudatoolkit_include_dirs) or _cuda_include_dirs()
    text, _cache_hit, _args = _core.parse_declarations(
        source,
        retain,
        compute_capability,
        cxx_standard,
        _str_list("additional_includes", additional_includes),
        [str(d) for d in _str_list("defines", defines)],
        cuda_dirs,
        _search_dirs(),
        os.environ.get("AST_CANOPY_CUDA_MAJOR", ""),
        bool(verbose),
        bool(bypass_parse_error),
    )
    return declarations_from_dict(json.loads(text))


def parse_declarations_json(source_file_path, files_to_retain, compute_capability, **kwargs) -> str:
    """Like ``parse_declarations_from_source`` but returns the model as the JSON the Rust core wrote."""
    cuda_dirs = _str_list("cudatoolkit_include_dirs", kwargs.get("cudatoolkit_include_dirs")) or _cuda_include_dirs()
    text, _hit, _args = _core.parse_declarations(
        os.fspath(source_file_path),
        _str_list("files_to_retain", files_to_retain),
        compute_capability,
        kwargs.get("cxx_standard", "gnu++17"),
        _str_list("additional_includes", kwargs.get("additional_includes")),
        _str_list("defines", kwargs.get("defines")),
        cuda_dirs,
        _search_dirs(),
        os.environ.get("AST_CANOPY_CUDA_MAJOR", ""),
        bool(kwargs.get("verbose", False)),
        bool(kwargs.get("bypass_parse_error", False)),
    )
    return text


def value_from_constexpr_vardecl(source_text: str, vardecl_name: str, compute_capability: str):
    """The value (int or float) of the constexpr variable ``vardecl_name`` in ``source_text``, or None."""
    if not isinstance(source_text, str) or not isinstance(vardecl_name, str):
        raise TypeError("source_text and vardecl_name must be str")
    return _core.value_from_constexpr_vardecl(
        source_text, vardecl_name, compute_capability, _search_dirs(), _cuda_include_dirs()
    )


def cuda_include_dirs() -> list:
    """The CUDA include folders parses use: the root (with ``cuda_runtime.h``) first, then the
    others (CCCL's, other wheels')."""
    info = toolchain_info()
    extras = [d for d in info["cuda_extra_includes"].split(os.pathsep) if d]
    return [info["cuda_include"], *extras]


def toolchain_info() -> dict:
    """What was found: libclang and its version, the resource and CUDA folders, the cache folder."""
    return _core.toolchain_info(_search_dirs(), _cuda_include_dirs())
