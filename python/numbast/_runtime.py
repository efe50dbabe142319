"""Numbast runtime for numba-cuda: lowering and data models of bound CUDA C++ entities (LLVM IR).

The code that Numbast renders from a header calls this module, and only this module (see "The runtime
contract" in docs/ARCHITECTURE.md). Its typing is the shared typing layer (`_typing.py`, run in this
namespace first); what follows is what only numba-cuda needs: data models over LLVM types, and
the lowering of calls, casts and attributes with llvmlite. The numba-cuda-mlir backend has the same
parts over MLIR (`numbast/mlir/_runtime.py`). Dynamic mode imports it; static mode pastes the typing
text and this text at the top of each generated module, so it imports nothing but numba,
numba-cuda, llvmlite and the standard library, and never `numbast` itself.

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

_NB_PACKAGE = "numba.cuda"

if "_CallTemplate" not in globals():  # dynamic mode (static mode pastes the typing text above this one)
    import os as _nb_os

    _nb_typing_path = _nb_os.path.join(_nb_os.path.dirname(_nb_os.path.abspath(__file__)), "_typing.py")
    with open(_nb_typing_path, encoding="utf-8") as _nb_file:
        exec(compile(_nb_file.read(), _nb_typing_path, "exec"), globals())

from llvmlite import binding as _llvm
from llvmlite import ir
from numba.core.errors import TypingError as _NumbaTypingError
from numba.cuda import cgutils
from numba.cuda.datamodel import models as _models
from numba.cuda.models import register_model
from numba.cuda.vector_types import VectorType as _VectorType

if "_NcUnitSource" not in globals():  # dynamic mode (static mode pastes the NVRTC cache's text above)
    _NcUnitSource = _nb_importlib.import_module("._kernel_cache", __package__ or "numbast")._NcUnitSource
    _nc_cached = _nb_importlib.import_module("._nvrtc_cache", __package__ or "numbast")._nc_cached
    _nc_numba_include_dirs = _nb_importlib.import_module("._kernel_cache", __package__ or "numbast")._nc_numba_include_dirs

_TYPING_ERRORS = (_TypingError, _NumbaTypingError)


# ----------------------------------------------------------------------------- backend hooks (see _typing.py)


def _unit_code(stream, name, preceding):
    """A shim unit's linkable CUDA source, compiled through the NVRTC disk cache (and split from
    its headers' external definitions: `_unit_split.py`)."""
    return _NcUnitSource(stream, name, preceding)


def _probe_nvrtc():
    """The NVRTC module numba-cuda compiles shim units with and its include path, in its order
    (the template runtime's NVRTC probe)."""
    from numba.cuda.cudadrv import nvrtc

    return nvrtc, _nc_numba_include_dirs(nvrtc)


def _default_registries():
    from numba.cuda.cudadecl import registry as typing_registry
    from numba.cuda.cudaimpl import registry as target_registry

    return typing_registry, target_registry


def _install(bindings):
    from numba.cuda.descriptor import cuda_target

    target = cuda_target.target_context
    if not bindings._installed:
        # numba-cuda lowers each `@intrinsic` it types into the first registry its target
        # context installed, and reloads only its own registries on refresh. A separate
        # registry installed into a fresh context would come first and swallow the lowering of
        # every intrinsic typed later (anyone's), so numba-cuda's registries are loaded first.
        target.refresh()
    cuda_target.typing_context.install_registry(bindings.typing_registry)
    target.install_registry(bindings.target_registry)


def _refresh(bindings):
    """Nothing: numba-cuda reloads its global registries at every compilation."""


def _register_struct_model(cls, model):
    register_model(cls)(_FieldsModel if model == "struct" else _OpaqueBitsModel)


def _lower_case(bindings, template, keys, prefix, sig, impl):
    """Registers the lowering of overload `sig` under each key, with the lowering of the calls
    `_CallTemplate` fits to its pointer parameters (`_lower_fitted`)."""
    for k in keys:
        bindings.target_registry.lower(k, *prefix, *sig.args)(impl)
    for formals in _fitted_formals(sig.args):
        key = tuple(prefix) + formals
        if key not in template.fitted_lowered:
            template.fitted_lowered.add(key)
            for k in keys:
                bindings.target_registry.lower(k, *key)(_lower_fitted(template))


def _wrap_last_lowering(bindings, wrap):
    """`wrap` the lowering registered last (an overload's own registration)."""
    impl, key, argtys = bindings.target_registry.functions[-1]
    bindings.target_registry.functions[-1] = (wrap(impl), key, argtys)


def _mark_cooperative(args):
    """The kernel that lowering `impl(context, builder, sig, args)` lowers a call into needs a
    cooperative launch."""
    args[0].active_code_library.use_cooperative = True


def _lowering_cc(args):
    """The compute capability a lowering `impl(*args)` compiles for (None if unknown)."""
    from numba.cuda.core import targetconfig

    cc = getattr(targetconfig.ConfigStack.top_or_none(), "compute_capability", None)
    return tuple(cc[:2]) if cc else None


def _lowering_formals(argtys):
    """The formals a lowering of the typed arguments `argtys` is registered for (numba-cuda finds
    a lowering by the typed signature)."""
    return [list(argtys)]


def _operator_typed(template, args):
    """Nothing: an operator's lowering is registered for each overload's own signature."""


def _lower_number_call(bindings, nbty):
    """Nothing: numba-cuda lowers `float64(x)` as a cast, which `_cast_from_struct` lowers."""


def _inplace_impl(unit, shim, src, ret, params):
    """In-place operator: the call's value is the updated copy of the left operand."""

    def impl(context, builder, sig, args):
        ptrs = _call_shim(context, builder, unit, shim, src, ret, params, args)[1]
        return _load(context, builder, params[0][0], ptrs[0])

    return impl


def _field_getter(public):
    """`x.field` on a struct model: the LLVM struct member (an enum field holds its integer)."""

    def get_field(context, builder, typ, value, attr):
        field = context.data_model_manager[typ].get(builder, value, attr)
        storage = _enum_storage(public[attr])
        if storage is not None:  # enum fields hold the underlying integer
            return context.cast(builder, field, storage, public[attr].dtype)
        return field

    return get_field


def _lower_dummy_attr(context, builder, typ, value, attr=None):
    """An attribute whose value is its type alone (`S.static_fn`, `S.Inner`)."""
    return context.get_dummy_value()


def _lower_element_refs(target):
    target.lower(_ElementRefGetItem, types.Array, types.Integer)(_lower_element_ref)
    target.lower_cast(_ElementRef, types.Type)(_cast_element_ref)


# ----------------------------------------------------------------------------- data models and lowering


_NVPTX_LAYOUT = (
    "e-p:64:64:64-i1:8:8-i8:8:8-i16:16:16-i32:32:32-i64:64:64-i128:128:128-"
    "f32:32:32-f64:64:64-v16:16:16-v32:32:32-v64:64:64-v128:128:128-n16:32:64"
)
_target_data = None


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


register_model(_ElementRef)(_models.PointerModel)


def _lower_element_ref(context, builder, sig, args):
    aryty, idxty = sig.args
    ary = context.make_array(aryty)(context, builder, args[0])
    idx = context.cast(builder, args[1], idxty, types.intp)
    return cgutils.get_item_pointer(context, builder, aryty, ary, [idx], wraparound=idxty.signed)


def _cast_element_ref(context, builder, fromty, toty, val):
    return context.unpack_value(builder, fromty.dtype, val)


register_model(_StructClass)(_models.OpaqueModel)


def _pointer_value(context, builder, argty, paramty, value):
    """The LLVM value of argument `value` (Numba type `argty`) passed to a pointer parameter of
    Numba type `paramty`: an array's data pointer, or the pointer, cast to the parameter's type."""
    if isinstance(argty, types.Array):
        value = context.make_array(argty)(context, builder, value).data
    return builder.bitcast(value, context.get_value_type(paramty))


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
    for linked in unit.code.linking_files():
        context.active_code_library.add_linking_file(linked)
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


def _call_impl(unit, shim, src, ret, params, writeback=()):
    """A lowering implementation `(context, builder, sig, args)` that calls one shim; with
    `writeback` (indices into `params`: the receiver, reference parameters), the call's value is
    `(result, *those parameters as the shim left them)`."""

    def impl(context, builder, sig, args):
        retval, ptrs = _call_shim(context, builder, unit, shim, src, ret, params, args)
        result = _make_result(context, builder, ret, params, retval, ptrs)
        if writeback:
            after = [_load(context, builder, params[i][0], ptrs[i]) for i in writeback]
            return context.make_tuple(builder, sig.return_type, [result, *after])
        return result

    return impl


def _cast_to_struct(context, builder, fromty, toty, value):
    """Lowering of an implicit conversion to a bound struct through a converting constructor."""
    p, unit, shim, src, params = _implicit_ctor(context.typing_context, fromty, toty)
    value = context.cast(builder, value, fromty, p)
    return _call_shim(context, builder, unit, shim, src, toty, params, [value])[0]


def _cast_from_struct(context, builder, fromty, toty, value):
    """Lowering of a cast from a bound struct through a conversion operator."""
    target, unit, shim, src = _conversion_operator(context.typing_context, fromty, toty)
    out = _call_shim(context, builder, unit, shim, src, target, [(fromty, "in")], [value])[0]
    return context.cast(builder, out, target, toty)


# ----------------------------------------------------------------------------- template lowering (see _templates.py and its modules)


def _template_device_cc():
    """The current device's compute capability, or None without a GPU."""
    from numba import cuda

    return tuple(cuda.get_current_device().compute_capability) if cuda.is_available() else None


def _template_compile_user_op(py_func, args, symbol, cc, fastmath):
    """(LTO-IR, return type) of Python device function `py_func` for argument types `args`,
    compiled with the C ABI under the name `symbol` for compute capability `cc`."""
    from numba import cuda

    return cuda.compile(py_func, args, device=True, abi="c", abi_info={"abi_name": symbol}, output="ltoir", cc=cc,
                        fastmath=fastmath)  # fmt: skip


def _template_link_code(context, builder, code):
    """Adds linkable `code` to the link of the kernel being lowered."""
    context.active_code_library.add_linking_file(code)


def _template_lowering(impl):
    """A template lowering `impl(context, builder, sig, args)` is numba-cuda's own form."""
    return impl


def _template_getattr_lowering(impl):
    """An attribute lowering `impl(context, builder, typ, value, attr)` is numba-cuda's own form."""
    return impl


def _template_dummy_value(context):
    return context.get_dummy_value()


def _register_opaque_model(cls):
    register_model(cls)(_models.OpaqueModel)


def _template_data_pointer(context, builder, aryty, value):
    """The data pointer of an array argument that a template parameter takes as a pointer."""
    return context.make_array(aryty)(context, builder, value).data


def _template_call_shim(context, builder, call, values, writeback_type=None):
    """Lowers a template instantiation's call (`_template_shims.TypedCall`) with the shim arguments `values`: a
    void callable with one output returns that output alone. With `writeback_type` (a call that
    writes back its receiver or reference arguments), the value is `(result, *those after the
    call)` of that type (`TypedCall.writeback_indices`)."""
    ret = call.resolved.ret
    retval, ptrs = _call_shim(context, builder, call.unit, call.shim, call.src, ret, call.params, values)
    outs = [(ty, p) for (ty, mode), p in zip(call.params, ptrs) if mode == "out"]
    if ret is None and len(outs) == 1:
        result = _load(context, builder, *outs[0])
    else:
        result = _make_result(context, builder, ret, call.params, retval, ptrs)
    if writeback_type is None:
        return result
    after = [_load(context, builder, call.params[i][0], ptrs[i]) for i in call.writeback_indices]
    return context.make_tuple(builder, writeback_type, [result, *after])


def _template_lower_plain(context, builder, plain, sig, args):
    """A call that a non-template function of a function template's name took."""
    return context.get_function(plain, sig)(builder, args)


def _template_field_at(context, builder, typ, value, fty, offset):
    """Field of type `fty` at byte `offset` of a class template instance's bytes."""
    slot = _slot(context, builder, typ)
    _store(context, builder, typ, value, slot)
    raw = builder.gep(builder.bitcast(slot, cgutils.voidptr_t), [ir.Constant(ir.IntType(64), offset)])
    ptr = builder.bitcast(raw, context.get_data_type(_ENUM_STORAGE.get(fty, fty)).as_pointer())
    return _load(context, builder, fty, ptr)
