//! Finds what a device-side parse needs: libclang and its resource headers (the `libclang-ng` wheel,
//! or a libclang named by an environment variable), and the CUDA headers (NVIDIA's pip wheels, else
//! `CUDA_HOME`/`CUDA_PATH`, else `/usr/local/cuda`), and builds the clang command line.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use crate::Error;

/// Where to look; empty fields mean "discover".
#[derive(Debug, Clone, Default)]
pub struct ToolchainOptions {
    /// Folders to search for wheels' files (Python's `sys.path`, site-packages).
    pub search_dirs: Vec<PathBuf>,
    /// CUDA include folders chosen by the caller; the first one that holds `cuda.h` is the root.
    pub cuda_include_dirs: Vec<PathBuf>,
    /// Which CUDA wheel family to prefer: "13" or "12". Empty prefers 13.
    pub cuda_major: String,
}

#[derive(Debug, Clone)]
pub struct Toolchain {
    pub libclang: PathBuf,
    pub resource_dir: PathBuf,
    /// The folder handed to `--cuda-path` (has `include/` and `bin/`).
    pub cuda_root: PathBuf,
    /// Further CUDA include folders (CCCL, headers of other wheels).
    pub cuda_extra_includes: Vec<PathBuf>,
    /// `CUDA_VERSION` from `cuda.h`, e.g. `13050`.
    pub cuda_version: Option<u32>,
    /// libc++ headers to use when the machine has no C++ standard library headers of its own.
    pub libcxx_fallback: Option<PathBuf>,
}

fn env_path(name: &str) -> Option<PathBuf> {
    std::env::var_os(name).filter(|v| !v.is_empty()).map(PathBuf::from)
}

fn find_libclang(opts: &ToolchainOptions) -> Result<PathBuf, Error> {
    let in_dir = |d: &Path| -> Option<PathBuf> {
        if d.is_file() {
            return Some(d.to_path_buf());
        }
        let entries = std::fs::read_dir(d).ok()?;
        let mut names: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with("libclang") && n.contains(".so"))
            })
            .collect();
        names.sort();
        names.into_iter().next()
    };
    if let Some(p) = env_path("AST_CANOPY_LIBCLANG") {
        return in_dir(&p).ok_or_else(|| {
            Error::Libclang(format!(
                "AST_CANOPY_LIBCLANG={} names no libclang shared library; point it at a libclang.so, or unset it \
                 and install libclang with `pip install 'libclang-ng>=22,<23'`",
                p.display()
            ))
        });
    }
    for dir in &opts.search_dirs {
        let p = dir.join("clang").join("native").join("libclang.so");
        if p.is_file() {
            return Ok(p);
        }
    }
    if let Some(p) = env_path("LIBCLANG_PATH").and_then(|p| in_dir(&p)) {
        return Ok(p);
    }
    Err(Error::Libclang(
        "libclang was not found: install it with `pip install 'libclang-ng>=22,<23'`, or set AST_CANOPY_LIBCLANG \
         to a libclang.so"
            .into(),
    ))
}

fn has_cuda_wrapper(dir: &Path) -> bool {
    dir.join("include").join("__clang_cuda_runtime_wrapper.h").is_file()
}

fn find_resource_dir(libclang: &Path) -> Result<PathBuf, Error> {
    if let Some(p) = env_path("AST_CANOPY_RESOURCE_DIR") {
        return if has_cuda_wrapper(&p) {
            Ok(p)
        } else {
            Err(Error::Libclang(format!(
                "AST_CANOPY_RESOURCE_DIR={} has no include/__clang_cuda_runtime_wrapper.h",
                p.display()
            )))
        };
    }
    let libdir = libclang.parent().unwrap_or(Path::new("."));
    let wheel = libdir.join("resource");
    if has_cuda_wrapper(&wheel) {
        return Ok(wheel);
    }
    // A system LLVM keeps it in <libdir>/clang/<version>.
    if let Ok(entries) = std::fs::read_dir(libdir.join("clang")) {
        let mut dirs: Vec<PathBuf> =
            entries.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| has_cuda_wrapper(p)).collect();
        dirs.sort();
        if let Some(d) = dirs.pop() {
            return Ok(d);
        }
    }
    Err(Error::Libclang(format!(
        "clang's resource headers (include/__clang_cuda_runtime_wrapper.h) were not found next to {}; set \
         AST_CANOPY_RESOURCE_DIR",
        libclang.display()
    )))
}

/// CUDA include folders from the pip wheels in `dir` (a site-packages folder), CUDA 13 layout first.
fn wheel_includes(dir: &Path, major: &str) -> Vec<PathBuf> {
    let nv = dir.join("nvidia");
    let cu13 = vec![nv.join("cu13").join("include")];
    let cu12: Vec<PathBuf> = ["cuda_runtime", "cuda_nvcc", "cuda_crt", "curand", "cuda_cccl", "cuda_nvrtc"]
        .iter()
        .map(|p| nv.join(p).join("include"))
        .collect();
    let order = if major == "12" { [cu12, cu13] } else { [cu13, cu12] };
    for family in order {
        let found: Vec<PathBuf> = family.into_iter().filter(|p| p.is_dir()).collect();
        if found.iter().any(|p| p.join("cuda.h").is_file() || p.join("cuda_runtime.h").is_file()) {
            return found;
        }
    }
    Vec::new()
}

/// Headers a device-side parse cannot do without; a candidate set of folders lacking one is skipped
/// (a machine may have the runtime wheel but not the crt one, for example).
const REQUIRED_CUDA_HEADERS: &[&str] = &["cuda_runtime.h", "crt/host_defines.h"];

fn missing_headers(dirs: &[PathBuf]) -> Vec<&'static str> {
    REQUIRED_CUDA_HEADERS.iter().copied().filter(|rel| !dirs.iter().any(|d| d.join(rel).is_file())).collect()
}

fn cuda_includes(opts: &ToolchainOptions) -> Result<Vec<PathBuf>, Error> {
    if !opts.cuda_include_dirs.is_empty() {
        let missing = missing_headers(&opts.cuda_include_dirs);
        if !missing.is_empty() {
            return Err(Error::Cuda(format!(
                "the CUDA include folders {:?} lack {}",
                opts.cuda_include_dirs,
                missing.join(", ")
            )));
        }
        return Ok(opts.cuda_include_dirs.clone());
    }
    let mut candidates: Vec<Vec<PathBuf>> =
        opts.search_dirs.iter().map(|d| wheel_includes(d, &opts.cuda_major)).collect();
    for var in ["CUDA_HOME", "CUDA_PATH"] {
        if let Some(p) = env_path(var) {
            candidates.push(vec![p.join("include")]);
        }
    }
    candidates.push(vec![PathBuf::from("/usr/local/cuda/include")]);
    let mut incomplete = Vec::new();
    for dirs in candidates.into_iter().filter(|c| !c.is_empty() && c.iter().any(|d| d.is_dir())) {
        let missing = missing_headers(&dirs);
        if missing.is_empty() {
            return Ok(dirs);
        }
        incomplete.push(format!("{} (lacks {})", dirs[0].display(), missing.join(", ")));
    }
    let seen = if incomplete.is_empty() { String::new() } else { format!(" Incomplete: {}.", incomplete.join("; ")) };
    Err(Error::Cuda(format!(
        "CUDA headers were not found: `pip install 'nvidia-cuda-runtime>=13' 'nvidia-cuda-crt>=13' \
         'nvidia-cuda-cccl>=13'`, or set CUDA_HOME.{seen}"
    )))
}

fn read_cuda_version(include: &Path) -> Option<u32> {
    let text = std::fs::read_to_string(include.join("cuda.h")).ok()?;
    text.lines().find_map(|l| l.trim().strip_prefix("#define CUDA_VERSION").and_then(|v| v.trim().parse().ok()))
}

/// A `--cuda-path` root: the include folder's parent when it looks like a toolkit, else a folder of
/// symlinks in the cache (clang wants `include/` and `bin/` under one root).
fn cuda_root(include: &Path, cache_dir: &Path) -> Result<PathBuf, Error> {
    if let Some(parent) = include.parent() {
        if parent.join("bin").is_dir() && include.file_name().is_some_and(|n| n == "include") {
            return Ok(parent.to_path_buf());
        }
    }
    // The root is part of the clang arguments, hence of the parse-cache and preamble keys: keep it
    // in one place per machine (the temporary folder) so that moving the cache does not change it;
    // the cache folder serves where the temporary one cannot be written.
    let tag = blake3::hash(include.to_string_lossy().as_bytes()).to_hex();
    let shared = std::env::temp_dir().join("ast_canopy-cuda-root").join(&tag[..16]);
    link_root(&shared, include).or_else(|_| link_root(&cache_dir.join("cuda-root").join(&tag[..16]), include))
}

/// Makes `root/include` a link to `include` and `root/bin` a folder; returns `root`.
fn link_root(root: &Path, include: &Path) -> Result<PathBuf, Error> {
    let link = root.join("include");
    if std::fs::read_link(&link).ok().as_deref() != Some(include) {
        std::fs::create_dir_all(root.join("bin")).map_err(|e| Error::io(root, e))?;
        let tmp = root.join(format!("include.tmp{}", std::process::id()));
        let _ = std::fs::remove_file(&tmp);
        std::os::unix::fs::symlink(include, &tmp).map_err(|e| Error::io(&tmp, e))?;
        std::fs::rename(&tmp, &link).map_err(|e| Error::io(&link, e))?;
    }
    Ok(root.to_path_buf())
}

/// The cache folder: `AST_CANOPY_CACHE_DIR`, else `$XDG_CACHE_HOME/ast_canopy`, else `~/.cache/ast_canopy`.
pub fn cache_dir() -> PathBuf {
    if let Some(p) = env_path("AST_CANOPY_CACHE_DIR") {
        return p;
    }
    if let Some(p) = env_path("XDG_CACHE_HOME") {
        return p.join("ast_canopy");
    }
    env_path("HOME").unwrap_or_else(std::env::temp_dir).join(".cache").join("ast_canopy")
}

impl Toolchain {
    pub fn discover(opts: &ToolchainOptions) -> Result<Toolchain, Error> {
        let libclang = find_libclang(opts)?;
        let resource_dir = find_resource_dir(&libclang)?;
        let includes = cuda_includes(opts)?;
        let root_include = includes.iter().find(|p| p.join("cuda_runtime.h").is_file()).cloned().ok_or_else(|| {
            Error::Cuda(format!("none of the CUDA include folders {includes:?} holds cuda_runtime.h"))
        })?;
        let cuda_version = read_cuda_version(&root_include);
        let cuda_root = cuda_root(&root_include, &cache_dir())?;
        // The caller's folders first, in its order: a CCCL it names (a newer wheel, a checkout) wins
        // over the one beside the CUDA headers. CUDA 13 keeps CCCL (cub, thrust, libcu++) in
        // include/cccl; that one serves only includes that no named folder holds.
        let mut cuda_extra_includes: Vec<PathBuf> = Vec::new();
        let cccl = root_include.join("cccl");
        let beside_root = cccl.is_dir().then_some(cccl);
        for inc in includes.iter().filter(|p| **p != root_include).chain(beside_root.iter()) {
            if !cuda_extra_includes.contains(inc) {
                cuda_extra_includes.push(inc.clone());
            }
        }
        let libcxx = libclang.parent().map(|d| d.join("libcxx")).filter(|d| d.is_dir());
        let has_system_cxx = Path::new("/usr/include/c++").is_dir() || Path::new("/usr/local/include/c++").is_dir();
        Ok(Toolchain {
            libclang,
            resource_dir,
            cuda_root,
            cuda_extra_includes,
            cuda_version,
            libcxx_fallback: if has_system_cxx { None } else { libcxx },
        })
    }

    /// The clang arguments for a device-side parse.
    pub fn clang_args(
        &self,
        arch: &str,
        cxx_standard: &str,
        includes: &[PathBuf],
        defines: &[String],
    ) -> Vec<OsString> {
        // Paths are passed as they are (a Unix path need not be UTF-8).
        let joined = |flag: &str, p: &Path| {
            let mut s = OsString::from(flag);
            s.push(p);
            s
        };
        let mut args: Vec<OsString> = vec![
            "-x".into(),
            "cuda".into(),
            "--cuda-device-only".into(),
            format!("--cuda-gpu-arch={arch}").into(),
            "-nocudalib".into(),
            "-Wno-unknown-cuda-version".into(),
            // Headers are parsed as main files; these warnings say nothing about them.
            "-Wno-pragma-once-outside-header".into(),
            "-Wno-pragma-system-header-outside-header".into(),
            joined("--cuda-path=", &self.cuda_root),
            "-resource-dir".into(),
            self.resource_dir.clone().into_os_string(),
            format!("-std={cxx_standard}").into(),
        ];
        if let Some(libcxx) = &self.libcxx_fallback {
            args.push("-nostdinc++".into());
            args.push("-isystem".into());
            args.push(libcxx.clone().into_os_string());
        }
        for inc in &self.cuda_extra_includes {
            args.push("-isystem".into());
            args.push(inc.clone().into_os_string());
        }
        for inc in includes {
            args.push(joined("-I", inc));
        }
        for d in defines {
            args.push(format!("-D{d}").into());
        }
        args
    }
}

/// Checks a compute capability and returns clang's spelling (`sm_80`, `sm_90a`).
pub fn normalize_arch(cc: &str) -> Result<String, Error> {
    let s = cc.trim();
    let digits_and_suffix = s.strip_prefix("sm_").or_else(|| s.strip_prefix("compute_")).unwrap_or(s);
    let digits: String = digits_and_suffix.chars().take_while(|c| c.is_ascii_digit()).collect();
    let suffix = &digits_and_suffix[digits.len()..];
    let ok = (2..=3).contains(&digits.len()) && matches!(suffix, "" | "a" | "f") && !digits.starts_with('0');
    if ok {
        Ok(format!("sm_{digits}{suffix}"))
    } else {
        Err(Error::ComputeCapability(cc.to_string()))
    }
}
