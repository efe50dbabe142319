"""The Python side of the renderer fuzz target (crates/bindgen/tests/fuzz_render.rs); not a pytest
module (pytest collects `test_*.py` only).

One process serves a whole `cargo test` run. It reads requests from stdin and answers on stdout,
each message a line with the byte length of the JSON that follows, then that JSON (UTF-8). It
reports facts about the generated code and the Rust test decides what is right, except for checks
that need Python itself (what is an identifier, a keyword, a member of an IntEnum).

Requests (`op`):

- `dynamic`: `codes` (rendered registration code, as dynamic mode executes it, in order),
  `prelude` (the renderer's PRELUDE) and `parents` (how many `_parents[i]` each code may use). Each
  code is parsed and described statement by statement, then executed like `numbast._dynamic`
  does: in a fresh namespace of its own (the prelude's names, `_b`, `_unit`, `_parents`) with one
  stand-in `Bindings` shared by all codes, which records every registration.
- `static`: `python` (a generated module) and `stub` (its `.pyi`): both parsed and described; the
  module is executed, its registration (`_nb_register`, through the module's own `__getattr__`)
  run against a stand-in runtime, and what it defined and rebound is reported.
- `templates`: `codes` (rendered function and class templates) and `prelude`: each parsed and
  executed in a namespace of its own whose template runtime (`_template_bindings(_b)`) records
  every call with its keyword arguments (the templates' data), reported as JSON.
- `nvrtc`: `source` compiled by NVRTC (`cuda.bindings.nvrtc`) for `arch` with `-std=c++17
  -rdc=true`; answers `ok` and `log`, or `skipped` with the reason when cuda.bindings is missing.
"""

from __future__ import annotations

import ast
import builtins
import enum
import io
import json
import keyword
import operator as _operator
import sys
import traceback

# ----------------------------------------------------------------------------- describing code


def plain(node):
    """A JSON value for a literal expression; other expressions as `{"expr": source}`."""
    if isinstance(node, ast.Constant):
        v = node.value
        if isinstance(v, bool) or v is None or isinstance(v, (str, float)):
            return v
        if isinstance(v, int):
            return v if -(2**63) <= v < 2**63 else {"int": str(v)}
        return {"expr": ast.unparse(node)}
    if isinstance(node, (ast.List, ast.Tuple)):
        return [plain(e) for e in node.elts]
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub) and isinstance(node.operand, ast.Constant):
        v = node.operand.value
        if isinstance(v, int) and not isinstance(v, bool):
            return -v if -(2**63) <= -v < 2**63 else {"int": str(-v)}
    return {"expr": ast.unparse(node)}


FORBIDDEN_NODES = (
    ast.Lambda, ast.NamedExpr, ast.Import, ast.ImportFrom, ast.JoinedStr, ast.ListComp, ast.SetComp,
    ast.DictComp, ast.GeneratorExp, ast.Await, ast.Yield, ast.YieldFrom, ast.Starred, ast.FunctionDef,
    ast.ClassDef, ast.Global, ast.Nonlocal, ast.Delete,
)  # fmt: skip


def describe_statements(stmts):
    """Each statement of rendered registration code, as a record; the ones that are not of the
    shapes the renderer emits go to `bad`."""
    records, bad, calls, loads = [], [], set(), []
    for stmt in stmts:
        rec = {"line": stmt.lineno}
        if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1:
            t = stmt.targets[0]
            if isinstance(t, ast.Name):
                rec["target"] = t.id
            elif isinstance(t, ast.Subscript) and ast.unparse(t.value) == "_b.types":
                rec["subscript"] = plain(t.slice)
            elif isinstance(t, ast.Attribute):
                rec["attribute"] = ast.unparse(t)
            else:
                bad.append(ast.unparse(stmt)[:300])
                continue
            value = stmt.value
        elif isinstance(stmt, ast.Expr):
            value = stmt.value
        else:
            bad.append(ast.unparse(stmt)[:300])
            continue
        for node in ast.walk(value):
            if isinstance(node, FORBIDDEN_NODES):
                bad.append("forbidden " + type(node).__name__ + ": " + ast.unparse(stmt)[:300])
            elif isinstance(node, ast.Call):
                calls.add(ast.unparse(node.func))
            elif isinstance(node, ast.Attribute) and node.attr.startswith("__"):
                bad.append("dunder attribute: " + ast.unparse(node)[:300])
            elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
                loads.append([stmt.lineno, node.id])
        if isinstance(value, ast.Call):
            rec["call"] = ast.unparse(value.func)
            rec["args"] = [plain(a) for a in value.args]
            rec["kw"] = {k.arg: plain(k.value) for k in value.keywords if k.arg is not None}
        elif isinstance(value, ast.Subscript):
            rec["value"] = ast.unparse(value)
        else:
            rec["value"] = ast.unparse(value)[:300]
        records.append(rec)
    return {"records": records, "bad": bad, "calls": sorted(calls), "loads": loads}


def imports_in(tree):
    return sorted({ast.unparse(n) for n in ast.walk(tree) if isinstance(n, (ast.Import, ast.ImportFrom))})


def top_level_names(tree):
    """Names the module's top-level statements bind."""
    names = []
    for stmt in tree.body:
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.append(stmt.name)
        elif isinstance(stmt, (ast.Import, ast.ImportFrom)):
            names.extend((a.asname or a.name).split(".")[0] for a in stmt.names)
        elif isinstance(stmt, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
            for t in targets:
                names.extend(n.id for n in ast.walk(t) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store))
        elif isinstance(stmt, (ast.For, ast.With, ast.If, ast.Try, ast.While)):
            names.extend(n.id for n in ast.walk(stmt) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store))
    return names


def top_level_calls(tree):
    """Calls that run when the module is imported (outside function bodies)."""
    calls = []

    def visit(node):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            for d in getattr(node, "decorator_list", []):
                visit(d)
            return
        if isinstance(node, ast.Call):
            calls.append(ast.unparse(node.func))
        for child in ast.iter_child_nodes(node):
            visit(child)

    for stmt in tree.body:
        visit(stmt)
    return sorted(set(calls))


def name_flags(name):
    """Why `name` cannot be a binding's Python name, if it cannot."""
    flags = []
    if not isinstance(name, str) or not name.isidentifier():
        flags.append("not an identifier")
    elif keyword.iskeyword(name) or keyword.issoftkeyword(name):
        flags.append("keyword")
    if isinstance(name, str) and name.isascii() is False:
        flags.append("non-ASCII")
    return flags


# ----------------------------------------------------------------------------- stand-in runtime


class Tag:
    """What a registration call returned: its kind and key (C++ name, or Python name for functions)."""

    def __init__(self, kind, key, extra=None):
        self.kind, self.key, self.extra = kind, key, extra

    def describe(self):
        return [self.kind, self.key]


class FakeRegistry:
    def __init__(self):
        self.functions = []  # (impl, key, argtys), as numba-cuda's target registry has them


class FakeCode:
    pass


class FakeUnit:
    """Stands for a ShimUnit: keeps each shim once, in order, like the real one."""

    def __init__(self, preceding_text="", name="<unit>"):
        self.preceding_text = preceding_text
        self.name = name
        self.code = FakeCode()
        self.stream = io.StringIO(preceding_text)  # `shim_stream` in generated modules
        self.shims = {}
        self.order = []
        self.conflicts = []

    def add(self, shim, src):
        if not isinstance(shim, str) or not isinstance(src, str):
            raise TypeError(f"shim name and source must be str, not {type(shim)}, {type(src)}")
        if shim in self.shims:
            if self.shims[shim] != src:
                self.conflicts.append(shim)
        else:
            self.shims[shim] = src
            self.order.append(shim)

    def source(self):
        return self.preceding_text + "\n" + "".join("\n" + self.shims[n].rstrip() + "\n" for n in self.order)


def _nb():
    from numba.cuda import types as nbtypes

    return nbtypes


def check_params(params):
    from numbast._typing import _MODES  # the runtime's parameter modes

    nbtypes = _nb()
    if not isinstance(params, list):
        raise TypeError(f"params must be a list, not {params!r}")
    for p in params:
        if not (isinstance(p, tuple) and len(p) == 2 and isinstance(p[0], nbtypes.Type) and p[1] in _MODES):
            raise TypeError(f"bad parameter spec {p!r}")


def check_ret(ret):
    if ret is not None and not isinstance(ret, _nb().Type):
        raise TypeError(f"bad return type {ret!r}")


class FakeBindings:
    """The runtime's `Bindings` interface (same keyword-only signatures), recording every call."""

    def __init__(self, typing_registry=None, target_registry=None):
        self.typing_registry = typing_registry if typing_registry is not None else FakeRegistry()
        self.target_registry = target_registry if target_registry is not None else FakeRegistry()
        self.types = {}
        self.installs = 0
        self._functions = {}
        self.counts = {}
        self.units = []

    def _count(self, what, unit=None, shim=None, src=None):
        self.counts[what] = self.counts.get(what, 0) + 1
        if unit is not None:
            if not isinstance(unit, FakeUnit):
                raise TypeError(f"unit must be the shim unit, not {unit!r}")
            if unit not in self.units:
                self.units.append(unit)
            unit.add(shim, src)

    def install(self):
        self.installs += 1

    def register_type(self, cxx_name, numba_type, align=None):
        self.types[cxx_name] = numba_type

    def struct(self, *, cxx_name, py_name, size, align, parent=None, model="primitive", fields=()):
        nbtypes = _nb()
        if not (isinstance(parent, type) and issubclass(parent, nbtypes.Type)):
            raise TypeError(f"parent must be a Numba type class, not {parent!r}")
        if model not in ("primitive", "struct"):
            raise ValueError(f"bad model {model!r}")
        if not isinstance(cxx_name, str) or not isinstance(py_name, str):
            raise TypeError("names must be str")
        if not (isinstance(size, int) and isinstance(align, int)):
            raise TypeError("size and align must be int")
        for f in fields:
            if not (isinstance(f, tuple) and len(f) == 4 and isinstance(f[0], str) and isinstance(f[1], nbtypes.Type)
                    and isinstance(f[2], int) and isinstance(f[3], bool)):  # fmt: skip
                raise TypeError(f"bad field {f!r}")
        type(py_name, (), {})  # the runtime makes a class of this name
        tag = Tag("struct", cxx_name, {"fields": [f[0] for f in fields]})
        self.types[cxx_name] = nbtypes.Opaque(f"fuzz_struct_{len(self.types)}")
        self._count("struct")
        return tag

    def _struct_arg(self, struct):
        if not (isinstance(struct, Tag) and struct.kind == "struct"):
            raise TypeError(f"expected a struct, not {struct!r}")

    def constructor(self, struct, *, unit, shim, src, params, implicit=False):
        self._struct_arg(struct)
        check_params(params)
        if not isinstance(implicit, bool):
            raise TypeError("implicit must be bool")
        self._count("constructor", unit, shim, src)
        self.target_registry.functions.append((None, struct, params))

    def conversion(self, struct, *, unit, shim, src, to):
        self._struct_arg(struct)
        if not isinstance(to, _nb().Type):
            raise TypeError(f"bad conversion target {to!r}")
        self._count("conversion", unit, shim, src)

    def _member(self, kind, struct, unit, name, shim, src, ret, params):
        self._struct_arg(struct)
        check_params(params)
        check_ret(ret)
        if not isinstance(name, str):
            raise TypeError("method name must be str")
        self._count(kind, unit, shim, src)
        self.target_registry.functions.append((None, (struct, name), params))

    def method(self, struct, *, unit, name, shim, src, ret, params, mutates=False):
        assert isinstance(mutates, bool), f"mutates must be a bool, not {mutates!r}"
        self._member("method", struct, unit, name, shim, src, ret, params)

    def static_method(self, struct, *, unit, name, shim, src, ret, params):
        self._member("static_method", struct, unit, name, shim, src, ret, params)

    def function(self, *, unit, py_name, shim, src, ret, params):
        check_params(params)
        check_ret(ret)
        fn = self._functions.get((id(unit), py_name))
        if fn is None:
            fn = self._functions[(id(unit), py_name)] = Tag("function", py_name)
        self._count("function", unit, shim, src)
        self.target_registry.functions.append((None, fn, params))
        return fn

    def operator(self, *, unit, op, shim, src, ret, params):
        if getattr(_operator, getattr(op, "__name__", ""), None) is not op:
            raise TypeError(f"op must be a function of the operator module, not {op!r}")
        check_params(params)
        check_ret(ret)
        self._count("operator", unit, shim, src)
        self.target_registry.functions.append((None, op, params))

    def wrap_last_lowering(self, wrap):
        functions = self.target_registry.functions
        if not functions:
            raise ValueError("no lowering registered to wrap")
        impl, key, argtys = functions[-1]
        functions[-1] = (wrap(impl), key, argtys)

    def wrap_lowerings(self, fn, wrap):
        functions = self.target_registry.functions
        for i, (impl, key, argtys) in enumerate(functions):
            if key is fn:
                functions[i] = (wrap(impl), key, argtys)

    def member_type(self, struct, name, value):
        self._struct_arg(struct)
        if not (isinstance(name, str) and name.isidentifier()):
            raise TypeError(f"member type name must be an identifier, not {name!r}")
        if not isinstance(value, Tag):
            raise TypeError(f"member type must be a bound struct or enum, not {value!r}")
        self._count("member_type")

    def enum(self, *, cxx_name, py_name, members, underlying=None):
        nbtypes = _nb()
        if not (underlying is None or isinstance(underlying, (str, nbtypes.Type))):
            raise TypeError(f"bad underlying type {underlying!r}")
        names = [n for n, _ in members]
        cls = enum.IntEnum(py_name, [(name, int(value)) for name, value in members])
        lost = [n for n in names if n not in cls.__members__]
        if lost:
            raise ValueError(f"IntEnum {py_name!r} did not make members of {lost!r}")
        self.types[cxx_name] = nbtypes.Opaque(f"fuzz_enum_{len(self.types)}")
        self._count("enum")
        return Tag("enum", cxx_name, {"members": [[k, str(m.value)] for k, m in cls.__members__.items()]})


class FakeRuntime:
    """What a generated module's `_nb_runtime()` returns: the runtime module's names it uses."""

    def __init__(self):
        self.Bindings = self._bindings
        self.TypingRegistry = FakeRegistry
        self.TargetRegistry = FakeRegistry
        self.ShimUnit = self._unit
        self._NB_PACKAGE = "numba.cuda"  # the backend's Numba (`_nb_add_include_dirs` reads its config)
        self.bindings = []
        self.shim_units = []

    def _bindings(self, *args):
        b = FakeBindings(*args)
        self.bindings.append(b)
        return b

    def _unit(self, preceding_text, name):
        if not isinstance(preceding_text, str) or not isinstance(name, str):
            raise TypeError("ShimUnit(preceding_text: str, name: str)")
        u = FakeUnit(preceding_text, name)
        self.shim_units.append(u)
        return u

    def _template_bindings(self, b):
        raise NotImplementedError("templates are not fuzzed")


def describe_value(v):
    if isinstance(v, Tag):
        return v.describe()
    return ["other", type(v).__name__]


def error_text(e):
    return "".join(traceback.format_exception_only(type(e), e)).strip()[:2000]


# ----------------------------------------------------------------------------- requests


_PRELUDE_NS = {}


def prelude_namespace(prelude):
    if prelude not in _PRELUDE_NS:
        ns = {}
        exec(prelude, ns)
        _PRELUDE_NS[prelude] = {k: v for k, v in ns.items() if not k.startswith("__")}
    return _PRELUDE_NS[prelude]


def parsed(code, r):
    """`code`'s syntax tree, or None with the parse error recorded in the result `r`."""
    try:
        return ast.parse(code)
    except (SyntaxError, ValueError) as e:
        r["parse_error"] = error_text(e)
        return None


def op_dynamic(req):
    nbtypes = _nb()
    prelude = prelude_namespace(req["prelude"])
    b = FakeBindings()
    unit = FakeUnit()
    out = []
    for code, n_parents in zip(req["codes"], req["parents"]):
        r = {}
        out.append(r)
        tree = parsed(code, r)
        if tree is None:
            continue
        r.update(describe_statements(tree.body))
        r["imports"] = imports_in(tree)
        parents = [nbtypes.Type] * n_parents
        reserved = {"_b": b, "_unit": unit, "_parents": parents}
        ns = dict(prelude)
        ns.update(reserved)
        ns["__builtins__"] = builtins
        before = set(ns)
        try:
            exec(compile(code, "<rendered>", "exec"), ns)
        except BaseException as e:
            r["exec_error"] = error_text(e)
            continue
        r["rebound"] = sorted(k for k, v in list(reserved.items()) + list(prelude.items()) if ns.get(k) is not v)
        r["values"] = {k: describe_value(v) for k, v in ns.items() if k not in before}
    enums = {}
    return {
        "results": out,
        "shims": unit.shims,
        "shim_order": unit.order,
        "shim_conflicts": unit.conflicts,
        "unit_source": unit.source(),
        "counts": b.counts,
        "types": sorted(b.types),
        "enums": enums,
    }


STUB_OWN = {"_nbst_enum", "_nbst_Any", "_nbst_TargetRegistry", "_nbst_TypingRegistry", "_nbst_BoundStruct",
            "_nbst_FunctionTemplate", "_nbst_ClassInstance", "_nbst_ClassTemplate", "__version__", "__all__", "typing_registry", "target_registry", "shim_stream", "shim_obj",
            "install"}  # fmt: skip


def describe_stub(stub):
    try:
        tree = ast.parse(stub)
    except (SyntaxError, ValueError) as e:
        return {"parse_error": error_text(e)}
    names, enums = [], {}
    for stmt in tree.body:
        if isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name):
            names.append([stmt.target.id, "ann:" + ast.unparse(stmt.annotation)])
        elif isinstance(stmt, ast.Assign):
            for t in stmt.targets:
                names.append([ast.unparse(t), "alias:" + ast.unparse(stmt.value)])
        elif isinstance(stmt, ast.FunctionDef):
            names.append([stmt.name, "def"])
        elif isinstance(stmt, ast.ClassDef):
            bases = ",".join(ast.unparse(b) for b in stmt.bases)
            names.append([stmt.name, "class:" + bases])
            if bases == "_nbst_enum.IntEnum":
                members = []
                for s in stmt.body:
                    if isinstance(s, ast.Assign):
                        members.append([ast.unparse(s.targets[0]), str(ast.literal_eval(s.value))])
                enums[stmt.name] = members
        elif isinstance(stmt, (ast.Import, ast.ImportFrom)):
            names.extend([a.asname or a.name, "import"] for a in stmt.names)
        elif isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant) and isinstance(stmt.value.value, str):
            pass
        else:
            names.append([ast.unparse(stmt)[:200], "unexpected statement"])
    return {"names": names, "enums": enums, "imports": imports_in(tree)}


SETUP_NAMES = {"_nb_rt", "_b", "_unit", "typing_registry", "target_registry", "shim_stream", "shim_obj", "_template_bindings"}


def op_static(req):
    out = {"stub": describe_stub(req["stub"])}
    code = req["python"]
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError) as e:
        out["parse_error"] = error_text(e)
        return out
    out["imports"] = imports_in(tree)
    out["module_names"] = top_level_names(tree)
    out["top_level_calls"] = top_level_calls(tree)
    out["top_level_kinds"] = sorted({type(s).__name__ for s in tree.body})
    register = [s for s in tree.body if isinstance(s, ast.FunctionDef) and s.name == "_nb_register"]
    if len(register) != 1:
        out["register_error"] = "no single _nb_register"
        return out
    body = register[0].body
    fixed, rest, globals_ = [], [], []
    # The fixed head: docstring, `global` statements, the prelude, the setup assignments.
    i = 0
    while i < len(body):
        s = body[i]
        if isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant) and i == 0:
            pass
        elif isinstance(s, ast.Global):
            globals_.extend(s.names)
        elif (
            isinstance(s, (ast.Import, ast.ImportFrom))
            or (
                isinstance(s, ast.Assign)
                and len(s.targets) == 1
                and ast.unparse(s.targets[0])
                in (SETUP_NAMES | {"_unit.preceding_text", "_unit.code.setup_callback", "_unit.code.teardown_callback"})
            )
            or (isinstance(s, ast.Expr) and isinstance(s.value, ast.Call) and ast.unparse(s.value.func) == "_nb_add_include_dirs")
        ):
            pass
        else:
            break
        fixed.append(ast.unparse(s)[:300])
        i += 1
    rest = body[i:]
    out["register_head"] = fixed
    out["globals"] = globals_
    out["register"] = describe_statements(rest)
    try:
        out["all"] = ast.literal_eval(
            next(s.value for s in tree.body if isinstance(s, ast.Assign) and ast.unparse(s.targets[0]) == "__all__")
        )
    except (StopIteration, ValueError) as e:
        out["register_error"] = f"no literal __all__: {e}"
        return out
    out["name_flags"] = {n: name_flags(n) for n in out["all"] if name_flags(n)}

    # Import the module (its top level defines helpers only), then register through `__getattr__`.
    mod_name = req.get("module_name", "fuzzmod")
    ns = {"__name__": mod_name, "__file__": "/nonexistent/fuzz/" + mod_name + ".py", "__builtins__": builtins}
    try:
        exec(compile(code, mod_name + ".py", "exec"), ns)
    except BaseException as e:
        out["import_error"] = error_text(e)
        return out
    rt = FakeRuntime()
    ns["_nb_runtime"] = lambda: rt
    snapshot = dict(ns)
    unreachable = []
    try:
        for name in out["all"]:
            try:
                ns["__getattr__"](name)
            except AttributeError:
                unreachable.append(name)
        out["unreachable"] = unreachable
        ns["_nb_ensure"]()
        ns["install"]()
    except BaseException as e:
        out["exec_error"] = error_text(e)
        return out
    out["rebound"] = sorted(k for k, v in snapshot.items() if k != "_nb_state" and ns.get(k) is not v)
    out["new_globals"] = sorted(set(ns) - set(snapshot))
    out["values"] = {k: describe_value(ns[k]) for k in ns if k not in snapshot and k not in SETUP_NAMES}
    out["enum_members"] = {k: v.extra["members"] for k, v in ns.items() if isinstance(v, Tag) and v.kind == "enum" and k not in snapshot}
    if len(rt.bindings) != 1 or len(rt.shim_units) != 1:
        out["exec_error"] = f"{len(rt.bindings)} Bindings and {len(rt.shim_units)} shim units made"
        return out
    b, unit = rt.bindings[0], rt.shim_units[0]
    out["installs"] = b.installs
    out["counts"] = b.counts
    out["shims"] = unit.shims
    out["shim_conflicts"] = unit.conflicts
    out["unit_source"] = unit.source()
    out["preceding_text"] = unit.preceding_text
    out["dir_ok"] = set(out["all"]) <= set(ns["__dir__"]())
    return out


def op_nvrtc(req):
    try:
        from cuda.bindings import nvrtc
    except ImportError as e:
        return {"skipped": f"cuda.bindings is not importable: {e}"}
    src = req["source"].encode()
    err, prog = nvrtc.nvrtcCreateProgram(src, req.get("name", "fuzz_shims.cu").encode(), 0, [], [])
    if err != nvrtc.nvrtcResult.NVRTC_SUCCESS:
        return {"ok": False, "log": f"nvrtcCreateProgram: {err}"}
    try:
        opts = [b"-std=c++17", b"-rdc=true", f"--gpu-architecture={req.get('arch', 'sm_80')}".encode()]
        if req.get("lto", True):
            opts.append(b"-dlto")
        (res,) = nvrtc.nvrtcCompileProgram(prog, len(opts), opts)
        _, n = nvrtc.nvrtcGetProgramLogSize(prog)
        log = b" " * n
        nvrtc.nvrtcGetProgramLog(prog, log)
        return {"ok": res == nvrtc.nvrtcResult.NVRTC_SUCCESS, "log": log.decode(errors="replace").rstrip("\x00 ")}
    finally:
        nvrtc.nvrtcDestroyProgram(prog)


def jsonable(v):
    """A rendered template's data (tuples, lists, dicts, scalars) as JSON: tuples become lists."""
    if isinstance(v, tuple | list):
        return [jsonable(x) for x in v]
    if isinstance(v, dict):
        return {str(k): jsonable(x) for k, x in v.items()}
    if v is None or isinstance(v, str | int | float | bool):
        return v
    return ["other", type(v).__name__, repr(v)[:200]]


class TemplateRecorder:
    """The template runtime's stand-in: each call (`function_template`, `class_template`...) is
    recorded with its keyword arguments, and returns a fresh object."""

    def __init__(self):
        self.calls = []

    def __getattr__(self, kind):
        if kind.startswith("_"):
            raise AttributeError(kind)

        def record(*args, **kwargs):
            if args:
                raise TypeError(f"{kind}() takes keyword arguments only, got {len(args)} positional")
            self.calls.append({"kind": kind, "kwargs": jsonable(kwargs)})
            return type(kind, (), {})()

        return record


def op_templates(req):
    """Each code (template registrations) parsed and executed with the template runtime recorded:
    its statements, the names it assigns and the recorded calls."""
    prelude = prelude_namespace(req["prelude"])
    out = []
    for code in req["codes"]:
        r = {}
        out.append(r)
        tree = parsed(code, r)
        if tree is None:
            continue
        r["imports"] = imports_in(tree)
        recorder = TemplateRecorder()
        ns = dict(prelude)
        ns.update({"_b": FakeBindings(), "_unit": FakeUnit(), "_template_bindings": lambda b, r=recorder: r})
        ns["__builtins__"] = builtins
        before = set(ns)
        try:
            exec(compile(code, "<rendered templates>", "exec"), ns)
        except BaseException as e:
            r["exec_error"] = error_text(e)
            continue
        r["assigned"] = sorted(k for k in ns if k not in before)
        r["calls"] = recorder.calls
    return {"results": out}


OPS = {
    "dynamic": op_dynamic, "static": op_static, "nvrtc": op_nvrtc, "templates": op_templates,
    "ping": lambda req: {"pong": True},
}  # fmt: skip


def main():
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    # Anything the code under test prints must not corrupt the answers.
    sys.stdout = sys.stderr
    while True:
        line = stdin.readline()
        if not line:
            return
        n = int(line)
        req = json.loads(stdin.read(n).decode())
        try:
            resp = OPS[req["op"]](req)
        except BaseException as e:
            resp = {"checker_error": traceback.format_exc()[-4000:], "error": error_text(e)}
        data = json.dumps(resp).encode()
        stdout.write(b"%d\n" % len(data))
        stdout.write(data)
        stdout.flush()


if __name__ == "__main__":
    main()
