"""User operators: a Python device function given where a template expects an operator type,
compiled by the backend (numba-cuda or numba-cuda-mlir) to LTO-IR with the C ABI and passed to the
C++ side as a functor."""

import importlib
import inspect

from . import _runtime as rt
from ._template_shim_forms import SHIM_FORMS
from ._template_types import CXX_OF, TemplateError, kernel_cc, types

# The value types a user operator takes and returns, spelled as the C ABI of a Numba device
# function passes them: a bool is a byte there (`unsigned char`), as Numba's boolean data model.
_OP_ABI = {"bool": "unsigned char"}
OP_LVALUE = SHIM_FORMS["operator_helpers"]  # `__nbst_lvalue`, which passes a functor as an lvalue


def _op_scalar_cxx(ty):
    """The C++ spelling of a value a user operator takes or returns (bool, an integer, float or
    double), or None."""
    if isinstance(ty, types.Boolean | types.Integer) or ty in (types.float32, types.float64):
        return CXX_OF.get(ty)
    return None


def is_function_type(ty):
    """Whether a call's argument is a function (a Numba dispatcher, a built-in, a bound callable)
    rather than a value: where a template expects an operator, it becomes a user operator."""
    return isinstance(ty, types.Dispatcher | types.Function | types.BoundFunction)


def _linkable_code():
    """The backend's `cudadrv.linkable_code` module: numba-cuda's, or numba-cuda-mlir's copy, whose
    link plan knows `LTOIR` by its class name."""
    return importlib.import_module(rt._NB_PACKAGE + ".cudadrv.linkable_code")


def user_ops():
    """The user operators of this process, shared by every runtime copy of the backend (so that one
    Python function gets one symbol however many modules' templates take it): (key -> op,
    name -> op), kept on the backend's `cudadrv.linkable_code` module."""
    home = _linkable_code()
    ops = getattr(home, "_nbst_user_ops", None)
    if ops is None:
        ops = home._nbst_user_ops = ({}, {})
    return ops


class UserOp:
    """A Python device function given where a template expects an operator type: compiled by
    the backend to LTO-IR with the C ABI under a reserved name (`symbol`), for two arguments of the
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
        fastmath = bool(self.dispatcher.targetoptions.get("fastmath"))
        try:
            data, resty = rt._template_compile_user_op(self.dispatcher.py_func, (self.value, self.value), self.symbol,
                                                       cc, fastmath)  # fmt: skip
        except Exception as e:
            detail = "\n".join(str(e).strip().splitlines()[:6])
            raise TemplateError(
                f"operator for `{pname}`: {self.name} does not compile for ({self.value}, {self.value}):\n{detail}"
            ) from None
        if isinstance(resty, types.Boolean):
            returns_bool = True
        elif _op_scalar_cxx(resty) is not None:
            returns_bool = False
        else:
            raise TemplateError(f"operator for `{pname}`: {self.name} returns {resty} for ({self.value}, {self.value}); "
                                "an operator returns a number or a bool")  # fmt: skip
        if self.decl is None:
            self.returns_bool, self.decl = returns_bool, self._declaration(resty)
        code = _linkable_code().LTOIR(bytes(data), name=f"{self.symbol}.ltoir")
        code._nbst_unit = True  # like a shim unit, left out of what a cached kernel pickles
        self._ltoir[cc] = code
        return code

    def _declaration(self, resty):
        t = _op_scalar_cxx(self.value)
        arg, ret = _OP_ABI.get(t, t), _op_scalar_cxx(resty)
        ret = _OP_ABI.get(ret, ret)
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

    def link(self, context, builder):
        """At lowering: the kernel links the operator's LTO-IR for its compute capability."""
        rt._template_link_code(context, builder, self.compile(kernel_cc(), self.functor))


def user_op(fnty, value, pname, stem):
    """The user operator for function type `fnty` called with values of Numba type `value`, for
    template parameter `pname` of an overload whose shims' name stem is `stem`; checks what can be
    checked before compiling, then compiles it for the kernel's compute capability. Raises
    TemplateError naming `pname`."""
    disp = getattr(fnty, "dispatcher", None)
    if not isinstance(fnty, types.Dispatcher) or not hasattr(disp, "py_func"):
        raise TemplateError(f"operator for `{pname}`: {fnty} is not a Python function; give a function "
                            "decorated with @cuda.jit(device=True)")  # fmt: skip
    if not disp.targetoptions.get("device", False):
        raise TemplateError(f"operator for `{pname}`: {disp.py_func.__name__} is a kernel; give a device function "
                            "(@cuda.jit(device=True))")  # fmt: skip
    try:
        inspect.signature(disp.py_func).bind(None, None)
    except TypeError:
        sig = inspect.signature(disp.py_func)
        raise TemplateError(f"operator for `{pname}`: {disp.py_func.__name__}{sig} cannot be called with two "
                            f"arguments; the operator is called as op(a, b), a and b of type {value}") from None  # fmt: skip
    if _op_scalar_cxx(value) is None:
        raise TemplateError(f"operator for `{pname}`: the call's value type is {value}; a Python operator takes "
                            "bool, integer, float32 or float64 values")  # fmt: skip
    by_key, by_name = user_ops()
    key = ("v1", disp.py_func, value)
    op = by_key.get(key)
    if op is None:
        # Named after the shim stem of the overload that first takes it (hashed by the renderer,
        # `shim::template_shim_stem`, as every shim name is) and its ordinal among that stem's.
        n = 1
        while f"{stem}_functor{n}" in by_name:
            n += 1
        op = UserOp(disp, value, f"{stem}_op{n}", f"{stem}_functor{n}")
        op.compile(kernel_cc(), pname)
        by_key[key], by_name[op.functor] = op, op
    return op


def user_op_named(functor):
    return user_ops()[1][functor]


def user_op_decls(functors):
    """The declarations of the user operators' functors named `functors` (for a probe). None
    asks nothing of numba-cuda (the table lives in its module), which a numba-cuda-mlir process
    does not import."""
    if not functors:
        return ""
    by_name = user_ops()[1]
    return "".join(by_name[n].decl for n in sorted(set(functors)) if n in by_name)


def functors_of(resolved):
    """The functors of the user operators a resolved call takes: those its arguments construct and
    those among its template arguments."""
    names = {s.value_cxx for s in resolved.slots if s.passing == "functor"}
    for a in resolved.own_args.values():
        for x in a if isinstance(a, list) else [a]:
            if x.is_type and is_function_type(x.numba):
                names.add(x.cxx)
    return sorted(names)
