//! C++ types -> Numba type expressions in generated Python, and the C++ spelling used in shims.

use std::collections::BTreeMap;

use canopy::model::{RefKind, Type, TypeShape};

/// C++ scalar spellings and the Numba type each names (a `numba.types` attribute, or a CUDA vector
/// type `float32x4`): the one table of them. The runtime's copy (`_typing._CXX_SCALARS`) is
/// generated from it (`python_scalar_table`) and kept in step by a test; `ast_canopy` reads it
/// through `_core`. The first spelling of each Numba type is how C++ spells that type.
pub const SCALARS: &[(&str, &str)] = &[
    ("bool", "boolean"),
    ("signed char", "int8"),
    ("unsigned char", "uint8"),
    ("short", "int16"),
    ("unsigned short", "uint16"),
    ("int", "int32"),
    ("unsigned int", "uint32"),
    ("long long", "int64"),
    ("unsigned long long", "uint64"),
    ("__half", "float16"),
    ("float", "float32"),
    ("double", "float64"),
    ("__nv_bfloat16", "bfloat16"),
    ("char", "int8"),
    ("short int", "int16"),
    ("unsigned short int", "uint16"),
    ("signed", "int32"),
    ("signed int", "int32"),
    ("unsigned", "uint32"),
    ("long", "int64"),
    ("long int", "int64"),
    ("unsigned long", "uint64"),
    ("unsigned long int", "uint64"),
    ("long long int", "int64"),
    ("unsigned long long int", "uint64"),
    ("half", "float16"),
    ("nv_bfloat16", "bfloat16"),
    ("size_t", "uint64"),
    ("ptrdiff_t", "int64"),
    ("int8_t", "int8"),
    ("int16_t", "int16"),
    ("int32_t", "int32"),
    ("int64_t", "int64"),
    ("uint8_t", "uint8"),
    ("uint16_t", "uint16"),
    ("uint32_t", "uint32"),
    ("uint64_t", "uint64"),
    ("int_least8_t", "int8"),
    ("int_least16_t", "int16"),
    ("int_least32_t", "int32"),
    ("int_least64_t", "int64"),
    ("uint_least8_t", "uint8"),
    ("uint_least16_t", "uint16"),
    ("uint_least32_t", "uint32"),
    ("uint_least64_t", "uint64"),
    // The fast types as glibc defines them for 64-bit Linux (the device follows the host's ABI).
    ("int_fast8_t", "int8"),
    ("int_fast16_t", "int64"),
    ("int_fast32_t", "int64"),
    ("int_fast64_t", "int64"),
    ("uint_fast8_t", "uint8"),
    ("uint_fast16_t", "uint64"),
    ("uint_fast32_t", "uint64"),
    ("uint_fast64_t", "uint64"),
    ("intmax_t", "int64"),
    ("uintmax_t", "uint64"),
    ("intptr_t", "int64"),
    ("uintptr_t", "uint64"),
];

/// CUDA vector type prefixes and their element's Numba type: `float4` is `float32x4`.
const VECTOR_ELEMENTS: &[(&str, &str)] = &[
    ("char", "int8"),
    ("uchar", "uint8"),
    ("short", "int16"),
    ("ushort", "uint16"),
    ("int", "int32"),
    ("uint", "uint32"),
    ("longlong", "int64"),
    ("ulonglong", "uint64"),
    ("long", "int64"),
    ("ulong", "uint64"),
    ("float", "float32"),
    ("double", "float64"),
];

/// The Numba type a C++ scalar or CUDA vector type name names: `int32` for `int`, `float32x4`
/// for `float4`.
pub fn scalar(name: &str) -> Option<String> {
    if let Some((_, numba)) = SCALARS.iter().find(|(cxx, _)| *cxx == name) {
        return Some((*numba).to_string());
    }
    // (`strip_suffix` rather than splitting at a byte index: names may end in non-ASCII.)
    let (base, n) = ["1", "2", "3", "4"].into_iter().find_map(|n| name.strip_suffix(n).map(|base| (base, n)))?;
    let (_, elem) = VECTOR_ELEMENTS.iter().find(|(b, _)| *b == base)?;
    Some(format!("{elem}x{n}"))
}

/// The runtime's scalar table as Python source: `_CXX_SCALARS`, C++ spelling -> Numba type name
/// (scalars, then the CUDA vector types).
pub fn python_scalar_table() -> String {
    let vectors = VECTOR_ELEMENTS
        .iter()
        .flat_map(|(base, elem)| (1..=4).map(move |n| (format!("{base}{n}"), format!("{elem}x{n}"))));
    let entries: Vec<String> = SCALARS
        .iter()
        .map(|(cxx, numba)| (cxx.to_string(), numba.to_string()))
        .chain(vectors)
        .map(|(cxx, numba)| format!("\"{cxx}\": \"{numba}\","))
        .collect();
    let mut s = String::from(SCALAR_TABLE_BEGIN);
    s.push_str("_CXX_SCALARS = {\n");
    let mut line = String::from("   ");
    for e in entries {
        if line.len() + 1 + e.len() > 110 {
            s.push_str(&line);
            s.push('\n');
            line = String::from("   ");
        }
        line.push(' ');
        line.push_str(&e);
    }
    s.push_str(&line);
    s.push_str("\n}  # fmt: skip\n");
    s.push_str(SCALAR_TABLE_END);
    s
}

/// The lines around the generated table in `python/numbast/_typing.py`.
pub const SCALAR_TABLE_BEGIN: &str =
    "# C++ scalar spellings -> Numba type names: generated from crates/bindgen/src/types.rs (SCALARS).\n";
pub const SCALAR_TABLE_END: &str = "# (end of the generated scalar table)\n";

/// C++ names with a fixed Numba counterpart, before any user binding: CUDA's half and bfloat16
/// types, `dim3` and the CUDA vector types (records in CUDA's headers).
fn builtin(name: &str) -> Option<String> {
    if name == "dim3" {
        // Three `unsigned int`s in C++ and three 32-bit integers in numba-cuda (`cuda.blockDim`).
        return Some("_cuda_types.dim3".into());
    }
    let numba = scalar(name)?;
    Some(match numba.as_str() {
        "bfloat16" => "_cuda_types.bfloat16".into(),
        v if v.contains('x') => format!("_vector_types[\"{v}\"]"),
        v => format!("types.{v}"),
    })
}

/// The C++ spelling of a type in shim code: qualified, without the `(anonymous namespace)::`
/// component clang prints (members of an anonymous namespace are reachable from the enclosing one).
pub fn cxx(name: &str) -> String {
    name.replace("(anonymous namespace)::", "")
}

/// Types the caller already bound or registered: C++ spelling -> Python expression.
#[derive(Debug, Clone, Default)]
pub struct KnownTypes {
    map: BTreeMap<String, String>,
}

impl KnownTypes {
    pub fn insert(&mut self, cxx_name: &str, expr: String) {
        self.map.insert(cxx(cxx_name), expr);
    }

    pub fn get(&self, cxx_name: &str) -> Option<&String> {
        self.map.get(&cxx(cxx_name))
    }

    pub fn contains(&self, cxx_name: &str) -> bool {
        self.get(cxx_name).is_some()
    }
}

/// The Numba type expression for a value of type `t` (references and qualifiers ignored), or the
/// reason it has none. `Ok(None)` is `void`.
pub fn numba_type(t: &Type, known: &KnownTypes) -> Result<Option<String>, String> {
    let name = cxx(&t.unqualified_non_ref_type_name);
    if let Some(e) = known.get(&name) {
        return Ok(Some(e.clone()));
    }
    let expr = match &t.shape {
        TypeShape::Void => return Ok(None),
        TypeShape::Bool => "types.boolean".to_string(),
        TypeShape::Int { size, signed } => {
            let bits = size * 8;
            if !matches!(bits, 8 | 16 | 32 | 64) {
                return Err(format!("unsupported integer type `{name}`"));
            }
            format!("types.{}int{bits}", if *signed { "" } else { "u" })
        }
        TypeShape::Float { size } => match size {
            2 => "types.float16".into(),
            4 => "types.float32".into(),
            8 => "types.float64".into(),
            _ => return Err(format!("unsupported floating-point type `{name}`")),
        },
        TypeShape::Pointer { pointee } => match numba_type(pointee, known) {
            Ok(None) => "types.voidptr".into(),
            Ok(Some(p)) => format!("types.CPointer({p})"),
            Err(e) => return Err(e),
        },
        TypeShape::Array { element, len } if *len >= 0 => match numba_type(element, known)? {
            Some(e) => format!("types.UniTuple({e}, {len})"),
            None => return Err(format!("array of void `{name}`")),
        },
        TypeShape::Record { .. } | TypeShape::Enum { .. } => match builtin(&name) {
            Some(e) => e,
            None => return Err(format!("unknown type `{name}`")),
        },
        TypeShape::Dependent => return Err(format!("dependent type `{name}`")),
        _ => return Err(format!("unsupported type `{name}`")),
    };
    Ok(Some(expr))
}

/// The spelling of `t` without its reference, cv-qualifiers kept (`const float *` for a
/// `const float *const &`... minus the reference): the type a shim constructs a result as, and the
/// pointee of a parameter pointer, so that `const T *` values and `const T **` parameters compile.
pub fn value_spelling(t: &Type) -> String {
    let name = cxx(&t.name);
    match t.ref_kind {
        RefKind::None => name,
        _ => name.trim_end().trim_end_matches('&').trim_end().to_string(),
    }
}

fn pointer_to(base: &str) -> String {
    if base.ends_with('*') {
        format!("{base}*")
    } else {
        format!("{base} *")
    }
}

/// The pointer type a shim takes for its result: unqualified, so it converts to `void *`.
pub fn shim_result_pointer(t: &Type) -> String {
    pointer_to(&cxx(&t.unqualified_non_ref_type_name))
}

/// The pointer type a shim takes for a parameter of type `t`.
pub fn shim_pointer(t: &Type) -> String {
    pointer_to(&value_spelling(t))
}

/// How a shim passes its `i`th pointer parameter on to the C++ callee.
pub fn shim_argument(t: &Type, i: usize) -> String {
    match t.ref_kind {
        RefKind::Rvalue => format!("static_cast<{} &&>(*__nbst_a{i})", value_spelling(t)),
        _ => format!("*__nbst_a{i}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ty(name: &str, unqualified: &str, ref_kind: RefKind) -> Type {
        Type {
            name: name.into(),
            unqualified_non_ref_type_name: unqualified.into(),
            ref_kind,
            is_const: false,
            shape: TypeShape::Other,
            structure: None,
        }
    }

    #[test]
    fn shim_spellings_keep_constness_but_not_references() {
        let t = ty("const float *const &", "float *", RefKind::Lvalue);
        assert_eq!(value_spelling(&t), "const float *const");
        assert_eq!(shim_pointer(&t), "const float *const *");
        assert_eq!(shim_result_pointer(&t), "float **");
        let r = ty("const lib::(anonymous namespace)::V &&", "lib::(anonymous namespace)::V", RefKind::Rvalue);
        assert_eq!(shim_argument(&r, 2), "static_cast<const lib::V &&>(*__nbst_a2)");
        assert_eq!(shim_pointer(&ty("const char **", "char **", RefKind::None)), "const char ***");
    }

    #[test]
    fn scalar_names() {
        assert_eq!(scalar("unsigned long long").as_deref(), Some("uint64"));
        assert_eq!(scalar("uint_fast16_t").as_deref(), Some("uint64"));
        assert_eq!(scalar("ulonglong2").as_deref(), Some("uint64x2"));
        assert_eq!(scalar("float5"), None);
        assert_eq!(scalar("café"), None);
    }

    /// The runtime's copy of the table is the generated one (`UPDATE_EXPECTED=1` rewrites it).
    #[test]
    fn runtime_scalar_table_is_current() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../python/numbast/_typing.py");
        let text = std::fs::read_to_string(path).unwrap();
        let begin = text.find(SCALAR_TABLE_BEGIN).expect("the runtime has the generated scalar table");
        let end = text[begin..].find(SCALAR_TABLE_END).expect("the table's end line") + begin + SCALAR_TABLE_END.len();
        let table = python_scalar_table();
        if text[begin..end] != table && std::env::var_os("UPDATE_EXPECTED").is_some() {
            std::fs::write(path, format!("{}{table}{}", &text[..begin], &text[end..])).unwrap();
            return;
        }
        assert_eq!(text[begin..end], table, "run with UPDATE_EXPECTED=1 to regenerate");
    }

    #[test]
    fn unknown_records_with_non_ascii_names_are_reported_not_a_panic() {
        let mut t = ty("café", "café", RefKind::None);
        t.shape = TypeShape::Record { size: 4, align: 4 };
        assert_eq!(numba_type(&t, &KnownTypes::default()), Err("unknown type `café`".to_string()));
        t.name = "float2".into();
        t.unqualified_non_ref_type_name = "float2".into();
        assert_eq!(numba_type(&t, &KnownTypes::default()).unwrap().unwrap(), "_vector_types[\"float32x2\"]");
    }
}
