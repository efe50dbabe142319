"""Templates on the numba-cuda-mlir backend: the template runtime's lowering hooks, in MLIR.

The template runtime (`numbast/_templates.py`) is shared by both backends: deduction, the
instantiation shims, the layout probes and the typing are the same; what it lowers goes through
the hooks below (`_tpl_lowering`, `_tpl_call_shim`, `_tpl_field_at`...), which the numba-cuda
runtime defines for llvmlite and this file for numba-cuda-mlir's lowerer. Static mode
(`MLIR Backend: true`) pastes the typing text, `mlir/_runtime.py`, this text and `_templates.py`
into one module; dynamic mode makes this module `numbast.mlir._templates` from the same texts:
the runtime's names, these hooks, then `_templates.py` run in its namespace.

A template lowering is written once, `impl(context, builder, sig, args)` over values; on this
backend it is wrapped (`_tpl_lowering`) into numba-cuda-mlir's `impl(lower, target, args, kws)`,
which finds the call's typed signature (the lowering is chosen by the arguments' own types),
converts each argument to the signature's type and stores the result in the call's target.
User operators (a Python device function given for an operator type) are numba-cuda only, and
so is an array element as a reference (`WarpScan(temp[w])`; here `temp[w:]`).
"""

_tpl_dynamic = "_CallTemplate" not in globals()
if _tpl_dynamic:  # `numbast.mlir._templates`: the runtime's names first, as static mode pastes them
    import importlib as _tpl_mlir_importlib

    globals().update({k: v for k, v in vars(_tpl_mlir_importlib.import_module("._runtime", __package__)).items() if not k.startswith("__")})


def _tpl_device_cc():
    """The current device's compute capability (or the target numba-cuda-mlir was given), or None."""
    import numba_cuda_mlir.tools as tools
    from numba_cuda_mlir.numba_cuda.cudadrv import driver

    if tools._cached_cc is not None:
        return tuple(tools._cached_cc)
    return tools.get_gpu_compute_capability(tuple) if driver.driver.is_available else None


def _tpl_check_user_op(fnty, pname):
    raise TemplateError(
        f"operator for `{pname}`: a Python function given for a C++ operator type is compiled by numba-cuda; "
        "the numba-cuda-mlir backend (numbast.mlir) takes C++ operator types only (e.g. cuda::std::plus<int>)"
    )


def _tpl_lowering(impl):
    """numba-cuda-mlir's lowering of template lowering `impl(context, builder, sig, args)`."""

    def lowering(lower, target, args, kws):
        typed = _typed_signature(lower, target)
        argtys = _case_args(typed)
        variables = list(args) + [var for _name, var in kws or ()]
        values = []
        for var, want in zip(variables, argtys):
            have = lower.get_numba_type(var)
            if getattr(have, "_nbst_ref_of", None) is not None:
                raise TypeError(  # numba-cuda-mlir reports a NotImplementedError as its own bug
                    f"{var.loc}: an element of an array of {have.dtype} (`a[i]`) as a reference is numba-cuda's; on "
                    "numba-cuda-mlir pass a slice that starts at it (`a[i:]`), which binds its first element"
                )
            value = lower.load_var(var)
            if have != want:
                value = lower.lower_cast(have, want, value)
            values.append(value)
        result = impl(lower.context, lower, signature(typed.return_type, *argtys), values)
        lower.store_var(target, result)

    return lowering


def _tpl_getattr_lowering(impl):
    """numba-cuda-mlir's lowering of attribute lowering `impl(context, builder, typ, value, attr)`:
    a method (`x.m` before the call) gives the receiver, as numba-cuda-mlir keeps it."""

    def lowering(context, lower, target, value, attr):
        if isinstance(lower.get_numba_type(target), types.BoundFunction):
            lower.store_var(target, lower.load_var(value))
            return
        lower.store_var(target, impl(context, lower, lower.get_numba_type(value), lower.load_var(value), attr))

    return lowering


def _tpl_dummy_value(context):
    return None


def _register_opaque_model(cls):
    _mlir_models.register_model(cls)(_mlir_models.OpaqueModel)


def _tpl_data_pointer(context, lower, aryty, value):
    """The data pointer of an array argument that a template parameter takes as a pointer."""
    return _mlir_data_pointer(value)


def _tpl_call_shim(context, lower, call, values):
    """Lowers a template instantiation's call (`_TplCall`) with the shim arguments `values`: a
    void callable with one output returns that output alone."""
    ret = call.resolved.ret
    retval, ptrs = _call_shim(lower, call.unit, call.shim, call.src, ret, call.params, values)
    outs = [(ty, p) for (ty, mode), p in zip(call.params, ptrs) if mode == "out"]
    if ret is None and len(outs) == 1:
        return _load(lower, *outs[0])
    return _make_result(lower, ret, call.params, retval, ptrs)


def _tpl_lower_plain(context, lower, plain, sig, args):
    raise TypeError(f"{plain}: a non-template function called through a function template's name is not lowered on numba-cuda-mlir yet")


def _tpl_field_at(context, lower, typ, value, fty, offset):
    """Field of type `fty` at byte `offset` of a class template instance's bytes."""
    slot = _slot(lower, typ)
    _store(lower, typ, value, slot)
    return _load(lower, fty, _byte_offset(slot, offset))


if _tpl_dynamic:  # then the template runtime, in this namespace
    import os as _tpl_mlir_os

    _tpl_path = _tpl_mlir_os.path.join(
        _tpl_mlir_os.path.dirname(_tpl_mlir_os.path.dirname(_tpl_mlir_os.path.abspath(__file__))), "_templates.py"
    )
    with open(_tpl_path, encoding="utf-8") as _tpl_file:
        exec(compile(_tpl_file.read(), _tpl_path, "exec"), globals())
