//! Structs: the type and its data model, constructors, conversion operators, methods and member
//! operators.

use canopy::model::{AccessKind, Function, MethodKind, Struct, StructMethod};
use serde::Deserialize;

use super::function::{is_call_operator, no_python_operator, operator_symbol, params_spec, python_operator, ret_spec};
use super::{arities, call, registered_type_expr, Context, Rendered};
use crate::pyexpr::{py_ident, py_str};
use crate::shim::{
    constructor_shim, conversion_shim, member_operator_shim, method_shim, shim_name, static_method_shim,
};
use crate::types::{cxx, numba_type};

/// How to bind one struct.
#[derive(Debug, Clone, Deserialize)]
pub struct StructRequest {
    /// Python expression of the Numba type class to derive from (`types.Type`, `types.Number`...).
    pub parent: String,
    /// `primitive`, `struct`, or `auto`: `struct` where the fields describe the layout, else
    /// `primitive` (opaque bytes of clang's size and alignment), with the reason in the report.
    pub model: String,
    /// Python name; defaults to the C++ name.
    #[serde(default)]
    pub py_name: Option<String>,
    /// Other C++ names (typedefs) of the same type.
    #[serde(default)]
    pub aliases: Vec<String>,
}

fn fields_spec(ctx: &Context, s: &Struct) -> Result<String, String> {
    let mut items = Vec::new();
    let mut previous: Option<&canopy::model::Field> = None;
    for f in &s.fields {
        if f.offset < 0 {
            return Err(format!("field `{}` is a bit-field or has no known offset; use PrimitiveModel", f.name));
        }
        if let Some(p) = previous.filter(|p| f.offset <= p.offset) {
            return Err(format!(
                "field `{}` overlaps field `{}` (a union or anonymous union member); use PrimitiveModel",
                f.name, p.name
            ));
        }
        previous = Some(f);
        let ty = numba_type(&f.type_, &ctx.known)
            .map_err(|e| format!("field `{}`: {e}; use PrimitiveModel or register the type", f.name))?
            .ok_or_else(|| format!("field `{}` has type void", f.name))?;
        let public = if f.access == AccessKind::Public { "True" } else { "False" };
        items.push(format!("({}, {ty}, {}, {public})", py_str(&f.name), f.offset));
    }
    Ok(format!("[{}]", items.join(", ")))
}

pub fn render_struct(ctx: &mut Context, s: &Struct, req: &StructRequest) -> Rendered {
    let mut out = Rendered::default();
    if s.sizeof_ < 0 || s.alignof_ < 0 {
        out.report.skip(
            "struct",
            &s.qual_name,
            &s.location,
            "size or alignment unknown (incomplete or dependent type)",
        );
        return out;
    }
    let mut opaque_reason = None;
    let model = match req.model.as_str() {
        "primitive" => "primitive",
        "struct" => "struct",
        "auto" => match fields_spec(ctx, s) {
            Ok(_) => "struct",
            Err(reason) => {
                opaque_reason = Some(reason);
                "primitive"
            }
        },
        other => {
            out.report.skip("struct", &s.qual_name, &s.location, format!("unknown data model `{other}`"));
            return out;
        }
    };
    let fields = if model == "struct" {
        match fields_spec(ctx, s) {
            Ok(f) => f,
            Err(reason) => {
                out.report.skip("struct", &s.qual_name, &s.location, reason);
                return out;
            }
        }
    } else {
        "[]".into()
    };
    let var = py_ident(req.py_name.as_deref().unwrap_or(&s.name));
    out.code.push_str(&format!("{var} = "));
    out.code.push_str(&call(
        "_b.struct",
        &[
            ("cxx_name", py_str(&cxx(&s.qual_name))),
            ("py_name", py_str(&var)),
            ("size", s.sizeof_.to_string()),
            ("align", s.alignof_.to_string()),
            ("parent", req.parent.clone()),
            ("model", py_str(model)),
            ("fields", fields),
        ],
    ));
    out.report.bind("struct", &s.qual_name, &var);
    if let Some(reason) = opaque_reason {
        out.report.note_last(format!("opaque: {}", reason.split("; use PrimitiveModel").next().unwrap_or(&reason)));
    }
    ctx.known.insert(&s.qual_name, registered_type_expr(&s.qual_name));
    for alias in &req.aliases {
        out.code.push_str(&format!("_b.types[{}] = _b.types[{}]\n", py_str(&cxx(alias)), py_str(&cxx(&s.qual_name))));
        ctx.known.insert(alias, registered_type_expr(&s.qual_name));
        out.report.bind("alias", alias, "");
    }
    for m in &s.methods {
        render_member(ctx, s, &var, m, &mut out);
    }
    out.append(super::templates::render_member_templates(ctx, s, &var));
    out
}

/// Renders a member once per arity: as declared, then leaving out each trailing defaulted
/// parameter in turn (a shim per arity, so that C++ fills the defaults in). The report is the
/// declared one's; a member skipped as declared is skipped in every arity.
fn render_member(ctx: &Context, s: &Struct, var: &str, m: &StructMethod, out: &mut Rendered) {
    for (k, (f, suffix)) in arities(&m.function).into_iter().enumerate() {
        let mut one = Rendered::default();
        render_member_arity(ctx, s, var, m, &f, &suffix, &mut one);
        let bound = !one.report.bound.is_empty();
        if k == 0 {
            out.append(one);
        } else {
            out.code.push_str(&one.code);
        }
        if !bound {
            break;
        }
    }
}

fn render_member_arity(
    ctx: &Context,
    s: &Struct,
    var: &str,
    m: &StructMethod,
    f: &Function,
    suffix: &str,
    out: &mut Rendered,
) {
    let full = format!("{}::{}", s.qual_name, f.name);
    let skip = |out: &mut Rendered, reason: String| out.report.skip("method", &full, &f.location, reason);
    if !matches!(f.exec_space, canopy::model::ExecutionSpace::Device | canopy::model::ExecutionSpace::HostDevice) {
        return skip(out, "host-only member function".into());
    }
    // Intents are keyed by the struct's qualified or plain name, then the method's name.
    let struct_key = if ctx.intents.get(&s.qual_name).is_some() { &s.qual_name } else { &s.name };
    let path = [struct_key.as_str(), f.name.as_str()];
    let identity = format!("{}|{}{suffix}", f.mangled_name, full);
    let params = match params_spec(ctx, &path, &f.params) {
        Ok(p) => p,
        Err(reason) => return skip(out, reason),
    };
    match m.kind {
        MethodKind::Destructor => skip(out, "destructor: Numba values are plain data and are never destroyed".into()),
        MethodKind::MoveConstructor => skip(out, "move constructor: Numba passes values by copy".into()),
        MethodKind::DefaultConstructor
        | MethodKind::CopyConstructor
        | MethodKind::ConvertingConstructor
        | MethodKind::OtherConstructor => {
            let name = shim_name("ctor", &s.qual_name, &identity, &ctx.unit_tag);
            let implicit = m.kind == MethodKind::ConvertingConstructor && f.params.len() == 1;
            out.code.push_str(&call(
                "_b.constructor",
                &[
                    ("", var.to_string()),
                    ("unit", "_unit".into()),
                    ("shim", py_str(&name)),
                    ("src", py_str(&constructor_shim(&name, &s.qual_name, f))),
                    ("params", params),
                    ("implicit", if implicit { "True" } else { "False" }.into()),
                ],
            ));
            out.report.bind("constructor", &full, "");
        }
        MethodKind::ConversionFunction => {
            let to = match ret_spec(ctx, &f.return_type) {
                Ok(t) if t != "None" => t,
                Ok(_) => return skip(out, "conversion to void".into()),
                Err(reason) => return skip(out, reason),
            };
            let name = shim_name("conv", &full, &identity, &ctx.unit_tag);
            out.code.push_str(&call(
                "_b.conversion",
                &[
                    ("", var.to_string()),
                    ("unit", "_unit".into()),
                    ("shim", py_str(&name)),
                    ("src", py_str(&conversion_shim(&name, &s.qual_name, f))),
                    ("to", to),
                ],
            ));
            out.report.bind("conversion", &full, "");
        }
        MethodKind::Other => {
            if m.is_copy_assignment || m.is_move_assignment || operator_symbol(&f.name) == Some("=") {
                return skip(out, "assignment operator: Numba values are immutable".into());
            }
            if matches!(operator_symbol(&f.name), Some("++" | "--")) {
                return skip(out, "increment/decrement operator: Python has no ++ or --".into());
            }
            let ret = match ret_spec(ctx, &f.return_type) {
                Ok(r) => r,
                Err(reason) => return skip(out, reason),
            };
            if m.is_static {
                if f.is_operator {
                    return skip(out, "static operator: not bound".into());
                }
                let name = shim_name("static", &full, &identity, &ctx.unit_tag);
                out.code.push_str(&call(
                    "_b.static_method",
                    &[
                        ("", var.to_string()),
                        ("unit", "_unit".into()),
                        ("name", py_str(&f.name)),
                        ("shim", py_str(&name)),
                        ("src", py_str(&static_method_shim(&name, &s.qual_name, f))),
                        ("ret", ret),
                        ("params", params),
                    ],
                ));
                out.report.bind("static method", &full, &format!("{var}.{}", f.name));
                return;
            }
            if f.is_operator && !is_call_operator(&f.name) {
                let symbol = operator_symbol(&f.name).unwrap_or("");
                let Some(op) = python_operator(symbol, f.params.len() + 1) else {
                    return skip(out, no_python_operator(symbol, f.params.len() + 1));
                };
                let self_param = format!("({}, \"in\")", registered_type_expr(&s.qual_name));
                let params =
                    if params == "[]" { format!("[{self_param}]") } else { format!("[{self_param}, {}", &params[1..]) };
                let name = shim_name("op", &full, &identity, &ctx.unit_tag);
                out.code.push_str(&call(
                    "_b.operator",
                    &[
                        ("unit", "_unit".into()),
                        ("op", format!("operator.{op}")),
                        ("shim", py_str(&name)),
                        ("src", py_str(&member_operator_shim(&name, &s.qual_name, f))),
                        ("ret", ret),
                        ("params", params),
                    ],
                ));
                out.report.bind("operator", &full, "");
            } else {
                // The call operator is `x(...)` in a kernel: the method Python calls a value through.
                let py_method = if is_call_operator(&f.name) { "__call__" } else { f.name.as_str() };
                let name = shim_name("method", &full, &identity, &ctx.unit_tag);
                out.code.push_str(&call(
                    "_b.method",
                    &[
                        ("", var.to_string()),
                        ("unit", "_unit".into()),
                        ("name", py_str(py_method)),
                        ("shim", py_str(&name)),
                        ("src", py_str(&method_shim(&name, &s.qual_name, f))),
                        ("ret", ret),
                        ("params", params),
                    ],
                ));
                out.report.bind("method", &full, py_method);
            }
        }
    }
}
