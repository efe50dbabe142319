//! The static generator: reads a YAML config, parses the entry point for each GPU architecture,
//! renders a standalone Python module and its stub, and reports what was bound and skipped.

#![forbid(unsafe_code)]

use std::ffi::OsString;
use std::io::{IsTerminal, Write};
use std::path::{Component, Path, PathBuf};

use bindgen::config::Config;
use bindgen::module::{render_module, shim_preamble, Provenance};
use bindgen::report::Report;
use canopy::{ParseRequest, Toolchain, ToolchainOptions};
use clap::{Parser, Subcommand};

#[derive(Parser, Debug)]
#[command(name = "numbast", version, about = "Generate Numba-CUDA bindings for CUDA C++ headers")]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    /// The YAML config (the spelling of `python -m numbast --cfg-path`).
    #[arg(long = "cfg-path", global = false)]
    cfg_path: Option<PathBuf>,
    #[command(flatten)]
    opts: GenerateOptions,
}

#[derive(clap::Args, Debug, Clone)]
struct GenerateOptions {
    /// Folder the module and its stub are written to.
    #[arg(long = "output-dir", short = 'o')]
    output_dir: Option<PathBuf>,
    /// Also write the coverage report as JSON.
    #[arg(long)]
    report: Option<PathBuf>,
    /// Write the parsed declarations (JSON, one object per GPU arch) to this file.
    #[arg(long = "dump-model")]
    dump_model: Option<PathBuf>,
    /// Print the clang command line and the shim preamble.
    #[arg(long, short = 'v')]
    verbose: bool,
    /// Don't print the coverage table.
    #[arg(long, short = 'q')]
    quiet: bool,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Generate a binding module from a config.
    Generate {
        config: PathBuf,
        #[command(flatten)]
        opts: GenerateOptions,
    },
    /// Print the JSON Schema of the config.
    Schema,
}

/// Folders to look for the `libclang-ng` and NVIDIA wheels in when run as a plain binary: the
/// site-packages next to the executable (a virtual environment's `bin/`) and `PYTHONPATH`.
pub fn default_search_dirs() -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    if let Some(prefix) = std::env::current_exe().ok().and_then(|p| p.parent().and_then(Path::parent).map(Path::to_path_buf)) {
        if let Ok(entries) = std::fs::read_dir(prefix.join("lib")) {
            for e in entries.flatten() {
                let sp = e.path().join("site-packages");
                if sp.is_dir() {
                    dirs.push(sp);
                }
            }
        }
    }
    if let Some(pp) = std::env::var_os("PYTHONPATH") {
        dirs.extend(std::env::split_paths(&pp));
    }
    dirs
}

/// Runs the CLI; returns the exit code (0 ok, 1 generation failed, 2 bad usage or config).
pub fn run(args: Vec<OsString>, search_dirs: Vec<PathBuf>) -> i32 {
    let cli = match Cli::try_parse_from(args) {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { 2 } else { 0 };
        }
    };
    match (cli.command, cli.cfg_path) {
        (Some(Command::Schema), _) => {
            print!("{}", bindgen::config::json_schema());
            0
        }
        (Some(Command::Generate { config, opts }), _) => generate(&config, &opts, search_dirs),
        (None, Some(config)) => generate(&config, &cli.opts, search_dirs),
        (None, None) => {
            eprintln!("numbast: give a config: `numbast generate CONFIG --output-dir DIR` (see --help)");
            2
        }
    }
}

/// Why generation stopped, and the exit code it gets.
struct Failure {
    code: i32,
    message: String,
}

fn fail(code: i32, message: impl Into<String>) -> Failure {
    Failure { code, message: message.into() }
}

fn generate(config_path: &Path, opts: &GenerateOptions, search_dirs: Vec<PathBuf>) -> i32 {
    match generate_inner(config_path, opts, search_dirs) {
        Ok(()) => 0,
        Err(f) => {
            eprintln!("numbast: error: {}", f.message);
            f.code
        }
    }
}

fn resolve(base: &Path, p: &str) -> PathBuf {
    let path = Path::new(p);
    if path.is_absolute() {
        path.to_path_buf()
    } else {
        base.join(path)
    }
}

/// `path` relative to `from` (both absolute), with `..` where needed.
fn relative_to(path: &Path, from: &Path) -> PathBuf {
    let p: Vec<Component> = path.components().collect();
    let f: Vec<Component> = from.components().collect();
    let common = p.iter().zip(&f).take_while(|(a, b)| a == b).count();
    let mut out = PathBuf::new();
    for _ in common..f.len() {
        out.push("..");
    }
    for c in &p[common..] {
        out.push(c.as_os_str());
    }
    out
}

fn absolute(p: &Path) -> PathBuf {
    std::fs::canonicalize(p).unwrap_or_else(|_| std::env::current_dir().map(|d| d.join(p)).unwrap_or_else(|_| p.to_path_buf()))
}

/// The include line shims are compiled with: the override, else `<relative>` for a header under a
/// CUDA include folder (found by NVRTC on any machine), else the header's absolute path.
fn include_line(config: &Config, entry: &Path, tc: &Toolchain) -> String {
    if let Some(o) = &config.shim_include_override {
        return o.clone();
    }
    let mut roots = vec![tc.cuda_root.join("include")];
    roots.extend(tc.cuda_extra_includes.iter().cloned());
    for root in roots {
        let root = absolute(&root);
        if let Ok(rel) = entry.strip_prefix(&root) {
            return format!("#include <{}>", rel.display());
        }
    }
    format!("#include \"{}\"", entry.display().to_string().replace('\\', "\\\\").replace('"', "\\\""))
}

fn write_atomic(path: &Path, text: &str) -> Result<(), Failure> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(|e| fail(1, format!("cannot write in {}: {e}", dir.display())))?;
    tmp.write_all(text.as_bytes()).map_err(|e| fail(1, format!("cannot write {}: {e}", path.display())))?;
    tmp.persist(path).map_err(|e| fail(1, format!("cannot write {}: {}", path.display(), e.error)))?;
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

fn generate_inner(config_path: &Path, opts: &GenerateOptions, search_dirs: Vec<PathBuf>) -> Result<(), Failure> {
    let config = Config::load(config_path).map_err(|e| fail(2, e.to_string()))?;
    let config_abs = absolute(config_path);
    let base = config_abs.parent().unwrap_or(Path::new(".")).to_path_buf();
    let output_dir = opts.output_dir.clone().unwrap_or_else(|| PathBuf::from("."));
    std::fs::create_dir_all(&output_dir).map_err(|e| fail(1, format!("cannot create the output folder {}: {e}", output_dir.display())))?;
    let output_abs = absolute(&output_dir);

    let entry = resolve(&base, &config.entry_point);
    if !entry.is_file() {
        return Err(fail(2, format!("{}: `Entry Point`: {} does not exist", config_path.display(), entry.display())));
    }
    let entry = absolute(&entry);
    let files: Vec<PathBuf> = config.file_list.iter().map(|f| resolve(&base, f)).collect();
    for f in &files {
        if !f.is_file() {
            return Err(fail(2, format!("{}: `File List`: {} does not exist", config_path.display(), f.display())));
        }
    }
    let includes: Vec<PathBuf> = config.clang_include_paths.iter().map(|p| resolve(&base, p)).collect();
    let tc = Toolchain::discover(&ToolchainOptions { search_dirs, ..Default::default() }).map_err(|e| fail(1, e.to_string()))?;

    let bar = progress(config.gpu_arch.len() as u64 + 1);
    let mut per_arch = Vec::new();
    for arch in &config.gpu_arch {
        if let Some(b) = &bar {
            b.set_message(format!("parsing {} for {arch}", entry.display()));
        }
        let req = ParseRequest {
            source: entry.clone(),
            files_to_retain: files.clone(),
            compute_capability: arch.clone(),
            cxx_standard: "gnu++17".into(),
            additional_includes: includes.clone(),
            defines: config.predefined_macros.clone(),
            bypass_parse_error: false,
            verbose: opts.verbose,
        };
        let decls = canopy::parse(&req, &tc).map_err(|e| fail(1, e.to_string()))?;
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

    let module_name = bindgen::pyexpr::py_ident(
        &config.output_name.clone().unwrap_or_else(|| entry.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default()),
    );
    let preamble = shim_preamble(&config, &include_line(&config, &entry, &tc));
    if opts.verbose {
        eprintln!("numbast: shim preamble:\n{preamble}");
    }
    let provenance = Provenance {
        tool_version: env!("CARGO_PKG_VERSION").to_string(),
        libclang_version: canopy::libclang_version(&tc).unwrap_or_else(|_| "libclang unknown".into()),
        cuda_version: tc.cuda_version.map(|v| format!("{}.{}", v / 1000, (v % 1000) / 10)).unwrap_or_else(|| "unknown".into()),
        config_path: relative_to(&config_abs, &output_abs).display().to_string(),
    };
    if let Some(b) = &bar {
        b.set_message("rendering");
    }
    let module = render_module(&config, &module_name, &per_arch, &preamble, &provenance);
    let py_path = output_dir.join(format!("{module_name}.py"));
    write_atomic(&py_path, &module.python)?;
    write_atomic(&output_dir.join(format!("{module_name}.pyi")), &module.stub)?;
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    if let Some(path) = &opts.report {
        let json = serde_json::to_string_pretty(&module.report).unwrap_or_default();
        write_atomic(path, &json)?;
    }
    if !opts.quiet {
        print_report(&module.report, &py_path);
    }
    Ok(())
}

fn print_report(report: &Report, path: &Path) {
    let mut by_kind: std::collections::BTreeMap<&str, usize> = std::collections::BTreeMap::new();
    for b in &report.bound {
        *by_kind.entry(b.kind.as_str()).or_default() += 1;
    }
    let summary: Vec<String> = by_kind.iter().map(|(k, n)| format!("{n} {k}")).collect();
    println!("wrote {}: bound {}; skipped {}", path.display(), summary.join(", "), report.skipped.len());
    if report.skipped.is_empty() {
        return;
    }
    let w_kind = report.skipped.iter().map(|s| s.kind.len()).max().unwrap_or(4).max(4);
    let w_name = report.skipped.iter().map(|s| s.name.len()).max().unwrap_or(4).clamp(4, 48);
    println!("{:<w_kind$}  {:<w_name$}  reason", "kind", "name");
    for s in &report.skipped {
        println!("{:<w_kind$}  {:<w_name$}  {}", s.kind, s.name, s.reason);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_paths() {
        assert_eq!(relative_to(Path::new("/a/b/cfg.yml"), Path::new("/a/out")), PathBuf::from("../b/cfg.yml"));
        assert_eq!(relative_to(Path::new("/a/cfg.yml"), Path::new("/a")), PathBuf::from("cfg.yml"));
    }
}
