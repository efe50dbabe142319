//! Walks a translation unit's cursors and builds the declaration model, keeping only declarations
//! whose expansion location lies in one of the retained files.

use std::collections::{HashMap, HashSet};

use crate::clang::{Access, Cursor, CursorKind, TemplateArgKind, TranslationUnit, Type, TypeKind};
use crate::model::*;

/// Typedef names that stay as written instead of being resolved to their canonical type.
const STDINT_NAMES: &[&str] = &[
    "int8_t", "int16_t", "int32_t", "int64_t", "uint8_t", "uint16_t", "uint32_t", "uint64_t", "intptr_t",
    "uintptr_t",
];

pub(crate) struct Visitor<'a, 'tu> {
    tu: &'a TranslationUnit<'tu>,
    retained: &'a HashSet<String>,
    file_cache: HashMap<usize, bool>,
    pub(crate) out: Declarations,
}

impl<'a, 'tu> Visitor<'a, 'tu> {
    pub(crate) fn new(tu: &'a TranslationUnit<'tu>, retained: &'a HashSet<String>) -> Self {
        Visitor { tu, retained, file_cache: HashMap::new(), out: Declarations::default() }
    }

    fn is_retained(&mut self, c: &Cursor) -> bool {
        let pos = c.expansion_pos();
        if let Some(&keep) = self.file_cache.get(&pos.file_id) {
            return keep;
        }
        let keep = self.retained.contains(&canonical_path(&pos.file));
        self.file_cache.insert(pos.file_id, keep);
        keep
    }

    /// Visits the children of a namespace-like scope (the TU, a namespace, an `extern "C"` block).
    pub(crate) fn visit_scope(&mut self, scope: &Cursor, prefix: &str) {
        let children = scope.children();
        for (i, c) in children.iter().enumerate() {
            match c.kind() {
                CursorKind::Namespace => {
                    let name = c.spelling();
                    let inner = if name.is_empty() { prefix.to_string() } else { join(prefix, &name) };
                    self.visit_scope(c, &inner);
                }
                CursorKind::LinkageSpec => self.visit_scope(c, prefix),
                _ if !self.is_retained(c) => {}
                CursorKind::Struct | CursorKind::Class | CursorKind::Union => {
                    if !c.is_definition() || c.is_anonymous() {
                        continue; // anonymous records are reported through the typedef naming them
                    }
                    if c.specialized_template().is_some() {
                        let spec = self.class_template_specialization(c, prefix);
                        self.out.class_template_specializations.push(spec);
                    } else {
                        let s = self.record(c, &c.spelling(), prefix);
                        self.out.structs.push(s);
                    }
                }
                CursorKind::Function => {
                    if c.specialized_template().is_some() {
                        continue; // explicit specializations are picked by the C++ compiler
                    }
                    // Several declarations of one function: keep the first.
                    let f = self.function(c, prefix);
                    if !self.out.functions.iter().any(|g| g.mangled_name == f.mangled_name && !f.mangled_name.is_empty()) {
                        self.out.functions.push(f);
                    }
                }
                CursorKind::FunctionTemplate => {
                    let t = self.function_template(c, prefix);
                    self.out.function_templates.push(t);
                }
                CursorKind::ClassTemplate => {
                    if c.is_definition() {
                        let t = self.class_template(c, prefix);
                        self.out.class_templates.push(t);
                    }
                }
                CursorKind::Typedef | CursorKind::TypeAlias => self.typedef(c, prefix, children.get(i.wrapping_sub(1))),
                CursorKind::Enum => {
                    if c.is_definition() && !c.spelling().is_empty() && !c.is_anonymous() {
                        let e = self.enumeration(c, &c.spelling(), prefix);
                        self.out.enums.push(e);
                    }
                }
                _ => {}
            }
        }
    }

    fn location(&self, c: &Cursor) -> Location {
        let pos = c.expansion_pos();
        Location { file: pos.file, line: pos.line, column: pos.column }
    }

    fn typedef(&mut self, c: &Cursor, prefix: &str, _prev: Option<&Cursor>) {
        let name = c.spelling();
        let underlying = c.typedef_underlying();
        // `typedef struct {...} Pair;` names an anonymous record: report it as a struct.
        let decl = underlying.canonical().declaration();
        match decl.kind() {
            CursorKind::Struct | CursorKind::Class | CursorKind::Union
                if decl.is_anonymous() && decl.is_definition() =>
            {
                let s = self.record(&decl, &name, prefix);
                self.out.structs.push(s);
            }
            CursorKind::Enum if decl.is_anonymous() && decl.is_definition() => {
                let e = self.enumeration(&decl, &name, prefix);
                self.out.enums.push(e);
            }
            _ => {}
        }
        let underlying_name = self.ty(&underlying).name;
        self.out.typedefs.push(Typedef { qual_name: join(prefix, &name), name, underlying_name, location: self.location(c) });
    }

    pub(crate) fn ty(&self, t: &Type) -> Type_ {
        build_type(t)
    }

    fn function(&mut self, c: &Cursor, prefix: &str) -> Function {
        let name = c.spelling();
        let params = c
            .children()
            .into_iter()
            .filter(|p| p.kind() == CursorKind::Param)
            .map(|p| ParamVar { name: p.spelling(), type_: build_type(&p.ty()) })
            .collect();
        let mut device = false;
        let mut host = false;
        let mut global = false;
        let mut attributes = Vec::new();
        for a in c.children() {
            match a.kind() {
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
            _ => ExecutionSpace::Host,
        };
        let is_constexpr = self.is_constexpr(c, &name);
        Function {
            qual_name: join(prefix, &name),
            is_operator: is_operator_name(&name),
            name,
            return_type: build_type(&c.result_type()),
            params,
            exec_space,
            is_constexpr,
            is_variadic: c.is_variadic(),
            mangled_name: c.mangled_name(),
            attributes,
            location: self.location(c),
        }
    }

    /// `constexpr` is not exposed by libclang for functions; it is a keyword before the name.
    fn is_constexpr(&self, c: &Cursor, name: &str) -> bool {
        let toks = self.tu.tokens(*c);
        let first_word = name.split(|ch: char| !ch.is_alphanumeric() && ch != '_').next().unwrap_or(name);
        toks.iter().take_while(|t| t.as_str() != first_word && t.as_str() != "(").any(|t| t == "constexpr")
    }

    fn attribute_spelling(&self, a: &Cursor) -> Option<String> {
        let toks = self.tu.tokens(*a);
        let word = toks.into_iter().find(|t| t.chars().all(|ch| ch.is_alphanumeric() || ch == '_') && !t.is_empty())?;
        let trimmed = word.trim_matches('_');
        match trimmed {
            "" | "attribute" | "declspec" | "device" | "host" | "global" => None,
            _ => Some(trimmed.to_string()),
        }
    }

    fn method(&mut self, c: &Cursor, record_prefix: &str) -> StructMethod {
        let mut function = self.function(c, record_prefix);
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

    fn record(&mut self, c: &Cursor, name: &str, prefix: &str) -> Struct {
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
            bases: Vec::new(),
            sizeof_: layout_or_unknown(ty.size_of()),
            alignof_: layout_or_unknown(ty.align_of()),
            location: self.location(c),
        };
        for m in c.children() {
            let access = m.access();
            match m.kind() {
                CursorKind::Field => {
                    let offset = if m.is_bitfield() { UNKNOWN_LAYOUT } else { layout_or_unknown(m.field_offset_bits()).max(-1) };
                    s.fields.push(Field {
                        name: m.spelling(),
                        type_: build_type(&m.ty()),
                        access: access_kind(access),
                        offset: if offset >= 0 { offset / 8 } else { offset },
                    });
                }
                CursorKind::Method | CursorKind::Constructor | CursorKind::Destructor | CursorKind::Conversion => {
                    if access == Access::Public && !m.is_deleted_method() {
                        let method = self.method(&m, &qual_name);
                        s.methods.push(method);
                    }
                }
                CursorKind::FunctionTemplate if access == Access::Public => {
                    let t = self.function_template(&m, &qual_name);
                    s.templated_methods.push(t);
                }
                CursorKind::Struct | CursorKind::Class | CursorKind::Union
                    if m.is_definition() && !m.is_anonymous() =>
                {
                    let nested = self.record(&m, &m.spelling(), &qual_name);
                    s.nested_records.push(nested);
                }
                CursorKind::ClassTemplate if m.is_definition() => {
                    let t = self.class_template(&m, &qual_name);
                    s.nested_class_templates.push(t);
                }
                CursorKind::BaseSpecifier => {
                    s.bases.push(Base { name: build_type(&m.ty()).name, access: access_kind(access) });
                }
                _ => {}
            }
        }
        s
    }

    fn template_params(&self, c: &Cursor) -> Vec<TemplateParam> {
        c.children()
            .into_iter()
            .filter_map(|p| {
                let kind = match p.kind() {
                    CursorKind::TemplateTypeParam => TemplateParamKind::Type,
                    CursorKind::TemplateNonTypeParam => TemplateParamKind::NonType,
                    CursorKind::TemplateTemplateParam => TemplateParamKind::Template,
                    _ => return None,
                };
                let toks = self.tu.tokens(p);
                let is_pack = toks.iter().any(|t| t == "...");
                let default = toks.iter().position(|t| t == "=").map(|i| join_tokens(&toks[i + 1..]));
                let type_ = (kind == TemplateParamKind::NonType).then(|| build_type(&p.ty()));
                Some(TemplateParam { name: p.spelling(), kind, type_, is_pack, default })
            })
            .collect()
    }

    fn function_template(&mut self, c: &Cursor, prefix: &str) -> FunctionTemplate {
        let template_parameters = self.template_params(c);
        let function = self.function(c, prefix);
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
        let record = self.record(c, &c.spelling(), prefix);
        ClassTemplate {
            num_min_required_args: min_required(&template_parameters),
            qual_name: record.qual_name.clone(),
            template_parameters,
            record,
        }
    }

    fn class_template_specialization(&mut self, c: &Cursor, prefix: &str) -> ClassTemplateSpecialization {
        let record = self.record(c, &c.spelling(), prefix);
        let n = c.num_template_args().max(0) as u32;
        let actual_template_arguments = (0..n)
            .map(|i| match c.template_arg(i) {
                (TemplateArgKind::Type, Some(t), _) => build_type(&t).name,
                (TemplateArgKind::Integral, _, v) => v.to_string(),
                _ => String::from("?"),
            })
            .collect::<Vec<_>>();
        let template_qual_name = c.specialized_template().map(|t| qualified_name(&t)).unwrap_or_default();
        let specialized_name = format!("{}<{}>", record.name, actual_template_arguments.join(", "));
        ClassTemplateSpecialization { record, actual_template_arguments, specialized_name, template_qual_name }
    }

    fn enumeration(&mut self, c: &Cursor, name: &str, prefix: &str) -> Enum {
        let underlying_type = build_type(&c.enum_integer_type());
        let unsigned = matches!(underlying_type.shape, TypeShape::Int { signed: false, .. } | TypeShape::Bool);
        let mut enumerators = Vec::new();
        let mut enumerator_values = Vec::new();
        for e in c.children().into_iter().filter(|e| e.kind() == CursorKind::EnumConstant) {
            enumerators.push(e.spelling());
            enumerator_values.push(e.enum_value(unsigned));
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

type Type_ = crate::model::Type;

fn void_type() -> Type_ {
    Type_ {
        name: "void".into(),
        unqualified_non_ref_type_name: "void".into(),
        ref_kind: RefKind::None,
        is_const: false,
        shape: TypeShape::Void,
    }
}

fn layout_or_unknown(v: i64) -> i64 {
    if v < 0 {
        UNKNOWN_LAYOUT
    } else {
        v
    }
}

fn access_kind(a: Access) -> AccessKind {
    match a {
        Access::Protected => AccessKind::Protected,
        Access::Private => AccessKind::Private,
        _ => AccessKind::Public,
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

/// Joins tokens back into source text, with spaces only where two words would otherwise merge.
fn join_tokens(toks: &[String]) -> String {
    let mut out = String::new();
    for t in toks {
        let word = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
        if word(out.chars().last()) && word(t.chars().next()) {
            out.push(' ');
        }
        out.push_str(t);
    }
    out
}

/// The qualified name of a declaration, from its semantic parents.
fn qualified_name(c: &Cursor) -> String {
    // The display of a fully qualified name is the canonical spelling of its type when it has one.
    let t = c.ty();
    if t.kind() != TypeKind::Other && t.kind() != TypeKind::Dependent {
        return t.canonical().spelling();
    }
    c.spelling()
}

fn is_operator_name(name: &str) -> bool {
    name.strip_prefix("operator").is_some_and(|rest| rest.chars().next().is_some_and(|ch| !ch.is_alphanumeric() && ch != '_'))
}

pub(crate) fn canonical_path(p: &str) -> String {
    std::fs::canonicalize(p).map(|p| p.to_string_lossy().into_owned()).unwrap_or_else(|_| p.to_string())
}

/// Builds the model of a type.
pub(crate) fn build_type(t: &Type) -> Type_ {
    let (inner, ref_kind) = match t.kind() {
        TypeKind::LValueRef => (t.pointee(), RefKind::Lvalue),
        TypeKind::RValueRef => (t.pointee(), RefKind::Rvalue),
        _ => (*t, RefKind::None),
    };
    let spelled = spell(&inner, true);
    let bare = spell(&inner, false);
    let name = match ref_kind {
        RefKind::None => spelled,
        RefKind::Lvalue => format!("{spelled} &"),
        RefKind::Rvalue => format!("{spelled} &&"),
    };
    Type_ { name, unqualified_non_ref_type_name: bare, ref_kind, is_const: inner.is_const(), shape: shape(&inner) }
}

fn desugar(t: &Type) -> Type {
    match t.kind() {
        TypeKind::Elaborated => desugar(&t.named()),
        _ => *t,
    }
}

fn is_stdint(t: &Type) -> Option<String> {
    let t = desugar(t);
    if t.kind() == TypeKind::Typedef {
        let name = t.typedef_name();
        let base = name.rsplit("::").next().unwrap_or(&name).to_string();
        if STDINT_NAMES.contains(&base.as_str()) {
            return Some(base);
        }
        // A typedef of a stdint typedef (`typedef uint32_t word;`) resolves to the stdint name.
        return is_stdint(&t.declaration().typedef_underlying());
    }
    None
}

/// Spells a non-reference type: canonical, except stdint typedefs; with or without cv-qualifiers.
fn spell(t: &Type, with_cv: bool) -> String {
    let cv = |s: String, t: &Type| -> String {
        if !with_cv {
            return s;
        }
        let mut q = String::new();
        if t.is_const() {
            q.push_str("const ");
        }
        if t.is_volatile() {
            q.push_str("volatile ");
        }
        format!("{q}{s}")
    };
    if let Some(name) = is_stdint(t) {
        return cv(name, t);
    }
    let canon = t.canonical();
    match canon.kind() {
        TypeKind::Pointer => {
            let pointee = pointee_preserving_stdint(t);
            let inner = spell(&pointee, with_cv);
            let mut s = if inner.ends_with('*') { format!("{inner}*") } else { format!("{inner} *") };
            if with_cv && canon.is_const() {
                s.push_str("const");
            }
            s
        }
        TypeKind::LValueRef | TypeKind::RValueRef => build_type(t).name,
        _ => {
            let cs = canon.spelling();
            // Dependent types have no useful canonical spelling (`type-parameter-0-0`): keep T.
            let s = if cs.contains("type-parameter") { t.spelling() } else { cs };
            if with_cv {
                s
            } else {
                strip_cv(&s)
            }
        }
    }
}

/// The pointee of `t`, looking through typedefs one step at a time so stdint names survive.
fn pointee_preserving_stdint(t: &Type) -> Type {
    let d = desugar(t);
    match d.kind() {
        TypeKind::Pointer => d.pointee(),
        TypeKind::Typedef => pointee_preserving_stdint(&d.declaration().typedef_underlying()),
        _ => d.canonical().pointee(),
    }
}

fn strip_cv(s: &str) -> String {
    let mut out = s.to_string();
    for q in ["const ", "volatile "] {
        while let Some(rest) = out.strip_prefix(q) {
            out = rest.to_string();
        }
    }
    out
}

fn shape(t: &Type) -> TypeShape {
    let c = t.canonical();
    match c.kind() {
        TypeKind::Void => TypeShape::Void,
        TypeKind::Bool => TypeShape::Bool,
        TypeKind::Char | TypeKind::SignedInt => TypeShape::Int { size: c.size_of().max(0) as u32, signed: true },
        TypeKind::UnsignedInt => TypeShape::Int { size: c.size_of().max(0) as u32, signed: false },
        TypeKind::Float => TypeShape::Float { size: c.size_of().max(0) as u32 },
        TypeKind::Pointer => TypeShape::Pointer { pointee: Box::new(build_type(&pointee_preserving_stdint(t))) },
        TypeKind::ConstantArray => TypeShape::Array { element: Box::new(build_type(&c.element())), len: c.array_len() },
        TypeKind::IncompleteArray => TypeShape::Array { element: Box::new(build_type(&c.element())), len: -1 },
        TypeKind::Record => TypeShape::Record { size: layout_or_unknown(c.size_of()), align: layout_or_unknown(c.align_of()) },
        TypeKind::Enum => TypeShape::Enum { size: layout_or_unknown(c.size_of()) },
        TypeKind::Dependent => TypeShape::Dependent,
        _ => {
            if c.spelling().contains("type-parameter") {
                TypeShape::Dependent
            } else {
                TypeShape::Other
            }
        }
    }
}
