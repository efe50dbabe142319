"""Class templates: instantiations (their layout probed), constructed, called and read in kernels;
and the member function templates of bound structs."""

import inspect
import operator

from . import _runtime as rt
from ._template_deduce import Overload, made_overload, select
from ._template_functions import BoundFunctionTemplate, InheritedStatic, PlainCall
from ._template_probe import BUILTIN_KINDS, KIND_PROBE, NESTED_PROBE, probe
from ._template_shims import TypedCall, ask_return, instantiation_shim, lower_by_sig, unit_for, writeback_variant
from ._template_types import (
    SELF,
    AbstractTemplate,
    Arg,
    Param,
    TemplateError,
    TypingError,
    arg_from_numba,
    arg_from_python,
    arg_text,
    fill,
    norm,
    numba_of,
    numba_of_pattern,
    pattern_of,
    signature,
    types,
    typing_error,
)

CALL_OPERATOR = "operator()"  # the member a call of a value (`x(a, b)`, Python's `__call__`) reaches
INPLACE_OPERATORS = frozenset([
    operator.iadd, operator.isub, operator.imul, operator.itruediv, operator.imod,
    operator.iand, operator.ior, operator.ixor, operator.ilshift, operator.irshift,
])  # fmt: skip


class InstanceType(types.Type):
    """The Numba type of a class template instantiation's values: its bytes (`_OpaqueBitsModel`),
    with the C++ size and alignment."""

    def __init__(self, owner):
        self._nbst_owner = owner
        self._nbst_size, self._nbst_align = owner.size, owner.align
        super().__init__(name=owner.cxx)

    @property
    def key(self):
        return (self.name, id(self._nbst_owner))


rt._register_struct_model(InstanceType, "primitive")


class ClassObjectType(rt._StructClass):
    """The Numba type of an instantiated class object in a kernel: calling it constructs, its
    nested records are attributes (`BS.TempStorage`), and it is a dtype."""


rt._register_opaque_model(ClassObjectType)


class ClassInstance:
    """A class template instantiation (`BlockScan[np.int32, 128]`): the constructor in kernels and a
    stand-in for the type (`cuda.local.array(1, BS)`); nested records are attributes."""

    def __init__(self, template, cxx, args, size, align, nested, fields):
        self.__name__ = self.__qualname__ = cxx
        self.template, self.cxx, self.args = template, cxx, args
        self.size, self.align = size, align
        self.fields = fields  # public field name -> (Numba type, offset)
        self._numba_type = InstanceType(self)
        self.nested = {}
        tb = template._tb
        for name, layout in nested.items():
            if isinstance(layout, types.Type):  # a member typedef of a scalar type
                self.nested[name] = layout
                setattr(self, name, layout)
                continue
            self._nested_struct(name, *layout)
        tb.b.types[cxx] = self._numba_type
        self._calls = {}  # Numba argument types -> TypedCall (constructors)
        self._statics = {}  # name -> BoundFunctionTemplate of a static member function
        ci = self

        class Construct(AbstractTemplate):
            key = ci

            def generic(self, args, kws):
                if kws:
                    raise TypingError(f"{ci.cxx}: constructors take no keyword arguments")
                call = ci._construct(self.context, args)
                return signature(ci._numba_type, *call.resolved.sigtys)

        self._numba_type_ = ClassObjectType(Construct, self._numba_type)
        tb.b._lower(self, [types.VarArg(types.Any)], lower_by_sig(self._calls))
        tb.b._sync()

    def _nested_struct(self, name, size, align):
        obj = self.template._tb.b.struct(cxx_name=f"{self.cxx}::{name}", py_name=f"{self.cxx}::{name}", size=size,
                                         align=align, parent=types.Type, model="primitive")  # fmt: skip
        self.nested[name] = obj
        setattr(self, name, obj)
        return obj

    def __getattr__(self, name):
        """A member type the class has through a base class, which the header's declaration of the
        class does not list (WarpMergeSort's `TempStorage`, from BlockMergeSortStrategy): asked of
        the compiler, as the nested records are."""
        t = self.__dict__.get("template")
        if t is None or not t._inherits or name.startswith("_"):
            raise AttributeError(name)
        exprs = [f"__nbst_nested0<{self.cxx}>::size", f"__nbst_nested0<{self.cxx}>::align"]
        try:
            size, align = probe(t._unit, exprs, f"{self.cxx}::{name}", NESTED_PROBE.format(i=0, name=name),
                                     t._tb.arch(t._arch))  # fmt: skip
        except TemplateError:
            size = align = 0
        if size == 0:
            raise AttributeError(f"{self.cxx} has no accessible member type `{name}`")
        obj = self._nested_struct(name, size, align)
        self.template._tb.b._sync()
        return obj

    def __getitem__(self, index):
        return self._numba_type[index]

    def __call__(self, *args, **kwargs):
        raise TypeError(f"{self.cxx} can only be constructed inside a CUDA kernel")

    def __repr__(self):
        return f"<class template instance {self.cxx}>"

    def _outer(self):
        out = dict(self.args)
        out[SELF] = Arg(self.cxx, numba=self._numba_type)
        return out

    def _construct(self, typingctx, args):
        args = tuple(types.unliteral(a) for a in args)
        call = self._calls.get(("typed",) + args)
        if call is None:
            t = self.template
            candidates = [(ov, self._outer(), ()) for ov in t._constructors]
            if not t._constructors and not args:  # an implicit default constructor
                candidates = [(Overload({"params": [], "shim": t._shim_stem}), self._outer(), ())]
            try:
                r = select(f"{self.cxx} constructor", candidates, args, t._tb.b, typingctx, constructor=True)
            except TemplateError as e:
                raise typing_error(e) from None
            kept = [i for i, slot in enumerate(r.slots) if slot.writes]
            if kept:  # a copy's address would outlive the shim (`cuda::atomic_ref(a[i])`)
                names = [n for n, _sp, _intent in r.overload.params]
                name = names[min(kept[0], len(names) - 1)]  # a pack's elements share its name
                raise typing_error(TemplateError(
                    f"{self.cxx} constructor: parameter `{name}` is a non-const reference, which the object may "
                    f"keep; pass the storage it refers to (`a[i:]` for an array element, a pointer), not a value"))  # fmt: skip
            r.ret, r.ret_cxx = self._numba_type, self.cxx
            arch = t._tb.arch(t._arch)
            unit = unit_for(t._unit, r)
            shim, src = instantiation_shim(unit, "ctor", self.cxx, r, arch=arch)
            call = TypedCall(unit, shim, src, r, arch=arch, what=t._qual)
            self._calls[("typed",) + args] = call
            self._calls[tuple(r.sigtys)] = call
        return call

    def _method(self, typingctx, name, args, explicit=()):
        """The call of method `name` for Numba argument types `args`; `explicit` are the Numba
        types of the member template's arguments given in the kernel (`s.Sum[4](items)`)."""
        t = self.template
        args = tuple(types.unliteral(a) for a in args)
        table = t._method_calls[(name, explicit) if explicit else name]
        key = (self._numba_type,) + args
        call = table.get(("typed",) + key)
        if call is None:
            overloads = t._methods.get(name) or [self._inherited(name, args)]
            candidates, unfit = self._explicit_candidates(overloads, explicit)
            try:
                if not candidates:
                    lines = [f"no overload of {self.cxx}::{name} takes the template arguments ({', '.join(map(str, explicit))}):"]
                    lines += [f"  {ov.describe(f'{self.cxx}::{name}')}\n    -> {why}" for ov, why in unfit]
                    raise TemplateError("\n".join(lines))
                r = select(f"{self.cxx}::{name}", candidates, args, t._tb.b, typingctx)
            except TemplateError as e:
                raise typing_error(e) from None
            member = f"template {name}{r.explicit_args()}" if r.overload.tparams else name
            arch = t._tb.arch(t._arch)
            try:
                ask_return(t._unit, r, member, self_cxx=self.cxx, arch=arch, bindings=t._tb.b)
            except TemplateError as e:
                raise typing_error(e) from None
            unit = unit_for(t._unit, r)
            shim, src = instantiation_shim(unit, "method", f"__nbst_self->{member}", r, self_cxx=self.cxx, arch=arch)
            call = TypedCall(unit, shim, src, r, self_type=self._numba_type, arch=arch, what=t._qual)
            table[("typed",) + key] = call
            table[(self._numba_type,) + tuple(r.sigtys)] = call
        return call

    def _explicit_candidates(self, overloads, explicit):
        """`select`'s candidates among `overloads` for the explicit template arguments
        `explicit` (Numba types), each converted for that overload's own template parameters
        (`int ITEMS_PER_THREAD` takes a literal, `typename T` a type); the overloads they do not
        fit are returned with the reason."""
        t = self.template
        candidates, unfit = [], []
        for ov in overloads:
            if len(explicit) > len(ov.tparams) and not (ov.tparams and ov.tparams[-1].pack):
                unfit.append((ov, f"has {len(ov.tparams)} template parameter(s), {len(explicit)} given"))
                continue
            try:
                given = [arg_from_numba(ov.tparams[min(i, len(ov.tparams) - 1)], ty, t._tb.b) for i, ty in enumerate(explicit)]
            except TemplateError as e:
                unfit.append((ov, str(e)))
                continue
            candidates.append((ov, self._outer(), given))
        return candidates, unfit

    def _inherited_field(self, name):
        """`(Numba type, offset)` of a public data member the class has through a base class
        (`pair::first` from `__pair_base`), from one probe; None for a member that is not a data
        member of a builtin arithmetic type (a method, say)."""
        found = self.__dict__.setdefault("_inherited_fields", {})
        if name not in found:
            t = self.template
            exprs = [f"__nbst_offsetof(__nbst_layout_t, {name})",
                     f"__nbst_kind<decltype(__nbst_declval<__nbst_layout_t &>().{name})>::value"]  # fmt: skip
            prelude = KIND_PROBE + f"using __nbst_layout_t = {self.cxx};\n"
            try:
                offset, kind = probe(t._unit, exprs, f"{self.cxx}::{name}", prelude, t._tb.arch(t._arch))
            except TemplateError:
                offset, kind = None, 0
            field = None
            if offset is not None and 1 <= kind <= len(BUILTIN_KINDS):
                field = (BUILTIN_KINDS[kind - 1][1], offset)
                self.fields[name] = field
            found[name] = field
        return found[name]

    def _static(self, name):
        """`C.name` for a static member function of this instantiation (its own or, for a class
        with base classes, one the compiler finds in a base): a function template whose
        overloads are the member's with the class's template arguments written in."""
        fn = self._statics.get(name)
        if fn is not None:
            return fn
        t = self.template
        mapping = {k: arg_text(v) for k, v in self.args.items()}
        mapping[SELF] = self.cxx
        if name in t._statics:
            overloads = [ov.substituted(f"{self.cxx}::{name}", mapping) for ov in t._statics[name]]
            fn = BoundFunctionTemplate(t._tb, t._unit, f"{self.cxx}::{name}", overloads)
        else:
            fn = InheritedStatic(t._tb, t._unit, f"{self.cxx}::{name}", self)
        self._statics[name] = fn
        return fn

    def _inherited(self, name, args):
        """A member the class has through a base class (cooperative groups' `thread_block_tile`
        gets `sync`, `thread_rank` and `shfl` from its bases): called with the arguments' own C++
        types by value, overload resolution and the return type left to the compiler. An array
        argument is passed as its data, which converts to whatever array reference (`KeyT (&)[N]`)
        or pointer the member takes (`__nbst_items`)."""
        params = []
        for k, a in enumerate(args):
            if isinstance(a, types.Array):
                pat = pattern_of(types.CPointer(a.dtype), self.template._tb.b)
                if pat is None:
                    raise TypingError(f"{self.cxx}::{name}: argument {k} ({a}) has no C++ element type")
                params.append((f"a{k}", pat))
                continue
            pat = pattern_of(a, self.template._tb.b)
            if pat is None:
                raise TypingError(f"{self.cxx}::{name}: argument {k} ({a}) has no C++ spelling")
            params.append((f"a{k}", pat))
        return made_overload(f"{self.template._qual}::{name}", params, self.template._shim_stem, items=True)


class _StructOwner:
    """What a struct's member templates have of a class template (`ClassInstance.template`):
    their overloads and typed calls, and where their shims go."""

    def __init__(self, tb, unit, cxx, methods, statics):
        self._tb, self._unit, self._qual, self._arch = tb, unit, cxx, None
        self._inherits, self._shim_stem = False, None  # no member of a base: every overload is rendered
        self._methods, self._statics = {}, {}
        for table, entries in ((self._methods, methods), (self._statics, statics)):
            for name, data in entries:
                table.setdefault(name, []).append(Overload(data, cxx))
        self._method_calls = {name: {} for name in self._methods}


class StructMembers(ClassInstance):
    """The member function templates of a bound struct: a method is typed as a class template
    instance's (`ClassInstance._method`, the struct's value as `self`), after the struct's
    non-template overloads of the same name; a static one is a function template that `S.name`
    and `x.name` stand for."""

    def __init__(self, tb, unit, struct, methods, statics):  # the struct is its own type: no layout to ask
        self.__name__ = self.__qualname__ = struct.cxx_name
        self.template = _StructOwner(tb, unit, struct.cxx_name, methods, statics)
        self.cxx, self.args, self.fields, self.nested = struct.cxx_name, {}, {}, {}
        self._numba_type, self._statics = struct._numba_type, {}
        for name, table in self.template._method_calls.items():
            tb.b._lower((self, name), [types.VarArg(types.Any)], lower_by_sig(table))
            py_name = "__call__" if name == CALL_OPERATOR else name
            if py_name == "__call__":  # Numba lowers a call of a value by the value's type
                tb.b._lower(self._numba_type, [self._numba_type, types.VarArg(types.Any)], lower_by_sig(table))
            struct._tpl_methods[py_name] = self._typing_template(struct, name, py_name, table)
        for name in self.template._statics:
            fn = self._static(name)
            plain = struct._statics.get(name)
            if isinstance(plain, rt.BoundFunction):
                fn._plain = plain  # tried first, as C++ prefers a non-template
            tb.b.add_static(struct, name, fn)
        tb.b._sync()

    def _typing_template(self, struct, name, py_name, table):
        members = self

        class Method(AbstractTemplate):
            key = (members, name)

            @classmethod
            def _nbst_writeback(cls, sig):
                return writeback_variant(members.template._tb, cls.key, table, sig)

            def generic(self, args, kws):
                if kws:
                    raise TypingError(f"{members.cxx}::{name}: keyword arguments are not supported")
                plain = struct._methods.get(py_name)
                if plain is not None:  # the non-template overloads first, as C++ prefers them
                    try:
                        sig = plain(self.context).apply(args, kws)
                    except Exception as e:  # numba's own TypingError, or the runtime's
                        if "TypingError" not in type(e).__name__:
                            raise
                        sig = None
                    if sig is not None:
                        sig = sig.replace(recvr=self.this)
                        table[(self.this,) + tuple(sig.args)] = PlainCall(types.BoundFunction(plain, self.this), sig)
                        return sig
                call = members._method(self.context, name, args)
                return signature(call.return_type(), *call.resolved.sigtys, recvr=self.this)

        return Method

    def __repr__(self):
        return f"<member templates of {self.cxx}>"


class BoundClassTemplate:
    """What `class_template` returns. Outside a kernel, `BlockScan[np.int32, 128]` or
    `BlockScan.instantiate(T=np.int32, BlockDimX=128)` gives the instantiation (a `ClassInstance`);
    in a kernel, `BlockScan(T=int32, BlockDimX=128)` constructs one (constructor arguments
    positional, template arguments by keyword)."""

    def __init__(self, tb, unit, py_name, qual_name, location, tparams, nested, fields, constructors, methods,
                 arch=None, inherits=False, statics=(), operators=(), shim=None):  # fmt: skip
        self.__name__ = self.__qualname__ = qual_name
        self._shim_stem = shim  # the name stem of the shims of members the runtime makes
        self._inherits = inherits  # it has base classes, whose members the compiler resolves
        self.py_name, self.location, self._arch = py_name, location, arch
        self._tb, self._unit, self._qual = tb, unit, qual_name
        self._tparams = [Param(*p) for p in tparams]
        # A nested record (or a member type reached through a base class) is given by name, a member
        # alias as `(name, target, pattern)`; the renderer marks the class itself in member
        # spellings as `__nbst_self__` (`crates/bindgen/src/render/self_refs.rs`).
        self._nested = [n if isinstance(n, str) else n[0] for n in nested]
        self._nested_aliases = {n[0]: n[1] for n in nested if not isinstance(n, str)}  # spellings come normalized
        self._alias_patterns = {n[0]: n[2] for n in nested if not isinstance(n, str)}
        self._fields = [(name, pat) for name, _sp, pat in fields]
        self._constructors = [Overload(c, qual_name) for c in constructors]
        self._methods = {}
        for name, data in methods:
            self._methods.setdefault(name, []).append(Overload(data, qual_name))
        self._statics = {}  # static member function name -> overloads
        for name, data in statics:
            self._statics.setdefault(name, []).append(Overload(data, qual_name))
        self._method_calls = {name: {} for name in self._methods}
        self._instances = {}  # C++ spelling -> ClassInstance
        self._calls = {}  # Numba argument types -> (ClassInstance, TypedCall), in-kernel construction
        ct = self

        class Construct(AbstractTemplate):
            key = ct
            prefer_literal = True  # non-type template arguments are literals

            def generic(self, args, kws):
                return ct._type_construct(self.context, args, kws)

        self._numba_type_ = types.Function(Construct)
        tb.lower_getitem(self._numba_type_)
        tb.b._lower(self, [types.VarArg(types.Any)], rt._template_lowering(self._lower_construct))
        for name, table in self._method_calls.items():
            tb.b._lower((self, name), [types.VarArg(types.Any)], lower_by_sig(table))
        for op, name in operators:
            self._member_operator(op, name)
        tb.b._sync()

    def _member_operator(self, op, name):
        """`x + y`, `x[i]`, `x += y` for an instance `x`: its member operator `name`, typed as a
        method call with `x` as `self`. In-place operators return the updated copy, which Numba
        assigns back to `x`."""
        ct, table = self, self._method_calls[name]
        lowered = set()

        class MemberOperator(AbstractTemplate):
            key = op

            def generic(self, args, kws):
                if kws or not args:
                    return None
                this = types.unliteral(args[0])
                if not isinstance(this, InstanceType) or this._nbst_owner.template is not ct:
                    return None
                try:
                    call = this._nbst_owner._method(self.context, name, args[1:])
                except TypingError:
                    return None
                sig = signature(call.return_type(), this, *call.resolved.sigtys)
                if sig.args not in lowered:
                    lowered.add(sig.args)
                    ct._tb.b._lower(op, list(sig.args), lower_by_sig(table))
                    ct._tb.b._sync()
                if op in INPLACE_OPERATORS:
                    this.mutable = True  # lowered as this operator, not as its copying form
                return sig

        self._tb.b.typing_registry.register_global(op, types.Function(MemberOperator))

    def __repr__(self):
        return f"<bound class template {self._qual}>"

    def __getattr__(self, name):
        enums = self.__dict__.get("_enums")
        if enums is not None and name in enums.dependent():
            raise AttributeError(f"{self._qual}::{name} depends on the template's arguments: it is an attribute "
                                 f"of an instantiation ({self.py_name}[...].{name})")  # fmt: skip
        raise AttributeError(f"{self._qual} has no attribute `{name}`")

    def __call__(self, *args, **kwargs):
        raise TypeError(
            f"{self._qual} can only be constructed inside a CUDA kernel; outside one, "
            f"{self.py_name}[...] or {self.py_name}.instantiate(...) gives an instantiation"
        )

    def __getitem__(self, args):
        args = args if isinstance(args, tuple) else (args,)
        if len(args) > len(self._tparams) and not (self._tparams and self._tparams[-1].pack):
            raise TemplateError(f"{self._qual} has {len(self._tparams)} template parameter(s), {len(args)} given")
        given = {}
        for i, a in enumerate(args):
            p = self._tparams[min(i, len(self._tparams) - 1)]
            if p.pack:
                given.setdefault(p.name, []).extend(arg_from_python(p, list(args[i:]), self._tb.b))
                break
            given[p.name] = arg_from_python(p, a, self._tb.b)
        return self._instantiate(given)

    def instantiate(self, **kwargs):
        """The instantiation for template arguments by parameter name (`T=np.int32, BlockDimX=128`)."""
        return self._instantiate({k: arg_from_python(self._param(k), v, self._tb.b) for k, v in kwargs.items()})

    def _instance_from_text(self, texts):
        """The instantiation for template arguments spelled in C++, in order."""
        if len(texts) > len(self._tparams) and not (self._tparams and self._tparams[-1].pack):
            raise TemplateError(f"{self._qual} has {len(self._tparams)} template parameter(s), {len(texts)} given")
        given = {}
        for i, text in enumerate(texts):
            p = self._tparams[min(i, len(self._tparams) - 1)]
            if p.kind == "type":
                a = Arg(text, numba=numba_of(text, self._tb.b), is_type=True)
            else:
                a = Arg(text, value=int(text) if text.lstrip("-").isdigit() else None, is_type=False)
            if p.pack:
                given.setdefault(p.name, []).append(a)
            else:
                given[p.name] = a
        return self._instantiate(given)

    def _param(self, name):
        for p in self._tparams:
            if p.name == name:
                return p
        have = ", ".join(p.name for p in self._tparams)
        raise TemplateError(f"{self._qual} has no template parameter `{name}`; it has {have}")

    def _specialize_from_numba(self, tys):
        given = {}
        for i, t in enumerate(tys):
            if i >= len(self._tparams):
                raise TemplateError(f"{self._qual} has {len(self._tparams)} template parameter(s), {len(tys)} given")
            given[self._tparams[i].name] = arg_from_numba(self._tparams[i], t, self._tb.b)
        return self._instantiate(given)

    def _instantiate(self, given):
        """The instantiation for template arguments `given` (name -> Arg); defaults fill the
        rest. Probes its layout the first time."""
        last, env, spelled = -1, {}, []
        for i, p in enumerate(self._tparams):
            mapping = {k: arg_text(v) for k, v in env.items()}
            if p.name in given:
                a = given[p.name]
                # An argument spelled as its default is left out (`Window<int, dynamic>` is the
                # instance `Window<int>`), so that one C++ type is one instance.
                if p.pack or p.default is None or arg_text(a) != fill(p.default_pieces, mapping):
                    last = i
            elif p.pack:
                a = []
            elif p.default is not None:
                text = fill(p.default_pieces, mapping)
                is_type = p.kind == "type"
                numba = None
                if is_type and p.default_pattern:
                    numba = numba_of_pattern(p.default_pattern, mapping, env, self._tb.b)
                a = Arg(text, numba=numba, is_type=is_type)
            else:
                raise TemplateError(f"{self._qual}: template parameter `{p.name}` has no default and was not given")
            env[p.name] = a
        for p in self._tparams[: last + 1]:
            a = env[p.name]
            spelled.extend(x.cxx for x in a) if isinstance(a, list) else spelled.append(a.cxx)
        cxx = f"{self._qual}<{', '.join(spelled)}>"
        ci = self._instances.get(cxx)
        if ci is None:
            ci = self._instances[cxx] = self._layout(cxx, env)
        return ci

    def _layout(self, cxx, env):
        """The instantiation, with its size and alignment, those of its nested records and the
        offsets of its public fields (those with a Numba type), from one NVRTC probe."""
        mapping = {k: arg_text(v) for k, v in env.items()}
        mapping[SELF] = cxx
        fields = []
        for name, pat in self._fields:
            ty = numba_of_pattern(pat, mapping, env, self._tb.b)
            if ty is not None:
                fields.append((name, ty))
        # A member typedef of a scalar type is that Numba type; other nested types are probed.
        scalars = {}
        for name, pat in self._alias_patterns.items():
            ty = numba_of_pattern(pat, mapping, env, self._tb.b)
            if isinstance(ty, types.Number | types.Boolean):
                scalars[name] = ty
        probed = [n for n in self._nested if n not in scalars]
        exprs = [f"sizeof({cxx})", f"alignof({cxx})"]
        # Offsets through `__nbst_offsetof` (_OFFSETOF), naming the instance through an alias.
        exprs += [f"__nbst_offsetof(__nbst_layout_t, {name})" for name, _ty in fields]
        # A nested record that is not accessible (private) probes as size 0, through SFINAE.
        prelude = f"using __nbst_layout_t = {cxx};\n"
        prelude += "".join(NESTED_PROBE.format(i=i, name=n) for i, n in enumerate(probed))
        for i, _n in enumerate(probed):
            exprs += [f"__nbst_nested{i}<{cxx}>::size", f"__nbst_nested{i}<{cxx}>::align"]
        enum_exprs = self._enums.probes(cxx)
        exprs += enum_exprs
        try:
            values = probe(self._unit, exprs, cxx, prelude, self._tb.arch(self._arch))
        except TemplateError:
            if not fields:
                raise
            # If the offsets cannot be probed, probe the layout without them; the instance is then
            # opaque (no field attributes), its methods still work.
            fields = []
            exprs = [e for e in exprs if not e.startswith("__nbst_offsetof")]
            values = probe(self._unit, exprs, cxx, prelude, self._tb.arch(self._arch))
        offsets = {name: (ty, values[2 + i]) for i, (name, ty) in enumerate(fields)}
        base = 2 + len(fields)
        nested = {n: (values[base + 2 * i], values[base + 2 * i + 1]) for i, n in enumerate(probed)}
        nested = {n: layout for n, layout in nested.items() if layout[0] > 0}
        nested.update(scalars)
        ci = ClassInstance(self, cxx, env, values[0], values[1], nested, offsets)
        self._enums.attach(ci, mapping, env, values[len(values) - len(enum_exprs) :])
        # Clang may spell a member alias by its target (`Raw<_Storage> &` for `TempStorage &`). The
        # target names this instance's nested type, also where the same class template was bound
        # again (another shim unit) and an earlier instance of it registered the spelling.
        types_table = self._tb.b.types
        for name, target in self._alias_patterns.items():
            if name in ci.nested and name not in scalars and target[0] == "name":
                key, nested = norm(fill(target[2], mapping)).lstrip(":").strip(), ci.nested[name]._numba_type
                if getattr(types_table.get(key, nested), "name", None) == nested.name:
                    types_table[key] = nested
        return ci

    def _type_construct(self, typingctx, args, kws):
        try:
            given = {k: arg_from_numba(self._param(k), ty, self._tb.b) for k, ty in kws.items()}
            ci = self._instantiate(given)
        except TemplateError as e:
            raise typing_error(e) from None
        call = ci._construct(typingctx, args)
        sigtys = list(call.resolved.sigtys) + [kws[k] for k in kws]
        sig = signature(ci._numba_type, *sigtys)
        P = inspect.Parameter
        sig = sig.replace(pysig=inspect.Signature(
            [P(f"__nbst_a{i}", P.POSITIONAL_OR_KEYWORD) for i in range(len(call.resolved.sigtys))]
            + [P(k, P.POSITIONAL_OR_KEYWORD) for k in kws]
        ))  # fmt: skip
        self._calls[tuple(sigtys)] = (call, len(call.resolved.sigtys))
        return sig

    def _lower_construct(self, context, builder, sig, args):
        call, n = self._calls[tuple(sig.args)]
        return call.lower(context, builder, args[:n])

    def _resolve_attr(self, typ, attr):
        if attr == "__call__":  # `x(...)`: the call operator
            return types.BoundFunction(self._method_template(CALL_OPERATOR), typ) if CALL_OPERATOR in self._methods else None
        field = typ._nbst_owner.fields.get(attr)
        if field is None and self._inherits and attr not in self._methods and not attr.startswith("_"):
            field = typ._nbst_owner._inherited_field(attr)
        if field is not None:
            return field[0]
        if attr in self._methods or (self._inherits and not attr.startswith("_")):
            if attr not in self._method_calls:  # an inherited member, first seen here
                table = self._method_calls[attr] = {}
                self._tb.b._lower((self, attr), [types.VarArg(types.Any)], lower_by_sig(table))
                self._tb.b._sync()
            return types.BoundFunction(self._method_template(attr), typ)
        return None

    def _method_template(self, name, explicit=()):
        """The typing template of method `name`; with `explicit` (the Numba types of template
        arguments given in the kernel, `s.FlagHeads[4]`), that of the member template called with
        them, which has its own calls and lowering."""
        cache = self.__dict__.setdefault("_method_templates", {})
        template = cache.get((name, explicit))
        if template is None:
            ct = self
            if explicit:
                table = self._method_calls[(name, explicit)] = {}
                self._tb.b._lower((self, name, explicit), [types.VarArg(types.Any)], lower_by_sig(table))
                self._tb.b._sync()
            else:
                table = self._method_calls[name]

            class Method(AbstractTemplate):
                key = (ct, name, explicit) if explicit else (ct, name)

                @classmethod
                def _nbst_writeback(cls, sig):
                    return writeback_variant(ct._tb, cls.key, table, sig)

                def generic(self, args, kws):
                    if kws:
                        raise TypingError(f"{name}: keyword arguments are not supported")
                    call = self.this._nbst_owner._method(self.context, name, args, explicit)
                    return signature(call.return_type(), *call.resolved.sigtys, recvr=self.this)

            template = cache[(name, explicit)] = Method
        return template


class TemplateEnums:
    """The public enums of a class template, each `(name, members, underlying)` as the renderer
    writes them: members `(Python name, C++ name, value)`, the value None where it needs the
    template's arguments; the underlying type `(spelling, pattern)`, or None where C++ derives it
    from the values. An enum whose values and underlying type are known without the arguments is
    one `IntEnum`, shared by every instantiation (`Table.Pick is Table[np.int32, 4].Pick`) and
    registered under each instantiation's spelling; another is made per instantiation, its
    values probed with the layout."""

    def __init__(self, template, enums):
        self._template, self._enums, self._shared = template, list(enums), {}
        b = template._tb.b
        for name, members, underlying in self._enums:
            values = [v for _py, _cxx, v in members]
            if None in values:
                continue
            ty = self._underlying(underlying, values, {}, {})
            if ty is not None:
                self._shared[name] = cls = self._make(name, members, values, ty)
                b.member_type(template, name, cls)

    def _underlying(self, underlying, values, mapping, env):
        if underlying is None:  # as clang chooses for an unscoped enum without a fixed type
            lo, hi = min(values, default=0), max(values, default=0)
            if lo >= 0:
                return types.uint32 if hi < 2**32 else types.uint64
            return types.int32 if lo >= -(2**31) and hi < 2**31 else types.int64
        ty = numba_of_pattern(underlying[1], mapping, env, self._template._tb.b)
        return ty if isinstance(ty, types.Integer | types.Boolean) else None

    def _make(self, name, members, values, underlying):
        return self._template._tb.b.enum(cxx_name=None, py_name=name, underlying=underlying,
                                         members=[(py, v) for (py, _c, _v), v in zip(members, values)])  # fmt: skip

    def dependent(self):
        """The names of the enums that are an instantiation's only."""
        return [name for name, _m, _u in self._enums if name not in self._shared]

    def probes(self, cxx):
        """The expressions that give the values of instantiation `cxx` that need its arguments."""
        return [f"(long long)({cxx}::{name}::{c})" for name, members, _u in self._enums if name not in self._shared
                for _py, c, v in members if v is None]  # fmt: skip

    def attach(self, ci, mapping, env, probed):
        """The enums of instantiation `ci` as its attributes, `probed` the values of `probes`."""
        b, probed = self._template._tb.b, iter(probed)
        for name, members, underlying in self._enums:
            cls = self._shared.get(name)
            if cls is None:
                values = [v if v is not None else _signed(next(probed)) for _py, _c, v in members]
                ty = self._underlying(underlying, values, mapping, env)
                if ty is None:
                    spelled = fill(underlying[1][2], mapping) if underlying[1][0] == "name" else underlying[0]
                    raise TemplateError(f"{ci.cxx}::{name}: the underlying type `{spelled}` is not an integer type")
                cls = self._make(name, members, values, ty)
            key = norm(f"{ci.cxx}::{name}").lstrip(":").strip()
            b.types[key], b.enums[key] = cls._nbst_member_type, cls
            ci.nested[name] = cls
            setattr(ci, name, cls)


def _signed(value):
    """A probed value (unsigned 64 bits) as the signed value it stands for."""
    return value - 2**64 if value >= 2**63 else value


def get_field(context, builder, typ, value, attr):
    """A public field of a class template instance: its bytes at the probed offset."""
    fty, offset = typ._nbst_owner.fields[attr]
    return rt._template_field_at(context, builder, typ, value, fty, offset)
