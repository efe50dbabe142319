"""Configs written for the existing Numbast, as their users wrote them.

- numba-cuda's cuda_fp16, cuda_bf16 and cuda_fp8 configs byte for byte (tests/configs/numba_cuda/),
  only their paths pointed at the pip CUDA headers: generated, imported with numbast and ast_canopy
  blocked, kernels linked to cubins (values on a GPU).
- An NVSHMEM config with the keys and value forms of nvshmem4py's (tests/configs/nvshmem.yml.in),
  against the nvidia-nvshmem-cu13 wheel's headers; and the module in place of nvshmem4py's own.
- Each value form the existing Numbast accepts, and the errors that remain.
"""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
import textwrap
import types as pytypes
from pathlib import Path

import ast_canopy
import numpy as np
import pytest
from _helpers import require_gpu
from numba import cuda
from numba.cuda import types
from numbast.testing import link_kernel

TESTS = Path(__file__).resolve().parent
CONFIGS = TESTS / "configs"
CUDA_INCLUDE = Path(ast_canopy.cuda_include_dirs()[0])
# Where numba-cuda's configs point: its source tree's copies of the headers, or a system CUDA.
NUMBA_CUDA_PATHS = ("./numba_cuda/numba/cuda/include/12", "./numba_cuda/numba/cuda/include/13", "/usr/local/cuda/include")


def numbast(*args, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "numbast", *map(str, args)], cwd=cwd, capture_output=True, text=True)


def load(path: Path, name: str):
    """Imports a generated module from `path` under `name` (several tests generate the same file name)."""
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


# ----------------------------------------------------------------------------- numba-cuda's configs


def numba_cuda_config(name: str, root: Path) -> Path:
    """numba-cuda's config `name` with its paths (and only them) rewritten to the pip headers."""
    text = (CONFIGS / "numba_cuda" / f"{name}.yml").read_text()
    for p in NUMBA_CUDA_PATHS:
        text = text.replace(p, str(CUDA_INCLUDE))
    cfg = root / f"{name}.yml"
    cfg.write_text(text)
    return cfg


@pytest.fixture(scope="module")
def numba_cuda_modules(tmp_path_factory):
    root = tmp_path_factory.mktemp("numba_cuda")
    out = {}
    for name in ("cuda_fp16", "cuda_bf16", "cuda_fp8"):
        r = numbast("--cfg-path", numba_cuda_config(name, root), "--output-dir", root / "out", "-q")
        assert r.returncode == 0, r.stderr
        out[name] = (root / "out" / f"{name}.py", r.stderr)
    return out


def test_numba_cuda_configs_are_unchanged_but_for_paths():
    for name in ("cuda_fp16", "cuda_bf16", "cuda_fp8"):
        text = (CONFIGS / "numba_cuda" / f"{name}.yml").read_text()
        assert "Shim Include Override" in text or name == "cuda_bf16"
        assert any(p in text for p in NUMBA_CUDA_PATHS)


def test_numba_cuda_configs_generate_with_warnings_naming_the_keys(numba_cuda_modules):
    fp16_err = numba_cuda_modules["cuda_fp16"][1]
    assert "`GPU Arch`: is missing; generating for sm_80" in fp16_err
    assert "cuda_fp16.yml:15:1: `Require Pynvjitlink`: has no effect here" in fp16_err
    assert numba_cuda_modules["cuda_fp8"][1] == ""
    for name, header in (("cuda_fp16", "cuda_fp16.h"), ("cuda_fp8", "cuda_fp8.h")):
        text = numba_cuda_modules[name][0].read_text()
        assert f'# shims include: #include "{header}"\n' in text


BLOCKED = r"""
import importlib.abc, importlib.util, sys

class Blocker(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("numbast", "ast_canopy"):
            raise ImportError("blocked: " + name)

sys.meta_path.insert(0, Blocker())
from numba.cuda import types
from numba.cuda.compiler import compile_all

def load(path, name):
    spec = importlib.util.spec_from_file_location(name, path)
    m = importlib.util.module_from_spec(spec)
    sys.modules[name] = m
    spec.loader.exec_module(m)
    return m

fp16 = load(FP16, "nc_fp16")
bf16 = load(BF16, "nc_bf16")
fp8 = load(FP8, "nc_fp8")
fp8.install()

def kernel(out, a):
    h = fp16.__float2half(a[0])
    out[0] = fp16.__half2float(fp16.hsqrt(fp16.__hadd(h, h)))
    b = bf16.__float2bfloat16(a[1])
    out[1] = bf16.__bfloat162float(bf16.hsqrt(b))
    out[2] = types.float32(fp8.fp8_e4m3(a[2]))

codes, _ = compile_all(kernel, (types.float32[:], types.float32[:]), device=False, abi="numba", cc=(9, 0), output="ltoir")
assert not [n for n in sys.modules if n.split(".")[0] in ("numbast", "ast_canopy")]
print("compiled", len(codes))
"""


def test_numba_cuda_modules_need_neither_numbast_nor_ast_canopy(numba_cuda_modules):
    script = BLOCKED
    for key, name in (("FP16", "cuda_fp16"), ("BF16", "cuda_bf16"), ("FP8", "cuda_fp8")):
        script = script.replace(key, repr(str(numba_cuda_modules[name][0])))
    r = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "compiled 4"  # the kernel and the three modules' shim units


def _numba_cuda_kernel(fp16, bf16, fp8):
    def kernel(out, a):
        h = fp16.__float2half(a[0])
        out[0] = fp16.__half2float(fp16.hsqrt(fp16.__hadd(h, h)))
        out[1] = bf16.__bfloat162float(bf16.hsqrt(bf16.__float2bfloat16(a[1])))
        out[2] = types.float32(fp8.fp8_e4m3(a[2]))

    return kernel


@pytest.fixture(scope="module")
def numba_cuda_loaded(numba_cuda_modules):
    mods = [load(numba_cuda_modules[n][0], f"compat_{n}") for n in ("cuda_fp16", "cuda_bf16", "cuda_fp8")]
    mods[2].install()
    return mods


def test_numba_cuda_modules_link_kernels(numba_cuda_loaded):
    result = link_kernel(_numba_cuda_kernel(*numba_cuda_loaded), (types.float32[:], types.float32[:]), "sm_90")
    assert result.cubin[:4] == b"\x7fELF"


@pytest.mark.gpu
def test_numba_cuda_modules_values_on_gpu(numba_cuda_loaded):
    require_gpu()
    kernel = cuda.jit(_numba_cuda_kernel(*numba_cuda_loaded))
    a = np.array([2.0, 9.0, 1.75], dtype=np.float32)
    out = np.zeros(3, dtype=np.float32)
    kernel[1, 1](out, a)
    assert out[0] == np.float32(np.sqrt(np.float16(4.0)))
    assert out[1] == 3.0
    assert out[2] == 1.75  # exact in e4m3


# The same configs with `MLIR Backend: true` (numba-cuda-mlir modules; cuda_fp8's `Clang Include
# Paths` included).


@pytest.fixture(scope="module")
def mlir_modules(tmp_path_factory):
    pytest.importorskip("numba_cuda_mlir")
    root = tmp_path_factory.mktemp("numba_cuda_mlir")
    mods = []
    for name in ("cuda_fp16", "cuda_bf16", "cuda_fp8"):
        cfg = numba_cuda_config(name, root)
        cfg.write_text(cfg.read_text() + "MLIR Backend: true\n")
        r = numbast("--cfg-path", cfg, "--output-dir", root / "out", "-q")
        assert r.returncode == 0, r.stderr
        mods.append(load(root / "out" / f"{name}.py", f"compat_mlir_{name}"))
    mods[2].install()  # cuda_fp8 uses a separate registry
    return mods


def _mlir_kernel(fp16, bf16, fp8):
    from numba_cuda_mlir import types as mtypes

    def kernel(out, a):
        h = fp16.__float2half(a[0])
        out[0] = fp16.__half2float(fp16.hsqrt(fp16.__hadd(h, h)))
        out[1] = bf16.__bfloat162float(bf16.hsqrt(bf16.__float2bfloat16(a[1])))
        out[2] = mtypes.float32(fp8.fp8_e4m3(a[2]))

    return kernel


def test_numba_cuda_configs_with_mlir_backend_link_kernels(mlir_modules):
    from _backends import _target_without_gpu
    from numba_cuda_mlir import cuda as mcuda
    from numba_cuda_mlir import types as mtypes

    _target_without_gpu()
    sig = (mtypes.float32[::1], mtypes.float32[::1])
    assert mcuda.compile_cubin(_mlir_kernel(*mlir_modules), sig, cc=(9, 0))[:4] == b"\x7fELF"


@pytest.mark.gpu
def test_numba_cuda_configs_with_mlir_backend_values_on_gpu(mlir_modules):
    from _backends import Backend

    backend = Backend("mlir")
    backend.gpu()
    a = np.array([2.0, 9.0, 1.75], dtype=np.float32)
    out = np.zeros(3, dtype=np.float32)
    backend.cuda.jit(_mlir_kernel(*mlir_modules))[1, 1](out, a)
    assert out.tolist() == [np.float32(np.sqrt(np.float16(4.0))), 3.0, 1.75]


# ----------------------------------------------------------------------------- NVSHMEM


def nvshmem_include() -> Path:
    try:
        import nvidia.nvshmem
    except ImportError:
        pytest.skip("the nvidia-nvshmem-cu13 wheel is not installed (pip install nvidia-nvshmem-cu13)")
    include = Path(next(iter(nvidia.nvshmem.__path__))) / "include"
    if not (include / "nvshmem.h").is_file():
        pytest.skip(f"the nvidia-nvshmem-cu13 wheel has no nvshmem.h under {include}")
    return include


ENTRY_POINT = "#define __NVSHMEM_NUMBA_SUPPORT__\n#include <nvshmem.h>\n#include <nvshmemx.h>\n"


@pytest.fixture(scope="module")
def nvshmem(tmp_path_factory):
    include = nvshmem_include()
    root = tmp_path_factory.mktemp("nvshmem")
    (root / "entry_point.h").write_text(ENTRY_POINT)
    cfg = root / "nvshmem.yml"
    cfg.write_text((CONFIGS / "nvshmem.yml.in").read_text().replace("{include}", str(include)))
    r = numbast("--cfg-path", cfg, "--output-dir", root / "out", "--report", root / "report.json")
    assert r.returncode == 0, r.stderr
    return root, r


def test_nvshmem_config_generates_unmodified(nvshmem):
    import json

    root, r = nvshmem
    assert sorted(p.name for p in (root / "out").iterdir()) == [
        "nvshmem_device_binding_generated.py",
        "nvshmem_device_binding_generated.pyi",
    ]
    assert "nvshmem.yml:15:1: `Macro-expanded Function Prefixes`: has no effect here" in r.stderr
    report = json.loads((root / "report.json").read_text())
    text = json.dumps(report)
    bound = [b for b in report["bound"] if b["kind"] == "function"] if "bound" in report else None
    if bound is not None:
        assert len(bound) >= 2700
    assert "bound 1 constructor, 1 enum, 2" in r.stdout  # the constructor: aggregate initialization
    functions = int(r.stdout.split(" function,")[0].rsplit(" ", 1)[1])
    assert functions >= 2700, r.stdout
    # Every skip has its reason (the report's skip entries all carry one).
    for s in report.get("skipped", []):
        assert s.get("reason"), s
    # The enum nvshmemx_ask_smem takes, declared outside the File List, is bound with it.
    assert "enum nvshmemx_smem_amount_t as nvshmemx_smem_amount_t" in r.stdout
    assert "nvshmemx_ask_smem" not in text or "unknown type" not in text


@pytest.fixture(scope="module")
def nvshmem_module(nvshmem):
    root, _ = nvshmem
    stand_in = importlib.util.find_spec("nvshmem") is None
    if stand_in:
        # nvshmem4py is not installed: the module's Additional Import (`nvshmem.bindings`) finds a
        # stand-in whose cumodule_init/cumodule_finalize record what they are given.
        pkg, bindings = pytypes.ModuleType("nvshmem"), pytypes.ModuleType("nvshmem.bindings")
        bindings.calls = []
        bindings.cumodule_init = lambda handle: bindings.calls.append(("init", handle))
        bindings.cumodule_finalize = lambda handle: bindings.calls.append(("finalize", handle))
        pkg.bindings = bindings
        sys.modules.update({"nvshmem": pkg, "nvshmem.bindings": bindings})
    try:
        yield load(root / "out" / "nvshmem_device_binding_generated.py", "compat_nvshmem")
    finally:
        if stand_in:
            del sys.modules["nvshmem"], sys.modules["nvshmem.bindings"]


def test_nvshmem_kernel_links_without_a_gpu(nvshmem_module):
    m = nvshmem_module

    def kernel(out, dest):
        me = m.my_pe()
        n = m.n_pes()
        m.int_p(dest, me, (me + 1) % n)
        m.quiet()
        out[0] = m.int_g(dest, me)

    result = link_kernel(kernel, (types.int32[:], types.CPointer(types.int32)), "sm_90")
    assert result.cubin[:4] == b"\x7fELF"
    assert "ask_smem" in m.__all__ and "nvshmemx_smem_amount_t" in m.__all__
    assert [e.name for e in m.nvshmemx_smem_amount_t][:2] == ["NVSHMEMX_SMEM_RECOMMENDED", "NVSHMEMX_SMEM_MINIMUM"]


def test_nvshmem_module_contract(nvshmem_module):
    m = nvshmem_module
    # The callbacks are the config's lambdas, evaluated in the module (where `nvshmem` is imported
    # by Additional Import, when nvshmem4py is installed).
    assert m.shim_obj is m._unit.code
    assert m.shim_obj.setup_callback.__code__.co_filename == "<Module Callbacks.setup>"
    bindings = sys.modules["nvshmem.bindings"]
    if hasattr(bindings, "calls"):  # the stand-in: the lambdas call it with the handle as an int
        m.shim_obj.setup_callback(7.0)
        m.shim_obj.teardown_callback(8)
        assert bindings.calls == [("init", 7), ("finalize", 8)]
    before = m.shim_stream.getvalue()
    m.shim_stream.write_with_key("extra", "// extra\n")
    m.shim_stream.write_with_key("extra", "// extra\n")
    assert m.shim_stream.getvalue() == before + "// extra\n"
    assert m._unit.source() == m.shim_stream.getvalue()


def test_nvshmem_module_in_place_of_nvshmem4py_s(nvshmem, tmp_path):
    try:
        import nvshmem as nvshmem4py
    except ImportError:
        nvshmem4py = None
    if getattr(nvshmem4py, "__file__", None) is None:  # missing, or the stand-in of nvshmem_module
        pytest.skip("nvshmem4py-cu13 is not installed (pip install nvshmem4py-cu13)")
    root, _ = nvshmem
    pkg = tmp_path / "pkg"
    shutil.copytree(Path(nvshmem4py.__file__).parent, pkg / "nvshmem", ignore=shutil.ignore_patterns("__pycache__"))
    target = pkg / "nvshmem" / "bindings" / "device" / "numba" / "_numbast.py"
    if not target.parent.is_dir():
        pytest.skip("this nvshmem4py has no nvshmem/bindings/device/numba")
    shutil.copy(root / "out" / "nvshmem_device_binding_generated.py", target)
    script = textwrap.dedent(
        f"""
        import sys
        sys.path.insert(0, {str(pkg)!r})
        import nvshmem.core.device.numba as device
        import nvshmem.bindings.device.numba as bindings
        assert bindings._numbast.__file__ == {str(target)!r}
        assert type(bindings._numbast.shim_stream).__name__ == "ShimStream"
        print(bindings.my_pe.__name__, device.ask_smem.__name__)
        """
    )
    r = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["my_pe", "ask_smem"]


# ----------------------------------------------------------------------------- value forms

LIB = "#pragma once\n__device__ inline int twice(int x) { return 2 * x; }\n"


def project(root: Path, extra: str, name: str = "forms_lib") -> Path:
    (root / "include").mkdir(parents=True, exist_ok=True)
    (root / "include" / "lib.cuh").write_text(LIB)
    cfg = root / "cfg.yml"
    cfg.write_text(
        f"Entry Point: include/lib.cuh\nFile List: [include/lib.cuh]\nGPU Arch: [sm_80]\nOutput Name: {name}\n{textwrap.dedent(extra)}"
    )
    return cfg


def generated(tmp_path, extra: str, name: str = "forms_lib"):
    cfg = project(tmp_path / "proj", extra, name)
    r = numbast("generate", cfg, "-o", tmp_path / "out", "-q")
    assert r.returncode == 0, r.stderr
    return r, tmp_path / "out"


def twice_kernel(m):
    def kernel(out, a):
        out[0] = m.twice(a[0])

    return kernel


SIG = (types.int32[:], types.int32[:])


@pytest.mark.parametrize(
    "value, line",
    [
        ('"\\"lib.cuh\\""', '#include "lib.cuh"'),
        ("<lib.cuh>", "#include <lib.cuh>"),
        ("lib.cuh", '#include "lib.cuh"'),
        ('"#include \\"lib.cuh\\"\\n"', '#include "lib.cuh"'),
    ],
)
def test_shim_include_override_forms(tmp_path, value, line):
    _, out = generated(tmp_path, f"Shim Include Override: {value}\nClang Include Paths: [include]\n", "incl_lib")
    m = load(out / "incl_lib.py", f"incl_{abs(hash(value))}")
    assert m._NB_SHIM_PREAMBLE.rstrip("\n") == line
    assert link_kernel(twice_kernel(m), SIG).cubin[:4] == b"\x7fELF"


def test_additional_import_dotted_name_and_statement(tmp_path):
    _, out = generated(tmp_path, 'Additional Import: ["xml.dom", "from json import dumps as _json_dumps"]\n', "imp_lib")
    text = (out / "imp_lib.py").read_text()
    assert "\nimport xml.dom\nfrom json import dumps as _json_dumps\n" in text
    m = load(out / "imp_lib.py", "compat_imp_lib")
    assert m.xml.dom.__name__ == "xml.dom"


def test_module_callbacks_as_python_expressions(tmp_path):
    _, out = generated(
        tmp_path,
        'Additional Import: [json]\nModule Callbacks: {setup: "lambda x: json.dumps([x])", teardown: "os.path:basename"}\n',
        "cb_lib",
    )
    m = load(out / "cb_lib.py", "compat_cb_lib")
    m.install()
    assert m.shim_obj.setup_callback(3) == "[3]"
    assert m.shim_obj.teardown_callback("/a/b") == "b"


def test_module_callback_that_is_not_an_expression_names_the_key(tmp_path):
    _, out = generated(tmp_path, 'Module Callbacks: {setup: "lambda x: (x"}\n', "badcb_lib")
    m = load(out / "badcb_lib.py", "compat_badcb_lib")
    with pytest.raises(ValueError, match=r"config key `Module Callbacks.setup`: 'lambda x: \(x' is not a Python expression"):
        m.install()


def test_module_callback_that_is_not_callable(tmp_path):
    _, out = generated(tmp_path, 'Module Callbacks: {setup: "40 + 2"}\n', "numcb_lib")
    m = load(out / "numcb_lib.py", "compat_numcb_lib")
    with pytest.raises(TypeError, match=r"`Module Callbacks.setup`: '40 \+ 2' gives int, not a callable"):
        m.install()


def test_output_name_with_py_suffix(tmp_path):
    _, out = generated(tmp_path, "", "named_binding.py")
    assert sorted(p.name for p in out.iterdir()) == ["named_binding.py", "named_binding.pyi"]


def test_keys_of_the_existing_numbast_are_accepted(tmp_path):
    r, out = generated(
        tmp_path,
        "Name: Lib\nVersion: 1.5\nRequire Pynvjitlink: False\nMLIR Backend: false\nAPI Prefix Removal: {Function: tw}\n"
        "Cooperative Launch Required APIs: [twice]\nExclude: {}\n",
        "legacy_lib",
    )
    cfg = tmp_path / "proj" / "cfg.yml"
    assert f"{cfg}:7:1: `Require Pynvjitlink`: has no effect here: nvJitLink comes with numba-cuda" in r.stderr
    assert "MLIR Backend" not in r.stderr  # a key of its own now: false generates for numba-cuda
    assert "Numba-CUDA bindings" in (out / "legacy_lib.py").read_text()
    m = load(out / "legacy_lib.py", "compat_legacy_lib")
    assert m.__version__ == "1.5"
    assert "ice" in m.__all__  # `tw` removed from `twice`
    assert "_nb_mark_cooperative(_b, [ice])" in (out / "legacy_lib.py").read_text()


@pytest.mark.parametrize(
    "extra, expected",
    [
        ("Require Pynvjitlnk: False\n", ":5:1: `Require Pynvjitlnk`: unknown key; did you mean `Require Pynvjitlink`?"),
        ("Shim Include Overide: x.h\n", ":5:1: `Shim Include Overide`: unknown key; did you mean `Shim Include Override`?"),
        ("Shim Include Override: '\"lib.cuh'\n", ':5:1: `Shim Include Override`: `\\"lib.cuh` is not what follows `#include `'),
        (
            "Additional Import: ['os; import sys']\n",
            ":5:1: `Additional Import`: `os; import sys` is not a dotted module name nor a single import statement",
        ),
        (
            'Module Callbacks: {setup: "lambda x:\\n x"}\n',
            ":5:1: `Module Callbacks`: `lambda x:\\n x` is not `module:function` nor a Python expression on one line",
        ),
        ("Version: [1]\n", ":5:10: `Version`: expected a string or a number"),
    ],
)
def test_errors_that_remain_name_file_line_column_and_key(tmp_path, extra, expected):
    cfg = project(tmp_path / "proj", extra, "err_lib")
    r = numbast("generate", cfg, "-o", tmp_path / "out")
    assert r.returncode == 2, r.stdout
    assert f"{cfg}{expected}" in r.stderr, r.stderr
    assert not (tmp_path / "out" / "err_lib.py").exists()
