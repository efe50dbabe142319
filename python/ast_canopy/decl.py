"""The existing Numbast's module path for the Python declaration classes (``ast_canopy.decls``)."""

from ast_canopy._constexpr import ConstExprVar
from ast_canopy.decls import (
    ClassTemplate,
    ClassTemplateSpecialization,
    Function,
    FunctionTemplate,
    Struct,
    StructMethod,
)
from ast_canopy.pylibastcanopy import Template

__all__ = [
    "ClassTemplate", "ClassTemplateSpecialization", "ConstExprVar", "Function", "FunctionTemplate",
    "Struct", "StructMethod", "Template",
]  # fmt: skip
