//! The argument intent table, parsed once where it comes in (the static config, dynamic mode's
//! `arg_intent=`), and the one rule that finds a parameter's intent, for functions, methods and
//! templates alike: the owner (function, struct or class template) by qualified name, else by plain
//! name; for a member, then the method (a constructor by the class's plain name); then the parameter
//! by name, else by index.

use std::collections::BTreeMap;

use canopy::model::{ParamVar, RefKind};
use serde::Deserialize;

use crate::report::{SkipReason, Unbindable};

/// Argument intent of a reference parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Intent {
    In,
    InoutPtr,
    OutPtr,
    OutReturn,
}

impl Intent {
    pub fn as_str(self) -> &'static str {
        match self {
            Intent::In => "in",
            Intent::InoutPtr => "inout_ptr",
            Intent::OutPtr => "out_ptr",
            Intent::OutReturn => "out_return",
        }
    }

    fn parse(word: &str) -> Option<Intent> {
        [Intent::In, Intent::InoutPtr, Intent::OutPtr, Intent::OutReturn].into_iter().find(|i| i.as_str() == word)
    }
}

/// One table entry: an intent, or the value given where one was expected (reported as a skip of the
/// declaration it names, so that one typo does not stop the rest from binding).
#[derive(Debug, Clone, PartialEq, Eq)]
enum Entry {
    Known(Intent),
    Unknown(String),
}

impl Entry {
    fn of(v: &serde_json::Value) -> Entry {
        match v.as_str().and_then(Intent::parse) {
            Some(i) => Entry::Known(i),
            None => Entry::Unknown(v.to_string()),
        }
    }
}

type Params = BTreeMap<String, Entry>;

/// What one owner key holds: its parameters (a function) and its methods (a struct or class).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Owner {
    params: Params,
    methods: BTreeMap<String, Params>,
}

/// `{function: {param: intent}}` and `{struct: {method: {param: intent}}}`, typed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Intents {
    owners: BTreeMap<String, Owner>,
}

/// A parameter list's place in the table.
#[derive(Debug, Clone, Copy)]
pub enum IntentPath<'a> {
    /// A free function or function template: qualified and plain name.
    Function { qual_name: &'a str, name: &'a str },
    /// A member of a struct or class template: the owner's qualified and plain name, the member.
    Member { qual_name: &'a str, name: &'a str, member: &'a str },
}

impl Intents {
    /// The table from its JSON form; entries that are not objects are ignored (the static config
    /// checks its own shape when it is loaded; dynamic mode checks that `arg_intent` is a dict).
    pub fn from_json(v: &serde_json::Value) -> Intents {
        let mut owners = BTreeMap::new();
        for (key, entries) in v.as_object().into_iter().flatten() {
            let Some(entries) = entries.as_object() else { continue };
            let mut owner = Owner::default();
            for (k, e) in entries {
                match e.as_object() {
                    Some(params) => {
                        owner
                            .methods
                            .insert(k.clone(), params.iter().map(|(p, i)| (p.clone(), Entry::of(i))).collect());
                    }
                    None => {
                        owner.params.insert(k.clone(), Entry::of(e));
                    }
                }
            }
            owners.insert(key.clone(), owner);
        }
        Intents { owners }
    }

    pub fn is_empty(&self) -> bool {
        self.owners.is_empty()
    }

    fn owner(&self, qual_name: &str, name: &str) -> Option<&Owner> {
        self.owners.get(qual_name).or_else(|| self.owners.get(name))
    }

    fn params(&self, path: IntentPath<'_>) -> Option<&Params> {
        match path {
            IntentPath::Function { qual_name, name } => self.owner(qual_name, name).map(|o| &o.params),
            IntentPath::Member { qual_name, name, member } => self.owner(qual_name, name)?.methods.get(member),
        }
    }

    /// The intent of parameter `index` (`p`) of the callable at `path`: `in` unless the table says
    /// otherwise. An intent other than `in` needs an lvalue reference parameter (the binding passes
    /// a pointer to the caller's storage).
    pub fn of(&self, path: IntentPath<'_>, index: usize, p: &ParamVar) -> Result<Intent, Unbindable> {
        let entry = self.params(path).and_then(|t| t.get(&p.name).or_else(|| t.get(&index.to_string())));
        let intent = match entry {
            None => Intent::In,
            Some(Entry::Known(i)) => *i,
            Some(Entry::Unknown(v)) => {
                return Err(Unbindable::new(
                    SkipReason::Intent,
                    format!(
                        "argument intent {v} for parameter `{}` is not one of in, inout_ptr, out_ptr, out_return",
                        p.name
                    ),
                ))
            }
        };
        if intent != Intent::In && p.type_.ref_kind != RefKind::Lvalue {
            return Err(Unbindable::new(
                SkipReason::Intent,
                format!(
                    "argument intent for `{}` needs a reference parameter (an lvalue reference), not `{}`",
                    p.name, p.type_.name
                ),
            ));
        }
        Ok(intent)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn param(name: &str, ref_kind: RefKind) -> ParamVar {
        let t = serde_json::json!({"name": "int &", "unqualified_non_ref_type_name": "int", "ref_kind": "none",
            "is_const": false, "shape": {"tag": "int", "size": 4, "signed": true}});
        let mut t: canopy::model::Type = serde_json::from_value(t).unwrap();
        t.ref_kind = ref_kind;
        ParamVar { name: name.into(), type_: t, has_default: false }
    }

    #[test]
    fn one_rule_for_functions_and_members() {
        let t = Intents::from_json(&serde_json::json!({
            "lib::f": {"out": "out_return", "1": "inout_ptr"},
            "S": {"get": {"0": "out_ptr"}},
            "g": {"x": "sideways"},
        }));
        let f = IntentPath::Function { qual_name: "lib::f", name: "f" };
        assert_eq!(t.of(f, 0, &param("out", RefKind::Lvalue)), Ok(Intent::OutReturn));
        assert_eq!(t.of(f, 1, &param("y", RefKind::Lvalue)), Ok(Intent::InoutPtr));
        assert_eq!(t.of(f, 2, &param("z", RefKind::None)), Ok(Intent::In));
        let m = IntentPath::Member { qual_name: "ns::S", name: "S", member: "get" };
        assert_eq!(t.of(m, 0, &param("v", RefKind::Lvalue)), Ok(Intent::OutPtr));
        let e = t.of(m, 0, &param("v", RefKind::Rvalue)).unwrap_err();
        assert_eq!(e.reason, SkipReason::Intent);
        let g = IntentPath::Function { qual_name: "g", name: "g" };
        assert!(t.of(g, 0, &param("x", RefKind::Lvalue)).unwrap_err().message.contains("\"sideways\""));
    }
}
