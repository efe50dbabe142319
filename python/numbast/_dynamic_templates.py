"""Dynamic mode for templates: bind function and class templates in this process.

The declarations go to the Rust renderer, which writes each template as data; the code it returns
calls `numbast._templates` (through `_template_bindings(_b)`), which instantiates the templates
when kernels that use them are typed.
"""

from __future__ import annotations

import importlib
import os

from ast_canopy import decls as _decls

# This package's dynamic mode and template runtime (`numbast.mlir` loads these modules again).
_dynamic = importlib.import_module("._dynamic", __package__)
_templates = importlib.import_module("._templates", __package__)
_NO_ENTRIES = _dynamic._NO_ENTRIES
types = _dynamic.types


def _run(shim_writer, request):
    _dynamic._check_writer(shim_writer)
    unit = shim_writer.unit
    if getattr(unit, "preceding_text", None) is None:  # what NVRTC probes are compiled with
        unit.preceding_text = shim_writer.preceding_text
    return _dynamic._render_and_run(shim_writer, request, {"_template_bindings": _templates._template_bindings})


def _bound(ns, report, kind):
    """The objects bound of `kind`, one per Python name, in order."""
    seen, out = set(), []
    for b in report.bound:
        if b.kind == kind and b.py_name not in seen:
            seen.add(b.py_name)
            out.append(ns[b.py_name])
    return out


def bind_cxx_function_template(*, name, overloads, shim_writer, arg_intent=None):
    """Bind the overloads of one function template (``FunctionTemplate`` declarations) as the
    kernel callable ``name``; template arguments are deduced from the argument types, and those
    that cannot be are given as ``name[...]``. Returns None if every overload was skipped."""
    if not isinstance(name, str) or not name:
        raise TypeError(f"name must be a non-empty str, not {name!r}")
    overloads = _dynamic._decl_list("overloads", overloads, _decls.FunctionTemplate)
    request = {
        "context": _dynamic._context(arg_intent),
        "function_templates": [{"decl": t, "py_name": name} for t in overloads],
    }
    found = _bound(*_run(shim_writer, request), "function_template")
    return found[0] if found else None


def bind_cxx_function_templates(*, function_templates, shim_writer, skip_prefix=None, skip_non_device=True, exclude=None, arg_intent=None):
    """Bind function templates; overloads of one name become one callable. Returns the callables.

    Where a template parameter is an operator type deduced from an argument (`op` of
    ``cooperative_groups::reduce(group, val, op)``), a ``@cuda.jit(device=True)`` function can be
    passed: C++ calls it with two values of the call's value type, the type of the first parameter
    other than the operator that holds numbers (`val`); it returns that type, or bool when the
    function returns a bool (README, "Python functions as operators")."""
    function_templates = _dynamic._decl_list("function_templates", function_templates, _decls.FunctionTemplate)
    request = {
        "context": _dynamic._context(arg_intent, skip_prefix, skip_non_device, exclude),
        "function_templates": [{"decl": t} for t in function_templates],
    }
    return _bound(*_run(shim_writer, request), "function_template")


def bind_cxx_class_template(class_template_decl, shim_writer, header_path=None, *, arg_intent=None):
    """Bind a class template; returns the object that instantiates it (``BlockScan[np.int32, 128]``
    outside kernels, ``BlockScan(T=int32, BlockDimX=128)`` inside), whose ``__name__`` is the
    template's qualified name. Method intents nest by class: ``{"BlockScan": {"InclusiveSum":
    {"output": "out_return"}}}``. ``header_path`` is accepted for compatibility: the shim writer's
    preceding text is what includes the header.

    A method's operator parameter (``ReductionOp`` of ``BlockReduce::Reduce``, ``FlagOp`` of
    ``BlockDiscontinuity::FlagHeads``) takes a ``@cuda.jit(device=True)`` function: C++ calls it
    with two values of the class's first type argument (``T``; bool, an integer, float32 or
    float64), and it returns ``T``, or bool when the function returns a bool (a comparator). A
    function of another arity or result, or a value that is not a device function, is a typing
    error naming the parameter."""
    _dynamic._decl("class_template_decl", class_template_decl, _decls.ClassTemplate)
    return bind_cxx_class_templates([class_template_decl], header_path, shim_writer, arg_intent=arg_intent)[0]


def bind_cxx_class_templates(class_templates, header_path, shim_writer, *, arg_intent=None):
    """Bind class templates; returns their objects in order (None for one that was skipped)."""
    class_templates = _dynamic._decl_list("class_templates", class_templates, _decls.ClassTemplate)
    if header_path is not None and not isinstance(header_path, (str, os.PathLike)):
        raise TypeError(f"header_path must be a path or None, not {type(header_path).__name__}")
    request = {
        "context": _dynamic._context(arg_intent),
        "class_templates": [{"decl": t} for t in class_templates],
    }
    ns, report = _run(shim_writer, request)
    by_name = {b.name: ns[b.py_name] for b in report.bound if b.kind == "class_template"}
    return [by_name.get(t.qual_name) for t in class_templates]


def bind_cxx_class_template_specialization(shim_writer, struct_decl, instance_type_ref=types.Type, aliases=_NO_ENTRIES, *, arg_intent=None):
    """Bind a concrete specialization of a class template (a ``ClassTemplateSpecialization`` from
    the header, such as an explicit specialization ``Op<double, true>``) as a struct whose C++ name
    is the specialized name. ``instance_type_ref`` is the Numba type class the struct's type derives
    from (a type instance stands for its class)."""
    parent = instance_type_ref if isinstance(instance_type_ref, type) else type(instance_type_ref)
    py_name = "".join(c if c.isalnum() else "_" for c in struct_decl.qual_name.replace("::", "_")).strip("_")
    alias_table = {struct_decl.qual_name: list(aliases.get(struct_decl.qual_name, aliases.get(struct_decl.name, ())))}
    return _dynamic.bind_cxx_structs(
        shim_writer, [struct_decl], {struct_decl.qual_name: parent}, {}, alias_table,
        arg_intent=arg_intent, names={struct_decl.qual_name: py_name},
    )[0]  # fmt: skip


def clear_concrete_type_caches() -> None:
    """Forget the class template layouts (size, alignment, field offsets) measured with NVRTC in
    this process, so the next instantiation measures again. Instantiations already made keep their
    types: typing and lowering are registered for them."""
    importlib.import_module("._template_probe", __package__).PROBES.clear()
