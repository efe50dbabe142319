//! The `numbast` binary: the static binding generator, with no Python involved.

fn main() {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    std::process::exit(numbast_cli::run(args, numbast_cli::default_search_dirs()));
}
