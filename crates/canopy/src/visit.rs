//! Walks a translation unit's cursors and builds the declaration model, keeping only declarations
//! whose expansion location lies in one of the retained files.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use crate::clang::{
    Access, Cursor, CursorKind, Evaluated, File, PrintingPolicy, TemplateArgKind, TranslationUnit, TypeKind,
};
use crate::definitions;
use crate::model::{Type as TypeModel, *};
use crate::structure::{build_structure, TemplateScope};
use crate::types::{build_param_type, build_type, layout_or_unknown, void_type};

pub(crate) struct Visitor<'a, 'tu> {
    tu: &'a TranslationUnit<'tu>,
    policy: PrintingPolicy,
    retained: &'a HashSet<PathBuf>,
    file_cache: HashMap<File, bool>,
    /// Mangled names of the free functions reported so far: a function declared twice is kept once.
    seen_functions: HashSet<String>,
    /// Canonical spellings of the class template specializations reported so far.
    seen_specializations: HashSet<String>,
    /// External definitions met in any file, read and cut when the walk is done.
    definitions: Vec<definitions::Pending>,
    /// The template parameter lists around the declaration being visited: the types of a
    /// template's signature and of a class template's members carry their structure.
    template_scope: TemplateScope,
    pub(crate) out: Declarations,
}

/// Where a record is declared: templates' members are not usable on their own.
#[derive(Clone, Copy, PartialEq, Eq)]
enum RecordContext {
    Plain,
    Template,
}

impl<'a, 'tu> Visitor<'a, 'tu> {
    pub(crate) fn new(tu: &'a TranslationUnit<'tu>, retained: &'a HashSet<PathBuf>) -> Self {
        Visitor {
            tu,
            policy: PrintingPolicy::terse(tu),
            retained,
            file_cache: HashMap::new(),
            seen_functions: HashSet::new(),
            seen_specializations: HashSet::new(),
            definitions: Vec::new(),
            template_scope: TemplateScope::default(),
            out: Declarations::default(),
        }
    }

    fn is_retained(&mut self, c: &Cursor) -> bool {
        let Some(file) = c.expansion_file() else { return false };
        if let Some(&keep) = self.file_cache.get(&file) {
            return keep;
        }
        let keep = self.retained.contains(&canonical_path(&file.path()));
        self.file_cache.insert(file, keep);
        keep
    }

    /// Visits the children of a namespace-like scope (the TU, a namespace, an `extern "C"` block).
    /// Inline namespaces add nothing to qualified names, as in C++ spelling; an anonymous one adds
    /// `(anonymous namespace)`, as clang prints it (shims leave it out).
    pub(crate) fn visit_scope(&mut self, scope: &Cursor, prefix: &str) {
        for c in scope.children() {
            if let Some(d) = definitions::candidate(&c, || semantic_qual_name(&c), || self.location(&c)) {
                self.definitions.push(d);
            }
            match c.kind() {
                CursorKind::Namespace => {
                    let name = c.spelling();
                    if c.is_inline_namespace() {
                        self.visit_scope(&c, prefix);
                    } else if name.is_empty() {
                        self.visit_scope(&c, &join(prefix, ANONYMOUS_NAMESPACE));
                    } else {
                        self.visit_scope(&c, &join(prefix, &name));
                    }
                }
                CursorKind::LinkageSpec => self.visit_scope(&c, prefix),
                _ if !self.is_retained(&c) => {}
                CursorKind::Struct | CursorKind::Class | CursorKind::Union => {
                    if !c.is_definition() || c.is_anonymous() {
                        continue; // anonymous records are reported through the typedef naming them
                    }
                    if c.specialized_template().is_some() {
                        if self.seen_specializations.insert(c.ty().canonical().spelling()) {
                            let spec = self.class_template_specialization(&c, prefix);
                            self.out.class_template_specializations.push(spec);
                        }
                    } else {
                        let s = self.record(&c, &c.spelling(), prefix, RecordContext::Plain);
                        self.out.structs.push(s);
                    }
                }
                CursorKind::Function => {
                    if c.specialized_template().is_some() {
                        continue; // explicit specializations are picked by the C++ compiler
                    }
                    let printed = c.pretty_printed(&self.policy);
                    if is_deleted(&printed) {
                        continue;
                    }
                    let f = self.function(&c, prefix, &printed);
                    self.note_uses_in(&c);
                    // Several declarations of one function: keep the first.
                    if f.mangled_name.is_empty() || self.seen_functions.insert(f.mangled_name.clone()) {
                        self.out.functions.push(f);
                    }
                }
                CursorKind::FunctionTemplate => {
                    let t = self.function_template(&c, prefix);
                    self.out.function_templates.push(t);
                }
                CursorKind::ClassTemplate if c.is_definition() => {
                    let t = self.class_template(&c, prefix);
                    self.out.class_templates.push(t);
                }
                CursorKind::Typedef | CursorKind::TypeAlias => self.typedef(&c, prefix),
                CursorKind::Var => self.note_type_use(&c.ty()),
                CursorKind::Enum if c.is_definition() && !c.is_anonymous() && !c.spelling().is_empty() => {
                    let e = self.enumeration(&c, &c.spelling(), prefix, false);
                    self.out.enums.push(e);
                }
                _ => {}
            }
        }
    }

    /// The declarations, with the external definitions of every retained file (none is a finding
    /// too) and of every other file met that has some.
    pub(crate) fn finish(mut self) -> Declarations {
        let mut retained: Vec<PathBuf> = self.retained.iter().cloned().collect();
        retained.sort();
        self.out.definitions = definitions::collect(std::mem::take(&mut self.definitions), &retained);
        self.out
    }

    fn location(&self, c: &Cursor) -> Location {
        let pos = c.expansion_pos();
        Location { file: pos.file, line: pos.line, column: pos.column }
    }

    fn typedef(&mut self, c: &Cursor, prefix: &str) {
        let name = c.spelling();
        let underlying = c.typedef_underlying();
        // `typedef struct {...} Pair;` names an anonymous record: report it as a struct.
        let decl = underlying.canonical().declaration();
        match decl.kind() {
            CursorKind::Struct | CursorKind::Class | CursorKind::Union
                if decl.is_anonymous() && decl.is_definition() =>
            {
                let s = self.record(&decl, &name, prefix, RecordContext::Plain);
                self.out.structs.push(s);
            }
            CursorKind::Enum if decl.is_anonymous() && decl.is_definition() => {
                let e = self.enumeration(&decl, &name, prefix, false);
                self.out.enums.push(e);
            }
            _ => {}
        }
        let underlying_name = build_type(&underlying).name;
        self.out.typedefs.push(Typedef {
            qual_name: join(prefix, &name),
            name,
            underlying_name,
            location: self.location(c),
            structure: None,
        });
    }

    /// A function or method; `printed` is the declaration as clang prints it.
    fn function(&mut self, c: &Cursor, prefix: &str, printed: &str) -> Function {
        let name = c.spelling();
        let mut params = Vec::new();
        let mut device = false;
        let mut host = false;
        let mut global = false;
        let mut attributes = Vec::new();
        for a in c.children() {
            match a.kind() {
                CursorKind::Param => params.push(ParamVar {
                    name: a.spelling(),
                    type_: self.structured(&a.ty(), build_param_type(&a.ty())),
                    has_default: a.children().iter().any(|e| e.is_expression()) && self.tu.param_has_default(a),
                }),
                CursorKind::DeviceAttr => device = true,
                CursorKind::HostAttr => host = true,
                CursorKind::GlobalAttr => global = true,
                CursorKind::Attr => {
                    if let Some(spelling) = self.attribute_spelling(&a) {
                        attributes.push(spelling);
                    }
                }
                _ => {}
            }
        }
        attributes.sort();
        attributes.dedup();
        let exec_space = match (global, device, host) {
            (true, _, _) => ExecutionSpace::Global,
            (_, true, true) => ExecutionSpace::HostDevice,
            (_, true, false) => ExecutionSpace::Device,
            (_, false, true) => ExecutionSpace::Host,
            _ => ExecutionSpace::Undefined, // no CUDA attribute: a host function to CUDA
        };
        Function {
            qual_name: join(prefix, &name),
            is_operator: is_operator_name(&name),
            name,
            return_type: self.structured(&c.result_type(), build_type(&c.result_type())),
            params,
            exec_space,
            is_constexpr: has_keyword(printed, "constexpr"),
            is_variadic: c.is_variadic(),
            mangled_name: c.mangled_name(),
            attributes,
            location: self.location(c),
        }
    }

    /// The attribute's name as written (`noinline`, `always_inline`, `deprecated`), found at the
    /// attribute's spelling location, inside the macro that wrote it if one did.
    fn attribute_spelling(&self, a: &Cursor) -> Option<String> {
        let word = self.tu.first_spelled_token(*a)?;
        if !word.chars().all(|ch| ch.is_alphanumeric() || ch == '_') {
            return None;
        }
        match word.trim_matches('_') {
            "" | "attribute" | "declspec" | "device" | "host" | "global" => None,
            trimmed => Some(trimmed.to_string()),
        }
    }

    fn method(&mut self, c: &Cursor, record_prefix: &str, printed: &str) -> StructMethod {
        let mut function = self.function(c, record_prefix, printed);
        let kind = match c.kind() {
            CursorKind::Constructor => {
                let (default, copy, mv, converting) = c.constructor_flags();
                if default {
                    MethodKind::DefaultConstructor
                } else if copy {
                    MethodKind::CopyConstructor
                } else if mv {
                    MethodKind::MoveConstructor
                } else if converting {
                    MethodKind::ConvertingConstructor
                } else {
                    MethodKind::OtherConstructor
                }
            }
            CursorKind::Destructor => MethodKind::Destructor,
            CursorKind::Conversion => MethodKind::ConversionFunction,
            _ => MethodKind::Other,
        };
        if matches!(c.kind(), CursorKind::Constructor | CursorKind::Destructor) {
            function.return_type = void_type();
        }
        StructMethod {
            function,
            kind,
            is_const: c.is_const_method(),
            is_static: c.is_static_method(),
            is_virtual: c.is_virtual_method(),
            is_copy_assignment: c.is_copy_assignment(),
            is_move_assignment: c.is_move_assignment(),
        }
    }

    /// A record named `name`, qualified as `prefix::name`.
    fn record(&mut self, c: &Cursor, name: &str, prefix: &str, context: RecordContext) -> Struct {
        let qual_name = join(prefix, name);
        let ty = c.ty();
        let tag = match c.kind() {
            CursorKind::Class => "class",
            CursorKind::Union => "union",
            _ => "struct",
        };
        let mut s = Struct {
            name: name.to_string(),
            qual_name: qual_name.clone(),
            tag: tag.to_string(),
            fields: Vec::new(),
            methods: Vec::new(),
            templated_methods: Vec::new(),
            nested_records: Vec::new(),
            nested_class_templates: Vec::new(),
            nested_typedefs: Vec::new(),
            nested_enums: Vec::new(),
            bases: Vec::new(),
            sizeof_: layout_or_unknown(ty.size_of()),
            alignof_: layout_or_unknown(ty.align_of()),
            location: self.location(c),
        };
        self.record_members(c, &ty, &qual_name, context, AccessKind::Public, &mut s);
        s
    }

    /// Adds the members of `c` to `s`. The members of an anonymous struct or union member are
    /// members of the enclosing record (`s.u` for `struct S { union { int u; }; }`), with offsets
    /// taken from the enclosing record `outer` and access no wider than the anonymous member's.
    fn record_members(
        &mut self,
        c: &Cursor,
        outer: &crate::clang::Type,
        qual_name: &str,
        context: RecordContext,
        max_access: AccessKind,
        s: &mut Struct,
    ) {
        for m in c.children() {
            let access = narrower(access_kind(m.access()), max_access);
            match m.kind() {
                CursorKind::Field => {
                    if context == RecordContext::Plain {
                        self.note_type_use(&m.ty());
                    }
                    let mut f = field(&m, outer, access);
                    f.type_ = self.structured(&m.ty(), f.type_);
                    s.fields.push(f);
                }
                CursorKind::Method | CursorKind::Constructor | CursorKind::Destructor | CursorKind::Conversion
                    if access == AccessKind::Public && !m.is_deleted_method() =>
                {
                    let printed = m.pretty_printed(&self.policy);
                    let method = self.method(&m, qual_name, &printed);
                    if context == RecordContext::Plain {
                        self.note_uses_in(&m);
                    }
                    s.methods.push(method);
                }
                CursorKind::FunctionTemplate if access == AccessKind::Public => {
                    let t = self.function_template(&m, qual_name);
                    s.templated_methods.push(t);
                }
                CursorKind::Struct | CursorKind::Class | CursorKind::Union if m.is_definition() => {
                    if m.is_anonymous_record_member() {
                        self.record_members(&m, outer, qual_name, context, access, s);
                    } else if m.is_anonymous() {
                        // `struct { ... } named_member;`: the field is reported, its type is unnamed.
                    } else {
                        let nested = self.record(&m, &m.spelling(), qual_name, context);
                        s.nested_records.push(nested);
                    }
                }
                CursorKind::ClassTemplate if m.is_definition() => {
                    let t = self.class_template(&m, qual_name);
                    s.nested_class_templates.push(t);
                }
                CursorKind::Enum
                    if context == RecordContext::Plain
                        && access == AccessKind::Public
                        && m.is_definition()
                        && !m.is_anonymous() =>
                {
                    // Enums are not a record member kind of the model: a public one is reported with
                    // the others, under its qualified name (`S::Kind`).
                    let e = self.enumeration(&m, &m.spelling(), qual_name, false);
                    self.out.enums.push(e);
                }
                CursorKind::Enum if access == AccessKind::Public && m.is_definition() && !m.is_anonymous() => {
                    let e = self.enumeration(&m, &m.spelling(), qual_name, true);
                    s.nested_enums.push(e);
                }
                CursorKind::Typedef | CursorKind::TypeAlias if access == AccessKind::Public => {
                    let name = m.spelling();
                    let underlying = m.typedef_underlying();
                    let underlying_name = build_type(&underlying).name;
                    let location = self.location(&m);
                    let structure = self.structure_of(&underlying);
                    s.nested_typedefs.push(Typedef {
                        qual_name: join(qual_name, &name),
                        name,
                        underlying_name,
                        location,
                        structure,
                    });
                }
                CursorKind::BaseSpecifier => {
                    s.bases.push(Base { name: build_type(&m.ty()).name, access });
                }
                _ => {}
            }
        }
    }

    /// `model` with the structure of `t` when inside a template.
    fn structured(&self, t: &crate::clang::Type, mut model: TypeModel) -> TypeModel {
        model.structure = self.structure_of(t);
        model
    }

    /// The structure of `t` when inside a template.
    fn structure_of(&self, t: &crate::clang::Type) -> Option<TypeNode> {
        (!self.template_scope.lists.is_empty()).then(|| build_structure(t, &self.template_scope, &semantic_qual_name))
    }

    /// The template parameters of `c`, each default argument found on it or, for a class
    /// template, on its first declaration (`template <class T, size_t N = dynamic_extent> class
    /// span;` ahead of a definition that repeats no default): C++ merges the defaults of all
    /// declarations, and libraries declare them ahead. Defaults are taken from the first
    /// declaration only where its parameters have the same names, so that its defaults name them.
    fn template_params(&self, c: &Cursor) -> Vec<TemplateParam> {
        let mut params = self.own_template_params(c);
        let first = c.canonical_cursor();
        if c.kind() == CursorKind::ClassTemplate && !first.same_as(c) && params.iter().any(|p| p.default.is_none()) {
            let earlier = self.own_template_params(&first);
            let same_names = earlier.len() == params.len()
                && earlier.iter().zip(&params).all(|(a, b)| a.name == b.name && a.kind == b.kind);
            if same_names {
                for (p, e) in params.iter_mut().zip(earlier) {
                    if p.default.is_none() {
                        p.default = e.default;
                    }
                }
            }
        }
        params
    }

    fn own_template_params(&self, c: &Cursor) -> Vec<TemplateParam> {
        c.children()
            .into_iter()
            .filter_map(|p| {
                let kind = match p.kind() {
                    CursorKind::TemplateTypeParam => TemplateParamKind::Type,
                    CursorKind::TemplateNonTypeParam => TemplateParamKind::NonType,
                    CursorKind::TemplateTemplateParam => TemplateParamKind::Template,
                    _ => return None,
                };
                let (is_pack, default) = split_template_param(&p.pretty_printed(&self.policy));
                let default = default.map(|d| qualified_default(&p, &d));
                // A type parameter's type is the dependent type it names (`T`).
                let type_ = (kind != TemplateParamKind::Template).then(|| build_type(&p.ty()));
                Some(TemplateParam { name: p.spelling(), kind, type_, is_pack, default })
            })
            .collect()
    }

    fn function_template(&mut self, c: &Cursor, prefix: &str) -> FunctionTemplate {
        let template_parameters = self.template_params(c);
        let printed = c.pretty_printed(&self.policy);
        self.template_scope.lists.push(scope_list(&template_parameters));
        let mut function = self.function(c, prefix, &printed);
        self.template_scope.lists.pop();
        if function.mangled_name.is_empty() {
            function.mangled_name = dependent_mangled_name(&function, &template_parameters);
        }
        let method = match c.template_cursor_kind() {
            CursorKind::Method | CursorKind::Constructor | CursorKind::Conversion => Some(MethodInfo {
                kind: match c.template_cursor_kind() {
                    CursorKind::Constructor => MethodKind::OtherConstructor,
                    CursorKind::Conversion => MethodKind::ConversionFunction,
                    _ => MethodKind::Other,
                },
                is_const: c.is_const_method(),
                is_static: c.is_static_method(),
            }),
            _ => None,
        };
        FunctionTemplate {
            num_min_required_args: min_required(&template_parameters),
            qual_name: function.qual_name.clone(),
            template_parameters,
            function,
            method,
        }
    }

    fn class_template(&mut self, c: &Cursor, prefix: &str) -> ClassTemplate {
        let template_parameters = self.template_params(c);
        let outer = self.template_scope.clone();
        self.template_scope.lists.push(scope_list(&template_parameters));
        let depth = self.template_scope.lists.len() - 1;
        self.template_scope.class = Some((join(prefix, &c.spelling()), depth));
        let record = self.record(c, &c.spelling(), prefix, RecordContext::Template);
        self.template_scope = outer;
        ClassTemplate {
            num_min_required_args: min_required(&template_parameters),
            qual_name: record.qual_name.clone(),
            template_parameters,
            record,
        }
    }

    /// An explicit specialization: a complete record whose name carries its arguments
    /// (`ns::Foo<int, 4>`), so its members are qualified as `ns::Foo<int, 4>::member`.
    fn class_template_specialization(&mut self, c: &Cursor, prefix: &str) -> ClassTemplateSpecialization {
        let template = c.specialized_template();
        // Non-type parameter types of the primary template, to spell `bool` arguments as C++ does.
        let param_is_bool: Vec<bool> = template
            .map(|t| {
                t.children()
                    .into_iter()
                    .filter(|p| {
                        matches!(
                            p.kind(),
                            CursorKind::TemplateTypeParam
                                | CursorKind::TemplateNonTypeParam
                                | CursorKind::TemplateTemplateParam
                        )
                    })
                    .map(|p| p.kind() == CursorKind::TemplateNonTypeParam && p.ty().canonical().spelling() == "bool")
                    .collect()
            })
            .unwrap_or_default();
        let n = c.num_template_args().max(0) as u32;
        let actual_template_arguments = (0..n)
            .map(|i| match c.template_arg(i) {
                (TemplateArgKind::Type, Some(t), _) => build_type(&t).name,
                (TemplateArgKind::Integral, _, v) if param_is_bool.get(i as usize) == Some(&true) => {
                    (if v != 0 { "true" } else { "false" }).to_string()
                }
                (TemplateArgKind::Integral, _, v) => v.to_string(),
                _ => String::from("?"),
            })
            .collect::<Vec<_>>();
        let name = c.spelling();
        let specialized_name = format!("{name}<{}>", actual_template_arguments.join(", "));
        let mut record = self.record(c, &specialized_name, prefix, RecordContext::Plain);
        record.name = name;
        let template_qual_name = template.map(|t| semantic_qual_name(&t)).unwrap_or_default();
        ClassTemplateSpecialization { record, actual_template_arguments, specialized_name, template_qual_name }
    }

    /// Reports the class template specialization `t` names (through pointers, references and
    /// arrays) when it is complete and its template is in a retained file: specializations a
    /// header uses implicitly (a field of type `Complete<float>`, a local `BlockScan<int, 128>`)
    /// are reported with the explicit ones. An implicit instantiation's cursor has no children:
    /// its fields are read from its type, and it has no methods in the model.
    fn note_type_use(&mut self, t: &crate::clang::Type) {
        let mut t = t.canonical();
        while matches!(
            t.kind(),
            TypeKind::Pointer | TypeKind::LValueRef | TypeKind::RValueRef | TypeKind::ConstantArray
        ) {
            t = if t.kind() == TypeKind::ConstantArray { t.element() } else { t.pointee() }.canonical();
        }
        if t.kind() != TypeKind::Record {
            return;
        }
        let decl = t.declaration();
        if decl.specialized_template().is_none() || !decl.is_definition() || !self.is_retained(&decl) {
            return;
        }
        if !self.seen_specializations.insert(t.spelling()) {
            return;
        }
        let prefix = decl.semantic_parent().map(|p| semantic_qual_name(&p)).unwrap_or_default();
        let mut spec = self.class_template_specialization(&decl, &prefix);
        if spec.record.fields.is_empty() && spec.record.methods.is_empty() {
            spec.record.fields = t.fields().iter().map(|f| field(f, &t, access_kind(f.access()))).collect();
        }
        self.out.class_template_specializations.push(spec);
    }

    /// Notes the types of the variables, parameters and fields declared in `c` and below it (a
    /// function's parameters and body).
    fn note_uses_in(&mut self, c: &Cursor) {
        for ch in c.children() {
            match ch.kind() {
                CursorKind::Var | CursorKind::Param | CursorKind::Field => self.note_type_use(&ch.ty()),
                _ => {}
            }
            self.note_uses_in(&ch);
        }
    }

    fn enumeration(&mut self, c: &Cursor, name: &str, prefix: &str, in_template: bool) -> Enum {
        let underlying_type = build_type(&c.enum_integer_type());
        let unsigned = matches!(underlying_type.shape, TypeShape::Int { signed: false, .. } | TypeShape::Bool);
        let mut enumerators = Vec::new();
        let mut enumerator_values = Vec::new();
        // In a class template clang leaves the enumerators' values at 0 until the class is
        // instantiated: there a value is its initializer's, where that evaluates without the
        // template's arguments, or one past the previous value; else empty (unknown).
        let dependent = in_template || underlying_type.shape == TypeShape::Dependent;
        // The previous enumerator's value: `None` before the first, `Some(None)` when unknown.
        let mut previous: Option<Option<i128>> = None;
        for e in c.children().into_iter().filter(|e| e.kind() == CursorKind::EnumConstant) {
            enumerators.push(e.spelling());
            if !dependent {
                enumerator_values.push(e.enum_value(unsigned));
                continue;
            }
            let value = match e.children().first() {
                Some(init) => match init.evaluate() {
                    Some(Evaluated::Int(v)) => Some(i128::from(v)),
                    Some(Evaluated::UInt(v)) => Some(i128::from(v)),
                    _ => None,
                },
                None => previous.map_or(Some(0), |p| p.map(|p| p + 1)),
            };
            previous = Some(value);
            enumerator_values.push(value.map(|v| v.to_string()).unwrap_or_default());
        }
        Enum {
            name: name.to_string(),
            qual_name: join(prefix, name),
            enumerators,
            enumerator_values,
            underlying_type,
            is_scoped: c.is_scoped_enum(),
            location: self.location(c),
        }
    }
}

/// How clang spells an anonymous namespace in qualified names.
const ANONYMOUS_NAMESPACE: &str = "(anonymous namespace)";

/// A template's parameters as its scope lists them: name, and whether a non-type parameter.
fn scope_list(params: &[TemplateParam]) -> Vec<(String, bool)> {
    params.iter().map(|p| (p.name.clone(), p.kind == TemplateParamKind::NonType)).collect()
}

/// A field of the record whose type is `outer`, with its byte offset (unknown for bit-fields).
fn field(m: &Cursor, outer: &crate::clang::Type, access: AccessKind) -> Field {
    let name = m.spelling();
    let offset = if m.is_bitfield() { UNKNOWN_LAYOUT } else { layout_or_unknown(outer.offset_of_bits(&name)) };
    Field { name, type_: build_type(&m.ty()), access, offset: if offset >= 0 { offset / 8 } else { offset } }
}

/// A stand-in for the mangled name of a dependent function template, which has none: stable and
/// distinct per overload (qualified name, template parameters, parameter types), never a symbol.
fn dependent_mangled_name(f: &Function, params: &[TemplateParam]) -> String {
    let mut text = f.qual_name.clone();
    for p in params {
        text.push_str(&format!("|{}{:?}", p.name, p.kind));
    }
    for p in &f.params {
        text.push('|');
        text.push_str(&p.type_.name);
    }
    // FNV-1a, 64 bits: the same text gives the same name in every run and on every machine.
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for b in text.bytes() {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    format!("__ast_canopy_dependent_{hash:016x}")
}

fn access_kind(a: Access) -> AccessKind {
    match a {
        Access::Protected => AccessKind::Protected,
        Access::Private => AccessKind::Private,
        _ => AccessKind::Public,
    }
}

/// The narrower of two access levels.
fn narrower(a: AccessKind, b: AccessKind) -> AccessKind {
    let rank = |k: AccessKind| match k {
        AccessKind::Public => 0,
        AccessKind::Protected => 1,
        AccessKind::Private => 2,
    };
    if rank(a) >= rank(b) {
        a
    } else {
        b
    }
}

fn min_required(params: &[TemplateParam]) -> usize {
    params.iter().filter(|p| p.default.is_none() && !p.is_pack).count()
}

fn join(prefix: &str, name: &str) -> String {
    if prefix.is_empty() {
        name.to_string()
    } else {
        format!("{prefix}::{name}")
    }
}

/// The qualified name of a declaration from its semantic parents, as `visit_scope` builds it: no
/// inline namespaces or `extern "C"` blocks, `(anonymous namespace)` for an anonymous one ("" for
/// the translation unit).
fn semantic_qual_name(c: &Cursor) -> String {
    let mut parts = Vec::new();
    let mut scope = Some(*c);
    while let Some(p) = scope {
        match p.kind() {
            CursorKind::TranslationUnit => break,
            CursorKind::LinkageSpec => {}
            CursorKind::Namespace if p.is_inline_namespace() => {}
            CursorKind::Namespace if p.spelling().is_empty() => parts.push(ANONYMOUS_NAMESPACE.to_string()),
            _ => parts.push(p.spelling()),
        }
        scope = p.semantic_parent();
    }
    parts.reverse();
    parts.join("::")
}

/// Default argument `text` of template parameter `p`, each name that starts a name as written
/// (not after `::`, `.` or `->`) and that clang resolves to a declaration at namespace scope made
/// fully qualified with a leading `::` (`other::width` written in namespace `outer` is
/// `::other::width`; an unscoped enumerator is qualified by its enum's namespace). Names clang
/// does not resolve (template parameters, dependent names, macros' literals, keywords) stay as
/// written, as does a name that two references in the default resolve differently.
fn qualified_default(p: &Cursor, text: &str) -> String {
    let mut names: HashMap<String, Option<String>> = HashMap::new();
    collect_namespace_refs(p, &mut names);
    if names.values().all(Option::is_none) {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len() + 16);
    let bytes = text.as_bytes();
    let word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let mut i = 0;
    while i < bytes.len() {
        if (bytes[i].is_ascii_alphabetic() || bytes[i] == b'_') && (i == 0 || !word(bytes[i - 1])) {
            let end = (i..bytes.len()).find(|&j| !word(bytes[j])).unwrap_or(bytes.len());
            let before = text[..i].trim_end();
            let member = before.ends_with("::") || before.ends_with('.') || before.ends_with("->");
            match names.get(&text[i..end]) {
                Some(Some(q)) if !member => {
                    out.push_str("::");
                    out.push_str(q);
                }
                _ => out.push_str(&text[i..end]),
            }
            i = end;
            continue;
        }
        let ch = text[i..].chars().next().unwrap_or(' ');
        out.push(ch);
        i += ch.len_utf8();
    }
    out
}

/// The references under `c` that name a declaration at namespace scope: its name -> its qualified
/// name (None where two of them name different declarations).
fn collect_namespace_refs(c: &Cursor, names: &mut HashMap<String, Option<String>>) {
    for child in c.children() {
        if matches!(
            child.kind(),
            CursorKind::NamespaceRef | CursorKind::TypeRef | CursorKind::TemplateRef | CursorKind::DeclRefExpr
        ) {
            if let Some(d) = child.referenced() {
                if let Some((name, qual)) = namespace_member(&d) {
                    let entry = names.entry(name).or_insert_with(|| Some(qual.clone()));
                    if entry.as_deref() != Some(qual.as_str()) {
                        *entry = None;
                    }
                }
            }
        }
        collect_namespace_refs(&child, names);
    }
}

/// (name, qualified name) of `d` when it is declared at namespace scope (an unscoped enumerator:
/// when its enum is, qualified by the enum's namespace).
fn namespace_member(d: &Cursor) -> Option<(String, String)> {
    let name = d.spelling();
    let mut parent = d.semantic_parent()?;
    if d.kind() == CursorKind::EnumConstant {
        if parent.is_scoped_enum() {
            return None;
        }
        parent = parent.semantic_parent()?;
    }
    if name.is_empty()
        || !matches!(parent.kind(), CursorKind::Namespace | CursorKind::TranslationUnit | CursorKind::LinkageSpec)
    {
        return None;
    }
    let scope = semantic_qual_name(&parent);
    Some((name.clone(), if scope.is_empty() { name } else { format!("{scope}::{name}") }))
}

/// Splits a template parameter as clang prints it (`typename ...Ts`, `int N = 4`,
/// `template <typename, int = 3> class C = Box`) into (is a pack, default argument).
fn split_template_param(printed: &str) -> (bool, Option<String>) {
    let mut depth = 0i32;
    let mut is_pack = false;
    let bytes = printed.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        match b {
            b'<' | b'(' | b'[' | b'{' => depth += 1,
            b'>' | b')' | b']' | b'}' => depth -= 1,
            b'.' if depth == 0 && printed[i..].starts_with("...") => is_pack = true,
            b'=' if depth == 0 && printed[..i].ends_with(' ') && printed[i + 1..].starts_with(' ') => {
                return (is_pack, Some(printed[i + 1..].trim().to_string()));
            }
            _ => {}
        }
    }
    (is_pack, None)
}

/// Whether `keyword` appears as a word of `printed` outside string literals.
fn has_keyword(printed: &str, keyword: &str) -> bool {
    let mut in_string = false;
    let mut word_start: Option<usize> = None;
    let mut prev = '\0';
    for (i, ch) in printed.char_indices().chain(std::iter::once((printed.len(), ' '))) {
        if in_string {
            if ch == '"' && prev != '\\' {
                in_string = false;
            }
        } else if ch.is_alphanumeric() || ch == '_' {
            word_start.get_or_insert(i);
        } else {
            if let Some(start) = word_start.take() {
                if &printed[start..i] == keyword {
                    return true;
                }
            }
            in_string = ch == '"';
        }
        prev = ch;
    }
    false
}

/// Whether clang printed the function as deleted (`= delete`, or `= delete("reason")`).
fn is_deleted(printed: &str) -> bool {
    let printed = printed.trim_end();
    printed.ends_with(" = delete") || (printed.ends_with("\")") && printed.contains(" = delete(\""))
}

fn is_operator_name(name: &str) -> bool {
    name.strip_prefix("operator")
        .is_some_and(|rest| rest.chars().next().is_some_and(|ch| !ch.is_alphanumeric() && ch != '_'))
}

/// The canonical form of `p` (itself when it cannot be resolved), byte for byte: paths are compared
/// as paths, never through a lossy string, so a path that is not UTF-8 matches itself.
pub(crate) fn canonical_path(p: &Path) -> PathBuf {
    std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn template_param_printing() {
        assert_eq!(split_template_param("typename T"), (false, None));
        assert_eq!(split_template_param("typename ...Ts"), (true, None));
        assert_eq!(split_template_param("int N = 4"), (false, Some("4".into())));
        assert_eq!(split_template_param("template <typename, int = 3> class C = Box"), (false, Some("Box".into())));
        assert_eq!(split_template_param("template <typename...> class C"), (false, None));
        assert_eq!(split_template_param("bool B = (1 == 2)"), (false, Some("(1 == 2)".into())));
    }

    #[test]
    fn deleted() {
        assert!(is_deleted("__attribute__((device)) void f(double) = delete"));
        assert!(is_deleted("void f(double) = delete(\"use float\")"));
        assert!(!is_deleted("void f(double)"));
    }

    #[test]
    fn keywords() {
        assert!(has_keyword("__attribute__((device)) constexpr int f(int a)", "constexpr"));
        assert!(!has_keyword("int constexpr_value(int a)", "constexpr"));
        assert!(!has_keyword("__attribute__((deprecated(\"not constexpr\"))) int f()", "constexpr"));
    }
}
