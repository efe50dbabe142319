"""The NVRTC disk cache (`python/numbast/_nvrtc_cache.py`) and the numba-cuda hooks that use it
(`python/numbast/_kernel_cache.py`): entries, keys, bad entries, unwritable folders, concurrent
processes, eviction; shim units compiled through it, on numba-cuda and numba-cuda-mlir;
`cuda.jit(cache=True)` kernels with bindings."""

import os
import pickle
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import pytest
from numbast import _nvrtc_cache as nc

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def cache(tmp_path, monkeypatch):
    root = tmp_path / "root"
    monkeypatch.setenv("AST_CANOPY_CACHE_DIR", str(root))
    monkeypatch.delenv("AST_CANOPY_NO_CACHE", raising=False)
    monkeypatch.delenv("NUMBAST_NVRTC_CACHE_MAX_MB", raising=False)
    monkeypatch.setitem(nc._NC_STATE, "write_disabled", False)
    for k in nc._NC_STATS:
        monkeypatch.setitem(nc._NC_STATS, k, 0)
    return root / "nvrtc"


class Compiler:
    """A stand-in for NVRTC that counts its calls."""

    def __init__(self, payload=b"LTO-IR bytes"):
        self.calls, self.payload = 0, payload

    def __call__(self):
        self.calls += 1
        return self.payload


def entry_files(d):
    return sorted(p for p in d.rglob("*.bin"))


def test_second_call_is_a_hit(cache, tmp_path):
    c = Compiler()
    assert nc._nc_cached("int x;", ("a",), [], c) == b"LTO-IR bytes"
    assert nc._nc_cached("int x;", ("a",), [], c) == b"LTO-IR bytes"
    assert c.calls == 1 and len(entry_files(cache)) == 1
    stats = nc.nvrtc_cache_stats()
    assert (stats["hits"], stats["misses"], stats["entries"], stats["hit_rate"]) == (1, 1, 1, 0.5)
    assert stats["bytes"] > len(b"LTO-IR bytes")


@pytest.mark.parametrize("damage", ["flip", "truncate", "empty", "garbage"])
def test_damaged_entry_is_ignored_and_rewritten(cache, damage):
    c = Compiler()
    nc._nc_cached("int x;", ("a",), [], c)
    (entry,) = entry_files(cache)
    blob = entry.read_bytes()
    entry.write_bytes(
        {"flip": blob[:-1] + bytes([blob[-1] ^ 1]), "truncate": blob[:-3], "empty": b"", "garbage": b"not an entry at all"}[damage]
    )
    assert nc._nc_cached("int x;", ("a",), [], c) == b"LTO-IR bytes"  # never the damaged bytes
    assert c.calls == 2 and nc._NC_STATS["corrupt"] == 1
    assert entry.read_bytes() == blob  # rewritten whole
    assert nc._nc_cached("int x;", ("a",), [], c) == b"LTO-IR bytes" and c.calls == 2


def test_unwritable_folder_warns_once_and_compiles(tmp_path, cache, monkeypatch):
    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    monkeypatch.setenv("AST_CANOPY_CACHE_DIR", str(blocker / "below"))  # a folder under a file
    c = Compiler()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert nc._nc_cached("int x;", ("a",), [], c) == b"LTO-IR bytes"
        assert nc._nc_cached("int y;", ("a",), [], c) == b"LTO-IR bytes"
    cache_warnings = [w for w in caught if issubclass(w.category, nc.NcCacheWarning)]
    assert len(cache_warnings) == 1 and "cannot be written" in str(cache_warnings[0].message)
    assert c.calls == 2


def test_read_only_folder_warns_once(tmp_path, cache, monkeypatch):
    if os.geteuid() == 0:
        pytest.skip("root writes into read-only folders")
    cache.mkdir(parents=True)
    cache.chmod(0o500)
    try:
        with pytest.warns(nc.NcCacheWarning):
            assert nc._nc_cached("int x;", ("a",), [], Compiler()) == b"LTO-IR bytes"
    finally:
        cache.chmod(0o700)


def test_no_cache_env_turns_it_off(cache, monkeypatch):
    monkeypatch.setenv("AST_CANOPY_NO_CACHE", "1")
    c = Compiler()
    nc._nc_cached("int x;", ("a",), [], c)
    nc._nc_cached("int x;", ("a",), [], c)
    assert c.calls == 2 and not cache.exists()


def test_key_follows_every_header_read(tmp_path):
    inc = tmp_path / "inc"
    (inc / "sub").mkdir(parents=True)
    (inc / "a.cuh").write_text('#pragma once\n#include "sub/b.cuh"\n')
    (inc / "sub" / "b.cuh").write_text("#if 0\n#include <c.cuh>\n#endif\nint b;\n")
    (inc / "c.cuh").write_text("int c;\n")
    text = '#include "a.cuh"\nextern "C" __device__ void f() {}\n'
    key = nc._nc_key(text, ("x",), [str(inc)])
    assert key == nc._nc_key(text, ("x",), [str(inc)])
    assert key != nc._nc_key(text, ("y",), [str(inc)])  # options
    assert key != nc._nc_key(text + "\n", ("x",), [str(inc)])  # unit text
    paths = [p for p, _ in nc._nc_headers(text.encode(), [str(inc)])]
    assert paths == sorted(str(inc / n) for n in ("a.cuh", "c.cuh", "sub/b.cuh"))  # conditions ignored
    for header in ("sub/b.cuh", "c.cuh"):  # a nested header, and one behind `#if 0`
        before = nc._nc_key(text, ("x",), [str(inc)])
        f = inc / header
        f.write_text(f.read_text() + "// changed\n")
        assert nc._nc_key(text, ("x",), [str(inc)]) != before


def test_computed_include_is_not_cached(tmp_path, cache):
    inc = tmp_path / "inc"
    inc.mkdir()
    (inc / "a.cuh").write_text("#define H <c.cuh>\n#include H\n")
    text = '#include "a.cuh"\n'
    assert nc._nc_key(text, (), [str(inc)]) is None
    c = Compiler()
    nc._nc_cached(text, (), [str(inc)], c)
    nc._nc_cached(text, (), [str(inc)], c)
    assert c.calls == 2 and nc._NC_STATS["uncacheable"] == 2 and not cache.exists()


def line_anchored(data):
    """What the line-anchored forms find: the include lines and whether one is computed."""
    return [(m[1], m[2], m[3].strip()) for m in nc._NC_INCLUDE.finditer(data)], bool(nc._NC_COMPUTED.search(data))


def test_one_pass_scan_finds_what_the_line_anchored_forms_find():
    cases = [
        b'#include <a.h>\n  #  include_next "b.h"\n\t#include<c.h>\n',
        b"int x; // see #include <not.h>\n/* #include <comment.h> */\n",  # mid-line: neither finds it
        b"#include MACRO(x)\n",
        b"#includes <no.h>\n#include_nextX\n#define A 1 #include <y.h>\n",
        b"",
    ]
    for data in cases:
        assert nc._nc_scan(data)[:2] == line_anchored(data), data
    # Every header a CUB scan reaches (several hundred, CCCL's).
    import ast_canopy

    dirs = list(ast_canopy.cuda_include_dirs())
    headers = nc._nc_headers(b"#include <cub/block/block_scan.cuh>\n#include <cuda/std/complex>\n", dirs)
    assert len(headers) > 100
    for path, _digest in headers:
        data = Path(path).read_bytes()
        assert nc._nc_scan(data)[:2] == line_anchored(data), path


def test_runtime_names_are_found():
    """What NVRTC's `-minimal` mode leaves out: `cuda...` runtime names and types, textures and
    surfaces, launches from device code. Names that merely contain those letters are not it."""
    named = [b"cudaStream_t s;", b"::cudaDeviceAttr a;", b"tex2D<float>(t, x, y)", b"surf1Dwrite(v, s, x);",
             b"texCubemap(t, x, y, z)", b"texture <float, 1> t;", b"k<<<1, 1>>>();"]  # fmt: skip
    clean = [b"cuda::std::span<int> s;", b"int my_cudaStream;", b"int texture_count; int textures;", b"a << b < c",
             b"int cuda_x; int cudax;"]  # fmt: skip
    assert [nc._nc_scan(d)[2] for d in named] == [True] * len(named)
    assert [nc._nc_scan(d)[2] for d in clean] == [False] * len(clean)


def test_minimal_only_where_no_header_names_the_runtime(tmp_path, cache):
    """A unit compiles with `-minimal` unless its text or a header it reaches (through any
    depth) names what that mode leaves out; a cache hit compiles neither way."""
    inc = tmp_path / "inc"
    inc.mkdir()
    (inc / "plain.cuh").write_text('#include "deep.cuh"\n')
    (inc / "deep.cuh").write_text("__device__ int f(int x) { return x; }\n")
    (inc / "runtime.cuh").write_text('#include "uses.cuh"\n')
    (inc / "uses.cuh").write_text("__device__ int g(cudaError_t e) { return (int)e; }\n")
    for header, minimal in [("plain.cuh", True), ("runtime.cuh", False)]:
        full, light = Compiler(b"full"), Compiler(b"minimal")
        text = f'#include "{header}"\n'
        assert nc._nc_cached(text, ("u",), [str(inc)], full, light) == (b"minimal" if minimal else b"full")
        assert nc._nc_cached(text, ("u",), [str(inc)], full, light) == (b"minimal" if minimal else b"full")
        assert (light.calls, full.calls) == ((1, 0) if minimal else (0, 1)), header
    # The unit's own text counts too.
    full, light = Compiler(b"full"), Compiler(b"minimal")
    assert nc._nc_cached('#include "plain.cuh"\ncudaStream_t s;\n', ("u",), [str(inc)], full, light) == b"full"
    # The toolkit's own runtime declaration headers do not count: cuda_fp16.h reaches them.
    import ast_canopy

    dirs = list(ast_canopy.cuda_include_dirs())
    fp16 = nc._nc_walk(b"#include <cuda_fp16.h>\n", dirs)
    assert not fp16[1] and any(p.endswith("cuda_runtime_api.h") for p, _ in fp16[0])
    assert nc._nc_walk(b"#include <cub/block/block_scan.cuh>\n", dirs)[1]  # CCCL names the runtime's types


def test_eviction_keeps_the_bound(cache, monkeypatch):
    monkeypatch.setenv("NUMBAST_NVRTC_CACHE_MAX_MB", str(20_000 / 2**20))  # 20 kB
    for i in range(10):
        nc._nc_cached(f"int x{i};", (), [], Compiler(bytes([i]) * 4000))
        for j, e in enumerate(entry_files(cache)):  # distinct ages
            os.utime(e, (1_000_000 + j, 1_000_000 + j))
    stats = nc.nvrtc_cache_stats()
    assert stats["bytes"] <= 20_000 and stats["evicted"] >= 5
    c = Compiler(bytes([9]) * 4000)
    nc._nc_cached("int x9;", (), [], c)  # the newest entry is still there
    assert c.calls == 0


WRITER = """
import sys
from numbast import _nvrtc_cache as nc
tag = sys.argv[1]
for i in range(200):
    text = f"int shared{i % 20};" if i % 2 else f"int {tag}{i};"
    data = nc._nc_cached(text, (), [], lambda: (text * 5000).encode())
    assert data == (text * 5000).encode(), text
print(nc._NC_STATS["corrupt"])
"""


def test_two_processes_writing_at_once(cache):
    env = dict(os.environ)
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, t], env=env, stdout=subprocess.PIPE, text=True) for t in ("p", "q")]
    outs = [p.communicate(timeout=300)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0]
    assert [o.strip() for o in outs] == ["0", "0"]  # never saw a partial entry
    assert not list(cache.rglob(".tmp-*"))
    assert len(entry_files(cache)) == 2 * 100 + 10  # each one's own, and the shared ones once
    for e in entry_files(cache):
        assert nc._nc_read(e.parent.name + e.stem) is not None  # whole, and its hash matches


# ----------------------------------------------------------------------------- shim units, NVRTC


def counting_nvrtc(module):
    """Script text that records in `calls` the name of each program `module`'s NVRTC compiles: each
    cuda.core `Program` made through its `nvrtc` module, as the backend's `compile` makes one and
    the cache's `-minimal` compile does."""
    return f"""
from {module} import nvrtc
real = nvrtc.Program
calls = []
def counting(src, code_type, options=None):
    calls.append(getattr(options, "name", None) or "")
    return real(src, code_type, options=options)
nvrtc.Program = counting
"""


DEMO = REPO / "examples" / "demo" / "demo.cuh"


def bind_demo(api):
    """Script text that binds the demo header's struct `h` and function `hsqrt` with `api`
    (`numbast` or `numbast.mlir`; `types` and `PrimitiveModel` are the script's)."""
    return f"""from ast_canopy import parse_declarations_from_source
from {api} import MemoryShimWriter, bind_cxx_function, bind_cxx_struct
from numbast._nvrtc_cache import nvrtc_cache_stats
src = {str(DEMO)!r}
decls = parse_declarations_from_source(src, [src], "sm_80")
w = MemoryShimWriter(f'#include "{{src}}"')
h = bind_cxx_struct(w, decls.structs[0], types.Number, PrimitiveModel)
bind_cxx_function(w, decls.functions[0])
hsqrt = bind_cxx_function(w, decls.functions[1])
"""


LINK_SCRIPT = (
    "\nimport json"
    + counting_nvrtc("numba.cuda.cudadrv")
    + """from numba import types
from numba.cuda.datamodel.models import PrimitiveModel
from numbast.testing import link_kernel
"""
    + bind_demo("numbast")
    + """def kernel(arr):
    arr[0] = types.float64(hsqrt(h(1.0) + h(2.0)))
r = link_kernel(kernel, (types.float64[:],), "sm_80")
print(json.dumps(dict(nvrtc_calls=len(calls), cubin=r.cubin[:4].hex(), **nvrtc_cache_stats())))
"""
)


def run_json(script, env):
    return run_json_args(script, env, [])


def run_json_args(script, env, args):
    import json

    p = subprocess.run([sys.executable, "-c", script, *args], env=env, capture_output=True, text=True, timeout=600, check=False)
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout.strip().splitlines()[-1])


MINIMAL_SCRIPT = (
    "\nimport json, sys"
    + counting_nvrtc("numba.cuda.cudadrv")
    + """from numba import types
from ast_canopy import parse_declarations_from_source
from numbast import MemoryShimWriter, bind_cxx_function
from numbast._nvrtc_cache import nvrtc_cache_stats
from numbast.testing import link_kernel
src = sys.argv[1]
decls = parse_declarations_from_source(src, [src], "sm_80")
f = bind_cxx_function(MemoryShimWriter(f'#include "{src}"'), decls.functions[0])
def kernel(arr):
    arr[0] = f(arr[0])
r = link_kernel(kernel, (types.int32[:],), "sm_80", ptx=False)
print(json.dumps(dict(nvrtc_calls=len(calls), cubin=r.cubin[:4].hex(), **nvrtc_cache_stats())))
"""
)


@pytest.mark.parametrize(
    "body, minimal",
    [
        ("__device__ int f(int x) { return x + 1; }\n", True),
        # Spelled so that no header names a runtime type, yet `-minimal` leaves `cudaError_t` out:
        # NVRTC rejects the unit there, and it is compiled again as the backend compiles it.
        (
            "#define NB_CAT(a, b) a##b\n__device__ int f(int x) { NB_CAT(cuda, Error_t) e = NB_CAT(cuda, Success); return x + (int)e; }\n",
            False,
        ),
    ],
    ids=["minimal", "fallback"],
)
def test_shim_unit_compiles_minimal_or_falls_back(tmp_path, cache, body, minimal):
    """The shim unit of a header that names no runtime type compiles with `-minimal`, in one NVRTC
    program; one NVRTC rejects there is compiled again without it (a second program), and the
    kernel links either way."""
    header = tmp_path / "f.cuh"
    header.write_text("#pragma once\n" + body)
    stats = run_json_args(MINIMAL_SCRIPT, dict(os.environ), [str(header)])
    assert stats["cubin"] == "7f454c46" and stats["misses"] == 1 and stats["writes"] == 1
    if minimal:
        assert (stats["minimal"], stats["minimal_fallbacks"], stats["nvrtc_calls"]) == (1, 0, 1)
    else:
        assert (stats["minimal"], stats["minimal_fallbacks"], stats["nvrtc_calls"]) == (0, 1, 2)


def test_shim_unit_compiled_once_across_processes(cache):
    env = dict(os.environ)
    first = run_json(LINK_SCRIPT, env)
    second = run_json(LINK_SCRIPT, env)
    assert first["nvrtc_calls"] == 1 and first["misses"] == 1 and first["writes"] == 1
    assert second["nvrtc_calls"] == 0 and second["hits"] == 1 and second["misses"] == 0
    assert first["cubin"] == second["cubin"] == "7f454c46"
    DEMO_COPY = cache.parent / "demo_copy.cuh"  # a changed header is a miss
    DEMO_COPY.write_text(DEMO.read_text() + "\n// changed\n")
    third = run_json(LINK_SCRIPT.replace(repr(str(DEMO)), repr(str(DEMO_COPY))), env)
    assert third["nvrtc_calls"] == 1 and third["misses"] == 1


# numba-cuda-mlir: the linker compiles a shim unit (a `CUSource` that lowering adds to the link)
# with numba-cuda-mlir's NVRTC, which the cache's hook wraps for shim units. Dynamic mode binds
# with `numbast.mlir`; static mode imports a module generated with `MLIR Backend: true`.
MLIR_LINK_SCRIPT = (
    "\nimport json, sys"
    + counting_nvrtc("numba_cuda_mlir.numba_cuda.cudadrv")
    + """from numba_cuda_mlir import cuda, types
import numba_cuda_mlir.tools as tools
from numba_cuda_mlir.numba_cuda.cudadrv import driver
if not driver.driver.is_available:
    tools._cached_cc = (8, 0)  # the target, where no driver can say
mode, where = sys.argv[1], sys.argv[2]
if mode == "dynamic":
    from numba_cuda_mlir.models import PrimitiveModel
"""
    + textwrap.indent(bind_demo("numbast.mlir"), "    ")
    + """else:
    sys.path.insert(0, where)
    import demo_static as d
    h, hsqrt = getattr(d, sys.argv[3]), d.hsqrt
    nvrtc_cache_stats = sys.modules[d._NB_RUNTIME_NAME].nvrtc_cache_stats
def kernel(arr):
    arr[0] = types.float64(hsqrt(h(1.0) + h(2.0)))
cubin = cuda.compile_cubin(kernel, (types.float64[::1],), cc=(8, 0))
print(json.dumps(dict(nvrtc_calls=calls, cubin=cubin[:4].hex(), **nvrtc_cache_stats())))
"""
)


@pytest.mark.parametrize("mode", ["dynamic", "static"])
def test_mlir_shim_unit_compiled_once_across_processes(cache, tmp_path, mode):
    """On numba-cuda-mlir as on numba-cuda: the second process compiles its kernel with no NVRTC
    call, the shim unit's LTO-IR coming from the cache; a changed header is a miss."""
    pytest.importorskip("numba_cuda_mlir")
    from ast_canopy import parse_declarations_from_source

    struct = parse_declarations_from_source(str(DEMO), [str(DEMO)], "sm_80").structs[0].name

    def script_args(header):
        if mode == "dynamic":
            return MLIR_LINK_SCRIPT.replace(repr(str(DEMO)), repr(str(header))), ["dynamic", ""]
        kdir = tmp_path / f"static_{header.stem}"
        kdir.mkdir()
        cfg = kdir / "demo.yml"
        cfg.write_text(STATIC_CFG.replace(str(DEMO), str(header)).replace("__myfloat16", struct) + "MLIR Backend: true\n")
        p = subprocess.run(
            [sys.executable, "-m", "numbast", "generate", str(cfg), "--output-dir", str(kdir)], capture_output=True, text=True
        )
        assert p.returncode == 0, p.stderr
        next(kdir.glob("*.py")).rename(kdir / "demo_static.py")
        return MLIR_LINK_SCRIPT, ["static", str(kdir), struct]

    def run(script, args):
        p = subprocess.run([sys.executable, "-c", script, *args], capture_output=True, text=True, timeout=600, check=False)
        assert p.returncode == 0, p.stderr[-3000:]
        import json

        return json.loads(p.stdout.strip().splitlines()[-1])

    script, args = script_args(DEMO)
    first, second = run(script, args), run(script, args)
    assert len(first["nvrtc_calls"]) == 1 and first["nvrtc_calls"][0].endswith(".cu")  # the shim unit
    assert (first["misses"], first["writes"], first["hits"]) == (1, 1, 0)
    assert second["nvrtc_calls"] == [] and (second["hits"], second["misses"]) == (1, 0)
    assert first["cubin"] == second["cubin"] == "7f454c46"
    changed = tmp_path / "demo_changed.cuh"  # a changed header is a miss
    changed.write_text(DEMO.read_text() + "\n// changed\n")
    third = run(*script_args(changed))
    assert len(third["nvrtc_calls"]) == 1 and third["misses"] == 1


def test_library_with_shim_unit_pickles_once_linked():
    from llvmlite import ir
    from numba.cuda.descriptor import cuda_target
    from numbast import _runtime

    unit = _runtime.ShimUnit('#include "x.cuh"', "numbast_pickle_test.cu")
    lib = cuda_target.target_context.codegen().create_library("k")
    module = ir.Module("k")
    lib.add_ir_module(module)
    lib.add_linking_file(unit.code)
    lib.finalize()
    with pytest.raises(RuntimeError, match="Cannot pickle CUDACodeLibrary with linking files"):
        pickle.dumps(lib)  # not linked yet: the unit would be needed to link
    lib._cubin_cache[(9, 0)] = b"\x7fELF linked"
    back = pickle.loads(pickle.dumps(lib))
    assert back._cubin_cache == {(9, 0): b"\x7fELF linked"} and back._linking_files == set()
    assert lib._linking_files == {unit.code}  # the live library keeps its unit
    other = cuda_target.target_context.codegen().create_library("k2")
    other.add_ir_module(ir.Module("k2"))
    other.add_linking_file("/some/file.ptx")
    other.finalize()
    other._cubin_cache[(9, 0)] = b"x"
    with pytest.raises(RuntimeError, match="linking files"):  # others' linking files: unchanged
        pickle.dumps(other)


GPU_SCRIPT = (
    "\nimport json, sys"
    + counting_nvrtc("numba.cuda.cudadrv")
    + """import numpy as np
from numba import cuda, types
sys.path.insert(0, sys.argv[1])
import cached_kernel
arr = np.zeros(2)
cached_kernel.kernel[1, 1](arr)
print(json.dumps(dict(values=arr.tolist(), nvrtc_calls=len(calls),
                      hits=sum(cached_kernel.kernel.stats.cache_hits.values()))))
"""
)

DYNAMIC_KERNEL = f"""
from ast_canopy import parse_declarations_from_source
from numba import cuda, types
from numba.cuda.datamodel.models import PrimitiveModel
from numbast import MemoryShimWriter, bind_cxx_function, bind_cxx_struct
src = {str(DEMO)!r}
decls = parse_declarations_from_source(src, [src], "sm_80")
w = MemoryShimWriter(f'#include "{{src}}"')
h = bind_cxx_struct(w, decls.structs[0], types.Number, PrimitiveModel)
bind_cxx_function(w, decls.functions[0])
hsqrt = bind_cxx_function(w, decls.functions[1])

@cuda.jit(cache=True)
def kernel(arr):
    three = h(1.0) + h(2.0)
    arr[0] = types.float64(three)
    arr[1] = types.float64(hsqrt(three))
"""

STATIC_CFG = f"""
Entry Point: {DEMO}
File List: [{DEMO}]
GPU Arch: [sm_80]
Types: {{__myfloat16: Number}}
Data Models: {{__myfloat16: PrimitiveModel}}
"""

STATIC_KERNEL = """
from numba import cuda, types
import demo_static as d

@cuda.jit(cache=True)
def kernel(arr):
    three = d.{ty}(1.0) + d.{ty}(2.0)
    arr[0] = types.float64(three)
    arr[1] = types.float64(d.hsqrt(three))
"""


@pytest.mark.gpu
@pytest.mark.parametrize("mode", ["dynamic", "static"])
def test_cache_true_kernel_loads_in_a_second_process_without_nvrtc(tmp_path, mode):
    from numba import cuda

    if not cuda.is_available():
        pytest.skip("no CUDA GPU")
    import numpy as np
    from ast_canopy import parse_declarations_from_source

    kdir = tmp_path / "k"
    kdir.mkdir()
    if mode == "dynamic":
        (kdir / "cached_kernel.py").write_text(DYNAMIC_KERNEL)
    else:
        struct = parse_declarations_from_source(str(DEMO), [str(DEMO)], "sm_80").structs[0].name
        cfg = kdir / "demo.yml"
        cfg.write_text(STATIC_CFG.replace("__myfloat16", struct))
        p = subprocess.run(
            [sys.executable, "-m", "numbast", "generate", str(cfg), "--output-dir", str(kdir)], capture_output=True, text=True, check=False
        )
        assert p.returncode == 0, p.stderr
        generated = next(kdir.glob("*.py"))
        generated.rename(kdir / "demo_static.py")
        (kdir / "cached_kernel.py").write_text(STATIC_KERNEL.format(ty=struct))
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path / "numba_cache"), AST_CANOPY_CACHE_DIR=str(tmp_path / "canopy"))
    first = run_json(GPU_SCRIPT.replace("sys.argv[1]", repr(str(kdir))), env)
    second = run_json(GPU_SCRIPT.replace("sys.argv[1]", repr(str(kdir))), env)
    np.testing.assert_allclose(first["values"], [3.0, np.sqrt(3.0)], rtol=1e-2)
    assert second["values"] == first["values"]
    assert first["nvrtc_calls"] >= 1 and first["hits"] == 0
    assert second["nvrtc_calls"] == 0 and second["hits"] == 1
