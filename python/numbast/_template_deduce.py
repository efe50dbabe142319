"""Overloads and deduction: each parameter's pattern unified with the Numba argument type, the
template arguments resolved (deduced, given or defaulted), the best overload selected as C++
would."""

from ._template_operators import is_function_type, user_op
from ._template_types import (
    SELF,
    Arg,
    Param,
    Reject,
    TemplateError,
    arg_text,
    bind,
    bind_pattern,
    cxx_of,
    fill,
    is_void,
    named,
    numba_of,
    numba_of_pattern,
    type_arg,
    types,
    unparse,
    value_arg,
)

ASK_COMPILER = "ask the compiler"  # a return type (`auto`, `decltype(...)`) NVRTC classifies


def made_overload(qual_name, params, stem, items=False):
    """An overload the runtime makes for a member the compiler resolves (one inherited from a base
    class): `params` are `(name, pattern)`, passed by value; the return type is the compiler's;
    `stem` names its shims (the class template's, from the renderer)."""
    spellings = [unparse(pat) for _n, pat in params]
    return Overload({
        "qual_name": qual_name, "params": [(n, sp, "in") for (n, _p), sp in zip(params, spellings)],
        "param_pieces": [(sp,) for sp in spellings], "patterns": [pat for _n, pat in params],
        "values": [(sp,) for sp in spellings], "ret": "auto", "ret_pieces": ("auto",), "ret_pattern": named("auto"),
        "ret_value": ("auto",), "ret_deduced": True, "items": items, "shim": stem,
    })  # fmt: skip


# ----------------------------------------------------------------------------- overloads and deduction


class Overload:
    """One callable of a template: a function template, or a class template's constructor or
    method (then `tparams` are the member template's own)."""

    def __init__(self, data, qual_name=None):
        self.qual_name = data.get("qual_name", qual_name)
        self.tparams = [Param(*p) for p in data.get("tparams", ())]
        self.ret = data.get("ret", "void")  # spellings come normalized (single spaces)
        self.params = [(name, sp, intent) for name, sp, intent in data["params"]]
        self.location = data.get("location", "")
        self.arch = data.get("arch")  # the preprocessor condition of the archs that have it, if not all
        # The renderer's analysis of the spellings (`crates/bindgen/src/render/spelling.rs`): each
        # parameter's pattern and the spelling of the value it refers to, the return type's, and
        # how specialized the overload is (pointer, array and concrete type nodes).
        self.patterns = [p for p in data.get("patterns", ())]
        self.param_pieces = [tuple(p) for p in data.get("param_pieces", ())]
        self.ret_pieces = tuple(data.get("ret_pieces", (self.ret,)))
        self.values = [tuple(v) for v in data.get("values", ())]
        # Whether each parameter's value is const at its top level (`const T` of `const T &`).
        self.value_const = list(data.get("value_const", [False] * len(self.values)))
        self.ret_pattern = data.get("ret_pattern", named("void"))
        self.ret_value = tuple(data.get("ret_value", ("void",)))
        self.ret_deduced = data.get("ret_deduced", False)
        self.specificity = data.get("specificity", 0)
        self.stem = data.get("shim")  # the name stem of its instantiation shims (`shim::template_shim_stem`)
        self.data = data

    def substituted(self, qual_name, mapping):
        """This overload with template parameters replaced (`mapping`: name -> text), as a member
        of one instantiation."""

        data = dict(self.data, qual_name=qual_name, ret=fill(self.ret_pieces, mapping))
        data["ret_pieces"], data["ret_value"] = bind(self.ret_pieces, mapping), bind(self.ret_value, mapping)
        data["params"] = [(n, fill(pp, mapping), i) for (n, _sp, i), pp in zip(self.params, self.param_pieces)]
        data["param_pieces"] = [bind(pp, mapping) for pp in self.param_pieces]
        data["patterns"] = [bind_pattern(p, mapping) for p in self.patterns]
        data["values"] = [bind(v, mapping) for v in self.values]
        data["ret_pattern"] = bind_pattern(self.ret_pattern, mapping)
        return Overload(data)

    def describe(self, name):
        head = f"template <{', '.join(map(str, self.tparams))}> " if self.tparams else ""
        params = ", ".join(f"{sp} {n}".strip() for n, sp, _i in self.params)
        where = f"  [{self.location}]" if self.location else ""
        return f"{head}{self.ret} {name}({params}){where}".replace(SELF, "Self")


class Slot:
    """How one C++ parameter is passed: `numba`/`mode` for the runtime's `_call_shim`, `sigty` for
    the Numba signature (None for an `out` parameter), and `passing`: "value", "ptr" (a pointer
    argument given as is), "data" (an array whose data the reference binds to) or "decay" (an
    array passed as a pointer to its data). `writes`: a value passed to a non-const lvalue
    reference, which the call may change (written back after it, `TypedCall.ref_slots`)."""

    __slots__ = ("mode", "numba", "passing", "rvalue", "sigty", "value_cxx", "writes")

    def __init__(self, value_cxx, numba, mode, sigty, passing, rvalue, writes=False):
        self.value_cxx, self.numba, self.mode = value_cxx, numba, mode
        self.sigty, self.passing, self.rvalue, self.writes = sigty, passing, rvalue, writes


class Resolved:
    """An overload with its template arguments: the slots, the return type and the cost (the
    number of arguments Numba converts)."""

    deduced_by_call = False  # whether C++ deduces every own template argument from the call's arguments

    def __init__(self, overload, own_args, slots, ret, ret_cxx, cost):
        self.overload, self.own_args, self.slots = overload, own_args, slots
        self.ret, self.ret_cxx, self.cost = ret, ret_cxx, cost

    @property
    def sigtys(self):
        return [s.sigty for s in self.slots if s.sigty is not None]

    def explicit_args(self):
        """`<...>` for the callee: every own template argument, deduced or default, so that the
        compiler instantiates what deduction chose."""
        spelled = []
        for p in self.overload.tparams:
            a = self.own_args.get(p.name)
            spelled.append(", ".join(x.cxx for x in a) if isinstance(a, list) else a.cxx)
        return f"<{', '.join(spelled)}>" if spelled else ""

    def call_args(self):
        """`<...>` for a call of a free function template: none where C++ deduces every template
        argument from the shim's arguments (whose types are the deduced parameter types), as in
        the call a user writes. Written out, they would be substituted into every function template
        of the name, where a hard error can arise: CCCL 13.0's `operator+<float>` on complex values
        instantiates `reverse_iterator<float>` through `operator+(typename
        reverse_iterator<_Iter>::difference_type, const reverse_iterator<_Iter> &)`."""
        return "" if self.deduced_by_call else self.explicit_args()


class Deduction:
    """Deduces the template arguments of one overload for one call; raises `Reject`."""

    def __init__(self, overload, outer, explicit, bindings, typingctx):
        self.ov, self.b, self.ctx = overload, bindings, typingctx
        self.own = {p.name: p for p in overload.tparams}
        self.env = dict(outer)  # name -> Arg (or list of Arg for a pack)
        self.cands = {}  # type parameter -> [(numba type, exact, parameter name)]
        self.values = {}  # non-type parameter -> [(value, parameter name)]
        self.packs = {}  # type pack -> [numba type] in argument order
        self.ops = {}  # type parameter -> [(function type, parameter name)]: user operators
        self.by_call = set()  # own parameters that C++ deduces from the shim's call too
        # Parameters whose type names a template that is not a bound class template (an alias
        # such as `type_identity_t<T>`): non-deduced contexts, their argument passed as its type.
        self.non_deduced = {}
        self.given = bool(explicit)  # template arguments given in the kernel (`f[np.int32]`)
        self._explicit(explicit)

    def _explicit(self, explicit):
        explicit = list(explicit)
        given = len(explicit)
        for p in self.ov.tparams:
            if not explicit:
                break
            if p.pack:
                self.env[p.name] = [a for e in explicit for a in (e if isinstance(e, list) else [e])]
                explicit = []
            else:
                self.env[p.name] = explicit.pop(0)
        if explicit:
            raise Reject(f"has {len(self.ov.tparams)} template parameter(s), {given} given")

    # -- matching parameter patterns against argument types --

    def _walk(self, pat, ty, exact, pname):
        kind = pat[0]
        if kind == "name":
            p = self.own.get(pat[1])
            if p is not None and p.kind == "type":
                if p.pack:
                    self.packs.setdefault(p.name, []).append(ty)
                else:
                    self.cands.setdefault(p.name, []).append((ty, exact, pname))
                self.by_call.add(p.name)
                return None
            return self._walk_template_id(pat, ty, pname)  # else a concrete type: checked once known
        if kind == "ptr":
            if isinstance(ty, types.CPointer):
                return self._walk(pat[1], ty.dtype, True, pname)
            if ty == types.voidptr and is_void(pat[1]):
                return None
            raise Reject(f"parameter `{pname}` is a pointer, the argument is {ty}")
        if kind == "array":
            if isinstance(ty, types.UniTuple):
                self._extent(pat, ty.count, pname)
                return self._walk(pat[1], ty.dtype, True, pname)
            raise Reject(f"parameter `{pname}` is an array, the argument is {ty}")
        raise Reject(f"parameter `{pname}`: unsupported type")

    def _walk_template_id(self, pat, ty, pname):
        """`complex<T>` against an instantiation of a bound class template: each template
        argument that is one of this overload's parameters is deduced from the instantiation's."""
        if len(pat) < 4:
            return  # not a template-id
        name, fully_qualified, parts, _pieces = pat[3]
        # `tuple<_Tp...>`: a pack expansion as the last template argument deduces the pack.
        parts = [part[:-3].strip() if part.endswith("...") and k == len(parts) - 1 else part for k, part in enumerate(parts)]
        if not any(part in self.own for part in parts):
            return  # no parameter of this overload in it
        owner = getattr(ty, "_nbst_owner", None)
        template = getattr(owner, "template", None)
        qual = getattr(template, "_qual", "").lstrip(":")
        # `::std::complex<U>` is fully qualified; `complex<T>` is named from within a namespace.
        if template is None or not (qual == name or (not fully_qualified and qual.endswith("::" + name))):
            tb = getattr(self.b, "_nbst_templates", None)
            if tb is not None and not bound_classes_named(tb, name, fully_qualified):
                # Not a class template bound here (an alias template, a trait's `::type`): as in
                # C++, nothing is deduced from it; its argument is passed as it is, C++ converts.
                self.non_deduced[pname] = ty
                return
            raise Reject(f"parameter `{pname}` takes a {name}<...>, the argument is {ty}")
        for part, tp in zip(parts, template._tparams):
            own, given = self.own.get(part), owner.args.get(tp.name)
            if own is not None and own.pack and own.kind == "type" and tp.pack and isinstance(given, list):
                self._deduce_pack(own, given, pname)
                continue
            if own is None or own.pack or not isinstance(given, Arg):
                continue
            self.by_call.add(own.name)
            if own.kind == "type":
                numba = self._numba_of_arg(given, pname)
                self.cands.setdefault(own.name, []).append((numba, True, pname))
            else:
                self.values.setdefault(own.name, []).append((given.value if given.value is not None else given.cxx, pname))

    def _extent(self, pat, count, pname):
        """Array pattern `pat` against `count` elements: its extent's parameter takes the count, a
        literal extent (the renderer's `pat[4]`) must be it."""
        extent, literal = pat[2], pat[4]
        p = self.own.get(extent)
        if p is not None and p.kind == "non_type":
            self.values.setdefault(extent, []).append((count, pname))
        elif literal is not None and literal != count:
            raise Reject(f"parameter `{pname}` has {literal} elements, the argument {count}")

    def _passing(self, pat, ty, pname):
        """Walks one parameter; returns how its argument is passed."""
        is_ref = pat[0] == "ref"
        vp = pat[2] if is_ref else pat
        if is_function_type(ty):  # a user operator (`UserOp`), built once the value type is known
            if vp[0] != "name" or vp[1] not in self.own or self.own[vp[1]].kind != "type":
                raise Reject(f"parameter `{pname}` ({unparse(pat)}) cannot take a Python function")
            self.ops.setdefault(vp[1], []).append((ty, pname))
            self.by_call.add(vp[1])
            return "functor"
        element = getattr(ty, "_nbst_ref_of", None)  # `a[i]` of an array of opaque structs
        if element is not None:
            if is_ref and pat[1] == "&":
                self._walk(vp, element, True, pname)
                return "element"
            ty = element  # passed by value: a copy
        if isinstance(ty, types.Array):
            if is_ref and pat[1] == "&&" and vp[0] == "name" and vp[1] in self.own:
                # A forwarding reference (`_Range &&`) would take the C++ array itself, whose
                # extent a Numba array does not have; its first element is not what it means.
                raise Reject(f"parameter `{pname}` ({unparse(pat)}) is a forwarding reference: it cannot take an array")
            if vp[0] == "array" or is_ref:
                target = vp[1] if vp[0] == "array" else vp
                by_call = set(self.by_call)
                self._walk(target, ty.dtype, True, pname)
                self.by_call = by_call  # the shim passes `__nbst_items(p)`, from which C++ deduces nothing
                return "data"
            if vp[0] == "ptr":
                self._walk(vp[1], ty.dtype, True, pname)
                return "decay"
            if vp[0] == "name" and vp[1] in self.own and self.own[vp[1]].kind == "type":
                self._walk(vp, types.CPointer(ty.dtype), False, pname)
                return "decay"
            raise Reject(f"parameter `{pname}` ({unparse(pat)}) cannot take an array")
        self._walk(vp, ty, False, pname)
        return "value"

    def _numba_of_arg(self, a, pname):
        """The Numba type of a class instance's type argument `a`, which parameter `pname` deduces from."""
        numba = a.numba or numba_of(a.cxx, self.b)
        if numba is None:
            raise Reject(f"parameter `{pname}`: template argument `{a.cxx}` has no Numba type")
        return numba

    def _deduce_pack(self, own, given, pname):
        """Type pack `own` deduced from a class instance's pack arguments `given` (`_Tp...` of
        `get(tuple<_Tp...> &)` from a `tuple<int, float>`)."""
        self.by_call.add(own.name)
        elements = [self._numba_of_arg(a, pname) for a in given]
        if self.packs.get(own.name, elements) != elements:
            raise Reject(f"parameter `{pname}`: pack `{own.name}` deduced twice, differently")
        self.packs[own.name] = elements

    # -- resolving the template arguments --

    def _resolve(self):
        for p in self.ov.tparams:
            given = self.env.get(p.name)
            if p.kind == "type" and p.pack:
                if given is None:
                    try:
                        self.env[p.name] = [type_arg(p, t, self.b) for t in self.packs.get(p.name, [])]
                    except TemplateError as e:
                        raise Reject(str(e)) from None
                continue
            if p.kind == "type" and p.name in self.ops:
                continue  # after the others: the operator's argument type is the call's value type
            if p.kind == "type":
                self._resolve_type(p, given)
            else:
                self._resolve_value(p, given)

    def _resolve_type(self, p, given):
        cands = self.cands.get(p.name, [])
        if given is not None:
            for ty, exact, pname in cands:
                if given.numba is None or (exact and ty != given.numba) or (not exact and self.ctx.can_convert(ty, given.numba) is None):
                    raise Reject(f"argument `{pname}` ({ty}) does not fit {p.name} = {given.cxx}")
            return
        if cands:
            exacts = {ty for ty, exact, _ in cands if exact}
            if len(exacts) > 1:
                shown = ", ".join(map(str, sorted(exacts, key=str)))
                raise Reject(f"conflicting deductions for `{p.name}`: {shown}")
            if exacts:
                (ty,) = exacts
                for other, _e, pname in cands:
                    if self.ctx.can_convert(other, ty) is None:
                        raise Reject(f"argument `{pname}` ({other}) does not convert to {p.name} = {ty}")
            else:
                tys = [ty for ty, _e, _n in cands]
                ty = tys[0] if all(t == tys[0] for t in tys) else self.ctx.unify_types(*tys)
                if ty is None or isinstance(ty, types.Optional):
                    shown = ", ".join(f"{t} (from `{n}`)" for t, _e, n in cands)
                    raise Reject(f"conflicting deductions for `{p.name}`: {shown}")
            try:
                self.env[p.name] = type_arg(p, ty, self.b)
            except TemplateError as e:
                raise Reject(str(e)) from None
            return
        self._default(p)

    def _resolve_value(self, p, given):
        seen = {v for v, _n in self.values.get(p.name, [])}
        if given is not None:
            if seen and seen != {given.value}:
                raise Reject(f"`{p.name}` = {given.cxx}, the arguments say {sorted(seen)}")
            return
        if len(seen) > 1:
            raise Reject(f"conflicting deductions for `{p.name}`: {sorted(seen)}")
        if seen:
            self.env[p.name] = value_arg(p, seen.pop())
            return
        self._default(p)

    def _default(self, p):
        if p.default is None:
            raise Reject(f"template parameter `{p.name}` cannot be deduced from the arguments; give it explicitly")
        mapping = self._mapping()
        text = fill(p.default_pieces, mapping)  # qualified by the renderer
        is_type = p.kind == "type"
        numba = numba_of_pattern(p.default_pattern, mapping, self.env, self.b) if is_type and p.default_pattern else None
        self.env[p.name] = Arg(text, numba=numba, is_type=is_type)

    def _mapping(self, pack_element=None):
        """Template parameter -> the text substituted for it in a type expression (for a pack
        element, that element)."""
        out = {name: arg_text(a) for name, a in self.env.items()}
        if pack_element is not None:  # every pack, the callable's or its class's, expands in step
            for name, a in self.env.items():
                if isinstance(a, list) and len(a) > pack_element:
                    out[name] = a[pack_element].text()
        return out

    def _numba_of_value(self, vp, mapping=None):
        """The Numba type of a parameter's value (pattern `vp`), template parameters replaced as
        `mapping` says (by default, as deduced so far)."""
        mapping = self._mapping() if mapping is None else mapping
        if vp[0] == "name":
            a = self.env.get(vp[1])
            if isinstance(a, Arg) and a.numba is not None:
                return a.numba
        numba = numba_of_pattern(vp, mapping, self.env, self.b)
        if numba is None and vp[0] == "name":  # `complex<float>`: an instance of a bound class template
            ci = class_instance_of(vp, mapping, self.b)
            numba = None if ci is None else ci._numba_type
        return numba

    # -- the whole deduction --

    def run(self, argtys):
        """Returns a `Resolved` for Numba argument types `argtys`."""
        params = [
            ((name, (value, const), intent), pat)
            for (name, _sp, intent), value, const, pat in zip(self.ov.params, self.ov.values, self.ov.value_const, self.ov.patterns)
        ]
        if any(pat[0] == "pack" for _p, pat in params[:-1]):
            raise Reject("a function parameter pack that is not last")
        fixed = [x for x in params if x[1][0] != "pack"]
        n_fixed = sum(1 for (_n, _s, intent), _p in fixed if intent != "out_return")
        expanded = []  # (name, value spelling, intent, pattern, pack element index or None)
        for (name, value, intent), pat in params:
            if pat[0] == "pack":
                extra = len(argtys) - n_fixed
                expanded += [(f"{name}[{k}]", value, intent, pat[1], k) for k in range(max(extra, 0))]
            else:
                expanded.append((name, value, intent, pat, None))
        visible = [x for x in expanded if x[2] != "out_return"]
        if len(visible) != len(argtys):
            raise Reject(f"takes {len(visible)} argument(s), {len(argtys)} given")
        argtys = [types.unliteral(t) for t in argtys]
        passing, it = {}, iter(argtys)
        for i, (name, _sp, intent, pat, _k) in enumerate(expanded):
            if intent == "out_return":
                continue
            ty = next(it)
            if intent in ("inout_ptr", "out_ptr"):
                if not isinstance(ty, types.CPointer):
                    raise Reject(f"argument `{name}` ({intent}) must be a pointer, not {ty}")
                self._walk(pat[2] if pat[0] == "ref" else pat, ty.dtype, True, name)
                passing[i] = "ptr"
            else:
                passing[i] = self._passing(pat, ty, name)
        self._resolve()
        self._resolve_ops(expanded, passing)
        slots, cost, it = [], 0, iter(argtys)
        for i, (name, sp, intent, pat, k) in enumerate(expanded):
            ty = None if intent == "out_return" else next(it)
            slot = self._slot(name, sp, intent, pat, ty, passing.get(i), k)
            cost += slot.sigty is not None and slot.passing == "value" and slot.sigty != ty
            slots.append(slot)
        ret, ret_cxx = self._return()
        own = {p.name: self.env[p.name] for p in self.ov.tparams}
        r = Resolved(self.ov, own, slots, ret, ret_cxx, cost)
        # Template arguments given in the kernel are written out, as a C++ call gives them.
        r.deduced_by_call = not self.given and all(p.name in self.by_call for p in self.ov.tparams)
        return r

    def _slot(self, name, value, intent, pat, ty, passing, element):
        """`value` is the pieces of the value's spelling and whether it is const."""
        value, const = value
        vp = pat[2] if pat[0] == "ref" else pat
        rvalue = pat[0] == "ref" and pat[1] == "&&"
        value_cxx = fill(value, self._mapping(element))
        pack = self.env.get(vp[1]) if vp[0] == "name" else None
        if element is not None and isinstance(pack, list):
            numba = pack[element].numba
        else:
            numba = self._numba_of_value(vp, self._mapping(element))
        if passing == "functor":
            return Slot(self.env[vp[1]].cxx, ty, "functor", ty, "functor", rvalue)
        owner = getattr(numba, "_nbst_owner", None)
        if vp[0] == "name" and owner is not None:  # the shim is outside the template's namespace
            value_cxx = ("const " if const else "") + owner.cxx
        if intent == "out_return":
            if numba is None:
                raise Reject(f"out_return parameter `{name}` has type `{value_cxx}`, which has no Numba type")
            return Slot(value_cxx, numba, "out", None, "out", False)
        if passing == "ptr":
            if numba is None or ty != types.CPointer(numba):
                raise Reject(f"argument `{name}` must be a pointer to `{value_cxx}`, not {ty}")
            return Slot(value_cxx, ty, "ptr", ty, "ptr", False)
        if passing == "data":
            elem = numba.dtype if isinstance(numba, types.UniTuple) else numba
            if vp[0] == "array":
                elem = self._numba_of_value(vp[1], self._mapping(element))
                if not self._extent_known(vp):
                    raise Reject(f"the extent `{vp[2]}` of parameter `{name}` cannot be deduced from an "
                                     "array; give it explicitly")  # fmt: skip
            if elem != ty.dtype:
                raise Reject(f"argument `{name}` is an array of {ty.dtype}, the parameter refers to `{value_cxx}`")
            return Slot(value_cxx, types.CPointer(ty.dtype), "ptr", ty, "data", False)
        if passing == "decay":
            return Slot(value_cxx, types.CPointer(ty.dtype), "in", ty, "decay", False)
        if passing == "element":  # the reference binds to the array element itself
            elem = ty._nbst_ref_of
            if numba is not None and numba != elem:
                raise Reject(f"argument `{name}` is an element of type {elem}, the parameter refers to `{value_cxx}`")
            # The element's own spelling: a parameter may name it through a private alias
            # (WarpMergeSort's `typename BlockMergeSortStrategyT::TempStorage &`).
            return Slot(cxx_of(elem, self.b) or value_cxx, types.CPointer(elem), "ptr", ty, "element", False)
        if numba is None and name in self.non_deduced:  # spelled as the argument's own type
            numba = self.non_deduced[name]
            value_cxx = ("const " if const else "") + (cxx_of(numba, self.b) or value_cxx)
        if numba is None:
            raise Reject(f"parameter `{name}` has type `{value_cxx}`, which has no Numba type")
        if ty != numba and self.ctx.can_convert(ty, numba) is None:
            raise Reject(f"argument `{name}` ({ty}) does not convert to `{value_cxx}` ({numba})")
        writes = pat[0] == "ref" and pat[1] == "&" and not const
        return Slot(value_cxx, numba, "in", numba, "value", rvalue, writes)

    def _resolve_ops(self, expanded, passing):
        """Each type parameter that a Python function was given for becomes a functor calling it
        with two values of the call's value type (`_value_type`)."""
        for name, given in self.ops.items():
            (fnty, pname), *rest = given
            for other, oname in rest:
                if other != fnty:
                    raise Reject(f"conflicting deductions for `{name}`: the functions of `{pname}` and `{oname}`")
            value = self._value_type(expanded, passing)
            try:
                op = user_op(fnty, value, name, self.ov.stem)
            except TemplateError as e:
                raise Reject(str(e)) from None
            self.env[name] = Arg(op.functor, numba=fnty)

    def _value_type(self, expanded, passing):
        """The value type a user operator is called with: the class template's first type argument
        (for its members), else the first parameter whose value, or element, is a number or bool."""
        for key, a in self.env.items():
            if key in self.own or key == SELF or isinstance(a, list) or not a.is_type:
                continue
            if isinstance(a.numba, types.Number | types.Boolean):
                return a.numba
            break  # only the first type argument of the class
        mapping = self._mapping()
        for i, (_name, _value, intent, pat, _k) in enumerate(expanded):
            if intent == "out_return" or passing.get(i) == "functor":
                continue
            vp = pat[2] if pat[0] == "ref" else pat
            ty = self._numba_of_value(vp, mapping)
            while isinstance(ty, types.UniTuple | types.CPointer):
                ty = ty.dtype
            if isinstance(ty, types.Number | types.Boolean):
                return ty
        raise Reject("a Python function is given for an operator, but the call has no value of a number "
                         "type for it to take")  # fmt: skip

    def _extent_known(self, pat):
        return pat[4] is not None or isinstance(self.env.get(pat[2]), Arg)

    def _return(self):
        pat = self.ov.ret_pattern
        vp = pat[2] if pat[0] == "ref" else pat
        if is_void(vp):
            return None, "void"
        value_cxx = fill(self.ov.ret_value, self._mapping())
        numba = self._numba_of_value(vp)
        # `auto`, `decltype(...)`, a member type, an alias template (`common_type_t<T, U>`): the
        # compiler says what it is, once chosen (the renderer tells such a return type).
        if numba is None and (self.ov.ret_deduced or "::" in value_cxx or "<" in value_cxx):
            return ASK_COMPILER, value_cxx
        if numba is None:
            raise Reject(f"return type `{value_cxx}` has no Numba type")
        cxx = cxx_of(numba, self.b)
        if cxx is None:
            raise Reject(f"return type `{value_cxx}` ({numba}) has no C++ spelling")
        return numba, cxx


def _bare_params(ov, n):
    """Which template parameter each of the first `n` function parameters of `ov` is, where each
    is one (`T`, `const T &`, `T &&`), no template parameter is a pack and each non-type one has a
    default (`enable_if_t<...> = 0`); else None."""
    if len(ov.patterns) < n or any(t.pack or (t.kind != "type" and t.default is None) for t in ov.tparams):
        return None
    own = {t.name for t in ov.tparams if t.kind == "type"}
    out = []
    for pat in ov.patterns[:n]:
        vp = pat[2] if pat[0] == "ref" else pat
        if vp[0] != "name" or vp[1] not in own or tuple(vp[2]) != ("", vp[1], ""):
            return None
        out.append(vp[1])
    return out


def _most_specialized(fits, n):
    """The fits no other fit is more specialized than, by C++'s partial ordering where every
    parameter is a template parameter itself: `f(T, T)` deduces from `f(T, U)`'s arguments only
    where they are equal, so it is the more specialized. Fits of other shapes are kept as they are."""
    bare = [_bare_params(r.overload, n) for r in fits]
    if any(b is None for b in bare):
        return fits

    def at_least(a, b):  # every equality `b` requires, `a` requires too
        return all(a[i] == a[j] for i in range(n) for j in range(i + 1, n) if b[i] == b[j])

    return [r for r, a in zip(fits, bare) if not any(at_least(b, a) and not at_least(a, b) for b in bare)] or fits


def select(what, candidates, argtys, bindings, typingctx, viable=None, constructor=False):
    """The best of `candidates` (`(overload, outer args, explicit args)`) for `argtys`, or a
    TemplateError that lists every candidate and why it does not fit. `viable` filters the fits
    that remain ambiguous (by asking the compiler which of them substitution keeps: SFINAE).
    A `constructor`'s shim names no template arguments (C++ deduces them, SFINAE included), so
    fits that pass the same values make the same call."""
    fits, rejected = [], []
    for ov, outer, explicit in candidates:
        try:
            fits.append(Deduction(ov, outer, explicit, bindings, typingctx).run(argtys))
        except Reject as e:
            rejected.append((ov, str(e)))
    shown_args = ", ".join(map(str, argtys))
    if not fits:
        lines = [f"no overload of {what} fits ({shown_args}):"]
        lines += [f"  {ov.describe(what)}\n    -> {why}" for ov, why in rejected]
        raise TemplateError("\n".join(lines))
    best = min(r.cost for r in fits)
    fits = [r for r in fits if r.cost == best]
    if len(fits) > 1:  # as in C++, a non-template beats a template
        plain = [r for r in fits if not r.overload.tparams]
        fits = plain or fits
    if len(fits) > 1:  # and a more specialized template (`T *`) beats a less specialized one (`T`)
        most = max(r.overload.specificity for r in fits)
        fits = [r for r in fits if r.overload.specificity == most]
    if len(fits) > 1:  # `f(T, T)` is more specialized than `f(T, U)` (partial ordering)
        fits = _most_specialized(fits, len(argtys))
    if len(fits) > 1 and viable is not None:
        fits = viable(fits) or fits
    if len(fits) > 1:  # one Python name for `ns::f` and `ns::detail::f`: the outer one is the API
        depth = min(r.overload.qual_name.count("::") for r in fits)
        fits = [r for r in fits if r.overload.qual_name.count("::") == depth]
    if len(fits) > 1:  # as in C++, on a variable (a non-const object) a non-const member beats a const one
        fits = [r for r in fits if not r.overload.data.get("const_self")] or fits
    if len(fits) > 1:  # the same call (a `volatile` overload beside the plain one): the shim's compiler picks
        calls = {(str(r.ret_cxx), tuple(s.value_cxx for s in r.slots), "" if constructor else r.explicit_args()) for r in fits}
        fits = fits[:1] if len(calls) == 1 else fits
    if len(fits) > 1:
        lines = [f"call of {what} ({shown_args}) is ambiguous between:"]
        lines += [f"  {r.overload.describe(what)}" for r in fits]
        raise TemplateError("\n".join(lines))
    return fits[0]


def class_instance_of(pat, mapping, bindings):
    """The instantiation of a class template bound in `bindings` that the named type `pat` (a
    template-id: `thread_block_tile<32, cg::thread_block>`) is once `mapping` replaces template
    parameters, or None."""
    tb = getattr(bindings, "_nbst_templates", None)
    if pat[0] != "name" or len(pat) < 4 or tb is None:
        return None
    name, fully_qualified, _texts, args = pat[3]
    return class_instance_named(tb, name, [fill(a, mapping) for a in args], fully_qualified)


def bound_classes_named(tb, name, fully_qualified):
    """The class templates bound in `tb` that `name` names: the one of that qualified name where
    canopy gave the template's qualified name (`fully_qualified`), else each whose qualified name
    ends with it (a name written from within a namespace)."""
    return [t for q, t in tb._classes.items() if q == name or (not fully_qualified and q.endswith("::" + name))]


def class_instance_named(tb, name, texts, fully_qualified=False):
    """The instantiation of the one bound class template called `name` for template arguments
    spelled `texts`, or None."""
    matches = bound_classes_named(tb, name, fully_qualified)
    if len(matches) != 1:
        return None
    try:
        return matches[0]._instance_from_text(texts)
    except TemplateError:
        return None
