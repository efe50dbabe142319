//! `numbast generate`: config -> parse per arch -> module, stub and coverage report.

use std::collections::BTreeSet;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

use canopy::{ParseRequest, Toolchain, ToolchainOptions};
use numbast_bindgen::config::Config;
use numbast_bindgen::module::{header_definitions, macro_lines, render_module, ModuleRequest, Provenance, ShimInclude};

use crate::coverage::Coverage;
use crate::paths::{
    absolute, cuda_include_roots, dependency_candidates, prepare_output_dir, relative_to, resolve, shim_include,
    short_location,
};
use crate::GenerateOptions;

/// Why generation stopped, and the exit code it gets.
pub(crate) struct Failure {
    pub code: i32,
    pub message: String,
}

impl Failure {
    /// Bad arguments, config, input paths or output folder: exit code 2.
    pub fn usage(message: impl Into<String>) -> Failure {
        Failure { code: 2, message: message.into() }
    }

    /// Generation itself failed: exit code 1.
    pub fn failed(message: impl Into<String>) -> Failure {
        Failure { code: 1, message: message.into() }
    }
}

fn write_atomic(path: &Path, text: &str) -> Result<(), Failure> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let mut tmp = tempfile::NamedTempFile::new_in(dir)
        .map_err(|e| Failure::failed(format!("cannot write in {}: {e}", dir.display())))?;
    tmp.write_all(text.as_bytes()).map_err(|e| Failure::failed(format!("cannot write {}: {e}", path.display())))?;
    // NamedTempFile creates the file readable by its owner only; a module is for everyone to import.
    use std::os::unix::fs::PermissionsExt;
    let _ = tmp.as_file().set_permissions(std::fs::Permissions::from_mode(0o644));
    tmp.persist(path).map_err(|e| Failure::failed(format!("cannot write {}: {}", path.display(), e.error)))?;
    Ok(())
}

fn progress(steps: u64) -> Option<indicatif::ProgressBar> {
    if !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = indicatif::ProgressBar::new(steps);
    bar.set_style(indicatif::ProgressStyle::with_template("{spinner} [{bar:30}] {pos}/{len} {msg}").ok()?);
    Some(bar)
}

/// The config's inputs, resolved against the config's folder and checked.
struct Inputs {
    entry: PathBuf,
    files: Vec<PathBuf>,
    includes: Vec<PathBuf>,
}

fn inputs(config: &Config, config_path: &Path, base: &Path) -> Result<Inputs, Failure> {
    let missing = |key: &str, p: &Path, what: &str| {
        Failure::usage(format!(
            "{}: `{key}`: {} {what} (paths are relative to the config's folder)",
            config_path.display(),
            p.display()
        ))
    };
    let entry = resolve(base, &config.entry_point);
    if !entry.is_file() {
        return Err(missing("Entry Point", &entry, "is not a file"));
    }
    let mut files = Vec::new();
    for f in &config.file_list {
        let p = resolve(base, f);
        if !p.is_file() {
            return Err(missing("File List", &p, "is not a file"));
        }
        files.push(absolute(&p));
    }
    let mut includes = Vec::new();
    for i in &config.clang_include_paths {
        let p = resolve(base, i);
        if !p.is_dir() {
            return Err(missing("Clang Include Paths", &p, "is not a folder"));
        }
        includes.push(absolute(&p));
    }
    Ok(Inputs { entry: absolute(&entry), files, includes })
}

pub(crate) fn generate(config_path: &Path, opts: &GenerateOptions, search_dirs: Vec<PathBuf>) -> Result<(), Failure> {
    let config = Config::load(config_path).map_err(|e| Failure::usage(e.to_string()))?;
    for w in &config.warnings {
        eprintln!("numbast: warning: {w}");
    }
    let config_abs = absolute(config_path);
    let base = config_abs.parent().unwrap_or(Path::new("/")).to_path_buf();
    let inputs = inputs(&config, config_path, &base)?;
    let output_dir = opts.output_dir.clone().unwrap_or_else(|| PathBuf::from("."));
    prepare_output_dir(&output_dir).map_err(Failure::usage)?;
    let output_abs = absolute(&output_dir);
    let tc = Toolchain::discover(&ToolchainOptions { search_dirs, ..Default::default() })
        .map_err(|e| Failure::failed(e.to_string()))?;

    let mut retain = inputs.files.clone();
    retain.extend(dependency_candidates(&tc, &inputs.files, &inputs.includes));
    let bar = progress(config.gpu_arch.len() as u64 + 1);
    let mut per_arch = Vec::new();
    for arch in &config.gpu_arch {
        if let Some(b) = &bar {
            b.set_message(format!("parsing {} for {arch}", inputs.entry.display()));
        }
        let req = ParseRequest {
            source: inputs.entry.clone(),
            files_to_retain: retain.clone(),
            compute_capability: arch.clone(),
            cxx_standard: "gnu++17".into(),
            additional_includes: inputs.includes.clone(),
            defines: config.predefined_macros.clone(),
            bypass_parse_error: opts.bypass_parse_error,
            verbose: opts.verbose,
            cuda_header_mode: false,
        };
        let decls = canopy::parse(&req, &tc).map_err(|e| Failure::failed(e.to_string()))?;
        for d in decls.diagnostics.iter().filter(|d| d.severity.is_error()) {
            eprintln!("numbast: warning: {arch}: {d} (bypassed)");
        }
        per_arch.push((canopy::normalize_arch(arch).unwrap_or_else(|_| arch.clone()), decls));
        if let Some(b) = &bar {
            b.inc(1);
        }
    }
    if let Some(path) = &opts.dump_model {
        let dump: serde_json::Map<String, serde_json::Value> =
            per_arch.iter().map(|(a, d)| (a.clone(), serde_json::to_value(d).unwrap_or_default())).collect();
        write_atomic(path, &serde_json::to_string_pretty(&dump).unwrap_or_default())?;
    }

    let stem = inputs.entry.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    let module_name = numbast_bindgen::pyexpr::py_ident(&config.module_stem(&stem));
    let include = shim_include(&config, &inputs.entry, &tc, &output_abs)
        .map_err(|e| Failure::usage(format!("{}: {e}", config_path.display())))?;
    if opts.verbose {
        let line = match &include {
            ShimInclude::Verbatim(t) => t.clone(),
            ShimInclude::RelativeToModule(rel) => format!("#include \"<module folder>/{rel}\""),
        };
        eprintln!("numbast: shim preamble:\n{}{line}", macro_lines(&config));
    }
    let provenance = Provenance {
        tool_version: env!("CARGO_PKG_VERSION").to_string(),
        libclang_version: canopy::libclang_version(&tc).unwrap_or_else(|_| "libclang unknown".into()),
        cuda_version: tc
            .cuda_version
            .map(|v| format!("{}.{}", v / 1000, (v % 1000) / 10))
            .unwrap_or_else(|| "unknown".into()),
        config_path: relative_to(&config_abs, &output_abs),
    };
    if let Some(b) = &bar {
        b.set_message("rendering");
    }
    let roots = cuda_include_roots(&tc);
    let include_dirs: Vec<String> = inputs
        .includes
        .iter()
        .filter(|d| !roots.iter().any(|r| d.starts_with(r)))
        .map(|d| relative_to(d, &output_abs))
        .collect();
    let definitions = header_definitions(&per_arch, |file| {
        let path = Path::new(file);
        (!roots.iter().any(|r| path.starts_with(r))).then(|| relative_to(path, &output_abs))
    });
    let primary_files: BTreeSet<String> = inputs.files.iter().map(|f| f.to_string_lossy().into_owned()).collect();
    let module = render_module(&ModuleRequest {
        config: &config,
        module_name: &module_name,
        per_arch: &per_arch,
        primary_files: &primary_files,
        include: &include,
        include_dirs: &include_dirs,
        definitions: &definitions,
        provenance: &provenance,
    });
    let py_path = output_dir.join(format!("{module_name}.py"));
    write_atomic(&py_path, &module.python)?;
    write_atomic(&output_dir.join(format!("{module_name}.pyi")), &module.stub)?;
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    let coverage = Coverage::new(py_path.display().to_string(), &module.report, &module.dependencies, |loc| {
        short_location(loc, &base, &roots)
    });
    if let Some(path) = &opts.report {
        write_atomic(path, &coverage.json())?;
    }
    if !opts.quiet {
        print!("{}", coverage.table());
        let _ = std::io::stdout().flush();
    }
    Ok(())
}
