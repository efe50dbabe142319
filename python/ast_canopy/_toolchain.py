"""Where the Rust core should look for libclang and the CUDA headers: Python's import path (the
``libclang-ng`` and NVIDIA wheels live in site-packages), and what ``cuda-pathfinder`` finds."""

from __future__ import annotations

import functools
import os
import sys


def search_dirs() -> list:
    return [p for p in sys.path if p and os.path.isdir(p)]


@functools.cache
def _pathfinder_dirs() -> tuple:
    try:
        from cuda.pathfinder import find_nvidia_header_directory
    except ImportError:
        return ()
    found = []
    for lib in ("cudart", "cccl", "curand"):
        try:
            d = find_nvidia_header_directory(lib)
        except Exception:  # not installed, or a layout pathfinder does not know
            d = None
        if d and d not in found:
            found.append(d)
    return tuple(found)


def cuda_include_dirs() -> list:
    """CUDA include folders, root (the one with ``cuda_runtime.h``) first; empty lets the core search."""
    if os.environ.get("AST_CANOPY_CUDA_MAJOR") == "12":
        return []  # let the core pick the CUDA 12 wheels
    dirs = [d for d in _pathfinder_dirs() if d]
    dirs.sort(key=lambda d: not os.path.isfile(os.path.join(d, "cuda_runtime.h")))
    # Only a complete set: a machine may have the runtime wheel without the crt one; then the core
    # searches further (other wheels, CUDA_HOME, /usr/local/cuda).
    for required in ("cuda_runtime.h", os.path.join("crt", "host_defines.h")):
        if not any(os.path.isfile(os.path.join(d, required)) for d in dirs):
            return []
    return dirs
