"""Instantiation shims: the shim of one deduced call, filled in and added to the shim unit, the
return type asked of the compiler where only it knows, and the typed call that lowering uses."""

from . import _runtime as rt
from ._template_deduce import ASK_COMPILER, bound_classes_named, class_instance_named
from ._template_operators import OP_LVALUE, functors_of, user_op_named
from ._template_probe import BUILTIN_KINDS, HELPERS, HELPERS_NAME, KIND_PROBE, preceding_text, probe
from ._template_shim_forms import SHIM_FORMS
from ._template_types import AbstractTemplate, TemplateError, signature, types


def ask_return(unit, resolved, callee, self_cxx=None, arch=None, bindings=None):
    """Sets the return type of `resolved` that only the compiler knows (`auto`, `decltype`, an
    alias template) by probing `decltype` of the call (for an arch that has it): a builtin
    arithmetic type, void, or an instance of a bound class template whose type arguments are
    builtin arithmetic types (`make_pair`'s `pair<unwrap_ref_decay_t<T1>, ...>`) or that is an
    instance made before (`span<int>::subspan()`'s `span<int, dynamic_extent>`)."""
    if resolved.ret is not ASK_COMPILER:
        return
    args = [_arg_expr(resolved, s, f"__nbst_declval<{s.value_cxx} {'&&' if s.rvalue else '&'}>()") for s in resolved.slots]
    target = f"__nbst_declval<{self_cxx} &>().{callee}" if self_cxx else callee
    result = f"decltype({target}({', '.join(args)}))"
    functors = functors_of(resolved)
    (kind,) = probe(unit, [f"__nbst_kind<{result}>::value"], f"the return type of {target}", KIND_PROBE, arch, functors)
    if kind == 1000:
        resolved.ret, resolved.ret_cxx = None, "void"
    elif 1 <= kind <= len(BUILTIN_KINDS):
        resolved.ret_cxx, resolved.ret = BUILTIN_KINDS[kind - 1]
    else:
        pat = resolved.overload.ret_pattern
        ci = _ask_class_instance(unit, pat[2] if pat[0] == "ref" else pat, result, target, arch, bindings, functors)
        if ci is None:
            raise TemplateError(f"{target}: return type `{resolved.ret_cxx}` is not an arithmetic type, void, an "
                                "instance of a bound class template with arithmetic type arguments, or one made "
                                "before (give it as `T[...]` first)")  # fmt: skip
        resolved.ret, resolved.ret_cxx = ci._numba_type, ci.cxx


# The kind (`__nbst_kind`) of the I-th type argument of a class template instance.
_TARG_PROBE = (
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
    "template <class T> struct __nbst_targc { static constexpr unsigned long long value = 0; };\n"
    "template <template <class...> class C, class... A>\n"
    "struct __nbst_targc<C<A...>> { static constexpr unsigned long long value = sizeof...(A); };\n"
    "template <class T> struct __nbst_targc<const T> : __nbst_targc<T> {};\n"
    "template <class T> struct __nbst_targc<T &> : __nbst_targc<T> {};\n"
    "template <class T> struct __nbst_targc<T &&> : __nbst_targc<T> {};\n"
)
# How many type arguments a pack expansion in a returned template-id (`tuple<decay_t<_Tp>...>`) is
# asked for at most, in the one probe that asks their count and kinds.
_PACK_ARGS_MAX = 16


def _ask_class_instance(unit, pat, result, target, arch, bindings, functors):
    """The instance of a bound class template that `result` (a `decltype` the header spells as the
    template-id `pat`, `pair<unwrap_ref_decay_t<_T1>, ...>`) is, its type arguments asked of the
    compiler; None unless each is a builtin arithmetic type."""
    tb = getattr(bindings, "_nbst_templates", None)
    if tb is None:
        return None
    if pat[0] != "name" or len(pat) < 4:  # `auto`, say: any instance made so far may be it
        return _same_instance(unit, tb, None, False, result, target, arch, functors)
    name, fully_qualified, args, _pieces = pat[3]
    # A pack expansion among the arguments stands for any number of them: the count is asked too.
    asked = _PACK_ARGS_MAX if any(a.rstrip().endswith("...") for a in args) else len(args)
    exprs = [f"__nbst_targc<{result}>::value"] + [f"__nbst_targ<{i}, {result}>::value" for i in range(asked)]
    try:
        count, *kinds = probe(unit, exprs, f"the return type of {target}", KIND_PROBE + _TARG_PROBE, arch, functors)
    except TemplateError:
        count = 0
    if 0 < count <= asked and all(1 <= k <= len(BUILTIN_KINDS) for k in kinds[:count]):
        found = class_instance_named(tb, name, [BUILTIN_KINDS[k - 1][0] for k in kinds[:count]])
        if found is not None:
            return found
    return _same_instance(unit, tb, name, fully_qualified, result, target, arch, functors)


# Whether two types are the same, references and `const` left out of the first.
_SAME_PROBE = (
    "template <class A, class B> struct __nbst_same { static constexpr unsigned long long value = 0; };\n"
    "template <class A> struct __nbst_same<A, A> { static constexpr unsigned long long value = 1; };\n"
    "template <class A, class B> struct __nbst_same<const A, B> : __nbst_same<A, B> {};\n"
    "template <class A, class B> struct __nbst_same<A &, B> : __nbst_same<A, B> {};\n"
    "template <class A, class B> struct __nbst_same<A &&, B> : __nbst_same<A, B> {};\n"
)


def _same_instance(unit, tb, name, fully_qualified, result, target, arch, functors):
    """The instance already made of a bound class template called `name` (None: of any) that
    `result` is, asked of the compiler (`span<int>::subspan()` returns `span<int, dynamic_extent>`,
    the receiver's own type, whose non-type argument no spelling of ours matches), or None."""
    classes = list(tb._classes.values()) if name is None else bound_classes_named(tb, name, fully_qualified)
    # Only classes whose header the unit includes can be named in its probe.
    text = preceding_text(unit)
    made = [ci for cls in classes if preceding_text(cls._unit) == text for ci in list(cls._instances.values())]
    if not made:
        return None
    exprs = [f"__nbst_same<{result}, {ci.cxx}>::value" for ci in made]
    try:
        same = probe(unit, exprs, f"the return type of {target}", KIND_PROBE + _SAME_PROBE, arch, functors)
    except TemplateError:
        return None
    hits = [ci for ci, v in zip(made, same) if v == 1]
    return hits[0] if len(hits) == 1 else None


def _arg_expr(resolved, slot, expr):
    """An argument in a shim's call: an inherited member's array argument (an overload made with
    `items`) goes through `__nbst_items`, which converts to the reference to array it declares."""
    if slot.passing == "decay" and resolved.overload.data.get("items"):
        return SHIM_FORMS["arg_items"].format(arg=expr)
    return expr


_SHIM_ORDINALS = {}  # shim name stem -> {the shim's text without its name -> its ordinal}


def _shim_name(stem, identity):
    """`<stem>_<k>`: the stem is the overload's, made by the renderer (`shim::template_shim_stem`,
    the one hash of every shim name), `k` the ordinal of this instantiation among the stem's."""
    ordinals = _SHIM_ORDINALS.setdefault(stem, {})
    return f"{stem}_{ordinals.setdefault(identity, len(ordinals))}"


def instantiation_shim(unit, kind, call, resolved, self_cxx=None, arch=None):
    """The shim of one instantiation (`kind`: "ctor", which constructs in place, or a call): its
    name and source, the renderer's forms (`_template_shim_forms`) filled in with the deduced
    spellings; the unit gets the helpers. A template that some archs only have (`arch`) gets its
    shim wrapped in their condition, so that the unit compiles for every arch."""
    form = SHIM_FORMS
    unit.add(HELPERS_NAME, HELPERS)
    params, args = [], []
    if resolved.ret is not None:
        params.append(form["ret"].format(type=resolved.ret_cxx))
    if self_cxx is not None:
        params.append(form["self_const" if resolved.overload.data.get("const_self") else "self"].format(type=self_cxx))
    for i, s in enumerate(resolved.slots):
        if s.passing == "functor":  # a user operator: constructed in the shim, no argument
            args.append(form["functor_rvalue" if s.rvalue else "functor"].format(type=s.value_cxx))
            continue
        params.append(form["param"].format(type=s.value_cxx, index=i))
        args.append(_arg_expr(resolved, s, form["arg_rvalue" if s.rvalue else "arg"].format(index=i)))
    expr = form["call"].format(callee=call, args=", ".join(args))
    if kind == "ctor":
        body = form["construct"].format(call=expr)
    elif resolved.ret is not None:
        body = form["return"].format(type=resolved.ret_cxx, call=expr)
    else:
        body = form["discard"].format(call=expr)
    condition = arch.condition if arch is not None else ""
    name = _shim_name(resolved.overload.stem or "__nbst_tpl", "\0".join([unit.name, body, condition, *params]))
    src = form["shim"].format(name=name, params=", ".join(params), body=body)
    return name, form["guard"].format(condition=condition, shim=src) if condition else src


class TypedCall:
    """A typed call of one instantiation: what lowering needs."""

    def __init__(self, unit, shim, src, resolved, self_type=None, arch=None, what=None):
        self.unit, self.shim, self.src, self.resolved, self.self_type = unit, shim, src, resolved, self_type
        self.arch, self.what = arch, what
        self.params = ([] if self_type is None else [(self_type, "in")]) + [
            (s.numba, s.mode) for s in resolved.slots if s.passing != "functor"
        ]
        self.user_ops = [user_op_named(s.value_cxx) for s in resolved.slots if s.passing == "functor"]

    def return_type(self):
        """The call's Numba result: the return value, then each `out_return` output, as a tuple;
        a void callable with one output returns that output alone (`y = bs.InclusiveSum(x)`)."""
        outs = [ty for ty, mode in self.params if mode == "out"]
        if self.resolved.ret is None and len(outs) == 1:
            return outs[0]
        return rt._return_type(self.resolved.ret, self.params)

    @property
    def mutates(self):
        """Whether this is a call of a method that may change its receiver (a non-const one)."""
        return self.self_type is not None and bool(self.resolved.overload.data.get("mutates"))

    @property
    def ref_slots(self):
        """`(argument position, index into params)` of each value given to a non-const lvalue
        reference (`Slot.writes`)."""
        found, param = [], 0 if self.self_type is None else 1
        visible = 0
        for s in self.resolved.slots:
            if s.writes:
                found.append((visible, param))
            visible += s.sigty is not None
            param += s.passing != "functor"
        return found

    def writeback_signature(self, sig):
        """For a call typed `sig`, the signature of the write-back variant (its value `(result,
        *the writeback_indices parameters after the call)`) and what each value after the result
        is written back to: "self" or an argument position (`_typing._register_writeback_rewrite`)."""
        after = [self.params[i][0] for i in self.writeback_indices]
        targets = (("self",) if self.mutates else ()) + tuple(a for a, _p in self.ref_slots)
        return signature(rt._writeback_type(sig.return_type, *after), *sig.args, recvr=sig.recvr), targets

    @property
    def writeback_indices(self):
        """The params a write-back variant's value holds after the result: the receiver (a
        non-const method), then each `ref_slots` parameter."""
        return ([0] if self.mutates else []) + [p for _a, p in self.ref_slots]

    def lower(self, context, builder, args, writeback_type=None):
        """The call's value; with `writeback_type`, `(value, receiver after the call)`."""
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
                v = rt._template_data_pointer(context, builder, s.sigty, v)
            values.append(v)
        for op in self.user_ops:
            op.link(context, builder)
        return rt._template_call_shim(context, builder, self, values, writeback_type)


def lower_by_sig(table, writeback=False):
    """A lowering implementation that looks the call up by its signature's argument types; with
    `writeback`, that of a method's variant that also returns its receiver (`writeback_variant`)."""

    def impl(context, builder, sig, args):
        call = table[tuple(sig.args)]
        if writeback:
            return call.lower(context, builder, args, writeback_type=sig.return_type)
        return call.lower(context, builder, args)

    return rt._template_lowering(impl)


def writeback_variant(tb, key, table, sig):
    """For a method call typed `sig` (its typing template's key `key`, its typed calls `table`)
    whose method may change its receiver: the variant that returns `(result, receiver)`, as
    `(template, signature)`, which the runtime's rewrite calls instead when the receiver is a
    variable (`_typing._register_writeback_rewrite`); else None. A non-template method that
    took the call (`PlainCall`) answers for itself."""
    call = table.get((sig.recvr, *sig.args))
    plain = getattr(call, "plain", None)
    if plain is not None:
        found = getattr(plain.template, "_nbst_writeback", None)
        return None if found is None else found(call.sig)
    if call is None or not (call.mutates or call.ref_slots):
        return None
    variants = tb.__dict__.setdefault("_writeback_variants", {})
    variant = variants.get(key)
    if variant is None:

        class Variant(AbstractTemplate):
            def generic(self, args, kws):
                return None  # never typed: the rewrite gives its calls their signature

        Variant.key = (*key, "&")
        variant = variants[key] = Variant
        tb.b._lower(Variant.key, [types.VarArg(types.Any)], lower_by_sig(table, writeback=True))
        tb.b._sync()
    return (variant, *call.writeback_signature(sig))


def unit_for(unit, resolved):
    """The shim unit for a call: `unit`, or for a call that takes user operators a unit of its own
    (the same preceding text, the functors' declarations and the shims that use them). Its shims
    call symbols that only the kernels using the operators define, so no other kernel links it."""
    functors = functors_of(resolved)
    if not functors:
        return unit
    units = unit.__dict__.setdefault("_nbst_op_units", {})
    key = tuple(functors)
    op_unit = units.get(key)
    if op_unit is None:
        text = preceding_text(unit)
        op_unit = units[key] = rt.ShimUnit(text, f"{unit.name}+{'+'.join(functors)}")
        op_unit.preceding_text = text
        op_unit.add(HELPERS_NAME, HELPERS)
        op_unit.add("__nbst_operator_helpers", OP_LVALUE)
        for f in functors:
            op_unit.add(f, user_op_named(f).decl)
    return op_unit
