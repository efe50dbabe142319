//! The declaration model: owned, serializable data with no clang handles. This is what the parse
//! cache stores, what Python sees (as JSON turned into frozen dataclasses) and what tests print.

use serde::{Deserialize, Serialize};

/// A fingerprint of the parser's sources (model and visitor), so that the parse cache never serves
/// what another build of the parser wrote.
pub const MODEL_REVISION: &str = env!("CANOPY_SOURCE_HASH");

/// Sentinel for `sizeof_`/`alignof_` when clang cannot compute them (dependent or incomplete types).
pub const UNKNOWN_LAYOUT: i64 = -1;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Location {
    pub file: String,
    pub line: u32,
    pub column: u32,
}

impl std::fmt::Display for Location {
    /// `file:line:col`: how every place is written (reports, skips, messages).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.line, self.column)
    }
}

/// How a type is referenced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RefKind {
    None,
    Lvalue,
    Rvalue,
}

/// The shape of a type once references and cv-qualifiers are removed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "tag", rename_all = "snake_case")]
pub enum TypeShape {
    Void,
    Bool,
    Int { size: u32, signed: bool },
    Float { size: u32 },
    Pointer { pointee: Box<Type> },
    Array { element: Box<Type>, len: i64 },
    Record { size: i64, align: i64 },
    Enum { size: i64 },
    Dependent,
    Other,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Type {
    /// Canonical spelling with typedefs resolved, except stdint names which stay as written.
    pub name: String,
    /// `name` without references and without cv-qualifiers at every pointer level.
    pub unqualified_non_ref_type_name: String,
    pub ref_kind: RefKind,
    /// Whether the referenced (or plain) type is const at its top level.
    pub is_const: bool,
    pub shape: TypeShape,
    /// The type's structure, for the types of a template's signature and of a class template's
    /// members (None elsewhere).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub structure: Option<TypeNode>,
}

impl Type {
    /// `void`, as a function's return type.
    pub fn void() -> Type {
        Type {
            name: "void".into(),
            unqualified_non_ref_type_name: "void".into(),
            ref_kind: RefKind::None,
            is_const: false,
            shape: TypeShape::Void,
            structure: None,
        }
    }
}

/// The index of the `[` that opens the last top-level `[...]` of a type's printing (of `T[2][N]`,
/// the one before `N`); None unless the text ends with a balanced `]`.
pub fn last_array_bracket(s: &str) -> Option<usize> {
    if !s.ends_with(']') {
        return None;
    }
    let mut depth = 0i32;
    for (i, c) in s.char_indices().rev() {
        depth += match c {
            ']' => 1,
            '[' => -1,
            _ => 0,
        };
        if depth == 0 {
            return Some(i);
        }
    }
    None
}

/// The top-level comma-separated parts of a template argument list as C++ prints it (commas
/// inside `<...>` and `(...)` do not separate), each trimmed.
pub fn split_template_args(text: &str) -> Vec<String> {
    let mut parts = Vec::new();
    let (mut depth, mut start) = (0i32, 0);
    for (i, c) in text.char_indices() {
        match c {
            '<' | '(' => depth += 1,
            '>' | ')' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(text[start..i].trim().to_string());
                start = i + 1;
            }
            _ => {}
        }
    }
    let tail = text[start..].trim();
    if !tail.is_empty() {
        parts.push(tail.to_string());
    }
    parts
}

/// A type of a template's signature as a tree, built from clang's type tree: the template
/// parameters it names, references, pointers, arrays and their extents, and named types with
/// their template arguments. cv-qualifiers are kept where they are written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "node", rename_all = "snake_case")]
pub enum TypeNode {
    /// A template type parameter: its name, and its depth and index as clang numbers them (the
    /// enclosing class template's parameters are depth 0 for a member template's depth 1).
    Param {
        name: String,
        depth: u32,
        index: u32,
        #[serde(default, skip_serializing_if = "is_false")]
        is_const: bool,
    },
    /// `P...`: a function parameter pack of pattern `P`.
    Pack { pattern: Box<TypeNode> },
    /// `R &` or `R &&`.
    Ref { rvalue: bool, referee: Box<TypeNode> },
    /// `P *`, the pointer itself const (`P *const`) or not.
    Pointer {
        pointee: Box<TypeNode>,
        #[serde(default, skip_serializing_if = "is_false")]
        is_const: bool,
    },
    /// `E[extent]`.
    Array { element: Box<TypeNode>, extent: Extent },
    /// The class template whose member this type is, named by its own parameters.
    SelfClass {
        #[serde(default, skip_serializing_if = "is_false")]
        is_const: bool,
    },
    /// A member type of the class template whose member this type is (`TempStorage` of
    /// `BlockScan<T>::TempStorage`): a nested record, or a member alias of a template-id or a
    /// member (an alias of a type built of template parameters and plain types is that type:
    /// `reference` for `_Tp &`).
    SelfMember {
        member: String,
        #[serde(default, skip_serializing_if = "is_false")]
        is_const: bool,
    },
    /// Any other type, spelled without its top-level cv-qualifiers: a builtin, a record or enum,
    /// a member of a dependent type (`typename X<T>::type`), `decltype(...)`. A template-id has
    /// its template's qualified name and arguments.
    Named {
        spelling: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        template: Option<TemplateId>,
        #[serde(default, skip_serializing_if = "is_false")]
        is_const: bool,
    },
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// An array's extent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Extent {
    /// A number: `int[4]`.
    Literal { value: u64 },
    /// A non-type template parameter: `T[N]`.
    Param { name: String },
    /// Any other expression, as written (`sizeof(U)`), or empty for `T[]`.
    Expr { text: String },
}

/// A template-id `ns::Pair<T, 4>`: the template's qualified name (no leading `::`) and its
/// arguments.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TemplateId {
    pub template: String,
    pub args: Vec<TemplateArg>,
}

/// One template argument of a template-id: a type, or an expression as written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TemplateArg {
    Type { node: TypeNode, spelling: String },
    Expr { text: String },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParamVar {
    pub name: String,
    pub type_: Type,
    /// Whether the declaration gives the parameter a default argument (calls may leave it out).
    #[serde(default)]
    pub has_default: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccessKind {
    Public,
    Protected,
    Private,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Field {
    pub name: String,
    pub type_: Type,
    pub access: AccessKind,
    /// Byte offset in the record, or -1 for a bit-field or an unknown layout.
    pub offset: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExecutionSpace {
    Undefined,
    Host,
    Device,
    HostDevice,
    Global,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Function {
    pub name: String,
    pub qual_name: String,
    pub return_type: Type,
    pub params: Vec<ParamVar>,
    pub exec_space: ExecutionSpace,
    pub is_constexpr: bool,
    pub is_variadic: bool,
    pub mangled_name: String,
    /// Attribute spellings other than the CUDA execution spaces, sorted, e.g. `noinline`.
    pub attributes: Vec<String>,
    pub is_operator: bool,
    pub location: Location,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MethodKind {
    DefaultConstructor,
    CopyConstructor,
    MoveConstructor,
    ConvertingConstructor,
    OtherConstructor,
    Destructor,
    ConversionFunction,
    Other,
}

impl MethodKind {
    /// Whether the method is a constructor, of any kind (move constructors included).
    pub fn is_constructor(self) -> bool {
        matches!(
            self,
            MethodKind::DefaultConstructor
                | MethodKind::CopyConstructor
                | MethodKind::MoveConstructor
                | MethodKind::ConvertingConstructor
                | MethodKind::OtherConstructor
        )
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StructMethod {
    #[serde(flatten)]
    pub function: Function,
    pub kind: MethodKind,
    pub is_const: bool,
    pub is_static: bool,
    pub is_virtual: bool,
    pub is_copy_assignment: bool,
    pub is_move_assignment: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Base {
    pub name: String,
    pub access: AccessKind,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Struct {
    pub name: String,
    pub qual_name: String,
    /// `struct`, `class` or `union`.
    pub tag: String,
    pub fields: Vec<Field>,
    pub methods: Vec<StructMethod>,
    pub templated_methods: Vec<FunctionTemplate>,
    pub nested_records: Vec<Struct>,
    pub nested_class_templates: Vec<ClassTemplate>,
    /// Public member typedefs and type aliases (`using TempStorage = Uninitialized<_TempStorage>;`).
    #[serde(default)]
    pub nested_typedefs: Vec<Typedef>,
    /// Public enums of a class template's record (`Holder<T>::Mode`); a plain record's are reported
    /// with the other enums, under their qualified names.
    #[serde(default)]
    pub nested_enums: Vec<Enum>,
    pub bases: Vec<Base>,
    pub sizeof_: i64,
    pub alignof_: i64,
    pub location: Location,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TemplateParamKind {
    Type,
    NonType,
    Template,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TemplateParam {
    pub name: String,
    pub kind: TemplateParamKind,
    /// The type of a non-type parameter.
    pub type_: Option<Type>,
    pub is_pack: bool,
    /// The default argument as written, if any.
    pub default: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FunctionTemplate {
    pub template_parameters: Vec<TemplateParam>,
    pub num_min_required_args: usize,
    pub function: Function,
    pub qual_name: String,
    /// Set when the template is a member of a class: the method's kind and constness.
    pub method: Option<MethodInfo>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MethodInfo {
    pub kind: MethodKind,
    pub is_const: bool,
    pub is_static: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClassTemplate {
    pub template_parameters: Vec<TemplateParam>,
    pub num_min_required_args: usize,
    pub record: Struct,
    pub qual_name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClassTemplateSpecialization {
    #[serde(flatten)]
    pub record: Struct,
    pub actual_template_arguments: Vec<String>,
    pub specialized_name: String,
    /// Qualified name of the primary template.
    pub template_qual_name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Typedef {
    pub name: String,
    pub qual_name: String,
    pub underlying_name: String,
    pub location: Location,
    /// The structure of the aliased type, for a class template's member alias (None elsewhere).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub structure: Option<TypeNode>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Enum {
    pub name: String,
    pub qual_name: String,
    pub enumerators: Vec<String>,
    /// Decimal values; in a class template's enum, empty where the value needs the template's
    /// arguments (`A = N * 2`).
    pub enumerator_values: Vec<String>,
    pub underlying_type: Type,
    pub is_scoped: bool,
    pub location: Location,
}

/// How serious a kept diagnostic is (notes and ignored ones are not kept).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Warning,
    Error,
    Fatal,
}

impl Severity {
    /// An error or a fatal error: the parse failed.
    pub fn is_error(self) -> bool {
        self >= Severity::Error
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Diagnostic {
    pub severity: Severity,
    pub file: String,
    pub line: u32,
    pub column: u32,
    pub message: String,
}

impl std::fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.file.is_empty() {
            write!(f, "<command line>: {}", self.message)
        } else {
            write!(f, "{}:{}:{}: {}", self.file, self.line, self.column, self.message)
        }
    }
}

/// What an external definition defines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DefinitionKind {
    Function,
    Variable,
}

/// Byte offsets `[start, end)` in a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Span {
    pub start: u64,
    pub end: u64,
}

/// A device definition with external linkage that is neither inline nor a template (nor constexpr,
/// nor `static`, nor in an anonymous namespace, which are inline or internal): every compilation
/// unit that includes its file emits it as a symbol of its own.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Definition {
    pub name: String,
    pub kind: DefinitionKind,
    pub location: Location,
    /// The function's body, from the `{` (or the `:` of a constructor's initializers) to its `}`
    /// included: replaced by `;` it leaves a declaration. None where no such text exists (a
    /// variable, a function whose return type is deduced from its body, one written by a macro).
    pub body: Option<Span>,
    /// Where the whole declaration starts, when it can be taken out of the text with its body (a
    /// function at namespace scope, not in a linkage specification nor an explicit specialization,
    /// whose first token is this offset): a unit that never names it need not see it at all.
    #[serde(default)]
    pub declaration: Option<u64>,
    /// The identifier code names it by (a function's, a method's or a variable's unqualified
    /// name); None for an operator, a constructor, a destructor or a conversion, which code uses
    /// without naming it (such a definition is kept wherever its file is compiled).
    pub identifier: Option<String>,
    /// The identifiers of the translation unit's external definitions that its body mentions
    /// (sorted, each once): what it may call or read.
    pub uses: Vec<String>,
}

/// The external definitions of one file of the translation unit, with the size and CRC-32 of the
/// text their offsets refer to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileDefinitions {
    pub file: String,
    pub size: u64,
    pub crc32: u32,
    pub definitions: Vec<Definition>,
    /// The identifiers of the translation unit's external definitions that the file mentions
    /// outside the bodies above and outside the declarators of those definitions' own declarations
    /// (its inline functions, templates, macros...: what any unit including it may call), sorted;
    /// None when that cannot be known from the text (the file pastes tokens with `##`, or holds a
    /// literal the scanner cannot follow).
    pub uses: Option<Vec<String>>,
}

/// Everything kept from one translation unit, in source order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Declarations {
    pub structs: Vec<Struct>,
    pub functions: Vec<Function>,
    pub function_templates: Vec<FunctionTemplate>,
    pub class_templates: Vec<ClassTemplate>,
    pub class_template_specializations: Vec<ClassTemplateSpecialization>,
    pub typedefs: Vec<Typedef>,
    pub enums: Vec<Enum>,
    /// The external definitions of the retained files (an entry for each, with none too) and of
    /// every other file visited that has some (the precompiled CUDA preamble's are not visited), by
    /// file: what a compilation unit of bindings need not compile again.
    #[serde(default)]
    pub definitions: Vec<FileDefinitions>,
    /// Errors and warnings clang reported (kept when parse errors are bypassed).
    pub diagnostics: Vec<Diagnostic>,
}
