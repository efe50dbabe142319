"""Declarations (ast_canopy's dataclasses) back to the JSON form the Rust core reads."""

from __future__ import annotations

import dataclasses
import enum
import json


def _plain(value):
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        out = {}
        for f in dataclasses.fields(value):
            out[f.name] = _plain(getattr(value, f.name))
        if type(value).__name__ == "TypeShape":
            out = {k: v for k, v in out.items() if v is not None}
        return out
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, (frozenset, set)):
        return sorted(_plain(v) for v in value)
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def to_plain(decl) -> dict:
    """A declaration as the plain dict the Rust model deserializes."""
    return _plain(decl)


def dumps(obj) -> str:
    return json.dumps(obj, separators=(",", ":"))
