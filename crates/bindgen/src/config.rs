//! The static-mode YAML config: one serde definition gives the parser, the JSON Schema shipped with
//! the package, and the error messages (key, line and column, closest known key).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

mod forms;
pub use forms::Callback;

/// The architecture a config without `GPU Arch` is generated for.
pub const DEFAULT_GPU_ARCH: &str = "sm_80";

#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
/// Names (or prefixes) per kind of declaration: a list, or one string.
pub struct ByKind {
    /// For free functions and function templates.
    #[serde(rename = "Function", default, deserialize_with = "forms::one_or_many")]
    #[schemars(schema_with = "forms::one_or_many_schema")]
    pub function: Vec<String>,
    /// For structs, classes and class templates.
    #[serde(rename = "Struct", default, deserialize_with = "forms::one_or_many")]
    #[schemars(schema_with = "forms::one_or_many_schema")]
    pub r#struct: Vec<String>,
    /// For enums.
    #[serde(rename = "Enum", default, deserialize_with = "forms::one_or_many")]
    #[schemars(schema_with = "forms::one_or_many_schema")]
    pub r#enum: Vec<String>,
}

/// Functions numba-cuda calls around a kernel that links the bindings' shims.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ModuleCallbacks {
    /// Called before the first launch of a kernel that links these bindings' shims, with numba-cuda's
    /// object code of the loaded module (a cuda.core `ObjectCode`): `module:function`, or a Python
    /// expression on one line that evaluates to a callable (`lambda x: lib.init(x)`, a dotted name,
    /// a call), evaluated in the generated module's namespace when it registers.
    #[serde(default)]
    pub setup: Option<String>,
    /// Called, with the same object, when such a module is unloaded; same forms as `setup`.
    #[serde(default)]
    pub teardown: Option<String>,
}

/// A static binding config. Keys keep the spelling existing configs use.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Metadata: the bindings' name.
    #[serde(rename = "Name", default)]
    pub name: Option<String>,
    /// Metadata: the bindings' version (a string or a number), the module's `__version__`.
    #[serde(rename = "Version", default, deserialize_with = "forms::string_or_number")]
    #[schemars(schema_with = "forms::string_or_number_schema")]
    pub version: Option<String>,
    /// The header to parse (relative to the config file).
    #[serde(rename = "Entry Point")]
    pub entry_point: String,
    /// Headers whose declarations are bound (relative to the config file). Structs and enums of other
    /// headers are bound too when a binding needs them (dependency types).
    #[serde(rename = "File List")]
    pub file_list: Vec<String>,
    /// Compute capabilities to generate for, e.g. `[sm_80, sm_90]`. The module serves all of them:
    /// a kernel compiled for compute capability c uses the declarations of the highest listed arch
    /// not above c. When the key is missing, `[sm_80]`, with a warning.
    #[serde(rename = "GPU Arch", default)]
    pub gpu_arch: Vec<String>,
    /// Struct name -> the `numba.types` class its Numba type derives from (`Number`, `Type`, ...;
    /// default `Type`).
    #[serde(rename = "Types", default)]
    pub types: BTreeMap<String, String>,
    /// Struct name -> `StructModel` (fields visible, the default) or `PrimitiveModel` (opaque bytes).
    #[serde(rename = "Data Models", default)]
    pub data_models: BTreeMap<String, String>,
    /// Declarations not to bind, by kind.
    #[serde(rename = "Exclude", default)]
    pub exclude: ByKind,
    /// Extra include folders for parsing (relative to the config file).
    #[serde(rename = "Clang Include Paths", default)]
    pub clang_include_paths: Vec<String>,
    /// Imports added to the generated module: a dotted module name (`nvshmem.bindings`, meaning
    /// `import nvshmem.bindings`) or one `import`/`from` statement, kept as written.
    #[serde(rename = "Additional Import", default)]
    pub additional_import: Vec<String>,
    /// What the shims include instead of the entry point: the text after `#include ` (`"lib.h"` or
    /// `<lib.h>` as written; a bare `lib.h` gets quotes). A value starting with `#` is preprocessor
    /// text, one or more lines, written as it is. Default: `#include <...>` for a header under a CUDA
    /// include folder, else the header's path relative to the module, resolved on import.
    #[serde(rename = "Shim Include Override", default)]
    pub shim_include_override: Option<String>,
    /// `NAME` or `NAME=VALUE`: defined for parsing and written into the shims as `#define`.
    #[serde(rename = "Predefined Macros", default)]
    pub predefined_macros: Vec<String>,
    /// The generated module's name, with or without `.py` (default: the entry point's stem).
    #[serde(rename = "Output Name", default)]
    pub output_name: Option<String>,
    /// Functions whose C++ name matches any of these regexes need a cooperative launch: a kernel
    /// that calls one is launched cooperatively.
    #[serde(rename = "Cooperative Launch Required Functions Regex", default)]
    pub cooperative_launch_required_functions_regex: Vec<String>,
    /// Prefixes removed from the Python names of functions (and function templates), structs (and
    /// typedef aliases, class templates) and enums; enum prefixes also apply to the members' names.
    #[serde(rename = "API Prefix Removal", default)]
    pub api_prefix_removal: ByKind,
    /// Functions and function templates whose names start with this prefix are not bound.
    #[serde(rename = "Skip Prefix", default)]
    pub skip_prefix: Option<String>,
    /// Register into the module's own registries, installed by its `install()`.
    #[serde(rename = "Use Separate Registry", default)]
    pub use_separate_registry: bool,
    /// Setup and teardown callbacks of the shims' compilation unit.
    #[serde(rename = "Module Callbacks", default)]
    pub module_callbacks: ModuleCallbacks,
    /// Intents of reference parameters (`in`, `inout_ptr`, `out_ptr`, `out_return`): function ->
    /// parameter (name or index) -> intent, and for methods, struct or class template -> method ->
    /// parameter -> intent (`BlockScan: {InclusiveSum: {output: out_return}}`).
    #[serde(rename = "Function Argument Intents", default)]
    pub function_argument_intents: BTreeMap<String, BTreeMap<String, IntentEntry>>,
    /// Earlier spelling: names of functions (exact) whose kernels need a cooperative launch.
    #[serde(rename = "Cooperative Launch Required APIs", default)]
    pub cooperative_launch_required_apis: Vec<String>,
    /// Accepted for existing configs; no effect (warned): declarations that macros expand are bound
    /// with the file the macro is expanded in.
    #[serde(rename = "Macro-expanded Function Prefixes", default)]
    pub macro_expanded_function_prefixes: Option<serde_json::Value>,
    /// Accepted for existing configs; no effect (warned): nvJitLink comes with numba-cuda.
    #[serde(rename = "Require Pynvjitlink", default)]
    pub require_pynvjitlink: Option<serde_json::Value>,
    /// Generate for numba-cuda-mlir instead of numba-cuda: the module imports numba-cuda-mlir and
    /// the standard library only, and its bindings serve `numba_cuda_mlir` kernels.
    #[serde(rename = "MLIR Backend", default)]
    pub mlir_backend: bool,
    /// The existing Numbast's other spelling of `MLIR Backend`.
    #[serde(rename = "mlir_backend", default)]
    pub mlir_backend_lower: Option<bool>,
    /// Accepted for existing configs; no effect (warned): numba-cuda-mlir links what a kernel uses.
    #[serde(rename = "Module Link Variables Used", default)]
    pub module_link_variables_used: Option<serde_json::Value>,
    /// What loading the config found worth saying without refusing it (keys with no effect here,
    /// defaults filled in), each with its key and place.
    #[serde(skip)]
    #[schemars(skip)]
    pub warnings: Vec<ConfigError>,
}

/// The intents an entry of `Function Argument Intents` gives, keyed by the entry's second level.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum IntentEntry {
    /// Under a function, a parameter (name or index) -> its intent.
    Intent(#[schemars(schema_with = "intent_schema")] String),
    /// Under a struct or class template, a method -> parameter (name or index) -> intent.
    Method(#[schemars(schema_with = "method_intents_schema")] BTreeMap<String, String>),
}

const INTENTS: [&str; 4] = ["in", "inout_ptr", "out_ptr", "out_return"];

fn intent_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({ "type": "string", "enum": INTENTS })
}

fn method_intents_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({ "type": "object", "additionalProperties": { "type": "string", "enum": INTENTS } })
}

/// By hand rather than `untagged`, so that a wrong value says what was expected instead of "did not
/// match any variant".
impl<'de> Deserialize<'de> for IntentEntry {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = IntentEntry;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str(
                    "an intent (in, inout_ptr, out_ptr, out_return), or for a method a mapping of parameter -> intent",
                )
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<IntentEntry, E> {
                Ok(IntentEntry::Intent(v.to_string()))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<IntentEntry, A::Error> {
                let mut params = BTreeMap::new();
                while let Some((k, v)) = map.next_entry::<String, String>()? {
                    params.insert(k, v);
                }
                Ok(IntentEntry::Method(params))
            }
        }
        d.deserialize_any(Visitor)
    }
}

/// A config value refused by `Config::check`: the key it is under and why (made a `ConfigError`
/// with the key's place once the text is at hand).
#[derive(Debug)]
struct Refused {
    key: &'static str,
    message: String,
}

impl Refused {
    fn new(key: &'static str, message: impl Into<String>) -> Refused {
        Refused { key, message: message.into() }
    }
}

/// A config error with the place it concerns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub file: PathBuf,
    pub line: Option<usize>,
    pub column: Option<usize>,
    pub key: Option<String>,
    pub message: String,
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let (Some(l), Some(c)) = (self.line, self.column) {
            write!(f, ":{l}:{c}")?;
        }
        write!(f, ": ")?;
        if let Some(k) = &self.key {
            write!(f, "`{k}`: ")?;
        }
        write!(f, "{}", self.message)
    }
}

impl std::error::Error for ConfigError {}

/// The JSON Schema of the config, for editors.
pub fn json_schema() -> String {
    let schema = schemars::schema_for!(Config);
    serde_json::to_string_pretty(&schema).expect("schema serializes") + "\n"
}

fn closest<'a>(word: &str, candidates: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .map(|c| (strsim::normalized_levenshtein(&word.to_lowercase(), &c.to_lowercase()), c))
        .filter(|(score, _)| *score > 0.5)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

/// Plain words for serde's type names in "expected ..." messages.
fn plain_type(serde_words: &str) -> String {
    let w = serde_words.trim();
    match w {
        "a sequence" => "a list (`[a, b]` or one `- item` per line)".into(),
        "a map" => "a mapping (`key: value` lines)".into(),
        "a boolean" => "a boolean (`True` or `False`)".into(),
        "a string" => "a string".into(),
        _ if w.starts_with("struct ") => "a mapping (`key: value` lines)".into(),
        _ => w.to_string(),
    }
}

/// serde_yaml_ng writes `path: message at line L column C`; the place and the key are reported
/// separately, so both are taken off.
fn bare_message(message: &str, path: &str) -> String {
    // The YAML error names the value's path, or that of an enclosing mapping.
    let mut prefix = path;
    let mut m = loop {
        if let Some(rest) = message.strip_prefix(prefix).and_then(|r| r.strip_prefix(": ")) {
            break rest.to_string();
        }
        match prefix.rfind(['.', '[']) {
            Some(i) => prefix = &prefix[..i],
            None => break message.to_string(),
        }
    };
    if let Some(i) = m.rfind(" at line ") {
        if m[i + 9..].split(" column ").all(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit())) {
            m.truncate(i);
        }
    }
    m
}

/// Rewrites a serde message about the value at `path` into the config's terms: the key it concerns
/// and what is wrong with it. An unknown key gets the closest known key, a wrong type says what was
/// expected and what was found, a missing key is named with the mapping that lacks it.
fn explain(message: &str, path: &str) -> (Option<String>, String) {
    let at = |p: &str| (p != "." && !p.is_empty()).then(|| p.to_string());
    if let Some(rest) = message.strip_prefix("unknown field `") {
        if let Some((field, tail)) = rest.split_once('`') {
            let known: Vec<&str> = tail.split('`').skip(1).step_by(2).collect();
            let hint =
                closest(field, known.iter().copied()).map(|c| format!("; did you mean `{c}`?")).unwrap_or_default();
            return (at(path), format!("unknown key{hint} (known keys here: {})", known.join(", ")));
        }
    }
    if let Some(rest) = message.strip_prefix("missing field `") {
        let field = rest.split('`').next().unwrap_or(rest);
        let key = match at(path) {
            Some(parent) => format!("{parent}.{field}"),
            None => field.to_string(),
        };
        return (Some(key), "required key is missing".into());
    }
    for prefix in ["invalid type: ", "invalid value: "] {
        if let Some(rest) = message.strip_prefix(prefix) {
            if let Some((found, expected)) = rest.rsplit_once(", expected ") {
                return (at(path), format!("expected {}, found {found}", plain_type(expected)));
            }
        }
    }
    (at(path), message.to_string())
}

fn reject_tags(v: &serde_yaml_ng::Value, path: &str) -> Result<(), String> {
    use serde_yaml_ng::Value;
    match v {
        Value::Tagged(t) => Err(format!("{path}: YAML tag `{}` is not allowed in a config", t.tag)),
        Value::Sequence(s) => s.iter().enumerate().try_for_each(|(i, x)| reject_tags(x, &format!("{path}[{i}]"))),
        Value::Mapping(m) => m.iter().try_for_each(|(k, x)| {
            let key = k.as_str().map(str::to_string).unwrap_or_else(|| format!("{k:?}"));
            reject_tags(k, path)
                .and_then(|_| reject_tags(x, &if path.is_empty() { key.clone() } else { format!("{path}.{key}") }))
        }),
        _ => Ok(()),
    }
}

impl Config {
    /// Loads and checks a config file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let err = |line: Option<usize>, column: Option<usize>, key: Option<String>, message: String| ConfigError {
            file: path.to_path_buf(),
            line,
            column,
            key,
            message,
        };
        let text =
            std::fs::read_to_string(path).map_err(|e| err(None, None, None, format!("cannot read the config: {e}")))?;
        let mut config = Self::from_yaml(&text).map_err(|mut e| {
            e.file = path.to_path_buf();
            e
        })?;
        for w in &mut config.warnings {
            w.file = path.to_path_buf();
        }
        Ok(config)
    }

    /// Parses config text (paths in it stay as written).
    pub fn from_yaml(text: &str) -> Result<Config, ConfigError> {
        let mk =
            |line, column, key, message| ConfigError { file: PathBuf::from("<config>"), line, column, key, message };
        // Safe loading: the YAML is read as plain data, and any tag is refused.
        let value: serde_yaml_ng::Value = serde_yaml_ng::from_str(text).map_err(|e| {
            let loc = e.location();
            mk(
                loc.as_ref().map(|l| l.line()),
                loc.as_ref().map(|l| l.column()),
                None,
                format!("YAML syntax error: {e}"),
            )
        })?;
        if value.is_null() {
            return Err(mk(
                None,
                None,
                None,
                "the config is empty; `Entry Point`, `File List` and `GPU Arch` are required".into(),
            ));
        }
        reject_tags(&value, "").map_err(|m| mk(None, None, None, m))?;
        let de = serde_yaml_ng::Deserializer::from_str(text);
        let mut config: Config = serde_path_to_error::deserialize(de).map_err(|e| {
            let path = e.path().to_string();
            let inner = e.inner();
            let loc = inner.location();
            let (key, message) = explain(&bare_message(&inner.to_string(), &path), &path);
            mk(loc.as_ref().map(|l| l.line()), loc.as_ref().map(|l| l.column()), key, message)
        })?;
        let place = |key: &str| forms::key_position(text, key);
        let present = |key: &str| value.as_mapping().is_some_and(|m| m.contains_key(key));
        if !present("GPU Arch") {
            config.gpu_arch = vec![DEFAULT_GPU_ARCH.to_string()];
            config.warnings.push(mk(
                None,
                None,
                Some("GPU Arch".into()),
                format!("is missing; generating for {DEFAULT_GPU_ARCH}"),
            ));
        }
        config.check().map_err(|r| {
            let (line, column) = place(r.key);
            mk(line, column, Some(r.key.into()), r.message)
        })?;
        for (key, why) in forms::NO_EFFECT {
            if present(key) {
                let (line, column) = place(key);
                config.warnings.push(mk(line, column, Some(key.into()), format!("has no effect here: {why}")));
            }
        }
        Ok(config)
    }

    /// Whether the module is generated for numba-cuda-mlir (`MLIR Backend`, or `mlir_backend`).
    pub fn mlir(&self) -> bool {
        self.mlir_backend || self.mlir_backend_lower == Some(true)
    }

    /// The shims' preprocessor text for `Shim Include Override`, if set (checked on load).
    pub fn shim_include_text(&self) -> Option<String> {
        self.shim_include_override.as_deref().and_then(|o| forms::include_text(o).ok())
    }

    /// `Additional Import` as import statements: a dotted name `a.b` is `import a.b`.
    pub fn import_statements(&self) -> Vec<String> {
        self.additional_import
            .iter()
            .map(|i| if is_dotted_name(i.trim()) { format!("import {}", i.trim()) } else { i.clone() })
            .collect()
    }

    /// The setup and teardown callbacks, in their forms (checked on load).
    pub fn callbacks(&self) -> (Option<Callback>, Option<Callback>) {
        let form = |c: &Option<String>| c.as_deref().and_then(|c| forms::callback(c, is_dotted_callable(c)).ok());
        (form(&self.module_callbacks.setup), form(&self.module_callbacks.teardown))
    }

    /// The module's name: `Output Name` without a `.py` suffix, else the entry point's stem.
    pub fn module_stem(&self, entry_stem: &str) -> String {
        match &self.output_name {
            Some(n) => n.strip_suffix(".py").filter(|s| !s.is_empty()).unwrap_or(n).to_string(),
            None => entry_stem.to_string(),
        }
    }

    fn check(&self) -> Result<(), Refused> {
        if self.entry_point.trim().is_empty() {
            return Err(Refused::new("Entry Point", "must name a header"));
        }
        if self.file_list.is_empty() {
            return Err(Refused::new("File List", "is empty; list the headers whose declarations to bind"));
        }
        if self.gpu_arch.is_empty() {
            return Err(Refused::new("GPU Arch", "is empty; list compute capabilities such as sm_80"));
        }
        for a in &self.gpu_arch {
            canopy::normalize_arch(a).map_err(|e| Refused::new("GPU Arch", e.to_string()))?;
        }
        for (name, model) in &self.data_models {
            if !matches!(model.as_str(), "StructModel" | "PrimitiveModel") {
                return Err(Refused::new(
                    "Data Models",
                    format!("{name}: `{model}` is not StructModel or PrimitiveModel"),
                ));
            }
        }
        for (name, ty) in &self.types {
            if !ty.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') || ty.is_empty() {
                return Err(Refused::new("Types", format!("{name}: `{ty}` is not a numba.types class name")));
            }
        }
        for m in &self.predefined_macros {
            let name = m.split('=').next().unwrap_or("");
            // A value ending in `\` would continue the `#define` onto the next line of the shims.
            let bad_text = m.chars().any(|c| c.is_control()) || m.trim_end().ends_with('\\');
            if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') || bad_text {
                return Err(Refused::new(
                    "Predefined Macros",
                    format!("`{}` is not NAME or NAME=VALUE on one line", m.escape_debug()),
                ));
            }
        }
        for imp in &self.additional_import {
            if !is_import_statement(imp) && !is_dotted_name(imp.trim()) {
                return Err(Refused::new(
                    "Additional Import",
                    format!("`{}` is not a dotted module name nor a single import statement", imp.escape_debug()),
                ));
            }
        }
        for r in &self.cooperative_launch_required_functions_regex {
            regex_lite::Regex::new(r)
                .map_err(|e| Refused::new("Cooperative Launch Required Functions Regex", format!("`{r}`: {e}")))?;
        }
        check_intents(&self.function_argument_intents).map_err(|m| Refused::new("Function Argument Intents", m))?;
        if let Some(o) = &self.shim_include_override {
            forms::include_text(o).map_err(|m| Refused::new("Shim Include Override", m))?;
        }
        for cb in [&self.module_callbacks.setup, &self.module_callbacks.teardown].into_iter().flatten() {
            forms::callback(cb, is_dotted_callable(cb)).map_err(|m| Refused::new("Module Callbacks", m))?;
        }
        Ok(())
    }
}

/// Each entry is a function (parameter -> intent) or a struct or class template (method ->
/// parameter -> intent), not both; every intent is a known one.
fn check_intents(intents: &BTreeMap<String, BTreeMap<String, IntentEntry>>) -> Result<(), String> {
    let check = |path: String, intent: &str| {
        if INTENTS.contains(&intent) {
            Ok(())
        } else {
            Err(format!("{path}: `{intent}` is not one of {}", INTENTS.join(", ")))
        }
    };
    for (owner, entries) in intents {
        let params: Vec<&str> =
            entries.iter().filter(|(_, e)| matches!(e, IntentEntry::Intent(_))).map(|(k, _)| k.as_str()).collect();
        let methods: Vec<&str> =
            entries.iter().filter(|(_, e)| matches!(e, IntentEntry::Method(_))).map(|(k, _)| k.as_str()).collect();
        if !params.is_empty() && !methods.is_empty() {
            return Err(format!(
                "{owner}: mixes parameters ({}) and methods ({}); a function maps parameters to intents, a struct or class template maps methods to parameters to intents",
                params.join(", "),
                methods.join(", ")
            ));
        }
        for (key, entry) in entries {
            match entry {
                IntentEntry::Intent(intent) => check(format!("{owner}.{key}"), intent)?,
                IntentEntry::Method(params) => {
                    for (p, intent) in params {
                        check(format!("{owner}.{key}.{p}"), intent)?;
                    }
                }
            }
        }
    }
    Ok(())
}

fn is_dotted_name(s: &str) -> bool {
    !s.is_empty()
        && s.split('.').all(|p| {
            !p.is_empty()
                && p.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                && !p.starts_with(|c: char| c.is_ascii_digit())
        })
}

fn is_dotted_callable(s: &str) -> bool {
    matches!(s.split_once(':'), Some((m, f)) if is_dotted_name(m) && is_dotted_name(f))
}

/// `import a.b [as c]` or `from a.b import x [as y], z`: one line, names only.
fn is_import_statement(s: &str) -> bool {
    // `name` or `name as alias`, comma-separated, none empty; `__future__` imports must come first in
    // a module, which a generated one cannot promise.
    let item_ok = |item: &str, dotted: bool| -> bool {
        let words: Vec<&str> = item.split_whitespace().collect();
        let name_ok = |w: &str| if dotted { is_dotted_name(w) } else { is_dotted_name(w) && !w.contains('.') };
        match words.as_slice() {
            [n] => name_ok(n),
            [n, "as", alias] => name_ok(n) && is_dotted_name(alias) && !alias.contains('.'),
            _ => false,
        }
    };
    let list_ok = |list: &str, dotted: bool| !list.trim().is_empty() && list.split(',').all(|i| item_ok(i, dotted));
    if s.contains(|c: char| c.is_control()) {
        return false;
    }
    if let Some(rest) = s.strip_prefix("import ") {
        return list_ok(rest, true) && !rest.trim_start().starts_with("__future__");
    }
    if let Some(rest) = s.strip_prefix("from ") {
        if let Some((module, names)) = rest.split_once(" import ") {
            let module = module.trim();
            return is_dotted_name(module) && module != "__future__" && list_ok(names, false);
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = "Entry Point: a.cuh\nFile List: [a.cuh]\nGPU Arch: [sm_80]\n";

    #[test]
    fn minimal_config_loads() {
        let c = Config::from_yaml(MINIMAL).unwrap();
        assert_eq!(c.gpu_arch, vec!["sm_80"]);
        assert!(!c.use_separate_registry);
    }

    #[test]
    fn unknown_key_suggests_the_closest() {
        let e = Config::from_yaml(&format!("{MINIMAL}Entry Pont: b.cuh\n")).unwrap_err();
        assert_eq!(e.key.as_deref(), Some("Entry Pont"));
        assert!(e.message.starts_with("unknown key; did you mean `Entry Point`?"), "{e}");
        assert_eq!((e.line, e.column), (Some(4), Some(1)));
        let e = Config::from_yaml(&format!("{MINIMAL}Exclude: {{Functon: [f]}}\n")).unwrap_err();
        assert_eq!(e.key.as_deref(), Some("Exclude.Functon"), "{e}");
        assert!(e.message.contains("did you mean `Function`?"), "{e}");
    }

    #[test]
    fn wrong_type_names_the_key() {
        let e = Config::from_yaml("Entry Point: a.cuh\nFile List: a.cuh\nGPU Arch: [sm_80]\n").unwrap_err();
        assert_eq!(e.key.as_deref(), Some("File List"), "{e}");
        assert!(e.message.starts_with("expected a list"), "{e}");
        assert!(e.message.ends_with("found string \"a.cuh\""), "{e}");
        let e = Config::from_yaml(&format!("{MINIMAL}Use Separate Registry: maybe\n")).unwrap_err();
        assert_eq!(e.key.as_deref(), Some("Use Separate Registry"), "{e}");
        assert!(e.message.starts_with("expected a boolean"), "{e}");
        assert_eq!(e.to_string(), format!("<config>:4:24: `Use Separate Registry`: {}", e.message));
    }

    #[test]
    fn tags_and_code_are_refused() {
        // A local tag is refused; a `!!` tag is not resolved at all: the value stays plain text.
        assert!(Config::from_yaml(&format!("{MINIMAL}Name: !python/object:os.system x\n")).is_err());
        let c = Config::from_yaml(&format!("{MINIMAL}Name: !!python/object:os.system x\n")).unwrap();
        assert_eq!(c.name.as_deref(), Some("x"));
        let e = Config::from_yaml(&format!("{MINIMAL}Additional Import: ['import os; os.system(1)']\n")).unwrap_err();
        assert_eq!(e.key.as_deref(), Some("Additional Import"));
        assert!(Config::from_yaml(&format!("{MINIMAL}Predefined Macros: [\"A=1\\nimport os\"]\n")).is_err());
    }

    #[test]
    fn syntax_errors_have_a_place() {
        let e = Config::from_yaml("Entry Point: [a\n").unwrap_err();
        assert!(e.line.is_some() && e.message.starts_with("YAML syntax error"), "{e}");
    }

    #[test]
    fn intents_nest_two_or_three_levels() {
        let c = Config::from_yaml(&format!(
            "{MINIMAL}Function Argument Intents:\n  divmod: {{q: out_return, 1: inout_ptr}}\n  BlockScan:\n    InclusiveSum: {{output: out_return}}\n"
        ))
        .unwrap();
        let intents = serde_json::to_value(&c.function_argument_intents).unwrap();
        assert_eq!(
            intents,
            serde_json::json!({"divmod": {"q": "out_return", "1": "inout_ptr"}, "BlockScan": {"InclusiveSum": {"output": "out_return"}}})
        );
    }

    #[test]
    fn intent_errors_name_the_path() {
        let err =
            |extra: &str| Config::from_yaml(&format!("{MINIMAL}Function Argument Intents: {extra}\n")).unwrap_err();
        let e = err("{f: {x: sideways}}");
        assert_eq!(e.to_string(), "<config>:4:1: `Function Argument Intents`: f.x: `sideways` is not one of in, inout_ptr, out_ptr, out_return");
        let e = err("{C: {m: {x: sideways}}}");
        assert_eq!(e.message, "C.m.x: `sideways` is not one of in, inout_ptr, out_ptr, out_return");
        let e = err("{C: {m: {x: out_return}, y: in}}");
        assert_eq!(
            e.message,
            "C: mixes parameters (y) and methods (m); a function maps parameters to intents, a struct or class template maps methods to parameters to intents"
        );
        let e = err("{C: {m: [x]}}");
        assert_eq!(e.key.as_deref(), Some("Function Argument Intents.C.m"), "{e}");
        assert!(
            e.message.starts_with("expected an intent (in, inout_ptr, out_ptr, out_return), or for a method a mapping"),
            "{e}"
        );
        assert!(e.message.ends_with("found sequence"), "{e}");
        let e = err("{C: {m: {x: {deeper: in}}}}");
        assert_eq!(e.key.as_deref(), Some("Function Argument Intents.C.m.x"), "{e}");
        assert!(e.message.starts_with("expected a string, found map"), "{e}");
    }

    #[test]
    fn empty_lists_are_errors() {
        let e = Config::from_yaml("Entry Point: a.cuh\nFile List: []\nGPU Arch: [sm_80]\n").unwrap_err();
        assert_eq!(e.key.as_deref(), Some("File List"));
        let e = Config::from_yaml("File List: [a]\nGPU Arch: [sm_80]\n").unwrap_err();
        assert_eq!(e.key.as_deref(), Some("Entry Point"), "{e}");
        assert_eq!(e.message, "required key is missing");
    }

    #[test]
    fn existing_numbast_forms_load() {
        let c = Config::from_yaml(&format!(
            "{MINIMAL}Version: 0.1\nShim Include Override: \"\\\"cuda_fp16.h\\\"\"\nAdditional Import: [nvshmem.bindings, 'from a import b']\n\
             API Prefix Removal: {{Function: nvshmem_, Enum: [X_]}}\nOutput Name: gen.py\n\
             Module Callbacks: {{setup: 'lambda x: nvshmem.bindings.cumodule_init(int(x))', teardown: 'a.b:c'}}\n"
        ))
        .unwrap();
        assert_eq!(c.version.as_deref(), Some("0.1"));
        assert_eq!(c.shim_include_text().as_deref(), Some("#include \"cuda_fp16.h\""));
        assert_eq!(c.import_statements(), vec!["import nvshmem.bindings", "from a import b"]);
        assert_eq!(c.api_prefix_removal.function, vec!["nvshmem_"]);
        assert_eq!(c.api_prefix_removal.r#enum, vec!["X_"]);
        assert_eq!(c.module_stem("x"), "gen");
        assert_eq!(
            c.callbacks(),
            (
                Some(Callback::Expression("lambda x: nvshmem.bindings.cumodule_init(int(x))".into())),
                Some(Callback::Target("a.b:c".into()))
            )
        );
        assert!(c.warnings.is_empty(), "{:?}", c.warnings);
    }

    #[test]
    fn keys_without_effect_warn_with_their_place() {
        let c = Config::from_yaml(&format!(
            "{MINIMAL}Require Pynvjitlink: False\nMacro-expanded Function Prefixes: [nvshmem]\n"
        ))
        .unwrap();
        let w: Vec<String> = c.warnings.iter().map(|w| w.to_string()).collect();
        assert_eq!(
            w,
            vec![
                "<config>:5:1: `Macro-expanded Function Prefixes`: has no effect here: declarations that macros expand are bound with the file the macro is expanded in",
                "<config>:4:1: `Require Pynvjitlink`: has no effect here: nvJitLink comes with numba-cuda",
            ]
        );
        let c = Config::from_yaml("Entry Point: a.cuh\nFile List: [a.cuh]\n").unwrap();
        assert_eq!(c.gpu_arch, vec![DEFAULT_GPU_ARCH]);
        assert_eq!(c.warnings[0].to_string(), "<config>: `GPU Arch`: is missing; generating for sm_80");
    }

    #[test]
    fn broken_forms_stay_errors() {
        let err = |extra: &str| Config::from_yaml(&format!("{MINIMAL}{extra}\n")).unwrap_err().to_string();
        assert!(
            err("Shim Include Override: '\"a.h'")
                .starts_with("<config>:4:1: `Shim Include Override`: `\\\"a.h` is not what follows"),
            "{}",
            err("Shim Include Override: '\"a.h'")
        );
        assert_eq!(err("Additional Import: ['os; import sys']"), "<config>:4:1: `Additional Import`: `os; import sys` is not a dotted module name nor a single import statement");
        assert_eq!(err("Module Callbacks: {setup: \"lambda x:\\n x\"}"), "<config>:4:1: `Module Callbacks`: `lambda x:\\n x` is not `module:function` nor a Python expression on one line");
        let e = Config::from_yaml(&format!("{MINIMAL}Require Pynvjitlnk: False\n")).unwrap_err();
        assert_eq!((e.line, e.column), (Some(4), Some(1)));
        assert!(e.message.starts_with("unknown key; did you mean `Require Pynvjitlink`?"), "{e}");
        let e = Config::from_yaml(&format!("{MINIMAL}Version: [1]\n")).unwrap_err();
        assert_eq!(e.key.as_deref(), Some("Version"));
        assert!(e.message.contains("a string or a number"), "{e}");
    }
}
