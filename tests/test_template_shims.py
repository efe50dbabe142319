"""Template instantiation shims: their parameters have reserved names (`__nbst_*`), so a header
whose types are named `ret`, `self` or `a0` still binds and its kernels link (fuzz bug BUG-1: a
shim that named its result parameter `ret` failed to compile against `struct ret`), in dynamic
mode (a whole parse bound through one plan) and in a static module."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from _helpers import import_module
from ast_canopy import parse_declarations_from_source
from numba import cuda
from numba.cuda.typing.typeof import typeof
from numbast import MemoryShimWriter
from numbast._dynamic import bind_declarations
from numbast.testing import link_kernel

HEADER = Path(__file__).resolve().parent / "headers" / "templates_dyn" / "shim_param_names.cuh"
ARCH = "sm_80"


@pytest.fixture(scope="module")
def bound():
    decls = parse_declarations_from_source(str(HEADER), [str(HEADER)], ARCH)
    writer = MemoryShimWriter(f'#include "{HEADER}"')
    return writer, bind_declarations(writer, decls)


def reserved_kernel(m):
    make, unwrap, shifted, Box = m["make"], m["unwrap"], m["shifted"], m["Box"]
    make_self, make_a0 = m["make_self"], m["make_a0"]

    def kernel(out):
        out[0] = make(out[4]).v  # returns a `ret`
        out[1] = unwrap(make_self(2), out[4])  # takes a `self`
        out[2] = shifted(make_a0(1), 3).u  # takes and returns an `a0`
        out[3] = Box[np.int32](out[4]).get(make_a0(5)).v  # a class template's method returning `ret`

    return kernel


def test_types_named_like_shim_parameters_bind(bound):
    _writer, m = bound
    assert {"ret", "self", "a0", "make", "unwrap", "shifted", "Box"} <= set(m)


def test_kernel_with_types_named_like_shim_parameters_links(bound):
    writer, m = bound
    result = link_kernel(reserved_kernel(m), (typeof(np.zeros(5, np.int32)),), ARCH)
    assert result.cubin[:4] == b"\x7fELF"
    src = writer.unit.source()
    shims = re.findall(r'extern "C" __device__ void (\w+)\(([^)]*)\)\s*\{([^}]*)\}', src)
    # The instantiation shims, by the template each calls.
    callees = {"make": "::make", "unwrap": "::unwrap", "shifted": "::shifted", "Box": " Box<int>(", "get": "->get("}
    calls = {callee: (name, params) for name, params, body in shims for callee, text in callees.items() if text in body}
    assert set(calls) == set(callees), src
    for name, params in calls.values():
        assert name.startswith("__nbst_"), name
        names = [p.split()[-1].lstrip("*&") for p in params.split(",")]
        assert all(n.startswith("__nbst_") for n in names), (name, params)
        assert not result.calls(name)  # inlined after LTO


def test_instantiation_shims_are_named_from_the_rendered_stem(bound):
    """An instantiation shim's name is its overload's stem, hashed by the renderer
    (`shim::template_shim_stem`), and the instantiation's ordinal among the stem's: `make(int)` and
    `make(double)` are `<stem>_k` for two k; the same instantiation again is the same shim. Its
    text is shim.rs's forms filled in."""
    writer, m = bound
    make = m["make"]
    (stem,) = {ov.stem for ov in make._overloads}
    assert re.fullmatch(r"__nbst_tpl_fn_make_[0-9a-f]{12}", stem), stem

    def kernel(out, x):
        out[0] = make(out[1]).v + make(x[0]).v + make(out[2]).v

    link_kernel(kernel, (typeof(np.zeros(3, np.int32)), typeof(np.zeros(1, np.float64))), ARCH)
    src = writer.unit.source()
    shims = dict(re.findall(rf'extern "C" __device__ void ({stem}_\d+)\(([^)]*)\)', src))
    assert len(shims) == 2, src
    by_type = {("double" if "double" in params else "int"): name for name, params in shims.items()}
    assert set(by_type) == {"int", "double"}, shims
    assert "__nbst_ptr<int> __nbst_a0" in shims[by_type["int"]] and "__nbst_ptr<double> __nbst_a0" in shims[by_type["double"]]
    assert src.count(f"void {by_type['int']}(") == 1  # `make(out[1])` and `make(out[2])`: one shim


@pytest.mark.gpu
def test_kernel_with_types_named_like_shim_parameters_runs(bound):
    if not cuda.is_available():
        pytest.skip("no CUDA GPU")
    _writer, m = bound
    out = np.zeros(5, np.int32)
    out[4] = 7
    d = cuda.to_device(out)
    cuda.jit(reserved_kernel(m))[1, 1](d)
    assert d.copy_to_host()[:4].tolist() == [8, 9, 4, 12]


CONFIG = """Name: shim_param_names
Entry Point: shim_param_names.cuh
File List: [shim_param_names.cuh]
GPU Arch: [sm_80]
Output Name: shim_param_names
"""


def test_static_module_with_types_named_like_shim_parameters_links(tmp_path):
    shutil.copy(HEADER, tmp_path / HEADER.name)
    (tmp_path / "shim_param_names.yml").write_text(CONFIG)
    out = tmp_path / "out"
    r = subprocess.run([sys.executable, "-m", "numbast", "generate", tmp_path / "shim_param_names.yml", "-o", out, "-q"],
                       capture_output=True, text=True)  # fmt: skip
    assert r.returncode == 0, r.stderr
    module = import_module(out / "shim_param_names.py")
    assert {"ret", "self", "a0", "make", "unwrap", "shifted", "Box"} <= set(module.__all__)
    names = {name: getattr(module, name) for name in module.__all__}
    result = link_kernel(reserved_kernel(names), (typeof(np.zeros(5, np.int32)),), ARCH)
    assert result.cubin[:4] == b"\x7fELF"
