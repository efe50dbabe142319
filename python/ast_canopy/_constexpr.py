"""The result of ``value_from_constexpr_vardecl``."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ConstExprVar:
    """A constexpr variable found in the source: its name and its value (an int or a float)."""

    name: str
    value: int | float

    @property
    def value_serialized(self) -> str:
        """The value as text."""
        return repr(self.value)
