//! Structs: the type and its data model, constructors, conversion operators, methods and member
//! operators.

use canopy::model::{
    AccessKind, ExecutionSpace, Function, MethodKind, ParamVar, RefKind, Struct, StructMethod, Type, TypeShape,
};
use serde::Deserialize;

use super::function::{is_call_operator, no_python_operator, operator_symbol, params_spec, python_operator, ret_spec};
use super::{arities, call, registered_type_expr, Context, IntentPath, Rendered};
use crate::pyexpr::{py_ident, py_str};
use crate::report::{BindKind, Skip, SkipReason, Unbindable};
use crate::shim::{
    constructor_shim, conversion_shim, member_operator_shim, method_shim, shim_name, static_method_shim,
};
use crate::types::{cxx, numba_type};

/// The Numba data model of a bound struct (`primitive`, `struct` or `auto` in a request).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(from = "String")]
pub enum DataModel {
    /// Opaque bytes of clang's size and alignment (`PrimitiveModel`).
    Primitive,
    /// Fields as attributes, at clang's offsets (`StructModel`).
    Struct,
    /// `Struct` where the fields describe the layout, else `Primitive`, with the reason in the
    /// report's note.
    Auto,
    /// A word that names none of them: the struct is skipped, naming it.
    Unknown(String),
}

impl From<String> for DataModel {
    fn from(word: String) -> DataModel {
        match word.as_str() {
            "primitive" => DataModel::Primitive,
            "struct" => DataModel::Struct,
            "auto" => DataModel::Auto,
            _ => DataModel::Unknown(word),
        }
    }
}

/// How to bind one struct.
#[derive(Debug, Clone, Deserialize)]
pub struct StructRequest {
    /// Python expression of the Numba type class to derive from (`types.Type`, `types.Number`...).
    pub parent: String,
    pub model: DataModel,
    /// Python name; defaults to the C++ name.
    #[serde(default)]
    pub py_name: Option<String>,
    /// Other C++ names (typedefs) of the same type.
    #[serde(default)]
    pub aliases: Vec<String>,
}

fn fields_spec(ctx: &Context, s: &Struct) -> Result<String, Unbindable> {
    let layout = |m: String| Unbindable::new(SkipReason::FieldLayout, m);
    let mut items = Vec::new();
    let mut previous: Option<&canopy::model::Field> = None;
    for f in &s.fields {
        if f.offset < 0 {
            return Err(layout(format!(
                "field `{}` is a bit-field or has no known offset; use PrimitiveModel",
                f.name
            )));
        }
        if let Some(p) = previous.filter(|p| f.offset <= p.offset) {
            return Err(layout(format!(
                "field `{}` overlaps field `{}` (a union or anonymous union member); use PrimitiveModel",
                f.name, p.name
            )));
        }
        previous = Some(f);
        let ty = numba_type(&f.type_, &ctx.known)
            .map_err(|e| {
                Unbindable::new(
                    SkipReason::UnsupportedType,
                    format!("field `{}`: {e}; use PrimitiveModel or register the type", f.name),
                )
            })?
            .ok_or_else(|| Unbindable::new(SkipReason::UnsupportedType, format!("field `{}` has type void", f.name)))?;
        let public = if f.access == AccessKind::Public { "True" } else { "False" };
        items.push(format!("({}, {ty}, {}, {public})", py_str(&f.name), f.offset));
    }
    Ok(format!("[{}]", items.join(", ")))
}

/// Renders struct `s` under the planned name `req.py_name`, with its C++ aliases `req.aliases`.
pub fn render_struct(ctx: &mut Context, s: &Struct, req: &StructRequest) -> Result<Rendered, Skip> {
    let skip = |why: Unbindable| Skip::new(BindKind::Struct, &s.qual_name, &s.location, why);
    let mut out = Rendered::default();
    if s.sizeof_ < 0 || s.alignof_ < 0 {
        return Err(skip(Unbindable::new(
            SkipReason::UnknownLayout,
            "size or alignment unknown (incomplete or dependent type)",
        )));
    }
    let mut opaque_reason = None;
    let model = match &req.model {
        DataModel::Primitive => "primitive",
        DataModel::Struct => "struct",
        DataModel::Auto => match fields_spec(ctx, s) {
            Ok(_) => "struct",
            Err(why) => {
                opaque_reason = Some(why.message);
                "primitive"
            }
        },
        DataModel::Unknown(other) => {
            return Err(skip(Unbindable::new(SkipReason::DataModel, format!("unknown data model `{other}`"))))
        }
    };
    let fields = if model == "struct" { fields_spec(ctx, s).map_err(skip)? } else { "[]".into() };
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
    out.report.bind(BindKind::Struct, &s.qual_name, &var);
    if let Some(reason) = opaque_reason {
        out.report.note_last(format!("opaque: {}", reason.split("; use PrimitiveModel").next().unwrap_or(&reason)));
    }
    ctx.known.insert(&s.qual_name, registered_type_expr(&s.qual_name));
    for alias in &req.aliases {
        out.code.push_str(&format!("_b.types[{}] = _b.types[{}]\n", py_str(&cxx(alias)), py_str(&cxx(&s.qual_name))));
        ctx.known.insert(alias, registered_type_expr(&s.qual_name));
        out.report.bind(BindKind::Alias, alias, "");
    }
    for m in &s.methods {
        render_member(ctx, s, &var, m, &mut out);
    }
    render_aggregate_init(ctx, s, &var, &mut out);
    out.append(super::templates::render_member_templates(ctx, s, &var));
    out.assigns(var);
    Ok(out)
}

/// The aggregate initialization `T{a, b, ...}` of a struct that C++ lets be initialized field by
/// field (no declared constructor, no base, no virtual member, every field public and at its own
/// offset, not a union): as `T(a, b, ...)`, where calls may leave out trailing scalar fields (C++
/// value-initializes them), down to `T()` where every field is one. Bound up to the last field
/// whose type binds.
fn render_aggregate_init(ctx: &Context, s: &Struct, var: &str, out: &mut Rendered) {
    let declares_constructor = s.methods.iter().any(|m| m.kind.is_constructor());
    let fields_apart = s.fields.windows(2).all(|w| w[0].offset < w[1].offset);
    if declares_constructor
        || s.tag == "union"
        || !s.bases.is_empty()
        || s.methods.iter().any(|m| m.is_virtual)
        || !fields_apart
        || s.fields.iter().any(|f| f.access != AccessKind::Public || f.offset < 0)
    {
        return;
    }
    // C++ value-initializes the fields a call leaves out; only trailing scalars, enums and
    // pointers are left out, as a record or reference field may have no value to start from.
    let left_out = |t: &Type| {
        t.ref_kind == RefKind::None
            && matches!(
                t.shape,
                TypeShape::Bool
                    | TypeShape::Int { .. }
                    | TypeShape::Float { .. }
                    | TypeShape::Pointer { .. }
                    | TypeShape::Enum { .. }
            )
    };
    let lowest = s.fields.iter().rposition(|f| !left_out(&f.type_)).map_or(0, |i| i + 1);
    let params: Vec<ParamVar> =
        s.fields.iter().map(|f| ParamVar { name: f.name.clone(), type_: f.type_.clone(), has_default: true }).collect();
    let init = StructMethod {
        function: Function {
            name: s.name.clone(),
            qual_name: format!("{}::{}", s.qual_name, s.name),
            return_type: Type::void(),
            params,
            exec_space: ExecutionSpace::HostDevice,
            is_constexpr: false,
            is_variadic: false,
            mangled_name: String::new(),
            attributes: Vec::new(),
            is_operator: false,
            location: s.location.clone(),
        },
        kind: MethodKind::OtherConstructor,
        is_const: false,
        is_static: false,
        is_virtual: false,
        is_copy_assignment: false,
        is_move_assignment: false,
    };
    let mut bound = None;
    for n in lowest..=s.fields.len() {
        let mut f = init.function.clone();
        f.params.truncate(n);
        let mut one = Rendered::default();
        let suffix = format!("#aggregate{n}");
        render_member_arity(ctx, s, var, &init, Arity { f: &f, suffix: &suffix, aggregate: true }, &mut one);
        if one.report.bound.is_empty() {
            break;
        }
        out.code.push_str(&one.code);
        out.shims.extend(one.shims);
        bound = Some(n);
    }
    if let Some(bound) = bound {
        let n = s.fields.len();
        out.report.bind(BindKind::Constructor, &format!("{}::{}", s.qual_name, s.name), "");
        out.report.note_last(if bound > lowest {
            format!("aggregate initialization, {lowest} to {bound} of {n} fields")
        } else {
            format!("aggregate initialization, {bound} of {n} fields")
        });
    }
}

/// Renders a member once per arity: as declared, then leaving out each trailing defaulted
/// parameter in turn (a shim per arity, so that C++ fills the defaults in). The report is the
/// declared one's; a member skipped as declared is skipped in every arity.
fn render_member(ctx: &Context, s: &Struct, var: &str, m: &StructMethod, out: &mut Rendered) {
    for (k, (f, suffix)) in arities(&m.function).into_iter().enumerate() {
        let mut one = Rendered::default();
        render_member_arity(ctx, s, var, m, Arity { f: &f, suffix: &suffix, aggregate: false }, &mut one);
        let bound = !one.report.bound.is_empty();
        if k == 0 {
            out.append(one);
        } else {
            out.code.push_str(&one.code);
            out.shims.extend(one.shims);
        }
        if !bound {
            break;
        }
    }
}

/// One arity of a member: the function as called, the suffix that keeps its shim's identity
/// apart, and whether it is a struct's aggregate initialization (`T{...}`).
struct Arity<'a> {
    f: &'a Function,
    suffix: &'a str,
    aggregate: bool,
}

fn render_member_arity(ctx: &Context, s: &Struct, var: &str, m: &StructMethod, arity: Arity, out: &mut Rendered) {
    let Arity { f, suffix, aggregate } = arity;
    let full = format!("{}::{}", s.qual_name, f.name);
    let skip = |out: &mut Rendered, why: Unbindable| out.report.skip(BindKind::Method, &full, &f.location, why);
    let value_semantics = |m: &str| Unbindable::new(SkipReason::ValueSemantics, m);
    if !crate::plan::device_callable(f.exec_space) {
        return skip(out, Unbindable::new(SkipReason::HostOnly, "host-only member function"));
    }
    let path = IntentPath::Member { qual_name: &s.qual_name, name: &s.name, member: &f.name };
    let identity = format!("{}|{}{suffix}", f.mangled_name, full);
    let params = match params_spec(ctx, path, &f.params) {
        Ok(p) => p,
        Err(why) => return skip(out, why),
    };
    match m.kind {
        MethodKind::Destructor => {
            skip(out, value_semantics("destructor: Numba values are plain data and are never destroyed"))
        }
        MethodKind::MoveConstructor => skip(out, value_semantics("move constructor: Numba passes values by copy")),
        MethodKind::ConversionFunction => {
            let to = match ret_spec(ctx, &f.return_type) {
                Ok(t) if t != "None" => t,
                Ok(_) => return skip(out, Unbindable::new(SkipReason::UnsupportedType, "conversion to void")),
                Err(why) => return skip(out, why),
            };
            let name = shim_name("conv", &full, &identity, &ctx.unit_tag);
            out.code.push_str(&call(
                "_b.conversion",
                &[
                    ("", var.to_string()),
                    ("unit", "_unit".into()),
                    ("shim", py_str(&name)),
                    ("src", py_str(&conversion_shim(&name, &s.qual_name, f, m.is_const))),
                    ("to", to),
                ],
            ));
            out.report.bind(BindKind::Conversion, &full, "");
            out.shims.push(name);
        }
        MethodKind::Other => {
            if m.is_copy_assignment || m.is_move_assignment || operator_symbol(&f.name) == Some("=") {
                return skip(out, value_semantics("assignment operator: Numba values are immutable"));
            }
            if let Some(symbol @ ("++" | "--")) = operator_symbol(&f.name) {
                return skip(out, no_python_operator(symbol, f.params.len() + 1));
            }
            let ret = match ret_spec(ctx, &f.return_type) {
                Ok(r) => r,
                Err(why) => return skip(out, why),
            };
            if m.is_static {
                if f.is_operator {
                    return skip(out, Unbindable::new(SkipReason::NotSupported, "static operator: not bound"));
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
                out.report.bind(BindKind::StaticMethod, &full, &format!("{var}.{}", f.name));
                out.shims.push(name);
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
                        ("src", py_str(&member_operator_shim(&name, &s.qual_name, f, m.is_const))),
                        ("ret", ret),
                        ("params", params),
                    ],
                ));
                out.report.bind(BindKind::Operator, &full, "");
                out.shims.push(name);
            } else {
                // The call operator is `x(...)` in a kernel: the method Python calls a value through.
                let py_method = if is_call_operator(&f.name) { "__call__" } else { f.name.as_str() };
                let name = shim_name("method", &full, &identity, &ctx.unit_tag);
                let mut args = vec![
                    ("", var.to_string()),
                    ("unit", "_unit".into()),
                    ("name", py_str(py_method)),
                    ("shim", py_str(&name)),
                    ("src", py_str(&method_shim(&name, &s.qual_name, f, m.is_const))),
                    ("ret", ret),
                    ("params", params),
                ];
                // A non-const method may change its receiver: a call on a variable writes it back.
                if !m.is_const {
                    args.push(("mutates", "True".into()));
                }
                out.code.push_str(&call("_b.method", &args));
                out.report.bind(BindKind::Method, &full, py_method);
                out.shims.push(name);
            }
        }
        // The other constructors.
        kind => {
            debug_assert!(kind.is_constructor());
            let name = shim_name("ctor", &s.qual_name, &identity, &ctx.unit_tag);
            let implicit = m.kind == MethodKind::ConvertingConstructor && f.params.len() == 1;
            out.code.push_str(&call(
                "_b.constructor",
                &[
                    ("", var.to_string()),
                    ("unit", "_unit".into()),
                    ("shim", py_str(&name)),
                    ("src", py_str(&constructor_shim(&name, &s.qual_name, f, aggregate))),
                    ("params", params),
                    ("implicit", if implicit { "True" } else { "False" }.into()),
                ],
            ));
            out.report.bind(BindKind::Constructor, &full, "");
            out.shims.push(name);
        }
    }
}
