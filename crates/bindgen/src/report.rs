//! What a render bound, and every declaration it did not bind with the reason.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bound {
    /// `function`, `operator`, `struct`, `constructor`, `method`, `conversion`, `enum`, `alias`.
    pub kind: String,
    /// The C++ qualified name (with the operator or method for members).
    pub name: String,
    /// The Python name the binding is reachable by (empty for operators and members).
    pub py_name: String,
    /// How it was bound where that is worth a look: `opaque: <why>` for a struct bound as bytes.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub note: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Skip {
    pub kind: String,
    pub name: String,
    /// `file:line:col` of the declaration.
    pub location: String,
    pub reason: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    pub bound: Vec<Bound>,
    pub skipped: Vec<Skip>,
}

impl Report {
    pub fn bind(&mut self, kind: &str, name: &str, py_name: &str) {
        self.bound.push(Bound { kind: kind.into(), name: name.into(), py_name: py_name.into(), note: String::new() });
    }

    /// Adds a note to the last binding made.
    pub fn note_last(&mut self, note: String) {
        if let Some(b) = self.bound.last_mut() {
            b.note = note;
        }
    }

    pub fn skip(&mut self, kind: &str, name: &str, loc: &canopy::model::Location, reason: impl Into<String>) {
        self.skipped.push(Skip {
            kind: kind.into(),
            name: name.into(),
            location: format!("{}:{}:{}", loc.file, loc.line, loc.column),
            reason: reason.into(),
        });
    }

    pub fn extend(&mut self, other: Report) {
        self.bound.extend(other.bound);
        self.skipped.extend(other.skipped);
    }
}
