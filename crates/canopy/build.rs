//! Fingerprints this crate's sources: the parse cache keys its entries by it, so an entry written by
//! another build of the parser (a changed model, a changed visitor) is never read.

use std::path::{Path, PathBuf};

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            sources(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

fn main() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&src, &mut files);
    files.sort();
    let mut h = blake3::Hasher::new();
    for f in &files {
        h.update(f.strip_prefix(&src).unwrap_or(f).to_string_lossy().as_bytes());
        h.update(&std::fs::read(f).unwrap_or_default());
    }
    println!("cargo:rustc-env=CANOPY_SOURCE_HASH={}", &h.finalize().to_hex()[..16]);
    println!("cargo:rerun-if-changed=src");
}
