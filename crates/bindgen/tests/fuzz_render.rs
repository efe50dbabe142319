//! Fuzz target of the renderer (issue "Robustness"): proptest generates arbitrary declaration
//! models (functions with overloads, huge overload sets included; structs with fields, methods,
//! constructors, conversions and operators; enums; typedefs; function and class templates, in
//! their own target `fuzz_render_templates`, below) whose names are drawn from any
//! Unicode, quotes, backslashes, newlines, `"""`, Python and C++ keywords, dunder names, the names
//! the renderer and the generated module reserve, and duplicates. Each model goes through both
//! renderers:
//!
//! - dynamic mode: `numbast_bindgen::request::render_json`, the request `numbast._dynamic` sends (it
//!   sends the objects themselves, read by the same deserialization, with functions as data; one request
//!   per kind: enums, then structs with their typedef aliases, then functions, sharing one
//!   `Bindings`), plus one request mixing every kind;
//! - static mode: `numbast_bindgen::module::render_module`, the whole generated module and its `.pyi`
//!   stub, with a validated config (hostile Name, Version, prefixes, include text...) and one or two
//!   GPU architectures with declarations present on some of them only.
//!
//! Rust has no Python parser, so one persistent `python3` child per test process runs
//! `tests/fuzz_checker.py`, which parses each generated text (`ast.parse`), describes it statement
//! by statement, executes it against a stand-in runtime that records every registration, and
//! answers with those facts; the assertions are here. For the static module that covers: it parses;
//! the top level defines only the module's own helpers; no import but the ones the module always
//! writes; registration defines exactly the names of `__all__` (valid, non-keyword, non-reserved
//! identifiers) and rebinds nothing; each name holds what the stub says it is; every string literal
//! that carries a C++ name (struct, field, enum, member, method, typedef) gives back the model's
//! name; shim names are unique. A sample of models whose C++ names are valid identifiers (Python
//! keywords and reserved names included) gets a C++ header declaring them, and the shims (the
//! dynamic unit, and the static module's unit with its own preamble) are compiled by NVRTC.
//!
//! `PROPTEST_CASES=N` sets the number of arbitrary models (default 96: well under a minute in
//! debug mode on two cores), and an eighth of that number (at least 6) of NVRTC models; the totals
//! are printed at the end (`cargo test -p numbast-bindgen --test fuzz_render -- --nocapture`).
//! `NUMBAST_FUZZ_PYTHON` names the interpreter (default `python3`; the test fails if there is none);
//! without `cuda.bindings`, NVRTC compilation is skipped with a message. A failure prints the
//! shrunk model as JSON. The renderer bugs this target found have `bug_*` tests at the end, which
//! fail until they are fixed; the fuzzing counts their failures without failing on them, unless
//! `NUMBAST_FUZZ_KNOWN_BUGS=1` (see `KNOWN_BUGS`). `NUMBAST_FUZZ_VERBOSE=1` also prints why the
//! NVRTC models' declarations were skipped.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::Instant;

use canopy::model::{
    AccessKind, Declarations, Enum, ExecutionSpace, Field, Function, Location, MethodKind, ParamVar, RefKind, Struct,
    StructMethod, Type, TypeShape, Typedef,
};
use numbast_bindgen::config::Config;
use numbast_bindgen::module::{macro_lines, render_module, ModuleRequest, Provenance, ShimInclude};
use numbast_bindgen::pyexpr::{enum_member_names, py_ident};
use numbast_bindgen::request::render_json;
use numbast_bindgen::shim::CXX_KEYWORDS;
use numbast_bindgen::types::cxx;
use proptest::prelude::*;
use proptest::test_runner::{Config as RunnerConfig, TestCaseError, TestError, TestRunner};
use serde_json::{json, Value};

// ============================================================================= the checker process

struct Checker {
    _child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl Checker {
    fn start() -> Checker {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/fuzz_checker.py");
        let python = std::env::var("NUMBAST_FUZZ_PYTHON").unwrap_or_else(|_| "python3".into());
        let mut child = Command::new(&python)
            .arg(script)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("the renderer fuzz target needs a Python 3 interpreter to parse the generated code: cannot run `{python}` ({e}); install python3 or set NUMBAST_FUZZ_PYTHON")
            });
        let stdin = child.stdin.take().expect("piped stdin");
        let stdout = BufReader::new(child.stdout.take().expect("piped stdout"));
        let mut c = Checker { _child: child, stdin, stdout };
        let pong = c.ask(&json!({"op": "ping"}));
        assert_eq!(pong["pong"], json!(true), "the checker ({python} {script}) did not answer: {pong}");
        c
    }

    fn ask(&mut self, req: &Value) -> Value {
        let data = serde_json::to_vec(req).expect("request serializes");
        let sent = writeln!(self.stdin, "{}", data.len())
            .and_then(|_| self.stdin.write_all(&data))
            .and_then(|_| self.stdin.flush());
        sent.expect("the checker process (tests/fuzz_checker.py) died; see its stderr above");
        let mut line = String::new();
        self.stdout.read_line(&mut line).expect("reading the checker's answer");
        let n: usize = line
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("the checker process exited or answered `{line}`; see its stderr above"));
        let mut buf = vec![0u8; n];
        self.stdout.read_exact(&mut buf).expect("reading the checker's answer");
        let v: Value = serde_json::from_slice(&buf).expect("the checker answers JSON");
        if let Some(e) = v.get("checker_error") {
            panic!(
                "the checker failed (a bug in tests/fuzz_checker.py, not in the renderer): {}",
                e.as_str().unwrap_or("")
            );
        }
        v
    }
}

fn ask(req: &Value) -> Value {
    static CHECKER: OnceLock<Mutex<Checker>> = OnceLock::new();
    let checker = CHECKER.get_or_init(|| Mutex::new(Checker::start()));
    let mut guard = checker.lock().unwrap_or_else(|e| e.into_inner());
    guard.ask(req)
}

// ============================================================================= counters

// Per thread (each #[test] runs in its own), so that a test's summary counts its own work only.
thread_local! {
    static COUNTS: std::cell::RefCell<BTreeMap<&'static str, usize>> = const { std::cell::RefCell::new(BTreeMap::new()) };
}

fn bump(key: &'static str, n: usize) {
    COUNTS.with(|c| *c.borrow_mut().entry(key).or_default() += n);
}

fn count(key: &'static str) -> usize {
    COUNTS.with(|c| c.borrow().get(key).copied().unwrap_or(0))
}

/// Whether NVRTC was found missing (said once per process).
static NVRTC_MISSING_SAID: AtomicUsize = AtomicUsize::new(0);

/// Renderer bugs this target found and that are still open (each has a `bug_*` test below).
/// Their failures are counted, not fatal, so that the fuzzing goes on past them; set
/// NUMBAST_FUZZ_KNOWN_BUGS=1 to make them fatal. BUG-1 to BUG-5 are fixed (their `bug_*` tests
/// pass and the fuzz loop fails on them); BUG-6's shape (a struct and a function of one name in one
/// scope) is never generated for the NVRTC sample, whose names are unique per scope.
const KNOWN_BUGS: &[(&str, &str)] = &[];

static KNOWN_HITS: Mutex<BTreeMap<&'static str, usize>> = Mutex::new(BTreeMap::new());

/// What the NVRTC models' static modules bound, by kind, and why they skipped what they skipped
/// (names blanked out): what the sample compiled, and what it did not reach.
static NVRTC_SKIPS: Mutex<BTreeMap<String, usize>> = Mutex::new(BTreeMap::new());

fn blank_names(reason: &str) -> String {
    let mut out = String::new();
    let mut inside = false;
    for c in reason.chars() {
        if c == '`' {
            inside = !inside;
            if inside {
                out.push_str("`_`");
            }
        } else if !inside {
            out.push(c);
        }
    }
    out
}

fn known_bugs_included() -> bool {
    std::env::var("NUMBAST_FUZZ_KNOWN_BUGS").is_ok_and(|v| v == "1")
}

// ============================================================================= names

const PY_KEYWORDS: &[&str] = &[
    "False", "None", "True", "and", "as", "assert", "async", "await", "break", "class", "continue", "def", "del",
    "elif", "else", "except", "finally", "for", "from", "global", "if", "import", "in", "is", "lambda", "nonlocal",
    "not", "or", "pass", "raise", "return", "try", "while", "with", "yield", "match", "case", "type", "_",
];

/// Names the rendered code uses for itself (pyexpr.rs `RESERVED`).
const RESERVED: &[&str] = &[
    "_b",
    "_unit",
    "_template_bindings",
    "_parents",
    "types",
    "operator",
    "_cuda_types",
    "_vector_types",
    "install",
    "typing_registry",
    "target_registry",
    "__all__",
    "__version__",
    "__doc__",
    "__name__",
    "__file__",
    "__spec__",
    "__loader__",
    "__builtins__",
    "__path__",
    "__package__",
];

/// Top-level names of a generated module (module/python.rs): the only ones its top level may bind.
const MODULE_OWN: &[&str] = &[
    "_nb_sys",
    "_nb_threading",
    "_nb_pytypes",
    "_nb_os",
    "__version__",
    "__all__",
    "_NB_RUNTIME_NAME",
    "_NB_SHIM_PREAMBLE",
    "_NB_RUNTIME_SOURCE",
    "_NB_TEMPLATE_SOURCES",
    "_NB_HEADER_FROM_MODULE",
    "_NB_INCLUDE_DIRS_FROM_MODULE",
    "_nb_load",
    "_nb_runtime",
    "_nb_template_runtime",
    "_nb_callback",
    "_nb_callback_expr",
    "_nb_mark_cooperative",
    "_nb_require_arch",
    "_nb_add_include_dirs",
    "_nb_register",
    "_nb_lock",
    "_nb_state",
    "_nb_ensure",
    "install",
    "__getattr__",
    "__dir__",
];

/// What `_nb_register` defines besides the bindings.
const REGISTER_OWN: &[&str] =
    &["_nb_rt", "_b", "_unit", "typing_registry", "target_registry", "shim_stream", "shim_obj", "_template_bindings"];

/// Names the stub defines for itself.
const STUB_OWN: &[&str] = &[
    "_nbst_enum",
    "_nbst_Any",
    "_nbst_TargetRegistry",
    "_nbst_TypingRegistry",
    "_nbst_BoundStruct",
    "_nbst_FunctionTemplate",
    "_nbst_ClassInstance",
    "_nbst_ClassTemplate",
    "__version__",
    "__all__",
    "typing_registry",
    "target_registry",
    "install",
];

/// The prelude's names, in scope of rendered code.
const PRELUDE_NAMES: &[&str] = &["operator", "types", "_cuda_types", "_vector_types"];

/// Parameter names of the shims (shim.rs).
const SHIM_PARAMS: &[&str] = &["ret", "self", "a0", "a1", "a2", "a3"];

const HOSTILE: &[&str] = &[
    "a\"\"\"b",
    "\"\"\"",
    "'''",
    "x'y",
    "\"",
    "'",
    "\\",
    "back\\slash",
    "a\\nb",
    "line\nbreak",
    "\r",
    "\r\n",
    "\t",
    "#comment",
    "import os; os.system('x')",
    "__import__('os').system('x')",
    "\")\nimport os\n(\"",
    "{x}",
    "%s",
    "é",
    "caf\u{e9}",
    "\u{2028}",
    "\u{2029}",
    "\u{85}",
    "\u{c}",
    "\u{b}",
    "\0",
    "",
    " ",
    "\u{feff}",
    "\u{1d518}",
    "İ",
    "ﬁ",
    "a b",
    "a_u0020b",
    "1x",
    "_1x",
    "::",
    "ns::x",
    "(anonymous namespace)",
    "operator",
    "operator+",
    "operator()",
    "operator float",
    "~S",
    "S<int>",
    "$",
    "@",
    "λ",
    "ℌ",
    "x\u{301}",
    "\u{200b}",
    "\u{202e}evil",
];

/// Names Python's `enum` treats specially.
const ENUM_SPECIAL: &[&str] = &[
    "mro",
    "name",
    "value",
    "_x_",
    "__x__",
    "_missing_",
    "_ignore_",
    "_order_",
    "_generate_next_value_",
    "_value_",
    "_name_",
    "__members__",
    "__init__",
    "__new__",
    "_E__hidden",
    "__private",
    "_",
    "__",
    "___",
    "mro_",
    "_x__",
];

/// C++ names the renderer maps to builtin Numba types.
const BUILTIN_TYPE_NAMES: &[&str] =
    &["float2", "int4", "uchar1", "double3", "longlong2", "__half", "half", "__nv_bfloat16"];

fn pool() -> Vec<&'static str> {
    [PY_KEYWORDS, CXX_KEYWORDS, RESERVED, MODULE_OWN, STUB_OWN, SHIM_PARAMS, HOSTILE, ENUM_SPECIAL, BUILTIN_TYPE_NAMES]
        .concat()
}

/// Any name: from the pools, any characters, identifiers, combinations, very long ones.
fn any_name() -> BoxedStrategy<String> {
    let p = pool();
    prop_oneof![
        6 => prop::sample::select(p.clone()).prop_map(String::from),
        3 => "[A-Za-z_][A-Za-z0-9_]{0,8}",
        2 => prop::collection::vec(any::<char>(), 0..8).prop_map(|v| v.into_iter().collect::<String>()),
        1 => "\\PC{1,6}",
        1 => (prop::sample::select(p.clone()), prop::sample::select(p.clone())).prop_map(|(a, b)| format!("{a}{b}")),
        1 => (prop::sample::select(p), "[_0-9]{0,2}").prop_map(|(a, s)| format!("{a}{s}")),
        1 => "[a-z]{60,200}",
    ]
    .boxed()
}

fn is_cxx_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Names a C++ header cannot declare at global scope under NVRTC: keywords, CUDA's vector types and
/// other builtins, identifiers reserved to the implementation that the toolkit uses.
fn cxx_declarable(s: &str) -> bool {
    const TAKEN: &[&str] = &[
        "dim3", "min", "max", "abs", "printf", "malloc", "free", "memcpy", "memset", "assert", "size_t", "std", "NULL",
        "int8_t", "uint8_t", "int16_t", "uint16_t", "int32_t", "uint32_t", "int64_t", "uint64_t", "clock", "warpSize",
    ];
    let vector = [
        "char",
        "uchar",
        "short",
        "ushort",
        "int",
        "uint",
        "long",
        "ulong",
        "longlong",
        "ulonglong",
        "float",
        "double",
    ]
    .iter()
    .any(|b| s.strip_prefix(b).is_some_and(|n| matches!(n, "1" | "2" | "3" | "4")));
    is_cxx_identifier(s)
        && !CXX_KEYWORDS.contains(&s)
        && !TAKEN.contains(&s)
        && !vector
        && !(s.starts_with("__") && !(s.ends_with("__") && s.len() > 4))
        && !s.starts_with("__nv")
        && !s.starts_with("__cuda")
        && !(s.starts_with('_') && s[1..].starts_with(|c: char| c.is_ascii_uppercase()) && !s.starts_with("_NB_"))
}

/// Valid C++ identifiers that are Python keywords, reserved names, dunders, shim parameter names.
fn cxx_name() -> BoxedStrategy<String> {
    let p: Vec<&'static str> = pool().into_iter().filter(|s| cxx_declarable(s)).collect();
    prop_oneof![
        5 => prop::sample::select(p.clone()).prop_map(String::from),
        3 => "[A-Z][a-z0-9]{0,6}",
        2 => "q[a-z0-9_]{0,6}",
        1 => (prop::sample::select(p), "[0-9]{0,2}").prop_map(|(a, s)| format!("{a}_{s}")),
    ]
    .prop_filter("a declarable C++ name", |s| cxx_declarable(s))
    .boxed()
}

// ============================================================================= raw models

/// A type, by shape; structs and enums by index into the model's lists.
#[derive(Debug, Clone)]
enum Base {
    Void,
    Bool,
    Int(usize),
    Float(usize),
    Struct(usize),
    Enum(usize),
    Vector(usize),
    Half,
    /// A record type nobody bound (by this name).
    Unknown(String),
    Dependent(String),
    /// An integer of 3 bytes, a float of 16: unsupported sizes.
    Odd(bool),
}

#[derive(Debug, Clone)]
struct Ty {
    base: Base,
    ptrs: u8,
    const_pointee: bool,
    /// 0: none, 1: `&`, 2: `&&`
    rf: u8,
    konst: bool,
}

const INTS: &[(&str, u32, bool)] = &[
    ("char", 1, true),
    ("signed char", 1, true),
    ("unsigned char", 1, false),
    ("short", 2, true),
    ("unsigned short", 2, false),
    ("int", 4, true),
    ("unsigned int", 4, false),
    ("long", 8, true),
    ("unsigned long", 8, false),
    ("long long", 8, true),
    ("unsigned long long", 8, false),
];
const FLOATS: &[(&str, u32)] = &[("float", 4), ("double", 8)];
const VECTORS: &[&str] = &["float2", "int4", "uchar1", "double3", "longlong2", "uint2"];

#[derive(Debug, Clone)]
struct RawParam {
    name: String,
    ty: Ty,
}

#[derive(Debug, Clone)]
struct RawMethod {
    /// 0..8: MethodKind in declaration order (0 default ctor ... 7 other)
    kind: usize,
    name: String,
    /// An operator symbol (index into `MEMBER_OPERATORS`), for kind Other.
    op: Option<usize>,
    params: Vec<RawParam>,
    ret: Ty,
    is_const: bool,
    is_static: bool,
    is_virtual: bool,
    /// 0: none, 1: copy assignment, 2: move assignment
    assign: u8,
    space: usize,
}

#[derive(Debug, Clone)]
struct RawStruct {
    name: String,
    ns: Option<usize>,
    tag: usize,
    fields: Vec<(String, Ty, usize, bool)>,
    methods: Vec<RawMethod>,
    /// 0: known layout, 1: unknown size, 2: a bit-field, 3: overlapping fields
    layout: usize,
    /// dynamic request: 0 struct, 1 primitive, 2 an unknown data model
    model: usize,
    py_name: Option<String>,
    dep_file: bool,
    arch: usize,
    alias: Option<String>,
}

#[derive(Debug, Clone)]
struct RawEnum {
    name: String,
    ns: Option<usize>,
    members: Vec<String>,
    values: Vec<String>,
    underlying: usize,
    scoped: bool,
    py_name: Option<String>,
    dep_file: bool,
    arch: usize,
}

#[derive(Debug, Clone)]
struct RawFn {
    name: String,
    ns: Option<usize>,
    /// An operator symbol (index into `FREE_OPERATORS`).
    op: Option<usize>,
    params: Vec<RawParam>,
    ret: Ty,
    space: usize,
    variadic: bool,
    py_name: Option<String>,
    arch: usize,
    /// How many overloads of this name (1: just this one).
    overloads: usize,
}

#[derive(Debug, Clone)]
struct RawTypedef {
    name: String,
    ns: Option<usize>,
    /// Some(i): the i-th struct (even) or enum (odd); None: `other`.
    target: Option<usize>,
    other: String,
    arch: usize,
}

#[derive(Debug, Clone)]
struct RawConfig {
    two_archs: bool,
    name: Option<String>,
    version: Option<String>,
    prefixes: (Vec<String>, Vec<String>, Vec<String>),
    separate: bool,
    cooperative: Option<String>,
    callbacks: (Option<String>, Option<String>),
    verbatim_include: bool,
    include_text: String,
    include_dirs: Vec<String>,
    macros: Vec<String>,
    exclude: Vec<usize>,
    skip_prefix: Option<String>,
    number_types: Vec<usize>,
    primitive: Vec<usize>,
    module_name: String,
    provenance: String,
}

#[derive(Debug, Clone)]
struct Raw {
    /// C++ names valid for a header (the NVRTC sample).
    valid: bool,
    namespaces: Vec<String>,
    structs: Vec<RawStruct>,
    enums: Vec<RawEnum>,
    functions: Vec<RawFn>,
    typedefs: Vec<RawTypedef>,
    config: RawConfig,
    intents: Vec<(usize, String, String)>,
    dyn_skip_prefix: Option<String>,
    dyn_exclude: Vec<usize>,
}

/// Member operators: symbol and number of parameters (besides `this`).
const MEMBER_OPERATORS: &[(&str, usize)] = &[
    ("+", 1),
    ("-", 1),
    ("*", 1),
    ("/", 1),
    ("%", 1),
    ("&", 1),
    ("|", 1),
    ("^", 1),
    ("<<", 1),
    (">>", 1),
    ("==", 1),
    ("!=", 1),
    ("<", 1),
    ("<=", 1),
    (">", 1),
    (">=", 1),
    ("+=", 1),
    ("-=", 1),
    ("*=", 1),
    ("/=", 1),
    ("%=", 1),
    ("&=", 1),
    ("|=", 1),
    ("^=", 1),
    ("<<=", 1),
    (">>=", 1),
    ("-", 0),
    ("+", 0),
    ("~", 0),
    ("!", 0),
    ("++", 0),
    ("--", 0),
    ("()", 2),
    ("[]", 1),
    ("=", 1),
    ("&&", 1),
    ("||", 1),
];
/// Free operators: symbol and number of parameters.
const FREE_OPERATORS: &[(&str, usize)] = &[
    ("+", 2),
    ("-", 2),
    ("*", 2),
    ("/", 2),
    ("%", 2),
    ("&", 2),
    ("|", 2),
    ("^", 2),
    ("<<", 2),
    (">>", 2),
    ("==", 2),
    ("!=", 2),
    ("<", 2),
    ("<=", 2),
    (">", 2),
    (">=", 2),
    ("+=", 2),
    ("-=", 2),
    ("*=", 2),
    ("/=", 2),
    ("-", 1),
    ("+", 1),
    ("~", 1),
    ("!", 1),
    ("++", 1),
    ("--", 1),
    ("&&", 2),
    (",", 2),
];

fn ty_strategy(valid: bool, param: bool) -> BoxedStrategy<Ty> {
    let base = if valid {
        prop_oneof![
            1 => Just(Base::Bool),
            4 => (0..INTS.len()).prop_map(Base::Int),
            3 => (0..FLOATS.len()).prop_map(Base::Float),
            4 => (0..64usize).prop_map(Base::Struct),
            2 => (0..64usize).prop_map(Base::Enum),
        ]
        .boxed()
    } else {
        prop_oneof![
            1 => Just(Base::Void),
            1 => Just(Base::Bool),
            4 => (0..INTS.len()).prop_map(Base::Int),
            2 => (0..FLOATS.len()).prop_map(Base::Float),
            4 => (0..64usize).prop_map(Base::Struct),
            2 => (0..64usize).prop_map(Base::Enum),
            1 => (0..VECTORS.len()).prop_map(Base::Vector),
            1 => Just(Base::Half),
            1 => any_name().prop_map(Base::Unknown),
            1 => any_name().prop_map(Base::Dependent),
            1 => any::<bool>().prop_map(Base::Odd),
        ]
        .boxed()
    };
    let ptrs =
        if valid { prop_oneof![6 => Just(0u8), 2 => Just(1u8), 1 => Just(2u8)].boxed() } else { (0u8..3).boxed() };
    let rf = if param {
        prop_oneof![5 => Just(0u8), 2 => Just(1u8), 1 => Just(2u8)].boxed()
    } else {
        prop_oneof![8 => Just(0u8), 1 => Just(1u8)].boxed()
    };
    (base, ptrs, any::<bool>(), rf, any::<bool>())
        .prop_map(|(base, ptrs, const_pointee, rf, konst)| Ty { base, ptrs, const_pointee, rf, konst })
        .boxed()
}

fn param_strategy(valid: bool) -> BoxedStrategy<RawParam> {
    let name = if valid { cxx_name() } else { any_name() };
    (name, ty_strategy(valid, true)).prop_map(|(name, ty)| RawParam { name, ty }).boxed()
}

fn name_strategy(valid: bool) -> BoxedStrategy<String> {
    if valid {
        cxx_name()
    } else {
        any_name()
    }
}

fn method_strategy(valid: bool) -> BoxedStrategy<RawMethod> {
    (
        prop_oneof![2 => Just(0usize), 1 => Just(1usize), 1 => Just(2usize), 2 => Just(3usize), 1 => Just(4usize), 1 => Just(5usize), 2 => Just(6usize), 8 => Just(7usize)],
        name_strategy(valid),
        prop::option::weighted(0.35, 0..MEMBER_OPERATORS.len()),
        prop::collection::vec(param_strategy(valid), 0..3),
        ty_strategy(valid, false),
        (any::<bool>(), prop::bool::weighted(0.15), prop::bool::weighted(0.1)),
        prop_oneof![10 => Just(0u8), 1 => Just(1u8), 1 => Just(2u8)],
        prop_oneof![8 => Just(2usize), 2 => Just(3usize), 1 => Just(1usize), 1 => Just(0usize), 1 => Just(4usize)],
    )
        .prop_map(|(kind, name, op, params, ret, (is_const, is_static, is_virtual), assign, space)| RawMethod {
            kind,
            name,
            op,
            params,
            ret,
            is_const,
            is_static,
            is_virtual,
            assign,
            space,
        })
        .boxed()
}

fn struct_strategy(valid: bool) -> BoxedStrategy<RawStruct> {
    let field = (name_strategy(valid), ty_strategy(valid, false), 0..3usize, prop::bool::weighted(0.15));
    (
        name_strategy(valid),
        prop::option::weighted(0.4, 0..3usize),
        0..3usize,
        prop::collection::vec(field, 0..5),
        prop::collection::vec(method_strategy(valid), 0..6),
        prop_oneof![12 => Just(0usize), 1 => Just(1usize), 1 => Just(2usize), 1 => Just(3usize)],
        prop_oneof![6 => Just(0usize), 3 => Just(1usize), 1 => Just(2usize)],
        prop::option::weighted(0.2, any_name()),
        (prop::bool::weighted(0.2), 0..4usize, prop::option::weighted(0.3, name_strategy(valid))),
    )
        .prop_map(|(name, ns, tag, fields, methods, layout, model, py_name, (dep_file, arch, alias))| RawStruct {
            name,
            ns,
            tag,
            fields,
            methods,
            layout,
            model,
            py_name,
            dep_file,
            arch,
            alias,
        })
        .boxed()
}

fn enum_strategy(valid: bool) -> BoxedStrategy<RawEnum> {
    let member = if valid {
        prop_oneof![3 => cxx_name(), 2 => prop::sample::select(ENUM_SPECIAL.to_vec()).prop_map(String::from)]
            .prop_filter("a C++ identifier", |s| is_cxx_identifier(s) && !CXX_KEYWORDS.contains(&s.as_str()))
            .boxed()
    } else {
        prop_oneof![3 => any_name(), 3 => prop::sample::select(ENUM_SPECIAL.to_vec()).prop_map(String::from)].boxed()
    };
    let value = if valid {
        (-100i64..100).prop_map(|v| v.to_string()).boxed()
    } else {
        prop_oneof![
            4 => (-1000i64..1000).prop_map(|v| v.to_string()),
            1 => Just("18446744073709551615".to_string()),
            1 => Just("-9223372036854775808".to_string()),
            1 => Just("170141183460469231731687303715884105727".to_string()),
            1 => Just("99999999999999999999999999999999999999999".to_string()),
            1 => any_name(),
        ]
        .boxed()
    };
    (
        name_strategy(valid),
        prop::option::weighted(0.4, 0..3usize),
        prop::collection::vec((member, value), 0..7),
        0..INTS.len() + 1,
        any::<bool>(),
        prop::option::weighted(0.2, any_name()),
        (prop::bool::weighted(0.2), 0..4usize),
    )
        .prop_map(|(name, ns, mv, underlying, scoped, py_name, (dep_file, arch))| {
            // C++ enumerators of one enum are distinct.
            let mut seen = BTreeSet::new();
            let (members, values): (Vec<String>, Vec<String>) =
                mv.into_iter().filter(|(m, _)| seen.insert(m.clone())).unzip();
            RawEnum { name, ns, members, values, underlying, scoped, py_name, dep_file, arch }
        })
        .boxed()
}

fn fn_strategy(valid: bool) -> BoxedStrategy<RawFn> {
    (
        name_strategy(valid),
        prop::option::weighted(0.4, 0..3usize),
        prop::option::weighted(0.2, 0..FREE_OPERATORS.len()),
        prop::collection::vec(param_strategy(valid), 0..4),
        ty_strategy(valid, false),
        prop_oneof![10 => Just(2usize), 3 => Just(3usize), 1 => Just(1usize), 1 => Just(4usize), 1 => Just(0usize)],
        prop::bool::weighted(if valid { 0.0 } else { 0.05 }),
        prop::option::weighted(0.15, any_name()),
        0..4usize,
        if valid {
            prop_oneof![12 => Just(1usize), 6 => 2..6usize, 2 => 20..300usize].boxed()
        } else {
            prop_oneof![20 => Just(1usize), 6 => 2..6usize, 1 => 30..400usize].boxed()
        },
    )
        .prop_map(|(name, ns, op, params, ret, space, variadic, py_name, arch, overloads)| RawFn {
            name,
            ns,
            op,
            params,
            ret,
            space,
            variadic,
            py_name,
            arch,
            overloads,
        })
        .boxed()
}

fn typedef_strategy(valid: bool) -> BoxedStrategy<RawTypedef> {
    (
        name_strategy(valid),
        prop::option::weighted(0.3, 0..3usize),
        prop::option::weighted(0.85, 0..64usize),
        any_name(),
        0..4usize,
    )
        .prop_map(|(name, ns, target, other, arch)| RawTypedef { name, ns, target, other, arch })
        .boxed()
}

fn config_strategy(valid: bool) -> BoxedStrategy<RawConfig> {
    let prefix = prop::collection::vec(prop_oneof![3 => "[a-z_]{1,3}", 1 => any_name()], 0..2);
    let include = if valid { Just(String::new()).boxed() } else { any_name() };
    let macros = if valid {
        prop::collection::vec("FUZZ_[A-Z]{1,3}(=[0-9]{1,2})?", 0..3).boxed()
    } else {
        prop::collection::vec(prop_oneof!["FUZZ_[A-Z]{1,3}(=[0-9]{1,2})?", any_name()], 0..3).boxed()
    };
    (
        (any::<bool>(), prop::option::of(any_name()), prop::option::of(any_name())),
        (prefix.clone(), prefix.clone(), prefix),
        (any::<bool>(), prop::option::weighted(0.3, prop_oneof!["\\^[a-z]", any_name()])),
        (
            prop::option::weighted(0.2, prop_oneof!["[a-z]{1,4}\\.[a-z]{1,4}:[a-z_]{1,5}", any_name()]),
            prop::option::weighted(0.2, any_name()),
        ),
        (prop::bool::weighted(if valid { 1.0 } else { 0.6 }), include, prop::collection::vec(any_name(), 0..2), macros),
        // `Exclude` drops whole overload sets: none in the NVRTC sample, which should compile them.
        (
            prop::collection::vec(0..64usize, 0..if valid { 1 } else { 3 }),
            prop::option::weighted(0.15, prop_oneof!["[a-z_]{1,2}", any_name()]),
        ),
        (prop::collection::vec(0..64usize, 0..2), prop::collection::vec(0..64usize, 0..2)),
        (
            prop_oneof![3 => "[a-z_]{1,8}", 1 => any_name()],
            prop::collection::vec(any::<char>().prop_filter("no NUL", |c| *c != '\0'), 0..10),
        ),
    )
        .prop_map(
            |(
                (two_archs, name, version),
                prefixes,
                (separate, cooperative),
                callbacks,
                (verbatim_include, include_text, include_dirs, macros),
                (exclude, skip_prefix),
                (number_types, primitive),
                (module_name, provenance),
            )| RawConfig {
                two_archs,
                name,
                version,
                prefixes,
                separate,
                cooperative,
                callbacks,
                verbatim_include,
                include_text,
                include_dirs,
                macros,
                exclude,
                skip_prefix,
                number_types,
                primitive,
                module_name,
                provenance: provenance.into_iter().collect(),
            },
        )
        .boxed()
}

fn raw_strategy(valid: bool) -> BoxedStrategy<Raw> {
    let intents = prop::collection::vec(
        (
            0..64usize,
            prop_oneof!["[0-3]", any_name()],
            prop::sample::select(vec!["in", "inout_ptr", "out_ptr", "out_return", "bogus"]).prop_map(String::from),
        ),
        0..3,
    );
    (
        prop::collection::vec(name_strategy(valid), 3),
        prop::collection::vec(struct_strategy(valid), 0..5),
        prop::collection::vec(enum_strategy(valid), 0..4),
        prop::collection::vec(fn_strategy(valid), 0..if valid { 12 } else { 8 }),
        prop::collection::vec(typedef_strategy(valid), 0..4),
        config_strategy(valid),
        if valid { Just(Vec::new()).boxed() } else { intents.boxed() },
        if valid {
            Just(None).boxed()
        } else {
            prop::option::weighted(0.1, prop_oneof!["[a-z_]{1,2}", any_name()]).boxed()
        },
        prop::collection::vec(0..64usize, 0..2),
        prop::collection::vec((0..64usize, 0..64usize), 0..4),
    )
        .prop_map(
            move |(
                namespaces,
                structs,
                enums,
                functions,
                typedefs,
                config,
                intents,
                dyn_skip_prefix,
                dyn_exclude,
                dups,
            )| {
                let mut raw = Raw {
                    valid,
                    namespaces,
                    structs,
                    enums,
                    functions,
                    typedefs,
                    config,
                    intents,
                    dyn_skip_prefix,
                    dyn_exclude,
                };
                duplicate_names(&mut raw, &dups);
                if valid {
                    legalize(&mut raw);
                }
                raw
            },
        )
        .boxed()
}

/// Gives the `to`th name the `from`th name's value, for each pair (declarations and fields, in
/// one list): duplicated names, across kinds and namespaces, more often than chance would.
fn duplicate_names(raw: &mut Raw, dups: &[(usize, usize)]) {
    let mut names: Vec<&mut String> = raw
        .structs
        .iter_mut()
        .flat_map(|s| std::iter::once(&mut s.name).chain(s.fields.iter_mut().map(|f| &mut f.0)))
        .chain(raw.enums.iter_mut().map(|e| &mut e.name))
        .chain(raw.functions.iter_mut().map(|f| &mut f.name))
        .chain(raw.typedefs.iter_mut().map(|t| &mut t.name))
        .collect();
    let n = names.len();
    for (to, from) in dups {
        if n > 0 {
            let value = names[from % n].clone();
            *names[to % n] = value;
        }
    }
}

// ============================================================================= legal C++ (NVRTC sample)

/// Makes a model whose names are valid identifiers into one a C++ header can declare: names unique
/// where C++ wants them unique, operator arities and operand types C++ accepts, constructors and
/// assignments of the right shapes, distinct overloads (by value types: `f(int)` and `f(int &)`
/// cannot both be called with an `int` lvalue, in a shim or anywhere else).
fn legalize(raw: &mut Raw) {
    let mut taken: BTreeMap<String, String> = BTreeMap::new();
    // Claims `name` for category `cat`; on a clash, the first free `name_<k>`.
    fn claim(taken: &mut BTreeMap<String, String>, name: &str, cat: &str) -> String {
        let mut candidate = name.to_string();
        let mut k = 0;
        loop {
            match taken.get(&candidate) {
                None => {
                    taken.insert(candidate.clone(), cat.to_string());
                    return candidate;
                }
                Some(c) if c == cat => return candidate,
                Some(_) => {
                    k += 1;
                    candidate = format!("{name}_{k}");
                }
            }
        }
    }
    let shim_param_bug = false; // BUG-1 is fixed: globals named like shim parameters are generated
    for (i, ns) in raw.namespaces.clone().iter().enumerate() {
        raw.namespaces[i] = claim(&mut taken, ns, &format!("ns{i}"));
    }
    let scope = |ns: Option<usize>| ns.map(|n| n.to_string()).unwrap_or_else(|| "global".into());
    // BUG-1 (see `bug_shim_parameter_names_shadow_global_types`): a global type named like a shim
    // parameter (`ret`, `self`, `a0`...) breaks the shims; excluded unless NUMBAST_FUZZ_KNOWN_BUGS=1.
    let type_name = |taken: &mut BTreeMap<String, String>, name: &str, ns: Option<usize>, cat: String| {
        let name = if shim_param_bug && ns.is_none() && SHIM_PARAMS.contains(&name) {
            format!("{name}_t")
        } else {
            name.to_string()
        };
        claim(taken, &name, &cat)
    };
    for (i, s) in raw.structs.iter_mut().enumerate() {
        s.name = type_name(&mut taken, &s.name, s.ns, format!("struct{i}@{}", scope(s.ns)));
        s.tag = s.tag.min(1); // struct or class; unions of non-trivial members need more care
    }
    for (i, e) in raw.enums.iter_mut().enumerate() {
        e.name = type_name(&mut taken, &e.name, e.ns, format!("enum{i}@{}", scope(e.ns)));
        if e.underlying >= INTS.len() {
            e.underlying = 5; // int
        }
        if !INTS[e.underlying].2 {
            e.values = e.values.iter().map(|v| v.trim_start_matches('-').to_string()).collect();
        }
    }
    for (i, t) in raw.typedefs.iter_mut().enumerate() {
        t.name = type_name(&mut taken, &t.name, t.ns, format!("typedef{i}@{}", scope(t.ns)));
    }
    let n_structs = raw.structs.len();
    let n_enums = raw.enums.len();
    let has_user_types = n_structs + n_enums > 0;
    let user_type =
        |k: usize| if n_structs > 0 && (k.is_multiple_of(2) || n_enums == 0) { Base::Struct(k) } else { Base::Enum(k) };
    for f in raw.functions.iter_mut() {
        f.variadic = false;
        if let Some(op) = f.op {
            if !has_user_types {
                f.op = None;
            } else {
                let arity = FREE_OPERATORS[op].1;
                f.params.truncate(arity);
                while f.params.len() < arity {
                    f.params.push(RawParam {
                        name: "p".into(),
                        ty: Ty { base: Base::Int(5), ptrs: 0, const_pointee: false, rf: 0, konst: false },
                    });
                }
                let first = &mut f.params[0].ty;
                let user = match first.base {
                    Base::Struct(_) => n_structs > 0,
                    Base::Enum(_) => n_enums > 0,
                    _ => false,
                };
                if !user || first.ptrs > 0 {
                    first.base = user_type(op);
                    first.ptrs = 0;
                }
                f.overloads = 1;
            }
        }
        if f.op.is_none() {
            f.name = claim(&mut taken, &f.name, &format!("fn:{}:{}", scope(f.ns), f.name));
        }
        if f.space == 4 {
            // __global__: returns void
            f.ret = Ty { base: Base::Void, ptrs: 0, const_pointee: false, rf: 0, konst: false };
        }
        f.overloads = f.overloads.min(300);
    }
    for (si, s) in raw.structs.iter_mut().enumerate() {
        let mut fields = BTreeSet::new();
        for (fi, f) in s.fields.iter_mut().enumerate() {
            f.0 = claim(&mut taken, &f.0, &format!("field{si}.{fi}"));
            fields.insert(f.0.clone());
            f.1.rf = 0;
            // Fields by value need complete types: structs declared earlier only.
            if let Base::Struct(j) = f.1.base {
                if f.1.ptrs == 0 && j % n_structs >= si {
                    f.1.base = Base::Int(5);
                }
            }
        }
        let mut destructor = false;
        for m in s.methods.iter_mut() {
            m.is_virtual &= !m.is_static;
            m.is_const &= !m.is_static;
            if m.assign > 0 {
                m.kind = 7;
                m.op = MEMBER_OPERATORS.iter().position(|(sym, _)| *sym == "=");
            }
            match m.kind {
                0..=4 => {
                    m.is_static = false;
                    m.is_virtual = false;
                    m.is_const = false;
                    m.ret = Ty { base: Base::Void, ptrs: 0, const_pointee: false, rf: 0, konst: false };
                    let own =
                        |rf: u8, konst: bool| Ty { base: Base::Struct(si), ptrs: 0, const_pointee: false, rf, konst };
                    match m.kind {
                        0 => m.params.clear(),
                        1 => m.params = vec![RawParam { name: "other".into(), ty: own(1, true) }],
                        2 => m.params = vec![RawParam { name: "other".into(), ty: own(2, false) }],
                        3 => {
                            m.params.truncate(1);
                            if m.params.is_empty() {
                                m.params.push(RawParam {
                                    name: "x".into(),
                                    ty: Ty { base: Base::Float(0), ptrs: 0, const_pointee: false, rf: 0, konst: false },
                                });
                            }
                            if matches!(m.params[0].ty.base, Base::Struct(j) if j % n_structs == si)
                                && m.params[0].ty.ptrs == 0
                            {
                                m.params[0].ty.base = Base::Int(5);
                            }
                        }
                        _ => {
                            while m.params.len() < 2 {
                                m.params.push(RawParam {
                                    name: "y".into(),
                                    ty: Ty { base: Base::Int(5), ptrs: 0, const_pointee: false, rf: 0, konst: false },
                                });
                            }
                        }
                    }
                }
                5 => {
                    m.params.clear();
                    m.is_static = false;
                    m.is_const = false;
                    if destructor {
                        m.kind = 7;
                        m.op = None;
                    }
                    destructor = true;
                }
                6 => {
                    m.params.clear();
                    m.is_static = false;
                    m.ret.rf = 0;
                    if matches!(m.ret.base, Base::Void) && m.ret.ptrs == 0 {
                        m.ret.base = Base::Float(1);
                    }
                }
                _ => {}
            }
            if m.kind == 5 {
                continue;
            }
            if m.kind == 7 {
                match m.op {
                    Some(op) => {
                        m.is_static = false;
                        let arity = MEMBER_OPERATORS[op].1;
                        m.params.truncate(arity);
                        while m.params.len() < arity {
                            m.params.push(RawParam {
                                name: "z".into(),
                                ty: Ty { base: Base::Int(5), ptrs: 0, const_pointee: false, rf: 0, konst: false },
                            });
                        }
                        if m.assign > 0 {
                            m.params[0].ty = Ty {
                                base: Base::Struct(si),
                                ptrs: 0,
                                const_pointee: false,
                                rf: m.assign,
                                konst: m.assign == 1,
                            };
                            m.ret = Ty { base: Base::Struct(si), ptrs: 0, const_pointee: false, rf: 1, konst: false };
                        }
                    }
                    None => {
                        let name = claim(&mut taken, &m.name, &format!("method{si}:{}", m.name));
                        m.name = if fields.contains(&name) {
                            claim(&mut taken, &format!("{name}_m"), &format!("method{si}:{name}_m"))
                        } else {
                            name
                        };
                    }
                }
            }
        }
    }
    // Parameters and results: no `void` by value, no reference to void.
    let fix = |t: &mut Ty, param: bool| {
        if matches!(t.base, Base::Void) && t.ptrs == 0 {
            if param {
                t.base = Base::Int(5);
            } else {
                t.rf = 0;
            }
        }
    };
    for f in raw.functions.iter_mut() {
        f.params.iter_mut().for_each(|p| fix(&mut p.ty, true));
        fix(&mut f.ret, false);
    }
    for s in raw.structs.iter_mut() {
        for m in s.methods.iter_mut() {
            m.params.iter_mut().for_each(|p| fix(&mut p.ty, true));
            fix(&mut m.ret, false);
        }
    }
    raw.config.include_text.clear();
    raw.config.verbatim_include = true;
    raw.config.include_dirs.clear();
    raw.config.callbacks = (None, None);
}

// ============================================================================= models

const PRIMARY: &str = "/fuzz/include/lib.cuh";
const DEPENDENCY: &str = "/fuzz/include/dep.cuh";

fn loc(file: &str, line: u32) -> Location {
    Location { file: file.into(), line, column: 1 }
}

fn ptr_spelling(s: &str) -> String {
    if s.ends_with('*') {
        format!("{s}*")
    } else {
        format!("{s} *")
    }
}

fn const_spelling(s: &str) -> String {
    if s.ends_with('*') {
        format!("{s}const")
    } else {
        format!("const {s}")
    }
}

/// A declaration as bound: the model, and how the dynamic request and the static config treat it.
#[derive(Debug, Clone)]
struct StructItem {
    decl: Struct,
    model: &'static str,
    py_name: Option<String>,
    alias: Option<String>,
    dep_file: bool,
    arch: usize,
}

#[derive(Debug, Clone)]
struct EnumItem {
    decl: Enum,
    py_name: Option<String>,
    arch: usize,
}

#[derive(Debug, Clone)]
struct FnItem {
    decl: Function,
    py_name: Option<String>,
    arch: usize,
}

#[derive(Debug, Clone)]
struct Model {
    structs: Vec<StructItem>,
    enums: Vec<EnumItem>,
    functions: Vec<FnItem>,
    typedefs: Vec<(Typedef, usize)>,
}

struct Names<'a> {
    structs: Vec<String>,
    enums: Vec<String>,
    raw: &'a Raw,
}

fn qualify(raw: &Raw, ns: Option<usize>, name: &str) -> String {
    match ns {
        None => name.to_string(),
        Some(2) if raw.valid => format!("{}::{}::{name}", raw.namespaces[0], raw.namespaces[2]),
        Some(2) => format!("{}::(anonymous namespace)::{name}", raw.namespaces[2]),
        Some(i) => format!("{}::{name}", raw.namespaces[i]),
    }
}

fn build_ty(t: &Ty, names: &Names) -> Type {
    let int = |i: usize| (INTS[i].0.to_string(), TypeShape::Int { size: INTS[i].1, signed: INTS[i].2 });
    let (spelled, shape) = match &t.base {
        Base::Void => ("void".to_string(), TypeShape::Void),
        Base::Bool => ("bool".to_string(), TypeShape::Bool),
        Base::Int(i) => int(*i),
        Base::Float(i) => (FLOATS[*i].0.to_string(), TypeShape::Float { size: FLOATS[*i].1 }),
        Base::Struct(i) if !names.structs.is_empty() => {
            let j = i % names.structs.len();
            let s = &names.raw.structs[j];
            let (size, align) = struct_layout(s);
            (names.structs[j].clone(), TypeShape::Record { size, align })
        }
        Base::Enum(i) if !names.enums.is_empty() => {
            (names.enums[i % names.enums.len()].clone(), TypeShape::Enum { size: 4 })
        }
        Base::Struct(_) | Base::Enum(_) => int(5),
        Base::Vector(i) => (VECTORS[*i].to_string(), TypeShape::Record { size: 8, align: 8 }),
        Base::Half => ("__half".to_string(), TypeShape::Record { size: 2, align: 2 }),
        Base::Unknown(n) => (n.clone(), TypeShape::Record { size: 4, align: 4 }),
        Base::Dependent(n) => (n.clone(), TypeShape::Dependent),
        Base::Odd(true) => ("__int24".to_string(), TypeShape::Int { size: 3, signed: true }),
        Base::Odd(false) => ("__float128".to_string(), TypeShape::Float { size: 16 }),
    };
    let mut ty = Type {
        name: spelled.clone(),
        unqualified_non_ref_type_name: spelled,
        ref_kind: RefKind::None,
        is_const: false,
        shape,
        structure: None,
    };
    if t.ptrs > 0 && t.const_pointee {
        ty.name = const_spelling(&ty.name);
        ty.is_const = true;
    }
    for _ in 0..t.ptrs {
        ty = Type {
            name: ptr_spelling(&ty.name),
            unqualified_non_ref_type_name: ptr_spelling(&ty.unqualified_non_ref_type_name),
            ref_kind: RefKind::None,
            is_const: false,
            shape: TypeShape::Pointer { pointee: Box::new(ty) },
            structure: None,
        };
    }
    if t.rf > 0 {
        if t.konst {
            ty.name = const_spelling(&ty.name);
            ty.is_const = true;
        }
        ty.name = format!("{} {}", ty.name, if t.rf == 1 { "&" } else { "&&" });
        ty.ref_kind = if t.rf == 1 { RefKind::Lvalue } else { RefKind::Rvalue };
    }
    ty
}

fn struct_layout(s: &RawStruct) -> (i64, i64) {
    if s.layout == 1 {
        (-1, -1)
    } else {
        ((8 * s.fields.len() as i64).max(8), 8)
    }
}

const SPACES: [ExecutionSpace; 5] = [
    ExecutionSpace::Undefined,
    ExecutionSpace::Host,
    ExecutionSpace::Device,
    ExecutionSpace::HostDevice,
    ExecutionSpace::Global,
];

const KINDS: [MethodKind; 8] = [
    MethodKind::DefaultConstructor,
    MethodKind::CopyConstructor,
    MethodKind::MoveConstructor,
    MethodKind::ConvertingConstructor,
    MethodKind::OtherConstructor,
    MethodKind::Destructor,
    MethodKind::ConversionFunction,
    MethodKind::Other,
];

/// Parameters of the `j`th extra overload: every `j` its own list of types.
fn overload_params(j: usize, names: &Names) -> Vec<ParamVar> {
    let palette = [
        Ty { base: Base::Int(5), ptrs: 0, const_pointee: false, rf: 0, konst: false },
        Ty { base: Base::Float(0), ptrs: 0, const_pointee: false, rf: 0, konst: false },
        Ty { base: Base::Float(1), ptrs: 0, const_pointee: false, rf: 0, konst: false },
        Ty { base: Base::Bool, ptrs: 0, const_pointee: false, rf: 0, konst: false },
        Ty { base: Base::Int(6), ptrs: 0, const_pointee: false, rf: 0, konst: false },
        Ty { base: Base::Int(9), ptrs: 0, const_pointee: false, rf: 0, konst: false },
        Ty { base: Base::Int(0), ptrs: 0, const_pointee: false, rf: 0, konst: false },
        Ty { base: Base::Int(3), ptrs: 0, const_pointee: false, rf: 0, konst: false },
        Ty { base: Base::Int(5), ptrs: 1, const_pointee: false, rf: 0, konst: false },
        Ty { base: Base::Float(0), ptrs: 1, const_pointee: true, rf: 0, konst: false },
    ];
    let b = palette.len();
    // j -> (length, digits): 1.. are the lists of length 1, then 2, ...
    let (mut len, mut rest, mut count) = (1, j - 1, b);
    while rest >= count {
        rest -= count;
        len += 1;
        count *= b;
    }
    (0..len)
        .map(|k| {
            let d = (rest / b.pow(k as u32)) % b;
            ParamVar { name: format!("p{k}"), type_: build_ty(&palette[d], names), has_default: false }
        })
        .collect()
}

/// The value key of a parameter list (what overload resolution cannot tell apart).
fn value_key(params: &[ParamVar]) -> String {
    params.iter().map(|p| p.type_.unqualified_non_ref_type_name.clone()).collect::<Vec<_>>().join(",")
}

fn build(raw: &Raw) -> Model {
    let names = Names {
        structs: raw.structs.iter().map(|s| qualify(raw, s.ns, &s.name)).collect(),
        enums: raw.enums.iter().map(|e| qualify(raw, e.ns, &e.name)).collect(),
        raw,
    };
    let mut line = 0u32;
    let mut next_line = || {
        line += 1;
        line
    };
    let mut mangled = 0usize;
    let mut next_mangled = || {
        mangled += 1;
        format!("_ZN4fuzz{mangled}E")
    };
    let mut model = Model { structs: Vec::new(), enums: Vec::new(), functions: Vec::new(), typedefs: Vec::new() };

    for (i, e) in raw.enums.iter().enumerate() {
        let underlying = if e.underlying < INTS.len() {
            build_ty(&Ty { base: Base::Int(e.underlying), ptrs: 0, const_pointee: false, rf: 0, konst: false }, &names)
        } else {
            build_ty(&Ty { base: Base::Float(0), ptrs: 0, const_pointee: false, rf: 0, konst: false }, &names)
        };
        let decl = Enum {
            name: e.name.clone(),
            qual_name: names.enums[i].clone(),
            enumerators: e.members.clone(),
            enumerator_values: e.values.clone(),
            underlying_type: underlying,
            is_scoped: e.scoped,
            location: loc(if e.dep_file { DEPENDENCY } else { PRIMARY }, next_line()),
        };
        model.enums.push(EnumItem { decl, py_name: e.py_name.clone(), arch: e.arch });
    }

    for (si, s) in raw.structs.iter().enumerate() {
        let (size, align) = struct_layout(s);
        let file = if s.dep_file { DEPENDENCY } else { PRIMARY };
        let fields = s
            .fields
            .iter()
            .enumerate()
            .map(|(k, (name, ty, access, _))| {
                let offset = match s.layout {
                    2 if k == 0 => -1,
                    3 => 0,
                    _ => 8 * k as i64,
                };
                let access = [AccessKind::Public, AccessKind::Protected, AccessKind::Private][*access];
                Field {
                    name: name.clone(),
                    type_: build_ty(ty, &names),
                    access: if raw.valid { AccessKind::Public } else { access },
                    offset,
                }
            })
            .collect();
        let mut methods: Vec<StructMethod> = Vec::new();
        let mut keys = BTreeSet::new();
        for m in &s.methods {
            let kind = KINDS[m.kind];
            let ret = build_ty(&m.ret, &names);
            let (name, is_operator) = match kind {
                MethodKind::DefaultConstructor
                | MethodKind::CopyConstructor
                | MethodKind::MoveConstructor
                | MethodKind::ConvertingConstructor
                | MethodKind::OtherConstructor => (s.name.clone(), false),
                MethodKind::Destructor => (format!("~{}", s.name), false),
                MethodKind::ConversionFunction => (format!("operator {}", ret.name), true),
                MethodKind::Other => match m.op {
                    Some(op) => (format!("operator{}", MEMBER_OPERATORS[op].0), true),
                    None => (m.name.clone(), false),
                },
            };
            let params: Vec<ParamVar> = m
                .params
                .iter()
                .map(|p| ParamVar { name: p.name.clone(), type_: build_ty(&p.ty, &names), has_default: false })
                .collect();
            if raw.valid && !keys.insert(format!("{name}({}){}", value_key(&params), m.is_const)) {
                continue;
            }
            let function = Function {
                name: name.clone(),
                qual_name: format!("{}::{name}", names.structs[si]),
                return_type: ret,
                params,
                exec_space: if raw.valid && m.space == 4 { ExecutionSpace::Host } else { SPACES[m.space] },
                is_constexpr: false,
                is_variadic: false,
                mangled_name: next_mangled(),
                attributes: Vec::new(),
                is_operator,
                location: loc(file, next_line()),
            };
            methods.push(StructMethod {
                function,
                kind,
                is_const: m.is_const,
                is_static: m.is_static,
                is_virtual: m.is_virtual,
                is_copy_assignment: m.assign == 1,
                is_move_assignment: m.assign == 2,
            });
        }
        let decl = Struct {
            name: s.name.clone(),
            qual_name: names.structs[si].clone(),
            tag: ["struct", "class", "union"][s.tag].to_string(),
            fields,
            methods,
            templated_methods: Vec::new(),
            nested_records: Vec::new(),
            nested_class_templates: Vec::new(),
            nested_typedefs: Vec::new(),
            nested_enums: Vec::new(),
            bases: Vec::new(),
            sizeof_: size,
            alignof_: align,
            location: loc(file, next_line()),
        };
        let model_name = ["struct", "primitive", "opaque-bytes"][s.model];
        let alias = s.alias.as_ref().map(|a| qualify(raw, s.ns, a));
        model.structs.push(StructItem {
            decl,
            model: model_name,
            py_name: s.py_name.clone(),
            alias,
            dep_file: s.dep_file,
            arch: s.arch,
        });
    }

    let mut fn_keys = BTreeSet::new();
    for f in &raw.functions {
        let name = match f.op {
            Some(op) => format!("operator{}", FREE_OPERATORS[op].0),
            None => f.name.clone(),
        };
        let qual_name = qualify(raw, f.ns, &name);
        for j in 0..f.overloads {
            let params: Vec<ParamVar> = if j == 0 {
                f.params
                    .iter()
                    .map(|p| ParamVar { name: p.name.clone(), type_: build_ty(&p.ty, &names), has_default: false })
                    .collect()
            } else {
                overload_params(j, &names)
            };
            if raw.valid && !fn_keys.insert(format!("{qual_name}({})", value_key(&params))) {
                continue;
            }
            let decl = Function {
                name: name.clone(),
                qual_name: qual_name.clone(),
                return_type: build_ty(&f.ret, &names),
                params,
                exec_space: SPACES[f.space],
                is_constexpr: false,
                is_variadic: f.variadic,
                mangled_name: next_mangled(),
                attributes: Vec::new(),
                is_operator: f.op.is_some(),
                location: loc(PRIMARY, next_line()),
            };
            model.functions.push(FnItem { decl, py_name: f.py_name.clone(), arch: f.arch });
        }
    }

    for t in &raw.typedefs {
        let underlying_name = match t.target {
            Some(i) if i.is_multiple_of(2) && !names.structs.is_empty() => {
                names.structs[(i / 2) % names.structs.len()].clone()
            }
            Some(i) if !names.enums.is_empty() => names.enums[(i / 2) % names.enums.len()].clone(),
            _ if raw.valid => "int".to_string(),
            _ => t.other.clone(),
        };
        let decl = Typedef {
            name: t.name.clone(),
            qual_name: qualify(raw, t.ns, &t.name),
            underlying_name,
            location: loc(PRIMARY, next_line()),
            structure: None,
        };
        model.typedefs.push((decl, t.arch));
    }
    model
}

/// The model as JSON: the reproducer printed with a failure.
fn model_json(m: &Model) -> String {
    let d = Declarations {
        structs: m.structs.iter().map(|s| s.decl.clone()).collect(),
        functions: m.functions.iter().map(|f| f.decl.clone()).collect(),
        typedefs: m.typedefs.iter().map(|t| t.0.clone()).collect(),
        enums: m.enums.iter().map(|e| e.decl.clone()).collect(),
        ..Declarations::default()
    };
    let extra: Vec<Value> = m
        .structs
        .iter()
        .map(|s| json!({"struct": s.decl.qual_name, "model": s.model, "py_name": s.py_name, "alias": s.alias, "dep_file": s.dep_file, "arch": s.arch}))
        .collect();
    serde_json::to_string(&json!({"declarations": d, "struct_requests": extra})).unwrap_or_default()
}

// ============================================================================= a C++ header for the model

fn space_keyword(s: ExecutionSpace) -> &'static str {
    match s {
        ExecutionSpace::Device => "__device__ ",
        // NVRTC refuses host functions (marked `__host__` alone, or unmarked), and kernels have
        // rules of their own: the header declares them `__host__ __device__` (the renderer skips
        // them all the same, by the model).
        ExecutionSpace::HostDevice | ExecutionSpace::Undefined | ExecutionSpace::Host | ExecutionSpace::Global => {
            "__host__ __device__ "
        }
    }
}

/// Splits `a::b::name` into the namespaces and the name.
fn split_qual(q: &str) -> (Vec<&str>, &str) {
    let parts: Vec<&str> = q.split("::").collect();
    let (name, nss) = parts.split_last().expect("a name");
    (nss.to_vec(), name)
}

fn in_namespaces(nss: &[&str], body: &str) -> String {
    let mut s = String::new();
    for n in nss {
        s.push_str(&format!("namespace {n} {{ "));
    }
    s.push_str(body);
    for _ in nss {
        s.push_str(" }");
    }
    s.push('\n');
    s
}

fn params_decl(params: &[ParamVar]) -> String {
    params.iter().map(|p| p.type_.name.clone()).collect::<Vec<_>>().join(", ")
}

/// A header declaring everything the model has (valid models only).
fn header(m: &Model) -> String {
    let mut h = String::from("// declarations of a fuzzed model\n");
    for e in &m.enums {
        let (nss, name) = split_qual(&e.decl.qual_name);
        let members: Vec<String> =
            e.decl.enumerators.iter().zip(&e.decl.enumerator_values).map(|(n, v)| format!("{n} = {v}")).collect();
        h.push_str(&in_namespaces(
            &nss,
            &format!("enum class {name} : {} {{ {} }};", e.decl.underlying_type.name, members.join(", ")),
        ));
    }
    for s in &m.structs {
        let (nss, name) = split_qual(&s.decl.qual_name);
        h.push_str(&in_namespaces(&nss, &format!("{} {name};", s.decl.tag)));
    }
    for s in &m.structs {
        let (nss, name) = split_qual(&s.decl.qual_name);
        let mut body = format!("{} {name} {{\npublic:\n", s.decl.tag);
        for f in &s.decl.fields {
            body.push_str(&format!("    {} {};\n", f.type_.name, f.name));
        }
        // A declared move constructor or move assignment deletes the implicit copy constructor,
        // which shims need (they pass and return by value): default it, which (in C++17, NVRTC's
        // default) neither provides a constructor nor ends the struct's being an aggregate.
        let has_move = s.decl.methods.iter().any(|m| {
            let f = &m.function;
            let move_assign = f.name == "operator="
                && f.params.len() == 1
                && f.params[0].type_.ref_kind == RefKind::Rvalue
                && f.params[0].type_.unqualified_non_ref_type_name == s.decl.qual_name;
            m.kind == MethodKind::MoveConstructor || m.is_move_assignment || move_assign
        });
        let has_copy = s.decl.methods.iter().any(|m| m.kind == MethodKind::CopyConstructor);
        if has_move && !has_copy {
            body.push_str(&format!("    {name}(const {name} &) = default;\n"));
        }
        for m in &s.decl.methods {
            let f = &m.function;
            let space = space_keyword(f.exec_space);
            let params = params_decl(&f.params);
            let line = match m.kind {
                MethodKind::Destructor => format!("{space}~{name}();"),
                MethodKind::ConversionFunction => {
                    format!("{space}{}(){};", f.name, if m.is_const { " const" } else { "" })
                }
                MethodKind::Other => format!(
                    "{}{}{space}{} {}({params}){};",
                    if m.is_static { "static " } else { "" },
                    if m.is_virtual { "virtual " } else { "" },
                    f.return_type.name,
                    f.name,
                    if m.is_const { " const" } else { "" }
                ),
                _ => format!("{space}{name}({params});"),
            };
            body.push_str(&format!("    {line}\n"));
        }
        body.push_str("};");
        h.push_str(&in_namespaces(&nss, &body));
    }
    for (t, _) in &m.typedefs {
        let (nss, name) = split_qual(&t.qual_name);
        h.push_str(&in_namespaces(&nss, &format!("typedef {} {name};", t.underlying_name)));
    }
    for f in &m.functions {
        let (nss, _) = split_qual(&f.decl.qual_name);
        let d = &f.decl;
        h.push_str(&in_namespaces(
            &nss,
            &format!("{}{} {}({});", space_keyword(d.exec_space), d.return_type.name, d.name, params_decl(&d.params)),
        ));
    }
    h
}

// ============================================================================= rendering

fn registered(cxx_name: &str) -> String {
    numbast_bindgen::render::registered_type_expr(cxx_name)
}

fn context(raw: &Raw, m: &Model, known: &BTreeMap<String, String>) -> Value {
    let mut intents = serde_json::Map::new();
    for (i, key, intent) in &raw.intents {
        if let Some(f) = m.functions.get(i % m.functions.len().max(1)) {
            let entry = intents.entry(f.decl.name.clone()).or_insert_with(|| json!({}));
            entry[key.as_str()] = json!(intent);
        }
    }
    let exclude: Vec<String> = raw
        .dyn_exclude
        .iter()
        .filter_map(|i| m.functions.get(i % m.functions.len().max(1)).map(|f| f.decl.name.clone()))
        .collect();
    json!({
        "known": known,
        "unit_tag": "fuzz",
        "intents": intents,
        "skip_prefix": raw.dyn_skip_prefix,
        "skip_non_device": true,
        "exclude": exclude,
    })
}

struct Rendered {
    code: String,
    report: Value,
}

fn render(request: &Value) -> Result<Rendered, String> {
    bump("DYNAMIC_RENDERS", 1);
    let out =
        render_json(&request.to_string()).map_err(|e| format!("render_json refused a well-formed request: {e}"))?;
    let v: Value = serde_json::from_str(&out).map_err(|e| format!("render_json answered bad JSON: {e}"))?;
    Ok(Rendered { code: v["code"].as_str().unwrap_or_default().to_string(), report: v["report"].clone() })
}

/// The `(kind, note)` of each binding the report lists.
fn notes(report: &Value) -> Vec<(String, String)> {
    report["bound"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|b| (b["kind"].as_str().unwrap_or("").to_string(), b["note"].as_str().unwrap_or("").to_string()))
        .collect()
}

/// Registrations beyond one per report entry: an aggregate initialization of `lo to hi of n`
/// fields registers one constructor per arity, lo to hi.
fn aggregate_arities(notes: &[(String, String)], kind: &str) -> u64 {
    notes
        .iter()
        .filter(|(k, _)| k == kind)
        .filter_map(|(_, note)| {
            let words: Vec<&str> = note.strip_prefix("aggregate initialization, ")?.split(' ').collect();
            match words.as_slice() {
                [lo, "to", hi, ..] => Some(hi.parse::<u64>().ok()? - lo.parse::<u64>().ok()?),
                _ => Some(0),
            }
        })
        .sum()
}

fn bound(report: &Value) -> Vec<(String, String, String)> {
    report["bound"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|b| {
                    (
                        b["kind"].as_str().unwrap_or("").to_string(),
                        b["name"].as_str().unwrap_or("").to_string(),
                        b["py_name"].as_str().unwrap_or("").to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The three requests dynamic mode makes for a model (enums, structs with aliases, functions), and
/// one that mixes every kind.
/// Requests and what they rendered: the three of dynamic mode, and the mixed one.
type DynamicRenders = (Vec<(Value, Rendered)>, (Value, Rendered));

fn dynamic_requests(raw: &Raw, m: &Model) -> Result<DynamicRenders, String> {
    let mut known: BTreeMap<String, String> = BTreeMap::new();
    let enums: Vec<Value> = m.enums.iter().map(|e| json!({"decl": e.decl, "py_name": e.py_name})).collect();
    let structs: Vec<Value> = m
        .structs
        .iter()
        .enumerate()
        .map(|(i, s)| {
            json!({"decl": s.decl, "parent": format!("_parents[{i}]"), "model": s.model, "py_name": s.py_name, "aliases": s.alias.iter().collect::<Vec<_>>()})
        })
        .collect();
    let functions: Vec<Value> = m.functions.iter().map(|f| json!({"decl": f.decl, "py_name": f.py_name})).collect();
    let mut out = Vec::new();
    let req = json!({"context": context(raw, m, &known), "enums": enums});
    let r = render(&req)?;
    for (kind, name, _) in bound(&r.report) {
        if kind == "enum" {
            known.insert(cxx(&name), registered(&name));
        }
    }
    out.push((req, r));
    let req = json!({"context": context(raw, m, &known), "structs": structs});
    let r = render(&req)?;
    for (kind, name, _) in bound(&r.report) {
        if kind == "struct" || kind == "alias" {
            known.insert(cxx(&name), registered(&name));
        }
    }
    out.push((req, r));
    let req = json!({"context": context(raw, m, &known), "functions": functions});
    let r = render(&req)?;
    out.push((req, r));
    let mixed = json!({"context": context(raw, m, &BTreeMap::new()), "enums": enums, "structs": structs, "functions": functions});
    let rm = render(&mixed)?;
    Ok((out, (mixed, rm)))
}

/// A validated config and the shim include for the static module of a model: each optional key
/// is kept when the config with it still passes `Config::from_yaml` (as the CLI loads it).
fn static_config(raw: &Raw, m: &Model) -> (Config, ShimInclude) {
    let c = &raw.config;
    let archs: Vec<&str> = if c.two_archs { vec!["sm_80", "sm_90"] } else { vec!["sm_80"] };
    let mut doc = json!({"Entry Point": "lib.cuh", "File List": ["lib.cuh"], "GPU Arch": archs});
    let pick = |v: &[usize], names: &dyn Fn(usize) -> Option<String>| -> Vec<String> {
        v.iter().filter_map(|i| names(*i)).collect()
    };
    let struct_name = |i: usize| m.structs.get(i % m.structs.len().max(1)).map(|s| s.decl.name.clone());
    let fn_name = |i: usize| m.functions.get(i % m.functions.len().max(1)).map(|f| f.decl.name.clone());
    let enum_name = |i: usize| m.enums.get(i % m.enums.len().max(1)).map(|e| e.decl.name.clone());
    // An override that starts with `#` is preprocessor text, used as it is.
    let include_text = if raw.valid { format!("#pragma once\n{}", header(m)) } else { c.include_text.clone() };
    let mut optional: Vec<(&str, Value)> = vec![
        ("Use Separate Registry", json!(c.separate)),
        ("API Prefix Removal", json!({"Function": c.prefixes.0, "Struct": c.prefixes.1, "Enum": c.prefixes.2})),
        (
            "Exclude",
            json!({"Function": pick(&c.exclude, &fn_name), "Struct": pick(&c.exclude, &struct_name), "Enum": pick(&c.exclude, &enum_name)}),
        ),
        (
            "Types",
            json!(pick(&c.number_types, &struct_name).into_iter().map(|n| (n, "Number")).collect::<BTreeMap<_, _>>()),
        ),
        (
            "Data Models",
            json!(pick(&c.primitive, &struct_name)
                .into_iter()
                .map(|n| (n, "PrimitiveModel"))
                .collect::<BTreeMap<_, _>>()),
        ),
        ("Predefined Macros", json!(c.macros)),
    ];
    if let Some(n) = &c.name {
        optional.push(("Name", json!(n)));
    }
    if let Some(v) = &c.version {
        optional.push(("Version", json!(v)));
    }
    if let Some(r) = &c.cooperative {
        optional.push(("Cooperative Launch Required Functions Regex", json!([r])));
    }
    if let Some(p) = &c.skip_prefix {
        optional.push(("Skip Prefix", json!(p)));
    }
    if c.callbacks.0.is_some() || c.callbacks.1.is_some() {
        optional.push(("Module Callbacks", json!({"setup": c.callbacks.0, "teardown": c.callbacks.1})));
    }
    if c.verbatim_include {
        optional.push(("Shim Include Override", json!(include_text)));
    }
    let load = |doc: &Value| Config::from_yaml(&serde_json::to_string(doc).expect("config serializes"));
    let mut config = load(&doc).expect("the minimal config loads");
    for (key, value) in optional {
        doc[key] = value;
        match load(&doc) {
            Ok(cfg) => config = cfg,
            Err(_) => {
                bump("CONFIGS_REFUSED", 1);
                doc.as_object_mut().expect("an object").remove(key);
            }
        }
    }
    let include = match config.shim_include_text() {
        Some(text) => ShimInclude::Verbatim(text),
        // A path: any character but NUL, which no file name holds (the header comment shows the
        // path as it is, where a NUL would end the module's source).
        None => ShimInclude::RelativeToModule(format!("../{}/lib.cuh", c.include_text.replace('\0', ""))),
    };
    (config, include)
}

struct StaticOut {
    python: String,
    stub: String,
    report: Value,
    config: Config,
    include: ShimInclude,
}

fn render_static(raw: &Raw, m: &Model) -> StaticOut {
    bump("STATIC_RENDERS", 1);
    let (config, include) = static_config(raw, m);
    let archs = config.gpu_arch.clone();
    let has = |arch_choice: usize, a: usize| archs.len() == 1 || arch_choice < 2 || arch_choice - 2 == a;
    let per_arch: Vec<(String, Declarations)> = archs
        .iter()
        .enumerate()
        .map(|(a, arch)| {
            let d = Declarations {
                structs: m.structs.iter().filter(|s| has(s.arch, a)).map(|s| s.decl.clone()).collect(),
                functions: m.functions.iter().filter(|f| has(f.arch, a)).map(|f| f.decl.clone()).collect(),
                typedefs: m.typedefs.iter().filter(|t| has(t.1, a)).map(|t| t.0.clone()).collect(),
                enums: m.enums.iter().filter(|e| has(e.arch, a)).map(|e| e.decl.clone()).collect(),
                ..Declarations::default()
            };
            (arch.clone(), d)
        })
        .collect();
    let primary: BTreeSet<String> = [PRIMARY.to_string()].into();
    let include_dirs: Vec<String> = raw.config.include_dirs.clone();
    let provenance = Provenance {
        tool_version: "0.1.0".into(),
        libclang_version: format!("libclang {}", raw.config.provenance),
        cuda_version: "12.8".into(),
        config_path: raw.config.provenance.clone(),
    };
    let module_name = py_ident(&raw.config.module_name);
    let module = render_module(&ModuleRequest {
        config: &config,
        module_name: &module_name,
        per_arch: &per_arch,
        primary_files: &primary,
        include: &include,
        include_dirs: &include_dirs,
        definitions: &[],
        provenance: &provenance,
    });
    StaticOut {
        python: module.python,
        stub: module.stub,
        report: serde_json::to_value(&module.report).unwrap_or_default(),
        config,
        include,
    }
}

// ============================================================================= checks

fn s(v: &Value) -> &str {
    v.as_str().unwrap_or("")
}

fn strs(v: &Value) -> Vec<String> {
    v.as_array().map(|a| a.iter().map(|x| s(x).to_string()).collect()).unwrap_or_default()
}

fn plain_int(v: &Value) -> String {
    match v {
        Value::Number(n) => n.to_string(),
        Value::Object(o) => o.get("int").map(|x| s(x).to_string()).unwrap_or_else(|| v.to_string()),
        _ => v.to_string(),
    }
}

/// A binding's Python name: a sanitized identifier, no keyword, nothing the rendered code or the
/// module uses, no `__dunder__`.
fn check_py_name(n: &str, what: &str, fails: &mut Vec<String>) {
    let dunder = n.len() > 4
        && n.starts_with("__")
        && n.ends_with("__")
        && !n[2..].starts_with('_')
        && !n[..n.len() - 2].ends_with('_');
    if !is_cxx_identifier(n)
        || PY_KEYWORDS.contains(&n)
        || RESERVED.contains(&n)
        || PRELUDE_NAMES.contains(&n)
        || dunder
        || py_ident(n) != n
    {
        fails.push(format!("{what}: bad Python name {n:?}"));
    }
}

/// Statement-level facts of rendered registration code (dynamic code, or `_nb_register`'s body).
fn check_statements(r: &Value, what: &str, allowed_calls: &[&str], allowed_names: &[&str], fails: &mut Vec<String>) {
    for b in strs(&r["bad"]) {
        fails.push(format!("{what}: statement of an unexpected shape: {b}"));
    }
    for c in strs(&r["calls"]) {
        if !allowed_calls.iter().any(|p| if p.ends_with('.') { c.starts_with(p) } else { c == *p }) {
            fails.push(format!("{what}: unexpected call to `{c}`"));
        }
    }
    let mut assigned: Vec<(i64, String)> = Vec::new();
    for rec in r["records"].as_array().into_iter().flatten() {
        if let Some(t) = rec["target"].as_str() {
            assigned.push((rec["line"].as_i64().unwrap_or(0), t.to_string()));
        }
    }
    for l in r["loads"].as_array().into_iter().flatten() {
        let (line, name) = (l[0].as_i64().unwrap_or(0), s(&l[1]));
        if !allowed_names.contains(&name) && !assigned.iter().any(|(al, n)| *al < line && n == name) {
            fails.push(format!("{what}: reads name `{name}` that it did not define"));
        }
    }
}

fn records<'a>(r: &'a Value, call: &str) -> Vec<&'a Value> {
    r["records"].as_array().into_iter().flatten().filter(|rec| rec["call"].as_str() == Some(call)).collect()
}

fn kw<'a>(rec: &'a Value, k: &str) -> &'a Value {
    &rec["kw"][k]
}

/// Every `_b.struct` / `_b.enum` / `_b.method` / alias literal gives back the model's C++ names.
fn check_round_trips(r: &Value, m: &Model, enum_prefixes: &[String], what: &str, fails: &mut Vec<String>) {
    let struct_names: BTreeMap<String, &Struct> =
        m.structs.iter().rev().map(|s| (cxx(&s.decl.qual_name), &s.decl)).collect();
    for rec in records(r, "_b.struct") {
        let cxx_name = s(kw(rec, "cxx_name"));
        match struct_names.get(cxx_name) {
            None => fails.push(format!("{what}: `_b.struct(cxx_name={cxx_name:?})` names no struct of the model")),
            Some(decl) => {
                if kw(rec, "py_name").as_str() != rec["target"].as_str() {
                    fails.push(format!(
                        "{what}: struct {cxx_name:?} assigned to {:?} but named {:?}",
                        rec["target"],
                        kw(rec, "py_name")
                    ));
                }
                if s(kw(rec, "model")) == "struct" {
                    let fields: Vec<(String, String)> = kw(rec, "fields")
                        .as_array()
                        .into_iter()
                        .flatten()
                        .map(|f| (s(&f[0]).to_string(), plain_int(&f[2])))
                        .collect();
                    let want: Vec<(String, String)> =
                        decl.fields.iter().map(|f| (f.name.clone(), f.offset.to_string())).collect();
                    let same_struct = m.structs.iter().any(|x| {
                        cxx(&x.decl.qual_name) == cxx_name
                            && x.decl.fields.iter().map(|f| (f.name.clone(), f.offset.to_string())).collect::<Vec<_>>()
                                == fields
                    });
                    if !same_struct {
                        fails.push(format!(
                            "{what}: fields of {cxx_name:?} came back as {fields:?}, the model has {want:?}"
                        ));
                    }
                }
            }
        }
    }
    let method_names: BTreeSet<&str> =
        m.structs.iter().flat_map(|s| s.decl.methods.iter().map(|x| x.function.name.as_str())).collect();
    for rec in records(r, "_b.method").into_iter().chain(records(r, "_b.static_method")) {
        let n = s(kw(rec, "name"));
        // The call operator is bound as `__call__`, the method a Python call of a value reaches.
        let n = if n == "__call__" { "operator()" } else { n };
        if !method_names.contains(n) {
            fails.push(format!("{what}: `_b.method(name={n:?})` is no method name of the model"));
        }
    }
    for rec in records(r, "_b.enum") {
        let cxx_name = s(kw(rec, "cxx_name"));
        let py = s(kw(rec, "py_name"));
        let members: Vec<(String, String)> = kw(rec, "members")
            .as_array()
            .into_iter()
            .flatten()
            .map(|x| (s(&x[0]).to_string(), plain_int(&x[1])))
            .collect();
        let matches_model = m.enums.iter().any(|e| {
            cxx(&e.decl.qual_name) == cxx_name && {
                // Static mode: `API Prefix Removal` of enums strips the members' names too, when
                // the results are distinct identifiers.
                let strip = |n: &String| {
                    enum_prefixes
                        .iter()
                        .find_map(|p| n.strip_prefix(p.as_str()).filter(|rest| !rest.is_empty()))
                        .unwrap_or(n)
                        .to_string()
                };
                let stripped: Vec<String> = e.decl.enumerators.iter().map(strip).collect();
                let distinct: BTreeSet<&String> = stripped.iter().collect();
                let members_cxx = if distinct.len() == stripped.len() && stripped.iter().all(|n| py_ident(n) == *n) {
                    stripped
                } else {
                    e.decl.enumerators.clone()
                };
                let names = enum_member_names(&members_cxx, py);
                let values = e
                    .decl
                    .enumerator_values
                    .iter()
                    .map(|v| v.parse::<i128>().map(|v| v.to_string()).unwrap_or_else(|_| "0".into()));
                names.into_iter().zip(values).collect::<Vec<_>>() == members
            }
        });
        if !matches_model {
            fails
                .push(format!("{what}: enum {cxx_name:?} members came back as {members:?}, not as the model has them"));
        }
        if rec["target"].as_str() != Some(py) {
            fails.push(format!("{what}: enum {cxx_name:?} assigned to {:?} but named {py:?}", rec["target"]));
        }
    }
    let aliases: BTreeSet<String> = m
        .typedefs
        .iter()
        .map(|t| cxx(&t.0.qual_name))
        .chain(m.structs.iter().filter_map(|s| s.alias.as_deref().map(cxx)))
        .collect();
    for rec in r["records"].as_array().into_iter().flatten() {
        if let Some(k) = rec.get("subscript") {
            if !aliases.contains(s(k)) {
                fails.push(format!("{what}: `_b.types[{k}]` is no typedef of the model"));
            }
        }
    }
    let qual_names: BTreeSet<String> = m.functions.iter().map(|f| cxx(&f.decl.qual_name)).collect();
    let raw_qual_names: BTreeSet<&str> = m.functions.iter().map(|f| f.decl.qual_name.as_str()).collect();
    for rec in records(r, "_nb_require_arch") {
        let q = s(&rec["args"][1]);
        if !raw_qual_names.contains(q) {
            fails.push(format!("{what}: `_nb_require_arch` names {q:?}, no function of the model"));
        }
    }
    for rec in records(r, "_b.function").into_iter().chain(records(r, "_b.operator")) {
        let src = s(kw(rec, "src"));
        let shim = s(kw(rec, "shim"));
        if !src.contains(&format!("void {shim}(")) {
            fails.push(format!("{what}: shim source does not define {shim:?}"));
        }
        if rec["call"] == "_b.function" {
            if kw(rec, "py_name").as_str() != rec["target"].as_str() {
                fails.push(format!(
                    "{what}: function assigned to {:?} but named {:?}",
                    rec["target"],
                    kw(rec, "py_name")
                ));
            }
            if !qual_names.iter().any(|q| src.contains(&format!("::{q}("))) {
                fails.push(format!("{what}: the shim of {:?} calls no function of the model: {src:?}", rec["target"]));
            }
        }
    }
}

/// Each bound name holds what was registered under it; two entities under one Python name are a
/// collision (one of them is unreachable).
fn check_values(
    values: &Value,
    bound: &[(String, String, String)],
    what: &str,
    fails: &mut Vec<String>,
) -> BTreeSet<String> {
    let mut collided = BTreeSet::new();
    let mut by_name: BTreeMap<&str, BTreeSet<(String, String)>> = BTreeMap::new();
    for (kind, name, py) in bound {
        let key = match kind.as_str() {
            "struct" | "enum" => (kind.clone(), cxx(name)),
            "function" => ("function".to_string(), py.clone()),
            _ => continue,
        };
        by_name.entry(py.as_str()).or_default().insert(key);
    }
    for (py, entities) in by_name {
        let got = &values[py];
        if entities.len() > 1 {
            collided.insert(py.to_string());
            fails.push(format!("[BUG-5] {what}: NAME-COLLISION: Python name {py:?} is bound to {} entities {entities:?}; it holds {got}", entities.len()));
        } else if let Some((kind, key)) = entities.iter().next() {
            if got != &json!([kind, key]) {
                fails.push(format!("{what}: `{py}` should hold the {kind} {key:?}, holds {got}"));
            }
        }
    }
    collided
}

/// The known bug an error message is, if it is one.
fn bug_tag(error: &str) -> &'static str {
    if error.contains("invalid enum member name(s) ''") {
        "[BUG-3] "
    } else {
        ""
    }
}

fn check_shims(answer: &Value, what: &str, fails: &mut Vec<String>) {
    for c in strs(&answer["shim_conflicts"]) {
        fails.push(format!("{what}: two different shims are named {c:?}"));
    }
    if let Some(shims) = answer["shims"].as_object() {
        for (name, src) in shims {
            if !is_cxx_identifier(name) || !s(src).contains(&format!("extern \"C\" __device__ void {name}(")) {
                fails.push(format!("{what}: bad shim {name:?}: {}", s(src)));
            }
        }
    }
}

fn check_dynamic(raw: &Raw, m: &Model, fails: &mut Vec<String>) -> Option<Value> {
    let (requests, (_, mixed)) = match dynamic_requests(raw, m) {
        Ok(x) => x,
        Err(e) => {
            fails.push(e);
            return None;
        }
    };
    let n_parents = m.structs.len();
    let answer = ask(&json!({
        "op": "dynamic",
        "prelude": numbast_bindgen::PRELUDE,
        "codes": requests.iter().map(|(_, r)| r.code.clone()).collect::<Vec<_>>(),
        "parents": [0, n_parents, 0],
    }));
    bump("PY_TEXTS", 3);
    let fixed: Vec<&str> = ["_b", "_unit", "_parents"].iter().chain(PRELUDE_NAMES).copied().collect();
    let mut all_bound = Vec::new();
    let mut all_notes = Vec::new();
    for (i, ((_, rendered), r)) in requests.iter().zip(answer["results"].as_array().into_iter().flatten()).enumerate() {
        let what = format!("dynamic {} request", ["enums", "structs", "functions"][i]);
        if let Some(e) = r.get("parse_error") {
            fails.push(format!("{what}: the code does not parse: {e}\n{}", rendered.code));
            continue;
        }
        if !strs(&r["imports"]).is_empty() {
            fails.push(format!("{what}: imports {:?}", r["imports"]));
        }
        check_statements(r, &what, &["_b.", "types."], &fixed, fails);
        let b = bound(&rendered.report);
        bump("BOUND", b.len());
        let want: BTreeSet<String> = b
            .iter()
            .filter(|(k, _, p)| matches!(k.as_str(), "struct" | "enum" | "function") && !p.is_empty())
            .map(|(_, _, p)| p.clone())
            .collect();
        for p in &want {
            check_py_name(p, &what, fails);
        }
        let targets: BTreeSet<String> = r["records"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|x| x["target"].as_str().map(String::from))
            .collect();
        if targets != want {
            fails.push(format!("{what}: assigns {targets:?}, but binds {want:?}"));
        }
        check_round_trips(r, m, &[], &what, fails);
        if let Some(e) = r.get("exec_error") {
            fails.push(format!("{}{what}: executing the code raised {e}\n{}", bug_tag(s(e)), rendered.code));
            return None;
        }
        if !strs(&r["rebound"]).is_empty() {
            fails.push(format!("{what}: rebinds the runtime's names {:?}", r["rebound"]));
        }
        let _ = check_values(&r["values"], &b, &what, fails);
        all_notes.extend(notes(&rendered.report));
        all_bound.extend(b);
    }
    check_shims(&answer, "dynamic", fails);
    let count =
        |kind: &str| all_bound.iter().filter(|b| b.0 == kind).count() as u64 + aggregate_arities(&all_notes, kind);
    for kind in ["struct", "enum", "function", "operator", "method", "constructor", "conversion", "static method"] {
        let registered = answer["counts"][kind.replace(' ', "_")].as_u64().unwrap_or(0);
        if registered != count(kind) {
            fails.push(format!("dynamic: the report binds {} {kind}(s), the code registers {registered}", count(kind)));
        }
    }

    // One request with every kind: parses, only bindings, runs.
    let am = ask(
        &json!({"op": "dynamic", "prelude": numbast_bindgen::PRELUDE, "codes": [mixed.code], "parents": [n_parents]}),
    );
    bump("PY_TEXTS", 1);
    let r = &am["results"][0];
    if let Some(e) = r.get("parse_error") {
        fails.push(format!("dynamic mixed request: the code does not parse: {e}"));
    } else {
        check_statements(r, "dynamic mixed request", &["_b.", "types."], &fixed, fails);
        if let Some(e) = r.get("exec_error") {
            fails.push(format!("{}dynamic mixed request: executing the code raised {e}", bug_tag(s(e))));
        } else if !strs(&r["rebound"]).is_empty() {
            fails.push(format!("dynamic mixed request: rebinds the runtime's names {:?}", r["rebound"]));
        }
        check_round_trips(r, m, &[], "dynamic mixed request", fails);
    }
    Some(answer)
}

const MODULE_IMPORTS: &[&str] = &[
    "import sys as _nb_sys",
    "import threading as _nb_threading",
    "import types as _nb_pytypes",
    "import os as _nb_os",
    "import linecache",
    "import importlib",
    "import ast",
    "from numba.cuda import config",
    "from numba.cuda.core import targetconfig",
    "import operator",
    "from numba import types",
    "from numba.cuda import types as _cuda_types",
    "from numba.cuda.vector_types import vector_types as _vector_types",
];
const STUB_IMPORTS: &[&str] = &[
    "import enum as _nbst_enum",
    "from typing import Any as _nbst_Any",
    "from numba.cuda.core.imputils import Registry as _nbst_TargetRegistry",
    "from numba.cuda.typing.templates import Registry as _nbst_TypingRegistry",
];
const MODULE_TOP_CALLS: &[&str] =
    &["_nb_threading.RLock", "_nb_os.path.normpath", "_nb_os.path.join", "_nb_os.path.dirname", "_nb_os.path.abspath"];

fn check_static(raw: &Raw, m: &Model, fails: &mut Vec<String>) -> Option<(Value, StaticOut)> {
    let out = render_static(raw, m);
    let a = ask(
        &json!({"op": "static", "python": out.python, "stub": out.stub, "module_name": py_ident(&raw.config.module_name)}),
    );
    bump("PY_TEXTS", 2);
    let what = "static module";
    if let Some(e) = a["stub"].get("parse_error") {
        fails.push(format!("{what}: the stub does not parse: {e}"));
    }
    if let Some(e) = a.get("parse_error") {
        fails.push(format!("{what}: the module does not parse: {e}"));
        return None;
    }
    for i in strs(&a["imports"]) {
        if !MODULE_IMPORTS.contains(&i.as_str()) {
            fails.push(format!("{what}: unexpected import `{i}`"));
        }
    }
    for n in strs(&a["module_names"]) {
        if !MODULE_OWN.contains(&n.as_str()) {
            fails.push(format!("{what}: the top level defines `{n}`"));
        }
    }
    for c in strs(&a["top_level_calls"]) {
        if !MODULE_TOP_CALLS.contains(&c.as_str()) {
            fails.push(format!("{what}: the top level calls `{c}`"));
        }
    }
    for k in strs(&a["top_level_kinds"]) {
        if !["Expr", "Import", "Assign", "FunctionDef"].contains(&k.as_str()) {
            fails.push(format!("{what}: a top-level {k} statement"));
        }
    }
    if let Some(e) = a.get("register_error") {
        fails.push(format!("{what}: {e}"));
        return None;
    }
    let reg = &a["register"];
    let helpers: Vec<&str> = ["_b", "_unit", "_nb_require_arch", "_nb_mark_cooperative", "_template_bindings"]
        .iter()
        .chain(PRELUDE_NAMES)
        .copied()
        .collect();
    check_statements(
        reg,
        "static _nb_register",
        &["_b.", "types.", "_nb_require_arch", "_nb_mark_cooperative"],
        &helpers,
        fails,
    );
    let globals: BTreeSet<String> = strs(&a["globals"]).into_iter().collect();
    for rec in reg["records"].as_array().into_iter().flatten() {
        if let Some(t) = rec["target"].as_str() {
            if !globals.contains(t) {
                fails.push(format!("{what}: `{t}` is assigned in _nb_register without `global`"));
            }
        }
    }
    let all = strs(&a["all"]);
    let all_set: BTreeSet<String> = all.iter().cloned().collect();
    if all_set.len() != all.len() {
        fails.push(format!("{what}: __all__ has duplicates: {all:?}"));
    }
    for n in strs(&a["unreachable"]) {
        let tag = if n.starts_with("__") && n.ends_with("__") { "[BUG-2] " } else { "" };
        fails.push(format!("{tag}{what}: `{n}` is in __all__, but the module's __getattr__ refuses it"));
    }
    for n in &all {
        check_py_name(n, "static __all__", fails);
        // The module's own names: those listed, and `_nb_*`/`_NB_*` ones not ending in `_`.
        let own_prefix = (n.starts_with("_nb_") || n.starts_with("_NB_")) && !n.ends_with('_');
        if MODULE_OWN.contains(&n.as_str()) || REGISTER_OWN.contains(&n.as_str()) || own_prefix {
            fails.push(format!("{what}: __all__ has the module's own name {n:?}"));
        }
    }
    if let Some(flags) = a["name_flags"].as_object() {
        for (n, f) in flags {
            if f.as_array().is_some_and(|x| x.iter().any(|y| y != "non-ASCII")) {
                fails.push(format!("{what}: __all__ name {n:?}: {f}"));
            }
        }
    }
    // A Module Callbacks expression is evaluated at registration; one that is not Python or does
    // not give a callable is refused there, naming the key.
    if let Some(e) = a.get("exec_error").map(|e| s(e).to_string()) {
        let (setup, teardown) = out.config.callbacks();
        let expression =
            [setup, teardown].iter().any(|c| matches!(c, Some(numbast_bindgen::config::Callback::Expression(_))));
        if expression && e.contains("config key `Module Callbacks.") {
            bump("CALLBACKS_REFUSED", 1);
            return None;
        }
    }
    for key in ["import_error", "exec_error"] {
        if let Some(e) = a.get(key) {
            fails.push(format!("{}{what}: {key}: {e}", bug_tag(s(e))));
            return None;
        }
    }
    if !strs(&a["rebound"]).is_empty() {
        fails.push(format!("{what}: registration rebinds the module's names {:?}", a["rebound"]));
    }
    let new_globals: BTreeSet<String> = strs(&a["new_globals"]).into_iter().collect();
    for n in &new_globals {
        if !all_set.contains(n) && !REGISTER_OWN.contains(&n.as_str()) {
            fails.push(format!("{what}: registration defines `{n}`, which is not in __all__"));
        }
    }
    for n in &all_set {
        if !new_globals.contains(n) {
            fails.push(format!("{what}: `{n}` is in __all__ but registration does not define it"));
        }
    }
    if a["dir_ok"] != json!(true) {
        fails.push(format!("{what}: dir(module) misses names of __all__"));
    }
    let installs = a["installs"].as_u64().unwrap_or(0);
    if installs != if out.config.use_separate_registry { 1 } else { 2 } {
        fails.push(format!("{what}: Bindings.install() ran {installs} times"));
    }
    let b = bound(&out.report);
    bump("BOUND", b.len());
    for (kind, name, py) in &b {
        if matches!(kind.as_str(), "struct" | "enum" | "function" | "alias") && !all_set.contains(py) {
            fails.push(format!("{what}: the {kind} {name:?} is bound as {py:?}, which is not in __all__"));
        }
    }
    let collided = check_values(&a["values"], &b, what, fails);
    check_round_trips(reg, m, &out.config.api_prefix_removal.r#enum, what, fails);
    check_shims(&a, what, fails);
    let expected_preamble = match &out.include {
        ShimInclude::Verbatim(text) => {
            let mut t = macro_lines(&out.config) + text;
            if !t.ends_with('\n') {
                t.push('\n');
            }
            Some(t)
        }
        ShimInclude::RelativeToModule(_) => None,
    };
    if let Some(p) = expected_preamble {
        if a["preceding_text"].as_str() != Some(p.as_str()) {
            fails.push(format!("{what}: the shims' preamble came back as {:?}, not {p:?}", a["preceding_text"]));
        }
    }

    // The stub: parses, defines each name of __all__ once, as what the module holds.
    let stub = &a["stub"];
    if stub.get("parse_error").is_none() {
        for i in strs(&stub["imports"]) {
            if !STUB_IMPORTS.contains(&i.as_str()) {
                fails.push(format!("{what}: the stub imports `{i}`"));
            }
        }
        let mut defined: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for pair in stub["names"].as_array().into_iter().flatten() {
            defined.entry(s(&pair[0]).to_string()).or_default().push(s(&pair[1]).to_string());
        }
        for n in &all {
            let kinds = defined.get(n).cloned().unwrap_or_default();
            let value = &a["values"][n.as_str()];
            if STUB_OWN.contains(&n.as_str()) {
                fails.push(format!("[BUG-4] {what}: the stub's own name {n:?} is also a binding ({kinds:?})"));
                continue;
            }
            if collided.contains(n) {
                continue; // reported above
            }
            if kinds.len() != 1 {
                fails.push(format!("{what}: the stub defines {n:?} {} times: {kinds:?}", kinds.len()));
                continue;
            }
            let k = kinds[0].as_str();
            let agrees = match s(&value[0]) {
                "struct" => k == "ann:_nbst_BoundStruct",
                "function" => k == "def",
                "enum" => k == "class:_nbst_enum.IntEnum",
                _ => false,
            } || k.strip_prefix("alias:").is_some_and(|target| a["values"][target] == *value);
            if !agrees {
                fails.push(format!(
                    "[BUG-5] {what}: NAME-COLLISION: the stub declares {n:?} as `{k}`, the module holds {value}"
                ));
            }
        }
        for (n, members) in stub["enums"].as_object().into_iter().flatten() {
            if a["enum_members"].get(n.as_str()).is_none() || collided.contains(n) {
                continue; // the module's name holds no enum: a collision, reported above
            }
            let have: BTreeSet<(String, String)> = a["enum_members"][n.as_str()]
                .as_array()
                .into_iter()
                .flatten()
                .map(|p| (s(&p[0]).to_string(), s(&p[1]).to_string()))
                .collect();
            for p in members.as_array().into_iter().flatten() {
                let pair = (s(&p[0]).to_string(), s(&p[1]).to_string());
                if !have.contains(&pair) {
                    fails.push(format!("{what}: the stub's enum {n} has member {pair:?}, the module's has not"));
                }
            }
        }
    }
    Some((a, out))
}

fn nvrtc(source: &str, arch: &str, what: &str, fails: &mut Vec<String>, shims: usize) {
    let a = ask(&json!({"op": "nvrtc", "source": source, "arch": arch}));
    if let Some(reason) = a.get("skipped") {
        bump("NVRTC_SKIPPED", 1);
        if NVRTC_MISSING_SAID.fetch_add(1, Ordering::Relaxed) == 0 {
            eprintln!("fuzz_render: NVRTC compilation skipped: {}", s(reason));
        }
        return;
    }
    bump("NVRTC_UNITS", 1);
    bump("NVRTC_SHIMS", shims);
    if a["ok"] != json!(true) {
        fails.push(format!(
            "{what}: NVRTC ({arch}) does not compile the shims:\n{}\n--- source ---\n{source}",
            s(&a["log"])
        ));
    }
}

/// Everything for one model; the failures, each naming its check.
fn check_model(raw: &Raw, compile: bool) -> Vec<String> {
    let m = build(raw);
    bump("MODELS", 1);
    bump("FUNCTIONS", m.functions.len());
    let mut fails = Vec::new();
    let dynamic = check_dynamic(raw, &m, &mut fails);
    let stat = check_static(raw, &m, &mut fails);
    if compile {
        let mut skips = NVRTC_SKIPS.lock().unwrap_or_else(|e| e.into_inner());
        for r in stat.iter().flat_map(|(_, out)| out.report["skipped"].as_array().cloned().unwrap_or_default()) {
            *skips.entry(format!("skipped {}: {}", s(&r["kind"]), blank_names(s(&r["reason"])))).or_default() += 1;
        }
        for (_, out) in stat.iter() {
            for (kind, _, _) in bound(&out.report) {
                *skips.entry(format!("bound {kind}")).or_default() += 1;
            }
        }
    }
    let known = |f: &String| KNOWN_BUGS.iter().any(|(tag, _)| f.starts_with(tag));
    if compile && fails.iter().all(known) {
        let h = header(&m);
        if let Some(d) = dynamic {
            let shims = d["shim_order"].as_array().map_or(0, Vec::len);
            nvrtc(&format!("{h}\n{}", s(&d["unit_source"])), "sm_80", "dynamic shims", &mut fails, shims);
        }
        if let Some((a, out)) = stat {
            let arch = out.config.gpu_arch.last().cloned().unwrap_or_else(|| "sm_80".into());
            let shims = a["shims"].as_object().map_or(0, |o| o.len());
            nvrtc(s(&a["unit_source"]), &arch, "static module shims", &mut fails, shims);
        }
    }
    fails
}

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(96)
}

fn run(valid: bool, cases: u32) {
    let config = RunnerConfig {
        cases,
        max_shrink_iters: 4000,
        max_shrink_time: 180_000,
        failure_persistence: None,
        ..RunnerConfig::default()
    };
    let mut runner = TestRunner::new(config);
    let result = runner.run(&raw_strategy(valid), |raw| {
        let mut fails = check_model(&raw, valid);
        if !known_bugs_included() {
            let mut hits = KNOWN_HITS.lock().unwrap_or_else(|e| e.into_inner());
            let mut seen = BTreeSet::new();
            fails.retain(|f| match KNOWN_BUGS.iter().find(|(tag, _)| f.starts_with(tag)) {
                Some((tag, _)) => {
                    if seen.insert(*tag) {
                        *hits.entry(*tag).or_default() += 1;
                    }
                    false
                }
                None => true,
            });
        }
        if fails.is_empty() {
            Ok(())
        } else {
            Err(TestCaseError::fail(fails.join("\n")))
        }
    });
    match result {
        Ok(()) => {}
        Err(TestError::Fail(reason, raw)) => {
            panic!(
                "renderer fuzz ({} model) failed: {reason}\n\nminimal model (JSON): {}\n\nraw: {raw:?}",
                if valid { "NVRTC" } else { "arbitrary" },
                model_json(&build(&raw))
            )
        }
        Err(e) => panic!("renderer fuzz: {e}"),
    }
}

fn summary(start: Instant) {
    eprintln!(
        "fuzz_render: {} models ({} functions, {} bindings) -> {} dynamic renders, {} static modules (+ stubs); {} Python texts parsed and checked; {} shim units ({} shims) compiled by NVRTC{}; {} hostile config values refused by the config check; {:.1} s",
        count("MODELS"),
        count("FUNCTIONS"),
        count("BOUND"),
        count("DYNAMIC_RENDERS"),
        count("STATIC_RENDERS"),
        count("PY_TEXTS"),
        count("NVRTC_UNITS"),
        count("NVRTC_SHIMS"),
        if count("NVRTC_SKIPPED") > 0 { " (NVRTC unavailable: skipped)" } else { "" },
        count("CONFIGS_REFUSED"),
        start.elapsed().as_secs_f64()
    );
    if std::env::var("NUMBAST_FUZZ_VERBOSE").is_ok() {
        for (reason, n) in NVRTC_SKIPS.lock().unwrap_or_else(|e| e.into_inner()).iter() {
            eprintln!("fuzz_render: NVRTC models (static mode): {n} x {reason}");
        }
    }
    for (tag, n) in KNOWN_HITS.lock().unwrap_or_else(|e| e.into_inner()).iter() {
        let what = KNOWN_BUGS.iter().find(|(t, _)| t == tag).map_or("", |(_, w)| *w);
        eprintln!("fuzz_render: known renderer bug {tag} hit by {n} model(s) (not fatal here): {what}");
    }
}

#[test]
fn fuzz_render() {
    let start = Instant::now();
    let n = cases();
    run(false, n);
    run(true, (n / 8).max(6));
    summary(start);
}

// ============================================================================= fixed cases

fn empty_config(valid: bool) -> RawConfig {
    RawConfig {
        two_archs: false,
        name: None,
        version: None,
        prefixes: (Vec::new(), Vec::new(), Vec::new()),
        separate: false,
        cooperative: None,
        callbacks: (None, None),
        verbatim_include: valid,
        include_text: String::new(),
        include_dirs: Vec::new(),
        macros: Vec::new(),
        exclude: Vec::new(),
        skip_prefix: None,
        number_types: Vec::new(),
        primitive: Vec::new(),
        module_name: "fixed".into(),
        provenance: String::new(),
    }
}

fn empty_raw(valid: bool) -> Raw {
    Raw {
        valid,
        namespaces: vec!["lib".into(), "other".into(), "inner".into()],
        structs: Vec::new(),
        enums: Vec::new(),
        functions: Vec::new(),
        typedefs: Vec::new(),
        config: empty_config(valid),
        intents: Vec::new(),
        dyn_skip_prefix: None,
        dyn_exclude: Vec::new(),
    }
}

fn plain(base: Base) -> Ty {
    Ty { base, ptrs: 0, const_pointee: false, rf: 0, konst: false }
}

fn raw_fn(name: &str, ns: Option<usize>, params: Vec<Ty>, ret: Ty, overloads: usize) -> RawFn {
    RawFn {
        name: name.into(),
        ns,
        op: None,
        params: params.into_iter().enumerate().map(|(i, ty)| RawParam { name: format!("p{i}"), ty }).collect(),
        ret,
        space: 2,
        variadic: false,
        py_name: None,
        arch: 0,
        overloads,
    }
}

fn raw_struct(name: &str, ns: Option<usize>, fields: &[&str]) -> RawStruct {
    RawStruct {
        name: name.into(),
        ns,
        tag: 0,
        fields: fields.iter().map(|f| (f.to_string(), plain(Base::Int(5)), 0, false)).collect(),
        methods: Vec::new(),
        layout: 0,
        model: 0,
        py_name: None,
        dep_file: false,
        arch: 0,
        alias: None,
    }
}

/// Failures of one fixed model, known bugs included.
fn fixed_failures(raw: &Raw) -> Vec<String> {
    check_model(raw, raw.valid)
}

/// A huge overload set: 600 overloads of `f` (and of `lib::lambda`), one Python callable each, 1200
/// distinct shims that NVRTC compiles, in both modes.
#[test]
fn huge_overload_set() {
    let mut raw = empty_raw(true);
    raw.functions.push(raw_fn("f", None, vec![], plain(Base::Int(5)), 600));
    raw.functions.push(raw_fn("lambda", Some(0), vec![], plain(Base::Float(1)), 600));
    let fails = fixed_failures(&raw);
    assert!(fails.is_empty(), "{}", fails.join("\n"));
    let m = build(&raw);
    assert_eq!(m.functions.len(), 1200);
    let (requests, _) = dynamic_requests(&raw, &m).expect("renders");
    let functions = &requests[2].1;
    let names: BTreeSet<String> = bound(&functions.report).into_iter().map(|b| b.2).collect();
    assert_eq!(names, BTreeSet::from(["f".to_string(), "lambda_".to_string()]));
    let shims: BTreeSet<&str> =
        functions.code.lines().filter_map(|l| l.split("shim=\"").nth(1)).filter_map(|r| r.split('"').next()).collect();
    assert_eq!(shims.len(), 1200, "every overload has a shim of its own");
    let out = render_static(&raw, &m);
    let a = ask(&json!({"op": "static", "python": out.python, "stub": out.stub}));
    assert_eq!(a["all"], json!(["f", "lambda_"]));
    assert_eq!(a["shims"].as_object().map(|o| o.len()), Some(1200));
    assert_eq!(a["counts"]["function"], json!(1200));
}

/// BUG-1: a C++ type at global scope named like a shim parameter (`ret`, `self`, `a0`...): the
/// shim's parameter hides the type, and NVRTC refuses the shim. Model (dynamic mode):
/// `struct ret { int x; }; __device__ ret make(ret);` renders
/// `extern "C" __device__ void __nbst_fn_make_...(ret *ret, ret *a0) { ::new (...) ret(::make(*a0)); }`:
/// "error: parameter "ret" is not a type name". (The fuzz target renames such types in its NVRTC
/// models unless NUMBAST_FUZZ_KNOWN_BUGS=1.)
#[test]
fn bug_1_shim_parameter_names_shadow_global_types() {
    for name in ["ret", "self", "a0"] {
        let mut raw = empty_raw(true);
        raw.structs.push(raw_struct(name, None, &["x"]));
        raw.functions.push(raw_fn(
            "make",
            None,
            vec![plain(Base::Int(5)), plain(Base::Struct(0))],
            plain(Base::Struct(0)),
            1,
        ));
        let fails = fixed_failures(&raw);
        assert!(
            fails.is_empty(),
            "BUG-1 (type named `{name}`):\n{}\nmodel: {}",
            fails.join("\n"),
            model_json(&build(&raw))
        );
    }
}

/// BUG-2: C++ struct `__x__` is bound as `__x___` (a dunder gets a `_`), which is in `__all__`,
/// but the module's `__getattr__` refuses every name that starts and ends with `__`: `module.__x___`
/// raises AttributeError until something else has registered the bindings. Same for C++ `__`,
/// `___` and the reserved dunders (`__all__` -> `__all___`).
#[test]
fn bug_2_dunder_like_names_unreachable_through_module_getattr() {
    let mut raw = empty_raw(false);
    raw.structs.push(raw_struct("__x__", None, &["x"]));
    let fails: Vec<String> = fixed_failures(&raw).into_iter().filter(|f| f.starts_with("[BUG-2]")).collect();
    assert!(fails.is_empty(), "{}\nmodel: {}", fails.join("\n"), model_json(&build(&raw)));
}

/// BUG-3: an enum member with an empty name (C++ has none, but a model can hold one, e.g. built by
/// hand for dynamic mode) renders `members=[("", 0)]`, and `IntEnum` raises "invalid enum member
/// name(s) ''" when the code runs; `enum_member_names` renames the other names `enum` refuses.
#[test]
fn bug_3_empty_enum_member_name() {
    let mut raw = empty_raw(false);
    raw.enums.push(RawEnum {
        name: "E".into(),
        ns: None,
        members: vec!["".into(), "A".into()],
        values: vec!["0".into(), "1".into()],
        underlying: 5,
        scoped: true,
        py_name: None,
        dep_file: false,
        arch: 0,
    });
    let fails: Vec<String> = fixed_failures(&raw).into_iter().filter(|f| f.starts_with("[BUG-3]")).collect();
    assert!(fails.is_empty(), "{}\nmodel: {}", fails.join("\n"), model_json(&build(&raw)));
}

/// BUG-4: C++ struct `Any` is bound as `Any`; the stub (`from typing import Any` ... `Any:
/// _BoundStruct` ... `def f(*args: Any) -> Any`) then annotates every function with the struct.
/// The stub's own names (`Any`, `enum`, `_BoundStruct`, `_FunctionTemplate`, `_ClassInstance`,
/// `_ClassTemplate`, `_TargetRegistry`, `_TypingRegistry`) are not reserved.
#[test]
fn bug_4_stub_names_shadowed_by_bindings() {
    let mut raw = empty_raw(false);
    raw.structs.push(raw_struct("Any", None, &["x"]));
    raw.functions.push(raw_fn("f", None, vec![plain(Base::Int(5))], plain(Base::Int(5)), 1));
    let fails: Vec<String> = fixed_failures(&raw).into_iter().filter(|f| f.starts_with("[BUG-4]")).collect();
    assert!(fails.is_empty(), "{}\nmodel: {}", fails.join("\n"), model_json(&build(&raw)));
}

/// BUG-5: two entities with one Python name. Static mode: struct `lib::Vec` and function
/// `other::Vec(int)` both become `Vec`; `_nb_register` assigns the struct, then the function to
/// `Vec`: the struct is unreachable from Python, `__all__` lists `Vec` once, and the stub declares
/// `Vec: _BoundStruct` while the module holds the function. Same for two structs `a::S` and
/// `b::S`, an enum and a struct, and names that sanitize alike (`def` and `def_`). Dynamic mode
/// (one request with several structs of one name) rebinds the same way. Only templates are
/// checked (`name_taken`).
#[test]
fn bug_5_one_python_name_for_two_entities() {
    let mut raw = empty_raw(false);
    raw.structs.push(raw_struct("Vec", Some(0), &["x"]));
    raw.functions.push(raw_fn("Vec", Some(1), vec![plain(Base::Int(5))], plain(Base::Int(5)), 1));
    let fails: Vec<String> = fixed_failures(&raw).into_iter().filter(|f| f.starts_with("[BUG-5]")).collect();
    assert!(fails.is_empty(), "{}\nmodel: {}", fails.join("\n"), model_json(&build(&raw)));
}

/// BUG-6: a struct and a function of the same name in one scope (legal C++, POSIX `stat`): the
/// function hides the struct's plain name, so a shim that spells the type `S` (`S *ret`,
/// `::new (...) S(...)`) does not compile; an elaborated `struct S` would.
#[test]
#[ignore = "open: shims spell class types by name; a function of the same name hides it (needs an elaborated `struct S` where the spelling is the class's own name, not a typedef)"]
fn bug_6_struct_hidden_by_function_of_the_same_name() {
    let mut raw = empty_raw(true);
    raw.structs.push(raw_struct("S", None, &["x"]));
    raw.functions.push(raw_fn("make", None, vec![plain(Base::Int(5))], plain(Base::Struct(0)), 1));
    let m = build(&raw);
    let (requests, _) = dynamic_requests(&raw, &m).expect("renders");
    let answer = ask(&json!({
        "op": "dynamic", "prelude": numbast_bindgen::PRELUDE,
        "codes": requests.iter().map(|(_, r)| r.code.clone()).collect::<Vec<_>>(), "parents": [0, 1, 0],
    }));
    // The header: `struct S` and `int S(int)` in one scope; `make` returns `struct S`.
    let header = "struct S { int x; };\n__device__ int S(int);\n__device__ struct S make(int);\n";
    let mut fails = Vec::new();
    nvrtc(&format!("{header}\n{}", s(&answer["unit_source"])), "sm_80", "BUG-6", &mut fails, 1);
    assert!(fails.is_empty(), "{}", fails.join("\n"));
}

/// BUG-8: a member overloaded on `const` (`bool operator-(int)` and `S operator-(int) const`):
/// the shim of the `const` one called through a non-const object pointer, so C++ chose the other
/// overload and NVRTC failed ("no suitable constructor exists to convert from bool"). Found by
/// `fuzz_render`'s NVRTC models.
#[test]
fn bug_8_members_overloaded_on_const() {
    let mut raw = empty_raw(true);
    let mut s = raw_struct("S", None, &[]);
    let param = || vec![RawParam { name: "z".into(), ty: plain(Base::Int(5)) }];
    let member = |op: Option<usize>, ret: Ty, is_const: bool| RawMethod {
        kind: 7,
        name: "get".into(),
        op,
        params: param(),
        ret,
        is_const,
        is_static: false,
        is_virtual: false,
        assign: 0,
        space: 2,
    };
    let minus = MEMBER_OPERATORS.iter().position(|(sym, arity)| *sym == "-" && *arity == 1);
    for op in [minus, None] {
        s.methods.push(member(op, plain(Base::Bool), false));
        s.methods.push(member(op, plain(Base::Struct(0)), true));
    }
    raw.structs.push(s);
    let fails = fixed_failures(&raw);
    assert!(fails.is_empty(), "BUG-8:\n{}\nmodel: {}", fails.join("\n"), model_json(&build(&raw)));
}

// ============================================================================= templates
//
// Function and class templates with type and non-type parameters, defaults and packs, their names
// drawn from the same pools (`ret`, `self`, keywords, reserved and hostile names), each type given
// with its spelling and the structure canopy builds for it. The rendered code is executed against
// a stand-in template runtime that records the templates' data (`op_templates` in the checker);
// the checks: the code parses and runs, imports nothing and assigns exactly the Python names the
// report binds (each a valid one); every name round-trips; each overload's patterns have the
// shape of the parameter types, pieces join back into the spellings, the specificity and the
// values' constness are the types', and the shim stems are reserved C identifiers, one per
// overload.

/// A type of a generated template's signature: a core (a type parameter by index, or a builtin),
/// optionally const, under pointers, then a wrapper.
#[derive(Debug, Clone)]
struct TplTy {
    core: Result<usize, &'static str>,
    konst: bool,
    ptrs: usize,
    wrap: TplWrap,
}

#[derive(Debug, Clone)]
enum TplWrap {
    None,
    Ref {
        rvalue: bool,
    },
    /// `E (&)[extent]`: a literal extent, or a non-type parameter's (by index).
    ArrayRef(Result<u64, usize>),
}

#[derive(Debug, Clone)]
struct RawTplParam {
    name: String,
    non_type: bool,
    default: Option<String>,
}

#[derive(Debug, Clone)]
struct RawTemplate {
    class: bool,
    name: String,
    tparams: Vec<RawTplParam>,
    /// A trailing type parameter pack `Ts...` taken by a trailing function parameter pack.
    pack: Option<(String, String)>,
    params: Vec<(String, TplTy)>,
    ret: TplTy,
}

const TPL_BUILTINS: &[&str] = &["int", "float", "double", "unsigned int", "bool"];

fn tpl_ty_strategy(allow_wrap: bool) -> BoxedStrategy<TplTy> {
    let core = prop_oneof![3 => (0usize..4).prop_map(Ok), 1 => prop::sample::select(TPL_BUILTINS).prop_map(Err)];
    let wrap = if allow_wrap {
        prop_oneof![
            2 => Just(TplWrap::None),
            2 => any::<bool>().prop_map(|rvalue| TplWrap::Ref { rvalue }),
            1 => prop_oneof![(1u64..9).prop_map(Ok), (0usize..4).prop_map(Err)].prop_map(TplWrap::ArrayRef),
        ]
        .boxed()
    } else {
        Just(TplWrap::None).boxed()
    };
    (core, any::<bool>(), 0usize..3, wrap)
        .prop_map(|(core, konst, ptrs, wrap)| TplTy { core, konst, ptrs, wrap })
        .boxed()
}

fn template_strategy(valid: bool) -> BoxedStrategy<RawTemplate> {
    let tparam = (
        name_strategy(valid),
        any::<bool>(),
        prop::option::weighted(0.3, prop_oneof![Just("int".to_string()), Just("4".to_string()), name_strategy(valid)]),
    )
        .prop_map(|(name, non_type, default)| RawTplParam { name, non_type, default });
    (
        any::<bool>(),
        name_strategy(valid),
        prop::collection::vec(tparam, 1..4),
        prop::option::weighted(0.3, (name_strategy(valid), name_strategy(valid))),
        prop::collection::vec((name_strategy(valid), tpl_ty_strategy(true)), 0..4),
        tpl_ty_strategy(false),
    )
        .prop_map(|(class, name, mut tparams, pack, params, ret)| {
            // At least one type parameter; only trailing parameters have defaults, as C++ requires.
            tparams[0].non_type = false;
            let mut defaulted = true;
            for p in tparams.iter_mut().rev() {
                defaulted &= p.default.is_some();
                if !defaulted {
                    p.default = None;
                }
                if p.non_type {
                    p.default = p.default.take().map(|_| "4".to_string());
                }
            }
            // A template parameter may not have its template's name (C++: it would shadow it).
            for p in tparams.iter_mut().filter(|p| p.name == name) {
                p.name.push_str("_p");
            }
            let pack = if class { None } else { pack };
            RawTemplate { class, name, tparams, pack, params, ret }
        })
        .boxed()
}

impl RawTemplate {
    fn type_params(&self) -> Vec<usize> {
        (0..self.tparams.len()).filter(|&i| !self.tparams[i].non_type).collect()
    }

    fn non_type_params(&self) -> Vec<usize> {
        (0..self.tparams.len()).filter(|&i| self.tparams[i].non_type).collect()
    }

    /// The core's template parameter (a type parameter), or its builtin.
    fn core(&self, t: &TplTy) -> Result<usize, &'static str> {
        let types = self.type_params();
        t.core.map(|i| types[i % types.len()])
    }

    /// The array extent's non-type parameter, a literal when the template has none.
    fn extent(&self, e: Result<u64, usize>) -> Result<u64, usize> {
        let values = self.non_type_params();
        match e {
            Err(i) if !values.is_empty() => Err(values[i % values.len()]),
            Err(i) => Ok(i as u64 + 1),
            Ok(n) => Ok(n),
        }
    }

    /// The spelling and the structure (canopy's `TypeNode`) of `t`.
    fn spelled(&self, t: &TplTy) -> (String, canopy::model::TypeNode) {
        use canopy::model::{Extent, TypeNode};
        let (mut s, mut node) = match self.core(t) {
            Ok(i) => (
                self.tparams[i].name.clone(),
                TypeNode::Param { name: self.tparams[i].name.clone(), depth: 0, index: i as u32, is_const: t.konst },
            ),
            Err(b) => (b.to_string(), TypeNode::Named { spelling: b.to_string(), template: None, is_const: t.konst }),
        };
        if t.konst {
            s = format!("const {s}");
        }
        for _ in 0..t.ptrs {
            s = ptr_spelling(&s);
            node = TypeNode::Pointer { pointee: Box::new(node), is_const: false };
        }
        match t.wrap {
            TplWrap::None => (s, node),
            TplWrap::Ref { rvalue } => {
                (format!("{s} {}", if rvalue { "&&" } else { "&" }), TypeNode::Ref { rvalue, referee: Box::new(node) })
            }
            TplWrap::ArrayRef(e) => {
                let (text, extent) = match self.extent(e) {
                    Ok(n) => (n.to_string(), Extent::Literal { value: n }),
                    Err(j) => (self.tparams[j].name.clone(), Extent::Param { name: self.tparams[j].name.clone() }),
                };
                let array = TypeNode::Array { element: Box::new(node), extent };
                (format!("{s} (&)[{text}]"), TypeNode::Ref { rvalue: false, referee: Box::new(array) })
            }
        }
    }

    fn model_type(&self, t: &TplTy) -> Type {
        let (name, node) = self.spelled(t);
        let ref_kind = match t.wrap {
            TplWrap::None => RefKind::None,
            TplWrap::Ref { rvalue: true } => RefKind::Rvalue,
            _ => RefKind::Lvalue,
        };
        Type {
            unqualified_non_ref_type_name: name.clone(),
            name,
            ref_kind,
            is_const: t.konst && t.ptrs == 0,
            shape: TypeShape::Dependent,
            structure: Some(node),
        }
    }

    /// What the runtime's pattern of `t` is, pieces left out (`pattern_shape`).
    fn expected_shape(&self, t: &TplTy) -> String {
        let mut s = match self.core(t) {
            Ok(i) => format!("name {:?}", self.tparams[i].name),
            Err(b) => format!("name {b:?}"),
        };
        for _ in 0..t.ptrs {
            s = format!("ptr({s})");
        }
        match t.wrap {
            TplWrap::None => s,
            TplWrap::Ref { rvalue } => format!("ref {}({s})", if rvalue { "&&" } else { "&" }),
            TplWrap::ArrayRef(e) => match self.extent(e) {
                Ok(n) => format!("ref &(array({s}) {:?} {n})", n.to_string()),
                Err(j) => format!("ref &(array({s}) {:?} null)", self.tparams[j].name),
            },
        }
    }

    /// `Pattern::specificity` of `t`: pointer, array and concrete type nodes, the callable's own
    /// template parameters `own` counting for nothing.
    fn expected_specificity(&self, t: &TplTy, own: &[&str]) -> u64 {
        let core = match self.core(t) {
            Ok(i) => u64::from(!own.contains(&self.tparams[i].name.as_str())),
            Err(b) => u64::from(!own.contains(&b)),
        };
        core + t.ptrs as u64 + u64::from(matches!(t.wrap, TplWrap::ArrayRef(_)))
    }

    fn expected_value_const(&self, t: &TplTy) -> bool {
        t.konst && t.ptrs == 0
    }

    fn template_params(&self) -> Vec<canopy::model::TemplateParam> {
        use canopy::model::{TemplateParam, TemplateParamKind};
        let int = Type {
            name: "int".into(),
            unqualified_non_ref_type_name: "int".into(),
            ref_kind: RefKind::None,
            is_const: false,
            shape: TypeShape::Int { size: 4, signed: true },
            structure: None,
        };
        let mut out: Vec<TemplateParam> = self
            .tparams
            .iter()
            .map(|p| TemplateParam {
                name: p.name.clone(),
                kind: if p.non_type { TemplateParamKind::NonType } else { TemplateParamKind::Type },
                type_: p.non_type.then(|| int.clone()),
                is_pack: false,
                default: p.default.clone(),
            })
            .collect();
        if let Some((pack, _)) = &self.pack {
            out.push(TemplateParam {
                name: pack.clone(),
                kind: TemplateParamKind::Type,
                type_: None,
                is_pack: true,
                default: None,
            });
        }
        out
    }

    /// The function (or constructor) of the template, at `line` of `tpl.cuh`.
    fn function(&self, qual_name: &str, line: u32) -> Function {
        let mut params: Vec<ParamVar> = self
            .params
            .iter()
            .map(|(n, t)| ParamVar { name: n.clone(), type_: self.model_type(t), has_default: false })
            .collect();
        if let Some((pack, pname)) = &self.pack {
            let n = self.tparams.len() as u32;
            let node = canopy::model::TypeNode::Pack {
                pattern: Box::new(canopy::model::TypeNode::Param {
                    name: pack.clone(),
                    depth: 0,
                    index: n,
                    is_const: false,
                }),
            };
            params.push(ParamVar {
                name: pname.clone(),
                type_: Type {
                    name: format!("{pack}..."),
                    unqualified_non_ref_type_name: format!("{pack}..."),
                    ref_kind: RefKind::None,
                    is_const: false,
                    shape: TypeShape::Dependent,
                    structure: Some(node),
                },
                has_default: false,
            });
        }
        let name = qual_name.rsplit("::").next().unwrap_or(qual_name).to_string();
        Function {
            name,
            qual_name: qual_name.to_string(),
            return_type: if self.class { void_type() } else { self.model_type(&self.ret) },
            params,
            exec_space: ExecutionSpace::Device,
            is_constexpr: false,
            is_variadic: false,
            mangled_name: String::new(),
            attributes: Vec::new(),
            is_operator: false,
            location: loc("tpl.cuh", line),
        }
    }
}

fn void_type() -> Type {
    Type::void()
}

/// The declarations of the generated templates, in namespace `tpl`.
fn template_declarations(
    raws: &[RawTemplate],
) -> (Vec<canopy::model::FunctionTemplate>, Vec<canopy::model::ClassTemplate>) {
    use canopy::model::{ClassTemplate, FunctionTemplate};
    let (mut functions, mut classes) = (Vec::new(), Vec::new());
    for (i, t) in raws.iter().enumerate() {
        let qual = format!("tpl::{}", t.name);
        let tparams = t.template_params();
        let required = tparams.iter().filter(|p| p.default.is_none() && !p.is_pack).count();
        let line = 10 * (i as u32 + 1);
        if t.class {
            let ctor = t.function(&format!("{qual}::{}", t.name), line + 1);
            let fields = t
                .params
                .iter()
                .filter(|(_, ty)| matches!(ty.wrap, TplWrap::None))
                .map(|(n, ty)| Field {
                    name: n.clone(),
                    type_: t.model_type(ty),
                    access: AccessKind::Public,
                    offset: -1,
                })
                .collect();
            let record = Struct {
                name: t.name.clone(),
                qual_name: qual.clone(),
                tag: "struct".into(),
                fields,
                methods: vec![StructMethod {
                    function: ctor,
                    kind: MethodKind::OtherConstructor,
                    is_const: false,
                    is_static: false,
                    is_virtual: false,
                    is_copy_assignment: false,
                    is_move_assignment: false,
                }],
                templated_methods: Vec::new(),
                nested_records: Vec::new(),
                nested_class_templates: Vec::new(),
                nested_typedefs: Vec::new(),
                nested_enums: Vec::new(),
                bases: Vec::new(),
                sizeof_: -1,
                alignof_: -1,
                location: loc("tpl.cuh", line),
            };
            classes.push(ClassTemplate {
                template_parameters: tparams,
                num_min_required_args: required,
                record,
                qual_name: qual,
            });
        } else {
            functions.push(FunctionTemplate {
                template_parameters: tparams,
                num_min_required_args: required,
                function: t.function(&qual, line),
                qual_name: qual,
                method: None,
            });
        }
    }
    (functions, classes)
}

/// A recorded pattern without its pieces: `name "T"`, `ptr(...)`, `ref &(...)`,
/// `array(...) "N" count`, `pack(...)`.
fn pattern_shape(v: &Value) -> String {
    let kind = v[0].as_str().unwrap_or("?");
    match kind {
        "name" => format!("name {:?}", v[1].as_str().unwrap_or("?")),
        "ptr" => format!("ptr({})", pattern_shape(&v[1])),
        "ref" => format!("ref {}({})", v[1].as_str().unwrap_or("?"), pattern_shape(&v[2])),
        "array" => format!("array({}) {:?} {}", pattern_shape(&v[1]), v[2].as_str().unwrap_or("?"), v[4]),
        "pack" => format!("pack({})", pattern_shape(&v[1])),
        other => format!("unknown pattern kind {other:?}: {v}"),
    }
}

/// Every pieces tuple in a pattern: literal text and parameter names alternating (odd length),
/// the names among `names`.
fn check_pieces(v: &Value, names: &[&str], what: &str, fails: &mut Vec<String>) {
    let check = |p: &Value, fails: &mut Vec<String>| {
        let parts = strs(p);
        if parts.len().is_multiple_of(2) {
            fails.push(format!("{what}: pieces {p} do not alternate text and names"));
        }
        for name in parts.iter().skip(1).step_by(2) {
            if !names.contains(&name.as_str()) {
                fails.push(format!("{what}: pieces {p} refer to {name:?}, not a template parameter"));
            }
        }
    };
    match v[0].as_str() {
        Some("name") => check(&v[2], fails),
        Some("array") => {
            check(&v[3], fails);
            check_pieces(&v[1], names, what, fails);
        }
        Some("ref") => check_pieces(&v[2], names, what, fails),
        Some("ptr" | "pack") => check_pieces(&v[1], names, what, fails),
        _ => {}
    }
}

/// The checks on one overload dict of template `t` (its parameters `params`, the pack's last): a
/// function template's, or (`member`) its class's constructor, whose own template parameters are
/// none (the class's count as concrete types in its specificity).
fn check_overload(
    t: &RawTemplate,
    ov: &Value,
    member: bool,
    what: &str,
    stems: &mut BTreeSet<String>,
    fails: &mut Vec<String>,
) {
    let all_tparams: Vec<String> = t.template_params().iter().map(|p| p.name.clone()).collect();
    let want_tparams: Vec<String> = if member { Vec::new() } else { all_tparams.clone() };
    let got_tparams: Vec<String> =
        ov["tparams"].as_array().into_iter().flatten().map(|p| p[0].as_str().unwrap_or("").to_string()).collect();
    if got_tparams != want_tparams {
        fails.push(format!("{what}: template parameters {got_tparams:?}, declared {want_tparams:?}"));
    }
    let mut want_params: Vec<String> = t.params.iter().map(|(n, _)| n.clone()).collect();
    if let Some((_, pname)) = &t.pack {
        want_params.push(pname.clone());
    }
    let got_params: Vec<String> =
        ov["params"].as_array().into_iter().flatten().map(|p| p[0].as_str().unwrap_or("").to_string()).collect();
    if got_params != want_params {
        fails.push(format!("{what}: parameters {got_params:?}, declared {want_params:?}"));
    }
    let n = want_params.len();
    for key in ["patterns", "param_pieces", "values", "value_const"] {
        let len = ov[key].as_array().map_or(usize::MAX, Vec::len);
        if len != n {
            fails.push(format!("{what}: {key} has {len} entries for {n} parameters"));
        }
    }
    let mut names: Vec<&str> = all_tparams.iter().map(String::as_str).collect();
    if member {
        names.push("__nbst_self__");
    }
    for (i, (pname, ty)) in t.params.iter().enumerate() {
        let pat = &ov["patterns"][i];
        let (spelling, _) = t.spelled(ty);
        if pattern_shape(pat) != t.expected_shape(ty) {
            fails.push(format!(
                "{what}: parameter {pname:?} ({spelling:?}) has pattern {}, expected {}",
                pattern_shape(pat),
                t.expected_shape(ty)
            ));
        }
        check_pieces(pat, &names, what, fails);
        let joined: String = strs(&ov["param_pieces"][i]).concat();
        let normalized = spelling.split_whitespace().collect::<Vec<_>>().join(" ");
        if joined != normalized {
            fails.push(format!("{what}: parameter {pname:?}'s pieces join to {joined:?}, not {normalized:?}"));
        }
        if ov["value_const"][i].as_bool() != Some(t.expected_value_const(ty)) {
            fails.push(format!("{what}: parameter {pname:?} ({spelling:?}): value_const {}", ov["value_const"][i]));
        }
    }
    if let Some((pack, _)) = &t.pack {
        let got = pattern_shape(&ov["patterns"][n - 1]);
        if got != format!("pack(name {pack:?})") {
            fails.push(format!("{what}: the pack parameter has pattern {got}"));
        }
    }
    let own: Vec<&str> = want_tparams.iter().map(String::as_str).collect();
    let specificity: u64 = t.params.iter().map(|(_, ty)| t.expected_specificity(ty, &own)).sum::<u64>()
        + u64::from(t.pack.as_ref().is_some_and(|(p, _)| !own.contains(&p.as_str())));
    if ov["specificity"].as_u64() != Some(specificity) {
        fails.push(format!("{what}: specificity {}, expected {specificity}", ov["specificity"]));
    }
    let stem = ov["shim"].as_str().unwrap_or("");
    if !stem.starts_with("__nbst_tpl_") || !is_cxx_identifier(stem) {
        fails.push(format!("{what}: shim stem {stem:?} is not a reserved C identifier"));
    }
    if !stems.insert(stem.to_string()) {
        fails.push(format!("{what}: shim stem {stem:?} names another overload's shims too"));
    }
}

fn check_templates(raws: &[RawTemplate]) -> Vec<String> {
    let mut fails = Vec::new();
    let (functions, classes) = template_declarations(raws);
    let req = json!({
        "context": {"known": {}, "unit_tag": "fuzz", "intents": {}, "skip_prefix": null, "skip_non_device": true, "exclude": []},
        "function_templates": functions.iter().map(|f| json!({"decl": f})).collect::<Vec<_>>(),
        "class_templates": classes.iter().map(|c| json!({"decl": c})).collect::<Vec<_>>(),
    });
    let rendered = match render(&req) {
        Ok(r) => r,
        Err(e) => return vec![e],
    };
    for skip in rendered.report["skipped"].as_array().into_iter().flatten() {
        if s(&skip["code"]).is_empty() && s(&skip["reason"]).is_empty() {
            fails.push(format!("a skipped template has no reason: {skip}"));
        }
    }
    let answer = ask(&json!({"op": "templates", "prelude": numbast_bindgen::PRELUDE, "codes": [rendered.code]}));
    bump("PY_TEXTS", 1);
    let r = &answer["results"][0];
    for key in ["parse_error", "exec_error"] {
        if let Some(e) = r.get(key) {
            fails.push(format!("templates: {key}: {e}\n{}", rendered.code));
            return fails;
        }
    }
    if !strs(&r["imports"]).is_empty() {
        fails.push(format!("templates: imports {:?}", r["imports"]));
    }
    let b = bound(&rendered.report);
    bump("BOUND", b.len());
    let want: BTreeSet<String> = b.iter().filter(|(_, _, p)| !p.is_empty()).map(|(_, _, p)| p.clone()).collect();
    for p in &want {
        check_py_name(p, "templates", &mut fails);
    }
    let assigned: BTreeSet<String> = strs(&r["assigned"]).into_iter().collect();
    if assigned != want {
        fails.push(format!("templates: assigns {assigned:?}, but binds {want:?}\n{}", rendered.code));
    }
    let mut stems = BTreeSet::new();
    // Each template's declaration is at line 10 * (its index + 1) (its constructor a line below).
    let by_location = |v: &Value| {
        let line: usize = s(&v["location"]).split(':').nth(1).and_then(|l| l.parse().ok()).unwrap_or(0);
        (line / 10).checked_sub(1).and_then(|i| raws.get(i))
    };
    for call in r["calls"].as_array().into_iter().flatten() {
        let kw = &call["kwargs"];
        match s(&call["kind"]) {
            "function_template" => {
                for ov in kw["overloads"].as_array().into_iter().flatten() {
                    match by_location(ov) {
                        Some(t) => check_overload(
                            t,
                            ov,
                            false,
                            &format!("function template {:?}", t.name),
                            &mut stems,
                            &mut fails,
                        ),
                        None => fails.push(format!("an overload of an undeclared template at {}", ov["location"])),
                    }
                }
            }
            "class_template" => {
                let Some(t) = by_location(kw) else {
                    fails.push(format!("a class template never declared, at {}", kw["location"]));
                    continue;
                };
                let what = format!("class template {:?}", t.name);
                for ov in kw["constructors"].as_array().into_iter().flatten() {
                    check_overload(t, ov, true, &format!("{what}'s constructor"), &mut stems, &mut fails);
                }
                let want_fields: Vec<&(String, TplTy)> =
                    t.params.iter().filter(|(_, ty)| matches!(ty.wrap, TplWrap::None)).collect();
                let got = kw["fields"].as_array().cloned().unwrap_or_default();
                if got.len() != want_fields.len() {
                    fails.push(format!("{what}: {} fields rendered of {}", got.len(), want_fields.len()));
                }
                for (f, (name, ty)) in got.iter().zip(want_fields) {
                    if s(&f[0]) != name || pattern_shape(&f[2]) != t.expected_shape(ty) {
                        fails.push(format!(
                            "{what}: field {:?} with pattern {}, declared {name:?} of pattern {}",
                            s(&f[0]),
                            pattern_shape(&f[2]),
                            t.expected_shape(ty)
                        ));
                    }
                }
            }
            other => fails.push(format!("templates: an unexpected template runtime call {other}")),
        }
    }
    fails
}

#[test]
fn fuzz_render_templates() {
    let start = Instant::now();
    let config = RunnerConfig { cases: cases(), failure_persistence: None, ..RunnerConfig::default() };
    let mut runner = TestRunner::new(config);
    let result = runner.run(&prop::collection::vec(template_strategy(false), 1..5), |raws| {
        bump("MODELS", 1);
        let fails = check_templates(&raws);
        if fails.is_empty() {
            Ok(())
        } else {
            Err(TestCaseError::fail(fails.join("\n")))
        }
    });
    if let Err(e) = result {
        panic!("renderer fuzz (templates) failed: {e}");
    }
    summary(start);
}

#[test]
fn templates_with_reserved_looking_names_render() {
    // `ret`, `self` and the shim's own parameter names as a template's, its parameters' and its
    // template parameters' names.
    let ty = |core, wrap| TplTy { core, konst: false, ptrs: 0, wrap };
    let raws = vec![
        RawTemplate {
            class: false,
            name: "ret".into(),
            tparams: vec![
                RawTplParam { name: "self".into(), non_type: false, default: None },
                RawTplParam { name: "a0".into(), non_type: true, default: Some("4".into()) },
            ],
            pack: Some(("Ts".into(), "rest".into())),
            params: vec![
                ("self".into(), ty(Ok(0), TplWrap::Ref { rvalue: false })),
                ("ret".into(), ty(Ok(0), TplWrap::ArrayRef(Err(0)))),
            ],
            ret: ty(Ok(0), TplWrap::None),
        },
        RawTemplate {
            class: true,
            name: "self".into(),
            tparams: vec![RawTplParam { name: "ret".into(), non_type: false, default: Some("int".into()) }],
            pack: None,
            params: vec![
                ("__nbst_ret".into(), ty(Ok(0), TplWrap::None)),
                ("v".into(), ty(Err("float"), TplWrap::None)),
            ],
            ret: ty(Ok(0), TplWrap::None),
        },
    ];
    assert_templates_render(&raws);
}

#[test]
fn template_parameter_names_beyond_ascii_are_whole_names() {
    // Found by `fuzz_render_templates`: class template `k` whose parameter `\u{e000}k` was read as
    // the class's own name after a delimiter, and so marked as a reference to the class.
    let tparams = vec![RawTplParam { name: "\u{e000}k".into(), non_type: false, default: None }];
    let raws = vec![one_param(true, "k", tparams, "False", TplWrap::None)];
    assert_templates_render(&raws);
}

#[test]
fn an_extent_naming_a_template_parameter_is_never_a_count() {
    // Found by `fuzz_render_templates`: `T (&)[0]` whose extent is a non-type template parameter
    // named `0` was given the element count 0, as if the extent were the literal.
    let tparams = vec![
        RawTplParam { name: "T".into(), non_type: false, default: None },
        RawTplParam { name: "0".into(), non_type: true, default: None },
    ];
    let raws = vec![one_param(false, "f", tparams, "a", TplWrap::ArrayRef(Err(0)))];
    assert_templates_render(&raws);
}

/// Fails with every finding of `check_templates` on `raws`.
fn assert_templates_render(raws: &[RawTemplate]) {
    let fails = check_templates(raws);
    assert!(fails.is_empty(), "{}", fails.join("\n"));
}

/// A template whose one parameter `param` is its first template parameter wrapped in `wrap`, as is
/// its return type.
fn one_param(class: bool, name: &str, tparams: Vec<RawTplParam>, param: &str, wrap: TplWrap) -> RawTemplate {
    RawTemplate {
        class,
        name: name.into(),
        tparams,
        pack: None,
        params: vec![(param.into(), TplTy { core: Ok(0), konst: false, ptrs: 0, wrap })],
        ret: TplTy { core: Ok(0), konst: false, ptrs: 0, wrap: TplWrap::None },
    }
}
