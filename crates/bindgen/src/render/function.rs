//! Free functions and free operators.

use canopy::model::{ExecutionSpace, Function, ParamVar, RefKind, Type};

use super::{arities, call, Context, Intent, Rendered};
use crate::pyexpr::{py_ident, py_str};
use crate::shim::{function_shim, shim_name};
use crate::types::numba_type;

/// Python operator (as `operator.<name>`) for a C++ operator symbol and operand count.
pub(crate) fn python_operator(symbol: &str, operands: usize) -> Option<&'static str> {
    let op = match (symbol, operands) {
        ("-", 1) => "neg",
        ("+", 1) => "pos",
        ("~", 1) => "invert",
        ("!", 1) => "not_",
        ("+", 2) => "add",
        ("-", 2) => "sub",
        ("*", 2) => "mul",
        ("/", 2) => "truediv",
        ("%", 2) => "mod",
        ("&", 2) => "and_",
        ("|", 2) => "or_",
        ("^", 2) => "xor",
        ("<<", 2) => "lshift",
        (">>", 2) => "rshift",
        ("==", 2) => "eq",
        ("!=", 2) => "ne",
        ("<", 2) => "lt",
        ("<=", 2) => "le",
        (">", 2) => "gt",
        (">=", 2) => "ge",
        ("+=", 2) => "iadd",
        ("-=", 2) => "isub",
        ("*=", 2) => "imul",
        ("/=", 2) => "itruediv",
        ("%=", 2) => "imod",
        ("&=", 2) => "iand",
        ("|=", 2) => "ior",
        ("^=", 2) => "ixor",
        ("<<=", 2) => "ilshift",
        (">>=", 2) => "irshift",
        _ => return None,
    };
    Some(op)
}

pub(crate) fn operator_symbol(name: &str) -> Option<&str> {
    name.strip_prefix("operator").map(str::trim)
}

/// Whether `name` is the call operator, which a Python call of a value reaches (`x(a, b)`, through
/// `__call__`), whatever its number of operands.
pub(crate) fn is_call_operator(name: &str) -> bool {
    operator_symbol(name) == Some("()")
}

/// Why an operator that Python has no operator for is not bound, in words a reader can act on.
pub(crate) fn no_python_operator(symbol: &str, operands: usize) -> String {
    if symbol.starts_with("\"\"") {
        return format!(
            "user-defined literal operator `{symbol}`: Python has no user-defined literals; construct the value"
        );
    }
    format!("operator `{symbol}` with {operands} operand(s) has no Python operator")
}

/// The runtime's `params` list for a callable, or why a parameter cannot be bound.
pub(crate) fn params_spec(ctx: &Context, path: &[&str], params: &[ParamVar]) -> Result<String, String> {
    let mut items = Vec::new();
    for (i, p) in params.iter().enumerate() {
        let ty = numba_type(&p.type_, &ctx.known)
            .map_err(|e| format!("parameter `{}`: {e}", p.name))?
            .ok_or_else(|| format!("parameter `{}` has type void", p.name))?;
        let intent = ctx.intent(path, i, &p.name)?;
        let is_ref = p.type_.ref_kind != RefKind::None;
        let item = match intent {
            Intent::In => format!("({ty}, \"in\")"),
            _ if !is_ref => {
                return Err(format!(
                    "argument intent for `{}` needs a reference parameter, not `{}`",
                    p.name, p.type_.name
                ))
            }
            Intent::InoutPtr | Intent::OutPtr => format!("(types.CPointer({ty}), \"ptr\")"),
            Intent::OutReturn => format!("({ty}, \"out\")"),
        };
        items.push(item);
    }
    Ok(format!("[{}]", items.join(", ")))
}

/// The runtime's `ret` argument: a Numba type expression or `None` for void.
pub(crate) fn ret_spec(ctx: &Context, t: &Type) -> Result<String, String> {
    match numba_type(t, &ctx.known) {
        Ok(Some(e)) => Ok(e),
        Ok(None) => Ok("None".into()),
        Err(e) => Err(format!("return type: {e}")),
    }
}

fn device_callable(space: ExecutionSpace) -> bool {
    matches!(space, ExecutionSpace::Device | ExecutionSpace::HostDevice)
}

/// Why a free function is not bound, if it is not.
fn reason_to_skip(ctx: &Context, f: &Function) -> Option<String> {
    if ctx.exclude.contains(&f.name) || ctx.exclude.contains(&f.qual_name) {
        return Some("excluded by configuration".into());
    }
    if let Some(prefix) = &ctx.skip_prefix {
        if !prefix.is_empty() && f.name.starts_with(prefix.as_str()) {
            return Some(format!("name starts with the skipped prefix `{prefix}`"));
        }
    }
    match f.exec_space {
        ExecutionSpace::Global => return Some("a __global__ kernel, not a device function".into()),
        s if ctx.skip_non_device && !device_callable(s) => return Some("host-only function".into()),
        _ => {}
    }
    if f.is_variadic {
        return Some("variadic function".into());
    }
    None
}

/// Renders free functions and free operators; `py_names` overrides the Python name per function.
pub fn render_functions(ctx: &Context, functions: &[Function], py_name_of: &dyn Fn(&Function) -> String) -> Rendered {
    let mut out = Rendered::default();
    for decl in functions {
        // As declared, then leaving out each trailing defaulted parameter in turn (a shim per
        // arity); the report is the declared one's.
        for (k, (f, suffix)) in arities(decl).into_iter().enumerate() {
            let mut one = Rendered::default();
            render_function(ctx, &f, &suffix, py_name_of, &mut one);
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
    out
}

fn render_function(
    ctx: &Context,
    f: &Function,
    suffix: &str,
    py_name_of: &dyn Fn(&Function) -> String,
    out: &mut Rendered,
) {
    if let Some(reason) = reason_to_skip(ctx, f) {
        out.report.skip("function", &f.qual_name, &f.location, reason);
        return;
    }
    let mut op = None;
    if f.is_operator {
        let symbol = operator_symbol(&f.name).unwrap_or("");
        match python_operator(symbol, f.params.len()) {
            Some(o) => op = Some(o),
            None if matches!(symbol, "++" | "--") => {
                out.report.skip(
                    "operator",
                    &f.qual_name,
                    &f.location,
                    "increment/decrement operator: Python has no ++ or --",
                );
                return;
            }
            None => {
                out.report.skip("operator", &f.qual_name, &f.location, no_python_operator(symbol, f.params.len()));
                return;
            }
        }
    }
    // Intents are keyed by the qualified name (`lib::divmod`) or the plain one (`divmod`).
    let intent_key = if ctx.intents.get(&f.qual_name).is_some() { &f.qual_name } else { &f.name };
    let spec = params_spec(ctx, &[intent_key], &f.params).and_then(|p| Ok((p, ret_spec(ctx, &f.return_type)?)));
    let (params, ret) = match spec {
        Ok(x) => x,
        Err(reason) => {
            out.report.skip(if op.is_some() { "operator" } else { "function" }, &f.qual_name, &f.location, reason);
            return;
        }
    };
    let identity = format!("{}{suffix}", if f.mangled_name.is_empty() { &f.qual_name } else { &f.mangled_name });
    let name = shim_name("fn", &f.qual_name, &identity, &ctx.unit_tag);
    let src = ctx.guarded(function_shim(&name, f));
    match op {
        Some(o) => {
            out.code.push_str(&call(
                "_b.operator",
                &[
                    ("unit", "_unit".into()),
                    ("op", format!("operator.{o}")),
                    ("shim", py_str(&name)),
                    ("src", py_str(&src)),
                    ("ret", ret),
                    ("params", params),
                ],
            ));
            out.report.bind("operator", &f.qual_name, "");
        }
        None => {
            let py_name = py_ident(&py_name_of(f));
            out.code.push_str(&format!("{py_name} = "));
            out.code.push_str(&call(
                "_b.function",
                &[
                    ("unit", "_unit".into()),
                    ("py_name", py_str(&py_name)),
                    ("shim", py_str(&name)),
                    ("src", py_str(&src)),
                    ("ret", ret),
                    ("params", params),
                ],
            ));
            out.report.bind("function", &f.qual_name, &py_name);
        }
    }
}
