//! One JSON request in, one JSON response out: how dynamic mode (through `crates/py`) asks for
//! rendered bindings.

use std::collections::{BTreeMap, BTreeSet};

use canopy::model::{ClassTemplate, Enum, Function, FunctionTemplate, Struct};
use serde::{Deserialize, Serialize};

use crate::render::{
    render_class_template, render_enum, render_function_templates, render_functions, render_struct, Context, Rendered,
    StructRequest,
};
use crate::report::Report;

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
    exclude: BTreeSet<String>,
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

#[derive(Deserialize)]
struct Request {
    context: ContextRequest,
    #[serde(default)]
    enums: Vec<NamedItem<Enum>>,
    #[serde(default)]
    structs: Vec<StructItem>,
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

/// Renders a request; the error names the JSON problem.
pub fn render_json(request: &str) -> Result<String, String> {
    let req: Request = serde_json::from_str(request).map_err(|e| format!("bad render request: {e}"))?;
    let mut ctx = Context {
        unit_tag: req.context.unit_tag,
        intents: req.context.intents,
        skip_prefix: req.context.skip_prefix,
        skip_non_device: req.context.skip_non_device,
        exclude: req.context.exclude,
        ..Context::default()
    };
    for (name, expr) in req.context.known {
        ctx.known.insert(&name, expr);
    }
    let mut out = Rendered::default();
    for e in &req.enums {
        let name = e.py_name.clone().unwrap_or_else(|| e.decl.name.clone());
        out.append(render_enum(&mut ctx, &e.decl, &name));
    }
    for s in &req.structs {
        out.append(render_struct(&mut ctx, &s.decl, &s.how));
    }
    let functions: Vec<Function> = req.functions.iter().map(|f| f.decl.clone()).collect();
    let names: BTreeMap<String, String> = req
        .functions
        .iter()
        .filter_map(|f| f.py_name.clone().map(|n| (f.decl.mangled_name.clone() + "|" + &f.decl.qual_name, n)))
        .collect();
    let py_name_of = |f: &Function| {
        names.get(&(f.mangled_name.clone() + "|" + &f.qual_name)).cloned().unwrap_or_else(|| f.name.clone())
    };
    out.append(render_functions(&ctx, &functions, &py_name_of));
    let templates: Vec<FunctionTemplate> = req.function_templates.iter().map(|t| t.decl.clone()).collect();
    let template_names: Vec<String> =
        req.function_templates.iter().map(|t| t.py_name.clone().unwrap_or_else(|| t.decl.function.name.clone())).collect();
    // The renderer passes back the elements of `templates` themselves: find each by address.
    let template_py_name = |t: &FunctionTemplate| {
        let i = templates.iter().position(|x| std::ptr::eq(x, t)).unwrap_or(0);
        template_names[i].clone()
    };
    out.append(render_function_templates(&ctx, &templates, &template_py_name));
    for t in &req.class_templates {
        let name = t.py_name.clone().unwrap_or_else(|| t.decl.record.name.clone());
        out.append(render_class_template(&ctx, &t.decl, &name));
    }
    serde_json::to_string(&Response { code: out.code, report: out.report }).map_err(|e| e.to_string())
}
