"""Helpers shared by the binding tests: importing generated modules, linking kernels, GPU skips."""

import importlib.util
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from numba import cuda
from numba.cuda.typing.typeof import typeof
from numbast.testing import link_kernel


def import_module(path: Path):
    """Imports a generated module by path, under its file name."""
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[path.stem] = module
    spec.loader.exec_module(module)
    return module


def generate_static_module(root: Path, header: Path, name: str, arch: str = "sm_80", backend=None):
    """`header` generated as the static module `name` under `root` (its only file), imported,
    with the coverage report as its `report` attribute. For the numba-cuda-mlir `backend`
    (tests/_backends.py), an `MLIR Backend` module named `<name>_mlir`."""
    mlir = backend is not None and backend.name == "mlir"
    name = f"{name}_mlir" if mlir else name
    cfg = root / "cfg.yml"
    cfg.write_text(f"Entry Point: {header}\nFile List: [{header}]\nGPU Arch: [{arch}]\nOutput Name: {name}\n"
                   + ("MLIR Backend: true\n" if mlir else ""))  # fmt: skip
    report = root / "report.json"
    r = subprocess.run([sys.executable, "-m", "numbast", "generate", str(cfg), "--output-dir", str(root / "out"),
                        "--report", str(report)], capture_output=True, text=True)  # fmt: skip
    assert r.returncode == 0, r.stderr
    module = import_module(root / "out" / f"{name}.py")
    module.report = json.loads(report.read_text())
    return module


def require_gpu():
    if not cuda.is_available():
        pytest.skip("no CUDA GPU")


def shims_of(writer):
    """The shim symbols in a shim writer's unit so far."""
    return re.findall(r'extern "C" __device__ void (\w+)\(', writer.unit.source())


def link_case(case, writer, arch="sm_80"):
    """Link the kernel for its arguments' types; every shim it used must be inlined by LTO."""
    result = link_kernel(case.kernel, tuple(typeof(a) for a in case.args()), arch)
    assert result.cubin[:4] == b"\x7fELF" and ".entry" in result.ptx
    assert [s for s in shims_of(writer) if result.calls(s)] == []
    return result


def stored_constants(ptx):
    """The constants a kernel's PTX stores to global memory, in order: `st.global.u32 [..], 7`,
    or a register set by `mov.u32 %r, 7` and stored (None for a store of a computed value)."""
    values, found = {}, []
    for line in ptx.splitlines():
        m = re.match(r"\s*mov\.[bsu]32\s+(%r\d+),\s*(-?\d+);", line)
        if m:
            values[m[1]] = int(m[2])
            continue
        m = re.match(r"\s*st\.global\.[bsu]32\s+\[[^\]]+\],\s*([^;]+);", line)
        if m:
            src = m[1].strip()
            found.append(int(src) if re.fullmatch(r"-?\d+", src) else values.get(src))
            continue
        m = re.match(r"\s*[\w.]+\s+(%r\d+),", line)  # any other write of a register
        if m:
            values.pop(m[1], None)
    return found
