"""Static mode: `numbast generate` / `python -m numbast` turn a YAML config into a standalone module.

CPU tests generate modules, import them and compile and link kernels that use them to cubins
(NVRTC + nvJitLink, no GPU); the `gpu` tests launch those kernels and compare the results with a
host reference (NumPy float16, ml_dtypes for bfloat16 and float8).
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
from pathlib import Path

import ast_canopy
import numpy as np
import pytest
from _helpers import import_module, require_gpu
from numba import cuda
from numba.cuda import types
from numbast.testing import link_kernel

TESTS = Path(__file__).resolve().parent
REPO = TESTS.parent
CONFIGS = TESTS / "configs"
CUDA_INCLUDE = ast_canopy.cuda_include_dirs()[0]
# The line that follows a generated module's header comment.
AFTER_HEADER = "\nimport sys as _nb_sys\n"


def numbast(*args, cwd=None) -> subprocess.CompletedProcess:
    """`python -m numbast ARGS`, its output captured."""
    return subprocess.run([sys.executable, "-m", "numbast", *map(str, args)], cwd=cwd, capture_output=True, text=True)


def generate(cfg: Path, out: Path, *args) -> subprocess.CompletedProcess:
    r = numbast("generate", cfg, "--output-dir", out, *args)
    assert r.returncode == 0, r.stderr
    return r


# ----------------------------------------------------------------------------- a small library

LIB = r"""
#pragma once
struct Pair {
  int a;
  int b;
  __device__ Pair(int x, int y) : a(x), b(y) {}
  __device__ int sum() const { return a + b; }
};
typedef Pair PairAlias;
enum Color { Red = 1, Green = 2 };
__device__ inline int twice(int x) { return 2 * x; }
__device__ inline int thrice(int x) { return 3 * x; }
__device__ inline int paint(Color c) { return static_cast<int>(c) * 10; }
__device__ inline Pair swapped(Pair p) { return Pair(p.b, p.a); }
"""


def make_project(root: Path, name: str, extra: str = "", header: str = LIB) -> Path:
    """`root/include/lib.cuh` and `root/cfg.yml` (paths relative to the config); returns the config."""
    (root / "include").mkdir(parents=True, exist_ok=True)
    (root / "include" / "lib.cuh").write_text(header)
    cfg = root / "cfg.yml"
    cfg.write_text(
        f"Entry Point: include/lib.cuh\nFile List: [include/lib.cuh]\nGPU Arch: [sm_80]\nOutput Name: {name}\n{textwrap.dedent(extra)}"
    )
    return cfg


def lib_kernel(m):
    def kernel(out, a):
        p = m.Pair(a[0], a[1])
        out[0] = m.twice(a[0]) + m.thrice(a[1])
        out[1] = p.sum() + m.swapped(p).a
        out[2] = m.paint(m.Color.Green)

    return kernel


LIB_SIG = (types.int32[:], types.int32[:])


@pytest.fixture(scope="module")
def lib(tmp_path_factory):
    """The small library generated once, imported."""
    root = tmp_path_factory.mktemp("lib")
    cfg = make_project(root / "proj", "static_lib")
    generate(cfg, root / "out")
    return import_module(root / "out" / "static_lib.py")


# ----------------------------------------------------------------------------- 1. commands


def test_both_command_forms_write_the_same_module(tmp_path):
    cfg = make_project(tmp_path / "proj", "forms_lib")
    script = shutil.which("numbast")
    if script is None:
        pytest.skip("the `numbast` console script is not installed")
    r1 = subprocess.run([script, "generate", cfg, "--output-dir", tmp_path / "out1"], capture_output=True, text=True)
    r2 = numbast("--cfg-path", cfg, "--output-dir", tmp_path / "out2")
    assert r1.returncode == 0 and r2.returncode == 0, r1.stderr + r2.stderr
    one, two = (tmp_path / d / "forms_lib.py" for d in ("out1", "out2"))
    assert one.read_bytes() == two.read_bytes()
    assert (tmp_path / "out1" / "forms_lib.pyi").is_file()


def _imported_top_level_names(source: str) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, "relative import"
            names.add(node.module.split(".")[0])
    return names


def _embedded_runtime(source: str) -> str:
    for node in ast.parse(source).body:
        if isinstance(node, ast.Assign) and [t.id for t in node.targets] == ["_NB_RUNTIME_SOURCE"]:
            return node.value.value
    raise AssertionError("no embedded runtime")


def test_module_imports_only_numba_llvmlite_and_the_standard_library(lib, fp16):
    allowed = {"numba", "llvmlite"} | set(sys.stdlib_module_names)
    for m in (lib, fp16.module):
        source = Path(m.__file__).read_text()
        imported = _imported_top_level_names(source) | _imported_top_level_names(_embedded_runtime(source))
        assert imported <= allowed, imported - allowed
        assert {"numba", "llvmlite"} <= imported


BLOCKED = r"""
import importlib.abc, sys

class Blocker(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("numbast", "ast_canopy"):
            raise ImportError("blocked: " + name)

sys.meta_path.insert(0, Blocker())
sys.path.insert(0, OUT)
import static_lib as m
from numba.cuda import types
from numba.cuda.compiler import compile_all

def kernel(out, a):
    out[0] = m.twice(a[0]) + m.Pair(a[0], a[1]).sum() + m.paint(m.Color.Red)

codes, _ = compile_all(kernel, (types.int32[:], types.int32[:]), device=False, abi="numba", cc=(8, 0), output="ltoir")
assert len(codes) == 2, codes  # the kernel and the shim unit, compiled by NVRTC
assert not [n for n in sys.modules if n.split(".")[0] in ("numbast", "ast_canopy")]
print("compiled", len(codes))
"""


def test_module_needs_neither_numbast_nor_ast_canopy(lib):
    script = BLOCKED.replace("OUT", repr(str(Path(lib.__file__).parent)))
    r = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "compiled 2"


# ----------------------------------------------------------------------------- 2. config paths and errors


def test_relative_paths_are_relative_to_the_config(tmp_path):
    make_project(tmp_path / "proj", "relative_lib")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    r = numbast("generate", "../proj/cfg.yml", "-o", "out", cwd=elsewhere)
    assert r.returncode == 0, r.stderr
    assert (elsewhere / "out" / "relative_lib.py").is_file()


def _fails(cfg: Path, out: Path, code: int = 2) -> str:
    r = numbast("generate", cfg, "-o", out)
    assert r.returncode == code, (r.returncode, r.stdout, r.stderr)
    assert not (out / "x.py").exists()
    return r.stderr


def test_unknown_key_names_the_closest_key(tmp_path):
    cfg = make_project(tmp_path, "x", "Entry Pont: include/lib.cuh\n")
    err = _fails(cfg, tmp_path / "out")
    assert f"{cfg}:5:1: `Entry Pont`: unknown key; did you mean `Entry Point`?" in err, err


def test_unknown_nested_key_names_the_closest_key(tmp_path):
    cfg = make_project(tmp_path, "x", "Exclude:\n  Functon: [twice]\n")
    err = _fails(cfg, tmp_path / "out")
    assert "`Exclude.Functon`: unknown key; did you mean `Function`?" in err, err


def test_wrong_type_says_what_was_expected(tmp_path):
    cfg = make_project(tmp_path, "x", "Use Separate Registry: maybe\n")
    err = _fails(cfg, tmp_path / "out")
    assert f'{cfg}:5:24: `Use Separate Registry`: expected a boolean (`True` or `False`), found string "maybe"' in err, err


def test_yaml_syntax_error_has_line_and_column(tmp_path):
    cfg = tmp_path / "cfg.yml"
    cfg.write_text("Entry Point: a.cuh\nFile List: [a.cuh\nGPU Arch: [sm_80]\n")
    err = _fails(cfg, tmp_path / "out")
    assert re.search(rf"{re.escape(str(cfg))}:3:\d+: YAML syntax error: ", err), err


def test_empty_file_list(tmp_path):
    cfg = tmp_path / "cfg.yml"
    cfg.write_text("Entry Point: a.cuh\nFile List: []\nGPU Arch: [sm_80]\n")
    err = _fails(cfg, tmp_path / "out")
    assert f"{cfg}:2:1: `File List`: is empty; list the headers whose declarations to bind" in err, err


def test_missing_entry_point(tmp_path):
    cfg = tmp_path / "cfg.yml"
    cfg.write_text("File List: [a.cuh]\nGPU Arch: [sm_80]\n")
    err = _fails(cfg, tmp_path / "out")
    assert f"{cfg}:1:1: `Entry Point`: required key is missing" in err, err


def test_entry_point_that_does_not_exist(tmp_path):
    cfg = tmp_path / "cfg.yml"
    cfg.write_text("Entry Point: nowhere.cuh\nFile List: [nowhere.cuh]\nGPU Arch: [sm_80]\n")
    err = _fails(cfg, tmp_path / "out")
    assert f"`Entry Point`: {tmp_path / 'nowhere.cuh'} is not a file (paths are relative to the config's folder)" in err, err


def test_unwritable_output_folder(tmp_path):
    cfg = make_project(tmp_path / "proj", "x")
    blocker = tmp_path / "a_file"
    blocker.write_text("")
    err = _fails(cfg, blocker / "sub")
    assert f"cannot create the output folder {blocker / 'sub'}: {blocker} is a file, not a folder" in err, err


def test_schema_file_is_current():
    from ast_canopy import _core

    r = numbast("schema")
    assert r.returncode == 0
    shipped = (REPO / "python" / "numbast" / "config.schema.json").read_text()
    assert r.stdout == shipped == _core.config_schema(), "run `numbast schema > python/numbast/config.schema.json`"
    assert "Entry Point" in json.loads(shipped)["required"]


# ----------------------------------------------------------------------------- 3. several GPU archs

ARCH_HEADER = r"""
#pragma once
__device__ inline float everywhere(float x) { return x + 1.0f; }
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
__device__ inline float hopper_only(float x) { return x * 2.0f; }
#endif
"""


def test_several_archs_serve_each(tmp_path):
    cfg = make_project(tmp_path / "proj", "arch_lib", header=ARCH_HEADER)
    cfg.write_text(cfg.read_text().replace("GPU Arch: [sm_80]", "GPU Arch: [sm_80, sm_90]"))
    generate(cfg, tmp_path / "out")
    m = import_module(tmp_path / "out" / "arch_lib.py")
    assert {"everywhere", "hopper_only"} <= set(m.__all__)

    def uses_both(out, a):
        out[0] = m.hopper_only(a[0]) + m.everywhere(a[0])

    def uses_everywhere(out, a):
        out[0] = m.everywhere(a[0])

    sig = (types.float32[:], types.float32[:])
    assert link_kernel(uses_both, sig, "sm_90").cubin
    # The shim of hopper_only is in the unit now; it is guarded, so sm_80 kernels still link.
    assert link_kernel(uses_everywhere, sig, "sm_80").cubin
    with pytest.raises(Exception) as e:
        link_kernel(uses_both, sig, "sm_80")
    assert "hopper_only is not available for compute capability 8.0: arch_lib has it for sm_90" in str(e.value)


# ----------------------------------------------------------------------------- 4. deterministic output


def test_same_inputs_give_identical_output(tmp_path):
    cfg = make_project(tmp_path / "proj", "det_lib")
    out = tmp_path / "out"
    generate(cfg, out)
    first = [(out / n).read_bytes() for n in ("det_lib.py", "det_lib.pyi")]
    generate(cfg, out)
    assert [(out / n).read_bytes() for n in ("det_lib.py", "det_lib.pyi")] == first

    # Another working folder, an absolute config path, a deeper output folder: only the header differs.
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    r = numbast("generate", cfg.resolve(), "-o", "deeper/out", cwd=elsewhere)
    assert r.returncode == 0, r.stderr
    other = (elsewhere / "deeper" / "out" / "det_lib.py").read_text()
    text = first[0].decode()
    assert other.split(AFTER_HEADER, 1)[1] == text.split(AFTER_HEADER, 1)[1]
    header_diff = set(other.split(AFTER_HEADER)[0].splitlines()) ^ set(text.split(AFTER_HEADER)[0].splitlines())
    kinds = {"_NB_DEFINITIONS" if line.startswith("    (") else line.split(":")[0].split(" =")[0] for line in header_diff}
    assert kinds == {"# config", "# shims include", "_NB_HEADER_FROM_MODULE", "_NB_DEFINITIONS"}
    assert (elsewhere / "deeper" / "out" / "det_lib.pyi").read_bytes() == first[1]


def test_header_comment_and_no_machine_paths(tmp_path, fp16):
    from ast_canopy import toolchain_info

    cfg = make_project(tmp_path / "proj", "header_lib")
    generate(cfg, tmp_path / "out")
    text = (tmp_path / "out" / "header_lib.py").read_text()
    header = text.split(AFTER_HEADER)[0]
    info = toolchain_info()
    cuda = int(info["cuda_version"])
    assert f"# numbast {_core_version()}; {info['libclang_version']}; CUDA {cuda // 1000}.{cuda % 1000 // 10}\n" in header
    assert "# config: ../proj/cfg.yml\n" in header
    # A user header: found from the module's own folder when it is imported.
    assert '_NB_HEADER_FROM_MODULE = "../proj/include/lib.cuh"\n' in header
    assert str(tmp_path) not in text and str(Path.home()) not in text

    # A CUDA header: included as <cuda_fp16.h>, found by NVRTC on any machine.
    fp16_text = Path(fp16.module.__file__).read_text()
    assert "# shims include: #include <cuda_fp16.h>\n" in fp16_text.split(AFTER_HEADER)[0]
    assert str(CUDA_INCLUDE) not in fp16_text and str(Path.home()) not in fp16_text


def _core_version():
    from ast_canopy import _core

    return _core.__version__


def test_module_and_header_move_together(tmp_path):
    cfg = make_project(tmp_path / "proj", "moved_lib")
    generate(cfg, tmp_path / "out")
    moved = tmp_path / "moved"
    shutil.copytree(tmp_path / "proj", moved / "proj")
    shutil.copytree(tmp_path / "out", moved / "out")
    shutil.rmtree(tmp_path / "proj")
    m = import_module(moved / "out" / "moved_lib.py")
    assert f'#include "{moved / "proj" / "include" / "lib.cuh"}"\n' == m._NB_SHIM_PREAMBLE
    assert link_kernel(lib_kernel(m), LIB_SIG).cubin


def test_clang_include_paths_reach_the_shims(tmp_path):
    header = "#pragma once\n#include <sub/dep.h>\n__device__ inline int seven_times(int x) { return dep_value() * x; }\n"
    cfg = make_project(tmp_path / "proj", "incdir_lib", "Clang Include Paths: [deps]\n", header=header)
    (tmp_path / "proj" / "deps" / "sub").mkdir(parents=True)
    (tmp_path / "proj" / "deps" / "sub" / "dep.h").write_text("#pragma once\n__device__ inline int dep_value() { return 7; }\n")
    generate(cfg, tmp_path / "out")
    m = import_module(tmp_path / "out" / "incdir_lib.py")
    assert m._NB_INCLUDE_DIRS_FROM_MODULE == ["../proj/deps"]

    def kernel(out, a):
        out[0] = m.seven_times(a[0])

    assert link_kernel(kernel, LIB_SIG).cubin
    from numba.cuda import config

    assert str(tmp_path / "proj" / "deps") in config.CUDA_NVRTC_EXTRA_SEARCH_PATHS.split(":")


# ----------------------------------------------------------------------------- 5. shims as data


def test_kernel_links_only_the_shims_it_uses(tmp_path):
    cfg = make_project(tmp_path / "proj", "shims_lib")
    generate(cfg, tmp_path / "out")
    m = import_module(tmp_path / "out" / "shims_lib.py")

    def kernel(out, a):
        out[0] = m.thrice(a[0])

    result = link_kernel(kernel, LIB_SIG)
    source = m._unit.source()
    assert source.count('extern "C"') == 1 and "::thrice(" in source, source
    assert "::twice(" not in source
    assert result.cubin


def test_registration_is_lazy(tmp_path):
    cfg = make_project(tmp_path / "proj", "lazy_lib")
    generate(cfg, tmp_path / "out")
    m = import_module(tmp_path / "out" / "lazy_lib.py")
    assert m._nb_state is None and "twice" not in vars(m)
    assert "twice" in dir(m)
    assert m.twice.__name__ == "twice"  # the first use registers everything
    assert m._nb_state is True and "Pair" in vars(m)
    with pytest.raises(AttributeError, match="has no attribute 'nothing'"):
        m.nothing  # noqa: B018


# ----------------------------------------------------------------------------- 6. __all__ and the stub


def test_all_lists_bindings_and_typedefs_are_aliases(lib):
    assert set(lib.__all__) == {"Pair", "PairAlias", "Color", "twice", "thrice", "paint", "swapped"}
    assert lib.PairAlias is lib.Pair
    assert link_kernel(lib_kernel(lib), LIB_SIG).cubin


def test_stub_is_valid_python(lib):
    stub = Path(lib.__file__).with_suffix(".pyi").read_text()
    compile(stub, "static_lib.pyi", "exec")
    assert 'def twice(*args: _nbst_Any) -> _nbst_Any:\n    "int twice(int x)"\n' in stub
    assert "class Color(_nbst_enum.IntEnum):" in stub and "    Green = 2\n" in stub
    assert "PairAlias = Pair\n" in stub


# ----------------------------------------------------------------------------- 7. separate registry

SEPARATE = r"""
import sys
sys.path.insert(0, OUT)
from numba.cuda import cudadecl, cudaimpl, types
from numba.cuda.compiler import compile_all
# numba-cuda modules that the runtime imports: on first import they register numba's own builtins.
import numba.cuda.typing.builtins, numba.cuda.vector_types

def sizes():
    t, i = cudadecl.registry, cudaimpl.registry
    return [len(t.functions), len(t.attributes), len(t.globals), len(i.functions), len(i.getattrs), len(i.casts)]

before = sizes()
import separate_lib as m
assert sizes() == before, "importing registered something"
typing_registry, target_registry = m.typing_registry, m.target_registry  # registers, into these
assert sizes() == before, "registration reached the global registries"
assert target_registry.functions and typing_registry.attributes

def kernel(out, a):
    out[0] = m.twice(a[0]) + m.Pair(a[0], a[1]).sum()

def compile_kernel():
    return compile_all(kernel, (types.int32[:], types.int32[:]), device=False, abi="numba", cc=(8, 0), output="ltoir")

try:
    compile_kernel()
except Exception as e:
    print("before install:", type(e).__name__)
else:
    raise AssertionError("a kernel compiled before install()")
m.install()
print("after install:", len(compile_kernel()[0]))
"""


def test_separate_registry_registers_nothing_globally(tmp_path):
    cfg = make_project(tmp_path / "proj", "separate_lib", "Use Separate Registry: True\n")
    generate(cfg, tmp_path / "out")
    r = subprocess.run([sys.executable, "-c", SEPARATE.replace("OUT", repr(str(tmp_path / "out")))], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].startswith("before install: ") and lines[1] == "after install: 2", r.stdout


# ----------------------------------------------------------------------------- 8. coverage report

SKIPS = (
    LIB
    + r"""
inline int host_only(int x) { return x; }
__device__ inline int variadic(int x, ...) { return x; }
"""
)


def test_coverage_table_and_json_report(tmp_path):
    cfg = make_project(tmp_path / "proj", "report_lib", header=SKIPS)
    report = tmp_path / "report.json"
    r = generate(cfg, tmp_path / "out", "--report", report)
    table = r.stdout.splitlines()
    assert table[0].startswith(f"wrote {tmp_path / 'out' / 'report_lib.py'}: bound ") and table[0].endswith("; skipped 2")
    assert re.match(r"kind +name +location +code +reason$", table[1]), table
    data = json.loads(report.read_text())
    assert data["module"] == str(tmp_path / "out" / "report_lib.py")
    rows = [(s["kind"], s["name"], s["location"], s["code"], s["reason"]) for s in data["skipped"]]
    assert rows == [
        ("function", "host_only", "include/lib.cuh:16:12", "host-only", "host-only function"),
        ("function", "variadic", "include/lib.cuh:17:23", "variadic", "variadic function"),
    ]
    for kind, name, loc, code, reason in rows:  # the table shows the same rows
        line = rf"{kind} +{name} +{re.escape(loc)} +{code} +{reason}"
        assert any(re.fullmatch(line, row) for row in table[2:]), table
    assert data["bound_counts"]["function"] == 4


def test_skips_keep_exit_code_zero_errors_do_not(tmp_path):
    cfg = make_project(tmp_path / "ok", "skips_lib", header=SKIPS)
    assert numbast("generate", cfg, "-o", tmp_path / "out", "-q").returncode == 0
    bad = make_project(tmp_path / "bad", "bad_lib", header="__device__ int broken( { }\n")
    r = numbast("generate", bad, "-o", tmp_path / "out2")
    assert r.returncode == 1 and "clang reported" in r.stderr and "lib.cuh:1:" in r.stderr, r.stderr
    assert not (tmp_path / "out2" / "bad_lib.py").exists()


def test_callbacks_and_cooperative_launch(tmp_path):
    from numba.cuda.compiler import compile_cuda

    cfg = make_project(
        tmp_path / "proj",
        "coop_lib",
        'Cooperative Launch Required Functions Regex: ["^thr"]\nModule Callbacks: {setup: "json:dumps", teardown: "os.path:join"}\n',
    )
    generate(cfg, tmp_path / "out")
    m = import_module(tmp_path / "out" / "coop_lib.py")

    def uses_thrice(out):
        out[0] = m.thrice(out[0])

    def uses_twice(out):
        out[0] = m.twice(out[0])

    coop = [compile_cuda(k, types.void, (types.int32[:],), cc=(8, 0)).library.use_cooperative for k in (uses_thrice, uses_twice)]
    assert coop == [True, False]
    assert m._unit.code.setup_callback("x") == '"x"' and m._unit.code.teardown_callback("a", "b") == os.path.join("a", "b")


# ----------------------------------------------------------------------------- 9. real headers


class Generated:
    def __init__(self, module, report):
        self.module = module
        self.report = report


def _generate_real(tmp_path_factory, name, mlir=False) -> Generated:
    """The config `name` generated and imported; with `mlir`, for numba-cuda-mlir (`MLIR Backend`,
    as the module `<name>_mlir`)."""
    root = tmp_path_factory.mktemp(name)
    cfg = root / f"{name}.yml"
    text = (CONFIGS / f"{name}.yml.in").read_text().replace("{include}", str(CUDA_INCLUDE))
    out_name = f"{name}_mlir" if mlir else name
    if mlir:
        text = text.replace(f"Output Name: {name}", f"Output Name: {out_name}") + "MLIR Backend: true\n"
    cfg.write_text(text)
    generate(cfg, root / "out", "--report", root / "report.json", "-q")
    stub = (root / "out" / f"{out_name}.pyi").read_text()
    compile(stub, f"{out_name}.pyi", "exec")
    return Generated(import_module(root / "out" / f"{out_name}.py"), json.loads((root / "report.json").read_text()))


@pytest.fixture(scope="session")
def fp16(tmp_path_factory):
    return _generate_real(tmp_path_factory, "cuda_fp16")


@pytest.fixture(scope="session")
def bf16(tmp_path_factory):
    return _generate_real(tmp_path_factory, "cuda_bf16")


@pytest.fixture(scope="session")
def fp8(tmp_path_factory):
    g = _generate_real(tmp_path_factory, "cuda_fp8")
    g.module.install()
    return g


def _model_kind(bound_struct):
    """`primitive` or `struct`: the runtime's data model classes for the two configured models."""
    from numba.cuda.descriptor import cuda_target

    model = cuda_target.target_context.data_model_manager[bound_struct._numba_type]
    return {"_OpaqueBitsModel": "primitive", "_FieldsModel": "struct"}[type(model).__name__]


def _assert_types(m, numbers, structs):
    for name in numbers:
        s = getattr(m, name)
        assert isinstance(s._numba_type, types.Number) and _model_kind(s) == "primitive", name
    for name in structs:
        s = getattr(m, name)
        assert not isinstance(s._numba_type, types.Number) and _model_kind(s) == "struct", name


N = 8


def fp16_kernel(h):
    def kernel(out, a, b):
        i = cuda.grid(1)
        if i < a.shape[0]:
            x, y = h.__float2half(a[i]), h.__float2half(b[i])
            out[i, 0] = h.__half2float(x + y)
            out[i, 1] = h.__half2float(x - y)
            out[i, 2] = h.__half2float(x * y)
            out[i, 3] = h.__half2float(h.__hfma(x, y, x))
            out[i, 4] = h.__half2float(h.__hmax(x, y))
            out[i, 5] = h.__half2float(h.__hneg(h.__habs(x)))
            out[i, 6] = types.float32(x < y)
            out[i, 7] = types.float32(h.__heq(x, y))
            out[i, 8] = h.__half2float(h.hsqrt(h.__habs(y)))
            p = h.__halves2half2(x, y)
            s = h.__hadd2(p, p)
            out[i, 9] = h.__low2float(s)
            out[i, 10] = h.__high2float(s)
            out[i, 11] = types.float32(h.__half(3.0) * x)
            out[i, 12] = types.float32(h.__half2int_rn(y))

    return kernel


def fp16_inputs():
    a = np.array([1.5, -2.25, 0.125, 100.0, -0.5, 3.0, 7.75, 0.0], np.float32)
    b = np.array([0.5, 2.25, -4.0, 0.001, -0.5, 3.0, 1.0 / 3.0, 2.0], np.float32)
    return a, b


def fp16_reference(a, b):
    x, y = a.astype(np.float16), b.astype(np.float16)
    x64, y64 = x.astype(np.float64), y.astype(np.float64)
    f16 = lambda v: np.asarray(v, np.float64).astype(np.float16).astype(np.float32)
    return np.stack(
        [
            f16(x64 + y64),
            f16(x64 - y64),
            f16(x64 * y64),
            f16(x64 * y64 + x64),
            f16(np.maximum(x64, y64)),
            -np.abs(x).astype(np.float32),
            (x < y).astype(np.float32),
            (x == y).astype(np.float32),
            np.sqrt(np.abs(y64)).astype(np.float32),
            2 * x.astype(np.float32),
            2 * y.astype(np.float32),
            f16(3.0 * x64),
            np.rint(y64).astype(np.float32),
        ],
        axis=1,
    )


def _check(out, ref, approx_columns=(), rtol=2e-3):
    exact = [c for c in range(ref.shape[1]) if c not in approx_columns]
    np.testing.assert_array_equal(out[:, exact], ref[:, exact])
    for c in approx_columns:
        np.testing.assert_allclose(out[:, c], ref[:, c], rtol=rtol, atol=1e-6)


def test_cuda_fp16(fp16):
    h = fp16.module
    _assert_types(h, ["__half"], ["__half2"])
    assert h.half is h.__half and h.half2 is h.__half2  # typedefs are aliases
    for arch in ("sm_80", "sm_90"):
        assert link_kernel(fp16_kernel(h), (types.float32[:, :], types.float32[:], types.float32[:]), arch).cubin


@pytest.mark.gpu
def test_cuda_fp16_on_gpu(fp16):
    require_gpu()
    a, b = fp16_inputs()
    out = np.zeros((N, 13), np.float32)
    cuda.jit(fp16_kernel(fp16.module))[1, 32](out, a, b)
    _check(out, fp16_reference(a, b), approx_columns=(8,))


def bf16_kernel(m):
    def kernel(out, a, b):
        i = cuda.grid(1)
        if i < a.shape[0]:
            x, y = m.__float2bfloat16(a[i]), m.__float2bfloat16(b[i])
            out[i, 0] = m.__bfloat162float(x + y)
            out[i, 1] = m.__bfloat162float(x - y)
            out[i, 2] = m.__bfloat162float(x * y)
            out[i, 3] = m.__bfloat162float(m.__hfma(x, y, x))
            out[i, 4] = m.__bfloat162float(m.__hmin(x, y))
            out[i, 5] = m.__bfloat162float(m.__hneg(m.__habs(x)))
            out[i, 6] = types.float32(x > y)
            out[i, 7] = types.float32(m.__hle(x, y))
            out[i, 8] = m.__bfloat162float(m.hsqrt(m.__habs(y)))
            p = m.__halves2bfloat162(x, y)
            s = m.__hmul2(p, p)
            out[i, 9] = m.__low2float(s)
            out[i, 10] = m.__high2float(s)
            out[i, 11] = types.float32(m.nv_bfloat16(2.0) * x)
            out[i, 12] = types.float32(m.__bfloat162int_rz(y))

    return kernel


def bf16_reference(a, b):
    import ml_dtypes

    x, y = a.astype(ml_dtypes.bfloat16), b.astype(ml_dtypes.bfloat16)
    x64, y64 = x.astype(np.float64), y.astype(np.float64)
    bf = lambda v: np.asarray(v, np.float64).astype(ml_dtypes.bfloat16).astype(np.float32)
    return np.stack(
        [
            bf(x64 + y64),
            bf(x64 - y64),
            bf(x64 * y64),
            bf(x64 * y64 + x64),
            bf(np.minimum(x64, y64)),
            -np.abs(x64).astype(np.float32),
            (x64 > y64).astype(np.float32),
            (x64 <= y64).astype(np.float32),
            np.sqrt(np.abs(y64)).astype(np.float32),
            bf(x64 * x64),
            bf(y64 * y64),
            bf(2.0 * x64),
            np.trunc(y64).astype(np.float32),
        ],
        axis=1,
    )


def test_cuda_bf16(bf16):
    m = bf16.module
    _assert_types(m, ["__nv_bfloat16_raw", "__nv_bfloat16", "nv_bfloat16"], ["__nv_bfloat162_raw", "__nv_bfloat162", "nv_bfloat162"])
    assert m.nv_bfloat16 is m.__nv_bfloat16
    assert link_kernel(bf16_kernel(m), (types.float32[:, :], types.float32[:], types.float32[:]), "sm_80").cubin


@pytest.mark.gpu
def test_cuda_bf16_on_gpu(bf16):
    require_gpu()
    a, b = fp16_inputs()
    out = np.zeros((N, 13), np.float32)
    cuda.jit(bf16_kernel(bf16.module))[1, 32](out, a, b)
    _check(out, bf16_reference(a, b), approx_columns=(8,), rtol=1e-2)


def fp8_kernel(m):
    sat, kind = m.saturation_t, m.fp8_interpretation_t

    def kernel(out, a):
        i = cuda.grid(1)
        if i < a.shape[0]:
            x = m.fp8_e4m3(a[i])
            y = m.fp8_e5m2(a[i])
            out[i, 0] = types.float32(x)
            out[i, 1] = types.float32(y)
            out[i, 2] = types.float32(m.fp8_e4m3(types.float64(a[i])))
            r = m.cvt_float_to_fp8(a[i], sat.SATFINITE, kind.E4M3)
            h = m.cvt_fp8_to_halfraw(r, kind.E4M3)
            out[i, 3] = types.float32(h.x)  # the bits of the __half
            back = m.cvt_halfraw_to_fp8(h, sat.SATFINITE, kind.E5M2)
            out[i, 4] = types.float32(m.cvt_fp8_to_halfraw(back, kind.E5M2).x)
            out[i, 5] = types.float32(m.fp8_e8m0(abs(a[i]) + types.float32(1.0)))
            e = m.cvt_float_to_e8m0(abs(a[i]) + types.float32(1.0), sat.SATFINITE, m.cudaRoundMode.cudaRoundPosInf)
            out[i, 6] = types.float32(e)
            out[i, 7] = types.float32(types.int32(x))

    return kernel


def fp8_inputs():
    return np.array([0.5, -1.25, 3.0, 448.0, -0.1, 7.0, 100.0, 0.0], np.float32)


def fp8_reference(a):
    import ml_dtypes

    e4m3 = a.astype(ml_dtypes.float8_e4m3fn)
    e5m2 = a.astype(ml_dtypes.float8_e5m2)
    bits = lambda v: v.astype(np.float16).view(np.uint16).astype(np.float32)
    up = np.abs(a.astype(np.float64)) + 1.0
    return np.stack(
        [
            e4m3.astype(np.float32),
            e5m2.astype(np.float32),
            e4m3.astype(np.float32),
            bits(e4m3.astype(np.float32)),
            bits(e4m3.astype(np.float32).astype(ml_dtypes.float8_e5m2).astype(np.float32)),
            np.exp2(np.ceil(np.log2(up))).astype(np.float32),  # the e8m0 constructor rounds up
            np.ceil(np.log2(up)).astype(np.float32) + 127,  # the e8m0 storage: the biased exponent
            np.trunc(e4m3.astype(np.float32)),
        ],
        axis=1,
    )


def test_cuda_fp8(fp8):
    m = fp8.module
    _assert_types(m, ["fp8_e5m2", "fp8_e4m3", "fp8_e8m0"], ["fp8x2_e5m2", "fp8x2_e4m3", "fp8x2_e8m0"])
    # Prefixes removed: __nv_ from functions, structs and enums, __NV_ from enum members.
    assert m.saturation_t.SATFINITE == 1 and m.fp8_interpretation_t.E5M2 == 1
    assert link_kernel(fp8_kernel(m), (types.float32[:, :], types.float32[:]), "sm_90").cubin


def test_cuda_fp8_binds_dependency_types(fp8):
    deps = {(d["kind"], d["name"], d["location"].split(":")[0]) for d in fp8.report["dependencies"]}
    assert {
        ("struct", "__half_raw", "cuda_fp16.h"),
        ("struct", "__nv_bfloat16_raw", "cuda_bf16.h"),
        ("enum", "cudaRoundMode", "device_types.h"),
    } <= deps
    bound = {b["py_name"] for b in fp8.report["bound"] if b["kind"] == "function"}
    assert {"cvt_halfraw_to_fp8", "cvt_fp8_to_halfraw", "cvt_bfloat16raw_to_fp8", "cvt_float_to_e8m0"} <= bound
    # Nothing is left skipped for want of a type.
    unknown = [s for s in fp8.report["skipped"] if "unknown type" in s["reason"]]
    assert not unknown, unknown


@pytest.mark.gpu
def test_cuda_fp8_on_gpu(fp8):
    require_gpu()
    a = fp8_inputs()
    out = np.zeros((N, 8), np.float32)
    cuda.jit(fp8_kernel(fp8.module))[1, 32](out, a)
    _check(out, fp8_reference(a))


# ----------------------------------------------------------------------------- 10. real headers on numba-cuda-mlir

# The kernels above, with each config generated for numba-cuda-mlir (`MLIR Backend: true`): its
# arguments' types and the architecture it is linked for.
MLIR_REAL = {
    "cuda_fp16": (fp16_kernel, lambda t: (t.float32[:, :], t.float32[:], t.float32[:]), (8, 0)),
    "cuda_bf16": (bf16_kernel, lambda t: (t.float32[:, :], t.float32[:], t.float32[:]), (8, 0)),
    "cuda_fp8": (fp8_kernel, lambda t: (t.float32[:, :], t.float32[:]), (9, 0)),
}


@pytest.fixture(scope="module")
def mlir_real(tmp_path_factory):
    """The real-header modules generated for numba-cuda-mlir, on first use."""
    pytest.importorskip("numba_cuda_mlir")
    made = {}

    def get(name):
        if name not in made:
            made[name] = _generate_real(tmp_path_factory, name, mlir=True)
            if name == "cuda_fp8":
                made[name].module.install()
        return made[name]

    return get


@pytest.mark.parametrize("name", list(MLIR_REAL))
def test_real_headers_link_on_mlir(mlir_real, name):
    from _backends import Backend, _target_without_gpu

    backend = Backend("mlir")
    make, sig, cc = MLIR_REAL[name]
    _target_without_gpu()
    cubin = backend.cuda.compile_cubin(backend.kernel(make(mlir_real(name).module)), sig(backend.types), cc=cc)
    assert cubin[:4] == b"\x7fELF"


@pytest.mark.gpu
@pytest.mark.parametrize("name", ["cuda_fp16", "cuda_bf16"])
def test_real_headers_on_mlir_on_gpu(mlir_real, name):
    from _backends import Backend

    backend = Backend("mlir")
    backend.gpu()
    a, b = fp16_inputs()
    out = np.zeros((N, 13), np.float32)
    backend.cuda.jit(backend.kernel(MLIR_REAL[name][0](mlir_real(name).module)))[1, 32](out, a, b)
    if name == "cuda_fp16":
        _check(out, fp16_reference(a, b), approx_columns=(8,))
    else:
        _check(out, bf16_reference(a, b), approx_columns=(8,), rtol=1e-2)
