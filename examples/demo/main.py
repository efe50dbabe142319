"""Runs the demo (demo.py, the code from the project's README, unmodified).

On a GPU, demo.py runs as is: it binds `demo.cuh`, launches the kernel and checks the results. With no
GPU, the same code runs up to the launch, and the kernel is compiled and linked with its C++ shims
to a cubin instead, which is everything a launch does before it reaches the device.
"""

import os
import runpy
import sys

from numba import cuda

here = os.path.dirname(os.path.abspath(__file__))
demo = os.path.join(here, "demo.py")

if cuda.is_available():
    ns = runpy.run_path(demo, run_name="__main__")
    name = cuda.get_current_device().name
    name = name.decode() if isinstance(name, bytes) else name
    print(f"demo: kernel ran on {name}: {ns['arr']} (expected [3, sqrt(3)])")
    sys.exit(0)

from numba import types  # noqa: E402 (after the GPU branch, which runs the demo itself)
from numbast.testing import link_kernel  # noqa: E402

with open(demo) as f:
    text = f.read()
head = text.split("arr = np.array")[0]  # everything before the launch
ns = {"__file__": demo, "__name__": "demo"}
exec(compile(head, demo, "exec"), ns)
result = link_kernel(ns["kernel"], (types.float64[::1],), arch="sm_80")
shims = [line.split("(")[0].split()[-1] for line in ns["shim_writer"].unit.source().splitlines() if line.startswith('extern "C"')]
inlined = [s for s in shims if not result.calls(s)]
print(
    f"demo: no GPU here; kernel linked with {len(shims)} shims into a {len(result.cubin)}-byte sm_80 cubin; "
    f"{len(inlined)}/{len(shims)} shims inlined by LTO"
)
