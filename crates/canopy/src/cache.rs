//! The persistent parse cache. An entry is keyed by the libclang version, the clang arguments, the
//! source file and the retained files; it records the content hash of every file the translation
//! unit read and is valid only while all of them still hash the same. A file whose size and
//! modification time are unchanged is taken as unchanged without reading it.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::model::Diagnostic;

/// Bumped whenever the model's serialized form changes, so old entries are never read.
const FORMAT: u32 = 6;

/// One file the translation unit read.
#[derive(Serialize, Deserialize, Clone)]
pub(crate) struct FileStamp {
    /// Serialized as a string: an entry naming a path that is not UTF-8 is not written.
    pub(crate) path: PathBuf,
    hash: String,
    size: u64,
    mtime_ns: u64,
}

/// (size, modification time in ns) of a file.
pub(crate) fn stat(path: &Path) -> Option<(u64, u64)> {
    let meta = std::fs::metadata(path).ok()?;
    let mtime = meta.modified().ok()?.duration_since(std::time::UNIX_EPOCH).ok()?.as_nanos() as u64;
    Some((meta.len(), mtime))
}

impl FileStamp {
    pub(crate) fn of(path: &Path) -> Option<FileStamp> {
        let (size, mtime_ns) = stat(path)?;
        Some(FileStamp { path: path.to_path_buf(), hash: hash_file(path)?, size, mtime_ns })
    }

    /// Whether the file still has the recorded content.
    pub(crate) fn still_valid(&self) -> bool {
        match stat(&self.path) {
            None => false,
            Some(s) if s == (self.size, self.mtime_ns) => true,
            Some(_) => hash_file(&self.path).as_deref() == Some(self.hash.as_str()),
        }
    }
}

#[derive(Serialize, Deserialize)]
struct Manifest {
    format: u32,
    files: Vec<FileStamp>,
    /// Error diagnostics of the parse, so a hit fails the same way the parse did.
    errors: Vec<Diagnostic>,
}

pub(crate) struct Cache {
    dir: PathBuf,
}

pub(crate) fn hash_file(path: &Path) -> Option<String> {
    let bytes = std::fs::read(path).ok()?;
    Some(blake3::hash(&bytes).to_hex().to_string())
}

impl Cache {
    /// The cache, unless `AST_CANOPY_NO_CACHE` is set to a true value.
    pub(crate) fn open(dir: PathBuf) -> Option<Cache> {
        match std::env::var("AST_CANOPY_NO_CACHE").ok().as_deref() {
            Some("1" | "true" | "yes" | "on") => None,
            _ => Some(Cache { dir: dir.join("parse") }),
        }
    }

    /// A key from `parts` (strings or paths' bytes, so paths that are not UTF-8 stay distinct).
    pub(crate) fn key(parts: &[&[u8]]) -> String {
        let mut h = blake3::Hasher::new();
        h.update(&FORMAT.to_le_bytes());
        for p in parts {
            h.update(&(p.len() as u64).to_le_bytes());
            h.update(p);
        }
        h.finalize().to_hex()[..32].to_string()
    }

    fn path(&self, key: &str) -> PathBuf {
        self.dir.join(format!("{key}.json"))
    }

    /// The cached declarations (as JSON) when every recorded file still has the same content.
    pub(crate) fn get(&self, key: &str) -> Option<(Vec<Diagnostic>, String)> {
        let text = std::fs::read_to_string(self.path(key)).ok()?;
        let (head, body) = text.split_once('\n')?;
        let manifest: Manifest = serde_json::from_str(head).ok()?;
        if manifest.format != FORMAT {
            return None;
        }
        if !manifest.files.iter().all(FileStamp::still_valid) {
            return None;
        }
        Some((manifest.errors, body.to_string()))
    }

    /// Stores an entry; failures to write are ignored (the cache is an optimisation). No entry is
    /// written when a file's path cannot be recorded (it is not UTF-8).
    pub(crate) fn put(&self, key: &str, files: &[PathBuf], errors: &[Diagnostic], json: &str) {
        let files: Vec<FileStamp> = files.iter().filter_map(|f| FileStamp::of(f)).collect();
        let head = match serde_json::to_string(&Manifest { format: FORMAT, files, errors: errors.to_vec() }) {
            Ok(h) => h,
            Err(_) => return,
        };
        let _ = write_atomic(&self.path(key), &[head.as_bytes(), b"\n", json.as_bytes()]);
    }
}

/// Writes to a temporary file in the same folder, then renames it into place.
pub(crate) fn write_atomic(path: &Path, chunks: &[&[u8]]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    for c in chunks {
        tmp.write_all(c)?;
    }
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}
