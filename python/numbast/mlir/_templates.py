"""Templates on the numba-cuda-mlir backend: not bound yet.

The template runtime (`numbast/_templates.py`) lowers through llvmlite; until it lowers through
the backend's interface, a function or class template bound for numba-cuda-mlir (dynamic mode, or
a static module generated with `MLIR Backend: true` from a header that has templates) is a
placeholder: the rest of the module binds, and using the template, in Python or in a kernel,
raises `TemplateError` naming it. A struct's member templates are left out (the struct binds).
"""


class TemplateError(TypeError):
    """A template cannot be bound or instantiated."""


_TPL_SCALARS: dict = {}  # C++ scalar spellings the template runtime knows (none here)
_TPL_PROBES: dict = {}


def _refuse(what):
    raise TemplateError(f"{what}: C++ templates are not bound on the numba-cuda-mlir backend yet (numbast.mlir); numbast binds them")


class _UnboundTemplate:
    """Stands for a template that numba-cuda-mlir cannot use yet."""

    def __init__(self, what):
        self.__name__ = self._what = what

    @property
    def _numba_type_(self):  # typeof() in a kernel
        _refuse(self._what)

    def __call__(self, *args, **kwargs):
        _refuse(self._what)

    def __getitem__(self, args):
        _refuse(self._what)

    def __repr__(self):
        return f"<unbound template {self._what} (numba-cuda-mlir)>"


class _NoTemplates:
    """What `_template_bindings(b)` gives rendered code: a placeholder for each template."""

    def member_templates(self, *args, **kwargs):
        return None

    def __getattr__(self, entry):
        def placeholder(*args, **kwargs):
            name = kwargs.get("py_name") or kwargs.get("name") or next((a for a in args if isinstance(a, str)), entry)
            return _UnboundTemplate(name)

        return placeholder


def _template_bindings(bindings):
    return _NoTemplates()
