"""The existing Numbast's module path for the declaration classes and enums.

The names are those of ``ast_canopy``'s model (``ast_canopy.decls``); ``Record`` is ``Struct`` and
``Method`` is ``StructMethod``. ``INVALID_SIZE_OF``/``INVALID_ALIGN_OF`` are the ``sizeof_``/
``alignof_`` of a record whose layout clang cannot compute (``UNKNOWN_LAYOUT``, -1).
"""

import abc

from ast_canopy import INVALID_ALIGN_OF, INVALID_SIZE_OF
from ast_canopy._constexpr import ConstExprVar
from ast_canopy._errors import ParseError
from ast_canopy.decls import (
    ClassTemplate,
    ClassTemplateSpecialization,
    Declarations,
    Enum,
    Field,
    Function,
    FunctionTemplate,
    ParamVar,
    TemplateParam,
    Type,
    Typedef,
    access_kind,
    execution_space,
    method_kind,
    template_param_kind,
)
from ast_canopy.decls import (
    Struct as Record,
)
from ast_canopy.decls import (
    StructMethod as Method,
)


class Template(abc.ABC):  # noqa: B024 (a virtual base: isinstance over registered classes)
    """What function and class templates share: ``template_parameters``, ``num_min_required_args``."""


Template.register(FunctionTemplate)
Template.register(ClassTemplate)

__all__ = [
    "INVALID_ALIGN_OF",
    "INVALID_SIZE_OF",
    "ClassTemplate",
    "ClassTemplateSpecialization",
    "ConstExprVar",
    "Declarations",
    "Enum",
    "Field",
    "Function",
    "FunctionTemplate",
    "Method",
    "ParamVar",
    "ParseError",
    "Record",
    "Template",
    "TemplateParam",
    "Type",
    "Typedef",
    "access_kind",
    "execution_space",
    "method_kind",
    "template_param_kind",
]  # fmt: skip
