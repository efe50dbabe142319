//! The coverage report: what was bound (counts by kind, dependency types) and every declaration
//! that was skipped, with its place and reason. Printed as a table; `--report` writes the same
//! content as JSON.

use std::collections::BTreeMap;
use std::fmt::Write;

use numbast_bindgen::module::Dependency;
use numbast_bindgen::report::{BindKind, Bound, Report, SkipReason};
use serde::Serialize;

#[derive(Debug, Serialize)]
pub(crate) struct SkipRow {
    pub kind: BindKind,
    pub name: String,
    /// `file:line:col`, relative to the config's folder or a CUDA include folder when under one.
    pub location: String,
    /// The stable code of `reason`.
    pub code: SkipReason,
    pub reason: String,
}

#[derive(Debug, Serialize)]
pub(crate) struct Coverage {
    /// The generated module's path, as given on the command line.
    pub module: String,
    /// Number of bound entities by kind (`function`, `struct`, `operator`, ...).
    pub bound_counts: BTreeMap<&'static str, usize>,
    /// Structs and enums from outside the File List, bound because a binding needs them.
    pub dependencies: Vec<Dependency>,
    pub skipped: Vec<SkipRow>,
    /// Every bound entity.
    pub bound: Vec<Bound>,
}

impl Coverage {
    pub fn new(
        module: String,
        report: &Report,
        dependencies: &[Dependency],
        short: impl Fn(&str) -> String,
    ) -> Coverage {
        let mut bound_counts = BTreeMap::new();
        for b in &report.bound {
            *bound_counts.entry(b.kind.as_str()).or_default() += 1;
        }
        Coverage {
            module,
            bound_counts,
            dependencies: dependencies
                .iter()
                .map(|d| Dependency { location: short(&d.location), ..d.clone() })
                .collect(),
            skipped: report
                .skipped
                .iter()
                .map(|s| SkipRow {
                    kind: s.kind,
                    name: s.name.clone(),
                    location: short(&s.location),
                    code: s.code,
                    reason: s.reason.clone(),
                })
                .collect(),
            bound: report.bound.clone(),
        }
    }

    pub fn json(&self) -> String {
        serde_json::to_string_pretty(self).expect("the report serializes") + "\n"
    }

    /// The table: a summary line, the dependency types, then one row per skipped declaration
    /// (kind, name, place, the reason's code, the reason).
    pub fn table(&self) -> String {
        let mut s = String::new();
        let counts: Vec<String> = self.bound_counts.iter().map(|(k, n)| format!("{n} {k}")).collect();
        let bound = if counts.is_empty() { "0".to_string() } else { counts.join(", ") };
        let _ = writeln!(s, "wrote {}: bound {bound}; skipped {}", self.module, self.skipped.len());
        if counts.is_empty() && self.skipped.is_empty() {
            let _ = writeln!(s, "no declarations found in the File List");
        }
        if !self.dependencies.is_empty() {
            let _ = writeln!(s, "dependency types bound (declared outside the File List, needed by bindings):");
            for d in &self.dependencies {
                let _ = writeln!(s, "  {} {} as {} ({})", d.kind, d.name, d.py_name, d.location);
            }
        }
        if self.skipped.is_empty() {
            return s;
        }
        let width = |f: &dyn Fn(&SkipRow) -> usize, min: usize, max: usize| {
            self.skipped.iter().map(f).max().unwrap_or(min).clamp(min, max)
        };
        let w_kind = width(&|r| r.kind.as_str().len(), 4, 17);
        let w_name = width(&|r| r.name.len(), 4, 40);
        let w_loc = width(&|r| r.location.len(), 8, 40);
        let w_code = width(&|r| r.code.code().len(), 4, 27);
        let _ = writeln!(
            s,
            "{:<w_kind$}  {:<w_name$}  {:<w_loc$}  {:<w_code$}  reason",
            "kind", "name", "location", "code"
        );
        for r in &self.skipped {
            let _ = writeln!(
                s,
                "{:<w_kind$}  {:<w_name$}  {:<w_loc$}  {:<w_code$}  {}",
                r.kind.as_str(),
                r.name,
                r.location,
                r.code.code(),
                r.reason
            );
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_of_an_empty_module_says_nothing_was_found() {
        let c = Coverage::new("out/m.py".into(), &Report::default(), &[], |l| l.to_string());
        assert_eq!(c.table(), "wrote out/m.py: bound 0; skipped 0\nno declarations found in the File List\n");
    }

    #[test]
    fn summary_counts_by_kind() {
        let mut r = Report::default();
        r.bind(BindKind::Function, "f", "f");
        r.bind(BindKind::Function, "g", "g");
        r.bind(BindKind::Struct, "S", "S");
        r.bind(BindKind::Enum, "E", "E");
        let c = Coverage::new("m.py".into(), &r, &[], |l| l.to_string());
        // Kinds in alphabetical order of their words.
        assert_eq!(c.table(), "wrote m.py: bound 1 enum, 2 function, 1 struct; skipped 0\n");
    }

    #[test]
    fn skipped_rows_carry_the_reason_code() {
        let mut r = Report::default();
        let loc = canopy::model::Location { file: "a.cuh".into(), line: 3, column: 5 };
        r.skip(
            BindKind::Function,
            "f",
            &loc,
            numbast_bindgen::report::Unbindable::new(SkipReason::HostOnly, "host-only function"),
        );
        let c = Coverage::new("m.py".into(), &r, &[], |l| l.to_string());
        let table = c.table();
        let rows: Vec<&str> = table.lines().collect();
        assert_eq!(rows[1], "kind      name  location   code       reason");
        assert_eq!(rows[2], "function  f     a.cuh:3:5  host-only  host-only function");
        assert!(c.json().contains("\"code\": \"host-only\""), "{}", c.json());
    }
}
