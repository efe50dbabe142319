"""The precompiled CUDA preamble (crates/canopy/src/pch.rs): parses with it give the same
declarations and diagnostics as parses without it; it is built once per compute capability and
arguments, kept in `<cache>/pch` apart from the parse cache, rebuilt when a header it was built from
changes, and skipped, with a fallback to a plain parse, when it is off (AST_CANOPY_NO_PCH=1), cannot
be built or cannot be loaded. `verbose=True` says which happened; these tests read that."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from ast_canopy import _core, _toolchain, value_from_constexpr_vardecl

HEADERS_DIR = Path(__file__).resolve().parent / "headers"

USED = "with the precompiled CUDA preamble in "  # "clang parsed X with ... in 0.05 s"
BUILT = "built the precompiled CUDA preamble"
LOADED = "using the precompiled CUDA preamble"
REPARSED = "parsing again without it"


def core_parse(header, retain=None, arch="sm_80", cuda_dirs=None, defines=()):
    """(declarations JSON, cache hit) straight from the core, verbose, errors bypassed."""
    text, hit, _args = _core.parse_declarations(
        str(header),
        [str(p) for p in (retain or [header])],
        arch,
        "gnu++17",
        [],
        list(defines),
        cuda_dirs if cuda_dirs is not None else _toolchain.cuda_include_dirs(),
        _toolchain.search_dirs(),
        "",
        True,
        True,
    )
    return text, hit


def parse_both(monkeypatch, capfd, header, retain=None, **kwargs):
    """(JSON without the PCH, JSON with it, verbose output of the parse with it), cache off."""
    monkeypatch.setenv("AST_CANOPY_NO_CACHE", "1")
    monkeypatch.setenv("AST_CANOPY_NO_PCH", "1")
    plain, _ = core_parse(header, retain, **kwargs)
    monkeypatch.delenv("AST_CANOPY_NO_PCH")
    capfd.readouterr()
    with_pch, _ = core_parse(header, retain, **kwargs)
    return plain, with_pch, capfd.readouterr().err


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def _pch_files(cache: Path) -> list:
    return sorted((cache / "pch").glob("*.pch")) if (cache / "pch").is_dir() else []


# ---- same declarations ----------------------------------------------------------------------------


def _cuda_header(relative: str) -> Path:
    for d in _toolchain.cuda_include_dirs():
        if (Path(d) / relative).is_file():
            return Path(d) / relative
    pytest.skip(f"{relative} is not installed")


REAL_HEADERS = [
    ("cuda_fp16.h", ["cuda_fp16.hpp"]),
    ("cuda_bf16.h", ["cuda_bf16.hpp"]),
    ("curand_kernel.h", []),
    ("cub/block/block_scan.cuh", []),
]


@pytest.mark.parametrize("header", sorted(p.name for p in HEADERS_DIR.glob("*.cuh")))
def test_expectation_headers_match(monkeypatch, capfd, header):
    path = HEADERS_DIR / header
    plain, with_pch, err = parse_both(monkeypatch, capfd, path)
    assert USED in err, err
    assert with_pch == plain


@pytest.mark.parametrize("main,extra", REAL_HEADERS, ids=[m for m, _ in REAL_HEADERS])
def test_real_headers_match(monkeypatch, capfd, main, extra):
    source = _cuda_header(main)
    retain = [source] + [_cuda_header(e) for e in extra]
    plain, with_pch, err = parse_both(monkeypatch, capfd, source, retain)
    assert USED in err, err
    assert with_pch == plain
    assert json.loads(plain)["functions"] or json.loads(plain)["class_templates"]


def test_retaining_a_file_of_the_pch_parses_without_it(monkeypatch, capfd):
    # curand_mtgp32_kernel.h is read by clang's CUDA wrapper, so it is in the PCH.
    source = _cuda_header("curand_kernel.h")
    retain = [source, _cuda_header("curand_mtgp32_kernel.h")]
    plain, with_pch, err = parse_both(monkeypatch, capfd, source, retain)
    assert "in the precompiled CUDA preamble; parsing without it" in err, err
    assert with_pch == plain


@pytest.mark.parametrize("arch", ["sm_80", "sm_90"])
def test_cuda_arch_follows_the_compute_capability(tmp_path, isolated_cache, arch):
    header = _write(
        tmp_path / "arch.cuh",
        "#if __CUDA_ARCH__ >= 900\n__device__ int hopper(int);\n#else\n__device__ int older(int);\n#endif\n",
    )
    text, _ = core_parse(header, arch=arch)
    names = {f["name"] for f in json.loads(text)["functions"]}
    assert names == ({"hopper"} if arch == "sm_90" else {"older"})
    assert len(_pch_files(isolated_cache)) == 1


def test_one_pch_per_compute_capability(tmp_path, isolated_cache, monkeypatch):
    monkeypatch.setenv("AST_CANOPY_NO_CACHE", "1")
    header = _write(tmp_path / "one.cuh", "__device__ int one(int);\n")
    core_parse(header, arch="sm_80")
    core_parse(header, arch="sm_90")
    core_parse(header, arch="sm_80")
    assert len(_pch_files(isolated_cache)) == 2


# ---- where it lives, and turning it off ---------------------------------------------------------


def _parse_in_new_process(header: Path, env: dict, **kwargs) -> str:
    """Verbose output of a parse in a fresh process (no preamble in memory)."""
    code = (
        "import json, sys, ast_canopy; "
        "ast_canopy.parse_declarations_from_source(sys.argv[1], [sys.argv[1]], 'sm_80', verbose=True, "
        "bypass_parse_error=True, **json.loads(sys.argv[2]))"
    )
    p = subprocess.run([sys.executable, "-c", code, str(header), json.dumps(kwargs)], env=env, capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    return p.stderr


def test_kept_apart_from_the_parse_cache(tmp_path, isolated_cache, capfd):
    header = _write(tmp_path / "kept.cuh", "__device__ int kept(int);\n")
    core_parse(header)
    assert BUILT in capfd.readouterr().err
    assert len(_pch_files(isolated_cache)) == 1 and len(list((isolated_cache / "pch").glob("*.json"))) == 1
    shutil.rmtree(isolated_cache / "parse")  # clearing the parse cache keeps the PCH
    err = _parse_in_new_process(header, dict(os.environ))
    assert LOADED in err and USED in err and BUILT not in err, err
    # With the parse cache off the PCH is still used.
    err = _parse_in_new_process(header, dict(os.environ, AST_CANOPY_NO_CACHE="1"))
    assert USED in err and BUILT not in err, err


def test_no_pch_turns_it_off(tmp_path, isolated_cache, monkeypatch, capfd):
    monkeypatch.setenv("AST_CANOPY_NO_PCH", "1")
    header = _write(tmp_path / "off.cuh", "__device__ int off(int);\n")
    text, _ = core_parse(header)
    err = capfd.readouterr().err
    assert "precompiled CUDA preamble off (AST_CANOPY_NO_PCH)" in err and USED not in err, err
    assert not (isolated_cache / "pch").exists()
    assert [f["name"] for f in json.loads(text)["functions"]] == ["off"]


def test_built_once_with_threads_parsing_at_once(tmp_path, isolated_cache, monkeypatch, capfd):
    monkeypatch.setenv("AST_CANOPY_NO_CACHE", "1")
    headers = [_write(tmp_path / f"t{i}.cuh", f"__device__ int t{i}(int);\n") for i in range(4)]
    barrier = threading.Barrier(len(headers))
    results = {}

    def parse(h):
        barrier.wait()
        results[h.name] = core_parse(h)[0]

    threads = [threading.Thread(target=parse, args=(h,)) for h in headers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    err = capfd.readouterr().err
    assert err.count(BUILT) == 1, err
    assert err.count(USED) == len(headers), err
    for i in range(len(headers)):
        assert [f["name"] for f in json.loads(results[f"t{i}.cuh"])["functions"]] == [f"t{i}"]


# ---- staleness --------------------------------------------------------------------------------------


@pytest.fixture
def own_cuda(tmp_path) -> tuple:
    """CUDA include folders whose root is a copy made of links to the real one, except for
    cuda_runtime.h (which clang's CUDA wrapper includes, so it is in the PCH): a real file, ours to
    edit. Returns (include folders, the editable cuda_runtime.h)."""
    dirs = list(_toolchain.cuda_include_dirs())
    root = next((Path(d) for d in dirs if (Path(d) / "cuda_runtime.h").is_file()), None)
    if root is None:
        pytest.skip("the CUDA include folders are found by the core's own search")
    copy = tmp_path / "cuda" / "include"
    copy.mkdir(parents=True)
    for entry in root.iterdir():
        if entry.name != "cuda_runtime.h":
            (copy / entry.name).symlink_to(entry)
    shutil.copy2(root / "cuda_runtime.h", copy / "cuda_runtime.h")
    return [str(copy)] + [d for d in dirs if Path(d) != root], copy / "cuda_runtime.h"


MARKED = "#ifdef AST_CANOPY_PCH_MARKER\n__device__ int marked(int);\n#endif\n__device__ int plain(int);\n"


def _names(text: str) -> set:
    return {f["name"] for f in json.loads(text)["functions"]}


def test_editing_a_header_of_the_pch_rebuilds_it(tmp_path, isolated_cache, own_cuda, capfd):
    dirs, runtime_h = own_cuda
    header = _write(tmp_path / "marked.cuh", MARKED)
    text, hit = core_parse(header, cuda_dirs=dirs)
    assert _names(text) == {"plain"} and not hit
    assert BUILT in capfd.readouterr().err
    runtime_h.write_text(runtime_h.read_text() + "\n#define AST_CANOPY_PCH_MARKER 1\n")
    text, hit = core_parse(header, cuda_dirs=dirs)
    err = capfd.readouterr().err
    assert not hit, "the parse cache entry depends on the PCH's files too"
    assert _names(text) == {"plain", "marked"}
    assert BUILT in err and USED in err, err
    assert len(_pch_files(isolated_cache)) == 1  # rebuilt in place
    # A new process finds the rebuilt PCH current.
    env = dict(os.environ, AST_CANOPY_NO_CACHE="1")
    code = (
        "import sys, ast_canopy; "
        "d = ast_canopy.parse_declarations_from_source(sys.argv[1], [sys.argv[1]], 'sm_80', "
        "cudatoolkit_include_dirs=sys.argv[2:], verbose=True); print(sorted(f.name for f in d.functions))"
    )
    p = subprocess.run([sys.executable, "-c", code, str(header), *dirs], env=env, capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == "['marked', 'plain']" and LOADED in p.stderr and BUILT not in p.stderr, p.stderr


def test_touching_a_header_of_the_pch_keeps_it(tmp_path, isolated_cache, own_cuda, monkeypatch, capfd):
    monkeypatch.setenv("AST_CANOPY_NO_CACHE", "1")
    dirs, runtime_h = own_cuda
    header = _write(tmp_path / "touched.cuh", MARKED)
    core_parse(header, cuda_dirs=dirs)
    assert BUILT in capfd.readouterr().err
    st = runtime_h.stat()
    os.utime(runtime_h, ns=(st.st_atime_ns, st.st_mtime_ns + 5_000_000_000))  # same content, newer
    text, _ = core_parse(header, cuda_dirs=dirs)
    err = capfd.readouterr().err
    assert USED in err and BUILT not in err and REPARSED not in err, err
    assert _names(text) == {"plain"}


# ---- fallbacks --------------------------------------------------------------------------------------


def test_unloadable_pch_falls_back_to_a_plain_parse(tmp_path, isolated_cache, monkeypatch, capfd):
    monkeypatch.setenv("AST_CANOPY_NO_CACHE", "1")
    header = _write(tmp_path / "broken.cuh", "__device__ int broken(int);\n")
    expected, _ = core_parse(header)
    (pch,) = _pch_files(isolated_cache)
    st = pch.stat()
    pch.write_bytes(b"\0" * st.st_size)  # same size and time: the manifest still takes it as current
    os.utime(pch, ns=(st.st_atime_ns, st.st_mtime_ns))
    capfd.readouterr()
    text, _ = core_parse(header)
    err = capfd.readouterr().err
    assert REPARSED in err and USED not in err, err
    assert text == expected


def test_headers_with_errors_are_reported_by_a_plain_parse(tmp_path, monkeypatch, capfd):
    header = _write(tmp_path / "bad.cuh", "__device__ int good(int);\n__device__ undeclared_t bad(int);\n")
    plain, with_pch, err = parse_both(monkeypatch, capfd, header)
    assert REPARSED in err, err
    assert with_pch == plain
    assert any(d["severity"] == "error" for d in json.loads(plain)["diagnostics"])


def test_a_preamble_with_diagnostics_is_not_built(tmp_path, isolated_cache, monkeypatch, capfd):
    # A define that breaks the CUDA headers: a PCH would hide their errors, so none is built.
    header = _write(tmp_path / "breaks.cuh", "__device__ int breaks(int);\n")
    plain, with_pch, err = parse_both(monkeypatch, capfd, header, defines=["cudaError=1"])
    assert "no precompiled CUDA preamble (the CUDA headers gave" in err and USED not in err, err
    assert with_pch == plain
    assert any(d["severity"] == "error" for d in json.loads(plain)["diagnostics"])
    # Recorded, so another process does not try again while the headers stay the same.
    assert not _pch_files(isolated_cache) and len(list((isolated_cache / "pch").glob("*.json"))) == 1
    err = _parse_in_new_process(header, dict(os.environ), defines=["cudaError=1"])
    assert "no precompiled CUDA preamble (the CUDA headers gave" in err and BUILT not in err, err


def test_constexpr_values_with_the_pch(isolated_cache):
    source = "#include <cuda_runtime.h>\nconstexpr int v = CUDART_VERSION / 1000;\nconstexpr float h = 0.5f;\n"
    assert value_from_constexpr_vardecl(source, "v", "sm_80").value >= 12
    assert _pch_files(isolated_cache)
    assert value_from_constexpr_vardecl(source, "h", "sm_80").value == 0.5
