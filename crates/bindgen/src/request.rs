//! One JSON request in, one JSON response out: how dynamic mode (through `crates/py`) asks for
//! rendered bindings.

use std::collections::{BTreeMap, BTreeSet};

use canopy::model::{ClassTemplate, Enum, Function, FunctionTemplate, Struct};
use serde::{Deserialize, Serialize};

use crate::pyexpr::py_ident;
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

/// `name` as a Python identifier not in `taken` (`S`, else `S_2`, `S_3`...), now taken.
fn claim(taken: &mut BTreeSet<String>, name: &str) -> String {
    let base = py_ident(name);
    let mut candidate = base.clone();
    let mut i = 2;
    while taken.contains(&candidate) {
        candidate = py_ident(&format!("{base}_{i}"));
        i += 1;
    }
    taken.insert(candidate.clone());
    candidate
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
    // Python names are variables of the code this request renders: one per enum and struct, so two
    // entities whose names sanitize alike (`a::S` and `b::S`, `def` and `def_`) get `S`, `S_2`...
    let mut taken: BTreeSet<String> = BTreeSet::new();
    for e in &req.enums {
        let name = claim(&mut taken, e.py_name.as_deref().unwrap_or(&e.decl.name));
        out.append(render_enum(&mut ctx, &e.decl, &name));
    }
    for s in &req.structs {
        let mut how = s.how.clone();
        how.py_name = Some(claim(&mut taken, s.how.py_name.as_deref().unwrap_or(&s.decl.name)));
        out.append(render_struct(&mut ctx, &s.decl, &how));
    }
    // Functions share a name with their overloads, never with an enum or struct of this request.
    let key = |f: &Function| f.mangled_name.clone() + "|" + &f.qual_name;
    let mut moved: BTreeMap<String, String> = BTreeMap::new();
    let mut renamed: BTreeMap<String, String> = BTreeMap::new();
    for f in &req.functions {
        let mut name = f.py_name.clone().unwrap_or_else(|| f.decl.name.clone());
        let base = py_ident(&name);
        if !f.decl.is_operator && taken.contains(&base) {
            name = moved.entry(base).or_insert_with_key(|b| claim(&mut taken, b)).clone();
        }
        renamed.insert(key(&f.decl), name);
    }
    let functions: Vec<Function> = req.functions.iter().map(|f| f.decl.clone()).collect();
    let py_name_of = |f: &Function| renamed.get(&key(f)).cloned().unwrap_or_else(|| f.name.clone());
    out.append(render_functions(&ctx, &functions, &py_name_of));
    let templates: Vec<FunctionTemplate> = req.function_templates.iter().map(|t| t.decl.clone()).collect();
    let template_names: Vec<String> = req
        .function_templates
        .iter()
        .map(|t| t.py_name.clone().unwrap_or_else(|| t.decl.function.name.clone()))
        .collect();
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
