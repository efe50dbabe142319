//! Renders declarations into Python registration code that calls the runtime
//! (`python/numbast/_runtime.py`). Dynamic mode executes this code in memory; static mode writes it
//! into a module. Split by kind: functions and operators, structs, enums, templates.

mod enums;
mod function;
mod structs;
mod templates;

use std::collections::BTreeSet;
use std::fmt::Write;

use serde::Deserialize;

use crate::pyexpr::py_str;
use crate::report::Report;
use crate::types::KnownTypes;

pub use enums::render_enum;
pub use function::render_functions;
pub use structs::{render_struct, StructRequest};
pub use templates::{render_class_template, render_function_templates};

/// The imports every piece of rendered code relies on; dynamic mode executes them to build the
/// namespace it runs rendered code in, static mode writes them at the top of the module.
pub const PRELUDE: &str = "import operator\nfrom numba import types\nfrom numba.cuda import types as _cuda_types\nfrom numba.cuda.vector_types import vector_types as _vector_types\n";

/// Argument intent of a reference parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Intent {
    In,
    InoutPtr,
    OutPtr,
    OutReturn,
}

/// Everything a render needs besides the declarations.
#[derive(Debug, Clone, Default)]
pub struct Context {
    pub known: KnownTypes,
    /// Identity of the shim unit (the text shims are compiled with), so shim names are unique.
    pub unit_tag: String,
    /// Intents: `{function: {param name or index: intent}}`; for methods `{struct: {method: {...}}}`;
    /// functions and structs by plain or qualified name.
    pub intents: serde_json::Value,
    pub skip_prefix: Option<String>,
    pub skip_non_device: bool,
    pub exclude: BTreeSet<String>,
    /// A preprocessor condition wrapped around each shim (declarations present on some GPU
    /// architectures only).
    pub arch_guard: Option<String>,
}

impl Context {
    /// Shim source, wrapped in the architecture guard if there is one.
    pub(crate) fn guarded(&self, src: String) -> String {
        match &self.arch_guard {
            Some(g) => format!("#if {g}\n{src}#endif\n"),
            None => src,
        }
    }

    /// The intent for parameter `index`/`name` of `path` (function name, or struct then method).
    pub(crate) fn intent(&self, path: &[&str], index: usize, name: &str) -> Result<Intent, String> {
        let mut node = &self.intents;
        for p in path {
            match node.get(p) {
                Some(n) => node = n,
                None => return Ok(Intent::In),
            }
        }
        let value = node.get(name).or_else(|| node.get(index.to_string()));
        match value {
            None => Ok(Intent::In),
            Some(v) => serde_json::from_value(v.clone()).map_err(|_| {
                format!("argument intent {v} for parameter `{name}` is not one of in, inout_ptr, out_ptr, out_return")
            }),
        }
    }
}

/// Rendered Python code plus the report of what it binds and skips.
#[derive(Debug, Default)]
pub struct Rendered {
    pub code: String,
    pub report: Report,
}

impl Rendered {
    pub fn append(&mut self, other: Rendered) {
        self.code.push_str(&other.code);
        self.report.extend(other.report);
    }
}

/// A callable as declared, then with its trailing defaulted parameters left out one by one: each
/// with the suffix that keeps its shim's identity apart (empty for the declared one).
pub(crate) fn arities(f: &canopy::model::Function) -> Vec<(canopy::model::Function, String)> {
    let mut out = vec![(f.clone(), String::new())];
    let mut n = f.params.len();
    while n > 0 && f.params[n - 1].has_default {
        n -= 1;
        let mut g = f.clone();
        g.params.truncate(n);
        out.push((g, format!("#arity{n}")));
    }
    out
}

/// `name=value` keyword arguments for a runtime call.
pub(crate) fn call(target: &str, args: &[(&str, String)]) -> String {
    let mut s = String::new();
    let _ = write!(s, "{target}(");
    for (i, (k, v)) in args.iter().enumerate() {
        if i > 0 {
            s.push_str(", ");
        }
        if k.is_empty() {
            s.push_str(v);
        } else {
            let _ = write!(s, "{k}={v}");
        }
    }
    s.push_str(")\n");
    s
}

/// The Python expression for a type registered in the bindings object by C++ name.
pub fn registered_type_expr(cxx_name: &str) -> String {
    format!("_b.types[{}]", py_str(&crate::types::cxx(cxx_name)))
}
