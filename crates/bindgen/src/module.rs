//! Static mode: assembles a standalone Python module (and its `.pyi` stub) from a config and the
//! declarations parsed for each GPU architecture. The registration code is the renderer's, the same
//! that dynamic mode executes; the runtime is embedded as text, so the module needs only numba-cuda.
//!
//! Declarations come in two groups: those of the config's `File List` (bound as configured) and
//! those of other headers the entry point includes, from which only the structs and enums that a
//! bound declaration needs are bound ("dependency types").

mod arch;
mod deps;
mod python;

use std::collections::BTreeSet;

use canopy::model::{Declarations, Enum, Function, Struct, Typedef};

use crate::config::Config;
use crate::pyexpr::{py_ident, py_str};
use crate::render::{render_enum, render_functions, render_struct, Context, Rendered, StructRequest};
use crate::report::Report;
use crate::types::cxx;

pub use arch::arch_condition;
use arch::{arch_ranges, python_ranges, Union};
use python::{Export, ExportKind};

/// The runtime the rendered code calls, embedded into every generated module.
pub const RUNTIME_SOURCE: &str = include_str!("../../../python/numbast/_runtime.py");

/// Facts recorded in the generated module's header comment.
pub struct Provenance {
    pub tool_version: String,
    pub libclang_version: String,
    pub cuda_version: String,
    /// The config path relative to the output folder.
    pub config_path: String,
}

/// How the shim unit includes the entry point.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ShimInclude {
    /// Lines written as they are: `Shim Include Override`, or `#include <cuda_fp16.h>` for a header
    /// under a CUDA include folder (which NVRTC finds on any machine).
    Verbatim(String),
    /// A header elsewhere, by its path relative to the generated module's folder (`/`-separated).
    /// The module includes it by the absolute path it computes from its own location when it is
    /// imported, so the module and the header can move together, and no path of the generating
    /// machine is written into the module.
    RelativeToModule(String),
}

impl ShimInclude {
    /// What identifies the include across machines and output folders (it names the shims).
    fn identity(&self) -> String {
        match self {
            ShimInclude::Verbatim(text) => text.clone(),
            ShimInclude::RelativeToModule(rel) => {
                format!("#include \"{}\"", rel.rsplit('/').next().unwrap_or(rel))
            }
        }
    }
}

/// Everything a module is rendered from.
pub struct ModuleRequest<'a> {
    pub config: &'a Config,
    pub module_name: &'a str,
    /// The declarations parsed for each configured arch, in config order.
    pub per_arch: &'a [(String, Declarations)],
    /// Canonical paths of the `File List` headers; declarations elsewhere are dependency
    /// candidates. Empty: every declaration is bound as configured.
    pub primary_files: &'a BTreeSet<String>,
    pub include: &'a ShimInclude,
    /// The Clang Include Paths outside the CUDA include folders, relative to the module's folder
    /// (`/`-separated): the module adds them to NVRTC's search path when it registers.
    pub include_dirs: &'a [String],
    pub provenance: &'a Provenance,
}

/// A struct or enum from outside the `File List`, bound because a bound declaration needs it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Dependency {
    pub kind: String,
    pub name: String,
    pub py_name: String,
    /// `file:line:col` of its declaration.
    pub location: String,
}

pub struct Module {
    pub name: String,
    pub python: String,
    pub stub: String,
    pub report: Report,
    pub dependencies: Vec<Dependency>,
}

fn strip_prefix<'a>(name: &'a str, prefixes: &[String]) -> &'a str {
    prefixes.iter().find_map(|p| name.strip_prefix(p.as_str()).filter(|rest| !rest.is_empty())).unwrap_or(name)
}

/// Names the generated module defines itself; a binding with one of these names gets a `_` suffix.
fn is_reserved(name: &str) -> bool {
    matches!(name, "install" | "typing_registry" | "target_registry" | "_b" | "_unit")
        || name.starts_with("_nb_")
        || name.starts_with("_NB_")
}

/// The Python name of a binding: an identifier, never one the module reserves (none of which
/// ends in `_`).
fn export_name(name: &str) -> String {
    let n = py_ident(name);
    if is_reserved(&n) && !n.ends_with('_') {
        format!("{n}_")
    } else {
        n
    }
}

/// The declarations of every arch, split into those of the `File List` and the others.
struct Split {
    primary: Vec<(String, Declarations)>,
    others: Vec<(String, Declarations)>,
}

fn split(per_arch: &[(String, Declarations)], primary_files: &BTreeSet<String>) -> Split {
    let is_primary = |file: &str| primary_files.is_empty() || primary_files.contains(file);
    let mut out = Split { primary: Vec::new(), others: Vec::new() };
    for (arch, d) in per_arch {
        let (mut p, mut o) = (Declarations::default(), Declarations::default());
        for s in &d.structs {
            if is_primary(&s.location.file) { &mut p } else { &mut o }.structs.push(s.clone());
        }
        for f in &d.functions {
            if is_primary(&f.location.file) {
                p.functions.push(f.clone());
            }
        }
        for t in &d.typedefs {
            if is_primary(&t.location.file) {
                p.typedefs.push(t.clone());
            }
        }
        for e in &d.enums {
            if is_primary(&e.location.file) { &mut p } else { &mut o }.enums.push(e.clone());
        }
        out.primary.push((arch.clone(), p));
        out.others.push((arch.clone(), o));
    }
    out
}

fn union_of<T: Clone>(per_arch: &[(String, Declarations)], items: impl Fn(&Declarations) -> &Vec<T>, key: impl Fn(&T) -> String) -> Union<T> {
    Union::build(&per_arch.iter().map(|(a, d)| (a.clone(), items(d).clone())).collect::<Vec<_>>(), key)
}

/// The renderer's struct request for `s`: the configured type class and data model, if any.
fn struct_request(config: &Config, s: &Struct, default_model: &str) -> StructRequest {
    let parent = config.types.get(&s.name).or_else(|| config.types.get(&s.qual_name));
    let model = config.data_models.get(&s.name).or_else(|| config.data_models.get(&s.qual_name));
    StructRequest {
        parent: format!("types.{}", parent.map(String::as_str).unwrap_or("Type")),
        model: match model.map(String::as_str) {
            Some("PrimitiveModel") => "primitive".into(),
            Some(_) => "struct".into(),
            None => default_model.into(),
        },
        py_name: Some(export_name(strip_prefix(&s.name, &config.api_prefix_removal.r#struct))),
        aliases: Vec::new(),
    }
}

fn location(loc: &canopy::model::Location) -> String {
    format!("{}:{}:{}", loc.file, loc.line, loc.column)
}

/// A C++ signature for the stub's docstrings: `__half hadd(const __half a, const __half b)`.
fn cxx_signature(f: &Function) -> String {
    let params: Vec<String> = f.params.iter().map(|p| format!("{} {}", p.type_.name, p.name).trim().to_string()).collect();
    format!("{} {}({})", f.return_type.name, f.qual_name, params.join(", "))
}

/// Renders one module; the state of a render in progress.
struct Renderer<'a> {
    req: &'a ModuleRequest<'a>,
    archs: Vec<String>,
    ctx: Context,
    out: Rendered,
    exports: Vec<Export>,
    dependencies: Vec<Dependency>,
    /// Bound functions whose C++ name matches `Cooperative Launch Required Functions Regex`.
    cooperative: Vec<String>,
    /// Whether some function exists on some archs only (the module needs `_nb_require_arch`).
    arch_limited: bool,
}

impl<'a> Renderer<'a> {
    fn new(req: &'a ModuleRequest<'a>) -> Renderer<'a> {
        let config = req.config;
        let macros = config.predefined_macros.join("\n");
        let unit_tag = blake3::hash(format!("{}\0{macros}\0{}", req.module_name, req.include.identity()).as_bytes()).to_hex()[..16].to_string();
        let ctx = Context {
            unit_tag,
            intents: serde_json::to_value(&config.function_argument_intents).unwrap_or_default(),
            skip_prefix: config.skip_prefix.clone(),
            skip_non_device: true,
            exclude: config.exclude.function.iter().cloned().collect(),
            ..Context::default()
        };
        Renderer {
            req,
            archs: req.per_arch.iter().map(|(a, _)| a.clone()).collect(),
            ctx,
            out: Rendered::default(),
            exports: Vec::new(),
            dependencies: Vec::new(),
            cooperative: Vec::new(),
            arch_limited: false,
        }
    }

    fn export(&mut self, name: &str, kind: ExportKind) {
        match self.exports.iter_mut().find(|e| e.name == name) {
            Some(e) => {
                if let (ExportKind::Function(have), ExportKind::Function(more)) = (&mut e.kind, kind) {
                    have.extend(more);
                }
            }
            None => self.exports.push(Export { name: name.to_string(), kind }),
        }
    }

    fn enum_(&mut self, e: &Enum, dependency: bool) {
        let config = self.req.config;
        if config.exclude.r#enum.contains(&e.name) || config.exclude.r#enum.contains(&e.qual_name) {
            self.out.report.skip("enum", &e.qual_name, &e.location, "excluded by configuration");
            return;
        }
        // Enum prefixes apply to the enum's name and to its members' Python names.
        let prefixes = &config.api_prefix_removal.r#enum;
        let py_name = export_name(strip_prefix(&e.name, prefixes));
        let mut renamed = e.clone();
        let stripped: Vec<String> = e.enumerators.iter().map(|m| strip_prefix(m, prefixes).to_string()).collect();
        let distinct: BTreeSet<&String> = stripped.iter().collect();
        if distinct.len() == stripped.len() && stripped.iter().all(|m| py_ident(m) == *m) {
            renamed.enumerators = stripped;
        }
        let e = &renamed;
        let r = render_enum(&mut self.ctx, e, &py_name);
        let bound = r.report.bound.iter().any(|b| b.kind == "enum");
        self.out.append(r);
        if bound {
            let members = e.enumerators.iter().cloned().zip(e.enumerator_values.iter().cloned()).collect();
            self.export(&py_name, ExportKind::Enum { cxx: e.qual_name.clone(), members });
            if dependency {
                self.dependency("enum", &e.qual_name, &py_name, &e.location);
            }
        }
    }

    fn dependency(&mut self, kind: &str, name: &str, py_name: &str, loc: &canopy::model::Location) {
        self.dependencies.push(Dependency { kind: kind.into(), name: name.into(), py_name: py_name.into(), location: location(loc) });
    }

    /// Binds struct `s`; a dependency without a configured data model is tried with `StructModel`
    /// (fields visible) first, then with `PrimitiveModel`.
    fn struct_(&mut self, s: &Struct, dependency: bool) {
        let config = self.req.config;
        if config.exclude.r#struct.contains(&s.name) || config.exclude.r#struct.contains(&s.qual_name) {
            self.out.report.skip("struct", &s.qual_name, &s.location, "excluded by configuration");
            return;
        }
        let configured = config.data_models.contains_key(&s.name) || config.data_models.contains_key(&s.qual_name);
        let mut r = render_struct(&mut self.ctx, s, &struct_request(config, s, "struct"));
        if dependency && !configured && !r.report.bound.iter().any(|b| b.kind == "struct") {
            r = render_struct(&mut self.ctx, s, &struct_request(config, s, "primitive"));
        }
        let py_name = r.report.bound.iter().find(|b| b.kind == "struct").map(|b| b.py_name.clone());
        self.out.append(r);
        if let Some(py_name) = py_name {
            self.export(&py_name, ExportKind::Struct { cxx: s.qual_name.clone() });
            if dependency {
                self.dependency("struct", &s.qual_name, &py_name, &s.location);
            }
        }
    }

    /// Typedefs of bound types become aliases, in the type table and as module names.
    fn aliases(&mut self, typedefs: &Union<Typedef>) {
        let prefixes = &self.req.config.api_prefix_removal.r#struct;
        for (t, _) in &typedefs.items {
            let target = cxx(&t.underlying_name);
            let Some(var) = self
                .out
                .report
                .bound
                .iter()
                .find(|b| (b.kind == "struct" || b.kind == "enum") && cxx(&b.name) == target)
                .map(|b| b.py_name.clone())
            else {
                continue;
            };
            let alias = export_name(strip_prefix(&t.name, prefixes));
            if alias == var || self.exports.iter().any(|e| e.name == alias) {
                continue;
            }
            self.out.code.push_str(&format!(
                "_b.types[{}] = _b.types[{}]\n{alias} = {var}\n",
                py_str(&cxx(&t.qual_name)),
                py_str(&target)
            ));
            self.ctx.known.insert(&t.qual_name, crate::render::registered_type_expr(&target));
            self.out.report.bind("alias", &t.qual_name, &alias);
            self.export(&alias, ExportKind::Alias { target: var });
        }
    }

    /// Free functions and operators, one at a time. One that only some archs have gets its shim
    /// wrapped in the archs' `#if` (so the shim unit compiles for every arch), and a check in its
    /// lowering that names it when a kernel for another arch calls it.
    fn functions(&mut self, functions: &Union<Function>) {
        let config = self.req.config;
        let prefixes = config.api_prefix_removal.function.clone();
        let py_name_of = move |f: &Function| export_name(strip_prefix(&f.name, &prefixes));
        let cooperative: Vec<regex_lite::Regex> =
            config.cooperative_launch_required_functions_regex.iter().filter_map(|r| regex_lite::Regex::new(r).ok()).collect();
        for (f, have) in &functions.items {
            self.ctx.arch_guard = arch_condition(have, &self.archs);
            let r = render_functions(&self.ctx, std::slice::from_ref(f), &py_name_of);
            let bound = r.report.bound.first().map(|b| (b.kind.clone(), b.py_name.clone()));
            self.out.append(r);
            let Some((kind, py_name)) = bound else { continue };
            if let Some(ranges) = arch_ranges(have, &self.archs) {
                let archs: Vec<&str> = self.archs.iter().filter(|a| have.contains(*a)).map(String::as_str).collect();
                self.out.code.push_str(&format!(
                    "_nb_require_arch(_b.target_registry, {}, {}, {})\n",
                    py_str(&f.qual_name),
                    python_ranges(&ranges),
                    py_str(&archs.join(", "))
                ));
                self.arch_limited = true;
            }
            if kind == "function" {
                self.export(&py_name, ExportKind::Function(vec![cxx_signature(f)]));
                if cooperative.iter().any(|re| re.is_match(&f.name) || re.is_match(&f.qual_name)) && !self.cooperative.contains(&py_name) {
                    self.cooperative.push(py_name);
                }
            }
        }
        self.ctx.arch_guard = None;
    }
}

/// Renders the module for `req`.
pub fn render_module(req: &ModuleRequest<'_>) -> Module {
    let config = req.config;
    let groups = split(req.per_arch, req.primary_files);
    let enums = union_of(&groups.primary, |d| &d.enums, |e: &Enum| e.qual_name.clone());
    let structs = union_of(&groups.primary, |d| &d.structs, |s: &Struct| s.qual_name.clone());
    let typedefs = union_of(&groups.primary, |d| &d.typedefs, |t: &Typedef| t.qual_name.clone());
    let functions = union_of(&groups.primary, |d| &d.functions, |f: &Function| format!("{}|{}", f.mangled_name, f.qual_name));
    let other_enums = union_of(&groups.others, |d| &d.enums, |e: &Enum| e.qual_name.clone());
    let other_structs = union_of(&groups.others, |d| &d.structs, |s: &Struct| s.qual_name.clone());

    let mut r = Renderer::new(req);
    for (e, _) in &enums.items {
        r.enum_(e, false);
    }
    let needed = deps::needed(
        config,
        &r.ctx,
        &deps::Bound { structs: structs.items.iter().map(|(s, _)| s).collect(), functions: functions.items.iter().map(|(f, _)| f).collect() },
        &other_structs.items.iter().map(|(s, _)| s).collect::<Vec<_>>(),
        &other_enums.items.iter().map(|(e, _)| e).collect::<Vec<_>>(),
    );
    for e in &needed.enums {
        r.enum_(e, true);
    }
    for s in &needed.structs {
        r.struct_(s, true);
    }
    for (s, _) in &structs.items {
        r.struct_(s, false);
    }
    r.aliases(&typedefs);
    r.functions(&functions);

    let module = python::ModuleText {
        config,
        module_name: req.module_name,
        include: req.include,
        include_dirs: req.include_dirs,
        provenance: req.provenance,
        archs: &r.archs,
        body: &r.out.code,
        exports: &r.exports,
        cooperative: &r.cooperative,
        arch_limited: r.arch_limited,
    };
    Module {
        name: req.module_name.to_string(),
        python: module.python(),
        stub: module.stub(),
        report: r.out.report,
        dependencies: r.dependencies,
    }
}

/// Text the shims are compiled with before the include: the predefined macros.
pub fn macro_lines(config: &Config) -> String {
    let mut s = String::new();
    for m in &config.predefined_macros {
        match m.split_once('=') {
            Some((name, value)) => s.push_str(&format!("#define {name} {value}\n")),
            None => s.push_str(&format!("#define {m}\n")),
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reserved_names_get_a_suffix() {
        assert_eq!(export_name("install"), "install_");
        assert_eq!(export_name("_nb_register"), "_nb_register_");
        assert_eq!(export_name("hadd"), "hadd");
        assert_eq!(export_name("lambda"), "lambda_");
    }

    #[test]
    fn include_identity_does_not_depend_on_the_output_folder() {
        let a = ShimInclude::RelativeToModule("../../include/lib.cuh".into());
        let b = ShimInclude::RelativeToModule("../include/lib.cuh".into());
        assert_eq!(a.identity(), b.identity());
    }

    #[test]
    fn split_keeps_file_list_declarations() {
        let json = r#"{"structs":[],"functions":[],"function_templates":[],"class_templates":[],
            "class_template_specializations":[],"typedefs":[],"enums":[
            {"name":"A","qual_name":"A","enumerators":["X"],"enumerator_values":["0"],
             "underlying_type":{"name":"int","unqualified_non_ref_type_name":"int","ref_kind":"none","is_const":false,"shape":{"tag":"int","size":4,"signed":true}},
             "is_scoped":false,"location":{"file":"/a.h","line":1,"column":1}},
            {"name":"B","qual_name":"B","enumerators":["Y"],"enumerator_values":["1"],
             "underlying_type":{"name":"int","unqualified_non_ref_type_name":"int","ref_kind":"none","is_const":false,"shape":{"tag":"int","size":4,"signed":true}},
             "is_scoped":false,"location":{"file":"/b.h","line":1,"column":1}}],"diagnostics":[]}"#;
        let d: Declarations = serde_json::from_str(json).unwrap();
        let s = split(&[("sm_80".into(), d)], &BTreeSet::from(["/a.h".to_string()]));
        assert_eq!(s.primary[0].1.enums.len(), 1);
        assert_eq!(s.others[0].1.enums[0].name, "B");
    }
}
