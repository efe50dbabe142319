//! Static mode: assembles a standalone Python module (and its `.pyi` stub) from a config and the
//! declarations parsed for each GPU architecture. The registration code is the renderer's, the same
//! that dynamic mode executes; the runtime is embedded as text, so the module needs only numba-cuda.

use std::collections::{BTreeMap, BTreeSet};

use canopy::model::{Declarations, Function};

use crate::config::Config;
use crate::pyexpr::{py_ident, py_str};
use crate::render::{render_enum, render_functions, render_struct, Context, Rendered, StructRequest, PRELUDE};
use crate::report::Report;
use crate::types::cxx;

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

pub struct Module {
    pub name: String,
    pub python: String,
    pub stub: String,
    pub report: Report,
}

fn strip_prefix<'a>(name: &'a str, prefixes: &[String]) -> &'a str {
    prefixes.iter().find_map(|p| name.strip_prefix(p.as_str()).filter(|rest| !rest.is_empty())).unwrap_or(name)
}

/// The declarations of all architectures, each once, with the architectures that have it.
struct Union<T> {
    items: Vec<(T, BTreeSet<String>)>,
}

impl<T: Clone> Union<T> {
    fn build(per_arch: &[(String, Vec<T>)], key: impl Fn(&T) -> String) -> Union<T> {
        let mut index: BTreeMap<String, usize> = BTreeMap::new();
        let mut items: Vec<(T, BTreeSet<String>)> = Vec::new();
        for (arch, decls) in per_arch {
            for d in decls {
                let k = key(d);
                match index.get(&k) {
                    Some(&i) => {
                        items[i].1.insert(arch.clone());
                    }
                    None => {
                        index.insert(k, items.len());
                        items.push((d.clone(), BTreeSet::from([arch.clone()])));
                    }
                }
            }
        }
        Union { items }
    }
}

/// The preprocessor condition under which a declaration available for `archs` (a subset of the
/// configured `all` archs) exists: a kernel compiled for compute capability c uses the declarations
/// of the highest configured arch not above c.
pub fn arch_condition(archs: &BTreeSet<String>, all: &[String]) -> Option<String> {
    let number = |a: &str| -> u32 { a.trim_start_matches("sm_").trim_end_matches(['a', 'f']).parse().unwrap_or(0) * 10 };
    let mut sorted: Vec<u32> = all.iter().map(|a| number(a)).collect();
    sorted.sort();
    sorted.dedup();
    let have: BTreeSet<u32> = archs.iter().map(|a| number(a)).collect();
    if sorted.iter().all(|a| have.contains(a)) {
        return None;
    }
    let mut terms = Vec::new();
    for (i, a) in sorted.iter().enumerate() {
        if have.contains(a) {
            let lo = if i == 0 { String::new() } else { format!("__CUDA_ARCH__ >= {a}") };
            let hi = sorted.get(i + 1).map(|n| format!("__CUDA_ARCH__ < {n}")).unwrap_or_default();
            let parts: Vec<String> = [lo, hi].into_iter().filter(|s| !s.is_empty()).collect();
            terms.push(if parts.is_empty() { "1".to_string() } else { format!("({})", parts.join(" && ")) });
        }
    }
    Some(format!("defined(__CUDA_ARCH__) && ({})", terms.join(" || ")))
}

/// Text the shims are compiled with: the predefined macros, then the include line(s).
pub fn shim_preamble(config: &Config, include_line: &str) -> String {
    let mut s = String::new();
    for m in &config.predefined_macros {
        match m.split_once('=') {
            Some((name, value)) => s.push_str(&format!("#define {name} {value}\n")),
            None => s.push_str(&format!("#define {m}\n")),
        }
    }
    s.push_str(include_line);
    if !include_line.ends_with('\n') {
        s.push('\n');
    }
    s
}

/// Renders the module for `config` from the declarations parsed for each configured arch.
pub fn render_module(
    config: &Config,
    module_name: &str,
    per_arch: &[(String, Declarations)],
    preamble: &str,
    provenance: &Provenance,
) -> Module {
    let archs: Vec<String> = per_arch.iter().map(|(a, _)| a.clone()).collect();
    let unit_tag = blake3::hash(format!("{module_name}\0{preamble}").as_bytes()).to_hex()[..16].to_string();
    let mut ctx = Context {
        unit_tag,
        intents: serde_json::to_value(&config.function_argument_intents).unwrap_or_default(),
        skip_prefix: config.skip_prefix.clone(),
        skip_non_device: true,
        exclude: config.exclude.function.iter().cloned().collect(),
        ..Context::default()
    };
    let mut out = Rendered::default();
    let mut exports: Vec<(String, &'static str)> = Vec::new();

    let enums = Union::build(
        &per_arch.iter().map(|(a, d)| (a.clone(), d.enums.clone())).collect::<Vec<_>>(),
        |e| e.qual_name.clone(),
    );
    for (e, _) in &enums.items {
        let py_name = strip_prefix(&e.name, &config.api_prefix_removal.r#enum).to_string();
        let r = render_enum(&mut ctx, e, &py_name);
        exports.extend(r.report.bound.iter().map(|b| (b.py_name.clone(), "enum")));
        out.append(r);
    }

    let structs = Union::build(
        &per_arch.iter().map(|(a, d)| (a.clone(), d.structs.clone())).collect::<Vec<_>>(),
        |s| s.qual_name.clone(),
    );
    let typedefs = Union::build(
        &per_arch.iter().map(|(a, d)| (a.clone(), d.typedefs.clone())).collect::<Vec<_>>(),
        |t| t.qual_name.clone(),
    );
    for (s, _) in &structs.items {
        if config.exclude.r#struct.contains(&s.name) || config.exclude.r#struct.contains(&s.qual_name) {
            out.report.skip("struct", &s.qual_name, &s.location, "excluded by configuration");
            continue;
        }
        let parent = config.types.get(&s.name).or_else(|| config.types.get(&s.qual_name));
        let model = config.data_models.get(&s.name).or_else(|| config.data_models.get(&s.qual_name));
        let req = StructRequest {
            parent: format!("types.{}", parent.map(String::as_str).unwrap_or("Type")),
            model: match model.map(String::as_str) {
                Some("PrimitiveModel") => "primitive".into(),
                _ => "struct".into(),
            },
            py_name: Some(strip_prefix(&s.name, &config.api_prefix_removal.r#struct).to_string()),
            aliases: Vec::new(),
        };
        let r = render_struct(&mut ctx, s, &req);
        exports.extend(r.report.bound.iter().filter(|b| b.kind == "struct").map(|b| (b.py_name.clone(), "struct")));
        out.append(r);
    }

    // Typedefs of bound types become aliases, in the type table and as module names.
    for (t, _) in &typedefs.items {
        let target = cxx(&t.underlying_name);
        let Some(var) = out.report.bound.iter().find(|b| (b.kind == "struct" || b.kind == "enum") && cxx(&b.name) == target).map(|b| b.py_name.clone())
        else {
            continue;
        };
        let alias = py_ident(strip_prefix(&t.name, &config.api_prefix_removal.r#struct));
        if alias == var {
            continue;
        }
        out.code.push_str(&format!(
            "_b.types[{}] = _b.types[{}]\n{alias} = {var}\n",
            py_str(&cxx(&t.qual_name)),
            py_str(&target)
        ));
        ctx.known.insert(&t.qual_name, crate::render::registered_type_expr(&target));
        out.report.bind("alias", &t.qual_name, &alias);
        exports.push((alias, "alias"));
    }

    let functions = Union::build(
        &per_arch.iter().map(|(a, d)| (a.clone(), d.functions.clone())).collect::<Vec<_>>(),
        |f| format!("{}|{}", f.mangled_name, f.qual_name),
    );
    let prefixes = config.api_prefix_removal.function.clone();
    let py_name_of = move |f: &Function| strip_prefix(&f.name, &prefixes).to_string();
    let mut by_guard: BTreeMap<Option<String>, Vec<Function>> = BTreeMap::new();
    for (f, have) in &functions.items {
        by_guard.entry(arch_condition(have, &archs)).or_default().push(f.clone());
    }
    for (guard, fs) in by_guard {
        ctx.arch_guard = guard;
        let r = render_functions(&ctx, &fs, &py_name_of);
        for b in r.report.bound.iter().filter(|b| b.kind == "function") {
            if !exports.iter().any(|(n, _)| *n == b.py_name) {
                exports.push((b.py_name.clone(), "function"));
            }
        }
        out.append(r);
    }
    ctx.arch_guard = None;

    let python = assemble(config, module_name, preamble, provenance, &archs, &out.code, &exports);
    let stub = stub(config, &exports);
    Module { name: module_name.to_string(), python, stub, report: out.report }
}

fn assemble(
    config: &Config,
    module_name: &str,
    preamble: &str,
    p: &Provenance,
    archs: &[String],
    body: &str,
    exports: &[(String, &'static str)],
) -> String {
    let mut s = String::new();
    let title = config.name.clone().unwrap_or_else(|| module_name.to_string());
    s.push_str(&format!("\"\"\"Numba-CUDA bindings for {}, generated by numbast.\"\"\"\n", title.escape_default()));
    s.push_str("# Generated by numbast; do not edit.\n");
    s.push_str(&format!("# numbast {}; {}; CUDA {}\n", one_line(&p.tool_version), one_line(&p.libclang_version), one_line(&p.cuda_version)));
    s.push_str(&format!("# config: {}\n", one_line(&p.config_path)));
    s.push_str(&format!("# GPU architectures: {}\n", archs.join(", ")));
    if let Some(v) = &config.version {
        s.push_str(&format!("__version__ = {}\n", py_str(v)));
    }
    s.push_str("\nimport sys as _nb_sys\n");
    s.push_str("import types as _nb_pytypes\n\n");
    s.push_str(&format!("_NB_RUNTIME_SOURCE = {}\n", py_str(RUNTIME_SOURCE)));
    s.push_str(
        "_nb_rt = _nb_pytypes.ModuleType(__name__ + \"._numbast_runtime\")\n\
         exec(compile(_NB_RUNTIME_SOURCE, _nb_rt.__name__, \"exec\"), _nb_rt.__dict__)\n\
         del _NB_RUNTIME_SOURCE\n\n",
    );
    s.push_str(PRELUDE);
    for imp in &config.additional_import {
        s.push_str(imp);
        s.push('\n');
    }
    if config.use_separate_registry {
        s.push_str("\n_b = _nb_rt.Bindings(_nb_rt.TypingRegistry(), _nb_rt.TargetRegistry())\n");
    } else {
        s.push_str("\n_b = _nb_rt.Bindings()\n");
    }
    s.push_str("typing_registry = _b.typing_registry\ntarget_registry = _b.target_registry\n");
    s.push_str(&format!("_NB_SHIM_PREAMBLE = {}\n", py_str(preamble)));
    s.push_str(&format!("_unit = _nb_rt.ShimUnit(_NB_SHIM_PREAMBLE, {})\n\n", py_str(&format!("{module_name}_shims.cu"))));
    s.push_str(body);
    s.push_str(
        "\n\ndef install():\n    \"\"\"Make these bindings visible to numba-cuda (needed only with a separate registry).\"\"\"\n    _b.install()\n\n",
    );
    if !config.use_separate_registry {
        s.push_str("install()\n");
    }
    let mut names: Vec<&str> = exports.iter().map(|(n, _)| n.as_str()).collect();
    names.dedup();
    s.push_str("\n__all__ = [\n");
    for n in names {
        s.push_str(&format!("    {},\n", py_str(n)));
    }
    s.push_str("]\n");
    s
}

fn one_line(s: &str) -> String {
    s.replace(['\n', '\r'], " ")
}

fn stub(config: &Config, exports: &[(String, &'static str)]) -> String {
    let mut s = String::from("# Type stub generated by numbast.\nfrom typing import Any\n\nfrom numba.cuda.typing.templates import Registry as _TypingRegistry\nfrom numba.cuda.core.imputils import Registry as _TargetRegistry\n\n");
    s.push_str("typing_registry: _TypingRegistry\ntarget_registry: _TargetRegistry\n\ndef install() -> None: ...\n\n");
    let _ = config;
    let mut seen = BTreeSet::new();
    for (name, kind) in exports {
        if !seen.insert(name.clone()) {
            continue;
        }
        match *kind {
            "function" => s.push_str(&format!("def {name}(*args: Any) -> Any: ...\n")),
            "enum" => s.push_str(&format!("import enum as _enum\nclass {name}(_enum.IntEnum): ...\n")),
            _ => s.push_str(&format!("{name}: Any\n")),
        }
    }
    s
}
