//! C++ shim functions: one `extern "C" __device__ void` function per bound callable, taking a
//! pointer for the result and one per parameter, calling the C++ entity by its qualified name.
//! Shim parameters are named `__nbst_ret`, `__nbst_self`, `__nbst_a<i>`: names reserved to the
//! implementation, so no header's type or variable can shadow them.
//!
//! A template's shims are written when a kernel's call has chosen the template arguments, by the
//! template runtime, from the forms here (`TEMPLATE_SHIM_FORMS`, generated into
//! `python/numbast/_template_shim_forms.py`) and a name stem per overload (`template_shim_stem`).

use canopy::model::{Function, ParamVar, Type};

use crate::pyexpr::c_ident;
use crate::types::{cxx, shim_argument, shim_pointer, shim_result_pointer, value_spelling};

/// A shim symbol unique to the callable (by its mangled name or signature) and the shim unit.
pub fn shim_name(kind: &str, qual_name: &str, identity: &str, unit_tag: &str) -> String {
    let hash = blake3::hash(format!("{kind}\0{identity}\0{unit_tag}").as_bytes()).to_hex();
    let readable: String = c_ident(qual_name).chars().take(48).collect();
    format!("__nbst_{kind}_{readable}_{}", &hash[..12])
}

/// The name stem of a template overload's instantiation shims, unique to the overload (`identity`:
/// its location and spellings) and the shim unit: the runtime names the `k`-th instantiation it
/// writes `<stem>_<k>`, so that every shim name comes from this one hash.
pub fn template_shim_stem(kind: &str, qual_name: &str, identity: &str, unit_tag: &str) -> String {
    shim_name(&format!("tpl_{kind}"), qual_name, identity, unit_tag)
}

/// A template instantiation's shim as forms with holes (Python `str.format` fields), which the
/// template runtime fills with the spellings of the deduced types: the same convention as every
/// other shim (a pointer for the result, `self` and each parameter, reserved `__nbst_*` names),
/// written through helpers that take any spelling (`__nbst_ptr<T>` for `T *`, so that an array or
/// function type needs no declarator syntax).
pub const TEMPLATE_SHIM_FORMS: &[(&str, &str)] = &[
    ("shim", "extern \"C\" __device__ void {name}({params})\n{{\n    {body}\n}}\n"),
    ("guard", "#if {condition}\n{shim}#endif\n"),
    ("ret", "__nbst_ptr<{type}> __nbst_ret"),
    ("self", "__nbst_ptr<{type}> __nbst_self"),
    // A `const` method's object, so that a member overloaded on `const` calls the overload bound.
    ("self_const", "__nbst_ptr<const {type}> __nbst_self"),
    ("param", "__nbst_ptr<{type}> __nbst_a{index}"),
    ("arg", "*__nbst_a{index}"),
    ("arg_rvalue", "__nbst_move(*__nbst_a{index})"),
    // An inherited member's array argument: its data, which converts to the array reference or
    // pointer the member takes.
    ("arg_items", "__nbst_items({arg})"),
    // A user operator: its functor, constructed in the shim. The helpers (plain text, no holes) are
    // added to a shim unit once, ahead of its template shims.
    ("functor", "__nbst_lvalue({type}{{}})"),
    ("functor_rvalue", "{type}{{}}"),
    ("call", "{callee}({args})"),
    ("construct", "::new (static_cast<void *>(__nbst_ret)) {call};"),
    ("return", "::new (static_cast<void *>(__nbst_ret)) {type}({call});"),
    ("discard", "{call};"),
    (
        "helpers",
        "#ifndef NUMBAST_TEMPLATE_HELPERS\n#define NUMBAST_TEMPLATE_HELPERS\n\
         template <class T> using __nbst_ptr = T *;\n\
         template <class T> using __nbst_id = T;\n\
         template <class T> __device__ T &&__nbst_move(T &x) { return static_cast<T &&>(x); }\n\
         template <class T> struct __nbst_items_of {\n  T *p;\n\
         \x20 template <unsigned long long N> using ref = T (&)[N];\n\
         \x20 template <unsigned long long N> __device__ operator ref<N>() const \
         { return *reinterpret_cast<T (*)[N]>(p); }\n\
         \x20 __device__ operator T *() const { return p; }\n};\n\
         template <class T> __device__ __nbst_items_of<T> __nbst_items(T *p) { return {p}; }\n#endif\n",
    ),
    (
        "operator_helpers",
        "#ifndef NUMBAST_OPERATOR_HELPERS\n#define NUMBAST_OPERATOR_HELPERS\n\
         template <class T> __device__ T &__nbst_lvalue(T &&x) { return x; }\n#endif\n",
    ),
];

/// The first and last line of the template runtime's generated copy of `TEMPLATE_SHIM_FORMS`.
pub const SHIM_FORMS_BEGIN: &str =
    "# Template shim forms: generated from crates/bindgen/src/shim.rs (TEMPLATE_SHIM_FORMS).";
pub const SHIM_FORMS_END: &str = "# (end of the generated template shim forms)";

/// `TEMPLATE_SHIM_FORMS` as the template runtime's Python dict, between its marker lines.
pub fn python_template_shim_forms() -> String {
    let mut s = format!("{SHIM_FORMS_BEGIN}\nSHIM_FORMS = {{\n");
    for (name, form) in TEMPLATE_SHIM_FORMS {
        let mut text = crate::pyexpr::py_str(form);
        if form.contains('"') && !form.contains('\'') {
            // As the formatter writes it: single quotes rather than escaped double quotes.
            text = format!("'{}'", text[1..text.len() - 1].replace("\\\"", "\""));
        }
        s.push_str(&format!("    {}: {text},\n", crate::pyexpr::py_str(name)));
    }
    s.push_str("}\n");
    s.push_str(SHIM_FORMS_END);
    s
}

fn signature(ret: Option<&Type>, self_ty: Option<&str>, params: &[ParamVar]) -> String {
    let mut parts = Vec::new();
    if let Some(r) = ret {
        parts.push(format!("{}__nbst_ret", shim_result_pointer(r)));
    }
    if let Some(s) = self_ty {
        parts.push(format!("{s} *__nbst_self"));
    }
    for (i, p) in params.iter().enumerate() {
        parts.push(format!("{}__nbst_a{i}", shim_pointer(&p.type_)));
    }
    parts.join(", ")
}

fn arguments(params: &[ParamVar]) -> String {
    params.iter().enumerate().map(|(i, p)| shim_argument(&p.type_, i)).collect::<Vec<_>>().join(", ")
}

fn body(ret: Option<&Type>, call: &str) -> String {
    match ret {
        None => format!("{call};"),
        Some(r) => {
            format!("::new (static_cast<void *>(__nbst_ret)) {}({call});", value_spelling(r))
        }
    }
}

fn wrap(name: &str, sig: &str, body: &str) -> String {
    format!("extern \"C\" __device__ void {name}({sig})\n{{\n    {body}\n}}\n")
}

fn non_void(t: &Type) -> Option<&Type> {
    (t.unqualified_non_ref_type_name != "void").then_some(t)
}

/// A free function or free operator.
pub fn function_shim(name: &str, f: &Function) -> String {
    let ret = non_void(&f.return_type);
    let call = format!("::{}({})", cxx(&f.qual_name), arguments(&f.params));
    wrap(name, &signature(ret, None, &f.params), &body(ret, &call))
}

/// A member operator, as a free function whose first parameter is the object. The object of a
/// `const` member is a `const` pointer, so that the call chooses that member where the class
/// overloads it on `const` (`T &at(int)` and `const T &at(int) const`) as the binding did.
pub fn member_operator_shim(name: &str, struct_qual: &str, m: &Function, is_const: bool) -> String {
    let ret = non_void(&m.return_type);
    let call = format!("__nbst_self->{}({})", m.name, arguments(&m.params));
    let object = format!("{}::{}", if is_const { "const " } else { "" }, cxx(struct_qual));
    wrap(name, &signature(ret, Some(&object), &m.params), &body(ret, &call))
}

/// A non-static member function (`const` or not: see `member_operator_shim`).
pub fn method_shim(name: &str, struct_qual: &str, m: &Function, is_const: bool) -> String {
    member_operator_shim(name, struct_qual, m, is_const)
}

/// A static member function.
pub fn static_method_shim(name: &str, struct_qual: &str, m: &Function) -> String {
    let ret = non_void(&m.return_type);
    let call = format!("::{}::{}({})", cxx(struct_qual), m.name, arguments(&m.params));
    wrap(name, &signature(ret, None, &m.params), &body(ret, &call))
}

/// A constructor, constructing into the result pointer: `T(args)`, or for an aggregate (a struct
/// without declared constructors) `T{args}`, which value-initializes the fields left out.
pub fn constructor_shim(name: &str, struct_qual: &str, m: &Function, aggregate: bool) -> String {
    let s = format!("::{}", cxx(struct_qual));
    let mut sig = format!("{s} *__nbst_ret");
    let rest = signature(None, None, &m.params);
    if !rest.is_empty() {
        sig.push_str(", ");
        sig.push_str(&rest);
    }
    let (open, close) = if aggregate { ('{', '}') } else { ('(', ')') };
    let body = format!("::new (static_cast<void *>(__nbst_ret)) {s}{open}{}{close};", arguments(&m.params));
    wrap(name, &sig, &body)
}

/// A conversion operator `operator T() const` (or without `const`).
pub fn conversion_shim(name: &str, struct_qual: &str, m: &Function, is_const: bool) -> String {
    member_operator_shim(name, struct_qual, m, is_const)
}

/// C++'s keywords and alternative tokens: never a type's or a function's name.
pub const CXX_KEYWORDS: &[&str] = &[
    "alignas",
    "alignof",
    "and",
    "and_eq",
    "asm",
    "auto",
    "bitand",
    "bitor",
    "bool",
    "break",
    "case",
    "catch",
    "char",
    "char8_t",
    "char16_t",
    "char32_t",
    "class",
    "compl",
    "concept",
    "const",
    "consteval",
    "constexpr",
    "constinit",
    "const_cast",
    "continue",
    "co_await",
    "co_return",
    "co_yield",
    "decltype",
    "default",
    "delete",
    "do",
    "double",
    "dynamic_cast",
    "else",
    "enum",
    "explicit",
    "export",
    "extern",
    "false",
    "float",
    "for",
    "friend",
    "goto",
    "if",
    "inline",
    "int",
    "long",
    "mutable",
    "namespace",
    "new",
    "noexcept",
    "not",
    "not_eq",
    "nullptr",
    "operator",
    "or",
    "or_eq",
    "private",
    "protected",
    "public",
    "register",
    "reinterpret_cast",
    "requires",
    "return",
    "short",
    "signed",
    "sizeof",
    "static",
    "static_assert",
    "static_cast",
    "struct",
    "switch",
    "template",
    "this",
    "thread_local",
    "throw",
    "true",
    "try",
    "typedef",
    "typeid",
    "typename",
    "union",
    "unsigned",
    "using",
    "virtual",
    "void",
    "volatile",
    "wchar_t",
    "while",
    "xor",
    "xor_eq",
];

#[cfg(test)]
mod tests {
    use super::*;

    /// The template runtime's copy of the forms is the generated one (`UPDATE_EXPECTED=1`
    /// rewrites it).
    #[test]
    fn runtime_template_shim_forms_are_current() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../python/numbast/_template_shim_forms.py");
        let text = std::fs::read_to_string(path).unwrap();
        let begin = text.find(SHIM_FORMS_BEGIN).expect("the template runtime has the generated forms");
        let end = text[begin..].find(SHIM_FORMS_END).expect("the forms' end line") + begin + SHIM_FORMS_END.len();
        let forms = python_template_shim_forms();
        if text[begin..end] != forms && std::env::var_os("UPDATE_EXPECTED").is_some() {
            std::fs::write(path, format!("{}{forms}{}", &text[..begin], &text[end..])).unwrap();
            return;
        }
        assert_eq!(text[begin..end], forms, "run with UPDATE_EXPECTED=1 to regenerate");
    }

    #[test]
    fn template_shim_stems_differ_by_overload_and_unit() {
        let a = template_shim_stem("fn", "lib::f", "a.cuh:3:5\0T", "unit1");
        assert!(a.starts_with("__nbst_tpl_fn_lib_f_"), "{a}");
        assert_ne!(a, template_shim_stem("fn", "lib::f", "a.cuh:4:5\0T", "unit1"));
        assert_ne!(a, template_shim_stem("fn", "lib::f", "a.cuh:3:5\0T", "unit2"));
    }
}
