"""The existing Numbast's module path for its C++ <-> Numba type tables, as views of the tables
dynamic mode binds with (``numbast.register_cxx_type`` and the structs and enums bound so far).

- ``CTYPE_MAPS``: C++ spelling -> Numba type: the built-in scalars and CUDA vector types, then
  every registered or bound type. Assigning to it registers a type.
- ``CTYPE_ALIGNOF_MAPS``: C++ spelling -> ``alignof`` given at registration.
- ``CUDA_VECTOR_TYPE_MAPS``: ``float2`` and the others -> ``(Numba vector type, alignof)``.
"""

from __future__ import annotations

import ast as _ast
import re as _re
from collections.abc import Mapping, MutableMapping

from ast_canopy import _core
from numba import types as nbtypes

from numbast import _dynamic, _runtime, _template_types

_ARRAY_DIMS = _re.compile(r"(\s*\[\s*\d+\s*\])+\s*$")
# C++ alignof of the CUDA vector types by lane count (3-lane types align as one lane).
_VECTOR_ALIGN_LANES = {1: 1, 2: 2, 3: 1, 4: 4}


def _vector_types() -> dict:
    """``float2`` -> ``(float32x2, 8)``: each CUDA vector type known to dynamic mode, with its
    alignof (lanes' size for 2 and 4 lanes, at most 16; one lane's for 1 and 3 lanes)."""
    out = {}
    for cxx, nbty in _template_types.SCALARS.items():
        base = getattr(nbty, "base_type", None)
        if cxx[-1] in "1234" and not cxx.endswith("_t") and base is not None:
            size = base.bitwidth // 8
            out[cxx] = (nbty, min(size * _VECTOR_ALIGN_LANES[int(cxx[-1])], 16))
    return out


CUDA_VECTOR_TYPE_MAPS = _vector_types()


class _TypeTable(MutableMapping):
    """C++ spelling -> Numba type: registered and bound types first, then the built-in ones."""

    def __getitem__(self, cxx_name):
        ty = _dynamic._BINDINGS.types.get(cxx_name)
        if ty is None:
            ty = _template_types.SCALARS.get(cxx_name)
        if ty is None:
            raise KeyError(cxx_name)
        return ty

    def __setitem__(self, cxx_name, numba_type):
        register_cxx_type(cxx_name, numba_type)

    def __delitem__(self, cxx_name):
        raise TypeError("registered C++ types cannot be removed")

    def __iter__(self):
        seen = dict.fromkeys(_template_types.SCALARS)
        seen.update(dict.fromkeys(_dynamic._BINDINGS.types))
        return iter(list(seen))

    def __len__(self):
        return len(set(_template_types.SCALARS) | set(_dynamic._BINDINGS.types))


class _AlignTable(Mapping):
    """C++ spelling -> the ``alignof`` given when the type was registered."""

    def __getitem__(self, cxx_name):
        return _dynamic._BINDINGS.alignments[cxx_name]

    def __iter__(self):
        return iter(list(_dynamic._BINDINGS.alignments))

    def __len__(self):
        return len(_dynamic._BINDINGS.alignments)


CTYPE_MAPS = _TypeTable()
CTYPE_ALIGNOF_MAPS = _AlignTable()


def register_cxx_type(cxx_name: str, numba_type, *, alignof: int | None = None) -> None:
    """Map the C++ type ``cxx_name`` to ``numba_type`` (``numbast.register_cxx_type``)."""
    _dynamic.register_cxx_type(cxx_name, numba_type, alignof)


def to_numba_type(ty: str):
    """The Numba type of the C++ spelling ``ty`` (pointers, fixed-size arrays, scalars, vector
    types, registered and bound types); ``nbtypes.Opaque(ty)`` for one that is not known."""
    if not isinstance(ty, str):
        raise TypeError(f"to_numba_type takes a C++ type spelling (str), not {type(ty).__name__}")
    if ty.strip() == "void":
        return nbtypes.void
    dims = _ARRAY_DIMS.search(ty)
    if dims is not None:  # `T[M][N]` is M arrays of N elements
        elem = to_numba_type(ty[: dims.start()])
        for n in reversed(_re.findall(r"\d+", dims.group(0))):
            elem = nbtypes.UniTuple(elem, int(n))
        return elem
    pattern = _ast.literal_eval(_core.type_pattern(ty))  # the renderer's reading of the spelling
    found = _template_types.numba_of_pattern(pattern, {}, {}, _dynamic._BINDINGS)
    return nbtypes.Opaque(ty) if found is None else found


def to_c_type_str(nbty) -> str:
    """The C++ spelling of the Numba type ``nbty``; ``ValueError`` when it has none."""
    if nbty == nbtypes.void or nbty == nbtypes.none:
        return "void"
    cxx = _template_types.cxx_of(nbty, _dynamic._BINDINGS)
    if cxx is None:
        raise ValueError(f"the Numba type {nbty} has no C++ spelling (register it with register_cxx_type)")
    return cxx


def get_numba_type_alignof(numba_type) -> int | None:
    """The C++ ``alignof`` registered for ``numba_type`` where it exceeds its natural alignment,
    else None."""
    try:
        return _runtime._CXX_ALIGN.get(numba_type)
    except TypeError:
        return None


__all__ = [
    "CTYPE_ALIGNOF_MAPS", "CTYPE_MAPS", "CUDA_VECTOR_TYPE_MAPS", "get_numba_type_alignof",
    "register_cxx_type", "to_c_type_str", "to_numba_type",
]  # fmt: skip
