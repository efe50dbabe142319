//! What a render bound, and every declaration it did not bind with the reason: a stable code for
//! programs and tests, and a message for people.

use serde::{Deserialize, Serialize};

/// `file:line:col` of a declaration: the one spelling of a place in reports, skips and messages.
pub fn place(loc: &canopy::model::Location) -> String {
    loc.to_string()
}

/// What a binding (or a skipped declaration) is. Serialized as the words the report has always
/// used (`"struct"`, `"static method"`...).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum BindKind {
    #[serde(rename = "function")]
    Function,
    #[serde(rename = "operator")]
    Operator,
    #[serde(rename = "struct")]
    Struct,
    #[serde(rename = "constructor")]
    Constructor,
    #[serde(rename = "method")]
    Method,
    #[serde(rename = "static method")]
    StaticMethod,
    #[serde(rename = "conversion")]
    Conversion,
    #[serde(rename = "enum")]
    Enum,
    #[serde(rename = "alias")]
    Alias,
    #[serde(rename = "function_template")]
    FunctionTemplate,
    #[serde(rename = "operator_template")]
    OperatorTemplate,
    #[serde(rename = "class_template")]
    ClassTemplate,
    #[serde(rename = "method template")]
    MethodTemplate,
    #[serde(rename = "static method template")]
    StaticMethodTemplate,
}

impl BindKind {
    /// The word the report uses.
    pub fn as_str(self) -> &'static str {
        match self {
            BindKind::Function => "function",
            BindKind::Operator => "operator",
            BindKind::Struct => "struct",
            BindKind::Constructor => "constructor",
            BindKind::Method => "method",
            BindKind::StaticMethod => "static method",
            BindKind::Conversion => "conversion",
            BindKind::Enum => "enum",
            BindKind::Alias => "alias",
            BindKind::FunctionTemplate => "function_template",
            BindKind::OperatorTemplate => "operator_template",
            BindKind::ClassTemplate => "class_template",
            BindKind::MethodTemplate => "method template",
            BindKind::StaticMethodTemplate => "static method template",
        }
    }
}

impl std::fmt::Display for BindKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a declaration is not bound. The code (`SkipReason::code`, the JSON form) is stable; the
/// message beside it in a `Skip` says the particulars.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SkipReason {
    /// Named by `Exclude` (static) or `exclude=` (dynamic).
    Excluded,
    /// The name starts with `Skip Prefix` / `skip_prefix=`.
    SkipPrefix,
    /// A `__global__` kernel.
    Kernel,
    /// Not callable on the device.
    HostOnly,
    /// A C variadic function.
    Variadic,
    /// An operator with no Python operator of its arity (`++`, `->`, `,`...).
    NoPythonOperator,
    /// A parameter, result or field type with no Numba type.
    UnsupportedType,
    /// An argument intent that is not one of the four, or one on a parameter it cannot apply to.
    Intent,
    /// Size or alignment unknown (incomplete or dependent type).
    UnknownLayout,
    /// `StructModel` asked for, and the fields do not describe the layout.
    FieldLayout,
    /// A data model that is neither `StructModel` nor `PrimitiveModel`.
    DataModel,
    /// Destructors, move constructors, assignments: not meaningful for Numba values.
    ValueSemantics,
    /// A member function template of a struct (bound through the template API).
    MemberTemplate,
    /// A template template parameter.
    TemplateTemplateParameter,
    /// A C++ construct this version does not bind yet.
    NotSupported,
}

impl SkipReason {
    /// The stable code: what the report JSON and the coverage table carry.
    pub fn code(self) -> &'static str {
        match self {
            SkipReason::Excluded => "excluded",
            SkipReason::SkipPrefix => "skip-prefix",
            SkipReason::Kernel => "kernel",
            SkipReason::HostOnly => "host-only",
            SkipReason::Variadic => "variadic",
            SkipReason::NoPythonOperator => "no-python-operator",
            SkipReason::UnsupportedType => "unsupported-type",
            SkipReason::Intent => "intent",
            SkipReason::UnknownLayout => "unknown-layout",
            SkipReason::FieldLayout => "field-layout",
            SkipReason::DataModel => "data-model",
            SkipReason::ValueSemantics => "value-semantics",
            SkipReason::MemberTemplate => "member-template",
            SkipReason::TemplateTemplateParameter => "template-template-parameter",
            SkipReason::NotSupported => "not-supported",
        }
    }
}

/// Why one declaration cannot be bound: the typed error of the renderer's steps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unbindable {
    pub reason: SkipReason,
    pub message: String,
}

impl Unbindable {
    pub fn new(reason: SkipReason, message: impl Into<String>) -> Unbindable {
        Unbindable { reason, message: message.into() }
    }

    /// The same reason, the message wrapped (`field `x`: <message>`).
    pub fn map_message(self, f: impl FnOnce(String) -> String) -> Unbindable {
        Unbindable { reason: self.reason, message: f(self.message) }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bound {
    pub kind: BindKind,
    /// The C++ qualified name (with the operator or method for members).
    pub name: String,
    /// The Python name the binding is reachable by (empty for operators and members).
    pub py_name: String,
    /// How it was bound where that is worth a look: `opaque: <why>` for a struct bound as bytes,
    /// `renamed: <why>` for one whose Python name was taken.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub note: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Skip {
    pub kind: BindKind,
    pub name: String,
    /// `file:line:col` of the declaration.
    pub location: String,
    /// The stable code of `reason`.
    pub code: SkipReason,
    pub reason: String,
}

impl Skip {
    pub fn new(kind: BindKind, name: &str, loc: &canopy::model::Location, why: Unbindable) -> Skip {
        Skip { kind, name: name.into(), location: place(loc), code: why.reason, reason: why.message }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    pub bound: Vec<Bound>,
    pub skipped: Vec<Skip>,
}

impl Report {
    pub fn bind(&mut self, kind: BindKind, name: &str, py_name: &str) {
        self.bound.push(Bound { kind, name: name.into(), py_name: py_name.into(), note: String::new() });
    }

    /// Adds a note to the last binding made.
    pub fn note_last(&mut self, note: String) {
        if let Some(b) = self.bound.last_mut() {
            b.note = note;
        }
    }

    pub fn skip(&mut self, kind: BindKind, name: &str, loc: &canopy::model::Location, why: Unbindable) {
        self.skipped.push(Skip::new(kind, name, loc, why));
    }

    pub fn extend(&mut self, other: Report) {
        self.bound.extend(other.bound);
        self.skipped.extend(other.skipped);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_and_codes_serialize_as_their_words() {
        assert_eq!(serde_json::to_string(&BindKind::StaticMethod).unwrap(), "\"static method\"");
        assert_eq!(serde_json::to_string(&BindKind::ClassTemplate).unwrap(), "\"class_template\"");
        for r in [SkipReason::Excluded, SkipReason::TemplateTemplateParameter, SkipReason::NoPythonOperator] {
            assert_eq!(serde_json::to_string(&r).unwrap(), format!("\"{}\"", r.code()));
        }
    }
}
