"""ast_canopy: parse CUDA C++ headers (device side, per compute capability) into declarations.

from ast_canopy import parse_declarations_from_source
decls = parse_declarations_from_source("demo.cuh", ["demo.cuh"], "sm_80")
"""

from __future__ import annotations

import json
import os
import shutil
import warnings
from collections.abc import Iterable, Mapping

from ast_canopy import _core
from ast_canopy._constexpr import ConstExprVar
from ast_canopy._errors import ParseError, ToolchainError
from ast_canopy._toolchain import cuda_include_dirs as _cuda_include_dirs
from ast_canopy._toolchain import search_dirs as _search_dirs
from ast_canopy.decls import (
    UNKNOWN_LAYOUT,
    Base,
    ClassTemplate,
    ClassTemplateSpecialization,
    Declarations,
    Definition,
    Diagnostic,
    Enum,
    Field,
    FileDefinitions,
    Function,
    FunctionTemplate,
    Location,
    ParamVar,
    Span,
    Struct,
    StructMethod,
    TemplateParam,
    Type,
    Typedef,
    access_kind,
    declarations_from_dict,
    definition_kind,
    execution_space,
    method_kind,
    template_param_kind,
)

INVALID_SIZE_OF = UNKNOWN_LAYOUT
"""``sizeof_`` of a record whose size clang cannot compute (incomplete or dependent)."""
INVALID_ALIGN_OF = UNKNOWN_LAYOUT
"""``alignof_`` of a record whose alignment clang cannot compute."""


def _package_version() -> str:
    """The installed distribution's version (numbast and ast_canopy are one distribution)."""
    from importlib import metadata

    try:
        return metadata.version("numbast")
    except metadata.PackageNotFoundError:
        return _core.__version__


__version__ = _package_version()

__all__ = [
    "INVALID_ALIGN_OF",
    "INVALID_SIZE_OF",
    "UNKNOWN_LAYOUT",
    "Base",
    "ClassTemplate",
    "ClassTemplateSpecialization",
    "ConstExprVar",
    "Declarations",
    "Definition",
    "Diagnostic",
    "Enum",
    "Field",
    "FileDefinitions",
    "Function",
    "FunctionTemplate",
    "Location",
    "ParamVar",
    "ParseError",
    "Span",
    "Struct",
    "StructMethod",
    "TemplateParam",
    "ToolchainError",
    "Type",
    "Typedef",
    "__version__",
    "access_kind",
    "cuda_include_dirs",
    "definition_kind",
    "evaluate_constants",
    "execution_space",
    "method_kind",
    "parse_declarations_from_source",
    "seen_definitions",
    "template_param_kind",
    "toolchain_info",
    "value_from_constexpr_vardecl",
]  # fmt: skip


def _str_list(name, value, required: bool = False) -> list:
    """A path or string, or a collection of them, as a list of str (None: none, unless `required`)."""
    if value is None and not required:
        return []
    if isinstance(value, (str, os.PathLike)):
        return [os.fspath(value)]
    if isinstance(value, (bytes, Mapping)) or not isinstance(value, Iterable):
        raise TypeError(f"{name} must be a list of paths or strings, not {type(value).__name__}")
    items = []
    for v in value:
        if not isinstance(v, (str, os.PathLike)):
            raise TypeError(f"{name} must be a list of paths or strings, not one holding {type(v).__name__}")
        items.append(os.fspath(v))
    return items


def _check_clang_binary(clang_binary) -> None:
    """``clang_binary`` names a clang executable; parses here go through libclang (chosen with
    ``AST_CANOPY_LIBCLANG``), so it only has to exist, and a warning says it was not used."""
    if clang_binary is None:
        return
    if not isinstance(clang_binary, (str, os.PathLike)):
        raise TypeError(f"clang_binary must be a path or a name on PATH, not {type(clang_binary).__name__}")
    if shutil.which(os.fspath(clang_binary)) is None:
        raise RuntimeError(f"clang_binary {os.fspath(clang_binary)!r} is not an executable file or a name on PATH")
    warnings.warn(
        "clang_binary has no effect: ast_canopy parses with libclang (set AST_CANOPY_LIBCLANG to choose another)",
        UserWarning,
        stacklevel=3,
    )


def parse_declarations_from_source(
    source_file_path,
    files_to_retain: Iterable,
    compute_capability: str,
    cudatoolkit_include_dirs: Iterable | None = None,
    cxx_standard: str = "gnu++17",
    additional_includes: Iterable | None = None,
    defines: Iterable[str] | None = None,
    verbose: bool = False,
    bypass_parse_error: bool = False,
    cuda_header_mode: bool = False,
    clang_binary=None,
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

    ``cuda_header_mode=True`` parses a host-side CUDA header (``cuda.h``, ``cuda_runtime_api.h``)
    as the source itself: the CUDA headers clang includes on its own are left out, so that the
    header's declarations are read from it and not from an earlier implicit inclusion.
    ``clang_binary`` is accepted for compatibility; it must name an executable, and has no effect.
    """
    _check_clang_binary(clang_binary)
    if not isinstance(compute_capability, str):
        raise TypeError(f"compute_capability must be a str such as 'sm_80', not {type(compute_capability).__name__}")
    if not isinstance(cxx_standard, str):
        raise TypeError("cxx_standard must be a str such as 'gnu++17'")
    source = os.fspath(source_file_path)
    retain = _str_list("files_to_retain", files_to_retain, required=True)
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
        bool(cuda_header_mode),
    )
    decls = declarations_from_dict(json.loads(text))
    _note_definitions(decls.definitions)
    return decls


# Absolute path -> FileDefinitions: what the parses of this process found (see `seen_definitions`).
_SEEN_DEFINITIONS: dict = {}


def _note_definitions(found) -> None:
    for f in found:
        key = os.path.normpath(os.path.abspath(f.file))
        old = _SEEN_DEFINITIONS.get(key)
        if old is not None and (old.size, old.crc32) == (f.size, f.crc32):
            # Parses with other macros may meet other definitions of the same text: keep them all.
            merged = old.definitions + tuple(d for d in f.definitions if d not in old.definitions)
            uses = None if old.uses is None or f.uses is None else tuple(sorted({*old.uses, *f.uses}))
            f = FileDefinitions(f.file, f.size, f.crc32, merged, uses)
        _SEEN_DEFINITIONS[key] = f


def seen_definitions() -> dict:
    """The external definitions (``FileDefinitions``) of every file that the parses of this process
    retained or met definitions in, by absolute path; for one text parsed several times, those of
    every parse. Numbast compiles a shim unit against the headers with these definitions left out."""
    return dict(_SEEN_DEFINITIONS)


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
        bool(kwargs.get("cuda_header_mode", False)),
    )
    return text


def value_from_constexpr_vardecl(
    source: str,
    vardecl_name: str,
    compute_capability: str,
    cxx_standard: str = "gnu++17",
    verbose: bool = False,
    clang_binary=None,
) -> ConstExprVar | None:
    """The constexpr variable ``vardecl_name`` declared in the source text ``source``, as a
    ``ConstExprVar`` whose ``value`` is an int or a float; None when there is no such variable (or
    its value is not a constant number). ``verbose=True`` prints clang's diagnostics to stderr."""
    if not isinstance(source, str) or not isinstance(vardecl_name, str):
        raise TypeError("source and vardecl_name must be str")
    if not isinstance(compute_capability, str):
        raise TypeError(f"compute_capability must be a str such as 'sm_80', not {type(compute_capability).__name__}")
    if not isinstance(cxx_standard, str):
        raise TypeError("cxx_standard must be a str such as 'gnu++17'")
    _check_clang_binary(clang_binary)
    value = _core.value_from_constexpr_vardecl(
        source, vardecl_name, compute_capability, cxx_standard, bool(verbose), _search_dirs(), _cuda_include_dirs()
    )
    return None if value is None else ConstExprVar(vardecl_name, value)


def evaluate_constants(
    source: str,
    names,
    compute_capability: str,
    cxx_standard: str = "gnu++17",
    additional_includes=None,
    defines=None,
) -> tuple[list, list]:
    """Parses the CUDA C++ translation unit ``source`` device side for ``compute_capability`` and
    evaluates its namespace-scope constant variables ``names``: returns ``(values, errors)``, an int
    (or None: no such variable, or not an integer constant) per name, and clang's errors as
    ``file:line:col: message`` (when there is one, no value is to be trusted). The source's leading
    ``#include`` lines are precompiled once and kept in the cache folder, so that later sources
    starting with the same lines parse only what follows them."""
    if not isinstance(source, str):
        raise TypeError("source must be a str")
    names = [names] if isinstance(names, str) else list(names)
    if not all(isinstance(n, str) for n in names):
        raise TypeError("names must be a list of str")
    if not isinstance(compute_capability, str):
        raise TypeError(f"compute_capability must be a str such as 'sm_80', not {type(compute_capability).__name__}")
    values, errors = _core.evaluate_constants(
        source,
        names,
        compute_capability,
        cxx_standard,
        _str_list("additional_includes", additional_includes),
        [str(d) for d in (defines or [])],
        _search_dirs(),
        _cuda_include_dirs(),
    )
    return values, errors


def cuda_include_dirs() -> list:
    """The CUDA include folders parses use: the root (with ``cuda_runtime.h``) first, then the
    others (CCCL's, other wheels')."""
    info = toolchain_info()
    extras = [d for d in info["cuda_extra_includes"].split(os.pathsep) if d]
    return [info["cuda_include"], *extras]


def toolchain_info() -> dict:
    """What was found: libclang and its version, the resource and CUDA folders, the cache folder."""
    return _core.toolchain_info(_search_dirs(), _cuda_include_dirs())
