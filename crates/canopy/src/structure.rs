//! The structure of the types of a template's signature (`model::TypeNode`), built from clang's
//! type tree: template parameters by depth and index, packs, references, pointers, arrays with
//! their extents, template-ids with their arguments, and the enclosing class template itself.
//! Where libclang's C interface exposes no node (a pack expansion's pattern, a dependent array's
//! extent, a non-type template argument), the part is read from clang's own printing of that node.

use crate::clang::{Cursor, Type, TypeKind};
use crate::model::{Extent, TemplateArg, TemplateId, TypeNode};
use crate::types::{build_type, spell_unqualified};

/// The template parameter lists in scope, outermost first (clang's depth is the index), and the
/// class template whose members are being built, if any.
#[derive(Clone, Default)]
pub(crate) struct TemplateScope {
    /// Per depth: each parameter's name and whether it is a non-type parameter.
    pub(crate) lists: Vec<Vec<(String, bool)>>,
    /// The enclosing class template: its qualified name, and the depth of its parameters.
    pub(crate) class: Option<(String, usize)>,
}

impl TemplateScope {
    fn type_param(&self, depth: u32, index: u32) -> Option<&str> {
        let (name, non_type) = self.lists.get(depth as usize)?.get(index as usize)?;
        (!non_type && !name.is_empty()).then_some(name.as_str())
    }

    fn is_non_type_param(&self, name: &str) -> bool {
        self.lists.iter().flatten().any(|(n, non_type)| *non_type && n == name)
    }

    fn is_type_param(&self, name: &str) -> Option<(u32, u32)> {
        self.lists.iter().enumerate().find_map(|(d, list)| {
            list.iter().position(|(n, non_type)| !non_type && n == name).map(|i| (d as u32, i as u32))
        })
    }
}

/// `type-parameter-D-I` (clang's canonical spelling of a template type parameter): (D, I).
fn canonical_param(spelling: &str) -> Option<(u32, u32)> {
    let rest = spelling.trim().strip_prefix("const ").unwrap_or(spelling.trim());
    let (depth, index) = rest.strip_prefix("type-parameter-")?.split_once('-')?;
    Some((depth.parse().ok()?, index.parse().ok()?))
}

fn with_const(node: TypeNode, c: bool) -> TypeNode {
    if !c {
        return node;
    }
    match node {
        TypeNode::Param { name, depth, index, .. } => TypeNode::Param { name, depth, index, is_const: true },
        TypeNode::Pointer { pointee, .. } => TypeNode::Pointer { pointee, is_const: true },
        TypeNode::SelfClass { .. } => TypeNode::SelfClass { is_const: true },
        TypeNode::SelfMember { member, .. } => TypeNode::SelfMember { member, is_const: true },
        TypeNode::Named { spelling, template, .. } => TypeNode::Named { spelling, template, is_const: true },
        other => other,
    }
}

/// The structure of `t` in `scope`.
pub(crate) fn build_structure(t: &Type, scope: &TemplateScope, qual_of: &dyn Fn(&Cursor) -> String) -> TypeNode {
    Builder { scope, qual_of }.node(t)
}

struct Builder<'a> {
    scope: &'a TemplateScope,
    qual_of: &'a dyn Fn(&Cursor) -> String,
}

impl Builder<'_> {
    fn node(&self, t: &Type) -> TypeNode {
        let spelling = t.spelling();
        match t.kind() {
            TypeKind::LValueRef | TypeKind::RValueRef => {
                TypeNode::Ref { rvalue: t.kind() == TypeKind::RValueRef, referee: Box::new(self.node(&t.pointee())) }
            }
            TypeKind::Elaborated => with_const(self.node(&t.named()), t.is_const()),
            TypeKind::Pointer => {
                TypeNode::Pointer { pointee: Box::new(self.node(&t.pointee())), is_const: t.is_const() }
            }
            TypeKind::ConstantArray => TypeNode::Array {
                element: Box::new(self.node(&t.element())),
                extent: Extent::Literal { value: t.array_len().max(0) as u64 },
            },
            TypeKind::IncompleteArray => TypeNode::Array {
                element: Box::new(self.node(&t.element())),
                extent: Extent::Expr { text: String::new() },
            },
            _ if spelling.ends_with("...") => TypeNode::Pack { pattern: Box::new(self.pack_pattern(&spelling)) },
            _ if spelling.ends_with(']') => TypeNode::Array {
                element: Box::new(self.node(&t.element())),
                extent: self.extent(last_brackets(&spelling)),
            },
            TypeKind::Typedef if !is_stdint(t) => {
                let underlying = self.node(&t.declaration().typedef_underlying());
                let plain = is_plain(&underlying);
                match self.self_member(t) {
                    Some(member) if !plain => TypeNode::SelfMember { member, is_const: t.is_const() },
                    _ => with_const(underlying, t.is_const()),
                }
            }
            _ => {
                if let Some((depth, index)) = canonical_param(&t.canonical().spelling()) {
                    let written = spell_unqualified(t);
                    let name = self.scope.type_param(depth, index).map(str::to_string).unwrap_or(written);
                    return TypeNode::Param { name, depth, index, is_const: t.is_const() };
                }
                if self.is_self(t) {
                    return TypeNode::SelfClass { is_const: t.is_const() };
                }
                if let Some(member) = self.self_member(t) {
                    return TypeNode::SelfMember { member, is_const: t.is_const() };
                }
                let canonical = t.canonical();
                let template = match canonical.template_arg_types() {
                    Some(args) => Some(self.template_id(t, &canonical, &args)),
                    None => t.template_arg_types().map(|args| self.template_id(t, t, &args)),
                };
                TypeNode::Named { spelling: without_keyword(spell_unqualified(t)), template, is_const: t.is_const() }
            }
        }
    }

    /// Whether `t` names the enclosing class template with its own parameters (`Self`,
    /// `ns::Self<T, N>`).
    fn is_self(&self, t: &Type) -> bool {
        let Some((qual, depth)) = &self.scope.class else { return false };
        let decl = t.declaration();
        if (self.qual_of)(&decl) != *qual {
            return false;
        }
        let Some(args) = t.template_arg_types() else { return true };
        let Some(own) = self.scope.lists.get(*depth) else { return false };
        let texts = template_args_text(&spell_unqualified(t));
        args.len() == own.len()
            && own.iter().zip(&texts).all(|((name, _), text)| text.trim_end_matches("...").trim() == name)
    }

    /// The member's name when `t` is a member type of the enclosing class template.
    fn self_member(&self, t: &Type) -> Option<String> {
        let (qual, _) = self.scope.class.as_ref()?;
        let decl_qual = (self.qual_of)(&t.declaration());
        let member = decl_qual.strip_prefix(qual.as_str())?.strip_prefix("::")?;
        (!member.is_empty() && !member.contains("::")).then(|| member.to_string())
    }

    /// The template-id `t`, its template and arguments read from `id` (its canonical type, which
    /// names the template an alias template stands for); the arguments spelled as `t` spells them.
    fn template_id(&self, t: &Type, id: &Type, arg_types: &[Option<Type>]) -> TemplateId {
        let texts = template_args_text(&spell_unqualified(t));
        let args = arg_types
            .iter()
            .enumerate()
            .map(|(i, a)| {
                let text = texts.get(i).cloned().unwrap_or_default();
                match a {
                    Some(a) => TemplateArg::Type {
                        node: self.node(a),
                        spelling: if text.is_empty() { build_type(a).name } else { text },
                    },
                    None => TemplateArg::Expr { text },
                }
            })
            .collect();
        let template = (self.qual_of)(&id.declaration());
        let template = if template.is_empty() { template_name(&spell_unqualified(t)) } else { template };
        TemplateId { template, args }
    }

    /// A pack expansion's pattern (`const Ts &` of `const Ts &...`), from clang's printing: libclang
    /// exposes no pattern type. Its core is a template parameter or a named type.
    fn pack_pattern(&self, spelling: &str) -> TypeNode {
        let s = spelling.trim_end_matches("...").trim_end();
        for (sigil, rvalue) in [("&&", true), ("&", false)] {
            if let Some(inner) = s.strip_suffix(sigil) {
                return TypeNode::Ref { rvalue, referee: Box::new(self.pack_pattern(inner)) };
            }
        }
        let (s, pointer_const) = match s.strip_suffix("const").filter(|r| r.ends_with([' ', '*'])) {
            Some(rest) => (rest.trim_end(), true),
            None => (s, false),
        };
        if let Some(inner) = s.strip_suffix('*') {
            return TypeNode::Pointer { pointee: Box::new(self.pack_pattern(inner)), is_const: pointer_const };
        }
        let (core, is_const) = match s.trim().strip_prefix("const ") {
            Some(rest) => (rest.trim(), true),
            None => (s.trim(), false),
        };
        match self.scope.is_type_param(core) {
            Some((depth, index)) => TypeNode::Param { name: core.to_string(), depth, index, is_const },
            None => TypeNode::Named { spelling: core.to_string(), template: None, is_const },
        }
    }

    fn extent(&self, text: &str) -> Extent {
        let text = text.trim();
        if let Ok(value) = text.parse::<u64>() {
            Extent::Literal { value }
        } else if self.scope.is_non_type_param(text) {
            Extent::Param { name: text.to_string() }
        } else {
            Extent::Expr { text: text.to_string() }
        }
    }
}

/// Built of template parameters and types that are no template-id nor a member of the class:
/// a member alias of such a type (`reference` for `_Tp &`) is that type.
fn is_plain(node: &TypeNode) -> bool {
    match node {
        TypeNode::Param { .. } | TypeNode::Named { template: None, .. } => true,
        TypeNode::Named { .. } | TypeNode::SelfClass { .. } | TypeNode::SelfMember { .. } => false,
        TypeNode::Pack { pattern: inner }
        | TypeNode::Ref { referee: inner, .. }
        | TypeNode::Pointer { pointee: inner, .. }
        | TypeNode::Array { element: inner, .. } => is_plain(inner),
    }
}

fn is_stdint(t: &Type) -> bool {
    crate::types::is_stdint_name(t)
}

/// A type's printing without the elaborated-type keyword clang may print before it
/// (`typename X<T>::type` is the type `X<T>::type`).
fn without_keyword(s: String) -> String {
    ["typename ", "struct ", "class ", "enum ", "union "]
        .iter()
        .find_map(|k| s.strip_prefix(k))
        .map(str::to_string)
        .unwrap_or(s)
}

/// The text inside the last top-level `[...]` of an array type's printing (`N` of `T[2][N]`).
fn last_brackets(s: &str) -> &str {
    crate::model::last_array_bracket(s).map_or("", |open| &s[open + 1..s.len() - 1])
}

/// The arguments of a template-id as clang prints it, split at top-level commas.
fn template_args_text(s: &str) -> Vec<String> {
    let Some(open) = s.find('<') else { return Vec::new() };
    let inner = s[open + 1..].strip_suffix('>').unwrap_or(&s[open + 1..]);
    crate::model::split_template_args(inner)
}

/// The template's name of a template-id's printing, without a leading `::`.
fn template_name(s: &str) -> String {
    s.split('<').next().unwrap_or(s).trim().trim_start_matches("::").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn printed_parts() {
        assert_eq!(canonical_param("type-parameter-1-2"), Some((1, 2)));
        assert_eq!(canonical_param("const type-parameter-0-0"), Some((0, 0)));
        assert_eq!(canonical_param("int"), None);
        assert_eq!(last_brackets("T[2][N]"), "N");
        assert_eq!(last_brackets("T[a[1]]"), "a[1]");
        assert_eq!(
            template_args_text("ns::P<pair<T, U>, int (*)(int, int), 4>"),
            ["pair<T, U>", "int (*)(int, int)", "4"]
        );
        assert_eq!(template_name("::cuda::std::complex<T>"), "cuda::std::complex");
    }
}
