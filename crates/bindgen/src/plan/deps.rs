//! Dependency types: structs and enums declared outside the `File List` (in any header the entry
//! point includes) that a declaration to bind uses as a parameter, result or field type. Binding
//! them makes those declarations bindable (cuda_fp8.h's conversions take `__half_raw` and
//! `cudaRoundMode`, declared in cuda_fp16.h and device_types.h).

use std::collections::{BTreeMap, BTreeSet};

use canopy::model::{Enum, Function, Struct, Type, TypeShape};

use super::{device_callable, excluded, Options};
use crate::render::registered_type_expr;
use crate::types::{cxx, numba_type, KnownTypes};

/// Dependency types to bind, in an order where each struct follows the structs its fields use.
pub(super) struct Needed {
    pub enums: Vec<Enum>,
    pub structs: Vec<Struct>,
}

/// The named type at the bottom of pointers and arrays.
fn base(t: &Type) -> &Type {
    match &t.shape {
        TypeShape::Pointer { pointee } => base(pointee),
        TypeShape::Array { element, .. } => base(element),
        _ => t,
    }
}

/// The types the declarations to bind use.
fn used_types<'a>(options: &Options, structs: &[&'a Struct], functions: &[&'a Function]) -> Vec<&'a Type> {
    let mut out = Vec::new();
    let skip_prefix = options.skip_prefix.as_deref().filter(|p| !p.is_empty());
    for f in functions {
        if excluded(&options.exclude.function, &f.name, &f.qual_name)
            || skip_prefix.is_some_and(|p| f.name.starts_with(p))
            || !device_callable(f.exec_space)
        {
            continue;
        }
        out.push(&f.return_type);
        out.extend(f.params.iter().map(|p| &p.type_));
    }
    for s in structs {
        if excluded(&options.exclude.r#struct, &s.name, &s.qual_name) {
            continue;
        }
        out.extend(s.fields.iter().map(|f| &f.type_));
        for m in s.methods.iter().filter(|m| device_callable(m.function.exec_space)) {
            out.push(&m.function.return_type);
            out.extend(m.function.params.iter().map(|p| &p.type_));
        }
    }
    out
}

/// The dependency types that the `structs` and `functions` to bind need, found among
/// `other_structs` and `other_enums` (declared outside the bound files). Fields of a dependency
/// struct are followed too; its methods are not (they are bound where their types allow).
pub(super) fn needed(
    options: &Options,
    known: &KnownTypes,
    structs: &[&Struct],
    functions: &[&Function],
    other_structs: &[&Struct],
    other_enums: &[&Enum],
) -> Needed {
    if other_structs.is_empty() && other_enums.is_empty() {
        return Needed { enums: Vec::new(), structs: Vec::new() };
    }
    let mut known: KnownTypes = known.clone();
    for s in structs {
        if !excluded(&options.exclude.r#struct, &s.name, &s.qual_name) {
            known.insert(&s.qual_name, registered_type_expr(&s.qual_name));
        }
    }
    let struct_by_name: BTreeMap<String, &Struct> =
        other_structs.iter().filter(|s| s.sizeof_ > 0 && !s.name.is_empty()).map(|s| (cxx(&s.qual_name), *s)).collect();
    let enum_by_name: BTreeMap<String, &Enum> =
        other_enums.iter().filter(|e| !e.name.is_empty()).map(|e| (cxx(&e.qual_name), *e)).collect();

    let mut chosen_enums: Vec<Enum> = Vec::new();
    let mut chosen_structs: Vec<&Struct> = Vec::new();
    let mut queue: Vec<&Type> = used_types(options, structs, functions);
    queue.reverse();
    while let Some(t) = queue.pop() {
        let t = base(t);
        if !matches!(t.shape, TypeShape::Record { .. } | TypeShape::Enum { .. }) || numba_type(t, &known).is_ok() {
            continue;
        }
        let name = cxx(&t.unqualified_non_ref_type_name);
        if let Some(e) = enum_by_name.get(&name) {
            if !excluded(&options.exclude.r#enum, &e.name, &e.qual_name) {
                chosen_enums.push((*e).clone());
            }
        } else if let Some(s) = struct_by_name.get(&name) {
            if !excluded(&options.exclude.r#struct, &s.name, &s.qual_name) {
                chosen_structs.push(s);
                queue.extend(s.fields.iter().map(|f| &f.type_).rev());
            }
        }
        // Known from now on, bound or not, so that it is looked up once.
        known.insert(&name, registered_type_expr(&name));
    }
    Needed { enums: chosen_enums, structs: fields_first(&chosen_structs) }
}

/// `structs` ordered so that each comes after the structs (among them) that its fields use.
fn fields_first(structs: &[&Struct]) -> Vec<Struct> {
    let names: BTreeMap<String, usize> = structs.iter().enumerate().map(|(i, s)| (cxx(&s.qual_name), i)).collect();
    let mut done = BTreeSet::new();
    let mut out = Vec::new();
    fn visit(
        i: usize,
        structs: &[&Struct],
        names: &BTreeMap<String, usize>,
        done: &mut BTreeSet<usize>,
        out: &mut Vec<Struct>,
    ) {
        if !done.insert(i) {
            return;
        }
        for f in &structs[i].fields {
            if let Some(&j) = names.get(&cxx(&base(&f.type_).unqualified_non_ref_type_name)) {
                visit(j, structs, names, done, out);
            }
        }
        out.push(structs[i].clone());
    }
    for i in 0..structs.len() {
        visit(i, structs, &names, &mut done, &mut out);
    }
    out
}
