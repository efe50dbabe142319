//! Builds the model of a C++ type: canonical spellings with typedefs resolved (stdint names kept),
//! references and cv-qualifiers split off, and the shape that bindings need.

use crate::clang::{Type, TypeKind};
use crate::model::{RefKind, Type as TypeModel, TypeShape, UNKNOWN_LAYOUT};

/// Typedef names of `<stdint.h>` that stay as written instead of being resolved to their canonical
/// type (the shape still comes from the canonical type, which is what bindings map).
const STDINT_NAMES: &[&str] = &[
    "int8_t",
    "int16_t",
    "int32_t",
    "int64_t",
    "uint8_t",
    "uint16_t",
    "uint32_t",
    "uint64_t",
    "int_fast8_t",
    "int_fast16_t",
    "int_fast32_t",
    "int_fast64_t",
    "uint_fast8_t",
    "uint_fast16_t",
    "uint_fast32_t",
    "uint_fast64_t",
    "int_least8_t",
    "int_least16_t",
    "int_least32_t",
    "int_least64_t",
    "uint_least8_t",
    "uint_least16_t",
    "uint_least32_t",
    "uint_least64_t",
    "intmax_t",
    "uintmax_t",
    "intptr_t",
    "uintptr_t",
];

pub(crate) fn layout_or_unknown(v: i64) -> i64 {
    if v < 0 {
        UNKNOWN_LAYOUT
    } else {
        v
    }
}

pub(crate) fn void_type() -> TypeModel {
    TypeModel::void()
}

/// The spelling of a non-reference type without its top-level cv-qualifiers.
pub(crate) fn spell_unqualified(t: &Type) -> String {
    spell(t, false)
}

/// Whether `t` is a `<stdint.h>` typedef (`uint32_t`), which stays as written.
pub(crate) fn is_stdint_name(t: &Type) -> bool {
    stdint_name(t).is_some()
}

/// Builds the model of a type.
pub(crate) fn build_type(t: &Type) -> TypeModel {
    let (inner, ref_kind) = strip_reference(t);
    let spelled = spell(&inner, true);
    let bare = spell(&inner, false);
    let name = match ref_kind {
        RefKind::None => spelled,
        RefKind::Lvalue => reference_spelling(&spelled, "&"),
        RefKind::Rvalue => reference_spelling(&spelled, "&&"),
    };
    TypeModel {
        name,
        unqualified_non_ref_type_name: bare,
        ref_kind,
        is_const: inner.is_const(),
        shape: shape(&inner),
        structure: None,
    }
}

/// The type of a parameter: an array parameter is the pointer it decays to (`int v[4]` is `int *`),
/// which is what the function takes and how clang mangles it.
pub(crate) fn build_param_type(t: &Type) -> TypeModel {
    let canon = t.canonical();
    if !matches!(canon.kind(), TypeKind::ConstantArray | TypeKind::IncompleteArray) {
        return build_type(t);
    }
    let written = desugar(t);
    let element = if matches!(written.kind(), TypeKind::ConstantArray | TypeKind::IncompleteArray) {
        written.element()
    } else {
        canon.element()
    };
    let element = build_type(&element);
    TypeModel {
        name: pointer_spelling(&element.name),
        unqualified_non_ref_type_name: pointer_spelling(&element.unqualified_non_ref_type_name),
        ref_kind: RefKind::None,
        is_const: false,
        shape: TypeShape::Pointer { pointee: Box::new(element) },
        structure: None,
    }
}

/// `T &` for a referee spelled `T`; `const int (&)[4]` for an array referee `const int[4]`, the
/// declarator form C++ accepts in a shim's parameter list.
fn reference_spelling(referee: &str, sigil: &str) -> String {
    match referee.find('[') {
        Some(i) => {
            let (elem, dims) = referee.split_at(i);
            format!("{} ({sigil}){dims}", elem.trim_end())
        }
        None => format!("{referee} {sigil}"),
    }
}

/// `T *` for a pointee spelled `T`; `int (*)[4]` for an array pointee `int[4]`.
fn pointer_spelling(pointee: &str) -> String {
    if let Some(i) = pointee.find('[') {
        let (elem, dims) = pointee.split_at(i);
        format!("{} (*){dims}", elem.trim_end())
    } else if pointee.ends_with('*') {
        format!("{pointee}*")
    } else {
        format!("{pointee} *")
    }
}

/// The referenced type and the kind of reference, looking through typedefs of references.
fn strip_reference(t: &Type) -> (Type, RefKind) {
    match t.kind() {
        TypeKind::LValueRef => (t.pointee(), RefKind::Lvalue),
        TypeKind::RValueRef => (t.pointee(), RefKind::Rvalue),
        TypeKind::Elaborated => strip_reference(&t.named()),
        TypeKind::Typedef if matches!(t.canonical().kind(), TypeKind::LValueRef | TypeKind::RValueRef) => {
            strip_reference(&t.declaration().typedef_underlying())
        }
        _ => (*t, RefKind::None),
    }
}

fn desugar(t: &Type) -> Type {
    match t.kind() {
        TypeKind::Elaborated => desugar(&t.named()),
        _ => *t,
    }
}

fn stdint_name(t: &Type) -> Option<String> {
    let t = desugar(t);
    if t.kind() == TypeKind::Typedef {
        let name = t.typedef_name();
        let base = name.rsplit("::").next().unwrap_or(&name);
        if STDINT_NAMES.contains(&base) {
            return Some(base.to_string());
        }
        // A typedef of a stdint typedef (`typedef uint32_t word;`) resolves to the stdint name.
        return stdint_name(&t.declaration().typedef_underlying());
    }
    // A name brought in by a using-declaration (`using cuda::std::int32_t;`) is clang's Using type,
    // which libclang leaves unexposed, with no declaration to follow: its spelling is the name as
    // written. Only an integer canonical type can be a stdint name.
    if t.kind() == TypeKind::Dependent
        && matches!(t.canonical().kind(), TypeKind::SignedInt | TypeKind::UnsignedInt | TypeKind::Char)
    {
        let written = strip_cv(&t.spelling());
        let base = written.rsplit("::").next().unwrap_or(&written);
        if STDINT_NAMES.contains(&base) {
            return Some(base.to_string());
        }
    }
    None
}

/// clang spells entities of an anonymous namespace `ns::(anonymous namespace)::X`; C++ spells them
/// `ns::X`.
fn cxx_spelling(s: String) -> String {
    const ANON: &str = "(anonymous namespace)::";
    if s.contains(ANON) {
        s.replace(ANON, "")
    } else {
        s
    }
}

/// Spells a non-reference type: canonical, except stdint typedefs; with or without cv-qualifiers.
fn spell(t: &Type, with_cv: bool) -> String {
    if let Some(name) = stdint_name(t) {
        if !with_cv {
            return name;
        }
        let mut q = String::new();
        if t.is_const() {
            q.push_str("const ");
        }
        if t.is_volatile() {
            q.push_str("volatile ");
        }
        return format!("{q}{name}");
    }
    let canon = t.canonical();
    match canon.kind() {
        TypeKind::Pointer
            if !matches!(
                canon.pointee().kind(),
                TypeKind::FunctionProto | TypeKind::ConstantArray | TypeKind::IncompleteArray
            ) =>
        {
            let inner = spell(&pointee_preserving_stdint(t), with_cv);
            let mut s = pointer_spelling(&inner);
            if with_cv && canon.is_const() {
                s.push_str("const");
            }
            s
        }
        _ => {
            let cs = canon.spelling();
            // Dependent types have no useful canonical spelling (`type-parameter-0-0`): keep T.
            let s = cxx_spelling(if cs.contains("type-parameter") { t.spelling() } else { cs });
            if with_cv {
                s
            } else {
                strip_cv(&s)
            }
        }
    }
}

/// The pointee of `t`, looking through typedefs one step at a time so stdint names survive.
fn pointee_preserving_stdint(t: &Type) -> Type {
    let d = desugar(t);
    match d.kind() {
        TypeKind::Pointer => d.pointee(),
        TypeKind::Typedef => pointee_preserving_stdint(&d.declaration().typedef_underlying()),
        _ => d.canonical().pointee(),
    }
}

fn strip_cv(s: &str) -> String {
    let mut out = s;
    loop {
        match out.strip_prefix("const ").or_else(|| out.strip_prefix("volatile ")) {
            Some(rest) => out = rest,
            None => return out.to_string(),
        }
    }
}

fn shape(t: &Type) -> TypeShape {
    let c = t.canonical();
    match c.kind() {
        TypeKind::Void => TypeShape::Void,
        TypeKind::Bool => TypeShape::Bool,
        TypeKind::Char | TypeKind::SignedInt => TypeShape::Int { size: c.size_of().max(0) as u32, signed: true },
        TypeKind::UnsignedInt => TypeShape::Int { size: c.size_of().max(0) as u32, signed: false },
        TypeKind::Float => TypeShape::Float { size: c.size_of().max(0) as u32 },
        TypeKind::Pointer => TypeShape::Pointer { pointee: Box::new(build_type(&pointee_preserving_stdint(t))) },
        TypeKind::ConstantArray => TypeShape::Array { element: Box::new(build_type(&c.element())), len: c.array_len() },
        TypeKind::IncompleteArray => TypeShape::Array { element: Box::new(build_type(&c.element())), len: -1 },
        TypeKind::Record => {
            TypeShape::Record { size: layout_or_unknown(c.size_of()), align: layout_or_unknown(c.align_of()) }
        }
        TypeKind::Enum => TypeShape::Enum { size: layout_or_unknown(c.size_of()) },
        TypeKind::Dependent => TypeShape::Dependent,
        _ => {
            if c.spelling().contains("type-parameter") {
                TypeShape::Dependent
            } else {
                TypeShape::Other
            }
        }
    }
}
