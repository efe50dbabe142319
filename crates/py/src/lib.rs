//! The private `_core` module: one call per job, JSON across the boundary, and every Rust error
//! turned into a Python exception here, at the edge.

#![forbid(unsafe_code)]

mod objects;

use std::path::PathBuf;

use canopy::{ConstValue, ConstantsRequest, Error, ParseRequest, Toolchain, ToolchainOptions};
use pyo3::exceptions::{PyFileNotFoundError, PyOSError, PyValueError};
use pyo3::prelude::*;

fn to_py_err(py: Python<'_>, e: Error) -> PyErr {
    let message = e.to_string();
    match e {
        Error::SourceNotFound(_) => PyFileNotFoundError::new_err(message),
        Error::Io { .. } => PyOSError::new_err(message),
        Error::ComputeCapability(_) => PyValueError::new_err(message),
        Error::Parse(diags) => {
            let diags: Vec<String> = diags.iter().map(|d| d.to_string()).collect();
            python_error(py, "ParseError", (message, diags))
        }
        Error::Crashed(_) | Error::InvalidArguments(_) => {
            python_error(py, "ParseError", (message, Vec::<String>::new()))
        }
        Error::Libclang(_) | Error::Cuda(_) => python_error(py, "ToolchainError", (message, Vec::new())),
    }
}

/// Raises one of the exception classes defined in `ast_canopy._errors`.
fn python_error(py: Python<'_>, name: &str, args: (String, Vec<String>)) -> PyErr {
    match py.import("ast_canopy._errors").and_then(|m| m.getattr(name)) {
        Ok(cls) => match cls.call1(args) {
            Ok(inst) => PyErr::from_value(inst),
            Err(e) => e,
        },
        Err(e) => e,
    }
}

fn toolchain(
    search_dirs: Vec<PathBuf>,
    cuda_include_dirs: Vec<PathBuf>,
    cuda_major: String,
) -> Result<Toolchain, Error> {
    Toolchain::discover(&ToolchainOptions { search_dirs, cuda_include_dirs, cuda_major })
}

/// Parses a header; returns `(declarations_json, cache_hit, clang_args)`.
#[pyfunction]
#[pyo3(signature = (source, files_to_retain, compute_capability, cxx_standard, additional_includes, defines,
                    cuda_include_dirs, search_dirs, cuda_major, verbose, bypass_parse_error, cuda_header_mode=false))]
#[allow(clippy::too_many_arguments)]
fn parse_declarations(
    py: Python<'_>,
    source: PathBuf,
    files_to_retain: Vec<PathBuf>,
    compute_capability: String,
    cxx_standard: String,
    additional_includes: Vec<PathBuf>,
    defines: Vec<String>,
    cuda_include_dirs: Vec<PathBuf>,
    search_dirs: Vec<PathBuf>,
    cuda_major: String,
    verbose: bool,
    bypass_parse_error: bool,
    cuda_header_mode: bool,
) -> PyResult<(String, bool, Vec<String>)> {
    let req = ParseRequest {
        source,
        files_to_retain,
        compute_capability,
        cxx_standard,
        additional_includes,
        defines,
        bypass_parse_error,
        verbose,
        cuda_header_mode,
    };
    let result = py.detach(move || {
        let tc = toolchain(search_dirs, cuda_include_dirs, cuda_major)?;
        canopy::parse_to_json(&req, &tc)
    });
    match result {
        Ok(p) => Ok((p.json, p.cache_hit, p.args)),
        Err(e) => Err(to_py_err(py, e)),
    }
}

/// The value of a constexpr variable: an int, a float, or None.
#[pyfunction]
#[allow(clippy::too_many_arguments)] // the Python signature's keyword arguments, one each
fn value_from_constexpr_vardecl(
    py: Python<'_>,
    source_text: String,
    vardecl_name: String,
    compute_capability: String,
    cxx_standard: String,
    verbose: bool,
    search_dirs: Vec<PathBuf>,
    cuda_include_dirs: Vec<PathBuf>,
) -> PyResult<Py<PyAny>> {
    let result = py.detach(move || {
        let tc = toolchain(search_dirs, cuda_include_dirs, String::new())?;
        canopy::value_from_constexpr_vardecl(
            &source_text,
            &vardecl_name,
            &compute_capability,
            &cxx_standard,
            verbose,
            &tc,
        )
    });
    match result {
        Ok(Some(ConstValue::Int(i))) => Ok(i.into_pyobject(py)?.into_any().unbind()),
        Ok(Some(ConstValue::Float(f))) => Ok(f.into_pyobject(py)?.into_any().unbind()),
        Ok(None) => Ok(py.None()),
        Err(e) => Err(to_py_err(py, e)),
    }
}

/// Parses `source_text` (device side) and evaluates its namespace-scope variables `names`;
/// returns `(values, errors)`: an int or None per name, and clang's errors as `file:line:col: message`.
#[pyfunction]
#[allow(clippy::too_many_arguments)] // the Python signature's arguments, one each
fn evaluate_constants(
    py: Python<'_>,
    source_text: String,
    names: Vec<String>,
    compute_capability: String,
    cxx_standard: String,
    additional_includes: Vec<PathBuf>,
    defines: Vec<String>,
    search_dirs: Vec<PathBuf>,
    cuda_include_dirs: Vec<PathBuf>,
) -> PyResult<(Vec<Option<i128>>, Vec<String>)> {
    let req = ConstantsRequest { source_text, names, compute_capability, cxx_standard, additional_includes, defines };
    let result = py.detach(move || {
        let tc = toolchain(search_dirs, cuda_include_dirs, String::new())?;
        canopy::evaluate_constants(&req, &tc)
    });
    match result {
        Ok(c) => Ok((c.values, c.errors.iter().map(|d| d.to_string()).collect())),
        Err(e) => Err(to_py_err(py, e)),
    }
}

/// What the toolchain discovery found, as a dict of strings (for `--verbose` output and debugging).
#[pyfunction]
fn toolchain_info(
    py: Python<'_>,
    search_dirs: Vec<PathBuf>,
    cuda_include_dirs: Vec<PathBuf>,
) -> PyResult<std::collections::BTreeMap<String, String>> {
    let tc = toolchain(search_dirs, cuda_include_dirs, String::new()).map_err(|e| to_py_err(py, e))?;
    let version = canopy::libclang_version(&tc).map_err(|e| to_py_err(py, e))?;
    let mut out = std::collections::BTreeMap::new();
    out.insert("libclang".into(), tc.libclang.display().to_string());
    out.insert("libclang_version".into(), version);
    out.insert("resource_dir".into(), tc.resource_dir.display().to_string());
    out.insert("cuda_root".into(), tc.cuda_root.display().to_string());
    let real = |p: &std::path::Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf()).display().to_string();
    out.insert("cuda_include".into(), real(&tc.cuda_root.join("include")));
    let extras: Vec<String> = tc.cuda_extra_includes.iter().map(|p| real(p)).collect();
    out.insert(
        "cuda_extra_includes".into(),
        std::env::join_paths(&extras).map(|s| s.to_string_lossy().into_owned()).unwrap_or_default(),
    );
    out.insert("cuda_version".into(), tc.cuda_version.map(|v| v.to_string()).unwrap_or_default());
    out.insert("cache_dir".into(), canopy::toolchain::cache_dir().display().to_string());
    Ok(out)
}

/// Renders bindings: a request (context, enums, structs, functions), as JSON text or as Python
/// objects (dicts and lists holding `ast_canopy` declarations), in; the JSON response out.
#[pyfunction]
fn render_bindings(py: Python<'_>, request: &Bound<'_, PyAny>) -> PyResult<String> {
    use numbast_bindgen::request::{render_json, render_request, RenderRequest};

    if let Ok(text) = request.extract::<String>() {
        return py.detach(move || render_json(&text)).map_err(PyValueError::new_err);
    }
    let request: RenderRequest = objects::from_object(request)?;
    py.detach(move || render_request(request)).map_err(PyValueError::new_err)
}

/// The imports rendered code relies on, for numba-cuda or (`mlir`) numba-cuda-mlir.
#[pyfunction]
#[pyo3(signature = (mlir = false))]
fn render_prelude(mlir: bool) -> &'static str {
    numbast_bindgen::prelude(mlir)
}

/// Runs the `numbast` generator CLI with `argv` (program name first); returns its exit code.
#[pyfunction]
fn cli_main(py: Python<'_>, argv: Vec<String>, search_dirs: Vec<PathBuf>) -> i32 {
    let args = argv.into_iter().map(std::ffi::OsString::from).collect();
    py.detach(move || numbast_cli::run(args, search_dirs))
}

/// The JSON Schema of the static-mode config.
/// The C++ scalar spellings and the Numba type each names (`crates/bindgen/src/types.rs`), the
/// first spelling of each Numba type being how C++ spells it.
#[pyfunction]
fn scalar_table() -> Vec<(&'static str, &'static str)> {
    numbast_bindgen::types::SCALARS.to_vec()
}

/// The pattern of a C++ type spelling as the template runtime reads it (a Python literal:
/// `("ptr", ("name", "float", ("float",)))` for `const float *`).
#[pyfunction]
fn type_pattern(spelling: &str) -> String {
    numbast_bindgen::render::type_pattern(spelling)
}

#[pyfunction]
fn config_schema() -> String {
    numbast_bindgen::config::json_schema()
}

#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(parse_declarations, m)?)?;
    m.add_function(wrap_pyfunction!(value_from_constexpr_vardecl, m)?)?;
    m.add_function(wrap_pyfunction!(evaluate_constants, m)?)?;
    m.add_function(wrap_pyfunction!(toolchain_info, m)?)?;
    m.add_function(wrap_pyfunction!(render_bindings, m)?)?;
    m.add_function(wrap_pyfunction!(render_prelude, m)?)?;
    m.add_function(wrap_pyfunction!(cli_main, m)?)?;
    m.add_function(wrap_pyfunction!(config_schema, m)?)?;
    m.add_function(wrap_pyfunction!(scalar_table, m)?)?;
    m.add_function(wrap_pyfunction!(type_pattern, m)?)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
