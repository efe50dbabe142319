"""Compile a Numba-CUDA kernel and link it like a launch would, without a GPU (tests and the demo use it).

`link_kernel` compiles the Python kernel to LTO-IR with numba-cuda's `compile_all`, which also
compiles every CUDA C++ source the kernel collected (such as a Numbast `ShimUnit`) with numba-cuda's
own NVRTC wrapper (its include paths, the CUDA include directory), then links everything with
nvJitLink twice: to a cubin, and to PTX after link-time optimization, where an inlined shim leaves
no `call` behind.
"""

import re
from dataclasses import dataclass, field

from cuda.core import Linker, LinkerOptions, ObjectCode
from numba.cuda.compiler import compile_all
from numba.cuda.cudadrv import linkable_code as lc


@dataclass
class LinkResult:
    cubin: bytes
    ptx: str
    objects: list = field(repr=False)

    def calls(self, name):
        """Whether the linked PTX still calls the function `name`."""
        return re.search(r"\bcall(\.uni)?\b[^;]*?\b" + re.escape(name) + r"\b", self.ptx) is not None


def _cc(arch):
    m = re.fullmatch(r"sm_(\d+)(\d)([a-z]?)", arch)
    if m is None:
        raise ValueError(f"not an sm_XY architecture: {arch!r}")
    major, minor, suffix = int(m[1]), int(m[2]), m[3]
    return (major, minor, suffix) if suffix else (major, minor)


def _object_code(code):
    if isinstance(code, ObjectCode):  # CUDA C++ that compile_all compiled with NVRTC
        return code
    if isinstance(code, (bytes, bytearray)):
        return ObjectCode.from_ltoir(bytes(code), name="kernel")
    kinds = {lc.LTOIR: "ltoir", lc.Cubin: "cubin", lc.Fatbin: "fatbin", lc.Object: "object", lc.Archive: "library", lc.PTXSource: "ptx"}
    for cls, kind in kinds.items():
        if isinstance(code, cls):
            return getattr(ObjectCode, f"from_{kind}")(code.data, name=code.name)
    raise TypeError(f"cannot link {code!r}")


def link_kernel(pyfunc, sig, arch="sm_80", ptx=True):
    """Compile kernel `pyfunc` (a Python function or `cuda.jit` dispatcher) for argument types
    `sig`, link it with its linkable code for `arch`, and return the cubin and LTO'd PTX (with
    `ptx=False`, the cubin only, linked once as a launch does; `ptx` is then empty)."""
    pyfunc = getattr(pyfunc, "py_func", pyfunc)
    codes, _ = compile_all(pyfunc, tuple(sig), device=False, abi="numba", cc=_cc(arch), output="ltoir")
    objects = [_object_code(c) for c in codes]

    def link(target):
        options = LinkerOptions(arch=arch, link_time_optimization=True, ptx=target == "ptx")
        return Linker(*objects, options=options).link(target).code

    ptx = link("ptx") if ptx else ""
    return LinkResult(cubin=link("cubin"), ptx=ptx.decode() if isinstance(ptx, bytes) else ptx, objects=objects)
