//! Enums, as Python `IntEnum`s registered under their C++ name.

use canopy::model::Enum;

use super::{call, registered_type_expr, Context, Rendered};
use crate::pyexpr::{enum_member_names, py_ident, py_str};
use crate::report::{BindKind, Skip, SkipReason, Unbindable};
use crate::types::numba_type;

pub fn render_enum(ctx: &mut Context, e: &Enum, py_name: &str) -> Result<Rendered, Skip> {
    let mut out = Rendered::default();
    let underlying = match numba_type(&e.underlying_type, &ctx.known) {
        Ok(Some(t)) => t,
        _ => {
            let why = format!("underlying type `{}` is not an integer", e.underlying_type.name);
            return Err(Skip::new(
                BindKind::Enum,
                &e.qual_name,
                &e.location,
                Unbindable::new(SkipReason::UnsupportedType, why),
            ));
        }
    };
    let var = py_ident(py_name);
    // Python names of the members: the C++ names, except those `enum` refuses (`mro`, `_sunder_`).
    let members: Vec<String> = enum_member_names(&e.enumerators, &var)
        .iter()
        .zip(&e.enumerator_values)
        .map(|(n, v)| {
            format!("({}, {})", py_str(n), v.parse::<i128>().map(|v| v.to_string()).unwrap_or_else(|_| "0".into()))
        })
        .collect();
    out.code.push_str(&format!("{var} = "));
    out.code.push_str(&call(
        "_b.enum",
        &[
            ("cxx_name", py_str(&crate::types::cxx(&e.qual_name))),
            ("py_name", py_str(&var)),
            ("members", format!("[{}]", members.join(", "))),
            ("underlying", underlying),
        ],
    ));
    ctx.known.insert(&e.qual_name, registered_type_expr(&e.qual_name));
    out.report.bind(BindKind::Enum, &e.qual_name, &var);
    out.assigns(var);
    Ok(out)
}
