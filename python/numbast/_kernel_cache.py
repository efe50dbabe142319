"""Numbast runtime, numba-cuda hooks: shim units compiled through the NVRTC cache, and kernels that
call bindings saved by `cuda.jit(cache=True)`.

- numba-cuda compiles each CUDA C++ source of a kernel's link with `nvrtc.compile`; for a Numbast
  shim unit (a `_NcUnitSource`, registered by name) the NVRTC disk cache's hook
  (`_nc_hook_nvrtc` in `_nvrtc_cache.py`) answers from the cache and calls NVRTC only on a miss.
  Other sources are compiled as before.
- numba-cuda refuses to pickle a code library that has linking files. Numba's cache pickles a
  kernel after linking it, so its cubin for the device's compute capability (part of the cache's
  index key) is in the library; the shim units are then only needed to link again, and the hook
  leaves them out of what is pickled. A kernel loaded from the cache runs that cubin, with no NVRTC
  call. A library that was never linked keeps numba-cuda's refusal.

What invalidates a cached kernel is numba-cuda's index key: the kernel's Python source file
(modification time and size), its bytecode and closure, the signature, the numba-cuda and CUDA
versions and the compute capability. A bound header's content or a shim's text is not part of
it: after changing a header, clear the kernel's cache (`NUMBA_CACHE_DIR`, or the `__pycache__`
next to the kernel's file) or touch the kernel's file.

Installed once per process (marked on numba-cuda's objects), whichever runtime copy comes first.
"""

from numba.cuda.cudadrv.linkable_code import CUSource as _NcCUSource

if "_nc_cached" not in globals():  # dynamic mode: `numbast._kernel_cache` (static mode pastes the cache's text above)
    from importlib import import_module as _nc_import

    _nc_os = _nc_import("._nvrtc_cache", __package__ or "numbast")._nc_os
    _nc_hook_nvrtc = _nc_import("._nvrtc_cache", __package__ or "numbast")._nc_hook_nvrtc
    _nc_unit_names = _nc_import("._nvrtc_cache", __package__ or "numbast")._nc_unit_names


class _NcUnitSource(_NcCUSource):
    """The CUDA C++ text of a shim unit, linked into kernels; compiled through the NVRTC cache."""

    _nbst_unit = True

    def __init__(self, data, name):
        from numba.cuda.cudadrv import nvrtc

        super().__init__(data, name=name)
        _nc_install_hooks()
        _nc_unit_names(nvrtc).add(name)


def _nc_numba_include_dirs(nvrtc):
    """The include path numba-cuda's `nvrtc.compile` gives NVRTC, in its order."""
    import numba.cuda
    from numba.cuda import config
    from numba.cuda.cuda_paths import get_cuda_paths

    major = nvrtc._get_nvrtc_version()[0]
    base = _nc_os.path.dirname(_nc_os.path.abspath(numba.cuda.__file__))
    dirs = [_nc_os.path.join(base, "include", str(major)), get_cuda_paths()["include_dir"].info]
    cccl = nvrtc.pathfinder.locate_nvidia_header_directory("cccl")
    if cccl is not None:
        dirs.append(cccl.abs_path)
    dirs.append(_nc_os.path.join(base, "memory_management"))
    extra = getattr(config, "CUDA_NVRTC_EXTRA_SEARCH_PATHS", "") or ""
    return [d for d in dirs + extra.split(":") if d]


def _nc_install_hooks():
    from numba.cuda import codegen
    from numba.cuda.cudadrv import nvrtc
    from numba.cuda.cudadrv.driver import ObjectCode  # cuda.core's, as numba-cuda imports it

    _nc_hook_nvrtc(nvrtc, ObjectCode, _nc_numba_include_dirs)
    lib = codegen.CUDACodeLibrary
    if not getattr(lib._reduce_states, "_nbst_hook", False):
        lib._reduce_states = _nc_reduce_hook(lib._reduce_states)


def _nc_reduce_hook(reduce_states):
    def _reduce_states(self):
        files = self._linking_files
        units = {f for f in files if getattr(f, "_nbst_unit", False)}
        if not units or not self._cubin_cache:
            return reduce_states(self)
        self._linking_files = files - units
        try:
            return reduce_states(self)
        finally:
            self._linking_files = files

    _reduce_states._nbst_hook = True
    _reduce_states.__wrapped__ = reduce_states
    return _reduce_states
