//! Dynamic mode's adapter over the binding plan: one JSON request in (declarations and the keyword
//! arguments of a `bind_cxx_*` call), one JSON response out (the code `numbast._dynamic` executes,
//! and the report). Python names are variables of the code one request renders.

use std::collections::{BTreeMap, BTreeSet};

use canopy::model::{ClassTemplate, Enum, Function, FunctionTemplate, Struct, Typedef};
use serde::{Deserialize, Serialize};

use crate::plan::{plan, render_planned, Exclude, Input, Item, Options, Prefixes, Step, StructOptions};
use crate::render::{Context, DataModel, Intents, Rendered, StructRequest};
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
    code: String,
    report: Report,
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

/// Renders a request; the error names the JSON problem.
pub fn render_json(request: &str) -> Result<String, String> {
    let req: Request = serde_json::from_str(request).map_err(|e| format!("bad render request: {e}"))?;
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
    let mut ctx = Context { unit_tag: c.unit_tag, intents: Intents::from_json(&c.intents), ..Context::default() };
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
    for step in &planned.steps {
        match step {
            Step::Bind(p) => out.append(render_planned(&mut ctx, p)),
            Step::Skip(s) => out.report.skipped.push(s.clone()),
        }
    }
    serde_json::to_string(&Response { code: out.code, report: out.report }).map_err(|e| e.to_string())
}
