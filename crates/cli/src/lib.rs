//! The static generator: reads a YAML config, parses the entry point for each GPU architecture,
//! renders a standalone Python module and its stub, and reports what was bound and skipped.
//!
//! Exit codes: 0 generated (skipped declarations do not change it), 1 generation failed (clang
//! errors, toolchain missing, a file that cannot be written), 2 bad usage: arguments, config, input
//! paths or output folder.

#![forbid(unsafe_code)]

mod coverage;
mod generate;
mod paths;

use std::ffi::OsString;
use std::path::{Path, PathBuf};

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
    /// Folder the module and its stub are written to (created if missing; default: the current folder).
    #[arg(long = "output-dir", short = 'o')]
    output_dir: Option<PathBuf>,
    /// Also write the coverage report (what the table shows) as JSON.
    #[arg(long)]
    report: Option<PathBuf>,
    /// Write the parsed declarations (JSON, one object per GPU arch) to this file.
    #[arg(long = "dump-model")]
    dump_model: Option<PathBuf>,
    /// Print the clang command line, the parse times and the shim preamble.
    #[arg(long, short = 'v')]
    verbose: bool,
    /// Don't print the coverage table.
    #[arg(long, short = 'q')]
    quiet: bool,
    /// Generate even when clang reports errors in the headers (each is printed as a warning).
    #[arg(long = "bypass-parse-error")]
    bypass_parse_error: bool,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Generate a binding module from a config.
    Generate {
        /// The YAML config; paths in it are relative to its folder (`numbast schema` prints its keys).
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
    if let Some(prefix) =
        std::env::current_exe().ok().and_then(|p| p.parent().and_then(Path::parent).map(Path::to_path_buf))
    {
        if let Ok(entries) = std::fs::read_dir(prefix.join("lib")) {
            let mut found: Vec<PathBuf> =
                entries.flatten().map(|e| e.path().join("site-packages")).filter(|sp| sp.is_dir()).collect();
            found.sort();
            dirs.extend(found);
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
    let result = match (cli.command, cli.cfg_path) {
        (Some(Command::Schema), _) => {
            print!("{}", numbast_bindgen::config::json_schema());
            return 0;
        }
        (Some(Command::Generate { config, opts }), _) => generate::generate(&config, &opts, search_dirs),
        (None, Some(config)) => generate::generate(&config, &cli.opts, search_dirs),
        (None, None) => {
            Err(generate::Failure::usage("give a config: `numbast generate CONFIG --output-dir DIR` (see --help)"))
        }
    };
    match result {
        Ok(()) => 0,
        Err(f) => {
            eprintln!("numbast: error: {}", f.message);
            f.code
        }
    }
}
