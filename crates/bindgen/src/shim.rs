//! C++ shim functions: one `extern "C" __device__ void` function per bound callable, taking a
//! pointer for the result and one per parameter, calling the C++ entity by its qualified name.
//! Shim parameters are named `__nbst_ret`, `__nbst_self`, `__nbst_a<i>`: names reserved to the
//! implementation, so no header's type or variable can shadow them.

use canopy::model::{Function, ParamVar, Type};

use crate::pyexpr::c_ident;
use crate::types::{cxx, shim_argument, shim_pointer, shim_result_pointer, value_spelling};

/// A shim symbol unique to the callable (by its mangled name or signature) and the shim unit.
pub fn shim_name(kind: &str, qual_name: &str, identity: &str, unit_tag: &str) -> String {
    let hash = blake3::hash(format!("{kind}\0{identity}\0{unit_tag}").as_bytes()).to_hex();
    let readable: String = c_ident(qual_name).chars().take(48).collect();
    format!("__nbst_{kind}_{readable}_{}", &hash[..12])
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

/// A member operator, as a free function whose first parameter is the object.
pub fn member_operator_shim(name: &str, struct_qual: &str, m: &Function) -> String {
    let ret = non_void(&m.return_type);
    let call = format!("__nbst_self->{}({})", m.name, arguments(&m.params));
    wrap(name, &signature(ret, Some(&format!("::{}", cxx(struct_qual))), &m.params), &body(ret, &call))
}

/// A non-static member function.
pub fn method_shim(name: &str, struct_qual: &str, m: &Function) -> String {
    member_operator_shim(name, struct_qual, m)
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

/// A conversion operator `operator T() const`.
pub fn conversion_shim(name: &str, struct_qual: &str, m: &Function) -> String {
    member_operator_shim(name, struct_qual, m)
}
