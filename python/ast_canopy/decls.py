"""The declaration model as read-only Python objects.

The Rust core (``crates/canopy/src/model.rs``) defines the model and hands it over as JSON; these
frozen dataclasses mirror it field for field (``tests/test_canopy_model_sync.py`` keeps the two in step)
and add the helper methods users call. They pickle as plain dataclasses.
"""

from __future__ import annotations

import enum
import operator
from dataclasses import dataclass, field

from ast_canopy.instantiations import ClassInstantiation, FunctionInstantiation


class execution_space(enum.Enum):
    undefined = "undefined"
    host = "host"
    device = "device"
    host_device = "host_device"
    global_ = "global"


class method_kind(enum.Enum):
    default_constructor = "default_constructor"
    copy_constructor = "copy_constructor"
    move_constructor = "move_constructor"
    converting_constructor = "converting_constructor"
    other_constructor = "other_constructor"
    destructor = "destructor"
    conversion_function = "conversion_function"
    other = "other"


class template_param_kind(enum.Enum):
    type_ = "type"
    non_type = "non_type"
    template_ = "template"


class access_kind(enum.Enum):
    public_ = "public"
    protected_ = "protected"
    private_ = "private"


_CONSTRUCTOR_KINDS = frozenset(
    {
        method_kind.default_constructor,
        method_kind.copy_constructor,
        method_kind.move_constructor,
        method_kind.converting_constructor,
        method_kind.other_constructor,
    }
)

# C++ operator spelling -> Python operator, by number of operands (the implicit object counts).
_BINARY_OPERATORS = {
    "+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv, "%": operator.mod,
    "&": operator.and_, "|": operator.or_, "^": operator.xor, "<<": operator.lshift, ">>": operator.rshift,
    "==": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le, ">": operator.gt,
    ">=": operator.ge, "+=": operator.iadd, "-=": operator.isub, "*=": operator.imul,
    "/=": operator.itruediv, "%=": operator.imod, "&=": operator.iand, "|=": operator.ior,
    "^=": operator.ixor, "<<=": operator.ilshift, ">>=": operator.irshift,
}  # fmt: skip
_UNARY_OPERATORS = {"-": operator.neg, "+": operator.pos, "~": operator.invert, "!": operator.not_}


@dataclass(frozen=True, slots=True)
class Location:
    file: str
    line: int
    column: int

    def __str__(self):
        return f"{self.file}:{self.line}:{self.column}"


@dataclass(frozen=True, slots=True)
class TypeShape:
    """What a type is once references and qualifiers are removed (``tag``: void, bool, int, float,
    pointer, array, record, enum, dependent, other)."""

    tag: str
    size: int | None = None
    signed: bool | None = None
    align: int | None = None
    len: int | None = None
    pointee: Type | None = None
    element: Type | None = None


@dataclass(frozen=True, slots=True)
class Type:
    name: str
    unqualified_non_ref_type_name: str
    ref_kind: str
    is_const: bool
    shape: TypeShape
    # The structure of a type of a template's signature or of a class template's member, as the
    # Rust model's `TypeNode` (dicts tagged by "node"); None elsewhere. The renderer reads it.
    structure: dict | None = field(default=None, compare=False)

    def is_left_reference(self) -> bool:
        return self.ref_kind == "lvalue"

    def is_right_reference(self) -> bool:
        return self.ref_kind == "rvalue"


@dataclass(frozen=True, slots=True)
class ParamVar:
    name: str
    type_: Type
    has_default: bool = False


@dataclass(frozen=True, slots=True)
class Field:
    name: str
    type_: Type
    access: access_kind
    offset: int


@dataclass(frozen=True, slots=True)
class Function:
    name: str
    qual_name: str
    return_type: Type
    params: tuple
    exec_space: execution_space
    is_constexpr: bool
    is_variadic: bool
    mangled_name: str
    attributes: frozenset
    is_operator: bool
    location: Location

    @property
    def param_types(self):
        return [p.type_ for p in self.params]

    def _arity(self) -> int:
        return len(self.params)

    def is_overloaded_operator(self) -> bool:
        return self.is_operator and not self.is_conversion_operator()

    def is_conversion_operator(self) -> bool:
        return False

    @property
    def operator_symbol(self) -> str | None:
        if not self.is_operator:
            return None
        return self.name[len("operator") :].strip()

    @property
    def overloaded_operator_to_python_operator(self):
        """The Python ``operator`` function this C++ operator implements, or None (``=``, ``[]``...)."""
        sym = self.operator_symbol
        if sym is None or self.is_conversion_operator():
            return None
        arity = self._arity()
        if arity == 1 and sym in _UNARY_OPERATORS:
            return _UNARY_OPERATORS[sym]
        if arity == 2:
            return _BINARY_OPERATORS.get(sym)
        return None


@dataclass(frozen=True, slots=True)
class StructMethod(Function):
    kind: method_kind = method_kind.other
    is_const: bool = False
    is_static: bool = False
    is_virtual: bool = False
    is_copy_assignment: bool = False
    is_move_assignment: bool = False

    def _arity(self) -> int:
        return len(self.params) + (0 if self.is_static else 1)

    @property
    def is_move_constructor(self) -> bool:
        return self.kind is method_kind.move_constructor

    @property
    def is_constructor(self) -> bool:
        return self.kind in _CONSTRUCTOR_KINDS

    def is_conversion_operator(self) -> bool:
        return self.kind is method_kind.conversion_function


@dataclass(frozen=True, slots=True)
class Base:
    name: str
    access: access_kind


@dataclass(frozen=True, slots=True)
class Struct:
    name: str
    qual_name: str
    tag: str
    fields: tuple
    methods: tuple
    templated_methods: tuple
    nested_records: tuple
    nested_class_templates: tuple
    nested_typedefs: tuple
    """Public member typedefs and type aliases (`Typedef`s qualified by the record)."""
    bases: tuple
    sizeof_: int
    """Size in bytes; -1 (``UNKNOWN_LAYOUT``) when clang cannot compute it."""
    alignof_: int
    """Alignment in bytes; -1 (``UNKNOWN_LAYOUT``) when clang cannot compute it."""
    location: Location
    nested_enums: tuple = ()
    """Public enums of a class template's record (``Holder<T>::Mode``); a plain record's are
    listed with the other enums, under their qualified names."""

    def constructors(self):
        return [m for m in self.methods if m.kind in _CONSTRUCTOR_KINDS]

    def overloaded_operators(self):
        return [m for m in self.methods if m.is_overloaded_operator()]

    def conversion_operators(self):
        return [m for m in self.methods if m.is_conversion_operator()]

    def regular_member_functions(self):
        return [m for m in self.methods if m.kind is method_kind.other and not m.is_operator]

    def public_fields(self):
        return [f for f in self.fields if f.access is access_kind.public_]


UNKNOWN_LAYOUT = -1


@dataclass(frozen=True, slots=True)
class TemplateParam:
    name: str
    kind: template_param_kind
    type_: Type | None
    is_pack: bool
    default: str | None


@dataclass(frozen=True, slots=True)
class MethodInfo:
    kind: method_kind
    is_const: bool
    is_static: bool


@dataclass(frozen=True, slots=True)
class FunctionTemplate:
    template_parameters: tuple
    num_min_required_args: int
    function: Function
    qual_name: str
    method: MethodInfo | None

    def instantiate(self, **kwargs) -> FunctionInstantiation:
        """An instantiation with these template arguments (by parameter name); ``str()`` of it is
        the C++ spelling. Parameters left out stay dependent (a partial instantiation)."""
        return FunctionInstantiation(self).instantiate(**kwargs)


@dataclass(frozen=True, slots=True)
class ClassTemplate:
    template_parameters: tuple
    num_min_required_args: int
    record: Struct
    qual_name: str

    def instantiate(self, **kwargs) -> ClassInstantiation:
        """An instantiation with these template arguments (by parameter name); ``str()`` of it is
        the C++ spelling. Parameters left out stay dependent (a partial instantiation)."""
        return ClassInstantiation(self).instantiate(**kwargs)


@dataclass(frozen=True, slots=True)
class ClassTemplateSpecialization(Struct):
    actual_template_arguments: tuple = ()
    specialized_name: str = ""
    template_qual_name: str = ""


@dataclass(frozen=True, slots=True)
class Typedef:
    name: str
    qual_name: str
    underlying_name: str
    location: Location
    # The structure of the aliased type, for a class template's member alias (as `Type.structure`);
    # None elsewhere.
    structure: dict | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class Enum:
    name: str
    qual_name: str
    enumerators: tuple
    enumerator_values: tuple
    underlying_type: Type
    is_scoped: bool
    location: Location


@dataclass(frozen=True, slots=True)
class Diagnostic:
    severity: str
    file: str
    line: int
    column: int
    message: str

    def __str__(self):
        return f"{self.file}:{self.line}:{self.column}: {self.message}" if self.file else self.message


class definition_kind(enum.Enum):
    function = "function"
    variable = "variable"


@dataclass(frozen=True, slots=True)
class Span:
    """Byte offsets ``[start, end)`` in a file."""

    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Definition:
    """A device definition with external linkage that is neither inline nor a template: every
    compilation unit including its file emits it. ``body`` is the text that, replaced by ``;``,
    leaves a declaration (a function's body; a member's whole out-of-class definition), or None
    where there is none (a variable, a function with a deduced return type, one written by a macro).
    ``identifier`` is the name code calls or reads it by (None for an operator, a constructor, a
    destructor or a conversion, used without naming it); ``uses`` the identifiers of the
    translation unit's external definitions that its body mentions; ``declaration`` where the whole
    declaration starts, when a unit that never names it may leave it out (a function at namespace
    scope, not in a linkage specification nor an explicit specialization)."""

    name: str
    kind: definition_kind
    location: Location
    body: Span | None
    identifier: str | None = None
    uses: tuple = ()
    declaration: int | None = None


@dataclass(frozen=True, slots=True)
class FileDefinitions:
    """The external definitions of one file, with the size and CRC-32 (``zlib.crc32``) of the text
    their offsets refer to."""

    file: str
    size: int
    crc32: int
    definitions: tuple
    # The identifiers of the translation unit's external definitions that the file mentions outside
    # their bodies and their own declarators; None when its text cannot tell (token pasting...).
    uses: tuple | None = ()


@dataclass(frozen=True, slots=True)
class Declarations:
    structs: list = field(default_factory=list)
    functions: list = field(default_factory=list)
    function_templates: list = field(default_factory=list)
    class_templates: list = field(default_factory=list)
    class_template_specializations: list = field(default_factory=list)
    typedefs: list = field(default_factory=list)
    enums: list = field(default_factory=list)
    definitions: list = field(default_factory=list)
    diagnostics: list = field(default_factory=list)


# ---- JSON (from the Rust core) -> objects ---------------------------------------------------------


class _Reader:
    """Builds the objects of one translation unit. Equal types are built once and shared (they are
    immutable), which makes reading a large header several times faster."""

    def __init__(self):
        self._types: dict = {}

    @staticmethod
    def loc(d):
        return Location(d["file"], d["line"], d["column"])

    def typedef(self, d):
        return Typedef(d["name"], d["qual_name"], d["underlying_name"], self.loc(d["location"]), d.get("structure"))

    def type(self, d):
        s = d["shape"]
        # Within one translation unit a spelling names one type: the key decides the shape.
        key = (d["name"], d["unqualified_non_ref_type_name"], d["ref_kind"], d["is_const"], s["tag"], s.get("size"))
        structure = d.get("structure")
        t = self._types.get(key) if structure is None else None
        if t is None:
            shape = TypeShape(
                tag=s["tag"],
                size=s.get("size"),
                signed=s.get("signed"),
                align=s.get("align"),
                len=s.get("len"),
                pointee=self.type(s["pointee"]) if "pointee" in s else None,
                element=self.type(s["element"]) if "element" in s else None,
            )
            t = Type(d["name"], d["unqualified_non_ref_type_name"], d["ref_kind"], d["is_const"], shape, structure)
            if structure is None:
                self._types[key] = t
        return t

    def function_fields(self, d):
        return dict(
            name=d["name"],
            qual_name=d["qual_name"],
            return_type=self.type(d["return_type"]),
            params=tuple(ParamVar(p["name"], self.type(p["type_"]), p.get("has_default", False)) for p in d["params"]),
            exec_space=execution_space(d["exec_space"]),
            is_constexpr=d["is_constexpr"],
            is_variadic=d["is_variadic"],
            mangled_name=d["mangled_name"],
            attributes=frozenset(d["attributes"]),
            is_operator=d["is_operator"],
            location=self.loc(d["location"]),
        )

    def function(self, d):
        return Function(**self.function_fields(d))

    def method(self, d):
        return StructMethod(
            **self.function_fields(d),
            kind=method_kind(d["kind"]),
            is_const=d["is_const"],
            is_static=d["is_static"],
            is_virtual=d["is_virtual"],
            is_copy_assignment=d["is_copy_assignment"],
            is_move_assignment=d["is_move_assignment"],
        )

    def struct_fields(self, d):
        return dict(
            name=d["name"],
            qual_name=d["qual_name"],
            tag=d["tag"],
            fields=tuple(Field(f["name"], self.type(f["type_"]), access_kind(f["access"]), f["offset"]) for f in d["fields"]),
            methods=tuple(self.method(m) for m in d["methods"]),
            templated_methods=tuple(self.function_template(t) for t in d["templated_methods"]),
            nested_records=tuple(self.struct(r) for r in d["nested_records"]),
            nested_class_templates=tuple(self.class_template(t) for t in d["nested_class_templates"]),
            nested_typedefs=tuple(self.typedef(t) for t in d.get("nested_typedefs", ())),
            bases=tuple(Base(b["name"], access_kind(b["access"])) for b in d["bases"]),
            sizeof_=d["sizeof_"],
            alignof_=d["alignof_"],
            location=self.loc(d["location"]),
            nested_enums=tuple(self.enum(e) for e in d.get("nested_enums", ())),
        )

    def struct(self, d):
        return Struct(**self.struct_fields(d))

    def template_params(self, ps):
        return tuple(
            TemplateParam(
                p["name"],
                template_param_kind(p["kind"]),
                self.type(p["type_"]) if p["type_"] else None,
                p["is_pack"],
                p["default"],
            )
            for p in ps
        )

    def function_template(self, d):
        m = d["method"]
        return FunctionTemplate(
            template_parameters=self.template_params(d["template_parameters"]),
            num_min_required_args=d["num_min_required_args"],
            function=self.function(d["function"]),
            qual_name=d["qual_name"],
            method=MethodInfo(method_kind(m["kind"]), m["is_const"], m["is_static"]) if m else None,
        )

    def class_template(self, d):
        return ClassTemplate(
            template_parameters=self.template_params(d["template_parameters"]),
            num_min_required_args=d["num_min_required_args"],
            record=self.struct(d["record"]),
            qual_name=d["qual_name"],
        )

    def specialization(self, d):
        return ClassTemplateSpecialization(
            **self.struct_fields(d),
            actual_template_arguments=tuple(d["actual_template_arguments"]),
            specialized_name=d["specialized_name"],
            template_qual_name=d["template_qual_name"],
        )

    def enum(self, e):
        return Enum(
            e["name"],
            e["qual_name"],
            tuple(e["enumerators"]),
            tuple(e["enumerator_values"]),
            self.type(e["underlying_type"]),
            e["is_scoped"],
            self.loc(e["location"]),
        )

    def file_definitions(self, f):
        return FileDefinitions(
            f["file"],
            f["size"],
            f["crc32"],
            tuple(
                Definition(
                    x["name"],
                    definition_kind(x["kind"]),
                    self.loc(x["location"]),
                    Span(x["body"]["start"], x["body"]["end"]) if x["body"] else None,
                    x.get("identifier"),
                    tuple(x.get("uses", ())),
                    x.get("declaration"),
                )
                for x in f["definitions"]
            ),
            None if f.get("uses", ()) is None else tuple(f.get("uses", ())),
        )

    def declarations(self, d) -> Declarations:
        return Declarations(
            structs=[self.struct(s) for s in d["structs"]],
            functions=[self.function(f) for f in d["functions"]],
            function_templates=[self.function_template(t) for t in d["function_templates"]],
            class_templates=[self.class_template(t) for t in d["class_templates"]],
            class_template_specializations=[self.specialization(s) for s in d["class_template_specializations"]],
            typedefs=[self.typedef(t) for t in d["typedefs"]],
            enums=[self.enum(e) for e in d["enums"]],
            definitions=[self.file_definitions(f) for f in d["definitions"]],
            diagnostics=[Diagnostic(**x) for x in d["diagnostics"]],
        )


def declarations_from_dict(d) -> Declarations:
    """The model objects of the JSON the Rust core writes (already parsed with ``json.loads``)."""
    return _Reader().declarations(d)
