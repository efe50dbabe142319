//! The binding plan: from declarations and options, what is bound, under which Python name, owned
//! by which struct, with which aliases and architecture guard, and what is skipped and why. Both
//! modes are adapters over it: dynamic mode (`request.rs`) executes what `render_plan` writes,
//! static mode (`module.rs`) writes it into a module; so they bind the same set under the same names.
//!
//! The plan owns: exclusion (`Exclude`/`exclude=`), `Skip Prefix`, kernels and host-only functions,
//! API prefix removal, the one name-clash policy (`Names`), nested records, typedef aliases and
//! dependency types (structs and enums declared outside the bound files that bound declarations
//! need). Whether a planned declaration's types can be expressed in Numba is the renderer's
//! business: it returns the code or a typed skip.

mod deps;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use canopy::model::{ClassTemplate, Enum, ExecutionSpace, Function, FunctionTemplate, Struct, Typedef};

use crate::pyexpr::{py_ident, py_str};
use crate::render::{
    registered_type_expr, render_class_template, render_enum, render_function, render_function_templates,
    render_struct, Context, Rendered, StructRequest,
};
use crate::report::{BindKind, Skip, SkipReason, Unbindable};
use crate::types::{cxx, KnownTypes};

/// Whether a function with this execution space can be called from a kernel.
pub(crate) fn device_callable(space: ExecutionSpace) -> bool {
    matches!(space, ExecutionSpace::Device | ExecutionSpace::HostDevice)
}

/// Names (plain or qualified) left out, by kind.
#[derive(Debug, Clone, Default)]
pub struct Exclude {
    /// Functions and function templates.
    pub function: BTreeSet<String>,
    /// Structs and class templates.
    pub r#struct: BTreeSet<String>,
    pub r#enum: BTreeSet<String>,
}

/// Prefixes removed from Python names, by kind (`API Prefix Removal`); enum prefixes apply to the
/// members' names too.
#[derive(Debug, Clone, Default)]
pub struct Prefixes {
    pub function: Vec<String>,
    pub r#struct: Vec<String>,
    pub r#enum: Vec<String>,
}

/// What decides the plan besides the declarations.
#[derive(Debug, Clone)]
pub struct Options {
    pub exclude: Exclude,
    pub prefixes: Prefixes,
    /// Functions whose name starts with it are not bound.
    pub skip_prefix: Option<String>,
    /// Host-only functions are not bound (they cannot be called from a kernel).
    pub skip_non_device: bool,
    /// The GPU architectures the declarations were parsed for (static mode; empty: one parse).
    pub archs: Vec<String>,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            exclude: Exclude::default(),
            prefixes: Prefixes::default(),
            skip_prefix: None,
            skip_non_device: true,
            archs: Vec::new(),
        }
    }
}

/// A declaration to plan: a Python name the caller chose, if any, and the architectures that
/// have it (None: all).
#[derive(Debug, Clone)]
pub struct Item<T> {
    pub decl: T,
    pub py_name: Option<String>,
    pub archs: Option<BTreeSet<String>>,
}

impl<T> Item<T> {
    pub fn new(decl: T) -> Item<T> {
        Item { decl, py_name: None, archs: None }
    }
}

/// The declarations to plan. `other_structs` and `other_enums` were declared outside the bound
/// files: only those a binding needs are bound (dependency types).
#[derive(Debug, Clone, Default)]
pub struct Input {
    pub enums: Vec<Item<Enum>>,
    pub structs: Vec<Item<Struct>>,
    pub typedefs: Vec<Item<Typedef>>,
    pub functions: Vec<Item<Function>>,
    pub function_templates: Vec<Item<FunctionTemplate>>,
    pub class_templates: Vec<Item<ClassTemplate>>,
    pub other_structs: Vec<Struct>,
    pub other_enums: Vec<Enum>,
}

impl Input {
    /// Functions whose signatures name an instantiation of one of the input's class templates
    /// (`real(const complex<__half> &)`) move to the function templates, as templates without
    /// parameters: the template runtime types them, instantiating the class when a kernel calls
    /// them. Both adapters call this before planning.
    pub fn type_instance_functions_as_templates(&mut self, known: &KnownTypes) {
        let (plain, instance) =
            split_instance_functions(std::mem::take(&mut self.functions), &self.class_templates, known);
        self.functions = plain;
        self.function_templates.extend(instance);
    }
}

/// Whether `t` (references and qualifiers aside) is an instantiation of one of the class templates
/// `classes` that has no Numba type of its own (not a bound specialization).
fn names_class_instance(t: &canopy::model::Type, classes: &BTreeSet<String>, known: &KnownTypes) -> bool {
    let name = cxx(&t.unqualified_non_ref_type_name);
    let name = name.trim_start_matches("::");
    let base = name.split_once('<').map(|(base, _)| base.trim());
    !known.contains(name) && name.ends_with('>') && base.is_some_and(|b| classes.contains(b))
}

/// The functions whose parameter or return types name an instantiation of a class template of
/// the module, split off as templates without parameters: the template runtime types them,
/// instantiating the class when a kernel calls them.
fn split_instance_functions(
    functions: Vec<Item<Function>>,
    class_templates: &[Item<ClassTemplate>],
    known: &KnownTypes,
) -> (Vec<Item<Function>>, Vec<Item<FunctionTemplate>>) {
    let classes: BTreeSet<String> = class_templates.iter().map(|t| cxx(&t.decl.qual_name)).collect();
    let (instance, plain): (Vec<_>, Vec<_>) = functions.into_iter().partition(|i| {
        std::iter::once(&i.decl.return_type)
            .chain(i.decl.params.iter().map(|p| &p.type_))
            .any(|t| names_class_instance(t, &classes, known))
    });
    let templates = instance
        .into_iter()
        .map(|i| {
            let f = i.decl;
            let t = FunctionTemplate {
                template_parameters: Vec::new(),
                num_min_required_args: f.params.iter().filter(|p| !p.has_default).count(),
                qual_name: f.qual_name.clone(),
                method: None,
                function: f,
            };
            Item { decl: t, py_name: i.py_name, archs: i.archs }
        })
        .collect();
    (plain, templates)
}

/// How a planned struct is bound: its Numba parent class and data model, and other C++ names.
/// The adapter answers it per struct (config tables, or dynamic mode's keyword arguments).
pub trait StructOptions {
    /// `parent`, `model`, `py_name` (the caller's choice, if any) and `aliases` for `s`;
    /// `dependency`: `s` is a dependency type.
    fn struct_request(&self, s: &Struct, dependency: bool) -> StructRequest;
}

/// What a planned binding binds.
#[derive(Debug, Clone)]
pub enum Binding {
    Enum(Enum),
    Struct {
        decl: Struct,
        how: StructRequest,
    },
    /// A typedef of a planned struct or enum: another C++ and Python name of it.
    Alias {
        typedef: Typedef,
        target_cxx: String,
        target_py: String,
    },
    /// A free function or operator (operators have no Python name).
    Function(Function),
    /// Overloads of one Python name present on the same architectures.
    FunctionTemplates(Vec<FunctionTemplate>),
    ClassTemplate(ClassTemplate),
}

/// One planned binding.
#[derive(Debug, Clone)]
pub struct Planned {
    pub binding: Binding,
    /// The Python name (empty for operators and operator templates).
    pub py_name: String,
    /// The bound struct this one is declared in (`S` of `S::Inner`, `S::Mode`), as (its Python
    /// name, the member's C++ name): the binding is also the struct's attribute `S.Inner`.
    pub owner: Option<(String, String)>,
    /// For a struct: its members that are bindings of their own (nested records, enums), as
    /// (attribute name, Python name, C++ name); they are rendered before it.
    pub members: Vec<(String, String, String)>,
    /// The architectures that have it (None: all).
    pub archs: Option<BTreeSet<String>>,
    /// The preprocessor condition its shims are wrapped in (None: all architectures have it).
    pub arch_guard: Option<String>,
    /// A dependency type (declared outside the bound files).
    pub dependency: bool,
    /// Why the Python name is not the declaration's own (`renamed: ...`), for the report.
    pub note: Option<String>,
}

/// A step of the plan, in order: a binding, or a declaration not bound.
#[derive(Debug, Clone)]
pub enum Step {
    Bind(Box<Planned>),
    Skip(Skip),
}

#[derive(Debug, Clone, Default)]
pub struct Plan {
    pub steps: Vec<Step>,
}

/// Names the generated code defines itself; a binding named so gets a `_` suffix (in both modes,
/// so that they name bindings alike).
fn is_reserved(name: &str) -> bool {
    matches!(name, "install" | "typing_registry" | "target_registry" | "shim_stream" | "shim_obj" | "_b" | "_unit")
        || name.starts_with("_nb_")
        || name.starts_with("_NB_")
}

/// The Python name for `name`: an identifier, never one the generated code reserves (none of
/// which ends in `_`).
pub fn python_name(name: &str) -> String {
    let n = py_ident(name);
    if is_reserved(&n) && !n.ends_with('_') {
        format!("{n}_")
    } else {
        n
    }
}

pub(crate) fn strip_prefix<'a>(name: &'a str, prefixes: &[String]) -> &'a str {
    prefixes.iter().find_map(|p| name.strip_prefix(p.as_str()).filter(|rest| !rest.is_empty())).unwrap_or(name)
}

/// Which bindings may share a Python name: overloads of functions and function templates form one
/// callable; anything else has a name to itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum NameKind {
    Callable,
    Entity,
}

/// The one name-clash policy: a Python name belongs to the first binding that claims it (in plan
/// order: enums, dependency types, structs with their nested records, aliases, functions, class
/// templates, function templates); a later binding of another entity whose name is taken gets the
/// first free `name_2`, `name_3`..., noted in the report. Nothing is skipped for its name.
#[derive(Debug, Default)]
struct Names {
    taken: BTreeMap<String, NameKind>,
    /// Callables renamed away from an entity's name: every overload goes to the same new name.
    moved: BTreeMap<String, String>,
}

impl Names {
    fn is_free(&self, name: &str) -> bool {
        !self.taken.contains_key(name)
    }

    /// The name `wanted` gets, and the note if it is not `wanted`.
    fn claim(&mut self, wanted: &str, kind: NameKind) -> (String, Option<String>) {
        let base = python_name(wanted);
        if kind == NameKind::Callable {
            if let Some(moved) = self.moved.get(&base) {
                return (moved.clone(), Some(format!("renamed: `{base}` names another binding")));
            }
        }
        match self.taken.get(&base) {
            None => {
                self.taken.insert(base.clone(), kind);
                return (base, None);
            }
            Some(NameKind::Callable) if kind == NameKind::Callable => return (base, None),
            Some(_) => {}
        }
        let mut i = 2;
        let name = loop {
            let candidate = python_name(&format!("{base}_{i}"));
            if self.is_free(&candidate) {
                break candidate;
            }
            i += 1;
        };
        self.taken.insert(name.clone(), kind);
        if kind == NameKind::Callable {
            self.moved.insert(base.clone(), name.clone());
        }
        (name, Some(format!("renamed: `{base}` names another binding")))
    }
}

fn excluded(names: &BTreeSet<String>, name: &str, qual_name: &str) -> bool {
    names.contains(name) || names.contains(qual_name)
}

fn skip(kind: BindKind, name: &str, loc: &canopy::model::Location, reason: SkipReason, message: String) -> Step {
    Step::Skip(Skip::new(kind, name, loc, Unbindable::new(reason, message)))
}

/// Why a function (or function template) is not planned, if it is not.
fn function_policy(options: &Options, name: &str, qual_name: &str, space: ExecutionSpace) -> Option<Unbindable> {
    if excluded(&options.exclude.function, name, qual_name) {
        return Some(Unbindable::new(SkipReason::Excluded, "excluded by configuration"));
    }
    if let Some(prefix) = options.skip_prefix.as_deref().filter(|p| !p.is_empty()) {
        if name.starts_with(prefix) {
            return Some(Unbindable::new(
                SkipReason::SkipPrefix,
                format!("name starts with the skipped prefix `{prefix}`"),
            ));
        }
    }
    match space {
        ExecutionSpace::Global => {
            Some(Unbindable::new(SkipReason::Kernel, "a __global__ kernel, not a device function"))
        }
        s if options.skip_non_device && !device_callable(s) => {
            Some(Unbindable::new(SkipReason::HostOnly, "host-only function"))
        }
        _ => None,
    }
}

/// The struct that `qual_name` is declared in, by its qualified name (`S` of `S::Mode`); none for
/// a name qualified only by the global scope (`::Mode`).
fn scope_of(qual_name: &str) -> Option<(&str, &str)> {
    qual_name.rsplit_once("::").filter(|(outer, _)| !outer.is_empty())
}

struct Planner<'a> {
    options: &'a Options,
    structs: &'a dyn StructOptions,
    names: Names,
    plan: Plan,
    /// Planned structs and enums: C++ name (`cxx` spelling) -> Python name.
    types: BTreeMap<String, String>,
}

impl Planner<'_> {
    fn arch_guard(&self, archs: &Option<BTreeSet<String>>) -> Option<String> {
        archs.as_ref().and_then(|a| crate::module::arch_condition(a, &self.options.archs))
    }

    fn bind(&mut self, binding: Binding, py_name: String, archs: Option<BTreeSet<String>>, note: Option<String>) {
        self.bind_full(binding, py_name, None, archs, false, note)
    }

    fn bind_full(
        &mut self,
        binding: Binding,
        py_name: String,
        owner: Option<(String, String)>,
        archs: Option<BTreeSet<String>>,
        dependency: bool,
        note: Option<String>,
    ) {
        let arch_guard = self.arch_guard(&archs);
        self.plan.steps.push(Step::Bind(Box::new(Planned {
            binding,
            py_name,
            owner,
            members: Vec::new(),
            archs,
            arch_guard,
            dependency,
            note,
        })));
    }

    fn enum_(&mut self, item: &Item<Enum>, dependency: bool) {
        let e = &item.decl;
        if excluded(&self.options.exclude.r#enum, &e.name, &e.qual_name) {
            self.plan.steps.push(skip(
                BindKind::Enum,
                &e.qual_name,
                &e.location,
                SkipReason::Excluded,
                "excluded by configuration".into(),
            ));
            return;
        }
        // Enum prefixes apply to the enum's name and to its members' Python names (when the
        // members stay distinct identifiers).
        let prefixes = &self.options.prefixes.r#enum;
        let mut renamed = e.clone();
        let stripped: Vec<String> = e.enumerators.iter().map(|m| strip_prefix(m, prefixes).to_string()).collect();
        let distinct: BTreeSet<&String> = stripped.iter().collect();
        if distinct.len() == stripped.len() && stripped.iter().all(|m| py_ident(m) == *m) {
            renamed.enumerators = stripped;
        }
        let wanted = item.py_name.clone().unwrap_or_else(|| strip_prefix(&e.name, prefixes).to_string());
        let (py_name, note) = self.names.claim(&wanted, NameKind::Entity);
        self.types.insert(cxx(&e.qual_name), py_name.clone());
        self.bind_full(Binding::Enum(renamed), py_name, None, item.archs.clone(), dependency, note);
    }

    /// A struct, preceded by its named nested records (so that its fields can use them), each
    /// named `Outer_Inner` unless the adapter names it, and owned by the outer struct.
    fn struct_(&mut self, item: &Item<Struct>, dependency: bool, outer_py: Option<&str>) {
        let s = &item.decl;
        if excluded(&self.options.exclude.r#struct, &s.name, &s.qual_name) {
            self.plan.steps.push(skip(
                BindKind::Struct,
                &s.qual_name,
                &s.location,
                SkipReason::Excluded,
                "excluded by configuration".into(),
            ));
            return;
        }
        let mut how = self.structs.struct_request(s, dependency);
        let wanted = match (how.py_name.clone().or_else(|| item.py_name.clone()), outer_py) {
            (Some(n), _) => n,
            (None, Some(outer_py)) => format!("{outer_py}_{}", s.name),
            (None, None) => strip_prefix(&s.name, &self.options.prefixes.r#struct).to_string(),
        };
        let (py_name, note) = self.names.claim(&wanted, NameKind::Entity);
        for n in &s.nested_records {
            if !n.name.is_empty() && !n.name.contains('(') {
                let nested = Item { decl: n.clone(), py_name: None, archs: item.archs.clone() };
                self.struct_(&nested, dependency, Some(&py_name));
            }
        }
        self.types.insert(cxx(&s.qual_name), py_name.clone());
        how.py_name = Some(py_name.clone());
        self.bind_full(Binding::Struct { decl: s.clone(), how }, py_name, None, item.archs.clone(), dependency, note);
    }

    /// Typedefs of planned structs and enums become aliases: another C++ name in the type table
    /// and another Python name, where that name is free (an alias is never renamed).
    fn alias(&mut self, item: &Item<Typedef>) {
        let t = &item.decl;
        let target = cxx(&t.underlying_name);
        let Some(target_py) = self.types.get(&target).cloned() else { return };
        let alias = python_name(strip_prefix(&t.name, &self.options.prefixes.r#struct));
        if alias == target_py || !self.names.is_free(&alias) {
            return;
        }
        self.names.claim(&alias, NameKind::Entity);
        self.bind(
            Binding::Alias { typedef: t.clone(), target_cxx: target, target_py },
            alias,
            item.archs.clone(),
            None,
        );
    }

    fn function(&mut self, item: &Item<Function>) {
        let f = &item.decl;
        let kind = if f.is_operator { BindKind::Operator } else { BindKind::Function };
        if let Some(why) = function_policy(self.options, &f.name, &f.qual_name, f.exec_space) {
            let kind = if why.reason == SkipReason::Excluded { BindKind::Function } else { kind };
            self.plan.steps.push(Step::Skip(Skip::new(kind, &f.qual_name, &f.location, why)));
            return;
        }
        let (py_name, note) = self.callable_name(f, item.py_name.as_deref());
        self.bind(Binding::Function(f.clone()), py_name, item.archs.clone(), note);
    }

    /// The Python name a free function or function template is bound under (none for operators,
    /// which are reached through Python's operators), and the note if it was renamed.
    fn callable_name(&mut self, f: &Function, given: Option<&str>) -> (String, Option<String>) {
        if f.is_operator {
            return (String::new(), None);
        }
        let wanted =
            given.map_or_else(|| strip_prefix(&f.name, &self.options.prefixes.function).to_string(), str::to_string);
        self.names.claim(&wanted, NameKind::Callable)
    }

    fn class_template(&mut self, item: &Item<ClassTemplate>) {
        let t = &item.decl;
        let r = &t.record;
        if excluded(&self.options.exclude.r#struct, &r.name, &t.qual_name) {
            self.plan.steps.push(skip(
                BindKind::ClassTemplate,
                &t.qual_name,
                &r.location,
                SkipReason::Excluded,
                "excluded by configuration".into(),
            ));
            return;
        }
        let wanted =
            item.py_name.clone().unwrap_or_else(|| strip_prefix(&r.name, &self.options.prefixes.r#struct).to_string());
        let (py_name, note) = self.names.claim(&wanted, NameKind::Entity);
        self.bind(Binding::ClassTemplate(t.clone()), py_name, item.archs.clone(), note);
    }

    /// Function templates: overloads of one Python name present on the same architectures are one
    /// step (the runtime adds later ones of the same name to the callable).
    fn function_templates(&mut self, items: &[Item<FunctionTemplate>]) {
        /// (Python name, archs, overloads, the note of a renamed name)
        type Group = (String, Option<BTreeSet<String>>, Vec<FunctionTemplate>, Option<String>);
        let mut groups: Vec<Group> = Vec::new();
        for item in items {
            let t = &item.decl;
            let f = &t.function;
            if let Some(mut why) = function_policy(self.options, &f.name, &t.qual_name, f.exec_space) {
                if why.reason == SkipReason::Kernel {
                    why.message = "a __global__ kernel template, not a device function".into();
                } else if why.reason == SkipReason::HostOnly {
                    why.message = "host-only function template".into();
                }
                self.plan.steps.push(Step::Skip(Skip::new(BindKind::FunctionTemplate, &t.qual_name, &f.location, why)));
                continue;
            }
            let (py_name, note) = self.callable_name(f, item.py_name.as_deref());
            match groups.iter_mut().find(|(n, a, _, _)| *n == py_name && *a == item.archs) {
                Some((_, _, group, _)) => group.push(t.clone()),
                None => groups.push((py_name, item.archs.clone(), vec![t.clone()], note)),
            }
        }
        for (py_name, archs, group, note) in groups {
            self.bind(Binding::FunctionTemplates(group), py_name, archs, note);
        }
    }
}

/// Plans the bindings of `input`.
pub fn plan(input: &Input, options: &Options, structs: &dyn StructOptions, known: &crate::types::KnownTypes) -> Plan {
    let mut p = Planner { options, structs, names: Names::default(), plan: Plan::default(), types: BTreeMap::new() };
    for e in &input.enums {
        p.enum_(e, false);
    }
    let needed = deps::needed(
        options,
        known,
        &input.structs.iter().map(|s| &s.decl).collect::<Vec<_>>(),
        &input.functions.iter().map(|f| &f.decl).collect::<Vec<_>>(),
        &input.other_structs.iter().collect::<Vec<_>>(),
        &input.other_enums.iter().collect::<Vec<_>>(),
    );
    for e in needed.enums {
        p.enum_(&Item::new(e), true);
    }
    for s in needed.structs {
        p.struct_(&Item::new(s), true, None);
    }
    for s in &input.structs {
        p.struct_(s, false, None);
    }
    for t in &input.typedefs {
        p.alias(t);
    }
    for f in &input.functions {
        p.function(f);
    }
    for t in &input.class_templates {
        p.class_template(t);
    }
    p.function_templates(&input.function_templates);
    let mut plan = p.plan;
    attach_members(&mut plan);
    plan
}

/// Structs and enums declared in a planned struct (`S::Inner`, `S::Mode`) become its members:
/// their owner is the struct, which lists them.
fn attach_members(plan: &mut Plan) {
    let mut structs: BTreeMap<String, usize> = BTreeMap::new();
    for (i, step) in plan.steps.iter().enumerate() {
        if let Step::Bind(p) = step {
            if let Binding::Struct { decl, .. } = &p.binding {
                structs.insert(cxx(&decl.qual_name), i);
            }
        }
    }
    for i in 0..plan.steps.len() {
        let Step::Bind(p) = &plan.steps[i] else { continue };
        let qual_name = match &p.binding {
            Binding::Struct { decl, .. } => &decl.qual_name,
            Binding::Enum(e) => &e.qual_name,
            _ => continue,
        };
        let Some((outer, member)) = scope_of(qual_name) else { continue };
        let Some(&j) = structs.get(&cxx(outer)) else { continue };
        let (member, py_name, cxx_name) = (member.to_string(), p.py_name.clone(), cxx(qual_name));
        let Step::Bind(owner) = &mut plan.steps[j] else { continue };
        let owner_py = owner.py_name.clone();
        owner.members.push((member.clone(), py_name, cxx_name));
        if let Step::Bind(p) = &mut plan.steps[i] {
            p.owner = Some((owner_py, member));
        }
    }
}

/// One planned binding rendered: the code, or the skip folded into the report. `ctx` learns the
/// types it binds, so later steps can use them.
pub fn render_planned(ctx: &mut Context, planned: &Planned) -> Rendered {
    ctx.arch_guard = planned.arch_guard.clone();
    let result = match &planned.binding {
        Binding::Enum(e) => render_enum(ctx, e, &planned.py_name),
        Binding::Struct { decl, how } => render_struct(ctx, decl, how),
        Binding::Alias { typedef, target_cxx, target_py } => {
            Ok(render_alias(ctx, typedef, target_cxx, target_py, &planned.py_name))
        }
        Binding::Function(f) => render_function(ctx, f, &planned.py_name),
        Binding::FunctionTemplates(group) => Ok(render_function_templates(ctx, group, &planned.py_name)),
        Binding::ClassTemplate(t) => render_class_template(ctx, t, &planned.py_name),
    };
    ctx.arch_guard = None;
    let mut out = match result {
        Ok(r) => r,
        Err(skip) => return Rendered::skipped(skip),
    };
    ctx.assigned.extend(out.names.iter().cloned());
    if let Some(note) = &planned.note {
        if let Some(b) = out.report.bound.iter_mut().find(|b| b.py_name == planned.py_name) {
            if b.note.is_empty() {
                b.note = note.clone();
            }
        }
    }
    // Its members that were bound (before it) are also its attributes, in Python code and in kernels.
    if out.names.contains(&planned.py_name) {
        for (member, py_name, cxx_name) in &planned.members {
            if ctx.known.contains(cxx_name) {
                let _ =
                    writeln!(out.code, "_b.member_type({}, {}, {py_name})", planned.py_name, py_str(&py_ident(member)));
            }
        }
    }
    out
}

/// An alias of a rendered struct or enum (nothing if its target was not bound).
fn render_alias(ctx: &mut Context, t: &Typedef, target_cxx: &str, target_py: &str, alias: &str) -> Rendered {
    let mut out = Rendered::default();
    if ctx.known.get(target_cxx).is_none() || !ctx.assigned.contains(target_py) {
        return out;
    }
    let _ = write!(
        out.code,
        "_b.types[{}] = _b.types[{}]\n{alias} = {target_py}\n",
        py_str(&cxx(&t.qual_name)),
        py_str(target_cxx)
    );
    ctx.known.insert(&t.qual_name, registered_type_expr(target_cxx));
    out.report.bind(BindKind::Alias, &t.qual_name, alias);
    out.assigns(alias.to_string());
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::DataModel;

    #[test]
    fn one_name_per_entity_overloads_share() {
        let mut n = Names::default();
        assert_eq!(n.claim("S", NameKind::Entity), ("S".into(), None));
        assert_eq!(n.claim("f", NameKind::Callable), ("f".into(), None));
        assert_eq!(n.claim("f", NameKind::Callable), ("f".into(), None));
        let (s2, note) = n.claim("S", NameKind::Entity);
        assert_eq!(s2, "S_2");
        assert!(note.unwrap().contains("`S`"));
        // Every overload of a callable named like an entity moves to the same name.
        assert_eq!(n.claim("S", NameKind::Callable).0, "S_3");
        assert_eq!(n.claim("S", NameKind::Callable).0, "S_3");
        assert_eq!(n.claim("install", NameKind::Entity).0, "install_");
    }

    struct Defaults;

    impl StructOptions for Defaults {
        fn struct_request(&self, _: &Struct, _: bool) -> StructRequest {
            StructRequest { parent: "types.Type".into(), model: DataModel::Auto, py_name: None, aliases: Vec::new() }
        }
    }

    fn namespaces() -> Input {
        let d: canopy::model::Declarations =
            serde_json::from_str(include_str!("../../../tests/expected/namespaces.json")).unwrap();
        Input {
            enums: d.enums.into_iter().map(Item::new).collect(),
            structs: d.structs.into_iter().map(Item::new).collect(),
            typedefs: d.typedefs.into_iter().map(Item::new).collect(),
            functions: d.functions.into_iter().map(Item::new).collect(),
            function_templates: d.function_templates.into_iter().map(Item::new).collect(),
            ..Input::default()
        }
    }

    fn bound(plan: &Plan) -> Vec<(String, Option<String>)> {
        plan.steps
            .iter()
            .filter_map(|s| match s {
                Step::Bind(p) => Some((p.py_name.clone(), p.owner.as_ref().map(|o| format!("{}.{}", o.0, o.1)))),
                Step::Skip(_) => None,
            })
            .collect()
    }

    #[test]
    fn nested_records_precede_their_owner_and_typedefs_alias_it() {
        let plan = plan(&namespaces(), &Options::default(), &Defaults, &Default::default());
        let names = bound(&plan);
        let at = |n: &str| names.iter().position(|(p, _)| p == n).unwrap_or_else(|| panic!("{n} in {names:?}"));
        assert!(at("B_C") < at("B"), "{names:?}");
        assert_eq!(names[at("B_C")].1.as_deref(), Some("B.C"));
        assert!(at("B") < at("Alias") && at("Alias") < at("free_fn"), "{names:?}");
        let Step::Bind(b) = &plan.steps[at("B")] else { unreachable!() };
        assert_eq!(b.members, vec![("C".to_string(), "B_C".to_string(), "outer::inner::B::C".to_string())]);
    }

    #[test]
    fn exclusion_and_skip_prefix_are_typed_skips() {
        let mut options = Options { skip_prefix: Some("hidden".into()), ..Options::default() };
        options.exclude.function.insert("outer::free_fn".into());
        options.exclude.function.insert("identity".into());
        options.exclude.r#struct.insert("A".into());
        let plan = plan(&namespaces(), &options, &Defaults, &Default::default());
        let skips: Vec<(BindKind, &str, SkipReason)> = plan
            .steps
            .iter()
            .filter_map(|s| match s {
                Step::Skip(k) => Some((k.kind, k.name.as_str(), k.code)),
                Step::Bind(_) => None,
            })
            .collect();
        assert_eq!(
            skips,
            vec![
                (BindKind::Struct, "outer::A", SkipReason::Excluded),
                (BindKind::Function, "outer::free_fn", SkipReason::Excluded),
                (BindKind::Function, "outer::(anonymous namespace)::hidden_fn", SkipReason::SkipPrefix),
                (BindKind::FunctionTemplate, "outer::inner::identity", SkipReason::Excluded),
            ]
        );
    }

    #[test]
    fn reserved_names_get_a_suffix() {
        assert_eq!(python_name("install"), "install_");
        assert_eq!(python_name("_nb_register"), "_nb_register_");
        assert_eq!(python_name("hadd"), "hadd");
        assert_eq!(python_name("lambda"), "lambda_");
    }
}
