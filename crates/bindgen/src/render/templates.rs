//! Function and class templates, rendered as data: the qualified name, the template parameters
//! (kind, non-type parameter type, default, pack), and each overload's parameter and return type
//! spellings with the template parameters left in, analysed (`spelling.rs`: patterns, pieces,
//! specificity) and with the name stem of its instantiation shims (`shim::template_shim_stem`).
//! The template runtime (`python/numbast/_templates.py` and its modules) deduces template
//! arguments from the Numba argument types when a kernel is typed, fills in the shim of each
//! instantiation (`shim::TEMPLATE_SHIM_FORMS`) and asks a probe for the layout of class
//! instantiations, so a generated module needs neither this crate nor libclang to instantiate.
//!
//! A template that only some GPU architectures have (`Context::arch_guard`) carries the guard's
//! condition (`"arch"` in an overload, `arch=` for a class): the runtime wraps the instantiation
//! shims in it and refuses to lower a call for another architecture.

use std::fmt::Write;

use canopy::model::{
    AccessKind, ClassTemplate, Enum, Function, FunctionTemplate, MethodKind, ParamVar, Struct, TemplateParam,
    TemplateParamKind, Type, TypeNode, TypeShape,
};

use super::function::{is_call_operator, no_python_operator, operator_symbol, python_operator};
use super::self_refs::{SelfRefs, SELF};
use super::spelling::{
    norm, pieces_py, qualify_default, return_type_is_deduced, scope_of, specificity, value_spelling, Pattern,
};
use super::{Context, IntentPath, Rendered};
use crate::plan::device_callable;
use crate::pyexpr::{enum_member_names, py_ident, py_str};
use crate::report::{BindKind, Skip, SkipReason, Unbindable};
use crate::shim::template_shim_stem;
use crate::types::{cxx, scalar};

/// The runtime object rendered template code registers through, one per `Bindings`.
const TEMPLATES: &str = "_template_bindings(_b)";

fn py_opt(s: Option<&str>) -> String {
    s.map(py_str).unwrap_or_else(|| "None".into())
}

fn py_bool(b: bool) -> &'static str {
    if b {
        "True"
    } else {
        "False"
    }
}

/// Where a template is declared: the namespace its defaults are written in, and the template
/// parameters of the enclosing class template (a member template's defaults may name them).
#[derive(Clone, Copy)]
struct Scope<'a> {
    namespace: &'a str,
    outer: &'a [TemplateParam],
    /// For a class template's members: how their spellings name the class itself.
    refs: Option<&'a SelfRefs>,
}

impl<'a> Scope<'a> {
    fn of(qual_name: &'a str) -> Scope<'a> {
        Scope { namespace: scope_of(qual_name), outer: &[], refs: None }
    }

    /// A member's type spelling as the runtime reads it.
    fn spelling(&self, name: &str) -> String {
        match self.refs {
            Some(refs) => refs.member_spelling(&cxx(name)),
            None => cxx(name),
        }
    }

    /// The pattern of a type of this scope, from its structure (canopy's `TypeNode`); from the
    /// spelling only for a type canopy built none for. `spelling` is the type's spelling as
    /// `Scope::spelling` gives it, compared with the structure's pattern when
    /// `NUMBAST_CHECK_PATTERNS` is set (a mismatch is printed: a debugging aid).
    fn pattern(&self, ty: &Type, spelling: &str) -> Pattern {
        // A member type reached through a base (`typename Base::TempStorage`) is the class's own,
        // as the class's other member spellings name it.
        self.pattern_from(ty.structure.as_ref(), spelling, SelfRefs::member_spelling)
    }

    /// `pattern` of a type whose structure is `node`, its named types' texts spelled in the class
    /// by `named` (for a member of a class template).
    fn pattern_from(&self, node: Option<&TypeNode>, spelling: &str, named: fn(&SelfRefs, &str) -> String) -> Pattern {
        match node {
            Some(node) => {
                let mut p = Pattern::of_structure(node);
                if let Some(refs) = self.refs {
                    p = p.map_names(&|n| named(refs, n));
                }
                if std::env::var_os("NUMBAST_CHECK_PATTERNS").is_some() {
                    let q = Pattern::of(spelling);
                    if p != q {
                        eprintln!("PATTERN MISMATCH {spelling:?}\n  structure: {p:?}\n  spelling:  {q:?}");
                    }
                }
                p
            }
            None => Pattern::of(spelling),
        }
    }

    /// The names a spelling of this scope refers to, with `own` (a callable's template
    /// parameters): the enclosing class template's parameters and, for its members, the class
    /// itself (`__nbst_self__`).
    fn params<'b>(&'b self, own: &'b [TemplateParam]) -> Vec<&'b str> {
        let mut names: Vec<&str> = self.outer.iter().chain(own).map(|p| p.name.as_str()).collect();
        if self.refs.is_some() {
            names.push(SELF);
        }
        names
    }
}

/// `[(name, kind, non-type parameter type, default, is_pack, default's pattern, default's pieces,
/// value kind), ...]`, or why a parameter cannot be instantiated from Python. Defaults are
/// qualified for use outside the template's namespace; a type parameter's default comes with its
/// pattern. A non-type parameter's value kind says how the runtime writes a value for it: `bool`
/// (`true`), `number` (a builtin scalar type: the literal) or `other` (an enumeration, say:
/// `static_cast<E>(1)`, `E::name`).
fn tparams_data(params: &[TemplateParam], scope: Scope<'_>) -> Result<String, Unbindable> {
    let names = scope.params(params);
    let mut items = Vec::new();
    for p in params {
        let kind = match p.kind {
            TemplateParamKind::Type => "type",
            TemplateParamKind::NonType => "non_type",
            TemplateParamKind::Template => {
                return Err(Unbindable::new(
                    SkipReason::TemplateTemplateParameter,
                    format!("template template parameter `{}` is not supported", p.name),
                ));
            }
        };
        let ty = p.type_.as_ref().map(|t| cxx(&t.name));
        // A member template's default may name members of its class (`class _Up = value_type` in
        // `optional<_Tp>`): those are the instance's (`__nbst_self__::value_type`), not the namespace's.
        let default = p.default.as_deref().map(|d| qualify_default(&scope.spelling(d), scope.namespace, &names));
        let default_pattern = match (&default, p.kind) {
            (Some(d), TemplateParamKind::Type) => Pattern::of(d).to_py(&names),
            _ => "None".into(),
        };
        let default_pieces = default.as_deref().map(|d| pieces_py(d, &names)).unwrap_or_else(|| "None".into());
        let value_kind = match (p.kind, &p.type_) {
            (TemplateParamKind::Type, _) => "None",
            (_, None) => "\"number\"",
            (_, Some(t)) => match scalar(&t.unqualified_non_ref_type_name).as_deref() {
                Some("boolean") => "\"bool\"",
                Some(_) => "\"number\"",
                None => "\"other\"",
            },
        };
        items.push(format!(
            "({}, {}, {}, {}, {}, {default_pattern}, {default_pieces}, {value_kind})",
            py_str(&p.name),
            py_str(kind),
            py_opt(ty.as_deref()),
            py_opt(default.as_deref()),
            py_bool(p.is_pack)
        ));
    }
    Ok(format!("[{}]", items.join(", ")))
}

/// `[(name, C++ spelling, intent), ...]` for a callable's parameters, their intents found at `path`.
fn params_data(
    ctx: &Context,
    path: IntentPath<'_>,
    params: &[ParamVar],
    spellings: &[String],
) -> Result<String, Unbindable> {
    let mut items = Vec::new();
    for (i, (p, spelling)) in params.iter().zip(spellings).enumerate() {
        let intent = ctx.intents.of(path, i, p)?;
        items.push(format!("({}, {}, {})", py_str(&p.name), py_str(spelling), py_str(intent.as_str())));
    }
    Ok(format!("[{}]", items.join(", ")))
}

/// Whose instantiation shims an overload's are: their kind (`fn`, `ctor`, `method`, `static`) and
/// the callable's qualified name, which name the overload's shim stem (`shim::template_shim_stem`),
/// and the receiver a method is called on.
#[derive(Clone, Copy)]
struct ShimOf<'a> {
    kind: &'static str,
    name: &'a str,
    receiver: Receiver,
}

/// The object a callable is called on, as its shim passes it.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Receiver {
    /// A function, a constructor or a static member: no object.
    None,
    /// A `const` method: called through a `const` object pointer, so that a member overloaded on
    /// `const` calls the overload bound.
    Const,
    /// A non-const method: a call on a variable writes its receiver back.
    Mutable,
}

impl Receiver {
    /// The receiver of a member (`is_const`: its `const` qualifier, None where unknown, which is
    /// passed as a non-const object).
    fn of(is_ctor: bool, is_static: bool, is_const: Option<bool>) -> Receiver {
        match (is_ctor || is_static, is_const) {
            (true, _) => Receiver::None,
            (false, Some(true)) => Receiver::Const,
            (false, _) => Receiver::Mutable,
        }
    }
}

/// A callable as the runtime's overload dicts: one as declared, then one for each arity its
/// trailing defaulted parameters allow (C++ fills the defaults in the shim's call).
fn overloads_data(
    ctx: &Context,
    path: IntentPath<'_>,
    scope: Scope<'_>,
    tparams: &[TemplateParam],
    f: &Function,
    qual_name: Option<&str>,
    shim: ShimOf<'_>,
) -> Result<Vec<String>, Unbindable> {
    super::arities(f).iter().map(|(g, _)| overload_data(ctx, path, scope, tparams, g, qual_name, shim)).collect()
}

/// One callable as the runtime's overload dict: template parameters, return type, parameters, and
/// their analysis: each parameter's pattern, pieces and value spelling (`spelling.rs`), the return
/// type's, the callable's specificity (how the runtime orders viable overloads), the name stem
/// of its instantiation shims, and for a non-const method `"mutates": True` (a call on a variable
/// writes the receiver back into it), for a `const` one `"const_self": True` (its shim takes a
/// `const` object).
fn overload_data(
    ctx: &Context,
    path: IntentPath<'_>,
    scope: Scope<'_>,
    tparams: &[TemplateParam],
    f: &Function,
    qual_name: Option<&str>,
    shim: ShimOf<'_>,
) -> Result<String, Unbindable> {
    if f.is_variadic {
        return Err(Unbindable::new(SkipReason::Variadic, "C variadic function"));
    }
    let mut s = String::from("{");
    if let Some(q) = qual_name {
        let _ = write!(s, "\"qual_name\": {}, ", py_str(&cxx(q)));
    }
    let spellings: Vec<String> = f.params.iter().map(|p| scope.spelling(&p.type_.name)).collect();
    let ret = scope.spelling(&f.return_type.name);
    let normalized: Vec<String> = spellings.iter().map(|sp| norm(sp)).collect();
    let _ = write!(
        s,
        "\"tparams\": {}, \"ret\": {}, \"params\": {}, \"location\": {}",
        tparams_data(tparams, scope)?,
        py_str(&norm(&ret)),
        params_data(ctx, path, &f.params, &normalized)?,
        py_str(&ctx.place(&f.location))
    );
    let patterns: Vec<Pattern> = f.params.iter().zip(&spellings).map(|(p, sp)| scope.pattern(&p.type_, sp)).collect();
    let own: Vec<&str> = tparams.iter().map(|p| p.name.as_str()).collect();
    let names = scope.params(tparams);
    let pieces_of = |texts: &mut dyn Iterator<Item = String>| {
        texts.map(|text| pieces_py(&text, &names)).collect::<Vec<_>>().join(", ")
    };
    let _ = write!(
        s,
        ", \"param_pieces\": [{}], \"ret_pieces\": {}, \"patterns\": [{}], \"values\": [{}], \"ret_pattern\": {}, \
         \"ret_value\": {}, \"ret_deduced\": {}, \"specificity\": {}, \"value_const\": [{}]",
        pieces_of(&mut spellings.iter().map(|sp| norm(sp))),
        pieces_py(&norm(&ret), &names),
        patterns.iter().map(|p| p.to_py(&names)).collect::<Vec<_>>().join(", "),
        pieces_of(&mut spellings.iter().map(|sp| value_spelling(sp))),
        scope.pattern(&f.return_type, &ret).to_py(&names),
        pieces_py(&value_spelling(&ret), &names),
        py_bool(return_type_is_deduced(&ret)),
        specificity(&patterns, &own),
        f.params
            .iter()
            .zip(&spellings)
            .map(|(p, sp)| py_bool(value_is_const(&p.type_, sp)))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let identity = format!("{}\0{ret}\0{}", ctx.place(&f.location), spellings.join("\0"));
    let stem = template_shim_stem(shim.kind, shim.name, &identity, &ctx.unit_tag);
    let _ = write!(s, ", \"shim\": {}", py_str(&stem));
    match shim.receiver {
        Receiver::Mutable => s.push_str(", \"mutates\": True"),
        Receiver::Const => s.push_str(", \"const_self\": True"),
        Receiver::None => {}
    }
    if let (Some(guard), Some(_)) = (&ctx.arch_guard, qual_name) {
        let _ = write!(s, ", \"arch\": {}", py_str(guard));
    }
    s.push('}');
    Ok(s)
}

/// Whether the value a parameter of type `ty` refers to (or holds) is const at its top level
/// (`const T` of `const T &`; an array of const elements is const, as C++ has it): from the
/// type's structure, else from its value spelling.
fn value_is_const(ty: &Type, spelling: &str) -> bool {
    use canopy::model::TypeNode;
    fn top(n: &TypeNode) -> bool {
        match n {
            TypeNode::Param { is_const, .. }
            | TypeNode::Named { is_const, .. }
            | TypeNode::SelfClass { is_const }
            | TypeNode::SelfMember { is_const, .. }
            | TypeNode::Pointer { is_const, .. } => *is_const,
            TypeNode::Array { element, .. } => top(element),
            _ => false,
        }
    }
    match &ty.structure {
        Some(TypeNode::Ref { referee, .. }) => top(referee),
        Some(TypeNode::Pack { pattern }) => match pattern.as_ref() {
            TypeNode::Ref { referee, .. } => top(referee),
            other => top(other),
        },
        Some(node) => top(node),
        None => value_spelling(spelling).starts_with("const "),
    }
}

/// The Python operator (`operator.<name>`) a C++ operator with `operands` operands is reached
/// through, or why it has none. `a[i]` is `getitem`.
fn operator_of(name: &str, operands: usize) -> Result<&'static str, Unbindable> {
    let symbol = operator_symbol(name).unwrap_or("");
    match (symbol, operands) {
        ("[]", 2) => Ok("getitem"),
        _ => python_operator(symbol, operands).ok_or_else(|| no_python_operator(symbol, operands)),
    }
}

/// Renders the overloads of one planned Python name (`py_name`) as one callable; operator
/// templates among them are grouped by their Python operator (`operator.add`) instead. An overload
/// that cannot be bound is reported and left out.
pub fn render_function_templates(ctx: &Context, templates: &[FunctionTemplate], py_name: &str) -> Rendered {
    let mut out = Rendered::default();
    // (py_name, [(qual_name, overload data, as declared rather than a shorter arity)]) in order
    // of first appearance.
    type Entry = (String, String, bool);
    let mut groups: Vec<(String, Vec<Entry>)> = Vec::new();
    for t in templates {
        let f = &t.function;
        let path = IntentPath::Function { qual_name: &t.qual_name, name: &f.name };
        let data =
            if f.is_operator { operator_of(&f.name, f.params.len()).map(Some) } else { Ok(None) }.and_then(|op| {
                let scope = Scope::of(&t.qual_name);
                let shim = ShimOf { kind: "fn", name: &t.qual_name, receiver: Receiver::None };
                Ok((op, overloads_data(ctx, path, scope, &t.template_parameters, f, Some(&t.qual_name), shim)?))
            });
        match data {
            Ok((op, all)) => {
                let key = match op {
                    Some(op) => format!("operator.{op}"),
                    None => py_ident(py_name),
                };
                let entries = all.into_iter().enumerate().map(|(i, data)| (t.qual_name.clone(), data, i == 0));
                match groups.iter_mut().find(|(n, _)| *n == key) {
                    Some((_, overloads)) => overloads.extend(entries),
                    None => groups.push((key, entries.collect())),
                }
            }
            Err(why) => out.report.skip(BindKind::FunctionTemplate, &t.qual_name, &f.location, why),
        }
    }
    for (py_name, overloads) in groups {
        let is_operator = py_name.starts_with("operator.");
        if is_operator {
            let _ = writeln!(out.code, "{TEMPLATES}.operator_template(unit=_unit, op={py_name}, overloads=[");
        } else {
            let _ = writeln!(
                out.code,
                "{py_name} = {TEMPLATES}.function_template(unit=_unit, py_name={}, overloads=[",
                py_str(&py_name)
            );
        }
        for (qual_name, data, declared) in &overloads {
            let _ = writeln!(out.code, "    {data},");
            if *declared {
                if is_operator {
                    out.report.bind(BindKind::OperatorTemplate, qual_name, "");
                } else {
                    out.report.bind(BindKind::FunctionTemplate, qual_name, &py_name);
                }
            }
        }
        out.code.push_str("])\n");
        if !is_operator {
            out.assigns(py_name);
        }
    }
    out
}

/// Renders a class template: its parameters, public fields, nested records, constructors and
/// methods (member templates included). Members that cannot be bound are reported and left out.
pub fn render_class_template(ctx: &Context, t: &ClassTemplate, py_name: &str) -> Result<Rendered, Skip> {
    let mut out = Rendered::default();
    let r = &t.record;
    let tparams = tparams_data(&t.template_parameters, Scope::of(&t.qual_name))
        .map_err(|why| Skip::new(BindKind::ClassTemplate, &t.qual_name, &r.location, why))?;
    // Member spellings name the class itself and its member types, marked for the runtime.
    let records: Vec<String> = r
        .nested_records
        .iter()
        .filter(|n| !n.name.is_empty() && !n.name.contains('('))
        .map(|n| n.name.clone())
        .collect();
    let aliases: Vec<(String, String)> =
        r.nested_typedefs.iter().map(|t| (t.name.clone(), cxx(&t.underlying_name))).collect();
    let member_spellings: Vec<String> = r
        .methods
        .iter()
        .map(|m| &m.function)
        .chain(r.templated_methods.iter().map(|m| &m.function))
        .flat_map(|f| f.params.iter().map(|p| cxx(&p.type_.name)))
        .collect();
    let refs = SelfRefs::new(
        &cxx(&t.qual_name),
        t.template_parameters.iter().map(|p| (p.name.clone(), p.is_pack)).collect(),
        records.iter().cloned().chain(aliases.iter().map(|(n, _)| n.clone())).collect(),
        &aliases,
        &member_spellings,
        !r.bases.is_empty(),
    );
    // Members' defaults are written in the class's namespace and may name the class's parameters.
    let scope = Scope { namespace: scope_of(&t.qual_name), outer: &t.template_parameters, refs: Some(&refs) };
    let member_path = |member| IntentPath::Member { qual_name: &t.qual_name, name: &r.name, member };
    let mut ctors = Vec::new();
    let mut methods = Vec::new();
    let mut statics = Vec::new();
    // (Python operator, method name) of each bound member operator, once each.
    let mut operators: Vec<(&str, String)> = Vec::new();
    let member = |name: &str| format!("{}::{}", t.qual_name, name);
    for m in &r.methods {
        let f = &m.function;
        let skip =
            |out: &mut Rendered, why: Unbindable| out.report.skip(BindKind::Method, &member(&f.name), &f.location, why);
        if !device_callable(f.exec_space) {
            skip(&mut out, Unbindable::new(SkipReason::HostOnly, "host-only member function"));
            continue;
        }
        // A move constructor is refused below, before `is_ctor` is read.
        let is_ctor = m.kind.is_constructor();
        let unsupported = match m.kind {
            MethodKind::Destructor => {
                Some((SkipReason::ValueSemantics, "destructor: Numba values are plain data and are never destroyed"))
            }
            MethodKind::MoveConstructor => {
                Some((SkipReason::ValueSemantics, "move constructor: Numba passes values by copy"))
            }
            MethodKind::ConversionFunction => {
                Some((SkipReason::NotSupported, "conversion operator of a class template: not bound yet"))
            }
            _ if m.is_copy_assignment || m.is_move_assignment || operator_symbol(&f.name) == Some("=") => {
                Some((SkipReason::ValueSemantics, "assignment operator: Numba values are immutable"))
            }
            _ if m.is_static && f.is_operator => Some((SkipReason::NotSupported, "static operator: not bound")),
            _ => None,
        };
        if let Some((reason, message)) = unsupported {
            skip(&mut out, Unbindable::new(reason, message));
            continue;
        }
        // A member operator is a method reached through its Python operator, `self` the left operand.
        // The call operator is a method the runtime reaches through `__call__` (`x(a, b)`).
        let op = if f.is_operator && !is_call_operator(&f.name) {
            match operator_of(&f.name, f.params.len() + 1) {
                Ok(op) => Some(op),
                Err(why) => {
                    skip(&mut out, why);
                    continue;
                }
            }
        } else {
            None
        };
        let path = member_path(if is_ctor { r.name.as_str() } else { f.name.as_str() });
        let full = member(&f.name);
        let receiver = Receiver::of(is_ctor, m.is_static, Some(m.is_const));
        let shim = ShimOf { kind: member_shim_kind(is_ctor, m.is_static), name: &full, receiver };
        match overloads_data(ctx, path, scope, &[], f, None, shim) {
            Ok(all) if is_ctor => ctors.extend(all),
            Ok(all) if m.is_static => {
                statics.extend(all.into_iter().map(|data| format!("({}, {data})", py_str(&f.name))))
            }
            Ok(all) => {
                methods.extend(all.into_iter().map(|data| format!("({}, {data})", py_str(&f.name))));
                if let Some(op) = op.filter(|op| !operators.iter().any(|(o, n)| o == op && *n == f.name)) {
                    operators.push((op, f.name.clone()));
                }
            }
            Err(why) => skip(&mut out, why),
        }
    }
    for mt in &r.templated_methods {
        let f = &mt.function;
        let info = mt.method.as_ref();
        let is_ctor = info.is_some_and(|i| i.kind.is_constructor());
        let is_static = info.is_some_and(|i| i.is_static);
        let why = if !device_callable(f.exec_space) {
            Some(Unbindable::new(SkipReason::HostOnly, "host-only member function template"))
        } else if is_static && f.is_operator {
            Some(Unbindable::new(SkipReason::NotSupported, "static operator: not bound"))
        } else if info.is_some_and(|i| i.kind == MethodKind::ConversionFunction) {
            Some(Unbindable::new(
                SkipReason::NotSupported,
                "conversion operator template of a class template: not bound yet",
            ))
        } else if f.is_operator && operator_symbol(&f.name) == Some("=") {
            Some(Unbindable::new(SkipReason::ValueSemantics, "assignment operator: Numba values are immutable"))
        } else if f.is_operator && !is_call_operator(&f.name) {
            operator_of(&f.name, f.params.len() + 1).err()
        } else {
            None
        };
        if let Some(why) = why {
            out.report.skip(BindKind::Method, &member(&f.name), &f.location, why);
            continue;
        }
        let path = member_path(if is_ctor { r.name.as_str() } else { f.name.as_str() });
        let full = member(&f.name);
        let receiver = Receiver::of(is_ctor, is_static, info.map(|i| i.is_const));
        let shim = ShimOf { kind: member_shim_kind(is_ctor, is_static), name: &full, receiver };
        match overloads_data(ctx, path, scope, &mt.template_parameters, f, None, shim) {
            Ok(all) if is_ctor => ctors.extend(all),
            // `C.name(...)`: the member's own template arguments deduced as a function template's.
            Ok(all) if is_static => {
                statics.extend(all.into_iter().map(|data| format!("({}, {data})", py_str(&f.name))))
            }
            Ok(all) => {
                methods.extend(all.into_iter().map(|data| format!("({}, {data})", py_str(&f.name))));
                if let Ok(op) = operator_of(&f.name, f.params.len() + 1) {
                    if f.is_operator
                        && !is_call_operator(&f.name)
                        && !operators.iter().any(|(o, n)| *o == op && *n == f.name)
                    {
                        operators.push((op, f.name.clone()));
                    }
                }
            }
            Err(why) => out.report.skip(BindKind::Method, &member(&f.name), &f.location, why),
        }
    }
    let class_names = scope.params(&[]);
    let fields: Vec<String> = r
        .fields
        .iter()
        .filter(|f| f.access == AccessKind::Public)
        .map(|f| {
            let spelling = scope.spelling(&f.type_.name);
            let pattern = scope.pattern(&f.type_, &spelling);
            format!("({}, {}, {})", py_str(&f.name), py_str(&spelling), pattern.to_py(&class_names))
        })
        .collect();
    // Nested records, then member aliases (their targets marked, with patterns), then the member
    // types reached through a base, which the runtime probes as the class's own.
    let nested: Vec<String> = records
        .iter()
        .map(|n| py_str(n))
        .chain(r.nested_typedefs.iter().map(|alias| {
            let target = refs.alias_target(&alias.name).unwrap_or_default();
            let pattern = scope.pattern_from(alias.structure.as_ref(), target, SelfRefs::self_spellings);
            format!("({}, {}, {})", py_str(&alias.name), py_str(&norm(target)), pattern.to_py(&class_names))
        }))
        .chain(
            refs.inherited()
                .iter()
                .filter(|n| !records.contains(n) && !aliases.iter().any(|(a, _)| a == *n))
                .map(|n| py_str(n)),
        )
        .collect();
    let enums: Vec<String> = r.nested_enums.iter().map(|e| enum_data(e, scope)).collect();
    let var = py_ident(py_name);
    let _ = writeln!(
        out.code,
        "{var} = {TEMPLATES}.class_template(unit=_unit, py_name={}, qual_name={}, location={},",
        py_str(&var),
        py_str(&cxx(&t.qual_name)),
        py_str(&ctx.place(&r.location)),
    );
    if let Some(guard) = &ctx.arch_guard {
        let _ = writeln!(out.code, "    arch={},", py_str(guard));
    }
    let _ = writeln!(out.code, "    tparams={tparams},");
    // The stem of the shims of members the runtime makes (an implicit default constructor, a
    // member reached through a base).
    let identity = format!("{}\0{}", ctx.place(&r.location), t.qual_name);
    let _ = writeln!(
        out.code,
        "    shim={},",
        py_str(&template_shim_stem("member", &t.qual_name, &identity, &ctx.unit_tag))
    );
    if !r.bases.is_empty() {
        // Members reached through a base class are typed by name, the compiler resolving them.
        out.code.push_str("    inherits=True,\n");
    }
    let _ = writeln!(out.code, "    nested=[{}],\n    fields=[{}],", nested.join(", "), fields.join(", "));
    out.code.push_str("    constructors=[\n");
    push_items(&mut out.code, &ctors, "        ");
    out.code.push_str("    ],\n    methods=[\n");
    push_items(&mut out.code, &methods, "        ");
    out.code.push_str("    ]");
    if !statics.is_empty() {
        out.code.push_str(",\n    statics=[\n");
        push_items(&mut out.code, &statics, "        ");
        out.code.push_str("    ]");
    }
    if !operators.is_empty() {
        let ops: Vec<String> =
            operators.iter().map(|(op, name)| format!("(operator.{op}, {})", py_str(name))).collect();
        let _ = write!(out.code, ",\n    operators=[{}]", ops.join(", "));
    }
    if !enums.is_empty() {
        let _ = write!(out.code, ",\n    enums=[{}]", enums.join(", "));
    }
    out.code.push_str(")\n");
    out.report.bind(BindKind::ClassTemplate, &t.qual_name, &var);
    out.assigns(var);
    Ok(out)
}

/// A public enum of a class template as the runtime reads it: `(name, members, underlying)`, each
/// member `(Python name, C++ name, value)` with `None` for a value that needs the template's
/// arguments, and the underlying type as `(spelling, pattern)`, or `None` where C++ derives it
/// from the values (an unscoped enum without a fixed type).
fn enum_data(e: &Enum, scope: Scope<'_>) -> String {
    let members: Vec<String> = enum_member_names(&e.enumerators, &e.name)
        .iter()
        .zip(&e.enumerators)
        .zip(&e.enumerator_values)
        .map(|((py, cxx_name), value)| {
            let value = value.parse::<i128>().map(|v| v.to_string()).unwrap_or_else(|_| "None".into());
            format!("({}, {}, {value})", py_str(py), py_str(cxx_name))
        })
        .collect();
    let underlying = if e.underlying_type.shape == TypeShape::Dependent && !e.is_scoped {
        "None".to_string()
    } else {
        let spelling = scope.spelling(&e.underlying_type.name);
        format!("({}, {})", py_str(&spelling), Pattern::of(&spelling).to_py(&scope.params(&[])))
    };
    format!("({}, [{}], {underlying})", py_str(&e.name), members.join(", "))
}

/// Renders the member function templates of the (non-template) struct bound as `var`: methods,
/// static member functions and call operators, typed by the template runtime, which deduces their
/// template arguments when a kernel calls them. Members that cannot be bound are reported.
pub fn render_member_templates(ctx: &Context, s: &Struct, var: &str) -> Rendered {
    let mut out = Rendered::default();
    let (mut methods, mut statics) = (Vec::new(), Vec::new());
    for mt in &s.templated_methods {
        let f = &mt.function;
        let full = format!("{}::{}", s.qual_name, f.name);
        let info = mt.method.as_ref();
        let is_static = info.is_some_and(|i| i.is_static);
        let reason = if !device_callable(f.exec_space) {
            Some(Unbindable::new(SkipReason::HostOnly, "host-only member function template"))
        } else {
            match info.map(|i| i.kind) {
                Some(MethodKind::ConversionFunction) => {
                    Some(Unbindable::new(SkipReason::NotSupported, "conversion operator template: not bound yet"))
                }
                Some(MethodKind::Other) | None => None,
                Some(_) => {
                    Some(Unbindable::new(SkipReason::NotSupported, "constructor template of a struct: not bound yet"))
                }
            }
        }
        .or_else(|| match f.is_operator {
            true if operator_symbol(&f.name) == Some("=") => {
                Some(Unbindable::new(SkipReason::ValueSemantics, "assignment operator: Numba values are immutable"))
            }
            true if is_static => Some(Unbindable::new(SkipReason::NotSupported, "static operator: not bound")),
            true if !is_call_operator(&f.name) => Some(Unbindable::new(
                SkipReason::NotSupported,
                format!(
                    "member operator template `{}` of a struct: not bound yet",
                    operator_symbol(&f.name).unwrap_or("")
                ),
            )),
            _ => None,
        });
        if let Some(reason) = reason {
            out.report.skip(BindKind::Method, &full, &f.location, reason);
            continue;
        }
        let path = IntentPath::Member { qual_name: &s.qual_name, name: &s.name, member: &f.name };
        let receiver = Receiver::of(false, is_static, info.map(|i| i.is_const));
        let shim = ShimOf { kind: member_shim_kind(false, is_static), name: &full, receiver };
        match overloads_data(ctx, path, Scope::of(&s.qual_name), &mt.template_parameters, f, None, shim) {
            Ok(all) => {
                let entries = all.into_iter().map(|data| format!("({}, {data})", py_str(&f.name)));
                if is_static {
                    statics.extend(entries);
                    out.report.bind(BindKind::StaticMethodTemplate, &full, &format!("{var}.{}", f.name));
                } else {
                    methods.extend(entries);
                    let py_name = if is_call_operator(&f.name) { "__call__" } else { f.name.as_str() };
                    out.report.bind(BindKind::MethodTemplate, &full, py_name);
                }
            }
            Err(reason) => out.report.skip(BindKind::Method, &full, &f.location, reason),
        }
    }
    if methods.is_empty() && statics.is_empty() {
        return out;
    }
    let _ = writeln!(out.code, "{TEMPLATES}.member_templates({var}, unit=_unit, methods=[");
    push_items(&mut out.code, &methods, "    ");
    out.code.push_str("], statics=[\n");
    push_items(&mut out.code, &statics, "    ");
    out.code.push_str("])\n");
    out
}

/// The kind of a member's instantiation shims.
fn member_shim_kind(is_ctor: bool, is_static: bool) -> &'static str {
    match (is_ctor, is_static) {
        (true, _) => "ctor",
        (false, true) => "static",
        (false, false) => "method",
    }
}

/// Writes the entries of a rendered Python list, one a line, each followed by a comma.
fn push_items(code: &mut String, items: &[String], indent: &str) {
    for item in items {
        let _ = writeln!(code, "{indent}{item},");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::Intents;

    fn model<T: serde::de::DeserializeOwned>(json: &str) -> T {
        serde_json::from_str(json).unwrap()
    }

    const T_TYPE: &str = r#"{"name":"T","unqualified_non_ref_type_name":"T","ref_kind":"none","is_const":false,
        "shape":{"tag":"dependent"}}"#;

    fn saturate() -> FunctionTemplate {
        model(&format!(
            r#"{{"template_parameters":[{{"name":"T","kind":"type","type_":null,"is_pack":false,"default":null}}],
            "num_min_required_args":1,"qual_name":"lib::saturate","method":null,
            "function":{{"name":"saturate","qual_name":"lib::saturate","return_type":{T_TYPE},
              "params":[{{"name":"x","type_":{T_TYPE}}}],"exec_space":"device","is_constexpr":false,
              "is_variadic":false,"mangled_name":"","attributes":[],"is_operator":false,
              "location":{{"file":"a.cuh","line":3,"column":5}}}}}}"#
        ))
    }

    #[test]
    fn function_template_is_data() {
        let r = render_function_templates(&Context::default(), &[saturate(), saturate()], "saturate");
        assert_eq!(
            r.code,
            "saturate = _template_bindings(_b).function_template(unit=_unit, py_name=\"saturate\", overloads=[\n    \
             {\"qual_name\": \"lib::saturate\", \"tparams\": [(\"T\", \"type\", None, None, False, None, None, None)], \"ret\": \"T\", \
             \"params\": [(\"x\", \"T\", \"in\")], \"location\": \"a.cuh:3:5\", \"param_pieces\": [(\"\", \"T\", \"\",)], \
             \"ret_pieces\": (\"\", \"T\", \"\",), \"patterns\": [(\"name\", \"T\", (\"\", \"T\", \"\",))], \
             \"values\": [(\"\", \"T\", \"\",)], \"ret_pattern\": (\"name\", \"T\", (\"\", \"T\", \"\",)), \
             \"ret_value\": (\"\", \"T\", \"\",), \"ret_deduced\": False, \"specificity\": 0, \"value_const\": [False], \
             \"shim\": \"__nbst_tpl_fn_lib_saturate_2f8b2ff6f1ed\"},\n    \
             {\"qual_name\": \"lib::saturate\", \"tparams\": [(\"T\", \"type\", None, None, False, None, None, None)], \"ret\": \"T\", \
             \"params\": [(\"x\", \"T\", \"in\")], \"location\": \"a.cuh:3:5\", \"param_pieces\": [(\"\", \"T\", \"\",)], \
             \"ret_pieces\": (\"\", \"T\", \"\",), \"patterns\": [(\"name\", \"T\", (\"\", \"T\", \"\",))], \
             \"values\": [(\"\", \"T\", \"\",)], \"ret_pattern\": (\"name\", \"T\", (\"\", \"T\", \"\",)), \
             \"ret_value\": (\"\", \"T\", \"\",), \"ret_deduced\": False, \"specificity\": 0, \"value_const\": [False], \
             \"shim\": \"__nbst_tpl_fn_lib_saturate_2f8b2ff6f1ed\"},\n])\n"
        );
        assert_eq!(r.report.bound.len(), 2);
    }

    #[test]
    fn intent_on_a_value_parameter_is_a_skip() {
        let intents = Intents::from_json(&serde_json::json!({"saturate": {"x": "out_return"}}));
        let ctx = Context { intents, ..Context::default() };
        let r = render_function_templates(&ctx, &[saturate()], "saturate");
        assert!(r.code.is_empty());
        assert_eq!(r.report.skipped[0].code, SkipReason::Intent);
        assert!(r.report.skipped[0].reason.contains("needs a reference parameter"), "{:?}", r.report);
    }

    fn class_template(name: &str) -> ClassTemplate {
        let d: canopy::model::Declarations =
            serde_json::from_str(include_str!("../../../../tests/expected/templates.json")).unwrap();
        d.class_templates.into_iter().find(|t| t.qual_name == name).unwrap()
    }

    #[test]
    fn class_template_is_data() {
        let r = render_class_template(&Context::default(), &class_template("Array"), "Array").unwrap();
        assert!(
            r.code.starts_with("Array = _template_bindings(_b).class_template(unit=_unit, py_name=\"Array\""),
            "{}",
            r.code
        );
        assert!(
            r.code.contains(
                "tparams=[(\"T\", \"type\", \"T\", None, False, None, None, None), \
                 (\"N\", \"non_type\", \"int\", \"4\", False, None, (\"4\",), \"number\")]"
            ),
            "{}",
            r.code
        );
        assert!(
            r.code.contains(
                "fields=[(\"data\", \"T[N]\", (\"array\", (\"name\", \"T\", (\"\", \"T\", \"\",)), \"N\", (\"\", \"N\", \"\",), None))]"
            ),
            "{}",
            r.code
        );
        assert!(r
            .code
            .contains("(\"at\", {\"tparams\": [], \"ret\": \"const T &\", \"params\": [(\"i\", \"int\", \"in\")]"));
        assert!(r.code.contains(
            "(\"convert\", {\"tparams\": [(\"U\", \"type\", \"U\", None, False, None, None, None)], \"ret\": \"U\""
        ));
        // `a[i]` reaches the member operator through `operator.getitem`, `self` the left operand.
        assert!(
            r.code.contains(
                "(\"operator[]\", {\"tparams\": [], \"ret\": \"T &\", \"params\": [(\"i\", \"int\", \"in\")]"
            ),
            "{}",
            r.code
        );
        assert!(r.code.ends_with(",\n    operators=[(operator.getitem, \"operator[]\")])\n"), "{}", r.code);
        assert!(r.report.skipped.is_empty(), "{:?}", r.report.skipped);
    }

    fn member_templates_model() -> canopy::model::Declarations {
        serde_json::from_str(include_str!("../../../../tests/expected/member_templates.json")).unwrap()
    }

    #[test]
    fn non_const_methods_are_marked_mutating() {
        let d: canopy::model::Declarations =
            serde_json::from_str(include_str!("../../../../tests/expected/mutating_methods.json")).unwrap();
        let struct_named = |name: &str| d.structs.iter().find(|s| s.qual_name == name).unwrap();
        // A struct's methods: `mutates=True` on the non-const ones only.
        let req = crate::render::StructRequest {
            parent: "types.Type".into(),
            model: crate::render::DataModel::Auto,
            py_name: None,
            aliases: Vec::new(),
        };
        let code = crate::render::render_struct(&mut Context::default(), struct_named("Counter"), &req).unwrap().code;
        let marked: Vec<&str> = code
            .lines()
            .filter(|l| l.starts_with("_b.method("))
            .map(|l| if l.ends_with("mutates=True)") { "mutates" } else { "const" })
            .collect();
        // add, bump, load, get() const, peek() const, peek()
        assert_eq!(marked, ["mutates", "mutates", "mutates", "const", "const", "mutates"], "{code}");
        // A member template and a class template's methods: `"mutates": True` in the overload dict.
        let members = render_member_templates(&Context::default(), struct_named("Tally"), "Tally").code;
        assert_eq!(members.matches("\"mutates\": True").count(), 1, "{members}");
        let t = d.class_templates.iter().find(|t| t.qual_name == "Accumulator").unwrap();
        let code = render_class_template(&Context::default(), t, "Accumulator").unwrap().code;
        let add = code.find("(\"add\", {").unwrap();
        let sum = code.find("(\"sum\", {").unwrap();
        assert!(code[add..sum].contains("\"mutates\": True"), "{code}");
        assert_eq!(code.matches("\"mutates\": True").count(), 1, "{code}");
        // Its const methods (`sum`, `size`) take a const object; the constructor and `add` do not.
        assert!(code[sum..].contains("\"const_self\": True"), "{code}");
        assert_eq!(code.matches("\"const_self\": True").count(), 2, "{code}");
    }

    #[test]
    fn member_templates_of_a_struct_are_data() {
        let d = member_templates_model();
        let s = d.structs.iter().find(|s| s.qual_name == "mt::Scaler").unwrap();
        let r = render_member_templates(&Context::default(), s, "Scaler");
        assert!(
            r.code.starts_with(
                "_template_bindings(_b).member_templates(Scaler, unit=_unit, methods=[\n    (\"scale\", {\"tparams\": [(\"T\""
            ),
            "{}",
            r.code
        );
        assert!(r.code.contains("\n    (\"operator()\", {\"tparams\": [(\"T\""), "{}", r.code);
        assert!(r.code.contains("], statics=[\n    (\"square\", {"), "{}", r.code);
        // As declared, and with the defaulted parameter left out.
        assert_eq!(r.code.matches("(\"offset\", {").count(), 2, "{}", r.code);
        let bound: Vec<(&str, &str)> = r.report.bound.iter().map(|b| (b.kind.as_str(), b.py_name.as_str())).collect();
        assert_eq!(
            bound,
            [
                ("method template", "scale"),
                ("method template", "__call__"),
                ("static method template", "Scaler.square"),
                ("static method template", "Scaler.offset")
            ]
        );
        assert!(r.report.skipped.is_empty(), "{:?}", r.report.skipped);
    }

    #[test]
    fn call_operators_and_static_member_templates_of_class_templates_are_data() {
        let d = member_templates_model();
        let t = d.class_templates.iter().find(|t| t.qual_name == "mt::Poly").unwrap();
        let r = render_class_template(&Context::default(), t, "Poly").unwrap();
        assert!(r.code.contains("\n        (\"operator()\", {\"tparams\": [], \"ret\": \"T\""), "{}", r.code);
        assert!(r.code.contains("statics=[\n        (\"cube\", {\"tparams\": [(\"U\""), "{}", r.code);
        // The call operator is reached through `__call__`, not a Python operator.
        assert!(!r.code.contains("operators="), "{}", r.code);
        assert!(r.report.skipped.is_empty(), "{:?}", r.report.skipped);
    }

    #[test]
    fn template_template_parameters_are_a_skip() {
        let skip = render_class_template(&Context::default(), &class_template("Wrapper"), "Wrapper").unwrap_err();
        assert_eq!(skip.code, SkipReason::TemplateTemplateParameter);
        assert_eq!(skip.reason, "template template parameter `Container` is not supported");
    }

    #[test]
    fn arch_guards_are_data() {
        let ctx = Context {
            arch_guard: Some("defined(__CUDA_ARCH__) && ((__CUDA_ARCH__ >= 900))".into()),
            ..Context::default()
        };
        let r = render_function_templates(&ctx, &[saturate()], "saturate");
        assert!(r.code.contains(", \"arch\": \"defined(__CUDA_ARCH__) && ((__CUDA_ARCH__ >= 900))\"}"), "{}", r.code);
        let r = render_class_template(&ctx, &class_template("Array"), "Array").unwrap();
        assert!(
            r.code.contains("\n    arch=\"defined(__CUDA_ARCH__) && ((__CUDA_ARCH__ >= 900))\",\n    tparams="),
            "{}",
            r.code
        );
        // Members carry no guard of their own: the class's applies to them.
        assert!(!r.code.contains("\"arch\""), "{}", r.code);
    }

    #[test]
    fn operator_templates_are_grouped_by_python_operator() {
        let mut plus = saturate();
        plus.function.name = "operator+".into();
        plus.qual_name = "lib::operator+".into();
        plus.function.is_operator = true;
        let unary = plus.clone();
        let mut binary = plus.clone();
        binary.function.params.push(binary.function.params[0].clone());
        let mut shift = binary.clone();
        shift.function.name = "operator<<=".into();
        shift.function.params.push(shift.function.params[0].clone());
        let r = render_function_templates(&Context::default(), &[binary.clone(), unary, binary, shift], "");
        assert!(
            r.code.starts_with("_template_bindings(_b).operator_template(unit=_unit, op=operator.add, overloads=[\n"),
            "{}",
            r.code
        );
        assert!(
            r.code.contains("_template_bindings(_b).operator_template(unit=_unit, op=operator.pos, overloads=[\n"),
            "{}",
            r.code
        );
        assert_eq!(r.code.matches("operator_template(").count(), 2, "{}", r.code);
        assert_eq!(r.report.bound.iter().filter(|b| b.kind == BindKind::OperatorTemplate).count(), 3);
        assert_eq!(r.report.skipped[0].reason, "operator `<<=` with 3 operand(s) has no Python operator");
    }
}
