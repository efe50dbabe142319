//! Several GPU architectures in one module: the union of their declarations, and the preprocessor
//! guards around the shims of declarations that only some of them have.

use std::collections::{BTreeMap, BTreeSet};

/// The declarations of all architectures, each once, with the architectures that have it.
pub(super) struct Union<T> {
    pub items: Vec<(T, BTreeSet<String>)>,
}

impl<T: Clone> Union<T> {
    pub fn build(per_arch: &[(String, Vec<T>)], key: impl Fn(&T) -> String) -> Union<T> {
        let mut index: BTreeMap<String, usize> = BTreeMap::new();
        let mut items: Vec<(T, BTreeSet<String>)> = Vec::new();
        for (arch, decls) in per_arch {
            for d in decls {
                let k = key(d);
                match index.get(&k) {
                    Some(&i) => {
                        items[i].1.insert(arch.clone());
                    }
                    None => {
                        index.insert(k, items.len());
                        items.push((d.clone(), BTreeSet::from([arch.clone()])));
                    }
                }
            }
        }
        Union { items }
    }
}

/// `sm_90a` -> 900, the value `__CUDA_ARCH__` has when compiling for it.
fn arch_number(a: &str) -> u32 {
    a.trim_start_matches("sm_").trim_end_matches(['a', 'f']).parse().unwrap_or(0) * 10
}

/// A range of `__CUDA_ARCH__` values: `lo <= value` (no bound when 0) and `value < hi`.
pub(super) type ArchRange = (u32, Option<u32>);

/// The `__CUDA_ARCH__` ranges in which a declaration available for `archs` (a subset of the
/// configured `all`) exists: a kernel compiled for compute capability c uses the declarations of
/// the highest configured arch not above c. None when all archs have it.
pub(super) fn arch_ranges(archs: &BTreeSet<String>, all: &[String]) -> Option<Vec<ArchRange>> {
    let mut sorted: Vec<u32> = all.iter().map(|a| arch_number(a)).collect();
    sorted.sort();
    sorted.dedup();
    let have: BTreeSet<u32> = archs.iter().map(|a| arch_number(a)).collect();
    if sorted.iter().all(|a| have.contains(a)) {
        return None;
    }
    let mut ranges: Vec<ArchRange> = Vec::new();
    for (i, a) in sorted.iter().enumerate() {
        if have.contains(a) {
            let lo = if i == 0 { 0 } else { *a };
            let hi = sorted.get(i + 1).copied();
            match ranges.last_mut() {
                // Adjacent ranges merge: [800, 900) and [900, ..) are [800, ..).
                Some(last) if last.1 == Some(lo) => last.1 = hi,
                _ => ranges.push((lo, hi)),
            }
        }
    }
    Some(ranges)
}

/// The preprocessor condition under which a declaration available for `archs` exists, or None
/// when every configured arch has it. The renderer wraps the declaration's shims in it, so that
/// the shim unit compiles for every arch.
pub fn arch_condition(archs: &BTreeSet<String>, all: &[String]) -> Option<String> {
    let terms: Vec<String> = arch_ranges(archs, all)?
        .iter()
        .map(|(lo, hi)| {
            let parts: Vec<String> =
                [(*lo > 0).then(|| format!("__CUDA_ARCH__ >= {lo}")), hi.map(|h| format!("__CUDA_ARCH__ < {h}"))]
                    .into_iter()
                    .flatten()
                    .collect();
            if parts.is_empty() {
                "1".to_string()
            } else {
                format!("({})", parts.join(" && "))
            }
        })
        .collect();
    Some(format!("defined(__CUDA_ARCH__) && ({})", terms.join(" || ")))
}

/// The Python tuple of `ranges` for the module's lowering check: `((900, None),)`.
pub(super) fn python_ranges(ranges: &[ArchRange]) -> String {
    let items: Vec<String> = ranges
        .iter()
        .map(|(lo, hi)| format!("({lo}, {})", hi.map(|h| h.to_string()).unwrap_or("None".into())))
        .collect();
    format!("({},)", items.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(a: &[&str]) -> BTreeSet<String> {
        a.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn conditions_follow_the_highest_arch_not_above() {
        let all = ["sm_80".to_string(), "sm_90".to_string()];
        assert_eq!(arch_condition(&set(&["sm_80", "sm_90"]), &all), None);
        assert_eq!(
            arch_condition(&set(&["sm_90"]), &all).unwrap(),
            "defined(__CUDA_ARCH__) && ((__CUDA_ARCH__ >= 900))"
        );
        assert_eq!(
            arch_condition(&set(&["sm_80"]), &all).unwrap(),
            "defined(__CUDA_ARCH__) && ((__CUDA_ARCH__ < 900))"
        );
    }

    #[test]
    fn ranges_merge_and_print() {
        let all = ["sm_70".to_string(), "sm_80".to_string(), "sm_90".to_string()];
        assert_eq!(arch_ranges(&set(&["sm_80", "sm_90"]), &all), Some(vec![(800, None)]));
        assert_eq!(arch_ranges(&set(&["sm_70", "sm_90"]), &all), Some(vec![(0, Some(800)), (900, None)]));
        assert_eq!(python_ranges(&[(0, Some(800)), (900, None)]), "((0, 800), (900, None),)");
        assert_eq!(
            arch_condition(&set(&["sm_70", "sm_90"]), &all).unwrap(),
            "defined(__CUDA_ARCH__) && ((__CUDA_ARCH__ < 800) || (__CUDA_ARCH__ >= 900))"
        );
    }
}
