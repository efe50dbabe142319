"""CUDA C++ reference kernels for GPU tests: compiled with NVRTC through `cuda.core`, launched on the
device Numba uses, with Numba device arrays passed as pointers."""

from __future__ import annotations

import ast_canopy
import numpy as np
from numba import cuda


def compile_native(source: str, arch: str, name: str = "reference.cu"):
    """`source` compiled to a cubin for `arch`, with the CUDA and CCCL include folders."""
    from cuda.core import Program, ProgramOptions

    opts = ProgramOptions(arch=arch, include_path=list(ast_canopy.cuda_include_dirs()), std="c++17", name=name)
    return Program(source, "c++", options=opts).compile("cubin")


def run_native(source: str, kernel: str, grid: int, block: int, *args):
    """Launches `kernel` from `source` and waits for it. Device arrays are passed as pointers,
    NumPy scalars by value."""
    from cuda.core import Device, LaunchConfig, launch

    cuda.current_context()  # Numba first: both then use the device's primary context
    ndev = cuda.get_current_device()
    cc = ndev.compute_capability
    dev = Device(ndev.id)
    dev.set_current()
    module = compile_native(source, f"sm_{cc[0]}{cc[1]}")
    params = [int(a.device_ctypes_pointer.value) if hasattr(a, "device_ctypes_pointer") else a for a in args]
    stream = dev.create_stream()
    launch(stream, LaunchConfig(grid=grid, block=block), module.get_kernel(kernel), *params)
    stream.sync()


def arch_of_device() -> str:
    cc = cuda.get_current_device().compute_capability
    return f"sm_{cc[0]}{cc[1]}"


def host(*arrays):
    return tuple(a.copy_to_host() if hasattr(a, "copy_to_host") else np.asarray(a) for a in arrays)
