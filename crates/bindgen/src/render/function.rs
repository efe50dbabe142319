//! Free functions and free operators.

use canopy::model::{Function, ParamVar, RefKind, Type};

use super::{arities, call, Context, Intent, IntentPath, Rendered};
use crate::pyexpr::{py_ident, py_str};
use crate::report::{BindKind, Skip, SkipReason, Unbindable};
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
        ("[]", 2) => "getitem", // `a[i]` reads; a reference result is copied out
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

/// The runtime's `params` of a callable, one `(Numba type expression, mode)` per parameter, or why
/// a parameter cannot be bound.
pub(crate) fn param_specs(
    ctx: &Context,
    path: IntentPath<'_>,
    params: &[ParamVar],
) -> Result<Vec<(String, &'static str)>, Unbindable> {
    let mut items = Vec::new();
    for (i, p) in params.iter().enumerate() {
        let ty = numba_type(&p.type_, &ctx.known)
            .map_err(|e| Unbindable::new(SkipReason::UnsupportedType, format!("parameter `{}`: {e}", p.name)))?
            .ok_or_else(|| {
                Unbindable::new(SkipReason::UnsupportedType, format!("parameter `{}` has type void", p.name))
            })?;
        items.push(match ctx.intents.of(path, i, p)? {
            // A non-const lvalue reference: passed a copy of a value, or bound to what a pointer or
            // an array (its first element) given in its place points at (the runtime's "ref").
            Intent::In if p.type_.ref_kind == RefKind::Lvalue && !p.type_.is_const => (ty, "ref"),
            Intent::In => (ty, "in"),
            Intent::InoutPtr | Intent::OutPtr => (format!("types.CPointer({ty})"), "ptr"),
            Intent::OutReturn => (ty, "out"),
        });
    }
    Ok(items)
}

/// The runtime's `params` list for a callable as a Python expression, or why a parameter cannot
/// be bound.
pub(crate) fn params_spec(ctx: &Context, path: IntentPath<'_>, params: &[ParamVar]) -> Result<String, Unbindable> {
    Ok(params_expr(&param_specs(ctx, path, params)?))
}

fn params_expr(specs: &[(String, &str)]) -> String {
    let items: Vec<String> = specs.iter().map(|(ty, mode)| format!("({ty}, \"{mode}\")")).collect();
    format!("[{}]", items.join(", "))
}

/// The runtime's `ret` argument: a Numba type expression or `None` for void.
pub(crate) fn ret_spec(ctx: &Context, t: &Type) -> Result<String, Unbindable> {
    match numba_type(t, &ctx.known) {
        Ok(Some(e)) => Ok(e),
        Ok(None) => Ok("None".into()),
        Err(e) => Err(Unbindable::new(SkipReason::UnsupportedType, format!("return type: {e}"))),
    }
}

/// Why an operator with `operands` operands cannot be bound: Python has no operator for it.
pub(crate) fn no_python_operator(symbol: &str, operands: usize) -> Unbindable {
    let message = if matches!(symbol, "++" | "--") {
        "increment/decrement operator: Python has no ++ or --".to_string()
    } else if symbol.starts_with("\"\"") {
        format!("user-defined literal operator `{symbol}`: Python has no user-defined literals; construct the value")
    } else {
        format!("operator `{symbol}` with {operands} operand(s) has no Python operator")
    };
    Unbindable::new(SkipReason::NoPythonOperator, message)
}

/// Renders a free function or free operator (as declared, then leaving out each trailing
/// defaulted parameter in turn: a shim per arity), under the planned Python name; the report is
/// the declared one's.
pub fn render_function(ctx: &Context, decl: &Function, py_name: &str) -> Result<Rendered, Skip> {
    let mut out = Rendered::default();
    for (k, (f, suffix)) in arities(decl).into_iter().enumerate() {
        match render_arity(ctx, &f, &suffix, py_name) {
            Ok(one) if k == 0 => out.append(one),
            Ok(one) => {
                out.code.push_str(&one.code);
                out.functions.extend(one.functions);
                out.shims.extend(one.shims);
            }
            Err(skip) if k == 0 => return Err(skip),
            Err(_) => break,
        }
    }
    Ok(out)
}

/// One free function or operator overload as the runtime registers it: `_b.function(...)` or
/// `_b.operator(...)`. Static mode writes it as that call (`code`); dynamic mode registers it from
/// this data, with no Python source per function.
#[derive(Debug, Clone, PartialEq)]
pub struct FunctionCall {
    pub callee: Callee,
    /// Shim symbol and its C++ source (architecture guard included).
    pub shim: String,
    pub src: String,
    /// Numba type expression of the result, `None` for void.
    pub ret: String,
    /// `(Numba type expression, mode)` per C++ parameter.
    pub params: Vec<(String, &'static str)>,
}

/// What a `FunctionCall` registers.
#[derive(Debug, Clone, PartialEq)]
pub enum Callee {
    /// A free function under its Python name (overloads of one name accumulate).
    Function { py_name: String },
    /// A Python operator, by its name in the `operator` module (`add`, `iadd`...).
    Operator { op: &'static str },
}

impl FunctionCall {
    /// The registration as Python code (what static mode writes).
    pub fn code(&self) -> String {
        let common = [
            ("shim", py_str(&self.shim)),
            ("src", py_str(&self.src)),
            ("ret", self.ret.clone()),
            ("params", params_expr(&self.params)),
        ];
        match &self.callee {
            Callee::Operator { op } => {
                let mut args = vec![("unit", "_unit".to_string()), ("op", format!("operator.{op}"))];
                args.extend(common);
                call("_b.operator", &args)
            }
            Callee::Function { py_name } => {
                let mut args = vec![("unit", "_unit".to_string()), ("py_name", py_str(py_name))];
                args.extend(common);
                format!("{py_name} = {}", call("_b.function", &args))
            }
        }
    }
}

fn render_arity(ctx: &Context, f: &Function, suffix: &str, py_name: &str) -> Result<Rendered, Skip> {
    let kind = if f.is_operator { BindKind::Operator } else { BindKind::Function };
    let skip = |why: Unbindable| Skip::new(kind, &f.qual_name, &f.location, why);
    if f.is_variadic {
        return Err(skip(Unbindable::new(SkipReason::Variadic, "variadic function")));
    }
    let op = if f.is_operator {
        let symbol = operator_symbol(&f.name).unwrap_or("");
        Some(python_operator(symbol, f.params.len()).ok_or_else(|| skip(no_python_operator(symbol, f.params.len())))?)
    } else {
        None
    };
    let path = IntentPath::Function { qual_name: &f.qual_name, name: &f.name };
    let params = param_specs(ctx, path, &f.params).map_err(skip)?;
    let ret = ret_spec(ctx, &f.return_type).map_err(skip)?;
    let identity = format!("{}{suffix}", if f.mangled_name.is_empty() { &f.qual_name } else { &f.mangled_name });
    let name = shim_name("fn", &f.qual_name, &identity, &ctx.unit_tag);
    let src = ctx.guarded(function_shim(&name, f));
    let mut out = Rendered::default();
    let callee = match op {
        Some(op) => {
            out.report.bind(BindKind::Operator, &f.qual_name, "");
            Callee::Operator { op }
        }
        None => {
            let py_name = py_ident(py_name);
            out.report.bind(BindKind::Function, &f.qual_name, &py_name);
            out.assigns(py_name.clone());
            Callee::Function { py_name }
        }
    };
    out.shims.push(name.clone());
    out.push_function(ctx, FunctionCall { callee, shim: name, src, ret, params });
    Ok(out)
}
