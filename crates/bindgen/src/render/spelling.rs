//! Template spellings analysed at render time: a dependent type as a pattern (pack, reference,
//! pointer, array with its extent, named type), a callable's specificity, and default template
//! arguments qualified for use outside their namespace. The template runtime unifies the patterns
//! with Numba types when a kernel is typed; it parses no C++ spelling of a declaration itself.

use canopy::model::{Extent, TemplateArg, TypeNode};

use super::self_refs::{is_word, starts_word, SELF};
use crate::pyexpr::py_str;
use crate::types::{cxx, scalar};

/// The shape of a parameter's or return type's spelling, cv-qualifiers dropped (they do not change
/// how a value is passed by pointer).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Pattern {
    /// `Ts...`: a function parameter pack of the inner pattern.
    Pack(Box<Pattern>),
    /// `T &` or `T &&`.
    Ref {
        rvalue: bool,
        inner: Box<Pattern>,
    },
    Pointer(Box<Pattern>),
    /// `T[N]`: the extent as written (a literal, a template parameter or an expression), and the
    /// number of elements where the extent is a literal (a template parameter is never one, whatever
    /// its name).
    Array {
        element: Box<Pattern>,
        extent: String,
        count: Option<u64>,
    },
    /// A template parameter or a concrete type, as spelled.
    Name(String),
    /// A template-id `ns::complex<T>`: its spelling, the template's name as written (without a
    /// leading `::`), whether it was written fully qualified (`::std::complex`), and the
    /// spellings of its template arguments.
    Id {
        text: String,
        template: String,
        fully_qualified: bool,
        args: Vec<String>,
    },
}

/// The named type `text`, a template-id when it is `name<...>` with a plain (qualified) name.
fn named(text: String) -> Pattern {
    let id = text.strip_suffix('>').and_then(|head| {
        let (name, args) = head.split_once('<')?;
        let (name, fully_qualified) = match name.trim_end().strip_prefix("::") {
            Some(rest) => (rest, true),
            None => (name.trim_end(), false),
        };
        // The `<` after the name closes at the end (not `a<b>::c<d>`).
        let mut depth = 1i32;
        let closes_at_end = args.chars().all(|c| {
            depth += match c {
                '<' => 1,
                '>' => -1,
                _ => 0,
            };
            depth > 0
        });
        let plain = closes_at_end && !name.is_empty() && name.chars().all(|c| is_word(c) || c == ':');
        plain.then(|| (name.to_string(), fully_qualified, canopy::model::split_template_args(args)))
    });
    match id {
        Some((template, fully_qualified, args)) => Pattern::Id { text, template, fully_qualified, args },
        None => Pattern::Name(text),
    }
}

/// `s` with its whitespace runs made single spaces.
pub(crate) fn norm(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// `s` without trailing whole words `words` (and the spaces before them).
fn strip_trailing_words(s: &str, words: &[&str]) -> String {
    let mut s = s.trim_end();
    loop {
        let stripped = words.iter().find_map(|w| {
            let rest = s.strip_suffix(w)?;
            let before = rest.chars().next_back();
            (before.is_none_or(|c| !is_word(c))).then_some(rest.trim_end())
        });
        match stripped {
            Some(rest) => s = rest,
            None => return s.to_string(),
        }
    }
}

/// `s` without leading words `words` each followed by a space.
fn strip_leading_words(s: &str, words: &[&str]) -> String {
    let mut s = s;
    loop {
        let stripped = words.iter().find_map(|w| s.strip_prefix(w).and_then(|rest| rest.strip_prefix(' ')));
        match stripped {
            Some(rest) => s = rest.trim_start(),
            None => return s.to_string(),
        }
    }
}

/// `T (&)[N]`, `T (&&)[N]`, `T (*)[N]`: the element spelling, the declarator sigil and `[N]...`.
fn array_declarator(s: &str) -> Option<(&str, &str, &str)> {
    let open = s.find('(')?;
    let close = open + s[open..].find(')')?;
    let sigil = s[open + 1..close].trim();
    let dims = s[close + 1..].trim_start();
    (matches!(sigil, "&" | "&&" | "*") && dims.starts_with('[') && dims.ends_with(']'))
        .then(|| (s[..open].trim_end(), sigil, dims))
}

impl Pattern {
    /// The pattern of a type's structure as canopy builds it (`TypeNode`): no spelling is read.
    /// The class template itself is the parameter `__nbst_self__`; a named type's text, and a
    /// template-id's arguments, are their spellings; a template-id names its template by its
    /// qualified name.
    pub(crate) fn of_structure(node: &TypeNode) -> Pattern {
        match node {
            TypeNode::Param { name, .. } => Pattern::Name(name.clone()),
            TypeNode::SelfClass { .. } => Pattern::Name(SELF.to_string()),
            TypeNode::SelfMember { member, .. } => Pattern::Name(format!("{SELF}::{member}")),
            TypeNode::Pack { pattern } => Pattern::Pack(Box::new(Pattern::of_structure(pattern))),
            TypeNode::Ref { rvalue, referee } => {
                Pattern::Ref { rvalue: *rvalue, inner: Box::new(Pattern::of_structure(referee)) }
            }
            TypeNode::Pointer { pointee, .. } => Pattern::Pointer(Box::new(Pattern::of_structure(pointee))),
            TypeNode::Array { element, extent } => {
                let (extent, count) = match extent {
                    Extent::Literal { value } => (value.to_string(), Some(*value)),
                    Extent::Param { name } => (name.clone(), None),
                    Extent::Expr { text } => (text.clone(), None),
                };
                Pattern::Array { element: Box::new(Pattern::of_structure(element)), extent, count }
            }
            TypeNode::Named { spelling, template: None, .. } => Pattern::Name(cxx(spelling)),
            TypeNode::Named { spelling, template: Some(id), .. } => Pattern::Id {
                text: cxx(spelling),
                template: cxx(&id.template),
                fully_qualified: true,
                args: id
                    .args
                    .iter()
                    .map(|a| match a {
                        TemplateArg::Type { spelling, .. } => cxx(spelling),
                        TemplateArg::Expr { text } => text.clone(),
                    })
                    .collect(),
            },
        }
    }

    /// The pattern with each named type's text, and each template-id's text and arguments, passed
    /// through `f`.
    pub(crate) fn map_names(self, f: &dyn Fn(&str) -> String) -> Pattern {
        match self {
            Pattern::Name(n) => Pattern::Name(f(&n)),
            Pattern::Pack(inner) => Pattern::Pack(Box::new(inner.map_names(f))),
            Pattern::Ref { rvalue, inner } => Pattern::Ref { rvalue, inner: Box::new(inner.map_names(f)) },
            Pattern::Pointer(inner) => Pattern::Pointer(Box::new(inner.map_names(f))),
            Pattern::Array { element, extent, count } => {
                Pattern::Array { element: Box::new(element.map_names(f)), extent, count }
            }
            Pattern::Id { text, template, fully_qualified, args } => {
                Pattern::Id { text: f(&text), template, fully_qualified, args: args.iter().map(|a| f(a)).collect() }
            }
        }
    }

    /// The pattern of a (canonical) type spelling.
    pub(crate) fn of(spelling: &str) -> Pattern {
        let s = norm(spelling);
        if let Some(inner) = s.strip_suffix("...") {
            return Pattern::Pack(Box::new(Pattern::of(inner)));
        }
        if let Some((elem, sigil, dims)) = array_declarator(&s) {
            let inner = Box::new(Pattern::of(&format!("{elem}{dims}")));
            return match sigil {
                "*" => Pattern::Pointer(inner),
                _ => Pattern::Ref { rvalue: sigil == "&&", inner },
            };
        }
        for (sigil, rvalue) in [("&&", true), ("&", false)] {
            if let Some(inner) = s.strip_suffix(sigil) {
                return Pattern::Ref { rvalue, inner: Box::new(Pattern::of(inner)) };
            }
        }
        let s = strip_trailing_words(&s, &["const", "volatile"]);
        if let Some(inner) = s.strip_suffix('*') {
            return Pattern::Pointer(Box::new(Pattern::of(inner)));
        }
        if let Some(open) = canopy::model::last_array_bracket(&s) {
            let extent = s[open + 1..s.len() - 1].trim().to_string();
            let digits = !extent.is_empty() && extent.bytes().all(|b| b.is_ascii_digit());
            let count = extent.parse::<u64>().ok().filter(|_| digits);
            return Pattern::Array { element: Box::new(Pattern::of(&s[..open])), extent, count };
        }
        let s = strip_leading_words(&s, &["const", "volatile", "typename", "struct", "class", "enum"]);
        named(strip_trailing_words(&s, &["const", "volatile"]).trim().to_string())
    }

    /// Pointer, array and concrete type nodes: how specialized a parameter is (`T *` more than
    /// `T`), the template's own parameters `own` counting for nothing.
    fn specificity(&self, own: &[&str]) -> usize {
        match self {
            Pattern::Name(n) => usize::from(!own.contains(&n.as_str())),
            Pattern::Id { .. } => 1,
            Pattern::Ref { inner, .. } | Pattern::Pack(inner) => inner.specificity(own),
            Pattern::Pointer(inner) => inner.specificity(own) + 1,
            Pattern::Array { element, .. } => element.specificity(own) + 1,
        }
    }

    /// The pattern as the runtime reads it, each spelling in it with its pieces (`pieces`) for the
    /// template parameters `params`: `("name", "T", ("", "T", ""))`, `("ptr", p)`,
    /// `("ref", "&", p)`, `("array", p, "N", ("", "N", ""), count)` (`count` the number of
    /// elements when the extent is a literal, else None), `("pack", p)`; a template-id is a
    /// name with its parts, `("name", "complex<T>", pieces, ("complex", False, ["T"], [pieces]))`.
    pub(crate) fn to_py(&self, params: &[&str]) -> String {
        match self {
            Pattern::Name(n) => format!("(\"name\", {}, {})", py_str(n), pieces_py(n, params)),
            Pattern::Id { text, template, fully_qualified, args } => format!(
                "(\"name\", {}, {}, ({}, {}, [{}], [{}]))",
                py_str(text),
                pieces_py(text, params),
                py_str(template),
                if *fully_qualified { "True" } else { "False" },
                args.iter().map(|a| py_str(a)).collect::<Vec<_>>().join(", "),
                args.iter().map(|a| pieces_py(a, params)).collect::<Vec<_>>().join(", ")
            ),
            Pattern::Pointer(inner) => format!("(\"ptr\", {})", inner.to_py(params)),
            Pattern::Ref { rvalue, inner } => {
                format!("(\"ref\", \"{}\", {})", if *rvalue { "&&" } else { "&" }, inner.to_py(params))
            }
            Pattern::Array { element, extent, count } => {
                let count = count.map_or_else(|| "None".to_string(), |n| n.to_string());
                format!(
                    "(\"array\", {}, {}, {}, {count})",
                    element.to_py(params),
                    py_str(extent),
                    pieces_py(extent, params)
                )
            }
            Pattern::Pack(inner) => format!("(\"pack\", {})", inner.to_py(params)),
        }
    }
}

/// A spelling split at its references to the template parameters `params`: literal text and
/// parameter names alternating, starting and ending with literal text (`["const ", "T", " &"]`
/// for `const T &`). The runtime fills a spelling in by joining its pieces, a parameter's piece
/// replaced by the argument's spelling; it never searches the text. A name is a reference where it
/// is a whole identifier that is not a member (after `::`, `.` or `->`).
pub(crate) fn pieces(text: &str, params: &[&str]) -> Vec<String> {
    let mut out = vec![String::new()];
    let mut prev: Option<char> = None;
    let mut prev2: Option<char> = None;
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if starts_word(c) && !prev.is_some_and(|p| is_word(p) || p == ':' || p == '.') {
            let mut end = i + c.len_utf8();
            while let Some(&(j, d)) = chars.peek() {
                if !is_word(d) {
                    break;
                }
                end = j + d.len_utf8();
                chars.next();
            }
            let word = &text[i..end];
            let member = prev == Some('>') && prev2 == Some('-');
            if !member && params.contains(&word) {
                out.push(word.to_string());
                out.push(String::new());
            } else if let Some(last) = out.last_mut() {
                last.push_str(word);
            }
            let mut last = word.chars().rev();
            let before = prev;
            prev = last.next();
            prev2 = last.next().or(before);
            continue;
        }
        if let Some(last) = out.last_mut() {
            last.push(c);
        }
        prev2 = prev;
        prev = Some(c);
    }
    out
}

/// `pieces(text, params)` as a Python tuple.
pub(crate) fn pieces_py(text: &str, params: &[&str]) -> String {
    let items: Vec<String> = pieces(text, params).iter().map(|p| py_str(p)).collect();
    format!("({},)", items.join(", "))
}

/// The spelling of the value a parameter refers to: `T[N]` for `T (&)[N]`, `const T` for
/// `const T &`; a pack's `...` is dropped too.
pub(crate) fn value_spelling(spelling: &str) -> String {
    let s = norm(spelling);
    let s = s.strip_suffix("...").map(str::trim_end).unwrap_or(&s);
    if let Some((elem, sigil, dims)) = array_declarator(s) {
        if sigil != "*" {
            return format!("{elem}{dims}");
        }
    }
    for sigil in ["&&", "&"] {
        if let Some(inner) = s.strip_suffix(sigil) {
            return inner.trim_end().to_string();
        }
    }
    s.to_string()
}

/// Whether a return type is one the compiler works out once the callee is chosen: `auto`,
/// `decltype(...)`, a member type (`typename X<T>::type`) or an alias template
/// (`common_type_t<T, U>`).
pub(crate) fn return_type_is_deduced(spelling: &str) -> bool {
    let words = spelling.split(|c: char| !is_word(c));
    spelling.contains("::") || spelling.contains('<') || words.into_iter().any(|w| w == "auto" || w == "decltype")
}

/// The specificity of a callable: the sum over its parameters' patterns.
pub(crate) fn specificity(patterns: &[Pattern], own: &[&str]) -> usize {
    patterns.iter().map(|p| p.specificity(own)).sum()
}

/// Keywords a default argument may use: never qualified.
const KEYWORDS: &[&str] = &[
    "alignof",
    "auto",
    "bool",
    "char",
    "char16_t",
    "char32_t",
    "char8_t",
    "class",
    "const",
    "constexpr",
    "decltype",
    "double",
    "enum",
    "false",
    "float",
    "int",
    "long",
    "noexcept",
    "nullptr",
    "short",
    "signed",
    "sizeof",
    "static_cast",
    "struct",
    "true",
    "typename",
    "unsigned",
    "void",
    "volatile",
    "wchar_t",
];

/// Global names: keywords, and the scalar and CUDA vector type names of the scalar table
/// (`uint32_t`, `__half`, `float4`).
fn is_global_name(word: &str) -> bool {
    KEYWORDS.contains(&word) || scalar(word).is_some()
}

/// A default template argument as written inside namespace `scope`, made valid outside it. canopy
/// has written the names clang resolves fully qualified with a leading `::` (`::other::width`):
/// they lose that `::` and stay. Other unqualified names, but template parameters (`params`) and
/// global names, get `scope::` (`BLOCK_SCAN_RAKING` in `cub` becomes `cub::BLOCK_SCAN_RAKING`;
/// `uint32_t` stays). A name after `::`, `.` or `->` is a member and stays as written.
pub(crate) fn qualify_default(text: &str, scope: &str, params: &[&str]) -> String {
    let mut out = String::with_capacity(text.len());
    let mut prev: Option<char> = None;
    let mut prev2: Option<char> = None;
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        let head = !prev.is_some_and(|p| is_word(p) || p == ':' || p == '>' || p == ')' || p == ']');
        if c == ':' && head && text[i..].starts_with("::") {
            chars.next();
            prev2 = prev;
            prev = Some(':'); // the name after it is qualified
            continue;
        }
        if starts_word(c) && !prev.is_some_and(|p| is_word(p) || p == ':' || p == '.') {
            let mut end = i + c.len_utf8();
            while let Some(&(j, d)) = chars.peek() {
                if !is_word(d) {
                    break;
                }
                end = j + d.len_utf8();
                chars.next();
            }
            let word = &text[i..end];
            let member = prev == Some('>') && prev2 == Some('-');
            if member || scope.is_empty() || params.contains(&word) || is_global_name(word) {
                out.push_str(word);
            } else {
                out.push_str(scope);
                out.push_str("::");
                out.push_str(word);
            }
            let mut last = word.chars().rev();
            let before = prev;
            prev = last.next();
            prev2 = last.next().or(before);
            continue;
        }
        out.push(c);
        prev2 = prev;
        prev = Some(c);
    }
    out
}

/// The namespace (or class) a qualified name is declared in: `cub` for `cub::BlockScan`.
pub(crate) fn scope_of(qual_name: &str) -> &str {
    qual_name.rsplit_once("::").map(|(scope, _)| scope).unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The shape of a pattern, spellings without their pieces.
    fn shape(p: &Pattern) -> String {
        match p {
            Pattern::Name(n) => format!("(\"name\", {})", py_str(n)),
            Pattern::Id { text, template, fully_qualified, args } => format!(
                "(\"name\", {}, ({}, {}, [{}]))",
                py_str(text),
                py_str(template),
                if *fully_qualified { "True" } else { "False" },
                args.iter().map(|a| py_str(a)).collect::<Vec<_>>().join(", ")
            ),
            Pattern::Pointer(inner) => format!("(\"ptr\", {})", shape(inner)),
            Pattern::Ref { rvalue, inner } => {
                format!("(\"ref\", \"{}\", {})", if *rvalue { "&&" } else { "&" }, shape(inner))
            }
            Pattern::Array { element, extent, .. } => format!("(\"array\", {}, {})", shape(element), py_str(extent)),
            Pattern::Pack(inner) => format!("(\"pack\", {})", shape(inner)),
        }
    }

    fn py(s: &str) -> String {
        shape(&Pattern::of(s))
    }

    #[test]
    fn spellings_split_into_pieces_at_parameter_references() {
        let p = |s: &str| pieces(s, &["T", "N", "__nbst_self__"]);
        assert_eq!(p("const T &"), ["const ", "T", " &"]);
        assert_eq!(p("T"), ["", "T", ""]);
        assert_eq!(p("int"), ["int"]);
        assert_eq!(p("Tx<T, N>::T"), ["Tx<", "T", ", ", "N", ">::T"]);
        assert_eq!(p("x.T + p->N + sizeof(T)"), ["x.T + p->N + sizeof(", "T", ")"]);
        assert_eq!(p("typename __nbst_self__::TempStorage &"), ["typename ", "__nbst_self__", "::TempStorage &"]);
        assert_eq!(p("ns::T"), ["ns::T"]);
        // A name beyond ASCII is one word: `\u{e000}T` is not `T`, `\u{e000}T` as a parameter is found.
        assert_eq!(p("const \u{e000}T &"), ["const \u{e000}T &"]);
        assert_eq!(pieces("\u{e000}k *", &["\u{e000}k"]), ["", "\u{e000}k", " *"]);
        assert_eq!(
            Pattern::of("const T (&)[N]").to_py(&["T", "N"]),
            "(\"ref\", \"&\", (\"array\", (\"name\", \"T\", (\"\", \"T\", \"\",)), \"N\", (\"\", \"N\", \"\",), None))"
        );
        assert_eq!(
            Pattern::of("complex<T>").to_py(&["T"]),
            "(\"name\", \"complex<T>\", (\"complex<\", \"T\", \">\",), (\"complex\", False, [\"T\"], [(\"\", \"T\", \"\",)]))"
        );
    }

    #[test]
    fn patterns_of_dependent_spellings() {
        assert_eq!(py("T"), "(\"name\", \"T\")");
        assert_eq!(py("const T &"), "(\"ref\", \"&\", (\"name\", \"T\"))");
        assert_eq!(py("T &&"), "(\"ref\", \"&&\", (\"name\", \"T\"))");
        assert_eq!(py("const T *const"), "(\"ptr\", (\"name\", \"T\"))");
        assert_eq!(py("volatile T *"), "(\"ptr\", (\"name\", \"T\"))");
        assert_eq!(py("const T (&)[N]"), "(\"ref\", \"&\", (\"array\", (\"name\", \"T\"), \"N\"))");
        assert_eq!(py("int (*)[4]"), "(\"ptr\", (\"array\", (\"name\", \"int\"), \"4\"))");
        assert_eq!(py("T[2][N]"), "(\"array\", (\"array\", (\"name\", \"T\"), \"2\"), \"N\")");
        assert_eq!(py("Ts..."), "(\"pack\", (\"name\", \"Ts\"))");
        assert_eq!(py("const Ts &..."), "(\"pack\", (\"ref\", \"&\", (\"name\", \"Ts\")))");
        assert_eq!(
            py("typename cub::BlockScan<T, 128>::TempStorage &"),
            "(\"ref\", \"&\", (\"name\", \"cub::BlockScan<T, 128>::TempStorage\"))"
        );
        assert_eq!(py("const  unsigned   int"), "(\"name\", \"unsigned int\")");
        assert_eq!(py("constexpr_t"), "(\"name\", \"constexpr_t\")");
        assert_eq!(py("T[sizeof(U)]"), "(\"array\", (\"name\", \"T\"), \"sizeof(U)\")");
        assert_eq!(
            py("const complex<T> &"),
            "(\"ref\", \"&\", (\"name\", \"complex<T>\", (\"complex\", False, [\"T\"])))"
        );
        assert_eq!(
            py("::cuda::std::pair<pair<T, U>, int(*)(int, int)>"),
            "(\"name\", \"::cuda::std::pair<pair<T, U>, int(*)(int, int)>\", \
             (\"cuda::std::pair\", True, [\"pair<T, U>\", \"int(*)(int, int)\"]))"
        );
        assert_eq!(py("X<T>::type"), "(\"name\", \"X<T>::type\")");
        assert_eq!(py("a<b>::c<d>"), "(\"name\", \"a<b>::c<d>\")");
    }

    #[test]
    fn patterns_of_structures() {
        use canopy::model::TemplateId;
        let param = |n: &str| TypeNode::Param { name: n.into(), depth: 0, index: 0, is_const: true };
        let arr = TypeNode::Ref {
            rvalue: false,
            referee: Box::new(TypeNode::Array {
                element: Box::new(param("T")),
                extent: Extent::Param { name: "N".into() },
            }),
        };
        assert_eq!(shape(&Pattern::of_structure(&arr)), py("const T (&)[N]"));
        let pack =
            TypeNode::Pack { pattern: Box::new(TypeNode::Pointer { pointee: Box::new(param("Ts")), is_const: false }) };
        assert_eq!(shape(&Pattern::of_structure(&pack)), py("Ts *..."));
        let id = TypeNode::Named {
            spelling: "complex<T>".into(),
            template: Some(TemplateId {
                template: "ns::complex".into(),
                args: vec![TemplateArg::Type { node: param("T"), spelling: "T".into() }],
            }),
            is_const: false,
        };
        assert_eq!(shape(&Pattern::of_structure(&id)), "(\"name\", \"complex<T>\", (\"ns::complex\", True, [\"T\"]))");
        let member = TypeNode::SelfMember { member: "TempStorage".into(), is_const: false };
        assert_eq!(Pattern::of_structure(&member), Pattern::Name("__nbst_self__::TempStorage".into()));
        let four = TypeNode::Array { element: Box::new(param("T")), extent: Extent::Literal { value: 4 } };
        assert_eq!(specificity(&[Pattern::of_structure(&four)], &["T"]), 1);
    }

    #[test]
    fn value_spellings_drop_the_reference_and_the_pack() {
        assert_eq!(value_spelling("const T &"), "const T");
        assert_eq!(value_spelling("T &&"), "T");
        assert_eq!(value_spelling("const T (&)[N]"), "const T[N]");
        assert_eq!(value_spelling("Ts &&..."), "Ts");
        assert_eq!(value_spelling("int (*)[4]"), "int (*)[4]");
        assert_eq!(value_spelling("T *"), "T *");
    }

    #[test]
    fn specificity_counts_pointers_arrays_and_concrete_types() {
        let pats: Vec<Pattern> = ["T *", "const int &", "U (&)[N]", "Ts..."].iter().map(|s| Pattern::of(s)).collect();
        assert_eq!(specificity(&pats, &["T", "U", "N", "Ts"]), 1 + 1 + 1);
        assert_eq!(specificity(&[Pattern::of("T")], &["T"]), 0);
        assert_eq!(specificity(&[Pattern::of("T")], &[]), 1);
    }

    #[test]
    fn defaults_are_qualified_for_use_outside_their_namespace() {
        assert_eq!(qualify_default("uint32_t", "cub", &[]), "uint32_t");
        assert_eq!(qualify_default("BLOCK_SCAN_RAKING", "cub", &[]), "cub::BLOCK_SCAN_RAKING");
        assert_eq!(qualify_default("sizeof(KeyT) * 8", "cub", &["KeyT"]), "sizeof(KeyT) * 8");
        assert_eq!(qualify_default("Traits<T>::value", "lib", &["T"]), "lib::Traits<T>::value");
        assert_eq!(qualify_default("x.y + p->q + 8u", "ns", &["x", "p"]), "x.y + p->q + 8u");
        assert_eq!(qualify_default("float4", "ns", &[]), "float4");
        assert_eq!(qualify_default("uint_fast16_t", "ns", &[]), "uint_fast16_t");
        assert_eq!(qualify_default("Mode::A", "", &[]), "Mode::A");
        assert_eq!(qualify_default("int5", "ns", &[]), "ns::int5");
        // Names canopy resolved come fully qualified from the global namespace.
        assert_eq!(qualify_default("::other::width + W", "outer", &[]), "other::width + outer::W");
        assert_eq!(qualify_default("Box<::other::K, (::a::n)>", "outer", &[]), "outer::Box<other::K, (a::n)>");
        assert_eq!(qualify_default("::cuda::std::dynamic_extent", "", &[]), "cuda::std::dynamic_extent");
        assert_eq!(qualify_default("Traits<T>::value", "lib", &["T"]), "lib::Traits<T>::value");
        assert_eq!(qualify_default("hà + x->é", "ns", &[]), "ns::hà + ns::x->é");
    }

    #[test]
    fn deduced_return_types() {
        assert!(return_type_is_deduced("auto"));
        assert!(return_type_is_deduced("decltype(x * 2.0)"));
        assert!(return_type_is_deduced("typename X<T>::type"));
        assert!(!return_type_is_deduced("const T &"));
        assert!(!return_type_is_deduced("automaton"));
    }

    #[test]
    fn scopes() {
        assert_eq!(scope_of("cub::BlockScan"), "cub");
        assert_eq!(scope_of("a::b::f"), "a::b");
        assert_eq!(scope_of("f"), "");
    }
}
