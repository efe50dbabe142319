"""Templates on the numba-cuda-mlir backend: not bound yet.

The template runtime (`numbast/_templates.py`) lowers through llvmlite; until it lowers through
the backend's interface, binding a function or class template (or a struct's member templates)
for numba-cuda-mlir raises `TemplateError`, and the declarations stay unbound.
"""


class TemplateError(TypeError):
    """A template cannot be bound or instantiated."""


_TPL_SCALARS: dict = {}  # C++ scalar spellings the template runtime knows (none here)
_TPL_PROBES: dict = {}


def _unsupported(*args, **kwargs):
    raise TemplateError("C++ templates are not bound on the numba-cuda-mlir backend yet (numbast.mlir); use numbast for them")


class _NoTemplates:
    """What `_template_bindings(b)` gives rendered code: every template entry point refuses."""

    def __getattr__(self, name):
        return _unsupported


def _template_bindings(bindings):
    return _NoTemplates()
