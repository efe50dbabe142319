"""The template runtime's probes from libclang equal NVRTC's.

Each class-template instantiation's size, alignment, nested records (`TempStorage`) and field
offsets are evaluated by libclang on the header precompiled once (`ast_canopy.evaluate_constants`);
NVRTC answered them before, and still does where ast_canopy is not importable. Here every probe made
while instantiating the CUB primitives the library tests use (tests/test_templates.py,
test_lib_cub_block.py, test_lib_cub_warp.py, with their template arguments) is evaluated by both,
and the values must be equal. CPU only: NVRTC needs no GPU.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import ast_canopy
import numbast
import numpy as np
import pytest
from ast_canopy import parse_declarations_from_source
from numbast import MemoryShimWriter, _template_probe, _templates, bind_cxx_class_templates

ARCH = "sm_80"
BLOCK, ITEMS, WARP = 128, 4, 32

BLOCK_PRIMITIVES = {
    "block_scan": "BlockScan", "block_reduce": "BlockReduce", "block_load": "BlockLoad",
    "block_store": "BlockStore", "block_radix_sort": "BlockRadixSort", "block_exchange": "BlockExchange",
    "block_histogram": "BlockHistogram", "block_discontinuity": "BlockDiscontinuity",
    "block_shuffle": "BlockShuffle", "block_adjacent_difference": "BlockAdjacentDifference",
    "block_run_length_decode": "BlockRunLengthDecode", "block_merge_sort": "BlockMergeSort",
}  # fmt: skip
WARP_PRIMITIVES = {
    "warp_reduce": "WarpReduce", "warp_scan": "WarpScan", "warp_exchange": "WarpExchange",
    "warp_load": "WarpLoad", "warp_store": "WarpStore", "warp_merge_sort": "WarpMergeSort",
}  # fmt: skip

# The instantiations the library tests make (positional template arguments).
INSTANCES = [
    ("BlockScan", (np.int32, BLOCK)),
    ("BlockScan", (np.float32, BLOCK)),
    ("BlockReduce", (np.int32, BLOCK)),
    ("BlockLoad", (np.int32, BLOCK, ITEMS, "BLOCK_LOAD_TRANSPOSE")),
    ("BlockStore", (np.int32, BLOCK, ITEMS)),
    ("BlockRadixSort", (np.int32, BLOCK, ITEMS)),
    ("BlockExchange", (np.int32, BLOCK, ITEMS)),
    ("BlockHistogram", (np.uint8, BLOCK, ITEMS, 256)),
    ("BlockHistogram", (np.uint8, BLOCK, ITEMS, 256, "BLOCK_HISTO_ATOMIC")),
    ("BlockDiscontinuity", (np.int32, BLOCK)),
    ("BlockShuffle", (np.int32, BLOCK)),
    ("BlockAdjacentDifference", (np.int32, BLOCK)),
    ("BlockRunLengthDecode", (np.int32, BLOCK, 2, 4)),
    ("BlockMergeSort", (np.int32, BLOCK, ITEMS)),
    ("WarpReduce", (np.int32,)),
    ("WarpReduce", (np.int32, 16)),
    ("WarpScan", (np.int32,)),
    ("WarpExchange", (np.int32, ITEMS, WARP)),
    ("WarpLoad", (np.int32, ITEMS)),
    ("WarpLoad", (np.int32, ITEMS, "WARP_LOAD_TRANSPOSE")),
    ("WarpStore", (np.int32, ITEMS)),
    ("WarpStore", (np.int32, ITEMS, "WARP_STORE_TRANSPOSE")),
    ("WarpMergeSort", (np.int32, ITEMS)),
]


@pytest.fixture(scope="module")
def CUB():
    cccl = next(Path(d) for d in ast_canopy.cuda_include_dirs() if d.endswith("cccl"))
    decls = []
    for folder, primitives in (("block", BLOCK_PRIMITIVES), ("warp", WARP_PRIMITIVES)):
        for header, name in primitives.items():
            path = cccl / "cub" / folder / f"{header}.cuh"
            decls += [t for t in parse_declarations_from_source(str(path), [str(path)], ARCH).class_templates
                      if t.qual_name == f"cub::{name}"]  # fmt: skip
    assert len(decls) == len(BLOCK_PRIMITIVES) + len(WARP_PRIMITIVES)
    source = "".join(f"#include <cub/block/{h}.cuh>\n" for h in BLOCK_PRIMITIVES)
    source += "".join(f"#include <cub/warp/{h}.cuh>\n" for h in WARP_PRIMITIVES)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", numbast.NumbastSkipWarning)
        bound = bind_cxx_class_templates(decls, None, MemoryShimWriter(source))
    return {t.__name__.rsplit("::", 1)[1]: t for t in bound}


def test_cub_layouts_from_libclang_equal_nvrtc(CUB, monkeypatch):
    monkeypatch.setenv("NUMBAST_TEMPLATE_PROBE", "clang")
    probes = []
    real = _template_probe.probe_values

    def recording(text, prelude, exprs, cc, what):
        values = real(text, prelude, exprs, cc, what)
        probes.append((text, prelude, exprs, cc, what, values))
        return values

    monkeypatch.setattr(_template_probe, "probe_values", recording)
    monkeypatch.setattr(_template_probe, "PROBES", {})
    layouts = {}
    for name, args in INSTANCES:
        ci = CUB[name][args]
        temp = ci.TempStorage  # nested (or, for WarpMergeSort, inherited) record
        layouts[ci.cxx] = (ci.size, ci.align, temp._numba_type._nbst_size, temp._numba_type._nbst_align)
    assert len(layouts) == len(INSTANCES)
    assert len(probes) >= len(INSTANCES)
    for text, prelude, exprs, cc, what, values in probes:
        assert values == real(text, prelude, exprs, cc, what, backend="nvrtc"), what
    # The values are layouts, not placeholders: every instance and its storage has a size.
    for cxx, (size, align, temp_size, temp_align) in layouts.items():
        assert size >= 1 and align >= 1 and temp_size >= 1 and temp_align >= 1, cxx
    assert layouts["cub::BlockScan<int, 128>"][2] == layouts["cub::BlockScan<float, 128>"][2]


def test_probe_errors_from_both_backends_name_the_instance(CUB, monkeypatch):
    text = "#include <cub/block/block_scan.cuh>\n"
    for backend in ("clang", "nvrtc"):
        with pytest.raises(_templates.TemplateError, match=r"cannot instantiate cub::NoSuch(.|\n)*NoSuch"):
            _template_probe.probe_values(text, "", ["sizeof(cub::NoSuch<int>)"], (8, 0), "cub::NoSuch<int>", backend=backend)


def test_probe_backend_setting_is_checked(monkeypatch):
    monkeypatch.setenv("NUMBAST_TEMPLATE_PROBE", "gcc")
    with pytest.raises(ValueError, match="NUMBAST_TEMPLATE_PROBE='gcc': expected one of clang, nvrtc, both"):
        _template_probe.probe_backend()


def test_evaluate_constants_reads_layouts_and_reports_errors():
    src = (
        "#include <cub/block/block_scan.cuh>\n"
        "struct S { char c; double d; };\n"
        "__device__ constexpr unsigned long long size = sizeof(cub::BlockScan<int, 128>::TempStorage);\n"
        "__device__ constexpr unsigned long long offset = __builtin_offsetof(S, d);\n"
    )
    values, errors = ast_canopy.evaluate_constants(src, ["size", "offset", "missing"], ARCH)
    assert errors == [] and values[1:] == [8, None] and values[0] > 0
    values, errors = ast_canopy.evaluate_constants(src + "constexpr int bad = nosuch;\n", ["size"], ARCH)
    assert len(errors) == 1 and errors[0].startswith("numbast_constants.cu:5:") and "nosuch" in errors[0]


def test_a_header_without_include_guard_is_read_once(tmp_path):
    """The header's PCH holds the source's leading `#include` lines; the rest of the source must not
    include the header again (a header without a guard would define its templates twice)."""
    header = tmp_path / "unguarded.cuh"
    header.write_text("template <class T> struct Box {\n  T v;\n  short s;\n};\n")
    src = f'#include "{header}"\n__device__ constexpr unsigned long long size = sizeof(Box<double>);\n'
    for _ in range(2):  # the first builds the header's PCH, the second loads it
        values, errors = ast_canopy.evaluate_constants(src, ["size"], ARCH)
        assert errors == [] and values == [16]
    values, errors = ast_canopy.evaluate_constants(src + "constexpr int bad = nosuch;\n", ["size"], ARCH)
    assert len(errors) == 1 and errors[0].startswith("numbast_constants.cu:3:"), errors  # lines kept
    decls = parse_declarations_from_source(str(header), [str(header)], ARCH)
    (box,) = bind_cxx_class_templates(decls.class_templates, None, MemoryShimWriter(f'#include "{header}"'))
    assert box[np.float64]._numba_type._nbst_size == 16
