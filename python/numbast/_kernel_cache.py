"""Numbast runtime, numba-cuda hooks: shim units compiled through the NVRTC cache, and kernels that
call bindings saved by `cuda.jit(cache=True)`.

- numba-cuda compiles each CUDA C++ source of a kernel's link with `nvrtc.compile`; for a Numbast
  shim unit (a `_NcUnitSource`, registered by name) the NVRTC disk cache's hook
  (`_nc_hook_nvrtc` in `_nvrtc_cache.py`) answers from the cache and calls NVRTC only on a miss.
  Other sources are compiled as before.
- A shim unit whose headers have external definitions is split (`_unit_split.py`): it compiles
  against declarations views of its headers, and kernels link a definitions unit beside it: just
  before numba-cuda compiles or links a code library (`get_ltoir`, `get_asm_strs`, `_link_all`),
  its definitions units are replaced by those keeping what its shim units may use, each
  definition once (`_nc_use_closures`).
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
    _nc_hashlib = _nc_import("._nvrtc_cache", __package__ or "numbast")._nc_hashlib
    _nc_hook_nvrtc = _nc_import("._nvrtc_cache", __package__ or "numbast")._nc_hook_nvrtc
    _nc_units = _nc_import("._nvrtc_cache", __package__ or "numbast")._nc_units
    _us_plan = _nc_import("._unit_split", __package__ or "numbast")._us_plan
    _us_version = _nc_import("._unit_split", __package__ or "numbast")._us_version
    _us_closures = _nc_import("._unit_split", __package__ or "numbast")._us_closures
    _UsUnsafe = _nc_import("._unit_split", __package__ or "numbast")._UsUnsafe

# preceding text -> its whole definitions unit (one per text, so a kernel linking several shim
# units of one text, such as a template's user-operator unit beside its unit, links it once); at
# link time the definitions units of a link give way to what it uses (`_nc_closure_files`)
_NC_DEFINITION_UNITS = {}
# (shim unit name, text) -> the unit a link compiles for a shim unit with the definitions it uses
_NC_CLOSURE_UNITS = {}
# (registry version, include path, the link's split units' texts) -> `_us_closures`, for the
# compile and the link of one library (and its next kernels while their units' texts stay)
_NC_CLOSURE_TEXTS = {}
_NC_CLOSURE_MEMO = 64


class _NcUnitSource(_NcCUSource):
    """The CUDA C++ text of a shim unit, linked into kernels; compiled through the NVRTC cache.
    `preceding` is the text before its shims, split from them (`_unit_split.py`) when it can be;
    None for a definitions unit, compiled as written."""

    _nbst_unit = True

    def __init__(self, data, name, preceding=None):
        super().__init__(data, name=name)
        _nc_install_hooks()
        _nc_numba_units()[name] = self
        self._nbst_preceding = preceding
        self._nbst_plan = None  # (registry version, plan)

    def split_plan(self, refresh=True):
        """The text compiled in place of the preceding text, or None (see `_unit_split.py`);
        made again when the definitions known have changed, unless `refresh` is false (at link
        time, so the unit is compiled as it was when the kernel was lowered)."""
        if self._nbst_preceding is None:
            return None
        memo = self._nbst_plan
        if memo is None or (refresh and memo[0] != _us_version()):
            from numba.cuda.cudadrv import nvrtc

            dirs = _nc_numba_include_dirs(nvrtc)
            plan = _us_plan(self._nbst_preceding, dirs, _nc_numba_include_dirs(nvrtc, extra=False))
            self._nbst_plan = memo = (_us_version(), plan)
        return memo[1]

    def linking_files(self):
        """What a kernel calling one of the unit's shims links: the unit, and its definitions
        unit when it is split."""
        if self.split_plan() is None:
            return [self]
        defs = _NC_DEFINITION_UNITS.get(self._nbst_preceding)
        if defs is None:
            tag = _nc_hashlib.sha256(self._nbst_preceding.encode("utf-8", "surrogateescape")).hexdigest()[:16]
            defs = _NC_DEFINITION_UNITS[self._nbst_preceding] = _NcUnitSource(self._nbst_preceding, f"numbast_definitions_{tag}.cu")
            defs._nbst_definitions = True
        return [self, defs]

    @classmethod
    def linked_units(cls, units):
        """What a link of the split shim units `units` (of this runtime copy) compiles in their
        place and in place of their definitions units: for each preceding text whose headers hold
        a definition the link may use, its first unit (by name) compiled with those definitions
        kept in its views (`_us_closures`), so one NVRTC call compiles the shims and what they
        use, each definition once in the link; the other units as they are. None when that cannot
        be told (the link keeps the whole definitions units)."""
        from numba.cuda.cudadrv import nvrtc

        units = sorted(units, key=lambda u: u.name)
        dirs = _nc_numba_include_dirs(nvrtc)
        linked = sorted((u._nbst_preceding, u.data) for u in units)
        key = (_us_version(), tuple(dirs), tuple(linked))
        closures = _NC_CLOSURE_TEXTS.get(key)
        if closures is None:
            try:
                closures = _us_closures(linked, dirs, _nc_numba_include_dirs(nvrtc, extra=False))
            except (_UsUnsafe, OSError):
                return None
            if len(_NC_CLOSURE_TEXTS) >= _NC_CLOSURE_MEMO:
                _NC_CLOSURE_TEXTS.clear()
            _NC_CLOSURE_TEXTS[key] = closures
        closures = dict(closures)  # the memo keeps every preceding text
        out = []
        for u in units:
            preceding = u._nbst_preceding
            data = u.data
            if preceding not in closures or not data.startswith(preceding):
                out.append(u)
                continue
            text = closures.pop(preceding) + data[len(preceding) :]  # the first unit of the text only
            unit = _NC_CLOSURE_UNITS.get((u.name, text))
            if unit is None:
                tag = _nc_hashlib.sha256(text.encode("utf-8", "surrogateescape")).hexdigest()[:16]
                stem = u.name[:-3] if u.name.endswith(".cu") else u.name
                unit = _NC_CLOSURE_UNITS[(u.name, text)] = _NcUnitSource(text, f"{stem}_with_definitions_{tag}.cu")
                unit._nbst_linked_for = u
            out.append(unit)
        return out

    def compiled_text(self, text):
        """The text NVRTC compiles for the unit's `text`: the split plan's in place of the
        preceding text."""
        plan = self.split_plan(refresh=False)
        if plan is None or not text.startswith(self._nbst_preceding):
            return text
        return plan + text[len(self._nbst_preceding) :]


def _nc_numba_units():
    """Name -> shim unit source, of every runtime copy in the process (on numba-cuda's NVRTC)."""
    from numba.cuda.cudadrv import nvrtc

    return _nc_units(nvrtc)


def _nc_numba_include_dirs(nvrtc, extra=True):
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
    extra_dirs = (getattr(config, "CUDA_NVRTC_EXTRA_SEARCH_PATHS", "") or "").split(":") if extra else []
    return [d for d in dirs + extra_dirs if d]


def _nc_install_hooks():
    from numba.cuda import codegen
    from numba.cuda.cudadrv import nvrtc
    from numba.cuda.cudadrv.driver import ObjectCode  # cuda.core's, as numba-cuda imports it

    _nc_hook_nvrtc(nvrtc, ObjectCode, _nc_numba_include_dirs)
    lib = codegen.CUDACodeLibrary
    if not getattr(lib._reduce_states, "_nbst_hook", False):
        lib._reduce_states = _nc_reduce_hook(lib._reduce_states)
    for name in ("_link_all", "get_ltoir", "get_asm_strs"):
        if not getattr(getattr(lib, name), "_nbst_hook", False):
            setattr(lib, name, _nc_closing_hook(getattr(lib, name)))


def _nc_closure_files(files):
    """`files`, a code library's linking files, with its split shim units and their whole
    definitions units replaced by what they compile together (`linked_units`), grouped by runtime
    copy (whose registries differ). Made again from the shim units each time (a unit made for a
    link stands for its shim unit), so a set merged from several libraries is linked right; a copy
    whose definitions cannot be told links its whole definitions units."""
    files = {getattr(f, "_nbst_linked_for", f) for f in files}
    groups = {}
    for f in files:
        if hasattr(f, "split_plan") and f.split_plan(refresh=False) is not None:  # a split shim unit
            groups.setdefault(type(f), []).append(f)
    out = set(files)
    for cls, units in groups.items():
        linked = cls.linked_units(units)
        if linked is None:  # their whole definitions units (an earlier choice may have left them out)
            out.update(d for u in units for d in u.linking_files()[1:])
            continue
        out -= {f for f in files if type(f) is cls and (f in units or getattr(f, "_nbst_definitions", False))}
        out.update(linked)
    return out


def _nc_use_closures(lib):
    """Give `lib` (a `CUDACodeLibrary` about to be compiled or linked: numba-cuda reads its linking
    files next) the definitions units its shim units need (`_nc_closure_files`)."""
    files = lib._linking_files
    if any(getattr(f, "_nbst_unit", False) for f in files):  # chosen again: the units' texts may have grown
        lib._linking_files = _nc_closure_files(files)


def _nc_closing_hook(method):
    """Wraps a `CUDACodeLibrary` method after which numba-cuda reads the library's linking files
    (`get_ltoir` and `get_asm_strs` in `compile_all`, `_link_all` at link): `_nc_use_closures` first."""

    def wrapper(self, *args, **kwargs):
        _nc_use_closures(self)
        return method(self, *args, **kwargs)

    wrapper._nbst_hook = True
    wrapper.__wrapped__ = method
    wrapper.__name__ = method.__name__
    return wrapper


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
