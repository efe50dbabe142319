//! Safe spelling of outside text in generated Python: string literals that cannot break out, and
//! identifiers that are always valid and never keywords.

/// A Python string literal for `s`: double-quoted, with every character that could end the
/// literal or start a new line escaped. Non-ASCII is written as escapes, so the output is ASCII.
pub fn py_str(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for ch in s.chars() {
        match ch {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (' '..='~').contains(&c) => out.push(c),
            c if (c as u32) <= 0xff => out.push_str(&format!("\\x{:02x}", c as u32)),
            c if (c as u32) <= 0xffff => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push_str(&format!("\\U{:08x}", c as u32)),
        }
    }
    out.push('"');
    out
}

const PY_KEYWORDS: &[&str] = &[
    "False", "None", "True", "and", "as", "assert", "async", "await", "break", "class", "continue", "def", "del",
    "elif", "else", "except", "finally", "for", "from", "global", "if", "import", "in", "is", "lambda", "nonlocal",
    "not", "or", "pass", "raise", "return", "try", "while", "with", "yield", "match", "case", "type", "_",
];

/// Names the rendered code and the generated module use for themselves; a binding never takes one.
const RESERVED: &[&str] = &[
    "_b", "_unit", "_parents", "types", "operator", "_cuda_types", "_vector_types", "install", "typing_registry",
    "target_registry", "__all__", "__version__", "__doc__", "__name__", "__file__", "__spec__", "__loader__",
    "__builtins__", "__path__", "__package__",
];

/// A Python identifier for a C++ name: ASCII letters, digits and `_`; anything else is escaped as
/// `_uXXXX`; keywords, soft keywords and the names the generated code reserves (`RESERVED`, and
/// anything starting with `_nb_`) get a trailing `_`.
pub fn py_ident(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for (i, ch) in name.chars().enumerate() {
        if ch.is_ascii_alphanumeric() || ch == '_' {
            if i == 0 && ch.is_ascii_digit() {
                out.push('_');
            }
            out.push(ch);
        } else {
            out.push_str(&format!("_u{:04x}", ch as u32));
        }
    }
    if out.is_empty() {
        out.push_str("_anonymous");
    }
    if PY_KEYWORDS.contains(&out.as_str()) || RESERVED.contains(&out.as_str()) || out.starts_with("_nb_") {
        out.push('_');
    }
    out
}

/// A C identifier for a shim symbol: same rule as `py_ident` (the result is valid in both).
pub fn c_ident(name: &str) -> String {
    py_ident(&name.replace("::", "_"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn string_literals_cannot_break_out() {
        assert_eq!(py_str("a\"\"\"b\nimport os"), "\"a\\\"\\\"\\\"b\\nimport os\"");
        assert_eq!(py_str("\\'#"), "\"\\\\'#\"");
        assert_eq!(py_str("é"), "\"\\xe9\"");
    }

    #[test]
    fn identifiers_are_valid() {
        assert_eq!(py_ident("lambda"), "lambda_");
        assert_eq!(py_ident("1x"), "_1x");
        assert_eq!(py_ident("a b"), "a_u0020b");
        assert_eq!(py_ident(""), "_anonymous");
        assert_eq!(c_ident("lib::blend"), "lib_blend");
        assert_eq!(py_ident("_b"), "_b_");
        assert_eq!(py_ident("_nb_rt"), "_nb_rt_");
    }
}
