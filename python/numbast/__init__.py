"""numbast: call CUDA C++ device functions, structs and operators from Numba-CUDA kernels.

Dynamic mode binds declarations parsed by ``ast_canopy`` in this process::

    decls = parse_declarations_from_source(src, [src], "sm_80")
    shim_writer = MemoryShimWriter(f'#include "{src}"')
    hsqrt = bind_cxx_function(shim_writer, decls.functions[1])

Static mode (``numbast generate cfg.yml``) writes the same bindings into a standalone module.
"""

from numbast._dynamic import (
    FileShimWriter,
    MemoryShimWriter,
    bind_cxx_enum,
    bind_cxx_enums,
    bind_cxx_function,
    bind_cxx_functions,
    bind_cxx_struct,
    bind_cxx_structs,
    binding_report,
    register_cxx_type,
)
from numbast._report import BindingReport, NumbastSkipWarning

__all__ = [
    "bind_cxx_struct", "bind_cxx_structs", "bind_cxx_function", "bind_cxx_functions", "bind_cxx_enum",
    "bind_cxx_enums", "MemoryShimWriter", "FileShimWriter", "register_cxx_type", "binding_report",
    "BindingReport", "NumbastSkipWarning",
]  # fmt: skip
