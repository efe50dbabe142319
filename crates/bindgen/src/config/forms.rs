//! The value forms configs written for the existing Numbast use, read into this project's terms:
//! one string where a list is expected, numbers as versions, `Shim Include Override` as the text
//! after `#include `, dotted module names as imports, Python expressions as module callbacks, and
//! the keys that are accepted but have no effect here.

/// `Function: lib_` or `Function: [lib_, other_]`. A visitor rather than an untagged enum, so that
/// an error keeps its line and column.
pub(super) fn one_or_many<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    struct V;
    impl<'de> serde::de::Visitor<'de> for V {
        type Value = Vec<String>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a string or a list of strings")
        }
        fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Vec<String>, E> {
            Ok(vec![v.to_string()])
        }
        fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<String>, A::Error> {
            let mut out = Vec::new();
            while let Some(s) = seq.next_element::<String>()? {
                out.push(s);
            }
            Ok(out)
        }
    }
    d.deserialize_any(V)
}

pub(super) fn one_or_many_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({ "oneOf": [{ "type": "string" }, { "type": "array", "items": { "type": "string" } }] })
}

/// `Version: "0.1"` or `Version: 0.1`.
pub(super) fn string_or_number<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    struct V;
    impl serde::de::Visitor<'_> for V {
        type Value = Option<String>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a string or a number")
        }
        fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Self::Value, E> {
            Ok(Some(v.to_string()))
        }
        fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Self::Value, E> {
            Ok(Some(v.to_string()))
        }
        fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Self::Value, E> {
            Ok(Some(v.to_string()))
        }
        fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Self::Value, E> {
            Ok(Some(v.to_string()))
        }
    }
    d.deserialize_any(V)
}

pub(super) fn string_or_number_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({ "type": ["string", "number"] })
}

/// The preprocessor text for a `Shim Include Override` value, or why it is refused: a value that
/// starts with `#` is lines of preprocessor text; otherwise it is what follows `#include ` on one
/// line (`"x.h"`, `<x.h>`, or a bare `x.h`, which gets quotes).
pub(super) fn include_text(value: &str) -> Result<String, String> {
    let t = value.trim();
    if t.starts_with('#') {
        if value.chars().any(|c| c.is_control() && c != '\n' && c != '\t')
            || value.lines().any(|l| l.trim_end().ends_with('\\'))
        {
            return Err(
                "must be lines of C++ preprocessor text without control characters or trailing backslashes".into()
            );
        }
        return Ok(value.to_string());
    }
    let one_line = !t.is_empty() && !t.chars().any(|c| c.is_control()) && !t.ends_with('\\');
    let inner_ok = |inner: &str| !inner.is_empty() && !inner.contains(['"', '<', '>']);
    let ok = one_line
        && if let Some(inner) = t.strip_prefix('"') {
            inner.strip_suffix('"').is_some_and(inner_ok)
        } else if let Some(inner) = t.strip_prefix('<') {
            inner.strip_suffix('>').is_some_and(inner_ok)
        } else {
            inner_ok(t)
        };
    if !ok {
        return Err(format!(
            "`{}` is not what follows `#include ` (`\"x.h\"`, `<x.h>` or `x.h`, on one line) nor preprocessor text starting with `#`",
            value.escape_debug()
        ));
    }
    Ok(if t.starts_with(['"', '<']) { format!("#include {t}") } else { format!("#include \"{t}\"") })
}

/// A module callback as the config gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Callback {
    /// `module:function`: the function, imported when first called.
    Target(String),
    /// A Python expression that evaluates to a callable, in the generated module's namespace.
    Expression(String),
}

/// One line with no control characters, which Python's parser checks when the module registers.
pub(super) fn callback(value: &str, dotted_callable: bool) -> Result<Callback, String> {
    if dotted_callable {
        return Ok(Callback::Target(value.to_string()));
    }
    if value.trim().is_empty() || value.chars().any(|c| c.is_control()) {
        return Err(format!("`{}` is not `module:function` nor a Python expression on one line", value.escape_debug()));
    }
    Ok(Callback::Expression(value.trim().to_string()))
}

/// Keys accepted for existing configs that change nothing here, with why.
pub(super) const NO_EFFECT: [(&str, &str); 3] = [
    (
        "Macro-expanded Function Prefixes",
        "declarations that macros expand are bound with the file the macro is expanded in",
    ),
    ("Require Pynvjitlink", "nvJitLink comes with numba-cuda"),
    ("Module Link Variables Used", "numba-cuda-mlir links what a kernel uses"),
];

/// Line and column (1-based) of top-level key `key` in config text, if it is written plainly.
pub(super) fn key_position(text: &str, key: &str) -> (Option<usize>, Option<usize>) {
    for (i, line) in text.lines().enumerate() {
        let rest = line
            .strip_prefix(key)
            .or_else(|| line.strip_prefix(&format!("\"{key}\"")))
            .or_else(|| line.strip_prefix(&format!("'{key}'")));
        if rest.is_some_and(|r| r.trim_start().starts_with(':')) {
            return (Some(i + 1), Some(1));
        }
    }
    (None, None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn include_forms() {
        assert_eq!(include_text("\"cuda_fp16.h\"").unwrap(), "#include \"cuda_fp16.h\"");
        assert_eq!(include_text("<cuda_fp16.h>").unwrap(), "#include <cuda_fp16.h>");
        assert_eq!(include_text("lib/x.h").unwrap(), "#include \"lib/x.h\"");
        assert_eq!(include_text("#include <a.h>\n#include <b.h>").unwrap(), "#include <a.h>\n#include <b.h>");
        for bad in ["\"a.h", "<a.h", "a.h\"", "\"a\"b.h\"", "a.h\nint x;", "", "<a.h> \\", "#define A \\"] {
            assert!(include_text(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn key_positions() {
        let text = "Name: x\n# Require Pynvjitlink: no\nRequire Pynvjitlink : False\n";
        assert_eq!(key_position(text, "Require Pynvjitlink"), (Some(3), Some(1)));
        assert_eq!(key_position(text, "Version"), (None, None));
    }
}
