"""Numbast runtime, typing: what a bound C++ entity is to Numba's type inference, for every backend.

This text is shared by the runtimes of both backends: numba-cuda (`numbast/_runtime.py`) and
numba-cuda-mlir (`numbast/mlir/_runtime.py`). It is never imported as a module of its own: each
backend runtime runs it in its own namespace before its lowering code (dynamic mode, through
`_nb_run_shared_typing`), and static mode pastes it ahead of the backend's text in a generated
module. `_NB_PACKAGE`, set by the backend first, names the Numba it types with: `numba.cuda`, or
the copy numba-cuda-mlir carries (`numba_cuda_mlir.numba_cuda`), whose type objects are its own.

What lives here: the C++ type tables, shim units, struct types and the implicit conversions of
converting constructors, the call templates (overload choice, pointer passing, the error that lists
each overload and why it was rejected), argument intents and `Bindings`, which registers typing
and asks the backend for each lowering. The backend supplies, by name: `_unit_code` (a shim unit's
linkable CUDA source), `_default_registries`, `_install`, `_refresh`, `_register_struct_model`, `_lower_case`,
`_inplace_impl`, `_call_impl`, `_wrap_last_lowering`, `_lowering_cc`, `_mark_cooperative`, `_operator_typed`, `_lowering_formals`, `_lower_number_call`, `_field_getter`, `_lower_dummy_attr`, `_lower_element_refs`,
`_cast_to_struct`, `_cast_from_struct` and `_TYPING_ERRORS`.
"""

import enum as _enum
import importlib as _nb_importlib
import io
import operator as _operator
import sys as _nb_sys
from typing import ClassVar as _ClassVar

_NB_PACKAGE = globals().get("_NB_PACKAGE", "numba.cuda")
_NB_BACKEND = "numba-cuda-mlir" if _NB_PACKAGE.startswith("numba_cuda_mlir") else "numba-cuda"
types = _nb_importlib.import_module(_NB_PACKAGE + ".types")
_TypingError = _nb_importlib.import_module(_NB_PACKAGE + ".core.errors").TypingError
TargetRegistry = _nb_importlib.import_module(_NB_PACKAGE + ".core.imputils").Registry
Conversion = _nb_importlib.import_module(_NB_PACKAGE + ".typeconv").Conversion
signature = _nb_importlib.import_module(_NB_PACKAGE + ".typing").signature
_NumbaNumberClassAttribute = _nb_importlib.import_module(_NB_PACKAGE + ".typing.builtins").NumberClassAttribute
_nb_templates = _nb_importlib.import_module(_NB_PACKAGE + ".typing.templates")
AbstractTemplate, AttributeTemplate, ConcreteTemplate = (
    _nb_templates.AbstractTemplate,
    _nb_templates.AttributeTemplate,
    _nb_templates.ConcreteTemplate,
)
TypingRegistry = _nb_templates.Registry
typeof = _nb_importlib.import_module(_NB_PACKAGE + ".typing.typeof").typeof

__all__ = ["Bindings", "ShimUnit", "TargetRegistry", "TypingRegistry"]  # registries: for a separate pair

# In-place operators: the shim mutates `*a0`, and the Numba result is that updated copy.
_INPLACE = {
    getattr(_operator, "i" + n)
    for n in ("add", "sub", "mul", "truediv", "floordiv", "mod", "pow", "matmul", "lshift", "rshift", "and", "or", "xor")
}
_MODES = ("in", "ptr", "out", "ref")
# C++ scalar spellings -> Numba type names: generated from crates/bindgen/src/types.rs (SCALARS).
_CXX_SCALARS = {
    "bool": "boolean", "signed char": "int8", "unsigned char": "uint8", "short": "int16",
    "unsigned short": "uint16", "int": "int32", "unsigned int": "uint32", "long long": "int64",
    "unsigned long long": "uint64", "__half": "float16", "float": "float32", "double": "float64",
    "__nv_bfloat16": "bfloat16", "char": "int8", "short int": "int16", "unsigned short int": "uint16",
    "signed": "int32", "signed int": "int32", "unsigned": "uint32", "long": "int64", "long int": "int64",
    "unsigned long": "uint64", "unsigned long int": "uint64", "long long int": "int64",
    "unsigned long long int": "uint64", "half": "float16", "nv_bfloat16": "bfloat16", "size_t": "uint64",
    "ptrdiff_t": "int64", "int8_t": "int8", "int16_t": "int16", "int32_t": "int32", "int64_t": "int64",
    "uint8_t": "uint8", "uint16_t": "uint16", "uint32_t": "uint32", "uint64_t": "uint64",
    "int_least8_t": "int8", "int_least16_t": "int16", "int_least32_t": "int32", "int_least64_t": "int64",
    "uint_least8_t": "uint8", "uint_least16_t": "uint16", "uint_least32_t": "uint32",
    "uint_least64_t": "uint64", "int_fast8_t": "int8", "int_fast16_t": "int64", "int_fast32_t": "int64",
    "int_fast64_t": "int64", "uint_fast8_t": "uint8", "uint_fast16_t": "uint64", "uint_fast32_t": "uint64",
    "uint_fast64_t": "uint64", "intmax_t": "int64", "uintmax_t": "uint64", "intptr_t": "int64",
    "uintptr_t": "uint64", "char1": "int8x1", "char2": "int8x2", "char3": "int8x3", "char4": "int8x4",
    "uchar1": "uint8x1", "uchar2": "uint8x2", "uchar3": "uint8x3", "uchar4": "uint8x4", "short1": "int16x1",
    "short2": "int16x2", "short3": "int16x3", "short4": "int16x4", "ushort1": "uint16x1",
    "ushort2": "uint16x2", "ushort3": "uint16x3", "ushort4": "uint16x4", "int1": "int32x1", "int2": "int32x2",
    "int3": "int32x3", "int4": "int32x4", "uint1": "uint32x1", "uint2": "uint32x2", "uint3": "uint32x3",
    "uint4": "uint32x4", "longlong1": "int64x1", "longlong2": "int64x2", "longlong3": "int64x3",
    "longlong4": "int64x4", "ulonglong1": "uint64x1", "ulonglong2": "uint64x2", "ulonglong3": "uint64x3",
    "ulonglong4": "uint64x4", "long1": "int64x1", "long2": "int64x2", "long3": "int64x3", "long4": "int64x4",
    "ulong1": "uint64x1", "ulong2": "uint64x2", "ulong3": "uint64x3", "ulong4": "uint64x4",
    "float1": "float32x1", "float2": "float32x2", "float3": "float32x3", "float4": "float32x4",
    "double1": "float64x1", "double2": "float64x2", "double3": "float64x3", "double4": "float64x4",
}  # fmt: skip
# (end of the generated scalar table)


def _scalar_types():
    """`_CXX_SCALARS` with Numba types: C++ spelling -> type (those this numba-cuda has)."""
    try:
        vector_types = _nb_importlib.import_module(_NB_PACKAGE + ".vector_types").vector_types
    except (ImportError, AttributeError):  # a backend without CUDA's vector types
        vector_types = {}

    found = {}
    for cxx, name in _CXX_SCALARS.items():
        ty = vector_types.get(name) if "x" in name else getattr(types, name, None)
        if ty is not None:
            found[cxx] = ty
    return found


_SCALAR_TYPES = _scalar_types()


_ENUM_STORAGE = {}
_CXX_ALIGN = {}  # Numba type -> C++ alignof, where it exceeds the LLVM type's (registered types)


class ShimStream(io.StringIO):
    """A shim unit's C++ text. `write_with_key(key, text)` appends `text` once per key: generated
    modules offer it as `shim_stream`, for code that adds shims of its own to their unit."""

    def __init__(self):
        super().__init__()
        self._keys = set()

    def write_with_key(self, key, text):
        if key not in self._keys:
            self._keys.add(key)
            self.write(text)


class ShimUnit:
    """One NVRTC compilation unit: `preceding_text` (e.g. `#include "lib.cuh"`) then each shim once.

    `links()` returns `[code]` where `code` is a `CUSource` whose text is read when the kernel is
    linked, so shims added after a kernel was typed are still there. The same object is added to
    every kernel's code library, which keeps its linking files in a set: a unit is compiled once per
    link even when it is also passed through `cuda.jit(link=...)`.
    """

    def __init__(self, preceding_text, name):
        self.name = name
        self.stream = ShimStream()
        self.stream.write(preceding_text)
        self.stream.write("\n")
        self.code = _unit_code(self.stream, name, preceding_text + "\n")  # the backend's linkable CUDA source

    def add(self, shim_name, src):
        """Append the source of shim `shim_name`, unless it is already there."""
        self.stream.write_with_key(shim_name, "\n" + src.rstrip() + "\n")

    def source(self):
        return self.stream.getvalue()

    def links(self):
        """What a kernel calling the unit's shims links (the backend may add a definitions unit)."""
        files = getattr(self.code, "linking_files", None)
        return files() if files is not None else [self.code]

    def __repr__(self):
        return f"ShimUnit({self.name!r}, {len(self.stream._keys)} shims)"


def _round_up(n, align):
    return (n + align - 1) // align * align


_MAX_LLVM_ALIGN = 16
# The largest `alignof` accepted for a registered type (stack slots for shims get it).
_MAX_CXX_ALIGN = 4096


def _check_cxx_align(cxx_name, align):
    """`align` as an int, if it is a power of two up to `_MAX_CXX_ALIGN`; else a TypeError or ValueError."""
    try:
        value = None if isinstance(align, bool) else _operator.index(align)
    except TypeError:
        value = None
    if value is None:
        raise TypeError(f"alignof of {cxx_name!r} must be an int, not {type(align).__name__}")
    if not 1 <= value <= _MAX_CXX_ALIGN or value & (value - 1):
        raise ValueError(f"alignof of {cxx_name!r} must be a power of two from 1 to {_MAX_CXX_ALIGN}, not {value}")
    return value


def _check_align(size, align):
    if align <= 0 or align & (align - 1) or size <= 0 or size % align:
        raise ValueError(f"unsupported layout: size {size}, align {align}")


class _StructTypeMixin:
    """Mixed into each bound struct's Numba type class, before the `parent` class.

    Implicit conversion *to* the struct comes from converting constructors (`_nbst_implicit`):
    from their exact parameter type, or from a builtin number that converts to a numeric one.
    Conversion operators are not implicit at typing time (they would make `a + b` pick Numba's
    float addition over the bound `operator+`); they serve `float64(x)` and explicit casts.
    """

    def can_convert_from(self, typingctx, other):
        if _pick_implicit(self, typingctx, other) is not None:
            return Conversion.unsafe
        return None

    def unify(self, typingctx, other):
        return self if self.can_convert_from(typingctx, other) else None


def _is_struct_type(ty):
    """Whether `ty` is the Numba type of a bound C++ struct, made by any copy of this runtime (or
    a class template instance type, which has the same `_nbst_size`/`_nbst_align` attributes)."""
    return getattr(ty, "_nbst_size", None) is not None


def _enum_storage(ty):
    """The underlying integer type of a bound enum's member type (any copy's), or None."""
    return getattr(ty, "_nbst_enum_storage", None)


def _stored_type(ty):
    """The type whose data a value of `ty` is stored as: an enum's underlying integer, else `ty`."""
    storage = _enum_storage(ty)
    return ty if storage is None else storage


def _is_bound_type(ty):
    return _is_struct_type(ty) or _enum_storage(ty) is not None


def _is_builtin_number(ty):
    return isinstance(ty, (types.Integer, types.Float, types.Boolean)) and not _is_struct_type(ty)


def _pick_implicit(struct_ty, typingctx, fromty):
    """The parameter type of the converting constructor used to convert `fromty`, or None."""
    candidates = getattr(struct_ty, "_nbst_implicit", None) or {}
    if fromty in candidates:
        return fromty
    if _is_builtin_number(fromty):
        for p in candidates:
            if _is_builtin_number(p) and typingctx.can_convert(fromty, p) is not None:
                return p
    return None


class _ElementRef(types.Type):
    """`a[i]` on a 1-D array of an opaque bound struct (one known only as its bytes, with no public
    field and no conversion operator, such as CUB's `TempStorage`): the element itself, as `a[i]`
    is an lvalue in C++. A reference parameter of a template (`T &`, `const T &`) binds to it, so
    `WarpScan(temp[warp_id])` keeps the shared-memory storage of its warp; anywhere else it converts
    to a copy of the value. Other copies of the runtime recognise it by `_nbst_ref_of`."""

    def __init__(self, dtype):
        self.dtype = self._nbst_ref_of = dtype
        super().__init__(name=f"ref({dtype})")

    @property
    def key(self):
        return self.dtype

    def can_convert_to(self, typingctx, other):
        return Conversion.safe if other == self.dtype else None

    def unify(self, typingctx, other):
        return self.dtype if other == self.dtype or getattr(other, "_nbst_ref_of", None) == self.dtype else None


def _is_opaque_element(ty):
    return getattr(ty, "_nbst_opaque", False) and not getattr(ty, "_nbst_conversions", None)


class _ElementRefGetItem(AbstractTemplate):
    key = _operator.getitem
    metadata: _ClassVar = {"target": "cuda"}  # tried before numba-cuda's generic array indexing

    def generic(self, args, kws):
        if kws or len(args) != 2:
            return None
        ary, idx = args
        if not (isinstance(ary, types.Array) and ary.ndim == 1 and isinstance(idx, types.Integer)):
            return None
        return signature(_ElementRef(ary.dtype), ary, idx) if _is_opaque_element(ary.dtype) else None

    def get_impl_key(self, sig):
        return _ElementRefGetItem  # its own lowering, apart from numba-cuda's getitem of the same arguments


class _BoundSetItem(AbstractTemplate):
    """`a[i] = v` on a bound struct or class template instance: refused with what to do instead.
    A value in a kernel has no address, so a reference that `operator[]` returns would name the
    shim's copy of `a`, and the store would be lost."""

    key = _operator.setitem

    def generic(self, args, kws):
        if kws or len(args) != 3 or not _is_struct_type(types.unliteral(args[0])):
            return None
        target = types.unliteral(args[0])
        raise _TypingError(
            f"`a[i] = v` on {target} (a bound C++ value) is not supported: a kernel's value has no address for "
            f"`operator[]`'s reference to name, so the store would land in a copy. Write through storage instead: "
            f"a view such as `cuda::std::span` through its pointer (`s.data()[i] = v`), or keep the elements in a "
            f"local or shared array"
        )


class _ElementRefAttributes(AttributeTemplate):
    key = _ElementRef

    def generic_resolve(self, typ, attr):
        return self.context.resolve_getattr(typ.dtype, attr)  # methods: the receiver is cast to a copy


class _StructClass(types.Function, types.DTypeSpec):
    """Numba type of a bound struct's Python object in a kernel: calling it runs the constructor
    overloads, and it is a dtype (`cuda.local.array(4, myfloat16)`)."""

    def __init__(self, template, instance_type):
        self.instance_type = instance_type
        super().__init__(template)

    @property
    def dtype(self):
        return self.instance_type


class _NumberClassCall(AttributeTemplate):
    """`float64(x)` on a bound struct `x` with a conversion operator to a builtin number.

    Numba types a call of a number class with one attribute template for all number classes,
    which accepts only numbers. A template keyed by one number class (`key`, set per subclass)
    takes precedence over it; this one accepts bound structs and hands every other call to
    Numba's. Lowering is Numba's number constructor, a cast, which `Bindings.conversion` lowers.
    """

    def resolve___call__(self, classty):
        numba_call = _NumbaNumberClassAttribute(self.context).resolve___call__(classty)
        target = classty.instance_type

        class Call(AbstractTemplate):
            key = target

            def generic(self, args, kws):
                if (
                    len(args) == 1
                    and not kws
                    and _is_struct_type(args[0])
                    and _numeric_conversion(self.context, args[0], target) is not None
                ):
                    return signature(target, args[0])
                return numba_call.get_call_type(self.context, args, kws)

        return types.Function(Call)


def _numeric_conversion(typingctx, struct_ty, target):
    """The conversion operator target of `struct_ty` used for a cast to `target`, or None."""
    conversions = getattr(struct_ty, "_nbst_conversions", None) or {}
    if target in conversions:
        return target
    for t in conversions:
        if _is_builtin_number(t) and typingctx.can_convert(t, target) is not None:
            return t
    return None


def _implicit_ctor(typingctx, fromty, toty):
    """The converting constructor of bound struct `toty` (any copy's) that converts `fromty`: its
    parameter type (`fromty` itself, or a builtin number `fromty` converts to), unit, shim, source
    and params. Both backends' casts lower it."""
    p = _pick_implicit(toty, typingctx, fromty)
    if p is None:
        raise NotImplementedError(f"no implicit conversion from {fromty} to {toty}")
    return (p, *toty._nbst_implicit[p])


def _conversion_operator(typingctx, fromty, toty):
    """The conversion operator of bound struct `fromty` (any copy's) that a cast to `toty` uses:
    its target type (`toty`, or a builtin number that converts to it), unit, shim and source."""
    target = _numeric_conversion(typingctx, fromty, toty)
    if target is None:
        raise NotImplementedError(f"no conversion from {fromty} to {toty}")
    return (target, *fromty._nbst_conversions[target])


def _pointer_passing(param, arg):
    """The one rule for what a C++ pointer parameter accepts. `param` is the parameter's Numba
    type (`CPointer(T)` for `T *` and `const T *`, `voidptr` for `void *`), `arg` the argument's.
    Returns "ptr" for a pointer passed as is (a `CPointer(T)`; any `CPointer` or `voidptr` for
    `void *`), "decay" for an array (device, local or shared array, or a slice of one) passed as
    the address of its first element, or None when the argument does not fit."""
    arg = types.unliteral(arg)
    if param == types.voidptr:
        if isinstance(arg, types.CPointer) or arg == types.voidptr:
            return "ptr"
        return "decay" if isinstance(arg, types.Array) else None
    if not isinstance(param, types.CPointer):
        return None
    if isinstance(arg, types.CPointer) and _stored_type(arg.dtype) == _stored_type(param.dtype):
        return "ptr"
    if isinstance(arg, types.Array) and _stored_type(arg.dtype) == _stored_type(param.dtype):
        return "decay"
    return None


def _why_not(typingctx, params, args):
    """Why the Numba signature `params` does not take `args` (None when it does), and the fitted
    argument types with the number of converted arguments."""
    if len(params) != len(args):
        return f"takes {len(params)} argument(s), {len(args)} given", None, 0
    fitted, cost = [], 0
    for i, (p, a) in enumerate(zip(params, args)):
        if isinstance(p, types.CPointer) or p == types.voidptr:
            passing = _pointer_passing(p, a)
            if passing is not None:
                fitted.append(types.unliteral(a))
                cost += p == types.voidptr
                continue
            if isinstance(types.unliteral(a), (types.Array, types.CPointer)) or a == types.voidptr:
                what = a.dtype if isinstance(a, (types.Array, types.CPointer)) else "void"
                return f"argument {i + 1}: a pointer to {what} where {p} is expected", None, 0
        if p == a:
            fitted.append(p)
        elif typingctx.can_convert(a, p) is not None:
            fitted.append(p)
            cost += 1
        else:
            return f"argument {i + 1}: {a} does not convert to {p}", None, 0
    return None, fitted, cost


class _CallTemplate(ConcreteTemplate):
    """The overloads of one bound callable (`cases`, a Numba signature each, in `impls` their
    lowering). Numba's own resolution picks among them first; where it finds nothing, pointer
    parameters take what `_pointer_passing` accepts, the overload with the fewest converted
    arguments wins, and the call's signature keeps the array or pointer type as given (its
    lowering, `_lower_fitted`, passes it on). No fitting overload is a typing error that lists
    each overload and why it was rejected (`describe` names them, C++ spelling where known)."""

    # Set per subclass by `_fitting_template`.
    cases: _ClassVar[list] = []
    cxx: _ClassVar[list] = []  # C++ signatures, aligned with `cases` (or empty)
    fitted: _ClassVar[dict] = {}  # fitted argument types (receiver first for a method) -> index into `cases`
    notes: _ClassVar[dict] = {}  # index into `cases` -> a sentence the error adds under its reason
    raise_errors = True

    def apply(self, args, kws):
        try:
            sig = super().apply(args, kws)
        except _TYPING_ERRORS:  # numba-cuda raises numba's own here
            sig = None
        if sig is not None or kws:
            return sig
        pointers = any(isinstance(types.unliteral(a), (types.Array, types.CPointer)) or a == types.voidptr for a in args)
        if pointers or (self.raise_errors and self.cases):
            return self._fit(args)  # fits pointer parameters, or raises the error listing each overload
        return None

    def _fit(self, args):
        best, why = None, []
        for k, case in enumerate(self.cases):
            reason, fitted, cost = _why_not(self.context, case.args, args)
            if reason is None and (best is None or cost < best[0]):
                best = (cost, k, fitted)
            why.append(reason)
        if best is None:
            if not self.raise_errors or not self.cases:
                return None
            shown = ", ".join(map(str, args))
            lines = [f"no overload of {self.describe()} fits ({shown}):"]
            for k, (case, reason) in enumerate(zip(self.cases, why)):
                name = self.cxx[k] if k < len(self.cxx) and self.cxx[k] else str(case)
                lines.append(f"  {name}\n    -> {reason}")
                if k in self.notes:
                    lines.append(f"       ({self.notes[k]})")
            raise _TypingError("\n".join(lines))
        _cost, k, fitted = best
        case = self.cases[k]
        recvr = getattr(case, "recvr", None)
        self.fitted[((recvr,) if recvr is not None else ()) + tuple(fitted)] = k
        return signature(case.return_type, *fitted, recvr=recvr)

    @classmethod
    def _nbst_writeback(cls, sig):
        """For a call typed `sig` whose overload may change its receiver (a non-const C++ method)
        or what its reference parameters name: the variant that also returns those after the
        call, as `(template, its signature, targets)` (`targets`: "self" or an argument position
        per value after the result); else None (`_register_writeback_rewrite`)."""
        variant = cls.writeback_template
        if variant is None:
            return None
        have = (sig.recvr, *sig.args)
        k = next((i for i, case in enumerate(cls.cases) if (case.recvr, *case.args) == have), None)
        chosen = cls.fitted.get(have if sig.recvr is not None else tuple(sig.args)) if k is None else k
        j = cls.writeback.get(chosen)
        if j is None and chosen is not None:
            # A const overload with a non-const twin of the same parameter types (`T &at(i)`,
            # `const T &at(i) const`): C++ calls the non-const one on a variable.
            twin = cls.cases[chosen]
            j = next((w for i, w in cls.writeback.items() if cls.cases[i] == twin), None)
        if j is None:
            return None
        if k is None:  # a call fitted to pointer parameters: its variant is fitted alike
            variant.fitted[have if sig.recvr is not None else tuple(sig.args)] = j
        return variant, signature(variant.cases[j].return_type, *sig.args, recvr=sig.recvr), variant.targets[j]

    @classmethod
    def describe(cls):
        key = cls.key
        if isinstance(key, tuple):
            return f"{key[0]}.{key[1]}"
        return getattr(key, "__name__", str(key))


def _call_template(name, key, base=None):
    """A fresh `_CallTemplate` subclass for one callable (its own cases and tables)."""
    attrs = {"key": key, "cases": [], "cxx": [], "impls": [], "fitted": {}, "fitted_lowered": set(), "notes": {}}
    # A method's non-const overloads: index into `cases` -> index into the cases of the variant
    # that writes the receiver back (`writeback_template`, made with the first of them).
    # A variant case's `targets`: what each value after the result is written back to ("self",
    # the receiver, or the position of a reference argument).
    attrs.update(writeback={}, writeback_template=None, targets={})
    return type(name, (base or _CallTemplate,), attrs)


def _fitted_formals(params):
    """The lowering signatures of the calls `_CallTemplate` fits to `params`: each pointer
    parameter's position is either the parameter's type or a type class (`types.Array`, and
    `types.CPointer` for `void *`); every combination but the exact one."""
    import itertools

    choices = []
    for p in params:
        if p == types.voidptr:
            choices.append((p, types.Array, types.CPointer))
        elif isinstance(p, types.CPointer):
            choices.append((p, types.Array))
        else:
            choices.append((p,))
    return [c for c in itertools.product(*choices) if list(c) != list(params)]


class _OperatorTemplate(_CallTemplate):
    """Operator overloads apply, as in C++, only when an operand is a bound struct or enum: they
    must not capture arithmetic on builtin numbers through converting constructors. (Numba tries
    every template of an operator, so no fit is None here, not an error.)"""

    raise_errors = False

    def apply(self, args, kws):
        if not any(_is_bound_type(types.unliteral(a)) for a in args):
            return None
        sig = super().apply(args, kws)
        if sig is not None:
            _operator_typed(type(self), args)
        return sig


def _same_backend(obj, numba_type):
    """`numba_type`, unless the caller is the other backend's `typeof` (a binding made for
    numba-cuda used in a numba-cuda-mlir kernel, or the reverse): then an error naming both."""
    caller = _nb_sys._getframe(2).f_globals.get("__name__", "")
    if caller.startswith("numba_cuda_mlir"):
        asking = "numba-cuda-mlir"
    elif caller == "numba" or caller.startswith("numba."):
        asking = "numba-cuda"
    else:
        return numba_type
    if asking != _NB_BACKEND:
        other = "numbast.mlir" if asking == "numba-cuda-mlir" else "numbast"
        raise TypeError(
            f"{obj!r} was bound for the {_NB_BACKEND} backend and cannot be used in a {asking} kernel; "
            f"bind it for {asking} (with {other}, or a static module generated for it)"
        )
    return numba_type


class BoundStruct:
    """What `Bindings.struct` returns: the constructor in kernels, and a stand-in for the type
    (`_numba_type` is the Numba type; `s[:]` gives array types like a Numba type does)."""

    def __init__(self, py_name, cxx_name, numba_type):
        self.__name__ = self.__qualname__ = py_name
        self.cxx_name = cxx_name
        self._numba_type = numba_type
        self._ctor_template = _call_template(f"{py_name}_ctor", self)
        self._nbst_typeof = _StructClass(self._ctor_template, numba_type)
        self._methods = {}  # name -> method template (a ConcreteTemplate keyed by (type, name))
        self._statics = {}  # name -> BoundFunction of a static member function (`S.name(...)`)
        # name -> typing template of member function templates (and same-named methods), which
        # the template runtime types by deduction; `__call__` for the call operator
        self._tpl_methods = {}

    @property
    def _numba_type_(self):
        """What typeof() sees (checked against the backend that asks)."""
        return _same_backend(self, self._nbst_typeof)

    def __getitem__(self, index):
        return self._numba_type[index]

    def __call__(self, *args, **kwargs):
        raise TypeError(f"{self.__name__} can only be constructed inside a CUDA kernel")

    def __repr__(self):
        return f"<bound struct {self.__name__} ({self.cxx_name})>"


class BoundFunction:
    """What `Bindings.function` returns: a free function, callable from kernels.

    Its typing template and lowerings are made when it is first used (typed in a kernel, or its
    template read): until then an overload is kept as the arguments it was registered with, so
    binding a header of thousands of functions costs no Numba class per function.
    """

    def __init__(self, py_name, bindings=None):
        self.__name__ = self.__qualname__ = py_name
        self._bindings = bindings
        self._pending = []  # overloads to register on first use: (unit, shim, src, ret, params, cxx, wraps)
        self._made = None  # (template, Numba type) once used

    def _make(self):
        if self._made is None:
            template = _call_template(self.__name__, self)
            self._made = (template, types.Function(template))
            pending, self._pending = self._pending, None
            for overload in pending:
                self._bindings._register_overload(self, *overload)
            if pending:
                self._bindings._sync()
        return self._made

    @property
    def _template(self):
        return self._make()[0]

    @property
    def _nbst_typeof(self):
        return self._make()[1]

    @property
    def _numba_type_(self):
        """What typeof() sees (checked against the backend that asks)."""
        return _same_backend(self, self._nbst_typeof)

    def __call__(self, *args, **kwargs):
        raise TypeError(f"{self.__name__} can only be called inside a CUDA kernel")

    def __repr__(self):
        return f"<bound function {self.__name__}>"


class _WritebackCallee:
    """What a call of a bound function that writes reference arguments back calls, after the
    rewrite (`_register_writeback_rewrite`): the key of its variant's lowerings, and the value of
    the global the rewritten call reads."""

    __slots__ = ("function",)

    def __init__(self, function):
        self.function = function

    @property
    def __name__(self):
        return f"{self.function.__name__}&"

    def __repr__(self):
        return f"<bound function {self.function.__name__}, writing back its reference arguments>"


# ----------------------------------------------------------------------------- lowering helpers


def _check_params(params):
    params = [(ty, mode) for ty, mode in params]
    for ty, mode in params:
        if mode not in _MODES:
            raise ValueError(f"parameter mode must be one of {_MODES}, not {mode!r}")
        if mode == "ptr" and not isinstance(ty, types.CPointer):
            raise TypeError(f"a 'ptr' parameter's type must be a CPointer, not {ty}")
    return params


def _ref_forms(params):
    """The parameter lists a callable is registered with. A "ref" parameter (a non-const lvalue
    reference) is passed a copy of a value ("in"), as the other parameters are; where there are
    such parameters, a second list takes each of them as a pointer ("ptr": a `CPointer`, or an
    array or slice, whose first element the reference then names, as `_pointer_passing` fits it),
    so that what the C++ function writes through the reference lands in the caller's storage
    (`cuda::atomic_ref(out[i:])`, `add_to(acc[i:], x)`). One shim serves both lists: it takes
    every parameter through a pointer."""
    if not any(mode == "ref" for _ty, mode in params):
        return [params]
    return [_values_only(params), [(types.CPointer(ty), "ptr") if mode == "ref" else (ty, mode) for ty, mode in params]]


def _values_only(params):
    """`params` with "ref" parameters passed copies only (operators: their operands are values)."""
    return [(ty, "in" if mode == "ref" else mode) for ty, mode in params]


def _arg_types(params):
    return [ty for ty, mode in params if mode != "out"]


def _writeback_type(restype, *after):
    """The result of a call that writes values back: `(the call's result, the receiver and the
    reference arguments after the call)`."""
    return types.Tuple((restype, *after))


def _arg_positions(params, indices):
    """The positions among a call's arguments of parameters `indices` ("out" ones take none)."""
    visible = [i for i, (_ty, mode) in enumerate(params) if mode != "out"]
    return tuple(visible.index(i) for i in indices)


def _ref_positions(params):
    """The positions of a parameter list's "ref" parameters (non-const lvalue references)."""
    return tuple(i for i, (_ty, mode) in enumerate(params) if mode == "ref")


def _return_type(ret, params):
    outs = [ty for ty, mode in params if mode == "out"]
    if not outs:
        return types.none if ret is None else ret
    return types.BaseTuple.from_types(([] if ret is None else [ret]) + outs)


def _register_writeback_rewrite():
    """Non-const methods change the variable they are called on, as in C++, once per process and
    backend (marked on the backend's rewrite registry; any runtime copy's methods qualify).

    A method's shim gets a pointer to a copy of the receiver, so what the method changes is lost
    unless it is written back. After typing, each call `$r = call $m(...)` of a method reached
    through `$m = getattr(a, name)`, where `a` is a variable of the kernel (not a temporary such
    as `BlockScan(temp)`) holding a bound struct, and whose chosen overload may change its
    receiver (`_nbst_writeback` of the method's template), becomes a call of the variant that
    returns `(result, receiver)`, followed by `$r = result` and `a = receiver`. The variable is
    then assigned more than once, which lowering keeps in a stack slot, so loops and branches see
    the changed value. Const methods, temporaries and fields are left as they are.

    Non-const reference parameters of functions and methods are written back the same way: the
    variant's value also holds each reference argument after the call, assigned to the variable
    given (a literal-typed one takes the literal's type) or stored into the array element given
    (`add_to(out[i], 1)`); a temporary argument is not written. A function's variant is called
    through a global holding its `_WritebackCallee`."""
    rewrites = _nb_importlib.import_module(_NB_PACKAGE + ".core.rewrites")
    nb_ir = _nb_importlib.import_module(_NB_PACKAGE + ".core.ir")
    registry = rewrites.rewrite_registry
    if registry.__dict__.get("_nbst_writeback"):
        return

    def definition(func_ir, var):
        """The expression that defines `var`, if that is its one definition, through copies (`a.f(x
        if c else y)` takes `a.f` in one block and calls it in another, through a variable of the
        stack's that joins the branches)."""
        for _ in range(len(func_ir._definitions)):
            defs = func_ir._definitions.get(var.name, ())
            if len(defs) != 1:
                return None
            if isinstance(defs[0], nb_ir.Var):
                var = defs[0]
                continue
            return defs[0] if isinstance(defs[0], nb_ir.Expr) else None
        return None

    def method_of(func_ir, var):
        """The `getattr(a, name)` expression that defines `var`, else None."""
        found = definition(func_ir, var)
        return found if found is not None and found.op == "getattr" else None

    def writable(func_ir, typemap, var):
        """Where a reference argument `var` is written back: `("var", v)` for a variable of the
        kernel, `("item", a, i)` for an element `a[i]` of a writable array, else None (a
        temporary: a value computed in the call's arguments)."""
        if not var.name.startswith("$"):
            return ("var", var)
        found = definition(func_ir, var)
        if found is None or found.op not in ("getitem", "static_getitem"):
            return None
        index = found.index if found.op == "getitem" else found.index_var
        array = typemap.get(found.value.name)
        if index is None or not isinstance(array, types.Array) or not array.mutable:
            return None
        return ("item", found.value, index)

    def variant_of(inst, func_ir, typemap, calltypes, typingctx):
        """`(receiver variable or None, method name or None, variant template, variant signature,
        write-backs)` for a call whose values after the call are written back (`writable`, one
        per value after the result, None where there is nowhere to write), else None. A call of a
        struct value (`f(x)`, its call operator) is the method call `f.__call__(x)`."""
        if not (isinstance(inst, nb_ir.Assign) and isinstance(inst.value, nb_ir.Expr) and inst.value.op == "call"):
            return None
        call = inst.value
        sig = calltypes.get(call)
        if sig is None:
            return None
        fnty = typemap.get(call.func.name)
        receiver = attr = None
        method = method_of(func_ir, call.func)
        if method is not None and isinstance(fnty, types.BoundFunction):
            receiver, attr = method.value, method.attr
        elif _is_struct_type(fnty) and sig.recvr is not None:
            receiver, attr = call.func, "__call__"
            fnty = typingctx.resolve_getattr(fnty, attr)
        if receiver is not None:
            if not isinstance(fnty, types.BoundFunction):
                return None
            if typemap.get(receiver.name) != fnty.this or not _is_struct_type(fnty.this):
                return None
            template = fnty.template
        elif isinstance(fnty, types.Function) and len(fnty.templates) == 1:  # a bound function
            template = fnty.templates[0]
        else:
            return None
        writeback = getattr(template, "_nbst_writeback", None)
        found = None if writeback is None else writeback(sig)
        if found is None:
            return None
        variant, vsig, *rest = found
        backs = []
        for target in rest[0] if rest else ("self",):
            if target == "self":
                backs.append(None if receiver.name.startswith("$") else ("var", receiver))
            else:
                backs.append(writable(func_ir, typemap, call.args[target]) if target < len(call.args) else None)
        if not any(backs):
            return None
        return receiver, attr, variant, vsig, backs

    class WriteBackReceiver(rewrites.Rewrite):
        def __init__(self, state):
            super().__init__(state)
            self.typingctx = state.typingctx

        def match(self, func_ir, block, typemap, calltypes):
            self.func_ir, self.block, self.typemap, self.calltypes = func_ir, block, typemap, calltypes
            self.found = {}
            for inst in block.body:
                found = variant_of(inst, func_ir, typemap, calltypes, self.typingctx)
                if found is not None:
                    self.found[id(inst)] = (inst, *found)
            return bool(self.found)

        def define(self, block, name, value, ty, loc, scope):
            var = scope.redefine(name, loc)
            self.typemap[var.name] = ty
            block.append(nb_ir.Assign(value, var, loc))
            self.func_ir._definitions[var.name].append(value)
            return var

        def unliteral(self, var):
            """A variable typed as a literal (`acc = 0`, assigned once in the source) gets the
            literal's type, as it now takes other values; the typed operations that read it take
            that type too (a literal's lowering would use the literal, not the variable)."""
            literal = self.typemap.get(var.name)
            if not isinstance(literal, types.Literal):
                return
            plain = types.unliteral(literal)
            dict.__setitem__(self.typemap, var.name, plain)  # the typemap refuses a second assignment
            for blk in self.func_ir.blocks.values():
                for inst in blk.body:
                    if var.name not in {v.name for v in inst.list_vars()}:
                        continue
                    value = getattr(inst, "value", None)
                    for expr in [inst] + ([value] if isinstance(value, nb_ir.Expr) else []):
                        sig = self.calltypes.get(expr)
                        if sig is not None and literal in sig.args:
                            args = [plain if a == literal else a for a in sig.args]
                            self.calltypes[expr] = sig.replace(args=tuple(args))

        def apply(self):
            block = self.block.copy()
            block.clear()
            for inst in self.block.body:
                found = self.found.get(id(inst))
                if found is None:
                    block.append(inst)
                    continue
                inst, receiver, attr, template, sig, backs = found
                call, loc, scope = inst.value, inst.loc, inst.target.scope
                if receiver is not None:
                    # The method is taken of the variable again, where it is called: a call in its
                    # arguments that changed the variable is seen, as a C++ reference sees it.
                    callee = nb_ir.Expr.getattr(receiver, attr, loc)
                    callee_var = self.define(block, "$nbst_wb_method", callee, types.BoundFunction(template, sig.recvr), loc, scope)
                else:
                    callee = nb_ir.Global(template.key.__name__, template.key, loc)
                    callee_ty = types.Function(template)
                    callee_ty.get_call_type(self.typingctx, sig.args, {})  # records the lowering key
                    callee_var = self.define(block, "$nbst_wb_function", callee, callee_ty, loc, scope)
                new_call = nb_ir.Expr.call(callee_var, call.args, call.kws, loc, vararg=call.vararg, varkwarg=call.varkwarg)
                self.calltypes[new_call] = sig
                both = self.define(block, "$nbst_wb_result", new_call, sig.return_type, loc, scope)
                result = nb_ir.Expr.static_getitem(both, 0, None, loc)
                block.append(nb_ir.Assign(result, inst.target, loc))
                self.func_ir._definitions[inst.target.name] = [result]
                for k, back in enumerate(backs, 1):
                    if back is None:
                        continue
                    valty = sig.return_type.types[k]
                    value = self.define(block, "$nbst_wb_value", nb_ir.Expr.static_getitem(both, k, None, loc), valty, loc, scope)
                    if back[0] == "var":
                        self.unliteral(back[1])
                        block.append(nb_ir.Assign(value, back[1], loc))
                        self.func_ir._definitions[back[1].name].append(value)
                    else:  # an array element: `a[i] = value`
                        _, array, index = back
                        store = nb_ir.SetItem(array, index, value, loc)
                        self.calltypes[store] = self.typingctx.resolve_setitem(self.typemap[array.name], self.typemap[index.name], valty)
                        block.append(store)
            return block

    registry.register("after-inference")(WriteBackReceiver)
    registry._nbst_writeback = True


_register_writeback_rewrite()


class Bindings:
    """Where the rendered registration code registers bound entities.

    With no arguments, registrations go to the backend's global registries (numba-cuda's
    `cudadecl.registry` and `cudaimpl.registry`; numba-cuda-mlir's `extending.typing_registry` and
    `lowering_registry`), which every compilation sees. With explicit registries nothing is
    registered globally until `install()`, which installs both into the backend's typing and target
    contexts (and keeps installing later registrations).
    """

    def __init__(self, typing_registry=None, target_registry=None):
        if typing_registry is None or target_registry is None:
            default_typing, default_target = _default_registries()
            typing_registry = default_typing if typing_registry is None else typing_registry
            target_registry = default_target if target_registry is None else target_registry
        self.typing_registry = typing_registry
        self.target_registry = target_registry
        self.types = {}  # C++ spelling -> Numba type (bound structs and enums, registered types)
        self.alignments = {}  # C++ spelling -> alignof, where known
        self._functions = {}  # (unit, py_name) -> BoundFunction
        self._operators = {}  # op -> ConcreteTemplate
        self.enums = {}  # C++ name -> IntEnum
        self.structs = {}  # C++ name -> BoundStruct
        self._casts = set()  # (from, to) pairs whose lowering this object registered
        self._installed = False
        # The overload registered last, where it waits for its function's first use: its
        # BoundFunction and its arguments (`_overload`), so `wrap_last_lowering` can reach it.
        self._last_pending = None

    def install(self):
        """Install both registries into the backend's target (the contexts kernels use)."""
        _install(self)
        self._installed = True

    def _sync(self):
        if self._installed:
            self.install()
        else:
            _refresh(self)

    def _lower(self, key, argtys, impl):
        """Registers a lowering (the template runtime's entry to the target registry)."""
        self._last_pending = None
        for formals in _lowering_formals(argtys):
            self.target_registry.lower(key, *formals)(impl)

    def wrap_lowerings(self, fn, wrap):
        """Replaces each lowering registered for the callable `fn`, `impl`, by `wrap(impl)`; for a
        function not used yet, the lowerings of its overloads when they are registered."""
        pending = getattr(fn, "_pending", None)
        if pending is not None:
            for overload in pending:
                overload[-1].append(wrap)
            return
        functions = self.target_registry.functions
        for i, (impl, key, argtys) in enumerate(functions):
            if key is fn:
                functions[i] = (wrap(impl), key, argtys)

    def wrap_last_lowering(self, wrap):
        """Replaces the lowering of the overload registered last, `impl`, by `wrap(impl)`: at once,
        or for a function not used yet, when its overloads are registered."""
        if self._last_pending is not None:
            self._last_pending[-1].append(wrap)
            return
        _wrap_last_lowering(self, wrap)

    def _add_case(self, template, lower_key, sig, impl, cxx=None, recvr=None, call_key=None):
        """Adds overload `sig` (lowered by `impl`) to the `_CallTemplate` `template`, with the
        lowering of the calls it fits to pointer parameters (`_lower_fitted`). `call_key`: a
        second key the same lowering is found by (a struct type, whose values are called)."""
        template.cases.append(sig)
        template.impls.append(impl)
        template.cxx.append(cxx or "")
        self._last_template = template  # its last overload is the one registered last
        keys = [lower_key] + ([] if call_key is None else [call_key])
        _lower_case(self, template, keys, [] if recvr is None else [recvr], sig, impl)

    def _register_number_casts(self):
        """Type `N(x)` for every builtin number class `N` and bound struct `x`.

        The templates serve the structs of every copy of this runtime, so they are registered once
        per typing registry, whichever copy or `Bindings` comes first (the mark is on the registry).
        A copy of them in each of several installed registries is harmless: the first one that
        the typing context tries answers for all structs.
        """
        registry = self.typing_registry
        if getattr(registry, "_nbst_number_class_calls", False):
            return
        for n in sorted(types.integer_domain | types.real_domain | {types.float16}, key=str):
            key = types.NumberClass(n)
            registry.register_attr(type(f"call_{n}_class", (_NumberClassCall,), {"key": key}))
        registry._nbst_number_class_calls = True

    def _register_element_refs(self):
        """Indexing an array of an opaque struct gives `_ElementRef`, and `a[i] = v` on a bound value
        is refused (`_BoundSetItem`): registered once per registry pair (marked on the registries),
        like the number-class calls."""
        typing, target = self.typing_registry, self.target_registry
        if not getattr(typing, "_nbst_element_refs", False):
            typing.register_global(_operator.getitem)(_ElementRefGetItem)
            typing.register_global(_operator.setitem)(_BoundSetItem)
            typing.register_attr(_ElementRefAttributes)
            typing._nbst_element_refs = True
        if not getattr(target, "_nbst_element_refs", False):
            _lower_element_refs(target)
            target._nbst_element_refs = True

    def _lower_cast_once(self, fromty, toty, impl):
        """Register a cast's lowering once. One side is always this object's own struct type, so
        casts of different structs (or copies) never overlap; `impl` handles any struct."""
        if (fromty, toty) not in self._casts:
            self._casts.add((fromty, toty))
            self.target_registry.lower_cast(fromty, toty)(impl)

    def register_type(self, cxx_name, numba_type, align=None):
        """Make C++ type `cxx_name` stand for `numba_type`, whose data layout must match it;
        `align` is its C++ `alignof` where that is larger than the Numba type's own."""
        if align is not None:
            align = _check_cxx_align(cxx_name, align)
        self.types[cxx_name] = numba_type
        if align is not None:
            self.alignments[cxx_name] = align
            _CXX_ALIGN[numba_type] = max(align, _CXX_ALIGN.get(numba_type, 1))

    # -- structs --------------------------------------------------------------------------

    def struct(self, *, cxx_name, py_name, size, align, parent=types.Type, model="primitive", fields=()):
        """Create the Numba type for C++ struct `cxx_name`; return its constructor object."""
        _check_align(size, align)
        if model not in ("primitive", "struct"):
            raise ValueError(f"model must be 'primitive' or 'struct', not {model!r}")
        cls = type(py_name, (_StructTypeMixin, parent), {"__module__": __name__})
        nbty = cls(name=py_name)
        nbty._nbst_size, nbty._nbst_align = size, align
        nbty._nbst_fields = [tuple(f) for f in fields]
        nbty._nbst_implicit = {}  # param type -> (unit, shim, src, params) of a converting ctor
        nbty._nbst_conversions = {}  # target type -> (unit, shim, src) of a conversion operator
        _register_struct_model(cls, model)
        struct = BoundStruct(py_name, cxx_name, nbty)
        public = {name: ty for name, ty, _off, pub in nbty._nbst_fields if pub and model == "struct"}
        nbty._nbst_opaque = not public
        self._register_element_refs()  # and the refusal of `a[i] = v`

        class StructAttributes(AttributeTemplate):
            key = nbty

            def generic_resolve(self, typ, attr):
                if attr in public:
                    return public[attr]
                if attr in struct._tpl_methods:
                    return types.BoundFunction(struct._tpl_methods[attr], typ)
                if attr in struct._methods:
                    return types.BoundFunction(struct._methods[attr], typ)
                return None

        self.typing_registry.register_attr(StructAttributes)
        if public:
            self.target_registry.lower_getattr_generic(nbty)(_field_getter(public))
        self.types[cxx_name], self.alignments[cxx_name] = nbty, align
        self.structs[cxx_name] = struct
        self._sync()
        return struct

    def constructor(self, struct, *, unit, shim, src, params, implicit=False, cxx=None):
        """A constructor overload: `shim(S *ret, P0 *a0, ...)` constructs into `ret`. A non-const
        reference parameter takes the caller's storage only (a pointer, an array or a slice): the
        object may keep its address (`Tracker(int &t)`, `cuda::atomic_ref`), which a copy's would
        not outlive."""
        forms = _ref_forms(_check_params(params))
        params = forms[-1]
        nbty = struct._numba_type
        template = struct._ctor_template
        self._add_case(template, struct, signature(nbty, *_arg_types(params)), _call_impl(unit, shim, src, nbty, params), cxx)
        if len(forms) > 1:
            template.notes[len(template.cases) - 1] = (
                "a non-const reference parameter, which the object may keep, takes the caller's storage only: "
                "an array, a slice or a pointer, not a value"
            )
        if implicit and len(params) == 1 and params[0][1] == "in":
            ((pty, _mode),) = params
            nbty._nbst_implicit[pty] = (unit, shim, src, params)
            if _is_builtin_number(pty):  # also from any builtin number that converts to pty
                self._lower_cast_once(types.Number, nbty, _cast_to_struct)
                self._lower_cast_once(types.Boolean, nbty, _cast_to_struct)
            else:
                self._lower_cast_once(pty, nbty, _cast_to_struct)
        self._sync()

    def conversion(self, struct, *, unit, shim, src, to):
        """`operator T()`: `shim(T *ret, S *self)`, used by casts such as `float64(x)`."""
        nbty = struct._numba_type
        nbty._nbst_conversions[to] = (unit, shim, src)
        if _is_builtin_number(to):  # `float32(x)` goes through `operator double()` too
            self._lower_cast_once(nbty, types.Number, _cast_from_struct)
            self._lower_cast_once(nbty, types.Boolean, _cast_from_struct)
            _lower_number_call(self, nbty)
            self._register_number_casts()
        else:
            self._lower_cast_once(nbty, to, _cast_from_struct)
        self._sync()

    def static_method(self, struct, *, unit, name, shim, src, ret, params, cxx=None):
        """A static member function overload, called as `S.name(...)` in kernels: `shim(R *ret,
        P0 *a0, ...)` like a free function's."""
        fn = struct._statics.get(name)
        if fn is None:
            fn = self.add_static(struct, name, BoundFunction(f"{struct.__name__}.{name}", self))
        return self._overload(fn, unit, shim, src, ret, params, cxx)

    def add_static(self, struct, name, fn):
        """Makes `fn` (anything with a `_numba_type_`) what `S.name` and `x.name` stand for in
        kernels; returns it."""
        previous = struct._statics.get(name)
        struct._statics[name] = fn
        if not name.startswith("_") and not hasattr(BoundStruct, name) and vars(struct).get(name, previous) is previous:
            setattr(struct, name, fn)  # for Python code; kernels resolve it through typing
        if not getattr(struct, "_nbst_lower_static_on_value", None):
            self._register_statics(struct)
        struct._nbst_lower_static_on_value(name)
        return fn

    def _register_statics(self, struct):
        """`S.name` in a kernel: typed as the static function, whose value is a dummy."""
        classty = struct._numba_type_
        statics = struct._statics

        class StaticAttributes(AttributeTemplate):
            key = classty

            def generic_resolve(self, typ, attr):
                fn = statics.get(attr)
                return None if fn is None else fn._numba_type_

        self.typing_registry.register_attr(StaticAttributes)

        self.target_registry.lower_getattr_generic(classty)(_lower_dummy_attr)

        # `x.name(...)` on a value calls the static member function too, as in C++; methods and
        # fields of that name come first.
        nbty, methods = struct._numba_type, struct._methods

        class StaticOnValueAttributes(AttributeTemplate):
            key = nbty

            def generic_resolve(self, typ, attr):
                fn = statics.get(attr)
                return None if fn is None or attr in methods else fn._numba_type_

        self.typing_registry.register_attr(StaticOnValueAttributes)
        self._nbst_static_on_value = getattr(self, "_nbst_static_on_value", set())

        def lower_static_on_value(name):
            if (nbty, name) not in self._nbst_static_on_value:
                self._nbst_static_on_value.add((nbty, name))
                self.target_registry.lower_getattr(nbty, name)(_lower_dummy_attr)

        struct._nbst_lower_static_on_value = lower_static_on_value

    def method(self, struct, *, unit, name, shim, src, ret, params, cxx=None, mutates=False):
        """`x.name(...)`: `shim(R *ret, S *self, P0 *a0, ...)`, no `ret` pointer when void.

        `mutates`: the method may change its receiver (a non-const C++ method). Its call on a
        variable (`x.name(...)`) then writes the receiver back into the variable after the call,
        through a variant that returns `(result, receiver)` (`_register_writeback_rewrite`)."""
        nbty = struct._numba_type
        template = struct._methods.get(name)
        if template is None:
            template = struct._methods[name] = _call_template(f"{struct.__name__}.{name}", (nbty, name))
        params = _check_params(params)
        refs = _ref_positions(params)
        for k, form in enumerate(_ref_forms(params)):
            # The value form writes back its receiver (if non-const) and its reference arguments.
            self._method_case(struct, template, unit, name, shim, src, ret, form, cxx, mutates, refs if k == 0 else ())
        self._sync()

    def _method_case(self, struct, template, unit, name, shim, src, ret, params, cxx, mutates, refs):
        nbty = struct._numba_type
        argtys = _arg_types(params)
        restype = _return_type(ret, params)
        self_params = [(nbty, "in")] + params
        self._add_case(
            template,
            template.key,
            signature(restype, *argtys, recvr=nbty),
            _call_impl(unit, shim, src, ret, self_params),
            cxx,
            recvr=nbty,
            # `x(...)` (the call operator): Numba lowers a call of a value by the value's type.
            call_key=nbty if name == "__call__" else None,
        )
        if mutates or refs:
            self._add_writeback_case(
                template,
                lambda: (nbty, name, "&"),
                f"{struct.__name__}.{name}&",
                _call_impl(unit, shim, src, ret, self_params, writeback=((0,) if mutates else ()) + tuple(i + 1 for i in refs)),
                restype,
                argtys,
                ([nbty] if mutates else []) + [params[i][0] for i in refs],
                (("self",) if mutates else ()) + _arg_positions(params, refs),
                cxx,
                recvr=nbty,
            )

    # -- functions and operators ----------------------------------------------------------

    def function(self, *, unit, py_name, shim, src, ret, params, cxx=None):
        """A free function overload; returns the callable, one per `py_name` and shim unit: overloads
        from one unit accumulate, while same-named functions of two headers stay apart."""
        fn = self._functions.get((unit, py_name))
        if fn is None:
            fn = self._functions[(unit, py_name)] = BoundFunction(py_name, self)
        self._overload(fn, unit, shim, src, ret, params, cxx)
        # A function template of the same name is one callable with these overloads (it tries
        # them first); that callable is what the name stands for.
        templates = getattr(self, "_nbst_templates", None)
        merged = None if templates is None else templates.template_of(unit, py_name)
        if merged is not None:
            merged._plain = fn
            return merged
        return fn

    def _overload(self, fn, unit, shim, src, ret, params, cxx=None):
        """Adds the overload `shim(R *ret, P0 *a0, ...)` to the BoundFunction `fn`; returns `fn`.
        Registered at once if `fn` was used already, else when it is."""
        params = _check_params(params)
        if fn._pending is not None:
            overload = (unit, shim, src, ret, params, cxx, [])
            fn._pending.append(overload)
            self._last_pending = overload
            return fn
        self._register_overload(fn, unit, shim, src, ret, params, cxx)
        self._sync()
        return fn

    def _register_overload(self, fn, unit, shim, src, ret, params, cxx, wraps=()):
        """Registers an overload's typing and lowering; `wraps` (`wrap_last_lowering`) wrap its
        lowering, first to last."""
        refs = _ref_positions(params)
        for k, form in enumerate(_ref_forms(params)):
            impl = _call_impl(unit, shim, src, ret, form)
            for wrap in wraps:
                impl = wrap(impl)
            restype = _return_type(ret, form)
            self._add_case(fn._template, fn, signature(restype, *_arg_types(form)), impl, cxx)
            if k == 0 and refs:  # the value form writes its reference arguments back
                impl = _call_impl(unit, shim, src, ret, form, writeback=refs)
                for wrap in wraps:
                    impl = wrap(impl)
                self._add_writeback_case(
                    fn._template,
                    lambda: _WritebackCallee(fn),  # called through a global holding it
                    f"{fn.__name__}&",
                    impl,
                    restype,
                    _arg_types(form),
                    [form[i][0] for i in refs],
                    _arg_positions(form, refs),
                    cxx,
                )

    def _add_writeback_case(self, template, make_key, name, impl, restype, argtys, after, targets, cxx, recvr=None):
        """Adds to the write-back variant of `template` (made with the key `make_key()` on first
        use) the case of the overload added last: its value is `(result, *after)`, `targets` says
        what each value after the result is written back to (`_register_writeback_rewrite`)."""
        variant = template.writeback_template
        if variant is None:
            variant = template.writeback_template = _call_template(name, make_key())
        template.writeback[len(template.cases) - 1] = len(variant.cases)
        variant.targets[len(variant.cases)] = targets
        sig = signature(_writeback_type(restype, *after), *argtys, recvr=recvr)
        self._add_case(variant, variant.key, sig, impl, cxx, recvr=recvr)

    def operator(self, *, unit, op, shim, src, ret, params, cxx=None):
        """An operator overload (`op` from the `operator` module).

        In-place operators (`operator.iadd`...) take the left operand by reference: the shim mutates
        `*a0`, which holds a copy of the left operand, and the call's value is that updated copy.
        """
        params = _values_only(_check_params(params))
        template = self._operators.get(op)
        if template is None:
            template = _call_template(f"op_{op.__name__}", op, _OperatorTemplate)
            self._operators[op] = template
            self.typing_registry.register_global(op, types.Function(template))
        argtys = _arg_types(params)
        inplace = op in _INPLACE
        restype = params[0][0] if inplace else _return_type(ret, params)
        if inplace:
            if _is_struct_type(restype):
                # Numba lowers `a += b` on immutable types with the `+` implementation.
                restype.mutable = True
            impl = _inplace_impl(unit, shim, src, ret, params)
        else:
            impl = _call_impl(unit, shim, src, ret, params)
        self._add_case(template, op, signature(restype, *argtys), impl, cxx)
        self._sync()

    # -- enums ----------------------------------------------------------------------------

    def enum(self, *, cxx_name, py_name, members, underlying=types.int32):
        """An `IntEnum` for C++ enum `cxx_name`; its members are Numba values and arguments.

        `underlying` (a Numba integer type, or a C++ spelling such as "unsigned char") is what
        shims read and write through enum pointers. With `cxx_name=None` the enum is no C++ type
        yet (a class template's enum, registered under each instantiation's spelling).
        """
        if isinstance(underlying, str):
            underlying = self.types.get(underlying) or _SCALAR_TYPES[underlying]
        cls = _enum.IntEnum(py_name, [(name, int(value)) for name, value in members])
        member_ty = typeof(next(iter(cls))) if len(cls) else types.IntEnumMember(cls, types.int64)
        member_ty._nbst_enum_storage = underlying
        _ENUM_STORAGE[member_ty] = underlying
        cls._nbst_member_type = member_ty
        if cxx_name is not None:
            self.types[cxx_name] = member_ty
            self.enums[cxx_name] = cls
        return cls

    def member_type(self, struct, name, value):
        """`S.name` for a type declared in struct `S` (an enum: `S.Mode.A`), in Python code and in
        kernels, where it is typed as the value itself."""
        if not hasattr(struct, name):
            setattr(struct, name, value)
        members = struct.__dict__.setdefault("_nbst_member_types", {})
        first = not members
        members[name] = value
        if not first:
            return
        classty = struct._numba_type_

        class MemberTypes(AttributeTemplate):
            key = classty

            def generic_resolve(self, typ, attr):
                found = members.get(attr)
                return None if found is None else typeof(found)

        self.typing_registry.register_attr(MemberTypes)

        self.target_registry.lower_getattr_generic(classty)(_lower_dummy_attr)
        self._sync()
