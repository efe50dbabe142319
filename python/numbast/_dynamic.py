"""Dynamic mode: bind declarations into Numba-CUDA in this process.

Each bind call sends the declarations (the `ast_canopy` objects themselves, which the Rust core
reads directly) to the Rust renderer, which returns Python registration code (the same code static
mode writes into a module) and a report; the code is executed here against the runtime of this
package's backend (`._runtime`: numba-cuda for `numbast`; for `numbast.mlir`, which loads this
module again as `numbast.mlir._dynamic`, numba-cuda-mlir). Free functions and operators come back
as data (a table per run of them) and are registered from it, with the same runtime calls their
code would make.
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
import importlib
import json
import operator
import os
import tempfile
import warnings
from collections.abc import Mapping
from types import MappingProxyType

import ast_canopy
from ast_canopy import _core
from ast_canopy import decls as _decls

from numbast._report import BindingReport, NumbastSkipWarning

_runtime = importlib.import_module("._runtime", __package__)  # this package's backend
types = _runtime.types

_NO_ENTRIES = MappingProxyType({})  # the default of the mapping parameters: read, never written

_BINDINGS = _runtime.Bindings()
_REPORT = BindingReport()
_PRELUDE_NS: dict = {}


def _templates():
    """This backend's template runtime (a struct's member templates are typed by it)."""
    return importlib.import_module("._templates", __package__)


def _namespace(**extra) -> dict:
    if not _PRELUDE_NS:
        prelude = _core.render_prelude(_runtime._NB_BACKEND == "numba-cuda-mlir")
        exec(compile(prelude, "<numbast prelude>", "exec"), _PRELUDE_NS)
    ns = dict(_PRELUDE_NS)
    ns["_b"] = _BINDINGS
    ns["_template_bindings"] = _templates()._template_bindings
    ns.update(extra)
    return ns


class _ShimWriter:
    """Collects the C++ shims of bound declarations into one NVRTC compilation unit."""

    def __init__(self, preceding_text: str = ""):
        if not isinstance(preceding_text, str):
            raise TypeError("preceding_text must be a str, such as '#include \"mylib.cuh\"'")
        self.preceding_text = preceding_text
        self.tag = hashlib.sha256(preceding_text.encode()).hexdigest()[:16]
        self.unit = _runtime.ShimUnit(preceding_text, f"numbast_shims_{self.tag}.cu")
        self.ptx_written: dict = {}  # id -> PTX text

    def write_to_shim(self, content: str, id: str) -> None:
        """Append C++ source ``content`` to the unit once per ``id`` (a later one with the same id
        is ignored)."""
        if not isinstance(content, str) or not isinstance(id, str):
            raise TypeError("write_to_shim(content, id) takes two str")
        self.unit.add(id, content)

    def write_to_ptx_shim(self, ptx: str, id: str) -> None:
        """Keep PTX text ``ptx`` (once per ``id``), linked as its own object through ``links()``."""
        if not isinstance(ptx, str) or not isinstance(id, str):
            raise TypeError("write_to_ptx_shim(ptx, id) takes two str")
        self.ptx_written.setdefault(id, ptx)

    def links(self) -> list:
        """Objects for ``cuda.jit(link=...)``: the shim unit, then each PTX written with
        ``write_to_ptx_shim``. The unit is optional there, since bound calls add it themselves."""
        ptx_source = _runtime._nb_importlib.import_module(_runtime._NB_PACKAGE + ".cudadrv.linkable_code").PTXSource
        return [*self.unit.links(), *(ptx_source(p.encode()) for p in self.ptx_written.values())]


class MemoryShimWriter(_ShimWriter):
    """Shims kept in memory and compiled with NVRTC when a kernel using them is linked."""


class FileShimWriter(_ShimWriter):
    """Like MemoryShimWriter, and ``write()`` saves the unit's source to a ``.cu`` file to inspect."""

    def __init__(self, preceding_text: str = "", path: str | None = None):
        super().__init__(preceding_text)
        self.path = path or os.path.join(tempfile.gettempdir(), f"numbast_shims_{self.tag}.cu")

    def write(self) -> str:
        with open(self.path, "w") as f:
            f.write(self.unit.source())
        return self.path


def register_cxx_type(cxx_name: str, numba_type, alignof: int | None = None):
    """Map the C++ type ``cxx_name`` to ``numba_type`` for the bindings made after this call."""
    if not isinstance(cxx_name, str) or not cxx_name:
        raise TypeError("cxx_name must be a non-empty str")
    if not isinstance(numba_type, types.Type):
        raise TypeError(f"numba_type must be a Numba type, not {numba_type!r}")
    _BINDINGS.register_type(cxx_name, numba_type, alignof)


def _model_name(data_model) -> str:
    """`primitive` or `struct` for a data model class: `PrimitiveModel` or `StructModel` from
    `numba.cuda.datamodel.models` or `numba.core.datamodel.models` (by class name, so that the
    two modules need not share classes), or either string."""
    if data_model is None:
        return "auto"
    if isinstance(data_model, str) and data_model in ("primitive", "struct", "auto"):
        return data_model
    bases = {c.__name__ for c in data_model.__mro__} if isinstance(data_model, type) else set()
    if "PrimitiveModel" in bases:
        return "primitive"
    if "StructModel" in bases:
        return "struct"
    raise TypeError(f"data_model must be PrimitiveModel or StructModel, not {data_model!r}")


def _check_writer(shim_writer):
    if not isinstance(shim_writer, _ShimWriter):
        raise TypeError(f"shim_writer must be a MemoryShimWriter or FileShimWriter, not {type(shim_writer).__name__}")


# path -> the ast_canopy FileDefinitions given to the runtime (`_register_definitions`)
_REGISTERED_DEFINITIONS: dict = {}


def _register_definitions() -> None:
    """Give the numba-cuda runtime the external definitions the parses of this process found, so
    that shim units including their headers are compiled without them (`_unit_split.py`)."""
    new = [(p, f) for p, f in ast_canopy.seen_definitions().items() if _REGISTERED_DEFINITIONS.get(p) is not f]
    if not new:
        return
    entries = []
    for path, f in new:
        cuts = [(d.body.start, d.body.end, d.identifier, d.uses, d.declaration) for d in f.definitions if d.body is not None]
        entries.append((path, f.size, f.crc32, cuts, any(d.body is None for d in f.definitions), f.uses))
    importlib.import_module("numbast._unit_split")._us_register(entries)
    _REGISTERED_DEFINITIONS.update(new)


def _render_and_run(shim_writer, request: dict, ns_extra: dict):
    if shim_writer is not None:
        _register_definitions()
    known = {name: f"_b.types[{json.dumps(name)}]" for name in _BINDINGS.types}
    request["context"]["known"] = known
    request["context"]["unit_tag"] = shim_writer.tag if shim_writer is not None else ""
    request["context"]["functions_as_data"] = True
    ns = _namespace(_unit=shim_writer.unit if shim_writer is not None else None, **ns_extra)
    with _collector_paused():
        response = json.loads(_core.render_bindings(request))
        for segment in response["segments"]:
            if "code" in segment:
                exec(compile(segment["code"], "<numbast bindings>", "exec"), ns)
            else:
                _register_functions(ns, segment["functions"])
    report = BindingReport.from_dict(response["report"])
    _REPORT.extend(report)
    if report.skipped:
        shown = "; ".join(f"{s.name}: {s.reason}" for s in report.skipped[:3])
        more = f" (and {len(report.skipped) - 3} more)" if len(report.skipped) > 3 else ""
        warnings.warn(
            f"numbast: {len(report.skipped)} declaration(s) not bound: {shown}{more}; see numbast.binding_report()",
            NumbastSkipWarning,
            stacklevel=3,
        )
    return ns, report


@contextlib.contextmanager
def _collector_paused():
    """Binding allocates many objects and frees few: the cyclic garbage collector, left on, walks
    them all, repeatedly, to find nothing."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            gc.enable()


def _register_functions(ns: dict, table: dict) -> None:
    """Registers a table of free functions and operators (`request.rs`, `FunctionTable`) as their
    rendered code would: `name = _b.function(...)`, `_b.operator(...)`. Each Numba type expression
    is evaluated once."""
    b, unit = ns["_b"], ns["_unit"]
    tys = [eval(expr, ns) for expr in table["types"]]
    function, op_overload = b.function, b.operator
    for py_name, op, shim, src, ret, params in table["rows"]:
        params = [(tys[t], mode) for t, mode in params]
        if op is None:
            ns[py_name] = function(unit=unit, py_name=py_name, shim=shim, src=src, ret=tys[ret], params=params)
        else:
            op_overload(unit=unit, op=getattr(operator, op), shim=shim, src=src, ret=tys[ret], params=params)


_INTENT_EXAMPLE = "{'func': {'out': 'out_return'}} or {'Struct': {'method': {0: 'inout_ptr'}}}"


def _check_intents(arg_intent) -> None:
    """`arg_intent` has the shape of an intent table (the intents themselves are checked per
    parameter: an unknown one skips the declaration it names), or a TypeError says where not."""
    if not isinstance(arg_intent, Mapping):
        raise TypeError(f"arg_intent must be a dict such as {_INTENT_EXAMPLE}, not {type(arg_intent).__name__}")

    def params(path, table):
        for key, intent in table.items():
            if not isinstance(key, (str, int)) or isinstance(key, bool):
                raise TypeError(f"arg_intent{path}: a parameter is named by a str or an int index, not {key!r}")
            if not isinstance(intent, str):
                raise TypeError(f"arg_intent{path}[{key!r}] must be an intent such as 'out_return', not {type(intent).__name__}")

    for owner, entries in arg_intent.items():
        if not isinstance(owner, str) or not isinstance(entries, Mapping):
            raise TypeError(f"arg_intent[{owner!r}] must map parameters (or methods) to intents, as in {_INTENT_EXAMPLE}")
        if any(isinstance(v, Mapping) for v in entries.values()):  # a struct or class: methods
            for method, table in entries.items():
                if not isinstance(method, str) or not isinstance(table, Mapping):
                    raise TypeError(f"arg_intent[{owner!r}][{method!r}] must map the method's parameters to intents")
                params(f"[{owner!r}][{method!r}]", table)
        else:
            params(f"[{owner!r}]", entries)


def _names(argument: str, value, none_is_empty: bool = False) -> list:
    """A str (one name, not its characters) or a collection of str, as a sorted list (None as no
    names where `none_is_empty`)."""
    if isinstance(value, str):
        return [value]
    if value is None and none_is_empty:
        return []
    if isinstance(value, (bytes, Mapping)) or not hasattr(value, "__iter__"):
        raise TypeError(f"{argument} must be a name or a list of names, not {type(value).__name__}")
    value = list(value)
    bad = [v for v in value if not isinstance(v, str)]
    if bad:
        raise TypeError(f"{argument} must hold names (str), not {bad[0]!r}")
    return sorted(value)


def _context(arg_intent=None, skip_prefix=None, skip_non_device=True, exclude=()):
    if arg_intent is not None:
        _check_intents(arg_intent)
    if skip_prefix is not None and not isinstance(skip_prefix, str):
        raise TypeError(f"skip_prefix must be a str, not {type(skip_prefix).__name__}")
    if not isinstance(skip_non_device, (bool, int)):
        raise TypeError(f"skip_non_device must be a bool, not {type(skip_non_device).__name__}")
    return {
        "intents": arg_intent or {},
        "skip_prefix": skip_prefix,
        "skip_non_device": bool(skip_non_device),
        "exclude": _names("exclude", exclude, none_is_empty=True),
    }


def _decl(argument: str, value, cls):
    """`value` if it is an `ast_canopy` declaration of class `cls`, else a TypeError naming `argument`."""
    if not isinstance(value, cls):
        raise TypeError(
            f"{argument} must be an ast_canopy.{cls.__name__} (from parse_declarations_from_source), not {type(value).__name__}"
        )
    return value


def _decl_list(argument: str, values, cls) -> list:
    """A list of `ast_canopy` declarations of class `cls`, or a TypeError naming `argument`."""
    if isinstance(values, (str, bytes, Mapping)) or not hasattr(values, "__iter__"):
        raise TypeError(f"{argument} must be a list of ast_canopy.{cls.__name__}, not {type(values).__name__}")
    values = list(values)
    for i, v in enumerate(values):
        _decl(f"{argument}[{i}]", v, cls)
    return values


def _table(argument: str, value, example: str) -> dict:
    """A per-struct option table (`{struct name: value}`), or a TypeError naming the argument."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise TypeError(f"{argument} must be a dict keyed by struct name, such as {example}, not {type(value).__name__}")
    return value


def _alias_table(aliases) -> dict:
    """`{struct name: [alias, ...]}`; a single alias given as a str is one alias, not its characters."""
    table = _table("aliases", aliases, "{'__half': ['half']}")
    return {k: _names(f"aliases[{k!r}]", v) for k, v in table.items()}


def bind_cxx_struct(shim_writer, struct_decl, parent_type=types.Type, data_model=None, aliases=_NO_ENTRIES, *, arg_intent=None, name=None):
    """Bind a struct; returns the object that constructs it in kernels and stands for its type.
    `data_model` None: StructModel where the fields describe the struct, else its bytes (opaque;
    the report's note says why). `aliases` are other C++ names of the struct: a list, or a dict
    keyed by struct name."""
    _decl("struct_decl", struct_decl, _decls.Struct)
    if name is not None and not isinstance(name, str):
        raise TypeError(f"name must be a str, not {type(name).__name__}")
    if isinstance(aliases, str) or not isinstance(aliases, Mapping):
        aliases = {struct_decl.name: aliases}
    return bind_cxx_structs(
        shim_writer, [struct_decl], {struct_decl.name: parent_type}, {struct_decl.name: data_model}, aliases,
        arg_intent=arg_intent, names={struct_decl.name: name} if name else None,
    )[0]  # fmt: skip


def _lookup(table, s, default=None):
    """A per-struct option, keyed by the struct's qualified or plain name."""
    return table.get(s.qual_name, table.get(s.name, default)) if table else default


def _nested_records(s):
    """The named records nested in `s`, recursively (anonymous ones are members of `s` already)."""
    for n in s.nested_records:
        if n.name and "(" not in n.name:
            yield n
            yield from _nested_records(n)


def _struct_how(s, parents, parent_types, data_models, aliases, names):
    """How to bind struct `s` (the render request's entry): its parent class (`_parents[i]`), data
    model, Python name if `names` gives one, and C++ aliases."""
    parent = _lookup(parent_types, s, types.Type)
    if not (isinstance(parent, type) and issubclass(parent, types.Type)):
        raise TypeError(f"parent type for {s.name} must be a Numba type class such as types.Number")
    parents.append(parent)
    py_name = _lookup(names, s)
    if py_name is not None and not isinstance(py_name, str):
        raise TypeError(f"names[{s.name!r}] must be a str, not {type(py_name).__name__}")
    return {
        "parent": f"_parents[{len(parents) - 1}]",
        "model": _model_name(_lookup(data_models, s, None)),
        "py_name": py_name,
        "aliases": list(_lookup(aliases, s, ())),
    }


def bind_cxx_structs(
    shim_writer, structs, parent_types=_NO_ENTRIES, data_models=_NO_ENTRIES, aliases=_NO_ENTRIES, *, arg_intent=None, names=None
):
    """Bind several structs, and the records nested in them (reachable as attributes of the outer
    one: `Outer.Inner`); returns the objects of `structs` in order (None for one that was skipped).
    `parent_types`, `data_models`, `aliases` and `names` are keyed by plain or qualified name."""
    _check_writer(shim_writer)
    structs = _decl_list("structs", structs, _decls.Struct)
    parent_types = _table("parent_types", parent_types, "{'__half': types.Number}")
    data_models = _table("data_models", data_models, "{'__half': PrimitiveModel}")
    aliases = _alias_table(aliases)
    names = _table("names", names, "{'__half': 'half'}")
    parents, items, nested = [], [], {}
    for s in structs:
        items.append({"decl": s, **_struct_how(s, parents, parent_types, data_models, aliases, names)})
        for n in _nested_records(s):
            nested[n.qual_name] = _struct_how(n, parents, parent_types, data_models, aliases, names)
    request = {"context": _context(arg_intent), "structs": items, "nested": nested}
    ns, report = _render_and_run(shim_writer, request, {"_parents": parents})
    by_name = {b.name: ns[b.py_name] for b in report.bound if b.kind == "struct"}
    for s in structs:
        for one in (s, *_nested_records(s)):
            if one.qual_name in by_name:
                _attach_member_typedefs(by_name[one.qual_name], one, by_name)
    _attach_member_enums()
    return [by_name.get(s.qual_name) for s in structs]


def bind_declarations(
    shim_writer, decls, *, exclude=None, api_prefix_removal=None, skip_prefix=None, skip_non_device=True, arg_intent=None
) -> dict:
    """Bind everything `decls` (one `parse_declarations_from_source` result) holds, in one plan, as
    a static module of the same declarations binds it: the same declarations under the same Python
    names (typedefs of bound structs and enums as aliases, nested records as `Outer_Inner`).
    `exclude` and `api_prefix_removal` are tables by kind (`{"function": [...], "struct": [...],
    "enum": [...]}`) as the config's `Exclude` and `API Prefix Removal`. Returns `{Python name:
    object}` in binding order."""
    _check_writer(shim_writer)
    if not isinstance(decls, _decls.Declarations):
        raise TypeError(f"decls must be an ast_canopy.Declarations, not {type(decls).__name__}")
    ast_canopy._note_definitions(decls.definitions)  # a result read back from elsewhere, too
    tables = {}
    for argument, value in (("exclude", exclude), ("api_prefix_removal", api_prefix_removal)):
        value = _table(argument, value, "{'function': ['f'], 'struct': [], 'enum': []}")
        unknown = sorted(set(value) - {"function", "struct", "enum"})
        if unknown:
            raise ValueError(f"{argument} keys are function, struct and enum, not {unknown[0]!r}")
        tables[argument] = {k: [v] if isinstance(v, str) else sorted(v) for k, v in value.items()}
    parents, nested = [], {}
    structs = []
    for s in decls.structs:
        structs.append({"decl": s, **_struct_how(s, parents, {}, {}, {}, {})})
        for n in _nested_records(s):
            nested[n.qual_name] = _struct_how(n, parents, {}, {}, {}, {})
    context = _context(arg_intent, skip_prefix, skip_non_device)
    context.update(tables)
    request = {
        "context": context,
        "enums": [{"decl": e} for e in decls.enums],
        "structs": structs,
        "nested": nested,
        "typedefs": list(decls.typedefs),
        "functions": [{"decl": d} for d in decls.functions],
        "function_templates": [{"decl": t} for t in decls.function_templates],
        "class_templates": [{"decl": t} for t in decls.class_templates],
    }
    unit = shim_writer.unit
    if getattr(unit, "preceding_text", None) is None:  # what the template runtime's probes compile with
        unit.preceding_text = shim_writer.preceding_text
    ns, report = _render_and_run(shim_writer, request, {"_parents": parents, "_template_bindings": _templates()._template_bindings})
    _attach_member_enums()
    out = {}
    for b in report.bound:
        if b.py_name and b.py_name.isidentifier() and b.py_name in ns and b.py_name not in out:
            out[b.py_name] = ns[b.py_name]
    return out


def _attach_member_enums():
    """`S.E` for each bound enum `S::E` declared in a bound struct `S`, whichever was bound first."""
    for cxx, cls in list(_BINDINGS.enums.items()):
        outer, _, name = cxx.rpartition("::")
        struct = _BINDINGS.structs.get(outer)
        if struct is not None and name not in getattr(struct, "_nbst_member_types", {}):
            _BINDINGS.member_type(struct, name, cls)


def _attach_member_typedefs(obj, s, by_name):
    """`S.T` for each member typedef `T` of `s` whose target is a bound struct or a scalar type."""
    scalars = _runtime._SCALAR_TYPES
    for t in s.nested_typedefs:
        target = t.underlying_name.lstrip(":")
        value = by_name.get(target) or scalars.get(target)
        if value is None:
            bound = _BINDINGS.types.get(target)
            value = bound if isinstance(bound, (types.Number, types.Boolean)) else None
        if value is not None and not hasattr(obj, t.name):
            setattr(obj, t.name, value)


def bind_cxx_function(shim_writer, func_decl, skip_prefix=None, skip_non_device=True, exclude=frozenset(), *, arg_intent=None):
    """Bind one function; returns its callable, or None for operators (reached through Python
    operators) and skipped declarations."""
    _decl("func_decl", func_decl, _decls.Function)
    out = _bind_functions(shim_writer, [func_decl], skip_prefix, skip_non_device, exclude, arg_intent)
    return out[0] if out else None


def bind_cxx_functions(shim_writer, functions, skip_prefix=None, skip_non_device=True, exclude=frozenset(), *, arg_intent=None):
    """Bind functions; returns the callables (one per Python name, overloads merged)."""
    functions = _decl_list("functions", functions, _decls.Function)
    return _bind_functions(shim_writer, functions, skip_prefix, skip_non_device, exclude, arg_intent)


def _bind_functions(shim_writer, functions, skip_prefix, skip_non_device, exclude, arg_intent):
    _check_writer(shim_writer)
    with _collector_paused():
        request = {
            "context": _context(arg_intent, skip_prefix, skip_non_device, exclude),
            "functions": [{"decl": d} for d in functions],
        }
        ns, report = _render_and_run(shim_writer, request, {})
    seen, out = set(), []
    for b in report.bound:
        if b.kind == "function" and b.py_name not in seen:
            seen.add(b.py_name)
            out.append(ns[b.py_name])
    return out


def bind_cxx_enum(e):
    """Bind the enum declaration ``e``; returns an IntEnum usable as kernel values and arguments."""
    return bind_cxx_enums([_decl("e", e, _decls.Enum)])[0]


def bind_cxx_enums(enums):
    enums = _decl_list("enums", enums, _decls.Enum)
    ns, report = _render_and_run(None, {"context": _context(), "enums": [{"decl": e} for e in enums]}, {})
    by_name = {b.name: ns[b.py_name] for b in report.bound if b.kind == "enum"}
    _attach_member_enums()
    return [by_name.get(e.qual_name) for e in enums]


def binding_report() -> BindingReport:
    """Everything bound and skipped (with reasons) by dynamic mode in this process."""
    return _REPORT
