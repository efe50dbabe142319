"""Numbast runtime for numba-cuda-mlir: lowering and data models of bound CUDA C++ entities (MLIR).

The same contract as the numba-cuda runtime (`numbast/_runtime.py`, "The runtime contract" in
docs/ARCHITECTURE.md), with the same typing: the shared typing layer (`numbast/_typing.py`) runs in
this namespace first, on the copy of Numba that numba-cuda-mlir carries
(`numba_cuda_mlir.numba_cuda`). What follows is what only numba-cuda-mlir needs. Static mode
(`MLIR Backend: true`) pastes the typing text and this text into a module, which then imports
numba-cuda-mlir and the standard library only.

- A lowering is `impl(lower, target, args, kws)` on numba-cuda-mlir's lowerer, found by the call's
  actual argument types, not by the typed signature. So each bound callable registers one lowering
  per key and arity (`_lower_case`), which looks up the signature its call was typed with
  (`_typed_signature`) and converts each argument to the chosen overload's parameter type.
- A shim call allocates a stack slot per parameter (as aligned as C++ requires), declares the
  shim as `void (ptr, ptr, ...)`, calls it and loads the result; the shim unit (a CUDA source)
  joins the kernel's link through `link_external_item`, so `link=` is optional.
- A bound struct's data is its bytes (`_BytesModel`, one integer of the C++ size, so that
  numba-cuda-mlir's arrays, which hold builtin element types only, can hold it), for both data models: CUDA vector types are MLIR vectors, whose
  layout is not C++'s (`vector<3xf32>` takes 16 bytes, `float3` 12), so fields are read at their
  C++ offsets rather than through an MLIR struct of the field types.
"""

_NB_PACKAGE = "numba_cuda_mlir.numba_cuda"

if "_CallTemplate" not in globals():  # dynamic mode (static mode pastes the typing text above this one)
    import os as _nb_os

    _nb_typing_path = _nb_os.path.join(_nb_os.path.dirname(_nb_os.path.dirname(_nb_os.path.abspath(__file__))), "_typing.py")
    with open(_nb_typing_path, encoding="utf-8") as _nb_file:
        exec(compile(_nb_file.read(), _nb_typing_path, "exec"), globals())

from numba_cuda_mlir import models as _mlir_models
from numba_cuda_mlir._mlir import ir as _mlir_ir
from numba_cuda_mlir._mlir.dialects import func as _mlir_func
from numba_cuda_mlir._mlir.dialects import llvm as _mlir_llvm
from numba_cuda_mlir.lowering_utilities import convert as _mlir_convert
from numba_cuda_mlir.lowering_utilities import get_or_insert_function as _mlir_get_or_insert_function
from numba_cuda_mlir.lowering_utilities import i64_of as _mlir_i64_of
from numba_cuda_mlir.lowering_utilities import memref_data_pointer as _mlir_data_pointer
from numba_cuda_mlir.numba_cuda.core import ir as _nb_ir
from numba_cuda_mlir.numba_cuda.cudadrv.linkable_code import CUSource as _MlirCUSource
from numba_cuda_mlir.type_defs.vector_types import VectorType as _MlirVectorType

_TYPING_ERRORS = (_TypingError,)


# ----------------------------------------------------------------------------- backend hooks (see _typing.py)


def _unit_code(stream, name, preceding):
    """A shim unit's linkable CUDA source (its text is read when a kernel is linked; compiled as
    written, with its headers' definitions: this backend has no NVRTC hook to split it)."""
    return _MlirCUSource(stream, name=name)


def _default_registries():
    from numba_cuda_mlir.extending import lowering_registry, typing_registry

    return typing_registry, lowering_registry


def _install(bindings):
    from numba_cuda_mlir.descriptor import mlir_target

    mlir_target.typing_context.install_registry(bindings.typing_registry)
    mlir_target.target_context.install_registry(bindings.target_registry)


def _refresh(bindings):
    """After registering into numba-cuda-mlir's global registries: its contexts reload them, once
    they exist (a context made later loads every registration; making one here would cost the
    first bind what the first compile pays anyway)."""
    from numba_cuda_mlir.descriptor import mlir_target
    from numba_cuda_mlir.extending import refresh_registries

    if mlir_target._typingctx_initialized or mlir_target._targetctx_initialized:
        refresh_registries(include_uninitialized_cuda=False)


def _register_struct_model(cls, model):
    _mlir_models.register_model(cls)(_BytesModel)


def _lower_case(bindings, template, keys, prefix, sig, impl):
    """One lowering per key and arity, dispatching on the typed signature (`_dispatch`). An
    operator's key is every type's (`operator.add`), so its lowering is registered for exact
    argument types only: the overload's, and those of each call typing resolved to it
    (`_operator_typed`), so that numba-cuda-mlir's own operators never match more closely."""
    template._nbst_bindings, template._nbst_keys = bindings, keys
    if issubclass(template, _OperatorTemplate):
        _register_dispatch(template, [tuple(sig.args)])
    else:
        _register_dispatch(template, [(types.Any,) * (len(prefix) + len(sig.args))])


def _wrap_last_lowering(bindings, wrap):
    """`wrap` the lowering of the overload added last (`impl(lower, target, args)`, which the
    key's shared lowering `_dispatch` calls)."""
    template = bindings._last_template
    template.impls[-1] = wrap(template.impls[-1])


def _lowering_cc(args):
    """The compute capability a lowering `impl(lower, ...)` compiles for: the lowerer's target
    chip (`sm_90a` -> (9, 0)), or None."""
    chip = getattr(args[0], "targetoptions", {}).get("chip") if args else None
    digits = "".join(c for c in (chip or "").removeprefix("sm_") if c.isdigit())
    return (int(digits[:-1]), int(digits[-1])) if len(digits) >= 2 else None


def _operator_typed(template, args):
    """A call of operator `template` typed with argument types `args` (converted by the overload):
    its lowering is registered for those types too, as the lowerer sees them."""
    exact = tuple(types.unliteral(a) for a in args)
    # A constant operand (`a << 2`) is typed as its integer type but reaches the lowerer as a
    # literal, whose value no registration can foresee: its class stands for it.
    literal = tuple(types.Literal if isinstance(a, (types.Integer, types.Float, types.Boolean)) else a for a in exact)
    formals = [tuple(args), exact, literal]
    if _register_dispatch(template, formals):
        template._nbst_bindings._sync()


def _register_dispatch(template, formals_list):
    """Registers `_dispatch(template)` under each key for each formals; whether any was new."""
    added = False
    for key in template._nbst_keys:
        for formals in formals_list:
            if (key, formals) not in template.fitted_lowered:
                template.fitted_lowered.add((key, formals))
                template._nbst_bindings.target_registry.lower(key, *formals)(_dispatch(template))
                added = True
    return added


def _lower_number_call(bindings, nbty):
    """`float64(x)` on struct type `nbty` (numba-cuda-mlir lowers a number class call as a
    conversion of MLIR values, not through casts): through its conversion operator."""

    def impl(lower, target, args, kws):
        (arg,) = args
        toty = lower.get_numba_type(target)
        lower.store_var(target, _cast_from_struct(lower.context, lower, nbty, toty, lower.load_var(arg)))

    bindings.target_registry.lower(types.NumberClass, nbty)(impl)


def _inplace_impl(unit, shim, src, ret, params):
    """In-place operator: the call's value is the updated copy of the left operand."""

    def impl(lower, target, args):
        _retval, ptrs = _call_shim(lower, unit, shim, src, ret, params, _shim_values(lower, args, params))
        lower.store_var(target, _load(lower, params[0][0], ptrs[0]))

    return impl


def _call_impl(unit, shim, src, ret, params):
    """The lowering of one overload: `impl(lower, target, args)`, `args` the call's variables."""

    def impl(lower, target, args):
        retval, ptrs = _call_shim(lower, unit, shim, src, ret, params, _shim_values(lower, args, params))
        lower.store_var(target, _make_result(lower, ret, params, retval, ptrs))

    return impl


def _field_getter(public):
    """`x.field` on a struct model: read at the field's C++ offset in the struct's bytes."""

    def get_field(context, lower, target, value, attr):
        if attr not in public:  # a method (`x.m` before the call): the receiver, as numba-cuda-mlir keeps it
            lower.store_var(target, lower.load_var(value))
            return
        typ = lower.get_numba_type(value)
        offset = next(off for name, _ty, off, _pub in typ._nbst_fields if name == attr)
        slot = _slot(lower, typ)
        _mlir_llvm.store(lower.load_var(value), slot)
        lower.store_var(target, _load(lower, public[attr], _byte_offset(slot, offset)))

    return get_field


def _lower_dummy_attr(context, lower, target, value, attr=None):
    """An attribute whose value is its type alone (`S.static_fn`, `S.Inner`)."""
    lower.store_var(target, None)


def _lower_element_refs(target):
    """`a[i]` of an opaque struct as a reference has no MLIR lowering yet: such arrays keep
    numba-cuda-mlir's own indexing (a copy of the element)."""


# ----------------------------------------------------------------------------- data models


class _BytesModel(_mlir_models.PrimitiveModel):
    """A bound struct's data: its bytes, as one integer of `sizeof` bytes (`i96` for 12 bytes).

    An integer, not an LLVM struct, because numba-cuda-mlir's arrays (memrefs) hold builtin
    element types only: so `cuda.local.array(n, S)` and `cuda.shared.array(1, TempStorage)` are
    arrays of these integers. Where the integer's own alignment is below C++'s, stack slots
    (`_slot`) and shared arrays (`_lower_struct_shared_array`) are aligned explicitly."""

    def __init__(self, dmm, fe_type):
        super().__init__(dmm, fe_type, _mlir_ir.IntegerType.get_signless(fe_type._nbst_size * 8))


_mlir_models.register_model(_StructClass)(_mlir_models.OpaqueModel)


def _lower_struct_array(original):
    """`cuda.local.array(n, S)`, `cuda.shared.array(n, S)` of a bound struct: numba-cuda-mlir's
    own lowering of an array of `S`'s integers, aligned as C++ aligns `S` (numba-cuda-mlir's
    default is 8; a `TempStorage` often needs 16) unless the call gives an alignment."""

    def impl(lower, target, args, kws):
        kws = list(kws or ())
        given = dict(kws)
        if len(args) < 3 and "alignment" not in given and "alignas" not in given:
            dtype = args[1] if len(args) > 1 else given["dtype"]
            kws.append(("alignment", max(8, lower.get_numba_type(dtype).instance_type._nbst_align)))
        original(lower, target, args, kws)

    return impl


def _register_struct_arrays():
    """Registers `_lower_struct_array` once per runtime copy (each has its own `_StructClass`;
    marked on numba-cuda-mlir's registry): the dtype's type `_StructClass` is more specific than
    the `DTypeSpec` numba-cuda-mlir's own lowerings take, so these are chosen for bound structs."""
    from numba_cuda_mlir import cuda as _mlir_cuda
    from numba_cuda_mlir.extending import lowering_registry
    from numba_cuda_mlir.lowering import cuda as _mlir_cuda_lowering

    done = lowering_registry.__dict__.setdefault("_nbst_struct_arrays", set())
    if _StructClass in done:
        return
    arrays = [
        (_mlir_cuda.local.array, _mlir_cuda_lowering.cuda_local_array),
        (_mlir_cuda.shared.array, _mlir_cuda_lowering.cuda_shared_memory),
    ]
    for fn, original in arrays:
        for shape in (types.Integer, types.UniTuple):
            lowering_registry.lower(fn, shape, _StructClass)(_lower_struct_array(original))
    done.add(_StructClass)


_register_struct_arrays()
_mlir_models.register_model(_ElementRef)(_mlir_models.CPointerModel)


# ----------------------------------------------------------------------------- lowering


def _typed_signature(lower, target):
    """The signature the call assigned to `target` was typed with (the lowerer picks a lowering
    by the arguments' own types; the typed signature says which overload typing chose)."""
    table = getattr(lower, "_nbst_typed", None)
    if table is None:
        table = {}
        calltypes = lower.fndesc.calltypes
        for block in lower.blocks.values():
            for inst in block.body:
                if isinstance(inst, _nb_ir.Assign) and isinstance(inst.value, _nb_ir.Expr):
                    sig = calltypes.get(inst.value)
                    if sig is not None:
                        table[inst.target.name] = sig
        lower._nbst_typed = table
    return table[target.name]


def _case_args(case):
    recvr = getattr(case, "recvr", None)
    return ((recvr,) if recvr is not None else ()) + tuple(case.args)


def _dispatch(template):
    """The lowering of every call of `template`'s callable: the overload typing chose (exact,
    or fitted to pointer parameters), lowered with the call's variables."""

    def impl(lower, target, args, kws):
        have = _case_args(_typed_signature(lower, target))
        k = next((i for i, case in enumerate(template.cases) if _case_args(case) == have), None)
        if k is None:
            k = template.fitted[have]
        template.impls[k](lower, target, list(args))

    return impl


def _cxx_alignment(ty):
    """The C++ `alignof` of the type a Numba type stands for, where it can exceed its storage's:
    bound structs, registered types, CUDA vector types (2 and 4 lanes: their size, at most 16)."""
    if ty in _CXX_ALIGN:
        return _CXX_ALIGN[ty]
    align = getattr(ty, "_nbst_align", None)
    if align is not None:
        return align
    if isinstance(ty, _MlirVectorType) and getattr(ty.dtype, "bitwidth", None):
        elem, lanes = ty.dtype.bitwidth // 8, ty.length
        return min(16, elem * lanes) if lanes in (2, 4) else elem
    return None


def _cxx_size(ty):
    """`sizeof` of the C++ type a Numba type stands for, for the types whose MLIR storage is not
    one value (a C++ array, `T[N]`, is a tuple here: its elements are read one by one)."""
    if isinstance(ty, types.UniTuple):
        return ty.count * _cxx_size(ty.dtype)
    size = getattr(ty, "_nbst_size", None)
    if size is not None:
        return size
    ty = _stored_type(ty)
    if isinstance(ty, (types.CPointer, types.RawPointer)):
        return 8
    return max(1, getattr(ty, "bitwidth", 8) // 8)


def _slot(lower, ty):
    """A stack slot for a value of `ty` that a shim reads or writes through a `T *`."""
    if isinstance(ty, types.UniTuple):
        storage = _mlir_ir.Type.parse(f"!llvm.array<{_cxx_size(ty)} x i8>")
    else:
        storage = lower.get_storage_type(_stored_type(ty))
    align = _cxx_alignment(ty) or (_cxx_alignment(ty.dtype) if isinstance(ty, types.UniTuple) else None)
    with lower.alloca_insertion_point():
        return _mlir_ir.Value(
            _mlir_llvm.alloca(_mlir_llvm.PointerType.get(), _mlir_i64_of(1), storage, alignment=align if align and align > 1 else None)
        )


def _byte_offset(ptr, offset):
    if offset == 0:
        return ptr
    i8 = _mlir_ir.IntegerType.get_signless(8)
    return _mlir_llvm.getelementptr(_mlir_llvm.PointerType.get(), ptr, [], [offset], i8, None)


def _store(lower, ty, value, ptr):
    if isinstance(ty, types.UniTuple):  # a C++ array: element by element
        step = _cxx_size(ty.dtype)
        for i, v in enumerate(value):
            _store(lower, ty.dtype, v, _byte_offset(ptr, i * step))
        return
    storage = _enum_storage(ty)
    if storage is not None:  # enum values are integers of the member type's dtype
        value, ty = _mlir_convert(value, lower.get_value_type(storage), signed=storage.signed), storage
    _mlir_llvm.store(lower.as_storage(ty, value), ptr)


def _load(lower, ty, ptr):
    if isinstance(ty, types.UniTuple):
        step = _cxx_size(ty.dtype)
        return tuple(_load(lower, ty.dtype, _byte_offset(ptr, i * step)) for i in range(ty.count))
    stored = _stored_type(ty)
    value = lower.from_storage(stored, _mlir_llvm.load(lower.get_storage_type(stored), ptr))
    if stored is not ty:
        value = _mlir_convert(value, lower.get_value_type(ty), signed=stored.signed)
    return value


def _pointer_value(lower, argty, value):
    """An argument for a pointer parameter: an array's data pointer, or the pointer itself."""
    return _mlir_data_pointer(value) if isinstance(argty, types.Array) else value


def _shim_values(lower, args, params):
    """The MLIR values of the call's variables, each converted to its parameter's type."""
    values, args = [], iter(args)
    for ty, mode in params:
        if mode == "out":
            continue
        var = next(args)
        have = lower.get_numba_type(var)
        value = lower.load_var(var)
        if isinstance(ty, types.CPointer) or ty == types.voidptr:
            value = _pointer_value(lower, types.unliteral(have), value)
        elif have != ty:
            value = lower.lower_cast(have, ty, value)
        values.append(value)
    return values


def _call_shim(lower, unit, shim, src, ret, params, values):
    """Emit `shim(&ret, &a0, ...)`. Returns (ret value or None, the pointer passed per param)."""
    unit.add(shim, src)
    lower.link_external_item(unit.code)
    values = iter(values)
    ret_ptr = None if ret is None else _slot(lower, ret)
    ptrs = []
    for ty, mode in params:
        if mode == "ptr":
            ptrs.append(next(values))
            continue
        ptrs.append(_slot(lower, ty))
        if mode == "in":
            _store(lower, ty, next(values), ptrs[-1])
    actual = ([] if ret_ptr is None else [ret_ptr]) + ptrs
    ptr = _mlir_llvm.PointerType.get()
    fnty = _mlir_ir.FunctionType.get(inputs=[ptr] * len(actual), results=[])
    callee = _mlir_get_or_insert_function(shim, fnty, lower.mlir_gpu_module)
    _mlir_func.call(result=[], callee=callee.name.value, operands_=actual)
    return (None if ret is None else _load(lower, ret, ret_ptr)), ptrs


def _make_result(lower, ret, params, retval, ptrs):
    """The value of a call: `ret` alone, or a tuple of (ret unless void, each out value)."""
    outs = [_load(lower, ty, p) for (ty, mode), p in zip(params, ptrs) if mode == "out"]
    if outs:
        return tuple(([] if ret is None else [retval]) + outs)
    return retval


def _cast_to_struct(context, lower, fromty, toty, value):
    """Lowering of an implicit conversion to a bound struct through a converting constructor."""
    p, unit, shim, src, params = _implicit_ctor(context.typing_context, fromty, toty)
    if fromty != p:
        value = lower.lower_cast(fromty, p, value)
    return _call_shim(lower, unit, shim, src, toty, params, [value])[0]


def _cast_from_struct(context, lower, fromty, toty, value):
    """Lowering of a cast from a bound struct through a conversion operator."""
    target, unit, shim, src = _conversion_operator(context.typing_context, fromty, toty)
    out = _call_shim(lower, unit, shim, src, target, [(fromty, "in")], [value])[0]
    return out if target == toty else lower.lower_cast(target, toty, out)
