//! Constant expressions evaluated by clang: a small translation unit (typically a header's
//! `#include` and variables such as `constexpr unsigned long long v = sizeof(X<int>);`) is parsed
//! with the precompiled CUDA preamble, device side for one compute capability, and the named
//! variables' values are read. It is how the template runtime learns the size, alignment and field
//! offsets of a class-template instantiation, and the traits it asks of the compiler, from the
//! same front end that parsed the header, without compiling the header again in NVRTC.

use std::collections::HashMap;
use std::path::PathBuf;

use crate::clang::{self, CursorKind, Index, ParseOptions, Severity, TranslationUnit, Unsaved};
use crate::model::{self, Diagnostic};
use crate::{libclang_fingerprint, normalize_arch, pch, Error, Toolchain};

/// What to evaluate.
#[derive(Debug, Clone)]
pub struct ConstantsRequest {
    /// The whole translation unit.
    pub source_text: String,
    /// Namespace-scope variables of `source_text` whose values are wanted.
    pub names: Vec<String>,
    pub compute_capability: String,
    pub cxx_standard: String,
    pub additional_includes: Vec<PathBuf>,
    pub defines: Vec<String>,
}

/// The values, one per requested name (`None` for a variable that is missing or not an integer
/// constant), and the translation unit's errors: when there is one, no value is to be trusted.
#[derive(Debug, Clone)]
pub struct Constants {
    pub values: Vec<Option<i128>>,
    pub errors: Vec<Diagnostic>,
}

/// The name clang gives the in-memory main file (and diagnostics in it).
const MAIN_FILE: &str = "numbast_constants.cu";

/// The main file's leading lines that are blank, comments, `#include`, `#define`, `#undef` or
/// `#pragma` (continued lines included), up to the first other line: what the header PCH holds.
/// A conditional (`#if`) ends them, as a PCH cannot hold half of one.
fn leading_directives(text: &str) -> &str {
    let mut end = 0;
    let mut continued = false;
    for line in text.split_inclusive('\n') {
        let t = line.trim();
        let directive = t
            .strip_prefix('#')
            .map(|d| d.trim_start())
            .is_some_and(|d| ["include", "define", "undef", "pragma"].iter().any(|k| d.starts_with(k)));
        if !(continued || t.is_empty() || t.starts_with("//") || directive) {
            break;
        }
        continued = t.ends_with('\\');
        end += line.len();
    }
    &text[..end]
}

/// Parses `req.source_text` and evaluates the variables it names.
pub fn evaluate_constants(req: &ConstantsRequest, tc: &Toolchain) -> Result<Constants, Error> {
    let arch = normalize_arch(&req.compute_capability)?;
    clang::ensure_loaded(&tc.libclang).map_err(Error::Libclang)?;
    let file = PathBuf::from(MAIN_FILE);
    let mut args = tc.clang_args(&arch, &req.cxx_standard, &req.additional_includes, &req.defines);
    let leading = leading_directives(&req.source_text);
    // The header's PCH (its `#include` lines precompiled, built once and kept in the cache folder
    // like the CUDA preamble); without one, the CUDA preamble and a parse of the whole header.
    let fingerprint = libclang_fingerprint(&tc.libclang);
    let header =
        Some(leading).filter(|t| !t.trim().is_empty()).and_then(|t| pch::precompiled(&fingerprint, &args, t, false));
    // What the header PCH holds is not read again: the leading lines become blank lines (so
    // diagnostics keep their line numbers), or a header without an include guard would be
    // defined twice.
    let contents = match &header {
        Some(_) => "\n".repeat(leading.matches('\n').count()) + &req.source_text[leading.len()..],
        None => req.source_text.clone(),
    };
    if let Some(p) = header.or_else(|| pch::preamble(&fingerprint, &args, false)) {
        args.extend(p.args());
    }
    let unsaved = [Unsaved { name: file.clone(), contents }];
    let index = Index::excluding_pch_declarations();
    let opts = ParseOptions { skip_function_bodies: true, for_pch: false };
    let tu = TranslationUnit::parse(&index, &file, &args, &unsaved, &opts).map_err(|_| Error::Crashed(file.clone()))?;
    let errors: Vec<Diagnostic> = tu
        .diagnostics()
        .into_iter()
        .filter(|d| d.severity >= Severity::Error)
        .map(|d| Diagnostic {
            severity: if d.severity == Severity::Fatal { model::Severity::Fatal } else { model::Severity::Error },
            file: d.file,
            line: d.line,
            column: d.column,
            message: d.message,
        })
        .collect();
    let mut found = HashMap::new();
    for c in tu.cursor().children() {
        if c.kind() == CursorKind::Var {
            found.insert(c.spelling(), c);
        }
    }
    let values = req
        .names
        .iter()
        .map(|n| {
            found.get(n).and_then(|c| c.evaluate()).and_then(|v| match v {
                clang::Evaluated::Int(i) => Some(i as i128),
                clang::Evaluated::UInt(u) => Some(u as i128),
                clang::Evaluated::Float(_) => None,
            })
        })
        .collect();
    Ok(Constants { values, errors })
}

#[cfg(test)]
mod tests {
    use super::leading_directives;

    #[test]
    fn leading_directives_stop_at_the_first_declaration() {
        let text = "#include <a.h>\n\n#define X \\\n  1\n// note\nint x;\n#include <b.h>\n";
        assert_eq!(leading_directives(text), "#include <a.h>\n\n#define X \\\n  1\n// note\n");
        let guarded = "#include <a.h>\n#ifndef G\n#define G\n#endif\n";
        assert_eq!(leading_directives(guarded), "#include <a.h>\n");
    }
}
