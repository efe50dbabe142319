"""The Python model (python/ast_canopy/decls.py) and the Rust model (crates/canopy/src/model.rs)
cannot drift: for every object the Rust core emits, the JSON keys are exactly the fields of the
dataclass built from it, and every dataclass of the model is met."""

from __future__ import annotations

import dataclasses
import enum
import inspect
import json
from pathlib import Path

import ast_canopy
from ast_canopy import decls as model

HEADERS_DIR = Path(__file__).resolve().parent / "headers"


def _walk(obj, data, seen: dict, path: str, problems: list):
    """Checks `obj` (built from the JSON value `data`) and everything inside it."""
    if dataclasses.is_dataclass(obj):
        cls = type(obj)
        fields = {f.name for f in dataclasses.fields(obj)}
        keys = set(data)
        seen.setdefault(cls.__name__, set()).update(keys)
        if cls is model.TypeShape:
            # One dataclass for every shape: each shape's keys are some of its fields.
            if not keys <= fields:
                problems.append(f"{path}: TypeShape keys {sorted(keys - fields)} are not fields")
        elif cls in (model.Type, model.Typedef) and keys | {"structure"} == fields:
            pass  # a type or alias outside templates has no structure
        elif keys != fields:
            problems.append(
                f"{path}: {cls.__name__} fields and JSON keys differ: only in Python {sorted(fields - keys)}, "
                f"only in JSON {sorted(keys - fields)}"
            )
        for name in fields & keys:
            _walk(getattr(obj, name), data[name], seen, f"{path}.{name}", problems)
    elif isinstance(obj, (list, tuple, frozenset)) and isinstance(data, list):
        items = sorted(obj) if isinstance(obj, frozenset) else obj
        assert len(items) == len(data), path
        for i, (o, d) in enumerate(zip(items, sorted(data) if isinstance(obj, frozenset) else data)):
            _walk(o, d, seen, f"{path}[{i}]", problems)
    elif isinstance(obj, enum.Enum):
        assert obj.value == data, path
    elif obj is None:
        assert data is None, path
    else:
        assert obj == data, f"{path}: {obj!r} != {data!r}"


def test_python_model_matches_the_json_of_the_rust_core():
    seen: dict = {}
    problems: list = []
    for header in sorted(HEADERS_DIR.glob("*.cuh")):
        data = json.loads(ast_canopy.parse_declarations_json(header, [header], "sm_80"))
        decls = model.declarations_from_dict(data)
        _walk(decls, data, seen, header.name, problems)
    assert not problems, "\n".join(problems)

    model_classes = {
        name for name, cls in inspect.getmembers(model, inspect.isclass)
        if dataclasses.is_dataclass(cls) and cls.__module__ == model.__name__
    }  # fmt: skip
    # Diagnostics are checked below; every other class must be met in the test headers.
    assert model_classes - set(seen) == {"Diagnostic"}
    shape_fields = {f.name for f in dataclasses.fields(model.TypeShape)}
    assert seen["TypeShape"] == shape_fields, "some shape of TypeShape is not met in the headers"


def test_every_type_shape_is_met():
    tags = set()

    def collect(node):
        if isinstance(node, dict):
            if "tag" in node and "name" not in node:
                tags.add(node["tag"])
            for v in node.values():
                collect(v)
        elif isinstance(node, list):
            for v in node:
                collect(v)

    for header in sorted(HEADERS_DIR.glob("*.cuh")):
        collect(json.loads(ast_canopy.parse_declarations_json(header, [header], "sm_80")))
    assert tags == {"void", "bool", "int", "float", "pointer", "array", "record", "enum", "dependent", "other"}


def test_diagnostics_match(tmp_path):
    header = tmp_path / "warn.cuh"
    header.write_text("__device__ int f(int a);\n#warning a warning\nint broken(;\n")
    data = json.loads(ast_canopy.parse_declarations_json(header, [header], "sm_80", bypass_parse_error=True))
    decls = model.declarations_from_dict(data)
    assert {d["severity"] for d in data["diagnostics"]} == {"warning", "error"}
    problems: list = []
    _walk(decls, data, {}, "warn.cuh", problems)
    assert not problems, "\n".join(problems)
