"""Template instantiations: what ``FunctionTemplate.instantiate(**args)`` and
``ClassTemplate.instantiate(**args)`` return.

An instantiation records the template arguments given by parameter name and spells the C++ name
they make (``str(inst)`` is ``ns::Array<float, 8>``). A parameter left out is spelled by its own
name (``Array<T, 8>``): a partial instantiation, still dependent on it. Arguments may be C++
spellings (str), ints and bools, NumPy dtypes and Numba types, or other instantiations.
"""

from __future__ import annotations

import os
import re


def _cxx_spelling(value, use_qual_name: bool = True) -> str:
    """A template argument in C++: a string as is, ints and bools as literals, instantiations by
    their spelling, NumPy dtypes and Numba types by their C++ name."""
    if isinstance(value, BaseInstantiation):
        return value.get_instantiated_c_stmt(use_qual_name=use_qual_name)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return value
    name = getattr(value, "name", None) or str(value)
    try:  # NumPy dtypes and scalar types
        import numpy as np

        name = np.dtype(value).name
    except Exception:
        pass
    cxx = _cxx_of_numba_name().get(str(name))
    if cxx is None:
        raise TypeError(f"cannot spell {value!r} as a C++ template argument")
    return cxx


def _cxx_of_numba_name() -> dict:
    """Numba type name -> C++ spelling, from the one scalar table (`crates/bindgen/src/types.rs`)."""
    from ast_canopy import _core

    found: dict = {}
    for cxx, numba in _core.scalar_table():
        found.setdefault(numba, cxx)
    return found


def _substitute(default: str, given: dict) -> str:
    """A default argument with the earlier parameters it names replaced by their arguments
    (``U = T`` with ``T=int`` gives ``int``)."""
    return re.sub(r"\b[A-Za-z_]\w*\b", lambda m: given.get(m.group(0), m.group(0)), default)


class BaseInstantiation:
    """The arguments given to one template, by parameter name."""

    def __init__(self, template):
        self.template = template
        self.template_parameters = tuple(template.template_parameters)
        self.instantiated_args: dict = {}

    def instantiate(self, **kwargs):
        """Records the arguments (replacing earlier ones of the same names) and returns ``self``.
        An unknown parameter name raises ``ValueError``."""
        names = [p.name for p in self.template_parameters]
        unknown = sorted(set(kwargs) - set(names))
        if unknown:
            raise ValueError(f"{self.qual_name} has no template parameter(s) {unknown}; its parameters are {names}")
        self.instantiated_args.update(kwargs)
        return self

    @property
    def is_partial(self) -> bool:
        """Whether a parameter with no default and no argument remains (packs may stay empty)."""
        return any(p.name not in self.instantiated_args and p.default is None and not p.is_pack for p in self.template_parameters)

    def _arguments(self, use_qual_name: bool) -> list:
        """The template argument list. Defaults after the last given argument are left to the
        compiler; defaults before it are written out (with the earlier arguments they name)."""
        params = self.template_parameters
        kwargs = self.instantiated_args
        last_given = max((i for i, p in enumerate(params) if p.name in kwargs), default=-1)
        given: dict = {}
        args: list = []
        for i, p in enumerate(params):
            if p.name in kwargs:
                value = kwargs[p.name]
                values = value if p.is_pack and isinstance(value, (list, tuple)) else [value]
                spelled = [_cxx_spelling(v, use_qual_name) for v in values]
            elif p.is_pack:
                spelled = []
            elif p.default is not None:
                if i > last_given:
                    break
                spelled = [_substitute(p.default, given)]
            else:
                spelled = [p.name]  # not given: the instantiation stays dependent on it
            given[p.name] = ", ".join(spelled)
            args.extend(spelled)
        return args

    @property
    def param_list(self) -> list:
        """The argument spellings, one per template argument written."""
        return self._arguments(True)

    def get_instantiated_c_stmt(self, use_qual_name: bool = False) -> str:
        """``name<args>``: the template's plain name, or its qualified name with ``use_qual_name``."""
        name = self.qual_name if use_qual_name else self.base_name
        return f"{name}<{', '.join(self._arguments(use_qual_name))}>"

    @property
    def base_name(self) -> str:
        raise NotImplementedError

    @property
    def qual_name(self) -> str:
        return self.template.qual_name

    def __str__(self):
        return self.get_instantiated_c_stmt(use_qual_name=True)

    def __repr__(self):
        return f"<{type(self).__name__} {self}>"

    def __eq__(self, other):
        if isinstance(other, (str, BaseInstantiation)):
            return str(self) == str(other)
        return NotImplemented

    def __hash__(self):
        return hash(str(self))


class FunctionInstantiation(BaseInstantiation):
    """An instantiation of a function template."""

    def __init__(self, function_template):
        super().__init__(function_template)
        self.function = function_template.function

    @property
    def base_name(self) -> str:
        return self.function.name

    def evaluate_constexpr_value(self, *args, header=None, compute_capability: str = "sm_80"):
        """The value of calling this constexpr function instantiation with value-initialized
        arguments of the types ``args`` (instantiations or C++ spellings), evaluated by the
        compiler. ``header`` defaults to the file that declares the function."""
        if not self.function.is_constexpr:
            raise ValueError(f"{self.qual_name} is not constexpr")
        header = header or self.function.location.file
        if not header or not os.path.exists(header):
            raise ValueError(f"header {header!r} does not exist")
        from ast_canopy import value_from_constexpr_vardecl

        call_args = ", ".join(f"{_cxx_spelling(a)}{{}}" for a in args)
        var = "__ast_canopy_constexpr_value"
        source = f'#include "{os.path.abspath(header)}"\n__device__ constexpr auto {var} = {self}({call_args});\n'
        result = value_from_constexpr_vardecl(source, var, compute_capability)
        if result is None:
            raise ValueError(f"{self}({call_args}) is not a constant expression of integer or floating type")
        return result.value


class ClassInstantiation(BaseInstantiation):
    """An instantiation of a class template."""

    def __init__(self, class_template):
        super().__init__(class_template)
        self.record = class_template.record

    @property
    def base_name(self) -> str:
        return self.record.name


__all__ = ["BaseInstantiation", "ClassInstantiation", "FunctionInstantiation"]
