//! Paths: resolving config paths, relative spellings for the generated module, the shim include
//! rule, the output folder, and the headers searched for dependency types.

use std::path::{Component, Path, PathBuf};

use canopy::Toolchain;
use numbast_bindgen::config::Config;
use numbast_bindgen::module::ShimInclude;

/// `p` from the config, relative to the config's folder `base` unless absolute.
pub(crate) fn resolve(base: &Path, p: &str) -> PathBuf {
    let path = Path::new(p);
    if path.is_absolute() {
        path.to_path_buf()
    } else {
        base.join(path)
    }
}

/// The real path when it exists, else the path made absolute against the current folder.
pub(crate) fn absolute(p: &Path) -> PathBuf {
    std::fs::canonicalize(p)
        .unwrap_or_else(|_| std::env::current_dir().map(|d| d.join(p)).unwrap_or_else(|_| p.to_path_buf()))
}

/// `path` relative to the folder `from` (both absolute), with `..` where needed, `/`-separated.
pub(crate) fn relative_to(path: &Path, from: &Path) -> String {
    let p: Vec<Component> = path.components().collect();
    let f: Vec<Component> = from.components().collect();
    let common = p.iter().zip(&f).take_while(|(a, b)| a == b).count();
    let mut parts: Vec<String> = Vec::new();
    for _ in common..f.len() {
        parts.push("..".into());
    }
    for c in &p[common..] {
        parts.push(c.as_os_str().to_string_lossy().into_owned());
    }
    parts.join("/")
}

/// The CUDA include folders: where `#include <...>` finds headers under NVRTC too.
pub(crate) fn cuda_include_roots(tc: &Toolchain) -> Vec<PathBuf> {
    let mut roots = vec![absolute(&tc.cuda_root.join("include"))];
    roots.extend(tc.cuda_extra_includes.iter().map(|p| absolute(p)));
    roots
}

/// How the shims include the entry point (see `ShimInclude`): the override as written; a header
/// under a CUDA include folder as `#include <relative>`; any other header by its path relative to
/// the output folder, turned into an absolute path when the module is imported.
pub(crate) fn shim_include(
    config: &Config,
    entry: &Path,
    tc: &Toolchain,
    output_abs: &Path,
) -> Result<ShimInclude, String> {
    if let Some(text) = config.shim_include_text() {
        return Ok(ShimInclude::Verbatim(text));
    }
    // The path ends up inside `#include "..."`: a quote, a newline or another control character
    // would end it early or start a new line of C++.
    let text = entry.to_string_lossy();
    if text.contains(|c: char| c == '"' || c == '<' || c == '>' || c.is_control()) {
        return Err(format!(
            "`Entry Point`: the path {:?} has a quote, angle bracket or control character, which an #include line cannot \
             hold; move the header or set `Shim Include Override`",
            text
        ));
    }
    for root in cuda_include_roots(tc) {
        if let Ok(rel) = entry.strip_prefix(&root) {
            let rel: Vec<String> = rel.components().map(|c| c.as_os_str().to_string_lossy().into_owned()).collect();
            return Ok(ShimInclude::Verbatim(format!("#include <{}>", rel.join("/"))));
        }
    }
    Ok(ShimInclude::RelativeToModule(relative_to(entry, output_abs)))
}

/// A declaration's place for people: relative to the config's folder or a CUDA include folder when
/// it is under one, else as it is.
pub(crate) fn short_location(location: &str, config_dir: &Path, cuda_roots: &[PathBuf]) -> String {
    let path = location.split(':').next().unwrap_or(location);
    let rest = &location[path.len()..];
    for root in std::iter::once(&config_dir.to_path_buf()).chain(cuda_roots) {
        if let Ok(rel) = Path::new(path).strip_prefix(root) {
            return format!("{}{rest}", rel.display());
        }
    }
    location.to_string()
}

/// Creates the output folder; an error names the part of the path that is in the way.
pub(crate) fn prepare_output_dir(dir: &Path) -> Result<(), String> {
    if let Err(e) = std::fs::create_dir_all(dir) {
        let blocker = dir.ancestors().skip(1).find(|a| a.is_file() || a.is_symlink() && !a.is_dir());
        return Err(match blocker {
            Some(file) => {
                format!("cannot create the output folder {}: {} is a file, not a folder", dir.display(), file.display())
            }
            None if dir.is_file() => format!("the output folder {} is a file, not a folder", dir.display()),
            None => format!("cannot create the output folder {}: {e}", dir.display()),
        });
    }
    if !dir.is_dir() {
        return Err(format!("the output folder {} is a file, not a folder", dir.display()));
    }
    tempfile::NamedTempFile::new_in(dir)
        .map_err(|e| format!("cannot write in the output folder {}: {e}", dir.display()))?;
    Ok(())
}

/// The headers whose structs and enums may be bound as dependency types: every file directly in
/// the CUDA include folders, and every file in the folders of the `File List` headers and in the
/// Clang Include Paths, subfolders included (the headers an entry point includes are almost always
/// among them; a library such as NVSHMEM keeps its shared types in a sibling folder of its include
/// path).
pub(crate) fn dependency_candidates(tc: &Toolchain, file_list: &[PathBuf], include_paths: &[PathBuf]) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = Vec::new();
    for d in cuda_include_roots(tc) {
        files_under(&d, 0, &mut files);
    }
    let mut dirs: Vec<PathBuf> = file_list.iter().filter_map(|f| f.parent().map(absolute)).collect();
    dirs.extend(include_paths.iter().map(|p| absolute(p)));
    dirs.sort();
    dirs.dedup();
    for d in dirs {
        files_under(&d, SUBFOLDER_DEPTH, &mut files);
    }
    files.sort();
    files.dedup();
    files
}

/// How deep `dependency_candidates` looks into the subfolders of a library's folders.
const SUBFOLDER_DEPTH: usize = 4;
/// At most this many files from one folder tree (a folder such as `/usr/include` holds many).
const MAX_FILES_PER_TREE: usize = 20_000;

fn files_under(dir: &Path, depth: usize, out: &mut Vec<PathBuf>) {
    let start = out.len();
    let mut stack = vec![(dir.to_path_buf(), 0usize)];
    while let Some((d, level)) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else { continue };
        for e in entries.flatten() {
            let p = e.path();
            let Ok(kind) = e.file_type() else { continue };
            if kind.is_file() || (kind.is_symlink() && p.is_file()) {
                if out.len() - start >= MAX_FILES_PER_TREE {
                    return;
                }
                out.push(p);
            } else if kind.is_dir() && level < depth {
                stack.push((p, level + 1));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_paths() {
        assert_eq!(relative_to(Path::new("/a/b/cfg.yml"), Path::new("/a/out")), "../b/cfg.yml");
        assert_eq!(relative_to(Path::new("/a/cfg.yml"), Path::new("/a")), "cfg.yml");
        assert_eq!(relative_to(Path::new("/x/y.h"), Path::new("/a/b")), "../../x/y.h");
    }

    #[test]
    fn short_locations() {
        let roots = [PathBuf::from("/cuda/include")];
        assert_eq!(short_location("/cuda/include/cuda_fp16.hpp:10:3", Path::new("/cfg"), &roots), "cuda_fp16.hpp:10:3");
        assert_eq!(short_location("/cfg/inc/a.cuh:1:2", Path::new("/cfg"), &roots), "inc/a.cuh:1:2");
        assert_eq!(short_location("/else/a.cuh:1:2", Path::new("/cfg"), &roots), "/else/a.cuh:1:2");
    }

    #[test]
    fn output_under_a_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("f");
        std::fs::write(&file, "x").unwrap();
        let e = prepare_output_dir(&file.join("sub")).unwrap_err();
        assert!(e.ends_with("f is a file, not a folder"), "{e}");
        let e = prepare_output_dir(&file).unwrap_err();
        assert!(e.contains("is a file, not a folder"), "{e}");
    }
}
