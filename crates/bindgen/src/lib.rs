//! Declarations -> Numba-CUDA bindings: the C++ shims and the Python registration code that both
//! dynamic mode (executed in memory) and static mode (written to a module) use.

#![forbid(unsafe_code)]

pub mod config;
pub mod module;
pub mod plan;
pub mod pyexpr;
pub mod render;
pub mod report;
pub mod request;
pub mod shim;
pub mod types;

pub use render::{prelude, Context, Rendered, PRELUDE, PRELUDE_MLIR};
pub use report::{BindKind, Bound, Report, Skip, SkipReason};
