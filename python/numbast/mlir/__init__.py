"""numbast.mlir: the same bindings for numba-cuda-mlir kernels (`from numba_cuda_mlir import cuda`).

The names and signatures are those of `numbast`; what differs is the backend. This package's
runtime (`numbast.mlir._runtime`) runs the shared typing layer on numba-cuda-mlir's types and
lowers calls to MLIR, and dynamic mode's modules (`_dynamic`, `_dynamic_templates`) are
numbast's own, loaded again under this package (`_load_shared`), so that their relative imports
reach this backend's runtime and their state (the bindings, the report) is this backend's::

    from numba_cuda_mlir import cuda
    from numbast.mlir import MemoryShimWriter, bind_cxx_function

    shim_writer = MemoryShimWriter(f'#include "{src}"')
    hsqrt = bind_cxx_function(shim_writer, decls.functions[1])  # callable in numba_cuda_mlir kernels

Function and class templates bind as with `numbast` (`numbast.mlir._templates` is the shared
template runtime with this backend's lowering hooks).
"""

import importlib
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


def _load_shared(name):
    """numbast's module `name` (`_dynamic`...), loaded again as `numbast.mlir.<name>`."""
    full = f"{__name__}.{name}"
    module = sys.modules.get(full)
    if module is None:
        spec = importlib.util.spec_from_file_location(full, Path(__file__).resolve().parent.parent / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[full] = module
        try:
            spec.loader.exec_module(module)
        except BaseException:
            del sys.modules[full]
            raise
    return module


def __getattr__(name):
    where = _LAZY.get(name)
    if where is None:
        raise AttributeError(f"module 'numbast.mlir' has no attribute {name!r}")
    if where.startswith("numbast."):
        module = importlib.import_module(where)
    elif where == "_templates":
        module = importlib.import_module("._templates", __name__)
    else:
        module = _load_shared(where)
    value = getattr(module, name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(list(globals()) + list(_LAZY))


__all__ = list(_LAZY)
