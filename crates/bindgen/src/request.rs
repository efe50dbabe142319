//! Dynamic mode's adapter over the binding plan: one request in (declarations and the keyword
//! arguments of a `bind_cxx_*` call, as JSON text or read by `crates/py` from the Python objects
//! themselves), one JSON response out (what `numbast._dynamic` executes, and the report).
//! Python names are variables of the code one request renders.
//!
//! With `functions_as_data`, free functions and operators come back as data rather than code: the
//! response is a list of segments, run in order, each either code or a table of function
//! registrations whose Numba type expressions are listed once per table. A header of thousands of
//! functions then costs no Python source to compile, one evaluation per distinct type.

use std::collections::{BTreeMap, BTreeSet};

use canopy::model::{ClassTemplate, Enum, Function, FunctionTemplate, Struct, Typedef};
use serde::{Deserialize, Serialize};

use crate::plan::{plan, render_planned, Exclude, Input, Item, Options, Prefixes, Step, StructOptions};
use crate::render::{Callee, Context, DataModel, FunctionCall, Intents, Rendered, StructRequest};
use crate::report::Report;

/// How dynamic mode excludes and renames: a list of function names, or a table by kind as the
/// static config's `Exclude` and `API Prefix Removal` have.
#[derive(Deserialize, Default)]
#[serde(untagged)]
enum ByKind {
    #[default]
    None,
    Functions(BTreeSet<String>),
    Table {
        #[serde(default)]
        function: Vec<String>,
        #[serde(default, rename = "struct")]
        struct_: Vec<String>,
        #[serde(default, rename = "enum")]
        enum_: Vec<String>,
    },
}

#[derive(Deserialize)]
struct ContextRequest {
    #[serde(default)]
    known: BTreeMap<String, String>,
    #[serde(default)]
    unit_tag: String,
    #[serde(default)]
    intents: serde_json::Value,
    #[serde(default)]
    skip_prefix: Option<String>,
    #[serde(default = "yes")]
    skip_non_device: bool,
    #[serde(default)]
    exclude: ByKind,
    #[serde(default)]
    api_prefix_removal: ByKind,
    /// Functions and operators as data (`Segment::Functions`) instead of code.
    #[serde(default)]
    functions_as_data: bool,
}

fn yes() -> bool {
    true
}

#[derive(Deserialize)]
struct StructItem {
    decl: Struct,
    #[serde(flatten)]
    how: StructRequest,
}

#[derive(Deserialize)]
struct NamedItem<T> {
    decl: T,
    #[serde(default)]
    py_name: Option<String>,
}

impl<T> NamedItem<T> {
    fn item(self) -> Item<T> {
        Item { decl: self.decl, py_name: self.py_name, archs: None }
    }
}

#[derive(Deserialize)]
struct Request {
    context: ContextRequest,
    #[serde(default)]
    enums: Vec<NamedItem<Enum>>,
    #[serde(default)]
    structs: Vec<StructItem>,
    /// How to bind structs met as nested records, by qualified name (the caller's tables looked
    /// up for them); a nested record not listed gets the defaults.
    #[serde(default)]
    nested: BTreeMap<String, StructRequest>,
    #[serde(default)]
    typedefs: Vec<Typedef>,
    #[serde(default)]
    functions: Vec<NamedItem<Function>>,
    #[serde(default)]
    function_templates: Vec<NamedItem<FunctionTemplate>>,
    #[serde(default)]
    class_templates: Vec<NamedItem<ClassTemplate>>,
}

#[derive(Serialize)]
struct Response {
    /// All the code, where functions are rendered as code.
    #[serde(skip_serializing_if = "Option::is_none")]
    code: Option<String>,
    /// The code and function tables in the order they run, where functions are data.
    #[serde(skip_serializing_if = "Option::is_none")]
    segments: Option<Vec<Segment>>,
    report: Report,
}

/// A part of a response rendered with `functions_as_data`.
#[derive(Serialize)]
#[serde(rename_all = "snake_case")]
enum Segment {
    Code(String),
    Functions(FunctionTable),
}

/// `(py_name, operator, shim, src, ret, params)`: see `FunctionTable`.
type FunctionRow = (Option<String>, Option<&'static str>, String, String, usize, Vec<(usize, &'static str)>);

/// Free functions and operators to register, in order. Each row is `[py_name or null, operator
/// name or null, shim, src, ret, [[param, mode], ...]]`, where `ret` and each `param` index `types`:
/// Numba type expressions (`"None"` for void), each listed once.
#[derive(Serialize, Default)]
struct FunctionTable {
    types: Vec<String>,
    rows: Vec<FunctionRow>,
    #[serde(skip)]
    index: BTreeMap<String, usize>,
}

impl FunctionTable {
    fn type_index(&mut self, expr: String) -> usize {
        if let Some(&i) = self.index.get(&expr) {
            return i;
        }
        self.types.push(expr.clone());
        self.index.insert(expr, self.types.len() - 1);
        self.types.len() - 1
    }

    fn push(&mut self, call: FunctionCall) {
        let (py_name, op) = match call.callee {
            Callee::Function { py_name } => (Some(py_name), None),
            Callee::Operator { op } => (None, Some(op)),
        };
        let ret = self.type_index(call.ret);
        let params = call.params.into_iter().map(|(ty, mode)| (self.type_index(ty), mode)).collect();
        self.rows.push((py_name, op, call.shim, call.src, ret, params));
    }
}

/// Appends a step's rendering to the segments: its code, then its functions.
fn push_segments(segments: &mut Vec<Segment>, rendered: Rendered) {
    if !rendered.code.is_empty() {
        match segments.last_mut() {
            Some(Segment::Code(code)) => code.push_str(&rendered.code),
            _ => segments.push(Segment::Code(rendered.code)),
        }
    }
    for call in rendered.functions {
        if !matches!(segments.last(), Some(Segment::Functions(_))) {
            segments.push(Segment::Functions(FunctionTable::default()));
        }
        if let Some(Segment::Functions(table)) = segments.last_mut() {
            table.push(call);
        }
    }
}

/// The request's struct options: those given with each struct, then those of nested records.
struct RequestedStructs {
    by_name: BTreeMap<String, StructRequest>,
}

impl StructOptions for RequestedStructs {
    fn struct_request(&self, s: &Struct, _dependency: bool) -> StructRequest {
        self.by_name.get(&s.qual_name).cloned().unwrap_or_else(|| StructRequest {
            parent: "types.Type".into(),
            model: DataModel::Auto,
            py_name: None,
            aliases: Vec::new(),
        })
    }
}

fn by_kind(v: ByKind) -> (Vec<String>, Vec<String>, Vec<String>) {
    match v {
        ByKind::None => Default::default(),
        ByKind::Functions(f) => (f.into_iter().collect(), Vec::new(), Vec::new()),
        ByKind::Table { function, struct_, enum_ } => (function, struct_, enum_),
    }
}

/// Renders a request given as JSON text; the error names the JSON problem.
pub fn render_json(request: &str) -> Result<String, String> {
    render(serde_json::from_str(request).map_err(|e| format!("bad render request: {e}"))?)
}

/// A render request, as any serde deserializer reads it (`crates/py` reads the Python objects of
/// a `bind_cxx_*` call directly).
#[derive(Deserialize)]
#[serde(transparent)]
pub struct RenderRequest(Request);

/// Renders a request already read.
pub fn render_request(request: RenderRequest) -> Result<String, String> {
    render(request.0)
}

fn render(req: Request) -> Result<String, String> {
    let c = req.context;
    let (ef, es, ee) = by_kind(c.exclude);
    let (pf, ps, pe) = by_kind(c.api_prefix_removal);
    let options = Options {
        exclude: Exclude {
            function: ef.into_iter().collect(),
            r#struct: es.into_iter().collect(),
            r#enum: ee.into_iter().collect(),
        },
        prefixes: Prefixes { function: pf, r#struct: ps, r#enum: pe },
        skip_prefix: c.skip_prefix,
        skip_non_device: c.skip_non_device,
        archs: Vec::new(),
    };
    let mut ctx = Context {
        unit_tag: c.unit_tag,
        intents: Intents::from_json(&c.intents),
        functions_as_data: c.functions_as_data,
        ..Context::default()
    };
    for (name, expr) in c.known {
        ctx.known.insert(&name, expr);
    }
    let mut by_name = req.nested;
    let mut structs = Vec::new();
    for s in req.structs {
        by_name.insert(s.decl.qual_name.clone(), s.how);
        structs.push(Item::new(s.decl));
    }
    let mut input = Input {
        enums: req.enums.into_iter().map(NamedItem::item).collect(),
        structs,
        typedefs: req.typedefs.into_iter().map(Item::new).collect(),
        functions: req.functions.into_iter().map(NamedItem::item).collect(),
        function_templates: req.function_templates.into_iter().map(NamedItem::item).collect(),
        class_templates: req.class_templates.into_iter().map(NamedItem::item).collect(),
        ..Input::default()
    };
    input.type_instance_functions_as_templates(&ctx.known);
    let planned = plan(&input, &options, &RequestedStructs { by_name }, &ctx.known);
    let mut out = Rendered::default();
    let mut segments = Vec::new();
    for step in &planned.steps {
        let rendered = match step {
            Step::Bind(p) => render_planned(&mut ctx, p),
            Step::Skip(s) => Rendered::skipped(s.clone()),
        };
        if ctx.functions_as_data {
            out.report.extend(rendered.report);
            push_segments(&mut segments, Rendered { report: Report::default(), ..rendered });
        } else {
            out.append(rendered);
        }
    }
    let response = if ctx.functions_as_data {
        Response { code: None, segments: Some(segments), report: out.report }
    } else {
        Response { code: Some(out.code), segments: None, report: out.report }
    };
    serde_json::to_string(&response).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn function(name: &str, ty: &str) -> serde_json::Value {
        let int = serde_json::json!({"name": ty, "unqualified_non_ref_type_name": ty, "ref_kind": "none",
            "is_const": false, "shape": {"tag": "int", "size": 4, "signed": true}});
        serde_json::json!({"name": name, "qual_name": name, "return_type": int,
            "params": [{"name": "x", "type_": int}], "exec_space": "device", "is_constexpr": false,
            "is_variadic": false, "mangled_name": format!("_Z{}{name}i", name.len()), "attributes": [],
            "is_operator": false, "location": {"file": "h.cuh", "line": 1, "column": 1}})
    }

    fn request(as_data: bool) -> String {
        serde_json::json!({"context": {"functions_as_data": as_data},
            "functions": [{"decl": function("f", "int")}, {"decl": function("g", "int")}]})
        .to_string()
    }

    #[test]
    fn functions_as_data_are_the_rows_of_the_code() {
        let code: serde_json::Value = serde_json::from_str(&render_json(&request(false)).unwrap()).unwrap();
        let data: serde_json::Value = serde_json::from_str(&render_json(&request(true)).unwrap()).unwrap();
        assert_eq!(code["report"], data["report"]);
        assert!(data.get("code").is_none() && code.get("segments").is_none());
        let segments = data["segments"].as_array().unwrap();
        assert_eq!(segments.len(), 1, "{segments:?}");
        let table = &segments[0]["functions"];
        // One type expression for the result and parameter of both functions.
        assert_eq!(table["types"], serde_json::json!(["types.int32"]));
        let rows = table["rows"].as_array().unwrap();
        assert_eq!(rows.len(), 2);
        let code = code["code"].as_str().unwrap();
        for (row, name) in rows.iter().zip(["f", "g"]) {
            assert_eq!(row[0], name);
            assert!(row[1].is_null());
            assert_eq!(row[4], 0);
            assert_eq!(row[5], serde_json::json!([[0, "in"]]));
            let shim = row[2].as_str().unwrap();
            let call = format!("{name} = _b.function(unit=_unit, py_name=\"{name}\", shim=\"{shim}\", src=");
            assert!(code.contains(&call), "{code}");
            assert!(row[3].as_str().unwrap().contains(&format!("::{name}(")), "{row}");
        }
    }
}
