//! Renders declarations into Python registration code that calls the runtime
//! (`python/numbast/_runtime.py`). Dynamic mode executes this code in memory; static mode writes it
//! into a module. Split by kind: functions and operators, structs, enums, templates.

mod enums;
mod function;
mod intents;
mod self_refs;
mod spelling;
mod structs;
mod templates;

use std::fmt::Write;

use crate::pyexpr::py_str;
use crate::report::{Report, Skip};
use crate::types::KnownTypes;

pub use enums::render_enum;
pub use function::{render_function, Callee, FunctionCall};
pub use structs::{render_struct, DataModel, StructRequest};
pub use templates::{render_class_template, render_function_templates};

/// The imports every piece of rendered code relies on; dynamic mode executes them to build the
/// namespace it runs rendered code in, static mode writes them at the top of the module.
pub const PRELUDE: &str = "import operator\nfrom numba import types\nfrom numba.cuda import types as _cuda_types\nfrom numba.cuda.vector_types import vector_types as _vector_types\n";

/// The same names for the numba-cuda-mlir backend: its copy of Numba's types, and its CUDA vector
/// types (MLIR vectors, `float32x3`...), by the names the renderer writes (`types.rs`).
pub const PRELUDE_MLIR: &str = concat!(
    "import operator\n",
    "from numba_cuda_mlir.numba_cuda import types\n",
    "from numba_cuda_mlir.numba_cuda import types as _cuda_types\n",
    "from numba_cuda_mlir.type_defs.vector_types import VectorType as _VectorType\n",
    "_vector_types = {f\"{_e}x{_n}\": _VectorType(getattr(types, _e), _n) for _e in (\"int8\", \"uint8\", \"int16\", \"uint16\", ",
    "\"int32\", \"uint32\", \"int64\", \"uint64\", \"float32\", \"float64\") for _n in (1, 2, 3, 4)}\n",
);

/// The prelude of a backend.
pub fn prelude(mlir: bool) -> &'static str {
    if mlir {
        PRELUDE_MLIR
    } else {
        PRELUDE
    }
}

pub use intents::{Intent, IntentPath, Intents};

/// The pattern of a C++ type spelling as the template runtime reads it, a Python literal
/// (`("ptr", ("name", "float", ("float",)))` for `const float *`).
pub fn type_pattern(spelling: &str) -> String {
    spelling::Pattern::of(spelling).to_py(&[])
}

/// Everything a render needs besides the declaration and its planned Python name.
#[derive(Debug, Clone, Default)]
pub struct Context {
    pub known: KnownTypes,
    /// Identity of the shim unit (the text shims are compiled with), so shim names are unique.
    pub unit_tag: String,
    pub intents: Intents,
    /// A preprocessor condition wrapped around each shim (declarations present on some GPU
    /// architectures only).
    pub arch_guard: Option<String>,
    /// Write the locations that go into rendered code (template error messages) with the file's
    /// name only: static mode writes no path of the generating machine into a module.
    pub file_names_only: bool,
    /// Free functions and operators as data (`Rendered::functions`) instead of code: dynamic mode
    /// registers them without compiling Python source per function.
    pub functions_as_data: bool,
    /// Python names the steps rendered so far assigned (an alias names its target only if the
    /// target was bound, not merely planned).
    pub(crate) assigned: std::collections::BTreeSet<String>,
}

impl Context {
    /// Shim source, wrapped in the architecture guard if there is one.
    pub(crate) fn guarded(&self, src: String) -> String {
        match &self.arch_guard {
            Some(g) => format!("#if {g}\n{src}#endif\n"),
            None => src,
        }
    }

    /// `file:line:col` of `loc` as rendered code carries it.
    pub(crate) fn place(&self, loc: &canopy::model::Location) -> String {
        if self.file_names_only {
            let name = loc.file.rsplit(['/', '\\']).next().unwrap_or(&loc.file);
            format!("{name}:{}:{}", loc.line, loc.column)
        } else {
            crate::report::place(loc)
        }
    }
}

/// Rendered Python code: what it binds and skips, the names it assigns at its top level, and the
/// shims it defines.
#[derive(Debug, Default)]
pub struct Rendered {
    pub code: String,
    pub report: Report,
    /// Python names the code assigns (`name = ...`), in order, each once.
    pub names: Vec<String>,
    /// The same names as a set (a module of thousands of functions asks it for each one).
    pub(crate) name_set: std::collections::HashSet<String>,
    /// Shim symbols the code defines.
    pub shims: Vec<String>,
    /// Free functions and operators to register after `code` runs, where the context asked for
    /// them as data (`Context::functions_as_data`); else they are in `code`.
    pub functions: Vec<FunctionCall>,
}

impl Rendered {
    pub fn append(&mut self, other: Rendered) {
        self.code.push_str(&other.code);
        self.functions.extend(other.functions);
        self.report.extend(other.report);
        for n in other.names {
            self.assigns(n);
        }
        self.shims.extend(other.shims);
    }

    /// Records that the code assigns `name`.
    pub(crate) fn assigns(&mut self, name: String) {
        if self.name_set.insert(name.clone()) {
            self.names.push(name);
        }
    }

    /// Adds a function's registration: as code, or as data where the context asks for it.
    pub(crate) fn push_function(&mut self, ctx: &Context, call: FunctionCall) {
        if ctx.functions_as_data {
            self.functions.push(call);
        } else {
            self.code.push_str(&call.code());
        }
    }

    /// A rendered skip: the report holds it, there is no code.
    pub fn skipped(skip: Skip) -> Rendered {
        let mut out = Rendered::default();
        out.report.skipped.push(skip);
        out
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
