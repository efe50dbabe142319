//! References to a class template itself in its members' spellings, marked for the runtime. A
//! member names its class as `cub::BlockScan`, `BlockScan` or `BlockScan<T, BlockDimX, ...>`, and
//! its member types without the class (`TempStorage &`); each becomes `__nbst_self__` (or
//! `__nbst_self__::TempStorage`), which the runtime replaces by the instantiation's spelling, so a
//! shim outside the class can name them. Member aliases are handled as the compiler spells them:
//! clang prints `TempStorage &` by the alias's target (`Uninitialized<_TempStorage> &`, a private
//! type), which becomes the alias again; an alias of one plain type (`value_type` for `_Tp`)
//! becomes that type, so `const value_type &` deduces as `const _Tp &`.

/// What stands for the class template instance in member spellings (`_template_types.SELF` in the
/// runtime): a template parameter of every member spelling's pieces.
pub(crate) const SELF: &str = "__nbst_self__";

/// Whether `c` belongs to an identifier: ASCII letters, digits and `_`, and any character beyond
/// ASCII (a type's spelling holds those only in identifiers, whether Unicode calls them letters or
/// not: `\u{e000}k` is one name, not a `k` after a delimiter).
pub(crate) fn is_word(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || !c.is_ascii()
}

/// Whether `c` may start an identifier: a word character that is not a digit.
pub(crate) fn starts_word(c: char) -> bool {
    is_word(c) && !c.is_ascii_digit()
}

/// Whether position `i` of `s` starts a name: not after a word character or a `:`.
fn name_starts(s: &str, i: usize) -> bool {
    !s[..i].chars().next_back().is_some_and(|c| is_word(c) || c == ':')
}

fn skip_spaces(s: &str, i: usize) -> usize {
    i + s[i..].len() - s[i..].trim_start().len()
}

/// Replaces each occurrence of `matcher` (given a start, the end of a match there) by `with`;
/// an empty match is none.
fn replace_all(s: &str, matcher: impl Fn(&str, usize) -> Option<usize>, with: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        if let Some(end) = matcher(s, i).filter(|&end| end > i) {
            out.push_str(with);
            i = end;
            continue;
        }
        let c = s[i..].chars().next().unwrap_or(' ');
        out.push(c);
        i += c.len_utf8();
    }
    out
}

/// The end of the literal `word` at `i` if a name starts there and no word character or one of
/// `not_after` follows it.
fn word_at(s: &str, i: usize, word: &str, not_after: &[char]) -> Option<usize> {
    if word.is_empty() || !name_starts(s, i) || !s[i..].starts_with(word) {
        return None;
    }
    let end = i + word.len();
    let next = s[end..].chars().next();
    (!next.is_some_and(|c| is_word(c) || not_after.contains(&c))).then_some(end)
}

/// A class template's own names, and how its members' spellings are rewritten.
pub(crate) struct SelfRefs {
    qual: String,
    plain: String,
    /// The template parameters, `...` after a pack, as `Name<T, N...>` lists them.
    params: Vec<(String, bool)>,
    /// Member types named without the class: nested records, member aliases, and (for a class
    /// with bases) member types reached through a base.
    nested: Vec<String>,
    /// Member alias -> its target, self references marked.
    aliases: Vec<(String, String)>,
    inherited: Vec<String>,
}

impl SelfRefs {
    /// `nested` are the nested records' and member aliases' names, `aliases` the member aliases
    /// with their targets, `member_spellings` every constructor's and method's parameter spelling
    /// (to find member types reached through a base, when the class has bases).
    pub(crate) fn new(
        qual: &str,
        params: Vec<(String, bool)>,
        nested: Vec<String>,
        aliases: &[(String, String)],
        member_spellings: &[String],
        has_bases: bool,
    ) -> SelfRefs {
        let plain = qual.rsplit("::").next().unwrap_or(qual).to_string();
        let mut refs =
            SelfRefs { qual: qual.to_string(), plain, params, nested, aliases: Vec::new(), inherited: Vec::new() };
        refs.aliases = aliases.iter().map(|(n, t)| (n.clone(), refs.self_spellings(t))).collect();
        if has_bases {
            let own: Vec<&str> = refs
                .params
                .iter()
                .map(|(p, _)| p.as_str())
                .chain(refs.nested.iter().map(String::as_str))
                .chain([refs.plain.as_str()])
                .collect();
            let mut found = Vec::new();
            for spelling in member_spellings {
                for (base, member, _, _) in base_members(spelling) {
                    if !own.contains(&base.as_str()) && !found.contains(&member) {
                        found.push(member);
                    }
                }
            }
            found.sort();
            refs.inherited = found;
        }
        refs
    }

    /// Member types reached through a base class, which the runtime probes as the class's own.
    pub(crate) fn inherited(&self) -> &[String] {
        &self.inherited
    }

    /// The member alias targets, self references marked.
    pub(crate) fn alias_target(&self, name: &str) -> Option<&str> {
        self.aliases.iter().find(|(n, _)| n == name).map(|(_, t)| t.as_str())
    }

    /// `Name<T, N>` (the class with its own parameters) at `i`: its end.
    fn self_id_at(&self, s: &str, i: usize) -> Option<usize> {
        let end = self.name_at(s, i, &['\0'])?;
        let mut j = skip_spaces(s, end);
        j = j + s[j..].strip_prefix('<').map(|_| 1)?;
        for (k, (p, pack)) in self.params.iter().enumerate() {
            j = skip_spaces(s, j);
            if k > 0 {
                j = skip_spaces(s, j + s[j..].strip_prefix(',').map(|_| 1)?);
            }
            if !s[j..].starts_with(p.as_str()) || s[j + p.len()..].chars().next().is_some_and(is_word) {
                return None;
            }
            j += p.len();
            if *pack {
                j = skip_spaces(s, j);
                j += s[j..].strip_prefix("...").map(|_| 3)?;
            }
        }
        j = skip_spaces(s, j);
        s[j..].strip_prefix('>').map(|_| j + 1)
    }

    /// The class's name (qualified or plain, after an optional `::`) at `i`, not followed by a
    /// word character or one of `not_after`.
    fn name_at(&self, s: &str, i: usize, not_after: &[char]) -> Option<usize> {
        if !name_starts(s, i) {
            return None;
        }
        let start = if s[i..].starts_with("::") { i + 2 } else { i };
        // Only a name C++ can write names the class (a declaration's name is what the header says).
        let writable = |name: &&str| name.split("::").all(|w| plain_word(w) && !crate::shim::CXX_KEYWORDS.contains(&w));
        [self.qual.as_str(), self.plain.as_str()].into_iter().filter(writable).find_map(|name| {
            let end = start + name.len();
            (s[start..].starts_with(name)
                && !s[end..].chars().next().is_some_and(|c| is_word(c) || not_after.contains(&c)))
            .then_some(end)
        })
    }

    /// The class itself and its member types named without it, marked.
    pub(crate) fn self_spellings(&self, spelling: &str) -> String {
        let mut s = replace_all(spelling, |s, i| self.self_id_at(s, i), SELF);
        s = replace_all(&s, |s, i| self.name_at(s, i, &['<']), SELF);
        for name in self.nested.iter().chain(&self.inherited) {
            s = replace_all(&s, |s, i| word_at(s, i, name, &['<']), &format!("{SELF}::{name}"));
        }
        s
    }

    /// A member's spelling for shims: self references marked, member types reached through a base
    /// and member aliases spelled by their targets named as members, aliases of one plain type
    /// replaced by it.
    pub(crate) fn member_spelling(&self, spelling: &str) -> String {
        let mut s = self.self_spellings(spelling);
        if !self.inherited.is_empty() {
            let mut out = String::new();
            let mut last = 0;
            for (_, member, start, end) in base_members(&s) {
                if self.inherited.contains(&member) {
                    out.push_str(&s[last..start]);
                    out.push_str(&format!("{SELF}::{member}"));
                    last = end;
                }
            }
            out.push_str(&s[last..]);
            s = out;
            // A pattern's named type has no `typename`: `Base::TempStorage` alone.
            if let Some((_, member)) = s.split_once("::").filter(|(b, m)| plain_word(b) && plain_word(m)) {
                if self.inherited.iter().any(|m| m == member) {
                    s = format!("{SELF}::{member}");
                }
            }
        }
        for (name, target) in &self.aliases {
            // A specialization naming the class's members (`Uninitialized<Self::_TempStorage>`); not
            // the class itself nor `Self::value_type &`, which stay as written.
            if target.contains(SELF) && target.contains('<') {
                s = replace_all(&s, |s, i| word_at(s, i, target, &['<']), &format!("{SELF}::{name}"));
            }
        }
        for _ in 0..4 {
            // aliases of aliases
            let expanded = self.expand_plain_aliases(&s);
            if expanded == s {
                break;
            }
            s = expanded;
        }
        s
    }

    /// `Self::value_type` -> `_Tp` for a member alias of one plain type.
    fn expand_plain_aliases(&self, s: &str) -> String {
        let head = format!("{SELF}::");
        let mut out = String::new();
        let mut rest = s;
        while let Some(at) = rest.find(&head) {
            out.push_str(&rest[..at]);
            let after = &rest[at + head.len()..];
            let len = after.find(|c: char| !is_word(c)).unwrap_or(after.len());
            let (name, tail) = after.split_at(len);
            let next = tail.chars().next();
            let plain = self
                .aliases
                .iter()
                .find(|(n, t)| n == name && !t.contains(SELF) && is_plain_type(t))
                .map(|(_, t)| t.as_str());
            match plain {
                Some(t) if !name.is_empty() && !next.is_some_and(|c| c == '<' || c == ':') => out.push_str(t),
                _ => {
                    out.push_str(&head);
                    out.push_str(name);
                }
            }
            rest = tail;
        }
        out.push_str(rest);
        out
    }
}

fn plain_word(s: &str) -> bool {
    s.chars().next().is_some_and(starts_word) && s.chars().all(is_word)
}

/// One plain type: words of `[\w:]` separated by spaces (`unsigned int`, `cub::detail::X`).
fn is_plain_type(s: &str) -> bool {
    !s.is_empty() && s.split(' ').all(|w| !w.is_empty() && w.chars().all(|c| is_word(c) || c == ':'))
}

/// Each `typename Base::Member` (not followed by `::`, `<` or a word character): base, member,
/// start and end.
fn base_members(s: &str) -> Vec<(String, String, usize, usize)> {
    let mut found = Vec::new();
    let mut from = 0;
    while let Some(at) = s[from..].find("typename") {
        let start = from + at;
        from = start + "typename".len();
        if !name_starts(s, start) || s[from..].chars().next().is_some_and(is_word) {
            continue;
        }
        let i = skip_spaces(s, from);
        if i == from {
            continue;
        }
        let word = |i: usize| -> usize {
            let first_ok = s[i..].chars().next().is_some_and(starts_word);
            if first_ok {
                i + s[i..].find(|c: char| !is_word(c)).unwrap_or(s.len() - i)
            } else {
                i
            }
        };
        let base_end = word(i);
        if base_end == i || !s[base_end..].starts_with("::") {
            continue;
        }
        let member_start = base_end + 2;
        let member_end = word(member_start);
        if member_end == member_start || s[member_end..].starts_with(['<', ':']) {
            continue;
        }
        found.push((s[i..base_end].to_string(), s[member_start..member_end].to_string(), start, member_end));
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block_scan() -> SelfRefs {
        SelfRefs::new(
            "cub::BlockScan",
            vec![("T".into(), false), ("BlockDimX".into(), false)],
            vec!["TempStorage".into(), "_TempStorage".into(), "value_type".into()],
            &[
                ("TempStorage".into(), "cub::Uninitialized<cub::BlockScan<T, BlockDimX>::_TempStorage>".into()),
                ("value_type".into(), "T".into()),
            ],
            &[],
            false,
        )
    }

    #[test]
    fn the_class_and_its_member_types_are_marked() {
        let r = block_scan();
        assert_eq!(r.self_spellings("cub::BlockScan<T, BlockDimX> &"), "__nbst_self__ &");
        assert_eq!(r.self_spellings("::cub::BlockScan<T,BlockDimX>"), "__nbst_self__");
        assert_eq!(r.self_spellings("BlockScan<int, 4>"), "BlockScan<int, 4>");
        assert_eq!(r.self_spellings("const BlockScan &"), "const __nbst_self__ &");
        assert_eq!(r.self_spellings("TempStorage &"), "__nbst_self__::TempStorage &");
        assert_eq!(r.self_spellings("X::TempStorage"), "X::TempStorage");
        assert_eq!(r.self_spellings("MyBlockScan"), "MyBlockScan");
    }

    #[test]
    fn alias_targets_become_the_alias_and_plain_aliases_their_type() {
        let r = block_scan();
        assert_eq!(
            r.member_spelling("cub::Uninitialized<cub::BlockScan<T, BlockDimX>::_TempStorage> &"),
            "__nbst_self__::TempStorage &"
        );
        assert_eq!(r.member_spelling("const value_type &"), "const T &");
        assert_eq!(r.alias_target("value_type"), Some("T"));
    }

    #[test]
    fn member_types_of_a_base_are_found_and_marked() {
        let r = SelfRefs::new(
            "cub::BlockMergeSort",
            vec![("KeyT".into(), false)],
            vec![],
            &[],
            &["typename BlockMergeSortStrategyT::TempStorage &".into(), "typename KeyT::Other".into()],
            true,
        );
        assert_eq!(r.inherited(), ["TempStorage"]);
        assert_eq!(
            r.member_spelling("typename BlockMergeSortStrategyT::TempStorage &"),
            "__nbst_self__::TempStorage &"
        );
        assert_eq!(r.member_spelling("BlockMergeSortStrategyT::TempStorage"), "__nbst_self__::TempStorage");
    }

    #[test]
    fn empty_names_match_nothing() {
        let r = SelfRefs::new("lib::", vec![("".into(), false)], vec!["".into()], &[("".into(), "".into())], &[], true);
        assert_eq!(r.member_spelling("const T &"), "const T &");
        // `lib::` (a class with an empty name) is no name C++ can write: nothing refers to it.
        assert_eq!(r.self_spellings("x lib::<> y"), "x lib::<> y");
    }

    #[test]
    fn names_no_identifier_match_nothing() {
        let r = SelfRefs::new(" ", vec![("T".into(), false)], vec![], &[], &[], false);
        assert_eq!(r.self_spellings("T * &"), "T * &");
    }

    #[test]
    fn characters_beyond_ascii_are_part_of_names() {
        // Found by the renderer fuzz target: class template `k` with a parameter `\u{e000}k`.
        let r = SelfRefs::new("k", vec![("\u{e000}k".into(), false)], vec![], &[], &[], false);
        assert_eq!(r.self_spellings("\u{e000}k"), "\u{e000}k");
        assert_eq!(r.self_spellings("k\u{e9} &"), "k\u{e9} &");
        assert_eq!(r.self_spellings("const k &"), "const __nbst_self__ &");
    }

    #[test]
    fn packs_are_matched() {
        let r = SelfRefs::new("tuple", vec![("Ts".into(), true)], vec![], &[], &[], false);
        assert_eq!(r.self_spellings("const tuple<Ts...> &"), "const __nbst_self__ &");
    }
}
