//! C++ types -> Numba type expressions in generated Python, and the C++ spelling used in shims.

use std::collections::BTreeMap;

use canopy::model::{RefKind, Type, TypeShape};

/// C++ names with a fixed Numba counterpart, before any user binding: CUDA's half and bfloat16
/// types and the CUDA vector types.
fn builtin(name: &str) -> Option<String> {
    match name {
        "__half" | "half" => return Some("types.float16".into()),
        "__nv_bfloat16" | "nv_bfloat16" => return Some("_cuda_types.bfloat16".into()),
        // Three `unsigned int`s in C++ and three 32-bit integers in numba-cuda (`cuda.blockDim`).
        "dim3" => return Some("_cuda_types.dim3".into()),
        _ => {}
    }
    // CUDA vector types: float2 -> float32x2, uchar4 -> uint8x4, longlong2 -> int64x2 ...
    // (`strip_suffix` rather than splitting at a byte index: names may end in non-ASCII.)
    let (base, n) = ["1", "2", "3", "4"].into_iter().find_map(|n| name.strip_suffix(n).map(|base| (base, n)))?;
    let elem = match base {
        "char" => "int8",
        "uchar" => "uint8",
        "short" => "int16",
        "ushort" => "uint16",
        "int" => "int32",
        "uint" => "uint32",
        "long" | "longlong" => "int64",
        "ulong" | "ulonglong" => "uint64",
        "float" => "float32",
        "double" => "float64",
        _ => return None,
    };
    Some(format!("_vector_types[\"{elem}x{n}\"]"))
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
    fn unknown_records_with_non_ascii_names_are_reported_not_a_panic() {
        let mut t = ty("café", "café", RefKind::None);
        t.shape = TypeShape::Record { size: 4, align: 4 };
        assert_eq!(numba_type(&t, &KnownTypes::default()), Err("unknown type `café`".to_string()));
        t.name = "float2".into();
        t.unqualified_non_ref_type_name = "float2".into();
        assert_eq!(numba_type(&t, &KnownTypes::default()).unwrap().unwrap(), "_vector_types[\"float32x2\"]");
    }
}
