"""numbast: call CUDA C++ device functions, structs and operators from Numba-CUDA kernels.

Dynamic mode binds declarations parsed by ``ast_canopy`` in this process::

    decls = parse_declarations_from_source(src, [src], "sm_80")
    shim_writer = MemoryShimWriter(f'#include "{src}"')
    hsqrt = bind_cxx_function(shim_writer, decls.functions[1])

Static mode (``numbast generate cfg.yml``) writes the same bindings into a standalone module.
"""

import importlib
from importlib import metadata as _metadata

try:
    __version__ = _metadata.version("numbast")  # the Cargo workspace version, through the package metadata
except _metadata.PackageNotFoundError:
    __version__ = "0+unknown"

# Names are imported on first use, so `python -m numbast` (the generator) does not import Numba.
_LAZY = {
    "FileShimWriter": "numbast._dynamic",
    "MemoryShimWriter": "numbast._dynamic",
    "bind_cxx_enum": "numbast._dynamic",
    "bind_cxx_enums": "numbast._dynamic",
    "bind_cxx_function": "numbast._dynamic",
    "bind_cxx_functions": "numbast._dynamic",
    "bind_cxx_struct": "numbast._dynamic",
    "bind_cxx_structs": "numbast._dynamic",
    "binding_report": "numbast._dynamic",
    "register_cxx_type": "numbast._dynamic",
    "bind_cxx_function_template": "numbast._dynamic_templates",
    "bind_cxx_function_templates": "numbast._dynamic_templates",
    "bind_cxx_class_template": "numbast._dynamic_templates",
    "bind_cxx_class_templates": "numbast._dynamic_templates",
    "bind_cxx_class_template_specialization": "numbast._dynamic_templates",
    "clear_concrete_type_caches": "numbast._dynamic_templates",
    "TemplateError": "numbast._templates",
    "BindingReport": "numbast._report",
    "NumbastSkipWarning": "numbast._report",
}


def __getattr__(name):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'numbast' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(list(globals()) + list(_LAZY))


__all__ = [
    "BindingReport",
    "FileShimWriter",
    "MemoryShimWriter",
    "NumbastSkipWarning",
    "TemplateError",
    "__version__",
    "bind_cxx_class_template",
    "bind_cxx_class_template_specialization",
    "bind_cxx_class_templates",
    "bind_cxx_enum",
    "bind_cxx_enums",
    "bind_cxx_function",
    "bind_cxx_function_template",
    "bind_cxx_function_templates",
    "bind_cxx_functions",
    "bind_cxx_struct",
    "bind_cxx_structs",
    "binding_report",
    "clear_concrete_type_caches",
    "register_cxx_type",
]  # fmt: skip
