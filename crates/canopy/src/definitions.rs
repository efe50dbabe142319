//! External definitions: the non-inline, non-template device functions and variables with external
//! linkage that every compilation unit including their file emits again, and the text that, replaced
//! by `;`, leaves a declaration (so that a unit of shims can see the declarations alone).
//!
//! Function bodies are skipped by the parse, so a function's extent ends at its declarator; what
//! follows it in the file says whether it is a definition and where its body ends, found by a small
//! scanner that knows comments, string and character literals and brace nesting, and gives up (no
//! span: the file cannot be cut) on what it cannot follow: preprocessor lines inside a body, raw
//! strings, function-try-blocks, `= default`.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::PathBuf;

use crate::clang::{Cursor, CursorKind, File};
use crate::model::{Definition, DefinitionKind, FileDefinitions, Location, Span};

/// A definition found by the visitor, before its file is read.
pub(crate) struct Pending {
    file: File,
    /// Where the declaration starts and where its declarator (or the whole variable) ends; None
    /// when a macro wrote it or its body cannot be cut.
    extent: Option<(u32, u32)>,
    kind: DefinitionKind,
    /// A member defined outside its class: the whole definition is cut (a member cannot be declared
    /// again outside its class).
    out_of_line_member: bool,
    /// Whether the declaration, from the start of its extent, can be taken out of the text whole:
    /// a function whose lexical scope is a namespace or the file (not a linkage specification,
    /// whose `extern "C"` the extent leaves out) and that is not an explicit specialization (whose
    /// `template <>` it may leave out).
    removable: bool,
    name: String,
    /// The identifier code names it by (see `Definition::identifier`).
    identifier: Option<String>,
    location: Location,
}

/// Whether the cursor declares a device entity (`__device__`, `__global__`, `__constant__`,
/// `__shared__`); host-only code is not compiled for the device.
fn is_device(c: &Cursor) -> bool {
    c.children().iter().any(|a| {
        matches!(
            a.kind(),
            CursorKind::DeviceAttr | CursorKind::GlobalAttr | CursorKind::ConstantAttr | CursorKind::SharedAttr
        )
    })
}

/// Whether the declaration belongs to a template (its pattern, or a member of a class template).
fn in_template(c: &Cursor) -> bool {
    let mut scope = c.semantic_parent();
    while let Some(p) = scope {
        match p.kind() {
            CursorKind::ClassTemplate | CursorKind::ClassTemplatePartial | CursorKind::FunctionTemplate => return true,
            CursorKind::TranslationUnit => return false,
            _ => scope = p.semantic_parent(),
        }
    }
    false
}

/// Whether `c` is an instantiation the compiler made of a template (met in a translation unit
/// built on a precompiled header), which sits where its template does; an explicit specialization
/// is written elsewhere, and is a definition of its own.
fn is_implicit_instantiation(c: &Cursor) -> bool {
    c.specialized_template().is_some_and(|t| {
        let (a, b) = (t.expansion_pos(), c.expansion_pos());
        (a.file, a.line, a.column) == (b.file, b.line, b.column)
    })
}

/// The external definition `c` may be (a function or variable at namespace scope), or None.
pub(crate) fn candidate(
    c: &Cursor,
    name: impl FnOnce() -> String,
    location: impl FnOnce() -> Location,
) -> Option<Pending> {
    let kind = match c.kind() {
        CursorKind::Function
        | CursorKind::Method
        | CursorKind::Constructor
        | CursorKind::Destructor
        | CursorKind::Conversion => {
            if c.is_function_inlined() {
                return None;
            }
            DefinitionKind::Function
        }
        // A variable's definition is known without its text (an `extern` one is a declaration).
        CursorKind::Var if c.is_definition() => DefinitionKind::Variable,
        _ => return None,
    };
    if !c.has_external_linkage() || in_template(c) || is_implicit_instantiation(c) || !is_device(c) {
        return None;
    }
    let identifier = match c.kind() {
        CursorKind::Function | CursorKind::Method | CursorKind::Var => {
            Some(c.spelling()).filter(|s| !s.is_empty() && s.bytes().all(is_word))
        }
        _ => None,
    };
    let out_of_line_member = c
        .semantic_parent()
        .is_some_and(|p| matches!(p.kind(), CursorKind::Struct | CursorKind::Class | CursorKind::Union));
    let (file, extent) = match c.file_extent() {
        // A function whose body was parsed (its return type is deduced from it) cannot lose it.
        Some((file, _, _)) if kind == DefinitionKind::Function && c.is_definition() => (file, None),
        Some((file, start, end)) => (file, Some((start, end))),
        None => (c.expansion_file()?, None),
    };
    let removable = kind == DefinitionKind::Function
        && !out_of_line_member
        && c.specialized_template().is_none()
        && c.lexical_parent().is_some_and(|p| matches!(p.kind(), CursorKind::TranslationUnit | CursorKind::Namespace));
    Some(Pending { file, extent, kind, out_of_line_member, removable, name: name(), identifier, location: location() })
}

/// The external definitions of each file that has some, in the order the files were first met,
/// then an entry without definitions for each of the `retained` files that has none; each with the
/// identifiers of definitions its bodies and the rest of its text mention (`references`).
pub(crate) fn collect(pending: Vec<Pending>, retained: &[PathBuf]) -> Vec<FileDefinitions> {
    let mut order: Vec<File> = Vec::new();
    let mut by_file: HashMap<File, Vec<Pending>> = HashMap::new();
    for p in pending {
        by_file.entry(p.file).or_insert_with(|| {
            order.push(p.file);
            Vec::new()
        });
        by_file.get_mut(&p.file).expect("inserted above").push(p);
    }
    let mut files = Vec::new();
    for file in order {
        let path = file.path();
        let Ok(text) = std::fs::read(&path) else { continue };
        let mut definitions = Vec::new();
        // The declarations (definitions or not) of each identifier: its own name there is no use.
        let mut declarators = Vec::new();
        for p in by_file.remove(&file).unwrap_or_default() {
            if let (Some(id), Some((start, end))) = (&p.identifier, p.extent) {
                declarators.push((start as usize, end as usize, id.clone()));
            }
            let mut declaration = None;
            let body = match (p.kind, p.extent) {
                // A variable has no body; a function a macro wrote may be a definition or not.
                (DefinitionKind::Variable, _) | (DefinitionKind::Function, None) => None,
                (DefinitionKind::Function, Some((decl_start, decl_end))) => {
                    match after_declarator(&text, decl_end as usize) {
                        After::Declaration => continue,
                        After::Opaque => None,
                        After::Body(start, end) => {
                            declaration = p.removable.then_some(decl_start as u64);
                            let start = if p.out_of_line_member { decl_start as usize } else { start };
                            Some(Span { start: start as u64, end: end as u64 })
                        }
                    }
                }
            };
            definitions.push(Definition {
                name: p.name,
                kind: p.kind,
                location: p.location,
                body,
                declaration,
                identifier: p.identifier,
                uses: Vec::new(),
            });
        }
        if !definitions.is_empty() {
            files.push((path, text, definitions, declarators));
        }
    }
    for path in retained {
        if files.iter().any(|f| crate::visit::canonical_path(&f.0) == *path) {
            continue;
        }
        if let Ok(text) = std::fs::read(path) {
            files.push((path.clone(), text, Vec::new(), Vec::new()));
        }
    }
    let names: HashSet<String> = files.iter().flat_map(|f| f.2.iter().filter_map(|d| d.identifier.clone())).collect();
    files
        .into_iter()
        .map(|(path, text, mut definitions, declarators)| {
            let uses = references(&text, &names, &mut definitions, &declarators);
            FileDefinitions {
                file: path.to_string_lossy().into_owned(),
                size: text.len() as u64,
                crc32: crc32(&text),
                definitions,
                uses,
            }
        })
        .collect()
}

/// Fills each definition's `uses` (the `names` its body mentions) and returns those the rest of
/// the file mentions, leaving out each declaration's own name within it (`declarators`: the
/// start, end and identifier of each); None when the file cannot be read as tokens.
fn references(
    text: &[u8],
    names: &HashSet<String>,
    definitions: &mut [Definition],
    declarators: &[(usize, usize, String)],
) -> Option<Vec<String>> {
    if names.is_empty() {
        return Some(Vec::new());
    }
    let mut bodies: Vec<(usize, usize, usize)> = definitions
        .iter()
        .enumerate()
        .filter_map(|(i, d)| d.body.map(|b| (b.start as usize, b.end as usize, i)))
        .collect();
    bodies.sort_unstable();
    let mut body_uses: Vec<BTreeSet<String>> = vec![BTreeSet::new(); definitions.len()];
    let mut outside = BTreeSet::new();
    let complete = identifiers(text, |at, word| {
        let Ok(word) = std::str::from_utf8(word) else { return };
        if !names.contains(word) {
            return;
        }
        let body = bodies.partition_point(|b| b.0 <= at).checked_sub(1).map(|k| bodies[k]);
        if let Some((_, _, i)) = body.filter(|b| at < b.1) {
            body_uses[i].insert(word.to_owned());
        } else if !declarators.iter().any(|(s, e, id)| (*s..*e).contains(&at) && id == word) {
            outside.insert(word.to_owned());
        }
    });
    for (d, uses) in definitions.iter_mut().zip(body_uses) {
        d.uses = uses.into_iter().collect();
    }
    complete.then(|| outside.into_iter().collect())
}

/// Calls `f(offset, identifier)` for each identifier of `text` outside comments, string and
/// character literals and numbers; false when the text holds what a scan of tokens cannot follow
/// (token pasting `##`, a raw string, a literal left open), so its identifiers may not be all.
fn identifiers(text: &[u8], mut f: impl FnMut(usize, &[u8])) -> bool {
    let mut complete = true;
    let mut i = 0;
    while i < text.len() {
        let b = text[i];
        match b {
            b'/' if matches!(text.get(i + 1), Some(b'/' | b'*')) => i = skip_space(text, i),
            b'"' | b'\'' => {
                if b == b'"' && i > 0 && text[i - 1] == b'R' {
                    complete = false; // a raw string (its prefix was read as an identifier)
                }
                match end_of_literal(text, i, b) {
                    Some(e) => i = e,
                    None => {
                        complete = false;
                        i += 1;
                    }
                }
            }
            b'#' if text.get(i + 1) == Some(&b'#') => {
                complete = false;
                i += 2;
            }
            b'0'..=b'9' => {
                // a preprocessing number: digits, letters, `.`, digit separators, exponent signs
                i += 1;
                while i < text.len() {
                    match text[i] {
                        b'+' | b'-' if matches!(text[i - 1], b'e' | b'E' | b'p' | b'P') => i += 1,
                        b'\'' if text.get(i + 1).is_some_and(|c| c.is_ascii_alphanumeric()) => i += 1,
                        c if is_word(c) || c == b'.' => i += 1,
                        _ => break,
                    }
                }
            }
            c if is_word(c) || c == b'$' => {
                let start = i;
                while i < text.len() && (is_word(text[i]) || text[i] == b'$') {
                    i += 1;
                }
                f(start, &text[start..i]);
            }
            _ => i += 1,
        }
    }
    complete
}

/// What follows a function's declarator.
#[derive(Debug, PartialEq, Eq)]
enum After {
    /// `;`, `,` or `= delete`: no code.
    Declaration,
    /// A body `[start, end)`: from the `{` (or the `:` of a constructor's initializers) past its `}`.
    Body(usize, usize),
    /// A definition the scanner cannot follow.
    Opaque,
}

/// The offset of the next significant byte at or after `i` (whitespace and comments skipped).
fn skip_space(text: &[u8], mut i: usize) -> usize {
    while i < text.len() {
        match text[i] {
            b' ' | b'\t' | b'\r' | b'\n' | b'\x0c' | b'\x0b' => i += 1,
            b'\\' if text.get(i + 1) == Some(&b'\n') => i += 2,
            b'/' if text.get(i + 1) == Some(&b'/') => {
                while i < text.len() && text[i] != b'\n' {
                    i += 1;
                }
            }
            b'/' if text.get(i + 1) == Some(&b'*') => {
                i = match find(text, i + 2, b"*/") {
                    Some(j) => j + 2,
                    None => text.len(),
                }
            }
            _ => break,
        }
    }
    i
}

fn find(text: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    text.get(from..)?.windows(needle.len()).position(|w| w == needle).map(|p| p + from)
}

fn is_word(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// The offset just past the bracket closing the one at `open` (`{`, `(` or `[`), or None when the
/// text cannot be followed (unbalanced, a preprocessor line or raw string inside).
fn close_of(text: &[u8], open: usize) -> Option<usize> {
    let mut depth = 0usize;
    let mut i = open;
    let mut line_start = false;
    while i < text.len() {
        let b = text[i];
        if line_start && b == b'#' {
            return None; // a preprocessor line inside a body: its branches may not balance
        }
        if !matches!(b, b' ' | b'\t') {
            line_start = b == b'\n';
        }
        match b {
            b'/' if matches!(text.get(i + 1), Some(b'/' | b'*')) => {
                i = skip_space(text, i);
                line_start = text.get(i.wrapping_sub(1)) == Some(&b'\n');
                continue;
            }
            b'"' => {
                if i > 0 && text[i - 1] == b'R' {
                    return None; // a raw string
                }
                i = end_of_literal(text, i, b'"')?;
                continue;
            }
            b'\'' => {
                if i > 0 && text[i - 1].is_ascii_hexdigit() && !text[i - 1].is_ascii_alphabetic() {
                    i += 1; // a digit separator (`1'000`)
                    continue;
                }
                i = end_of_literal(text, i, b'\'')?;
                continue;
            }
            b'{' | b'(' | b'[' => depth += 1,
            b'}' | b')' | b']' => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return Some(i + 1);
                }
            }
            _ => {}
        }
        i += 1;
    }
    None
}

/// The offset past the literal opened by `quote` at `i`.
fn end_of_literal(text: &[u8], mut i: usize, quote: u8) -> Option<usize> {
    i += 1;
    while i < text.len() {
        match text[i] {
            b'\\' => i += 2,
            b'\n' => return None,
            b if b == quote => return Some(i + 1),
            _ => i += 1,
        }
    }
    None
}

/// What follows a function declarator that ends at `end`.
fn after_declarator(text: &[u8], end: usize) -> After {
    let i = skip_space(text, end);
    match text.get(i) {
        None | Some(b';' | b',') => After::Declaration,
        Some(b'{') => close_of(text, i).map_or(After::Opaque, |e| After::Body(i, e)),
        Some(b':') if text.get(i + 1) != Some(&b':') => initializers_then_body(text, i),
        Some(b'=') => {
            let j = skip_space(text, i + 1);
            if text[j..].starts_with(b"delete") && !text.get(j + 6).is_some_and(|&b| is_word(b)) {
                After::Declaration
            } else {
                After::Opaque // `= default`, `= 0`
            }
        }
        _ => After::Opaque,
    }
}

/// A constructor's `: a(x), b{y} {...}` from its `:` at `colon`: a `{` after an initializer's
/// closing bracket (or a pack's `...`) opens the body; one after a name is a braced initializer.
fn initializers_then_body(text: &[u8], colon: usize) -> After {
    let mut i = colon + 1;
    let mut prev = b':';
    loop {
        i = skip_space(text, i);
        let Some(&b) = text.get(i) else { return After::Opaque };
        match b {
            b'{' if matches!(prev, b')' | b'}' | b'.') => {
                return close_of(text, i).map_or(After::Opaque, |e| After::Body(colon, e));
            }
            b'{' | b'(' | b'[' => {
                let Some(e) = close_of(text, i) else { return After::Opaque };
                i = e;
                prev = text[e - 1];
            }
            b';' | b'"' | b'\'' | b'#' => return After::Opaque,
            _ => {
                prev = b;
                i += 1;
            }
        }
    }
}

/// The CRC-32 (IEEE 802.3, as zlib computes it) of `data`.
pub(crate) fn crc32(data: &[u8]) -> u32 {
    const TABLE: [u32; 256] = {
        let mut table = [0u32; 256];
        let mut n = 0;
        while n < 256 {
            let mut c = n as u32;
            let mut k = 0;
            while k < 8 {
                c = if c & 1 != 0 { 0xEDB8_8320 ^ (c >> 1) } else { c >> 1 };
                k += 1;
            }
            table[n] = c;
            n += 1;
        }
        table
    };
    let mut crc = !0u32;
    for &b in data {
        crc = TABLE[((crc ^ b as u32) & 0xff) as usize] ^ (crc >> 8);
    }
    !crc
}

#[cfg(test)]
mod tests {
    use super::*;

    fn after(text: &str) -> After {
        after_declarator(text.as_bytes(), 0)
    }

    #[test]
    fn bodies() {
        assert_eq!(after(" { return 1; }\nint g();"), After::Body(1, 14));
        assert_eq!(after(" /* c */ {\n  if (x) { return \"}\"; }\n  return '}';\n}"), After::Body(9, 51));
        assert_eq!(after(" { int n = 1'000; return n; }"), After::Body(1, 29));
        assert_eq!(after(";"), After::Declaration);
        assert_eq!(after(" = delete;"), After::Declaration);
        assert_eq!(after(" = default;"), After::Opaque);
        assert_eq!(after(" try { } catch (...) { }"), After::Opaque);
        assert_eq!(after(" {\n#if X\n {\n#endif\n}"), After::Opaque);
        assert_eq!(after(" { auto s = R\"(})\"; }"), After::Opaque);
        assert_eq!(after(" { "), After::Opaque);
    }

    #[test]
    fn constructor_initializers() {
        assert_eq!(after(" : a(x), b{y} { }"), After::Body(1, 17));
        assert_eq!(after(" : a{1} {}"), After::Body(1, 10));
        assert_eq!(after(" : Bases(x)... { }"), After::Body(1, 18));
    }

    fn words(text: &str) -> (Vec<String>, bool) {
        let mut out = Vec::new();
        let complete = identifiers(text.as_bytes(), |_, w| out.push(String::from_utf8_lossy(w).into_owned()));
        (out, complete)
    }

    #[test]
    fn identifiers_skip_comments_literals_and_numbers() {
        let (w, complete) = words("f(x) /* g */ + h('}') // k\n+ \"m\" + 1e+5f + 0x1f + 1'000 + n");
        assert_eq!(w, ["f", "x", "h", "n"]);
        assert!(complete);
        assert!(!words("#define CALL(n) f_##n(x)").1); // token pasting
        assert!(!words("auto s = R\"(x)\";").1); // a raw string
    }

    #[test]
    fn references_leave_out_declarators_and_split_bodies_from_the_rest() {
        let text = b"int g(int);\nint f(int x) { return g(x); }\ninline int w() { return f(1); }\nint g(int x) { return x; }\n";
        let span = |body: &[u8]| {
            let start = text.windows(body.len()).position(|w| w == body).unwrap();
            Some(Span { start: start as u64, end: (start + body.len()) as u64 })
        };
        let def = |name: &str, body| Definition {
            name: name.into(),
            kind: DefinitionKind::Function,
            location: Location { file: "a.cuh".into(), line: 1, column: 1 },
            body,
            declaration: None,
            identifier: Some(name.into()),
            uses: Vec::new(),
        };
        let mut defs = [def("f", span(b"{ return g(x); }")), def("g", span(b"{ return x; }"))];
        let names: HashSet<String> = ["f".to_string(), "g".to_string()].into();
        // the declaration of g, and the declarators of f and g (offsets of `int g(int)` and so on)
        let declarators = [(0, 10, "g".to_string()), (12, 24, "f".to_string()), (74, 86, "g".to_string())];
        let outside = references(text, &names, &mut defs, &declarators);
        assert_eq!(outside, Some(vec!["f".to_string()])); // the inline function's call
        assert_eq!(defs[0].uses, ["g"]);
        assert!(defs[1].uses.is_empty());
    }

    #[test]
    fn crc32_is_zlibs() {
        assert_eq!(crc32(b""), 0);
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
    }
}
