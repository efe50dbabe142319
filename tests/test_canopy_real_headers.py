"""Real headers from NVIDIA's pip wheels parse with no errors and give the declarations we know
they hold. The headers are found the way ast_canopy finds them (cuda.pathfinder, else the core's
own search)."""

from __future__ import annotations

import os
from pathlib import Path

import ast_canopy
import pytest
from ast_canopy import _toolchain


def _include_dirs() -> list:
    dirs = list(_toolchain.cuda_include_dirs())
    if not dirs:  # the core searched on its own: ask it where CUDA is
        root = Path(ast_canopy.toolchain_info()["cuda_root"]) / "include"
        dirs = [str(root.resolve()), str((root / "cccl").resolve())]
    return dirs


def find_header(relative: str) -> Path:
    for d in _include_dirs():
        p = Path(d) / relative
        if p.is_file():
            return p
    pytest.skip(f"{relative} is not installed")


_parsed: dict = {}


def parse(main: str, *also_retain: str):
    """Parses once per session (the parse cache makes later sessions fast too)."""
    key = (main, also_retain)
    if key not in _parsed:
        source = find_header(main)
        retain = [source] + [find_header(r) for r in also_retain]
        decls = ast_canopy.parse_declarations_from_source(source, retain, "sm_80")
        errors = [d for d in decls.diagnostics if d.severity in ("error", "fatal")]
        assert not errors, "\n".join(map(str, errors))
        _parsed[key] = decls
    return _parsed[key]


def _from(items, filename):
    return [x for x in items if os.path.basename(x.location.file) == filename]


def _names(items) -> set:
    return {x.qual_name for x in items}


def test_cuda_fp16():
    decls = parse("cuda_fp16.h", "cuda_fp16.hpp")
    assert {"__half", "__half2", "__half_raw", "__half2_raw"} <= _names(decls.structs)
    assert {"__hadd", "__hmul", "__float2half", "__half2float", "__hfma"} <= _names(decls.functions)
    assert len(decls.functions) > 200
    assert _from(decls.functions, "cuda_fp16.h") and _from(decls.functions, "cuda_fp16.hpp")
    half = next(s for s in decls.structs if s.name == "__half")
    assert (half.sizeof_, half.alignof_) == (2, 2)
    assert any(m.is_conversion_operator() and m.return_type.name == "float" for m in half.methods)
    assert {"half", "half2"} <= _names(decls.typedefs)


def test_cuda_bf16():
    decls = parse("cuda_bf16.h", "cuda_bf16.hpp")
    assert {"__nv_bfloat16", "__nv_bfloat162"} <= _names(decls.structs)
    assert {"__float2bfloat16", "__bfloat162float", "__hadd"} <= _names(decls.functions)
    assert _from(decls.functions, "cuda_bf16.h") and _from(decls.functions, "cuda_bf16.hpp")
    assert {"nv_bfloat16", "nv_bfloat162"} <= _names(decls.typedefs)


def test_cuda_fp8():
    decls = parse("cuda_fp8.h", "cuda_fp8.hpp")
    assert {"__nv_fp8_e4m3", "__nv_fp8_e5m2", "__nv_fp8x2_e4m3"} <= _names(decls.structs)
    assert {"__nv_cvt_float_to_fp8", "__nv_cvt_fp8_to_halfraw"} <= _names(decls.functions)
    assert {"__nv_fp8_interpretation_t", "__nv_saturation_t"} <= _names(decls.enums)
    assert _from(decls.structs, "cuda_fp8.hpp")


def test_curand_kernel():
    decls = parse("curand_kernel.h")
    assert {"curand_init", "curand", "skipahead", "skipahead_sequence"} <= _names(decls.functions)
    assert {"curandStateXORWOW", "curandStateMRG32k3a", "curandStateSobol32"} <= _names(decls.structs)
    # curand_uniform() lives in curand_uniform.h, which is included but not retained.
    assert "curand_uniform" not in _names(decls.functions)
    init = [f for f in decls.functions if f.name == "curand_init"]
    assert any(
        [p.type_.name for p in f.params] == ["unsigned long long", "unsigned long long", "unsigned long long", "curandStateXORWOW *"]
        for f in init
    )
    assert "curandState" in _names(decls.typedefs)


def test_cooperative_groups():
    decls = parse("cooperative_groups.h")
    ns = "cooperative_groups::__v1"
    assert {f"{ns}::thread_block", f"{ns}::grid_group", f"{ns}::thread_group"} <= _names(decls.structs)
    assert {f"{ns}::this_thread_block", f"{ns}::this_grid"} <= _names(decls.functions)
    assert f"{ns}::thread_block_tile" in _names(decls.class_templates)
    block = next(s for s in decls.structs if s.name == "thread_block")
    assert {"sync", "thread_rank", "size"} <= {m.name for m in block.methods}


def test_cub_block_scan():
    decls = parse("cub/block/block_scan.cuh")
    (scan,) = [t for t in decls.class_templates if t.qual_name == "cub::BlockScan"]
    params = [(p.name, p.kind.value, p.default) for p in scan.template_parameters]
    assert params[:2] == [("T", "type", None), ("BlockDimX", "non_type", None)]
    assert {"Algorithm", "BlockDimY", "BlockDimZ"} <= {p[0] for p in params}
    assert scan.num_min_required_args == 2
    assert scan.instantiate(T="float", BlockDimX=128) == "cub::BlockScan<float, 128>"
    assert {"ExclusiveSum", "InclusiveSum", "ExclusiveScan"} <= {t.function.name for t in scan.record.templated_methods}
    assert "cub::BlockScanAlgorithm" in _names(decls.enums)
