"""The template runtime's C++ types and template arguments: patterns (rendered by
`crates/bindgen/src/render/spelling.rs`) evaluated to Numba types, Numba types spelled in C++, and
template arguments given in Python or in a kernel."""

import enum
import importlib

from . import _runtime as rt

# The Numba the backend's runtime types with (`_NB_PACKAGE`: numba-cuda's, or numba-cuda-mlir's copy).
types = rt.types
TypingError = rt._TypingError
signature = rt.signature
AbstractTemplate = rt.AbstractTemplate
AttributeTemplate = rt.AttributeTemplate


class TemplateError(TypeError):
    """A template cannot be instantiated with the given arguments (outside a kernel; inside one,
    the same message is a Numba typing error)."""


class Reject(Exception):
    """Why one overload does not fit a call."""


SELF = "__nbst_self__"  # stands for the class template instance in member spellings

# ----------------------------------------------------------------------------- C++ spellings


def norm(spelling):
    """`spelling` with its whitespace runs made single spaces (a key of the type table)."""
    return " ".join(str(spelling).split())


class PackText(str):
    """The elements of a pack as they replace its name (`int, float`): a pack expansion `_Tp...`
    filled in with them is expanded, so its `...` goes."""


def _after(value, text):
    """The literal `text` that follows a filled-in parameter `value`."""
    if isinstance(value, PackText) and text.lstrip().startswith("..."):
        return text.lstrip()[3:]
    return text


def fill(pieces, mapping):
    """The spelling whose pieces (`crates/bindgen/src/render/spelling.rs`: literal text and template
    parameter names, alternating) are `pieces`, each parameter that `mapping` names replaced by its
    text (the others stay as written)."""
    out = [pieces[0]]
    for name, text in zip(pieces[1::2], pieces[2::2]):
        value = mapping.get(name, name)
        out += [value, _after(value, text)]
    return "".join(out)


def bind(pieces, mapping):
    """`pieces` with the parameters that `mapping` names filled in; the others stay references."""
    out = [pieces[0]]
    for name, text in zip(pieces[1::2], pieces[2::2]):
        if name in mapping:
            out[-1] += mapping[name] + _after(mapping[name], text)
        else:
            out += [name, text]
    return tuple(out)


def named(cxx):
    """The pattern of a named type with no template parameter in it."""
    return ("name", cxx, (cxx,))


def is_void(pat):
    return pat[0] == "name" and pat[1] == "void"


def type_text(cxx):
    """A type argument as it is substituted into a type expression: compound spellings are wrapped
    so that `const T` with `T = int *` stays a const pointer."""
    return f"__nbst_id<{cxx}>" if any(c in cxx for c in "*&[(") else cxx


# ----------------------------------------------------------------------------- Numba <-> C++ types

SCALARS = rt._SCALAR_TYPES  # C++ scalar and vector type names -> Numba types
CXX_OF = {}  # Numba scalar or vector type -> its C++ spelling: the table's first for it
for _cxx, _ty in SCALARS.items():
    CXX_OF.setdefault(_ty, _cxx)


def cxx_of(ty, bindings):
    """The C++ spelling of Numba type `ty`, or None."""
    ty = types.unliteral(ty)
    if isinstance(ty, types.Boolean | types.Integer | types.Float):
        return CXX_OF.get(ty)
    if ty == types.voidptr:
        return "void *"
    if isinstance(ty, types.CPointer):
        inner = cxx_of(ty.dtype, bindings)
        return None if inner is None else f"{inner} *"
    owner = getattr(ty, "_nbst_owner", None)
    if owner is not None:
        return owner.cxx
    for name, t in list(bindings.types.items()):
        if t == ty:
            return name
    return CXX_OF.get(ty)  # vector types


def numba_of(name, bindings):
    """The Numba type of the C++ type `name` names (a scalar, a bound or registered type), or None."""
    name = norm(name).lstrip(":").strip()
    ty = SCALARS.get(name)
    return ty if ty is not None else bindings.types.get(name)


def numba_of_pattern(pat, mapping, env, bindings):
    """The Numba type of a value of pattern `pat` once template parameters are replaced (`mapping`:
    name -> text; `env`: name -> `Arg`, whose Numba type a bare parameter has), or None; a
    reference, a pack or `void` is None too."""
    kind = pat[0]
    if kind == "name":
        a = env.get(pat[1])
        if isinstance(a, Arg) and a.is_type and a.numba is not None:
            return a.numba
        return numba_of(fill(pat[2], mapping), bindings)
    if kind == "ptr":
        if is_void(pat[1]):
            return types.voidptr
        inner = numba_of_pattern(pat[1], mapping, env, bindings)
        return None if inner is None else types.CPointer(inner)
    if kind == "array":
        inner = numba_of_pattern(pat[1], mapping, env, bindings)
        count = pat[4]
        if count is None:  # an extent naming template parameters: the substituted value's text
            extent = fill(pat[3], mapping).strip("()")
            count = int(extent) if extent.isdigit() else None
        return None if inner is None or count is None else types.UniTuple(inner, count)
    return None


def unparse(pat):
    kind = pat[0]
    if kind == "name":
        return pat[1]
    if kind == "ptr":
        return unparse(pat[1]) + " *"
    if kind == "array":
        return f"{unparse(pat[1])}[{pat[2]}]"
    if kind == "ref":
        return unparse(pat[2]) + " " + pat[1]
    return unparse(pat[1]) + "..."


def bind_pattern(pat, mapping):
    """Pattern `pat` with the template parameters that `mapping` names filled in (`bind`), in each
    named type, template-id argument and array extent."""
    kind = pat[0]
    if kind == "name":
        bound = ("name", fill(pat[2], mapping), bind(pat[2], mapping))
        if len(pat) > 3:  # a template-id: its arguments too (its name stays)
            name, fully_qualified, _texts, args = pat[3]
            bound += ((name, fully_qualified, [fill(a, mapping) for a in args], [bind(a, mapping) for a in args]),)
        return bound
    if kind == "ref":
        return ("ref", pat[1], bind_pattern(pat[2], mapping))
    if kind == "array":
        return ("array", bind_pattern(pat[1], mapping), fill(pat[3], mapping), bind(pat[3], mapping), pat[4])
    return (kind, bind_pattern(pat[1], mapping))


def pattern_of(ty, bindings):
    """The pattern of Numba type `ty` as C++ spells it (pointers kept as such), or None."""
    ty = types.unliteral(ty)
    if ty == types.voidptr:
        return ("ptr", named("void"))
    if isinstance(ty, types.CPointer):
        inner = pattern_of(ty.dtype, bindings)
        return None if inner is None else ("ptr", inner)
    cxx = cxx_of(ty, bindings)
    return None if cxx is None else named(cxx)


# ----------------------------------------------------------------------------- template arguments


class Param:
    """A template parameter: `kind` is "type" or "non_type"; `type` is a non-type parameter's C++
    type, `default` its default (qualified by the renderer) with its pieces, and for a type its
    pattern; `value_kind`, for a non-type parameter, how a value for it is written: "bool",
    "number" (a builtin scalar type) or "other" (an enumeration, say), as the renderer read its
    type."""

    __slots__ = ("default", "default_pattern", "default_pieces", "kind", "name", "pack", "type", "value_kind")

    def __init__(self, name, kind, type_, default, pack, default_pattern=None, default_pieces=None, value_kind=None):
        self.name, self.kind, self.type, self.default, self.pack = name, kind, type_, default, bool(pack)
        self.default_pattern = default_pattern
        self.default_pieces = default_pieces if default_pieces is not None or default is None else (default,)
        self.value_kind = value_kind or "number"

    def element(self):
        """The parameter of one element of a pack."""
        return Param(self.name, self.kind, self.type, None, False, value_kind=self.value_kind)

    def __str__(self):
        head = ("typename" if self.kind == "type" else self.type or "auto") + ("..." if self.pack else "")
        return f"{head} {self.name}" + ("" if self.default is None else f" = {self.default}")


class Arg:
    """A template argument: its C++ spelling, and for a type (`is_type`) its Numba type (None when
    only the spelling is known), for a value the Python value (None for a default as written)."""

    __slots__ = ("cxx", "is_type", "numba", "value")

    def __init__(self, cxx, numba=None, value=None, is_type=True):
        self.cxx, self.numba, self.value, self.is_type = cxx, numba, value, is_type

    def text(self):
        """What replaces the parameter's name in a type expression."""
        return type_text(self.cxx) if self.is_type else self.cxx

    def __repr__(self):
        return self.cxx


def arg_text(arg):
    """What replaces a template parameter's name in a type expression (a pack: its elements)."""
    return PackText(", ".join(x.text() for x in arg)) if isinstance(arg, list) else arg.text()


def value_arg(param, value):
    """A non-type template argument for a Python value: int, bool, or an enumerator name, written as
    the parameter's type takes it (`Param.value_kind`)."""
    if isinstance(value, enum.Enum):
        value = int(value.value)
    kind = param.value_kind
    if isinstance(value, bool) or (isinstance(value, int) and kind == "bool"):
        return Arg("true" if value else "false", value=bool(value), is_type=False)
    if isinstance(value, int):
        text = str(value) if value >= 0 else f"({value})"
        if kind == "other":
            text = f"static_cast<{param.type}>({value})"
        return Arg(text, value=value, is_type=False)
    if isinstance(value, str) and value:
        if value.isidentifier() and kind == "other":
            return Arg(f"{param.type}::{value}", value=value, is_type=False)
        return Arg(value, value=value, is_type=False)
    raise TemplateError(
        f"non-type template parameter `{param.name}` ({param.type or 'int'}) needs an int, a bool or an enumerator name, not {value!r}"
    )


def type_arg(param, ty, bindings):
    cxx = cxx_of(ty, bindings)
    if cxx is None:
        raise TemplateError(f"template argument for `{param.name}`: {ty} has no C++ spelling")
    return Arg(cxx, numba=types.unliteral(ty))


_PYTHON_SCALARS = {bool: types.boolean, int: types.int64, float: types.float64}  # as NumPy maps them


def _numba_of_python_type(value):
    """The Numba type of a NumPy scalar type or dtype (`np.int32`, `np.dtype("f4")`) or of Python's
    `bool`, `int` and `float`, or None."""
    if isinstance(value, type) and value in _PYTHON_SCALARS:
        return _PYTHON_SCALARS[value]
    try:
        ty = rt.typeof(value)
    except Exception:
        return None
    if isinstance(ty, types.NumberClass):
        return ty.instance_type
    if isinstance(ty, types.DType):
        return ty.dtype
    return None


def arg_from_python(param, value, bindings):
    """A template argument given outside a kernel: a NumPy dtype or scalar type, a Numba type, a
    bound struct or class template instance, or a C++ spelling (str) for a type; an int, bool or
    enumerator name for a value."""
    if param.pack and isinstance(value, (list, tuple)):
        return [arg_from_python(param.element(), v, bindings)
                for v in value]  # fmt: skip
    if param.kind != "type":
        return value_arg(param, value)
    if isinstance(value, str):
        return Arg(norm(value), numba=numba_of(value, bindings))
    ty = getattr(value, "_numba_type", None)  # bound structs, class template instances
    if ty is None and isinstance(value, types.Type):
        ty = value
    if ty is None:
        ty = _numba_of_python_type(value)
    if ty is None:
        raise TemplateError(f"template argument for `{param.name}`: {value!r} is not a type")
    return type_arg(param, ty, bindings)


def arg_from_numba(param, ty, bindings):
    """A template argument given in a kernel, by the Numba type of the expression: a type (NumPy
    or Numba scalar class, bound struct, class template instance) or a literal."""
    if param.pack and isinstance(ty, types.BaseTuple):
        one = param.element()
        return [arg_from_numba(one, t, bindings) for t in ty.types]
    if param.kind == "type":
        if isinstance(ty, (types.NumberClass, types.TypeRef)):
            return type_arg(param, ty.instance_type, bindings)
        if isinstance(ty, types.DType):
            return type_arg(param, ty.dtype, bindings)
        if isinstance(ty, types.DTypeSpec) and isinstance(ty, types.Function):  # bound struct classes
            return type_arg(param, ty.dtype, bindings)
        raise TemplateError(f"template argument for `{param.name}` must be a type, such as int32 or np.float32, not {ty}")
    if isinstance(ty, types.Literal):
        return value_arg(param, ty.literal_value)
    raise TemplateError(f"non-type template parameter `{param.name}` needs a compile-time constant (a literal), not {ty}")


def typing_error(e):
    return TypingError(str(e))


# ----------------------------------------------------------------------------- compute capabilities


def device_cc():
    """The device's compute capability (sm_80 without a GPU: probes need one to compile for)."""
    try:
        cc = rt._template_device_cc()  # None without a GPU
    except Exception:
        cc = None
    return cc or (8, 0)


def kernel_cc():
    """The compute capability of the kernel being compiled (the device's outside a compilation)."""
    targetconfig = importlib.import_module(rt._NB_PACKAGE + ".core.targetconfig")

    flags = targetconfig.ConfigStack.top_or_none()
    cc = getattr(flags, "compute_capability", None)
    return tuple(cc[:2]) if cc else device_cc()
