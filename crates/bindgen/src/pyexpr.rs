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
    "_b",
    "_unit",
    "_template_bindings",
    "_parents",
    "types",
    "operator",
    "_cuda_types",
    "_vector_types",
    "install",
    "typing_registry",
    "target_registry",
    "__all__",
    "__version__",
    "__doc__",
    "__name__",
    "__file__",
    "__spec__",
    "__loader__",
    "__builtins__",
    "__path__",
    "__package__",
];

/// Python's own names: `__x__`, as Python defines them (`__x___` is not one). A module whose
/// `__getattr__` or `__dir__` were a binding would lose its lazy attribute access.
fn is_dunder(name: &str) -> bool {
    let b = name.as_bytes();
    b.len() > 4 && name.starts_with("__") && name.ends_with("__") && b[2] != b'_' && b[b.len() - 3] != b'_'
}

/// A Python identifier for a C++ name: ASCII letters, digits and `_`; anything else is escaped as
/// `_uXXXX`; keywords, soft keywords, `__dunder__` names and the names the generated code reserves
/// (`RESERVED`, and `_nb_*` and `_nbst_*` names, none of which ends in `_`) get a trailing `_`. Applying it to
/// its own result changes nothing.
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
    let generated_own = (out.starts_with("_nb_") || out.starts_with("_nbst_")) && !out.ends_with('_');
    if PY_KEYWORDS.contains(&out.as_str()) || RESERVED.contains(&out.as_str()) || generated_own || is_dunder(&out) {
        out.push('_');
    }
    out
}

/// Whether Python's `enum` refuses `name` as a member name or takes it for something else:
/// the empty name, `mro`, `_sunder_` names (reserved), `__dunder__` names (attributes, not members) and the private
/// names of the class (`_Cls__x`, attributes since Python 3.11).
fn enum_refuses(name: &str, class_name: &str) -> bool {
    let b = name.as_bytes();
    let n = b.len();
    let sunder = n > 2 && b[0] == b'_' && b[1] != b'_' && b[n - 1] == b'_' && b[n - 2] != b'_';
    let dunder = n > 4 && name.starts_with("__") && name.ends_with("__") && b[2] != b'_' && b[n - 3] != b'_';
    let private =
        name.strip_prefix(&format!("_{class_name}__")).is_some_and(|rest| !rest.is_empty() && !rest.ends_with("__"));
    name.is_empty() || name == "mro" || sunder || dunder || private
}

/// The Python member names of an enum whose C++ members are `members` (in order) and whose Python
/// class is `class_name`: the C++ name, with `_` appended where `enum` would refuse it or not make
/// it a member (`mro`, `_sunder_`, `__dunder__`), and again while it collides with another member.
pub fn enum_member_names(members: &[String], class_name: &str) -> Vec<String> {
    let mut taken: std::collections::BTreeSet<String> =
        members.iter().filter(|m| !enum_refuses(m, class_name)).cloned().collect();
    members
        .iter()
        .map(|m| {
            if !enum_refuses(m, class_name) {
                return m.clone();
            }
            let mut name = format!("{m}_");
            while enum_refuses(&name, class_name) || taken.contains(&name) {
                name.push('_');
            }
            taken.insert(name.clone());
            name
        })
        .collect()
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
        assert_eq!(py_ident("__getattr__"), "__getattr___");
        assert_eq!(py_ident("__dir__"), "__dir___");
        assert_eq!(py_ident("__half"), "__half");
        assert_eq!(py_ident("___"), "___");
    }

    #[test]
    fn identifiers_are_idempotent() {
        for name in ["_nb_register", "__getattr__", "lambda", "_b", "1x", "a b", "", "caf\u{e9}", "__all__", "_nb_x_"] {
            let once = py_ident(name);
            assert_eq!(py_ident(&once), once, "{name}");
        }
    }

    #[test]
    fn enum_members_python_refuses_get_a_suffix() {
        let names = |m: &[&str]| enum_member_names(&m.iter().map(|s| s.to_string()).collect::<Vec<_>>(), "E");
        assert_eq!(
            names(&["mro", "_x_", "__x__", "None", "_b", "__x", "_", "a_"]),
            ["mro_", "_x__", "__x___", "None", "_b", "__x", "_", "a_"]
        );
        assert_eq!(names(&["mro", "mro_"]), ["mro__", "mro_"]);
        assert_eq!(names(&["_E__hidden", "_F__shown"]), ["_E__hidden__", "_F__shown"]);
    }
}
