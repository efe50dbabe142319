"""Numbast runtime: registers bound CUDA C++ entities with Numba-CUDA.

The code that Numbast renders from a header calls this module, and only this module (see "The runtime
contract" in docs/ARCHITECTURE.md). Dynamic mode imports it; static mode pastes this whole text at the
top of each generated module, so it imports nothing but numba, numba-cuda, llvmlite and the standard
library, and never `numbast` itself.

Every bound callable is an `extern "C" __device__ void` shim, `shim(R *ret, P0 *a0, ...)`, whose C++
source lives in a `ShimUnit`: one CUDA C++ translation unit (the header include followed by every
shim used so far) that NVRTC compiles to LTO-IR when a kernel is linked. Lowering a call declares the
shim as `void (i8*, i8*, ...)`, passes pointers to stack copies of the arguments, loads the result,
and adds the unit to the kernel's code library, so the kernel needs no `link=`.

Several copies of this module can live in one process (each static module carries one, dynamic mode
imports `numbast._runtime`), and they all register into numba-cuda's process-wide contexts, often
into the same global registries. So a copy never tests a type with `isinstance` against its own
classes: bound types are recognised by their `_nbst_*` attributes (`_is_struct_type`,
`_is_bound_type`), whichever copy made them; registrations that are the same for every struct (the
number-class call templates) are made once per registry, marked on the registry itself, and serve
the structs of every copy; and `Bindings.install` keeps numba-cuda's own lowering registry first in
the target context, where numba-cuda puts the lowering of every `@intrinsic` it types.
"""

import enum as _enum
import io
import operator as _operator
from typing import ClassVar as _ClassVar

from llvmlite import binding as _llvm
from llvmlite import ir
from numba.core.errors import TypingError as _NumbaTypingError
from numba.cuda import cgutils, types
from numba.cuda.core.errors import TypingError as _TypingError
from numba.cuda.core.imputils import Registry as TargetRegistry
from numba.cuda.datamodel import models as _models
from numba.cuda.models import register_model
from numba.cuda.typeconv import Conversion
from numba.cuda.typing import signature
from numba.cuda.typing.builtins import (
    NumberClassAttribute as _NumbaNumberClassAttribute,
)
from numba.cuda.typing.templates import (
    AbstractTemplate,
    AttributeTemplate,
    ConcreteTemplate,
)
from numba.cuda.typing.templates import Registry as TypingRegistry
from numba.cuda.typing.typeof import typeof
from numba.cuda.vector_types import VectorType as _VectorType

if "_NcUnitSource" not in globals():  # dynamic mode (static mode pastes the NVRTC cache's text above)
    import importlib as _importlib

    _NcUnitSource = _importlib.import_module("._kernel_cache", __package__ or "numbast")._NcUnitSource
    _nc_cached = _importlib.import_module("._nvrtc_cache", __package__ or "numbast")._nc_cached

__all__ = ["Bindings", "ShimUnit", "TargetRegistry", "TypingRegistry"]  # registries: for a separate pair

# In-place operators: the shim mutates `*a0`, and the Numba result is that updated copy.
_INPLACE = {
    getattr(_operator, "i" + n)
    for n in ("add", "sub", "mul", "truediv", "floordiv", "mod", "pow", "matmul", "lshift", "rshift", "and", "or", "xor")
}
_MODES = ("in", "ptr", "out")
_CXX_INTS = {
    "bool": types.boolean,
    "char": types.int8,
    "signed char": types.int8,
    "unsigned char": types.uint8,
    "short": types.int16,
    "unsigned short": types.uint16,
    "int": types.int32,
    "unsigned int": types.uint32,
    "long": types.int64,
    "unsigned long": types.uint64,
    "long long": types.int64,
    "unsigned long long": types.uint64,
}
# libNVVM's data layout for 64-bit NVPTX: sizes and alignments of LLVM types as the device sees them.
_NVPTX_LAYOUT = (
    "e-p:64:64:64-i1:8:8-i8:8:8-i16:16:16-i32:32:32-i64:64:64-i128:128:128-"
    "f32:32:32-f64:64:64-v16:16:16-v32:32:32-v64:64:64-v128:128:128-n16:32:64"
)
_target_data = None
# IntEnumMember type -> integer type of the C++ enum's underlying storage. The storage is also set on
# the member type as `_nbst_enum_storage`, which every copy of the runtime reads (`_enum_storage`);
# this dict holds the (weakly interned) member types alive.
_ENUM_STORAGE = {}
_CXX_ALIGN = {}  # Numba type -> C++ alignof, where it exceeds the LLVM type's (registered types)


# ----------------------------------------------------------------------------- shim units


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
        self.code = _NcUnitSource(self.stream, name)  # compiled through the NVRTC disk cache

    def add(self, shim_name, src):
        """Append the source of shim `shim_name`, unless it is already there."""
        self.stream.write_with_key(shim_name, "\n" + src.rstrip() + "\n")

    def source(self):
        return self.stream.getvalue()

    def links(self):
        return [self.code]

    def __repr__(self):
        return f"ShimUnit({self.name!r}, {len(self.stream._keys)} shims)"


# ----------------------------------------------------------------------------- data models


def _round_up(n, align):
    return (n + align - 1) // align * align


# The largest alignment an LLVM type has in NVPTX's data layout (i128, v128). A struct aligned
# more (`alignas(32)`) gets this alignment in data models, with its size intact; stack slots for
# shims get the full C++ alignment (`_slot`).
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


def _bits_type(size, align):
    """A Numba type whose data is exactly `size` bytes with NVPTX ABI alignment `align` (at most
    `_MAX_LLVM_ALIGN`)."""
    align = min(align, _MAX_LLVM_ALIGN)
    word = types.Integer(f"uint{align * 8}")
    return word if size == align else types.UniTuple(word, size // align)


class _OpaqueBitsModel(_models.StructModel):
    """`model="primitive"`: the struct's bytes, with its size and alignment, as the one member of
    an LLVM struct (a struct model, so that local and shared arrays of it are allowed)."""

    def __init__(self, dmm, fe_type):
        bits = _bits_type(fe_type._nbst_size, fe_type._nbst_align)
        super().__init__(dmm, fe_type, [("_bits", bits)])


class _FieldsModel(_models.StructModel):
    """`model="struct"`: an LLVM struct of the fields at their C++ offsets.

    Byte-array members fill gaps and tail padding, and a leading zero-length array raises the
    alignment, so that the LLVM size and alignment equal the C++ ones (shims write `sizeof(S)` bytes;
    alignments above `_MAX_LLVM_ALIGN` are left to `_slot`). Those members are named `<align>`,
    `<pad OFFSET>` and `<tail>`, which no C++ field name can be.
    """

    def __init__(self, dmm, fe_type):
        global _target_data
        if _target_data is None:
            _target_data = _llvm.create_target_data(_NVPTX_LAYOUT)
        size, align = fe_type._nbst_size, fe_type._nbst_align
        members, end, natural = [], 0, 1
        for name, ty, offset, _public in fe_type._nbst_fields:
            ty = _stored_type(ty)  # an enum field is stored as its underlying integer
            lty = dmm.lookup(ty).get_data_type()
            a = lty.get_abi_alignment(_target_data)
            if offset < _round_up(end, a):
                raise ValueError(f"{fe_type}: field {name!r} at offset {offset} overlaps")
            if offset > _round_up(end, a):
                members.append((f"<pad {offset}>", types.UniTuple(types.uint8, offset - end)))
            members.append((name, ty))
            end, natural = offset + lty.get_abi_size(_target_data), max(natural, a)
        llvm_align = min(align, _MAX_LLVM_ALIGN)
        if llvm_align > natural:
            word = types.Integer(f"uint{llvm_align * 8}")
            members.insert(0, ("<align>", types.UniTuple(word, 0)))
        elif align < natural:
            raise ValueError(f"{fe_type}: fields need alignment {natural}, C++ says {align}")
        if end > size:
            raise ValueError(f"{fe_type}: fields end at {end}, past sizeof {size}")
        if _round_up(end, max(llvm_align, natural)) < size:
            members.append(("<tail>", types.UniTuple(types.uint8, size - end)))
        super().__init__(dmm, fe_type, members)


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


register_model(_ElementRef)(_models.PointerModel)


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


class _ElementRefAttributes(AttributeTemplate):
    key = _ElementRef

    def generic_resolve(self, typ, attr):
        return self.context.resolve_getattr(typ.dtype, attr)  # methods: the receiver is cast to a copy


def _lower_element_ref(context, builder, sig, args):
    aryty, idxty = sig.args
    ary = context.make_array(aryty)(context, builder, args[0])
    idx = context.cast(builder, args[1], idxty, types.intp)
    return cgutils.get_item_pointer(context, builder, aryty, ary, [idx], wraparound=idxty.signed)


def _cast_element_ref(context, builder, fromty, toty, val):
    return context.unpack_value(builder, fromty.dtype, val)


class _StructClass(types.Function, types.DTypeSpec):
    """Numba type of a bound struct's Python object in a kernel: calling it runs the constructor
    overloads, and it is a dtype (`cuda.local.array(4, myfloat16)`)."""

    def __init__(self, template, instance_type):
        self.instance_type = instance_type
        super().__init__(template)

    @property
    def dtype(self):
        return self.instance_type


register_model(_StructClass)(_models.OpaqueModel)


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


def _pointer_value(context, builder, argty, paramty, value):
    """The LLVM value of argument `value` (Numba type `argty`) passed to a pointer parameter of
    Numba type `paramty`: an array's data pointer, or the pointer, cast to the parameter's type."""
    if isinstance(argty, types.Array):
        value = context.make_array(argty)(context, builder, value).data
    return builder.bitcast(value, context.get_value_type(paramty))


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
    raise_errors = True

    def apply(self, args, kws):
        try:
            sig = super().apply(args, kws)
        except (_TypingError, _NumbaTypingError):  # numba-cuda raises numba's own here
            sig, failed = None, True
        else:
            failed = False
        pointers = any(isinstance(types.unliteral(a), (types.Array, types.CPointer)) or a == types.voidptr for a in args)
        if sig is not None or kws or not pointers:
            if failed and self.raise_errors and self.cases and not kws:
                return self._fit(args)  # raises the error listing each overload
            return sig
        return self._fit(args)

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
            raise _TypingError("\n".join(lines))
        _cost, k, fitted = best
        case = self.cases[k]
        recvr = getattr(case, "recvr", None)
        self.fitted[((recvr,) if recvr is not None else ()) + tuple(fitted)] = k
        return signature(case.return_type, *fitted, recvr=recvr)

    @classmethod
    def describe(cls):
        key = cls.key
        if isinstance(key, tuple):
            return f"{key[0]}.{key[1]}"
        return getattr(key, "__name__", str(key))


def _call_template(name, key, base=None):
    """A fresh `_CallTemplate` subclass for one callable (its own cases and tables)."""
    attrs = {"key": key, "cases": [], "cxx": [], "impls": [], "fitted": {}, "fitted_lowered": set()}
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


def _lower_fitted(template):
    """The lowering of calls that `_CallTemplate` fitted (arrays and pointers for pointer
    parameters): each such argument is converted to the pointer the overload takes."""

    def impl(context, builder, sig, args):
        k = template.fitted[tuple(sig.args)]
        case, overload_impl = template.cases[k], template.impls[k]
        recvr = getattr(case, "recvr", None)
        want = ([recvr] if recvr is not None else []) + list(case.args)
        values = [
            _pointer_value(context, builder, have, p, v) if have != p and (isinstance(p, types.CPointer) or p == types.voidptr) else v
            for have, p, v in zip(sig.args, want, args)
        ]
        return overload_impl(context, builder, signature(case.return_type, *want), values)

    return impl


class _OperatorTemplate(_CallTemplate):
    """Operator overloads apply, as in C++, only when an operand is a bound struct or enum: they
    must not capture arithmetic on builtin numbers through converting constructors. (Numba tries
    every template of an operator, so no fit is None here, not an error.)"""

    raise_errors = False

    def apply(self, args, kws):
        if not any(_is_bound_type(types.unliteral(a)) for a in args):
            return None
        return super().apply(args, kws)


class BoundStruct:
    """What `Bindings.struct` returns: the constructor in kernels, and a stand-in for the type
    (`_numba_type` is the Numba type; `s[:]` gives array types like a Numba type does)."""

    def __init__(self, py_name, cxx_name, numba_type):
        self.__name__ = self.__qualname__ = py_name
        self.cxx_name = cxx_name
        self._numba_type = numba_type
        self._ctor_template = _call_template(f"{py_name}_ctor", self)
        self._numba_type_ = _StructClass(self._ctor_template, numba_type)  # what typeof() sees
        self._methods = {}  # name -> method template (a ConcreteTemplate keyed by (type, name))
        self._statics = {}  # name -> BoundFunction of a static member function (`S.name(...)`)
        # name -> typing template of member function templates (and same-named methods), which
        # the template runtime types by deduction; `__call__` for the call operator
        self._tpl_methods = {}

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
    def _numba_type_(self):
        return self._make()[1]

    def __call__(self, *args, **kwargs):
        raise TypeError(f"{self.__name__} can only be called inside a CUDA kernel")

    def __repr__(self):
        return f"<bound function {self.__name__}>"


# ----------------------------------------------------------------------------- lowering helpers


def _check_params(params):
    params = [(ty, mode) for ty, mode in params]
    for ty, mode in params:
        if mode not in _MODES:
            raise ValueError(f"parameter mode must be one of {_MODES}, not {mode!r}")
        if mode == "ptr" and not isinstance(ty, types.CPointer):
            raise TypeError(f"a 'ptr' parameter's type must be a CPointer, not {ty}")
    return params


def _arg_types(params):
    return [ty for ty, mode in params if mode != "out"]


def _return_type(ret, params):
    outs = [ty for ty, mode in params if mode == "out"]
    if not outs:
        return types.none if ret is None else ret
    return types.BaseTuple.from_types(([] if ret is None else [ret]) + outs)


def _cxx_alignment(ty):
    """The C++ `alignof` of the type a Numba type stands for, where it can exceed the alignment of
    its LLVM data type: CUDA vector types (`float4`, `double2`: 16), bound structs, registered
    types. None when the LLVM alignment is right."""
    if ty in _CXX_ALIGN:
        return _CXX_ALIGN[ty]
    align = getattr(ty, "_nbst_align", None)
    if align is not None:
        return align
    if isinstance(ty, _VectorType):
        # vector_types.h: 2- and 4-element vectors are aligned to their size (at most 16 bytes);
        # 1- and 3-element vectors to their element.
        elem, n = ty.base_type.bitwidth // 8, ty.num_elements
        return min(16, elem * n) if n in (2, 4) else elem
    return None


def _slot(context, builder, ty):
    """A stack slot for a value of `ty` that a shim reads or writes through a `T *`: as aligned
    as C++ requires of `T`."""
    slot = cgutils.alloca_once(builder, context.get_data_type(_stored_type(ty)))
    align = _cxx_alignment(ty)
    if align is not None and align > 1:
        slot.align = align
    return slot


def _store(context, builder, ty, value, ptr):
    storage = _enum_storage(ty)
    if storage is not None:  # enum values are Numba integers of the member type's dtype
        value, ty = context.cast(builder, value, ty.dtype, storage), storage
    context.pack_value(builder, ty, value, ptr)


def _load(context, builder, ty, ptr):
    storage = _enum_storage(ty)
    if storage is None:
        return context.unpack_value(builder, ty, ptr)
    return context.cast(builder, context.unpack_value(builder, storage, ptr), storage, ty.dtype)


def _call_shim(context, builder, unit, shim, src, ret, params, args):
    """Emit `shim(&ret, &a0, ...)`. Returns (ret value or None, the pointer passed per param)."""
    unit.add(shim, src)
    context.active_code_library.add_linking_file(unit.code)
    args = iter(args)
    ret_ptr = None if ret is None else _slot(context, builder, ret)
    ptrs = []
    for ty, mode in params:
        if mode == "ptr":
            ptrs.append(next(args))
            continue
        ptrs.append(_slot(context, builder, ty))
        if mode == "in":
            _store(context, builder, ty, next(args), ptrs[-1])
    actual = ([] if ret_ptr is None else [ret_ptr]) + ptrs
    fnty = ir.FunctionType(ir.VoidType(), [cgutils.voidptr_t] * len(actual))
    fn = cgutils.get_or_insert_function(builder.module, fnty, shim)
    builder.call(fn, [builder.bitcast(p, cgutils.voidptr_t) for p in actual])
    return (None if ret is None else _load(context, builder, ret, ret_ptr)), ptrs


def _make_result(context, builder, ret, params, retval, ptrs):
    """The Numba value of a call: `ret` alone, or a tuple of (ret unless void, each out value)."""
    outs = [_load(context, builder, ty, p) for (ty, mode), p in zip(params, ptrs) if mode == "out"]
    if outs:
        values = ([] if ret is None else [retval]) + outs
        return context.make_tuple(builder, _return_type(ret, params), values)
    return context.get_dummy_value() if ret is None else retval


def _call_impl(unit, shim, src, ret, params):
    """A lowering implementation `(context, builder, sig, args)` that calls one shim."""

    def impl(context, builder, sig, args):
        retval, ptrs = _call_shim(context, builder, unit, shim, src, ret, params, args)
        return _make_result(context, builder, ret, params, retval, ptrs)

    return impl


def _cast_to_struct(context, builder, fromty, toty, value):
    """Lowering of an implicit conversion to a bound struct (any copy's) through a converting
    constructor: from the constructor's parameter type, or a builtin number that converts to it."""
    p = _pick_implicit(toty, context.typing_context, fromty)
    if p is None:
        raise NotImplementedError(f"no implicit conversion from {fromty} to {toty}")
    unit, shim, src, params = toty._nbst_implicit[p]
    value = context.cast(builder, value, fromty, p)
    return _call_shim(context, builder, unit, shim, src, toty, params, [value])[0]


def _cast_from_struct(context, builder, fromty, toty, value):
    """Lowering of a cast from a bound struct (any copy's) through a conversion operator: to its
    target type, or to a builtin number that the operator's builtin number converts to."""
    target = _numeric_conversion(context.typing_context, fromty, toty)
    if target is None:
        raise NotImplementedError(f"no conversion from {fromty} to {toty}")
    unit, shim, src = fromty._nbst_conversions[target]
    out = _call_shim(context, builder, unit, shim, src, target, [(fromty, "in")], [value])[0]
    return context.cast(builder, out, target, toty)


# ----------------------------------------------------------------------------- bindings


class Bindings:
    """Where the rendered registration code registers bound entities.

    With no arguments, registrations go to numba-cuda's global CUDA registries (`cudadecl.registry`
    for typing, `cudaimpl.registry` for lowering), which every compilation reloads. With explicit
    registries nothing is registered globally until `install()`, which installs both into the CUDA
    target's typing and target contexts (and keeps installing later registrations).
    """

    def __init__(self, typing_registry=None, target_registry=None):
        if typing_registry is None:
            from numba.cuda.cudadecl import registry as typing_registry
        if target_registry is None:
            from numba.cuda.cudaimpl import registry as target_registry
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
        """Install both registries into numba-cuda's CUDA target (the contexts kernels use)."""
        from numba.cuda.descriptor import cuda_target

        target = cuda_target.target_context
        if not self._installed:
            # numba-cuda lowers each `@intrinsic` it types into the first registry its target
            # context installed, and reloads only its own registries on refresh. A separate
            # registry installed into a fresh context would come first and swallow the lowering of
            # every intrinsic typed later (anyone's), so numba-cuda's registries are loaded first.
            target.refresh()
        cuda_target.typing_context.install_registry(self.typing_registry)
        target.install_registry(self.target_registry)
        self._installed = True

    def _sync(self):
        if self._installed:
            self.install()

    def _lower(self, key, argtys, impl):
        self._last_pending = None
        self.target_registry.lower(key, *argtys)(impl)

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
        impl, key, argtys = self.target_registry.functions[-1]
        self.target_registry.functions[-1] = (wrap(impl), key, argtys)

    def _add_case(self, template, lower_key, sig, impl, cxx=None, recvr=None, call_key=None):
        """Adds overload `sig` (lowered by `impl`) to the `_CallTemplate` `template`, with the
        lowering of the calls it fits to pointer parameters (`_lower_fitted`). `call_key`: a
        second key the same lowering is found by (a struct type, whose values are called)."""
        template.cases.append(sig)
        template.impls.append(impl)
        template.cxx.append(cxx or "")
        prefix = [] if recvr is None else [recvr]
        keys = [lower_key] + ([] if call_key is None else [call_key])
        for k in keys:
            self._lower(k, prefix + list(sig.args), impl)
        for formals in _fitted_formals(sig.args):
            key = tuple(prefix) + formals
            if key not in template.fitted_lowered:
                template.fitted_lowered.add(key)
                for k in keys:
                    self._lower(k, list(key), _lower_fitted(template))

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
        """Indexing an array of an opaque struct gives `_ElementRef`: registered once per registry
        pair (marked on the registries), like the number-class calls."""
        typing, target = self.typing_registry, self.target_registry
        if not getattr(typing, "_nbst_element_refs", False):
            typing.register_global(_operator.getitem)(_ElementRefGetItem)
            typing.register_attr(_ElementRefAttributes)
            typing._nbst_element_refs = True
        if not getattr(target, "_nbst_element_refs", False):
            target.lower(_ElementRefGetItem, types.Array, types.Integer)(_lower_element_ref)
            target.lower_cast(_ElementRef, types.Type)(_cast_element_ref)
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
        register_model(cls)(_FieldsModel if model == "struct" else _OpaqueBitsModel)
        struct = BoundStruct(py_name, cxx_name, nbty)
        public = {name: ty for name, ty, _off, pub in nbty._nbst_fields if pub and model == "struct"}
        nbty._nbst_opaque = not public
        if not public:
            self._register_element_refs()

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

            def get_field(context, builder, typ, value, attr):
                field = context.data_model_manager[typ].get(builder, value, attr)
                storage = _enum_storage(public[attr])
                if storage is not None:  # enum fields hold the underlying integer
                    return context.cast(builder, field, storage, public[attr].dtype)
                return field

            self.target_registry.lower_getattr_generic(nbty)(get_field)
        self.types[cxx_name], self.alignments[cxx_name] = nbty, align
        self.structs[cxx_name] = struct
        self._sync()
        return struct

    def constructor(self, struct, *, unit, shim, src, params, implicit=False, cxx=None):
        """A constructor overload: `shim(S *ret, P0 *a0, ...)` constructs into `ret`."""
        params = _check_params(params)
        nbty = struct._numba_type
        argtys = _arg_types(params)
        self._add_case(struct._ctor_template, struct, signature(nbty, *argtys), _call_impl(unit, shim, src, nbty, params), cxx)
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

        def get_static(context, builder, typ, value, attr):
            return context.get_dummy_value()

        self.target_registry.lower_getattr_generic(classty)(get_static)

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
                self.target_registry.lower_getattr(nbty, name)(lambda context, builder, typ, value: context.get_dummy_value())

        struct._nbst_lower_static_on_value = lower_static_on_value

    def method(self, struct, *, unit, name, shim, src, ret, params, cxx=None):
        """`x.name(...)`: `shim(R *ret, S *self, P0 *a0, ...)`, no `ret` pointer when void."""
        params = _check_params(params)
        nbty = struct._numba_type
        template = struct._methods.get(name)
        if template is None:
            template = struct._methods[name] = _call_template(f"{struct.__name__}.{name}", (nbty, name))
        argtys = _arg_types(params)
        self._add_case(
            template,
            template.key,
            signature(_return_type(ret, params), *argtys, recvr=nbty),
            _call_impl(unit, shim, src, ret, [(nbty, "in")] + params),
            cxx,
            recvr=nbty,
            # `x(...)` (the call operator): Numba lowers a call of a value by the value's type.
            call_key=nbty if name == "__call__" else None,
        )
        self._sync()

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
        argtys = _arg_types(params)
        impl = _call_impl(unit, shim, src, ret, params)
        for wrap in wraps:
            impl = wrap(impl)
        self._add_case(fn._template, fn, signature(_return_type(ret, params), *argtys), impl, cxx)

    def operator(self, *, unit, op, shim, src, ret, params, cxx=None):
        """An operator overload (`op` from the `operator` module).

        In-place operators (`operator.iadd`...) take the left operand by reference: the shim mutates
        `*a0`, which holds a copy of the left operand, and the call's value is that updated copy.
        """
        params = _check_params(params)
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

            def impl(context, builder, sig, args):
                ptrs = _call_shim(context, builder, unit, shim, src, ret, params, args)[1]
                return _load(context, builder, params[0][0], ptrs[0])
        else:
            impl = _call_impl(unit, shim, src, ret, params)
        self._add_case(template, op, signature(restype, *argtys), impl, cxx)
        self._sync()

    # -- enums ----------------------------------------------------------------------------

    def enum(self, *, cxx_name, py_name, members, underlying=types.int32):
        """An `IntEnum` for C++ enum `cxx_name`; its members are Numba values and arguments.

        `underlying` (a Numba integer type, or a C++ spelling such as "unsigned char") is what
        shims read and write through enum pointers.
        """
        if isinstance(underlying, str):
            underlying = self.types.get(underlying) or _CXX_INTS[underlying]
        cls = _enum.IntEnum(py_name, [(name, int(value)) for name, value in members])
        member_ty = typeof(next(iter(cls))) if len(cls) else types.IntEnumMember(cls, types.int64)
        member_ty._nbst_enum_storage = underlying
        _ENUM_STORAGE[member_ty] = underlying
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

        def get_member(context, builder, typ, value, attr):
            return context.get_dummy_value()

        self.target_registry.lower_getattr_generic(classty)(get_member)
        self._sync()
