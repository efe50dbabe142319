"""Robustness: outside text reaches generated code only as inert data; bad input fails with an
error that names the problem and its place; generation writes its files atomically.

Outside text reaches a generated module (or its shims) through the config (Name, Version, Output
Name, Additional Import, Predefined Macros, Shim Include Override, Module Callbacks, API Prefix
Removal), through file paths, and through the C++ names of the header (namespaces, functions,
structs, fields, enum members, typedefs). For each, a hostile value either gets a config error
naming the key, or ends up in the module only as data: the module parses, its code (string
constants removed) does not contain the value, it imports and registers, and a canary file that the
value tries to create never appears.

Already covered elsewhere and not repeated here: a missing or directory source, malformed compute
capabilities and a missing libclang for `parse_declarations_from_source` (test_canopy_errors.py);
YAML syntax errors, unknown keys, wrong types, an empty File List, a missing Entry Point and an
output folder under a file (test_static.py); parallel parses (test_canopy_threads.py); identical
output for identical inputs and from another folder (test_static.py); renderer properties for
arbitrary names (test_fuzz_render.py); YAML tags (crates/bindgen/src/config.rs).
"""

from __future__ import annotations

import ast
import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import ast_canopy
import pytest
from ast_canopy import ParseError

TESTS = Path(__file__).resolve().parent
# The CUDA headers the parser uses (pip wheels here, a toolkit's include folder elsewhere).
_TOOLCHAIN = ast_canopy.toolchain_info()
CUDA_INCLUDE = Path(_TOOLCHAIN["cuda_include"])
CUDA_EXTRA_INCLUDES = [Path(d) for d in _TOOLCHAIN["cuda_extra_includes"].split(os.pathsep) if d]

LIB = """#pragma once
__device__ inline int twice(int x) { return 2 * x; }
"""


# ----------------------------------------------------------------------------- helpers


def numbast(*args, cwd=None, env=None) -> subprocess.CompletedProcess:
    """`python -m numbast ARGS`, its output captured."""
    return subprocess.run([sys.executable, "-m", "numbast", *map(str, args)], cwd=cwd, env=env, capture_output=True, text=True)


def yaml_str(s: str) -> str:
    """`s` as a YAML double-quoted scalar (a JSON string is one: every character survives)."""
    return json.dumps(s)


def project(root: Path, extra: str = "", header: str = LIB, name: str | None = "m", header_dir: str = "include") -> Path:
    """`root/<header_dir>/lib.cuh` and `root/cfg.yml` with the `extra` keys; returns the config."""
    inc = root / header_dir
    inc.mkdir(parents=True, exist_ok=True)
    (inc / "lib.cuh").write_text(header)
    path = yaml_str(str(inc / "lib.cuh"))
    cfg = root / "cfg.yml"
    out_name = f"Output Name: {name}\n" if name is not None else ""
    cfg.write_text(f"Entry Point: {path}\nFile List: [{path}]\nGPU Arch: [sm_80]\n{out_name}{extra}")
    return cfg


def generate_or_refuse(cfg: Path, out: Path, key: str, refused: bool):
    """The module generated from `cfg` when the input is to be accepted (`refused` false), or None
    when it is to be refused as bad usage (exit code 2) naming the config key `key` and writing no
    module. Each case decides which, so a change of policy fails the test either way."""
    r = numbast("generate", cfg, "-o", out, "-q")
    if refused:
        assert r.returncode == 2, (r.returncode, r.stdout, r.stderr)
        assert f"`{key}`" in r.stderr, r.stderr
        assert not out.is_dir() or not list(out.glob("*.py"))
        return None
    assert r.returncode == 0, r.stderr
    (module,) = sorted(out.glob("*.py"))
    return module


def generate_ok(cfg: Path, out: Path, *args) -> Path:
    r = numbast("generate", cfg, "-o", out, "-q", *args)
    assert r.returncode == 0, r.stderr
    modules = sorted(out.glob("*.py"))
    assert len(modules) == 1, modules
    return modules[0]


def config_error(cfg: Path, out: Path) -> str:
    """Generation must fail as bad usage (exit code 2) without writing a module; returns stderr."""
    r = numbast("generate", cfg, "-o", out, "-q")
    assert r.returncode == 2, (r.returncode, r.stdout, r.stderr)
    if out.is_dir():
        assert not list(out.glob("*.py"))
    return r.stderr


def code_without_strings(source: str) -> str:
    """The module's code with every string constant (docstrings included) emptied and comments
    dropped: what remains is what would run."""

    class Blank(ast.NodeTransformer):
        def visit_Constant(self, node):
            return ast.Constant("") if isinstance(node.value, str) else node

    return ast.unparse(Blank().visit(ast.parse(source)))


# Imports a generated module in a fresh interpreter, registers it, optionally links a kernel, and
# prints what the test checks.
LOAD = r"""
import importlib.util, json, sys
path, kernel_src = sys.argv[1], sys.argv[2]
spec = importlib.util.spec_from_file_location("gen_" + str(abs(hash(path))), path)
m = importlib.util.module_from_spec(spec)
sys.modules[spec.name] = m
spec.loader.exec_module(m)
m.install()
linked = None
if kernel_src:
    from numba.cuda import types
    from numbast.testing import link_kernel
    ns = {"m": m, "types": types}
    exec(kernel_src, ns)
    linked = len(link_kernel(ns["kernel"], (types.int32[:], types.int32[:])).cubin) > 0
enums = {n: list(getattr(m, n).__members__) for n in m.__all__ if hasattr(getattr(m, n), "__members__")}
print(json.dumps({"all": list(m.__all__), "doc": m.__doc__, "version": getattr(m, "__version__", None),
                  "preamble": m._NB_SHIM_PREAMBLE, "linked": linked, "enums": enums}))
"""


def load(module: Path, kernel: str = "") -> dict:
    """Imports and registers `module` in a subprocess (linking `kernel`, the source of a function
    `kernel(out, a)` over int32 arrays, if given); returns what it saw."""
    r = subprocess.run([sys.executable, "-c", LOAD, str(module), textwrap.dedent(kernel)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-3000:]
    return json.loads(r.stdout.strip().splitlines()[-1])


def assert_inert(module: Path, marker: str, canary: Path) -> dict:
    """`module` parses and compiles, `marker` is not in its code (only in strings or comments), its
    stub compiles, it imports and registers, and `canary` was not created. Returns `load`'s view."""
    source = module.read_text()
    compile(source, str(module), "exec")
    compile(module.with_suffix(".pyi").read_text(), str(module.with_suffix(".pyi")), "exec")
    assert marker not in code_without_strings(source)
    seen = load(module)
    assert not canary.exists(), "outside text ran as code"
    for name in seen["all"]:
        assert name.isidentifier(), name
    return seen


def payloads(canary: Path) -> list[str]:
    """Hostile texts: each tries to end a string or line and run code that creates `canary`. All
    carry the marker `PWNED`."""
    call = f"__import__('os').system('touch {canary}')  # PWNED"
    return [
        f'x"""\n{call}\n"""',
        f"x'''\n{call}\n'''",
        f'x"\n{call}\n#',
        f"x\\\n{call}",
        f"x\r{call}",
        f"# {call}",
        f"import os; os.system('touch {canary}')  # PWNED",
        f'PWNED\\" + {call} + \\"',
    ]


@pytest.fixture
def canary(tmp_path) -> Path:
    return tmp_path / "canary"


# ----------------------------------------------------------------------------- 1. config strings


@pytest.mark.parametrize("index", range(8))
def test_name_and_version_are_data(tmp_path, canary, index):
    value = payloads(canary)[index]
    cfg = project(tmp_path / "p", f"Name: {yaml_str(value)}\nVersion: {yaml_str(value)}\n")
    seen = assert_inert(generate_ok(cfg, tmp_path / "out"), "PWNED", canary)
    assert seen["version"] == value
    assert "PWNED" in seen["doc"]


@pytest.mark.parametrize("value", ["café", "line\u2028separator"])
def test_non_ascii_name(tmp_path, canary, value):
    cfg = project(tmp_path / "p", f"Name: {yaml_str(value)}\n")
    assert_inert(generate_ok(cfg, tmp_path / "out"), "PWNED", canary)


@pytest.mark.parametrize("value", ['x"; import os #', "../escaped", "a\nb", "None", "install", "", "é", "sys"])
def test_output_name_is_an_identifier_in_the_output_folder(tmp_path, canary, value):
    cfg = project(tmp_path / "p", name=yaml_str(value))
    out = tmp_path / "out"
    module = generate_ok(cfg, out)
    assert module.parent == out and module.stem.isidentifier()
    assert sorted(p.name for p in out.iterdir()) == [module.name, module.stem + ".pyi"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "p"]  # nothing written elsewhere
    assert_inert(module, "PWNED", canary)


@pytest.mark.parametrize(
    "value",
    [
        "import os; os.system('x')",
        "import os\nimport sys",
        "import os # comment",
        "import os\\",
        "from os import (system)",
        "__import__('os')",
        "import os\rimport sys",
        "from . import x",
        "",
    ],
)
def test_additional_import_must_be_one_import_statement(tmp_path, value):
    cfg = project(tmp_path / "p", f"Additional Import: [{yaml_str(value)}]\n")
    err = config_error(cfg, tmp_path / "out")
    assert "`Additional Import`: " in err and "is not a dotted module name nor a single import statement" in err, err


@pytest.mark.parametrize("value", ["import os,", "import os as", "from __future__ import annotations"])
def test_additional_import_that_python_rejects_is_a_config_error(tmp_path, value):
    cfg = project(tmp_path / "p", f"Additional Import: [{yaml_str(value)}]\n")
    config_error(cfg, tmp_path / "out")


def test_additional_import_is_written_and_runs(tmp_path):
    cfg = project(tmp_path / "p", "Additional Import: ['import json as _extra_json', 'from os import path as _extra_path']\n")
    module = generate_ok(cfg, tmp_path / "out")
    assert "\nimport json as _extra_json\nfrom os import path as _extra_path\n" in module.read_text()
    load(module)


# One-line values are `module:function` or a Python expression, checked when the module registers
# (tests/test_configs_compat.py); a value over several lines is refused at generation.
@pytest.mark.parametrize("value", ["os:system\nimport", "lambda x:\n x", "os\r:f"])
def test_module_callbacks_over_several_lines_are_refused(tmp_path, value):
    cfg = project(tmp_path / "p", f"Module Callbacks: {{setup: {yaml_str(value)}}}\n")
    err = config_error(cfg, tmp_path / "out")
    assert "`Module Callbacks`: " in err and "is not `module:function` nor a Python expression on one line" in err, err


@pytest.mark.parametrize("value", ["A=1\nimport os", "A B=1", "=1", "A;B", 'A"=1', "A\r=1"])
def test_predefined_macro_names_and_lines_are_checked(tmp_path, value):
    cfg = project(tmp_path / "p", f"Predefined Macros: [{yaml_str(value)}]\n")
    err = config_error(cfg, tmp_path / "out")
    assert "`Predefined Macros`: " in err and "is not NAME or NAME=VALUE on one line" in err, err


def test_predefined_macro_values_are_data_in_the_module(tmp_path, canary):
    value = f'PWNED_VALUE=""" + __import__(\'os\').system(\'touch {canary}\') + """'
    cfg = project(tmp_path / "p", f"Predefined Macros: [{yaml_str(value)}]\n")
    seen = assert_inert(generate_ok(cfg, tmp_path / "out"), "PWNED", canary)
    assert seen["preamble"].startswith(f"#define PWNED_VALUE {value.split('=', 1)[1]}\n#include ")


def test_predefined_macro_value_ending_in_backslash(tmp_path):
    # Refused: the `#define` would continue onto the shims' next line.
    cfg = project(tmp_path / "p", f"Predefined Macros: [{yaml_str('A=1' + chr(92))}]\n")
    generate_or_refuse(cfg, tmp_path / "out", "Predefined Macros", refused=True)


@pytest.mark.parametrize("index", range(8))
def test_shim_include_override_is_data_in_the_module(tmp_path, canary, index):
    value = f'#include "{tmp_path / "p" / "include" / "lib.cuh"}"\n{payloads(canary)[index]}\n'
    cfg = project(tmp_path / "p", f"Shim Include Override: {yaml_str(value)}\n")
    # Control characters and line continuations (a line ending in `\`) are refused; any other text
    # is C++ by design.
    payload = payloads(canary)[index]
    refused = "\r" in payload or any(line.rstrip().endswith("\\") for line in payload.splitlines())
    module = generate_or_refuse(cfg, tmp_path / "out", "Shim Include Override", refused)
    if refused:
        return
    seen = assert_inert(module, "PWNED", canary)
    assert seen["preamble"] == value  # reaches the shims as written: it is C++ by design


def test_shim_include_override_with_nul(tmp_path, canary):
    value = f'#include "{tmp_path / "p" / "include" / "lib.cuh"}"\n// \0\n'
    cfg = project(tmp_path / "p", f"Shim Include Override: {yaml_str(value)}\n")
    generate_or_refuse(cfg, tmp_path / "out", "Shim Include Override", refused=True)  # a control character
    assert not canary.exists()


PREFIXED = """#pragma once
__device__ inline int nv_None(int x) { return x + 1; }
__device__ inline int nv_install(int x) { return x + 2; }
__device__ inline int nv__b(int x) { return x + 3; }
__device__ inline int nv_lambda(int x) { return x + 4; }
__device__ inline int nv_(int x) { return x + 5; }
struct nv_types { int a; __device__ nv_types(int x) : a(x) {} };
enum class nv_E { E_mro, E_ok, E_value };
__device__ inline int nv_pick(nv_E e, nv_types t) { return (int)e + t.a; }
"""


def test_api_prefix_removal_gives_identifiers(tmp_path, canary):
    prefixes = yaml_str('"""') + ", " + yaml_str("\n") + ", nv_, E_"
    cfg = project(
        tmp_path / "p",
        f"API Prefix Removal:\n  Function: [{prefixes}]\n  Struct: [{prefixes}]\n  Enum: [{prefixes}]\n",
        header=PREFIXED,
    )
    module = generate_ok(cfg, tmp_path / "out")
    kernel = """
    def kernel(out, a):
        out[0] = m.None_(a[0]) + m.install_(a[0]) + m._b_(a[0]) + m.lambda_(a[0]) + m.nv_(a[0])
        out[1] = m.pick(m.E.mro_, m.types_(a[0]))
    """
    assert_inert(module, "PWNED", canary)
    seen = load(module, kernel)
    assert {"None_", "install_", "_b_", "lambda_", "nv_", "types_", "E", "pick"} <= set(seen["all"])
    assert seen["enums"]["E"] == ["mro_", "ok", "value"]  # `enum` refuses a member named `mro`
    assert seen["linked"]


# ----------------------------------------------------------------------------- 2. file paths


@pytest.mark.parametrize("dirname", ['q"uote', "it's", "back\\slash", "hash#", "new\nline", 'x"""\nimport os #'])
def test_header_folder_names_are_data_in_the_module(tmp_path, canary, dirname):
    cfg = project(tmp_path / "p", header_dir=dirname + "PWNED")
    refused = '"' in dirname or "\n" in dirname  # a path that an #include line cannot hold
    module = generate_or_refuse(cfg, tmp_path / "out", "Entry Point", refused)
    if refused:
        assert not canary.exists()
        return
    assert_inert(module, "PWNED", canary)


@pytest.mark.parametrize("dirname", ["it's", "back\\slash", "hash#", "sp ace", "café"])
def test_header_folder_names_reach_the_shims(tmp_path, dirname):
    cfg = project(tmp_path / "p", header_dir=dirname)
    module = generate_ok(cfg, tmp_path / "out")
    assert load(module, "def kernel(out, a):\n    out[0] = m.twice(a[0])\n")["linked"]


@pytest.mark.parametrize("dirname", ['q"uote', "new\n#error INJECTED\n"])
def test_header_folder_that_an_include_cannot_spell(tmp_path, dirname):
    cfg = project(tmp_path / "p", header_dir=dirname)
    generate_or_refuse(cfg, tmp_path / "out", "Entry Point", refused=True)


@pytest.mark.parametrize("dirname", ['c"fg\nPWNED', "c'fg#PWNED"])
def test_config_and_output_folder_names_are_data(tmp_path, canary, dirname):
    root = tmp_path / dirname
    cfg = project(root, "Clang Include Paths: [include]\n")
    refused = '"' in dirname or "\n" in dirname  # the header's folder: an #include cannot spell it
    module = generate_or_refuse(cfg, root / ('o"ut\n' + dirname), "Entry Point", refused)
    if refused:
        assert not canary.exists()
        return
    assert_inert(module, "PWNED", canary)


# ----------------------------------------------------------------------------- 3. C++ names

NAMES = r"""#pragma once
namespace None { __device__ inline int in_none(int x) { return x + 1; } }
namespace lambda { namespace _b { __device__ inline int deep(int x) { return x + 2; } } }
__device__ inline int _b(int x) { return x + 3; }
__device__ inline int install(int x) { return x + 4; }
__device__ inline int __getattr__(int x) { return x + 5; }
__device__ inline int __dir__(int x) { return x + 6; }
__device__ inline int _nb_register(int x) { return x + 7; }
__device__ inline int types(int x) { return x + 8; }
__device__ inline int sys(int x) { return x + 9; }
__device__ inline int __all__(int x) { return x + 10; }
__device__ inline int _unit(int x) { return x + 11; }
__device__ inline int typing_registry(int x) { return x + 13; }
struct __name__ { int None; int mro; int _b; __device__ __name__() : None(1), mro(2), _b(3) {} };
__device__ inline int use_struct(__name__ s) { return s.None + s.mro + s._b; }
enum class Keywords { None, mro, _b, _sunder_, __dunder__, name, value, lambda, _Keywords__private };
__device__ inline int use_enum(Keywords k) { return (int)k; }
typedef __name__ install_t;
typedef __name__ _nb_state;
typedef Keywords __spec__;
"""

NAMES_KERNEL = """
def kernel(out, a):
    x = a[0]
    out[0] = (m.in_none(x) + m.deep(x) + m._b_(x) + m.install_(x) + m.__getattr___(x) + m.__dir___(x)
              + m._nb_register_(x) + m.types_(x) + m.sys(x) + m.__all___(x) + m._unit_(x)
              + m.typing_registry_(x))
    out[1] = m.use_enum(m.Keywords.mro_) + m.use_enum(m.Keywords._sunder__) + m.use_enum(m.Keywords.__dunder___)
    out[2] = m.use_struct(m.__name___())
"""

NAMES_ENUM = ["None", "mro_", "_b", "_sunder__", "__dunder___", "name", "value", "lambda", "_Keywords__private__"]


def test_cxx_names_from_a_header_static(tmp_path, canary):
    cfg = project(tmp_path / "p", header=NAMES)
    module = generate_ok(cfg, tmp_path / "out")
    assert_inert(module, "PWNED", canary)
    seen = load(module, NAMES_KERNEL)
    assert seen["linked"]
    assert seen["enums"]["Keywords"] == NAMES_ENUM
    assert {"__getattr___", "__dir___", "install_t", "_nb_state_", "__spec___", "_nb_register_"} <= set(seen["all"])


def test_stub_lists_the_enum_members_the_module_has(tmp_path):
    cfg = project(tmp_path / "p", header=NAMES)
    module = generate_ok(cfg, tmp_path / "out")
    stub = ast.parse(module.with_suffix(".pyi").read_text())
    (keywords,) = [n for n in stub.body if isinstance(n, ast.ClassDef) and n.name == "Keywords"]
    in_stub = [t.id for n in keywords.body if isinstance(n, ast.Assign) for t in n.targets]
    assert set(in_stub) <= set(NAMES_ENUM), set(in_stub) - set(NAMES_ENUM)


def test_cxx_names_from_a_header_dynamic(tmp_path):
    import warnings

    import numbast
    from numba.cuda import types
    from numbast.testing import link_kernel

    header = tmp_path / "names.cuh"
    header.write_text(NAMES)
    decls = ast_canopy.parse_declarations_from_source(header, [header], "sm_80")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", numbast.NumbastSkipWarning)
        writer = numbast.MemoryShimWriter(f'#include "{header}"')
        (keywords,) = numbast.bind_cxx_enums([e for e in decls.enums if e.name == "Keywords"])
        structs = numbast.bind_cxx_structs(writer, decls.structs)
        functions = {f.__name__: f for f in numbast.bind_cxx_functions(writer, decls.functions)}
    assert list(keywords.__members__) == NAMES_ENUM
    assert [s.__name__ for s in structs] == ["__name___"]
    assert {"__getattr___", "_b_", "install_", "in_none"} <= set(functions)
    getattr_fn, use_enum, mro = functions["__getattr___"], functions["use_enum"], keywords.mro_

    def kernel(out, a):
        out[0] = getattr_fn(a[0]) + use_enum(mro)

    assert link_kernel(kernel, (types.int32[:], types.int32[:])).cubin


PADDING_NAMES = """#pragma once
struct alignas(16) Aligned { int _align; int y; };
__device__ inline Aligned make_aligned(int v) { Aligned a; a._align = v; a.y = 2 * v; return a; }
struct Gap { char c; alignas(8) int _pad8; };
__device__ inline Gap make_gap(int v) { Gap g; g.c = 1; g._pad8 = v; return g; }
"""


def test_field_names_that_the_runtime_uses_for_padding(tmp_path):
    import warnings

    import numbast
    from numba.cuda import types
    from numbast.testing import link_kernel

    header = tmp_path / "pad.cuh"
    header.write_text(PADDING_NAMES)
    decls = ast_canopy.parse_declarations_from_source(header, [header], "sm_80")
    writer = numbast.MemoryShimWriter(f'#include "{header}"')
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", numbast.NumbastSkipWarning)
        numbast.bind_cxx_structs(writer, decls.structs)
        fs = {f.__name__: f for f in numbast.bind_cxx_functions(writer, decls.functions)}
    make_aligned, make_gap = fs["make_aligned"], fs["make_gap"]

    def kernel(out, a):
        out[0] = make_aligned(a[0])._align
        out[1] = make_gap(a[0])._pad8

    assert link_kernel(kernel, (types.int32[:], types.int32[:])).cubin


def test_dynamic_option_tables_are_checked(tmp_path):
    import warnings

    import numbast
    from numba.cuda import types

    header = tmp_path / "opt.cuh"
    header.write_text(
        "#pragma once\nstruct Opt { int a; };\n__device__ inline int f(int x) { return x; }\n__device__ inline int g(int x) { return x; }\n"
    )
    decls = ast_canopy.parse_declarations_from_source(header, [header], "sm_80")
    writer = numbast.MemoryShimWriter(f'#include "{header}"')
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", numbast.NumbastSkipWarning)
        numbast.bind_cxx_struct(writer, decls.structs[0], aliases=["OptAlias"])  # a list: this struct's aliases
        numbast.bind_cxx_structs(writer, decls.structs, aliases={"Opt": "OptOther"})  # one alias, not 8 letters
        for argument, value in (("parent_types", [types.Number]), ("data_models", "StructModel"), ("aliases", ["x"]), ("names", "n")):
            with pytest.raises(TypeError, match=f"^{argument} must be a dict keyed by struct name, such as "):
                numbast.bind_cxx_structs(writer, decls.structs, **{argument: value})
        bound = numbast.bind_cxx_functions(writer, decls.functions, exclude="f")  # one name, not its letters
        with pytest.raises(TypeError, match=r"^skip_prefix must be a str"):
            numbast.bind_cxx_functions(writer, decls.functions, skip_prefix=["f"])
    assert [b.__name__ for b in bound] == ["g"]
    report = numbast.binding_report()
    aliases = {b.name for b in report.bound if b.kind == "alias"}
    assert {"OptAlias", "OptOther"} <= aliases and not {"O", "p", "t"} & aliases


NON_ASCII = """#pragma once
struct caf\u00e9 { int x; };
struct caf\u00e9_bits { int x : 3; };
__device__ inline int takes_bits(caf\u00e9_bits c) { return 0; }
enum class \u00e9tat { d\u00e9but, fin };
"""


def test_non_ascii_cxx_names(tmp_path, canary):
    """C++ allows non-ASCII identifiers (NVRTC refuses them in device function names, so there are
    none here): the Python names escape them, and a bit-field struct whose name ends in a non-ASCII
    character is bound opaque, not a panic."""
    cfg = project(tmp_path / "p", header=NON_ASCII)
    report = tmp_path / "report.json"
    module = generate_ok(cfg, tmp_path / "out", "--report", report)
    seen = assert_inert(module, "PWNED", canary)
    assert {"caf_u00e9", "_u00e9tat"} <= set(seen["all"])
    assert seen["enums"]["_u00e9tat"] == ["d\u00e9but", "fin"]
    r = json.loads(report.read_text())
    # A bit-field struct is bound opaque (its name escaped in Python), so functions taking it bind.
    notes = {b["name"]: b.get("note", "") for b in r["bound"]}
    assert notes["caf\u00e9_bits"] == "opaque: field `x` is a bit-field or has no known offset", notes
    assert "takes_bits" in notes and not r["skipped"], r["skipped"]


def test_dynamic_names_and_aliases_are_data(tmp_path, canary):
    import warnings

    import numbast

    header = tmp_path / "s.cuh"
    header.write_text("#pragma once\nstruct S { int a; };\n__device__ inline int f(int x) { return x; }\n")
    decls = ast_canopy.parse_declarations_from_source(header, [header], "sm_80")
    hostile = payloads(canary)
    writer = numbast.MemoryShimWriter(f'#include "{header}"')
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", numbast.NumbastSkipWarning)
        s = numbast.bind_cxx_struct(writer, decls.structs[0], name=hostile[0], aliases={"S": hostile})
        numbast.bind_cxx_function(writer, decls.functions[0], arg_intent={h: {h: "in"} for h in hostile})
    assert s.__name__.isidentifier()
    assert not canary.exists()


# ----------------------------------------------------------------------------- 4. bad input: sources


def _run_without_root_privileges(code: str, cwd: Path) -> subprocess.CompletedProcess:
    """Runs `code` in a Python child that file permissions apply to: as is for a normal user; for
    root, with the capabilities that bypass them dropped (setpriv)."""
    cmd = [sys.executable, "-c", code]
    if os.geteuid() == 0:
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            pytest.skip("running as root without setpriv: permissions cannot be enforced")
        drop = "-dac_override,-dac_read_search"
        cmd = [setpriv, f"--inh-caps={drop}", f"--bounding-set={drop}", *cmd]
    r = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    if "setpriv:" in r.stderr:
        pytest.skip(f"setpriv cannot drop capabilities here: {r.stderr.strip()}")
    return r


def test_unreadable_source(tmp_path):
    header = tmp_path / "secret.cuh"
    header.write_text(LIB)
    header.chmod(0)
    code = (
        "import ast_canopy, os, sys\n"
        "assert not os.access('secret.cuh', os.R_OK), 'permissions are not enforced'\n"
        "try:\n"
        "    ast_canopy.parse_declarations_from_source('secret.cuh', ['secret.cuh'], 'sm_80')\n"
        "except OSError as e:\n"
        "    print(type(e).__name__, e); sys.exit(0)\n"
        "sys.exit('no error')\n"
    )
    r = _run_without_root_privileges(code, tmp_path)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "OSError secret.cuh: Permission denied (os error 13)"


def test_unreadable_entry_point_and_config(tmp_path):
    cfg = project(tmp_path / "p")
    (tmp_path / "p" / "include" / "lib.cuh").chmod(0)
    code = f"import sys; from numbast.__main__ import main; sys.exit(main(['generate', {str(cfg)!r}, '-o', 'out', '-q']))"
    r = _run_without_root_privileges(code, tmp_path)
    assert r.returncode == 1, (r.returncode, r.stderr)
    assert f"{tmp_path / 'p' / 'include' / 'lib.cuh'}: Permission denied" in r.stderr, r.stderr
    cfg.chmod(0)
    r = _run_without_root_privileges(code, tmp_path)
    assert r.returncode == 2, (r.returncode, r.stderr)
    assert f"{cfg}: cannot read the config: Permission denied" in r.stderr, r.stderr


def test_unwritable_output_folder(tmp_path):
    cfg = project(tmp_path / "p")
    out = tmp_path / "read_only"
    out.mkdir()
    out.chmod(0o555)
    code = f"import sys; from numbast.__main__ import main; sys.exit(main(['generate', {str(cfg)!r}, '-o', {str(out)!r}, '-q']))"
    r = _run_without_root_privileges(code, tmp_path)
    assert r.returncode == 2, (r.returncode, r.stderr)
    assert f"cannot write in the output folder {out}: " in r.stderr and "Permission denied" in r.stderr, r.stderr
    code = code.replace(repr(str(out)), repr(str(out / "sub")))
    r = _run_without_root_privileges(code, tmp_path)
    assert r.returncode == 2, (r.returncode, r.stderr)
    assert f"cannot create the output folder {out / 'sub'}: Permission denied" in r.stderr, r.stderr


def test_entry_point_that_is_a_directory(tmp_path):
    cfg = tmp_path / "cfg.yml"
    (tmp_path / "inc.cuh").mkdir()
    cfg.write_text("Entry Point: inc.cuh\nFile List: [inc.cuh]\nGPU Arch: [sm_80]\n")
    err = config_error(cfg, tmp_path / "out")
    assert f"{cfg}: `Entry Point`: {tmp_path / 'inc.cuh'} is not a file" in err, err


def test_empty_source(tmp_path):
    header = tmp_path / "empty.cuh"
    header.write_text("")
    decls = ast_canopy.parse_declarations_from_source(header, [header], "sm_80")
    assert decls.structs == decls.functions == decls.enums == decls.typedefs == decls.diagnostics == []
    cfg = project(tmp_path / "p", header="")
    r = numbast("generate", cfg, "-o", tmp_path / "out")
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines()[:2] == [
        f"wrote {tmp_path / 'out' / 'm.py'}: bound 0; skipped 0",
        "no declarations found in the File List",
    ], r.stdout
    assert load(tmp_path / "out" / "m.py")["all"] == []


def test_non_utf8_source(tmp_path):
    header = tmp_path / "latin1.cuh"
    # Latin-1 in a comment is fine; in an identifier it is an error with its place.
    header.write_bytes(b"// caf\xe9\n__device__ inline int f(int x) { return x; }\n__device__ inline int caf\xe9(int x);\n")
    with pytest.raises(ParseError) as info:
        ast_canopy.parse_declarations_from_source(header, [header], "sm_80")
    assert info.value.diagnostics == [f"{header}:3:26: source file is not valid UTF-8"], info.value.diagnostics
    decls = ast_canopy.parse_declarations_from_source(header, [header], "sm_80", bypass_parse_error=True)
    assert "f" in [f.name for f in decls.functions]
    cfg = project(tmp_path / "p")
    (tmp_path / "p" / "include" / "lib.cuh").write_bytes(header.read_bytes())
    r = numbast("generate", cfg, "-o", tmp_path / "out")
    assert r.returncode == 1 and "lib.cuh:3:26: source file is not valid UTF-8" in r.stderr, r.stderr


def test_non_utf8_source_path(tmp_path):
    name = os.fsdecode(b"caf\xe9.cuh")
    (tmp_path / name).write_text(LIB)
    decls = ast_canopy.parse_declarations_from_source(tmp_path / name, [tmp_path / name], "sm_80")
    assert [f.name for f in decls.functions] == ["twice"]


def test_symlink_loop_source(tmp_path):
    (tmp_path / "a.cuh").symlink_to(tmp_path / "b.cuh")
    (tmp_path / "b.cuh").symlink_to(tmp_path / "a.cuh")
    with pytest.raises(OSError, match="symbolic links") as info:
        ast_canopy.parse_declarations_from_source(tmp_path / "a.cuh", [tmp_path / "a.cuh"], "sm_80")
    assert not isinstance(info.value, FileNotFoundError)


def test_include_cycle(tmp_path):
    (tmp_path / "a.cuh").write_text('#include "b.cuh"\n__device__ int fa(int);\n')
    (tmp_path / "b.cuh").write_text('#include "a.cuh"\n__device__ int fb(int);\n')
    with pytest.raises(ParseError) as info:
        ast_canopy.parse_declarations_from_source(tmp_path / "a.cuh", [tmp_path / "a.cuh"], "sm_80")
    assert info.value.diagnostics == [f"{tmp_path / 'b.cuh'}:1:10: #include nested too deeply"], info.value.diagnostics


BIG = """
import json, os, resource, sys, time
os.environ["AST_CANOPY_NO_CACHE"] = "1"
import ast_canopy
from numbast.__main__ import main
header, cfg, out = sys.argv[1:4]
t0 = time.perf_counter()
decls = ast_canopy.parse_declarations_from_source(header, [header], "sm_80")
t1 = time.perf_counter()
rc = main(["generate", cfg, "-o", out, "-q"])
t2 = time.perf_counter()
source = open(os.path.join(out, "big.py")).read()
compile(source, "big.py", "exec")
t3 = time.perf_counter()
print(json.dumps({"functions": len(decls.functions), "rc": rc, "parse_s": t1 - t0, "generate_s": t2 - t1,
                  "compile_s": t3 - t2, "module_bytes": len(source),
                  "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def test_twenty_thousand_functions(tmp_path):
    n = 20_000
    lines = ["#pragma once"] + [f"__device__ inline int f{i}(int a, float b) {{ return a + (int)b + {i}; }}" for i in range(n)]
    header = tmp_path / "big.cuh"
    header.write_text("\n".join(lines) + "\n")
    cfg = tmp_path / "big.yml"
    cfg.write_text("Entry Point: big.cuh\nFile List: [big.cuh]\nGPU Arch: [sm_80]\n")
    r = subprocess.run([sys.executable, "-c", BIG, str(header), str(cfg), str(tmp_path / "out")], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-3000:]
    figures = json.loads(r.stdout.strip().splitlines()[-1])
    print(f"\n20,000-function header: {figures}")
    assert figures["functions"] == n and figures["rc"] == 0
    # Generous bounds (a shared 2-core machine): they catch a blow-up, not a slowdown.
    assert figures["parse_s"] + figures["generate_s"] < 120
    assert figures["peak_mib"] < 2048


# ----------------------------------------------------------------------------- 5. bad input: toolchain and arch


@pytest.mark.parametrize("arch", ["sm_8x", "sm_80x", "ampere", "sm_080", ""])
def test_malformed_gpu_arch_in_the_config(tmp_path, arch):
    cfg = project(tmp_path / "p")
    cfg.write_text(cfg.read_text().replace("GPU Arch: [sm_80]", f"GPU Arch: [sm_80, {yaml_str(arch)}]"))
    err = config_error(cfg, tmp_path / "out")
    assert re.search(rf"{re.escape(str(cfg))}:\d+:\d+: `GPU Arch`: malformed compute capability {re.escape(json.dumps(arch))}", err), err


def test_arch_newer_than_libclang_knows(tmp_path):
    header = TESTS / "headers" / "functions.cuh"
    with pytest.raises(ParseError) as info:
        ast_canopy.parse_declarations_from_source(header, [header], "sm_99")
    assert info.value.diagnostics[0] == "<command line>: unsupported CUDA gpu architecture: sm_99", info.value.diagnostics[:3]
    cfg = project(tmp_path / "p")
    cfg.write_text(cfg.read_text().replace("GPU Arch: [sm_80]", "GPU Arch: [sm_99]"))
    r = numbast("generate", cfg, "-o", tmp_path / "out")
    assert r.returncode == 1 and "unsupported CUDA gpu architecture: sm_99" in r.stderr, r.stderr


def test_cuda_newer_than_libclang_knows(tmp_path):
    """A CUDA whose `CUDA_VERSION` clang has never heard of still parses (clang's warning about it
    is turned off), and toolchain discovery reports the version."""
    fake = tmp_path / "cuda" / "include"
    fake.mkdir(parents=True)
    for entry in CUDA_INCLUDE.iterdir():
        if entry.name != "cuda.h":
            (fake / entry.name).symlink_to(entry)
    text = (CUDA_INCLUDE / "cuda.h").read_text()
    assert re.search(r"#define CUDA_VERSION \d+", text)
    (fake / "cuda.h").write_text(re.sub(r"#define CUDA_VERSION \d+", "#define CUDA_VERSION 99010", text))
    dirs = [str(fake)] + [str(fake / d.relative_to(CUDA_INCLUDE)) for d in CUDA_EXTRA_INCLUDES]
    header = TESTS / "headers" / "functions.cuh"
    decls = ast_canopy.parse_declarations_from_source(header, [header], "sm_90", cudatoolkit_include_dirs=dirs)
    assert decls.functions and not decls.diagnostics
    from ast_canopy import _core
    from ast_canopy._toolchain import search_dirs

    assert _core.toolchain_info(search_dirs(), dirs)["cuda_version"] == "99010"


def test_missing_libclang_when_generating(tmp_path):
    cfg = project(tmp_path / "p")
    env = dict(os.environ, AST_CANOPY_LIBCLANG=str(tmp_path / "nowhere"), AST_CANOPY_NO_CACHE="1")
    r = numbast("generate", cfg, "-o", tmp_path / "out", env=env)
    assert r.returncode == 1, r.stderr
    assert f"AST_CANOPY_LIBCLANG={tmp_path / 'nowhere'} names no libclang shared library" in r.stderr, r.stderr
    assert "pip install 'libclang-ng" in r.stderr


@pytest.fixture(scope="module")
def old_libclang(tmp_path_factory) -> Path:
    """A shared library that looks like libclang 12 to clang-sys: it has that version's newest
    function and none of libclang 16's."""
    cc = shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")
    if cc is None:
        pytest.skip("no C compiler to build a stand-in for an old libclang")
    d = tmp_path_factory.mktemp("old_libclang")
    (d / "old.c").write_text("void clang_Cursor_getVarDeclInitializer(void) {}\nvoid clang_Type_getValueType(void) {}\n")
    r = subprocess.run([cc, "-shared", "-fPIC", "-o", str(d / "libclang.so"), str(d / "old.c")], capture_output=True, text=True)
    if r.returncode != 0:
        pytest.skip(f"cannot build a shared library: {r.stderr}")
    return d / "libclang.so"


def test_libclang_too_old(tmp_path, old_libclang):
    header = TESTS / "headers" / "functions.cuh"
    resource_dir = ast_canopy.toolchain_info()["resource_dir"]
    env = dict(os.environ, AST_CANOPY_LIBCLANG=str(old_libclang), AST_CANOPY_RESOURCE_DIR=resource_dir, AST_CANOPY_NO_CACHE="1")
    code = (
        "import ast_canopy, sys\n"
        f"h = {str(header)!r}\n"
        "try:\n"
        "    ast_canopy.parse_declarations_from_source(h, [h], 'sm_80')\n"
        "except ast_canopy.ToolchainError as e:\n"
        "    print(e); sys.exit(0)\n"
        "sys.exit('no ToolchainError')\n"
    )
    r = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    expected = f"libclang at {old_libclang} is too old (V12_0); version 16 or newer is needed"
    assert r.stdout.startswith(expected), r.stdout
    r = numbast("generate", project(tmp_path / "p"), "-o", tmp_path / "out", env=env)
    assert r.returncode == 1 and expected in r.stderr, r.stderr


# ----------------------------------------------------------------------------- 6. bad input: config


@pytest.mark.parametrize(
    "text, expected",
    [
        ("", "the config is empty; `Entry Point`, `File List` and `GPU Arch` are required"),
        ("Entry Point: a.cuh\nFile List: [a.cuh]\nGPU Arch: []\n", "`GPU Arch`: is empty; list compute capabilities such as sm_80"),
        ("Entry Point: ' '\nFile List: [a.cuh]\nGPU Arch: [sm_80]\n", "`Entry Point`: must name a header"),
        ("Entry Point: a.cuh\nFile List: [a.cuh]\nGPU Arch: [sm_80]\nData Models: {S: Fancy}\n",
         "`Data Models`: S: `Fancy` is not StructModel or PrimitiveModel"),
        ("Entry Point: a.cuh\nFile List: [a.cuh]\nGPU Arch: [sm_80]\nTypes: {S: 'Number()'}\n",
         "`Types`: S: `Number()` is not a numba.types class name"),
        ("Entry Point: a.cuh\nFile List: [a.cuh]\nGPU Arch: [sm_80]\nCooperative Launch Required Functions Regex: ['(']\n",
         "`Cooperative Launch Required Functions Regex`: `(`: "),
        ("Entry Point: a.cuh\nFile List: [a.cuh]\nGPU Arch: [sm_80]\nFunction Argument Intents: {f: {x: sideways}}\n",
         "`Function Argument Intents`: f.x: `sideways` is not one of in, inout_ptr, out_ptr, out_return"),
        ("Entry Point: a.cuh\nFile List: [a.cuh]\nGPU Arch: sm_80\n", "`GPU Arch`: expected a list"),
        ("Entry Point: a.cuh\nFile List: [a.cuh]\nGPU Arch: [sm_80]\nGPU Arch: [sm_90]\n", "duplicate"),
    ],
)  # fmt: skip
def test_config_errors_name_the_key(tmp_path, text, expected):
    (tmp_path / "a.cuh").write_text(LIB)
    cfg = tmp_path / "cfg.yml"
    cfg.write_text(text)
    err = config_error(cfg, tmp_path / "out")
    assert err.startswith(f"numbast: error: {cfg}") and expected in err, err


def test_config_file_problems(tmp_path):
    err = config_error(tmp_path / "missing.yml", tmp_path / "out")
    assert f"{tmp_path / 'missing.yml'}: cannot read the config: No such file or directory" in err, err
    (tmp_path / "dir.yml").mkdir()
    err = config_error(tmp_path / "dir.yml", tmp_path / "out")
    assert f"{tmp_path / 'dir.yml'}: cannot read the config: Is a directory" in err, err
    bad = tmp_path / "latin1.yml"
    bad.write_bytes(b"Name: caf\xe9\nEntry Point: a.cuh\nFile List: [a.cuh]\nGPU Arch: [sm_80]\n")
    err = config_error(bad, tmp_path / "out")
    assert f"{bad}: cannot read the config: stream did not contain valid UTF-8" in err, err


# ----------------------------------------------------------------------------- 7. atomic output


def test_concurrent_generations_into_one_folder(tmp_path):
    """Two runs writing the same module at once: both succeed, and the module is complete (written
    to a temporary file and renamed, so a reader never sees half of it)."""
    big = "#pragma once\n" + "".join(f"__device__ inline int g{i}(int x) {{ return x + {i}; }}\n" for i in range(2000))
    cfg = project(tmp_path / "p", header=big)
    out = tmp_path / "out"
    reference = generate_ok(cfg, tmp_path / "reference").read_bytes()
    cmd = [sys.executable, "-m", "numbast", "generate", str(cfg), "-o", str(out), "-q"]
    seen_partial = []
    stop = threading.Event()

    def watch():  # a reader polling the module while it is being written
        while not stop.is_set():
            try:
                data = (out / "m.py").read_bytes()
            except OSError:
                continue
            if data != reference:
                seen_partial.append(len(data))

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        runs = [subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
        results = [(p.wait(timeout=300), p.stderr.read()) for p in runs]
    finally:
        stop.set()
        watcher.join()
    assert [rc for rc, _ in results] == [0, 0], results
    assert (out / "m.py").read_bytes() == reference
    assert not seen_partial, f"a reader saw a partial module ({seen_partial[:3]} bytes of {len(reference)})"
    assert sorted(p.name for p in out.iterdir()) == ["m.py", "m.pyi"], "temporary files left behind"


def test_failed_generation_keeps_the_previous_module(tmp_path):
    cfg = project(tmp_path / "p")
    out = tmp_path / "out"
    before = generate_ok(cfg, out).read_bytes()
    (tmp_path / "p" / "include" / "lib.cuh").write_text("__device__ int broken( {\n")
    r = numbast("generate", cfg, "-o", out, "-q")
    assert r.returncode == 1
    assert (out / "m.py").read_bytes() == before
    assert sorted(p.name for p in out.iterdir()) == ["m.py", "m.pyi"]


def test_generated_files_get_the_usual_permissions(tmp_path):
    module = generate_ok(project(tmp_path / "p"), tmp_path / "out")
    umask = os.umask(0)
    os.umask(umask)
    for path in (module, module.with_suffix(".pyi")):
        assert path.stat().st_mode & 0o777 == 0o666 & ~umask, oct(path.stat().st_mode)


# ----------------------------------------------------------------------------- 8. determinism


def test_real_header_output_does_not_depend_on_the_process_or_the_cache(tmp_path):
    """test_static.py checks two runs on a small library; this runs a real header in processes
    with different hash seeds, with no parse cache and with a warm one."""
    header = CUDA_INCLUDE / "cuda_fp16.h"
    cfg = tmp_path / "fp16.yml"
    cfg.write_text(f"Entry Point: {yaml_str(str(header))}\nFile List: [{yaml_str(str(header))}]\nGPU Arch: [sm_80, sm_90]\n")
    outputs = []
    for i, extra in enumerate(
        [{"AST_CANOPY_NO_CACHE": "1"}, {"AST_CANOPY_CACHE_DIR": str(tmp_path / "c")}, {"AST_CANOPY_CACHE_DIR": str(tmp_path / "c")}]
    ):
        env = dict(os.environ, PYTHONHASHSEED=str(i + 1), **extra)
        out = tmp_path / f"out{i}"
        r = numbast("generate", cfg, "-o", out, "-q", env=env)
        assert r.returncode == 0, r.stderr
        outputs.append(((out / "cuda_fp16.py").read_bytes(), (out / "cuda_fp16.pyi").read_bytes()))
    assert outputs[0] == outputs[1] == outputs[2]
