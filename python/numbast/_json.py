"""Declarations (ast_canopy's dataclasses) back to the JSON form the Rust core reads."""

from __future__ import annotations

import dataclasses
import enum
import json

# Per dataclass: its field names, found once. Types are shared between declarations (ast_canopy
# builds each distinct type once), so their dicts are memoized by identity for one conversion.
_FIELDS: dict = {}


def _fields(cls):
    names = _FIELDS.get(cls)
    if names is None:
        names = _FIELDS[cls] = tuple(f.name for f in dataclasses.fields(cls))
    return names


def _plain(value, memo):
    cls = type(value)
    if cls in (str, int, bool, float) or value is None:
        return value
    if dataclasses.is_dataclass(cls):
        key = id(value)
        done = memo.get(key)
        if done is not None:
            return done
        out = {name: _plain(getattr(value, name), memo) for name in _fields(cls)}
        if cls.__name__ == "TypeShape":
            out = {k: v for k, v in out.items() if v is not None}
        memo[key] = out
        return out
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, (frozenset, set)):
        return sorted(_plain(v, memo) for v in value)
    if isinstance(value, (list, tuple)):
        return [_plain(v, memo) for v in value]
    return value


def to_plain(decl) -> dict:
    """A declaration as the plain dict the Rust model deserializes."""
    return _plain(decl, {})


def to_plain_many(decls) -> list:
    """Several declarations, sharing the conversion of the types they have in common."""
    memo: dict = {}
    return [_plain(d, memo) for d in decls]


def dumps(obj) -> str:
    return json.dumps(obj, separators=(",", ":"))
