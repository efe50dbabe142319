//! The precompiled CUDA preamble. In CUDA mode the clang driver includes
//! `__clang_cuda_runtime_wrapper.h` before the source, and with it the CUDA runtime headers and
//! parts of the C++ standard library: ~180 files that are most of a small header's parse time.
//! They are compiled once into a precompiled header (PCH) per libclang and clang arguments, and
//! every later parse loads it with `-include-pch`. The driver still includes the wrapper after the
//! PCH, but its include guard is then already defined, so nothing is read again.
//!
//! On disk: `<cache dir>/pch/<key>.pch` and `<key>.json`, a manifest of the content hash of every
//! file the PCH was built from and of the PCH's own size and modification time. A PCH is used only
//! while all of them are unchanged, and is rebuilt otherwise. The folder is apart from the parse
//! cache (`<cache dir>/parse`): clearing one keeps the other, `AST_CANOPY_CACHE_DIR` moves both,
//! `AST_CANOPY_NO_CACHE` turns off only the parse cache and `AST_CANOPY_NO_PCH=1` only the PCH.
//!
//! The same mechanism precompiles a header for constant evaluation (`constants.rs`): the main file
//! is then the header's `#include` lines instead of empty, and its text is part of the key.

use std::collections::{HashMap, HashSet};
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::{Arc, LazyLock, Mutex};

use serde::{Deserialize, Serialize};

use crate::cache::{self, FileStamp};
use crate::clang::{Index, ParseOptions, Severity, TranslationUnit, Unsaved};

/// Bumped whenever what is built or how it is used changes, so old PCHs are never read.
const FORMAT: u32 = 2;

/// Makes clang compare an input file's content, not only its modification time, when it checks
/// that the PCH is current: the PCH stays usable when a header is touched but not changed, as the
/// manifest's own check allows. Given both when building and when using the PCH.
const VALIDATE_CONTENT: &str = "-fpch-validate-input-files-content";

/// A usable precompiled preamble.
pub(crate) struct Preamble {
    pch: PathBuf,
    /// (size, modification time in ns) of the PCH file when it was written.
    pch_stat: (u64, u64),
    files: Vec<FileStamp>,
    /// The canonical paths of `files`.
    canonical: HashSet<PathBuf>,
}

impl Preamble {
    fn new(pch: PathBuf, pch_stat: (u64, u64), files: Vec<FileStamp>) -> Preamble {
        let canonical = files.iter().map(|f| crate::visit::canonical_path(&f.path)).collect();
        Preamble { pch, pch_stat, files, canonical }
    }

    /// The arguments that make a parse load the PCH (added to the arguments it was built with).
    pub(crate) fn args(&self) -> Vec<OsString> {
        vec!["-include-pch".into(), self.pch.clone().into_os_string(), VALIDATE_CONTENT.into()]
    }

    pub(crate) fn path(&self) -> &Path {
        &self.pch
    }

    /// The files the PCH was built from.
    pub(crate) fn files(&self) -> impl Iterator<Item = &Path> {
        self.files.iter().map(|f| f.path.as_path())
    }

    /// Whether the file at `canonical_path` is one of the files the PCH was built from.
    pub(crate) fn holds(&self, canonical_path: &Path) -> bool {
        self.canonical.contains(canonical_path)
    }

    /// Whether the PCH file and every file it was built from are still as they were.
    fn still_valid(&self) -> bool {
        cache::stat(&self.pch) == Some(self.pch_stat) && self.files.iter().all(FileStamp::still_valid)
    }
}

#[derive(Serialize, Deserialize)]
struct Manifest {
    format: u32,
    pch_size: u64,
    pch_mtime_ns: u64,
    files: Vec<FileStamp>,
    /// Why no PCH can be made from these files (they gave diagnostics, or the PCH built from them
    /// could not be loaded and was deleted): no process tries again until one of them changes.
    unusable: Option<String>,
}

/// What this process knows about the preamble of one key.
#[derive(Default)]
enum Slot {
    #[default]
    Unknown,
    Ready(Arc<Preamble>),
    /// Building failed; not tried again in this process.
    Failed(String),
}

/// One slot per PCH path. A thread holds a slot's lock while it loads or builds that preamble, so
/// threads parsing at once wait for one build instead of each building their own.
static SLOTS: LazyLock<Mutex<HashMap<PathBuf, Arc<Mutex<Slot>>>>> = LazyLock::new(Default::default);

/// Whether `AST_CANOPY_NO_PCH` leaves the preamble on.
fn enabled() -> bool {
    !matches!(std::env::var("AST_CANOPY_NO_PCH").ok().as_deref(), Some("1" | "true" | "yes" | "on"))
}

/// The preamble for parses with `args` (the clang arguments, without the source), loaded from the
/// cache folder or built there. `None` when it is turned off or cannot be built; `verbose` says why.
pub(crate) fn preamble(libclang_fingerprint: &str, args: &[OsString], verbose: bool) -> Option<Arc<Preamble>> {
    precompiled(libclang_fingerprint, args, "", verbose)
}

/// The PCH of a main file whose text is `main_text` (`""`: the CUDA preamble), parsed with `args`,
/// loaded from the cache folder or built there; as `preamble`. Only errors, not warnings, keep a
/// non-empty main file from being precompiled: its parses are only evaluated, not reported.
pub(crate) fn precompiled(
    libclang_fingerprint: &str,
    args: &[OsString],
    main_text: &str,
    verbose: bool,
) -> Option<Arc<Preamble>> {
    if !enabled() {
        if verbose {
            eprintln!("ast_canopy: precompiled CUDA preamble off (AST_CANOPY_NO_PCH)");
        }
        return None;
    }
    let key = cache::Cache::key(&[
        FORMAT.to_string().as_bytes(),
        libclang_fingerprint.as_bytes(),
        &crate::join_args(args),
        main_text.as_bytes(),
    ]);
    let files = Files::new(&crate::toolchain::cache_dir().join("pch"), &key, main_text);
    let slot = SLOTS.lock().unwrap_or_else(|e| e.into_inner()).entry(files.pch.clone()).or_default().clone();
    let mut slot = slot.lock().unwrap_or_else(|e| e.into_inner());
    match &*slot {
        Slot::Ready(p) if p.still_valid() => return Some(p.clone()),
        Slot::Failed(why) => {
            if verbose {
                eprintln!("ast_canopy: no precompiled CUDA preamble ({why}); parsing without it");
            }
            return None;
        }
        _ => {}
    }
    let started = std::time::Instant::now();
    let outcome = match load(&files) {
        Some(Ok(p)) => {
            if verbose {
                eprintln!("ast_canopy: using the precompiled CUDA preamble {}", files.pch.display());
            }
            *slot = Slot::Ready(p.clone());
            return Some(p);
        }
        Some(Err(why)) => Err(why),
        None => build(&files, args),
    };
    match outcome {
        Ok(p) => {
            if verbose {
                eprintln!(
                    "ast_canopy: built the precompiled CUDA preamble {} ({} files) in {:.3} s",
                    files.pch.display(),
                    p.files.len(),
                    started.elapsed().as_secs_f64()
                );
            }
            *slot = Slot::Ready(p.clone());
            Some(p)
        }
        Err(why) => {
            if verbose {
                eprintln!("ast_canopy: no precompiled CUDA preamble ({why}); parsing without it");
            }
            *slot = Slot::Failed(why);
            None
        }
    }
}

/// The paths of one key's preamble.
struct Files {
    dir: PathBuf,
    key: String,
    pch: PathBuf,
    manifest: PathBuf,
    /// The empty main file the PCH is built from. It is on disk, not an in-memory buffer, because
    /// clang cannot check an in-memory input file's content when it loads the PCH.
    main: PathBuf,
    main_text: String,
}

impl Files {
    fn new(dir: &Path, key: &str, main_text: &str) -> Files {
        Files {
            main_text: main_text.to_string(),
            dir: dir.to_path_buf(),
            key: key.to_string(),
            pch: dir.join(format!("{key}.pch")),
            manifest: dir.join(format!("{key}.json")),
            main: dir.join(format!("{key}.cu")),
        }
    }
}

/// What the manifest on disk says, when it is current: the preamble, or why the one built from
/// these files cannot be used. `None`: build it.
fn load(files: &Files) -> Option<Result<Arc<Preamble>, String>> {
    let text = std::fs::read_to_string(&files.manifest).ok()?;
    let m: Manifest = serde_json::from_str(&text).ok().filter(|m: &Manifest| m.format == FORMAT)?;
    if let Some(why) = m.unusable {
        return m.files.iter().all(FileStamp::still_valid).then_some(Err(why));
    }
    let p = Preamble::new(files.pch.clone(), (m.pch_size, m.pch_mtime_ns), m.files);
    p.still_valid().then(|| Ok(Arc::new(p)))
}

/// Records that no PCH can be made from the files of `stamps`, and returns `why`.
fn record_unusable(files: &Files, stamps: Vec<FileStamp>, why: String) -> String {
    let manifest =
        Manifest { format: FORMAT, pch_size: 0, pch_mtime_ns: 0, files: stamps, unusable: Some(why.clone()) };
    let _ = write_manifest(files, &manifest);
    why
}

fn write_manifest(files: &Files, manifest: &Manifest) -> Result<(), String> {
    let text = serde_json::to_string(manifest).map_err(|e| e.to_string())?;
    cache::write_atomic(&files.manifest, &[text.as_bytes()]).map_err(|e| format!("{}: {e}", files.manifest.display()))
}

/// Parses an empty source with the PCH: `Err` with clang's complaint when it cannot be loaded.
fn check_loads(files: &Files, args: &[OsString]) -> Result<(), String> {
    let main = files.dir.join(format!("{}-check.cu", files.key));
    let mut check_args = args.to_vec();
    check_args.extend(["-include-pch".into(), files.pch.clone().into_os_string(), VALIDATE_CONTENT.into()]);
    let index = Index::new();
    let unsaved = [Unsaved { name: main.clone(), contents: String::new() }];
    let opts = ParseOptions { skip_function_bodies: true, for_pch: false };
    let tu = TranslationUnit::parse(&index, &main, &check_args, &unsaved, &opts)
        .map_err(|f| format!("libclang could not load it: {f:?}"))?;
    let least = if files.main_text.is_empty() { Severity::Warning } else { Severity::Error };
    match tu.diagnostics().into_iter().find(|d| d.severity >= least) {
        Some(d) => Err(format!("loading it gave: {}", d.message)),
        None => Ok(()),
    }
}

/// Parses an empty CUDA source with `args` (the driver includes the wrapper) and saves it as a PCH,
/// then writes the manifest. Both files are written under temporary names and renamed into place.
fn build(files: &Files, args: &[OsString]) -> Result<Arc<Preamble>, String> {
    std::fs::create_dir_all(&files.dir).map_err(|e| format!("{}: {e}", files.dir.display()))?;
    let main = files.main.clone();
    let mut build_args = args.to_vec();
    build_args.push(VALIDATE_CONTENT.into());
    if std::fs::read(&files.main).map(|m| m != files.main_text.as_bytes()).unwrap_or(true) {
        cache::write_atomic(&files.main, &[files.main_text.as_bytes()])
            .map_err(|e| format!("{}: {e}", files.main.display()))?;
    }
    let index = Index::new();
    let opts = ParseOptions { skip_function_bodies: true, for_pch: true };
    let tu = TranslationUnit::parse(&index, &main, &build_args, &[], &opts)
        .map_err(|f| format!("libclang could not parse the CUDA headers: {f:?}"))?;
    let mut read = tu.included_files();
    read.sort();
    read.dedup();
    let stamps: Vec<FileStamp> = read.iter().filter_map(|f| FileStamp::of(f)).collect();
    if stamps.is_empty() {
        return Err("the CUDA wrapper read no file".into());
    }
    // A parse with the PCH would not repeat these diagnostics, so such a PCH would hide them.
    let least = if files.main_text.is_empty() { Severity::Warning } else { Severity::Error };
    let diagnostics: Vec<_> = tu.diagnostics().into_iter().filter(|d| d.severity >= least).collect();
    if let Some(d) = diagnostics.first() {
        let why = format!(
            "the CUDA headers gave {} diagnostic(s), the first at {}:{}:{}: {}",
            diagnostics.len(),
            d.file,
            d.line,
            d.column,
            d.message
        );
        return Err(record_unusable(files, stamps, why));
    }
    let tmp = tempfile::Builder::new()
        .prefix(&format!("{}.", files.key))
        .suffix(".pch.tmp")
        .tempfile_in(&files.dir)
        .map_err(|e| format!("{}: {e}", files.dir.display()))?
        .into_temp_path();
    tu.save(&tmp)?;
    drop(tu);
    tmp.persist(&files.pch).map_err(|e| format!("{}: {}", files.pch.display(), e.error))?;
    if let Err(why) = check_loads(files, args) {
        let _ = std::fs::remove_file(&files.pch);
        return Err(record_unusable(
            files,
            stamps,
            format!("the PCH built from the CUDA headers cannot be used: {why}"),
        ));
    }
    let pch_stat = cache::stat(&files.pch).ok_or_else(|| format!("{} vanished", files.pch.display()))?;
    let manifest = Manifest {
        format: FORMAT,
        pch_size: pch_stat.0,
        pch_mtime_ns: pch_stat.1,
        files: stamps.clone(),
        unusable: None,
    };
    write_manifest(files, &manifest)?;
    Ok(Arc::new(Preamble::new(files.pch.clone(), pch_stat, stamps)))
}
