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
  joins the kernel's link through `link_external_item`, so `link=` is optional. When the linker
  compiles it, NVRTC's answer comes from the NVRTC disk cache (`_nvrtc_cache.py`), as on
  numba-cuda: `numba_cuda_mlir`'s NVRTC `compile` is wrapped for shim units.
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
from numba_cuda_mlir._mlir.dialects import arith as _mlir_arith
from numba_cuda_mlir._mlir.dialects import func as _mlir_func
from numba_cuda_mlir._mlir.dialects import llvm as _mlir_llvm
from numba_cuda_mlir._mlir.dialects import memref as _mlir_memref
from numba_cuda_mlir.lowering_utilities import convert as _mlir_convert
from numba_cuda_mlir.lowering_utilities import get_or_insert_function as _mlir_get_or_insert_function
from numba_cuda_mlir.lowering_utilities import i64_of as _mlir_i64_of
from numba_cuda_mlir.lowering_utilities import index_of as _mlir_index_of
from numba_cuda_mlir.lowering_utilities import llvm_ptr_add_bytes as _mlir_llvm_ptr_add_bytes
from numba_cuda_mlir.lowering_utilities import memref_data_pointer as _mlir_data_pointer
from numba_cuda_mlir.lowering_utilities import memref_to_llvm_ptr as _mlir_memref_to_llvm_ptr
from numba_cuda_mlir.numba_cuda.core import ir as _nb_ir
from numba_cuda_mlir.numba_cuda.cudadrv.linkable_code import CUSource as _MlirCUSource
from numba_cuda_mlir.type_defs.vector_types import VectorType as _MlirVectorType

if "_nc_hook_nvrtc" not in globals():  # dynamic mode (static mode pastes the NVRTC cache's text above)
    _nc_module = _nb_importlib.import_module("numbast._nvrtc_cache")
    _nc_os, _nc_cached = _nc_module._nc_os, _nc_module._nc_cached
    _nc_hook_nvrtc, _nc_units = _nc_module._nc_hook_nvrtc, _nc_module._nc_units

_TYPING_ERRORS = (_TypingError,)


# ----------------------------------------------------------------------------- backend hooks (see _typing.py)


def _mlir_nvrtc_include_dirs(nvrtc):
    """The include path numba-cuda-mlir's `nvrtc.compile` gives NVRTC, in its order (its headers
    for this NVRTC's major version, the CUDA headers, CCCL's, its memory management, the
    configured extra paths)."""
    from numba_cuda_mlir.memory_management.nrt import get_include
    from numba_cuda_mlir.numba_cuda import config
    from numba_cuda_mlir.numba_cuda.cuda_paths import get_cuda_paths

    base = _nc_os.path.dirname(_nc_os.path.dirname(_nc_os.path.abspath(nvrtc.__file__)))
    dirs = [_nc_os.path.join(base, "include", str(nvrtc._get_nvrtc_version()[0])), get_cuda_paths()["include_dir"].info]
    cccl = nvrtc.pathfinder.locate_nvidia_header_directory("cccl")
    if cccl is not None:
        dirs.append(cccl.abs_path)
    dirs.append(get_include())
    extra = getattr(config, "CUDA_NVRTC_EXTRA_SEARCH_PATHS", "") or ""
    return [d for d in dirs + extra.split(":") if d]


def _probe_nvrtc():
    """The NVRTC module numba-cuda-mlir compiles shim units with and its include path, in its
    order (the template runtime's NVRTC probe; no numba-cuda in this process)."""
    from numba_cuda_mlir.numba_cuda.cudadrv import nvrtc

    return nvrtc, _mlir_nvrtc_include_dirs(nvrtc)


def _unit_code(stream, name, preceding):
    """A shim unit's linkable CUDA source (its text is read when a kernel is linked; compiled as
    written, with its headers' definitions: this backend does not split units). A `CUSource`
    itself, not a subclass: numba-cuda-mlir's link plan recognises CUDA sources by their class
    name (and compiles them to LTO-IR). The NVRTC disk cache learns of it when a lowering first
    adds it to a link (`_cached_unit`)."""
    return _MlirCUSource(stream, name=name)


def _cached_unit(code):
    """`code` (a shim unit's), compiled through the NVRTC disk cache when numba-cuda-mlir's linker
    compiles it: the cache's hook on numba-cuda-mlir's NVRTC, installed once, answers for the
    names registered with it. Done at the first lowering that links the unit, when
    numba-cuda-mlir's driver is imported anyway (binding does not import it)."""
    if not getattr(code, "_nbst_cached", False):
        from numba_cuda_mlir.numba_cuda.cudadrv import nvrtc
        from numba_cuda_mlir.numba_cuda.cudadrv.driver import ObjectCode  # cuda.core's, as numba-cuda-mlir imports it

        _nc_hook_nvrtc(nvrtc, ObjectCode, _mlir_nvrtc_include_dirs)
        _nc_units(nvrtc)[code.name] = None
        code._nbst_cached = True
    return code


def _default_registries():
    from numba_cuda_mlir.extending import lowering_registry, typing_registry

    return typing_registry, lowering_registry


def _install(bindings):
    """Makes the registries of `bindings` visible to numba-cuda-mlir's contexts. Its global
    registries are loaded when the contexts are made, so for those a refresh is enough (`_refresh`);
    separate registries are installed, into contexts made first: a registry installed into a
    context that numba-cuda-mlir has not initialized yet leaves it without its own builtins
    (`operator.setitem` would not be typed)."""
    from numba_cuda_mlir.descriptor import mlir_target

    if (bindings.typing_registry, bindings.target_registry) == _default_registries():
        _refresh(bindings)
        return
    mlir_target.ensure_initialized()
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


def _mark_cooperative(args):
    """The kernel that lowering `impl(lower, ...)` lowers a call into needs a cooperative launch
    (numba-cuda-mlir launches a kernel whose lowering set `use_cooperative` cooperatively, as it
    does for `cuda.cg.this_grid()`)."""
    args[0].metadata["use_cooperative"] = True


def _lowering_cc(args):
    """The compute capability a lowering `impl(lower, ...)` compiles for: the lowerer's target
    chip (`sm_90a` -> (9, 0)), or None."""
    chip = getattr(args[0], "targetoptions", {}).get("chip") if args else None
    digits = "".join(c for c in (chip or "").removeprefix("sm_") if c.isdigit())
    return (int(digits[:-1]), int(digits[-1])) if len(digits) >= 2 else None


def _lowering_formals(argtys):
    """The formals a lowering of the typed arguments `argtys` is registered for: those, and each
    scalar as any literal. A constant operand (`a[2]`, `a << 2`) is typed as its scalar type but
    reaches numba-cuda-mlir's lowerer, which finds a lowering by the arguments' own types, as a
    literal, whose value no registration can foresee: its class stands for it."""
    literal = [types.Literal if isinstance(a, (types.Integer, types.Float, types.Boolean)) else a for a in argtys]
    return [list(argtys)] + ([literal] if literal != list(argtys) else [])


def _operator_typed(template, args):
    """A call of operator `template` typed with argument types `args` (converted by the overload):
    its lowering is registered for those types too, as the lowerer sees them."""
    exact = tuple(types.unliteral(a) for a in args)
    formals = [tuple(args)] + [tuple(f) for f in _lowering_formals(exact)]
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


def _call_impl(unit, shim, src, ret, params, writeback=()):
    """The lowering of one overload: `impl(lower, target, args)`, `args` the call's variables; with
    `writeback` (indices into `params`: the receiver, reference parameters), the value is
    `(result, *those parameters as the shim left them)`. Given `typed`, the call's arguments as (Numba type, MLIR value) pairs instead (a
    call lowered from values: a function template's name taking a non-template overload), it
    returns the call's value and `target` is unused."""

    def impl(lower, target, args, typed=None):
        if typed is not None:
            retval, ptrs = _call_shim(lower, unit, shim, src, ret, params, _converted_values(lower, typed, params))
            return _make_result(lower, ret, params, retval, ptrs)
        retval, ptrs = _call_shim(lower, unit, shim, src, ret, params, _shim_values(lower, args, params))
        result = _make_result(lower, ret, params, retval, ptrs)
        if writeback:
            result = (result, *(_load(lower, params[i][0], ptrs[i]) for i in writeback))
        lower.store_var(target, result)

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
        _store(lower, typ, lower.load_var(value), slot)
        lower.store_var(target, _load(lower, public[attr], _byte_offset(slot, offset)))

    return get_field


def _lower_dummy_attr(context, lower, target, value, attr=None):
    """An attribute whose value is its type alone (`S.static_fn`, `S.Inner`)."""
    lower.store_var(target, None)


def _lower_element_refs(target):
    """`a[i]` of an opaque struct is a reference (`_ElementRef`, an `!llvm.ptr` here): its getitem
    is registered per array type by the check after typing (`_register_packed_arrays`), and where
    a value is needed the reference converts to a copy (`_cast_element_ref`)."""
    target.lower_cast(_ElementRef, types.Type)(_cast_element_ref)


def _cast_element_ref(context, lower, fromty, toty, ptr):
    """A reference to an array element, where a value of `toty` is needed: a copy."""
    value = _load(lower, fromty.dtype, ptr)
    return value if toty == fromty.dtype else lower.lower_cast(fromty.dtype, toty, value)


def _element_address(lower, array, index):
    """The generic address of `array[index]` (1-D), where numba-cuda-mlir's own indexing places
    it (its memref's spacing)."""
    array = lower.load_var(array)
    element = _mlir_ir.MemRefType(array.type).element_type
    ptr = _mlir_memref_to_llvm_ptr(array, [_index_value(lower, array, index, 0)], element)
    generic = _mlir_llvm.PointerType.get()
    return ptr if ptr.type == generic else _mlir_llvm.addrspacecast(generic, ptr)


def _element_ref_getitem(lower, target, args, kws):
    """`a[i]` on an array of an opaque struct: a reference, the element's address."""
    lower.store_var(target, _element_address(lower, args[0], args[1]))


# The integer operations an enum member takes part in (numba-cuda-mlir lowers none with one):
# arith's operation, or the comparison's predicate (signed, unsigned).
_ENUM_BINOPS = {
    _operator.add: "addi", _operator.sub: "subi", _operator.mul: "muli",
    _operator.and_: "andi", _operator.or_: "ori", _operator.xor: "xori",
    _operator.eq: ("eq", "eq"), _operator.ne: ("ne", "ne"), _operator.lt: ("slt", "ult"),
    _operator.le: ("sle", "ule"), _operator.gt: ("sgt", "ugt"), _operator.ge: ("sge", "uge"),
}  # fmt: skip


def _enum_binop(fn):
    """The lowering of `a fn b` with an enum member (a bound enum's, an `IntEnum`'s) among
    integers: each operand as the integer it stands for, converted to the type the operation is
    computed in (the result's, or for a comparison the wider operand's)."""
    what = _ENUM_BINOPS[fn]

    def impl(lower, target, args, kws):
        tys = [lower.get_numba_type(a) for a in args]
        ints = [t.dtype if isinstance(t, types.IntEnumMember) else t for t in tys]
        if isinstance(what, tuple):
            work = max(ints, key=lambda t: t.bitwidth)
            work = types.Integer.from_bitwidth(work.bitwidth, any(t.signed for t in ints))
        else:
            work = lower.get_numba_type(target)
        mlir_work = lower.get_value_type(work)
        a, b = (_mlir_convert(lower.load_var(v), mlir_work, signed=t.signed) for v, t in zip(args, ints))
        if isinstance(what, tuple):
            predicate = what[0] if work.signed else what[1]
            value = _mlir_arith.cmpi(getattr(_mlir_arith.CmpIPredicate, predicate), a, b)
            result = lower.get_numba_type(target)
            if result != types.boolean:
                value = lower.lower_cast(types.boolean, result, value)
        else:
            value = getattr(_mlir_arith, what)(a, b)
        lower.store_var(target, value)

    return impl


def _enum_setitem(lower, target, args, kws):
    """`a[i] = e` (`a[i, j] = e`), `e` an enum member (a bound enum's, an `IntEnum`'s) and `a` an
    array of numbers: the member's value, converted to the element type, stored where
    numba-cuda-mlir's own indexing places the element."""
    aryty, enumty = lower.get_numba_type(args[0]), lower.get_numba_type(args[2])
    array = lower.load_var(args[0])
    index = args[1]
    indexty = None if isinstance(index, int) else lower.get_numba_type(index)
    if isinstance(indexty, types.BaseTuple):
        indices = [_index_value(lower, array, pair, d) for d, pair in enumerate(zip(lower.load_var(index), indexty))]
    else:
        indices = [_index_value(lower, array, index, 0)]
    value = lower.lower_cast(enumty.dtype, aryty.dtype, lower.load_var(args[2]))
    element = _mlir_ir.MemRefType(array.type).element_type
    _mlir_llvm.store(lower.as_storage(aryty.dtype, value), _mlir_memref_to_llvm_ptr(array, indices, element))


def _element_ref_setitem(lower, target, args, kws):
    """`a[i] = b[j]`, `b[j]` a reference: a copy of the element it refers to."""
    aryty, refty = lower.get_numba_type(args[0]), lower.get_numba_type(args[2])
    value = lower.lower_cast(refty, aryty.dtype, lower.load_var(args[2]))
    _store(lower, aryty.dtype, value, _element_address(lower, args[0], args[1]))


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


def _stride_differs(ty):
    """Whether numba-cuda-mlir spaces the elements of an array of bound struct `ty` (any runtime
    copy's) wider than C++'s `sizeof`: its memref element is the struct's integer (`i96` for 12
    bytes), which NVPTX aligns as the next integer of 1 to 16 bytes (16 above that), and whose
    elements are that alignment apart (`i96`: 16 bytes)."""
    size = getattr(ty, "_nbst_size", None)
    if size is None:
        return False
    return size % (16 if size > 16 else 1 << (size - 1).bit_length()) != 0


def _packed_array(ty, ndim=1):
    """An array (of `ndim` dimensions; any, for None) of a bound struct whose C++ layout
    numba-cuda-mlir's indexing would not keep (`_stride_differs`); an opaque struct's elements are
    references (`_ElementRef`), not values."""
    return (
        isinstance(ty, types.Array) and (ndim is None or ty.ndim == ndim) and _stride_differs(ty.dtype) and not _is_opaque_element(ty.dtype)
    )


def _packed_refusal(ary, what):
    """Why this backend does not do `what` with such an array (it would not be at C++'s offsets)."""
    return (
        f"{what} of an array of {ary.dtype} ({ary.dtype._nbst_size} bytes) is not supported on numba-cuda-mlir, "
        "whose arrays would space its elements wider than C++ does; index a 1-D array or slice element by element "
        "(`a[i]`, `a[i] = v`)"
    )


def _element_pointer(lower, aryty, array, index):
    """The address of `array[index]` as C++ lays out the array (`sizeof` apart): the memref's data
    pointer (numba-cuda-mlir counts its offset in `sizeof` units too), plus index times its stride
    (in elements) times `sizeof`. A negative signed index counts from the end."""
    i64 = _mlir_ir.IntegerType.get_signless(64)
    indexty = None if isinstance(index, int) else lower.get_numba_type(index)
    if isinstance(indexty, types.BaseTuple):  # one index per dimension
        indices = list(zip(lower.load_var(index), indexty))
    else:
        indices = [index]
    rank = _mlir_ir.MemRefType(array.type).rank
    metadata = _mlir_memref.extract_strided_metadata(array)
    offset = _mlir_arith.constant(i64, 0)
    for d, each in enumerate(indices):
        stride = _mlir_convert(metadata[2 + rank + d], i64)
        offset = _mlir_arith.addi(offset, _mlir_arith.muli(_index_value(lower, array, each, d), stride))
    size = _mlir_arith.constant(i64, aryty.dtype._nbst_size)
    return _mlir_llvm_ptr_add_bytes(_mlir_data_pointer(array), _mlir_arith.muli(offset, size))


def _index_value(lower, array, index, dim):
    """Index `index` (a variable, an (MLIR value, Numba type) pair or an int) of dimension
    `dim` of `array` as an i64; a negative signed index counts from the end."""
    i64 = _mlir_ir.IntegerType.get_signless(64)
    if isinstance(index, int):
        index, signed = _mlir_arith.constant(i64, index), True
    elif isinstance(index, tuple):  # an MLIR value and its Numba type
        signed = getattr(index[1], "signed", True)
        index = _mlir_convert(index[0], i64, signed=signed)
    else:
        signed = getattr(lower.get_numba_type(index), "signed", True)
        index = _mlir_convert(lower.load_var(index), i64, signed=signed)
    if signed:
        extent = _mlir_convert(_mlir_memref.dim(array, _mlir_index_of(dim)), i64)
        negative = _mlir_arith.cmpi(_mlir_arith.CmpIPredicate.slt, index, _mlir_arith.constant(i64, 0))
        index = _mlir_arith.select(negative, _mlir_arith.addi(index, extent), index)
    return index


def _packed_getitem(lower, target, args, kws):
    """`a[i]` (`a[i, j]`...) on a `_packed_array`: the element at C++'s offset."""
    aryty = lower.get_numba_type(args[0])
    ptr = _element_pointer(lower, aryty, lower.load_var(args[0]), args[1])
    lower.store_var(target, _load(lower, aryty.dtype, ptr))


def _packed_setitem(lower, target, args, kws):
    """`a[i] = v` (`a[i, j] = v`...) on a `_packed_array`: `v` (converted to the element type)
    at C++'s offset."""
    aryty = lower.get_numba_type(args[0])
    have = lower.get_numba_type(args[2])
    value = lower.load_var(args[2])
    if have != aryty.dtype:
        value = lower.lower_cast(have, aryty.dtype, value)
    _store(lower, aryty.dtype, value, _element_pointer(lower, aryty, lower.load_var(args[0]), args[1]))


def _register_packed_arrays():
    """Indexing of `_packed_array`s, once per process (marked on numba-cuda-mlir's rewrite
    registry; any runtime copy's structs qualify). numba-cuda-mlir's arrays are memrefs, whose
    elements are their element type's allocation size apart, and no builtin type has a size of 12
    bytes: so such an array keeps its memref (allocated with room to spare, its length and slices
    counted in elements), and its elements are read and written here, `sizeof` apart, as C++ (and
    a shim given the array as a pointer) sees them.

    The typing is numba-cuda-mlir's. A check after typing (a rewrite that rewrites nothing) finds
    each `a[i]` and `a[i] = v` of such an array and registers these lowerings for its exact type,
    which numba-cuda-mlir's lowering for any array then never matches more closely; what would be
    indexed at numba-cuda-mlir's spacing (iteration, several indices, slice assignment) is a typing
    error that says so."""
    import operator as _op

    from numba_cuda_mlir.extending import lowering_registry
    from numba_cuda_mlir.numba_cuda.core.rewrites import Rewrite, rewrite_registry

    if rewrite_registry.__dict__.get("_nbst_packed_arrays"):
        return
    lowered = set()

    def lower_for(key, formals, impl):
        if (key, formals) not in lowered:
            lowered.add((key, formals))
            lowering_registry.lower(key, *formals)(impl)
            _refresh(None)

    def refuse(ary, what, loc):
        raise _TypingError(_packed_refusal(ary, what), loc=loc)

    def element_index(ary, indexty):
        """The index formal of an element of `ary` (an integer, or a tuple of one per dimension:
        its exact type, which numba-cuda-mlir's lowering for any tuple matches less closely), or None."""
        if ary.ndim == 1 and isinstance(indexty, types.Integer):
            return types.Integer
        if isinstance(indexty, types.BaseTuple) and len(indexty) == ary.ndim and all(isinstance(t, types.Integer) for t in indexty):
            return indexty
        return None

    def check(inst, typemap):
        if isinstance(inst, (_nb_ir.SetItem, _nb_ir.StaticSetItem)):
            ary, valty = typemap.get(inst.target.name), typemap.get(inst.value.name)
            if not _packed_array(ary, None):
                if isinstance(ary, types.Array) and getattr(valty, "_nbst_ref_of", None) is not None:
                    lower_for(_op.setitem, (ary, types.Integer, valty), _element_ref_setitem)  # `a[i] = b[j]`
                elif isinstance(ary, types.Array) and isinstance(valty, types.IntEnumMember) and ary.dtype != valty:
                    index = inst.index_var if isinstance(inst, _nb_ir.StaticSetItem) else inst.index
                    formal = None if index is None else element_index(ary, typemap.get(index.name))
                    if formal is not None:  # `out[i] = Dial.Step.Coarse`: numba-cuda-mlir has no such setitem
                        lower_for(_op.setitem, (ary, formal, valty), _enum_setitem)
                return
            index = inst.index_var if isinstance(inst, _nb_ir.StaticSetItem) else inst.index
            formal = None if index is None else element_index(ary, typemap.get(index.name))
            if formal is None:
                refuse(ary, "Assigning other than an element (`a[i] = v`, `a[i, j] = v`)", inst.loc)
            lower_for(_op.setitem, (ary, formal, types.Any), _packed_setitem)
            return
        if not (isinstance(inst, _nb_ir.Assign) and isinstance(inst.value, _nb_ir.Expr)):
            return
        expr = inst.value
        if expr.op == "binop" and expr.fn in _ENUM_BINOPS:
            lhs, rhs = typemap.get(expr.lhs.name), typemap.get(expr.rhs.name)
            integral = all(isinstance(t, (types.Integer, types.IntEnumMember)) for t in (lhs, rhs))
            if integral and (isinstance(lhs, types.IntEnumMember) or isinstance(rhs, types.IntEnumMember)):
                lower_for(expr.fn, (lhs, rhs), _enum_binop(expr.fn))  # `Scale.Ten + Bits.Wider`: none in numba-cuda-mlir
            return
        if expr.op not in ("getitem", "static_getitem", "getiter"):
            return
        ary = typemap.get(expr.value.name)
        if expr.op == "getiter":
            if _packed_array(ary, None):
                refuse(ary, "Iteration (`for x in a`)", inst.loc)
            return
        index = expr.index_var if expr.op == "static_getitem" else expr.index
        indexty = None if index is None else typemap.get(index.name)
        if indexty is None and expr.op == "static_getitem":
            indexty = types.IntegerLiteral(expr.index) if isinstance(expr.index, int) else None
        if getattr(typemap.get(inst.target.name), "_nbst_ref_of", None) is not None:
            lower_for(_op.getitem, (ary, types.Integer), _element_ref_getitem)
            return
        if not _packed_array(ary, None):
            return
        formal = element_index(ary, indexty)
        if formal is not None:
            lower_for(_op.getitem, (ary, formal), _packed_getitem)
        elif isinstance(indexty, types.BaseTuple) and ary.ndim > 1:
            refuse(ary, "Indexing by slices in several dimensions", inst.loc)
        # an integer index of several dimensions, a 1-D slice: numba-cuda-mlir's sub-array, counted in elements

    class PackedArrayAccesses(Rewrite):
        def match(self, func_ir, block, typemap, calltypes):
            for inst in block.body:
                check(inst, typemap)
            return False

    rewrite_registry.register("after-inference")(PackedArrayAccesses)
    rewrite_registry._nbst_packed_arrays = True


_register_packed_arrays()


def _register_call_operator_rewrite():
    """`f(x)` on a bound struct value `f` (its call operator), once per process (marked on
    numba-cuda-mlir's rewrite registry; any runtime copy's structs qualify).

    Typing resolves the call through the type's `__call__` attribute, as for any type, but
    numba-cuda-mlir finds a call's lowering through the callee's value, and a struct value (its
    bytes) names no lowering. After typing, such a call is rewritten as the method call it stands
    for, `f.__call__(x)`: the bound method's lowering, found by its key like any method's."""
    from numba_cuda_mlir.numba_cuda.core.rewrites import Rewrite, rewrite_registry

    if rewrite_registry.__dict__.get("_nbst_call_operator"):
        return

    class CallOperatorOfStruct(Rewrite):
        def __init__(self, state):
            super().__init__(state)
            self.typingctx = state.typingctx

        def match(self, func_ir, block, typemap, calltypes):
            self.block, self.typemap, self.calltypes = block, typemap, calltypes
            self.calls = {
                id(inst)
                for inst in block.body
                if isinstance(inst, _nb_ir.Assign)
                and isinstance(inst.value, _nb_ir.Expr)
                and inst.value.op == "call"
                and _is_struct_type(typemap.get(inst.value.func.name))
                and getattr(calltypes.get(inst.value), "recvr", None) is not None
            }
            return bool(self.calls)

        def apply(self):
            block = self.block.copy()
            block.clear()
            for inst in self.block.body:
                if id(inst) in self.calls:
                    call = inst.value
                    loc = call.loc
                    method = inst.target.scope.redefine("$nbst_call_operator", loc)
                    self.typemap[method.name] = self.typingctx.resolve_getattr(self.typemap[call.func.name], "__call__")
                    block.append(_nb_ir.Assign(_nb_ir.Expr.getattr(call.func, "__call__", loc), method, loc))
                    new_call = _nb_ir.Expr.call(method, call.args, call.kws, loc, vararg=call.vararg, varkwarg=call.varkwarg)
                    self.calltypes[new_call] = self.calltypes[call]
                    inst = _nb_ir.Assign(new_call, inst.target, inst.loc)
                block.append(inst)
            return block

    rewrite_registry.register("after-inference")(CallOperatorOfStruct)
    rewrite_registry._nbst_call_operator = True


_register_call_operator_rewrite()


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


def _is_dim3(ty):
    """numba-cuda-mlir's `cuda.threadIdx`, `cuda.blockDim`... type: no data of its own (each
    coordinate is an op of the GPU dialect), passed to C++ as the `dim3` it stands for."""
    from numba_cuda_mlir.numba_cuda.types.ext_types import Dim3

    return isinstance(ty, Dim3)


def _store_dim3(which, ptr):
    """`dim3` `which` (`cuda.blockDim`...) as C++ lays it out: x, y, z, each an unsigned int."""
    from numba_cuda_mlir._mlir.dialects import gpu as _mlir_gpu
    from numba_cuda_mlir.lowering.cuda import _get_dim3_attribute

    i32 = _mlir_ir.IntegerType.get_signless(32)
    for k, dim in enumerate((_mlir_gpu.Dimension.x, _mlir_gpu.Dimension.y, _mlir_gpu.Dimension.z)):
        _mlir_llvm.store(_mlir_convert(_get_dim3_attribute(which, dim), i32, signed=False), _byte_offset(ptr, 4 * k))


def _slot(lower, ty):
    """A stack slot for a value of `ty` that a shim reads or writes through a `T *`."""
    if _is_dim3(ty):
        storage = _mlir_ir.Type.parse("!llvm.array<3 x i32>")
    elif isinstance(ty, types.UniTuple):
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


def _struct_alignment(ty):
    """The alignment a load or store of a bound struct's integer may assume: C++'s, which is below
    the integer's own where the size is not a power of two (`i96`: 16; a 12-byte struct's: 4).
    None (the type's own) for other types."""
    return ty._nbst_align if _is_struct_type(ty) else None


def _struct_chunk(ty):
    """The size of the pieces a bound struct's integer is read and written in, where C++ aligns the
    struct below its size (a 12-byte `Triple`, 4-aligned: three 4-byte pieces); None where one
    access will do. One `i96` access at 4-byte alignment is split by NVPTX's backend into an 8-byte
    piece that keeps the 4-byte address (a misaligned access on the GPU), so such values never
    travel as one load or store."""
    if not _is_struct_type(ty) or ty._nbst_size <= ty._nbst_align:
        return None
    return min(ty._nbst_align, 8)


def _store(lower, ty, value, ptr):
    if _is_dim3(ty):
        _store_dim3(value, ptr)
        return
    if isinstance(ty, types.UniTuple):  # a C++ array: element by element
        step = _cxx_size(ty.dtype)
        for i, v in enumerate(value):
            _store(lower, ty.dtype, v, _byte_offset(ptr, i * step))
        return
    storage = _enum_storage(ty)
    if storage is not None:  # enum values are integers of the member type's dtype
        value, ty = _mlir_convert(value, lower.get_value_type(storage), signed=storage.signed), storage
    value = lower.as_storage(ty, value)
    chunk = _struct_chunk(ty)
    if chunk is None:
        _mlir_llvm.store(value, ptr, alignment=_struct_alignment(ty))
        return
    piece_type = _mlir_ir.IntegerType.get_signless(8 * chunk)
    for k in range(ty._nbst_size // chunk):
        piece = value if k == 0 else _mlir_arith.shrui(value, _mlir_arith.constant(value.type, 8 * chunk * k))
        _mlir_llvm.store(_mlir_arith.trunci(piece_type, piece), _byte_offset(ptr, k * chunk), alignment=chunk)


def _load(lower, ty, ptr):
    if _is_dim3(ty):  # numba-cuda-mlir reports a NotImplementedError as its own bug
        raise TypeError(
            "a `dim3` result or output is not supported on numba-cuda-mlir, whose dim3 values are "
            "cuda.threadIdx, cuda.blockIdx, cuda.blockDim and cuda.gridDim only"
        )
    if isinstance(ty, types.UniTuple):
        step = _cxx_size(ty.dtype)
        return tuple(_load(lower, ty.dtype, _byte_offset(ptr, i * step)) for i in range(ty.count))
    stored = _stored_type(ty)
    chunk = _struct_chunk(ty)
    if chunk is None:
        raw = _mlir_llvm.load(lower.get_storage_type(stored), ptr, alignment=_struct_alignment(ty))
    else:
        whole = lower.get_storage_type(stored)
        piece_type = _mlir_ir.IntegerType.get_signless(8 * chunk)
        raw = None
        for k in range(ty._nbst_size // chunk):
            piece = _mlir_arith.extui(whole, _mlir_llvm.load(piece_type, _byte_offset(ptr, k * chunk), alignment=chunk))
            if k:
                piece = _mlir_arith.shli(piece, _mlir_arith.constant(whole, 8 * chunk * k))
            raw = piece if raw is None else _mlir_arith.ori(raw, piece)
    value = lower.from_storage(stored, raw)
    if stored is not ty:
        value = _mlir_convert(value, lower.get_value_type(ty), signed=stored.signed)
    return value


def _pointer_value(lower, argty, value):
    """An argument for a pointer parameter: an array's data pointer, or the pointer itself."""
    return _mlir_data_pointer(value) if isinstance(argty, types.Array) else value


def _shim_values(lower, args, params):
    """The MLIR values of the call's variables, each converted to its parameter's type."""
    return _converted_values(lower, [(lower.get_numba_type(var), lower.load_var(var)) for var in args], params)


def _converted_values(lower, typed, params):
    """The arguments `typed` ((Numba type, MLIR value) pairs), each converted to its parameter's type."""
    values, typed = [], iter(typed)
    for ty, mode in params:
        if mode == "out":
            continue
        have, value = next(typed)
        if isinstance(ty, types.CPointer) or ty == types.voidptr:
            value = _pointer_value(lower, types.unliteral(have), value)
        elif have != ty:
            value = lower.lower_cast(have, ty, value)
        values.append(value)
    return values


def _call_shim(lower, unit, shim, src, ret, params, values):
    """Emit `shim(&ret, &a0, ...)`. Returns (ret value or None, the pointer passed per param)."""
    unit.add(shim, src)
    lower.link_external_item(_cached_unit(unit.code))
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


# ----------------------------------------------------------------------------- template lowering (see _templates.py)
#
# The template runtime (`numbast/_templates.py` and its modules) is shared by both backends; what
# it lowers goes through these hooks. A template lowering is written once,
# `impl(context, builder, sig, args)` over values; here it is wrapped (`_template_lowering`) into
# numba-cuda-mlir's `impl(lower, target, args, kws)`, which finds the call's typed signature,
# converts each argument to the signature's type and stores the result in the call's target. User
# operators (a Python device function given for an operator type) are compiled by numba-cuda-mlir
# and linked through `link_external_item`. An array
# element as a reference (`WarpScan(temp[w])`) is its address (`_element_ref_getitem`).


def _template_device_cc():
    """The current device's compute capability (or the target numba-cuda-mlir was given), or None."""
    import numba_cuda_mlir.tools as tools
    from numba_cuda_mlir.numba_cuda.cudadrv import driver

    if tools._cached_cc is not None:
        return tuple(tools._cached_cc)
    return tools.get_gpu_compute_capability(tuple) if driver.driver.is_available else None


def _template_compile_user_op(py_func, args, symbol, cc, fastmath):
    """(LTO-IR, return type) of Python device function `py_func` for argument types `args`,
    compiled by numba-cuda-mlir with the C ABI under the name `symbol` for compute capability `cc`."""
    from numba_cuda_mlir import cuda

    return cuda.compile(py_func, args, device=True, abi="c", abi_info={"abi_name": symbol}, output="ltoir", cc=cc,
                        fastmath=fastmath)  # fmt: skip


def _template_link_code(context, lower, code):
    """Adds linkable `code` to the link of the kernel being lowered."""
    lower.link_external_item(code)


def _template_lowering(impl):
    """numba-cuda-mlir's lowering of template lowering `impl(context, builder, sig, args)`."""

    def lowering(lower, target, args, kws):
        typed = _typed_signature(lower, target)
        argtys = _case_args(typed)
        variables = list(args) + [var for _name, var in kws or ()]
        values = []
        for var, want in zip(variables, argtys):
            have = lower.get_numba_type(var)
            value = lower.load_var(var)
            if getattr(have, "_nbst_ref_of", None) is not None and isinstance(want, types.CPointer):
                pass  # a reference parameter bound to the array element: its address
            elif have != want:
                value = lower.lower_cast(have, want, value)
            values.append(value)
        result = impl(lower.context, lower, signature(typed.return_type, *argtys), values)
        lower.store_var(target, result)

    return lowering


def _template_getattr_lowering(impl):
    """numba-cuda-mlir's lowering of attribute lowering `impl(context, builder, typ, value, attr)`:
    a method (`x.m` before the call) gives the receiver, as numba-cuda-mlir keeps it."""

    def lowering(context, lower, target, value, attr):
        if isinstance(lower.get_numba_type(target), types.BoundFunction):
            lower.store_var(target, lower.load_var(value))
            return
        lower.store_var(target, impl(context, lower, lower.get_numba_type(value), lower.load_var(value), attr))

    return lowering


def _template_dummy_value(context):
    return None


def _register_opaque_model(cls):
    _mlir_models.register_model(cls)(_mlir_models.OpaqueModel)


def _template_data_pointer(context, lower, aryty, value):
    """The data pointer of an array argument that a template parameter takes as a pointer."""
    return _mlir_data_pointer(value)


def _template_call_shim(context, lower, call, values, writeback_type=None):
    """Lowers a template instantiation's call (`_template_shims.TypedCall`) with the shim arguments `values`: a
    void callable with one output returns that output alone. With `writeback_type` (a call that
    writes back its receiver or reference arguments), the value is `(result, *those after the
    call)` (`TypedCall.writeback_indices`)."""
    ret = call.resolved.ret
    retval, ptrs = _call_shim(lower, call.unit, call.shim, call.src, ret, call.params, values)
    outs = [(ty, p) for (ty, mode), p in zip(call.params, ptrs) if mode == "out"]
    if ret is None and len(outs) == 1:
        result = _load(lower, *outs[0])
    else:
        result = _make_result(lower, ret, call.params, retval, ptrs)
    if writeback_type is None:
        return result
    return (result, *(_load(lower, call.params[i][0], ptrs[i]) for i in call.writeback_indices))


def _template_lower_plain(context, lower, plain, sig, args):
    """A call that a non-template function of a function template's name took: the overload
    typing chose (`_dispatch`'s choice), lowered from the values `args` of `sig`'s types."""
    template = plain._template
    have = _case_args(sig)
    k = next((i for i, case in enumerate(template.cases) if _case_args(case) == have), None)
    if k is None:
        k = template.fitted[have]
    return template.impls[k](lower, None, None, list(zip(have, args)))


def _template_field_at(context, lower, typ, value, fty, offset):
    """Field of type `fty` at byte `offset` of a class template instance's bytes."""
    slot = _slot(lower, typ)
    _store(lower, typ, value, slot)
    return _load(lower, fty, _byte_offset(slot, offset))
