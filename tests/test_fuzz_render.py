"""Property tests of the renderer: whatever names and values a declaration model holds, the rendered
Python parses, assigns only the names it should, and carries outside text only inside string
literals (no statement, import or call that the model did not ask for)."""

import ast
import json

import pytest

hypothesis = pytest.importorskip("hypothesis")
from ast_canopy import _core  # noqa: E402 (after the importorskip)
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

# Names that try to escape: quotes, newlines, backslashes, Python and C++ keywords, code.
HOSTILE = [
    'a"""b', "x'y", "line\nbreak", "#comment", "back\\slash", "import os; os.system('x')", "lambda", "None",
    "class", "__import__", "_b", "types", "operator", "def", "é", "\u2028", "\x00", "",
]  # fmt: skip
names = st.one_of(st.sampled_from(HOSTILE), st.text(min_size=0, max_size=12))

INT = {"name": "int", "unqualified_non_ref_type_name": "int", "ref_kind": "none", "is_const": False,
       "shape": {"tag": "int", "size": 4, "signed": True}}  # fmt: skip
FLOAT = {"name": "float", "unqualified_non_ref_type_name": "float", "ref_kind": "none", "is_const": False,
         "shape": {"tag": "float", "size": 4}}  # fmt: skip
VOID = {"name": "void", "unqualified_non_ref_type_name": "void", "ref_kind": "none", "is_const": False,
        "shape": {"tag": "void"}}  # fmt: skip
LOC = {"file": "h.cuh", "line": 1, "column": 1}


def function(name, params, ret):
    return {
        "name": name, "qual_name": name, "return_type": ret,
        "params": [{"name": p, "type_": t} for p, t in params], "exec_space": "device",
        "is_constexpr": False, "is_variadic": False, "mangled_name": "_Z" + str(abs(hash(name))),
        "attributes": [], "is_operator": False, "location": LOC,
    }  # fmt: skip


def struct(name, fields):
    return {
        "name": name, "qual_name": name, "tag": "struct",
        "fields": [{"name": f, "type_": INT, "access": "public", "offset": 4 * i} for i, f in enumerate(fields)],
        "methods": [], "templated_methods": [], "nested_records": [], "nested_class_templates": [], "bases": [],
        "sizeof_": max(4, 4 * len(fields)), "alignof_": 4, "location": LOC,
    }  # fmt: skip


def enum(name, members):
    return {
        "name": name, "qual_name": name, "enumerators": members,
        "enumerator_values": [str(i) for i in range(len(members))], "underlying_type": INT,
        "is_scoped": True, "location": LOC,
    }  # fmt: skip


def render(request):
    return json.loads(_core.render_bindings(json.dumps(request)))


def check_only_bindings(code, allowed_targets):
    """Every statement is `NAME = _b.<call>(...)`, `_b.<call>(...)` or `_b.types[...] = ...`, and
    every call inside is to `_b.*` or to a Numba type constructor: outside text is only data."""
    tree = ast.parse(code)
    assigned = set()
    for stmt in tree.body:
        if isinstance(stmt, ast.Assign):
            for t in stmt.targets:
                if isinstance(t, ast.Name):
                    assigned.add(t.id)
                else:
                    assert isinstance(t, ast.Subscript) and ast.unparse(t.value) == "_b.types", ast.unparse(stmt)
            value = stmt.value
        else:
            assert isinstance(stmt, ast.Expr), ast.dump(stmt)
            value = stmt.value
        for node in ast.walk(value):
            assert not isinstance(node, (ast.Lambda, ast.NamedExpr, ast.Import, ast.ImportFrom)), ast.unparse(stmt)
            if isinstance(node, ast.Call):
                callee = ast.unparse(node.func)
                assert callee.startswith(("_b.", "types.", "_parents")), callee
    assert assigned <= allowed_targets, assigned - allowed_targets
    return assigned


class _Recorder:
    """Stands in for the runtime's Bindings: records calls, returns a fresh object per call."""

    def __init__(self):
        self.types = {}
        self.calls = []

    def __getattr__(self, name):
        def record(*args, **kwargs):
            self.calls.append(name)
            return object()

        return record


def run_with_recorder(code):
    """Executes rendered code against a recorder: it runs, and never rebinds the runtime's names."""
    import numba.cuda  # noqa: F401  (the prelude's imports)

    ns = {}
    exec(_core.render_prelude(), ns)
    prelude = {k: v for k, v in ns.items() if not k.startswith("__")}
    recorder = _Recorder()
    reserved = {"_b": recorder, "_unit": object(), "_parents": [object()]}
    ns.update(reserved)
    exec(compile(code, "<rendered>", "exec"), ns)
    for name, value in reserved.items():
        assert ns[name] is value, f"rendered code rebound {name}"
    for name, value in prelude.items():
        assert ns[name] is value, f"rendered code rebound the prelude's {name}"
    assert recorder.calls


@settings(max_examples=150, deadline=None)
@given(fname=names, pnames=st.lists(names, max_size=3), sname=names, fields=st.lists(names, max_size=3),
       ename=names, members=st.lists(names, min_size=1, max_size=3, unique=True))  # fmt: skip
def test_rendered_code_is_only_bindings(fname, pnames, sname, fields, ename, members):
    request = {
        "context": {"known": {}, "unit_tag": "t"},
        "enums": [{"decl": enum(ename, members)}],
        "structs": [{"decl": struct(sname, fields), "parent": "_parents[0]", "model": "struct"}],
        "functions": [{"decl": function(fname, [(p, INT) for p in pnames], FLOAT)}],
    }
    out = render(request)
    allowed = {b["py_name"] for b in out["report"]["bound"] if b["py_name"]}
    assigned = check_only_bindings(out["code"], allowed)
    run_with_recorder(out["code"])
    for b in out["report"]["bound"]:
        if b["kind"] in ("function", "struct", "enum"):
            assert b["py_name"].isidentifier() and b["py_name"] in assigned


def test_huge_overload_set_renders_one_callable():
    fns = [function("f", [("x", INT)] * (i % 5), INT) for i in range(500)]
    for i, f in enumerate(fns):
        f["mangled_name"] = f"_Z1f{i}"
    out = render({"context": {"unit_tag": "t"}, "functions": [{"decl": f} for f in fns]})
    tree = ast.parse(out["code"])
    targets = {t.id for s in tree.body if isinstance(s, ast.Assign) for t in s.targets if isinstance(t, ast.Name)}
    assert targets == {"f"}
    shims = {b["name"] for b in out["report"]["bound"]}
    assert len(out["report"]["bound"]) == 500 and shims == {"f"}
    names = {line.split("shim=")[1].split(",")[0] for line in out["code"].splitlines() if "shim=" in line}
    assert len(names) == 500  # every overload has its own shim symbol


def test_void_function_and_no_params():
    out = render({"context": {"unit_tag": "t"}, "functions": [{"decl": function("g", [], VOID)}]})
    assert "ret=None" in out["code"] and "params=[]" in out["code"]


# ----------------------------------------------------------------------------- templates


def dependent(spelling):
    return {"name": spelling, "unqualified_non_ref_type_name": spelling, "ref_kind": "none", "is_const": False,
            "shape": {"tag": "dependent"}}  # fmt: skip


def tparam(name, kind="type", default=None, pack=False):
    return {"name": name, "kind": kind, "type_": INT if kind == "non_type" else None, "is_pack": pack, "default": default}


# Spellings of dependent types over a template parameter `{T}` (and `{N}`, a non-type one).
SHAPES = ["{T}", "const {T} &", "{T} &&", "{T} *", "const {T} *const", "{T} (&)[{N}]", "{T}[4]", "lib::Box<{T}, {N}>",
          "typename {T}::type", "{T}..."]  # fmt: skip


class _TemplateRecorder:
    """Stands in for the template runtime: records each registration's keyword arguments."""

    def __init__(self):
        self.calls = []

    def __getattr__(self, name):
        def record(*args, **kwargs):
            self.calls.append((name, args, kwargs))
            return object()

        return record


def check_pieces(pieces, text, params):
    """Pieces are literal text and references to the template parameters `params`, alternating,
    and join to the spelling they split."""
    assert isinstance(pieces, tuple) and len(pieces) % 2 == 1 and all(isinstance(p, str) for p in pieces), pieces
    assert set(pieces[1::2]) <= params, (pieces, params)
    assert "".join(pieces) == text, (pieces, text)


def check_pattern(pat, params):
    """A pattern is one of the shapes the runtime reads, its names and extents strings with their
    pieces (and an array's count)."""
    kind = pat[0]
    if kind == "name":
        assert isinstance(pat[1], str) and len(pat) in (3, 4), pat
        check_pieces(pat[2], pat[1], params)
        if len(pat) == 4:
            name, fully_qualified, args, pieces = pat[3]
            assert isinstance(name, str) and isinstance(fully_qualified, bool) and all(isinstance(a, str) for a in args)
            for text, p in zip(args, pieces, strict=True):
                check_pieces(p, text, params)
    elif kind == "ref":
        assert pat[1] in ("&", "&&"), pat
        check_pattern(pat[2], params)
    elif kind == "array":
        assert isinstance(pat[2], str) and len(pat) == 5, pat
        check_pieces(pat[3], pat[2], params)
        # A literal extent comes with its count; any other with None.
        assert pat[4] == (int(pat[2]) if pat[2].isascii() and pat[2].isdigit() else None), pat
        check_pattern(pat[1], params)
    else:
        assert kind in ("ptr", "pack") and len(pat) == 2, pat
        check_pattern(pat[1], params)


def check_overload(data, tparams, params, refs):
    """A rendered overload carries the model's names, one pattern and value per parameter, its
    spellings' pieces (which refer to `refs` only) and its shims' name stem."""
    assert [p[0] for p in data["tparams"]] == [p["name"] for p in tparams]
    assert [p[0] for p in data["params"]] == [p["name"] for p in params]
    assert len(data["patterns"]) == len(data["values"]) == len(data["param_pieces"]) == len(params)
    for pat in [*data["patterns"], data["ret_pattern"]]:
        check_pattern(pat, refs)
    # The pieces of a spelling with its whitespace runs made single spaces.
    for (_name, spelling, _intent), pieces in zip(data["params"], data["param_pieces"], strict=True):
        check_pieces(pieces, "".join(pieces), refs)
        assert "".join(pieces).split() == spelling.split(), (pieces, spelling)
    check_pieces(data["ret_pieces"], "".join(data["ret_pieces"]), refs)
    assert "".join(data["ret_pieces"]).split() == data["ret"].split()
    assert isinstance(data["specificity"], int) and data["specificity"] >= 0
    assert data["shim"].startswith("__nbst_tpl_") and data["shim"].isidentifier()


@settings(max_examples=150, deadline=None)
@given(tname=names, fname=names, tnames=st.lists(names, min_size=1, max_size=2), pnames=st.lists(names, max_size=3),
       shapes=st.lists(st.sampled_from(SHAPES), min_size=3, max_size=3), default=st.none() | names,
       fields=st.lists(names, max_size=2), mname=names)  # fmt: skip
def test_rendered_templates_are_only_data(tname, fname, tnames, pnames, shapes, default, fields, mname):
    """Function and class templates whose names, template parameters and parameters are hostile
    render as data: the code parses, calls only the template runtime, and each overload gives back
    the model's names with a well-formed pattern per parameter."""
    T, N = tnames[0], "N"
    tparams = [tparam(T, default=default), tparam(N, "non_type", default="4")]
    params = [{"name": p, "type_": dependent(shapes[i % 3].format(T=T, N=N))} for i, p in enumerate(pnames)]
    fn = function(fname, [], dependent(shapes[2].format(T=T, N=N)))
    fn["params"] = params
    ft = {"template_parameters": tparams, "num_min_required_args": 0, "function": fn, "qual_name": f"lib::{fname}",
          "method": None}  # fmt: skip
    record = struct(tname, [])
    record["fields"] = [{"name": f, "type_": dependent(shapes[1].format(T=T, N=N)), "access": "public", "offset": -1}
                        for f in fields]  # fmt: skip
    method = dict(function(mname, [], dependent(shapes[0].format(T=T, N=N))), params=params)
    record["methods"] = [{**method, "kind": "other", "is_const": False, "is_static": False, "is_virtual": False,
                          "is_copy_assignment": False, "is_move_assignment": False}]  # fmt: skip
    ct = {"template_parameters": tparams, "num_min_required_args": 1, "record": record, "qual_name": f"lib::{tname}"}
    out = render({"context": {"unit_tag": "t"}, "function_templates": [{"decl": ft}], "class_templates": [{"decl": ct}]})
    tree = ast.parse(out["code"])
    for node in ast.walk(tree):
        assert not isinstance(node, (ast.Lambda, ast.NamedExpr, ast.Import, ast.ImportFrom)), ast.unparse(node)
        if isinstance(node, ast.Call):
            assert ast.unparse(node.func).startswith(("_template_bindings", "_template_bindings(_b).")), ast.unparse(node)
    ns = {}
    exec(_core.render_prelude(), ns)
    recorder = _TemplateRecorder()
    ns.update({"_b": object(), "_unit": object(), "_template_bindings": lambda b: recorder})
    exec(compile(out["code"], "<rendered>", "exec"), ns)
    kinds = {b["kind"] for b in out["report"]["bound"]}
    for call, _args, kwargs in recorder.calls:
        if call == "function_template":
            for data in kwargs["overloads"]:
                check_overload(data, tparams, params[: len(data["params"])], {T, N})
        elif call == "class_template":
            assert [p[0] for p in kwargs["tparams"]] == [T, N]
            assert [f[0] for f in kwargs["fields"]] == fields
            for f in kwargs["fields"]:
                check_pattern(f[2], {T, N, "__nbst_self__"})
            for name, data in kwargs["methods"]:
                assert name == mname
                check_overload(data, [], params[: len(data["params"])], {T, N, "__nbst_self__"})
    assert ("function_template" in kinds) == any(c == "function_template" for c, _a, _k in recorder.calls)
    assert ("class_template" in kinds) == any(c == "class_template" for c, _a, _k in recorder.calls)
