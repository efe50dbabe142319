"""Function templates: the kernel callable of a function template's overloads, their template
arguments deduced when a kernel calls it, or given as `f[np.float32]`."""

from . import _runtime as rt
from ._template_deduce import made_overload, select
from ._template_operators import functors_of
from ._template_probe import probe
from ._template_shims import TypedCall, ask_return, instantiation_shim, lower_by_sig, unit_for
from ._template_types import (
    AbstractTemplate,
    TemplateError,
    TypingError,
    arg_from_numba,
    arg_from_python,
    fill,
    pattern_of,
    signature,
    types,
    typing_error,
)


class BoundFunctionTemplate:
    """What `function_template` returns: callable in kernels, with template arguments deduced from
    the argument types; `f[args]` gives the template arguments that cannot be deduced (inside or
    outside a kernel)."""

    def __init__(self, tb, unit, py_name, overloads, explicit=()):
        self.__name__ = self.__qualname__ = py_name
        self._tb, self._unit, self._overloads, self._explicit = tb, unit, overloads, tuple(explicit)
        self._specializations = {}  # explicit argument spellings -> BoundFunctionTemplate
        self._calls = {}  # Numba argument types -> TypedCall (or PlainCall)
        self._plain = None  # the non-template functions of the same Python name (a BoundFunction)
        self._variant = None  # the typing template of the calls that write reference arguments back
        self._variant_sigs = {}  # argument types -> the variant's signature, as the rewrite asks
        fn = self

        class Call(AbstractTemplate):
            key = fn

            def generic(self, args, kws):
                return fn._type_call(self.context, args, kws)

            @classmethod
            def _nbst_writeback(cls, sig):
                return fn._writeback(sig)

        self._numba_type_ = types.Function(Call)
        tb.lower_getitem(self._numba_type_)
        tb.b._lower(self, [types.VarArg(types.Any)], lower_by_sig(self._calls))
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
        out = [arg_from_python(tparams[min(i, len(tparams) - 1)], a, self._tb.b) for i, a in enumerate(args)]
        return self._specialize(out)

    def _specialize_from_numba(self, tys):
        tparams = self._tparams()
        if len(tys) > len(tparams) and not (tparams and tparams[-1].pack):
            raise TemplateError(f"{self._qual_name} has {len(tparams)} template parameter(s), {len(tys)} given")
        return self._specialize([arg_from_numba(tparams[min(i, len(tparams) - 1)], t, self._tb.b) for i, t in enumerate(tys)])

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
            spellings = [fill(r.overload.ret_pieces, mapping)] + [fill(pp, mapping) for pp in r.overload.param_pieces]
            prelude += (f"template <class D, class = void> struct __nbst_sfinae{i} {{ static constexpr unsigned long long value = 0; }};\n"
                        f"template <class D> struct __nbst_sfinae{i}<D, typename __nbst_voider<{', '.join(spellings)}>::type> "
                        "{ static constexpr unsigned long long value = 1; };\n")  # fmt: skip
            exprs.append(f"__nbst_sfinae{i}<void>::value")
        prelude = (
            "template <class...> struct __nbst_voider { using type = void; };\n"
            "template <class D, class T> struct __nbst_dep { using type = T; };\n"
        ) + prelude
        try:
            functors = [f for r in fits for f in functors_of(r)]
            ok = probe(self._unit, exprs, f"the overloads of {self.__name__}", prelude, functors=functors)
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
        except TypingError as e:
            return None, str(e)
        except Exception as e:  # numba's own TypingError
            if "TypingError" not in type(e).__name__:
                raise
            return None, str(e)
        if sig is not None:
            self._calls[tuple(sig.args)] = PlainCall(self._plain, sig)
        return sig, None

    def _type_call(self, typingctx, args, kws):
        sig, plain_error = self._type_plain(typingctx, args, kws)
        # C++ prefers a non-template only where its conversions are no worse: a template deduced
        # from the arguments takes them as they are (`abs(float)` beside `int abs(int)`).
        if sig is not None and _exact(sig.args, args):
            return sig
        try:
            return self._type_template_call(typingctx, args, kws)
        except TypingError as e:
            if sig is not None:
                return sig
            if plain_error is None:
                raise
            raise TypingError(f"{plain_error}\n{e}") from None

    def _type_template_call(self, typingctx, args, kws):
        if kws:
            raise TypingError(f"{self.__name__}: keyword arguments are not supported; give template arguments as {self.__name__}[...]")
        args = tuple(types.unliteral(a) for a in args)
        call = self._calls.get(("typed",) + args)
        if call is None:
            try:
                candidates = [(ov, {}, self._explicit) for ov in self._overloads]
                r = select(self.__name__, candidates, args, self._tb.b, typingctx, self._viable)
            except TemplateError as e:
                raise typing_error(e) from None
            qual = "::" + r.overload.qual_name
            arch = self._tb.arch(r.overload.arch)
            try:
                ask_return(self._unit, r, qual + r.call_args(), arch=arch, bindings=self._tb.b)
            except TemplateError as e:
                raise typing_error(e) from None
            unit = unit_for(self._unit, r)
            shim, src = instantiation_shim(unit, "fn", qual + r.call_args(), r, arch=arch)
            call = TypedCall(unit, shim, src, r, arch=arch, what=r.overload.qual_name)
            self._calls[("typed",) + args] = call
            self._calls[tuple(r.sigtys)] = call
        return signature(call.return_type(), *call.resolved.sigtys)

    def _writeback(self, sig):
        """For a call typed `sig` that gives values to non-const lvalue references: the variant
        that also returns them after the call, `(template, signature, targets)`, which the
        runtime's rewrite calls instead (`_typing._register_writeback_rewrite`); else None. A
        non-template function that took the call answers for itself."""
        call = self._calls.get(tuple(sig.args))
        plain = getattr(call, "plain", None)
        if plain is not None:
            found = getattr(plain._template, "_nbst_writeback", None)
            return None if found is None else found(call.sig)
        if call is None or not call.ref_slots:
            return None
        if self._variant is None:
            fn = self

            class Variant(AbstractTemplate):
                key = rt._WritebackCallee(fn)

                def generic(self, args, kws):
                    return fn._variant_sigs.get(tuple(args))

            self._variant = Variant
            self._tb.b._lower(Variant.key, [types.VarArg(types.Any)], lower_by_sig(self._calls, writeback=True))
            self._tb.b._sync()
        vsig, targets = call.writeback_signature(sig)
        self._variant_sigs[tuple(sig.args)] = vsig
        return self._variant, vsig, targets

    def __call__(self, *args, **kwargs):
        raise TypeError(f"{self.__name__} can only be called inside a CUDA kernel")

    def __repr__(self):
        return f"<bound function template {self.__name__} ({self._qual_name})>"


def _exact(params, args):
    """Whether a call's arguments `args` are the parameter types `params` as they are (an array or
    a pointer fitted to a pointer parameter keeps its own type in the signature)."""
    return len(params) == len(args) and all(p == types.unliteral(a) for p, a in zip(params, args))


class PlainCall:
    """A call that a non-template function of a function template's name took."""

    def __init__(self, plain, sig):
        self.plain, self.sig = plain, sig

    def lower(self, context, builder, args):
        return rt._template_lower_plain(context, builder, self.plain, self.sig, args)


class InheritedStatic(BoundFunctionTemplate):
    """A static member function that a class has through a base class (`numeric_limits<int>::max`
    from `__numeric_limits_impl`): called with the arguments' own C++ types, overload resolution
    and the return type left to the compiler."""

    def __init__(self, tb, unit, py_name, instance):
        super().__init__(tb, unit, py_name, [made_overload(py_name, [], instance.template._shim_stem)])
        self._instance = instance

    def _type_template_call(self, typingctx, args, kws):
        params = []
        for k, a in enumerate(args):
            pat = pattern_of(a, self._tb.b)
            if pat is None:
                raise TypingError(f"{self.__name__}: argument {k} ({a}) has no C++ spelling")
            params.append((f"a{k}", pat))
        self._overloads = [made_overload(self.__name__, params, self._instance.template._shim_stem)]
        return super()._type_template_call(typingctx, args, kws)


def scope_of(qual_name):
    return qual_name.rsplit("::", 1)[0] if qual_name and "::" in qual_name else ""
