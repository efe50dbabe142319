"""numbast.mlir: the same bindings for numba-cuda-mlir kernels (`from numba_cuda_mlir import cuda`).

The names and signatures are those of `numbast`; what differs is the backend. This package's
runtime (`numbast.mlir._runtime`) runs the shared typing layer on numba-cuda-mlir's types and
lowers calls to MLIR, and dynamic mode's modules (`_dynamic`, `_dynamic_templates`) are
numbast's own, loaded again under this package (`_SharedFinder`), so that their relative imports
reach this backend's runtime and their state (the bindings, the report) is this backend's::

    from numba_cuda_mlir import cuda
    from numbast.mlir import MemoryShimWriter, bind_cxx_function

    shim_writer = MemoryShimWriter(f'#include "{src}"')
    hsqrt = bind_cxx_function(shim_writer, decls.functions[1])  # callable in numba_cuda_mlir kernels

Function and class templates bind as with `numbast`: the template runtime (`_templates` and its
`_template_*` modules) is numbast's too, loaded again under this package, and lowers through this
backend's runtime's hooks.
"""

import importlib
import importlib.abc
import importlib.util
import sys
from pathlib import Path

_LAZY = {
    "FileShimWriter": "_dynamic",
    "MemoryShimWriter": "_dynamic",
    "bind_cxx_enum": "_dynamic",
    "bind_cxx_enums": "_dynamic",
    "bind_cxx_function": "_dynamic",
    "bind_cxx_functions": "_dynamic",
    "bind_cxx_struct": "_dynamic",
    "bind_cxx_structs": "_dynamic",
    "binding_report": "_dynamic",
    "register_cxx_type": "_dynamic",
    "bind_cxx_function_template": "_dynamic_templates",
    "bind_cxx_function_templates": "_dynamic_templates",
    "bind_cxx_class_template": "_dynamic_templates",
    "bind_cxx_class_templates": "_dynamic_templates",
    "bind_cxx_class_template_specialization": "_dynamic_templates",
    "clear_concrete_type_caches": "_dynamic_templates",
    "TemplateError": "_templates",
    "BindingReport": "numbast._report",
    "NumbastSkipWarning": "numbast._report",
}


# numbast's modules that this package has too, loaded again from numbast's files (`_SharedFinder`).
_SHARED = frozenset(["_dynamic", "_dynamic_templates", "_templates"])
_NUMBAST_DIR = Path(__file__).resolve().parent.parent


def _is_shared(name):
    return name in _SHARED or name.startswith("_template_")


class _SharedFinder(importlib.abc.MetaPathFinder):
    """Finds `numbast.mlir.<name>` for a shared module in numbast's folder, so that it is loaded
    again under this package (its relative imports then reach `numbast.mlir._runtime`)."""

    def find_spec(self, fullname, path, target=None):
        package, _, name = fullname.rpartition(".")
        if package != __name__ or not _is_shared(name):
            return None
        location = _NUMBAST_DIR / f"{name}.py"
        return importlib.util.spec_from_file_location(fullname, location) if location.is_file() else None


if not any(isinstance(f, _SharedFinder) for f in sys.meta_path):
    sys.meta_path.append(_SharedFinder())


def _load_shared(name):
    """numbast's module `name` (`_dynamic`...), loaded again as `numbast.mlir.<name>`."""
    return importlib.import_module(f".{name}", __name__)


def __getattr__(name):
    where = _LAZY.get(name)
    if where is None:
        raise AttributeError(f"module 'numbast.mlir' has no attribute {name!r}")
    if where.startswith("numbast."):
        module = importlib.import_module(where)
    else:
        module = _load_shared(where)
    value = getattr(module, name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(list(globals()) + list(_LAZY))


__all__ = list(_LAZY)
