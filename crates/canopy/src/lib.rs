//! ast_canopy's core: parses CUDA C++ headers with libclang (device side, per compute capability)
//! into an owned declaration model, with a persistent parse cache and a precompiled CUDA preamble.

mod cache;
mod clang;
mod constants;
mod definitions;
pub mod model;
mod pch;
mod structure;
pub mod toolchain;
mod types;
mod visit;

use std::collections::HashSet;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use constants::{evaluate_constants, Constants, ConstantsRequest};
pub use model::Declarations;
pub use toolchain::{normalize_arch, Toolchain, ToolchainOptions};

use crate::clang::{Index, ParseFailure, ParseOptions, Severity, TranslationUnit, Unsaved};
use crate::model::Diagnostic;
use crate::pch::Preamble;

/// Every way a parse can fail. Each variant has a stable name (see `Error::kind`).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("source file not found: {0}")]
    SourceNotFound(PathBuf),
    #[error("{path}: {message}")]
    Io { path: PathBuf, message: String },
    #[error("malformed compute capability {0:?}: expected `sm_XY` with an optional `a` or `f` suffix (sm_80, sm_90a, sm_100f), `compute_XY`, or `XY`")]
    ComputeCapability(String),
    #[error("{0}")]
    Libclang(String),
    #[error("{0}")]
    Cuda(String),
    #[error("clang crashed while parsing {0}; the header may use a construct this libclang cannot handle")]
    Crashed(PathBuf),
    #[error("clang rejected the arguments for {0}")]
    InvalidArguments(PathBuf),
    #[error("clang reported {} error(s):\n{}", .0.len(), .0.iter().map(|d| d.to_string()).collect::<Vec<_>>().join("\n"))]
    Parse(Vec<Diagnostic>),
}

impl Error {
    pub(crate) fn io(path: &Path, e: std::io::Error) -> Error {
        Error::Io { path: path.to_path_buf(), message: e.to_string() }
    }

    /// A stable name for the kind of error.
    pub fn kind(&self) -> &'static str {
        match self {
            Error::SourceNotFound(_) => "source_not_found",
            Error::Io { .. } => "io",
            Error::ComputeCapability(_) => "compute_capability",
            Error::Libclang(_) => "libclang",
            Error::Cuda(_) => "cuda",
            Error::Crashed(_) => "clang_crashed",
            Error::InvalidArguments(_) => "invalid_arguments",
            Error::Parse(_) => "parse",
        }
    }
}

/// What to parse and how.
#[derive(Debug, Clone)]
pub struct ParseRequest {
    pub source: PathBuf,
    pub files_to_retain: Vec<PathBuf>,
    pub compute_capability: String,
    pub cxx_standard: String,
    pub additional_includes: Vec<PathBuf>,
    pub defines: Vec<String>,
    pub bypass_parse_error: bool,
    pub verbose: bool,
    /// Parse a host-side CUDA header (`cuda.h`) as the source: no implicit CUDA includes (the
    /// wrapper header would include it first), no precompiled preamble, the source's folder and the
    /// CUDA include folder searched.
    pub cuda_header_mode: bool,
}

impl ParseRequest {
    pub fn new(source: impl Into<PathBuf>, compute_capability: &str) -> ParseRequest {
        let source = source.into();
        ParseRequest {
            files_to_retain: vec![source.clone()],
            source,
            compute_capability: compute_capability.to_string(),
            cxx_standard: "gnu++17".into(),
            additional_includes: Vec::new(),
            defines: Vec::new(),
            bypass_parse_error: false,
            verbose: false,
            cuda_header_mode: false,
        }
    }
}

/// Declarations serialized as JSON, the form that crosses into Python and into the cache.
pub struct ParsedJson {
    pub json: String,
    pub cache_hit: bool,
    /// The clang arguments, for display (lossy where a path in them is not UTF-8).
    pub args: Vec<String>,
}

fn check_source(source: &Path) -> Result<PathBuf, Error> {
    match std::fs::metadata(source) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(Error::SourceNotFound(source.to_path_buf())),
        // Anything else (a symlink loop, a folder that cannot be searched) is said as the OS says it.
        Err(e) => Err(Error::io(source, e)),
        Ok(m) if m.is_dir() => {
            Err(Error::Io { path: source.to_path_buf(), message: "is a directory, not a source file".into() })
        }
        Ok(_) => {
            std::fs::File::open(source).map_err(|e| Error::io(source, e))?;
            std::fs::canonicalize(source).map_err(|e| Error::io(source, e))
        }
    }
}

/// A fingerprint of the libclang binary (path, size, modification time): a different libclang,
/// hence a different clang version, gives a different cache key without loading it.
fn libclang_fingerprint(path: &Path) -> String {
    let meta = std::fs::metadata(path).ok();
    let size = meta.as_ref().map(|m| m.len()).unwrap_or(0);
    let mtime = meta
        .and_then(|m| m.modified().ok())
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!("{}|{size}|{mtime}", path.display())
}

fn errors_of(diags: &[Diagnostic]) -> Vec<Diagnostic> {
    diags.iter().filter(|d| d.severity.is_error()).cloned().collect()
}

/// The clang arguments as one byte string, NUL-separated, for cache keys.
pub(crate) fn join_args(args: &[OsString]) -> Vec<u8> {
    let mut out = Vec::new();
    for (i, a) in args.iter().enumerate() {
        if i > 0 {
            out.push(0);
        }
        out.extend_from_slice(&clang::os_bytes(a));
    }
    out
}

/// When clang refused the GPU architecture (one this libclang does not know, like `sm_99`), the
/// driver sets up no CUDA compilation: every `__device__` of the header is then an error too. Those
/// follow-on errors say nothing, so only the command line's diagnostics are kept.
fn drop_follow_on_errors(diags: Vec<Diagnostic>) -> Vec<Diagnostic> {
    let bad_arch = diags.iter().any(|d| {
        d.file.is_empty() && d.severity.is_error() && d.message.to_ascii_lowercase().contains("gpu architecture")
    });
    if !bad_arch {
        return diags;
    }
    diags.into_iter().filter(|d| d.file.is_empty() && !d.message.starts_with("too many errors emitted")).collect()
}

/// Parses `req.source` and returns the retained declarations as JSON.
pub fn parse_to_json(req: &ParseRequest, tc: &Toolchain) -> Result<ParsedJson, Error> {
    let arch = normalize_arch(&req.compute_capability)?;
    let source = check_source(&req.source)?;
    // Paths stay paths (bytes on Unix) all the way to clang and back: one that is not UTF-8 is
    // opened, and its declarations are matched to the retained files, like any other.
    let mut retained: Vec<PathBuf> = req.files_to_retain.iter().map(|p| visit::canonical_path(p)).collect();
    retained.sort();
    retained.dedup();
    let mut args = tc.clang_args(&arch, &req.cxx_standard, &req.additional_includes, &req.defines);
    if req.cuda_header_mode {
        args.push("-nocudainc".into());
        if let Some(dir) = source.parent() {
            let mut flag = OsString::from("-I");
            flag.push(dir);
            args.push(flag);
        }
        args.push("-isystem".into());
        args.push(tc.cuda_root.join("include").into_os_string());
    }
    let display_args: Vec<String> = args.iter().map(|a| a.to_string_lossy().into_owned()).collect();
    if req.verbose {
        eprintln!("ast_canopy: clang {} {}", display_args.join(" "), source.display());
    }
    let cache = cache::Cache::open(toolchain::cache_dir());
    let fingerprint = libclang_fingerprint(&tc.libclang);
    let retained_bytes = join_args(&retained.iter().map(|p| p.clone().into_os_string()).collect::<Vec<_>>());
    let revision = model::MODEL_REVISION.to_string();
    let key = cache::Cache::key(&[
        revision.as_bytes(),
        fingerprint.as_bytes(),
        &join_args(&args),
        &clang::os_bytes(source.as_os_str()),
        &retained_bytes,
    ]);
    let finish = |errors: Vec<Diagnostic>, json: String, cache_hit: bool| {
        if !errors.is_empty() && !req.bypass_parse_error {
            return Err(Error::Parse(errors));
        }
        Ok(ParsedJson { json, cache_hit, args: display_args.clone() })
    };
    if let Some((errors, json)) = cache.as_ref().and_then(|c| c.get(&key)) {
        return finish(errors, json, true);
    }
    clang::ensure_loaded(&tc.libclang).map_err(Error::Libclang)?;
    let retained_set: HashSet<PathBuf> = retained.into_iter().collect();
    // A file read into the PCH is named as the PCH read it, which may differ from how a plain parse
    // names it (by the path it was first opened through): its declarations are taken without it.
    let preamble = pch::preamble(&fingerprint, &args, req.verbose).filter(|_| !req.cuda_header_mode).filter(|p| {
        let held = p.holds(&source) || retained_set.iter().any(|f| p.holds(f));
        if held && req.verbose {
            eprintln!(
                "ast_canopy: the source or a retained file is in the precompiled CUDA preamble; parsing without it"
            );
        }
        !held
    });
    let started = std::time::Instant::now();
    // The walk of the TU then skips the PCH's declarations: none of them is in a retained file.
    let pch_index = Index::excluding_pch_declarations();
    let plain_index = Index::new();
    let (tu, used) = parse_translation_unit(&plain_index, &pch_index, &source, &args, &[], preamble, req.verbose)
        .map_err(|f| match f {
            ParseFailure::Crashed => Error::Crashed(source.clone()),
            ParseFailure::InvalidArguments => Error::InvalidArguments(source.clone()),
            ParseFailure::Failed => Error::Crashed(source.clone()),
        })?;
    let parsed = std::time::Instant::now();
    let mut visitor = visit::Visitor::new(&tu, &retained_set);
    visitor.visit_scope(&tu.cursor(), "");
    let mut decls = visitor.finish();
    if req.verbose {
        eprintln!(
            "ast_canopy: clang parsed {}{} in {:.3} s; declarations built in {:.3} s",
            source.display(),
            if used.is_some() { " with the precompiled CUDA preamble" } else { "" },
            (parsed - started).as_secs_f64(),
            parsed.elapsed().as_secs_f64()
        );
    }
    decls.diagnostics = drop_follow_on_errors(
        tu.diagnostics()
            .into_iter()
            .filter(|d| d.severity >= Severity::Warning)
            .map(|d| Diagnostic {
                severity: match d.severity {
                    Severity::Fatal => model::Severity::Fatal,
                    Severity::Error => model::Severity::Error,
                    _ => model::Severity::Warning,
                },
                file: d.file,
                line: d.line,
                column: d.column,
                message: d.message,
            })
            .collect(),
    );
    let json = serde_json::to_string(&decls).expect("the model always serializes");
    let errors = errors_of(&decls.diagnostics);
    if let Some(c) = &cache {
        // With the PCH the TU lists only the files it read itself; the PCH's files count too.
        let mut files = tu.included_files();
        if let Some(p) = &used {
            files.extend(p.files().map(Path::to_path_buf));
            files.sort();
            files.dedup();
        }
        c.put(&key, &files, &errors, &json);
    }
    finish(errors, json, false)
}

/// Parses `file` with the precompiled preamble when there is one, else (or when that parse fails or
/// reports an error, which a plain parse then reports in its own words) without it. Returns the
/// translation unit and the preamble it used.
fn parse_translation_unit<'i>(
    plain_index: &'i Index,
    pch_index: &'i Index,
    file: &Path,
    args: &[OsString],
    unsaved: &[Unsaved],
    preamble: Option<Arc<Preamble>>,
    verbose: bool,
) -> Result<(TranslationUnit<'i>, Option<Arc<Preamble>>), ParseFailure> {
    let opts = ParseOptions { skip_function_bodies: true, for_pch: false };
    if let Some(p) = preamble {
        let mut pch_args = args.to_vec();
        pch_args.extend(p.args());
        match TranslationUnit::parse(pch_index, file, &pch_args, unsaved, &opts) {
            Ok(tu) if tu.diagnostics().iter().all(|d| d.severity < Severity::Error) => return Ok((tu, Some(p))),
            Ok(_) if verbose => eprintln!(
                "ast_canopy: the parse with the precompiled CUDA preamble {} reported errors; parsing again without it",
                p.path().display()
            ),
            Err(f) if verbose => eprintln!(
                "ast_canopy: the parse with the precompiled CUDA preamble {} failed ({f:?}); parsing again without it",
                p.path().display()
            ),
            _ => {}
        }
    }
    TranslationUnit::parse(plain_index, file, args, unsaved, &opts).map(|tu| (tu, None))
}

/// Parses `req.source` into the declaration model.
pub fn parse(req: &ParseRequest, tc: &Toolchain) -> Result<Declarations, Error> {
    let parsed = parse_to_json(req, tc)?;
    Ok(serde_json::from_str(&parsed.json).expect("cache entries are written by this version"))
}

/// The value of a constexpr variable.
#[derive(Debug, Clone, PartialEq)]
pub enum ConstValue {
    Int(i128),
    Float(f64),
}

/// Evaluates the constexpr variable `name` declared in `source_text`, parsed as `cxx_standard`;
/// `None` when there is no such variable or it is not a constant int or float. With `verbose`,
/// clang's diagnostics are printed to stderr.
pub fn value_from_constexpr_vardecl(
    source_text: &str,
    name: &str,
    compute_capability: &str,
    cxx_standard: &str,
    verbose: bool,
    tc: &Toolchain,
) -> Result<Option<ConstValue>, Error> {
    let arch = normalize_arch(compute_capability)?;
    clang::ensure_loaded(&tc.libclang).map_err(Error::Libclang)?;
    let file = PathBuf::from("__ast_canopy_constexpr__.cu");
    let args = tc.clang_args(&arch, cxx_standard, &[], &[]);
    let preamble = pch::preamble(&libclang_fingerprint(&tc.libclang), &args, false);
    // The variable may be declared in a header the PCH holds: walk everything.
    let index = Index::new();
    let unsaved = [Unsaved { name: file.clone(), contents: source_text.to_string() }];
    let (tu, _) = parse_translation_unit(&index, &index, &file, &args, &unsaved, preamble, false)
        .map_err(|_| Error::Crashed(file.clone()))?;
    if verbose {
        for d in tu.diagnostics() {
            eprintln!("{}:{}:{}: {}", d.file, d.line, d.column, d.message);
        }
    }
    fn find(c: &clang::Cursor, name: &str) -> Option<clang::Cursor> {
        for ch in c.children() {
            match ch.kind() {
                clang::CursorKind::Var if ch.spelling() == name => return Some(ch),
                clang::CursorKind::Namespace | clang::CursorKind::LinkageSpec => {
                    if let Some(f) = find(&ch, name) {
                        return Some(f);
                    }
                }
                _ => {}
            }
        }
        None
    }
    let var = match find(&tu.cursor(), name) {
        Some(v) => v,
        None => return Ok(None),
    };
    Ok(var.evaluate().map(|v| match v {
        clang::Evaluated::Int(i) => ConstValue::Int(i as i128),
        clang::Evaluated::UInt(u) => ConstValue::Int(u as i128),
        clang::Evaluated::Float(f) => ConstValue::Float(f),
    }))
}

/// libclang's version string, loading libclang if needed.
pub fn libclang_version(tc: &Toolchain) -> Result<String, Error> {
    clang::ensure_loaded(&tc.libclang).map_err(Error::Libclang)?;
    Ok(clang::version_string())
}

/// The path of the libclang this process loaded, if it loaded one.
pub fn loaded_libclang() -> Option<PathBuf> {
    clang::loaded_path()
}
