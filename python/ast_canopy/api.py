"""The existing Numbast's module path for the parser entry points."""

from ast_canopy import (
    Declarations,
    parse_declarations_from_source,
    value_from_constexpr_vardecl,
)

__all__ = ["Declarations", "parse_declarations_from_source", "value_from_constexpr_vardecl"]
