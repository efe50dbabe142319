"""Numbast runtime, templates: C++ function and class templates instantiated when a kernel is typed.

The renderer writes each template as data (`crates/bindgen/src/render/templates.rs`): its qualified
name, its template parameters, and for each overload the patterns of its parameter and return types
(`render/spelling.rs`), its specificity and its spellings with the template parameters left in.
This module is the template runtime's entry: rendered code reaches it through
`_template_bindings(_b)`, a `TemplateBindings` that registers the typing and lowering every template
shares. The rest is split by responsibility:

- `_template_types`: patterns evaluated to Numba types, Numba types spelled in C++, spellings
  filled in from the renderer's pieces, and template arguments given in Python
  (`make_value[np.float32]`) or in a kernel;
- `_template_deduce`: each parameter's pattern unified with the Numba argument type (conflicting
  deductions unified the way Numba unifies), the template arguments resolved, the best overload
  selected as C++ would;
- `_template_shims`: the instantiation's shim, filled in from the forms `shim.rs` writes
  (`_template_shim_forms`, generated) and named from the overload's stem: the callee called with
  explicit template arguments, so that the C++ compiler picks the instantiation and honours
  explicit specializations; and the typed call that lowering uses;
- `_template_probe`: what only the compiler knows (an instantiation's layout, an `auto` return
  type, which overloads survive substitution), as constant expressions evaluated by libclang
  (`ast_canopy.evaluate_constants`) or, where ast_canopy is not importable (a static module alone),
  compiled by NVRTC (`NUMBAST_TEMPLATE_PROBE` chooses: `clang`, `nvrtc`, `both`); and the GPU
  architectures a template exists for (a static module generated for several);
- `_template_operators`: user operators, a `@cuda.jit(device=True)` function given where a
  template parameter is an operator type (`ReductionOp`), compiled by numba-cuda to LTO-IR with the
  C ABI and passed as a functor that calls it;
- `_template_functions` and `_template_classes`: the objects rendered code gets, function templates
  (`f[np.float32]`), class templates (`BlockScan[np.int32, 128]` outside a kernel,
  `BlockScan(T=int32, BlockDimX=128)` inside one) and the member templates of bound structs.

Each module reaches the backend's runtime as `from . import _runtime`, and lowers through the hooks
it defines (`_template_lowering`, `_template_call_shim`...). Dynamic mode imports them as
`numbast._templates`... next to `numbast._runtime` (and `numbast.mlir` loads the same files again as
its own); a static module embeds their texts and loads them as submodules of its runtime, so they
import nothing outside numba, llvmlite and the standard library, even there.
"""

import enum
import operator

from . import _runtime as rt
from ._template_classes import (
    CALL_OPERATOR,
    INPLACE_OPERATORS,
    BoundClassTemplate,
    ClassObjectType,
    InstanceType,
    StructMembers,
    TemplateEnums,
    get_field,
)
from ._template_deduce import Overload
from ._template_functions import BoundFunctionTemplate, scope_of
from ._template_probe import Arch, TemplateProbeMismatch
from ._template_shims import lower_by_sig
from ._template_types import (
    AbstractTemplate,
    AttributeTemplate,
    TemplateError,
    TypingError,
    cxx_of,
    signature,
    types,
    typing_error,
)

__all__ = ["BoundClassTemplate", "BoundFunctionTemplate", "TemplateBindings", "TemplateError", "TemplateProbeMismatch"]


# ----------------------------------------------------------------------------- registration


class TemplateBindings:
    """The template side of one `Bindings`: what rendered code calls (`function_template`,
    `class_template`), and the typing and lowering shared by every template it binds."""

    def __init__(self, bindings):
        self.b = bindings
        self._getitem_lowered = set()
        self._archs = {}  # arch condition -> Arch
        self._functions = {}  # py_name -> [BoundFunctionTemplate], one per shim unit
        self._classes = {}  # qualified name -> BoundClassTemplate (the last bound)
        self._operator_templates = {}  # (unit, op, namespace) -> BoundFunctionTemplate
        tb = self

        class GetItem(AbstractTemplate):
            """`f[np.float32]`, `BlockScan[int32, 128]` in a kernel."""

            key = operator.getitem
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
                    return signature(method, *args)
                target = getattr(obj, "typing_key", None)
                if not isinstance(obj, types.Function) or getattr(target, "_tb", None) is not tb:
                    return None
                try:
                    spec = target._specialize_from_numba(tys)
                except TemplateError as e:
                    raise typing_error(e) from None
                return signature(spec._numba_type_, *args)

        class InstanceAttributes(AttributeTemplate):
            key = InstanceType

            def generic_resolve(self, typ, attr):
                owner = typ._nbst_owner.template
                return owner._resolve_attr(typ, attr) if owner._tb is tb else None

        class ClassObjectAttributes(AttributeTemplate):
            key = ClassObjectType

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
                if isinstance(obj, type) and issubclass(obj, enum.Enum):
                    return rt.typeof(obj)
                return types.NumberClass(obj) if isinstance(obj, types.Type) else obj._numba_type_

        bindings.typing_registry.register_global(operator.getitem, types.Function(GetItem))
        bindings._register_element_refs()  # `a[i] = v` on an instance is refused with what to do
        bindings.typing_registry.register_attr(InstanceAttributes)
        bindings.typing_registry.register_attr(ClassObjectAttributes)

        bindings.target_registry.lower_getattr_generic(ClassObjectType)(rt._lower_dummy_attr)
        bindings.target_registry.lower_getattr_generic(InstanceType)(rt._template_getattr_lowering(get_field))

        def call_instance(context, builder, sig, args):
            """`x(...)` on an instance: Numba lowers a call of a value by its type (the class
            `InstanceType` for every instance), with the instance first."""
            table = sig.args[0]._nbst_owner.template._method_calls[CALL_OPERATOR]
            return table[tuple(sig.args)].lower(context, builder, args)

        bindings.target_registry.lower(InstanceType, types.VarArg(types.Any))(rt._template_lowering(call_instance))
        bindings._sync()

    def lower_getitem(self, fnty):
        """`f[...]` on a template's function type gives a dummy value: its type says everything."""
        if fnty not in self._getitem_lowered:
            self._getitem_lowered.add(fnty)

            def impl(context, builder, sig, args):
                return rt._template_dummy_value(context)

            self.b._lower(operator.getitem, [fnty, types.Any], rt._template_lowering(impl))
            self.b._sync()  # registered while a kernel is typed: numba-cuda-mlir reloads its registries

    def lower_method_getitem(self, methty):
        """`s.FlagHeads[4]` gives the receiver, as the method does (a bound method's value is its
        receiver, whatever template arguments it is called with)."""
        if methty not in self._getitem_lowered:
            self._getitem_lowered.add(methty)

            def impl(context, builder, sig, args):
                return args[0]

            self.b._lower(operator.getitem, [methty, types.Any], rt._template_lowering(impl))
            self.b._sync()  # registered while a kernel is typed: numba-cuda-mlir reloads its registries

    def arch_condition(self, condition, ranges, archs, owner):
        """Describes an arch condition that rendered templates carry (`"arch"`, `arch=`): the
        `__CUDA_ARCH__` ranges in which it holds, the names of those archs and the module that
        binds the templates, for the error when a kernel for another arch calls one."""
        self._archs[condition] = Arch(condition, ranges, archs, owner)

    def arch(self, condition):
        """The `Arch` of `condition` (None when every arch has the template)."""
        if not condition:
            return None
        return self._archs.get(condition) or Arch(condition)

    def function_template(self, *, unit, py_name, overloads):
        """A function template (its overloads of one name) -> the kernel callable. Overloads of a
        name already bound for `unit` are added to its callable (those present on other archs)."""
        overloads = [Overload(o) for o in overloads]
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
            by_scope.setdefault(scope_of(o.get("qual_name", "")), []).append(Overload(o))
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
            if not (isinstance(ty, InstanceType) or rt._is_bound_type(ty)):
                return None
            cxx = cxx_of(ty, b)
            return None if cxx is None else scope_of(cxx.split("<", 1)[0].lstrip(":"))

        class OperatorTemplate(AbstractTemplate):
            key = op

            def generic(self, args, kws):
                plain = [types.unliteral(a) for a in args]
                if kws or scope not in {namespace(a) for a in plain}:
                    return None
                try:
                    sig = fn._type_template_call(self.context, args, kws)
                except TypingError:
                    return None  # Numba tries the operator's other templates
                if sig.args not in lowered:
                    lowered.add(sig.args)
                    b._lower(op, list(sig.args), lower_by_sig(fn._calls))
                    b._sync()
                if op in INPLACE_OPERATORS and isinstance(plain[0], InstanceType):
                    plain[0].mutable = True
                return sig

        b.typing_registry.register_global(op, types.Function(OperatorTemplate))
        b._sync()
        return fn

    def member_templates(self, struct, *, unit, methods, statics):
        """The member function templates of the bound (non-template) struct `struct`: `methods`
        and `statics` are `(name, overload)`; the call operator's name is `operator()`. Their
        template arguments are deduced when a kernel calls them, as a class template's members'."""
        return StructMembers(self, unit, struct, methods, statics)

    def template_of(self, unit, py_name):
        """The function template bound as `py_name` for `unit`, if any."""
        for fn in self._functions.get(py_name, ()):
            if fn._unit is unit:
                return fn
        return None

    def class_template(self, *, unit, py_name, qual_name, location, tparams, nested, fields, constructors, methods,
                       arch=None, inherits=False, statics=(), operators=(), enums=(), shim=None):  # fmt: skip
        """A class template -> the object that instantiates it; `arch`: the condition of the archs
        that have it, if not all; `statics`: `(name, overload)` of static member functions;
        `operators`: `(op, method name)` of member operators, whose overloads are among `methods`;
        `enums`: its public enums (see `TemplateEnums`); `shim`: the name stem of the shims of
        members the runtime makes (not rendered)."""
        bound = BoundClassTemplate(self, unit, py_name, qual_name, location, tparams, nested, fields,
                                   constructors, methods, arch, inherits, statics, operators, shim)  # fmt: skip
        bound._enums = TemplateEnums(bound, enums)
        self._classes[qual_name.lstrip(":")] = bound
        return bound


def _template_bindings(bindings):
    """The `TemplateBindings` of `bindings` (made on first use)."""
    tb = getattr(bindings, "_nbst_templates", None)
    if tb is None:
        tb = bindings._nbst_templates = TemplateBindings(bindings)
    return tb
