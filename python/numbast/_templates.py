"""Numbast runtime, templates: C++ function and class templates instantiated when a kernel is typed.

The renderer writes each template as data (`crates/bindgen/src/render/templates.rs`): its qualified
name, its template parameters, and each overload's parameter and return type spellings with the
template parameters left in. This part of the runtime does the rest with numba-cuda alone:

- deduction: each parameter's spelling is parsed into a small pattern (`T`, `const T &`, `T *`,
  `T[N] &`, `Ts...`) and unified with the Numba argument type; conflicting deductions are unified
  the way Numba unifies (int32 and int64 give int64), and a template argument that cannot be
  deduced can be given explicitly: `make_value[np.float32](3)`;
- substitution and the shim: the instantiation's shim calls the template with explicit template
  arguments (`::lib::saturate<float>(*a0)`), so the C++ compiler picks the instantiation and honours
  explicit specializations;
- class templates: `BlockScan[np.int32, 128]` outside a kernel, `BlockScan(T=int32, BlockDimX=128)`
  inside one. The size and alignment of each instantiation (and of its nested records such as
  `TempStorage`), the offsets of its fields, and the other facts only the compiler knows (an `auto`
  return type, which overloads survive substitution) come from a probe: constant expressions
  evaluated by libclang (`ast_canopy.evaluate_constants`, on the header precompiled once), or, where
  ast_canopy is not importable (a static module alone), compiled by NVRTC into a PTX constant;
  once per expression set and process (`NUMBAST_TEMPLATE_PROBE` chooses: `clang`, `nvrtc`, `both`);
- user operators: a `@cuda.jit(device=True)` function given where a template parameter deduced
  from an argument is an operator type (`ReductionOp`) is compiled by numba-cuda to LTO-IR with
  the C ABI, for two values of the call's value type, and passed as a functor that calls it
  (`_TplUserOp`);
- templates that only some GPU architectures have (a static module generated for several): their
  instantiation shims are wrapped in the architectures' `#if`, and lowering a call for another
  architecture fails with a message that names them.

Static mode appends this text to the runtime's in one module; dynamic mode imports it as
`numbast._templates` next to `numbast._runtime`. Either way it reaches the runtime's helpers through
`_tpl_rt`, and rendered code reaches it through `_template_bindings(_b)`.
"""

import enum as _tpl_enum
import hashlib as _tpl_hashlib
import importlib as _tpl_importlib
import inspect as _tpl_inspect
import operator as _tpl_operator
import os as _tpl_os
import re as _tpl_re
from types import SimpleNamespace as _TplNamespace

if "Bindings" in globals() and "ShimUnit" in globals():  # static mode: the runtime's text is above
    _tpl_rt = _TplNamespace(**globals())
else:  # dynamic mode: this is `numbast._templates`. (Named at run time, so that the text a static
    # module embeds imports nothing outside numba, llvmlite and the standard library, even here.)
    _tpl_rt = _tpl_importlib.import_module("._runtime", __package__)
    types = _tpl_rt.types  # (static mode: the runtime's own name)

# The Numba the backend's runtime types with (`_NB_PACKAGE`: numba-cuda's, or numba-cuda-mlir's copy).
_TplTypingError = _tpl_rt._TypingError
_tpl_signature = _tpl_rt.signature
_TplAbstractTemplate = _tpl_rt.AbstractTemplate
_TplAttributeTemplate = _tpl_rt.AttributeTemplate


class TemplateError(TypeError):
    """A template cannot be instantiated with the given arguments (outside a kernel; inside one,
    the same message is a Numba typing error)."""


class _TplReject(Exception):
    """Why one overload does not fit a call."""


# Helpers every template shim relies on, added to the shim unit once.
_TPL_HELPERS_NAME = "__nbst_template_helpers"
_TPL_HELPERS = """#ifndef NUMBAST_TEMPLATE_HELPERS
#define NUMBAST_TEMPLATE_HELPERS
template <class T> using __nbst_ptr = T *;
template <class T> using __nbst_id = T;
template <class T> __device__ T &&__nbst_move(T &x) { return static_cast<T &&>(x); }
template <class T> struct __nbst_items_of {
  T *p;
  template <unsigned long long N> using ref = T (&)[N];
  template <unsigned long long N> __device__ operator ref<N>() const { return *reinterpret_cast<T (*)[N]>(p); }
  __device__ operator T *() const { return p; }
};
template <class T> __device__ __nbst_items_of<T> __nbst_items(T *p) { return {p}; }
#endif
"""
_TPL_SELF = "__nbst_self__"  # stands for the class template instance in member spellings
_TPL_CALL = "operator()"  # the member a call of a value (`x(a, b)`, Python's `__call__`) reaches
_TPL_INPLACE = frozenset([
    _tpl_operator.iadd, _tpl_operator.isub, _tpl_operator.imul, _tpl_operator.itruediv, _tpl_operator.imod,
    _tpl_operator.iand, _tpl_operator.ior, _tpl_operator.ixor, _tpl_operator.ilshift, _tpl_operator.irshift,
])  # fmt: skip

# ----------------------------------------------------------------------------- C++ spellings


def _tpl_norm(spelling):
    return " ".join(str(spelling).split())


_TPL_IDENT = _tpl_re.compile(r"(?<![\w:.])(?<!->)[A-Za-z_]\w*")


def _tpl_subst(text, mapping):
    """`text` with each identifier that `mapping` names replaced (not members such as `X::T`)."""
    return _TPL_IDENT.sub(lambda m: mapping.get(m.group(0), m.group(0)), text)


def _tpl_type_text(cxx):
    """A type argument as it is substituted into a type expression: compound spellings are wrapped
    so that `const T` with `T = int *` stays a const pointer."""
    return f"__nbst_id<{cxx}>" if any(c in cxx for c in "*&[(") else cxx


# ----------------------------------------------------------------------------- Numba <-> C++ types

_TPL_SCALARS = _tpl_rt._SCALAR_TYPES  # C++ scalar and vector type names -> Numba types
_TPL_CXX_OF = {}  # Numba scalar or vector type -> its C++ spelling: the table's first for it
for _cxx, _ty in _TPL_SCALARS.items():
    _TPL_CXX_OF.setdefault(_ty, _cxx)


def _tpl_cxx_of(ty, bindings):
    """The C++ spelling of Numba type `ty`, or None."""
    ty = types.unliteral(ty)
    if isinstance(ty, types.Boolean | types.Integer | types.Float):
        return _TPL_CXX_OF.get(ty)
    if ty == types.voidptr:
        return "void *"
    if isinstance(ty, types.CPointer):
        inner = _tpl_cxx_of(ty.dtype, bindings)
        return None if inner is None else f"{inner} *"
    owner = getattr(ty, "_nbst_owner", None)
    if owner is not None:
        return owner.cxx
    for name, t in list(bindings.types.items()):
        if t == ty:
            return name
    return _TPL_CXX_OF.get(ty)  # vector types


def _tpl_numba_of(name, bindings):
    """The Numba type of the C++ type `name` names (a scalar, a bound or registered type), or None."""
    name = _tpl_norm(name).lstrip(":").strip()
    ty = _TPL_SCALARS.get(name)
    return ty if ty is not None else bindings.types.get(name)


def _tpl_numba_of_pattern(pat, mapping, env, bindings):
    """The Numba type of a value of pattern `pat` once template parameters are replaced (`mapping`:
    name -> text; `env`: name -> `_TplArg`, whose Numba type a bare parameter has), or None; a
    reference, a pack or `void` is None too."""
    kind = pat[0]
    if kind == "name":
        a = env.get(pat[1])
        if isinstance(a, _TplArg) and a.is_type and a.numba is not None:
            return a.numba
        return _tpl_numba_of(_tpl_subst(pat[1], mapping), bindings)
    if kind == "ptr":
        if pat[1] == ("name", "void"):
            return types.voidptr
        inner = _tpl_numba_of_pattern(pat[1], mapping, env, bindings)
        return None if inner is None else types.CPointer(inner)
    if kind == "array":
        inner = _tpl_numba_of_pattern(pat[1], mapping, env, bindings)
        extent = _tpl_subst(pat[2], mapping).strip("()")
        return None if inner is None or not extent.isdigit() else types.UniTuple(inner, int(extent))
    return None


def _tpl_unparse(pat):
    kind = pat[0]
    if kind == "name":
        return pat[1]
    if kind == "ptr":
        return _tpl_unparse(pat[1]) + " *"
    if kind == "array":
        return f"{_tpl_unparse(pat[1])}[{pat[2]}]"
    if kind == "ref":
        return _tpl_unparse(pat[2]) + " " + pat[1]
    return _tpl_unparse(pat[1]) + "..."


def _tpl_map_names(pat, fn):
    """Pattern `pat` with `fn` applied to each named type and array extent."""
    kind = pat[0]
    if kind == "name":
        text = fn(pat[1])
        if len(pat) > 2 and "<" in text:  # a template-id: its arguments too (its name stays)
            name, fully_qualified, args = pat[2]
            return ("name", text, (name, fully_qualified, [fn(a) for a in args]))
        return ("name", text)
    if kind == "ref":
        return ("ref", pat[1], _tpl_map_names(pat[2], fn))
    if kind == "array":
        return ("array", _tpl_map_names(pat[1], fn), fn(pat[2]))
    return (kind, _tpl_map_names(pat[1], fn))


def _tpl_pattern_of(ty, bindings):
    """The pattern of Numba type `ty` as C++ spells it (pointers kept as such), or None."""
    ty = types.unliteral(ty)
    if ty == types.voidptr:
        return ("ptr", ("name", "void"))
    if isinstance(ty, types.CPointer):
        inner = _tpl_pattern_of(ty.dtype, bindings)
        return None if inner is None else ("ptr", inner)
    cxx = _tpl_cxx_of(ty, bindings)
    return None if cxx is None else ("name", cxx)


def _tpl_made_overload(qual_name, params, items=False):
    """An overload the runtime makes for a member the compiler resolves (one inherited from a base
    class): `params` are `(name, pattern)`, passed by value; the return type is the compiler's."""
    spellings = [_tpl_unparse(pat) for _n, pat in params]
    return _TplOverload({
        "qual_name": qual_name, "params": [(n, sp, "in") for (n, _p), sp in zip(params, spellings)],
        "patterns": [pat for _n, pat in params], "values": spellings,
        "ret": "auto", "ret_pattern": ("name", "auto"), "ret_value": "auto", "ret_deduced": True, "items": items,
    })  # fmt: skip


# ----------------------------------------------------------------------------- template arguments


class _TplParam:
    """A template parameter: `kind` is "type" or "non_type"; `type` is a non-type parameter's C++
    type, `default` its default (qualified by the renderer), and for a type its pattern."""

    __slots__ = ("default", "default_pattern", "kind", "name", "pack", "type")

    def __init__(self, name, kind, type_, default, pack, default_pattern=None):
        self.name, self.kind, self.type, self.default, self.pack = name, kind, type_, default, bool(pack)
        self.default_pattern = default_pattern

    def __str__(self):
        head = ("typename" if self.kind == "type" else self.type or "auto") + ("..." if self.pack else "")
        return f"{head} {self.name}" + ("" if self.default is None else f" = {self.default}")


class _TplArg:
    """A template argument: its C++ spelling, and for a type (`is_type`) its Numba type (None when
    only the spelling is known), for a value the Python value (None for a default as written)."""

    __slots__ = ("cxx", "is_type", "numba", "value")

    def __init__(self, cxx, numba=None, value=None, is_type=True):
        self.cxx, self.numba, self.value, self.is_type = cxx, numba, value, is_type

    def text(self):
        """What replaces the parameter's name in a type expression."""
        return _tpl_type_text(self.cxx) if self.is_type else self.cxx

    def __repr__(self):
        return self.cxx


def _tpl_arg_text(arg):
    """What replaces a template parameter's name in a type expression (a pack: its elements)."""
    return ", ".join(x.text() for x in arg) if isinstance(arg, list) else arg.text()


def _tpl_value_arg(param, value):
    """A non-type template argument for a Python value: int, bool, or an enumerator name."""
    if isinstance(value, _tpl_enum.Enum):
        value = int(value.value)
    ptype = _tpl_norm(param.type or "int")
    builtin = ptype.replace("const ", "") in _TPL_SCALARS
    if isinstance(value, bool) or (isinstance(value, int) and ptype == "bool"):
        return _TplArg("true" if value else "false", value=bool(value), is_type=False)
    if isinstance(value, int):
        text = str(value) if value >= 0 else f"({value})"
        if not builtin and param.type:
            text = f"static_cast<{ptype}>({value})"
        return _TplArg(text, value=value, is_type=False)
    if isinstance(value, str) and value:
        if _tpl_re.fullmatch(r"[A-Za-z_]\w*", value) and not builtin and param.type:
            return _TplArg(f"{ptype}::{value}", value=value, is_type=False)
        return _TplArg(value, value=value, is_type=False)
    raise TemplateError(f"non-type template parameter `{param.name}` ({ptype}) needs an int, a bool or an enumerator name, not {value!r}")


def _tpl_type_arg(param, ty, bindings):
    cxx = _tpl_cxx_of(ty, bindings)
    if cxx is None:
        raise TemplateError(f"template argument for `{param.name}`: {ty} has no C++ spelling")
    return _TplArg(cxx, numba=types.unliteral(ty))


_TPL_PYTHON_SCALARS = {bool: types.boolean, int: types.int64, float: types.float64}  # as NumPy maps them


def _tpl_numba_of_python_type(value):
    """The Numba type of a NumPy scalar type or dtype (`np.int32`, `np.dtype("f4")`) or of Python's
    `bool`, `int` and `float`, or None."""
    if isinstance(value, type) and value in _TPL_PYTHON_SCALARS:
        return _TPL_PYTHON_SCALARS[value]
    try:
        ty = _tpl_rt.typeof(value)
    except Exception:
        return None
    if isinstance(ty, types.NumberClass):
        return ty.instance_type
    if isinstance(ty, types.DType):
        return ty.dtype
    return None


def _tpl_arg_from_python(param, value, bindings):
    """A template argument given outside a kernel: a NumPy dtype or scalar type, a Numba type, a
    bound struct or class template instance, or a C++ spelling (str) for a type; an int, bool or
    enumerator name for a value."""
    if param.pack and isinstance(value, (list, tuple)):
        return [_tpl_arg_from_python(_TplParam(param.name, param.kind, param.type, None, False), v, bindings)
                for v in value]  # fmt: skip
    if param.kind != "type":
        return _tpl_value_arg(param, value)
    if isinstance(value, str):
        return _TplArg(_tpl_norm(value), numba=_tpl_numba_of(value, bindings))
    ty = getattr(value, "_numba_type", None)  # bound structs, class template instances
    if ty is None and isinstance(value, types.Type):
        ty = value
    if ty is None:
        ty = _tpl_numba_of_python_type(value)
    if ty is None:
        raise TemplateError(f"template argument for `{param.name}`: {value!r} is not a type")
    return _tpl_type_arg(param, ty, bindings)


def _tpl_arg_from_numba(param, ty, bindings):
    """A template argument given in a kernel, by the Numba type of the expression: a type (NumPy
    or Numba scalar class, bound struct, class template instance) or a literal."""
    if param.pack and isinstance(ty, types.BaseTuple):
        one = _TplParam(param.name, param.kind, param.type, None, False)
        return [_tpl_arg_from_numba(one, t, bindings) for t in ty.types]
    if param.kind == "type":
        if isinstance(ty, (types.NumberClass, types.TypeRef)):
            return _tpl_type_arg(param, ty.instance_type, bindings)
        if isinstance(ty, types.DType):
            return _tpl_type_arg(param, ty.dtype, bindings)
        if isinstance(ty, types.DTypeSpec) and isinstance(ty, types.Function):  # bound struct classes
            return _tpl_type_arg(param, ty.dtype, bindings)
        raise TemplateError(f"template argument for `{param.name}` must be a type, such as int32 or np.float32, not {ty}")
    if isinstance(ty, types.Literal):
        return _tpl_value_arg(param, ty.literal_value)
    raise TemplateError(f"non-type template parameter `{param.name}` needs a compile-time constant (a literal), not {ty}")


# ----------------------------------------------------------------------------- overloads and deduction


class _TplOverload:
    """One callable of a template: a function template, or a class template's constructor or
    method (then `tparams` are the member template's own)."""

    def __init__(self, data, qual_name=None):
        self.qual_name = data.get("qual_name", qual_name)
        self.tparams = [_TplParam(*p) for p in data.get("tparams", ())]
        self.ret = _tpl_norm(data.get("ret", "void"))
        self.params = [(name, _tpl_norm(sp), intent) for name, sp, intent in data["params"]]
        self.location = data.get("location", "")
        self.arch = data.get("arch")  # the preprocessor condition of the archs that have it, if not all
        # The renderer's analysis of the spellings (`crates/bindgen/src/render/spelling.rs`): each
        # parameter's pattern and the spelling of the value it refers to, the return type's, and
        # how specialized the overload is (pointer, array and concrete type nodes).
        self.patterns = [p for p in data.get("patterns", ())]
        self.values = [_tpl_norm(v) for v in data.get("values", ())]
        self.ret_pattern = data.get("ret_pattern", ("name", "void"))
        self.ret_value = _tpl_norm(data.get("ret_value", "void"))
        self.ret_deduced = data.get("ret_deduced", False)
        self.specificity = data.get("specificity", 0)
        self.data = data

    def substituted(self, qual_name, mapping):
        """This overload with template parameters replaced (`mapping`: name -> text), as a member
        of one instantiation."""

        def sub(text):
            return _tpl_subst(text, mapping)

        data = dict(self.data, qual_name=qual_name, ret=sub(self.ret), ret_value=sub(self.ret_value))
        data["params"] = [(n, sub(sp), i) for n, sp, i in self.params]
        data["patterns"] = [_tpl_map_names(p, sub) for p in self.patterns]
        data["values"] = [sub(v) for v in self.values]
        data["ret_pattern"] = _tpl_map_names(self.ret_pattern, sub)
        return _TplOverload(data)

    def describe(self, name):
        head = f"template <{', '.join(map(str, self.tparams))}> " if self.tparams else ""
        params = ", ".join(f"{sp} {n}".strip() for n, sp, _i in self.params)
        where = f"  [{self.location}]" if self.location else ""
        return f"{head}{self.ret} {name}({params}){where}".replace(_TPL_SELF, "Self")


class _TplSlot:
    """How one C++ parameter is passed: `numba`/`mode` for the runtime's `_call_shim`, `sigty` for
    the Numba signature (None for an `out` parameter), and `passing`: "value", "ptr" (a pointer
    argument given as is), "data" (an array whose data the reference binds to) or "decay" (an
    array passed as a pointer to its data)."""

    __slots__ = ("mode", "numba", "passing", "rvalue", "sigty", "value_cxx")

    def __init__(self, value_cxx, numba, mode, sigty, passing, rvalue):
        self.value_cxx, self.numba, self.mode = value_cxx, numba, mode
        self.sigty, self.passing, self.rvalue = sigty, passing, rvalue


class _TplResolved:
    """An overload with its template arguments: the slots, the return type and the cost (the
    number of arguments Numba converts)."""

    deduced_by_call = False  # whether C++ deduces every own template argument from the call's arguments

    def __init__(self, overload, own_args, slots, ret, ret_cxx, cost):
        self.overload, self.own_args, self.slots = overload, own_args, slots
        self.ret, self.ret_cxx, self.cost = ret, ret_cxx, cost

    @property
    def sigtys(self):
        return [s.sigty for s in self.slots if s.sigty is not None]

    def explicit_args(self):
        """`<...>` for the callee: every own template argument, deduced or default, so that the
        compiler instantiates what deduction chose."""
        spelled = []
        for p in self.overload.tparams:
            a = self.own_args.get(p.name)
            spelled.append(", ".join(x.cxx for x in a) if isinstance(a, list) else a.cxx)
        return f"<{', '.join(spelled)}>" if spelled else ""

    def call_args(self):
        """`<...>` for a call of a free function template: none where C++ deduces every template
        argument from the shim's arguments (whose types are the deduced parameter types), as in
        the call a user writes. Written out, they would be substituted into every function template
        of the name, where a hard error can arise: CCCL 13.0's `operator+<float>` on complex values
        instantiates `reverse_iterator<float>` through `operator+(typename
        reverse_iterator<_Iter>::difference_type, const reverse_iterator<_Iter> &)`."""
        return "" if self.deduced_by_call else self.explicit_args()


class _TplDeduction:
    """Deduces the template arguments of one overload for one call; raises `_TplReject`."""

    def __init__(self, overload, outer, explicit, bindings, typingctx):
        self.ov, self.b, self.ctx = overload, bindings, typingctx
        self.own = {p.name: p for p in overload.tparams}
        self.env = dict(outer)  # name -> _TplArg (or list of _TplArg for a pack)
        self.cands = {}  # type parameter -> [(numba type, exact, parameter name)]
        self.values = {}  # non-type parameter -> [(value, parameter name)]
        self.packs = {}  # type pack -> [numba type] in argument order
        self.ops = {}  # type parameter -> [(function type, parameter name)]: user operators
        self.by_call = set()  # own parameters that C++ deduces from the shim's call too
        self.given = bool(explicit)  # template arguments given in the kernel (`f[np.int32]`)
        self._explicit(explicit)

    def _explicit(self, explicit):
        explicit = list(explicit)
        given = len(explicit)
        for p in self.ov.tparams:
            if not explicit:
                break
            if p.pack:
                self.env[p.name] = [a for e in explicit for a in (e if isinstance(e, list) else [e])]
                explicit = []
            else:
                self.env[p.name] = explicit.pop(0)
        if explicit:
            raise _TplReject(f"has {len(self.ov.tparams)} template parameter(s), {given} given")

    # -- matching parameter patterns against argument types --

    def _walk(self, pat, ty, exact, pname):
        kind = pat[0]
        if kind == "name":
            p = self.own.get(pat[1])
            if p is not None and p.kind == "type":
                if p.pack:
                    self.packs.setdefault(p.name, []).append(ty)
                else:
                    self.cands.setdefault(p.name, []).append((ty, exact, pname))
                self.by_call.add(p.name)
                return None
            return self._walk_template_id(pat, ty, pname)  # else a concrete type: checked once known
        if kind == "ptr":
            if isinstance(ty, types.CPointer):
                return self._walk(pat[1], ty.dtype, True, pname)
            if ty == types.voidptr and pat[1] == ("name", "void"):
                return None
            raise _TplReject(f"parameter `{pname}` is a pointer, the argument is {ty}")
        if kind == "array":
            if isinstance(ty, types.UniTuple):
                self._extent(pat[2], ty.count, pname)
                return self._walk(pat[1], ty.dtype, True, pname)
            raise _TplReject(f"parameter `{pname}` is an array, the argument is {ty}")
        raise _TplReject(f"parameter `{pname}`: unsupported type")

    def _walk_template_id(self, pat, ty, pname):
        """`complex<T>` against an instantiation of a bound class template: each template
        argument that is one of this overload's parameters is deduced from the instantiation's."""
        if len(pat) < 3:
            return  # not a template-id
        name, fully_qualified, parts = pat[2]
        if not any(part in self.own for part in parts):
            return  # no parameter of this overload in it
        owner = getattr(ty, "_nbst_owner", None)
        template = getattr(owner, "template", None)
        qual = getattr(template, "_qual", "").lstrip(":")
        # `::std::complex<U>` is fully qualified; `complex<T>` is named from within a namespace.
        if template is None or not (qual == name or (not fully_qualified and qual.endswith("::" + name))):
            raise _TplReject(f"parameter `{pname}` takes a {name}<...>, the argument is {ty}")
        for part, tp in zip(parts, template._tparams):
            own, given = self.own.get(part), owner.args.get(tp.name)
            if own is None or own.pack or not isinstance(given, _TplArg):
                continue
            self.by_call.add(own.name)
            if own.kind == "type":
                numba = given.numba or _tpl_numba_of(given.cxx, self.b)
                if numba is None:
                    raise _TplReject(f"parameter `{pname}`: template argument `{given.cxx}` has no Numba type")
                self.cands.setdefault(own.name, []).append((numba, True, pname))
            else:
                self.values.setdefault(own.name, []).append((given.value if given.value is not None else given.cxx, pname))

    def _extent(self, extent, count, pname):
        p = self.own.get(extent)
        if p is not None and p.kind == "non_type":
            self.values.setdefault(extent, []).append((count, pname))
        elif extent.isdigit() and int(extent) != count:
            raise _TplReject(f"parameter `{pname}` has {extent} elements, the argument {count}")

    def _passing(self, pat, ty, pname):
        """Walks one parameter; returns how its argument is passed."""
        is_ref = pat[0] == "ref"
        vp = pat[2] if is_ref else pat
        if _tpl_is_function_type(ty):  # a user operator (`_TplUserOp`), built once the value type is known
            if vp[0] != "name" or vp[1] not in self.own or self.own[vp[1]].kind != "type":
                raise _TplReject(f"parameter `{pname}` ({_tpl_unparse(pat)}) cannot take a Python function")
            self.ops.setdefault(vp[1], []).append((ty, pname))
            self.by_call.add(vp[1])
            return "functor"
        element = getattr(ty, "_nbst_ref_of", None)  # `a[i]` of an array of opaque structs
        if element is not None:
            if is_ref and pat[1] == "&":
                self._walk(vp, element, True, pname)
                return "element"
            ty = element  # passed by value: a copy
        if isinstance(ty, types.Array):
            if vp[0] == "array" or is_ref:
                target = vp[1] if vp[0] == "array" else vp
                by_call = set(self.by_call)
                self._walk(target, ty.dtype, True, pname)
                self.by_call = by_call  # the shim passes `__nbst_items(p)`, from which C++ deduces nothing
                return "data"
            if vp[0] == "ptr":
                self._walk(vp[1], ty.dtype, True, pname)
                return "decay"
            if vp[0] == "name" and vp[1] in self.own and self.own[vp[1]].kind == "type":
                self._walk(vp, types.CPointer(ty.dtype), False, pname)
                return "decay"
            raise _TplReject(f"parameter `{pname}` ({_tpl_unparse(pat)}) cannot take an array")
        self._walk(vp, ty, False, pname)
        return "value"

    # -- resolving the template arguments --

    def _resolve(self):
        for p in self.ov.tparams:
            given = self.env.get(p.name)
            if p.kind == "type" and p.pack:
                if given is None:
                    try:
                        self.env[p.name] = [_tpl_type_arg(p, t, self.b) for t in self.packs.get(p.name, [])]
                    except TemplateError as e:
                        raise _TplReject(str(e)) from None
                continue
            if p.kind == "type" and p.name in self.ops:
                continue  # after the others: the operator's argument type is the call's value type
            if p.kind == "type":
                self._resolve_type(p, given)
            else:
                self._resolve_value(p, given)

    def _resolve_type(self, p, given):
        cands = self.cands.get(p.name, [])
        if given is not None:
            for ty, exact, pname in cands:
                if given.numba is None or (exact and ty != given.numba) or (not exact and self.ctx.can_convert(ty, given.numba) is None):
                    raise _TplReject(f"argument `{pname}` ({ty}) does not fit {p.name} = {given.cxx}")
            return
        if cands:
            exacts = {ty for ty, exact, _ in cands if exact}
            if len(exacts) > 1:
                shown = ", ".join(map(str, sorted(exacts, key=str)))
                raise _TplReject(f"conflicting deductions for `{p.name}`: {shown}")
            if exacts:
                (ty,) = exacts
                for other, _e, pname in cands:
                    if self.ctx.can_convert(other, ty) is None:
                        raise _TplReject(f"argument `{pname}` ({other}) does not convert to {p.name} = {ty}")
            else:
                tys = [ty for ty, _e, _n in cands]
                ty = tys[0] if all(t == tys[0] for t in tys) else self.ctx.unify_types(*tys)
                if ty is None or isinstance(ty, types.Optional):
                    shown = ", ".join(f"{t} (from `{n}`)" for t, _e, n in cands)
                    raise _TplReject(f"conflicting deductions for `{p.name}`: {shown}")
            try:
                self.env[p.name] = _tpl_type_arg(p, ty, self.b)
            except TemplateError as e:
                raise _TplReject(str(e)) from None
            return
        self._default(p)

    def _resolve_value(self, p, given):
        seen = {v for v, _n in self.values.get(p.name, [])}
        if given is not None:
            if seen and seen != {given.value}:
                raise _TplReject(f"`{p.name}` = {given.cxx}, the arguments say {sorted(seen)}")
            return
        if len(seen) > 1:
            raise _TplReject(f"conflicting deductions for `{p.name}`: {sorted(seen)}")
        if seen:
            self.env[p.name] = _tpl_value_arg(p, seen.pop())
            return
        self._default(p)

    def _default(self, p):
        if p.default is None:
            raise _TplReject(f"template parameter `{p.name}` cannot be deduced from the arguments; give it explicitly")
        mapping = self._mapping()
        text = _tpl_subst(p.default, mapping)  # qualified by the renderer
        is_type = p.kind == "type"
        numba = _tpl_numba_of_pattern(p.default_pattern, mapping, self.env, self.b) if is_type and p.default_pattern else None
        self.env[p.name] = _TplArg(text, numba=numba, is_type=is_type)

    def _mapping(self, pack_element=None):
        """Template parameter -> the text substituted for it in a type expression (for a pack
        element, that element)."""
        out = {name: _tpl_arg_text(a) for name, a in self.env.items()}
        for p in self.ov.tparams:
            if p.pack and pack_element is not None and len(self.env.get(p.name, ())) > pack_element:
                out[p.name] = self.env[p.name][pack_element].text()
        return out

    def _numba_of_value(self, vp, mapping=None):
        """The Numba type of a parameter's value (pattern `vp`), template parameters replaced as
        `mapping` says (by default, as deduced so far)."""
        mapping = self._mapping() if mapping is None else mapping
        if vp[0] == "name":
            a = self.env.get(vp[1])
            if isinstance(a, _TplArg) and a.numba is not None:
                return a.numba
        numba = _tpl_numba_of_pattern(vp, mapping, self.env, self.b)
        if numba is None and vp[0] == "name":  # `complex<float>`: an instance of a bound class template
            ci = _tpl_class_instance_of(vp, mapping, self.b)
            numba = None if ci is None else ci._numba_type
        return numba

    # -- the whole deduction --

    def run(self, argtys):
        """Returns a `_TplResolved` for Numba argument types `argtys`."""
        params = [((name, value, intent), pat) for (name, _sp, intent), value, pat in zip(self.ov.params, self.ov.values, self.ov.patterns)]
        if any(pat[0] == "pack" for _p, pat in params[:-1]):
            raise _TplReject("a function parameter pack that is not last")
        fixed = [x for x in params if x[1][0] != "pack"]
        n_fixed = sum(1 for (_n, _s, intent), _p in fixed if intent != "out_return")
        expanded = []  # (name, value spelling, intent, pattern, pack element index or None)
        for (name, value, intent), pat in params:
            if pat[0] == "pack":
                extra = len(argtys) - n_fixed
                expanded += [(f"{name}[{k}]", value, intent, pat[1], k) for k in range(max(extra, 0))]
            else:
                expanded.append((name, value, intent, pat, None))
        visible = [x for x in expanded if x[2] != "out_return"]
        if len(visible) != len(argtys):
            raise _TplReject(f"takes {len(visible)} argument(s), {len(argtys)} given")
        argtys = [types.unliteral(t) for t in argtys]
        passing, it = {}, iter(argtys)
        for i, (name, _sp, intent, pat, _k) in enumerate(expanded):
            if intent == "out_return":
                continue
            ty = next(it)
            if intent in ("inout_ptr", "out_ptr"):
                if not isinstance(ty, types.CPointer):
                    raise _TplReject(f"argument `{name}` ({intent}) must be a pointer, not {ty}")
                self._walk(pat[2] if pat[0] == "ref" else pat, ty.dtype, True, name)
                passing[i] = "ptr"
            else:
                passing[i] = self._passing(pat, ty, name)
        self._resolve()
        self._resolve_ops(expanded, passing)
        slots, cost, it = [], 0, iter(argtys)
        for i, (name, sp, intent, pat, k) in enumerate(expanded):
            ty = None if intent == "out_return" else next(it)
            slot = self._slot(name, sp, intent, pat, ty, passing.get(i), k)
            cost += slot.sigty is not None and slot.passing == "value" and slot.sigty != ty
            slots.append(slot)
        ret, ret_cxx = self._return()
        own = {p.name: self.env[p.name] for p in self.ov.tparams}
        r = _TplResolved(self.ov, own, slots, ret, ret_cxx, cost)
        # Template arguments given in the kernel are written out, as a C++ call gives them.
        r.deduced_by_call = not self.given and all(p.name in self.by_call for p in self.ov.tparams)
        return r

    def _slot(self, name, value, intent, pat, ty, passing, element):
        vp = pat[2] if pat[0] == "ref" else pat
        rvalue = pat[0] == "ref" and pat[1] == "&&"
        value_cxx = _tpl_subst(value, self._mapping(element))
        pack = self.env.get(vp[1]) if vp[0] == "name" else None
        if element is not None and isinstance(pack, list):
            numba = pack[element].numba
        else:
            numba = self._numba_of_value(vp, self._mapping(element))
        if passing == "functor":
            return _TplSlot(self.env[vp[1]].cxx, ty, "functor", ty, "functor", rvalue)
        owner = getattr(numba, "_nbst_owner", None)
        if vp[0] == "name" and owner is not None:  # the shim is outside the template's namespace
            value_cxx = ("const " if value_cxx.startswith("const ") else "") + owner.cxx
        if intent == "out_return":
            if numba is None:
                raise _TplReject(f"out_return parameter `{name}` has type `{value_cxx}`, which has no Numba type")
            return _TplSlot(value_cxx, numba, "out", None, "out", False)
        if passing == "ptr":
            if numba is None or ty != types.CPointer(numba):
                raise _TplReject(f"argument `{name}` must be a pointer to `{value_cxx}`, not {ty}")
            return _TplSlot(value_cxx, ty, "ptr", ty, "ptr", False)
        if passing == "data":
            elem = numba.dtype if isinstance(numba, types.UniTuple) else numba
            if vp[0] == "array":
                elem = self._numba_of_value(vp[1], self._mapping(element))
                if not self._extent_known(vp[2]):
                    raise _TplReject(f"the extent `{vp[2]}` of parameter `{name}` cannot be deduced from an "
                                     "array; give it explicitly")  # fmt: skip
            if elem != ty.dtype:
                raise _TplReject(f"argument `{name}` is an array of {ty.dtype}, the parameter refers to `{value_cxx}`")
            return _TplSlot(value_cxx, types.CPointer(ty.dtype), "ptr", ty, "data", False)
        if passing == "decay":
            return _TplSlot(value_cxx, types.CPointer(ty.dtype), "in", ty, "decay", False)
        if passing == "element":  # the reference binds to the array element itself
            elem = ty._nbst_ref_of
            if numba is not None and numba != elem:
                raise _TplReject(f"argument `{name}` is an element of type {elem}, the parameter refers to `{value_cxx}`")
            # The element's own spelling: a parameter may name it through a private alias
            # (WarpMergeSort's `typename BlockMergeSortStrategyT::TempStorage &`).
            return _TplSlot(_tpl_cxx_of(elem, self.b) or value_cxx, types.CPointer(elem), "ptr", ty, "element", False)
        if numba is None:
            raise _TplReject(f"parameter `{name}` has type `{value_cxx}`, which has no Numba type")
        if ty != numba and self.ctx.can_convert(ty, numba) is None:
            raise _TplReject(f"argument `{name}` ({ty}) does not convert to `{value_cxx}` ({numba})")
        return _TplSlot(value_cxx, numba, "in", numba, "value", rvalue)

    def _resolve_ops(self, expanded, passing):
        """Each type parameter that a Python function was given for becomes a functor calling it
        with two values of the call's value type (`_value_type`)."""
        for name, given in self.ops.items():
            (fnty, pname), *rest = given
            for other, oname in rest:
                if other != fnty:
                    raise _TplReject(f"conflicting deductions for `{name}`: the functions of `{pname}` and `{oname}`")
            value = self._value_type(expanded, passing)
            try:
                op = _tpl_user_op(fnty, value, name)
            except TemplateError as e:
                raise _TplReject(str(e)) from None
            self.env[name] = _TplArg(op.functor, numba=fnty)

    def _value_type(self, expanded, passing):
        """The value type a user operator is called with: the class template's first type argument
        (for its members), else the first parameter whose value, or element, is a number or bool."""
        for key, a in self.env.items():
            if key in self.own or key == _TPL_SELF or isinstance(a, list) or not a.is_type:
                continue
            if isinstance(a.numba, types.Number | types.Boolean):
                return a.numba
            break  # only the first type argument of the class
        mapping = self._mapping()
        for i, (_name, _value, intent, pat, _k) in enumerate(expanded):
            if intent == "out_return" or passing.get(i) == "functor":
                continue
            vp = pat[2] if pat[0] == "ref" else pat
            ty = self._numba_of_value(vp, mapping)
            while isinstance(ty, types.UniTuple | types.CPointer):
                ty = ty.dtype
            if isinstance(ty, types.Number | types.Boolean):
                return ty
        raise _TplReject("a Python function is given for an operator, but the call has no value of a number "
                         "type for it to take")  # fmt: skip

    def _extent_known(self, extent):
        return extent.isdigit() or isinstance(self.env.get(extent), _TplArg)

    def _return(self):
        pat = self.ov.ret_pattern
        vp = pat[2] if pat[0] == "ref" else pat
        if vp == ("name", "void"):
            return None, "void"
        value_cxx = _tpl_subst(self.ov.ret_value, self._mapping())
        numba = self._numba_of_value(vp)
        # `auto`, `decltype(...)`, a member type, an alias template (`common_type_t<T, U>`): the
        # compiler says what it is, once chosen (the renderer tells such a return type).
        if numba is None and (self.ov.ret_deduced or "::" in value_cxx or "<" in value_cxx):
            return _TPL_ASK_COMPILER, value_cxx
        if numba is None:
            raise _TplReject(f"return type `{value_cxx}` has no Numba type")
        cxx = _tpl_cxx_of(numba, self.b)
        if cxx is None:
            raise _TplReject(f"return type `{value_cxx}` ({numba}) has no C++ spelling")
        return numba, cxx


def _tpl_select(what, candidates, argtys, bindings, typingctx, viable=None):
    """The best of `candidates` (`(overload, outer args, explicit args)`) for `argtys`, or a
    TemplateError that lists every candidate and why it does not fit. `viable` filters the fits
    that remain ambiguous (by asking the compiler which of them substitution keeps: SFINAE)."""
    fits, rejected = [], []
    for ov, outer, explicit in candidates:
        try:
            fits.append(_TplDeduction(ov, outer, explicit, bindings, typingctx).run(argtys))
        except _TplReject as e:
            rejected.append((ov, str(e)))
    shown_args = ", ".join(map(str, argtys))
    if not fits:
        lines = [f"no overload of {what} fits ({shown_args}):"]
        lines += [f"  {ov.describe(what)}\n    -> {why}" for ov, why in rejected]
        raise TemplateError("\n".join(lines))
    best = min(r.cost for r in fits)
    fits = [r for r in fits if r.cost == best]
    if len(fits) > 1:  # as in C++, a non-template beats a template
        plain = [r for r in fits if not r.overload.tparams]
        fits = plain or fits
    if len(fits) > 1:  # and a more specialized template (`T *`) beats a less specialized one (`T`)
        most = max(r.overload.specificity for r in fits)
        fits = [r for r in fits if r.overload.specificity == most]
    if len(fits) > 1 and viable is not None:
        fits = viable(fits) or fits
    if len(fits) > 1:  # one Python name for `ns::f` and `ns::detail::f`: the outer one is the API
        depth = min(r.overload.qual_name.count("::") for r in fits)
        fits = [r for r in fits if r.overload.qual_name.count("::") == depth]
    if len(fits) > 1:  # the same call (a `volatile` overload beside the plain one): the shim's compiler picks
        calls = {(str(r.ret_cxx), tuple(s.value_cxx for s in r.slots), r.explicit_args()) for r in fits}
        fits = fits[:1] if len(calls) == 1 else fits
    if len(fits) > 1:
        lines = [f"call of {what} ({shown_args}) is ambiguous between:"]
        lines += [f"  {r.overload.describe(what)}" for r in fits]
        raise TemplateError("\n".join(lines))
    return fits[0]


def _tpl_class_instance_of(pat, mapping, bindings):
    """The instantiation of a class template bound in `bindings` that the named type `pat` (a
    template-id: `thread_block_tile<32, cg::thread_block>`) is once `mapping` replaces template
    parameters, or None."""
    tb = getattr(bindings, "_nbst_templates", None)
    if pat[0] != "name" or len(pat) < 3 or tb is None:
        return None
    name, _fully_qualified, args = pat[2]
    return _tpl_class_instance_named(tb, name, [_tpl_subst(a, mapping) for a in args])


def _tpl_class_instance_named(tb, name, texts):
    """The instantiation of the one bound class template called `name` (qualified or not) for
    template arguments spelled `texts`, or None."""
    matches = [t for q, t in tb._classes.items() if q == name or q.endswith("::" + name)]
    if len(matches) != 1:
        return None
    try:
        return matches[0]._instance_from_text(texts)
    except TemplateError:
        return None


# ----------------------------------------------------------------------------- shims

_TPL_ASK_COMPILER = "ask the compiler"  # a return type (`auto`, `decltype(...)`) NVRTC classifies
_TPL_BUILTIN_KINDS = [
    ("bool", types.boolean), ("signed char", types.int8), ("unsigned char", types.uint8),
    ("char", types.int8), ("short", types.int16), ("unsigned short", types.uint16), ("int", types.int32),
    ("unsigned int", types.uint32), ("long", types.int64), ("unsigned long", types.uint64),
    ("long long", types.int64), ("unsigned long long", types.uint64), ("float", types.float32),
    ("double", types.float64),
]  # fmt: skip
_TPL_KIND_PROBE = (
    "template <class T> __device__ T __nbst_declval();\n"
    "template <class T> struct __nbst_kind { static constexpr unsigned long long value = 0; };\n"
    "template <class T> struct __nbst_kind<const T> : __nbst_kind<T> {};\n"
    "template <class T> struct __nbst_kind<T &> : __nbst_kind<T> {};\n"
    "template <class T> struct __nbst_kind<T &&> : __nbst_kind<T> {};\n"
    "template <> struct __nbst_kind<void> { static constexpr unsigned long long value = 1000; };\n"
    + "".join(f"template <> struct __nbst_kind<{c}> {{ static constexpr unsigned long long value = {i + 1}; }};\n"
              for i, (c, _t) in enumerate(_TPL_BUILTIN_KINDS))
)  # fmt: skip


def _tpl_ask_return(unit, resolved, callee, self_cxx=None, arch=None, bindings=None):
    """Sets the return type of `resolved` that only the compiler knows (`auto`, `decltype`, an
    alias template) by probing `decltype` of the call (for an arch that has it): a builtin
    arithmetic type, void, or an instance of a bound class template whose type arguments are
    builtin arithmetic types (`make_pair`'s `pair<unwrap_ref_decay_t<T1>, ...>`)."""
    if resolved.ret is not _TPL_ASK_COMPILER:
        return
    args = [_tpl_arg_expr(resolved, s, f"__nbst_declval<{s.value_cxx} {'&&' if s.rvalue else '&'}>()") for s in resolved.slots]
    target = f"__nbst_declval<{self_cxx} &>().{callee}" if self_cxx else callee
    result = f"decltype({target}({', '.join(args)}))"
    (kind,) = _tpl_probe(unit, [f"__nbst_kind<{result}>::value"], f"the return type of {target}", _TPL_KIND_PROBE, arch)
    if kind == 1000:
        resolved.ret, resolved.ret_cxx = None, "void"
    elif 1 <= kind <= len(_TPL_BUILTIN_KINDS):
        resolved.ret_cxx, resolved.ret = _TPL_BUILTIN_KINDS[kind - 1]
    else:
        pat = resolved.overload.ret_pattern
        ci = _tpl_ask_class_instance(unit, pat[2] if pat[0] == "ref" else pat, result, target, arch, bindings)
        if ci is None:
            raise TemplateError(f"{target}: return type `{resolved.ret_cxx}` is not an arithmetic type, void or an "
                                "instance of a bound class template with arithmetic type arguments")  # fmt: skip
        resolved.ret, resolved.ret_cxx = ci._numba_type, ci.cxx


# The kind (`__nbst_kind`) of the I-th type argument of a class template instance.
_TPL_TARG_PROBE = (
    "template <class... A> struct __nbst_list {};\n"
    "template <unsigned long long I, class L> struct __nbst_at { static constexpr unsigned long long value = 0; };\n"
    "template <unsigned long long I, class A0, class... A>\n"
    "struct __nbst_at<I, __nbst_list<A0, A...>> : __nbst_at<I - 1, __nbst_list<A...>> {};\n"
    "template <class A0, class... A> struct __nbst_at<0, __nbst_list<A0, A...>> : __nbst_kind<A0> {};\n"
    "template <unsigned long long I, class T> struct __nbst_targ { static constexpr unsigned long long value = 0; };\n"
    "template <unsigned long long I, template <class...> class C, class... A>\n"
    "struct __nbst_targ<I, C<A...>> : __nbst_at<I, __nbst_list<A...>> {};\n"
    "template <unsigned long long I, class T> struct __nbst_targ<I, const T> : __nbst_targ<I, T> {};\n"
    "template <unsigned long long I, class T> struct __nbst_targ<I, T &> : __nbst_targ<I, T> {};\n"
    "template <unsigned long long I, class T> struct __nbst_targ<I, T &&> : __nbst_targ<I, T> {};\n"
)


def _tpl_ask_class_instance(unit, pat, result, target, arch, bindings):
    """The instance of a bound class template that `result` (a `decltype` the header spells as the
    template-id `pat`, `pair<unwrap_ref_decay_t<_T1>, ...>`) is, its type arguments asked of the
    compiler; None unless each is a builtin arithmetic type."""
    tb = getattr(bindings, "_nbst_templates", None)
    if pat[0] != "name" or len(pat) < 3 or tb is None:
        return None
    name, _fully_qualified, args = pat[2]
    count = len(args)
    exprs = [f"__nbst_targ<{i}, {result}>::value" for i in range(count)]
    try:
        kinds = _tpl_probe(unit, exprs, f"the return type of {target}", _TPL_KIND_PROBE + _TPL_TARG_PROBE, arch)
    except TemplateError:
        return None
    if not all(1 <= k <= len(_TPL_BUILTIN_KINDS) for k in kinds):
        return None
    return _tpl_class_instance_named(tb, name, [_TPL_BUILTIN_KINDS[k - 1][0] for k in kinds])


def _tpl_arg_expr(resolved, slot, expr):
    """An argument in a shim's call: an inherited member's array argument (an overload made with
    `items`) goes through `__nbst_items`, which converts to the reference to array it declares."""
    if slot.passing == "decay" and resolved.overload.data.get("items"):
        return f"__nbst_items({expr})"
    return expr


def _tpl_shim(unit, kind, qual, call, resolved, self_cxx=None, arch=None):
    """The shim of one instantiation: its name and source; the unit gets the helpers. A template
    that some archs only have (`arch`) gets its shim wrapped in their condition, so that the unit
    compiles for every arch."""
    unit.add(_TPL_HELPERS_NAME, _TPL_HELPERS)
    params, args = [], []
    if resolved.ret is not None:
        params.append(f"__nbst_ptr<{resolved.ret_cxx}> __nbst_ret")
    if self_cxx is not None:
        params.append(f"__nbst_ptr<{self_cxx}> __nbst_self")
    for i, s in enumerate(resolved.slots):
        if s.passing == "functor":  # a user operator: constructed in the shim, no argument
            args.append(f"{s.value_cxx}{{}}" if s.rvalue else f"__nbst_lvalue({s.value_cxx}{{}})")
            continue
        params.append(f"__nbst_ptr<{s.value_cxx}> __nbst_a{i}")
        args.append(_tpl_arg_expr(resolved, s, f"__nbst_move(*__nbst_a{i})" if s.rvalue else f"*__nbst_a{i}"))
    expr = f"{call}({', '.join(args)})"
    if kind == "ctor":  # constructs in place
        body = f"::new (static_cast<void *>(__nbst_ret)) {expr};"
    elif resolved.ret is not None:
        body = f"::new (static_cast<void *>(__nbst_ret)) {resolved.ret_cxx}({expr});"
    else:
        body = f"{expr};"
    condition = arch.condition if arch is not None else ""
    identity = "\0".join([unit.name, kind, expr, condition] + params)
    digest = _tpl_hashlib.sha256(identity.encode()).hexdigest()[:12]
    readable = "".join(c if c.isalnum() or c == "_" else "_" for c in qual.replace("::", "_"))[:40]
    name = f"__nbst_tpl_{kind}_{readable}_{digest}"
    src = f'extern "C" __device__ void {name}({", ".join(params)})\n{{\n    {body}\n}}\n'
    if condition:
        src = f"#if {condition}\n{src}#endif\n"
    return name, src


class _TplCall:
    """A typed call of one instantiation: what lowering needs."""

    def __init__(self, unit, shim, src, resolved, self_type=None, arch=None, what=None):
        self.unit, self.shim, self.src, self.resolved, self.self_type = unit, shim, src, resolved, self_type
        self.arch, self.what = arch, what
        self.params = ([] if self_type is None else [(self_type, "in")]) + [
            (s.numba, s.mode) for s in resolved.slots if s.passing != "functor"
        ]
        self.user_ops = [_tpl_user_op_named(s.value_cxx) for s in resolved.slots if s.passing == "functor"]

    def return_type(self):
        """The call's Numba result: the return value, then each `out_return` output, as a tuple;
        a void callable with one output returns that output alone (`y = bs.InclusiveSum(x)`)."""
        outs = [ty for ty, mode in self.params if mode == "out"]
        if self.resolved.ret is None and len(outs) == 1:
            return outs[0]
        return _tpl_rt._return_type(self.resolved.ret, self.params)

    def lower(self, context, builder, args):
        if self.arch is not None:
            self.arch.check(self.what)
        args = list(args)
        values = args[:1] if self.self_type is not None else []
        rest = args[1:] if self.self_type is not None else args
        visible = [s for s in self.resolved.slots if s.sigty is not None]
        for s, v in zip(visible, rest):
            if s.passing == "functor":  # the function's value carries nothing
                continue
            if s.passing in ("data", "decay"):
                v = _tpl_rt._tpl_data_pointer(context, builder, s.sigty, v)
            values.append(v)
        for op in self.user_ops:
            op.link(context)
        return _tpl_rt._tpl_call_shim(context, builder, self, values)


def _tpl_lower_by_sig(table):
    """A lowering implementation that looks the call up by its signature's argument types."""

    def impl(context, builder, sig, args):
        return table[tuple(sig.args)].lower(context, builder, args)

    return _tpl_rt._tpl_lowering(impl)


def _tpl_typing_error(e):
    return _TplTypingError(str(e))


# ----------------------------------------------------------------------------- user operators

# The value types a user operator takes and returns, spelled as the C ABI of a Numba device
# function passes them: a bool is a byte there (`unsigned char`), as Numba's boolean data model.
_TPL_OP_ABI = {"bool": "unsigned char"}
_TPL_OP_LVALUE = """#ifndef NUMBAST_OPERATOR_HELPERS
#define NUMBAST_OPERATOR_HELPERS
template <class T> __device__ T &__nbst_lvalue(T &&x) { return x; }
#endif
"""


def _tpl_op_scalar_cxx(ty):
    """The C++ spelling of a value a user operator takes or returns (bool, an integer, float or
    double), or None."""
    if isinstance(ty, types.Boolean | types.Integer) or ty in (types.float32, types.float64):
        return _TPL_CXX_OF.get(ty)
    return None


def _tpl_is_function_type(ty):
    """Whether a call's argument is a function (a Numba dispatcher, a built-in, a bound callable)
    rather than a value: where a template expects an operator, it becomes a user operator."""
    return isinstance(ty, types.Dispatcher | types.Function | types.BoundFunction)


def _tpl_user_ops():
    """The user operators of this process, shared by every runtime copy (so that one Python
    function gets one symbol however many modules' templates take it): (key -> op, name -> op)."""
    from numba.cuda.cudadrv import linkable_code

    ops = getattr(linkable_code, "_nbst_user_ops", None)
    if ops is None:
        ops = linkable_code._nbst_user_ops = ({}, {})
    return ops


def _tpl_kernel_cc():
    """The compute capability of the kernel being compiled (the device's outside a compilation)."""
    targetconfig = _tpl_importlib.import_module(_tpl_rt._NB_PACKAGE + ".core.targetconfig")

    flags = targetconfig.ConfigStack.top_or_none()
    cc = getattr(flags, "compute_capability", None)
    return tuple(cc[:2]) if cc else _tpl_probe_cc()


class _TplUserOp:
    """A Python device function given where a template expects an operator type: compiled by
    numba-cuda to LTO-IR with the C ABI under a reserved name (`symbol`), for two arguments of the
    call's value type; the C++ side is `functor`, a struct whose `operator()` calls it (declared by
    `decl`). It returns the value type, or bool when the function returns a bool (a comparator or
    a predicate)."""

    def __init__(self, dispatcher, value, symbol, functor):
        self.dispatcher, self.value, self.symbol, self.functor = dispatcher, value, symbol, functor
        self.name = getattr(dispatcher.py_func, "__qualname__", repr(dispatcher.py_func))
        self._ltoir = {}  # compute capability -> LTOIR
        self.returns_bool, self.decl = None, None

    def compile(self, cc, pname):
        """The LTO-IR for compute capability `cc` (a `LTOIR` to link); the first compilation also
        decides the return type and the C++ declaration. Raises TemplateError naming `pname`."""
        code = self._ltoir.get(cc)
        if code is not None:
            return code
        from numba import cuda
        from numba.cuda.cudadrv.linkable_code import LTOIR

        opts = self.dispatcher.targetoptions
        try:
            data, resty = cuda.compile(self.dispatcher.py_func, (self.value, self.value), device=True, abi="c",
                                       abi_info={"abi_name": self.symbol}, output="ltoir", cc=cc,
                                       fastmath=bool(opts.get("fastmath")))  # fmt: skip
        except Exception as e:
            detail = "\n".join(str(e).strip().splitlines()[:6])
            raise TemplateError(
                f"operator for `{pname}`: {self.name} does not compile for ({self.value}, {self.value}):\n{detail}"
            ) from None
        if isinstance(resty, types.Boolean):
            returns_bool = True
        elif _tpl_op_scalar_cxx(resty) is not None:
            returns_bool = False
        else:
            raise TemplateError(f"operator for `{pname}`: {self.name} returns {resty} for ({self.value}, {self.value}); "
                                "an operator returns a number or a bool")  # fmt: skip
        if self.decl is None:
            self.returns_bool, self.decl = returns_bool, self._declaration(resty)
        code = LTOIR(bytes(data), name=f"{self.symbol}.ltoir")
        code._nbst_unit = True  # like a shim unit, left out of what a cached kernel pickles
        self._ltoir[cc] = code
        return code

    def _declaration(self, resty):
        t = _tpl_op_scalar_cxx(self.value)
        arg, ret = _TPL_OP_ABI.get(t, t), _tpl_op_scalar_cxx(resty)
        ret = _TPL_OP_ABI.get(ret, ret)
        if self.returns_bool:
            head, body = "bool", f"{self.symbol}(a, b) != 0"
        else:
            head, body = t, f"static_cast<{t}>({self.symbol}(a, b))"
        guard = self.functor.upper().replace("__NBST_", "NUMBAST_")
        return (f"#ifndef {guard}\n#define {guard}\n"
                f'extern "C" __device__ {ret} {self.symbol}({arg}, {arg});\n'
                f"struct {self.functor} {{\n"
                f"    __device__ __forceinline__ {head} operator()(const {t} &a, const {t} &b) const {{ return {body}; }}\n"
                f"}};\n#endif\n")  # fmt: skip

    def link(self, context):
        """At lowering: the kernel links the operator's LTO-IR for its compute capability."""
        context.active_code_library.add_linking_file(self.compile(_tpl_kernel_cc(), self.functor))


def _tpl_user_op(fnty, value, pname):
    """The user operator for function type `fnty` called with values of Numba type `value`, for
    template parameter `pname`; checks what can be checked before compiling, then compiles it for
    the kernel's compute capability. Raises TemplateError naming `pname`."""
    _tpl_rt._tpl_check_user_op(fnty, pname)
    disp = getattr(fnty, "dispatcher", None)
    if not isinstance(fnty, types.Dispatcher) or not hasattr(disp, "py_func"):
        raise TemplateError(f"operator for `{pname}`: {fnty} is not a Python function; give a function "
                            "decorated with @cuda.jit(device=True)")  # fmt: skip
    if not disp.targetoptions.get("device", False):
        raise TemplateError(f"operator for `{pname}`: {disp.py_func.__name__} is a kernel; give a device function "
                            "(@cuda.jit(device=True))")  # fmt: skip
    try:
        _tpl_inspect.signature(disp.py_func).bind(None, None)
    except TypeError:
        sig = _tpl_inspect.signature(disp.py_func)
        raise TemplateError(f"operator for `{pname}`: {disp.py_func.__name__}{sig} cannot be called with two "
                            f"arguments; the operator is called as op(a, b), a and b of type {value}") from None  # fmt: skip
    if _tpl_op_scalar_cxx(value) is None:
        raise TemplateError(f"operator for `{pname}`: the call's value type is {value}; a Python operator takes "
                            "bool, integer, float32 or float64 values")  # fmt: skip
    by_key, by_name = _tpl_user_ops()
    key = ("v1", disp.py_func, value)
    op = by_key.get(key)
    if op is None:
        py = disp.py_func
        ident = "\0".join([getattr(py, "__module__", "") or "", getattr(py, "__qualname__", ""), str(value)])
        base = _tpl_hashlib.sha256(ident.encode()).hexdigest()[:12]
        n, suffix = 1, ""
        while f"__nbst_functor_{base}{suffix}" in by_name:  # another function of the same name
            n += 1
            suffix = f"_{n}"
        op = _TplUserOp(disp, value, f"__nbst_op_{base}{suffix}", f"__nbst_functor_{base}{suffix}")
        op.compile(_tpl_kernel_cc(), pname)
        by_key[key], by_name[op.functor] = op, op
    return op


def _tpl_user_op_named(functor):
    return _tpl_user_ops()[1][functor]


def _tpl_user_op_decls(text):
    """The declarations of the functors that C++ `text` names (for a probe or a shim)."""
    names = sorted(set(_tpl_re.findall(r"\b__nbst_functor_\w+", text)))
    by_name = _tpl_user_ops()[1]
    return "".join(by_name[n].decl for n in names if n in by_name)


def _tpl_unit_for(unit, resolved):
    """The shim unit for a call: `unit`, or for a call that takes user operators a unit of its own
    (the same preceding text, the functors' declarations and the shims that use them). Its shims
    call symbols that only the kernels using the operators define, so no other kernel links it."""
    functors = sorted({s.value_cxx for s in resolved.slots if s.passing == "functor"})
    if not functors:
        return unit
    units = unit.__dict__.setdefault("_nbst_op_units", {})
    key = tuple(functors)
    op_unit = units.get(key)
    if op_unit is None:
        text = _tpl_preceding_text(unit)
        op_unit = units[key] = _tpl_rt.ShimUnit(text, f"{unit.name}+{'+'.join(functors)}")
        op_unit.preceding_text = text
        op_unit.add(_TPL_HELPERS_NAME, _TPL_HELPERS)
        op_unit.add("__nbst_operator_helpers", _TPL_OP_LVALUE)
        for f in functors:
            op_unit.add(f, _tpl_user_op_named(f).decl)
    return op_unit


# ----------------------------------------------------------------------------- GPU architectures


def _tpl_cc_value(cc):
    """`__CUDA_ARCH__` for compute capability `cc`: (9, 0) -> 900."""
    return cc[0] * 100 + cc[1] * 10


class _TplArch:
    """Where a template exists when only some of a static module's GPU architectures have it:
    `condition` is the preprocessor condition its shims are wrapped in; `ranges` (`__CUDA_ARCH__`
    values, lower bound included, None for no upper bound), `archs` (their names) and `owner` (the
    module) say so when a kernel for another architecture calls it."""

    def __init__(self, condition, ranges=(), archs="", owner=""):
        self.condition, self.ranges, self.archs, self.owner = condition, tuple(ranges), archs, owner

    def allows(self, cc):
        value = _tpl_cc_value(cc)
        return not self.ranges or any(lo <= value and (hi is None or value < hi) for lo, hi in self.ranges)

    def probe_cc(self, cc):
        """`cc` if this arch set allows it, else the lowest compute capability it has."""
        if self.allows(cc):
            return cc
        for name in self.archs.split(","):
            m = _tpl_re.fullmatch(r"\s*sm_(\d+)(\d)[af]?\s*", name)
            if m:
                return (int(m[1]), int(m[2]))
        return cc

    def check(self, what):
        """At lowering: the compute capability the kernel is compiled for must have it."""
        targetconfig = _tpl_importlib.import_module(_tpl_rt._NB_PACKAGE + ".core.targetconfig")

        flags = targetconfig.ConfigStack.top_or_none()
        cc = getattr(flags, "compute_capability", None)
        if cc and not self.allows(cc):
            where = (
                f"{self.owner} has it for {self.archs} (the config's GPU Arch)" if self.archs else f"it is guarded by `{self.condition}`"
            )
            raise NotImplementedError(f"{what} is not available for compute capability {cc[0]}.{cc[1]}: {where}")


# ----------------------------------------------------------------------------- NVRTC probe

_TPL_PROBES = {}  # (preceding text, expressions) -> values
_TPL_PROBE_VAR = "__nbst_probe"


def _tpl_preceding_text(unit):
    text = getattr(unit, "preceding_text", None)
    if text is None:  # the unit's text up to its first shim
        text = unit.source().split('\nextern "C" __device__', 1)[0].split("\n#ifndef NUMBAST_TEMPLATE_HELPERS", 1)[0]
        unit.preceding_text = text
    return text


def _tpl_probe_cc():
    try:
        cc = _tpl_rt._tpl_device_cc()  # None without a GPU
    except Exception:
        cc = None
    return cc or (8, 0)


def _tpl_nvrtc_includes():
    """The include path numba-cuda compiles shim units with (numba-cuda's headers for this NVRTC's
    major version, the CUDA headers, CCCL's, numba-cuda's memory management, the configured extra
    paths)."""
    import numba.cuda
    from numba.cuda import config
    from numba.cuda.cuda_paths import get_cuda_paths
    from numba.cuda.cudadrv import nvrtc as _numba_nvrtc  # also sets the extra-path config

    nvrtc, pathfinder = _numba_nvrtc.bindings_nvrtc, _numba_nvrtc.pathfinder
    result = nvrtc.nvrtcVersion()
    if result[0] != nvrtc.nvrtcResult.NVRTC_SUCCESS:
        raise RuntimeError(f"NVRTC: {result[0]}")
    numba_dir = _tpl_os.path.dirname(_tpl_os.path.abspath(numba.cuda.__file__))
    includes = [_tpl_os.path.join(numba_dir, "include", str(result[1])), get_cuda_paths()["include_dir"].info]
    cccl = pathfinder.locate_nvidia_header_directory("cccl")
    if cccl is not None:
        includes.append(cccl.abs_path)
    includes.append(_tpl_os.path.join(numba_dir, "memory_management"))
    extra = getattr(config, "CUDA_NVRTC_EXTRA_SEARCH_PATHS", "")
    includes += [p for p in extra.split(":") if p]
    return [i for i in includes if i]


def _tpl_nvrtc_ptx(src, name, cc=None):
    """PTX for CUDA C++ `src` (for compute capability `cc`, default the device's), with the include
    path numba-cuda compiles shim units with. NVRTC is called directly, as numba-cuda reaches it
    (its `cuda.bindings` and `cuda.pathfinder` modules, so that a generated module imports nothing
    but numba-cuda): cuda.core's PTX target needs a driver, which a probe does not."""
    from numba.cuda.cudadrv import nvrtc as _numba_nvrtc

    nvrtc = _numba_nvrtc.bindings_nvrtc

    def check(result):
        if result[0] != nvrtc.nvrtcResult.NVRTC_SUCCESS:
            raise RuntimeError(f"NVRTC: {result[0]}")
        return result[1:]

    cc = cc or _tpl_probe_cc()
    includes = _tpl_nvrtc_includes()
    parts = ("probe", name, check(nvrtc.nvrtcVersion()), f"-arch=compute_{cc[0]}{cc[1]}", "-rdc=true")
    # Through the NVRTC disk cache (`_nvrtc_cache.py`): a probe is compiled once per header content.
    ptx = _tpl_rt._nc_cached(src, parts, includes, lambda: _tpl_nvrtc_run(nvrtc, check, src, name, cc, includes))
    return ptx.decode(errors="replace")


def _tpl_nvrtc_run(nvrtc, check, src, name, cc, includes):
    (prog,) = check(nvrtc.nvrtcCreateProgram(src.encode(), name.encode(), 0, [], []))
    try:
        opts = [f"-arch=compute_{cc[0]}{cc[1]}".encode(), b"-rdc=true"] + [f"-I{i}".encode() for i in includes]
        status = nvrtc.nvrtcCompileProgram(prog, len(opts), opts)[0]
        if status != nvrtc.nvrtcResult.NVRTC_SUCCESS:
            (size,) = check(nvrtc.nvrtcGetProgramLogSize(prog))
            log = b" " * size
            check(nvrtc.nvrtcGetProgramLog(prog, log))
            raise RuntimeError(log.decode(errors="replace").strip("\x00 \n"))
        (size,) = check(nvrtc.nvrtcGetPTXSize(prog))
        ptx = b" " * size
        check(nvrtc.nvrtcGetPTX(prog, ptx))
        return ptx
    finally:
        nvrtc.nvrtcDestroyProgram(prog)


def _tpl_read_probe(ptx, count):
    m = _tpl_re.search(rf"\.(b8|u64|b64)\s+{_TPL_PROBE_VAR}\[(\d+)\](?:\s*=\s*\{{([^}}]*)\}})?", ptx)
    if m is None:
        raise RuntimeError("the probe's constant is missing from the PTX")
    words = [int(x, 0) for x in (m[3] or "").replace("\n", " ").split(",") if x.strip()]
    if m[1] == "b8":
        data = bytes(words) + bytes(8 * count - len(words))
        return [int.from_bytes(data[8 * i : 8 * i + 8], "little") for i in range(count)]
    return words + [0] * (count - len(words))


_TPL_NESTED_PROBE = """template <class T, class = void> struct __nbst_nested{i} {{
  static constexpr unsigned long long size = 0, align = 0;
}};
template <class T> struct __nbst_nested{i}<T, decltype(void(sizeof(typename T::{name})))> {{
  static constexpr unsigned long long size = sizeof(typename T::{name}), align = alignof(typename T::{name});
}};
"""


# An offset as a constant expression: clang's `__builtin_offsetof`; NVRTC's own front end's
# constant-address builtin (`__builtin_offsetof` is missing from some NVRTC versions).
_TPL_OFFSETOF = """#ifdef __clang__
#define __nbst_offsetof(T, m) __builtin_offsetof(T, m)
#else
#define __nbst_offsetof(T, m) __INTADDR__(&(((T *)0)->m))
#endif
"""
_TPL_PROBE_BACKENDS = ("clang", "nvrtc", "both")


class TemplateProbeMismatch(AssertionError):
    """`NUMBAST_TEMPLATE_PROBE=both`: libclang and NVRTC disagree about a probe."""


def _tpl_probe_backend():
    """`NUMBAST_TEMPLATE_PROBE`: `clang` (the default: libclang, NVRTC where libclang cannot answer),
    `nvrtc` (NVRTC only) or `both` (both, and a TemplateProbeMismatch where they differ)."""
    value = (_tpl_os.environ.get("NUMBAST_TEMPLATE_PROBE") or "clang").strip().lower()
    if value not in _TPL_PROBE_BACKENDS:
        raise ValueError(f"NUMBAST_TEMPLATE_PROBE={value!r}: expected one of {', '.join(_TPL_PROBE_BACKENDS)}")
    return value


def _tpl_probe(unit, exprs, what, prelude="", arch=None):
    """The values of constant C++ expressions (`sizeof(X)`...), evaluated after the unit's
    preceding text and `prelude` (for an architecture that has the template, `arch`); each set is
    evaluated once per process."""
    text = _tpl_preceding_text(unit)
    prelude = _tpl_user_op_decls(prelude + "\n".join(exprs)) + prelude  # user operators' functors
    cc = arch.probe_cc(_tpl_probe_cc()) if arch is not None else _tpl_probe_cc()
    key = (text, prelude, tuple(exprs), cc)
    if key not in _TPL_PROBES:
        _TPL_PROBES[key] = _tpl_probe_values(text, prelude, exprs, cc, what)
    return _TPL_PROBES[key]


def _tpl_probe_values(text, prelude, exprs, cc, what, backend=None):
    """The values of `exprs` after `text` and `prelude` for compute capability `cc`, from the
    backend `NUMBAST_TEMPLATE_PROBE` (or `backend`) names. Raises TemplateError naming `what` when
    the compiler rejects them."""
    backend = backend or _tpl_probe_backend()
    clang = None
    if backend != "nvrtc":
        try:
            clang = _tpl_probe_clang(text, prelude, exprs, cc)
        except TemplateError as e:
            clang = e
    if clang is not None and backend != "both":
        if isinstance(clang, TemplateError):
            raise TemplateError(f"cannot instantiate {what}:\n{clang}") from None
        return clang
    try:
        values = _tpl_probe_nvrtc(text, prelude, exprs, cc)
    except TemplateError as e:
        values = e
    if backend == "both" and clang is not None:
        same = values == clang if not isinstance(values, Exception) else isinstance(clang, Exception)
        if not same:
            raise TemplateProbeMismatch(f"{what}: libclang gives {clang!r}, NVRTC {values!r} for {exprs}")
    if isinstance(values, TemplateError):
        raise TemplateError(f"cannot instantiate {what}:\n{values}") from None
    return values


def _tpl_probe_clang(text, prelude, exprs, cc):
    """The values from libclang (`ast_canopy.evaluate_constants`), device side for `cc`, with the
    include path NVRTC gets; None where ast_canopy is not importable or a value is not a constant
    clang can evaluate. Raises TemplateError with clang's errors."""
    try:
        ast_canopy = _tpl_importlib.import_module("ast_canopy")
    except ImportError:
        return None
    names = [f"{_TPL_PROBE_VAR}_{i}" for i in range(len(exprs))]
    src = f"{text}\n{_TPL_HELPERS}\n{_TPL_OFFSETOF}{prelude}\n" + "".join(
        f"__device__ constexpr unsigned long long {n} = (unsigned long long)({e});\n" for n, e in zip(names, exprs)
    )
    try:
        values, errors = ast_canopy.evaluate_constants(src, names, f"sm_{cc[0]}{cc[1]}", "gnu++17", _tpl_nvrtc_includes())
    except Exception:  # no libclang, or it crashed: NVRTC answers
        return None
    if errors:
        raise TemplateError("\n".join(errors))
    if any(v is None for v in values):
        return None
    return [int(v) for v in values]


def _tpl_probe_nvrtc(text, prelude, exprs, cc):
    """The values from NVRTC: compiled into a PTX constant array (through the NVRTC disk cache).
    Raises TemplateError with NVRTC's log."""
    body = ", ".join(f"(unsigned long long)({e})" for e in exprs)
    src = (f"{text}\n{_TPL_HELPERS}\n{_TPL_OFFSETOF}{prelude}\n"
           f'extern "C" __device__ const unsigned long long {_TPL_PROBE_VAR}[] = {{{body}}};\n')  # fmt: skip
    try:
        ptx = _tpl_nvrtc_ptx(src, "numbast_probe.cu", cc)
    except RuntimeError as e:
        raise TemplateError(str(e)) from None
    return _tpl_read_probe(ptx, len(exprs))


# ----------------------------------------------------------------------------- function templates


class BoundFunctionTemplate:
    """What `function_template` returns: callable in kernels, with template arguments deduced from
    the argument types; `f[args]` gives the template arguments that cannot be deduced (inside or
    outside a kernel)."""

    def __init__(self, tb, unit, py_name, overloads, explicit=()):
        self.__name__ = self.__qualname__ = py_name
        self._tb, self._unit, self._overloads, self._explicit = tb, unit, overloads, tuple(explicit)
        self._specializations = {}  # explicit argument spellings -> BoundFunctionTemplate
        self._calls = {}  # Numba argument types -> _TplCall (or _TplPlainCall)
        self._plain = None  # the non-template functions of the same Python name (a BoundFunction)
        fn = self

        class Call(_TplAbstractTemplate):
            key = fn

            def generic(self, args, kws):
                return fn._type_call(self.context, args, kws)

        self._numba_type_ = types.Function(Call)
        tb.lower_getitem(self._numba_type_)
        tb.b._lower(self, [types.VarArg(types.Any)], _tpl_lower_by_sig(self._calls))
        tb.b._sync()

    @property
    def _qual_name(self):
        return self._overloads[0].qual_name

    def _tparams(self):
        longest = max(self._overloads, key=lambda o: len(o.tparams))
        return longest.tparams

    def _add_overloads(self, overloads):
        """More overloads of the same name (those of other archs, in a static module); typing
        results so far are forgotten, as a new overload may fit better."""
        new = [o for o in overloads if all(o.data != have.data for have in self._overloads)]
        if new:
            self._overloads.extend(new)  # the specializations share the list
            for f in (self, *self._specializations.values()):
                f._calls.clear()

    def _specialize(self, args):
        key = tuple(tuple(a.cxx for a in x) if isinstance(x, list) else x.cxx for x in args)
        spec = self._specializations.get(key)
        if spec is None:
            name = f"{self.__name__}[{', '.join(map(str, key))}]"
            spec = BoundFunctionTemplate(self._tb, self._unit, name, self._overloads, self._explicit + tuple(args))
            self._specializations[key] = spec
        return spec

    def __getitem__(self, args):
        args = args if isinstance(args, tuple) else (args,)
        tparams = self._tparams()
        if len(args) > len(tparams) and not (tparams and tparams[-1].pack):
            raise TemplateError(f"{self._qual_name} has {len(tparams)} template parameter(s), {len(args)} given")
        out = [_tpl_arg_from_python(tparams[min(i, len(tparams) - 1)], a, self._tb.b) for i, a in enumerate(args)]
        return self._specialize(out)

    def _specialize_from_numba(self, tys):
        tparams = self._tparams()
        if len(tys) > len(tparams) and not (tparams and tparams[-1].pack):
            raise TemplateError(f"{self._qual_name} has {len(tparams)} template parameter(s), {len(tys)} given")
        return self._specialize([_tpl_arg_from_numba(tparams[min(i, len(tparams) - 1)], t, self._tb.b) for i, t in enumerate(tys)])

    def _viable(self, fits):
        """The fits whose declaration survives substitution (`enable_if` in the return or a
        parameter type: SFINAE), as NVRTC sees it, in one probe. Each template argument is
        spelled through `__nbst_dep<D, X>::type`, which keeps the substituted spellings dependent
        so that an invalid one is a substitution failure, not an error."""
        exprs, prelude = [], ""
        for i, r in enumerate(fits):
            mapping = {}
            for name, a in r.own_args.items():
                text = ", ".join(x.cxx for x in a) if isinstance(a, list) else a.cxx
                mapping[name] = f"typename __nbst_dep<D, {text}>::type" if not isinstance(a, list) and a.is_type else text
            spellings = [_tpl_subst(r.overload.ret, mapping)] + [_tpl_subst(sp, mapping) for _n, sp, _i in r.overload.params]
            prelude += (f"template <class D, class = void> struct __nbst_sfinae{i} {{ static constexpr unsigned long long value = 0; }};\n"
                        f"template <class D> struct __nbst_sfinae{i}<D, typename __nbst_voider<{', '.join(spellings)}>::type> "
                        "{ static constexpr unsigned long long value = 1; };\n")  # fmt: skip
            exprs.append(f"__nbst_sfinae{i}<void>::value")
        prelude = (
            "template <class...> struct __nbst_voider { using type = void; };\n"
            "template <class D, class T> struct __nbst_dep { using type = T; };\n"
        ) + prelude
        try:
            ok = _tpl_probe(self._unit, exprs, f"the overloads of {self.__name__}", prelude)
        except TemplateError:  # a spelling NVRTC reads otherwise than clang printed it
            return self._same_callee(fits)
        return [r for r, v in zip(fits, ok) if v] or fits

    @staticmethod
    def _same_callee(fits):
        """Fits that the probe cannot tell apart, but whose shims all call the same name with the
        same template arguments: the C++ compiler resolves that call in the shim (SFINAE
        included), so any of them reaches the right function; the one whose parameters are the
        widest is chosen, so that no argument is narrowed on the way."""
        callees = {(r.overload.qual_name, r.explicit_args()) for r in fits}
        if len(callees) != 1:
            return fits

        def width(r):
            return sum(getattr(t, "bitwidth", 0) for t in r.sigtys)

        return [max(fits, key=width)]

    def _type_plain(self, typingctx, args, kws):
        """The signature of a call that a non-template function of the same name takes (tried
        before template deduction, as C++ prefers a non-template), or None and why not."""
        if self._plain is None or self._explicit:
            return None, None
        try:
            sig = self._plain._template(typingctx).apply(args, kws)
        except _TplTypingError as e:
            return None, str(e)
        except Exception as e:  # numba's own TypingError
            if "TypingError" not in type(e).__name__:
                raise
            return None, str(e)
        if sig is not None:
            self._calls[tuple(sig.args)] = _TplPlainCall(self._plain, sig)
        return sig, None

    def _type_call(self, typingctx, args, kws):
        sig, plain_error = self._type_plain(typingctx, args, kws)
        if sig is not None:
            return sig
        try:
            return self._type_template_call(typingctx, args, kws)
        except _TplTypingError as e:
            if plain_error is None:
                raise
            raise _TplTypingError(f"{plain_error}\n{e}") from None

    def _type_template_call(self, typingctx, args, kws):
        if kws:
            raise _TplTypingError(f"{self.__name__}: keyword arguments are not supported; give template arguments as {self.__name__}[...]")
        args = tuple(types.unliteral(a) for a in args)
        call = self._calls.get(("typed",) + args)
        if call is None:
            try:
                candidates = [(ov, {}, self._explicit) for ov in self._overloads]
                r = _tpl_select(self.__name__, candidates, args, self._tb.b, typingctx, self._viable)
            except TemplateError as e:
                raise _tpl_typing_error(e) from None
            qual = "::" + r.overload.qual_name
            arch = self._tb.arch(r.overload.arch)
            try:
                _tpl_ask_return(self._unit, r, qual + r.call_args(), arch=arch, bindings=self._tb.b)
            except TemplateError as e:
                raise _tpl_typing_error(e) from None
            unit = _tpl_unit_for(self._unit, r)
            shim, src = _tpl_shim(unit, "fn", r.overload.qual_name, qual + r.call_args(), r, arch=arch)
            call = _TplCall(unit, shim, src, r, arch=arch, what=r.overload.qual_name)
            self._calls[("typed",) + args] = call
            self._calls[tuple(r.sigtys)] = call
        return _tpl_signature(call.return_type(), *call.resolved.sigtys)

    def __call__(self, *args, **kwargs):
        raise TypeError(f"{self.__name__} can only be called inside a CUDA kernel")

    def __repr__(self):
        return f"<bound function template {self.__name__} ({self._qual_name})>"


class _TplPlainCall:
    """A call that a non-template function of a function template's name took."""

    def __init__(self, plain, sig):
        self.plain, self.sig = plain, sig

    def lower(self, context, builder, args):
        return _tpl_rt._tpl_lower_plain(context, builder, self.plain, self.sig, args)


class _TplInheritedStatic(BoundFunctionTemplate):
    """A static member function that a class has through a base class (`numeric_limits<int>::max`
    from `__numeric_limits_impl`): called with the arguments' own C++ types, overload resolution
    and the return type left to the compiler."""

    def __init__(self, tb, unit, py_name, instance):
        super().__init__(tb, unit, py_name, [_tpl_made_overload(py_name, [])])
        self._instance = instance

    def _type_template_call(self, typingctx, args, kws):
        params = []
        for k, a in enumerate(args):
            pat = _tpl_pattern_of(a, self._tb.b)
            if pat is None:
                raise _TplTypingError(f"{self.__name__}: argument {k} ({a}) has no C++ spelling")
            params.append((f"a{k}", pat))
        self._overloads = [_tpl_made_overload(self.__name__, params)]
        return super()._type_template_call(typingctx, args, kws)


def _tpl_scope(qual_name):
    return qual_name.rsplit("::", 1)[0] if qual_name and "::" in qual_name else ""


# ----------------------------------------------------------------------------- class templates


class _TplInstanceType(types.Type):
    """The Numba type of a class template instantiation's values: its bytes (`_OpaqueBitsModel`),
    with the C++ size and alignment."""

    def __init__(self, owner):
        self._nbst_owner = owner
        self._nbst_size, self._nbst_align = owner.size, owner.align
        super().__init__(name=owner.cxx)

    @property
    def key(self):
        return (self.name, id(self._nbst_owner))


_tpl_rt._register_struct_model(_TplInstanceType, "primitive")


class _TplClassObjectType(_tpl_rt._StructClass):
    """The Numba type of an instantiated class object in a kernel: calling it constructs, its
    nested records are attributes (`BS.TempStorage`), and it is a dtype."""


_tpl_rt._register_opaque_model(_TplClassObjectType)


class ClassInstance:
    """A class template instantiation (`BlockScan[np.int32, 128]`): the constructor in kernels and a
    stand-in for the type (`cuda.local.array(1, BS)`); nested records are attributes."""

    def __init__(self, template, cxx, args, size, align, nested, fields):
        self.__name__ = self.__qualname__ = cxx
        self.template, self.cxx, self.args = template, cxx, args
        self.size, self.align = size, align
        self.fields = fields  # public field name -> (Numba type, offset)
        self._numba_type = _TplInstanceType(self)
        self.nested = {}
        tb = template._tb
        for name, layout in nested.items():
            if isinstance(layout, types.Type):  # a member typedef of a scalar type
                self.nested[name] = layout
                setattr(self, name, layout)
                continue
            self._nested_struct(name, *layout)
        tb.b.types[cxx] = self._numba_type
        self._calls = {}  # Numba argument types -> _TplCall (constructors)
        self._statics = {}  # name -> BoundFunctionTemplate of a static member function
        ci = self

        class Construct(_TplAbstractTemplate):
            key = ci

            def generic(self, args, kws):
                if kws:
                    raise _TplTypingError(f"{ci.cxx}: constructors take no keyword arguments")
                call = ci._construct(self.context, args)
                return _tpl_signature(ci._numba_type, *call.resolved.sigtys)

        self._numba_type_ = _TplClassObjectType(Construct, self._numba_type)
        tb.b._lower(self, [types.VarArg(types.Any)], _tpl_lower_by_sig(self._calls))
        tb.b._sync()

    def _nested_struct(self, name, size, align):
        obj = self.template._tb.b.struct(cxx_name=f"{self.cxx}::{name}", py_name=f"{self.cxx}::{name}", size=size,
                                         align=align, parent=types.Type, model="primitive")  # fmt: skip
        self.nested[name] = obj
        setattr(self, name, obj)
        return obj

    def __getattr__(self, name):
        """A member type the class has through a base class, which the header's declaration of the
        class does not list (WarpMergeSort's `TempStorage`, from BlockMergeSortStrategy): asked of
        the compiler, as the nested records are."""
        t = self.__dict__.get("template")
        if t is None or not t._inherits or name.startswith("_"):
            raise AttributeError(name)
        exprs = [f"__nbst_nested0<{self.cxx}>::size", f"__nbst_nested0<{self.cxx}>::align"]
        try:
            size, align = _tpl_probe(t._unit, exprs, f"{self.cxx}::{name}", _TPL_NESTED_PROBE.format(i=0, name=name),
                                     t._tb.arch(t._arch))  # fmt: skip
        except TemplateError:
            size = align = 0
        if size == 0:
            raise AttributeError(f"{self.cxx} has no accessible member type `{name}`")
        obj = self._nested_struct(name, size, align)
        self.template._tb.b._sync()
        return obj

    def __getitem__(self, index):
        return self._numba_type[index]

    def __call__(self, *args, **kwargs):
        raise TypeError(f"{self.cxx} can only be constructed inside a CUDA kernel")

    def __repr__(self):
        return f"<class template instance {self.cxx}>"

    def _outer(self):
        out = dict(self.args)
        out[_TPL_SELF] = _TplArg(self.cxx, numba=self._numba_type)
        return out

    def _construct(self, typingctx, args):
        args = tuple(types.unliteral(a) for a in args)
        call = self._calls.get(("typed",) + args)
        if call is None:
            t = self.template
            candidates = [(ov, self._outer(), ()) for ov in t._constructors]
            if not t._constructors and not args:  # an implicit default constructor
                candidates = [(_TplOverload({"params": []}), self._outer(), ())]
            try:
                r = _tpl_select(f"{self.cxx} constructor", candidates, args, t._tb.b, typingctx)
            except TemplateError as e:
                raise _tpl_typing_error(e) from None
            r.ret, r.ret_cxx = self._numba_type, self.cxx
            arch = t._tb.arch(t._arch)
            unit = _tpl_unit_for(t._unit, r)
            shim, src = _tpl_shim(unit, "ctor", self.cxx, self.cxx, r, arch=arch)
            call = _TplCall(unit, shim, src, r, arch=arch, what=t._qual)
            self._calls[("typed",) + args] = call
            self._calls[tuple(r.sigtys)] = call
        return call

    def _method(self, typingctx, name, args, explicit=()):
        """The call of method `name` for Numba argument types `args`; `explicit` are the Numba
        types of the member template's arguments given in the kernel (`s.Sum[4](items)`)."""
        t = self.template
        args = tuple(types.unliteral(a) for a in args)
        table = t._method_calls[(name, explicit) if explicit else name]
        key = (self._numba_type,) + args
        call = table.get(("typed",) + key)
        if call is None:
            overloads = t._methods.get(name) or [self._inherited(name, args)]
            candidates, unfit = self._explicit_candidates(overloads, explicit)
            try:
                if not candidates:
                    lines = [f"no overload of {self.cxx}::{name} takes the template arguments ({', '.join(map(str, explicit))}):"]
                    lines += [f"  {ov.describe(f'{self.cxx}::{name}')}\n    -> {why}" for ov, why in unfit]
                    raise TemplateError("\n".join(lines))
                r = _tpl_select(f"{self.cxx}::{name}", candidates, args, t._tb.b, typingctx)
            except TemplateError as e:
                raise _tpl_typing_error(e) from None
            member = f"template {name}{r.explicit_args()}" if r.overload.tparams else name
            arch = t._tb.arch(t._arch)
            try:
                _tpl_ask_return(t._unit, r, member, self_cxx=self.cxx, arch=arch, bindings=t._tb.b)
            except TemplateError as e:
                raise _tpl_typing_error(e) from None
            unit = _tpl_unit_for(t._unit, r)
            shim, src = _tpl_shim(unit, "method", f"{self.cxx}::{name}", f"__nbst_self->{member}", r, self_cxx=self.cxx,
                                  arch=arch)  # fmt: skip
            call = _TplCall(unit, shim, src, r, self_type=self._numba_type, arch=arch, what=t._qual)
            table[("typed",) + key] = call
            table[(self._numba_type,) + tuple(r.sigtys)] = call
        return call

    def _explicit_candidates(self, overloads, explicit):
        """`_tpl_select`'s candidates among `overloads` for the explicit template arguments
        `explicit` (Numba types), each converted for that overload's own template parameters
        (`int ITEMS_PER_THREAD` takes a literal, `typename T` a type); the overloads they do not
        fit are returned with the reason."""
        t = self.template
        candidates, unfit = [], []
        for ov in overloads:
            if len(explicit) > len(ov.tparams) and not (ov.tparams and ov.tparams[-1].pack):
                unfit.append((ov, f"has {len(ov.tparams)} template parameter(s), {len(explicit)} given"))
                continue
            try:
                given = [_tpl_arg_from_numba(ov.tparams[min(i, len(ov.tparams) - 1)], ty, t._tb.b) for i, ty in enumerate(explicit)]
            except TemplateError as e:
                unfit.append((ov, str(e)))
                continue
            candidates.append((ov, self._outer(), given))
        return candidates, unfit

    def _inherited_field(self, name):
        """`(Numba type, offset)` of a public data member the class has through a base class
        (`pair::first` from `__pair_base`), from one probe; None for a member that is not a data
        member of a builtin arithmetic type (a method, say)."""
        found = self.__dict__.setdefault("_inherited_fields", {})
        if name not in found:
            t = self.template
            exprs = [f"__nbst_offsetof(__nbst_layout_t, {name})",
                     f"__nbst_kind<decltype(__nbst_declval<__nbst_layout_t &>().{name})>::value"]  # fmt: skip
            prelude = _TPL_KIND_PROBE + f"using __nbst_layout_t = {self.cxx};\n"
            try:
                offset, kind = _tpl_probe(t._unit, exprs, f"{self.cxx}::{name}", prelude, t._tb.arch(t._arch))
            except TemplateError:
                offset, kind = None, 0
            field = None
            if offset is not None and 1 <= kind <= len(_TPL_BUILTIN_KINDS):
                field = (_TPL_BUILTIN_KINDS[kind - 1][1], offset)
                self.fields[name] = field
            found[name] = field
        return found[name]

    def _static(self, name):
        """`C.name` for a static member function of this instantiation (its own or, for a class
        with base classes, one the compiler finds in a base): a function template whose
        overloads are the member's with the class's template arguments written in."""
        fn = self._statics.get(name)
        if fn is not None:
            return fn
        t = self.template
        mapping = {k: _tpl_arg_text(v) for k, v in self.args.items()}
        mapping[_TPL_SELF] = self.cxx
        if name in t._statics:
            overloads = [ov.substituted(f"{self.cxx}::{name}", mapping) for ov in t._statics[name]]
            fn = BoundFunctionTemplate(t._tb, t._unit, f"{self.cxx}::{name}", overloads)
        else:
            fn = _TplInheritedStatic(t._tb, t._unit, f"{self.cxx}::{name}", self)
        self._statics[name] = fn
        return fn

    def _inherited(self, name, args):
        """A member the class has through a base class (cooperative groups' `thread_block_tile`
        gets `sync`, `thread_rank` and `shfl` from its bases): called with the arguments' own C++
        types by value, overload resolution and the return type left to the compiler. An array
        argument is passed as its data, which converts to whatever array reference (`KeyT (&)[N]`)
        or pointer the member takes (`__nbst_items`)."""
        params = []
        for k, a in enumerate(args):
            if isinstance(a, types.Array):
                pat = _tpl_pattern_of(types.CPointer(a.dtype), self.template._tb.b)
                if pat is None:
                    raise _TplTypingError(f"{self.cxx}::{name}: argument {k} ({a}) has no C++ element type")
                params.append((f"a{k}", pat))
                continue
            pat = _tpl_pattern_of(a, self.template._tb.b)
            if pat is None:
                raise _TplTypingError(f"{self.cxx}::{name}: argument {k} ({a}) has no C++ spelling")
            params.append((f"a{k}", pat))
        return _tpl_made_overload(f"{self.template._qual}::{name}", params, items=True)


class _TplStructOwner:
    """What a struct's member templates have of a class template (`ClassInstance.template`):
    their overloads and typed calls, and where their shims go."""

    def __init__(self, tb, unit, cxx, methods, statics):
        self._tb, self._unit, self._qual, self._arch = tb, unit, cxx, None
        self._inherits = False
        self._methods, self._statics = {}, {}
        for table, entries in ((self._methods, methods), (self._statics, statics)):
            for name, data in entries:
                table.setdefault(name, []).append(_TplOverload(data, cxx))
        self._method_calls = {name: {} for name in self._methods}


class _TplStructMembers(ClassInstance):
    """The member function templates of a bound struct: a method is typed as a class template
    instance's (`ClassInstance._method`, the struct's value as `self`), after the struct's
    non-template overloads of the same name; a static one is a function template that `S.name`
    and `x.name` stand for."""

    def __init__(self, tb, unit, struct, methods, statics):  # the struct is its own type: no layout to ask
        self.__name__ = self.__qualname__ = struct.cxx_name
        self.template = _TplStructOwner(tb, unit, struct.cxx_name, methods, statics)
        self.cxx, self.args, self.fields, self.nested = struct.cxx_name, {}, {}, {}
        self._numba_type, self._statics = struct._numba_type, {}
        for name, table in self.template._method_calls.items():
            tb.b._lower((self, name), [types.VarArg(types.Any)], _tpl_lower_by_sig(table))
            py_name = "__call__" if name == _TPL_CALL else name
            if py_name == "__call__":  # Numba lowers a call of a value by the value's type
                tb.b._lower(self._numba_type, [self._numba_type, types.VarArg(types.Any)], _tpl_lower_by_sig(table))
            struct._tpl_methods[py_name] = self._typing_template(struct, name, py_name, table)
        for name in self.template._statics:
            fn = self._static(name)
            plain = struct._statics.get(name)
            if isinstance(plain, _tpl_rt.BoundFunction):
                fn._plain = plain  # tried first, as C++ prefers a non-template
            tb.b.add_static(struct, name, fn)
        tb.b._sync()

    def _typing_template(self, struct, name, py_name, table):
        members = self

        class Method(_TplAbstractTemplate):
            key = (members, name)

            def generic(self, args, kws):
                if kws:
                    raise _TplTypingError(f"{members.cxx}::{name}: keyword arguments are not supported")
                plain = struct._methods.get(py_name)
                if plain is not None:  # the non-template overloads first, as C++ prefers them
                    try:
                        sig = plain(self.context).apply(args, kws)
                    except Exception as e:  # numba's own TypingError, or the runtime's
                        if "TypingError" not in type(e).__name__:
                            raise
                        sig = None
                    if sig is not None:
                        sig = sig.replace(recvr=self.this)
                        table[(self.this,) + tuple(sig.args)] = _TplPlainCall(types.BoundFunction(plain, self.this), sig)
                        return sig
                call = members._method(self.context, name, args)
                return _tpl_signature(call.return_type(), *call.resolved.sigtys, recvr=self.this)

        return Method

    def __repr__(self):
        return f"<member templates of {self.cxx}>"


class BoundClassTemplate:
    """What `class_template` returns. Outside a kernel, `BlockScan[np.int32, 128]` or
    `BlockScan.instantiate(T=np.int32, BlockDimX=128)` gives the instantiation (a `ClassInstance`);
    in a kernel, `BlockScan(T=int32, BlockDimX=128)` constructs one (constructor arguments
    positional, template arguments by keyword)."""

    def __init__(self, tb, unit, py_name, qual_name, location, tparams, nested, fields, constructors, methods,
                 arch=None, inherits=False, statics=(), operators=()):  # fmt: skip
        self.__name__ = self.__qualname__ = qual_name
        self._inherits = inherits  # it has base classes, whose members the compiler resolves
        self.py_name, self.location, self._arch = py_name, location, arch
        self._tb, self._unit, self._qual = tb, unit, qual_name
        self._tparams = [_TplParam(*p) for p in tparams]
        # A nested record (or a member type reached through a base class) is given by name, a member
        # alias as `(name, target, pattern)`; the renderer marks the class itself in member
        # spellings as `__nbst_self__` (`crates/bindgen/src/render/self_refs.rs`).
        self._nested = [n if isinstance(n, str) else n[0] for n in nested]
        self._nested_aliases = {n[0]: _tpl_norm(n[1]) for n in nested if not isinstance(n, str)}
        self._alias_patterns = {n[0]: n[2] for n in nested if not isinstance(n, str)}
        self._fields = [(name, pat) for name, _sp, pat in fields]
        self._constructors = [_TplOverload(c, qual_name) for c in constructors]
        self._methods = {}
        for name, data in methods:
            self._methods.setdefault(name, []).append(_TplOverload(data, qual_name))
        self._statics = {}  # static member function name -> overloads
        for name, data in statics:
            self._statics.setdefault(name, []).append(_TplOverload(data, qual_name))
        self._method_calls = {name: {} for name in self._methods}
        self._instances = {}  # C++ spelling -> ClassInstance
        self._calls = {}  # Numba argument types -> (ClassInstance, _TplCall), in-kernel construction
        ct = self

        class Construct(_TplAbstractTemplate):
            key = ct
            prefer_literal = True  # non-type template arguments are literals

            def generic(self, args, kws):
                return ct._type_construct(self.context, args, kws)

        self._numba_type_ = types.Function(Construct)
        tb.lower_getitem(self._numba_type_)
        tb.b._lower(self, [types.VarArg(types.Any)], _tpl_rt._tpl_lowering(self._lower_construct))
        for name, table in self._method_calls.items():
            tb.b._lower((self, name), [types.VarArg(types.Any)], _tpl_lower_by_sig(table))
        for op, name in operators:
            self._member_operator(op, name)
        tb.b._sync()

    def _member_operator(self, op, name):
        """`x + y`, `x[i]`, `x += y` for an instance `x`: its member operator `name`, typed as a
        method call with `x` as `self`. In-place operators return the updated copy, which Numba
        assigns back to `x`."""
        ct, table = self, self._method_calls[name]
        lowered = set()

        class MemberOperator(_TplAbstractTemplate):
            key = op

            def generic(self, args, kws):
                if kws or not args:
                    return None
                this = types.unliteral(args[0])
                if not isinstance(this, _TplInstanceType) or this._nbst_owner.template is not ct:
                    return None
                try:
                    call = this._nbst_owner._method(self.context, name, args[1:])
                except _TplTypingError:
                    return None
                sig = _tpl_signature(call.return_type(), this, *call.resolved.sigtys)
                if sig.args not in lowered:
                    lowered.add(sig.args)
                    ct._tb.b._lower(op, list(sig.args), _tpl_lower_by_sig(table))
                    ct._tb.b._sync()
                if op in _TPL_INPLACE:
                    this.mutable = True  # lowered as this operator, not as its copying form
                return sig

        self._tb.b.typing_registry.register_global(op, types.Function(MemberOperator))

    def __repr__(self):
        return f"<bound class template {self._qual}>"

    def __getattr__(self, name):
        enums = self.__dict__.get("_enums")
        if enums is not None and name in enums.dependent():
            raise AttributeError(f"{self._qual}::{name} depends on the template's arguments: it is an attribute "
                                 f"of an instantiation ({self.py_name}[...].{name})")  # fmt: skip
        raise AttributeError(f"{self._qual} has no attribute `{name}`")

    def __call__(self, *args, **kwargs):
        raise TypeError(
            f"{self._qual} can only be constructed inside a CUDA kernel; outside one, "
            f"{self.py_name}[...] or {self.py_name}.instantiate(...) gives an instantiation"
        )

    def __getitem__(self, args):
        args = args if isinstance(args, tuple) else (args,)
        if len(args) > len(self._tparams) and not (self._tparams and self._tparams[-1].pack):
            raise TemplateError(f"{self._qual} has {len(self._tparams)} template parameter(s), {len(args)} given")
        given = {}
        for i, a in enumerate(args):
            p = self._tparams[min(i, len(self._tparams) - 1)]
            if p.pack:
                given.setdefault(p.name, []).extend(_tpl_arg_from_python(p, list(args[i:]), self._tb.b))
                break
            given[p.name] = _tpl_arg_from_python(p, a, self._tb.b)
        return self._instantiate(given)

    def instantiate(self, **kwargs):
        """The instantiation for template arguments by parameter name (`T=np.int32, BlockDimX=128`)."""
        return self._instantiate({k: _tpl_arg_from_python(self._param(k), v, self._tb.b) for k, v in kwargs.items()})

    def _instance_from_text(self, texts):
        """The instantiation for template arguments spelled in C++, in order."""
        if len(texts) > len(self._tparams) and not (self._tparams and self._tparams[-1].pack):
            raise TemplateError(f"{self._qual} has {len(self._tparams)} template parameter(s), {len(texts)} given")
        given = {}
        for i, text in enumerate(texts):
            p = self._tparams[min(i, len(self._tparams) - 1)]
            if p.kind == "type":
                a = _TplArg(text, numba=_tpl_numba_of(text, self._tb.b), is_type=True)
            else:
                a = _TplArg(text, value=int(text) if text.lstrip("-").isdigit() else None, is_type=False)
            if p.pack:
                given.setdefault(p.name, []).append(a)
            else:
                given[p.name] = a
        return self._instantiate(given)

    def _param(self, name):
        for p in self._tparams:
            if p.name == name:
                return p
        have = ", ".join(p.name for p in self._tparams)
        raise TemplateError(f"{self._qual} has no template parameter `{name}`; it has {have}")

    def _specialize_from_numba(self, tys):
        given = {}
        for i, t in enumerate(tys):
            if i >= len(self._tparams):
                raise TemplateError(f"{self._qual} has {len(self._tparams)} template parameter(s), {len(tys)} given")
            given[self._tparams[i].name] = _tpl_arg_from_numba(self._tparams[i], t, self._tb.b)
        return self._instantiate(given)

    def _instantiate(self, given):
        """The instantiation for template arguments `given` (name -> _TplArg); defaults fill the
        rest. Probes its layout the first time."""
        last = max((i for i, p in enumerate(self._tparams) if p.name in given), default=-1)
        env, spelled = {}, []
        for i, p in enumerate(self._tparams):
            if p.name in given:
                a = given[p.name]
            elif p.pack:
                a = []
            elif p.default is not None:
                mapping = {k: _tpl_arg_text(v) for k, v in env.items()}
                text = _tpl_subst(p.default, mapping)
                is_type = p.kind == "type"
                numba = None
                if is_type and p.default_pattern:
                    numba = _tpl_numba_of_pattern(p.default_pattern, mapping, env, self._tb.b)
                a = _TplArg(text, numba=numba, is_type=is_type)
            else:
                raise TemplateError(f"{self._qual}: template parameter `{p.name}` has no default and was not given")
            env[p.name] = a
            if i <= last:
                spelled.extend(x.cxx for x in a) if isinstance(a, list) else spelled.append(a.cxx)
        cxx = f"{self._qual}<{', '.join(spelled)}>"
        ci = self._instances.get(cxx)
        if ci is None:
            ci = self._instances[cxx] = self._layout(cxx, env)
        return ci

    def _layout(self, cxx, env):
        """The instantiation, with its size and alignment, those of its nested records and the
        offsets of its public fields (those with a Numba type), from one NVRTC probe."""
        mapping = {k: _tpl_arg_text(v) for k, v in env.items()}
        mapping[_TPL_SELF] = cxx
        fields = []
        for name, pat in self._fields:
            ty = _tpl_numba_of_pattern(pat, mapping, env, self._tb.b)
            if ty is not None:
                fields.append((name, ty))
        # A member typedef of a scalar type is that Numba type; other nested types are probed.
        scalars = {}
        for name, pat in self._alias_patterns.items():
            ty = _tpl_numba_of_pattern(pat, mapping, env, self._tb.b)
            if isinstance(ty, types.Number | types.Boolean):
                scalars[name] = ty
        probed = [n for n in self._nested if n not in scalars]
        exprs = [f"sizeof({cxx})", f"alignof({cxx})"]
        # Offsets through `__nbst_offsetof` (_TPL_OFFSETOF), naming the instance through an alias.
        exprs += [f"__nbst_offsetof(__nbst_layout_t, {name})" for name, _ty in fields]
        # A nested record that is not accessible (private) probes as size 0, through SFINAE.
        prelude = f"using __nbst_layout_t = {cxx};\n"
        prelude += "".join(_TPL_NESTED_PROBE.format(i=i, name=n) for i, n in enumerate(probed))
        for i, _n in enumerate(probed):
            exprs += [f"__nbst_nested{i}<{cxx}>::size", f"__nbst_nested{i}<{cxx}>::align"]
        enum_exprs = self._enums.probes(cxx)
        exprs += enum_exprs
        try:
            values = _tpl_probe(self._unit, exprs, cxx, prelude, self._tb.arch(self._arch))
        except TemplateError:
            if not fields:
                raise
            # If the offsets cannot be probed, probe the layout without them; the instance is then
            # opaque (no field attributes), its methods still work.
            fields = []
            exprs = [e for e in exprs if not e.startswith("__nbst_offsetof")]
            values = _tpl_probe(self._unit, exprs, cxx, prelude, self._tb.arch(self._arch))
        offsets = {name: (ty, values[2 + i]) for i, (name, ty) in enumerate(fields)}
        base = 2 + len(fields)
        nested = {n: (values[base + 2 * i], values[base + 2 * i + 1]) for i, n in enumerate(probed)}
        nested = {n: layout for n, layout in nested.items() if layout[0] > 0}
        nested.update(scalars)
        ci = ClassInstance(self, cxx, env, values[0], values[1], nested, offsets)
        self._enums.attach(ci, mapping, env, values[len(values) - len(enum_exprs) :])
        # Clang may spell a member alias by its target (`Raw<_Storage> &` for `TempStorage &`).
        for name, target in self._alias_patterns.items():
            if name in ci.nested and name not in scalars and target[0] == "name":
                spelled = _tpl_subst(target[1], mapping)
                self._tb.b.types.setdefault(_tpl_norm(spelled).lstrip(":").strip(), ci.nested[name]._numba_type)
        return ci

    def _type_construct(self, typingctx, args, kws):
        try:
            given = {k: _tpl_arg_from_numba(self._param(k), ty, self._tb.b) for k, ty in kws.items()}
            ci = self._instantiate(given)
        except TemplateError as e:
            raise _tpl_typing_error(e) from None
        call = ci._construct(typingctx, args)
        sigtys = list(call.resolved.sigtys) + [kws[k] for k in kws]
        sig = _tpl_signature(ci._numba_type, *sigtys)
        P = _tpl_inspect.Parameter
        sig = sig.replace(pysig=_tpl_inspect.Signature(
            [P(f"__nbst_a{i}", P.POSITIONAL_OR_KEYWORD) for i in range(len(call.resolved.sigtys))]
            + [P(k, P.POSITIONAL_OR_KEYWORD) for k in kws]
        ))  # fmt: skip
        self._calls[tuple(sigtys)] = (call, len(call.resolved.sigtys))
        return sig

    def _lower_construct(self, context, builder, sig, args):
        call, n = self._calls[tuple(sig.args)]
        return call.lower(context, builder, args[:n])

    def _resolve_attr(self, typ, attr):
        if attr == "__call__":  # `x(...)`: the call operator
            return types.BoundFunction(self._method_template(_TPL_CALL), typ) if _TPL_CALL in self._methods else None
        field = typ._nbst_owner.fields.get(attr)
        if field is None and self._inherits and attr not in self._methods and not attr.startswith("_"):
            field = typ._nbst_owner._inherited_field(attr)
        if field is not None:
            return field[0]
        if attr in self._methods or (self._inherits and not attr.startswith("_")):
            if attr not in self._method_calls:  # an inherited member, first seen here
                table = self._method_calls[attr] = {}
                self._tb.b._lower((self, attr), [types.VarArg(types.Any)], _tpl_lower_by_sig(table))
                self._tb.b._sync()
            return types.BoundFunction(self._method_template(attr), typ)
        return None

    def _method_template(self, name, explicit=()):
        """The typing template of method `name`; with `explicit` (the Numba types of template
        arguments given in the kernel, `s.FlagHeads[4]`), that of the member template called with
        them, which has its own calls and lowering."""
        cache = self.__dict__.setdefault("_method_templates", {})
        template = cache.get((name, explicit))
        if template is None:
            ct = self
            if explicit:
                table = self._method_calls[(name, explicit)] = {}
                self._tb.b._lower((self, name, explicit), [types.VarArg(types.Any)], _tpl_lower_by_sig(table))
                self._tb.b._sync()

            class Method(_TplAbstractTemplate):
                key = (ct, name, explicit) if explicit else (ct, name)

                def generic(self, args, kws):
                    if kws:
                        raise _TplTypingError(f"{name}: keyword arguments are not supported")
                    call = self.this._nbst_owner._method(self.context, name, args, explicit)
                    return _tpl_signature(call.return_type(), *call.resolved.sigtys, recvr=self.this)

            template = cache[(name, explicit)] = Method
        return template


class _TplEnums:
    """The public enums of a class template, each `(name, members, underlying)` as the renderer
    writes them: members `(Python name, C++ name, value)`, the value None where it needs the
    template's arguments; the underlying type `(spelling, pattern)`, or None where C++ derives it
    from the values. An enum whose values and underlying type are known without the arguments is
    one `IntEnum`, shared by every instantiation (`Table.Pick is Table[np.int32, 4].Pick`) and
    registered under each instantiation's spelling; another is made per instantiation, its
    values probed with the layout."""

    def __init__(self, template, enums):
        self._template, self._enums, self._shared = template, list(enums), {}
        b = template._tb.b
        for name, members, underlying in self._enums:
            values = [v for _py, _cxx, v in members]
            if None in values:
                continue
            ty = self._underlying(underlying, values, {}, {})
            if ty is not None:
                self._shared[name] = cls = self._make(name, members, values, ty)
                b.member_type(template, name, cls)

    def _underlying(self, underlying, values, mapping, env):
        if underlying is None:  # as clang chooses for an unscoped enum without a fixed type
            lo, hi = min(values, default=0), max(values, default=0)
            if lo >= 0:
                return types.uint32 if hi < 2**32 else types.uint64
            return types.int32 if lo >= -(2**31) and hi < 2**31 else types.int64
        ty = _tpl_numba_of_pattern(underlying[1], mapping, env, self._template._tb.b)
        return ty if isinstance(ty, types.Integer | types.Boolean) else None

    def _make(self, name, members, values, underlying):
        return self._template._tb.b.enum(cxx_name=None, py_name=name, underlying=underlying,
                                         members=[(py, v) for (py, _c, _v), v in zip(members, values)])  # fmt: skip

    def dependent(self):
        """The names of the enums that are an instantiation's only."""
        return [name for name, _m, _u in self._enums if name not in self._shared]

    def probes(self, cxx):
        """The expressions that give the values of instantiation `cxx` that need its arguments."""
        return [f"(long long)({cxx}::{name}::{c})" for name, members, _u in self._enums if name not in self._shared
                for _py, c, v in members if v is None]  # fmt: skip

    def attach(self, ci, mapping, env, probed):
        """The enums of instantiation `ci` as its attributes, `probed` the values of `probes`."""
        b, probed = self._template._tb.b, iter(probed)
        for name, members, underlying in self._enums:
            cls = self._shared.get(name)
            if cls is None:
                values = [v if v is not None else _tpl_signed(next(probed)) for _py, _c, v in members]
                ty = self._underlying(underlying, values, mapping, env)
                if ty is None:
                    raise TemplateError(f"{ci.cxx}::{name}: the underlying type "
                                        f"`{_tpl_subst(underlying[0], mapping)}` is not an integer type")  # fmt: skip
                cls = self._make(name, members, values, ty)
            key = _tpl_norm(f"{ci.cxx}::{name}").lstrip(":").strip()
            b.types[key], b.enums[key] = cls._nbst_member_type, cls
            ci.nested[name] = cls
            setattr(ci, name, cls)


def _tpl_signed(value):
    """A probed value (unsigned 64 bits) as the signed value it stands for."""
    return value - 2**64 if value >= 2**63 else value


def _tpl_get_field(context, builder, typ, value, attr):
    """A public field of a class template instance: its bytes at the probed offset."""
    fty, offset = typ._nbst_owner.fields[attr]
    return _tpl_rt._tpl_field_at(context, builder, typ, value, fty, offset)


# ----------------------------------------------------------------------------- registration


class TemplateBindings:
    """The template side of one `Bindings`: what rendered code calls (`function_template`,
    `class_template`), and the typing and lowering shared by every template it binds."""

    def __init__(self, bindings):
        self.b = bindings
        self._getitem_lowered = set()
        self._archs = {}  # arch condition -> _TplArch
        self._functions = {}  # py_name -> [BoundFunctionTemplate], one per shim unit
        self._classes = {}  # qualified name -> BoundClassTemplate (the last bound)
        self._operator_templates = {}  # (unit, op, namespace) -> BoundFunctionTemplate
        tb = self

        class GetItem(_TplAbstractTemplate):
            """`f[np.float32]`, `BlockScan[int32, 128]` in a kernel."""

            key = _tpl_operator.getitem
            prefer_literal = True

            def generic(self, args, kws):
                obj, index = args
                tys = index.types if isinstance(index, types.BaseTuple) else (index,)
                if isinstance(obj, types.BoundFunction):  # `s.FlagHeads[4]`: a member template's arguments
                    key = getattr(obj.template, "key", None)
                    if not (isinstance(key, tuple) and len(key) == 2 and isinstance(key[0], BoundClassTemplate)
                            and key[0]._tb is tb):  # fmt: skip
                        return None
                    method = types.BoundFunction(key[0]._method_template(key[1], tuple(tys)), obj.this)
                    tb.lower_method_getitem(obj)
                    return _tpl_signature(method, *args)
                target = getattr(obj, "typing_key", None)
                if not isinstance(obj, types.Function) or getattr(target, "_tb", None) is not tb:
                    return None
                try:
                    spec = target._specialize_from_numba(tys)
                except TemplateError as e:
                    raise _tpl_typing_error(e) from None
                return _tpl_signature(spec._numba_type_, *args)

        class InstanceAttributes(_TplAttributeTemplate):
            key = _TplInstanceType

            def generic_resolve(self, typ, attr):
                owner = typ._nbst_owner.template
                return owner._resolve_attr(typ, attr) if owner._tb is tb else None

        class ClassObjectAttributes(_TplAttributeTemplate):
            key = _TplClassObjectType

            def generic_resolve(self, typ, attr):
                ci = typ.typing_key
                if getattr(ci, "template", None) is None or ci.template._tb is not tb:
                    return None
                if attr not in ci.nested:
                    t = ci.template
                    if attr in t._statics or (t._inherits and not attr.startswith("_")):
                        return ci._static(attr)._numba_type_
                    return None
                obj = ci.nested[attr]
                if isinstance(obj, type) and issubclass(obj, _tpl_enum.Enum):
                    return _tpl_rt.typeof(obj)
                return types.NumberClass(obj) if isinstance(obj, types.Type) else obj._numba_type_

        bindings.typing_registry.register_global(_tpl_operator.getitem, types.Function(GetItem))
        bindings.typing_registry.register_attr(InstanceAttributes)
        bindings.typing_registry.register_attr(ClassObjectAttributes)

        bindings.target_registry.lower_getattr_generic(_TplClassObjectType)(_tpl_rt._lower_dummy_attr)
        bindings.target_registry.lower_getattr_generic(_TplInstanceType)(_tpl_rt._tpl_getattr_lowering(_tpl_get_field))

        def call_instance(context, builder, sig, args):
            """`x(...)` on an instance: Numba lowers a call of a value by its type (the class
            `_TplInstanceType` for every instance), with the instance first."""
            table = sig.args[0]._nbst_owner.template._method_calls[_TPL_CALL]
            return table[tuple(sig.args)].lower(context, builder, args)

        bindings.target_registry.lower(_TplInstanceType, types.VarArg(types.Any))(_tpl_rt._tpl_lowering(call_instance))
        bindings._sync()

    def lower_getitem(self, fnty):
        """`f[...]` on a template's function type gives a dummy value: its type says everything."""
        if fnty not in self._getitem_lowered:
            self._getitem_lowered.add(fnty)

            def impl(context, builder, sig, args):
                return _tpl_rt._tpl_dummy_value(context)

            self.b._lower(_tpl_operator.getitem, [fnty, types.Any], _tpl_rt._tpl_lowering(impl))
            self.b._sync()  # registered while a kernel is typed: numba-cuda-mlir reloads its registries

    def lower_method_getitem(self, methty):
        """`s.FlagHeads[4]` gives the receiver, as the method does (a bound method's value is its
        receiver, whatever template arguments it is called with)."""
        if methty not in self._getitem_lowered:
            self._getitem_lowered.add(methty)

            def impl(context, builder, sig, args):
                return args[0]

            self.b._lower(_tpl_operator.getitem, [methty, types.Any], _tpl_rt._tpl_lowering(impl))
            self.b._sync()  # registered while a kernel is typed: numba-cuda-mlir reloads its registries

    def arch_condition(self, condition, ranges, archs, owner):
        """Describes an arch condition that rendered templates carry (`"arch"`, `arch=`): the
        `__CUDA_ARCH__` ranges in which it holds, the names of those archs and the module that
        binds the templates, for the error when a kernel for another arch calls one."""
        self._archs[condition] = _TplArch(condition, ranges, archs, owner)

    def arch(self, condition):
        """The `_TplArch` of `condition` (None when every arch has the template)."""
        if not condition:
            return None
        return self._archs.get(condition) or _TplArch(condition)

    def function_template(self, *, unit, py_name, overloads):
        """A function template (its overloads of one name) -> the kernel callable. Overloads of a
        name already bound for `unit` are added to its callable (those present on other archs)."""
        overloads = [_TplOverload(o) for o in overloads]
        for fn in self._functions.get(py_name, ()):
            if fn._unit is unit:
                fn._add_overloads(overloads)
                return fn
        fn = BoundFunctionTemplate(self, unit, py_name, overloads)
        fn._plain = self.b._functions.get((unit, py_name))
        self._functions.setdefault(py_name, []).append(fn)
        return fn

    def operator_template(self, *, unit, op, overloads):
        """Free operator templates of one Python operator (`op` from the `operator` module), such
        as `complex<T> operator+(const complex<T> &, const complex<T> &)`. As C++ finds them (by
        argument-dependent lookup), those of a namespace apply when an operand is a bound struct or
        class template instance of that namespace: `cuda::std::rel_ops`'s `T > T` is not found for
        a `cuda::std::complex` or a struct elsewhere."""
        by_scope = {}
        for o in overloads:
            by_scope.setdefault(_tpl_scope(o.get("qual_name", "")), []).append(_TplOverload(o))
        for scope, group in by_scope.items():
            fn = self._operator_templates.get((unit, op, scope))
            if fn is None:
                self._operator_templates[(unit, op, scope)] = self._operator_scope(unit, op, scope, group)
            else:
                fn._add_overloads(group)

    def _operator_scope(self, unit, op, scope, overloads):
        """The operator templates of `op` declared in namespace `scope`, typed for operands of it."""
        fn = BoundFunctionTemplate(self, unit, f"operator.{op.__name__}", overloads)
        lowered = set()
        b = self.b

        def namespace(ty):
            if not (isinstance(ty, _TplInstanceType) or _tpl_rt._is_bound_type(ty)):
                return None
            cxx = _tpl_cxx_of(ty, b)
            return None if cxx is None else _tpl_scope(cxx.split("<", 1)[0].lstrip(":"))

        class OperatorTemplate(_TplAbstractTemplate):
            key = op

            def generic(self, args, kws):
                plain = [types.unliteral(a) for a in args]
                if kws or scope not in {namespace(a) for a in plain}:
                    return None
                try:
                    sig = fn._type_template_call(self.context, args, kws)
                except _TplTypingError:
                    return None  # Numba tries the operator's other templates
                if sig.args not in lowered:
                    lowered.add(sig.args)
                    b._lower(op, list(sig.args), _tpl_lower_by_sig(fn._calls))
                    b._sync()
                if op in _TPL_INPLACE and isinstance(plain[0], _TplInstanceType):
                    plain[0].mutable = True
                return sig

        b.typing_registry.register_global(op, types.Function(OperatorTemplate))
        b._sync()
        return fn

    def member_templates(self, struct, *, unit, methods, statics):
        """The member function templates of the bound (non-template) struct `struct`: `methods`
        and `statics` are `(name, overload)`; the call operator's name is `operator()`. Their
        template arguments are deduced when a kernel calls them, as a class template's members'."""
        return _TplStructMembers(self, unit, struct, methods, statics)

    def template_of(self, unit, py_name):
        """The function template bound as `py_name` for `unit`, if any."""
        for fn in self._functions.get(py_name, ()):
            if fn._unit is unit:
                return fn
        return None

    def class_template(self, *, unit, py_name, qual_name, location, tparams, nested, fields, constructors, methods,
                       arch=None, inherits=False, statics=(), operators=(), enums=()):  # fmt: skip
        """A class template -> the object that instantiates it; `arch`: the condition of the archs
        that have it, if not all; `statics`: `(name, overload)` of static member functions;
        `operators`: `(op, method name)` of member operators, whose overloads are among `methods`;
        `enums`: its public enums (see `_TplEnums`)."""
        bound = BoundClassTemplate(self, unit, py_name, qual_name, location, tparams, nested, fields,
                                   constructors, methods, arch, inherits, statics, operators)  # fmt: skip
        bound._enums = _TplEnums(bound, enums)
        self._classes[qual_name.lstrip(":")] = bound
        return bound


def _template_bindings(bindings):
    """The `TemplateBindings` of `bindings` (made on first use)."""
    tb = getattr(bindings, "_nbst_templates", None)
    if tb is None:
        tb = bindings._nbst_templates = TemplateBindings(bindings)
    return tb
