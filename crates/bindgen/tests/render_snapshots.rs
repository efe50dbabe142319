//! Render snapshots: for every expectation header (`tests/headers/<name>.cuh` with its parsed
//! declarations in `tests/expected/<name>.json`), what the renderer writes in each mode, compared
//! with `tests/expected/render/`:
//!
//! - `<name>.dynamic.txt`: the request `numbast._dynamic.bind_declarations` sends for the whole
//!   parse (`numbast_bindgen::request::render_json`, functions as data), its response written out
//!   as text: each code segment as it is executed, each function table row by row with its shim's
//!   C++ source, then the report;
//! - `<name>.static.txt`: the module `numbast generate` writes for a minimal config binding the
//!   header alone (`numbast_bindgen::module::render_module`), its `.pyi` stub, the report and the
//!   dependency types. The runtime texts the module embeds (`RUNTIME_SOURCE`, `TEMPLATE_SOURCES`)
//!   and the hash of them that names the runtime are replaced by placeholders: those are the Python
//!   runtime's files, not the renderer's output for the header.
//!
//! Nothing machine-specific goes in: the declarations' locations are file names already, the shims
//! include the header relative to the module, and the provenance (versions, config path) is fixed.
//! Each header is rendered twice, so output that depends on hash iteration order fails here too.
//!
//! `UPDATE_EXPECTED=1 cargo test -p numbast-bindgen --test render_snapshots` rewrites the snapshots
//! that differ (and removes those of headers that are gone); review the diff.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use canopy::model::{Declarations, Struct};
use numbast_bindgen::config::Config;
use numbast_bindgen::module::{
    header_definitions, render_module, ModuleRequest, Provenance, ShimInclude, RUNTIME_SOURCE, RUNTIME_SOURCE_MLIR,
    TEMPLATE_SOURCES,
};
use numbast_bindgen::pyexpr::{py_ident, py_str};
use numbast_bindgen::report::Report;
use numbast_bindgen::request::render_json;
use serde_json::{json, Value};

const REGENERATE: &str = "run with UPDATE_EXPECTED=1 to regenerate";

/// The repository root.
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The snapshot folder, relative to the root (as messages name it).
const SNAPSHOTS: &str = "tests/expected/render";

/// The expectation headers: every `tests/expected/<name>.json` with a `tests/headers/<name>.cuh`.
fn headers() -> Vec<String> {
    let root = root();
    let dir = root.join("tests/expected");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .filter_map(|e| {
            let file = e.ok()?.file_name().into_string().ok()?;
            let stem = file.strip_suffix(".json")?;
            root.join("tests/headers").join(format!("{stem}.cuh")).is_file().then(|| stem.to_string())
        })
        .collect();
    names.sort();
    assert!(!names.is_empty(), "no tests/expected/<name>.json with a tests/headers/<name>.cuh");
    names
}

fn declarations(name: &str) -> Declarations {
    let path = root().join(format!("tests/expected/{name}.json"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("tests/expected/{name}.json: {e}"))
}

// ================================================================================== dynamic mode

/// The named records nested in `s`, recursively, as `numbast._dynamic._nested_records` walks them.
fn nested_records<'a>(s: &'a Struct, out: &mut Vec<&'a Struct>) {
    for n in &s.nested_records {
        if !n.name.is_empty() && !n.name.contains('(') {
            out.push(n);
            nested_records(n, out);
        }
    }
}

/// `{"decl": d}` for each declaration (no Python name chosen).
fn items<T: serde::Serialize>(decls: &[T]) -> Vec<Value> {
    decls.iter().map(|d| json!({ "decl": d })).collect()
}

/// The request `numbast._dynamic.bind_declarations(writer, decls)` sends with its defaults, into
/// fresh bindings (no known types).
fn dynamic_request(d: &Declarations) -> Value {
    let mut parents = 0;
    let mut how = || {
        parents += 1;
        json!({"parent": format!("_parents[{}]", parents - 1), "model": "auto", "py_name": null, "aliases": []})
    };
    let mut structs = Vec::new();
    let mut nested = serde_json::Map::new();
    for s in &d.structs {
        let mut item = how();
        item["decl"] = serde_json::to_value(s).expect("a struct serializes");
        structs.push(item);
        let mut inner = Vec::new();
        nested_records(s, &mut inner);
        for n in inner {
            nested.insert(n.qual_name.clone(), how());
        }
    }
    json!({
        "context": {
            "known": {},
            "unit_tag": "snapshot",
            "intents": {},
            "skip_prefix": null,
            "skip_non_device": true,
            "exclude": {},
            "api_prefix_removal": {},
            "functions_as_data": true,
        },
        "enums": items(&d.enums),
        "structs": structs,
        "nested": nested,
        "typedefs": &d.typedefs,
        "functions": items(&d.functions),
        "function_templates": items(&d.function_templates),
        "class_templates": items(&d.class_templates),
    })
}

/// The text of the Python string literal at the start of `s` (as `py_str` writes it) and the
/// literal's length.
fn py_literal(s: &str) -> (String, usize) {
    let mut out = String::new();
    let mut chars = s.char_indices().skip(1);
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return (out, i + 1),
            '\\' => {
                let (_, e) = chars.next().expect("an escape");
                let hex = |chars: &mut std::iter::Skip<std::str::CharIndices>, n| {
                    let digits: String = chars.by_ref().take(n).map(|(_, c)| c).collect();
                    char::from_u32(u32::from_str_radix(&digits, 16).expect("hex digits")).expect("a character")
                };
                out.push(match e {
                    'n' => '\n',
                    'r' => '\r',
                    't' => '\t',
                    'x' => hex(&mut chars, 2),
                    'u' => hex(&mut chars, 4),
                    'U' => hex(&mut chars, 8),
                    other => other,
                });
            }
            c => out.push(c),
        }
    }
    panic!("an unterminated string literal: {s}")
}

/// Shim source as it is shown: each line after `indent` and `| `.
fn shim_lines(src: &str, indent: &str) -> String {
    src.lines().map(|l| format!("{indent}| {l}\n")).collect()
}

/// `code` with each shim's source (the `src="..."` literal of a registration) shown as C++ under
/// its line instead of inside it; the literal is the source as `py_str` spells it (checked).
fn shims_shown(code: &str) -> String {
    const SRC: &str = "src=\"";
    let mut out = String::with_capacity(code.len());
    for line in code.lines() {
        let mut rest = line;
        let mut shims = Vec::new();
        while let Some(at) = rest.find(SRC).filter(|&at| at > 0 && matches!(&rest[at - 1..at], " " | "(")) {
            let start = at + SRC.len() - 1;
            let (src, len) = py_literal(&rest[start..]);
            assert_eq!(py_str(&src), rest[start..start + len], "a shim source literal is not py_str's spelling");
            out.push_str(&rest[..at]);
            out.push_str("src=<below>");
            rest = &rest[start + len..];
            shims.push(src);
        }
        out.push_str(rest);
        out.push('\n');
        let indent: String = line.chars().take_while(|c| *c == ' ').collect();
        for src in shims {
            out.push_str(&shim_lines(&src, &format!("{indent}    ")));
        }
    }
    out
}

fn report_text(report: &Report) -> String {
    let mut s = String::new();
    for b in &report.bound {
        let _ = write!(s, "bound {}: {}", b.kind, b.name);
        if !b.py_name.is_empty() {
            let _ = write!(s, " as {}", b.py_name);
        }
        if !b.note.is_empty() {
            let _ = write!(s, " ({})", b.note);
        }
        s.push('\n');
    }
    for k in &report.skipped {
        let _ = writeln!(s, "skipped {}: {} at {}: {}: {}", k.kind, k.name, k.location, k.code.code(), k.reason);
    }
    s
}

/// A function table of the response, row by row.
fn function_table(table: &Value) -> String {
    let types: Vec<&str> = table["types"].as_array().expect("types").iter().map(|t| t.as_str().expect("str")).collect();
    let ty = |i: &Value| types[i.as_u64().expect("a type index") as usize];
    let mut s = String::new();
    for row in table["rows"].as_array().expect("rows") {
        let row = row.as_array().expect("a row");
        let callee = match (row[0].as_str(), row[1].as_str()) {
            (Some(py_name), _) => format!("function {py_name}"),
            (None, Some(op)) => format!("operator {op}"),
            (None, None) => panic!("a row with neither a name nor an operator: {row:?}"),
        };
        let params: Vec<String> = row[5]
            .as_array()
            .expect("params")
            .iter()
            .map(|p| format!("{} {}", ty(&p[0]), p[1].as_str().expect("a mode")))
            .collect();
        let _ = writeln!(s, "{callee}({}) -> {}", params.join(", "), ty(&row[4]));
        let _ = writeln!(s, "  shim {}:", row[2].as_str().expect("a shim name"));
        s.push_str(&shim_lines(row[3].as_str().expect("a shim source"), "    "));
    }
    s
}

fn render_dynamic(name: &str, d: &Declarations) -> String {
    let response = render_json(&dynamic_request(d).to_string()).unwrap_or_else(|e| panic!("{name}: {e}"));
    let response: Value = serde_json::from_str(&response).expect("the response is JSON");
    let mut s = format!(
        "# Dynamic mode: numbast._dynamic.bind_declarations(writer, <tests/expected/{name}.json>), the segments\n\
         # of the render (code as executed, functions as data), then the report. Each shim's C++ source is\n\
         # shown under its registration (`| ` lines; `src=<below>` in the code).\n\
         # {REGENERATE} (cargo test -p numbast-bindgen --test render_snapshots).\n"
    );
    for (i, segment) in response["segments"].as_array().expect("segments").iter().enumerate() {
        if let Some(code) = segment.get("code") {
            let _ = writeln!(s, "\n=== segment {i}: code\n");
            s.push_str(&shims_shown(code.as_str().expect("code text")));
        } else {
            let _ = writeln!(s, "\n=== segment {i}: functions\n");
            s.push_str(&function_table(&segment["functions"]));
        }
    }
    let report: Report = serde_json::from_value(response["report"].clone()).expect("a report");
    s.push_str("\n=== report\n\n");
    s.push_str(&report_text(&report));
    s
}

// =================================================================================== static mode

/// `text` with `what` (which must be there) replaced by `by`.
fn cut(text: &str, what: &str, by: &str, name: &str) -> String {
    assert!(text.contains(what), "{name}: the module does not embed {by} as expected");
    text.replace(what, by)
}

/// The module with the embedded runtime texts, and the hash of them in the runtime's name, replaced
/// by placeholders.
fn without_runtime(python: &str, name: &str) -> String {
    let mut text = cut(python, &py_str(RUNTIME_SOURCE), "<numbast_bindgen::module::RUNTIME_SOURCE>", name);
    assert!(!text.contains(&py_str(RUNTIME_SOURCE_MLIR)), "{name}: a numba-cuda module embeds the MLIR runtime");
    // Only a module that binds templates embeds the template runtime.
    if text.contains("_NB_TEMPLATE_SOURCES = [") {
        for (module, source) in TEMPLATE_SOURCES {
            text = cut(&text, &py_str(source), &format!("<numbast_bindgen::module::TEMPLATE_SOURCES[{module}]>"), name);
        }
    }
    const RUNTIME_NAME: &str = "_numbast_runtime_";
    let mut out = String::with_capacity(text.len());
    let mut rest = text.as_str();
    while let Some(at) = rest.find(RUNTIME_NAME) {
        let after = &rest[at + RUNTIME_NAME.len()..];
        let hash = after.bytes().take_while(u8::is_ascii_hexdigit).count();
        assert_eq!(hash, 16, "{name}: the runtime's name is `{RUNTIME_NAME}` and 16 hex digits");
        out.push_str(&rest[..at]);
        out.push_str(RUNTIME_NAME);
        out.push_str("<hash of the runtime texts>");
        rest = &after[hash..];
    }
    out.push_str(rest);
    out
}

fn render_static(name: &str, d: &Declarations) -> String {
    let header = format!("{name}.cuh");
    let yaml = format!("Entry Point: {header}\nFile List: [{header}]\nGPU Arch: [sm_80]\n");
    let config = Config::from_yaml(&yaml).unwrap_or_else(|e| panic!("{name}: the config is refused: {e}"));
    let module_name = py_ident(&config.module_stem(name));
    let per_arch = vec![("sm_80".to_string(), d.clone())];
    // The locations are the header's file name: the module is generated beside the header.
    let primary_files = BTreeSet::from([header.clone()]);
    let include = ShimInclude::RelativeToModule(header.clone());
    let definitions = header_definitions(&per_arch, |file| Some(file.to_string()));
    let provenance = Provenance {
        tool_version: "<version>".into(),
        libclang_version: "libclang <version>".into(),
        cuda_version: "<version>".into(),
        config_path: format!("{name}.yml"),
    };
    let module = render_module(&ModuleRequest {
        config: &config,
        module_name: &module_name,
        per_arch: &per_arch,
        primary_files: &primary_files,
        include: &include,
        include_dirs: &[],
        definitions: &definitions,
        provenance: &provenance,
    });
    let mut s = format!(
        "# Static mode: the module generated from <tests/expected/{name}.json> for the config\n\
         #   {}\n\
         # (embedded runtime texts replaced by placeholders), its stub, the report and the dependency types.\n\
         # Each shim's C++ source is shown under its registration (`| ` lines; `src=<below>` in the code).\n\
         # {REGENERATE} (cargo test -p numbast-bindgen --test render_snapshots).\n",
        yaml.trim_end().replace('\n', "; ")
    );
    let _ = writeln!(s, "\n=== {module_name}.py\n");
    s.push_str(&shims_shown(&without_runtime(&module.python, name)));
    let _ = writeln!(s, "\n=== {module_name}.pyi\n");
    s.push_str(&module.stub);
    s.push_str("\n=== report\n\n");
    s.push_str(&report_text(&module.report));
    s.push_str("\n=== dependencies\n\n");
    for dep in &module.dependencies {
        let _ = writeln!(s, "{} {} as {} at {}", dep.kind, dep.name, dep.py_name, dep.location);
    }
    s
}

// ===================================================================================== comparing

/// Where `actual` first differs from `expected` (the snapshot at `path`): line and column, the
/// line before and the two differing lines with a caret under the column, and the line counts.
fn first_difference(path: &str, expected: &str, actual: &str) -> String {
    let (e, a): (Vec<&str>, Vec<&str>) = (expected.lines().collect(), actual.lines().collect());
    let Some(i) = (0..e.len().max(a.len())).find(|&i| e.get(i) != a.get(i)) else {
        return format!("{path}: the same lines, but the text differs (a final newline or a carriage return)");
    };
    let (el, al) = (e.get(i).copied(), a.get(i).copied());
    let column = match (el, al) {
        (Some(x), Some(y)) => x.chars().zip(y.chars()).take_while(|(p, q)| p == q).count() + 1,
        _ => 1,
    };
    // Long lines (embedded literals, template data) are shown from a little before the difference.
    let skip = column.saturating_sub(80);
    let show = |l: Option<&str>| match l {
        None => "<none: the text ends before>".to_string(),
        Some(l) => {
            // The differing lines are as long as `skip` at least; the line before may not be.
            let skip = if l.chars().count() > skip { skip } else { 0 };
            let shown: String = l.chars().skip(skip).take(200).collect();
            let more = if l.chars().count() > skip + 200 { "..." } else { "" };
            format!("{}{shown}{more}", if skip > 0 { "..." } else { "" })
        }
    };
    let mut s = format!("{path}:{}:{column}: the render differs from the snapshot\n", i + 1);
    if i > 0 {
        let _ = writeln!(s, "  {:>5}           {}", i, show(Some(e[i - 1])));
    }
    let _ = writeln!(s, "  {:>5} snapshot: {}", i + 1, show(el));
    let _ = writeln!(s, "  {:>5} rendered: {}", i + 1, show(al));
    let caret = column - skip + if skip > 0 { 3 } else { 0 };
    let _ = writeln!(s, "  {:>5}           {}^ column {column}", "", " ".repeat(caret - 1));
    let _ = write!(s, "  ({} lines in the snapshot, {} rendered)", e.len(), a.len());
    s
}

fn updating() -> bool {
    std::env::var_os("UPDATE_EXPECTED").is_some()
}

/// Renders every header twice with `render` (output that differs between two renders in one
/// process depends on hash order or the like), and compares with `<name>.<suffix>`; with
/// `UPDATE_EXPECTED` set, rewrites the snapshots that differ.
fn check(suffix: &str, render: fn(&str, &Declarations) -> String) {
    let dir = root().join(SNAPSHOTS);
    let mut failures = Vec::new();
    for name in headers() {
        let d = declarations(&name);
        let actual = render(&name, &d);
        let again = render(&name, &d);
        let file = format!("{SNAPSHOTS}/{name}.{suffix}");
        if again != actual {
            failures.push(format!(
                "nondeterministic: two renders of {name} in one process differ:\n{}",
                first_difference(&format!("{file} (first render)"), &actual, &again)
            ));
            continue;
        }
        let path = dir.join(format!("{name}.{suffix}"));
        let expected = std::fs::read_to_string(&path).ok();
        if expected.as_deref() == Some(actual.as_str()) {
            continue;
        }
        if updating() {
            std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("cannot create {SNAPSHOTS}: {e}"));
            std::fs::write(&path, &actual).unwrap_or_else(|e| panic!("cannot write {file}: {e}"));
            eprintln!("render_snapshots: wrote {file}");
            continue;
        }
        failures.push(match expected {
            None => format!("{file} is missing"),
            Some(expected) => first_difference(&file, &expected, &actual),
        });
    }
    assert!(failures.is_empty(), "{}\n{REGENERATE}", failures.join("\n\n"));
}

#[test]
fn dynamic_mode_renders_match_the_snapshots() {
    check("dynamic.txt", render_dynamic);
}

#[test]
fn static_mode_renders_match_the_snapshots() {
    check("static.txt", render_static);
}

/// Every snapshot belongs to an expectation header (`UPDATE_EXPECTED=1` removes the others).
#[test]
fn no_snapshot_without_a_header() {
    let names: BTreeSet<String> = headers().into_iter().collect();
    let dir = root().join(SNAPSHOTS);
    let Ok(entries) = std::fs::read_dir(&dir) else { return };
    let mut stale = Vec::new();
    for entry in entries.filter_map(Result::ok) {
        let file = entry.file_name().to_string_lossy().into_owned();
        let name = file.strip_suffix(".dynamic.txt").or_else(|| file.strip_suffix(".static.txt"));
        if name.is_some_and(|n| names.contains(n)) {
            continue;
        }
        if updating() {
            std::fs::remove_file(entry.path()).unwrap_or_else(|e| panic!("cannot remove {SNAPSHOTS}/{file}: {e}"));
            eprintln!("render_snapshots: removed {SNAPSHOTS}/{file}");
        } else {
            stale.push(format!("{SNAPSHOTS}/{file}"));
        }
    }
    assert!(stale.is_empty(), "snapshots without an expectation header: {stale:?}\n{REGENERATE}");
}
